#!/usr/bin/env bash
# The C# suite, through P/Invoke on Mono, self-sufficient on a fresh Debian machine:
#
# - installs mono-mcs, mono-runtime, libmono-system-runtime-serialization4.0-cil (the
#   DataContractJsonSerializer the wrapper reads the library's JSON with) and
#   libmono-system-json4.0-cil (System.Json, to read the vectors) with apt-get when missing;
# - builds the library (cargo build --release -p yunxin-ecp-ffi, honouring CARGO_TARGET_DIR);
# - compiles csharp/YunxinEcp.cs with tests/csharp/TestYunxinEcp.cs (mcs, C# 7.2, warnings as
#   errors) and runs it with mono: every vector, the wrapper, the client against the mock;
# - compiles and runs the examples in examples/csharp against the mock.
#
# Closes with "csharp: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

need=()
command -v mcs >/dev/null 2>&1 || need+=(mono-mcs)
command -v mono >/dev/null 2>&1 || need+=(mono-runtime)
for package in libmono-system-runtime-serialization4.0-cil libmono-system-json4.0-cil; do
  dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
bash scripts/apt-install.sh "${need[@]}" || exit 1

cargo build --release -p yunxin-ecp-ffi || exit 1
export LD_LIBRARY_PATH="$CARGO_TARGET_DIR/release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
mcs_flags=(-langversion:7.2 -warnaserror -nologo -r:System.Runtime.Serialization.dll -r:System.Xml.dll)

passed=0
failed=0

if mcs "${mcs_flags[@]}" -r:System.Json.dll -out:"$build/TestYunxinEcp.exe" \
  csharp/YunxinEcp.cs tests/csharp/TestYunxinEcp.cs; then
  mono "$build/TestYunxinEcp.exe" "$repo/tests/vectors" >"$build/suite.out" 2>&1
  grep -v -E '^csharp: ' "$build/suite.out"
  line="$(grep -E '^csharp: [0-9]+ passed, [0-9]+ failed$' "$build/suite.out" | tail -n 1)"
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | sed -E 's/^csharp: ([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
  else
    echo "the suite ended without its summary line" >&2
    failed=$((failed + 1))
  fi
else
  echo "the suite does not compile" >&2
  failed=$((failed + 1))
fi

for example in StartCall CallbackVerification; do
  if mcs "${mcs_flags[@]}" -out:"$build/$example.exe" csharp/YunxinEcp.cs "examples/csharp/$example.cs" &&
    mono "$build/$example.exe"; then
    passed=$((passed + 1))
  else
    echo "FAIL [example $example]" >&2
    failed=$((failed + 1))
  fi
done

echo "csharp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
