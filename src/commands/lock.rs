//! `pkg lock`: fetch each source, and pin its commit and package digest in
//! a lock file that `pkg load --locked` enforces; a `NAME@REQ` resolved
//! through the package sources pins its whole graph. Owns [`LockArgs`].

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;

use super::Context;
use super::sources::MergeArgs;
use crate::loaders::lock::{LockEntry, LockFile};
use crate::ui::Table;

/// `pkg lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The sources to pin (as they will be given to `pkg load`)
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// The lock file to write (entries for other sources are kept)
    #[arg(
        short = 'f',
        long = "file",
        default_value = "pkg.lock",
        value_name = "LOCKFILE"
    )]
    pub file: PathBuf,
    /// How the configured sources resolve a NAME[@REQ] that is no path
    #[command(flatten)]
    pub merge: MergeArgs,
}

/// `pkg lock`.
pub fn run(ctx: &Context, args: &LockArgs) -> Result<()> {
    let mut lock = LockFile::read_or_default(&args.file)?;
    let bar = ctx.progress();
    let mut written = Vec::new();
    for source in &args.sources {
        let opened = ctx
            .open_from(source, None, Some(&args.merge), None, &bar)
            .with_context(|| format!("cannot lock `{}`", crate::model::slug::escape(source)))?;
        let entry = LockEntry {
            source: source.clone(),
            origin: opened.fetched.origin.clone(),
            commit: opened.fetched.commit.clone(),
            digest: opened.package.digest.clone(),
            name: opened.package.manifest.name.clone(),
            version: opened.package.manifest.version.clone(),
            resolved: opened.resolved.clone(),
        };
        written.push(entry.clone());
        lock.upsert(entry);
    }
    drop(bar);
    lock.write(&args.file)?;
    ctx.printer.outcome(&written, || {
        let mut table = Table::new(["SOURCE", "COMMIT", "DIGEST"]);
        for e in &written {
            table.row(vec![
                e.source.clone(),
                e.commit.clone().unwrap_or_else(|| "-".into()),
                e.digest.clone(),
            ]);
        }
        format!(
            "{}Locked {} source{} in {}\n",
            table.render(),
            written.len(),
            if written.len() == 1 { "" } else { "s" },
            args.file.display()
        )
    })
}
