//! References between resources: which field of which kind points at which
//! kind, and how the manifest spells it.

use super::ResourceKind;
use super::key::ResourceKey;

/// A field through which one resource refers to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefField {
    /// A unit's target (`target`).
    Target,
    /// A target's worker (`worker`).
    Worker,
    /// A link's source unit (`from_unit`).
    FromUnit,
    /// A link's destination unit (`to_unit`).
    ToUnit,
    /// A view's filter (`filter_slug`).
    Filter,
    /// A filter's source space (`from_space_slug`).
    FromSpace,
    /// An invocation's worker (`worker_slug`).
    InvocationWorker,
}

impl RefField {
    /// The manifest key that carries this reference.
    pub fn manifest_key(self) -> &'static str {
        match self {
            RefField::Target => "target",
            RefField::Worker => "worker",
            RefField::FromUnit => "from_unit",
            RefField::ToUnit => "to_unit",
            RefField::Filter => "filter_slug",
            RefField::FromSpace => "from_space_slug",
            RefField::InvocationWorker => "worker_slug",
        }
    }

    /// The kind of resource the reference points at.
    pub fn target_kind(self) -> ResourceKind {
        match self {
            RefField::Target => ResourceKind::Target,
            RefField::Worker | RefField::InvocationWorker => ResourceKind::Worker,
            RefField::FromUnit | RefField::ToUnit => ResourceKind::Unit,
            RefField::Filter => ResourceKind::Filter,
            RefField::FromSpace => ResourceKind::Space,
        }
    }

    /// The ID attribute a where-expression sees for this reference (`TargetID`, ...).
    pub fn id_attribute(self) -> &'static str {
        match self {
            RefField::Target => "TargetID",
            RefField::Worker | RefField::InvocationWorker => "BridgeWorkerID",
            RefField::FromUnit => "FromUnitID",
            RefField::ToUnit => "ToUnitID",
            RefField::Filter => "FilterID",
            RefField::FromSpace => "FromSpaceID",
        }
    }

    /// The reference fields a resource of `kind` has, in manifest order.
    pub fn fields_of(kind: ResourceKind) -> &'static [RefField] {
        match kind {
            ResourceKind::Unit => &[RefField::Target],
            ResourceKind::Target => &[RefField::Worker],
            ResourceKind::Link => &[RefField::FromUnit, RefField::ToUnit],
            ResourceKind::View => &[RefField::Filter],
            ResourceKind::Filter => &[RefField::FromSpace],
            ResourceKind::Invocation => &[RefField::InvocationWorker],
            _ => &[],
        }
    }

    /// Whether `cub package load` drops this reference, with a warning, when
    /// it resolves nowhere (a unit's target, a view's filter, an
    /// invocation's worker) instead of failing.
    pub fn is_droppable(self) -> bool {
        matches!(
            self,
            RefField::Target | RefField::Filter | RefField::InvocationWorker
        )
    }

    /// Whether a resource of this kind must have this reference.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            RefField::Worker | RefField::FromUnit | RefField::ToUnit
        )
    }
}

/// One reference held by a resource: the field and the resource it points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The field that holds the reference.
    pub field: RefField,
    /// The resource referred to.
    pub to: ResourceKey,
}

impl Reference {
    /// A reference through `field` to `space/slug` (for [`RefField::FromSpace`], `slug` is the space).
    pub fn new(field: RefField, space: &str, slug: &str) -> Reference {
        let to = if field == RefField::FromSpace {
            ResourceKey::space(slug)
        } else {
            ResourceKey::new(field.target_kind(), space, slug)
        };
        Reference { field, to }
    }

    /// The value the manifest writes: `space/slug`, or the bare space slug for a space.
    pub fn manifest_value(&self) -> String {
        if self.to.kind == ResourceKind::Space {
            self.to.slug.clone()
        } else {
            format!("{}/{}", self.to.space, self.to.slug)
        }
    }

    /// The same reference with its space part remapped under `prefix`.
    pub fn with_prefix(&self, prefix: Option<&str>) -> Reference {
        Reference {
            field: self.field,
            to: self.to.with_prefix(prefix),
        }
    }
}
