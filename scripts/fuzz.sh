#!/usr/bin/env bash
# Runs one coverage-guided fuzz target (cargo fuzz, libFuzzer) for a while.
#
# Usage:
#   scripts/fuzz.sh list               the targets
#   scripts/fuzz.sh TARGET [SECONDS]   fuzz TARGET for SECONDS (default 60)
#
# The working corpus is fuzz/corpus/TARGET (gitignored), seeded from the
# committed fuzz/seeds/TARGET (cargo test replays those and
# fuzz/regressions/TARGET); crashes land in
# fuzz/artifacts/TARGET. One fuzzer process (no -jobs), with libFuzzer
# limits -rss_limit_mb=2048 -timeout=10; the where-language dictionary
# fuzz/where.dict is used for where_expr. Extra libFuzzer flags can be
# given in FUZZ_FLAGS; FUZZ_SANITIZER picks cargo fuzz's sanitizer
# (default none: the code is safe Rust, and what the fuzzer looks for is
# panics, hangs and memory blow-ups). Needs the nightly toolchain; installs
# cargo-fuzz when it is missing.
#
# Prints one summary line:
#   fuzz: target=T seconds=S executions=N corpus=C findings=F [artifact=PATH]
# and exits non-zero when the fuzzer found a crash, a timeout or an OOM.
# docs/fuzzing.md says how a finding becomes a regression test.
set -euo pipefail

cd "$(dirname "$0")/.."

targets() {
    sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^pkg-fuzz$'
}

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

target="$1"
seconds="${2:-60}"

if [ "$target" = "list" ]; then
    targets
    exit 0
fi

if ! targets | grep -qx -- "$target"; then
    echo "fuzz.sh: unknown target \`$target\`; the targets are:" >&2
    targets | sed 's/^/  /' >&2
    exit 2
fi
case "$seconds" in
    '' | *[!0-9]*)
        echo "fuzz.sh: SECONDS must be a whole number, not \`$seconds\`" >&2
        exit 2
        ;;
esac

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

corpus="fuzz/corpus/$target"
artifacts="fuzz/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
# The seeds only: regression inputs can be large and slow by design (they
# once timed out), which would slow every run down; `cargo test` replays
# them.
find "fuzz/seeds/$target" -type f -exec cp -n {} "$corpus/" \;

dict=()
if [ "$target" = "where_expr" ] && [ -f fuzz/where.dict ]; then
    dict=("-dict=fuzz/where.dict")
fi

log="$(mktemp -t "fuzz-$target.XXXXXX.log")"
before="$(find "$artifacts" -type f | wc -l)"
status=0
# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
cargo +nightly fuzz run --sanitizer "${FUZZ_SANITIZER:-none}" "$target" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 "${dict[@]}" ${FUZZ_FLAGS:-} 2>&1 | tee "$log" || status=$?

executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
if [ -z "$executions" ]; then
    executions="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)"
fi
corpus_size="$(find "$corpus" -type f | wc -l)"
after="$(find "$artifacts" -type f | wc -l)"
findings=$((after - before))
artifact="$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //' || true)"

summary="fuzz: target=$target seconds=$seconds executions=${executions:-unknown} corpus=$corpus_size findings=$findings"
if [ -n "$artifact" ]; then
    summary="$summary artifact=$artifact"
fi
echo "$summary"
echo "fuzz: log in $log"
if [ "$status" -ne 0 ] || [ "$findings" -gt 0 ]; then
    echo "fuzz: FAILED: minimise with \`cargo +nightly fuzz tmin -s ${FUZZ_SANITIZER:-none} $target ${artifact:-ARTIFACT}\`, fix it, and add the input under fuzz/regressions/$target/" >&2
    [ "$status" -ne 0 ] || status=1
    exit "$status"
fi
