//! One environment's part of a deployment, on a blocking thread: plan
//! (dry run) or load the package in one transaction through [`HubAccess`]
//! (a `pkg serve` hub over HTTP, or the server's own hub), and roll a load
//! back. The load records `deploy:<id> NAME@VERSION` as its source in the
//! hub's history, which is how a run taking over from a replica that died
//! finds an environment that was already applied and does not apply it
//! again.

use crate::deploy::Environment;
use crate::deploy::deployment::EnvCounts;
use crate::hub::history::{Action, Counts};
use crate::hub_access::HubAccess;
use crate::hub_access::remote::RemoteHub;
use crate::package::load::LoadOptions;
use crate::package::plan::{OnConflict, PlanCounts, PlanOptions};
use crate::package::read::Package;
use crate::package::remap::ExternalMode;
use crate::progress::NoProgress;
use crate::remote::{Remote, ServerClient};

/// What the history of a hub records for a deployment's load.
pub fn marker(deployment: &str, label: &str) -> String {
    format!("deploy:{deployment} {label}")
}

/// The load options of a deployment into `environment`.
pub fn options(environment: &Environment, on_conflict: OnConflict, marker: &str) -> LoadOptions {
    LoadOptions {
        plan: PlanOptions {
            prefix: environment.prefix.clone(),
            on_conflict,
            external: ExternalMode::Keep,
            strict: false,
        },
        source: marker.to_string(),
        commit: None,
        expect_plan: None,
    }
}

/// Clients by hub URL and token: building one loads the system's trust
/// store, which would cost more than a small deployment's whole apply.
/// Never dropped (a blocking client may not be dropped inside the async
/// runtime).
static CLIENTS: std::sync::OnceLock<
    std::sync::Mutex<std::collections::HashMap<String, ServerClient>>,
> = std::sync::OnceLock::new();

/// A client of `environment`'s hub sending `token` (shared by every
/// deployment to that hub with that token).
pub fn remote_hub(environment: &Environment, token: Option<String>) -> Result<RemoteHub, String> {
    let key = format!("{}\n{}", environment.url, token.as_deref().unwrap_or(""));
    let clients = CLIENTS.get_or_init(Default::default);
    if let Ok(cached) = clients.lock()
        && let Some(client) = cached.get(&key)
    {
        return Ok(RemoteHub::new(client.clone()));
    }
    let url = url::Url::parse(&environment.url).map_err(|e| format!("url: {e}"))?;
    let remote = Remote {
        name: environment.name.clone(),
        url,
        token_env: None,
    };
    let client = ServerClient::with_token(remote, token).map_err(|e| e.to_string())?;
    if let Ok(mut cached) = clients.lock() {
        cached.insert(key, client.clone());
    }
    Ok(RemoteHub::new(client))
}

fn from_load(c: &Counts) -> EnvCounts {
    EnvCounts {
        created: c.created,
        updated: c.updated + c.merged,
        unchanged: c.unchanged,
        skipped: c.skipped,
    }
}

fn from_plan(c: &PlanCounts) -> EnvCounts {
    EnvCounts {
        created: c.create,
        updated: c.update + c.merge,
        unchanged: c.unchanged,
        skipped: c.skip,
    }
}

/// Plans (`dry_run`) or loads `package` into `hub`. With `look_first`
/// (a try after one whose outcome is unknown), the hub's history is read
/// first: a load this deployment already made is answered, not repeated.
/// The history entry (none for a dry run) and the counts.
pub fn apply(
    hub: &mut dyn HubAccess,
    package: &Package,
    options: &LoadOptions,
    dry_run: bool,
    look_first: bool,
) -> Result<(Option<i64>, EnvCounts), String> {
    let text = |e: crate::hub_access::AccessError| crate::error_text::with_causes(&e);
    if look_first
        && !dry_run
        && let Some(done) = hub
            .history()
            .map_err(text)?
            .into_iter()
            .find(|h| h.action == Action::Load && h.source == options.source)
    {
        return Ok((Some(done.id), from_load(&done.counts)));
    }
    if dry_run {
        let plan = hub.plan(package, options, false).map_err(text)?;
        if let Some(refusal) = plan.refusal {
            return Err(refusal);
        }
        return Ok((None, from_plan(&plan.counts)));
    }
    let report = hub
        .load(package, options, None, false, &NoProgress)
        .map_err(text)?;
    Ok((Some(report.entry_id), from_load(&report.counts)))
}

/// Rolls back history entry `id` of `hub`: the rollback's history entry.
/// An entry already rolled back answers the rollback that undid it.
pub fn rollback(hub: &mut dyn HubAccess, id: i64) -> Result<i64, String> {
    let text = |e: crate::hub_access::AccessError| crate::error_text::with_causes(&e);
    if let Some(done) = hub
        .history()
        .map_err(text)?
        .into_iter()
        .find(|h| h.id == id)
        .and_then(|h| h.reverted_by)
    {
        return Ok(done);
    }
    hub.rollback(id, false).map(|r| r.history_id).map_err(text)
}
