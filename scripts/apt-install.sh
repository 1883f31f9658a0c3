#!/usr/bin/env bash
# Installs the given Debian packages with apt-get (through sudo unless already root), for the
# test suites that need a toolchain the machine may lack. Usage: apt-install.sh PACKAGE...
set -euo pipefail
[ $# -gt 0 ] || exit 0
echo "installing $*"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@"
