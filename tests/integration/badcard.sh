#!/bin/bash
# The damaged-card test: builds a card of truncated, lying, garbled and
# hostile files with tests/lib/mkbadcard.py, ingests it with `evcap ingest`
# and checks what the issue on hostile input demands: every regular file
# kept byte-for-byte (whatever its metadata), damaged metadata recorded in
# metadata_error, no crash, no hang on FIFOs, no link followed, every skipped
# thing named on stderr, `evcap verify` clean; then the same card under
# evcapd, which must keep running through it. Also reports the libexif
# version check (tests/lib/check-libexif.sh) as its own line.
. "$(dirname "$0")/../lib/common.sh"

"$ROOT/tests/lib/check-libexif.sh"

if ! need python3; then
	skip "badcard: python3 is needed to build the card"
	exit 0
fi
# Under the sanitizers every step is slower; the card is cut to one base
# photo there (the damage kinds stay the same).
small=()
[ -n "${EVCAP_SAN:-}" ] && small=(--small)
CARD=$T/card
python3 "$ROOT/tests/lib/mkbadcard.py" --out "$CARD" --describe "$T/card.json" \
	--outside "$T/outside" "${small[@]}" || { bad "badcard: mkbadcard.py failed"; exit 1; }
# chmod 000 keeps nothing from root: the unreadable-file check then skips.
root_user=0
[ "$(id -u)" -eq 0 ] && root_user=1
on_exit "chmod -R u+rwx '$CARD' 2>/dev/null"

"$EVCAP" init >/dev/null 2>&1 || { bad "badcard: evcap init failed"; exit 1; }

# FIFOs must never be opened: a read of one would block, so the whole
# ingest runs under a timeout, and a timeout is a hang.
timeout -k 5 300 "$EVCAP" ingest "$CARD" >"$T/ingest.out" 2>"$T/ingest.err"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	bad "badcard ingest: hung (killed after 300 s; a FIFO opened?)"
elif [ "$rc" -ge 128 ]; then
	bad "badcard ingest: crashed with signal $((rc - 128))"
	tail -5 "$T/ingest.err" | sed 's/^/# /'
elif [ "$rc" -eq 1 ]; then
	# the folders nested past the walk's limit are a problem, not a skip
	ok "badcard ingest: finished, exit 1 (a folder too deep to walk$([ "$root_user" -eq 0 ] &&
		echo ', a file that could not be read'))"
else
	bad "badcard ingest: exit status $rc"
	tail -5 "$T/ingest.err" | sed 's/^/# /'
fi

"$EVCAP" ls --json >"$T/ls.json" 2>"$T/ls.err" || bad "badcard: evcap ls --json failed"

# The checks of the card against the store, one PASS/FAIL/SKIP line each.
# mode "cli" also checks stderr; "daemon" checks what evcapd recorded.
check_card() {
	python3 - "${check_card_desc:-$T/card.json}" "$1" "$2" "$root_user" "$3" <<'EOF'
import hashlib, json, os, sys
desc, ls_path, err_path, root_user, mode = sys.argv[1:6]
root_user = root_user == "1"
d = json.load(open(desc))
card = d["card"]
items = json.load(open(ls_path))
by_sha = {}
for it in items:
    by_sha.setdefault(it["sha256"], it)
err = open(err_path, "rb").read().decode("utf-8", "replace") if err_path != "-" else ""

def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def line(ok, name, why=""):
    print(("PASS " if ok else "FAIL ") + name + (": " + why if why else ""))

def shown(rel):
    # how evcap names a path: control bytes and non-UTF-8 as \xNN, and a
    # backslash doubled
    out = []
    for ch in os.fsencode(os.path.join(card, rel)).decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02X" % (o - 0xDC00))
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02X" % o)
        else:
            out.append(ch)
    return "".join(out)

files = [e for e in d["entries"] if e["kind"] == "file"]
shas = {}
for e in files:
    shas[e["path"]] = sha(os.path.join(card, e["path"]))
count = {}
for s in shas.values():
    count[s] = count.get(s, 0) + 1

# 1. every regular file kept, byte for byte (same SHA-256 and size)
missing = [e["path"] for e in files if shas[e["path"]] not in by_sha or
           by_sha[shas[e["path"]]]["size"] != os.path.getsize(os.path.join(card, e["path"]))]
line(not missing, "%s: every regular file kept byte-for-byte (%d files)" % (mode, len(files)),
     "missing " + ", ".join(repr(m) for m in missing[:5]) if missing else "")

# 1b. each file's recorded path is its own: undecodable bytes and
# backslashes written so that no two names read alike
if mode == "cli":
    wrong = [e["path"] for e in files if count[shas[e["path"]]] == 1 and
             by_sha.get(shas[e["path"]], {}).get("original_path") != shown(e["path"])]
    line(not wrong, "cli: every file recorded under its own path, escaped unambiguously",
         ", ".join(repr(w) for w in wrong[:5]))

# 2. nothing from outside the card: no link was followed
outside = []
for dirpath, _, names in os.walk(d["outside"]):
    outside += [sha(os.path.join(dirpath, n)) for n in names]
try:
    outside.append(sha("/etc/passwd"))
except OSError:
    pass
leaked = [s for s in outside if s in by_sha]
line(not leaked, "%s: no symbolic link followed (nothing from outside the card stored)" % mode)

# 3. no item that is not a file of the card
# (the too-deep file and the mode-000 one may be stored or not, depending
# on the walker's depth limit and on who runs the test)
allowed = set()
for e in d["entries"]:
    p = e.get("file") if e["kind"] == "deepdir" else e["path"] if e["kind"] == "unreadable" else None
    try:
        allowed.add(sha(os.path.join(card, p)))
    except (OSError, TypeError):
        pass
extra = [s for s in by_sha if s not in count and s not in allowed]
line(not extra, "%s: no item that is not a regular file of the card" % mode,
     "%d extra items" % len(extra) if extra else "")

# 4. damaged metadata named in metadata_error; clean files read cleanly
wrong = []
for e in files:
    s = shas[e["path"]]
    if e["meta_error"] is None or count[s] > 1 or s not in by_sha:
        continue
    has = bool(by_sha[s].get("metadata_error"))
    if has != e["meta_error"]:
        wrong.append("%s (%s): metadata_error %s" % (e["path"], e["why"],
                     repr(by_sha[s].get("metadata_error"))))
n_expect = sum(1 for e in files if e["meta_error"] is not None)
line(not wrong, "%s: damaged metadata recorded in metadata_error (%d files with an expectation)"
     % (mode, n_expect), "; ".join(wrong[:4]))

# 5. unreadable files
for e in d["entries"]:
    if e["kind"] != "unreadable":
        continue
    if root_user:
        print("SKIP %s: unreadable file: running as root, mode 000 does not stop reading" % mode)
    elif mode == "cli":
        line(shown(e["path"]) in err, "cli: unreadable file named on stderr", e["path"])

# 6. every skipped thing named on stderr (links, FIFOs, the deep folder)
if mode == "cli":
    # (the too-deep folder is named where the walk stopped: by a prefix)
    unnamed = [e["path"] for e in d["entries"]
               if e["kind"] in ("symlink", "fifo", "deepdir") and
               shown(e.get("named", e["path"])) not in err]
    line(not unnamed, "cli: every link, FIFO and too-deep folder named on stderr",
         "not named: " + ", ".join(unnamed[:5]))
    # and every file kept with damaged metadata, by its path
    unnamed = [e["path"] for e in files if e["meta_error"] and count[shas[e["path"]]] == 1
               and shown(e["path"]) not in err]
    line(not unnamed, "cli: every file with damaged metadata named on stderr",
         "not named: " + ", ".join(repr(u) for u in unnamed[:5]))
EOF
}
check_card "$T/ls.json" "$T/ingest.err" cli

if "$EVCAP" verify >"$T/verify.out" 2>&1; then
	ok "badcard: evcap verify passes after the damaged card"
else
	bad "badcard: evcap verify failed"
	tail -5 "$T/verify.out" | sed 's/^/# /'
fi

# A JPEG cut inside its image data is named (it was kept as a sound
# photo: its head, where the metadata is, is whole): the tests' base JPEG
# cut in half. The same photo whole, padded with zeros or followed by a
# video's bytes (a motion photo) is not.
. "$ROOT/tests/lib/base-jpeg.sh"
mkdir -p "$T/cut"
make_base_jpeg "$T/cut/whole.jpg"
n=$(stat -c %s "$T/cut/whole.jpg")
head -c $((n / 2)) "$T/cut/whole.jpg" >"$T/cut/half.jpg"
{ cat "$T/cut/whole.jpg"; head -c 100000 /dev/zero; } >"$T/cut/padded.jpg"
{ cat "$T/cut/whole.jpg"; printf '\0\0\0\x18ftypmp42'; head -c 200000 /dev/urandom; } \
	>"$T/cut/motion.jpg"
EVCAP_STORE=$T/cutstore "$EVCAP" init >/dev/null 2>&1
EVCAP_STORE=$T/cutstore timeout -k 5 120 "$EVCAP" ingest "$T/cut" >/dev/null 2>"$T/cut.err"
check "a JPEG cut inside its image data: ingest exits 0" test $? -eq 0
EVCAP_STORE=$T/cutstore "$EVCAP" ls --json >"$T/cut.json" 2>/dev/null
check "a JPEG cut inside its image data is kept with metadata_error" \
	jq -e '.[] | select(.original_name == "half.jpg") |
		.metadata_error == "the JPEG ends inside its image data (truncated?)"' "$T/cut.json"
check "a JPEG cut inside its image data is named on stderr" \
	grep -q 'half.jpg: kept, but .*the JPEG ends inside its image data (truncated?)' "$T/cut.err"
check "the same JPEG whole, padded with zeros or followed by a video is not" \
	jq -e '[.[] | select(.original_name != "half.jpg") | .metadata_error] == [null, null, null]' \
	"$T/cut.json"

# The copy and the hash never wait on metadata: with the ingest's
# metadata reader forced to crash (EVCAP_META_CRASH_TEST=1, honoured only
# by an ingest that reads metadata in a child process), every file must
# still be recorded, each with a metadata_error, and the ingest must live.
if grep -q EVCAP_META_CRASH_TEST "$EVCAP" 2>/dev/null; then
	mkdir -p "$T/crash/DCIM"
	cp "$CARD"/DCIM/100MEDIA/* "$T/crash/DCIM/" 2>/dev/null
	printf 'crash-test %s\n' "$$" >"$T/crash/DCIM/unique.JPG"
	EVCAP_STORE=$T/crashstore "$EVCAP" init >/dev/null 2>&1
	EVCAP_STORE=$T/crashstore EVCAP_META_CRASH_TEST=1 timeout -k 5 120 \
		"$EVCAP" ingest "$T/crash" >/dev/null 2>"$T/crash.err"
	rc=$?
	EVCAP_STORE=$T/crashstore "$EVCAP" ls --json >"$T/crash.json" 2>/dev/null
	if [ "$rc" -ge 124 ]; then
		bad "badcard: a crashing metadata reader took the ingest down (status $rc)"
	elif python3 - "$T/crash" "$T/crash.json" <<'EOF'
import hashlib, json, os, sys
items = {i["sha256"]: i for i in json.load(open(sys.argv[2]))}
ok = True
for n in os.listdir(sys.argv[1] + "/DCIM"):
    s = hashlib.sha256(open(sys.argv[1] + "/DCIM/" + n, "rb").read()).hexdigest()
    if s not in items or not items[s].get("metadata_error"):
        print("# %s: %s" % (n, "not recorded" if s not in items else "no metadata_error"))
        ok = False
sys.exit(0 if ok else 1)
EOF
	then
		ok "badcard: a crashing metadata reader costs only the metadata (every file kept)"
	else
		bad "badcard: with the metadata reader crashing, files were lost or not flagged"
	fi
else
	skip "badcard: metadata crash isolation: this evcap has no EVCAP_META_CRASH_TEST hook yet"
fi

# evcapd on the same card: it must take the files and keep running.
if [ -z "$EVCAPD" ] || [ ! -x "$EVCAPD" ] || ! "$EVCAPD" --help 2>&1 | grep -q -- --watch; then
	skip "badcard: evcapd is not built or has no --watch; daemon part not run"
	exit 0
fi
W=$T/watch
DSTORE=$T/dstore
mkdir -p "$W"
EVCAP_STORE=$DSTORE "$EVCAP" init >/dev/null 2>&1
"$EVCAPD" --foreground --store "$DSTORE" --watch "$W" --gps "" >"$T/evcapd.log" 2>&1 &
DPID=$!
on_exit "kill $DPID 2>/dev/null"
sleep 1
if ! kill -0 "$DPID" 2>/dev/null; then
	bad "badcard evcapd: did not start"
	tail -5 "$T/evcapd.log" | sed 's/^/# /'
	exit 1
fi
# The card appears while the daemon watches, as an inserted card does.
python3 "$ROOT/tests/lib/mkbadcard.py" --out "$W/card" --describe "$T/dcard.json" \
	--outside "$T/doutside" "${small[@]}" >/dev/null
on_exit "chmod -R u+rwx '$W' 2>/dev/null"
# the distinct contents of the card's regular files; the wait counts only
# those among the items (the too-deep and the mode-000 file may be items
# too, and counting them ended the wait before the last file was in)
python3 -c '
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
for s in sorted({hashlib.sha256(open(d["card"] + "/" + e["path"], "rb").read()).hexdigest()
                 for e in d["entries"] if e["kind"] == "file"}):
    print(s)' "$T/dcard.json" >"$T/dwant.txt"
want=$(wc -l <"$T/dwant.txt")
have=0
for _ in $(seq 1 240); do
	kill -0 "$DPID" 2>/dev/null || break
	have=$(EVCAP_STORE=$DSTORE "$EVCAP" ls --json 2>/dev/null |
		python3 -c '
import json, sys
want = set(open(sys.argv[1]).read().split())
print(len(want & {it["sha256"] for it in json.load(sys.stdin)}))' "$T/dwant.txt" 2>/dev/null ||
		echo 0)
	[ "$have" -ge "$want" ] && break
	sleep 0.5
done
if kill -0 "$DPID" 2>/dev/null; then
	ok "badcard evcapd: still running after the damaged card"
	check "badcard evcapd: took the card's files ($have of $want items)" test "$have" -ge "$want"
else
	wait "$DPID"
	bad "badcard evcapd: died while taking the damaged card (status $?)"
	tail -5 "$T/evcapd.log" | sed 's/^/# /'
	exit 1
fi
EVCAP_STORE=$DSTORE "$EVCAP" ls --json >"$T/dls.json" 2>/dev/null
check_card_desc=$T/dcard.json check_card "$T/dls.json" - daemon
kill -TERM "$DPID"
wait "$DPID"
rc=$?
check "badcard evcapd: exits 0 on SIGTERM (status $rc)" test "$rc" -eq 0
