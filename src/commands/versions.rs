//! `pkg versions`: the versions of a package NAME in each configured
//! source, and the one the conflict strategy picks; or, given a git
//! repository, its release tags (`vX.Y.Z`, `PREFIX/vX.Y.Z`), newest first;
//! or, given an OCI repository (`oci://HOST/REPO`), its semver tags.
//! Owns [`VersionsArgs`].

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;

use super::Context;
use super::sources::MergeArgs;
use crate::git::cache::CacheRepo;
use crate::git::refs::list_remote;
use crate::loaders::SourceSpec;
use crate::model::slug::{escape, validate_slug};
use crate::sources::merged::Choice;
use crate::ui::Table;
use semver::VersionReq;

/// `pkg versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// A package name (looked up in the sources), or a repository: a GitHub URL, github:OWNER/REPO[/PATH], a git URL, or oci://HOST/REPO
    pub source: String,
    /// How the sources merge (for a package name)
    #[command(flatten)]
    pub merge: MergeArgs,
}

/// The versions of a package in one source.
#[derive(Debug, Serialize)]
struct SourceVersions {
    source: String,
    versions: Vec<String>,
}

/// What `pkg versions NAME` prints.
#[derive(Debug, Serialize)]
struct NameVersions {
    name: String,
    sources: Vec<SourceVersions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chosen: Option<Choice>,
}

/// Whether `text` names a package rather than a repository.
fn is_package_name(text: &str) -> bool {
    validate_slug(text).is_ok()
}

/// `pkg versions NAME`: each source's versions and the strategy's pick.
fn by_name(ctx: &Context, args: &VersionsArgs) -> Result<()> {
    let wanted = crate::sources::Wanted::Name(args.source.clone());
    let merged = args.merge.merged_wanting(ctx, &wanted)?;
    let strategy = args.merge.strategy()?;
    let name = &args.source;
    let sources: Vec<SourceVersions> = merged
        .versions(name)
        .into_iter()
        .map(|(source, versions)| SourceVersions {
            source,
            versions: versions.iter().map(ToString::to_string).collect(),
        })
        .collect();
    if sources.is_empty() {
        bail!("{}", merged.not_found(name, &VersionReq::STAR));
    }
    let chosen = merged.choose(name, &VersionReq::STAR, strategy).ok();
    let view = NameVersions {
        name: name.clone(),
        sources,
        chosen,
    };
    ctx.printer.result(&view, || {
        let mut text = String::new();
        for s in &view.sources {
            text.push_str(&format!("{}: {}\n", s.source, s.versions.join(" ")));
        }
        if let Some(c) = &view.chosen {
            text.push_str(&format!(
                "chosen: {} {} from `{}` ({})\n",
                view.name, c.entry.version, c.entry.source, c.reason
            ));
        }
        text
    })
}

#[derive(Debug, Serialize)]
struct VersionView {
    tag: String,
    version: String,
    commit: String,
}

/// `pkg versions`.
pub fn run(ctx: &Context, args: &VersionsArgs) -> Result<()> {
    if is_package_name(&args.source) {
        return by_name(ctx, args);
    }
    let settings = ctx.source_settings()?;
    if crate::oci::OciRef::is_oci(&args.source) {
        return oci_versions(ctx, args, &settings);
    }
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

#[derive(Debug, Serialize)]
struct OciVersionView {
    tag: String,
    version: String,
}

/// `pkg versions oci://HOST/REPO`: the repository's semver tags, newest
/// first (`_` read back as `+`).
fn oci_versions(
    ctx: &Context,
    args: &VersionsArgs,
    settings: &crate::source_settings::SourceSettings,
) -> Result<()> {
    let reference = crate::oci::OciRef::parse(&args.source)?;
    if reference.tag.is_some() || reference.digest.is_some() {
        bail!(
            "`{}` names a version; give the repository only (oci://HOST/REPO)",
            escape(&args.source)
        );
    }
    let client = crate::oci::OciClient::new(&reference, settings.oci_plain_http)?;
    let tags = client
        .tags(&reference)
        .map_err(|e| anyhow::anyhow!("cannot list the tags of {reference}: {e}"))?;
    let mut versions: Vec<(semver::Version, String)> = tags
        .iter()
        .filter_map(|t| crate::oci::version_of_tag(t).map(|v| (v, t.clone())))
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    let others = tags.len() - versions.len();
    if others > 0 {
        ctx.printer.status(&format!(
            "{others} tag{} that {} no semver version left out",
            if others == 1 { "" } else { "s" },
            if others == 1 { "is" } else { "are" }
        ));
    }
    let views: Vec<OciVersionView> = versions
        .into_iter()
        .map(|(version, tag)| OciVersionView {
            tag,
            version: version.to_string(),
        })
        .collect();
    if views.is_empty() {
        ctx.printer
            .status(&format!("{reference} has no version tags"));
    }
    ctx.printer.result(&views, || {
        let mut table = Table::new(["TAG", "VERSION"]);
        for v in &views {
            table.row(vec![v.tag.clone(), v.version.clone()]);
        }
        table.render()
    })
}
