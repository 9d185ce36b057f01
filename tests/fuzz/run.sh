#!/bin/sh
# Run every libFuzzer target of a fuzz build over its seed corpus
# (tests/fuzz/corpus/<target>/) and print one line per target: executions,
# executions per second, coverage (edges and features), corpus size.
# New inputs go to DIR/corpus-<target>/, never into the repository; a
# crash leaves its input as DIR/crash-<target>-* and fails the run.
#
#   run.sh check DIR SECONDS        each target for SECONDS (make check)
#   run.sh long DIR RUNS [SECONDS]  each target for RUNS executions, or
#                                   SECONDS when given (make fuzz)
# FUZZ_ONLY="dest hdr" limits the run to those targets. A long run goes in
# segments of FUZZ_SEGMENT_RUNS executions (1000000) or FUZZ_SEGMENT_SECONDS
# (600), each a new process on the corpus so far; the line sums them.
set -u
mode=$1 dir=$2 n=$3 secs=${4:-}
corpus=$(dirname "$0")/corpus
fail=0
seg_runs=${FUZZ_SEGMENT_RUNS:-1000000} seg_secs=${FUZZ_SEGMENT_SECONDS:-600}
# a target's own leak checker would report the fuzzer's, not ours
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}print_stacktrace=1:halt_on_error=1"
for bin in "$dir"/fuzz-*; do
	t=${bin##*/fuzz-}
	[ "$t" = seeds ] && continue
	[ -x "$bin" ] || continue
	if [ -n "${FUZZ_ONLY:-}" ]; then
		case " $FUZZ_ONLY " in *" $t "*) ;; *) continue ;; esac
	fi
	mkdir -p "$dir/corpus-$t"
	log=$dir/fuzz-$t.log
	: >"$log"
	runs=0 rc=0 t0=$(date +%s)
	# A long run goes in segments, each a fresh process on the same
	# corpus: ASan keeps a few hundred bytes for every thread ever
	# created, and the destination starts two per input, so one process
	# would reach the RSS limit after about five million inputs.
	while :; do
		case $mode in
		check) limit="-max_total_time=$n" ;;
		*) if [ -n "$secs" ]; then
			left=$((secs - ($(date +%s) - t0)))
			[ "$left" -gt "$seg_secs" ] && left=$seg_secs
			limit="-max_total_time=$left"
		   else
			left=$((n - runs))
			[ "$left" -gt "$seg_runs" ] && left=$seg_runs
			limit="-runs=$left"
		   fi ;;
		esac
		"$bin" $limit -timeout=10 -rss_limit_mb=2048 -max_len=1100000 -print_final_stats=1 \
			-artifact_prefix="$dir/crash-$t-" "$dir/corpus-$t" "$corpus/$t" >"$log.part" 2>&1
		rc=$?
		cat "$log.part" >>"$log"
		r=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.part")
		runs=$((runs + ${r:-0}))
		[ "$rc" -eq 0 ] && [ "${r:-0}" -gt 0 ] && [ "$mode" = long ] || break
		if [ -n "$secs" ]; then
			[ $(($(date +%s) - t0)) -lt "$secs" ] || break
		else
			[ "$runs" -lt "$n" ] || break
		fi
	done
	rm -f "$log.part"
	el=$(($(date +%s) - t0))
	eps=$((runs / (el > 0 ? el : 1)))
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, corpus \3/p')
	if [ "$rc" -ne 0 ]; then
		echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs; log $log"
		grep -E 'ERROR|SUMMARY|fuzz check failed|runtime error|artifact' "$log" | head -n 8
		fail=1
	else
		echo "fuzz $t: ${runs:-?} runs, ${eps:-?} exec/s, ${cov:-coverage ?}"
	fi
done
exit $fail
