//! Writing manifest.json deterministically: keys in `cub`'s order (pkg's own
//! keys first, `digests` last), entries sorted, two-space indentation and a
//! trailing newline, so that the same content always gives the same bytes.

use serde_json::Value;

use super::types::{Entry, Manifest, ref_key};
use crate::model::ResourceKind;

/// An ordered JSON tree: objects keep the order their keys were added in.
enum Node {
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Scalar(Value),
}

impl Node {
    fn str(s: &str) -> Node {
        Node::Scalar(Value::String(s.to_string()))
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Node::Scalar(v) => write_value(out, v, indent),
            Node::Array(items) if items.is_empty() => out.push_str("[]"),
            Node::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    pad(out, indent + 1);
                    item.write(out, indent + 1);
                }
                out.push('\n');
                pad(out, indent);
                out.push(']');
            }
            Node::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    pad(out, indent + 1);
                    write_value(out, &Value::String(key.clone()), 0);
                    out.push_str(": ");
                    value.write(out, indent + 1);
                }
                out.push('\n');
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

/// Writes any JSON value pretty-printed at `indent` (keys sorted, as serde_json orders maps).
fn write_value(out: &mut String, value: &Value, indent: usize) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            pad(out, indent);
        }
        out.push_str(line);
    }
}

fn entry_node(entry: &Entry) -> Node {
    let kind = entry.key.kind;
    let mut fields = vec![("slug".to_string(), Node::str(&entry.key.slug))];
    if kind.is_space_scoped() {
        fields.push(("space_slug".into(), Node::str(&entry.key.space)));
    }
    let details_last = matches!(
        kind,
        ResourceKind::Link | ResourceKind::View | ResourceKind::Filter | ResourceKind::Invocation
    );
    if !details_last {
        fields.push(("details_loc".into(), Node::str(&entry.details_loc)));
    }
    if let Some(loc) = &entry.unit_data_loc {
        fields.push(("unit_data_loc".into(), Node::str(loc)));
    }
    for &field in crate::model::RefField::fields_of(kind) {
        let (key, omit_empty) = ref_key(field);
        let value = entry
            .refs
            .iter()
            .find(|r| r.field == field)
            .map(crate::model::Reference::manifest_value)
            .unwrap_or_default();
        if value.is_empty() && omit_empty {
            continue;
        }
        fields.push((key.to_string(), Node::str(&value)));
    }
    if details_last {
        fields.push(("details_loc".into(), Node::str(&entry.details_loc)));
    }
    Node::Object(fields)
}

/// The bytes of `manifest` as pkg writes manifest.json.
pub fn manifest_bytes(manifest: &Manifest) -> Vec<u8> {
    let mut top: Vec<(String, Node)> = Vec::new();
    let mut opt = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            top.push((key.to_string(), Node::str(v)));
        }
    };
    opt("name", &manifest.name);
    opt("version", &manifest.version);
    opt("description", &manifest.description);
    opt("created_at", &manifest.created_at);
    if let Some(format) = manifest.format {
        top.insert(0, ("format".into(), Node::Scalar(Value::from(format))));
    }
    if !manifest.dependencies.is_empty() {
        let deps = manifest
            .dependencies
            .iter()
            .map(|(k, v)| (k.clone(), Node::str(v)))
            .collect();
        top.push(("dependencies".into(), Node::Object(deps)));
    }
    if let Some(level) = manifest.min_level {
        top.push(("min_level".into(), Node::Scalar(Value::from(level))));
    }
    let always = [
        ResourceKind::Space,
        ResourceKind::Unit,
        ResourceKind::Target,
        ResourceKind::Worker,
        ResourceKind::Link,
        ResourceKind::View,
        ResourceKind::Filter,
        ResourceKind::Tag,
        ResourceKind::Invocation,
    ];
    for kind in always
        .into_iter()
        .chain([ResourceKind::Trigger, ResourceKind::Attribute])
    {
        let mut entries: Vec<&Entry> = manifest.entries_of(kind).collect();
        if entries.is_empty() && !always.contains(&kind) {
            continue;
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let nodes = entries.into_iter().map(entry_node).collect();
        top.push((kind.plural().to_string(), Node::Array(nodes)));
    }
    if !manifest.environments.is_empty() {
        let envs = manifest
            .environments
            .iter()
            .cloned()
            .map(Node::Scalar)
            .collect();
        top.push(("environments".into(), Node::Array(envs)));
    }
    if let Some(digests) = &manifest.digests {
        let nodes = digests
            .iter()
            .map(|(k, v)| (k.clone(), Node::str(v)))
            .collect();
        top.push(("digests".into(), Node::Object(nodes)));
    }
    let mut out = String::new();
    Node::Object(top).write(&mut out, 0);
    out.push('\n');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_manifest;
    use crate::model::{RefField, Reference, ResourceKey};

    #[test]
    fn writes_cub_key_order_and_round_trips() {
        let manifest = Manifest {
            format: Some(1),
            name: Some("demo".into()),
            version: Some("1.0.0".into()),
            digests: Some(
                [(
                    "/spaces/a.json".to_string(),
                    format!("sha256:{}", "0".repeat(64)),
                )]
                .into(),
            ),
            entries: vec![
                Entry {
                    key: ResourceKey::space("a"),
                    details_loc: "/spaces/a.json".into(),
                    unit_data_loc: None,
                    refs: vec![],
                },
                Entry {
                    key: ResourceKey::new(ResourceKind::Link, "a", "l"),
                    details_loc: "/links/a/l.json".into(),
                    unit_data_loc: None,
                    refs: vec![
                        Reference::new(RefField::FromUnit, "a", "u"),
                        Reference::new(RefField::ToUnit, "b", "v"),
                    ],
                },
            ],
            ..Manifest::default()
        };
        let text = String::from_utf8(manifest_bytes(&manifest)).unwrap();
        assert!(
            text.starts_with("{\n  \"format\": 1,\n  \"name\": \"demo\",\n"),
            "{text}"
        );
        assert!(text.contains(
            "\"links\": [\n    {\n      \"slug\": \"l\",\n      \"space_slug\": \"a\",\n      \"from_unit\": \"a/u\",\n      \"to_unit\": \"b/v\",\n      \"details_loc\": \"/links/a/l.json\"\n    }\n  ],"
        ), "{text}");
        assert!(text.contains("\"invocations\": [],"));
        assert!(!text.contains("triggers"));
        assert!(text.ends_with("}\n"));
        let (parsed, problems) = parse_manifest(text.as_bytes());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(parsed.unwrap(), manifest);
    }
}
