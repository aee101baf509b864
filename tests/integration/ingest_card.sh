#!/bin/bash
# A card ingested by hand is recorded as evcapd records one: with the UUID
# and label of its filesystem (it was recorded with none unless given with
# --medium-uuid). Paths on the machine's own disk record no card; paths on
# two cards record none and say so; --medium-uuid still wins.
. "$(dirname "$0")/../lib/common.sh"

if ! need mkfs.ext4 mount umount blkid jq; then
	skip "ingest_card: needs mkfs.ext4, mount, blkid and jq"
	exit 0
fi
mkdir -p "$T/srcA/DCIM/100MEDIA" "$T/srcB/DCIM" "$T/disk"
head -c 20000 /dev/urandom >"$T/srcA/DCIM/100MEDIA/DJI_0001.JPG"
head -c 9000 /dev/urandom >"$T/srcB/DCIM/IMG_0001.JPG"
head -c 7000 /dev/urandom >"$T/disk/copied.jpg"
card_images A:4M B:4M || {
	skip "ingest_card: cannot make or loop-mount card images here: $(cat "$T/mount.err")"
	exit 0
}
on_exit "umount '$T/media/CARDA' 2>/dev/null; umount '$T/media/CARDB' 2>/dev/null"
card_mount A && card_mount B || { bad "ingest_card: cannot mount the cards"; exit 1; }
uuidA=$(blkid -s UUID -o value "$T/a.img")
"$EVCAP" -q init >/dev/null 2>&1 || { bad "ingest_card: cannot make the store"; exit 1; }

"$EVCAP" ingest "$T/media/CARDA" >"$T/a.out" 2>"$T/a.err"
check "ingest_card: a card by hand is recorded with its UUID and label (was: none)" \
	jq -e --arg u "$uuidA" '.[] | select(.original_name == "DJI_0001.JPG") |
		.medium_uuid == $u and .medium_label == "CARDA"' <<<"$("$EVCAP" --json ls)"
check "ingest_card: ... and says which card it took it for" \
	grep -q "card $uuidA label CARDA (ext4, read-only) mounted at $T/media/CARDA: recorded with each item" "$T/a.err"

"$EVCAP" ingest "$T/disk" >/dev/null 2>"$T/d.err"
check "ingest_card: a folder on the machine's own disk records no card" \
	jq -e '.[] | select(.original_name == "copied.jpg") | .medium_uuid == null' \
	<<<"$("$EVCAP" --json ls)"

head -c 100 /dev/urandom >>"$T/disk/copied.jpg" # new bytes, a new item
"$EVCAP" ingest "$T/media/CARDB" "$T/media/CARDA/DCIM" >/dev/null 2>"$T/ab.err"
check "ingest_card: paths on two cards record no card ..." \
	jq -e '.[] | select(.original_name == "IMG_0001.JPG") | .medium_uuid == null' \
	<<<"$("$EVCAP" --json ls)"
check "ingest_card: ... and say so" \
	grep -q "the paths are on more than one card (.*): no card is recorded with the items; ingest each card on its own, or give --medium-uuid" "$T/ab.err"

umount "$T/media/CARDB"
"$EVCAP" --store "$T/s2" -q init >/dev/null 2>&1
"$EVCAP" --store "$T/s2" ingest --medium-uuid 1234-ABCD --medium-label SEALED "$T/media/CARDA" \
	>/dev/null 2>"$T/g.err"
check "ingest_card: --medium-uuid given is what is recorded" \
	jq -e '.[0].medium_uuid == "1234-ABCD" and .[0].medium_label == "SEALED"' \
	<<<"$("$EVCAP" --store "$T/s2" --json ls)"
