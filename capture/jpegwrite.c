/*
 * The working-copy writer (see jpegwrite.h). Entries are created by hand
 * with the data's own allocator rather than through exif_entry_initialize,
 * so every format, count and byte is the one written here; the splice
 * copies the source around the one segment it replaces.
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

/* Replaces (or adds) one entry with the given raw bytes. 0 or EV_ERR. */
static int put_entry(ExifData *ed, ExifMem *mem, ExifIfd ifd, unsigned tag, ExifFormat fmt,
		     unsigned long components, const void *bytes, size_t len)
{
	int rc = EV_ERR;
	ExifContent *c = ed->ifd[ifd];
	ExifEntry *old = exif_content_get_entry(c, (ExifTag)tag);
	if (old)
		exif_content_remove_entry(c, old);
	ExifEntry *e = exif_entry_new_mem(mem);
	if (!e)
		goto out;
	e->data = exif_mem_alloc(mem, (ExifLong)len);
	if (!e->data)
		goto out;
	memcpy(e->data, bytes, len);
	e->size = (unsigned)len;
	e->tag = (ExifTag)tag;
	e->format = fmt;
	e->components = components;
	/* The content keeps its own reference; ours is dropped below. */
	exif_content_add_entry(c, e);
	rc = 0;
out:
	if (e)
		exif_entry_unref(e);
	return rc;
}

static int put_ascii(ExifData *ed, ExifMem *mem, ExifIfd ifd, unsigned tag, const char *s)
{
	return put_entry(ed, mem, ifd, tag, EXIF_FORMAT_ASCII, strlen(s) + 1, s, strlen(s) + 1);
}

static int put_rationals(ExifData *ed, ExifMem *mem, unsigned tag, const ExifRational *r, int n)
{
	uint8_t b[24];
	ExifByteOrder bo = exif_data_get_byte_order(ed);
	for (int i = 0; i < n; i++)
		exif_set_rational(b + 8 * i, bo, r[i]);
	return put_entry(ed, mem, EXIF_IFD_GPS, tag, EXIF_FORMAT_RATIONAL, (unsigned long)n, b,
			 8 * (size_t)n);
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

/* Removes an entry if it is there. */
static void drop_entry(ExifData *ed, ExifIfd ifd, unsigned tag)
{
	ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], (ExifTag)tag);
	if (e)
		exif_content_remove_entry(ed->ifd[ifd], e);
}

static int set_gps(ExifData *ed, ExifMem *mem, const struct jpeg_tags *t)
{
	static const uint8_t version[4] = {2, 3, 0, 0};
	ExifRational r[3];
	int rc = 0;

	/* A photo evcap has no place for keeps none in its copy: a position
	 * the file carried was judged no fix (0,0, status V, unreadable), and
	 * a map program would show the evidence there. */
	if (!t->has_pos) {
		static const unsigned pos_tags[] = {
			EXIF_TAG_GPS_LATITUDE_REF, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LONGITUDE_REF,
			EXIF_TAG_GPS_LONGITUDE,    EXIF_TAG_GPS_MAP_DATUM};
		for (size_t k = 0; k < sizeof pos_tags / sizeof pos_tags[0]; k++)
			drop_entry(ed, EXIF_IFD_GPS, pos_tags[k]);
		if (!t->has_alt) {
			drop_entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF);
			drop_entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE);
		}
	}
	/* the version says evcap wrote this block: only when it writes in it */
	if (t->has_pos || t->has_alt || t->has_time)
		rc |= put_entry(ed, mem, EXIF_IFD_GPS, TAG_GPS_VERSION, EXIF_FORMAT_BYTE, 4, version,
				4);
	if (t->has_pos) {
		rc |= put_ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE_REF, t->lat < 0 ? "S" : "N");
		to_dms(t->lat, r);
		rc |= put_rationals(ed, mem, EXIF_TAG_GPS_LATITUDE, r, 3);
		rc |= put_ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE_REF,
				t->lon < 0 ? "W" : "E");
		to_dms(t->lon, r);
		rc |= put_rationals(ed, mem, EXIF_TAG_GPS_LONGITUDE, r, 3);
		rc |= put_ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_MAP_DATUM, "WGS-84");
	}
	if (t->has_alt) {
		uint8_t ref = t->alt < 0;
		rc |= put_entry(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF, EXIF_FORMAT_BYTE, 1,
				&ref, 1);
		r[0] = (ExifRational){(ExifLong)llround(fabs(t->alt) * 1000.0), 1000};
		rc |= put_rationals(ed, mem, EXIF_TAG_GPS_ALTITUDE, r, 1);
	}
	if (t->has_time) {
		double whole = floor(t->utc);
		int y, mo, d, h, mi, s;
		time_to_civil((int64_t)whole, &y, &mo, &d, &h, &mi, &s);
		char date[32];
		snprintf(date, sizeof date, "%04d:%02d:%02d", y % 10000, mo, d);
		rc |= put_ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_DATE_STAMP, date);
		r[0] = (ExifRational){(ExifLong)h, 1};
		r[1] = (ExifRational){(ExifLong)mi, 1};
		r[2] = (ExifRational){(ExifLong)llround((s + (t->utc - whole)) * 1000.0), 1000};
		rc |= put_rationals(ed, mem, EXIF_TAG_GPS_TIME_STAMP, r, 3);
	}
	return rc ? EV_ERR : 0;
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
static int set_case(ExifData *ed, ExifMem *mem, const char *cn)
{
	size_t n = strlen(cn);
	/* UTF-16 needs at most 2 bytes per UTF-8 byte, plus header and NUL. */
	uint8_t *b = xmalloc(8 + 2 * n + 2);
	int rc = 0;
	size_t l = utf16(cn, n, 1, 1, b);
	rc |= put_entry(ed, mem, EXIF_IFD_0, TAG_XP_KEYWORDS, EXIF_FORMAT_BYTE, l, b, l);
	rc |= put_entry(ed, mem, EXIF_IFD_0, TAG_XP_COMMENT, EXIF_FORMAT_BYTE, l, b, l);
	memcpy(b, "UNICODE\0", 8);
	l = 8 + utf16(cn, n, exif_data_get_byte_order(ed) == EXIF_BYTE_ORDER_INTEL, 0, b + 8);
	rc |= put_entry(ed, mem, EXIF_IFD_EXIF, TAG_USER_COMMENT, EXIF_FORMAT_UNDEFINED, l, b, l);
	free(b);
	return rc ? EV_ERR : 0;
}

/* The rendering's orientation and size, where given. */
static int set_picture(ExifData *ed, ExifMem *mem, const struct jpeg_tags *t)
{
	ExifByteOrder o = exif_data_get_byte_order(ed);
	uint8_t b[4];
	int rc = 0;
	if (t->orientation) {
		exif_set_short(b, o, (ExifShort)t->orientation);
		rc |= put_entry(ed, mem, EXIF_IFD_0, EXIF_TAG_ORIENTATION, EXIF_FORMAT_SHORT, 1, b,
				2);
	}
	if (t->width && t->height) {
		exif_set_long(b, o, t->width);
		rc |= put_entry(ed, mem, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION,
				EXIF_FORMAT_LONG, 1, b, 4);
		exif_set_long(b, o, t->height);
		rc |= put_entry(ed, mem, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION,
				EXIF_FORMAT_LONG, 1, b, 4);
	}
	return rc ? EV_ERR : 0;
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

int jpeg_tag_copy(const uint8_t *src, size_t n, const struct jpeg_tags *tags, struct buf *out,
		  char *err, size_t errlen)
{
	struct jpeg_info *ji = xmalloc(sizeof *ji);
	ExifMem *mem = NULL;
	ExifData *ed = NULL;
	unsigned char *exif = NULL;
	unsigned int exif_len = 0;
	char werr[200];
	int rc;

	buf_reset(out);
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
	mem = exif_mem_new_default();
	ed = mem ? exif_data_new_mem(mem) : NULL;
	if (!ed) {
		rc = err_set(err, errlen, EV_ERR, "libexif could not allocate its data");
		goto out;
	}
	/* Keep every tag as found, including ones libexif has no name for,
	 * and the MakerNote bytes as they are. */
	exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
	exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
	exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
	if (tags->exif && ji->has_exif) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "an EXIF block was given for a JPEG that has its own");
		goto out;
	}
	if (tags->exif)
		exif_data_load_data(ed, tags->exif, (unsigned)tags->exif_len);
	else if (ji->has_exif)
		exif_data_load_data(ed, src + ji->exif_off, (unsigned)ji->exif_len);
	else
		exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);

	if (set_gps(ed, mem, tags) != 0 ||
	    (tags->case_number && set_case(ed, mem, tags->case_number) != 0) ||
	    set_picture(ed, mem, tags) != 0) {
		rc = err_set(err, errlen, EV_ERR, "libexif could not allocate an entry");
		goto out;
	}
	exif_data_save_data(ed, &exif, &exif_len);
	if (!exif || exif_len < JPEG_EXIF_HEADER_LEN) {
		rc = err_set(err, errlen, EV_ERR, "libexif could not serialise the EXIF block");
		goto out;
	}
	if (exif_len > JPEGWRITE_MAX_APP1) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "the new EXIF block is %u bytes; one APP1 holds at most %d",
			     exif_len, JPEGWRITE_MAX_APP1);
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
	if (exif)
		exif_mem_free(mem, exif);
	if (ed)
		exif_data_unref(ed);
	if (mem)
		exif_mem_unref(mem);
	free(ji);
	return rc;
}
