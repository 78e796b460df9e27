#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks the toolchain,
# installs what the tests need when it is missing, then runs every test
# (unit, integration and doc tests) with the lock file as committed, and
# ends with one line that sums them up.
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
# The tests build SQLite and libgit2 from source (rusqlite and git2,
# vendored) against the system OpenSSL, and make FIFOs.
need cc || apt_install gcc libc6-dev
need mkfifo || apt_install coreutils
need pkg-config || apt_install pkg-config
pkg-config --exists openssl 2>/dev/null || apt_install libssl-dev
# The git tests run real git servers on 127.0.0.1: `git http-backend` behind
# the tests' own HTTP server, and `git daemon`. Both come with git.
if ! need git || [ ! -x "$(git --exec-path)/git-http-backend" ] || [ ! -x "$(git --exec-path)/git-daemon" ]; then
  apt_install git
fi
# The ssh source test runs a real OpenSSH server and agent on 127.0.0.1.
[ -x /usr/sbin/sshd ] && need ssh-agent && need ssh-keygen || apt_install openssh-server openssh-client

# The environment tests run the real uv (from PyPI) and the real pixi (the
# only one these machines reach is crates.io's 0.15.2, built once by
# scripts/install_pixi.sh and cached outside the repository; ~8 minutes the
# first time). A failed pixi build makes the pixi tests fail loudly.
export PATH="$HOME/.local/bin:$PATH"
if ! need uv; then
  need pip3 || apt_install python3-pip
  pip3 install -q uv 2>/dev/null || pip3 install -q --break-system-packages uv
  hash -r
fi
need python3 || apt_install python3
if pixi_path=$(./scripts/install_pixi.sh); then
  export PKG_PIXI="$pixi_path"
else
  echo "warning: could not build pixi; the pixi tests will fail" >&2
fi

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .*; ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
echo
echo "$passed passed, $failed failed"
exit "$status"
