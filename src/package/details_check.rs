//! Checking a details file the way a load reads it, without building it:
//! every value goes through serde_json's own parsing (numbers converted, so
//! `1e400` is out of range; maps and arrays nested at most 128 deep), as
//! when the load parses the file into a JSON value, but nothing is kept
//! except the unit's `ToolchainType`. `validate` and `diff` thereby report
//! what `load` would hit, in its words, at a fraction of the cost.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What the top level of a details file holds.
#[derive(Debug, Default)]
pub struct DetailsShape {
    /// Whether it is a JSON object.
    pub is_object: bool,
    /// Its `ToolchainType` value, when it has one (the last one written).
    pub toolchain: Option<Value>,
}

/// Parses `bytes` as a load would and returns the shape; the error is
/// serde_json's, as the load reports it.
pub fn details_shape(bytes: &[u8]) -> Result<DetailsShape, serde_json::Error> {
    serde_json::from_slice(bytes)
}

impl<'de> Deserialize<'de> for DetailsShape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

/// Any JSON value, parsed and dropped.
struct Walk;

impl<'de> Deserialize<'de> for Walk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WalkVisitor)
    }
}

/// Whether a map key is `ToolchainType` (compared without copying it).
struct IsToolchain(bool);

impl<'de> Deserialize<'de> for IsToolchain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = IsToolchain;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<IsToolchain, E> {
                Ok(IsToolchain(key == "ToolchainType"))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = DetailsShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DetailsShape, A::Error> {
        let mut shape = DetailsShape {
            is_object: true,
            toolchain: None,
        };
        while let Some(IsToolchain(toolchain)) = map.next_key()? {
            if toolchain {
                shape.toolchain = Some(map.next_value()?);
            } else {
                map.next_value::<Walk>()?;
            }
        }
        Ok(shape)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<DetailsShape, A::Error> {
        WalkVisitor.visit_seq(seq).map(|_| DetailsShape::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<DetailsShape, E> {
        Ok(DetailsShape::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<DetailsShape, E> {
        Ok(DetailsShape::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<DetailsShape, E> {
        Ok(DetailsShape::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<DetailsShape, E> {
        Ok(DetailsShape::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<DetailsShape, E> {
        Ok(DetailsShape::default())
    }
    fn visit_unit<E>(self) -> Result<DetailsShape, E> {
        Ok(DetailsShape::default())
    }
}

struct WalkVisitor;

impl<'de> Visitor<'de> for WalkVisitor {
    type Value = Walk;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Walk, A::Error> {
        while map.next_key_seed(KeySeed)?.is_some() {
            map.next_value::<Walk>()?;
        }
        Ok(Walk)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Walk, A::Error> {
        while seq.next_element::<Walk>()?.is_some() {}
        Ok(Walk)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_str<E>(self, _: &str) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_unit<E>(self) -> Result<Walk, E> {
        Ok(Walk)
    }
}

/// A map key, read as a string and dropped.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(WalkVisitor).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The load's parse: a JSON value.
    fn as_load(bytes: &[u8]) -> Result<bool, String> {
        serde_json::from_slice::<Value>(bytes)
            .map(|v| v.is_object())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn agrees_with_the_load_on_every_input() {
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(200), "]".repeat(200));
        let ok_deep = format!("{{\"a\": {}{}}}", "[".repeat(100), "]".repeat(100));
        let deep_map = format!("{}1{}", "{\"a\":".repeat(130), "}".repeat(130));
        for text in [
            "{\"Slug\": \"a\", \"ToolchainType\": \"Kubernetes/YAML\"}",
            "{\"Replicas\": 1e400}",
            "{\"Replicas\": -1e400}",
            "{\"n\": 18446744073709551616, \"m\": -9223372036854775809}",
            "{\"s\": \"\\ud800\"}",
            "{\"a\": 1,}",
            "{\"a\": 1} x",
            "[1, 2]",
            "\"text\"",
            "null",
            "{\"a\": {\"b\": [1, {\"c\": null}]}}",
            "{\"\\u0041\": \"\\u003c\"}",
            "",
            "{",
            &deep,
            &ok_deep,
            &deep_map,
        ] {
            let ours = details_shape(text.as_bytes())
                .map(|s| s.is_object)
                .map_err(|e| e.to_string());
            assert_eq!(ours, as_load(text.as_bytes()), "{text:.60}");
        }
    }

    #[test]
    fn keeps_the_last_toolchain_type() {
        let shape =
            details_shape(br#"{"ToolchainType": "a/b", "x": 1, "ToolchainType": 7}"#).unwrap();
        assert_eq!(shape.toolchain, Some(Value::from(7)));
        let shape = details_shape(br#"{"Slug": "a"}"#).unwrap();
        assert!(shape.is_object && shape.toolchain.is_none());
    }
}
