#!/usr/bin/env bash
# The release artifacts as a user gets them, self-sufficient on a fresh Debian machine:
#
# - installs what it needs with apt-get when missing (gcc, make, pkg-config, cmake, binutils,
#   a JDK, Maven, Node.js and npm; php-cli and composer for the Composer check, which is skipped, saying why, only when apt
#   cannot install them);
# - runs scripts/dist.sh (the wheel, the sdist, the C SDK tarball, the jar with its sources,
#   javadoc and pom, the npm package, the command's tarball, SHA256SUMS into dist/; it
#   builds everything itself, so this suite depends on no other);
# - checks SHA256SUMS, the wheel's tag (abi3, manylinux) and size, the sdist's contents (the
#   Rust sources, examples/python, its build backend), and the tarball's layout (stripped
#   libraries, relocatable pkg-config and CMake files, wrappers, examples, composer.json);
# - checks the shared library as the loader of an old system sees it: no GLIBC_ symbol version
#   newer than 2.17 (objdump -T), the SONAME libyunxin_ecp.so.0 (readelf -d) shipped as that
#   file with the libyunxin_ecp.so symlink, and no path of the build machine (strings: no
#   /work/, /root/, $HOME or the checkout's path) in either library;
# - installs the sdist with no cargo on PATH (pip, maturin from a local wheelhouse, no index):
#   it must stop at once, naming the wheel, rather than fetch a Rust toolchain;
# - installs the wheel into a fresh venv with pip, with a PATH of only the venv, /usr/bin and
#   /bin (no cargo, rustc or maturin: asserted), timing the install, and runs smoke.py there
#   (signing against hashlib, a callback vector, a call placed on the in-process mock);
# - unpacks the tarball in a scratch directory and builds examples/c from it four ways (make +
#   pkg-config, CMake; each linked dynamically and statically), runs every program without
#   LD_LIBRARY_PATH from a fresh directory, and checks what each records (libyunxin_ecp.so.0
#   and an rpath, or no dependency on it at all); then builds them for deployment (make and
#   CMake, with an $ORIGIN/../lib run path), deletes the SDK and runs them with only
#   libyunxin_ecp.so.0 copied into lib/ beside their bin/;
# - installs the tarball's tree with `composer require` from a path repository in a fresh
#   project and signs with it from PHP with no environment variable (YUNXIN_ECP_LIB,
#   YUNXIN_ECP_HEADER, LD_LIBRARY_PATH), against Python's hashlib, asserting the library PHP
#   mapped is the one under vendor/.
# - unpacks the command's tarball: bin/yunxin-ecp and bin/yunxin-ecp-mock stripped, no GLIBC_
#   version newer than 2.17, no build-machine path; `yunxin-ecp --version`, `yunxin-ecp sign`
#   (its CheckSum against sha1sum, pinned and with its own nonce and time), and the mock, both
#   as bin/yunxin-ecp-mock and as `yunxin-ecp mock`, started on a free port of 127.0.0.1, a call
#   placed and queried on it with bin/yunxin-ecp, stopped by closing its standard input;
# - checks the jar (natives/linux-x86_64/libyunxin_ecp_jni.so, stripped, glibc 2.17; Java 8 class
#   files), its sources and javadoc jars and its pom (the coordinates, no dependency), installs it
#   with `mvn install:install-file` into a fresh local repository, builds a Maven project of its
#   own (tests/dist/java) that depends on io.github.yunxin-ecp:yunxin-ecp, and runs its program
#   from a fresh directory with a PATH of /usr/bin and /bin (no cargo or rustc: asserted): the
#   CheckSum vector against sha1sum, a call placed on the command tarball's mock, its callback
#   verified (and checked again with the JDK's MD5 and SHA-1), a changed body refused;
# - checks the npm package's file list and its addon (glibc 2.17), installs the tarball with
#   `npm install --offline` into a fresh project (typescript and @types/node from the registry),
#   compiles tests/dist/node/main.ts with `tsc --strict` and runs it (the same checks as the Java
#   program, through MockServer from yunxin-ecp/testing), and loads the package both with
#   require and with import.
#
# --no-build checks what dist/ (or DIST_DIR) already holds instead of running scripts/dist.sh.
#
# Prints the wheel's size and tag, the stripped library sizes, the install time, and the sizes
# of the jar, the npm package and the command's tarball with the natives inside them, then
# "dist: N passed, M failed"; exits non-zero on any failure. Honours CARGO_TARGET_DIR.
# Targets (reported, and the size asserted): a wheel of at most 5 MB, installed in under 5 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
build="$repo/tests/dist/build"
dist="${DIST_DIR:-$repo/dist}"
build_dist=1
[ "${1:-}" = --no-build ] && build_dist=0
python="${PYTHON:-python3}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
triple="$(rustc -vV | sed -n 's/^host: //p')"
sdk_name="yunxin-ecp-$version-$triple"
cli_name="yunxin-ecp-cli-$version-$triple"
wheel_max_bytes=$((5 * 1000 * 1000))

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
{ command -v readelf && command -v objdump; } >/dev/null 2>&1 || need+=(binutils)
command -v sha1sum >/dev/null 2>&1 || need+=(coreutils)
# The jar and the npm package: a JDK, Maven, Node.js and npm.
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
bash scripts/apt-install.sh "${need[@]}" || exit 1
# The Composer check: php-cli (with FFI, as Debian builds it) and composer from apt.
composer_skip=""
php_need=()
command -v php >/dev/null 2>&1 || php_need+=(php-cli)
command -v composer >/dev/null 2>&1 || php_need+=(composer)
if [ ${#php_need[@]} -gt 0 ] && ! bash scripts/apt-install.sh "${php_need[@]}"; then
  composer_skip="apt-get could not install ${php_need[*]}"
elif ! php -r 'exit(extension_loaded("ffi") ? 0 : 1);'; then
  composer_skip="this PHP has no FFI extension"
fi

passed=0
failed=0
summary=()
figures=()

# check NAME COMMAND...: runs COMMAND with its output in build/logs/NAME.log, shown on failure.
check() {
  local name=$1 log
  shift
  log="$build/logs/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    summary+=("ok      $name")
  else
    failed=$((failed + 1))
    summary+=("FAILED  $name")
    echo "--- $name: FAILED" >&2
    tail -n 40 "$log" >&2
  fi
}

finish() {
  echo
  for line in "${summary[@]}"; do
    echo "  $line"
  done
  for line in "${figures[@]}"; do
    echo "  $line"
  done
  echo "dist: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

rm -rf "$build"
mkdir -p "$build/logs"

if [ "$build_dist" = 0 ]; then
  echo "dist suite: checking what $dist holds (--no-build)"
elif ! { echo "dist suite: bash scripts/dist.sh"; bash scripts/dist.sh; }; then
  failed=$((failed + 1))
  summary+=("FAILED  scripts/dist.sh")
  finish
fi

wheels=("$dist"/yunxin_ecp-"$version"-*.whl)
wheel="${wheels[0]}"
sdist="$dist/yunxin_ecp-$version.tar.gz"
tarball="$dist/$sdk_name.tar.gz"
cli_tarball="$dist/$cli_name.tar.gz"
jar="$dist/yunxin-ecp-$version.jar"
sources_jar="$dist/yunxin-ecp-$version-sources.jar"
javadoc_jar="$dist/yunxin-ecp-$version-javadoc.jar"
pom="$dist/yunxin-ecp-$version.pom"
npm_tgz="$dist/yunxin-ecp-$version.tgz"

# natives_ok FILE...: each stripped (no symbol table, no debug info), needing no GLIBC_ symbol
# version newer than 2.17 (objdump -T: what an old system's loader checks), and holding no path
# of the build machine (strings: /work/, /root/, $HOME, the checkout).
natives_ok() {
  local file versions newest hits status=0
  for file in "$@"; do
    [ -f "$file" ] || { echo "missing $file"; return 1; }
    if readelf -S --wide "$file" | grep -Eq "\.symtab|\.debug_"; then
      echo "$(basename "$file"): not stripped"
      status=1
    fi
    versions="$(objdump -T "$file" | grep -o "GLIBC_[0-9][0-9.]*" | sed s/GLIBC_// | sort -Vu)"
    echo "$(basename "$file"): GLIBC_ versions $(echo $versions)"
    newest="$(echo "$versions" | tail -n 1)"
    if [ -z "$newest" ] || [ "$(printf "%s\n2.17\n" "$newest" | sort -V | tail -n 1)" != 2.17 ]; then
      echo "$(basename "$file"): needs GLIBC_${newest:-?}"
      status=1
    fi
    hits="$(strings -a "$file" | grep -F -e /work/ -e /root/ -e "${HOME%/}/" -e "$repo" | sort -u)"
    if [ -n "$hits" ]; then
      echo "$(basename "$file"): $(echo "$hits" | wc -l) build-machine paths, e.g."
      echo "$hits" | head -n 5
      status=1
    fi
  done
  return $status
}

# --- the artifacts themselves -----------------------------------------------------------------
check "SHA256SUMS lists and matches every artifact" bash -c '
  cd "$1" && sha256sum -c SHA256SUMS &&
  for f in *.whl *.tar.gz *.jar *.pom *.tgz; do grep -q " $f\$" SHA256SUMS || { echo "$f not listed"; exit 1; }; done &&
  [ "$(ls | grep -cv "^SHA256SUMS\$")" = 9 ] || { echo "not the nine artifacts:"; ls; exit 1; }
' _ "$dist"

wheel_bytes=$(stat -c %s "$wheel" 2>/dev/null || echo 0)
tag="$("$repo/.venv-dist/bin/auditwheel" show "$wheel" 2>&1 | tr '\n' ' ' |
  sed -n 's/.*following platform tag: *"\([^"]*\)".*/\1/p')"
figures+=("wheel: $(basename "$wheel"), $wheel_bytes bytes ($(awk -v b="$wheel_bytes" 'BEGIN { printf "%.2f", b / 1e6 }') MB; target at most 5 MB); auditwheel: ${tag:-unknown}")
check "wheel is abi3 (cp310) and tagged manylinux, as auditwheel reads it" bash -c '
  case "$(basename "$1")" in *-cp310-abi3-*manylinux*_x86_64.whl) ;; *) echo "tag: $1"; exit 1 ;; esac
  case "$2" in manylinux_*) ;; *) echo "auditwheel: $2"; exit 1 ;; esac
' _ "$wheel" "$tag"
check "wheel is at most 5 MB" test "$wheel_bytes" -le "$wheel_max_bytes"
check "wheel holds the native module, the stubs and py.typed" bash -c '
  "$1" -m zipfile -l "$2" >"$3" &&
  for f in yunxin_ecp/__init__.py yunxin_ecp/_native.pyi yunxin_ecp/py.typed yunxin_ecp/testing.py; do
    grep -q " *$f " "$3" || grep -q "^$f" "$3" || { echo "missing $f"; exit 1; }
  done && grep -Eq "yunxin_ecp/_native\.abi3\.so" "$3"
' _ "$python" "$wheel" "$build/wheel.list"
check "sdist holds pyproject.toml, Cargo.lock and the Rust sources" bash -c '
  tar tzf "$1" >"$2" && for f in pyproject.toml Cargo.lock py/Cargo.toml core/src/lib.rs mock/src/lib.rs; do
    grep -q "^yunxin_ecp-[^/]*/$f\$" "$2" || { echo "missing $f"; exit 1; }
  done
' _ "$sdist" "$build/sdist.list"
# Every example of the repository, byte for byte, at examples/python/.
check "sdist holds examples/python (every example of the repository, unchanged)" bash -c '
  mkdir -p "$3/sdist" && tar xzf "$1" -C "$3/sdist" && top="$(echo "$3"/sdist/yunxin_ecp-*)" &&
  ls "$2"/examples/python/*.py >/dev/null && for f in "$2"/examples/python/*.py; do
    cmp "$f" "$top/examples/python/$(basename "$f")" || { echo "examples/python/$(basename "$f")"; exit 1; }
  done &&
  [ "$(ls "$top/examples/python" | wc -l)" = "$(ls "$2"/examples/python/*.py | wc -l)" ]
' _ "$sdist" "$repo" "$build"

# --- the wheel in a fresh venv, without a Rust toolchain ----------------------------------------
venv="$build/venv"
clean_path="$venv/bin:/usr/bin:/bin"
"$python" -m venv "$venv" || { echo "cannot create a venv with $python" >&2; exit 1; }
check "no cargo, rustc or maturin on the install's PATH" env -i HOME="$HOME" PATH="$clean_path" bash -c '
  for tool in cargo rustc maturin; do
    if command -v "$tool"; then echo "$tool is on the PATH"; exit 1; fi
  done'
start=$(date +%s.%N)
check "pip install the wheel (no index, no build)" env -i HOME="$HOME" PATH="$clean_path" \
  "$venv/bin/python" -m pip install --no-index --no-deps --disable-pip-version-check \
  --no-cache-dir --progress-bar off "$wheel"
install_secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
figures+=("install time: pip install of the wheel into a fresh venv, $install_secs s (target under 5 s)")
mkdir -p "$build/scratch"
check "smoke test from the wheel (sign, callback vector, call on the mock)" bash -c '
  cd "$1" && env -i HOME="$HOME" PATH="$2" "$3/bin/python" "$4/tests/dist/smoke.py" "$3" \
    "$4/tests/vectors/callbacks.json"
' _ "$build/scratch" "$clean_path" "$venv" "$repo"

# --- the sdist without Rust: it must stop at once and name the wheel --------------------------
# pip builds it as it would from an index, in an isolated build environment, with maturin taken
# from a local wheelhouse and no index at all: nothing else can be fetched, so an sdist that
# asks for puccinialin (maturin's toolchain download) fails differently, without the wheel's name.
sdist_venv="$build/venv-sdist"
wheelhouse="$build/wheelhouse"
"$python" -m venv "$sdist_venv" || { echo "cannot create a venv with $python" >&2; exit 1; }
check "sdist without cargo: pip stops before any build, naming the wheel" bash -c '
  "$1" -m pip download --disable-pip-version-check --quiet --no-deps -d "$2" "maturin>=1.5,<2" || exit 1
  out="$(env -i HOME="$HOME" PATH="$3/bin:/usr/bin:/bin" "$3/bin/python" -m pip install \
    --disable-pip-version-check --no-cache-dir --no-index --find-links "$2" "$4" 2>&1)"
  status=$?
  echo "$out"
  [ "$status" -ne 0 ] || { echo "pip install of the sdist succeeded without cargo"; exit 1; }
  case "$out" in *"needs Rust (cargo on PATH)"*) ;; *) echo "no \"needs Rust\" message"; exit 1 ;; esac
  case "$out" in *"pip install $5"*) ;; *) echo "the wheel $5 is not named"; exit 1 ;; esac
  case "$out" in *puccinialin* | *"installing into a temporary directory"*) echo "a toolchain download was attempted"; exit 1 ;; esac
  ! "$3/bin/python" -c "import yunxin_ecp" 2>/dev/null || { echo "yunxin_ecp got installed"; exit 1; }
' _ "$python" "$wheelhouse" "$sdist_venv" "$sdist" "$(basename "$wheel")"

# --- the C SDK, unpacked elsewhere ------------------------------------------------------------
unpacked="$build/unpacked"
sdk="$unpacked/$sdk_name"
mkdir -p "$unpacked"
check "tarball unpacks to $sdk_name/" tar xzf "$tarball" -C "$unpacked"
check "tarball layout: headers, libraries, pkg-config, CMake, wrappers, examples" bash -c '
  cd "$1" && for f in README.md composer.json include/yunxin_ecp.h \
    lib/libyunxin_ecp.so lib/libyunxin_ecp.so.0 lib/libyunxin_ecp.a lib/pkgconfig/yunxin_ecp.pc \
    lib/cmake/yunxin_ecp/yunxin_ecpConfig.cmake lib/cmake/yunxin_ecp/yunxin_ecpConfigVersion.cmake \
    php/YunxinEcp.php php/preload.php csharp/YunxinEcp.cs csharp/YunxinEcpAsync.cs examples/c/Makefile examples/c/CMakeLists.txt \
    examples/c/start_call.c examples/c/start_conf.c examples/c/callback_handler.c \
    examples/php/server_api.php examples/php/callback_handler.php examples/csharp/StartCall.cs \
    examples/csharp/CallbackVerification.cs; do
    [ -s "$f" ] || { echo "missing $f"; exit 1; }
  done
  grep -q "^prefix=\${pcfiledir}/../..\$" lib/pkgconfig/yunxin_ecp.pc || { echo "pc prefix"; exit 1; }
  ! grep -rn "/work\|/home\|/root\|/tmp" lib/pkgconfig lib/cmake || { echo "an absolute path"; exit 1; }
' _ "$sdk"
check "libraries stripped (no symbol table in the .so, no debug or bitcode in the .a)" bash -c '
  ! readelf -S --wide "$1/lib/libyunxin_ecp.so" | grep -Eq "\.symtab|\.debug_" &&
  ! readelf -S --wide "$1/lib/libyunxin_ecp.a" | grep -Eq "\.debug_|\.llvmbc"
' _ "$sdk"
# Every function the header declares or mentions is exported, and nothing else is: the
# stripping kept the ABI, and no comment names a function that is gone.
check "the .so exports exactly the yx_ functions its header names" bash -c '
  diff <(grep -oE "\byx_[a-z0-9_]+\(" "$1/include/yunxin_ecp.h" | tr -d "(" | sort -u) \
       <(nm -D --defined-only "$1/lib/libyunxin_ecp.so" | awk "/ T yx_/ { print \$3 }" | sort -u)
' _ "$sdk"
# The loader's view: what an old system needs to load the library, and under which name.
check "lib/: libyunxin_ecp.so.0, its SONAME (readelf -d), and libyunxin_ecp.so a symlink to it" bash -c '
  cd "$1/lib" && [ -f libyunxin_ecp.so.0 ] && [ ! -L libyunxin_ecp.so.0 ] || { echo "no file libyunxin_ecp.so.0"; exit 1; }
  [ -L libyunxin_ecp.so ] && [ "$(readlink libyunxin_ecp.so)" = libyunxin_ecp.so.0 ] ||
    { echo "libyunxin_ecp.so is not a symlink to libyunxin_ecp.so.0"; ls -l; exit 1; }
  readelf -d libyunxin_ecp.so.0 | grep "(SONAME)" | tee /dev/stderr | grep -q "\[libyunxin_ecp.so.0\]\$"
' _ "$sdk"
check "glibc 2.17: no GLIBC_ symbol version newer than 2.17 in the .so (objdump -T), README says 2.17" bash -c '
  versions="$(objdump -T "$1/lib/libyunxin_ecp.so" | grep -o "GLIBC_[0-9][0-9.]*" | sed s/GLIBC_// | sort -Vu)"
  echo "GLIBC_ versions: $(echo $versions)"
  [ -n "$versions" ] || { echo "no GLIBC_ version read"; exit 1; }
  newest="$(echo "$versions" | tail -n 1)"
  [ "$(printf "%s\n2.17\n" "$newest" | sort -V | tail -n 1)" = 2.17 ] || { echo "needs GLIBC_$newest"; exit 1; }
  grep -q "glibc 2.17 or newer" "$1/README.md" || { echo "README.md does not say glibc 2.17"; exit 1; }
' _ "$sdk"
check "no build-machine path in the libraries (strings: /work/, /root/, \$HOME, the checkout)" bash -c '
  status=0
  for f in "$1"/lib/libyunxin_ecp.so.0 "$1"/lib/libyunxin_ecp.a; do
    hits="$(strings -a "$f" | grep -F -e /work/ -e /root/ -e "${HOME%/}/" -e "$2" | sort -u)"
    [ -z "$hits" ] || { echo "$(basename "$f"): $(echo "$hits" | wc -l) strings, e.g."; echo "$hits" | head -n 5; status=1; }
  done
  exit $status
' _ "$sdk" "$repo"
so_bytes=$(stat -L -c %s "$sdk/lib/libyunxin_ecp.so" 2>/dev/null || echo 0)
a_bytes=$(stat -c %s "$sdk/lib/libyunxin_ecp.a" 2>/dev/null || echo 0)
figures+=("stripped libraries: libyunxin_ecp.so $so_bytes bytes ($(awk -v b="$so_bytes" 'BEGIN { printf "%.2f", b / 1e6 }') MB), libyunxin_ecp.a $a_bytes bytes ($(awk -v b="$a_bytes" 'BEGIN { printf "%.2f", b / 1e6 }') MB)")
check "pkg-config reads the unpacked tree (version, flags, rpath)" env PKG_CONFIG_PATH="$sdk/lib/pkgconfig" bash -c '
  [ "$(pkg-config --modversion yunxin_ecp)" = "$2" ] &&
  pkg-config --libs yunxin_ecp | grep -q -- "-Wl,-rpath,$1/lib/pkgconfig/../../lib" &&
  [ -f "$(pkg-config --variable=staticlib yunxin_ecp)" ]
' _ "$sdk" "$version"

examples=(start_call start_conf callback_handler)

# run_all DIR: every example program in DIR, with no LD_LIBRARY_PATH, from a fresh directory.
run_all() {
  local dir=$1 example fresh
  fresh="$(mktemp -d "$build/fresh.XXXXXX")" || return 1
  for example in "${examples[@]}"; do
    echo "== $example"
    (cd "$fresh" && env -u LD_LIBRARY_PATH "$dir/$example") || return 1
  done
}

# records DIR shared|static: what each program needs from the dynamic loader.
records() {
  local dir=$1 link=$2 example dynamic
  for example in "${examples[@]}"; do
    dynamic="$(readelf -d "$dir/$example")" || return 1
    if [ "$link" = shared ]; then
      echo "$dynamic" | grep -q "NEEDED.*\[libyunxin_ecp.so.0\]" ||
        { echo "$example: no NEEDED libyunxin_ecp.so.0 (the SONAME; or a path instead of the name)"; return 1; }
      echo "$dynamic" | grep -Eq "(RUNPATH|RPATH).*$unpacked" ||
        { echo "$example: no rpath to the unpacked tree"; echo "$dynamic"; return 1; }
    elif echo "$dynamic" | grep -q yunxin_ecp; then
      echo "$example: depends on libyunxin_ecp.so"
      return 1
    fi
  done
}

for link in shared static; do
  out="$build/make-$link"
  mkdir -p "$out"
  check "examples/c with make + pkg-config, $link: build" env PKG_CONFIG_PATH="$sdk/lib/pkgconfig" \
    make -C "$sdk/examples/c" BUILD="$out" CC=gcc LINK="$link"
  check "examples/c with make + pkg-config, $link: what the programs record" records "$out" "$link"
  check "examples/c with make + pkg-config, $link: run without LD_LIBRARY_PATH" run_all "$out"

  out="$build/cmake-$link"
  static=OFF
  [ "$link" = static ] && static=ON
  check "examples/c with CMake, $link: configure and build" bash -c '
    cmake -S "$1/examples/c" -B "$2" -DCMAKE_PREFIX_PATH="$1" -DYUNXIN_ECP_STATIC="$3" \
      -DCMAKE_BUILD_TYPE=Release && cmake --build "$2"
  ' _ "$sdk" "$out" "$static"
  check "examples/c with CMake, $link: what the programs record" records "$out" "$link"
  check "examples/c with CMake, $link: run without LD_LIBRARY_PATH" run_all "$out"
done

# deploy make|cmake: the examples built for deployment from a copy of the SDK, with the run path
# $ORIGIN/../lib, into app/bin; the SDK deleted, only libyunxin_ecp.so.0 copied into app/lib;
# every program must find it there (ldd) and run, from a fresh directory.
deploy() {
  local how=$1 root="$build/deploy-$1" copy example dynamic found
  rm -rf "$root"
  mkdir -p "$root/sdk" "$root/app/bin" "$root/app/lib" "$root/run" || return 1
  tar xzf "$tarball" -C "$root/sdk" || return 1
  copy="$root/sdk/$sdk_name"
  if [ "$how" = make ]; then
    PKG_CONFIG_PATH="$copy/lib/pkgconfig" make -C "$copy/examples/c" BUILD="$root/app/bin" CC=gcc \
      LDFLAGS="-Wl,-rpath,'\$\$ORIGIN/../lib'" || return 1
  else
    cmake -S "$copy/examples/c" -B "$root/cmake" -DCMAKE_PREFIX_PATH="$copy" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' \
      -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$root/app/bin" && cmake --build "$root/cmake" || return 1
  fi
  cp "$copy/lib/libyunxin_ecp.so.0" "$root/app/lib/" || return 1
  rm -rf "$root/sdk" "$root/cmake"
  for example in "${examples[@]}"; do
    dynamic="$(readelf -d "$root/app/bin/$example")" || return 1
    echo "$dynamic" | grep -E "RUNPATH|RPATH"
    echo "$dynamic" | grep -E "RUNPATH|RPATH" | grep -qF '$ORIGIN/../lib' ||
      { echo "$example: no \$ORIGIN/../lib run path"; return 1; }
    found="$(ldd "$root/app/bin/$example" | sed -n 's/^[[:space:]]*libyunxin_ecp\.so\.0 => \([^ ]*\) .*/\1/p')"
    echo "$example: libyunxin_ecp.so.0 => $found"
    [ -n "$found" ] && [ "$(realpath "$found")" = "$root/app/lib/libyunxin_ecp.so.0" ] ||
      { echo "$example: libyunxin_ecp.so.0 not found in app/lib"; ldd "$root/app/bin/$example"; return 1; }
    (cd "$root/run" && env -u LD_LIBRARY_PATH "$root/app/bin/$example") || return 1
  done
}
check "examples/c deployed (make, \$ORIGIN/../lib, the SDK deleted): find lib/libyunxin_ecp.so.0 and run" deploy make
check "examples/c deployed (CMake, \$ORIGIN/../lib, the SDK deleted): find lib/libyunxin_ecp.so.0 and run" deploy cmake

# --- the PHP package: composer require from a path repository ---------------------------------
# composer_app: a fresh project requires the unpacked tree (copied into vendor/, as from an
# archive), then one php -r signs with no environment variable of ours: the wrapper must find
# vendor/.../lib and include/ by itself. The CheckSum is compared with Python's hashlib, and the
# library PHP mapped (/proc/self/maps) must be the one under vendor/.
composer_app() {
  local app="$build/composer-app" out expected want_lib
  rm -rf "$app"
  mkdir -p "$app/home" || return 1
  cat >"$app/composer.json" <<JSON || return 1
{
    "repositories": [
        {"type": "path", "url": "$sdk", "options": {"symlink": false}},
        {"packagist.org": false}
    ]
}
JSON
  (cd "$app" && env -i HOME="$app/home" PATH=/usr/bin:/bin COMPOSER_HOME="$app/home/composer" \
    COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1 composer require "yunxin-ecp/yunxin-ecp:$version") ||
    return 1
  expected="$("$python" -c 'import hashlib; print(hashlib.sha1(b"c1a2f3e4b5d6" + b"4tgggergigwow323t23t" + b"1443592222").hexdigest())')"
  out="$(cd "$app" && env -i HOME="$app/home" PATH=/usr/bin:/bin php -r '
    require "vendor/autoload.php";
    echo YunxinEcp\YunxinEcp::checksum("c1a2f3e4b5d6", "4tgggergigwow323t23t", "1443592222"), "\n";
    foreach (file("/proc/self/maps") as $line) {
        if (str_contains($line, "libyunxin_ecp")) { echo substr(trim($line), strpos(trim($line), "/")), "\n"; break; }
    }')" || { echo "$out"; return 1; }
  echo "$out"
  [ "$(echo "$out" | sed -n 1p)" = "$expected" ] || { echo "CheckSum: want $expected (hashlib)"; return 1; }
  want_lib="$(realpath "$app/vendor/yunxin-ecp/yunxin-ecp/lib/libyunxin_ecp.so")"
  [ "$(echo "$out" | sed -n 2p)" = "$want_lib" ] || { echo "library mapped: want $want_lib"; return 1; }
}
if [ -n "$composer_skip" ]; then
  echo "dist: SKIPPED the Composer check: $composer_skip"
  summary+=("skipped composer require of the SDK ($composer_skip)")
else
  check "composer require the SDK from a path repository; php signs with no env vars (vs hashlib)" composer_app
fi

# The version file: 0.1 (the same minor) is accepted, a later major or minor is not.
mkdir -p "$build/cmake-version"
cat >"$build/cmake-version/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.10...3.31)
project(version_check LANGUAGES C)
find_package(yunxin_ecp ${WANT} CONFIG REQUIRED)
message(STATUS "found yunxin_ecp ${yunxin_ecp_VERSION}")
EOF
check "CMake package version: ${version%.*} accepted, 9.0 and 0.99 refused" bash -c '
  cmake -S "$2" -B "$2/ok" -DCMAKE_PREFIX_PATH="$1" -DWANT="$3" &&
  ! cmake -S "$2" -B "$2/major" -DCMAKE_PREFIX_PATH="$1" -DWANT=9.0 &&
  ! cmake -S "$2" -B "$2/minor" -DCMAKE_PREFIX_PATH="$1" -DWANT=0.99
' _ "$sdk" "$build/cmake-version" "${version%.*}"

# --- the command's tarball: yunxin-ecp and yunxin-ecp-mock --------------------------------------
# The CheckSum of the vector every program below signs, computed here with coreutils alone.
vector_sum="$(printf %s "xxxxxxxx4tgggergigwow323t23t1443592222" | sha1sum | cut -d " " -f 1)"
plain_path=/usr/bin:/bin
cli_root="$build/cli"
cli_bin="$cli_root/$cli_name/bin"
mkdir -p "$cli_root"
check "command tarball: $cli_name/ with bin/yunxin-ecp, bin/yunxin-ecp-mock (executables) and README.md, nothing else" bash -c '
  tar xzf "$1" -C "$2" || exit 1
  want="$(printf "%s\n" "$3/" "$3/README.md" "$3/bin/" "$3/bin/yunxin-ecp" "$3/bin/yunxin-ecp-mock" | sort)"
  got="$(tar tzf "$1" | sort)"
  [ "$got" = "$want" ] || { echo "listed:"; echo "$got"; exit 1; }
  [ -x "$2/$3/bin/yunxin-ecp" ] && [ -x "$2/$3/bin/yunxin-ecp-mock" ] || { echo "not executable"; exit 1; }
  for word in "yunxin-ecp mock" "yunxin-ecp doctor" YUNXIN_ECP_MOCK "glibc 2.17"; do
    grep -q "$word" "$2/$3/README.md" || { echo "README.md does not mention $word"; exit 1; }
  done
' _ "$cli_tarball" "$cli_root" "$cli_name"
check "command: both programs stripped, GLIBC_ at most 2.17 (objdump -T), no build-machine path" \
  natives_ok "$cli_bin/yunxin-ecp" "$cli_bin/yunxin-ecp-mock"
check "command: yunxin-ecp --version says $version (no Rust on PATH, a fresh directory)" bash -c '
  cd "$(mktemp -d "$1/fresh.XXXXXX")" && out="$(env -i HOME="$HOME" PATH="$2" "$3/yunxin-ecp" --version)" &&
  echo "$out" && [ "$out" = "yunxin-ecp $4" ]
' _ "$build" "$plain_path" "$cli_bin" "$version"
# sign, pinned (the vector) and unpinned (its own nonce and time, recomputed here).
check "command: yunxin-ecp sign's CheckSum equals sha1sum's, pinned and with its own nonce and time" bash -c '
  export YUNXIN_APP_KEY=fd460d34e786e7754e505bc4fab0f027 YUNXIN_APP_SECRET=xxxxxxxx
  out="$(env -i HOME="$HOME" PATH="$2" YUNXIN_APP_KEY="$YUNXIN_APP_KEY" YUNXIN_APP_SECRET="$YUNXIN_APP_SECRET" \
    "$1/yunxin-ecp" sign --nonce 4tgggergigwow323t23t --cur-time 1443592222)" || exit 1
  echo "$out"
  [ "$(echo "$out" | sed -n "s/^CheckSum: //p")" = "$3" ] || { echo "want CheckSum: $3 (sha1sum)"; exit 1; }
  json="$(env -i HOME="$HOME" PATH="$2" YUNXIN_APP_KEY="$YUNXIN_APP_KEY" YUNXIN_APP_SECRET="$YUNXIN_APP_SECRET" \
    "$1/yunxin-ecp" sign --json)" || exit 1
  echo "$json"
  fields="$(echo "$json" | "$4" -c "import json, sys; d = json.load(sys.stdin); print(d[\"Nonce\"], d[\"CurTime\"], d[\"CheckSum\"], d[\"AppKey\"])")" || exit 1
  set -- $fields
  [ "$4" = "$YUNXIN_APP_KEY" ] || { echo "AppKey $4"; exit 1; }
  want="$(printf %s "$YUNXIN_APP_SECRET$1$2" | sha1sum | cut -d " " -f 1)"
  [ "$3" = "$want" ] || { echo "CheckSum $3, want $want (sha1sum)"; exit 1; }
  [ "$1" != 4tgggergigwow323t23t ] || { echo "the unpinned nonce is the pinned one"; exit 1; }
' _ "$cli_bin" "$plain_path" "$vector_sum" "$python"
check "command: bin/yunxin-ecp-mock starts (listening on 127.0.0.1), takes a call and a query from yunxin-ecp, stops at stdin EOF" \
  env -i HOME="$HOME" PATH="$plain_path" "$python" "$repo/tests/dist/cli_mock.py" "$cli_bin" mock-binary
check "command: yunxin-ecp mock likewise" \
  env -i HOME="$HOME" PATH="$plain_path" "$python" "$repo/tests/dist/cli_mock.py" "$cli_bin" mock-subcommand
cli_bytes=$(stat -c %s "$cli_tarball" 2>/dev/null || echo 0)
figures+=("command tarball: $(basename "$cli_tarball"), $cli_bytes bytes; bin/yunxin-ecp $(stat -c %s "$cli_bin/yunxin-ecp" 2>/dev/null || echo 0) bytes, bin/yunxin-ecp-mock $(stat -c %s "$cli_bin/yunxin-ecp-mock" 2>/dev/null || echo 0) bytes")
mock_bin="$cli_bin/yunxin-ecp-mock"

# --- the Java library: the jar, its sources and javadoc, its pom --------------------------------
java_root="$build/java"
mkdir -p "$java_root/natives"
check "jar: natives/linux-x86_64/libyunxin_ecp_jni.so, Java 8 class files (major version 52)" "$python" -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar:
    names = jar.namelist()
    for name in ("natives/linux-x86_64/libyunxin_ecp_jni.so", "io/github/yunxinecp/Client.class",
                 "io/github/yunxinecp/CallbackVerifier.class", "io/github/yunxinecp/YunxinEcp.class"):
        if name not in names:
            sys.exit(f"missing {name}")
    majors = {int.from_bytes(jar.read(n)[6:8], "big") for n in names if n.endswith(".class")}
    print("class file major versions:", sorted(majors))
    if majors != {52}:
        sys.exit("not Java 8 bytecode throughout")
    natives = [n for n in names if n.startswith("natives/") and not n.endswith("/")]
    if natives != ["natives/linux-x86_64/libyunxin_ecp_jni.so"]:
        sys.exit(f"natives: {natives}")
    open(sys.argv[2], "wb").write(jar.read(natives[0]))
' "$jar" "$java_root/natives/libyunxin_ecp_jni.so"
check "jar's libyunxin_ecp_jni.so: stripped, GLIBC_ at most 2.17 (objdump -T), no build-machine path" \
  natives_ok "$java_root/natives/libyunxin_ecp_jni.so"
check "sources and javadoc jars: the API's sources (no native library), its pages" "$python" -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as sources, zipfile.ZipFile(sys.argv[2]) as docs:
    s, d = sources.namelist(), docs.namelist()
    for name in ("io/github/yunxinecp/Client.java", "io/github/yunxinecp/CallbackVerifier.java",
                 "io/github/yunxinecp/testing/MockServer.java"):
        if name not in s or not sources.read(name):
            sys.exit(f"sources: missing {name}")
    if any(n.endswith(".so") or n.endswith(".class") for n in s):
        sys.exit("sources: a native library or a class file")
    for name in ("index.html", "io/github/yunxinecp/Client.html", "io/github/yunxinecp/CallbackVerifier.html"):
        if name not in d or not docs.read(name):
            sys.exit(f"javadoc: missing {name}")
    if b"checksum" not in docs.read("io/github/yunxinecp/YunxinEcp.html"):
        sys.exit("javadoc: YunxinEcp.html does not document checksum")
    print(len(s), "entries in the sources jar,", len(d), "in the javadoc jar")
' "$sources_jar" "$javadoc_jar"
check "pom: io.github.yunxin-ecp:yunxin-ecp:$version, packaging jar, no compile or runtime dependency" "$python" -c '
import sys, xml.etree.ElementTree as ET
q = lambda t: "{http://maven.apache.org/POM/4.0.0}" + t
p = ET.parse(sys.argv[1]).getroot()
got = tuple(p.findtext(q(t)) for t in ("modelVersion", "groupId", "artifactId", "version", "packaging"))
print(got)
if got != ("4.0.0", "io.github.yunxin-ecp", "yunxin-ecp", sys.argv[2], "jar"):
    sys.exit("coordinates")
deps = [d for d in p.iter(q("dependency")) if d.findtext(q("scope"), "compile") in ("compile", "runtime")]
if deps or p.find(q("build")) is not None or "${" in open(sys.argv[1]).read():
    sys.exit("a dependency, a build section or an unresolved property")
' "$pom" "$version"
# Maven with a fresh local repository (its plugins from Maven Central), no Rust on PATH.
m2="$java_root/m2"
app="$java_root/app"
plain_env=(env -i HOME="$HOME" PATH="$plain_path" LANG=C.UTF-8)
mvn_cmd=("${plain_env[@]}" mvn -B -Dstyle.color=never -Dmaven.repo.local="$m2")
no_rust() {
  "${plain_env[@]}" bash -c '! command -v cargo && ! command -v rustc' || { echo "cargo or rustc on the PATH"; return 1; }
}
maven_install() {
  local installed="$m2/io/github/yunxin-ecp/yunxin-ecp/$version"
  (cd "$(mktemp -d "$build/fresh.XXXXXX")" && "${mvn_cmd[@]}" install:install-file -Dfile="$jar" \
    -DpomFile="$pom" -Dsources="$sources_jar" -Djavadoc="$javadoc_jar") || return 1
  ls -l "$installed"
  cmp "$installed/yunxin-ecp-$version.jar" "$jar" && cmp "$installed/yunxin-ecp-$version.pom" "$pom" &&
    cmp "$installed/yunxin-ecp-$version-sources.jar" "$sources_jar" &&
    cmp "$installed/yunxin-ecp-$version-javadoc.jar" "$javadoc_jar"
}
maven_project() {
  no_rust || return 1
  rm -rf "$app" && mkdir -p "$app" && cp -R "$repo/tests/dist/java/." "$app/" || return 1
  (cd "$app" && "${mvn_cmd[@]}" -q -Dyunxin.version="$version" package dependency:build-classpath \
    -Dmdep.outputFile=classpath.txt) || return 1
  echo "classpath: $(cat "$app/classpath.txt")"
  [ "$(cat "$app/classpath.txt")" = "$m2/io/github/yunxin-ecp/yunxin-ecp/$version/yunxin-ecp-$version.jar" ] ||
    { echo "the classpath is not the installed jar alone"; return 1; }
  [ -f "$app/target/classes/DistCheck.class" ]
}
java_program() {
  local fresh
  no_rust || return 1
  fresh="$(mktemp -d "$build/fresh.XXXXXX")" && mkdir -p "$fresh/tmp" || return 1
  (cd "$fresh" && "${plain_env[@]}" java -Djava.io.tmpdir="$fresh/tmp" \
    -cp "$app/target/classes:$(cat "$app/classpath.txt")" DistCheck "$mock_bin" "$vector_sum")
}
check "mvn install:install-file the jar with its pom (and its sources and javadoc) into a fresh local repository" maven_install
check "a Maven project depending on io.github.yunxin-ecp:yunxin-ecp:$version builds (Java 8) with no Rust on PATH" maven_project
check "Java program from a fresh directory: CheckSum (vs sha1sum), a call on the command tarball's mock, its callback verified" java_program
jar_bytes=$(stat -c %s "$jar" 2>/dev/null || echo 0)
figures+=("jar: $(basename "$jar"), $jar_bytes bytes (libyunxin_ecp_jni.so $(stat -c %s "$java_root/natives/libyunxin_ecp_jni.so" 2>/dev/null || echo 0) bytes inside); sources $(stat -c %s "$sources_jar" 2>/dev/null || echo 0) bytes, javadoc $(stat -c %s "$javadoc_jar" 2>/dev/null || echo 0) bytes")

# --- the npm package -----------------------------------------------------------------------------
npm_root="$build/npm"
mkdir -p "$npm_root/unpacked"
# What the package may hold: the entry points, their declarations, the test helpers, the framework
# helpers, and the one addon; never the Rust sources, examples, tests or a lock file.
check "npm package: package.json, index.js/.mjs/.d.ts, testing.js/.mjs/.d.ts, the addon; nothing else" bash -c '
  tar tzf "$1" | sort >"$2/list" && cat "$2/list" && tar xzf "$1" -C "$2/unpacked" || exit 1
  for f in package.json index.js index.mjs index.d.ts testing.js testing.mjs testing.d.ts yunxin-ecp.linux-x64-gnu.node; do
    grep -qx "package/$f" "$2/list" || { echo "missing $f"; exit 1; }
  done
  extra="$(grep -Evx "package/(package\.json|README\.md|LICENSE[^/]*|yunxin-ecp\.linux-x64-gnu\.node|(index|testing|native|express|fastify|koa|callback-http)(\.d\.ts|\.js|\.mjs))" "$2/list")"
  [ -z "$extra" ] || { echo "not part of the package: $extra"; exit 1; }
  [ "$(node -p "require(process.argv[1]).version" "$2/unpacked/package/package.json")" = "$3" ] ||
    { echo "package.json version is not $3"; exit 1; }
' _ "$npm_tgz" "$npm_root" "$version"
check "npm package's addon: stripped, GLIBC_ at most 2.17 (objdump -T), no build-machine path" \
  natives_ok "$npm_root/unpacked/package/yunxin-ecp.linux-x64-gnu.node"
node_app="$npm_root/app"
addon_inside="$npm_root/unpacked/package/yunxin-ecp.linux-x64-gnu.node"
node_env=(env -i HOME="$node_app/home" PATH="$plain_path" npm_config_cache="$node_app/home/.npm"
  npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false)
npm_project() {
  no_rust || return 1
  rm -rf "$node_app" && mkdir -p "$node_app/home" || return 1
  (cd "$node_app" && "${node_env[@]}" npm init -y >/dev/null && "${node_env[@]}" npm install --offline "$npm_tgz" &&
    "${node_env[@]}" npm install --save-dev typescript@5 @types/node@20) || return 1
  cmp "$node_app/node_modules/yunxin-ecp/yunxin-ecp.linux-x64-gnu.node" "$addon_inside"
}
typescript_build() {
  cp "$repo/tests/dist/node/main.ts" "$node_app/main.ts" || return 1
  (cd "$node_app" && "${node_env[@]}" node_modules/.bin/tsc --strict --target es2022 --module nodenext \
    --moduleResolution nodenext --types node main.ts) && [ -s "$node_app/main.js" ]
}
typescript_program() {
  no_rust || return 1
  (cd "$node_app" && "${node_env[@]}" node main.js "$mock_bin" "$vector_sum")
}
node_entry_points() {
  local cjs esm
  cjs="$(cd "$node_app" && "${node_env[@]}" node -e '
    const y = require("yunxin-ecp"); const t = require("yunxin-ecp/testing");
    if (typeof t.MockServer !== "function") throw new Error("no MockServer");
    console.log(y.checksum("xxxxxxxx", "4tgggergigwow323t23t", 1443592222));')" || return 1
  esm="$(cd "$node_app" && "${node_env[@]}" node --input-type=module -e '
    import { checksum, Client } from "yunxin-ecp"; import { MockServer } from "yunxin-ecp/testing";
    if (typeof Client !== "function" || typeof MockServer !== "function") throw new Error("missing exports");
    console.log(checksum("xxxxxxxx", "4tgggergigwow323t23t", "1443592222"));')" || return 1
  echo "require: $cjs"
  echo "import: $esm"
  [ "$cjs" = "$vector_sum" ] && [ "$esm" = "$vector_sum" ] || { echo "want $vector_sum (sha1sum)"; return 1; }
}
check "npm install the tarball (offline) into a fresh project; typescript and @types/node from the registry" npm_project
check "tsc --strict compiles a TypeScript program against the package's declarations" typescript_build
check "TypeScript program (no Rust on PATH): CheckSum (vs sha1sum), a call on the command tarball's mock via MockServer, its callback verified, MockServer.stop() returns" typescript_program
check "CommonJS require and ESM import of yunxin-ecp and yunxin-ecp/testing load and sign (vs sha1sum)" node_entry_points
npm_bytes=$(stat -c %s "$npm_tgz" 2>/dev/null || echo 0)
figures+=("npm package: $(basename "$npm_tgz"), $npm_bytes bytes (yunxin-ecp.linux-x64-gnu.node $(stat -c %s "$npm_root/unpacked/package/yunxin-ecp.linux-x64-gnu.node" 2>/dev/null || echo 0) bytes inside)")

finish
