//! Unit data parsed as YAML documents (JSON is YAML too), refusing text
//! that would keep the parser busy before it fails.

use serde_yaml::Value;

/// serde_yaml's recursion limit: text nested deeper never parses.
const MAX_DEPTH: usize = 128;

/// Whether `text` opens more than [`MAX_DEPTH`] flow collections (`[`,
/// `{`) at once, counting brackets anywhere (in strings and comments too,
/// so a rare text is refused that would parse: it merges line by line).
/// Such text is refused before libyaml sees it: its scanner takes time
/// quadratic in the depth of nested flow mappings before it reports the
/// depth (500 KB of `{a: {a: ...` took 40 s; found with the `unit_data`
/// fuzz harness).
fn flow_too_deep(text: &str) -> bool {
    let mut depth = 0usize;
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The YAML documents of `text` (JSON is YAML too); `None` when it does
/// not parse or nests flow collections deeper than serde_yaml allows.
pub(super) fn parse_documents(text: &str) -> Option<Vec<Value>> {
    use serde::Deserialize;
    if flow_too_deep(text) {
        return None;
    }
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        docs.push(Value::deserialize(doc).ok()?);
    }
    Some(docs)
}
