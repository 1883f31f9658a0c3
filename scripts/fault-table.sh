#!/usr/bin/env bash
# Every fault mode of the mock, in every language binding, as one table (see fault-table.py).
# Builds what the programs need: the Rust fault program, the Python package (in .venv-test),
# and the C, PHP, C#, Java and Node programs when their toolchains are present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -q -p yunxin-ecp-demo --bin fault-table
venv="$root/.venv-test"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import yunxin_ecp" 2>/dev/null ||
  "$venv/bin/python" -m pip --disable-pip-version-check -q install --no-deps "$root/py"
for build in tests/faults/build-*.sh; do
  [ -f "$build" ] && bash "$build"
done
YUNXIN_PY="$venv/bin/python" exec python3 scripts/fault-table.py
