/*
 * meta_read and meta_resolve (see meta.h): what kind of file this is, by
 * its bytes first and its name second, and for JPEGs the EXIF and XMP
 * fields merged into one struct meta; then the time and place an item
 * resolves to, in the order ARCHITECTURE.md §3 gives.
 */
#include "meta.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmff.h"
#include "exifmeta.h"
#include "flir.h"
#include "iptc.h"
#include "jpeg.h"
#include "timeutil.h"
#include "xmp.h"

/* How far into a text file to look for a root element. */
#define SNIFF_TEXT_MAX 4096
/* IFD0 entries examined when telling DNG from plain TIFF. */
#define SNIFF_TIFF_MAX_ENTRIES 512
/* An XMP date this close to the camera clock (after its offset) is the
 * same moment; seconds. */
#define XMP_SAME_MOMENT_S 2.0

/*
 * What an extension promises the first bytes are: the signature every
 * file of its format starts with, where the format has one. A file whose
 * kind and format come from its name alone (the bytes said nothing) is
 * flagged when its extension promises a signature the bytes do not have:
 * a card holds zeroed, cut and misnamed files, and a photo listed as one
 * without a word would hide that. Text formats with no fixed start (CSV,
 * plain text, NMEA logs, SRT) promise nothing.
 */
enum sig { SIG_NONE, SIG_JPEG, SIG_PNG, SIG_TIFF, SIG_RAWTIFF, SIG_BMFF, SIG_WEBP, SIG_AVI,
	   SIG_WAV, SIG_MP3, SIG_PDF, SIG_XML };

struct ftype {
	const char *ext;
	const char *kind;
	const char *format;
	enum sig sig;
	const char *what; /* the format as messages name it: "not a DNG file: ..." */
};

/* Extensions recognised when the bytes say nothing (or for TIFF-based raw
 * formats, which the bytes alone do not tell apart). */
static const struct ftype by_ext[] = {
	{"jpg", "photo", "jpeg", SIG_JPEG, "a JPEG"},
	{"jpeg", "photo", "jpeg", SIG_JPEG, "a JPEG"},
	{"jpe", "photo", "jpeg", SIG_JPEG, "a JPEG"},
	{"png", "photo", "png", SIG_PNG, "a PNG file"},
	{"tif", "photo", "tiff", SIG_TIFF, "a TIFF file"},
	{"tiff", "photo", "tiff", SIG_TIFF, "a TIFF file"},
	{"dng", "photo", "dng", SIG_TIFF, "a DNG file"},
	{"nef", "photo", "nef", SIG_TIFF, "a NEF file"},
	{"cr2", "photo", "cr2", SIG_TIFF, "a CR2 file"},
	{"arw", "photo", "arw", SIG_TIFF, "an ARW file"},
	{"orf", "photo", "orf", SIG_RAWTIFF, "an ORF file"},
	{"rw2", "photo", "rw2", SIG_RAWTIFF, "an RW2 file"},
	{"heic", "photo", "heic", SIG_BMFF, "a HEIF file"},
	{"heif", "photo", "heic", SIG_BMFF, "a HEIF file"},
	{"avif", "photo", "avif", SIG_BMFF, "an AVIF file"},
	{"webp", "photo", "webp", SIG_WEBP, "a WebP file"},
	{"mp4", "video", "mp4", SIG_BMFF, "an MP4 or QuickTime file"},
	{"m4v", "video", "mp4", SIG_BMFF, "an MP4 or QuickTime file"},
	{"mov", "video", "mov", SIG_BMFF, "an MP4 or QuickTime file"},
	{"m4a", "audio", "m4a", SIG_BMFF, "an MP4 audio file"},
	{"avi", "video", "avi", SIG_AVI, "an AVI file"},
	{"wav", "audio", "wav", SIG_WAV, "a WAV file"},
	{"mp3", "audio", "mp3", SIG_MP3, "an MP3 file"},
	{"pdf", "document", "pdf", SIG_PDF, "a PDF"},
	{"gpx", "data", "gpx", SIG_XML, "a GPX file"},
	{"kml", "data", "kml", SIG_XML, "a KML file"},
	{"xml", "data", "xml", SIG_XML, "an XML file"},
	{"csv", "data", "csv", SIG_NONE, NULL},
	{"txt", "document", "txt", SIG_NONE, NULL},
	{"log", "data", "txt", SIG_NONE, NULL},
	{"nmea", "data", "nmea", SIG_NONE, NULL},
	{"srt", "data", "srt", SIG_NONE, NULL},
};

static void set_type(struct meta *m, const char *kind, const char *format)
{
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	snprintf(m->format, sizeof m->format, "%s", format);
}

/* The lowercased extension of the last path component, or "". */
static void extension_of(const char *name, char out[8])
{
	out[0] = '\0';
	if (!name)
		return;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base || strlen(dot + 1) >= 8)
		return;
	size_t i;
	for (i = 0; dot[1 + i]; i++)
		out[i] = (char)tolower((unsigned char)dot[1 + i]);
	out[i] = '\0';
}

static const struct ftype *lookup_ext(const char *ext)
{
	for (size_t i = 0; ext[0] && i < ARRAY_LEN(by_ext); i++)
		if (strcmp(by_ext[i].ext, ext) == 0)
			return &by_ext[i];
	return NULL;
}

/*
 * Olympus's ORF and Panasonic's RW2 raw files are TIFF structures whose
 * header has a number of their own where TIFF has 42: "IIRO", "IIRS" or
 * "MMOR" (ORF), "IIU\0" (RW2). Their IFDs are TIFF's. The format, or NULL.
 */
static const char *raw_tiff_format(const uint8_t *p, size_t n)
{
	if (n < 4)
		return NULL;
	if (!memcmp(p, "IIRO", 4) || !memcmp(p, "IIRS", 4) || !memcmp(p, "MMOR", 4))
		return "orf";
	if (!memcmp(p, "IIU\0", 4))
		return "rw2";
	return NULL;
}

static int starts(const uint8_t *p, size_t n, const char *s, size_t at)
{
	size_t l = strlen(s);
	return n >= at + l && memcmp(p + at, s, l) == 0;
}

/* A TIFF field of `bytes` bytes in the file's byte order. */
static uint32_t tiff_rd(const uint8_t *q, int bytes, int le)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint32_t)q[i] << (8 * (le ? i : bytes - 1 - i));
	return v;
}

/* Bytes per value of each TIFF type (0 for an unknown one). */
static const uint8_t tiff_type_size[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8};

static uint64_t tiff_value_len(uint32_t type, uint32_t count)
{
	return (uint64_t)count * (type < sizeof tiff_type_size ? tiff_type_size[type] : 0);
}

/*
 * Finds `tag` in the IFD0 of the TIFF structure at p[0..n) (a TIFF file, or
 * a raw format built on TIFF): 1 with the bytes its value takes, when they
 * lie inside p (for a value of at most 4 bytes, the entry's own field),
 * else 0.
 */
static int tiff_ifd0_find(const uint8_t *p, size_t n, uint16_t tag, size_t *voff, size_t *vlen)
{
	if (n < 8)
		return 0;
	int le = p[0] == 'I';
	uint32_t off = tiff_rd(p + 4, 4, le);
	if (off < 8 || (uint64_t)off + 2 > n)
		return 0;
	uint32_t cnt = tiff_rd(p + off, 2, le);
	for (uint32_t i = 0; i < cnt && i < SNIFF_TIFF_MAX_ENTRIES; i++) {
		uint64_t e = (uint64_t)off + 2 + 12 * (uint64_t)i;
		if (e + 12 > n)
			break;
		if (tiff_rd(p + e, 2, le) != tag)
			continue;
		uint64_t len = tiff_value_len(tiff_rd(p + e + 2, 2, le), tiff_rd(p + e + 4, 4, le));
		uint64_t at = len <= 4 ? e + 8 : tiff_rd(p + e + 8, 4, le);
		if (!len || at > n || len > n - at)
			return 0;
		*voff = (size_t)at;
		*vlen = (size_t)len;
		return 1;
	}
	return 0;
}

/* DNG is TIFF with a DNGVersion tag (0xC612, four bytes) in IFD0. */
static int tiff_is_dng(const uint8_t *p, size_t n)
{
	size_t o, l;
	return tiff_ifd0_find(p, n, 0xC612, &o, &l);
}

/* Text formats: XML roots in the first few KiB, NMEA sentences (after any
 * comment lines). */
static int sniff_text(const uint8_t *p, size_t n, struct meta *m)
{
	size_t i = 0, lim = n < SNIFF_TEXT_MAX ? n : SNIFF_TEXT_MAX;
	if (starts(p, n, "\xEF\xBB\xBF", 0))
		i = 3;
	while (i < lim && isspace(p[i]))
		i++;
	if (i < lim && p[i] == '<') {
		if (memmem(p + i, lim - i, "<gpx", 4))
			set_type(m, "data", "gpx");
		else if (memmem(p + i, lim - i, "<kml", 4))
			set_type(m, "data", "kml");
		else if (memmem(p + i, lim - i, "<x:xmpmeta", 10))
			set_type(m, "data", "xmp");
		else if (starts(p, lim, "<?xml", i))
			set_type(m, "data", "xml");
		else
			return 0;
		return 1;
	}
	/* a gpsd or gpsfake log opens with '#' comment lines (its name, the
	 * receiver): the sentences follow them */
	while (i < lim && p[i] == '#') {
		while (i < lim && p[i] != '\n')
			i++;
		while (i < lim && isspace(p[i]))
			i++;
	}
	/* $GPRMC, $GNGGA, $BDGSV...: '$', five letters, a comma. */
	if (i + 7 <= lim && p[i] == '$') {
		for (size_t k = 1; k <= 5; k++)
			if (!isupper(p[i + k]))
				return 0;
		if (p[i + 6] == ',') {
			set_type(m, "data", "nmea");
			return 1;
		}
	}
	return 0;
}

/* The bytes of an ftyp box's header at p (n >= 8): 16 when its size is in
 * the 64-bit field that follows the type (size 1), else 8. */
static size_t ftyp_header_len(const uint8_t *p)
{
	return tiff_rd(p, 4, 0) == 1 ? 16 : 8;
}

/* ISO base media: the brand after "ftyp" tells QuickTime, HEIF and audio
 * apart from MP4. A file that ends before its brand is whole (a card's
 * file cut short) is taken by its name when the name is one of these
 * formats', else as an MP4; meta_read names the cut. */
static void sniff_ftyp(const uint8_t *p, size_t n, const struct ftype *fe, struct meta *m)
{
	size_t hl = ftyp_header_len(p);
	if (n < hl + 4) {
		if (fe && fe->sig == SIG_BMFF)
			set_type(m, fe->kind, fe->format);
		else
			set_type(m, "video", "mp4");
		return;
	}
	const uint8_t *b = p + hl;
	if (memcmp(b, "qt  ", 4) == 0) {
		set_type(m, "video", "mov");
		return;
	}
	if (memcmp(b, "avif", 4) == 0)
		set_type(m, "photo", "avif");
	else if (bmff_heif_brand(b))
		set_type(m, "photo", "heic");
	else if (memcmp(b, "M4A ", 4) == 0)
		set_type(m, "audio", "m4a");
	else
		set_type(m, "video", "mp4");
	if (strcmp(m->format, "mp4") != 0)
		return;
	/* A major brand of no HEIF kind with a HEIF brand among the
	 * compatible ones (after the 4-byte minor version) is a HEIF photo,
	 * as bmff_keep takes it when it keeps the file's boxes. */
	uint64_t size = tiff_rd(p, 4, 0);
	if (size == 1 && n >= 16)
		size = (uint64_t)tiff_rd(p + 8, 4, 0) << 32 | tiff_rd(p + 12, 4, 0);
	size_t end = size >= hl && size < n ? (size_t)size : n;
	for (size_t o = hl + 8; o + 4 <= end; o += 4)
		if (bmff_heif_brand(p + o)) {
			set_type(m, "photo", memcmp(p + o, "avif", 4) == 0 ? "avif" : "heic");
			return;
		}
}

/* Sets kind and format; returns 1 if the bytes said what the file is. */
static int sniff(const uint8_t *p, size_t n, const char *ext, struct meta *m)
{
	const struct ftype *fe = lookup_ext(ext);
	static const char *qt_atoms[] = {"moov", "mdat", "wide", "free", "skip", "pnot"};

	if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
		set_type(m, "photo", "jpeg");
	} else if (starts(p, n, "\x89PNG\r\n\x1a\n", 0)) {
		set_type(m, "photo", "png");
	} else if (starts(p, n, "II*\0", 0) || starts(p, n, "MM\0*", 0)) {
		if (tiff_is_dng(p, n))
			set_type(m, "photo", "dng");
		else if (fe && (fe->sig == SIG_TIFF || fe->sig == SIG_RAWTIFF))
			set_type(m, "photo", fe->format); /* nef, cr2, arw... */
		else
			set_type(m, "photo", "tiff");
	} else if (raw_tiff_format(p, n)) {
		set_type(m, "photo", raw_tiff_format(p, n));
	} else if (starts(p, n, "ftyp", 4)) {
		sniff_ftyp(p, n, fe, m);
	} else if (starts(p, n, "RIFF", 0) && n >= 12) {
		if (starts(p, n, "AVI ", 8))
			set_type(m, "video", "avi");
		else if (starts(p, n, "WAVE", 8))
			set_type(m, "audio", "wav");
		else if (starts(p, n, "WEBP", 8))
			set_type(m, "photo", "webp");
		else
			return 0;
	} else if (starts(p, n, "ID3", 0)) {
		set_type(m, "audio", "mp3");
	} else if (n >= 2 && p[0] == 0xFF && (p[1] & 0xE0) == 0xE0 && ((p[1] >> 1) & 3) != 0 &&
		   fe && strcmp(fe->format, "mp3") == 0) {
		/* A bare MPEG frame sync is too weak alone; with the name it is
		 * enough. */
		set_type(m, "audio", "mp3");
	} else if (starts(p, n, "%PDF-", 0)) {
		set_type(m, "document", "pdf");
	} else {
		for (size_t i = 0; i < ARRAY_LEN(qt_atoms); i++)
			if (starts(p, n, qt_atoms[i], 4)) {
				set_type(m, "video", "mov");
				return 1;
			}
		return sniff_text(p, n, m);
	}
	return 1;
}

/* Whether the n bytes at p agree with the first n bytes of sig (len
 * bytes), as far as either goes. */
static int agrees(const uint8_t *p, size_t n, const char *sig, size_t len)
{
	return memcmp(p, sig, n < len ? n : len) == 0;
}

/*
 * A file whose kind and format came from its name alone: into why, what
 * its bytes lack of the signature fe promises ("" when fe promises none).
 * Bytes that agree with the signature as far as they go, but stop before
 * it is whole, are named as that, not as another format. JPEGs are not
 * judged here: the walker names where one goes wrong.
 */
static void sig_mismatch(const struct ftype *fe, const uint8_t *p, size_t n, char *why,
			 size_t len)
{
	static const char *box_types[] = {"ftyp", "moov", "mdat", "wide", "free", "skip", "pnot"};
	const char *riff = fe->sig == SIG_WEBP ? "WEBP" : fe->sig == SIG_AVI ? "AVI " : "WAVE";
	int photo = strcmp(fe->format, "heic") == 0 || strcmp(fe->format, "avif") == 0;
	size_t need = 0; /* > n: the bytes agree but stop short of the signature */
	why[0] = '\0';
	switch (fe->sig) {
	case SIG_NONE:
	case SIG_JPEG:
		return;
	case SIG_PNG:
		if (agrees(p, n, "\x89PNG\r\n\x1a\n", 8))
			need = 8;
		else
			snprintf(why, len,
				 "not %s: it does not start with PNG's 8-byte signature "
				 "(89 50 4E 47 0D 0A 1A 0A)",
				 fe->what);
		break;
	case SIG_TIFF:
		if (agrees(p, n, "II*\0", 4) || agrees(p, n, "MM\0*", 4))
			need = 4;
		else
			snprintf(why, len,
				 "not %s: it does not start with a TIFF header (II or MM, then "
				 "the number 42)",
				 fe->what);
		break;
	case SIG_RAWTIFF:
		if (agrees(p, n, "IIRO", 4) || agrees(p, n, "IIRS", 4) || agrees(p, n, "MMOR", 4) ||
		    agrees(p, n, "IIU\0", 4))
			need = 4;
		else
			snprintf(why, len,
				 "not %s: it does not start with its raw TIFF header (IIRO, IIRS, "
				 "MMOR or IIU)",
				 fe->what);
		break;
	case SIG_BMFF:
		/* a box header: a size (any 4 bytes could be one), then a type */
		for (size_t i = 0; i < ARRAY_LEN(box_types) && !need; i++)
			if ((!photo || i == 0) && (n <= 4 || agrees(p + 4, n - 4, box_types[i], 4)))
				need = 8;
		if (need > n)
			break;
		need = 0;
		if (photo)
			snprintf(why, len, "not %s: no ftyp box at its start", fe->what);
		else
			snprintf(why, len,
				 "not %s: it does not start with a box (ftyp, moov, mdat, ...)",
				 fe->what);
		break;
	case SIG_WEBP:
	case SIG_AVI:
	case SIG_WAV:
		if (agrees(p, n, "RIFF", 4) && (n <= 8 || agrees(p + 8, n - 8, riff, 4)))
			need = 12;
		else
			snprintf(why, len,
				 "not %s: it does not start with \"RIFF\" and, 8 bytes in, "
				 "\"%.4s\"",
				 fe->what, riff);
		break;
	case SIG_MP3:
		/* an ID3 tag, or an MPEG audio frame (sniff took whole ones) */
		if (agrees(p, n, "ID3", 3) || (n == 1 && p[0] == 0xFF))
			need = n == 1 && p[0] == 0xFF ? 2 : 3;
		else
			snprintf(why, len,
				 "not %s: it starts with neither an ID3 tag nor an MPEG audio "
				 "frame header",
				 fe->what);
		break;
	case SIG_PDF:
		if (agrees(p, n, "%PDF-", 5))
			need = 5;
		else
			snprintf(why, len, "not %s: it does not start with %%PDF-", fe->what);
		break;
	case SIG_XML: {
		/* '<' after a byte order mark and white space; UTF-16 text
		 * cannot be judged by these bytes and is let be */
		size_t i = starts(p, n, "\xEF\xBB\xBF", 0) ? 3 : 0;
		while (i < n && isspace(p[i]))
			i++;
		if (starts(p, n, "\xFF\xFE", 0) || starts(p, n, "\xFE\xFF", 0) ||
		    (i < n && p[i] == '<'))
			break;
		if (i == n)
			snprintf(why, len, "not %s: it ends before any XML starts", fe->what);
		else
			snprintf(why, len,
				 "not %s: it does not start with XML (a '<', after any byte order "
				 "mark and white space)",
				 fe->what);
		break;
	}
	}
	if (need > n)
		snprintf(why, len,
			 "the file ends after %zu byte%s, before the %zu-byte signature %s "
			 "starts with is complete",
			 n, n == 1 ? "" : "s", need, fe->what);
}

/* DJI position first (the drone's own), else the exif: position Adobe
 * software writes into XMP. 0,0 is no fix here as in EXIF. */
static void merge_xmp(const struct xmp_info *x, struct meta *m)
{
	const struct xmp_num *lat = NULL, *lon = NULL;
	const char *from = NULL;
	if (x->dji_lat.has || x->dji_lon.has) {
		lat = &x->dji_lat;
		lon = &x->dji_lon;
		from = "drone-dji";
	} else if (x->exif_lat.has || x->exif_lon.has) {
		lat = &x->exif_lat;
		lon = &x->exif_lon;
		from = "exif";
	}
	if (from && (!lat->has || !lon->has)) {
		exifmeta_append(m->error, sizeof m->error, "XMP %s position has only a %s", from,
				lat->has ? "latitude" : "longitude");
	} else if (from && lat->v == 0 && lon->v == 0) {
		exifmeta_append(m->note, sizeof m->note, "XMP %s position 0,0 treated as no fix",
				from);
	} else if (from) {
		m->has_xmp_pos = 1;
		m->xmp_lat = lat->v;
		m->xmp_lon = lon->v;
		snprintf(m->xmp_pos_from, sizeof m->xmp_pos_from, "%s", from);
	}
	if (x->abs_alt.has) {
		m->has_xmp_alt = 1;
		m->xmp_alt = x->abs_alt.v;
	} else if (x->exif_alt.has) {
		m->has_xmp_alt = 1;
		m->xmp_alt = x->exif_alt.v;
	}
#define COPY(src, hasf, valf)                                                                 \
	do {                                                                                   \
		if ((src).has) {                                                               \
			m->hasf = 1;                                                           \
			m->valf = (src).v;                                                     \
		}                                                                              \
	} while (0)
	COPY(x->rel_alt, has_rel_alt, rel_alt);
	COPY(x->gimbal_yaw, has_gimbal_yaw, gimbal_yaw);
	COPY(x->gimbal_pitch, has_gimbal_pitch, gimbal_pitch);
	COPY(x->gimbal_roll, has_gimbal_roll, gimbal_roll);
	COPY(x->flight_yaw, has_flight_yaw, flight_yaw);
	COPY(x->flight_pitch, has_flight_pitch, flight_pitch);
	COPY(x->flight_roll, has_flight_roll, flight_roll);
#undef COPY
	if (x->has_time) {
		m->has_xmp_time = 1;
		m->xmp_time_t = x->time_utc;
		m->xmp_offset_s = x->offset_s;
	}
	/* IPTC's date (read first, where there is one) stands before this,
	 * and so does an XMP date with its zone (resolution uses that one). */
	if (x->has_local && !x->has_time && !m->has_other_clock) {
		m->has_other_clock = 1;
		m->other_clock_t = x->local_t;
		snprintf(m->other_clock_from, sizeof m->other_clock_from, "XMP %s, with no zone",
			 x->local_from);
	}
	if (!m->serial[0] && x->serial[0])
		snprintf(m->serial, sizeof m->serial, "%s", x->serial);
	/* EXIF's direction is the camera's own; XMP's only where it has none
	 * (Adobe's software and exiv2 carry it over into XMP alone). */
	if (!m->has_img_dir && x->img_dir.has) {
		m->has_img_dir = 1;
		m->img_dir = x->img_dir.v;
		snprintf(m->img_dir_ref, sizeof m->img_dir_ref, "%s", x->img_dir_ref);
		if (x->img_dir_note[0])
			exifmeta_append(m->note, sizeof m->note, "%s", x->img_dir_note);
	}
}

/*
 * A compact copy of the IFDs evcap reads from a TIFF structure: IFD0's
 * camera tags and its EXIF and GPS IFDs (the MakerNote left out), their
 * values moved next to them. A TIFF file may put its IFDs after megabytes
 * of image, and libexif reads at most 64 KiB of EXIF, as a JPEG's APP1
 * holds; the copy is what an APP1 would have held.
 */
#define TIFF_COPY_MAX 65000

struct tcopy {
	const uint8_t *p; /* the source */
	size_t pn;
	int le;
	uint8_t d[TIFF_COPY_MAX]; /* "Exif\0\0", then the copy */
	size_t n;
	size_t cap; /* the copy stops here (below sizeof d while room is kept for IFD0) */
};

static uint32_t tc_rd(const struct tcopy *t, const uint8_t *q, int bytes)
{
	return tiff_rd(q, bytes, t->le);
}

static void tc_wr32(const struct tcopy *t, uint8_t *q, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		q[t->le ? i : 3 - i] = (uint8_t)(v >> (8 * i));
}

/* What the copy keeps of each IFD. Of the EXIF IFD, all but the
 * MakerNote and the Interop pointer (an offset into the file, which the
 * copy does not hold). */
static int tc_keep(int which, uint16_t tag)
{
	if (which == 1)
		return tag != 0x927C && tag != 0xA005;
	if (which == 2)
		return 1; /* GPS: all */
	return tag == 0x010F || tag == 0x0110 || tag == 0x0112 || tag == 0x0132 ||
	       tag == 0x8769 || tag == 0x8825 || tag == 0xC62F ||
	       tag == 0x9003 || tag == 0x9011 || tag == 0x9291; /* a time put in IFD0 */
}

/* The value of tag in the IFD at src (a LONG pointer), 0 if absent. */
static uint32_t tc_pointer(const struct tcopy *t, uint32_t src, uint16_t tag)
{
	if ((uint64_t)src + 2 > t->pn)
		return 0;
	uint32_t cnt = tc_rd(t, t->p + src, 2);
	for (uint32_t i = 0; i < cnt && i < SNIFF_TIFF_MAX_ENTRIES; i++) {
		const uint8_t *e = t->p + src + 2 + 12 * (uint64_t)i;
		if ((uint64_t)src + 2 + 12 * (uint64_t)(i + 1) > t->pn)
			break;
		if (tc_rd(t, e, 2) == tag)
			return tc_rd(t, e + 8, 4);
	}
	return 0;
}

/*
 * Copies the IFD at src (which: 0 IFD0, 1 EXIF, 2 GPS); returns its offset
 * in the copy (from the TIFF header), or 0 if it cannot be read. IFD0's
 * EXIF and GPS pointers are set to sub[0] and sub[1], the sub-IFDs' places
 * in the copy, and left out where those are 0.
 */
static uint32_t tc_ifd(struct tcopy *t, uint32_t src, int which, const uint32_t sub[2])
{
	if ((uint64_t)src + 2 > t->pn)
		return 0;
	uint32_t cnt = tc_rd(t, t->p + src, 2), kept = 0;
	if (cnt > SNIFF_TIFF_MAX_ENTRIES || (uint64_t)src + 2 + 12 * (uint64_t)cnt > t->pn)
		return 0;
	for (uint32_t i = 0; i < cnt; i++)
		kept += tc_keep(which, (uint16_t)tc_rd(t, t->p + src + 2 + 12 * i, 2));
	t->n += t->n & 1;
	size_t at = t->n;
	if (at + 2 + 12 * (size_t)kept + 4 > t->cap)
		return 0;
	t->n += 2 + 12 * (size_t)kept + 4;
	memset(t->d + at, 0, t->n - at);
	uint8_t *out = t->d + at + 2;
	uint32_t done = 0;
	for (uint32_t i = 0; i < cnt; i++) {
		const uint8_t *e = t->p + src + 2 + 12 * i;
		uint16_t tag = (uint16_t)tc_rd(t, e, 2);
		if (!tc_keep(which, tag))
			continue;
		uint8_t *o = out + 12 * done;
		memcpy(o, e, 12);
		uint64_t len = tiff_value_len(tc_rd(t, e + 2, 2), tc_rd(t, e + 4, 4));
		if (which == 0 && (tag == 0x8769 || tag == 0x8825)) {
			uint32_t to = sub[tag == 0x8769 ? 0 : 1];
			if (!to)
				continue; /* that IFD could not be read: left out */
			tc_wr32(t, o + 8, to);
		} else if (len > 4) {
			uint32_t from = tc_rd(t, e + 8, 4);
			t->n += t->n & 1;
			if ((uint64_t)from + len > t->pn || t->n + len > t->cap)
				continue; /* out of reach: left out */
			memcpy(t->d + t->n, t->p + from, (size_t)len);
			tc_wr32(t, o + 8, (uint32_t)(t->n - JPEG_EXIF_HEADER_LEN));
			t->n += (size_t)len;
		}
		done++;
	}
	/* the entries written, in order; those left out are dropped */
	memset(t->d + at + 2 + 12 * done, 0, 12 * (size_t)(kept - done) + 4);
	t->d[at + (t->le ? 0 : 1)] = (uint8_t)done;
	t->d[at + (t->le ? 1 : 0)] = (uint8_t)(done >> 8);
	return (uint32_t)(at - JPEG_EXIF_HEADER_LEN);
}

/* Room kept for IFD0's values (make, model, times, serial) while the EXIF
 * and GPS IFDs, which come first in the copy, are copied. */
#define TIFF_IFD0_VALUES_ROOM 1024

/* Where the bytes of a TIFF structure of n bytes end, for messages: the
 * end of the block `in` names, of the head read, or of the file. */
static void tiff_end(size_t n, uint64_t file_size, const char *in, char *end, size_t len)
{
	if (in)
		snprintf(end, len, "the end of the %s (%zu bytes)", in, n);
	else if ((uint64_t)n < file_size)
		snprintf(end, len, "the first %zu bytes read", n);
	else
		snprintf(end, len, "the file's end (%zu bytes)", n);
}

/* One IFD of the source: at src, its entries and next-IFD offset to end. */
struct tc_span {
	const char *name;
	uint32_t src;
	uint64_t end;
};

/*
 * Why the sub-IFD (`name`, "the GPS IFD") at src cannot be copied: 0 when
 * it can, else -1 with why saying what is wrong. One that points back at
 * or into an IFD already taken (done[0..ndone)) would be read as that
 * IFD's tags under this one's name (a GPS pointer at IFD0 gave an empty
 * GPS IFD); `end` is tiff_end's text.
 */
static int tc_sub_check(const struct tcopy *t, const char *name, uint32_t src,
			const struct tc_span *done, size_t ndone, const char *end, char *why,
			size_t len)
{
	if (src < 8) {
		snprintf(why, len, "%s at offset %u lies inside the 8-byte header", name, src);
		return -1;
	}
	for (size_t i = 0; i < ndone; i++) {
		if (src == done[i].src) {
			snprintf(why, len, "%s at offset %u points back at %s", name, src,
				 done[i].name);
			return -1;
		}
		if (src > done[i].src && src < done[i].end) {
			snprintf(why, len, "%s at offset %u lies inside %s (bytes %u to %llu)", name,
				 src, done[i].name, done[i].src, (unsigned long long)done[i].end - 1);
			return -1;
		}
	}
	if ((uint64_t)src + 2 > t->pn) {
		snprintf(why, len, "%s at offset %u lies past %s", name, src, end);
		return -1;
	}
	uint32_t cnt = tc_rd(t, t->p + src, 2);
	if (cnt > SNIFF_TIFF_MAX_ENTRIES)
		snprintf(why, len, "%s at offset %u has %u entries, more than the %d read", name,
			 src, cnt, SNIFF_TIFF_MAX_ENTRIES);
	else if ((uint64_t)src + 2 + 12 * (uint64_t)cnt > t->pn)
		snprintf(why, len, "%s at offset %u (%u entries) runs past %s", name, src, cnt,
			 end);
	else
		return 0;
	return -1;
}

/*
 * Whether the IFD0 of the TIFF structure p[0..n) can be read: 0 with its
 * offset and entry count, or -1 with why naming what is wrong. `in` names
 * the structure when it is not a whole file ("PNG EXIF chunk").
 */
static int tiff_ifd0_check(const uint8_t *p, size_t n, uint64_t file_size, const char *in,
			   uint32_t *off, uint32_t *cnt, char *why, size_t len)
{
	char at[24], end[96];
	if (n < 8) { /* only a whole file gets here this short */
		snprintf(why, len,
			 "TIFF file ends after %zu bytes, inside its 8-byte header (before the "
			 "offset of IFD0)",
			 n);
		return -1;
	}
	*off = tiff_rd(p + 4, 4, p[0] == 'I');
	tiff_end(n, file_size, in, end, sizeof end);
	snprintf(at, sizeof at, "%s", in ? "'s TIFF block" : "");
	if (*off < 8) {
		snprintf(why, len, "%s%s: IFD0's offset, %u, lies inside the 8-byte header",
			 in ? in : "TIFF file", at, *off);
		return -1;
	}
	if ((uint64_t)*off + 2 > n) {
		snprintf(why, len, "%s%s: IFD0 at offset %u lies past %s", in ? in : "TIFF file",
			 at, *off, end);
		return -1;
	}
	*cnt = tiff_rd(p + *off, 2, p[0] == 'I');
	if (*cnt == 0)
		snprintf(why, len, "%s%s: IFD0 at offset %u has no entries", in ? in : "TIFF file",
			 at, *off);
	else if (*cnt > SNIFF_TIFF_MAX_ENTRIES)
		snprintf(why, len, "%s%s: IFD0 at offset %u has %u entries, more than the %d read",
			 in ? in : "TIFF file", at, *off, *cnt, SNIFF_TIFF_MAX_ENTRIES);
	else if ((uint64_t)*off + 2 + 12 * (uint64_t)*cnt > n)
		snprintf(why, len, "%s%s: IFD0 at offset %u (%u entries) runs past %s",
			 in ? in : "TIFF file", at, *off, *cnt, end);
	else
		return 0;
	return -1;
}

/*
 * A TIFF file, or a camera's raw file built on TIFF (DNG, NEF, CR2, ARW,
 * DJI's DNG): the same EXIF as a JPEG carries, from the file's own TIFF
 * structure, and XMP from IFD0's XMLPacket (700), where DJI's DNGs keep
 * their drone-dji position and gimbal angles. A TIFF with no camera tags
 * (a scan) is not an error; one whose IFD0 cannot be read is. `in` names
 * a TIFF block inside another format's chunk; NULL for a file.
 */
static void read_tiff(const uint8_t *p, size_t n, uint64_t file_size, const char *in,
		      struct meta *m)
{
	char e[256];
	uint32_t src0, cnt0;
	if (tiff_ifd0_check(p, n, file_size, in, &src0, &cnt0, e, sizeof e) != 0) {
		exifmeta_append(m->error, sizeof m->error, "%s", e);
		return;
	}
	struct tcopy *t = xmalloc(sizeof *t);
	t->p = p;
	t->pn = n;
	t->le = p[0] == 'I';
	memcpy(t->d, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN);
	/* byte order and 42 (an ORF's or RW2's own number too: libexif
	 * wants TIFF's) */
	memcpy(t->d + JPEG_EXIF_HEADER_LEN, t->le ? "II*\0" : "MM\0*", 4);
	t->n = JPEG_EXIF_HEADER_LEN + 8;
	/* The sub-IFDs go first (IFD0 points to them); they may not take
	 * the room IFD0 needs, or a readable IFD0 would be lost to them. */
	size_t kept0 = 0;
	for (uint32_t i = 0; i < cnt0; i++)
		kept0 += tc_keep(0, (uint16_t)tc_rd(t, p + src0 + 2 + 12 * i, 2));
	t->cap = sizeof t->d - (1 + 2 + 12 * kept0 + 4 + TIFF_IFD0_VALUES_ROOM);
	uint32_t sub[2] = {0, 0}, none[2] = {0, 0};
	uint32_t exif_src = tc_pointer(t, src0, 0x8769), gps_src = tc_pointer(t, src0, 0x8825);
	/* A sub-IFD that cannot be read is named (it was left out without a
	 * word); one left out only because the copy is full is not damage. */
	char end[96];
	struct tc_span done[3] = {{"IFD0", src0, (uint64_t)src0 + 2 + 12 * (uint64_t)cnt0 + 4}};
	size_t ndone = 1;
	tiff_end(n, file_size, in, end, sizeof end);
	for (int k = 0; k < 2; k++) {
		uint32_t src = k == 0 ? exif_src : gps_src;
		const char *name = k == 0 ? "the EXIF IFD" : "the GPS IFD";
		if (!src)
			continue;
		if (tc_sub_check(t, name, src, done, ndone, end, e, sizeof e) != 0) {
			exifmeta_append(m->error, sizeof m->error, "%s%s: %s; its tags are not read",
					in ? in : "TIFF file", in ? "'s TIFF block" : "", e);
			continue;
		}
		sub[k] = tc_ifd(t, src, k + 1, none);
		uint32_t cnt = tc_rd(t, p + src, 2);
		done[ndone++] = (struct tc_span){name, src, (uint64_t)src + 2 + 12 * (uint64_t)cnt + 4};
	}
	t->cap = sizeof t->d;
	uint32_t ifd0 = tc_ifd(t, src0, 0, sub);
	if (!ifd0) { /* cannot be: checked above, and its room kept */
		exifmeta_append(m->error, sizeof m->error, "TIFF IFD0 at offset %u cannot be read",
				src0);
	} else if (t->d[JPEG_EXIF_HEADER_LEN + ifd0] || t->d[JPEG_EXIF_HEADER_LEN + ifd0 + 1]) {
		tc_wr32(t, t->d + JPEG_EXIF_HEADER_LEN + 4, ifd0);
		if (exifmeta_read(t->d, t->n, m, e, sizeof e) != 0)
			exifmeta_append(m->error, sizeof m->error, "%s", e);
	}
	free(t);
	size_t xo, xl;
	if (tiff_ifd0_find(p, n, 700, &xo, &xl)) {
		struct xmp_info x;
		if (xmp_scan(p + xo, xl, &x, e, sizeof e) != 0)
			exifmeta_append(m->error, sizeof m->error, "%s", e);
		merge_xmp(&x, m);
	}
}

/*
 * PNG and WebP photos (screenshots, some phones' camera apps, pictures
 * saved from a chat) carry EXIF and XMP in chunks of their own: PNG's
 * eXIf and an iTXt whose keyword is "XML:com.adobe.xmp"; WebP's "EXIF"
 * and "XMP " chunks in its RIFF list. The EXIF chunk holds a TIFF block
 * (some writers put "Exif\0\0" before it), read as a TIFF file is.
 * Only the head read is walked; a chunk that runs past it is named.
 */
static void read_exif_chunk(const uint8_t *d, size_t len, const char *what, struct meta *m)
{
	if (len >= JPEG_EXIF_HEADER_LEN && memcmp(d, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) == 0) {
		d += JPEG_EXIF_HEADER_LEN;
		len -= JPEG_EXIF_HEADER_LEN;
	}
	if (len < 8 || !(starts(d, len, "II*\0", 0) || starts(d, len, "MM\0*", 0))) {
		exifmeta_append(m->error, sizeof m->error,
				"%s EXIF chunk (%zu bytes) holds no TIFF header", what, len);
		return;
	}
	char in[24];
	snprintf(in, sizeof in, "%s EXIF chunk", what);
	read_tiff(d, len, len, in, m);
}

static void read_xmp_chunk(const uint8_t *d, size_t len, struct meta *m)
{
	struct xmp_info x;
	char e[256];
	if (xmp_scan(d, len, &x, e, sizeof e) != 0)
		exifmeta_append(m->error, sizeof m->error, "%s", e);
	merge_xmp(&x, m);
}

/* A chunk that does not end within the bytes read: past the file's end
 * it is damage, else it lies beyond what is read of a file. */
static void chunk_cut(const char *what, const uint8_t *type, size_t off, uint64_t end,
		      size_t n, uint64_t file_size, struct meta *m)
{
	char name[5]; /* the type as printable ASCII: its bytes come from the file */
	for (int i = 0; i < 4; i++)
		name[i] = type[i] >= 0x20 && type[i] < 0x7F ? (char)type[i] : '?';
	name[4] = '\0';
	if (end > file_size)
		exifmeta_append(m->error, sizeof m->error,
				"%s chunk '%s' at offset %zu runs past the file's end "
				"(%llu bytes): the file may be cut short",
				what, name, off, (unsigned long long)file_size);
	else
		exifmeta_append(m->note, sizeof m->note,
				"%s chunks from offset %zu on, past the first %zu bytes, were "
				"not read",
				what, off, n);
}

static void read_png(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m)
{
	static const char xmp_key[] = "XML:com.adobe.xmp";
	size_t off = 8;
	for (int i = 0; i < 100000 && off + 8 <= n; i++) {
		uint32_t len = tiff_rd(p + off, 4, 0);
		const uint8_t *type = p + off + 4, *d = p + off + 8;
		uint64_t end = (uint64_t)off + 12 + len;
		if (len > 0x7FFFFFFFu) {
			exifmeta_append(m->error, sizeof m->error,
					"PNG chunk at offset %zu has a length of %u, past PNG's "
					"limit",
					off, len);
			return;
		}
		if (end > n) {
			chunk_cut("PNG", type, off, end, n, file_size, m);
			return;
		}
		if (memcmp(type, "IHDR", 4) == 0 && len >= 8) {
			m->width = (int)(tiff_rd(d, 4, 0) & 0x7FFFFFFF);
			m->height = (int)(tiff_rd(d + 4, 4, 0) & 0x7FFFFFFF);
		} else if (memcmp(type, "eXIf", 4) == 0) {
			read_exif_chunk(d, len, "PNG", m);
		} else if (memcmp(type, "iTXt", 4) == 0 && len > sizeof xmp_key + 2 &&
			   memcmp(d, xmp_key, sizeof xmp_key) == 0) {
			/* keyword\0, compression flag and method, language\0,
			 * translated keyword\0, then the text */
			const uint8_t *q = d + sizeof xmp_key, *e = d + len;
			int compressed = q[0] != 0;
			q += 2;
			for (int z = 0; z < 2 && q < e; z++) {
				const uint8_t *nul = memchr(q, 0, (size_t)(e - q));
				q = nul ? nul + 1 : e;
			}
			if (compressed)
				exifmeta_append(m->note, sizeof m->note,
						"PNG XMP is compressed; not read");
			else if (q < e)
				read_xmp_chunk(q, (size_t)(e - q), m);
		} else if (memcmp(type, "IEND", 4) == 0) {
			return;
		}
		off = (size_t)end;
	}
}

static void read_webp(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m)
{
	size_t off = 12;
	for (int i = 0; i < 100000 && off + 8 <= n; i++) {
		const uint8_t *type = p + off, *d = p + off + 8;
		uint32_t len = tiff_rd(p + off + 4, 4, 1);
		uint64_t end = (uint64_t)off + 8 + len + (len & 1);
		if ((uint64_t)off + 8 + len > n) {
			chunk_cut("WebP", type, off, (uint64_t)off + 8 + len, n, file_size, m);
			return;
		}
		if (memcmp(type, "VP8X", 4) == 0 && len >= 10) {
			m->width = (int)(tiff_rd(d + 4, 3, 1) + 1);
			m->height = (int)(tiff_rd(d + 7, 3, 1) + 1);
		} else if (memcmp(type, "EXIF", 4) == 0) {
			read_exif_chunk(d, len, "WebP", m);
		} else if (memcmp(type, "XMP ", 4) == 0) {
			read_xmp_chunk(d, len, m);
		}
		if (end > n)
			return;
		off = (size_t)end;
	}
}

void meta_set_camera_time(struct meta *m, int64_t local)
{
	int y, mo, d, h, mi, sec;
	time_to_civil(local, &y, &mo, &d, &h, &mi, &sec);
	m->has_camera_time = 1;
	m->camera_time_t = local;
	snprintf(m->camera_time, sizeof m->camera_time, "%04d:%02d:%02d %02d:%02d:%02d", y, mo, d,
		 h, mi, sec);
}

/*
 * A FLIR camera's own record: its time and zone where EXIF has no date
 * (the Vue Pro writes none), or only its zone where EXIF has the same
 * wall clock without one; its model and serial where EXIF has none.
 */
static void merge_flir(const struct flir_info *f, struct meta *m)
{
	if (!m->model[0] && f->model[0])
		snprintf(m->model, sizeof m->model, "%s", f->model);
	if (!m->serial[0] && f->serial[0])
		snprintf(m->serial, sizeof m->serial, "%s", f->serial);
	if (!f->has_time)
		return;
	int64_t local = f->utc + f->offset_s;
	if (!m->has_camera_time) {
		meta_set_camera_time(m, local);
		m->subsec = f->ms / 1000.0;
		m->has_offset = 1;
		m->offset_s = f->offset_s;
		time_format_offset(f->offset_s, m->offset_raw);
		exifmeta_append(m->note, sizeof m->note,
				"camera time and zone from the FLIR record (EXIF has no date)");
	} else if (!m->has_offset) {
		if (llabs(m->camera_time_t - local) <= 2) {
			m->has_offset = 1;
			m->offset_s = f->offset_s;
			time_format_offset(f->offset_s, m->offset_raw);
			exifmeta_append(m->note, sizeof m->note, "zone from the FLIR record");
		} else {
			exifmeta_append(m->note, sizeof m->note,
					"FLIR record time is not the EXIF camera time; not used");
		}
	}
}

/* The IPTC date of the first APP13 image resources (joined over the
 * segments they are split into), if any, is kept for a file whose EXIF
 * has none (meta_read). */
static void read_iptc(const uint8_t *p, size_t n, const struct jpeg_info *ji, struct meta *m)
{
	char e[260];
	struct iptc_info x;
	if (iptc_read_jpeg(p, n, ji, &x, e, sizeof e) != 0)
		exifmeta_append(m->error, sizeof m->error, "%s", e);
	if (x.has_time && !m->has_other_clock) {
		m->has_other_clock = 1;
		m->other_clock_t = x.local;
		m->other_has_offset = x.has_offset;
		m->other_offset_s = x.offset_s;
		snprintf(m->other_clock_from, sizeof m->other_clock_from, "%s", x.from);
	}
}

static void read_jpeg(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m)
{
	struct jpeg_info *ji = xmalloc(sizeof *ji);
	char e[256];

	int rc = jpeg_walk(p, n, ji, e, sizeof e);
	if (rc != 0) {
		if (ji->ran_out && (uint64_t)n < file_size)
			exifmeta_append(m->error, sizeof m->error,
					"JPEG metadata runs past the first %zu bytes read", n);
		else
			exifmeta_append(m->error, sizeof m->error, "%s", e);
	}
	if (ji->stray_bytes)
		exifmeta_append(m->note, sizeof m->note,
				"JPEG has %zu stray byte(s) between segments (first at offset %zu); skipped",
				ji->stray_bytes, ji->stray_at);
	if (ji->has_exif) {
		if (exifmeta_read(p + ji->exif_off, ji->exif_len, m, e, sizeof e) != 0)
			exifmeta_append(m->error, sizeof m->error, "%s", e);
	}
	read_iptc(p, n, ji, m);
	if (ji->has_xmp) {
		struct xmp_info x;
		if (xmp_scan(p + ji->xmp_off, ji->xmp_len, &x, e, sizeof e) != 0)
			exifmeta_append(m->error, sizeof m->error, "%s", e);
		merge_xmp(&x, m);
	}
	struct flir_info fl;
	if (flir_read(p, n, ji, &fl, e, sizeof e) != 0)
		exifmeta_append(m->error, sizeof m->error, "%s", e);
	if (fl.found)
		merge_flir(&fl, m);
	/* The frame header is the image as it is; EXIF's pixel size is only
	 * what the camera claims. */
	if (ji->has_sof && ji->width > 0 && ji->height > 0) {
		m->width = ji->width;
		m->height = ji->height;
	}
	if (rc == 0 && ji->reached_sos)
		m->scan_off = ji->scan_off;
	free(ji);
}

void meta_read_tail(struct meta *m, uint64_t file_size, const uint8_t *tail, size_t n)
{
	if (!m->scan_off)
		return;
	if (n > JPEG_TAIL_MAX) {
		tail += n - JPEG_TAIL_MAX;
		n = JPEG_TAIL_MAX;
	}
	if (jpeg_cut_in_scan(m->scan_off, file_size, tail, n))
		exifmeta_append(m->error, sizeof m->error,
				"the JPEG ends inside its image data (truncated?)");
}

/* Kind and format by the bytes, else the name; 1 if the bytes said. */
static int kind_of(const uint8_t *head, size_t n, const char *name, struct meta *m)
{
	char ext[8];
	extension_of(name, ext);
	if (sniff(head, n, ext, m))
		return 1;
	const struct ftype *fe = lookup_ext(ext);
	if (fe)
		set_type(m, fe->kind, fe->format);
	else
		set_type(m, "other", "");
	return 0;
}

void meta_kind(const uint8_t *head, size_t n, const char *name, struct meta *m)
{
	static const uint8_t none[1];
	memset(m, 0, sizeof *m);
	kind_of(head && n ? head : none, head ? n : 0, name, m);
}

/*
 * A file whose ftyp names a format: its brand must be there to say which,
 * and its size must be a box's. 0, or -1 with the problem named in m.
 */
static int ftyp_whole(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m)
{
	uint64_t size = tiff_rd(p, 4, 0);
	size_t hl = ftyp_header_len(p);
	int cut = (uint64_t)n < file_size;
	if (size == 1 && n >= 16)
		size = (uint64_t)tiff_rd(p + 8, 4, 0) << 32 | tiff_rd(p + 12, 4, 0);
	if (size != 0 && size < hl && !(size == 1 && n < 16))
		exifmeta_append(m->error, sizeof m->error,
				"the ftyp box at the file's start has a size of %llu bytes, less "
				"than its own %zu-byte header",
				(unsigned long long)size, hl);
	else if (n < hl + 4 && (size == 1 || size > n))
		exifmeta_append(m->error, sizeof m->error,
				"%s after %zu bytes, inside its ftyp box, before the brand that "
				"says what the file holds%s",
				cut ? "the bytes read end" : "the file ends", n,
				cut ? "" : ": cut short");
	else if (n < hl + 4)
		exifmeta_append(m->error, sizeof m->error,
				"the ftyp box at the file's start (%zu bytes) is too short to "
				"hold a brand",
				size ? (size_t)size : n);
	else
		return 0;
	return -1;
}

/*
 * A file whose EXIF (and FLIR record) gave no date takes IPTC's, else an
 * XMP date without a zone, as its camera clock: editing programs and
 * photo desks may leave the capture date only there. Its zone, when IPTC
 * wrote one, is the offset; otherwise the time is placed as any camera
 * clock without a zone is (learned or declared offset).
 */
static void take_other_clock(struct meta *m)
{
	if (m->has_camera_time || !m->has_other_clock)
		return;
	meta_set_camera_time(m, m->other_clock_t);
	if (m->other_has_offset && !m->has_offset) {
		m->has_offset = 1;
		m->offset_s = m->other_offset_s;
		time_format_offset(m->other_offset_s, m->offset_raw);
	}
	exifmeta_append(m->note, sizeof m->note, "camera time%s from %s (EXIF has no date)",
			m->other_has_offset ? " and zone" : "", m->other_clock_from);
}

int meta_read(const uint8_t *head, size_t n, uint64_t file_size, const char *name,
	      struct meta *m)
{
	char ext[8], why[160];
	static const uint8_t none[1];

	memset(m, 0, sizeof *m);
	if (!head)
		n = 0;
	if (n == 0)
		head = none;
	extension_of(name, ext);
	if (!kind_of(head, n, name, m)) {
		/* named like a format whose files start with a signature, and
		 * not starting with it: damage worth naming (cards hold
		 * truncated, zeroed and encrypted files) */
		const struct ftype *fe = lookup_ext(ext);
		if (!fe || fe->sig == SIG_NONE)
			goto out;
		if (n == 0) {
			exifmeta_append(m->error, sizeof m->error, "the file is empty");
		} else if (fe->sig == SIG_JPEG) {
			/* FF D8 and then no marker: the walker says where */
			if (head[0] == 0xFF && (n == 1 || head[1] == JPEG_SOI))
				read_jpeg(head, n, file_size, m);
			else
				exifmeta_append(m->error, sizeof m->error,
						"not a JPEG: it does not start with the SOI marker "
						"FF D8");
		} else {
			sig_mismatch(fe, head, n, why, sizeof why);
			if (why[0])
				exifmeta_append(m->error, sizeof m->error, "%s", why);
		}
		goto out;
	}
	if (starts(head, n, "ftyp", 4) && ftyp_whole(head, n, file_size, m) != 0)
		goto out;
	if (strcmp(m->format, "jpeg") == 0)
		read_jpeg(head, n, file_size, m);
	else if (starts(head, n, "II*\0", 0) || starts(head, n, "MM\0*", 0) ||
		 raw_tiff_format(head, n))
		read_tiff(head, n, file_size, NULL, m);
	else if (bmff_is_boxes(head, n) && (strcmp(m->kind, "video") == 0 ||
					    strcmp(m->format, "m4a") == 0))
		bmff_read(head, n, file_size, m);
	else if (bmff_is_boxes(head, n) &&
		 (strcmp(m->format, "heic") == 0 || strcmp(m->format, "avif") == 0))
		bmff_read_heif(head, n, file_size, m);
	else if (strcmp(m->format, "png") == 0 && starts(head, n, "\x89PNG\r\n\x1a\n", 0))
		read_png(head, n, file_size, m);
	else if (strcmp(m->format, "webp") == 0 && starts(head, n, "RIFF", 0) &&
		 starts(head, n, "WEBP", 8))
		read_webp(head, n, file_size, m);
	take_other_clock(m);
out:
	return 0;
}

/* The camera clock read as UTC plus its sub-seconds. */
static double camera_seconds(const struct meta *m)
{
	return (double)m->camera_time_t + m->subsec;
}

static void set_time(struct resolved *r, double utc, const char *source, int has_tz, int tz)
{
	r->has_time = 1;
	r->utc = utc;
	snprintf(r->time_source, sizeof r->time_source, "%s", source);
	r->has_tz = has_tz;
	r->tz_offset_s = has_tz ? tz : 0;
}

static void resolve_time(const struct meta *m, const int *learned, const int *declared,
			 struct resolved *r)
{
	int cam = m->has_camera_time;

	if (cam && m->has_offset) {
		set_time(r, camera_seconds(m) - m->offset_s, "offset", 1, m->offset_s);
		return;
	}
	if (m->has_gps_time) {
		if (!cam) {
			set_time(r, m->gps_time_t, "gps", 0, 0);
			return;
		}
		double d = camera_seconds(m) - m->gps_time_t;
		if (fabs(d) <= EXIFMETA_MAX_GPS_SKEW_S) {
			int tz = (int)lround(d);
			set_time(r, camera_seconds(m) - tz, "gps", 1, tz);
			/* Every zone is a whole quarter hour. Far from one, the
			 * camera clock has drifted, or the GPS time is that of an
			 * older fix (phones write their last one): the time taken
			 * may then be off by the difference, which is said. */
			long q = lround(d / 900.0) * 900;
			long off = labs(tz - q);
			if (off > 120)
				exifmeta_append(r->note, sizeof r->note,
						"camera clock minus GPS time is %ld min %ld s from a "
						"whole time zone: the clock has drifted or the GPS "
						"time is an older fix's; the GPS time is taken",
						off / 60, off % 60);
			return;
		}
		exifmeta_append(r->note, sizeof r->note,
				"GPS time is %.0f h from the camera clock; not used", fabs(d) / 3600);
	}
	if (m->has_xmp_time) {
		if (!cam) {
			set_time(r, m->xmp_time_t, "xmp", 1, m->xmp_offset_s);
			return;
		}
		double u = camera_seconds(m) - m->xmp_offset_s;
		if (fabs(u - m->xmp_time_t) <= XMP_SAME_MOMENT_S) {
			set_time(r, u, "xmp", 1, m->xmp_offset_s);
			return;
		}
		exifmeta_append(r->note, sizeof r->note,
				"XMP date is not the camera time at its offset; not used");
	}
	if (!cam)
		return;
	if (m->clock_is_utc) {
		set_time(r, camera_seconds(m), "video", 0, 0);
		return;
	}
	if (learned) {
		set_time(r, camera_seconds(m) - *learned, "learned", 1, *learned);
		return;
	}
	if (declared)
		set_time(r, camera_seconds(m) - *declared, "declared", 1, *declared);
}

void meta_resolve(const struct meta *m, const int *learned_offset, const int *declared_offset,
		  struct resolved *r)
{
	memset(r, 0, sizeof *r);
	r->error_m = -1;
	resolve_time(m, learned_offset, declared_offset, r);

	if (m->has_exif_pos) {
		r->has_pos = 1;
		r->lat = m->exif_lat;
		r->lon = m->exif_lon;
		if (m->has_exif_alt) {
			r->has_alt = 1;
			r->alt = m->exif_alt;
		}
		snprintf(r->location_source, sizeof r->location_source, "exif");
		/* A receiver's own error estimate beats a DOP times a typical
		 * 5 m range error. */
		if (m->gps_hpe > 0)
			r->error_m = m->gps_hpe;
		else if (m->gps_dop > 0)
			r->error_m = m->gps_dop * 5.0;
	} else if (m->has_xmp_pos) {
		r->has_pos = 1;
		r->lat = m->xmp_lat;
		r->lon = m->xmp_lon;
		if (m->has_xmp_alt) {
			r->has_alt = 1;
			r->alt = m->xmp_alt;
		}
		snprintf(r->location_source, sizeof r->location_source, "xmp");
	} else if (m->has_video_pos) {
		r->has_pos = 1;
		r->lat = m->video_lat;
		r->lon = m->video_lon;
		if (m->has_video_alt) {
			r->has_alt = 1;
			r->alt = m->video_alt;
		}
		snprintf(r->location_source, sizeof r->location_source, "video");
	}
}
