#!/bin/bash
# evcap case close of the case in use: done (exit 0), and one line on
# stderr says what happens until another is put in use: evcapd records
# new files with no case, evcap ingest refuses them without --case (as it
# does); closing a case not in use says nothing of the kind.
. "$(dirname "$0")/../lib/common.sh"

"$EVCAP" -q init >/dev/null 2>&1 || { bad "case_close: evcap init failed"; exit 0; }
"$EVCAP" case open 巡查案A --use >/dev/null &&
	"$EVCAP" case open 巡查案B >/dev/null &&
	"$EVCAP" case open C3 >/dev/null || { bad "case_close: cases not opened"; exit 0; }
want="evcap case close: case 巡查案A is the case in use: until another case is put in use"
want="$want ('evcap case use CASE'), evcapd records new files with no case, and 'evcap ingest'"
want="$want and 'evcap sensor' refuse them unless given --case"

"$EVCAP" case close 巡查案B >"$T/b.out" 2>"$T/b.err"
rc=$?
check "case_close_not_in_use_quiet" bash -c \
	"[ $rc = 0 ] && [ ! -s '$T/b.err' ] && grep -qx 'case 巡查案B closed' '$T/b.out'"

"$EVCAP" case close 巡查案A >"$T/a.out" 2>"$T/a.err"
rc=$?
if [ $rc = 0 ] && grep -qx 'case 巡查案A closed' "$T/a.out" &&
	[ "$(cat "$T/a.err")" = "$want" ]; then
	ok "case_close_in_use_warns"
else
	bad "case_close_in_use_warns: exit $rc: $(cat "$T/a.out" "$T/a.err")"
fi

# what it says of ingest is so
printf 'x\n' >"$T/x.txt"
"$EVCAP" ingest "$T/x.txt" >/dev/null 2>"$T/i.err"
rc=$?
check "case_close_in_use_ingest_refuses: as the line says" bash -c \
	"[ $rc = 2 ] && grep -q 'case 巡查案A is closed' '$T/i.err'"

# again (closed already, still in use): the same line; with -q too
"$EVCAP" -q case close 巡查案A >"$T/a2.out" 2>"$T/a2.err"
rc=$?
check "case_close_again_in_use_warns" bash -c \
	"[ $rc = 0 ] && [ \"\$(cat '$T/a2.err')\" = \"\$1\" ]" _ "$want"

# --json: the object on stdout as before, the line on stderr
"$EVCAP" case use C3 >/dev/null
"$EVCAP" --json case close C3 >"$T/c.out" 2>"$T/c.err"
rc=$?
if [ $rc = 0 ] && jq -e '.case == "C3" and .status == "closed" and .in_use == true' \
	"$T/c.out" >/dev/null && [ "$(wc -l <"$T/c.err")" = 1 ] &&
	grep -q "^evcap case close: case C3 is the case in use: until another" "$T/c.err"; then
	ok "case_close_in_use_json"
else
	bad "case_close_in_use_json: exit $rc: $(cat "$T/c.out" "$T/c.err")"
fi
