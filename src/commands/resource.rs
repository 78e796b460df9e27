//! `pkg space|unit|link|filter|worker|target|view create|list|get|update|delete`:
//! turn flags into resource content, call the hub, render the result. Owns
//! the resource subcommands ([`SpaceCommand`], [`UnitCommand`], [`LinkCommand`],
//! [`FilterCommand`], [`WorkerCommand`], [`TargetCommand`], [`ViewCommand`]),
//! the argument structs they share ([`MetaArgs`], [`UnsetArgs`], [`ScopedName`],
//! [`ScopedList`], [`ScopedDelete`]) and each kind's fields ([`UnitFields`],
//! [`LinkFields`], [`FilterFields`], [`TargetFields`], [`ViewFields`], [`NoFields`]).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::Context;
use crate::filter::WhereFilter;
use crate::hub::subject::{IdLookup, ResourceSubject};
use crate::hub::{HubResource, NewResource, crud, store};
use crate::model::details::{map_field, str_field};
use crate::model::slug::split_reference;
use crate::model::{Details, RefField, Reference, ResourceKey, ResourceKind, validate_slug};
use crate::ui::Table;

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

/// Applies kind-specific flags to a resource being created or updated.
pub trait KindFields {
    /// Edits `new` (whose key is set) from the flags; `creating` selects defaults and required flags.
    fn apply(&self, new: &mut NewResource, creating: bool) -> Result<()>;
}

impl KindFields for NoFields {
    fn apply(&self, _new: &mut NewResource, _creating: bool) -> Result<()> {
        Ok(())
    }
}

fn set_str(details: &mut Details, key: &str, value: &str) {
    details.insert(key.to_string(), Value::String(value.to_string()));
}

fn set_ref(new: &mut NewResource, field: RefField, value: &str, flag: &str) -> Result<()> {
    let reference = parse_ref(&new.key.space, value, field)
        .with_context(|| format!("invalid {flag} `{}`", crate::model::slug::escape(value)))?;
    new.refs.retain(|r| r.field != field);
    new.refs.push(reference);
    new.refs.sort();
    Ok(())
}

fn parse_ref(default_space: &str, value: &str, field: RefField) -> Result<Reference> {
    if field == RefField::FromSpace {
        validate_slug(value)?;
        return Ok(Reference::new(field, "", value));
    }
    let (space, slug) = if value.contains('/') {
        split_reference(value).context("use NAME or SPACE/NAME")?
    } else {
        (default_space, value)
    };
    validate_slug(space)?;
    validate_slug(slug)?;
    Ok(Reference::new(field, space, slug))
}

fn require(value: Option<&String>, flag: &str, creating: bool) -> Result<()> {
    if creating && value.is_none() {
        bail!("{flag} is required");
    }
    Ok(())
}

impl KindFields for UnitFields {
    fn apply(&self, new: &mut NewResource, creating: bool) -> Result<()> {
        if let Some(file) = &self.file {
            let bytes = if file.as_os_str() == "-" {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("cannot read the unit data from stdin")?;
                buf
            } else {
                std::fs::read(file).with_context(|| {
                    format!("cannot read the unit data from `{}`", file.display())
                })?
            };
            new.data = Some(bytes);
        } else if creating {
            new.data = Some(Vec::new());
        }
        match (&self.toolchain, creating) {
            (Some(t), _) => set_str(&mut new.details, "ToolchainType", t),
            (None, true) => set_str(&mut new.details, "ToolchainType", "Kubernetes/YAML"),
            _ => {}
        }
        if let Some(target) = &self.target {
            set_ref(new, RefField::Target, target, "--target")?;
        }
        Ok(())
    }
}

impl KindFields for LinkFields {
    fn apply(&self, new: &mut NewResource, creating: bool) -> Result<()> {
        require(self.from_unit.as_ref(), "--from", creating)?;
        require(self.to_unit.as_ref(), "--to", creating)?;
        if let Some(from) = &self.from_unit {
            set_ref(new, RefField::FromUnit, from, "--from")?;
            let from_space = new
                .refs
                .iter()
                .find(|r| r.field == RefField::FromUnit)
                .map(|r| r.to.space.as_str());
            if from_space != Some(new.key.space.as_str()) {
                bail!(
                    "--from must name a unit in the link's own space `{}`",
                    new.key.space
                );
            }
        }
        if let Some(to) = &self.to_unit {
            set_ref(new, RefField::ToUnit, to, "--to")?;
        }
        Ok(())
    }
}

impl KindFields for FilterFields {
    fn apply(&self, new: &mut NewResource, creating: bool) -> Result<()> {
        require(self.from.as_ref(), "--from", creating)?;
        if let Some(from) = &self.from {
            if ResourceKind::from_entity(from).is_none() {
                bail!(
                    "--from `{from}` is not an entity type; use one of Space, Unit, Link, Filter, BridgeWorker, Target, View"
                );
            }
            set_str(&mut new.details, "From", from);
        }
        if let Some(expr) = &self.where_field {
            let from = str_field(&new.details, "From").to_string();
            let kind = ResourceKind::from_entity(&from).unwrap_or(ResourceKind::Unit);
            WhereFilter::parse(expr, kind)
                .map_err(|e| anyhow::anyhow!("invalid --where-field: {e}"))?;
            set_str(&mut new.details, "Where", expr);
        }
        if let Some(v) = &self.where_data {
            set_str(&mut new.details, "WhereData", v);
        }
        if let Some(v) = &self.resource_type {
            set_str(&mut new.details, "ResourceType", v);
        }
        if let Some(space) = &self.from_space {
            set_ref(new, RefField::FromSpace, space, "--from-space")?;
        }
        Ok(())
    }
}

impl KindFields for TargetFields {
    fn apply(&self, new: &mut NewResource, creating: bool) -> Result<()> {
        require(self.worker.as_ref(), "--worker", creating)?;
        if let Some(worker) = &self.worker {
            set_ref(new, RefField::Worker, worker, "--worker")?;
        }
        match (&self.provider, creating) {
            (Some(p), _) => set_str(&mut new.details, "ProviderType", p),
            (None, true) => set_str(&mut new.details, "ProviderType", "Kubernetes"),
            _ => {}
        }
        match (&self.toolchain, creating) {
            (Some(t), _) => set_str(&mut new.details, "ToolchainType", t),
            (None, true) => set_str(&mut new.details, "ToolchainType", "Kubernetes/YAML"),
            _ => {}
        }
        if let Some(params) = &self.parameters {
            match serde_json::from_str::<Value>(params) {
                Ok(Value::Object(_)) => set_str(&mut new.details, "Parameters", params),
                _ => bail!(
                    "--parameters must be a JSON object, e.g. '{{\"KubeNamespace\":\"default\"}}'"
                ),
            }
        }
        Ok(())
    }
}

impl KindFields for ViewFields {
    fn apply(&self, new: &mut NewResource, creating: bool) -> Result<()> {
        require(self.filter.as_ref(), "--filter", creating)?;
        if let Some(filter) = &self.filter {
            set_ref(new, RefField::Filter, filter, "--filter")?;
        }
        if !self.columns.is_empty() {
            let columns = self
                .columns
                .iter()
                .map(|c| {
                    Value::Object(Map::from_iter([(
                        "Name".to_string(),
                        Value::String(c.clone()),
                    )]))
                })
                .collect();
            new.details.insert("Columns".into(), Value::Array(columns));
        }
        if let Some(v) = &self.order_by {
            set_str(&mut new.details, "OrderBy", v);
        }
        if let Some(v) = &self.order_by_direction {
            if v != "ASC" && v != "DESC" {
                bail!("--order-by-direction must be ASC or DESC");
            }
            set_str(&mut new.details, "OrderByDirection", v);
        }
        if let Some(v) = &self.group_by {
            set_str(&mut new.details, "GroupBy", v);
        }
        Ok(())
    }
}

fn parse_pairs(values: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .with_context(|| format!("{flag} `{pair}` must have the form KEY=VALUE"))?;
            let key_ok = !k.is_empty()
                && k.len() <= 128
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
                && k.as_bytes()[0].is_ascii_alphanumeric()
                && k.as_bytes()[k.len() - 1].is_ascii_alphanumeric();
            if !key_ok {
                bail!("{flag} key `{}` is not valid: use letters, digits, `-`, `_`, `.` and `/`, starting and ending with a letter or digit", crate::model::slug::escape(k));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

fn apply_meta(
    new: &mut NewResource,
    meta: &MetaArgs,
    unset: Option<&UnsetArgs>,
    creating: bool,
) -> Result<()> {
    if let Some(name) = &meta.display_name {
        set_str(&mut new.details, "DisplayName", name);
    } else if creating {
        let slug = new.key.slug.clone();
        set_str(&mut new.details, "DisplayName", &slug);
    }
    for (map, values, flag, removals) in [
        (
            "Labels",
            &meta.labels,
            "--label",
            unset.map(|u| &u.remove_labels),
        ),
        (
            "Annotations",
            &meta.annotations,
            "--annotation",
            unset.map(|u| &u.remove_annotations),
        ),
    ] {
        let pairs = parse_pairs(values, flag)?;
        let entry = new
            .details
            .entry(map.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(m) = entry {
            for (k, v) in pairs {
                m.insert(k, Value::String(v));
            }
            for k in removals.into_iter().flatten() {
                m.remove(k);
            }
        }
    }
    Ok(())
}

/// The key named by `--space S SLUG` or `S/SLUG`.
pub fn scoped_key(kind: ResourceKind, name: &ScopedName) -> Result<ResourceKey> {
    let (space, slug) = match split_reference(&name.slug) {
        Some((space, slug)) => {
            if name.space.as_deref().is_some_and(|s| s != space) {
                bail!(
                    "`{}` names space `{space}` but --space says `{}`",
                    name.slug,
                    name.space.as_deref().unwrap_or("")
                );
            }
            (space.to_string(), slug.to_string())
        }
        None => {
            let space = name.space.clone().with_context(|| {
                format!(
                    "which space? pass --space SPACE or write SPACE/{}",
                    name.slug
                )
            })?;
            (space, name.slug.clone())
        }
    };
    validate_slug(&space).context("invalid space")?;
    validate_slug(&slug).with_context(|| format!("invalid {kind} slug"))?;
    Ok(ResourceKey::new(kind, &space, &slug))
}

/// The key of the space `slug`, checked.
pub fn space(slug: &str) -> Result<ResourceKey> {
    validate_slug(slug).context("invalid space slug")?;
    Ok(ResourceKey::space(slug))
}

/// `pkg <kind> create`.
pub fn create(
    ctx: &Context,
    key: ResourceKey,
    fields: &dyn KindFields,
    meta: &MetaArgs,
) -> Result<()> {
    let mut new = NewResource {
        key,
        details: Details::new(),
        refs: Vec::new(),
        data: None,
    };
    new.details
        .insert("Slug".into(), Value::String(new.key.slug.clone()));
    apply_meta(&mut new, meta, None, true)?;
    fields.apply(&mut new, true)?;
    let mut hub = ctx.open_hub()?;
    let created = crud::create(&mut hub, &new)?;
    ctx.printer.status(&format!("Created {}", created.key));
    Ok(())
}

/// `pkg <kind> update`.
pub fn update(
    ctx: &Context,
    key: ResourceKey,
    fields: &dyn KindFields,
    meta: &MetaArgs,
    unset: &UnsetArgs,
    clear_target: bool,
) -> Result<()> {
    let mut hub = ctx.open_hub()?;
    let before = store::fingerprint(hub.conn(), &key)?;
    let updated = crud::update(&mut hub, &key, |new| -> Result<()> {
        apply_meta(new, meta, Some(unset), false)?;
        fields.apply(new, false)?;
        if clear_target {
            new.refs.retain(|r| r.field != RefField::Target);
        }
        Ok(())
    })?;
    if before.as_deref() == Some(updated.fingerprint.as_str()) {
        ctx.printer.status(&format!("{} unchanged", updated.key));
    } else {
        ctx.printer.status(&format!("Updated {}", updated.key));
    }
    Ok(())
}

/// `pkg <kind> delete`.
pub fn delete(ctx: &Context, key: ResourceKey, recursive: bool) -> Result<()> {
    let mut hub = ctx.open_hub()?;
    let deleted = crud::delete(&mut hub, &key, recursive)?;
    if deleted.len() > 1 {
        ctx.printer.status(&format!(
            "Deleted {} and {} resources in it",
            key,
            deleted.len() - 1
        ));
    } else {
        ctx.printer.status(&format!("Deleted {key}"));
    }
    Ok(())
}

/// The JSON a resource is shown as: its details plus space, ID, references and hub fields.
pub fn resource_json(resource: &HubResource, data: Option<&[u8]>) -> Value {
    let mut out = resource.details.clone();
    if resource.key.kind.is_space_scoped() {
        out.insert("Space".into(), Value::String(resource.key.space.clone()));
    }
    out.insert(
        resource.key.kind.id_attribute().into(),
        Value::String(resource.id.clone()),
    );
    for r in &resource.refs {
        let name = match r.field {
            RefField::Target => "Target",
            RefField::Worker | RefField::InvocationWorker => "Worker",
            RefField::FromUnit => "FromUnit",
            RefField::ToUnit => "ToUnit",
            RefField::Filter => "Filter",
            RefField::FromSpace => "FromSpace",
        };
        out.insert(name.into(), Value::String(r.manifest_value()));
    }
    out.insert("Version".into(), Value::from(resource.version));
    out.insert(
        "CreatedAt".into(),
        Value::String(resource.created_at.clone()),
    );
    out.insert(
        "UpdatedAt".into(),
        Value::String(resource.updated_at.clone()),
    );
    if let Some(data) = data {
        // Text as text; binary data as base64, as ConfigHub's API sends it.
        let text = match std::str::from_utf8(data) {
            Ok(text) => text.to_string(),
            Err(_) => {
                out.insert("DataEncoding".into(), Value::String("base64".into()));
                base64::engine::general_purpose::STANDARD.encode(data)
            }
        };
        out.insert("Data".into(), Value::String(text));
    }
    Value::Object(out)
}

fn labels_text(resource: &HubResource) -> String {
    let mut labels: Vec<String> = map_field(&resource.details, "Labels")
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    labels.sort();
    labels.join(",")
}

fn reference_text(resource: &HubResource, field: RefField) -> String {
    resource
        .reference(field)
        .map(Reference::manifest_value)
        .unwrap_or_default()
}

fn table_for(kind: ResourceKind, resources: &[HubResource]) -> Table {
    let scoped = kind.is_space_scoped();
    let mut header: Vec<&str> = if scoped {
        vec!["SPACE", "SLUG"]
    } else {
        vec!["SLUG"]
    };
    header.extend(match kind {
        ResourceKind::Space => vec!["DISPLAY NAME", "LABELS"],
        ResourceKind::Unit => vec!["TOOLCHAIN", "TARGET", "LABELS"],
        ResourceKind::Link => vec!["FROM", "TO"],
        ResourceKind::Filter => vec!["FROM", "WHERE"],
        ResourceKind::Target => vec!["PROVIDER", "WORKER"],
        ResourceKind::View => vec!["FILTER"],
        _ => vec!["LABELS"],
    });
    let mut table = Table::new(header);
    for r in resources {
        let mut row: Vec<String> = if scoped {
            vec![r.key.space.clone(), r.key.slug.clone()]
        } else {
            vec![r.key.slug.clone()]
        };
        row.extend(match kind {
            ResourceKind::Space => vec![
                str_field(&r.details, "DisplayName").to_string(),
                labels_text(r),
            ],
            ResourceKind::Unit => vec![
                str_field(&r.details, "ToolchainType").to_string(),
                reference_text(r, RefField::Target),
                labels_text(r),
            ],
            ResourceKind::Link => vec![
                reference_text(r, RefField::FromUnit),
                reference_text(r, RefField::ToUnit),
            ],
            ResourceKind::Filter => vec![
                str_field(&r.details, "From").to_string(),
                str_field(&r.details, "Where").to_string(),
            ],
            ResourceKind::Target => vec![
                str_field(&r.details, "ProviderType").to_string(),
                reference_text(r, RefField::Worker),
            ],
            ResourceKind::View => vec![reference_text(r, RefField::Filter)],
            _ => vec![labels_text(r)],
        });
        table.row(row);
    }
    table
}

/// `pkg <kind> list`.
pub fn list(ctx: &Context, kind: ResourceKind, args: &ScopedList) -> Result<()> {
    let filter = args
        .where_
        .as_deref()
        .map(|w| WhereFilter::parse(w, kind))
        .transpose()
        .map_err(|e| anyhow::anyhow!("invalid --where expression: {e}"))?;
    if let Some(space) = &args.space {
        validate_slug(space).context("invalid --space")?;
    }
    let hub = ctx.open_hub()?;
    let conn = hub.conn();
    if let Some(space) = &args.space {
        store::require(conn, &ResourceKey::space(space))?;
    }
    let ids = IdLookup::new(conn);
    let resources: Vec<HubResource> = store::list(conn, kind, args.space.as_deref())?
        .into_iter()
        .filter(|r| {
            filter.as_ref().is_none_or(|f| {
                f.matches(&ResourceSubject {
                    resource: r,
                    ids: &ids,
                })
            })
        })
        .collect();
    let json: Vec<Value> = resources.iter().map(|r| resource_json(r, None)).collect();
    ctx.printer.result(&json, || {
        ctx.printer.table_text(
            &table_for(kind, &resources),
            &format!("No {} found", kind.plural()),
        )
    })
}

/// `pkg space list`.
pub fn list_spaces(ctx: &Context, where_: Option<&String>) -> Result<()> {
    list(
        ctx,
        ResourceKind::Space,
        &ScopedList {
            space: None,
            where_: where_.cloned(),
        },
    )
}

/// `pkg <kind> get`.
pub fn get(ctx: &Context, key: ResourceKey, data_only: bool) -> Result<()> {
    let hub = ctx.open_hub()?;
    let resource = store::require(hub.conn(), &key)?;
    let data = if key.kind == ResourceKind::Unit {
        store::data(hub.conn(), &key)?
    } else {
        None
    };
    if data_only {
        return ctx.printer.out_bytes(&data.unwrap_or_default());
    }
    let json = resource_json(&resource, data.as_deref());
    ctx.printer.result(&json, || {
        let mut table = Table::new(["FIELD", "VALUE"]);
        if let Value::Object(map) = &json {
            for (k, v) in map {
                if k == "Data" {
                    continue;
                }
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                table.row([k.clone(), text]);
            }
        }
        table.render()
    })
}
