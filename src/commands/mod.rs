//! The commands: one file per command family. Each family owns the clap
//! definitions of its commands (their `Args` structs, subcommand enums and
//! value enums) beside the code that runs them; the top-level parser in
//! src/cli.rs lists them and dispatches to them. Each command reads its
//! arguments, calls the library and renders the result through
//! [`crate::ui::Printer`]. This file holds the shared [`Context`].
//! Commands never import the parser: the layers read top-down.

pub mod completions;
pub mod create;
pub mod db;
pub mod deploy;
pub mod env;
pub mod history;
pub mod inspect;
pub mod load;
pub mod lock;
pub mod pack;
pub mod publish;
pub mod push;
pub mod remote;
pub mod resource;
pub mod search;
pub mod serve;
pub mod sign;
pub mod source;
pub mod sources;
pub mod sync;
pub mod validate;
pub mod versions;

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::hub::Hub;
use crate::hub_access::HubAccess;
use crate::hub_access::local::LocalHub;
use crate::hub_access::remote::RemoteHub;
use crate::remote::{ServerClient, remotes};
use crate::ui::Printer;
use crate::ui::progress::Bar;

/// What every command needs: the printer and where the hub is.
pub struct Context {
    /// Output.
    pub printer: Printer,
    /// `--hub` / `$PKG_HUB`, if given.
    pub hub_path: Option<PathBuf>,
    /// `--offline`: no network.
    pub offline: bool,
    /// `--plain-http` / `PKG_OCI_INSECURE=1`: plain HTTP to OCI registries
    /// on loopback.
    pub plain_http: bool,
    /// `--remote NAME`: drive that server's hub instead of the local one.
    pub remote: Option<String>,
}

impl Context {
    /// Opens (creating on first use) the hub.
    pub fn open_hub(&self) -> Result<Hub> {
        let path = match &self.hub_path {
            Some(p) => p.clone(),
            None => Hub::default_path().context(
                "cannot find a data directory for the hub; pass --hub PATH or set PKG_HUB",
            )?,
        };
        Ok(Hub::open(&path)?)
    }

    /// The hub the command drives: the server's with `--remote NAME`,
    /// else the local one.
    pub fn hub_access(&self) -> Result<Box<dyn HubAccess>> {
        match &self.remote {
            Some(name) => {
                let client = ServerClient::new(remotes::get(name)?)?;
                Ok(Box::new(RemoteHub::new(client)))
            }
            None => Ok(Box::new(LocalHub::new(self.open_hub()?))),
        }
    }

    /// Refuses `--remote` for a command that works on the local hub only.
    pub fn local_only(&self, command: &str, instead: &str) -> Result<()> {
        if let Some(name) = &self.remote {
            anyhow::bail!(
                "`pkg {command}` works on the local hub only, not on remote `{name}`; {instead}"
            );
        }
        Ok(())
    }

    /// A progress reporter: a bar on a terminal, nothing otherwise or with `-q`.
    pub fn progress(&self) -> Bar {
        Bar::new(
            self.printer.stderr_tty && !self.printer.quiet,
            self.printer.verbose,
        )
    }
}
