#!/bin/bash
# A probe's lines are not lost when more arrive than evcapd holds in
# memory ($EVCAP_PROBE_PENDING_MAX, 8 here) while another writer holds the
# store. Lines past that wait in the probe's journal alone; once the
# store takes lines again they are read back from it and recorded, each
# once, with the number and time it had when it arrived. With evcapd
# killed while lines wait there, the next start records them all. Lines
# that waited go to the case in use when they came, even if another is
# in use when they are read back.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_sensor_spill: evcapd is not built"
	exit 0
fi
if ! need socat sqlite3 jq; then
	skip "daemon_sensor_spill: socat, sqlite3 or jq is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
export EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors
export EVCAP_PROBE_PENDING_MAX=8
CASE=嫩检公益立〔2026〕9号
E -q init >/dev/null 2>&1 && E -q case open "$CASE" --water-body river --use >/dev/null 2>&1 ||
	{ bad "daemon_sensor_spill: cannot make the store"; exit 1; }
DB=$EVCAP_STORE/evidence.db
SPOOL=$EVCAP_STORE/spool
mkdir -p "$T/media"

dpid= sender=
on_exit '[ -n "$sender" ] && kill "$sender" 2>/dev/null; [ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null'
wait_for() { within 30 "$@"; }
start_evcapd() { # start_evcapd LOG
	"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
		--gps "" --sensor "$T/ttyB:9600:sdi12:generic-tdp" -v 2>"$1" &
	dpid=$!
	wait_for grep -q "opened $T/ttyB" "$1"
}
# start_sender SENT: an SDI-12 answer every 50 ms, each one's time noted
# in SENT, until $T/stop appears
start_sender() {
	rm -f "$T/stop"
	: >"$1"
	(
		while [ ! -e "$T/stop" ]; do
			sent=$EPOCHREALTIME # before the write: it cannot arrive sooner
			printf '0+20.0+8.00+7.00\r\n' >"$T/ttyA"
			echo "$sent" >>"$1"
			sleep 0.05
		done
	) 7>&- & # not holding the other writer's input open
	sender=$!
}
stop_sender() {
	touch "$T/stop"
	wait "$sender"
	sender=
}
# rows AFTER: line number and time of each temperature row past line AFTER
rows() {
	sqlite3 -separator ' ' "$DB" "SELECT line_no, printf('%.3f', t) FROM readings
		WHERE parameter = 'temp' AND line_no > $1 ORDER BY line_no"
}
temp_rows() { sqlite3 "$DB" "SELECT count(*) FROM readings WHERE parameter = 'temp'"; }
# same_lines SENT ROWS NAME AFTER: rows numbered AFTER+1..AFTER+n, one per
# line sent, each timed when it was sent
same_lines() {
	local n a=$4
	n=$(wc -l <"$1")
	check "daemon_sensor_spill: $3: every line sent ($n) is recorded once, numbered $((a + 1)) to $((a + n))" \
		[ "$(cut -d' ' -f1 "$2" | tr '\n' ' ')" = "$(seq -s ' ' $((a + 1)) $((a + n))) " ]
	paste -d' ' "$1" "$2" | awk '{ d = $3 - $1; if (d < -0.002 || d > 0.5) print }' >"$T/late"
	check "daemon_sensor_spill: $3: each at the time it arrived$(
		[ -s "$T/late" ] && echo " (off: $(head -3 "$T/late" | tr '\n' ';'))")" [ ! -s "$T/late" ]
}

pty_pair "$T/ttyA" "$T/ttyB" || { bad "daemon_sensor_spill: socat made no pty"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"

# ---- 1. the store refuses lines for a while ----
start_evcapd "$T/d1.log" ||
	{ bad "daemon_sensor_spill: evcapd never opened the pty: $(tail -3 "$T/d1.log")"; exit 1; }
hold_store || { bad "daemon_sensor_spill: the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }
start_sender "$T/sent1"
check "daemon_sensor_spill: past 8 lines waiting, lines wait in the journal, and the log says so" \
	wait_for grep -q "from line [0-9]* on, lines wait in the journal $SPOOL/.*\.jnl alone" "$T/d1.log"
sleep 1
release_store
check "daemon_sensor_spill: once the store takes lines, those in the journal are read back" \
	wait_for grep -q "which waited in the journal, are taken" "$T/d1.log"
sleep 0.5
stop_sender
all_recorded() { [ "$(temp_rows)" -eq "$(wc -l <"$1")" ]; }
wait_for all_recorded "$T/sent1"
rows 0 >"$T/rows1"
same_lines "$T/sent1" "$T/rows1" "while the store was held" 0
check "daemon_sensor_spill: nothing is lost" bash -c "! grep -E 'lost|not in it' '$T/d1.log'"
E --json log >"$T/log1.json"
check "daemon_sensor_spill: the custody events cover every line" \
	jq -e --argjson n "$(wc -l <"$T/sent1")" \
	'[.[] | select(.event.action == "sensor readings") | .event.detail.lines] | add == $n' \
	"$T/log1.json"

# ---- 2. evcapd is killed while lines wait in the journal ----
hold_store || { bad "daemon_sensor_spill: the other writer could not take the store again: $(cat "$T/hold.out")"; exit 1; }
n_before=$(temp_rows)
last_before=$(sqlite3 "$DB" "SELECT max(line_no) FROM readings")
start_sender "$T/sent2"
check "daemon_sensor_spill: lines wait in the journal again" \
	wait_for bash -c "[ \$(grep -c 'lines wait in the journal' '$T/d1.log') -ge 2 ]"
sleep 0.5
stop_sender
sleep 0.3 # the last line journalled
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
dpid=
release_store
check "daemon_sensor_spill: nothing of the second run was committed before the kill" \
	[ "$(temp_rows)" -eq "$n_before" ]
start_evcapd "$T/d2.log" ||
	{ bad "daemon_sensor_spill: evcapd did not start again: $(tail -3 "$T/d2.log")"; exit 1; }
n2=$(wc -l <"$T/sent2")
check "daemon_sensor_spill: the next start records every line of the run cut short" \
	wait_for grep -q "sensor $T/ttyB: $n2 lines of the run serial:$T/ttyB@.*, cut short, recorded from its journal" "$T/d2.log"
kill -TERM "$dpid"
wait "$dpid"
check "daemon_sensor_spill: evcapd stops cleanly" [ $? -eq 0 ]
dpid=
# the same run goes on: its lines are numbered on from the first part's
rows "$last_before" >"$T/rows2"
same_lines "$T/sent2" "$T/rows2" "killed while they waited" "$last_before"
check "daemon_sensor_spill: one run, one source" \
	[ "$(sqlite3 "$DB" "SELECT count(DISTINCT source) FROM readings WHERE line_no <= $last_before + $n2")" -eq 1 ]
check "daemon_sensor_spill: no journal is left" bash -c "! ls '$SPOOL'/*.jnl >/dev/null 2>&1"
check "daemon_sensor_spill: evcap verify passes" E -q verify

# ---- 3. the case is switched while lines wait ----
# Lines that wait in the journal go to the case in use when they arrived,
# not to the one in use when they are read back. Here the other writer
# itself switches the case as it lets go of the store, as an 'evcap case
# use' waiting on the store would.
CASE2=嫩检公益立〔2026〕10号
E -q case open "$CASE2" --water-body river >/dev/null 2>&1 ||
	{ bad "daemon_sensor_spill: cannot open the second case"; exit 1; }
E -q case use "$CASE" >/dev/null 2>&1
start_evcapd "$T/d3.log" ||
	{ bad "daemon_sensor_spill: evcapd did not start a third time: $(tail -3 "$T/d3.log")"; exit 1; }
id3=$(sqlite3 "$DB" "SELECT max(id) FROM readings") # this run's rows come after
hold_store || { bad "daemon_sensor_spill: the other writer could not take the store a third time: $(cat "$T/hold.out")"; exit 1; }
start_sender "$T/sent3"
check "daemon_sensor_spill: lines wait in the journal a third time" \
	wait_for grep -q "lines wait in the journal" "$T/d3.log"
sleep 0.5
stop_sender
sleep 0.3 # the last line journalled
echo "UPDATE meta SET value = '$CASE2' WHERE key = 'current_case'; COMMIT;" >&7
exec 7>&-
wait "$HOLD_PID"
HOLD_PID=
check "daemon_sensor_spill: the lines that waited are read back after the switch" \
	wait_for grep -q "which waited in the journal, are taken" "$T/d3.log"
start_sender "$T/sent4"
sleep 1
stop_sender
n34=$(($(wc -l <"$T/sent3") + $(wc -l <"$T/sent4")))
line_cases() {
	sqlite3 -separator ' ' "$DB" "SELECT r.line_no, c.number FROM readings r
		LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.parameter = 'temp' AND r.id > $id3 ORDER BY r.line_no"
}
all_in() { [ "$(line_cases | wc -l)" -eq "$n34" ]; }
wait_for all_in
line_cases >"$T/cases3"
n3=$(wc -l <"$T/sent3")
check "daemon_sensor_spill: every line sent before the switch ($n3) goes to the case in use when it arrived" \
	[ "$(head -n "$n3" "$T/cases3" | cut -d' ' -f2 | sort -u)" = "$CASE" ]
check "daemon_sensor_spill: every line sent after the switch goes to the new case" \
	[ "$(tail -n +"$((n3 + 1))" "$T/cases3" | cut -d' ' -f2 | sort -u)" = "$CASE2" ]
check "daemon_sensor_spill: after the switch, the log names the new case" \
	grep -q "sensor readings are recorded for case $CASE2" "$T/d3.log"
kill -TERM "$dpid"
wait "$dpid"
dpid=
check "daemon_sensor_spill: evcap verify passes after the switch" E -q verify
