//! vegeta's target files, so that its users' files run unchanged
//! (`rwg run --targets FILE`). Two formats, told apart by the first
//! character that is not white space:
//!
//! - **HTTP**: `METHOD URL` on a line, then `Name: value` header lines and
//!   an optional `@path` line naming a body file; targets are separated by
//!   blank lines (or by the next `METHOD URL` line), `#` starts a comment
//!   line.
//! - **JSON lines**: one `{"method", "url", "header": {name: [values]},
//!   "body": base64}` object per line.
//!
//! Pure parsing: body files are named, not read, here. Every error names the
//! line it is on.

use std::path::PathBuf;

use base64::Engine;
use serde::Deserialize;

use super::error::{err, ConfigError};
use super::target::parse_method;

/// A request as a targets file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTarget {
    /// Where it starts in the file (1-based), for error messages.
    pub line: usize,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: FileBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileBody {
    None,
    /// `@path`: the body is this file's content (relative to the working
    /// directory, as vegeta reads it).
    File(PathBuf),
    /// JSON lines carry the body itself.
    Bytes(Vec<u8>),
}

/// Parses either format (see the module comment).
pub fn parse(text: &str) -> Result<Vec<FileTarget>, ConfigError> {
    let targets = if text.trim_start().starts_with('{') {
        parse_json_lines(text)?
    } else {
        parse_http(text)?
    };
    if targets.is_empty() {
        return err("the targets file holds no target".into());
    }
    Ok(targets)
}

/// The HTTP format.
pub fn parse_http(text: &str) -> Result<Vec<FileTarget>, ConfigError> {
    let mut targets: Vec<FileTarget> = Vec::new();
    // Whether lines now belong to the last target (until a blank line).
    let mut open = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            open = false;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        match targets.last_mut() {
            // A line that starts with a method begins the next target, blank
            // line or not: vegeta's files are often one `GET URL` per line.
            Some(t) if open && !starts_with_method(line) => {
                if let Some(path) = line.strip_prefix('@') {
                    if t.body != FileBody::None {
                        return err(format!("targets file line {line_no}: a second body"));
                    }
                    if path.trim().is_empty() {
                        return err(format!(
                            "targets file line {line_no}: '@' names no body file"
                        ));
                    }
                    t.body = FileBody::File(PathBuf::from(path.trim()));
                } else if t.body != FileBody::None {
                    return err(format!(
                        "targets file line {line_no}: '{line}' after the body line (a blank line ends a target)"
                    ));
                } else {
                    t.headers.push(header_line(line, line_no)?);
                }
            }
            _ => {
                targets.push(request_line(line, line_no)?);
                open = true;
            }
        }
    }
    Ok(targets)
}

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

fn starts_with_method(line: &str) -> bool {
    METHODS.iter().any(|m| {
        line.len() > m.len()
            && line.as_bytes()[m.len()] == b' '
            && line.as_bytes()[..m.len()].eq_ignore_ascii_case(m.as_bytes())
    })
}

fn request_line(line: &str, line_no: usize) -> Result<FileTarget, ConfigError> {
    let mut words = line.split_whitespace();
    let (Some(method), Some(url), None) = (words.next(), words.next(), words.next()) else {
        return err(format!(
            "targets file line {line_no}: expected 'METHOD URL', got '{line}'"
        ));
    };
    let method = parse_method(method)
        .map_err(|e| ConfigError(format!("targets file line {line_no}: {e}")))?;
    Ok(FileTarget {
        line: line_no,
        method,
        url: url.to_string(),
        headers: Vec::new(),
        body: FileBody::None,
    })
}

fn header_line(line: &str, line_no: usize) -> Result<(String, String), ConfigError> {
    match line.split_once(':') {
        Some((name, value)) if valid_header_name(name) => {
            Ok((name.to_string(), value.trim().to_string()))
        }
        _ => err(format!(
            "targets file line {line_no}: expected a header 'Name: value', got '{line}'"
        )),
    }
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// One line of the JSON format, as vegeta writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTarget {
    method: String,
    url: String,
    #[serde(default)]
    header: std::collections::BTreeMap<String, Vec<String>>,
    /// Base64, standard alphabet.
    #[serde(default)]
    body: Option<String>,
}

/// The JSON-lines format.
pub fn parse_json_lines(text: &str) -> Result<Vec<FileTarget>, ConfigError> {
    let mut targets = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let t: JsonTarget = serde_json::from_str(raw)
            .map_err(|e| ConfigError(format!("targets file line {line_no}: {e}")))?;
        let mut target = request_line(&format!("{} {}", t.method, t.url), line_no)?;
        for (name, values) in t.header {
            for value in values {
                let (name, value) = header_line(&format!("{name}: {value}"), line_no)?;
                target.headers.push((name, value));
            }
        }
        if let Some(b64) = t.body {
            let body = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| {
                    ConfigError(format!(
                        "targets file line {line_no}: body is not base64: {e}"
                    ))
                })?;
            target.body = FileBody::Bytes(body);
        }
        targets.push(target);
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_format_with_headers_bodies_and_comments() {
        let text = "# a comment\n\
            GET http://127.0.0.1:8080/a?x=1\n\
            X-Account-ID: 8675309\n\
            Accept: text/plain\n\
            \n\
            POST http://127.0.0.1:8080/things\n\
            Content-Type: application/json\n\
            @bodies/new.json\n\
            \n\n\
            delete http://127.0.0.1:8080/x\n\
            HEAD http://127.0.0.1:8080/y\n";
        let t = parse(text).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!((t[3].method.as_str(), t[3].line), ("HEAD", 12));
        assert_eq!((t[0].line, t[0].method.as_str()), (2, "GET"));
        assert_eq!(t[0].url, "http://127.0.0.1:8080/a?x=1");
        assert_eq!(
            t[0].headers,
            vec![
                ("X-Account-ID".into(), "8675309".into()),
                ("Accept".into(), "text/plain".into())
            ]
        );
        assert_eq!(t[1].body, FileBody::File("bodies/new.json".into()));
        assert_eq!((t[2].method.as_str(), t[2].line), ("DELETE", 11));
    }

    #[test]
    fn json_lines_decode_headers_and_base64_bodies() {
        let text = r#"{"method":"POST","url":"http://127.0.0.1:1/p","header":{"A":["1","2"]},"body":"aGVsbG8="}
{"method":"GET","url":"http://127.0.0.1:1/g"}"#;
        let t = parse(text).unwrap();
        assert_eq!(
            t[0].headers,
            vec![("A".into(), "1".into()), ("A".into(), "2".into())]
        );
        assert_eq!(t[0].body, FileBody::Bytes(b"hello".to_vec()));
        assert_eq!((t[1].line, t[1].body.clone()), (2, FileBody::None));
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, names) in [
            ("GET\n", "line 1"),
            ("GET http://a/ extra\n", "line 1"),
            ("GET http://a/\nnot a header\n", "line 2"),
            ("GET http://a/\n@b\nX: 1\n", "line 3"),
            ("GET http://a/\n@\n", "line 2"),
            ("G3T http://a/\n", "'G3T'"),
            ("{\"method\":\"GET\"}\n", "line 1"),
            (
                "{\"method\":\"GET\",\"url\":\"u\",\"body\":\"!!\"}\n",
                "base64",
            ),
            (
                "{\"method\":\"GET\",\"url\":\"u\",\"x\":1}\n",
                "unknown field",
            ),
            ("# only a comment\n", "no target"),
        ] {
            let e = parse(text).unwrap_err().0;
            assert!(e.contains(names), "{text:?}: {e}");
        }
    }
}
