//! What the history keeps of a database load, so that `pkg rollback` can
//! undo it: per table (in insert order) the keys of the rows it inserted,
//! the rows it updated as they were before, a fingerprint of each of those
//! rows as the load left them (to tell whether they changed since), the
//! foreign keys it set after inserting (cycles), and the key map. Stored
//! gzip-compressed JSON.

use std::io::{Read, Write};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::keymap::{KeyMap, Keys};
use super::schema::Table;
use super::source::DbError;
use super::target::TextRow;

/// The record's format version.
pub const RECORD_VERSION: u32 = 1;

/// A database load, as the history keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadRecord {
    /// [`RECORD_VERSION`].
    pub version: u32,
    /// The engine written to (`postgres`, `mysql`, `sqlite`).
    pub engine: String,
    /// Each table, in the order the load inserted them.
    pub tables: Vec<TableRecord>,
}

/// What a load did to one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableRecord {
    /// The table as the package describes it.
    pub table: Table,
    /// Foreign keys (their columns) the load wrote NULL and set after
    /// every row was in; a rollback clears them before deleting.
    #[serde(default)]
    pub deferred: Vec<Vec<String>>,
    /// The target's keys of the rows inserted.
    pub inserted: Keys,
    /// Each inserted row's fingerprint as the load left it.
    pub inserted_fingerprints: Vec<u64>,
    /// The rows updated.
    #[serde(default)]
    pub updated: Vec<UpdatedRow>,
    /// The package's key → the target's, for a table whose keys the load
    /// remapped.
    #[serde(default, deserialize_with = "deserialize_map")]
    pub key_map: KeyMap,
}

/// A row a load updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdatedRow {
    /// Its key in the target.
    pub key: Vec<Value>,
    /// Every column of the package's table as it was, as text.
    pub before: TextRow,
    /// Its fingerprint as the load left it.
    pub after: u64,
}

fn deserialize_map<'de, D: Deserializer<'de>>(d: D) -> Result<KeyMap, D::Error> {
    let entries = std::collections::BTreeMap::<String, String>::deserialize(d)?;
    Ok(KeyMap::Any(
        entries
            .into_iter()
            .map(|(old, new)| (old, vec![Value::String(new)]))
            .collect(),
    ))
}

impl LoadRecord {
    /// The record as stored.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DbError> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gz, self)
            .map_err(|e| DbError::Io(format!("cannot encode the load's record: {e}")))?;
        gz.flush()
            .and_then(|()| gz.finish())
            .map_err(|e| DbError::Io(format!("cannot compress the load's record: {e}")))
    }

    /// A stored record.
    pub fn from_bytes(bytes: &[u8]) -> Result<LoadRecord, DbError> {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut text)
            .map_err(|e| DbError::Invalid(format!("the load's record is damaged: {e}")))?;
        let record: LoadRecord = serde_json::from_slice(&text)
            .map_err(|e| DbError::Invalid(format!("the load's record is damaged: {e}")))?;
        if record.version != RECORD_VERSION {
            return Err(DbError::Invalid(format!(
                "the load's record has format {}, this pkg reads {RECORD_VERSION}: roll it back with the pkg that loaded it",
                record.version
            )));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_round_trip() {
        let mut map = KeyMap::default();
        map.insert(&[json!(1)], vec![json!(1001)]);
        let mut inserted = Keys::default();
        inserted.push(vec![json!(1001)]);
        let record = LoadRecord {
            version: RECORD_VERSION,
            engine: "sqlite".into(),
            tables: vec![TableRecord {
                inserted,
                inserted_fingerprints: vec![7],
                key_map: map,
                ..TableRecord::default()
            }],
        };
        let back = LoadRecord::from_bytes(&record.to_bytes().unwrap()).unwrap();
        assert_eq!(back.tables[0].inserted, record.tables[0].inserted);
        assert_eq!(
            back.tables[0].key_map.entries(),
            [("1".to_string(), "1001".to_string())]
        );
        assert!(LoadRecord::from_bytes(b"junk").is_err());
    }
}
