#!/bin/bash
# The test runner: runs every unit binary in $BUILD/tests and every script in
# tests/integration, counts the PASS/FAIL/SKIP lines each prints, and ends with
# "N passed, N failed, N skipped". A program that exits non-zero without
# printing a FAIL line (a crash, a sanitizer report) counts as one failure.
# Arguments narrow the run: unit/test_hash integration/ingest ...
# Every statement evcap prepares meanwhile is logged with its query plan
# (EVCAP_QUERY_PLANS), and tests/query_plans.py then fails any that reads
# a whole growing table where an index should find its rows.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
export EVCAP_ROOT=$ROOT
export EVCAP_BIN=$ROOT/$BUILD/evcap
export EVCAPD_BIN=$ROOT/$BUILD/evcapd
export EVCAP_BUILD=$ROOT/$BUILD
if [ -z "${EVCAP_CORPUS:-}" ] && [ -d "$ROOT/../shared/corpus" ]; then
	export EVCAP_CORPUS=$(cd "$ROOT/../shared/corpus" && pwd)
fi
[ -n "${EVCAP_CORPUS:-}" ] || echo "note: ../shared/corpus is absent; tests that need the real-world corpus will skip"
export TMPDIR=${TMPDIR:-/tmp}
LOGDIR=$ROOT/$BUILD/test-logs
mkdir -p "$LOGDIR"
# every statement evcap prepares, with its plan, for the audit at the end
PLANS=$LOGDIR/query-plans.log
rm -f "$PLANS"
export EVCAP_QUERY_PLANS=$PLANS

progs=()
if [ $# -gt 0 ]; then
	for a in "$@"; do
		case "$a" in
		unit/*) progs+=("$BUILD/tests/${a#unit/}") ;;
		integration/*) p=tests/$a; [ -f "$p" ] || p=$p.sh; progs+=("$p") ;;
		*) echo "unknown test '$a' (use unit/NAME or integration/NAME)" >&2; exit 2 ;;
		esac
	done
else
	for b in "$BUILD"/tests/test_*; do [ -x "$b" ] && progs+=("$b"); done
	for s in tests/integration/*.sh; do [ -f "$s" ] && progs+=("$s"); done
fi

pass=0 fail=0 skip=0
failed_names=()
for p in "${progs[@]}"; do
	name=$(basename "$p" .sh)
	log=$LOGDIR/$name.log
	start=$(date +%s)
	if [[ "$p" == *.sh ]]; then
		timeout -k 10 ${EVCAP_TEST_TIMEOUT:-600} bash "$p" >"$log" 2>&1
	else
		timeout -k 10 ${EVCAP_TEST_TIMEOUT:-600} "$p" >"$log" 2>&1
	fi
	rc=$?
	p_n=$(grep -c '^PASS ' "$log"); f_n=$(grep -c '^FAIL ' "$log"); s_n=$(grep -c '^SKIP ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f_n" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc (see $log)" >>"$log"
		f_n=1
	fi
	pass=$((pass + p_n)); fail=$((fail + f_n)); skip=$((skip + s_n))
	secs=$(( $(date +%s) - start ))
	printf '%-28s %3d passed %3d failed %3d skipped  (%ss)\n' "$name" "$p_n" "$f_n" "$s_n" "$secs"
	grep -E '^(FAIL|SKIP) ' "$log" | sed 's/^/    /'
	if [ "$f_n" -gt 0 ]; then
		failed_names+=("$name")
		# show the context of failures: the '#' lines and any sanitizer report
		grep -E '^#|ERROR: |runtime error' "$log" | head -40 | sed 's/^/    | /'
	fi
done
# the audit of those plans: no per-row full scan of a growing table
if [ -s "$PLANS" ] && command -v python3 >/dev/null 2>&1; then
	log=$LOGDIR/query_plans.log
	python3 tests/query_plans.py "$PLANS" tests/query-plans.allow >"$log" 2>&1
	rc=$?
	p_n=$(grep -c '^PASS ' "$log"); f_n=$(grep -c '^FAIL ' "$log")
	[ "$rc" -ne 0 ] && [ "$f_n" -eq 0 ] && f_n=1
	pass=$((pass + p_n)); fail=$((fail + f_n))
	printf '%-28s %3d passed %3d failed %3d skipped\n' query_plans "$p_n" "$f_n" 0
	grep -E '^FAIL ' "$log" | sed 's/^/    /'
	[ "$f_n" -gt 0 ] && failed_names+=(query_plans)
fi
echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]} (logs in $LOGDIR)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
