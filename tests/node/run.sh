#!/usr/bin/env bash
# The Node suite, self-sufficient on a fresh Debian machine:
#
# - installs nodejs and npm with apt-get when node (18 or later) is missing;
# - installs the package's build and test tools from the npm registry (npm ci in node/:
#   @napi-rs/cli, typescript and the type packages, Express, Fastify, Koa and @koa/bodyparser);
# - builds the addon with `napi build --platform --release` (honouring CARGO_TARGET_DIR) into
#   node/yunxin-ecp.linux-x64-gnu.node, and fails when the committed node/native.d.ts is not
#   what napi generates from the Rust source;
# - builds the mock binary (cargo build --release -p yunxin-ecp-mock), which the tests start as
#   a child process on 127.0.0.1;
# - runs `node --test` over tests/node/*.test.js: every vector, the client against the mock,
#   callbacks end to end, hostile inputs, the Express, Fastify and Koa middleware;
# - type-checks with `tsc --strict --noEmit` the examples (node/examples) and a type test of the
#   public declarations (tests/node/types), one check each;
# - runs tests/node/leak.js: 1,000,000 sign + verify cycles, RSS growth at most 16 MiB (one check).
#
# Closes with "node: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

node_major() { node -e 'process.stdout.write(String(process.versions.node.split(".")[0]))' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 || [ "$(node_major)" -lt 18 ]; then
  bash scripts/apt-install.sh nodejs npm || exit 1
fi
if [ "$(node_major)" -lt 18 ]; then
  echo "node: Node.js 18 or later is needed, found $(node --version 2>/dev/null || echo none)"
  echo "node: 0 passed, 1 failed"
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd node && npm ci --no-audit --no-fund --loglevel=error) || { echo "node: 0 passed, 1 failed"; exit 1; }

# The addon, and its generated declarations beside the committed ones.
(cd node && npx --no-install napi build --platform --release --no-js --dts native.d.ts --output-dir "$work") ||
  { echo "node: 0 passed, 1 failed"; exit 1; }
# Renamed into place, so that a Node process that has the old addon loaded keeps it intact.
cp "$work/yunxin-ecp.linux-x64-gnu.node" node/.yunxin-ecp.linux-x64-gnu.node.new &&
  mv -f node/.yunxin-ecp.linux-x64-gnu.node.new node/yunxin-ecp.linux-x64-gnu.node || exit 1
stale=0
if ! cmp -s "$work/native.d.ts" node/native.d.ts; then
  echo "node/native.d.ts is stale: regenerate it with 'npm run build' in node/"
  diff -u node/native.d.ts "$work/native.d.ts" | head -40
  stale=1
fi

cargo build --release -p yunxin-ecp-mock || { echo "node: 0 passed, 1 failed"; exit 1; }
export YUNXIN_ECP_MOCK="$CARGO_TARGET_DIR/release/yunxin-ecp-mock"

# The tests pick their own base URLs; a developer's YUNXIN_BASE_URL must not leak into them.
unset YUNXIN_BASE_URL
node --test --test-timeout=120000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$work/tap" \
  tests/node/*.test.js
status=$?

passed=$(grep -E '^# pass [0-9]+' "$work/tap" | tail -1 | awk '{print $3}')
failed=$(grep -E '^# fail [0-9]+' "$work/tap" | tail -1 | awk '{print $3}')
passed=${passed:-0}
failed=${failed:-0}

# Checks beside node --test, each counted once.
check() {
  local name="$1"
  shift
  if "$@"; then
    echo "ok - $name"
    passed=$((passed + 1))
  else
    echo "not ok - $name"
    failed=$((failed + 1))
  fi
}
check "tsc --strict --noEmit: node/examples" node/node_modules/.bin/tsc -p node/examples/tsconfig.json
check "tsc --strict --noEmit: the public declarations (tests/node/types)" \
  node/node_modules/.bin/tsc -p tests/node/types/tsconfig.json
check "no native leak over 1,000,000 sign + verify cycles" node --expose-gc tests/node/leak.js
if [ "$stale" -ne 0 ]; then failed=$((failed + 1)); fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "node: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
