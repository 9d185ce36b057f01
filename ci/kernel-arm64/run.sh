#!/bin/sh
# The arm64 KVM test bed: pack an initramfs (static arm64 busybox, the VMM
# kvmdirty from vmm/kvm, dirtybench and its test suites cross-built for
# arm64 with their libraries, ci/kernel-arm64/init), boot Debian's 6.12
# arm64 kernel under qemu-system-aarch64 with emulated EL2 (TCG), so that
# the guest has a real /dev/kvm. Inside: kvmdirty runs eager and lazy
# splitting over anon, THP and hugetlb RAM, and once with dirty bits dropped
# on purpose, which must be caught (suite kvm); the tracker suite runs the
# kvm tracker, lazy and eager (trackers); dirtybench migrates on loopback
# with KVM vCPUs writing, validated, eager and lazy, and once through the
# faulty wrapper, which the validation must catch (migration). The host
# judges the console with `dirtybench console`.
#
# Usage: sh ci/kernel-arm64/run.sh [--check] [--suites "kvm trackers migration"]
#                                  [--runs FILE] [--faulty ARGS|--no-faulty]
#                                  [--out DIR] [--timeout SECONDS]
#   --suites     guest suites to run (default: kvm trackers migration; also
#                bench, stage2-bench --kvm with its tables printed here; trackers and
#                migration cross-build dirtybench first, ci/cross-arm64.sh,
#                into $O-arm64 and $DIRTYBENCH_BIN-arm64)
#   --check      only check that this machine can run it (exit 0 or 3)
#   --runs FILE  kvmdirty argument lines, one run each (default: the six
#                eager/lazy x anon/thp/hugetlb runs below)
#   --faulty     arguments of the run with dropped bits
#                (default "--split lazy --backing thp --drop 16")
#   --no-faulty  leave the faulty run out
#   --out DIR    work directory (default $O/kernel-arm64)
#   --timeout    wall-clock limit for the guest, seconds (default 600)
# Environment: O (build dir, default build), DIRTYBENCH_BIN (default bin),
#   ARM64_CACHE (the kernel Image and busybox that ci/deps-arm64.sh
#   unpacks; default /var/cache/dirtybench/arm64), QEMU (default
#   qemu-system-aarch64), KVM_ARGS (added to every run, e.g. "--ram 32"),
#   MIGRATE_ARGS (the migrations' dirtybench run arguments but --tracker).
#   BENCH_ARGS (suite bench, not run by default: stage2-bench --kvm arguments).
# Exit status: 0 every guest result passed; 1 a result failed, the guest
# never reported, or the kernel complained; 3 something needed is missing
# here (the reason is printed).
set -eu

cd "$(dirname "$0")/../.."
unset MAKEFLAGS MFLAGS MAKELEVEL
: "${O:=build}" "${DIRTYBENCH_BIN:=bin}" "${QEMU:=qemu-system-aarch64}"
: "${ARM64_CACHE:=/var/cache/dirtybench/arm64}" "${KVM_ARGS:=}"
check=0
runs=
faulty="--split lazy --backing thp --drop 16"
out=
limit=600
suites="kvm trackers migration"
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1 ;;
	--suites) suites=$2; shift ;;
	--runs) runs=$2; shift ;;
	--faulty) faulty=$2; shift ;;
	--no-faulty) faulty= ;;
	--out) out=$2; shift ;;
	--timeout) limit=$2; shift ;;
	-h|--help) sed -n '2,35p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$out" ] || out=$O/kernel-arm64

missing() {
	echo "arm64 KVM test bed: $*" >&2
	exit 3
}

kernel=$ARM64_CACHE/Image
[ -s "$kernel" ] && [ -x "$ARM64_CACHE/busybox" ] ||
	missing "no arm64 kernel and busybox in $ARM64_CACHE (as root: sh ci/deps-arm64.sh)"
command -v "$QEMU" >/dev/null 2>&1 || missing "no $QEMU (apt-get install qemu-system-arm)"
command -v cpio >/dev/null 2>&1 || missing "no cpio (apt-get install cpio)"
"$QEMU" -machine help 2>/dev/null | grep -q '^virt ' ||
	missing "$QEMU has no virt machine"
release=$(cat "$ARM64_CACHE/release" 2>/dev/null || echo unknown)
if [ $check = 1 ]; then
	echo "arm64 KVM test bed: ready ($kernel, $release, $QEMU)"
	exit 0
fi
vmm=$O/kvm-progs/kvmdirty
[ -x "$vmm" ] || missing "no $vmm (make kvm-progs)"
[ -x "$DIRTYBENCH_BIN/dirtybench" ] || missing "no $DIRTYBENCH_BIN/dirtybench (make)"
xo=${O}-arm64 xbin=${DIRTYBENCH_BIN}-arm64
cross=0
case " $suites " in *" trackers "*|*" migration "*|*" bench "*) cross=1 ;; esac
if [ $cross = 1 ]; then
	set +e
	sh ci/cross-arm64.sh "$xo" "$xbin" >"$O/cross-arm64.log" 2>&1
	rc=$?
	set -e
	[ $rc = 3 ] && missing "$(tail -n 1 "$O/cross-arm64.log")"
	if [ $rc != 0 ]; then
		tail -n 30 "$O/cross-arm64.log" >&2
		echo "arm64 KVM test bed: the arm64 cross build failed ($O/cross-arm64.log)" >&2
		exit 1
	fi
fi

rm -rf "$out"
r=$out/root
mkdir -p "$r/bin" "$r/etc"
log=$out/console.log
cp "$ARM64_CACHE/busybox" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cp ci/kernel-arm64/init "$r/init"
cp ci/guest.sh "$r/etc/guest.sh"
cp ci/lsan.supp "$r/etc/lsan.supp"
chmod 755 "$r/init"
cp "$vmm" "$r/bin/kvmdirty"

# An arm64 executable and, through its DT_NEEDED, every library it loads,
# from the cross toolchain and the sysroot; all in /lib, where the
# loader looks first.
sysroot=$ARM64_CACHE/sysroot
libdirs="/usr/aarch64-linux-gnu/lib $sysroot/lib/aarch64-linux-gnu $sysroot/usr/lib/aarch64-linux-gnu"
add_lib() {
	[ -e "$r/lib/$1" ] && return 0
	for d in $libdirs; do
		if [ -e "$d/$1" ]; then
			cp -L "$d/$1" "$r/lib/$1"
			add_needed "$r/lib/$1"
			return 0
		fi
	done
	missing "no arm64 $1 in $libdirs"
}
add_needed() {
	for l in $(aarch64-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		add_lib "$l"
	done
}
if [ $cross = 1 ]; then
	mkdir -p "$r/lib"
	add_lib ld-linux-aarch64.so.1
	for p in "$xbin/dirtybench" "$xbin/dirtyram" "$xo/dirtybench-tests"; do
		cp "$p" "$r/bin/"
		add_needed "$p"
	done
fi
if [ -n "$runs" ]; then
	sed "s|\$| $KVM_ARGS|" "$runs" >"$r/etc/kvm-runs"
else
	for b in anon thp hugetlb; do
		for s in lazy eager; do
			echo "--split $s --backing $b${KVM_ARGS:+ $KVM_ARGS}"
		done
	done >"$r/etc/kvm-runs"
fi
{
	echo "FAULTY_ARGS='${faulty:+$faulty${KVM_ARGS:+ $KVM_ARGS}}'"
	echo "HUGEPAGES='${HUGEPAGES:-64}'"
	echo "SUITES='$suites'"
	echo "BENCH_ARGS='${BENCH_ARGS:---scale 0.02}'"
	echo "MIGRATE_ARGS='${MIGRATE_ARGS:---ram 32M --backing thp --workload dirtyram:dirty=64,period=20 --bandwidth 200mbit}'"
} >"$r/etc/dbk.conf"
(cd "$r" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out/initramfs.cpio"

. ci/qemu.sh

# virtualization=on: EL2 emulated, so the guest kernel runs KVM (nVHE or
# VHE) and its /dev/kvm is real; pauth-impdef keeps TCG's pointer
# authentication cheap.
echo "arm64 KVM test bed: booting $release under $QEMU (TCG), limit ${limit} s"
qemu_boot "arm64 KVM test bed" "$limit" "$log" \
	"$QEMU" -nodefaults -no-user-config \
	-M virt,virtualization=on -cpu max,pauth-impdef=on \
	-accel tcg,thread=multi -smp 2 -m 1536 -display none -no-reboot \
	-kernel "$kernel" -initrd "$out/initramfs.cpio" \
	-append "console=ttyAMA0 panic=-1 loglevel=5 rdinit=/init" \
	-serial "file:$log" -monitor none
grep -E '^DBK RESULT|^# kvm .*(round|populate)' "$log" | sed 's/^/  /' || true
sed -n 's/^# kvm-bench: //p' "$log"

# The host's verdict: PCRE2 parser in collectors/console.c.
set +e
"$DIRTYBENCH_BIN/dirtybench" console --require "system $(echo " $suites " | sed "s/ kvm / kvm${faulty:+ kvm-faulty} /")" "$log"
rc=$?
set -e
[ $rc = 0 ] || [ $rc = 1 ] || exit $rc
exit $rc
