#!/bin/bash
# Two evcap programs at work on one store at once: (1) a second sync, or a
# second pull into one office, is turned away, naming the store, the
# process that holds it and what to do, and the first finishes alone;
# (2) two field stores syncing to one target at once both commit, and the
# office gets every item once; (3) export and verify while a pull writes
# the office store; (4) a store another writer keeps past the wait: a
# command says the store is busy and to run it again, and verify says it
# could not record its check (it used to say nothing); (5) exports at once
# into one folder; (6) a command opening the store as an ingest begins an
# original's temporary file; (7) one case opened by two commands at once;
# (8) a file rewritten in place while ingest reads it, its modification
# time set back after: not recorded.
. "$(dirname "$0")/../lib/common.sh"

need jq sqlite3 strace flock || { skip "concurrent: needs jq, sqlite3, strace, flock"; exit 0; }
strace -o /dev/null true 2>/dev/null || { skip "concurrent: strace cannot trace here"; exit 0; }

CASE=C
mkdir -p "$T/card" "$T/usb"
for i in 1 2 3 4 5 6 7 8; do head -c $((20000 * i)) /dev/urandom >"$T/card/DJI_000$i.JPG"; done
for f in a b; do
	$EVCAP --store "$T/$f" init >/dev/null && $EVCAP --store "$T/$f" case open $CASE --use >/dev/null
	$EVCAP --store "$T/$f" ingest "$T/card" >/dev/null 2>&1
	$EVCAP --store "$T/$f" key show >"$T/$f.pub"
done
# the same card went into both, plus one photo of each own
head -c 7777 /dev/urandom >"$T/a.JPG" && $EVCAP --store "$T/a" ingest "$T/a.JPG" >/dev/null 2>&1
head -c 8888 /dev/urandom >"$T/b.JPG" && $EVCAP --store "$T/b" ingest "$T/b.JPG" >/dev/null 2>&1

# locked FILE: true while a process holds FILE's flock, read from
# /proc/locks: trying the lock (flock -n) would hold it for a moment, and a
# sync starting in that moment was turned away, as a second sync is
locked() {
	local ino
	ino=$(stat -c %i "$1" 2>/dev/null) || return 1
	grep -q "FLOCK .*:$ino " /proc/locks
}
# slow CMD...: CMD, held up for a second at its third fsync, in the background
slow() {
	strace_run -f -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=1000000:when=3 "$@" \
		>"$T/slow.out" 2>&1 &
	SLOW=$!
}
# holding CMD...: CMD, held up for three seconds just after it takes its
# first flock (a sync's or pull's sync.lock: nothing else it does takes one
# first), in the background: a second command started meanwhile meets the
# lock held, however loaded the machine (an fsync to hold it at may come
# before the lock is taken)
holding() {
	strace_run -f -o /dev/null -e trace=flock -e inject=flock:delay_exit=3000000:when=1 "$@" \
		>"$T/slow.out" 2>&1 &
	SLOW=$!
}

# 1. a second sync of one store, a second pull into one office
holding $EVCAP --store "$T/a" sync --target "dir:$T/usb"
within 20 locked "$T/a/sync.lock"
out=$($EVCAP --store "$T/a" sync --target "dir:$T/usb" 2>&1)
rc=$?
wait $SLOW
check "a second sync of the store is turned away (exit 1)" test $rc = 1
check "saying which store, who holds it and what to do" grep -q \
	"the store $T/a is in use by another evcap sync or pull (pid [0-9]* holds .*sync.lock); wait for it to finish, then run this again" \
	<<<"$out"
check "the first sync commits its bundle" grep -q "1 bundle committed: 9 items" "$T/slow.out"
check "and the next finds nothing new" bash -c '$1 --store "$2/a" sync --target "dir:$2/usb" 2>&1 | grep -q "nothing new"' _ "$EVCAP" "$T"

O="$EVCAP --store $T/office"
$O init >/dev/null && $O key trust "$T/a.pub" >/dev/null && $O key trust "$T/b.pub" >/dev/null
holding $O pull --target "dir:$T/usb" --case $CASE
within 20 locked "$T/office/sync.lock"
out=$($O pull --target "dir:$T/usb" --case $CASE 2>&1)
rc=$?
# 3. meanwhile, the office exports and verifies what it has
$O export --format csv --case $CASE --out "$T/during.csv" >"$T/exp.out" 2>&1 ||
	grep -q "no case" "$T/exp.out" # (before the pull has made the case)
exp_rc=$?
$O verify -q >"$T/ver.out" 2>&1
ver_rc=$?
wait $SLOW
check "a second pull into the office is turned away (exit 1)" test $rc = 1
check "saying which store and what to do" grep -q \
	"the store $T/office is in use by another evcap sync or pull (pid [0-9]* holds .*); wait for it to finish" \
	<<<"$out"
check "an export while the pull runs works, or says the case is not there yet" test $exp_rc = 0
check "verify while the pull runs finds nothing wrong" test $ver_rc = 0
check "the pull imports the bundle" grep -q "1 bundle imported (9 items)" "$T/slow.out"

# 2. two field stores to one target at once (they share eight originals)
head -c 5555 /dev/urandom >"$T/a2.JPG" && $EVCAP --store "$T/a" ingest "$T/a2.JPG" >/dev/null 2>&1
slow $EVCAP --store "$T/a" sync --target "dir:$T/usb"
$EVCAP --store "$T/b" sync --target "dir:$T/usb" >"$T/b1.out" 2>&1
rb=$?
wait $SLOW
ra=$?
check "two stores syncing to one target at once both commit" \
	test $ra = 0 -a $rb = 0 -a "$(find "$T/usb/cases" -name COMMITTED | wc -l)" = 3
check "no temporary file left on the target" test -z "$(find "$T/usb" -name '.tmp-*')"
check "the target holds each original once" test "$(find "$T/usb/blobs" -type f | wc -l)" = 11
$O pull --target "dir:$T/usb" --case $CASE >"$T/p2.out" 2>&1
check "the office pulls the rest" test $? = 0
check "and holds every item once" \
	test "$($O --json ls | jq length)" = 11 -a \
	"$(sqlite3 "$T/office/evidence.db" 'SELECT count(DISTINCT sha256) FROM items')" = 11
check "office verify passes" $O verify -q
# 4. a store kept by another writer past the wait
$EVCAP init >/dev/null 2>&1
export EVCAP_STORE_BUSY_MS=300
hold_store || { bad "the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }
out=$($EVCAP case open D 7>&- 2>&1)
rc=$?
check "a command on a busy store fails (exit 1)" test $rc = 1
check "saying the store is busy, who holds it (pid and command), and to run it again" \
	grep -q "$EVCAP_STORE: the store is busy: another program is writing to it (held by pid $HOLD_PID: sqlite3 -cmd .*); try again once it is done" \
	<<<"$out"
out=$($EVCAP verify 7>&- 2>&1)
check "verify on a busy store says it could not record its check" \
	grep -q "could not record the check: .*the store is busy" <<<"$out"
# while a sync or pull runs on the store, it is named (the lock is held
# here by flock(1) in its place)
flock "$EVCAP_STORE/sync.lock" sleep 5 7>&- &
pf=$!
within 5 locked "$EVCAP_STORE/sync.lock"
out=$($EVCAP case open D 7>&- 2>&1)
check "a busy store names the sync or pull that runs on it too, by pid" grep -q \
	"the store is busy: another program is writing to it (held by pid $HOLD_PID: sqlite3 .*; an evcap sync or pull runs on it, pid $pf)" \
	<<<"$out"
kill $pf 2>/dev/null
wait $pf 2>/dev/null
release_store
check "once let go, the command works" $EVCAP case open D
# the rest waits for the store as a user's commands do: two commands at
# once each wait for the other's transaction, which on a loaded machine
# under the sanitizers can take longer than the 300 ms above
unset EVCAP_STORE_BUSY_MS

# 6. a command that opens the store while an ingest has just made an
# original's temporary file, and not yet locked it (the moment is held
# open with strace), leaves that file alone: the ingest records it
mkdir -p "$T/one"
head -c 4321 /dev/urandom >"$T/one/ONE.JPG"
I="$EVCAP --store $T/i"
$I init >/dev/null
strace_run -f -o /dev/null -e trace=flock -e inject=flock:delay_enter=1500000:when=1 \
	$I ingest "$T/one" >"$T/i.out" 2>&1 &
pi=$!
has_tmp() { [ -n "$(ls "$T/i/blobs/tmp")" ]; }
within 5 has_tmp
$I case list >"$T/l.out" 2>&1
wait $pi
check "an ingest whose temporary file another command saw still records the file" \
	test "$($I --json ls | jq length)" = 1
check "and the other command removed nothing" bash -c '! grep -q removed "$1"' _ "$T/l.out"

# 7. the same case opened by two commands at once: both succeed, as if
# one had come second, and the case is opened once
fails=() opens=()
for r in 1 2 3 4 5 6; do
	C="$EVCAP --store $T/c$r"
	$C init >/dev/null
	$C case open 'XX检〔2024〕3号' --use >"$T/o1.out" 2>&1 &
	po=$!
	$C case open 'XX检〔2024〕3号' --use >"$T/o2.out" 2>&1 || fails+=("round $r: $(cat "$T/o2.out")")
	wait $po || fails+=("round $r: $(cat "$T/o1.out")")
	opens+=("$(sqlite3 "$T/c$r/evidence.db" "SELECT count(*) FROM custody WHERE action = 'case open'")")
done
if [ ${#fails[@]} = 0 ]; then
	ok "one case opened twice at once: both commands succeed"
else
	bad "one case opened twice at once: ${fails[*]}"
fi
check "and it is opened once" test "${opens[*]}" = "1 1 1 1 1 1"

# 5. two exports of working copies (and of a CSV) into one folder at once:
# neither takes the other's temporary files for an earlier run's leftovers
if ! need exiftool; then
	skip "concurrent exports: exiftool is not installed"
	exit 0
fi
. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/base.jpg"
mkdir -p "$T/photos"
for i in $(seq -w 1 24); do cp "$T/base.jpg" "$T/photos/P$i.JPG"; done
exiftool -q -overwrite_original '-ImageDescription<FileName' "$T/photos"
X="$EVCAP --store $T/x"
$X init >/dev/null && $X case open E --use >/dev/null && $X ingest "$T/photos" >/dev/null 2>&1
problems=()
for r in 1 2 3 4 5; do
	rm -rf "$T/out"
	$X export --force --format jpeg --out "$T/out" >"$T/j1.out" 2>&1 &
	p1=$!
	$X export --force --format csv --out "$T/out.csv" >"$T/c1.out" 2>&1 &
	p2=$!
	$X export --force --format csv --out "$T/out.csv" >"$T/c2.out" 2>&1 &
	p3=$!
	$X export --force --format jpeg --out "$T/out" >"$T/j2.out" 2>&1
	r4=$?
	wait $p1 && wait $p2 && wait $p3 && [ $r4 = 0 ] ||
		problems+=("round $r: an export failed: $(cat "$T"/[jc][12].out)")
	grep -h "removed\|cannot" "$T"/[jc][12].out >"$T/said" && problems+=("round $r: $(cat "$T/said")")
	[ -z "$(find "$T/out" "$T" -maxdepth 1 -name '.tmp-*')" ] || problems+=("round $r: temporary files left")
done
if [ ${#problems[@]} = 0 ]; then
	ok "exports at once into one folder all succeed, and none removes another's files"
else
	bad "exports at once into one folder: ${problems[*]}"
fi
check "each working copy recorded once" \
	test "$(sqlite3 "$T/x/evidence.db" 'SELECT count(*) FROM derivatives')" = 24
check "verify passes after the exports" $X verify -q

# (8) a file rewritten in place while it is read, its size kept and its
# modification time set back (touch -d): size and mtime say nothing, the
# change time does. strace holds each read of it 0.5 s; the file is
# changed once the ingest is held in its first read of it.
TR=$T/torn
mkdir -p "$TR"
F=$TR/DJI_0100.JPG
head -c 6000000 /dev/urandom >"$F"
touch -d 2024-01-01 "$F"
$EVCAP --store "$TR/s" init >/dev/null 2>&1
# reading_torn: true while a process has F open and one of its threads is
# in read(2) on it (held there by strace); the pid is in $TR/pid
reading_torn() {
	local spid pid fd t nr a1
	spid=$(cat "$TR/spid" 2>/dev/null) || return 1
	for pid in $(cat /proc/"$spid"/task/*/children 2>/dev/null); do
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "$F" ] || continue
			for t in /proc/"$pid"/task/*/syscall; do
				read -r nr a1 _ <"$t" 2>/dev/null || continue
				[ "$nr" = 0 ] && [ "$a1" = "$(printf '0x%x' "${fd##*/}")" ] && return 0
			done
		done
	done
	return 1
}
bash -c 'echo $$ >"$0/spid"; ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	exec strace -f -o /dev/null -P "$1" -e trace=read -e inject=read:delay_enter=500000 \
	"${@:2}"' "$TR" "$F" $EVCAP --store "$TR/s" ingest --no-geotag "$F" >"$TR/out" 2>"$TR/err" &
tp=$!
if within 30 reading_torn; then
	dd if=/dev/urandom of="$F" bs=4096 count=1 seek=100 conv=notrunc 2>/dev/null
	touch -d 2024-01-01 "$F"
	wait $tp
	rc=$?
	check "a file rewritten while read, its mtime set back: said to have changed (rc $rc)" \
		bash -c "[ $rc = 1 ] && grep -q 'DJI_0100.JPG: changed while it was being read' '$TR/err'"
	check "... and not recorded" \
		test "$(sqlite3 "$TR/s/evidence.db" 'SELECT count(*) FROM items')" = 0
else
	wait $tp
	bad "a file rewritten while read: the ingest was never seen reading it: $(tail -2 "$TR/err")"
fi
