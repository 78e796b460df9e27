//! Fuzz target `archive_zip`: see `pkg::fuzz_entry::archive_zip` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::archive_zip(data);
});
