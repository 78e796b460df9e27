//! The merge of YAML and JSON values by key path: maps per key, lists of
//! uniquely named maps per item, anything else as a whole value.

use std::collections::{HashMap, HashSet};

use serde_yaml::{Mapping, Value};

use super::yaml_text::parse_documents;
use super::{DataFormat, Merger};

/// A value for a conflict report.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_string(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => serde_json::to_string(v).unwrap_or_else(|_| "(unprintable)".into()),
    }
}

impl Merger<'_> {
    /// Merges YAML or JSON documents by key path; `None` when a side does
    /// not parse or the sides hold different numbers of documents.
    pub(super) fn structured(
        &mut self,
        base: Option<&str>,
        local: &str,
        upstream: &str,
        format: DataFormat,
    ) -> Option<String> {
        let l = parse_documents(local)?;
        let u = parse_documents(upstream)?;
        let b = match base {
            Some(b) => Some(parse_documents(b)?),
            None => None,
        };
        if l.len() != u.len() || b.as_ref().is_some_and(|b| b.len() != l.len()) {
            return None;
        }
        let many = l.len() > 1;
        let mut merged = Vec::with_capacity(l.len());
        for (i, (ld, ud)) in l.iter().zip(&u).enumerate() {
            let bd = b.as_ref().map(|b| &b[i]);
            let prefix = if many {
                format!("data [document {}] ", i + 1)
            } else {
                "data ".to_string()
            };
            merged.push(self.value(&prefix, bd, ld, ud));
        }
        match format {
            DataFormat::Json if merged.len() == 1 => serde_json::to_string_pretty(&merged[0])
                .ok()
                .map(|t| t + "\n"),
            DataFormat::Json => None,
            _ => {
                let docs: Option<Vec<String>> = merged
                    .iter()
                    .map(|d| serde_yaml::to_string(d).ok())
                    .collect();
                Some(docs?.join("---\n"))
            }
        }
    }

    /// Merges two values over a base; `path` names the value in conflicts.
    pub(super) fn value(
        &mut self,
        path: &str,
        base: Option<&Value>,
        local: &Value,
        upstream: &Value,
    ) -> Value {
        if local == upstream || base == Some(upstream) {
            return local.clone();
        }
        if base == Some(local) {
            return upstream.clone();
        }
        match (local, upstream) {
            (Value::Mapping(l), Value::Mapping(u)) => {
                let b = match base {
                    Some(Value::Mapping(b)) => Some(b),
                    _ => None,
                };
                Value::Mapping(self.mapping(path, b, l, u))
            }
            (Value::Sequence(l), Value::Sequence(u)) => {
                let b = match base {
                    Some(Value::Sequence(b)) => Some(b.as_slice()),
                    Some(_) => None,
                    None => Some(&[][..]),
                };
                match b.and_then(|b| self.named_list(path, b, l, u)) {
                    Some(list) => Value::Sequence(list),
                    None => self.value_conflict(path, base, local, upstream),
                }
            }
            _ => self.value_conflict(path, base, local, upstream),
        }
    }

    /// Records that the value at `path` changed on both sides; keeps local.
    fn value_conflict(
        &mut self,
        path: &str,
        base: Option<&Value>,
        local: &Value,
        upstream: &Value,
    ) -> Value {
        self.conflict(
            path.trim_end().into(),
            show(base),
            show(Some(local)),
            show(Some(upstream)),
        );
        local.clone()
    }

    /// Merges two maps key by key: local's order, then keys new upstream.
    fn mapping(
        &mut self,
        path: &str,
        base: Option<&Mapping>,
        local: &Mapping,
        upstream: &Mapping,
    ) -> Mapping {
        let mut keys: Vec<&Value> = local.keys().collect();
        keys.extend(upstream.keys().filter(|k| !local.contains_key(*k)));
        let mut out = Mapping::new();
        for key in keys {
            let b = base.and_then(|b| b.get(key));
            let child = child_path(path, &key_text(key));
            let merged = self.entry(&child, base.is_some(), b, local.get(key), upstream.get(key));
            if let Some(v) = merged {
                out.insert(key.clone(), v);
            }
        }
        out
    }

    /// One key of a map (or item of a named list): present or absent on each side.
    fn entry(
        &mut self,
        path: &str,
        has_base: bool,
        base: Option<&Value>,
        local: Option<&Value>,
        upstream: Option<&Value>,
    ) -> Option<Value> {
        match (local, upstream) {
            (Some(l), Some(u)) => Some(self.value(path, base, l, u)),
            // Present on one side only.
            (Some(l), None) => {
                if has_base && base == Some(l) {
                    None // deleted upstream, unchanged here
                } else if has_base && base.is_some() {
                    self.conflict(path.into(), show(base), show(Some(l)), show(None));
                    Some(l.clone())
                } else {
                    Some(l.clone()) // added here
                }
            }
            (None, Some(u)) => {
                if has_base && base == Some(u) {
                    None // deleted here, unchanged upstream
                } else if has_base && base.is_some() {
                    self.conflict(path.into(), show(base), show(None), show(Some(u)));
                    None
                } else {
                    Some(u.clone()) // added upstream
                }
            }
            (None, None) => None,
        }
    }

    /// Merges lists whose items are all maps with a unique `name`, item by
    /// item; `None` when the lists are not like that.
    fn named_list(
        &mut self,
        path: &str,
        base: &[Value],
        local: &[Value],
        upstream: &[Value],
    ) -> Option<Vec<Value>> {
        let b = named_items(base)?;
        let l = named_items(local)?;
        let u = named_items(upstream)?;
        if l.is_empty() && u.is_empty() {
            return None;
        }
        // By name, so that long lists merge in linear time.
        let (bm, lm, um) = (by_name(&b), by_name(&l), by_name(&u));
        let mut names: Vec<&str> = l.iter().map(|(n, _)| *n).collect();
        names.extend(u.iter().map(|(n, _)| *n).filter(|n| !lm.contains_key(n)));
        let mut out = Vec::new();
        for name in names {
            let child = format!("{}[name={name}]", path.trim_end());
            if let Some(v) = self.entry(
                &child,
                true,
                bm.get(name).copied(),
                lm.get(name).copied(),
                um.get(name).copied(),
            ) {
                out.push(v);
            }
        }
        Some(out)
    }
}

/// The items of [`named_items`] by name.
fn by_name<'v>(items: &[(&'v str, &'v Value)]) -> HashMap<&'v str, &'v Value> {
    items.iter().copied().collect()
}

/// `name` of every item, when all are maps with a unique string `name`.
fn named_items(items: &[Value]) -> Option<Vec<(&str, &Value)>> {
    let mut out: Vec<(&str, &Value)> = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        let name = item.as_mapping()?.get("name")?.as_str()?;
        if !seen.insert(name) {
            return None;
        }
        out.push((name, item));
    }
    Some(out)
}

/// The path of `key` inside the value at `path` (a root such as `details `
/// ends with a space).
fn child_path(path: &str, key: &str) -> String {
    if path.ends_with(' ') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// A map key as a path component.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}
