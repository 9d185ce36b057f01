#!/bin/sh
# Run the Criterion suites. Criterion's synthesis line closes the output.
# Extra arguments go to Criterion (e.g. --filter 'trackers/*').
set -u
bin=$1; shift
: "${DIRTYBENCH_BIN:=bin}"
export DIRTYBENCH_BIN
exec "$bin" --jobs "${CHECK_JOBS:-2}" "$@"
