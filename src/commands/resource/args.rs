//! The clap definitions of the resource commands: each kind's subcommand
//! enum, the argument structs they share and each kind's own fields.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
