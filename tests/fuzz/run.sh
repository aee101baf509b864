#!/bin/bash
# Builds and runs every libFuzzer harness in tests/fuzz (see docs/fuzzing.md).
# The library is compiled by the project's own Makefile into $BUILD (default
# build-fuzz) with clang and -fsanitize=fuzzer-no-link,address,undefined, so
# the flags and pkg-config libraries are exactly the normal build's; each
# harness is then linked with -fsanitize=fuzzer,address,undefined and run for
# FUZZ_SECONDS from its seeds. Prints "PASS fuzz_x: N execs" or
# "FAIL fuzz_x: ..." per harness and a summary; exits 1 on any finding,
# 2 when the harnesses cannot be built.
#
#   FUZZ_SECONDS=N   time per harness (default 30; 0 replays the seeds once)
#   FUZZ_JOBS=N      harnesses run side by side (default: the CPU count, max 4)
#   FUZZ_BUILD_ONLY=1  build the harnesses and stop
#   arguments        narrow the run to some harnesses: run.sh jpeg exif
# A harness newer than its source, tests/fuzz/*.h, the library, this script
# and the Makefile is kept, not linked again.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-30}
CC_FUZZ=${FUZZ_CC:-clang}
ALL="jpeg exif xmp meta bmff srt nmea gpx config manifest pullpath minisig sensor spool s3list"

# -max_len per harness: what one input needs to reach every state of its
# parser (a JPEG head, one APP1, some dozens of NMEA lines); longer inputs
# only slow the mutations down (the parsers' own size caps are unit-tested).
max_len() {
	case $1 in
	jpeg | exif | meta | bmff) echo 65536 ;;
	xmp) echo 16384 ;;
	gpx | sensor | spool | srt) echo 8192 ;;
	nmea) echo 4096 ;;
	manifest) echo 32768 ;;
	s3list) echo 16384 ;;
	config | minisig) echo 4096 ;;
	pullpath) echo 2048 ;;
	*) echo 4096 ;;
	esac
}

if [ -z "${EVCAP_CORPUS:-}" ] && [ -d "$ROOT/../shared/corpus" ]; then
	EVCAP_CORPUS=$(cd "$ROOT/../shared/corpus" && pwd)
fi

names=${*:-$ALL}
for h in $names; do
	case " $ALL " in *" $h "*) ;; *) echo "unknown harness '$h' (known: $ALL)" >&2; exit 2 ;; esac
done

if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
	echo "FAIL fuzz: $CC_FUZZ is not installed (Debian: clang libclang-rt-14-dev)"
	exit 2
fi

# The Makefile knows the include paths, the pkg-config flags and the
# warnings; ask it rather than repeat them here.
SAN_COMPILE="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
SAN_LINK="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
make_var() {
	make -s --no-print-directory BUILD="$BUILD" CC="$CC_FUZZ" CFLAGS="$SAN_COMPILE" \
		-f Makefile -f - "fuzz-print-$1" <<'EOF'
fuzz-print-%:
	@echo '$($*)'
EOF
}

mkdir -p "$BUILD/tests/fuzz" "$BUILD/fuzz-logs" "$BUILD/findings"
echo "building the library with $CC_FUZZ and the fuzzer sanitizers into $BUILD/"
if ! make -s --no-print-directory -j"$(nproc)" BUILD="$BUILD" CC="$CC_FUZZ" CFLAGS="$SAN_COMPILE" \
	"$BUILD/libevcap.a" >"$BUILD/fuzz-logs/build.log" 2>&1; then
	echo "FAIL fuzz: the library does not build with $CC_FUZZ (see $BUILD/fuzz-logs/build.log)"
	grep -E 'error' "$BUILD/fuzz-logs/build.log" | head -10 | sed 's/^/    | /'
	exit 2
fi
CFLAGS_ALL=$(make_var ALL_CFLAGS | sed -e 's/ -MMD//' -e 's/ -MP//')
LDLIBS=$(make_var LDLIBS)

# Seeds: the crafted ones in the tree, the saved findings (each must now
# pass), and inputs cut from the real-world corpus when it is there.
GEN=$BUILD/seeds-gen
rm -rf "$GEN"
if [ -n "${EVCAP_CORPUS:-}" ] && [ -d "$EVCAP_CORPUS" ] && command -v python3 >/dev/null; then
	python3 tests/fuzz/mkseeds.py --out "$GEN" --corpus "$EVCAP_CORPUS" ||
		echo "note: seeds from the corpus could not be made; using the crafted seeds only"
else
	echo "note: the real-world corpus is absent; using the crafted seeds only"
fi

build_one() {
	local h=$1 bin=$BUILD/tests/fuzz/fuzz_$1 dep
	if [ -x "$bin" ]; then
		for dep in "tests/fuzz/fuzz_$h.c" tests/fuzz/*.h "$BUILD/libevcap.a" tests/fuzz/run.sh Makefile; do
			[ "$bin" -nt "$dep" ] || break
		done
		[ "$bin" -nt "$dep" ] && return 0
	fi
	# shellcheck disable=SC2086
	$CC_FUZZ $CFLAGS_ALL $SAN_LINK -Itests/fuzz -o "$bin" "tests/fuzz/fuzz_$h.c" \
		"$BUILD/libevcap.a" $LDLIBS >"$BUILD/fuzz-logs/build-$h.log" 2>&1
}

# Runs one harness; writes its result line to $BUILD/fuzz-logs/$h.result.
run_one() {
	local h=$1 bin=$BUILD/tests/fuzz/fuzz_$1 log=$BUILD/fuzz-logs/$1.log
	local res=$BUILD/fuzz-logs/$1.result work=$BUILD/corpus/$1 art=$BUILD/findings/$1/
	mkdir -p "$work" "$art"
	local dirs=("$work")
	for d in "tests/fuzz/seeds/$h" "tests/fuzz/regressions/$h" "$GEN/$h"; do
		[ -d "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ] && dirs+=("$d")
	done
	local limit=(-max_total_time="$SECONDS_EACH")
	[ "$SECONDS_EACH" = 0 ] && limit=(-runs=0)
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		timeout -k 10 $((SECONDS_EACH + 300)) "$bin" "${limit[@]}" -max_len="$(max_len "$h")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
		-artifact_prefix="$art" "${dirs[@]}" >"$log" 2>&1
	local rc=$?
	local execs
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS fuzz_$h: ${execs:-0} execs" >"$res"
	else
		local what found
		found=$(ls -t "$art" 2>/dev/null | head -1)
		what=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer): [a-z-]+|runtime error: .*|broken promise at .*|deadly signal|timeout' "$log")
		echo "FAIL fuzz_$h: crash after ${execs:-?} execs: ${what:-exit status $rc}; input $art$found (log $log)" >"$res"
	fi
}

fail=0 pass=0 total=0
jobs_max=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs_max" -gt 4 ] && jobs_max=4
[ "$jobs_max" -lt 1 ] && jobs_max=1
# side_by_side CMD NAME...: runs CMD NAME for each name, jobs_max at a time
side_by_side() {
	local cmd=$1 running=0 h
	shift
	for h in "$@"; do
		"$cmd" "$h" &
		running=$((running + 1))
		if [ "$running" -ge "$jobs_max" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
}
# the harnesses are built side by side too; each leaves a mark when built
build_marked() {
	rm -f "$BUILD/fuzz-logs/built-$1"
	build_one "$1" && : >"$BUILD/fuzz-logs/built-$1"
}
# shellcheck disable=SC2086
side_by_side build_marked $names
built=()
for h in $names; do
	if [ -e "$BUILD/fuzz-logs/built-$h" ]; then
		built+=("$h")
	else
		echo "FAIL fuzz_$h: does not build (see $BUILD/fuzz-logs/build-$h.log)"
		grep -E 'error' "$BUILD/fuzz-logs/build-$h.log" | head -5 | sed 's/^/    | /'
		fail=$((fail + 1))
	fi
	total=$((total + 1))
done
if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then
	echo "${#built[@]} of $total harnesses built"
	[ "$fail" -eq 0 ] || exit 2
	exit 0
fi
echo "running ${#built[@]} harnesses for ${SECONDS_EACH}s each, $jobs_max at a time"
for h in "${built[@]}"; do rm -f "$BUILD/fuzz-logs/$h.result"; done
side_by_side run_one "${built[@]}"
for h in "${built[@]}"; do
	r=$(cat "$BUILD/fuzz-logs/$h.result" 2>/dev/null || echo "FAIL fuzz_$h: no result (killed?)")
	echo "$r"
	case "$r" in PASS*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
done
echo
echo "$pass passed, $fail failed of $total harnesses"
if [ "$fail" -gt 0 ]; then
	echo "each finding's input is under $BUILD/findings/<harness>/; copy it to"
	echo "tests/fuzz/regressions/<harness>/ so make check replays it (unit/test_fuzz_regressions)"
	exit 1
fi
exit 0
