//! What a database load is asked to do ([`LoadOptions`], [`OnConflict`])
//! and what it reports ([`TableOutcome`], [`LoadResult`]).

use serde_json::Value;

use super::keymap::KeyMap;
use super::record::LoadRecord;

/// What to do with a row that exists in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Refuse the load.
    #[default]
    Fail,
    /// Keep the target's row.
    Skip,
    /// Overwrite it with the package's.
    Update,
}

impl OnConflict {
    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Fail => "fail",
            OnConflict::Skip => "skip",
            OnConflict::Update => "update",
        }
    }
}

/// How a load runs.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// What to do with existing rows.
    pub on_conflict: OnConflict,
    /// Count only; change nothing.
    pub dry_run: bool,
    /// Commit every `batch_size` rows, and report a row the database
    /// refuses instead of stopping.
    pub continue_on_error: bool,
    /// Rows per commit with `continue_on_error`.
    pub batch_size: usize,
    /// Give inserted rows new keys from the target and rewrite foreign
    /// keys through the key map.
    pub remap_keys: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            on_conflict: OnConflict::Fail,
            dry_run: false,
            continue_on_error: false,
            batch_size: 1000,
            remap_keys: false,
        }
    }
}

/// A row the database refused (with `continue_on_error`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowFailure {
    /// The row's primary key in the package.
    pub key: Value,
    /// The database's message.
    pub error: String,
}

/// How many refused rows a table's outcome lists (all are counted).
pub(super) const LISTED_FAILURES: usize = 100;

/// Rows one bulk insert carries (without `continue_on_error`).
pub(super) const INSERT_BATCH: usize = 10_000;

/// What a load did (or, in a dry run, would do) to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableOutcome {
    /// The table.
    pub table: String,
    /// Rows inserted.
    pub insert: u64,
    /// Rows updated.
    pub update: u64,
    /// Rows kept as they were.
    pub skip: u64,
    /// Rows the database refused (with `continue_on_error`).
    #[serde(skip_serializing_if = "is_zero")]
    pub failed: u64,
    /// The first refused rows and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<RowFailure>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Per table, by name.
    pub tables: Vec<TableOutcome>,
    /// What a rollback needs (and the key maps), tables in insert order.
    pub record: LoadRecord,
    /// Things the user should know (tables whose keys were kept).
    pub notes: Vec<String>,
}

impl LoadResult {
    /// Table → {old key: new key}, for the tables whose keys were remapped
    /// (serialized entry by entry).
    pub fn key_maps(&self) -> std::collections::BTreeMap<&str, &KeyMap> {
        self.record
            .tables
            .iter()
            .filter(|t| !t.key_map.is_empty())
            .map(|t| (t.table.name.as_str(), &t.key_map))
            .collect()
    }
}
