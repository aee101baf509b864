#!/bin/bash
# evcapd killed with SIGKILL at random moments while large files arrive,
# twelve times, restarted each time: afterwards every file is recorded
# exactly once with the right SHA-256 (no partial copy ever becomes an
# item), no temporary blob is left behind, and `evcap verify` passes.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_kill: evcapd is not built"
	exit 0
fi
need jq || { skip "daemon_kill: jq is not installed"; exit 0; }

NFILES=15
KILLS=12

wait_for() { # wait_for SECONDS COMMAND...
	local limit=$(( $1 * 10 )) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.1
	done
}

pids=()
kill_all() { local p; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
on_exit kill_all

IN=$T/in
mkdir -p "$IN/DCIM/100MEDIA" "$T/src"
"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon_kill: evcap init failed"; exit 0; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"

# the files: 2 to 4 MB of random bytes each, made before anything starts
for i in $(seq -w 1 $NFILES); do
	head -c $(( (2 + RANDOM % 3) * 1048576 + RANDOM )) /dev/urandom >"$T/src/F$i.DAT"
done
(cd "$T/src" && sha256sum F*.DAT | sort -k2) >"$T/expected"

start_daemon() {
	"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$IN" \
		--gps "" 2>>"$T/evcapd.log" &
	DPID=$!
	pids+=($DPID)
}

# the copier: half the files by cp, half written in slow pieces, with
# pauses, so kills land during writes, settling and ingest alike
(
	for i in $(seq -w 1 $NFILES); do
		if [ $((10#$i % 2)) -eq 0 ]; then
			cp "$T/src/F$i.DAT" "$IN/DCIM/100MEDIA/F$i.DAT"
		else
			# a writer that keeps the file open across pauses
			{ for k in 0 1 2 3 4 5 6 7 8; do
				dd if="$T/src/F$i.DAT" bs=524288 skip=$k count=1 2>/dev/null
				sleep 0.05
			done; } >"$IN/DCIM/100MEDIA/F$i.DAT"
		fi
		sleep 0.$((RANDOM % 4))
	done
) &
COPIER=$!
pids+=($COPIER)

kills=0
for _ in $(seq $KILLS); do
	start_daemon
	sleep "0.$(( 10 + RANDOM % 60 ))"
	kill -9 "$DPID" 2>/dev/null && kills=$((kills + 1))
	wait "$DPID" 2>/dev/null
done
wait "$COPIER"

# a last, undisturbed run catches up and stops cleanly
start_daemon
recorded() { [ "$("$EVCAP" --json ls 2>/dev/null | jq 'length')" -ge "$NFILES" ]; }
caught_up=0
wait_for 60 recorded && caught_up=1
sleep 1.5 # anything recorded late (a partial copy, a duplicate) would show now
kill -TERM "$DPID"
wait "$DPID"
rc=$?

if [ "$rc" -eq 0 ]; then ok "daemon_kill_clean_stop"; else bad "daemon_kill_clean_stop: status $rc"; fi
[ "$kills" -ge 10 ] && ok "daemon_kill_killed_often ($kills kills)" ||
	bad "daemon_kill_killed_often: only $kills kills landed"

"$EVCAP" --json ls | jq -r '.[] | "\(.sha256)  \(.original_name)"' | sort -k2 >"$T/got"
if [ "$caught_up" -eq 1 ] && cmp -s "$T/expected" "$T/got"; then
	ok "daemon_kill_each_file_once_right_hash"
else
	bad "daemon_kill_each_file_once_right_hash: $(diff "$T/expected" "$T/got" | head -5 | tr '\n' ' ')"
fi

left=$(find "$EVCAP_STORE/blobs/tmp" -type f 2>/dev/null | wc -l)
if [ "$left" -eq 0 ]; then ok "daemon_kill_no_temp_files"; else
	bad "daemon_kill_no_temp_files: $left left in blobs/tmp"; fi

if "$EVCAP" -q verify >"$T/verify.out" 2>&1; then ok "daemon_kill_verify"; else
	bad "daemon_kill_verify: $(tail -3 "$T/verify.out")"; fi
grep -ciE 'database|corrupt|malformed' "$T/evcapd.log" | sed 's/^/# lines naming the database: /'
exit 0
