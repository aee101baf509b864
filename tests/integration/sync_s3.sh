#!/bin/bash
# sync_s3: the same field -> target -> office roundtrip through a real S3
# engine (a single-node Ceph RADOS Gateway on loopback, tests/lib/ceph-rgw.sh),
# plus what only S3 has: Object Lock COMPLIANCE retention on every blob, a
# 40 MB multipart upload through a proxy that cuts the connection three
# times (its byte count shows no finished part went twice), a SIGKILL in
# the middle of an upload and the resume, a wrong secret, a missing bucket,
# a gateway answering 503 Slow Down and 500 and a link going quiet mid-body
# (both retried: counted in the output, nothing lost, nothing sent twice),
# --bandwidth seen in the proxy's byte counts, and a laptop clock three
# hours off.
. "$(dirname "$0")/../lib/common.sh"

need curl jq sqlite3 || { skip "sync_s3: needs curl, jq and sqlite3"; exit 0; }
rgw_up sync_s3 || exit 0
EP=$S3_ENDPOINT
export EVCAP_SYNC_RETRY_BASE=0.2
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
PART=8388608
# an independent signed GET (curl's own SigV4), to check what the server holds
sget() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
	-H "x-amz-content-sha256: $EMPTY" "$EP/$1"; }
blobkey() { echo "blobs/sha256/${1:0:2}/${1:2:2}/$1"; }

CASE='XX检公益立〔2023〕15号'
F="$EVCAP --store $T/field"
mkdir -p "$T/card/DCIM"
for i in 1 2 3; do head -c $((30000 * i)) /dev/urandom > "$T/card/DCIM/IMG_000$i.JPG"; done
$F init >/dev/null && $F case open "$CASE" --title "outfall" --use >/dev/null &&
	$F ingest "$T/card" >/dev/null 2>&1

# a missing bucket is a configuration error, said clearly
out=$($F sync --target s3://evidence/field1 --endpoint "$EP" 2>&1); rc=$?
check "missing bucket: exit 2" test $rc = 2
check "missing bucket: says so" grep -q "does not exist" <<<"$out"

# wrong secret: stops at once, says which, non-zero
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret $F sync --target s3://evidence/field1 --endpoint "$EP" --create-bucket 2>&1); rc=$?
check "wrong secret: non-zero exit" test $rc != 0
check "wrong secret: clear message" grep -q "secret key is wrong" <<<"$out"

# the roundtrip
out=$($F sync --target s3://evidence/field1 --endpoint "$EP" --create-bucket 2>&1)
check "sync to S3 commits a bundle" grep -q "1 bundle committed: 3 items" <<<"$out"
out=$($F sync --target s3://evidence/field1 --endpoint "$EP" 2>&1)
check "second sync to S3: nothing new" grep -q "nothing new" <<<"$out"
ck=$(sqlite3 "$T/field/evidence.db" "SELECT key FROM cases")
bid=$(sqlite3 "$T/field/evidence.db" "SELECT bundle_id FROM bundles LIMIT 1")
sget "evidence/field1/cases/$ck/bundles/$bid/manifest.json" >"$T/manifest.json"
sget "evidence/field1/cases/$ck/bundles/$bid/manifest.json.minisig" >"$T/manifest.json.minisig"
$F key show >"$T/device.pub"
if need minisign; then
	check "minisign -V accepts the manifest from S3" minisign -q -Vm "$T/manifest.json" -p "$T/device.pub"
fi
O="$EVCAP --store $T/office"
$O init >/dev/null && $O key trust "$T/device.pub" >/dev/null
out=$($O pull --target s3://evidence/field1 --endpoint "$EP" --case "$CASE" 2>&1); rc=$?
check "office pulls from S3" test $rc = 0
check "office has the same SHA-256 set" test "$($F --json ls | jq -r '.[].sha256' | sort)" = \
	"$($O --json ls | jq -r '.[].sha256' | sort)"
check "office verify passes" $O verify

# keys under the case that are not a bundle's (a folder copied as "ID (1)"
# by a tool, a stray object in the bundle's folder, a name of 900 '&',
# which the listing writes as XML entities): each named once, exit 0
sput() { curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
	--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: $EMPTY" \
	-X PUT --data-binary '' "$EP/$1"; }
BK=evidence/field1/cases/$ck/bundles
amps=$(printf '%%26%.0s' $(seq 900))
put_codes=$(sput "$BK/$bid%20%281%29/manifest.json")$(sput "$BK/$bid%20%281%29/COMMITTED")
put_codes+=$(sput "$BK/$bid/notes.txt")$(sput "$BK/$amps")
out=$($O pull --target s3://evidence/field1 --endpoint "$EP" --case "$CASE" 2>&1); rc=$?
W="^evcap pull: warning: s3://evidence/field1: 'cases/$ck/bundles"
check "S3: keys under the case that are not a bundle's: exit 0 (PUTs $put_codes)" \
	grep -q "0 bundles imported (0 items), 1 imported before, 1 on the target; some" <<<"$out"
check "S3: a folder copied as 'ID (1)' is named once" test "$(grep -c \
	"$W/$bid (1)' (a folder) is not a bundle's name.*a copy of bundle $bid" <<<"$out")" = 1
check "S3: an object in the bundle's folder that is none of its files" \
	grep -q "$W/$bid/notes.txt' (a file) is none of a bundle's files" <<<"$out"
check "S3: a name of 900 '&'" grep -q "$W/$(printf '&%.0s' $(seq 900))' (a file) is not a" <<<"$out"
check "S3: nothing else" test "$(grep -c warning: <<<"$out")" = 3

# Object Lock, and a 40 MB video through a proxy that cuts the link 3 times
head -c 40000000 /dev/urandom >"$T/card/DCIM/DJI_0100.MP4"
$F ingest "$T/card" >/dev/null 2>&1
# proxy NAME ARGS...: tests/lib/faultproxy.py in front of the gateway with
# ARGS, its counts in $T/NAME.json, stopped when the test ends; sets
# PROXY_PID and PROXY_EP
proxy() {
	local name=$1
	shift
	python3 "$ROOT/tests/lib/faultproxy.py" --target "${EP#http://}" "$@" \
		--stats "$T/$name.json" --port-file "$T/$name.port" &
	PROXY_PID=$!
	on_exit "kill $PROXY_PID 2>/dev/null"
	for _ in $(seq 50); do [ -s "$T/$name.port" ] && break; sleep 0.1; done
	PROXY_EP=http://127.0.0.1:$(cat "$T/$name.port")
}
proxy cut --cut-after 12000000 --cuts 3
PX=$PROXY_PID CUT_EP=$PROXY_EP
out=$($F sync --target s3://locked --endpoint "$CUT_EP" --create-bucket --retain-days 1 2>&1); rc=$?
check "sync through a cutting proxy succeeds" test $rc = 0
check "sync reports the bucket's Object Lock" grep -q "Object Lock enabled" <<<"$out"
total=$($F --json ls | jq '[.[].size] | add')
up=$(jq .up "$T/cut.json"); cuts=$(jq .cuts "$T/cut.json")
check "the proxy cut the connection 3 times" test "$cuts" = 3
# every cut wastes at most the part in flight: never a finished part again
if [ "$up" -ge "$total" ] && [ "$up" -lt $((total + cuts * PART + 1000000)) ]; then
	ok "no finished part sent twice ($up bytes up for $total bytes of blobs, $cuts cuts)"
else
	bad "no finished part sent twice: $up bytes up for $total bytes of blobs, $cuts cuts"
fi
all_locked=1
for sha in $($F --json ls | jq -r '.[].sha256'); do
	sget "locked/$(blobkey "$sha")?retention=" | grep -q "<Mode>COMPLIANCE</Mode>" || all_locked=0
done
check "every blob has COMPLIANCE retention" test $all_locked = 1
kill -9 $PX 2>/dev/null
O2="$EVCAP --store $T/office2"
$O2 init >/dev/null
$O2 pull --target s3://locked --endpoint "$EP" --case "$CASE" --trust-new >/dev/null 2>&1
check "the 40 MB video arrives whole" test "$($O2 --json ls | jq -r '.[] | select(.size == 40000000) | .sha256')" = \
	"$($F --json ls | jq -r '.[] | select(.size == 40000000) | .sha256')"
check "office2 verify passes" $O2 verify

# the office's download cut twice mid-video: pull resumes with ranged GETs
proxy down --cut-after 15000000 --cuts 2 --cut-dir down
PD=$PROXY_PID
O3="$EVCAP --store $T/office3"
$O3 init >/dev/null
out=$($O3 pull --target s3://locked --endpoint "http://127.0.0.1:$(cat "$T/down.port")" --case "$CASE" --trust-new 2>&1); rc=$?
check "pull through a cutting proxy succeeds" test $rc = 0
check "the proxy cut the download twice" test "$(jq .cuts "$T/down.json")" = 2
check "pull resumed the download" grep -q "resuming" <<<"$out"
check "office3 has every blob and verify passes" $O3 verify
kill -9 $PD 2>/dev/null

# SIGKILL in the middle of a multipart upload, then resume
head -c 40000000 /dev/urandom >"$T/card/DCIM/DJI_0101.MP4"
$F ingest "$T/card" >/dev/null 2>&1
proxy kill
PK=$PROXY_PID KILL_EP=$PROXY_EP
# into the locked bucket, where everything else is already: only this video is new
$F sync --target s3://locked --endpoint "$KILL_EP" --retain-days 1 --bandwidth 8M >"$T/killed.out" 2>&1 & SP=$!
parts=0
for _ in $(seq 300); do
	parts=$(sqlite3 "$T/field/evidence.db" "SELECT parts_done FROM sync_state WHERE state = 'uploading'" 2>/dev/null | jq length 2>/dev/null)
	[ "${parts:-0}" -ge 2 ] && break
	sleep 0.1
done
kill -9 $SP 2>/dev/null; wait $SP 2>/dev/null
check "upload was killed with parts journalled" test "${parts:-0}" -ge 2
sleep 0.3
up1=$(jq .up "$T/kill.json")
# the server's list of parts is read one part a page (a 9 GB video's
# 1,100 parts would take two pages of 1,000): every page must be walked
out=$(EVCAP_S3_LIST_PARTS_PAGE=1 $F sync --target s3://locked --endpoint "$KILL_EP" --retain-days 1 2>&1); rc=$?
sleep 0.3
up2=$(jq .up "$T/kill.json")
check "sync after SIGKILL succeeds" test $rc = 0
check "sync after SIGKILL resumes the upload" grep -q "resuming an interrupted upload" <<<"$out"
there=$(sed -n 's/.*resuming an interrupted upload, \([0-9]*\) of 5 parts already there.*/\1/p' <<<"$out")
check "the parts on every page of the server's list count (${there:-none} of 5, $parts journalled)" \
	test "${there:-0}" -ge "$parts"
second=$((up2 - up1))
if [ "$second" -lt $((40000000 - parts * PART + 1000000)) ]; then
	ok "resume does not resend the $parts finished parts ($second bytes sent)"
else
	bad "resume sent $second bytes after $parts parts were finished (before: $up1, after: $up2)"
fi
$O2 pull --target s3://locked --endpoint "$EP" --case "$CASE" >/dev/null 2>&1
check "the resumed video arrives whole" test "$($O2 --json ls | jq -r '.[].sha256' | sort)" = \
	"$($F --json ls | jq -r '.[].sha256' | sort)"
check "office verify passes after resume" $O2 verify

# the link drops just after the gateway completed a multipart upload, before
# its retention was set (RGW ignores the retention asked for when an upload
# starts): the next sync finds the video there and gives it its COMPLIANCE
# retention before a bundle names it; where that cannot be set, the blob
# fails and says so, as an object left without could be deleted
mkdir -p "$T/card7"
head -c 9000000 /dev/urandom >"$T/card7/DJI_0700.MP4"
F7="$EVCAP --store $T/field7"
$F7 init >/dev/null && $F7 case open "$CASE" --use >/dev/null &&
	$F7 ingest "$T/card7" >/dev/null 2>&1
vkey=$(blobkey "$(sha256sum "$T/card7/DJI_0700.MP4" | cut -c1-64)")
proxy bo --blackout-after 'POST:uploadId='
PO=$PROXY_PID
out=$(EVCAP_SYNC_TRIES=2 $F7 sync --target s3://locked --endpoint "$PROXY_EP" \
	--retain-days 1 2>&1); rc=$?
kill $PO 2>/dev/null
check "link down once the upload completed: sync fails" test $rc != 0
check "link down once the upload completed: the video is there without retention" \
	grep -q ObjectLockConfigurationNotFound <<<"$(sget "locked/$vkey?retention=")"
proxy rf --fail 1:500,2:500
PR=$PROXY_PID
out=$(EVCAP_SYNC_TRIES=2 $F7 sync --target s3://locked --endpoint "$PROXY_EP" \
	--retain-days 1 2>&1); rc=$?
kill $PR 2>/dev/null
check "retention of a video found there cannot be set: sync fails" test $rc = 1
check "retention of a video found there cannot be set: says so" \
	grep -q "already on the target, but its COMPLIANCE retention could not be checked or set" <<<"$out"
out=$($F7 sync --target s3://locked --endpoint "$EP" --retain-days 1 2>&1); rc=$?
check "the next sync succeeds" test $rc = 0
check "the next sync sets the retention of the video it finds there" \
	grep -q "already on the target with no retention; setting COMPLIANCE retention" <<<"$out"
check "the video found there has COMPLIANCE retention" \
	grep -q "<Mode>COMPLIANCE</Mode>" <<<"$(sget "locked/$vkey?retention=")"

# 503 Slow Down, 500 and a stall mid-body, all injected by the proxy: four
# PUTs answered by the proxy itself, one cut off after half its body and
# left quiet for longer than evcap waits on a silent link (EVCAP_SYNC_STALL_SECONDS,
# 3 s here instead of 60)
for i in 1 2 3 4; do head -c $((200000 + i * 1000)) /dev/urandom >"$T/card/DCIM/IMG_02$i.JPG"; done
head -c 20000000 /dev/urandom >"$T/card/DCIM/DJI_0102.MP4"
$F ingest "$T/card" >/dev/null 2>&1
proxy fault --fail 2:503,4:503,7:500,10:503 --stall 12 --stall-seconds 10
PF=$PROXY_PID
new_bytes=$((20000000 + 201000 + 202000 + 203000 + 204000))
out=$(EVCAP_SYNC_STALL_SECONDS=3 $F sync --target s3://evidence/field1 \
	--endpoint "http://127.0.0.1:$(cat "$T/fault.port")" 2>&1); rc=$?
sleep 0.3
check "sync through 503, 500 and a stall succeeds" test $rc = 0
check "the proxy answered 4 PUTs itself and stalled one" \
	test "$(jq '.errors + .stalls' "$T/fault.json")" = 5
retried=$(sed -n 's/^\([0-9]*\) requests\{0,1\} retried.*/\1/p' <<<"$out")
check "evcap counts its retries (${retried:-none}, 5 faults)" test "${retried:-0}" -ge 5
check "evcap names the 503 and 500 answers" grep -q "HTTP 503.*retrying\|HTTP 500" <<<"$out"
check "no PUT reached the gateway twice" test "$(jq '[.puts[]] | max' "$T/fault.json")" = 1
check "every new byte reached the gateway" test "$(jq .up "$T/fault.json")" -ge "$new_bytes"
kill $PF 2>/dev/null
$O pull --target s3://evidence/field1 --endpoint "$EP" --case "$CASE" >/dev/null 2>&1
check "nothing lost: the office has every SHA-256 after the faults" \
	test "$($O --json ls | jq -r '.[].sha256' | sort)" = "$($F --json ls | jq -r '.[].sha256' | sort)"
check "office verify passes after the faults" $O verify

# --bandwidth 1M: no timing is asserted. The proxy counts the bytes that
# reach the gateway in each second; a 3 MB upload capped at 1 MB/s cannot
# put more than 1 MB per second it spans (plus a second of slack for the
# buckets' edges), where an uncapped one lands in one or two seconds. A
# slow machine only spreads the bytes wider.
head -c 3000000 /dev/urandom >"$T/card/DCIM/IMG_0300.JPG"
$F ingest "$T/card" >/dev/null 2>&1
proxy bw
PB=$PROXY_PID
out=$($F sync --target s3://evidence/field1 --endpoint "http://127.0.0.1:$(cat "$T/bw.port")" \
	--bandwidth 1M 2>&1); rc=$?
sleep 0.3
check "sync with --bandwidth 1M succeeds" test $rc = 0
bw=$(jq -r '"\(.up) \(.up_by_second | length)"' "$T/bw.json")
read -r bw_up bw_secs <<<"$bw"
if [ "$bw_up" -ge 3000000 ] && [ "$bw_up" -le $(( (bw_secs + 1) * 1000000 )) ]; then
	ok "--bandwidth 1M held: $bw_up bytes over $bw_secs second(s) of the proxy's counts"
else
	bad "--bandwidth 1M: $bw_up bytes over $bw_secs second(s) ($(jq -c .up_by_second "$T/bw.json"))"
fi
kill $PB 2>/dev/null

# a low cap: curl sends its upload buffer at once and then waits for the
# average to come down to the cap. At 1 kB/s its 64 KB buffer meant 64 s
# of silence, which the stall check (60 s) cut, every attempt, so nothing
# over 64 KB ever went. The same here at 20 kB/s against a 2 s stall check:
# a 100 KB photo goes. A cap too low to work is refused before anything.
mkdir -p "$T/card9"
head -c 100000 /dev/urandom >"$T/card9/IMG_0900.JPG"
F9="$EVCAP --store $T/field9"
$F9 init >/dev/null && $F9 case open "$CASE" --use >/dev/null && $F9 ingest "$T/card9" >/dev/null 2>&1
out=$($F9 sync --target s3://evidence/field9 --endpoint "$EP" --bandwidth 500 2>&1); rc=$?
check "--bandwidth below 1k is refused (exit 2)" test $rc = 2
check "--bandwidth below 1k: says the lowest cap" grep -q "below the lowest cap that works, 1k" <<<"$out"
out=$(EVCAP_SYNC_TRIES=2 EVCAP_SYNC_STALL_SECONDS=2 $F9 sync --target s3://evidence/field9 \
	--endpoint "$EP" --create-bucket --bandwidth 20k 2>&1); rc=$?
check "a low cap carries a photo over curl's buffer (rc=$rc)" \
	grep -q "1 bundle committed: 1 item (1 blob sent" <<<"$out"
check "a low cap is not taken for a stalled link" bash -c '! grep -q "nothing moved" <<<"$1"' _ "$out"

# a stored original damaged after it was recorded is refused locally, never sent:
# not every S3-compatible server checks x-amz-content-sha256, and a damaged object
# in an Object Lock bucket could never be replaced
head -c 40000 /dev/urandom >"$T/card/DCIM/IMG_0010.JPG"
$F ingest "$T/card" >/dev/null 2>&1
dsha=$(sha256sum "$T/card/DCIM/IMG_0010.JPG" | cut -d' ' -f1)
dblob=$T/field/blobs/sha256/${dsha:0:2}/${dsha:2:2}/$dsha
chmod u+w "$dblob" && flip_byte "$dblob" 100
out=$($F sync --target s3://evidence/field1 --endpoint "$EP" 2>&1); rc=$?
check "a damaged local original: sync fails" test $rc -ne 0
check "a damaged local original: named, not sent" grep -q "does not hash to its name; not sent" <<<"$out"
dget=$(sget "evidence/field1/$(blobkey "$dsha")" 2>/dev/null)
check "a damaged local original: absent on the server" grep -q NoSuchKey <<<"$dget"
cp "$T/card/DCIM/IMG_0010.JPG" "$dblob"
out=$($F sync --target s3://evidence/field1 --endpoint "$EP" 2>&1); rc=$?
check "once restored, it syncs" test $rc = 0

# a laptop clock 3 hours behind: corrected from the server's Date
if need faketime; then
	head -c 5000 /dev/urandom >"$T/card/DCIM/IMG_0009.JPG"
	$F ingest "$T/card" >/dev/null 2>&1
	out=$(ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 faketime -f -3h \
		$F sync --target s3://evidence/field1 --endpoint "$EP" 2>&1); rc=$?
	check "sync with the clock 3 h off succeeds" test $rc = 0
	check "sync names the clock correction" grep -q "clock is" <<<"$out"
else
	skip "faketime: not installed (apt-get install faketime)"
fi

# a field store whose journal is new (a new laptop, the same photos): the
# blobs the bucket holds are counted as there, not as sent. A plain PUT
# learns it from the 412 that If-None-Match brings; a blob over 8 MiB is
# asked with HEAD first, since a multipart upload has no such guard. (In
# the Object Lock bucket RGW 16 ignores If-None-Match, so only the video is
# tried there.)
mkdir -p "$T/card5" "$T/card6"
cp "$T/card/DCIM/IMG_000"[123].JPG "$T/card5/"
cp "$T/card/DCIM/DJI_0100.MP4" "$T/card6/"
F5="$EVCAP --store $T/field5"
$F5 init >/dev/null && $F5 case open "$CASE" --use >/dev/null &&
	$F5 ingest "$T/card5" >/dev/null 2>&1
out=$($F5 sync --target s3://evidence/field1 --endpoint "$EP" 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "committed: 3 items (0 blobs sent, 0 bytes; 3 already" <<<"$out"
then
	ok "a new journal: photos the bucket holds are counted as there (412), none sent"
else
	bad "a new journal: photos the bucket holds: rc=$rc: $out"
fi
F6="$EVCAP --store $T/field6"
$F6 init >/dev/null && $F6 case open "$CASE" --use >/dev/null &&
	$F6 ingest "$T/card6" >/dev/null 2>&1
out=$($F6 sync --target s3://locked --endpoint "$EP" 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "committed: 1 item (0 blobs sent, 0 bytes; 1 already" <<<"$out"
then
	ok "a new journal: a 40 MB video the bucket holds is asked first (HEAD), not uploaded again"
else
	bad "a new journal: a 40 MB video the bucket holds: rc=$rc: $out"
fi
