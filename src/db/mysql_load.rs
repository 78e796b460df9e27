//! MariaDB and MySQL as a load target: every value is sent as text, which
//! the server converts to the column's type (bytes through `FROM_BASE64`,
//! instants in the session's UTC). Bulk inserts are multi-row `INSERT`s;
//! an autoincrement key is read back after each row's insert.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value as MyValue};
use serde_json::Value;

use super::kind::Kind;
use super::mysql::message;
use super::schema::{CatalogTable, Column, Table};
use super::source::{DbError, quote};
use super::target::{Assigned, LoadTarget, TextRow, insert_sql};
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

    fn run(&mut self, sql: &str, values: Vec<MyValue>) -> Result<u64, DbError> {
        self.conn
            .exec_drop(sql, values)
            .map_err(|e| DbError::Database(message(&e)))?;
        Ok(self.conn.affected_rows())
    }
}

/// Parameters one multi-row `INSERT` carries at most (the protocol's
/// limit is 65,535).
const PARAMS_PER_INSERT: usize = 60_000;

/// Rows one multi-row `INSERT` carries at most.
const ROWS_PER_INSERT: usize = 1000;

/// `?` for column `column` (bytes arrive as base64).
fn placeholder(column: &Column) -> &'static str {
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

/// A value a query answered, as text.
fn answer_text(value: MyValue) -> Option<String> {
    match value {
        MyValue::NULL => None,
        MyValue::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        MyValue::Int(i) => Some(i.to_string()),
        MyValue::UInt(u) => Some(u.to_string()),
        MyValue::Float(f) => Some(f.to_string()),
        MyValue::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

impl LoadTarget for MysqlTarget {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        super::mysql::read_catalog(&mut self.conn)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.run_sql("START TRANSACTION")
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn
            .query_drop(sql)
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn mark(&self, _table: &Table, column: &Column, _n: usize) -> String {
        placeholder(column).into()
    }

    fn as_text(&self, column: &Column) -> String {
        let name = quote(Engine::Mysql, &column.name);
        if column.kind == Kind::Bytes {
            format!("TO_BASE64({name})")
        } else {
            format!("CAST({name} AS CHAR)")
        }
    }

    fn execute(&mut self, sql: &str, params: &[Assigned<'_>]) -> Result<u64, DbError> {
        let values = self::params("", params)?;
        self.run(sql, values)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Assigned<'_>],
        each: &mut dyn FnMut(TextRow) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let values = self::params("", params)?;
        let result = self
            .conn
            .exec_iter(sql, values)
            .map_err(|e| DbError::Database(message(&e)))?;
        for row in result {
            let mut row = row.map_err(|e| DbError::Database(message(&e)))?;
            let texts = (0..row.len())
                .map(|i| row.take::<MyValue, _>(i).and_then(answer_text))
                .collect();
            each(texts)?;
        }
        Ok(())
    }

    fn generates(&mut self, table: &Table, column: &Column) -> Result<bool, DbError> {
        let extra: Option<String> = self
            .conn
            .exec_first(
                "SELECT EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                (&table.name, &column.name),
            )
            .map_err(|e| DbError::Database(message(&e)))?;
        Ok(extra.is_some_and(|e| e.to_ascii_lowercase().contains("auto_increment")))
    }

    fn insert_generated(
        &mut self,
        table: &Table,
        row: &[Assigned<'_>],
        _column: &Column,
    ) -> Result<i64, DbError> {
        let sql = insert_sql(self, table, row);
        let values = params(&table.name, row)?;
        self.run(&sql, values)?;
        i64::try_from(self.conn.last_insert_id())
            .map_err(|_| DbError::Database("the new key does not fit 64 bits".into()))
    }

    fn insert_many(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<(), DbError> {
        let width = table.columns.len().max(1);
        let per = (PARAMS_PER_INSERT / width).clamp(1, ROWS_PER_INSERT);
        let names: Vec<String> = table
            .columns
            .iter()
            .map(|c| quote(Engine::Mysql, &c.name))
            .collect();
        let tuple = format!(
            "({})",
            table
                .columns
                .iter()
                .map(placeholder)
                .collect::<Vec<_>>()
                .join(", ")
        );
        for chunk in rows.chunks(per) {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                quote(Engine::Mysql, &table.name),
                names.join(", "),
                vec![tuple.as_str(); chunk.len()].join(", ")
            );
            let mut values = Vec::with_capacity(chunk.len() * width);
            for row in chunk {
                for (column, value) in table.columns.iter().zip(row) {
                    values.push(param(&table.name, column, value)?);
                }
            }
            self.run(&sql, values)?;
        }
        Ok(())
    }
}
