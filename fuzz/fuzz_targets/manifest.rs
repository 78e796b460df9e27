//! Fuzz target `manifest`: see `pkg::fuzz_entry::manifest` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::manifest(data);
});
