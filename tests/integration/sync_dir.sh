#!/bin/bash
# sync_dir: field store -> dir: target -> office store, end to end. The
# office ends with the same set of SHA-256 and `evcap verify` passes; stock
# minisign accepts every manifest; a second sync writes nothing; pulling
# twice imports nothing twice; and a flipped byte in a blob, a forged
# manifest, and a re-signed manifest naming ../ paths are each refused
# whole, with a reason, and nothing of them imported.
. "$(dirname "$0")/../lib/common.sh"

CASE='XX检公益立〔2023〕15号'
F="$EVCAP --store $T/field"
O="$EVCAP --store $T/office"
TGT=$T/usb
mkdir -p "$T/card/DCIM/100MEDIA" "$TGT"
for i in 1 2 3; do head -c $((20000 * i)) /dev/urandom > "$T/card/DCIM/100MEDIA/DJI_000$i.JPG"; done
head -c 300000 /dev/urandom > "$T/card/DCIM/100MEDIA/DJI_0004.MP4"

$F init >/dev/null && $F case open "$CASE" --title "river outfall" --use >/dev/null &&
	$F ingest "$T/card" >/dev/null 2>&1
check "field store has 4 items" test "$($F --json ls | jq length)" = 4

out=$($F sync --target "dir:$TGT" 2>&1)
check "first sync commits a bundle" grep -q "1 bundle committed: 4 items" <<<"$out"
check "COMMITTED marker present" test -n "$(find "$TGT/cases" -name COMMITTED)"
check "blobs are in the layout" test "$(find "$TGT/blobs/sha256" -type f | wc -l)" = 4

# second sync: nothing new, nothing written
before=$(find "$TGT" | sort | sha256sum)
out=$($F sync --target "dir:$TGT" 2>&1)
after=$(find "$TGT" | sort | sha256sum)
check "second sync says nothing new" grep -q "nothing new" <<<"$out"
check "second sync writes nothing" test "$before" = "$after"

# stock minisign accepts every manifest with the device's public key
$F key show > "$T/device.pub"
ok_all=1
for m in $(find "$TGT/cases" -name manifest.json); do
	minisign -q -Vm "$m" -p "$T/device.pub" || ok_all=0
done
if need minisign; then check "minisign -V accepts every manifest" test $ok_all = 1
else skip "minisign -V: minisign is not installed"; fi

# damaged copies of the target, made before the office pulls anything
cp -a "$TGT" "$T/flip"; cp -a "$TGT" "$T/forge"; cp -a "$TGT" "$T/dots"
cp -a "$TGT" "$T/absurd"; cp -a "$TGT" "$T/kindpath"; cp -a "$TGT" "$T/moved"
bdir=$(dirname "$(find "$T/moved/cases" -name manifest.json)")
moved_id=$(basename "$bdir" | sed 's/.$/0/')
[ "$moved_id" = "$(basename "$bdir")" ] && moved_id=$(basename "$bdir" | sed 's/.$/1/')
mv "$bdir" "$(dirname "$bdir")/$moved_id"
blob=$(find "$T/flip/blobs" -type f | head -1)
chmod u+w "$blob"
flip_byte "$blob" 100
man=$(find "$T/forge/cases" -name manifest.json)
chmod u+w "$man"; sed -i 's/river outfall/a different title/' "$man"
man=$(find "$T/dots/cases" -name manifest.json)
chmod u+w "$man"
sed -i '0,/"blob": "blobs\/sha256\//s//"blob": "blobs\/sha256\/..\/..\/..\/..\/etc\//' "$man"
$F key sign "$man" 2>/dev/null   # re-signed: only the path check can catch it
# values no evcap writes, signed by the trusted key itself
resign() { # resign DIR JQ-EXPRESSION
	local m
	m=$(find "$1/cases" -name manifest.json)
	chmod u+w "$m" "$m.minisig"
	jq "$2" "$m" >"$m.new" && mv "$m.new" "$m"
	$F key sign "$m" 2>/dev/null
}
resign "$T/absurd" '.items[0].lat = 999 | .items[0].lon = 125'
resign "$T/kindpath" '.items[0].kind = "../../x"'

$O init >/dev/null
$O key trust "$T/device.pub" >/dev/null
refused() { # refused NAME DIR PATTERN
	local out rc
	out=$($O pull --target "dir:$2" --case "$CASE" 2>&1); rc=$?
	if [ $rc = 1 ] && grep -q "refused" <<<"$out" && grep -qi -- "$3" <<<"$out" &&
		[ "$($O --json ls | jq length)" = 0 ]; then
		ok "$1"
	else
		bad "$1: rc=$rc, $($O --json ls | jq length) items imported: $out"
	fi
}
refused "pull refuses a blob with a flipped byte" "$T/flip" "does not match its SHA-256"
refused "pull refuses a forged manifest" "$T/forge" "signature"
refused "pull refuses a manifest with ../ paths" "$T/dots" "not the layout's key"
refused "pull refuses a signed manifest whose item lies at latitude 999" "$T/absurd" \
	"lat and lon are not a position"
refused "pull refuses a signed manifest whose item's kind is a path" "$T/kindpath" \
	"kind \"../../x\" is not one evcap records"
refused "pull refuses a bundle moved under another id, naming both" "$T/moved" \
	"manifest names bundle .* but was found in bundle $moved_id"

# the good target: everything arrives
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "pull imports the bundle" test $rc = 0
sha_f=$($F --json ls | jq -r '.[].sha256' | sort)
sha_o=$($O --json ls | jq -r '.[].sha256' | sort)
check "office has the same set of SHA-256" test "$sha_f" = "$sha_o"
check "office verify passes" $O verify
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "pulling twice imports nothing twice" test "$($O --json ls | jq length)" = 4
check "second pull reports the bundle as imported before" grep -q "0 bundles imported" <<<"$out"
check "office custody log records the pull" test "$(sqlite3 "$T/office/evidence.db" \
	"SELECT count(*) FROM custody WHERE action = 'pull'")" = 1
# a case the target has nothing of (a number written differently): said, not a crash
out=$($O pull --target "dir:$TGT" --case "${CASE}X" 2>&1); rc=$?
check "pull of a case with no bundles exits 1 and says the target holds none" \
	bash -c '[ "$1" = 1 ] && grep -q "the target holds no bundle of case .*X (nothing synced yet" <<<"$2"' _ "$rc" "$out"
check "foreign custody events imported" test "$(sqlite3 "$T/office/evidence.db" \
	"SELECT count(*) FROM foreign_custody")" -gt 0

# a new item goes in a new bundle holding only it
head -c 7777 /dev/urandom > "$T/card/DCIM/100MEDIA/DJI_0005.JPG"
$F ingest "$T/card" >/dev/null 2>&1
out=$($F sync --target "dir:$TGT" 2>&1)
check "incremental sync sends one item" grep -q "committed: 1 item (" <<<"$out"
$O pull --target "dir:$TGT" --case "$CASE" >/dev/null 2>&1
check "office pulls the new item" test "$($O --json ls | jq length)" = 5

# a note added after the item was sent goes in the next bundle, with the
# item but not its blob; the office adds it to the item it has, and a
# later note carries the earlier one again without doubling it
ITEM=$($F --json ls | jq -r 'sort_by(.sha256) | .[0].sha256')
office_notes() {
	sqlite3 "$T/office/evidence.db" "SELECT n.text FROM notes n JOIN items i ON i.id = n.item_id
		WHERE i.sha256 = '$ITEM' ORDER BY n.id" | tr '\n' '|'
}
$F note "$ITEM" "复查：违建已拆除" >/dev/null
out=$($F sync --target "dir:$TGT" 2>&1)
check "a later note sends its item again, not its blob" \
	grep -q "committed: 1 item (0 blobs sent, 0 bytes; 1 already" <<<"$out"
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "the office adds the note to the item it has" test "$(office_notes)" = "复查：违建已拆除|"
check "pull says it imported the note" grep -q "0 items (1 already here), 1 note," <<<"$out"
$F note "$ITEM" "second look" >/dev/null
$F sync --target "dir:$TGT" >/dev/null 2>&1
$O pull --target "dir:$TGT" --case "$CASE" >/dev/null 2>&1
check "a second note arrives; the first is not doubled" \
	test "$(office_notes)" = "复查：违建已拆除|second look|"
out=$($F sync --target "dir:$TGT" 2>&1)
check "notes once sent are not sent again" grep -q "nothing new" <<<"$out"
check "office verify passes after the notes" $O verify
out=$($O verify 2>&1)
check "office verify re-walks the field device's custody events too" \
	grep -q "custody events of 1 other device, from pulled bundles: [1-9][0-9]*, intact" <<<"$out"
# the field device's events, altered in a copy of the office store
cp -a "$T/office" "$T/office-t"
sqlite3 "$T/office-t/evidence.db" "UPDATE foreign_custody SET event = replace(event, 'river outfall', 'a quiet river')
	WHERE event LIKE '%river outfall%'"
out=$($EVCAP --store "$T/office-t" verify 2>&1); rc=$?
check "office verify finds a field custody event altered" \
	test $rc = 1 -a -n "$(grep "DAMAGED: custody event [0-9]* of device .* has been altered" <<<"$out")"
cp -a "$T/office" "$T/office-u"
sqlite3 "$T/office-u/evidence.db" "UPDATE foreign_custody SET hash = '$(printf '0%.0s' $(seq 64))'
	WHERE seq = (SELECT min(seq) FROM foreign_custody)"
out=$($EVCAP --store "$T/office-u" verify 2>&1); rc=$?
check "office verify finds a field event's hash replaced" \
	test $rc = 1 -a -n "$(grep "DAMAGED: custody event" <<<"$out")"
# rows deleted or changed behind evcap's back: a pulled item whose bytes
# and SHA-256 were changed together, the field device's newest events, and
# the end of the field store's own log
cp -a "$T/office" "$T/office-v"
other=$(printf 'not the photo that came' | sha256sum | cut -c1-64)
sqlite3 "$T/office-v/evidence.db" "UPDATE items SET sha256 = '$other', size = 23
	WHERE id = (SELECT max(id) FROM items)"
mkdir -p "$T/office-v/blobs/sha256/${other:0:2}/${other:2:2}"
printf 'not the photo that came' >"$T/office-v/blobs/sha256/${other:0:2}/${other:2:2}/$other"
out=$($EVCAP --store "$T/office-v" verify 2>&1); rc=$?
check "office verify finds a pulled item no bundle brought (was: all intact)" \
	test $rc = 1 -a -n "$(grep "DAMAGED: item [0-9]* (.*, ${other:0:12}) is recorded as pulled, but no custody event" <<<"$out")"
cp -a "$T/office" "$T/office-x"
gone=$(sqlite3 "$T/office-x/evidence.db" "SELECT sha256 FROM items WHERE id = (SELECT min(id) FROM items)")
sqlite3 "$T/office-x/evidence.db" "DELETE FROM notes WHERE item_id = (SELECT min(id) FROM items);
	DELETE FROM items WHERE id = (SELECT min(id) FROM items)"
rm -f "$T/office-x/blobs/sha256/${gone:0:2}/${gone:2:2}/$gone"
out=$($EVCAP --store "$T/office-x" verify 2>&1); rc=$?
check "office verify finds a pulled item deleted with its original (was: all intact)" \
	test $rc = 1 -a -n "$(grep -E "DAMAGED: custody event [0-9]+ records that bundle .* added [0-9]+ items?; the store holds [0-9]+ of them" <<<"$out")"
cp -a "$T/office" "$T/office-w"
sqlite3 "$T/office-w/evidence.db" "DELETE FROM foreign_custody WHERE seq > (SELECT max(seq) - 2 FROM foreign_custody)"
out=$($EVCAP --store "$T/office-w" verify 2>&1); rc=$?
check "office verify finds the field device's newest events deleted (was: all intact)" \
	test $rc = 1 -a -n "$(grep -E "DAMAGED: custody event [0-9]+ records that bundle .* brought [0-9]+ custody events of device [0-9a-f]+; the store holds [0-9]+ of them" <<<"$out")"
# a note's text changed in the field's database, and a pulled note
# deleted from the office's
cp -a "$T/field" "$T/field-n"
sqlite3 "$T/field-n/evidence.db" "UPDATE notes SET text = '复查：违建未拆除' WHERE text = '复查：违建已拆除'"
out=$($EVCAP --store "$T/field-n" verify 2>&1); rc=$?
check "field verify finds a note's text changed in the database (was: all intact)" \
	test $rc = 1 -a -n "$(grep -E "DAMAGED: note [0-9]+ on item [0-9]+ \(.*\), by .*: no custody event records it as it is" <<<"$out")"
cp -a "$T/office" "$T/office-n"
sqlite3 "$T/office-n/evidence.db" "DELETE FROM notes WHERE text = '复查：违建已拆除'"
out=$($EVCAP --store "$T/office-n" verify 2>&1); rc=$?
check "office verify finds a pulled note deleted (was: all intact)" \
	test $rc = 1 -a -n "$(grep -E "DAMAGED: item [0-9]+ \(.*\): the custody log records 1 note by .* that the store holds 0 of" <<<"$out")"
cp -a "$T/field" "$T/field-t"
sqlite3 "$T/field-t/evidence.db" "DROP TRIGGER custody_no_delete;
	DELETE FROM custody WHERE seq > (SELECT max(last_seq) - 2 FROM bundles WHERE direction = 'out')"
out=$($EVCAP --store "$T/field-t" verify 2>&1); rc=$?
check "field verify finds the end of its custody log cut off (was: all intact)" \
	test $rc = 1 -a -n "$(grep -E "DAMAGED: the custody log ends at event [0-9]+, but bundle .* was sent to dir:.* with the log up to event [0-9]+" <<<"$out")"

# an office that has not trusted the key refuses, unless --trust-new
N="$EVCAP --store $T/office2"
$N init >/dev/null
out=$($N pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "unknown device key refused" test $rc = 1
check "refusal names the untrusted key" grep -q "does not trust" <<<"$out"
out=$($N pull --target "dir:$TGT" --case "$CASE" --trust-new 2>&1); rc=$?
check "--trust-new imports and trusts the key" test $rc = 0 -a "$($N --json ls | jq length)" = 5
check "--trust-new records the key" test "$($N --json key list | jq length)" = 1

# a card offloaded while no case was in use: sync warns that its items
# stay behind; 'case add --unassigned' puts them in a case (a custody
# event each), and the next sync carries them to the office in that case
F2="$EVCAP --store $T/field2"
CASE2='XX检公益立〔2023〕16号'
mkdir -p "$T/card2"
head -c 5000 /dev/urandom >"$T/card2/DJI_0101.JPG"
head -c 6000 /dev/urandom >"$T/card2/DJI_0102.JPG"
$F2 init >/dev/null
out=$($F2 ingest "$T/card2" 2>&1)
check "ingest with no case says how to put the items in one later" \
	grep -q "recorded without a case ('evcap case add CASE --unassigned'" <<<"$out"
$F2 case open "$CASE2" >/dev/null
# a note written while the item was in no case: its event stays outside
# the case's bundles, the note travels with the item
$F2 note "$($F2 --json ls --no-case | jq -r '.[0].id')" "排口旁有新管道" >/dev/null
check "ls --no-case lists the two items in no case" test "$($F2 --json ls --no-case | jq length)" = 2
mkdir -p "$T/usb2"
out=$($F2 sync --target "dir:$T/usb2" 2>&1); rc=$?
check "sync warns that items in no case are not synced" \
	grep -q "warning: 2 items and 0 sensor readings are in no case, so they are not synced" <<<"$out"
check "and syncs none of them (only the case's own record)" \
	test $rc = 0 -a -n "$(grep "committed: 0 items" <<<"$out")"
out=$($F2 case add "$CASE2" --unassigned 2>&1)
check "case add --unassigned puts both items in the case" grep -q "^2 items put into case $CASE2" <<<"$out"
check "and then none is in no case" test "$($F2 --json ls --no-case | jq length)" = 0
check "each is a custody event" test "$($F2 --json log | jq '[.[] | select(.event.action == "case add")] | length')" = 2
id1=$($F2 --json ls | jq -r '.[0].id')
out=$($F2 case add "$CASE2" "$id1" 2>&1); rc=$?
check "an item in the case already is left there, and says so (exit 0)" \
	test $rc = 0 -a -n "$(grep "is in case $CASE2 already" <<<"$out")"
out=$($F2 sync --target "dir:$T/usb2" 2>&1)
check "the next sync carries them, with no warning" \
	bash -c 'grep -q "1 bundle committed: 2 items" <<<"$1" && ! grep -q "in no case" <<<"$1"' _ "$out"
N3="$EVCAP --store $T/office3"
$N3 init >/dev/null
$N3 pull --target "dir:$T/usb2" --case "$CASE2" --trust-new >/dev/null 2>&1
check "the office has them in the case" \
	test "$($N3 --json ls | jq -r --arg c "$CASE2" '[.[] | select(.case == $c)] | length')" = 2
check "field verify passes after case add" $F2 verify
check "office verify passes, the note written before the case included (was: DAMAGED)" $N3 verify

# a case split over bundles by manifest size, its items and events halved
# apart; the office pulls while only the first bundle is there (the link
# dropped before the second): what it has is not called damaged
F9="$EVCAP --store $T/field9"
O9="$EVCAP --store $T/office9"
mkdir -p "$T/card9" "$T/usb9"
for i in 1 2 3 4 5 6; do head -c 2000 /dev/urandom >"$T/card9/DJI_000$i.JPG"; done
$F9 init >/dev/null && $F9 case open C9 --use >/dev/null && $F9 ingest "$T/card9" >/dev/null 2>&1
EVCAP_SYNC_MANIFEST_BYTES=9000 $F9 sync --target "dir:$T/usb9" >/dev/null 2>&1
cp -a "$T/usb9" "$T/usb9-first"
for m in "$T"/usb9-first/cases/*/bundles/*/manifest.json; do
	[ "$(jq -r .previous "$m")" != null ] && rm -rf "$(dirname "$m")"
done
$F9 key show >"$T/f9.pub"
$O9 init >/dev/null && $O9 key trust "$T/f9.pub" >/dev/null
$O9 pull --target "dir:$T/usb9-first" --case C9 >/dev/null 2>&1
check "office verify passes with the first of a split case's bundles (was: DAMAGED)" $O9 verify
$O9 pull --target "dir:$T/usb9" --case C9 >/dev/null 2>&1
check "... and with all of them" \
	bash -c '$1 verify >/dev/null && [ "$($1 --json ls | jq length)" = 6 ]' _ "$O9"

# the same, from a laptop whose clock ran 8 h ahead for its first sync and
# was set right before the split run: its bundles are ordered by their
# custody heads, not by the times the laptop stamped on them. The office
# pulls before the run's last bundle is there; then an item of the bundle
# dated ahead is changed in the office's database, which verify must find
# (a bundle dated ahead was taken for the newest, and its items were not
# looked for), and so is its note deleted
if need faketime; then
	F10="$EVCAP --store $T/field10"
	O10="$EVCAP --store $T/office10"
	FT10="env ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 faketime -f +8h"
	mkdir -p "$T/card10a" "$T/card10" "$T/usb10"
	head -c 2000 /dev/urandom >"$T/card10a/FIRST.JPG"
	for i in 1 2 3 4 5 6; do head -c 2000 /dev/urandom >"$T/card10/DJI_000$i.JPG"; done
	$F10 init >/dev/null && $F10 case open C10 --use >/dev/null
	$FT10 $F10 ingest "$T/card10a" >/dev/null 2>&1
	$FT10 $F10 note "$($F10 --json ls | jq -r '.[0].id')" "排口水色发黑" >/dev/null
	$FT10 $F10 sync --target "dir:$T/usb10" >/dev/null 2>&1
	$F10 ingest "$T/card10" >/dev/null 2>&1
	EVCAP_SYNC_MANIFEST_BYTES=9000 $F10 sync --target "dir:$T/usb10" >/dev/null 2>&1
	cp -a "$T/usb10" "$T/usb10-first"
	newest=$(for m in "$T"/usb10-first/cases/*/bundles/*/manifest.json; do
		echo "$(jq .custody.head.seq "$m") $(dirname "$m")"; done | sort -n | tail -1 | cut -d' ' -f2)
	rm -rf "$newest"
	check "a bundle dated ahead by the laptop's clock is on the disk" \
		test "$(jq -r '.created_at' "$T"/usb10-first/cases/*/bundles/*/manifest.json |
			sort | tail -1)" \> "$(date -u -d '+4 hours' +%FT%T)"
	$F10 key show >"$T/f10.pub"
	$O10 init >/dev/null && $O10 key trust "$T/f10.pub" >/dev/null
	$O10 pull --target "dir:$T/usb10-first" --case C10 >/dev/null 2>&1
	check "office verify passes after the laptop's clock ran ahead, the split run's last bundle not here (was: DAMAGED)" \
		$O10 verify
	cp -a "$T/office10" "$T/office10-v"
	other=$(printf 'not the first photo' | sha256sum | cut -c1-64)
	sqlite3 "$T/office10-v/evidence.db" "UPDATE items SET sha256 = '$other', size = 19
		WHERE original_name = 'FIRST.JPG'"
	mkdir -p "$T/office10-v/blobs/sha256/${other:0:2}/${other:2:2}"
	printf 'not the first photo' >"$T/office10-v/blobs/sha256/${other:0:2}/${other:2:2}/$other"
	out=$($EVCAP --store "$T/office10-v" verify 2>&1); rc=$?
	check "office verify finds a changed item of the bundle the clock dated ahead (was: all intact)" \
		test $rc = 1 -a -n "$(grep "DAMAGED: item [0-9]* (FIRST.JPG, ${other:0:12}) is recorded as pulled, but no custody event" <<<"$out")"
	cp -a "$T/office10" "$T/office10-n"
	sqlite3 "$T/office10-n/evidence.db" "DELETE FROM notes WHERE text = '排口水色发黑'"
	out=$($EVCAP --store "$T/office10-n" verify 2>&1); rc=$?
	check "office verify finds a note of the bundle the clock dated ahead deleted (was: all intact)" \
		test $rc = 1 -a -n "$(grep -E "DAMAGED: item [0-9]+ \(FIRST.JPG\): the custody log records 1 note by .* that the store holds 0 of" <<<"$out")"
	$O10 pull --target "dir:$T/usb10" --case C10 >/dev/null 2>&1
	check "... and verify passes with all of them" \
		bash -c '$1 verify >/dev/null && [ "$($1 --json ls | jq length)" = 7 ]' _ "$O10"
else
	skip "sync_dir clock ahead: faketime is not installed (apt-get install faketime)"
fi

# readings recorded in no case are older than the case's own, which a
# sync has sent already; put into the case later, they still go to the
# office in the next bundle, each arriving once (a line that could not be
# read, kept with no parameter, too)
F4="$EVCAP --store $T/field4"
O4="$EVCAP --store $T/office4"
printf '时间,样品编号,氨氮(mg/L)\n2024-05-02 09:00:00,S-1,1.1\n2024-05-02 09:05:00,S-2,1.2\n' >"$T/early.csv"
printf '时间,样品编号,氨氮(mg/L)\n2024-05-02 10:00:00,S-3,2.3\nnot a time,S-9,1.0\n' >"$T/late.csv"
$F4 init >/dev/null && $O4 init >/dev/null && $F4 key show >"$T/field4.pub" &&
	$O4 key trust "$T/field4.pub" >/dev/null
$F4 -q sensor import "$T/early.csv" --time-offset +08:00 >/dev/null 2>&1
$F4 -q case open R-1 --use >/dev/null
$F4 -q sensor import "$T/late.csv" --time-offset +08:00 >/dev/null 2>&1
mkdir -p "$T/usb4"
$F4 sync --target "dir:$T/usb4" >/dev/null 2>&1
$F4 case add R-1 --unassigned >/dev/null 2>&1
$F4 sync --target "dir:$T/usb4" >/dev/null 2>&1
out=$($O4 pull --target "dir:$T/usb4" --case R-1 2>&1)
office4_samples() {
	sqlite3 "$T/office4/evidence.db" "SELECT sample_id FROM readings ORDER BY sample_id" | tr '\n' ' '
}
check "readings put into a case after a sync reach the office in the next bundle" \
	test "$(office4_samples)" = "S-1 S-2 S-3 S-9 "
# (the two bundles, made in the same second, may be pulled in either order)
check "pull counts the readings sent again as already here" test "$(sed -n \
	's/.* \([0-9]*\) readings (\([0-9]*\) already here).*/\1 \2/p' <<<"$out" |
	awk '{n += $1; had += $2} END {print n, had}')" = "4 2"
check "and the field sends them once only" bash -c \
	'grep -q "nothing new" <<<"$($1 sync --target "dir:$2" 2>&1)"' _ "$F4" "$T/usb4"
# the same, when they are put into the case while a bundle of it waits
# unfinished on the target (a file where the case's folder goes stops it)
F5="$EVCAP --store $T/field5"
O5="$EVCAP --store $T/office5"
$F5 init >/dev/null && $O5 init >/dev/null && $F5 key show >"$T/field5.pub" &&
	$O5 key trust "$T/field5.pub" >/dev/null
$F5 -q sensor import "$T/early.csv" --time-offset +08:00 >/dev/null 2>&1
$F5 -q case open R-2 --use >/dev/null
$F5 -q sensor import "$T/late.csv" --time-offset +08:00 >/dev/null 2>&1
key5=$(sqlite3 "$T/field5/evidence.db" "SELECT key FROM cases")
mkdir -p "$T/usb5/cases" && touch "$T/usb5/cases/$key5"
$F5 sync --target "dir:$T/usb5" >/dev/null 2>&1; rc=$?
check "a sync stopped with its bundle unfinished exits 1 and keeps the bundle" test $rc = 1 -a \
	"$(sqlite3 "$T/field5/evidence.db" "SELECT count(*) FROM meta WHERE key LIKE 'sync.pending:%'")" = 1
$F5 case add R-2 --unassigned >/dev/null 2>&1
rm "$T/usb5/cases/$key5"
$F5 sync --target "dir:$T/usb5" >/dev/null 2>&1
$O5 pull --target "dir:$T/usb5" --case R-2 >/dev/null 2>&1
check "readings put into the case before its unfinished bundle is finished reach the office" \
	test "$(sqlite3 "$T/office5/evidence.db" "SELECT group_concat(sample_id, ' ')
		FROM (SELECT sample_id FROM readings ORDER BY sample_id)")" = "S-1 S-2 S-3 S-9"

# a setting that does nothing says so
printf '[sync]\ninterval = 60\n' >"$T/old.conf"
out=$($F2 --config "$T/old.conf" sync --target "dir:$T/usb2" 2>&1)
check "sync says [sync] interval is not used" grep -q "interval in the config is not used" <<<"$out"

# on a link that comes and goes the small photos go first, each lot in a
# bundle of its own, so the office has them before the video is up
# (bundles hold at most $EVCAP_SYNC_BUNDLE_BYTES of originals; 256 MiB)
mkdir -p "$T/card3"
for i in 1 2 3; do head -c $((9000 + i)) /dev/urandom >"$T/card3/DJI_020$i.JPG"; done
head -c 250000 /dev/urandom >"$T/card3/DJI_0204.MP4"
$F2 -q ingest --case "$CASE2" "$T/card3" >/dev/null 2>&1
out=$(EVCAP_SYNC_BUNDLE_BYTES=100000 $F2 sync --target "dir:$T/usb2" 2>&1)
check "a large item goes in a bundle after the small ones" grep -q "2 bundles committed: 4 items" <<<"$out"
bundle_of() { # the manifest that names original NAME
	grep -l "\"original_name\": \"$1\"" $(find "$T/usb2/cases" -name manifest.json)
}
check "the three photos share one bundle" \
	test "$(bundle_of DJI_0201.JPG)" = "$(bundle_of DJI_0203.JPG)" -a "$(bundle_of DJI_0201.JPG)" = "$(bundle_of DJI_0202.JPG)"
check "the video is in a bundle of its own" bash -c \
	'[ "$1" != "$2" ] && [ "$(grep -c "\"original_name\"" "$2")" = 1 ]' _ "$(bundle_of DJI_0201.JPG)" "$(bundle_of DJI_0204.MP4)"
check "the photos' bundle was committed first" \
	test "$(grep -o 'committed to [^ ]*: [0-9]* items*' <<<"$out" | sed 's/.*: //' | tr '\n' ,)" = "3 items,1 item,"
$N3 pull --target "dir:$T/usb2" --case "$CASE2" >/dev/null 2>&1
check "the office pulls both" test "$($N3 --json ls | jq length)" = 6
check "office verify passes after the bundles in lots" $N3 verify

# the field track travels with the bundle: the fixes within ten minutes of
# its items and readings (not the rest of the day), so the office can draw
# the route; each field receiver stays a track of its own there
printf '时间,样品编号,氨氮(mg/L)\n2024-05-02 09:00:00,S-9,2.3\n' >"$T/probe.csv"
{
	echo '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
	for m in 50 51 52 53 54 55 56 57 58 59; do
		for s in 00 10 20 30 40 50; do echo "<trkpt lat=\"47.2$m$s\" lon=\"123.6$m$s\"><time>2024-05-02T00:$m:${s}Z</time></trkpt>"; done
	done
	for m in 00 01 02 03 04 05 06 07 08 09; do
		for s in 00 10 20 30 40 50; do echo "<trkpt lat=\"47.3$m$s\" lon=\"123.7$m$s\"><time>2024-05-02T01:$m:${s}Z</time></trkpt>"; done
	done
	echo '<trkpt lat="47.31" lon="123.71"><time>2024-05-02T01:10:00Z</time></trkpt>'
	for s in 00 10 20 30 40; do echo "<trkpt lat=\"47.5\" lon=\"123.9\"><time>2024-05-02T06:00:${s}Z</time></trkpt>"; done
	echo '</trkseg></trk></gpx>'
} >"$T/day.gpx"
$F2 -q sensor import "$T/probe.csv" --case "$CASE2" --time-offset +08:00 >/dev/null 2>&1
$F2 -q track import "$T/day.gpx" >/dev/null 2>&1
$F2 sync --target "dir:$T/usb2" >/dev/null 2>&1
man=$(grep -l '"S-9"' $(find "$T/usb2/cases" -name manifest.json))
check "the bundle carries the 121 fixes within ten minutes of the reading, and not the rest" \
	jq -e '(.fixes | length) == 121 and all(.fixes[]; .time < "2024-05-02T02")' "$man"
out=$($N3 pull --target "dir:$T/usb2" --case "$CASE2" 2>&1)
check "the office imports them" grep -q "1 reading (0 already here), 121 GPS fixes" <<<"$out"
check "under the field receiver's name with the device's" test "$(sqlite3 "$T/office3/evidence.db" \
	"SELECT count(*) FROM fixes WHERE source LIKE 'pulled:________________:file:day.gpx'")" = 121
$N3 -q export --case "$CASE2" --format kml --out "$T/office3.kml" >/dev/null 2>&1
check "the office's KML draws the route" grep -q "<LineString>" "$T/office3.kml"
$N3 pull --target "dir:$T/usb2" --case "$CASE2" >/dev/null 2>&1
check "pulling again adds no fix twice" test "$(sqlite3 "$T/office3/evidence.db" "SELECT count(*) FROM fixes")" = 121

# a temporary file that a sync killed mid-write left on the disk is
# removed once the blob is in place (nobody holds it locked), and so is an
# old one; one a live writer holds locked is left alone
head -c 4321 /dev/urandom >"$T/card3/DJI_0300.JPG"
sha=$(sha256sum "$T/card3/DJI_0300.JPG" | cut -d' ' -f1)
bdir="$T/usb2/blobs/sha256/${sha:0:2}/${sha:2:2}"
mkdir -p "$bdir"
head -c 100 /dev/urandom >"$bdir/.tmp-$sha-4242-0badf00d"
touch -d '7 hours ago' "$bdir/.tmp-$sha-4242-0badf00d"
head -c 100 /dev/urandom >"$bdir/.tmp-$sha-4343-0badcafe"
head -c 100 /dev/urandom >"$bdir/.tmp-$sha-4444-0badbeef"
flock -x "$bdir/.tmp-$sha-4444-0badbeef" sleep 30 & HOLDER=$!
on_exit "kill $HOLDER 2>/dev/null"
within 5 bash -c '! flock -xn "$1" true' _ "$bdir/.tmp-$sha-4444-0badbeef"
$F2 -q ingest --case "$CASE2" "$T/card3" >/dev/null 2>&1
$F2 sync --target "dir:$T/usb2" >/dev/null 2>&1
check "leftover temporary files of a blob are removed once it is in place" \
	test -f "$bdir/$sha" -a ! -e "$bdir/.tmp-$sha-4242-0badf00d" \
	-a ! -e "$bdir/.tmp-$sha-4343-0badcafe"
check "one a live writer holds is left alone" test -e "$bdir/.tmp-$sha-4444-0badbeef"
kill $HOLDER 2>/dev/null

# Object Lock options on a folder target would promise what nothing enforces
out=$($F sync --target "dir:$TGT" --retain-days 30 2>&1); rc=$?
check "--retain-days on a dir: target is refused as a usage error" \
	bash -c '[ "$1" = 2 ] && grep -q "apply to s3: targets only" <<<"$2"' _ "$rc" "$out"
out=$($F sync --target "dir:$TGT" --create-bucket 2>&1); rc=$?
check "--create-bucket on a dir: target is refused too" test "$rc" = 2

# --bandwidth caps a dir: target's copies too (an NFS mount may share a
# slow link), and a terminal shows a large original's progress as it is
# copied. Time is asserted from below only: 2 MB at 1 MB/s cannot take
# much less than 2 s, and a loaded machine only takes longer.
if need script; then
	mkdir -p "$T/card8" "$T/usb8"
	head -c 2000000 /dev/urandom >"$T/card8/DJI_0800.MP4"
	F8="$EVCAP --store $T/field8"
	$F8 -q init && $F8 -q case open R-8 --use && $F8 -q ingest "$T/card8" 2>/dev/null
	start=$(date +%s.%N)
	script -q -e -c "$F8 sync --target dir:$T/usb8 --bandwidth 1M" "$T/tty8.log" >/dev/null; rc=$?
	took=$(echo "$(date +%s.%N) - $start" | bc)
	check "--bandwidth on a dir: target: the sync succeeds" test $rc = 0
	check "--bandwidth 1M on a dir: target: 2 MB take 1.8 s or more (${took} s)" \
		test "$(echo "$took >= 1.8" | bc)" = 1
	check "a dir: target shows a large original's progress on a terminal" \
		grep -q "^blobs/sha256/.*: 2.0 of 2.0 MB" <(tr '\r' '\n' <"$T/tty8.log")
else
	skip "sync_dir: --bandwidth and progress on a terminal: needs script (apt-get install bsdutils)"
fi

# a sensor that logged through a long day offline has more readings than
# one manifest holds: they go in several bundles, the oldest first (at
# most EVCAP_SYNC_MAX_READINGS a bundle, and halved where a manifest
# would pass EVCAP_SYNC_MANIFEST_BYTES), and reach the office once each
F7="$EVCAP --store $T/field7"
O7="$EVCAP --store $T/office7"
{
	echo '时间,样品编号,氨氮(mg/L)'
	for i in 0 1 2 3 4 5 6; do echo "2024-05-02 09:0$i:00,L-$i,1.$i"; done
} >"$T/long.csv"
mkdir -p "$T/usb7"
$F7 -q init && $O7 -q init && $F7 key show >"$T/field7.pub" && $O7 -q key trust "$T/field7.pub" &&
	$F7 -q case open R-7 --use && $F7 -q sensor import "$T/long.csv" --time-offset +08:00 2>/dev/null
out=$(EVCAP_SYNC_MAX_READINGS=3 $F7 sync --target "dir:$T/usb7" 2>&1)
check "readings past a bundle's share go in the next bundles" \
	grep -q "^3 bundles committed" <<<"$out"
$O7 pull --target "dir:$T/usb7" --case R-7 >/dev/null 2>&1
office7_samples() {
	sqlite3 "$T/office7/evidence.db" "SELECT group_concat(sample_id, ' ') FROM
		(SELECT sample_id FROM readings ORDER BY sample_id)"
}
check "the office has every reading once" test "$(office7_samples)" = "L-0 L-1 L-2 L-3 L-4 L-5 L-6"
{
	echo '时间,样品编号,氨氮(mg/L)'
	for i in 0 1 2 3 4 5 6 7; do echo "2024-05-02 10:0$i:00,M-$i,2.$i"; done
} >"$T/long2.csv"
$F7 -q sensor import "$T/long2.csv" --time-offset +08:00 2>/dev/null
# one reading is some 700 bytes of manifest: four bundles or more
out=$(EVCAP_SYNC_MANIFEST_BYTES=6000 $F7 sync --target "dir:$T/usb7" 2>&1)
check "a manifest too large for an office is halved, readings too" \
	grep -q "the rest follow in the next" <<<"$out"
$O7 pull --target "dir:$T/usb7" --case R-7 >/dev/null 2>&1
check "and the office has every reading of them once" test "$(office7_samples)" = \
	"L-0 L-1 L-2 L-3 L-4 L-5 L-6 M-0 M-1 M-2 M-3 M-4 M-5 M-6 M-7"
check "after which nothing is left to send" \
	grep -q "nothing new" <<<"$($F7 sync --target "dir:$T/usb7" 2>&1)"
