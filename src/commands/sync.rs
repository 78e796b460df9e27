//! `pkg sync push|pull REMOTE`: copy resources between the local hub and a
//! server's hub with the machinery of `load`. The sending side exports the
//! selection as a package (nothing recorded); the receiving side plans it,
//! the plan is printed, and it is applied in one transaction that refuses
//! if the receiving hub changed since the plan was shown, and is recorded
//! in the receiving hub's history. An unchanged selection says "No changes"
//! and applies nothing. Owns [`SyncCommand`].

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use reqwest::Method;

use super::Context;
use super::load::{OnConflictArg, on_conflict, render_plan, warn_dropped};
use crate::filter::WhereFilter;
use crate::hub_access::HubAccess;
use crate::hub_access::local::LocalHub;
use crate::hub_access::remote::RemoteHub;
use crate::loaders::archive::{self, ArchiveFormat};
use crate::model::ResourceKind;
use crate::model::slug::validate_slug;
use crate::package::export::{CreateOptions, export_package};
use crate::package::load::LoadOptions;
use crate::package::plan::{PlanOptions, check_prefix};
use crate::package::read::{Package, read_memory_package};
use crate::progress::Progress;
use crate::remote::{ServerClient, remotes};
use crate::safe_tree::Limits;
use crate::ui::format::OutputFormat;

/// `pkg sync ...`.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Copy local resources to a remote's hub
    Push(SyncArgs),
    /// Copy a remote hub's resources into the local hub
    Pull(SyncArgs),
}

/// What to copy and how.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The remote (`pkg remote add`)
    #[arg(value_name = "REMOTE")]
    pub to: String,
    /// Copy only these spaces (repeatable) [default: every space]
    #[arg(long = "space", value_name = "SPACE")]
    pub spaces: Vec<String>,
    /// Copy only the units matching this expression
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
    /// Write the spaces as `PREFIX-<space>` on the receiving side
    #[arg(long)]
    pub prefix: Option<String>,
    /// What to do with resources that exist on the receiving side with other content
    #[arg(long, value_enum, default_value_t = OnConflictArg::Fail)]
    pub on_conflict: OnConflictArg,
    /// Print the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `pkg sync ...`.
pub fn run(ctx: &Context, cmd: &SyncCommand) -> Result<()> {
    ctx.local_only(
        "sync",
        "sync runs between the local hub and the remote it names",
    )?;
    let (args, push) = match cmd {
        SyncCommand::Push(args) => (args, true),
        SyncCommand::Pull(args) => (args, false),
    };
    for space in &args.spaces {
        validate_slug(space).context("invalid --space")?;
    }
    let filter = args
        .where_
        .as_deref()
        .map(|w| WhereFilter::parse(w, ResourceKind::Unit))
        .transpose()
        .map_err(|e| anyhow::anyhow!("invalid --where expression: {e}"))?;
    check_prefix(args.prefix.as_deref())?;
    let remote = remotes::get(&args.to)?;
    let bar = ctx.progress();
    let (package, source, mut target): (Package, String, Box<dyn HubAccess>) = if push {
        // The client first: it sets itself up on its own thread meanwhile.
        let target = RemoteHub::new(ServerClient::new(remote.clone())?);
        let mut hub = ctx.open_hub()?;
        let options = CreateOptions::for_sync(args.spaces.clone(), filter);
        let package = export_package(&mut hub, &options, &bar)
            .context("cannot export the local selection")?;
        let source = format!("sync push from {}", hub.path().display());
        (package, source, Box::new(target))
    } else {
        let package = export_remote(args, &remote, &bar)?;
        let source = format!("sync pull from {} ({})", remote.name, remote.url);
        (package, source, Box::new(LocalHub::new(ctx.open_hub()?)))
    };
    let options = LoadOptions {
        plan: PlanOptions {
            prefix: args.prefix.clone().filter(|p| !p.is_empty()),
            on_conflict: on_conflict(args.on_conflict),
            ..PlanOptions::default()
        },
        source,
        commit: None,
        expect_plan: None,
    };
    let direction = if push { "to" } else { "from" };
    // Every resource already there from the same files: nothing to ship.
    if target.is_current(&package, &options)? {
        bar.finish();
        ctx.printer.status("No changes");
        return Ok(());
    }
    bar.phase("planning", 0);
    let report = target.plan(&package, &options, true)?;
    bar.finish();
    warn_dropped(ctx, &report.warnings);
    if ctx.printer.format == OutputFormat::Table {
        ctx.printer.out(&render_plan(ctx, &report))?;
    }
    if let Some(refusal) = &report.refusal {
        return Err(anyhow::anyhow!("{refusal}"))
            .with_context(|| format!("cannot sync {direction} `{}`", remote.name));
    }
    if args.dry_run || report.is_noop() {
        if ctx.printer.format != OutputFormat::Table {
            ctx.printer.result(&report, String::new)?;
        }
        ctx.printer.status(if report.is_noop() {
            "No changes"
        } else {
            "Dry run: nothing was written"
        });
        return Ok(());
    }
    let outcome = target
        .load(&package, &options, Some(&report.fingerprint()), true, &bar)
        .with_context(|| format!("cannot sync {direction} `{}`", remote.name))?;
    drop(bar);
    let c = &outcome.counts;
    let text = format!(
        "Synced {} resources {direction} `{}`: {} created, {} updated, {} unchanged, {} skipped (history entry {} on the {} side)\n",
        c.created + c.updated + c.merged,
        remote.name,
        c.created,
        c.updated,
        c.unchanged,
        c.skipped,
        outcome.entry_id,
        if push { "remote" } else { "local" }
    );
    ctx.printer.outcome(&outcome, || text)
}

/// Exports the remote's selection and reads it in memory.
fn export_remote(
    args: &SyncArgs,
    remote: &remotes::Remote,
    progress: &dyn Progress,
) -> Result<Package> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for space in &args.spaces {
        query.append_pair("space", space);
    }
    if let Some(w) = &args.where_ {
        query.append_pair("where", w);
    }
    let client = ServerClient::new(remote.clone())?;
    let bytes = client
        .call_bytes(
            Method::GET,
            &format!("api/v1/hub/export?{}", query.finish()),
            progress,
        )
        .with_context(|| format!("cannot export from remote `{}`", remote.name))?;
    let label = Path::new("export");
    let files = archive::extract_to_memory(&bytes, ArchiveFormat::TarGz, Limits::default(), label)
        .with_context(|| format!("the export of remote `{}` was refused", remote.name))?;
    Ok(read_memory_package(files, label, progress, false)?)
}
