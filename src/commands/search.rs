//! `pkg search QUERY --registry NAME`: packages whose name or description
//! matches, from a registry. Owns [`SearchArgs`].

use anyhow::{Context as _, Result};
use clap::Args;

use super::Context;
use crate::remote::{ServerClient, remotes};
use crate::ui::Table;

/// `pkg search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find in package names and descriptions
    pub query: String,
    /// The registry remote to search (`pkg remote add`)
    #[arg(long, value_name = "REMOTE")]
    pub registry: String,
    /// At most this many results
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

/// `pkg search`.
pub fn run(ctx: &Context, args: &SearchArgs) -> Result<()> {
    let client = ServerClient::new(remotes::get(&args.registry)?)?;
    let list = client
        .search(&args.query, usize::from(args.limit))
        .with_context(|| format!("cannot search registry `{}`", args.registry))?;
    ctx.printer.result(&list, || {
        let mut table = Table::new(["NAME", "LATEST", "STATUS", "DESCRIPTION"]);
        for p in &list.packages {
            table.row([
                p.name.clone(),
                p.latest.clone().unwrap_or_else(|| "-".into()),
                p.status.as_str().to_string(),
                p.description
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(60)
                    .collect(),
            ]);
        }
        ctx.printer
            .table_text(&table, &format!("No package matches `{}`", args.query))
    })
}
