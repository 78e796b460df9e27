//! One way to drive a hub, local or remote: the [`HubAccess`] trait (read,
//! change one resource, plan, load, history, rollback), implemented by
//! [`local::LocalHub`] over the embedded SQLite hub and by
//! [`remote::RemoteHub`] over a `pkg serve` hub API. Commands take a
//! `&mut dyn HubAccess` and do not care which one they drive; the server
//! answers its hub API with a `LocalHub` over its own hub, so both sides
//! run the same code. [`wire`] holds the JSON shapes the API exchanges.

pub mod local;
pub mod remote;
pub mod wire;

use serde::{Deserialize, Serialize};

use crate::hub::history::{Counts, HistoryEntry};
use crate::hub::{HubError, HubResource, NewResource};
use crate::model::{ResourceKey, ResourceKind};
use crate::package::PackageError;
use crate::package::load::LoadOptions;
use crate::package::read::Package;
use crate::package::report::PlanReport;
use crate::progress::Progress;
use crate::remote::RemoteError;

/// Why a hub operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The local hub refused or failed.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// The package or the load refused.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The server refused or could not be reached.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A `--where` expression does not parse.
    #[error("invalid --where expression: {0}")]
    Where(String),
    /// The change function of an update refused, or a local step failed.
    #[error(transparent)]
    Change(anyhow::Error),
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The plan that was carried out (its `changes` only when asked for).
    pub plan: PlanReport,
    /// What changed.
    pub counts: Counts,
    /// The history entry recording the load.
    pub entry_id: i64,
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackReport {
    /// The new history entry.
    pub history_id: i64,
    /// The entry rolled back.
    pub reverted: i64,
    /// What changed.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A resource with its data (units only, when asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The resource.
    pub resource: HubResource,
    /// Its data.
    pub data: Option<Vec<u8>>,
}

/// The change an update makes to a resource's current content.
pub type Change<'a> = &'a mut dyn FnMut(&mut NewResource) -> anyhow::Result<()>;

/// A hub, local or remote.
pub trait HubAccess {
    /// Where the hub is, for messages (`hub /path/hub.db`, `remote team`).
    fn location(&self) -> String;

    /// The resources of `kind` (in `space`, when given) matching `where_`,
    /// in a stable order.
    fn list(
        &mut self,
        kind: ResourceKind,
        space: Option<&str>,
        where_: Option<&str>,
    ) -> Result<Vec<HubResource>, AccessError>;

    /// One resource (and its data, for a unit, when `with_data`).
    fn get(&mut self, key: &ResourceKey, with_data: bool) -> Result<Fetched, AccessError>;

    /// Creates a resource.
    fn create(&mut self, new: &NewResource) -> Result<HubResource, AccessError>;

    /// Updates a resource through `change`; the bool says whether the
    /// content changed. A remote update sends `If-Match` and fails with
    /// [`HubError::Stale`] when another writer came first.
    fn update(
        &mut self,
        key: &ResourceKey,
        change: Change<'_>,
    ) -> Result<(HubResource, bool), AccessError>;

    /// Deletes a resource (a space with everything in it when `recursive`).
    fn delete(
        &mut self,
        key: &ResourceKey,
        recursive: bool,
    ) -> Result<Vec<ResourceKey>, AccessError>;

    /// Plans loading `package` without writing anything.
    fn plan(
        &mut self,
        package: &Package,
        options: &LoadOptions,
        with_diffs: bool,
    ) -> Result<PlanReport, AccessError>;

    /// Whether loading `package` with `options` would change nothing,
    /// judged from source fingerprints alone: true only when every
    /// resource is there as a load of the same files wrote it. False means
    /// "plan it to know" (a cheap check a sync makes before shipping a
    /// whole package).
    fn is_current(&mut self, package: &Package, options: &LoadOptions)
    -> Result<bool, AccessError>;

    /// Loads `package` in one transaction and records it. With `expect`,
    /// refuses when the plan's fingerprint differs (the hub changed since
    /// the plan was shown). With `detail`, the report lists every change.
    fn load(
        &mut self,
        package: &Package,
        options: &LoadOptions,
        expect: Option<&str>,
        detail: bool,
        progress: &dyn Progress,
    ) -> Result<LoadReport, AccessError>;

    /// The history, newest first.
    fn history(&mut self) -> Result<Vec<HistoryEntry>, AccessError>;

    /// Rolls back history entry `id`.
    fn rollback(&mut self, id: i64, force: bool) -> Result<RollbackReport, AccessError>;
}
