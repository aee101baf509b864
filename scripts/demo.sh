#!/bin/bash
# make demo: the main job end to end on generated data, in build/demo/.
# A field laptop records a drone card and a handheld camera's photos while
# gpsd (replaying a recorded flight through gpsfake) logs the track; the
# evidence is synced to a "central store" (a directory standing in for the
# USB disk or S3 bucket); the office pulls it, verifies every byte and
# signature, and writes the evidence report.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
EVCAP=$PWD/$BUILD/evcap
DEMO=$PWD/$BUILD/demo
CASE='嫩检公益立〔2023〕15号'
rm -rf "$DEMO"
mkdir -p "$DEMO"
export EVCAP_OPERATOR=张三
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { "$EVCAP" --store "$DEMO/field" "$@"; }
office() { "$EVCAP" --store "$DEMO/office" "$@"; }

step "a sample SD card and a recorded GPS flight"
"$BUILD/mksample" "$DEMO/card" "$DEMO/flight.nmea"
find "$DEMO/card" -type f | sed "s|$DEMO/||" | sort

step "morning at the office: the field laptop's store and the case"
field init
field case open "$CASE" --title '嫩江行洪区违法建筑 (illegal buildings in the Nenjiang flood channel)' \
	--use --operator 张三 --operator 李四 --time-offset +08:00 --water-body river
field case set "$CASE" --witness '王五 (村委会主任, village head)' --medium-kept yes \
	--medium-note 'SD card sealed in evidence bag 0157 after the offload'

step "at the river: gpsd replays the flight, evcap logs the fixes"
if command -v gpsfake >/dev/null 2>&1; then
	port=$(( 20000 + RANDOM % 20000 ))
	# one pass over the 30-minute flight, 2 ms a sentence
	# its control socket in a folder of our own: a stale one of the same
	# name in /tmp, left by a killed gpsfake, would keep its gpsd from the
	# log (the folder is in /tmp: a socket's path must fit in 108 bytes)
	gf_tmp=$(mktemp -d /tmp/evcap-gf.XXXXXX)
	TMPDIR="$gf_tmp" gpsfake -1 -q -n -c 0.002 -P "$port" "$DEMO/flight.nmea" >"$DEMO/gpsfake.log" 2>&1 &
	gpsfake_pid=$!
	trap 'kill $gpsfake_pid 2>/dev/null || true; rm -rf "$gf_tmp"' EXIT
	sleep 0.5
	"$EVCAP" --store "$DEMO/field" -q gps log --server "127.0.0.1:$port" &
	log_pid=$!
	wait "$gpsfake_pid" 2>/dev/null || true
	sleep 0.5
	kill -TERM "$log_pid" 2>/dev/null || true
	wait "$log_pid" || true
	echo "fixes logged live from gpsd: $(field track ls --json --source "gpsd:127.0.0.1:$port" | jq length)"
else
	echo "(gpsfake is not installed: importing the same log as a file instead)"
fi
# the same log as a file fills anything the live replay did not deliver
field track import "$DEMO/flight.nmea"

step "the drone lands: the card is offloaded"
field ingest --medium-label DJI_SD "$DEMO/card" || true
field ls

step "the handheld camera's clock is learned from its one GPS-stamped photo; all placed"
field geotag
field ls --json | jq -r '.[] | select(.make == "Canon") |
	"\(.original_name)  camera \(.camera_time)  ->  \(.captured_at) (\(.time_source))  \(.lat // "-"),\(.lon // "-") (\(.location_source // "none"))"'

step "in the village: sync to the central store"
mkdir -p "$DEMO/central"    # stands in for the mounted USB disk or the S3 bucket
field sync --target "dir:$DEMO/central" --case "$CASE"
field key show > "$DEMO/field-device.pub"

step "the office pulls the case, checking every hash and signature"
office init
office key trust "$DEMO/field-device.pub"
office pull --target "dir:$DEMO/central" --case "$CASE"
office verify

step "the evidence report"
office export --case "$CASE" --format html --out "$DEMO/report.html"
office export --case "$CASE" --format csv --out "$DEMO/evidence.csv"
office export --case "$CASE" --format kml --out "$DEMO/evidence.kml"
echo
echo "demo finished. Look at:"
echo "  $DEMO/report.html   the evidence report (open in a browser, print on A4)"
echo "  $DEMO/evidence.csv  the evidence list for Excel"
echo "  $DEMO/evidence.kml  the places, for Google Earth or Ovital"
echo "  $DEMO/field, $DEMO/office   the two stores ('evcap --store DIR ls')"
