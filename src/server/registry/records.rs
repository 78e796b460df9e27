//! The registry's records in the store: one document per package
//! (`registry/packages/<name>`, holding every version) changed only by
//! compare-and-swap, and append-only action events
//! (`registry/actions/<name>/<time>-<random>`).

use super::super::error::ApiError;
use super::super::store::{Expect, Kv, scan_all};
use crate::registry::types::{ActionKind, ActionRecord, PackageRecord};

const PACKAGES: &str = "registry/packages/";
const ACTIONS: &str = "registry/actions/";
/// How often a compare-and-swap is retried when another writer got there first.
const CAS_RETRIES: usize = 64;

/// The package `name` and the revision it was read at.
pub async fn package<K: Kv>(kv: &K, name: &str) -> Result<Option<(PackageRecord, i64)>, ApiError> {
    let Some(stored) = kv.get(&format!("{PACKAGES}{name}")).await? else {
        return Ok(None);
    };
    let record = serde_json::from_slice(&stored.value)
        .map_err(|e| ApiError::internal(format!("package record `{name}` is unreadable: {e}")))?;
    Ok(Some((record, stored.revision)))
}

/// Every package, by name.
pub async fn all_packages<K: Kv>(kv: &K) -> Result<Vec<PackageRecord>, ApiError> {
    let mut out = Vec::new();
    for (key, stored) in scan_all(kv, PACKAGES).await? {
        let record = serde_json::from_slice(&stored.value).map_err(|e| {
            ApiError::internal(format!("package record `{key}` is unreadable: {e}"))
        })?;
        out.push(record);
    }
    Ok(out)
}

/// What a change function decides.
pub enum Change<T> {
    /// Write the changed record and answer `T`.
    Write(T),
    /// Write nothing and answer `T`.
    Keep(T),
}

/// Reads package `name`, lets `change` edit it (`None` when absent), and
/// writes it back with a compare-and-swap, retrying when another writer
/// (on any replica) changed it in between.
pub async fn update<K: Kv, T>(
    kv: &K,
    name: &str,
    mut change: impl FnMut(Option<PackageRecord>) -> Result<Change<(PackageRecord, T)>, ApiError>,
) -> Result<T, ApiError> {
    let key = format!("{PACKAGES}{name}");
    for _ in 0..CAS_RETRIES {
        let current = package(kv, name).await?;
        let expect = match &current {
            Some((_, revision)) => Expect::Revision(*revision),
            None => Expect::Absent,
        };
        match change(current.map(|(record, _)| record))? {
            Change::Keep((_, answer)) => return Ok(answer),
            Change::Write((record, answer)) => {
                let value =
                    serde_json::to_vec(&record).map_err(|e| ApiError::internal(e.to_string()))?;
                if kv.put(&key, value, expect).await? {
                    return Ok(answer);
                }
            }
        }
    }
    Err(ApiError::conflict(format!(
        "package `{name}` is being changed by other writers; try again"
    )))
}

/// A unique key suffix that sorts newest first: the nanoseconds left until
/// the end of `u64` time, then randomness. An ascending scan with a limit
/// (which every store serves cheaply) reads the newest events.
pub fn event_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{:020}-{}", u64::MAX - nanos, &random[..8])
}

/// The key and value of an action event.
pub fn action_pair(action: &ActionRecord) -> (String, Vec<u8>) {
    let key = format!("{ACTIONS}{}/{}", action.name, event_suffix());
    (key, serde_json::to_vec(action).unwrap_or_default())
}

/// A new action record, now.
pub fn action(kind: ActionKind, name: &str, version: Option<&str>, by: &str) -> ActionRecord {
    ActionRecord {
        action: kind,
        name: name.to_string(),
        version: version.map(str::to_string),
        by: by.to_string(),
        at: crate::time::now_rfc3339(),
        count: 1,
        deployment: None,
    }
}

/// Records one action now.
pub async fn record_action<K: Kv>(kv: &K, record: &ActionRecord) -> Result<(), ApiError> {
    let (key, value) = action_pair(record);
    kv.put(&key, value, Expect::Any).await?;
    Ok(())
}

/// The newest `limit` actions on `name`, newest first.
pub async fn actions<K: Kv>(
    kv: &K,
    name: &str,
    limit: usize,
) -> Result<Vec<ActionRecord>, ApiError> {
    let page = kv
        .scan(&format!("{ACTIONS}{name}/"), None, limit, false)
        .await?;
    Ok(page
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v.value).ok())
        .collect())
}
