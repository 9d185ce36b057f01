#!/bin/sh
# The kernel test bed: build the cowtrack module against Debian's kernel
# headers, pack an initramfs (busybox-static, the module, the test programs,
# dirtybench), boot Debian's kernel under qemu-system-x86_64 (TCG, no KVM
# needed), run the module's ioctl suite, the tracker suite for kmod-cow, a
# migration on loopback and a random-call loop against the module inside the
# guest, then check the console.
#
# Usage: sh ci/kernel/run.sh [--check] [--broken] [--suites "module trackers migration fuzz"]
#                            [--out DIR] [--timeout SECONDS]
#                            [--fuzz-seconds N] [--fuzz-seed SEED]
#   --check     only check that this machine can run it (exit 0 or 3)
#   --broken    build the module with BROKEN_NO_WP=1 (write protection
#               skipped): the module suite must then fail
#   --suites    guest suites to run (default: all four)
#   --out DIR   work directory (default $O/kernel, or $O/kernel-broken)
#   --timeout   wall-clock limit for the guest, seconds (default 600, and
#               at least the fuzz seconds + 300)
#   --fuzz-seconds  how long the fuzz suite (tests/kernel/cowtrack_fuzz.c)
#               runs (default $FUZZ_SECONDS, or 25)
#   --fuzz-seed replay a fuzz run (default $FUZZ_SEED, or from the clock;
#               the seed is printed either way)
#   The migration suite is left out (with a notice) while dirtybench has no
#   run command.
# Environment: O (build dir, default build), DIRTYBENCH_BIN (default bin),
#   KVER (kernel release; default: the newest with both an image in /boot
#   and headers in /lib/modules/KVER/build), QEMU (default qemu-system-x86_64).
#   MODULE_REPEAT=N runs the module suite N times in one boot (a soak).
#   FUZZ_SECONDS, FUZZ_SEED: defaults of --fuzz-seconds and --fuzz-seed.
# Exit status: 0 every guest result passed; 1 a result failed, the guest
# never reported, or the kernel complained; 3 something needed is missing
# here (the reason is printed).
set -eu

cd "$(dirname "$0")/../.."
# Run from make check: the enclosing make's variables (O=...) are not
# for kbuild.
unset MAKEFLAGS MFLAGS MAKELEVEL
: "${O:=build}" "${DIRTYBENCH_BIN:=bin}" "${QEMU:=qemu-system-x86_64}"
broken=0
check=0
suites="module trackers migration fuzz"
fuzz_seconds=${FUZZ_SECONDS:-25}
fuzz_seed=${FUZZ_SEED:-}
out=
limit=600
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1 ;;
	--broken) broken=1 ;;
	--suites) suites=$2; shift ;;
	--out) out=$2; shift ;;
	--timeout) limit=$2; shift ;;
	--fuzz-seconds) fuzz_seconds=$2; shift ;;
	--fuzz-seed) fuzz_seed=$2; shift ;;
	-h|--help) sed -n '2,32p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$out" ] || out=$O/kernel$([ $broken = 1 ] && echo -broken || true)
case $fuzz_seconds in
''|*[!0-9]*) echo "run.sh: --fuzz-seconds wants a whole number of seconds, not '$fuzz_seconds'" >&2; exit 2 ;;
esac
case $fuzz_seed in
*[!0-9a-fA-Fx]*) echo "run.sh: --fuzz-seed wants a number (decimal or 0x hex), not '$fuzz_seed'" >&2; exit 2 ;;
esac
case " $suites " in
*" fuzz "*) [ $limit -ge $((fuzz_seconds + 300)) ] || limit=$((fuzz_seconds + 300)) ;;
esac

missing() {
	echo "kernel test bed: $*" >&2
	exit 3
}

# The kernel: newest release with an image and headers, unless KVER says.
if [ -z "${KVER:-}" ]; then
	for b in $(ls -d /lib/modules/*/build 2>/dev/null | sort -V); do
		v=$(basename "$(dirname "$b")")
		[ -r "/boot/vmlinuz-$v" ] && KVER=$v
	done
fi
[ -n "${KVER:-}" ] ||
	missing "no kernel with both /boot/vmlinuz-* and /lib/modules/*/build (Debian: apt-get install linux-image-amd64 linux-headers-amd64)"
kernel=/boot/vmlinuz-$KVER
kdir=/lib/modules/$KVER/build
[ -r "$kernel" ] || missing "cannot read $kernel (run as root, or install linux-image-$KVER)"
[ -d "$kdir" ] || missing "no headers at $kdir (apt-get install linux-headers-$KVER)"
command -v "$QEMU" >/dev/null 2>&1 || missing "no $QEMU (apt-get install qemu-system-x86)"
command -v cpio >/dev/null 2>&1 || missing "no cpio (apt-get install cpio)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 ||
	missing "no static busybox (apt-get install busybox-static)"
if [ $check = 1 ]; then
	echo "kernel test bed: ready ($kernel, headers in $kdir, $QEMU)"
	exit 0
fi
ktest=$O/kernel-progs/cowtrack-ioctl
[ -x "$ktest" ] || missing "no $ktest (make kernel-progs)"
kfuzz=$O/kernel-progs/cowtrack-fuzz
case " $suites " in
*" fuzz "*) [ -x "$kfuzz" ] || missing "no $kfuzz (make kernel-progs)" ;;
esac

case " $suites " in
*" trackers "*|*" migration "*)
	[ -x "$DIRTYBENCH_BIN/dirtybench" ] ||
		missing "no $DIRTYBENCH_BIN/dirtybench (make)"
	;;
esac
case " $suites " in
*" migration "*)
	if ! "$DIRTYBENCH_BIN/dirtybench" run --help >/dev/null 2>&1; then
		echo "kernel test bed: dirtybench has no run command yet: migration suite left out" >&2
		suites=$(echo "$suites" | sed 's/migration//')
	fi
	;;
esac
tests=$O/dirtybench-tests
case " $suites " in
*" trackers "*) [ -x "$tests" ] || missing "no $tests (make tests)" ;;
esac

rm -rf "$out"
mkdir -p "$out/kmod" "$out/root/bin" "$out/root/lib" "$out/root/etc"
log=$out/console.log

# The module, built out of the source tree.
cp kmod/Kbuild kmod/Makefile kmod/*.c kmod/*.h "$out/kmod/"
echo "kernel test bed: building cowtrack.ko for $KVER$([ $broken = 1 ] && echo ' (BROKEN_NO_WP=1)' || true)"
if ! make -s -C "$out/kmod" KDIR="$kdir" BROKEN_NO_WP=$broken >"$out/kbuild.log" 2>&1; then
	cat "$out/kbuild.log" >&2
	echo "kernel test bed: the module does not build" >&2
	exit 1
fi

# Copy a dynamic executable and every library it loads, loader included.
add_prog() {	# path [name in /bin]
	cp "$1" "$out/root/bin/${2:-$(basename "$1")}"
	ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}' |
	while read -r lib; do
		mkdir -p "$out/root$(dirname "$lib")"
		cp -L "$lib" "$out/root$lib"
	done
}
r=$out/root
cp "$busybox" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cp ci/kernel/init "$r/init"
cp ci/guest.sh "$r/etc/guest.sh"
chmod 755 "$r/init"
cp "$out/kmod/cowtrack.ko" "$r/lib/cowtrack.ko"
cp "$ktest" "$r/bin/cowtrack-ioctl"
case " $suites " in *" fuzz "*) cp "$kfuzz" "$r/bin/cowtrack-fuzz" ;; esac
cp ci/lsan.supp "$r/etc/lsan.supp"
case " $suites " in *" trackers "*) add_prog "$tests" dirtybench-tests ;; esac
case " $suites " in
*" trackers "*|*" migration "*)
	add_prog "$DIRTYBENCH_BIN/dirtybench"
	[ -x "$DIRTYBENCH_BIN/dirtyram" ] && add_prog "$DIRTYBENCH_BIN/dirtyram"
	;;
esac
# Paths a guest test may look for: bin/ next to the tests, like the host.
{
	echo "SUITES='$suites'"
	echo "MODULE_REPEAT='${MODULE_REPEAT:-1}'"
	echo "TRACKER_FILTER='${TRACKER_FILTER:-@(trackers|kmod_cow)/*}'"
	echo "MIGRATE_ARGS='${MIGRATE_ARGS:---tracker kmod-cow --ram 32M --workload dirtyram:dirty=256,period=10}'"
	echo "FUZZ_SECONDS='$fuzz_seconds'"
	echo "FUZZ_SEED='$fuzz_seed'"
} >"$r/etc/dbk.conf"
(cd "$r" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out/initramfs.cpio"

. ci/qemu.sh

echo "kernel test bed: booting $kernel under $QEMU (TCG), limit ${limit} s"
qemu_boot "kernel test bed" "$limit" "$log" \
	"$QEMU" -nodefaults -no-user-config -machine q35 \
	-accel tcg -cpu max -smp 2 -m 1G -display none -no-reboot \
	-kernel "$kernel" -initrd "$out/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 loglevel=5 rdinit=/init" \
	-serial "file:$log" -monitor none

# The host's verdict: PCRE2 parser in collectors/console.c.
set +e
"$DIRTYBENCH_BIN/dirtybench" console --require "system $suites" "$log"
rc=$?
set -e
[ $rc = 0 ] || [ $rc = 1 ] || exit $rc
exit $rc
