//! The commands: one file per command family. Each family owns the clap
//! definitions of its commands (their `Args` structs, subcommand enums and
//! value enums) beside the code that runs them; `crate::cli::Command`
//! refers to them. Each command reads its arguments, calls the library and
//! renders the result through [`crate::ui::Printer`]. This file holds the
//! shared [`Context`]; `crate::cli::run` dispatches to the commands, which
//! never import `cli`.

pub mod completions;
pub mod create;
pub mod env;
pub mod history;
pub mod inspect;
pub mod load;
pub mod lock;
pub mod pack;
pub mod publish;
pub mod remote;
pub mod resource;
pub mod search;
pub mod serve;
pub mod source;
pub mod validate;
pub mod versions;

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::hub::Hub;
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

    /// A progress reporter: a bar on a terminal, nothing otherwise or with `-q`.
    pub fn progress(&self) -> Bar {
        Bar::new(
            self.printer.stderr_tty && !self.printer.quiet,
            self.printer.verbose,
        )
    }
}
