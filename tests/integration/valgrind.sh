#!/bin/bash
# Memcheck over the commands that touch untrusted bytes: a small ingest of
# good and damaged photos (MakerNotes, lying lengths, deep and unterminated
# XMP, truncations), then ls, show, verify and log. Any memcheck error or
# definitely lost block, in evcap or in the metadata child it forks, fails.
# Skips without valgrind, and under the sanitizer build (ASan binaries
# cannot run under valgrind).
. "$(dirname "$0")/../lib/common.sh"

if [ -n "${EVCAP_SAN:-}" ]; then
	skip "valgrind: the sanitizer build cannot run under valgrind (make check covers it)"
	exit 0
fi
if [ -n "${EVCAP_VALGRIND:-}" ]; then
	skip "valgrind: make check-valgrind already runs every evcap command under memcheck"
	exit 0
fi
if ! need valgrind; then
	skip "valgrind: valgrind is not installed (Debian: valgrind)"
	exit 0
fi
if ! need python3; then
	skip "valgrind: python3 is needed to build the damaged photos"
	exit 0
fi

# A few of each kind of damage, not the whole card: memcheck runs the
# code some 20-50 times slower.
python3 "$ROOT/tests/lib/mkbadcard.py" --out "$T/card" --describe "$T/card.json" \
	--outside "$T/outside" --small >/dev/null || { bad "valgrind: mkbadcard.py failed"; exit 1; }
on_exit "chmod -R u+rwx '$T/card' 2>/dev/null"
IN=$T/in
mkdir -p "$IN"
(
	cd "$T/card/DCIM" || exit 1
	cp 104CRAFT/* 105MKNOTE/*_be.JPG 106XMP/* 107COUNT/* 100MEDIA/* "$IN/"
	ls 100TRUNC/* | awk 'NR % 4 == 1' | xargs -I{} cp {} "$IN/"
	ls 103FLIP/* | head -3 | xargs -I{} cp {} "$IN/"
	cp 101LIES/* 102IFD/* "$IN/"
	cp 108NOTJPG/empty.JPG 108NOTJPG/text.JPG "$IN/"
)
cp "$ROOT"/tests/fuzz/seeds/jpeg/*.jpg "$IN/" 2>/dev/null
n_in=$(ls "$IN" | wc -l)

VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --child-silent-after-fork=no --log-file="$T/vg.%p.log")

# vg NAME ARGS...: runs evcap ARGS under memcheck; PASS when it exits as
# it would without valgrind (0, or 1 where a problem is reported) and no
# process it ran (the metadata child included) logged an error.
vg() {
	local name=$1 want=$2
	shift 2
	rm -f "$T"/vg.*.log
	"${VG[@]}" "$EVCAP" "$@" >"$T/out.txt" 2>"$T/err.txt" &
	local pid=$!
	wait "$pid"
	local rc=$?
	# Memory errors count in every process; leaks only in evcap itself:
	# the metadata child leaves by _exit from deep inside ingest, so what
	# its callers still hold shows as lost there without being a leak.
	local errs leaks
	errs=$(cat "$T"/vg.*.log 2>/dev/null | grep -cE '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|Syscall param|Source and destination|Argument .* of function)')
	leaks=$(grep -cE '^==[0-9]+== [0-9,]+ bytes in [0-9,]+ blocks are definitely lost' "$T/vg.$pid.log" 2>/dev/null)
	errs=$((errs + ${leaks:-0}))
	[ -f "$T/vg.$pid.log" ] && grep -q 'ERROR SUMMARY: [1-9]' "$T/vg.$pid.log" && [ "$errs" -eq 0 ] && errs=1
	if [ "$errs" -gt 0 ]; then
		bad "valgrind $name: memcheck reported $errs error(s)"
		grep -hE '^==[0-9]+== ' "$T"/vg.*.log | grep -vE 'definitely lost|^==[0-9]+== +(at|by) ' | head -5 | sed 's/^/# /'
		grep -hE -A12 '^==[0-9]+== (Invalid|Conditional|Use of)' "$T"/vg.*.log | head -30 | sed 's/^/# /'
		grep -hE -A8 'definitely lost' "$T/vg.$pid.log" | head -20 | sed 's/^/# /'
	elif [ "$rc" -ne "$want" ] && [ "$rc" -ne 0 ] || [ "$rc" -eq 99 ]; then
		bad "valgrind $name: exit status $rc"
		tail -3 "$T/err.txt" | sed 's/^/# /'
	else
		ok "valgrind $name: no memcheck errors"
	fi
}

"$EVCAP" init >/dev/null 2>&1
vg "ingest ($n_in good and damaged photos)" 1 ingest "$IN"
vg "ls --json" 0 --json ls
vg "ls" 0 ls
first=$("$EVCAP" --json ls 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["sha256"][:12])' 2>/dev/null)
[ -n "$first" ] && vg "show" 0 show "$first"
vg "verify" 0 verify
vg "log" 0 log
