//! How a stored resource answers a where-expression: its details fields,
//! labels and annotations, its hub-managed attributes (IDs, timestamps,
//! revision) and the IDs of the resources it refers to.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::Value;

use super::{HubResource, store};
use crate::filter::{AttrValue, Subject};
use crate::model::{RefField, ResourceKey, ResourceKind};

/// Looks up and caches hub IDs of referenced resources.
pub struct IdLookup<'c> {
    conn: &'c Connection,
    cache: RefCell<HashMap<ResourceKey, Option<String>>>,
}

impl<'c> IdLookup<'c> {
    /// A lookup over `conn`.
    pub fn new(conn: &'c Connection) -> IdLookup<'c> {
        IdLookup {
            conn,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn id(&self, key: &ResourceKey) -> Option<String> {
        if let Some(found) = self.cache.borrow().get(key) {
            return found.clone();
        }
        let id = store::id_of(self.conn, key).ok().flatten();
        self.cache.borrow_mut().insert(key.clone(), id.clone());
        id
    }
}

/// A stored resource seen by the where evaluator.
pub struct ResourceSubject<'a> {
    /// The resource.
    pub resource: &'a HubResource,
    /// Resolves IDs of the resources it refers to.
    pub ids: &'a IdLookup<'a>,
}

fn json_to_attr(value: &Value) -> AttrValue {
    match value {
        Value::String(s) => AttrValue::Str(s.clone()),
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => n.as_i64().map_or(AttrValue::Null, AttrValue::Int),
        Value::Array(items) => AttrValue::List(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        _ => AttrValue::Null,
    }
}

impl Subject for ResourceSubject<'_> {
    fn attribute(&self, name: &str) -> AttrValue {
        let r = self.resource;
        let text = |s: Option<String>| s.map_or(AttrValue::Null, AttrValue::Str);
        match name {
            "Slug" => AttrValue::Str(r.key.slug.clone()),
            "CreatedAt" => AttrValue::Str(r.created_at.clone()),
            "UpdatedAt" => AttrValue::Str(r.updated_at.clone()),
            "HeadRevisionNum" if r.key.kind == ResourceKind::Unit => AttrValue::Int(r.version),
            "SpaceID" => text(self.ids.id(&r.key.space_key())),
            "ToSpaceID" => text(
                r.reference(RefField::ToUnit)
                    .and_then(|to| self.ids.id(&to.to.space_key())),
            ),
            _ if name == r.key.kind.id_attribute() => AttrValue::Str(r.id.clone()),
            _ => {
                if let Some(reference) = r.refs.iter().find(|x| x.field.id_attribute() == name) {
                    return text(self.ids.id(&reference.to));
                }
                r.details.get(name).map_or(AttrValue::Null, json_to_attr)
            }
        }
    }

    fn map_entry(&self, map: &str, key: &str) -> AttrValue {
        self.resource
            .details
            .get(map)
            .and_then(Value::as_object)
            .and_then(|m| m.get(key))
            .map_or(AttrValue::Null, json_to_attr)
    }
}
