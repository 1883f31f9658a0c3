#!/usr/bin/env bash
# Builds the fault table's C program (tests/faults/faults.c) as "$target/faults-c", linked
# against the release libyunxin_ecp.so with an rpath to it. Called by scripts/fault-table.sh.
# Without a C compiler it says so and exits 0: the table then has no C column.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cc="${CC:-cc}"
out="$target/faults-c"
rm -f "$out"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "fault table: no C compiler ($cc), leaving C out"
  exit 0
fi
if ! dpkg -s libjansson-dev >/dev/null 2>&1; then
  bash scripts/apt-install.sh libjansson-dev
fi
cargo build --release -q -p yunxin-ecp-ffi
lib="$target/release"
"$cc" -std=c11 -O2 -Wall -Wextra -Werror -I include -o "$out" tests/faults/faults.c \
  -L "$lib" -lyunxin_ecp -ljansson -Wl,-rpath,"$lib"
