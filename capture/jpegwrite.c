/*
 * The working-copy writer (see jpegwrite.h). What changes is made once, as
 * a list of entries in the block's byte order (every format, count and
 * byte the one written here), then either appended to the original block
 * as new directories (tiff_append) or given to libexif; the splice copies
 * the source around the one segment it replaces.
 */
#include "jpegwrite.h"

#include <libexif/exif-data.h>
#include <libexif/exif-mem.h>
#include <libexif/exif-utils.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeg.h"
#include "timeutil.h"

#define TAG_XP_COMMENT 0x9C9C
#define TAG_XP_KEYWORDS 0x9C9E
#define TAG_USER_COMMENT 0x9286
#define TAG_GPS_VERSION 0x0000

/*
 * What a copy changes in the EXIF block, as a list of entries to set or
 * drop, so that one list serves both writers: the one that appends new
 * IFDs to the original's block (tiff_append) and libexif, for a photo
 * with no block of its own or one tiff_append cannot read.
 */
enum edit_ifd { ED_IFD0, ED_EXIF, ED_GPS };

struct edit {
	enum edit_ifd ifd;
	unsigned tag, format;
	uint32_t count;
	uint8_t *bytes; /* NULL: drop the entry */
	size_t len;
};

#define EDITS_MAX 24

struct edits {
	struct edit e[EDITS_MAX];
	size_t n;
	ExifByteOrder bo;
};

/* Sets (bytes != NULL) or drops one entry; a later edit of the same tag
 * replaces an earlier one. */
static void edit_put(struct edits *ed, enum edit_ifd ifd, unsigned tag, unsigned format,
		     uint32_t count, const void *bytes, size_t len)
{
	struct edit *e = NULL;
	for (size_t i = 0; i < ed->n; i++)
		if (ed->e[i].ifd == ifd && ed->e[i].tag == tag)
			e = &ed->e[i];
	if (!e) {
		if (ed->n == EDITS_MAX)
			abort(); /* the writers below make at most 16 */
		e = &ed->e[ed->n++];
		e->bytes = NULL;
	}
	free(e->bytes);
	*e = (struct edit){ifd, tag, format, count, NULL, len};
	if (bytes) {
		e->bytes = xmalloc(len ? len : 1);
		memcpy(e->bytes, bytes, len);
	}
}

static void edits_free(struct edits *ed)
{
	for (size_t i = 0; i < ed->n; i++) {
		free(ed->e[i].bytes);
		ed->e[i].bytes = NULL;
	}
	ed->n = 0;
}

static void put_ascii(struct edits *ed, enum edit_ifd ifd, unsigned tag, const char *s)
{
	edit_put(ed, ifd, tag, EXIF_FORMAT_ASCII, (uint32_t)strlen(s) + 1, s, strlen(s) + 1);
}

static void put_rationals(struct edits *ed, unsigned tag, const ExifRational *r, int n)
{
	uint8_t b[24];
	for (int i = 0; i < n; i++)
		exif_set_rational(b + 8 * i, ed->bo, r[i]);
	edit_put(ed, ED_GPS, tag, EXIF_FORMAT_RATIONAL, (uint32_t)n, b, 8 * (size_t)n);
}

/* Degrees as d/1, m/1, s*10000/10000: 1e-4 arc seconds is 3 mm. */
static void to_dms(double deg, ExifRational r[3])
{
	double a = fabs(deg);
	uint32_t d = (uint32_t)floor(a);
	double mf = (a - d) * 60.0;
	uint32_t m = (uint32_t)floor(mf);
	long long s = llround((mf - m) * 60.0 * 10000.0);
	if (s >= 600000) { /* rounding carried into the next minute */
		s -= 600000;
		if (++m == 60) {
			m = 0;
			d++;
		}
	}
	r[0] = (ExifRational){d, 1};
	r[1] = (ExifRational){m, 1};
	r[2] = (ExifRational){(ExifLong)s, 10000};
}

static void set_gps(struct edits *ed, const struct jpeg_tags *t)
{
	static const uint8_t version[4] = {2, 3, 0, 0};
	ExifRational r[3];

	/* A photo evcap has no place for keeps none in its copy: a position
	 * the file carried was judged no fix (0,0, status V, unreadable), and
	 * a map program would show the evidence there. */
	if (!t->has_pos) {
		static const unsigned pos_tags[] = {
			EXIF_TAG_GPS_LATITUDE_REF, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LONGITUDE_REF,
			EXIF_TAG_GPS_LONGITUDE,    EXIF_TAG_GPS_MAP_DATUM};
		for (size_t k = 0; k < sizeof pos_tags / sizeof pos_tags[0]; k++)
			edit_put(ed, ED_GPS, pos_tags[k], 0, 0, NULL, 0);
		if (!t->has_alt) {
			edit_put(ed, ED_GPS, EXIF_TAG_GPS_ALTITUDE_REF, 0, 0, NULL, 0);
			edit_put(ed, ED_GPS, EXIF_TAG_GPS_ALTITUDE, 0, 0, NULL, 0);
		}
	}
	/* the version says evcap wrote this block: only when it writes in it */
	if (t->has_pos || t->has_alt || t->has_time)
		edit_put(ed, ED_GPS, TAG_GPS_VERSION, EXIF_FORMAT_BYTE, 4, version, 4);
	if (t->has_pos) {
		/* the file's own status ('V', void) was of its own fix, not of
		 * this position; a reader would take it for this one's */
		edit_put(ed, ED_GPS, EXIF_TAG_GPS_STATUS, 0, 0, NULL, 0);
		put_ascii(ed, ED_GPS, EXIF_TAG_GPS_LATITUDE_REF, t->lat < 0 ? "S" : "N");
		to_dms(t->lat, r);
		put_rationals(ed, EXIF_TAG_GPS_LATITUDE, r, 3);
		put_ascii(ed, ED_GPS, EXIF_TAG_GPS_LONGITUDE_REF, t->lon < 0 ? "W" : "E");
		to_dms(t->lon, r);
		put_rationals(ed, EXIF_TAG_GPS_LONGITUDE, r, 3);
		put_ascii(ed, ED_GPS, EXIF_TAG_GPS_MAP_DATUM, "WGS-84");
	}
	if (t->has_alt) {
		uint8_t ref = t->alt < 0;
		edit_put(ed, ED_GPS, EXIF_TAG_GPS_ALTITUDE_REF, EXIF_FORMAT_BYTE, 1, &ref, 1);
		r[0] = (ExifRational){(ExifLong)llround(fabs(t->alt) * 1000.0), 1000};
		put_rationals(ed, EXIF_TAG_GPS_ALTITUDE, r, 1);
	}
	if (t->has_time) {
		double whole = floor(t->utc);
		int y, mo, d, h, mi, s;
		time_to_civil((int64_t)whole, &y, &mo, &d, &h, &mi, &s);
		char date[32];
		snprintf(date, sizeof date, "%04d:%02d:%02d", y % 10000, mo, d);
		put_ascii(ed, ED_GPS, EXIF_TAG_GPS_DATE_STAMP, date);
		r[0] = (ExifRational){(ExifLong)h, 1};
		r[1] = (ExifRational){(ExifLong)mi, 1};
		r[2] = (ExifRational){(ExifLong)llround((s + (t->utc - whole)) * 1000.0), 1000};
		put_rationals(ed, EXIF_TAG_GPS_TIME_STAMP, r, 3);
	}
}

/* UTF-8 (already validated) to UTF-16 in the given byte order, with or
 * without a terminating NUL unit. Returns the bytes written. */
static size_t utf16(const char *s, size_t n, int little, int nul, uint8_t *out)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		if (p[i] < 0x80) {
			cp = p[i];
			i += 1;
		} else if ((p[i] & 0xE0) == 0xC0) {
			cp = (uint32_t)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
			i += 2;
		} else if ((p[i] & 0xF0) == 0xE0) {
			cp = (uint32_t)(p[i] & 0x0F) << 12 | (uint32_t)(p[i + 1] & 0x3F) << 6 |
			     (p[i + 2] & 0x3F);
			i += 3;
		} else {
			cp = (uint32_t)(p[i] & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3F) << 12 |
			     (uint32_t)(p[i + 2] & 0x3F) << 6 | (p[i + 3] & 0x3F);
			i += 4;
		}
		uint16_t u[2];
		int k = 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u[0] = (uint16_t)(0xD800 | (cp >> 10));
			u[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
			k = 2;
		} else {
			u[0] = (uint16_t)cp;
		}
		for (int j = 0; j < k; j++) {
			out[o++] = (uint8_t)(little ? u[j] : u[j] >> 8);
			out[o++] = (uint8_t)(little ? u[j] >> 8 : u[j]);
		}
	}
	if (nul) {
		out[o++] = 0;
		out[o++] = 0;
	}
	return o;
}

/*
 * The case number where Windows Explorer and exiftool show it: XPKeywords
 * and XPComment (IFD0, BYTE, UTF-16LE whatever the block's byte order) and
 * UserComment (EXIF IFD, "UNICODE\0" then UTF-16 in the block's order).
 */
static void set_case(struct edits *ed, const char *cn)
{
	size_t n = strlen(cn);
	/* UTF-16 needs at most 2 bytes per UTF-8 byte, plus header and NUL. */
	uint8_t *b = xmalloc(8 + 2 * n + 2);
	size_t l = utf16(cn, n, 1, 1, b);
	edit_put(ed, ED_IFD0, TAG_XP_KEYWORDS, EXIF_FORMAT_BYTE, (uint32_t)l, b, l);
	edit_put(ed, ED_IFD0, TAG_XP_COMMENT, EXIF_FORMAT_BYTE, (uint32_t)l, b, l);
	memcpy(b, "UNICODE\0", 8);
	l = 8 + utf16(cn, n, ed->bo == EXIF_BYTE_ORDER_INTEL, 0, b + 8);
	edit_put(ed, ED_EXIF, TAG_USER_COMMENT, EXIF_FORMAT_UNDEFINED, (uint32_t)l, b, l);
	free(b);
}

/* The rendering's orientation and size, where given. */
static void set_picture(struct edits *ed, const struct jpeg_tags *t)
{
	uint8_t b[4];
	if (t->orientation) {
		exif_set_short(b, ed->bo, (ExifShort)t->orientation);
		edit_put(ed, ED_IFD0, EXIF_TAG_ORIENTATION, EXIF_FORMAT_SHORT, 1, b, 2);
	}
	if (t->width && t->height) {
		exif_set_long(b, ed->bo, t->width);
		edit_put(ed, ED_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, EXIF_FORMAT_LONG, 1, b, 4);
		exif_set_long(b, ed->bo, t->height);
		edit_put(ed, ED_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, EXIF_FORMAT_LONG, 1, b, 4);
	}
}

static int check_tags(const struct jpeg_tags *t, char *err, size_t errlen)
{
	if (t->has_pos && (!isfinite(t->lat) || !isfinite(t->lon) || fabs(t->lat) > 90 ||
			   fabs(t->lon) > 180))
		return err_set(err, errlen, EV_EINVAL, "position %g,%g is not a WGS-84 coordinate",
			       t->lat, t->lon);
	if (t->has_alt && (!isfinite(t->alt) || fabs(t->alt) > 100000))
		return err_set(err, errlen, EV_EINVAL, "altitude %g m is out of range", t->alt);
	if (t->has_time && (!isfinite(t->utc) || t->utc < 0 || t->utc > 7258118400.0))
		return err_set(err, errlen, EV_EINVAL, "GPS time %g is out of range", t->utc);
	if (t->orientation < 0 || t->orientation > 8)
		return err_set(err, errlen, EV_EINVAL, "orientation %d is not 1-8", t->orientation);
	if (t->exif &&
	    (t->exif_len < JPEG_EXIF_HEADER_LEN + 8 || t->exif_len > JPEGWRITE_MAX_APP1 ||
	     memcmp(t->exif, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) != 0))
		return err_set(err, errlen, EV_EINVAL,
			       "the EXIF block given (%zu bytes) is not one APP1 payload",
			       t->exif_len);
	if (t->case_number) {
		size_t n = strlen(t->case_number);
		if (n > JPEGWRITE_MAX_CASE)
			return err_set(err, errlen, EV_ELIMIT,
				       "case number is longer than %d bytes", JPEGWRITE_MAX_CASE);
		if (!utf8_valid(t->case_number, n))
			return err_set(err, errlen, EV_EINVAL, "case number is not valid UTF-8");
	}
	return 0;
}

/* Everything a copy changes, made in the block's byte order (ed->bo). */
static void set_edits(struct edits *ed, const struct jpeg_tags *t)
{
	set_gps(ed, t);
	if (t->case_number)
		set_case(ed, t->case_number);
	set_picture(ed, t);
}

/* The edits applied to libexif's data. 0 or EV_ERR (no memory). Entries
 * are made by hand with the data's allocator, so that every format, count
 * and byte is the one given. */
static int apply_libexif(ExifData *ed, ExifMem *mem, const struct edits *edits)
{
	static const ExifIfd ifds[] = {EXIF_IFD_0, EXIF_IFD_EXIF, EXIF_IFD_GPS};
	for (size_t i = 0; i < edits->n; i++) {
		const struct edit *x = &edits->e[i];
		ExifContent *c = ed->ifd[ifds[x->ifd]];
		ExifEntry *old = exif_content_get_entry(c, (ExifTag)x->tag);
		if (old)
			exif_content_remove_entry(c, old);
		if (!x->bytes)
			continue;
		ExifEntry *e = exif_entry_new_mem(mem);
		if (!e)
			return EV_ERR;
		e->data = exif_mem_alloc(mem, (ExifLong)x->len);
		if (!e->data) {
			exif_entry_unref(e);
			return EV_ERR;
		}
		memcpy(e->data, x->bytes, x->len);
		e->size = (unsigned)x->len;
		e->tag = (ExifTag)x->tag;
		e->format = (ExifFormat)x->format;
		e->components = x->count;
		/* the content keeps its own reference */
		exif_content_add_entry(c, e);
		exif_entry_unref(e);
	}
	return 0;
}

/* ---- appending to the original's block ---- */

#define TIFF_TAG_EXIF_IFD 0x8769
#define TIFF_TAG_GPS_IFD 0x8825
#define TIFF_IFD_MAX 1000 /* entries an IFD may have to be edited here */

/* One IFD of the original: where its entries are, how many, what follows. */
struct tiff_ifd {
	const uint8_t *entries; /* n entries of 12 bytes, in the original */
	unsigned n;
	uint32_t next;
	int present;
};

/* Reads the IFD at off: 0, or -1 when it does not lie whole in the block. */
static int tiff_ifd_read(const uint8_t *t, size_t len, ExifByteOrder bo, uint32_t off,
			 struct tiff_ifd *ifd)
{
	memset(ifd, 0, sizeof *ifd);
	/* TIFF wants an even offset; readers take an odd one, and so does this */
	if (off < 8 || (size_t)off + 2 > len)
		return -1;
	unsigned n = exif_get_short(t + off, bo);
	if (n > TIFF_IFD_MAX || (size_t)off + 2 + 12 * (size_t)n + 4 > len)
		return -1;
	ifd->entries = t + off + 2;
	ifd->n = n;
	ifd->next = exif_get_long(t + off + 2 + 12 * (size_t)n, bo);
	ifd->present = 1;
	return 0;
}

/* The offset an IFD pointer entry (tag) of ifd gives; 0 when none. -1 when
 * the entry is there but is no single LONG, IFD or SHORT (some writers
 * store a small offset as a SHORT; readers take it). */
static int64_t tiff_pointer(const struct tiff_ifd *ifd, ExifByteOrder bo, unsigned tag)
{
	for (unsigned i = 0; i < ifd->n; i++) {
		const uint8_t *e = ifd->entries + 12 * (size_t)i;
		if (exif_get_short(e, bo) != tag)
			continue;
		unsigned type = exif_get_short(e + 2, bo);
		if ((type != 3 && type != 4 && type != 13) || exif_get_long(e + 4, bo) != 1)
			return -1;
		return type == 3 ? exif_get_short(e + 8, bo) : exif_get_long(e + 8, bo);
	}
	return 0;
}

/* A new IFD, built from the old one's entries (kept byte for byte, their
 * offsets still pointing into the original block, which stays where it
 * was) less those the edits replace or drop, plus the edits' entries and
 * extra[] (pointers to the new IFDs). Sorted by tag, as TIFF wants. */
struct ifd_entry {
	unsigned tag;
	uint8_t raw[12];
	const uint8_t *value; /* a new entry's value of more than 4 bytes */
	size_t value_len;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct ifd_entry *x = a, *y = b;
	return (x->tag > y->tag) - (x->tag < y->tag);
}

/* Writes an IFD and its values at the end of out (at an even offset);
 * *at gets the IFD's offset from the start of the TIFF block. */
static int ifd_write(struct buf *out, size_t tiff_start, ExifByteOrder bo, struct ifd_entry *v,
		     size_t n, uint32_t next, uint32_t *at)
{
	static const uint8_t zero[1] = {0};
	int rc = 0;
	if ((out->len - tiff_start) % 2)
		rc = buf_append(out, zero, 1);
	size_t pos = out->len - tiff_start;
	size_t vpos = pos + 2 + 12 * n + 4;
	/* insertion sort would do; qsort is stable enough: tags are unique */
	qsort(v, n, sizeof *v, entry_cmp);
	uint8_t b[4];
	exif_set_short(b, bo, (ExifShort)n);
	rc = rc || buf_append(out, b, 2);
	for (size_t i = 0; i < n && !rc; i++) {
		if (v[i].value) {
			exif_set_long(v[i].raw + 8, bo, (ExifLong)vpos);
			vpos += v[i].value_len + v[i].value_len % 2;
		}
		rc = buf_append(out, v[i].raw, 12);
	}
	exif_set_long(b, bo, next);
	rc = rc || buf_append(out, b, 4);
	for (size_t i = 0; i < n && !rc; i++)
		if (v[i].value) {
			rc = buf_append(out, v[i].value, v[i].value_len);
			if (!rc && v[i].value_len % 2)
				rc = buf_append(out, zero, 1);
		}
	if (pos > UINT32_MAX || vpos > UINT32_MAX)
		return EV_ELIMIT;
	*at = (uint32_t)pos;
	return rc ? EV_ELIMIT : 0;
}

/* The entries of one IFD after the edits: old ones kept unless edited,
 * then the edits' own. *nv entries in v (room for old->n + EDITS_MAX + 2). */
static void ifd_merge(const struct tiff_ifd *old, ExifByteOrder bo, const struct edits *ed,
		      enum edit_ifd which, const unsigned *also_drop, size_t n_drop,
		      struct ifd_entry *v, size_t *nv)
{
	size_t n = 0;
	for (unsigned i = 0; old && i < old->n; i++) {
		const uint8_t *e = old->entries + 12 * (size_t)i;
		unsigned tag = exif_get_short(e, bo);
		int edited = 0;
		for (size_t k = 0; k < ed->n; k++)
			edited |= ed->e[k].ifd == which && ed->e[k].tag == tag;
		for (size_t k = 0; k < n_drop; k++)
			edited |= also_drop[k] == tag;
		if (edited)
			continue;
		v[n].tag = tag;
		memcpy(v[n].raw, e, 12);
		v[n].value = NULL;
		v[n].value_len = 0;
		n++;
	}
	for (size_t k = 0; k < ed->n; k++) {
		const struct edit *x = &ed->e[k];
		if (x->ifd != which || !x->bytes)
			continue;
		struct ifd_entry *y = &v[n++];
		memset(y, 0, sizeof *y);
		y->tag = x->tag;
		exif_set_short(y->raw, bo, (ExifShort)x->tag);
		exif_set_short(y->raw + 2, bo, (ExifShort)x->format);
		exif_set_long(y->raw + 4, bo, x->count);
		if (x->len <= 4) {
			memcpy(y->raw + 8, x->bytes, x->len);
		} else {
			y->value = x->bytes;
			y->value_len = x->len;
		}
	}
	*nv = n;
}

/* A pointer entry (tag) to a new IFD at off. */
static void pointer_entry(struct ifd_entry *y, ExifByteOrder bo, unsigned tag, uint32_t off)
{
	memset(y, 0, sizeof *y);
	y->tag = tag;
	exif_set_short(y->raw, bo, (ExifShort)tag);
	exif_set_short(y->raw + 2, bo, 4);
	exif_set_long(y->raw + 4, bo, 1);
	exif_set_long(y->raw + 8, bo, off);
}

static int has_edits(const struct edits *ed, enum edit_ifd which)
{
	for (size_t k = 0; k < ed->n; k++)
		if (ed->e[k].ifd == which)
			return 1;
	return 0;
}

/*
 * The original's TIFF block t[0..len) kept whole and where it was, with
 * new IFDs appended for what the edits change and the header pointed at
 * the new IFD0. Every other byte stays at its offset, so what counts from
 * the start of the block keeps pointing right: the MakerNote of Sony,
 * Canon and others, whose own entries give offsets from there (libexif,
 * writing the block anew, moves it). IFD1 and its thumbnail, and every
 * other IFD, are reached as before. The old IFD0, EXIF and GPS IFDs stay
 * as unreferenced bytes. Appends "Exif\0\0" and the new block to out; -1
 * when the block is not one this can read (then libexif writes it).
 */
static int tiff_append(const uint8_t *t, size_t len, const struct edits *ed, struct buf *out)
{
	if (len < 8 || len > JPEGWRITE_MAX_APP1)
		return -1;
	ExifByteOrder bo;
	if (t[0] == 'I' && t[1] == 'I')
		bo = EXIF_BYTE_ORDER_INTEL;
	else if (t[0] == 'M' && t[1] == 'M')
		bo = EXIF_BYTE_ORDER_MOTOROLA;
	else
		return -1;
	if (bo != ed->bo || exif_get_short(t + 2, bo) != 42)
		return -1;
	struct tiff_ifd ifd0, exif, gps;
	if (tiff_ifd_read(t, len, bo, exif_get_long(t + 4, bo), &ifd0))
		return -1;
	int64_t exif_off = tiff_pointer(&ifd0, bo, TIFF_TAG_EXIF_IFD);
	int64_t gps_off = tiff_pointer(&ifd0, bo, TIFF_TAG_GPS_IFD);
	if (exif_off < 0 || gps_off < 0)
		return -1;
	memset(&exif, 0, sizeof exif);
	memset(&gps, 0, sizeof gps);
	if ((exif_off && tiff_ifd_read(t, len, bo, (uint32_t)exif_off, &exif)) ||
	    (gps_off && tiff_ifd_read(t, len, bo, (uint32_t)gps_off, &gps)))
		return -1;

	size_t cap = ifd0.n + exif.n + gps.n + EDITS_MAX + 2;
	struct ifd_entry *v = xcalloc(cap, sizeof *v);
	size_t start = out->len, nv;
	int rc = buf_append(out, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) ||
		 buf_append(out, t, len);
	size_t tiff = start + JPEG_EXIF_HEADER_LEN;
	uint32_t new_exif = (uint32_t)exif_off, new_gps = (uint32_t)gps_off, new0 = 0;
	if (!rc && has_edits(ed, ED_GPS)) {
		ifd_merge(&gps, bo, ed, ED_GPS, NULL, 0, v, &nv);
		new_gps = 0;
		if (nv)
			rc = ifd_write(out, tiff, bo, v, nv, 0, &new_gps);
	}
	if (!rc && has_edits(ed, ED_EXIF)) {
		ifd_merge(&exif, bo, ed, ED_EXIF, NULL, 0, v, &nv);
		new_exif = 0;
		if (nv)
			rc = ifd_write(out, tiff, bo, v, nv, 0, &new_exif);
	}
	if (!rc) {
		static const unsigned ptrs[] = {TIFF_TAG_EXIF_IFD, TIFF_TAG_GPS_IFD};
		ifd_merge(&ifd0, bo, ed, ED_IFD0, ptrs, 2, v, &nv);
		if (new_exif)
			pointer_entry(&v[nv++], bo, TIFF_TAG_EXIF_IFD, new_exif);
		if (new_gps)
			pointer_entry(&v[nv++], bo, TIFF_TAG_GPS_IFD, new_gps);
		/* IFD1 (the thumbnail) follows as before; a link back into a
		 * directory this replaces (a loop) would show the old one again,
		 * its GPS with it */
		uint32_t next = ifd0.next, old0 = exif_get_long(t + 4, bo);
		if (next == old0 || (next && (next == exif_off || next == gps_off)))
			next = 0;
		rc = ifd_write(out, tiff, bo, v, nv, next, &new0);
	}
	free(v);
	if (rc) {
		out->len = start;
		return -1;
	}
	exif_set_long((unsigned char *)out->data + tiff + 4, bo, new0);
	return 0;
}

int jpeg_tag_copy(const uint8_t *src, size_t n, const struct jpeg_tags *tags, struct buf *out,
		  char *err, size_t errlen)
{
	struct jpeg_info *ji = xmalloc(sizeof *ji);
	ExifMem *mem = NULL;
	ExifData *ed = NULL;
	unsigned char *lx = NULL;
	unsigned int lx_len = 0;
	const unsigned char *exif = NULL;
	size_t exif_len = 0;
	struct edits edits = {.n = 0, .bo = EXIF_BYTE_ORDER_INTEL};
	struct buf app;
	char werr[200];
	int rc;

	buf_reset(out);
	buf_init(&app, JPEGWRITE_MAX_APP1 + 16);
	rc = check_tags(tags, err, errlen);
	if (rc)
		goto out;
	rc = jpeg_walk(src, n, ji, werr, sizeof werr);
	if (rc || !ji->reached_sos) {
		rc = err_set(err, errlen, rc ? rc : EV_ECORRUPT,
			     "refusing to write a copy of a damaged JPEG: %s",
			     rc ? werr : "it has no image data");
		goto out;
	}
	if (tags->exif && ji->has_exif) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "an EXIF block was given for a JPEG that has its own");
		goto out;
	}
	/* a segment added to a JPEG already at the walker's limit would make
	 * a copy that evcap itself could not read */
	if (!ji->has_exif && ji->nseg >= JPEG_MAX_SEGMENTS) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "the JPEG has %d segments before its image data and no EXIF block; "
			     "one more is more than evcap reads",
			     JPEG_MAX_SEGMENTS);
		goto out;
	}
	/* the block to start from: given, the source's own, or none */
	const uint8_t *old = tags->exif ? tags->exif : ji->has_exif ? src + ji->exif_off : NULL;
	size_t old_len = tags->exif ? tags->exif_len : ji->has_exif ? ji->exif_len : 0;
	if (old && old_len >= JPEG_EXIF_HEADER_LEN + 2 &&
	    memcmp(old + JPEG_EXIF_HEADER_LEN, "MM", 2) == 0)
		edits.bo = EXIF_BYTE_ORDER_MOTOROLA;
	set_edits(&edits, tags);

	/* The original's block kept where it was and new IFDs appended, so
	 * maker notes that count from the block's start still read; libexif
	 * writes a new block where there is none, or one this cannot read. */
	if (old && old_len >= JPEG_EXIF_HEADER_LEN &&
	    memcmp(old, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) == 0 &&
	    tiff_append(old + JPEG_EXIF_HEADER_LEN, old_len - JPEG_EXIF_HEADER_LEN, &edits,
			&app) == 0) {
		exif = (const unsigned char *)app.data;
		exif_len = app.len;
	} else {
		mem = exif_mem_new_default();
		ed = mem ? exif_data_new_mem(mem) : NULL;
		if (!ed) {
			rc = err_set(err, errlen, EV_ERR, "libexif could not allocate its data");
			goto out;
		}
		/* Keep every tag as found, including ones libexif has no name
		 * for, and the MakerNote bytes as they are. */
		exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
		exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
		exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
		if (old)
			exif_data_load_data(ed, old, (unsigned)old_len);
		else
			exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
		/* the values are made in the order libexif writes the block in
		 * (a block it could not read is written anew in its own) */
		if (exif_data_get_byte_order(ed) != edits.bo) {
			edits_free(&edits);
			edits.bo = exif_data_get_byte_order(ed);
			set_edits(&edits, tags);
		}
		if (apply_libexif(ed, mem, &edits) != 0) {
			rc = err_set(err, errlen, EV_ERR, "libexif could not allocate an entry");
			goto out;
		}
		exif_data_save_data(ed, &lx, &lx_len);
		if (!lx || lx_len < JPEG_EXIF_HEADER_LEN) {
			rc = err_set(err, errlen, EV_ERR, "libexif could not serialise the EXIF block");
			goto out;
		}
		exif = lx;
		exif_len = lx_len;
	}
	if (exif_len > JPEGWRITE_MAX_APP1) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "the new EXIF block is %zu bytes; one APP1 holds at most %d", exif_len,
			     JPEGWRITE_MAX_APP1);
		goto out;
	}

	/* Splice: the old Exif APP1 is replaced where it was; without one the
	 * new APP1 goes after SOI, or after a JFIF APP0 that must stay first. */
	size_t cut_from, cut_to;
	if (ji->has_exif) {
		cut_from = ji->seg[ji->exif_seg].offset;
		cut_to = cut_from + ji->seg[ji->exif_seg].length;
	} else {
		const struct jpeg_segment *s1 = ji->nseg > 1 ? &ji->seg[1] : NULL;
		cut_from = (s1 && s1->marker == JPEG_APP0) ? s1->offset + s1->length : 2;
		cut_to = cut_from;
	}
	uint8_t hdr[4] = {0xFF, JPEG_APP1, (uint8_t)((exif_len + 2) >> 8), (uint8_t)(exif_len + 2)};
	out->max = n + JPEGWRITE_MAX_APP1 + 16;
	if (buf_append(out, src, cut_from) || buf_append(out, hdr, 4) ||
	    buf_append(out, exif, exif_len) || buf_append(out, src + cut_to, n - cut_to)) {
		rc = err_set(err, errlen, EV_ELIMIT, "the copy does not fit in its buffer");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		buf_reset(out);
	if (lx)
		exif_mem_free(mem, lx);
	if (ed)
		exif_data_unref(ed);
	if (mem)
		exif_mem_unref(mem);
	edits_free(&edits);
	buf_free(&app);
	free(ji);
	return rc;
}
