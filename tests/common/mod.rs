//! Shared helpers of the end-to-end tests: run the `rwg` binary with a
//! deadline, parse its CSV and JSON strictly, start nginx, pick free ports.
//!
//! Every run is bounded (killed and reported after a deadline), and runs that
//! offer load hold [`serial`] so that a test binary never has two load runs
//! competing for the machine's cores at once.

#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const HEADER: &str =
    "timestamp_ns,url,phase,status,latency_us,service_us,lag_us,bytes,error,in_flight";

/// The `rwg` binary under test.
pub fn rwg_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rwg")
}

/// A `Command` for the binary. The driver is left as the environment says
/// (CI runs the whole suite once more with `MONOIO_FORCE_LEGACY_DRIVER=1`).
pub fn rwg() -> Command {
    Command::new(rwg_bin())
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Held by every test that offers load, so load runs of one test binary run
/// one at a time (the machine may have only 2 cores). Poison-tolerant: one
/// failed test must not fail the others.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits for `child` until `limit`; kills it and returns None when it overran.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One parsed CSV row; empty cells are `None` (or "" for `error`).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub timestamp_ns: u64,
    pub url: String,
    pub phase: u32,
    pub status: Option<u16>,
    pub latency_us: Option<f64>,
    pub service_us: Option<f64>,
    pub lag_us: Option<f64>,
    pub bytes: u64,
    pub error: String,
    pub in_flight: u32,
}

fn opt<T: std::str::FromStr>(cell: &str, what: &str, line: usize) -> Option<T> {
    if cell.is_empty() {
        return None;
    }
    Some(
        cell.parse()
            .unwrap_or_else(|_| panic!("CSV line {line}: bad {what} {cell:?}")),
    )
}

fn req<T: std::str::FromStr>(cell: &str, what: &str, line: usize) -> T {
    opt(cell, what, line).unwrap_or_else(|| panic!("CSV line {line}: empty {what}"))
}

/// Checks a numeric cell has at most 3 decimals, as the contract says.
fn three_decimals(cell: &str, what: &str, line: usize) {
    if let Some((_, frac)) = cell.split_once('.') {
        assert!(
            frac.len() <= 3 && !frac.is_empty(),
            "CSV line {line}: {what} {cell:?} must have 1 to 3 decimals"
        );
    }
}

/// Parses CSV text strictly: exact header, 10 fields a line, no NUL byte,
/// a final newline, numbers where numbers belong.
pub fn parse_csv(text: &str) -> Vec<Row> {
    assert!(!text.contains('\0'), "CSV contains NUL bytes");
    assert!(text.ends_with('\n'), "CSV does not end with a newline");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER), "CSV header");
    lines
        .enumerate()
        .map(|(i, line)| {
            let n = i + 2;
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 10, "CSV line {n} has {} fields: {line:?}", f.len());
            for (cell, what) in [(f[4], "latency_us"), (f[5], "service_us"), (f[6], "lag_us")] {
                three_decimals(cell, what, n);
            }
            Row {
                timestamp_ns: req(f[0], "timestamp_ns", n),
                url: f[1].to_string(),
                phase: req(f[2], "phase", n),
                status: opt(f[3], "status", n),
                latency_us: opt(f[4], "latency_us", n),
                service_us: opt(f[5], "service_us", n),
                lag_us: opt(f[6], "lag_us", n),
                bytes: req(f[7], "bytes", n),
                error: f[8].to_string(),
                in_flight: req(f[9], "in_flight", n),
            }
        })
        .collect()
}

pub fn read_csv(path: &Path) -> Vec<Row> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let text = String::from_utf8(bytes).expect("CSV is not UTF-8");
    parse_csv(&text)
}

pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

/// `v[key]` as u64, panicking with the key's name when absent.
pub fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("JSON field {key:?} is not a u64 in {v}"))
}

pub fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("JSON field {key:?} is not a number in {v}"))
}

/// The percentile `name` (`p50`, `p99.9`) of a JSON distribution, in µs;
/// `None` when it falls among the unanswered.
pub fn pctl_us(dist: &Value, name: &str) -> Option<f64> {
    let all = dist["percentiles"]
        .as_array()
        .unwrap_or_else(|| panic!("no percentiles in {dist}"));
    let p = all
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {dist}"));
    p["us"].as_f64()
}

/// What one `rwg` invocation left behind. The temporary directory (holding
/// the CSV and JSON) lives as long as this value.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub dir: tempfile::TempDir,
}

impl Outcome {
    pub fn csv_path(&self) -> PathBuf {
        self.dir.path().join("out.csv")
    }
    pub fn json_path(&self) -> PathBuf {
        self.dir.path().join("summary.json")
    }
    pub fn rows(&self) -> Vec<Row> {
        read_csv(&self.csv_path())
    }
    pub fn json(&self) -> Value {
        read_json(&self.json_path())
    }
    /// stdout and stderr together, for "the summary mentions X" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    pub fn assert_code(&self, want: i32) {
        assert_eq!(
            self.code,
            Some(want),
            "exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
    }
    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "rwg panicked:\n{}",
            self.stderr
        );
    }
}

/// Runs `cmd` (stdout/stderr to files in `dir`) with a deadline.
pub fn finish(mut cmd: Command, dir: tempfile::TempDir, limit: Duration) -> Outcome {
    let out_path = dir.path().join("stdout.txt");
    let err_path = dir.path().join("stderr.txt");
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("spawn rwg");
    let status = wait_timeout(&mut child, limit);
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!("rwg did not finish within {limit:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")
    });
    Outcome {
        code: status.code(),
        stdout,
        stderr,
        dir,
    }
}

/// `rwg run URL ARGS -o DIR/out.csv --json DIR/summary.json -q`, with `env`
/// set (`Some`) or removed (`None`) on the child, finished within `limit`.
/// The send-lag bound of runs whose test is not about the verdict: the test
/// machine is shared, and a scheduler hiccup of a few ms at p99 of a few
/// hundred sends would turn their exit code into 4 (generator behind),
/// which tests/verdict.rs checks on purpose.
pub const TEST_MAX_LAG: &str = "50ms";

pub fn run_with_env(
    url: &str,
    args: &[&str],
    env: &[(&str, Option<&str>)],
    limit: Duration,
) -> Outcome {
    run_args_with_env(&[&[url], args].concat(), env, limit)
}

/// `rwg run ARGS …` as [`run_with_env`] does, the targets given in `args`
/// (`--targets FILE`).
pub fn run_args_with_env(args: &[&str], env: &[(&str, Option<&str>)], limit: Duration) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rwg();
    cmd.arg("run").args(args);
    if !args.contains(&"--max-lag") {
        cmd.args(["--max-lag", TEST_MAX_LAG]);
    }
    cmd.arg("-o")
        .arg(dir.path().join("out.csv"))
        .arg("--json")
        .arg(dir.path().join("summary.json"))
        .arg("-q");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    finish(cmd, dir, limit)
}

pub fn run(url: &str, args: &[&str]) -> Outcome {
    run_with_env(url, args, &[], Duration::from_secs(30))
}

pub fn run_args(args: &[&str]) -> Outcome {
    run_args_with_env(args, &[], Duration::from_secs(30))
}

/// `http://ADDR/` of an in-process server.
pub fn url_of(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

/// A port that was free a moment ago (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Regression guard: every worker is idle before the first dispatch, so a
/// `skipped` row with nothing in flight at the very start must not appear
/// (it once did: the dispatcher ran before the spawned workers registered).
/// A genuine skip means all of a core's workers are busy.
pub fn assert_no_idle_skips(rows: &[Row]) {
    let idle = rows
        .iter()
        .filter(|r| r.error == "skipped" && r.in_flight == 0)
        .count();
    assert_eq!(
        idle, 0,
        "{idle} arrival(s) skipped while nothing was in flight"
    );
}

/// Planned timestamps of each phase, sorted, are spaced exactly 1e9/rate
/// (± 1 µs), and phase k starts where phase k-1's duration ends (± 1 µs).
pub fn assert_fixed_schedule(rows: &[Row], rates: &[u64], durations_ns: &[u64]) {
    let mut phase_start = None::<u64>;
    for (p, (&rate, &dur)) in rates.iter().zip(durations_ns).enumerate() {
        let mut ts: Vec<u64> = rows
            .iter()
            .filter(|r| r.phase == p as u32)
            .map(|r| r.timestamp_ns)
            .collect();
        ts.sort_unstable();
        let want = rate * dur / 1_000_000_000;
        assert_eq!(ts.len() as u64, want, "rows of phase {p}");
        let gap = 1e9 / rate as f64;
        for w in ts.windows(2) {
            let d = (w[1] - w[0]) as f64;
            assert!(
                (d - gap).abs() <= 1000.0,
                "phase {p}: planned gap {d} ns, want {gap} ns ± 1 µs"
            );
        }
        if let Some(start) = phase_start {
            let d = ts[0] as f64 - start as f64;
            assert!(
                d.abs() <= 1000.0,
                "phase {p}'s first slot is {d} ns off the end of phase {}",
                p - 1
            );
        }
        // The next phase starts at this phase's first slot + its duration.
        phase_start = Some(ts[0] + dur);
    }
}

/// Every row answered 200 with a latency; latency = lag + service (to the
/// 3-decimal rounding of each cell); lag ≥ 0; `url` as given.
pub fn assert_all_200(rows: &[Row], url: &str) {
    for r in rows {
        assert_eq!(r.status, Some(200), "row {r:?}");
        assert_eq!(r.error, "", "row {r:?}");
        assert_eq!(r.url, url, "row {r:?}");
        assert!(r.bytes > 0, "row {r:?}");
        assert!(
            r.in_flight >= 1,
            "a sent request counts itself in flight: {r:?}"
        );
        let (lat, svc, lag) = (
            r.latency_us.expect("latency"),
            r.service_us.expect("service"),
            r.lag_us.expect("lag"),
        );
        assert!(lag >= 0.0 && svc > 0.0, "row {r:?}");
        assert!(
            (lat - (lag + svc)).abs() <= 0.0025,
            "latency != lag + service: {r:?}"
        );
    }
}

/// A child process killed (and reaped) on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx on 127.0.0.1:`port`, answering `hello\n` to everything, with its
/// config, logs and temp paths in a private directory; killed on drop.
pub struct Nginx {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: KillOnDrop,
}

fn nginx_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join("nginx");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
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

/// Starts nginx, or returns None (the caller skips) when it is missing
/// outside CI.
pub fn nginx() -> Option<Nginx> {
    let Some(bin) = nginx_binary() else {
        missing_tool("nginx", "apt-get install nginx");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().display().to_string();
    for attempt in 0..5 {
        let port = free_port();
        let conf = format!(
            "daemon off;\n\
             master_process off;\n\
             worker_processes 1;\n\
             error_log {t}/error.log;\n\
             pid {t}/nginx.pid;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {t}/body;\n\
               proxy_temp_path {t}/proxy;\n\
               fastcgi_temp_path {t}/fastcgi;\n\
               uwsgi_temp_path {t}/uwsgi;\n\
               scgi_temp_path {t}/scgi;\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 location / {{ return 200 \"hello\\n\"; }}\n\
               }}\n\
             }}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(&bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut child = KillOnDrop(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                if attempt < 4 && log.contains("Address already in use") {
                    break; // the free port was taken meanwhile: try another
                }
                panic!("nginx exited at start ({status}):\n{log}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Nginx { port, dir, child });
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {port} within 5 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    unreachable!()
}

impl Nginx {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
    /// nginx must still be running (a crash would explain a failure).
    pub fn assert_alive(&mut self) {
        assert!(self.child.0.try_wait().unwrap().is_none(), "nginx died");
    }
}

/// Whether this process may set up an io_uring instance (rwg falls back to
/// epoll when it may not, e.g. under a container's seccomp profile).
pub fn io_uring_available() -> bool {
    io_uring::IoUring::new(4).is_ok()
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: plain libc calls on a zeroed, correctly sized cpu_set_t.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return vec![0];
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// `--cpus` value naming the first `n` allowed CPUs (fewer if not available).
pub fn cpus_arg(n: usize) -> String {
    allowed_cpus()
        .iter()
        .take(n)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The two-phase fixed-rate run of the suite: 200/s for 1 s, then 400/s for
/// 1 s, on up to 2 cores, 32 workers.
pub const TWO_PHASE_RATES: [u64; 2] = [200, 400];
pub const TWO_PHASE_DURATIONS_NS: [u64; 2] = [1_000_000_000, 1_000_000_000];

pub fn two_phase_run(url: &str, env: &[(&str, Option<&str>)]) -> Outcome {
    let cpus = cpus_arg(2);
    run_with_env(
        url,
        &["-r", "200,400", "-d", "1s,1s", "-w", "32", "--cpus", &cpus],
        env,
        Duration::from_secs(30),
    )
}

/// Everything a clean two-phase run must show: exit 0, exactly 600 rows
/// (200 + 400, right phase), an exact fixed schedule, all 200 with constant
/// response size, and a JSON summary that agrees with the CSV.
pub fn assert_two_phase_ok(out: &Outcome, url: &str) -> Vec<Row> {
    out.assert_code(0);
    out.assert_no_panic();
    let rows = out.rows();
    assert_eq!(rows.len(), 600, "one row per scheduled arrival");
    assert_fixed_schedule(&rows, &TWO_PHASE_RATES, &TWO_PHASE_DURATIONS_NS);
    assert_no_idle_skips(&rows);
    let answered = rows.clone();
    assert_all_200(&answered, url);
    let size = answered[0].bytes;
    assert!(
        answered.iter().all(|r| r.bytes == size),
        "response sizes differ"
    );

    let j = out.json();
    assert!(
        j["run"]["stopped"].is_null(),
        "stopped: {}",
        j["run"]["stopped"]
    );
    assert_eq!(u(&j["run"], "csv_rows"), 600);
    let o = &j["overall"];
    assert_eq!(u(o, "scheduled"), 600);
    assert_eq!(u(o, "ok"), 600);
    assert_eq!(u(o, "skipped"), 0);
    assert_eq!(u(o, "errors"), 0);
    assert_eq!(u(o, "dropped"), 0);
    assert_eq!(u(o, "answered"), 600);
    assert_eq!(u(&o["latency_answered"], "samples"), 600);
    let phases = j["phases"].as_array().expect("phases[]");
    assert_eq!(phases.len(), 2);
    for (p, ph) in phases.iter().enumerate() {
        let in_csv = rows.iter().filter(|r| r.phase == p as u32).count() as u64;
        let skipped_here = rows
            .iter()
            .filter(|r| r.phase == p as u32 && r.error == "skipped")
            .count() as u64;
        assert_eq!(u(ph, "phase"), p as u64, "numbered from 0 as in the CSV");
        assert_eq!(u(ph, "planned_rate_per_sec"), TWO_PHASE_RATES[p]);
        assert_eq!(u(ph, "scheduled"), in_csv, "phase {p}");
        assert_eq!(u(ph, "ok"), in_csv - skipped_here, "phase {p}");
        assert_eq!(u(ph, "errors"), 0, "phase {p}");
    }
    // The JSON's latency extremes are those of the CSV (HdrHistogram keeps
    // 3 significant digits: compare to 0.2 %).
    let min_csv = answered
        .iter()
        .map(|r| r.latency_us.unwrap())
        .fold(f64::MAX, f64::min);
    let max_csv = answered
        .iter()
        .map(|r| r.latency_us.unwrap())
        .fold(0.0, f64::max);
    let lat = &o["latency_answered"];
    assert!(
        (f(lat, "min_us") - min_csv).abs() <= min_csv * 0.002 + 0.01,
        "min {lat} vs {min_csv}"
    );
    assert!(
        (f(lat, "max_us") - max_csv).abs() <= max_csv * 0.002 + 0.01,
        "max {lat} vs {max_csv}"
    );
    rows
}
