#!/bin/bash
# verify run by someone who may read the store but does not own it (a
# member of its group, as docs/appliance.md has office users): the
# originals are readable to the group in a new store; and an original
# that this user may not read is reported as not checked, never as
# missing or DAMAGED. Such a reader is told once that the store is opened
# read-only, and, once no writer holds the store, why it cannot be read.
# Needs root (setpriv to another uid and gid).
. "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" -ne 0 ] || ! need setpriv python3; then
	skip "verify_perms: needs root, setpriv and python3 to run verify as another user"
	exit 0
fi
# a uid and gid nobody has: a stranger who is only in the store's group
U=64917 G=64917
if getent passwd $U >/dev/null || getent group $G >/dev/null; then
	skip "verify_perms: uid or gid $U is taken on this machine"
	exit 0
fi
# $T is private (mktemp -d); the other user needs a path it may traverse
P=$(mktemp -d /tmp/evcap-vp.XXXXXX)
on_exit "rm -rf '$P'"
chmod 0755 "$P"
S=$P/store
mkdir -p "$P/card"
echo "one" >"$P/card/a.txt"
echo "two" >"$P/card/b.txt"
$EVCAP --store "$S" -q init >"$T/init.out" 2>&1 &&
	$EVCAP --store "$S" -q ingest "$P/card" >>"$T/init.out" 2>&1 ||
	{ bad "verify_perms_setup: $(tail -3 "$T/init.out")"; exit 0; }

mode() { stat -c %a "$1"; }
# the originals follow the store's folder; the key and temp blobs do not
if [ "$(mode "$S/blobs")" = 750 ] && [ "$(mode "$S/blobs/tmp")" = 700 ] &&
	[ "$(mode "$S/keys")" = 700 ]; then
	ok "verify_perms_blobs_group_readable"
else
	bad "verify_perms_blobs_group_readable: blobs $(mode "$S/blobs"), blobs/tmp" \
		"$(mode "$S/blobs/tmp"), keys $(mode "$S/keys") (want 750, 700, 700)"
fi

# the appliance's layout: the store's folder 0750, its group the readers'
chgrp -R $G "$S"
chmod 0750 "$S"
# a reader of a WAL database needs its -wal and -shm files, which only a
# writer can make: the running evcapd keeps them there on the appliance
python3 - "$S/evidence.db" "$P/ready" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT count(*) FROM items").fetchall()
open(sys.argv[2], "w").close()
time.sleep(60)
PY
HOLDER=$!
on_exit "kill $HOLDER 2>/dev/null"
within 10 test -e "$P/ready" ||
	{ bad "verify_perms_setup: the database holder did not start"; exit 0; }

as_reader() {
	env -u EVCAP_QUERY_PLANS setpriv --reuid=$U --regid=$G --clear-groups \
		$EVCAP --store "$S" "$@"
}
as_reader verify >"$T/v1.out" 2>"$T/v1.err"; rc=$?
if [ $rc = 0 ] && grep -q '^2 items intact' "$T/v1.out"; then
	ok "verify_perms_group_member_verifies"
else
	bad "verify_perms_group_member_verifies: exit $rc: $(cat "$T/v1.out" "$T/v1.err" | head -5)"
fi
# the store is opened read-only for this reader, who is told so once, and
# its check goes unrecorded without a failed write
if grep -q "^evcap verify: note: the store $S is opened read-only (this user (uid $U) may not write to its folder), so this verify is not recorded in its custody log\$" "$T/v1.err" &&
	[ "$(wc -l <"$T/v1.err")" = 1 ]; then
	ok "verify_perms_reader_told_read_only"
else
	bad "verify_perms_reader_told_read_only: $(head -3 "$T/v1.err")"
fi

# a store made before: blobs/ private to its owner
chmod 0700 "$S/blobs"
as_reader verify >"$T/v2.out" 2>"$T/v2.err"; rc=$?
cat "$T/v2.out" "$T/v2.err" | sed 's/^/# /'
want='^NOT CHECKED: item [12] (.*): cannot be read: Permission denied (run verify as the store.s'
if [ $rc = 1 ] && ! grep -q 'DAMAGED\|missing' "$T/v2.out" "$T/v2.err" &&
	[ "$(grep -c "$want owner" "$T/v2.out")" = 2 ] &&
	grep -q '^0 items intact, 2 not checked' "$T/v2.out"; then
	ok "verify_perms_unreadable_is_not_damage"
else
	bad "verify_perms_unreadable_is_not_damage: exit $rc"
fi
as_reader --json verify >"$T/v3.out" 2>"$T/v3.err"; rc=$?
check "verify_perms_unreadable_json" jq -e \
	'.ok == false and (.problems | length) == 0 and (.unreadable | length) == 2' "$T/v3.out"

# one fan-out folder closed: that item only is not checked
chmod 0750 "$S/blobs"
sha=$(sha256sum "$P/card/a.txt" | cut -c1-64)
chmod 0700 "$S/blobs/sha256/${sha:0:2}"
as_reader verify >"$T/v4.out" 2>"$T/v4.err"; rc=$?
if [ $rc = 1 ] && ! grep -q DAMAGED "$T/v4.out" &&
	grep -q "^NOT CHECKED: item [12] (a.txt, ${sha:0:12}): cannot be read" "$T/v4.out" &&
	grep -q '^1 item intact, 1 not checked' "$T/v4.out"; then
	ok "verify_perms_one_folder_closed"
else
	bad "verify_perms_one_folder_closed: exit $rc: $(cat "$T/v4.out" | head -5)"
fi
chmod 0755 "$S/blobs/sha256/${sha:0:2}"

# damage is still damage: an original removed is missing, for anyone
rm -f "$S/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha"
as_reader verify >"$T/v5.out" 2>"$T/v5.err"; rc=$?
check "verify_perms_missing_still_damaged" bash -c "[ $rc = 1 ] &&
	grep -q '^DAMAGED: item [12] (a.txt, ${sha:0:12}): the original is missing' '$T/v5.out'"

# once no program holds the store, its -shm file is gone (the last to
# close it removes it), and this reader may not make one: said, with
# what to do, rather than SQLite's bare "attempt to write a readonly
# database"
kill $HOLDER 2>/dev/null
wait $HOLDER 2>/dev/null
python3 - "$S/evidence.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT count(*) FROM items").fetchall()
c.close()
PY
as_reader ls >"$T/l.out" 2>"$T/l.err"; rc=$?
check "verify_perms_no_writer_said" bash -c "[ $rc = 1 ] && [ ! -e '$S/evidence.db-shm' ] &&
	grep -q 'evidence.db: cannot be read by this user while no program has the store open' \
		'$T/l.err' && grep -q 'run the command as the store.s owner' '$T/l.err'"
