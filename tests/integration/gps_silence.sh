#!/bin/bash
# GPS fixes that stop while gpsd is still up are news for the investigator:
# the photos taken meanwhile cannot be placed. A real gpsd reads a receiver
# on a pseudo-terminal that the test writes NMEA into: fixes, then
# sentences without a fix (the sky lost), fixes again, then nothing at all
# (the receiver unplugged), fixes again, gpsd restarted, fixes again.
# evcapd says each time that fixes stopped, with what gpsd shows of why,
# and again when they come back; every fix gpsd reported is stored.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "gps_silence: evcapd is not built"
	exit 0
fi
if ! need gpsd gpspipe socat python3 sqlite3 jq; then
	skip "gps_silence: needs gpsd, gpspipe, socat, python3, sqlite3 and jq"
	exit 0
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
pty_pair "$T/ttyA" "$T/ttyB" || { bad "gps_silence: socat made no terminals"; exit 1; }
# stays open for the whole test, so the terminal never sees a hang-up
exec 8>"$T/ttyA"

start_gpsd() {
	gpsd -N -n -b -S "$PORT" -F "$T/gpsd.sock" "$(readlink -f "$T/ttyB")" >>"$T/gpsd.log" 2>&1 &
	GPSD_PID=$!
}
start_gpsd
on_exit 'kill $GPSD_PID 2>/dev/null'

# feed fix|nofix N: N epochs, one every 0.25 s, each a second after the
# last one sent, with or without a fix
EPOCH=$(( $(date +%s) - 600 ))
feed() {
	python3 - "$1" "$2" "$EPOCH" <<'PY' >&8
import functools, sys, time
kind, n, t0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def line(body):
    return "$%s*%02X\r\n" % (body, functools.reduce(lambda a, c: a ^ ord(c), body, 0))
for i in range(n):
    tm = time.gmtime(t0 + i)
    hms, dmy = time.strftime("%H%M%S.00", tm), time.strftime("%d%m%y", tm)
    if kind == "fix":
        lat = "4530.%04d" % (i % 10000)
        out = line("GPRMC,%s,A,%s,N,12448.0000,E,0.0,0.0,%s,,,A" % (hms, lat, dmy)) + \
            line("GPGGA,%s,%s,N,12448.0000,E,1,08,0.9,150.0,M,0.0,M,," % (hms, lat))
    else:
        out = line("GPRMC,%s,V,,,,,,,%s,,,N" % (hms, dmy)) + \
            line("GPGGA,%s,,,,,0,00,99.9,,,,,," % hms)
    sys.stdout.write(out)
    sys.stdout.flush()
    time.sleep(0.25)
PY
	EPOCH=$((EPOCH + $2))
}

"$EVCAP" -q init >/dev/null 2>&1 || { bad "gps_silence: cannot make the store"; exit 1; }
printf "[capture]\nsettle_seconds = 1\n" >"$T/evcap.conf"
EVCAP_GPS_SILENT_SECONDS=2 "$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" \
	--gps "127.0.0.1:$PORT" -v 2>"$T/d.log" &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
within 15 grep -q "connected to gpsd" "$T/d.log" ||
	{ bad "gps_silence: evcapd did not connect to gpsd: $(tail -3 "$T/d.log")"; exit 1; }

# what gpsd reports, seen by a client of its own, to compare with the store
start_pipe() {
	timeout 120 gpspipe -w "127.0.0.1:$PORT" >>"$T/pipe.out" 2>/dev/null &
	on_exit "kill $! 2>/dev/null"
	within 10 bash -c "[ \$(grep -c '\"class\":\"VERSION\"' '$T/pipe.out') -ge $1 ]"
}
start_pipe 1 || { bad "gps_silence: gpspipe did not connect to gpsd"; exit 1; }
n_lines() { grep -c "$1" "$T/d.log"; }

feed fix 12
check "gps_silence: the first fix is logged" within 10 grep -q "first GPS fix" "$T/d.log"

# the sky lost: gpsd goes on reporting, without a fix
feed nofix 16
check "gps_silence: fixes that stop while the receiver still reports are named, and why" \
	within 5 grep -qE "no GPS fix for [0-9]+ s, the last at .*: gpsd reports from the receiver, but without a fix" "$T/d.log"
check "gps_silence: ... once" [ "$(n_lines "no GPS fix for")" -eq 1 ]

feed fix 12
check "gps_silence: fixes coming again are logged" \
	within 5 grep -q "GPS fixes again: .*after none since" "$T/d.log"

# the receiver unplugged: gpsd is up and hears nothing
sleep 4
check "gps_silence: a receiver that goes silent is named as such" \
	within 5 grep -qE "no GPS fix for [0-9]+ s, .*: gpsd hears nothing from the receiver" "$T/d.log"
check "gps_silence: gpsd was up all along" kill -0 "$GPSD_PID"

feed fix 12
check "gps_silence: fixes after the silence are logged as coming again" \
	within 5 bash -c "[ \$(grep -c 'GPS fixes again' '$T/d.log') -eq 2 ]"
check "gps_silence: two silences, two warnings" [ "$(n_lines "no GPS fix for")" -eq 2 ]

# gpsd restarted (an update, a crash): evcapd says it went, connects
# again by itself, and says when fixes come again
kill "$GPSD_PID"
wait "$GPSD_PID" 2>/dev/null
check "gps_silence: gpsd going away is logged" \
	within 10 grep -q "gpsd at 127.0.0.1:$PORT: the connection was lost" "$T/d.log"
check "gps_silence: fixes stopping with it are named, and why" within 10 grep -qE \
	"no GPS fix for [0-9]+ s, .*: gpsd cannot be reached" "$T/d.log"
start_gpsd
within 10 gpsd_has_device "$PORT" || echo "# the restarted gpsd lists no device yet"
start_pipe 2 || bad "gps_silence: gpspipe did not connect to the restarted gpsd"
check "gps_silence: evcapd connects to the restarted gpsd" \
	within 40 bash -c "[ \$(grep -c 'connected to gpsd' '$T/d.log') -ge 2 ]"
feed fix 12
check "gps_silence: fixes from the restarted gpsd are logged as coming again" \
	within 10 bash -c "[ \$(grep -c 'GPS fixes again' '$T/d.log') -eq 3 ]"

kill -TERM "$dpid"
wait "$dpid"
check "gps_silence: evcapd stops cleanly" [ $? -eq 0 ]
# every fix gpsd reported is stored, once (gpsd itself may miss the first
# sentences while it looks at the new device)
jq -r 'select(.class == "TPV" and .mode >= 2) | .time | sub("\\.000Z$"; "Z")' "$T/pipe.out" |
	sort -u >"$T/reported"
sqlite3 "$EVCAP_STORE/evidence.db" "SELECT time FROM fixes ORDER BY t" >"$T/stored"
check "gps_silence: every fix gpsd reported is stored ($(wc -l <"$T/stored") of $(wc -l <"$T/reported"))" \
	bash -c "[ -s '$T/reported' ] && diff '$T/reported' '$T/stored'"
