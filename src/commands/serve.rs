//! `pkg serve`: run the shared registry server, and `pkg serve token ...`:
//! manage its tokens straight in its store. Owns [`ServeArgs`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::Context;
use crate::registry::Level;
use crate::registry::types::TokenInfo;
use crate::server::settings::{ServeFlags, ServeSettings, resolve_store};
use crate::server::tokens;
use crate::ui::Table;

/// `pkg serve`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    /// Token management.
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// Where to listen [env: PKG_SERVE_ADDR] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Where state lives: sqlite:PATH or etcd:HOST:PORT[,HOST:PORT...] [env: PKG_SERVE_STORE] [default: sqlite:~/.local/share/pkg/server.db]
    #[arg(long, value_name = "STORE")]
    pub store: Option<String>,
    /// The package blob directory (shared by every replica on etcd) [env: PKG_SERVE_BLOBS] [default: beside the SQLite file]
    #[arg(long, value_name = "DIR")]
    pub blobs: Option<PathBuf>,
    /// Log lines as text or json, on stderr [env: PKG_SERVE_LOG_FORMAT] [default: text]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// The largest request body in bytes (413 above it) [env: PKG_SERVE_MAX_BODY] [default: 268435456]
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<u64>,
    /// Seconds a whole request may take (408 after) [env: PKG_SERVE_REQUEST_TIMEOUT] [default: 300]
    #[arg(long, value_name = "SECONDS")]
    pub request_timeout: Option<u64>,
    /// Seconds a client may take to send its request headers [env: PKG_SERVE_HEADER_TIMEOUT] [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Directory of environment token files (`token_file` of an environment) [env: PKG_SERVE_SECRETS_DIR]
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<std::path::PathBuf>,
    /// Seconds a replica holds a deployment job before another may take it over [env: PKG_SERVE_JOB_LEASE] [default: 30]
    #[arg(long, value_name = "SECONDS")]
    pub job_lease: Option<u64>,
}

/// `pkg serve token ...`.
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Manage the server's bearer tokens (works with or without a running server)
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `pkg serve token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is stored)
    Create {
        /// Who the token is for
        #[arg(long)]
        name: String,
        /// 1 public, 2 user, 3 moderator, 4 admin, 5 owner, 6 superadmin
        #[arg(long, value_parser = Level::parse)]
        level: Level,
        /// Expire after this many days
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
        expires: Option<u32>,
        /// The server's store [env: PKG_SERVE_STORE]
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
    },
    /// List tokens (never the tokens themselves)
    List {
        /// The server's store [env: PKG_SERVE_STORE]
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
    },
    /// Revoke a token by id (from `token list`)
    Revoke {
        /// The token's id
        id: String,
        /// The server's store [env: PKG_SERVE_STORE]
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
    },
}

/// `pkg serve`.
pub fn run(ctx: &Context, args: &ServeArgs) -> Result<()> {
    let config = crate::config::load()?;
    if let Some(ServeCommand::Token(cmd)) = &args.command {
        return token(ctx, cmd, &config.serve);
    }
    let flags = ServeFlags {
        addr: args.addr.clone(),
        store: args.store.clone(),
        blobs: args.blobs.clone(),
        log_format: args.log_format.clone(),
        max_body: args.max_body,
        request_timeout: args.request_timeout,
        header_timeout: args.header_timeout,
        secrets_dir: args.secrets_dir.clone(),
        job_lease: args.job_lease,
    };
    let settings = ServeSettings::resolve(flags, &config.serve)?;
    let quiet = ctx.printer.quiet;
    crate::server::run(settings, |addr| {
        if !quiet {
            let mut err = std::io::stderr();
            let _ = writeln!(err, "pkg serve: listening on http://{addr}");
        }
    })
    .context("pkg serve failed")?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct CreatedView<'a> {
    token: &'a str,
    #[serde(flatten)]
    info: &'a TokenInfo,
}

fn token(ctx: &Context, cmd: &TokenCommand, config: &crate::config::ServeSection) -> Result<()> {
    match cmd {
        TokenCommand::Create {
            name,
            level,
            expires,
            store,
        } => {
            let store = resolve_store(store.clone(), config)?;
            let (token, info) = tokens::create(&store, name, *level, *expires)?;
            ctx.printer.result(
                &CreatedView {
                    token: &token,
                    info: &info,
                },
                || format!("{token}\n"),
            )?;
            ctx.printer.status(&format!(
                "Created token {} for `{}` at level {}{}; it is shown only once",
                info.id,
                info.name,
                level,
                info.expires_at
                    .as_deref()
                    .map(|e| format!(", expiring {e}"))
                    .unwrap_or_default()
            ));
            Ok(())
        }
        TokenCommand::List { store } => {
            let store = resolve_store(store.clone(), config)?;
            let list = tokens::list(&store)?;
            ctx.printer.result(&list, || {
                let mut table =
                    Table::new(["ID", "NAME", "LEVEL", "CREATED", "EXPIRES", "REVOKED"]);
                for t in &list {
                    table.row([
                        t.id.clone(),
                        t.name.clone(),
                        t.level.to_string(),
                        t.created_at.clone(),
                        t.expires_at.clone().unwrap_or_else(|| "never".into()),
                        if t.revoked { "yes" } else { "no" }.to_string(),
                    ]);
                }
                ctx.printer.table_text(&table, "No tokens")
            })
        }
        TokenCommand::Revoke { id, store } => {
            let store = resolve_store(store.clone(), config)?;
            let info = tokens::revoke(&store, id)?;
            ctx.printer.outcome(&info, || {
                format!("Revoked token {} (`{}`)\n", info.id, info.name)
            })
        }
    }
}
