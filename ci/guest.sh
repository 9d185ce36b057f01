# Sourced by the test beds' guest init scripts (ci/kernel/init,
# ci/kernel-arm64/init), copied into their initramfs as /etc/guest.sh:
# mounting, the console lines the host parses (collectors/console.c) and
# the suites both beds run.
#
#   DBK BOOT <uptime s> <kernel release>
#   DBK BEGIN <suite>                 results follow as lines
#   DBK TAP <suite>                   Criterion's TAP report follows
#   DBK RESULT <suite> <test> PASS|FAIL|SKIP [detail]
#   DBK END <suite> <exit status>
#   DBK DONE <uptime s>
export PATH=/bin HOME=/tmp TMPDIR=/tmp

guest_boot() {
	/bin/busybox mkdir -p /proc /sys /dev /tmp /run
	/bin/busybox mount -t proc proc /proc
	/bin/busybox mount -t sysfs sysfs /sys
	/bin/busybox mount -t devtmpfs devtmpfs /dev
	/bin/busybox --install -s /bin
	mkdir -p /dev/shm /dev/pts
	mount -t tmpfs tmpfs /tmp
	mount -t tmpfs tmpfs /dev/shm
	mount -t devpts devpts /dev/pts
	ip link set lo up 2>/dev/null
	echo "DBK BOOT $(cut -d' ' -f1 /proc/uptime) $(uname -r)"
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }
result() { echo "DBK RESULT $1 $2 $3${4:+ $4}"; }
has() { case " $SUITES " in *" $1 "*) return 0 ;; esac; return 1; }

finish() {
	echo "DBK DONE $(uptime_s)"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

# tracker_suite SUITE TRACKERS FILTER: the Criterion tracker suite for the
# trackers named (DIRTYBENCH_TRACKERS), its TAP report on the console.
tracker_suite() {
	echo "DBK TAP $1"
	DIRTYBENCH_BIN=/bin DIRTYBENCH_TRACKERS=$2 \
		LSAN_OPTIONS=suppressions=/etc/lsan.supp \
		dirtybench-tests --jobs 1 --filter "$3" \
		--tap=/tmp/$1.tap >/tmp/$1.out 2>&1
	_rc=$?
	cat /tmp/$1.tap
	echo "DBK END $1 $_rc"
	[ "$_rc" = 0 ] || sed 's/^/# /' /tmp/$1.out | tail -n 40
}

# migration SUITE TEST EXPECT ARGS...: `dirtybench run ARGS` on loopback.
# EXPECT equal: PASS when it exits 0 with ram_equal true; EXPECT unequal
# (a faulty tracker): PASS only when the validation caught it (exit 1,
# ram_equal false). The run's own summary follows as comments.
migration() {
	_s=$1 _t=$2 _want=$3
	shift 3
	_t0=$(uptime_s)
	rm -rf /tmp/run
	dirtybench run "$@" --out /tmp/run >/tmp/run.out 2>&1
	_rc=$?
	_t1=$(uptime_s)
	_eq=$(grep -o '"ram_equal": *[a-z]*' /tmp/run/result.json 2>/dev/null | head -n 1)
	_bk=$(grep -o '"backing": *"[a-z]*"' /tmp/run/result.json 2>/dev/null | head -n 1)
	_rows=$(($(wc -l </tmp/run/samples.csv 2>/dev/null || echo 1) - 1))
	_how="exit $_rc, ${_eq:-no result.json}, $_bk, $_rows samples, $_t0 s to $_t1 s"
	if [ "$_want" = equal ] && [ "$_rc" = 0 ] && [ "$_eq" = '"ram_equal": true' ]; then
		result "$_s" "$_t" PASS "$_how"
		_rc=0
	elif [ "$_want" = unequal ] && [ "$_rc" = 1 ] && [ "$_eq" = '"ram_equal": false' ]; then
		result "$_s" "$_t" PASS "loss caught: $_how"
		_rc=0
	else
		result "$_s" "$_t" FAIL "wanted RAM $_want: $_how: $(tail -n 3 /tmp/run.out | tr '\n' ' ')"
		_rc=1
	fi
	sed 's/^/# /' /tmp/run.out | tail -n 25
	return $_rc
}

# The kernel's complaints since boot, or nothing.
dmesg_bad() {
	dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|kernel BUG|Call Trace|UBSAN|Bad page|leaked|soft lockup|blocked for more than|list_(add|del) corruption' |
		head -n 3 | tr '\n' ' '
}
