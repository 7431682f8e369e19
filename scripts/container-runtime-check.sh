#!/usr/bin/env bash
# Runs the container image where no Docker engine runs, as compose.yaml would: the image's
# CMD as uid 10001 on a read-only root with a tmpfs /tmp and the state directory writable.
# Then it runs compose.yaml's health check and one execute through the example backends
# over gRPC, and fails if either fails.
#
# Two ways to get the image's root filesystem:
#   IMAGE=sluice:local scripts/container-runtime-check.sh
#       the image built from the Dockerfile by scripts/container-build.sh (buildah); its
#       filesystem is used as built (binaries, config, user, permissions);
#   scripts/container-runtime-check.sh [BIN_DIR]   (default: target/release)
#       no image: the Dockerfile's runtime stage redone from Debian's packages with
#       debootstrap (bookworm, minbase, + ca-certificates, the `sluice` user with uid
#       10001), with the binaries of BIN_DIR copied in. Keep these steps in line with the
#       Dockerfile's runtime stage.
#
# Needs root (chroot, mounts), and buildah or debootstrap. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=${1:-target/release}
work=${WORK:-/tmp/sluice-container-check}
rootfs=$work/rootfs
root=$work/root
http_port=${HTTP_PORT:-18080}
grpc_port=${GRPC_PORT:-15051}

image=${IMAGE:-}
ctr=
if [ -n "$image" ]; then
  export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
  command -v buildah >/dev/null || { echo "container-runtime-check: install buildah" >&2; exit 2; }
  ctr=$(buildah from --pull=never "$image")
  rootfs=$(buildah mount "$ctr")
  echo "container-runtime-check: image $image ($(buildah inspect --format '{{.FromImageID}}' "$ctr" | cut -c1-12))"
else
  for b in sluice sheets-server crm-server chat-server; do
    [ -x "$bin_dir/$b" ] || { echo "container-runtime-check: $bin_dir/$b is missing (make build)" >&2; exit 2; }
  done
  command -v debootstrap >/dev/null || { echo "container-runtime-check: install debootstrap" >&2; exit 2; }

  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    mkdir -p "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    # The Dockerfile's runtime RUN line.
    chroot "$rootfs" sh -c 'apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
      && rm -rf /var/lib/apt/lists/* \
      && groupadd --system --gid 10001 sluice \
      && useradd --system --uid 10001 --gid sluice --home-dir /var/lib/sluice --create-home sluice'
  fi
  # COPY --from=build /out/ /usr/local/bin/ and the baked-in config.
  for b in sluice sheets-server crm-server chat-server; do
    install -m 0755 "$bin_dir/$b" "$rootfs/usr/local/bin/$b"
  done
  mkdir -p "$rootfs/etc/sluice"
  cp examples/container.toml "$rootfs/etc/sluice/sluice.toml"
fi

# compose.yaml: read_only root, tmpfs /tmp, the data volume writable.
mkdir -p "$root"
mount --bind "$rootfs" "$root"
mount -o remount,bind,ro "$root"
mount --bind "$rootfs/var/lib/sluice" "$root/var/lib/sluice"
mount -t tmpfs tmpfs "$root/tmp"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for m in dev proc tmp var/lib/sluice; do umount "$root/$m" 2>/dev/null || true; done
  umount "$root" 2>/dev/null || true
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if touch "$root/etc/probe" 2>/dev/null; then
  echo "container-runtime-check: the root is writable; the read-only mount failed" >&2
  exit 1
fi

# USER sluice, ENV, WORKDIR and CMD (ports moved so a host service on 8080 does not clash).
log=$work/serve.log
chroot --userspec=10001:10001 "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
  HOME=/var/lib/sluice SLUICE_CACHE_DIR=/var/lib/sluice/cache SLUICE_LOG=info \
  SLUICE_AGENT_KEY=change-me \
  sh -c 'cd /var/lib/sluice && exec sluice serve --config /etc/sluice/sluice.toml --http "$0" --grpc "$1"' \
  "127.0.0.1:$http_port" "127.0.0.1:$grpc_port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  grep -q "^listening on " "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 1
done
grep -q "^listening on " "$log" || { echo "container-runtime-check: serve did not start" >&2; cat "$log" >&2; exit 1; }

# compose.yaml's health check, run inside the image as the sluice user.
chroot --userspec=10001:10001 "$root" bash -c "exec 3<>/dev/tcp/127.0.0.1/$http_port \
  && printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && grep -q '^ok' <&3"
echo "health check: ok"

# One execute through the example backends, with the Python client (scripts/python-client-test.sh's venv).
venv=target/python-client-venv
[ -x "$venv/bin/python" ] || { "${PYTHON:-python3}" -m venv "$venv"; "$venv/bin/python" -m pip install --quiet ./clients/python; }
"$venv/bin/python" - "127.0.0.1:$grpc_port" <<'EOF'
import sys
from sluice_client import Broker
with Broker(sys.argv[1], api_key="change-me", timeout=60) as broker:
    result = broker.execute('const r = await tools.sheets.getRows({ sheet: "q4-leads" }); return r.rows[0];')
    row = result.result
    assert row["email"].startswith("[EMAIL_"), row
    print("execute through the example backends: ok", row["email"])
EOF
echo "container-runtime-check: ok (uid 10001, read-only root, state under /var/lib/sluice)"
