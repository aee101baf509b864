#!/bin/bash
# kill -9 during ingest, again and again, then ingest to the end: nothing
# lost, nothing recorded twice or half, verify passes, no temp files left.
. "$(dirname "$0")/../lib/common.sh"

CARD=$T/card
mkdir -p "$CARD/DCIM/100MEDIA"
for i in $(seq -w 1 24); do
	head -c $(( (RANDOM % 4000 + 1000) * 1024 )) /dev/urandom > "$CARD/DCIM/100MEDIA/DJI_00$i.JPG"
done
cp "$CARD/DCIM/100MEDIA/DJI_0001.JPG" "$CARD/DCIM/dup.JPG"
$EVCAP init >/dev/null
$EVCAP case open kill-test --use >/dev/null

# How long a whole ingest of this card takes here, into a scratch store:
# the kills land at random moments within that time, however fast the
# machine is.
$EVCAP --store "$T/scratch" init >/dev/null && $EVCAP --store "$T/scratch" case open k --use >/dev/null
t0=$(date +%s%N)
$EVCAP --store "$T/scratch" -q ingest "$CARD" >/dev/null 2>&1
span=$(( ($(date +%s%N) - t0) / 1000000 * 7 / 10 ))
[ "$span" -lt 20 ] && span=20
rm -rf "$T/scratch"
echo "# killing at random within the first $span ms"

rounds=${KILL_ROUNDS:-15}
killed=0
for r in $(seq 1 "$rounds"); do
	$EVCAP -q ingest "$CARD" >/dev/null 2>&1 &
	pid=$!
	ms=$(( RANDOM % span + 5 ))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ $? -eq 137 ] && killed=$((killed + 1))
	# a new file arrives between runs, so later runs have new work too
	head -c $(( (RANDOM % 3000 + 500) * 1024 )) /dev/urandom > "$CARD/DCIM/100MEDIA/NEW_$r.JPG"
done
echo "# killed $killed of $rounds runs mid-ingest"
check "at least half the runs were killed mid-ingest" test "$killed" -ge $((rounds / 2))

$EVCAP ingest "$CARD" >"$T/final" 2>"$T/final.err"
check "the final ingest completes" test $? -eq 0
$EVCAP ls --json > "$T/ls.json"
check "exactly one item per distinct file" test "$(jq length "$T/ls.json")" -eq $((24 + rounds))
check "no SHA-256 recorded twice" test "$(jq '[.[].sha256] | unique | length' "$T/ls.json")" -eq $((24 + rounds))
all=1
for f in "$CARD"/DCIM/100MEDIA/*; do
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	size=$(stat -c %s "$f")
	jq -e --arg s "$sha" --argjson n "$size" 'any(.[]; .sha256 == $s and .size == $n)' "$T/ls.json" >/dev/null || { echo "# missing or wrong: $f"; all=0; }
done
check "every file is recorded with its right hash and size" test $all -eq 1
check "every item has exactly one ingest custody event" \
	test "$(sqlite3 "$EVCAP_STORE/evidence.db" "SELECT count(*) FROM custody WHERE action='ingest'")" -eq $((24 + rounds))
check "verify passes" $EVCAP verify -q
check "no temporary files remain" test -z "$(ls -A "$EVCAP_STORE/blobs/tmp")"
check "no blob without its row" test "$(find "$EVCAP_STORE/blobs/sha256" -type f | wc -l)" -eq $((24 + rounds))

# SIGINT part way (strace sends it as the ingest commits its first group,
# at its main thread's first fdatasync, with 16 of 40 files handed out):
# the files left untaken are problems, and the exit status says so
if need strace && strace -o /dev/null true 2>/dev/null; then
	I=$T/int
	mkdir -p "$I/card"
	for i in $(seq -w 1 40); do printf '\xff\xd8\xff\xd9%s' "$i" >"$I/card/IMG_$i.JPG"; done
	$EVCAP --store "$I/s" init >/dev/null 2>&1
	strace_run -f -o /dev/null -e trace=fdatasync -e inject=fdatasync:signal=SIGINT:when=1 \
		$EVCAP --store "$I/s" ingest --no-geotag "$I/card" >"$I/out" 2>"$I/err"
	rc=$?
	untaken=$(sed -n 's/.*stopped: \([0-9]*\) of 40 files not taken yet.*/\1/p' "$I/err")
	check "an ingest stopped by SIGINT exits 1 (rc $rc)" test "$rc" = 1
	check "... says how many files it did not take (${untaken:-none})" test "${untaken:-0}" -gt 0
	check "... and counts them as problems in its summary" grep -qE \
		"^[0-9]+ files?, .*, $untaken problems?, .*; $untaken files? not taken \(run it again\)$" "$I/out"
	$EVCAP --store "$I/s" ingest --no-geotag "$I/card" >"$I/out2" 2>&1
	check "running it again takes the rest, exit 0" \
		bash -c "[ $? = 0 ] && [ \"\$($EVCAP --store '$I/s' --json ls | jq length)\" = 40 ]"
else
	skip "ingest_kill: SIGINT part way: strace is missing or cannot trace here"
fi
