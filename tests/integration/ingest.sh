#!/bin/bash
# Ingest of a card with duplicates, a Chinese file name, a symlink, a FIFO,
# an empty folder and a folder named like a photo: every regular file kept
# byte-for-byte, the card untouched, each skipped path named; verify catches a flipped
# byte in an original and an edited custody row.
. "$(dirname "$0")/../lib/common.sh"

CARD=$T/card
mkdir -p "$CARD/DCIM/100MEDIA" "$CARD/DCIM/DJI_0099.JPG" "$CARD/MISC" "$CARD/DCIM/EMPTY"
{ printf "noise:"; head -c 200000 /dev/urandom; } > "$CARD/DCIM/100MEDIA/DJI_0001.JPG"   # not a JPEG, whatever the bytes
head -c 3000 /dev/urandom > "$CARD/DCIM/100MEDIA/DJI_0002.MP4"
cp "$CARD/DCIM/100MEDIA/DJI_0001.JPG" "$CARD/MISC/copy-of-0001.JPG"   # duplicate bytes
printf 'outfall sample notes\n' > "$CARD/MISC/排污口记录.txt"
printf 'x' > "$CARD/DCIM/DJI_0099.JPG/inside.txt"                  # a folder named like a photo
: > "$CARD/MISC/empty.bin"
ln -s /etc/passwd "$CARD/DCIM/100MEDIA/DJI_0003.JPG"
mkfifo "$CARD/DCIM/100MEDIA/DJI_0004.JPG"

# what the card holds before: content, modes and times of every entry
snapshot() { (cd "$CARD" && find . -printf '%p %y %m %s %T@ %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snapshot > "$T/before"

$EVCAP init >/dev/null
$EVCAP case open '嫩检公益立〔2023〕15号' --title 'flood channel' --use --operator 张三 --operator 李四 >/dev/null
timeout 60 $EVCAP ingest "$CARD" >"$T/out" 2>"$T/err"
rc=$?
check "ingest exits 0" test "$rc" -eq 0
check "summary counts 6 files, 1 already recorded, 2 skipped" \
	grep -q '^6 files, .* 2 problems, 1 already recorded, 2 skipped, case 嫩检公益立〔2023〕15号$' "$T/out"
check "the symlink is named as skipped" grep -q 'DJI_0003.JPG: skipped: a symbolic link' "$T/err"
check "the FIFO is named as skipped" grep -q 'DJI_0004.JPG: skipped: a FIFO' "$T/err"
check "an .MP4 of noise is kept and its problem named" \
	grep -q "DJI_0002.MP4: kept, but its metadata could not be read: not an MP4 or QuickTime file: it does not start with a box" "$T/err"
check "a .JPG that is not a JPEG is kept and its problem named" \
	grep -q 'DJI_0001.JPG: kept, but its metadata could not be read: not a JPEG' "$T/err"

snapshot > "$T/after"
check "the card is untouched (content, modes, times)" cmp -s "$T/before" "$T/after"

$EVCAP ls --json > "$T/ls.json"
check "five distinct items" test "$(jq length "$T/ls.json")" -eq 5
ok_bytes=1
while IFS= read -r f; do
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	path=$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
	if ! cmp -s "$f" "$path"; then echo "# not kept byte-for-byte: $f"; ok_bytes=0; fi
	jq -e --arg s "$sha" 'any(.[]; .sha256 == $s)' "$T/ls.json" >/dev/null || { echo "# no item for $f"; ok_bytes=0; }
done < <(find "$CARD" -type f)
check "every regular file is kept byte-for-byte" test $ok_bytes -eq 1
check "stored originals are read-only" test -z "$(find "$EVCAP_STORE/blobs/sha256" -type f -perm /222)"
check "the Chinese file name is kept" jq -e 'any(.[]; .original_name == "排污口记录.txt")' "$T/ls.json"
check "items carry the case and both operators" \
	jq -e 'all(.[]; .case == "嫩检公益立〔2023〕15号" and .operators == ["张三","李四"])' "$T/ls.json"
check "ls --json has the contract fields" jq -e 'all(.[]; has("id") and has("sha256") and has("size") and has("kind")
	and has("original_name") and has("case") and has("captured_at") and has("camera_time") and has("tz_offset")
	and has("time_source") and has("lat") and has("lon") and has("alt") and has("location_source")
	and has("make") and has("model") and has("ingested_at") and has("metadata_error"))' "$T/ls.json"
check "the bad .JPG carries metadata_error" \
	jq -e 'any(.[]; .original_name == "DJI_0001.JPG" and (.metadata_error | test("not a JPEG")))' "$T/ls.json"
check "kinds: video and document recognised" jq -e 'any(.[]; .kind == "video") and any(.[]; .kind == "document")' "$T/ls.json"
sha1=$(sha256sum "$CARD/DCIM/100MEDIA/DJI_0001.JPG" | cut -d' ' -f1)
check "the duplicate is one item seen in two places" \
	test "$($EVCAP show "${sha1:0:12}" --json | jq '.sightings | length')" -eq 2

# a second ingest of the same card records nothing new
sightings() { sqlite3 "$1/evidence.db" "SELECT count(*) FROM sightings"; }
seen=$(sightings "$EVCAP_STORE")
$EVCAP ingest "$CARD" >"$T/out2" 2>/dev/null
check "re-ingest: all 6 already recorded" grep -q '^6 files, .* 6 already recorded' "$T/out2"
check "re-ingest adds no item" test "$($EVCAP ls --json | jq length)" -eq 5
check "re-ingest of a folder on no card adds no sighting ($seen before)" \
	test "$(sightings "$EVCAP_STORE")" = "$seen"

# a store whose evcap (before schema 47) added those sightings again at
# each re-ingest: the upgrade keeps the first of each, and ingest adds
# no more
cp -a "$EVCAP_STORE" "$T/dup-store"
store_to_schema_46 "$T/dup-store/evidence.db"
first=$(sqlite3 "$T/dup-store/evidence.db" "SELECT group_concat(id) FROM (SELECT id FROM sightings ORDER BY id)")
had=$(sightings "$T/dup-store")
sqlite3 "$T/dup-store/evidence.db" "INSERT INTO sightings(item_id, path, medium_uuid, medium_label, seen_at)
	SELECT item_id, path, medium_uuid, medium_label, '2099-01-01T00:00:00Z' FROM sightings;
	INSERT INTO sightings(item_id, path, medium_uuid, medium_label, seen_at)
	SELECT item_id, path, medium_uuid, medium_label, '2099-01-02T00:00:00Z' FROM sightings"
check "the old store holds each sighting four times" \
	test "$(sightings "$T/dup-store")" = $((had * 4))
$EVCAP --store "$T/dup-store" ls >/dev/null 2>&1
check "the upgrade keeps the first of each sighting and drops the copies" \
	test "$(sqlite3 "$T/dup-store/evidence.db" "SELECT group_concat(id) FROM (SELECT id FROM sightings ORDER BY id)")" = "$first"
$EVCAP --store "$T/dup-store" ingest "$CARD" >/dev/null 2>&1
check "and a re-ingest into the upgraded store adds no sighting" \
	test "$(sightings "$T/dup-store")" = "$seen"
check "the upgraded store verifies" $EVCAP --store "$T/dup-store" verify -q

check "verify passes on an intact store" $EVCAP verify -q
$EVCAP note "${sha1:0:12}" '上游100米处排污口' >/dev/null
check "a note is kept and logged" sh -c "$EVCAP log | grep -q ' note '"

# unknown case and a bad offset are clear usage errors
$EVCAP ingest --case 'no-such-case' "$CARD" 2>"$T/e1"; rc=$?
check "unknown case: exit 2 naming it" sh -c "test $rc -eq 2 && grep -q \"no case 'no-such-case'\" '$T/e1'"
$EVCAP ingest --time-offset 0800 "$CARD" 2>"$T/e2"; rc=$?
check "bad --time-offset: exit 2" sh -c "test $rc -eq 2 && grep -q 'time-offset' '$T/e2'"

# flip one byte of a stored original
blob=$EVCAP_STORE/blobs/sha256/${sha1:0:2}/${sha1:2:2}/$sha1
chmod u+w "$blob"
flip_byte "$blob" 1000
$EVCAP verify >"$T/v1" 2>&1; rc=$?
check "verify exits 1 after a flipped byte" test $rc -eq 1
check "verify names the altered item" grep -q "DJI_0001.JPG, ${sha1:0:12}): the original has been altered" "$T/v1"
# put it back, then edit a custody row (dropping the append-only trigger first, as a tamperer would)
cp "$CARD/DCIM/100MEDIA/DJI_0001.JPG" "$blob"
check "verify passes again once restored" $EVCAP verify -q
sqlite3 "$EVCAP_STORE/evidence.db" "DROP TRIGGER custody_no_update;
	UPDATE custody SET event = replace(event, 'flood channel', 'flood channe1') WHERE seq = 2;"
$EVCAP verify >"$T/v2" 2>&1; rc=$?
check "verify exits 1 after a custody row is edited" test $rc -eq 1
check "verify names the altered custody event" grep -q 'custody event 2 has been altered' "$T/v2"
sqlite3 "$EVCAP_STORE/evidence.db" "UPDATE custody SET event = replace(event, 'flood channe1', 'flood channel') WHERE seq = 2;
	UPDATE custody SET actor = 'someone-else' WHERE seq = 3;"
$EVCAP verify >"$T/v3" 2>&1; rc=$?
check "verify catches a column that disagrees with the hashed event" \
	sh -c "test $rc -eq 1 && grep -q 'custody event 3 has been altered: its columns disagree' '$T/v3'"

# a damaged page of the database (a disk fault) in the middle of the
# items: verify cannot read the items past it, and says so. Before, the
# read error ended its walk as the end of the table would, and it called
# the items it had read "intact" (exit 0), its custody event 0 problems.
D=$T/store-db
mkdir -p "$T/card6"
for i in $(seq 50); do printf 'small file %d\n' "$i" >"$T/card6/f$i.txt"; done
{ $EVCAP --store "$D" -q init && $EVCAP --store "$D" -q case open db --use &&
	$EVCAP --store "$D" -q ingest "$T/card6"; } >"$T/db.out" 2>&1
check "a store of 50 items for the database's damage" 	test "$($EVCAP --store "$D" --json ls | jq length)" = 50
# an item's rows deleted behind evcap's back (the custody log cannot be
# edited, the items can): its ingest event has no item. Before, verify
# walked the items left and passed, its original "belonging to no item".
cp -a "$D" "$T/store-del"
del_sha=$(sha256sum "$T/card6/f1.txt" | cut -d' ' -f1)
del_seq=$(sqlite3 "$T/store-del/evidence.db" "SELECT seq FROM custody WHERE action = 'ingest'
	AND item_sha256 = '$del_sha'")
sqlite3 "$T/store-del/evidence.db" "DELETE FROM sightings WHERE item_id IN
	(SELECT id FROM items WHERE sha256 = '$del_sha'); DELETE FROM items WHERE sha256 = '$del_sha'"
$EVCAP --store "$T/store-del" verify >"$T/v-del" 2>&1; rc=$?
check "verify exits 1 when an ingested item's rows are gone" test $rc -eq 1
check "naming the ingest event and the original's SHA-256" grep -qx \
	"DAMAGED: custody event $del_seq records the ingest of .*f1.txt ($del_sha) but the store has no such item; its original is still in the store" \
	"$T/v-del"
check "its original is not counted as left by a stopped pull or ingest" \
	test "$($EVCAP --store "$T/store-del" --json verify | jq .orphan_blobs)" = 0
leaves=$(sqlite3 "$D/evidence.db" "SELECT pageno FROM dbstat WHERE name = 'items' AND
	pagetype = 'leaf' ORDER BY pageno")
psize=$(sqlite3 "$D/evidence.db" "PRAGMA page_size")
nleaves=$(wc -w <<<"$leaves")
check "the items fill more than one page ($nleaves)" test "$nleaves" -ge 2
leaf=$(sed -n "$(((nleaves + 1) / 2))p" <<<"$leaves")
printf '\xff\xff\xff\xff' |
	dd of="$D/evidence.db" bs=1 seek=$(((leaf - 1) * psize)) conv=notrunc status=none
$EVCAP --store "$D" verify >"$T/v4" 2>&1; rc=$?
check "verify exits 1 on a damaged page of the items" test $rc -eq 1
check "naming the database and SQLite's words" \
	grep -q "^DAMAGED: $D/evidence.db: the items could not all be read (.*): database disk image is malformed" "$T/v4"
check "and its custody event counts the problem" \
	jq -e '[.[].event | select(.action == "verify")] | last | .detail.problems >= 1' \
	<($EVCAP --store "$D" --json log)

# a crash inside the metadata parser is contained: the file is still kept
mkdir -p "$T/card2"
printf '\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xd9' > "$T/card2/crash.jpg"
EVCAP_META_CRASH_TEST=1 $EVCAP ingest "$T/card2" >"$T/out3" 2>"$T/err3"; rc=$?
check "a parser crash does not stop the ingest" test $rc -eq 0
check "the file whose parser crashed is kept, its problem named" \
	grep -q 'crash.jpg: kept, but its metadata could not be read: the metadata parser failed' "$T/err3"
sha=$(sha256sum "$T/card2/crash.jpg" | cut -d' ' -f1)
check "the crashed file's bytes are stored" cmp -s "$T/card2/crash.jpg" "$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha"

# a parser that never returns is cut off at its time limit; the file is kept
mkdir -p "$T/card3"
printf '\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\xff\xd9' > "$T/card3/hang.jpg"
# more files than workers, each parse hanging at once: every one is cut off
# on its own and kept, none is lost with another's
for i in 1 2 3 4 5; do
	{ cat "$T/card3/hang.jpg"; printf 'distinct %d' "$i"; } > "$T/card3/hang$i.jpg"
done
EVCAP_META_HANG_TEST=1 EVCAP_META_TIMEOUT=2 timeout 60 $EVCAP ingest "$T/card3" >"$T/out4" 2>"$T/err4"; rc=$?
check "a hung parser does not hang the ingest" test $rc -eq 0
check "the file whose parser hung is kept, its problem named" \
	grep -q 'hang.jpg: kept, but its metadata could not be read: the metadata parser did not finish on this file within its time limit' "$T/err4"
check "six hung parses at once: all six files kept, each named" \
	test "$(grep -c 'hang[0-9]*.jpg: kept, but its metadata could not be read: the metadata parser did not finish on this file within its time limit' "$T/err4")" -eq 6
# a time limit that is not a whole number of seconds from 1 to 600 is
# named once and not used (1e99 once gave 1 s, read up to the 'e')
rm -rf "$T/card3b" && mkdir -p "$T/card3b"
for i in 1 2 3; do { cat "$T/card3/hang.jpg"; printf 'b%d' "$i"; } >"$T/card3b/b$i.jpg"; done
EVCAP_META_TIMEOUT=1e99 timeout 60 $EVCAP ingest "$T/card3b" >"$T/out4b" 2>"$T/err4b"; rc=$?
check "a bad EVCAP_META_TIMEOUT is named once, with the 5 s used instead" \
	test "$(grep -c "EVCAP_META_TIMEOUT is '1e99', not a whole number of seconds from 1 to 600; metadata parses are given 5 s" "$T/err4b")" -eq 1
check "... and the ingest goes on (exit 0, 3 files)" \
	bash -c "[ $rc = 0 ] && grep -q '^3 files' '$T/out4b'"

# Direct I/O and the page cache give the same store: files of sizes that
# are and are not whole blocks and copy buffers (2 MiB), read and written
# with O_DIRECT, and again with it refused (EVCAP_NO_DIRECT, as on a
# filesystem without direct I/O)
mkdir -p "$T/card5"
head -c $((2 << 20)) /dev/urandom > "$T/card5/exact-2MiB.bin"
head -c $((4 << 20)) /dev/urandom > "$T/card5/exact-4MiB.bin"
head -c $(((2 << 20) + 1)) /dev/urandom > "$T/card5/2MiB-plus-1.bin"
head -c 5000001 /dev/urandom > "$T/card5/odd.bin"
head -c 4095 /dev/urandom > "$T/card5/under-a-block.bin"
for mode in direct buffered; do
	st=$T/store-$mode
	$EVCAP --store "$st" init >/dev/null && $EVCAP --store "$st" case open io --use >/dev/null
	if [ $mode = buffered ]; then
		EVCAP_NO_DIRECT=1 $EVCAP --store "$st" -q ingest "$T/card5" >/dev/null 2>"$T/err-$mode"
	else
		$EVCAP --store "$st" -q ingest "$T/card5" >/dev/null 2>"$T/err-$mode"
	fi
	check "$mode: ingest exits 0" test $? -eq 0
	check "$mode: verify passes" $EVCAP --store "$st" verify -q
	same=1
	for f in "$T"/card5/*; do
		sha=$(sha256sum "$f" | cut -d' ' -f1)
		cmp -s "$f" "$st/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha" || { echo "# $mode: $f"; same=0; }
	done
	check "$mode: every file stored byte for byte" test $same -eq 1
done

# a camera's make and model in UTF-8 (a Chinese maker's name) are kept as
# written; a byte that is not UTF-8, or a control character, reads as '?'
if need exiftool; then
	. "$(dirname "$0")/../lib/base-jpeg.sh"
	mkdir -p "$T/card6"
	make_base_jpeg "$T/card6/cam.jpg"
	exiftool -q -overwrite_original -Make='大疆创新' -Model="$(printf 'FC\xff\x01 影石')" \
		-SerialNumber='０Ｋ８' "$T/card6/cam.jpg"
	st=$T/store6
	$EVCAP --store "$st" init >/dev/null && $EVCAP --store "$st" case open cam --use >/dev/null
	$EVCAP --store "$st" -q ingest "$T/card6" >/dev/null 2>&1
	check "a UTF-8 make is kept, and a model's stray bytes read as '?'" test \
		"$($EVCAP --store "$st" --json ls | jq -r '.[0] | "\(.make)|\(.model)|\(.serial)"')" = \
		'大疆创新|FC?? 影石|０Ｋ８'
fi
