//! What an export reads from a database: its catalog, and a table's rows
//! matching a predicate in primary-key order, every value already in its
//! lossless JSON form (see [`kind`](super::kind)), handed over as a [`Row`]
//! of JSON texts that the scan reuses from row to row. Each engine
//! implements [`ExportSource`] over one read-only snapshot.

use serde_json::Value;

use super::schema::{CatalogTable, Column, Table};
use super::url::Engine;

/// Why reading or writing a database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The request is wrong (a table, column or predicate).
    #[error("{0}")]
    Invalid(String),
    /// The database refused or failed.
    #[error("{0}")]
    Database(String),
    /// Writing the package failed.
    #[error("{0}")]
    Io(String),
}

/// One row as a scan hands it over: each column's value as its JSON text
/// (exactly what `serde_json` writes for the value's [`Value`]), in the
/// scan's column order. A scan fills one `Row` again for every row, so
/// reading a table allocates nothing per row.
#[derive(Debug, Default, Clone)]
pub struct Row {
    /// The values' JSON texts, one after the other.
    text: Vec<u8>,
    /// Where each value's text ends in `text`.
    ends: Vec<usize>,
}

impl Row {
    /// Empties the row for the next one.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// How many values the row holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the row holds no value.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The JSON text of value `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// Whether value `i` is SQL NULL (JSON `null`; a missing value counts).
    pub fn is_null(&self, i: usize) -> bool {
        self.get(i).is_none_or(|v| v == b"null")
    }

    /// Adds `value`, written as `serde_json` writes it.
    pub fn push_value(&mut self, value: &Value) {
        // Writing into a Vec cannot fail, and a Value always serializes.
        let _ = serde_json::to_writer(&mut self.text, value);
        self.end_value();
    }

    /// Adds SQL NULL.
    pub fn push_null(&mut self) {
        self.text.extend_from_slice(b"null");
        self.end_value();
    }

    /// Adds an integer.
    pub fn push_i64(&mut self, value: i64) {
        let _ = serde_json::to_writer(&mut self.text, &value);
        self.end_value();
    }

    /// Adds a string, escaped as JSON.
    pub fn push_str(&mut self, value: &str) {
        let _ = serde_json::to_writer(&mut self.text, value);
        self.end_value();
    }

    /// The buffer the next value's JSON text is written into by hand;
    /// [`end_value`](Row::end_value) closes it.
    pub fn text_mut(&mut self) -> &mut Vec<u8> {
        &mut self.text
    }

    /// Closes the value written into [`text_mut`](Row::text_mut).
    pub fn end_value(&mut self) {
        self.ends.push(self.text.len());
    }

    /// Drops a value begun in [`text_mut`](Row::text_mut) but not closed.
    pub fn abandon_value(&mut self) {
        let start = self.ends.last().copied().unwrap_or(0);
        self.text.truncate(start);
    }
}

/// A row handler: the row's values in the scan's column order.
pub type RowSink<'a> = dyn FnMut(&Row) -> Result<(), DbError> + 'a;

/// A database opened for an export, inside one read-only snapshot.
pub trait ExportSource {
    /// The engine.
    fn engine(&self) -> Engine;

    /// Every table of the database.
    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError>;

    /// The rows of `table` matching `predicate` (SQL the database checks),
    /// in primary-key order: `columns`' values, each as its JSON text.
    fn scan(
        &mut self,
        table: &Table,
        columns: &[Column],
        predicate: Option<&str>,
        each: &mut RowSink<'_>,
    ) -> Result<(), DbError>;
}

/// `name` quoted as an SQL identifier (`"a""b"`; MySQL uses backticks).
pub fn quote(engine: Engine, name: &str) -> String {
    match engine {
        Engine::Mysql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// `SELECT exprs FROM table [WHERE (predicate)] ORDER BY <primary key>`.
pub fn select_sql(
    engine: Engine,
    table: &Table,
    exprs: &[String],
    predicate: Option<&str>,
) -> String {
    let order: Vec<String> = table.primary_key.iter().map(|c| quote(engine, c)).collect();
    let filter = predicate
        .map(|p| format!(" WHERE ({p})"))
        .unwrap_or_default();
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        exprs.join(", "),
        quote(engine, &table.name),
        order.join(", ")
    )
}

/// The error of a scan the database refused: the predicate's, naming the
/// table, or the table's.
pub fn scan_refused(table: &str, predicate: Option<&str>, message: &str) -> DbError {
    DbError::Invalid(match predicate {
        Some(p) => {
            format!("the --where predicate of table `{table}` (`{p}`) was refused: {message}")
        }
        None => format!("cannot read table `{table}`: {message}"),
    })
}

/// Refuses a predicate that could end the statement or hide its end: a
/// `;`, or a comment (`--`, `/*`).
pub fn check_predicate(table: &str, predicate: &str) -> Result<(), DbError> {
    let refused = [";", "--", "/*", "*/"]
        .into_iter()
        .find(|t| predicate.contains(t));
    if let Some(token) = refused {
        return Err(DbError::Invalid(format!(
            "the --where predicate of table `{table}` holds `{token}`: give one SQL condition (no statements, no comments)"
        )));
    }
    if predicate.trim().is_empty() {
        return Err(DbError::Invalid(format!(
            "the --where predicate of table `{table}` is empty"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_predicates_checked() {
        assert_eq!(quote(Engine::Postgres, "we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote(Engine::Mysql, "we`ird"), "`we``ird`");
        assert!(check_predicate("customers", "1=1; DROP TABLE customers").is_err());
        assert!(check_predicate("customers", "id > 3 -- x").is_err());
        assert!(check_predicate("customers", "  ").is_err());
        assert!(check_predicate("customers", "name = 'a' AND id IN (1, 2)").is_ok());
    }

    #[test]
    fn a_row_holds_json_texts() {
        let mut row = Row::default();
        row.push_i64(-5);
        row.push_null();
        row.push_str("a\"\tb");
        row.push_value(&Value::Bool(true));
        row.text_mut().extend_from_slice(b"\"half");
        row.abandon_value();
        assert_eq!(row.len(), 4);
        assert_eq!(row.get(0), Some(&b"-5"[..]));
        assert!(row.is_null(1) && !row.is_null(0) && row.is_null(9));
        assert_eq!(row.get(2), Some(&br#""a\"\tb""#[..]));
        assert_eq!(row.get(3), Some(&b"true"[..]));
        row.clear();
        assert!(row.is_empty());
    }
}
