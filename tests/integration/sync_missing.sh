#!/bin/bash
# sync_missing: a bundle deleted from the target is noticed. Each bundle
# names the one its device sent before it for the case to the same
# target; an office that pulls a bundle naming one that neither it nor
# the target holds says so once, by name, exits 1 and records it in the
# custody log. A bundle the target holds but that is refused is not
# called missing. Put back, the bundle is pulled as any other; and the
# remedy the message gives (sync the case to another target) brings what
# it held.
. "$(dirname "$0")/../lib/common.sh"

if ! need jq sqlite3; then
	skip "sync_missing: needs jq and sqlite3"
	exit 0
fi
CASE='嫩检公益立〔2024〕9号'
F="$EVCAP --store $T/field"
TGT=$T/usb
mkdir -p "$TGT" "$T/usb2"

$F -q init && $F key show >"$T/field.pub" && $F -q case open "$CASE" --use ||
	{ bad "sync_missing: cannot make the field store"; exit 1; }
for n in 1 2 3; do
	mkdir -p "$T/card$n"
	echo "field note $n: outfall at the east bank" >"$T/card$n/note$n.txt"
	$F -q ingest "$T/card$n" 2>/dev/null && $F -q sync --target "dir:$TGT" 2>/dev/null ||
		{ bad "sync_missing: cannot ingest and sync card $n"; exit 1; }
done
mapfile -t B < <(sqlite3 "$T/field/evidence.db" "SELECT bundle_id FROM bundles ORDER BY id")
check "three syncs made three bundles" test ${#B[@]} = 3
BD=$(dirname "$(ls -d "$TGT"/cases/*/bundles/"${B[0]}")")
check "the first bundle names no bundle before it" \
	jq -e 'has("previous") | not' "$BD/${B[0]}/manifest.json"
check "each later one names the one sent before it" \
	jq -e --arg a "${B[0]}" --arg b "${B[1]}" --slurp \
	'.[0].previous == $a and .[1].previous == $b' "$BD/${B[1]}/manifest.json" \
	"$BD/${B[2]}/manifest.json"
check "the field's record of its bundles says the same" test "$(sqlite3 "$T/field/evidence.db" \
	"SELECT previous FROM bundles WHERE bundle_id = '${B[2]}'")" = "${B[1]}"

office() { # office NAME: a new office store trusting the field's key
	$EVCAP --store "$T/$1" -q init && $EVCAP --store "$T/$1" -q key trust "$T/field.pub"
}
office o1 && office o2 && office o3 && office o4 ||
	{ bad "sync_missing: cannot make the office stores"; exit 1; }

# the second bundle deleted from the target
mv "$BD/${B[1]}" "$T/saved"
out=$($EVCAP --store "$T/o1" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "a pull that finds a bundle missing exits 1" test $rc = 1
check "naming the missing bundle, the one that names it, and what to do" grep -q \
	"bundle ${B[1]} from device .* is not on the target .*bundle ${B[2]} (made .*sync the case from it to another target" \
	<<<"$out"
check "what is there is imported" test "$($EVCAP --store "$T/o1" --json ls | jq length)" = 2
check "the gap is one custody event, naming both bundles" test "$($EVCAP --store "$T/o1" \
	--json log --case "$CASE" | jq --arg m "${B[1]}" --arg n "${B[2]}" '[.[] |
	select(.event.action == "bundle missing" and .event.detail.bundle_id == $m and
	.event.detail.named_by == $n)] | length')" = 1
check "office verify passes with it" $EVCAP --store "$T/o1" -q verify
out=$($EVCAP --store "$T/o1" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "the next pull does not say it again, and exits 0" \
	test $rc = 0 -a -z "$(grep 'not on the target' <<<"$out")"

# a bundle on the target but refused is said as refused, not as missing
mkdir -p "$BD/${B[1]}"
cp -a "$T/saved/." "$BD/${B[1]}/"
sed -i "s/note2.txt/forge2.txt/" "$BD/${B[1]}/manifest.json"
out=$($EVCAP --store "$T/o2" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "a damaged bundle is refused, and not called missing" test $rc = 1 -a -n \
	"$(grep "bundle ${B[1]} refused" <<<"$out")" -a -z "$(grep 'not on the target' <<<"$out")"
$EVCAP --store "$T/o4" -q pull --target "dir:$TGT" --case "$CASE" >/dev/null 2>&1
rm -rf "${BD:?}/${B[1]}"
j=$($EVCAP --store "$T/o2" --json pull --target "dir:$TGT" --case "$CASE" 2>/dev/null); rc=$?
check "once it is gone, --json lists it under missing" test $rc = 1 -a \
	"$(jq -r '.missing[0] | "\(.bundle_id) \(.named_by)"' <<<"$j")" = "${B[1]} ${B[2]}"

# put back, it is pulled as any other, and the summary says it was missed
cp -a "$T/saved" "$BD/${B[1]}"
out=$($EVCAP --store "$T/o1" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "a missing bundle put back is pulled" test $rc = 0 -a \
	"$($EVCAP --store "$T/o1" --json ls | jq length)" = 3
check "and its summary says the store had said it was missing" \
	grep -q "bundle ${B[1]}: imported .*had said on .* that it was missing (bundle ${B[2]} names it)" \
	<<<"$out"

# the remedy: the case synced from the device to another target
$F -q sync --target "dir:$T/usb2" 2>/dev/null
$EVCAP --store "$T/o2" -q pull --target "dir:$T/usb2" --case "$CASE" 2>/dev/null; rc=$?
check "synced to another target, the case reaches the office whole" test $rc = 0 -a \
	"$($EVCAP --store "$T/o2" --json ls | jq '[.[].original_name] | sort | join(" ")')" = \
	'"note1.txt note2.txt note3.txt"'

# the case's report says where its record has that gap, until it is filled
$EVCAP --store "$T/o2" -q export --case "$CASE" --format html --lang zh --out "$T/o2.html" 2>/dev/null
$EVCAP --store "$T/o1" -q export --case "$CASE" --format html --lang zh --out "$T/o1.html" 2>/dev/null
check "the report of an office still lacking the bundle names it under 未收到的数据包" grep -q \
	"未收到的数据包</th><td><span class=\"hash\">${B[1]}</span> (设备 .*其后一个数据包 ${B[2]}; 拉取时目标中缺失: dir:$TGT#[0-9a-f]*, 20[0-9-]* [0-9:]* +08:00)<br>本存储从未收到" \
	"$T/o2.html"
out=$($EVCAP --store "$T/o2" verify 2>&1); rc=$?
check "verify notes the bundle never received, and still passes" test $rc = 0 -a -n \
	"$(grep '^note: 1 bundle that a later bundle names was never received' <<<"$out")"
check "not once it came" test "$($EVCAP --store "$T/o1" --json verify | jq .bundles_not_received)" = 0
check "the report of an office that pulled it later has no such line" \
	test -s "$T/o1.html" -a -z "$(grep -c 未收到的数据包 "$T/o1.html" | grep -v '^0$')"

# a bundle whose folder is there but whose COMMITTED was lost (a copy cut
# short) is missing too: the device named it only once it was committed
rm "$BD/${B[1]}/COMMITTED"
out=$($EVCAP --store "$T/o3" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "a named bundle without COMMITTED is called missing, saying so" test $rc = 1 -a -n \
	"$(grep "bundle ${B[1]} .* not on the target .* whole (its folder is there without COMMITTED)" <<<"$out")"
out2=$($EVCAP --store "$T/o3" pull --target "dir:$TGT" --case "$CASE" 2>&1)
check "and not as one an interrupted sync left, then or later" \
	test -z "$(grep 'interrupted sync' <<<"$out$out2")"

# another disk mounted at the same path is another target: what was
# refused on the first is not called missing from the second
mv "$TGT" "$T/diskA" && mkdir "$TGT"
$F -q sync --target "dir:$TGT" 2>/dev/null
out=$($EVCAP --store "$T/o4" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "a bundle refused from one disk is not called missing when another disk is at its path" \
	test $rc = 0 -a -z "$(grep 'not on the target' <<<"$out")"

# the first disk back, its id file damaged: what its own bundles name is
# still checked against what it holds
rm -rf "$TGT" && mv "$T/diskA" "$TGT" && echo garbage >"$TGT/evcap-target-id"
out=$($EVCAP --store "$T/o4" pull --target "dir:$TGT" --case "$CASE" 2>&1); rc=$?
check "a damaged disk id does not hide a bundle missing there" test $rc = 1 -a -n \
	"$(grep "bundle ${B[1]} .* not on the target .* without COMMITTED" <<<"$out")"
