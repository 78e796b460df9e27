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
    /// Verify each package's signature with this public key (a minisign .pub file or RW...), or a [trust] key of the config, and pin that signer: `--locked` then refuses the package signed by any other key
    #[arg(long, value_name = "PUBLIC")]
    pub verify_with: Option<String>,
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
            .open_from(
                source,
                super::source::OpenRequest {
                    merge: Some(&args.merge),
                    verify_with: args.verify_with.as_deref(),
                    ..Default::default()
                },
                &bar,
            )
            .with_context(|| format!("cannot lock `{}`", crate::model::slug::escape(source)))?;
        // Signed, but no trusted key verified it: the lock pins the key ID
        // the signature names (so `--locked` refuses another signer), not
        // the key. A combined graph has no directory of its own (an empty
        // path, which would read the current directory): its packages'
        // signers are in `resolved`.
        let claimed = match &opened.signer {
            None if !opened.fetched.dir.as_os_str().is_empty() => {
                crate::signing::claimed_signer(&opened.fetched.dir)
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        let entry = LockEntry {
            source: source.clone(),
            origin: opened.fetched.origin.clone(),
            commit: opened.fetched.commit.clone(),
            digest: opened.package.digest.clone(),
            name: opened.package.manifest.name.clone(),
            version: opened.package.manifest.version.clone(),
            signer: opened
                .signer
                .as_ref()
                .map(|s| s.key_id.clone())
                .or_else(|| claimed.clone()),
            signer_key: opened.signer.as_ref().map(|s| s.public_key.clone()),
            resolved: opened.resolved.clone(),
        };
        let unverified = entry
            .resolved
            .iter()
            .any(|p| p.signer.is_some() && p.signer_key.is_none());
        if claimed.is_some() || unverified {
            ctx.printer.warn(&format!(
                "`{}` is signed, but no trusted key verified it, so the lock pins the key ID its signature names ({}), not the key: `--locked` refuses another signer's ID; pass --verify-with PUBLIC (or set [trust] keys) to pin and verify the key",
                crate::model::slug::escape(source),
                claimed.as_deref().unwrap_or("see each package's signer")
            ));
        }
        written.push(entry.clone());
        lock.upsert(entry);
    }
    drop(bar);
    lock.write(&args.file)?;
    ctx.printer.outcome(&written, || {
        let mut table = Table::new(["SOURCE", "COMMIT", "DIGEST", "SIGNER"]);
        for e in &written {
            table.row(vec![
                e.source.clone(),
                e.commit.clone().unwrap_or_else(|| "-".into()),
                e.digest.clone(),
                e.signer.clone().unwrap_or_else(|| "-".into()),
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
