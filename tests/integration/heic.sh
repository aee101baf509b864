#!/bin/bash
# HEIF photos (a phone's HEIC, or AVIF): their EXIF is an item that the meta box
# lists and places, and libheif writes it after the image, at the file's
# end. Real files made by libheif's heif-enc from tagged JPEGs, and one
# tagged by exiftool after encoding, are ingested; evcap's reading of each
# is compared with exiftool's. A HEIC cut short before its EXIF is kept,
# with the reason. The originals stay byte for byte.
. "$(dirname "$0")/../lib/common.sh"

need heif-enc exiftool jq python3 ||
	{ skip "heic: needs heif-enc (libheif-examples), exiftool, jq, python3"; exit 0; }

CARD=$T/card/DCIM/100APPLE
mkdir -p "$CARD"
. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/base.jpg"

# heic NAME 'YYYY:MM:DD HH:MM:SS' ZONE LAT LON ALT: a phone photo, tagged as
# a JPEG, then encoded by libheif (which carries the EXIF over)
heic() {
	local name=$1
	cp "$T/base.jpg" "$T/$name.jpg"
	exiftool -q -overwrite_original -Make=Apple '-Model=iPhone 13' \
		-DateTimeOriginal="$2" -OffsetTimeOriginal="$3" \
		-GPSLatitude="$4" -GPSLatitudeRef=N -GPSLongitude="$5" -GPSLongitudeRef=E \
		-GPSAltitude="$6" "-GPSAltitudeRef#=0" "$T/$name.jpg"
	heif-enc -q 60 "$T/$name.jpg" -o "$CARD/$name.HEIC" >/dev/null 2>&1
}
heic IMG_0001 '2023:05:01 10:00:00' +08:00 46.90121 124.20315 151.2
heic IMG_0002 '2023:05:01 10:02:30' +08:00 46.90188 124.20402 149.8
# encoded untagged, then tagged in place by exiftool
heif-enc -q 60 "$T/base.jpg" -o "$CARD/IMG_0003.HEIC" >/dev/null 2>&1
exiftool -q -overwrite_original -Make=Huawei -Model=P40 -DateTimeOriginal='2023:05:01 10:05:10' \
	-OffsetTimeOriginal=+08:00 -GPSLatitude=46.9025 -GPSLatitudeRef=N -GPSLongitude=124.20511 \
	-GPSLongitudeRef=E "$CARD/IMG_0003.HEIC"
# AVIF, the same container with AV1 inside
cp "$T/IMG_0001.jpg" "$T/avif.jpg"
exiftool -q -overwrite_original -DateTimeOriginal='2023:05:01 10:07:00' -GPSLatitude=46.903 \
	"$T/avif.jpg"
heif-enc -A -q 60 "$T/avif.jpg" -o "$CARD/IMG_0005.AVIF" >/dev/null 2>&1
# cut short before its EXIF (libheif writes it last)
head -c "$(($(stat -c %s "$CARD/IMG_0002.HEIC") - 200))" "$CARD/IMG_0002.HEIC" >"$CARD/IMG_0004.HEIC"
if [ "$(ls "$CARD" | wc -l)" -ne 5 ]; then
	bad "heic: heif-enc made $(ls "$CARD" | wc -l) of the 5 test files"
	exit 1
fi
(cd "$T/card" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/card.sha"

$EVCAP init >/dev/null
$EVCAP ingest "$T/card" >"$T/out" 2>"$T/err"
check "heic: ingest exits 0" test $? -eq 0
check "heic: every HEIC recorded, as a photo" \
	test "$($EVCAP --json ls | jq '[.[] | select(.kind == "photo" and .format == "heic")] | length')" -eq 4
check "heic: the AVIF recorded, as a photo" \
	test "$($EVCAP --json ls | jq '[.[] | select(.kind == "photo" and .format == "avif")] | length')" -eq 1
exiftool -j -n -DateTimeOriginal -OffsetTimeOriginal -GPSLatitude -GPSLongitude -GPSAltitude \
	-Make -Model "$CARD"/IMG_000[123].HEIC "$CARD"/IMG_0005.AVIF >"$T/exiftool.json" 2>/dev/null
$EVCAP --json ls >"$T/ls.json"
python3 - "$T/exiftool.json" "$T/ls.json" <<'PY'
import json, sys
want = {r['SourceFile'].rsplit('/', 1)[1]: r for r in json.load(open(sys.argv[1]))}
items = {i['original_name']: i for i in json.load(open(sys.argv[2]))}
for name in ('IMG_0001.HEIC', 'IMG_0002.HEIC', 'IMG_0003.HEIC', 'IMG_0005.AVIF'):
    w, it = want.get(name), items.get(name)
    if not w or not it:
        print(f"FAIL heic: {name}: exiftool read {bool(w)}, evcap recorded {bool(it)}")
        continue
    probs = []
    if it['camera_time'] != w.get('DateTimeOriginal'):
        probs.append(f"camera time {it['camera_time']!r} != {w.get('DateTimeOriginal')!r}")
    if it['tz_offset'] != w.get('OffsetTimeOriginal'):
        probs.append(f"zone {it['tz_offset']!r} != {w.get('OffsetTimeOriginal')!r}")
    if it['time_source'] != 'offset':
        probs.append(f"time source {it['time_source']!r}")
    for k, e in (('lat', 'GPSLatitude'), ('lon', 'GPSLongitude')):
        if it[k] is None or abs(it[k] - w[e]) > 1e-6:
            probs.append(f"{k} {it[k]} != {w[e]}")
    if 'GPSAltitude' in w and (it['alt'] is None or abs(it['alt'] - w['GPSAltitude']) > 0.05):
        probs.append(f"alt {it['alt']} != {w['GPSAltitude']}")
    if (it['make'], it['model']) != (w.get('Make'), str(w.get('Model'))):
        probs.append(f"camera {it['make']!r} {it['model']!r}")
    if it['location_source'] != 'exif' or it['metadata_error']:
        probs.append(f"location {it['location_source']!r}, error {it['metadata_error']!r}")
    print(("FAIL " if probs else "PASS ") + f"heic: {name} reads as exiftool reads it"
          + (": " + "; ".join(probs) if probs else ""))
cut = items.get('IMG_0004.HEIC') or {}
ok = 'cut short' in (cut.get('metadata_error') or '') and cut.get('lat') is None
print(("PASS " if ok else "FAIL ") + "heic: a HEIC cut short before its EXIF is kept, the reason "
      f"recorded ({cut.get('metadata_error')!r})")
PY
check "heic: the cut file is named on stderr" grep -q 'IMG_0004.HEIC: kept, but' "$T/err"
check "heic: the card is unchanged" sh -c "cd '$T/card' && sha256sum -c --quiet '$T/card.sha'"
check "heic: the stored originals are the card's bytes" $EVCAP verify -q

# The report shows each HEIF photo as it is: libheif decodes the primary
# image in a child process. A portrait photo, red on its left and blue on
# its right, must come out portrait with the colours on their sides; a file
# libheif cannot read is named, and the report is still written.
if ! need djpeg cjpeg; then
	skip "heic: report thumbnails need djpeg and cjpeg (libjpeg-turbo-progs)"
	exit 0
fi
python3 - "$T/two.ppm" <<'PY'
import sys
w, h = 300, 400
row = bytes([220, 30, 30]) * (w // 2) + bytes([30, 30, 220]) * (w // 2)
open(sys.argv[1], 'wb').write(b'P6\n%d %d\n255\n' % (w, h) + row * h)
PY
mkdir -p "$T/card2"
cjpeg -quality 95 "$T/two.ppm" >"$T/two.jpg"
heif-enc -q 90 "$T/two.jpg" -o "$T/card2/TWO.HEIC" >/dev/null 2>&1
heif-enc -A -q 90 "$T/two.jpg" -o "$T/card2/TWO.AVIF" >/dev/null 2>&1
# a HEIC whose picture is gone: its media data box cut away
head -c 600 "$T/card2/TWO.HEIC" >"$T/card2/NOPIC.HEIC"
$EVCAP ingest "$T/card2" >/dev/null 2>&1
$EVCAP case open HEIC-1 >/dev/null
$EVCAP case add HEIC-1 $($EVCAP --json ls | jq -r '.[].id') >/dev/null 2>&1
$EVCAP export --case HEIC-1 --format html --out "$T/report.html" >"$T/out" 2>"$T/err"
check "heic: the report is written" test $? -eq 0 -a -s "$T/report.html"
check "heic: the HEIC without a picture is named, with libheif's reason" \
	grep -q 'no thumbnail for item .*NOPIC.HEIC: the HEIF' "$T/err"
$EVCAP --json ls >"$T/ls.json"
python3 - "$T/report.html" "$T/ls.json" "$T" <<'PY'
import base64, json, re, subprocess, sys
html, items, tmp = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), sys.argv[3]
rows = dict(re.findall(r'<tr data-sha256="([0-9a-f]{64})"><td class="no">\d+</td>'
                       r'<td class="th">(.*?)</td>', html))
by_name = {i['original_name']: i for i in items}
def pixels(name):
    cell = rows.get(by_name[name]['sha256'], '')
    m = re.search(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', cell)
    if not m:
        return None
    open(f'{tmp}/th.jpg', 'wb').write(base64.b64decode(m.group(1)))
    ppm = subprocess.run(['djpeg', '-pnm', f'{tmp}/th.jpg'], capture_output=True).stdout
    head = ppm.split(b'\n', 3)
    w, h = map(int, head[1].split())
    return w, h, head[3]
for name in ('TWO.HEIC', 'TWO.AVIF', 'IMG_0001.HEIC', 'IMG_0003.HEIC', 'IMG_0005.AVIF'):
    p = pixels(name)
    print(('PASS' if p else 'FAIL') + f' heic: the report has a thumbnail of {name}')
for name in ('TWO.HEIC', 'TWO.AVIF'):
    p = pixels(name)
    if not p:
        continue
    w, h, px = p
    at = lambda x, y: tuple(px[(y * w + x) * 3:(y * w + x) * 3 + 3])
    left, right = at(w // 4, h // 2), at(3 * w // 4, h // 2)
    ok = (w, h) == (180, 240) and left[0] > 150 > left[2] and right[2] > 150 > right[0]
    print(('PASS' if ok else 'FAIL') + f' heic: {name}\'s thumbnail is the picture, upright '
          f'({w}x{h}, left {left}, right {right})')
cell = rows.get(by_name['NOPIC.HEIC']['sha256'], '')
print(('PASS' if 'data:image' not in cell and 'HEIF' in cell else 'FAIL')
      + ' heic: the HEIC without a picture has no thumbnail, and its row says why')
PY

# Working copies: a HEIF photo's is a JPEG rendering of its primary image,
# upright, with the original's EXIF carried over (orientation 1, the
# rendering's size) and the GPS and case number set as for a JPEG. It is
# recorded as a rendering, naming the decoder; the original is untouched.
$EVCAP export --case HEIC-1 --format jpeg --out "$T/copies" >"$T/out" 2>"$T/err"
check "heic: export jpeg names the HEIC without a picture, and exits non-zero" \
	sh -c "test $? -ne 0 && grep -q 'NOPIC.HEIC: the HEIF file cannot be read' '$T/err'"
check "heic: the summary counts the copies and the failure" \
	grep -q 'wrote 6 working copies .*; 2 failed' "$T/out"
id_of() { jq -r --arg n "$1" '.[] | select(.original_name == $n) | .id' "$T/ls.json"; }
sha_of() { jq -r --arg n "$1" '.[] | select(.original_name == $n) | .sha256' "$T/ls.json"; }
TWO=$T/copies/item$(id_of TWO.HEIC)_TWO.jpg
ONE=$T/copies/item$(id_of IMG_0001.HEIC)_IMG_0001.jpg
check "heic: the copy of TWO.HEIC is a JPEG named .jpg" test -s "$TWO"
check "heic: the copy of IMG_0001.HEIC is there" test -s "$ONE"
python3 - "$TWO" "$T" <<'PY'
import subprocess, sys
ppm = subprocess.run(['djpeg', '-pnm', sys.argv[1]], capture_output=True).stdout
head = ppm.split(b'\n', 3)
w, h = map(int, head[1].split()) if len(head) == 4 else (0, 0)
px = head[3] if len(head) == 4 else b''
at = lambda x, y: tuple(px[(y * w + x) * 3:(y * w + x) * 3 + 3])
ok = (w, h) == (300, 400) and at(40, 200)[0] > 180 > at(40, 200)[2] and at(260, 200)[2] > 180 > at(260, 200)[0]
print(('PASS' if ok else 'FAIL') + f' heic: the rendering is the whole picture, upright ({w}x{h})')
PY
exiftool -j -n -Orientation -ExifImageWidth -ExifImageHeight -XPKeywords -DateTimeOriginal \
	-Make -Model -GPSLatitude -GPSLongitude "$ONE" "$TWO" >"$T/copies.json" 2>/dev/null
exiftool -j -n -DateTimeOriginal -Make -Model "$CARD/IMG_0001.HEIC" >"$T/orig1.json" 2>/dev/null
python3 - "$T/copies.json" "$T/orig1.json" "$T/ls.json" <<'PY'
import json, sys
one, two = json.load(open(sys.argv[1]))
orig = json.load(open(sys.argv[2]))[0]
it = {i['original_name']: i for i in json.load(open(sys.argv[3]))}['IMG_0001.HEIC']
probs = [k for k in ('DateTimeOriginal', 'Make', 'Model') if one.get(k) != orig.get(k)]
print(('FAIL' if probs else 'PASS') + ' heic: the copy carries the original\'s EXIF'
      + (f' (differs in {probs})' if probs else ''))
ok = abs(one.get('GPSLatitude', 0) - it['lat']) < 1e-6 and abs(one.get('GPSLongitude', 0) - it['lon']) < 1e-6
print(('PASS' if ok else 'FAIL') + f" heic: the copy's GPS is the item's ({one.get('GPSLatitude')})")
ok = one.get('XPKeywords') == 'HEIC-1' and two.get('XPKeywords') == 'HEIC-1'
print(('PASS' if ok else 'FAIL') + ' heic: the copies carry the case number')
ok = two.get('Orientation') == 1 and (two.get('ExifImageWidth'), two.get('ExifImageHeight')) == (300, 400)
print(('PASS' if ok else 'FAIL') + ' heic: orientation 1 and the rendering\'s size in the EXIF '
      f"({two.get('Orientation')}, {two.get('ExifImageWidth')}x{two.get('ExifImageHeight')})")
PY
h=$(sha256sum "$TWO" | cut -d' ' -f1)
sha=$(sha_of TWO.HEIC)
check "heic: the rendering is recorded as such" test "$(sqlite3 "$EVCAP_STORE/evidence.db" \
	"SELECT count(*) FROM derivatives d JOIN items i ON i.id = d.item_id
	 WHERE i.sha256 = '$sha' AND d.sha256 = '$h' AND d.kind = 'jpeg-rendering'")" -eq 1
check "heic: its custody event names both hashes, the source format and the decoder" \
	test "$(sqlite3 "$EVCAP_STORE/evidence.db" \
	"SELECT count(*) FROM custody WHERE action = 'export' AND item_sha256 = '$sha'
	 AND json_extract(event, '\$.detail.sha256') = '$h'
	 AND json_extract(event, '\$.detail.rendered_from') = 'heic'
	 AND json_extract(event, '\$.detail.decoder') LIKE 'libheif 1.%'")" -eq 1
check "heic: the originals still match their hashes" $EVCAP verify -q

