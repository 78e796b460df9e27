//! Fuzz target `details`: see `pkg::fuzz_entry::details` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::details(data);
});
