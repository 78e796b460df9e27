//! Which attributes each resource kind can be filtered on, and the type of
//! each attribute (which decides the operators and literals it takes).

use std::fmt;

use crate::model::ResourceKind;

/// The type of a filterable attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// Text, such as `Slug` or `DisplayName`.
    String,
    /// An integer, such as `HeadRevisionNum`.
    Int,
    /// A UUID, such as `SpaceID`; compared for equality only.
    Uuid,
    /// An RFC 3339 timestamp, such as `CreatedAt`.
    Time,
    /// A boolean; compared for equality only.
    Bool,
    /// A string-to-string map (`Labels`, `Annotations`), read as `Labels.<key>`.
    Map,
    /// A map of booleans (`ApplyGates`), read as `ApplyGates.<slug>/<function>`.
    BoolMap,
    /// A list of UUIDs (`ApprovedBy`), tested with `?` and `LEN()`.
    UuidList,
}

impl AttrType {
    /// A short phrase for messages: `a string`, `an integer`, ...
    pub fn describe(self) -> &'static str {
        match self {
            AttrType::String => "a string",
            AttrType::Int => "an integer",
            AttrType::Uuid => "a UUID",
            AttrType::Time => "a time",
            AttrType::Bool => "a boolean",
            AttrType::Map => "a map",
            AttrType::BoolMap => "a map of booleans",
            AttrType::UuidList => "a list of UUIDs",
        }
    }
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

const SPACE: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "Labels",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "UpdatedAt",
];

const WORKER: &[&str] = &[
    "Annotations",
    "BridgeWorkerID",
    "CreatedAt",
    "DisplayName",
    "Labels",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "UpdatedAt",
    "UserID",
];

const TARGET: &[&str] = &[
    "Annotations",
    "BridgeWorkerID",
    "CreatedAt",
    "DisplayName",
    "Labels",
    "OrganizationID",
    "ProviderType",
    "Slug",
    "SpaceID",
    "TargetID",
    "ToolchainType",
    "UpdatedAt",
];

const UNIT: &[&str] = &[
    "Annotations",
    "ApplyGates",
    "ApprovedBy",
    "CreatedAt",
    "DisplayName",
    "HeadRevisionNum",
    "Labels",
    "LastActionAt",
    "LastAppliedRevisionNum",
    "LastChangeDescription",
    "LiveRevisionNum",
    "OrganizationID",
    "PreviousLiveRevisionNum",
    "SetID",
    "Slug",
    "SpaceID",
    "TargetID",
    "ToolchainType",
    "UnitID",
    "UpdatedAt",
    "UpstreamOrganizationID",
    "UpstreamRevisionNum",
    "UpstreamSpaceID",
    "UpstreamUnitID",
];

const LINK: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "FromUnitID",
    "Labels",
    "LinkID",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "ToSpaceID",
    "ToUnitID",
    "UpdatedAt",
];

const FILTER: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "FilterID",
    "From",
    "FromSpaceID",
    "Labels",
    "OrganizationID",
    "ResourceType",
    "Slug",
    "SpaceID",
    "UpdatedAt",
    "Where",
    "WhereData",
];

const VIEW: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "FilterID",
    "GroupBy",
    "Labels",
    "OrderBy",
    "OrderByDirection",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "UpdatedAt",
    "ViewID",
];

const TAG: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "Labels",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "TagID",
    "UpdatedAt",
];

const INVOCATION: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "InvocationID",
    "Labels",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "UpdatedAt",
];

const TRIGGER: &[&str] = &[
    "Annotations",
    "CreatedAt",
    "DisplayName",
    "Labels",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "TriggerID",
    "UpdatedAt",
];

const ATTRIBUTE: &[&str] = &[
    "Annotations",
    "AttributeID",
    "CreatedAt",
    "DisplayName",
    "Labels",
    "OrganizationID",
    "Slug",
    "SpaceID",
    "UpdatedAt",
];

/// The attributes `kind` can be filtered on, sorted by name.
pub fn attribute_names(kind: ResourceKind) -> &'static [&'static str] {
    match kind {
        ResourceKind::Space => SPACE,
        ResourceKind::Worker => WORKER,
        ResourceKind::Target => TARGET,
        ResourceKind::Unit => UNIT,
        ResourceKind::Link => LINK,
        ResourceKind::Filter => FILTER,
        ResourceKind::View => VIEW,
        ResourceKind::Tag => TAG,
        ResourceKind::Invocation => INVOCATION,
        ResourceKind::Trigger => TRIGGER,
        ResourceKind::Attribute => ATTRIBUTE,
    }
}

/// The type of attribute `name` on `kind`, or `None` when `kind` cannot be
/// filtered on it. Names are case-sensitive.
pub fn attribute_type(kind: ResourceKind, name: &str) -> Option<AttrType> {
    attribute_names(kind).contains(&name).then(|| type_of(name))
}

/// The type an allow-listed attribute name has, from its name.
fn type_of(name: &str) -> AttrType {
    match name {
        "Labels" | "Annotations" => AttrType::Map,
        "ApplyGates" => AttrType::BoolMap,
        "ApprovedBy" => AttrType::UuidList,
        "CreatedAt" | "UpdatedAt" | "LastActionAt" | "LastSeenAt" => AttrType::Time,
        "HeadMutationNum" => AttrType::Int,
        _ if name.ends_with("RevisionNum") => AttrType::Int,
        _ if name.ends_with("ID") => AttrType::Uuid,
        _ => AttrType::String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_carry_the_common_attributes() {
        for kind in ResourceKind::ALL {
            let names = attribute_names(kind);
            let mut sorted = names.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted, names, "{kind}");
            for common in [
                "Annotations",
                "CreatedAt",
                "DisplayName",
                "Labels",
                "OrganizationID",
                "Slug",
                "SpaceID",
                "UpdatedAt",
                kind.id_attribute(),
            ] {
                assert!(names.contains(&common), "{kind} lacks {common}");
            }
            assert!(
                names
                    .iter()
                    .all(|n| n.chars().all(|c| c.is_ascii_alphabetic()))
            );
        }
    }

    #[test]
    fn allow_lists_differ_per_kind() {
        assert_eq!(
            attribute_type(ResourceKind::Unit, "ToolchainType"),
            Some(AttrType::String)
        );
        assert_eq!(
            attribute_type(ResourceKind::Target, "ToolchainType"),
            Some(AttrType::String)
        );
        assert_eq!(attribute_type(ResourceKind::Space, "ToolchainType"), None);
        assert_eq!(
            attribute_type(ResourceKind::Unit, "ApplyGates"),
            Some(AttrType::BoolMap)
        );
        assert_eq!(attribute_type(ResourceKind::Target, "ApplyGates"), None);
        assert_eq!(
            attribute_type(ResourceKind::Worker, "UserID"),
            Some(AttrType::Uuid)
        );
        assert_eq!(
            attribute_type(ResourceKind::Tag, "TagID"),
            Some(AttrType::Uuid)
        );
        assert_eq!(attribute_type(ResourceKind::Tag, "Where"), None);
        assert_eq!(
            attribute_type(ResourceKind::Filter, "Where"),
            Some(AttrType::String)
        );
    }

    #[test]
    fn names_are_case_sensitive() {
        assert_eq!(attribute_type(ResourceKind::Unit, "slug"), None);
        assert_eq!(attribute_type(ResourceKind::Unit, "SLUG"), None);
    }

    #[test]
    fn types_follow_the_naming_rules() {
        let unit = ResourceKind::Unit;
        assert_eq!(attribute_type(unit, "Slug"), Some(AttrType::String));
        assert_eq!(attribute_type(unit, "SpaceID"), Some(AttrType::Uuid));
        assert_eq!(attribute_type(unit, "SetID"), Some(AttrType::Uuid));
        assert_eq!(attribute_type(unit, "CreatedAt"), Some(AttrType::Time));
        assert_eq!(attribute_type(unit, "LastActionAt"), Some(AttrType::Time));
        assert_eq!(attribute_type(unit, "HeadRevisionNum"), Some(AttrType::Int));
        assert_eq!(
            attribute_type(unit, "UpstreamRevisionNum"),
            Some(AttrType::Int)
        );
        assert_eq!(attribute_type(unit, "Labels"), Some(AttrType::Map));
        assert_eq!(attribute_type(unit, "Annotations"), Some(AttrType::Map));
        assert_eq!(attribute_type(unit, "ApprovedBy"), Some(AttrType::UuidList));
        assert_eq!(type_of("HeadMutationNum"), AttrType::Int);
        assert_eq!(type_of("LastSeenAt"), AttrType::Time);
        assert_eq!(AttrType::UuidList.to_string(), "a list of UUIDs");
    }
}
