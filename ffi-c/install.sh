#!/usr/bin/env bash
# Installs libyunxin_ecp (shared and static), its header, a pkg-config file and a CMake package
# under a prefix:
#
#   ffi-c/install.sh [PREFIX]            # default /usr/local; builds the release library first
#   ffi-c/install.sh --no-build PREFIX   # installs what target/release already holds
#   ffi-c/install.sh --strip PREFIX      # strips the installed copies (what scripts/dist.sh ships)
#   ffi-c/install.sh --no-build --from DIR PREFIX   # the libraries in DIR instead of target/release
#                                        # (scripts/dist.sh: its cargo zigbuild output)
#
# The tree it writes:
#
#   PREFIX/include/yunxin_ecp.h
#   PREFIX/lib/libyunxin_ecp.so, libyunxin_ecp.a
#       (a library built with a SONAME, as scripts/dist.sh builds it with YUNXIN_ECP_SONAME=1, is
#       installed under that name, libyunxin_ecp.so.0, with libyunxin_ecp.so a symlink to it:
#       programs record and load libyunxin_ecp.so.0, links find libyunxin_ecp.so)
#   PREFIX/lib/pkgconfig/yunxin_ecp.pc
#   PREFIX/lib/cmake/yunxin_ecp/yunxin_ecpConfig.cmake, yunxin_ecpConfigVersion.cmake
#
# Both the pkg-config file and the CMake package find the prefix from their own place, so the
# tree can be moved or copied as a whole. Afterwards:
#
#   cc app.c $(pkg-config --cflags --libs yunxin_ecp)
#
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a prefix pkg-config does not search; the
# program gets an rpath to PREFIX/lib and runs without LD_LIBRARY_PATH), for a static link:
#
#   cc app.c $(pkg-config --cflags yunxin_ecp) $(pkg-config --variable=staticlib yunxin_ecp) \
#      $(pkg-config --static --libs-only-l yunxin_ecp | sed 's/-lyunxin_ecp//')
#
# and with CMake (CMAKE_PREFIX_PATH=PREFIX): find_package(yunxin_ecp CONFIG REQUIRED), then
# target_link_libraries(app PRIVATE yunxin_ecp::yunxin_ecp) or yunxin_ecp::static.
# Honours CARGO_TARGET_DIR.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build=1
strip_libs=0
from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --strip) strip_libs=1 ;;
    --from)
      [ $# -ge 2 ] || { echo "install.sh: --from needs a directory" >&2; exit 2; }
      from="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "install.sh: unknown option $1" >&2
      exit 2
      ;;
    *) break ;;
  esac
  shift
done
prefix="${1:-/usr/local}"
target="${CARGO_TARGET_DIR:-$repo/target}"

if [ "$build" = 1 ]; then
  (cd "$repo" && cargo build --release -p yunxin-ecp-ffi)
fi
from="${from:-$target/release}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)"

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/yunxin_ecp"
install -m 0644 "$repo/include/yunxin_ecp.h" "$prefix/include/"
# The SONAME the library was linked with, if any (readelf is in binutils, as strip is).
soname="$(readelf -d "$from/libyunxin_ecp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')"
case "$soname" in
  "" | libyunxin_ecp.so) shared=libyunxin_ecp.so ;;
  libyunxin_ecp.so.*) shared="$soname" ;;
  *)
    echo "install.sh: $from/libyunxin_ecp.so has the unexpected SONAME $soname" >&2
    exit 1
    ;;
esac
rm -f "$prefix/lib/libyunxin_ecp.so"
install -m 0755 "$from/libyunxin_ecp.so" "$prefix/lib/$shared"
[ "$shared" = libyunxin_ecp.so ] || ln -s "$shared" "$prefix/lib/libyunxin_ecp.so"
install -m 0644 "$from/libyunxin_ecp.a" "$prefix/lib/"
if [ "$strip_libs" = 1 ]; then
  # The shared library keeps its exported (dynamic) symbols; the archive keeps every symbol a
  # link needs, and loses its debug sections and the LLVM bitcode the Rust standard library's
  # objects carry (used only for cross-language LTO).
  strip --strip-unneeded "$prefix/lib/$shared"
  strip --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd "$prefix/lib/libyunxin_ecp.a"
fi
sed -e "s|@VERSION@|$version|" "$repo/ffi-c/yunxin_ecp.pc.in" > "$prefix/lib/pkgconfig/yunxin_ecp.pc"
for file in yunxin_ecpConfig.cmake yunxin_ecpConfigVersion.cmake; do
  sed -e "s|@VERSION@|$version|" "$repo/ffi-c/cmake/$file.in" > "$prefix/lib/cmake/yunxin_ecp/$file"
done
prefix_abs="$(cd "$prefix" && pwd)"
echo "installed libyunxin_ecp $version under $prefix_abs"
