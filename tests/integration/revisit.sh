#!/bin/bash
# Follow-up re-inspection end to end: two visits months apart to three sites,
# photos built as real JPEGs with GPS and DJI XMP tags written by exiftool,
# ingested with evcap, sites added, then `evcap visits` and `evcap revisit`
# checked pair by pair with jq, and the side-by-side report rendered in
# headless Chromium (screenshot not blank, pairs side by side, A4 pages).
. "$(dirname "$0")/../lib/common.sh"

if ! need exiftool jq cjpeg; then
	skip "revisit: needs exiftool, jq and cjpeg (libimage-exiftool-perl, jq, libjpeg-turbo-progs)"
	exit 0
fi

jqok() { jq -e "$@" >/dev/null; }
# Under AddressSanitizer the memory-capped child that reads metadata cannot
# map ASan's shadow memory; read it in-process there (this test is about
# re-inspection, not about that isolation).
[ -n "${EVCAP_SAN:-}" ] && export EVCAP_META_INPROCESS=1

P=$T/photos
mkdir -p "$P/v1" "$P/v2"

# A small solid-colour JPEG per visit (before red, after blue), so the
# screenshot shows which side each thumbnail is on.
solid() { # solid R G B OUT
	local px i
	px=$(printf '\\x%02x\\x%02x\\x%02x' "$1" "$2" "$3")
	{ printf 'P6\n96 64\n255\n'; for ((i = 0; i < 96 * 64; i++)); do printf "$px"; done; } >"$T/c.ppm"
	cjpeg -quality 85 "$T/c.ppm" >"$4"
}
solid 200 40 40 "$T/red.jpg"
solid 40 60 210 "$T/blue.jpg"

# pos LAT LON NORTH_M EAST_M: a point so many metres from LAT,LON.
pos() { awk -v la="$1" -v lo="$2" -v n="$3" -v e="$4" 'BEGIN {
	r = 6371008.8; pi = atan2(0, -1)
	printf "%.8f %.8f", la + n / r * 180 / pi, lo + e / (r * cos(la * pi / 180)) * 180 / pi }'; }

# photo DIR NAME BASE "YYYY:MM:DD HH:MM:SS" LAT LON YAW REL: YAW or REL "-" = absent.
photo() {
	local f=$P/$1/$2.jpg
	local args=(-overwrite_original -DateTimeOriginal="$4" -OffsetTimeOriginal=+08:00
		-GPSLatitude="$5" -GPSLatitudeRef=N -GPSLongitude="$6" -GPSLongitudeRef=E
		-ImageDescription="$2")
	[ "$7" != - ] && args+=(-XMP-drone-dji:GimbalYawDegree="$7")
	[ "$8" != - ] && args+=(-XMP-drone-dji:RelativeAltitude="$8")
	cp "$3" "$f"
	exiftool "${args[@]}" "$f" >/dev/null || { bad "revisit: exiftool could not tag $f"; exit 1; }
}

A="49.18000000 125.22000000" B="49.19000000 125.22000000" C="49.18000000 125.23500000"
# Visit 1, 10 May 2023 (China time)
photo v1 B_A1 "$T/red.jpg" "2023:05:10 09:00:00" $(pos $A 0 0) 90 20
photo v1 B_A2 "$T/red.jpg" "2023:05:10 09:01:00" $(pos $A 0 20) 180 20
photo v1 B_A3 "$T/red.jpg" "2023:05:10 09:02:00" $(pos $A 10 0) 0 100
photo v1 B_A4 "$T/red.jpg" "2023:05:10 09:03:00" $(pos $A 18 0) 10 20
photo v1 B_B1 "$T/red.jpg" "2023:05:10 09:30:00" $(pos $B 0 0) - -
photo v1 B_B2 "$T/red.jpg" "2023:05:10 09:31:00" $(pos $B 0 15) 200 -
photo v1 B_C1 "$T/red.jpg" "2023:05:10 10:00:00" $(pos $C 0 30) 0 40
# Visit 2, 20 September 2023: the same spots a few metres off, one facing
# away, a new spot in site C, and one photo outside every site.
photo v2 A_A1 "$T/blue.jpg" "2023:09:20 10:00:00" $(pos $A 2 2) 95 22
photo v2 A_A2 "$T/blue.jpg" "2023:09:20 10:01:00" $(pos $A 1 21) 270 20
photo v2 A_A3 "$T/blue.jpg" "2023:09:20 10:02:00" $(pos $A 11 0) 350 25
photo v2 A_B1 "$T/blue.jpg" "2023:09:20 10:30:00" $(pos $B 3 -2) - -
photo v2 A_B2 "$T/blue.jpg" "2023:09:20 10:31:00" $(pos $B 4 17) 210 -
photo v2 A_C1 "$T/blue.jpg" "2023:09:20 11:00:00" $(pos $C 2 31) 5 45
photo v2 A_C2 "$T/blue.jpg" "2023:09:20 11:02:00" $(pos $C 0 -40) 0 45
photo v2 A_X1 "$T/blue.jpg" "2023:09:20 11:30:00" $(pos $C 0 600) 0 45

CASE='嫩检公益立〔2023〕15号'
"$EVCAP" init >/dev/null 2>&1
"$EVCAP" case open "$CASE" --use >/dev/null 2>&1
if ! "$EVCAP" ingest --case "$CASE" "$P" >"$T/ingest.out" 2>&1 ||
	! "$EVCAP" --json ls --case "$CASE" | jqok 'length == 15 and all(.[]; .lat != null and .captured_at != null)'; then
	bad "revisit: the photos were not ingested with their time and place: $(tail -3 "$T/ingest.out")"
	exit 1
fi

# sites after the ingest: adding a site assigns the located items in it
"$EVCAP" site add "$CASE" A --lat 49.18 --lon 125.22 --water-body river >/dev/null &&
	"$EVCAP" site add "$CASE" B --lat 49.19 --lon 125.22 --radius 50 >/dev/null &&
	"$EVCAP" site add "$CASE" C --lat 49.18 --lon 125.235 --radius 50 >/dev/null
check "revisit: sites added" [ $? -eq 0 ]
n_a=$("$EVCAP" --json site show "$CASE" A | jq '.items')
n_all=$("$EVCAP" --json site list "$CASE" | jq '[.[].items] | add')
check "revisit: site assignment (A holds 7, A+B+C hold 14 of 15)" [ "$n_a" = 7 ] && [ "$n_all" = 14 ]
check "revisit: one custody event per assignment batch, naming each item" \
	bash -c "'$EVCAP' --json log | jq -e '[.[].event | select(.action == \"site assign\")]
		| length == 3 and .[0].detail.sites[0].site == \"A\" and (.[0].detail.sites[0].items | length) == 7' >/dev/null"
"$EVCAP" site add "$CASE" A --lat 49.18 --lon 125.22 >/dev/null 2>&1
check "revisit: a second site of the same name is refused" [ $? -eq 2 ]
"$EVCAP" site add "$CASE" D --lat 91 --lon 125 >/dev/null 2>&1
check "revisit: a latitude beyond 90 is refused" [ $? -eq 2 ]

# visits
"$EVCAP" --json visits --case "$CASE" >"$T/visits.json"
check "revisit: two visits of 7 and 8 items, sites named" \
	jqok '(.visits | length) == 2 and .visits[0].items == 7 and .visits[1].items == 8
		and .visits[0].sites == ["A","B","C"] and .visits[1].visit == 2' "$T/visits.json"
"$EVCAP" --json visits --case "$CASE" --gap-hours 0.25 >"$T/visits2.json"
check "revisit: --gap-hours 0.25 splits each visit at its site changes" \
	jqok '(.visits | length) == 7' "$T/visits2.json"

# pairs
sha() { "$EVCAP" --json ls --case "$CASE" | jq -r --arg n "$1.jpg" '.[] | select(.original_name == $n) | .sha256'; }
if ! "$EVCAP" --json revisit --case "$CASE" >"$T/pairs.json" 2>"$T/err"; then
	bad "revisit: evcap revisit failed: $(cat "$T/err")"
	exit 1
fi
got=$(jq -c '[.pairs[] | [.site, .after_name, .before_name]] | sort' "$T/pairs.json")
want='[["A","A_A1.jpg","B_A1.jpg"],["A","A_A3.jpg","B_A4.jpg"],["B","A_B1.jpg","B_B1.jpg"],["B","A_B2.jpg","B_B2.jpg"],["C","A_C1.jpg","B_C1.jpg"]]'
if [ "$got" = "$want" ]; then ok "revisit: exactly the right photos are paired"; else bad "revisit: pairs $got, expected $want"; fi
check "revisit: pairs name both photos by SHA-256" \
	jqok --arg a "$(sha A_A1)" --arg b "$(sha B_A1)" \
	'any(.pairs[]; .after == $a and .before == $b)' "$T/pairs.json"
check "revisit: headings wrap (350 vs 10 is 20 apart), distances in metres" \
	jqok '(.pairs[] | select(.after_name == "A_A3.jpg") | .heading_diff_deg == 20 and .distance_m > 6.5 and .distance_m < 7.5)
		and (.pairs[] | select(.after_name == "A_B1.jpg") | .heading_diff_deg == null and .distance_m < 4)
		and (.pairs[] | select(.after_name == "A_A1.jpg") | .heading_diff_deg == 5 and .same_altitude_band == true)' \
	"$T/pairs.json"
got=$(jq -c '[.unpaired.after[] | [.name, .site, .reason]] | sort' "$T/pairs.json")
want='[["A_A2.jpg","A","facing away from every nearby earlier photo"],["A_C2.jpg","C","no earlier photo within the site radius"],["A_X1.jpg",null,"in no site"]]'
if [ "$got" = "$want" ]; then ok "revisit: unpaired later photos listed with reasons"; else bad "revisit: unpaired after $got, expected $want"; fi
got=$(jq -c '[.unpaired.before[] | .name] | sort' "$T/pairs.json")
if [ "$got" = '["B_A2.jpg","B_A3.jpg"]' ]; then ok "revisit: unpaired earlier photos listed"; else bad "revisit: unpaired before $got"; fi
"$EVCAP" --json revisit --case "$CASE" --before 2 --after 1 >"$T/rev.json"
check "revisit: --before/--after choose the visits" \
	jqok '.before.visit == 2 and .after.visit == 1 and (.pairs | length) == 5' "$T/rev.json"
"$EVCAP" revisit --case "$CASE" --before 1 --after 3 >/dev/null 2>"$T/err"
check "revisit: a visit that does not exist is named" grep -q 'visits 1 to 2, not 3' "$T/err"

# the recommendation and the reply date come from the case
"$EVCAP" case set "$CASE" --recommendation '嫩检行公建〔2023〕7号' --reply-date 2023-07-01 >/dev/null
# readings of both visits at site A (placed and classed as the sensor
# import records them): ammonia improves, COD rebounds
if need sqlite3; then
	t1=$(date -u -d '2023-05-10T01:05:00Z' +%s) t2=$(date -u -d '2023-09-20T02:05:00Z' +%s)
	sqlite3 "$EVCAP_STORE/evidence.db" "
	INSERT INTO readings(t, time, parameter, value, unit, raw, raw_sha256, source, line_no, case_id, lat, lon, class, created_at)
	SELECT $t1, '2023-05-10T01:05:00Z', 'NH3-N', 2.3, 'mg/L', 'r1', 'x1', 'test', 1, id, 49.18, 125.22, '劣V', '2023-05-10T01:05:00Z' FROM cases;
	INSERT INTO readings(t, time, parameter, value, unit, raw, raw_sha256, source, line_no, case_id, lat, lon, class, created_at)
	SELECT $t1, '2023-05-10T01:05:00Z', 'COD', 18, 'mg/L', 'r2', 'x2', 'test', 2, id, 49.18, 125.22, 'III', '2023-05-10T01:05:00Z' FROM cases;
	INSERT INTO readings(t, time, parameter, value, unit, raw, raw_sha256, source, line_no, case_id, lat, lon, class, created_at)
	SELECT $t2, '2023-09-20T02:05:00Z', 'NH3-N', 0.4, 'mg/L', 'r3', 'x3', 'test', 3, id, 49.18, 125.22, 'II', '2023-09-20T02:05:00Z' FROM cases;
	INSERT INTO readings(t, time, parameter, value, unit, raw, raw_sha256, source, line_no, case_id, lat, lon, class, created_at)
	SELECT $t2, '2023-09-20T02:05:00Z', 'COD', 38, 'mg/L', 'r4', 'x4', 'test', 4, id, 49.18, 125.22, 'V', '2023-09-20T02:05:00Z' FROM cases;"
	have_readings=1
else
	have_readings=0
fi

"$EVCAP" revisit --case "$CASE" --lang en --html "$T/report.html" >/dev/null 2>"$T/err"
check "revisit: --html writes the report" [ -s "$T/report.html" ]
cp "$T/report.html" "$T/report.first"
"$EVCAP" revisit --case "$CASE" --lang zh --html "$T/report.html" >/dev/null 2>"$T/err"
rc=$?
check "revisit: --html to a file that exists is refused (exit 2), naming it, unchanged" \
	bash -c '[ "$1" = 2 ] && grep -qF "$2 exists already; give --force" "$3" &&
		cmp -s "$2" "$4"' _ "$rc" "$T/report.html" "$T/err" "$T/report.first"
"$EVCAP" revisit --case "$CASE" --lang en --html "$T/report.html" --force >/dev/null 2>"$T/err"
check "revisit: --html --force replaces it" test $? = 0 -a -s "$T/report.html"
imgs=$(grep -o '<img [^>]*src="data:image/jpeg;base64,' "$T/report.html" | wc -l)
check "revisit: every photo of both visits is in the report as a data URI (15)" [ "$imgs" = 15 ]
check "revisit: the report needs no network" bash -c "! grep -Eq '(src|href)=\"(https?:)?//' '$T/report.html'"
check "revisit: the report names the recommendation and the reply date" \
	bash -c "grep -q '嫩检行公建〔2023〕7号' '$T/report.html' && grep -q '2023-07-01' '$T/report.html'"
if [ "$have_readings" = 1 ]; then
	check "revisit: readings side by side, the rebound flagged, the improvement not" \
		bash -c "grep -oP '<tr><td>COD</td>.*?</tr>' '$T/report.html' | grep -q '(III).*(V).*class=\"rebound\">REBOUND' &&
			 grep -oP '<tr><td>NH3-N</td>.*?</tr>' '$T/report.html' | grep -q '(劣V).*(II).*improved'"
else
	skip "revisit: readings in the report: sqlite3 is not installed"
fi
if need xmllint; then
	npairs=$(xmllint --html --xpath 'count(//div[@class="pair"][count(div[@class="side"]/img) = 2])' "$T/report.html" 2>/dev/null)
	check "revisit: five rows hold two photos each" [ "$npairs" = 5 ]
fi

# headless Chromium: the report renders and prints on A4
if ! need chromium pdfinfo; then
	skip "revisit: chromium or pdfinfo (poppler-utils) is absent; report not rendered"
	exit 0
fi
# one browser for the screenshot and the print (tests/lib/chrome.py)
timeout 300 python3 "$ROOT/tests/lib/chrome.py" shot "file://$T/report.html" "$T/shot.png" \
	1000x1400 pdf "file://$T/report.html" "$T/report.pdf" >>"$T/chrome.log" 2>&1
if [ ! -s "$T/shot.png" ]; then
	bad "revisit: chromium made no screenshot ($(tail -2 "$T/chrome.log"))"
elif need python3; then
	# count red (before) and blue (after) thumbnail pixels in each half of the page
	halves=$(python3 - "$T/shot.png" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
assert d[:8] == b'\x89PNG\r\n\x1a\n'
i, idat, w = 8, b'', 0
while i < len(d):
    n, = struct.unpack('>I', d[i:i+4]); typ = d[i+4:i+8]; body = d[i+8:i+8+n]; i += 12 + n
    if typ == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif typ == b'IDAT':
        idat += body
raw = zlib.decompress(idat); bpp = 4 if ctype == 6 else 3; stride = w * bpp
prev = bytearray(stride); pos = 0; red = [0, 0]; blue = [0, 0]; rows = [0, 0]
for y in range(h):
    f = raw[pos]; line = bytearray(raw[pos+1:pos+1+stride]); pos += 1 + stride
    for x in range(stride):
        a = line[x-bpp] if x >= bpp else 0; b = prev[x]; c = prev[x-bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, w, 4):
        r, g, bl = line[x*bpp], line[x*bpp+1], line[x*bpp+2]
        half = 0 if x < w // 2 else 1
        if r > 150 and g < 90 and bl < 90: red[half] += 1
        if bl > 150 and r < 90 and g < 110: blue[half] += 1
print(red[0], red[1], blue[0], blue[1])
PY
)
	read -r rl rr bl br <<<"$halves"
	check "revisit: screenshot shows before photos left, after photos right ($halves)" \
		[ "${rl:-0}" -gt 500 ] && [ "${br:-0}" -gt 500 ] && [ "${rr:-1}" -lt "${rl:-0}" ] && [ "${bl:-1}" -lt "${br:-0}" ]
else
	check "revisit: screenshot is not blank" [ "$(stat -c %s "$T/shot.png")" -gt 20000 ]
fi

if [ ! -s "$T/report.pdf" ]; then
	bad "revisit: chromium printed no PDF ($(tail -2 "$T/chrome.log"))"
	exit 0
fi
size=$(pdfinfo "$T/report.pdf" | sed -n 's/^Page size: *//p')
check "revisit: prints on A4 ($size)" bash -c "echo '$size' | awk '{ exit !(\$1 > 594 && \$1 < 596.5 && \$3 > 841 && \$3 < 843) }'"
if need pdftotext; then
	pdftotext -layout "$T/report.pdf" "$T/report.txt"
	check "revisit: each pair's captions stand on one line of the printed page" \
		bash -c "grep -q 'B_A1.jpg.*A_A1.jpg' '$T/report.txt' && grep -q 'B_A4.jpg.*A_A3.jpg' '$T/report.txt' &&
			 grep -q 'B_B1.jpg.*A_B1.jpg' '$T/report.txt' && grep -q 'B_B2.jpg.*A_B2.jpg' '$T/report.txt' &&
			 grep -q 'B_C1.jpg.*A_C1.jpg' '$T/report.txt'"
fi

# the same report through the export command: atomic, and a custody event
"$EVCAP" export --case "$CASE" --format html --revisit --lang en --out "$T/export-revisit.html" >/dev/null 2>"$T/err-x"
check "export --revisit writes the report" [ -s "$T/export-revisit.html" ]
n1=$(xmllint --html --xpath 'count(//div[@class="pair"])' "$T/report.html" 2>/dev/null)
n2=$(xmllint --html --xpath 'count(//div[@class="pair"])' "$T/export-revisit.html" 2>/dev/null)
check "export --revisit shows the same pairs as revisit --html ($n2 of $n1)" [ -n "$n1" ] && [ "$n1" = "$n2" ] && [ "$n1" -gt 0 ]
check "export --revisit is a custody event" sh -c "\"$EVCAP\" log --json | jq -e 'any(.[]; .event.action == \"export\" and .event.detail.format == \"html-revisit\")' >/dev/null"
# revisit --html is the same report and the same record
n_before=$("$EVCAP" log --json | jq '[.[] | select(.event.action == "export")] | length')
"$EVCAP" revisit --case "$CASE" --lang en --html "$T/again.html" >/dev/null 2>&1
check "revisit --html is an export custody event with the report's SHA-256" \
	sh -c "\"$EVCAP\" log --json | jq -e --arg h \"$(sha256sum "$T/again.html" | cut -c1-64)\" \
		'[.[] | select(.event.action == \"export\")] | length == $((n_before + 1)) and
		(last | .event.detail.format == \"html-revisit\" and .event.detail.sha256 == \$h)' >/dev/null"
# with visits split at 15 minutes, visits 1 and 4 (both at site A) hold
# fewer photos than the case: the record counts the report's
want=$(jq '.visits[0].items + .visits[3].items' "$T/visits2.json")
"$EVCAP" revisit --case "$CASE" --gap-hours 0.25 --before 1 --after 4 --html "$T/a14.html" \
	>/dev/null 2>&1
check "the record counts the report's photos ($want of visits 1 and 4), not the case's 15" \
	sh -c "[ '$want' -lt 15 ] && \"$EVCAP\" log --json | jq -e '[.[] | select(.event.action ==
		\"export\")] | last | .event.detail.items == $want and .event.detail.after == 4' >/dev/null"
"$EVCAP" revisit --case "$CASE" --html "$EVCAP_STORE/inside.html" >/dev/null 2>"$T/err-in"
rc=$?
check "revisit --html refuses a path inside the evidence store (rc $rc)" \
	bash -c "[ $rc = 2 ] && [ ! -e '$EVCAP_STORE/inside.html' ] && grep -q 'inside the evidence store' '$T/err-in'"

# The reasons given for unpaired later photos are true. Site E: the earlier
# shot from 50 m goes to the later 50 m shot 30 m away (same height band),
# so the 20 m shot 1 m from it was not beaten by a closer match. Site F:
# the earlier photo has no GPS and was filed there by hand, so the site has
# an earlier photo, only none with a position.
CASE2=复查理由案
E0="49.30000000 125.22000000" F0="49.31000000 125.22000000"
mkdir -p "$P/w1" "$P/w2" "$P/w1n"
photo w1 RB_E1 "$T/red.jpg" "2023:05:11 09:00:00" $(pos $E0 0 0) 0 50
photo w2 RA_E1 "$T/blue.jpg" "2023:09:21 10:00:00" $(pos $E0 1 0) 0 20
photo w2 RA_E2 "$T/blue.jpg" "2023:09:21 10:01:00" $(pos $E0 30 0) 0 50
photo w2 RA_F1 "$T/blue.jpg" "2023:09:21 10:05:00" $(pos $F0 0 0) 0 50
cp "$T/red.jpg" "$P/w1n/RB_F1.jpg"
exiftool -overwrite_original -DateTimeOriginal="2023:05:11 09:05:00" -OffsetTimeOriginal=+08:00 \
	-XMP-drone-dji:RelativeAltitude=50 "$P/w1n/RB_F1.jpg" >/dev/null
"$EVCAP" case open "$CASE2" >/dev/null 2>&1 &&
	"$EVCAP" site add "$CASE2" E --lat 49.30 --lon 125.22 --radius 50 >/dev/null &&
	"$EVCAP" site add "$CASE2" F --lat 49.31 --lon 125.22 --radius 50 >/dev/null &&
	"$EVCAP" ingest --case "$CASE2" "$P/w1" "$P/w2" >/dev/null 2>&1 &&
	"$EVCAP" ingest --case "$CASE2" --site F "$P/w1n" >/dev/null 2>&1
"$EVCAP" --json revisit --case "$CASE2" >"$T/why.json" 2>"$T/why.err"
check "revisit: a photo whose earlier match went to one in its height band, farther away, is not said to have lost to a closer one" \
	jqok '(.pairs[] | select(.before_name == "RB_E1.jpg") | .after_name == "RA_E2.jpg")
		and (.unpaired.after[] | select(.name == "RA_E1.jpg") | .reason
		     == "every fitting earlier photo was paired with a better match (height band first, then distance)")' \
	"$T/why.json"
check "revisit: a site whose earlier photos have no position says so, not that it has none" \
	jqok '(.unpaired.after[] | select(.name == "RA_F1.jpg") | .reason == "the earlier photos at this site have no position")
		and any(.unpaired.before[]; .name == "RB_F1.jpg" and .site == "F")' "$T/why.json"
"$EVCAP" revisit --case "$CASE2" --lang en --html "$T/why-en.html" >/dev/null 2>&1
"$EVCAP" revisit --case "$CASE2" --lang zh --html "$T/why-zh.html" >/dev/null 2>&1
check "revisit: the report gives both reasons in English" \
	bash -c "grep -qF 'paired with a better match (height band first, then distance)' '$T/why-en.html' &&
		grep -qF 'the earlier photos at this site have no position' '$T/why-en.html'"
check "revisit: the report gives both reasons in Chinese" \
	bash -c "grep -qF '合适的前次照片均已与更匹配的照片配对（先比高度段，再比距离）' '$T/why-zh.html' &&
		grep -qF '该点位的前次照片均无位置' '$T/why-zh.html'"

# items without a capture time are counted with the verb agreeing
mkdir -p "$P/untimed1" "$P/untimed2"
echo "field note one" >"$P/untimed1/note1.txt"
echo "field note two" >"$P/untimed2/note2.txt"
"$EVCAP" ingest --case "$CASE2" "$P/untimed1" >/dev/null 2>&1
"$EVCAP" visits --case "$CASE2" >"$T/untimed1.out" 2>&1
check "visits: one item without a capture time belongs to no visit (singular)" \
	grep -qx '1 item without a capture time belongs to no visit' "$T/untimed1.out"
"$EVCAP" ingest --case "$CASE2" "$P/untimed2" >/dev/null 2>&1
"$EVCAP" visits --case "$CASE2" >"$T/untimed2.out" 2>&1
check "visits: two items without a capture time belong to no visit (plural)" \
	grep -qx '2 items without a capture time belong to no visit' "$T/untimed2.out"

# an office that adds a site after its first pull: photos in a later bundle
# that lie in the site are in it when pulled, as photos ingested there are
# (the first visit's by site add, the second's by the pull), with a site
# assign event after the pull
F="$EVCAP --store $T/field" O="$EVCAP --store $T/office"
mkdir -p "$T/usb"
$F init >/dev/null 2>&1 && $F case open "$CASE" --use >/dev/null 2>&1
$F -q ingest --case "$CASE" "$P/v1" >/dev/null 2>&1
$F -q sync --target "dir:$T/usb" >/dev/null 2>&1
$F key show >"$T/field.pub"
$O init >/dev/null 2>&1 && $O key trust "$T/field.pub" >/dev/null 2>&1
$O -q pull --target "dir:$T/usb" --case "$CASE" >/dev/null 2>&1
$O site add "$CASE" A --lat 49.18 --lon 125.22 >/dev/null 2>&1
$F -q ingest --case "$CASE" "$P/v2" >/dev/null 2>&1
$F -q sync --target "dir:$T/usb" >/dev/null 2>&1
$O -q pull --target "dir:$T/usb" --case "$CASE" >"$T/pull2.out" 2>&1
check "revisit: pulled after the office added site A, the second visit's photos in it are its (A holds 7: 4 + 3)" \
	bash -c "$O --json site show '$CASE' A | jq -e '.items == 7' >/dev/null"
check "revisit: the pull's site assign event names the 3 photos it put in A" \
	bash -c "$O --json log --case '$CASE' | jq -e '[.[].event | .action] as \$a | (\$a | rindex(\"pull\")) < (\$a | rindex(\"site assign\"))' >/dev/null &&
		$O --json log --case '$CASE' | jq -e 'last(.[].event | select(.action == \"site assign\")) | .detail.assigned == 3 and .detail.sites[0].site == \"A\"' >/dev/null"
