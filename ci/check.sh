#!/bin/sh
# Run the Criterion suites. Criterion's synthesis line closes the output.
# Extra arguments go to Criterion (e.g. --filter 'trackers/*').
set -u
bin=$1; shift
: "${DIRTYBENCH_BIN:=bin}"
export DIRTYBENCH_BIN
# Sanitizer builds: ignore the test runner's own leaks (see lsan.supp).
LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
exec "$bin" --jobs "${CHECK_JOBS:-2}" "$@"
