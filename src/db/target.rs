//! A database a load or a rollback writes into: the [`LoadTarget`] trait
//! each engine implements (a few primitives: placeholders, a statement, a
//! text-only query, generated keys, bulk inserts), and the statements built
//! on them the same way for every engine: existence, lookups by key or by
//! a unique constraint, reading rows back as text, deleting by keys.

use serde_json::Value;

use super::schema::{CatalogTable, Column, Table};
use super::source::{DbError, quote};
use super::url::Engine;

/// A column and the value a statement gives it.
pub type Assigned<'a> = (&'a Column, &'a Value);

/// A row a query answered, every column as text (`None` for NULL).
pub type TextRow = Vec<Option<String>>;

/// A row read back by key: its key's columns and the columns asked for.
pub type KeyedRow = (TextRow, TextRow);

/// A database a load writes into.
pub trait LoadTarget {
    /// The engine.
    fn engine(&self) -> Engine;
    /// Every table.
    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError>;
    /// Starts the transaction.
    fn begin(&mut self) -> Result<(), DbError>;
    /// Commits it.
    fn commit(&mut self) -> Result<(), DbError> {
        self.run_sql("COMMIT")
    }
    /// Rolls it back.
    fn rollback(&mut self) -> Result<(), DbError> {
        self.run_sql("ROLLBACK")
    }
    /// Runs one statement without parameters or results (savepoints).
    fn run_sql(&mut self, sql: &str) -> Result<(), DbError>;
    /// The placeholder of the `n`-th parameter (1-based), a value for
    /// `column` of `table`, converted to the column's type.
    fn mark(&self, table: &Table, column: &Column, n: usize) -> String;
    /// `column` as text in a select list (bytes as base64), in a form
    /// [`LoadTarget::mark`] takes back.
    fn as_text(&self, column: &Column) -> String;
    /// Runs a statement; the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Assigned<'_>]) -> Result<u64, DbError>;
    /// Runs a query whose every column is text (see
    /// [`LoadTarget::as_text`]), handing each row to `each` as it arrives.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Assigned<'_>],
        each: &mut dyn FnMut(TextRow) -> Result<(), DbError>,
    ) -> Result<(), DbError>;
    /// Runs a query whose every column is text; all its rows.
    fn query(&mut self, sql: &str, params: &[Assigned<'_>]) -> Result<Vec<TextRow>, DbError> {
        let mut rows = Vec::new();
        self.query_each(sql, params, &mut |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }
    /// An SQL expression the database computes a row's fingerprint with
    /// (as hex text), over `columns`; `None` where pkg hashes the columns'
    /// text itself.
    fn fingerprint_sql(&self, _columns: &[&Column]) -> Option<String> {
        None
    }
    /// What an `INSERT` says between its columns and `VALUES`: PostgreSQL's
    /// `OVERRIDING SYSTEM VALUE`, so that a key taken from an `ALWAYS`
    /// identity's sequence goes in as given.
    fn insert_clause(&self) -> &'static str {
        ""
    }
    /// Brings the planner's statistics of `table` up to date, where an
    /// engine needs it to look up many keys (PostgreSQL after a bulk insert).
    fn analyze(&mut self, _table: &Table) -> Result<(), DbError> {
        Ok(())
    }
    /// Whether the database gives `column` its values (a sequence, an
    /// identity, an autoincrement or SQLite's rowid).
    fn generates(&mut self, table: &Table, column: &Column) -> Result<bool, DbError>;
    /// Inserts `row` (without the generated `column`) and answers the
    /// value the database gave `column`.
    fn insert_generated(
        &mut self,
        table: &Table,
        row: &[Assigned<'_>],
        column: &Column,
    ) -> Result<i64, DbError>;
    /// `n` values of the generated `column`, taken before inserting, where
    /// the engine can hand them out so (PostgreSQL's sequences); `None`
    /// where it gives them only as it inserts.
    fn reserve(
        &mut self,
        _table: &Table,
        _column: &Column,
        _n: usize,
    ) -> Result<Option<Vec<i64>>, DbError> {
        Ok(None)
    }
    /// Inserts `rows`, each holding a value for every column of `table`
    /// in order; by default one statement per row.
    fn insert_many(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<(), DbError> {
        for row in rows {
            let assigned: Vec<Assigned<'_>> = table.columns.iter().zip(row).collect();
            insert(self, table, &assigned)?;
        }
        Ok(())
    }
}

/// `col = mark AND ...` over `columns`, numbering from `first`.
fn matching<T: LoadTarget + ?Sized>(
    target: &T,
    table: &Table,
    columns: &[&Column],
    first: usize,
    join: &str,
) -> String {
    let engine = target.engine();
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} = {}",
                quote(engine, &c.name),
                target.mark(table, c, first + i)
            )
        })
        .collect::<Vec<_>>()
        .join(join)
}

fn names(engine: Engine, columns: &[&Column]) -> String {
    columns
        .iter()
        .map(|c| quote(engine, &c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn columns_of<'a>(assigned: &[Assigned<'a>]) -> Vec<&'a Column> {
    assigned.iter().map(|(c, _)| *c).collect()
}

/// Inserts one row.
pub fn insert<T: LoadTarget + ?Sized>(
    target: &mut T,
    table: &Table,
    row: &[Assigned<'_>],
) -> Result<(), DbError> {
    let sql = insert_sql(target, table, row);
    target
        .execute(&sql, row)
        .map_err(|e| DbError::Database(format!("inserting into `{}`: {e}", table.name)))?;
    Ok(())
}

/// `INSERT INTO table (columns) VALUES (marks)`.
pub fn insert_sql<T: LoadTarget + ?Sized>(
    target: &T,
    table: &Table,
    row: &[Assigned<'_>],
) -> String {
    let engine = target.engine();
    let columns = columns_of(row);
    let marks: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| target.mark(table, c, i + 1))
        .collect();
    format!(
        "INSERT INTO {} ({}){} VALUES ({})",
        quote(engine, &table.name),
        names(engine, &columns),
        target.insert_clause(),
        marks.join(", ")
    )
}

/// Sets `set` on the row whose key is `key`; the rows changed.
pub fn update<T: LoadTarget + ?Sized>(
    target: &mut T,
    table: &Table,
    set: &[Assigned<'_>],
    key: &[Assigned<'_>],
) -> Result<u64, DbError> {
    if set.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "UPDATE {} SET {} WHERE {}",
        quote(target.engine(), &table.name),
        matching(target, table, &columns_of(set), 1, ", "),
        matching(target, table, &columns_of(key), set.len() + 1, " AND ")
    );
    let params: Vec<Assigned<'_>> = set.iter().chain(key).copied().collect();
    target
        .execute(&sql, &params)
        .map_err(|e| DbError::Database(format!("updating `{}`: {e}", table.name)))
}

/// The `want` columns (as text) of the first row whose `by` columns hold
/// the given values, if any.
pub fn find<T: LoadTarget + ?Sized>(
    target: &mut T,
    table: &Table,
    by: &[Assigned<'_>],
    want: &[&Column],
) -> Result<Option<TextRow>, DbError> {
    let engine = target.engine();
    let select: Vec<String> = want.iter().map(|c| target.as_text(c)).collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {} LIMIT 1",
        if select.is_empty() {
            "1".to_string()
        } else {
            select.join(", ")
        },
        quote(engine, &table.name),
        matching(target, table, &columns_of(by), 1, " AND ")
    );
    Ok(target.query(&sql, by)?.into_iter().next())
}

/// Whether `table` holds no row at all.
pub fn is_empty<T: LoadTarget + ?Sized>(target: &mut T, table: &Table) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT {} FROM {} LIMIT 1",
        target.as_text(first_key_column(table)?),
        quote(target.engine(), &table.name)
    );
    Ok(target.query(&sql, &[])?.is_empty())
}

fn first_key_column(table: &Table) -> Result<&Column, DbError> {
    table
        .primary_key
        .first()
        .and_then(|k| table.column(k))
        .ok_or_else(|| DbError::Invalid(format!("table `{}` has no primary key", table.name)))
}

/// `WHERE (k1, k2) IN ((m, m), ...)` over `keys`, numbering from 1, and
/// the parameters in order.
fn in_keys<'a, T: LoadTarget + ?Sized>(
    target: &T,
    table: &Table,
    key_columns: &[&'a Column],
    keys: &'a [Vec<Value>],
) -> (String, Vec<Assigned<'a>>) {
    let engine = target.engine();
    let mut params = Vec::with_capacity(keys.len() * key_columns.len());
    let mut tuples = Vec::with_capacity(keys.len());
    for key in keys {
        let marks: Vec<String> = key_columns
            .iter()
            .zip(key)
            .map(|(c, v)| {
                params.push((*c, v));
                target.mark(table, c, params.len())
            })
            .collect();
        tuples.push(if marks.len() == 1 {
            marks.concat()
        } else {
            format!("({})", marks.join(", "))
        });
    }
    let lhs = if key_columns.len() == 1 {
        names(engine, key_columns)
    } else {
        format!("({})", names(engine, key_columns))
    };
    (format!("{lhs} IN ({})", tuples.join(", ")), params)
}

/// How many keys one `IN (...)` list holds.
pub const KEYS_PER_STATEMENT: usize = 500;

/// For the rows of `table` whose primary key is among `keys`: the key (as
/// text) and `columns` (as text), then `extra` (an SQL expression) when
/// given. Rows not found are absent.
pub fn read_rows<T: LoadTarget + ?Sized>(
    target: &mut T,
    table: &Table,
    keys: &[Vec<Value>],
    columns: &[&Column],
    extra: Option<&str>,
) -> Result<Vec<KeyedRow>, DbError> {
    let key_columns = key_columns(table)?;
    let engine = target.engine();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let (condition, params) = in_keys(target, table, &key_columns, chunk);
        let mut select: Vec<String> = key_columns
            .iter()
            .chain(columns)
            .map(|c| target.as_text(c))
            .collect();
        select.extend(extra.map(str::to_string));
        let sql = format!(
            "SELECT {} FROM {} WHERE {condition}",
            select.join(", "),
            quote(engine, &table.name)
        );
        for mut row in target.query(&sql, &params)? {
            let rest = row.split_off(key_columns.len().min(row.len()));
            out.push((row, rest));
        }
    }
    Ok(out)
}

/// Deletes the rows of `table` whose primary key is among `keys`; the
/// rows deleted.
pub fn delete_keys<T: LoadTarget + ?Sized>(
    target: &mut T,
    table: &Table,
    keys: &[Vec<Value>],
) -> Result<u64, DbError> {
    let key_columns = key_columns(table)?;
    let mut deleted = 0;
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let (condition, params) = in_keys(target, table, &key_columns, chunk);
        let sql = format!(
            "DELETE FROM {} WHERE {condition}",
            quote(target.engine(), &table.name)
        );
        deleted += target
            .execute(&sql, &params)
            .map_err(|e| DbError::Database(format!("deleting from `{}`: {e}", table.name)))?;
    }
    Ok(deleted)
}

/// The primary key's columns.
pub fn key_columns(table: &Table) -> Result<Vec<&Column>, DbError> {
    table
        .primary_key
        .iter()
        .map(|k| {
            table.column(k).ok_or_else(|| {
                DbError::Invalid(format!(
                    "table `{}`: primary key column `{k}` is not among its columns",
                    table.name
                ))
            })
        })
        .collect()
}

/// A JSON value as the text a query gives for it (keys are compared so).
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Sets `columns` to NULL in the rows of `table` whose primary key is
/// among `keys`; the rows changed.
pub fn set_null<T: LoadTarget + ?Sized>(
    target: &mut T,
    table: &Table,
    columns: &[&Column],
    keys: &[Vec<Value>],
) -> Result<u64, DbError> {
    let key_columns = key_columns(table)?;
    let engine = target.engine();
    let set: Vec<String> = columns
        .iter()
        .map(|c| format!("{} = NULL", quote(engine, &c.name)))
        .collect();
    let mut changed = 0;
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let (condition, params) = in_keys(target, table, &key_columns, chunk);
        let sql = format!(
            "UPDATE {} SET {} WHERE {condition}",
            quote(engine, &table.name),
            set.join(", ")
        );
        changed += target
            .execute(&sql, &params)
            .map_err(|e| DbError::Database(format!("updating `{}`: {e}", table.name)))?;
    }
    Ok(changed)
}
