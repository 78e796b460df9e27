//! The top of the command line: the `pkg` parser ([`Cli`]), the options
//! every command takes ([`GlobalArgs`]), the list of commands
//! ([`Command`]) and [`run`], which dispatches a parsed command line to
//! `commands`. Each command family's own arguments and subcommands are
//! defined beside its code in `commands/<family>.rs`; nothing below this
//! module imports it.

use std::path::PathBuf;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands::resource::{
    FilterCommand, LinkCommand, NoFields, SpaceCommand, TargetCommand, UnitCommand, ViewCommand,
    WorkerCommand,
};
use crate::commands::{
    Context, completions, create, db, deploy, env, history, inspect, load, lock, pack, publish,
    push, remote, resource, search, serve, sign, source, sources, sync, validate, versions,
};
use crate::model::ResourceKind;
use crate::ui::Printer;
use crate::ui::format::{OutputArg, OutputFormat, OutputParser};

/// pkg: package ConfigHub-style configuration, load it anywhere, undo any load.
#[derive(Debug, Parser)]
#[command(name = "pkg", version, about, long_about = None)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The hub file [default: ~/.local/share/pkg/hub.db]
    #[arg(
        long,
        global = true,
        env = "PKG_HUB",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub hub: Option<PathBuf>,
    /// Output format: table, json or yaml (`pkg pack`: the archive to write)
    #[arg(short, long, global = true, value_name = "FORMAT", value_parser = OutputParser)]
    pub output: Option<OutputArg>,
    /// Print only results and errors (no progress, no status lines)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (every resource a load touches)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Drive the hub of this remote (`pkg remote add`) instead of the local hub
    #[arg(long, global = true, env = "PKG_REMOTE", value_name = "NAME")]
    pub remote: Option<String>,
    /// Use no network: git sources resolve from the cache only
    #[arg(long, global = true, env = "PKG_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,
    /// Talk plain HTTP to OCI registries on this machine (loopback only; HTTPS otherwise)
    #[arg(long, global = true, env = "PKG_OCI_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    pub plain_http: bool,
}

impl GlobalArgs {
    /// The output format (`table` unless `-o` named one).
    pub fn format(&self) -> OutputFormat {
        match &self.output {
            Some(OutputArg::Format(format)) => *format,
            _ => OutputFormat::Table,
        }
    }
}

/// Every pkg command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage spaces
    #[command(subcommand)]
    Space(resource::SpaceCommand),
    /// Manage units (config data plus details)
    #[command(subcommand)]
    Unit(resource::UnitCommand),
    /// Manage links between units
    #[command(subcommand)]
    Link(resource::LinkCommand),
    /// Manage saved filters
    #[command(subcommand)]
    Filter(resource::FilterCommand),
    /// Manage bridge workers
    #[command(subcommand)]
    Worker(resource::WorkerCommand),
    /// Manage deployment targets
    #[command(subcommand)]
    Target(resource::TargetCommand),
    /// Manage views
    #[command(subcommand)]
    View(resource::ViewCommand),
    /// Write a package from the hub
    Create(create::CreateArgs),
    /// Load a package into the hub (planned, in one transaction, recorded)
    Load(load::LoadArgs),
    /// Show what loading a package would change
    Diff(load::DiffArgs),
    /// Check a package without touching a hub
    Validate(source::SourceArgs),
    /// List what a package holds
    Inspect(inspect::InspectArgs),
    /// List loads, creates and rollbacks, newest first
    History,
    /// Undo a load (or a rollback) recorded in the history
    Rollback(history::RollbackArgs),
    /// Write a package as a deterministic .tar.gz or .zip
    Pack(pack::PackArgs),
    /// Publish a package: to a git repository as a release tag, or to a registry
    Publish(publish::PublishArgs),
    /// Push a package to an OCI registry (oci://HOST/REPO:VERSION) as an artifact, its signature as a second layer
    Push(push::PushArgs),
    /// Search the sources' packages (or a registry's, with --registry)
    Search(search::SearchArgs),
    /// Manage the package sources (directories, registries, git repositories)
    #[command(subcommand)]
    Source(sources::SourceCommand),
    /// Print the merged index of the package sources
    Index(sources::IndexArgs),
    /// Resolve packages and their dependencies across the sources, and print the graph
    Tree(sources::TreeArgs),
    /// Manage the pkg servers this CLI talks to
    #[command(subcommand)]
    Remote(remote::RemoteCommand),
    /// Copy resources between the local hub and a remote's hub
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Run the shared registry server (and manage its tokens)
    Serve(serve::ServeArgs),
    /// List a package's versions in each source, or a git repository's release tags
    Versions(versions::VersionsArgs),
    /// Pin sources to commits and digests in a lock file
    Lock(lock::LockArgs),
    /// Deploy a package version to environments through a registry server
    Deploy(deploy::DeployArgs),
    /// List, show, cancel or wait for a registry server's jobs
    #[command(subcommand)]
    Job(deploy::JobCommand),
    /// Export database tables into a package, or load one into a database
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Generate minisign keys for signing packages
    #[command(subcommand)]
    Key(sign::KeyCommand),
    /// Sign a package directory (writes manifest.json.minisig)
    Sign(sign::SignArgs),
    /// Check a package's digests and its signature against a trusted key
    Verify(sign::VerifyArgs),
    /// Manage Python environments (uv or pixi)
    #[command(subcommand)]
    Env(env::EnvCommand),
    /// Print shell completions
    Completions(completions::CompletionsArgs),
    /// Print the man page
    Man,
}

/// Runs a parsed command line; the exit code says how it went.
pub fn run(cli: Cli) -> Result<ExitCode> {
    if let (Some(OutputArg::File(file)), false) =
        (&cli.global.output, matches!(cli.command, Command::Pack(_)))
    {
        anyhow::bail!(
            "-o `{}`: the output format must be table, json or yaml",
            file.display()
        );
    }
    let printer = Printer::new(cli.global.format(), cli.global.quiet, cli.global.verbose);
    let ctx = Context {
        printer,
        hub_path: cli.global.hub.clone(),
        offline: cli.global.offline,
        plain_http: cli.global.plain_http,
        remote: cli.global.remote.clone(),
    };
    let ok = Ok(ExitCode::SUCCESS);
    match &cli.command {
        Command::Space(cmd) => space(&ctx, cmd).and(ok),
        Command::Unit(cmd) => unit(&ctx, cmd).and(ok),
        Command::Link(cmd) => link(&ctx, cmd).and(ok),
        Command::Filter(cmd) => filter(&ctx, cmd).and(ok),
        Command::Worker(cmd) => worker(&ctx, cmd).and(ok),
        Command::Target(cmd) => target(&ctx, cmd).and(ok),
        Command::View(cmd) => view(&ctx, cmd).and(ok),
        Command::Create(args) => create::run(&ctx, args).and(ok),
        Command::Load(args) => load::load(&ctx, args),
        Command::Diff(args) => load::diff(&ctx, args),
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Inspect(args) => inspect::run(&ctx, args).and(ok),
        Command::History => history::list(&ctx).and(ok),
        Command::Rollback(args) => history::rollback(&ctx, args).and(ok),
        Command::Completions(args) => {
            completions::completions(&ctx, args.shell, Cli::command()).and(ok)
        }
        Command::Man => completions::man(&ctx, Cli::command()).and(ok),
        Command::Pack(args) => pack::run(&ctx, args, cli.global.output.as_ref()).and(ok),
        Command::Publish(args) => publish::run(&ctx, args).and(ok),
        Command::Push(args) => push::run(&ctx, args).and(ok),
        Command::Search(args) => search::run(&ctx, args).and(ok),
        Command::Source(cmd) => sources::run(&ctx, cmd).and(ok),
        Command::Index(args) => sources::index(&ctx, args).and(ok),
        Command::Tree(args) => sources::tree(&ctx, args).and(ok),
        Command::Remote(cmd) => remote::run(&ctx, cmd).and(ok),
        Command::Serve(args) => serve::run(&ctx, args).and(ok),
        Command::Sync(cmd) => sync::run(&ctx, cmd).and(ok),
        Command::Versions(args) => versions::run(&ctx, args).and(ok),
        Command::Lock(args) => lock::run(&ctx, args).and(ok),
        Command::Env(cmd) => env::run(&ctx, cmd).and(ok),
        Command::Deploy(args) => deploy::run(&ctx, args).and(ok),
        Command::Db(cmd) => db::run(&ctx, cmd).and(ok),
        Command::Key(cmd) => sign::key(&ctx, cmd).and(ok),
        Command::Sign(args) => sign::sign(&ctx, args).and(ok),
        Command::Verify(args) => sign::verify(&ctx, args).and(ok),
        Command::Job(cmd) => deploy::job(&ctx, cmd).and(ok),
    }
}

fn space(ctx: &Context, cmd: &SpaceCommand) -> Result<()> {
    match cmd {
        SpaceCommand::Create { slug, meta } => {
            resource::create(ctx, resource::space(slug)?, &NoFields {}, meta)
        }
        SpaceCommand::List { where_ } => resource::list_spaces(ctx, where_.as_ref()),
        SpaceCommand::Get { slug } => resource::get(ctx, resource::space(slug)?, false),
        SpaceCommand::Update { slug, meta, unset } => resource::update(
            ctx,
            resource::space(slug)?,
            &NoFields {},
            meta,
            unset,
            false,
        ),
        SpaceCommand::Delete { slug, recursive } => {
            resource::delete(ctx, resource::space(slug)?, *recursive)
        }
    }
}

fn unit(ctx: &Context, cmd: &UnitCommand) -> Result<()> {
    let kind = ResourceKind::Unit;
    match cmd {
        UnitCommand::Create { name, fields, meta } => {
            resource::create(ctx, resource::scoped_key(kind, name)?, fields, meta)
        }
        UnitCommand::List(args) => resource::list(ctx, kind, args),
        UnitCommand::Get { name, data } => {
            resource::get(ctx, resource::scoped_key(kind, name)?, *data)
        }
        UnitCommand::Update {
            name,
            fields,
            no_target,
            meta,
            unset,
        } => resource::update(
            ctx,
            resource::scoped_key(kind, name)?,
            fields,
            meta,
            unset,
            *no_target,
        ),
        UnitCommand::Delete(args) => {
            resource::delete(ctx, resource::scoped_key(kind, &args.name)?, false)
        }
    }
}

macro_rules! scoped_dispatch {
    ($fn:ident, $cmd:ident, $kind:expr) => {
        fn $fn(ctx: &Context, cmd: &$cmd) -> Result<()> {
            let kind = $kind;
            match cmd {
                $cmd::Create { name, fields, meta } => {
                    resource::create(ctx, resource::scoped_key(kind, name)?, fields, meta)
                }
                $cmd::List(args) => resource::list(ctx, kind, args),
                $cmd::Get { name } => resource::get(ctx, resource::scoped_key(kind, name)?, false),
                $cmd::Update {
                    name,
                    fields,
                    meta,
                    unset,
                } => resource::update(
                    ctx,
                    resource::scoped_key(kind, name)?,
                    fields,
                    meta,
                    unset,
                    false,
                ),
                $cmd::Delete(args) => {
                    resource::delete(ctx, resource::scoped_key(kind, &args.name)?, false)
                }
            }
        }
    };
}

scoped_dispatch!(link, LinkCommand, ResourceKind::Link);
scoped_dispatch!(filter, FilterCommand, ResourceKind::Filter);
scoped_dispatch!(worker, WorkerCommand, ResourceKind::Worker);
scoped_dispatch!(target, TargetCommand, ResourceKind::Target);
scoped_dispatch!(view, ViewCommand, ResourceKind::View);

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
