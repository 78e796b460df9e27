//! Errors of the environment backends, typed so that commands and tests
//! can tell a missing binary from a bad manifest from a failed tool run.

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong driving an environment.
#[derive(Debug, Error)]
pub enum BackendError {
    /// The directory holds no environment pkg recognises.
    #[error("`{}` is not an environment: {reason}", .dir.display())]
    NotAnEnvironment {
        /// The directory.
        dir: PathBuf,
        /// Why (what was looked for).
        reason: String,
    },
    /// A backend name that is neither `uv` nor `pixi`.
    #[error("unknown backend `{0}`; pkg drives `uv` and `pixi`")]
    UnknownBackend(String),
    /// The manifest cannot be read or parsed.
    #[error("`{}`: {reason}", .path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong (with line and column for TOML syntax errors).
        reason: String,
    },
    /// A package specifier pkg refuses before running the tool.
    #[error("`{spec}` is not a valid package specifier: {reason}")]
    InvalidSpec {
        /// The specifier.
        spec: String,
        /// Why.
        reason: String,
    },
    /// The tool's binary cannot be found or run.
    #[error("{tool} is not installed (looked for `{looked_for}`): {hint}")]
    MissingBinary {
        /// `uv` or `pixi`.
        tool: &'static str,
        /// The path or name looked for.
        looked_for: String,
        /// How to install it or point pkg at it.
        hint: String,
    },
    /// The tool ran and failed.
    #[error("`{command}` failed ({status}){}", last_lines(.output))]
    ToolFailed {
        /// The command line, for people.
        command: String,
        /// The exit status.
        status: String,
        /// The tool's last lines of output.
        output: Vec<String>,
    },
    /// The tool ran longer than allowed and was stopped.
    #[error("`{command}` did not finish within {seconds} s and was stopped (set PKG_ENV_TIMEOUT to allow longer){}", last_lines(.output))]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        seconds: u64,
        /// The tool's last lines of output.
        output: Vec<String>,
    },
    /// Ctrl-C stopped the tool.
    #[error("`{command}` was interrupted")]
    Interrupted {
        /// The command line.
        command: String,
    },
    /// The tool's output is not what pkg expects.
    #[error("`{command}` printed output pkg cannot read: {reason}")]
    BadOutput {
        /// The command line.
        command: String,
        /// Why.
        reason: String,
    },
    /// The config file is unusable.
    #[error("config file `{}`: {reason}", .path.display())]
    BadConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file operation failed.
    #[error("{action} `{}`: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn last_lines(output: &[String]) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(
            "; its last lines:\n{}",
            output
                .iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}
