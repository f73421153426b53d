#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Node 20 (run as root): installs what is
# missing and nothing else — Debian packages, pnpm, the workspace's dependencies — then builds.
# `npm run demo` and `npm test` call it first, so those two commands are all the set-up there is.
set -euo pipefail
cd "$(dirname "$0")/../.."

PNPM_VERSION=10.34.9
# Real third-party pieces the tests and the demo drive (DESIGN.md "Testing on this machine").
APT_PACKAGES=(
  iproute2 util-linux nftables iptables iputils-ping
  procps git   # sysctl in the node namespaces; git for the generator and changeset tests' workspace copies
  containernetworking-plugins
  podman runc conmon catatonit busybox-static golang-github-containers-common
  containerd
  etcd-server etcd-client openssl
  iperf3
  curl strace   # benchmarks only: bench:agent reads /metrics, bench:cni traces calls
)

log() { printf '[setup] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "podnet programs network namespaces, links and nftables: run as root"; exit 1
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION"
fi

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  log "installing workspace dependencies"
  pnpm install --frozen-lockfile --reporter=silent
fi

log "building (nx, cached)"
pnpm run -s build >/dev/null
