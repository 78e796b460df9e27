//! Fuzz target `pyproject_toml`: see `pkg::fuzz_entry::pyproject_toml` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::pyproject_toml(data);
});
