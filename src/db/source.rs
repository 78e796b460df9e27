//! What an export reads from a database: its catalog, and a table's rows
//! matching a predicate in primary-key order, every value already in its
//! lossless JSON form (see [`kind`](super::kind)). Each engine implements
//! [`ExportSource`] over one read-only snapshot.

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

/// A row handler: the row's values in the scan's column order.
pub type RowSink<'a> = dyn FnMut(Vec<Value>) -> Result<(), DbError> + 'a;

/// A database opened for an export, inside one read-only snapshot.
pub trait ExportSource {
    /// The engine.
    fn engine(&self) -> Engine;

    /// Every table of the database.
    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError>;

    /// The rows of `table` matching `predicate` (SQL the database checks),
    /// in primary-key order: `columns`' values, each as JSON.
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
}
