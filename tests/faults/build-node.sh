#!/usr/bin/env bash
# Readies the fault table's Node program (tests/faults/faults.js, run as is): the native addon,
# built as tests/node/run.sh builds it (npm ci and napi build in node/), and the mock binary it
# starts (scripts/fault-table.py names it in YUNXIN_ECP_MOCK). Called by scripts/fault-table.sh.
# Without node and npm (18 or later) it says so and exits 0: the table then has no Node column.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "fault table: no node or npm, leaving Node out"
  exit 0
fi
major="$(node -e 'process.stdout.write(process.versions.node.split(".")[0])')"
if [ "$major" -lt 18 ]; then
  echo "fault table: Node $(node --version) is older than 18, leaving Node out"
  exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Only the napi CLI is needed here: npm ci (which empties node_modules first) only when it is
# missing, so that a Node suite running meanwhile keeps its frameworks.
[ -x node/node_modules/.bin/napi ] || (cd node && npm ci --no-audit --no-fund --loglevel=error)
(cd node && npx --no-install napi build --platform --release --no-js --dts native.d.ts --output-dir "$work" >/dev/null)
# A new file renamed into place: a Node process that has the old one loaded keeps it intact.
cp "$work/yunxin-ecp.linux-x64-gnu.node" node/.yunxin-ecp.linux-x64-gnu.node.new
mv -f node/.yunxin-ecp.linux-x64-gnu.node.new node/yunxin-ecp.linux-x64-gnu.node
cargo build --release -q -p yunxin-ecp-mock
