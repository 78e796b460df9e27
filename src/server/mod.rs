//! `pkg serve`: one tokio + axum process that is a shared package registry
//! (and, later, a hub) for a team. State lives behind the [`store::Kv`]
//! trait, SQLite on one machine or etcd for several replicas; package
//! blobs are content-addressed files ([`blobs`]).
//!
//! The CLI stays synchronous: [`run`] builds the runtime and blocks until
//! the server has shut down; [`tokens`] does the same for token
//! management against a store directly.
//!
//! Layout: `settings` (flags > env > config), `listener` (accept loop,
//! graceful shutdown), `observe` (request ids, caller, metrics, audit, JSON
//! errors), `auth` (tokens, levels), `registry` (the package API), `admin`
//! (tokens, audit, version), `ops` (health, readiness, metrics).

pub mod admin;
pub mod auth;
pub mod blobs;
pub mod cache;
pub mod deploy;
pub mod error;
pub mod events;
pub mod extract;
pub mod hub;
pub mod listener;
pub mod metrics;
pub mod observe;
pub mod ops;
pub mod registry;
pub mod settings;
pub mod store;
pub mod tokens;
pub mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;

use self::blobs::Blobs;
use self::events::Events;
use self::metrics::{Metrics, Timed};
use self::settings::{LogFormat, ServeSettings};
use self::store::etcd::EtcdKv;
use self::store::sqlite::SqliteKv;
use self::store::{Kv, StoreUrl};

/// What every handler shares.
pub struct AppState<K> {
    /// The store.
    pub kv: K,
    /// The blob directory.
    pub blobs: Blobs,
    /// The download-event queue.
    pub events: Events,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The hub.
    pub hub: hub::HubHost,
    /// Recently read packages and blobs.
    pub cache: Arc<cache::ReadCache>,
    /// Uploads plans keep for their applies.
    pub staging: hub::staging::Staging,
    /// Permits to read a hub transfer in memory: one per core, so that
    /// concurrent uploads queue instead of all inflating at once.
    pub transfers: tokio::sync::Semaphore,
    /// Environments, the job lease and the worker's wake-up.
    pub deploy: deploy::DeployContext,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The settings are unusable.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A local resource failed.
    #[error("{0}")]
    Io(String),
}

/// The whole API.
pub fn router<K: Kv>(state: Arc<AppState<K>>, settings: &ServeSettings) -> Router {
    let max_body = usize::try_from(settings.max_body).unwrap_or(usize::MAX);
    Router::new()
        .merge(registry::routes::<K>())
        .merge(admin::routes::<K>())
        .merge(ops::routes::<K>())
        .merge(hub::api::routes::<K>())
        .merge(deploy::routes::<K>())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe::<K>,
        ))
        .with_state(state)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PKG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        );
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("cannot start the async runtime: {e}")))
}

/// Runs the server until SIGTERM or SIGINT, then finishes in-flight
/// requests and returns. `ready` is called with the bound address.
pub fn run(
    settings: ServeSettings,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    init_logging(settings.log_format);
    let blobs = Blobs::open(&settings.blobs).map_err(|e| {
        ServeError::Io(format!(
            "cannot use the blob directory {}: {e}",
            settings.blobs.display()
        ))
    })?;
    let runtime = runtime()?;
    let served = runtime.block_on(async move {
        match &settings.store {
            StoreUrl::Sqlite(path) => {
                let kv = SqliteKv::open(path)?;
                let hub = hub::sqlite::SqliteHub::open(path).map_err(ServeError::Io)?;
                serve_with(kv, hub::HubHost::Sqlite(hub), blobs, &settings, ready).await
            }
            StoreUrl::Etcd(endpoints) => {
                let kv = EtcdKv::connect(endpoints).await?;
                let hub = hub::etcd::EtcdHub::new(kv.client().clone(), blobs.clone());
                let host = hub::HubHost::Etcd(Box::new(hub));
                serve_with(kv, host, blobs, &settings, ready).await
            }
        }
    });
    // A deployment's request to a hub that does not answer may still
    // hold a blocking thread: its job went back to the queue; do not wait
    // for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    served
}

/// Drops cached packages that another replica changed, for as long as
/// the store reports changes (etcd); a broken feed clears the cache and is
/// opened again.
async fn follow_changes<K: Kv>(kv: K, cache: Arc<cache::ReadCache>) {
    loop {
        match kv.watch("registry/").await {
            Ok(None) => return,
            Ok(Some(mut changes)) => {
                while let Some(key) = changes.recv().await {
                    if let Some(name) = cache::package_of_key(&key) {
                        cache.invalidate(name);
                    }
                }
                cache.clear();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the store for changes");
                cache.clear();
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

async fn serve_with<K: Kv>(
    kv: K,
    hub: hub::HubHost,
    blobs: Blobs,
    settings: &ServeSettings,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let metrics = Arc::new(Metrics::new());
    let kv = Timed::new(kv, metrics.clone());
    kv.ping().await?;
    let cache = Arc::new(cache::ReadCache::new());
    let (events, writer) = Events::start(kv.clone(), metrics.clone());
    tokio::spawn(follow_changes(kv.clone(), cache.clone()));
    let state = Arc::new(AppState {
        kv,
        blobs,
        events,
        metrics,
        hub,
        cache,
        staging: hub::staging::Staging::default(),
        transfers: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        deploy: deploy::DeployContext::new(
            settings.environments.clone(),
            settings.secrets_dir.clone(),
            settings.job_lease,
        ),
    });
    let (stop_worker, stopping) = tokio::sync::watch::channel(false);
    let mut worker = tokio::spawn(deploy::worker::work(state.clone(), stopping));
    let app = router(state, settings);
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|e| ServeError::Io(format!("cannot listen on {}: {e}", settings.addr)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    tracing::info!(addr = %bound, store = %settings.store, "listening");
    ready(bound);
    listener::serve(
        listener,
        app,
        settings.header_timeout,
        listener::shutdown_signal(),
    )
    .await;
    // The job worker holds the state too: stop it; the jobs it runs go
    // back to the queue (or, if that takes too long, are taken over once
    // their leases run out).
    let _ = stop_worker.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(10), &mut worker)
        .await
        .is_err()
    {
        worker.abort();
        let _ = worker.await;
    }
    // The router (and its state, and the last event sender) is gone: the
    // event writer flushes what is queued and ends.
    let _ = writer.await;
    tracing::info!("stopped");
    Ok(())
}
