#!/usr/bin/env bash
# The Node benchmarks (bench/node/bench.js): builds the addon (npm ci and napi build in node/, as
# tests/node/run.sh does) and the mock, then prints each figure, its ratio to the hand-rolled
# code and the event loop's delay. BENCH_ROUNDS (default 7) and BENCH_SECONDS (per round and
# side, default 0.5) set the length; figures are medians of alternating rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
[ -x node/node_modules/.bin/napi ] || (cd node && npm ci --no-audit --no-fund --loglevel=error)
(cd node && npx --no-install napi build --platform --release --no-js --dts native.d.ts --output-dir "$work" >/dev/null)
cp "$work/yunxin-ecp.linux-x64-gnu.node" node/.yunxin-ecp.linux-x64-gnu.node.new
mv -f node/.yunxin-ecp.linux-x64-gnu.node.new node/yunxin-ecp.linux-x64-gnu.node
cargo build --release -q -p yunxin-ecp-mock
export YUNXIN_ECP_MOCK="$CARGO_TARGET_DIR/release/yunxin-ecp-mock"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec node bench/node/bench.js
