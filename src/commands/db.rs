//! `pkg db create DIR --db URL --table T...`: a database package of the
//! chosen tables (see `db::export`); `pkg db load SOURCE --db URL`: one
//! loaded into a database (see `db::load`). Owns [`DbCommand`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;

use super::Context;
use crate::db::export::{ExportRequest, export};
use crate::db::load::{LoadOptions, LoadResult, OnConflict, load};
use crate::db::mysql::MysqlSource;
use crate::db::mysql_load::MysqlTarget;
use crate::db::postgres::PostgresSource;
use crate::db::postgres_load::PostgresTarget;
use crate::db::source::ExportSource;
use crate::db::sqlite::SqliteSource;
use crate::db::sqlite_load::SqliteTarget;
use crate::db::target::LoadTarget;
use crate::db::url::DbUrl;
use crate::hub::db_loads;
use crate::hub::history::{Counts, NewEntry};
use crate::package::export::destination::Staged;
use crate::progress::Progress as _;
use crate::ui::Table;

/// `pkg db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Export tables (with the rows they reference) into a package directory
    Create {
        /// The directory to write (must be absent or empty unless --force)
        dir: PathBuf,
        /// The database: postgres://..., mysql://... or sqlite:PATH
        #[arg(long, value_name = "URL")]
        db: String,
        /// A table to export (repeat for several)
        #[arg(long = "table", value_name = "TABLE", required = true)]
        tables: Vec<String>,
        /// Only the rows of TABLE matching an SQL condition: TABLE="PREDICATE" (repeatable)
        #[arg(long = "where", value_name = "TABLE=PREDICATE", value_parser = split_pair)]
        predicates: Vec<(String, String)>,
        /// Leave columns out: TABLE=COL1,COL2 (repeatable)
        #[arg(long = "exclude-columns", value_name = "TABLE=COLUMNS", value_parser = split_pair)]
        excluded: Vec<(String, String)>,
        /// Add every row the exported rows reference, transitively
        #[arg(long)]
        with_parents: bool,
        /// Add the rows referencing the exported rows of TABLE (repeatable)
        #[arg(long = "with-children", value_name = "TABLE")]
        with_children: Vec<String>,
        /// The package name
        #[arg(long)]
        name: Option<String>,
        /// The package version (semver)
        #[arg(long)]
        version: Option<String>,
        /// Replace DIR if it is not empty
        #[arg(long)]
        force: bool,
    },
    /// Load a database package into a database (parents first, one transaction)
    Load {
        /// The package directory or archive
        source: String,
        /// The database: postgres://..., mysql://... or sqlite:PATH
        #[arg(long, value_name = "URL")]
        db: String,
        /// What to do with rows whose primary key exists
        #[arg(long, value_name = "POLICY", default_value = "fail", value_parser = ["fail", "skip", "update"])]
        on_conflict: String,
        /// Print the plan per table (rows to insert, update and skip) and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Commit in batches and report each row the database refuses instead of stopping
        #[arg(long)]
        continue_on_error: bool,
        /// Rows per commit with --continue-on-error
        #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
        /// Give inserted rows new keys from the target (sequence, identity, autoincrement) and rewrite foreign keys to match
        #[arg(long)]
        remap_keys: bool,
    },
}

fn split_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{text}` must be TABLE=VALUE")),
    }
}

/// Opens `url` for an export.
fn open(url: &DbUrl) -> Result<Box<dyn ExportSource>> {
    match url {
        DbUrl::Sqlite(path) => Ok(Box::new(SqliteSource::open(path)?)),
        DbUrl::Postgres(text) => Ok(Box::new(PostgresSource::open(text, &url.shown())?)),
        DbUrl::Mysql(text) => Ok(Box::new(MysqlSource::open(text, &url.shown())?)),
    }
}

/// Opens `url` for a load or a rollback.
pub fn open_target(url: &DbUrl) -> Result<Box<dyn LoadTarget>> {
    Ok(match url {
        DbUrl::Sqlite(path) => Box::new(SqliteTarget::open(path)?),
        DbUrl::Postgres(text) => Box::new(PostgresTarget::open(text, &url.shown())?),
        DbUrl::Mysql(text) => Box::new(MysqlTarget::open(text, &url.shown())?),
    })
}

/// Records a load in the local hub's history; its entry ID.
fn record(
    ctx: &Context,
    source: &str,
    opened: &crate::commands::source::Opened,
    url: &DbUrl,
    options: LoadOptions,
    result: &LoadResult,
) -> Result<i64> {
    let failed = || {
        format!(
            "the rows are loaded into {}, but the history could not record the load, so `pkg rollback` cannot undo it",
            url.shown()
        )
    };
    let bytes = result.record.to_bytes().with_context(failed)?;
    let package = &opened.package;
    let entry = NewEntry {
        source: source.to_string(),
        digest: package.digest.clone(),
        commit: opened.fetched.commit.clone(),
        on_conflict: options.on_conflict.as_str().to_string(),
        name: package.manifest.name.clone().unwrap_or_default(),
        version: package.manifest.version.clone().unwrap_or_default(),
        warnings: result.notes.clone(),
        ..NewEntry::default()
    };
    let counts = Counts {
        created: result.tables.iter().map(|t| t.insert).sum(),
        updated: result.tables.iter().map(|t| t.update).sum(),
        skipped: result.tables.iter().map(|t| t.skip).sum(),
        ..Counts::default()
    };
    let mut hub = ctx.open_hub().with_context(failed)?;
    db_loads::record_load(&mut hub, &entry, &counts, &url.shown(), &bytes).with_context(failed)
}

/// What `pkg db load -o json` prints.
#[derive(serde::Serialize)]
struct LoadView<'a> {
    /// The history entry (none for a dry run).
    history_id: Option<i64>,
    dry_run: bool,
    tables: &'a [crate::db::load::TableOutcome],
    /// Table → {package key: target key}.
    key_map: std::collections::BTreeMap<&'a str, &'a crate::db::keymap::KeyMap>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

fn report_load(
    ctx: &Context,
    source: &str,
    url: &DbUrl,
    dry_run: bool,
    history_id: Option<i64>,
    result: &LoadResult,
) -> Result<()> {
    for note in &result.notes {
        ctx.printer.warn(note);
    }
    for o in &result.tables {
        for f in &o.failures {
            ctx.printer
                .warn(&format!("{} row {}: {}", o.table, f.key, f.error));
        }
    }
    ctx.printer.status(&match history_id {
        Some(id) => format!(
            "Loaded {source} into {} (history entry {id}; `pkg rollback {id}` undoes it)",
            url.shown()
        ),
        None => format!(
            "Would load {source} into {} (dry run: nothing was written)",
            url.shown()
        ),
    });
    let view = LoadView {
        history_id,
        dry_run,
        tables: &result.tables,
        key_map: if dry_run {
            Default::default()
        } else {
            result.key_maps()
        },
        notes: &result.notes,
    };
    ctx.printer.result(&view, || {
        let mut table = Table::new(["TABLE", "INSERT", "UPDATE", "SKIP", "FAILED", "KEYS"]);
        for o in &result.tables {
            let remapped = result
                .record
                .tables
                .iter()
                .find(|t| t.table.name == o.table)
                .map(|t| t.key_map.len())
                .unwrap_or(0);
            table.row([
                o.table.clone(),
                o.insert.to_string(),
                o.update.to_string(),
                o.skip.to_string(),
                o.failed.to_string(),
                if remapped > 0 && !dry_run {
                    format!("{remapped} remapped")
                } else {
                    "kept".to_string()
                },
            ]);
        }
        table.render()
    })?;
    let failed: u64 = result.tables.iter().map(|o| o.failed).sum();
    if failed > 0 {
        bail!("{failed} row(s) were refused; the others were loaded");
    }
    Ok(())
}

/// `pkg rollback ID` of a database load: undoes it and records the
/// rollback. `db` overrides the recorded database URL (which has no
/// password).
pub fn rollback(ctx: &Context, id: i64, force: bool, db: Option<&str>) -> Result<bool> {
    let mut hub = ctx.open_hub()?;
    let Some(found) = db_loads::get(&hub, id)? else {
        return Ok(false);
    };
    let Some(bytes) = found.record.as_deref() else {
        return Ok(false);
    };
    if let Some(by) = crate::hub::history::get(hub.conn(), id)?.and_then(|e| e.reverted_by) {
        bail!("cannot roll back entry {id}: it was already rolled back by entry {by}");
    }
    let record = crate::db::record::LoadRecord::from_bytes(bytes)
        .with_context(|| format!("reading history entry {id}"))?;
    let url = DbUrl::parse(db.unwrap_or(&found.database)).map_err(anyhow::Error::msg)?;
    let mut target = open_target(&url).with_context(|| {
        format!(
            "entry {id} loaded {}; pass --db URL (with its password) to reach it",
            found.database
        )
    })?;
    let done = crate::db::rollback::rollback(target.as_mut(), &record, force)
        .with_context(|| format!("rolling back entry {id} in {}", url.shown()))?;
    let counts = Counts {
        deleted: done.iter().map(|t| t.deleted).sum(),
        updated: done.iter().map(|t| t.restored).sum(),
        ..Counts::default()
    };
    let new_id =
        db_loads::record_rollback(&mut hub, id, &counts, &url.shown()).with_context(|| {
            format!(
                "entry {id} is rolled back in {}, but the history could not record it",
                url.shown()
            )
        })?;
    #[derive(serde::Serialize)]
    struct View<'a> {
        history_id: i64,
        reverted: i64,
        database: String,
        tables: &'a [crate::db::rollback::TableRollback],
    }
    let view = View {
        history_id: new_id,
        reverted: id,
        database: url.shown(),
        tables: &done,
    };
    ctx.printer.outcome(&view, || {
        format!(
            "Rolled back entry {id} in {}: {} row(s) deleted, {} restored (history entry {new_id})\n",
            url.shown(),
            counts.deleted,
            counts.updated
        )
    })?;
    Ok(true)
}

/// Runs `pkg db ...`.
pub fn run(ctx: &Context, cmd: &DbCommand) -> Result<()> {
    match cmd {
        DbCommand::Load {
            source,
            db,
            on_conflict,
            dry_run,
            continue_on_error,
            batch_size,
            remap_keys,
        } => {
            ctx.local_only(
                "db load",
                "database loads are recorded in the local hub's history",
            )?;
            let url = DbUrl::parse(db).map_err(anyhow::Error::msg)?;
            let bar = ctx.progress();
            let opened = ctx.open_from(source, super::source::OpenRequest::default(), &bar)?;
            bar.finish();
            let mut target = open_target(&url)?;
            let options = LoadOptions {
                on_conflict: match on_conflict.as_str() {
                    "skip" => OnConflict::Skip,
                    "update" => OnConflict::Update,
                    _ => OnConflict::Fail,
                },
                dry_run: *dry_run,
                continue_on_error: *continue_on_error,
                batch_size: usize::try_from(*batch_size).unwrap_or(1000),
                remap_keys: *remap_keys,
            };
            let result = load(&opened.package, target.as_mut(), options)
                .with_context(|| format!("loading {source} into {}", url.shown()))?;
            let history_id = if *dry_run {
                None
            } else {
                Some(record(ctx, source, &opened, &url, options, &result)?)
            };
            report_load(ctx, source, &url, *dry_run, history_id, &result)
        }
        DbCommand::Create {
            dir,
            db,
            tables,
            predicates,
            excluded,
            with_parents,
            with_children,
            name,
            version,
            force,
        } => {
            if let Some(v) = version {
                semver::Version::parse(v)
                    .with_context(|| format!("--version `{v}` is not a semver version"))?;
            }
            let mut where_: BTreeMap<String, String> = BTreeMap::new();
            for (table, predicate) in predicates {
                if where_.insert(table.clone(), predicate.clone()).is_some() {
                    bail!("--where names table `{table}` twice; combine the conditions with AND");
                }
            }
            let mut left_out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (table, columns) in excluded {
                left_out.entry(table.clone()).or_default().extend(
                    columns
                        .split(',')
                        .map(|c| c.trim().to_string())
                        .filter(|c| !c.is_empty()),
                );
            }
            let request = ExportRequest {
                tables: tables.clone(),
                predicates: where_,
                excluded: left_out,
                with_parents: *with_parents,
                with_children: with_children.clone(),
                name: name.clone(),
                version: version.clone(),
            };
            let url = DbUrl::parse(db).map_err(anyhow::Error::msg)?;
            let mut source = open(&url)?;
            let staged = Staged::start(dir, *force)?;
            let report = export(source.as_mut(), &request, staged.path())
                .with_context(|| format!("exporting from {}", url.shown()))?;
            staged.finish()?;
            for (table, columns, parent, keys) in &report.outside {
                ctx.printer.warn(&format!(
                    "{table}.{} references {keys} {parent} row(s) the package does not hold (add --with-parents to take them); a load checks that they exist",
                    columns.join(",")
                ));
            }
            ctx.printer.status(&format!(
                "Wrote {} ({}) from {}",
                dir.display(),
                report.digest,
                url.shown()
            ));
            ctx.printer.result(&report, || {
                let mut table = Table::new(["TABLE", "ROWS"]);
                for (name, rows) in &report.tables {
                    table.row([name.clone(), rows.to_string()]);
                }
                table.render()
            })
        }
    }
}
