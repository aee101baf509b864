#!/bin/bash
# sync_large: a case too large for one manifest. 1,300 items and their
# custody events make more than the 16 MiB an office accepts in one
# manifest; sync sends them in several bundles in one run (each within
# the limit, the custody events split at a seq the next bundle goes on
# from), and the office pulls every item and an unbroken chain.
. "$(dirname "$0")/../lib/common.sh"

need jq python3 || { skip "sync_large: needs jq, python3"; exit 0; }

N=1300
MAX=$((16 << 20))
# The sanitizer pass is for memory errors in evcap's own code, which
# under a quarter of the case and a fifth of the manifest size meet the
# same way (two bundles again; half a minute less of CI)
if [ -n "${EVCAP_SAN:-}" ]; then
	N=300 MAX=$(((16 << 20) / 5))
	export EVCAP_SYNC_MANIFEST_BYTES=$MAX
fi
CASE='XX检公益立〔2024〕3号'
F="$EVCAP --store $T/field"
O="$EVCAP --store $T/office"
TGT=$T/usb
mkdir -p "$T/card/DCIM" "$TGT"
# distinct small files, a long survey's sensor logs, filed by the office
# fifteen folders deep under long Chinese names (about 3,800 bytes of
# path, near the 4,096 a path may have, each name within 255): each
# item's entry and custody event take about 14.7 KB of manifest, so the
# case needs well over 16 MiB with few items to write
python3 - "$T/card/DCIM" "$N" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
parts = ["某某县人民检察院公益诉讼检察部门", "二〇二四年河道湖泊湿地专项监督巡查",
         "无人机航拍与水质快速检测原始记录", "第三次跟进复查现场取证照片与数据",
         "排污口非法建筑物倾倒垃圾点位编号"]
d = os.path.join(top, *(p * 5 for p in parts * 3))
os.makedirs(d)
for i in range(n):
    name = "第%05d号巡查记录河道排污口非法建筑物倾倒垃圾水质快速检测结果原始数据文件.txt" % i
    with open(os.path.join(d, name), "w") as f:
        f.write("sample %d, site %d\n" % (i, i % 37))
PY
$F init >/dev/null && $F case open "$CASE" --use --operator 张三 --operator 李四 >/dev/null &&
	$F -q ingest "$T/card" 2>/dev/null
check "sync_large: field store has $N items" test "$($F --json ls | jq length)" = "$N"

$F sync --target "dir:$TGT" >"$T/sync.out" 2>&1
rc=$?
check "sync_large: sync exits 0 (was: 'the manifest would be ... bytes')" test $rc -eq 0
nb=$(find "$TGT/cases" -name COMMITTED | wc -l)
check "sync_large: several bundles committed in one run ($nb)" test "$nb" -ge 2
check "sync_large: sync says it split the case" grep -q "too large for one bundle" "$T/sync.out"
big=0
for m in "$TGT"/cases/*/bundles/*/manifest.json; do
	[ "$(stat -c %s "$m")" -le "$MAX" ] || big=$((big + 1))
done
check "sync_large: every manifest within the limit ($MAX bytes)" test "$big" -eq 0
# the bundles' custody events: consecutive, none twice, none missing up
# to the last sync record before the final bundle
python3 - "$TGT" >"$T/seqs.txt" <<'PY'
import glob, json, sys
seqs = []
for m in glob.glob(sys.argv[1] + "/cases/*/bundles/*/manifest.json"):
    seqs += [e["seq"] for e in json.load(open(m))["custody"]["events"]]
seqs.sort()
print(len(seqs), len(set(seqs)), seqs[0], seqs[-1])
PY
read -r n_ev n_uniq first last <"$T/seqs.txt"
check "sync_large: no custody event sent twice" test "$n_ev" = "$n_uniq"
check "sync_large: the events run unbroken from $first to $last" test $((last - first + 1)) = "$n_ev"
out=$($F sync --target "dir:$TGT" 2>&1)
check "sync_large: a second sync has nothing new" grep -q "nothing new to sync" <<<"$out"
check "sync_large: each blob sent once" grep -q "$N items ($N blobs sent, [0-9]* bytes; 0 already on the target)" "$T/sync.out"

$F key show >"$T/field.pub"
$O init >/dev/null && $O key trust "$T/field.pub" >/dev/null
$O pull --target "dir:$TGT" --case "$CASE" >"$T/pull.out" 2>&1
check "sync_large: pull exits 0" test $? -eq 0
check "sync_large: the office has all $N items" test "$($O --json ls | jq length)" = "$N"
$O verify >"$T/verify.out" 2>&1
check "sync_large: office verify passes" test $? -eq 0
check "sync_large: the field device's chain arrived whole" \
	grep -q "custody events of 1 other device, from pulled bundles: $n_ev, intact" "$T/verify.out"
