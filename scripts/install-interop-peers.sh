#!/usr/bin/env bash
# Installs the real BitTorrent implementations the interop tests drive, and the shells the completion tests run
# bt's scripts in (all Debian packages). .ci/run calls it before any test phase (the unit phase runs test/cli/).
# Quick when they are already present: apt-get runs only for what is missing.
set -euo pipefail

# chromium: the web UI's end-to-end test drives it with playwright-core (no browser is ever downloaded).
# ffmpeg (ffprobe) and curl: the streaming test reads the stream URL with them.
# nftables: the holepunch test walls one network namespace off with it.
# zsh and fish: test/cli/completions.test.ts completes with `bt completions zsh|fish` in them (bash is always there).
packages=(opentracker python3-libtorrent transmission-cli transmission-daemon aria2 mktorrent chromium ffmpeg curl nftables
  zsh fish)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "interop peers: all present (${packages[*]})"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

echo "interop peers: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's transmission-daemon package enables a system service; we start our own instances per test.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now transmission-daemon >/dev/null 2>&1 || true
fi
echo "interop peers: ready"
