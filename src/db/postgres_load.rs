//! PostgreSQL as a load target: every value is sent as text and cast in
//! the statement to the target column's own type (`$1::text::numeric(12,2)`,
//! `decode($2, 'base64')` for bytea), which PostgreSQL parses exactly; the
//! load runs in one transaction.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use serde_json::Value;

use super::kind::Kind;
use super::load::{Assigned, LoadTarget, exists_sql, insert_sql, update_sql};
use super::schema::{CatalogTable, Column, Table};
use super::source::DbError;
use super::url::Engine;

/// A PostgreSQL database a load writes into.
pub struct PostgresTarget {
    client: Client,
    /// Table → column → the type the target declares.
    declared: HashMap<String, HashMap<String, String>>,
    statements: HashMap<String, Statement>,
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

    /// `$n` cast to the target's type of `table.column`.
    fn placeholder(&self, table: &str, column: &Column, n: usize) -> String {
        let declared = self
            .declared
            .get(table)
            .and_then(|t| t.get(&column.name))
            .cloned()
            .unwrap_or_else(|| "text".into());
        if column.kind == Kind::Bytes {
            format!("decode(${n}, 'base64')")
        } else {
            format!("${n}::text::{declared}")
        }
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

impl PostgresTarget {
    fn execute(
        &mut self,
        sql: &str,
        values: Vec<Option<String>>,
        what: &str,
    ) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.client
            .execute(&statement, &params)
            .map_err(|e| DbError::Database(format!("{what}: {}", message(&e))))
    }
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
        self.client
            .batch_execute("SET TIME ZONE 'UTC'; BEGIN")
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute("COMMIT")
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute("ROLLBACK")
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), DbError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| DbError::Database(message(&e)))
    }

    fn exists(&mut self, table: &Table, key: &[Assigned<'_>]) -> Result<bool, DbError> {
        let sql = exists_sql(Engine::Postgres, table, key, &|n, c| {
            self.placeholder(&table.name, c, n)
        });
        let values = texts(&table.name, key)?;
        let statement = self.statement(&sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let rows = self
            .client
            .query(&statement, &params)
            .map_err(|e| DbError::Database(message(&e)))?;
        Ok(!rows.is_empty())
    }

    fn insert(&mut self, table: &Table, row: &[Assigned<'_>]) -> Result<(), DbError> {
        let sql = insert_sql(Engine::Postgres, table, row, &|n, c| {
            self.placeholder(&table.name, c, n)
        });
        let values = texts(&table.name, row)?;
        self.execute(&sql, values, &format!("inserting into `{}`", table.name))?;
        Ok(())
    }

    fn update(
        &mut self,
        table: &Table,
        set: &[Assigned<'_>],
        key: &[Assigned<'_>],
    ) -> Result<(), DbError> {
        let sql = update_sql(Engine::Postgres, table, set, key, &|n, c| {
            self.placeholder(&table.name, c, n)
        });
        let mut values = texts(&table.name, set)?;
        values.extend(texts(&table.name, key)?);
        self.execute(&sql, values, &format!("updating `{}`", table.name))?;
        Ok(())
    }
}
