#!/bin/sh
# Install the Debian packages dirtybench needs, or say exactly what to run.
# Exit 0 when everything is there, 3 when something is missing and we are
# not root (or apt failed). DIRTYBENCH_NO_DEPS=1 skips the check;
# DIRTYBENCH_NO_ARM64=1 leaves out the arm64 test bed (ci/deps-arm64.sh);
# DIRTYBENCH_NO_QEMU_BPO=1 the backports QEMU (ci/deps-qemu.sh).
set -u
[ "${DIRTYBENCH_NO_DEPS:-}" = 1 ] && exit 0

# build and tests
PKGS="gcc make bmake pkg-config libcriterion-dev libpcre2-dev
libcurl4-openssl-dev libjansson-dev libinih-dev libxxhash-dev
gnuplot-nox iproute2 curl"
# fuzzing (make fuzz, and a short run in make check): clang and its
# libFuzzer and sanitizer runtimes
PKGS="$PKGS clang-14 libclang-rt-14-dev"
# the kernel test bed: Debian's kernel, its headers, QEMU, an initramfs
# (busybox, and a statically linked test program: libc6-dev)
PKGS="$PKGS linux-image-amd64 linux-headers-amd64 qemu-system-x86
busybox-static cpio kmod libc6-dev"
# reports and comparisons: a real HTTP server and a real browser
PKGS="$PKGS nginx-light chromium"

missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case $st in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
arm64() {
	# A second QEMU for TARGET=qemu: bookworm-backports' beside Debian's,
	# unpacked (ci/deps-qemu.sh); without it those scenarios are skipped.
	[ "${DIRTYBENCH_NO_QEMU_BPO:-}" = 1 ] || sh "$(dirname "$0")/deps-qemu.sh" ||
		echo "dirtybench: TARGET=qemu will skip the backports QEMU" >&2
	# The arm64 KVM test bed (ci/kernel-arm64): its own script, since it
	# adds a foreign architecture and backports and unpacks arm64 files.
	[ "${DIRTYBENCH_NO_ARM64:-}" = 1 ] && exit 0
	exec sh "$(dirname "$0")/deps-arm64.sh"
}
[ -z "$missing" ] && arm64

if [ "$(id -u)" != 0 ]; then
	echo "dirtybench: missing Debian packages:$missing" >&2
	echo "dirtybench: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 3
fi
echo "dirtybench: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
if ! apt-get install -y -qq --no-install-recommends $missing >/tmp/dirtybench-apt.log 2>&1; then
	tail -20 /tmp/dirtybench-apt.log >&2
	echo "dirtybench: apt-get install failed (log above)" >&2
	exit 3
fi
# nginx from Debian starts a service listening on every address: the tests
# start their own on 127.0.0.1 instead.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
if [ -f /run/nginx.pid ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
arm64
