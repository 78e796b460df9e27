//! Where output goes: results to stdout in the chosen format, status and
//! warnings to stderr (silenced by `-q`), colour only on a terminal and
//! never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::Table;
use super::format::OutputFormat;

/// Prints results and status for one command run.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// The format of results.
    pub format: OutputFormat,
    /// `-q`: no status lines, no progress.
    pub quiet: bool,
    /// `-v`: more status lines.
    pub verbose: bool,
    /// Whether stdout gets colour.
    pub color: bool,
    /// Whether stderr is a terminal (progress bars may be drawn).
    pub stderr_tty: bool,
}

impl Printer {
    /// A printer for the given flags, looking at the terminal and `NO_COLOR`.
    pub fn new(format: OutputFormat, quiet: bool, verbose: bool) -> Printer {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer {
            format,
            quiet,
            verbose,
            color: !no_color && std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// Writes result text to stdout. A closed pipe is not an error.
    pub fn out(&self, text: &str) -> anyhow::Result<()> {
        self.out_bytes(text.as_bytes())
    }

    /// Writes `bytes` to stdout exactly as they are (unit data, which may
    /// be binary); a closed pipe is not an error.
    pub fn out_bytes(&self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        }
    }

    /// Writes a status line to stderr unless `-q`.
    pub fn status(&self, line: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// Writes a detail line to stderr with `-v` only.
    pub fn detail(&self, line: &str) {
        if self.verbose {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// Writes a warning to stderr (even with `-q`).
    pub fn warn(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "warning: {line}");
    }

    /// Prints `value` as JSON or YAML, or `table` for the table format.
    pub fn result<T: Serialize + ?Sized>(
        &self,
        value: &T,
        table: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Table => self.out(&table()),
            OutputFormat::Json => {
                // Streamed: a large result (a key map) is not held as text.
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let written = serde_json::to_writer_pretty(&mut out, value)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                    .and_then(|()| out.flush());
                match written {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    other => Ok(other?),
                }
            }
            OutputFormat::Yaml => self.out(&serde_yaml::to_string(value)?),
        }
    }

    /// Prints the outcome of a command that changed something: `value` as
    /// JSON or YAML, or the one-line `text` summary (which `-q` silences).
    pub fn outcome<T: Serialize + ?Sized>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.format == OutputFormat::Table && self.quiet {
            return Ok(());
        }
        self.result(value, text)
    }

    /// Prints a table, or a note on stderr when it has no rows.
    pub fn table_text(&self, table: &Table, empty_note: &str) -> String {
        if table.is_empty() {
            self.status(empty_note);
            String::new()
        } else {
            table.render()
        }
    }

    /// Wraps `text` in an ANSI colour when colour is on.
    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
}
