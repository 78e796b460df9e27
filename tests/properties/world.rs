//! Generators of hub contents ("worlds"): spaces, workers, targets, units,
//! links, filters and views with valid slugs and consistent references,
//! details full of hostile but valid text (unicode, quotes, backslashes,
//! newlines, control characters, YAML-looking strings), nested JSON values
//! and unit data of every shape (empty, YAML, JSON, text, binary).
//!
//! A [`World`] is what a hub holds, resource by resource, as the
//! `pkg <kind> create` commands (or a load) would store it: details made
//! canonical with the model's own [`canonicalize`]. [`World::materialize`]
//! writes it into a hub through [`HubAccess::create`], exactly as the
//! commands do. [`Mutation`] turns a world into its next version (changes,
//! deletions with their cascade, additions) for the two-package properties.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use pkg::hub::NewResource;
use pkg::hub_access::HubAccess;
use pkg::hub_access::local::LocalHub;
use pkg::model::details::canonicalize;
use pkg::model::{Details, RefField, Reference, ResourceKey, ResourceKind};

/// One resource: what the hub stores for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Res {
    /// Kind, space and slug.
    pub key: ResourceKey,
    /// Canonical details.
    pub details: Details,
    /// References, in the kind's field order.
    pub refs: Vec<Reference>,
    /// Unit data (units only).
    pub data: Option<Vec<u8>>,
}

impl Res {
    /// The resource as a command hands it to the hub.
    pub fn new_resource(&self) -> NewResource {
        NewResource {
            key: self.key.clone(),
            details: self.details.clone(),
            refs: self.refs.clone(),
            data: self.data.clone(),
        }
    }
}

/// A consistent set of resources: every reference and every space exists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World {
    /// By key; the key order (kind first) is the dependency order of a load.
    pub resources: BTreeMap<ResourceKey, Res>,
}

/// Slugs: mostly short and from a small alphabet (so that versions and
/// local edits collide), sometimes mixed case with `-` and `_`, sometimes
/// as long as ConfigHub allows.
pub fn slug() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-d][a-d0-9]{0,2}",
        3 => "[A-Za-z0-9]([-_A-Za-z0-9]{0,10}[A-Za-z0-9])?",
        1 => "[a-z0-9]{120,128}",
    ]
}

/// Text a user or a package may put anywhere: empty, plain, arbitrary
/// unicode (control characters included), and a list of nasty classics.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        4 => "[a-z]{1,8}",
        3 => prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        4 => prop::sample::select(&[
            "it's",
            "\"quoted\"",
            "back\\slash",
            "line1\nline2\r\nline3",
            "tab\there",
            "ünïcødé ✓ 🚀 日本語",
            "\u{202e}rtl override",
            "zero\u{200b}width",
            "{{ template }}",
            "key: value\n- item\n",
            "null",
            "true",
            "0x1F",
            "~",
            "&anchor",
            "*alias",
            "---",
            "%_%",
            "nul\u{0}byte",
            "\u{1b}[31mred\u{1b}[0m",
            "' OR 1=1 --",
            "../../etc/passwd",
        ][..])
        .prop_map(String::from),
    ]
}

/// A JSON leaf: null (nested; a top-level null is dropped by
/// canonicalisation), booleans, integers over the whole i64 and u64 ranges,
/// finite floats, and hostile text.
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

/// A JSON value nested up to three levels.
pub fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A label or annotation key: mostly from a small pool (so that where
/// expressions and merges meet them), sometimes anything.
pub fn label_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&["app", "tier", "env", "team", "x.y/z", "a-b_c"][..])
            .prop_map(String::from),
        1 => text(),
    ]
}

/// A label value: mostly from a small pool, sometimes anything.
pub fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&["web", "api", "prod", "Prod", "dev", "ünï", "", "a%b_c"][..])
            .prop_map(String::from),
        1 => text(),
    ]
}

/// The details every kind has: a display name, labels, annotations, and a
/// few other keys with arbitrary JSON values.
#[derive(Debug, Clone)]
pub struct Meta {
    display: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    extra: BTreeMap<String, Value>,
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        prop::option::of(text()),
        prop::collection::btree_map(label_key(), label_value(), 0..4),
        prop::collection::btree_map(label_key(), text(), 0..3),
        prop::collection::btree_map(
            prop::sample::select(
                &[
                    "Spec",
                    "Replicas",
                    "Notes",
                    "Config",
                    "Weight",
                    "Tags",
                    "Description",
                ][..],
            )
            .prop_map(String::from),
            json_value(),
            0..3,
        ),
    )
        .prop_map(|(display, labels, annotations, extra)| Meta {
            display,
            labels,
            annotations,
            extra,
        })
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

impl Meta {
    /// Canonical details of resource `slug` with these fields and the
    /// kind-specific `fields`.
    fn details(&self, slug: &str, fields: &[(&str, Value)]) -> Details {
        let mut details = Details::new();
        for (k, v) in &self.extra {
            details.insert(k.clone(), v.clone());
        }
        if let Some(display) = &self.display {
            details.insert("DisplayName".into(), Value::String(display.clone()));
        }
        if !self.labels.is_empty() {
            details.insert("Labels".into(), string_map(&self.labels));
        }
        if !self.annotations.is_empty() {
            details.insert("Annotations".into(), string_map(&self.annotations));
        }
        for (k, v) in fields {
            details.insert((*k).to_string(), v.clone());
        }
        canonicalize(details, slug)
    }
}

/// Unit toolchain types: each data-file suffix pkg knows (YAML and JSON
/// merge structurally, the rest line by line), and none.
pub const TOOLCHAINS: &[&str] = &[
    "Kubernetes/YAML",
    "OpenTofu/HCL",
    "AppConfig/Properties",
    "AppConfig/Env",
    "AppConfig/JSON",
    "Plain",
    "",
];

/// A small YAML document, sometimes several.
fn yaml_data() -> impl Strategy<Value = String> {
    (
        slug(),
        prop::collection::vec((label_key(), label_value()), 0..4),
        0u8..5,
        any::<bool>(),
    )
        .prop_map(|(name, entries, replicas, two)| {
            let mut out = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  containers:\n  - name: app\n    image: web:1\n  - name: sidecar\n    image: proxy:1\ndata:\n"
            );
            for (k, v) in entries {
                out.push_str(&format!("  {}: {}\n", json_text(&k), json_text(&v)));
            }
            if two {
                out.push_str("---\nkind: Service\nmetadata:\n  name: svc\n");
            }
            out
        })
}

fn json_text(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Unit data: empty, YAML, JSON, lines of text, arbitrary text, or bytes.
pub fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        3 => yaml_data().prop_map(String::into_bytes),
        1 => json_value().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap_or_default()),
        2 => prop::collection::vec(text(), 0..6).prop_map(|lines| lines.join("\n").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ]
}

/// A unit to add: its space, slug, details, toolchain, data and target.
type UnitSpec = (
    Index,
    String,
    Meta,
    Option<&'static str>,
    Vec<u8>,
    Option<Index>,
);

/// What to add to a world, with references chosen among what it holds
/// (indices are taken modulo the candidates; a reference with no
/// candidate, or a key already taken, drops the resource).
#[derive(Debug, Clone)]
pub struct Blueprint {
    spaces: Vec<(String, Meta)>,
    workers: Vec<(Index, String, Meta)>,
    targets: Vec<(Index, String, Meta, Index, &'static str)>,
    units: Vec<UnitSpec>,
    links: Vec<(String, Meta, Index, Index)>,
    filters: Vec<(Index, String, Meta, Option<Index>, &'static str)>,
    views: Vec<(Index, String, Meta, Option<Index>)>,
}

/// A blueprint with at most `n` resources of each kind (at least one
/// space and one unit when `at_least_one`).
pub fn blueprint(n: usize, at_least_one: bool) -> impl Strategy<Value = Blueprint> {
    let min = usize::from(at_least_one);
    (
        prop::collection::vec((slug(), meta()), min..=n.min(3)),
        prop::collection::vec((any::<Index>(), slug(), meta()), 0..=n.min(2)),
        prop::collection::vec(
            (
                any::<Index>(),
                slug(),
                meta(),
                any::<Index>(),
                prop::sample::select(TOOLCHAINS),
            ),
            0..=n.min(2),
        ),
        prop::collection::vec(
            (
                any::<Index>(),
                slug(),
                meta(),
                prop::option::weighted(0.9, prop::sample::select(TOOLCHAINS)),
                data(),
                prop::option::of(any::<Index>()),
            ),
            min..=n,
        ),
        prop::collection::vec((slug(), meta(), any::<Index>(), any::<Index>()), 0..=n / 2),
        prop::collection::vec(
            (
                any::<Index>(),
                slug(),
                meta(),
                prop::option::of(any::<Index>()),
                prop::sample::select(&["Unit", "Space", "Target", "Link"][..]),
            ),
            0..=n.min(2),
        ),
        prop::collection::vec(
            (
                any::<Index>(),
                slug(),
                meta(),
                prop::option::of(any::<Index>()),
            ),
            0..=n.min(2),
        ),
    )
        .prop_map(
            |(spaces, workers, targets, units, links, filters, views)| Blueprint {
                spaces,
                workers,
                targets,
                units,
                links,
                filters,
                views,
            },
        )
}

/// A world built from scratch.
pub fn world(n: usize) -> impl Strategy<Value = World> {
    blueprint(n, true).prop_map(|bp| {
        let mut world = World::default();
        world.extend(&bp);
        world
    })
}

impl World {
    /// The keys of `kind`, in order.
    pub fn keys(&self, kind: ResourceKind) -> Vec<ResourceKey> {
        self.resources
            .keys()
            .filter(|k| k.kind == kind)
            .cloned()
            .collect()
    }

    fn pick(&self, kind: ResourceKind, index: &Index) -> Option<ResourceKey> {
        let keys = self.keys(kind);
        (!keys.is_empty()).then(|| keys[index.index(keys.len())].clone())
    }

    fn add(
        &mut self,
        key: ResourceKey,
        details: Details,
        refs: Vec<Reference>,
        data: Option<Vec<u8>>,
    ) {
        self.resources.entry(key.clone()).or_insert(Res {
            key,
            details,
            refs,
            data,
        });
    }

    fn reference(field: RefField, to: &ResourceKey) -> Reference {
        Reference {
            field,
            to: to.clone(),
        }
    }

    /// Adds what `bp` describes, kind by kind in load order, so that new
    /// resources may refer to new ones.
    pub fn extend(&mut self, bp: &Blueprint) {
        use ResourceKind as K;
        for (slug, meta) in &bp.spaces {
            self.add(
                ResourceKey::space(slug),
                meta.details(slug, &[]),
                vec![],
                None,
            );
        }
        for (space, slug, meta) in &bp.workers {
            let Some(space) = self.pick(K::Space, space) else {
                continue;
            };
            let key = ResourceKey::new(K::Worker, &space.slug, slug);
            self.add(key, meta.details(slug, &[]), vec![], None);
        }
        for (space, slug, meta, worker, toolchain) in &bp.targets {
            let (Some(space), Some(worker)) =
                (self.pick(K::Space, space), self.pick(K::Worker, worker))
            else {
                continue;
            };
            let key = ResourceKey::new(K::Target, &space.slug, slug);
            let fields = [
                ("ProviderType", Value::from("Kubernetes")),
                ("ToolchainType", Value::from(*toolchain)),
            ];
            let refs = vec![Self::reference(RefField::Worker, &worker)];
            self.add(key, meta.details(slug, &fields), refs, None);
        }
        for (space, slug, meta, toolchain, data, target) in &bp.units {
            let Some(space) = self.pick(K::Space, space) else {
                continue;
            };
            let key = ResourceKey::new(K::Unit, &space.slug, slug);
            let fields: Vec<(&str, Value)> = toolchain
                .iter()
                .map(|t| ("ToolchainType", Value::from(*t)))
                .collect();
            let refs = target
                .as_ref()
                .and_then(|t| self.pick(K::Target, t))
                .map(|t| Self::reference(RefField::Target, &t))
                .into_iter()
                .collect();
            self.add(key, meta.details(slug, &fields), refs, Some(data.clone()));
        }
        for (slug, meta, from, to) in &bp.links {
            let (Some(from), Some(to)) = (self.pick(K::Unit, from), self.pick(K::Unit, to)) else {
                continue;
            };
            let key = ResourceKey::new(K::Link, &from.space, slug);
            let refs = vec![
                Self::reference(RefField::FromUnit, &from),
                Self::reference(RefField::ToUnit, &to),
            ];
            self.add(key, meta.details(slug, &[]), refs, None);
        }
        for (space, slug, meta, from_space, entity) in &bp.filters {
            let Some(space) = self.pick(K::Space, space) else {
                continue;
            };
            let key = ResourceKey::new(K::Filter, &space.slug, slug);
            let fields = [
                ("From", Value::from(*entity)),
                ("Where", Value::from("Labels.app = 'web'")),
            ];
            let refs = from_space
                .as_ref()
                .and_then(|s| self.pick(K::Space, s))
                .map(|s| Self::reference(RefField::FromSpace, &s))
                .into_iter()
                .collect();
            self.add(key, meta.details(slug, &fields), refs, None);
        }
        for (space, slug, meta, filter) in &bp.views {
            let Some(space) = self.pick(K::Space, space) else {
                continue;
            };
            let key = ResourceKey::new(K::View, &space.slug, slug);
            let refs = filter
                .as_ref()
                .and_then(|f| self.pick(K::Filter, f))
                .map(|f| Self::reference(RefField::Filter, &f))
                .into_iter()
                .collect();
            self.add(key, meta.details(slug, &[]), refs, None);
        }
    }

    /// Deletes `key` and, to keep the world whole, everything in it (a
    /// space), everything that must refer to it, and the droppable
    /// references to it (a unit's target, a view's filter, a filter's space).
    pub fn delete(&mut self, key: &ResourceKey) {
        if self.resources.remove(key).is_none() {
            return;
        }
        let mut doomed = Vec::new();
        for res in self.resources.values_mut() {
            if key.kind == ResourceKind::Space && res.key.space == key.slug {
                doomed.push(res.key.clone());
                continue;
            }
            let before = res.refs.len();
            res.refs.retain(|r| {
                &r.to != key
                    || !matches!(
                        r.field,
                        RefField::Target | RefField::Filter | RefField::FromSpace
                    )
            });
            if res.refs.len() != before {
                continue;
            }
            if res.refs.iter().any(|r| &r.to == key) {
                doomed.push(res.key.clone());
            }
        }
        for key in doomed {
            self.delete(&key);
        }
    }

    /// Writes every resource into `hub` through [`HubAccess::create`], in
    /// load order; the world is consistent, so every create succeeds.
    pub fn materialize(&self, hub: &mut LocalHub) {
        for res in self.resources.values() {
            if let Err(e) = hub.create(&res.new_resource()) {
                panic!("cannot create {}: {e}", res.key);
            }
        }
    }
}

/// A change to a unit's data.
#[derive(Debug, Clone)]
pub enum DataEdit {
    /// New bytes altogether.
    Replace(Vec<u8>),
    /// One more line at the end.
    Append(String),
    /// One line (taken modulo the line count) replaced.
    Line(Index, String),
}

impl DataEdit {
    /// `data` after the edit.
    pub fn apply(&self, data: &[u8]) -> Vec<u8> {
        match self {
            DataEdit::Replace(bytes) => bytes.clone(),
            DataEdit::Append(line) => {
                let mut out = data.to_vec();
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
                out
            }
            DataEdit::Line(at, line) => {
                let mut lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
                if lines.is_empty() {
                    return format!("{line}\n").into_bytes();
                }
                let replacement = format!("{line}\n");
                let i = at.index(lines.len());
                lines[i] = replacement.as_bytes();
                lines.concat()
            }
        }
    }
}

/// A change to one resource's content.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Set a label.
    Label(String, String),
    /// Remove every label.
    NoLabels,
    /// Set the display name.
    Display(String),
    /// Set another details key.
    Extra(String, Value),
    /// Change a unit's data.
    Data(DataEdit),
}

pub fn data_edit() -> impl Strategy<Value = DataEdit> {
    prop_oneof![
        1 => data().prop_map(DataEdit::Replace),
        2 => text().prop_map(DataEdit::Append),
        3 => (any::<Index>(), "[a-z]{1,6}: [a-z0-9 ]{0,8}").prop_map(|(i, l)| DataEdit::Line(i, l)),
    ]
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (label_key(), label_value()).prop_map(|(k, v)| Edit::Label(k, v)),
        1 => Just(Edit::NoLabels),
        2 => text().prop_map(Edit::Display),
        1 => (prop::sample::select(&["Spec", "Notes", "Weight"][..]), json_value())
            .prop_map(|(k, v)| Edit::Extra(k.to_string(), v)),
        4 => data_edit().prop_map(Edit::Data),
    ]
}

impl Edit {
    /// Applies the edit to a resource's details and data, as `pkg <kind>
    /// update` would (a data edit on a resource without data does nothing).
    pub fn apply(&self, details: &mut Details, data: &mut Option<Vec<u8>>) {
        match self {
            Edit::Label(k, v) => {
                let labels = details
                    .entry("Labels")
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(map) = labels {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
            }
            Edit::NoLabels => {
                details.remove("Labels");
            }
            Edit::Display(s) => {
                details.insert("DisplayName".into(), Value::String(s.clone()));
            }
            Edit::Extra(k, v) => {
                if v.is_null() {
                    details.remove(k);
                } else {
                    details.insert(k.clone(), v.clone());
                }
            }
            Edit::Data(edit) => {
                if let Some(bytes) = data {
                    *bytes = edit.apply(bytes);
                }
            }
        }
    }
}

/// The next version of a world: edits of existing resources, deletions
/// (with their cascade) and additions.
#[derive(Debug, Clone)]
pub struct Mutation {
    edits: Vec<(Index, Edit)>,
    deletions: Vec<Index>,
    additions: Blueprint,
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<Index>(), edit()), 0..8),
        prop::collection::vec(any::<Index>(), 0..3),
        blueprint(3, false),
    )
        .prop_map(|(edits, deletions, additions)| Mutation {
            edits,
            deletions,
            additions,
        })
}

impl Mutation {
    /// `world` changed by this mutation.
    pub fn apply(&self, world: &World) -> World {
        let mut next = world.clone();
        let keys: Vec<ResourceKey> = next.resources.keys().cloned().collect();
        for (index, edit) in &self.edits {
            let key = &keys[index.index(keys.len())];
            if let Some(res) = next.resources.get_mut(key) {
                edit.apply(&mut res.details, &mut res.data);
                res.details = canonicalize(std::mem::take(&mut res.details), &key.slug);
            }
        }
        for index in &self.deletions {
            let key = keys[index.index(keys.len())].clone();
            next.delete(&key);
        }
        next.extend(&self.additions);
        next
    }
}
