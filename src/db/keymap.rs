//! Primary keys a load holds: the key map of a table whose keys it remaps
//! (the package's key → the target's), and the list of keys it inserted.
//! A single integer key is held as an `i64` (a map entry costs about
//! 32 bytes, a listed key 8); any other key as its JSON values.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::target::value_text;

/// A key as the text the key map is printed with: a one-column key's
/// value (`"1001"`), a composite key's JSON array (`[1,"a"]`).
pub fn key_text(key: &[Value]) -> String {
    match key {
        [one] => value_text(one).unwrap_or_else(|| "null".into()),
        many => serde_json::to_string(many).unwrap_or_default(),
    }
}

fn as_int(key: &[Value]) -> Option<i64> {
    match key {
        [Value::Number(n)] => n.as_i64(),
        _ => None,
    }
}

/// One table's key map: the package's key → the target's.
#[derive(Debug, Clone)]
pub enum KeyMap {
    /// One integer column on both sides.
    Ints(HashMap<i64, i64>),
    /// Anything else, by [`key_text`] of the old key.
    Any(HashMap<String, Vec<Value>>),
}

impl Default for KeyMap {
    fn default() -> KeyMap {
        KeyMap::Ints(HashMap::new())
    }
}

impl KeyMap {
    /// An empty map with room for `n` one-column integer keys.
    pub fn with_capacity(n: usize) -> KeyMap {
        KeyMap::Ints(HashMap::with_capacity(n))
    }

    /// Maps `old` to `new`.
    pub fn insert(&mut self, old: &[Value], new: Vec<Value>) {
        if let KeyMap::Ints(map) = self {
            match (as_int(old), as_int(&new)) {
                (Some(o), Some(n)) => {
                    map.insert(o, n);
                    return;
                }
                _ => {
                    let any = map
                        .drain()
                        .map(|(o, n)| (o.to_string(), vec![Value::from(n)]))
                        .collect();
                    *self = KeyMap::Any(any);
                }
            }
        }
        if let KeyMap::Any(map) = self {
            map.insert(key_text(old), new);
        }
    }

    /// The target's key for `old`.
    pub fn get(&self, old: &[Value]) -> Option<Vec<Value>> {
        match self {
            KeyMap::Ints(map) => as_int(old)
                .and_then(|o| map.get(&o))
                .map(|n| vec![Value::from(*n)]),
            KeyMap::Any(map) => map.get(&key_text(old)).cloned(),
        }
    }

    /// How many keys it maps.
    pub fn len(&self) -> usize {
        match self {
            KeyMap::Ints(map) => map.len(),
            KeyMap::Any(map) => map.len(),
        }
    }

    /// Whether it maps nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map as printed and recorded: old key text → new key text,
    /// sorted by old key (numerically for integers).
    pub fn entries(&self) -> Vec<(String, String)> {
        match self {
            KeyMap::Ints(map) => {
                let mut pairs: Vec<(i64, i64)> = map.iter().map(|(o, n)| (*o, *n)).collect();
                pairs.sort_unstable();
                pairs
                    .into_iter()
                    .map(|(o, n)| (o.to_string(), n.to_string()))
                    .collect()
            }
            KeyMap::Any(map) => {
                let mut pairs: Vec<(String, String)> =
                    map.iter().map(|(o, n)| (o.clone(), key_text(n))).collect();
                pairs.sort();
                pairs
            }
        }
    }
}

/// Serialized as the key map is printed and recorded: old key text → new
/// key text, sorted as [`KeyMap::entries`], written entry by entry (a
/// million-row map is not copied into strings first).
impl Serialize for KeyMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut out = s.serialize_map(Some(self.len()))?;
        match self {
            KeyMap::Ints(map) => {
                let mut pairs: Vec<(i64, i64)> = map.iter().map(|(o, n)| (*o, *n)).collect();
                pairs.sort_unstable();
                for (old, new) in pairs {
                    out.serialize_entry(&old.to_string(), &new.to_string())?;
                }
            }
            KeyMap::Any(map) => {
                let mut pairs: Vec<(&String, &Vec<Value>)> = map.iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                for (old, new) in pairs {
                    out.serialize_entry(old, &key_text(new))?;
                }
            }
        }
        out.end()
    }
}

/// A list of keys (the rows a load inserted).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Keys {
    /// One integer column.
    Ints(Vec<i64>),
    /// Any other key, as JSON values.
    Any(Vec<Vec<Value>>),
}

impl Default for Keys {
    fn default() -> Keys {
        Keys::Ints(Vec::new())
    }
}

impl Keys {
    /// Adds `key`.
    pub fn push(&mut self, key: Vec<Value>) {
        if let Keys::Ints(list) = self {
            match as_int(&key) {
                Some(k) => {
                    list.push(k);
                    return;
                }
                None => {
                    let any = list.drain(..).map(|k| vec![Value::from(k)]).collect();
                    *self = Keys::Any(any);
                }
            }
        }
        if let Keys::Any(list) = self {
            list.push(key);
        }
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        match self {
            Keys::Ints(list) => list.len(),
            Keys::Any(list) => list.len(),
        }
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys from `start`, at most `n` of them, as JSON values.
    pub fn slice(&self, start: usize, n: usize) -> Vec<Vec<Value>> {
        match self {
            Keys::Ints(list) => list
                .iter()
                .skip(start)
                .take(n)
                .map(|k| vec![Value::from(*k)])
                .collect(),
            Keys::Any(list) => list.iter().skip(start).take(n).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_maps_stay_compact_until_a_key_is_not_an_integer() {
        let mut map = KeyMap::default();
        map.insert(&[json!(1)], vec![json!(1001)]);
        assert!(matches!(map, KeyMap::Ints(_)));
        assert_eq!(map.get(&[json!(1)]), Some(vec![json!(1001)]));
        map.insert(&[json!(2), json!("a")], vec![json!(7), json!("a")]);
        assert!(matches!(map, KeyMap::Any(_)));
        assert_eq!(map.get(&[json!(1)]), Some(vec![json!(1001)]));
        assert_eq!(
            map.get(&[json!(2), json!("a")]),
            Some(vec![json!(7), json!("a")])
        );
        assert_eq!(
            map.entries(),
            [
                ("1".to_string(), "1001".to_string()),
                ("[2,\"a\"]".to_string(), "[7,\"a\"]".to_string())
            ]
        );
        let mut keys = Keys::default();
        keys.push(vec![json!(5)]);
        keys.push(vec![json!("x")]);
        assert_eq!(keys.slice(0, 5), vec![vec![json!(5)], vec![json!("x")]]);
    }
}
