#!/usr/bin/env bash
# Installs the Debian packages Basalt needs to build, run and test.
# Idempotent: does nothing when every package is already installed.
#   scripts/deps.sh          build + run packages
#   scripts/deps.sh test     also what the tests need (node, npm, clang, chromium, wrk)
#   scripts/deps.sh format   only clang-format (make format, make format-check)
set -euo pipefail

# python3 runs the layer check of every build (scripts/check_layers.py).
# libev-dev comes with libwebsockets-dev (its event-lib plugin); named here
# because bench/realtime/rt_load links it directly.
pkgs=(build-essential cmake pkg-config libcivetweb-dev libsqlite3-dev libjwt-dev
      libjansson-dev libssl-dev libwebsockets-dev libev-dev libjpeg-dev python3)
if [ "${1:-}" = "format" ]; then
  pkgs=(clang-format git)
elif [ "${1:-}" = "test" ] || [ "${1:-}" = "bench" ]; then
  pkgs+=(clang libclang-rt-14-dev clang-format curl wrk sqlite3 chromium python3 jq)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
