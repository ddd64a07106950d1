//! `rwg k8s render`: the Kubernetes manifests that run one plan as N shards
//! (an Indexed Job, one pod per node), from the same options as `rwg run`.
//! Each pod runs `rwg run … --shard $(JOB_COMPLETION_INDEX)/N --start-at T`
//! and writes its interval log, JSON (and optionally CSV) to a shared
//! volume, where `rwg report` merges them. Files the run reads (`-f`,
//! `--targets`, `--trace`, `--body-file`, `--data-file`) travel in a
//! ConfigMap. The run options are checked here with `rwg run`'s own parser
//! and configuration (so a typo fails now, not in N pods), and the pods'
//! arguments are parsed again as the pods will.
//!
//! COLD: one render per call.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::run_args::dur;
use super::yaml::to_yaml;
use crate::base::civil::fmt_rfc3339_ns;
use crate::base::clock::wall_now_ns;
use crate::plan::error::ConfigError;
use crate::plan::fingerprint::fingerprint;
use crate::plan::shard::{parse_start_at, MAX_SHARDS};

#[derive(Args, Debug)]
pub struct K8sArgs {
    #[command(subcommand)]
    pub action: K8sAction,
}

#[derive(Subcommand, Debug)]
pub enum K8sAction {
    /// Print the manifests (YAML) of a sharded run: an Indexed Job, its
    /// ConfigMap and results volume. `rwg k8s render --shards 4 --image
    /// IMG -- -r 400000 -d 60s http://target:8080/` then `kubectl apply -f -`.
    Render(RenderArgs),
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Pods (shards) to split the plan over, one per node.
    #[arg(long)]
    pub shards: u32,
    /// The container image holding rwg (see the repository's Dockerfile).
    #[arg(long)]
    pub image: String,
    /// Start the plan this long after rendering (the pods must be running
    /// and warm by then; a late pod records what it missed as late_start).
    #[arg(long, default_value = "60s", conflicts_with = "start_at")]
    pub start_in: String,
    /// Start the plan at this instant instead (RFC 3339 or Unix ns).
    #[arg(long)]
    pub start_at: Option<String>,
    /// Name of the Job (and prefix of the other objects).
    #[arg(long, default_value = "rwg")]
    pub name: String,
    /// Namespace of the objects [default: kubectl's].
    #[arg(long)]
    pub namespace: Option<String>,
    /// Whole CPUs per pod: requests = limits, so the pod is in the
    /// Guaranteed QoS class and a kubelet with the static CPU manager pins
    /// it to exclusive cores (rwg runs one core thread per CPU it gets).
    #[arg(long, default_value_t = 4)]
    pub cpus_per_pod: u32,
    /// Memory per pod (requests = limits).
    #[arg(long, default_value = "4Gi")]
    pub memory: String,
    /// Use the node's network namespace (no pod network overlay between rwg
    /// and the NIC).
    #[arg(long)]
    pub host_network: bool,
    /// Also write each shard's per-request CSV to the results volume.
    #[arg(long)]
    pub csv: bool,
    /// An existing PersistentVolumeClaim (ReadWriteMany) for the results
    /// [default: render one, NAME-results].
    #[arg(long)]
    pub results_claim: Option<String>,
    /// Size of the rendered results claim.
    #[arg(long, default_value = "20Gi")]
    pub results_size: String,
    /// Seccomp profile: `localhost` (deploy/k8s/seccomp/rwg-io-uring.json,
    /// installed on each node: io_uring allowed, the syscalls container
    /// runtimes' default profiles are documented to block denied),
    /// `runtime-default` (io_uring blocked: rwg runs on epoll) or
    /// `unconfined`.
    #[arg(long, default_value = "localhost", value_parser = ["localhost", "runtime-default", "unconfined"])]
    pub seccomp: String,
    /// `rwg run`'s options and URL, after `--` (not --shard, --start-at,
    /// -o, --hlog or --json: the render sets those).
    #[arg(last = true, required = true, allow_hyphen_values = true)]
    pub run: Vec<String>,
}

/// The path of the seccomp profile on each node, under the kubelet's
/// seccomp root (`/var/lib/kubelet/seccomp`).
pub const SECCOMP_PROFILE: &str = "profiles/rwg-io-uring.json";
/// Where the pods find the ConfigMap's files and write their results.
const CONFIG_DIR: &str = "/config";
const RESULTS_DIR: &str = "/results";
/// The Job controller's variable for the pod's index.
const INDEX: &str = "$(JOB_COMPLETION_INDEX)";

/// Flags whose file travels in the ConfigMap.
const FILE_FLAGS: &[&str] = &[
    "-f",
    "--file",
    "--targets",
    "--trace",
    "--body-file",
    "--data-file",
];
/// Flags naming a file the render cannot carry (the pod needs it at that path).
const LOCAL_FILE_FLAGS: &[&str] = &[
    "--proto",
    "-I",
    "--import-path",
    "--cacert",
    "--cert",
    "--key",
];
/// Flags the render sets itself.
const OWN_FLAGS: &[&str] = &[
    "--shard",
    "--start-at",
    "-o",
    "--output",
    "--hlog",
    "--json",
];

pub fn main(args: &K8sArgs) -> ExitCode {
    let K8sAction::Render(r) = &args.action;
    match render(r, wall_now_ns()) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// A file the pods read, and the ConfigMap key it travels under.
struct Carried {
    key: String,
    bytes: Vec<u8>,
}

/// The manifests, `now_ns` being the render's instant (for `--start-in`).
pub fn render(r: &RenderArgs, now_ns: u64) -> Result<String, ConfigError> {
    check_names(r)?;
    if r.shards == 0 || r.shards > MAX_SHARDS {
        return Err(ConfigError(format!(
            "invalid --shards {}: 1 to {MAX_SHARDS}",
            r.shards
        )));
    }
    if r.cpus_per_pod == 0 {
        return Err(ConfigError("invalid --cpus-per-pod 0: at least 1".into()));
    }
    let start_at_ns = match &r.start_at {
        Some(t) => parse_start_at(t)?,
        None => now_ns + dur("--start-in", &r.start_in)?,
    };
    // The plan as rwg run would take it here (files read from this
    // machine). A target named for the cluster's DNS may not resolve here:
    // the pods check it, and the Job goes without the plan's label.
    let plan = match super::parse_run(&r.run) {
        Ok(cfg) => Some(fingerprint(&cfg)),
        Err(e) if e.0.starts_with("cannot resolve host") => {
            eprintln!("warning: {e}: left for the pods to check");
            None
        }
        Err(e) => return Err(e),
    };
    let (run_args, carried) = pod_run_args(&r.run)?;
    let mut pod_args = vec!["run".to_string()];
    pod_args.extend(run_args);
    pod_args.extend(shard_args(r, start_at_ns));
    // The pods' arguments must parse as rwg run's (the index as 0).
    super::parse_run_syntax(
        &pod_args[1..]
            .iter()
            .map(|a| a.replace(INDEX, "0"))
            .collect::<Vec<_>>(),
    )?;
    let mut docs = Vec::new();
    if !carried.is_empty() {
        docs.push(config_map(r, &carried));
    }
    if r.results_claim.is_none() {
        docs.push(results_claim(r));
    }
    docs.push(job(r, plan.as_deref(), pod_args, !carried.is_empty()));
    let mut text = format!(
        "# rwg k8s render: plan {}, {} shard(s), start at {}\n# apply before then: \
         kubectl apply -f THIS_FILE; merge: rwg report {RESULTS_DIR}/shard-*.hlog\n",
        plan.as_deref().unwrap_or("(not resolved here)"),
        r.shards,
        fmt_rfc3339_ns(start_at_ns)
    );
    for d in &docs {
        text.push_str("---\n");
        text.push_str(&to_yaml(d));
    }
    Ok(text)
}

/// Names Kubernetes accepts (DNS-1123 labels, with room for suffixes).
fn check_names(r: &RenderArgs) -> Result<(), ConfigError> {
    let label = |flag: &str, v: &str, max: usize| {
        let ok = !v.is_empty()
            && v.len() <= max
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !v.starts_with('-')
            && !v.ends_with('-');
        if ok {
            Ok(())
        } else {
            Err(ConfigError(format!(
                "invalid {flag} '{v}': lower-case letters, digits and '-', at most {max} characters"
            )))
        }
    };
    label("--name", &r.name, 40)?;
    if let Some(ns) = &r.namespace {
        label("--namespace", ns, 63)?;
    }
    if let Some(c) = &r.results_claim {
        label("--results-claim", c, 63)?;
    }
    if r.image.is_empty() || r.image.contains(char::is_whitespace) {
        return Err(ConfigError(format!("invalid --image '{}'", r.image)));
    }
    Ok(())
}

/// The run options with carried files' paths rewritten into the
/// ConfigMap's mount; the render's own flags refused.
fn pod_run_args(run: &[String]) -> Result<(Vec<String>, Vec<Carried>), ConfigError> {
    let mut out = Vec::with_capacity(run.len());
    let mut carried: Vec<Carried> = Vec::new();
    let mut words = run.iter();
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (word.as_str(), None),
        };
        if OWN_FLAGS.contains(&flag) {
            return Err(ConfigError(format!(
                "'{flag}' is set by the render (each pod's shard, the common start, its result \
                 files): leave it out"
            )));
        }
        if LOCAL_FILE_FLAGS.contains(&flag) {
            eprintln!(
                "warning: {flag} names a file on this machine: each pod needs it at that path"
            );
        }
        if !FILE_FLAGS.contains(&flag) {
            out.push(word.clone());
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => words
                .next()
                .cloned()
                .ok_or_else(|| ConfigError(format!("{flag} needs a file")))?,
        };
        let bytes = std::fs::read(&value)
            .map_err(|e| ConfigError(format!("cannot read {flag} '{value}': {e}")))?;
        let key = config_key(&value, carried.len());
        out.push(flag.to_string());
        out.push(format!("{CONFIG_DIR}/{key}"));
        carried.push(Carried { key, bytes });
    }
    Ok((out, carried))
}

/// A ConfigMap key for `path`: its file name in `[-._a-zA-Z0-9]`, prefixed
/// by its position so two files of one name stay apart.
fn config_key(path: &str, i: usize) -> String {
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{i}-{clean}")
}

/// The flags that make each pod its shard of the plan.
fn shard_args(r: &RenderArgs, start_at_ns: u64) -> Vec<String> {
    let file = |ext: &str| format!("{RESULTS_DIR}/shard-{INDEX}.{ext}");
    let mut a = vec![
        "--shard".to_string(),
        format!("{INDEX}/{}", r.shards),
        "--start-at".to_string(),
        fmt_rfc3339_ns(start_at_ns),
        "--hlog".to_string(),
        file("hlog"),
        "--json".to_string(),
        file("json"),
        "--quiet".to_string(),
    ];
    if r.csv {
        a.extend(["-o".to_string(), file("csv")]);
    }
    a
}

fn metadata(r: &RenderArgs, name: &str) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(ns) = &r.namespace {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert(
        "labels".into(),
        json!({"app.kubernetes.io/name": "rwg", "rwg/run": r.name}),
    );
    Value::Object(m)
}

fn config_map(r: &RenderArgs, files: &[Carried]) -> Value {
    let (mut text, mut binary) = (Map::new(), Map::new());
    for f in files {
        match std::str::from_utf8(&f.bytes) {
            Ok(s) => text.insert(f.key.clone(), json!(s)),
            Err(_) => {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(&f.bytes);
                binary.insert(f.key.clone(), json!(b64))
            }
        };
    }
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(r, &format!("{}-files", r.name)),
    });
    if !text.is_empty() {
        cm["data"] = Value::Object(text);
    }
    if !binary.is_empty() {
        cm["binaryData"] = Value::Object(binary);
    }
    cm
}

fn results_claim(r: &RenderArgs) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(r, &format!("{}-results", r.name)),
        "spec": {
            // Every pod writes its own files into one volume.
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": r.results_size}}
        }
    })
}

fn job(r: &RenderArgs, plan: Option<&str>, args: Vec<String>, with_files: bool) -> Value {
    let claim = r
        .results_claim
        .clone()
        .unwrap_or_else(|| format!("{}-results", r.name));
    let mut mounts = vec![json!({"name": "results", "mountPath": RESULTS_DIR})];
    let mut volumes =
        vec![json!({"name": "results", "persistentVolumeClaim": {"claimName": claim}})];
    if with_files {
        mounts.push(json!({"name": "files", "mountPath": CONFIG_DIR, "readOnly": true}));
        volumes.push(json!({"name": "files", "configMap": {"name": format!("{}-files", r.name)}}));
    }
    let resources = json!({"cpu": r.cpus_per_pod.to_string(), "memory": r.memory});
    let seccomp = match r.seccomp.as_str() {
        "localhost" => json!({"type": "Localhost", "localhostProfile": SECCOMP_PROFILE}),
        "unconfined" => json!({"type": "Unconfined"}),
        _ => json!({"type": "RuntimeDefault"}),
    };
    let mut pod = json!({
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": seccomp
        },
        // One shard per node: shards on one node would share its cores and NIC.
        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"rwg/run": r.name}},
            "topologyKey": "kubernetes.io/hostname"
        }]}},
        "containers": [{
            "name": "rwg",
            "image": r.image,
            "args": args,
            // requests = limits, whole CPUs: Guaranteed QoS.
            "resources": {"requests": resources, "limits": resources},
            "volumeMounts": mounts,
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": {"drop": ["ALL"]}
            }
        }],
        "volumes": volumes
    });
    if r.host_network {
        pod["hostNetwork"] = json!(true);
        pod["dnsPolicy"] = json!("ClusterFirstWithHostNet");
    }
    let mut meta = metadata(r, &r.name);
    if let Some(plan) = plan {
        meta["labels"]["rwg/plan"] = json!(plan);
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "completionMode": "Indexed",
            "completions": r.shards,
            "parallelism": r.shards,
            // A failed shard is not retried (its start has passed) and does
            // not stop the others: the merged report names it.
            "backoffLimitPerIndex": 0,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "rwg", "rwg/run": r.name}},
                "spec": pod
            }
        }
    })
}
