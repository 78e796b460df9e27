//! PostgreSQL as a load target: every value is sent as text and cast in
//! the statement to the target column's own type (`$1::text::numeric(12,2)`,
//! `decode($2, 'base64')` for bytea), which PostgreSQL parses exactly. Bulk
//! inserts go through `COPY ... FROM STDIN` (text format), and generated
//! keys are taken from the column's sequence in one query per batch.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use serde_json::Value;

use super::kind::Kind;
use super::schema::{CatalogTable, Column, Table};
use super::source::{DbError, quote};
use super::target::{Assigned, LoadTarget, TextRow, insert_sql};
use super::url::Engine;

/// A PostgreSQL database a load writes into.
pub struct PostgresTarget {
    client: Client,
    /// Table → column → the type the target declares.
    declared: HashMap<String, HashMap<String, String>>,
    statements: HashMap<String, Statement>,
    /// Table → column → the sequence that feeds it (`None`: none).
    sequences: HashMap<(String, String), Option<String>>,
}

fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => crate::error_text::with_causes(e),
    }
}

impl PostgresTarget {
    /// Connects to `url`.
    pub fn open(url: &str, shown: &str) -> Result<PostgresTarget, DbError> {
        let client = Client::connect(url, NoTls).map_err(|e| {
            DbError::Database(format!("cannot connect to {shown}: {}", message(&e)))
        })?;
        Ok(PostgresTarget {
            client,
            declared: HashMap::new(),
            statements: HashMap::new(),
            sequences: HashMap::new(),
        })
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self
            .client
            .prepare(sql)
            .map_err(|e| DbError::Database(message(&e)))?;
        self.statements.insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    fn params(values: &[Option<String>]) -> Vec<&(dyn ToSql + Sync)> {
        values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
    }

    /// The sequence feeding `table.column`, if any.
    fn sequence(&mut self, table: &Table, column: &Column) -> Result<Option<String>, DbError> {
        let cache_key = (table.name.clone(), column.name.clone());
        if let Some(found) = self.sequences.get(&cache_key) {
            return Ok(found.clone());
        }
        let row = self
            .client
            .query_one(
                "SELECT pg_get_serial_sequence($1, $2)",
                &[&quote(Engine::Postgres, &table.name), &column.name],
            )
            .map_err(|e| DbError::Database(message(&e)))?;
        let found: Option<String> = row.get(0);
        self.sequences.insert(cache_key, found.clone());
        Ok(found)
    }
}

/// `value` as the text PostgreSQL parses for column `column`.
fn text(table: &str, column: &Column, value: &Value) -> Result<Option<String>, DbError> {
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => {
            return Err(DbError::Invalid(format!(
                "{table}.{} ({}): `{other}` is not a value pkg writes",
                column.name,
                column.kind.as_str()
            )));
        }
    })
}

/// Every assigned value as text.
fn texts(table: &str, assigned: &[Assigned<'_>]) -> Result<Vec<Option<String>>, DbError> {
    assigned.iter().map(|(c, v)| text(table, c, v)).collect()
}

/// Appends `value` to a `COPY` text-format line.
fn copy_value(
    out: &mut Vec<u8>,
    table: &str,
    column: &Column,
    value: &Value,
) -> Result<(), DbError> {
    if column.kind == Kind::Bytes
        && let Value::String(b64) = value
    {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| {
                DbError::Invalid(format!(
                    "{table}.{} (bytes): the value is not base64",
                    column.name
                ))
            })?;
        out.extend_from_slice(b"\\\\x");
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in bytes {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
        return Ok(());
    }
    match text(table, column, value)? {
        None => out.extend_from_slice(b"\\N"),
        Some(t) => {
            for byte in t.bytes() {
                match byte {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    other => out.push(other),
                }
            }
        }
    }
    Ok(())
}

impl LoadTarget for PostgresTarget {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        let catalog = super::postgres::read_catalog(&mut self.client)?;
        self.declared = catalog
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.columns
                        .iter()
                        .map(|(c, d, _)| (c.clone(), d.clone()))
                        .collect(),
                )
            })
            .collect();
        Ok(catalog)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.run_sql("SET TIME ZONE 'UTC'; BEGIN")
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn mark(&self, table: &Table, column: &Column, n: usize) -> String {
        if column.kind == Kind::Bytes {
            return format!("decode(${n}, 'base64')");
        }
        let declared = self
            .declared
            .get(&table.name)
            .and_then(|t| t.get(&column.name))
            .map(String::as_str)
            .unwrap_or("text");
        format!("${n}::text::{declared}")
    }

    fn as_text(&self, column: &Column) -> String {
        let name = quote(Engine::Postgres, &column.name);
        if column.kind == Kind::Bytes {
            format!("encode({name}, 'base64')")
        } else {
            format!("{name}::text")
        }
    }

    fn execute(&mut self, sql: &str, params: &[Assigned<'_>]) -> Result<u64, DbError> {
        let values = texts("", params)?;
        let statement = self.statement(sql)?;
        self.client
            .execute(&statement, &Self::params(&values))
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Assigned<'_>],
        each: &mut dyn FnMut(TextRow) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let values = texts("", params)?;
        let statement = self.statement(sql)?;
        let mut rows = self
            .client
            .query_raw(&statement, Self::params(&values))
            .map_err(|e| DbError::Database(message(&e)))?;
        while let Some(row) = rows.next().map_err(|e| DbError::Database(message(&e)))? {
            let texts = (0..row.len())
                .map(|i| {
                    row.try_get::<_, Option<String>>(i)
                        .map_err(|e| DbError::Database(message(&e)))
                })
                .collect::<Result<TextRow, DbError>>()?;
            each(texts)?;
        }
        Ok(())
    }

    fn fingerprint_sql(&self, columns: &[&Column]) -> Option<String> {
        let names: Vec<String> = columns
            .iter()
            .map(|c| quote(Engine::Postgres, &c.name))
            .collect();
        Some(format!("md5(ROW({})::text)", names.join(", ")))
    }

    fn insert_clause(&self) -> &'static str {
        " OVERRIDING SYSTEM VALUE"
    }

    fn analyze(&mut self, table: &Table) -> Result<(), DbError> {
        self.run_sql(&format!("ANALYZE {}", quote(Engine::Postgres, &table.name)))
    }

    fn generates(&mut self, table: &Table, column: &Column) -> Result<bool, DbError> {
        Ok(self.sequence(table, column)?.is_some())
    }

    fn insert_generated(
        &mut self,
        table: &Table,
        row: &[Assigned<'_>],
        column: &Column,
    ) -> Result<i64, DbError> {
        let sql = format!(
            "{} RETURNING {}",
            insert_sql(self, table, row),
            quote(Engine::Postgres, &column.name)
        );
        let values = texts(&table.name, row)?;
        let statement = self.statement(&sql)?;
        let got = self
            .client
            .query_one(&statement, &Self::params(&values))
            .map_err(|e| DbError::Database(message(&e)))?;
        got.try_get::<_, i64>(0)
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn reserve(
        &mut self,
        table: &Table,
        column: &Column,
        n: usize,
    ) -> Result<Option<Vec<i64>>, DbError> {
        let Some(sequence) = self.sequence(table, column)? else {
            return Ok(None);
        };
        let count = i64::try_from(n).unwrap_or(i64::MAX);
        let rows = self
            .client
            .query(
                "SELECT nextval($1::text::regclass) FROM generate_series(1, $2::int8)",
                &[&sequence, &count],
            )
            .map_err(|e| DbError::Database(message(&e)))?;
        rows.iter()
            .map(|r| {
                r.try_get::<_, i64>(0)
                    .map_err(|e| DbError::Database(message(&e)))
            })
            .collect::<Result<Vec<i64>, DbError>>()
            .map(Some)
    }

    fn insert_many(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<(), DbError> {
        use std::io::Write as _;
        let names: Vec<String> = table
            .columns
            .iter()
            .map(|c| quote(Engine::Postgres, &c.name))
            .collect();
        let sql = format!(
            "COPY {} ({}) FROM STDIN",
            quote(Engine::Postgres, &table.name),
            names.join(", ")
        );
        let mut data = Vec::with_capacity(rows.len() * 64);
        for row in rows {
            for (i, (column, value)) in table.columns.iter().zip(row).enumerate() {
                if i > 0 {
                    data.push(b'\t');
                }
                copy_value(&mut data, &table.name, column, value)?;
            }
            data.push(b'\n');
        }
        let mut writer = self
            .client
            .copy_in(&sql)
            .map_err(|e| DbError::Database(message(&e)))?;
        writer
            .write_all(&data)
            .map_err(|e| DbError::Database(format!("sending rows: {e}")))?;
        writer
            .finish()
            .map_err(|e| DbError::Database(message(&e)))?;
        Ok(())
    }
}
