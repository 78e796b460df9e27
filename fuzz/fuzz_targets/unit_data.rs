//! Fuzz target `unit_data`: see `pkg::fuzz_entry::unit_data` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::unit_data(data);
});
