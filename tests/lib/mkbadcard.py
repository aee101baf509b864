#!/usr/bin/env python3
"""Makes a damaged memory card: the kinds of broken, half-written and hostile
files a card comes back from the field with, laid out like a camera's DCIM
tree, plus a JSON description of what each entry is and what an ingest must
make of it (tests/integration/badcard.sh checks that).

Photos to damage come from $EVCAP_CORPUS/photos when it is there; otherwise
a small camera-like JPEG (EXIF with GPS, DJI XMP) is built here. Every
damage is deterministic (a fixed random seed), so a failure reproduces.

usage: mkbadcard.py --out CARD --describe CARD.json [--outside DIR] [--corpus DIR]

Entry kinds in the description: "file" (a regular file; must be kept
byte-for-byte), "unreadable" (a regular file of mode 000), "symlink",
"fifo", "deepdir" (folders nested past ingest's depth limit). For files,
"meta_error" is true when the metadata is damaged in a way the reader must
name, false when it must read cleanly, null when either is fine.
"""
import argparse
import json
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # nothing written into the tree
sys.path.insert(0, os.path.join(HERE, "..", "fuzz"))
import mkseeds  # noqa: E402  (the TIFF, XMP and JPEG builders)

# Ingest walks at most 64 levels of folders; go a few past it.
DEEP_LEVELS = 70


def segments(data):
    """(marker, offset, total length) of each segment up to SOS; and the
    offset just after the SOS header (where metadata ends)."""
    out, i = [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            # stray bytes between segments: skip to the next marker, as
            # the walker does (up to 256 bytes)
            k = next((k for k in range(1, 257) if i + k + 1 < len(data) and
                      data[i + k] == 0xFF and data[i + k + 1] not in (0x00, 0xFF)), None)
            if k is None:
                break
            i += k
            continue
        m = data[i + 1]
        if m == 0xFF:
            i += 1
            continue
        if 0xD0 <= m <= 0xD7 or m == 0x01:
            out.append((m, i, 2))
            i += 2
            continue
        ln = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((m, i, ln + 2))
        i += 2 + ln
        if m == 0xDA:
            return out, i
    return out, i


class Card:
    def __init__(self, root, outside):
        self.root, self.outside, self.entries = root, outside, []
        self.seen = set()

    def path(self, rel):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def file(self, rel, data, meta_error, why):
        # Identical bytes become one item, read once; keep each damaged
        # file's bytes unique so its expectation is checkable.
        if meta_error is not None and data in self.seen:
            data = data + b"\0" * (1 + len(self.entries) % 7)
        self.seen.add(data)
        with open(self.path(rel), "wb") as f:
            f.write(data)
        self.entries.append({"kind": "file", "path": rel, "meta_error": meta_error, "why": why})

    def special(self, kind, rel, why, make):
        make(self.path(rel))
        self.entries.append({"kind": kind, "path": rel, "why": why})


def base_photos(corpus):
    """(name, bytes) of the JPEGs to damage: corpus photos, else one built."""
    out = []
    d = os.path.join(corpus, "photos") if corpus else None
    if d and os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f.lower().endswith(".jpg"):
                with open(os.path.join(d, f), "rb") as fh:
                    out.append((f, fh.read()))
    if not out:
        out.append(("BUILT.JPG", mkseeds.jpeg(mkseeds.camera_tiff(False), mkseeds.XMP_DJI_ATTR,
                                              w=640, h=480) + bytes(range(256)) * 40))
    return out


def with_app1(payload, extra_segments=b""):
    """A small JPEG whose first APP1 payload is exactly `payload` (which
    may lie about nothing: the length field is right)."""
    return (b"\xFF\xD8" + mkseeds.seg(0xE1, payload) + extra_segments +
            mkseeds.seg(0xC0, b"\x08\x00\x10\x00\x10\x01\x01\x11\x00") +
            mkseeds.seg(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x11\x22\xFF\xD9")


def damage(card, name, full, rng, whole):
    """Damaged copies of one photo. Only the first photo (`whole`) is also
    cut inside its image data; the others are damaged in a copy whose image
    data is shortened to 4 KiB, which keeps the card small while leaving
    every metadata byte in place."""
    stem = os.path.splitext(name)[0]
    segs, head_end = segments(full)
    data = full if whole else full[:head_end + 4096] + b"\xFF\xD9"
    # Truncations at many offsets: inside the markers, inside the EXIF
    # block, at the start of scan, and inside the image data. A cut before
    # the end of the SOS header leaves the metadata incomplete; one after
    # it and before the EOI marker (FF D9, which no image data holds)
    # leaves the image incomplete. Both are named.
    cuts = sorted(set([1, 2, 3, 4, 5, 11, 20, 100, 1000, 4096, head_end - 1, head_end,
                       head_end + 100] + ([len(data) // 2, len(data) - 2] if whole else []) +
                      [rng.randrange(1, max(2, head_end)) for _ in range(6)]))
    for c in cuts:
        if 0 < c < len(data):
            card.file("DCIM/100TRUNC/%s_cut%07d.JPG" % (stem, c), data[:c],
                      c < head_end or b"\xFF\xD9" not in data[head_end:c],
                      "truncated at byte %d of %d" % (c, len(data)))
    exif = [(m, o, ln) for m, o, ln in segs if m == 0xE1 and data[o + 4:o + 10] == b"Exif\0\0"]
    if exif:
        m, o, ln = exif[0]
        # The APP1 length says more than the file holds.
        lie = bytearray(data[:o + 4 + 64])
        lie[o + 2:o + 4] = b"\xFF\xF0"
        card.file("DCIM/101LIES/%s_app1_past_end.JPG" % stem, bytes(lie), True,
                  "APP1 length runs past the end of the file")
        # The APP1 length says less than its content: the walk lands in
        # the middle of the TIFF block.
        short = bytearray(data)
        short[o + 2:o + 4] = struct.pack(">H", 24)
        card.file("DCIM/101LIES/%s_app1_short.JPG" % stem, bytes(short), None,
                  "APP1 length shorter than its content")
        # IFD0 offset far outside the segment.
        t = o + 10
        far = bytearray(data)
        le = far[t:t + 2] == b"II"
        far[t + 4:t + 8] = struct.pack("<I" if le else ">I", 0x7FFFFFF0)
        card.file("DCIM/102IFD/%s_ifd0_outside.JPG" % stem, bytes(far), True,
                  "IFD0 offset outside the EXIF block")
        # Random bit flips inside the EXIF block only (image data intact).
        for k in range(8):
            flip = bytearray(data)
            lo, hi = o + 10, min(o + 2 + ln, len(data))
            for _ in range(1 + k * 4):
                i = rng.randrange(lo, hi)
                flip[i] ^= 1 << rng.randrange(8)
            card.file("DCIM/103FLIP/%s_flip%02d.JPG" % (stem, k), bytes(flip), None,
                      "random bit flips in the EXIF block")
    # The untouched original, as a control (small ones only: size costs
    # test time and proves nothing more).
    if whole or len(full) < 1 << 20:
        card.file("DCIM/100MEDIA/%s" % name, full, None, "the original")


def crafted(card, rng):
    tiff = mkseeds.camera_tiff(False)
    le_tiff = mkseeds.camera_tiff(True)
    # IFD entry count of 65535 with a few bytes behind it.
    card.file("DCIM/104CRAFT/ifd_count_65535.JPG",
              with_app1(b"Exif\0\0MM\0*\0\0\0\x08\xFF\xFF" + bytes(64)), None,
              "IFD0 claims 65535 entries")
    # IFD1 pointing back at IFD0 (a loop).
    loop = bytearray(le_tiff)
    n0 = struct.unpack("<H", loop[8:10])[0]
    loop[10 + 12 * n0:14 + 12 * n0] = struct.pack("<I", 8)
    card.file("DCIM/104CRAFT/ifd_loop.JPG", with_app1(b"Exif\0\0" + bytes(loop)), None,
              "IFD0's next-IFD link points at itself")
    # MakerNotes for each maker libexif has a parser for, some garbled.
    for le in (False, True):
        for make, mn in mkseeds.makernotes(le):
            tag = "".join(c for c in make.split()[0].lower() if c.isalnum())
            t = mkseeds.camera_tiff(le, make, "X", mn)
            card.file("DCIM/105MKNOTE/%s_%s.JPG" % (tag, "le" if le else "be"),
                      with_app1(b"Exif\0\0" + t), None, "%s MakerNote" % make)
            g = bytearray(t)
            for _ in range(6):
                g[rng.randrange(len(g) - len(mn), len(g))] = rng.randrange(256)
            card.file("DCIM/105MKNOTE/%s_%s_garbled.JPG" % (tag, "le" if le else "be"),
                      with_app1(b"Exif\0\0" + bytes(g)), None, "%s MakerNote, garbled" % make)
    # Deep XMP: nesting far past any sane depth, inside one APP1.
    deep = ("<x:xmpmeta>" + "<rdf:li>" * 6000 + "</rdf:li>" * 6000 + "</x:xmpmeta>").encode()
    card.file("DCIM/106XMP/deep.JPG",
              b"\xFF\xD8" + mkseeds.seg(0xE1, b"Exif\0\0" + tiff) +
              mkseeds.seg(0xE1, mkseeds.XMP_HEADER + deep[:65000]) + with_app1(b"x")[2:], None,
              "XMP nested 6000 levels deep")
    # Unterminated XMP: a DJI value whose quote never closes.
    unterminated = mkseeds.XMP_DJI_ATTR.split('drone-dji:GpsLatitude="')[0] + \
        'drone-dji:GpsLatitude="49.17' + "5" * 3000
    card.file("DCIM/106XMP/unterminated.JPG",
              b"\xFF\xD8" + mkseeds.seg(0xE1, mkseeds.XMP_HEADER + unterminated.encode()) +
              with_app1(b"x")[2:], True, "XMP value with no closing quote")
    # A huge segment count: more COM segments than the walker takes.
    many = b"".join(mkseeds.seg(0xFE, b"%d" % i) for i in range(3000))
    card.file("DCIM/107COUNT/segments_3000.JPG",
              b"\xFF\xD8" + mkseeds.seg(0xE1, b"Exif\0\0" + tiff) + many + with_app1(b"x")[2:],
              True, "3000 segments before the image data")
    # Empty files and files that are not JPEGs but are named like one.
    card.file("DCIM/108NOTJPG/empty.JPG", b"", True, "zero-length file named .JPG")
    card.file("DCIM/108NOTJPG/empty.MP4", b"", None, "zero-length video")
    card.file("DCIM/108NOTJPG/text.JPG", b"this is not a photo\n" * 20, True, "text named .JPG")
    card.file("DCIM/108NOTJPG/zeros.JPG", bytes(65536), True, "zeroed photo")
    card.file("DCIM/108NOTJPG/png.jpg", b"\x89PNG\r\n\x1a\n" + bytes(100), None, "a PNG named .jpg")
    card.file("DCIM/108NOTJPG/random.JPG", bytes(rng.randrange(256) for _ in range(5000)), True,
              "random bytes named .JPG")
    card.file("DCIM/108NOTJPG/random.dat", bytes(rng.randrange(256) for _ in range(3000)), None,
              "random bytes")
    card.file("MISC/track.gpx", b"<?xml version='1.0'?><gpx><trk><trkseg><trkpt lat='1'",
              None, "a cut GPX file")
    # Names a card can hold: control characters and bytes that are not UTF-8.
    card.file("DCIM/109NAMES/new\nline.JPG", b"\xFF\xD8\xFF\xD9-newline", None,
              "a newline in the name")
    card.file("DCIM/109NAMES/\xff\xfe-latin1.JPG".encode("latin-1").decode("utf-8", "surrogateescape"),
              b"\xFF\xD8\xFF\xD9-latin1", None, "a name that is not UTF-8")
    card.file("DCIM/109NAMES/检察院 照片.JPG", b"\xFF\xD8\xFF\xD9-cjk", None, "a Chinese name")
    # The characters evcap writes for the undecodable name above, as a
    # name of their own: both must stay tellable apart.
    card.file("DCIM/109NAMES/\\xFF\\xFE-latin1.JPG", b"\xFF\xD8\xFF\xD9-backslashes", None,
              "a name holding backslashes")


def specials(card):
    out = card.outside
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "secret.txt"), "wb") as f:
        f.write(b"outside the card: must never be read through a link\n")
    os.makedirs(os.path.join(out, "dir"), exist_ok=True)
    with open(os.path.join(out, "dir", "x.JPG"), "wb") as f:
        f.write(b"outside the card, behind a linked folder\n")
    links = [
        ("DCIM/110LINKS/to_secret.JPG", os.path.join(out, "secret.txt")),
        ("DCIM/110LINKS/to_etc_passwd.JPG", "/etc/passwd"),
        ("DCIM/110LINKS/up_and_out.JPG", os.path.relpath(os.path.join(out, "secret.txt"),
                                                          os.path.join(card.root, "DCIM/110LINKS"))),
        ("DCIM/110LINKS/to_dir", os.path.join(out, "dir")),
        ("DCIM/110LINKS/dangling.JPG", "/nonexistent/evcap/nothing.JPG"),
        ("DCIM/110LINKS/loop.JPG", "loop.JPG"),
        ("DCIM/110LINKS/to_fifo.JPG", "../111FIFO/pipe.JPG"),
    ]
    for rel, target in links:
        card.special("symlink", rel, "symbolic link to %s" % target,
                     lambda p, t=target: os.symlink(t, p))
    card.special("fifo", "DCIM/111FIFO/pipe.JPG", "a FIFO named like a photo", os.mkfifo)
    card.special("fifo", "DCIM/111FIFO/pipe2", "a FIFO", os.mkfifo)
    # A directory named like a photo, holding a real file.
    os.makedirs(card.path("DCIM/112DIRS/DJI_0001.JPG/inner"), exist_ok=True)
    card.file("DCIM/112DIRS/DJI_0001.JPG/inner/real.JPG", b"\xFF\xD8\xFF\xD9-in-dir", None,
              "a file inside a directory named like a photo")
    # Folders nested past the walker's depth limit.
    rel = "DEEP/" + "/".join("d%02d" % i for i in range(DEEP_LEVELS))
    os.makedirs(card.path(rel + "/x"), exist_ok=True)
    with open(card.path(rel + "/deep.JPG"), "wb") as f:
        f.write(b"\xFF\xD8\xFF\xD9-deep")
    card.entries.append({"kind": "deepdir", "path": rel, "why": "folders %d deep" % DEEP_LEVELS,
                         "file": rel + "/deep.JPG", "named": "DEEP/d00/d01"})
    # Unreadable (mode 000); as root it stays readable.
    p = card.path("DCIM/113PERM/locked.JPG")
    with open(p, "wb") as f:
        f.write(b"\xFF\xD8\xFF\xD9-locked")
    os.chmod(p, 0)
    card.entries.append({"kind": "unreadable", "path": "DCIM/113PERM/locked.JPG",
                         "why": "mode 000"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="the card folder to create")
    ap.add_argument("--describe", required=True, help="where to write the JSON description")
    ap.add_argument("--outside", help="a folder beside the card that links point into")
    ap.add_argument("--corpus", default=os.environ.get("EVCAP_CORPUS"))
    ap.add_argument("--seed", type=int, default=20231015)
    ap.add_argument("--small", action="store_true", help="one base photo only")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    outside = a.outside or os.path.join(os.path.dirname(os.path.abspath(a.out)), "outside")
    rng = random.Random(a.seed)
    card = Card(a.out, outside)
    photos = base_photos(a.corpus)
    if a.small:
        photos = photos[:1]
    # The photo also cut inside its image data: the smallest of some size.
    sizes = [len(d) for _, d in photos]
    whole = min(range(len(photos)), key=lambda i: (sizes[i] < 20000, sizes[i]))
    for i, (name, data) in enumerate(photos):
        damage(card, name, data, rng, i == whole)
    crafted(card, rng)
    specials(card)
    with open(a.describe, "w", encoding="utf-8") as f:
        json.dump({"card": os.path.abspath(a.out), "outside": outside,
                   "entries": card.entries}, f, ensure_ascii=True, indent=1,
                  default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
