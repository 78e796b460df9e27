//! `pkg space|unit|link|filter|worker|target|view create|list|get|update|delete`:
//! turn flags into resource content, call the hub, render the result. Owns
//! the resource subcommands ([`SpaceCommand`], [`UnitCommand`], [`LinkCommand`],
//! [`FilterCommand`], [`WorkerCommand`], [`TargetCommand`], [`ViewCommand`]),
//! the argument structs they share ([`MetaArgs`], [`UnsetArgs`], [`ScopedName`],
//! [`ScopedList`], [`ScopedDelete`]) and each kind's fields ([`UnitFields`],
//! [`LinkFields`], [`FilterFields`], [`TargetFields`], [`ViewFields`], [`NoFields`]).

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use serde_json::Value;

use super::Context;
use crate::filter::WhereFilter;
use crate::hub::{HubResource, NewResource};
use crate::hub_access::Fetched;
use crate::model::details::{map_field, str_field};
use crate::model::slug::split_reference;
use crate::model::{Details, RefField, Reference, ResourceKey, ResourceKind, validate_slug};
use crate::ui::Table;

mod args;
mod fields;

pub use self::args::*;
pub use self::fields::KindFields;
use self::fields::apply_meta;

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
    let mut hub = ctx.hub_access()?;
    let created = hub.create(&new)?;
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
    let mut hub = ctx.hub_access()?;
    let mut change = |new: &mut NewResource| -> Result<()> {
        apply_meta(new, meta, Some(unset), false)?;
        fields.apply(new, false)?;
        if clear_target {
            new.refs.retain(|r| r.field != RefField::Target);
        }
        Ok(())
    };
    let (updated, changed) = hub.update(&key, &mut change)?;
    if !changed {
        ctx.printer.status(&format!("{} unchanged", updated.key));
    } else {
        ctx.printer.status(&format!("Updated {}", updated.key));
    }
    Ok(())
}

/// `pkg <kind> delete`.
pub fn delete(ctx: &Context, key: ResourceKey, recursive: bool) -> Result<()> {
    let mut hub = ctx.hub_access()?;
    let deleted = hub.delete(&key, recursive)?;
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
    if let Some(w) = &args.where_ {
        // Checked here too, so that a bad expression fails before any hub is opened.
        WhereFilter::parse(w, kind)
            .map_err(|e| anyhow::anyhow!("invalid --where expression: {e}"))?;
    }
    if let Some(space) = &args.space {
        validate_slug(space).context("invalid --space")?;
    }
    let mut hub = ctx.hub_access()?;
    let resources = hub.list(kind, args.space.as_deref(), args.where_.as_deref())?;
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
    let mut hub = ctx.hub_access()?;
    let Fetched { resource, data } = hub.get(&key, key.kind == ResourceKind::Unit)?;
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
