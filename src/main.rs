//! The `pkg` binary: parse the command line, run the command, print any error
//! with its causes to stderr and exit non-zero.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// Large transient buffers (a 50 MB manifest, per-kind vectors of 100,000
/// entries) must go back to the system when freed, so that peak memory is the
/// live data and not glibc's high-water mark: fix the mmap threshold (glibc
/// otherwise raises it after the first large free) and keep two arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_MMAP_THRESHOLD: i32 = -3;
    const M_ARENA_MAX: i32 = -8;
    // SAFETY: mallopt only adjusts glibc malloc parameters; it is called
    // before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        mallopt(M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = pkg::cli::Cli::parse();
    match pkg::cli::run(cli) {
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
