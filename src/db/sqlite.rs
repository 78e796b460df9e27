//! SQLite: its catalog (tables, columns with declared types and
//! nullability, primary keys (composite too), foreign keys and unique
//! constraints, read through its pragmas), and an export's rows, read in
//! one read-only transaction.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use super::kind::Kind;
use super::schema::{CatalogTable, Column, ForeignKey, Table};
use super::source::{DbError, ExportSource, Row, RowSink, quote, scan_refused, select_sql};
use super::url::Engine;
use super::value;

/// A SQLite file opened read-only, inside one transaction (one snapshot).
pub struct SqliteSource {
    conn: Connection,
}

pub(crate) fn db_error(e: rusqlite::Error) -> DbError {
    DbError::Database(e.to_string())
}

impl SqliteSource {
    /// Opens `path` read-only and starts the snapshot.
    pub fn open(path: &Path) -> Result<SqliteSource, DbError> {
        if !path.is_file() {
            return Err(DbError::Invalid(format!(
                "sqlite:{}: no such database file",
                path.display()
            )));
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
                DbError::Database(format!("cannot open sqlite:{}: {e}", path.display()))
            })?;
        conn.execute_batch("PRAGMA query_only = ON; BEGIN DEFERRED")
            .map_err(db_error)?;
        Ok(SqliteSource { conn })
    }
}

/// `raw` as column `column`'s JSON value.
fn encode(table: &str, column: &Column, raw: ValueRef<'_>) -> Result<Value, DbError> {
    let wrong = |what: String| {
        DbError::Invalid(format!(
            "{table}.{} ({}): {what}",
            column.name,
            column.kind.as_str()
        ))
    };
    let text = |b: &[u8]| -> Result<String, DbError> {
        String::from_utf8(b.to_vec()).map_err(|_| wrong("holds text that is not UTF-8".into()))
    };
    Ok(match (column.kind, raw) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Integer, ValueRef::Integer(i)) => Value::from(i),
        (Kind::Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (Kind::Float, ValueRef::Real(f)) => value::float(f),
        (Kind::Float, ValueRef::Integer(i)) => value::float(i as f64),
        (Kind::Decimal, ValueRef::Integer(i)) => Value::String(i.to_string()),
        (Kind::Decimal, ValueRef::Real(f)) => Value::String(f.to_string()),
        (Kind::Decimal, ValueRef::Text(t)) => value::decimal(&text(t)?).map_err(wrong)?,
        (Kind::Text | Kind::Uuid, ValueRef::Text(t)) => Value::String(text(t)?),
        (Kind::Bytes, ValueRef::Blob(b) | ValueRef::Text(b)) => value::bytes(b),
        (Kind::Timestamp, ValueRef::Text(t)) => value::timestamp(&text(t)?).map_err(wrong)?,
        (Kind::Timestamptz, ValueRef::Text(t)) => value::timestamptz(&text(t)?).map_err(wrong)?,
        (Kind::Date, ValueRef::Text(t)) => value::date(&text(t)?).map_err(wrong)?,
        (Kind::Time, ValueRef::Text(t)) => value::time(&text(t)?).map_err(wrong)?,
        (Kind::Json, ValueRef::Text(t)) => value::json(&text(t)?).map_err(wrong)?,
        (_, other) => {
            return Err(wrong(format!("holds a {:?} value", other.data_type())));
        }
    })
}

impl ExportSource for SqliteSource {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        read_catalog(&self.conn).map_err(db_error)
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
            .map(|c| quote(Engine::Sqlite, &c.name))
            .collect();
        let sql = select_sql(Engine::Sqlite, table, &list, predicate);
        let mut statement = self
            .conn
            .prepare(&sql)
            .map_err(|e| scan_refused(&table.name, predicate, &e.to_string()))?;
        let mut rows = statement.query([]).map_err(db_error)?;
        let mut out = Row::default();
        while let Some(row) = rows.next().map_err(db_error)? {
            out.clear();
            for (i, column) in columns.iter().enumerate() {
                match (column.kind, row.get_ref(i).map_err(db_error)?) {
                    (_, ValueRef::Null) => out.push_null(),
                    (Kind::Integer, ValueRef::Integer(n)) => out.push_i64(n),
                    (Kind::Text | Kind::Uuid, ValueRef::Text(t)) => match std::str::from_utf8(t) {
                        Ok(t) => out.push_str(t),
                        Err(_) => out.push_value(&encode(&table.name, column, ValueRef::Text(t))?),
                    },
                    (_, raw) => out.push_value(&encode(&table.name, column, raw)?),
                }
            }
            each(&out)?;
        }
        Ok(())
    }
}

/// Every table of `conn`'s main database (SQLite's own excepted), by name.
pub fn read_catalog(conn: &Connection) -> rusqlite::Result<Vec<CatalogTable>> {
    let mut names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    names.dedup();
    names.into_iter().map(|name| table(conn, name)).collect()
}

fn table(conn: &Connection, name: String) -> rusqlite::Result<CatalogTable> {
    // (cid, name, type, notnull, default, pk position)
    let mut columns = Vec::new();
    let mut keyed: Vec<(i64, String)> = Vec::new();
    let mut info = conn.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")?;
    let mut rows = info.query([&name])?;
    while let Some(row) = rows.next()? {
        let column: String = row.get(0)?;
        let declared: String = row.get(1)?;
        let not_null: bool = row.get(2)?;
        let pk: i64 = row.get(3)?;
        if pk > 0 {
            keyed.push((pk, column.clone()));
        }
        // A primary key column is never NULL in a rowid table.
        columns.push((column, declared, !not_null && pk == 0));
    }
    keyed.sort();
    let primary_key = keyed.into_iter().map(|(_, c)| c).collect();
    // (id, seq, table, from, to): one row per column of each key.
    let mut foreign_keys: Vec<(i64, ForeignKey)> = Vec::new();
    let mut fks = conn.prepare(
        "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let mut rows = fks.query([&name])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let parent: String = row.get(1)?;
        let from: String = row.get(2)?;
        let to: Option<String> = row.get(3)?;
        if foreign_keys.last().is_none_or(|(last, _)| *last != id) {
            foreign_keys.push((
                id,
                ForeignKey {
                    columns: Vec::new(),
                    table: parent,
                    references: Vec::new(),
                },
            ));
        }
        if let Some((_, fk)) = foreign_keys.last_mut() {
            fk.columns.push(from);
            fk.references.push(to.unwrap_or_default());
        }
    }
    let mut foreign_keys: Vec<ForeignKey> = foreign_keys.into_iter().map(|(_, fk)| fk).collect();
    // A key naming no parent columns references the parent's primary key.
    for fk in &mut foreign_keys {
        if fk.references.iter().any(String::is_empty) {
            let parent_pk: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?
                .query_map([&fk.table], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            fk.references = parent_pk;
        }
    }
    foreign_keys.sort_by(|a, b| (&a.columns, &a.table).cmp(&(&b.columns, &b.table)));
    let mut unique = Vec::new();
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1 AND origin = 'u' ORDER BY name")?
        .query_map([&name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for index in indexes {
        let cols: Vec<String> = conn
            .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?
            .query_map([&index], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        unique.push(cols);
    }
    unique.sort();
    Ok(CatalogTable {
        name,
        columns,
        primary_key,
        foreign_keys,
        unique,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::kind::Kind;
    use crate::db::schema::insert_order;
    use crate::db::url::Engine;

    /// The schema the database tests use.
    pub(crate) const SCHEMA: &str = "
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(80) UNIQUE, balance NUMERIC(12,2));
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), placed_at TIMESTAMP, paid BOOLEAN);
        CREATE TABLE products (sku TEXT, region TEXT, price NUMERIC(10,2), PRIMARY KEY (sku, region));
        CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id), sku TEXT NOT NULL, region TEXT NOT NULL, qty INTEGER,
            PRIMARY KEY (order_id, sku, region), FOREIGN KEY (sku, region) REFERENCES products (sku, region));
        CREATE TABLE employees (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES employees(id), photo BLOB, meta JSON);
        CREATE TABLE teams (id INTEGER PRIMARY KEY, lead_id INTEGER REFERENCES members(id));
        CREATE TABLE members (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES teams(id));
        CREATE TABLE odd (id INTEGER PRIMARY KEY, shape GEOMETRY);
    ";

    #[test]
    fn reads_keys_types_and_orders_inserts() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let catalog = read_catalog(&conn).unwrap();
        let names: Vec<&str> = catalog.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "customers",
                "employees",
                "members",
                "odd",
                "order_items",
                "orders",
                "products",
                "teams"
            ]
        );
        let items = catalog.iter().find(|t| t.name == "order_items").unwrap();
        assert_eq!(items.primary_key, ["order_id", "sku", "region"]);
        let composite = items
            .foreign_keys
            .iter()
            .find(|f| f.table == "products")
            .unwrap();
        assert_eq!(composite.columns, ["sku", "region"]);
        assert_eq!(composite.references, ["sku", "region"]);
        let customers = catalog[0].typed(Engine::Sqlite).unwrap();
        assert_eq!(customers.unique, vec![vec!["email".to_string()]]);
        assert_eq!(customers.column("balance").unwrap().kind, Kind::Decimal);
        assert!(!customers.column("id").unwrap().nullable);
        let odd = catalog.iter().find(|t| t.name == "odd").unwrap();
        let err = odd.typed(Engine::Sqlite).unwrap_err();
        assert!(err.contains("odd.shape (GEOMETRY)"), "{err}");
        let typed: Vec<_> = catalog
            .iter()
            .filter(|t| t.name != "odd")
            .map(|t| t.typed(Engine::Sqlite).unwrap())
            .collect();
        let order = insert_order(&typed).unwrap();
        let pos = |n: &str| order.tables.iter().position(|t| t == n).unwrap();
        assert!(pos("customers") < pos("orders") && pos("orders") < pos("order_items"));
        assert!(pos("products") < pos("order_items"));
        assert!(pos("teams") < pos("members"), "{order:?}");
        let deferred: Vec<&str> = order.deferred.iter().map(|d| d.table.as_str()).collect();
        assert_eq!(deferred, ["employees", "teams"]);
    }
}
