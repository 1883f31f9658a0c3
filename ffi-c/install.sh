#!/usr/bin/env bash
# Installs libyunxin_ecp (shared and static), its headers and a pkg-config file under a prefix:
#
#   ffi-c/install.sh [PREFIX]            # default /usr/local; builds the release library first
#   ffi-c/install.sh --no-build PREFIX   # installs what target/release already holds
#
# Afterwards:  cc app.c $(pkg-config --cflags --libs yunxin_ecp)
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a prefix pkg-config does not search), and for a
# static link:  cc app.c $(pkg-config --cflags yunxin_ecp) PREFIX/lib/libyunxin_ecp.a \
#               $(pkg-config --static --libs-only-l yunxin_ecp | sed 's/-lyunxin_ecp//')
# Honours CARGO_TARGET_DIR.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build=1
if [ "${1:-}" = "--no-build" ]; then
  build=0
  shift
fi
prefix="${1:-/usr/local}"
target="${CARGO_TARGET_DIR:-$repo/target}"

if [ "$build" = 1 ]; then
  (cd "$repo" && cargo build --release -p yunxin-ecp-ffi)
fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)"

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 "$repo/include/yunxin_ecp.h" "$repo/include/yunxin_ecp_php.h" "$prefix/include/"
install -m 0755 "$target/release/libyunxin_ecp.so" "$prefix/lib/"
install -m 0644 "$target/release/libyunxin_ecp.a" "$prefix/lib/"
prefix_abs="$(cd "$prefix" && pwd)"
sed -e "s|@PREFIX@|$prefix_abs|" -e "s|@VERSION@|$version|" \
  "$repo/ffi-c/yunxin_ecp.pc.in" > "$prefix/lib/pkgconfig/yunxin_ecp.pc"
echo "installed libyunxin_ecp $version under $prefix_abs"
