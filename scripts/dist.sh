#!/usr/bin/env bash
# Builds what users install, into dist/ (gitignored):
#
#   yunxin_ecp-VERSION-cp310-abi3-manylinux_2_17_x86_64.whl  the Python package (abi3: any CPython >= 3.10)
#   yunxin_ecp-VERSION.tar.gz                                 its sdist (maturin)
#   yunxin-ecp-VERSION-TRIPLE.tar.gz                          the C SDK: include/, lib/ (shared and
#       static, stripped; libyunxin_ecp.so.0, its SONAME, with the libyunxin_ecp.so symlink),
#       lib/pkgconfig/yunxin_ecp.pc and lib/cmake/yunxin_ecp/ (both relocatable), php/ and csharp/
#       (the wrappers), examples/{c,php,csharp}, README.md, and composer.json: the tree is a
#       Composer package (a path repository), whose wrapper finds lib/ and include/ by itself
#   yunxin-ecp-VERSION.jar                                    the Java library: the classes (Java 8
#       bytecode) and natives/linux-x86_64/libyunxin_ecp_jni.so (stripped), no dependency
#   yunxin-ecp-VERSION-sources.jar, yunxin-ecp-VERSION-javadoc.jar   its sources and its API docs
#   yunxin-ecp-VERSION.pom                                    its pom (io.github.yunxin-ecp:yunxin-ecp),
#       for `mvn install:install-file -Dfile=yunxin-ecp-VERSION.jar -DpomFile=yunxin-ecp-VERSION.pom`
#   yunxin-ecp-VERSION.tgz                                    the npm package yunxin-ecp (`npm install
#       ./yunxin-ecp-VERSION.tgz`): index.js/.mjs/.d.ts, testing.*, the framework helpers that
#       node/package.json's `files` name, and yunxin-ecp.linux-x64-gnu.node (glibc 2.17)
#   yunxin-ecp-cli-VERSION-TRIPLE.tar.gz                      the operators' command: bin/yunxin-ecp,
#       bin/yunxin-ecp-mock (the mock the Java and Node test helpers start), README.md
#   SHA256SUMS                                                of every artifact above
#
#   bash scripts/dist.sh
#
# The wheel is linked with zig (maturin --zig, the ziglang package from PyPI) against glibc 2.17,
# so that it installs on any manylinux2014 system (RHEL 7+, Debian 9+, Ubuntu 18.04+), in its own
# target directory (TARGET/dist-zig: zig as the C compiler would otherwise rebuild the shared
# one). YUNXIN_DIST_WHEEL=native builds it with the system toolchain instead, in TARGET, which is
# faster when TARGET is warm but tags the wheel with this machine's glibc (manylinux_2_34 on
# Debian 12).
#
# The C SDK's libraries are linked the same way, with cargo-zigbuild (`cargo zigbuild --target
# x86_64-unknown-linux-gnu.2.17`, the same zig), so that they load on glibc 2.17 too, in
# TARGET/dist-sdk (the test suites' TARGET/release keeps its own build). That build sets
# YUNXIN_ECP_SONAME=1 (ffi-c/build.rs: the SONAME libyunxin_ecp.so.0) and remaps the workspace,
# cargo's and rustup's homes in every path rustc records (panic locations), so that no path of
# the build machine is in the libraries.
#
# The JNI library (in the jar), the Node addon (in the npm package) and the two programs of the
# command's tarball are built the same way, in the same TARGET/dist-sdk (one build of the core
# per feature set, shared), stripped, and each checked for GLIBC_ symbol versions (objdump -T):
# none newer than 2.17. The jar, its sources and its javadoc are built by Maven from a copy of
# java/pom.xml and java/src/main (a build in java/ would share java/target with the test
# suite's), with maven-source-plugin and maven-javadoc-plugin named on the command line; the
# pom beside it is java/pom.xml reduced to what a consumer reads (packaging/java/consumer_pom.py).
# The npm package is packed (`npm pack`) from a copy of what node/package.json's `files` name,
# its addon replaced by the glibc 2.17 one. Java, Maven and Node (npm) must be installed.
#
# The sdist is finished by packaging/python/finish_sdist.py: the Python examples go in at
# examples/python/, and its build backend checks for cargo before maturin runs, naming the wheel
# to install instead of letting maturin download a Rust toolchain.
#
# Tools go into a build venv (.venv-dist, or YUNXIN_DIST_VENV): maturin, auditwheel, ziglang,
# cargo-zigbuild.
# Honours CARGO_TARGET_DIR and DIST_DIR. Prints each artifact with its size, and the wheel's
# platform tag as auditwheel reads it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
dist="${DIST_DIR:-$repo/dist}"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="${YUNXIN_DIST_VENV:-$repo/.venv-dist}"
python="${PYTHON:-python3}"
wheel_mode="${YUNXIN_DIST_WHEEL:-zig}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
triple="$(rustc -vV | sed -n 's/^host: //p')"
# The oldest glibc the C SDK and the wheel are linked against.
glibc_floor=2.17
sdk="yunxin-ecp-$version-$triple"
began=$(date +%s)

say() { echo "dist: $*"; }
die() {
  echo "dist: FAILED: $*" >&2
  exit 1
}

case "$wheel_mode" in
  zig | native) ;;
  *) die "YUNXIN_DIST_WHEEL must be zig or native, not $wheel_mode" ;;
esac

# --- build tools ----------------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "creating the build venv $venv"
  "$python" -m venv "$venv" || die "could not create a venv with $python"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
want=()
[ -x "$venv/bin/maturin" ] || want+=("maturin>=1.5,<2")
[ -x "$venv/bin/auditwheel" ] || want+=("auditwheel>=6")
if ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  want+=("ziglang")
fi
[ -x "$venv/bin/cargo-zigbuild" ] || want+=("cargo-zigbuild")
if [ ${#want[@]} -gt 0 ]; then
  say "pip install ${want[*]} (into $venv)"
  "${pip[@]}" install --progress-bar off "${want[@]}" || die "pip install ${want[*]}"
fi
maturin="$venv/bin/maturin"

rm -rf "$dist"
mkdir -p "$dist"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# --- the C SDK ------------------------------------------------------------------------------
case "$triple" in
  x86_64-unknown-linux-gnu) ;;
  *) die "the C SDK is built for x86_64-unknown-linux-gnu (glibc $glibc_floor), not $triple" ;;
esac
sdk_target="$target/dist-sdk"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
remap="--remap-path-prefix=$repo=yunxin-ecp-$version --remap-path-prefix=$cargo_home=cargo --remap-path-prefix=$rustup_home=rustup"
release="$sdk_target/$triple/release"
# zigbuild PACKAGE: `cargo zigbuild --release` of one package against glibc 2.17, into
# TARGET/dist-sdk, every recorded path remapped. cargo-zigbuild finds zig as `python3 -m
# ziglang`, through the venv's python on PATH.
zigbuild() {
  say "cargo zigbuild --release -p $1 --target $triple.$glibc_floor (target dir $sdk_target)"
  PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$sdk_target" RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$remap" \
    "$venv/bin/cargo-zigbuild" zigbuild --release -p "$1" --target "$triple.$glibc_floor" ||
    die "cargo zigbuild --release -p $1"
}
# glibc_of FILE: the newest GLIBC_ symbol version FILE needs (objdump -T).
glibc_of() {
  objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1
}
# glibc_ok FILE: dies unless FILE needs glibc 2.17 at most.
glibc_ok() {
  local found
  found="$(glibc_of "$1")"
  [ -n "$found" ] || die "$(basename "$1"): no GLIBC_ symbol version read (objdump -T)"
  [ "$(printf '%s\n' "$found" "$glibc_floor" | sort -V | tail -n 1)" = "$glibc_floor" ] ||
    die "$(basename "$1") needs GLIBC_$found, newer than $glibc_floor"
}
YUNXIN_ECP_SONAME=1 zigbuild yunxin-ecp-ffi
root="$stage/$sdk"
bash ffi-c/install.sh --no-build --strip --from "$release" "$root" >/dev/null ||
  die "ffi-c/install.sh"
soname="$(readelf -d "$root/lib/libyunxin_ecp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')"
[ "$soname" = libyunxin_ecp.so.0 ] && [ -L "$root/lib/libyunxin_ecp.so" ] && [ -f "$root/lib/$soname" ] ||
  die "lib/: expected libyunxin_ecp.so.0 with a libyunxin_ecp.so symlink (SONAME: ${soname:-none})"
install -D -m 0644 php/YunxinEcp.php "$root/php/YunxinEcp.php"
install -D -m 0644 php/preload.php "$root/php/preload.php"
install -D -m 0644 php/CallbackMiddleware.php "$root/php/CallbackMiddleware.php"
install -D -m 0644 csharp/YunxinEcp.cs "$root/csharp/YunxinEcp.cs"
install -D -m 0644 csharp/YunxinEcpAsync.cs "$root/csharp/YunxinEcpAsync.cs"
# The tree is the PHP package too: the repository's composer.json with the version, which a path
# repository needs (it has no tag to read it from). php/YunxinEcp.php finds ../lib and ../include.
"$python" - "$repo/composer.json" "$version" >"$root/composer.json" <<'PY' || die "composer.json"
import json, sys
package = json.load(open(sys.argv[1]))
out = {"name": package.pop("name"), "version": sys.argv[2]}
out.update(package)
print(json.dumps(out, indent=4, ensure_ascii=False))
PY
for dir in examples/c examples/php examples/csharp; do
  # Sources only: no program a local build left there.
  find "$dir" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' -o -name '*.php' -o -name '*.cs' \
    -o -name Makefile -o -name CMakeLists.txt -o -name '*.md' \) -print0 |
    while IFS= read -r -d '' file; do
      install -D -m 0644 "$file" "$root/$file"
    done
done
glibc_ok "$root/lib/libyunxin_ecp.so"
glibc="$(glibc_of "$root/lib/libyunxin_ecp.so")"
sed -e "s|@VERSION@|$version|g" -e "s|@VERSION_MM@|${version%.*}|g" -e "s|@TRIPLE@|$triple|g" \
  -e "s|@GLIBC@|$glibc|g" packaging/sdk/README.md >"$root/README.md"
# Reproducible: names sorted, no owner, every time the last commit's.
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
  -C "$stage" -cf - "$sdk" | gzip -n >"$dist/$sdk.tar.gz" || die "tar $sdk"

# --- the Java library: the jar (with the JNI library), its sources, its javadoc, its pom -----
command -v mvn >/dev/null 2>&1 || die "the jar needs Maven (mvn) and a JDK (apt-get install maven)"
zigbuild yunxin-ecp-jni
natives="$stage/natives"
install -D -m 0755 "$release/libyunxin_ecp_jni.so" "$natives/libyunxin_ecp_jni.so"
strip --strip-unneeded "$natives/libyunxin_ecp_jni.so" || die "strip libyunxin_ecp_jni.so"
glibc_ok "$natives/libyunxin_ecp_jni.so"
say "the pom (packaging/java/consumer_pom.py java/pom.xml)"
"$python" packaging/java/consumer_pom.py java/pom.xml "$version" >"$dist/yunxin-ecp-$version.pom" ||
  die "packaging/java/consumer_pom.py (java/pom.xml's version must be $version)"
# From a copy: the test suite's build in java/target is left alone, and no test source is
# compiled. The javadoc links no external site (no network beyond Maven's repositories).
java_build="$stage/java"
mkdir -p "$java_build/src"
cp java/pom.xml "$java_build/pom.xml" && cp -R java/src/main "$java_build/src/main" || die "copy java/"
say "mvn package (the jar, -sources.jar, -javadoc.jar)"
(cd "$java_build" && mvn -q -B -Dstyle.color=never package -DskipTests -Dmaven.test.skip=true \
  -Dnative.dir="$natives" -Dproject.build.outputTimestamp="$epoch" \
  -Dmaven.source.excludeResources=true -DdetectJavaApiLink=false \
  org.apache.maven.plugins:maven-source-plugin:3.3.1:jar-no-fork \
  org.apache.maven.plugins:maven-javadoc-plugin:3.11.2:jar) ||
  die "mvn package (the jar, its sources and its javadoc)"
for suffix in "" -sources -javadoc; do
  jar="$java_build/target/yunxin-ecp-$version$suffix.jar"
  [ -s "$jar" ] || die "mvn made no $(basename "$jar")"
  cp "$jar" "$dist/" || die "copy $(basename "$jar")"
done
# The jar's native library is the one just checked, byte for byte.
"$python" -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar:
    inside = jar.read("natives/linux-x86_64/libyunxin_ecp_jni.so")
sys.exit(0 if inside == open(sys.argv[2], "rb").read() else 1)
' "$dist/yunxin-ecp-$version.jar" "$natives/libyunxin_ecp_jni.so" ||
  die "the jar's natives/linux-x86_64/libyunxin_ecp_jni.so is not the glibc $glibc_floor build"

# --- the npm package: the addon for glibc 2.17, packed from a copy of node/ ------------------
command -v npm >/dev/null 2>&1 || die "the npm package needs Node.js and npm (apt-get install nodejs npm)"
zigbuild yunxin-ecp-node
node_pkg="$stage/node"
mkdir -p "$node_pkg"
package_version="$(cd node && node -p 'require("./package.json").version')" || die "node/package.json"
[ "$package_version" = "$version" ] || die "node/package.json has version $package_version, not $version"
# What npm would pack from node/ (its `files`), copied; the addon of a local build left out.
(cd node && npm pack --dry-run --json --ignore-scripts 2>/dev/null) >"$stage/node-files.json" ||
  die "npm pack --dry-run in node/"
"$python" -c 'import json, sys; [print(f["path"]) for f in json.load(open(sys.argv[1]))[0]["files"]]' \
  "$stage/node-files.json" >"$stage/node-files.txt" || die "npm pack --dry-run in node/: no file list"
while IFS= read -r file; do
  case "$file" in *.node) continue ;; esac
  install -D -m 0644 "node/$file" "$node_pkg/$file" || die "copy node/$file"
done <"$stage/node-files.txt"
install -m 0755 "$release/libyunxin_ecp_node.so" "$node_pkg/yunxin-ecp.linux-x64-gnu.node"
strip --strip-unneeded "$node_pkg/yunxin-ecp.linux-x64-gnu.node" || die "strip the addon"
glibc_ok "$node_pkg/yunxin-ecp.linux-x64-gnu.node"
node -e 'require(process.argv[1]).checksum("s", "n", 1)' "$node_pkg" ||
  die "the copy of node/ does not load its addon"
say "npm pack (yunxin-ecp-$version.tgz)"
(cd "$node_pkg" && npm pack --ignore-scripts --silent --pack-destination "$dist" >/dev/null) ||
  die "npm pack"
[ -s "$dist/yunxin-ecp-$version.tgz" ] || die "npm pack made no yunxin-ecp-$version.tgz"

# --- the command: yunxin-ecp and yunxin-ecp-mock -----------------------------------------------
cli="yunxin-ecp-cli-$version-$triple"
zigbuild yunxin-ecp-cli
zigbuild yunxin-ecp-mock
for program in yunxin-ecp yunxin-ecp-mock; do
  install -D -m 0755 "$release/$program" "$stage/$cli/bin/$program"
  strip "$stage/$cli/bin/$program" || die "strip $program"
  glibc_ok "$stage/$cli/bin/$program"
done
"$stage/$cli/bin/yunxin-ecp" --version | grep -qx "yunxin-ecp $version" ||
  die "bin/yunxin-ecp --version does not say $version"
cli_glibc="$(for program in yunxin-ecp yunxin-ecp-mock; do glibc_of "$stage/$cli/bin/$program"; done |
  sort -V | tail -n 1)"
sed -e "s|@VERSION@|$version|g" -e "s|@TRIPLE@|$triple|g" -e "s|@GLIBC@|$cli_glibc|g" \
  packaging/cli/README.md >"$stage/$cli/README.md"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
  -C "$stage" -cf - "$cli" | gzip -n >"$dist/$cli.tar.gz" || die "tar $cli"

# --- the wheel and the sdist ----------------------------------------------------------------
if [ "$wheel_mode" = zig ]; then
  say "maturin build --release --zig --compatibility manylinux_2_17 (target dir $target/dist-zig)"
  # maturin runs `python -m ziglang` through the venv's python, found on PATH.
  PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$target/dist-zig" "$maturin" build --release \
    --zig --compatibility manylinux_2_17 -m py/Cargo.toml -i "$venv/bin/python" -o "$dist" ||
    die "maturin build --zig"
else
  say "maturin build --release (target dir $target)"
  CARGO_TARGET_DIR="$target" "$maturin" build --release -m py/Cargo.toml -i "$venv/bin/python" \
    -o "$dist" || die "maturin build"
fi
say "maturin sdist"
"$maturin" sdist -m py/Cargo.toml -o "$dist" || die "maturin sdist"

wheels=("$dist"/*.whl)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || die "expected one wheel in $dist"
wheel="${wheels[0]}"
say "the sdist: examples/python, and a build backend that names $(basename "$wheel") when cargo is missing"
"$python" packaging/python/finish_sdist.py "$dist/yunxin_ecp-$version.tar.gz" "$repo" "$version" \
  "$(basename "$wheel")" "$epoch" || die "packaging/python/finish_sdist.py"
show="$("$venv/bin/auditwheel" show "$wheel" 2>&1)" || die "auditwheel show: $show"
tag="$(echo "$show" | tr '\n' ' ' | sed -n 's/.*following platform tag: *"\([^"]*\)".*/\1/p')"

(cd "$dist" && sha256sum -- *.whl *.tar.gz *.jar *.pom *.tgz >SHA256SUMS)

echo
say "artifacts in $dist (version $version, $triple)"
for file in "$dist"/*; do
  printf '  %-76s %10s bytes\n' "$(basename "$file")" "$(stat -c %s "$file")"
done
say "wheel platform tag (auditwheel show): ${tag:-unknown}"
say "libyunxin_ecp needs glibc >= $glibc (SONAME $soname); stripped sizes: $soname $(stat -c %s "$root/lib/$soname") bytes, libyunxin_ecp.a $(stat -c %s "$root/lib/libyunxin_ecp.a") bytes"
say "stripped natives (glibc >= $glibc_floor): libyunxin_ecp_jni.so $(stat -c %s "$natives/libyunxin_ecp_jni.so") bytes, yunxin-ecp.linux-x64-gnu.node $(stat -c %s "$node_pkg/yunxin-ecp.linux-x64-gnu.node") bytes, bin/yunxin-ecp $(stat -c %s "$stage/$cli/bin/yunxin-ecp") bytes, bin/yunxin-ecp-mock $(stat -c %s "$stage/$cli/bin/yunxin-ecp-mock") bytes"
say "done in $(($(date +%s) - began)) s"
