#!/bin/bash
# pull_keys: a trusted key signs only for its own device. The holder of
# device a's key edits device b's bundle to name key a and signs it again
# (the manifest still says device b): the office refuses it, whether
# device b's key is trusted or not, and whether key a has signed anything
# yet; b's own bundles still come in afterwards. `key show` names the
# device in its comment, `key trust` ties the key to it, `key list` shows
# the tie, a device's new key needs `--replaces`, and a store migrated
# from schema 42 ties its keys from the pulls it already holds.
. "$(dirname "$0")/../lib/common.sh"

CASE='XX检公益立〔2024〕7号'
A="$EVCAP --store $T/a"
B="$EVCAP --store $T/b"
mkdir -p "$T/carda" "$T/cardb" "$T/ta" "$T/tb"
head -c 11000 /dev/urandom >"$T/carda/DJI_0001.JPG"
head -c 12000 /dev/urandom >"$T/cardb/DJI_0101.JPG"
head -c 13000 /dev/urandom >"$T/cardb/DJI_0102.JPG"
for s in a b; do
	$EVCAP --store "$T/$s" init >/dev/null
	$EVCAP --store "$T/$s" case open "$CASE" --use >/dev/null
	$EVCAP --store "$T/$s" -q ingest "$T/card$s" >/dev/null 2>&1
	$EVCAP --store "$T/$s" -q sync --target "dir:$T/t$s" >/dev/null 2>&1
done
$A key show >"$T/a.pub"
$B key show >"$T/b.pub"
DEV_A=$($A --json key show | jq -r .device_id)
DEV_B=$($B --json key show | jq -r .device_id)
KEY_A=$($A --json key show | jq -r .key_id)
KEY_B=$($B --json key show | jq -r .key_id)
PK_A=$($A --json key show | jq -r .public_key)
# key files as stock minisign (or an older evcap) writes them: no device
sed '1s/.*/untrusted comment: minisign public key/' "$T/a.pub" >"$T/a-plain.pub"
sed '1s/.*/untrusted comment: minisign public key/' "$T/b.pub" >"$T/b-plain.pub"

check "key show names the device in the comment line" \
	grep -qx "untrusted comment: minisign public key $KEY_A of evcap device $DEV_A" "$T/a.pub"
if need minisign; then
	man=$(find "$T/ta/cases" -name manifest.json)
	check "stock minisign reads that key file" minisign -q -Vm "$man" -p "$T/a.pub"
fi

# the forgery: b's bundle under a bundle id of its own, made to name key a
# and signed again with a's key
cp -a "$T/tb" "$T/forged"
man=$(find "$T/forged/cases" -name manifest.json)
bdir=$(dirname "$man")
fid=$(basename "$bdir" | sed 's/-[0-9a-f]*$/-deadbeef/')
chmod -R u+w "$bdir"
jq --arg k "$KEY_A" --arg p "$PK_A" --arg id "$fid" \
	'.public_key_id = $k | .public_key = $p | .bundle_id = $id' "$man" >"$man.new"
mv "$man.new" "$man"
mv "$bdir" "$(dirname "$bdir")/$fid"
man=$(dirname "$bdir")/$fid/manifest.json
$A key sign "$man" 2>/dev/null
check "the forged manifest still names device b" test "$(jq -r .device_id "$man")" = "$DEV_B"

pull() { # pull STORE TARGET [ARGS]: output in $out, status in $rc
	local st=$1 tg=$2
	shift 2
	out=$($EVCAP --store "$st" pull --target "dir:$tg" --case "$CASE" "$@" 2>&1); rc=$?
}
items() { $EVCAP --store "$1" --json ls | jq length; }
foreign() {
	sqlite3 "$1/evidence.db" "SELECT count(*) FROM foreign_custody WHERE device_id = '$2'"
}

# 1. key a trusted from its key file (tied to device a at once), b not
O=$T/o1
$EVCAP --store "$O" init >/dev/null
check "key list on a store that trusts no key says so" \
	test "$($EVCAP --store "$O" key list 2>&1)" = "no trusted keys yet ('evcap key trust FILE' trusts a device's public key)"
check "... and --json gives an empty list" test "$($EVCAP --store "$O" --json key list)" = "[]"
out=$($EVCAP --store "$O" key trust "$T/a.pub" 2>&1)
check "key trust ties the key to the device its file names" \
	grep -q "trusted device key $KEY_A, tied to device $DEV_A" <<<"$out"
pull "$O" "$T/forged"
check "key a's bundle in device b's name is refused" \
	test $rc = 1 -a "$(items "$O")" = 0 -a "$(foreign "$O" "$DEV_B")" = 0
check "the refusal names device b, key a and key a's device" grep -q \
	"names device $DEV_B, but the key that signed it, $KEY_A, belongs to device $DEV_A" \
	<<<"$out"
check "and says device b has no key here yet and what to do" \
	grep -q "device $DEV_B has no key here yet.*evcap key trust FILE" <<<"$out"
pull "$O" "$T/ta"
check "device a's own bundle is accepted" test $rc = 0 -a "$(items "$O")" = 1
check "verify: custody of one other device, intact" \
	bash -c '"$1" --store "$2" verify 2>&1 | grep -q "custody events of 1 other device"' _ \
	"$EVCAP" "$O"
check "key list --json shows the device" \
	test "$($EVCAP --store "$O" --json key list | jq -r '.[0].device_id')" = "$DEV_A"
check "key list shows the device" \
	bash -c '"$1" --store "$2" key list | grep -q "device $3 (tied"' _ "$EVCAP" "$O" "$DEV_A"

# 2. both keys trusted from their files: still refused; b's bundle comes in
O=$T/o2
$EVCAP --store "$O" init >/dev/null
$EVCAP --store "$O" key trust "$T/a.pub" >/dev/null
$EVCAP --store "$O" key trust "$T/b.pub" >/dev/null
pull "$O" "$T/forged"
check "with b's key trusted too, key a cannot sign for device b" \
	test $rc = 1 -a "$(foreign "$O" "$DEV_B")" = 0
check "the refusal names device b's own key" grep -q "device $DEV_B's own key is $KEY_B" <<<"$out"
pull "$O" "$T/tb"
check "device b's real bundle is accepted afterwards" \
	test $rc = 0 -a "$(items "$O")" = 2 -a "$(foreign "$O" "$DEV_B")" -gt 0

# 3. plain key files (no device named): the first bundle a key signs ties
# it; key a, tied so to device a, cannot then sign for device b (had the
# forgery come first, it would have tied key a to device b: the reason to
# trust key files that name their device)
O=$T/o3
$EVCAP --store "$O" init >/dev/null
out=$($EVCAP --store "$O" key trust "$T/a-plain.pub" 2>&1)
check "a key file naming no device leaves the key untied, and says so" \
	grep -q "names no device" <<<"$out"
$EVCAP --store "$O" key trust "$T/b-plain.pub" >/dev/null
check "key list says the key is not tied yet" \
	bash -c '"$1" --store "$2" key list | grep -q "not tied yet"' _ "$EVCAP" "$O"
pull "$O" "$T/ta"
check "the pull says key a is now tied by its first bundle" \
	grep -q "(now tied to the device)" <<<"$out"
pull "$O" "$T/forged"
check "then key a's forgery for device b is refused" \
	test $rc = 1 -a "$(items "$O")" = 1 -a "$(foreign "$O" "$DEV_B")" = 0
check "the office's custody log records the tie" test "$(sqlite3 "$O/evidence.db" \
	"SELECT count(*) FROM custody WHERE action = 'key bind'")" = 1
pull "$O" "$T/tb"
check "device b's real bundle is accepted, and ties key b" \
	test $rc = 0 -a "$(items "$O")" = 3 -a "$($EVCAP --store "$O" --json key list |
	jq -r --arg k "$KEY_B" '.[] | select(.key_id == $k) | .device_id')" = "$DEV_B"
check "office verify passes" $EVCAP --store "$O" verify

# 4. device b's real bundle first (ties key b), then key a's forgery, with
# key a still untied: refused, as device b signs with key b
O=$T/o4
$EVCAP --store "$O" init >/dev/null
$EVCAP --store "$O" key trust "$T/a-plain.pub" >/dev/null
$EVCAP --store "$O" key trust "$T/b-plain.pub" >/dev/null
pull "$O" "$T/tb"
pull "$O" "$T/forged"
check "an untied key cannot sign for a device that signs with another key" \
	test $rc = 1 -a -n "$(grep "device $DEV_B signs with key $KEY_B" <<<"$out")"
check "the refusal says what to do if device b really has a new key" \
	grep -q "evcap key trust FILE --replaces $KEY_B" <<<"$out"
check "key a stays untied" test "$($EVCAP --store "$O" --json key list |
	jq -r --arg k "$KEY_A" '.[] | select(.key_id == $k) | .device_id')" = null

# 5. --trust-new: the new key is tied to its bundle's device at once
O=$T/o5
$EVCAP --store "$O" init >/dev/null
pull "$O" "$T/ta" --trust-new
check "--trust-new ties the key to the bundle's device" test $rc = 0 -a \
	"$($EVCAP --store "$O" --json key list | jq -r '.[0].device_id')" = "$DEV_A"
pull "$O" "$T/forged" --trust-new
check "--trust-new does not let key a sign for device b" \
	test $rc = 1 -a "$(foreign "$O" "$DEV_B")" = 0

# 6. a device's new key: refused until trusted with --replaces; the old key
# then signs nothing more
O=$T/o2
mv "$T/b/keys" "$T/b-oldkeys"
$B key show >"$T/b2.pub"   # the store keeps its device id, the key is new
KEY_B2=$($B --json key show | jq -r .key_id)
$B note "$($B --json ls | jq -r '.[0].sha256')" "after the new key" >/dev/null
$B -q sync --target "dir:$T/tb" >/dev/null 2>&1
pull "$O" "$T/tb"
check "a device's bundle signed by a key not trusted is refused" test $rc = 1
out=$($EVCAP --store "$O" key trust "$T/b2.pub" 2>&1); rc=$?
check "key trust refuses a second key for a device without --replaces" test $rc = 1 -a -n \
	"$(grep "device $DEV_B signs with key $KEY_B already.*--replaces $KEY_B" <<<"$out")"
out=$($EVCAP --store "$O" key trust "$T/b2.pub" --replaces "$KEY_B" 2>&1); rc=$?
check "with --replaces the new key is trusted for the device" test $rc = 0 -a -n \
	"$(grep "tied to device $DEV_B; key $KEY_B signs nothing more" <<<"$out")"
pull "$O" "$T/tb"
check "the device's new bundle is accepted" test $rc = 0
check "key list shows the old key replaced" \
	test "$($EVCAP --store "$O" --json key list |
	jq -r --arg k "$KEY_B" '.[] | select(.key_id == $k) | .replaced_by')" = "$KEY_B2"
# an old-key bundle arriving after the replacement
mkdir -p "$T/tb-old"
mv "$T/b/keys" "$T/b-newkeys"; mv "$T/b-oldkeys" "$T/b/keys"
$B note "$($B --json ls | jq -r '.[0].sha256')" "signed by the old key" >/dev/null
$B -q sync --target "dir:$T/tb-old" >/dev/null 2>&1
pull "$O" "$T/tb-old"
check "a replaced key's bundle is refused, naming the key that replaced it" test $rc = 1 -a -n \
	"$(grep "key $KEY_B of device $DEV_B was replaced by key $KEY_B2" <<<"$out")"

# 7. a store from schema 42: its keys are tied from the pulls it holds
O=$T/o1
cp -a "$O" "$T/o7"
O=$T/o7
$EVCAP --store "$O" key trust "$T/b-plain.pub" >/dev/null   # trusted, never used
store_to_schema_42 "$O/evidence.db"
keys7=$($EVCAP --store "$O" --json key list)
dev_of() { jq -r --arg k "$1" '.[] | select(.key_id == $k) | .device_id' <<<"$keys7"; }
check "migration ties the key whose pulled bundles named one device" \
	test "$(dev_of "$KEY_A")" = "$DEV_A"
check "migration leaves a key that signed nothing untied" test "$(dev_of "$KEY_B")" = null
pull "$O" "$T/forged"
check "after the migration, key a's forgery for device b is refused" \
	test $rc = 1 -a "$(foreign "$O" "$DEV_B")" = 0

# 8. a signature whose key id bytes are damaged names a key nobody has: it
# is refused as signed by an unknown key, possibly damaged, and never
# reported as signed by that (non-existent) key; with --trust-new too
cp -a "$T/ta" "$T/kid"
chmod -R u+w "$T/kid"
sig=$(find "$T/kid/cases" -name manifest.json.minisig)
b64=$(sed -n 2p "$sig" | base64 -d | python3 -c '
import sys; b = bytearray(sys.stdin.buffer.read()); b[4] ^= 0x5a
sys.stdout.write(__import__("base64").b64encode(bytes(b)).decode())')
sed -i "2s|.*|$b64|" "$sig"
O=$T/o8
$EVCAP --store "$O" init >/dev/null
$EVCAP --store "$O" key trust "$T/a.pub" >/dev/null
for args in "" --trust-new; do
	# shellcheck disable=SC2086
	pull "$O" "$T/kid" $args
	check "damaged key id ($args): refused as an unknown key, the signature maybe damaged" \
		bash -c '[ "$1" = 1 ] && grep -q "unknown key [0-9A-F]*," <<<"$2" &&
			grep -q "may be damaged" <<<"$2" && ! grep -q "signed by key" <<<"$2"' \
		_ "$rc" "$out"
done
check "damaged key id: nothing imported" test "$(items "$O")" = 0
