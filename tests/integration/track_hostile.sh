#!/bin/bash
# evcap track import against track files that contradict themselves or
# each other: fixes of one file at one time but two places, and two
# different files that carry the same name (two phones' "track.gpx").
# Nothing may vanish unnamed, and no track may be mixed with another's.
. "$(dirname "$0")/../lib/common.sh"

if ! need jq; then
	skip "track_hostile: needs jq"
	exit 0
fi
E() { "$EVCAP" "$@"; }
E init >/dev/null 2>&1 || { bad "track_hostile: init"; exit 0; }

# gpx FILE LAT "SS SS ..." [LAT2 SS]: a point at LAT, 120.0 each second SS
# after 2025-01-01T00:00:00Z; then, if given, one more at LAT2 at SS
gpx() {
	{
		echo '<?xml version="1.0"?>'
		echo '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
		for s in $3; do
			printf '<trkpt lat="%s" lon="120.0"><time>2025-01-01T00:00:%02dZ</time></trkpt>\n' \
				"$2" "$s"
		done
		[ -n "${4:-}" ] && printf '<trkpt lat="%s" lon="120.0"><time>2025-01-01T00:00:%02dZ</time></trkpt>\n' "$4" "$5"
		echo '</trkseg></trk></gpx>'
	} >"$1"
}

# one file, one time, two places: the second is named, not "already stored"
mkdir -p "$T/self"
gpx "$T/self/self.gpx" 31.0 "0 5 5 10" 32.0 5
E track import --no-geotag "$T/self/self.gpx" >"$T/self.out" 2>"$T/self.err"
check "track_hostile: a second position at one time of a file is named" \
	grep -q "self.gpx: 2 fixes at 2025-01-01T00:00:05Z: 31.0000000,120.0000000 kept, 32.0000000,120.0000000 (111195 m away) not stored" "$T/self.err"
check "track_hostile: it is not counted as already stored" \
	grep -q "self.gpx: gpx, 5 fixes read, 3 stored, 1 repeated, 1 at a time the file gives another position (not stored)" "$T/self.out"
if ! grep -q "already stored" "$T/self.out"; then ok "track_hostile: no fix called already stored"; else
	bad "track_hostile: no fix called already stored: $(cat "$T/self.out")"; fi
E --json track import --no-geotag "$T/self/self.gpx" >"$T/self.json" 2>/dev/null
check "track_hostile: the JSON report counts the repeat and the conflict" \
	jq -e '.[0].report.repeated == 1 and .[0].report.conflicting == 1 and .[0].stored == 0' \
	"$T/self.json"
