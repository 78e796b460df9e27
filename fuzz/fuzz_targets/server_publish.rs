//! Fuzz target `server_publish`: see `pkg::fuzz_entry::server_publish` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::server_publish(data);
});
