//! The hub of an etcd server (being built).

use super::super::error::ApiError;
use crate::hub_access::AccessError;
use crate::hub_access::local::LocalHub;

/// The etcd-backed hub.
pub struct EtcdHub;

impl EtcdHub {
    /// Reads.
    pub async fn read<T: Send + 'static>(
        &self,
        _f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        Err(ApiError::unavailable("the etcd hub is not ready"))
    }

    /// Writes.
    pub async fn write<T: Send + 'static>(
        &self,
        _f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        Err(ApiError::unavailable("the etcd hub is not ready"))
    }
}
