# pkg with uv: `pkg env` (and everything else pkg does) with the uv backend.
#
#   docker build -f docker/pkg-uv.Dockerfile -t pkg-uv .
#   docker run --rm -v "$PWD:/work" pkg-uv env sync app --frozen
#
# Build from the repository root (the context needs Cargo.toml, Cargo.lock,
# src/ and tests/; see .dockerignore). Three stages: `build` compiles pkg
# exactly as the top-level Dockerfile does, `uv` is Astral's official uv
# image (a scratch image holding the static /uv and /uvx), and the last is
# a Python slim image with both binaries and a non-root user.
#
# Pinned versions (bump them here and in docs/server.md, "Container images"):
#   uv 0.13.9       the uv the test suite runs (scripts/test.sh installs
#                   `uv>=0.13,<0.14`; the tests build wheels with
#                   `uv_build>=0.13,<0.14`, so leaving the 0.13 series
#                   means changing the tests too)
#   Python 3.12.12  on Debian 12 (bookworm), the Debian the pkg binary is
#                   built on, so its glibc and libssl3 match
#
# No container engine runs on the machines this was written on, so this
# file has not been built here.

ARG UV_VERSION=0.13.9

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

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:3.12.12-slim-bookworm
ARG UV_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 pkg \
 && useradd --create-home --home-dir /home/pkg --uid 10001 --gid 10001 --shell /bin/sh pkg \
 && mkdir -p /work /cache/uv \
 && chown pkg:pkg /work /cache /cache/uv
COPY --from=build /src/target/release/pkg /usr/local/bin/pkg
COPY --from=uv /uv /uvx /usr/local/bin/
# Fail the build, not the first run, if a binary cannot start or uv is not
# the pinned version.
RUN pkg --version \
 && uv --version \
 && test "$(uv --version | cut -d ' ' -f 2)" = "${UV_VERSION}"
# Numeric, so that an orchestrator's runAsNonRoot check can verify it.
USER 10001:10001
WORKDIR /work
# uv's cache in a directory of its own (mount a volume there to keep it
# between runs). Copy rather than hard-link from it: the cache and a project
# mounted at /work are usually on different file systems, where uv would
# warn on every install before falling back to copying anyway.
ENV UV_CACHE_DIR=/cache/uv \
    UV_LINK_MODE=copy
ENTRYPOINT ["pkg"]
CMD ["--help"]
