//! `pkg push DIR oci://HOST/REPO[:VERSION]`: pack the package (the same
//! deterministic tar.gz as `pkg pack`) and push it to an OCI registry as
//! an artifact, with its signature as a second layer when it is signed.
//! Owns [`PushArgs`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::Context;
use crate::loaders::archive::ArchiveFormat;
use crate::model::slug::escape;
use crate::oci::{self, OciClient, OciRef, tag_for_version};
use crate::package::pack::pack_in_memory;
use crate::package::read_package;
use crate::progress::Progress as _;

/// `pkg push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The package directory
    pub dir: PathBuf,
    /// Where to: oci://HOST/REPO[:VERSION] (the tag defaults to the manifest's version, `+` written as `_`)
    pub destination: String,
}

/// `pkg push`.
pub fn run(ctx: &Context, args: &PushArgs) -> Result<()> {
    let refusing = || format!("refusing to push `{}`", args.dir.display());
    let mut reference = OciRef::parse(&args.destination)?;
    if reference.digest.is_some() {
        bail!(
            "{}: push to a tag (oci://HOST/REPO:VERSION), not a digest: the registry computes the digest",
            escape(&args.destination)
        );
    }
    let bar = ctx.progress();
    let package = read_package(&args.dir, &bar).with_context(refusing)?;
    let manifest = &package.manifest;
    let Some(name) = manifest.name.clone() else {
        bail!(
            "{}: manifest.json has no `name`; set one to push it",
            refusing()
        );
    };
    let version_text = manifest.version.clone().unwrap_or_default();
    let version = semver::Version::parse(&version_text).map_err(|e| {
        anyhow::anyhow!(
            "{}: manifest.json `version` `{}` is not a semver version ({e})",
            refusing(),
            escape(&version_text)
        )
    })?;
    if !package.has_digests {
        bail!(
            "{}: manifest.json has no `digests`; push what `pkg create` writes, so that every file is pinned",
            refusing()
        );
    }
    let tag = tag_for_version(&version);
    if tag.len() > oci::MAX_TAG_LEN {
        bail!(
            "{}: version {version} is a {}-character tag, and OCI tags hold at most {}: shorten its pre-release or build part",
            refusing(),
            tag.len(),
            oci::MAX_TAG_LEN
        );
    }
    match &reference.tag {
        Some(given) if given != &tag => bail!(
            "{}: the tag `{given}` is not the package's version {version} (tag `{tag}`); tags name versions, so `pkg versions` and resolution can read them",
            refusing()
        ),
        Some(_) => {}
        None => reference = reference.with_tag(&tag),
    }
    let archive = pack_in_memory(&package, ArchiveFormat::TarGz, &bar).with_context(refusing)?;
    let signature = crate::signing::read_signature(&args.dir).with_context(refusing)?;
    let mut annotations = BTreeMap::from([
        (oci::ANNOTATION_NAME.to_string(), name.clone()),
        (oci::ANNOTATION_VERSION.to_string(), version.to_string()),
        (oci::ANNOTATION_DIGEST.to_string(), package.digest.clone()),
        (
            oci::ANNOTATION_MIN_LEVEL.to_string(),
            manifest.min_level.unwrap_or(1).to_string(),
        ),
    ]);
    if !manifest.dependencies.is_empty() {
        annotations.insert(
            oci::ANNOTATION_DEPENDENCIES.to_string(),
            serde_json::to_string(&manifest.dependencies)?,
        );
    }
    if let Some(description) = &manifest.description {
        annotations.insert(oci::ANNOTATION_DESCRIPTION.to_string(), description.clone());
    }
    if let Some(signature) = &signature {
        annotations.insert(
            oci::ANNOTATION_SIGNER.to_string(),
            crate::signing::claimed_key_id(signature).with_context(refusing)?,
        );
    }
    let client = OciClient::new(&reference, ctx.source_settings()?.oci_plain_http)?;
    bar.phase("pushing", 0);
    let pushed = client
        .push(
            &reference,
            archive,
            signature.map(String::into_bytes),
            annotations,
        )
        .with_context(|| format!("cannot push {name}@{version} to {reference}"))?;
    bar.finish();
    ctx.printer.outcome(&pushed, || {
        format!(
            "Pushed {name}@{version} to {} ({}, {} bytes)\n",
            pushed.reference, pushed.digest, pushed.size
        )
    })
}
