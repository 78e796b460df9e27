//! Writing manifest.json deterministically: keys in `cub`'s order (pkg's own
//! keys first, `digests` last), entries sorted, two-space indentation and a
//! trailing newline, so that the same content always gives the same bytes.

use std::io::{self, Write};

use serde_json::Value;

use super::types::{Digests, Entry, Manifest, ref_key};
use crate::model::ResourceKind;
use crate::model::fingerprint::digest_text;

/// Streams pretty JSON in pkg's layout: two-space indentation, `[]` and `{}`
/// for empty containers.
struct Out<'w, W: Write> {
    w: &'w mut W,
    /// Per open container: whether it has had an item yet.
    open: Vec<bool>,
}

impl<W: Write> Out<'_, W> {
    fn pad(&mut self) -> io::Result<()> {
        for _ in 0..self.open.len() {
            self.w.write_all(b"  ")?;
        }
        Ok(())
    }

    /// Starts the next item of the current container.
    fn item(&mut self) -> io::Result<()> {
        let first = self.open.last().copied().unwrap_or(false);
        self.w.write_all(if first { b",\n" } else { b"\n" })?;
        if let Some(last) = self.open.last_mut() {
            *last = true;
        }
        self.pad()
    }

    fn key(&mut self, key: &str) -> io::Result<()> {
        self.item()?;
        self.scalar(&Value::String(key.to_string()))?;
        self.w.write_all(b": ")
    }

    fn open(&mut self, bracket: u8) -> io::Result<()> {
        self.w.write_all(&[bracket])?;
        self.open.push(false);
        Ok(())
    }

    fn close(&mut self, bracket: u8) -> io::Result<()> {
        let had_items = self.open.pop().unwrap_or(false);
        if had_items {
            self.w.write_all(b"\n")?;
            self.pad()?;
        }
        self.w.write_all(&[bracket])
    }

    fn scalar(&mut self, value: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut *self.w, value).map_err(io::Error::other)
    }

    fn str_field(&mut self, key: &str, value: &str) -> io::Result<()> {
        self.key(key)?;
        self.scalar(&Value::String(value.to_string()))
    }

    /// Any JSON value, pretty-printed at the current depth.
    fn value(&mut self, value: &Value) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                self.w.write_all(b"\n")?;
                self.pad()?;
            }
            self.w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn entry(&mut self, entry: &Entry) -> io::Result<()> {
        let kind = entry.key.kind;
        self.item()?;
        self.open(b'{')?;
        self.str_field("slug", &entry.key.slug)?;
        if kind.is_space_scoped() {
            self.str_field("space_slug", &entry.key.space)?;
        }
        let details_last = matches!(
            kind,
            ResourceKind::Link
                | ResourceKind::View
                | ResourceKind::Filter
                | ResourceKind::Invocation
        );
        if !details_last {
            self.str_field("details_loc", &entry.details_loc)?;
        }
        if let Some(loc) = &entry.unit_data_loc {
            self.str_field("unit_data_loc", loc)?;
        }
        for &field in crate::model::RefField::fields_of(kind) {
            let (key, omit_empty) = ref_key(field);
            let value = entry
                .refs
                .iter()
                .find(|r| r.field == field)
                .map(crate::model::Reference::manifest_value)
                .unwrap_or_default();
            if !(value.is_empty() && omit_empty) {
                self.str_field(key, &value)?;
            }
        }
        if details_last {
            self.str_field("details_loc", &entry.details_loc)?;
        }
        self.close(b'}')
    }
}

/// A stream of `(package path, digest)` pairs in path order.
pub type DigestIter<'a> = &'a mut dyn Iterator<Item = (String, String)>;

/// Streams `manifest` to `w` as pkg writes manifest.json. `digests`, when
/// given, are written as the `digests` key (they must come sorted by path);
/// `manifest.digests` is ignored here so that a caller can stream them.
pub fn write_manifest<W: Write>(
    w: &mut W,
    manifest: &Manifest,
    digests: Option<DigestIter<'_>>,
) -> io::Result<()> {
    let mut out = Out {
        w,
        open: Vec::new(),
    };
    out.open(b'{')?;
    if let Some(format) = manifest.format {
        out.key("format")?;
        out.scalar(&Value::from(format))?;
    }
    for (key, value) in [
        ("name", &manifest.name),
        ("version", &manifest.version),
        ("description", &manifest.description),
        ("created_at", &manifest.created_at),
    ] {
        if let Some(v) = value {
            out.str_field(key, v)?;
        }
    }
    if !manifest.dependencies.is_empty() {
        out.key("dependencies")?;
        out.open(b'{')?;
        for (name, req) in &manifest.dependencies {
            out.str_field(name, req)?;
        }
        out.close(b'}')?;
    }
    if let Some(level) = manifest.min_level {
        out.key("min_level")?;
        out.scalar(&Value::from(level))?;
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
        out.key(kind.plural())?;
        out.open(b'[')?;
        for entry in entries {
            out.entry(entry)?;
        }
        out.close(b']')?;
    }
    if !manifest.environments.is_empty() {
        out.key("environments")?;
        out.open(b'[')?;
        for env in &manifest.environments {
            out.item()?;
            out.value(env)?;
        }
        out.close(b']')?;
    }
    if !manifest.tables.is_empty() {
        out.key("tables")?;
        out.open(b'[')?;
        for table in &manifest.tables {
            out.item()?;
            out.value(table)?;
        }
        out.close(b']')?;
    }
    if let Some(digests) = digests {
        out.key("digests")?;
        out.open(b'{')?;
        for (path, digest) in digests {
            out.str_field(&path, &digest)?;
        }
        out.close(b'}')?;
    }
    out.close(b'}')?;
    out.w.write_all(b"\n")
}

/// The bytes of `manifest` (with its own `digests`) as pkg writes manifest.json.
pub fn manifest_bytes(manifest: &Manifest) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut digests = manifest
        .digests
        .iter()
        .flat_map(Digests::iter)
        .map(|(path, digest)| (path.to_string(), digest_text(digest)));
    let digests: Option<DigestIter<'_>> = match manifest.digests {
        Some(_) => Some(&mut digests),
        None => None,
    };
    // Writing to memory cannot fail.
    let _ = write_manifest(&mut bytes, manifest, digests);
    bytes
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
            digests: Some(Digests::new(vec![("/spaces/a.json".into(), [0; 32])])),
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
