//! `pkg db create DIR --db URL --table T...`: a database package of the
//! chosen tables (see `db::export`); `pkg db load SOURCE --db URL`: one
//! loaded into a database (see `db::load`). Owns [`DbCommand`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;

use super::Context;
use crate::db::export::{ExportRequest, export};
use crate::db::load::{LoadOptions, LoadTarget, OnConflict, load};
use crate::db::mysql::MysqlSource;
use crate::db::mysql_load::MysqlTarget;
use crate::db::postgres::PostgresSource;
use crate::db::postgres_load::PostgresTarget;
use crate::db::source::ExportSource;
use crate::db::sqlite::SqliteSource;
use crate::db::sqlite_load::SqliteTarget;
use crate::db::url::DbUrl;
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
        } => {
            let url = DbUrl::parse(db).map_err(anyhow::Error::msg)?;
            let bar = ctx.progress();
            let opened = ctx.open(source, None, &bar)?;
            bar.finish();
            let mut target: Box<dyn LoadTarget> = match &url {
                DbUrl::Sqlite(path) => Box::new(SqliteTarget::open(path)?),
                DbUrl::Postgres(text) => Box::new(PostgresTarget::open(text, &url.shown())?),
                DbUrl::Mysql(text) => Box::new(MysqlTarget::open(text, &url.shown())?),
            };
            let options = LoadOptions {
                on_conflict: match on_conflict.as_str() {
                    "skip" => OnConflict::Skip,
                    "update" => OnConflict::Update,
                    _ => OnConflict::Fail,
                },
                dry_run: *dry_run,
                continue_on_error: *continue_on_error,
                batch_size: usize::try_from(*batch_size).unwrap_or(1000),
            };
            let outcomes = load(&opened.package, target.as_mut(), options)
                .with_context(|| format!("loading {source} into {}", url.shown()))?;
            ctx.printer.status(&format!(
                "{} {} into {}",
                if *dry_run { "Would load" } else { "Loaded" },
                source,
                url.shown()
            ));
            for o in &outcomes {
                for f in &o.failures {
                    ctx.printer
                        .warn(&format!("{} row {}: {}", o.table, f.key, f.error));
                }
            }
            ctx.printer.result(&outcomes, || {
                let mut table = Table::new(["TABLE", "INSERT", "UPDATE", "SKIP", "FAILED"]);
                for o in &outcomes {
                    table.row([
                        o.table.clone(),
                        o.insert.to_string(),
                        o.update.to_string(),
                        o.skip.to_string(),
                        o.failed.to_string(),
                    ]);
                }
                table.render()
            })?;
            let failed: u64 = outcomes.iter().map(|o| o.failed).sum();
            if failed > 0 {
                bail!("{failed} row(s) were refused; the others were loaded");
            }
            Ok(())
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
