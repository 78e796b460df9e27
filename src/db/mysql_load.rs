//! MariaDB and MySQL as a load target: every value is sent as text, which
//! the server converts to the column's type (bytes through `FROM_BASE64`,
//! instants in the session's UTC), in one transaction.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value as MyValue};
use serde_json::Value;

use super::kind::Kind;
use super::load::{Assigned, LoadTarget, exists_sql, insert_sql, update_sql};
use super::mysql::message;
use super::schema::{CatalogTable, Column, Table};
use super::source::DbError;
use super::url::Engine;

/// A MariaDB or MySQL database a load writes into.
pub struct MysqlTarget {
    conn: Conn,
}

impl MysqlTarget {
    /// Connects to `url`.
    pub fn open(url: &str, shown: &str) -> Result<MysqlTarget, DbError> {
        let opts = Opts::from_url(url).map_err(|e| DbError::Invalid(format!("{shown}: {e}")))?;
        let mut conn = Conn::new(opts).map_err(|e| {
            DbError::Database(format!("cannot connect to {shown}: {}", message(&e)))
        })?;
        conn.query_drop("SET SESSION time_zone = '+00:00'")
            .map_err(|e| DbError::Database(message(&e)))?;
        Ok(MysqlTarget { conn })
    }

    fn run(&mut self, sql: &str, values: Vec<MyValue>, what: &str) -> Result<(), DbError> {
        self.conn
            .exec_drop(sql, values)
            .map_err(|e| DbError::Database(format!("{what}: {}", message(&e))))
    }
}

/// `?` for column `column` (bytes arrive as base64).
fn mark(column: &Column) -> &'static str {
    if column.kind == Kind::Bytes {
        "FROM_BASE64(?)"
    } else {
        "?"
    }
}

/// `value` as the text the server converts for column `column`.
fn param(table: &str, column: &Column, value: &Value) -> Result<MyValue, DbError> {
    Ok(match value {
        Value::Null => MyValue::NULL,
        Value::Bool(b) => MyValue::Bytes(if *b { b"1".to_vec() } else { b"0".to_vec() }),
        Value::Number(n) => MyValue::Bytes(n.to_string().into_bytes()),
        Value::String(s) => {
            let text = match column.kind {
                // DATETIME and TIMESTAMP take a space, and no zone (the
                // session is in UTC).
                Kind::Timestamp | Kind::Timestamptz => {
                    s.trim_end_matches('Z').replacen('T', " ", 1)
                }
                _ => s.clone(),
            };
            MyValue::Bytes(text.into_bytes())
        }
        other => {
            return Err(DbError::Invalid(format!(
                "{table}.{} ({}): `{other}` is not a value pkg writes",
                column.name,
                column.kind.as_str()
            )));
        }
    })
}

fn params(table: &str, assigned: &[Assigned<'_>]) -> Result<Vec<MyValue>, DbError> {
    assigned.iter().map(|(c, v)| param(table, c, v)).collect()
}

impl LoadTarget for MysqlTarget {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        super::mysql::read_catalog(&mut self.conn)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.conn
            .query_drop("START TRANSACTION")
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn
            .query_drop("COMMIT")
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.conn
            .query_drop("ROLLBACK")
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn
            .query_drop(sql)
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn exists(&mut self, table: &Table, key: &[Assigned<'_>]) -> Result<bool, DbError> {
        let sql = exists_sql(Engine::Mysql, table, key, &|_, c| mark(c).into());
        let found: Option<i64> = self
            .conn
            .exec_first(sql, params(&table.name, key)?)
            .map_err(|e| DbError::Database(message(&e)))?;
        Ok(found.is_some())
    }

    fn insert(&mut self, table: &Table, row: &[Assigned<'_>]) -> Result<(), DbError> {
        let sql = insert_sql(Engine::Mysql, table, row, &|_, c| mark(c).into());
        let values = params(&table.name, row)?;
        self.run(&sql, values, &format!("inserting into `{}`", table.name))
    }

    fn update(
        &mut self,
        table: &Table,
        set: &[Assigned<'_>],
        key: &[Assigned<'_>],
    ) -> Result<(), DbError> {
        let sql = update_sql(Engine::Mysql, table, set, key, &|_, c| mark(c).into());
        let mut values = params(&table.name, set)?;
        values.extend(params(&table.name, key)?);
        self.run(&sql, values, &format!("updating `{}`", table.name))
    }
}
