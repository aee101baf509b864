#!/bin/bash
# evcapd and its config file: a [gps] server that is not HOST:PORT is a
# config error naming file:line, at start (exit 2) and on SIGHUP (the
# old settings kept, "config not reloaded"), as any other bad value is;
# evcapd --check-config reads the file and the options and says so
# without opening the store or starting anything.
. "$(dirname "$0")/../lib/common.sh"

if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ]; then
	skip "daemon_config: evcapd is not built"
	exit 0
fi
MEDIA=$T/media
mkdir -p "$MEDIA"
# conf FILE SERVER: a config naming that gpsd (line 6)
conf() {
	printf '[store]\noperator = tester\n[capture]\nsettle_seconds = 1\n[gps]\nserver = %s\n' \
		"$2" >"$1"
}

# 1. at start: exit 2, file:line, nothing left running
for bad_server in nohost 127.0.0.1:29470x; do
	conf "$T/bad.conf" "$bad_server"
	timeout 10 "$EVCAPD" --foreground --config "$T/bad.conf" --store "$T/s1" \
		--watch "$MEDIA" 2>"$T/bad.err"
	rc=$?
	if [ $rc = 2 ] &&
		grep -q "^evcapd: $T/bad.conf:6: server must be HOST:PORT.*not '$bad_server'" \
			"$T/bad.err"; then
		ok "daemon_config_bad_gps_server_at_start ($bad_server)"
	else
		bad "daemon_config_bad_gps_server_at_start ($bad_server): exit $rc:" \
			"$(head -3 "$T/bad.err")"
	fi
done

# 2. --check-config: the file and the options read as at start, nothing
# opened or started; 0 with one line on stdout, or 2 naming file:line
conf "$T/good.conf" 127.0.0.1:2947
"$EVCAPD" --check-config --config "$T/good.conf" --store "$T/s3" --watch "$MEDIA" \
	>"$T/c1.out" 2>"$T/c1.err"
rc=$?
want="evcapd: $T/good.conf is good (store $T/s3, 1 watched folder, gpsd 127.0.0.1:2947,"
if [ $rc = 0 ] && [ ! -s "$T/c1.err" ] && [ ! -e "$T/s3" ] &&
	[ "$(cat "$T/c1.out")" = "$want 0 sensors)" ]; then
	ok "daemon_check_config_good"
else
	bad "daemon_check_config_good: exit $rc: $(cat "$T/c1.out" "$T/c1.err" | head -3)"
fi
"$EVCAPD" --config "$T/bad.conf" --check-config --store "$T/s3" >"$T/c2.out" 2>"$T/c2.err"
rc=$?
want="evcapd: $T/bad.conf:6: server must be HOST:PORT (IPv6 as [::1]:2947; \"\" for none),"
if [ $rc = 2 ] && [ ! -s "$T/c2.out" ] && [ ! -e "$T/s3" ] &&
	[ "$(cat "$T/c2.err")" = "$want not '127.0.0.1:29470x'" ]; then
	ok "daemon_check_config_bad_file"
else
	bad "daemon_check_config_bad_file: exit $rc: $(cat "$T/c2.out" "$T/c2.err" | head -3)"
fi
# the command line's overrides are checked with the file: a watched folder
# holding the store, an SDI-12 probe with no profile, a bad --gps
"$EVCAPD" --check-config --config "$T/good.conf" --store "$MEDIA/store" --watch "$MEDIA" \
	>/dev/null 2>"$T/c3.err"
rc3=$?
"$EVCAPD" --check-config --config "$T/good.conf" --store "$T/s3" \
	--sensor /dev/ttyUSB7:9600:sdi12 >/dev/null 2>"$T/c4.err"
rc4=$?
"$EVCAPD" --check-config --config "$T/good.conf" --store "$T/s3" --gps nohost \
	>/dev/null 2>"$T/c5.err"
rc5=$?
if [ $rc3 = 2 ] && grep -q "must not contain each other" "$T/c3.err" &&
	[ $rc4 = 2 ] && grep -q "an SDI-12 probe needs a profile" "$T/c4.err" &&
	[ $rc5 = 2 ] && grep -q -- "--gps must be HOST:PORT, not 'nohost'" "$T/c5.err" &&
	[ ! -e "$T/s3" ] && [ ! -e "$MEDIA/store" ]; then
	ok "daemon_check_config_options"
else
	bad "daemon_check_config_options: exits $rc3 $rc4 $rc5:" \
		"$(head -qn1 "$T/c3.err" "$T/c4.err" "$T/c5.err")"
fi
# a store that is a file, or under one: refused as a start refuses it
: >"$T/plain"
"$EVCAPD" --check-config --store "$T/plain" >"$T/c9.out" 2>&1
rc9=$?
"$EVCAPD" --check-config --store "$T/plain/sub" >"$T/c10.out" 2>&1
rc10=$?
if [ $rc9 = 2 ] && [ "$(cat "$T/c9.out")" = "evcapd: $T/plain: exists and is not a directory" ] &&
	[ $rc10 = 2 ] && [ "$(cat "$T/c10.out")" = "evcapd: $T/plain: exists and is not a directory" ]
then
	ok "daemon_check_config_store_is_a_file"
else
	bad "daemon_check_config_store_is_a_file: exits $rc9 $rc10: $(cat "$T/c9.out" "$T/c10.out")"
fi
# no default file: the built-in settings (the default store is not made)
"$EVCAPD" --check-config --store "$T/s3" >"$T/c6.out" 2>&1
rc=$?
# (a machine with an /etc/evcap/evcap.conf of its own is told about that)
DEF=/etc/evcap/evcap.conf
if [ $rc = 0 ] && [ ! -e "$T/s3" ] &&
	grep -Eq "^evcapd: (no $DEF; the built-in settings are|$DEF is) good" "$T/c6.out"; then
	ok "daemon_check_config_defaults"
else
	bad "daemon_check_config_defaults: exit $rc: $(cat "$T/c6.out")"
fi

# 3. on SIGHUP: not reloaded, the old gpsd kept, still running
conf "$T/evcap.conf" 127.0.0.1:1
"$EVCAPD" --foreground --config "$T/evcap.conf" --store "$T/s2" --watch "$MEDIA" -v \
	2>"$T/d.log" &
DPID=$!
on_exit "kill $DPID 2>/dev/null"
if ! within 10 grep -q "rescan (start)" "$T/d.log"; then
	bad "daemon_config_bad_gps_server_on_reload: evcapd did not start: $(tail -3 "$T/d.log")"
	exit 0
fi
conf "$T/evcap.conf" nohost
kill -HUP $DPID
if within 10 grep -q "config not reloaded: $T/evcap.conf:6: server must be HOST:PORT" \
	"$T/d.log" && kill -0 $DPID 2>/dev/null && ! grep -q "config reloaded" "$T/d.log" &&
	! grep -q "GPS logging is off" "$T/d.log"; then
	ok "daemon_config_bad_gps_server_on_reload"
else
	bad "daemon_config_bad_gps_server_on_reload: $(grep -v DEBUG "$T/d.log" | tail -4)"
fi
# beside the running daemon: no lock taken, the daemon undisturbed
"$EVCAPD" --check-config --config "$T/evcap.conf" --store "$T/s2" --watch "$MEDIA" \
	>"$T/c7.out" 2>&1
rc=$?
conf "$T/evcap.conf" ""
"$EVCAPD" --check-config --config "$T/evcap.conf" --store "$T/s2" --watch "$MEDIA" \
	>"$T/c8.out" 2>&1
rc8=$?
if [ $rc = 2 ] && grep -q "evcap.conf:6: server must be" "$T/c7.out" &&
	[ $rc8 = 0 ] && grep -q "gpsd off" "$T/c8.out" && kill -0 $DPID 2>/dev/null; then
	ok "daemon_check_config_beside_daemon"
else
	bad "daemon_check_config_beside_daemon: exits $rc $rc8: $(cat "$T/c7.out" "$T/c8.out")"
fi
# a reload that watches the same folders keeps their watches: new ones
# would drop the events the old held (a file closed just then would wait
# ten minutes as if still being written)
conf "$T/evcap.conf" 127.0.0.1:1
kill -HUP $DPID
check "daemon_config_reload_keeps_watches: the same folder keeps its watch on SIGHUP" \
	within 10 grep -q "the same 1 folder watched: their watches kept" "$T/d.log"
kill -TERM $DPID
wait $DPID

# with no config file at the default path, a reload says it took the
# defaults, not that it read that file
if [ ! -e "$DEF" ]; then
	"$EVCAP" --store "$T/s4" init >/dev/null
	"$EVCAPD" --foreground --store "$T/s4" --watch "$MEDIA" --gps '' 2>"$T/d4.log" &
	DPID=$!
	on_exit "kill $DPID 2>/dev/null"
	within 10 grep -q "rescan (start)" "$T/d4.log"
	kill -HUP $DPID
	check "daemon_config_reload_no_file: a reload with no $DEF says the defaults were taken" \
		within 10 grep -q "config reloaded from $DEF (not there: the defaults): 1 watched folder" \
		"$T/d4.log"
	# a reload and a stop read together: it stops, and does not reload
	kill -STOP $DPID
	kill -HUP $DPID
	kill -TERM $DPID
	kill -CONT $DPID
	wait $DPID
	check "daemon_config_stop_with_reload: a SIGHUP that comes with SIGTERM is not taken" \
		test "$(grep -c "config reloaded" "$T/d4.log")" = 1
else
	skip "daemon_config_reload_no_file: this machine has a $DEF"
fi

# 4. a reload that leaves no folder to watch (the config saved empty, or
# half written, when SIGHUP came) is valid, and says so: it is not passed
# over as "config reloaded" alone
# (its case, typed with the full-width digits of a Chinese input method,
# is not the store's case written in ASCII digits: that case is named)
"$EVCAP" --store "$T/s3" init >/dev/null &&
	"$EVCAP" --store "$T/s3" case open 'K检〔2024〕3号' >/dev/null
printf '[store]\ncase = %s\n[capture]\nsettle_seconds = 1\nwatch = %s\n[gps]\nserver =\n' \
	'K检〔２０２４〕３号' "$MEDIA" >"$T/w.conf"
env -u EVCAP_STORE "$EVCAPD" --foreground --config "$T/w.conf" --store "$T/s3" 2>"$T/d3.log" &
DPID=$!
on_exit "kill $DPID 2>/dev/null"
within 10 grep -q "evcapd starting: .*1 watched folder" "$T/d3.log" ||
	bad "daemon_config_reload_no_watch: evcapd did not start: $(tail -3 "$T/d3.log")"
check "daemon_config_case_width: a config's case in full width names the store's case" \
	within 10 grep -qF \
	"case 'K检〔２０２４〕３号' is not in this store (did you mean 'K检〔2024〕3号'?" "$T/d3.log"
# (and names another store, which --store overrides: nothing to say)
printf '[store]\npath = %s/elsewhere\n' "$T" >"$T/w.conf"
kill -HUP $DPID
check "daemon_config_reload_says_what_it_took" \
	within 10 grep -q "config reloaded from $T/w.conf: 0 watched folders, gpsd 127.0.0.1:2947" \
	"$T/d3.log"
check "daemon_config_reload_store_given: a config's store under --store is not a new store" \
	bash -c '! grep -q "a new store" "$1"' _ "$T/d3.log"
check "daemon_config_reload_no_watch: a reload that leaves no folder to watch warns" \
	within 10 grep -q "no folders to watch now" "$T/d3.log"
kill -TERM $DPID
wait $DPID

# the usage lines --help prints name every way to run evcapd,
# --check-config and --version among them
usage_has() { # FILE: its first paragraph names both
	sed '/^$/q' "$1" >"$1.usage"
	grep -q -- "--check-config" "$1.usage" && grep -q -- "--version" "$1.usage"
}
export -f usage_has
"$EVCAPD" --help >"$T/help.out" 2>"$T/help.err"
rc=$?
check "daemon_usage_lines: --help's usage names --check-config and --version, on stdout" \
	bash -c '[ "$1" = 0 ] && [ ! -s "$3" ] && usage_has "$2"' _ "$rc" "$T/help.out" "$T/help.err"
# a usage error is one line on stderr naming the problem and --help, exit
# 2, as evcap's are; not the whole usage
usage_error() { # WANT ARGS...: evcapd ARGS says WANT in one line, then --help
	local want=$1 out err rc
	shift
	out=$("$EVCAPD" "$@" 2>"$T/badopt.err"); rc=$?
	err=$(cat "$T/badopt.err")
	[ "$rc" = 2 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" = 1 ] &&
		[ "$err" = "evcapd: $want. Try 'evcapd --help'." ] ||
		{ echo "# evcapd $*: exit $rc, stdout '$out', stderr: $err"; return 1; }
}
check "daemon_usage_error: an unknown option is named, in one line" \
	usage_error "unknown option '--no-such-option'" --no-such-option
check "daemon_usage_error: an unknown short option is named" usage_error "unknown option '-x'" -x
check "daemon_usage_error: an option without its value says it needs one" \
	usage_error "--store needs a value" --foreground --store
check "daemon_usage_error: a value for an option that takes none is named" \
	usage_error "--foreground takes no value" --foreground=yes
check "daemon_usage_error: an argument is named, escaped" \
	usage_error "unexpected argument 'x\\x1B[2J'" --check-config $'x\e[2J'
check "daemon_usage_error: a bad --gps value is one line too" \
	usage_error "--gps must be HOST:PORT, not 'nohost'" --check-config --gps nohost

# 5. a relative store: --store and $EVCAP_STORE are taken against the
# folder evcapd is started from, as for any command; detached, evcapd
# leaves that folder for /, and every file was refused there ("blobs/tmp:
# No such file or directory") while the store stayed relative. A relative
# [store] path in a config file is refused, at start and by --check-config.
mkdir -p "$T/cwd" "$T/rel-in"
printf '[capture]\nsettle_seconds = 1\n[gps]\nserver =\n' >"$T/rel.conf"
(cd "$T/cwd" && "$EVCAPD" --check-config --config "$T/rel.conf" --store ./rel-store \
	--watch "$T/rel-in") >"$T/rel-c1.out" 2>&1
rc1=$?
(cd "$T/cwd" && EVCAP_STORE=env-store "$EVCAPD" --check-config --config "$T/rel.conf") \
	>"$T/rel-c2.out" 2>&1
rc2=$?
if [ $rc1 = 0 ] && grep -qF "(store $T/cwd/rel-store, 1 watched folder" "$T/rel-c1.out" &&
	[ $rc2 = 0 ] && grep -qF "(store $T/cwd/env-store, 0 watched folders" "$T/rel-c2.out"; then
	ok "daemon_check_config_relative_store: --store and \$EVCAP_STORE made absolute"
else
	bad "daemon_check_config_relative_store: exits $rc1 $rc2: $(cat "$T/rel-c1.out" "$T/rel-c2.out")"
fi
printf '[store]\npath = rel-store\n' >"$T/relpath.conf"
(cd "$T/cwd" && env -u EVCAP_STORE "$EVCAPD" --check-config --config "$T/relpath.conf") \
	>"$T/rel-c3.out" 2>&1
rc3=$?
(cd "$T/cwd" && env -u EVCAP_STORE timeout 10 "$EVCAPD" --foreground \
	--config "$T/relpath.conf" --gps "") >"$T/rel-c4.out" 2>&1
rc4=$?
want="evcapd: $T/relpath.conf: [store] path must be an absolute path, not 'rel-store'"
if [ $rc3 = 2 ] && [ "$(cat "$T/rel-c3.out")" = "$want" ] &&
	[ $rc4 = 2 ] && grep -qxF "$want" "$T/rel-c4.out" && [ ! -e "$T/cwd/rel-store" ]; then
	ok "daemon_config_relative_store_path_refused: at start and by --check-config"
else
	bad "daemon_config_relative_store_path_refused: exits $rc3 $rc4:" \
		"$(head -qn2 "$T/rel-c3.out" "$T/rel-c4.out")"
fi
# detached (no --foreground), with a relative --store, evcap reading the
# store meanwhile: evcapd forked after it had opened the store, so its
# SQLite connection held none of its locks, the first `evcap` took
# itself for the store's last user and removed the WAL, and every item
# recorded after that went into the removed file and was lost
(cd "$T/cwd" && env -u NOTIFY_SOCKET -u INVOCATION_ID "$EVCAPD" --config ../rel.conf \
	--store rel-store --watch "$T/rel-in" -v 2>"$T/rel.log")
rc=$?
RLOCK=$T/cwd/rel-store/evcapd.lock
on_exit "[ -s '$RLOCK' ] && kill \$(cat '$RLOCK') 2>/dev/null"
if [ $rc = 0 ] && within 10 grep -q "rescan (start)" "$T/rel.log" && within 10 test -s "$RLOCK"
then
	"$EVCAP" --store "$T/cwd/rel-store" ls >/dev/null
	head -c 5000 /dev/urandom >"$T/rel-in/rel.bin"
	RSHA=$(sha256sum "$T/rel-in/rel.bin" | cut -d' ' -f1)
	rel_recorded() {
		"$EVCAP" --store "$T/cwd/rel-store" --json ls | grep -q "\"sha256\": \"$RSHA\""
	}
	if within 15 rel_recorded; then
		ok "daemon_detached_records: a file is recorded in ./rel-store, evcap reading it meanwhile"
	else
		bad "daemon_detached_records: not recorded:" \
			"$("$EVCAP" --store "$T/cwd/rel-store" ls 2>&1 | head -3) $(tail -2 "$T/rel.log")"
	fi
	# its relative --config is read again on SIGHUP, from where it was
	kill -HUP "$(cat "$RLOCK")"
	if within 10 grep -q "config reloaded" "$T/rel.log"; then
		ok "daemon_detached_reload: a relative --config is reloaded on SIGHUP"
	else
		bad "daemon_detached_reload: $(grep -v DEBUG "$T/rel.log" | tail -2)"
	fi
	kill -TERM "$(cat "$RLOCK")"
	rel_gone() { ! kill -0 "$(cat "$RLOCK")" 2>/dev/null; }
	within 15 rel_gone || bad "daemon_detached_records: evcapd did not stop"
else
	bad "daemon_detached_records: evcapd did not start: exit $rc: $(tail -3 "$T/rel.log")"
fi
# a detached start that fails says why, and its status is the daemon's
: >"$T/afile"
env -u NOTIFY_SOCKET -u INVOCATION_ID "$EVCAPD" --config "$T/rel.conf" --store "$T/afile/x" \
	2>"$T/afile.err"
rc=$?
if [ $rc = 2 ] && grep -qxF "evcapd: $T/afile: exists and is not a directory" "$T/afile.err"; then
	ok "daemon_detached_start_fails: exit 2 with the reason"
else
	bad "daemon_detached_start_fails: exit $rc: $(cat "$T/afile.err")"
fi
