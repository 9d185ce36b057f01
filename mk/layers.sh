#!/bin/sh
# Check that no layer of lib/ (or collectors/) includes a header of a layer
# above it. The layers, bottom up, and what each may include besides its
# own headers, include/dirtybench/ and the generated config.h:
#   lib/base     nothing
#   lib/ram      base (and kmod/'s ioctl ABI)
#   lib/wire     base
#   collectors   base
#   lib/engine   base ram wire
#   lib/runner   base ram wire engine collectors vmm/qemu
#   vmm/qemu     base wire engine (a real VMM driven as the system under test)
# Prints each offending line and exits 1. Usage: sh mk/layers.sh
set -u

may() {	# layer -> allowed prefixes
	case $1 in
	lib/base) echo "base/" ;;
	lib/ram) echo "base/ ram/ cowtrack_uapi.h" ;;
	lib/wire) echo "base/ wire/" ;;
	collectors) echo "base/ console.h procfs.h sampler.h" ;;
	lib/engine) echo "base/ ram/ wire/ engine/" ;;
	lib/runner) echo "base/ ram/ wire/ engine/ runner/ ../collectors/ ../vmm/qemu/" ;;
	vmm/qemu) echo "base/ wire/ engine/ guest.h qemu.h qmp.h" ;;
	esac
}

bad=0
for layer in lib/base lib/ram lib/wire collectors lib/engine lib/runner vmm/qemu; do
	allowed=$(may $layer)
	for f in $(find "$layer" -name '*.[ch]' -o -name '*.def' | sort); do
		grep -n '^#[ 	]*include[ 	]*"' "$f" | while IFS= read -r line; do
			h=${line#*\"}; h=${h%%\"*}
			case $h in dirtybench/*|config.h) continue ;; esac
			ok=0
			for p in $allowed; do
				case $h in "$p"*) ok=1 ;; esac
			done
			[ $ok = 1 ] || echo "$f:${line%%:*}: includes \"$h\": $layer may include only $allowed"
		done
	done
done > "${TMPDIR:-/tmp}/layers.$$"
if [ -s "${TMPDIR:-/tmp}/layers.$$" ]; then
	cat "${TMPDIR:-/tmp}/layers.$$" >&2
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/layers.$$"
[ $bad = 0 ] && echo "layers: no include runs back up"
exit $bad
