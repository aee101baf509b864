#!/bin/bash
# pull_case: what the field does to a case after its first sync reaches the
# office. The field titles the case, names a witness and closes it, and
# syncs a third bundle; the office's case then shows those fields, in
# whatever order the bundles are pulled, each change is a custody event
# naming the bundle and the fields, the office cannot edit a pulled case,
# its own cases are not changed by bundles, and a second laptop that opened
# the same case later does not undo what the first one recorded. The
# office's evidence report names the laptops' keys that signed the
# bundles, and its own key only for what it captured itself.
. "$(dirname "$0")/../lib/common.sh"

CASE='XX检公益立〔2024〕9号'
F="$EVCAP --store $T/field"
TGT=$T/usb
mkdir -p "$T/card1" "$T/card2" "$TGT"
head -c 11000 /dev/urandom >"$T/card1/DJI_0001.JPG"
head -c 12000 /dev/urandom >"$T/card2/DJI_0002.JPG"
$F init >/dev/null
$F case open "$CASE" --use >/dev/null
$F -q ingest "$T/card1" >/dev/null 2>&1
$F -q sync --target "dir:$TGT" >/dev/null 2>&1
cp -a "$TGT" "$T/after1"
$F -q ingest "$T/card2" >/dev/null 2>&1
$F -q sync --target "dir:$TGT" >/dev/null 2>&1
cp -a "$TGT" "$T/after2"
$F case set "$CASE" --title "排污口复查" --witness "李四" >/dev/null
$F case close "$CASE" >/dev/null
out=$($F sync --target "dir:$TGT" 2>&1)
check "the field sends a third bundle for the case's changes" \
	grep -q "1 bundle committed: 0 items" <<<"$out"
# (the three may share a second, so their ids need not sort in this order)
man3=$(grep -l '"status": "closed"' "$TGT"/cases/*/bundles/*/manifest.json)
third=$(basename "$(dirname "$man3")")
others=$(ls "$TGT/cases/"*/bundles | grep -v "$third")
check "its manifest carries the closed, titled case" jq -e \
	'.case | .status == "closed" and .title == "排污口复查" and .witness == "李四"' "$man3"
$F key show >"$T/field.pub"

office() { # office NAME: a new office store trusting the field's key
	$EVCAP --store "$T/$1" init >/dev/null
	$EVCAP --store "$T/$1" key trust "$T/field.pub" >/dev/null
}
pull() { # pull STORE TARGET
	out=$($EVCAP --store "$T/$1" pull --target "dir:$2" --case "$CASE" 2>&1); rc=$?
}
case_is() { # case_is STORE: status|title|witness|closed_at?
	$EVCAP --store "$T/$1" --json case show "$CASE" |
		jq -r '[.status, .title, .witness, (.closed_at != null)] | join("|")'
}
WANT="closed|排污口复查|李四|true"

# in order, one bundle a pull
office o1
pull o1 "$T/after1"
pull o1 "$T/after2"
check "after two bundles the office's case is open and untitled" \
	test "$(case_is o1)" = "open|||false"
pull o1 "$TGT"
check "pulled in order, the office's case is closed, titled, with its witness" \
	test $rc = 0 -a "$(case_is o1)" = "$WANT"
check "pull says which fields the third bundle changed" \
	grep -q "case fields from bundle $third: title, status, closed_at, witness" <<<"$out"
ev=$($EVCAP --store "$T/o1" --json log --case "$CASE" |
	jq -c '[.[] | select(.event.action == "case update")]')
check "the change is one custody event in the office's log" test "$(jq length <<<"$ev")" = 1
check "naming the bundle and each field changed, from and to" jq -e --arg b "$third" \
	'.[0].event.detail | .bundle_id == $b and .fields.status.from == "open" and
	.fields.status.to == "closed" and .fields.title.to == "排污口复查" and
	.fields.title.from == null and .fields.witness.to == "李四" and
	(.fields | has("closed_at")) and (.fields | has("opened_at") | not)' <<<"$ev"
check "office verify passes" $EVCAP --store "$T/o1" verify

# the third bundle first, then the others: the same case
mkdir -p "$T/only3/cases"
cp -a "$TGT/cases/." "$T/only3/cases/"
for b in $others; do rm -rf "$T"/only3/cases/*/bundles/"$b"; done
office o2
pull o2 "$T/only3"
check "the third bundle alone makes the case closed and titled" \
	test "$(case_is o2)" = "$WANT"
check "and the pull says the second is missing there (exit 1)" test $rc = 1 -a \
	"$(grep -c "is not on the target dir:$T/only3" <<<"$out")" = 1
pull o2 "$TGT"
check "older bundles pulled after it do not reopen or untitle it" \
	test $rc = 0 -a "$(case_is o2)" = "$WANT"
check "and they change nothing, so no case update is logged" \
	test "$($EVCAP --store "$T/o2" --json log | jq '[.[] | select(.event.action ==
	"case update")] | length')" = 0

# the office does not edit a pulled case
out=$($EVCAP --store "$T/o1" case set "$CASE" --title "office title" 2>&1); rc=$?
check "case set on a pulled case is refused, saying where to change it" test $rc = 2 -a -n \
	"$(grep "came from a field device.*change it on the field device" <<<"$out")"
out=$($EVCAP --store "$T/o2" case close "$CASE" 2>&1); rc=$?
check "case close on a pulled case is refused" test $rc = 2
check "and the case is as the field left it" test "$(case_is o1)" = "$WANT"

# a case the office opened itself stays the office's
$EVCAP --store "$T/o3" init >/dev/null
$EVCAP --store "$T/o3" key trust "$T/field.pub" >/dev/null
$EVCAP --store "$T/o3" case open "$CASE" --title "office title" >/dev/null
pull o3 "$TGT"
check "bundles do not change a case the office opened" test $rc = 0 -a \
	"$(case_is o3)" = "open|office title||false"
out=$($EVCAP --store "$T/o3" case set "$CASE" --witness "王五" 2>&1)
check "and the office may still edit its own case" test "$($EVCAP --store "$T/o3" --json \
	case show "$CASE" | jq -r .witness)" = "王五"

# a second laptop that opened the same case later, and syncs after the
# first closed it, does not reopen it at the office, in either order
G="$EVCAP --store $T/field2"
mkdir -p "$T/card3" "$T/usb2"
head -c 13000 /dev/urandom >"$T/card3/DJI_0003.JPG"
sleep 1 # so that its opened_at is later, to the second
$G init >/dev/null
$G case open "$CASE" --title "second laptop" --use >/dev/null
$G -q ingest "$T/card3" >/dev/null 2>&1
$G -q sync --target "dir:$T/usb2" >/dev/null 2>&1
$G key show >"$T/field2.pub"
$EVCAP --store "$T/o1" key trust "$T/field2.pub" >/dev/null
pull o1 "$T/usb2"
check "a later second laptop's bundle adds its item but leaves the case as the first left it" \
	test $rc = 0 -a "$(case_is o1)" = "$WANT" -a \
	"$($EVCAP --store "$T/o1" --json ls | jq length)" = 3
office o4
$EVCAP --store "$T/o4" key trust "$T/field2.pub" >/dev/null
pull o4 "$T/usb2"
check "pulled first, the second laptop's bundle makes the case" \
	test "$(case_is o4)" = "open|second laptop||false"
pull o4 "$TGT"
check "then the first laptop's bundles: the case follows the laptop that opened it first" \
	test $rc = 0 -a "$(case_is o4)" = "$WANT"

# the office's evidence report names the keys that signed the bundles,
# each with its device, not the office's own key, which signed none of
# them; in both languages. The hash it gives is the one the field's own
# report gives for its key.
key_of() { $EVCAP --store "$T/$1" --json key show | jq -r .key_id; }
dev_of() { jq -r .device_id "$(ls "$2"/cases/*/bundles/*/manifest.json | head -1)"; }
KF=$(key_of field) KG=$(key_of field2) KO=$(key_of o1)
DF=$(dev_of field "$TGT") DG=$(dev_of field2 "$T/usb2")
$EVCAP --store "$T/o1" export --case "$CASE" --format html --lang en --out "$T/o1-en.html" >/dev/null 2>&1
$EVCAP --store "$T/o1" export --case "$CASE" --format html --lang zh --out "$T/o1-zh.html" >/dev/null 2>&1
$F export --case "$CASE" --format html --lang en --out "$T/field-en.html" >/dev/null 2>&1
signer_row() { grep -o "<tr><th>$1</th><td>.*" "$2" | sed 's,</tr>.*,,'; }
row_en=$(signer_row 'Signing device key fingerprint (bundles received)' "$T/o1-en.html")
row_zh=$(signer_row '签名数据包的设备公钥指纹' "$T/o1-zh.html")
check "an office report names both laptops' keys as the devices' signing keys, with their devices (was: the office's key)" \
	bash -c 'grep -q "key ID $2 (device $4; bundles signed: 3)" <<<"$1" &&
		grep -q "key ID $3 (device $5; bundles signed: 1)" <<<"$1"' _ "$row_en" "$KF" "$KG" "$DF" "$DG"
check "... in Chinese too" \
	bash -c 'grep -q "密钥 ID $2 (设备 $4; 签名的数据包: 3)" <<<"$1" &&
		grep -q "密钥 ID $3 (设备 $5; 签名的数据包: 1)" <<<"$1"' _ "$row_zh" "$KF" "$KG" "$DF" "$DG"
field_sha=$(grep -o "fingerprint (evidence captured here)</th><td>key ID $KF<br><span class=\"hash\">SHA-256 [0-9a-f]*" \
	"$T/field-en.html" | sed 's/.*SHA-256 //')
check "the key's hash is the one the field's own report gives" \
	test -n "$field_sha" -a -n "$(grep "SHA-256 $field_sha" <<<"$row_en")"
check "and the office's own key appears nowhere in a report of pulled evidence alone" \
	bash -c '! grep -q "$1" "$2" && ! grep -q "$1" "$3" && ! grep -q "captured here" "$2" && ! grep -q "在此采集" "$3"' \
	_ "$KO" "$T/o1-en.html" "$T/o1-zh.html"
# an item the office captured itself in a case that also came in
# bundles: its own key is named too, as this store's
mkdir -p "$T/card-o3"
head -c 7000 /dev/urandom >"$T/card-o3/OFFICE_0001.JPG"
$EVCAP --store "$T/o3" -q ingest --case "$CASE" "$T/card-o3" >/dev/null 2>&1
$EVCAP --store "$T/o3" export --case "$CASE" --format html --lang en --out "$T/o3-en.html" >/dev/null 2>&1
check "an office report with an item captured there names the device's key and this store's own" \
	bash -c 'grep -q "Signing device key fingerprint (bundles received)</th><td>key ID $1 " "$3" &&
		grep -q "This store&#39;s signing key fingerprint (evidence captured here)</th><td>key ID $2<br>" "$3"' \
	_ "$KF" "$(key_of o3)" "$T/o3-en.html"

# the office's own acts on a pulled case: the recommendation it issues and
# the agency's reply date; bundles then leave those two alone
out=$($EVCAP --store "$T/o2" case set "$CASE" --title "x" --recommendation "嫩检行公建〔2024〕3号" 2>&1)
rc=$?
check "a title with the recommendation is still refused on a pulled case, naming what may be set" \
	test $rc = 2 -a -n "$(grep -- "only --recommendation and --reply-date" <<<"$out")"
$EVCAP --store "$T/o2" case set "$CASE" --recommendation "嫩检行公建〔2024〕3号" \
	--reply-date 2024-08-01 >/dev/null 2>&1
rc=$?
rec() { $EVCAP --store "$T/$1" --json case show "$CASE" | jq -r '[.recommendation, .reply_date, .witness] | join("|")'; }
check "the office sets the recommendation and reply date of a pulled case" \
	test $rc = 0 -a "$(rec o2)" = "嫩检行公建〔2024〕3号|2024-08-01|李四"
$F case set "$CASE" --recommendation "field's number" --witness "赵六" >/dev/null
$F -q sync --target "dir:$TGT" >/dev/null 2>&1
pull o2 "$TGT"
check "a later bundle changes the witness but not the office's recommendation or reply date" \
	test $rc = 0 -a "$(rec o2)" = "嫩检行公建〔2024〕3号|2024-08-01|赵六"
pull o1 "$TGT"
check "an office that set neither takes the field's recommendation" \
	test "$(rec o1)" = "field's number||赵六"

# the case number written with the full-width digits of a Chinese input
# method: a pull of it names the case the office has; a laptop that
# recorded it so makes a case of its own here, and the pull says so
W='XX检公益立〔２０２４〕９号'
out=$($EVCAP --store "$T/o2" pull --target "dir:$TGT" --case "$W" 2>&1); rc=$?
check "a pull of a full-width number with no bundles names the office's case" \
	test $rc = 1 -a -n "$(grep -F "no bundle of case $W" <<<"$out" |
	grep -F "did you mean '$CASE'?")"
H="$EVCAP --store $T/field3"
mkdir -p "$T/card4" "$T/usb3"
head -c 9000 /dev/urandom >"$T/card4/DJI_0004.JPG"
$H init >/dev/null
$H case open "$W" --use >/dev/null
$H -q ingest "$T/card4" >/dev/null 2>&1
$H -q sync --target "dir:$T/usb3" >/dev/null 2>&1
$H key show >"$T/field3.pub"
$EVCAP --store "$T/o2" key trust "$T/field3.pub" >/dev/null
out=$($EVCAP --store "$T/o2" pull --target "dir:$T/usb3" --case "$W" 2>&1); rc=$?
check "a case pulled in full width beside the office's is imported, and the two are named" \
	test $rc = 0 -a -n "$(grep -F "case $W differs from case '$CASE' in this store only" <<<"$out")" \
	-a "$($EVCAP --store "$T/o2" --json case list | jq length)" = 2
