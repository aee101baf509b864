#!/bin/bash
# `evcap gps log` while another writer holds the store past SQLite's busy
# timeout (10 s): the refused commit keeps the fixes, is tried again a
# second later rather than at every fix, and once the store is free every
# fix gpsd sent is stored; the logger says so and exits 0. (It used to
# give up at the first refused commit.) gpsd is real, through gpsfake, on
# a generated log.
. "$(dirname "$0")/../lib/common.sh"

if ! need gpsfake python3 sqlite3; then
	skip "gps_store_busy: gpsfake (gpsd-clients), python3 or sqlite3 is not installed"
	exit 0
fi
E() { "$EVCAP" "$@"; }
E -q init >/dev/null 2>&1 || { bad "gps_store_busy: cannot make the store"; exit 1; }
DB=$EVCAP_STORE/evidence.db
N=40

# 3 s of empty sky so the logger is connected first, then N epochs of
# GGA and RMC, one second apart
python3 - "$T/log.nmea" "$N" <<'EOF'
import sys, functools
def line(b):
    return "$%s*%02X\r\n" % (b, functools.reduce(lambda a, c: a ^ ord(c), b, 0))
out = open(sys.argv[1], "w", newline="")
for _ in range(30):
    out.write(line("GPGSV,1,1,00"))
for i in range(int(sys.argv[2])):
    t = "1000%02d.00" % i
    lat = "4718.%04d" % (1000 + i)
    out.write(line("GPGGA,%s,%s,N,12354.0000,E,1,09,0.9,140.0,M,-10.0,M,," % (t, lat)))
    out.write(line("GPRMC,%s,A,%s,N,12354.0000,E,0.5,90.0,020526,,,A" % (t, lat)))
EOF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

gf= logger=
on_exit '[ -n "$gf" ] && stop_gpsfake "$gf"; [ -n "$logger" ] && kill -9 "$logger" 2>/dev/null'

"$EVCAP" -v gps log --server "127.0.0.1:$port" >"$T/log.out" 2>"$T/log.err" &
logger=$!
sleep 0.3
start_gpsfake "$port" "$T/gpsfake.out" -1 -W 1 -q -n -c 0.1 "$T/log.nmea" ||
	{ bad "gps_store_busy: gpsfake's gpsd never listed the device: $(tail -3 "$T/gpsfake.out")"; exit 1; }
gf=$GPSFAKE_PID

# another writer takes the store and keeps it until a commit is refused
hold_store || { bad "gps_store_busy: the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }
fixes_seen() { grep -q "evcap gps log: $1 fixes, last" "$T/log.err"; }
# the first commit is due a second after the first fix, about 3 s in,
# and waits out the busy timeout
refused_once() {
	grep -q "storing fixes: .*the store is busy: .*; [0-9]* fix\(es\)\? held, tried again in 1 s" "$T/log.err"
}
check "gps_store_busy: a refused commit is reported, with the fixes held" within 30 refused_once
check "gps_store_busy: the logger is still running" kill -0 "$logger"
release_store
check "gps_store_busy: every fix gpsd sent is read" within 20 fixes_seen "$N"
stored() { [ "$(sqlite3 "$DB" "SELECT count(*) FROM fixes")" -eq "$N" ]; }
check "gps_store_busy: and stored once the store is free, before the logger stops" within 10 stored
stop_gpsfake "$gf"
gf=
kill -TERM "$logger"
wait "$logger"
rc=$?
logger=
check "gps_store_busy: the logger stops cleanly (exit 0)" [ "$rc" -eq 0 ]
check "gps_store_busy: its summary counts every fix as new" \
	grep -q "stopped; $N fixes ($N new)" "$T/log.err"
refused=$(grep -c "storing fixes: " "$T/log.err")
# the store was let go at the first refusal; the retry a second later
# commits: one refusal (two if the retry came first), not one a fix
check "gps_store_busy: refused commits are retried a second apart, not at every fix ($refused)" \
	[ "$refused" -ge 1 -a "$refused" -le 2 ]
first=$(sqlite3 "$DB" "SELECT printf('%.5f', lat) FROM fixes ORDER BY t LIMIT 1")
check "gps_store_busy: the fixes are gpsd's ($first)" [ "$first" = "47.30167" ]

# a logger stopped while the store is held cannot record its session's
# custody event: it says so and exits 1 (it used to say nothing and exit 0)
events() { sqlite3 "$DB" "SELECT count(*) FROM custody WHERE action = 'gps-log'"; }
before=$(events)
"$EVCAP" gps log --server "127.0.0.1:$port" >"$T/log2.out" 2>"$T/log2.err" &
logger=$!
check "gps_store_busy: a second logger starts" within 10 grep -q "logging fixes from" "$T/log2.err"
hold_store || { bad "gps_store_busy: the other writer could not take the store: $(cat "$T/hold.out")"; exit 1; }
kill -TERM "$logger"
wait "$logger"
rc=$?
logger=
release_store
check "gps_store_busy: a session it could not record is said, and exits 1 ($rc)" \
	bash -c '[ "$1" = 1 ] && grep -q "could not record the session in the custody log: .*busy" "$2"' \
	_ "$rc" "$T/log2.err"
check "gps_store_busy: and no gps-log event was written" [ "$(events)" = "$before" ]
