#!/usr/bin/env bash
# The main job on the embedded hub: build pkg, load the example drift-detector
# package under the prefix `demo` into a local hub, and list what landed.
# Re-running it is safe: the second load finds nothing to change.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/build_deps.sh
install_build_deps
cargo build --release --locked --quiet
pkg=./target/release/pkg
export PKG_HUB=${PKG_HUB:-$PWD/target/demo-hub.db}
"$pkg" diff examples/drift-detector --prefix demo
"$pkg" load examples/drift-detector --prefix demo --on-conflict update
"$pkg" unit list --space demo-drift-detector
"$pkg" history
