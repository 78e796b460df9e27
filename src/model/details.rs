//! Resource details: the PascalCase JSON object ConfigHub's API writes for a
//! resource, minus what the hub owns (IDs, timestamps, counters, secrets and
//! the unit data). pkg keeps details canonical (keys sorted, no nulls at the
//! top level) so that equal content always has equal bytes.

use serde_json::{Map, Value};

/// A resource's details object.
pub type Details = Map<String, Value>;

/// Top-level keys the hub owns and never stores from, nor writes into, a
/// details file: IDs, server timestamps and counters, live state, secrets and
/// the unit data (which has its own file).
pub const HUB_OWNED_KEYS: &[&str] = &[
    "ApplyGates",
    "ApprovedBy",
    "AttributeID",
    "BridgeWorkerID",
    "Condition",
    "ContentHash",
    "CreatedAt",
    "CursorID",
    "Data",
    "EntityType",
    "FilterID",
    "FromSpaceID",
    "FromUnitID",
    "Hash",
    "HeadMutationNum",
    "HeadRevisionNum",
    "IPAddress",
    "InvocationID",
    "LastActionAt",
    "LastAppliedRevisionNum",
    "LastChangeDescription",
    "LastMessage",
    "LastSeenAt",
    "LinkID",
    "LiveRevisionNum",
    "LiveState",
    "MutationSources",
    "OrganizationID",
    "Outputs",
    "PreviousLiveRevisionNum",
    "ProvidedInfo",
    "Secret",
    "SetID",
    "SpaceID",
    "TagID",
    "TargetID",
    "ToSpaceID",
    "ToUnitID",
    "TriggerID",
    "UnitID",
    "UpdatedAt",
    "UpstreamOrganizationID",
    "UpstreamRevisionNum",
    "UpstreamSpaceID",
    "UpstreamUnitID",
    "UserID",
    "Version",
    "ViewID",
];

/// Makes `details` canonical for the resource `slug`: drops hub-owned keys and
/// top-level nulls, and sets `Slug` (the manifest's slug wins, as in `cub`).
pub fn canonicalize(mut details: Details, slug: &str) -> Details {
    details.retain(|key, value| !value.is_null() && !HUB_OWNED_KEYS.contains(&key.as_str()));
    details.insert("Slug".to_string(), Value::String(slug.to_string()));
    details
}

/// The compact canonical JSON text of `details` (keys sorted).
pub fn to_canonical_json(details: &Details) -> String {
    // A map of JSON values always serialises; the fallback is never taken.
    serde_json::to_string(details).unwrap_or_default()
}

/// A string field of `details`, or `""`.
pub fn str_field<'a>(details: &'a Details, key: &str) -> &'a str {
    details.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The entries of a string map field (`Labels`, `Annotations`); non-string
/// values are skipped.
pub fn map_field<'a>(details: &'a Details, key: &str) -> Vec<(&'a str, &'a str)> {
    match details.get(key) {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Details go through JSON text at every step (hub row, package file,
    /// hub row again): a float must come back as the very same number, or
    /// `pkg create` of a loaded package differs from the package (found by
    /// the `roundtrip` property).
    #[test]
    fn floats_survive_a_round_trip_through_text() {
        for text in [
            r#"{"x":-3.401235911691622e-180}"#,
            r#"{"x":[2.2250738585072014e-308,1.7976931348623157e+308,5e-324,0.1]}"#,
        ] {
            let details: Details = serde_json::from_str(text).unwrap();
            assert_eq!(to_canonical_json(&details), text);
        }
    }

    #[test]
    fn canonicalize_drops_hub_owned_keys_and_sets_slug() {
        let details = json!({
            "Slug": "old", "SpaceID": "00000000-0000-0000-0000-000000000000",
            "Data": "", "Secret": "s3cret", "TargetID": null, "Labels": {"a": "b"},
            "CreatedAt": "0001-01-01T00:00:00Z", "ToolchainType": "Kubernetes/YAML"
        });
        let Value::Object(map) = details else {
            unreachable!()
        };
        let out = canonicalize(map, "new");
        assert_eq!(
            to_canonical_json(&out),
            r#"{"Labels":{"a":"b"},"Slug":"new","ToolchainType":"Kubernetes/YAML"}"#
        );
    }
}
