#!/bin/bash
# A photo whose only capture date is IPTC's (DateCreated and TimeCreated,
# as photo desks write them) or an XMP date without a zone (as editing
# programs write it), each written by exiftool: evcap takes it as the
# camera time, with IPTC's zone when it has one, and says where it came
# from. A date that EXIF has stands before either. A record too large for
# one segment (here 1,100 keywords, written before the date) is split by
# exiftool over two APP13 segments, the date in the second: it is read
# joined, as exiftool reads it.
. "$(dirname "$0")/../lib/common.sh"

need exiftool python3 || { skip "iptc: needs exiftool and python3"; exit 0; }
. "$(dirname "$0")/../lib/base-jpeg.sh"

CARD=$T/card
mkdir -p "$CARD"
make_base_jpeg "$T/base.jpg"
cp "$T/base.jpg" "$CARD/desk.jpg"
exiftool -q -overwrite_original -IPTC:DateCreated=2023:06:15 \
	-IPTC:TimeCreated=10:20:30+08:00 "$CARD/desk.jpg"
cp "$T/base.jpg" "$CARD/edit.jpg"
exiftool -q -overwrite_original -XMP-xmp:CreateDate=2023:06:15T10:20:30 "$CARD/edit.jpg"
cp "$CARD/desk.jpg" "$CARD/both.jpg"
exiftool -q -overwrite_original -EXIF:DateTimeOriginal="2023:06:15 11:00:00" "$CARD/both.jpg"
cp "$T/base.jpg" "$CARD/split.jpg"
kw=$(python3 -c "print(','.join('kw%04d-%s' % (i, 'x' * 55) for i in range(1100)))")
exiftool -q -overwrite_original -sep , "-IPTC:Keywords=$kw" -IPTC:DateCreated=2023:06:15 \
	-IPTC:TimeCreated=10:20:30+08:00 "$CARD/split.jpg"
check "exiftool split the record over two APP13 segments" \
	test "$(exiftool -v "$CARD/split.jpg" | grep -c 'JPEG APP13')" -eq 2

$EVCAP init >/dev/null
$EVCAP ingest "$CARD" >"$T/out" 2>"$T/err"
check "ingest exits 0" test $? -eq 0
$EVCAP --json ls >"$T/ls.json"
python3 - "$T/ls.json" <<'PY'
import json, sys
items = {i['original_name']: i for i in json.load(open(sys.argv[1]))}
def want(name, **kv):
    it = items.get(name, {})
    got = {k: it.get(k) for k in kv}
    ok = got == kv
    print(("PASS " if ok else "FAIL ") + f"{name}: {got}" + ("" if ok else f" != {kv}"))
want('desk.jpg', camera_time='2023:06:15 10:20:30', tz_offset='+08:00',
     captured_at='2023-06-15T02:20:30Z', time_source='offset', metadata_error=None,
     metadata_note='camera time and zone from IPTC DateCreated and TimeCreated'
                   ' (EXIF has no date)')
want('edit.jpg', camera_time='2023:06:15 10:20:30', captured_at=None, metadata_error=None,
     metadata_note='camera time from XMP xmp:CreateDate, with no zone (EXIF has no date)')
want('both.jpg', camera_time='2023:06:15 11:00:00', tz_offset=None)
want('split.jpg', camera_time='2023:06:15 10:20:30', tz_offset='+08:00', metadata_error=None,
     metadata_note='camera time and zone from IPTC DateCreated and TimeCreated'
                   ' (EXIF has no date)')
PY
