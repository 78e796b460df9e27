//! The JSON shapes of the hub API: a resource ([`WireResource`], data as
//! base64) and the kinds' plural path segments.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::hub::{HubResource, NewResource};
use crate::model::{Details, RefField, Reference, ResourceKey, ResourceKind};

/// A reference on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRef {
    /// The manifest key of the field (`target`, `from_unit`, ...).
    pub field: String,
    /// The space referred to (for `from_space_slug`, the space itself).
    pub space: String,
    /// The slug referred to.
    pub slug: String,
}

/// A resource on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireResource {
    /// The kind (`unit`).
    pub kind: String,
    /// The space (empty for a space).
    #[serde(default)]
    pub space: String,
    /// The slug.
    pub slug: String,
    /// The hub's ID (empty in a create).
    #[serde(default)]
    pub id: String,
    /// The details.
    #[serde(default)]
    pub details: Details,
    /// The references.
    #[serde(default)]
    pub refs: Vec<WireRef>,
    /// The data digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
    /// The content fingerprint (the ETag).
    #[serde(default)]
    pub fingerprint: String,
    /// The version, incremented on every change.
    #[serde(default)]
    pub version: i64,
    /// When created.
    #[serde(default)]
    pub created_at: String,
    /// When last changed.
    #[serde(default)]
    pub updated_at: String,
    /// The data, base64 (units, when asked for or written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// The kind named `name` (singular, `unit`) or by its path segment (`units`).
pub fn kind_named(name: &str) -> Option<ResourceKind> {
    ResourceKind::ALL
        .into_iter()
        .find(|k| k.name() == name || k.plural() == name)
}

fn field_named(name: &str) -> Option<RefField> {
    [
        RefField::Target,
        RefField::Worker,
        RefField::FromUnit,
        RefField::ToUnit,
        RefField::Filter,
        RefField::FromSpace,
        RefField::InvocationWorker,
    ]
    .into_iter()
    .find(|f| f.manifest_key() == name)
}

fn wire_refs(refs: &[Reference]) -> Vec<WireRef> {
    refs.iter()
        .map(|r| WireRef {
            field: r.field.manifest_key().to_string(),
            space: r.to.space_slug().to_string(),
            slug: r.to.slug.clone(),
        })
        .collect()
}

impl WireResource {
    /// The wire form of `resource` (with `data` when given).
    pub fn of(resource: &HubResource, data: Option<&[u8]>) -> WireResource {
        WireResource {
            kind: resource.key.kind.name().to_string(),
            space: resource.key.space.clone(),
            slug: resource.key.slug.clone(),
            id: resource.id.clone(),
            details: resource.details.clone(),
            refs: wire_refs(&resource.refs),
            data_digest: resource.data_digest.clone(),
            fingerprint: resource.fingerprint.clone(),
            version: resource.version,
            created_at: resource.created_at.clone(),
            updated_at: resource.updated_at.clone(),
            data: data.map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
        }
    }

    /// The wire form of content to write.
    pub fn of_new(new: &NewResource) -> WireResource {
        WireResource {
            kind: new.key.kind.name().to_string(),
            space: new.key.space.clone(),
            slug: new.key.slug.clone(),
            id: String::new(),
            details: new.details.clone(),
            refs: wire_refs(&new.refs),
            data_digest: None,
            fingerprint: String::new(),
            version: 0,
            created_at: String::new(),
            updated_at: String::new(),
            data: new
                .data
                .as_deref()
                .map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
        }
    }

    /// The key.
    pub fn key(&self) -> Result<ResourceKey, String> {
        let kind = kind_named(&self.kind).ok_or_else(|| format!("unknown kind `{}`", self.kind))?;
        Ok(ResourceKey::new(kind, &self.space, &self.slug))
    }

    fn refs(&self) -> Result<Vec<Reference>, String> {
        self.refs
            .iter()
            .map(|r| {
                let field = field_named(&r.field)
                    .ok_or_else(|| format!("unknown reference field `{}`", r.field))?;
                Ok(Reference::new(field, &r.space, &r.slug))
            })
            .collect()
    }

    /// The data, decoded.
    pub fn decoded_data(&self) -> Result<Option<Vec<u8>>, String> {
        self.data
            .as_deref()
            .map(|d| {
                base64::engine::general_purpose::STANDARD
                    .decode(d)
                    .map_err(|e| format!("data is not base64: {e}"))
            })
            .transpose()
    }

    /// The stored resource this describes.
    pub fn into_resource(self) -> Result<HubResource, String> {
        Ok(HubResource {
            key: self.key()?,
            refs: self.refs()?,
            id: self.id,
            details: self.details,
            data_digest: self.data_digest,
            fingerprint: self.fingerprint,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    /// The content to write this describes.
    pub fn into_new(self) -> Result<NewResource, String> {
        Ok(NewResource {
            key: self.key()?,
            refs: self.refs()?,
            data: self.decoded_data()?,
            details: self.details,
        })
    }
}
