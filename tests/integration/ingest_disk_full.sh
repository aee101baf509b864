#!/bin/bash
# The store's disk fills up during an ingest: every original placed in the
# store is recorded (ingest gives up the room it keeps on the disk for
# that), each file that could not be is named, with what to do, and the
# status is 1. Once room is made, the next run records the rest; and an
# original already whole in the store is taken as it is where the disk
# has no room for a second copy.
. "$(dirname "$0")/../lib/common.sh"

if ! need mkfs.ext4 mount umount jq; then
	skip "ingest_disk_full: needs mkfs.ext4, mount and jq"
	exit 0
fi
# the store on a small filesystem of its own (no blocks kept for root)
S=$T/store-disk
mkdir -p "$S" "$T/first" "$T/media" "$T/more"
mkfs.ext4 -q -m 0 "$T/store.img" 8M >/dev/null 2>&1 || { skip "ingest_disk_full: mkfs.ext4 failed"; exit 0; }
if ! mount -o loop "$T/store.img" "$S" 2>"$T/mount.err"; then
	skip "ingest_disk_full: cannot mount a loop device here: $(cat "$T/mount.err")"
	exit 0
fi
on_exit "umount '$S' 2>/dev/null"
export EVCAP_STORE=$S/store
"$EVCAP" -q init >/dev/null 2>&1 || { bad "ingest_disk_full: cannot make the store"; exit 1; }

reserve_bytes() { echo $(($(stat -c '%b * %B' "$EVCAP_STORE/.ingest-reserve" 2>/dev/null || echo 0))); }
echo "site notes" >"$T/first/notes.txt"
"$EVCAP" -q ingest "$T/first" 2>/dev/null
check "ingest_disk_full: ingest keeps 256 KiB of the store's disk for recording" \
	[ "$(reserve_bytes)" -ge 262144 ]

# forty files of 9 to 48 kB (1.1 MB in all) where 700 kB are free: the originals
# fill the disk to its last blocks, and the database needs room after them
N=40
for i in $(seq $N); do head -c $((8000 + i * 1000)) /dev/urandom >"$T/media/f$i.bin"; done
fill_to() { # fill_to KIB: leaves KIB KiB free on the store's disk
	local avail
	avail=$(df -k --output=avail "$S" | tail -1)
	dd if=/dev/zero of="$S/filler" bs=1k count=$((avail - $1)) 2>/dev/null
}
fill_to 700
"$EVCAP" ingest "$T/media" >"$T/out" 2>"$T/err"
rc=$?
check "ingest_disk_full: files not recorded make the status 1" [ "$rc" -eq 1 ]
# the originals in the store and the items recorded, by SHA-256
find "$EVCAP_STORE/blobs/sha256" -type f -printf '%f\n' | sort >"$T/blobs"
"$EVCAP" --json ls | jq -r '.[].sha256' | sort >"$T/items"
check "ingest_disk_full: every original placed in the store is recorded" \
	cmp -s "$T/blobs" "$T/items"
recorded=0 named=0
for i in $(seq $N); do
	sha=$(sha256sum "$T/media/f$i.bin" | cut -d' ' -f1)
	if grep -qx "$sha" "$T/items"; then
		recorded=$((recorded + 1))
	elif grep -qE "media/f$i\.bin: the store's disk \($EVCAP_STORE\) is full, [^:]* free: not recorded; make room there and run the ingest again" "$T/err"; then
		named=$((named + 1))
	fi
done
echo "# $recorded of the $N files fit"
check "ingest_disk_full: some of the files fit, and are recorded" [ "$recorded" -ge 1 ]
check "ingest_disk_full: each file not recorded is named, with what to do" \
	[ $((recorded + named)) -eq $N ]
check "ingest_disk_full: the summary counts them" grep -q \
	"$N files, .*, $named problems.*; $named files not recorded, the store's disk full (make room there and run it again)" \
	"$T/out"
check "ingest_disk_full: no temporary file is left in the store" \
	bash -c "[ -z \"\$(find '$EVCAP_STORE/blobs/tmp' -type f | head -1)\" ]"

rm -f "$S/filler"
"$EVCAP" ingest "$T/media" >"$T/out2" 2>"$T/err2"
check "ingest_disk_full: once room is made, the next run records the rest" \
	bash -c "[ \$('$EVCAP' --json ls | jq '[.[] | select(.original_name | test(\"^f[0-9]+[.]bin\$\"))] | length') -eq $N ]"
check "ingest_disk_full: ... and says no problem" grep -q "$N files, .*, 0 problems, $recorded already recorded" \
	"$T/out2"
check "ingest_disk_full: the room kept for recording is made again" [ "$(reserve_bytes)" -ge 262144 ]

# An original placed by a run that could not record it (its disk full):
# where there is no room for another copy, the one in the store is used.
head -c 400000 /dev/urandom >"$T/more/g1.bin"
sha=$(sha256sum "$T/more/g1.bin" | cut -d' ' -f1)
blob=$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
mkdir -p "$(dirname "$blob")"
cp "$T/more/g1.bin" "$blob"
chmod 444 "$blob"
fill_to 120
"$EVCAP" ingest "$T/more" >"$T/out3" 2>"$T/err3"
rc=$?
check "ingest_disk_full: an original whole in the store is recorded without room for a copy" \
	[ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || echo "# $(cat "$T/err3")"
has_item() { "$EVCAP" --json show "$1" >/dev/null 2>&1; }
check "ingest_disk_full: ... as an item" has_item "$sha"
check "ingest_disk_full: ... with no temporary file left" \
	bash -c "[ -z \"\$(find '$EVCAP_STORE/blobs/tmp' -type f | head -1)\" ]"

# a disk with no room left at all: the store cannot even be opened, and
# SQLite says only "disk I/O error"; the message says what is wrong
rm -f "$S/filler"
dd if=/dev/zero of="$S/filler" bs=4k 2>/dev/null
dd if=/dev/zero of="$S/filler2" bs=1k 2>/dev/null
"$EVCAP" ls >/dev/null 2>"$T/err4"
check "ingest_disk_full: a store on a disk with no room left says the disk is full" grep -q \
	"evidence.db: .* (the store's disk is full, 0 bytes free: make room there and run it again)" \
	"$T/err4"
rm -f "$S/filler" "$S/filler2"
check "ingest_disk_full: evcap verify passes" "$EVCAP" -q verify
