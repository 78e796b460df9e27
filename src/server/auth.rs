//! Bearer tokens and the caller's level. A token is `pkg_` and 64 hex
//! digits of randomness; only its sha256 is stored (`tokens/<hash>`), so a
//! stolen store holds nothing that authenticates. No token is level 1; an
//! unknown, revoked or expired token is 401.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::store::{Expect, Kv, StoreError, scan_all};
use crate::registry::Level;
use crate::registry::types::TokenInfo;

/// Where tokens live in the store.
const PREFIX: &str = "tokens/";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name, or `anonymous`.
    pub name: String,
    /// The token's level, or 1.
    pub level: Level,
}

impl Caller {
    /// A caller without a token.
    pub fn anonymous() -> Caller {
        Caller {
            name: "anonymous".into(),
            level: Level::PUBLIC,
        }
    }

    /// Refuses (403) a caller below `needed` to do `what`.
    pub fn require(&self, needed: Level, what: &str) -> Result<(), ApiError> {
        if self.level >= needed {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "{what} needs level {needed}; the caller `{}` has level {}",
            self.name, self.level
        )))
    }
}

/// A stored token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenRecord {
    #[serde(flatten)]
    info: TokenInfo,
}

fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// A new random token.
fn generate() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    let mixed = Sha256::digest(format!("{a}{b}").as_bytes());
    format!("pkg_{mixed:x}")
}

/// Creates a token for `name` at `level`, expiring after `expires_days`
/// days when given. Returns the token (shown once) and its record.
pub async fn create_token<K: Kv>(
    kv: &K,
    name: &str,
    level: Level,
    expires_days: Option<u32>,
) -> Result<(String, TokenInfo), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "a token name must be 1-128 characters without control characters",
        ));
    }
    let token = generate();
    let digest = hash(&token);
    let info = TokenInfo {
        id: digest[..12].to_string(),
        name: name.to_string(),
        level: level.get(),
        created_at: crate::time::now_rfc3339(),
        expires_at: expires_days.map(crate::time::days_from_now),
        revoked: false,
    };
    let value = serde_json::to_vec(&TokenRecord { info: info.clone() })
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if !kv
        .put(&format!("{PREFIX}{digest}"), value, Expect::Absent)
        .await?
    {
        return Err(ApiError::conflict(
            "a token with this hash exists; try again",
        ));
    }
    Ok((token, info))
}

/// Every token's record, oldest first.
pub async fn list_tokens<K: Kv>(kv: &K) -> Result<Vec<TokenInfo>, StoreError> {
    let mut out: Vec<TokenInfo> = scan_all(kv, PREFIX)
        .await?
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<TokenRecord>(&v.value).ok())
        .map(|r| r.info)
        .collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Revokes the token whose id is `id` (or starts with it, when that is unambiguous).
pub async fn revoke_token<K: Kv>(kv: &K, id: &str) -> Result<TokenInfo, ApiError> {
    let id = id.trim();
    if id.len() < 6 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!(
            "`{}` is not a token id (at least 6 hex digits; see `token list`)",
            id.chars().take(40).collect::<String>()
        )));
    }
    let found = kv
        .scan(
            &format!("{PREFIX}{}", id.to_ascii_lowercase()),
            None,
            2,
            false,
        )
        .await?;
    let (key, stored) = match found.as_slice() {
        [one] => one.clone(),
        [] => return Err(ApiError::not_found(format!("no token with id `{id}`"))),
        _ => {
            return Err(ApiError::bad_request(format!(
                "token id `{id}` is ambiguous; give more digits"
            )));
        }
    };
    let mut record: TokenRecord = serde_json::from_slice(&stored.value)
        .map_err(|e| ApiError::internal(format!("a stored token is unreadable: {e}")))?;
    record.info.revoked = true;
    let value = serde_json::to_vec(&record).map_err(|e| ApiError::internal(e.to_string()))?;
    if !kv
        .put(&key, value, Expect::Revision(stored.revision))
        .await?
    {
        return Err(ApiError::conflict("the token changed meanwhile; try again"));
    }
    Ok(record.info)
}

/// The caller the request's `Authorization` header names.
pub async fn caller<K: Kv>(kv: &K, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(Caller::anonymous());
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer TOKEN`"))?;
    if token.len() > 256 {
        return Err(ApiError::unauthorized("unknown token"));
    }
    let Some(stored) = kv.get(&format!("{PREFIX}{}", hash(token))).await? else {
        return Err(ApiError::unauthorized("unknown token"));
    };
    let record: TokenRecord = serde_json::from_slice(&stored.value)
        .map_err(|e| ApiError::internal(format!("a stored token is unreadable: {e}")))?;
    let info = record.info;
    if info.revoked {
        return Err(ApiError::unauthorized(format!(
            "token `{}` was revoked",
            info.id
        )));
    }
    if let Some(expires) = &info.expires_at
        && crate::time::parse_rfc3339(expires).is_some_and(|t| t <= crate::time::unix_now())
    {
        return Err(ApiError::unauthorized(format!(
            "token `{}` expired at {expires}",
            info.id
        )));
    }
    let level = Level::new(info.level)
        .ok_or_else(|| ApiError::internal("a stored token has a level out of range"))?;
    Ok(Caller {
        name: info.name,
        level,
    })
}
