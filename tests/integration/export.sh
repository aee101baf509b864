#!/bin/bash
# evcap export: GeoJSON, KML, GPX and CSV of a case, each checked by a tool
# evcap did not write: jq against RFC 7946's structure, xmllint for KML 2.2
# and GPX 1.1 (well-formed, then the elements counted by XPath), Python's
# csv module for the CSV with its BOM and Chinese text. Items without a place
# are in the CSV, marked, and left out of the map formats. Every export is a
# custody event carrying the output's SHA-256.
. "$(dirname "$0")/../lib/common.sh"

need jq xmllint exiftool python3 sqlite3 sha256sum ||
	{ skip "export: needs jq, xmllint, exiftool, python3, sqlite3"; exit 0; }

CASE='嫩检公益立〔2023〕15号'
CARD=$T/card
mkdir -p "$CARD"
. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/base.jpg"

# jq as a check: its verdict is the exit status, its output is noise
jqe() { jq -e "$@" >/dev/null; }

# photo NAME 'YYYY:MM:DD HH:MM:SS'|'' LAT|'' LON ALT: a DJI-like photo
photo() {
	local name=$1 t=$2 lat=$3 lon=$4 alt=$5
	local args=(-ImageDescription="$name" -Make=DJI -Model=FC6310 -SerialNumber=0K8TDB1001)
	[ -n "$t" ] && args+=(-DateTimeOriginal="$t" -OffsetTimeOriginal=+08:00)
	[ -n "$lat" ] && args+=(-GPSLatitude="$lat" -GPSLatitudeRef=N -GPSLongitude="$lon"
		-GPSLongitudeRef=E -GPSAltitude="$alt" "-GPSAltitudeRef#=0")
	cp "$T/base.jpg" "$CARD/$name"
	exiftool -q -overwrite_original "${args[@]}" "$CARD/$name"
}
photo DJI_0001.JPG '2023:05:01 10:00:00' 46.90121 124.20315 151.2
photo DJI_0002.JPG '2023:05:01 10:02:30' 46.90188 124.20402 149.8
photo DJI_0003.JPG '2023:05:01 10:05:10' 46.90250 124.20511 152.0
photo DJI_0004.JPG '2023:05:01 10:07:00' 46.90302 124.20633 150.4
photo NOGPS_0005.JPG '' '' '' '' # no time and no place: nothing can place it

$EVCAP init >/dev/null
$EVCAP case open "$CASE" --title '嫩江行洪区违法建筑' --operator 张三 --operator 李四 --use >/dev/null
# the GPS track of the flight, where this build reads tracks
python3 - > "$T/track.gpx" <<'PY'
print('<?xml version="1.0" encoding="UTF-8"?>')
print('<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>')
for i in range(41):
    s = 55 * 60 + 30 * i  # from 01:55:00Z every 30 s
    print('<trkpt lat="%.6f" lon="%.6f"><ele>150</ele><time>2023-05-01T%02d:%02d:%02dZ</time></trkpt>'
          % (46.9 + i * 0.0001, 124.2 + i * 0.00015, 1 + s // 3600, s % 3600 // 60, s % 60))
print('</trkseg></trk></gpx>')
PY
have_track=0
if $EVCAP track import "$T/track.gpx" >"$T/track.out" 2>&1; then have_track=1; fi
$EVCAP ingest --case "$CASE" "$CARD" >"$T/ingest.out" 2>&1
check "export: test photos ingested" test "$($EVCAP ls --json | jq '[.[] | select(.kind == "photo")] | length')" -eq 5
if [ -n "$CORPUS" ] && [ -d "$CORPUS/photos" ]; then
	$EVCAP ingest --case "$CASE" "$CORPUS"/photos/*.jpg >>"$T/ingest.out" 2>&1
else
	echo "# ../shared/corpus is absent: only synthetic photos are exported"
fi
$EVCAP ls --json --case "$CASE" > "$T/ls.json"
N=$(jq length "$T/ls.json")
NLOC=$(jq '[.[] | select(.lat != null and .lon != null)] | length' "$T/ls.json")
NOLOC_SHA=$(jq -r '.[] | select(.original_name == "NOGPS_0005.JPG") | .sha256' "$T/ls.json")
# what a clerk reads before an export: show prints places as --json does
# (46.90121 from EXIF's degrees, minutes and seconds, not 46.901209999999999)
ID1=$(jq -r '.[] | select(.original_name == "DJI_0001.JPG") | .id' "$T/ls.json")
check "show: the place is printed to 15 digits, as written in the photo" \
	bash -c '"$1" show "$2" | grep -Eq "^lat +46\.90121$" && "$1" show "$2" |
		grep -Eq "^alt +151\.2$"' _ "$EVCAP" "$ID1"
echo "# $N items, $NLOC located, track imported: $have_track"

# --- GeoJSON, against RFC 7946's structure ---
$EVCAP export --case "$CASE" --format geojson --out "$T/out.geojson" >"$T/o" 2>"$T/e"
check "geojson: export exits 0" test $? -eq 0
check "geojson: RFC 7946 structure" jqe '
	.type == "FeatureCollection" and (has("crs") | not) and (.features | type == "array") and
	all(.features[]; .type == "Feature" and (.properties | type == "object") and
		(.geometry.type == "Point" or .geometry.type == "LineString")) and
	all(.features[] | select(.geometry.type == "Point") | .geometry.coordinates;
		(length == 2 or length == 3) and all(.[]; type == "number") and
		.[0] >= -180 and .[0] <= 180 and .[1] >= -90 and .[1] <= 90) and
	all(.features[] | select(.geometry.type == "LineString") | .geometry.coordinates;
		length >= 2 and all(.[]; length >= 2 and length <= 3))' "$T/out.geojson"
check "geojson: one point per located item" test \
	"$(jq '[.features[] | select(.geometry.type == "Point")] | length' "$T/out.geojson")" -eq "$NLOC"
check "geojson: properties carry sha256, time, case, kind, sources" jqe --arg c "$CASE" '
	all(.features[] | select(.geometry.type == "Point") | .properties;
		(.sha256 | test("^[0-9a-f]{64}$")) and .case == $c and .kind == "photo" and
		has("time") and (.sources | has("time") and has("location")) and .datum == "WGS-84")' \
	"$T/out.geojson"
# [lon, lat, alt] in that order, the same numbers as ls --json
check "geojson: coordinates are [lon, lat, alt] of the item" jqe --slurpfile ls "$T/ls.json" '
	($ls[0] | map({(.sha256): .}) | add) as $by |
	all(.features[] | select(.geometry.type == "Point");
		$by[.properties.sha256] as $i | .geometry.coordinates as $c |
		(($c[0] - $i.lon) | fabs) < 1e-9 and (($c[1] - $i.lat) | fabs) < 1e-9 and
		($i.alt == null or (($c[2] - $i.alt) | fabs) < 1e-6))' "$T/out.geojson"
check "geojson: the unplaced item is left out" bash -c "test -s '$T/out.geojson' && test -n '$NOLOC_SHA' && ! grep -q '$NOLOC_SHA' '$T/out.geojson'"
check "geojson: says it is WGS-84" jqe '.evcap.datum == "WGS-84" and .evcap.items_without_location >= 1' "$T/out.geojson"
if [ "$have_track" = 1 ]; then
	check "geojson: the track is a LineString" jqe \
		'[.features[] | select(.geometry.type == "LineString")] | length == 1' "$T/out.geojson"
else
	skip "geojson track: this build has no 'evcap track import'"
fi

# --- KML 2.2 ---
$EVCAP export --case "$CASE" --format kml --out "$T/out.kml" >"$T/o" 2>"$T/e"
check "kml: export exits 0" test $? -eq 0
check "kml: well-formed XML" xmllint --noout --nonet "$T/out.kml"
xc() { xmllint --nonet --xpath "$1" "$2" 2>/dev/null; }
check "kml: KML 2.2 namespace" test "$(xc 'namespace-uri(/*)' "$T/out.kml")" = "http://www.opengis.net/kml/2.2"
check "kml: one point placemark per located item" test \
	"$(xc "count(//*[local-name()='Placemark'][*[local-name()='Point']])" "$T/out.kml")" -eq "$NLOC"
check "kml: each placemark has a time and its hash" test \
	"$(xc "count(//*[local-name()='Placemark'][*[local-name()='Point']][*[local-name()='TimeStamp']][.//*[local-name()='Data'][@name='sha256']])" "$T/out.kml")" -eq \
	"$(jq '[.[] | select(.lat != null and .captured_at != null)] | length' "$T/ls.json")"
check "kml: balloons carry inline thumbnails" test \
	"$(grep -o 'data:image/jpeg;base64' "$T/out.kml" | wc -l)" -ge 4
check "kml: the unplaced item is left out" bash -c "test -s '$T/out.kml' && test -n '$NOLOC_SHA' && ! grep -q '$NOLOC_SHA' '$T/out.kml'"
check "kml: nothing fetched from the network" bash -c "test -s '$T/out.kml' && ! grep -Eo 'https?://[^\"< ]*' '$T/out.kml' | grep -v '^http://www.opengis.net/kml/2.2\$'"
if [ "$have_track" = 1 ]; then
	check "kml: the track is a LineString" test "$(xc "count(//*[local-name()='LineString'])" "$T/out.kml")" -eq 1
fi

# A KML viewer (Google Earth, Ovital) takes a description for HTML, and a
# case's title is typed by anyone or comes in a pulled bundle: after XML
# parsing, markup in the title is still text, as a file name in a balloon is
KT='排污口 COD<img src=x onerror=alert(document.domain)> <a href="file:///C:/">超标</a>'
$EVCAP case open 标题案 --title "$KT" >/dev/null
$EVCAP export --case 标题案 --format kml --out "$T/title.kml" >/dev/null 2>&1
check "kml: a title's markup reaches the viewer as text (was: a live <img onerror> and link)" \
	python3 - "$T/title.kml" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {'k': 'http://www.opengis.net/kml/2.2'}
d = ET.parse(sys.argv[1]).getroot().find('k:Document/k:description', ns).text
sys.exit(not (d.startswith('排污口 COD&lt;img src=x onerror=') and '<' not in d
              and '&lt;a href=&quot;file:///C:/&quot;&gt;' in d))
PY

# --- GPX 1.1 ---
$EVCAP export --case "$CASE" --format gpx --out "$T/out.gpx" >"$T/o" 2>"$T/e"
check "gpx: export exits 0" test $? -eq 0
check "gpx: well-formed XML" xmllint --noout --nonet "$T/out.gpx"
check "gpx: GPX 1.1" test "$(xc "string(/*[local-name()='gpx']/@version)" "$T/out.gpx")" = "1.1"
check "gpx: a waypoint per located item" test "$(xc "count(//*[local-name()='wpt'])" "$T/out.gpx")" -eq "$NLOC"
if [ "$have_track" = 1 ]; then
	check "gpx: the track's points" test "$(xc "count(//*[local-name()='trkpt'])" "$T/out.gpx")" -ge 30
fi

# --- CSV, re-read as Excel and scripts would ---
$EVCAP export --case "$CASE" --format csv --out "$T/out.csv" >"$T/o" 2>"$T/e"
check "csv: export exits 0" test $? -eq 0
check "csv: starts with the UTF-8 BOM" test "$(head -c 3 "$T/out.csv" | od -An -tx1 | tr -d ' ')" = "efbbbf"
check "csv: every line ends CRLF" python3 -c "
import sys; d = open('$T/out.csv', 'rb').read()
sys.exit(0 if d.endswith(b'\r\n') and d.count(b'\n') == d.count(b'\r\n') else 1)"
python3 - "$T/out.csv" "$T/ls.json" "$CASE" <<'PY'
import csv, json, sys
path, lsp, case = sys.argv[1:4]
rows = list(csv.DictReader(open(path, encoding='utf-8-sig', newline='')))
items = json.load(open(lsp))
fails = []
keys = set().union(*(i.keys() for i in items))
missing = keys - set(rows[0].keys()) if rows else keys
if missing: fails.append('columns missing: %s' % sorted(missing))
irows = [r for r in rows if r['record_type'] == 'item']
if len(irows) != len(items): fails.append('%d item rows for %d items' % (len(irows), len(items)))
by = {r['sha256']: r for r in irows}
for i in items:
    r = by.get(i['sha256'])
    if not r: fails.append('no row for ' + i['original_name']); continue
    if r['case'] != case: fails.append('case number garbled: %r' % r['case'])
    if r['original_name'] != i['original_name']: fails.append('name %r' % r['original_name'])
    if i['lat'] is None and r['location_status'] != 'NO LOCATION': fails.append('unplaced not marked')
    if i['lat'] is not None and abs(float(r['lat']) - i['lat']) > 1e-7: fails.append('lat differs')
    if r['datum'] != (i['datum'] or ''): fails.append('datum %r' % r['datum'])
if not any('张三' in r['operators'] and '李四' in r['operators'] for r in irows):
    fails.append('operator names garbled')
print('PASS csv: BOM, Chinese case number and operators, every ls field, unplaced marked'
      if not fails else 'FAIL csv: ' + '; '.join(fails[:5]))
PY
# A place is written as the fewest digits that read back as the double the
# store holds (Python's repr is that shortest form), and so is the value
# ls --json shows at its 15 significant digits (%.8f rounded it away). One
# photo's position, from DMS rationals, needs 16 digits.
cp "$T/base.jpg" "$T/digits.jpg"
exiftool -q -overwrite_original -DateTimeOriginal='2023:05:01 10:09:00' -OffsetTimeOriginal=+08:00 \
	-GPSLatitude=30.5376591033333 -GPSLatitudeRef=N -GPSLongitude=114.316683985 \
	-GPSLongitudeRef=E "$T/digits.jpg"
$EVCAP case open 位数案 >/dev/null
$EVCAP ingest --case 位数案 "$T/digits.jpg" >/dev/null 2>&1
$EVCAP --json ls --case 位数案 >"$T/digits.json"
$EVCAP export --case 位数案 --format csv --out "$T/digits.csv" >/dev/null 2>&1
for f in out digits; do
	[ $f = out ] && j=ls || j=digits
	python3 - "$T/$f.csv" "$T/$j.json" "$EVCAP_STORE/evidence.db" <<'PY'
import csv, json, sqlite3, sys
rows = {r['sha256']: r for r in csv.DictReader(open(sys.argv[1], encoding='utf-8-sig', newline=''))}
items = json.load(open(sys.argv[2]))
db = sqlite3.connect('file:%s?mode=ro' % sys.argv[3], uri=True)
fails, n = [], 0
for i in items:
    if i['lat'] is None:
        continue
    lat, lon = db.execute('SELECT lat, lon FROM items WHERE sha256 = ?', (i['sha256'],)).fetchone()
    r = rows.get(i['sha256'], {})
    got = (r.get('lat'), r.get('lon'))
    n += 1
    if got != (repr(lat), repr(lon)) or \
       (float('%.15g' % lat), float('%.15g' % lon)) != (i['lat'], i['lon']):
        fails.append('%s: csv %s, stored %r %r, ls --json %r %r'
                     % (i['original_name'], got, lat, lon, i['lat'], i['lon']))
print('PASS csv: %s: %d place(s) as stored, as ls --json shows them' % (sys.argv[1].rsplit('/', 1)[-1], n)
      if n and not fails else 'FAIL csv: places rounded (was: %%.8f): %s' % fails[:2])
PY
done
# GCJ-02 columns: added and labelled; the WGS-84 columns stay exactly the same
$EVCAP export --case "$CASE" --format csv --datum gcj02 --out "$T/gcj.csv" >"$T/o" 2>"$T/e"
python3 - "$T/out.csv" "$T/gcj.csv" <<'PY'
import csv, math, sys
a = list(csv.DictReader(open(sys.argv[1], encoding='utf-8-sig', newline='')))
b = list(csv.DictReader(open(sys.argv[2], encoding='utf-8-sig', newline='')))
ok = len(a) == len(b) and 'lat_gcj02' in b[0] and 'gcj02_note' in b[0]
for x, y in zip(a, b):
    ok = ok and x['lat'] == y['lat'] and x['lon'] == y['lon']
    if y['lat'] and y['lat_gcj02'] and 73 < float(y['lon']) < 135 and 18 < float(y['lat']) < 54:
        d = math.hypot((float(y['lat_gcj02']) - float(y['lat'])) * 111320,
                       (float(y['lon_gcj02']) - float(y['lon'])) * 111320 * math.cos(math.radians(float(y['lat']))))
        ok = ok and 100 < d < 900 and 'GCJ-02' in y['gcj02_note']
print('PASS csv gcj02: labelled columns added, WGS-84 unchanged' if ok else 'FAIL csv gcj02: columns wrong')
PY

# --- filters ---
$EVCAP export --case "$CASE" --format geojson --from 2023-05-01T10:02:00+08:00 --to 2023-05-01T10:06:00+08:00 \
	--out "$T/span.geojson" >/dev/null 2>&1
check "export: --from/--to keep the items of that span" test \
	"$(jq '[.features[] | select(.geometry.type == "Point")] | length' "$T/span.geojson")" -eq 2

# --span by instant, never by the text of a time: a capture time with a
# fraction of a second ("...:00.041Z") sorts before a whole-second bound
# ("...:00Z") as text, a whole-second time ("...:05Z") after a bound with
# a fraction ("...:05.500Z"), and a time kept with its offset (a pulled
# item's: a bundle may carry any ISO 8601 zone) apart from its instant.
S=$T/span
mkdir -p "$S/card"
for p in 'A 10:00:00 041' 'B 10:00:05 ' 'C 10:00:30 '; do
	set -- $p
	cp "$T/base.jpg" "$S/card/$1.JPG"
	exiftool -q -overwrite_original -DateTimeOriginal="2023:05:01 $2" -OffsetTimeOriginal=+08:00 \
		${3:+-SubSecTimeOriginal=$3} "$S/card/$1.JPG"
done
SS="$EVCAP --store $S/store"
$SS init >/dev/null 2>&1
$SS case open S-1 --use --operator a >/dev/null 2>&1
$SS ingest "$S/card" >/dev/null 2>&1
# C as a pulled item would keep it (none of evcap's own writers do)
sqlite3 "$S/store/evidence.db" \
	"UPDATE items SET captured_at = '2023-05-01T10:00:30+08:00' WHERE original_name = 'C.JPG'"
printf 'time,parameter,value,unit,sample_id\n%s\n%s\n' '2023-05-01 10:00:10.5+08:00,pH,7.1,,R1' \
	'2023-05-01 10:00:12+08:00,pH,7.2,,R2' >"$S/kit.csv"
$SS sensor import "$S/kit.csv" >/dev/null 2>&1
# in_span FROM TO: the names and sample ids the CSV export of that span holds
in_span() {
	rm -f "$S/o.csv"
	$SS export --format csv --from "$1" --to "$2" --out "$S/o.csv" >/dev/null 2>&1 &&
		python3 -c '
import csv, sys
rows = csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline=""))
print(" ".join(sorted(r["original_name"] or r["reading_sample_id"] for r in rows)))' "$S/o.csv"
}
check "export --from/--to: the captured times are as the test needs" test \
	"$($SS --json ls | jq -r '[.[].captured_at | values] | sort | join(" ")')" = \
	"2023-05-01T02:00:00.041Z 2023-05-01T02:00:05Z 2023-05-01T10:00:30+08:00"
check "export --from/--to: a photo at 02:00:00.041Z is in 02:00:00Z .. 02:00:01Z" \
	test "$(in_span 2023-05-01T02:00:00Z 2023-05-01T02:00:01Z)" = A.JPG
check "export --from/--to: and not in a span that ends at 02:00:00Z" \
	test "$(in_span 2023-05-01T01:59:00Z 2023-05-01T02:00:00Z)" = ""
check "export --from/--to: a photo at 02:00:05Z is in 02:00:04.5Z .. 02:00:05.5Z" \
	test "$(in_span 2023-05-01T02:00:04.5Z 2023-05-01T02:00:05.5Z)" = B.JPG
check "export --from/--to: a time kept as 10:00:30+08:00 is at 02:00:30Z" \
	test "$(in_span 2023-05-01T02:00:29Z 2023-05-01T02:00:31Z)" = C.JPG
check "export --from/--to: and in no span it is not in" \
	test "$(in_span 2023-05-01T02:00:31Z 2023-05-01T09:00:00Z)" = ""
check "export --from/--to: a reading at 02:00:10.5Z is in 02:00:10Z .. 02:00:11Z" \
	test "$(in_span 2023-05-01T02:00:10Z 2023-05-01T02:00:11Z)" = R1
check "export --from/--to: a reading at 02:00:12Z is in 10:00:11.5+08:00 .. 10:00:12.5+08:00" \
	test "$(in_span 2023-05-01T10:00:11.5+08:00 2023-05-01T10:00:12.5+08:00)" = R2
check "export --from/--to: the whole span holds them all" \
	test "$(in_span 2023-05-01T00:00:00Z 2023-05-02T00:00:00Z)" = "A.JPG B.JPG C.JPG R1 R2"

# --- custody: each export is an event naming its output and hash ---
DB=$EVCAP_STORE/evidence.db
for f in out.geojson out.kml out.gpx out.csv gcj.csv; do
	h=$(sha256sum "$T/$f" | cut -d' ' -f1)
	n=$(sqlite3 "$DB" "SELECT count(*) FROM custody WHERE action = 'export'
		AND json_extract(event, '\$.detail.out') = '$f' AND json_extract(event, '\$.detail.sha256') = '$h'
		AND case_number = '$CASE'")
	check "custody: the export of $f is recorded with its SHA-256" test "$n" -eq 1
done

# --- usage errors ---
$EVCAP export --case "$CASE" --format shp --out "$T/x" >/dev/null 2>&1
check "export: an unknown format is a usage error" test $? -eq 2
$EVCAP export --case "$CASE" --format geojson --datum gcj02 --out "$T/x" >/dev/null 2>&1
check "export: --datum gcj02 is refused for geojson" test $? -eq 2
$EVCAP export --case "$CASE" --format csv --out "$EVCAP_STORE/x.csv" >/dev/null 2>&1
check "export: never into the store" test $? -eq 2 -a ! -e "$EVCAP_STORE/x.csv"
$EVCAP export --help > "$T/help" 2>&1
check "export: --help" grep -q -- '--datum gcj02' "$T/help"

# --- an existing file is never replaced without --force ---
# (a report handed over, whose SHA-256 the custody log holds, must not be
# lost to a second export under the same name)
exports() { sqlite3 "$EVCAP_STORE/evidence.db" "SELECT count(*) FROM custody WHERE action = 'export'"; }
printf 'the clerk'"'"'s own notes\n' >"$T/mine.csv"
before=$(exports)
$EVCAP export --case "$CASE" --format csv --out "$T/mine.csv" >/dev/null 2>"$T/ow.err"
rc=$?
check "export: an existing --out is refused (exit 2), named, and left as it was" \
	bash -c '[ "$1" = 2 ] && grep -qF "$2 exists already; give --force" "$3" &&
		[ "$(wc -l <"$3")" = 1 ] && [ "$(cat "$2")" = "the clerk'"'"'s own notes" ]' \
	_ "$rc" "$T/mine.csv" "$T/ow.err"
check "export: a refused export records nothing" test "$(exports)" = "$before"
$EVCAP export --case "$CASE" --format csv --out "$T/mine.csv" --force >/dev/null 2>&1
check "export: --force replaces it, and it is recorded" \
	bash -c '[ $? = 0 ] && head -c 3 "$1" | cmp -s - <(printf "\357\273\277") && [ "$(sqlite3 \
		"$2" "SELECT count(*) FROM custody WHERE action = '"'export'"'")" = $(($3 + 1)) ]' \
	_ "$T/mine.csv" "$EVCAP_STORE/evidence.db" "$before"
mkdir -p "$T/adir"
$EVCAP export --case "$CASE" --format kml --out "$T/adir" >/dev/null 2>"$T/ow.err"
rc=$?
check "export: --out naming a folder is refused, saying so" \
	bash -c '[ "$1" = 2 ] && grep -qF "$2 is a folder" "$3"' _ "$rc" "$T/adir" "$T/ow.err"
$EVCAP verify >"$T/v" 2>&1
check "export: evcap verify passes afterwards" test $? -eq 0

# --- -q: an export that went well prints nothing, and still writes its file ---
$EVCAP -q export --case "$CASE" --format csv --out "$T/quiet.csv" >"$T/q.out" 2>"$T/q.err"
rc=$?
check "export -q: exit 0, the file written, nothing printed" \
	bash -c '[ "$1" = 0 ] && [ -s "$2" ] && [ ! -s "$3" ] && [ ! -s "$4" ]' \
	_ "$rc" "$T/quiet.csv" "$T/q.out" "$T/q.err"
$EVCAP -q export --case "$CASE" --format jpeg --out "$T/quiet-jpeg" >"$T/qj.out" 2>"$T/qj.err"
rc=$?
check "export -q --format jpeg: exit 0, the copies written, nothing printed" \
	bash -c '[ "$1" = 0 ] && [ "$(ls "$2" | grep -ci "\.jpg$")" -ge 5 ] && [ ! -s "$3" ] && [ ! -s "$4" ]' \
	_ "$rc" "$T/quiet-jpeg" "$T/qj.out" "$T/qj.err"

# --- text a card or a person gave that a format cannot carry as itself ---
# A name from a Chinese camera's FAT card in GBK, `<&` in a name, a note
# holding a control character and U+FFFE, a title holding U+FFFF (XML 1.0
# allows neither) and a CR: each export stays well-formed, and shows such
# a character as \xNN, as evcap shows names, rather than losing it. In the
# CSV a leading apostrophe is always the formula guard: one taken off
# gives every name back, a name that began with one too.
H=$T/hostile
mkdir -p "$H/card"
cp "$T/base.jpg" "$H/card/"$'\xb2\xe2\xca\xd4.JPG'
cp "$T/base.jpg" "$H/card/q<&>.JPG"
cp "$T/base.jpg" "$H/card/'=1+2.JPG"
cp "$T/base.jpg" "$H/card/=1+2.JPG"
i=0
for f in "$H/card/"*; do
	i=$((i + 1))
	exiftool -q -overwrite_original -GPSLatitude=46.9$i -GPSLatitudeRef=N -GPSLongitude=124.2 \
		-GPSLongitudeRef=E "$f"
done
HS="$EVCAP --store $H/store"
$HS init >/dev/null 2>&1
$HS case open 'H<&">1' --title t --use >/dev/null 2>&1
$HS ingest "$H/card" >/dev/null 2>&1
$HS note "$($HS --json ls | jq '.[0].id')" n >/dev/null
# evcap refuses control characters typed now; a store from before, or a
# bundle from an older device, may hold them
sqlite3 "$H/store/evidence.db" "UPDATE cases SET title = 't' || char(65535) || 'z' || char(13);
	UPDATE notes SET text = 'n' || char(5) || char(65534) || '<&'"
for f in kml gpx html csv; do
	$HS export --case 'H<&">1' --format $f --out "$H/out.$f" >/dev/null 2>&1 || echo "# $f: rc $?"
done
check "export: KML and GPX stay well-formed with U+FFFE, U+FFFF and controls in notes and title" \
	xmllint --noout --nonet "$H/out.kml" "$H/out.gpx"
check "export: the GBK name is shown as stored, in KML, GPX, report and CSV" \
	bash -c 'for f in kml gpx html csv; do grep -qF "\\xB2\\xE2\\xCA\\xD4.JPG" "$1/out.$f" || exit 1; done' _ "$H"
check "export: the note's characters are shown as \\xNN, never as U+FFFD" \
	bash -c 'grep -qF "n\\x05\\xEF\\xBF\\xBE&lt;&amp;" "$1/out.html" &&
		grep -qF "n\\x05\\xEF\\xBF\\xBE<&" "$1/out.csv" && ! grep -q $'"'"'\xef\xbf\xbd'"'"' "$1"/out.*' _ "$H"
check "export: the title's U+FFFF too, and its CR is kept in the description's HTML" python3 -c '
import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1]).getElementsByTagName("description")[0].firstChild.data
sys.exit(not d.startswith("t\\xEF\\xBF\\xBFz&#13; - "))' "$H/out.kml"
check "export: CSV names less the guard's apostrophe are the stored names" python3 -c '
import csv, json, sys
rows = csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline=""))
got = sorted(r["original_name"][1:] if r["original_name"].startswith("\x27") else r["original_name"]
             for r in rows)
want = sorted(i["original_name"] for i in json.load(sys.stdin))
sys.exit(not (got == want and len(got) == 4))' "$H/out.csv" < <($HS --json ls)
# text in the store that is not UTF-8 (none of evcap's writers store any,
# but a store may be written by other means) is escaped as a name is,
# never a field left out of `ls --json` or of a bundle's manifest
sqlite3 "$H/store/evidence.db" "UPDATE items SET model = CAST(x'4dff5c' AS TEXT)"
check "ls --json: a model that is not UTF-8 is shown escaped, not left out" \
	bash -c '$1 --json ls | jq -e "all(.[]; .model == \"M\\\\xFF\\\\\\\\\")" >/dev/null' _ "$HS"
mkdir "$H/tgt"
$HS sync --target "dir:$H/tgt" >/dev/null 2>&1
check "sync: the manifest carries it escaped too" \
	jq -e 'all(.items[]; .model == "M\\xFF\\\\")' "$H"/tgt/cases/*/bundles/*/manifest.json

# --- text-direction characters from a card and a sensor file ---
# U+202E (RIGHT-TO-LEFT OVERRIDE) turns the text after it around: a card's
# DJI_0001<U+202E>GPJ.exe reads "DJI_0001exe.JPG", a kit's sample
# S-<U+202E>123-4 reads "S-4-321". evcap refuses one typed; one from a card
# or a file is kept, and written \xNN wherever it is shown, as a control
# character is: the name stored so (it reads back to the card's bytes),
# the sample id as read, escaped in every report and on the terminal.
B=$T/bidi
RLO=$'\u202e'
mkdir -p "$B/card"
cp "$T/base.jpg" "$B/base.jpg"
exiftool -q -overwrite_original -DateTimeOriginal='2023:05:01 10:00:00' -OffsetTimeOriginal=+08:00 \
	-GPSLatitude=46.9 -GPSLatitudeRef=N -GPSLongitude=124.2 -GPSLongitudeRef=E "$B/base.jpg"
cp "$B/base.jpg" "$B/card/DJI_0001${RLO}GPJ.exe" # (exiftool writes no .exe)
printf 'time,parameter,value,unit,sample_id\n%s\n%s\n' "2023-05-01 10:00:00+08:00,pH,7.1,,S-${RLO}123-4" \
	"2023-05-01 10:01:00+08:00,p${RLO}H,7.2,,S-2" >"$B/kit.csv"
BS="$EVCAP --store $B/store"
$BS init >/dev/null 2>&1
$BS case open B-1 --use --operator a >/dev/null 2>&1
$BS ingest "$B/card" >"$B/term" 2>&1
$BS sensor import "$B/kit.csv" >>"$B/term" 2>&1
SHOWN='DJI_0001\xE2\x80\xAEGPJ.exe'
check "bidi: the card's name is stored with U+202E written \\xNN" test \
	"$($BS --json ls | jq -r '.[] | select(.kind == "photo") | .original_name')" = "$SHOWN"
for f in html csv kml gpx geojson; do
	$BS export --format $f --lang en --out "$B/r.$f" >>"$B/term" 2>&1 || echo "# $f: rc $?"
done
$BS ls >>"$B/term" 2>&1
$BS readings >>"$B/term" 2>&1
$BS log >>"$B/term" 2>&1
check "bidi: no report holds U+202E as it is" bash -c '! grep -l "$1" "$2"/r.*' _ "$RLO" "$B"
check "bidi: the name is shown \\xNN in the report, CSV, KML, GPX and GeoJSON" \
	bash -c 'for f in html csv kml gpx; do grep -qF "$1" "$2/r.$f" || exit 1; done &&
		jq -e --arg n "$1" "any(.features[]; .properties.name == \$n)" "$2/r.geojson" >/dev/null' \
	_ "$SHOWN" "$B"
check "bidi: the sample id is shown \\xNN in the report and the CSV" \
	bash -c 'grep -qF "<td>S-\\xE2\\x80\\xAE123-4</td>" "$1/r.html" &&
		grep -qF ",S-\\xE2\\x80\\xAE123-4," "$1/r.csv"' _ "$B"
check "bidi: ingest, sensor import, ls, readings and log print no U+202E as it is" \
	bash -c '[ -s "$2/term" ] && ! grep -q "$1" "$2/term" && grep -qF "$3" "$2/term" &&
		grep -qF "p\\xE2\\x80\\xAEH" "$2/term"' _ "$RLO" "$B" "$SHOWN"
# a name kept as it was read (a store from before, a bundle from a device
# that did not escape it) is escaped where it is shown
sqlite3 "$B/store/evidence.db" "UPDATE items SET original_name = 'OLD_${RLO}GPJ.exe'
	WHERE kind = 'photo'"
$BS export --format html --lang en --out "$B/old.html" >/dev/null 2>&1
$BS export --format geojson --out "$B/old.geojson" >/dev/null 2>&1
check "bidi: a name stored with U+202E as it is is escaped by ls, show and the exports" \
	bash -c 'o=$($1 ls; $1 show 1) && [[ $o != *"$2"* ]] && [[ $o == *"OLD_\\xE2\\x80\\xAEGPJ"* ]] &&
		! grep -q "$2" "$3/old.html" "$3/old.geojson" &&
		grep -qF "OLD_\\xE2\\x80\\xAEGPJ" "$3/old.html" &&
		grep -qF "OLD_\\\\xE2\\\\x80\\\\xAEGPJ" "$3/old.geojson"' _ "$BS" "$RLO" "$B"
