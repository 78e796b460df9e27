# Sourced by scripts/demo.sh and scripts/test.sh: helpers to install what is
# missing (apt-get, as root or through sudo) and the build's own needs: a
# Rust toolchain, a C compiler, pkg-config and the OpenSSL headers (SQLite
# and libgit2 are built from source and link the system OpenSSL).

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

install_build_deps() {
  if ! need cargo; then
    echo "error: cargo is not installed; install Rust (https://rustup.rs) and run again" >&2
    exit 1
  fi
  need cc || apt_install gcc libc6-dev
  need pkg-config || apt_install pkg-config
  pkg-config --exists openssl 2>/dev/null || apt_install libssl-dev
  # etcd-client (the etcd store of `pkg serve`) compiles etcd's protobuf
  # definitions with protoc at build time.
  need protoc || apt_install protobuf-compiler
}
