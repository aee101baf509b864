#!/bin/bash
# lazy_libs: libcurl, libxml2, libgps and libsystemd are opened only by
# the commands that use them (common/dynlib.h). A command that needs none of them starts
# without them; one that does loads its library then; and when a library
# cannot be loaded, the command that needed it says which library, what
# for and why, and every other command keeps working.
. "$(dirname "$0")/../lib/common.sh"

# what the dynamic loader opens, as LD_DEBUG=libs reports it (not through
# valgrind, whose own loading would be reported instead)
loaded() { LD_DEBUG=libs "$EVCAP_BIN" "$@" 2>&1 >/dev/null | grep -o 'calling init: [^ ]*' | sed 's|.*/||'; }

"$EVCAP" init >/dev/null 2>&1 && "$EVCAP" case open 'XX检公益立〔2023〕16号' --use >/dev/null 2>&1
cat >"$T/day.gpx" <<'GPX'
<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
<trkpt lat="30.5" lon="114.3"><time>2023-05-01T02:00:00Z</time></trkpt>
<trkpt lat="30.6" lon="114.4"><time>2023-05-01T02:00:01Z</time></trkpt>
</trkseg></trk></gpx>
GPX

libs=$(loaded --version)
check "evcap --version runs" test -n "$("$EVCAP_BIN" --version)"
check "a command that needs none of them loads no libcurl" bash -c '! grep -q "^libcurl" <<<"$1"' _ "$libs"
check "... no libxml2" bash -c '! grep -q "^libxml2" <<<"$1"' _ "$libs"
# (libstdc++, which libgps brings, comes with ASan's runtime too)
check "... no libgps (nor the libdbus it brings)" \
	bash -c '! grep -q "^libgps\|^libdbus" <<<"$1"' _ "$libs"
check "... no libsystemd (nor the libgcrypt it brings)" \
	bash -c '! grep -q "^libsystemd\|^libgcrypt" <<<"$1"' _ "$libs"
libs=$(loaded ls)
check "evcap ls loads no libcurl" bash -c '! grep -q "^libcurl" <<<"$1"' _ "$libs"

libs=$(loaded track import --no-geotag "$T/day.gpx")
check "track import of a GPX file loads libxml2" grep -q "^libxml2" <<<"$libs"
check "... and stored its 2 fixes" test "$("$EVCAP" --json track ls | jq length)" = 2

# gps log opens libgps before it connects (nothing listens on port 9;
# it is stopped after a second)
libs=$(LD_DEBUG=libs timeout -s TERM 1 "$EVCAP_BIN" gps log --server 127.0.0.1:9 2>&1 >/dev/null |
	grep -o 'calling init: [^ ]*' | sed 's|.*/||')
check "gps log loads libgps" grep -q "^libgps" <<<"$libs"

# evcapd opens libsystemd only when systemd started it (NOTIFY_SOCKET), and
# then says it is ready and what it watches
if [ -n "$EVCAPD" ] && [ -x "$EVCAPD" ] && need python3; then
	mkdir -p "$T/watched"
	python3 - "$T/notify.sock" >"$T/notify.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.monotonic() + 60
got = ""
while time.monotonic() < end and not ("READY=1" in got and "STATUS=watching" in got):
    try:
        got += s.recv(4096).decode() + "\n"
    except socket.timeout:
        pass
print(got, flush=True)
PY
	listener=$!
	for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
	LD_DEBUG=libs NOTIFY_SOCKET=$T/notify.sock "$EVCAPD" --foreground --store "$EVCAP_STORE" \
		--watch "$T/watched" --gps "" 2>"$T/d1.err" &
	d1=$!
	wait "$listener"
	kill -TERM "$d1" 2>/dev/null
	wait "$d1"
	check "evcapd under systemd loads libsystemd" grep -q "calling init: .*/libsystemd" "$T/d1.err"
	check "... and tells systemd it is ready" grep -q "^READY=1" "$T/notify.out"
	check "... and what it watches" grep -q "^STATUS=watching 1 folder" "$T/notify.out"
	LD_DEBUG=libs "$EVCAPD" --foreground --store "$EVCAP_STORE" --watch "$T/watched" --gps "" \
		2>"$T/d2.err" &
	d2=$!
	for _ in $(seq 100); do grep -q "evcapd starting" "$T/d2.err" && break; sleep 0.1; done
	kill -TERM "$d2" 2>/dev/null
	wait "$d2"
	check "evcapd started by hand runs" grep -q "evcapd starting" "$T/d2.err"
	check "... without loading libsystemd" bash -c '! grep -q "calling init: .*/libsystemd" "$1"' _ "$T/d2.err"
fi

# A library that cannot be loaded: a file of that name that is not a
# library, found first through LD_LIBRARY_PATH.
mkdir -p "$T/badlib"
echo "not a library" >"$T/badlib/libcurl.so.4"
echo "not a library" >"$T/badlib/libxml2.so.2"
echo "not a library" >"$T/badlib/libgps.so.28"
out=$(LD_LIBRARY_PATH=$T/badlib AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$EVCAP" sync --target s3://evidence/field1 --endpoint http://127.0.0.1:9 2>&1); rc=$?
check "sync without a loadable libcurl: non-zero exit" test $rc != 0
check "... names libcurl and what it is needed for" grep -q "cannot load libcurl.so.4, needed to sync" <<<"$out"
check "... and says why" grep -qi "header\|too short\|invalid\|not an ELF" <<<"$out"
out=$(LD_LIBRARY_PATH=$T/badlib "$EVCAP" track import --no-geotag "$T/day.gpx" 2>&1); rc=$?
check "GPX import without a loadable libxml2: non-zero exit" test $rc != 0
check "... names libxml2 and what it is needed for" grep -q "cannot load libxml2.so.2, needed to read GPX tracks" <<<"$out"
check "... and names the file" grep -q "day.gpx: cannot load libxml2.so.2" <<<"$out"
out=$(LD_LIBRARY_PATH=$T/badlib timeout 20 "$EVCAP" gps log --server 127.0.0.1:9 2>&1); rc=$?
check "gps log without a loadable libgps: exits at once, non-zero" test $rc != 0 -a $rc != 124
check "... names libgps and what it is needed for" \
	grep -q "cannot load libgps.so.28, needed to read fixes from gpsd" <<<"$out"
check "the other commands still work: ls" env LD_LIBRARY_PATH="$T/badlib" "$EVCAP" ls
check "... verify" env LD_LIBRARY_PATH="$T/badlib" "$EVCAP" verify
check "nothing was stored twice or lost" test "$("$EVCAP" --json track ls | jq length)" = 2

