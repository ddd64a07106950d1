//! End-to-end gRPC against a real tonic server (hand-written service for
//! `proto/echo.proto`, reflection by tonic-reflection): OK calls,
//! RESOURCE_EXHAUSTED (dropped), INVALID_ARGUMENT (error by name), a slow
//! call past `--timeout` (timeout), the reflection path without `--proto`,
//! bad JSON (exit 2 naming the field), unknown method (error before the run);
//! `grpcs://` through nginx terminating TLS in front of the same server.

mod netcommon;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use netcommon::{certs, collect, free_port, nginx, rwg};
use prost::Message;
use tonic::codegen::{http, BoxFuture, Context, Poll, Service};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

#[derive(Clone, PartialEq, Message)]
struct EchoRequest {
    #[prost(string, tag = "1")]
    message: String,
    #[prost(int32, tag = "2")]
    code: i32,
    #[prost(uint32, tag = "3")]
    delay_ms: u32,
}

#[derive(Clone, PartialEq, Message)]
struct EchoReply {
    #[prost(string, tag = "1")]
    message: String,
}

#[derive(Clone)]
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "rwg.echo.v1.Echo";
}

struct Call;

impl UnaryService<EchoRequest> for Call {
    type Response = EchoReply;
    type Future = BoxFuture<Response<EchoReply>, Status>;

    fn call(&mut self, req: Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            let r = req.into_inner();
            if r.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(r.delay_ms.into())).await;
            }
            if r.code != 0 {
                return Err(Status::new(r.code.into(), "asked for it"));
            }
            Ok(Response::new(EchoReply { message: r.message }))
        })
    }
}

impl Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            if req.uri().path() == "/rwg.echo.v1.Echo/Call" {
                let mut grpc = Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.unary(Call, req).await)
            } else {
                Ok(Status::unimplemented("no such method").into_http())
            }
        })
    }
}

fn proto_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto/echo.proto")
}

/// Starts the tonic server (with reflection v1) on a background runtime.
fn start_server() -> (SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fds = protox::compile([proto_path()], [proto_path().parent().unwrap()]).unwrap();
    let encoded: &'static [u8] = Box::leak(fds.encode_to_vec().into_boxed_slice());
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(encoded)
        .build_v1()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(
        tonic::transport::Server::builder()
            .add_service(Echo)
            .add_service(reflection)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (addr, rt)
}

/// `rwg run` 50 calls at 100/s; returns (code, stderr+stdout, rows, summary).
fn call(
    addr: SocketAddr,
    method: &str,
    extra: &[&str],
) -> (i32, String, Vec<Vec<String>>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let js = dir.path().join("out.json");
    let url = format!("grpc://{addr}/rwg.echo.v1.Echo/{method}");
    let mut args = vec![
        "run",
        "-r",
        "100",
        "-d",
        "5s",
        "--cpus",
        "0",
        "-w",
        "8",
        "-q",
        "--ignore-errors",
        "-o",
        csv.to_str().unwrap(),
        "--json",
        js.to_str().unwrap(),
    ];
    if !extra.contains(&"-n") {
        args.extend_from_slice(&["-n", "50"]);
    }
    args.extend_from_slice(extra);
    args.push(&url);
    let (code, out, err) = rwg(&args);
    let (rows, summary) = collect(&csv, &js);
    (code, format!("{err}{out}"), rows, summary)
}

#[test]
fn grpc_against_tonic() {
    let (addr, _rt) = start_server();
    let proto = proto_path();
    let proto = proto.to_str().unwrap();

    // OK calls, message from --proto + --data, metadata sent.
    let hlog_dir = tempfile::tempdir().unwrap();
    let hlog = hlog_dir.path().join("ok.hlog");
    let (code, text, rows, js) = call(
        addr,
        "Call",
        &[
            "--proto",
            proto,
            "--data",
            r#"{"message":"hi"}"#,
            "--metadata",
            "x-test:1",
            "--hlog",
            hlog.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(rows.len(), 50);
    assert!(
        rows.iter().all(|r| r[3] == "0" && r[8].is_empty()),
        "{rows:?}"
    );
    assert_eq!(js["run"]["protocol"], "grpc");
    assert_eq!(js["overall"]["ok"], 50);
    // gRPC OK is status 0: the interval log still counts every answer.
    let hlog_json = hlog_dir.path().join("hlog.json");
    let (code, out, err) = rwg(&[
        "report",
        hlog.to_str().unwrap(),
        "--json",
        hlog_json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let hj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&hlog_json).unwrap()).unwrap();
    assert_eq!(hj["source"], "report-hlog", "{hj}");
    assert_eq!(hj["overall"]["answered"], 50, "{hj}");
    assert_eq!(hj["overall"]["latency_answered"]["samples"], 50, "{hj}");
    assert!(
        hj["overall"]["ok"].is_null(),
        "an interval log has no status: {hj}"
    );

    // RESOURCE_EXHAUSTED counts as dropped, not as an error.
    let (code, text, rows, js) = call(addr, "Call", &["--proto", proto, "--data", r#"{"code":8}"#]);
    assert_eq!(code, 0, "{text}");
    assert!(rows.iter().all(|r| r[3] == "8"), "{rows:?}");
    assert_eq!(js["overall"]["dropped"], 50);
    assert_eq!(js["overall"]["errors"], 0);

    // INVALID_ARGUMENT is an error, named in the summary.
    let (code, text, rows, js) = call(addr, "Call", &["--proto", proto, "--data", r#"{"code":3}"#]);
    assert_eq!(code, 1, "{text}");
    let odd: Vec<_> = rows.iter().filter(|r| r[3] != "3").collect();
    assert!(odd.is_empty(), "{odd:?}");
    assert_eq!(js["overall"]["errors_by_kind"]["INVALID_ARGUMENT"], 50);
    assert!(text.contains("INVALID_ARGUMENT"), "{text}");

    // A call slower than --timeout is a timeout.
    let (code, text, rows, js) = call(
        addr,
        "Call",
        &[
            "--proto",
            proto,
            "--data",
            r#"{"delay_ms":1000}"#,
            "--timeout",
            "100ms",
            "-n",
            "5",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r[8] == "timeout"), "{rows:?}");
    assert_eq!(js["overall"]["errors_by_kind"]["timeout"], 5);

    // No --proto: the method is described by server reflection.
    let (code, text, rows, _) = call(addr, "Call", &["--data", r#"{"message":"r"}"#]);
    assert_eq!(code, 0, "{text}");
    assert!(rows.iter().all(|r| r[3] == "0"), "{rows:?}");

    // Bad JSON names the field; exit 2 before the run.
    let (code, text, rows, _) = call(
        addr,
        "Call",
        &["--proto", proto, "--data", r#"{"mesage":"x"}"#],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("mesage"), "{text}");
    assert!(rows.is_empty());
    // A value of the wrong type names its field, not just a column.
    let (code, text, rows, _) = call(
        addr,
        "Call",
        &[
            "--proto",
            proto,
            "--data",
            r#"{"message":"m","code":"12x"}"#,
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("field 'code'"), "{text}");
    assert!(rows.is_empty());

    // Unknown method: clear error before the run, with and without --proto.
    for extra in [&["--proto", proto][..], &[][..]] {
        let (code, text, rows, _) = call(addr, "Nope", extra);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("unknown gRPC method 'Nope'"), "{text}");
        assert!(rows.is_empty());
    }
}

/// `grpcs://`: TLS (ALPN h2) to nginx, which passes the calls on to the
/// tonic server (`grpc_pass`), as gRPC services are often deployed. OK calls
/// with --proto, a status through the proxy, and reflection over TLS.
#[test]
fn grpcs_through_nginx_tls() {
    let (addr, _rt) = start_server();
    let dir = tempfile::tempdir().unwrap();
    let c = certs(dir.path());
    let port = free_port();
    let servers = format!(
        "server {{ listen 127.0.0.1:{port} ssl http2; ssl_certificate {}; ssl_certificate_key {};\n\
           location / {{ grpc_pass grpc://{addr}; }} }}",
        c.server_cert.display(),
        c.server_key.display(),
    );
    let Some(_nginx) = nginx(dir.path(), &servers, &[port]) else {
        return;
    };
    let proto = proto_path();
    let url = format!("grpcs://localhost:{port}/rwg.echo.v1.Echo/Call");
    let run = |extra: &[&str]| {
        let (csv, js) = (dir.path().join("out.csv"), dir.path().join("out.json"));
        let mut args = vec!["run", "-r", "100", "-n", "50", "-d", "5s", "--cpus", "0"];
        args.extend_from_slice(&["-w", "8", "-q", "--ignore-errors", "--cacert"]);
        args.extend_from_slice(&[c.ca.to_str().unwrap(), "-o", csv.to_str().unwrap()]);
        args.extend_from_slice(&["--json", js.to_str().unwrap()]);
        args.extend_from_slice(extra);
        args.push(&url);
        let (code, out, err) = rwg(&args);
        let (rows, summary) = collect(&csv, &js);
        (code, format!("{err}{out}"), rows, summary)
    };
    let proto = proto.to_str().unwrap();

    let (code, text, rows, js) = run(&["--proto", proto, "--data", r#"{"message":"tls"}"#]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r[3] == "0"), "{rows:?}");
    assert_eq!(js["run"]["protocol"], "grpc");
    assert_eq!(js["run"]["alpn"], "h2");

    let (code, text, rows, js) = run(&["--proto", proto, "--data", r#"{"code":8}"#]);
    assert_eq!(code, 0, "{text}");
    assert!(rows.iter().all(|r| r[3] == "8"), "{rows:?}");
    assert_eq!(js["overall"]["dropped"], 50);

    let (code, text, rows, _) = run(&["--data", r#"{"message":"reflected"}"#]);
    assert_eq!(code, 0, "{text}");
    assert!(rows.iter().all(|r| r[3] == "0"), "{rows:?}");
}
