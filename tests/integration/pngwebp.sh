#!/bin/bash
# PNG and WebP photos (screenshots, some phones' camera apps, pictures
# saved from a chat): their EXIF is a chunk of its own (PNG's eXIf, WebP's
# EXIF), their XMP another (PNG's iTXt "XML:com.adobe.xmp", WebP's "XMP ").
# Files are made here, tagged by exiftool, and evcap's reading of each is
# compared with exiftool's. Files cut short in a chunk are kept, the
# reason named. The originals stay byte for byte.
. "$(dirname "$0")/../lib/common.sh"

need exiftool jq python3 || { skip "pngwebp: needs exiftool, jq, python3"; exit 0; }

CARD=$T/card/Pictures
mkdir -p "$CARD"
# a 64x48 PNG, and a 1x1 lossless WebP (its well-known 26-byte payload)
python3 - "$T" <<'PY'
import base64, struct, sys, zlib
def chunk(t, b):
    return struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
w, h = 64, 48
raw = b''.join(b'\x00' + bytes([200, 50, 50]) * w for _ in range(h))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
open(sys.argv[1] + '/base.png', 'wb').write(png)
open(sys.argv[1] + '/base.webp', 'wb').write(
    base64.b64decode('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=='))
PY
cp "$T/base.png" "$CARD/Screenshot_0001.png"
cp "$T/base.webp" "$CARD/IMG_0002.webp"
cp "$T/base.png" "$CARD/XMP_0003.png"
cp "$T/base.webp" "$CARD/XMP_0004.webp"
exiftool -q -overwrite_original -EXIF:Make=HUAWEI -EXIF:Model=P40 \
	-DateTimeOriginal='2023:05:01 10:00:00' -OffsetTimeOriginal=+08:00 \
	-GPSLatitude=46.90121 -GPSLatitudeRef=N -GPSLongitude=124.20315 -GPSLongitudeRef=E \
	"$CARD/Screenshot_0001.png"
exiftool -q -overwrite_original -EXIF:Make=Xiaomi -EXIF:Model=13 \
	-DateTimeOriginal='2023:05:01 10:02:00' -OffsetTimeOriginal=+08:00 \
	-GPSLatitude=46.9 -GPSLatitudeRef=N -GPSLongitude=124.2 -GPSLongitudeRef=E \
	"$CARD/IMG_0002.webp"
exiftool -q -overwrite_original -XMP:DateCreated='2023:05:01 10:05:00+08:00' \
	-XMP:GPSLatitude=46.91 -XMP:GPSLongitude=124.21 "$CARD/XMP_0003.png" "$CARD/XMP_0004.webp"
# cut short inside their EXIF chunks
head -c 200 "$CARD/Screenshot_0001.png" >"$CARD/CUT_0005.png"
head -c 60 "$CARD/IMG_0002.webp" >"$CARD/CUT_0006.webp"
(cd "$T/card" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/card.sha"

$EVCAP init >/dev/null
$EVCAP ingest "$T/card" >"$T/out" 2>"$T/err"
check "pngwebp: ingest exits 0" test $? -eq 0
$EVCAP --json ls >"$T/ls.json"
check "pngwebp: every file recorded, as a photo" \
	test "$(jq '[.[] | select(.kind == "photo")] | length' "$T/ls.json")" -eq 6
exiftool -j -n -DateTimeOriginal -OffsetTimeOriginal -GPSLatitude -GPSLongitude \
	-EXIF:Make -EXIF:Model -XMP:DateCreated "$CARD"/[SIX]*_000[1-4].* >"$T/exiftool.json" 2>/dev/null
python3 - "$T/exiftool.json" "$T/ls.json" <<'PY'
import json, sys
want = {r['SourceFile'].rsplit('/', 1)[1]: r for r in json.load(open(sys.argv[1]))}
items = {i['original_name']: i for i in json.load(open(sys.argv[2]))}
for name in ('Screenshot_0001.png', 'IMG_0002.webp'):
    w, it = want.get(name), items.get(name)
    if not w or not it:
        print(f"FAIL pngwebp: {name}: exiftool read {bool(w)}, evcap recorded {bool(it)}")
        continue
    probs = []
    if it['camera_time'] != w.get('DateTimeOriginal'):
        probs.append(f"camera time {it['camera_time']!r} != {w.get('DateTimeOriginal')!r}")
    if it['tz_offset'] != w.get('OffsetTimeOriginal') or it['time_source'] != 'offset':
        probs.append(f"zone {it['tz_offset']!r} ({it['time_source']})")
    for k, e in (('lat', 'GPSLatitude'), ('lon', 'GPSLongitude')):
        if it[k] is None or abs(it[k] - w[e]) > 1e-6:
            probs.append(f"{k} {it[k]} != {w[e]}")
    if (it['make'], it['model']) != (w.get('Make'), str(w.get('Model'))):
        probs.append(f"camera {it['make']!r} {it['model']!r}")
    if it['location_source'] != 'exif' or it['metadata_error']:
        probs.append(f"location {it['location_source']!r}, error {it['metadata_error']!r}")
    print(("FAIL " if probs else "PASS ") + f"pngwebp: {name}'s EXIF reads as exiftool reads it"
          + (": " + "; ".join(probs) if probs else ""))
for name in ('XMP_0003.png', 'XMP_0004.webp'):
    w, it = want.get(name) or {}, items.get(name) or {}
    ok = (it.get('captured_at') == '2023-05-01T02:05:00Z' and it.get('time_source') == 'xmp'
          and it.get('location_source') == 'xmp' and it.get('lat') is not None
          and abs(it['lat'] - w.get('GPSLatitude', 0)) < 1e-6
          and abs(it['lon'] - w.get('GPSLongitude', 0)) < 1e-6 and not it.get('metadata_error'))
    print(("PASS " if ok else "FAIL ") + f"pngwebp: {name}'s XMP reads as exiftool reads it "
          f"({it.get('captured_at')}, {it.get('lat')}, {it.get('lon')}, {it.get('metadata_error')!r})")
for name in ('CUT_0005.png', 'CUT_0006.webp'):
    e = (items.get(name) or {}).get('metadata_error') or ''
    ok = 'runs past the file\'s end' in e and 'cut short' in e
    print(("PASS " if ok else "FAIL ") + f"pngwebp: {name}, cut short in a chunk, is kept with "
          f"the reason ({e!r})")
PY
check "pngwebp: the cut files are named on stderr" \
	test "$(grep -c 'CUT_000[56]\.\(png\|webp\): kept, but' "$T/err")" -eq 2
check "pngwebp: the card is unchanged" sh -c "cd '$T/card' && sha256sum -c --quiet '$T/card.sha'"
check "pngwebp: the stored originals are the card's bytes" $EVCAP verify -q
