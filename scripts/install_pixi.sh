#!/usr/bin/env bash
# Installs pixi for the tests when none is on PATH: the only pixi these
# machines can reach is crates.io's pixi 0.15.2, which builds on the current
# toolchain once its lock file takes `time` 0.3.36. The build (about 8
# minutes on 2 cores) is cached outside the repository, so later runs only
# print the path. Prints the pixi binary's path on stdout.
#
# One source fix is applied, the one later pixi releases made:
# `BarrierCell::wait` in 0.15.2 awaits a `Notify` without first checking
# whether the value was already set, so a solve that finishes before its
# consumer starts waiting loses the wake-up and pixi hangs forever (about
# one run in eight on a busy 2-core machine, seen with plain `pixi add` in a
# shell, no pkg involved). The fix creates the `Notified` future first and
# skips the wait when the cell is already initialised.
set -euo pipefail

if [ -n "${PKG_PIXI:-}" ] && [ -x "$PKG_PIXI" ]; then echo "$PKG_PIXI"; exit 0; fi
if command -v pixi >/dev/null 2>&1; then command -v pixi; exit 0; fi

version=0.15.2
cache=${PKG_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pkg-test-tools}
bin="$cache/pixi-$version-fix1/bin/pixi"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/pixi.lock"
flock 9   # one build at a time
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

src="$cache/pixi-$version-src"
rm -rf "$src"
mkdir -p "$src"
echo "building pixi $version from crates.io (once, about 8 minutes)..." >&2
curl -sSfL "https://static.crates.io/crates/pixi/pixi-$version.crate" | tar -xz -C "$src" --strip-components=1
cd "$src"
rm -f rust-toolchain rust-toolchain.toml
# time < 0.3.35 does not compile on rustc >= 1.80.
cargo update -q -p time --precise 0.3.36 >&2
python3 - src/utils/barrier_cell.rs <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """    pub async fn wait(&self) -> &T {
        self.notify.notified().await;
"""
new = """    pub async fn wait(&self) -> &T {
        let notified = self.notify.notified();
        if self.state.load(Ordering::Acquire) != BarrierCellState::Initialized as u8 {
            notified.await;
        }
"""
if old not in text:
    sys.exit("barrier_cell.rs: the code to fix is not there")
open(path, "w").write(text.replace(old, new))
PY
CARGO_TARGET_DIR="$cache/pixi-target" cargo build -q --release --locked >&2
mkdir -p "$(dirname "$bin")"
cp "$cache/pixi-target/release/pixi" "$bin.tmp"
mv "$bin.tmp" "$bin"
rm -rf "$src" "$cache/pixi-target"
echo "$bin"
