# pkg serve in a container: a shared hub and package registry.
#
#   docker build -t pkg .
#   docker run -p 8080:8080 -v pkg-data:/data pkg
#
# The first stage builds the release binary (etcd-client needs protoc);
# the second is a slim Debian with only the binary and the TLS roots.
# State (the SQLite store and the package blobs) lives in /data; for
# several replicas use --store etcd:HOST:PORT and a shared --blobs volume.
# Health: GET /healthz (process) and /readyz (store) for the orchestrator's
# probes; SIGTERM drains in-flight requests and exits 0.
#
# No container engine runs on the machines this was written on, so this
# file has not been built here; it uses only the steps the README's build
# uses (cargo build --release with protoc installed).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --bin pkg

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --uid 10001 pkg \
 && mkdir -p /data && chown pkg /data
COPY --from=build /src/target/release/pkg /usr/local/bin/pkg
USER pkg
VOLUME ["/data"]
EXPOSE 8080
ENV PKG_SERVE_ADDR=0.0.0.0:8080 \
    PKG_SERVE_STORE=sqlite:/data/server.db \
    PKG_SERVE_BLOBS=/data/blobs \
    PKG_SERVE_LOG_FORMAT=json
STOPSIGNAL SIGTERM
ENTRYPOINT ["pkg", "serve"]
