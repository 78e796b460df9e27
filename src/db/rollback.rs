//! `pkg rollback ID` of a database load: in one transaction, restores the
//! rows the load updated to what they were, clears the foreign keys it set
//! after inserting (cycles), and deletes the rows it inserted, children
//! first. Before writing, every one of those rows is compared with the
//! fingerprint the load recorded: a row changed or deleted since refuses
//! the rollback, naming it, unless `force`.

use serde_json::Value;

use super::fingerprint;
use super::keymap::key_text;
use super::load::MANY_KEYS;
use super::record::LoadRecord;
use super::schema::{Column, Table};
use super::source::DbError;
use super::target::{
    Assigned, KEYS_PER_STATEMENT, LoadTarget, delete_keys, key_columns, set_null, update,
};

/// What a rollback did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableRollback {
    /// The table.
    pub table: String,
    /// Rows deleted (the load inserted them).
    pub deleted: u64,
    /// Rows restored (the load updated them).
    pub restored: u64,
}

/// How many changed rows a refusal names (all are counted).
const LISTED_CHANGES: usize = 20;

/// Rolls back the load `record` describes.
pub fn rollback(
    target: &mut dyn LoadTarget,
    record: &LoadRecord,
    force: bool,
) -> Result<Vec<TableRollback>, DbError> {
    if record.engine != target.engine().name() {
        return Err(DbError::Invalid(format!(
            "the load wrote to a {} database, not {}",
            record.engine,
            target.engine().name()
        )));
    }
    let catalog = target.catalog()?;
    for t in &record.tables {
        if !catalog.iter().any(|c| c.name == t.table.name) {
            return Err(DbError::Invalid(format!(
                "table `{}` is no longer in the database; nothing was rolled back",
                t.table.name
            )));
        }
    }
    target.begin()?;
    match undo(target, record, force) {
        Ok(done) => {
            target.commit()?;
            Ok(done)
        }
        Err(e) => {
            let _ = target.rollback();
            Err(e)
        }
    }
}

fn undo(
    target: &mut dyn LoadTarget,
    record: &LoadRecord,
    force: bool,
) -> Result<Vec<TableRollback>, DbError> {
    if !force {
        let (count, listed) = changed_since(target, record)?;
        if count > 0 {
            return Err(DbError::Invalid(format!(
                "{count} row(s) the load wrote changed since; nothing was rolled back (pass --force to roll back anyway, overwriting and deleting them):\n  {}",
                listed.join("\n  ")
            )));
        }
    }
    let mut done: Vec<TableRollback> = record
        .tables
        .iter()
        .map(|t| TableRollback {
            table: t.table.name.clone(),
            ..TableRollback::default()
        })
        .collect();
    // The rows updated get their old values back first: they may
    // reference rows the load inserted.
    for (t, out) in record.tables.iter().zip(done.iter_mut()) {
        let table = &t.table;
        let key_cols = key_columns(table)?;
        for row in &t.updated {
            let before: Vec<Value> = row
                .before
                .iter()
                .map(|v| v.clone().map(Value::String).unwrap_or(Value::Null))
                .collect();
            if before.len() != table.columns.len() {
                continue;
            }
            let set: Vec<Assigned<'_>> = table
                .columns
                .iter()
                .zip(&before)
                .filter(|(c, _)| !table.primary_key.contains(&c.name))
                .collect();
            let key: Vec<Assigned<'_>> = key_cols.iter().copied().zip(&row.key).collect();
            out.restored += update(target, table, &set, &key)?;
        }
    }
    // Keys set after inserting (cycles) are cleared, so that the rows can
    // go in any order.
    for t in &record.tables {
        let columns: Vec<&Column> = t
            .deferred
            .iter()
            .flatten()
            .filter_map(|c| t.table.column(c))
            .collect();
        if columns.is_empty() {
            continue;
        }
        each_chunk(t, |keys| set_null(target, &t.table, &columns, keys))?;
    }
    // Then the inserted rows, children first.
    for (t, out) in record.tables.iter().zip(done.iter_mut()).rev() {
        let mut deleted = 0;
        each_chunk(t, |keys| {
            deleted += delete_keys(target, &t.table, keys)?;
            Ok(0)
        })?;
        out.deleted = deleted;
    }
    Ok(done)
}

/// Runs `f` over the inserted keys of `t`, a statement's worth at a time.
fn each_chunk(
    t: &super::record::TableRecord,
    mut f: impl FnMut(&[Vec<Value>]) -> Result<u64, DbError>,
) -> Result<(), DbError> {
    let mut start = 0;
    while start < t.inserted.len() {
        let keys = t.inserted.slice(start, KEYS_PER_STATEMENT);
        f(&keys)?;
        start += keys.len();
    }
    Ok(())
}

/// How many rows the load wrote differ from what it left, and the first
/// of them with the reason.
fn changed_since(
    target: &mut dyn LoadTarget,
    record: &LoadRecord,
) -> Result<(usize, Vec<String>), DbError> {
    let mut count = 0;
    let mut listed = Vec::new();
    let mut note = |table: &Table, key: &[Value], now: u64, then: u64| {
        if now == then {
            return;
        }
        count += 1;
        if listed.len() < LISTED_CHANGES {
            let why = if now == 0 {
                "deleted since the load"
            } else {
                "changed since the load"
            };
            listed.push(format!("{} {}: {why}", table.name, key_text(key)));
        }
    };
    for t in &record.tables {
        let table = &t.table;
        if t.inserted.len() + t.updated.len() > MANY_KEYS {
            target.analyze(table)?;
        }
        let columns: Vec<&Column> = table.columns.iter().collect();
        let mut start = 0;
        while start < t.inserted.len() {
            let keys = t.inserted.slice(start, KEYS_PER_STATEMENT);
            let now = fingerprint::by_keys(target, table, &keys, &columns)?;
            for (i, (key, f)) in keys.iter().zip(now).enumerate() {
                let then = t
                    .inserted_fingerprints
                    .get(start + i)
                    .copied()
                    .unwrap_or_default();
                note(table, key, f, then);
            }
            start += keys.len();
        }
        let keys: Vec<Vec<Value>> = t.updated.iter().map(|u| u.key.clone()).collect();
        let now = fingerprint::by_keys(target, table, &keys, &columns)?;
        for (u, f) in t.updated.iter().zip(now) {
            note(table, &u.key, f, u.after);
        }
    }
    Ok((count, listed))
}
