#!/bin/sh
# Run the Criterion suites. Criterion's synthesis line closes the output;
# when a test failed, the failing tests and their messages are repeated
# just above it, so that the end of a long log says what went wrong even
# when sanitizer reports follow the failure.
# Extra arguments go to Criterion (e.g. --filter 'trackers/*').
set -u
bin=$1; shift
: "${DIRTYBENCH_BIN:=bin}"
export DIRTYBENCH_BIN
# Sanitizer builds: ignore the test runner's own leaks (see lsan.supp).
LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

log=$(mktemp "${TMPDIR:-/tmp}/dirtybench-check.XXXXXX") || exit 1
rcf=$log.rc
trap 'rm -f "$log" "$rcf"' EXIT
trap 'exit 130' INT TERM
{ "$bin" --jobs "${CHECK_JOBS:-2}" "$@"; echo $? >"$rcf"; } 2>&1 | tee "$log"
rc=$(cat "$rcf" 2>/dev/null || echo 1)
if [ "$rc" -ne 0 ]; then
	echo
	echo "== what failed (exit $rc) =="
	# Criterion: "[----] file:line: Assertion Failed", its message lines,
	# then "[FAIL] suite::test"; crashes and timeouts have their own tags.
	grep -E '^\[(----|FAIL|CRASH|WARN)\]|Timed out|signal' "$log" |
		grep -v '^\[----\] Criterion' | tail -n 60
	grep '^\[====\] Synthesis' "$log" | tail -n 1
fi
exit "$rc"
