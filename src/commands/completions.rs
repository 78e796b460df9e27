//! `pkg completions SHELL` and `pkg man`: generated from the clap definitions.
//! Owns their arguments: [`CompletionsArgs`] and [`ShellArg`].

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::Context;

/// `pkg completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: ShellArg,
}

/// Shells `pkg completions` can write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// GNU bash
    Bash,
    /// Z shell
    Zsh,
    /// fish
    Fish,
}

/// Prints completions for `shell`.
/// `cli` is the whole command line's definition.
pub fn completions(ctx: &Context, shell: ShellArg, mut cli: clap::Command) -> Result<()> {
    let shell = match shell {
        ShellArg::Bash => clap_complete::Shell::Bash,
        ShellArg::Zsh => clap_complete::Shell::Zsh,
        ShellArg::Fish => clap_complete::Shell::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli, "pkg", &mut buf);
    ctx.printer.out(&String::from_utf8_lossy(&buf))
}

/// Prints the man page (roff).
pub fn man(ctx: &Context, cli: clap::Command) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cli).render(&mut buf)?;
    ctx.printer.out(&String::from_utf8_lossy(&buf))
}
