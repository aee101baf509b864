#!/bin/bash
# GPS values as exiftool writes them: 200 photos, each given by exiftool a
# random position (1 to 7 decimals, both hemispheres), altitude (above and
# below sea level) and GPS time (to the millisecond). evcap's reading of
# each must equal exiftool's. exiftool writes 46.9 degrees as 46 53 60,
# and a seventh of such coordinates end in 60 seconds; evcap once refused
# them and kept those photos without a place.
. "$(dirname "$0")/../lib/common.sh"

need exiftool jq python3 || { skip "gps_values: needs exiftool, jq, python3"; exit 0; }

mkdir -p "$T/card"
. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/base.jpg"
python3 - "$T" <<'PY'
import csv, random, shutil, sys
t = sys.argv[1]
rng = random.Random(20261130)
rows = []
for i in range(200):
    lat = round(rng.uniform(-89.9, 89.9), rng.randint(1, 7))
    lon = round(rng.uniform(-179.9, 179.9), rng.randint(1, 7))
    alt = round(rng.uniform(-400, 8000), rng.randint(0, 3))
    ms = rng.randrange(60000)
    name = f'{t}/card/P{i:04d}.jpg'
    shutil.copy(f'{t}/base.jpg', name)
    rows.append({'SourceFile': name,
                 'GPSLatitude': abs(lat), 'GPSLatitudeRef': 'N' if lat >= 0 else 'S',
                 'GPSLongitude': abs(lon), 'GPSLongitudeRef': 'E' if lon >= 0 else 'W',
                 'GPSAltitude': abs(alt),
                 'GPSAltitudeRef': 'Above Sea Level' if alt >= 0 else 'Below Sea Level',
                 'GPSDateStamp': '2023:05:01',
                 'GPSTimeStamp': f'{rng.randrange(24):02d}:{rng.randrange(60):02d}:'
                                 f'{ms // 1000:02d}.{ms % 1000:03d}',
                 'DateTimeOriginal': '2023:05:01 10:00:00', 'OffsetTimeOriginal': '+08:00'})
with open(f'{t}/tags.csv', 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
PY
exiftool -q -overwrite_original -csv="$T/tags.csv" "$T/card" >/dev/null 2>&1
exiftool -j -n -GPSLatitude -GPSLongitude -GPSAltitude -GPSDateTime "$T/card" \
	>"$T/exiftool.json" 2>/dev/null
check "gps_values: exiftool tagged the 200 photos" \
	test "$(jq '[.[] | select(.GPSDateTime)] | length' "$T/exiftool.json")" -eq 200

$EVCAP init >/dev/null
$EVCAP ingest "$T/card" >"$T/out" 2>"$T/err"
check "gps_values: ingest exits 0, with no problem" \
	sh -c "test $? -eq 0 && grep -q '200 files, .* 0 problems' '$T/out'"
$EVCAP --json ls >"$T/ls.json"
python3 - "$T/exiftool.json" "$T/ls.json" <<'PY'
import json, sys
from datetime import datetime, timezone
want = {r['SourceFile'].rsplit('/', 1)[1]: r for r in json.load(open(sys.argv[1]))}
items = {i['original_name']: i for i in json.load(open(sys.argv[2]))}
bad = {'place': [], 'altitude': [], 'GPS time': []}
carried = 0
for name, w in sorted(want.items()):
    it = items.get(name) or {}
    carried += 'rounding not carried' in (it.get('metadata_note') or '')
    if (it.get('lat') is None or abs(it['lat'] - w['GPSLatitude']) > 1e-7
            or abs(it['lon'] - w['GPSLongitude']) > 1e-7 or it.get('metadata_error')):
        bad['place'].append(f"{name}: {it.get('lat')},{it.get('lon')} != "
                            f"{w['GPSLatitude']},{w['GPSLongitude']} ({it.get('metadata_error')!r})")
    if it.get('alt') is None or abs(it['alt'] - w['GPSAltitude']) > 1e-3:
        bad['altitude'].append(f"{name}: {it.get('alt')} != {w['GPSAltitude']}")
    e = datetime.strptime(w['GPSDateTime'].rstrip('Z'), '%Y:%m:%d %H:%M:%S' +
                          ('.%f' if '.' in w['GPSDateTime'] else '')).replace(tzinfo=timezone.utc)
    g = it.get('gps_time') or ''
    try:
        got = datetime.fromisoformat(g.replace('Z', '+00:00'))
    except ValueError:
        got = None
    if got is None or abs((got - e).total_seconds()) > 0.0015:
        bad['GPS time'].append(f"{name}: {g!r} != {w['GPSDateTime']!r}")
for what, b in bad.items():
    print(('FAIL' if b else 'PASS') + f' gps_values: every {what} reads as exiftool reads it'
          + (f' ({len(b)} differ; first {b[0]})' if b else ''))
print(('PASS' if carried else 'FAIL') + f' gps_values: some coordinates ended in 60 seconds '
      f'and were carried ({carried} of 200), with a note')
PY

# A DJI photo without coordinates, its altitude only in XMP's
# drone-dji:AbsoluteAltitude: no alt (docs/metadata.md, "DJI drones: which
# altitude"), but the drone's altitude is shown as xmp_alt, by show and in
# ls --json; a photo whose XMP holds none has xmp_alt null and no such line.
mkdir -p "$T/dji"
cp "$T/base.jpg" "$T/dji/DJI_0001.JPG"
exiftool -q -overwrite_original -Make=DJI -Model=FC6310 \
	-DateTimeOriginal='2023:05:01 10:00:00' -XMP-drone-dji:AbsoluteAltitude=+1131.876 \
	-XMP-drone-dji:RelativeAltitude=+98.300 "$T/dji/DJI_0001.JPG"
$EVCAP ingest "$T/dji" >"$T/dji.out" 2>&1
$EVCAP --json ls >"$T/ls2.json"
DJI_ID=$(jq '.[] | select(.original_name == "DJI_0001.JPG") | .id' "$T/ls2.json")
P_ID=$(jq '.[] | select(.original_name == "P0000.jpg") | .id' "$T/ls2.json")
check "gps_values: ls --json gives the DJI photo's xmp_alt, and no alt" \
	bash -c 'jq -e ".[] | select(.original_name == \"DJI_0001.JPG\")
		| .xmp_alt == 1131.876 and .alt == null" "$1" >/dev/null' _ "$T/ls2.json"
check "gps_values: ls --json gives xmp_alt null for a photo whose XMP has no altitude" \
	bash -c 'jq -e ".[] | select(.original_name == \"P0000.jpg\")
		| has(\"xmp_alt\") and .xmp_alt == null" "$1" >/dev/null' _ "$T/ls2.json"
check "gps_values: show --json gives the DJI photo's xmp_alt" \
	bash -c "$EVCAP --json show '$DJI_ID' | jq -e '.xmp_alt == 1131.876' >/dev/null"
check "gps_values: show prints the DJI photo's xmp_alt line" \
	bash -c "$EVCAP show '$DJI_ID' | grep -Eqx 'xmp_alt +1131.876'"
check "gps_values: show prints no xmp_alt line where there is none" \
	bash -c "! $EVCAP show '$P_ID' | grep -q '^xmp_alt'"
