#!/bin/bash
# The test runner: runs every unit binary in $BUILD/tests and every script in
# tests/integration, counts the PASS/FAIL/SKIP lines each prints, and ends with
# "N passed, N failed, N skipped"; several at a time (EVCAP_TEST_JOBS, see
# below), each line printed as its test ends. A program that exits non-zero without
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
echo "temporary files under $TMPDIR ($(stat -f -c %T "$TMPDIR" 2>/dev/null || echo '?'))"
LOGDIR=$ROOT/$BUILD/test-logs
mkdir -p "$LOGDIR"
# every statement evcap prepares, with its plan, for the audit at the end
# (each test logs to its own file under $PLANDIR, gathered here)
PLANS=$LOGDIR/query-plans.log
rm -f "$PLANS"

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
# Tests run EVCAP_TEST_JOBS at a time (default: one more than the CPUs, as
# most of a test's time is spent waiting on gpsd, a daemon, the disk or a
# server). Each test has its own temporary directory, ports picked free and
# its own query-plan log, so they do not meet. The longest start first
# (tests/slow-first), so that no long one is left to run alone at the end.
jobs=${EVCAP_TEST_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "EVCAP_TEST_JOBS must be a positive number, not '$jobs'" >&2; exit 2; }
if [ $# -eq 0 ] && [ -f tests/slow-first ]; then
	first=() rest=()
	while read -r want _; do
		case "$want" in ''|'#'*) continue ;; esac
		for p in "${progs[@]}"; do
			[ "$(basename "$p" .sh)" = "$want" ] && first+=("$p")
		done
	done <tests/slow-first
	for p in "${progs[@]}"; do
		case " ${first[*]} " in *" $p "*) ;; *) rest+=("$p") ;; esac
	done
	progs=("${first[@]+"${first[@]}"}" "${rest[@]+"${rest[@]}"}")
fi
PLANDIR=$LOGDIR/query-plans
rm -rf "$PLANDIR" && mkdir -p "$PLANDIR"

# run_one PROG LOG: one test, bounded in time, its output in LOG
run_one() {
	local name
	name=$(basename "$1" .sh)
	export EVCAP_QUERY_PLANS=$PLANDIR/$name.log
	if [[ "$1" == *.sh ]]; then
		timeout -k 10 "${EVCAP_TEST_TIMEOUT:-600}" bash "$1" >"$2" 2>&1
	else
		timeout -k 10 "${EVCAP_TEST_TIMEOUT:-600}" "$1" >"$2" 2>&1
	fi
}

# report PROG RC SECS: counts and prints what one finished test said
report() {
	local name log p_n f_n s_n
	name=$(basename "$1" .sh)
	log=$LOGDIR/$name.log
	p_n=$(grep -c '^PASS ' "$log"); f_n=$(grep -c '^FAIL ' "$log"); s_n=$(grep -c '^SKIP ' "$log")
	if [ "$2" -ne 0 ] && [ "$f_n" -eq 0 ]; then
		echo "FAIL $name: exited with status $2 (see $log)" >>"$log"
		f_n=1
	fi
	pass=$((pass + p_n)); fail=$((fail + f_n)); skip=$((skip + s_n))
	printf '%-28s %3d passed %3d failed %3d skipped  (%ss)\n' "$name" "$p_n" "$f_n" "$s_n" "$3"
	grep -E '^(FAIL|SKIP) ' "$log" | sed 's/^/    /'
	if [ "$f_n" -gt 0 ]; then
		failed_names+=("$name")
		# show the context of failures: the '#' lines and any sanitizer report
		grep -E '^#|ERROR: |runtime error' "$log" | head -40 | sed 's/^/    | /'
	fi
}

declare -A prog_of=() start_of=()
reap() {
	local pid rc
	wait -n -p pid
	rc=$?
	report "${prog_of[$pid]}" "$rc" $(($(date +%s) - ${start_of[$pid]}))
	unset "prog_of[$pid]" "start_of[$pid]"
}
for p in "${progs[@]}"; do
	while [ ${#prog_of[@]} -ge "$jobs" ]; do reap; done
	run_one "$p" "$LOGDIR/$(basename "$p" .sh).log" &
	prog_of[$!]=$p
	start_of[$!]=$(date +%s)
done
while [ ${#prog_of[@]} -gt 0 ]; do reap; done
cat "$PLANDIR"/*.log >"$PLANS" 2>/dev/null
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
