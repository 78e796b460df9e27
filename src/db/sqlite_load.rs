//! SQLite as a load target: values decoded from their lossless JSON form
//! into SQLite's storage classes, foreign keys enforced, one immediate
//! transaction.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;

use super::kind::Kind;
use super::load::{Assigned, exists_sql, insert_sql, update_sql};
use super::schema::{CatalogTable, Column, Table};
use super::source::DbError;
use super::sqlite::{db_error, read_catalog};
use super::url::Engine;

/// A SQLite file a load writes into, with foreign keys enforced.
pub struct SqliteTarget {
    conn: Connection,
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
        Ok(SqliteTarget { conn })
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
            _ => return Err(wrong()),
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

impl crate::db::load::LoadTarget for SqliteTarget {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        read_catalog(&self.conn).map_err(db_error)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("COMMIT").map_err(db_error)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("ROLLBACK").map_err(db_error)
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(db_error)
    }

    fn exists(&mut self, table: &Table, key: &[Assigned<'_>]) -> Result<bool, DbError> {
        let sql = exists_sql(Engine::Sqlite, table, key, &|_, _| "?".into());
        let params = decode_all(&table.name, key)?;
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement
            .exists(rusqlite::params_from_iter(params))
            .map_err(db_error)
    }

    fn insert(&mut self, table: &Table, row: &[Assigned<'_>]) -> Result<(), DbError> {
        let sql = insert_sql(Engine::Sqlite, table, row, &|_, _| "?".into());
        let params = decode_all(&table.name, row)?;
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement
            .execute(rusqlite::params_from_iter(params))
            .map_err(|e| DbError::Database(format!("inserting into `{}`: {e}", table.name)))?;
        Ok(())
    }

    fn update(
        &mut self,
        table: &Table,
        set: &[Assigned<'_>],
        key: &[Assigned<'_>],
    ) -> Result<(), DbError> {
        let sql = update_sql(Engine::Sqlite, table, set, key, &|_, _| "?".into());
        let mut params = decode_all(&table.name, set)?;
        params.extend(decode_all(&table.name, key)?);
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement
            .execute(rusqlite::params_from_iter(params))
            .map_err(|e| DbError::Database(format!("updating `{}`: {e}", table.name)))?;
        Ok(())
    }
}
