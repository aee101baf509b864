#!/bin/bash
# Geotagging against an independent oracle: exiftool -geotag, run on copies
# with the same track, gap and extrapolation limits and the capture time the
# store resolved, must put every photo within 1 m of where evcap does (or
# nowhere where evcap finds nothing). Also: a track whose time goes
# backwards, gaps longer than max-gap, photos past the end, malformed
# OffsetTimeOriginal, and a camera 7 s fast corrected from its own
# GPS-stamped photo.
. "$(dirname "$0")/../lib/common.sh"

if ! need exiftool python3; then
	skip "geotag: exiftool or python3 is not installed"
	exit 0
fi
if [ -z "$CORPUS" ] || [ ! -d "$CORPUS/gpscorrelate-staging" ]; then
	skip "geotag: the corpus (../shared/corpus/gpscorrelate-staging) is absent"
	exit 0
fi
G=$CORPUS/gpscorrelate-staging

# compare_items STORE TRACK GAP EXT NAME...: each named item where exiftool
# -geotag puts the moment the store resolved for it (same track, gap and
# extrapolation limits), within 1 m; or nowhere where exiftool finds
# nothing. One exiftool run places every item and reads the places back
# (a perl start per item made this the slowest part of the test).
compare_items() {
	local store=$1
	shift
	EVCAP_STORE=$store "$EVCAP" --json ls >"$T/items.json" || return 1
	rm -rf "$T/oracle"
	mkdir -p "$T/oracle"
	python3 - "$T/items.json" "$G/noloc.jpg" "$T/oracle" "$@" <<'EOF'
import json, math, os, subprocess, sys
items, src, work, track, gap, ext = sys.argv[1:7]
names = sys.argv[7:]
byname = {i['original_name']: i for i in json.load(open(items))}
args, jobs, fails = [], [], 0
for n, name in enumerate(names):
    i = byname.get(name)
    if i is None:
        print('# %s: not in the store' % name)
        fails += 1
        continue
    out = os.path.join(work, '%d.jpg' % n)
    jobs.append((name, i, out))
    if i['captured_at'] is None:
        continue
    # exiftool wants "YYYY:MM:DD HH:MM:SS[.ss]+00:00"
    t = i['captured_at'].replace('-', ':', 2).replace('T', ' ').replace('Z', '+00:00')
    args += ['-q', '-q', '-api', 'GeoMaxIntSecs=' + gap, '-api', 'GeoMaxExtSecs=' + ext,
             '-geotag', track, '-geotime=' + t, '-o', out, src, '-execute']
args += ['-n', '-T', '-FileName', '-Composite:GPSLatitude', '-Composite:GPSLongitude', work]
with open(os.path.join(work, 'args'), 'w') as f:
    f.write('\n'.join(args) + '\n')
r = subprocess.run(['exiftool', '-@', os.path.join(work, 'args')], env=dict(os.environ, TZ='UTC'),
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
placed = {}
for line in r.stdout.splitlines():
    f = line.split('\t')
    if len(f) == 3 and f[1] != '-' and f[2] != '-':
        placed[f[0]] = (float(f[1]), float(f[2]))
for name, i, out in jobs:
    o = placed.get(os.path.basename(out))
    t, src = i['captured_at'], i['location_source']
    if o is None:
        if src == 'track':
            print('# %s at %s: evcap placed it at %s %s, exiftool nowhere' % (name, t, i['lat'], i['lon']))
            fails += 1
        continue
    if src != 'track':
        print('# %s at %s: exiftool placed it at %.7f %.7f, evcap nowhere' % (name, t, o[0], o[1]))
        fails += 1
        continue
    a, b, c, d = i['lat'], i['lon'], o[0], o[1]
    r, k = 6371008.8, math.pi / 180
    m = r * math.hypot((d - b) * k * math.cos((a + c) / 2 * k), (c - a) * k)
    print('# %s: %.3f m from exiftool' % (name, m))
    if m > 1.0:
        fails += 1
sys.exit(1 if fails else 0)
EOF
}

item_field() { # item_field STORE NAME FIELD
	EVCAP_STORE=$1 "$EVCAP" --json ls | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    if i["original_name"] == sys.argv[1]:
        v = i.get(sys.argv[2]); print("null" if v is None else v)' "$2" "$3"
}

# ---- 1. a track whose time goes backwards ----
S1=$T/store1
export EVCAP_STORE=$S1
"$EVCAP" -q init >/dev/null && "$EVCAP" -q case open GEO-1 >/dev/null
photos1="point1-1.jpg point1-2.jpg point1-4.jpg point1-5.jpg noloc.jpg badoffsettime.jpg point1-6.jpg point1-7.jpg point1-8.jpg"
"$EVCAP" -q ingest --case GEO-1 --time-offset +00:00 $(for p in $photos1; do echo "$G/$p"; done) >/dev/null 2>"$T/ingest1.err"
"$EVCAP" track import "$G/timeback.gpx" >"$T/import1.out" 2>&1
check "geotag_import_timeback" grep -q 'timeback.gpx: gpx, 4 fixes read, 4 stored' "$T/import1.out"
if compare_items "$S1" "$G/timeback.gpx" 60 10 $photos1; then
	ok "geotag_timeback_matches_exiftool"
else
	bad "geotag_timeback_matches_exiftool: positions differ from exiftool -geotag"
fi
e=$(item_field "$S1" badoffsettime.jpg metadata_error)
check "geotag_malformed_offset_named" test -n "$(echo "$e" | grep OffsetTimeOriginal)"
check "geotag_malformed_offset_still_placed" test "$(item_field "$S1" badoffsettime.jpg location_source)" = track
check "geotag_past_end_not_placed" test "$(item_field "$S1" point1-6.jpg location_source)" = null
n1=$("$EVCAP" log 2>/dev/null | grep -c geotag)
"$EVCAP" -q geotag >/dev/null
n2=$("$EVCAP" log 2>/dev/null | grep -c geotag)
check "geotag_rerun_records_nothing" test "$n1" -gt 0 -a "$n1" -eq "$n2"

# ---- 2. gaps, the end of the track, and --max-gap ----
# track11.gpx: two fixes, 12:34:00 and 12:35:00 (a 60 s gap)
S2=$T/store2
export EVCAP_STORE=$S2
"$EVCAP" -q init >/dev/null && "$EVCAP" -q case open GEO-2 >/dev/null
cp "$G/noloc.jpg" "$T/held.jpg"
cp "$G/noloc.jpg" "$T/beyond.jpg"
cp "$G/noloc.jpg" "$T/mid.jpg"
exiftool -q -overwrite_original '-DateTimeOriginal=2012:11:22 12:34:30' "$T/mid.jpg"
exiftool -q -overwrite_original '-DateTimeOriginal=2012:11:22 12:35:08' "$T/held.jpg"
exiftool -q -overwrite_original '-DateTimeOriginal=2012:11:22 12:35:11' "$T/beyond.jpg"
"$EVCAP" -q ingest --case GEO-2 --time-offset +00:00 "$G/point1-1.jpg" "$G/point4-1.jpg" \
	"$T/held.jpg" "$T/beyond.jpg" "$T/mid.jpg" >/dev/null 2>&1
"$EVCAP" -q track import "$G/track11.gpx" >/dev/null 2>&1
check "geotag_gap_of_max_gap_bridged" test "$(item_field "$S2" mid.jpg location_source)" = track
check "geotag_past_the_end" test "$(item_field "$S2" point4-1.jpg location_source)" = null
check "geotag_held_within_max_extrapolate" test "$(item_field "$S2" held.jpg location_source)" = track
check "geotag_not_beyond_max_extrapolate" test "$(item_field "$S2" beyond.jpg location_source)" = null
if compare_items "$S2" "$G/track11.gpx" 60 10 point1-1.jpg point4-1.jpg held.jpg beyond.jpg mid.jpg; then
	ok "geotag_gaps_match_exiftool"
else
	bad "geotag_gaps_match_exiftool"
fi
# a max-gap shorter than the gap: the earlier placement deep in the gap is
# withdrawn; within max-extrapolate of its edges a photo is still held
"$EVCAP" -q geotag --max-gap 30 >/dev/null
check "geotag_gap_longer_than_max_gap_cleared" test "$(item_field "$S2" mid.jpg location_source)" = null
if compare_items "$S2" "$G/track11.gpx" 30 10 point1-1.jpg held.jpg mid.jpg; then
	ok "geotag_max_gap_matches_exiftool"
else
	bad "geotag_max_gap_matches_exiftool"
fi
check "geotag_clearing_recorded" sh -c "'$EVCAP' log 2>/dev/null | grep geotag | grep -q cleared"
"$EVCAP" -q geotag >/dev/null
check "geotag_replaced_with_default_gap" test "$(item_field "$S2" mid.jpg location_source)" = track

# ---- 3. a camera 7 s fast, learned from its own GPS-stamped photo ----
S3=$T/store3
export EVCAP_STORE=$S3
"$EVCAP" -q init >/dev/null && "$EVCAP" -q case open GEO-3 >/dev/null
mk() { # mk FILE DTO SERIAL [exiftool args]
	local f=$T/$1 d=$2 sn=$3
	shift 3
	cp "$G/noloc.jpg" "$f"
	exiftool -q -overwrite_original "-DateTimeOriginal=$d" -Make=EvcapTest -Model=Fast7 \
		"-ExifIFD:SerialNumber=$sn" "$@" "$f"
}
# the camera reads UTC+8 and 7 s: 20:35:07 on its clock is 12:35:00 UTC
mk cam-gps.jpg "2012:11:22 20:35:07" SN-7 -GPSDateStamp=2012:11:22 -GPSTimeStamp=12:35:00 \
	-GPSLatitude=31.4587 -GPSLatitudeRef=N -GPSLongitude=35.3998 -GPSLongitudeRef=E
mk cam-nogps.jpg "2012:11:22 20:35:17" SN-7
mk other-cam.jpg "2012:11:22 20:35:17" SN-8
"$EVCAP" -q ingest --case GEO-3 "$T/cam-gps.jpg" "$T/cam-nogps.jpg" "$T/other-cam.jpg" >/dev/null 2>&1
"$EVCAP" -q track import "$G/timeback.gpx" >/dev/null 2>&1
"$EVCAP" -q geotag >/dev/null
t=$(item_field "$S3" cam-nogps.jpg captured_at)
src=$(item_field "$S3" cam-nogps.jpg time_source)
echo "# cam-nogps.jpg: captured_at $t ($src), tz $(item_field "$S3" cam-nogps.jpg tz_offset)"
check "geotag_learned_clock_offset" test "$t" = "2012-11-22T12:35:10Z" -a "$src" = learned
check "geotag_other_camera_not_learned" test "$(item_field "$S3" other-cam.jpg time_source)" != learned
if compare_items "$S3" "$G/timeback.gpx" 60 10 cam-nogps.jpg other-cam.jpg; then
	ok "geotag_learned_matches_exiftool"
else
	bad "geotag_learned_matches_exiftool"
fi
if "$EVCAP" log 2>/dev/null | grep retime | grep -q '"offset_seconds":28807'; then
	ok "geotag_learned_offset_in_custody"
else
	bad "geotag_learned_offset_in_custody: no retime event with the exact offset"
fi
if "$EVCAP" verify >/dev/null 2>&1; then
	ok "geotag_verify_passes"
else
	bad "geotag_verify_passes"
fi

# an imported track file is evidence too: kept byte for byte as an item,
# and its custody event names it
tsha=$(sha256sum "$G/timeback.gpx" | cut -d' ' -f1)
if cmp -s "$G/timeback.gpx" "$EVCAP_STORE/blobs/sha256/${tsha:0:2}/${tsha:2:2}/$tsha" &&
   "$EVCAP" ls --json | jq -e --arg s "$tsha" 'any(.[]; .sha256 == $s and .original_name == "timeback.gpx")' >/dev/null &&
   "$EVCAP" log --json | jq -e --arg s "$tsha" 'any(.[]; .event.action == "track-import" and .event.item == $s)' >/dev/null; then
	ok "track_file_kept_as_item"
else
	bad "track_file_kept_as_item"
fi

# ---- 4. what is placed after the site is added goes to the site ----
# A handheld photo without GPS, ingested into a case that already has a
# site, is placed at the site's centre by the track imported later: the
# site must then hold it, in its list and in its export, without a
# separate 'evcap geotag'. A photo with its own GPS ingested with
# --no-geotag is in its site too.
S4=$T/store4
export EVCAP_STORE=$S4
"$EVCAP" -q init >/dev/null && "$EVCAP" -q case open GEO-4 >/dev/null
"$EVCAP" -q site add GEO-4 A --lat 30.5 --lon 114.3 --radius 50 >/dev/null
cp "$G/noloc.jpg" "$T/handheld.jpg"
exiftool -q -overwrite_original '-DateTimeOriginal=2024:05:01 10:00:30' \
	'-OffsetTimeOriginal=+08:00' "$T/handheld.jpg"
"$EVCAP" -q ingest --case GEO-4 "$T/handheld.jpg" >/dev/null 2>&1
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
	for s in 20 30 40; do
		echo "<trkpt lat=\"30.5\" lon=\"114.3\"><time>2024-05-01T02:00:${s}Z</time></trkpt>"
	done
	echo '</trkseg></trk></gpx>'
} >"$T/site.gpx"
"$EVCAP" -q track import "$T/site.gpx" >/dev/null 2>&1
check "geotag_track_import_places_in_site: placed by track import, the photo is in site A" \
	test "$(item_field "$S4" handheld.jpg site)" = A -a \
	"$(item_field "$S4" handheld.jpg location_source)" = track
check "geotag_track_import_site_listed: site A counts it and its export lists it" \
	bash -c "'$EVCAP' --json site show GEO-4 A | jq -e '.items == 1' >/dev/null &&
		'$EVCAP' -q export --case GEO-4 --site A --format csv --out '$T/siteA.csv' >/dev/null 2>&1 &&
		grep -q handheld.jpg '$T/siteA.csv'"
check "geotag_track_import_site_recorded: a site assign event names it" \
	bash -c "'$EVCAP' --json log | jq -e --arg s \"\$(sha256sum '$T/handheld.jpg' | cut -c1-64)\" \
		'any(.[].event; .action == \"site assign\" and .detail.sites[0].site == \"A\"
		     and .detail.sites[0].items == [\$s])' >/dev/null"
cp "$G/noloc.jpg" "$T/own-gps.jpg"
exiftool -q -overwrite_original '-DateTimeOriginal=2024:05:01 10:05:00' \
	-GPSLatitude=30.50001 -GPSLatitudeRef=N -GPSLongitude=114.3 -GPSLongitudeRef=E "$T/own-gps.jpg"
"$EVCAP" -q ingest --no-geotag --case GEO-4 --time-offset +08:00 "$T/own-gps.jpg" >/dev/null 2>&1
check "geotag_no_geotag_still_sited: ingest --no-geotag still puts a located photo in its site" \
	test "$(item_field "$S4" own-gps.jpg site)" = A
