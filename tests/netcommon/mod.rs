//! Shared helpers of the end-to-end tests: run the `rwg` binary, start a
//! throwaway nginx with a generated config, generate test certificates.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `rwg` with `args`; returns (exit code, stdout, stderr).
/// The send-lag bound of `rwg run`s here (none is about the verdict): the
/// test machine is shared, and a scheduler hiccup of a few ms at p99 of a
/// few hundred sends would turn their exit code into 4 (generator behind).
const TEST_MAX_LAG: &str = "50ms";

pub fn rwg(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rwg"));
    cmd.args(args);
    if args.first() == Some(&"run") && !args.contains(&"--max-lag") {
        cmd.args(["--max-lag", TEST_MAX_LAG]);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run rwg");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16) {
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CSV data rows (header excluded), split into columns.
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What a run left behind: CSV rows and the JSON summary (empty / Null when
/// the file was not written, e.g. a run refused before it started).
pub fn collect(csv: &Path, js: &Path) -> (Vec<Vec<String>>, serde_json::Value) {
    let rows = if csv.exists() {
        csv_rows(csv)
    } else {
        Vec::new()
    };
    let summary = if js.exists() {
        json(js)
    } else {
        serde_json::Value::Null
    };
    (rows, summary)
}

pub fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A private nginx: stopped on drop.
pub struct Nginx {
    child: Child,
}

impl Drop for Nginx {
    /// SIGTERM, so the master stops its workers too (SIGKILL to the master
    /// alone left every worker running, orphaned, after each test); SIGKILL
    /// if it has not ended within 5 s.
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        for _ in 0..500 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool a test needs is missing: on CI (`CI=true`, where .ci/run installs
/// it) that fails the test; elsewhere the test is skipped with one line that
/// names the tool and how to install it. Returns normally only to skip.
pub fn missing_tool(tool: &str, install: &str) {
    use std::io::Write as _;
    let msg = format!("{tool} is not installed: {install}");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg} (CI=true: a missing tool fails the test)");
    }
    // Straight to the descriptor: the test harness captures `eprintln!`
    // of passing tests, and this line must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
}

/// Starts nginx with `servers` (the `server { ... }` blocks) in `dir`; waits
/// for each of `ports`. `None` (the caller skips) when nginx is missing.
pub fn nginx(dir: &Path, servers: &str, ports: &[u16]) -> Option<Nginx> {
    let Some(bin) = nginx_binary() else {
        missing_tool("nginx", "apt-get install nginx");
        return None;
    };
    let d = dir.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 512; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}; proxy_temp_path {d};\n  \
         fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n{servers}\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let guard = Nginx { child };
    for &p in ports {
        wait_for_port(p);
    }
    Some(guard)
}

/// A test CA, a `localhost` server certificate and a client certificate,
/// written as PEM files into `dir`.
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub fn certs(dir: &Path) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rwg test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_pem, server_key) = leaf("localhost");
    let (client_pem, client_key) = leaf("rwg-client");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Certs {
        ca: write("ca.pem", &ca.pem()),
        server_cert: write("server.pem", &server_pem),
        server_key: write("server.key", &server_key),
        client_cert: write("client.pem", &client_pem),
        client_key: write("client.key", &client_key),
    }
}
