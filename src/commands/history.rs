//! `pkg history` and `pkg rollback`. Owns [`RollbackArgs`].

use anyhow::Result;
use clap::Args;

use super::Context;
use crate::ui::Table;

/// `pkg rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The history entry to undo (`pkg history` lists them)
    pub id: i64,
    /// Roll back even if resources (or database rows) changed since
    #[arg(long)]
    pub force: bool,
    /// For a database load: the database to reach, when the recorded URL
    /// (which has no password) is not enough
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
}

/// `pkg history`.
pub fn list(ctx: &Context) -> Result<()> {
    let entries = ctx.hub_access()?.history()?;
    ctx.printer.result(&entries, || {
        let mut table = Table::new([
            "ID",
            "ACTION",
            "TIME",
            "SOURCE",
            "PREFIX",
            "CREATED",
            "UPDATED",
            "UNCHANGED",
            "DELETED",
            "NOTE",
        ]);
        for e in &entries {
            let mut notes = Vec::new();
            if let Some(database) = &e.database {
                notes.push(format!("database {database}"));
            }
            match (e.reverts, e.reverted_by) {
                (Some(r), _) => notes.push(format!("rolls back {r}")),
                (None, Some(by)) => notes.push(format!("rolled back by {by}")),
                _ => {}
            }
            if e.counts.merged > 0 {
                notes.push(format!("{} merged", e.counts.merged));
            }
            match e.warnings.len() {
                0 => {}
                1 => notes.push("1 warning (-o json shows it)".into()),
                n => notes.push(format!("{n} warnings (-o json shows them)")),
            }
            let note = notes.join("; ");
            table.row([
                e.id.to_string(),
                e.action.as_str().to_string(),
                e.time.clone(),
                e.source.clone(),
                e.prefix.clone(),
                e.counts.created.to_string(),
                e.counts.updated.to_string(),
                e.counts.unchanged.to_string(),
                e.counts.deleted.to_string(),
                note,
            ]);
        }
        ctx.printer.table_text(
            &table,
            "No history yet: loads, creates and rollbacks are recorded here",
        )
    })
}

/// `pkg rollback`.
pub fn rollback(ctx: &Context, args: &RollbackArgs) -> Result<()> {
    if ctx.remote.is_none() && super::db::rollback(ctx, args.id, args.force, args.db.as_deref())? {
        return Ok(());
    }
    if args.db.is_some() {
        anyhow::bail!(
            "--db is for rolling back a database load; entry {} is not one",
            args.id
        );
    }
    let view = ctx.hub_access()?.rollback(args.id, args.force)?;
    ctx.printer.outcome(&view, || {
        format!(
            "Rolled back entry {}: {} deleted, {} restored, {} re-created (history entry {})\n",
            view.reverted,
            view.counts.deleted,
            view.counts.updated,
            view.counts.created,
            view.history_id
        )
    })
}
