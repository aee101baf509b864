#!/bin/bash
# evcapd on temporary roots with a real gpsd (gpsfake replaying a USB puck's
# log): a copied photo is recorded at once; a file written slowly is
# recorded whole and once; a folder tree moved in is found; a read-only
# card image mounted under the root is recorded with its filesystem UUID;
# fixes are stored; the CLI reads and writes the store meanwhile; a second
# daemon on the store refuses; config errors name file:line; SIGTERM ends it
# with status 0.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon: evcapd is not built"
	exit 0
fi
need jq || { skip "daemon: jq is not installed"; exit 0; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds
wait_for() {
	local limit=$(( $1 * 10 )) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.1
	done
}

pids=()
kill_all() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
on_exit kill_all

# the store's items as "sha256 original_name case medium_uuid" lines
items() { "$EVCAP" --json ls 2>/dev/null | jq -r '.[] | "\(.sha256) \(.original_name) \(.case) \(.medium_uuid) \(.medium_label)"'; }
has_sha() { items | grep -q "^$1 "; }
count_name() { items | awk -v n="$1" '$2 == n' | wc -l; }

ROOT1=$T/media
ROOT2=$T/incoming
mkdir -p "$ROOT1" "$ROOT2" "$T/outside"
"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon: evcap init failed"; exit 0; }

# a photo: from the corpus when it is there, else bytes of our own
PHOTO=$T/outside/photo.jpg
if [ -n "$CORPUS" ] && [ -f "$CORPUS/photos/Nexus-4.jpg" ]; then
	cp "$CORPUS/photos/Nexus-4.jpg" "$PHOTO"
else
	head -c 300000 /dev/urandom >"$PHOTO"
fi

# gpsd through gpsfake, when it and the corpus log are there
GPS_ARGS=(--gps "")
GPS_PORT=
if need gpsfake python3 && [ -n "$CORPUS" ] && [ -f "$CORPUS/gps/bu353s4.log" ]; then
	GPS_PORT=$(free_port)
	start_gpsfake "$GPS_PORT" "$T/gpsfake.log" -q -n -c 0.1 "$CORPUS/gps/bu353s4.log" ||
		echo "# gpsfake's gpsd never listed the device"
	gpsfake_pid=$GPSFAKE_PID
	on_exit 'stop_gpsfake "$gpsfake_pid"'
	GPS_ARGS=(--gps "127.0.0.1:$GPS_PORT")
fi

cat >"$T/evcap.conf" <<EOF
[store]
operator = 张三
[capture]
settle_seconds = 1
[gps]
max_gap = 60
EOF

"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" \
	--watch "$ROOT1" --watch "$ROOT2" "${GPS_ARGS[@]}" -v 2>"$T/evcapd.log" &
DPID=$!
pids+=($DPID)
if ! wait_for 10 grep -q "rescan (start)" "$T/evcapd.log"; then
	bad "daemon: evcapd did not start: $(tail -3 "$T/evcapd.log")"
	exit 0
fi

# 1. a copied photo is recorded within a couple of seconds
SHA=$(sha256sum "$PHOTO" | cut -d' ' -f1)
cp "$PHOTO" "$ROOT2/DJI_0001.JPG"
if wait_for 4 has_sha "$SHA"; then ok "daemon_copied_photo"; else bad "daemon_copied_photo: not recorded within 4 s"; fi

# 2. the CLI writes and reads while the daemon runs: open a case, use it
CASE='嫩检公益立〔2023〕15号'
if "$EVCAP" -q case open "$CASE" --title "河道违建" --use >/dev/null 2>"$T/case.err" &&
	"$EVCAP" case list >/dev/null 2>&1; then
	ok "daemon_cli_writes_meanwhile"
else
	bad "daemon_cli_writes_meanwhile: $(cat "$T/case.err")"
fi
head -c 100000 /dev/urandom >"$T/outside/note.bin"
SHA_CASE=$(sha256sum "$T/outside/note.bin" | cut -d' ' -f1)
cp "$T/outside/note.bin" "$ROOT2/after-case.bin"
if wait_for 4 has_sha "$SHA_CASE" && items | grep "^$SHA_CASE " | grep -qF "$CASE"; then
	ok "daemon_uses_case_in_use"
else
	bad "daemon_uses_case_in_use: $(items | grep "^$SHA_CASE " || echo not recorded)"
fi

# 3. a file written slowly, in pieces over about three seconds, is
# recorded once and whole
{ for _ in 1 2 3 4 5 6; do dd if=/dev/urandom bs=262144 count=1 2>/dev/null; sleep 0.5; done; } \
	>"$ROOT2/slow.bin"
SHA_SLOW=$(sha256sum "$ROOT2/slow.bin" | cut -d' ' -f1)
if wait_for 5 has_sha "$SHA_SLOW"; then
	sleep 1.5 # anything recorded late would show now
	n=$(count_name slow.bin)
	if [ "$n" -eq 1 ]; then ok "daemon_slow_write_whole_once"; else
		bad "daemon_slow_write_whole_once: $n items named slow.bin"; fi
else
	bad "daemon_slow_write_whole_once: the whole file was not recorded (items: $(count_name slow.bin))"
fi

# 3b. a writer that pauses longer than settle_seconds (1 s) with the file
# open: nothing is taken until it closes, then the whole file, once
{ dd if=/dev/urandom bs=262144 count=1 2>/dev/null; sleep 3; dd if=/dev/urandom bs=262144 count=1 2>/dev/null; } \
	>"$ROOT2/stall.bin"
SHA_STALL=$(sha256sum "$ROOT2/stall.bin" | cut -d' ' -f1)
if wait_for 5 has_sha "$SHA_STALL"; then
	sleep 1.5
	n=$(count_name stall.bin)
	if [ "$n" -eq 1 ]; then ok "daemon_paused_writer_whole_once"; else
		bad "daemon_paused_writer_whole_once: $n items named stall.bin (a truncated one taken)"; fi
else
	bad "daemon_paused_writer_whole_once: the whole file was not recorded (items: $(count_name stall.bin))"
fi

# 4. a folder tree moved into a watched root is found
mkdir -p "$T/outside/card/DCIM/100MEDIA" "$T/outside/card/DCIM/101MEDIA"
for i in 1 2 3; do head -c $((50000 + i)) /dev/urandom >"$T/outside/card/DCIM/100MEDIA/IMG_000$i.JPG"; done
head -c 70000 /dev/urandom >"$T/outside/card/DCIM/101MEDIA/IMG_0100.JPG"
TREE_SHAS=$(find "$T/outside/card" -type f -exec sha256sum {} + | cut -d' ' -f1)
mv "$T/outside/card" "$ROOT1/card"
all_tree() { local s; for s in $TREE_SHAS; do has_sha "$s" || return 1; done; }
if wait_for 6 all_tree; then ok "daemon_moved_tree"; else bad "daemon_moved_tree: not all 4 files recorded"; fi

# 5. a read-only card image mounted under the media root is recorded, and
# its items name the filesystem's UUID and label
if need mkfs.ext4 blkid mount umount && mkdir -p "$T/cardsrc/DCIM/100DRONE" &&
	head -c 123457 /dev/urandom >"$T/cardsrc/DCIM/100DRONE/DJI_0042.JPG" &&
	mkfs.ext4 -q -L EVCARD -d "$T/cardsrc" "$T/card.img" 4M 2>/dev/null &&
	mkdir -p "$ROOT1/EVCARD" &&
	mount -o loop,ro,nosuid,nodev,noexec "$T/card.img" "$ROOT1/EVCARD" 2>/dev/null; then
	on_exit "umount '$ROOT1/EVCARD' 2>/dev/null"
	UUID=$(blkid -s UUID -o value "$T/card.img")
	SHA_CARD=$(sha256sum "$T/cardsrc/DCIM/100DRONE/DJI_0042.JPG" | cut -d' ' -f1)
	if wait_for 6 has_sha "$SHA_CARD"; then
		line=$(items | grep "^$SHA_CARD ")
		if [ "$(echo "$line" | awk '{print $4}')" = "$UUID" ] &&
			[ "$(echo "$line" | awk '{print $5}')" = EVCARD ]; then
			ok "daemon_mounted_card_medium"
		else
			bad "daemon_mounted_card_medium: item says '$line', the card's UUID is $UUID"
		fi
	else
		bad "daemon_mounted_card_medium: the card's file was not recorded"
	fi
	umount "$ROOT1/EVCARD" 2>/dev/null
else
	skip "daemon_mounted_card_medium: cannot make and mount a loop filesystem here (needs root and loop devices)"
fi

# 5b. a card pulled before a file of it was read: the file is named and
# counted as not recorded, not left out of the summary (a tmpfs stands in
# for the card; the file is held open, so it waits, until the card goes)
if mkdir -p "$ROOT2/PULLED" && mount -t tmpfs -o size=4m tmpfs "$ROOT2/PULLED" 2>/dev/null; then
	on_exit "umount -l '$ROOT2/PULLED' 2>/dev/null"
	wait_for 10 grep -q "watching.*PULLED\|PULLED" "$T/evcapd.log"
	sleep 2 # the mount seen and its folder watched
	exec 7>"$ROOT2/PULLED/held.bin"
	head -c 100000 /dev/urandom >&7
	sleep 2
	umount -l "$ROOT2/PULLED"
	exec 7>&-
	if wait_for 10 grep -q "PULLED/held.bin: gone before it was read" "$T/evcapd.log" &&
		wait_for 10 grep -q "1 file not recorded" "$T/evcapd.log"; then
		ok "daemon_card_pulled_file_named_and_counted"
	else
		bad "daemon_card_pulled_file_named_and_counted: $(grep -i 'held.bin\|not recorded' "$T/evcapd.log" | tail -3)"
	fi
else
	skip "daemon_card_pulled_file_named_and_counted: cannot mount a tmpfs here (needs root)"
fi

# 6. fixes from gpsd are stored
if [ -n "$GPS_PORT" ]; then
	fixes() { "$EVCAP" --json track ls 2>/dev/null | jq -e --arg s "gpsd:127.0.0.1:$GPS_PORT" \
		'[.[] | select(.source == $s)] | length > 0'; }
	if wait_for 20 fixes; then ok "daemon_fixes_logged"; else
		bad "daemon_fixes_logged: no fixes from gpsd:127.0.0.1:$GPS_PORT stored"; fi
else
	skip "daemon_fixes_logged: gpsfake or the corpus GPS log is absent"
fi

# 7. a second daemon on the same store refuses, naming the running one
"$EVCAPD" --foreground --store "$EVCAP_STORE" --watch "$ROOT2" --gps "" 2>"$T/second.err" &
SPID=$!
pids+=($SPID)
if wait_for 10 bash -c "! kill -0 $SPID 2>/dev/null"; then
	wait "$SPID"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q "another evcapd (pid $DPID) is running on $EVCAP_STORE" "$T/second.err"; then
		ok "daemon_second_instance_refused"
	else
		bad "daemon_second_instance_refused: status $rc, said: $(cat "$T/second.err")"
	fi
else
	bad "daemon_second_instance_refused: the second evcapd kept running"
fi

# 8. a config error exits 2 and names the file and line
printf '[capture]\nsettle_seconds = soon\n' >"$T/bad.conf"
"$EVCAPD" --foreground --config "$T/bad.conf" --store "$T/other" 2>"$T/bad.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "bad.conf:2:" "$T/bad.err"; then ok "daemon_config_error"; else
	bad "daemon_config_error: status $rc, said: $(cat "$T/bad.err")"; fi

# 9. nothing was recorded twice, and verify passes with the daemon running
dups=$(items | awk '{print $2}' | sort | uniq -d)
if [ -z "$dups" ] && "$EVCAP" -q verify >"$T/verify.out" 2>&1; then ok "daemon_no_duplicates_verify"; else
	bad "daemon_no_duplicates_verify: duplicates '$dups'; $(tail -3 "$T/verify.out")"; fi

# 10. idle, it sleeps in poll(): under 1% of a CPU over 3 s (gpsd still
# sending fixes)
ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
if [ -r "/proc/$DPID/stat" ]; then
	hz=$(getconf CLK_TCK)
	a=$(ticks); sleep 3; b=$(ticks)
	if [ $(( (b - a) * 100 )) -le $(( 3 * hz )) ]; then ok "daemon_idle_cpu"; else
		bad "daemon_idle_cpu: $((b - a)) ticks of $((3 * hz)) in 3 s"; fi
else
	skip "daemon_idle_cpu: /proc/PID/stat is not readable"
fi

# 11. SIGTERM: a clean stop with status 0 within a few seconds
kill -TERM "$DPID"
if wait_for 5 bash -c "! kill -0 $DPID 2>/dev/null"; then
	wait "$DPID"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "evcapd stopped" "$T/evcapd.log"; then ok "daemon_sigterm"; else
		bad "daemon_sigterm: status $rc"; fi
else
	bad "daemon_sigterm: still running 5 s after SIGTERM"
fi
grep -E 'WARN|ERROR|runtime error' "$T/evcapd.log" | head -5 | sed 's/^/# /'
exit 0
