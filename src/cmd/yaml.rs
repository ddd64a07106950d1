//! A JSON value written as block-style YAML, for `rwg k8s render`'s
//! manifests: maps as `key: value`, lists as `- item`, every string
//! double-quoted in JSON's escapes (valid YAML 1.2, so nothing a string
//! holds can change its meaning), numbers, booleans and null as they are.
//!
//! COLD: a few manifests per call.

use serde_json::Value;

/// `v` (an object) as one YAML document, without the `---` line.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    block(&mut out, v, 0);
    out
}

/// A scalar, or an empty map or list, on one line.
fn inline(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(_) | Value::Array(_) => None,
        // serde_json writes strings with JSON escapes, a YAML double-quoted scalar.
        scalar => Some(scalar.to_string()),
    }
}

/// Words a YAML 1.1 reader (PyYAML, older Go parsers) takes for booleans
/// or null, even as keys.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// A map key: plain when it is made of letters, digits and `._/-` only
/// and reads as no other value.
fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !k.starts_with(['-', '.'])
        && !k.bytes().all(|b| b.is_ascii_digit())
        && !RESERVED.contains(&k.to_ascii_lowercase().as_str());
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

fn block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                out.push_str(&format!("{pad}{}:", key(k)));
                after_key(out, val, indent);
            }
        }
        Value::Array(items) => {
            for item in items {
                match inline(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        // The item's block two columns in, its first line's
                        // indent replaced by the dash.
                        let mut inner = String::new();
                        block(&mut inner, item, indent + 2);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&inner[indent + 2..]);
                    }
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

fn after_key(out: &mut String, v: &Value, indent: usize) {
    match inline(v) {
        Some(text) => out.push_str(&format!(" {text}\n")),
        None => {
            out.push('\n');
            block(out, v, indent + 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml() {
        let v = json!({
            "kind": "Job",
            "metadata": {"name": "rwg", "labels": {"app.kubernetes.io/name": "rwg"}},
            "spec": {"args": ["run", "-r", "1000", "$(X)/3"], "n": 3, "on": true,
                     "containers": [{"name": "a", "ports": []}, {"name": "b: c\n"}],
                     "empty": {}, "odd key": null}
        });
        assert_eq!(
            to_yaml(&v),
            r#"kind: "Job"
metadata:
  labels:
    app.kubernetes.io/name: "rwg"
  name: "rwg"
spec:
  args:
    - "run"
    - "-r"
    - "1000"
    - "$(X)/3"
  containers:
    - name: "a"
      ports: []
    - name: "b: c\n"
  empty: {}
  "n": 3
  "odd key": null
  "on": true
"#
        );
    }
}
