#!/bin/sh
# The arm64 KVM test bed's dependencies (ci/kernel-arm64): QEMU for arm64 and
# the aarch64 cross compiler on the host, and two arm64 packages unpacked,
# never installed: Debian's 6.12 kernel from bookworm-backports (KVM/arm64
# with eager splitting) and a static busybox for the initramfs.
#
# Usage: sh ci/deps-arm64.sh [--check] [--print-cache]
#   --check        exit 0 when everything is there, 3 (with what to run) if not
#   --print-cache  print the cache directory and exit
# The arm64 files go to $ARM64_CACHE (default /var/cache/dirtybench/arm64):
#   Image          the kernel, uncompressed (qemu -kernel takes no gzip here)
#   busybox        static arm64 busybox
#   release        the kernel release (6.12.N+deb12-arm64)
#   sysroot/       the arm64 libraries (and their -dev files) that
#                  dirtybench links, for ci/cross-arm64.sh
# A fixed place outside the build directory: make clean keeps it, and a
# download happens once per machine. Exit 0 done, 3 missing and not root
# (or apt failed), with the exact commands to run.
set -u
: "${ARM64_CACHE:=/var/cache/dirtybench/arm64}"
check=0
case ${1:-} in
--check) check=1 ;;
--print-cache) echo "$ARM64_CACHE"; exit 0 ;;
-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
'') ;;
*) echo "deps-arm64.sh: unknown argument '$1'" >&2; exit 2 ;;
esac

HOST_PKGS="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio"
BPO=/etc/apt/sources.list.d/dirtybench-backports.list

installed() {
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	*"install ok installed"*) return 0 ;;
	esac
	return 1
}

missing=
for p in $HOST_PKGS; do
	installed "$p" || missing="$missing $p"
done
cache_ok=0
[ -s "$ARM64_CACHE/Image" ] && [ -x "$ARM64_CACHE/busybox" ] &&
	[ -s "$ARM64_CACHE/release" ] && cache_ok=1
SYSROOT_DEV="libcriterion-dev libpcre2-dev libjansson-dev libinih-dev libxxhash-dev libcurl4-openssl-dev"
sysroot_ok=0
[ -f "$ARM64_CACHE/sysroot/usr/lib/aarch64-linux-gnu/pkgconfig/criterion.pc" ] && sysroot_ok=1
[ -z "$missing" ] && [ $cache_ok = 1 ] && [ $sysroot_ok = 1 ] && exit 0

# The mirror the machine already uses for Debian, reused for backports.
mirror() {
	m=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
		/etc/apt/sources.list.d/ 2>/dev/null | grep -v security |
		head -n 1 | tr -d ' ')
	echo "${m:-http://deb.debian.org/debian}" | sed 's,/$,,'
}

if [ "$(id -u)" != 0 ] || [ $check = 1 ]; then
	[ -n "$missing" ] &&
		echo "dirtybench: arm64 test bed: missing Debian packages:$missing" >&2
	[ $cache_ok = 0 ] &&
		echo "dirtybench: arm64 test bed: no arm64 kernel and busybox in $ARM64_CACHE" >&2
	[ $sysroot_ok = 0 ] &&
		echo "dirtybench: arm64 test bed: no arm64 libraries in $ARM64_CACHE/sysroot" >&2
	echo "dirtybench: run as root: sh ci/deps-arm64.sh (it runs: dpkg --add-architecture arm64;" \
		"echo 'deb $(mirror) bookworm-backports main' >$BPO; apt-get update;" \
		"${missing:+apt-get install -y$missing;}" \
		"apt-get download linux-image-6.12.*-arm64-unsigned busybox-static:arm64;" \
		"dpkg-deb -x each; the Image gunzipped into $ARM64_CACHE; the arm64 closure of $SYSROOT_DEV downloaded and unpacked into $ARM64_CACHE/sysroot)" >&2
	exit 3
fi

export DEBIAN_FRONTEND=noninteractive
log=/tmp/dirtybench-apt-arm64.log
: >"$log"
updated=0
update() {
	[ $updated = 1 ] && return 0
	updated=1
	echo "dirtybench: apt-get update (arm64 and bookworm-backports)"
	apt-get update -qq >>"$log" 2>&1 || true
}
fail() {
	tail -20 "$log" >&2
	echo "dirtybench: arm64 test bed: $* (log above)" >&2
	exit 3
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64 || fail "dpkg --add-architecture arm64 failed"
	updated=0
fi
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deb $(mirror) bookworm-backports main" >"$BPO"
	updated=0
fi
# Lists that already know arm64 and backports need no update.
apt-cache policy busybox-static:arm64 2>/dev/null | grep -q 'Candidate: [0-9]' &&
	apt-cache search --names-only '^linux-image-6\.12\..*-arm64-unsigned$' |
	grep -q . && updated=1

if [ -n "$missing" ]; then
	update
	echo "dirtybench: installing Debian packages:$missing"
	apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1 ||
		fail "apt-get install$missing failed"
fi
[ $cache_ok = 1 ] && [ $sysroot_ok = 1 ] && exit 0

update
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The arm64 libraries dirtybench links, with everything they depend on but
# what the cross toolchain brings itself (libc, libgcc, kernel headers).
if [ $sysroot_ok = 0 ]; then
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends \
		$(for p in $SYSROOT_DEV; do echo "$p:arm64"; done) 2>/dev/null |
		grep -v '^ ' | grep ':arm64$' | sort -u |
		grep -vE '^(gcc-[0-9]+-base|libc-dev-bin|libc6-dev|libc6|libgcc-s1|libstdc\+\+6|linux-libc-dev|pkg-config|pkgconf-bin|pkgconf|libpkgconf3|rpcsvc-proto|libcrypt-dev|libnsl-dev|libtirpc-dev):')
	[ -n "$pkgs" ] || fail "apt knows no arm64 $SYSROOT_DEV"
	echo "dirtybench: downloading $(echo "$pkgs" | wc -l) arm64 library packages (unpacked into $ARM64_CACHE/sysroot, not installed)"
	mkdir -p "$tmp/s" "$ARM64_CACHE"
	(cd "$tmp/s" && apt-get download $pkgs) >>"$log" 2>&1 ||
		fail "apt-get download of the arm64 libraries failed"
	rm -rf "$ARM64_CACHE/sysroot.new"
	for d in "$tmp"/s/*.deb; do
		dpkg-deb -x "$d" "$ARM64_CACHE/sysroot.new" || fail "dpkg-deb -x $d failed"
	done
	rm -rf "$ARM64_CACHE/sysroot"
	mv "$ARM64_CACHE/sysroot.new" "$ARM64_CACHE/sysroot"
	echo "dirtybench: arm64 libraries in $ARM64_CACHE/sysroot"
fi
[ $cache_ok = 1 ] && exit 0

# The newest 6.12 arm64 kernel apt can fetch (backports or security).
kpkg=
for p in $(apt-cache search --names-only '^linux-image-6\.12\..*-arm64-unsigned$' |
	awk '{print $1}' | grep -v -e '-rt-' -e '-cloud-' | sort -rV); do
	if apt-cache policy "$p" | grep -q 'Candidate: [0-9]'; then
		kpkg=$p
		break
	fi
done
[ -n "$kpkg" ] || fail "no linux-image-6.12.*-arm64-unsigned in apt's lists"

echo "dirtybench: downloading $kpkg and busybox-static:arm64 (unpacked into $ARM64_CACHE, not installed)"
(cd "$tmp" && apt-get download "$kpkg:arm64" busybox-static:arm64) >>"$log" 2>&1 ||
	fail "apt-get download $kpkg busybox-static:arm64 failed"
mkdir -p "$tmp/k" "$tmp/b" "$ARM64_CACHE"
dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/k" || fail "dpkg-deb -x $kpkg failed"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/b" || fail "dpkg-deb -x busybox-static failed"
vmlinuz=$(ls "$tmp"/k/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || fail "$kpkg has no /boot/vmlinuz-*"
rel=${vmlinuz##*/vmlinuz-}
# Debian's arm64 vmlinuz is a gzip'd Image; an Image it may also be.
if gzip -t "$vmlinuz" 2>/dev/null; then
	gzip -dc "$vmlinuz" >"$ARM64_CACHE/Image.new"
else
	cp "$vmlinuz" "$ARM64_CACHE/Image.new"
fi
cp "$tmp/k/boot/config-$rel" "$ARM64_CACHE/config" 2>/dev/null || true
cp "$tmp/b/bin/busybox" "$ARM64_CACHE/busybox.new"
chmod 755 "$ARM64_CACHE/busybox.new"
mv "$ARM64_CACHE/Image.new" "$ARM64_CACHE/Image"
mv "$ARM64_CACHE/busybox.new" "$ARM64_CACHE/busybox"
echo "$rel" >"$ARM64_CACHE/release"
echo "dirtybench: arm64 kernel $rel and busybox in $ARM64_CACHE"
exit 0
