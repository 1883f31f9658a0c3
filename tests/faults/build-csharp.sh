#!/usr/bin/env bash
# Builds the fault table's C# program (tests/faults/Faults.cs with csharp/YunxinEcp.cs) as
# "$target/faults-csharp.exe" with Mono's mcs; scripts/fault-table.py runs it with mono and
# LD_LIBRARY_PATH on the release libyunxin_ecp.so. Called by scripts/fault-table.sh. Without mcs
# or mono it says so and exits 0: the table then has no C# column.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/faults-csharp.exe"
rm -f "$out"
for tool in mcs mono; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fault table: no $tool, leaving C# out"
    exit 0
  fi
done
need=()
for package in libmono-system-runtime-serialization4.0-cil libmono-system-json4.0-cil; do
  dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
bash scripts/apt-install.sh "${need[@]}"
cargo build --release -q -p yunxin-ecp-ffi
mcs -langversion:7.2 -warnaserror -nologo -r:System.Json -r:System.Runtime.Serialization -r:System.Xml -out:"$out" csharp/YunxinEcp.cs tests/faults/Faults.cs
