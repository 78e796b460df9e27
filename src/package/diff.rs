//! Unified diffs of what a load would change in one resource: its details
//! (with references) and, for units, its config data.

use rusqlite::Connection;
use serde_json::Value;
use similar::TextDiff;

use super::error::PackageError;
use super::merge::DIFF_DEADLINE;
use super::plan::{Plan, Step};
use super::read::Package;
use crate::hub::store;
use crate::model::{Details, Reference};

/// The differences between the hub's and the package's version of a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceDiff {
    /// Unified diff of details and references, when they differ.
    pub details: Option<String>,
    /// Unified diff of the unit data, when it differs.
    pub data: Option<String>,
}

fn details_text(details: &Details, refs: &[Reference]) -> String {
    let mut text =
        serde_json::to_string_pretty(&Value::Object(details.clone())).unwrap_or_default();
    text.push('\n');
    for r in refs {
        text.push_str(&format!(
            "{}: {}\n",
            r.field.manifest_key(),
            r.manifest_value()
        ));
    }
    text
}

fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_lines(old, new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(old_name, new_name)
            .to_string(),
    )
}

/// A unified diff of two unit data versions, or one line saying that binary
/// data (not UTF-8 on either side) differs, as `diff` says of binary files.
pub fn data_diff(old: &[u8], new: &[u8], old_name: &str, new_name: &str) -> Option<String> {
    if old == new {
        return None;
    }
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(old), Ok(new)) => unified(old, new, old_name, new_name),
        _ => Some(format!(
            "binary data differs: {old_name} ({} bytes) and {new_name} ({} bytes)\n",
            old.len(),
            new.len()
        )),
    }
}

/// Diffs the hub's version of `step`'s resource against the package's.
/// Returns an empty diff when the resource is not in the hub.
pub fn diff_step(
    conn: &Connection,
    package: &Package,
    plan: &Plan,
    step: &Step,
) -> Result<ResourceDiff, PackageError> {
    let key = plan.key(package, step);
    let Some(current) = store::get(conn, &key)? else {
        return Ok(ResourceDiff::default());
    };
    let item = &package.items[step.item];
    let old_name = format!("hub: {key}");
    if let Some(merged) = plan.merged.get(&step.item) {
        // A merge: what the hub gets is the merged content.
        let new_name = format!("merged: {key}");
        let details = unified(
            &details_text(&current.details, &current.refs),
            &details_text(&merged.details, &merged.refs),
            &old_name,
            &new_name,
        );
        let old = store::data(conn, &key)?.unwrap_or_default();
        let data = merged
            .data
            .as_deref()
            .and_then(|new| data_diff(&old, new, &old_name, &new_name));
        return Ok(ResourceDiff { details, data });
    }
    let new_details: Details = match serde_json::from_str(&package.read_details(item, &key.slug)?) {
        Ok(Value::Object(map)) => map,
        _ => Details::new(),
    };
    let details = unified(
        &details_text(&current.details, &current.refs),
        &details_text(&new_details, &plan.refs(package, step)),
        &old_name,
        &format!("package: {}", item.details_loc),
    );
    let mut data = None;
    if let Some(loc) = &item.data_loc
        && current.data_digest != item.data_digest_text()
    {
        let old = store::data(conn, &key)?.unwrap_or_default();
        let new = package.read_data(item)?;
        let new_name = format!("package: {loc}");
        data = data_diff(&old, &new, &old_name, &new_name);
    }
    Ok(ResourceDiff { details, data })
}
