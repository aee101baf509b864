#!/bin/bash
# A store on a read-only filesystem (an evidence disk the office mounts
# read-only, a write-protected card): the commands that only read it work
# and say once on stderr that it is read-only; those that write refuse,
# naming the store and why, before doing anything. A -wal file left there
# with commits is read when SQLite can replay it, and named, never passed
# over, when it cannot. The read-only filesystem is a read-only bind
# mount of a folder of the test's own, which needs root.
. "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" -ne 0 ] || ! need mount umount python3 sqlite3 jq; then
	skip "store_readonly: needs root (to mount a folder read-only), python3, sqlite3 and jq"
	exit 0
fi
DISK=$T/disk # the filesystem, writable here
RO=$T/ro     # the same, mounted read-only
mkdir -p "$DISK" "$RO" "$T/out" "$T/card"
ro_mount() {
	mount --bind "$DISK" "$RO" 2>>"$T/mount.err" &&
		{ mount -o remount,bind,ro "$RO" 2>>"$T/mount.err" || { umount "$RO"; false; }; }
}
ro_umount() { umount "$RO" 2>/dev/null || umount -l "$RO"; }
if ! ro_mount; then
	skip "store_readonly: a read-only bind mount cannot be made here: $(tail -1 "$T/mount.err")"
	exit 0
fi
on_exit "mountpoint -q '$RO' && ro_umount"
if touch "$RO/probe" 2>/dev/null; then
	rm -f "$RO/probe"
	skip "store_readonly: the bind mount at $RO stayed writable"
	exit 0
fi
ro_umount

S=$DISK/store R=$RO/store
. "$(dirname "$0")/../lib/base-jpeg.sh"
make_base_jpeg "$T/card/DJI_0001.JPG"
[ -n "$CORPUS" ] && [ -f "$CORPUS/photos/Apple-iPhone-6.jpg" ] &&
	cp "$CORPUS/photos/Apple-iPhone-6.jpg" "$T/card/"
{ $EVCAP --store "$S" -q init && $EVCAP --store "$S" -q case open RO-1 --use &&
	$EVCAP --store "$S" -q ingest "$T/card" && $EVCAP --store "$S" -q verify; } \
	>"$T/setup.out" 2>&1 || { bad "store_readonly_setup: $(tail -3 "$T/setup.out")"; exit 0; }
N=$(ls "$T/card" | wc -l)
events() { sqlite3 "$S/evidence.db" "SELECT count(*) FROM custody"; }
E0=$(events)
ro_mount || { bad "store_readonly_setup: mount: $(tail -1 "$T/mount.err")"; exit 0; }

# run NAME ARGS...: evcap on the read-only store, out and err kept
run() {
	local n=$1
	shift
	$EVCAP --store "$R" "$@" >"$T/$n.out" 2>"$T/$n.err"
	echo $? >"$T/$n.rc"
}
note="^evcap [a-z]*: note: the store $R is opened read-only (its filesystem is read-only)"
# reads NAME: exit 0, and the one line on stderr saying the store is read-only
reads() {
	local n=$1 rc
	rc=$(cat "$T/$n.rc")
	if [ "$rc" = 0 ] && [ "$(grep -c "$note" "$T/$n.err")" = 1 ] &&
		! grep -qi 'unable to open\|readonly database\|cannot' "$T/$n.err"; then
		ok "store_readonly_$n"
	else
		bad "store_readonly_$n: exit $rc: $(head -3 "$T/$n.err")"
	fi
}
run ls --json ls
reads ls
check "store_readonly_ls_items" test "$(jq length "$T/ls.out")" = "$N"
run show show 1
reads show
check "store_readonly_show_item" grep -q '^sha256 ' "$T/show.out"
run log log
reads log
run case_list case list
reads case_list
check "store_readonly_case_listed" grep -q 'RO-1' "$T/case_list.out"
run case_show case show RO-1
reads case_show
run key_show key show
reads key_show
run verify verify
reads verify
check "store_readonly_verify_intact" grep -q "^$N items* intact" "$T/verify.out"
check "store_readonly_verify_says_unrecorded" grep -q "$note, so this verify is not recorded" \
	"$T/verify.err"
run export_html export --case RO-1 --format html --out "$T/out/report.html"
reads export_html
check "store_readonly_export_html_written" test -s "$T/out/report.html"
check "store_readonly_export_says_unrecorded" grep -q "so this export is not recorded" \
	"$T/export_html.err"
run export_csv export --case RO-1 --format csv --out "$T/out/items.csv"
reads export_csv
check "store_readonly_export_csv_written" test -s "$T/out/items.csv"

# writes NAME: refused with exit 2, naming the store and its read-only
# filesystem, and nothing else said or done
refused="^evcap [a-z]*: $R: the store cannot be written: its filesystem is read-only; nothing was done"
writes() {
	local n=$1 rc
	rc=$(cat "$T/$n.rc")
	if [ "$rc" = 2 ] && grep -q "$refused" "$T/$n.err" && [ "$(wc -l <"$T/$n.err")" = 1 ] &&
		[ ! -s "$T/$n.out" ]; then
		ok "store_readonly_refuses_$n"
	else
		bad "store_readonly_refuses_$n: exit $rc: $(head -3 "$T/$n.err")"
	fi
}
echo "another photo" >"$T/new.txt"
run ingest ingest "$T/new.txt"
writes ingest
run init init
writes init
run case_open case open RO-2
writes case_open
run case_use case use RO-1
writes case_use
run case_set case set RO-1 --title changed
writes case_set
run case_close case close RO-1
writes case_close
run site_add site add RO-1 bank --lat 30.5 --lon 114.3
writes site_add
run note note 1 "a note"
writes note
run geotag geotag
writes geotag
run track_import track import "$T/new.txt"
writes track_import
run sync sync --target "dir:$T/out/target"
writes sync
check "store_readonly_sync_sent_nothing" test ! -e "$T/out/target"
run pull pull --target "dir:$T/out/target" --case RO-1
writes pull
run key_trust key trust "$T/new.txt"
writes key_trust
run export_jpeg export --case RO-1 --format jpeg --out "$T/out/copies"
writes export_jpeg
check "store_readonly_export_jpeg_made_nothing" test ! -e "$T/out/copies"
ro_umount
check "store_readonly_log_unchanged" test "$(events)" = "$E0"

# A store left open (evcapd stopped, the card pulled) keeps commits in its
# -wal until a writer takes them in. Here a reader holds the database, so
# the case opened next stays in the -wal, and it stops without closing.
python3 - "$S/evidence.db" "$T/held" "$T/go" <<'PY' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM items").fetchall()
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
os._exit(0)
PY
HOLDER=$!
within 10 test -e "$T/held" || { bad "store_readonly_wal_setup: the holder did not start"; exit 0; }
$EVCAP --store "$S" -q case open RO-WAL >"$T/walcase.out" 2>&1
touch "$T/go"
wait $HOLDER
if [ -s "$S/evidence.db-wal" ] && [ -e "$S/evidence.db-shm" ] &&
	[ "$(sqlite3 "file:$S/evidence.db?immutable=1" "SELECT count(*) FROM cases WHERE number = 'RO-WAL'")" = 0 ]; then
	ok "store_readonly_wal_setup"
else
	bad "store_readonly_wal_setup: the case did not stay in the -wal: $(cat "$T/walcase.out")"
fi
ro_mount || { bad "store_readonly_setup: mount: $(tail -1 "$T/mount.err")"; exit 0; }
run wal_cases case list
reads wal_cases
check "store_readonly_wal_replayed" grep -q 'RO-WAL' "$T/wal_cases.out"
ro_umount

# the same -wal without its -shm cannot be replayed on a read-only disk:
# said, naming the file, rather than read as though it were not there
rm -f "$S/evidence.db-shm"
ro_mount || { bad "store_readonly_setup: mount: $(tail -1 "$T/mount.err")"; exit 0; }
run wal_lost case list
cat "$T/wal_lost.err" | sed 's/^/# /'
if [ "$(cat "$T/wal_lost.rc")" = 1 ] && [ ! -s "$T/wal_lost.out" ] &&
	grep -q "$R/evidence.db-wal holds [0-9]* bytes of changes that may not be in evidence.db" \
		"$T/wal_lost.err" &&
	grep -q 'Copy the whole store folder to a writable disk' "$T/wal_lost.err"; then
	ok "store_readonly_wal_unreplayable_said"
else
	bad "store_readonly_wal_unreplayable_said: exit $(cat "$T/wal_lost.rc")"
fi
run wal_verify verify
check "store_readonly_wal_unreplayable_verify_fails" \
	bash -c "[ \"\$(cat '$T/wal_verify.rc')\" = 1 ] && ! grep -q intact '$T/wal_verify.out'"
ro_umount
# once the disk is writable again, the next command takes the -wal in
$EVCAP --store "$S" case list >"$T/wal_back.out" 2>&1
check "store_readonly_wal_kept_for_a_writer" grep -q 'RO-WAL' "$T/wal_back.out"

# a store older than this evcap cannot be upgraded where it lies: said
cp -a "$S" "$DISK/old"
v=$(sqlite3 "$DISK/old/evidence.db" "PRAGMA user_version")
sqlite3 "$DISK/old/evidence.db" "PRAGMA user_version = $((v - 1))"
ro_mount || { bad "store_readonly_setup: mount: $(tail -1 "$T/mount.err")"; exit 0; }
$EVCAP --store "$RO/old" ls >"$T/old.out" 2>"$T/old.err"
rc=$?
check "store_readonly_old_schema_said" bash -c "[ $rc = 2 ] &&
	grep -q 'schema version $((v - 1)) is older than this evcap.s ($v), and the store cannot be upgraded: its filesystem is read-only' '$T/old.err'"
ro_umount
