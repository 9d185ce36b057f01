# Sourced by the test beds (ci/kernel/run.sh, ci/kernel-arm64/run.sh):
# boot a guest under QEMU with a wall-clock limit, and never leave it
# behind. Usage: qemu_boot NAME LIMIT_S LOG QEMU-COMMAND...
# The console goes to LOG (the command must say -serial file:LOG); QEMU's
# exit status says nothing about the guest, only the console counts.
qpid=
qemu_cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		sleep 1
		kill -9 "$qpid" 2>/dev/null || true
	fi
	qpid=
}
trap qemu_cleanup EXIT
trap 'qemu_cleanup; exit 130' INT TERM HUP

qemu_boot() {
	_name=$1 _limit=$2 _log=$3
	shift 3
	# QEMU dies with this script even if it is killed outright.
	_pdeath=
	if setpriv --help 2>/dev/null | grep -q pdeathsig; then
		_pdeath="setpriv --pdeathsig KILL"
	fi
	_t0=$(date +%s)
	: >"$_log"
	$_pdeath "$@" &
	qpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		if [ $(($(date +%s) - _t0)) -ge "$_limit" ]; then
			echo "$_name: time limit of $_limit s reached, stopping QEMU" >&2
			qemu_cleanup
			break
		fi
		sleep 0.5
	done
	wait "$qpid" 2>/dev/null || true
	qpid=
	echo "$_name: guest ran $(($(date +%s) - _t0)) s (wall clock), console in $_log"
}
