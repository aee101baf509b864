#!/bin/bash
# The system clock set while evcapd runs (chrony stepping it once it has a
# source, an appliance with no clock battery starting in the past): evcapd
# says so, by how much and which way, and goes on recording. libfaketime
# moves the wall clock alone, as a step does; the monotonic clock that
# evcapd's timers run on goes on (but see below).
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_clock: evcapd is not built"
	exit 0
fi
if [ -n "${EVCAP_SAN:-}" ]; then
	skip "daemon_clock: libfaketime cannot be preloaded before the sanitizers' runtime"
	exit 0
fi
FT=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
if [ -z "$FT" ] || ! need jq; then
	skip "daemon_clock: needs libfaketime (package libfaketime) and jq"
	exit 0
fi
"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon_clock: cannot make the store"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"
mkdir -p "$T/media"
echo "+0" >"$T/offset"
FAKETIME_TIMESTAMP_FILE=$T/offset FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
	LD_PRELOAD=$FT "$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" \
	--watch "$T/media" --gps "" -v 2>"$T/d.log" &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
within 15 grep -q "rescan (start)" "$T/d.log" ||
	{ bad "daemon_clock: evcapd did not start: $(tail -3 "$T/d.log")"; exit 1; }

head -c 2000 /dev/urandom >"$T/media/before.bin"
within 10 bash -c "[ \$('$EVCAP' --json ls | jq length) -eq 1 ]"
check "daemon_clock: no step, no word of one" bash -c "! grep -q 'system clock was set' '$T/d.log'"

echo "+3600" >"$T/offset"
head -c 2000 /dev/urandom >"$T/media/after.bin"
check "daemon_clock: a step forward is logged, with its size" within 10 \
	grep -qE "the system clock was set forward by 3600 s \(it now reads [0-9T:.-]+Z\)" "$T/d.log"
check "daemon_clock: files are still recorded after it" \
	within 10 bash -c "[ \$('$EVCAP' --json ls | jq length) -eq 2 ]"

echo "-120" >"$T/offset"
# libfaketime moves evcapd's monotonic timers with the wall clock, which a
# real step does not: SIGHUP (a reload) wakes the loop instead of its timer
kill -HUP "$dpid"
check "daemon_clock: a step back is logged too" within 10 \
	grep -q "the system clock was set back by 3720 s" "$T/d.log"
check "daemon_clock: each step once" [ "$(grep -c 'system clock was set' "$T/d.log")" -eq 2 ]
kill -TERM "$dpid"
wait "$dpid"
check "daemon_clock: evcapd stops cleanly" [ $? -eq 0 ]
