//! Database tables as packages carry them: columns with a portable type
//! ([`Kind`]) and nullability, the primary key (composite too), foreign
//! keys and unique constraints. The manifest lists them under `tables`;
//! `db` reads them from catalogs and loads rows by them.

use serde::{Deserialize, Serialize};

/// A portable column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Whole numbers up to 64 bits.
    Integer,
    /// Exact decimals.
    Decimal,
    /// Binary floating point.
    Float,
    /// True or false.
    Bool,
    /// Text.
    Text,
    /// A UUID (as text).
    Uuid,
    /// Binary data.
    Bytes,
    /// A date and time without a zone.
    Timestamp,
    /// An instant (a date and time with a zone).
    Timestamptz,
    /// A date.
    Date,
    /// A time of day.
    Time,
    /// A JSON document.
    Json,
}

impl Kind {
    /// The kind's name as the manifest spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Decimal => "decimal",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Text => "text",
            Kind::Uuid => "uuid",
            Kind::Bytes => "bytes",
            Kind::Timestamp => "timestamp",
            Kind::Timestamptz => "timestamptz",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::Json => "json",
        }
    }

    /// Whether a column of kind `self` can take values of kind `from`
    /// without loss (a load checks every column before writing).
    pub fn accepts(self, from: Kind) -> bool {
        self == from
            || matches!(
                (self, from),
                (Kind::Decimal, Kind::Integer)
                    | (Kind::Float, Kind::Integer)
                    | (Kind::Text, Kind::Uuid)
                    | (Kind::Uuid, Kind::Text)
                    | (Kind::Text, Kind::Json)
                    | (Kind::Json, Kind::Text)
            )
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its portable type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The type as the source database declared it (for messages).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub declared: String,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A foreign key: `columns` of this table reference `references` of `table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The referencing columns, in key order.
    pub columns: Vec<String>,
    /// The referenced table.
    pub table: String,
    /// The referenced columns, in key order.
    pub references: Vec<String>,
}

/// A table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in the database's order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order (composite keys too).
    pub primary_key: Vec<String>,
    /// Its foreign keys.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// Its unique constraints other than the primary key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<String>>,
}

impl Table {
    /// The column `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}
