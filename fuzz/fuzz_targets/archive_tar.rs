//! Fuzz target `archive_tar`: see `pkg::fuzz_entry::archive_tar` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::archive_tar(data);
});
