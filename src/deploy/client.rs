//! The CLI's side of deployments: typed calls to a registry server's
//! environments, deployments and jobs, and waiting for a deployment or a
//! job to end while reporting each change.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::Body;

use super::{
    DeployRequest, Deployment, Environment, EnvironmentView, Job, Queued, RollbackRequest,
};
use crate::remote::client::segment;
use crate::remote::{RemoteError, ServerClient};

/// How often a wait asks the server: at first every 25 ms (a small
/// deployment ends within a few), then less often, up to every 250 ms.
const FIRST_POLL: Duration = Duration::from_millis(25);
const POLL: Duration = Duration::from_millis(250);

/// A registry server's deployment API.
pub struct DeployClient {
    client: ServerClient,
}

fn json_body<T: serde::Serialize>(value: &T) -> Result<Option<(&'static str, Body)>, RemoteError> {
    let bytes = serde_json::to_vec(value).map_err(|e| RemoteError::Config(e.to_string()))?;
    Ok(Some(("application/json", Body::from(bytes))))
}

/// Appends `key=value` pairs that are set to `path` as a query string.
fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (key, value) in pairs {
        if let Some(value) = value {
            query.append_pair(key, value);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", query.finish())
    } else {
        path.to_string()
    }
}

impl DeployClient {
    /// Talks to the server `client` talks to.
    pub fn new(client: ServerClient) -> DeployClient {
        DeployClient { client }
    }

    /// `GET /api/v1/environments`.
    pub fn environments(&self) -> Result<Vec<EnvironmentView>, RemoteError> {
        self.client
            .call_json(Method::GET, "api/v1/environments", None, &[])
    }

    /// `POST /api/v1/environments`.
    pub fn add_environment(&self, environment: &Environment) -> Result<Environment, RemoteError> {
        self.client.call_json(
            Method::POST,
            "api/v1/environments",
            json_body(environment)?,
            &[],
        )
    }

    /// `DELETE /api/v1/environments/{name}`.
    pub fn remove_environment(&self, name: &str) -> Result<serde_json::Value, RemoteError> {
        self.client.call_json(
            Method::DELETE,
            &format!("api/v1/environments/{}", segment(name)),
            None,
            &[],
        )
    }

    /// `POST /api/v1/deployments`.
    pub fn deploy(&self, request: &DeployRequest) -> Result<Queued, RemoteError> {
        self.client
            .call_json(Method::POST, "api/v1/deployments", json_body(request)?, &[])
    }

    /// `GET /api/v1/deployments?env=&status=&package=&limit=`.
    pub fn deployments(
        &self,
        env: Option<&str>,
        status: Option<&str>,
        package: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Deployment>, RemoteError> {
        let limit = limit.map(|l| l.to_string());
        let path = with_query(
            "api/v1/deployments",
            &[
                ("env", env),
                ("status", status),
                ("package", package),
                ("limit", limit.as_deref()),
            ],
        );
        self.client.call_json(Method::GET, &path, None, &[])
    }

    /// `GET /api/v1/deployments/{id}`.
    pub fn deployment(&self, id: &str) -> Result<Deployment, RemoteError> {
        self.client.call_json(
            Method::GET,
            &format!("api/v1/deployments/{}", segment(id)),
            None,
            &[],
        )
    }

    /// `POST /api/v1/deployments/{id}/rollback`.
    pub fn rollback(&self, id: &str, force: bool) -> Result<Queued, RemoteError> {
        self.client.call_json(
            Method::POST,
            &format!("api/v1/deployments/{}/rollback", segment(id)),
            json_body(&RollbackRequest { force })?,
            &[],
        )
    }

    /// `GET /api/v1/jobs?status=&limit=`.
    pub fn jobs(
        &self,
        status: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Job>, RemoteError> {
        let limit = limit.map(|l| l.to_string());
        let path = with_query(
            "api/v1/jobs",
            &[("status", status), ("limit", limit.as_deref())],
        );
        self.client.call_json(Method::GET, &path, None, &[])
    }

    /// `GET /api/v1/jobs/{id}`.
    pub fn job(&self, id: &str) -> Result<Job, RemoteError> {
        self.client.call_json(
            Method::GET,
            &format!("api/v1/jobs/{}", segment(id)),
            None,
            &[],
        )
    }

    /// `POST /api/v1/jobs/{id}/cancel`.
    pub fn cancel(&self, id: &str) -> Result<Job, RemoteError> {
        self.client.call_json(
            Method::POST,
            &format!("api/v1/jobs/{}/cancel", segment(id)),
            None,
            &[],
        )
    }

    /// Waits until job `id` has ended (at most `timeout`), calling
    /// `changed` with the job and its deployment whenever either changes.
    /// `None` when the time ran out.
    pub fn wait(
        &self,
        id: &str,
        timeout: Option<Duration>,
        changed: &mut dyn FnMut(&Job, &Deployment),
    ) -> Result<Option<(Job, Deployment)>, RemoteError> {
        let started = Instant::now();
        let mut last: Option<(Job, Deployment)> = None;
        let mut pause = FIRST_POLL;
        loop {
            let job = self.job(id)?;
            let deployment = self.deployment(&job.deployment)?;
            if last
                .as_ref()
                .is_none_or(|(j, d)| *j != job || *d != deployment)
            {
                changed(&job, &deployment);
            }
            // The run writes the deployment's end before the job's.
            if job.status.is_final() {
                return Ok(Some((job, deployment)));
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                return Ok(None);
            }
            last = Some((job, deployment));
            std::thread::sleep(pause);
            pause = (pause * 2).min(POLL);
        }
    }
}
