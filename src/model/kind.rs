//! The resource kinds a hub keeps and a package carries, with the facts each
//! kind's code needs: its manifest key, its folder, its API entity name and
//! the order in which a load writes it.

use std::fmt;
use std::str::FromStr;

/// One kind of ConfigHub resource.
///
/// The order of the variants is the dependency order of a load:
/// spaces first, then workers, targets, units, links, filters, views and the
/// kinds carried for compatibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// A space: the namespace every other resource lives in.
    Space,
    /// A bridge worker.
    Worker,
    /// A deployment target, served by a worker.
    Target,
    /// A unit of configuration: details plus config data.
    Unit,
    /// A link from one unit to another.
    Link,
    /// A saved where-filter.
    Filter,
    /// A view over a filter.
    View,
    /// A tag (carried for compatibility).
    Tag,
    /// An invocation (carried for compatibility).
    Invocation,
    /// A trigger (carried for compatibility).
    Trigger,
    /// An attribute (carried for compatibility).
    Attribute,
}

impl ResourceKind {
    /// Every kind, in load (dependency) order.
    pub const ALL: [ResourceKind; 11] = [
        ResourceKind::Space,
        ResourceKind::Worker,
        ResourceKind::Target,
        ResourceKind::Unit,
        ResourceKind::Link,
        ResourceKind::Filter,
        ResourceKind::View,
        ResourceKind::Tag,
        ResourceKind::Invocation,
        ResourceKind::Trigger,
        ResourceKind::Attribute,
    ];

    /// The singular lower-case name used on the command line and in the hub
    /// (`space`, `unit`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Space => "space",
            ResourceKind::Worker => "worker",
            ResourceKind::Target => "target",
            ResourceKind::Unit => "unit",
            ResourceKind::Link => "link",
            ResourceKind::Filter => "filter",
            ResourceKind::View => "view",
            ResourceKind::Tag => "tag",
            ResourceKind::Invocation => "invocation",
            ResourceKind::Trigger => "trigger",
            ResourceKind::Attribute => "attribute",
        }
    }

    /// The manifest array key and the package folder (`spaces`, `units`, ...).
    pub fn plural(self) -> &'static str {
        match self {
            ResourceKind::Space => "spaces",
            ResourceKind::Worker => "workers",
            ResourceKind::Target => "targets",
            ResourceKind::Unit => "units",
            ResourceKind::Link => "links",
            ResourceKind::Filter => "filters",
            ResourceKind::View => "views",
            ResourceKind::Tag => "tags",
            ResourceKind::Invocation => "invocations",
            ResourceKind::Trigger => "triggers",
            ResourceKind::Attribute => "attributes",
        }
    }

    /// The ConfigHub API entity name (`Space`, `BridgeWorker`, ...), as used
    /// by a filter's `From` field.
    pub fn entity(self) -> &'static str {
        match self {
            ResourceKind::Space => "Space",
            ResourceKind::Worker => "BridgeWorker",
            ResourceKind::Target => "Target",
            ResourceKind::Unit => "Unit",
            ResourceKind::Link => "Link",
            ResourceKind::Filter => "Filter",
            ResourceKind::View => "View",
            ResourceKind::Tag => "Tag",
            ResourceKind::Invocation => "Invocation",
            ResourceKind::Trigger => "Trigger",
            ResourceKind::Attribute => "Attribute",
        }
    }

    /// The name of the kind's own ID attribute (`UnitID`, `BridgeWorkerID`, ...).
    pub fn id_attribute(self) -> &'static str {
        match self {
            ResourceKind::Space => "SpaceID",
            ResourceKind::Worker => "BridgeWorkerID",
            ResourceKind::Target => "TargetID",
            ResourceKind::Unit => "UnitID",
            ResourceKind::Link => "LinkID",
            ResourceKind::Filter => "FilterID",
            ResourceKind::View => "ViewID",
            ResourceKind::Tag => "TagID",
            ResourceKind::Invocation => "InvocationID",
            ResourceKind::Trigger => "TriggerID",
            ResourceKind::Attribute => "AttributeID",
        }
    }

    /// Whether resources of this kind live inside a space (all but spaces).
    pub fn is_space_scoped(self) -> bool {
        self != ResourceKind::Space
    }

    /// Looks a kind up by its API entity name (`Unit`, `BridgeWorker`; `Worker` is accepted too).
    pub fn from_entity(entity: &str) -> Option<ResourceKind> {
        if entity == "Worker" {
            return Some(ResourceKind::Worker);
        }
        ResourceKind::ALL.into_iter().find(|k| k.entity() == entity)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ResourceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.name() == s || k.plural() == s)
            .ok_or_else(|| format!("unknown resource kind `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ResourceKind::ALL {
            assert_eq!(kind.name().parse::<ResourceKind>(), Ok(kind));
            assert_eq!(kind.plural().parse::<ResourceKind>(), Ok(kind));
            assert_eq!(ResourceKind::from_entity(kind.entity()), Some(kind));
        }
        assert!("spacex".parse::<ResourceKind>().is_err());
    }

    #[test]
    fn load_order_is_dependency_order() {
        let mut sorted = ResourceKind::ALL;
        sorted.sort();
        assert_eq!(sorted, ResourceKind::ALL);
        assert!(ResourceKind::Worker < ResourceKind::Target);
        assert!(ResourceKind::Target < ResourceKind::Unit);
        assert!(ResourceKind::Filter < ResourceKind::View);
    }
}
