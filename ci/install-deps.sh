#!/usr/bin/env bash
# Installs seqbench's build dependencies from Debian 12 packages. Idempotent: packages already
# present are not reinstalled, so CI and repeated set-ups skip apt entirely.
set -euo pipefail

packages=(build-essential cmake pkg-config git libsqlite3-dev sqlite3 nlohmann-json3-dev libcli11-dev catch2
          libbenchmark-dev)
# `--with-browser` adds Chromium, used by the HTML report test when present.
if [[ "${1:-}" == "--with-browser" ]]; then packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "ci/install-deps.sh: all dependencies present"
  exit 0
fi

echo "ci/install-deps.sh: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
