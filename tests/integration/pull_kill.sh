#!/bin/bash
# kill -9 during pull, at each rename and at one fsync after another
# (strace stops the process as it makes the Nth call), then pull again:
# the office holds every item, note, custody event and bundle once, no
# staging or temporary file is left, and verify passes.
. "$(dirname "$0")/../lib/common.sh"

need jq sqlite3 strace || { skip "pull kill: needs jq, sqlite3, strace"; exit 0; }
strace -o /dev/null true 2>/dev/null || { skip "pull kill: strace cannot trace here"; exit 0; }

F="$EVCAP --store $T/field"
mkdir -p "$T/card" "$T/usb"
for i in 1 2 3 4 5 6; do head -c $((40000 * i)) /dev/urandom >"$T/card/DJI_000$i.JPG"; done
$F init >/dev/null && $F case open K --use >/dev/null && $F ingest "$T/card" >/dev/null 2>&1
$F note 2 "the outfall, from the bridge" >/dev/null
$F sync --target "dir:$T/usb" >/dev/null 2>&1
$F key show >"$T/device.pub"

office() { # office DIR: a fresh office store trusting the field device
	$EVCAP --store "$1" init >/dev/null && $EVCAP --store "$1" key trust "$T/device.pub" >/dev/null
}
office "$T/probe"
strace_run -f -o "$T/probe.trace" -e trace=fsync,rename $EVCAP --store "$T/probe" pull \
	--target "dir:$T/usb" --case K >/dev/null 2>&1
fsyncs=$(grep -c 'fsync(' "$T/probe.trace")
renames=$(grep -c 'rename(' "$T/probe.trace")
echo "# an undisturbed pull makes $fsyncs fsyncs and $renames renames"
q() { sqlite3 "$1/evidence.db" "$2"; }
# counts DIR: items|distinct, notes, custody events from the field, bundles, pull events
counts() {
	echo "$(q "$1" "SELECT count(*), count(DISTINCT sha256) FROM items")" \
		"$(q "$1" "SELECT count(*) FROM notes")" "$(q "$1" "SELECT count(*) FROM foreign_custody")" \
		"$(q "$1" "SELECT count(*) FROM bundles")" \
		"$(q "$1" "SELECT count(*) FROM custody WHERE action = 'pull'")"
}
want=$(counts "$T/probe")
check "the undisturbed pull brings six items, a note, the events, one bundle" \
	grep -q "^6|6 1 [1-9][0-9]* 1 1$" <<<"$want"

stopped=0 tried=0 problems=()
for point in $(seq 1 "$renames" | sed 's/^/rename:/') $(seq 1 2 "$fsyncs" | sed 's/^/fsync:/'); do
	call=${point%:*} n=${point#*:}
	O=$T/o-$call-$n
	office "$O"
	tried=$((tried + 1))
	strace_run -f -o /dev/null -e trace="$call" -e inject="$call:signal=SIGKILL:when=$n" \
		$EVCAP --store "$O" pull --target "dir:$T/usb" --case K >/dev/null 2>&1
	[ $? -eq 137 ] && stopped=$((stopped + 1))
	out=$($EVCAP --store "$O" pull --target "dir:$T/usb" --case K 2>&1) ||
		{ problems+=("$point: the next pull failed: $out"); continue; }
	got=$(counts "$O")
	[ "$got" = "$want" ] ||
		problems+=("$point: items|distinct notes events bundles pulls = $got, not $want")
	left=$(find "$O/blobs/tmp" "$O/pull-tmp" -type f 2>/dev/null)
	[ -z "$left" ] || problems+=("$point: left behind: $left")
	$EVCAP --store "$O" verify -q >/dev/null 2>&1 || problems+=("$point: verify fails")
done
echo "# stopped $stopped of $tried pulls"
check "most pulls tried were stopped" test $stopped -ge $((tried - 2))
if [ ${#problems[@]} = 0 ]; then
	ok "after each stop the next pull brings everything in once, and verify passes"
else
	bad "after a stop and another pull: ${problems[*]}"
fi
