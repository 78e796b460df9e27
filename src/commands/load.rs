//! `pkg load` and `pkg diff`: read and check the package, plan it against the
//! hub, print the plan (with unified diffs), and for a real load write it in
//! one transaction. Owns their arguments: [`PlanArgs`] (shared), [`LoadArgs`],
//! [`DiffArgs`], [`OnConflictArg`] and [`ExternalArg`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};

use super::Context;
use super::source::{OpenRequest, Opened};
use super::sources::MergeArgs;
use crate::loaders::Fetched;
use crate::package::OnConflict;
use crate::package::load::LoadOptions;
use crate::package::plan::{Action, PlanCounts, PlanOptions, check_prefix};
use crate::package::remap::ExternalMode;
use crate::package::report::PlanReport;
use crate::progress::Progress;
use crate::ui::Table;
use crate::ui::format::OutputFormat;

/// Options shared by `load` and `diff`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
    /// Load the package's spaces as `PREFIX-<space>` (references into them follow)
    #[arg(long)]
    pub prefix: Option<String>,
    /// What to do with resources that exist with other content
    #[arg(long, value_enum, default_value_t = OnConflictArg::Fail)]
    pub on_conflict: OnConflictArg,
    /// What --prefix does to references into spaces the package does not contain
    #[arg(long, value_enum, default_value_t = ExternalArg::Keep)]
    pub external: ExternalArg,
    /// Refuse references cub would drop (a missing target, view filter or invocation worker) instead of warning
    #[arg(long)]
    pub strict: bool,
    /// Resolve SOURCE as `NAME[@REQ]` in this registry remote (`pkg remote add`); yanked versions are skipped
    #[arg(long, value_name = "REMOTE")]
    pub registry: Option<String>,
    /// Refuse content that differs from this lock file (`pkg lock` writes it)
    #[arg(long, value_name = "LOCKFILE")]
    pub locked: Option<PathBuf>,
    /// Refuse the package unless it is signed by this public key (a minisign .pub file or RW...), or by a [trust] key of the config; checked before anything is written
    #[arg(long, value_name = "PUBLIC")]
    pub verify_with: Option<String>,
    /// How the configured sources resolve a NAME[@REQ] that is no path
    #[command(flatten)]
    pub merge: MergeArgs,
}

/// `pkg load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Source, prefix and conflict policy.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Materialise the package's environments in DEST/NAME (installed
    /// exactly from their lock files) before loading
    #[arg(long, value_name = "DEST")]
    pub with_envs: Option<PathBuf>,
}

/// `pkg diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Source, prefix and conflict policy.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Exit with status 1 when the load would change something
    #[arg(long)]
    pub exit_code: bool,
}

/// What to do with resources that exist in the hub with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflictArg {
    /// Refuse the whole load and write nothing
    Fail,
    /// Keep what the hub has
    Skip,
    /// Overwrite with the package's version
    Update,
    /// Merge three ways over what the last load wrote (keeps local edits; a value changed on both sides refuses the load)
    Merge,
}

/// What `--prefix` does to external references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExternalArg {
    /// They keep their space and must exist in the hub
    Keep,
    /// They get the prefix too, as cub does
    Prefix,
}

/// The policy `arg` names.
pub fn on_conflict(arg: OnConflictArg) -> OnConflict {
    match arg {
        OnConflictArg::Fail => OnConflict::Fail,
        OnConflictArg::Skip => OnConflict::Skip,
        OnConflictArg::Update => OnConflict::Update,
        OnConflictArg::Merge => OnConflict::Merge,
    }
}

fn options(args: &PlanArgs, fetched: &Fetched) -> Result<LoadOptions> {
    check_prefix(args.prefix.as_deref())?;
    Ok(LoadOptions {
        plan: PlanOptions {
            prefix: args.prefix.clone().filter(|p| !p.is_empty()),
            on_conflict: on_conflict(args.on_conflict),
            external: match args.external {
                ExternalArg::Keep => ExternalMode::Keep,
                ExternalArg::Prefix => ExternalMode::Prefix,
            },
            strict: args.strict,
        },
        source: fetched.origin.clone(),
        commit: fetched.commit.clone(),
        expect_plan: None,
    })
}

fn paint_action(ctx: &Context, action: Action) -> String {
    let code = match action {
        Action::Create => "32",
        Action::Update => "33",
        Action::Merge => "35",
        Action::Conflict => "31",
        Action::Skip | Action::Unchanged => "2",
    };
    ctx.printer.paint(action.as_str(), code)
}

fn paint_diff(ctx: &Context, diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                ""
            };
            if code.is_empty() {
                line.to_string()
            } else {
                ctx.printer.paint(line, code)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn summary(counts: &PlanCounts) -> String {
    let merge = if counts.merge > 0 {
        format!("{} to merge, ", counts.merge)
    } else {
        String::new()
    };
    format!(
        "{} to create, {} to update, {merge}{} unchanged, {} skipped, {} conflicting",
        counts.create, counts.update, counts.unchanged, counts.skip, counts.conflict
    )
}

/// The plan as a table, its diffs, external references, merge conflicts,
/// warnings and a one-line summary.
pub fn render_plan(ctx: &Context, view: &PlanReport) -> String {
    let show_all = ctx.printer.verbose;
    let mut table = Table::new(["ACTION", "KIND", "SPACE", "SLUG"]);
    let mut shown = Vec::new();
    for change in &view.changes {
        if change.action == Action::Unchanged && !show_all {
            continue;
        }
        table.row([
            change.action.as_str(),
            &change.kind,
            &change.space,
            &change.slug,
        ]);
        shown.push(change);
    }
    let mut out = String::new();
    if !table.is_empty() {
        let rendered = table.render();
        for (i, line) in rendered.lines().enumerate() {
            if i > 0 && ctx.printer.color {
                // Each row starts with its action word; colour just that word.
                let action = shown[i - 1].action;
                out.push_str(&paint_action(ctx, action));
                out.push_str(line.get(action.as_str().len()..).unwrap_or(""));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    for change in &view.changes {
        for diff in [&change.details_diff, &change.data_diff]
            .into_iter()
            .flatten()
        {
            out.push('\n');
            out.push_str(&paint_diff(ctx, diff));
        }
    }
    if !view.external.is_empty() {
        out.push_str("\nExternal references (outside the package; they keep their space):\n");
        for r in &view.external {
            out.push_str(&format!(
                "  {} {} -> {} (in the hub)\n",
                r.from, r.field, r.resolves_to
            ));
        }
    }
    if !view.merge_conflicts.is_empty() {
        out.push_str("\nMerge conflicts (changed both in the hub and in the package):\n");
        for c in &view.merge_conflicts {
            out.push_str(&format!(
                "  {} {}: base {}, hub {}, package {}\n",
                c.resource,
                c.path,
                crate::model::slug::escape(&c.base),
                crate::model::slug::escape(&c.hub),
                crate::model::slug::escape(&c.package)
            ));
        }
    }
    if !view.warnings.is_empty() {
        out.push('\n');
    }
    for warning in &view.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("Plan: {}\n", summary(&view.counts)));
    out
}

/// Says on stderr which references the load drops.
pub fn warn_dropped(ctx: &Context, warnings: &[String]) {
    for warning in warnings {
        ctx.printer.warn(warning);
    }
}

/// Fetches and reads the package `plan` names (from its registry when
/// given), and the load options. The package's files live as long as the
/// returned [`Opened`] (a temporary directory for remote sources).
fn open_plan(ctx: &Context, plan: &PlanArgs, bar: &dyn Progress) -> Result<(Opened, LoadOptions)> {
    check_prefix(plan.prefix.as_deref())?;
    let opened = ctx.open_from(
        &plan.source,
        OpenRequest {
            registry: plan.registry.as_deref(),
            merge: Some(&plan.merge),
            locked: plan.locked.as_deref(),
            verify_with: plan.verify_with.as_deref(),
            read_only: false,
        },
        bar,
    )?;
    if let Some(signer) = &opened.signer {
        ctx.printer.status(&format!(
            "Signature verified: key {} (\"{}\")",
            signer.key_id, signer.trusted_comment
        ));
    }
    let options = options(plan, &opened.fetched)?;
    Ok((opened, options))
}

/// `pkg diff`.
pub fn diff(ctx: &Context, args: &DiffArgs) -> Result<ExitCode> {
    let bar = ctx.progress();
    let (opened, options) = open_plan(ctx, &args.plan, &bar)?;
    let package = &opened.package;
    let mut hub = ctx.hub_access()?;
    bar.phase("planning", 0);
    let report = hub.plan(package, &options, true)?;
    bar.finish();
    warn_dropped(ctx, &report.warnings);
    ctx.printer.result(&report, || render_plan(ctx, &report))?;
    if args.exit_code && !report.is_noop() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `pkg load`.
pub fn load(ctx: &Context, args: &LoadArgs) -> Result<ExitCode> {
    let bar = ctx.progress();
    let (opened, options) = open_plan(ctx, &args.plan, &bar)?;
    let package = &opened.package;
    let mut hub = ctx.hub_access()?;
    if args.dry_run {
        bar.finish();
        let report = hub.plan(package, &options, true)?;
        warn_dropped(ctx, &report.warnings);
        ctx.printer.result(&report, || render_plan(ctx, &report))?;
        if let Some(refusal) = &report.refusal {
            return Err(anyhow::anyhow!("{refusal}"))
                .context("the load would fail (dry run; nothing was written)");
        }
        ctx.printer.status("Dry run: nothing was written");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dest) = &args.with_envs {
        // Refuse a load that would conflict before installing anything.
        if let Some(refusal) = hub.plan(package, &options, false)?.refusal {
            anyhow::bail!("{refusal}");
        }
        bar.finish();
        let done = crate::package::environments::materialise(package, dest, ctx.tool_sink())
            .context("cannot materialise the package's environments; nothing was loaded")?;
        for env in &done {
            ctx.printer.status(&format!(
                "Environment {} ({}) is ready in {}",
                env.name,
                env.backend.name(),
                env.dir.display()
            ));
        }
    }
    let detail = ctx.printer.format != OutputFormat::Table || ctx.printer.verbose;
    let outcome = hub.load(package, &options, None, detail, &bar)?;
    drop(bar);
    warn_dropped(ctx, &outcome.plan.warnings);
    let c = &outcome.counts;
    let text = if outcome.plan.is_noop() && c.skipped == 0 {
        format!(
            "No changes: all {} resources are already in the hub (history entry {})\n",
            c.unchanged, outcome.entry_id
        )
    } else if outcome.plan.is_noop() {
        format!(
            "No changes: {} resources unchanged, {} skipped (history entry {})\n",
            c.unchanged, c.skipped, outcome.entry_id
        )
    } else {
        let merged = if c.merged > 0 {
            format!("{} merged, ", c.merged)
        } else {
            String::new()
        };
        format!(
            "Loaded {} resources: {} created, {} updated, {merged}{} unchanged, {} skipped (history entry {})\n",
            c.created + c.updated + c.merged,
            c.created,
            c.updated,
            c.unchanged,
            c.skipped,
            outcome.entry_id
        )
    };
    if ctx.printer.format == OutputFormat::Table && !ctx.printer.verbose {
        // The one-line summary needs no per-resource view (a load may hold 100,000 resources).
        return ctx
            .printer
            .outcome(&(), || text)
            .map(|()| ExitCode::SUCCESS);
    }
    let view = outcome.plan;
    ctx.printer
        .outcome(&view, || render_plan(ctx, &view) + &text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::report::ChangeReport;
    use crate::ui::Printer;

    fn ctx(color: bool, verbose: bool) -> Context {
        Context {
            printer: Printer {
                format: OutputFormat::Table,
                quiet: false,
                verbose,
                color,
                stderr_tty: false,
            },
            hub_path: None,
            offline: false,
            plain_http: false,
            remote: None,
        }
    }

    #[test]
    fn colour_changes_nothing_but_escape_codes() {
        let change = |action, slug: &str| ChangeReport {
            action,
            kind: "unit".into(),
            space: "s".into(),
            slug: slug.into(),
            details_diff: None,
            data_diff: Some("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n".into()),
        };
        let view = PlanReport {
            source: "src".into(),
            digest: String::new(),
            prefix: String::new(),
            on_conflict: OnConflict::Fail,
            external_mode: ExternalMode::Keep,
            external: Vec::new(),
            dropped: Vec::new(),
            warnings: Vec::new(),
            merge_conflicts: Vec::new(),
            dry_run: true,
            history_id: None,
            counts: PlanCounts::default(),
            changes: vec![change(Action::Create, "a"), change(Action::Unchanged, "b")],
            refusal: None,
        };
        let ansi = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
        for verbose in [false, true] {
            let plain = render_plan(&ctx(false, verbose), &view);
            let coloured = render_plan(&ctx(true, verbose), &view);
            assert_ne!(plain, coloured);
            let stripped = ansi.replace_all(&coloured, "");
            assert_eq!(stripped, plain);
        }
    }
}
