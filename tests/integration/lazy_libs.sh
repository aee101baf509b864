#!/bin/bash
# lazy_libs: libcurl and libxml2 are opened only by the commands that use
# them (common/dynlib.h). A command that needs none of them starts
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
libs=$(loaded ls)
check "evcap ls loads no libcurl" bash -c '! grep -q "^libcurl" <<<"$1"' _ "$libs"

libs=$(loaded track import --no-geotag "$T/day.gpx")
check "track import of a GPX file loads libxml2" grep -q "^libxml2" <<<"$libs"
check "... and stored its 2 fixes" test "$("$EVCAP" --json track ls | jq length)" = 2

# A library that cannot be loaded: a file of that name that is not a
# library, found first through LD_LIBRARY_PATH.
mkdir -p "$T/badlib"
echo "not a library" >"$T/badlib/libcurl.so.4"
echo "not a library" >"$T/badlib/libxml2.so.2"
out=$(LD_LIBRARY_PATH=$T/badlib AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$EVCAP" sync --target s3://evidence/field1 --endpoint http://127.0.0.1:9 2>&1); rc=$?
check "sync without a loadable libcurl: non-zero exit" test $rc != 0
check "... names libcurl and what it is needed for" grep -q "cannot load libcurl.so.4, needed to sync" <<<"$out"
check "... and says why" grep -qi "header\|too short\|invalid\|not an ELF" <<<"$out"
out=$(LD_LIBRARY_PATH=$T/badlib "$EVCAP" track import --no-geotag "$T/day.gpx" 2>&1); rc=$?
check "GPX import without a loadable libxml2: non-zero exit" test $rc != 0
check "... names libxml2 and what it is needed for" grep -q "cannot load libxml2.so.2, needed to read GPX tracks" <<<"$out"
check "... and names the file" grep -q "day.gpx: cannot load libxml2.so.2" <<<"$out"
check "the other commands still work: ls" env LD_LIBRARY_PATH="$T/badlib" "$EVCAP" ls
check "... verify" env LD_LIBRARY_PATH="$T/badlib" "$EVCAP" verify
check "nothing was stored twice or lost" test "$("$EVCAP" --json track ls | jq length)" = 2

