#!/bin/bash
# Photos offloaded while another program holds the store are not lost:
# evcapd names each file it could not record and why, tries it again
# with a back-off, and once the store is let go records every file once,
# byte for byte, with nothing left half-done in the store.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_store_busy: evcapd is not built"
	exit 0
fi
if ! need sqlite3 jq; then
	skip "daemon_store_busy: sqlite3 or jq is not installed"
	exit 0
fi
. "$(dirname "$0")/../lib/base-jpeg.sh"
"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon_store_busy: cannot make the store"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"
mkdir -p "$T/media" "$T/card/DCIM/100MEDIA"

# the card: a real JPEG and two files whose metadata cannot be read
make_base_jpeg "$T/card/DCIM/100MEDIA/DJI_0001.JPG"
head -c 200001 /dev/urandom >"$T/card/DCIM/100MEDIA/DJI_0002.JPG"
head -c 300002 /dev/urandom >"$T/card/DCIM/100MEDIA/DJI_0003.JPG"
(cd "$T/card/DCIM/100MEDIA" && sha256sum DJI_000?.JPG | sort) >"$T/card.sha"

dpid=
on_exit '[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null'
"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" -v 2>"$T/d.log" 7>&- &
dpid=$!
within 15 grep -q "rescan (start)" "$T/d.log" ||
	{ bad "daemon_store_busy: evcapd did not start: $(tail -3 "$T/d.log")"; exit 1; }

hold_store || { bad "daemon_store_busy: the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }
cp -r "$T/card" "$T/media/card"
check "daemon_store_busy: a file that cannot be recorded is named, with why and the attempt" \
	within 30 grep -qE "DJI_000[123]\.JPG.*(locked|busy).*\(attempt 1\)" "$T/d.log"
# ... and who holds the store: the other writer's pid and command
check "daemon_store_busy: the line names who holds the store (pid $HOLD_PID, sqlite3)" \
	grep -qE "DJI_000[123]\.JPG.*held by pid $HOLD_PID: sqlite3 -cmd .* \(attempt 1\)" "$T/d.log"
release_store

items() { "$EVCAP" --json ls 2>/dev/null | jq -r '.[] | "\(.sha256)  \(.original_name)"' | sort; }
all_in() { [ "$(items | wc -l)" -ge 3 ]; }
check "daemon_store_busy: once the store is let go, every file is recorded" within 60 all_in
items >"$T/items"
check "daemon_store_busy: each once, under its own name and digest" diff "$T/card.sha" "$T/items"
# the blobs themselves are the card's bytes
bytes_ok() {
	local sha name
	while read -r sha name; do
		cmp -s "$T/card/DCIM/100MEDIA/$name" "$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha" ||
			return 1
	done <"$T/card.sha"
}
check "daemon_store_busy: each stored byte for byte" bytes_ok
check "daemon_store_busy: no temporary file is left in the store" \
	bash -c "[ -z \"\$(find '$EVCAP_STORE' -name '.tmp*' -o -name '*.tmp' | head -1)\" ]"
check "daemon_store_busy: the files whose metadata cannot be read are kept, flagged" \
	[ "$("$EVCAP" --json ls 2>/dev/null | jq '[.[] | select(.metadata_error != null)] | length')" -eq 2 ]
# the burst's summary counts the file that was tried again once, and
# not as a problem once it is recorded
summary_is() { jq -e "$1" "$EVCAP_STORE/last-burst.json"; }
check "daemon_store_busy: the summary counts 3 files, 2 problems (the unreadable metadata), none not recorded" \
	within 15 summary_is '.files == 3 and .added == 3 and .problems == 2 and .not_recorded == 0'
check "daemon_store_busy: the log has the same summary" \
	grep -qE "evcapd: 3 files, 50[0-9]\.[0-9] kB, 2 problems, 0 already recorded, case \(none\)$" "$T/d.log"
# a small photo's size is given in a unit that shows it, not as "0.0 MB"
check "daemon_store_busy: a small file's size reads in kB" \
	grep -qE "recorded .*/DJI_0001\.JPG \([0-9]+\.[0-9] kB, sha256" "$T/d.log"

# ---- a file still not recorded when evcapd stops ----
hold_store || { bad "daemon_store_busy: the other writer could not take the store again: $(cat "$T/hold.out")"; exit 1; }
head -c 400003 /dev/urandom >"$T/late.JPG"
late_sha=$(sha256sum "$T/late.JPG" | cut -d' ' -f1)
cp "$T/late.JPG" "$T/media/card/DCIM/100MEDIA/DJI_0004.JPG"
check "daemon_store_busy: the late file is named as not recorded" \
	within 30 grep -qE "DJI_0004\.JPG.*(locked|busy).*\(attempt 1\)" "$T/d.log"
kill -TERM "$dpid"
wait "$dpid"
check "daemon_store_busy: evcapd stops cleanly while the store is held" [ $? -eq 0 ]
dpid=
check "daemon_store_busy: the summary at stop says the file is not recorded" \
	summary_is '.files == 1 and .added == 0 and .problems == 1 and .not_recorded == 1'
check "daemon_store_busy: and so does the log" \
	grep -q "1 file, 0 bytes, 1 problem, 0 already recorded, case (none); 1 file not recorded (the log names it; it is tried again)$" "$T/d.log"
release_store
"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" -v 2>"$T/d2.log" &
dpid=$!
check "daemon_store_busy: the next start records it" within 30 bash -c \
	"'$EVCAP' --json ls | jq -e --arg s '$late_sha' 'any(.[]; .sha256 == \$s)'"
kill -TERM "$dpid"
wait "$dpid"
check "daemon_store_busy: evcapd stops cleanly" [ $? -eq 0 ]
dpid=
check "daemon_store_busy: evcap verify passes" "$EVCAP" -q verify
