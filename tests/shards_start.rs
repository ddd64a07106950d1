//! Shards started together (`--start-at`), each in a network namespace of
//! its own behind a veth pair (where this machine lets the test make them;
//! else all on 127.0.0.1), against one `rwg serve`: their CSVs' planned
//! instants are exactly the one-process plan's from the common instant,
//! the report merged from their interval logs equals the one merged from
//! their CSVs, a missing shard is named, and a shard started late records
//! what it missed as `late_start`.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use rwg::serve::{start, ServeConfig};

const SHARDS: u32 = 3;
const RATES: &str = "300,600";
const DURATIONS: &str = "1s,500ms";
/// The target's address when the shards run in namespaces.
const TARGET_IP: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 1);

/// Network namespaces, links and the target's address made for the
/// test, removed on drop.
struct Namespaces {
    names: Vec<String>,
    links: Vec<String>,
    target_on_lo: bool,
}

impl Namespaces {
    /// Namespace K is 10.201.K+1.2, its veth peer in this namespace
    /// 10.201.K+1.1; the target's address sits on this namespace's
    /// loopback, and each namespace routes to it over its veth. `None` when
    /// the machine refuses (not root, no `ip`, or the address is taken).
    fn make(count: u32) -> Option<Namespaces> {
        let tag = std::process::id() % 100_000;
        let mut ns = Namespaces {
            names: Vec::new(),
            links: Vec::new(),
            target_on_lo: false,
        };
        ip(&["addr", "add", &format!("{TARGET_IP}/32"), "dev", "lo"])?;
        ns.target_on_lo = true;
        for k in 1..=count {
            let (name, host, peer) = (
                format!("rwgs{tag}x{k}"),
                format!("rwgv{tag}x{k}"),
                format!("rwgp{tag}x{k}"),
            );
            ip(&["netns", "add", &name])?;
            ns.names.push(name.clone());
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer])?;
            ns.links.push(host.clone());
            ip(&["link", "set", &peer, "netns", &name])?;
            ip(&["addr", "add", &format!("10.201.{k}.1/24"), "dev", &host])?;
            ip(&["link", "set", &host, "up"])?;
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &name, "ip"];
                all.extend_from_slice(args);
                ip(&all)
            };
            inside(&["addr", "add", &format!("10.201.{k}.2/24"), "dev", &peer])?;
            inside(&["link", "set", &peer, "up"])?;
            inside(&["link", "set", "lo", "up"])?;
            inside(&["route", "add", "default", "via", &format!("10.201.{k}.1")])?;
        }
        Some(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for l in &self.links {
            let _ = ip(&["link", "del", l]);
        }
        for n in &self.names {
            let _ = ip(&["netns", "del", n]);
        }
        if self.target_on_lo {
            let _ = ip(&["addr", "del", &format!("{TARGET_IP}/32"), "dev", "lo"]);
        }
    }
}

/// Runs `ip ARGS`; `None` when it fails.
fn ip(args: &[&str]) -> Option<()> {
    let ok = Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then_some(())
}

/// `rwg run` for shard `k`, in namespace `ns` when given; its files go to
/// `dir/sK.*`.
fn shard_command(ns: Option<&str>, url: &str, dir: &Path, k: u32, start_at: &str) -> Command {
    let mut cmd = match ns {
        Some(name) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", name, rwg_bin()]);
            c
        }
        None => Command::new(rwg_bin()),
    };
    let file = |ext: &str| dir.join(format!("s{k}.{ext}")).display().to_string();
    cmd.args(["run", url, "-r", RATES, "-d", DURATIONS, "-w", "64", "-q"])
        .args(["--shard", &format!("{k}/{SHARDS}"), "--start-at", start_at])
        .args([
            "-o",
            &file("csv"),
            "--hlog",
            &file("hlog"),
            "--json",
            &file("json"),
        ])
        .args(["--max-lag", "1s", "--cpus", &cpus_arg(1)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `rwg report FILES… --json J`: (exit code, text, JSON).
fn report(files: &[PathBuf], json: &Path) -> (i32, String, serde_json::Value) {
    let out = rwg()
        .arg("report")
        .args(files)
        // Three shards share this machine's cores: their lag is not judged here.
        .args(["--max-lag", "1s"])
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text, read_json(json))
}

#[test]
fn shards_started_together_are_one_plan() {
    let _g = serial();
    let namespaces = Namespaces::make(SHARDS);
    let ip = match &namespaces {
        Some(_) => IpAddr::V4(TARGET_IP),
        None => {
            eprintln!("note: cannot make network namespaces here: the shards share 127.0.0.1");
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    };
    let srv = start(ServeConfig {
        addr: SocketAddr::new(ip, 0),
        ..ServeConfig::default()
    })
    .unwrap();
    let url = url_of(srv.addr);
    // The one-process plan's instants, as offsets from its start.
    let whole = run(&url, &["-r", RATES, "-d", DURATIONS, "-w", "64"]);
    whole.assert_code(0);
    let rows = whole.rows();
    let first = rows.iter().map(|r| r.timestamp_ns).min().unwrap();
    let mut expected: Vec<u64> = rows.iter().map(|r| r.timestamp_ns - first).collect();
    expected.sort_unstable();
    assert_eq!(expected.len(), 600);

    // Every shard warms up, then all start on one instant 3 s from now.
    let start_at_ns = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        + 3_000_000_000)
        / 1_000_000
        * 1_000_000;
    let start_at = start_at_ns.to_string();
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..SHARDS)
        .map(|k| {
            let ns = namespaces.as_ref().map(|n| n.names[k as usize].as_str());
            shard_command(ns, &url, dir.path(), k, &start_at)
                .spawn()
                .unwrap()
        })
        .collect();
    let mut union = Vec::new();
    for (k, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "shard {k}: {text}");
        assert!(
            text.contains("(--start-at)") && text.contains(": on time"),
            "{text}"
        );
        assert!(text.contains("clock "), "{text}");
        let rows = read_csv(&dir.path().join(format!("s{k}.csv")));
        assert_all_200(&rows, &url);
        union.extend(rows.iter().map(|r| r.timestamp_ns - start_at_ns));
        let j = read_json(&dir.path().join(format!("s{k}.json")));
        assert_eq!(j["run"]["plan"]["shard"], format!("{k}/{SHARDS}"));
        assert_eq!(j["run"]["plan"]["started_late_ms"], 0.0);
        assert_eq!(j["run"]["plan"]["stop"], "complete");
    }
    // Planned instants on the common clock: exactly start_at + the plan's.
    union.sort_unstable();
    assert_eq!(union, expected);
    let fingerprints: Vec<String> = (0..SHARDS)
        .map(|k| {
            let j = read_json(&dir.path().join(format!("s{k}.json")));
            j["run"]["plan"]["fingerprint"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        fingerprints.iter().all(|f| *f == fingerprints[0]),
        "{fingerprints:?}"
    );

    // The hlogs' merge and the CSVs' merge say the same.
    let files = |ext: &str, ks: &[u32]| -> Vec<PathBuf> {
        ks.iter()
            .map(|k| dir.path().join(format!("s{k}.{ext}")))
            .collect()
    };
    let (code, text, from_hlogs) = report(&files("hlog", &[0, 1, 2]), &dir.path().join("h.json"));
    assert_eq!(code, 0, "{text}");
    let (code, text, from_csvs) = report(&files("csv", &[0, 1, 2]), &dir.path().join("c.json"));
    assert_eq!(code, 0, "{text}");
    for j in [&from_hlogs, &from_csvs] {
        assert_eq!(j["overall"]["scheduled"], 600, "{j}");
        assert_eq!(j["overall"]["answered"], 600, "{j}");
        assert_eq!(j["input"]["shards"]["incomplete"], false);
    }
    for q in ["p50", "p90", "p99"] {
        let h = pctl_us(&from_hlogs["overall"]["latency_all"], q).unwrap();
        let c = pctl_us(&from_csvs["overall"]["latency_all"], q).unwrap();
        // Both are HdrHistograms of 3 significant digits.
        assert!(
            (h - c).abs() <= 0.002 * c.max(h) + 0.002,
            "{q}: hlogs {h} µs, CSVs {c} µs"
        );
    }

    // A missing shard is named, and the exit code says the plan is not whole.
    for ext in ["hlog", "csv"] {
        let (code, text, j) = report(&files(ext, &[0, 2]), &dir.path().join("m.json"));
        assert_eq!(code, 4, "{text}");
        assert!(
            text.contains("shard(s) 1/3 missing: the figures cover 2 of the plan's 3 shards"),
            "{text}"
        );
        assert_eq!(j["input"]["shards"]["incomplete"], true);
    }
    drop(namespaces);
}

/// A shard whose --start-at has passed when it is warm sends nothing
/// planned before it was ready: those arrivals are rows with
/// `late_start`, the rest go out on their planned instants, and the
/// verdict blames the generator (exit 4).
#[test]
fn a_late_shard_records_what_it_missed() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let start_at = (now_ns - 1_000_000_000).to_string();
    let out = run(
        &url,
        &[
            "-r",
            "200",
            "-d",
            "2s",
            "--shard",
            "1/2",
            "--start-at",
            &start_at,
        ],
    );
    out.assert_code(4);
    let rows = out.rows();
    assert_eq!(rows.len(), 200);
    let late: Vec<&Row> = rows.iter().filter(|r| r.error == "late_start").collect();
    let sent: Vec<&Row> = rows.iter().filter(|r| r.status == Some(200)).collect();
    assert_eq!(
        late.len() + sent.len(),
        200,
        "every row is one or the other"
    );
    // About the first second's worth (plus the warm-up) was missed.
    assert!((95..=150).contains(&late.len()), "{} late", late.len());
    let last_late = late.iter().map(|r| r.timestamp_ns).max().unwrap();
    assert!(sent.iter().all(|r| r.timestamp_ns > last_late));
    assert!(late
        .iter()
        .all(|r| r.latency_us.is_none() && r.status.is_none()));
    let text = out.all_output();
    assert!(
        text.contains("ms LATE:") && text.contains("recorded as late_start"),
        "{text}"
    );
    let j = out.json();
    assert_eq!(j["run"]["plan"]["late_start"], late.len());
    assert_eq!(j["overall"]["skipped_late_start"], late.len());
    assert_eq!(j["verdict"]["generator_behind"], true);
    // rwg report of the CSV says the same.
    let rep = rwg().args(["report"]).arg(out.csv_path()).output().unwrap();
    let rep_text = String::from_utf8_lossy(&rep.stdout).to_string();
    assert_eq!(rep.status.code(), Some(4), "{rep_text}");
    assert!(rep_text.contains("recorded as late_start"), "{rep_text}");
    assert!(rep_text.contains("shard(s) 0/2 missing"), "{rep_text}");
}

/// A shard interrupted mid-run ends its interval log with how it ended;
/// the merged report names that shard and why, and exits 4.
#[test]
fn an_interrupted_shard_is_named_in_the_merge() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let dir = tempfile::tempdir().unwrap();
    let log = |k: u32| dir.path().join(format!("s{k}.hlog"));
    let shard = |k: u32| {
        let mut cmd = rwg();
        cmd.args([
            "run",
            &url,
            "-r",
            "200",
            "-d",
            "3s",
            "-q",
            "--max-lag",
            "1s",
        ])
        .args(["--shard", &format!("{k}/2"), "--cpus", &cpus_arg(1)])
        .arg("--hlog")
        .arg(log(k))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        cmd
    };
    assert_eq!(shard(0).status().unwrap().code(), Some(0));
    let mut child = KillOnDrop(shard(1).spawn().unwrap());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(child.0.wait().unwrap().code(), Some(130));
    let text = std::fs::read_to_string(log(1)).unwrap();
    assert!(text.ends_with("#rwg end stop=signal\n"), "{text}");
    let (code, text, j) = report(&[log(0), log(1)], &dir.path().join("r.json"));
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("shard 1/2 (") && text.contains("s1.hlog) ended early: interrupted"),
        "{text}"
    );
    assert_eq!(j["input"]["shards"]["incomplete"], true);
}
