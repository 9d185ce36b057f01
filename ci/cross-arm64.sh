#!/bin/sh
# Cross-build dirtybench, dirtyram and the test suites for arm64, to run
# inside the arm64 KVM test bed (ci/kernel-arm64): dynamic executables
# linked against the arm64 libraries that ci/deps-arm64.sh unpacks into
# $ARM64_CACHE/sysroot (never installed: arm64 -dev packages would
# replace the host's own).
#
# Usage: sh ci/cross-arm64.sh [--check] OBJDIR BINDIR
#   --check  only say whether the cross compiler and the sysroot are here
# Environment: ARM64_CACHE (default /var/cache/dirtybench/arm64), MAKE
#   (default make), CROSS_CC (default aarch64-linux-gnu-gcc).
# Exit status: 0 built, 1 the build failed, 3 the compiler or sysroot is
# missing (the reason is printed).
set -eu
cd "$(dirname "$0")/.."
unset MAKEFLAGS MFLAGS MAKELEVEL
: "${ARM64_CACHE:=/var/cache/dirtybench/arm64}" "${MAKE:=make}"
: "${CROSS_CC:=aarch64-linux-gnu-gcc}"
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
[ $# = 2 ] || { sed -n '9,10p' "$0" >&2; exit 2; }
S=$ARM64_CACHE/sysroot
M=aarch64-linux-gnu
command -v "$CROSS_CC" >/dev/null 2>&1 ||
	{ echo "arm64 cross build: no $CROSS_CC (apt-get install gcc-aarch64-linux-gnu)" >&2; exit 3; }
[ -f "$S/usr/lib/$M/pkgconfig/criterion.pc" ] ||
	{ echo "arm64 cross build: no arm64 libraries in $S (as root: sh ci/deps-arm64.sh)" >&2; exit 3; }
[ $check = 1 ] && exit 0
PKG_CONFIG_SYSROOT_DIR=$S PKG_CONFIG_LIBDIR=$S/usr/lib/$M/pkgconfig:$S/usr/share/pkgconfig \
	exec $MAKE O="$1" BIN="$2" CC="$CROSS_CC" \
	LDFLAGS="-Wl,-rpath-link,$S/usr/lib/$M -Wl,-rpath-link,$S/lib/$M" all tests
