# syntax=docker/dockerfile:1
# Sluice in a container: a build stage with the pinned Rust toolchain (rust-toolchain.toml),
# clang and wasi-libc for the sandbox's QuickJS guest, and a slim non-root runtime with
# `sluice` and the example MCP servers. docs/operations.md shows how to run it;
# compose.yaml starts it with the example backends.
#
#   docker build -t sluice .
#   docker run --rm -p 8080:8080 -e SLUICE_AGENT_KEY=change-me sluice

FROM rust:1.95-slim-bookworm AS build
# clang + wasi-libc compile QuickJS for wasm32-wasip1 offline (no wasi-sdk download);
# scripts/setup.sh adds the wasm32-wasip1 target to the toolchain rust-toolchain.toml pins.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang wasi-libc \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./scripts/setup.sh
# Only the binaries the image ships; the cargo cache mounts keep rebuilds incremental.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sluice -p sluice-example-servers --bins \
 && mkdir -p /out \
 && cp target/release/sluice target/release/sheets-server target/release/crm-server \
       target/release/chat-server /out/

FROM debian:bookworm-slim AS runtime
# ca-certificates: HTTPS backends are verified against the system roots.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid sluice --home-dir /var/lib/sluice --create-home sluice
COPY --from=build /out/ /usr/local/bin/
COPY examples/container.toml /etc/sluice/sluice.toml
# State (vault, master key, audit log) and the compiled-sandbox cache live under the
# sluice user's home; mount a volume there to keep placeholders across restarts.
ENV HOME=/var/lib/sluice \
    SLUICE_CACHE_DIR=/var/lib/sluice/cache \
    SLUICE_LOG=info
USER sluice:sluice
WORKDIR /var/lib/sluice
VOLUME ["/var/lib/sluice"]
# 8080: MCP over streamable HTTP (/mcp) and the /healthz probe; 50051: gRPC.
EXPOSE 8080 50051
ENTRYPOINT ["sluice"]
CMD ["serve", "--config", "/etc/sluice/sluice.toml", "--http", "0.0.0.0:8080", "--grpc", "0.0.0.0:50051"]
