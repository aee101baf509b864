#!/bin/bash
# A card's summary reaches the desktop: evcapd takes three files, writes its
# burst summary into the store, and `evcap notify` (as the desktop session
# would run it) sends it to the freedesktop notification service on a real,
# private session bus (dbus-daemon), where dbus-monitor sees the Notify call
# with evcapd's own words. No notification server runs here (they all need a
# display), so the call is refused, and notify says so, naming the reason.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "notify: evcapd is not built"
	exit 0
fi
if ! need dbus-daemon dbus-monitor jq; then
	skip "notify: needs dbus-daemon, dbus-monitor (dbus-daemon, dbus-bin) and jq"
	exit 0
fi
if "$EVCAP" notify --once 2>&1 </dev/null | grep -q "built without libsystemd"; then
	skip "notify: this evcap was built without libsystemd"
	exit 0
fi
CASE=嫩检公益立〔2023〕15号
"$EVCAP" -q init >/dev/null 2>&1 && "$EVCAP" -q case open "$CASE" --use >/dev/null 2>&1 ||
	{ bad "notify: cannot make the store"; exit 1; }
mkdir -p "$T/media"

dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$T/bus.addr" 4>"$T/bus.pid" ||
	{ bad "notify: dbus-daemon did not start"; exit 1; }
on_exit "kill \$(cat '$T/bus.pid') 2>/dev/null"
ADDR=$(head -1 "$T/bus.addr")
dbus-monitor --address "$ADDR" "type='method_call',interface='org.freedesktop.Notifications'" \
	>"$T/monitor.log" 2>&1 &
on_exit "kill $! 2>/dev/null"

DBUS_SESSION_BUS_ADDRESS=$ADDR timeout 60 "$EVCAP" notify --once >"$T/notify.out" 2>"$T/notify.err" &
npid=$!
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"
"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" 2>"$T/d.log" &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
sleep 1
for i in 1 2 3; do head -c $((100000 * i)) /dev/urandom >"$T/media/water-$i.bin"; done

wait "$npid"
rc=$?
kill -TERM "$dpid"
wait "$dpid"
check "notify: evcapd writes the burst summary into the store" \
	jq -e --arg c "$CASE" '.files == 3 and .added == 3 and .problems == 0 and .case == $c
	       and (.summary | startswith("3 files, 600.0 kB, 0 problems, 0 already recorded, case "))' \
	"$EVCAP_STORE/last-burst.json"
check "notify: the summary file says what evcapd's log says" \
	grep -qF "$(jq -r .summary "$EVCAP_STORE/last-burst.json")" "$T/d.log"
check "notify: notify prints the summary" \
	grep -qF "3 files, 600.0 kB, 0 problems, 0 already recorded, case $CASE" "$T/notify.out"
check "notify: a Notify call with evcapd's summary goes to the notification service" \
	bash -c "grep -A5 'member=Notify' '$T/monitor.log' | grep -qF 'string \"3 files, 600.0 kB, 0 problems, 0 already recorded, case $CASE\"'"
check "notify: the call names evcap and says it is not urgent" \
	bash -c "grep -A1 'member=Notify' '$T/monitor.log' | grep -q 'string \"evcap\"' &&
		grep -A20 'member=Notify' '$T/monitor.log' | grep -q 'byte 1'"
check "notify: with no notification service it says so, and --once exits 1" \
	bash -c "[ $rc -eq 1 ] && grep -q 'could not be shown as a notification: .*org.freedesktop.Notifications' '$T/notify.err'"
