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

# a folder that is no store is refused, as other commands refuse it (it
# was waited on for ever), and so is one that is not there
mkdir -p "$T/plain"
timeout 10 "$EVCAP" --store "$T/plain" notify --once >/dev/null 2>"$T/plain.err" </dev/null
rc=$?
check "notify: a folder that is no store is refused (exit 2)" bash -c \
	"[ $rc = 2 ] && grep -qx \"evcap notify: $T/plain is not an evidence store (no evidence.db; run 'evcap init')\" '$T/plain.err'"
timeout 10 "$EVCAP" --store "$T/nostore" notify --once >/dev/null 2>"$T/nostore.err" </dev/null
rc=$?
check "notify: a folder not there is refused as other commands refuse it (exit 2)" bash -c \
	"[ $rc = 2 ] && grep -qF \"evcap notify: no evidence store at $T/nostore (run 'evcap init' first, or give --store)\" '$T/nostore.err'"

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

# two cards put in together end their bursts at the same moment: each
# card's summary is shown, once, even when notify gets to them only after
# both are written (stopped here with SIGSTOP meanwhile, as a busy laptop
# may keep it); it used to show the one written last, and each summary it
# did show, twice
if ! need mkfs.ext4 mount umount; then
	skip "notify: two cards at once need mkfs.ext4 and mount"
	exit 0
fi
mkdir -p "$T/media/CARDA" "$T/media/CARDB" "$T/srcA/DCIM" "$T/srcB/DCIM"
head -c 30000 /dev/urandom >"$T/srcA/DCIM/DJI_0001.JPG"
head -c 7000 /dev/urandom >"$T/srcB/DCIM/IMG_0001.JPG"
card_images A:4M B:4M || {
	skip "notify: cannot make or loop-mount card images here: $(cat "$T/mount.err")"
	exit 0
}
on_exit "umount '$T/media/CARDA' 2>/dev/null; umount '$T/media/CARDB' 2>/dev/null"
# bursts.jsonl at its size cap, so that evcapd's next summary goes into a
# new one: notify reads on into it
line=$(head -1 "$EVCAP_STORE/bursts.jsonl")
while [ "$(wc -c <"$EVCAP_STORE/bursts.jsonl")" -lt 262144 ]; do
	printf '%s\n' "$line" "$line" "$line" "$line" "$line" "$line" "$line" "$line" \
		>>"$EVCAP_STORE/bursts.jsonl"
done
DBUS_SESSION_BUS_ADDRESS=$ADDR "$EVCAP" notify >"$T/notify2.out" 2>"$T/notify2.err" &
npid=$!
on_exit "kill $npid 2>/dev/null"
within 10 grep -q "waiting for evcapd's summaries" "$T/notify2.err"
# (under a umask that would keep the file from the evcap group)
(umask 077 && exec "$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" \
	--watch "$T/media" --gps "" 2>"$T/d2.log") &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
within 15 grep -q "evcapd starting" "$T/d2.log" ||
	{ bad "notify: evcapd did not start again: $(tail -3 "$T/d2.log")"; exit 1; }
kill -STOP "$npid"
card_mount A && card_mount B || { bad "notify: cannot mount the cards"; exit 1; }
both() { [ "$(grep -c "evcapd: card CARD[AB] (UUID" "$T/d2.log")" -ge 2 ]; }
within 30 both || bad "notify: evcapd logged no summary for each card: $(tail -5 "$T/d2.log")"
kill -CONT "$npid"
shown() { grep -q "^card CARD$1 (UUID [^)]*): 1 file, " "$T/notify2.out"; }
check "notify: two cards at once: card A's summary is shown" within 10 shown A
check "notify: two cards at once: card B's summary is shown" within 10 shown B
sleep 1
twice() { # notify printed two card summaries; else what it printed, in the log
	[ "$(grep -c "^card CARD" "$T/notify2.out")" = 2 ] ||
		{ sed 's/^/# notify printed: /' "$T/notify2.out" "$T/notify2.err"; false; }
}
check "notify: two cards at once: two summaries shown, each once" twice
check "notify: evcapd began bursts.jsonl again past its size, keeping the full one as .1" \
	bash -c '[ "$(wc -l <"$1/bursts.jsonl")" = 2 ] && [ "$(wc -c <"$1/bursts.jsonl.1")" -ge 262144 ]' \
	_ "$EVCAP_STORE"
check "notify: the new bursts.jsonl is readable by the store's group (0640)" \
	test "$(stat -c %a "$EVCAP_STORE/bursts.jsonl")" = 640
kill -TERM "$dpid" "$npid"
wait "$dpid" "$npid" 2>/dev/null
true
