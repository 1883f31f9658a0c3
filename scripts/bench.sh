#!/usr/bin/env bash
# Every benchmark program, each printing both sides of its comparison and the ratio from the same
# run. Python benchmarks run in their own venv (.venv-bench) that also holds `requests`, which
# the library itself never needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

echo "== Rust"
cargo run --release -q -p yunxin-ecp-bench --bin sign
cargo run --release -q -p yunxin-ecp-bench --bin callback
for bin in client-rps log-overhead ffi; do
  cargo run --release -q -p yunxin-ecp-bench --bin "$bin"
done

echo "== Python"
venv="$root/.venv-bench"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --progress-bar off "requests>=2.31"
"${pip[@]}" install --progress-bar off --force-reinstall --no-deps "$root/py"
for b in bench_sign bench_client bench_threads; do
  (cd bench/python && "$venv/bin/python" "$b.py")
done
