//! The top of the command line: the `pkg` parser ([`Cli`]), the options
//! every command takes ([`GlobalArgs`]), the output-format types
//! ([`OutputFormat`], [`OutputArg`], [`OutputParser`]) and the list of
//! commands ([`Command`]). Each command family's own arguments and
//! subcommands are defined beside its code in `commands/<family>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    completions, create, env, history, inspect, load, lock, pack, publish, resource, source,
    versions,
};

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
    /// Use no network: git sources resolve from the cache only
    #[arg(long, global = true, env = "PKG_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people
    Table,
    /// JSON for scripts
    Json,
    /// YAML for scripts
    Yaml,
}

/// The value of `-o`: an output format, or (for `pkg pack`) a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputArg {
    /// `table`, `json` or `yaml`.
    Format(OutputFormat),
    /// Anything else: the file `pkg pack` writes.
    File(PathBuf),
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

/// Parses `-o`: the three formats (offered for completion), else a file.
#[derive(Debug, Clone, Copy)]
pub struct OutputParser;

impl clap::builder::TypedValueParser for OutputParser {
    type Value = OutputArg;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<OutputArg, clap::Error> {
        let text = value.to_string_lossy();
        Ok(match OutputFormat::from_str(&text, true) {
            Ok(format) => OutputArg::Format(format),
            Err(_) => OutputArg::File(PathBuf::from(value)),
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            OutputFormat::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
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
    /// Commit a package to a git repository and tag the release
    Publish(publish::PublishArgs),
    /// List the release tags of a git repository, newest first
    Versions(versions::VersionsArgs),
    /// Pin sources to commits and digests in a lock file
    Lock(lock::LockArgs),
    /// Manage Python environments (uv or pixi)
    #[command(subcommand)]
    Env(env::EnvCommand),
    /// Print shell completions
    Completions(completions::CompletionsArgs),
    /// Print the man page
    Man,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
