#!/bin/sh
# A second QEMU beside Debian's: bookworm-backports' qemu-system-x86,
# unpacked, never installed, so that `make bench TARGET=qemu` migrates the
# same guests with Debian's QEMU and the backports one side by side.
#
# Usage: sh ci/deps-qemu.sh [--check] [--print-path]
#   --check       exit 0 when it is there, 3 (with what to run) if not
#   --print-path  print the wrapper's path and exit
# Files in $QEMU_BPO_CACHE (default /var/cache/dirtybench/qemu-backports):
#   root/                   the packages unpacked (and any library the
#                           host lacks, from the same lists)
#   qemu-system-x86_64      a wrapper: LD_LIBRARY_PATH, module and firmware
#                           directories of root/, then the binary
#   version                 the package version
# Exit 0 done, 3 missing and not root (or apt failed).
set -u
: "${QEMU_BPO_CACHE:=/var/cache/dirtybench/qemu-backports}"
check=0
case ${1:-} in
--check) check=1 ;;
--print-path) echo "$QEMU_BPO_CACHE/qemu-system-x86_64"; exit 0 ;;
-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
'') ;;
*) echo "deps-qemu.sh: unknown argument '$1'" >&2; exit 2 ;;
esac

wrapper=$QEMU_BPO_CACHE/qemu-system-x86_64
[ -x "$wrapper" ] && [ -s "$QEMU_BPO_CACHE/version" ] &&
	"$wrapper" --version >/dev/null 2>&1 && exit 0

BPO=/etc/apt/sources.list.d/dirtybench-backports.list
mirror() {
	m=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
		/etc/apt/sources.list.d/ 2>/dev/null | grep -v security |
		head -n 1 | tr -d ' ')
	echo "${m:-http://deb.debian.org/debian}" | sed 's,/$,,'
}
if [ "$(id -u)" != 0 ] || [ $check = 1 ]; then
	echo "dirtybench: no bookworm-backports QEMU in $QEMU_BPO_CACHE" >&2
	echo "dirtybench: run as root: sh ci/deps-qemu.sh (it runs:" \
		"echo 'deb $(mirror) bookworm-backports main' >$BPO; apt-get update;" \
		"apt-get download qemu-system-x86/bookworm-backports qemu-system-common" \
		"qemu-system-data; dpkg-deb -x each into $QEMU_BPO_CACHE/root)" >&2
	exit 3
fi

export DEBIAN_FRONTEND=noninteractive
log=/tmp/dirtybench-apt-qemu.log
: >"$log"
fail() {
	tail -20 "$log" >&2
	echo "dirtybench: backports QEMU: $* (log above)" >&2
	exit 3
}
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deb $(mirror) bookworm-backports main" >"$BPO"
fi
ver() {	# package: its bookworm-backports version
	apt-cache policy "$1" 2>/dev/null | awk '
		$1 == "***" && NF == 3 { v = $2; next }
		NF == 2 && $1 ~ /^[0-9]/ { v = $1; next }
		/bookworm-backports/ && v { print v; exit }'
}
v=$(ver qemu-system-x86)
if [ -z "$v" ]; then
	echo "dirtybench: apt-get update (bookworm-backports)"
	apt-get update -qq >>"$log" 2>&1 || true
	v=$(ver qemu-system-x86)
fi
[ -n "$v" ] || fail "no qemu-system-x86 in bookworm-backports"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "dirtybench: downloading qemu-system-x86 $v from bookworm-backports (unpacked into $QEMU_BPO_CACHE, not installed)"
(cd "$tmp" && apt-get download "qemu-system-x86=$v" "qemu-system-common=$v" \
	"qemu-system-data=$v") >>"$log" 2>&1 || fail "apt-get download failed"
rm -rf "$QEMU_BPO_CACHE/root.new"
mkdir -p "$QEMU_BPO_CACHE/root.new"
for d in "$tmp"/*.deb; do
	dpkg-deb -x "$d" "$QEMU_BPO_CACHE/root.new" || fail "dpkg-deb -x $d failed"
done
r=$QEMU_BPO_CACHE/root.new
bin=$r/usr/bin/qemu-system-x86_64
libdir=$r/usr/lib/x86_64-linux-gnu
# Libraries this host lacks: the packages that hold them, unpacked too.
missing=$(LD_LIBRARY_PATH=$libdir ldd "$bin" 2>/dev/null | awk '/not found/ {print $1}')
for lib in $missing; do
	pkg=$(apt-file search -l "$lib" 2>/dev/null | head -n 1)
	[ -n "$pkg" ] || pkg=$(apt-cache search --names-only "^$(echo "$lib" |
		sed 's/\.so\.\([0-9]*\).*/\1/; s/^lib//')" 2>/dev/null | awk 'NR==1 {print $1}')
	[ -n "$pkg" ] || fail "$bin needs $lib and no package in apt's lists has it"
	(cd "$tmp" && apt-get download "$pkg") >>"$log" 2>&1 || fail "apt-get download $pkg failed"
	dpkg-deb -x "$tmp/${pkg}"_*.deb "$r" || fail "dpkg-deb -x $pkg failed"
done
still=$(LD_LIBRARY_PATH=$libdir ldd "$bin" 2>/dev/null | awk '/not found/ {print $1}')
[ -z "$still" ] || fail "$bin still lacks: $still"
rm -rf "$QEMU_BPO_CACHE/root"
mv "$r" "$QEMU_BPO_CACHE/root"
cat >"$wrapper.new" <<'WRAP'
#!/bin/sh
# bookworm-backports' QEMU, unpacked beside Debian's (ci/deps-qemu.sh).
r=$(dirname "$0")/root
LD_LIBRARY_PATH=$r/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
QEMU_MODULE_DIR=$r/usr/lib/x86_64-linux-gnu/qemu \
exec "$r/usr/bin/qemu-system-x86_64" -L "$r/usr/share/qemu" "$@"
WRAP
chmod 755 "$wrapper.new"
mv "$wrapper.new" "$wrapper"
echo "$v" >"$QEMU_BPO_CACHE/version"
"$wrapper" --version | head -n 1
exit 0
