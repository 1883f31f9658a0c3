#!/usr/bin/env bash
# Readies the fault table's PHP program (tests/faults/faults.php): nothing to compile, but it
# needs libyunxin_ecp.so (scripts/fault-table.py points YUNXIN_ECP_LIB at the release build) and
# a PHP with the FFI extension. Called by scripts/fault-table.sh. Without php or FFI it says so
# and exits 0: the table then has no PHP column.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if ! command -v php >/dev/null 2>&1; then
  echo "fault table: no php, leaving PHP out"
  exit 0
fi
if ! php -m | grep -qx FFI; then
  echo "fault table: this PHP has no FFI extension, leaving PHP out"
  exit 0
fi
cargo build --release -q -p yunxin-ecp-ffi
