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

# two different files named track.gpx (two phones): the second gets a
# source of its own, its fix at a time the first also has is kept, and the
# two tracks are not read as one
mkdir -p "$T/a" "$T/b"
gpx "$T/a/track.gpx" 30.0 "20 30"
gpx "$T/b/track.gpx" 31.0 "20 25"
E track import --no-geotag "$T/a/track.gpx" >/dev/null 2>&1
E track import --no-geotag "$T/b/track.gpx" >"$T/b.out" 2>"$T/b.err"
E --json track ls >"$T/ls.json"
check "track_hostile: a second file of one name gets a source of its own" \
	jq -e '[.[] | select(.time == "2025-01-01T00:00:20Z")] | map(.source + " " + (.lat | tostring))
	       | sort == ["file:track.gpx 30", "file:track.gpx#2 31"]' "$T/ls.json"
check "track_hostile: the first file's track holds only its own fixes" \
	jq -e '[.[] | select(.source == "file:track.gpx") | .lat] == [30, 30]' "$T/ls.json"
check "track_hostile: the move is named" \
	grep -q "track.gpx: fixes of another file of this name are stored under file:track.gpx near these times; this file's are stored as file:track.gpx#2" "$T/b.err"
E --json log >"$T/log.json"
check "track_hostile: the custody event names the source used" \
	jq -e '[.[].event | select(.action == "track-import") | .detail.source]
	       | index("file:track.gpx#2") != null' "$T/log.json"
# importing either again adds nothing and keeps its source
E track import --no-geotag "$T/b/track.gpx" "$T/a/track.gpx" >"$T/again.out" 2>&1
check "track_hostile: importing the files again adds nothing" \
	test "$(grep -c ', 0 stored (2 already stored)' "$T/again.out")" = 2
# a log that grew since its first import stays one source
mkdir -p "$T/g"
gpx "$T/g/grow.gpx" 33.0 "40 41"
E track import --no-geotag "$T/g/grow.gpx" >/dev/null 2>&1
gpx "$T/g/grow.gpx" 33.0 "40 41 42"
E track import --no-geotag "$T/g/grow.gpx" >"$T/grow.out" 2>&1
E --json track ls --source file:grow.gpx >"$T/grow.json"
check "track_hostile: a grown log adds its new fixes under its own source" \
	jq -e 'length == 3' "$T/grow.json"
check "track_hostile: a grown log is not called another file" \
	grep -q "grow.gpx: gpx, 3 fixes read, 1 stored (2 already stored)" "$T/grow.out"

# a symbolic link, a FIFO or a folder given as the file: named for what it
# is, at once (a FIFO opened for reading would wait for a writer forever)
ln -s "$T/a/track.gpx" "$T/link.gpx"
mkfifo "$T/fifo.gpx"
out=$(timeout 20 "$EVCAP" track import --no-geotag "$T/link.gpx" 2>&1); rc=$?
check "track_hostile: a symbolic link is named as one, not 'too many levels'" \
	test "$rc" = 1 -a "$out" = "evcap track import: $T/link.gpx: is a symbolic link, which is not followed; give the path of the file itself"
out=$(timeout 20 "$EVCAP" track import --no-geotag "$T/fifo.gpx" "$T/a" 2>&1); rc=$?
check "track_hostile: a FIFO and a folder are refused without a wait" \
	test "$rc" = 1 -a "$out" = "evcap track import: $T/fifo.gpx: not a regular file
evcap track import: $T/a: not a regular file"

# a name from a card is anybody's: bytes that are not UTF-8 and control
# characters are written as \xNN, in messages, in the source and in the
# custody event (which had neither file nor source for such a name)
mkdir -p "$T/n"
gpx "$T/n/$(printf 'bad\xffname.gpx')" 34.0 "50"
gpx "$T/n/$(printf 'esc\x1b[2Jname.gpx')" 35.0 "51"
for f in "$T"/n/*; do E track import --no-geotag "$f"; done >"$T/n.out" 2>&1
E --json log >"$T/nlog.json"
check "track_hostile: a name that is not UTF-8 is in the custody event, escaped" \
	jq -e '[.[].event | select(.action == "track-import") | .detail
	        | select(.file == "bad\\xFFname.gpx" and .source == "file:bad\\xFFname.gpx")]
	       | length == 1' "$T/nlog.json"
check "track_hostile: a control character in a name is escaped in the custody event" \
	jq -e '[.[].event | select(.action == "track-import") | .detail
	        | select(.file == "esc\\x1B[2Jname.gpx")] | length == 1' "$T/nlog.json"
if grep -q $'\x1b' "$T/n.out"; then bad "track_hostile: no control character reaches the terminal"
else ok "track_hostile: no control character reaches the terminal"; fi
check "track_hostile: the messages name the files escaped" \
	grep -q 'esc\\x1B\[2Jname.gpx: gpx, 1 fix read, 1 stored' "$T/n.out"

# a value taken from inside a file is quoted as a name is: a line break
# (XML allows one in a GPX time) cannot start a line of its own that reads
# like evcap's, and a C1 control (U+009B opens an escape sequence on a
# terminal that takes 8-bit controls) is not passed on; an NMEA sentence
# with ESC in its talker is named with the byte's code, never the byte
cat >"$T/vals.gpx" <<'GPX'
<?xml version="1.0"?>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
<trkpt lat="30" lon="120"><time>2025-01-02T00:00:00Z</time></trkpt>
<trkpt lat="30" lon="120"><time>2025-01-02&#10;evcap: forged&#x9b;1m</time></trkpt>
<trkpt lat="30" lon="120"><time>2025-01-02T00:00:02Z</time><ele>1&#9;2</ele></trkpt>
</trkseg></trk></gpx>
GPX
printf '$\033PRMC,000000.00,A,3000.0000,N,12000.0000,E,0.0,0.0,020125,,,A*00\n' >"$T/vals.nmea"
E track import --no-geotag "$T/vals.gpx" "$T/vals.nmea" >"$T/vals.out" 2>"$T/vals.err"
check "track_hostile: a GPX time holding a line break and a C1 control is quoted with \\xNN" \
	grep -qF "vals.gpx:4: time '2025-01-02\\x0Aevcap: forged\\xC2\\x9B1m' is not ISO 8601" \
	"$T/vals.err"
check "track_hostile: a GPX elevation holding a tab is quoted with \\x09" \
	grep -qF "vals.gpx:5: elevation '1\\x092' is not a number" "$T/vals.err"
check "track_hostile: an NMEA talker holding ESC is named by the byte's code" \
	grep -qF 'vals.nmea:1: control or non-ASCII byte 0x1b at column 2' "$T/vals.err"
check "track_hostile: no control character from inside a track file reaches the terminal" \
	bash -c "! grep -q '^evcap: forged' \"\$1\" && ! LC_ALL=C grep -q \$'[\\t\\x1b]\\|\\xc2[\\x80-\\x9f]' \"\$1\" \"\$2\"" _ "$T/vals.err" "$T/vals.out"

# a track saved as UTF-16 (with its byte-order mark, and without one) is
# named as such, with what to do, not as "neither GPX nor NMEA"
gpx "$T/wide.gpx" 30 "1 2"
iconv -f UTF-8 -t UTF-16 "$T/wide.gpx" >"$T/wide16.gpx"
printf '$GPRMC,000000.00,A,3000.0000,N,12000.0000,E,0.0,0.0,020125,,,A*00\n' |
	iconv -f UTF-8 -t UTF-16LE >"$T/nobom16.nmea"
E track import --no-geotag "$T/wide16.gpx" "$T/nobom16.nmea" >/dev/null 2>"$T/wide.err"
check "track_hostile: a UTF-16 GPX file is named as UTF-16, with the conversion to make" \
	grep -qF "wide16.gpx: the text is UTF-16; evcap reads GPX and NMEA written as UTF-8 or ASCII: convert a copy (iconv -f UTF-16 -t UTF-8)" "$T/wide.err"
check "track_hostile: a UTF-16 NMEA log without a byte-order mark is named as UTF-16 too" \
	grep -qF "nobom16.nmea: the text is UTF-16" "$T/wide.err"
