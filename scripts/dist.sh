#!/usr/bin/env bash
# Builds what users install, into dist/ (gitignored):
#
#   yunxin_ecp-VERSION-cp310-abi3-manylinux_2_17_x86_64.whl  the Python package (abi3: any CPython >= 3.10)
#   yunxin_ecp-VERSION.tar.gz                                 its sdist (maturin)
#   yunxin-ecp-VERSION-TRIPLE.tar.gz                          the C SDK: include/, lib/ (shared and
#       static, stripped), lib/pkgconfig/yunxin_ecp.pc and lib/cmake/yunxin_ecp/ (both relocatable),
#       php/ and csharp/ (the wrappers), examples/{c,php,csharp}, README.md
#   SHA256SUMS                                                of every artifact above
#
#   bash scripts/dist.sh
#
# The wheel is linked with zig (maturin --zig, the ziglang package from PyPI) against glibc 2.17,
# so that it installs on any manylinux2014 system (RHEL 7+, Debian 9+, Ubuntu 18.04+), in its own
# target directory (TARGET/dist-zig: zig as the C compiler would otherwise rebuild the shared
# one). YUNXIN_DIST_WHEEL=native builds it with the system toolchain instead, in TARGET, which is
# faster when TARGET is warm but tags the wheel with this machine's glibc (manylinux_2_34 on
# Debian 12). The C SDK reuses `cargo build --release -p yunxin-ecp-ffi` (as the C suite does).
#
# Tools go into a build venv (.venv-dist, or YUNXIN_DIST_VENV): maturin, auditwheel, ziglang.
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
if [ "$wheel_mode" = zig ] && ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  want+=("ziglang")
fi
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
say "cargo build --release -p yunxin-ecp-ffi"
cargo build --release -p yunxin-ecp-ffi || die "cargo build --release -p yunxin-ecp-ffi"
root="$stage/$sdk"
bash ffi-c/install.sh --no-build --strip "$root" >/dev/null || die "ffi-c/install.sh"
install -D -m 0644 php/YunxinEcp.php "$root/php/YunxinEcp.php"
install -D -m 0644 php/preload.php "$root/php/preload.php"
install -D -m 0644 csharp/YunxinEcp.cs "$root/csharp/YunxinEcp.cs"
for dir in examples/c examples/php examples/csharp; do
  # Sources only: no program a local build left there.
  find "$dir" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' -o -name '*.php' -o -name '*.cs' \
    -o -name Makefile -o -name CMakeLists.txt -o -name '*.md' \) -print0 |
    while IFS= read -r -d '' file; do
      install -D -m 0644 "$file" "$root/$file"
    done
done
glibc="$(objdump -T "$root/lib/libyunxin_ecp.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)"
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
show="$("$venv/bin/auditwheel" show "$wheel" 2>&1)" || die "auditwheel show: $show"
tag="$(echo "$show" | tr '\n' ' ' | sed -n 's/.*following platform tag: *"\([^"]*\)".*/\1/p')"

(cd "$dist" && sha256sum -- *.whl *.tar.gz >SHA256SUMS)

echo
say "artifacts in $dist (version $version, $triple)"
for file in "$dist"/*; do
  printf '  %-76s %10s bytes\n' "$(basename "$file")" "$(stat -c %s "$file")"
done
say "wheel platform tag (auditwheel show): ${tag:-unknown}"
say "libyunxin_ecp needs glibc >= $glibc; stripped sizes: libyunxin_ecp.so $(stat -c %s "$root/lib/libyunxin_ecp.so") bytes, libyunxin_ecp.a $(stat -c %s "$root/lib/libyunxin_ecp.a") bytes"
say "done in $(($(date +%s) - began)) s"
