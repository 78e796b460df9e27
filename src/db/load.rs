//! `pkg db load`: a database package into a database. Before writing, the
//! target's tables and columns are checked ([`compat`](super::compat)).
//! Tables are written parents first; a foreign key that closes a cycle is
//! written NULL and set once every row is in. A row whose primary key
//! exists is refused, kept or updated (`on_conflict`). By default
//! everything happens in one transaction: all or nothing (a dry run rolls
//! it back after counting). With `continue_on_error` the load commits every
//! `batch_size` rows, each row in a savepoint, and a row the database
//! refuses is reported with its message while the others go in.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::compat::mismatches;
use super::schema::{Column, Table, insert_order};
use super::source::{DbError, quote};
use super::url::Engine;
use crate::manifest::tables::parse_tables;
use crate::package::read::{Package, PackageFiles};

/// What to do with a row whose primary key exists in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Refuse the load.
    #[default]
    Fail,
    /// Keep the target's row.
    Skip,
    /// Overwrite it with the package's.
    Update,
}

/// How a load runs.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// What to do with existing rows.
    pub on_conflict: OnConflict,
    /// Count only; change nothing.
    pub dry_run: bool,
    /// Commit every `batch_size` rows, and report a row the database
    /// refuses instead of stopping.
    pub continue_on_error: bool,
    /// Rows per commit with `continue_on_error`.
    pub batch_size: usize,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            on_conflict: OnConflict::Fail,
            dry_run: false,
            continue_on_error: false,
            batch_size: 1000,
        }
    }
}

/// A row the database refused (with `continue_on_error`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowFailure {
    /// The row's primary key.
    pub key: Value,
    /// The database's message.
    pub error: String,
}

/// How many refused rows a table's outcome lists (all are counted).
const LISTED_FAILURES: usize = 100;

/// What a load did (or, in a dry run, would do) to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableOutcome {
    /// The table.
    pub table: String,
    /// Rows inserted.
    pub insert: u64,
    /// Rows updated.
    pub update: u64,
    /// Rows kept as they were.
    pub skip: u64,
    /// Rows the database refused (with `continue_on_error`).
    #[serde(skip_serializing_if = "is_zero")]
    pub failed: u64,
    /// The first refused rows and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<RowFailure>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A column and the value a statement gives it.
pub type Assigned<'a> = (&'a Column, &'a Value);

/// A database a load writes into.
pub trait LoadTarget {
    /// The engine.
    fn engine(&self) -> Engine;
    /// Every table.
    fn catalog(&mut self) -> Result<Vec<super::schema::CatalogTable>, DbError>;
    /// Starts the transaction.
    fn begin(&mut self) -> Result<(), DbError>;
    /// Commits it.
    fn commit(&mut self) -> Result<(), DbError>;
    /// Rolls it back.
    fn rollback(&mut self) -> Result<(), DbError>;
    /// Runs one statement without results (savepoints).
    fn run_sql(&mut self, sql: &str) -> Result<(), DbError>;
    /// Whether `table` has a row with this primary key.
    fn exists(&mut self, table: &Table, key: &[Assigned<'_>]) -> Result<bool, DbError>;
    /// Inserts a row.
    fn insert(&mut self, table: &Table, row: &[Assigned<'_>]) -> Result<(), DbError>;
    /// Sets `set` on the row with primary key `key`.
    fn update(
        &mut self,
        table: &Table,
        set: &[Assigned<'_>],
        key: &[Assigned<'_>],
    ) -> Result<(), DbError>;
}

/// A placeholder for the n-th parameter (1-based) of a column.
pub type Mark<'a> = dyn Fn(usize, &Column) -> String + 'a;

/// `col = mark AND ...` over `assigned`, numbering from `first`.
fn matching(
    engine: Engine,
    assigned: &[Assigned<'_>],
    first: usize,
    mark: &Mark<'_>,
    join: &str,
) -> String {
    assigned
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = {}", quote(engine, &c.name), mark(first + i, c)))
        .collect::<Vec<_>>()
        .join(join)
}

/// `SELECT 1 FROM table WHERE key... LIMIT 1`.
pub fn exists_sql(engine: Engine, table: &Table, key: &[Assigned<'_>], mark: &Mark<'_>) -> String {
    format!(
        "SELECT 1 FROM {} WHERE {} LIMIT 1",
        quote(engine, &table.name),
        matching(engine, key, 1, mark, " AND ")
    )
}

/// `INSERT INTO table (columns) VALUES (marks)`.
pub fn insert_sql(engine: Engine, table: &Table, row: &[Assigned<'_>], mark: &Mark<'_>) -> String {
    let names: Vec<String> = row.iter().map(|(c, _)| quote(engine, &c.name)).collect();
    let marks: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(i, (c, _))| mark(i + 1, c))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote(engine, &table.name),
        names.join(", "),
        marks.join(", ")
    )
}

/// `UPDATE table SET set... WHERE key...` (the set's parameters first).
pub fn update_sql(
    engine: Engine,
    table: &Table,
    set: &[Assigned<'_>],
    key: &[Assigned<'_>],
    mark: &Mark<'_>,
) -> String {
    format!(
        "UPDATE {} SET {} WHERE {}",
        quote(engine, &table.name),
        matching(engine, set, 1, mark, ", "),
        matching(engine, key, set.len() + 1, mark, " AND ")
    )
}

/// The rows of `table`'s data file, one JSON object each.
fn rows(package: &Package, loc: &str) -> Result<Box<dyn BufRead>, DbError> {
    match &package.files {
        PackageFiles::Dir => {
            let path = package.path_of(loc);
            let file = std::fs::File::open(&path)
                .map_err(|e| DbError::Io(format!("cannot read {}: {e}", path.display())))?;
            Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, file)))
        }
        PackageFiles::Memory(_) => {
            let bytes = package.read_file(loc).map_err(DbError::Io)?;
            Ok(Box::new(std::io::Cursor::new(bytes.into_owned())))
        }
    }
}

/// One row's values in `table`'s column order.
fn values(table: &Table, line: &str, n: u64) -> Result<Vec<Value>, DbError> {
    let mut object: Map<String, Value> = serde_json::from_str(line).map_err(|e| {
        DbError::Invalid(format!(
            "row {n} of table `{}` is not a JSON object: {e}",
            table.name
        ))
    })?;
    table
        .columns
        .iter()
        .map(|c| {
            object.remove(&c.name).ok_or_else(|| {
                DbError::Invalid(format!(
                    "row {n} of table `{}` has no column `{}`",
                    table.name, c.name
                ))
            })
        })
        .collect()
}

/// Loads `package` into `target`.
pub fn load(
    package: &Package,
    target: &mut dyn LoadTarget,
    options: LoadOptions,
) -> Result<Vec<TableOutcome>, DbError> {
    let (entries, problems) = parse_tables(&package.manifest.tables);
    if let Some((field, message)) = problems.first() {
        return Err(DbError::Invalid(format!(
            "manifest.json {field}: {message}"
        )));
    }
    if entries.is_empty() {
        return Err(DbError::Invalid(
            "the package holds no tables: it is no database package (pkg load loads resource packages)".into(),
        ));
    }
    let tables: Vec<Table> = entries.iter().map(|e| e.table.clone()).collect();
    let catalog = target.catalog()?;
    let found = mismatches(&tables, &catalog, target.engine());
    if !found.is_empty() {
        return Err(DbError::Invalid(format!(
            "the target does not fit the package; nothing was written:\n  {}",
            found.join("\n  ")
        )));
    }
    let order = insert_order(&tables).map_err(DbError::Invalid)?;
    target.begin()?;
    let written = check_external(target, &entries, &catalog)
        .and_then(|()| write(package, target, options, &entries, &order));
    match written {
        Ok(outcomes) => {
            if options.dry_run {
                target.rollback()?;
            } else {
                target.commit()?;
            }
            Ok(outcomes)
        }
        Err(e) => {
            let _ = target.rollback();
            Err(e)
        }
    }
}

/// Checks that every row the package references outside itself exists in
/// the target; lists what is missing.
fn check_external(
    target: &mut dyn LoadTarget,
    entries: &[crate::manifest::tables::TableEntry],
    catalog: &[super::schema::CatalogTable],
) -> Result<(), DbError> {
    let engine = target.engine();
    let mut missing = Vec::new();
    for entry in entries {
        for external in &entry.external {
            let Some(parent) = catalog.iter().find(|t| t.name == external.table) else {
                missing.push(format!(
                    "table `{}` references table `{}`, which the target lacks",
                    entry.table.name, external.table
                ));
                continue;
            };
            let parent = parent.typed(engine).map_err(DbError::Invalid)?;
            let columns: Vec<&Column> = external
                .references
                .iter()
                .filter_map(|c| parent.column(c))
                .collect();
            if columns.len() != external.references.len() {
                missing.push(format!(
                    "table `{}` lacks column(s) {} that `{}` references",
                    external.table,
                    external.references.join(", "),
                    entry.table.name
                ));
                continue;
            }
            for key in &external.keys {
                let assigned: Vec<Assigned<'_>> = columns.iter().copied().zip(key).collect();
                if !target.exists(&parent, &assigned)? {
                    missing.push(format!(
                        "`{}` references {}({}) = {}, which the target lacks",
                        entry.table.name,
                        external.table,
                        external.references.join(", "),
                        serde_json::to_string(key).unwrap_or_default()
                    ));
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let shown = missing.len().min(20);
    Err(DbError::Invalid(format!(
        "rows outside the package are missing from the target ({} in all); nothing was written; export with --with-parents, or load them first:\n  {}",
        missing.len(),
        missing[..shown].join("\n  ")
    )))
}

/// Runs `op` for one row: with `continue_on_error`, inside a savepoint,
/// recording a refusal in `outcome` instead of failing.
fn attempt(
    target: &mut dyn LoadTarget,
    options: LoadOptions,
    outcome: &mut TableOutcome,
    key: &[Value],
    op: &mut dyn FnMut(&mut dyn LoadTarget) -> Result<(), DbError>,
) -> Result<bool, DbError> {
    if !options.continue_on_error {
        op(target)?;
        return Ok(true);
    }
    target.run_sql("SAVEPOINT pkg_row")?;
    match op(target) {
        Ok(()) => {
            target.run_sql("RELEASE SAVEPOINT pkg_row")?;
            Ok(true)
        }
        Err(e) => {
            target.run_sql("ROLLBACK TO SAVEPOINT pkg_row")?;
            target.run_sql("RELEASE SAVEPOINT pkg_row")?;
            outcome.failed += 1;
            if outcome.failures.len() < LISTED_FAILURES {
                outcome.failures.push(RowFailure {
                    key: Value::Array(key.to_vec()),
                    error: e.to_string(),
                });
            }
            Ok(false)
        }
    }
}

/// Counts a row written; with `continue_on_error`, commits every
/// `batch_size` rows.
fn tick(
    target: &mut dyn LoadTarget,
    options: LoadOptions,
    written: &mut usize,
) -> Result<(), DbError> {
    *written += 1;
    if options.continue_on_error
        && !options.dry_run
        && (*written).is_multiple_of(options.batch_size.max(1))
    {
        target.commit()?;
        target.begin()?;
    }
    Ok(())
}

/// A foreign key written NULL: the table (its index in the entries), the
/// key's column positions, and each row's primary key with the values to
/// set once every row is in.
type Later = (usize, Vec<usize>, Vec<(Vec<Value>, Vec<Value>)>);

fn write(
    package: &Package,
    target: &mut dyn LoadTarget,
    options: LoadOptions,
    entries: &[crate::manifest::tables::TableEntry],
    order: &super::schema::InsertOrder,
) -> Result<Vec<TableOutcome>, DbError> {
    // Deferred keys, set after every row is in.
    let mut later: Vec<Later> = Vec::new();
    let mut outcomes = Vec::new();
    let mut written = 0usize;
    for name in &order.tables {
        let Some(entry) = entries.iter().find(|e| &e.table.name == name) else {
            continue;
        };
        let table = &entry.table;
        let index = |cols: &[String]| -> Vec<usize> {
            cols.iter()
                .filter_map(|c| table.columns.iter().position(|x| &x.name == c))
                .collect()
        };
        let pk = index(&table.primary_key);
        let deferred: Vec<Vec<usize>> = order
            .deferred
            .iter()
            .filter(|d| &d.table == name)
            .filter_map(|d| table.foreign_keys.get(d.key))
            .map(|fk| index(&fk.columns))
            .collect();
        let mut held: Vec<Vec<(Vec<Value>, Vec<Value>)>> = vec![Vec::new(); deferred.len()];
        let mut outcome = TableOutcome {
            table: name.clone(),
            ..TableOutcome::default()
        };
        let reader = rows(package, &entry.data_loc)?;
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| DbError::Io(format!("cannot read table `{name}`: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let mut row = values(table, &line, n as u64 + 1)?;
            let key: Vec<Value> = pk.iter().map(|&i| row[i].clone()).collect();
            for (d, positions) in deferred.iter().enumerate() {
                let kept: Vec<Value> = positions.iter().map(|&i| row[i].clone()).collect();
                if kept.iter().any(|v| !v.is_null()) {
                    held[d].push((key.clone(), kept));
                    for &i in positions {
                        row[i] = Value::Null;
                    }
                }
            }
            let assigned: Vec<Assigned<'_>> = table.columns.iter().zip(&row).collect();
            let key_assigned: Vec<Assigned<'_>> =
                pk.iter().map(|&i| (&table.columns[i], &row[i])).collect();
            if target.exists(table, &key_assigned)? {
                match options.on_conflict {
                    OnConflict::Fail => {
                        let refusal = format!(
                            "table `{name}` already has a row with primary key {}; pass --on-conflict skip or update",
                            serde_json::to_string(&key).unwrap_or_default()
                        );
                        attempt(target, options, &mut outcome, &key, &mut |_| {
                            Err(DbError::Invalid(refusal.clone()))
                        })?;
                    }
                    OnConflict::Skip => outcome.skip += 1,
                    OnConflict::Update => {
                        let set: Vec<Assigned<'_>> = assigned
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !pk.contains(i))
                            .map(|(_, a)| *a)
                            .collect();
                        let done = options.dry_run
                            || set.is_empty()
                            || attempt(target, options, &mut outcome, &key, &mut |t| {
                                t.update(table, &set, &key_assigned)
                            })?;
                        if done {
                            outcome.update += 1;
                        }
                        tick(target, options, &mut written)?;
                    }
                }
            } else {
                let done = options.dry_run
                    || attempt(target, options, &mut outcome, &key, &mut |t| {
                        t.insert(table, &assigned)
                    })?;
                if done {
                    outcome.insert += 1;
                }
                tick(target, options, &mut written)?;
            }
        }
        let table_index = entries
            .iter()
            .position(|e| &e.table.name == name)
            .unwrap_or(0);
        for (positions, values) in deferred.into_iter().zip(held) {
            later.push((table_index, positions, values));
        }
        outcomes.push(outcome);
    }
    if !options.dry_run {
        for (table_index, positions, values) in later {
            let outcome_index = outcomes
                .iter()
                .position(|o: &TableOutcome| o.table == entries[table_index].table.name)
                .unwrap_or(0);
            let table = &entries[table_index].table;
            let pk: Vec<usize> = table
                .primary_key
                .iter()
                .filter_map(|c| table.columns.iter().position(|x| &x.name == c))
                .collect();
            for (key, kept) in values {
                let set: Vec<Assigned<'_>> = positions
                    .iter()
                    .map(|&i| &table.columns[i])
                    .zip(&kept)
                    .collect();
                let key_assigned: Vec<Assigned<'_>> =
                    pk.iter().map(|&i| &table.columns[i]).zip(&key).collect();
                let Some(outcome) = outcomes.get_mut(outcome_index) else {
                    continue;
                };
                attempt(target, options, outcome, &key, &mut |t| {
                    t.update(table, &set, &key_assigned)
                })?;
                tick(target, options, &mut written)?;
            }
        }
    }
    outcomes.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(outcomes)
}
