#!/bin/bash
# pull_renamed: a case's folder on a disk renamed or copied by a file
# manager ("cases/KEY (1)", "Copy of KEY", "bundles - Copy"). Pull finds no
# bundle where evcap keeps them; it says so as before, and now also names
# the folder that looks like the case's one renamed, so the clerk can give
# it its name back (before: only "no bundle of case", which sent them
# looking at how the case number was written).
. "$(dirname "$0")/../lib/common.sh"
need jq || { skip "pull_renamed: jq is not installed"; exit 0; }

CASE='XX检公益立〔2024〕9号'
F="$EVCAP --store $T/field"
O="$EVCAP --store $T/office"
mkdir -p "$T/card" "$T/usb"
for i in 1 2; do head -c $((700 * i)) /dev/urandom >"$T/card/P$i.bin"; done
$F -q init && $F -q case open "$CASE" --use && $F -q ingest "$T/card" &&
	$F -q sync --target "dir:$T/usb" && $F key show >"$T/dev.pub" &&
	$O -q init && $O -q key trust "$T/dev.pub" || { bad "pull_renamed: setup failed"; exit 0; }
KEY=$(basename "$(find "$T/usb/cases" -mindepth 1 -maxdepth 1 -type d)")

# pull_rc: pulls the case; sets out and rc
pull_rc() {
	out=$($O pull --target "dir:$T/usb" --case "$CASE" 2>&1)
	rc=$?
}

mv "$T/usb/cases/$KEY" "$T/usb/cases/$KEY (1)"
pull_rc
check "the case's folder renamed: nothing pulled, exit 1" test "$rc" = 1
check "... the folder is named, with what to do" grep -qF \
	"in cases/$KEY/bundles/, where evcap keeps them, but it has 'cases/$KEY (1)', which looks like that folder renamed or copied; give it its name back and pull again" \
	<<<"$out"
check "... --json gives it too" test "$($O --json pull --target "dir:$T/usb" --case "$CASE" \
	2>/dev/null | jq -r .renamed)" = "cases/$KEY (1)"

mv "$T/usb/cases/$KEY (1)" "$T/usb/cases/Copy of $KEY"
pull_rc
check "named 'Copy of' it: named too" grep -qF "but it has 'cases/Copy of $KEY'" <<<"$out"

mv "$T/usb/cases/Copy of $KEY" "$T/usb/cases/$KEY"
mv "$T/usb/cases/$KEY/bundles" "$T/usb/cases/$KEY/bundles - Copy"
pull_rc
check "its bundles folder renamed: named" test "$rc" = 1 -a -n "$(grep -F \
	"but it has 'cases/$KEY/bundles - Copy'" <<<"$out")"

# another case's folder is not taken for this one's
mv "$T/usb/cases/$KEY/bundles - Copy" "$T/usb/cases/$KEY/bundles"
out=$($O pull --target "dir:$T/usb" --case 'XX检公益立〔2024〕99号' 2>&1)
check "a case with no folder at all: the old message, no folder named" \
	test -n "$(grep "holds no bundle of case .*nothing synced yet" <<<"$out")" -a \
	-z "$(grep "but it has" <<<"$out")"

pull_rc
check "its name given back: the case is pulled" test "$rc" = 0
check "... both items" test "$($O --json ls | jq length)" = 2
