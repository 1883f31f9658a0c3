#!/usr/bin/env bash
# The C and C++ suite of libyunxin_ecp, self-sufficient on a fresh Debian machine:
#
# - installs what it needs with apt-get when missing (gcc, g++, make, pkg-config, valgrind,
#   libjansson-dev, libcurl4-openssl-dev for the libcurl example);
# - builds the library (cargo build --release -p yunxin-ecp-ffi, honouring CARGO_TARGET_DIR)
#   and installs it under tests/c/build/prefix with ffi-c/install.sh, so that everything below
#   finds the header and the library through the generated pkg-config file;
# - compiles tests/c/test_yunxin_ecp.c as C11 and as C++17, with -Wall -Wextra -Werror, each
#   linked dynamically and statically, and runs all four under valgrind (any error or definite
#   or indirect leak fails the run);
# - builds examples/c with its Makefile and runs each example under valgrind too.
#
# Closes with "c: N passed, M failed": N counts the cases of the four test builds and the
# examples; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
build="$repo/tests/c/build"
prefix="$build/prefix"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
dpkg -s libjansson-dev >/dev/null 2>&1 || need+=(libjansson-dev)
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need+=(libcurl4-openssl-dev)
bash scripts/apt-install.sh "${need[@]}" || exit 1

cargo build --release -p yunxin-ecp-ffi || exit 1
rm -rf "$build"
mkdir -p "$build"
bash ffi-c/install.sh --no-build "$prefix" || exit 1
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags="$(pkg-config --cflags yunxin_ecp)"
libs_dynamic="$(pkg-config --libs yunxin_ecp)"
# Static: the archive itself, then what the Rust standard library needs (Libs.private).
libs_static="$prefix/lib/libyunxin_ecp.a $(pkg-config --static --libs-only-l yunxin_ecp | sed 's/-lyunxin_ecp//')"
warnings="-Wall -Wextra -Werror"

valgrind_run() {
  LD_LIBRARY_PATH="$prefix/lib" valgrind -q --error-exitcode=1 --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect "$@"
}

passed=0
failed=0
summary=()

run_suite() {
  local name=$1 binary=$2 out line p f
  out="$build/$name.out"
  if ! valgrind_run "$binary" "$repo/tests/vectors" >"$out" 2>"$build/$name.err"; then
    cat "$build/$name.err" >&2
    line="$(grep -E '^c: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)"
    echo "$name: FAILED (valgrind or test failure) ${line:-no summary}" >&2
    failed=$((failed + 1))
    [ -n "$line" ] && passed=$((passed + $(echo "$line" | sed -E 's/^c: ([0-9]+) passed.*/\1/')))
    summary+=("$name: failed")
    return
  fi
  line="$(grep -E '^c: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)"
  p="$(echo "$line" | sed -E 's/^c: ([0-9]+) passed.*/\1/')"
  f="$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')"
  passed=$((passed + p))
  failed=$((failed + f))
  summary+=("$name under valgrind: $p passed, $f failed")
}

compile() {
  local name=$1 compiler=$2 std=$3 libs=$4
  # shellcheck disable=SC2086
  # (-x none ends "-x c++" before the libraries, which are no C++ source.)
  if ! $compiler $std $warnings -pthread $cflags -o "$build/$name" tests/c/test_yunxin_ecp.c -x none $libs -ljansson; then
    echo "$name: does not compile" >&2
    failed=$((failed + 1))
    summary+=("$name: does not compile")
    return 1
  fi
}

compile c11-dynamic gcc "-std=c11" "$libs_dynamic" && run_suite c11-dynamic "$build/c11-dynamic"
compile c11-static gcc "-std=c11" "$libs_static" && run_suite c11-static "$build/c11-static"
compile cxx17-dynamic g++ "-x c++ -std=c++17" "$libs_dynamic" && run_suite cxx17-dynamic "$build/cxx17-dynamic"
compile cxx17-static g++ "-x c++ -std=c++17" "$libs_static" && run_suite cxx17-static "$build/cxx17-static"

# The static builds must not depend on the shared library.
for b in c11-static cxx17-static; do
  if [ -x "$build/$b" ] && ldd "$build/$b" | grep -q yunxin_ecp; then
    echo "$b links libyunxin_ecp.so dynamically" >&2
    failed=$((failed + 1))
  fi
done

# The examples, built the way a user would: make + pkg-config.
if make -s -C examples/c BUILD="$build" CC=gcc; then
  for example in start_call start_conf callback_handler exchange_curl; do
    if valgrind_run "$build/$example" >"$build/$example.out" 2>"$build/$example.err"; then
      passed=$((passed + 1))
      summary+=("example $example: ok")
    else
      cat "$build/$example.out" "$build/$example.err" >&2
      failed=$((failed + 1))
      summary+=("example $example: FAILED")
    fi
  done
else
  failed=$((failed + 1))
  summary+=("examples: do not compile")
fi

for line in "${summary[@]}"; do
  echo "  $line"
done
echo "c: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
