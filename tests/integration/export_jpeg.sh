#!/bin/bash
# evcap export --format jpeg: tagged working copies. exiftool reads back from
# each copy the item's latitude, longitude and altitude, the camera's own
# DateTimeOriginal and the case number, and finds the XMP packet byte for
# byte the original's. Each copy is in the derivatives table and in a custody
# event naming both hashes; the originals stay as they were (evcap verify).
. "$(dirname "$0")/../lib/common.sh"

need jq exiftool python3 sqlite3 sha256sum ||
	{ skip "export jpeg: needs jq, exiftool, python3, sqlite3"; exit 0; }

CASE='嫩检公益立〔2023〕15号'
CARD=$T/card
mkdir -p "$CARD"
. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/base.jpg"

# jq as a check: its verdict is the exit status, its output is noise
jqe() { jq -e "$@" >/dev/null; }

# photo NAME 'YYYY:MM:DD HH:MM:SS'|'' [exiftool args...]: XMP in every one
photo() {
	local name=$1 t=$2
	shift 2
	local args=(-Make=DJI -Model=FC6310 "-XMP-dc:Description=排污口 $name")
	[ -n "$t" ] && args+=(-DateTimeOriginal="$t" -OffsetTimeOriginal=+08:00)
	cp "$T/base.jpg" "$CARD/$name"
	exiftool -q -overwrite_original "${args[@]}" "$@" "$CARD/$name"
}
photo EXIF_0001.JPG '2023:05:01 10:00:00' -GPSLatitude=46.9012345 -GPSLatitudeRef=N \
	-GPSLongitude=124.2031234 -GPSLongitudeRef=E -GPSAltitude=151.2 '-GPSAltitudeRef#=0'
photo XMP_0002.JPG '2023:05:01 10:01:00' -XMP-drone-dji:GpsLatitude=46.9023456 \
	-XMP-drone-dji:GpsLongitude=124.2045678 -XMP-drone-dji:AbsoluteAltitude=+149.75
photo NOPLACE_0003.JPG '' # no time, no place: a copy with the case number only
# a camera that wrote 0,0 for "no fix": evcap has no place for it, and its
# copy must not show the evidence off the coast of Africa
photo NULLISLAND_0004.JPG '2023:05:01 10:02:00' -GPSLatitude=0 -GPSLatitudeRef=S \
	-GPSLongitude=0 -GPSLongitudeRef=W -GPSAltitude=3 '-GPSAltitudeRef#=0'
# names a Windows desktop must still open: Chinese kept, a long one cut
# with its extension kept
photo '排污口1号.JPG' '2023:05:01 10:03:00'
LONG=$(printf '河%.0s' $(seq 1 81)).jpg
photo "$LONG" '2023:05:01 10:04:00'
printf 'field notes\n' > "$CARD/notes.txt"
if [ -n "$CORPUS" ] && [ -f "$CORPUS/photos/exiftool-GoPro-below-sea-level.jpg" ]; then
	cp "$CORPUS/photos/exiftool-GoPro-below-sea-level.jpg" "$CARD/"
else
	echo "# ../shared/corpus is absent: no real camera's photo in this test"
fi
(cd "$CARD" && sha256sum ./*) > "$T/card.sha"

$EVCAP init >/dev/null
$EVCAP case open "$CASE" --operator 张三 --operator 李四 --use >/dev/null
$EVCAP ingest --case "$CASE" "$CARD" >"$T/ingest.out" 2>&1
$EVCAP ls --json --case "$CASE" > "$T/ls.json"
NJPEG=$(jq '[.[] | select(.kind == "photo" and .format == "jpeg")] | length' "$T/ls.json")

$EVCAP --json export --case "$CASE" --format jpeg --out "$T/copies" >"$T/out.json" 2>"$T/err"
rc=$?
if grep -q 'not available in this build' "$T/err"; then
	skip "export jpeg: this build has no export command"
	exit 0
fi
check "jpeg: export exits 0" test $rc -eq 0
check "jpeg: a copy per JPEG photo" test "$(jq '.copies | length' "$T/out.json")" -eq "$NJPEG"
check "jpeg: the text file is skipped, named" jqe '[.skipped[] | select(.name == "notes.txt")] | length == 1' "$T/out.json"
check "jpeg: no temporary files left" bash -c "! ls -A '$T/copies' | grep -q '^\.tmp'"
check "jpeg: a Chinese name is kept in its copy's name" \
	bash -c "ls '$T/copies' | grep -qx 'item[0-9]*_排污口1号.JPG'"
check "jpeg: a long name is cut at a character's end and keeps its .jpg" \
	bash -c "ls '$T/copies' | grep -x 'item[0-9]*_河*\.jpg' | iconv -f UTF-8 -t UTF-8 >/dev/null &&
		[ \"\$(ls '$T/copies' | grep -c 'item[0-9]*_河*\.jpg')\" = 1 ]"
nullcopy=$(ls "$T/copies/"*NULLISLAND_0004*)
check "jpeg: a copy of a photo placed nowhere keeps no GPS position (the file's 0,0 dropped)" \
	bash -c "[ -f '$nullcopy' ] && [ -z \"\$(exiftool -s3 -GPSLatitude -GPSLongitude -GPSAltitude \
		'$nullcopy')\" ] && [ -n \"\$(exiftool -s3 -GPSLatitude '$CARD/NULLISLAND_0004.JPG')\" ]"

jq -c '.copies[]' "$T/out.json" | while read -r c; do
	path=$(jq -r .path <<<"$c")
	sha=$(jq -r .original_sha256 <<<"$c")
	item=$(jq -c --arg s "$sha" '.[] | select(.sha256 == $s)' "$T/ls.json")
	name=$(jq -r .original_name <<<"$item")
	orig=$CARD/$name
	exiftool -j -n -Composite:GPSLatitude -Composite:GPSLongitude -Composite:GPSAltitude \
		-EXIF:DateTimeOriginal -XPKeywords -UserComment -XPComment "$path" > "$T/copy.json"
	exiftool -j -n -EXIF:DateTimeOriginal "$orig" > "$T/orig.json"
	python3 - "$T/copy.json" "$T/orig.json" "$item" "$CASE" "$name" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))[0]; o = json.load(open(sys.argv[2]))[0]
it = json.loads(sys.argv[3]); case, name = sys.argv[4], sys.argv[5]
f = []
if it['lat'] is not None:
    for k, v in (('GPSLatitude', it['lat']), ('GPSLongitude', it['lon'])):
        if k not in c or abs(float(c[k]) - v) > 1e-6: f.append('%s %s != %s' % (k, c.get(k), v))
    if it['alt'] is not None and ('GPSAltitude' not in c or abs(float(c['GPSAltitude']) - it['alt']) > 1e-3):
        f.append('GPSAltitude %s != %s' % (c.get('GPSAltitude'), it['alt']))
if str(c.get('DateTimeOriginal')) != str(o.get('DateTimeOriginal')):
    f.append('DateTimeOriginal %r != %r' % (c.get('DateTimeOriginal'), o.get('DateTimeOriginal')))
if not any(case in str(c.get(k, '')) for k in ('XPKeywords', 'UserComment', 'XPComment')):
    f.append('case number not found')
print('PASS jpeg %s: place, camera time and case number read back' % name if not f
      else 'FAIL jpeg %s: %s' % (name, '; '.join(f)))
PY
	exiftool -b -XMP "$orig" > "$T/xmp.orig"
	exiftool -b -XMP "$path" > "$T/xmp.copy"
	if [ -s "$T/xmp.orig" ]; then
		check "jpeg $name: XMP unchanged" cmp -s "$T/xmp.orig" "$T/xmp.copy"
	fi
	h=$(sha256sum "$path" | cut -d' ' -f1)
	check "jpeg $name: the copy differs from the original" test "$h" != "$sha"
	check "jpeg $name: recorded as a derivative" test "$(sqlite3 "$EVCAP_STORE/evidence.db" \
		"SELECT count(*) FROM derivatives d JOIN items i ON i.id = d.item_id
		 WHERE i.sha256 = '$sha' AND d.sha256 = '$h'")" -eq 1
	check "jpeg $name: a custody event names both hashes" test "$(sqlite3 "$EVCAP_STORE/evidence.db" \
		"SELECT count(*) FROM custody WHERE action = 'export' AND item_sha256 = '$sha'
		 AND json_extract(event, '\$.detail.sha256') = '$h' AND case_number = '$CASE'")" -eq 1
done
check "jpeg: the card is unchanged" bash -c "cd '$CARD' && sha256sum --quiet -c '$T/card.sha'"
$EVCAP verify >"$T/verify.out" 2>&1
check "jpeg: evcap verify passes afterwards" test $? -eq 0

# the same copies through the page cache, as on a filesystem without direct I/O
EVCAP_NO_DIRECT=1 $EVCAP -q export --case "$CASE" --format jpeg --out "$T/copies-buffered" >/dev/null 2>&1
check "jpeg: copies written without direct I/O are the same bytes" diff -r "$T/copies" "$T/copies-buffered"

# the plain summary counts what is not a JPEG photo apart from failures
$EVCAP export --case "$CASE" --format jpeg --out "$T/copies2" >"$T/out.txt" 2>/dev/null
NOTJPEG=$(jq '[.[] | select(.kind != "photo" or (.format | IN("jpeg", "heic", "avif") | not))] | length' "$T/ls.json")
check "jpeg: the summary counts the items that are not photos apart from failures" \
	grep -q "; $NOTJPEG items\{0,1\} \(is\|are\) not a JPEG or HEIF photo, not copied\$" "$T/out.txt"

# temporary files a stopped export left are removed by the next; one that
# an export still holds (locked) is left alone
mkdir -p "$T/copies3"
head -c 5000 /dev/urandom >"$T/copies3/.tmp-item1_EXIF_0001.JPG-Ab12Cd"
head -c 5000 /dev/urandom >"$T/copies3/.tmp-item2_XMP_0002.JPG-Ef34Gh"
if need flock; then
	flock "$T/copies3/.tmp-item2_XMP_0002.JPG-Ef34Gh" sleep 30 &
	holder=$!
	on_exit "kill $holder 2>/dev/null"
	within 5 bash -c "grep -q FLOCK /proc/locks" || true
fi
$EVCAP export --case "$CASE" --format jpeg --out "$T/copies3" >/dev/null 2>"$T/err3"
check "jpeg: a stopped export's temporary file is removed, and said" \
	bash -c "[ ! -e '$T/copies3/.tmp-item1_EXIF_0001.JPG-Ab12Cd' ] &&
		grep -q 'removed 1 temporary file an earlier export that was stopped left' '$T/err3'"
if need flock; then
	check "jpeg: one another export holds is left alone" \
		test -e "$T/copies3/.tmp-item2_XMP_0002.JPG-Ef34Gh"
	kill "$holder" 2>/dev/null
fi

# working copies there already are not replaced without --force: the
# export is refused before anything is written, naming the folder and one
one=$(ls "$T/copies2" | head -1)
printf 'edited by hand\n' >"$T/copies2/$one"
$EVCAP export --case "$CASE" --format jpeg --out "$T/copies2" >/dev/null 2>"$T/err4"
rc=$?
check "jpeg: copies already in --out are refused (exit 2), named, left as they were" \
	bash -c '[ "$1" = 2 ] && grep -qF "$2 holds" "$3" && grep -q "give --force" "$3" &&
		[ "$(cat "$2/$4")" = "edited by hand" ] && ! ls -A "$2" | grep -q "^\.tmp"' \
	_ "$rc" "$T/copies2" "$T/err4" "$one"
$EVCAP export --case "$CASE" --format jpeg --out "$T/copies2" --force >/dev/null 2>&1
check "jpeg: --force replaces them with the copies again" diff -r "$T/copies" "$T/copies2"
