#!/bin/bash
# What evcapd's scan cannot read is a problem its summary counts, never a
# quiet skip: an entry it cannot stat (strace fails the calls with EIO), a
# folder it cannot open (a path past the system's 4096 bytes), a folder
# whose listing fails part way (EIO again) and a folder nested too deep
# are each named in the log and counted in the burst's
# summary, in last-burst.json and bursts.jsonl. Every line naming a card's
# file or folder shows its name escaped, so a newline in one cannot forge
# a line of the log.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_unread: evcapd is not built"
	exit 0
fi
need jq strace || { skip "daemon_unread: needs jq and strace"; exit 0; }
strace -o /dev/null true 2>/dev/null || { skip "daemon_unread: strace cannot trace here"; exit 0; }

"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon_unread: evcap init failed"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"

# start_daemon WATCH LOG [STRACE-ARGS...]: evcapd watching WATCH (under
# strace when it is given arguments), its log in LOG; waits for its first
# scan
dpid=
start_daemon() {
	local w=$1 log=$2 run=()
	shift 2
	[ $# -gt 0 ] && run=(strace_run -f -o /dev/null "$@")
	"${run[@]}" "$EVCAPD" --foreground --config "$T/evcap.conf" \
		--store "$EVCAP_STORE" --watch "$w" --gps "" -v -v 2>"$log" &
	within 30 grep -q "rescan (start)" "$log" || return 1
	dpid=$(cat "$EVCAP_STORE/evcapd.lock")
}
stop_daemon() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	wait
	dpid=
}
on_exit stop_daemon

# entries that cannot be stat'ed (the folder's first call is fdopendir's
# fstat, the next the first entry's), a folder past PATH_MAX, one too deep
W=$T/media
mkdir -p "$W/bad" "$W/good"
printf '\xff\xd8\xff\xd9good' >"$W/good/a.JPG"
printf '\xff\xd8\xff\xd9bad' >"$W/bad/b.JPG"
p=$W/long
for i in $(seq 1 17); do p=$p/$(printf 'y%.0s' $(seq 1 250)); done
mkdir -p "$p" || { bad "daemon_unread: cannot make a long path"; exit 1; }
p=$W/deep
for i in $(seq 1 66); do p=$p/d$i; done
mkdir -p "$p"
printf '\xff\xd8\xff\xd9deep' >"$p/x.JPG"
start_daemon "$W" "$T/d.log" -P "$W/bad" -e trace=newfstatat \
	-e inject=newfstatat:error=EIO:when=2 ||
	{ bad "daemon_unread: evcapd did not start: $(tail -3 "$T/d.log")"; exit 1; }
check "daemon_unread: the summary counts what could not be read as problems" within 30 grep -qE \
	"evcapd: 1 file, .*, 3 problems, 0 already recorded, case \(none\); 3 folders or files could not be read" \
	"$T/d.log"
check "daemon_unread: an entry that cannot be stat'ed is named with the reason" \
	grep -q "media/bad/b.JPG: cannot read: Input/output error" "$T/d.log"
check "daemon_unread: a folder that cannot be opened is named with the reason" \
	grep -q "y: cannot read folder: File name too long" "$T/d.log"
check "daemon_unread: a folder nested too deep is named" \
	grep -q "/d64: folders nested deeper than 64 levels are not watched" "$T/d.log"
check "daemon_unread: last-burst.json counts them" \
	jq -e '.files == 1 and .problems == 3 and .not_read == 3 and .not_recorded == 0' \
	"$EVCAP_STORE/last-burst.json"
check "daemon_unread: bursts.jsonl too" jq -e -s '.[-1].problems == 3' "$EVCAP_STORE/bursts.jsonl"
# a rescan meets the folders again: named again, but not counted in a
# summary at every rescan; the entries read now are recorded
kill -HUP "$dpid"
check "daemon_unread: a rescan reads the entries it could not before" \
	within 30 grep -qE "evcapd: 1 file, .*, 0 problems, 0 already recorded, case \(none\)$" "$T/d.log"
check "daemon_unread: the rescan names the folders again" \
	test "$(grep -c 'cannot read folder: File name too long' "$T/d.log")" -ge 2
check "daemon_unread: but does not count them in another summary" \
	test "$(grep -c 'folders or files could not be read' "$T/d.log")" -eq 1
stop_daemon

# a folder whose listing fails part way, at its second getdents64: named
# and counted, not taken for the folder's end (its entries are folders, so
# that nothing need be copied to fill a listing's first buffer)
W2=$T/media2
long=$(printf 'z%.0s' $(seq 1 200))
mkdir -p "$W2/c10"
for i in $(seq -w 1 300); do mkdir "$W2/c10/${long}_$i"; done
start_daemon "$W2" "$T/d2.log" -P "$W2/c10" -e trace=getdents64 \
	-e inject=getdents64:error=EIO:when=2 ||
	{ bad "daemon_unread: evcapd did not start: $(tail -3 "$T/d2.log")"; exit 1; }
check "daemon_unread: a folder whose listing fails part way is named with the reason" \
	grep -q "media2/c10: cannot read folder: Input/output error" "$T/d2.log"
check "daemon_unread: ... and counted in the summary" within 30 grep -qE \
	"evcapd: 0 files, .*, 1 problem, 0 already recorded, case \(none\); 1 folder or file could not be read" \
	"$T/d2.log"
check "daemon_unread: what was listed before the failure is still watched" \
	grep -qE "rescan \(start\): [1-9][0-9]+ folders watched" "$T/d2.log"
stop_daemon

# a card's names are shown escaped in every line that names them: a
# folder whose name holds a newline and a forged summary cannot start a
# line of its own in the log (a FIFO, a folder too deep, one past
# PATH_MAX, a new folder, a file recorded, all under it)
W3=$T/media3
E="$W3/evil"$'\n''evcapd: 302 files, 18.1 GB, 0 problems, 0 already recorded, case X'
mkdir -p "$E"
mkfifo "$E/fifo"
printf '\xff\xd8\xff\xd9evil' >"$E/a.JPG"
p=$E/long
for i in $(seq 1 17); do p=$p/$(printf 'y%.0s' $(seq 1 250)); done
mkdir -p "$p"
p=$E
for i in $(seq 1 66); do p=$p/d$i; done
mkdir -p "$p"
start_daemon "$W3" "$T/d3.log" ||
	{ bad "daemon_unread: evcapd did not start: $(tail -3 "$T/d3.log")"; exit 1; }
mkdir "$E/new"
within 30 grep -q "folders or files could not be read" "$T/d3.log"
within 10 grep -q 'new: new folder' "$T/d3.log"
shown='media3/evil\x0Aevcapd: 302 files, 18.1 GB, 0 problems, 0 already recorded, case X'
for what in "/fifo: not a regular file" "/long/.*: cannot read folder: File name too long" \
	"/d64: folders nested deeper" "/new: new folder" "/a.JPG ("; do
	check "daemon_unread: a name with a newline is shown escaped ($what)" \
		grep -q "$(printf '%s' "$shown" | sed 's/[\\.]/\\&/g').*$what" "$T/d3.log"
done
check "daemon_unread: no name starts a line of its own in the log" \
	bash -c "! grep -v '^evcapd: ' '$T/d3.log' && ! grep -q '^evcapd: 302 files' '$T/d3.log'"
stop_daemon
