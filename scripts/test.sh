#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks the toolchain,
# installs what the tests need when it is missing, then runs every test
# (unit, integration and doc tests) with the lock file as committed, and
# ends with one line that sums them up.
set -euo pipefail
cd "$(dirname "$0")/.."

# The last line is always the summary, also when a set-up step fails
# before any test ran (then it counts one failure).
summary_printed=0
log=$(mktemp)
on_exit() {
  rm -f "$log"
  if [ "$summary_printed" = 0 ]; then echo; echo "0 passed, 1 failed"; fi
}
trap on_exit EXIT

. scripts/build_deps.sh
install_build_deps
# The tests also make FIFOs, fetch with curl and look at processes (pgrep,
# ps) in the crash and signal tests.
need mkfifo || apt_install coreutils
need curl || apt_install curl
need pgrep && need ps || apt_install procps
# The git tests run real git servers on 127.0.0.1: `git http-backend` behind
# the tests' own HTTP server, and `git daemon`. Both come with git.
if ! need git || [ ! -x "$(git --exec-path)/git-http-backend" ] || [ ! -x "$(git --exec-path)/git-daemon" ]; then
  apt_install git
fi
# The ssh source test runs a real OpenSSH server and agent on 127.0.0.1.
[ -x /usr/sbin/sshd ] && need ssh-agent && need ssh-keygen || apt_install openssh-server openssh-client

# The server tests run `pkg serve` against a real etcd (Debian's
# etcd-server, started by the tests themselves on free loopback ports and
# killed when they end) and ask it questions with etcdctl (etcd-client).
need etcd || apt_install etcd-server
need etcdctl || apt_install etcd-client

# The database package tests run throw-away PostgreSQL and MariaDB servers
# (Debian's postgresql and mariadb-server: initdb/pg_ctl and
# mariadb-install-db/mariadbd in temporary directories on free loopback
# ports, PostgreSQL as the postgres user when run as root), started and
# stopped by the tests themselves; the packages' own services are not used.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && need runuser || apt_install postgresql util-linux
[ -x /usr/sbin/mariadbd ] && need mariadb-install-db && need mariadb || apt_install mariadb-server mariadb-client

# The signing tests check that keys and signatures work both ways with the
# minisign CLI (Debian's minisign).
need minisign || apt_install minisign
# The OCI tests push to and pull from a real registry: Debian's
# docker-registry (the CNCF distribution registry 2.8, filesystem storage),
# started by the tests themselves on free loopback ports.
need docker-registry || apt_install docker-registry

# The environment tests run the real uv (from PyPI) and the real pixi (the
# only one these machines reach is crates.io's 0.15.2, built once by
# scripts/install_pixi.sh and cached outside the repository; ~8 minutes the
# first time). A failed pixi build makes the pixi tests fail loudly.
# The uv tests build their wheels with `uv_build>=0.13,<0.14`, the build
# backend of uv 0.13, so they need a uv from that series: one already on
# PATH is used when it is 0.13.x, else that series is installed.
export PATH="$HOME/.local/bin:$PATH"
uv_spec='uv>=0.13,<0.14'
uv_ok() { need uv && uv --version 2>/dev/null | grep -Eq '^uv 0\.13\.'; }
if ! uv_ok; then
  need pip3 || apt_install python3-pip
  pip3 install -q "$uv_spec" 2>/dev/null || pip3 install -q --break-system-packages "$uv_spec"
  hash -r
  uv_ok || { echo "error: could not install $uv_spec (found: $(uv --version 2>&1))" >&2; exit 1; }
fi
need python3 || apt_install python3
if pixi_path=$(./scripts/install_pixi.sh); then
  export PKG_PIXI="$pixi_path"
else
  echo "warning: could not build pixi; the pixi tests will fail" >&2
fi

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
status=0
# --no-fail-fast: one failing test binary does not hide the others.
cargo test --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .*; ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
# A build that fails, or a test binary that dies without its summary line
# (a crash, a signal), counts as a failure too, so the total never claims
# success for a run that did not finish.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo
echo "$passed passed, $failed failed"
summary_printed=1
exit "$status"
