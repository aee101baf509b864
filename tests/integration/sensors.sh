#!/bin/bash
# `evcap sensor import` and `evcap readings` end to end: values at and
# around every GB 3838-2002 class limit of the kit's parameters, written as
# long CSV, wide CSV and an SDI-12 log, imported into a river case and a
# lake case, must come back with the classes of the standard's table
# (typed again below, apart from the code); a reading taken during a GPS
# track is placed by interpolation; malformed lines are kept, named and
# never get a value; the file itself is kept byte for byte; re-importing
# changes nothing; times without an offset are refused until one is given.
. "$(dirname "$0")/../lib/common.sh"

if ! need jq awk; then
	skip "sensors: jq or awk is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
E -q init >/dev/null 2>&1 || { bad "sensors: evcap init failed"; exit 1; }
RIVER='测检公益立〔2024〕7号'
LAKE='测检公益立〔2024〕8号'
E case open "$RIVER" --water-body river --time-offset +08:00 --operator 张三 >/dev/null &&
	E case open "$LAKE" --water-body lake --time-offset +08:00 >/dev/null ||
	{ bad "sensors: cannot open the cases"; exit 1; }

# The limits of GB 3838-2002 Table 1 for the kit's parameters, by class I..V:
# name id kind(M: value <= limit, m: value >= limit) river-limits lake-limits
cat >"$T/limits" <<'LIM'
溶解氧 do m 7.5,6,5,3,2 7.5,6,5,3,2
高锰酸盐指数 codmn M 2,4,6,10,15 2,4,6,10,15
化学需氧量 cod M 15,15,20,30,40 15,15,20,30,40
五日生化需氧量 bod5 M 3,3,4,6,10 3,3,4,6,10
氨氮 nh3n M 0.15,0.5,1.0,1.5,2.0 0.15,0.5,1.0,1.5,2.0
总磷 tp M 0.02,0.1,0.2,0.3,0.4 0.01,0.025,0.05,0.1,0.2
总氮 tn M -,-,-,-,- 0.2,0.5,1.0,1.5,2.0
pH ph R 6,9 6,9
LIM

# probes: one line a value: key name id value river-class lake-class, the
# values being every limit of either water body, and 0.2% either side
awk '
function cls(kind, lims, v,   n, a, k) {
	n = split(lims, a, ",")
	if (a[1] == "-") return "null"
	if (kind == "R") return (v >= a[1] && v <= a[2]) ? "I" : "劣V"
	for (k = 1; k <= n; k++)
		if ((kind == "M" && v <= a[k] + 0) || (kind == "m" && v >= a[k] + 0))
			return substr("I   II  III IV  V   ", 4 * k - 3, 4)
	return "劣V"
}
{
	split($4 "," $5, all, ",")
	for (i in all) if (all[i] != "-") seen[$2 SUBSEP all[i]] = 1
	name[$2] = $1; kind[$2] = $3; riv[$2] = $4; lak[$2] = $5
}
END {
	n = 0
	for (key in seen) {
		split(key, p, SUBSEP); id = p[1]; L = p[2]
		vals[1] = L; vals[2] = sprintf("%.6g", L * 1.002); vals[3] = sprintf("%.6g", L * 0.998)
		for (j = 1; j <= 3; j++) {
			v = vals[j]; n++
			rc = cls(kind[id], riv[id], v + 0); lc = cls(kind[id], lak[id], v + 0)
			gsub(/ /, "", rc); gsub(/ /, "", lc)
			printf "K%03d %s %s %s %s %s\n", n, name[id], id, v, rc, lc
		}
	}
}' "$T/limits" | sort >"$T/probes"
nprobes=$(wc -l <"$T/probes")
[ "$nprobes" -gt 100 ] || { bad "sensors: only $nprobes probes made"; exit 1; }

# the same probes in the three forms; probe n is taken at 10:00 + n seconds
# (local time, +08:00 from the case) so the SDI-12 log can be keyed by time
{
	echo "time,parameter,value,unit,sample_id"
	while read -r key nm id v rc lc; do
		s=$((10#${key#K}))
		printf '2024-05-01 10:%02d:%02d,%s,%s,%s,%s\n' $((s / 60)) $((s % 60)) "$nm" "$v" \
			"$([ "$id" = ph ] && echo "" || echo mg/L)" "$key"
	done <"$T/probes"
} >"$T/long.csv"
{
	printf 'Time\tSample_ID\tDO_mg_L\tCODMn_mg_L\tCOD (mg/L)\tBOD5_mg_L\t氨氮(mg/L)\tTP_mg_L\t总氮（mg/L）\tpH\n'
	while read -r key nm id v rc lc; do
		s=$((10#${key#K}))
		printf '2024-05-01T10:%02d:%02d+08:00\t%s' $((s / 60)) $((s % 60)) "$key"
		for c in do codmn cod bod5 nh3n tp tn ph; do
			[ "$c" = "$id" ] && printf '\t%s' "$v" || printf '\t'
		done
		printf '\n'
	done <"$T/probes"
} >"$T/wide.csv"
# the SDI-12 kit answers each parameter to its own aDN! (ammonia in ug/L)
cat >"$T/kit.profile" <<'PROF'
# test kit: one parameter a data command
name = kit
model = test kit
serial = K-1
calibrated = 2024-04-30
address = 0
value.D0.1 = do mg/L
value.D1.1 = codmn
value.D2.1 = cod
value.D3.1 = bod5
value.D4.1 = nh3n ug/L
value.D5.1 = tp
value.D6.1 = tn
value.D7.1 = ph
PROF
{
	echo "# logger boot"
	while read -r key nm id v rc lc; do
		s=$((10#${key#K}))
		case $id in do) d=0 ;; codmn) d=1 ;; cod) d=2 ;; bod5) d=3 ;; nh3n) d=4 ;;
		tp) d=5 ;; tn) d=6 ;; ph) d=7 ;; esac
		[ "$id" = nh3n ] && v=$(awk -v x="$v" 'BEGIN { printf "%.6g", x * 1000 }')
		printf '2024-05-01 02:%02d:%02dZ 0M!00011\r\n' $((s / 60)) $((s % 60))
		printf '2024-05-01 02:%02d:%02dZ 0D%d!0+%s\r\n' $((s / 60)) $((s % 60)) "$d" "$v"
	done <"$T/probes"
} >"$T/kit.sdi12"

# got CASE FORM: "key class" per reading of FORM's source, keyed by sample
# id or, for SDI-12, by the second of its time
got() {
	E --json readings --case "$1" | jq -r --arg src "$2" '
		.[] | select(.source == $src) |
		(if .sample_id then .sample_id
		 else "K" + ((.time[14:16] | tonumber) * 60 + (.time[17:19] | tonumber) | tostring
			| (if length < 3 then ("00" + .)[-3:] else . end))
		 end) + " " + (.class // "null")' | sort
}
for form in long wide sdi12; do
	file=$T/long.csv opt=()
	[ $form = wide ] && file=$T/wide.csv
	[ $form = sdi12 ] && file=$T/kit.sdi12 opt=(--format sdi12 --profile "$T/kit.profile")
	src=$(sha256sum "$file" | cut -d' ' -f1)
	# the lake's copy differs by a comment line: one file's lines are
	# readings of one case
	{ echo "# lake"; cat "$file"; } >"$file.lake"
	for body in river lake; do
		cs=$RIVER col=5
		[ $body = lake ] && cs=$LAKE col=6 file=$file.lake &&
			src=$(sha256sum "$file" | cut -d' ' -f1)
		E -q sensor import "$file" --case "$cs" "${opt[@]}" >"$T/imp.out" 2>"$T/imp.err"
		rc=$?
		awk -v c=$col '{ print $1, $c }' "$T/probes" >"$T/want"
		got "$cs" "$src" >"$T/got"
		if [ $rc -eq 0 ] && diff "$T/want" "$T/got" >"$T/diff"; then
			ok "sensors: $form form, $body: $nprobes values at and around every class limit get the standard's class"
		else
			bad "sensors: $form form, $body: import rc $rc; classes differ: $(head -5 "$T/diff" | tr '\n' ' ') $(head -2 "$T/imp.err")"
		fi
	done
done

# a sample's class is its worst parameter's; the screening label is there
cat >"$T/sample.csv" <<'CSV'
时间,样品编号,溶解氧(mg/L),氨氮(mg/L),pH
2024-05-02 09:00:00,S-1,8.0,2.3,7.2
CSV
E -q sensor import "$T/sample.csv" --case "$RIVER" >/dev/null 2>&1
E --json readings --case "$RIVER" >"$T/r.json"
check "sensors: a sample's class is its worst parameter's (ammonia 2.3 mg/L: 劣V)" \
	jq -e '[.[] | select(.sample_id == "S-1")] | length == 3 and
	       all(.sample_class == "劣V") and
	       (map(select(.parameter == "do"))[0].class == "I") and
	       (map(select(.parameter == "nh3n"))[0].class == "劣V") and
	       all(.screening | test("laboratory"))' "$T/r.json"
check "sensors: the case's operators and the instrument are on each reading" \
	jq -e '([.[] | select(.sample_id == "S-1")] | all(.operators == ["张三"])) and
	       ([.[] | select(.source != null and .instrument != null)] | length > 0) and
	       ([.[] | select(.instrument.serial == "K-1")] | all(.instrument.calibrated == "2024-04-30"))' "$T/r.json"

# the imported file is an item, its bytes kept exactly
sha=$(sha256sum "$T/long.csv" | cut -d' ' -f1)
blob=$T/store/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
check "sensors: the imported file is kept as an item, byte for byte" \
	bash -c "'$EVCAP' --json ls | jq -e --arg s $sha 'map(select(.sha256 == \$s)) | length == 1' >/dev/null && cmp -s '$blob' '$T/long.csv'"

# re-importing the same file records nothing new
before=$(E --json readings | jq length)
nlog=$(E --json log 2>/dev/null | jq length 2>/dev/null)
E -q sensor import "$T/long.csv" --case "$RIVER" >/dev/null 2>&1
after=$(E --json readings | jq length)
nlog2=$(E --json log 2>/dev/null | jq length 2>/dev/null)
if [ "$before" = "$after" ] && [ "$nlog" = "$nlog2" ]; then
	ok "sensors: re-importing a file adds no reading and no custody event"
else
	bad "sensors: re-import changed readings $before -> $after, custody $nlog -> $nlog2"
fi
check "sensors: the import is in the custody log with the file's hash and counts" \
	bash -c "'$EVCAP' --json log | jq -e --arg s $sha '[.[] | select(.event.action == \"sensor import\" and .event.item == \$s and .event.detail.source == \$s and .event.detail.added > 0 and .event.detail.lines > 100)] | length == 1'"

# malformed lines are kept raw, named, without a value
cat >"$T/bad.csv" <<'CSV'
time,parameter,value,unit,sample_id
2024-05-03 09:00:00,氨氮,0.4,mg/L,B-1
2024-05-03 09:00:00,氨氮,abc,mg/L,B-2
2024-05-03 09:00:00,硝酸盐,1.0,mg/L,B-3
2024-05-03 09:00:00,溶解氧,8,NTU,B-4
2024-05-03 09:00:00,总磷,<0.01,mg/L,B-5
2024-05-03 25:00:00,pH,7,,B-6
CSV
E -q sensor import "$T/bad.csv" --case "$RIVER" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
check "sensors: a file with malformed lines exits 1 and names each line" \
	bash -c "[ $rc -eq 1 ] && grep -q 'bad.csv:3: value .abc.' '$T/bad.err' && grep -q 'bad.csv:4: unknown parameter .硝酸盐.' '$T/bad.err' && grep -q 'bad.csv:5: unit .NTU.' '$T/bad.err' && grep -q 'bad.csv:6:' '$T/bad.err' && grep -q 'bad.csv:7: time' '$T/bad.err'"
E --json readings --case "$RIVER" --errors >"$T/err.json"
check "sensors: malformed lines are stored raw with the problem and no value or class" \
	jq -e '[.[] | select(.raw | test("^2024-05-03"))] | length == 5 and
	       all(.value == null and .class == null and (.error | test("bad.csv:[3-7]: ")))
	       and (map(.raw) | index("2024-05-03 09:00:00,硝酸盐,1.0,mg/L,B-3") != null)
	       and all(.raw_sha256 | length == 64)' "$T/err.json"
check "sensors: no reading anywhere has both an error and a value" \
	bash -c "'$EVCAP' --json readings | jq -e 'map(select(.error != null and (.value != null or .class != null))) | length == 0' >/dev/null"
check "sensors: the good line of that file is a reading (0.4 mg/L ammonia: II)" \
	bash -c "'$EVCAP' --json readings | jq -e 'map(select(.sample_id == \"B-1\")) | .[0].class == \"II\" and .[0].value == 0.4' >/dev/null"

# times without an offset need one; nothing is recorded until it is given
E -q case open 无时区案 >/dev/null 2>&1
printf 'time,parameter,value,unit\n2024-05-04 09:00:00,pH,7.5,\n' >"$T/nooff.csv"
n0=$(E --json readings | jq length); i0=$(E --json ls | jq length)
E -q sensor import "$T/nooff.csv" --case 无时区案 >/dev/null 2>"$T/nooff.err"
rc=$?
n1=$(E --json readings | jq length); i1=$(E --json ls | jq length)
check "sensors: times without an offset are refused (exit 2, nothing recorded, --time-offset named)" \
	bash -c "[ $rc -eq 2 ] && [ $n0 = $n1 ] && [ $i0 = $i1 ] && grep -q -- '--time-offset' '$T/nooff.err'"
E -q sensor import "$T/nooff.csv" --case 无时区案 --time-offset +05:00 >/dev/null 2>&1
check "sensors: with --time-offset the time is read in that offset" \
	bash -c "'$EVCAP' --json readings --case 无时区案 | jq -e '.[0].time == \"2024-05-04T04:00:00Z\" and .[0].class == \"I\"' >/dev/null"

# a GB18030 (Excel on Chinese Windows) file reads the same
if need iconv; then
	iconv -f UTF-8 -t GB18030 "$T/sample.csv" | sed 's/S-1/S-2/' >"$T/gbk.csv"
	E -q sensor import "$T/gbk.csv" --case "$RIVER" >/dev/null 2>&1
	check "sensors: a GB18030 CSV is read (Chinese headers and parameter names)" \
		bash -c "'$EVCAP' --json readings | jq -e '[.[] | select(.sample_id == \"S-2\")] | length == 3 and all(.sample_class == \"劣V\")' >/dev/null"
else
	skip "sensors: GB18030 file: iconv is not installed"
fi

# one byte that is neither UTF-8 nor GB18030 (line noise, a copy cut inside
# its last character) spoils its line, not the file: the file is kept as an
# item, its other lines are readings, the line is kept naming the byte
printf 'time,parameter,value,unit,sample_id\n2024-05-07 10:00:00,氨氮,2.3,mg/L,N-1\n2024-05-07 10:01:00,溶解氧,7.8,mg/L,N\xff2\n2024-05-07 10:05:00,总磷,0.1,mg/L,上游' >"$T/noise.csv"
E sensor import "$T/noise.csv" --case "$RIVER" >"$T/noise.out" 2>"$T/noise.err"
rc=$?
sha=$(sha256sum "$T/noise.csv" | cut -d' ' -f1)
check "sensors: a byte that is not text spoils its line only (exit 1, the line and byte named)" \
	bash -c "[ $rc -eq 1 ] && grep -qF 'noise.csv:3: the line holds bytes that are not text: 2024-05-07 10:01:00,溶解氧,7.8,mg/L,N\xFF2 (the first, \xFF, is character 35)' '$T/noise.err'"
check "sensors: a file with such a byte is kept as an item, its other lines read" \
	bash -c "'$EVCAP' --json ls | jq -e --arg s $sha 'map(select(.sha256 == \$s)) | length == 1' >/dev/null &&
		'$EVCAP' --json readings | jq -e --arg s $sha '[.[] | select(.source == \$s)] |
			(map(select(.error == null)) | map(.parameter) | sort == [\"nh3n\", \"tp\"]) and
			(map(select(.error != null)) | .[0].line_no == 3 and (.[0].raw | contains(\"N\\\\xff2\")))' >/dev/null"
head -c -2 "$T/noise.csv" >"$T/noise-cut.csv"
E sensor import "$T/noise-cut.csv" --case "$RIVER" >/dev/null 2>"$T/noise-cut.err"
check "sensors: a UTF-8 file cut inside its last character keeps its good lines" \
	bash -c "grep -qF 'noise-cut.csv:4: the line holds bytes that are not text: 2024-05-07 10:05:00,总磷,0.1,mg/L,上\xE6' '$T/noise-cut.err' && '$EVCAP' --json readings | jq -e --arg s $(sha256sum "$T/noise-cut.csv" | cut -d' ' -f1) '[.[] | select(.source == \$s and .error == null)] | length == 1' >/dev/null"

# a row with fewer fields than the header (a copy taken while the kit still
# wrote: "...,W2,125,7.2,..." cut after "12") is an error naming both counts,
# not a COD of 12 mg/L
printf 'Time,Sample_ID,COD_mg_L,pH,lat,lon\n2024-05-08T10:00:00+08:00,W1,14,7.1,31.5,120.5\n2024-05-08T10:05:00+08:00,W2,12' >"$T/short.csv"
E sensor import "$T/short.csv" --case "$RIVER" >/dev/null 2>"$T/short.err"
rc=$?
check "sensors: a row cut short is kept as an error naming its field count (exit 1, no value)" \
	bash -c "[ $rc -eq 1 ] && grep -qF 'short.csv:3: the line has 3 fields, the header 6' '$T/short.err' && '$EVCAP' --json readings | jq -e --arg s $(sha256sum "$T/short.csv" | cut -d' ' -f1) '[.[] | select(.source == \$s)] | (map(select(.line_no == 3)) | length == 1 and .[0].value == null) and (map(select(.value != null)) | length == 2)' >/dev/null"

# a quoted cell holding a line break (Excel's Alt+Enter in a remarks cell)
# is one record, named by its first line; a quote never closed spoils its
# line only
printf 'time,parameter,value,unit,sample_id,remarks\r\n2024-05-09 10:00:00,pH,7.1,,Q-1,"upstream of outfall\nwater turbid"\r\n2024-05-09 10:00:00,DO,x,mg/L,Q-1,"a\nb"\r\n2024-05-09 10:00:00,DO,7.8,mg/L,Q-1,"ok\r\n2024-05-09 10:01:00,DO,7.9,mg/L,Q-2,ok\r\n' >"$T/cellbreak.csv"
E sensor import "$T/cellbreak.csv" --case "$RIVER" >/dev/null 2>"$T/cellbreak.err"
rc=$?
check "sensors: a quoted cell with a line break is one record, named by its first line" \
	bash -c "[ $rc -eq 1 ] && grep -qF \"cellbreak.csv:4: value 'x' for dissolved oxygen is not a number\" '$T/cellbreak.err' && grep -qF 'cellbreak.csv:6: the line has a quoted field that is still open at the end of the file' '$T/cellbreak.err' && [ \$(wc -l <'$T/cellbreak.err') -eq 2 ] &&
		'$EVCAP' --json readings | jq -e --arg s $(sha256sum "$T/cellbreak.csv" | cut -d' ' -f1) '[.[] | select(.source == \$s and .error == null) | [.line_no, .parameter, .value]] == [[2, \"ph\", 7.1], [7, \"do\", 7.9]]' >/dev/null"

# a file none of whose lines can be read (no usable header, UTF-16) is
# still kept as an item, with a custody event saying why it gave nothing
printf 'when,pH\n2024-05-07 10:00:00,7.1\n' >"$T/nohead.csv"
E sensor import "$T/nohead.csv" --case "$RIVER" >/dev/null 2>"$T/nohead.err"
rc=$?
sha=$(sha256sum "$T/nohead.csv" | cut -d' ' -f1)
check "sensors: a file with no usable header is kept as an item (exit 1, the header named)" \
	bash -c "[ $rc -eq 1 ] && grep -qF 'nohead.csv:1: the header has no time column' '$T/nohead.err' && grep -q 'nohead.csv is kept as an item' '$T/nohead.err' && '$EVCAP' --json ls | jq -e --arg s $sha 'map(select(.sha256 == \$s)) | length == 1' >/dev/null"
nlog=$(E --json log | jq length)
E sensor import "$T/nohead.csv" --case "$RIVER" >/dev/null 2>&1
check "sensors: its custody event names the problem, once (a re-import adds none)" \
	bash -c "[ \$('$EVCAP' --json log | jq length) = $nlog ] && '$EVCAP' --json log | jq -e --arg s $sha '[.[] | select(.event.action == \"sensor import\" and .event.item == \$s and .event.detail.readings == 0 and (.event.detail.error | test(\"no time column\")))] | length == 1' >/dev/null"

# a reading taken during a GPS track is placed by interpolation
E -q case open 轨迹案 --water-body river >/dev/null 2>&1
cat >"$T/track.gpx" <<'GPX'
<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
<trkpt lat="47.0000000" lon="124.0000000"><ele>150</ele><time>2024-06-01T02:00:00Z</time></trkpt>
<trkpt lat="47.0010000" lon="124.0020000"><ele>150</ele><time>2024-06-01T02:00:20Z</time></trkpt>
<trkpt lat="47.0020000" lon="124.0020000"><ele>150</ele><time>2024-06-01T02:00:40Z</time></trkpt>
</trkseg></trk></gpx>
GPX
if ! E -q track import "$T/track.gpx" >/dev/null 2>&1; then
	if need sqlite3; then
		for f in "1717207200 47.000 124.000" "1717207220 47.001 124.002" "1717207240 47.002 124.002"; do
			set -- $f
			sqlite3 "$T/store/evidence.db" "INSERT INTO fixes(t, time, lat, lon, mode, source) VALUES ($1, '', $2, $3, 3, 'test')"
		done
	else
		skip "sensors: track placement: no 'evcap track import' and no sqlite3"
	fi
fi
printf 'time,parameter,value,unit,sample_id\n2024-06-01T10:00:05+08:00,氨氮,1.2,mg/L,T-1\n2024-06-01T02:00:30Z,pH,7,,T-2\n2024-06-01T03:00:00Z,pH,7,,T-3\n2024-06-01T03:00:00Z,pH,7.1,,T-4\n' >"$T/track.csv"
E -q sensor import "$T/track.csv" --case 轨迹案 >/dev/null 2>&1
E --json readings --case 轨迹案 >"$T/tr.json"
check "sensors: a reading during the track is interpolated (5 s of 20 s: a quarter of the way)" \
	jq -e 'def near(a; b): ((a - b) | fabs) < 1e-7;
	       (map(select(.sample_id == "T-1"))[0]) as $r |
	       $r.location_source == "track" and near($r.lat; 47.00025) and near($r.lon; 124.0005)
	       and $r.location_error_m > 0 and $r.class == "IV"' "$T/tr.json"
check "sensors: a reading halfway along the second segment is placed there" \
	jq -e '(map(select(.sample_id == "T-2"))[0]) as $r |
	       $r.location_source == "track" and (($r.lat - 47.0015) | fabs) < 1e-7 and (($r.lon - 124.002) | fabs) < 1e-7' "$T/tr.json"
check "sensors: a reading an hour after the track ends has no place" \
	jq -e '(map(select(.sample_id == "T-3"))[0]) | .lat == null and .location_source == null' "$T/tr.json"

# a position in the file itself wins, as source manual
printf 'time,parameter,value,unit,lat,lon\n2024-06-01T02:00:05Z,pH,7.3,,30.5,114.25\n' >"$T/pos.csv"
E -q sensor import "$T/pos.csv" --case 轨迹案 >/dev/null 2>&1
check "sensors: a position given in the file is used (location_source manual)" \
	bash -c "'$EVCAP' --json readings --case 轨迹案 | jq -e 'map(select(.value == 7.3))[0] | .lat == 30.5 and .lon == 114.25 and .location_source == \"manual\"' >/dev/null"

# a site of the case takes the readings placed inside it, as it takes photos,
# so that the site's report and list carry them
E site add 轨迹案 桥下 --lat 30.5 --lon 114.25 --radius 100 >"$T/siteadd.out" 2>&1
check "sensors: site add says the one reading it took belongs to it, in the singular" \
	grep -q "; 1 located item or reading without a site now belongs to it$" "$T/siteadd.out"
E site list 轨迹案 >"$T/sitelist1.out" 2>&1
check "sensors: site list counts one reading in the singular" \
	grep -q "\[0 items, 1 reading\]$" "$T/sitelist1.out"
printf 'time,parameter,value,unit,lat,lon\n2024-06-01T03:00:00Z,pH,7.6,,30.5003,114.2501\n' \
	>"$T/insite.csv"
E -q sensor import "$T/insite.csv" --case 轨迹案 >/dev/null 2>&1
check "sensors: a reading imported inside a site is that site's" \
	bash -c "'$EVCAP' --json readings --case 轨迹案 | jq -e 'map(select(.value == 7.6))[0].site == \"桥下\"' >/dev/null"
E export --case 轨迹案 --site 桥下 --format csv --out "$T/site.csv" >/dev/null 2>&1
check "sensors: the site's CSV lists it" grep -q '7.6' "$T/site.csv"

# readings imported before the GPS track are placed when it comes, as
# photos are: by track import's geotag step and by evcap geotag, each a
# custody event, and then go to the case's site that holds them; a
# position the kit gave is never moved
E -q case open 后轨案 --water-body river >/dev/null 2>&1
E -q site add 后轨案 闸口 --lat 46.5 --lon 123.5 --radius 100 >/dev/null 2>&1
printf 'time,parameter,value,unit,sample_id\n2024-07-01T02:00:30Z,氨氮,0.4,mg/L,L-1\n2024-07-01T05:00:00Z,氨氮,0.5,mg/L,L-2\n' \
	>"$T/late.csv"
printf 'time,parameter,value,unit,sample_id,lat,lon\n2024-07-01T02:00:30Z,pH,7.4,,L-3,46.6,123.6\n' \
	>"$T/latekit.csv"
E -q sensor import "$T/late.csv" --case 后轨案 >/dev/null 2>&1
E -q sensor import "$T/latekit.csv" --case 后轨案 >/dev/null 2>&1
cat >"$T/late.gpx" <<'GPX'
<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
<trkpt lat="46.5000000" lon="123.5000000"><time>2024-07-01T02:00:20Z</time></trkpt>
<trkpt lat="46.5002000" lon="123.5000000"><time>2024-07-01T02:00:40Z</time></trkpt>
</trkseg></trk></gpx>
GPX
E track import "$T/late.gpx" >"$T/late.out" 2>&1
E --json readings --case 后轨案 >"$T/late.json"
check "sensors: a reading imported before its track is placed by track import (halfway, source track)" \
	jq -e '(map(select(.sample_id == "L-1"))[0]) as $r | $r.location_source == "track"
	       and (($r.lat - 46.5001) | fabs) < 1e-7 and (($r.lon - 123.5) | fabs) < 1e-7
	       and $r.location_error_m > 0' "$T/late.json"
check "sensors: track import says how many readings it placed" \
	grep -q "^geotag: 1 reading placed from the GPS track$" "$T/late.out"
check "sensors: the reading placed late is in the site that holds it" \
	jq -e 'map(select(.sample_id == "L-1"))[0].site == "闸口"' "$T/late.json"
check "sensors: a reading the track does not cover, and one the kit placed, are left as they were" \
	jq -e '(map(select(.sample_id == "L-2"))[0] | .lat == null and .location_source == null)
	       and (map(select(.sample_id == "L-3"))[0] | .lat == 46.6 and .lon == 123.6
	            and .location_source == "manual" and .site == null)' "$T/late.json"
lid=$(jq '.[] | select(.sample_id == "L-1") | .id' "$T/late.json")
check "sensors: its placement is a geotag custody event naming the reading, the fix source and the method" \
	bash -c "'$EVCAP' --json log --case 后轨案 | jq -e --argjson id '$lid' '[.[].event | select(.action == \"geotag\")]
		| length == 1 and .[0].detail.placed == 1 and (.[0].detail.readings[0] | .id == \$id
		and .line_no == 2 and .method == \"interpolated\" and .fix_source == \"file:late.gpx\")' >/dev/null"
nlog=$(E --json log | jq length)
E --json geotag --case 后轨案 >"$T/late-again.json" 2>/dev/null
check "sensors: geotag again places no reading and records nothing" \
	bash -c "jq -e '.readings_placed == 0' '$T/late-again.json' >/dev/null && [ \$('$EVCAP' --json log | jq length) = $nlog ]"
# a placed reading in no case, given to a case by --unassigned after its
# file and the track's (so that no item comes with it), is in the case's
# site (a store of its own, with no other item in no case)
U="$EVCAP --store $T/unassigned"
$U -q init >/dev/null 2>&1
$U -q case open 后轨案 >/dev/null 2>&1
$U -q site add 后轨案 闸口 --lat 46.5 --lon 123.5 --radius 100 >/dev/null 2>&1
cp "$T/late.gpx" "$T/own.gpx" # the same track, in the other store
$U -q track import "$T/own.gpx" >/dev/null 2>&1
printf 'time,parameter,value,unit,sample_id\n2024-07-01T02:00:20Z,氨氮,0.6,mg/L,L-4\n' >"$T/nocase.csv"
$U -q sensor import "$T/nocase.csv" >/dev/null 2>&1
$U -q case add 后轨案 "$(sha256sum "$T/own.gpx" | cut -c1-64)" \
	"$(sha256sum "$T/nocase.csv" | cut -c1-64)" >/dev/null 2>&1
$U case add 后轨案 --unassigned >"$T/unassigned.out" 2>&1
check "sensors: a placed reading put into a case by case add --unassigned is in the case's site" \
	bash -c "grep -q '^0 items put into case 后轨案, and 1 sensor reading$' '$T/unassigned.out' &&
		$U --json readings --case 后轨案 | jq -e '.[0] | .location_source == \"track\" and .site == \"闸口\"' >/dev/null"

check "sensors: --help describes import and listen" \
	bash -c "'$EVCAP' sensor --help | grep -q 'listen DEVICE:BAUD:FORMAT' && '$EVCAP' readings --help | grep -q sample_class"

# the export shows a reading's instrument and officers as words, as an
# item's, though the store keeps them as JSON
E case open 仪器案 --time-offset +08:00 >/dev/null 2>&1
printf 'time,parameter,value,unit,sample_id\n2024-05-03 09:00:00,pH,7.2,,I-1\n' >"$T/inst.csv"
E -q sensor import "$T/inst.csv" --case 仪器案 --profile "$T/kit.profile" \
	--operator 张三 --operator 李四 >/dev/null 2>&1
E export --case 仪器案 --format csv --out "$T/inst_export.csv" >/dev/null 2>&1
E export --case 仪器案 --format html --lang zh --out "$T/inst_zh.html" >/dev/null 2>&1
E export --case 仪器案 --format html --lang en --out "$T/inst_en.html" >/dev/null 2>&1
if need python3; then
	python3 - "$T/inst_export.csv" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], encoding='utf-8-sig', newline=''))
        if r['record_type'] == 'reading']
want = ('kit (model test kit, serial K-1, calibrated 2024-04-30)', '张三; 李四')
got = [(r['reading_instrument'], r['operators']) for r in rows]
print('PASS sensors: the CSV names the instrument and officers in words'
      if got == [want] else 'FAIL sensors: CSV reading instrument, operators: %r' % got)
PY
fi
check "sensors: the zh report names the instrument in words" \
	grep -q '<td>kit（型号 test kit，序列号 K-1，校准日期 2024-04-30）</td>' "$T/inst_zh.html"
check "sensors: the en report names the instrument in words, no JSON" \
	bash -c "grep -q '<td>kit (model test kit, serial K-1, calibrated 2024-04-30)</td>' \
		'$T/inst_en.html' && ! grep -q '{&quot;' '$T/inst_en.html' '$T/inst_zh.html'"

# a file with a header and nothing under it, imported for the first time,
# is not reported as recorded before
printf 'time,parameter,value,unit,sample_id\n' >"$T/header_only.csv"
E sensor import "$T/header_only.csv" --case "$RIVER" >"$T/hdr.out" 2>&1
check "sensors: a header-only file says it holds no readings, not 'already recorded'" \
	bash -c "grep -q 'header_only.csv: 0 readings, .*nothing recorded: the file holds no readings' \
		'$T/hdr.out' && ! grep -q 'already recorded' '$T/hdr.out'"

# one measurement given two values (a row edited, a probe measuring again):
# both readings are kept, and the import names the lines and the values; a
# value given again (in other units too) is a repeat, counted, not named
cat >"$T/twice.csv" <<'CSV'
time,parameter,value,unit,sample_id
2024-05-05 09:00:00,氨氮,2.3,mg/L,D-1
2024-05-05 09:00:00,溶解氧,7.8,mg/L,D-1
2024-05-05 09:00:00,氨氮,2.5,mg/L,D-1
2024-05-05 09:00:00,氨氮,2300,ug/L,D-1
2024-05-05 09:00:00,氨氮,2.5,mg/L,D-2
CSV
E sensor import "$T/twice.csv" --case "$RIVER" >"$T/twice.out" 2>"$T/twice.err"
rc=$?
check "sensors: two values of one measurement are named with their lines (exit 0, both kept)" \
	bash -c "[ $rc -eq 0 ] && grep -qF 'twice.csv: 2 values of nh3n at 2024-05-05T01:00:00Z, sample D-1: 2.3 mg/L on line 2, 2.5 mg/L on line 4; both kept' '$T/twice.err' && [ \$(grep -c 'values of' '$T/twice.err') -eq 1 ] && grep -q '1 reading gives another value' '$T/twice.out' && grep -q '1 reading repeats' '$T/twice.out'"
check "sensors: every line of such a file is a reading" \
	bash -c "'$EVCAP' --json readings --case '$RIVER' | jq -e '[.[] | select(.sample_id == \"D-1\" and .parameter == \"nh3n\")] | map(.value) == [2.3, 2.5, 2.3]' >/dev/null"
sha=$(sha256sum "$T/twice.csv" | cut -d' ' -f1)
check "sensors: the import's custody event counts the conflicting and repeated readings" \
	bash -c "'$EVCAP' --json log | jq -e --arg s $sha '[.[] | select(.event.item == \$s and .event.detail.conflicting == 1 and .event.detail.repeated == 1)] | length == 1' >/dev/null"
E --json sensor import "$T/twice.csv" --case "$RIVER" >"$T/twice.json" 2>/dev/null
check "sensors: importing it again names nothing (nothing is added)" \
	jq -e '.added == 0 and .conflicting == 0 and .conflicts == []' "$T/twice.json"

# a profile's (or a file's) name with control characters is shown escaped,
# as ingest shows names, never raw on the terminal
esc=$(printf 'kit\033[31m')
printf 'name = kit\nformat = csv\ncolour = red\n' >"$T/$esc.profile"
E sensor import "$T/inst.csv" --case 仪器案 --profile "$T/$esc.profile" >/dev/null 2>"$T/esc1.err"
rc1=$?
E sensor import "$T/inst.csv" --case 仪器案 --profile "$T/${esc}gone.profile" >/dev/null 2>"$T/esc2.err"
rc2=$?
mkdir -p "$T/$esc.csv"
E sensor import "$T/$esc.csv" --case 仪器案 >/dev/null 2>"$T/esc3.err"
check "sensors: a profile's name with control characters is escaped in its messages" \
	bash -c "[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && grep -qF 'kit\\x1B[31m.profile:3: unknown key' '$T/esc1.err' && grep -qF 'kit\\x1B[31mgone.profile: cannot open' '$T/esc2.err' && ! grep -q \$'\\033' '$T/esc1.err' '$T/esc2.err'"
check "sensors: a sensor file's name with control characters is escaped in its messages" \
	bash -c "grep -qF 'kit\\x1B[31m.csv: not a regular file' '$T/esc3.err' && ! grep -q \$'\\033' '$T/esc3.err'"

# text taken from a sensor file (a sample id, a value, a line that is not
# text, a profile's own name and units) is quoted with control characters
# as \xNN, as names are; never as the bytes a terminal would act on
printf 'time,parameter,value,unit,sample_id\n2024-05-06 09:00:00,pH,7.\0331,,S\033[31m1\n' \
	>"$T/escval.csv"
E sensor import "$T/escval.csv" --case 仪器案 >"$T/escval.out" 2>"$T/escval.err"
check "sensors: a line whose sample id and value hold ESC is quoted with \\x1B" \
	grep -qF 'escval.csv:2: the line holds bytes that are not text: 2024-05-06 09:00:00,pH,7.\x1B1,,S\x1B[31m1 (the first, \x1B, is character 26)' \
	"$T/escval.err"
printf 'name = tdp\033[31m\nformat = sdi12\naddress = 0\nvalue.1 = temp °C\n' >"$T/escname.profile"
printf '2024-05-06T09:00:00+08:00 1+17.5\n' >"$T/escname.log"
E sensor import "$T/escname.log" --format sdi12 --profile "$T/escname.profile" --case 仪器案 \
	>"$T/escname.out" 2>"$T/escname.err"
check "sensors: a profile's name holding ESC is quoted with \\x1B" \
	grep -qF 'escname.log:1: the answer is from address 1, the profile tdp\x1B[31m is for address 0' \
	"$T/escname.err"
printf 'name = u\nformat = sdi12\nvalue.1 = temp de\033g\n' >"$T/escunit.profile"
E sensor import "$T/escname.log" --format sdi12 --profile "$T/escunit.profile" --case 仪器案 \
	>"$T/escunit.out" 2>"$T/escunit.err"
check "sensors: a profile's unit holding ESC is quoted with \\x1B, not '?'" \
	grep -qF "escunit.profile:3: 'de\\x1Bg' is not a unit of water temperature" "$T/escunit.err"
check "sensors: no raw ESC reaches the terminal from a sensor file's text" \
	bash -c "! grep -q \$'\\033' '$T'/escval.out '$T'/escval.err '$T'/escname.out '$T'/escname.err '$T'/escunit.out '$T'/escunit.err"

# listen checks its arguments before it opens the device: an SDI-12 spec
# with no profile is refused at once, not after saying it waits for it
timeout 10 "$EVCAP" sensor listen "$T/no-such-tty:9600:sdi12" --case "$RIVER" \
	>"$T/lp.out" 2>"$T/lp.err"
rc=$?
check "sensors: listen refuses an SDI-12 spec with no profile before opening the device" \
	bash -c "[ $rc = 2 ] && grep -qF 'an SDI-12 probe needs --profile FILE or --instrument NAME' '$T/lp.err' && ! grep -q 'no-such-tty' '$T/lp.err'"

# A reading is classed with the water body of the site it ends up in, else
# the case's: total phosphorus 0.08 mg/L is class II in a river and IV in
# a lake or reservoir. The case names no water body; its sites do.
E -q case open 水库案 >/dev/null 2>&1
E -q site add 水库案 水库 --lat 31.5 --lon 114.3 --radius 100 --water-body lake >/dev/null 2>&1
printf 'time,parameter,value,unit,sample_id,lat,lon\n2024-09-01 10:00:00+08:00,TP,0.08,mg/L,R-1,31.5001,114.3001\n' \
	>"$T/res1.csv"
E -q sensor import "$T/res1.csv" --case 水库案 >/dev/null 2>&1
cls() { "$EVCAP" --json readings --case 水库案 | jq -r --arg s "$1" '.[] | select(.sample_id == $s) | "\(.site) \(.class)"'; }
check "sensors: a reading placed by its position in a lake site is classed as a lake's (TP 0.08: IV)" \
	[ "$(cls R-1)" = "水库 IV" ]
check "sensors: the site assign event records the class it had and the one it now has" \
	bash -c "'$EVCAP' --json log | jq -e '[.[] | select(.event.action == \"site assign\") | .event.detail.reclassed[]? | select(.class == \"IV\" and .previous_class == \"II\" and .water_body == \"lake\" and .value == \"0.08 mg/L\")] | length == 1' >/dev/null"
printf 'time,parameter,value,unit,sample_id,lat,lon\n2024-09-02 10:00:00+08:00,TP,0.08,mg/L,R-2,31.6,114.3\n' \
	>"$T/res2.csv"
E -q sensor import "$T/res2.csv" --case 水库案 >/dev/null 2>&1
check "sensors: a reading in no site of a case with no water body is classed as a river's (II)" \
	[ "$(cls R-2)" = "null II" ]
E -q site add 水库案 水库二 --lat 31.6 --lon 114.3 --radius 100 --water-body lake >/dev/null 2>&1
check "sensors: a lake site added around a reading classes it again (IV)" \
	[ "$(cls R-2)" = "水库二 IV" ]
check "sensors: its value and unit are as recorded" \
	bash -c "'$EVCAP' --json readings --case 水库案 | jq -e 'map(select(.sample_id == \"R-2\"))[0] | .value == 0.08 and .unit == \"mg/L\" and (.raw | test(\"0.08\"))' >/dev/null"
# the case's water body classes the readings in no site that names one
printf 'time,parameter,value,unit,sample_id,lat,lon\n2024-09-03 10:00:00+08:00,TP,0.08,mg/L,R-3,32.5,114.3\n' \
	>"$T/res3.csv"
E -q sensor import "$T/res3.csv" --case 水库案 >/dev/null 2>&1
E case set 水库案 --water-body lake >"$T/wb.out" 2>&1
check "sensors: case set --water-body lake classes the case's reading in no site again" \
	[ "$(cls R-3)" = "null IV" ]
check "sensors: case set says how many readings it classed again" \
	grep -qx "1 sensor reading classed again with the case's water body" "$T/wb.out"
check "sensors: that is a reclass event naming the reading, the water body and both classes" \
	bash -c "'$EVCAP' --json log | jq -e '[.[] | select(.event.action == \"reclass\")][-1].event.detail | .reason == \"case water body\" and (.readings | length == 1) and .readings[0].water_body == \"lake\" and .readings[0].previous_class == \"II\" and .readings[0].class == \"IV\"' >/dev/null"
E -q case set 水库案 --water-body river >/dev/null 2>&1
check "sensors: back to river: the reading in no site is II again, those in lake sites stay IV" \
	bash -c "[ \"\$('$EVCAP' --json readings --case 水库案 | jq -r 'sort_by(.sample_id) | map(.class) | join(\" \")')\" = 'IV IV II' ]"
# a reading recorded in no case takes its case's water body when put in one
E -q case set 水库案 --water-body lake >/dev/null 2>&1
printf 'time,parameter,value,unit,sample_id\n2024-09-04 10:00:00+08:00,TP,0.08,mg/L,R-4\n' >"$T/res4.csv"
E -q sensor import "$T/res4.csv" --time-offset +08:00 >/dev/null 2>&1
E -q case add 水库案 --unassigned >/dev/null 2>&1
check "sensors: a reading put into a lake case with case add --unassigned is classed as a lake's" \
	[ "$(cls R-4)" = "null IV" ]
