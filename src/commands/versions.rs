//! `pkg versions`: the release tags (`vX.Y.Z`, `PREFIX/vX.Y.Z`) of a git
//! repository, newest first. Owns [`VersionsArgs`].

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;

use super::Context;
use crate::git::cache::CacheRepo;
use crate::git::refs::list_remote;
use crate::loaders::SourceSpec;
use crate::model::slug::escape;
use crate::ui::Table;

/// `pkg versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The repository: a GitHub URL, github:OWNER/REPO[/PATH], or a git URL
    pub source: String,
}

#[derive(Debug, Serialize)]
struct VersionView {
    tag: String,
    version: String,
    commit: String,
}

/// `pkg versions`.
pub fn run(ctx: &Context, args: &VersionsArgs) -> Result<()> {
    let settings = ctx.source_settings()?;
    let SourceSpec::Git(spec) = crate::loaders::parse(&args.source, &settings)? else {
        bail!(
            "`{}` is not a git repository; versions are git tags (use a GitHub URL, github:OWNER/REPO or git+https://...)",
            escape(&args.source)
        );
    };
    let refs = if settings.offline {
        CacheRepo::open(&settings, &spec.repo)?.remembered_offline(&spec.repo)?
    } else {
        list_remote(&spec.repo, &settings)?
    };
    let views: Vec<VersionView> = refs
        .releases()
        .into_iter()
        .map(|r| VersionView {
            tag: r.tag,
            version: r.version.to_string(),
            commit: r.commit.to_string(),
        })
        .collect();
    if views.is_empty() {
        ctx.printer
            .status(&format!("{} has no release tags (vX.Y.Z)", spec.repo));
    }
    ctx.printer.result(&views, || {
        let mut table = Table::new(["TAG", "VERSION", "COMMIT"]);
        for v in &views {
            table.row(vec![v.tag.clone(), v.version.clone(), v.commit.clone()]);
        }
        table.render()
    })
}
