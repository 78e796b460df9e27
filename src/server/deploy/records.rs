//! The deployment records in the store: environments added through the
//! API (`deploy/environments/<name>`), deployments
//! (`deploy/deployments/<id>`), jobs (`deploy/jobs/<id>`), a marker per
//! job that may still run (`deploy/open/<id>`, what the workers scan), and
//! the last deployment into each environment (`deploy/last/<env>`). Every
//! change is a compare-and-swap, so replicas never overwrite each other.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::error::ApiError;
use super::super::registry::records::Change;
use super::super::store::{Expect, Kv, Versioned, scan_all};
use crate::deploy::{Deployment, Environment, Job};

/// Environments added through the API.
pub const ENVIRONMENTS: &str = "deploy/environments/";
/// Deployments by id.
pub const DEPLOYMENTS: &str = "deploy/deployments/";
/// Jobs by id.
pub const JOBS: &str = "deploy/jobs/";
/// Jobs that may still run.
pub const OPEN: &str = "deploy/open/";
/// The last deployment into each environment.
pub const LAST: &str = "deploy/last/";
/// Each package's deployments (`deploy/by-package/<name>/<id>`, empty).
pub const BY_PACKAGE: &str = "deploy/by-package/";
/// How often a compare-and-swap is retried when another writer came first.
const CAS_RETRIES: usize = 64;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A new id starting with `kind`: it sorts by creation time.
pub fn new_id(kind: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{kind}-{:013}-{}", now_ms().max(0), &random[..8])
}

fn decode<T: DeserializeOwned>(key: &str, stored: &Versioned) -> Result<T, ApiError> {
    serde_json::from_slice(&stored.value)
        .map_err(|e| ApiError::internal(format!("the record `{key}` is unreadable: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::internal(e.to_string()))
}

/// The record at `key` and its revision.
pub async fn get<K: Kv, T: DeserializeOwned>(
    kv: &K,
    key: &str,
) -> Result<Option<(T, i64)>, ApiError> {
    match kv.get(key).await? {
        Some(stored) => Ok(Some((decode(key, &stored)?, stored.revision))),
        None => Ok(None),
    }
}

/// Writes `value` at `key` when the key is as `expect` says.
pub async fn put<K: Kv, T: Serialize>(
    kv: &K,
    key: &str,
    value: &T,
    expect: Expect,
) -> Result<bool, ApiError> {
    Ok(kv.put(key, encode(value)?, expect).await?)
}

/// Every record under `prefix`, in key order.
pub async fn all<K: Kv, T: DeserializeOwned>(kv: &K, prefix: &str) -> Result<Vec<T>, ApiError> {
    let mut out = Vec::new();
    for (key, stored) in scan_all(kv, prefix).await? {
        out.push(decode(&key, &stored)?);
    }
    Ok(out)
}

/// Reads the record at `key`, lets `change` edit it, and writes it back
/// with a compare-and-swap, again while another writer comes first.
/// `None` when there is no record.
pub async fn update<K: Kv, T: Serialize + DeserializeOwned, A>(
    kv: &K,
    key: &str,
    change: impl FnMut(&mut T) -> Result<Change<A>, ApiError>,
) -> Result<Option<A>, ApiError> {
    Ok(update_value(kv, key, change)
        .await?
        .map(|(answer, _)| answer))
}

/// [`update`], also answering the record as it now stands.
async fn update_value<K: Kv, T: Serialize + DeserializeOwned, A>(
    kv: &K,
    key: &str,
    mut change: impl FnMut(&mut T) -> Result<Change<A>, ApiError>,
) -> Result<Option<(A, T)>, ApiError> {
    for _ in 0..CAS_RETRIES {
        let Some((mut value, revision)) = get::<K, T>(kv, key).await? else {
            return Ok(None);
        };
        match change(&mut value)? {
            Change::Keep(answer) => return Ok(Some((answer, value))),
            Change::Write(answer) => {
                if put(kv, key, &value, Expect::Revision(revision)).await? {
                    return Ok(Some((answer, value)));
                }
            }
        }
    }
    Err(ApiError::conflict(format!(
        "`{key}` is being changed by other writers; try again"
    )))
}

/// The deployment `id`.
pub async fn deployment<K: Kv>(kv: &K, id: &str) -> Result<Option<Deployment>, ApiError> {
    Ok(get::<K, Deployment>(kv, &format!("{DEPLOYMENTS}{id}"))
        .await?
        .map(|(d, _)| d))
}

/// Changes the deployment `id` (compare-and-swap).
pub async fn update_deployment<K: Kv, A>(
    kv: &K,
    id: &str,
    change: impl FnMut(&mut Deployment) -> Result<Change<A>, ApiError>,
) -> Result<Option<A>, ApiError> {
    update(kv, &format!("{DEPLOYMENTS}{id}"), change).await
}

/// The job `id`.
pub async fn job<K: Kv>(kv: &K, id: &str) -> Result<Option<Job>, ApiError> {
    Ok(get::<K, Job>(kv, &format!("{JOBS}{id}"))
        .await?
        .map(|(j, _)| j))
}

/// Changes the job `id` (compare-and-swap); a job that ends loses its
/// open marker.
pub async fn update_job<K: Kv, A>(
    kv: &K,
    id: &str,
    change: impl FnMut(&mut Job) -> Result<Change<A>, ApiError>,
) -> Result<Option<A>, ApiError> {
    let Some((answer, job)) = update_value::<K, Job, A>(kv, &format!("{JOBS}{id}"), change).await?
    else {
        return Ok(None);
    };
    if job.status.is_final() {
        kv.delete(&format!("{OPEN}{id}"), Expect::Any).await?;
    }
    Ok(Some(answer))
}

/// Stores a new deployment and its job (the job last: a worker only sees
/// a job whose deployment exists).
pub async fn create<K: Kv>(kv: &K, deployment: &Deployment, job: &Job) -> Result<(), ApiError> {
    put(
        kv,
        &format!("{DEPLOYMENTS}{}", deployment.id),
        deployment,
        Expect::Absent,
    )
    .await?;
    kv.put(
        &format!("{BY_PACKAGE}{}/{}", deployment.package, deployment.id),
        Vec::new(),
        Expect::Any,
    )
    .await?;
    put(kv, &format!("{JOBS}{}", job.id), job, Expect::Absent).await?;
    kv.put(&format!("{OPEN}{}", job.id), Vec::new(), Expect::Any)
        .await?;
    Ok(())
}

/// Adds a job for an existing deployment.
pub async fn add_job<K: Kv>(kv: &K, job: &Job) -> Result<(), ApiError> {
    put(kv, &format!("{JOBS}{}", job.id), job, Expect::Absent).await?;
    kv.put(&format!("{OPEN}{}", job.id), Vec::new(), Expect::Any)
        .await?;
    Ok(())
}

/// The ids of the jobs that may still run.
pub async fn open_jobs<K: Kv>(kv: &K) -> Result<Vec<String>, ApiError> {
    Ok(scan_all(kv, OPEN)
        .await?
        .into_iter()
        .map(|(key, _)| key[OPEN.len()..].to_string())
        .collect())
}

/// The deployments of `package`, oldest first.
pub async fn of_package<K: Kv>(kv: &K, package: &str) -> Result<Vec<Deployment>, ApiError> {
    let prefix = format!("{BY_PACKAGE}{package}/");
    let mut out = Vec::new();
    for (key, _) in scan_all(kv, &prefix).await? {
        if let Some(d) = deployment(kv, &key[prefix.len()..]).await? {
            out.push(d);
        }
    }
    Ok(out)
}

/// The environments added through the API.
pub async fn stored_environments<K: Kv>(kv: &K) -> Result<Vec<Environment>, ApiError> {
    all(kv, ENVIRONMENTS).await
}
