#!/usr/bin/env bash
# Install pqc on a Debian 12 / Ubuntu host from this checkout: system packages, npm dependencies
# (native addons built by node-gyp), the build, the `pqc` command on PATH (npm link), then
# `pqc install`: the pqconnect user, /etc/pqconnect, /var/cache/pqconnect and the systemd units.
# Idempotent. Needs root; Node.js 20 must already be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends build-essential python3 iproute2 nftables ca-certificates
npm ci
npm run build
npm link
pqc install
echo "installed: $(command -v pqc) ($(pqc --version))"
