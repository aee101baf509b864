#!/bin/bash
# An original damaged in the store (bit rot, a disk fault, someone's
# editor) is found by verify, and put back by ingesting the same file
# again: the file's bytes match the SHA-256 recorded at ingest, so they
# take the damaged copy's place; the damaged copy is kept aside under
# blobs/damaged/, and a restore event in the custody log says what it was.
# Before, a second ingest said "already recorded" and left the damage.
. "$(dirname "$0")/../lib/common.sh"
need jq || { skip "restore: jq is not installed"; exit 0; }
. "$(dirname "$0")/../lib/base-jpeg.sh"

export EVCAP_STORE=$T/store
mkdir -p "$T/card"
make_base_jpeg "$T/card/DJI_0001.JPG"
printf 'second file of the card\n' >"$T/card/notes.txt"
{ $EVCAP -q init && $EVCAP -q case open 15 --use && $EVCAP -q ingest "$T/card"; } \
	>"$T/setup.out" 2>&1 || { bad "restore: setup: $(tail -3 "$T/setup.out")"; exit 0; }
sha=$(sha256sum "$T/card/DJI_0001.JPG" | cut -d' ' -f1)
blob=$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
check "the photo is stored" test -f "$blob"

# one byte of the stored copy changed, its size kept
chmod u+w "$blob"
printf 'X' | dd of="$blob" bs=1 seek=300 conv=notrunc status=none
chmod 0444 "$blob"
bad_sha=$(sha256sum "$blob" | cut -d' ' -f1)
$EVCAP verify >"$T/v1.out" 2>&1
rc=$?
check "verify finds the damage (exit 1)" test $rc = 1
check "verify names the altered original" grep -q "DAMAGED: item 1 (DJI_0001.JPG.*altered" "$T/v1.out"
check "and says how to put it back" grep -q "an original is put back by ingesting it again" \
	"$T/v1.out"

# the card is ingested again
$EVCAP ingest "$T/card" >"$T/i2.out" 2>"$T/i2.err"
rc=$?
check "the second ingest succeeds (exit 0)" test $rc = 0
check "it names the file and the restore" grep -q \
	"DJI_0001.JPG: the store's copy of item 1 was damaged (its bytes differ); this file has the bytes recorded at ingest and took its place" \
	"$T/i2.err"
check "the summary counts it" grep -q \
	"2 already recorded (1 restoring a damaged original), 0 skipped, case 15" "$T/i2.out"
check "the stored original is the card's bytes again" cmp -s "$blob" "$T/card/DJI_0001.JPG"
check "read-only, as every original" test "$(stat -c %a "$blob")" = 444
kept=$(ls "$EVCAP_STORE/blobs/damaged/")
check "the damaged copy is kept aside, named by the digest and when" \
	grep -qE "^$sha-[0-9]{8}T[0-9]{6}Z$" <<<"$kept"
check "with its damaged bytes" test "$(sha256sum "$EVCAP_STORE/blobs/damaged/$kept" | cut -d' ' -f1)" = "$bad_sha"
$EVCAP --json log >"$T/log.json"
check "a restore event in the custody log, in the item's case, with what was found" \
	jq -e --arg s "$sha" --arg b "$bad_sha" '[.[].event | select(.action == "restore")] |
		length == 1 and (.[0] | .item == $s and .case == "15" and .detail.item == 1 and
		 .detail.damaged.sha256 == $b and .detail.damaged.why == "its bytes differ" and
		 (.detail.kept_as | startswith("blobs/damaged/")))' "$T/log.json"
check "verify passes again" $EVCAP -q verify
check "the copy kept aside is no original of the store (no orphan note)" \
	test "$($EVCAP --json verify | jq .orphan_blobs)" = 0
# the kept copy is part of the record: changed or gone, verify says so
# (on a copy of the store, which the rest of this test goes on using)
cp -a "$EVCAP_STORE" "$T/kept-store"
K=$T/kept-store/blobs/damaged/$kept
chmod u+w "$K" && flip_byte "$K" 0
$EVCAP --store "$T/kept-store" verify >"$T/k1.out" 2>&1; rc=$?
check "a kept damaged copy changed since: verify names it (exit 1)" \
	bash -c "[ $rc = 1 ] && grep -q 'kept blobs/damaged/$kept, which has changed since: its SHA-256 is now' '$T/k1.out'"
rm -f "$K"
$EVCAP --store "$T/kept-store" verify >"$T/k2.out" 2>&1; rc=$?
check "a kept damaged copy deleted: verify names it (exit 1)" \
	bash -c "[ $rc = 1 ] && grep -q 'kept the damaged copy blobs/damaged/$kept, which is gone' '$T/k2.out'"

# an original cut short, ingested again from the same card
chmod u+w "$blob"
truncate -s 100 "$blob"
$EVCAP --json ingest "$T/card" >"$T/i3.json" 2>"$T/i3.err"
check "a truncated original is put back too, its size named" grep -q \
	"damaged (its size differs (100 bytes, not $(stat -c %s "$T/card/DJI_0001.JPG")))" "$T/i3.err"
check "--json counts the restore" jq -e '.restored == 1 and .already_recorded == 2' "$T/i3.json"
check "two damaged copies kept, each under its own name" \
	test "$(ls "$EVCAP_STORE/blobs/damaged" | wc -l)" = 2
check "verify passes after it" $EVCAP -q verify
# a third ingest finds the original whole: nothing restored, nothing said
$EVCAP ingest "$T/card" >"$T/i4.out" 2>"$T/i4.err"
check "an intact original is left as it is" \
	test -z "$(cat "$T/i4.err")" -a "$(ls "$EVCAP_STORE/blobs/damaged" | wc -l)" = 2
check "and the summary has no restore" grep -q "2 already recorded, 0 skipped" "$T/i4.out"

# an original deleted from the store is put back the same way, and said
nsha=$(sha256sum "$T/card/notes.txt" | cut -d' ' -f1)
rm -f "$EVCAP_STORE/blobs/sha256/${nsha:0:2}/${nsha:2:2}/$nsha"
$EVCAP verify >"$T/v5.out" 2>&1
check "verify finds it missing" grep -q "DAMAGED: item 2 (notes.txt.*missing from the store" \
	"$T/v5.out"
$EVCAP ingest "$T/card" >"$T/i5.out" 2>"$T/i5.err"
check "a missing original is put back, and said" grep -q \
	"notes.txt: the store had no copy of item 2; this file has the bytes recorded at ingest and is now its original" \
	"$T/i5.err"
check "with a restore event saying the store had none" \
	jq -e --arg s "$nsha" '[.[].event | select(.action == "restore" and .item == $s)] |
		length == 1 and .[0].detail.damaged.why == "the store had no copy" and
		.[0].detail.kept_as == null' <($EVCAP --json log)
check "verify passes at the end" $EVCAP -q verify

# a restore whose event could not be committed (another writer held the
# store past the wait): the good copy is placed and the damaged one kept,
# and the event is recorded late, once, by the next command that opens
# the store for writing. Before, no event was ever recorded: the next
# ingest found the original whole and said nothing.
chmod u+w "$blob"
printf 'Y' | dd of="$blob" bs=1 seek=400 conv=notrunc status=none
chmod 0444 "$blob"
bad2_sha=$(sha256sum "$blob" | cut -d' ' -f1)
ls "$EVCAP_STORE/blobs/damaged" >"$T/kept.before"
hold_store || { bad "restore: the other writer could not take the store: $(cat "$T/hold.out")"; exit 0; }
EVCAP_STORE_BUSY_MS=300 $EVCAP ingest "$T/card" >"$T/i6.out" 2>"$T/i6.err" 7>&-
rc=$?
check "an ingest whose records cannot be written fails (exit 1)" test $rc = 1
check "the damaged original was put back all the same" cmp -s "$blob" "$T/card/DJI_0001.JPG"
late=$(ls "$EVCAP_STORE/blobs/damaged" | grep -vxF -f "$T/kept.before")
check "and its damaged copy kept" test "$(wc -w <<<"$late")" = 1
EVCAP_STORE_BUSY_MS=300 $EVCAP verify >"$T/v6.out" 2>&1 7>&-
rc=$?
check "verify on the still busy store fails (exit 1)" test $rc = 1
check "naming the restore not in the custody log" grep -q \
	"^UNRECORDED: blobs/damaged/$late: the original ${sha:0:12} was put back and this damaged copy kept, but no restore event" \
	"$T/v6.out"
release_store
restores() { $EVCAP --json log 2>/dev/null | jq --arg k "blobs/damaged/$late" \
	'[.[].event | select(.action == "restore" and .detail.kept_as == $k)]'; }
$EVCAP verify >"$T/v7.out" 2>"$T/v7.err"
rc=$?
check "once the store is free, verify passes (exit 0)" test $rc = 0
check "having recorded the restore, and said so" grep -q \
	"blobs/damaged/$late: item 1's original was put back and this damaged copy kept, but no restore event said so.*; the event is recorded now" \
	"$T/v7.err"
check "one restore event names the kept copy, recorded late, with what it holds" \
	jq -e --arg s "$sha" --arg b "$bad2_sha" 'length == 1 and (.[0] | .item == $s and
		.case == "15" and .detail.item == 1 and .detail.damaged.sha256 == $b and
		.detail.damaged.why == "its bytes differ" and
		(.detail.recorded_late | test("not committed")))' <(restores)
$EVCAP ingest "$T/card" >"$T/i7.out" 2>"$T/i7.err"
check "an ingest after it records nothing more" \
	test -z "$(cat "$T/i7.err")" -a "$(restores | jq length)" = 1
check "verify passes, the custody chain whole" $EVCAP -q verify

# the same file twice on one card (a copy in another folder), new to the
# store: one item, and nothing to restore (both copies may be read at
# once, and the second find its bytes not yet placed by the first)
mkdir -p "$T/dup"
for i in 1 2 3 4 5 6 7 8; do
	mkdir -p "$T/dup/d$i"
	cp "$T/card/DJI_0001.JPG" "$T/dup/d$i/DJI_0001.JPG"
done
said=
for r in 1 2 3 4 5; do
	$EVCAP --store "$T/dup-store-$r" -q init 2>/dev/null
	$EVCAP --store "$T/dup-store-$r" ingest "$T/dup" >"$T/dup.out" 2>"$T/dup.err"
	n=$($EVCAP --store "$T/dup-store-$r" --json log | jq '[.[].event | select(.action == "restore")] | length')
	grep -q '^8 files, .* 7 already recorded, 0 skipped' "$T/dup.out" && [ "$n" = 0 ] &&
		! grep -q restor "$T/dup.err" || said="$said round $r: $(cat "$T/dup.out" "$T/dup.err") ($n restore events);"
done
check "copies of one new file on one card: one item, nothing restored${said:+:$said}" test -z "$said"

# copies of one damaged original on one card, read by several workers at
# once: the damaged copy is kept once, and one restore event names it
# (each worker kept it, and the second copy was in no event)
D=$T/dup-store-1
dblob=$D/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
twice=
for r in 1 2; do
	chmod u+w "$dblob"
	truncate -s $((1000 + r)) "$dblob"
	$EVCAP --store "$D" ingest "$T/dup" >"$T/dupr.out" 2>"$T/dupr.err"
	kept=$(ls "$D/blobs/damaged" 2>/dev/null | wc -l)
	n=$($EVCAP --store "$D" --json log | jq '[.[].event | select(.action == "restore")] | length')
	[ "$kept" = "$r" ] && [ "$n" = "$r" ] || twice="$twice round $r: $kept kept, $n events;"
done
check "a damaged original met by several workers at once is kept once${twice:+:$twice}" \
	test -z "$twice"
check "and its store verifies" $EVCAP --store "$D" -q verify

# something other than a file in an original's place is refused, named
# and left as it is: not "restored" with an empty record. Before, the
# error came back with its sign turned and read as a damaged copy.
S=$T/store-odd
mkdir -p "$T/odd"
printf 'an original of the odd store\n' >"$T/odd/a.txt"
printf 'not the original\n' >"$T/elsewhere.txt"
{ $EVCAP --store "$S" -q init && $EVCAP --store "$S" -q case open 16 --use &&
	$EVCAP --store "$S" -q ingest "$T/odd"; } >"$T/odd.out" 2>&1 ||
	{ bad "restore: odd store setup: $(tail -3 "$T/odd.out")"; exit 0; }
osha=$(sha256sum "$T/odd/a.txt" | cut -d' ' -f1)
oblob=$S/blobs/sha256/${osha:0:2}/${osha:2:2}/$osha
rm -f "$oblob"
ln -s "$T/elsewhere.txt" "$oblob"
$EVCAP --store "$S" ingest "$T/odd" >"$T/o1.out" 2>"$T/o1.err"
rc=$?
check "a symbolic link in an original's place: the ingest fails (exit 1)" test $rc = 1
check "naming the link and what to do" grep -q \
	"a.txt: $oblob: not a regular file in an original's place; move it away and run again" \
	"$T/o1.err"
check "the link is left as it is, nothing kept aside" \
	test -L "$oblob" -a ! -e "$S/blobs/damaged"
check "and no restore event is recorded" test "$($EVCAP --store "$S" --json log |
	jq '[.[].event | select(.action == "restore")] | length')" = 0
# a new file whose fan-out folder is a file
printf 'a second original\n' >"$T/odd/b.txt"
bsha=$(sha256sum "$T/odd/b.txt" | cut -d' ' -f1)
mkdir -p "$S/blobs/sha256/${bsha:0:2}"
rm -rf "$S/blobs/sha256/${bsha:0:2}/${bsha:2:2}"
printf 'x' >"$S/blobs/sha256/${bsha:0:2}/${bsha:2:2}"
$EVCAP --store "$S" ingest "$T/odd/b.txt" >"$T/o2.out" 2>"$T/o2.err"
rc=$?
check "a fan-out folder that is a file: the ingest fails (exit 1), saying so" sh -c \
	"test $rc = 1 && grep -q 'b.txt: .*/$bsha: a folder on its path is not a folder; move it away' '$T/o2.err'"
# blobs/damaged/ that is a file: the kept copies cannot be checked (the
# original put back by hand first, so that nothing else is wrong)
rm -f "$oblob" "$S/blobs/sha256/${bsha:0:2}/${bsha:2:2}"
cp "$T/odd/a.txt" "$oblob"
check "the odd store verifies once its original is back" $EVCAP --store "$S" -q verify
printf 'x' >"$S/blobs/damaged"
$EVCAP --store "$S" verify >"$T/o3.out" 2>&1
rc=$?
check "verify with blobs/damaged/ not a folder fails (exit 1)" test $rc = 1
check "saying the kept copies were not checked" grep -q \
	"^DAMAGED: the copies kept under blobs/damaged/ were not checked against the custody log: .*blobs/damaged: cannot list: Not a directory" \
	"$T/o3.out"
