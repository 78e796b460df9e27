//! MariaDB and MySQL: the catalog (from `information_schema`, in the
//! connection's database) and an export's rows, read in one `REPEATABLE
//! READ` read-only transaction with a consistent snapshot, the session in
//! UTC. Rows come as the server's text, which is exact, then normalised.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value as MyValue};
use serde_json::Value;

use super::kind::Kind;
use super::schema::{CatalogTable, Column, ForeignKey, Table};
use super::source::{DbError, ExportSource, Row, RowSink, quote, scan_refused, select_sql};
use super::url::Engine;
use super::value;

/// One column of a key as `information_schema` lists it: table,
/// constraint, constraint type, column, referenced table and column.
type KeyColumn = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// A MariaDB or MySQL database opened for an export.
pub struct MysqlSource {
    conn: Conn,
}

/// The server's own message for `e`.
pub(crate) fn message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => m.message.clone(),
        other => crate::error_text::with_causes(other),
    }
}

fn db_error(e: mysql::Error) -> DbError {
    DbError::Database(message(&e))
}

impl MysqlSource {
    /// Connects to `url` and starts the read-only snapshot.
    pub fn open(url: &str, shown: &str) -> Result<MysqlSource, DbError> {
        let opts = Opts::from_url(url).map_err(|e| DbError::Invalid(format!("{shown}: {e}")))?;
        let mut conn = Conn::new(opts).map_err(|e| {
            DbError::Database(format!("cannot connect to {shown}: {}", message(&e)))
        })?;
        for statement in [
            "SET SESSION time_zone = '+00:00'",
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        ] {
            conn.query_drop(statement).map_err(db_error)?;
        }
        Ok(MysqlSource { conn })
    }
}

/// `v` as text (the text protocol sends every value so).
fn text(v: &MyValue) -> Option<String> {
    match v {
        MyValue::NULL => None,
        MyValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        MyValue::Int(i) => Some(i.to_string()),
        MyValue::UInt(u) => Some(u.to_string()),
        MyValue::Float(f) => Some(f.to_string()),
        MyValue::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn encode(table: &str, column: &Column, raw: &MyValue) -> Result<Value, DbError> {
    let wrong = |what: String| {
        DbError::Invalid(format!(
            "{table}.{} ({}): {what}",
            column.name, column.declared
        ))
    };
    if let (Kind::Bytes, MyValue::Bytes(b)) = (column.kind, raw) {
        return Ok(value::bytes(b));
    }
    let Some(t) = text(raw) else {
        return Ok(Value::Null);
    };
    if let MyValue::Bytes(b) = raw
        && std::str::from_utf8(b).is_err()
    {
        return Err(wrong("holds text that is not UTF-8".into()));
    }
    Ok(match column.kind {
        Kind::Integer => match t.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(t.parse::<u64>().map_err(|e| wrong(format!("`{t}`: {e}")))?),
        },
        Kind::Bool => Value::Bool(t != "0"),
        Kind::Float => value::float(t.parse::<f64>().map_err(|e| wrong(format!("`{t}`: {e}")))?),
        Kind::Decimal => value::decimal(&t).map_err(wrong)?,
        Kind::Timestamp => value::timestamp(&t).map_err(wrong)?,
        Kind::Timestamptz => value::timestamptz(&t).map_err(wrong)?,
        Kind::Date => value::date(&t).map_err(wrong)?,
        Kind::Time => value::time(&t).map_err(wrong)?,
        Kind::Json => value::json(&t).map_err(wrong)?,
        Kind::Bytes => value::bytes(t.as_bytes()),
        Kind::Text | Kind::Uuid => Value::String(t),
    })
}

/// Every table of the connection's database.
pub fn read_catalog(conn: &mut Conn) -> Result<Vec<CatalogTable>, DbError> {
    let columns: Vec<(String, String, String, String)> = conn
        .query(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
        )
        .map_err(db_error)?;
    let mut tables: Vec<CatalogTable> = Vec::new();
    for (table, column, declared, nullable) in columns {
        if tables.last().is_none_or(|t| t.name != table) {
            tables.push(CatalogTable {
                name: table.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                unique: Vec::new(),
            });
        }
        if let Some(t) = tables.last_mut() {
            t.columns.push((column, declared, nullable == "YES"));
        }
    }
    let keys: Vec<KeyColumn> = conn
        .query(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, c.CONSTRAINT_TYPE, k.COLUMN_NAME, \
                    k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.TABLE_CONSTRAINTS c \
               ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME \
              AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             WHERE k.TABLE_SCHEMA = DATABASE() \
               AND c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        )
        .map_err(db_error)?;
    let mut last: Option<(String, String)> = None;
    for (table, constraint, kind, column, parent, parent_column) in keys {
        let Some(t) = tables.iter_mut().find(|t| t.name == table) else {
            continue;
        };
        let same = last.as_ref() == Some(&(table.clone(), constraint.clone()));
        match kind.as_str() {
            "PRIMARY KEY" => t.primary_key.push(column),
            "UNIQUE" => {
                if !same {
                    t.unique.push(Vec::new());
                }
                if let Some(u) = t.unique.last_mut() {
                    u.push(column);
                }
            }
            _ => {
                if !same {
                    t.foreign_keys.push(ForeignKey {
                        columns: Vec::new(),
                        table: parent.unwrap_or_default(),
                        references: Vec::new(),
                    });
                }
                if let Some(fk) = t.foreign_keys.last_mut() {
                    fk.columns.push(column);
                    fk.references.push(parent_column.unwrap_or_default());
                }
            }
        }
        last = Some((table, constraint));
    }
    for t in &mut tables {
        t.foreign_keys
            .sort_by(|a, b| (&a.columns, &a.table).cmp(&(&b.columns, &b.table)));
        t.unique.sort();
    }
    Ok(tables)
}

impl ExportSource for MysqlSource {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        read_catalog(&mut self.conn)
    }

    fn scan(
        &mut self,
        table: &Table,
        columns: &[Column],
        predicate: Option<&str>,
        each: &mut RowSink<'_>,
    ) -> Result<(), DbError> {
        let list: Vec<String> = columns
            .iter()
            .map(|c| quote(Engine::Mysql, &c.name))
            .collect();
        let sql = select_sql(Engine::Mysql, table, &list, predicate);
        let mut result = self
            .conn
            .query_iter(&sql)
            .map_err(|e| scan_refused(&table.name, predicate, &message(&e)))?;
        if let Some(set) = result.iter() {
            let mut out = Row::default();
            for row in set {
                let row = row.map_err(db_error)?;
                out.clear();
                for (i, column) in columns.iter().enumerate() {
                    let raw = row.as_ref(i).unwrap_or(&MyValue::NULL);
                    out.push_value(&encode(&table.name, column, raw)?);
                }
                each(&out)?;
            }
        }
        Ok(())
    }
}
