//! End-to-end HTTP/2 and TLS: h2c and h2 over TLS against nginx (own config,
//! rcgen certificates) and against `rwg serve --h2c`; HTTP/1.1 over TLS;
//! certificate name checks, `--insecure` and mutual TLS.

mod netcommon;

use netcommon::{certs, collect, free_port, nginx, rwg};

const HELLO: &str = "location / { return 200 \"hello\\n\"; }";

/// Runs a short fixed-rate test; returns (exit code, stdout, stderr, rows, summary JSON).
fn short_run(
    dir: &std::path::Path,
    url: &str,
    extra: &[&str],
) -> (i32, String, String, Vec<Vec<String>>, serde_json::Value) {
    let csv = dir.join("out.csv");
    let js = dir.join("out.json");
    let mut args = vec!["run", "-r", "100", "-d", "1s", "--cpus", "0", "-q", "-o"];
    args.push(csv.to_str().unwrap());
    args.push("--json");
    args.push(js.to_str().unwrap());
    if !extra.contains(&"-w") {
        // Room for scheduler hiccups on a busy machine: 100/s never needs more.
        args.extend_from_slice(&["-w", "50"]);
    }
    args.extend_from_slice(extra);
    args.push(url);
    let (code, out, err) = rwg(&args);
    let (rows, summary) = collect(&csv, &js);
    (code, out, err, rows, summary)
}

/// The two HTTP/2 client paths: the h2 crate's (`--h2-crate`), and the
/// lean client's (the default over cleartext).
const CLIENTS: [&[&str]; 2] = [&["--h2-crate"], &[]];

fn with<'a>(client: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend_from_slice(client);
    v
}

fn assert_all_200(rows: &[Vec<String>], n: usize) {
    assert_eq!(rows.len(), n, "one row per scheduled request");
    for r in rows {
        assert_eq!(r[3], "200", "row {r:?}");
        assert_eq!(r[8], "", "row {r:?}");
    }
}

#[test]
fn h2c_against_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let Some(_nginx) = nginx(
        dir.path(),
        // GOAWAY after every 30 requests: rwg re-dials, no request is lost.
        &format!("server {{ listen 127.0.0.1:{port} http2; keepalive_requests 30; {HELLO} }}"),
        &[port],
    ) else {
        return;
    };
    let url = format!("http://127.0.0.1:{port}/");
    for client in CLIENTS {
        let args = with(client, &["--h2c", "--max-streams", "4"]);
        let (code, out, err, rows, js) = short_run(dir.path(), &url, &args);
        assert_eq!(code, 0, "{client:?}: {out}{err}");
        assert_all_200(&rows, 100);
        assert_eq!(js["run"]["protocol"], "h2c");
        // Prior knowledge: no ALPN (cleartext has none).
        assert_eq!(js["run"]["alpn"], serde_json::Value::Null);
        assert_eq!(js["run"]["connections"], 1);
        assert_eq!(js["overall"]["bytes"], 600, "{client:?}: 100 x hello");
    }
}

/// Closed loop with 8 streams in flight per connection: at each GOAWAY
/// (every 200 requests here; nginx's default is 1 000) nginx refuses the
/// streams above its last one. rwg sends those again on another connection;
/// it once recorded them as `reset` and stopped at the first.
#[test]
fn h2c_streams_refused_by_goaway_are_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let Some(_nginx) = nginx(
        dir.path(),
        &format!("server {{ listen 127.0.0.1:{port} http2; keepalive_requests 200; {HELLO} }}"),
        &[port],
    ) else {
        return;
    };
    let url = format!("http://127.0.0.1:{port}/");
    let (csv, js) = (dir.path().join("out.csv"), dir.path().join("out.json"));
    for client in CLIENTS {
        let _ = std::fs::remove_file(&csv);
        let mut args = vec![
            "run",
            "-r",
            "0",
            "-d",
            "1s",
            "--cpus",
            "0",
            "-q",
            "--h2c",
            "-c",
            "2",
            "--max-streams",
            "8",
            "-w",
            "16",
            "-o",
            csv.to_str().unwrap(),
            "--json",
            js.to_str().unwrap(),
            &url,
        ];
        args.extend_from_slice(client);
        let (code, out, err) = rwg(&args);
        assert_eq!(code, 0, "{client:?}: {out}{err}");
        let (rows, _) = collect(&csv, &js);
        assert!(
            rows.len() > 2_000,
            "{client:?}: {} rows: too few GOAWAYs to test",
            rows.len()
        );
        assert!(rows.iter().all(|r| r[3] == "200"), "{client:?}: {rows:?}");
    }
}

#[test]
fn h2_and_http1_over_tls_against_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let c = certs(dir.path());
    let port = free_port();
    let mtls_port = free_port();
    let servers = format!(
        "server {{ listen 127.0.0.1:{port} ssl http2; ssl_certificate {}; ssl_certificate_key {}; {HELLO} }}\n\
         server {{ listen 127.0.0.1:{mtls_port} ssl http2; ssl_certificate {}; ssl_certificate_key {};\n\
           ssl_client_certificate {}; ssl_verify_client on; {HELLO} }}",
        c.server_cert.display(),
        c.server_key.display(),
        c.server_cert.display(),
        c.server_key.display(),
        c.ca.display()
    );
    let Some(_nginx) = nginx(dir.path(), &servers, &[port, mtls_port]) else {
        return;
    };
    let ca = c.ca.to_str().unwrap();
    let url = format!("https://localhost:{port}/");

    // ALPN picks h2; both HTTP/2 clients speak it over TLS.
    for client in CLIENTS {
        let (code, out, err, rows, js) =
            short_run(dir.path(), &url, &with(client, &["--cacert", ca]));
        assert_eq!(code, 0, "{client:?}: {out}{err}");
        assert_all_200(&rows, 100);
        assert_eq!(js["run"]["alpn"], "h2");
        assert_eq!(js["run"]["protocol"], "h2");
        assert_eq!(js["run"]["tls"], true);
        assert_eq!(js["overall"]["bytes"], 600, "{client:?}: 100 x hello");
    }

    // --http1 forces HTTP/1.1 over TLS.
    let (code, out, err, rows, js) = short_run(dir.path(), &url, &["--cacert", ca, "--http1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_all_200(&rows, 100);
    assert_eq!(js["run"]["alpn"], "http/1.1");
    assert_eq!(js["run"]["protocol"], "http/1.1");

    // The certificate is for localhost, not 127.0.0.1: rejected before the run...
    let ip_url = format!("https://127.0.0.1:{port}/");
    let (code, _, err, _, _) = short_run(dir.path(), &ip_url, &["--cacert", ca]);
    assert_ne!(code, 0);
    assert!(err.contains("not valid for name"), "{err}");
    // ...unless --insecure.
    let (code, out, err, rows, _) = short_run(dir.path(), &ip_url, &["--insecure"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_all_200(&rows, 100);

    // Mutual TLS: without a client certificate nginx answers 400.
    let mtls = format!("https://localhost:{mtls_port}/");
    let (code, _, _, rows, _) = short_run(dir.path(), &mtls, &["--cacert", ca, "--ignore-errors"]);
    assert_eq!(code, 1);
    assert!(rows.iter().all(|r| r[3] == "400"), "{rows:?}");
    let (cert, key) = (
        c.client_cert.to_str().unwrap(),
        c.client_key.to_str().unwrap(),
    );
    for client in CLIENTS {
        let mut args = vec!["--cacert", ca, "--cert", cert, "--key", key];
        args.extend_from_slice(client);
        let (code, out, err, rows, _) = short_run(dir.path(), &mtls, &args);
        assert_eq!(code, 0, "{client:?}: {out}{err}");
        assert_all_200(&rows, 100);
    }
}

#[test]
fn h2c_and_grpc_against_rwg_serve() {
    use rwg::serve::{start, ServeConfig, ServeProtocol};
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.txt");
    let h2c = start(ServeConfig {
        protocol: ServeProtocol::H2c,
        capture: Some(capture.clone()),
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/", h2c.addr);
    let post = ["--h2c", "-X", "POST", "--body", "hello", "-H", "X-A: b"];
    let (code, out, err, rows, js) = short_run(dir.path(), &format!("{url}p?q=1"), &post);
    assert_eq!(code, 0, "{out}{err}");
    assert_all_200(&rows, 100);
    // Prior knowledge: no ALPN (cleartext has none).
    assert_eq!(js["run"]["alpn"], serde_json::Value::Null);
    // The server's capture: each request as HTTP/1.1-style text.
    let seen = std::fs::read_to_string(&capture).unwrap();
    let requests: Vec<&str> = seen.split("POST /p?q=1 HTTP/2\r\n").skip(1).collect();
    assert_eq!(requests.len(), 100, "{seen}");
    for r in requests {
        assert!(r.contains("x-a: b\r\n"), "{r}");
        assert!(r.contains("content-length: 5\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nhello"), "{r}");
    }

    closed_loop_on_two_streams(dir.path(), &url, &["--h2-crate"]);
    slow_streams_time_out(dir.path(), &["--h2-crate"]);

    // gRPC echo described by the server's reflection; 503s of the mix are
    // RESOURCE_EXHAUSTED (dropped).
    let grpc = start(ServeConfig {
        protocol: ServeProtocol::Grpc,
        status_mix: vec![(503, 0.5)],
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("grpc://{}/rwg.echo.v1.Echo/Call", grpc.addr);
    let (code, out, err, rows, js) = short_run(dir.path(), &url, &["--data", r#"{"message":"x"}"#]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().all(|r| r[3] == "0" || r[3] == "8"), "{rows:?}");
    let dropped = js["overall"]["dropped"].as_u64().unwrap();
    assert!(dropped > 20 && dropped < 80, "{dropped}");
    assert_eq!(js["overall"]["ok"].as_u64().unwrap() + dropped, 100);
}

type Counter = std::sync::Arc<std::sync::atomic::AtomicU64>;

/// A test server on a one-thread tokio runtime: `serve` gets each accepted
/// connection and a counter the test reads afterwards.
fn tokio_server<F, Fut>(serve: F) -> (std::net::SocketAddr, Counter, tokio::runtime::Runtime)
where
    F: Fn(tokio::net::TcpStream, Counter) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let counter = Counter::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let count = counter.clone();
    rt.spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, count.clone()));
        }
    });
    (addr, counter, rt)
}

/// A server that sends GOAWAY on every new HTTP/2 connection, before any
/// stream: counts the connections it accepted.
fn goaway_server() -> (std::net::SocketAddr, Counter, tokio::runtime::Runtime) {
    tokio_server(|socket, accepted| async move {
        accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut conn) = h2::server::handshake(socket).await {
            conn.abrupt_shutdown(h2::Reason::NO_ERROR);
            while conn.accept().await.is_some() {}
        }
    })
}

/// Against a server that refuses every connection with GOAWAY, re-dials
/// back off (10 ms doubling to 1 s, jittered) instead of storming it (about
/// 2 200 re-dials a second before); every arrival still gets its row.
#[test]
fn goaway_on_every_connection_is_not_stormed() {
    for client in CLIENTS {
        let (addr, accepted, _rt) = goaway_server();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://{addr}/");
        let args = with(
            client,
            &["--h2c", "-c", "1", "-t", "500ms", "--ignore-errors"],
        );
        let (code, out, err, rows, js) = short_run(dir.path(), &url, &args);
        assert_eq!(code, 1, "{client:?}: {out}{err}");
        assert_eq!(rows.len(), 100, "one row per scheduled request");
        let dials = accepted.load(std::sync::atomic::Ordering::Relaxed);
        assert!(dials < 60, "{client:?}: {dials} connections in ~1.5 s");
        assert!(js["run"]["redials"].as_u64().unwrap() >= 2, "{js}");
    }
}

/// A server whose every connection says SETTINGS and GOAWAY in one write:
/// the lean client once failed such handshakes (both frames in one read),
/// so its re-dials counted as failed dials and requests waited out their
/// timeouts instead of being refused on a connection that was made.
#[test]
fn settings_and_goaway_in_one_write_is_a_connection_made() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted: Counter = Default::default();
    let count = accepted.clone();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::spawn(move || {
                let settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
                let goaway = [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                let _ = sock.write_all(&[&settings[..], &goaway].concat());
                let _ = sock.read_to_end(&mut Vec::new());
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/");
    let args = ["--h2c", "-c", "1", "-t", "500ms", "--ignore-errors"];
    let (code, out, err, rows, js) = short_run(dir.path(), &url, &args);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(rows.len(), 100, "one row per scheduled request");
    let dials = accepted.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dials < 60, "{dials} connections in ~1.5 s");
    assert!(js["run"]["redials"].as_u64().unwrap() >= 2, "{js}");
}

/// A server that answers every stream with RST_STREAM(REFUSED_STREAM):
/// counts the streams it refused.
fn refusing_server() -> (std::net::SocketAddr, Counter, tokio::runtime::Runtime) {
    tokio_server(|socket, refused| async move {
        if let Ok(mut conn) = h2::server::handshake(socket).await {
            while let Some(Ok((_req, mut respond))) = conn.accept().await {
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                respond.send_reset(h2::Reason::REFUSED_STREAM);
            }
        }
    })
}

/// A refused stream is sent again until its deadline, not given up after a
/// count of tries (8 refusals took well under a millisecond), and the tries
/// pause (1 ms doubling to 64 ms) instead of storming the server.
#[test]
fn refused_streams_are_retried_until_the_deadline_with_pauses() {
    for client in CLIENTS {
        let (addr, refused, _rt) = refusing_server();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://{addr}/");
        let args = with(
            client,
            &["--h2c", "-c", "1", "-t", "300ms", "--ignore-errors"],
        );
        let (code, out, err, rows, _js) = short_run(dir.path(), &url, &args);
        assert_eq!(code, 1, "{client:?}: {out}{err}");
        assert_eq!(rows.len(), 100, "one row per scheduled request");
        for r in &rows {
            assert_eq!(r[8], "timeout", "{client:?}: row {r:?}");
        }
        let tries = refused.load(std::sync::atomic::Ordering::Relaxed);
        // 300 ms holds about 10 tries (0, 1, 2, … 64, 64 ms apart).
        assert!(
            tries > 800 && tries < 2000,
            "{client:?}: {tries} refused streams for 100 requests"
        );
    }
}

/// The lean client against `rwg serve --h2c` (the h2 crate's server, which
/// Huffman-codes and indexes its headers): the request as sent (method,
/// path and query, a header), statuses of a mix, body bytes of a large
/// response over many DATA frames, a closed loop with more workers than
/// streams, and streams reset at their timeout.
#[test]
fn lean_client_against_rwg_serve() {
    use rwg::serve::{start, ServeConfig, ServeProtocol};
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.txt");
    let srv = start(ServeConfig {
        protocol: ServeProtocol::H2c,
        capture: Some(capture.clone()),
        status_mix: vec![(503, 0.3)],
        body_bytes: 100_000,
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/p?q=1", srv.addr);
    let args = ["--h2c", "-X", "DELETE", "-H", "X-A: b", "--ignore-errors"];
    let (code, out, err, rows, js) = short_run(dir.path(), &url, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(rows.len(), 100);
    let mut by_status = std::collections::BTreeMap::new();
    for r in &rows {
        *by_status.entry(r[3].clone()).or_insert(0) += 1;
        assert_eq!(r[8], "", "row {r:?}");
    }
    assert_eq!(by_status.len(), 2, "{by_status:?}");
    assert!(
        by_status["503"] > 10 && by_status["503"] < 60,
        "{by_status:?}"
    );
    assert_eq!(js["overall"]["bytes"], 100 * 100_000, "{js}");
    let seen = std::fs::read_to_string(&capture).unwrap();
    let requests: Vec<&str> = seen.split("DELETE /p?q=1 HTTP/2\r\n").skip(1).collect();
    assert_eq!(requests.len(), 100, "{seen}");
    assert!(requests.iter().all(|r| r.contains("x-a: b\r\n")), "{seen}");

    let small = start(ServeConfig {
        protocol: ServeProtocol::H2c,
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/", small.addr);
    closed_loop_on_two_streams(dir.path(), &url, &[]);
    slow_streams_time_out(dir.path(), &[]);
}

/// Request bodies through the lean client, as `rwg serve --h2c` received
/// them: a small one with its content-length, and one of 300 000 bytes,
/// over the 65 535 bytes the server's windows allow at first (sent as the
/// server's WINDOW_UPDATEs arrive, in frames of at most 16 384 bytes).
#[test]
fn lean_client_sends_bodies_within_the_servers_windows() {
    use rwg::serve::{start, ServeConfig, ServeProtocol};
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let pattern: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(&big, &pattern).unwrap();
    let capture = dir.path().join("capture.txt");
    let srv = start(ServeConfig {
        protocol: ServeProtocol::H2c,
        capture: Some(capture.clone()),
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/up", srv.addr);
    let small = ["--h2c", "-X", "POST", "--body", "hello", "-n", "20"];
    let (code, out, err, rows, _) = short_run(dir.path(), &url, &small);
    assert_eq!(code, 0, "{out}{err}");
    assert_all_200(&rows, 20);
    let seen = std::fs::read_to_string(&capture).unwrap();
    let requests: Vec<&str> = seen.split("POST /up HTTP/2\r\n").skip(1).collect();
    assert_eq!(requests.len(), 20, "{seen}");
    for r in &requests {
        assert!(r.contains("content-length: 5\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nhello"), "{r}");
    }
    std::fs::write(&capture, b"").unwrap();
    let large = [
        "--h2c",
        "-X",
        "PUT",
        "--body-file",
        big.to_str().unwrap(),
        "-n",
        "10",
        "-t",
        "5s",
    ];
    let (code, out, err, rows, _) = short_run(dir.path(), &url, &large);
    assert_eq!(code, 0, "{out}{err}");
    assert_all_200(&rows, 10);
    let seen = std::fs::read(&capture).unwrap();
    let head = b"PUT /up HTTP/2\r\n";
    let starts: Vec<usize> = seen
        .windows(head.len())
        .enumerate()
        .filter(|(_, w)| w == head)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(starts.len(), 10);
    for (k, &at) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(seen.len());
        assert!(
            seen[at..end].ends_with(&pattern),
            "request {k}: body differs"
        );
    }
}

/// A raw HTTP/2 server that answers the first stream with `frames` (after
/// its own empty SETTINGS), then holds the connection until the client
/// closes it.
fn raw_h2_server(frames: Vec<u8>) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            // The preface, SETTINGS and the first HEADERS have arrived.
            std::thread::sleep(std::time::Duration::from_millis(200));
            let _ = s.write_all(&frames);
            let _ = s.read_to_end(&mut Vec::new());
        }
    });
    addr
}

/// Servers that break HTTP/2 on purpose: a response body before its head
/// (the stream fails as `protocol`), and a header block the HPACK decoder
/// cannot read (the connection ends with GOAWAY, the stream fails as
/// `protocol`). Each request gets its row, none a status.
#[test]
fn lean_client_against_malformed_responses() {
    let data_first = [&[0, 0, 1, 0, 1, 0, 0, 0, 1][..], b"x"].concat();
    let bad_hpack = vec![0, 0, 1, 1, 5, 0, 0, 0, 1, 0x80];
    for frames in [data_first, bad_hpack] {
        let addr = raw_h2_server(frames.clone());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://{addr}/");
        let args = ["--h2c", "-n", "1", "-c", "1", "-t", "2s", "--ignore-errors"];
        let (code, out, err, rows, _) = short_run(dir.path(), &url, &args);
        assert_eq!(code, 1, "{frames:?}: {out}{err}");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][8], "protocol", "{frames:?}: {:?}", rows[0]);
    }
}

/// A TLS server (ALPN h2) that sends its SETTINGS, reads the client's
/// first bytes, then writes bytes that are no TLS record; returns its
/// address and the CA that signed its certificate.
fn tls_garbage_server(dir: &std::path::Path) -> (std::net::SocketAddr, std::path::PathBuf) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::{Read, Write};
    let c = certs(dir);
    let chain: Vec<CertificateDer> = CertificateDer::pem_file_iter(&c.server_cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&c.server_key).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let config = std::sync::Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, sock);
                if tls.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).is_err() {
                    return;
                }
                // The preface, SETTINGS and the first HEADERS have arrived.
                std::thread::sleep(std::time::Duration::from_millis(200));
                if tls.read(&mut [0u8; 4096]).is_err() {
                    return;
                }
                let _ = tls.sock.write_all(b"this is no TLS record");
                let _ = tls.sock.read_to_end(&mut Vec::new());
            });
        }
    });
    (addr, c.ca)
}

/// The lean client over TLS, when the server's bytes stop being TLS
/// records: the stream fails as `protocol` (rustls rejects the record; the
/// reader ends the connection), nothing hangs or panics.
#[test]
fn lean_client_over_tls_against_a_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, ca) = tls_garbage_server(dir.path());
    let url = format!("https://localhost:{}/", addr.port());
    let args = [
        "--cacert",
        ca.to_str().unwrap(),
        "--http2",
        "-n",
        "1",
        "-c",
        "1",
        "-t",
        "3s",
        "--ignore-errors",
    ];
    let (code, out, err, rows, _) = short_run(dir.path(), &url, &args);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][8], "protocol", "{:?}", rows[0]);
}

/// One HTTP/2 frame on stream 1.
fn frame_on_1(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    [
        &[len[1], len[2], len[3], kind, flags, 0, 0, 0, 1][..],
        payload,
    ]
    .concat()
}

/// gRPC's status as the lean client reads it from a raw server: from the
/// trailers after a message, from a trailers-only head, and a response
/// with no `grpc-status` at all (a `protocol` failure, whatever its
/// `:status`).
#[test]
fn lean_client_reads_grpc_status_from_trailers_or_head() {
    const HEADERS: u8 = 1;
    const END_STREAM: u8 = 1;
    const END_HEADERS: u8 = 4;
    // `:status: 200` (static index 8), then `grpc-status` as a literal.
    let ok_head = [0x88];
    let grpc_status =
        |code: &str| [&[0x00, 11][..], b"grpc-status", &[1], code.as_bytes()].concat();
    let message = [0, 0, 0, 0, 2, 0x0a, 0];
    let with_trailers = [
        frame_on_1(HEADERS, END_HEADERS, &ok_head),
        frame_on_1(0, 0, &message),
        frame_on_1(HEADERS, END_HEADERS | END_STREAM, &grpc_status("7")),
    ]
    .concat();
    let trailers_only = frame_on_1(
        HEADERS,
        END_HEADERS | END_STREAM,
        &[&ok_head[..], &grpc_status("5")].concat(),
    );
    let no_status = frame_on_1(HEADERS, END_HEADERS | END_STREAM, &ok_head);
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/echo.proto");
    for (frames, status, error) in [
        (with_trailers, "7", ""),
        (trailers_only, "5", ""),
        (no_status, "", "protocol"),
    ] {
        let addr = raw_h2_server(frames);
        let dir = tempfile::tempdir().unwrap();
        let url = format!("grpc://{addr}/rwg.echo.v1.Echo/Call");
        let args = [
            "--proto",
            proto,
            "--data",
            "{}",
            "-n",
            "1",
            "-c",
            "1",
            "-t",
            "2s",
            "--ignore-errors",
        ];
        let (_, out, err, rows, _) = short_run(dir.path(), &url, &args);
        assert_eq!(rows.len(), 1, "{out}{err}");
        assert_eq!(
            (&rows[0][3][..], &rows[0][8][..]),
            (status, error),
            "{:?}",
            rows[0]
        );
    }
}

/// Closed loop, 32 workers on 2 streams: each freed stream goes to the
/// longest waiter (it once went back to the worker that freed it, and the
/// other 30 workers waited until their timeout).
fn closed_loop_on_two_streams(dir: &std::path::Path, url: &str, client: &[&str]) {
    let (csv, js) = (dir.join("closed.csv"), dir.join("closed.json"));
    let _ = std::fs::remove_file(&csv);
    let mut args = vec![
        "run",
        "-r",
        "0",
        "-d",
        "1s",
        "--cpus",
        "0",
        "-q",
        "--h2c",
        "-c",
        "1",
        "--max-streams",
        "2",
        "-w",
        "32",
        "-t",
        "500ms",
        "-o",
    ];
    args.extend_from_slice(&[csv.to_str().unwrap(), "--json", js.to_str().unwrap(), url]);
    args.extend_from_slice(client);
    let (code, out, err) = rwg(&args);
    assert_eq!(code, 0, "{client:?}: {out}{err}");
    let (rows, _) = collect(&csv, &js);
    assert!(rows.len() > 500, "{client:?}: {} rows", rows.len());
    assert!(rows.iter().all(|r| r[3] == "200"), "{client:?}: {rows:?}");
}

/// Streams slower than --timeout are reset and recorded as timeouts.
fn slow_streams_time_out(dir: &std::path::Path, client: &[&'static str]) {
    use rwg::serve::{start, ServeConfig, ServeProtocol};
    let slow = start(ServeConfig {
        protocol: ServeProtocol::H2c,
        delay: rwg::serve::Delay::Fixed { ns: 400_000_000 },
        ..ServeConfig::default()
    })
    .unwrap();
    let url = format!("http://{}/", slow.addr);
    let args = [
        "--h2c",
        "--timeout",
        "100ms",
        "--ignore-errors",
        "-n",
        "20",
        "-w",
        "32",
    ];
    let (code, _, _, rows, _) = short_run(dir, &url, &with(client, &args));
    assert_eq!(code, 1, "{client:?}");
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter().all(|r| r[8] == "timeout"),
        "{client:?}: {rows:?}"
    );
}
