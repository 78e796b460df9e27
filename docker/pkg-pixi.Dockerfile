# pkg with pixi: `pkg env` (and everything else pkg does) with the pixi
# backend.
#
#   docker build -f docker/pkg-pixi.Dockerfile -t pkg-pixi .
#   docker run --rm -v "$PWD:/work" pkg-pixi env sync tools --frozen
#
# Build from the repository root (the context needs Cargo.toml, Cargo.lock,
# src/, tests/ and scripts/install_pixi.sh; see .dockerignore). Three
# stages: `build` compiles pkg exactly as the top-level Dockerfile does,
# `pixi` builds pixi, and the last is a Debian slim image with both binaries
# and a non-root user. pixi brings its own Python from conda-forge, so the
# image has none.
#
# Why pixi is built from source and not copied from
# ghcr.io/prefix-dev/pixi:0.15.2 or a GitHub release tarball: the pixi the
# test suite verifies is pixi 0.15.2 from crates.io plus one fix
# (scripts/install_pixi.sh: 0.15.2's BarrierCell::wait can miss its wake-up
# and hang, about one run in eight on a busy 2-core machine; later pixi
# releases made the same fix). The released 0.15.2 binaries do not have the
# fix, and the machines the tests run on reach no prebuilt pixi, so a
# release tarball's checksum could not even be taken there. This stage runs
# that same script, so the image gets the binary the tests ran. The script
# downloads the pixi 0.15.2 crate from crates.io over HTTPS without checking
# its checksum (a published crates.io version cannot be replaced; for the
# record, the crates.io index and the file downloaded on the development
# machine both give sha256
# 75a80be5621bc4e2814d5bde08c9057db8029a71ea82a8e843a607dd78724c8a) and
# builds it with `cargo build --locked`, which checks every dependency
# against pixi's Cargo.lock. It takes about 8 minutes on 2 cores.
#
# Pinned versions (bump them here and in docs/server.md, "Container images"):
#   pixi 0.15.2     the `version=` in scripts/install_pixi.sh; the check
#                   below fails the build if the two disagree
#   Rust 1.95.0     for the pixi build only: pixi 0.15.2's lock file is from
#                   2024 and a newer rustc can stop compiling an old crate
#                   (as it did with `time` < 0.3.35); 1.95.0 is the rustc
#                   that built the tests' pixi. pkg itself builds on
#                   rust:1-bookworm like the top-level Dockerfile.
#   Debian 12.12    (bookworm) slim, the Debian both binaries are built on,
#                   so glibc and libssl3 match
#
# No container engine runs on the machines this was written on, so this
# file has not been built here.

ARG PIXI_VERSION=0.15.2

# The same build as the top-level Dockerfile (etcd-client needs protoc).
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --bin pkg

# pixi as scripts/install_pixi.sh builds it for the tests (it needs curl,
# python3 for its source fix, flock, and OpenSSL for pixi's native-tls).
FROM rust:1.95.0-bookworm AS pixi
ARG PIXI_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates python3 pkg-config libssl-dev util-linux \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/install_pixi.sh /tmp/install_pixi.sh
RUN grep -qx "version=${PIXI_VERSION}" /tmp/install_pixi.sh \
 && bin=$(PKG_TOOLS_CACHE=/tmp/pkg-test-tools /tmp/install_pixi.sh) \
 && install -m 0755 "$bin" /usr/local/bin/pixi \
 && test "$(/usr/local/bin/pixi --version)" = "pixi ${PIXI_VERSION}"

FROM debian:12.12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 pkg \
 && useradd --create-home --home-dir /home/pkg --uid 10001 --gid 10001 --shell /bin/sh pkg \
 && mkdir -p /work /cache/pixi /home/pkg/.config/pkg \
 && printf '[backends]\ndefault = "pixi"\n' > /home/pkg/.config/pkg/config.toml \
 && chown -R pkg:pkg /work /cache /home/pkg
COPY --from=build /src/target/release/pkg /usr/local/bin/pkg
COPY --from=pixi /usr/local/bin/pixi /usr/local/bin/pixi
# Fail the build, not the first run, if a binary cannot start.
RUN pkg --version && pixi --version
# Numeric, so that an orchestrator's runAsNonRoot check can verify it.
USER 10001:10001
WORKDIR /work
# pixi's package and repodata cache in a directory of its own (mount a
# volume there to keep it between runs). The config file written above
# makes `pkg env init` without --backend use pixi, since this image has no
# uv.
ENV PIXI_CACHE_DIR=/cache/pixi
ENTRYPOINT ["pkg"]
CMD ["--help"]
