#!/bin/bash
# kill -9 during `evcap init`, at each fsync and each unlink in turn
# (strace stops it as it makes the Nth call), then init again: the store is
# whole, its custody log opens with exactly one init event, the device key
# is there, no second name of it is left in keys/, and verify passes.
# Then three inits of one new store at once.
. "$(dirname "$0")/../lib/common.sh"

need sqlite3 strace || { skip "init kill: needs sqlite3, strace"; exit 0; }
strace -o /dev/null true 2>/dev/null || { skip "init kill: strace cannot trace here"; exit 0; }

stopped=0 problems=()
for call in fsync unlink; do
	n=1
	while :; do
		S=$T/$call$n
		strace_run -f -o /dev/null -e trace=$call -e inject="$call:signal=SIGKILL:when=$n" \
			$EVCAP --store "$S" init >/dev/null 2>&1
		[ $? -eq 137 ] || break
		stopped=$((stopped + 1))
		out=$($EVCAP --store "$S" init 2>&1) || { problems+=("$call $n: init again failed: $out"); }
		$EVCAP --store "$S" init >/dev/null 2>&1
		first=$(sqlite3 "$S/evidence.db" "SELECT action FROM custody ORDER BY seq LIMIT 1" 2>&1)
		inits=$(sqlite3 "$S/evidence.db" "SELECT count(*) FROM custody WHERE action = 'init'" 2>&1)
		[ "$first" = init ] && [ "$inits" = 1 ] ||
			problems+=("$call $n: the log opens with '$first' and holds $inits init events")
		$EVCAP --store "$S" key show 2>/dev/null | grep -q "minisign public key" ||
			problems+=("$call $n: no device key")
		left=$(find "$S/keys" -name '.tmp-*')
		[ -z "$left" ] || problems+=("$call $n: left in keys/: $left")
		$EVCAP --store "$S" verify -q >/dev/null 2>&1 || problems+=("$call $n: verify fails")
		n=$((n + 1))
		[ $n -gt 40 ] && break
	done
done
echo "# init stopped $stopped times"
check "init was stopped at several points" test $stopped -ge 5
if [ ${#problems[@]} = 0 ]; then
	ok "after each stop, init again leaves a whole store with one init event"
else
	bad "after a stop and init again: ${problems[*]}"
fi

# three inits of one new store at once: none fails for the key or the
# database another made a moment before (SQLite refuses the switch to WAL
# at once, without waiting), and the store has one key and one init event
said=() events=()
for r in 1 2 3 4 5 6 7 8; do
	S=$T/at-once$r
	$EVCAP --store "$S" init >"$T/i1.out" 2>&1 &
	p1=$!
	$EVCAP --store "$S" init >"$T/i2.out" 2>&1 &
	p2=$!
	$EVCAP --store "$S" init >"$T/i3.out" 2>&1
	wait $p1 $p2
	grep -h "already exists\|busy" "$T"/i[123].out >"$T/said" && said+=("round $r: $(cat "$T/said")")
	$EVCAP --store "$S" init >/dev/null 2>&1
	events+=("$(sqlite3 "$S/evidence.db" "SELECT count(*) FROM custody WHERE action = 'init'")")
done
if [ ${#said[@]} = 0 ]; then
	ok "inits at once: none fails because another made the key, or the database, first"
else
	bad "inits at once: one failed because another was first: ${said[*]}"
fi
check "inits at once: one init event in each store (${events[*]})" test "${events[*]}" = "1 1 1 1 1 1 1 1"

# an init while another program is still making the store (its database
# there, its first write not yet committed, kept past the wait) is told
# the store is busy, and exits 1: not a usage error (it exited 2)
S=$T/held
mkdir -p "$S"
sqlite3 "$S/evidence.db" "PRAGMA journal_mode = WAL" >/dev/null
mkfifo "$T/held.in"
sqlite3 "$S/evidence.db" <"$T/held.in" >"$T/held.out" 2>&1 &
hp=$!
exec 8>"$T/held.in"
echo "BEGIN IMMEDIATE; SELECT 1;" >&8
held() { ! sqlite3 -cmd ".timeout 50" "$S/evidence.db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; }
within 15 held || bad "init kill: the other writer could not take the store: $(cat "$T/held.out")"
EVCAP_STORE_BUSY_MS=300 $EVCAP --store "$S" init >/dev/null 2>"$T/held.err" 8>&-
rc=$?
echo "ROLLBACK;" >&8
exec 8>&-
wait $hp
check "init on a store another is making: busy, exit 1 ($rc)" \
	bash -c '[ "$1" = 1 ] && grep -q "the store is busy" "$2"' _ "$rc" "$T/held.err"
$EVCAP --store "$S" init >/dev/null 2>&1
check "and once it is free, init makes it, with its init event" test \
	"$(sqlite3 "$S/evidence.db" "SELECT action FROM custody ORDER BY seq")" = init
