#!/bin/sh
# Write the object rules for every source file present now, so adding a
# .c file needs no Makefile edit. Output: make syntax on stdout.
# Usage: sh mk/gen.sh
set -eu

hdrs=$(ls include/dirtybench/*.h lib/*.h lib/*.def lib/*/*.h lib/*/*.def \
	bench/*.def bench/*.h bench/*/*.h kmod/*.h vmm-shims/*/*.h vmm/qemu/*.h collectors/*.h \
	reports/*.h tests/*.h 2>/dev/null | tr '\n' ' ')
echo "HDRS = $hdrs"

seen=' '
rules() {	# VAR files...
	var=$1; shift
	objs=
	for f in "$@"; do
		[ -f "$f" ] || continue
		o="\$(O)/${f%.c}.o"
		objs="$objs $o"
		case $seen in *" $f "*) continue ;; esac
		seen="$seen$f "
		printf '%s: %s $(HDRS) $(O)/config.h\n' "$o" "$f"
		printf '\t@mkdir -p %s\n' "\$(O)/$(dirname "$f")"
		printf '\t@$(SAY) "  CC      %s"\n' "$f"
		printf '\t$(Q)$(CC) $(ALL_CFLAGS) -c %s -o %s\n' "$f" "$o"
	done
	echo "$var =$objs"
}

rules LIB_OBJS lib/*.c lib/*/*.c lib/*/*/*.c vmm-shims/*/*.c vmm/qemu/*.c collectors/*.c \
	reports/*.c workloads/dirtyram/dirtyram.c
rules DIRTYRAM_OBJS workloads/dirtyram/dirtyram.c workloads/dirtyram/main.c
rules BENCH_OBJS bench/*.c bench/*/*.c
rules TEST_OBJS tests/*.c

# libFuzzer targets (make fuzz-build): one program per tests/fuzz/fuzz_*.c,
# each linked against the library with the fuzzer's main.
bins=
for f in tests/fuzz/fuzz_*.c; do
	[ -f "$f" ] || continue
	n=${f#tests/fuzz/fuzz_}; n=$(echo "${n%.c}" | tr _ -)
	b="\$(O)/fuzz/fuzz-$n"
	bins="$bins $b"
	printf '%s: %s tests/fuzz/fuzz.h $(HDRS) $(O)/config.h $(O)/libdirtybench.a\n' "$b" "$f"
	printf '\t@mkdir -p $(O)/fuzz\n'
	printf '\t@$(SAY) "  FUZZ    %s"\n' "$b"
	printf '\t$(Q)$(CC) $(ALL_CFLAGS) -Itests -fsanitize=fuzzer $(ALL_LDFLAGS) -o %s %s $(LIBDB) $(LIBS)\n' "$b" "$f"
done
echo "FUZZ_BINS =$bins"
