#!/bin/bash
# sync_faults: what sync and pull say and do when something on the way is
# wrong, and whose fault they say it is: (1) a damaged leftover download in
# the office is fetched again, not blamed on the target; (2) a full office
# disk is named as the office's, not a refusal nor a cut; (3) a blob that is
# a symlink, FIFO, folder or missing, and (4) a bundle folder or COMMITTED
# that is a symlink, are refused at once by name, and an uncommitted bundle
# is mentioned; (5) blobs already on the target are counted so, not written
# again, and one with other content is not replaced; (6) what killed runs
# leave (temporary files, staging parts, blobs with no item) is cleared or
# noted.
. "$(dirname "$0")/../lib/common.sh"

CASE='XX检公益立〔2024〕7号'
F="$EVCAP --store $T/field"
TGT=$T/usb
mkdir -p "$T/card" "$TGT"
for i in 1 2 3; do head -c $((30000 * i)) /dev/urandom >"$T/card/DJI_000$i.JPG"; done
$F init >/dev/null && $F case open "$CASE" --use >/dev/null && $F ingest "$T/card" >/dev/null 2>&1
$F sync --target "dir:$TGT" >/dev/null 2>&1
$F key show >"$T/device.pub"
BLOB=$(find "$TGT/blobs" -type f | head -1)
SHA=$(basename "$BLOB")

# field NAME CARD: a fresh field store NAME holding CARD in the case; sets FS
field() {
	FS="$EVCAP --store $T/$1"
	$FS init >/dev/null && $FS case open "$CASE" --use >/dev/null &&
		$FS ingest "$2" >/dev/null 2>&1
}
# office NAME: a fresh office store trusting the field device; sets O
office() {
	O="$EVCAP --store $T/$1"
	$O init >/dev/null && $O key trust "$T/device.pub" >/dev/null
}
# said NAME RC PATTERN: PASS when the last run ($rc, $out) exited RC and
# its output matches PATTERN (grep); else FAIL with what it said
said() {
	if [ "$rc" = "$2" ] && grep -q -- "$3" <<<"$out"; then
		ok "$1"
	else
		bad "$1: rc=$rc: $out"
	fi
}
# pull_out DIR: pulls the case from dir:DIR into $O; sets out and rc
pull_out() {
	out=$($O pull --target "dir:$1" --case "$CASE" 2>&1)
	rc=$?
}

# 1. a leftover part that is not the blob's first bytes (a damaged office
# disk, a file copied in by hand) is the office's fault, not the target's
office o1
mkdir -p "$T/o1/pull-tmp"
head -c 1000 /dev/urandom >"$T/o1/pull-tmp/$SHA.part"
pull_out "$TGT"
check "a damaged leftover part is fetched again, and the bundle is imported" \
	test $rc = 0 -a "$($O --json ls | jq length)" = 3
check "the office says it fetched that blob again from the start" \
	grep -q "blob ${SHA:0:12}: .*discarded, and fetched again from the start" <<<"$out"
check "the target is not accused" bash -c '! grep -q "damaged or altered" <<<"$1"' _ "$out"
check "office verify passes" $O verify
# a leftover part and a target copy that is really damaged: refused, and
# the target is named, after the one fresh try
cp -a "$TGT" "$T/flip"
chmod u+w "$T/flip/blobs/sha256/${SHA:0:2}/${SHA:2:2}/$SHA"
flip_byte "$T/flip/blobs/sha256/${SHA:0:2}/${SHA:2:2}/$SHA" 5000
office o2
mkdir -p "$T/o2/pull-tmp"
head -c 1000 /dev/urandom >"$T/o2/pull-tmp/$SHA.part"
pull_out "$T/flip"
said "a damaged target copy is still refused after the fresh try" 1 \
	"on the target does not match its SHA-256"
check "and nothing of it is imported" test "$($O --json ls | jq length)" = 0

# 2. a full disk in the office is the office's fault: named as such, not a
# refusal of the bundle, not retried as a cut, and the download kept
if [ "$(id -u)" != 0 ]; then
	skip "a full office disk: needs root to mount a small tmpfs"
elif ! mkdir -p "$T/small" || ! mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
	skip "a full office disk: a tmpfs could not be mounted here"
else
	on_exit "umount '$T/small'"
	mkdir -p "$T/card2" "$T/usb2"
	head -c 3000000 /dev/urandom >"$T/card2/DJI_0100.MP4"
	big=$(sha256sum "$T/card2/DJI_0100.MP4" | cut -d' ' -f1)
	field field2 "$T/card2"
	$FS sync --target "dir:$T/usb2" >/dev/null 2>&1
	$FS key show >"$T/device2.pub"
	O="$EVCAP --store $T/small/o"
	$O init >/dev/null && $O key trust "$T/device2.pub" >/dev/null
	pull_out "$T/usb2"
	said "a full office disk: exit 1, the office store and the file named" 1 \
		"not imported: office store: .*/pull-tmp/$big.part: cannot write: No space left on"
	check "the bundle is not called refused, nor the disk a transfer cut" \
		bash -c '! grep -q "refused\|transfer cut" <<<"$1"' _ "$out"
	check "what was downloaded is kept for the next pull" \
		test -s "$T/small/o/pull-tmp/$big.part"
	out=$($O --json pull --target "dir:$T/usb2" --case "$CASE" 2>/dev/null)
	check "--json says not imported and not refused, with the reason" \
		jq -e '.not_imported == 1 and .refused == 0 and (.bundles[0] | .refused == false and
			(.reason | test("No space left on device")))' <<<"$out"
	check "nothing of it is imported" test "$($O --json ls | jq length)" = 0
fi

# 3. a blob that is a symbolic link, a FIFO, a directory, or missing, or a
# blobs/ folder that is a symbolic link: refused at once (no retry mends
# it), saying what is wrong with which file
# broken TAG WHAT HOW PATTERN: a copy of the target where the blob is WHAT,
# broken by the shell code HOW (run in it, $B the blob), pulled into a
# fresh office: refused at once, PATTERN in the reason, nothing imported
broken() {
	local dir=$T/b-$1 b
	cp -a "$TGT" "$dir"
	b=$dir/blobs/sha256/${SHA:0:2}/${SHA:2:2}/$SHA
	(cd "$dir" && B=$b eval "$3")
	office "o-$1"
	pull_out "$dir"
	if [ $rc = 1 ] && grep -q "refused: .*$4" <<<"$out" && ! grep -q "transfer cut" <<<"$out" &&
		[ "$($O --json ls | jq length)" = 0 ]; then
		ok "a blob $2 is refused at once, saying so"
	else
		bad "a blob $2: rc=$rc: $out"
	fi
}
broken link "that is a symbolic link" 'rm -f "$B"; ln -s "$BLOB" "$B"' \
	"blobs/sha256/../../$SHA: is a symbolic link, not a regular file"
broken blobs "under a blobs/ that is a symbolic link" \
	'mv blobs blobs-real; ln -s blobs-real blobs' \
	"/blobs: is a symbolic link, not a directory"
broken gone "that is missing" 'rm -f "$B"' \
	"the manifest names blob blobs/sha256/../../$SHA, which is missing from the target"
broken fifo "that is a FIFO" 'rm -f "$B"; mkfifo "$B"' "$SHA: is a FIFO, not a regular file"
broken dir "that is a directory" 'rm -f "$B"; mkdir "$B"' "$SHA: is a directory, not a regular file"

# 4. a bundle whose directory or COMMITTED is not a plain one is refused by
# name, not passed over as if the target held nothing; a bundle with no
# COMMITTED is mentioned; a symlinked case folder is named where it is
BD=$(dirname "$(find "$TGT/cases" -name COMMITTED)")
BID=$(basename "$BD")
CD=$(dirname "$(dirname "$BD")")
# odd TAG WHAT HOW PATTERN: as broken, for the bundle's own files ($D its
# directory); the bundle refused by name with PATTERN, exit 1
odd() {
	local dir=$T/c-$1
	cp -a "$TGT" "$dir"
	(cd "$dir" && D=$dir/${BD#$TGT/} eval "$3")
	office "p-$1"
	pull_out "$dir"
	if [ $rc = 1 ] && grep -q "bundle $BID refused: .*$4" <<<"$out" &&
		! grep -q "holds no bundle" <<<"$out"; then
		ok "a bundle $2 is refused by name, saying so"
	else
		bad "a bundle $2: rc=$rc: $out"
	fi
}
odd dirlink "whose directory is a symbolic link" \
	'mv "$D" "$T/elsewhere"; ln -s "$T/elsewhere" "$D"' \
	"the bundle's directory on the target is a symbolic link"
odd clink "whose COMMITTED is a symbolic link" \
	'mv "$D/COMMITTED" "$T/C"; ln -s "$T/C" "$D/COMMITTED"' \
	"COMMITTED on the target is a symbolic link"
odd cdir "whose COMMITTED is a directory" 'rm "$D/COMMITTED"; mkdir "$D/COMMITTED"' \
	"$BID/COMMITTED: is a directory, not a regular file"
cp -a "$TGT" "$T/c-none"
rm "$T/c-none/${BD#$TGT/}/COMMITTED"
office p-none
pull_out "$T/c-none"
said "a bundle with no COMMITTED is mentioned, and left alone" 0 \
	"1 bundle of case .* not committed (an interrupted sync?) left alone"
check "rather than that nothing was synced yet" \
	bash -c '! grep -q "nothing synced" <<<"$1"' _ "$out"
check "and nothing of it is imported" test "$($O --json ls | jq length)" = 0
cp -a "$TGT" "$T/c-case"
mv "$T/c-case/${CD#$TGT/}" "$T/case-elsewhere"
ln -s "$T/case-elsewhere" "$T/c-case/${CD#$TGT/}"
office p-case
pull_out "$T/c-case"
said "a symlinked case folder is named as it is, exit 1" 1 \
	"/${CD#$TGT/}: is a symbolic link, not a directory$"

# a disk copied with a file manager, and other names that are no bundle's:
# each entry not read is named once, escaped, with why and what to do; a
# symlink is named, not followed; the bundle is still imported, exit 0.
# dir_place's own temporary files are no user data and are not named.
cp -a "$TGT" "$T/c-names"
B=$T/c-names/${BD#$TGT/}
P=$(dirname "$B")
cp -a "$B" "$P/$BID (1)"
cp -a "$B" "$P/$BID copy"
mkdir "$P/Old Photos" "$P/$(printf 'x\033[2Jy\377')" "$B/extra"
touch "$P/Old Photos/a.jpg" "$P/README.TXT" "$P/desktop.ini" "$B/notes (1).txt" "$B/.DS_Store" \
	"$B/.tmp-mine" "$B/extra/a" "$B/extra/b" "$B/.tmp-COMMITTED-4444-0badbeef"
ln -s /etc/passwd "$P/link (1)"
PK=${P#$T/c-names/}
office p-names
pull_out "$T/c-names"
said "names not of the layout are named, and the bundle still imported: exit 0" 0 \
	"case .*: 1 bundle imported (3 items).*some entries there were not read"
# names NAME PATTERN: PASS NAME when exactly one warning line matches
# PATTERN, the entry's name below the case's bundles and the rest
names() {
	local n
	n=$(grep -c -- "^evcap pull: warning: dir:$T/c-names: '$PK/$2" <<<"$out")
	if [ "$n" = 1 ]; then ok "$1"; else bad "$1: $n lines: $out"; fi
}
NB="(a folder) is not a bundle's name, so it was not read"
names "a folder copied as 'ID (1)' is named once as a copy of the bundle" \
	"$BID (1)' $NB; it looks like a copy of bundle $BID, which is here"
names "and one copied as 'ID copy'" "$BID copy' $NB; it looks like a copy of bundle $BID"
names "a folder of another name, saying to give it its original name" \
	"Old Photos' $NB; if it holds a bundle, give the folder its original name"
names "a file beside the bundles" "README.TXT' (a file) is not a bundle, so it was not read"
names "a symbolic link, not followed" "link (1)' (a symbolic link) is not a bundle"
names "a name with control and non-UTF-8 bytes, escaped" 'x\\x1B\[2Jy\\xFF'"' $NB"
names "a file in the bundle's folder" "$BID/notes (1).txt' (a file) is none of a \
bundle's files (manifest.json, manifest.json.minisig, COMMITTED), so it was not read"
names "a file manager's own file" "$BID/.DS_Store' (a file) is a file manager's own file"
names "and one named as a bundle could be, not taken for one" \
	"desktop.ini' (a file) is a file manager's own file"
names "a file named like a temporary one that is not evcap's" "$BID/.tmp-mine' (a file) is none"
names "a folder in the bundle's folder, once for its two files" "$BID/extra' (a folder) is none"
check "evcap's own leftover temporary file is not named" \
	bash -c '! grep -q "tmp-COMMITTED" <<<"$1"' _ "$out"
check "no control byte reaches the terminal" bash -c '! grep -q $'"'"'\033'"'"' <<<"$1"' _ "$out"
check "and nothing else is warned about" test "$(grep -c "warning:" <<<"$out")" = 11
check "the bundle's items are in the office" test "$($O --json ls | jq length)" = 3
out=$($O --json pull --target "dir:$T/c-names" --case "$CASE" 2>/dev/null); rc=$?
check "--json lists the entries not read, exit 0" test $rc = 0 -a \
	"$(jq '.not_read | length' <<<"$out")" = 11 -a \
	"$(jq -r '.not_read[] | select(.what == "a symbolic link") | .entry' <<<"$out")" = \
	"$PK/link (1)"
# a case folder holding thousands of such names: the first 1000 named, the
# rest counted, each folder once for its two files, in whatever order the
# file system lists them (counted once per file before: 16 read as 32);
# a bundle's folder holding nothing is a bundle not committed
mkdir "$P"/Copy{1..1005} "$P/20990101-000000-aaaaaaaa-00000000"
touch "$P"/Copy{1..1005}/{a,b}
out=$($O pull --target "dir:$T/c-names" --case "$CASE" 2>&1); rc=$?
said "past 1000, the rest are counted in one line, exit 0" 0 \
	"warning: dir:$T/c-names: 16 more entries under '$PK/' are not bundles"
check "after the 1000 named" test "$(grep -c "warning:" <<<"$out")" = 1001
check "an empty bundle folder is named as a bundle not committed" \
	grep -q "1 bundle of case .* not committed" <<<"$out"

# 5. a field store whose journal is new (a new laptop, a store made again)
# syncing to a disk that already holds the blobs: read and counted as
# already there, not written again; a blob there with other content is not
# replaced, and the message says what to do
cp -a "$TGT" "$T/again"
field field3 "$T/card"
inode() { stat -c %i "$T/again/blobs/sha256/${SHA:0:2}/${SHA:2:2}/$SHA"; }
before=$(inode)
out=$($FS sync --target "dir:$T/again" 2>&1); rc=$?
said "a new journal: the blobs on the target are counted as there, none sent" 0 \
	"committed: 3 items (0 blobs sent, 0 bytes; 3 already on the target)"
check "and the target's blob is the same file, not written again" test "$(inode)" = "$before"
cp -a "$TGT" "$T/differs"
b=$T/differs/blobs/sha256/${SHA:0:2}/${SHA:2:2}/$SHA
chmod u+w "$b"
flip_byte "$b" 10
field field4 "$T/card"
out=$($FS sync --target "dir:$T/differs" 2>&1); rc=$?
said "a blob there with other content is not replaced: exit 1, named" 1 \
	"$SHA: already there with different content .*; not replaced"
check "and the message says what to do" \
	grep -q "run 'evcap verify' to confirm the copy here, have the target's copy set aside" \
	<<<"$out"
check "the target's copy is left as it was" bash -c '! cmp -s "$1" "$2"' _ "$b" "$BLOB"

# 6. what killed runs leave behind is cleared, by the run that can tell it
# is of no use. On a dir: target, a temporary file beside a blob that is in
# place and that no writer holds locked (sync killed with -9 mid-write) is
# removed when a sync finds the blob; one a live writer holds stays
cp -a "$TGT" "$T/left"
bdir=$T/left/blobs/sha256/${SHA:0:2}/${SHA:2:2}
head -c 100 /dev/urandom >"$bdir/.tmp-$SHA-4242-0badf00d"
head -c 100 /dev/urandom >"$bdir/.tmp-$SHA-4343-0badcafe"
flock -x "$bdir/.tmp-$SHA-4343-0badcafe" sleep 30 & HOLDER=$!
on_exit "kill $HOLDER 2>/dev/null"
within 5 bash -c '! flock -xn "$1" true' _ "$bdir/.tmp-$SHA-4343-0badcafe"
field field7 "$T/card"
$FS sync --target "dir:$T/left" >/dev/null 2>&1
check "a sync that finds a blob in place removes the temporary file a killed sync left" \
	test ! -e "$bdir/.tmp-$SHA-4242-0badf00d"
check "and leaves alone one a live writer holds" test -e "$bdir/.tmp-$SHA-4343-0badcafe"
kill $HOLDER 2>/dev/null

# in the office: a pull stopped after placing a blob leaves it with no
# item; verify notes it in one line without failing, and the next pull of
# the case uses it
office o6
bpath=blobs/sha256/${SHA:0:2}/${SHA:2:2}/$SHA
mkdir -p "$(dirname "$T/o6/$bpath")"
cp "$BLOB" "$T/o6/$bpath"
out=$($O verify 2>&1); rc=$?
said "verify notes an original that no item names, and passes" 0 \
	"^note: 1 original in the store belongs to no item yet (a pull or ingest stopped"
check "verify --json counts it" test "$($O --json verify | jq .orphan_blobs)" = 1
pull_out "$TGT"
check "the next pull imports the case, using it" test $rc = 0 -a "$($O --json ls | jq length)" = 3
out=$($O verify 2>&1)
check "after which verify has nothing to note" bash -c '! grep -q "^note:" <<<"$1"' _ "$out"
# the pull's staging folder: at the end of a pull that left nothing
# pending, a part of a blob the store holds goes, and so does one nobody
# wrote to for over a day; another case's recent part stays for its pull
other=$(printf 'ab%.0s' $(seq 32))
old=$(printf 'cd%.0s' $(seq 32))
head -c 500 /dev/urandom >"$T/o6/pull-tmp/$SHA.part"
head -c 500 /dev/urandom >"$T/o6/pull-tmp/$other.part"
head -c 500 /dev/urandom >"$T/o6/pull-tmp/$old.part"
touch -d '2 days ago' "$T/o6/pull-tmp/$old.part"
pull_out "$TGT"
check "a pull removes the part of a blob the store holds" \
	test $rc = 0 -a ! -e "$T/o6/pull-tmp/$SHA.part"
check "and a part nobody wrote to for a day" test ! -e "$T/o6/pull-tmp/$old.part"
check "and keeps another case's recent part" test -e "$T/o6/pull-tmp/$other.part"

# 7. one case's fault on the target does not hold back the others: the
# case is named, the later cases are synced, the exit status is 1, and the
# summary names the case that failed. First a file where the case's folder
# goes (the case's bundle is left unfinished, kept in the store); then that
# bundle's manifest there with other bytes, which the next run cannot
# finish either
FS="$EVCAP --store $T/field8"
mkdir -p "$T/card8a" "$T/card8b" "$T/card8c" "$T/many"
head -c 4000 /dev/urandom >"$T/card8a/DJI_0801.JPG"
head -c 5000 /dev/urandom >"$T/card8b/DJI_0802.JPG"
head -c 6000 /dev/urandom >"$T/card8c/DJI_0803.JPG"
$FS init >/dev/null && $FS case open A-1 >/dev/null && $FS case open B-2 >/dev/null &&
	$FS -q ingest --case A-1 "$T/card8a" >/dev/null 2>&1 &&
	$FS -q ingest --case B-2 "$T/card8b" >/dev/null 2>&1
keyA=$(sqlite3 "$T/field8/evidence.db" "SELECT key FROM cases WHERE number = 'A-1'")
keyB=$(sqlite3 "$T/field8/evidence.db" "SELECT key FROM cases WHERE number = 'B-2'")
mkdir -p "$T/many/cases" && echo "in the way" >"$T/many/cases/$keyA"
out=$($FS sync --target "dir:$T/many" 2>&1); rc=$?
said "a case whose folder on the target is a file fails, named, exit 1" 1 \
	"case A-1: .*cases/$keyA: is .*, not a directory; the other cases go on"
check "it says a regular file is there (not an unknown kind of file)" \
	grep -q "cases/$keyA: is a regular file, not a directory" <<<"$out"
check "the case after it is synced all the same" test -n "$(find "$T/many/cases/$keyB" -name COMMITTED)"
check "the summary says what was committed" grep -q "^1 bundle committed: 1 item (" <<<"$out"
check "and names the case that failed" \
	grep -q "evcap sync: 1 of 2 cases failed, each said above (the others were synced): A-1$" <<<"$out"
out=$($FS --json sync --target "dir:$T/many" 2>/dev/null); rc=$?
check "--json lists the failed cases, exit 1" \
	test $rc = 1 -a "$(jq -c .cases_failed <<<"$out")" = '["A-1"]'
rm "$T/many/cases/$keyA"
bid=$(sqlite3 "$T/field8/evidence.db" "SELECT value FROM meta WHERE key LIKE 'sync.pending:%:$keyA'" |
	jq -r .bundle_id)
mkdir -p "$T/many/cases/$keyA/bundles/$bid"
echo '{"not": "this bundle"}' >"$T/many/cases/$keyA/bundles/$bid/manifest.json"
$FS -q ingest --case B-2 "$T/card8c" >/dev/null 2>&1
out=$($FS sync --target "dir:$T/many" 2>&1); rc=$?
said "a damaged unfinished bundle of the first case fails that case, named" 1 \
	"case A-1: .*manifest.json: already there with different content; not replaced"
check "and the later case's new item is still synced" \
	grep -q "^1 bundle committed: 1 item (" <<<"$out"
check "the summary names the case held back" grep -q "failed.*: A-1$" <<<"$out"

# an unfinished bundle whose blob on the target was damaged meanwhile (a
# byte changed, the size the same) is not committed: it would name a copy
# the office refuses, while the field counts its items as sent
FD="$EVCAP --store $T/field9"
mkdir -p "$T/card9" "$T/dmg/cases"
head -c 6000 /dev/urandom >"$T/card9/DJI_0901.JPG"
$FD -q init && $FD -q case open D-1 --use && $FD -q ingest "$T/card9" 2>/dev/null
key9=$(sqlite3 "$T/field9/evidence.db" "SELECT key FROM cases")
touch "$T/dmg/cases/$key9" # the manifest cannot be written: the bundle waits
$FD -q sync --target "dir:$T/dmg" >/dev/null 2>&1
rm "$T/dmg/cases/$key9"
blob9=$(find "$T/dmg/blobs" -type f)
python3 -c 'import sys; p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[100] ^= 1
open(p, "r+b").write(d)' "$blob9" 2>/dev/null || { chmod u+w "$blob9" && python3 -c '
import sys; p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[100] ^= 1
open(p, "r+b").write(d)' "$blob9"; }
out=$($FD sync --target "dir:$T/dmg" 2>&1); rc=$?
said "finishing a bundle whose blob on the target was damaged fails, naming the blob" 1 \
	"case D-1: bundle .*blobs/sha256/.*already there with different content"
check "and commits nothing" test -z "$(find "$T/dmg/cases" -name COMMITTED)"
