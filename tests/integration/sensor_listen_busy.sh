#!/bin/bash
# `evcap sensor listen` while another writer holds the store: a line the
# store refuses (after a short wait, so lines keep being read and timed
# as they come) is held, with the lines after it, and tried again every
# 2 s; once the store is free every line is recorded once, in order, with
# the time it arrived, and the exit status is 0. (Each refused line used
# to be dropped with a warning.)
. "$(dirname "$0")/../lib/common.sh"

if ! need socat sqlite3; then
	skip "sensor_listen_busy: socat or sqlite3 is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
E -q init >/dev/null 2>&1 && E -q case open 现场案 --water-body river >/dev/null 2>&1 ||
	{ bad "sensor_listen_busy: cannot make the store"; exit 1; }
DB=$EVCAP_STORE/evidence.db
export EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors # generic-tdp: temp, do, ph

listen_pid=
on_exit '[ -n "$listen_pid" ] && kill -9 "$listen_pid" 2>/dev/null'
pty_pair "$T/ttyA" "$T/ttyB" || { bad "sensor_listen_busy: socat made no pty"; exit 1; }
: >"$T/sent"
send() { # send VALUE: one SDI-12 answer, its time noted
	local sent=$EPOCHREALTIME # before the write: it cannot arrive sooner
	printf '0+%s+8.00+7.00\r\n' "$1" >"$T/ttyB"
	echo "$1 $sent" >>"$T/sent"
}

"$EVCAP" sensor listen "$T/ttyA:9600:sdi12:generic-tdp" --case 现场案 \
	>"$T/listen.out" 2>"$T/listen.err" &
listen_pid=$!
within 10 grep -q "opened $T/ttyA" "$T/listen.err" ||
	{ bad "sensor_listen_busy: the reader never opened the pty: $(head -3 "$T/listen.err")"; exit 1; }
send 10.0
rows() { sqlite3 "$DB" "SELECT count(*) FROM readings WHERE parameter = 'temp'"; }
has_rows() { [ "$(rows)" -ge "$1" ]; }
check "sensor_listen_busy: a line is recorded while the store is free" within 10 has_rows 1

# another writer takes the store and keeps it
hold_store || { bad "sensor_listen_busy: the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }
send 11.0
sleep 0.3
send 12.0
check "sensor_listen_busy: a refused line is held, and the log says so" \
	within 20 grep -q "line 2 not recorded yet: .*the store is busy: .*; lines are held and tried again every 2 s" "$T/listen.err"
send 13.0
sleep 0.3
release_store
check "sensor_listen_busy: once the store is free the held lines are recorded" \
	within 20 grep -q "the [0-9]* held lines are recorded" "$T/listen.err"
send 14.0
check "sensor_listen_busy: and lines after them as usual" within 10 has_rows 5
kill -TERM "$listen_pid"
wait "$listen_pid"
rc=$?
listen_pid=
check "sensor_listen_busy: listen exits 0 (nothing was lost)" [ "$rc" -eq 0 ]
sqlite3 -separator ' ' "$DB" "SELECT line_no, value, printf('%.3f', t) FROM readings
	WHERE parameter = 'temp' ORDER BY line_no" >"$T/rows"
check "sensor_listen_busy: every line once, numbered 1 to 5, with its value" \
	[ "$(cut -d' ' -f1,2 "$T/rows" | tr '\n' ';')" = "1 10.0;2 11.0;3 12.0;4 13.0;5 14.0;" ]
paste -d' ' "$T/sent" "$T/rows" | awk '{ d = $5 - $2; if (d < -0.002 || d > 0.5) print }' >"$T/late"
check "sensor_listen_busy: each timed when it arrived, not when recorded$(
	[ -s "$T/late" ] && echo " (off: $(tr '\n' ';' <"$T/late"))")" [ ! -s "$T/late" ]
check "sensor_listen_busy: no line was reported lost" bash -c "! grep -q 'not recorded:' '$T/listen.err'"
check "sensor_listen_busy: evcap verify passes" E -q verify
