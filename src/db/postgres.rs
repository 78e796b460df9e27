//! PostgreSQL: its catalog (from `pg_attribute` and `pg_constraint`, in
//! the current schema) and an export's rows, read in one `REPEATABLE READ
//! READ ONLY` transaction (one snapshot for every table), with the session
//! in UTC. Exact types (numeric, dates and times, json, uuid) are read as
//! PostgreSQL's own text, which is exact, then normalised.

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use serde_json::Value;

use super::kind::Kind;
use super::schema::{CatalogTable, Column, ForeignKey, Table};
use super::source::{DbError, ExportSource, RowSink, quote, scan_refused, select_sql};
use super::url::Engine;
use super::value;

/// A PostgreSQL database opened for an export.
pub struct PostgresSource {
    client: Client,
}

/// The database's own message for `e`.
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => crate::error_text::with_causes(e),
    }
}

fn db_error(e: postgres::Error) -> DbError {
    DbError::Database(message(&e))
}

impl PostgresSource {
    /// Connects to `url` and starts the read-only snapshot.
    pub fn open(url: &str, shown: &str) -> Result<PostgresSource, DbError> {
        let mut client = Client::connect(url, NoTls).map_err(|e| {
            DbError::Database(format!("cannot connect to {shown}: {}", message(&e)))
        })?;
        client
            .batch_execute("SET TIME ZONE 'UTC'; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(db_error)?;
        Ok(PostgresSource { client })
    }
}

const COLUMNS: &str = "
    SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "
    SELECT c.relname::text, con.contype::text,
      ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
      coalesce(f.relname::text, ''),
      ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class f ON f.oid = con.confrelid
    WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f', 'u')
    ORDER BY c.relname, con.conname";

/// The select expression reading `column` in the form [`encode`] expects.
fn select(column: &Column) -> String {
    let q = quote(Engine::Postgres, &column.name);
    match column.kind {
        Kind::Integer => format!("{q}::int8"),
        Kind::Float => format!("{q}::float8"),
        Kind::Bool | Kind::Bytes => q,
        _ => format!("{q}::text"),
    }
}

fn encode(table: &str, column: &Column, row: &postgres::Row, i: usize) -> Result<Value, DbError> {
    let wrong = |what: String| {
        DbError::Invalid(format!(
            "{table}.{} ({}): {what}",
            column.name, column.declared
        ))
    };
    let get = |e: postgres::Error| wrong(message(&e));
    Ok(match column.kind {
        Kind::Integer => row
            .try_get::<_, Option<i64>>(i)
            .map_err(get)?
            .map_or(Value::Null, Value::from),
        Kind::Float => row
            .try_get::<_, Option<f64>>(i)
            .map_err(get)?
            .map_or(Value::Null, value::float),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(i)
            .map_err(get)?
            .map_or(Value::Null, Value::Bool),
        Kind::Bytes => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(get)?
            .map_or(Value::Null, |b| value::bytes(&b)),
        kind => match row.try_get::<_, Option<String>>(i).map_err(get)? {
            None => Value::Null,
            Some(text) => match kind {
                Kind::Decimal => value::decimal(&text).map_err(wrong)?,
                Kind::Timestamp => value::timestamp(&text).map_err(wrong)?,
                Kind::Timestamptz => value::timestamptz(&text).map_err(wrong)?,
                Kind::Date => value::date(&text).map_err(wrong)?,
                Kind::Time => value::time(&text).map_err(wrong)?,
                _ => Value::String(text),
            },
        },
    })
}

/// Every table of the current schema.
pub fn read_catalog(client: &mut Client) -> Result<Vec<CatalogTable>, DbError> {
    let mut tables: Vec<CatalogTable> = Vec::new();
    for row in client.query(COLUMNS, &[]).map_err(db_error)? {
        let name: String = row.get(0);
        if tables.last().is_none_or(|t| t.name != name) {
            tables.push(CatalogTable {
                name: name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                unique: Vec::new(),
            });
        }
        if let Some(t) = tables.last_mut() {
            t.columns.push((row.get(1), row.get(2), row.get(3)));
        }
    }
    for row in client.query(CONSTRAINTS, &[]).map_err(db_error)? {
        let name: String = row.get(0);
        let Some(t) = tables.iter_mut().find(|t| t.name == name) else {
            continue;
        };
        let kind: String = row.get(1);
        let columns: Vec<String> = row.get(2);
        match kind.as_str() {
            "p" => t.primary_key = columns,
            "u" => t.unique.push(columns),
            _ => t.foreign_keys.push(ForeignKey {
                columns,
                table: row.get(3),
                references: row.get(4),
            }),
        }
    }
    for t in &mut tables {
        t.foreign_keys
            .sort_by(|a, b| (&a.columns, &a.table).cmp(&(&b.columns, &b.table)));
        t.unique.sort();
    }
    Ok(tables)
}

impl ExportSource for PostgresSource {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        read_catalog(&mut self.client)
    }

    fn scan(
        &mut self,
        table: &Table,
        columns: &[Column],
        predicate: Option<&str>,
        each: &mut RowSink<'_>,
    ) -> Result<(), DbError> {
        let list: Vec<String> = columns.iter().map(select).collect();
        let sql = select_sql(Engine::Postgres, table, &list, predicate);
        let mut rows = self
            .client
            .query_raw(&sql, std::iter::empty::<&str>())
            .map_err(|e| scan_refused(&table.name, predicate, &message(&e)))?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter().enumerate() {
                values.push(encode(&table.name, column, &row, i)?);
            }
            each(values)?;
        }
        Ok(())
    }
}
