#!/bin/bash
# sync_fork: a store that lost records it had already synced (a power cut
# that took evidence.db-wal with it) must not fork its device's custody
# chain on the target. The store comes back as it was before a sync; the
# target holds the bundle that sync made. The next sync used to number
# new events as that bundle had and send them without a word, and the
# office then refused every later bundle of the device. Now sync compares
# the target's bundles of this device with the store's custody log and
# stops before sending anything, naming the target and the bundle and
# saying what to do. Syncs with nothing lost go on as before: again with
# nothing new, with another device's bundles beside, to the same disk at
# another path, with a bundle whose record alone was lost. The same on
# S3 (Ceph RGW).
. "$(dirname "$0")/../lib/common.sh"

need jq sqlite3 || { skip "sync_fork: needs jq and sqlite3"; exit 0; }
A='嫩检公益立〔2024〕3号'
B='B-2'
F="$EVCAP --store $T/field"
G="$EVCAP --store $T/other"
O="$EVCAP --store $T/office"
TGT=$T/usb
mkdir -p "$TGT"
# card NAME: a folder holding one file of its own
card() { mkdir -p "$T/$1" && echo "$1: outfall at the east bank" >"$T/$1/$1.txt"; }
# on_target NAME: the original of card NAME is on the dir: target
on_target() {
	local sha
	sha=$(sha256sum "$T/$1/$1.txt" | cut -d' ' -f1)
	test -f "$TGT/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha"
}
# power_cut COPY: the field store's database as it was in COPY (a copy
# made while no evcap ran), its write-ahead log lost; originals and keys
# stay, as they are files of their own
power_cut() {
	rm -f "$T/field/evidence.db-wal" "$T/field/evidence.db-shm"
	cp "$1/evidence.db" "$T/field/evidence.db"
}
# snapshot COPY: the field store copied while no evcap runs
snapshot() {
	test ! -e "$T/field/evidence.db-wal" && cp -a "$T/field" "$1"
}
bundle_of() { # bundle_of CASE: the newest bundle the field store recorded for CASE
	sqlite3 "$T/field/evidence.db" "SELECT b.bundle_id FROM bundles b JOIN cases c ON
		c.id = b.case_id WHERE c.number = '$1' ORDER BY b.id DESC LIMIT 1"
}
for c in a1 b1 g1 a2 a3 a4 b2; do card $c; done
{ $F -q init && $F key show >"$T/field.pub" && $F -q case open "$A" --use &&
	$F -q case open "$B" && $F -q ingest "$T/a1" && $F -q ingest --case "$B" "$T/b1" &&
	$F -q sync --target "dir:$TGT" &&
	$G -q init && $G key show >"$T/other.pub" && $G -q case open "$A" --use &&
	$G -q ingest "$T/g1" && $G -q sync --target "dir:$TGT" &&
	$O -q init && $O -q key trust "$T/field.pub" && $O -q key trust "$T/other.pub"; } \
	>"$T/setup.out" 2>&1 || { bad "sync_fork: setup: $(tail -3 "$T/setup.out")"; exit 1; }

# nothing lost: syncs go on as before
out=$($F sync --target "dir:$TGT" 2>&1); rc=$?
check "a sync with nothing new, another device's bundle beside, exits 0 saying so" \
	test $rc = 0 -a -n "$(grep 'nothing new' <<<"$out")" -a -z "$(grep -i 'warning\|lost' <<<"$out")"
cp -a "$TGT" "$T/usb-moved"
out=$($F sync --target "dir:$T/usb-moved" 2>&1); rc=$?
check "the same disk at another path takes the case again" test $rc = 0 -a -z "$(grep lost <<<"$out")"
# a bundle whose record alone was lost (its events kept) is one the log holds
snapshot "$T/recordless"
sqlite3 "$T/recordless/evidence.db" "DELETE FROM bundles WHERE bundle_id = '$(bundle_of "$A")'"
out=$($EVCAP --store "$T/recordless" sync --target "dir:$T/usb-moved" 2>&1); rc=$?
check "a bundle of this device whose events the log holds does not stop a sync" \
	test $rc = 0 -a -z "$(grep lost <<<"$out")"
# a bundle bearing this device's 8 digits, signed by another device's key,
# is not taken as this device's; a damaged one of its own is named
X="$EVCAP --store $T/x"
card x1
dev8=$($F --json key show | jq -r .device_id | cut -c1-8)
$X -q init >/dev/null && sqlite3 "$T/x/evidence.db" \
	"UPDATE meta SET value = '$dev8' || substr(value, 9) WHERE key = 'device_id'" &&
	$X -q case open "$A" --use >/dev/null && $X -q ingest "$T/x1" && $X -q sync --target "dir:$T/usb-moved" \
	2>/dev/null || bad "sync_fork: cannot sync a device sharing 8 digits of the field's"
xb=$(sqlite3 "$T/x/evidence.db" "SELECT bundle_id FROM bundles")
check "another device's bundle there bears the field's 8 digits" \
	test -n "$(grep -- "-$dev8-" <<<"$xb")" -a -n "$(find "$T/usb-moved/cases" -name "$xb")"
out=$($F sync --target "dir:$T/usb-moved" 2>&1); rc=$?
check "a bundle of another device sharing its id's digits does not stop a sync" \
	test $rc = 0 -a -z "$(grep -i 'warning\|lost' <<<"$out")"
M=$(ls -d "$T/usb-moved/cases/"*/bundles/"$(bundle_of "$A")")/manifest.json
chmod u+w "$M" && flip_byte "$M" 40 && chmod a-w "$M"
out=$($EVCAP --store "$T/recordless" sync --target "dir:$T/usb-moved" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "a damaged bundle of its own is named in a warning, and the sync goes on" test $rc = 0 -a -n \
	"$(grep "^evcap: dir:$T/usb-moved#[0-9a-f]*: bundle $(bundle_of "$A") bears this device's .*signature does not check" <<<"$out")"

# the store loses the records of a sync it made
snapshot "$T/pre" || { bad "sync_fork: the store has a write-ahead log while no evcap runs"; exit 1; }
$F -q ingest "$T/a2" && $F -q sync --target "dir:$TGT" 2>/dev/null ||
	{ bad "sync_fork: cannot sync card a2"; exit 1; }
A2=$(bundle_of "$A")
snapshot "$T/backup"
power_cut "$T/pre"
check "the store has forgotten bundle $A2" test "$(bundle_of "$A")" != "$A2"
find "$TGT" | sort >"$T/before"
out=$($F sync --target "dir:$TGT" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "the next sync exits 1" test $rc = 1
check "naming the target, the bundle, the log's end, and that records were lost" grep -q \
	"dir:$TGT#[0-9a-f]*: bundle $A2 of case $A was made by this device, and reaches its custody event [0-9]*, but this store's custody log ends at event [0-9]*: this store appears to have lost records it had already synced" \
	<<<"$out"
check "saying what to do" grep -q \
	"Nothing was sent.*Put the store back from a copy that holds those records.*docs/sync.md" <<<"$out"

# new evidence after the cut takes the lost events' numbers
$F -q ingest "$T/a3" || { bad "sync_fork: cannot ingest card a3"; exit 1; }
out=$($F sync --target "dir:$TGT" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "with new events, the sync exits 1" test $rc = 1
check "naming the event that contradicts the bundle" grep -q \
	"bundle $A2 of case $A was made by this device, and its custody event [0-9]* is not event [0-9]* of this store's log.*lost records it had already synced" \
	<<<"$out"
find "$TGT" | sort >"$T/after"
check "nothing was written to the target" cmp -s "$T/before" "$T/after"
check "the new original was not sent" eval '! on_target a3'
out=$($O pull --target "dir:$TGT" --case "$A" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "the office pulls the case with nothing refused" test $rc = 0 -a \
	"$($O --json ls | jq '[.[].original_name] | sort | join(" ")')" = '"a1.txt a2.txt g1.txt"'

# the remedy: the store put back from a copy that holds the records
power_cut "$T/backup"
$F -q ingest "$T/a3" 2>/dev/null
out=$($F sync --target "dir:$TGT" 2>&1); rc=$?
check "a store put back from a copy made after the sync syncs again" \
	test $rc = 0 -a -n "$(grep '1 bundle committed' <<<"$out")"
out=$($O pull --target "dir:$TGT" --case "$A" 2>&1); rc=$?
check "and the office takes its bundle" test $rc = 0 -a -n "$(grep a3.txt <<<"$($O ls 2>&1)")"

# a bundle lost in another case forks the same chain: checked too
snapshot "$T/pre2" || { bad "sync_fork: the store has a write-ahead log while no evcap runs"; exit 1; }
$F -q ingest --case "$B" "$T/b2" && $F -q sync --target "dir:$TGT" 2>/dev/null ||
	{ bad "sync_fork: cannot sync card b2"; exit 1; }
B2=$(bundle_of "$B")
power_cut "$T/pre2"
$F -q ingest "$T/a4" 2>/dev/null
out=$($F sync --target "dir:$TGT" --case "$A" 2>&1); rc=$?
check "sync --case of another case stops at the lost bundle, naming it and its case" \
	test $rc = 1 -a -n "$(grep "bundle $B2 of case $B was made by this device" <<<"$out")"
check "and sends nothing of its own case" eval '! on_target a4'
$O -q pull --target "dir:$TGT" --case "$B" 2>/dev/null; rc=$?
$O -q pull --target "dir:$TGT" --case "$A" 2>/dev/null; rc2=$?
check "the office takes both cases with nothing refused" test $rc = 0 -a $rc2 = 0 -a \
	"$($O --json verify | jq .bundles_refused)" = 0

# the same through an S3 target
rgw_up sync_fork || exit 0
S3="--endpoint $S3_ENDPOINT"
H="$EVCAP --store $T/s3field"
S3O="$EVCAP --store $T/s3office"
mkdir -p "$T/h1" "$T/h2" "$T/h3"
echo "h1" >"$T/h1/h1.txt"; echo "h2" >"$T/h2/h2.txt"; echo "h3" >"$T/h3/h3.txt"
{ $H -q init && $H key show >"$T/s3field.pub" && $H -q case open "$A" --use &&
	$H -q ingest "$T/h1" && $H -q sync --target s3://evidence/fork $S3 --create-bucket &&
	$S3O -q init && $S3O -q key trust "$T/s3field.pub"; } >"$T/s3setup.out" 2>&1 ||
	{ bad "sync_fork: S3 setup: $(tail -3 "$T/s3setup.out")"; exit 1; }
out=$($H sync --target s3://evidence/fork $S3 2>&1); rc=$?
check "S3: a sync with nothing new exits 0" test $rc = 0 -a -n "$(grep 'nothing new' <<<"$out")"
cp -a "$T/s3field" "$T/s3pre"
$H -q ingest "$T/h2" && $H -q sync --target s3://evidence/fork $S3 2>/dev/null ||
	{ bad "sync_fork: S3: cannot sync card h2"; exit 1; }
H2=$(sqlite3 "$T/s3field/evidence.db" "SELECT bundle_id FROM bundles ORDER BY id DESC LIMIT 1")
rm -f "$T/s3field/evidence.db-wal" "$T/s3field/evidence.db-shm"
cp "$T/s3pre/evidence.db" "$T/s3field/evidence.db"
$H -q ingest "$T/h3" 2>/dev/null
out=$($H sync --target s3://evidence/fork $S3 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "S3: a store that lost a synced bundle's records stops, naming the bucket and the bundle" \
	test $rc = 1 -a -n "$(grep "s3://evidence/fork: bundle $H2 of case $A was made by this device.*lost records it had already synced" <<<"$out")"
out=$($S3O pull --target s3://evidence/fork $S3 --case "$A" 2>&1); rc=$?
check "S3: the office pulls the case with nothing refused, and nothing of the fork" test $rc = 0 -a \
	"$($S3O --json ls | jq '[.[].original_name] | sort | join(" ")')" = '"h1.txt h2.txt"'
