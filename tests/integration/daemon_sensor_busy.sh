#!/bin/bash
# A probe's lines are timed when they arrive, even while evcapd is busy with
# a file: a photo whose metadata parse hangs (EVCAP_META_HANG_TEST) holds the
# main loop for the parse's time limit, and lines sent meanwhile must still
# be stored at the second they were sent, not when the loop got back to them.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_sensor_busy: evcapd is not built"
	exit 0
fi
if ! need socat sqlite3; then
	skip "daemon_sensor_busy: socat or sqlite3 is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
export EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors
PROFILE=generic-tdp
E -q init >/dev/null 2>&1 && E -q case open 水质巡查 --water-body river --use >/dev/null 2>&1 ||
	{ bad "daemon_sensor_busy: cannot make the store"; exit 1; }
mkdir -p "$T/media"

dpid=
on_exit '[ -n "$dpid" ] && kill "$dpid" 2>/dev/null'
wait_for() { within 15 "$@"; }
pty_pair "$T/ttyA" "$T/ttyB" || { bad "daemon_sensor_busy: socat made no pty"; exit 1; }

printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"
TIMEOUT=4
EVCAP_META_HANG_TEST=1 EVCAP_META_TIMEOUT=$TIMEOUT \
	"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" --sensor "$T/ttyB:9600:sdi12:$PROFILE" -v 2>"$T/d.log" &
dpid=$!
wait_for grep -q "opened $T/ttyB" "$T/d.log" ||
	{ bad "daemon_sensor_busy: evcapd never opened the pty: $(tail -3 "$T/d.log")"; exit 1; }

# a JPEG with an Exif segment, so its metadata goes to the (hanging) parser
printf '\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\xff\xd9' >"$T/hang.jpg"
cp "$T/hang.jpg" "$T/media/hang.jpg"
# eleven lines 0.6 s apart: before, during and after the hung parse
: >"$T/sent"
for i in $(seq 0 10); do
	sent=$EPOCHREALTIME # before the write: the line cannot arrive sooner
	printf '0+%d.0+8.00+7.00\r\n' $((10 + i)) >"$T/ttyA"
	echo "$((10 + i)) $sent" >>"$T/sent"
	sleep 0.6
done
check "daemon_sensor_busy: the parse really hung and was cut off" \
	wait_for grep -q "hang.jpg: kept, but its metadata could not be read: the metadata parser did not finish" "$T/d.log"
lines_in() { [ "$(sqlite3 "$EVCAP_STORE/evidence.db" "SELECT count(*) FROM readings WHERE parameter = 'temp'")" -ge 11 ]; }
check "daemon_sensor_busy: all eleven lines are recorded" wait_for lines_in
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
check "daemon_sensor_busy: evcapd stops cleanly" [ "$rc" -eq 0 ]

# the parse started after the first line and ended after the last-but-one
# or so; the check that matters is per line: stored time minus send time
sqlite3 -separator ' ' "$EVCAP_STORE/evidence.db" \
	"SELECT CAST(value AS INTEGER), printf('%.3f', t) FROM readings WHERE parameter = 'temp' ORDER BY line_no" >"$T/stored"
check "daemon_sensor_busy: the lines are stored in the order sent" \
	[ "$(cut -d' ' -f1 "$T/stored" | tr '\n' ' ')" = "$(cut -d' ' -f1 "$T/sent" | tr '\n' ' ')" ]
join "$T/sent" "$T/stored" | awk '{ d = $3 - $2; printf "%s %.3f\n", $1, d }' >"$T/delay"
late=$(awk '$2 < -0.002 || $2 > 0.4' "$T/delay")
timed_on_arrival() { [ -z "$late" ] && [ "$(wc -l <"$T/delay")" -eq 11 ]; }
check "daemon_sensor_busy: every line is timed within 0.4 s of being sent${late:+ (late: $(echo $late))}" \
	timed_on_arrival
check "daemon_sensor_busy: evcap verify passes" E -q verify
