//! Environments: those of the config file (`[[serve.environments]]`, read
//! only) and those added through the API, their tokens, and their health.
//! `GET /api/v1/environments` (level 2) probes every hub at once and shows
//! the last deployment into each; `POST` and `DELETE` (level 5, owner)
//! manage the API's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::{Extension, response::IntoResponse, response::Response};

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::extract;
use super::super::store::{Expect, Kv};
use super::records::{self, ENVIRONMENTS, LAST};
use crate::deploy::environment::LastDeployment;
use crate::deploy::{Environment, EnvironmentView};
use crate::registry::Level;

/// How long a health probe waits for a hub.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Every environment: the config file's, then the API's, each with where
/// it came from.
pub async fn all<K: Kv>(state: &AppState<K>) -> ApiResult<Vec<(Environment, &'static str)>> {
    let mut out: Vec<(Environment, &'static str)> = state
        .deploy
        .environments
        .iter()
        .map(|e| (e.clone(), "config"))
        .collect();
    for e in records::stored_environments(&state.kv).await? {
        if !out.iter().any(|(c, _)| c.name == e.name) {
            out.push((e, "api"));
        }
    }
    Ok(out)
}

/// The environment `name`.
pub async fn find<K: Kv>(state: &AppState<K>, name: &str) -> ApiResult<Option<Environment>> {
    Ok(all(state)
        .await?
        .into_iter()
        .find(|(e, _)| e.name == name)
        .map(|(e, _)| e))
}

/// The token `environment`'s hub takes, read on the server now.
pub fn token(
    environment: &Environment,
    secrets_dir: Option<&Path>,
) -> Result<Option<String>, String> {
    if let Some(var) = &environment.token_env {
        return match std::env::var(var) {
            Ok(value) if !value.trim().is_empty() => Ok(Some(value.trim().to_string())),
            _ => Err(format!(
                "environment `{}`: the server has no {var} set (its token_env)",
                environment.name
            )),
        };
    }
    if let Some(file) = &environment.token_file {
        let path = match secrets_dir {
            Some(dir) => dir.join(file),
            None if Path::new(file).is_absolute() => Path::new(file).to_path_buf(),
            None => {
                return Err(format!(
                    "environment `{}`: token_file `{file}` needs the server's --secrets-dir",
                    environment.name
                ));
            }
        };
        return std::fs::read_to_string(&path)
            .map(|t| Some(t.trim().to_string()))
            .map_err(|e| {
                format!(
                    "environment `{}`: cannot read its token file {}: {e}",
                    environment.name,
                    path.display()
                )
            });
    }
    Ok(None)
}

/// Whether `environment`'s hub answers `/readyz`, or why not.
fn probe(environment: &Environment) -> Result<(), String> {
    let url = format!("{}/readyz", environment.url.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    match client.get(&url).send() {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("{url} answered {}", r.status())),
        Err(e) => Err(format!("{url}: {}", crate::error_text::with_causes(&e))),
    }
}

/// `GET /api/v1/environments`.
pub async fn list<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<EnvironmentView>>> {
    caller.require(Level::USER, "reading environments")?;
    let environments = all(&state).await?;
    let probes: Vec<_> = environments
        .iter()
        .map(|(e, _)| {
            let e = e.clone();
            tokio::task::spawn_blocking(move || if e.is_self() { Ok(()) } else { probe(&e) })
        })
        .collect();
    let mut out = Vec::with_capacity(environments.len());
    for ((environment, origin), probe) in environments.into_iter().zip(probes) {
        let health = probe
            .await
            .unwrap_or_else(|e| Err(format!("the probe failed: {e}")));
        let last =
            records::get::<K, LastDeployment>(&state.kv, &format!("{LAST}{}", environment.name))
                .await?
                .map(|(l, _)| l);
        out.push(EnvironmentView {
            environment,
            origin: origin.to_string(),
            healthy: health.is_ok(),
            health: health.err().unwrap_or_else(|| "ok".into()),
            last_deployment: last,
        });
    }
    Ok(Json(out))
}

/// `POST /api/v1/environments`: adds one (201), or says why not.
pub async fn add<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(Level::OWNER, "adding an environment")?;
    let environment: Environment = extract::json(&body)?;
    environment
        .check_from_api()
        .map_err(ApiError::bad_request)?;
    if state
        .deploy
        .environments
        .iter()
        .any(|e| e.name == environment.name)
    {
        return Err(ApiError::conflict(format!(
            "environment `{}` is defined in the server's config file",
            environment.name
        )));
    }
    let key = format!("{ENVIRONMENTS}{}", environment.name);
    if !records::put(&state.kv, &key, &environment, Expect::Absent).await? {
        return Err(ApiError::conflict(format!(
            "environment `{}` exists; remove it first to change it",
            environment.name
        )));
    }
    Ok((StatusCode::CREATED, Json(environment)).into_response())
}

/// `DELETE /api/v1/environments/{name}`.
pub async fn remove<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Level::OWNER, "removing an environment")?;
    crate::model::slug::validate_slug(&name).map_err(|e| {
        ApiError::bad_request(format!(
            "environment `{}`: {e}",
            name.chars().take(64).collect::<String>()
        ))
    })?;
    if state.deploy.environments.iter().any(|e| e.name == name) {
        return Err(ApiError::conflict(format!(
            "environment `{name}` is defined in the server's config file; remove it there"
        )));
    }
    let shown: String = name.chars().take(64).collect();
    if !state
        .kv
        .delete(&format!("{ENVIRONMENTS}{name}"), Expect::Any)
        .await?
    {
        return Err(ApiError::not_found(format!("no environment `{shown}`")));
    }
    Ok(Json(serde_json::json!({ "removed": shown })))
}
