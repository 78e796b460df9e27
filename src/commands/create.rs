//! `pkg create`: write a package from the hub. Owns [`CreateArgs`].

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;
use serde::Serialize;

use super::Context;
use crate::backends;
use crate::filter::WhereFilter;
use crate::model::{ResourceKind, validate_slug};
use crate::package::export::{CarriedEnvironment, CreateOptions, create};

/// `pkg create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The directory to write (must be absent or empty unless --force)
    pub dir: PathBuf,
    /// Export units of this space (repeatable; default: all spaces)
    #[arg(long = "space", value_name = "SLUG")]
    pub spaces: Vec<String>,
    /// Export only units matching this where-expression
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
    /// Package name [default: the directory's name]
    #[arg(long)]
    pub name: Option<String>,
    /// Package version (semver)
    #[arg(long)]
    pub version: Option<String>,
    /// Package description
    #[arg(long)]
    pub description: Option<String>,
    /// Replace DIR if it is not empty
    #[arg(long)]
    pub force: bool,
    /// Carry a Python environment: its manifest and lock file go to
    /// `environments/NAME/` (repeatable)
    #[arg(long = "env", value_name = "NAME=PATH")]
    pub envs: Vec<String>,
    /// Add every resource the package refers to (and their spaces), so that
    /// it has no external references
    #[arg(long)]
    pub closure: bool,
    /// Hard-link files whose bytes equal PREV's file at the same path
    /// instead of writing them (dated backups of an unchanged hub cost
    /// almost no space)
    #[arg(long, value_name = "PREV")]
    pub link_dest: Option<PathBuf>,
    /// What `created_at` says: now (or SOURCE_DATE_EPOCH), or when the newest
    /// packaged resource last changed (an unchanged hub then gives a
    /// byte-identical package)
    #[arg(long, value_enum, default_value_t = CreatedAtArg::Now)]
    pub created_at: CreatedAtArg,
}

/// What a package's `created_at` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CreatedAtArg {
    /// The time of `pkg create` (SOURCE_DATE_EPOCH when set)
    Now,
    /// The newest UpdatedAt among the packaged resources
    Hub,
}

#[derive(Debug, Serialize)]
struct CreateView {
    dir: String,
    digest: String,
    history_id: i64,
    counts: std::collections::BTreeMap<String, u64>,
    /// References to resources the package does not hold.
    external: Vec<ExternalView>,
    /// Files hard-linked from --link-dest.
    linked: u64,
}

#[derive(Debug, Serialize)]
struct ExternalView {
    from: String,
    field: &'static str,
    to: String,
}

/// `pkg create`.
pub fn run(ctx: &Context, args: &CreateArgs) -> Result<()> {
    ctx.local_only(
        "create",
        "copy the remote's resources here with `pkg sync pull NAME`, then create",
    )?;
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
    let mut environments: Vec<CarriedEnvironment> = Vec::new();
    for arg in &args.envs {
        let env = carried(arg)?;
        if environments.iter().any(|e| e.name == env.name) {
            return Err(anyhow!(
                "--env `{arg}`: environment `{}` is given twice",
                env.name
            ));
        }
        environments.push(env);
    }
    let options = CreateOptions {
        spaces: args.spaces.clone(),
        filter,
        name: args.name.clone(),
        version: args.version.clone(),
        description: args.description.clone(),
        force: args.force,
        environments,
        closure: args.closure,
        link_dest: args.link_dest.clone(),
        created_at_from_hub: args.created_at == CreatedAtArg::Hub,
        unrecorded: false,
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
        external: outcome
            .external
            .iter()
            .map(|e| ExternalView {
                from: e.from.to_string(),
                field: e.field.manifest_key(),
                to: e.to.to_string(),
            })
            .collect(),
        linked: outcome.linked,
    };
    for e in &view.external {
        ctx.printer.warn(&format!(
            "external reference {} {} -> {}: not in the package; it must exist in the hub the package is loaded into (`--closure` adds it)",
            e.from, e.field, e.to
        ));
    }
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
        let linked = match (&args.link_dest, view.linked) {
            (Some(prev), n) => format!(
                " ({n} file{} hard-linked from {})",
                if n == 1 { "" } else { "s" },
                prev.display()
            ),
            (None, _) => String::new(),
        };
        format!("Created package {} with {what}{linked}\n", view.dir)
    })
}

/// `--env NAME=PATH`: the environment's backend and the files to carry.
fn carried(arg: &str) -> Result<CarriedEnvironment> {
    let (name, path) = arg
        .split_once('=')
        .ok_or_else(|| anyhow!("--env `{arg}`: write NAME=PATH"))?;
    validate_slug(name).map_err(|e| anyhow!("--env `{arg}`: {e}"))?;
    let dir = std::path::PathBuf::from(path);
    let kind = backends::detect(&dir).map_err(|e| anyhow!("--env `{arg}`: {e}"))?;
    let files = backends::carried_files(kind, &dir)
        .map_err(|e| anyhow!("--env `{arg}`: {e}"))?
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    Ok(CarriedEnvironment {
        name: name.to_string(),
        backend: kind.name().to_string(),
        dir,
        files,
    })
}
