#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks the toolchain,
# installs what the tests need when it is missing, then runs every test
# (unit, integration, doc) with the lock file as committed.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  if need apt-get; then
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "error: missing $*; install it and run again" >&2
    exit 1
  fi
}

if ! need cargo; then
  echo "error: cargo is not installed; install Rust (https://rustup.rs) and run again" >&2
  exit 1
fi
# The tests build SQLite from source (rusqlite, bundled) and make FIFOs.
need cc || apt_install gcc libc6-dev
need mkfifo || apt_install coreutils

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cargo test --locked --all-targets
cargo test --locked --doc
