#!/bin/bash
# store_damaged: a store whose database has a damaged page (a failing
# disk, a card reader that wrote garbage) is reported as damaged by every
# command that reads the damaged table, never shown as a shorter list that
# looks whole. One leaf page in the middle of a table is overwritten, as
# a bad sector would leave it.
. "$(dirname "$0")/../lib/common.sh"

need python3 || { skip "store_damaged: needs python3"; exit 0; }

mkdir -p "$T/card"
for i in $(seq 1 120); do
	printf 'field record %03d of a long inspection day, kept as evidence\n' "$i" \
		>"$T/card/record-$i.txt"
done
$EVCAP -q init >/dev/null 2>&1
$EVCAP -q case open 损坏案 --use >/dev/null 2>&1
$EVCAP -q ingest --no-geotag "$T/card" >"$T/ingest.out" 2>&1 ||
	{ bad "store_damaged_setup: $(tail -3 "$T/ingest.out")"; exit 0; }

# damage TABLE: the middle leaf page of the table, its header overwritten
damage() {
	python3 - "$EVCAP_STORE/evidence.db" "$1" <<'PY'
import sqlite3, sys
db, table = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
size = c.execute('PRAGMA page_size').fetchone()[0]
pages = [p for (p,) in c.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'"
                                 " ORDER BY pageno", (table,))]
c.close()
if len(pages) < 3:
    sys.exit('%s has %d leaf pages; the test needs 3 or more' % (table, len(pages)))
with open(db, 'r+b') as f:
    f.seek((pages[len(pages) // 2] - 1) * size)
    f.write(b'\xff' * 8)
PY
}
cp -a "$EVCAP_STORE" "$T/whole"
if ! damage custody 2>"$T/damage.err"; then
	bad "store_damaged_setup: $(cat "$T/damage.err")"
	exit 0
fi
$EVCAP log >"$T/log.out" 2>"$T/log.err"; rc=$?
check "damaged: evcap log fails on a damaged custody table (exit 1)" test "$rc" -eq 1
check "damaged: ... and says the custody log could not be read, and why" \
	grep -q 'evcap log: reading the custody log: database disk image is malformed' "$T/log.err"
$EVCAP --json log >"$T/logj.out" 2>"$T/logj.err"; rc=$?
check "damaged: evcap --json log fails too, printing no partial list" \
	test "$rc" -eq 1 -a ! -s "$T/logj.out"
EVCAP_STORE=$T/whole $EVCAP log >"$T/whole.out" 2>&1; rc=$?
check "damaged: the same store undamaged lists all 122 events" \
	test "$rc" -eq 0 -a "$(grep -c . "$T/whole.out")" -eq 122
