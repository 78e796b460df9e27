//! `pkg serve`'s settings. Each comes from, in order of precedence: the
//! command-line flag, the `PKG_SERVE_*` environment variable, `[serve]` in
//! the config file, then the default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::store::{StoreError, StoreUrl};
use crate::config::ServeSection;

/// The flags given on the command line (`None` when absent).
#[derive(Debug, Clone, Default)]
pub struct ServeFlags {
    /// `--addr`.
    pub addr: Option<String>,
    /// `--store`.
    pub store: Option<String>,
    /// `--blobs`.
    pub blobs: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: Option<String>,
    /// `--max-body` (bytes).
    pub max_body: Option<u64>,
    /// `--request-timeout` (seconds).
    pub request_timeout: Option<u64>,
    /// `--header-timeout` (seconds).
    pub header_timeout: Option<u64>,
    /// `--secrets-dir`.
    pub secrets_dir: Option<PathBuf>,
    /// `--job-lease` (seconds).
    pub job_lease: Option<u64>,
}

/// How logs are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Where state lives.
    pub store: StoreUrl,
    /// Where package blobs live.
    pub blobs: PathBuf,
    /// Log lines as text or JSON.
    pub log_format: LogFormat,
    /// The largest request body.
    pub max_body: u64,
    /// The longest a request may take (a slow client gets 408).
    pub request_timeout: Duration,
    /// The longest a client may take to send its headers.
    pub header_timeout: Duration,
    /// Where environment token files are read from.
    pub secrets_dir: Option<PathBuf>,
    /// How long a replica holds a job before another may take it over.
    pub job_lease: Duration,
    /// The environments of the config file (`[[serve.environments]]`).
    pub environments: Vec<crate::deploy::Environment>,
}

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The default body limit: 256 MiB.
pub const DEFAULT_MAX_BODY: u64 = 256 << 20;
/// The default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: u64 = 300;
/// The default header timeout.
pub const DEFAULT_HEADER_TIMEOUT: u64 = 10;
/// The default job lease, in seconds.
pub const DEFAULT_JOB_LEASE: u64 = 30;

/// Why the settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value does not parse.
    #[error("{setting} `{value}`: {reason}")]
    Bad {
        /// Which setting, named as where it came from.
        setting: String,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// The store URL is wrong.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No default location exists.
    #[error("{0}")]
    Missing(String),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Picks flag, then environment, then config, naming where the value came from.
fn pick(
    flag: Option<String>,
    flag_name: &str,
    var: &str,
    config: Option<String>,
    key: &str,
) -> Option<(String, String)> {
    flag.map(|v| (v, format!("--{flag_name}")))
        .or_else(|| env(var).map(|v| (v, var.to_string())))
        .or_else(|| config.map(|v| (v, format!("[serve] {key}"))))
}

fn number(picked: Option<(String, String)>, default: u64) -> Result<u64, SettingsError> {
    match picked {
        None => Ok(default),
        Some((value, setting)) => value.trim().parse::<u64>().map_err(|_| SettingsError::Bad {
            setting,
            value,
            reason: "must be a whole number".into(),
        }),
    }
}

/// The store alone (for `pkg serve token ...`): flag, `PKG_SERVE_STORE`,
/// `[serve] store`, then the default SQLite file.
pub fn resolve_store(
    flag: Option<String>,
    config: &ServeSection,
) -> Result<StoreUrl, SettingsError> {
    match pick(
        flag,
        "store",
        "PKG_SERVE_STORE",
        config.store.clone(),
        "store",
    ) {
        Some((text, _)) => Ok(StoreUrl::parse(&text)?),
        None => Ok(StoreUrl::Sqlite(
            dirs::data_dir()
                .map(|d| d.join("pkg").join("server.db"))
                .ok_or_else(|| {
                    SettingsError::Missing(
                        "no data directory for the default store; pass --store sqlite:PATH".into(),
                    )
                })?,
        )),
    }
}

impl ServeSettings {
    /// Resolves the settings from `flags`, the environment and `config`.
    pub fn resolve(
        flags: ServeFlags,
        config: &ServeSection,
    ) -> Result<ServeSettings, SettingsError> {
        let (addr_text, addr_from) = pick(
            flags.addr,
            "addr",
            "PKG_SERVE_ADDR",
            config.addr.clone(),
            "addr",
        )
        .unwrap_or_else(|| (DEFAULT_ADDR.to_string(), "the default".into()));
        let addr = addr_text
            .parse::<SocketAddr>()
            .map_err(|e| SettingsError::Bad {
                setting: addr_from,
                value: addr_text.clone(),
                reason: format!("{e} (expected HOST:PORT, e.g. 127.0.0.1:8080)"),
            })?;
        let store = resolve_store(flags.store, config)?;
        let blobs = match pick(
            flags.blobs.map(|p| p.display().to_string()),
            "blobs",
            "PKG_SERVE_BLOBS",
            config.blobs.as_ref().map(|p| p.display().to_string()),
            "blobs",
        ) {
            Some((text, _)) => PathBuf::from(text),
            None => match &store {
                StoreUrl::Sqlite(path) => {
                    let mut name = path.file_name().unwrap_or_default().to_os_string();
                    name.push(".blobs");
                    path.with_file_name(name)
                }
                StoreUrl::Etcd(_) => {
                    return Err(SettingsError::Missing(
                        "an etcd store needs --blobs DIR (or PKG_SERVE_BLOBS): a directory every replica shares".into(),
                    ));
                }
            },
        };
        let log_format = match pick(
            flags.log_format,
            "log-format",
            "PKG_SERVE_LOG_FORMAT",
            config.log_format.clone(),
            "log_format",
        ) {
            None => LogFormat::Text,
            Some((v, _)) if v == "text" => LogFormat::Text,
            Some((v, _)) if v == "json" => LogFormat::Json,
            Some((value, setting)) => {
                return Err(SettingsError::Bad {
                    setting,
                    value,
                    reason: "must be text or json".into(),
                });
            }
        };
        let as_text = |v: Option<u64>| v.map(|n| n.to_string());
        let max_body = number(
            pick(
                as_text(flags.max_body),
                "max-body",
                "PKG_SERVE_MAX_BODY",
                as_text(config.max_body),
                "max_body",
            ),
            DEFAULT_MAX_BODY,
        )?;
        let request_timeout = number(
            pick(
                as_text(flags.request_timeout),
                "request-timeout",
                "PKG_SERVE_REQUEST_TIMEOUT",
                as_text(config.request_timeout),
                "request_timeout",
            ),
            DEFAULT_REQUEST_TIMEOUT,
        )?;
        let header_timeout = number(
            pick(
                as_text(flags.header_timeout),
                "header-timeout",
                "PKG_SERVE_HEADER_TIMEOUT",
                as_text(config.header_timeout),
                "header_timeout",
            ),
            DEFAULT_HEADER_TIMEOUT,
        )?;
        let job_lease = number(
            pick(
                as_text(flags.job_lease),
                "job-lease",
                "PKG_SERVE_JOB_LEASE",
                as_text(config.job_lease),
                "job_lease",
            ),
            DEFAULT_JOB_LEASE,
        )?;
        let secrets_dir = pick(
            flags.secrets_dir.map(|p| p.display().to_string()),
            "secrets-dir",
            "PKG_SERVE_SECRETS_DIR",
            config.secrets_dir.as_ref().map(|p| p.display().to_string()),
            "secrets_dir",
        )
        .map(|(text, _)| PathBuf::from(text));
        let mut names = std::collections::BTreeSet::new();
        for environment in &config.environments {
            environment.check().map_err(|reason| SettingsError::Bad {
                setting: "[[serve.environments]]".into(),
                value: environment.name.clone(),
                reason,
            })?;
            if !names.insert(environment.name.clone()) {
                return Err(SettingsError::Bad {
                    setting: "[[serve.environments]]".into(),
                    value: environment.name.clone(),
                    reason: "is named twice".into(),
                });
            }
        }
        Ok(ServeSettings {
            addr,
            store,
            blobs,
            log_format,
            max_body,
            request_timeout: Duration::from_secs(request_timeout.max(1)),
            header_timeout: Duration::from_secs(header_timeout.max(1)),
            secrets_dir,
            job_lease: Duration::from_secs(job_lease.clamp(1, 3600)),
            environments: config.environments.clone(),
        })
    }
}
