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
check "a relative target is synced" grep -q "1 bundle(s) committed: 3 items" "$T/a.out"
check "into the folder it names from where it runs" \
	test "$(find "$T/a/usb/blobs" -type f | wc -l)" = 3
(cd "$T/b" && $F sync --target dir:usb) >"$T/b.out" 2>&1
check "the same words from another folder reach another target: the whole case is sent" \
	grep -q "1 bundle(s) committed: 3 items" "$T/b.out"
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
