//! What pkg reads of pixi.toml and pyproject.toml, as serde models.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use toml::Table;

/// pixi.toml (only what pkg reads).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PixiTomlFile {
    pub(super) workspace: Option<PixiWorkspace>,
    pub(super) project: Option<PixiWorkspace>,
    pub(super) dependencies: BTreeMap<String, SpecValue>,
    #[serde(rename = "pypi-dependencies")]
    pub(super) pypi_dependencies: BTreeMap<String, SpecValue>,
}

/// pixi's `[workspace]` / `[project]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PixiWorkspace {
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
    pub(super) channels: Vec<Channel>,
    pub(super) platforms: Vec<String>,
}

/// pyproject.toml (only what pkg reads).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PyprojectFile {
    pub(super) project: Option<PyProjectTable>,
    #[serde(rename = "dependency-groups")]
    pub(super) dependency_groups: BTreeMap<String, Vec<GroupEntry>>,
    pub(super) tool: PyTool,
}

/// PEP 621 `[project]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PyProjectTable {
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
    #[serde(rename = "requires-python")]
    pub(super) requires_python: Option<String>,
    pub(super) dependencies: Vec<String>,
}

/// `[tool]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PyTool {
    pub(super) pixi: Option<PixiTool>,
    pub(super) uv: Option<UvTool>,
}

/// `[tool.pixi]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PixiTool {
    pub(super) workspace: Option<PixiWorkspace>,
    pub(super) project: Option<PixiWorkspace>,
    pub(super) dependencies: BTreeMap<String, SpecValue>,
    #[serde(rename = "pypi-dependencies")]
    pub(super) pypi_dependencies: BTreeMap<String, SpecValue>,
}

/// `[tool.uv]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct UvTool {
    #[serde(rename = "dev-dependencies")]
    pub(super) dev_dependencies: Vec<String>,
}

/// A pixi dependency value: `">=1.0"` or `{ version = ">=1.0", ... }`.
#[derive(Debug)]
pub(super) enum SpecValue {
    Text(String),
    Table(Table),
}

impl<'de> Deserialize<'de> for SpecValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpecValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version string or a table such as { version = \">=1.0\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SpecValue, E> {
                Ok(SpecValue::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SpecValue, A::Error> {
                Table::deserialize(de::value::MapAccessDeserializer::new(map)).map(SpecValue::Table)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A pixi channel: `"conda-forge"` or `{ channel = "...", priority = N }`.
#[derive(Debug)]
pub(super) struct Channel(pub(super) String);

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct ChannelTable {
            channel: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Channel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a channel name or a table such as { channel = \"x\", priority = 1 }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Channel, E> {
                Ok(Channel(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Channel, A::Error> {
                ChannelTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| Channel(t.channel))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A PEP 735 group entry: a requirement string, or an `{include-group}`
/// table (skipped).
#[derive(Debug)]
pub(super) struct GroupEntry(pub(super) Option<String>);

impl<'de> Deserialize<'de> for GroupEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GroupEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a requirement string or a table such as { include-group = \"x\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GroupEntry, E> {
                Ok(GroupEntry(Some(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GroupEntry, A::Error> {
                IgnoredAny::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|_| GroupEntry(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}
