//! `pkg create`: write a package from the hub.

use anyhow::{Result, anyhow};
use serde::Serialize;

use super::Context;
use crate::cli::CreateArgs;
use crate::filter::WhereFilter;
use crate::model::{ResourceKind, validate_slug};
use crate::package::export::{CreateOptions, create};

#[derive(Debug, Serialize)]
struct CreateView {
    dir: String,
    digest: String,
    history_id: i64,
    counts: std::collections::BTreeMap<String, u64>,
}

/// `pkg create`.
pub fn run(ctx: &Context, args: &CreateArgs) -> Result<()> {
    for space in &args.spaces {
        validate_slug(space).map_err(|e| anyhow!("invalid --space: {e}"))?;
    }
    if let Some(v) = &args.version {
        semver::Version::parse(v)
            .map_err(|e| anyhow!("--version `{v}` is not a semver version: {e}"))?;
    }
    let filter = args
        .where_
        .as_deref()
        .map(|w| WhereFilter::parse(w, ResourceKind::Unit))
        .transpose()
        .map_err(|e| anyhow!("invalid --where expression: {e}"))?;
    let options = CreateOptions {
        spaces: args.spaces.clone(),
        filter,
        name: args.name.clone(),
        version: args.version.clone(),
        description: args.description.clone(),
        force: args.force,
    };
    let mut hub = ctx.open_hub()?;
    let bar = ctx.progress();
    let outcome = create(&mut hub, &args.dir, &options, &bar)?;
    drop(bar);
    let view = CreateView {
        dir: outcome.dir.display().to_string(),
        digest: outcome.digest.clone(),
        history_id: outcome.entry_id,
        counts: outcome
            .counts
            .iter()
            .map(|(k, v)| (k.plural().to_string(), *v))
            .collect(),
    };
    ctx.printer.outcome(&view, || {
        let parts: Vec<String> = outcome
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {}", if *v == 1 { k.name() } else { k.plural() }))
            .collect();
        let what = if parts.is_empty() {
            "nothing (no unit matched)".to_string()
        } else {
            parts.join(", ")
        };
        format!("Created package {} with {what}\n", view.dir)
    })
}
