//! The `pkg` binary: parse the command line, run the command, print any error
//! with its causes to stderr and exit non-zero.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pkg::cli::Cli::parse();
    match pkg::commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {error}");
            for cause in error.chain().skip(1) {
                let _ = writeln!(stderr, "  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}
