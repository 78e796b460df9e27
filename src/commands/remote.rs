//! `pkg remote add|list|remove|login`: the `pkg serve` servers the CLI
//! talks to. Owns [`RemoteCommand`].

use std::io::BufRead;

use anyhow::{Result, bail};
use clap::Subcommand;
use serde::Serialize;

use super::Context;
use crate::remote::{ServerClient, remotes};
use crate::ui::Table;

/// `pkg remote ...`.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Add (or replace) a remote in the config file
    Add {
        /// The remote's name
        name: String,
        /// The server's base URL, e.g. `https://pkg.example.com`
        url: String,
        /// Read the token from this environment variable (else from `pkg remote login`)
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
    },
    /// List remotes, whether each answers, and its server version
    List,
    /// Remove a remote and its stored token
    Remove {
        /// The remote's name
        name: String,
    },
    /// Store a token for a remote in the credentials file (mode 0600); reads it from stdin
    Login {
        /// The remote's name
        name: String,
        /// The token (prefer stdin: command lines are visible to other users)
        #[arg(long)]
        token: Option<String>,
    },
}

#[derive(Debug, Serialize)]
struct RemoteView {
    name: String,
    url: String,
    token: String,
    reachable: bool,
    server_version: Option<String>,
    store: Option<String>,
    error: Option<String>,
}

/// `pkg remote ...`.
pub fn run(ctx: &Context, cmd: &RemoteCommand) -> Result<()> {
    match cmd {
        RemoteCommand::Add {
            name,
            url,
            token_env,
        } => {
            let remote = remotes::add(name, url, token_env.as_deref())?;
            ctx.printer
                .status(&format!("Added remote `{}` at {}", remote.name, remote.url));
            Ok(())
        }
        RemoteCommand::Remove { name } => {
            remotes::remove(name)?;
            ctx.printer.status(&format!("Removed remote `{name}`"));
            Ok(())
        }
        RemoteCommand::Login { name, token } => {
            let token = match token {
                Some(t) => t.clone(),
                None => {
                    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                        eprintln!("Paste the token for `{name}` and press Enter:");
                    }
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line
                }
            };
            if token.trim().is_empty() {
                bail!("no token given: pipe it on stdin or pass --token");
            }
            let path = remotes::login(name, &token)?;
            ctx.printer.status(&format!(
                "Stored the token for `{name}` in {} (mode 0600)",
                path.display()
            ));
            Ok(())
        }
        RemoteCommand::List => {
            let views: Vec<RemoteView> = remotes::list()?
                .into_iter()
                .map(|remote| {
                    let token = match (&remote.token_env, remotes::token(&remote)) {
                        (Some(var), _) => format!("env:{var}"),
                        (None, Ok(Some(_))) => "stored".into(),
                        _ => "none".into(),
                    };
                    let answer = ServerClient::new(remote.clone()).and_then(|c| c.server_info());
                    let (reachable, server_version, store, error) = match answer {
                        Ok(info) => (true, Some(info.version), Some(info.store), None),
                        Err(e) => (false, None, None, Some(e.to_string())),
                    };
                    RemoteView {
                        name: remote.name,
                        url: remote.url.to_string(),
                        token,
                        reachable,
                        server_version,
                        store,
                        error,
                    }
                })
                .collect();
            ctx.printer.result(&views, || {
                let mut table = Table::new(["NAME", "URL", "TOKEN", "STATUS", "VERSION"]);
                for v in &views {
                    table.row([
                        v.name.clone(),
                        v.url.clone(),
                        v.token.clone(),
                        if v.reachable {
                            "reachable".into()
                        } else {
                            "unreachable".to_string()
                        },
                        v.server_version.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
                ctx.printer
                    .table_text(&table, "No remotes; add one with `pkg remote add NAME URL`")
            })?;
            for v in views.iter().filter(|v| !v.reachable) {
                ctx.printer.detail(&format!(
                    "{}: {}",
                    v.name,
                    v.error.as_deref().unwrap_or_default()
                ));
            }
            Ok(())
        }
    }
}
