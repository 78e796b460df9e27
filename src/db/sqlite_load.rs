//! SQLite as a load target: values decoded from their lossless JSON form
//! into SQLite's storage classes, foreign keys enforced, one immediate
//! transaction. An `INTEGER PRIMARY KEY` (the rowid) is the key SQLite
//! generates.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;

use super::kind::Kind;
use super::schema::{CatalogTable, Column, Table};
use super::source::{DbError, quote};
use super::sqlite::{db_error, read_catalog};
use super::target::{Assigned, LoadTarget, TextRow, insert_sql};
use super::url::Engine;

/// A SQLite file a load writes into, with foreign keys enforced.
pub struct SqliteTarget {
    conn: Connection,
    /// The tables as the target declares them (after `catalog`).
    catalog: Vec<CatalogTable>,
}

impl SqliteTarget {
    /// Opens `path` (which must exist) for writing.
    pub fn open(path: &Path) -> Result<SqliteTarget, DbError> {
        if !path.is_file() {
            return Err(DbError::Invalid(format!(
                "sqlite:{}: no such database file",
                path.display()
            )));
        }
        let conn = Connection::open(path).map_err(|e| {
            DbError::Database(format!("cannot open sqlite:{}: {e}", path.display()))
        })?;
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(db_error)?;
        Ok(SqliteTarget {
            conn,
            catalog: Vec::new(),
        })
    }
}

/// `value` (its lossless JSON form) as SQLite stores column `column`.
fn decode(table: &str, column: &Column, value: &Value) -> Result<rusqlite::types::Value, DbError> {
    use rusqlite::types::Value as Sql;
    let wrong = || {
        DbError::Invalid(format!(
            "{table}.{} ({}): `{value}` is not a {} value",
            column.name,
            column.kind.as_str(),
            column.kind.as_str()
        ))
    };
    Ok(match (column.kind, value) {
        (_, Value::Null) => Sql::Null,
        (Kind::Integer, Value::Number(n)) => Sql::Integer(n.as_i64().ok_or_else(wrong)?),
        (Kind::Bool, Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        (Kind::Float, Value::Number(n)) => Sql::Real(n.as_f64().ok_or_else(wrong)?),
        (Kind::Float, Value::String(s)) => Sql::Real(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            // A value read back as text (a rollback restoring a row).
            other => other.parse().map_err(|_| wrong())?,
        }),
        (Kind::Bytes, Value::String(s)) => {
            use base64::Engine as _;
            Sql::Blob(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| wrong())?,
            )
        }
        // SQLite's own date functions write a space between date and time.
        (Kind::Timestamp, Value::String(s)) => Sql::Text(s.replacen('T', " ", 1)),
        (_, Value::String(s)) => Sql::Text(s.clone()),
        _ => return Err(wrong()),
    })
}

/// Every assigned value as SQLite stores it.
fn decode_all(
    table: &str,
    assigned: &[Assigned<'_>],
) -> Result<Vec<rusqlite::types::Value>, DbError> {
    assigned.iter().map(|(c, v)| decode(table, c, v)).collect()
}

/// A value a query answered, as text (blobs as base64).
fn answer_text(value: rusqlite::types::ValueRef<'_>) -> Option<String> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => {
            use base64::Engine as _;
            Some(base64::engine::general_purpose::STANDARD.encode(b))
        }
    }
}

impl LoadTarget for SqliteTarget {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        self.catalog = read_catalog(&self.conn).map_err(db_error)?;
        Ok(self.catalog.clone())
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_error)
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(db_error)
    }

    fn mark(&self, _table: &Table, _column: &Column, n: usize) -> String {
        format!("?{n}")
    }

    fn as_text(&self, column: &Column) -> String {
        quote(Engine::Sqlite, &column.name)
    }

    fn execute(&mut self, sql: &str, params: &[Assigned<'_>]) -> Result<u64, DbError> {
        let values = decode_all("", params)?;
        let mut statement = self.conn.prepare_cached(sql).map_err(db_error)?;
        let changed = statement
            .execute(rusqlite::params_from_iter(values))
            .map_err(db_error)?;
        Ok(changed as u64)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Assigned<'_>],
        each: &mut dyn FnMut(TextRow) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let values = decode_all("", params)?;
        let mut statement = self.conn.prepare_cached(sql).map_err(db_error)?;
        let width = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(values))
            .map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let mut texts = Vec::with_capacity(width);
            for i in 0..width {
                texts.push(answer_text(row.get_ref(i).map_err(db_error)?));
            }
            each(texts)?;
        }
        Ok(())
    }

    fn generates(&mut self, table: &Table, column: &Column) -> Result<bool, DbError> {
        // Only a one-column key declared exactly INTEGER is the rowid.
        let Some(found) = self.catalog.iter().find(|t| t.name == table.name) else {
            return Ok(false);
        };
        Ok(found.primary_key.len() == 1
            && found.primary_key[0] == column.name
            && found.columns.iter().any(|(n, declared, _)| {
                *n == column.name && declared.eq_ignore_ascii_case("integer")
            }))
    }

    fn insert_generated(
        &mut self,
        table: &Table,
        row: &[Assigned<'_>],
        _column: &Column,
    ) -> Result<i64, DbError> {
        let sql = insert_sql(self, table, row);
        self.execute(&sql, row)?;
        Ok(self.conn.last_insert_rowid())
    }
}
