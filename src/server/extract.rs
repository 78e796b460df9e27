//! Reading requests with errors the API's way (JSON, 400): path
//! parameters checked against the name and version rules, query strings
//! and JSON bodies.

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::registry::names::{check_name, check_version};

/// Checks a package name from the path.
pub fn name(raw: &str) -> Result<String, ApiError> {
    check_name(raw).map_err(ApiError::bad_request)?;
    Ok(raw.to_string())
}

/// Checks a version from the path.
pub fn version(raw: &str) -> Result<String, ApiError> {
    check_version(raw).map_err(ApiError::bad_request)?;
    Ok(raw.to_string())
}

/// Parses a query string (absent is empty).
pub fn query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("bad query string: {e}")))
}

/// Parses a JSON body.
pub fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    // serde would read a struct from an array too: insist on an object.
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!("the body is not valid JSON for this request: {e}"))
    })
}

/// `limit` and `offset` of a listing: limit 1-1000 (default 100).
pub fn page(limit: Option<usize>, offset: Option<usize>) -> Result<(usize, usize), ApiError> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1-1000"));
    }
    Ok((limit, offset.unwrap_or(0)))
}
