//! `pkg publish`: validate the package, take its semver version, commit it
//! into a git repository and push the branch with an annotated release tag.
//! Owns [`PublishArgs`].

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::Context;
use crate::git::publish::{PublishOutcome, PublishRequest, publish};
use crate::git::ref_query::RefQuery;
use crate::loaders::SourceSpec;
use crate::loaders::archive::ArchiveFormat;
use crate::manifest::paths::check_syntax;
use crate::model::slug::escape;
use crate::package::pack::pack;
use crate::package::read_package;
use crate::progress::Progress as _;
use crate::remote::{ServerClient, remotes};

/// `pkg publish`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("destination").required(true).args(["repo", "registry"]))]
pub struct PublishArgs {
    /// The package directory
    pub dir: PathBuf,
    /// The git repository (https://, ssh://, git://, file://, or a GitHub URL)
    #[arg(long, value_name = "GIT_URL")]
    pub repo: Option<String>,
    /// Upload to this registry remote (`pkg remote add`) instead of a git repository
    #[arg(long, value_name = "REMOTE", conflicts_with_all = ["path", "tag_prefix", "message"])]
    pub registry: Option<String>,
    /// The sub-directory of the repository the package goes to (replaced wholesale) [default: the repository root]
    #[arg(long, value_name = "SUBDIR")]
    pub path: Option<String>,
    /// The branch to commit to
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Tag `<name>/v<version>` instead of `v<version>`
    #[arg(long)]
    pub tag_prefix: bool,
    /// The commit and tag message [default: "Release NAME VERSION"]
    #[arg(short, long)]
    pub message: Option<String>,
    /// Say what would be pushed and push nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `pkg publish`.
pub fn run(ctx: &Context, args: &PublishArgs) -> Result<()> {
    let (repo_arg, registry) = (args.repo.as_deref(), args.registry.as_deref());
    let Some(repo_arg) = repo_arg else {
        return registry_publish(ctx, args, registry.unwrap_or_default());
    };
    let settings = ctx.source_settings()?;
    let repo = repository_url(repo_arg, &settings)?;
    let path = args
        .path
        .as_deref()
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    if !path.is_empty() {
        check_syntax(&format!("/{path}"))
            .map_err(|e| anyhow::anyhow!("--path `{}`: {e}", escape(&path)))?;
    }
    let bar = ctx.progress();
    let package = read_package(&args.dir, &bar)
        .with_context(|| format!("refusing to publish `{}`", args.dir.display()))?;
    let manifest = &package.manifest;
    let version_text = manifest.version.as_deref().unwrap_or_default();
    let version = semver::Version::parse(version_text.strip_prefix('v').unwrap_or(version_text))
        .map_err(|e| {
            anyhow::anyhow!(
                "refusing to publish `{}`: manifest.json `version` {} is not a semver version ({e}); set it, e.g. \"1.0.0\"",
                args.dir.display(),
                if version_text.is_empty() { "is missing, so it".to_string() } else { format!("`{}`", escape(version_text)) }
            )
        })?;
    let name = manifest.name.clone().unwrap_or_default();
    let tag = if args.tag_prefix {
        if name.is_empty() {
            bail!("--tag-prefix needs a package name; set `name` in manifest.json");
        }
        format!("{name}/v{version}")
    } else {
        format!("v{version}")
    };
    let message = args.message.clone().unwrap_or_else(|| {
        format!(
            "Release {} {version}",
            if name.is_empty() { "package" } else { &name }
        )
    });
    let mut files = package.files();
    // A signed package is published with its signature, so loads from the
    // tag can verify who made it.
    if crate::signing::read_signature(&package.root)
        .with_context(|| format!("refusing to publish `{}`", args.dir.display()))?
        .is_some()
    {
        files.push(format!("/{}", crate::signing::SIGNATURE_FILE));
        files.sort();
    }
    let request = PublishRequest {
        root: &package.root,
        files: &files,
        repo: &repo,
        path: &path,
        branch: &args.branch,
        tag: &tag,
        message: &message,
        dry_run: args.dry_run,
    };
    let outcome = publish(&settings, &request, &bar)
        .with_context(|| format!("cannot publish `{}` to `{repo}`", args.dir.display()))?;
    drop(bar);
    ctx.printer
        .outcome(&outcome, || render(&outcome, &path, args.dry_run))
}

fn render(o: &PublishOutcome, path: &str, dry_run: bool) -> String {
    let place = if path.is_empty() {
        "/".to_string()
    } else {
        format!("{path}/")
    };
    let commit = if o.committed {
        format!(
            "commit {} ({} files at {place}, parent {})",
            short(&o.commit),
            o.files,
            o.parent
                .as_deref()
                .map_or("none: a new branch".to_string(), |p| short(p).to_string())
        )
    } else {
        format!(
            "the branch tip {} (the package is unchanged there)",
            short(&o.commit)
        )
    };
    if dry_run {
        format!(
            "Dry run: would push branch {} with {commit} and tag {} to {}; nothing was pushed\n",
            o.branch, o.tag, o.repo
        )
    } else {
        format!(
            "Published {} to {}: branch {} at {commit}, tag {}\n",
            o.tag, o.repo, o.branch, o.tag
        )
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// The repository URL for `--repo`: a git URL, a GitHub repository URL, or
/// a local repository directory.
fn repository_url(arg: &str, settings: &crate::source_settings::SourceSettings) -> Result<String> {
    if !arg.contains("://") && !arg.contains(':') && Path::new(arg).is_dir() {
        let dir = std::fs::canonicalize(arg)?;
        return Ok(format!("file://{}", dir.display()));
    }
    match crate::loaders::parse(arg, settings)? {
        SourceSpec::Git(spec) => {
            if !spec.path.is_empty() || spec.reference != RefQuery::Default {
                bail!(
                    "--repo `{}` names a path or ref; give the repository only and use --path and --branch",
                    escape(arg)
                );
            }
            Ok(spec.repo)
        }
        SourceSpec::Http(url) if url.path().ends_with(".git") && url.scheme() == "https" => {
            Ok(url.to_string())
        }
        _ => bail!(
            "--repo `{}` is not a git repository URL (https://HOST/REPO.git, ssh://, git://, file://, or a GitHub URL)",
            escape(arg)
        ),
    }
}

#[derive(Debug, serde::Serialize)]
struct RegistryPublishView {
    registry: String,
    #[serde(flatten)]
    response: crate::registry::types::PublishResponse,
    dry_run: bool,
}

/// `pkg publish DIR --registry NAME`: packs the package (a deterministic
/// tar.gz, so the same package gives the same bytes) and uploads it.
fn registry_publish(ctx: &Context, args: &PublishArgs, registry: &str) -> Result<()> {
    let client = ServerClient::new(remotes::get(registry)?)?;
    let bar = ctx.progress();
    let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let archive = temp.path().join("package.tar.gz");
    let summary = pack(&args.dir, &archive, ArchiveFormat::TarGz, &bar)
        .with_context(|| format!("refusing to publish `{}`", args.dir.display()))?;
    let package = read_package(&args.dir, &bar)?;
    let name = package.manifest.name.clone().unwrap_or_default();
    let version = package.manifest.version.clone().unwrap_or_default();
    crate::registry::names::check_name(&name).map_err(|e| {
        anyhow::anyhow!(
            "refusing to publish `{}`: manifest.json `name`: {e}",
            args.dir.display()
        )
    })?;
    crate::registry::names::check_version(&version).map_err(|e| {
        anyhow::anyhow!(
            "refusing to publish `{}`: manifest.json `version`: {e}",
            args.dir.display()
        )
    })?;
    let bytes = std::fs::read(&archive).context("cannot read the packed archive")?;
    if args.dry_run {
        bar.finish();
        let digest = crate::model::fingerprint::sha256_digest(&bytes);
        let view = RegistryPublishView {
            registry: registry.to_string(),
            response: crate::registry::types::PublishResponse {
                name: name.clone(),
                version: version.clone(),
                package_digest: summary.digest.clone(),
                archive_digest: digest,
                created: false,
            },
            dry_run: true,
        };
        return ctx.printer.outcome(&view, || {
            format!(
                "Would publish {name}@{version} ({} files, {} bytes) to `{registry}`\n",
                summary.files,
                bytes.len()
            )
        });
    }
    let response = client
        .publish(bytes, &bar)
        .with_context(|| format!("cannot publish {name}@{version} to registry `{registry}`"))?;
    let text = if response.created {
        format!(
            "Published {name}@{version} to `{registry}` ({})\n",
            response.archive_digest
        )
    } else {
        format!("{name}@{version} is already published to `{registry}` with the same content\n")
    };
    let view = RegistryPublishView {
        registry: registry.to_string(),
        response,
        dry_run: false,
    };
    ctx.printer.outcome(&view, || text)
}
