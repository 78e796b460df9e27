//! `pkg search QUERY`: packages whose name or description matches, in the
//! merged index of the configured sources, or (`--registry NAME`) in one
//! registry remote. Owns [`SearchArgs`].

use anyhow::{Context as _, Result};
use clap::Args;

use super::Context;
use super::sources::MergeArgs;
use crate::remote::{ServerClient, remotes};
use crate::sources::IndexEntry;
use crate::ui::Table;

/// `pkg search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find in package names and descriptions
    pub query: String,
    /// Search this registry remote (`pkg remote add`) instead of the sources
    #[arg(long, value_name = "REMOTE")]
    pub registry: Option<String>,
    /// At most this many results
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// How the sources merge
    #[command(flatten)]
    pub merge: MergeArgs,
}

/// `pkg search QUERY` over the sources.
fn in_sources(ctx: &Context, args: &SearchArgs) -> Result<()> {
    let merged = args
        .merge
        .merged_wanting(ctx, &crate::sources::Wanted::matching(&args.query))?;
    let found: Vec<&IndexEntry> = merged
        .search(&args.query)
        .into_iter()
        .take(usize::from(args.limit))
        .collect();
    ctx.printer.result(&found, || {
        let mut table = Table::new(["NAME", "LATEST", "SOURCE", "DESCRIPTION"]);
        for e in &found {
            table.row([
                e.name.clone(),
                e.version.to_string(),
                e.source.clone(),
                short(&e.description),
            ]);
        }
        ctx.printer
            .table_text(&table, &format!("No package matches `{}`", args.query))
    })
}

/// A description's first line, at most 60 characters, for a table.
fn short(description: &str) -> String {
    description
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect()
}

/// `pkg search`.
pub fn run(ctx: &Context, args: &SearchArgs) -> Result<()> {
    let Some(registry) = &args.registry else {
        return in_sources(ctx, args);
    };
    let client = ServerClient::new(remotes::get(registry)?)?;
    let list = client
        .search(&args.query, usize::from(args.limit))
        .with_context(|| format!("cannot search registry `{registry}`"))?;
    ctx.printer.result(&list, || {
        let mut table = Table::new(["NAME", "LATEST", "STATUS", "DESCRIPTION"]);
        for p in &list.packages {
            table.row([
                p.name.clone(),
                p.latest.clone().unwrap_or_else(|| "-".into()),
                p.status.as_str().to_string(),
                short(&p.description),
            ]);
        }
        ctx.printer
            .table_text(&table, &format!("No package matches `{}`", args.query))
    })
}
