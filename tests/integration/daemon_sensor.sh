#!/bin/bash
# evcapd reading a water-quality probe live: socat makes a pty pair, SDI-12
# answers go into one end and evcapd (--sensor DEVICE:BAUD:sdi12:PROFILE,
# with an instrument profile from firmware-config/sensors) reads the other.
# The probe is unplugged (socat killed) and plugged back (socat again, same
# names); afterwards every line sent is recorded exactly once, in order,
# placed on the GPS track, malformed lines kept raw with no value, and the
# store verifies. A second run, configured from the file, shows SIGHUP
# re-opening a sensor whose spec changed.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_sensor: evcapd is not built"
	exit 0
fi
if ! need socat jq; then
	skip "daemon_sensor: socat or jq is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
export EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors
PROFILE=generic-tdp # temp °C, do mg/L, ph; address 0; missing -9999
[ -f "$EVCAP_SENSOR_PROFILES/$PROFILE.profile" ] ||
	{ bad "daemon_sensor: firmware-config/sensors/$PROFILE.profile is missing"; exit 1; }
CASE=河道水质案
E -q init >/dev/null 2>&1 && E -q case open "$CASE" --water-body river --use >/dev/null 2>&1 ||
	{ bad "daemon_sensor: cannot make the store"; exit 1; }
mkdir -p "$T/media"

# a GPS track around now, so readings timed on arrival are placed on it
now=$(date -u +%s)
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<gpx version="1.1" creator="daemon_sensor" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
	# a fix every 30 s (max_gap is 60) from 5 minutes before to 20 after
	for ((t = now - 300; t <= now + 1200; t += 30)); do
		printf '<trkpt lat="45.%06d" lon="124.800000"><time>%s</time></trkpt>\n' \
			$(((t - now + 300) * 10)) "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)"
	done
	echo '</trkseg></trk></gpx>'
} >"$T/track.gpx"
E -q track import --no-geotag "$T/track.gpx" >/dev/null 2>"$T/track.err" ||
	{ bad "daemon_sensor: cannot import the track: $(head -2 "$T/track.err")"; exit 1; }

socat_pid= dpid=
plug() {
	pty_pair "$T/ttyA" "$T/ttyB"
	local rc=$?
	socat_pid=$PTY_PID
	return $rc
}
unplug() {
	kill "$socat_pid" 2>/dev/null
	wait "$socat_pid" 2>/dev/null
	socat_pid=
}
cleanup() {
	[ -n "$socat_pid" ] && kill "$socat_pid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
}
on_exit cleanup

# wait_for CMD...: until the command succeeds, at most 15 s
wait_for() { within 15 "$@"; }
log_count() { grep -c -- "$1" "$2"; }
logged() { [ "$(log_count "$1" "$3")" -ge "$2" ]; } # logged PATTERN N FILE
# lines recorded: distinct (source, line) pairs, at least $1
lines_in() { [ "$(E --json readings | jq '[.[] | [.source, .line_no]] | unique | length')" -ge "$1" ]; }
send() { printf '%s\r\n' "$@" >"$T/ttyA"; }

# flags override the config: the file's sensor must not be opened
cat >"$T/evcap.conf" <<EOF
[store]
operator = 李四
[capture]
sensor = $T/not-this-one:9600:csv
EOF

plug || { bad "daemon_sensor: socat made no pty"; exit 1; }
"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" --sensor "$T/ttyB:9600:sdi12:$PROFILE" -v 2>"$T/d1.log" &
dpid=$!
wait_for logged "opened $T/ttyB" 1 "$T/d1.log" ||
	{ bad "daemon_sensor: evcapd never opened the pty: $(tail -3 "$T/d1.log")"; exit 1; }
check "daemon_sensor: --sensor replaces the config's sensor lines" \
	bash -c "! grep -q not-this-one '$T/d1.log'"

# before the unplug: good lines, the same answer twice (two readings), a
# line arriving in two writes, the probe's missing-value code
send "0+17.5+8.25+6.45" "0+17.5+8.25+6.45"
printf '0+18.0+' >"$T/ttyA"; sleep 0.2; printf '5.50+7.10\r\n' >"$T/ttyA"
send "0+18.2-9999+7.00"
check "daemon_sensor: lines before the unplug are recorded" wait_for lines_in 4

unplug
check "daemon_sensor: the unplug is logged" wait_for logged "$T/ttyB went away" 1 "$T/d1.log"
check "daemon_sensor: evcapd survives the probe being unplugged" kill -0 "$dpid"
plug || { bad "daemon_sensor: socat could not be restarted"; exit 1; }
check "daemon_sensor: evcapd reopens the device when it is plugged back" \
	wait_for logged "opened $T/ttyB" 2 "$T/d1.log"

# after the replug: good lines and malformed ones (a bad number, another
# SDI-12 address, a value at a position the profile does not map, bytes
# that are not text)
send "0+19.0+1.50+9.50" "0+19.1+abc+7.0" "1+19.0+8.0+7.0" "0+19.2+8.1+7.2+44"
printf '0+19.3+\377\376+7.1\r\n' >"$T/ttyA"
send "0+20.0+6.00+8.00"
check "daemon_sensor: lines after the replug are recorded" wait_for lines_in 10

kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
check "daemon_sensor: SIGTERM ends evcapd with status 0" [ "$rc" -eq 0 ]

E --json readings >"$T/r.json"
E --json readings --errors >"$T/e.json"
check "daemon_sensor: every line is recorded exactly once, in order, from one source" \
	jq -e '(group_by(.line_no) | map(.[0].raw)) ==
	         ["0+17.5+8.25+6.45","0+17.5+8.25+6.45","0+18.0+5.50+7.10","0+18.2-9999+7.00",
	          "0+19.0+1.50+9.50","0+19.1+abc+7.0","1+19.0+8.0+7.0","0+19.2+8.1+7.2+44",
	          "0+19.3+\\xff\\xfe+7.1","0+20.0+6.00+8.00"]
	       and (map(.line_no) | unique) == [1,2,3,4,5,6,7,8,9,10]
	       and (map([.line_no, .parameter]) | length) == (map([.line_no, .parameter]) | unique | length)
	       and (map(.source) | unique | length) == 1 and (.[0].source | startswith("serial:'"$T"'/ttyB@"))' \
	"$T/r.json"
check "daemon_sensor: readings carry the case, the operators and the profile's instrument" \
	jq -e 'all(.case == "'"$CASE"'" and .operators == ["李四"] and .instrument.name == "generic-tdp")' "$T/r.json"
check "daemon_sensor: values and classes of good lines (DO 1.5: 劣V, pH 9.5: 劣V, DO 5.5: III)" \
	jq -e '(map(select(.line_no == 5)) | map({(.parameter): [.value, .class]}) | add) ==
	       {"temp": [19, null], "do": [1.5, "劣V"], "ph": [9.5, "劣V"]}
	       and (map(select(.line_no == 3 and .parameter == "do"))[0].class == "III")' "$T/r.json"
check "daemon_sensor: good readings are placed on the GPS track" \
	jq -e 'map(select(.error == null)) | length > 0 and all(.location_source == "track" and .lat != null)' \
	"$T/r.json"
check "daemon_sensor: malformed lines are kept raw, named, with no value and no class" \
	jq -e 'length == 5 and all(.value == null and .class == null and (.error | contains("ttyB:")))
	       and (map(.line_no) | unique) == [4,6,7,8,9]
	       and (map(select(.line_no == 4))[0].parameter == "do")
	       and (map(select(.line_no == 6))[0].error | test("abc"))
	       and (map(select(.line_no == 7))[0].error | test("address 1"))
	       and (map(select(.line_no == 8 and .parameter == null))[0].error | test("position 4"))' \
	"$T/e.json"
# line noise (bytes that are not text) still says when the probe spoke: it
# keeps the time it arrived, between the lines sent before and after it
check "daemon_sensor: a line of bytes that are not text keeps the time it arrived" \
	jq -e '(map(select(.line_no == 9))[0].time) as $t | $t != null
	       and $t >= (map(select(.line_no == 8))[0].time)
	       and $t <= (map(select(.line_no == 10))[0].time)' "$T/r.json"
check "daemon_sensor: --errors lists exactly the rows with an error" \
	jq -e --slurpfile all "$T/r.json" 'map(.id) == ($all[0] | map(select(.error != null) | .id))' "$T/e.json"
E --json log >"$T/log.json"
check "daemon_sensor: lines are recorded in batches, each line in exactly one custody event" \
	jq -e '[.[] | select(.event.action == "sensor readings") | .event.detail] as $b
	       | ($b | length) >= 1 and ($b | length) < 10
	       and ([$b[] | range(.first_line; .last_line + 1)] | sort) == [1,2,3,4,5,6,7,8,9,10]
	       and ([$b[].lines] | add) == 10' "$T/log.json"
n_rows=$(jq length "$T/r.json")
check "daemon_sensor: one debug log line per recorded reading ($n_rows)" \
	[ "$(grep -cE "sensor $T/ttyB line [0-9]+: (kept without a value: |[a-z_0-9]+ [-0-9.e+]+ )" "$T/d1.log")" -eq "$n_rows" ]
check "daemon_sensor: the stop summary counts the lines and the reconnect" \
	grep -q "sensor $T/ttyB: 10 lines, .* 1 reconnect$" "$T/d1.log"
check "daemon_sensor: evcap verify passes" E -q verify

# SIGHUP: the same device, now configured from the file, then changed to
# a CSV stream: the sensor is closed and opened again with the new spec
cat >"$T/evcap.conf" <<EOF
[capture]
sensor = $T/ttyB:9600:sdi12:$PROFILE
EOF
"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" -v 2>"$T/d2.log" &
dpid=$!
wait_for logged "opened $T/ttyB" 1 "$T/d2.log" ||
	{ bad "daemon_sensor: evcapd never opened the configured sensor: $(tail -3 "$T/d2.log")"; exit 1; }
send "0+16.0+9.00+7.50"
check "daemon_sensor: a sensor from the config is read" wait_for lines_in 11
cat >"$T/evcap.conf" <<EOF
[capture]
sensor = $T/ttyB:9600:csv
EOF
kill -HUP "$dpid"
check "daemon_sensor: SIGHUP re-opens a sensor whose spec changed" \
	wait_for bash -c "grep -q 'config reloaded' '$T/d2.log' && [ \$(grep -c 'opened $T/ttyB' '$T/d2.log') -ge 2 ] && grep -q 'opened $T/ttyB at 9600 baud (csv)' '$T/d2.log'"
send "do,7.25,mg/L"
check "daemon_sensor: lines after the reload are read as CSV" \
	wait_for bash -c "'$EVCAP' --json readings | jq -e 'any(.raw == \"do,7.25,mg/L\" and .value == 7.25 and .parameter == \"do\")'"
# a probe giving one time two values (it measured again): both are kept,
# and the log names the lines and the values
send "2024-05-01T10:00:00+08:00,do,7.5,mg/L" "2024-05-01T10:00:00+08:00,do,7.9,mg/L"
check "daemon_sensor: two values of one measurement are both kept, and logged with their lines" \
	wait_for bash -c "grep -qF 'sensor $T/ttyB: 2 values of do at 2024-05-01T02:00:00Z: 7.5 mg/L on line 2, 7.9 mg/L on line 3; both kept (1 reading' '$T/d2.log' && '$EVCAP' --json readings | jq -e '[.[] | select(.time == \"2024-05-01T02:00:00Z\") | .value] == [7.5, 7.9]' >/dev/null"
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
E --json readings >"$T/r2.json"
check "daemon_sensor: the second run stops cleanly; nothing of the first is recorded twice" \
	jq -e --argjson rc "$rc" '$rc == 0 and (map(.source) | unique | length) == 3
	       and (map([.source, .line_no, .parameter]) | length) == (map([.source, .line_no, .parameter]) | unique | length)
	       and (map(select(.raw == "0+17.5+8.25+6.45")) | length) == 6' "$T/r2.json"
check "daemon_sensor: evcap verify passes after the reload" E -q verify
check "daemon_sensor: clean stops and a reload leave no journal of unrecorded lines" \
	bash -c "[ -d '$EVCAP_STORE/spool' ] && ! ls '$EVCAP_STORE/spool/'*.jnl >/dev/null 2>&1"

# spec and profile errors stop evcapd at start with status 2
"$EVCAPD" --foreground --store "$EVCAP_STORE" --gps "" --sensor "$T/ttyB:9600:sdi12:no-such-probe" \
	2>"$T/bad.err"
rc=$?
check "daemon_sensor: an unknown profile is refused at start" \
	bash -c "[ $rc -eq 2 ] && grep -q 'no profile no-such-probe.profile' '$T/bad.err'"
"$EVCAPD" --foreground --store "$EVCAP_STORE" --gps "" --sensor "$T/ttyB:9600:csv:no-such-probe" \
	2>"$T/bad.err"
rc=$?
check "daemon_sensor: so is a CSV probe's, as sensor import refuses it" \
	bash -c "[ $rc -eq 2 ] && grep -q 'no profile no-such-probe.profile' '$T/bad.err'"
"$EVCAPD" --foreground --store "$EVCAP_STORE" --gps "" --sensor "$T/ttyB:9601:sdi12" 2>"$T/bad.err"
rc=$?
check "daemon_sensor: a bad baud rate is a usage error" \
	bash -c "[ $rc -eq 2 ] && grep -q 'baud 9601' '$T/bad.err'"
