//! How a load names the package's resources in the hub. `--prefix P`
//! renames every space the package contains to `P-<space>`, and every
//! reference into those spaces with it. A reference into a space the package
//! does not contain is *external*: it keeps its space (as Kustomize's
//! `namePrefix` renames only what the kustomization holds), unless
//! `--external prefix` asks for cub's blind prefixing of every reference.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{Reference, ResourceKey};

/// What `--prefix` does to external references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExternalMode {
    /// They keep their space and must exist in the hub (the default).
    #[default]
    Keep,
    /// They get the prefix too, as `cub package load` does.
    Prefix,
}

impl ExternalMode {
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExternalMode::Keep => "keep",
            ExternalMode::Prefix => "prefix",
        }
    }
}

/// The renaming of one load.
#[derive(Debug, Clone, Default)]
pub struct Remap {
    /// The prefix, if any (never empty).
    pub prefix: Option<String>,
    /// What happens to external references.
    pub external: ExternalMode,
    /// The spaces the package contains.
    contained: BTreeSet<String>,
}

impl Remap {
    /// The renaming for a package containing `spaces`.
    pub fn new(spaces: &BTreeSet<String>, prefix: Option<&str>, external: ExternalMode) -> Remap {
        Remap {
            prefix: prefix.filter(|p| !p.is_empty()).map(str::to_string),
            external,
            contained: spaces.clone(),
        }
    }

    /// Whether `to` is in a space the package does not contain.
    pub fn is_external(&self, to: &ResourceKey) -> bool {
        !self.contained.contains(to.space_slug())
    }

    /// The hub key of one of the package's own resources.
    pub fn key(&self, key: &ResourceKey) -> ResourceKey {
        key.with_prefix(self.prefix.as_deref())
    }

    /// The hub key a reference to `to` resolves to.
    pub fn target(&self, to: &ResourceKey) -> ResourceKey {
        if self.external == ExternalMode::Keep && self.is_external(to) {
            to.clone()
        } else {
            to.with_prefix(self.prefix.as_deref())
        }
    }

    /// `reference` as the hub stores it.
    pub fn reference(&self, reference: &Reference) -> Reference {
        Reference {
            field: reference.field,
            to: self.target(&reference.to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RefField, ResourceKind};

    #[test]
    fn prefixes_only_contained_spaces_unless_asked() {
        let spaces: BTreeSet<String> = ["app".to_string()].into();
        let own = ResourceKey::new(ResourceKind::Unit, "app", "web");
        let shared = ResourceKey::new(ResourceKind::Unit, "shared-infra", "redis");
        let keep = Remap::new(&spaces, Some("staging"), ExternalMode::Keep);
        assert_eq!(keep.key(&own).to_string(), "unit staging-app/web");
        assert_eq!(keep.target(&own).to_string(), "unit staging-app/web");
        assert_eq!(keep.target(&shared), shared);
        let r = Reference {
            field: RefField::ToUnit,
            to: shared.clone(),
        };
        assert_eq!(keep.reference(&r).to, shared);
        let blind = Remap::new(&spaces, Some("staging"), ExternalMode::Prefix);
        assert_eq!(
            blind.target(&shared).to_string(),
            "unit staging-shared-infra/redis"
        );
        let none = Remap::new(&spaces, Some(""), ExternalMode::Keep);
        assert_eq!(none.prefix, None);
        assert_eq!(none.key(&own), own);
    }
}
