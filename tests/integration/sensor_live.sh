#!/bin/bash
# `evcap sensor listen` on a pseudo-terminal: socat makes a pty pair, SDI-12
# answers are written into one end and the reader records them from the
# other; then the probe is unplugged (socat killed, the pty gone) and
# plugged back (socat started again with the same names): the reader
# reconnects by itself, and every line sent is recorded exactly once.
# Malformed lines are kept raw, named, and never get a value.
. "$(dirname "$0")/../lib/common.sh"

if ! need socat jq; then
	skip "sensor_live: socat or jq is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
E -q init >/dev/null 2>&1 && E -q case open 现场案 --water-body river >/dev/null 2>&1 ||
	{ bad "sensor_live: cannot make the store"; exit 1; }
cat >"$T/tdp.profile" <<'PROF'
name = tdp
model = test probe
address = 0
value.1 = temp °C
value.2 = do mg/L
value.3 = ph
PROF

socat_pid= listen_pid=
plug() {
	rm -f "$T/ttyA" "$T/ttyB"
	socat pty,raw,echo=0,link="$T/ttyA" pty,raw,echo=0,link="$T/ttyB" 2>"$T/socat.err" &
	socat_pid=$!
	for _ in $(seq 100); do [ -e "$T/ttyA" ] && [ -e "$T/ttyB" ] && return 0; sleep 0.05; done
	return 1
}
unplug() {
	kill "$socat_pid" 2>/dev/null
	wait "$socat_pid" 2>/dev/null
	socat_pid=
}
cleanup() {
	[ -n "$socat_pid" ] && kill "$socat_pid" 2>/dev/null
	[ -n "$listen_pid" ] && kill "$listen_pid" 2>/dev/null
}
on_exit cleanup

# wait_for CMD...: until the command succeeds, at most 10 s
wait_for() {
	for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done
	return 1
}
opens() { grep -c "opened $T/ttyA" "$T/listen.err"; }
count() { [ "$(E --json readings | jq length)" -ge "$1" ]; }
send() { printf '%s\r\n' "$@" >"$T/ttyB"; }

plug || { bad "sensor_live: socat made no pty"; exit 1; }
"$EVCAP" sensor listen "$T/ttyA:9600:sdi12" --profile "$T/tdp.profile" --case 现场案 >"$T/listen.out" 2>"$T/listen.err" &
listen_pid=$!
wait_for bash -c "[ \$(grep -c 'opened $T/ttyA' '$T/listen.err') -ge 1 ]" ||
	{ bad "sensor_live: the reader never opened the pty: $(head -3 "$T/listen.err")"; exit 1; }

# before the unplug: three good lines, the same answer twice (two readings
# of still water are two readings), and a line in two writes
send "0+17.5+8.25+6.45" "0+17.5+8.25+6.45"
printf '0+18.0+' >"$T/ttyB"; sleep 0.2; printf '5.50+7.10\r\n' >"$T/ttyB"
check "sensor_live: lines before the unplug are recorded (9 readings)" wait_for count 9

unplug
sleep 1
check "sensor_live: the reader survives the probe being unplugged" kill -0 "$listen_pid"
plug || { bad "sensor_live: socat could not be restarted"; exit 1; }
check "sensor_live: the reader reopens the device when it is plugged back" \
	wait_for bash -c "[ \$(grep -c 'opened $T/ttyA' '$T/listen.err') -ge 2 ]"

# after the replug: a good line, malformed lines, another good line
send "0+19.0+1.50+9.50" "0+19.1+abc+7.0" "1+19.0+8.0+7.0" "0+19.2+8.1+7.2+44" "0+20.0+6.00+8.00"
check "sensor_live: lines after the replug are recorded" wait_for count 20

kill -TERM "$listen_pid"
wait "$listen_pid"
rc=$?
listen_pid=
check "sensor_live: SIGTERM ends the reader cleanly with a summary" \
	bash -c "[ $rc -eq 0 ] && grep -q '8 lines' '$T/listen.out' && grep -q '1 reconnect' '$T/listen.out'"

E --json readings >"$T/r.json"
check "sensor_live: every line is recorded exactly once, in order" \
	jq -e '(group_by(.line_no) | map(.[0].raw)) == ["0+17.5+8.25+6.45","0+17.5+8.25+6.45","0+18.0+5.50+7.10","0+19.0+1.50+9.50","0+19.1+abc+7.0","1+19.0+8.0+7.0","0+19.2+8.1+7.2+44","0+20.0+6.00+8.00"]
	       and (group_by(.line_no) | map(length)) == [3,3,3,3,3,1,4,3]
	       and (map(.source) | unique | length) == 1 and (.[0].source | startswith("serial:")) and all(.case == "现场案")' "$T/r.json"
check "sensor_live: values and classes of the good lines (DO 1.5: 劣V, pH 9.5: 劣V, DO 5.5: III)" \
	jq -e '(map(select(.line_no == 4)) | map({(.parameter): [.value, .class]}) | add) ==
	       {"temp": [19, null], "do": [1.5, "劣V"], "ph": [9.5, "劣V"]}
	       and (map(select(.line_no == 3 and .parameter == "do"))[0].class == "III")' "$T/r.json"
check "sensor_live: malformed lines are kept raw, named, with no value" \
	jq -e '(map(select(.error != null)) | length == 3
	        and all(.value == null and .class == null and (.error | contains("ttyA:"))))
	       and (map(select(.line_no == 5 and .parameter == "do"))[0].error | test("abc"))
	       and (map(select(.line_no == 6))[0].error | test("address 1"))
	       and (map(select(.line_no == 7 and .parameter == null))[0].error | test("position 4"))' "$T/r.json"
check "sensor_live: each recorded line is in the custody log" \
	bash -c "'$EVCAP' --json log | jq -e '[.[] | select(.event.action == \"sensor reading\")] | length == 8' >/dev/null"

# a device that is not there is named at once, with how to stop waiting for
# it; Ctrl-C (SIGINT) then ends the wait at once, with the summary
"$EVCAP" sensor listen "$T/no-such-tty:9600:csv" --case 现场案 >"$T/gone.out" 2>"$T/gone.err" &
listen_pid=$!
check "sensor_live: a device that is not there is named at once, with how to stop waiting" \
	wait_for bash -c "grep -qF '$T/no-such-tty: cannot open (No such file or directory); waiting for it' '$T/gone.err' && grep -qF 'nothing is recorded until $T/no-such-tty opens (Ctrl-C stops)' '$T/gone.err'"
kill -INT "$listen_pid"
if within 2 bash -c "! kill -0 $listen_pid 2>/dev/null"; then ended=yes; else ended=no; kill -KILL "$listen_pid"; fi
wait "$listen_pid"
rc=$?
listen_pid=
check "sensor_live: Ctrl-C ends the wait for a missing device within 2 s, status 0, with the summary" \
	bash -c "[ $ended = yes ] && [ $rc -eq 0 ] && grep -q '0 lines' '$T/gone.out'"

# a device path holding ESC (a listen spec is anybody's paste) is named with
# the ESC as \x1B, never as the byte itself that a terminal would act on:
# while it waits for the device, in its summary, and in a spec refused at
# once; as evcapd names it in a --sensor spec it refuses
ESC=$(printf '\033')
# no_esc FILE...: none of the files holds a raw ESC
no_esc() { ! grep -q "$ESC" "$@"; }
"$EVCAP" sensor listen "$T/no${ESC}[31m-tty:9600:csv" --case 现场案 >"$T/esc.out" 2>"$T/esc.err" &
listen_pid=$!
wait_for grep -qF "$T/no\\x1B[31m-tty: cannot open (No such file or directory)" "$T/esc.err"
found=$?
kill -INT "$listen_pid"
within 2 bash -c "! kill -0 $listen_pid 2>/dev/null" || kill -KILL "$listen_pid"
wait "$listen_pid"
listen_pid=
check "sensor_live: a device path holding ESC is named with \\x1B while it is waited for" \
	bash -c "[ $found = 0 ] && grep -qF 'nothing is recorded until $T/no\\x1B[31m-tty opens' '$T/esc.err'"
check "sensor_live: the summary names such a device with \\x1B" \
	grep -qF "$T/no\\x1B[31m-tty: 0 lines" "$T/esc.out"
"$EVCAP" sensor listen "$T/no${ESC}[31m-tty:96x:csv" >"$T/esc2.out" 2>"$T/esc2.err"
rc=$?
check "sensor_live: a refused spec holding ESC is quoted with \\x1B" \
	bash -c "[ $rc = 2 ] && grep -qF \"sensor '$T/no\\x1B[31m-tty:96x:csv': the baud rate is not a number\" '$T/esc2.err'"
if [ -n "$EVCAPD" ]; then
	"$EVCAPD" --check-config --store "$T/s-esc" --config /dev/null \
		--sensor "tty${ESC}[31m:9600:csv" >"$T/esc3.out" 2>"$T/esc3.err"
	rc=$?
	check "sensor_live: evcapd quotes a --sensor spec holding ESC with \\x1B" \
		bash -c "[ $rc = 2 ] && grep -qF -e \"--sensor needs an absolute device path, not 'tty\\x1B[31m'\" '$T/esc3.err'"
fi
check "sensor_live: no raw ESC reaches the terminal from a device path" \
	no_esc "$T/esc.out" "$T/esc.err" "$T/esc2.out" "$T/esc2.err" ${EVCAPD:+"$T/esc3.out" "$T/esc3.err"}
