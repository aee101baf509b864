#!/bin/bash
# Each card gets a summary line of its own, as the investigator reads them
# in the field: two cards (real ext4 images, mounted read-only under the
# watched folder) put in together get one line each, naming the card; a
# file that cannot be read is named in its card's summary once, not again
# at each retry; a card put in again gets its line too, counting the files
# recorded before as already recorded. evcapd runs without the right to
# read past file permissions, so a file of mode 000 cannot be read.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_cards: evcapd is not built"
	exit 0
fi
if ! need mkfs.ext4 mount umount setpriv jq; then
	skip "daemon_cards: needs mkfs.ext4, mount, setpriv and jq"
	exit 0
fi
"$EVCAP" -q init >/dev/null 2>&1 || { bad "daemon_cards: cannot make the store"; exit 1; }
printf '[capture]\nsettle_seconds = 1\n' >"$T/evcap.conf"
mkdir -p "$T/media/CARDA" "$T/media/CARDB" "$T/media/CARDC" "$T/srcA/DCIM/100MEDIA" \
	"$T/srcB/DCIM/100MEDIA" "$T/srcC/DCIM/100MEDIA"
for i in 1 2 3; do head -c $((20000 * i)) /dev/urandom >"$T/srcA/DCIM/100MEDIA/DJI_000$i.JPG"; done
head -c 5000 /dev/urandom >"$T/srcA/DCIM/100MEDIA/DJI_0004.JPG"
chmod 000 "$T/srcA/DCIM/100MEDIA/DJI_0004.JPG" # a file evcapd cannot read
for i in 1 2; do head -c $((7000 * i)) /dev/urandom >"$T/srcB/DCIM/100MEDIA/IMG_000$i.JPG"; done
# card C: enough files that it can be pulled while they are taken
for i in $(seq 10 69); do head -c 150000 /dev/urandom >"$T/srcC/DCIM/100MEDIA/DJI_00$i.JPG"; done
card_images A:4M B:4M C:16M || {
	skip "daemon_cards: cannot make or loop-mount card images here: $(cat "$T/mount.err")"
	exit 0
}
on_exit "umount '$T/media/CARDA' 2>/dev/null; umount '$T/media/CARDB' 2>/dev/null;
	umount '$T/media/CARDC' 2>/dev/null"

setpriv --bounding-set -dac_override,-dac_read_search \
	"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$EVCAP_STORE" --watch "$T/media" \
	--gps "" -v 2>"$T/d.log" &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
within 15 grep -q "rescan (start)" "$T/d.log" ||
	{ bad "daemon_cards: evcapd did not start: $(tail -3 "$T/d.log")"; exit 1; }

summaries() { grep -c "evcapd: card $1 (UUID [^)]*): " "$T/d.log"; }

# two cards together
card_mount A && card_mount B || { bad "daemon_cards: cannot mount the cards"; exit 1; }
check "daemon_cards: card A gets a summary line of its own" within 30 grep -qE \
	"evcapd: card CARDA \(UUID [0-9a-f-]+\): 4 files, 120\.0 kB, 4 problems, 0 already recorded, case \(none\); 1 file not recorded" \
	"$T/d.log"
check "daemon_cards: card B gets a summary line of its own" within 30 grep -qE \
	"evcapd: card CARDB \(UUID [0-9a-f-]+\): 2 files, 21\.0 kB, 2 problems, 0 already recorded, case \(none\)$" \
	"$T/d.log"
check "daemon_cards: the unreadable file is named, with why" \
	grep -q "CARDA/DCIM/100MEDIA/DJI_0004.JPG: cannot open: Permission denied (attempt 1)" "$T/d.log"

# (the files are not JPEGs: 3 and 2 problems are their metadata)
# the unreadable file is tried again (after 1, 2, 4 s ...), without a
# summary at each try
within 15 grep -q "DJI_0004.JPG: cannot open: .*(attempt 3)" "$T/d.log"
sleep 1
check "daemon_cards: tried again meanwhile" grep -q "DJI_0004.JPG: .*(attempt 3)" "$T/d.log"
check "daemon_cards: a file that cannot be read makes one summary, not one a retry" \
	[ "$(summaries CARDA)" -eq 1 ]
check "daemon_cards: card B's summary is not repeated either" [ "$(summaries CARDB)" -eq 1 ]
check "daemon_cards: two summary lines in all, one a card" \
	[ "$(grep -c "already recorded, case" "$T/d.log")" -eq 2 ]

# card A out and in again
umount "$T/media/CARDA"
check "daemon_cards: a card taken out is logged" within 10 grep -qE "card [0-9a-f-]+ is gone" "$T/d.log"
card_mount A || { bad "daemon_cards: cannot mount card A again"; exit 1; }
check "daemon_cards: a card put in again gets its line, counting what was recorded before" \
	within 30 grep -qE \
	"evcapd: card CARDA \(UUID [0-9a-f-]+\): 4 files, 120\.0 kB, 1 problem, 3 already recorded, case \(none\); 1 file not recorded" \
	"$T/d.log"
check "daemon_cards: the burst file names the card" \
	jq -e '.medium_label == "CARDA" and (.medium_uuid | length) > 0 and .already == 3
	       and .not_recorded == 1 and (.mount_point | endswith("/media/CARDA"))' \
	"$EVCAP_STORE/last-burst.json"
check "daemon_cards: card B, still in, gets no new line" [ "$(summaries CARDB)" -eq 1 ]

# card C pulled while its files are taken (lazily unmounted, as the file
# being read keeps it busy), then put in again
card_mount C || { bad "daemon_cards: cannot mount card C"; exit 1; }
within 30 grep -q "recorded .*/CARDC/DCIM/100MEDIA/" "$T/d.log"
umount -l "$T/media/CARDC"
check "daemon_cards: a card pulled mid-offload gets its line, counting what it could not take" \
	within 30 grep -qE "evcapd: card CARDC \(UUID [0-9a-f-]+\): [0-9]+ files, .*; [0-9]+ files? not recorded" \
	"$T/d.log"
# all 60 files are in that line: those taken, and those not
pulled=$(grep -E "evcapd: card CARDC \(UUID" "$T/d.log" | head -1)
check "daemon_cards: ... all 60 of its files: $pulled" \
	bash -c "echo '$pulled' | grep -qE ': 60 files, .*; [0-9]+ files not recorded'"
sleep 1
card_mount C || { bad "daemon_cards: cannot mount card C again"; exit 1; }
check "daemon_cards: put in again, its line counts 60 files, some already recorded" \
	within 60 grep -qE "evcapd: card CARDC \(UUID [0-9a-f-]+\): 60 files, 9\.0 MB, [0-9]+ problems, [1-9][0-9]* already recorded, case \(none\)$" \
	"$T/d.log"

# a card is announced when it comes, not again each time another comes or goes
mounted() { grep -c "evcapd: medium [0-9a-f-]* label $1 (.*) mounted at " "$T/d.log"; }
check "daemon_cards: card B, in all along, is announced once ($(mounted CARDB))" \
	[ "$(mounted CARDB)" -eq 1 ]
check "daemon_cards: card A, put in twice, is announced twice ($(mounted CARDA))" \
	[ "$(mounted CARDA)" -eq 2 ]

# a symbolic link and a FIFO put in the watched folder while evcapd runs:
# named as they come (a rescan names them only at debug level)
ln -s /etc/hostname "$T/media/link.jpg"
mkfifo "$T/media/pipe.jpg"
check "daemon_cards: a symbolic link that arrives is named as not recorded (was: nothing said)" \
	within 15 grep -q "$T/media/link.jpg: not a regular file (a symbolic link); not recorded" "$T/d.log"
check "daemon_cards: ... and a FIFO" \
	within 15 grep -q "$T/media/pipe.jpg: not a regular file (a FIFO); not recorded" "$T/d.log"
rm -f "$T/media/link.jpg" "$T/media/pipe.jpg"

# a file in a folder that evcapd's user may not search (closed just after
# the folder was locked): said as that, not as a card removed; taken once
# the folder is opened
mkdir "$T/media/LOCKED"
sleep 1
exec 7>"$T/media/LOCKED/in.bin"
head -c 5000 /dev/urandom >&7
chmod 000 "$T/media/LOCKED"
exec 7>&-
check "daemon_cards: a file behind a folder it may not search is said so (was: 'the card removed?')" \
	within 15 grep -q "LOCKED/in.bin: cannot be looked at: Permission denied (a folder on its path does not let evcapd's user in" "$T/d.log"
chmod 755 "$T/media/LOCKED"
check "daemon_cards: ... and taken once the folder is opened" \
	within 20 grep -q "recorded $T/media/LOCKED/in.bin " "$T/d.log"

# a card's folder offloaded by hand into the watched folder, removed, and
# another card's folder copied to the same place: a file of the same
# name, size and time (a camera clock never set), other bytes
mkdir -p "$T/srcD/DCIM" "$T/srcE/DCIM"
head -c 30000 /dev/urandom >"$T/srcD/DCIM/DJI_0001.JPG"
head -c 30000 /dev/urandom >"$T/srcE/DCIM/DJI_0001.JPG"
touch -d '2000-01-01 00:00:00' "$T/srcD/DCIM/DJI_0001.JPG" "$T/srcE/DCIM/DJI_0001.JPG"
shaD=$(sha256sum <"$T/srcD/DCIM/DJI_0001.JPG" | cut -c1-16)
shaE=$(sha256sum <"$T/srcE/DCIM/DJI_0001.JPG" | cut -c1-16)
cp -rp "$T/srcD" "$T/media/OFFLOAD"
within 20 grep -q "recorded $T/media/OFFLOAD/DCIM/DJI_0001.JPG (.*sha256 $shaD" "$T/d.log" ||
	bad "daemon_cards: the first offloaded folder was not recorded"
rm -rf "$T/media/OFFLOAD"
sleep 0.5
cp -rp "$T/srcE" "$T/media/OFFLOAD"
check "daemon_cards: another card's file at the same path, size and time is recorded (was: skipped without a word)" \
	within 20 grep -q "recorded $T/media/OFFLOAD/DCIM/DJI_0001.JPG (.*sha256 $shaE" "$T/d.log"

kill -TERM "$dpid"
wait "$dpid"
check "daemon_cards: evcapd stops cleanly" [ $? -eq 0 ]
n=$("$EVCAP" --json ls | jq length)
check "daemon_cards: the 68 readable files are recorded, once each ($n)" [ "$n" -eq 68 ]
