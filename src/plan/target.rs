//! WHERE requests go and WHAT they carry: the URL (resolved once), and one
//! [`TargetSpec`] per distinct request of the run (URL, method, headers,
//! body); the parsers of URLs and header lines.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use super::error::{err, ConfigError};

/// The URL scheme: what protocol and whether TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
    /// gRPC over h2c.
    Grpc,
    /// gRPC over TLS.
    Grpcs,
}

impl Scheme {
    pub fn tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Grpcs)
    }

    pub fn grpc(self) -> bool {
        matches!(self, Scheme::Grpc | Scheme::Grpcs)
    }
}

/// How a gRPC request is built.
#[derive(Clone, Debug, Default)]
pub struct GrpcOptions {
    /// .proto files to compile; empty = ask the server (reflection).
    pub protos: Vec<PathBuf>,
    /// Import paths for the .proto files.
    pub includes: Vec<PathBuf>,
    /// The request message as JSON.
    pub data_json: String,
    /// Extra request metadata (`key: value`).
    pub metadata: Vec<(String, String)>,
}

/// Where requests go, resolved once before the run.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL as the user wrote it (the CSV's `url` column).
    pub url: String,
    pub scheme: Scheme,
    /// Host name for TLS SNI and certificate checks.
    pub host: String,
    pub addr: SocketAddr,
    /// `Host` header value (`host[:port]`).
    pub authority: String,
    pub path_and_query: String,
}

/// One request of the run, as the user described it.
#[derive(Clone, Debug)]
pub struct TargetSpec {
    /// What the CSV's `url` column says for its arrivals: the URL as written.
    pub label: String,
    pub target: Target,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The gRPC method's message and metadata (grpc:// targets).
    pub grpc: GrpcOptions,
    /// Where relative paths in placeholders (`{{csv FILE …}}`) start: the
    /// workload file's folder, else the working directory (empty).
    pub folder: PathBuf,
}

/// An HTTP method, upper-cased: letters only (`GET`, `post`, `PROPFIND`).
pub fn parse_method(text: &str) -> Result<String, ConfigError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return err(format!(
            "invalid method '{text}': expected letters, e.g. GET"
        ));
    }
    Ok(text.to_ascii_uppercase())
}

/// Parses a `Name: value` header.
pub fn parse_header(text: &str) -> Result<(String, String), ConfigError> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() && !name.contains(char::is_whitespace) => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => err(format!("invalid header '{text}': expected 'Name: value'")),
    }
}

/// Parses and resolves an `http://`, `https://`, `grpc://` or `grpcs://` URL.
/// `url` with every `{{…}}` replaced by `0`.
fn without_placeholders(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push('0');
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// The path and query of a URL whose first placeholder starts at byte
/// `at`, as written; placeholders must come after the host.
fn templated_path(url: &str, at: usize) -> Result<String, ConfigError> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..]
        .find(['/', '?'])
        .map(|i| i + after_scheme)
        .filter(|&i| i <= at)
        .ok_or_else(|| {
            ConfigError(format!(
                "invalid URL '{url}': placeholders go in the path and query, not the host"
            ))
        })?;
    let path = &url[path_start..];
    Ok(match path.starts_with('?') {
        true => format!("/{path}"),
        false => path.to_string(),
    })
}

/// Placeholders (`{{…}}`, see `template`) may stand in the path and query:
/// the URL is checked with each replaced by `0`.
pub fn parse_target(url: &str) -> Result<Target, ConfigError> {
    // `host:port/path` (as curl and wrk users type it) would parse as a
    // scheme named after the host, or not at all.
    if !url.contains("://") {
        return err(format!(
            "invalid URL '{url}': missing scheme: try 'http://{url}' (or https://, grpc://, grpcs://)"
        ));
    }
    let checked = without_placeholders(url);
    let uri: http::Uri = checked
        .parse()
        .map_err(|e| ConfigError(format!("invalid URL '{url}': {e}")))?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some("grpc") => Scheme::Grpc,
        Some("grpcs") => Scheme::Grpcs,
        Some(other) => return err(format!("invalid URL '{url}': unknown scheme '{other}'")),
        None => return err(format!("invalid URL '{url}': missing scheme")),
    };
    let host = match uri.host() {
        Some(h) if !h.is_empty() => h,
        _ => return err(format!("invalid URL '{url}': missing host")),
    };
    let port = uri
        .port_u16()
        .unwrap_or(if scheme.tls() { 443 } else { 80 });
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (bare_host, port)
        .to_socket_addrs()
        .map_err(|e| ConfigError(format!("cannot resolve host '{host}' of URL '{url}': {e}")))?
        .next()
        .ok_or_else(|| ConfigError(format!("cannot resolve host '{host}' of URL '{url}'")))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| host.to_string());
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .filter(|p| !p.is_empty())
        .map(|p| match p.starts_with('?') {
            // `http://host:port?a=1` has an empty path: the request line
            // needs one (`GET /?a=1`).
            true => format!("/{p}"),
            false => p,
        })
        .unwrap_or_else(|| "/".to_string());
    let path_and_query = match url.find("{{") {
        Some(at) => templated_path(url, at)?,
        None => path_and_query,
    };
    if url.contains(',') {
        return err(format!(
            "invalid URL '{url}': commas are not allowed (the CSV's url column is unquoted)"
        ));
    }
    if scheme.grpc() && path_and_query.trim_start_matches('/').split('/').count() != 2 {
        return err(format!(
            "invalid gRPC URL '{url}': expected grpc://host:port/package.Service/Method"
        ));
    }
    Ok(Target {
        url: url.to_string(),
        scheme,
        host: bare_host.to_string(),
        addr,
        authority,
        path_and_query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = parse_target("http://127.0.0.1:8080/api?x=1").unwrap();
        assert_eq!(t.addr.port(), 8080);
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path_and_query, "/api?x=1");
        // Found by fuzzing: a query without a path gave `GET ?a=1`.
        let t = parse_target("http://127.0.0.1:8080?a=1").unwrap();
        assert_eq!(t.path_and_query, "/?a=1");
        let t = parse_target("http://[::1]:81").unwrap();
        assert_eq!(t.path_and_query, "/");
        assert!(t.addr.is_ipv6());
        let t = parse_target("grpcs://localhost/pkg.Svc/Call").unwrap();
        assert_eq!((t.scheme, t.addr.port()), (Scheme::Grpcs, 443));
        assert_eq!(t.host, "localhost");
        assert!(parse_target("grpc://127.0.0.1:1/NoMethod").is_err());
        let t = parse_target(
            "http://127.0.0.1:8080/u/{{seq}}?d={{rand_date 2015-01-01 2015-02-01 %Y}}",
        )
        .unwrap();
        assert_eq!(
            t.path_and_query,
            "/u/{{seq}}?d={{rand_date 2015-01-01 2015-02-01 %Y}}"
        );
        assert_eq!(t.authority, "127.0.0.1:8080");
        let t = parse_target("http://127.0.0.1:8080?id={{seq}}").unwrap();
        assert_eq!(t.path_and_query, "/?id={{seq}}");
        let e = parse_target("http://{{seq}}:80/").unwrap_err().0;
        assert!(e.contains("not the host"), "{e}");
        for bad in ["127.0.0.1:80", "ftp://x/", "http://", "not a url"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("X-Test: a:b").unwrap(),
            ("X-Test".to_string(), "a:b".to_string())
        );
        assert!(parse_header("novalue").is_err());
    }
}
