#!/bin/bash
# A bundle pull refuses stays in the office's record as not received: a
# "bundle refused" custody event (once for each reason, not at every
# pull), a note from verify and a row of the case's report, until a pull
# takes it. (It was said on the terminal only: the report of the case
# showed the bundles that came as the whole record.)
. "$(dirname "$0")/../lib/common.sh"

CASE='XX检公益立〔2024〕3号'
F="$EVCAP --store $T/field"
O="$EVCAP --store $T/office"
USB=$T/usb
mkdir -p "$T/card1" "$T/card2" "$USB"
head -c 40000 /dev/urandom >"$T/card1/DJI_0001.JPG"
head -c 30000 /dev/urandom >"$T/card2/DJI_0002.JPG"
$F -q init && $F -q case open "$CASE" --use --operator 张三 --operator 李四 &&
	$F -q ingest "$T/card1" 2>/dev/null && $F -q sync --target "dir:$USB" &&
	$F -q ingest "$T/card2" 2>/dev/null && $F -q sync --target "dir:$USB" ||
	{ bad "pull_refused: the field store could not send two bundles"; exit 1; }
$F key show >"$T/device.pub"
$O -q init && $O -q key trust "$T/device.pub" >/dev/null

# the disk damages the first bundle's photo
sha=$($F --json ls | jq -r '.[] | select(.original_name == "DJI_0001.JPG") | .sha256')
blob=$USB/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
first=$(basename "$(dirname "$(grep -l "$sha" "$USB"/cases/*/bundles/*/manifest.json)")")
chmod u+w "$blob"
flip_byte "$blob" 500
$O pull --target "dir:$USB" --case "$CASE" >"$T/pull1.out" 2>&1
check "pull: the damaged bundle is refused, the other taken" \
	grep -q "bundle $first refused: .* does not match its SHA-256" "$T/pull1.out"
refusals() { $O --json log | jq --arg b "$first" \
	'[.[] | .event | select(.action == "bundle refused" and .detail.bundle_id == $b)] | length'; }
check "pull: the refusal is a custody event (was: no trace)" test "$(refusals)" -eq 1
$O pull --target "dir:$USB" --case "$CASE" >/dev/null 2>&1
check "pull: ... recorded once, not at every pull" test "$(refusals)" -eq 1

$O verify >"$T/v.out" 2>&1
rc=$?
check "verify: notes the bundle refused and not received since, exit 0" \
	bash -c '[ "$1" -eq 0 ] && grep -q "note: 1 bundle that pull refused" "$2"' _ "$rc" "$T/v.out"
check "verify --json: bundles_refused is 1" \
	test "$($O --json verify 2>/dev/null | jq .bundles_refused)" = 1
$O export --case "$CASE" --format html --lang en --out "$T/r.html" >/dev/null 2>&1
check "report: the refused bundle is a row of bundles not received, with why" \
	grep -q "$first</span> (refused by a pull, still on the target: dir:.*does not match its SHA-256" "$T/r.html"

# the disk is put right: the next pull takes it, and the gap is closed
flip_byte "$blob" 500
$O pull --target "dir:$USB" --case "$CASE" >/dev/null 2>&1
check "once taken, verify no longer notes it" \
	test "$($O --json verify 2>/dev/null | jq .bundles_refused)" = 0
$O export --case "$CASE" --format html --lang en --out "$T/r2.html" >/dev/null 2>&1
check "... nor does the report" bash -c '! grep -q "refused by a pull" "$1"' _ "$T/r2.html"
