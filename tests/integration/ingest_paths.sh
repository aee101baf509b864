#!/bin/bash
# What `evcap ingest` and evcapd take from the paths they are given:
# - the store's own folder is never taken, even inside the card (its
#   private key and database are not evidence); evcapd refuses to watch it;
# - a card path that is a symbolic link is followed (links inside are not);
# - a folder nested too deep, or whose listing fails part way, is a
#   problem (exit 1), not a quiet skip;
# - a message about a long path still ends with the file and the reason.
. "$(dirname "$0")/../lib/common.sh"
need jq sqlite3 || { skip "ingest_paths: jq or sqlite3 is not installed"; exit 0; }

# the store inside the folder being ingested (`evcap ingest ~` with the
# default store under ~/.local/share/evcap)
H=$T/home
mkdir -p "$H/DCIM"
printf '\xff\xd8\xff\xd9one' >"$H/DCIM/a.JPG"
S="$EVCAP --store $H/.local/share/evcap"
$S init >/dev/null 2>&1
$S ingest "$H" >"$T/out" 2>"$T/err"
rc=$?
$S --json ls >"$T/ls.json"
check "ingest_paths: a store inside the card: only the photo is taken, exit 0 (rc $rc)" \
	jq -e '[.[].original_name] == ["a.JPG"]' "$T/ls.json"
check "ingest_paths: the store's folder is named as skipped, and why" \
	grep -q "home/.local/share/evcap: skipped: the evidence store itself" "$T/err"
$S ingest "$H/.local/share/evcap/evidence.db" >/dev/null 2>"$T/err2"
check "ingest_paths: a file of the store given by name is not taken either" \
	bash -c "$S --json ls | jq -e 'length == 1' >/dev/null && grep -q 'evidence store itself' '$T/err2'"

# a card reached through a symbolic link, given with and without a slash
C=$T/card
mkdir -p "$C/DCIM/100MEDIA"
printf '\xff\xd8\xff\xd9two' >"$C/DCIM/100MEDIA/b.JPG"
ln -s "$C" "$T/cardlink"
ln -s "$T/cardlink" "$C/DCIM/loop" # a link inside the card: never followed
L="$EVCAP --store $T/s2"
$L init >/dev/null 2>&1
$L ingest "$T/cardlink/" >"$T/out" 2>"$T/err"
rc=$?
check "ingest_paths: a card given through a link is read (rc $rc)" \
	bash -c "[ $rc = 0 ] && $L --json ls | jq -e '[.[].original_path] == [\"$T/cardlink/DCIM/100MEDIA/b.JPG\"]' >/dev/null"
check "ingest_paths: a link inside the card is still not followed, and named" \
	grep -q "DCIM/loop: skipped: a symbolic link (not followed)" "$T/err"

# folders nested past the walk's limit
D=$T/deep
p=$D
for i in $(seq 1 70); do p=$p/d$i; done
mkdir -p "$p"
printf '\xff\xd8\xff\xd9deep' >"$p/x.JPG"
printf '\xff\xd8\xff\xd9top' >"$D/top.JPG"
$EVCAP --store "$T/s3" init >/dev/null 2>&1
$EVCAP --store "$T/s3" ingest "$D" >"$T/out" 2>"$T/err"
rc=$?
check "ingest_paths: a folder too deep to walk is a problem: exit 1, counted (rc $rc)" \
	bash -c "[ $rc = 1 ] && grep -q '1 file, .*1 problem' '$T/out'"
check "ingest_paths: it is named with the reason" \
	grep -q "/d65: folder not read: nested deeper than 64 levels; nothing under it recorded" "$T/err"

# a long path: the message ends with the file's name and the reason
long=$T/long
for i in 1 2 3 4 5 6 7 8; do long=$long/$(printf 'x%.0s' $(seq 1 200)); done
mkdir -p "$long"
printf 'not a photo at all' >"$long/broken.JPG"
$EVCAP --store "$T/s4" init >/dev/null 2>&1
$EVCAP --store "$T/s4" ingest "$T/long" >"$T/out" 2>"$T/err"
check "ingest_paths: a 1.6 kB path's message is whole (file and reason)" \
	grep -q "/broken.JPG: kept, but its metadata could not be read: not a JPEG" "$T/err"

# a folder whose listing fails part way (EIO from a failing card, made
# by strace on its second getdents64): named and counted, not taken as
# the folder's end; what was listed before the failure is still taken
if need strace && strace -o /dev/null true 2>/dev/null; then
	mkdir "$T/c10"
	for i in $(seq -w 1 600); do
		echo "$i" >"$T/c10/file_with_a_rather_long_name_to_fill_the_dirent_buffer_$i.txt"
	done
	$EVCAP --store "$T/s5" init >/dev/null 2>&1
	(cd "$T" && strace_run -f -o /dev/null -P "$T/c10" -e trace=getdents64 \
		-e inject=getdents64:error=EIO:when=2 $EVCAP --store "$T/s5" ingest --no-geotag c10 \
		>"$T/out" 2>"$T/err")
	rc=$?
	check "ingest_paths: a folder that fails part way through its listing: exit 1, counted (rc $rc)" \
		bash -c "[ $rc = 1 ] && grep -Eq '^[1-9][0-9]* files, .*, 1 problem,' '$T/out'"
	check "ingest_paths: it is named with the reason" \
		grep -q "^evcap: c10: cannot read folder: Input/output error; the entries listed before it are taken" "$T/err"
else
	skip "ingest_paths: a folder failing part way: strace is missing or cannot trace here"
fi

# evcapd refuses, at its start, a watched folder that holds its store
if [ -n "$EVCAPD" ] && [ -x "$EVCAPD" ]; then
	W=$T/watch
	mkdir -p "$W/DCIM"
	$EVCAP --store "$W/store" init >/dev/null 2>&1
	timeout 20 "$EVCAPD" --foreground --store "$W/store" --watch "$W" --gps "" 2>"$T/evcapd.log"
	rc=$?
	check "ingest_paths: evcapd will not watch a folder holding its store (rc $rc)" \
		bash -c "[ $rc = 2 ] && grep -q 'must not contain each other' '$T/evcapd.log'"
	# a store path where there is none: made, and said; no case in use: said
	timeout -s TERM 3 "$EVCAPD" --foreground --store "$T/fresh" --gps "" 2>"$T/fresh.log"
	check "ingest_paths: evcapd says it made a new store where there was none" \
		grep -q "fresh: no evidence store was there; a new one was created" "$T/fresh.log"
	check "ingest_paths: evcapd says at its start that no case is in use" \
		grep -q "no case is in use: files will be recorded without a case" "$T/fresh.log"
	# the store evcapd made opens its custody log as init's does, and an
	# init afterwards adds no second one
	inits() {
		sqlite3 "$T/fresh/evidence.db" "SELECT group_concat(seq || ' ' || action, ', ')
			FROM custody WHERE seq = 1 OR action = 'init'"
	}
	check "ingest_paths: a store evcapd made opens its log with the init event" \
		test "$(inits)" = "1 init"
	$EVCAP --store "$T/fresh" init >/dev/null 2>&1
	check "ingest_paths: and init afterwards records no second one" test "$(inits)" = "1 init"
else
	skip "ingest_paths: evcapd is not built"
fi
