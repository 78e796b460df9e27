//! `pkg pack`: a package directory into a deterministic archive. Owns
//! [`PackArgs`] and [`PackFormatArg`].

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::Context;
use crate::loaders::archive::ArchiveFormat;
use crate::model::slug::escape;
use crate::package::pack::pack;
use crate::ui::format::OutputArg;

/// `pkg pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The package directory
    pub dir: PathBuf,
    /// The archive to write (.tar.gz, .tgz or .zip); `-o FILE` works too
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The format [default: from the file name]
    #[arg(long, value_enum)]
    pub format: Option<PackFormatArg>,
}

/// Archive formats `pkg pack` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PackFormatArg {
    /// gzip-compressed tar
    #[value(name = "tar.gz")]
    TarGz,
    /// zip
    Zip,
}

#[derive(Debug, Serialize)]
struct PackView {
    file: String,
    format: &'static str,
    files: usize,
    bytes: u64,
    digest: String,
    left_out: Vec<String>,
}

/// `pkg pack`. `output` is the global `-o`: a file name there names the archive.
pub fn run(ctx: &Context, args: &PackArgs, output: Option<&OutputArg>) -> Result<()> {
    let out_file = match (&args.file, output) {
        (Some(file), _) => file.clone(),
        (None, Some(OutputArg::File(file))) => file.clone(),
        (None, _) => anyhow::bail!(
            "say where to write the archive: `pkg pack DIR -o FILE.tar.gz` (or .tgz, .zip)"
        ),
    };
    let format = match args.format {
        Some(PackFormatArg::TarGz) => ArchiveFormat::TarGz,
        Some(PackFormatArg::Zip) => ArchiveFormat::Zip,
        None => ArchiveFormat::from_name(&out_file.to_string_lossy()).with_context(|| {
            format!(
                "cannot tell the archive format from `{}`; name it .tar.gz, .tgz or .zip, or pass --format",
                escape(&out_file.display().to_string())
            )
        })?,
    };
    let bar = ctx.progress();
    let summary = pack(&args.dir, &out_file, format, &bar)
        .with_context(|| format!("cannot pack `{}`", args.dir.display()))?;
    drop(bar);
    for file in &summary.unlisted {
        ctx.printer.warn(&format!(
            "{} is not named by the manifest and was left out",
            escape(file)
        ));
    }
    let view = PackView {
        file: out_file.display().to_string(),
        format: format.extension(),
        files: summary.files,
        bytes: summary.bytes,
        digest: summary.digest.clone(),
        left_out: summary.unlisted.clone(),
    };
    ctx.printer.outcome(&view, || {
        format!(
            "Packed {} files into {} ({} bytes, package digest {})\n",
            view.files,
            escape(&view.file),
            view.bytes,
            view.digest
        )
    })
}
