//! `pkg env ...`: Python environments through the uv and pixi backends.
//! The tools' own output streams to stderr, each line prefixed with the
//! tool's name (nothing with `-q`); results go to stdout. Owns the `pkg env`
//! subcommands ([`EnvCommand`]), their argument structs and [`BackendArg`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::Context;
use crate::backends::{
    self, Backend, BackendKind, EnvManifest, InitOptions, InstalledPackage, OutputSink,
};
use crate::model::slug::escape;
use crate::ui::Table;

/// `pkg env ...`.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Create an environment (a uv project or a pixi workspace)
    Init(EnvInitArgs),
    /// Add packages (version specifiers allowed) and install them
    Add(EnvPackagesArgs),
    /// Remove packages
    Remove(EnvPackagesArgs),
    /// List the installed packages
    List(EnvDirArgs),
    /// Update packages (all when none are named) within the manifest's constraints
    Update(EnvUpdateArgs),
    /// Show the parsed manifest: backend, name, python, channels, dependencies
    Show(EnvDirArgs),
    /// Install exactly what the lock file says
    Sync(EnvSyncArgs),
}

/// `pkg env init`.
#[derive(Debug, Args)]
pub struct EnvInitArgs {
    /// The directory to create the environment in
    pub dir: PathBuf,
    /// The backend [default: `[backends] default` in the config file, else uv]
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// The project name [default: the directory's name]
    #[arg(long)]
    pub name: Option<String>,
    /// The Python version (uv: requires-python; pixi: a python dependency)
    #[arg(long)]
    pub python: Option<String>,
    /// A conda channel (pixi; repeatable)
    #[arg(long = "channel", value_name = "CHANNEL")]
    pub channels: Vec<String>,
}

/// `pkg env add` and `pkg env remove`.
#[derive(Debug, Args)]
pub struct EnvPackagesArgs {
    /// The environment directory and backend.
    #[command(flatten)]
    pub env: EnvDirArgs,
    /// The packages (`name`, `name>=1.2`, `name==1.0`)
    #[arg(required = true, value_name = "PKG")]
    pub packages: Vec<String>,
}

/// `pkg env update`.
#[derive(Debug, Args)]
pub struct EnvUpdateArgs {
    /// The environment directory and backend.
    #[command(flatten)]
    pub env: EnvDirArgs,
    /// The packages to update [default: all]
    #[arg(value_name = "PKG")]
    pub packages: Vec<String>,
}

/// `pkg env sync`.
#[derive(Debug, Args)]
pub struct EnvSyncArgs {
    /// The environment directory and backend.
    #[command(flatten)]
    pub env: EnvDirArgs,
    /// Install the lock file as it is; fail rather than re-resolve
    #[arg(long)]
    pub frozen: bool,
}

/// Backends `pkg env` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// uv: pyproject.toml + uv.lock
    Uv,
    /// pixi: pixi.toml + pixi.lock
    Pixi,
}

/// The environment directory, and the backend when not detected.
#[derive(Debug, Args)]
pub struct EnvDirArgs {
    /// The environment directory
    pub dir: PathBuf,
    /// The backend [default: detected from the directory]
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
}

/// Writes tool output to stderr as `[tool] line`.
struct StderrSink;

impl OutputSink for StderrSink {
    fn line(&self, tool: &str, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "[{tool}] {}", escape(line));
    }
}

impl Context {
    /// Where tool output goes: stderr, or nowhere with `-q`.
    pub fn tool_sink(&self) -> Arc<dyn OutputSink> {
        if self.printer.quiet {
            Arc::new(backends::Silent)
        } else {
            Arc::new(StderrSink)
        }
    }
}

fn kind(arg: BackendArg) -> BackendKind {
    match arg {
        BackendArg::Uv => BackendKind::Uv,
        BackendArg::Pixi => BackendKind::Pixi,
    }
}

/// The backend for an existing environment: `--backend`, else detected.
fn open(ctx: &Context, args: &EnvDirArgs) -> Result<Box<dyn Backend>> {
    if !args.dir.is_dir() {
        anyhow::bail!(
            "`{}` is not a directory; create an environment there with `pkg env init`",
            args.dir.display()
        );
    }
    let kind = match args.backend {
        Some(b) => kind(b),
        None => backends::detect(&args.dir)?,
    };
    Ok(backends::open(kind, &args.dir, ctx.tool_sink())?)
}

/// Runs a `pkg env` command.
pub fn run(ctx: &Context, command: &EnvCommand) -> Result<()> {
    match command {
        EnvCommand::Init(args) => {
            let kind = match args.backend {
                Some(b) => kind(b),
                None => backends::config::default_backend()?,
            };
            let backend = backends::open(kind, &args.dir, ctx.tool_sink())?;
            backends::init(
                backend.as_ref(),
                &InitOptions {
                    name: args.name.clone(),
                    python: args.python.clone(),
                    channels: args.channels.clone(),
                },
            )
            .with_context(|| format!("cannot create an environment in `{}`", args.dir.display()))?;
            done(ctx, "init", backend.as_ref(), &[])
        }
        EnvCommand::Add(args) => {
            let backend = open(ctx, &args.env)?;
            backend
                .add(&args.packages)
                .with_context(|| format!("cannot add to `{}`", args.env.dir.display()))?;
            done(ctx, "add", backend.as_ref(), &args.packages)
        }
        EnvCommand::Remove(args) => {
            let backend = open(ctx, &args.env)?;
            backend
                .remove(&args.packages)
                .with_context(|| format!("cannot remove from `{}`", args.env.dir.display()))?;
            done(ctx, "remove", backend.as_ref(), &args.packages)
        }
        EnvCommand::Update(args) => {
            let backend = open(ctx, &args.env)?;
            backend
                .update(&args.packages)
                .with_context(|| format!("cannot update `{}`", args.env.dir.display()))?;
            done(ctx, "update", backend.as_ref(), &args.packages)
        }
        EnvCommand::Sync(args) => {
            let backend = open(ctx, &args.env)?;
            backend
                .sync(args.frozen)
                .with_context(|| format!("cannot sync `{}`", args.env.dir.display()))?;
            done(ctx, "sync", backend.as_ref(), &[])
        }
        EnvCommand::List(args) => {
            let backend = open(ctx, args)?;
            let packages = backend
                .list()
                .with_context(|| format!("cannot list `{}`", args.dir.display()))?;
            ctx.printer.result(&packages, || render_list(&packages))
        }
        EnvCommand::Show(args) => {
            let backend = open(ctx, args)?;
            let manifest = backend.manifest()?;
            ctx.printer.result(&manifest, || render_manifest(&manifest))
        }
    }
}

#[derive(Debug, Serialize)]
struct DoneView<'a> {
    action: &'a str,
    backend: BackendKind,
    dir: String,
    packages: &'a [String],
}

fn done(ctx: &Context, action: &str, backend: &dyn Backend, packages: &[String]) -> Result<()> {
    let view = DoneView {
        action,
        backend: backend.kind(),
        dir: backend.dir().display().to_string(),
        packages,
    };
    let what = if packages.is_empty() {
        String::new()
    } else {
        format!(" {}", escape(&packages.join(" ")))
    };
    let dir = escape(&view.dir);
    let text = match action {
        "init" => format!("Created a {} environment in {dir}\n", backend.kind().name()),
        "add" => format!("Added{what} to {dir}\n"),
        "remove" => format!("Removed{what} from {dir}\n"),
        "update" if packages.is_empty() => format!("Updated every package in {dir}\n"),
        "update" => format!("Updated{what} in {dir}\n"),
        _ => format!("Synced {dir} with its {}\n", backend.kind().lock_file()),
    };
    ctx.printer.outcome(&view, || text)
}

fn render_list(packages: &[InstalledPackage]) -> String {
    if packages.is_empty() {
        return "No packages installed\n".into();
    }
    let mut table = Table::new(["NAME", "VERSION", "SOURCE"]);
    for p in packages {
        table.row([escape(&p.name), escape(&p.version), escape(&p.source)]);
    }
    table.render()
}

fn render_manifest(m: &EnvManifest) -> String {
    let mut out = String::new();
    let file = m
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.push_str(&format!(
        "Backend: {} ({file}, [{}])\n",
        m.backend.name(),
        m.table
    ));
    let opt = |v: &Option<String>| v.as_deref().map(escape).unwrap_or_else(|| "-".into());
    out.push_str(&format!("Name: {}\n", opt(&m.name)));
    out.push_str(&format!("Version: {}\n", opt(&m.version)));
    out.push_str(&format!("Python: {}\n", opt(&m.python)));
    if m.backend == BackendKind::Pixi {
        out.push_str(&format!("Channels: {}\n", escape(&m.channels.join(", "))));
        out.push_str(&format!("Platforms: {}\n", escape(&m.platforms.join(", "))));
    }
    out.push('\n');
    if m.dependencies.is_empty() {
        out.push_str("No dependencies\n");
        return out;
    }
    let mut table = Table::new(["NAME", "SPEC", "KIND"]);
    for d in &m.dependencies {
        let kind = serde_json::to_value(d.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let spec = if d.spec.is_empty() {
            "*".to_string()
        } else {
            escape(&d.spec)
        };
        table.row([escape(&d.name), spec, kind]);
    }
    out.push_str(&table.render());
    out
}
