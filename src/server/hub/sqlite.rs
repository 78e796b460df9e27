//! The hub of a SQLite server: the hub tables live in the server's SQLite
//! file beside the store's table. SQLite's own transactions make every
//! apply atomic for readers; hubs are pooled and used on blocking threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::super::error::ApiError;
use super::errors::api_error;
use crate::hub::Hub;
use crate::hub_access::AccessError;
use crate::hub_access::local::LocalHub;

/// Pooled hubs on one SQLite file.
#[derive(Clone)]
pub struct SqliteHub {
    path: Arc<PathBuf>,
    pool: Arc<Mutex<Vec<LocalHub>>>,
}

impl SqliteHub {
    /// Opens (creating, migrating) the hub in `path`.
    pub fn open(path: &Path) -> Result<SqliteHub, String> {
        let hub = Hub::open(path).map_err(|e| format!("{e}"))?;
        Ok(SqliteHub {
            path: Arc::new(path.to_path_buf()),
            pool: Arc::new(Mutex::new(vec![LocalHub::new(hub)])),
        })
    }

    /// Runs `f` on a pooled hub on a blocking thread.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = this.pool.lock().ok().and_then(|mut p| p.pop());
            let mut hub = match pooled {
                Some(h) => h,
                None => LocalHub::new(
                    Hub::open(&this.path).map_err(|e| api_error(AccessError::Hub(e)))?,
                ),
            };
            let out = f(&mut hub).map_err(api_error);
            if let Ok(mut pool) = this.pool.lock()
                && pool.len() < 8
            {
                pool.push(hub);
            }
            out
        })
        .await
        .map_err(|e| ApiError::internal(format!("a hub task failed: {e}")))?
    }
}
