//! Token management straight against a store (`pkg serve token ...`),
//! whether or not a server is running on it: the CLI's synchronous entry
//! points, each running one short async task.

use super::auth;
use super::error::ApiError;
use super::store::etcd::EtcdKv;
use super::store::sqlite::SqliteKv;
use super::store::{StoreError, StoreUrl};
use crate::registry::Level;
use crate::registry::types::TokenInfo;

/// Why a token command failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request was refused.
    #[error("{0}")]
    Refused(String),
}

impl From<ApiError> for TokenError {
    fn from(e: ApiError) -> TokenError {
        TokenError::Refused(e.message)
    }
}

/// Runs `$body` with `$kv` bound to the store `$store` names.
macro_rules! with_store {
    ($store:expr, |$kv:ident| $body:expr) => {
        match $store {
            StoreUrl::Sqlite(path) => {
                let $kv = SqliteKv::open(path)?;
                $body
            }
            StoreUrl::Etcd(endpoints) => {
                let $kv = EtcdKv::connect(endpoints).await?;
                $body
            }
        }
    };
}

fn block_on<T>(f: impl Future<Output = Result<T, TokenError>>) -> Result<T, TokenError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TokenError::Refused(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

/// Creates a token; returns it (to show once) and its record.
pub fn create(
    store: &StoreUrl,
    name: &str,
    level: Level,
    expires_days: Option<u32>,
) -> Result<(String, TokenInfo), TokenError> {
    block_on(async {
        with_store!(store, |kv| Ok(auth::create_token(
            &kv,
            name,
            level,
            expires_days
        )
        .await?))
    })
}

/// Lists every token.
pub fn list(store: &StoreUrl) -> Result<Vec<TokenInfo>, TokenError> {
    block_on(async { with_store!(store, |kv| Ok(auth::list_tokens(&kv).await?)) })
}

/// Revokes a token by id.
pub fn revoke(store: &StoreUrl, id: &str) -> Result<TokenInfo, TokenError> {
    block_on(async { with_store!(store, |kv| Ok(auth::revoke_token(&kv, id).await?)) })
}
