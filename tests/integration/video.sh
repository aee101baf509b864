#!/bin/bash
# Videos on a card: a drone's MP4 with its index after 6 MiB of media and
# its clock in local time, a phone's QuickTime file with Apple's keys and a
# 64-bit media box, an ffmpeg-shaped MP4 with (c)xyz, one that exiftool
# wrote the tags into, and one cut short with no index. Each is kept byte
# for byte; evcap's times and places agree with exiftool's reading of the
# same files; the cut one is kept and named; a drone's SRT places its video
# where the drone was; the daemon reads them alike.
. "$(dirname "$0")/../lib/common.sh"

if ! need exiftool jq; then
	skip "video: exiftool and jq are needed"
	exit 0
fi
MKMP4=$EVCAP_BUILD/mkmp4
if [ ! -x "$MKMP4" ]; then
	bad "video: $MKMP4 is not built (make tests-bin)"
	exit 0
fi

CARD=$T/card
mkdir -p "$CARD/DCIM/100MEDIA"
WALL=1686823200 # 2023-06-15 10:00:00, as a clock in China reads it
"$MKMP4" "$CARD/DCIM/100MEDIA/DJI_0001.MP4" --mvhd $WALL --mdat-mib 6 --make DJI --seed 1
"$MKMP4" "$CARD/DCIM/100MEDIA/IMG_0002.MOV" --qt --moov-first --mvhd $((WALL - 28800 + 5)) \
	--apple-date 2023-06-15T10:00:05+0800 --apple-loc '+47.3512+123.9174+150.500/' \
	--apple-make Apple --mdat-mib 2 --mdat-64 --seed 2
"$MKMP4" "$CARD/DCIM/100MEDIA/VID_0003.mp4" --mvhd $((WALL - 28800 + 100)) \
	--xyz '+4721.0580+12355.0440/' --encoder Lavf59.27.100 --mdat-mib 1 --seed 3
"$MKMP4" "$CARD/DCIM/100MEDIA/DJI_0005.MP4" --no-moov --mdat-mib 1 --seed 5
# exiftool writes the tags into a bare file (it rewrites the boxes in its own order)
"$MKMP4" "$CARD/DCIM/100MEDIA/EXT_0004.mp4" --mvhd $((WALL - 28800 + 200)) --mdat-mib 1 --seed 4
exiftool -q -overwrite_original -Keys:CreationDate='2023:06:15 10:03:20+08:00' \
	-Keys:GPSCoordinates='47.36, 123.93, 12' -UserData:GPSCoordinates='47.36, 123.93, 12' \
	"$CARD/DCIM/100MEDIA/EXT_0004.mp4"
check "exiftool wrote its tags" bash -c 'exiftool -s3 -Keys:CreationDate "$1" | grep -q "2023:06:15 10:03:20+08:00"' \
	_ "$CARD/DCIM/100MEDIA/EXT_0004.mp4"

exiftool -n -j -api LargeFileSupport=1 -CreateDate -Keys:CreationDate -GPSLatitude -GPSLongitude \
	"$CARD/DCIM/100MEDIA" >"$T/exiftool.json" 2>/dev/null
ex() { jq -r --arg f "$1" --arg k "$2" '.[] | select(.SourceFile | endswith($f)) | .[$k] // empty' "$T/exiftool.json"; }
# "2023:06:15 02:01:40" as written, read as UTC, minus SHIFT seconds
exif_utc() { date -u -d "@$(($(date -u -d "$(echo "$1" | sed 's/^\(....\):\(..\):\(..\)/\1-\2-\3/')" +%s) - $2))" +%FT%TZ; }
# "2023:06:15 10:03:20+08:00" to UTC
zoned_utc() { date -u -d "$(echo "$1" | sed 's/^\(....\):\(..\):\(..\) \(.*\)/\1-\2-\3T\4/')" +%FT%TZ; }

$EVCAP init >/dev/null
$EVCAP case open '嫩检公益立〔2023〕16号' --use --time-offset +08:00 --operator 张三 --operator 李四 >/dev/null
timeout 60 $EVCAP ingest "$CARD" >"$T/out" 2>"$T/err"
check "ingest exits 0 with one problem" bash -c '[ $1 -eq 0 ] && grep -q "^5 files, .* 1 problem," "$2"' _ $? "$T/out"
check "the video cut short is named, with why" \
	grep -q "DJI_0005.MP4: kept, but its metadata could not be read: MP4 has no moov box (the movie's index): the recording may have been cut short" "$T/err"
$EVCAP ls --json >"$T/ls.json"
# same A B: equal and not empty (two missing values are not agreement)
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
it() { jq -r --arg f "$1" --arg k "$2" '.[] | select(.original_name == $f) | .[$k] // empty' "$T/ls.json"; }

ok_bytes=1
while IFS= read -r f; do
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	cmp -s "$f" "$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha" || { echo "# not kept: $f"; ok_bytes=0; }
done < <(find "$CARD" -type f)
check "every video is kept byte for byte" test $ok_bytes -eq 1
check "all five are videos" test "$(jq '[.[] | select(.kind == "video")] | length' "$T/ls.json")" = 5

# the drone's clock is local time: the case's declared offset places it
check "drone MP4: exiftool and evcap read the same clock" \
	same "$(it DJI_0001.MP4 camera_time)" "$(ex DJI_0001.MP4 CreateDate)"
check "drone MP4 (index after the media): the clock less the case's +08:00" \
	same "$(it DJI_0001.MP4 captured_at)" "$(exif_utc "$(ex DJI_0001.MP4 CreateDate)" 28800)"
check "drone MP4: time source declared" same "$(it DJI_0001.MP4 time_source)" declared
check "drone MP4: the note says how its clock was read" \
	bash -c 'grep -q "camera.s clock" <<<"$1"' _ "$(it DJI_0001.MP4 metadata_note)"

# the phone's keys: a zoned date and a place
check "phone MOV: captured_at is exiftool's CreationDate in UTC" \
	same "$(it IMG_0002.MOV captured_at)" "$(zoned_utc "$(ex IMG_0002.MOV CreationDate)")"
check "phone MOV: time source offset, zone +08:00" \
	same "$(it IMG_0002.MOV time_source)/$(it IMG_0002.MOV tz_offset)" "offset/+08:00"
for f in IMG_0002.MOV VID_0003.mp4 EXT_0004.mp4; do
	check "$f: position as exiftool reads it, from the video" bash -c \
		'near() { awk -v a="$1" -v b="$2" "BEGIN { d = a - b; exit !(a != \"\" && b != \"\" && d < 1e-6 && d > -1e-6) }"; }
		 near "$1" "$2" && near "$3" "$4" && [ "$5" = video ]' _ \
		"$(it $f lat)" "$(ex $f GPSLatitude)" "$(it $f lon)" "$(ex $f GPSLongitude)" "$(it $f location_source)"
done
check "phone MOV: altitude from ISO 6709" same "$(it IMG_0002.MOV alt)" 150.5
check "phone MOV: make from the keys" same "$(it IMG_0002.MOV make)" Apple

# ffmpeg keeps the movie header in UTC, as the format says
check "ffmpeg MP4: captured_at is the movie header as UTC" \
	same "$(it VID_0003.mp4 captured_at)" "$(exif_utc "$(ex VID_0003.mp4 CreateDate)" 0)"
check "ffmpeg MP4: time source video" same "$(it VID_0003.mp4 time_source)" video
check "exiftool's tags: captured_at is its CreationDate in UTC" \
	same "$(it EXT_0004.mp4 captured_at)" "$(zoned_utc "$(ex EXT_0004.mp4 CreationDate)")"
check "the cut one: kept, no time, its error recorded" \
	bash -c '[ -z "$1" ] && grep -q "no moov box" <<<"$2"' _ "$(it DJI_0005.MP4 captured_at)" "$(it DJI_0005.MP4 metadata_error)"

# the boxes are read in the parser's own process: a crash there costs the
# video's metadata, never the video, and its kind is still known
mkdir -p "$T/card2"
cp "$CARD/DCIM/100MEDIA/IMG_0002.MOV" "$T/card2/"
EVCAP_STORE=$T/cstore $EVCAP init >/dev/null
EVCAP_STORE=$T/cstore EVCAP_META_CRASH_TEST=1 $EVCAP ingest "$T/card2" >"$T/out2" 2>"$T/err2"
check "a parser crash on a video: kept, the problem named" 	grep -q 'IMG_0002.MOV: kept, but its metadata could not be read: the metadata parser failed' "$T/err2"
check "a parser crash on a video: still a mov video" same \
	"$(EVCAP_STORE=$T/cstore $EVCAP ls --json | jq -r '.[0] | "\(.kind)/\(.format)"')" video/mov

# a drone's SRT beside its video: the video is placed where the drone was,
# not where the laptop's receiver was, even when the SRT arrives later
export EVCAP_STORE=$T/sstore
$EVCAP init >/dev/null
$EVCAP case open '嫩检公益立〔2023〕17号' --use --time-offset +08:00 >/dev/null
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
	for s in $(seq 0 10 1200); do
		printf '<trkpt lat="47.3000" lon="123.8000"><time>%s</time></trkpt>\n' \
			"$(date -u -d "@$((WALL - 28800 - 600 + s))" +%FT%TZ)"
	done
	echo '</trkseg></trk></gpx>'
} >"$T/laptop.gpx"
$EVCAP track import --no-geotag "$T/laptop.gpx" >/dev/null
S=$T/scard/DCIM/100MEDIA
mkdir -p "$S" "$T/scard/OTHER"
"$MKMP4" "$S/DJI_0101.MP4" --mvhd $WALL --seed 101
"$MKMP4" "$S/DJI_0102.MP4" --mvhd $((WALL + 60)) --seed 102
"$MKMP4" "$S/DJI_0103.MP4" --mvhd $((WALL + 120)) --seed 103
$EVCAP ingest "$T/scard" >/dev/null 2>&1
$EVCAP ls --json >"$T/s1.json"
check "without its SRT, the drone's video is placed by the laptop's track" \
	same "$(jq -r '.[] | select(.original_name == "DJI_0101.MP4") | "\(.location_source) \(.lat) \(.lon)"' "$T/s1.json")" \
	"track 47.3 123.8"
# the SRTs come later (the operator copies them off the card too)
printf '1\r\n00:00:00,000 --> 00:00:00,033\r\n<font size="28">FrameCnt: 1, DiffTime: 33ms\r\n2023-06-15 10:00:00.100\r\n[iso: 100] [latitude: 47.351234] [longitude: 123.917456] [rel_alt: 50.000 abs_alt: 200.500] </font>\r\n\r\n' \
	>"$S/DJI_0101.SRT"
printf '1\n00:00:00,000 --> 00:00:01,000\n2023.06.15 10:01:00\nGPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M\n' \
	>"$S/DJI_0102.SRT"
printf '1\n00:00:00,000 --> 00:00:01,000\n2023.06.15 10:02:00\nGPS(123.9000,47.3600,20) BAROMETER:1.0\n' \
	>"$T/scard/OTHER/DJI_0103.SRT" # not beside its video: not its sidecar
$EVCAP ingest "$T/scard" >"$T/s2.out" 2>&1
$EVCAP ls --json >"$T/s2.json"
sitem() { jq -r --arg f "$1" '.[] | select(.original_name == $f) | "\(.location_source) \(.lat) \(.lon) \(.alt)"' "$T/s2.json"; }
check "with its SRT, the video is where the drone was (its first fix)" \
	same "$(sitem DJI_0101.MP4)" "srt 47.351234 123.917456 200.5"
check "ingest says a video was placed from its SRT" grep -q '^1 video placed where the drone was, from its SRT$' "$T/s2.out"
check "an SRT whose GPS() order cannot be told leaves the video on the track, and says why" \
	bash -c '[ "$1" = "track 47.3 123.8 null" ] && grep -q "DJI_0102.SRT: no position for .*DJI_0102.MP4: SRT block 1: GPS(36.614600,-6.112000) does not say which is the latitude" "$2"' \
	_ "$(sitem DJI_0102.MP4)" "$T/s2.out"
check "an SRT in another folder is not the video's" same "$(sitem DJI_0103.MP4)" "track 47.3 123.8 null"
sha101=$(sha256sum "$S/DJI_0101.MP4" | cut -d' ' -f1)
srt101=$(sha256sum "$S/DJI_0101.SRT" | cut -d' ' -f1)
$EVCAP log --json >"$T/slog.json"
check "custody: the move from the track to the SRT, naming the SRT and the track before" \
	jq -e --arg v "$sha101" --arg s "$srt101" 'any(.[].event; .item == $v and .action == "geotag"
		and .detail.method == "sidecar" and .detail.sidecar == $s and .detail.previous_source == "track"
		and .detail.sidecar_clock == "2023:06:15 10:00:00")' "$T/slog.json"
sha102=$(sha256sum "$S/DJI_0102.MP4" | cut -d' ' -f1)
check "custody: the unusable SRT is recorded once, with its reason" \
	jq -e --arg v "$sha102" '[.[].event | select(.item == $v and .action == "geotag"
		and .detail.method == "sidecar" and (.detail.unusable | test("does not say which")))]
		| length == 1' "$T/slog.json"
$EVCAP geotag >"$T/s3.out" 2>&1
check "geotag again: the SRT's place stands" same "$($EVCAP ls --json | jq -r '.[] | select(.original_name == "DJI_0101.MP4") | .location_source')" srt
check "geotag again: the unusable SRT is not read or reported again" \
	bash -c '! grep -q "DJI_0102.SRT" "$1" && [ "$(jq "[.[] | select(.event.action == \"geotag\" and .event.detail.unusable != null)] | length" <("$2" log --json))" = 1 ]' \
	_ "$T/s3.out" "$EVCAP"
export EVCAP_STORE=$T/store

# a card offloaded before any case was in use: the drone's clock has no
# zone and no offset was declared, so its video has no time; put into a
# case that declares +08:00, it is timed as ingest would have, then placed
export EVCAP_STORE=$T/nstore
$EVCAP init >/dev/null
$EVCAP track import --no-geotag "$T/laptop.gpx" >/dev/null
mkdir -p "$T/ncard"
cp "$S/DJI_0102.MP4" "$CARD/DCIM/100MEDIA/IMG_0002.MOV" "$T/ncard/"
$EVCAP ingest "$T/ncard" >/dev/null 2>&1
check "no case, no declared offset: the drone's video has no time" \
	same "$($EVCAP ls --json | jq -r '.[] | select(.original_name == "DJI_0102.MP4") | "\(.captured_at)"')" null
$EVCAP case open '嫩检公益立〔2023〕18号' --time-offset +08:00 >/dev/null
$EVCAP case add '嫩检公益立〔2023〕18号' --unassigned >"$T/nadd.out" 2>&1
$EVCAP ls --json >"$T/n.json"
nitem() { jq -r --arg f "$1" '.[] | select(.original_name == $f) | "\(.case) \(.captured_at) \(.time_source) \(.tz_offset) \(.location_source)"' "$T/n.json"; }
check "case add: the video takes the case's offset, then the track places it" \
	same "$(nitem DJI_0102.MP4)" "嫩检公益立〔2023〕18号 $(date -u -d "@$((WALL + 60 - 28800))" +%FT%TZ) declared +08:00 track"
check "case add: a video with its own zone keeps its time" \
	same "$(nitem IMG_0002.MOV)" "嫩检公益立〔2023〕18号 2023-06-15T02:00:05Z offset +08:00 video"
check "case add says what it timed and placed" \
	bash -c 'grep -q "^1 item timed with the case.s camera offset +08:00$" "$1" && grep -q "^1 item placed from the GPS track$" "$1"' _ "$T/nadd.out"
sha102=$(sha256sum "$S/DJI_0102.MP4" | cut -d' ' -f1)
check "custody: the retime names the camera clock and the case's offset" \
	bash -c '$1 log --json | jq -e --arg v "$2" "any(.[].event; .item == \$v and .action == \"retime\"
		and .detail.camera_time == \"2023:06:15 10:01:00\" and .detail.tz_offset == \"+08:00\")" >/dev/null' _ "$EVCAP" "$sha102"
export EVCAP_STORE=$T/store

# the daemon takes the same path: a card with the same videos
if [ -n "$EVCAPD" ] && [ -x "$EVCAPD" ]; then
	export EVCAP_STORE=$T/dstore
	$EVCAP init >/dev/null
	$EVCAP case open '嫩检公益立〔2023〕16号' --use --time-offset +08:00 >/dev/null
	mkdir -p "$T/watch"
	printf '[capture]\nsettle_seconds = 1\n' >"$T/d.conf"
	$EVCAPD --foreground --config "$T/d.conf" --store "$EVCAP_STORE" --watch "$T/watch" --gps '' >"$T/d.out" 2>&1 &
	dpid=$!
	on_exit "kill $dpid 2>/dev/null; wait $dpid 2>/dev/null"
	sleep 0.5
	cp -r "$CARD" "$T/watch/card"
	check "evcapd records the five videos" within 60 bash -c '[ "$($1 ls --json | jq length)" = 5 ]' _ "$EVCAP"
	$EVCAP ls --json >"$T/dls.json"
	check "evcapd: the drone MP4 placed in time as by ingest" \
		same "$(jq -r '.[] | select(.original_name == "DJI_0001.MP4") | .captured_at' "$T/dls.json")" \
		"$(it DJI_0001.MP4 captured_at)"
	check "evcapd: the phone MOV's place as by ingest" \
		same "$(jq -r '.[] | select(.original_name == "IMG_0002.MOV") | "\(.lat),\(.lon)"' "$T/dls.json")" \
		"$(it IMG_0002.MOV lat),$(it IMG_0002.MOV lon)"
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
else
	skip "video: evcapd is not built"
fi
