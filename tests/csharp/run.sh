#!/usr/bin/env bash
# The C# suite, through P/Invoke on Mono, self-sufficient on a fresh Debian machine:
#
# - installs mono-mcs, mono-runtime, libmono-system-runtime-serialization4.0-cil (the
#   DataContractJsonSerializer the wrapper reads the library's JSON with) and
#   libmono-system-json4.0-cil (System.Json, to read the vectors) and libmono-system-net-http4.0-cil
#   (System.Net.Http, which AsyncEcpClient drives the exchange over) with apt-get when missing;
# - builds the library (cargo build --release -p yunxin-ecp-ffi, honouring CARGO_TARGET_DIR);
# - compiles csharp/YunxinEcp.cs and csharp/YunxinEcpAsync.cs with tests/csharp/TestYunxinEcp.cs
#   (mcs, C# 7.2, warnings as errors) and runs it with mono: every vector, the wrapper, the client
#   against the mock, the callback body cap (a counting stream, and an HttpListener on 127.0.0.1),
#   the exchange's scripted conversations and the asynchronous client, several credentials per
#   verifier, the duplicate guard (memory and a store written in C#, two threads claiming one
#   delivery) and Handle's answers, on HttpListener too;
# - compiles and runs the examples in examples/csharp against the mock; compiles the ASP.NET
#   Core one (examples/csharp/AspNetCoreCallback.cs, which cannot run on Mono) against
#   tests/csharp/AspNetCoreStubs.cs, the ASP.NET Core members it names, so that it keeps to the
#   wrapper's API;
# - runs a tiny program's first touch of the library where the loader finds none (the exception
#   must say what was looked for and what to do, the process exit non-zero), one of another ABI
#   version and one without yx_abi_version (stubs built with cc), and where the library is found
#   without LD_LIBRARY_PATH: beside the program, and through a Mono dllmap in its .exe.config.
#
# Closes with "csharp: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

need=()
command -v mcs >/dev/null 2>&1 || need+=(mono-mcs)
command -v mono >/dev/null 2>&1 || need+=(mono-runtime)
for package in libmono-system-runtime-serialization4.0-cil libmono-system-json4.0-cil libmono-system-net-http4.0-cil; do
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

if mcs "${mcs_flags[@]}" -r:System.Json.dll -r:System.Net.Http.dll -out:"$build/TestYunxinEcp.exe" \
  csharp/YunxinEcp.cs csharp/YunxinEcpAsync.cs tests/csharp/TestYunxinEcp.cs; then
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

if mcs "${mcs_flags[@]}" -target:library -out:"$build/AspNetCoreCallback.dll" csharp/YunxinEcp.cs \
  examples/csharp/AspNetCoreCallback.cs tests/csharp/AspNetCoreStubs.cs; then
  passed=$((passed + 1))
else
  echo "FAIL [example AspNetCoreCallback: does not compile against the wrapper]" >&2
  failed=$((failed + 1))
fi

# The first touch of the library, as an app makes it: prints what it loaded, or the exception
# (its type, its inner exception's type, its message) and exits 1.
mkdir -p "$build/probe" "$build/empty" "$build/missing" "$build/beside" "$build/dllmap" "$build/stub-abi" "$build/stub-entry"
cat >"$build/probe/LoadProbe.cs" <<'CS'
using System;
using YunxinEcp;

internal static class LoadProbe
{
    private static int Main()
    {
        try
        {
            using (var credentials = new Credentials("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx"))
            {
                Console.WriteLine("loaded libyunxin_ecp " + Ecp.Version + ", ABI " + Ecp.LibraryAbiVersion);
                return 0;
            }
        }
        catch (Exception e)
        {
            Console.WriteLine(e.GetType().FullName + (e.InnerException == null ? "" : " (inner " + e.InnerException.GetType().FullName + ")") + ": " + e.Message);
            return 1;
        }
    }
}
CS
cat >"$build/stub-abi/stub.c" <<'C'
unsigned int yx_abi_version(void) { return 1; }
const char *yx_version(void) { return "0.0.1-stub"; }
C
cat >"$build/stub-entry/stub.c" <<'C'
int yx_something_else(void) { return 0; }
C

# probe NAME DIR LD_LIBRARY_PATH WANT NEEDLE...: runs DIR/LoadProbe.exe; WANT is 0 or "fail" (any
# other status); every NEEDLE must be in the output.
probe() {
  local name="$1" dir="$2" path="$3" want="$4" output status needle ok=1
  shift 4
  output="$(LD_LIBRARY_PATH="$path" mono "$dir/LoadProbe.exe" 2>&1)"
  status=$?
  if [ "$want" = 0 ] && [ "$status" -ne 0 ]; then ok=0; fi
  if [ "$want" = fail ] && [ "$status" -eq 0 ]; then ok=0; fi
  for needle in "$@"; do
    case "$output" in
      *"$needle"*) ;;
      *) ok=0; echo "  missing: $needle" >&2 ;;
    esac
  done
  if [ "$ok" = 1 ]; then
    passed=$((passed + 1))
  else
    echo "FAIL [load: $name] exit $status: $output" >&2
    failed=$((failed + 1))
  fi
}

if mcs "${mcs_flags[@]}" -out:"$build/probe/LoadProbe.exe" csharp/YunxinEcp.cs "$build/probe/LoadProbe.cs" &&
  cc -shared -fPIC -o "$build/stub-abi/libyunxin_ecp.so" "$build/stub-abi/stub.c" &&
  cc -shared -fPIC -o "$build/stub-entry/libyunxin_ecp.so" "$build/stub-entry/stub.c"; then
  for dir in missing beside dllmap stub-abi stub-entry; do
    cp "$build/probe/LoadProbe.exe" "$build/$dir/"
  done
  cp "$CARGO_TARGET_DIR/release/libyunxin_ecp.so" "$build/beside/"
  printf '<configuration>\n  <dllmap dll="yunxin_ecp" target="%s"/>\n</configuration>\n' \
    "$CARGO_TARGET_DIR/release/libyunxin_ecp.so" >"$build/dllmap/LoadProbe.exe.config"
  probe "not found: the hint, non-zero" "$build/missing" "$build/empty" fail \
    "System.DllNotFoundException (inner System.DllNotFoundException)" 'libyunxin_ecp.so' 'DllImport("yunxin_ecp")' \
    LD_LIBRARY_PATH 'beside the program' ldconfig 'dllmap in LoadProbe.exe.config' NativeLibrary.SetDllImportResolver
  probe "another ABI version: both versions named" "$build/stub-abi" "$build/stub-abi" fail \
    System.InvalidOperationException 'libyunxin_ecp 0.0.1-stub speaks ABI version 1' 'written for ABI version 2'
  probe "no yx_abi_version: the wrong library" "$build/stub-entry" "$build/stub-entry" fail \
    "System.EntryPointNotFoundException (inner System.EntryPointNotFoundException)" 'has no yx_abi_version' LD_LIBRARY_PATH
  probe "found beside the program" "$build/beside" "$build/empty" 0 'ABI 2'
  probe "found through a dllmap in LoadProbe.exe.config" "$build/dllmap" "$build/empty" 0 'ABI 2'
else
  echo "FAIL [load: the probe or its stubs do not compile]" >&2
  failed=$((failed + 1))
fi

echo "csharp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
