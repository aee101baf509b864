#!/bin/bash
# `evcap gps log` against a real gpsd: gpsfake replays the receiver logs of
# the corpus and the stored fixes are compared with what gpsd itself
# reported for them (gps-golden/*.chk); simulation and demo-mode logs must
# give nothing; and a gpsd killed and restarted mid-log costs only what was
# sent while it was down, the client reconnecting by itself.
. "$(dirname "$0")/../lib/common.sh"

if ! need gpsfake python3; then
	skip "gps_gpsfake: gpsfake (gpsd-clients) or python3 is not installed"
	exit 0
fi
if [ -z "$CORPUS" ] || [ ! -d "$CORPUS/gps" ] || [ ! -d "$CORPUS/gps-golden" ]; then
	skip "gps_gpsfake: the corpus (../shared/corpus/gps) is absent"
	exit 0
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# nmea_line BODY: the sentence with its checksum
nmea_line() {
	python3 -c 'import sys,functools; b=sys.argv[1]; print("$%s*%02X" % (b, functools.reduce(lambda a,c: a^ord(c), b, 0)))' "$1"
}
PAD=$(nmea_line "GPGSV,1,1,00")

# padded SRC DST: comments first, then 3 s of empty sky views so that the
# client is connected before the first fix, then the sentences
# 30 sentences (3 s) give a logger time to connect before the real ones
# come; under make check-valgrind every evcap start is far slower
PAD_LINES=30
[ -n "${EVCAP_VALGRIND:-}" ] && PAD_LINES=150
padded() {
	grep '^#' "$1" >"$2"
	for _ in $(seq "$PAD_LINES"); do echo "$PAD"; done >>"$2"
	grep -v '^#' "$1" >>"$2"
}

pids=()
stop_pid() { stop_gpsfake "$1"; }
kill_all() { local p; for p in "${pids[@]}"; do stop_pid "$p"; done; }
on_exit kill_all

# start_logger NAME PORT: a store of its own and `evcap gps log` on it
start_logger() {
	local name=$1 port=$2
	EVCAP_STORE=$T/store-$name "$EVCAP" -q init >/dev/null 2>&1 || return 1
	EVCAP_STORE=$T/store-$name "$EVCAP" -v gps log --server "127.0.0.1:$port" \
		>"$T/$name.out" 2>"$T/$name.err" &
	pids+=($!)
	echo $! >"$T/$name.pid"
}

stop_logger() { # stop_logger NAME: SIGTERM, then its exit status
	local pid
	pid=$(cat "$T/$1.pid")
	kill -TERM "$pid" 2>/dev/null
	(sleep 10; kill -9 "$pid" 2>/dev/null) &
	local dog=$!
	wait "$pid"
	local rc=$?
	kill "$dog" 2>/dev/null
	return $rc
}

# compare NAME GOLDEN: stored fixes against gpsd's own reports
compare() {
	EVCAP_STORE=$T/store-$1 "$EVCAP" track ls --json >"$T/$1.json" || return 1
	python3 - "$T/$1.json" "$2" "$1" "$3" <<'EOF'
import json, sys
# the receiver's own positions per time-of-day label, for logs whose clock
# repeats itself (gpsd's golden run reports only one pass of those)
logpos = {}
for line in open(sys.argv[4], errors='replace'):
    f = line.strip().split('*')[0].split(',')
    if len(f[0]) != 6 or f[0][3:] not in ('GGA', 'GLL', 'RMC'):
        continue
    try:
        if f[0][3:] == 'GLL':
            tod, la, lah, lo, loh = f[5], f[1], f[2], f[3], f[4]
        elif f[0][3:] == 'GGA':
            tod, la, lah, lo, loh = f[1], f[2], f[3], f[4], f[5]
        else:
            tod, la, lah, lo, loh = f[1], f[3], f[4], f[5], f[6]
        lat = int(float(la) / 100) + (float(la) % 100) / 60
        lon = int(float(lo) / 100) + (float(lo) % 100) / 60
    except (ValueError, IndexError):
        continue
    logpos.setdefault(tod[:6], []).append((-lat if lah == 'S' else lat, -lon if loh == 'W' else lon))
stored = json.load(open(sys.argv[1]))
golden = {}
for line in open(sys.argv[2]):
    if not line.startswith('{'):
        continue
    j = json.loads(line)
    if j.get('class') == 'TPV' and j.get('mode', 0) >= 2 and 'time' in j and 'lat' in j:
        golden.setdefault(j['time'].replace('.000Z', 'Z'), []).append((j['lat'], j['lon']))
have = {}
for f in stored:
    have[f['time'].replace('.000Z', 'Z')] = (f['lat'], f['lon'])
ok = True
missing = sorted(set(golden) - set(have))
if missing:
    print('# %s: %d of gpsd\'s %d times not stored, first %s' % (sys.argv[3], len(missing), len(golden), missing[0]))
    ok = False
for t, (lat, lon) in have.items():
    near = lambda c: any(abs(lat - a) <= 1e-6 and abs(lon - b) <= 1e-6 for a, b in c)
    if t in golden and not near(golden[t]):
        tod = t[11:13] + t[14:16] + t[17:19]
        if len(logpos.get(tod, [])) > 1 and near(logpos[tod]):
            print('# %s: %s: the log has this time twice; stored the pass gpsd golden left out' % (sys.argv[3], t))
            continue
        print('# %s: %s stored %.9f %.9f, gpsd said %s' % (sys.argv[3], t, lat, lon, golden[t]))
        ok = False
extra = sorted(set(have) - set(golden))
print('# %s: %d distinct times stored, gpsd golden has %d%s' % (sys.argv[3], len(have), len(golden),
      (' (extra, from single-sentence epochs the golden run merged: %s)' % ', '.join(extra[:6])) if extra else ''))
sys.exit(0 if ok else 1)
EOF
}

# gpsfake plays a log once (-1), a sentence every 0.1 s. Once the log is
# played it spins on a CPU for as long as a client stays connected, until
# its -W timeout, when it stops its gpsd and exits (status 1, "Test timed
# out"): a second is time enough for gpsd to pass the last sentence on.
ONCE="-1 -W 1 -q -n -c 0.1"
# played PID LOG: waits for that gpsfake to finish LOG and exit, stopping
# it if it is still there well past its time (false then)
played() {
	local deadline=$((SECONDS + $(grep -vc '^#' "$2") / 10 + 30)) st
	while st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st:0:1}" != Z ]; do
		[ "$SECONDS" -ge "$deadline" ] && { stop_pid "$1"; return 1; }
		sleep 0.2
	done
	stop_pid "$1" # its gpsd, should it have outlived it
	return 0
}

# ---- 1. every log once, in parallel ----
# each gpsd is started and seen to hold its device first (start_gpsfake),
# then its logger, which connects at once, well within the 3 s of padding
logs="beidou-bd beidou-gb bu353s4 humminbird-M37 sirfstarv-nmea GPSmap-76S garmin-geko201"
declare -A port gf
for name in $logs; do
	padded "$CORPUS/gps/$name.log" "$T/$name.log"
	port[$name]=$(free_port)
	start_gpsfake "${port[$name]}" "$T/$name.gpsfake" $ONCE "$T/$name.log" ||
		echo "# $name: gpsfake's gpsd never listed the device"
	gf[$name]=$GPSFAKE_PID
	pids+=($GPSFAKE_PID)
	start_logger "$name" "${port[$name]}" || bad "gps_log_$name: evcap init failed"
done
for name in $logs; do
	played "${gf[$name]}" "$T/$name.log" || echo "# $name: gpsfake still running past its time; stopped"
done
sleep 2 # a held fix is handed over 1.5 s after its epoch
for name in $logs; do
	stop_logger "$name"
	status=$?
	check "gps_log_${name}_stops_cleanly" test "$status" -eq 0
	[ "$status" -eq 0 ] || sed 's/^/# /' "$T/$name.err" | tail -5
done
for name in beidou-bd beidou-gb bu353s4 humminbird-M37 sirfstarv-nmea; do
	if compare "$name" "$CORPUS/gps-golden/$name.log.chk" "$CORPUS/gps/$name.log"; then
		ok "gps_log_${name}_matches_gpsd"
	else
		bad "gps_log_${name}_matches_gpsd: stored fixes differ from gpsd's TPV reports"
	fi
done
for name in GPSmap-76S garmin-geko201; do
	n=$(EVCAP_STORE=$T/store-$name "$EVCAP" track ls | wc -l)
	if [ "$n" -eq 0 ] && grep -qE ' [1-9][0-9]* simulated' "$T/$name.err"; then
		ok "gps_log_${name}_simulation_not_trusted"
	else
		bad "gps_log_${name}_simulation_not_trusted: $n fixes stored"
		sed 's/^/# /' "$T/$name.err" | tail -8
	fi
done

# ---- 2. gpsd killed mid-log and restarted ----
name=restart
src=$CORPUS/gps/bu353s4.log
# split before the 13th epoch (a GGA opens each epoch in this log)
cut_at=$(grep -n '^\$GPGGA' "$src" | sed -n 13p | cut -d: -f1)
head -n $((cut_at - 1)) "$src" >"$T/partA.log"
{ grep '^#' "$src"; for _ in $(seq 60); do echo "$PAD"; done; tail -n +"$cut_at" "$src"; } >"$T/partB.log"
p=$(free_port)
padded "$T/partA.log" "$T/partA-padded.log"
start_gpsfake "$p" /dev/null $ONCE "$T/partA-padded.log" ||
	echo "# restart: gpsfake's gpsd never listed the device"
g1=$GPSFAKE_PID
pids+=($g1)
start_logger "$name" "$p"
played $g1 "$T/partA-padded.log" || echo "# restart: the first gpsfake still running past its time; stopped"
sleep 1.5 # gpsd is down
n_down=$(EVCAP_STORE=$T/store-$name "$EVCAP" track ls | wc -l)
start_gpsfake "$p" /dev/null $ONCE "$T/partB.log" ||
	echo "# restart: the second gpsfake's gpsd never listed the device"
g2=$GPSFAKE_PID
pids+=($g2)
played $g2 "$T/partB.log" || echo "# restart: the second gpsfake still running past its time; stopped"
sleep 2
alive=0
kill -0 "$(cat "$T/$name.pid")" 2>/dev/null && alive=1
stop_logger "$name"
status=$?
check "gps_log_survives_gpsd_restart" test "$alive" -eq 1 -a "$status" -eq 0
if grep -q 'connection was lost' "$T/$name.err" && [ "$(grep -c '^evcap gps log: connected' "$T/$name.err")" -ge 2 ]; then
	ok "gps_log_reconnects"
else
	bad "gps_log_reconnects: no drop and second connection in the log"
	sed 's/^/# /' "$T/$name.err" | tail -8
fi
n_all=$(EVCAP_STORE=$T/store-$name "$EVCAP" track ls | wc -l)
echo "# restart: $n_down fixes before the restart, $n_all after"
if [ "$n_down" -gt 0 ] && [ "$n_all" -gt "$n_down" ] && compare "$name" "$CORPUS/gps-golden/bu353s4.log.chk" "$src"; then
	ok "gps_log_restart_loses_nothing_sent_while_up"
else
	bad "gps_log_restart_loses_nothing_sent_while_up: fixes missing after the restart"
fi
