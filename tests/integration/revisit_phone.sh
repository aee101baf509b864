#!/bin/bash
# Re-inspection of photos taken with a phone: no drone gimbal yaw, only the
# EXIF GPSImgDirection (and its reference) that phones write, set here by
# exiftool. evcap keeps the direction, `revisit` compares it as the
# heading (a photo facing away is not paired), the report shows it with
# its north, the CSV carries it, and it survives a bundle to the office.
. "$(dirname "$0")/../lib/common.sh"

if ! need exiftool jq cjpeg; then
	skip "revisit_phone: needs exiftool, jq and cjpeg (libimage-exiftool-perl, jq, libjpeg-turbo-progs)"
	exit 0
fi
[ -n "${EVCAP_SAN:-}" ] && export EVCAP_META_INPROCESS=1
jqok() { jq -e "$@" >/dev/null; }

P=$T/photos
mkdir -p "$P/v1" "$P/v2"
{ printf 'P6\n32 24\n255\n'; head -c $((32 * 24 * 3)) /dev/zero | tr '\0' '\200'; } >"$T/g.ppm"
cjpeg -quality 85 "$T/g.ppm" >"$T/g.jpg"

# photo DIR NAME "YYYY:MM:DD HH:MM:SS" LAT LON DIR REF: DIR "-" = absent.
photo() {
	local f=$P/$1/$2.jpg
	local args=(-overwrite_original -Make=Apple -Model="iPhone 13" -DateTimeOriginal="$3"
		-OffsetTimeOriginal=+08:00 -GPSLatitude="$4" -GPSLatitudeRef=N -GPSLongitude="$5"
		-GPSLongitudeRef=E -GPSAltitude=37 -GPSAltitudeRef=0 -ImageDescription="$2")
	[ "$6" != - ] && args+=(-GPSImgDirection="$6" -GPSImgDirectionRef="$7")
	cp "$T/g.jpg" "$f"
	exiftool "${args[@]}" "$f" >/dev/null || { bad "revisit_phone: exiftool could not tag $f"; exit 1; }
}
# site S: two spots about 28 m apart; site U, 1.1 km north: photos with no direction
photo v1 B1 "2023:05:10 09:00:00" 49.18000 125.22000 123.5 M
photo v1 B2 "2023:05:10 09:01:00" 49.18025 125.22000 10 T
photo v1 B3 "2023:05:10 09:02:00" 49.19000 125.22000 - -
photo v2 A1 "2023:09:20 10:00:00" 49.18001 125.22001 130 M
photo v2 A2 "2023:09:20 10:01:00" 49.18026 125.22000 200 T
photo v2 A3 "2023:09:20 10:02:00" 49.19001 125.22001 - -

CASE='嫩检公益立〔2023〕16号'
F="$EVCAP --store $T/field"
$F init >/dev/null 2>&1 && $F case open "$CASE" --use >/dev/null 2>&1
if ! $F ingest "$P" >"$T/ingest.out" 2>&1; then
	bad "revisit_phone: ingest failed: $(tail -3 "$T/ingest.out")"
	exit 1
fi
$F site add "$CASE" S --lat 49.1801 --lon 125.22 --radius 60 >/dev/null
$F site add "$CASE" U --lat 49.19 --lon 125.22 --radius 60 >/dev/null
$F --json ls --case "$CASE" >"$T/ls.json"
check "revisit_phone: the direction and its north are kept as the file says" \
	jqok '(.[] | select(.original_name == "B1.jpg") | .img_direction == 123.5 and .img_direction_ref == "M")
		and (.[] | select(.original_name == "A2.jpg") | .img_direction == 200 and .img_direction_ref == "T")
		and (.[] | select(.original_name == "B3.jpg") | .img_direction == null and .img_direction_ref == null)
		and all(.[]; .metadata_error == null)' "$T/ls.json"

$F --json revisit --case "$CASE" >"$T/pairs.json" 2>"$T/err"
got=$(jq -c '[.pairs[] | [.after_name, .before_name, .heading_diff_deg]] | sort' "$T/pairs.json")
want='[["A1.jpg","B1.jpg",6.5],["A3.jpg","B3.jpg",null]]'
if [ "$got" = "$want" ]; then ok "revisit_phone: pairs compare the phone's direction ($got)"
else bad "revisit_phone: pairs $got, expected $want ($(cat "$T/err"))"; fi
check "revisit_phone: the photo facing 190 degrees away is not paired" \
	jqok 'any(.unpaired.after[]; .name == "A2.jpg" and .reason == "facing away from every nearby earlier photo")' \
	"$T/pairs.json"

$F revisit --case "$CASE" --lang en --html "$T/report.html" >/dev/null 2>&1
check "revisit_phone: the report shows each direction and says which is magnetic" \
	bash -c "grep -qE '124&deg; \(magnetic\)(<| &middot;)' '$T/report.html' && grep -qE '200&deg;(<| &middot;)' '$T/report.html'"
$F revisit --case "$CASE" --lang zh --html "$T/report-zh.html" >/dev/null 2>&1
check "revisit_phone: the Chinese report says 磁北" grep -q '124&deg;（磁北）' "$T/report-zh.html"
check "revisit_phone: a phone's height is its GPS altitude, said as such (was: none shown)" \
	bash -c "grep -q '&middot; 37 m above sea level<' '$T/report.html' &&
		grep -q '&middot; 37米（海拔）<' '$T/report-zh.html'"

$F export --case "$CASE" --format csv --out "$T/items.csv" >/dev/null 2>&1
check "revisit_phone: the CSV has the direction columns and values" \
	python3 -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding='utf-8-sig')))
b1 = [r for r in rows if r['original_name'] == 'B1.jpg'][0]
sys.exit(0 if b1['img_direction'] == '123.5' and b1['img_direction_ref'] == 'M' else 1)" "$T/items.csv"

# to the office through a bundle
O="$EVCAP --store $T/office"
mkdir -p "$T/usb"
$F key show >"$T/device.pub"
$O init >/dev/null && $O key trust "$T/device.pub" >/dev/null
if ! $F sync --target "dir:$T/usb" >"$T/sync.out" 2>&1 ||
	! $O pull --target "dir:$T/usb" --case "$CASE" >"$T/pull.out" 2>&1; then
	bad "revisit_phone: sync or pull failed: $(tail -2 "$T/sync.out" "$T/pull.out")"
	exit 1
fi
$O --json ls --case "$CASE" >"$T/office.json"
check "revisit_phone: the office has the directions after a pull" \
	jqok 'length == 6 and (.[] | select(.original_name == "B1.jpg") | .img_direction == 123.5
		and .img_direction_ref == "M") and ([.[] | select(.img_direction != null)] | length) == 4' \
	"$T/office.json"
