#!/bin/bash
# The store's disk fills up in the field: evcapd names the file it could
# not record, says that the store's disk is full and what to do, counts
# the file as not recorded, and records it, whole, once room is made.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_disk_full: evcapd is not built"
	exit 0
fi
if ! need mkfs.ext4 mount umount jq; then
	skip "daemon_disk_full: needs mkfs.ext4, mount and jq"
	exit 0
fi
# the store on a small filesystem of its own (no blocks kept for root)
S=$T/store-disk
mkdir -p "$S" "$T/media"
mkfs.ext4 -q -m 0 "$T/store.img" 8M 2>/dev/null || { skip "daemon_disk_full: mkfs.ext4 failed"; exit 0; }
if ! mount -o loop "$T/store.img" "$S" 2>"$T/mount.err"; then
	skip "daemon_disk_full: cannot mount a loop device here: $(cat "$T/mount.err")"
	exit 0
fi
on_exit "umount '$S' 2>/dev/null"
export EVCAP_STORE=$S/store
"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon_disk_full: cannot make the store"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"

"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" -v 2>"$T/d.log" &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
within 15 grep -q "rescan (start)" "$T/d.log" ||
	{ bad "daemon_disk_full: evcapd did not start: $(tail -3 "$T/d.log")"; exit 1; }

check "daemon_disk_full: evcapd keeps space on the store's disk for its summaries" \
	within 15 test "$(stat -c %s "$EVCAP_STORE/.evcapd-reserve" 2>/dev/null)" = 65536
# fill the disk to the last block (the 1 KiB blocks a 4 KiB write left too)
dd if=/dev/zero of="$S/filler" bs=4k 2>/dev/null
dd if=/dev/zero of="$S/filler2" bs=1k 2>/dev/null
head -c 300000 /dev/urandom >"$T/photo.jpg"
sha=$(sha256sum "$T/photo.jpg" | cut -d' ' -f1)
cp "$T/photo.jpg" "$T/media/DJI_0001.JPG"
check "daemon_disk_full: the file that could not be recorded is named" within 15 grep -qF \
	"media/DJI_0001.JPG: " "$T/d.log"
check "daemon_disk_full: ... the disk named full, with what to do" grep -qE \
	"media/DJI_0001\.JPG: .*No space left on device; the store's disk \($EVCAP_STORE\) is full, [^:]* free: make room there, and what waits is recorded \(attempt 1\)" \
	"$T/d.log"
check "daemon_disk_full: the summary counts it as not recorded, though the disk is full" \
	within 15 jq -e '.files == 1 and .not_recorded == 1' "$EVCAP_STORE/last-burst.json"
check "daemon_disk_full: ... written in the space kept for it" grep -q \
	"last-burst.json: the store's disk is full: the space kept for summaries is given up" \
	"$T/d.log"
check "daemon_disk_full: ... and added to bursts.jsonl" \
	jq -e -s '.[-1].not_recorded == 1' "$EVCAP_STORE/bursts.jsonl"

rm -f "$S/filler" "$S/filler2"
has() { "$EVCAP" --json ls | jq -e --arg s "$sha" 'any(.[]; .sha256 == $s)'; }
check "daemon_disk_full: once room is made, the file is recorded" within 30 has
blob=$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
check "daemon_disk_full: byte for byte" cmp -s "$T/photo.jpg" "$blob"
check "daemon_disk_full: the space for summaries is kept again once there is room" \
	within 30 test "$(stat -c %b "$EVCAP_STORE/.evcapd-reserve" 2>/dev/null)" -ge 128
kill -TERM "$dpid"
wait "$dpid"
check "daemon_disk_full: evcapd stops cleanly" [ $? -eq 0 ]
check "daemon_disk_full: no temporary file is left in the store" \
	bash -c "[ -z \"\$(find '$EVCAP_STORE/blobs/tmp' -type f 2>/dev/null | head -1)\" ]"
check "daemon_disk_full: evcap verify passes" "$EVCAP" -q verify
