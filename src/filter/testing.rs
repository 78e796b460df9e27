//! A [`Subject`] for the filter tests: attributes and map entries kept in
//! hash maps, filled with builder methods.

use std::collections::HashMap;

use super::eval::{AttrValue, Subject};

/// A resource made of hash maps.
#[derive(Debug, Default, Clone)]
pub(crate) struct TestSubject {
    attributes: HashMap<String, AttrValue>,
    entries: HashMap<(String, String), AttrValue>,
}

impl TestSubject {
    /// Sets attribute `name` to `value`.
    pub(crate) fn with(mut self, name: &str, value: AttrValue) -> Self {
        self.attributes.insert(name.to_owned(), value);
        self
    }

    /// Sets string attribute `name`.
    pub(crate) fn string(self, name: &str, value: &str) -> Self {
        self.with(name, AttrValue::Str(value.to_owned()))
    }

    /// Sets integer attribute `name`.
    pub(crate) fn int(self, name: &str, value: i64) -> Self {
        self.with(name, AttrValue::Int(value))
    }

    /// Sets list attribute `name`.
    pub(crate) fn list(self, name: &str, items: &[&str]) -> Self {
        let items = items.iter().map(|s| (*s).to_owned()).collect();
        self.with(name, AttrValue::List(items))
    }

    /// Sets entry `key` of map `map`.
    pub(crate) fn entry(mut self, map: &str, key: &str, value: AttrValue) -> Self {
        self.entries.insert((map.to_owned(), key.to_owned()), value);
        self
    }

    /// Sets label `key`.
    pub(crate) fn label(self, key: &str, value: &str) -> Self {
        self.entry("Labels", key, AttrValue::Str(value.to_owned()))
    }
}

impl Subject for TestSubject {
    fn attribute(&self, name: &str) -> AttrValue {
        self.attributes
            .get(name)
            .cloned()
            .unwrap_or(AttrValue::Null)
    }

    fn map_entry(&self, map: &str, key: &str) -> AttrValue {
        self.entries
            .get(&(map.to_owned(), key.to_owned()))
            .cloned()
            .unwrap_or(AttrValue::Null)
    }
}
