//! `pkg completions SHELL` and `pkg man`: generated from the clap definitions.

use anyhow::Result;
use clap::CommandFactory;

use super::Context;
use crate::cli::{Cli, ShellArg};

/// Prints completions for `shell`.
pub fn completions(ctx: &Context, shell: ShellArg) -> Result<()> {
    let shell = match shell {
        ShellArg::Bash => clap_complete::Shell::Bash,
        ShellArg::Zsh => clap_complete::Shell::Zsh,
        ShellArg::Fish => clap_complete::Shell::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pkg", &mut buf);
    ctx.printer.out(&String::from_utf8_lossy(&buf))
}

/// Prints the man page (roff).
pub fn man(ctx: &Context) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    ctx.printer.out(&String::from_utf8_lossy(&buf))
}
