#!/usr/bin/env bash
# The Python suite, from a fresh machine with Rust and Python 3: creates a venv (.venv-test at the
# repository root, or $YUNXIN_PY_VENV), installs the package with `pip install ./py` (a maturin
# build of the native module; CARGO_TARGET_DIR is honoured when set) plus pytest and mypy and
# what the optional features run on (httpx for AsyncClient; Flask, Django, FastAPI and uvicorn
# for the integrations and their examples; django-stubs for mypy), then checks the hand-written
# stubs against the runtime (mypy.stubtest), type-checks the examples with mypy --strict and runs
# pytest over tests/python. Exits non-zero on any failure, including
# a pytest run that collected no test.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${YUNXIN_PY_VENV:-$root/.venv-test}"
python="${PYTHON:-python3}"

fail() {
  echo "python suite: FAILED: $*" >&2
  exit 1
}

if [ ! -x "$venv/bin/python" ]; then
  echo "python suite: creating $venv"
  "$python" -m venv "$venv" || fail "could not create a venv with $python"
fi
py="$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check --quiet)

"${pip[@]}" install --progress-bar off "pytest>=8" "mypy>=1.10" || fail "could not install pytest and mypy"
# The extras' packages (py/pyproject.toml) and the servers the examples run on. Never skipped:
# a test that needs one of them fails when it is missing.
"${pip[@]}" install --progress-bar off "httpx>=0.27" "sniffio>=1.1" "flask>=2.2" "django>=4.2" "fastapi>=0.100" \
  "uvicorn>=0.20" "django-stubs>=4.2" || fail "could not install httpx, Flask, Django, FastAPI and uvicorn"
echo "python suite: pip install ./py (target dir: ${CARGO_TARGET_DIR:-$root/target}; a cold build takes minutes)"
"${pip[@]}" install --progress-bar off --force-reinstall --no-deps "$root/py" || fail "pip install ./py"

# A scratch directory keeps caches out of the tree and makes sure the installed package is the
# one under test.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "python suite: stubtest"
(cd "$scratch" && "$py" -m mypy.stubtest yunxin_ecp) || fail "the stubs do not match the runtime"

echo "python suite: mypy --strict examples/python"
(cd "$scratch" && "$py" -m mypy --strict --cache-dir "$scratch/mypy" "$root/examples/python") ||
  fail "the examples do not type-check"

echo "python suite: pytest"
(cd "$root" && "$py" -m pytest -q -p no:cacheprovider "$here")
status=$?
case $status in
  0) echo "python suite: ok" ;;
  5) fail "pytest collected no test (exit code 5)" ;;
  *) fail "pytest exited with $status" ;;
esac
