//! The command-line interface: clap definitions only. Parsing produces these
//! types; `commands` acts on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// What to do with resources that exist in the hub with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflictArg {
    /// Refuse the whole load and write nothing
    Fail,
    /// Keep what the hub has
    Skip,
    /// Overwrite with the package's version
    Update,
    /// Merge three ways over what the last load wrote (keeps local edits; a value changed on both sides refuses the load)
    Merge,
}

/// What `--prefix` does to external references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExternalArg {
    /// They keep their space and must exist in the hub
    Keep,
    /// They get the prefix too, as cub does
    Prefix,
}

/// Shells `pkg completions` can write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// GNU bash
    Bash,
    /// Z shell
    Zsh,
    /// fish
    Fish,
}

/// Every pkg command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage spaces
    #[command(subcommand)]
    Space(SpaceCommand),
    /// Manage units (config data plus details)
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Manage links between units
    #[command(subcommand)]
    Link(LinkCommand),
    /// Manage saved filters
    #[command(subcommand)]
    Filter(FilterCommand),
    /// Manage bridge workers
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// Manage deployment targets
    #[command(subcommand)]
    Target(TargetCommand),
    /// Manage views
    #[command(subcommand)]
    View(ViewCommand),
    /// Write a package from the hub
    Create(CreateArgs),
    /// Load a package into the hub (planned, in one transaction, recorded)
    Load(LoadArgs),
    /// Show what loading a package would change
    Diff(DiffArgs),
    /// Check a package without touching a hub
    Validate(SourceArgs),
    /// List what a package holds
    Inspect(InspectArgs),
    /// List loads, creates and rollbacks, newest first
    History,
    /// Undo a load (or a rollback) recorded in the history
    Rollback(RollbackArgs),
    /// Write a package as a deterministic .tar.gz or .zip
    Pack(PackArgs),
    /// Commit a package to a git repository and tag the release
    Publish(PublishArgs),
    /// List the release tags of a git repository, newest first
    Versions(VersionsArgs),
    /// Pin sources to commits and digests in a lock file
    Lock(LockArgs),
    /// Manage Python environments (uv or pixi)
    #[command(subcommand)]
    Env(EnvCommand),
    /// Print shell completions
    Completions(CompletionsArgs),
    /// Print the man page
    Man,
}

/// A package source.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
}

/// `pkg create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The directory to write (must be absent or empty unless --force)
    pub dir: PathBuf,
    /// Export units of this space (repeatable; default: all spaces)
    #[arg(long = "space", value_name = "SLUG")]
    pub spaces: Vec<String>,
    /// Export only units matching this where-expression
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
    /// Package name [default: the directory's name]
    #[arg(long)]
    pub name: Option<String>,
    /// Package version (semver)
    #[arg(long)]
    pub version: Option<String>,
    /// Package description
    #[arg(long)]
    pub description: Option<String>,
    /// Replace DIR if it is not empty
    #[arg(long)]
    pub force: bool,
    /// Carry a Python environment: its manifest and lock file go to
    /// `environments/NAME/` (repeatable)
    #[arg(long = "env", value_name = "NAME=PATH")]
    pub envs: Vec<String>,
    /// Add every resource the package refers to (and their spaces), so that
    /// it has no external references
    #[arg(long)]
    pub closure: bool,
    /// Hard-link files whose bytes equal PREV's file at the same path
    /// instead of writing them (dated backups of an unchanged hub cost
    /// almost no space)
    #[arg(long, value_name = "PREV")]
    pub link_dest: Option<PathBuf>,
}

/// Options shared by `load` and `diff`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
    /// Load the package's spaces as `PREFIX-<space>` (references into them follow)
    #[arg(long)]
    pub prefix: Option<String>,
    /// What to do with resources that exist with other content
    #[arg(long, value_enum, default_value_t = OnConflictArg::Fail)]
    pub on_conflict: OnConflictArg,
    /// What --prefix does to references into spaces the package does not contain
    #[arg(long, value_enum, default_value_t = ExternalArg::Keep)]
    pub external: ExternalArg,
    /// Refuse references cub would drop (a missing target, view filter or invocation worker) instead of warning
    #[arg(long)]
    pub strict: bool,
    /// Refuse content that differs from this lock file (`pkg lock` writes it)
    #[arg(long, value_name = "LOCKFILE")]
    pub locked: Option<PathBuf>,
}

/// `pkg load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Source, prefix and conflict policy.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Materialise the package's environments in DEST/NAME (installed
    /// exactly from their lock files) before loading
    #[arg(long, value_name = "DEST")]
    pub with_envs: Option<PathBuf>,
}

/// `pkg diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Source, prefix and conflict policy.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Exit with status 1 when the load would change something
    #[arg(long)]
    pub exit_code: bool,
}

/// `pkg inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
    /// Add a column per label key (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub label_columns: Vec<String>,
}

/// `pkg rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The history entry to undo (`pkg history` lists them)
    pub id: i64,
    /// Roll back even if resources changed since
    #[arg(long)]
    pub force: bool,
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

/// `pkg publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The package directory
    pub dir: PathBuf,
    /// The git repository (https://, ssh://, git://, file://, or a GitHub URL)
    #[arg(long, value_name = "GIT_URL")]
    pub repo: String,
    /// The sub-directory of the repository the package goes to (replaced wholesale) [default: the repository root]
    #[arg(long, value_name = "SUBDIR")]
    pub path: Option<String>,
    /// The branch to commit to
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Tag `<name>/v<version>` instead of `v<version>`
    #[arg(long)]
    pub tag_prefix: bool,
    /// The commit and tag message [default: "Release <name> <version>"]
    #[arg(short, long)]
    pub message: Option<String>,
    /// Say what would be pushed and push nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `pkg versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The repository: a GitHub URL, github:OWNER/REPO[/PATH], or a git URL
    pub source: String,
}

/// `pkg lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The sources to pin (as they will be given to `pkg load`)
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// The lock file to write (entries for other sources are kept)
    #[arg(
        short = 'f',
        long = "file",
        default_value = "pkg.lock",
        value_name = "LOCKFILE"
    )]
    pub file: PathBuf,
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

/// `pkg completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: ShellArg,
}

/// Fields every resource has.
#[derive(Debug, Args, Default)]
pub struct MetaArgs {
    /// Display name
    #[arg(long)]
    pub display_name: Option<String>,
    /// Set a label (repeatable)
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Set an annotation (repeatable)
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
}

/// Label and annotation removal for updates.
#[derive(Debug, Args, Default)]
pub struct UnsetArgs {
    /// Remove a label (repeatable)
    #[arg(long = "remove-label", value_name = "KEY")]
    pub remove_labels: Vec<String>,
    /// Remove an annotation (repeatable)
    #[arg(long = "remove-annotation", value_name = "KEY")]
    pub remove_annotations: Vec<String>,
}

/// Names a space-scoped resource: `--space S SLUG` or `S/SLUG`.
#[derive(Debug, Args)]
pub struct ScopedName {
    /// The resource's space (or write SPACE/SLUG)
    #[arg(long, env = "PKG_SPACE", hide_env_values = true)]
    pub space: Option<String>,
    /// The resource's slug
    pub slug: String,
}

/// Lists resources of a space-scoped kind.
#[derive(Debug, Args)]
pub struct ScopedList {
    /// Only this space [default: all spaces]
    #[arg(long)]
    pub space: Option<String>,
    /// Only resources matching this where-expression
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
}

/// Deletes a space-scoped resource.
#[derive(Debug, Args)]
pub struct ScopedDelete {
    /// Which resource.
    #[command(flatten)]
    pub name: ScopedName,
}

/// `pkg space ...`.
#[derive(Debug, Subcommand)]
pub enum SpaceCommand {
    /// Create a space
    Create {
        /// The space's slug
        slug: String,
        /// Common fields.
        #[command(flatten)]
        meta: MetaArgs,
    },
    /// List spaces
    List {
        /// Only spaces matching this where-expression
        #[arg(long = "where", value_name = "EXPR")]
        where_: Option<String>,
    },
    /// Show a space
    Get {
        /// The space's slug
        slug: String,
    },
    /// Change a space
    Update {
        /// The space's slug
        slug: String,
        /// Common fields.
        #[command(flatten)]
        meta: MetaArgs,
        /// Removals.
        #[command(flatten)]
        unset: UnsetArgs,
    },
    /// Delete a space (it must be empty unless --recursive)
    Delete {
        /// The space's slug
        slug: String,
        /// Delete everything in the space too
        #[arg(long)]
        recursive: bool,
    },
}

/// Unit fields.
#[derive(Debug, Args, Default)]
pub struct UnitFields {
    /// Read the config data from this file (`-` for stdin)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Toolchain type [create default: Kubernetes/YAML]
    #[arg(long)]
    pub toolchain: Option<String>,
    /// The unit's target: TARGET (same space) or SPACE/TARGET
    #[arg(long)]
    pub target: Option<String>,
}

/// `pkg unit ...`.
#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Create a unit
    Create {
        /// Which unit.
        #[command(flatten)]
        name: ScopedName,
        /// Unit fields.
        #[command(flatten)]
        fields: UnitFields,
        /// Common fields.
        #[command(flatten)]
        meta: MetaArgs,
    },
    /// List units
    List(ScopedList),
    /// Show a unit
    Get {
        /// Which unit.
        #[command(flatten)]
        name: ScopedName,
        /// Print only the unit's config data
        #[arg(long)]
        data: bool,
    },
    /// Change a unit
    Update {
        /// Which unit.
        #[command(flatten)]
        name: ScopedName,
        /// Unit fields.
        #[command(flatten)]
        fields: UnitFields,
        /// Remove the unit's target
        #[arg(long, conflicts_with = "target")]
        no_target: bool,
        /// Common fields.
        #[command(flatten)]
        meta: MetaArgs,
        /// Removals.
        #[command(flatten)]
        unset: UnsetArgs,
    },
    /// Delete a unit
    Delete(ScopedDelete),
}

/// Link fields.
#[derive(Debug, Args, Default)]
pub struct LinkFields {
    /// The unit the link starts from (in the link's space)
    #[arg(long = "from", value_name = "UNIT")]
    pub from_unit: Option<String>,
    /// The unit the link points to: UNIT or SPACE/UNIT
    #[arg(long = "to", value_name = "UNIT")]
    pub to_unit: Option<String>,
}

/// Filter fields.
#[derive(Debug, Args, Default)]
pub struct FilterFields {
    /// The entity type filtered (Unit, Space, Target, ...)
    #[arg(long = "from", value_name = "ENTITY")]
    pub from: Option<String>,
    /// The where-expression of the filter
    #[arg(long, value_name = "EXPR")]
    pub where_field: Option<String>,
    /// The where-data expression (units only; kept as text)
    #[arg(long, value_name = "EXPR")]
    pub where_data: Option<String>,
    /// The resource type filtered (units only, e.g. apps/v1/Deployment)
    #[arg(long)]
    pub resource_type: Option<String>,
    /// Filter the resources of this space only
    #[arg(long, value_name = "SPACE")]
    pub from_space: Option<String>,
}

/// Target fields.
#[derive(Debug, Args, Default)]
pub struct TargetFields {
    /// The worker serving the target: WORKER or SPACE/WORKER
    #[arg(long)]
    pub worker: Option<String>,
    /// Provider type [create default: Kubernetes]
    #[arg(long)]
    pub provider: Option<String>,
    /// Toolchain type [create default: Kubernetes/YAML]
    #[arg(long)]
    pub toolchain: Option<String>,
    /// Provider parameters (a JSON object)
    #[arg(long, value_name = "JSON")]
    pub parameters: Option<String>,
}

/// View fields.
#[derive(Debug, Args, Default)]
pub struct ViewFields {
    /// The view's filter: FILTER or SPACE/FILTER
    #[arg(long)]
    pub filter: Option<String>,
    /// A column to show (repeatable)
    #[arg(long = "column", value_name = "NAME")]
    pub columns: Vec<String>,
    /// Attribute to order by
    #[arg(long)]
    pub order_by: Option<String>,
    /// ASC or DESC
    #[arg(long, value_name = "DIRECTION")]
    pub order_by_direction: Option<String>,
    /// Attribute to group by
    #[arg(long)]
    pub group_by: Option<String>,
}

macro_rules! scoped_commands {
    ($name:ident, $what:literal, $fields:ty) => {
        #[doc = concat!("`pkg ", $what, " ...`.")]
        #[derive(Debug, Subcommand)]
        pub enum $name {
            #[doc = concat!("Create a ", $what)]
            Create {
                /// Which resource.
                #[command(flatten)]
                name: ScopedName,
                /// Kind fields.
                #[command(flatten)]
                fields: $fields,
                /// Common fields.
                #[command(flatten)]
                meta: MetaArgs,
            },
            #[doc = concat!("List ", $what, "s")]
            List(ScopedList),
            #[doc = concat!("Show a ", $what)]
            Get {
                /// Which resource.
                #[command(flatten)]
                name: ScopedName,
            },
            #[doc = concat!("Change a ", $what)]
            Update {
                /// Which resource.
                #[command(flatten)]
                name: ScopedName,
                /// Kind fields.
                #[command(flatten)]
                fields: $fields,
                /// Common fields.
                #[command(flatten)]
                meta: MetaArgs,
                /// Removals.
                #[command(flatten)]
                unset: UnsetArgs,
            },
            #[doc = concat!("Delete a ", $what)]
            Delete(ScopedDelete),
        }
    };
}

/// No kind-specific fields.
#[derive(Debug, Args, Default)]
pub struct NoFields {}

scoped_commands!(LinkCommand, "link", LinkFields);
scoped_commands!(FilterCommand, "filter", FilterFields);
scoped_commands!(WorkerCommand, "worker", NoFields);
scoped_commands!(TargetCommand, "target", TargetFields);
scoped_commands!(ViewCommand, "view", ViewFields);

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
