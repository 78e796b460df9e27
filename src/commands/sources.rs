//! `pkg source add|list|remove|enable|disable` (the configured package
//! sources) and `pkg index` (their merged index). Owns [`SourceCommand`],
//! [`IndexArgs`] and [`MergeArgs`], which `search` and `versions` share.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::Context;
use crate::registry::names::check_name;
use crate::sources::cache::{CachePolicy, Freshness};
use crate::sources::resolve::resolve;
use crate::sources::{self, Conflict, IndexEntry, MergedIndex, Wanted};
use crate::ui::Table;
use semver::VersionReq;

/// `pkg source ...`.
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a source: a directory of packages, a `pkg serve` URL, or a git repository
    Add {
        /// The source's name
        name: String,
        /// A directory, an http(s) registry URL, or a git repository (github:OWNER/REPO, git+https://...)
        location: String,
        /// Lower numbers win when several sources hold a name [default: 100]
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i64>,
        /// Read a registry's token from this environment variable
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Refuse every package from this source unless this public key (a minisign .pub file or RW...) signed it; repeat for several keys, any of which may sign
        #[arg(long, value_name = "PUBLIC")]
        require_signature: Vec<String>,
    },
    /// List sources, whether each answers, how many package versions it holds, and the age of its cached index
    List {
        /// Ask remote sources again even when their cached index is fresh
        #[arg(long)]
        refresh: bool,
    },
    /// Remove a source
    Remove {
        /// The source's name
        name: String,
    },
    /// Use a source again
    Enable {
        /// The source's name
        name: String,
    },
    /// Stop using a source (it stays configured)
    Disable {
        /// The source's name
        name: String,
    },
}

/// How the sources' indexes are merged and filtered.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Which source wins when several hold a name [default: priority, or `[index] conflict`]
    #[arg(long, value_name = "STRATEGY", value_parser = parse_conflict)]
    pub conflict: Option<Conflict>,
    /// Use only this source
    #[arg(long = "source", value_name = "NAME")]
    pub only: Option<String>,
    /// Hide packages whose min_level is above this level (1-6)
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=6))]
    pub level: Option<u8>,
    /// Ask remote sources again even when their cached index is fresh
    #[arg(long)]
    pub refresh: bool,
}

/// The merged index of `sources` (only `only`, the entries `wanted`),
/// through the index cache.
fn build(
    ctx: &Context,
    all: &[sources::Source],
    only: Option<&str>,
    refresh: bool,
    wanted: &Wanted,
) -> Result<MergedIndex> {
    let policy = CachePolicy {
        ttl: sources::configured_ttl()?,
        refresh,
        offline: ctx.offline,
    };
    let settings = ctx.source_settings()?;
    Ok(MergedIndex::build(all, only, &settings, policy, wanted))
}

fn parse_conflict(text: &str) -> Result<Conflict, String> {
    text.parse()
}

impl MergeArgs {
    /// The merged index of the enabled sources, as these options ask;
    /// every source that failed or left packages out is a warning.
    pub fn merged(&self, ctx: &Context) -> Result<MergedIndex> {
        self.merged_wanting(ctx, &Wanted::All)
    }

    /// [`MergeArgs::merged`] with only the entries `wanted`.
    pub fn merged_wanting(&self, ctx: &Context, wanted: &Wanted) -> Result<MergedIndex> {
        let all = sources::list()?;
        if let Some(only) = &self.only
            && !all.iter().any(|s| &s.name == only)
        {
            bail!(sources::SourceError::Unknown(only.clone()));
        }
        let merged =
            build(ctx, &all, self.only.as_deref(), self.refresh, wanted)?.at_level(self.level);
        for status in &merged.statuses {
            match (&status.error, status.age_seconds) {
                (Some(error), Some(age)) if MergedIndex::answered(status) => {
                    ctx.printer.warn(&format!(
                        "source `{}` did not answer ({error}); using its cached index from {} ago",
                        status.source.name,
                        human_age(age)
                    ));
                }
                (Some(error), _) => ctx.printer.warn(&format!(
                    "source `{}` did not answer: {error}",
                    status.source.name
                )),
                _ => {}
            }
            for w in &status.warnings {
                ctx.printer
                    .warn(&format!("source `{}`: {w}", status.source.name));
            }
        }
        Ok(merged)
    }

    /// The strategy: the flag, else `[index] conflict`, else priority.
    pub fn strategy(&self) -> Result<Conflict> {
        Ok(match self.conflict {
            Some(c) => c,
            None => sources::configured_conflict()?.unwrap_or_default(),
        })
    }
}

/// `pkg index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// How to merge
    #[command(flatten)]
    pub merge: MergeArgs,
}

/// `pkg tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The packages: NAME or NAME@REQ (semver: ^1.2, ~1.2.3, =1.2.3, >=1, *)
    #[arg(required = true, value_name = "NAME[@REQ]")]
    pub packages: Vec<String>,
    /// How to merge
    #[command(flatten)]
    pub merge: MergeArgs,
}

/// Parses `NAME[@REQ]` into a name and a requirement (`*` without one).
pub fn parse_request(text: &str) -> Result<(String, VersionReq)> {
    let (name, req) = match text.split_once('@') {
        Some((n, r)) => (n, r.trim()),
        None => (text, "*"),
    };
    check_name(name)
        .map_err(|e| anyhow::anyhow!("`{text}`: {e} (give NAME or NAME@REQ, e.g. app@^1.2)"))?;
    let req = match req {
        "" | "*" | "latest" => VersionReq::STAR,
        r => VersionReq::parse(r).map_err(|e| {
            anyhow::anyhow!(
                "`{text}`: `{r}` is not a semver requirement ({e}); e.g. ^1.2, ~1.2.3, =1.2.3"
            )
        })?,
    };
    Ok((name.to_string(), req))
}

/// `pkg tree`: the resolved dependency graph.
pub fn tree(ctx: &Context, args: &TreeArgs) -> Result<()> {
    let requests = args
        .packages
        .iter()
        .map(|p| parse_request(p))
        .collect::<Result<Vec<_>>>()?;
    let merged = args.merge.merged(ctx)?;
    let resolution =
        resolve(&merged, args.merge.strategy()?, &requests).map_err(|e| anyhow::anyhow!("{e}"))?;
    ctx.printer.result(&resolution, || resolution.tree())
}

#[derive(Debug, Serialize)]
struct SourceView {
    #[serde(flatten)]
    source: sources::Source,
    healthy: bool,
    packages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// How the index was obtained (remote sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    freshness: Option<Freshness>,
    /// The age of the cached index in seconds (remote sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    index_age_seconds: Option<u64>,
}

/// `42s`, `3m`, `2h`, `5d`.
fn human_age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// `pkg source ...`.
pub fn run(ctx: &Context, cmd: &SourceCommand) -> Result<()> {
    match cmd {
        SourceCommand::Add {
            name,
            location,
            priority,
            token_env,
            require_signature,
        } => {
            let source = sources::add(
                name,
                location,
                *priority,
                token_env.as_deref(),
                require_signature,
            )?;
            ctx.printer.status(&format!(
                "Added {} source `{}` at {} (priority {})",
                source.kind.name(),
                source.name,
                source.location,
                source.priority
            ));
            Ok(())
        }
        SourceCommand::Remove { name } => {
            sources::remove(name)?;
            ctx.printer.status(&format!("Removed source `{name}`"));
            Ok(())
        }
        SourceCommand::Enable { name } => {
            sources::set_enabled(name, true)?;
            ctx.printer.status(&format!("Enabled source `{name}`"));
            Ok(())
        }
        SourceCommand::Disable { name } => {
            sources::set_enabled(name, false)?;
            ctx.printer.status(&format!("Disabled source `{name}`"));
            Ok(())
        }
        SourceCommand::List { refresh } => list(ctx, *refresh),
    }
}

fn list(ctx: &Context, refresh: bool) -> Result<()> {
    let all = sources::list()?;
    let merged = build(ctx, &all, None, refresh, &Wanted::All)?;
    let views: Vec<SourceView> = all
        .into_iter()
        .map(|source| {
            let status = merged
                .statuses
                .iter()
                .find(|s| s.source.name == source.name);
            SourceView {
                healthy: status.is_some_and(|s| s.error.is_none()),
                packages: status.map_or(0, |s| s.packages),
                error: status.and_then(|s| s.error.clone()),
                freshness: status.and_then(|s| s.freshness.clone()),
                index_age_seconds: status.and_then(|s| s.age_seconds),
                source,
            }
        })
        .collect();
    ctx.printer.result(&views, || {
        let mut table = Table::new([
            "NAME",
            "KIND",
            "PRIORITY",
            "STATUS",
            "PACKAGES",
            "INDEX AGE",
            "LOCATION",
        ]);
        for v in &views {
            let status = if !v.source.enabled {
                "disabled"
            } else if v.healthy {
                "ok"
            } else if v.freshness == Some(Freshness::Stale) {
                "stale"
            } else {
                "failing"
            };
            table.row([
                v.source.name.clone(),
                v.source.kind.name().to_string(),
                v.source.priority.to_string(),
                status.to_string(),
                if v.source.enabled {
                    v.packages.to_string()
                } else {
                    "-".into()
                },
                v.index_age_seconds.map_or_else(|| "-".into(), human_age),
                v.source.location.clone(),
            ]);
        }
        ctx.printer.table_text(
            &table,
            "No sources; add one with `pkg source add NAME LOCATION`",
        )
    })?;
    for v in views.iter().filter(|v| v.error.is_some()) {
        ctx.printer.warn(&format!(
            "source `{}`: {}",
            v.source.name,
            v.error.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

/// `pkg index`.
pub fn index(ctx: &Context, args: &IndexArgs) -> Result<()> {
    let merged = args.merge.merged(ctx)?;
    let entries: Vec<&IndexEntry> = merged.sorted();
    ctx.printer.result(&entries, || {
        let mut table = Table::new(["NAME", "VERSION", "SOURCE", "LEVEL", "DEPENDENCIES"]);
        for e in &entries {
            let deps: Vec<String> = e
                .dependencies
                .iter()
                .map(|(n, r)| format!("{n} {r}"))
                .collect();
            table.row([
                e.name.clone(),
                e.version.to_string(),
                e.source.clone(),
                e.min_level.to_string(),
                deps.join(", "),
            ]);
        }
        ctx.printer.table_text(&table, "No packages in any source")
    })
}
