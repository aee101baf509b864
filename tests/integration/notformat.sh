#!/bin/bash
# Files a card holds whose bytes are not what their names say: random
# bytes, empty files, a TIFF header and nothing after it, a HEIC cut
# inside its ftyp box, a JPEG whose SOI is followed by zeros. Each is
# kept byte for byte and listed with a metadata_error that says what is
# wrong with it (docs/metadata.md, "Files that are not what their names
# say"); a text file, whose name promises no signature, is not flagged.
. "$(dirname "$0")/../lib/common.sh"

need jq python3 || { skip "notformat: needs jq and python3"; exit 0; }

CARD=$T/card/DCIM
mkdir -p "$CARD"
python3 - "$CARD" <<'PY'
import random, sys
d = sys.argv[1]
rng = random.Random(5)
def noise(n):
    # 'Z' first: no format's signature starts with it
    return b"Z" + bytes(rng.randrange(256) for _ in range(n - 1))
files = {
    "r.HEIC": noise(5000), "r.TIF": noise(3000), "r.DNG": noise(3001),
    "r.NEF": noise(3002), "r.PNG": noise(3003), "r.WEBP": noise(3004),
    "r.GPX": noise(3005), "r.PDF": noise(3006), "r.MP3": noise(3007),
    "notes.txt": noise(3008),
    "h.TIF": b"II*\0",
    "cut.HEIC": b"\0\0\0\x18ftypmi",
    "z.JPG": b"\xff\xd8" + bytes(100),
}
for name, data in files.items():
    open(d + "/" + name, "wb").write(data)
PY

"$EVCAP" init >/dev/null
timeout 60 "$EVCAP" ingest "$CARD" >"$T/out" 2>"$T/err"
check "notformat: ingest exits 0" test $? -eq 0
"$EVCAP" --json ls >"$T/ls.json"

# expect NAME KIND FORMAT REGEX: the item of that name, its kind and
# format, and a metadata_error matching REGEX ("" for none)
expect() {
	local got
	got=$(jq -c --arg n "$1" '.[] | select(.original_name == $n) |
		[.kind, .format, .metadata_error]' "$T/ls.json")
	if jq -e --arg k "$2" --arg f "$3" --arg e "$4" \
		'.[0] == $k and .[1] == $f and
		 (if $e == "" then .[2] == null else (.[2] // "" | test($e)) end)' \
		<<<"$got" >/dev/null; then
		ok "notformat: $1 is $2/$3, ${4:-no error}"
	else
		bad "notformat: $1: got $got, want $2/$3 and error /$4/"
	fi
}
expect r.HEIC photo heic '^not a HEIF file: no ftyp box at its start$'
expect r.TIF photo tiff '^not a TIFF file: it does not start with a TIFF header'
expect r.DNG photo dng '^not a DNG file: it does not start with a TIFF header'
expect r.NEF photo nef '^not a NEF file: it does not start with a TIFF header'
expect r.PNG photo png "^not a PNG file: it does not start with PNG's 8-byte signature"
expect r.WEBP photo webp '^not a WebP file: it does not start with "RIFF"'
expect r.GPX data gpx '^not a GPX file: it does not start with XML'
expect r.PDF document pdf '^not a PDF: it does not start with %PDF-$'
expect r.MP3 audio mp3 '^not an MP3 file: it starts with neither an ID3 tag'
expect notes.txt document txt ''
expect h.TIF photo tiff '^TIFF file ends after 4 bytes, inside its 8-byte header'
expect cut.HEIC photo heic \
	'^the file ends after 10 bytes, inside its ftyp box, before the brand .*: cut short$'
expect z.JPG photo jpeg \
	'^JPEG has byte 0x00 at offset 2 where a marker should be \(just after the SOI marker\)'
check "notformat: each flagged file is named on stderr" \
	test "$(grep -c 'kept, but its metadata could not be read' "$T/err")" -eq 12

# Empty files all have the same bytes, so a store holds one of them: each
# name is ingested into a store of its own.
for f in e.HEIC e.TIF e.DNG e.PNG; do
	mkdir -p "$T/empty/$f.d"
	: >"$T/empty/$f.d/$f"
	EVCAP_STORE=$T/empty/$f.store "$EVCAP" init >/dev/null
	EVCAP_STORE=$T/empty/$f.store "$EVCAP" ingest "$T/empty/$f.d" >/dev/null 2>&1
	check "notformat: empty $f is flagged as empty" \
		jq -e --arg n "$f" '.[] | select(.original_name == $n) |
			.kind == "photo" and .metadata_error == "the file is empty"' \
		<(EVCAP_STORE=$T/empty/$f.store "$EVCAP" --json ls)
done

# every file kept, byte for byte
ok_bytes=1
while IFS= read -r f; do
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	blob=$EVCAP_STORE/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha
	cmp -s "$f" "$blob" || { echo "# not kept byte for byte: $f"; ok_bytes=0; }
done < <(find "$CARD" -type f)
check "notformat: every file is kept byte for byte" test $ok_bytes -eq 1
