#!/bin/bash
# A dir: target given as a relative path (dir:usb) is the folder it names
# from where the command runs. Two runs from two folders reach two
# different disks; each must receive the whole case. Before, the target
# was recorded as typed, so the second folder was taken for the first:
# "nothing new" was sent there, and an office pulling from it got nothing.
. "$(dirname "$0")/../lib/common.sh"
need jq || { skip "sync_relative: jq is not installed"; exit 0; }

F="$EVCAP --store $T/field"
O="$EVCAP --store $T/office"
mkdir -p "$T/card" "$T/a/usb" "$T/b/usb"
for i in 1 2 3; do head -c $((1000 * i)) /dev/urandom >"$T/card/P$i.bin"; done
$F -q init && $F -q case open R --use && $F -q ingest "$T/card" ||
	{ bad "sync_relative: setup failed"; exit 0; }

(cd "$T/a" && $F sync --target dir:usb) >"$T/a.out" 2>&1
check "a relative target is synced" grep -q "1 bundle committed: 3 items" "$T/a.out"
check "into the folder it names from where it runs" \
	test "$(find "$T/a/usb/blobs" -type f | wc -l)" = 3
(cd "$T/b" && $F sync --target dir:usb) >"$T/b.out" 2>&1
check "the same words from another folder reach another target: the whole case is sent" \
	grep -q "1 bundle committed: 3 items" "$T/b.out"
check "its originals are all there" test "$(find "$T/b/usb/blobs" -type f | wc -l)" = 3
$F key show >"$T/dev.pub"
$O -q init && $O -q key trust "$T/dev.pub" ||
	{ bad "sync_relative: office setup failed"; exit 0; }
(cd "$T/b" && $O pull --target dir:usb --case R) >"$T/p.out" 2>&1
check "the office pulls the whole case from the second" \
	test "$($O --json ls | jq length)" = 3
# the same folder by its absolute path is the same target: nothing new
out=$($F sync --target "dir:$T/a/usb" 2>&1)
check "the absolute path of the first is the same target (nothing new)" \
	grep -q "nothing new" <<<"$out"

# a disk is a target by its own id, not by where it is mounted: another
# disk at the same path (or the first one wiped) gets the whole case
check "the target's id is kept at its root, read-only" \
	grep -qE '^[0-9a-f]{32}$' "$T/a/usb/evcap-target-id"
mv "$T/a/usb" "$T/a/usb-first"
mkdir "$T/a/usb"
out=$($F sync --target "dir:$T/a/usb" 2>&1)
check "another disk at the same path gets the whole case" \
	grep -q "1 bundle committed: 3 items" <<<"$out"
check "under an id of its own" \
	test "$(cat "$T/a/usb/evcap-target-id")" != "$(cat "$T/a/usb-first/evcap-target-id")"
rm -rf "$T/a/usb"
mv "$T/a/usb-first" "$T/a/usb"
out=$($F sync --target "dir:$T/a/usb" 2>&1)
check "the first disk back at its path: nothing new" grep -q "nothing new" <<<"$out"
# an id file that is not one: refused, named, nothing sent
mkdir -p "$T/c/usb"
printf 'not an id\n' >"$T/c/usb/evcap-target-id"
out=$($F sync --target "dir:$T/c/usb" 2>&1)
rc=$?
check "a target whose id file is not one is refused (exit 1), naming the file" \
	test $rc = 1 -a -z "$(ls "$T/c/usb" | grep -v evcap-target-id)" -a \
	"$(grep -c "c/usb/evcap-target-id: not an evcap target id" <<<"$out")" = 1
# pull never writes to the disk: a disk without an id file is pulled as it is
mkdir -p "$T/d"
cp -a "$T/b/usb" "$T/d/usb"
rm -f "$T/d/usb/evcap-target-id"
$EVCAP --store "$T/office2" -q init && $EVCAP --store "$T/office2" -q key trust "$T/dev.pub"
$EVCAP --store "$T/office2" pull --target "dir:$T/d/usb" --case R >"$T/p2.out" 2>&1
check "pull takes a disk as it is, and writes nothing to it" \
	test $? = 0 -a ! -e "$T/d/usb/evcap-target-id"
