#!/bin/bash
# Two GPS receivers that were not together: the operator's track on the
# river bank and a drone's track 220 m north of it, fixes interleaved in
# time. A photo is placed on one receiver's own track (the one with the
# smaller error), never on the line between a fix of each, where nobody
# was; geotag says so on stderr and the custody event names both sources
# and how far apart they put it. A photo only one track covers is placed
# there without a word.
. "$(dirname "$0")/../lib/common.sh"

if ! need exiftool jq cjpeg; then
	skip "geotag_receivers: needs exiftool, jq and cjpeg"
	exit 0
fi
# the metadata child cannot map ASan's shadow memory (see revisit.sh)
[ -n "${EVCAP_SAN:-}" ] && export EVCAP_META_INPROCESS=1
E() { "$EVCAP" "$@"; }

# a small JPEG, tagged with a time and no position
{ printf 'P6\n16 16\n255\n'; head -c 768 /dev/zero; } >"$T/c.ppm"
cjpeg "$T/c.ppm" >"$T/blank.jpg"
mkdir -p "$T/card"
photo() { # photo NAME "YYYY:MM:DD HH:MM:SS" (China time)
	cp "$T/blank.jpg" "$T/card/$1.jpg"
	exiftool -q -overwrite_original -DateTimeOriginal="$2" -OffsetTimeOriginal=+08:00 \
		-ImageDescription="$1" "$T/card/$1.jpg"
}
photo both "2024:05:01 10:00:06"  # 02:00:06 UTC: both cover it (the operator has a fix then)
photo walk "2024:05:01 10:00:50"  # 02:00:50 UTC: the drone has landed

# gpx NAME LAT FIRST LAST HDOP: a fix every 2 s from FIRST to LAST seconds
# after 02:00:00 UTC, walking east along LAT
gpx() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<gpx version="1.1" creator="geotag_receivers" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
		for ((s = $3; s <= $4; s += 2)); do
			printf '<trkpt lat="%s" lon="%.6f"><time>2024-05-01T02:%02d:%02dZ</time><fix>3d</fix><hdop>%s</hdop></trkpt>\n' \
				"$2" "$(echo "124.8 + ($s + 60) * 0.00001" | bc -l)" $(((s + 120) / 60 - 2)) $(((s + 120) % 60)) "$5"
		done
		echo '</trkseg></trk></gpx>'
	} >"$T/$1.gpx"
}
gpx walk 45.000000 -60 60 2.0    # the operator: every even second, HDOP 2
gpx flight 45.002000 -59 31 0.6  # the drone: every odd second, HDOP 0.6, lands at 02:00:31

E -q init >/dev/null && E -q case open 嫩检公益立〔2024〕3号 --use >/dev/null &&
	E -q ingest "$T/card" >/dev/null 2>&1 ||
	{ bad "geotag_receivers: cannot make the store"; exit 1; }
E -q track import --no-geotag "$T/walk.gpx" >/dev/null 2>&1 &&
	E -q track import --no-geotag "$T/flight.gpx" >/dev/null 2>&1 ||
	{ bad "geotag_receivers: cannot import the tracks"; exit 1; }

E --json geotag >"$T/geotag.json" 2>"$T/geotag.err"
check "geotag_receivers: geotag sees two sources and one disagreement" \
	jq -e '.receivers == 2 and .placed == 2 and .disagreed == 1' "$T/geotag.json"
check "geotag_receivers: geotag says on stderr that another source disagrees" \
	grep -q "1 item is placed where another GPS source's track puts it farther away" "$T/geotag.err"

E --json ls >"$T/ls.json"
lat_of() { jq -r --arg d "$1" '.[] | select(.original_name == ($d + ".jpg")) | .lat' "$T/ls.json"; }
check "geotag_receivers: a photo both cover is on the drone's own line (smaller error), not between" \
	awk -v v="$(lat_of both)" 'BEGIN { exit !(v > 45.00199 && v < 45.00201) }'
check "geotag_receivers: a photo only the operator's track covers is on that track" \
	awk -v v="$(lat_of walk)" 'BEGIN { exit !(v > 44.99999 && v < 45.00001) }'

E --json log >"$T/log.json"
check "geotag_receivers: the custody event names the source used and the one that disagreed" \
	jq -e '[.[] | select(.event.action == "geotag") | .event.detail]
	       | (map(select(.other_receivers)) | length == 1)
	       and (map(select(.other_receivers))[0]
	            | .fix_source == "file:flight.gpx"
	            and .other_receivers[0].source == "file:walk.gpx"
	            and .other_receivers[0].distance_m > 200 and .other_receivers[0].distance_m < 240)
	       and (map(select(.other_receivers | not))[0].fix_source == "file:walk.gpx")' "$T/log.json"
check "geotag_receivers: a second run changes nothing and says nothing" \
	bash -c "'$EVCAP' --json geotag 2>'$T/again.err' | jq -e '.placed == 0 and .unchanged == 2' >/dev/null && [ ! -s '$T/again.err' ]"
E -q export --format geojson --out "$T/map.geojson" >/dev/null 2>&1
check "geotag_receivers: the export draws each receiver as its own line" \
	jq -e '[.features[] | select(.properties.kind == "track") | .properties.source] | sort
	       == ["file:flight.gpx", "file:walk.gpx"]' "$T/map.geojson"
check "geotag_receivers: evcap verify passes" E -q verify
