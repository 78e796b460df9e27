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

//!
//! The plan lives in [`load_plan`](super::load_plan), the writing in
//! [`loader`](super::loader), the options and outcomes in
//! [`load_options`](super::load_options).

use super::compat::mismatches;
use super::load_plan::plan;
use super::loader::Loader;
use super::schema::{CatalogTable, Column, Table};
use super::source::DbError;
use super::target::{Assigned, LoadTarget, find};
use crate::manifest::tables::{TableEntry, parse_tables};
use crate::package::read::Package;

pub use super::load_options::{LoadOptions, LoadResult, OnConflict, RowFailure, TableOutcome};
pub use super::loader::MANY_KEYS;

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
        let mut loader = Loader::new(package, target, options, &entries, &plans);
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
