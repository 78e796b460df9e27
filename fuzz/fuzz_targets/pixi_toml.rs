//! Fuzz target `pixi_toml`: see `pkg::fuzz_entry::pixi_toml` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::pixi_toml(data);
});
