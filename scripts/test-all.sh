#!/usr/bin/env bash
# Every test in every language, from a fresh machine: installs what each suite needs, runs it,
# prints each runner's summary line, and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
step() {
  local name=$1
  shift
  echo
  echo "=== $name"
  if "$@"; then
    echo "=== $name: ok"
  else
    echo "=== $name: FAILED"
    failed+=("$name")
  fi
}

step "rustfmt" cargo fmt --all --check
step "clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings
step "vectors are current" python3 tests/vectors/generate.py --check
step "vector digests (hashlib, openssl)" python3 tests/vectors/check.py
step "rust tests" cargo test --workspace --all-features
step "main job (demo on the mock)" cargo run -q -p yunxin-ecp-demo
step "rustdoc" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps
for suite in tests/*/run.sh; do
  [ -f "$suite" ] && step "$(basename "$(dirname "$suite")") suite" bash "$suite"
done
# After the suites: it reuses the Python venv and the C, PHP and C# toolchains they installed.
step "fault table (every language)" bash scripts/fault-table.sh

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
