#!/bin/bash
# The command line's own contract, command by command: --help everywhere,
# answered without touching the store; "--" ends the options; one-line
# usage errors that name the option or argument at fault; exit 2 for
# usage and configuration errors, 1 for a problem found (a file named
# that does not exist among them, the other files still taken); --json from the commands that change a
# case or add to the record; only init creates a store; case numbers and
# closed cases; and the usage lines and manual that say so.
. "$(dirname "$0")/../lib/common.sh"

if ! need jq; then
	skip "cli_usage: needs jq"
	exit 0
fi

# run ARGS...: evcap with ARGS; $out is stdout, $err stderr, $rc the status
# (exported, with the helpers below, for checks run through bash -c)
run() { out=$("$EVCAP" "$@" 2>"$T/err"); rc=$?; err=$(cat "$T/err"); export out rc err; }
# is RC WORDS...: the last run exited RC and its stderr holds every WORDS
is() {
	local want=$1 w
	shift
	[ "$rc" = "$want" ] || { echo "# exit $rc, not $want; stderr: $err"; return 1; }
	for w in "$@"; do
		grep -qF -- "$w" <<<"$err" || { echo "# stderr lacks '$w': $err"; return 1; }
	done
}
# one_line: the last run's stderr is a single line
one_line() {
	[ -n "$err" ] && [ "$(wc -l <<<"$err")" = 1 ] || { echo "# stderr: $err"; return 1; }
}
events() { "$EVCAP" --json log | jq length; }
export -f is one_line

"$EVCAP" init >/dev/null || { bad "cli_usage: init failed"; exit 1; }
"$EVCAP" case open 巡查案 --use >/dev/null
printf 'a photo, or near enough\n' >"$T/a.txt"
"$EVCAP" -q ingest "$T/a.txt" >/dev/null 2>&1
ITEM=$("$EVCAP" --json ls | jq -r '.[0].id')
printf 'time,parameter,value,unit\n' >"$T/wide2.csv"
printf '2023-05-01T10:00:00+08:00 0+7.1+12.3\n' >"$T/s.log"

# 1. --help is help, whatever stands before it, and writes nothing
before=$(events)
for args in "note $ITEM --help" "note --help" "key trust --help" "key trust x.pub --help" \
	"key sign --help" "key sign $T/a.txt --help" "key show --help" "key list --help" \
	"case list --help" "case show --help" "case show 巡查案 --help" "case use 巡查案 --help" \
	"case close 巡查案 --help" "case open 新案 --help" "case set 巡查案 --help" \
	"case add 巡查案 --help" "site list --help" "site show 巡查案 A --help" \
	"site add --help" "track import --help" "track import $T/a.txt --help" "track ls --help" \
	"gps log --help" "sensor import $T/wide2.csv --help" "sensor listen --help" \
	"export --help" "revisit --help" "visits --help" "ingest $T/a.txt --help" "ls --help" \
	"show $ITEM --help" "init --help" "log --help" "verify --help" "readings --help" \
	"geotag --help" "sync --help" "pull --help" "notify --help"; do
	# shellcheck disable=SC2086
	run --store "$T/no-store" $args
	cmd=${args%% *}
	check "help: 'evcap $args' prints help (exit 0) and no store is made" \
		bash -c '[ "$1" = 0 ] && grep -q "^usage: evcap $2 " <<<"$3" && [ ! -e "$4" ]' \
		_ "$rc" "$cmd" "$out" "$T/no-store"
	# shellcheck disable=SC2086
	run $args
	[ "$rc" = 0 ] || bad "help: 'evcap $args' in the store exits $rc: $err"
done
check "help: none of them wrote a custody event or a note" \
	test "$(events)" = "$before" -a "$("$EVCAP" --json show "$ITEM" | jq '.notes | length')" = 0
check "help: no case '--help' or '新案' was made" \
	test "$("$EVCAP" --json case list | jq -r '.[].number' | tr '\n' ' ')" = "巡查案 "
run help ls
check "help: 'evcap help ls' is ls's help" \
	bash -c '[ "$1" = 0 ] && grep -q "^usage: evcap ls " <<<"$2"' _ "$rc" "$out"
run help case open
check "help: 'evcap help case open' is case's help" \
	bash -c '[ "$1" = 0 ] && grep -q "^usage: evcap case " <<<"$2"' _ "$rc" "$out"

# "--" ends the options: a note that begins with '-'
run note "$ITEM" -- '-5 m from the outfall'
check "note: text after '--' is taken as written" bash -c '[ "$1" = 0 ] &&
	[ "$("$2" --json show "$3" | jq -r ".notes[-1].text")" = "-5 m from the outfall" ]' \
	_ "$rc" "$EVCAP" "$ITEM"
run note "$ITEM" '-5 m'
check "note: text that begins with '-' without '--' is refused, naming it and '--'" \
	bash -c 'is 2 "unknown option '"'"'-5'"'"'" "'"'"'--'"'"'" && one_line'

# 2. only init makes a store
run --store "$T/typo" case open Q
check "store: case open at a path with no store is refused (exit 2) and makes none" \
	bash -c 'is 2 "no evidence store at $1" && [ ! -e "$1" ]' _ "$T/typo"
run --store "$T/a.txt" ls
check "store: a path that is a file is said to be a file" is 2 "is a file, not a folder"
run --store "$T/a.txt" init
check "store: init at a file says the same" is 2 "is a file, not a folder"
run --store
check "store: --store with no path says it needs one" \
	bash -c 'is 2 "--store needs a path" && one_line'
run --config
check "store: --config with no path says it needs one" is 2 "--config needs a path"
run --store '' ls
check "store: an empty --store is refused" is 2 "--store needs a path"
run ls --store=
check "store: an empty --store= is refused" is 2 "--store needs a path"

# 3. closed cases, and cases that exist
"$EVCAP" case open K1 >/dev/null && "$EVCAP" case close K1 >/dev/null
run case open K1
check "closed: case open of a closed case says it is closed and is not reopened (exit 2)" \
	is 2 "case K1 is closed" "does not reopen"
run case use K1
check "closed: case use of a closed case is refused (exit 2)" is 2 "case K1 is closed"
check "closed: and the case in use is still the one it was" \
	test "$("$EVCAP" --json case list | jq -r '.[] | select(.in_use) | .number')" = 巡查案
n=$(events)
run case close K1
check "closed: closing it again changes nothing" test "$rc" = 0 -a "$(events)" = "$n"
run case open 巡查案 --title 新标题 --operator 王五
check "exists: options for an existing case are named as not applied, with 'case set'" \
	is 2 "--title, --operator were not applied" "evcap case set 巡查案"
check "exists: and the title is unchanged" \
	test "$("$EVCAP" --json case show 巡查案 | jq -r .title)" = null
run case open 巡查案
check "exists: case open of an open case alone is fine" test "$rc" = 0

# 4. case numbers with a space at either end, or blank
for n in ' ' '' 'K2 ' ' K2' $'K2\t' 'K2　'; do
	run case open "$n"
	check "case number: '$n' is refused (exit 2)" bash -c 'is 2 "case number" && one_line'
done
# and characters that show as nothing, pasted with a number from a document:
# the case would look like K2 in every list and report, and never be found
# by typing K2
for n in $'K2\u200b' $'\ufeffK2' $'K\u00ad2' $'K\u202e2'; do
	run case open "$n"
	check "case number: an invisible character is refused, named by its code point" \
		bash -c 'is 2 "invisible character (U+" && one_line'
done
check "case number: none of them was made" \
	test "$("$EVCAP" --json case list | jq length)" = 2

# 4b. the same number typed with the full-width digits and letters of a
# Chinese input method, or the ideographic space: not a second case, and a
# --case written so is answered with the number as recorded (never taken
# for it); brackets of another shape are another number
A='XX检公益立〔2024〕3号' W='ＸＸ检公益立〔２０２４〕３号' M='XX检公益立〔２０２４〕3号'
"$EVCAP" case open "$A" >/dev/null && "$EVCAP" case open 'K 7' >/dev/null
n=$(events)
run case open "$W" --use
check "width: case open of a full-width form of a case is refused, naming it and --distinct" \
	bash -c 'is 2 "case '"'"'$1'"'"' exists" "only in full-width and half-width" "--distinct" &&
	one_line' _ "$A"
check "width: and no case was made or put in use, no event written" test \
	"$("$EVCAP" --json case list | jq -c '[.[] | select(.in_use or .number == "'"$W"'") |
	.number]'):$(events)" = "[\"巡查案\"]:$n"
run case open 'K　7'
check "width: an ideographic space folds to a space" is 2 "case 'K 7' exists"
run case open 'XX检公益立[2024]3号'
check "width: [] for 〔〕 is another number, opened" test "$rc" = 0
for args in "ls --case" "case show" "case use" "sync --target dir:$T/t --case"; do
	# shellcheck disable=SC2086
	run $args "$M"
	check "width: '$args' with a half-full-width number: did you mean the case recorded" \
		bash -c 'is 2 "no case '"'"'$1'"'"' in this store; did you mean '"'"'$2'"'"'?" &&
		one_line' _ "$M" "$A"
done
printf '[store]\ncase = %s\n' "$W" >"$T/width.conf"
"$EVCAP" --store "$T/w2" init >/dev/null && "$EVCAP" --store "$T/w2" case open "$A" >/dev/null
run --store "$T/w2" --config "$T/width.conf" visits
check "width: a config's case written in full width: did you mean, and the config file" \
	is 2 "no case '$W' in this store; did you mean '$A'?" "$T/width.conf"
run case open "$W" --distinct
check "width: --distinct opens it all the same" \
	bash -c '[ "$rc" = 0 ] && grep -qx "opened case $1" <<<"$out"' _ "$W"
run ls --case "$M"
check "width: with two cases written like it, both counted, the first named" \
	bash -c 'is 2 "no case '"'"'$1'"'"'" "2 cases differ from it" "the first '"'"'$2'"'"'" &&
	one_line' _ "$M" "$A"
run case set 巡查案 --distinct
check "width: --distinct belongs to case open" is 2 "--distinct goes with 'case open'"
n=$(events)
run case set 巡查案
check "set: with no field, a usage error naming the fields (exit 2)" \
	is 2 "set needs a field to change: --title" "--reply-date"
check "set: and nothing is recorded" test "$(events)" = "$n" -a -z "$out"
run case --help
check "set: its entry in case --help says what it does" \
	bash -c 'grep -A5 "^  set CASE" <<<"$out" | grep -q "change the case'"'"'s fields"'

# 4b. options that would be taken and not used are refused
run export --format html --out "$T/b.html" --before 1
check "export: --before without --revisit is refused (exit 2)" \
	bash -c 'is 2 "--before goes with --revisit" && one_line && [ ! -e "$1" ]' _ "$T/b.html"
run export --format html --out "$T/b.html" --after 2
check "export: --after without --revisit is refused (exit 2)" \
	bash -c 'is 2 "--after goes with --revisit" && [ ! -e "$1" ]' _ "$T/b.html"
n=$(events)
run sensor import "$T/wide2.csv" --instrument generic-tdp --profile "$T/none.profile"
check "sensor: --instrument and --profile together are refused (exit 2)" \
	bash -c 'is 2 "give --instrument NAME or --profile FILE, not both" && one_line'
check "sensor: and nothing is recorded" test "$(events)" = "$n"
# (in time: listen would otherwise wait for the device until stopped)
out=$(timeout 10 "$EVCAP" sensor listen "$T/no-such-tty:9600:csv" --format sdi12 2>"$T/err")
rc=$? err=$(cat "$T/err")
check "sensor: listen refuses --format, which its spec gives (exit 2)" \
	bash -c 'is 2 "--format goes with '"'"'sensor import'"'"'" && one_line'

# 4c. output that cannot be written is said, as for every command
for a in --help --version; do
	"$EVCAP" $a >/dev/full 2>"$T/full.err"
	rc=$?
	check "full: evcap $a to a full disk says so (exit 1)" \
		bash -c '[ "$1" = 1 ] && grep -q "^evcap: cannot write output" "$2"' _ "$rc" "$T/full.err"
done
# a file for a folder, in --out or a dir: target, is the command line's
run export --format jpeg --out "$T/a.txt"
check "export: --format jpeg --out a file is a usage error naming --out (exit 2)" \
	bash -c 'is 2 "--out $1 is a file" && one_line' _ "$T/a.txt"
run sync --target "dir:$T/a.txt"
check "sync: a dir: target that is a file is a usage error with a hint (exit 2)" \
	is 2 "cannot open the target directory: Not a directory (a dir: target names a folder"

# 4d. a time offset of the right form out of range says which part is
run ingest "$T/a.txt" --time-offset +15:00
check "offset: hours past 14 are named as such (exit 2)" \
	is 2 "--time-offset must have hours from 00 to 14, not '+15:00'"
run case set 巡查案 --time-offset +08:60
check "offset: minutes past 59 are named as such (exit 2)" \
	is 2 "--time-offset must have minutes from 00 to 59, not '+08:60'"
run case set 巡查案 --time-offset 8
check "offset: a value of another form still shows the form (exit 2)" \
	is 2 "--time-offset must look like +08:00, not '8'"
run export --format html --out "$T/v.html" --revisit --before abc
check "export: a bad visit number points to 'evcap visits' and to --help, each once" \
	bash -c 'is 2 "--before takes a visit number, as '"'"'evcap visits'"'"' lists them (see" &&
	[ "$(grep -o "(see" <<<"$err" | wc -l)" = 1 ]'

# 5. --from after --to
run export --format csv --out "$T/x.csv" --from 2024-01-01T00:00:00Z --to 2023-01-01T00:00:00Z
check "export: --from after --to is refused (exit 2)" \
	bash -c 'is 2 "--from is after --to" && [ ! -e "$1" ]' _ "$T/x.csv"
# a time without its zone is eight hours apart in China and in UTC
run export --format csv --out "$T/x.csv" --from 2023-05-01T08:00:00
check "export: a --from without its zone is refused, saying it needs one, with examples" \
	bash -c 'is 2 "must be a time with its zone" "+08:00 (China)" "Z (UTC)" && one_line'

# 6. --json from the commands that change things
jq_ok() { jq -e "$1" <<<"$out" >/dev/null || { echo "# json: $out"; return 1; }; }
run --json case open J1
check "json: case open" jq_ok '.case == "J1" and .status == "open" and .created == true'
run --json case set J1 --title T
check "json: case set" jq_ok '.case == "J1" and .status == "open" and .changed == ["title"]'
run --json case use J1
check "json: case use" jq_ok '.case == "J1" and .in_use == true'
run --json case close J1
check "json: case close" jq_ok '.case == "J1" and .status == "closed"'
"$EVCAP" case use 巡查案 >/dev/null
run --json note "$ITEM" 'json note'
check "json: note" jq_ok ".item == $ITEM and .note == \"json note\" and .case == \"巡查案\""
"$EVCAP" --store "$T/other" init >/dev/null && "$EVCAP" --store "$T/other" key show >"$T/other.pub"
run --json key trust "$T/other.pub"
# (minisign writes a key id in hex without leading zeros: 15 digits one
# time in sixteen)
check "json: key trust" jq_ok '.status == "trusted" and (.key_id | test("^[0-9A-F]{1,16}$"))'
run --json key sign "$T/a.txt"
check "json: key sign" jq_ok '.signature | endswith("a.txt.minisig")'

# 7. one exit status for one kind of error: a named file that is not there
# is a problem with that input (1), as a damaged one is, never a usage error
run sensor import "$T/nonexist.csv"
check "missing file: sensor import exits 1" is 1 nonexist.csv
run track import "$T/nonexist.gpx"
check "missing file: track import exits 1" is 1 nonexist.gpx
run key trust "$T/nonexist.pub"
check "missing file: key trust exits 1" is 1 nonexist.pub
run key sign "$T/nonexist"
check "missing file: key sign exits 1" is 1 nonexist
printf 'the second photo\n' >"$T/b.txt"
run ingest "$T/b.txt" "$T/nonexist.jpg"
check "missing file: ingest A B takes A, names B, exits 1 (not 2), counts it a problem" \
	bash -c 'is 1 "$1/nonexist.jpg" && grep -q "1 problem," <<<"$out" &&
		"$2" --json ls | jq -e "any(.[]; .original_name == \"b.txt\")" >/dev/null' \
	_ "$T" "$EVCAP"
run revisit --before 5 --after 1
# (the case has no item with a capture time: no visit at all, said so, not
# "visits 1 to 0")
check "revisit: a visit the case does not have is a usage error (exit 2)" \
	bash -c 'is 2 "has no visit yet" "no visit 5" && ! grep -q "1 to 0" <<<"$err"'
run revisit
check "revisit: a case with fewer than two visits is a problem found (exit 1)" is 1 visits
run case add 巡查案 "$ITEM"
check "case add: an item already in the case is left, said, exit 0" \
	bash -c '[ "$1" = 0 ] && grep -q "is in case 巡查案 already" <<<"$2"' _ "$rc" "$out"
"$EVCAP" case open 另案 >/dev/null
run case add 另案 "$ITEM"
check "case add: an item in another case is never moved (exit 1)" is 1 "never moved"

# 8. an instrument with no profile
run sensor import "$T/s.log" --format sdi12 --instrument nosuch
check "sensor: an SDI-12 log with an unknown instrument names its profile and the folders" \
	is 2 nosuch.profile /etc/evcap/sensors
run sensor import "$T/wide2.csv" --instrument nosuch
check "sensor: a CSV with an unknown instrument is refused the same way" is 2 nosuch.profile

# 9. usage messages: one line, naming the option or the real problem
run ingest --bogus
check "usage: an unknown option is one line naming it" \
	bash -c 'is 2 "evcap ingest: unknown option '"'"'--bogus'"'"'" &&
		is 2 "(see '"'"'evcap ingest --help'"'"')" && one_line'
# a card's label or UUID given that is not UTF-8 is refused, before
# anything is recorded (it went into the store raw, and was left out of
# the ingest event)
printf 'label test' >"$T/label.txt"
for opt in --medium-label --medium-uuid; do
	run ingest "$opt" $'\xff\x01bad' "$T/label.txt"
	check "usage: ingest $opt that is not UTF-8 is refused" \
		bash -c "is 2 'evcap ingest: $opt needs a value in UTF-8' && one_line"
done
"$EVCAP" --json ls >"$T/label.ls" 2>&1
check "usage: ... and nothing of that file is recorded" \
	bash -c "grep -q '^\[' '$T/label.ls' && ! grep -q label.txt '$T/label.ls'"
run ls --case
check "usage: ls --case with no value says it needs one" \
	bash -c 'is 2 "--case needs a value" && one_line'
run geotag --max-gap
check "usage: geotag --max-gap with no value says so" is 2 "--max-gap needs a value"
run case open X --title
check "usage: case open --title with no value says so" is 2 "--title needs a value"
run ls --no-case=1
check "usage: a value for an option that takes none is named" is 2 "--no-case takes no value"
run site list --bogus
check "usage: site list --bogus is an unknown option, not a case" \
	is 2 "unknown option '--bogus'"
run case show 巡查案 --bogus
check "usage: case show CASE --bogus is an unknown option" is 2 "unknown option '--bogus'"
run key show extra
check "usage: key show extra names the argument" is 2 "show takes no arguments, not 'extra'"
printf '[store]\ncase = NOPE\n' >"$T/nope.conf"
run --store "$T/other" --config "$T/nope.conf" ls --case NOPE
run --store "$T/other" --config "$T/nope.conf" visits
check "usage: a config's case that does not exist is said to come from the config file" \
	is 2 "no case 'NOPE'" "$T/nope.conf"
# a config file that cannot be read is named as the config file, with
# where its path came from (a stale $EVCAP_CONFIG fails every command)
out=$(EVCAP_CONFIG="$T/gone.conf" "$EVCAP" --store "$T/other" ls 2>"$T/err"); rc=$?; err=$(cat "$T/err")
check "usage: a missing \$EVCAP_CONFIG file is said to be the config file it names" \
	is 2 "evcap: the config file named by \$EVCAP_CONFIG: $T/gone.conf: cannot open"
run --store "$T/other" --config "$T" ls
check "usage: a folder given with --config is said to be the config file" \
	is 2 "evcap: the config file given with --config: $T: not a regular file"

# 10. usage lines and the manual agree with the binary
run ingest --help
check "docs: ingest's usage line has --site NAME, --medium-label, --no-geotag" bash -c '
	u=$(head -1 <<<"$1"); grep -qF -- "--site NAME" <<<"$u" &&
	grep -qF -- "--medium-label" <<<"$u" && grep -qF -- "--no-geotag" <<<"$u"' _ "$out"
run visits --help
check "docs: visits' usage line has an optional --case, --gap-hours and --json" bash -c '
	u=$(head -1 <<<"$1"); grep -qF -- "[--case CASE]" <<<"$u" &&
	grep -qF -- "--gap-hours" <<<"$u" && grep -qF -- "--json" <<<"$u"' _ "$out"
run sensor --help
check "docs: sensor's usage line has --serial, --calibrated, --site, --operator" bash -c '
	u=$(head -1 <<<"$1"); for o in serial calibrated site operator; do
	grep -qF -- "--$o" <<<"$u" || exit 1; done' _ "$out"
run gps log --help
check "docs: gps log's default server is 127.0.0.1:2947, as evcapd's" \
	bash -c 'grep -qF "127.0.0.1:2947" <<<"$1" && ! grep -q localhost <<<"$1"' _ "$out"
MAN=$ROOT/docs/man/evcap.1
check "docs: the manual has the options the binary takes" bash -c '
	grep -q "site add.*water\\\\-body" "$1" &&
	grep -q "sensor import.*serial.*calibrated.*operator" "$1" &&
	grep -q "^.BI \"pull.*bandwidth.*no\\\\-progress" "$1" &&
	grep -q "revisit.*gap\\\\-hours.*lang.*json" "$1" &&
	grep -q "^.B \\\\-\\\\-version" "$1"' _ "$MAN"

# pull takes --no-progress, as sync does
run pull --no-progress --target "dir:$T"
check "usage: pull takes --no-progress, as sync does" is 2 "give the case to pull with --case CASE"

# 11. track ls --limit
run track ls --limit ''
check "track ls: an empty --limit is refused" is 2 "--limit"
run track ls --limit 0
check "track ls: --limit 0 is refused" is 2 "--limit"

# 12. export --out
cd "$T" || exit 1
run export --format csv --out -
check "export: --out - is refused, and no file '-' is written" \
	bash -c 'is 2 "--out -" && [ ! -e "$1/-" ]' _ "$T"
run export --format csv --out "$T/missing/dir/x.csv"
check "export: --out in a folder that does not exist names the folder" \
	is 2 "the folder $T/missing/dir does not exist"

# 13. a store left by an older evcap: the first command, even one that only
# reads (ls, show, verify, export), upgrades its schema; that is said once
# on stderr and is a custody event, and the chain still verifies
"$EVCAP" --store "$T/old" init >/dev/null && "$EVCAP" --store "$T/old" case open 旧案 >/dev/null
store_to_schema_42 "$T/old/evidence.db"
run --store "$T/old" ls
check "schema: ls on an older store says once that it upgraded it, from 42 to 48" \
	bash -c 'is 0 "$1/old: the store was upgraded from schema 42 to 48" && one_line' _ "$T"
run --store "$T/old" --json log
check "schema: each step of the upgrade is a custody event naming its versions" jq_ok \
	'[.[].event | select(.action == "schema_upgrade") | [.detail.from, .detail.to]] ==
	 [[42, 43], [43, 44], [44, 45], [45, 46], [46, 47], [47, 48]]'
run --store "$T/old" verify
check "schema: the next command says nothing of it, and the chain verifies" \
	bash -c '[ "$rc" = 0 ] && ! grep -q upgraded <<<"$err"'

# 14. what a clerk types by mistake: an empty file name or case number is a
# usage error naming it, an unknown case reads the same in sync as
# everywhere, and an empty track listing says so rather than nothing
for args in "ingest" "track import" "sensor import" "key trust" "key sign"; do
	# shellcheck disable=SC2086
	run $args ''
	check "empty: '$args \"\"' is a one-line usage error saying '' is empty" \
		bash -c 'is 2 "'"''"' is empty" && one_line'
done
run case show ''
check "empty: case show '' names the empty case number" is 2 "needs a case number"
run verify --case ''
check "empty: --case '' is said to be empty, not 'no case'" \
	bash -c 'is 2 "the case number given is empty" && one_line'
run sync --target "dir:$T" --case 无此案
check "sync: an unknown case gets the same one line as other commands" \
	bash -c 'is 2 "no case '"'"'无此案'"'"' in this store (" && one_line'
run track ls --source 无此源
check "track ls: a source with no fixes is said on stderr, stdout left empty" \
	bash -c 'is 0 "no fixes from source '"'"'无此源'"'"'" && [ -z "$out" ]'

# 15. dates as a clerk writes them: the form asked for, with an example, or
# the day that does not exist
run case set 巡查案 --reply-date 2023/07/01
check "date: --reply-date 2023/07/01 asks for YYYY-MM-DD with an example" \
	bash -c 'is 2 "written YYYY-MM-DD, such as 2023-07-01, not '"'"'2023/07/01'"'"'" && one_line'
run case set 巡查案 --reply-date 2023-02-30
check "date: --reply-date 2023-02-30 is said to be no day of the calendar" \
	is 2 "--reply-date 2023-02-30: there is no such day"
run sensor import "$T/wide2.csv" --calibrated 2023年5月1日
check "date: --calibrated names the value it refused" is 2 "not '2023年5月1日'"

# 16. a count said to a person agrees with its noun: one item, never "1
# items" (--json keeps its field names)
P="$T/one"
"$EVCAP" --store "$P" init >/dev/null && "$EVCAP" --store "$P" case open P1 --use >/dev/null
printf 'one photo\n' >"$T/one.txt"
"$EVCAP" --store "$P" ingest "$T/one.txt" >/dev/null 2>&1
cat >"$T/one.gpx" <<'GPX'
<?xml version="1.0"?><gpx version="1.1" creator="t"><trk><trkseg>
<trkpt lat="30.5" lon="114.3"><time>2023-05-01T02:00:00Z</time></trkpt>
</trkseg></trk></gpx>
GPX
{
	"$EVCAP" --store "$P" case list
	mkdir "$T/one-target"
	"$EVCAP" --store "$P" sync --target "dir:$T/one-target"
	"$EVCAP" --store "$T/one-office" init
	"$EVCAP" --store "$T/one-office" pull --target "dir:$T/one-target" --case P1 --trust-new
	"$EVCAP" --store "$P" track import "$T/one.gpx"
} >"$T/one.out" 2>&1
check "plural: sync, pull, case list and track import say '1 item', '1 bundle', '1 fix'" \
	bash -c 'grep -q "^1 bundle committed: 1 item (1 blob sent," "$1" &&
	grep -q "1 bundle imported (1 item)" "$1" && grep -q "\[open, 1 item\]" "$1" &&
	grep -q "gpx, 1 fix read, 1 stored" "$1" &&
	! grep -E "(^|[^0-9.,])1 (item|bundle|blob|fixe|note|reading|case|event|request|point|line)s\b" "$1"' \
	_ "$T/one.out"

# 17. a command made of subcommands, given none or one it lacks: one line
# on stderr naming what is wrong and pointing to --help, nothing on stdout,
# exit 2; its --help is the help, on stdout, exit 0
for g in case site track sensor key gps; do
	run $g
	check "group: 'evcap $g' alone says a subcommand is needed, on stderr only (exit 2)" \
		bash -c 'is 2 "evcap $1: a subcommand is needed" "(see '"'"'evcap $1 --help'"'"')" &&
		one_line && [ -z "$out" ]' _ $g
	run $g bogus
	check "group: 'evcap $g bogus' names the unknown subcommand, on stderr only (exit 2)" \
		bash -c 'is 2 "evcap $1: unknown subcommand '"'"'bogus'"'"'" "evcap $1 --help" &&
		one_line && [ -z "$out" ]' _ $g
	run $g --help
	check "group: 'evcap $g --help' is the help on stdout (exit 0)" \
		bash -c '[ "$rc" = 0 ] && grep -q "^usage: evcap $1 " <<<"$out" && [ -z "$err" ]' _ $g
done
run case $'\e[2J'
check "group: an unknown subcommand is shown escaped" \
	bash -c 'is 2 "unknown subcommand '"'"'\\x1B[2J'"'"'" && ! grep -q $'"'"'\e'"'"' <<<"$err"'

# 18. control characters in what a person types that is stored, then shown
# in listings, logs and reports (a terminal would obey an ESC): refused in
# names and labels, naming the option and the byte; a note keeps its line
# breaks and tabs and refuses the rest; nothing is recorded
n=$(events)
for args in "ingest --operator" "ingest --medium-label" "case open C9 --title" \
	"case set 巡查案 --title" "case set 巡查案 --witness" "case open C9 --operator" \
	"sensor import $T/wide2.csv --operator" "sensor import $T/wide2.csv --serial"; do
	opt=${args##* }
	# shellcheck disable=SC2086
	run $args $'ab\e[31m' "$T/a.txt"
	check "control: '$args' with an ESC is refused, naming $opt and byte 3" \
		bash -c 'is 2 "$1 may not hold control characters: it has 0x1B at byte 3" &&
		one_line' _ "$opt"
done
run site add 巡查案 $'S\u009bx' --lat 30 --lon 114
check "control: a site name with a C1 control (U+009B) is refused, naming it" \
	is 2 "a site name may not hold control characters: it has U+009B at byte 2"
run note "$ITEM" $'first line\nsecond\tline\e[2J'
check "control: a note with an ESC is refused; its line break and tab are not the fault" \
	is 2 "a note may not hold control characters other than line breaks and tabs: it has 0x1B at byte 23"
run case open C9 --operator $'王五\u202e'
check "control: an officer's name with a right-to-left override (U+202E) is refused (was: the other names reversed in reports)" \
	is 2 "--operator may not hold a text-direction control (U+202E, at byte 7): it turns the text after it around in reports; type it anew"
run note "$ITEM" $'oil sheen\u2067 at outfall'
check "control: a note with a direction isolate (U+2067) is refused" \
	is 2 "a note may not hold a text-direction control (U+2067, at byte 10)"
check "control: nothing was recorded" test "$(events)" = "$n"
run case set 巡查案 --medium-note $'kept in\tbag 3\nsealed'
rc1=$rc
run note "$ITEM" $'first line\nsecond\tline'
check "control: a note or a medium note over two lines, with a tab, is taken as written" \
	bash -c '[ "$3" = 0 ] && [ "$rc" = 0 ] && [ "$("$1" --json show "$2" | jq -r ".notes[-1].text")" = \
	"$(printf "first line\nsecond\tline")" ]' _ "$EVCAP" "$ITEM" "$rc1"
n=$(events)
EVCAP_OPERATOR=$'ab\e[2J' run ls
check "control: an \$EVCAP_OPERATOR with an ESC stops every command, saying so" \
	is 2 'evcap: $EVCAP_OPERATOR (the name custody events record) must be UTF-8 text'
EVCAP_OPERATOR=$'Li\u202eWang' run note "$ITEM" x
check "control: an \$EVCAP_OPERATOR with a right-to-left override stops every command (was: the author of a note)" \
	is 2 'evcap: $EVCAP_OPERATOR (the name custody events record) must be UTF-8 text' 'text-direction controls'
EVCAP_OPERATOR=$'\xff\xfe' run note "$ITEM" x
check "control: so does one that is not UTF-8, and nothing is recorded" \
	bash -c 'is 2 "must be UTF-8 text" && [ "$1" = "$2" ]' _ "$n" "$(events)"
# a title or label that holds one already (a store from before the rule,
# a bundle of an older device) is shown with it escaped, not obeyed
sqlite3 "$EVCAP_STORE/evidence.db" "UPDATE cases SET title = 'T' || char(27) || '[2J' WHERE number = '巡查案';
	UPDATE items SET medium_label = 'L' || char(7) WHERE id = $ITEM"
run case list
check "control: case list shows a title's ESC as \\x1B" \
	bash -c '[ "$rc" = 0 ] && grep -qF "T\\x1B[2J" <<<"$out" && ! grep -q $'"'"'\e'"'"' <<<"$out"'
run case show 巡查案
check "control: case show too" bash -c 'grep -qF "T\\x1B[2J" <<<"$out" && ! grep -q $'"'"'\e'"'"' <<<"$out"'
run show "$ITEM"
check "control: show escapes a medium label's BEL" \
	bash -c 'grep -qF "L\\x07" <<<"$out" && ! grep -q $'"'"'\a'"'"' <<<"$out"'
# what is typed and only echoed back in a message (a case or site that
# does not exist, an item reference, a file name) is shown escaped too
noesc() { ! grep -q $'\e' <<<"$err" || { echo "# stderr holds an ESC: $err"; return 1; }; }
export -f noesc
for args in "ls --case" "export --format csv --out $T/none.csv --case" "show" "key trust" \
	"track ls --source" "export --format csv --out $T/none.csv --case 巡查案 --site"; do
	# shellcheck disable=SC2086
	run $args $'X\e[2JY'
	check "control: '$args' with an ESC echoes it as \\x1B" \
		bash -c 'grep -qF "X\x1B[2JY" <<<"$err" && noesc'
done
run note $'X\e[2JY' "a note"
check "control: note on an item reference with an ESC echoes it as \\x1B" \
	bash -c 'grep -qF "X\x1B[2JY" <<<"$err" && noesc'
run export --format csv --case 巡查案 --out $'/nonexistent/\e[2J/x.csv'
check "control: an --out folder with an ESC is named escaped" \
	bash -c 'is 2 "/nonexistent/\x1B[2J" && noesc'
run ls $'--bad\e[2JY'
check "control: an unknown option with an ESC is named escaped" \
	bash -c 'is 2 "unknown option '"'"'--bad\x1B[2JY'"'"'" && noesc'
run $'lsX\e[2JY'
check "control: an unknown command with an ESC is named escaped" \
	bash -c 'is 2 "unknown command '"'"'lsX\x1B[2JY'"'"'" && noesc'
for c in sync pull; do
	run $c --case 巡查案 --target $'dir:/nonexistent/\e[2JY'
	check "control: $c to a target folder with an ESC names it escaped" \
		bash -c '[ "$rc" != 0 ] && grep -qF "/nonexistent/\x1B[2JY" <<<"$err" && noesc'
done
mkdir -p "$T/t"$'\e[2J'
run sync --case 巡查案 --target "dir:$T/t"$'\e[2J'
check "control: sync's log lines and summary show a target folder's ESC escaped" bash -c \
	'[ "$rc" = 0 ] && grep -qF "committed to dir:$1/t\x1B[2J" <<<"$err" && noesc &&
	! grep -q $'"'"'\e'"'"' <<<"$out"' _ "$T"
run --config "$T/conf"$'\e[2J' ls
check "control: a --config path with an ESC is named escaped" \
	bash -c 'is 2 "$1/conf\x1B[2J: cannot open" && noesc' _ "$T"
err=$(timeout 10 "$EVCAPD_BIN" --config "$T/conf"$'\e[2J' 2>&1); rc=$?
check "control: evcapd names such a --config path escaped too" \
	bash -c '[ "$rc" != 0 ] && grep -qF "$1/conf\x1B[2J: cannot open" <<<"$err" && noesc' _ "$T"
for d in "$T/t"$'\e[2J'/cases/*/bundles; do touch "$d/Notes (1).txt"; done
run pull --case 巡查案 --target "dir:$T/t"$'\e[2J'
check "control: pull's warning of an entry not read shows the target's ESC escaped" \
	bash -c 'grep -qF "warning: dir:$1/t\x1B[2J" <<<"$err" && noesc' _ "$T"
run pull --target "dir:$T" --case $'X\e[2JY'
check "control: pull refuses a case number with an ESC, as no case holds one" \
	bash -c 'is 2 "a case number may not hold control characters: it has 0x1B at byte 2" && noesc'
