//! The server's hub: the hub API (`/api/v1/hub/...`, in [`api`]) over a
//! [`HubHost`] that runs the hub's own code ([`LocalHub`]) on blocking
//! threads. On SQLite the host is the server's SQLite file ([`sqlite`]);
//! on etcd it is a per-replica cache published through a commit key
//! ([`etcd`]), so every replica reads whole applies only.

pub mod api;
pub mod errors;
pub mod etcd;
pub mod rows;
pub mod sqlite;
pub mod staging;

use crate::hub_access::AccessError;
use crate::hub_access::local::LocalHub;

use super::error::ApiError;

/// Where the server's hub lives.
pub enum HubHost {
    /// The server's SQLite file.
    Sqlite(sqlite::SqliteHub),
    /// etcd, through a local cache.
    Etcd(Box<etcd::EtcdHub>),
}

impl HubHost {
    /// Runs `f` against the latest committed hub without changing it.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        match self {
            HubHost::Sqlite(h) => h.run(f).await,
            HubHost::Etcd(h) => h.read(f).await,
        }
    }

    /// Runs `f`, which may change the hub; its changes are published
    /// atomically (all or nothing, for every reader).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        match self {
            HubHost::Sqlite(h) => h.run(f).await,
            HubHost::Etcd(h) => h.write(f).await,
        }
    }
}
