//! Row fingerprints: what a load leaves in each row it wrote, so that a
//! rollback can tell a row changed since. A fingerprint is 64 bits of a
//! hash over the row's columns, computed by the database where it can
//! ([`LoadTarget::fingerprint_sql`]: PostgreSQL's `md5` of the row), else
//! by pkg over the columns as text. Rows are read back by key, a
//! statement's worth at a time, or, for a table that held nothing before
//! the load, in one scan.

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::keymap::Keys;
use super::schema::{Column, Table};
use super::source::{DbError, quote};
use super::target::{KEYS_PER_STATEMENT, LoadTarget, TextRow, key_columns, read_rows, value_text};

/// A row's fingerprint from its columns as text.
pub fn of_texts(row: &[Option<String>]) -> u64 {
    let mut hash = Sha256::new();
    for value in row {
        match value {
            None => hash.update([0u8]),
            Some(text) => {
                hash.update([1u8]);
                hash.update((text.len() as u64).to_le_bytes());
                hash.update(text.as_bytes());
            }
        }
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The fingerprint of what a query answered for a row: the database's hex
/// hash (its first 16 digits), or the columns' text hashed here. Never 0,
/// which stands for "no such row".
fn of_answer(database_hashed: bool, rest: &[Option<String>]) -> u64 {
    let value = match (database_hashed, rest) {
        (true, [Some(hex)]) => hex
            .get(..16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or_else(|| of_texts(rest)),
        _ => of_texts(rest),
    };
    value.max(1)
}

/// The text that stands for a key when matching answers to keys.
fn joined<'a>(texts: impl Iterator<Item = Option<&'a str>>) -> String {
    texts
        .map(|t| t.unwrap_or("\u{0}"))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

fn key_joined(key: &[Value]) -> String {
    let texts: Vec<Option<String>> = key.iter().map(value_text).collect();
    joined(texts.iter().map(Option::as_deref))
}

/// The fingerprints of the rows with `keys` (0 for a row not found), in
/// `keys`' order.
pub fn by_keys(
    target: &mut dyn LoadTarget,
    table: &Table,
    keys: &[Vec<Value>],
    columns: &[&Column],
) -> Result<Vec<u64>, DbError> {
    let mut out = Vec::with_capacity(keys.len());
    let expr = target.fingerprint_sql(columns);
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let found: HashMap<String, u64> = match &expr {
            Some(e) => read_rows(target, table, chunk, &[], Some(e))?,
            None => read_rows(target, table, chunk, columns, None)?,
        }
        .into_iter()
        .map(|(key, rest)| {
            (
                joined(key.iter().map(Option::as_deref)),
                of_answer(expr.is_some(), &rest),
            )
        })
        .collect();
        out.extend(
            chunk
                .iter()
                .map(|k| found.get(&key_joined(k)).copied().unwrap_or(0)),
        );
    }
    Ok(out)
}

/// The fingerprints of the rows with `keys`, a long list, read in one scan
/// of `table` (which held no other rows when the load began; rows others
/// added since are read and ignored).
pub fn by_scan(
    target: &mut dyn LoadTarget,
    table: &Table,
    keys: &Keys,
    columns: &[&Column],
) -> Result<Vec<u64>, DbError> {
    let key_cols = key_columns(table)?;
    let expr = target.fingerprint_sql(columns);
    let mut select: Vec<String> = key_cols.iter().map(|c| target.as_text(c)).collect();
    match &expr {
        Some(e) => select.push(e.clone()),
        None => select.extend(columns.iter().map(|c| target.as_text(c))),
    }
    let sql = format!(
        "SELECT {} FROM {}",
        select.join(", "),
        quote(target.engine(), &table.name)
    );
    let width = key_cols.len();
    let hashed = expr.is_some();
    match keys {
        Keys::Ints(list) => {
            let mut found: Vec<(i64, u64)> = Vec::with_capacity(list.len());
            target.query_each(&sql, &[], &mut |row| {
                if let [Some(key), rest @ ..] = row.as_slice()
                    && width == 1
                    && let Ok(key) = key.parse::<i64>()
                {
                    found.push((key, of_answer(hashed, rest)));
                }
                Ok(())
            })?;
            found.sort_unstable();
            Ok(list
                .iter()
                .map(|k| {
                    found
                        .binary_search_by_key(k, |(key, _)| *key)
                        .map(|i| found[i].1)
                        .unwrap_or(0)
                })
                .collect())
        }
        Keys::Any(list) => {
            let mut found: HashMap<String, u64> = HashMap::with_capacity(list.len());
            target.query_each(&sql, &[], &mut |row: TextRow| {
                let (key, rest) = row.split_at(width.min(row.len()));
                found.insert(
                    joined(key.iter().map(Option::as_deref)),
                    of_answer(hashed, rest),
                );
                Ok(())
            })?;
            Ok(list
                .iter()
                .map(|k| found.get(&key_joined(k)).copied().unwrap_or(0))
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_null_from_empty_and_never_are_zero() {
        assert_ne!(of_texts(&[None]), of_texts(&[Some(String::new())]));
        assert_ne!(
            of_texts(&[Some("ab".into()), Some("c".into())]),
            of_texts(&[Some("a".into()), Some("bc".into())])
        );
        assert_eq!(of_answer(true, &[Some("00000000000000ffaa".into())]), 0xff);
        assert_eq!(of_answer(true, &[Some("0000000000000000".into())]), 1);
    }
}
