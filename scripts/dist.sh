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
say "cargo zigbuild --release -p yunxin-ecp-ffi --target $triple.$glibc_floor (target dir $sdk_target)"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
# cargo-zigbuild finds zig as `python3 -m ziglang`, through the venv's python on PATH.
PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$sdk_target" YUNXIN_ECP_SONAME=1 \
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--remap-path-prefix=$repo=yunxin-ecp-$version --remap-path-prefix=$cargo_home=cargo --remap-path-prefix=$rustup_home=rustup" \
  "$venv/bin/cargo-zigbuild" zigbuild --release -p yunxin-ecp-ffi --target "$triple.$glibc_floor" ||
  die "cargo zigbuild --release -p yunxin-ecp-ffi"
root="$stage/$sdk"
bash ffi-c/install.sh --no-build --strip --from "$sdk_target/$triple/release" "$root" >/dev/null ||
  die "ffi-c/install.sh"
soname="$(readelf -d "$root/lib/libyunxin_ecp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')"
[ "$soname" = libyunxin_ecp.so.0 ] && [ -L "$root/lib/libyunxin_ecp.so" ] && [ -f "$root/lib/$soname" ] ||
  die "lib/: expected libyunxin_ecp.so.0 with a libyunxin_ecp.so symlink (SONAME: ${soname:-none})"
install -D -m 0644 php/YunxinEcp.php "$root/php/YunxinEcp.php"
install -D -m 0644 php/preload.php "$root/php/preload.php"
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
glibc="$(objdump -T "$root/lib/libyunxin_ecp.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)"
[ "$(printf '%s\n' "$glibc" "$glibc_floor" | sort -V | tail -n 1)" = "$glibc_floor" ] ||
  die "libyunxin_ecp.so needs GLIBC_$glibc, newer than $glibc_floor"
sed -e "s|@VERSION@|$version|g" -e "s|@VERSION_MM@|${version%.*}|g" -e "s|@TRIPLE@|$triple|g" \
  -e "s|@GLIBC@|$glibc|g" packaging/sdk/README.md >"$root/README.md"
# Reproducible: names sorted, no owner, every time the last commit's.
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
  -C "$stage" -cf - "$sdk" | gzip -n >"$dist/$sdk.tar.gz" || die "tar $sdk"

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

(cd "$dist" && sha256sum -- *.whl *.tar.gz >SHA256SUMS)

echo
say "artifacts in $dist (version $version, $triple)"
for file in "$dist"/*; do
  printf '  %-76s %10s bytes\n' "$(basename "$file")" "$(stat -c %s "$file")"
done
say "wheel platform tag (auditwheel show): ${tag:-unknown}"
say "libyunxin_ecp needs glibc >= $glibc (SONAME $soname); stripped sizes: $soname $(stat -c %s "$root/lib/$soname") bytes, libyunxin_ecp.a $(stat -c %s "$root/lib/libyunxin_ecp.a") bytes"
say "done in $(($(date +%s) - began)) s"
