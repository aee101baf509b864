#!/usr/bin/env python3
"""Seed inputs for the fuzz harnesses.

Writes small crafted inputs for every harness (the shapes each parser is
meant to read: a camera JPEG head, EXIF with GPS and MakerNotes, DJI XMP,
NMEA with real checksums, GPX 1.0 and 1.1, a full evcap.conf, a manifest
whose custody hashes are right), and with --corpus, inputs cut from the
real-world corpus (JPEG heads, their Exif and XMP payloads, the first lines
of receiver logs, GPX tracks). Corpus-derived seeds are written only under
the build folder, never into the project.

usage: mkseeds.py --out DIR [--corpus DIR] [--crafted-only]
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import zlib

# ---------------------------------------------------------------- TIFF/EXIF

TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}


def _val(le, typ, values):
    """Encodes a list of values (or bytes/str) of one EXIF type."""
    e = "<" if le else ">"
    if typ in (2, 7, 1) and isinstance(values, (bytes, str)):
        b = values.encode() if isinstance(values, str) else values
        if typ == 2 and not b.endswith(b"\0"):
            b += b"\0"
        return b, len(b)
    if typ == 3:
        return b"".join(struct.pack(e + "H", v) for v in values), len(values)
    if typ == 4:
        return b"".join(struct.pack(e + "I", v) for v in values), len(values)
    if typ == 5:
        return b"".join(struct.pack(e + "II", n, d) for n, d in values), len(values)
    if typ == 10:
        return b"".join(struct.pack(e + "ii", n, d) for n, d in values), len(values)
    if typ == 1:
        return bytes(values), len(values)
    raise ValueError(typ)


def tiff(le, ifd0, exif=None, gps=None):
    """A TIFF block (what follows Exif\\0\\0): IFD0 with optional Exif and
    GPS sub-IFDs. Each IFD is a list of (tag, type, values)."""
    e = "<" if le else ">"
    ifds = [list(ifd0)]
    if exif is not None:
        ifds[0].append((0x8769, 4, [0]))
        ifds.append(list(exif))
    if gps is not None:
        ifds[0].append((0x8825, 4, [0]))
        ifds.append(list(gps))
    for d in ifds:
        d.sort(key=lambda t: t[0])

    def data_size(d):
        s = 0
        for tag, typ, vals in d:
            b, _ = _val(le, typ, vals)
            if len(b) > 4:
                s += len(b) + (len(b) & 1)
        return s

    starts, pos = [], 8
    for d in ifds:
        starts.append(pos)
        pos += 2 + 12 * len(d) + 4 + data_size(d)
    ptr = {}
    k = 1
    if exif is not None:
        ptr[0x8769] = starts[k]
        k += 1
    if gps is not None:
        ptr[0x8825] = starts[k]
    out = bytearray((b"II*\0" if le else b"MM\0*") + struct.pack(e + "I", 8))
    for i, d in enumerate(ifds):
        assert len(out) == starts[i]
        dpos = starts[i] + 2 + 12 * len(d) + 4
        head, data = bytearray(struct.pack(e + "H", len(d))), bytearray()
        for tag, typ, vals in d:
            if i == 0 and tag in ptr:
                vals = [ptr[tag]]
            b, cnt = _val(le, typ, vals)
            head += struct.pack(e + "HHI", tag, typ, cnt)
            if len(b) <= 4:
                head += b.ljust(4, b"\0")
            else:
                head += struct.pack(e + "I", dpos + len(data))
                data += b + (b"\0" if len(b) & 1 else b"")
        head += struct.pack(e + "I", 0)
        out += head + data
    return bytes(out)


def camera_tiff(le=False, make="DJI", model="FC6310", makernote=None, gps=True,
                offset="+08:00", taken="2023:05:01 10:00:00"):
    ifd0 = [(0x010F, 2, make), (0x0110, 2, model), (0x0112, 3, [1]),
            (0x0132, 2, "2023:05:01 10:00:00")]
    exif = [(0x9291, 2, "123"), (0xA002, 4, [4000]), (0xA003, 4, [3000]),
            (0xA431, 2, "0K8TH7T0")]
    if taken is not None:
        exif.insert(0, (0x9003, 2, taken))
    if offset:
        exif.append((0x9011, 2, offset))
    if makernote is not None:
        exif.append((0x927C, 7, makernote))
    g = None
    if gps:
        g = [(0x0000, 1, [2, 3, 0, 0]), (0x0001, 2, "N"), (0x0002, 5, [(49, 1), (10, 1), (3012, 100)]),
             (0x0003, 2, "E"), (0x0004, 5, [(125, 1), (13, 1), (4500, 100)]),
             (0x0005, 1, [0]), (0x0006, 5, [(21250, 100)]),
             (0x0007, 5, [(2, 1), (0, 1), (0, 1)]), (0x0009, 2, "A"),
             (0x000B, 5, [(12, 10)]), (0x0012, 2, "WGS-84"), (0x001D, 2, "2023:05:01"),
             (0x001F, 5, [(35, 10)])]
    return tiff(le, ifd0, exif, g)


def makernotes(le):
    """MakerNote payloads libexif has loaders for, chosen by Make."""
    e = "<" if le else ">"
    small_ifd = struct.pack(e + "H", 2) + struct.pack(e + "HHI", 1, 3, 1) + b"\x01\0\0\0" + \
        struct.pack(e + "HHI", 2, 2, 4) + b"abc\0" + struct.pack(e + "I", 0)
    return [
        ("Canon", small_ifd),
        ("OLYMPUS IMAGING CORP.", b"OLYMP\0\x01\0" + small_ifd),
        ("NIKON CORPORATION", b"Nikon\0\x02\x10\0\0" + (b"II*\0" if le else b"MM\0*") +
         struct.pack(e + "I", 8) + small_ifd),
        ("FUJIFILM", b"FUJIFILM" + struct.pack("<I", 12) + small_ifd),
        ("PENTAX Corporation", b"AOC\0" + (b"II" if le else b"MM") + small_ifd),
        ("Apple", b"Apple iOS\0\0\x01MM" + small_ifd),
        ("CASIO COMPUTER CO.,LTD.", b"QVC\0\0\0" + small_ifd),
        ("SANYO", b"SANYO\0\x01\0" + small_ifd),
    ]


# ---------------------------------------------------------------- JPEG

def seg(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


XMP_DJI_ATTR = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="DJI Meta Data" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'
    ' xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
    ' xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"'
    ' xmp:CreateDate="2023-05-01T10:00:00+08:00"'
    ' drone-dji:GpsLatitude="49.1750" drone-dji:GpsLongtitude="+125.2291"'
    ' drone-dji:AbsoluteAltitude="+212.50" drone-dji:RelativeAltitude="+80.10"'
    ' drone-dji:GimbalRollDegree="+0.00" drone-dji:GimbalYawDegree="-3.20"'
    ' drone-dji:GimbalPitchDegree="-90.00" drone-dji:FlightRollDegree="+1.20"'
    ' drone-dji:FlightYawDegree="-3.10" drone-dji:FlightPitchDegree="+2.30"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')

XMP_ELEMENTS = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:d="http://www.dji.com/drone-dji/1.0/"'
    ' xmlns:e="http://ns.adobe.com/exif/1.0/" xmlns:ps="http://ns.adobe.com/photoshop/1.0/"'
    ' xmlns:aux="http://ns.adobe.com/exif/1.0/aux/">'
    '<d:GpsLatitude>-22.5373</d:GpsLatitude><d:GpsLongitude>114.0580</d:GpsLongitude>'
    '<d:AbsoluteAltitude>35.2</d:AbsoluteAltitude>'
    '<e:GPSLatitude>22,32.24S</e:GPSLatitude><e:GPSLongitude>114,3,28.8E</e:GPSLongitude>'
    '<e:GPSAltitude>3520/100</e:GPSAltitude><e:GPSAltitudeRef>1</e:GPSAltitudeRef>'
    '<e:DateTimeOriginal>2023:05:01T10:00:00.5-04:00</e:DateTimeOriginal>'
    '<ps:DateCreated>2023-05-01T10:00Z</ps:DateCreated>'
    '<aux:SerialNumber>  SN123  </aux:SerialNumber>'
    '</rdf:Description></rdf:RDF></x:xmpmeta>')

XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\0"


def jpeg(exif_tiff=None, xmp=None, w=64, h=48, extra=b""):
    out = b"\xFF\xD8" + seg(0xE0, b"JFIF\0\1\1\0\0\1\0\1\0\0")
    if exif_tiff is not None:
        out += seg(0xE1, b"Exif\0\0" + exif_tiff)
    if xmp is not None:
        out += seg(0xE1, XMP_HEADER + xmp.encode())
    out += extra
    out += seg(0xDB, bytes([0]) + bytes(range(1, 65)))
    out += seg(0xC0, bytes([8]) + struct.pack(">HH", h, w) + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01")
    out += seg(0xC4, b"\x00" + bytes(16) + b"")
    out += seg(0xDA, b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00")
    out += b"\x12\x34\xFF\x00\x56\xFF\xD0\x78\xFF\xD9"
    return out


def iptc_segment(cuts=()):
    """An APP13 "Photoshop 3.0" segment: a resource of another kind, then
    the IPTC one with DateCreated, TimeCreated (with a zone) and keywords.
    With cuts, the resources are split at those offsets over consecutive
    APP13 segments, each with the header, as exiftool splits a block over
    64 KB."""
    iim = b""
    for ds, v in ((55, b"20230615"), (60, b"102030+0800"), (25, b"river")):
        iim += b"\x1c\x02" + bytes([ds]) + struct.pack(">H", len(v)) + v
    res = b"8BIM\x03\xed\x03abc" + struct.pack(">I", 3) + b"xyz\0"
    res += b"8BIM\x04\x04\0\0" + struct.pack(">I", len(iim)) + iim
    if len(iim) & 1:
        res += b"\0"
    out, at = b"", 0
    for c in list(cuts) + [len(res)]:
        out += seg(0xED, b"Photoshop 3.0\0" + res[at:c])
        at = c
    return out


def flir_segments(t=1467055782, ms=41, west=240, parts=3):
    """A FLIR camera's FFF record (big-endian header, little-endian camera
    block, as the Vue Pro writes them), split over APP1 "FLIR" segments."""
    ci_at, ci_len = 328, 0x400
    fff = bytearray(ci_at + ci_len)
    fff[0:8] = b"FFF\0Test"
    struct.pack_into(">III", fff, 20, 100, 64, 2)
    struct.pack_into(">HHIIII", fff, 64, 1, 0, 100, 1, 128, 200)
    struct.pack_into(">HHIIII", fff, 96, 0x20, 0, 100, 1, ci_at, ci_len)
    fff[128:328] = b"\xaa" * 200
    struct.pack_into("<H", fff, ci_at, 2)
    fff[ci_at + 0xd4:ci_at + 0xd4 + 16] = b"Vue Pro 640 13mm"
    fff[ci_at + 0x104:ci_at + 0x104 + 6] = b"162682"
    struct.pack_into("<IIh", fff, ci_at + 0x384, t, ms, west)
    step = -(-len(fff) // parts)
    out = b""
    for i in range(parts):
        out += seg(0xE1, b"FLIR\0\1" + bytes([i, parts - 1]) + bytes(fff[i * step:(i + 1) * step]))
    return out


# ---------------------------------------------------------------- NMEA

def nmea(body):
    x = 0
    for ch in body.encode():
        x ^= ch
    return "$%s*%02X" % (body, x)


NMEA_LINES = [
    "GPRMC,020000.00,A,4910.5000,N,12513.7500,E,0.5,90.0,010523,,,A",
    "GPGGA,020000.00,4910.5000,N,12513.7500,E,1,08,0.9,212.5,M,10.1,M,,",
    "GNGNS,020001.00,4910.5010,N,12513.7510,E,AAN,12,0.8,212.7,10.1,,",
    "GPGLL,4910.5020,N,12513.7520,E,020002.00,A,A",
    "GPZDA,020003.00,01,05,2023,00,00",
    "BDGGA,020003.00,4910.5030,N,12513.7530,E,2,10,0.7,213.0,M,10.1,M,,",
    "GPRMC,020004.00,V,,,,,,,010523,,,N",
    "GPGGA,020005.00,4910.5040,N,12513.7540,E,8,08,0.9,212.5,M,10.1,M,,",
    "PMGNTRK,4910.505,N,12513.755,E,00700,F,020006.00,A,,010523",
    "GPGSV,3,1,12,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45",
]

# ---------------------------------------------------------------- GPX

GPX11 = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="seed" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><name>t</name><trkseg>
  <trkpt lat="49.1750" lon="125.2291"><ele>212.5</ele><time>2023-05-01T02:00:00Z</time><sat>8</sat><hdop>0.9</hdop></trkpt>
  <trkpt lat="49.1751" lon="125.2292"><time>2023-05-01T02:00:01.5+08:00</time><fix>3d</fix></trkpt>
  <trkpt lat="49.1752" lon="125.2293"><time>2023-05-01T02:00:02</time></trkpt>
  <trkpt lat="91" lon="0"><time>2023-05-01T02:00:03Z</time></trkpt>
 </trkseg></trk>
 <rte><rtept lat="-1" lon="-2"><time>2023-05-01T03:00:00Z</time></rtept></rte>
 <wpt lat="10" lon="20"><ele></ele><time>2023-05-01T04:00:00Z</time><extensions><x:y xmlns:x="urn:x">1</x:y></extensions></wpt>
</gpx>
"""

GPX10 = """<?xml version="1.0"?>
<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0">
<trk><trkseg>
<trkpt lat="22.5" lon="114.05"><time>2023-05-01T02:00:00Z</time><fix>none</fix></trkpt>
<trkpt lat="22.5" lon="114.06"><time>2023-05-01T02:00:05Z</time><fix>2d</fix><ele>1e3</ele></trkpt>
<trkpt lat="22.5" lon="114.07"/>
</trkseg></trk></gpx>
"""

GPX_NONS = '<gpx><trk><trkseg><trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>'

# ---------------------------------------------------------------- config

CONFIG = """# evcap.conf
[store]
path = /var/lib/evcap
operator = 张三
operator = "李四 "
case = 嫩检公益立〔2023〕15号
time_offset = +08:00

[capture]
watch = /media
watch = /run/media
settle_seconds = 2.5
sensor = /dev/ttyUSB0:9600:csv

; gps
[gps]
server = [::1]:2947
max_gap = 60
max_extrapolate = 10

[sync]
target = s3://evidence/field
endpoint = https://rgw.example:7480
region = us-east-1
access_key = AKIAEXAMPLE
secret_key = "secret # kept"
retain_days = 3650
bandwidth = 1000000
interval = 300
"""

# ---------------------------------------------------------------- manifest


def case_key(number):
    slug, dash = "", False
    for ch in number.encode():
        c = chr(ch)
        if "A" <= c <= "Z":
            c = c.lower()
        if ("a" <= c <= "z") or ("0" <= c <= "9"):
            if dash and slug:
                slug += "-"
            dash = False
            slug += c
            if len(slug) >= 32:
                break
        else:
            dash = True
    h = hashlib.sha256(number.encode()).hexdigest()
    return ("%s-%s" % (slug[:32], h[:16])) if slug else "case-" + h[:16]


def manifest(n_items=1, n_events=2):
    number = "XX检公益立〔2023〕15号"
    ck = case_key(number)
    dev = "0a1b2c3d4e5f6a7b"
    items = []
    for i in range(n_items):
        sha = hashlib.sha256(b"item %d" % i).hexdigest()
        items.append({
            "sha256": sha, "size": 1000 + i, "kind": "photo", "format": "jpeg",
            "original_name": "DJI_%04d.JPG" % i, "original_path": "DCIM/100MEDIA/DJI_%04d.JPG" % i,
            "ingested_at": "2023-05-01T02:00:00Z", "lat": 49.175, "lon": 125.229,
            "operators": ["张三"], "width": 4000,
            "blob": "blobs/sha256/%s/%s/%s" % (sha[:2], sha[2:4], sha),
            "notes": [{"text": "outfall", "created_at": "2023-05-01T02:01:00Z"}],
            "site": "outfall 1",
        })
    events, prev = [], "0" * 64
    for s in range(1, n_events + 1):
        ev = {"action": "ingest", "actor": "tester", "at": "2023-05-01T02:00:0%dZ" % s,
              "case": number, "detail": {}, "device": dev, "item": None,
              "prev": prev, "seq": s}
        text = json.dumps(ev, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        h = hashlib.sha256(bytes.fromhex(prev) + text.encode()).hexdigest()
        events.append({"seq": s, "event": text, "prev_hash": prev, "hash": h})
        prev = h
    m = {
        "format": "evcap-bundle", "format_version": 1,
        "bundle_id": "20230501-020000-0a1b2c3d-12345678", "device_id": dev,
        "public_key_id": "0123456789ABCDEF", "public_key": "RWQBI0VniavN7x0123456789abcdefghijklmnopqrstuvwxyz",
        "created_at": "2023-05-01T02:00:00Z", "case_key": ck,
        "case": {"number": number, "title": "flood channel", "opened_at": "2023-04-30T00:00:00Z",
                 "operators": ["张三", "李四"], "medium_kept": 1},
        "sites": [{"name": "outfall 1", "lat": 49.17, "lon": 125.22, "created_at": "2023-04-30T00:00:00Z"}],
        "items": items,
        "readings": [{"raw": "NH3-N,2.3,mg/L", "raw_sha256": hashlib.sha256(b"r").hexdigest(),
                      "created_at": "2023-05-01T02:05:00Z", "value": 2.3, "parameter": "NH3-N",
                      "line_no": 1}],
        "custody": {"events": events, "head": {"seq": n_events, "hash": prev}},
    }
    return json.dumps(m, ensure_ascii=False, indent=1).encode()


# ---------------------------------------------------------------- writers

# ---------------------------------------------------------------- MP4


def box(typ, body):
    return struct.pack(">I", 8 + len(body)) + typ + body


def mp4(moov_first=False, mdat=64, xyz=None, apple_date=None, v1=False, largesize=False,
        loci=False):
    """An MP4 with a movie header (2023-06-15 10:00:00 as written), user
    data and Apple keys, its moov before or after the media data."""
    t = 1686823200 + 2082844800
    if v1:
        hdr = struct.pack(">IQQIQ", 1 << 24, t, t, 1000, 10000)
    else:
        hdr = struct.pack(">IIIII", 0, t, t, 1000, 10000)
    mvhd = box(b"mvhd", hdr + struct.pack(">IH", 0x10000, 0x100) + bytes(10)
               + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
               + bytes(24) + struct.pack(">I", 2))
    body = mvhd
    if xyz:
        x = xyz.encode()
        body += box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(x), 0x15c7) + x)
                    + box(b"\xa9day", struct.pack(">HH", 4, 0) + b"2023"))
    if loci:  # 3GPP location and a bare date, as Android phones write them
        pos = struct.pack(">iii", int(6.676 * 65536), int(52.369 * 65536), int(10.5 * 65536))
        body += box(b"udta", box(b"loci", struct.pack(">IH", 0, 0x15c7) + b"Home\0\0" + pos
                                 + b"earth\0\0")
                    + box(b"date", b"2020-11-20T15:04:02+0100"))
    if apple_date:
        key = b"com.apple.quicktime.creationdate"
        body += box(b"meta", box(b"hdlr", bytes(8) + b"mdta" + bytes(13))
                    + box(b"keys", struct.pack(">II", 0, 1) + struct.pack(">I", 8 + len(key))
                          + b"mdta" + key)
                    + box(b"ilst", box(b"\0\0\0\1", box(b"data", struct.pack(">II", 1, 0)
                                                        + apple_date.encode()))))
    moov = box(b"moov", body)
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isommp41")
    if largesize:
        md = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + mdat) + bytes(mdat)
    else:
        md = box(b"mdat", bytes(mdat))
    return ftyp + (moov + md if moov_first else md + moov)


def heif(exif_last=True):
    """A HEIC photo: ftyp, meta (iinf naming an image and an Exif item,
    iloc version 1 placing them), mdat; the Exif item after the image, as
    libheif writes it, or before the meta box."""
    item = struct.pack(">I", 0) + camera_tiff(False, make="Apple", model="iPhone 13")
    img = bytes((i * 7 + 3) & 255 for i in range(600))
    ftyp = box(b"ftyp", b"heic\0\0\0\0mif1heic")

    def meta(img_at, item_at):
        infe = [box(b"infe", struct.pack(">IHH", 2 << 24, i + 1, 0) + t + b"\0")
                for i, t in enumerate((b"hvc1", b"Exif"))]
        iinf = box(b"iinf", struct.pack(">IH", 0, 2) + b"".join(infe))
        iloc = box(b"iloc", struct.pack(">IBBH", 1 << 24, 0x44, 0, 2)
                   + struct.pack(">HHHHII", 1, 0, 0, 1, img_at, len(img))
                   + struct.pack(">HHHHII", 2, 0, 0, 1, item_at, len(item)))
        return box(b"meta", struct.pack(">I", 0) + iinf + iloc)

    m = len(meta(0, 0))
    if exif_last:
        at = len(ftyp) + m + 8
        return ftyp + meta(at, at + len(img)) + box(b"mdat", img + item)
    at = len(ftyp) + 8
    return ftyp + box(b"mdat", item + img) + meta(at + len(item), at)


def png(exif_tiff=None, xmp=None):
    """A 2x2 PNG with an eXIf chunk and an iTXt XMP packet, where given."""
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    if exif_tiff:
        out += chunk(b"eXIf", exif_tiff)
    if xmp:
        out += chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp.encode())
    raw = b"".join(b"\0" + bytes(6) for _ in range(2))
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def webp(exif_tiff=None, xmp=None):
    """A 1x1 WebP (VP8X, a lossless image) with EXIF and XMP chunks, where given."""
    def chunk(t, b):
        return t + struct.pack("<I", len(b)) + b + (b"\0" if len(b) & 1 else b"")
    body = chunk(b"VP8X", bytes([0x0C, 0, 0, 0]) + bytes(6))
    body += chunk(b"VP8L", bytes.fromhex("2f0000001007101111888" "8fe0700"))
    if exif_tiff:
        body += chunk(b"EXIF", exif_tiff)
    if xmp:
        body += chunk(b"XMP ", xmp.encode())
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def put(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def crafted(out):
    for le in (False, True):
        bo = "ii" if le else "mm"
        t = camera_tiff(le)
        put(out, "exif", "tiff-%s" % bo, b"\0" + t)
        put(out, "exif", "jpeg-%s" % bo, b"\1" + jpeg(t))
        put(out, "jpeg", "camera-%s.jpg" % bo, jpeg(t, XMP_DJI_ATTR))
        put(out, "meta", "camera-%s" % bo, b"\0" + jpeg(t, XMP_DJI_ATTR))
        for make, mn in makernotes(le):
            tag = "".join(c for c in make.split()[0].lower() if c.isalnum())
            put(out, "exif", "makernote-%s-%s" % (tag, bo), b"\0" + camera_tiff(le, make, "X", mn))
    # Reconyx trail cameras: no EXIF date, the time in the MakerNote
    hf = bytearray(64)
    hf[0:4] = b"\x01\xf1\x03\x00"
    struct.pack_into("<6H", hf, 22, 45, 30, 21, 6, 15, 2023)
    put(out, "exif", "reconyx-hyperfire", b"\0" + camera_tiff(True, "RECONYX", "HC500", bytes(hf),
                                                              taken=None))
    h2 = bytearray(80)
    h2[0:10] = b"RECONYXH2\0"
    struct.pack_into("<6H", h2, 62, 59, 58, 23, 31, 12, 2024)
    put(out, "exif", "reconyx-h2", b"\0" + camera_tiff(False, "RECONYX", "HF2", bytes(h2),
                                                       taken=None))
    put(out, "exif", "no-gps-blank-offset", b"\0" + camera_tiff(True, gps=False, offset="   :  "))
    put(out, "jpeg", "header-only.jpg", b"\xFF\xD8\xFF\xFF\xFF\xD9")
    put(out, "jpeg", "elements.jpg", jpeg(None, XMP_ELEMENTS, extra=seg(0xE2, b"ICC_PROFILE\0\1\1")))
    put(out, "xmp", "dji-attributes.xmp", XMP_DJI_ATTR.encode())
    put(out, "xmp", "elements.xmp", XMP_ELEMENTS.encode())
    put(out, "xmp", "coord", b"22,32.24N\n" + XMP_ELEMENTS.encode())
    put(out, "xmp", "date", b"2023-05-01T10:00:00.25+08:00\n<a xmp:CreateDate='x'/>")
    put(out, "meta", "elements-jpeg", b"\x01" + jpeg(None, XMP_ELEMENTS))
    put(out, "meta", "truncated-long", b"\x10" + jpeg(camera_tiff(False))[:300])
    put(out, "meta", "gpx", b"\x02" + GPX11.encode())
    put(out, "meta", "nmea", b"\x03" + "\n".join(nmea(x) for x in NMEA_LINES[:3]).encode())
    put(out, "meta", "mp4", b"\x04\0\0\0\x18ftypisom\0\0\0\0isommp41")
    put(out, "meta", "dng", b"\x05II*\0\x08\0\0\0\x01\0\x12\xc6\x01\0\x04\0\0\0\x01\x04\0\0\0\0\0\0")
    put(out, "meta", "png", b"\x07\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    put(out, "meta", "png-exif-xmp", b"\x07" + png(camera_tiff(False), XMP_DJI_ATTR))
    put(out, "meta", "webp-exif-xmp", b"\x07" + webp(camera_tiff(True), XMP_DJI_ATTR))
    put(out, "meta", "empty-jpg", b"\x60")
    put(out, "meta", "flir", b"\x00" + jpeg(None, extra=flir_segments()))
    put(out, "meta", "rw2", b"\x07IIU\0" + camera_tiff(True)[4:])
    put(out, "meta", "orf-be", b"\x07MMOR" + camera_tiff(False)[4:])
    put(out, "meta", "iptc-xmp", b"\x00" + jpeg(None, XMP_ELEMENTS, extra=iptc_segment()))
    put(out, "meta", "iptc-split", b"\x00" + jpeg(None, extra=iptc_segment((22, 38))))
    put(out, "jpeg", "flir.jpg", jpeg(None, extra=flir_segments(parts=2)))
    put(out, "bmff", "moov-last", b"\x02" + mp4(xyz="+47.3512+123.9174+150.5/"))
    put(out, "bmff", "moov-first-keys", b"\x05" + mp4(True, apple_date="2023-06-15T10:00:05+0800"))
    put(out, "bmff", "v1-large-small-cap", b"\x83" + mp4(v1=True, largesize=True, mdat=300,
                                                          xyz="+4721.06+12355.04/"))
    put(out, "bmff", "no-moov", b"\x00" + mp4()[:120])
    put(out, "meta", "mp4-moov", b"\x04" + mp4(True, xyz="+47.35+123.91/"))
    put(out, "meta", "heic", b"\x0e" + heif())
    put(out, "bmff", "loci-date", b"\x03" + mp4(True, loci=True))
    # a moov of 20 bytes holding an mvhd that says 0x7fffffff; a (c)xyz
    # running past its udta
    ftyp = box(b"ftyp", b"isom\0\0\0\0")
    put(out, "bmff", "child-past-parent", b"\x02" + ftyp + struct.pack(">I", 20) + b"moov"
        + struct.pack(">I", 0x7fffffff) + b"mvhd" + bytes(4))
    x = b"+47.3512+123.9174/"
    xyz = (struct.pack(">I", 8 + 4 + len(x) + 40) + b"\xa9xyz"
           + struct.pack(">HH", len(x), 0x15c7) + x)
    put(out, "bmff", "xyz-past-udta", b"\x05" + ftyp + box(b"moov", box(b"udta", xyz) + bytes(48)))
    # files whose bytes are not what their names say (fuzz_meta_names)
    put(out, "meta", "heic-cut-in-ftyp", b"\x0e\0\0\0\x18ftypmi")
    put(out, "meta", "tiff-header-only", b"\x08II*\0")
    put(out, "meta", "tiff-ifd0-empty", b"\x08II*\0\x08\0\0\0\0\0\0\0\0\0")
    put(out, "meta", "jpeg-soi-zeros", b"\x00\xff\xd8" + bytes(100))
    put(out, "meta", "dng-not-tiff", b"\x05Zzzz not a raw file")
    put(out, "meta", "gpx-not-xml", b"\x02Z,1,2\n")
    # times of the right form that name no time
    put(out, "exif", "day-31-june", b"\0" + camera_tiff(False, taken="2023:06:31 10:00:00"))
    put(out, "exif", "year-9999", b"\0" + camera_tiff(True, taken="9999:12:31 23:59:59"))
    put(out, "bmff", "heic-exif-last", b"\x42" + heif())
    put(out, "bmff", "heic-exif-first", b"\x45" + heif(False))
    put(out, "srt", "bracketed.srt", ("1\r\n00:00:00,000 --> 00:00:00,033\r\n<font size=\"28\">FrameCnt: 1\r\n"
                                      "2023-06-15 10:00:00.123\r\n[latitude: 0.0] [longitude: 0.0]\r\n\r\n"
                                      "2\r\n00:00:00,033 --> 00:00:00,066\r\n2023-06-15 10:00:00.156\r\n"
                                      "[latitude : 47.351234] [longtitude : 123.917456] "
                                      "[rel_alt: 50.000 abs_alt: 200.500] </font>\r\n").encode())
    put(out, "srt", "gps-lon-first.srt", b"1\n00:00:01,000 --> 00:00:02,000\n"
                                         b"HOME(123.9170,47.3500) 2017.07.29 15:18:50\n"
                                         b"GPS(123.9174,47.3512,19) BAROMETER:0.0\n")
    put(out, "srt", "gps-ambiguous.srt", b"1\n00:00:00,000 --> 00:00:01,000\n2022.06.21 16:06:17\n"
                                         b"GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M\n")
    put(out, "nmea", "mixed.nmea", ("\r\n".join(nmea(x) for x in NMEA_LINES) + "\r\n").encode())
    put(out, "nmea", "bad-lines.nmea", (nmea(NMEA_LINES[0]) + "\n$GPGGA,bad*00\n\x01junk\n"
                                        + nmea(NMEA_LINES[1])[:-2] + "ZZ\n#comment\n").encode())
    put(out, "gpx", "gpx11.gpx", GPX11.encode())
    put(out, "gpx", "gpx10.gpx", GPX10.encode())
    put(out, "gpx", "nons.gpx", GPX_NONS.encode())
    put(out, "sensor", "long.csv", b"\x08" + SENSOR_LONG.encode())
    put(out, "sensor", "wide.csv", b"\x00" + SENSOR_WIDE.encode())
    put(out, "sensor", "gb18030.csv", b"\x0a" + SENSOR_LONG.encode("gb18030"))
    put(out, "sensor", "bom.csv", b"\x05" + b"\xef\xbb\xbf" + SENSOR_WIDE.encode())
    put(out, "sensor", "tdp.profile", b"\x01" + SENSOR_PROFILE.encode())
    put(out, "sensor", "log.sdi12", b"\x02" + SENSOR_SDI12.encode())
    put(out, "sensor", "live.csv", b"\x03" + b"2024-05-01T10:00:00+08:00,nh3n,2.3,mg/L,S1\nph,7.1,\n\x01\xff,1\n")
    put(out, "sensor", "live.sdi12", b"\x07" + b"0D0!0+17.5+8.25+6.45\n2024-05-01 10:00:00 0+1+2+3\n")
    put(out, "sensor", "time", b"\x04" + b"2024-05-01T10:00:00.5+08")
    put(out, "sensor", "cr-lines.csv", b"\x08" + SENSOR_LONG.replace("\n", "\r").encode())
    put(out, "sensor", "key-twice.profile",
        b"\x01" + (SENSOR_PROFILE + "serial = A1\nserial = A2\n").encode())
    put(out, "spool", "journal.jnl", SPOOL.encode())
    put(out, "spool", "torn.jnl", SPOOL.encode() + b'{"n":5,"t":1764403204.0,"f":0,"hex":"30')
    put(out, "config", "full.conf", CONFIG.encode())
    put(out, "config", "bad-key.conf", b"[capture]\nwach = /media\n")
    put(out, "config", "key-twice.conf", b"[store]\npath = /a\n[gps]\nmax_gap = 5\n"
        b"[store]\npath = /b\n")
    put(out, "manifest", "one-item.json", manifest(1, 2))
    put(out, "manifest", "three-items.json", manifest(3, 3))
    ck = case_key("XX检公益立〔2023〕15号")
    sha = hashlib.sha256(b"x").hexdigest()
    put(out, "pullpath", "keys", ("%s\n20230501-020000-0a1b2c3d-12345678\nblobs/sha256/%s/%s/%s"
                                  % (ck, sha[:2], sha[2:4], sha)).encode())
    put(out, "pullpath", "number", "嫩检公益立〔2023〕15号\n../x\ncases/a/bundles/b/COMMITTED".encode())
    put(out, "pullpath", "sha", ("%s\n%s\na//b/./c/" % (sha, sha.upper())).encode())
    # s3list: the first byte chooses the continuation token the page was
    # asked with (odd: "t"); the rest is the server's answer
    def listing(entries, more=None):
        x = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.'
             'amazonaws.com/doc/2006-03-01/"><Name>evidence</Name><Prefix>field1/cases/K/'
             'bundles/</Prefix><MaxKeys>1000</MaxKeys>')
        x += '<IsTruncated>%s</IsTruncated>' % ('true' if more else 'false')
        if more:
            x += '<NextContinuationToken>%s</NextContinuationToken>' % more
        for k, n in entries:
            x += ('<Contents><Key>field1/cases/K/bundles/%s</Key><LastModified>2026-11-30T09:'
                  '00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;'
                  '</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>' % (k, n))
        return (x + '</ListBucketResult>').encode()
    bid = "20230501-020000-0a1b2c3d-12345678"
    put(out, "s3list", "bundle", b"\x00" + listing(
        [(bid + "/COMMITTED", 0), (bid + "/manifest.json", 812), (bid + "/manifest.json.minisig", 300)]))
    put(out, "s3list", "more", b"\x01" + listing([(bid + "/COMMITTED", 0)], more="1ueGcxLPRx1Tr%2Fz"))
    put(out, "s3list", "foreign", b"\x00" + listing(
        [(bid + " (1)/COMMITTED", 0), ("notes &amp;amp; &lt;x&gt;.txt", 5), (bid + "/.DS_Store", 6)]))


SENSOR_LONG = """time,parameter,value,unit,sample_id,lat,lon
2024-05-01 10:00:00,氨氮,2.3,mg/L,S1,49.17,125.22
2024-05-01T10:05:00+08:00,pH,7.9,,S1,,
2024/05/01 10:10,DO,8.25,mg/L,"S 2",,
2024-05-01 10:15:00Z,COD,,mg/L,S3,,
2024-05-01 10:20:00,temp,99999,°C,S4,,
bad time,nh3n,x,mg/L,,,
"""

SENSOR_WIDE = """Time,Sample_ID,DO_mg_L,pH,溶解氧(mg/L),CODMn (mg/L),remark
2024-05-01T10:00:00+08:00,S1,8.1,7.2,,3.1,ok
2024-05-01T10:01:00+0800,S2,,6.9,7.7,,"a, b"
"""

SENSOR_PROFILE = """# probe
name = tdp
model = generic probe
serial = SN-1
calibrated = 2024-04-01
format = sdi12
address = 0
missing = -9999
value.1 = temp °C
value.2 = do mg/L
value.3 = ph
value.D1.1 = nh3n mg/L
"""

SPOOL = """{"evcap_sensor_journal":1,"source":"serial:/dev/ttyUSB0@2026-11-29T08:00:00.000Z","spec":"/dev/ttyUSB0:9600:sdi12:generic-tdp"}
{"n":1,"t":1764403200.125,"f":0,"hex":"302b31372e352b382e32352b362e3435"}
{"from":1,"case":"\\u5AE9\\u68C0\\u516C\\u76CA\\u7ACB"}
{"n":3,"t":1764403202.5,"f":2,"hex":"30ff00"}
{"n":2,"t":1764403201.0,"f":0,"hex":""}
{"from":3,"case":null}
{"n":4,"t":1764403203.75,"f":1,"hex":"646f2c372e32352c6d672f4c"}
"""

SENSOR_SDI12 = """2024-05-01T10:00:00+08:00 0D0!0+17.5+8.25+6.45
2024-05-01T10:00:05+08:00 0D1!0+2.3
2024-05-01T10:00:10+08:00 0M!00013
2024-05-01 10:00:15 0D0!0-9999+8.1-1.5
2024-05-01T10:00:20+08:00 1D0!1+17.5
"""


def jpeg_head(data, limit=65536):
    """The bytes of a JPEG up to and including its SOS header (where the
    parsers stop), at most `limit`."""
    i = 2
    while i + 4 <= len(data) and i < limit:
        if data[i] != 0xFF:
            break
        m = data[i + 1]
        if m == 0xFF:
            i += 1
            continue
        ln = struct.unpack(">H", data[i + 2:i + 4])[0]
        i += 2 + ln
        if m == 0xDA:
            break
    return data[:min(i, limit)]


def app1_payloads(data):
    i, exif, xmp = 2, None, None
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        m = data[i + 1]
        if m == 0xFF:
            i += 1
            continue
        ln = struct.unpack(">H", data[i + 2:i + 4])[0]
        p = data[i + 4:i + 2 + ln]
        if m == 0xE1 and p.startswith(b"Exif\0\0") and exif is None:
            exif = p[6:]
        elif m == 0xE1 and p.startswith(XMP_HEADER) and xmp is None:
            xmp = p[len(XMP_HEADER):]
        if m == 0xDA:
            break
        i += 2 + ln
    return exif, xmp


def from_corpus(out, corpus):
    photos = []
    for sub in ("photos", "gpscorrelate-staging"):
        d = os.path.join(corpus, sub)
        if os.path.isdir(d):
            photos += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.lower().endswith(".jpg")]
    for p in photos:
        name = os.path.basename(p)
        with open(p, "rb") as f:
            data = f.read()
        head = jpeg_head(data)
        put(out, "jpeg", name, head)
        put(out, "meta", name, b"\0" + head)
        exif, xmp = app1_payloads(data)
        if exif:
            put(out, "exif", name, b"\0" + exif[:65000])
        if xmp:
            put(out, "xmp", name, xmp[:65536])
    for sub, ext, harness in (("gps", ".log", "nmea"), ("tracks", ".nmea", "nmea"),
                              ("tracks", ".gpx", "gpx"), ("gpscorrelate-staging", ".gpx", "gpx")):
        d = os.path.join(corpus, sub)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(ext):
                with open(os.path.join(d, f), "rb") as fh:
                    data = fh.read(4096 if harness == "nmea" else 8192)
                if harness == "nmea":
                    data = data[:data.rfind(b"\n") + 1] or data
                put(out, harness, f, data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus")
    ap.add_argument("--crafted-only", action="store_true")
    a = ap.parse_args()
    if a.crafted_only or not a.corpus:
        crafted(a.out)
    if a.corpus and os.path.isdir(a.corpus):
        from_corpus(a.out, a.corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
