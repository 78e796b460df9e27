//! The portable column types a database package carries, how each engine's
//! declared types map onto them, and their lossless form in the JSON Lines
//! data files:
//!
//! | kind | JSON |
//! |---|---|
//! | integer | a number (exact to 64 bits) |
//! | decimal | a string with the exact digits (`"12.50"`) |
//! | float | a number; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings |
//! | bool | `true` / `false` |
//! | text, uuid | a string |
//! | bytes | a string, standard base64 |
//! | timestamp | `"YYYY-MM-DDTHH:MM:SS[.ffffff]"` (no zone) |
//! | timestamptz | RFC 3339 in UTC (`"…Z"`) |
//! | date | `"YYYY-MM-DD"` |
//! | time | `"HH:MM:SS[.ffffff]"` |
//! | json | a string holding the JSON text (so that JSON `null` and SQL NULL stay apart) |
//!
//! SQL NULL is JSON `null` in every kind. Any other declared type is
//! refused with its name, rather than carried approximately.

pub use crate::model::table::Kind;

use super::url::Engine;

/// The kind of a column `engine` declares as `declared` (as its catalog
/// spells it), or `None` for a type pkg does not carry.
pub fn kind_of(engine: Engine, declared: &str) -> Option<Kind> {
    let t = declared.trim().to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim();
    match engine {
        Engine::Postgres => match base {
            "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8" | "int" => {
                Some(Kind::Integer)
            }
            "numeric" | "decimal" => Some(Kind::Decimal),
            "real" | "double precision" | "float4" | "float8" => Some(Kind::Float),
            "boolean" | "bool" => Some(Kind::Bool),
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar"
            | "citext" | "name" => Some(Kind::Text),
            "uuid" => Some(Kind::Uuid),
            "bytea" => Some(Kind::Bytes),
            "timestamp without time zone" | "timestamp" => Some(Kind::Timestamp),
            "timestamp with time zone" | "timestamptz" => Some(Kind::Timestamptz),
            "date" => Some(Kind::Date),
            "time without time zone" | "time" => Some(Kind::Time),
            "json" | "jsonb" => Some(Kind::Json),
            _ => None,
        },
        Engine::Mysql => match base {
            // MariaDB and MySQL spell BOOLEAN as tinyint(1).
            "tinyint" if t.starts_with("tinyint(1)") => Some(Kind::Bool),
            "bool" | "boolean" => Some(Kind::Bool),
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
                Some(Kind::Integer)
            }
            "decimal" | "numeric" => Some(Kind::Decimal),
            "float" | "double" | "real" => Some(Kind::Float),
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => {
                Some(Kind::Text)
            }
            "uuid" => Some(Kind::Uuid),
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                Some(Kind::Bytes)
            }
            "datetime" => Some(Kind::Timestamp),
            "timestamp" => Some(Kind::Timestamptz),
            "date" => Some(Kind::Date),
            "time" => Some(Kind::Time),
            "json" => Some(Kind::Json),
            _ => None,
        },
        // SQLite types are names with affinities; the usual spellings.
        Engine::Sqlite => {
            if base.contains("int") {
                Some(Kind::Integer)
            } else if base.starts_with("bool") {
                Some(Kind::Bool)
            } else if base.contains("timestamptz") || base.contains("with time zone") {
                Some(Kind::Timestamptz)
            } else if base.contains("timestamp") || base.contains("datetime") {
                Some(Kind::Timestamp)
            } else if base == "date" {
                Some(Kind::Date)
            } else if base == "time" {
                Some(Kind::Time)
            } else if base.contains("json") {
                Some(Kind::Json)
            } else if base == "uuid" {
                Some(Kind::Uuid)
            } else if base.contains("char") || base.contains("clob") || base.contains("text") {
                Some(Kind::Text)
            } else if base.contains("blob") || base.contains("binary") {
                Some(Kind::Bytes)
            } else if base.contains("real") || base.contains("floa") || base.contains("doub") {
                Some(Kind::Float)
            } else if base.contains("decimal") || base.contains("numeric") {
                Some(Kind::Decimal)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_map_their_types() {
        assert_eq!(kind_of(Engine::Postgres, "bigint"), Some(Kind::Integer));
        assert_eq!(
            kind_of(Engine::Postgres, "numeric(12,2)"),
            Some(Kind::Decimal)
        );
        assert_eq!(
            kind_of(Engine::Postgres, "timestamp with time zone"),
            Some(Kind::Timestamptz)
        );
        assert_eq!(kind_of(Engine::Postgres, "jsonb"), Some(Kind::Json));
        assert_eq!(kind_of(Engine::Postgres, "interval"), None);
        assert_eq!(kind_of(Engine::Mysql, "tinyint(1)"), Some(Kind::Bool));
        assert_eq!(kind_of(Engine::Mysql, "tinyint(4)"), Some(Kind::Integer));
        assert_eq!(
            kind_of(Engine::Mysql, "bigint(20) unsigned"),
            Some(Kind::Integer)
        );
        assert_eq!(kind_of(Engine::Mysql, "longblob"), Some(Kind::Bytes));
        assert_eq!(kind_of(Engine::Mysql, "timestamp"), Some(Kind::Timestamptz));
        assert_eq!(kind_of(Engine::Mysql, "set('a','b')"), None);
        assert_eq!(kind_of(Engine::Sqlite, "INTEGER"), Some(Kind::Integer));
        assert_eq!(kind_of(Engine::Sqlite, "VARCHAR(20)"), Some(Kind::Text));
        assert_eq!(
            kind_of(Engine::Sqlite, "NUMERIC(10,2)"),
            Some(Kind::Decimal)
        );
        assert_eq!(kind_of(Engine::Sqlite, ""), None);
        assert!(Kind::Decimal.accepts(Kind::Integer));
        assert!(!Kind::Integer.accepts(Kind::Decimal));
    }
}
