//! `pkg key generate`, `pkg sign DIR --key SECRET` and `pkg verify SOURCE
//! --key PUBLIC`: minisign keys and package signatures (see `signing`).
//! Owns [`KeyCommand`], [`SignArgs`] and [`VerifyArgs`].

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use super::Context;
use crate::package::read_package;
use crate::progress::Progress as _;
use crate::signing::{self, SIGNATURE_FILE};

/// `pkg key`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new minisign key pair (pkg.pub and pkg.key, unencrypted, mode 0600)
    Generate {
        /// The directory to write the keys into
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Replace existing key files
        #[arg(long)]
        force: bool,
    },
}

/// `pkg sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The package directory
    pub dir: PathBuf,
    /// The secret key file (minisign format; an encrypted one needs PKG_SIGNING_PASSWORD)
    #[arg(long, value_name = "SECRET")]
    pub key: PathBuf,
}

/// `pkg verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The package: a directory, an archive, an http(s) URL, a git or GitHub reference, or oci://HOST/REPO:VERSION
    pub source: String,
    /// The trusted public key: a minisign .pub file or the key itself (RW...)
    #[arg(long, value_name = "PUBLIC")]
    pub key: String,
}

/// Runs `pkg key ...`.
pub fn key(ctx: &Context, cmd: &KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Generate { out, force } => {
            let made = signing::generate(out, *force)?;
            ctx.printer.outcome(&made, || {
                format!(
                    "Wrote key {}: public {} (share it), secret {} (keep it)\n",
                    made.key_id,
                    made.public.display(),
                    made.secret.display()
                )
            })
        }
    }
}

#[derive(serde::Serialize)]
struct Signed {
    package: String,
    signature: PathBuf,
    key_id: String,
}

/// Runs `pkg sign`. Only manifest.json is read (see [`signing::sign`]): its
/// digests pin every other file, and every load and `pkg verify` check the
/// files against them.
pub fn sign(ctx: &Context, args: &SignArgs) -> Result<()> {
    let manifest = signing::read_manifest(&args.dir).with_context(|| {
        format!(
            "cannot sign {} (pkg sign takes a package directory)",
            args.dir.display()
        )
    })?;
    let sk = signing::read_secret_key(&args.key)?;
    let made =
        signing::sign(&manifest, &sk).with_context(|| format!("signing {}", args.dir.display()))?;
    let signature = args.dir.join(SIGNATURE_FILE);
    // Written whole or not at all: a temporary file renamed into place.
    let mut temp = tempfile::NamedTempFile::new_in(&args.dir)
        .with_context(|| format!("writing {}", signature.display()))?;
    std::io::Write::write_all(&mut temp, made.text.as_bytes())
        .with_context(|| format!("writing {}", signature.display()))?;
    temp.persist(&signature)
        .with_context(|| format!("writing {}", signature.display()))?;
    let view = Signed {
        package: made.label,
        signature,
        key_id: made.key_id,
    };
    ctx.printer.outcome(&view, || {
        format!(
            "Signed {} with key {} ({})\n",
            view.package,
            view.key_id,
            view.signature.display()
        )
    })
}

#[derive(serde::Serialize)]
struct Verified {
    source: String,
    package: String,
    digest: String,
    #[serde(flatten)]
    signer: signing::Signer,
}

/// Runs `pkg verify`: the package's digests, then its signature.
pub fn verify(ctx: &Context, args: &VerifyArgs) -> Result<()> {
    let pk = signing::read_public_key(&args.key)?;
    let bar = ctx.progress();
    let fetched = ctx.fetch(&args.source, &bar)?;
    let package =
        read_package(&fetched.dir, &bar).with_context(|| format!("verifying {}", args.source))?;
    bar.finish();
    let signer = signing::verify_dir(&fetched.dir, std::slice::from_ref(&pk))
        .and_then(|signer| {
            signer.vouches_for(&package.signed_view(), &fetched.asked)?;
            Ok(signer)
        })
        .with_context(|| format!("verifying {}", args.source))?;
    let view = Verified {
        source: fetched.origin.clone(),
        package: signing::label(
            package.manifest.name.as_deref(),
            package.manifest.version.as_deref(),
        ),
        digest: package.digest.clone(),
        signer,
    };
    ctx.printer.outcome(&view, || {
        format!(
            "Verified {} ({}): signed by key {}, \"{}\"\n",
            view.package, view.digest, view.signer.key_id, view.signer.trusted_comment
        )
    })
}
