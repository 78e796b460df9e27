//! Hub errors as API answers: a missing resource 404, a conflict 409, a
//! stale `If-Match` 412, bad content 400; only the store's own failures 5xx.

use axum::http::StatusCode;

use super::super::error::ApiError;
use crate::hub::HubError;
use crate::hub_access::AccessError;
use crate::package::PackageError;

fn hub_status(h: &HubError) -> StatusCode {
    match h {
        HubError::NotFound(_) | HubError::NoSuchEntry(_) => StatusCode::NOT_FOUND,
        HubError::Stale(_) => StatusCode::PRECONDITION_FAILED,
        HubError::AlreadyExists(_)
        | HubError::InUse { .. }
        | HubError::NotReversible { .. }
        | HubError::ChangedSince { .. } => StatusCode::CONFLICT,
        HubError::DanglingReference { .. } | HubError::InvalidContent { .. } => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The answer for `e`.
pub fn api_error(e: AccessError) -> ApiError {
    let message = e.to_string();
    let status = match &e {
        AccessError::Hub(h) => hub_status(h),
        AccessError::Package(p) => match p {
            PackageError::Conflicts(_)
            | PackageError::MergeConflicts(_)
            | PackageError::PlanChanged { .. } => StatusCode::CONFLICT,
            PackageError::Hub(h) => hub_status(h),
            PackageError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        },
        AccessError::Where(_) | AccessError::Change(_) => StatusCode::BAD_REQUEST,
        AccessError::Remote(_) => StatusCode::BAD_GATEWAY,
    };
    ApiError::new(status, message)
}
