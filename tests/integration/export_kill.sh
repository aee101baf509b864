#!/bin/bash
# kill -9 during export, at each fsync and rename in turn (strace stops the
# process as it makes the Nth call), then export again: the file or the
# working copies come out whole, each copy recorded once, no temporary
# file is left beside them, and verify passes.
. "$(dirname "$0")/../lib/common.sh"

need jq exiftool sqlite3 strace || { skip "export kill: needs jq, exiftool, sqlite3, strace"; exit 0; }
strace -o /dev/null true 2>/dev/null || { skip "export kill: strace cannot trace here"; exit 0; }

. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/base.jpg"
mkdir -p "$T/card"
for i in 1 2 3 4 5 6; do
	cp "$T/base.jpg" "$T/card/P$i.JPG"
	exiftool -q -overwrite_original "-DateTimeOriginal=2023:05:01 10:0$i:00" \
		-GPSLatitude=46.9$i -GPSLatitudeRef=N -GPSLongitude=124.2 -GPSLongitudeRef=E \
		"$T/card/P$i.JPG"
done
$EVCAP init >/dev/null && $EVCAP case open K --use >/dev/null && $EVCAP ingest "$T/card" >/dev/null 2>&1

# killed CALL N CMD...: runs CMD, killed as it makes its Nth CALL; true if it was
killed() {
	local call=$1 n=$2
	shift 2
	strace_run -f -o /dev/null -e trace="$call" -e inject="$call:signal=SIGKILL:when=$n" "$@" \
		>/dev/null 2>&1
	[ $? -eq 137 ]
}
# leftovers DIR: the temporary files in DIR
leftovers() { find "$1" -maxdepth 1 -name '.tmp-*' | wc -l; }

# 1. files written whole at once (CSV, KML): a stop leaves a temporary file
# that the next export of the same name clears
for fmt in csv kml; do
	$EVCAP export --force --format $fmt --out "$T/ref.$fmt" >/dev/null 2>&1
	mkdir -p "$T/$fmt"
	stops=0 n=1
	while killed fsync $n $EVCAP export --force --format $fmt --out "$T/$fmt/out.$fmt"; do
		stops=$((stops + 1)) n=$((n + 1))
		$EVCAP export --force --format $fmt --out "$T/$fmt/out.$fmt" >"$T/out" 2>&1 ||
			{ bad "$fmt export after a stop at fsync $n: $(cat "$T/out")"; break; }
		[ "$(leftovers "$T/$fmt")" = 0 ] ||
			{ bad "$fmt: a temporary file left after a stop at fsync $((n - 1)) and a new export: $(ls -A "$T/$fmt")"; break; }
		[ $n -gt 20 ] && break
	done
	check "$fmt: export was stopped at least twice ($stops)" test $stops -ge 2
	check "$fmt: the last export's file is whole (the same bytes as an undisturbed one)" \
		cmp -s "$T/ref.$fmt" "$T/$fmt/out.$fmt"
	check "$fmt: no temporary file left beside it" test "$(leftovers "$T/$fmt")" = 0
done

# 2. working copies: stopped at each rename (copies placed, none recorded)
# and then exported again: every copy recorded once, none left half
stops=0
for n in 1 3 6; do
	killed rename $n $EVCAP export --force --format jpeg --out "$T/jpeg" && stops=$((stops + 1))
	$EVCAP export --force --format jpeg --out "$T/jpeg" >/dev/null 2>&1
done
check "jpeg: export was stopped at each rename tried" test $stops = 3
check "jpeg: one working copy a photo" test "$(find "$T/jpeg" -name '*.jpg' -o -name '*.JPG' | wc -l)" = 6
check "jpeg: each recorded once" \
	test "$(sqlite3 "$EVCAP_STORE/evidence.db" "SELECT count(*) FROM derivatives")" = 6
check "jpeg: no temporary file left" test "$(leftovers "$T/jpeg")" = 0
check "verify passes" $EVCAP verify -q
