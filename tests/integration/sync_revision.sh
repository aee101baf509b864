#!/bin/bash
# sync_revision: an item changed after it was synced reaches the office.
# Photos synced before the field had a place for them are placed later
# (a track imported and geotagged, a site added); the next sync sends
# those items again, fields only, and the office takes the later
# revision, with a custody event for each item naming what changed. A
# place the office set itself stays, and the event says what the device
# now says instead. A reading takes the site added after it was sent.
# Bundles pulled out of order end the same way, and a store upgraded from
# before revisions were kept sends each of its items once more. A second
# device's revision of a photo the first brought changes nothing.
. "$(dirname "$0")/../lib/common.sh"

if ! need exiftool jq cjpeg sqlite3; then
	skip "sync_revision: needs exiftool, jq, cjpeg and sqlite3"
	exit 0
fi
# the metadata child cannot map ASan's shadow memory (see revisit.sh)
[ -n "${EVCAP_SAN:-}" ] && export EVCAP_META_INPROCESS=1
CASE='嫩检公益立〔2024〕7号'
F="$EVCAP --store $T/field"
O="$EVCAP --store $T/office"
TGT=$T/usb

{ printf 'P6\n16 16\n255\n'; head -c 768 /dev/zero; } >"$T/c.ppm"
cjpeg "$T/c.ppm" >"$T/blank.jpg"
mkdir -p "$T/card" "$TGT"
photo() { # photo NAME "YYYY:MM:DD HH:MM:SS" (China time): a time, no place
	cp "$T/blank.jpg" "$T/card/$1.jpg"
	exiftool -q -overwrite_original -DateTimeOriginal="$2" -OffsetTimeOriginal=+08:00 \
		-ImageDescription="$1" "$T/card/$1.jpg"
}
photo a "2024:05:01 10:00:06"
photo b "2024:05:01 10:00:20"
photo c "2024:05:01 10:30:00"

# gpx NAME LAT MINUTE: a fix every 2 s for a minute from 02:MINUTE:00 UTC,
# walking east along LAT
gpx() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<gpx version="1.1" creator="sync_revision" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
		for ((s = 0; s <= 60; s += 2)); do
			printf '<trkpt lat="%s" lon="%.5f"><time>2024-05-01T02:%02d:%02dZ</time><fix>3d</fix><hdop>1.0</hdop></trkpt>\n' \
				"$2" "$(echo "124.8 + $s * 0.00001" | bc -l)" $(($3 + s / 60)) $((s % 60))
		done
		echo '</trkseg></trk></gpx>'
	} >"$T/$1.gpx"
}
gpx field 45.000000 0    # the field's track: covers a and b
gpx office 45.010000 30  # the office's own log: covers c
gpx late 45.020000 30    # a log the field finds later: covers c too

$F -q init && $O -q init && $F key show >"$T/field.pub" && $O -q key trust "$T/field.pub" &&
	$F -q case open "$CASE" --use && $F -q ingest "$T/card" 2>/dev/null ||
	{ bad "sync_revision: cannot make the stores"; exit 1; }
$F -q sync --target "dir:$TGT" 2>/dev/null
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
check "the office holds the three photos, none placed" \
	test "$($O --json ls | jq '[.[] | select(.lat == null)] | length')" = 3

# office_item NAME: "lat lon site" of the office's item
office_item() {
	$O --json ls | jq -r --arg n "$1.jpg" \
		'.[] | select(.original_name == $n) | "\(.lat) \(.lon) \(.site)"'
}
field_item() {
	$F --json ls | jq -r --arg n "$1.jpg" \
		'.[] | select(.original_name == $n) | "\(.lat) \(.lon) \(.site)"'
}

# the office places c from its own log; then the field places a and b
# from its track and adds a site around them (two bundles)
$O -q track import "$T/office.gpx" 2>/dev/null
check "the office places c itself" test "$(office_item c | cut -d' ' -f1)" != null
office_c=$(office_item c)
$F -q track import "$T/field.gpx" 2>/dev/null
# a water sample taken on the way, placed from the track as it is read
printf '时间,样品编号,氨氮(mg/L)\n2024-05-01 10:00:30,W-1,0.8\n' >"$T/water.csv"
$F -q sensor import "$T/water.csv" --time-offset +08:00 2>/dev/null
out=$($F sync --target "dir:$TGT" 2>&1)
# (a track file and a sensor file are items of the case too, and go with
# their bytes)
check "items placed after a sync go again, without their bytes" \
	grep -q "committed: 4 items (2 blobs sent, [0-9]* bytes; 2 already" <<<"$out"
# a second office pulls each bundle as it comes, so in order
O2="$EVCAP --store $T/office2"
$O2 -q init && $O2 -q key trust "$T/field.pub" &&
	$O2 -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
$F -q site add "$CASE" 坝下排口 --lat 45.0 --lon 124.8001 --radius 200 2>/dev/null
$F -q track import "$T/late.gpx" 2>/dev/null
# (with bundles of 1,000 bytes: an item whose original is on the target
# already costs a bundle nothing)
out=$(EVCAP_SYNC_BUNDLE_BYTES=1000 $F sync --target "dir:$TGT" 2>&1)
check "a site added and a later place send the items again" \
	grep -q "committed: 4 items (1 blob sent, [0-9]* bytes; 3 already" <<<"$out"
check "in one bundle, though their originals pass its size" \
	grep -q "^1 bundle committed: 4 items" <<<"$out"
check "a sync after that sends nothing" grep -q "nothing new" <<<"$($F sync --target "dir:$TGT" 2>&1)"
out=$($O2 pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "pulled in order, the later bundle updates three held items" \
	grep -q "3 held items updated" <<<"$out"
check "and says a reading moved to another site" grep -q "1 of them updated to a later revision, 1 now in another site" <<<"$out"
blobs_before=$(find "$T/office/blobs" -type f | wc -l)

# both bundles pulled in one run, in whichever order (made in the same
# second, they may come either way): the later revision wins
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "pull says held items were updated" grep -q "[24] held items updated" <<<"$out"
check "the office has the field's place and site for a" test "$(office_item a)" = "$(field_item a)"
check "and for b" test "$(office_item b)" = "$(field_item b)"
check "a is in the site the field added" test "$(office_item a | cut -d' ' -f3)" = 坝下排口
check "the office's own place for c stays" test "$(office_item c)" = "$office_c"
check "a reading sent before the site was added is in it at the office too" \
	test "$(sqlite3 "$T/office/evidence.db" "SELECT s.name FROM readings r
		JOIN sites s ON s.id = r.site_id WHERE r.sample_id = 'W-1'")" = 坝下排口
check "while the field placed c elsewhere" test "$(office_item c)" != "$(field_item c)"
check "ls --json names the place as the office's own" test "$($O --json ls |
	jq -c '[.[] | select((.office_fields | length) > 0) | [.original_name, .office_fields]]')" = \
	'[["c.jpg",["place"]]]'
check "no photo was fetched again (only the track and sensor files)" \
	test "$(find "$T/office/blobs" -type f | wc -l)" = "$((blobs_before + 3))"
ev() {
	sqlite3 "$T/office/evidence.db" "SELECT count(*), count(DISTINCT item_sha256) FROM custody
		WHERE action = 'item update' $1" | tr '|' ' '
}
events=$(ev "")
check "the changes are custody events of the three items" grep -Eq "^[35] 3$" <<<"$events"
check "a's and b's events name the place they had and the place they took" \
	test "$(ev "AND json_extract(event, '\$.detail.fields.lat.from') IS NULL
		AND json_extract(event, '\$.detail.fields.lat.to') > 44.99" | cut -d' ' -f2)" = 2
check "and the site they were put in" \
	test "$(ev "AND json_extract(event, '\$.detail.fields.site.to') = '坝下排口'" |
		cut -d' ' -f2)" = 2
check "c's event says the office kept its own place and what the device says" \
	test "$(ev "AND json_extract(event, '\$.detail.kept.lat.device') > 45.015
		AND json_extract(event, '\$.detail.kept.lat.office') < 45.015")" = "1 1"
check "the office store verifies" $O -q verify
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "pulling again changes nothing" test "$(ev "")" = "$events"

# a store from before revisions were kept sends each of its items once
# more, fields only
store_to_schema_43 "$T/field/evidence.db"
out=$($F sync --target "dir:$TGT" 2>&1)
check "after the upgrade each item goes once more, without its bytes" \
	grep -q "committed: 6 items (0 blobs sent" <<<"$out"
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "and the office, already up to date, changes nothing" test "$(ev "")" = "$events"

# a reading recorded where the case has a site is put in it as it is
# read, a revision above the target's mark; it goes once, as a new
# reading, and not a second time as a changed one
printf '时间,样品编号,氨氮(mg/L)\n2024-05-01 10:00:40,W-2,0.6\n' >"$T/water2.csv"
$F -q sensor import "$T/water2.csv" --time-offset +08:00 2>/dev/null
out=$($F sync --target "dir:$TGT" 2>&1)
check "a reading put in a site as it is read goes in one bundle" \
	grep -q "bundle .* committed to .*: 1 item, 1 reading," <<<"$out"
check "and the next sync sends it no more" grep -q "nothing new" <<<"$($F sync --target "dir:$TGT" 2>&1)"
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
check "the office has it in the site" \
	test "$(sqlite3 "$T/office/evidence.db" "SELECT s.name FROM readings r
		JOIN sites s ON s.id = r.site_id WHERE r.sample_id = 'W-2'")" = 坝下排口
check "both stores verify" bash -c '$1 -q verify && $2 -q verify' _ "$F" "$O"

# a second laptop that offloaded the same card into the same case places
# photo a elsewhere: its revision numbers are its own, and the office keeps
# the place of the device that first brought the photo
gpx devb 45.030000 0
B="$EVCAP --store $T/devb"
mkdir -p "$T/cardb" && cp "$T/card/a.jpg" "$T/cardb/"
$B -q init && $B key show >"$T/devb.pub" && $O -q key trust "$T/devb.pub" &&
	$B -q case open "$CASE" --use && $B -q ingest "$T/cardb" 2>/dev/null
# (its revision numbers run far past the first laptop's, as a busy
# device's would, so only the device tells them apart); it imported the
# same water sample's file too, and put it in a site of its own
sqlite3 "$T/devb/evidence.db" "UPDATE items SET rev = 999"
$B -q track import "$T/devb.gpx" 2>/dev/null &&
	$B -q sensor import "$T/water.csv" --time-offset +08:00 2>/dev/null &&
	$B -q site add "$CASE" 乙站 --lat 45.03 --lon 124.8003 --radius 300 2>/dev/null
sqlite3 "$T/devb/evidence.db" "UPDATE readings SET rev = rev + 5000"
$B -q sync --target "dir:$TGT" 2>/dev/null
check "the second laptop placed a elsewhere" \
	test "$($B --json ls | jq -r '.[] | select(.original_name == "a.jpg") | .lat')" = 45.03
before_a=$(office_item a)
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
check "the office keeps a where the first device put it" test "$(office_item a)" = "$before_a"
check "the second laptop put the sample in its own site" test "$(sqlite3 "$T/devb/evidence.db" \
	"SELECT s.name FROM readings r JOIN sites s ON s.id = r.site_id WHERE r.sample_id = 'W-1'")" = 乙站
check "the office keeps the sample in the first device's site" \
	test "$(sqlite3 "$T/office/evidence.db" "SELECT s.name FROM readings r
		JOIN sites s ON s.id = r.site_id WHERE r.sample_id = 'W-1'")" = 坝下排口

# a reading's place and class go again too. Two samples of total
# phosphorus are read where the field has no track yet, and pulled
# unplaced; the office places the second from its own log and puts it in a
# river site of its own, and adds a site where the first will be
printf '时间,样品编号,总磷(mg/L)\n2024-05-01 10:40:30,W-3,0.08\n2024-05-01 10:50:30,W-4,0.08\n' \
	>"$T/water3.csv"
$F -q sensor import "$T/water3.csv" --time-offset +08:00 2>/dev/null
$F -q sync --target "dir:$TGT" 2>/dev/null
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
# office_reading SAMPLE: "lat location_source class site" of the office's reading
office_reading() {
	$O --json readings --case "$CASE" | jq -r --arg s "$1" \
		'.[] | select(.sample_id == $s) | "\(.lat) \(.location_source) \(.class) \(.site)"'
}
check "the office holds both samples unplaced, classed as a river's" \
	test "$(office_reading W-3) $(office_reading W-4)" = "null null II null null null II null"
gpx office50 45.050000 50
$O -q site add "$CASE" 上游 --lat 45.04 --lon 124.8003 --radius 300 2>/dev/null &&
	$O -q site add "$CASE" 下游 --lat 45.05 --lon 124.8003 --radius 300 --water-body river \
		2>/dev/null && $O -q track import "$T/office50.gpx" 2>/dev/null
check "the office places the second sample itself, in its river site" \
	test "$(office_reading W-4)" = "45.05 track II 下游"
# the field places both from a track found later, then learns the river
# is a lake: both are classed again, as a lake's
gpx place40 45.040000 40
gpx place50 45.040000 50
$F -q track import "$T/place40.gpx" "$T/place50.gpx" 2>/dev/null &&
	$F -q case set "$CASE" --water-body lake 2>/dev/null
check "the field placed both and classes them as a lake's" test "$($F --json readings |
	jq -r '[.[] | select(.sample_id == "W-3" or .sample_id == "W-4") |
		"\(.lat) \(.class)"] | join(" ")')" = "45.04 IV 45.04 IV"
out=$($F sync --target "dir:$TGT" 2>&1)
check "readings placed and classed again after a sync go again" \
	grep -q "committed to .*: [0-9]* items\?, 2 readings," <<<"$out"
rev_events() {
	$O --json log | jq -c '[.[] | select(.event.action == "reading update")]'
}
before=$(rev_events | jq length)
out=$($O pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "pull says a held reading was updated" \
	grep -q "1 of them updated to a later revision" <<<"$out"
check "and counts it at the end" grep -q "; 1 held reading updated)" <<<"$out"
check "the office has the field's place and class for the first" \
	test "$(office_reading W-3 | cut -d' ' -f1-3)" = "45.04 track IV"
check "which its own site then holds" test "$(office_reading W-3 | cut -d' ' -f4)" = 上游
check "the office keeps its own place, site and class for the second" \
	test "$(office_reading W-4)" = "45.05 track II 下游"
ev=$(rev_events)
check "the changes are one reading update event" test "$(jq length <<<"$ev")" = $((before + 1))
check "naming the first sample's place and class, old and new" \
	test "$(jq -r '.[-1].event.detail.readings[] | select(.sample_id == "W-3") |
		"\(.fields.lat.from) \(.fields.lat.to) \(.fields.location_source.to)" +
		" \(.fields.class.from) \(.fields.class.to)"' <<<"$ev")" = "null 45.04 track II IV"
check "and what the office kept of the second, with what the device says" \
	test "$(jq -r '.[-1].event.detail.readings[] | select(.sample_id == "W-4") |
		"\(.fields | length) \(.kept.lat.office) \(.kept.lat.device)" +
		" \(.kept.class.office) \(.kept.class.device)"' <<<"$ev")" = "0 45.05 45.04 II IV"
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
check "pulling again records nothing more" test "$(rev_events | jq length)" = $((before + 1))
check "the office store verifies" $O -q verify

# a reading placed by a store from before a reading's place went again
# (schema 46): the upgrade sends it once more
printf '时间,样品编号,总磷(mg/L)\n2024-05-01 10:20:30,W-5,0.08\n' >"$T/water5.csv"
$F -q sensor import "$T/water5.csv" --time-offset +08:00 2>/dev/null
$F -q sync --target "dir:$TGT" 2>/dev/null
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
gpx place20 45.060000 20
$F -q track import "$T/place20.gpx" 2>/dev/null
# what schema 46 left: no revision for the place, so each target's mark
# is past every reading's
store_to_schema_47 "$T/field/evidence.db" &&
	sqlite3 "$T/field/evidence.db" "UPDATE meta SET value = (SELECT max(rev) FROM readings)
		WHERE key > 'sync.readings_rev:' AND key < 'sync.readings_rev;'"
out=$($F sync --target "dir:$TGT" 2>&1)
check "after the upgrade the reading placed before it goes again" \
	grep -q "committed to .*: [0-9]* items\?, [1-9][0-9]* readings\?," <<<"$out"
$O -q pull --target "dir:$TGT" --case "$CASE" 2>/dev/null
check "and the office has its place" test "$(office_reading W-5 | cut -d' ' -f1-2)" = "45.06 track"
check "both stores verify" bash -c '$1 -q verify && $2 -q verify' _ "$F" "$O"
