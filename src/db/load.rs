//! `pkg db load`: a database package into a database. Before writing, the
//! target's tables and columns are checked ([`compat`](super::compat)) and
//! so are the rows the package references outside itself. Tables are
//! written parents first; a foreign key that closes a cycle is written NULL
//! and set once every row is in.
//!
//! Without `remap_keys` rows keep their keys, and a row whose key exists is
//! refused, kept or updated (`on_conflict`). With it, a table whose primary
//! key the target generates (sequence, identity, autoincrement) gives every
//! inserted row a new key, a row matching an existing one on a unique
//! constraint counts as existing (kept or updated, its key mapped to the
//! existing row's), and every foreign key is rewritten through the parent's
//! key map, composite keys too.
//!
//! By default everything happens in one transaction: all or nothing (a dry
//! run rolls it back after counting). With `continue_on_error` the load
//! commits every `batch_size` rows, and a batch the database refuses is
//! retried row by row, each in a savepoint, so that the refused rows are
//! reported with the database's message while the others go in. Inserts go
//! in batches ([`LoadTarget::insert_many`]: PostgreSQL's `COPY`), and a
//! table that is empty at the start is not searched for existing rows.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::compat::mismatches;
use super::fingerprint;
use super::keymap::{KeyMap, key_text};
use super::record::{LoadRecord, RECORD_VERSION, TableRecord, UpdatedRow};
use super::schema::{CatalogTable, Column, Table, insert_order};
use super::source::DbError;
use super::target::{
    Assigned, KEYS_PER_STATEMENT, LoadTarget, find, insert, is_empty, key_columns, read_rows,
    update,
};
use crate::manifest::tables::{TableEntry, parse_tables};
use crate::package::read::{Package, PackageFiles};

/// What to do with a row that exists in the target.
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

impl OnConflict {
    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Fail => "fail",
            OnConflict::Skip => "skip",
            OnConflict::Update => "update",
        }
    }
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
    /// Give inserted rows new keys from the target and rewrite foreign
    /// keys through the key map.
    pub remap_keys: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            on_conflict: OnConflict::Fail,
            dry_run: false,
            continue_on_error: false,
            batch_size: 1000,
            remap_keys: false,
        }
    }
}

/// A row the database refused (with `continue_on_error`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowFailure {
    /// The row's primary key in the package.
    pub key: Value,
    /// The database's message.
    pub error: String,
}

/// How many refused rows a table's outcome lists (all are counted).
const LISTED_FAILURES: usize = 100;

/// Rows one bulk insert carries (without `continue_on_error`).
const INSERT_BATCH: usize = 10_000;

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

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Per table, by name.
    pub tables: Vec<TableOutcome>,
    /// What a rollback needs (and the key maps), tables in insert order.
    pub record: LoadRecord,
    /// Things the user should know (tables whose keys were kept).
    pub notes: Vec<String>,
}

impl LoadResult {
    /// Table → {old key: new key}, for the tables whose keys were remapped
    /// (serialized entry by entry).
    pub fn key_maps(&self) -> std::collections::BTreeMap<&str, &KeyMap> {
        self.record
            .tables
            .iter()
            .filter(|t| !t.key_map.is_empty())
            .map(|t| (t.table.name.as_str(), &t.key_map))
            .collect()
    }
}

/// The rows of a table's data file, one JSON object each.
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

/// A value the target answered as text, in its JSON form for `column`.
fn from_text(column: &Column, text: Option<String>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => match column.kind {
            super::kind::Kind::Integer => t
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(t)),
            _ => Value::String(t),
        },
    }
}

/// A foreign key of a table in the package.
#[derive(Debug, Clone)]
struct Reference {
    /// Its columns' positions: in the parent's primary-key order when
    /// `parent` is set, else in the key's order.
    positions: Vec<usize>,
    /// The parent (its index among the plans) whose key map rewrites the
    /// values, when its keys may change.
    parent: Option<usize>,
}

/// How one table is loaded.
#[derive(Debug, Clone)]
struct Plan {
    /// Index among the package's entries.
    entry: usize,
    /// The primary key's positions.
    pk: Vec<usize>,
    /// The primary-key column the target generates (with remap_keys).
    generated: Option<usize>,
    /// Foreign keys written with the row.
    now: Vec<Reference>,
    /// Foreign keys written NULL, set once every row is in.
    later: Vec<Reference>,
    /// Unique constraints (positions) that identify an existing row when
    /// the key is generated.
    unique: Vec<Vec<usize>>,
    /// Whether the table's keys may change (a generated key, or a key
    /// column rewritten through a parent's map).
    remapped: bool,
}

fn position_of(table: &Table, name: &str) -> Option<usize> {
    table.columns.iter().position(|c| c.name == name)
}

/// The plans, in insert order.
fn plan(
    target: &mut dyn LoadTarget,
    entries: &[TableEntry],
    options: LoadOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<Plan>, DbError> {
    let tables: Vec<Table> = entries.iter().map(|e| e.table.clone()).collect();
    let order = insert_order(&tables).map_err(DbError::Invalid)?;
    let indexes: Vec<usize> = order
        .tables
        .iter()
        .filter_map(|name| entries.iter().position(|e| &e.table.name == name))
        .collect();
    // First the keys: which the target generates, and which tables' keys
    // may change (parents first, so a key column referencing a remapped
    // parent is known to change).
    let mut plans: Vec<Plan> = Vec::with_capacity(indexes.len());
    for &entry in &indexes {
        let table = &entries[entry].table;
        let pk: Vec<usize> = key_columns(table)?
            .iter()
            .filter_map(|c| position_of(table, &c.name))
            .collect();
        let mut generated = None;
        if options.remap_keys {
            for &i in &pk {
                let column = &table.columns[i];
                if column.kind == super::kind::Kind::Integer && target.generates(table, column)? {
                    generated = Some(i);
                    break;
                }
            }
        }
        let key_references_remapped = table.foreign_keys.iter().any(|fk| {
            fk.columns.iter().any(|c| table.primary_key.contains(c))
                && fk.table != table.name
                && plans
                    .iter()
                    .any(|p| p.remapped && entries[p.entry].table.name == fk.table)
        });
        let remapped = generated.is_some() || key_references_remapped;
        if options.remap_keys && !remapped {
            notes.push(format!(
                "table `{}` keeps its keys: its primary key ({}) has no sequence, identity or autoincrement in the target",
                table.name,
                table.primary_key.join(", ")
            ));
        }
        let unique = match generated {
            Some(g) => table
                .unique
                .iter()
                .filter_map(|u| u.iter().map(|c| position_of(table, c)).collect())
                .filter(|u: &Vec<usize>| !u.contains(&g))
                .collect(),
            None => Vec::new(),
        };
        plans.push(Plan {
            entry,
            pk,
            generated,
            now: Vec::new(),
            later: Vec::new(),
            unique,
            remapped,
        });
    }
    // Then every foreign key, rewritten through its parent's map when the
    // parent's keys may change and the key references its whole primary
    // key.
    for index in 0..plans.len() {
        let table = &entries[plans[index].entry].table;
        for (k, fk) in table.foreign_keys.iter().enumerate() {
            let deferred = order
                .deferred
                .iter()
                .any(|d| d.table == table.name && d.key == k);
            let parent = plans.iter().position(|p| {
                let parent = &entries[p.entry].table;
                parent.name == fk.table
                    && p.remapped
                    && fk.references.len() == parent.primary_key.len()
                    && parent.primary_key.iter().all(|c| fk.references.contains(c))
            });
            let positions: Option<Vec<usize>> = match parent {
                Some(p) => entries[plans[p].entry]
                    .table
                    .primary_key
                    .iter()
                    .map(|pc| {
                        fk.references
                            .iter()
                            .position(|r| r == pc)
                            .and_then(|j| fk.columns.get(j))
                            .and_then(|c| position_of(table, c))
                    })
                    .collect(),
                None => fk.columns.iter().map(|c| position_of(table, c)).collect(),
            };
            let Some(positions) = positions else {
                return Err(DbError::Invalid(format!(
                    "table `{}`: a foreign key names a column the table lacks",
                    table.name
                )));
            };
            let reference = Reference { positions, parent };
            if deferred {
                plans[index].later.push(reference);
            } else {
                plans[index].now.push(reference);
            }
        }
    }
    Ok(plans)
}

/// Loads `package` into `target`.
pub fn load(
    package: &Package,
    target: &mut dyn LoadTarget,
    options: LoadOptions,
) -> Result<LoadResult, DbError> {
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
    let mut notes = Vec::new();
    let plans = plan(target, &entries, options, &mut notes)?;
    target.begin()?;
    let written = check_external(target, &entries, &catalog).and_then(|()| {
        let mut loader = Loader {
            package,
            target,
            options,
            entries: &entries,
            plans: &plans,
            maps: plans
                .iter()
                .map(|p| {
                    KeyMap::with_capacity(if p.remapped && !options.dry_run {
                        usize::try_from(entries[p.entry].row_count)
                            .unwrap_or(0)
                            .min(1 << 24)
                    } else {
                        0
                    })
                })
                .collect(),
            since_commit: 0,
            empty: vec![false; plans.len()],
        };
        loader.run()
    });
    match written {
        Ok((outcomes, record)) => {
            if options.dry_run {
                target.rollback()?;
            } else {
                target.commit()?;
            }
            Ok(LoadResult {
                tables: outcomes,
                record,
                notes,
            })
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
    entries: &[TableEntry],
    catalog: &[CatalogTable],
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
                if find(target, &parent, &assigned, &[])?.is_none() {
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
fn attempt<T>(
    target: &mut dyn LoadTarget,
    options: LoadOptions,
    outcome: &mut TableOutcome,
    key: &[Value],
    op: &mut dyn FnMut(&mut dyn LoadTarget) -> Result<T, DbError>,
) -> Result<Option<T>, DbError> {
    if !options.continue_on_error {
        return op(target).map(Some);
    }
    target.run_sql("SAVEPOINT pkg_row")?;
    match op(target) {
        Ok(v) => {
            target.run_sql("RELEASE SAVEPOINT pkg_row")?;
            Ok(Some(v))
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
            Ok(None)
        }
    }
}

/// A row waiting for a bulk insert.
struct Pending {
    /// Its values, foreign keys rewritten (and the generated key, once known).
    row: Vec<Value>,
    /// Its key in the package.
    old_key: Vec<Value>,
}

/// A row whose deferred foreign keys are set after every row is in: its
/// key in the package, and per deferred key the values.
type Held = (Vec<Value>, Vec<Vec<Value>>);

/// One load's state.
struct Loader<'a> {
    package: &'a Package,
    target: &'a mut dyn LoadTarget,
    options: LoadOptions,
    entries: &'a [TableEntry],
    plans: &'a [Plan],
    /// Per plan, the package's key → the target's.
    maps: Vec<KeyMap>,
    /// Rows written since the last commit (with continue_on_error).
    since_commit: usize,
    /// Per plan, whether the table held no row when the load began.
    empty: Vec<bool>,
}

impl Loader<'_> {
    fn run(&mut self) -> Result<(Vec<TableOutcome>, LoadRecord), DbError> {
        let mut outcomes = Vec::with_capacity(self.plans.len());
        let mut records = Vec::with_capacity(self.plans.len());
        let mut held_all: Vec<Vec<Held>> = Vec::with_capacity(self.plans.len());
        for index in 0..self.plans.len() {
            let (outcome, record, held) = self.table(index)?;
            outcomes.push(outcome);
            records.push(record);
            held_all.push(held);
        }
        if !self.options.dry_run {
            for (index, held) in held_all.into_iter().enumerate() {
                self.set_later(index, held, &mut outcomes[index])?;
            }
            for (index, record) in records.iter_mut().enumerate() {
                self.fingerprint(index, record)?;
            }
        }
        for (index, record) in records.iter_mut().enumerate() {
            if self.plans[index].remapped && !self.options.dry_run {
                record.key_map = std::mem::take(&mut self.maps[index]);
            }
        }
        outcomes.sort_by(|a, b| a.table.cmp(&b.table));
        Ok((
            outcomes,
            LoadRecord {
                version: RECORD_VERSION,
                engine: self.target.engine().name().to_string(),
                tables: records,
            },
        ))
    }

    fn table_of(&self, index: usize) -> &Table {
        &self.entries[self.plans[index].entry].table
    }

    /// Rewrites `row`'s foreign keys through their parents' key maps.
    fn rewrite(&self, references: &[Reference], row: &mut [Value]) {
        for r in references {
            let Some(parent) = r.parent else { continue };
            let old: Vec<Value> = r.positions.iter().map(|&i| row[i].clone()).collect();
            if old.iter().any(Value::is_null) {
                continue;
            }
            if let Some(new) = self.maps.get(parent).and_then(|m| m.get(&old)) {
                for (&i, v) in r.positions.iter().zip(new) {
                    row[i] = v;
                }
            }
        }
    }

    /// The target's key of the row matching `row`, if one exists.
    fn existing(&mut self, index: usize, row: &[Value]) -> Result<Option<Vec<Value>>, DbError> {
        let plan = &self.plans[index];
        let table = &self.entries[plan.entry].table;
        let key_cols: Vec<&Column> = plan.pk.iter().map(|&i| &table.columns[i]).collect();
        let searches: Vec<&[usize]> = match plan.generated {
            None => vec![plan.pk.as_slice()],
            Some(_) => plan.unique.iter().map(Vec::as_slice).collect(),
        };
        for by in searches {
            if by.iter().any(|&i| row[i].is_null()) {
                continue;
            }
            let assigned: Vec<Assigned<'_>> =
                by.iter().map(|&i| (&table.columns[i], &row[i])).collect();
            if let Some(found) = find(&mut *self.target, table, &assigned, &key_cols)? {
                return Ok(Some(
                    key_cols
                        .iter()
                        .zip(found)
                        .map(|(c, t)| from_text(c, t))
                        .collect(),
                ));
            }
        }
        Ok(None)
    }

    /// Loads one table's rows.
    fn table(&mut self, index: usize) -> Result<(TableOutcome, TableRecord, Vec<Held>), DbError> {
        let plans = self.plans;
        let plan = &plans[index];
        let entry = &self.entries[plan.entry];
        let table = &entry.table;
        let options = self.options;
        let mut outcome = TableOutcome {
            table: table.name.clone(),
            ..TableOutcome::default()
        };
        let mut record = TableRecord {
            table: table.clone(),
            deferred: plan
                .later
                .iter()
                .map(|r| {
                    r.positions
                        .iter()
                        .map(|&i| table.columns[i].name.clone())
                        .collect()
                })
                .collect(),
            ..TableRecord::default()
        };
        let mut held: Vec<Held> = Vec::new();
        let empty = is_empty(&mut *self.target, table)?;
        self.empty[index] = empty;
        let chunk = if options.continue_on_error {
            options.batch_size.max(1)
        } else {
            INSERT_BATCH
        };
        let mut pending: Vec<Pending> = Vec::new();
        let reader = rows(self.package, &entry.data_loc)?;
        for (n, line) in reader.lines().enumerate() {
            let line =
                line.map_err(|e| DbError::Io(format!("cannot read table `{}`: {e}", table.name)))?;
            if line.trim().is_empty() {
                continue;
            }
            let mut row = values(table, &line, n as u64 + 1)?;
            let old_key: Vec<Value> = plan.pk.iter().map(|&i| row[i].clone()).collect();
            let mut later_values = Vec::with_capacity(plan.later.len());
            for r in &plan.later {
                later_values.push(r.positions.iter().map(|&i| row[i].clone()).collect());
                for &i in &r.positions {
                    row[i] = Value::Null;
                }
            }
            self.rewrite(&plan.now, &mut row);
            let existing = if empty {
                None
            } else {
                self.existing(index, &row)?
            };
            let Some(target_key) = existing else {
                if !plan.later.is_empty()
                    && later_values
                        .iter()
                        .any(|v: &Vec<Value>| v.iter().any(|x| !x.is_null()))
                {
                    held.push((old_key.clone(), later_values));
                }
                pending.push(Pending { row, old_key });
                if pending.len() >= chunk {
                    self.flush(index, &mut pending, &mut outcome, &mut record)?;
                }
                continue;
            };
            match options.on_conflict {
                OnConflict::Fail => {
                    let refusal = match plan.generated {
                        None => format!(
                            "table `{}` already has a row with primary key {}; pass --on-conflict skip or update",
                            table.name,
                            key_text(&target_key)
                        ),
                        Some(_) => format!(
                            "table `{}` already has a row matching package row {} on a unique constraint (its key is {}); pass --on-conflict skip or update",
                            table.name,
                            key_text(&old_key),
                            key_text(&target_key)
                        ),
                    };
                    attempt(
                        &mut *self.target,
                        options,
                        &mut outcome,
                        &old_key,
                        &mut |_| Err::<(), _>(DbError::Invalid(refusal.clone())),
                    )?;
                }
                OnConflict::Skip => {
                    outcome.skip += 1;
                    if plan.remapped {
                        self.maps[index].insert(&old_key, target_key);
                    }
                }
                OnConflict::Update => {
                    if options.dry_run {
                        outcome.update += 1;
                    } else {
                        let columns: Vec<&Column> = table.columns.iter().collect();
                        let before = read_rows(
                            &mut *self.target,
                            table,
                            std::slice::from_ref(&target_key),
                            &columns,
                            None,
                        )?
                        .into_iter()
                        .next()
                        .map(|(_, row)| row)
                        .unwrap_or_default();
                        let key_cols = key_columns(table)?;
                        let set: Vec<Assigned<'_>> = table
                            .columns
                            .iter()
                            .zip(&row)
                            .enumerate()
                            .filter(|(i, _)| !plan.pk.contains(i))
                            .map(|(_, a)| a)
                            .collect();
                        let key: Vec<Assigned<'_>> =
                            key_cols.iter().copied().zip(&target_key).collect();
                        let done = attempt(
                            &mut *self.target,
                            options,
                            &mut outcome,
                            &old_key,
                            &mut |t| update(t, table, &set, &key),
                        )?;
                        if done.is_some() {
                            outcome.update += 1;
                            record.updated.push(UpdatedRow {
                                key: target_key.clone(),
                                before,
                                after: 0,
                            });
                            if later_values.iter().any(|v| v.iter().any(|x| !x.is_null())) {
                                held.push((old_key.clone(), later_values));
                            }
                        }
                        self.tick(1)?;
                    }
                    if plan.remapped {
                        self.maps[index].insert(&old_key, target_key);
                    }
                }
            }
        }
        self.flush(index, &mut pending, &mut outcome, &mut record)?;
        Ok((outcome, record, held))
    }

    /// Counts rows written; with `continue_on_error`, commits every
    /// `batch_size` rows.
    fn tick(&mut self, n: usize) -> Result<(), DbError> {
        self.since_commit += n;
        if self.options.continue_on_error
            && !self.options.dry_run
            && self.since_commit >= self.options.batch_size.max(1)
        {
            self.target.commit()?;
            self.target.begin()?;
            self.since_commit = 0;
        }
        Ok(())
    }

    /// Inserts the pending rows.
    fn flush(
        &mut self,
        index: usize,
        pending: &mut Vec<Pending>,
        outcome: &mut TableOutcome,
        record: &mut TableRecord,
    ) -> Result<(), DbError> {
        if pending.is_empty() {
            return Ok(());
        }
        let plan = &self.plans[index];
        let table = &self.entries[plan.entry].table;
        let options = self.options;
        let mut batch = std::mem::take(pending);
        if options.dry_run {
            outcome.insert += batch.len() as u64;
            if plan.remapped {
                for p in &batch {
                    let placeholder = vec![Value::Null; p.old_key.len()];
                    self.maps[index].insert(&p.old_key, placeholder);
                }
            }
            return Ok(());
        }
        let count = batch.len();
        if let Some(g) = plan.generated {
            let column = &table.columns[g];
            match self.target.reserve(table, column, batch.len())? {
                Some(ids) => {
                    for (p, id) in batch.iter_mut().zip(ids) {
                        p.row[g] = Value::from(id);
                    }
                }
                None => {
                    // The engine gives keys only as it inserts: one row at a time.
                    for p in batch {
                        let row: Vec<Assigned<'_>> = table
                            .columns
                            .iter()
                            .zip(&p.row)
                            .enumerate()
                            .filter(|(i, _)| *i != g)
                            .map(|(_, a)| a)
                            .collect();
                        let got =
                            attempt(&mut *self.target, options, outcome, &p.old_key, &mut |t| {
                                t.insert_generated(table, &row, column)
                            })?;
                        if let Some(id) = got {
                            let mut new_key: Vec<Value> =
                                plan.pk.iter().map(|&i| p.row[i].clone()).collect();
                            if let Some(slot) = plan.pk.iter().position(|&i| i == g) {
                                new_key[slot] = Value::from(id);
                            }
                            self.inserted(index, &p.old_key, new_key, outcome, record);
                        }
                    }
                    return self.tick(count);
                }
            }
        }
        let rows: Vec<Vec<Value>> = batch.iter().map(|p| p.row.clone()).collect();
        let bulk = if options.continue_on_error {
            self.target.run_sql("SAVEPOINT pkg_batch")?;
            match self.target.insert_many(table, &rows) {
                Ok(()) => {
                    self.target.run_sql("RELEASE SAVEPOINT pkg_batch")?;
                    true
                }
                Err(_) => {
                    self.target.run_sql("ROLLBACK TO SAVEPOINT pkg_batch")?;
                    self.target.run_sql("RELEASE SAVEPOINT pkg_batch")?;
                    false
                }
            }
        } else {
            self.target
                .insert_many(table, &rows)
                .map_err(|e| DbError::Database(format!("inserting into `{}`: {e}", table.name)))?;
            true
        };
        drop(rows);
        for p in batch {
            let ok = bulk || {
                let assigned: Vec<Assigned<'_>> = table.columns.iter().zip(&p.row).collect();
                attempt(&mut *self.target, options, outcome, &p.old_key, &mut |t| {
                    insert(t, table, &assigned)
                })?
                .is_some()
            };
            if ok {
                let new_key: Vec<Value> = plan.pk.iter().map(|&i| p.row[i].clone()).collect();
                self.inserted(index, &p.old_key, new_key, outcome, record);
            }
        }
        self.tick(count)
    }

    /// Notes a row inserted.
    fn inserted(
        &mut self,
        index: usize,
        old_key: &[Value],
        new_key: Vec<Value>,
        outcome: &mut TableOutcome,
        record: &mut TableRecord,
    ) {
        outcome.insert += 1;
        if self.plans[index].remapped {
            self.maps[index].insert(old_key, new_key.clone());
        }
        record.inserted.push(new_key);
    }

    /// Sets the foreign keys written NULL, now that every row is in.
    fn set_later(
        &mut self,
        index: usize,
        held: Vec<Held>,
        outcome: &mut TableOutcome,
    ) -> Result<(), DbError> {
        let plan = &self.plans[index];
        let table = self.table_of(index).clone();
        let key_cols = key_columns(&table)?;
        for (old_key, later_values) in held {
            let key = if plan.remapped {
                match self.maps[index].get(&old_key) {
                    Some(k) => k,
                    // Refused (continue_on_error): nothing to set.
                    None => continue,
                }
            } else {
                old_key.clone()
            };
            let mut row = vec![Value::Null; table.columns.len()];
            for (r, v) in plan.later.iter().zip(&later_values) {
                for (&i, x) in r.positions.iter().zip(v) {
                    row[i] = x.clone();
                }
            }
            self.rewrite(&plan.later, &mut row);
            let set: Vec<Assigned<'_>> = plan
                .later
                .iter()
                .flat_map(|r| r.positions.iter())
                .map(|&i| (&table.columns[i], &row[i]))
                .collect();
            let assigned_key: Vec<Assigned<'_>> = key_cols.iter().copied().zip(&key).collect();
            attempt(
                &mut *self.target,
                self.options,
                outcome,
                &old_key,
                &mut |t| update(t, &table, &set, &assigned_key),
            )?;
            self.tick(1)?;
        }
        Ok(())
    }

    /// Fingerprints the rows the load inserted and updated, as it leaves
    /// them: a table empty before the load in one scan, another by key
    /// (after bringing the planner's statistics up to date when many keys
    /// are looked up).
    fn fingerprint(&mut self, index: usize, record: &mut TableRecord) -> Result<(), DbError> {
        let table = self.table_of(index).clone();
        let columns: Vec<&Column> = table.columns.iter().collect();
        if self.empty[index] {
            record.inserted_fingerprints =
                fingerprint::by_scan(&mut *self.target, &table, &record.inserted, &columns)?;
            return Ok(());
        }
        if record.inserted.len() + record.updated.len() > MANY_KEYS {
            self.target.analyze(&table)?;
        }
        let mut fingerprints = Vec::with_capacity(record.inserted.len());
        let mut start = 0;
        while start < record.inserted.len() {
            let keys = record.inserted.slice(start, KEYS_PER_STATEMENT);
            fingerprints.extend(fingerprint::by_keys(
                &mut *self.target,
                &table,
                &keys,
                &columns,
            )?);
            start += keys.len();
        }
        record.inserted_fingerprints = fingerprints;
        let keys: Vec<Vec<Value>> = record.updated.iter().map(|u| u.key.clone()).collect();
        let after = fingerprint::by_keys(&mut *self.target, &table, &keys, &columns)?;
        for (u, f) in record.updated.iter_mut().zip(after) {
            u.after = f;
        }
        Ok(())
    }
}

/// How many keys make a lookup by key worth fresh planner statistics.
pub const MANY_KEYS: usize = 10_000;
