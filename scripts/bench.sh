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
cargo build --release -q -p yunxin-ecp-cli
for bin in client-rps log-overhead ffi rotation send-callback; do
  cargo run --release -q -p yunxin-ecp-bench --bin "$bin"
done

echo "== The yunxin-ecp command: start-up and size"
cargo build --release -q -p yunxin-ecp-cli
cli="$root/target/release/yunxin-ecp"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 10 --runs 100 -N "$cli --help"
else
  began=$(date +%s%N)
  for _ in $(seq 100); do "$cli" --help >/dev/null; done
  echo "yunxin-ecp --help: $(( ($(date +%s%N) - began) / 100000 )) us per run (mean of 100)"
fi
stripped="$(mktemp)"
strip -o "$stripped" "$cli"
echo "yunxin-ecp binary: $(stat -c %s "$cli") bytes, $(stat -c %s "$stripped") stripped"
rm -f "$stripped"

echo "== Python"
venv="$root/.venv-bench"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --progress-bar off "requests>=2.31" "httpx>=0.27" "sniffio>=1.1"
"${pip[@]}" install --progress-bar off --force-reinstall --no-deps "$root/py"
for b in bench_sign bench_verify bench_client bench_threads bench_async; do
  (cd bench/python && "$venv/bin/python" "$b.py")
done

# The JVM and Node programs, where their toolchains are (each suite installs its own).
if command -v mvn >/dev/null && command -v java >/dev/null; then
  echo "== Java (JMH)"
  bash bench/java/run.sh
fi
if command -v node >/dev/null && [ -d node/node_modules ]; then
  echo "== Node"
  bash bench/node/run.sh
fi
