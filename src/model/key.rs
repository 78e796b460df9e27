//! The identity of a resource in a hub: kind, space and slug.

use std::fmt;

use super::ResourceKind;
use super::slug::prefixed_space;

/// Identifies one resource: its kind, the slug of its space (empty for a
/// space) and its own slug.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey {
    /// The resource's kind.
    pub kind: ResourceKind,
    /// The space the resource lives in; empty for spaces.
    pub space: String,
    /// The resource's slug (for a space, the space slug).
    pub slug: String,
}

impl ResourceKey {
    /// A key for a space-scoped resource, or a space when `kind` is [`ResourceKind::Space`].
    pub fn new(kind: ResourceKind, space: &str, slug: &str) -> ResourceKey {
        if kind == ResourceKind::Space {
            return ResourceKey::space(slug);
        }
        ResourceKey {
            kind,
            space: space.to_string(),
            slug: slug.to_string(),
        }
    }

    /// The key of the space `slug`.
    pub fn space(slug: &str) -> ResourceKey {
        ResourceKey {
            kind: ResourceKind::Space,
            space: String::new(),
            slug: slug.to_string(),
        }
    }

    /// The space this resource belongs to (for a space: itself).
    pub fn space_slug(&self) -> &str {
        if self.kind == ResourceKind::Space {
            &self.slug
        } else {
            &self.space
        }
    }

    /// The key of the space this resource belongs to.
    pub fn space_key(&self) -> ResourceKey {
        ResourceKey::space(self.space_slug())
    }

    /// The same key with its space remapped under `prefix` (`P-<space>`).
    pub fn with_prefix(&self, prefix: Option<&str>) -> ResourceKey {
        if self.kind == ResourceKind::Space {
            ResourceKey::space(&prefixed_space(prefix, &self.slug))
        } else {
            ResourceKey {
                kind: self.kind,
                space: prefixed_space(prefix, &self.space),
                slug: self.slug.clone(),
            }
        }
    }

    /// `space/slug`, or the bare slug for a space.
    pub fn path(&self) -> String {
        if self.kind == ResourceKind::Space {
            self.slug.clone()
        } else {
            format!("{}/{}", self.space, self.slug)
        }
    }

    /// A compact string used to index references in the hub: `kind:space/slug`.
    pub fn index_string(&self) -> String {
        format!("{}:{}", self.kind.name(), self.path())
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, super::slug::escape(&self.path()))
    }
}
