//! Fuzz target `where_expr`: see `pkg::fuzz_entry::where_expr` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pkg::fuzz_entry::where_expr(data);
});
