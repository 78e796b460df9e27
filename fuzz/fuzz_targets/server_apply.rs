//! Fuzz target `server_apply`: see `pkg::fuzz_entry::server_apply` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::server_apply(data);
});
