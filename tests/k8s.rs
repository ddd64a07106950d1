//! `rwg k8s render`: the manifests pass the Kubernetes schemas
//! (`kubernetes-validate --strict`, offline), the pods' arguments are
//! `rwg run`'s and do what they say (each pod's command, run here against
//! `rwg serve` with the ConfigMap's files and the results volume as
//! folders, gives shards that `rwg report` merges into the whole plan), the
//! example in deploy/k8s is what the render prints, and bad options are
//! named.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use rwg::serve::{start, ServeConfig};

/// The Kubernetes version whose schemas the manifests are checked against
/// (`backoffLimitPerIndex` is GA from 1.33).
const KUBERNETES: &str = "1.33.0";

/// `rwg k8s render ARGS`: (exit code, stdout, stderr).
fn render(args: &[&str]) -> (i32, String, String) {
    let out = rwg().args(["k8s", "render"]).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The validator, or `None` (skip) where it is not installed.
fn validator() -> Option<String> {
    let found = Command::new("kubernetes-validate")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        Some("kubernetes-validate".into())
    } else {
        missing_tool("kubernetes-validate", "pip install kubernetes-validate");
        None
    }
}

/// Whether `yaml` passes the schemas strictly: (passed, the tool's output).
fn validate(tool: &str, dir: &Path, yaml: &str) -> (bool, String) {
    let file = dir.join("manifests.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(tool)
        .args(["--strict", "-k", KUBERNETES])
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The strings of the block list under the first `key:` line (as the
/// render writes them: one JSON string per `- ` line).
fn list_after(yaml: &str, key: &str) -> Vec<String> {
    // The key may be a list item's first (`- args:`).
    let bare = |l: &str| l.trim().trim_start_matches("- ").to_string();
    let mut lines = yaml.lines().skip_while(|l| bare(l) != format!("{key}:"));
    let head = lines.next().expect("the key is there");
    let indent = head.len() - bare(head).len();
    lines
        .take_while(|l| l.len() - l.trim_start().len() > indent)
        .map(|l| serde_json::from_str(l.trim().trim_start_matches("- ")).unwrap())
        .collect()
}

/// `key: "value"` entries of the block map under `key:` (the ConfigMap's data).
fn map_after(yaml: &str, key: &str) -> Vec<(String, String)> {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != format!("{key}:"));
    let head = lines.next().expect("the key is there");
    let indent = head.len() - head.trim_start().len();
    lines
        .take_while(|l| l.len() - l.trim_start().len() > indent)
        .map(|l| {
            let (k, v) = l.trim().split_once(": ").unwrap();
            (k.to_string(), serde_json::from_str(v).unwrap())
        })
        .collect()
}

#[test]
fn rendered_manifests_pass_the_schemas_and_run_as_shards() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("arrivals.trace");
    let offsets: String = (0..300).map(|i| format!("{}\n", i * 5)).collect();
    std::fs::write(&trace, offsets).unwrap();
    let trace_arg = trace.display().to_string();
    let (code, yaml, err) = render(&[
        "--shards",
        "3",
        "--image",
        "registry.example/rwg:0.1",
        "--start-in",
        "4s",
        "--host-network",
        "--csv",
        "--",
        "--trace",
        &trace_arg,
        "-w",
        "32",
        "--max-lag",
        "1s",
        &url,
    ]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "completionMode: \"Indexed\"",
        "completions: 3",
        "parallelism: 3",
        "backoffLimitPerIndex: 0",
        "topologyKey: \"kubernetes.io/hostname\"",
        "hostNetwork: true",
        "localhostProfile: \"profiles/rwg-io-uring.json\"",
        "kind: \"ConfigMap\"",
        "kind: \"PersistentVolumeClaim\"",
    ] {
        assert!(yaml.contains(want), "{want} missing:\n{yaml}");
    }
    // Guaranteed QoS: requests = limits, whole CPUs.
    assert!(yaml.contains("limits:\n              cpu: \"4\"\n              memory: \"4Gi\"\n            requests:\n              cpu: \"4\"\n              memory: \"4Gi\""), "{yaml}");
    // Each pod's command, here: /config and /results as folders.
    let config = dir.path().join("config");
    let results = dir.path().join("results");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&results).unwrap();
    for (key, text) in map_after(&yaml, "data") {
        std::fs::write(config.join(key), text).unwrap();
    }
    let args = list_after(&yaml, "args");
    assert_eq!(args[0], "run");
    assert!(
        args.contains(&"$(JOB_COMPLETION_INDEX)/3".to_string()),
        "{args:?}"
    );
    let pods: Vec<_> = (0..3)
        .map(|k| {
            let words: Vec<String> = args
                .iter()
                .map(|a| {
                    a.replace("$(JOB_COMPLETION_INDEX)", &k.to_string())
                        .replace("/config/", &format!("{}/", config.display()))
                        .replace("/results/", &format!("{}/", results.display()))
                })
                .collect();
            rwg()
                .args(&words)
                .args(["--cpus", &cpus_arg(1)])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Checked while the pods wait for their start.
    if let Some(tool) = validator() {
        let (ok, out) = validate(&tool, dir.path(), &yaml);
        assert!(ok, "{out}");
        // The check can fail: a wrong type is caught.
        let broken = yaml.replace("completions: 3", "completions: \"three\"");
        let (ok, out) = validate(&tool, dir.path(), &broken);
        assert!(!ok, "a string for completions passed: {out}");
    }
    for (k, pod) in pods.into_iter().enumerate() {
        let out = pod.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "pod {k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let logs: Vec<_> = (0..3)
        .map(|k| results.join(format!("shard-{k}.hlog")))
        .collect();
    let merged = rwg().arg("report").args(&logs).output().unwrap();
    let text = String::from_utf8_lossy(&merged.stdout).to_string();
    assert_eq!(merged.status.code(), Some(0), "{text}");
    assert!(text.contains("responses  300"), "{text}");
    let rows: usize = (0..3)
        .map(|k| read_csv(&results.join(format!("shard-{k}.csv"))).len())
        .sum();
    assert_eq!(rows, 300);
}

/// deploy/k8s/example.yaml is what the command on its first line prints.
#[test]
fn the_example_is_the_render() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s/example.yaml");
    let text = std::fs::read_to_string(&example).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let command = first
        .strip_prefix("# rendered by: rwg k8s render ")
        .unwrap();
    let args: Vec<&str> = command.split_whitespace().collect();
    let (code, yaml, err) = render(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rest, yaml, "regenerate: {first}");
}

/// Bad options name the value; the render's own flags are refused.
#[test]
fn bad_options_are_named() {
    let url = "http://127.0.0.1:9/";
    for (args, says) in [
        (
            vec!["--shards", "0", "--image", "i", "--", url],
            "--shards 0",
        ),
        (
            vec![
                "--shards", "2", "--image", "i", "--name", "Big_Name", "--", url,
            ],
            "'Big_Name'",
        ),
        (
            vec!["--shards", "2", "--image", "i", "--", "--shard", "0/2", url],
            "'--shard' is set by the render",
        ),
        (
            vec!["--shards", "2", "--image", "i", "--", "-o", "x.csv", url],
            "'-o' is set by the render",
        ),
        (
            vec!["--shards", "2", "--image", "i", "--", "-r", "fast", url],
            "fast",
        ),
        (
            vec!["--shards", "2", "--image", "i", "--", "-f", "/no/such.toml"],
            "/no/such.toml",
        ),
        (
            vec![
                "--shards",
                "2",
                "--image",
                "i",
                "--start-at",
                "soon",
                "--",
                url,
            ],
            "soon",
        ),
    ] {
        let (code, _, err) = render(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
