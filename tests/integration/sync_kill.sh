#!/bin/bash
# kill -9 during sync to a dir: target, at one fsync after another (strace
# stops the process as it makes the Nth call), then sync again: the target
# ends with one bundle, committed, and no temporary file; the field store
# records that bundle once and verifies; the office pulls every item and
# says nothing of an unfinished bundle. The same against S3 (Ceph RGW).
. "$(dirname "$0")/../lib/common.sh"

need jq sqlite3 strace || { skip "sync kill: needs jq, sqlite3, strace"; exit 0; }
strace -o /dev/null true 2>/dev/null || { skip "sync kill: strace cannot trace here"; exit 0; }

F="$EVCAP --store $T/field"
mkdir -p "$T/card"
for i in 1 2 3 4 5 6; do head -c $((9000 * i)) /dev/urandom >"$T/card/DJI_000$i.JPG"; done
$F init >/dev/null && $F case open K --use >/dev/null && $F ingest "$T/card" >/dev/null 2>&1
$F note 1 "outfall, north bank" >/dev/null
$F key show >"$T/device.pub"

# the fsyncs of an undisturbed sync: the last ones write the bundle itself
cp -a "$T/field" "$T/probe"
mkdir "$T/probe-usb"
strace_run -f -o "$T/probe.trace" -e trace=fsync $EVCAP --store "$T/probe" sync \
	--target "dir:$T/probe-usb" >/dev/null 2>&1
total=$(grep -c 'fsync(' "$T/probe.trace")
echo "# an undisturbed sync makes $total fsyncs"
check "the probe sync made its fsyncs" test "$total" -gt 12

# every one of the last twelve, and every fifth before
points=$(seq $((total - 11)) $((total - 1)); seq 1 5 $((total - 12)))
stopped=0 problems=()
for n in $points; do
	W=$T/run
	rm -rf "$W"
	mkdir -p "$W/usb"
	cp -a "$T/field" "$W/field"
	strace_run -f -o /dev/null -e trace=fsync -e inject="fsync:signal=SIGKILL:when=$n" \
		$EVCAP --store "$W/field" sync --target "dir:$W/usb" >/dev/null 2>&1
	[ $? -eq 137 ] || { problems+=("fsync $n: the sync was not stopped"); continue; }
	stopped=$((stopped + 1))
	out=$($EVCAP --store "$W/field" sync --target "dir:$W/usb" 2>&1) ||
		{ problems+=("fsync $n: the next sync failed: $out"); continue; }
	bundles=$(find "$W/usb/cases" -mindepth 3 -maxdepth 3 -type d | wc -l)
	committed=$(find "$W/usb/cases" -name COMMITTED | wc -l)
	[ "$bundles" = 1 ] && [ "$committed" = 1 ] ||
		problems+=("fsync $n: $bundles bundle folders, $committed committed on the target")
	tmps=$(find "$W/usb" -name '.tmp-*')
	[ -z "$tmps" ] || problems+=("fsync $n: temporary files on the target: $tmps")
	db=$W/field/evidence.db
	[ "$(sqlite3 "$db" "SELECT count(*) FROM bundles WHERE direction = 'out'")" = 1 ] &&
		[ "$(sqlite3 "$db" "SELECT count(*) FROM custody WHERE action = 'sync'")" = 1 ] ||
		problems+=("fsync $n: the field store records the bundle not exactly once")
	[ -z "$(sqlite3 "$db" "SELECT key FROM meta WHERE key LIKE 'sync.pending:%'")" ] ||
		problems+=("fsync $n: an unfinished bundle is still kept in the field store")
	$EVCAP --store "$W/field" verify -q >/dev/null 2>&1 || problems+=("fsync $n: field verify fails")
	O="$EVCAP --store $W/office"
	$O init >/dev/null && $O key trust "$T/device.pub" >/dev/null
	out=$($O pull --target "dir:$W/usb" --case K 2>&1) ||
		problems+=("fsync $n: the pull failed: $out")
	grep -q "not committed" <<<"$out" && problems+=("fsync $n: the office sees an unfinished bundle")
	[ "$($O --json ls | jq length)" = 6 ] || problems+=("fsync $n: the office lacks items")
	[ "$(sqlite3 "$W/office/evidence.db" "SELECT count(*) FROM notes")" = 1 ] ||
		problems+=("fsync $n: the office has the note not exactly once")
	$O verify -q >/dev/null 2>&1 || problems+=("fsync $n: office verify fails")
done
echo "# stopped $stopped syncs"
check "every sync tried was stopped" test "$stopped" = "$(wc -w <<<"$points")"
if [ ${#problems[@]} = 0 ]; then
	ok "after each stop the next sync finishes the bundle: one on the target, recorded once, pulled whole"
else
	bad "after a stop and another sync: ${problems[*]}"
fi

# stopped just after the disk's id file is put in place, before its
# temporary file is removed: the next sync, finding the id there, removes
# that leftover (nothing writes the id again to clear it)
W=$T/idtmp
mkdir -p "$W/probe-usb" "$W/usb"
cp -a "$T/field" "$W/probe"
strace_run -f -o "$W/trace" -e trace=fsync,linkat,renameat2 $EVCAP --store "$W/probe" sync \
	--target "dir:$W/probe-usb" >/dev/null 2>&1
n=$(awk '/fsync\(/ { c++; if (placed) { print c; exit } }
	/(linkat|renameat2)\(.*"evcap-target-id"/ { placed = 1 }' "$W/trace")
cp -a "$T/field" "$W/field"
strace_run -f -o /dev/null -e trace=fsync -e inject="fsync:signal=SIGKILL:when=${n:-1}" \
	$EVCAP --store "$W/field" sync --target "dir:$W/usb" >/dev/null 2>&1
check "a sync stopped after placing the disk's id leaves its temporary file" \
	bash -c '[ -n "$1" ] && [ -f "$2/evcap-target-id" ] && [ -n "$(find "$2" -name ".tmp-evcap-target-id-*")" ]' \
	_ "$n" "$W/usb"
check "the next sync commits the bundle" \
	bash -c '$1 --store "$2/field" sync --target "dir:$2/usb" 2>&1 | grep -q "1 bundle committed: 6 items"' \
	_ "$EVCAP" "$W"
check "and removes the id's leftover temporary file" \
	test -z "$(find "$W/usb" -name '.tmp-evcap-target-id-*')"

# a stop among the bundle's own files, and then another disk at the same
# path: that disk is another target (its own id), so it gets the whole
# case in a bundle of its own; the unfinished one waits for its disk
W=$T/swap
mkdir -p "$W/usb"
cp -a "$T/field" "$W/field"
strace_run -f -o /dev/null -e trace=fsync -e inject="fsync:signal=SIGKILL:when=$((total - 3))" \
	$EVCAP --store "$W/field" sync --target "dir:$W/usb" >/dev/null 2>&1
mv "$W/usb" "$W/usb-first"
mkdir "$W/usb"
$EVCAP --store "$W/field" sync --target "dir:$W/usb" >"$W/out" 2>&1
check "a new disk at the same path gets the whole case in a bundle of its own" \
	grep -q "1 bundle committed: 6 items" "$W/out"
check "and sends its blobs to the new disk" test "$(find "$W/usb/blobs" -type f | wc -l)" = 6
O="$EVCAP --store $W/office"
$O init >/dev/null && $O key trust "$T/device.pub" >/dev/null
check "the office pulls every item from the new disk" \
	bash -c '$1 pull --target "dir:$2" --case K >/dev/null 2>&1 && [ "$($1 --json ls | jq length)" = 6 ]' \
	_ "$O" "$W/usb"

# the store's copy of the unfinished bundle made unreadable (never by
# evcap itself): the next sync says so, drops it and sends a new bundle
W=$T/unreadable
mkdir -p "$W/usb"
cp -a "$T/field" "$W/field"
strace_run -f -o /dev/null -e trace=fsync -e inject="fsync:signal=SIGKILL:when=$((total - 3))" \
	$EVCAP --store "$W/field" sync --target "dir:$W/usb" >/dev/null 2>&1
sqlite3 "$W/field/evidence.db" "UPDATE meta SET value = '{\"bundle_id\": 1}' WHERE key LIKE 'sync.pending:%'"
out=$($EVCAP --store "$W/field" sync --target "dir:$W/usb" 2>&1)
check "an unreadable unfinished bundle: the sync still commits one" \
	grep -q "1 bundle committed: 6 items" <<<"$out"
check "and says it dropped the unreadable copy" grep -q "cannot be read; it is dropped" <<<"$out"

# the same against S3 (a Ceph RADOS Gateway on loopback): stopped as it
# sends the bundle's own files, then synced again
rgw_up "sync kill to S3" || exit 0
s3sync() { # s3sync STORE PREFIX [ARGS...]
	local st=$1 p=$2
	shift 2
	$EVCAP --store "$st" sync --target "s3://evidence/$p" --endpoint "$S3_ENDPOINT" "$@"
}
cp -a "$T/field" "$T/s3probe"
s3sync "$T/s3probe" p0 --create-bucket >/dev/null 2>&1
sqlite3 "$T/s3probe/evidence.db" "DELETE FROM sync_state; DELETE FROM bundles; DELETE FROM meta WHERE key LIKE 'sync.%'"
strace_run -f -o "$T/s3probe.trace" -e trace=sendto $EVCAP --store "$T/s3probe" sync \
	--target s3://evidence/p1 --endpoint "$S3_ENDPOINT" >/dev/null 2>&1
sends=$(grep -c 'sendto(' "$T/s3probe.trace")
echo "# an undisturbed sync to S3 makes $sends sendto calls"
problems=() stopped=0
for n in $((sends - 3)) $((sends - 2)) $((sends - 1)); do
	W=$T/s3run$n
	cp -a "$T/field" "$W"
	strace_run -f -o /dev/null -e trace=sendto -e inject="sendto:signal=SIGKILL:when=$n" \
		$EVCAP --store "$W" sync --target "s3://evidence/k$n" --endpoint "$S3_ENDPOINT" \
		>/dev/null 2>&1
	[ $? -eq 137 ] && stopped=$((stopped + 1))
	out=$(s3sync "$W" "k$n" 2>&1) || { problems+=("sendto $n: the next sync failed: $out"); continue; }
	[ "$(sqlite3 "$W/evidence.db" "SELECT count(*) FROM bundles")" = 1 ] ||
		problems+=("sendto $n: the field store records the bundle not exactly once")
	O="$EVCAP --store $W-office"
	$O init >/dev/null && $O key trust "$T/device.pub" >/dev/null
	out=$($O pull --target "s3://evidence/k$n" --endpoint "$S3_ENDPOINT" --case K 2>&1) ||
		problems+=("sendto $n: the pull failed: $out")
	grep -q "not committed" <<<"$out" && problems+=("sendto $n: the office sees an unfinished bundle")
	grep -q "1 bundle imported (6 items)" <<<"$out" ||
		problems+=("sendto $n: the office did not import one bundle of six items: $out")
done
check "S3: each sync tried was stopped as it sent the bundle's files" test $stopped = 3
if [ ${#problems[@]} = 0 ]; then
	ok "S3: after each stop the next sync finishes the bundle, recorded once, pulled whole"
else
	bad "S3: after a stop and another sync: ${problems[*]}"
fi
