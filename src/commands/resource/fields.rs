//! Turning each kind's flags into resource content ([`KindFields`]), and the
//! flags every kind shares (labels, annotations, display name).

use std::io::Read;

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value};

use super::args::{
    FilterFields, LinkFields, MetaArgs, NoFields, TargetFields, UnitFields, UnsetArgs, ViewFields,
};
use crate::filter::WhereFilter;
use crate::hub::NewResource;
use crate::model::details::str_field;
use crate::model::slug::split_reference;
use crate::model::{Details, RefField, Reference, ResourceKind, validate_slug};

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

pub(super) fn apply_meta(
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
