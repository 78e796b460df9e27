//! The writing half of a load, table by table in the plan's order: rows
//! streamed from the package, foreign keys rewritten, existing rows found
//! and refused, kept or updated, new rows inserted in batches (keys taken
//! from the target when remapping), deferred keys set at the end, and every
//! written row fingerprinted for a rollback.

use std::io::BufRead as _;

use serde_json::Value;

use super::fingerprint;
use super::keymap::{KeyMap, key_text};
use super::load_options::{
    INSERT_BATCH, LISTED_FAILURES, LoadOptions, OnConflict, RowFailure, TableOutcome,
};
use super::load_plan::{Plan, Reference};
use super::package_rows::{from_text, rows, values};
use super::record::{LoadRecord, RECORD_VERSION, TableRecord, UpdatedRow};
use super::schema::{Column, Table};
use super::source::DbError;
use super::target::{
    Assigned, KEYS_PER_STATEMENT, LoadTarget, find, insert, is_empty, key_columns, read_rows,
    update,
};
use crate::manifest::tables::TableEntry;
use crate::package::read::Package;

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
pub(super) struct Loader<'a> {
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

impl<'a> Loader<'a> {
    /// A load of `package`'s `entries` into `target` by `plans`.
    pub(super) fn new(
        package: &'a Package,
        target: &'a mut dyn LoadTarget,
        options: LoadOptions,
        entries: &'a [TableEntry],
        plans: &'a [Plan],
    ) -> Loader<'a> {
        let maps = plans
            .iter()
            .map(|p| {
                // Sized from the manifest's row count, so a large map does not
                // grow (and briefly double) as it fills.
                let rows = if p.remapped && !options.dry_run {
                    usize::try_from(entries[p.entry].row_count).unwrap_or(0)
                } else {
                    0
                };
                KeyMap::with_capacity(rows.min(1 << 24))
            })
            .collect();
        Loader {
            package,
            target,
            options,
            entries,
            plans,
            maps,
            since_commit: 0,
            empty: vec![false; plans.len()],
        }
    }

    /// Writes every table; the outcomes (by table name) and the record.
    pub(super) fn run(&mut self) -> Result<(Vec<TableOutcome>, LoadRecord), DbError> {
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
        // The rows move out for the bulk insert and back to their keys after.
        let rows: Vec<Vec<Value>> = batch
            .iter_mut()
            .map(|p| std::mem::take(&mut p.row))
            .collect();
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
        for (p, row) in batch.into_iter().zip(rows) {
            let ok = bulk || {
                let assigned: Vec<Assigned<'_>> = table.columns.iter().zip(&row).collect();
                attempt(&mut *self.target, options, outcome, &p.old_key, &mut |t| {
                    insert(t, table, &assigned)
                })?
                .is_some()
            };
            if ok {
                let new_key: Vec<Value> = plan.pk.iter().map(|&i| row[i].clone()).collect();
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
