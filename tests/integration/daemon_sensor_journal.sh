#!/bin/bash
# A probe's lines survive evcapd being killed before their batch commits.
# Another writer holds the store, so no batch can commit; lines are sent
# before and while the loop waits on the store; evcapd is SIGKILLed. The
# store then has none of them. The next start records every one from the
# journal: its own number, time, source and case (the case of the run cut
# short, not the one in use by then), with a custody event saying so, and
# removes the journal. Replaying a journal whose lines are already in the
# store records nothing twice, and a record torn by the cut is skipped
# with a warning.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_sensor_journal: evcapd is not built"
	exit 0
fi
if ! need socat sqlite3 jq; then
	skip "daemon_sensor_journal: socat, sqlite3 or jq is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
export EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors
PROFILE=generic-tdp # temp, do, ph
CASE_A=嫩检公益立〔2026〕7号
CASE_B=嫩检公益立〔2026〕8号
E -q init >/dev/null 2>&1 && E -q case open "$CASE_B" --water-body river >/dev/null 2>&1 &&
	E -q case open "$CASE_A" --water-body river --use >/dev/null 2>&1 ||
	{ bad "daemon_sensor_journal: cannot make the store"; exit 1; }
DB=$EVCAP_STORE/evidence.db
SPOOL=$EVCAP_STORE/spool
mkdir -p "$T/media"

dpid=
on_exit '[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null'
wait_for() { within 15 "$@"; }
journal_lines() { cat "$SPOOL"/*.jnl 2>/dev/null | grep -c '"hex":'; }
has_journal_lines() { [ "$(journal_lines)" -ge "$1" ]; }
temp_rows() { sqlite3 "$DB" "SELECT count(*) FROM readings WHERE parameter = 'temp'"; }
send() { # send VALUE: one SDI-12 answer, its time noted
	local sent=$EPOCHREALTIME # before the write: it cannot arrive sooner
	printf '0+%s+8.00+7.00\r\n' "$1" >"$T/ttyA"
	echo "$1 $sent" >>"$T/sent"
}
start_evcapd() { # start_evcapd LOG
	"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
		--gps "" --sensor "$T/ttyB:9600:sdi12:$PROFILE" -v 2>"$1" &
	dpid=$!
	wait_for grep -q "opened $T/ttyB" "$1"
}
stop_evcapd() {
	kill -TERM "$dpid"
	wait "$dpid"
	local rc=$?
	dpid=
	return $rc
}

pty_pair "$T/ttyA" "$T/ttyB" || { bad "daemon_sensor_journal: socat made no pty"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"

start_evcapd "$T/d1.log" ||
	{ bad "daemon_sensor_journal: evcapd never opened the pty: $(tail -3 "$T/d1.log")"; exit 1; }

# another writer takes the store and keeps it
hold_store || { bad "daemon_sensor_journal: the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }

: >"$T/sent"
send 11.0; sleep 0.2; send 12.0; sleep 0.2; send 13.0
check "daemon_sensor_journal: lines are journalled as they arrive" wait_for has_journal_lines 3
# the batch is due after 2 s: the loop now waits on the store, the pump reads on
sleep 2.5
send 14.0; sleep 0.2; send 15.0; sleep 0.2; send 16.0
check "daemon_sensor_journal: lines are journalled while the loop waits on the store" \
	wait_for has_journal_lines 6
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
dpid=
check "daemon_sensor_journal: nothing was committed before the kill" [ "$(temp_rows)" -eq 0 ]
release_store
cp "$SPOOL"/*.jnl "$T/saved.jnl"
# by the next start another case is in use
E -q case use "$CASE_B" >/dev/null 2>&1 || bad "daemon_sensor_journal: case use failed"

start_evcapd "$T/d2.log" ||
	{ bad "daemon_sensor_journal: evcapd did not start again: $(tail -3 "$T/d2.log")"; exit 1; }
check "daemon_sensor_journal: the next start says it recovered six lines" \
	wait_for grep -q "sensor $T/ttyB: 6 lines of the run serial:$T/ttyB@.*, cut short, recorded from its journal" "$T/d2.log"
stop_evcapd
check "daemon_sensor_journal: evcapd stops cleanly after the recovery" [ $? -eq 0 ]
check "daemon_sensor_journal: no journal is left after a clean stop" \
	bash -c "! ls '$SPOOL'/*.jnl >/dev/null 2>&1"

sqlite3 -separator ' ' "$DB" "SELECT r.line_no, r.value, printf('%.3f', r.t), r.source, c.number
	FROM readings r LEFT JOIN cases c ON c.id = r.case_id
	WHERE r.parameter = 'temp' ORDER BY r.line_no" >"$T/rows"
check "daemon_sensor_journal: all six lines are recorded, numbered 1 to 6" \
	[ "$(cut -d' ' -f1 "$T/rows" | tr '\n' ' ')" = "1 2 3 4 5 6 " ]
check "daemon_sensor_journal: with their values" \
	[ "$(cut -d' ' -f2 "$T/rows" | tr '\n' ' ')" = "11.0 12.0 13.0 14.0 15.0 16.0 " ]
paste -d' ' "$T/sent" "$T/rows" | awk '{ d = $5 - $2; if (d < -0.002 || d > 0.4) print }' >"$T/late"
check "daemon_sensor_journal: each at the time it arrived, not when recovered$(
	[ -s "$T/late" ] && echo " (off: $(tr '\n' ';' <"$T/late"))")" [ ! -s "$T/late" ]
check "daemon_sensor_journal: from the run cut short, as its source" \
	[ "$(cut -d' ' -f4 "$T/rows" | sort -u | wc -l)" -eq 1 -a \
	"$(grep -c " serial:$T/ttyB@" "$T/rows")" -eq 6 ]
check "daemon_sensor_journal: in the case of the run cut short, not the one in use now" \
	[ "$(cut -d' ' -f5 "$T/rows" | sort -u)" = "$CASE_A" ]
E --json log >"$T/log.json"
check "daemon_sensor_journal: the custody log says the batch was recovered" \
	jq -e '[.[] | select(.event.action == "sensor readings")] | length == 1
	       and (.[0].event.detail | .recovered == true and .lines == 6 and .first_line == 1
	            and .last_line == 6)' "$T/log.json"

# the same journal again, as if the power had gone after the commit and
# before the journal was removed, with a record torn at its end
cp "$T/saved.jnl" "$SPOOL/replayed.jnl"
printf '{"n":7,"t":1.5,"f":0,"hex":"302b' >>"$SPOOL/replayed.jnl"
start_evcapd "$T/d3.log" ||
	{ bad "daemon_sensor_journal: evcapd did not start a third time: $(tail -3 "$T/d3.log")"; exit 1; }
check "daemon_sensor_journal: a torn record is skipped with a warning naming the journal" \
	wait_for grep -q "$SPOOL/replayed.jnl: 1 record could not be read and was skipped" "$T/d3.log"
stop_evcapd
check "daemon_sensor_journal: a replay records nothing twice" [ "$(temp_rows)" -eq 6 ]
check "daemon_sensor_journal: ... and adds no custody event" \
	[ "$(E --json log | jq '[.[] | select(.event.action == "sensor readings")] | length')" -eq 1 ]
check "daemon_sensor_journal: the replayed journal is removed" \
	bash -c "! ls '$SPOOL'/*.jnl >/dev/null 2>&1"
check "daemon_sensor_journal: evcap verify passes" E -q verify
