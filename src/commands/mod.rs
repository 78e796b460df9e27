//! The commands: one file per command family. Each family owns the clap
//! definitions of its commands (their `Args` structs, subcommand enums and
//! value enums) beside the code that runs them; [`crate::cli::Command`]
//! refers to them. Each command reads its arguments, calls the library and
//! renders the result through [`crate::ui::Printer`]. This file holds the
//! shared [`Context`] and [`run`], which dispatches a parsed command line.

pub mod completions;
pub mod create;
pub mod env;
pub mod history;
pub mod inspect;
pub mod load;
pub mod lock;
pub mod pack;
pub mod publish;
pub mod resource;
pub mod source;
pub mod validate;
pub mod versions;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use self::resource::{
    FilterCommand, LinkCommand, NoFields, SpaceCommand, TargetCommand, UnitCommand, ViewCommand,
    WorkerCommand,
};
use crate::cli::{Cli, Command};
use crate::hub::Hub;
use crate::model::ResourceKind;
use crate::ui::Printer;
use crate::ui::progress::Bar;

/// What every command needs: the printer and where the hub is.
pub struct Context {
    /// Output.
    pub printer: Printer,
    /// `--hub` / `$PKG_HUB`, if given.
    pub hub_path: Option<PathBuf>,
    /// `--offline`: no network.
    pub offline: bool,
}

impl Context {
    /// Opens (creating on first use) the hub.
    pub fn open_hub(&self) -> Result<Hub> {
        let path = match &self.hub_path {
            Some(p) => p.clone(),
            None => Hub::default_path().context(
                "cannot find a data directory for the hub; pass --hub PATH or set PKG_HUB",
            )?,
        };
        Ok(Hub::open(&path)?)
    }

    /// A progress reporter: a bar on a terminal, nothing otherwise or with `-q`.
    pub fn progress(&self) -> Bar {
        Bar::new(
            self.printer.stderr_tty && !self.printer.quiet,
            self.printer.verbose,
        )
    }
}

/// Runs a parsed command line; the exit code says how it went.
pub fn run(cli: Cli) -> Result<ExitCode> {
    if let (Some(crate::cli::OutputArg::File(file)), false) =
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
        Command::Completions(args) => completions::completions(&ctx, args.shell).and(ok),
        Command::Man => completions::man(&ctx).and(ok),
        Command::Pack(args) => pack::run(&ctx, args, cli.global.output.as_ref()).and(ok),
        Command::Publish(args) => publish::run(&ctx, args).and(ok),
        Command::Versions(args) => versions::run(&ctx, args).and(ok),
        Command::Lock(args) => lock::run(&ctx, args).and(ok),
        Command::Env(cmd) => env::run(&ctx, cmd).and(ok),
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
