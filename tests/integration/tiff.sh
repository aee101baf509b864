#!/bin/bash
# TIFF photos and raw files built on TIFF (DNG, as DJI drones shoot it):
# their EXIF, GPS and XMP come from the file's own TIFF structure, even when
# its IFDs lie after half a megabyte of image data, past what an EXIF block
# in a JPEG can hold. Files are made here, tagged by exiftool, and evcap's
# reading of each is compared with exiftool's. A TIFF without camera tags
# (a scan) is kept with no error.
. "$(dirname "$0")/../lib/common.sh"

need exiftool jq python3 || { skip "tiff: needs exiftool, jq, python3"; exit 0; }

CARD=$T/card/DCIM/100MEDIA
mkdir -p "$CARD"
# tiff FILE ORDER: a 512x512 grey TIFF, its one strip (512 KiB of 16-bit
# samples) first and IFD0 last, in byte order II or MM (exiftool, tagging
# it, moves its IFDs to the front)
tiff() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
path, order = sys.argv[1], sys.argv[2]
e = "<" if order == "II" else ">"
w = h = 512
strip = bytes((i * 37 + i // 512) & 255 for i in range(w * h * 2))
ifd_at = 8 + len(strip)
entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 1),
           (273, 4, 1, 8), (277, 3, 1, 1), (278, 3, 1, h), (279, 4, 1, len(strip))]
ifd = struct.pack(e + "H", len(entries))
for tag, typ, cnt, val in entries:
    v = struct.pack(e + "H", val) + b"\0\0" if typ == 3 else struct.pack(e + "I", val)
    ifd += struct.pack(e + "HHI", tag, typ, cnt) + v
ifd += struct.pack(e + "I", 0)
with open(path, "wb") as f:
    f.write(order.encode() + struct.pack(e + "HI", 42, ifd_at) + strip + ifd)
PY
}
tiff "$CARD/SCAN_0001.TIF" II # a scan: no camera tags
tiff "$CARD/IMG_0002.TIF" MM
exiftool -q -overwrite_original -Make=Canon '-Model=Canon EOS 5D Mark IV' \
	-DateTimeOriginal='2023:05:01 10:00:00' -OffsetTimeOriginal=+08:00 \
	-GPSLatitude=46.90121 -GPSLatitudeRef=N -GPSLongitude=124.20315 -GPSLongitudeRef=E \
	"$CARD/IMG_0002.TIF"
# a camera that writes its IFDs after the image, as many TIFF writers do:
# IFD0, EXIF and GPS all half a megabyte into the file, past the 64 KiB an
# EXIF block in a JPEG holds (written here, so that no tool moves them)
python3 - "$CARD/IMG_0004.TIF" <<'PY'
import struct, sys
e = "<"
strip = bytes((i * 37 + i // 512) & 255 for i in range(512 * 512 * 2))
def ascii_(s):
    return (2, len(s) + 1, s.encode() + b"\0")
def rat(*v):
    return (5, len(v), b"".join(struct.pack(e + "II", round(x * 10000), 10000) for x in v))
def ifd(entries, at):
    """entries: [(tag, (type, count, bytes) or (type, count, int))], written at `at`."""
    head = struct.pack(e + "H", len(entries))
    data = b""
    data_at = at + 2 + 12 * len(entries) + 4
    for tag, (typ, cnt, val) in entries:
        if isinstance(val, int):
            v = struct.pack(e + ("H" if typ == 3 else "I"), val).ljust(4, b"\0")
        elif len(val) <= 4:
            v = val.ljust(4, b"\0")
        else:
            v = struct.pack(e + "I", data_at + len(data))
            data += val + (b"\0" if len(val) % 2 else b"")
        head += struct.pack(e + "HHI", tag, typ, cnt) + v
    return head + struct.pack(e + "I", 0) + data
base = 8 + len(strip)
gps = [(1, ascii_("N")), (2, rat(46, 54, 9.0)), (3, ascii_("E")), (4, rat(124, 12, 39.0))]
exif = [(0x9003, ascii_("2023:05:01 10:05:10")), (0x9011, ascii_("+08:00"))]
def ifd0(exif_at, gps_at):
    return [(256, (3, 1, 512)), (257, (3, 1, 512)), (258, (3, 1, 16)), (259, (3, 1, 1)),
            (262, (3, 1, 1)), (271, ascii_("NIKON CORPORATION")), (272, ascii_("NIKON D850")),
            (273, (4, 1, 8)), (277, (3, 1, 1)), (278, (3, 1, 512)), (279, (4, 1, len(strip))),
            (0x8769, (4, 1, exif_at)), (0x8825, (4, 1, gps_at))]
size0 = len(ifd(ifd0(0, 0), base))
exif_at = base + size0
exif_b = ifd(exif, exif_at)
gps_at = exif_at + len(exif_b)
out = b"II" + struct.pack(e + "HI", 42, base) + strip + ifd(ifd0(exif_at, gps_at), base) + exif_b + ifd(gps, gps_at)
open(sys.argv[1], "wb").write(out)
PY
# a drone's DNG: no EXIF position, its place in DJI's XMP
tiff "$CARD/DJI_0003.DNG" II
exiftool -q -overwrite_original -DNGVersion='1.4.0.0' -Make=DJI -Model=FC6310 \
	-DateTimeOriginal='2023:05:01 10:02:30' \
	-XMP-drone-dji:GpsLatitude=46.90188 -XMP-drone-dji:GpsLongitude=124.20402 \
	-XMP-drone-dji:AbsoluteAltitude=149.8 "$CARD/DJI_0003.DNG" 2>"$T/dji.err" ||
	exiftool -q -overwrite_original -DNGVersion='1.4.0.0' -Make=DJI -Model=FC6310 \
		-DateTimeOriginal='2023:05:01 10:02:30' -XMP-exif:GPSLatitude='46,54.1128N' \
		-XMP-exif:GPSLongitude='124,12.2412E' "$CARD/DJI_0003.DNG"
# a writer that puts DateTimeOriginal in IFD0, beside Make (exiftool reads
# it there too)
python3 - "$CARD/IMG_0005.TIF" <<'PY'
import struct, sys
e = ">"
make, dto = b"Nikon\0", b"2023:05:01 10:04:00\0"
n = 3
data_at = 8 + 2 + 12 * n + 4
ents = [(256, 3, 1, struct.pack(e + "H", 1) + b"\0\0"),
        (0x010F, 2, len(make), struct.pack(e + "I", data_at)),
        (0x9003, 2, len(dto), struct.pack(e + "I", data_at + len(make)))]
ifd = struct.pack(e + "H", n) + b"".join(struct.pack(e + "HHI", t, ty, c) + v for t, ty, c, v in ents)
with open(sys.argv[1], "wb") as f:
    f.write(b"MM" + struct.pack(e + "HI", 42, 8) + ifd + struct.pack(e + "I", 0) + make + dto)
PY
(cd "$T/card" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/card.sha"

$EVCAP init >/dev/null
$EVCAP case open CASE-1 --use --time-offset +08:00 >/dev/null
$EVCAP ingest "$T/card" >"$T/out" 2>"$T/err"
check "tiff: ingest exits 0" test $? -eq 0
$EVCAP --json ls >"$T/ls.json"
exiftool -j -n -DateTimeOriginal -OffsetTimeOriginal -GPSLatitude -GPSLongitude -Make -Model \
	"$CARD"/*.TIF "$CARD"/*.DNG >"$T/exiftool.json" 2>/dev/null
python3 - "$T/exiftool.json" "$T/ls.json" <<'PY'
import json, sys
want = {r['SourceFile'].rsplit('/', 1)[1]: r for r in json.load(open(sys.argv[1]))}
items = {i['original_name']: i for i in json.load(open(sys.argv[2]))}
for name, fmt in (('IMG_0002.TIF', 'tiff'), ('DJI_0003.DNG', 'dng'), ('IMG_0004.TIF', 'tiff')):
    w, it = want.get(name), items.get(name)
    if not w or not it:
        print(f"FAIL tiff: {name}: exiftool read {bool(w)}, evcap recorded {bool(it)}")
        continue
    probs = []
    if it['format'] != fmt:
        probs.append(f"format {it['format']!r}")
    if it['camera_time'] != w.get('DateTimeOriginal'):
        probs.append(f"camera time {it['camera_time']!r} != {w.get('DateTimeOriginal')!r}")
    if (it['make'], it['model']) != (w.get('Make'), w.get('Model')):
        probs.append(f"camera {it['make']!r} {it['model']!r}")
    for k, e in (('lat', 'GPSLatitude'), ('lon', 'GPSLongitude')):
        if it[k] is None or abs(it[k] - w[e]) > 1e-5:
            probs.append(f"{k} {it[k]} != {w.get(e)}")
    if it['metadata_error'] or not it['captured_at']:
        probs.append(f"error {it['metadata_error']!r}, captured_at {it['captured_at']!r}")
    print(("FAIL " if probs else "PASS ") + f"tiff: {name} reads as exiftool reads it"
          + (": " + "; ".join(probs) if probs else ""))
ifd0 = items.get('IMG_0005.TIF') or {}
w5 = want.get('IMG_0005.TIF') or {}
ok = (ifd0.get('camera_time') == w5.get('DateTimeOriginal') == '2023:05:01 10:04:00'
      and ifd0.get('make') == 'Nikon' and not ifd0.get('metadata_error'))
print(("PASS " if ok else "FAIL ") + "tiff: a DateTimeOriginal in IFD0 reads as exiftool reads it "
      f"({ifd0.get('camera_time')!r}, exiftool {w5.get('DateTimeOriginal')!r})")
scan = items.get('SCAN_0001.TIF') or {}
ok = scan.get('format') == 'tiff' and not scan.get('metadata_error') and scan.get('camera_time') is None
print(("PASS " if ok else "FAIL ") + f"tiff: a scan with no camera tags is kept without error ({scan.get('metadata_error')!r})")
PY
check "tiff: the card is unchanged" sh -c "cd '$T/card' && sha256sum -c --quiet '$T/card.sha'"
