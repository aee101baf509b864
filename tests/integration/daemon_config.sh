#!/bin/bash
# evcapd and its config file: a [gps] server that is not HOST:PORT is a
# config error naming file:line, at start (exit 2) and on SIGHUP (the
# old settings kept, "config not reloaded"), as any other bad value is.
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

# 2. on SIGHUP: not reloaded, the old gpsd kept, still running
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
kill -TERM $DPID
wait $DPID
