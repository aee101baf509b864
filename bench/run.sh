#!/bin/bash
# bench/run.sh: times evcap side by side with what a user would otherwise run
# (cp, sync, sha256sum, exiftool, curl), on the same generated data in the
# same run, several rounds each, and prints medians, ratios and the targets
# of docs/performance.md. Run it through `make bench`; it never runs in
# `make check`, and nothing here asserts a time.
#
# Environment: BUILD (build), BENCH_ROUNDS (5), BENCH_DIR (data and scratch,
# default $TMPDIR/evcap-bench; the generated data is kept there and reused),
# BENCH_ONLY (a subset: "ingest geotag export sync rss daemon probe hash
# store"), BENCH_CARD_FILES (250), BENCH_CARD_KB (2048), BENCH_SYNC_FILES
# (100), BENCH_IDLE_SECONDS (20), BENCH_PROBE_BURST (5000),
# BENCH_STORE_ITEMS (20000).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
EVCAP=$ROOT/$BUILD/evcap
EVCAPD=$ROOT/$BUILD/evcapd
GEN=$ROOT/$BUILD/bench/gen
ROUNDS=${BENCH_ROUNDS:-5}
W=${BENCH_DIR:-${TMPDIR:-/tmp}/evcap-bench}
ONLY=${BENCH_ONLY:-ingest geotag export sync rss daemon probe hash store}
CARD_N=${BENCH_CARD_FILES:-250}
CARD_KB=${BENCH_CARD_KB:-2048}
NOGPS_N=120
VIDEO_MB=1024
SYNC_N=${BENCH_SYNC_FILES:-100}
STORE_N=${BENCH_STORE_ITEMS:-20000}
IDLE_S=${BENCH_IDLE_SECONDS:-20}
CASE=BENCH-2023-15
RES=$W/results.tsv   # test, tool, round, seconds (or a value)
NOTES=$W/notes.txt   # what was skipped and why, warm or cold, counts

say() { echo "bench: $*" >&2; }
note() { echo "$*" >>"$NOTES"; say "$*"; }
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
have() { command -v "$1" >/dev/null 2>&1; }
now() { date +%s.%N; }

# Dropping the page cache makes a run start cold, as from a freshly inserted
# card. Only root may; others get warm runs, and the table says which.
COLD=0
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/drop_caches ]; then COLD=1; fi
cold() {
	sync
	[ $COLD = 1 ] && echo 3 >/proc/sys/vm/drop_caches
	return 0
}

# Warm runs start with no writes pending: a tool that leaves its output
# dirty in the page cache (cp, exiftool) would otherwise have its
# writeback land in the next tool's timed run, and a tool that fsyncs
# (evcap) would wait behind it. Not timed; the page cache stays warm.
settle() { sync; }

# timed TEST TOOL ROUND CMD...: runs CMD with its output in $W/log, records
# the wall time; a failing command is recorded as failed, not timed.
timed() {
	local test=$1 tool=$2 round=$3 t0 t1 rc
	shift 3
	t0=$(now)
	"$@" >>"$W/log" 2>&1
	rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		note "$test/$tool round $round: failed (exit $rc): $*"
		printf '%s\t%s\t%s\tfail\n' "$test" "$tool" "$round" >>"$RES"
		return 1
	fi
	printf '%s\t%s\t%s\t%.3f\n' "$test" "$tool" "$round" "$(echo "$t1 - $t0" | bc -l)" >>"$RES"
}
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RES"; }

# The generator, built here so `make bench` needs no rule of its own.
build_gen() {
	mkdir -p "$(dirname "$GEN")"
	[ "$GEN" -nt bench/gen.c ] && [ "$GEN" -nt scripts/synth-mp4.h ] && return 0
	local werr=
	[ -n "${WERROR:-}" ] && werr=-Werror
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
		-Wmissing-prototypes -Wvla -Wno-format-nonliteral $werr \
		$(pkg-config --cflags libexif libjpeg) -o "$GEN" bench/gen.c \
		$(pkg-config --libs libexif libjpeg) -lm
}

# The SHA-256 micro-benchmark: export's two digests of a photo and its
# copy, one interleaved pass (sha256_two) against two OpenSSL digests.
bench_hash() {
	local bin=$ROOT/$BUILD/bench/sha256two out
	mkdir -p "$(dirname "$bin")"
	if ! [ "$bin" -nt bench/sha256two.c ] || ! [ "$bin" -nt common/sha256two.c ]; then
		cc -std=c11 -D_GNU_SOURCE -O2 -Icommon -o "$bin" bench/sha256two.c common/sha256two.c \
			$(pkg-config --libs libcrypto) -lpthread ||
			{ note "hash: cannot build bench/sha256two.c; skipped"; return; }
	fi
	out=$("$bin" 21) || { note "hash: the micro-benchmark failed: $out"; return; }
	echo "$out" >>"$W/log"
	record hash "EVP x2 MB/s" 1 "$(echo "$out" | awk '/^EVP x2/ {print $3}')"
	record hash "sha256_two MB/s" 1 "$(echo "$out" | awk '/^sha256_two/ {print $2}')"
	note "hash: $(echo "$out" | awk '/^sha256_two/ {print $4, $5}') two 2 MiB messages differing in their first 40 KB; MB/s of message bytes, median of 21 rounds"
}

# The data is made once and kept: a stamp of the generator's source and the
# sizes says whether what is on disk is what these numbers are about.
make_data() {
	local stamp corpus=${EVCAP_CORPUS:-}
	[ -z "$corpus" ] && [ -d "$ROOT/../shared/corpus/photos" ] && corpus=$ROOT/../shared/corpus
	stamp="$(cat bench/gen.c scripts/synth-mp4.h | sha256sum | cut -c1-16) $CARD_N $CARD_KB $NOGPS_N $VIDEO_MB ${corpus:+corpus}"
	if [ "$(cat "$W/data/stamp" 2>/dev/null)" = "$stamp" ]; then
		say "reusing the data in $W/data"
		return 0
	fi
	say "generating data in $W/data (once; about a minute)"
	rm -rf "$W/data"
	mkdir -p "$W/data"
	# two generators at once: the machine has two cores
	"$GEN" card "$W/data/card" "$CARD_N" "$CARD_KB" &
	local p1=$!
	mkdir -p "$W/data/video"
	"$GEN" nogps "$W/data/nogps" "$NOGPS_N" "$CARD_KB" &&
		"$GEN" video "$W/data/video/DJI_0001.MP4" "$VIDEO_MB" &&
		"$GEN" gpx "$W/data/day.gpx" || return 1
	wait $p1 || return 1
	# real camera files among the generated ones, when the corpus is here:
	# their MakerNotes are what the parser isolation is for
	if [ -n "$corpus" ]; then
		mkdir -p "$W/data/card/DCIM/102PHONE"
		cp "$corpus"/photos/*.jpg "$W/data/card/DCIM/102PHONE/" 2>/dev/null
	fi
	echo "$stamp" >"$W/data/stamp"
}

# A fresh store with the bench case in use: STORE=DIR newstore
newstore() {
	rm -rf "$1"
	"$EVCAP" --store "$1" init >/dev/null 2>&1 &&
		"$EVCAP" --store "$1" case open "$CASE" --use >/dev/null 2>&1
}

bench_ingest() {
	local card=$W/data/card out=$W/out r
	for r in $(seq "$ROUNDS"); do
		rm -rf "$out"; mkdir -p "$out"; cold
		timed ingest "cp -r + sync" "$r" sh -c "cp -r '$card' '$out/cp' && sync"
		rm -rf "$out"; mkdir -p "$out"
		newstore "$out/store"; cold
		timed ingest "evcap ingest" "$r" "$EVCAP" --store "$out/store" -q ingest "$card"
		rm -rf "$out"; mkdir -p "$out"; cold
		timed ingest "cp -r + sha256sum" "$r" sh -c \
			"cp -r '$card' '$out/cp' && cd '$out/cp' && find . -type f -print0 | xargs -0 sha256sum >'$out/SHA256SUMS'"
	done
	rm -rf "$out"
	note "ingest: $(find "$card" -type f | wc -l) files, $(du -sm "$card" | cut -f1) MB; $([ $COLD = 1 ] && echo 'page cache dropped before every run (cold)' || echo 'not root: warm runs')"
}

bench_geotag() {
	local photos=$W/data/nogps gpx=$W/data/day.gpx out=$W/out r
	if ! have exiftool; then note "geotag: exiftool is not installed; skipped"; return; fi
	for r in $(seq "$ROUNDS"); do
		rm -rf "$out"; mkdir -p "$out"
		newstore "$out/store"
		"$EVCAP" --store "$out/store" -q ingest --no-geotag "$photos" >/dev/null 2>&1
		settle
		timed geotag "evcap track import + geotag" "$r" sh -c \
			"'$EVCAP' --store '$out/store' -q track import --no-geotag '$gpx' && '$EVCAP' --store '$out/store' -q geotag"
		cp -r "$photos" "$out/exif"
		settle
		timed geotag "exiftool -geotag" "$r" exiftool -q -q -overwrite_original -geotag "$gpx" \
			'-geotime<${DateTimeOriginal}+08:00' -r "$out/exif"
	done
	local placed tagged
	placed=$("$EVCAP" --store "$out/store" --json ls | jq '[.[] | select(.location_source == "track")] | length')
	tagged=$(exiftool -q -q -r -if '$GPSLatitude' -p '$FileName' "$out/exif" | wc -l)
	note "geotag: $NOGPS_N photos, 86400 fixes; evcap placed $placed, exiftool tagged $tagged (warm: data in the page cache)"
	# the export benchmark uses this store: its photos are now placed
	rm -rf "$W/geotagged"; mv "$out/store" "$W/geotagged"
	rm -rf "$out"
}

bench_export() {
	local photos=$W/data/nogps out=$W/out r store=$W/geotagged
	if ! have exiftool; then note "export: exiftool is not installed; skipped"; return; fi
	if ! "$EVCAP" export --help 2>&1 | grep -q 'jpeg'; then
		note "export: 'evcap export --format jpeg' is not in this build; skipped"; return
	fi
	[ -d "$store" ] || { note "export: needs the geotag benchmark's store; skipped"; return; }
	"$GEN" tags "$W/tags.csv" "$out/exif/DCIM/101CANON" "$NOGPS_N"
	for r in $(seq "$ROUNDS"); do
		rm -rf "$out"; mkdir -p "$out"; settle
		timed export "evcap export --format jpeg" "$r" "$EVCAP" --store "$store" -q export \
			--case "$CASE" --format jpeg --out "$out/wc"
		settle
		timed export "cp + exiftool (same tags)" "$r" sh -c \
			"cp -r '$photos' '$out/exif' && exiftool -q -q -overwrite_original -csv='$W/tags.csv' -r '$out/exif'"
		# the same, with its copies on the disk when it ends, as evcap's are
		rm -rf "$out/exif"; settle
		timed export "cp + exiftool + sync" "$r" sh -c \
			"cp -r '$photos' '$out/exif' && exiftool -q -q -overwrite_original -csv='$W/tags.csv' -r '$out/exif' && sync"
		# the floor: the same bytes put on the disk, with no tagging,
		# hashing or recording
		rm -rf "$out/floor"; settle
		timed export "cp -r + sync (the bytes alone)" "$r" sh -c "cp -r '$photos' '$out/floor' && sync"
	done
	note "export: $(find "$out/wc" -name '*.JPG' -o -name '*.jpg' | wc -l) working copies by evcap, $(exiftool -q -q -r -if '$GPSLatitude' -p '$FileName' "$out/exif" | wc -l) by exiftool (warm)"
	rm -rf "$out"
}

bench_sync() {
	local out=$W/out rgw=$W/rgw r files
	if ! have radosgw || ! have ceph-mon || [ ! -x tests/lib/ceph-rgw.sh ]; then
		note "sync: Ceph RGW (radosgw, ceph-mon, tests/lib/ceph-rgw.sh) is not available; skipped"; return
	fi
	if ! "$EVCAP" sync --help >/dev/null 2>&1; then note "sync: 'evcap sync' is not in this build; skipped"; return; fi
	rm -rf "$out" "$rgw"; mkdir -p "$out/card"
	# memstore keeps objects in RAM: room for every round of both tools
	RGW_STORE_BYTES=$(( (SYNC_N * CARD_KB * 1024 * 2 * ROUNDS) + (512 << 20) )) \
		tests/lib/ceph-rgw.sh start "$rgw" >"$W/rgw.log" 2>&1 ||
		{ note "sync: Ceph RGW did not start ($(tail -1 "$W/rgw.log")); skipped"; return; }
	# shellcheck disable=SC1091
	. "$rgw/env"
	files=$(find "$W/data/card/DCIM/100MEDIA" -type f | sort | head -n "$SYNC_N")
	for f in $files; do ln "$f" "$out/card/" 2>/dev/null || cp "$f" "$out/card/"; done
	newstore "$out/store"
	"$EVCAP" --store "$out/store" -q ingest --no-geotag "$out/card" >/dev/null 2>&1
	local bytes
	bytes=$(du -cb "$out"/card/* | tail -1 | cut -f1)
	# curl's side: one process, one connection reused (--next), each PUT
	# signed with SigV4 and carrying its body's SHA-256, computed beforehand
	# as evcap's store already has it
	for r in $(seq "$ROUNDS"); do
		local cfg=$out/curl-$r.cfg
		: >"$cfg"
		curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
			-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
			-X PUT "$S3_ENDPOINT/curl$r" >>"$W/log" 2>&1
		for f in "$out"/card/*; do
			local h
			h=$(sha256sum "$f" | cut -d' ' -f1)
			[ -s "$cfg" ] && echo "next" >>"$cfg"
			cat >>"$cfg" <<CFG
aws-sigv4 = "aws:amz:us-east-1:s3"
user = "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
header = "x-amz-content-sha256: $h"
upload-file = "$f"
url = "$S3_ENDPOINT/curl$r/blobs/sha256/${h:0:2}/${h:2:2}/$h"
output = "/dev/null"
silent
show-error
fail
CFG
		done
	done
	for r in $(seq "$ROUNDS"); do
		timed sync "evcap sync" "$r" "$EVCAP" --store "$out/store" -q sync --target "s3://evcap$r/field" \
			--endpoint "$S3_ENDPOINT" --create-bucket --no-progress
		timed sync "curl -T (SigV4, one connection)" "$r" curl -K "$out/curl-$r.cfg"
	done
	record sync bytes 0 "$bytes"
	note "sync: $SYNC_N photos, $((bytes / 1000000)) MB, to radosgw on loopback (memstore); curl's hashes computed before timing"
	tests/lib/ceph-rgw.sh stop "$rgw" >/dev/null 2>&1
	rm -rf "$out" "$rgw"
}

# Peak RSS of one ingest of a 1 GB video, and its time against cp + sync.
bench_rss() {
	local out=$W/out rss t0 t1
	if [ ! -x /usr/bin/time ]; then note "rss: /usr/bin/time is not installed (package time); skipped"; return; fi
	rm -rf "$out"; mkdir -p "$out"
	newstore "$out/store"; cold
	t0=$(now)
	/usr/bin/time -v "$EVCAP" --store "$out/store" -q ingest "$W/data/video" >"$W/time-v.txt" 2>&1 ||
		{ note "rss: the ingest of the video failed (see $W/time-v.txt)"; return; }
	t1=$(now)
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time-v.txt")
	record rss "evcap ingest 1 GB video: peak RSS kB" 1 "$rss"
	record rss "evcap ingest 1 GB video" 1 "$(printf '%.3f' "$(echo "$t1 - $t0" | bc -l)")"
	# its index lies after the 1 GB of media: the clock must still be read
	local cam
	cam=$("$EVCAP" --store "$out/store" --json ls | jq -r '.[0].camera_time // empty')
	if [ "$cam" = "2023:06:15 10:00:00" ]; then
		note "rss: the video's clock was read from its index at the end ($cam)"
	else
		note "rss: the video's clock was NOT read (got '${cam}')"
	fi
	rm -rf "$out"; mkdir -p "$out"; cold
	timed rss "cp + sync 1 GB video" 1 sh -c "cp -r '$W/data/video' '$out/v' && sync"
	rm -rf "$out"
}

# Ticks of CPU (user + system) a process has used: /proc/PID/stat fields 14, 15.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# evcapd: memory and CPU while idle, memory after taking a whole card.
bench_daemon() {
	local out=$W/out pid i n c0 c1 hz
	if ! "$EVCAPD" --help >/dev/null 2>&1; then note "daemon: evcapd is not in this build; skipped"; return; fi
	rm -rf "$out"; mkdir -p "$out/watch"
	newstore "$out/store"
	"$EVCAPD" --foreground --store "$out/store" --watch "$out/watch" --gps '' >"$W/evcapd.log" 2>&1 &
	pid=$!
	sleep 2
	if ! kill -0 "$pid" 2>/dev/null; then note "daemon: evcapd did not stay up ($(tail -1 "$W/evcapd.log")); skipped"; return; fi
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$pid")
	sleep "$IDLE_S"
	c1=$(cpu_ticks "$pid")
	record daemon "evcapd idle CPU %" 1 "$(echo "scale=3; ($c1 - $c0) * 100 / $hz / $IDLE_S" | bc -l)"
	record daemon "evcapd idle VmHWM kB" 1 "$(hwm_kb "$pid")"
	n=$(find "$W/data/card" -type f | wc -l)
	cp -r "$W/data/card" "$out/watch/card"
	for i in $(seq 600); do
		[ "$("$EVCAP" --store "$out/store" --json ls 2>/dev/null | jq length)" -ge "$n" ] 2>/dev/null && break
		sleep 0.5
	done
	record daemon "evcapd busy VmHWM kB" 1 "$(hwm_kb "$pid")"
	local child
	for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		record daemon "parser process VmHWM kB" 1 "$(hwm_kb "$child")"
	done
	note "daemon: idle over ${IDLE_S}s with no GPS; busy = after taking the $n-file card ($(( $("$EVCAP" --store "$out/store" --json ls | jq length) )) items)"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	rm -rf "$out"
}

# burst_rate TOOL STORE: sends $burst lines at once to the probe's pty and
# records how many a second TOOL got into STORE (all of them, or a note).
burst_rate() {
	local tool=$1 db=$2/evidence.db before got=0 t0 t1 i
	rows() { sqlite3 "$db" "SELECT count(*) FROM readings WHERE parameter = 'temp'" 2>/dev/null || echo 0; }
	before=$(rows)
	t0=$(now)
	awk -v n="$burst" 'BEGIN { for (i = 0; i < n; i++) printf "0+%d.%d+8.00+7.00\r\n", i % 30, i % 10 }' >"$out/ttyA"
	for i in $(seq 2400); do
		got=$(rows)
		[ "$got" -ge $((before + burst)) ] && break
		sleep 0.05
	done
	t1=$(now)
	if [ "$got" -ge $((before + burst)) ]; then
		record probe "$tool: lines/s recorded" 1 "$(echo "scale=0; $burst / ($t1 - $t0)" | bc -l)"
	else
		note "probe: $tool recorded $((got - before)) of $burst burst lines within two minutes"
	fi
}

# evcapd reading a water probe on a pty (socat): its CPU while the probe
# answers once a second, each line journalled (written and fdatasync'd)
# as it arrives and recorded in a batch every 2 s; then how fast it takes
# a burst of lines sent at once (journal, parse, record), in lines/s,
# beside `evcap sensor listen`, which commits each line on its own.
bench_probe() {
	local out=$W/out pid spid hz c0 c1 i burst=${BENCH_PROBE_BURST:-5000}
	if ! "$EVCAPD" --help >/dev/null 2>&1 || ! have socat || ! have sqlite3; then
		note "probe: needs evcapd, socat and sqlite3; skipped"
		return
	fi
	rm -rf "$out"; mkdir -p "$out/watch"
	newstore "$out/store"
	socat pty,raw,echo=0,link="$out/ttyA" pty,raw,echo=0,link="$out/ttyB" 2>/dev/null &
	spid=$!
	for i in $(seq 100); do [ -e "$out/ttyB" ] && break; sleep 0.05; done
	EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors "$EVCAPD" --foreground \
		--store "$out/store" --watch "$out/watch" --gps '' \
		--sensor "$out/ttyB:9600:sdi12:generic-tdp" >"$W/evcapd-probe.log" 2>&1 &
	pid=$!
	sleep 2
	if ! kill -0 "$pid" 2>/dev/null; then
		note "probe: evcapd did not stay up ($(tail -1 "$W/evcapd-probe.log")); skipped"
		kill "$spid" 2>/dev/null
		return
	fi
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$pid")
	for ((i = 0; i < IDLE_S; i++)); do
		printf '0+%d.0+8.00+7.00\r\n' $((i % 30)) >"$out/ttyA"
		sleep 1
	done
	c1=$(cpu_ticks "$pid")
	record probe "evcapd CPU %, a probe line a second" 1 \
		"$(echo "scale=3; ($c1 - $c0) * 100 / $hz / $IDLE_S" | bc -l)"
	sleep 2.5 # the last batch
	burst_rate evcapd "$out/store"
	note "probe: $IDLE_S lines at 1 Hz, then a burst of $burst lines; $(grep -c 'lines lost' "$W/evcapd-probe.log") loss warnings from evcapd"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	newstore "$out/store2"
	EVCAP_SENSOR_PROFILES=$ROOT/firmware-config/sensors "$EVCAP" --store "$out/store2" \
		sensor listen "$out/ttyB:9600:sdi12:generic-tdp" >"$W/listen.log" 2>&1 &
	pid=$!
	sleep 1
	burst_rate "evcap sensor listen" "$out/store2"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	rm -rf "$out"
}

# A store that has grown: many small items, each with its custody events.
# `evcap verify` re-hashes every original and walks the chain; sha256sum of
# the same blob files is what checking them by hand would cost. A lookup
# made once per item without an index shows here as time growing with the
# square of the items (docs/performance.md, "Large stores").
bench_store() {
	local files=$W/data/many store=$W/big r
	if [ ! -d "$files" ] || [ "$(find "$files" -type f | wc -l)" -ne "$STORE_N" ]; then
		rm -rf "$files"; mkdir -p "$files"
		(cd "$files" && awk -v n="$STORE_N" 'BEGIN { for (i = 1; i <= n; i++) {
			f = sprintf("reading-%06d.txt", i); printf "site %d, sample %d\n", i % 97, i > f; close(f) } }')
	fi
	newstore "$store"
	timed store "evcap ingest (setup)" 1 "$EVCAP" --store "$store" -q ingest "$files"
	for r in $(seq "$ROUNDS"); do
		timed store "evcap verify" "$r" "$EVCAP" --store "$store" -q verify
		timed store "sha256sum of the blobs" "$r" sh -c \
			"find '$store/blobs' -type f -print0 | xargs -0 sha256sum >/dev/null"
		timed store "evcap ls --json" "$r" sh -c "'$EVCAP' --store '$store' --json ls >/dev/null"
	done
	# the whole case to a USB disk and into an office store, once: the
	# split into bundles of at most 16 MiB of manifest, and pull's checks
	local central=$W/central office=$W/office
	rm -rf "$central" "$office"; mkdir -p "$central"; settle
	timed store "evcap sync (dir:)" 1 "$EVCAP" --store "$store" -q sync --target "dir:$central"
	rm -rf "$W/copy"; settle
	timed store "cp -r blobs + sync" 1 sh -c "cp -r '$store/blobs' '$W/copy' && sync"
	"$EVCAP" --store "$store" key show >"$W/field.pub"
	"$EVCAP" --store "$office" init >/dev/null 2>&1 &&
		"$EVCAP" --store "$office" key trust "$W/field.pub" >/dev/null 2>&1; settle
	timed store "evcap pull" 1 "$EVCAP" --store "$office" -q pull --target "dir:$central" --case "$CASE"
	note "store: sync made $(find "$central/cases" -name COMMITTED | wc -l) bundles; the office holds $("$EVCAP" --store "$office" --json ls | jq length) items"
	rm -rf "$central" "$office" "$W/copy"
	note "store: $("$EVCAP" --store "$store" --json ls | jq length) items, $("$EVCAP" --store "$store" --json log | jq length) custody events (warm)"
	rm -rf "$store"
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
med() { awk -F'\t' -v t="$1" -v o="$2" '$1==t && $2==o && $4!="fail" {print $4}' "$RES" | median; }
ratio() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else echo "scale=3; $1 / $2" | bc -l | sed 's/^\./0./'; fi; }
verdict() { # verdict VALUE OP LIMIT: met / not met / -
	[ "$1" = - ] && { echo -; return; }
	if [ "$(echo "$1 $2 $3" | bc -l)" = 1 ]; then echo met; else echo "not met"; fi
}

report() {
	local a b c
	echo
	echo "## Results ($(date -u +%Y-%m-%dT%H:%MZ), $ROUNDS rounds, medians in seconds)"
	echo
	echo "| benchmark | evcap | other | other's time | ratio | target | met |"
	echo "|---|---|---|---|---|---|---|"
	if want ingest; then
		a=$(med ingest "evcap ingest"); b=$(med ingest "cp -r + sync"); c=$(med ingest "cp -r + sha256sum")
		echo "| card ingest | $a | cp -r + sync | $b | $(ratio "$a" "$b") | <= 1.5 | $(verdict "$(ratio "$a" "$b")" '<=' 1.5) |"
		echo "| card ingest | $a | cp -r + sha256sum | $c | $(ratio "$a" "$c") | < 1 | $(verdict "$(ratio "$a" "$c")" '<' 1) |"
	fi
	if want geotag; then
		a=$(med geotag "evcap track import + geotag"); b=$(med geotag "exiftool -geotag")
		echo "| track import + geotag | $a | exiftool -geotag | $b | $(ratio "$a" "$b") | < 0.1 | $(verdict "$(ratio "$a" "$b")" '<' 0.1) |"
	fi
	if want export; then
		a=$(med export "evcap export --format jpeg"); b=$(med export "cp + exiftool (same tags)")
		echo "| working copies | $a | cp + exiftool | $b | $(ratio "$a" "$b") | < 0.2 | $(verdict "$(ratio "$a" "$b")" '<' 0.2) |"
		b=$(med export "cp + exiftool + sync")
		echo "| working copies, both on disk at the end | $a | cp + exiftool + sync | $b | $(ratio "$a" "$b") | (none) | |"
		b=$(med export "cp -r + sync (the bytes alone)")
		echo "| working copies against the disk's own time | $a | cp -r + sync | $b | $(ratio "$a" "$b") | (none) | |"
	fi
	if want sync; then
		a=$(med sync "evcap sync"); b=$(med sync "curl -T (SigV4, one connection)")
		# throughput ratio: the same bytes, so the inverse ratio of times
		echo "| sync throughput | $a | curl -T | $b | $(ratio "$b" "$a") | >= 0.8 | $(verdict "$(ratio "$b" "$a")" '>=' 0.8) |"
	fi
	if want rss; then
		a=$(med rss "evcap ingest 1 GB video: peak RSS kB")
		echo "| ingest 1 GB video, peak RSS | $a kB | | | | < 32768 kB | $(verdict "$a" '<' 32768) |"
		a=$(med rss "evcap ingest 1 GB video"); b=$(med rss "cp + sync 1 GB video")
		echo "| ingest 1 GB video, time | $a | cp + sync | $b | $(ratio "$a" "$b") | (none) | |"
	fi
	if want daemon; then
		a=$(med daemon "evcapd idle CPU %")
		echo "| evcapd idle CPU | $a % | | | | < 1 % | $(verdict "$a" '<' 1) |"
		echo "| evcapd VmHWM idle / busy | $(med daemon "evcapd idle VmHWM kB") / $(med daemon "evcapd busy VmHWM kB") kB | | | | (none) | |"
		echo "| parser process VmHWM | $(med daemon "parser process VmHWM kB") kB | | | | (none) | |"
	fi
	if want probe; then
		echo "| evcapd CPU, a probe line a second (journalled) | $(med probe "evcapd CPU %, a probe line a second") % | | | | (none) | |"
		a=$(med probe "evcapd: lines/s recorded"); b=$(med probe "evcap sensor listen: lines/s recorded")
		echo "| probe burst, lines recorded per second | $a | evcap sensor listen | $b | $(ratio "$a" "$b") | (none) | |"
	fi
	if want hash; then
		a=$(med hash "sha256_two MB/s"); b=$(med hash "EVP x2 MB/s")
		echo "| SHA-256 of a photo and its copy, MB/s | $a | two EVP digests | $b | $(ratio "$a" "$b") | (none) | |"
	fi
	if want store; then
		a=$(med store "evcap verify"); b=$(med store "sha256sum of the blobs")
		echo "| verify a store of $STORE_N items | $a | sha256sum of the blobs | $b | $(ratio "$a" "$b") | (none) | |"
		echo "| list a store of $STORE_N items (ls --json) | $(med store "evcap ls --json") | | | | (none) | |"
		a=$(med store "evcap sync (dir:)"); b=$(med store "cp -r blobs + sync")
		echo "| sync $STORE_N items to a directory | $a | cp -r blobs + sync | $b | $(ratio "$a" "$b") | (none) | |"
		echo "| pull them into an office store | $(med store "evcap pull") | | | | (none) | |"
	fi
	echo
	echo "Every round (seconds):"
	echo
	awk -F'\t' '{k=$1" | "$2; v[k]=v[k]" "$4} END {for (k in v) print "- " k ":" v[k]}' "$RES" | sort
	echo
	echo "Notes:"
	echo
	sed 's/^/- /' "$NOTES"
}

main() {
	local d
	for d in jq bc; do have $d || { say "needs $d"; exit 2; }; done
	[ -x "$EVCAP" ] || { say "no $EVCAP (run make first)"; exit 2; }
	mkdir -p "$W" && W=$(cd "$W" && pwd) && RES=$W/results.tsv && NOTES=$W/notes.txt
	: >"$RES"; : >"$NOTES"; : >"$W/log"
	build_gen || { say "cannot build the data generator"; exit 1; }
	make_data || { say "cannot make the data"; exit 1; }
	note "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r), $(df -hT "$W" | awk 'NR==2 {print $2" on "$1}'); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
	want ingest && bench_ingest
	want geotag && bench_geotag
	want export && bench_export
	want sync && bench_sync
	want rss && bench_rss
	want daemon && bench_daemon
	want probe && bench_probe
	want hash && bench_hash
	want store && bench_store
	note "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	report | tee "$W/report.md"
	say "report in $W/report.md, every timing in $RES, command output in $W/log"
}

main "$@"
