#!/bin/sh
# The series' claim from both sides: `dirtybench stage2-bench` with the
# stage-2 model in real migrations here (--engine), then the same matrix
# through real KVM dirty logging inside the arm64 KVM test bed
# (stage2-bench --kvm, ci/kernel-arm64/run.sh --suites bench), each with
# its tables and its verdict. Part of `make bench TARGET=exynos`.
#
# Usage: sh ci/kvm-bench.sh [stage2-bench options]   (default: --scale 0.02)
# Environment: O, DIRTYBENCH_BIN as for the test beds.
# Exit status: 0 both ran; 1 one failed; 3 the arm64 bed cannot run here
# (the model's side is printed all the same).
set -u
cd "$(dirname "$0")/.."
: "${O:=build}" "${DIRTYBENCH_BIN:=bin}"
[ $# -gt 0 ] || set -- --scale 0.02
echo "== the stage-2 model, real migrations on this host (stage2-bench --engine $*)"
"$DIRTYBENCH_BIN/dirtybench" stage2-bench --engine "$@"
m=$?
echo
echo "== real KVM/arm64 in the arm64 KVM test bed (stage2-bench --kvm $*)"
O=$O DIRTYBENCH_BIN=$DIRTYBENCH_BIN BENCH_ARGS="$*" \
	sh ci/kernel-arm64/run.sh --suites bench --out "$O/kvm-bench" --timeout 1500 \
	>"$O/kvm-bench.log" 2>&1
k=$?
grep -v '^  DBK RESULT' "$O/kvm-bench.log"
echo "(KVM under nested emulation: each guest write is a vCPU exit, so its"
echo " guests write slower than the model's; compare verdicts, not times)"
[ $m = 0 ] || exit 1
exit $k
