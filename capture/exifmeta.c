/*
 * Reads the EXIF fields evcap stores from libexif's parse of one Exif APP1
 * payload. Numbers come from the raw entry bytes with the block's byte
 * order; each entry's format and count are checked before its bytes are
 * read, so a lying entry is named as an error rather than misread.
 */
#include "exifmeta.h"

#include <libexif/exif-data.h>
#include <libexif/exif-log.h>
#include <libexif/exif-utils.h>
#include <math.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* Tags libexif 0.6.24 may not name; read by number. */
#define TAG_OFFSET_TIME_DIGITIZED 0x9012
#define TAG_OFFSET_TIME_ORIGINAL 0x9011
#define TAG_BODY_SERIAL 0xA431
#define TAG_CAMERA_SERIAL 0xC62F /* DNG CameraSerialNumber, IFD0 */
#define TAG_GPS_HPE 0x001F

/* One read's state: the parsed data, its byte order and the first error. */
struct ectx {
	ExifData *ed;
	ExifByteOrder bo;
	struct meta *m;
	int rc;
	char *err;
	size_t errlen;
	char libexif_msg[160]; /* first corrupt-data complaint from libexif */
};

void exifmeta_append(char *dst, size_t dstlen, const char *fmt, ...)
{
	if (!dst || dstlen == 0)
		return;
	size_t used = strnlen(dst, dstlen);
	if (used >= dstlen - 1)
		return;
	if (used) {
		size_t k = snprintf(dst + used, dstlen - used, "; ");
		used += k < dstlen - used ? k : dstlen - used - 1;
	}
	/* formatted whole, then copied as plain UTF-8: a value quoted with
	 * "%.20s" (camera text is kept as UTF-8) may end inside a character,
	 * and a note cut at its end must not either */
	char *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	text_copy_plain(line, (size_t)n, dst + used, dstlen - used, 0);
	free(line);
}

PRINTF_LIKE(3, 4)
static void fail(struct ectx *c, int code, const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!c->rc)
		c->rc = code;
	exifmeta_append(c->err, c->errlen, "%s", line);
}

static void libexif_log(ExifLog *log, ExifLogCode code, const char *domain, const char *fmt,
			va_list ap, void *data)
{
	(void)log;
	struct ectx *c = data;
	/* MakerNote modules log under their own domains; their complaints
	 * concern data evcap never uses. */
	if (code != EXIF_LOG_CODE_CORRUPT_DATA || !domain || strcmp(domain, "ExifData") != 0)
		return;
	if (!c->libexif_msg[0])
		vsnprintf(c->libexif_msg, sizeof c->libexif_msg, fmt, ap);
}

static ExifEntry *entry(struct ectx *c, ExifIfd ifd, unsigned tag)
{
	return exif_content_get_entry(c->ed->ifd[ifd], (ExifTag)tag);
}

/* Copies a text value: up to its first NUL, control bytes and non-ASCII
 * replaced (the text ends up in JSON, SQL and reports), optionally with
 * trailing spaces cut. */
static void copy_text(const ExifEntry *e, char *out, size_t outlen, int trim)
{
	text_copy_plain(e->data, e->size, out, outlen, trim);
}

/* An ASCII entry as text; 1 if read, 0 if absent or of another format. */
static int get_text(struct ectx *c, ExifEntry *e, const char *what, char *out, size_t outlen,
		    int trim)
{
	out[0] = '\0';
	if (!e)
		return 0;
	/* A few writers store strings as UNDEFINED; the bytes still read. */
	if ((e->format != EXIF_FORMAT_ASCII && e->format != EXIF_FORMAT_UNDEFINED) || !e->data) {
		fail(c, EV_EINVAL, "EXIF %s is stored as %s, not text", what,
		     exif_format_get_name(e->format) ? exif_format_get_name(e->format) : "?");
		return 0;
	}
	copy_text(e, out, outlen, trim);
	return 1;
}

/* An unsigned SHORT or LONG with one value. */
static int get_uint(struct ectx *c, ExifEntry *e, const char *what, unsigned long *v)
{
	if (!e)
		return 0;
	if (e->components != 1 || !e->data ||
	    (e->format != EXIF_FORMAT_SHORT && e->format != EXIF_FORMAT_LONG) ||
	    e->size < exif_format_get_size(e->format)) {
		fail(c, EV_EINVAL, "EXIF %s is not a single SHORT or LONG", what);
		return 0;
	}
	*v = e->format == EXIF_FORMAT_SHORT ? exif_get_short(e->data, c->bo)
					    : exif_get_long(e->data, c->bo);
	return 1;
}

/*
 * Between min and max RATIONALs (unsigned, as the standard says; SRATIONAL
 * is accepted when no value is negative, since some writers use it) as
 * doubles in v[0..max), missing ones 0. Returns the count read, 0 if
 * absent, -1 after naming the fault (format, count, zero denominator).
 */
static int get_rationals_n(struct ectx *c, ExifEntry *e, const char *what, unsigned min,
			   unsigned max, double *v)
{
	if (!e)
		return 0;
	if (e->format != EXIF_FORMAT_RATIONAL && e->format != EXIF_FORMAT_SRATIONAL) {
		const char *f = exif_format_get_name(e->format);
		fail(c, EV_EINVAL, "EXIF %s is stored as %s, not RATIONAL", what, f ? f : "?");
		return -1;
	}
	if (e->components < min || e->components > max || !e->data ||
	    e->size < 8u * e->components) {
		if (min == max)
			fail(c, EV_EINVAL, "EXIF %s has %lu values, expected %u", what,
			     e->components, max);
		else
			fail(c, EV_EINVAL, "EXIF %s has %lu values, expected %u to %u", what,
			     e->components, min, max);
		return -1;
	}
	for (unsigned i = 0; i < max; i++)
		v[i] = 0;
	for (unsigned i = 0; i < e->components; i++) {
		double num, den;
		if (e->format == EXIF_FORMAT_RATIONAL) {
			ExifRational r = exif_get_rational(e->data + 8 * i, c->bo);
			num = r.numerator;
			den = r.denominator;
		} else {
			ExifSRational r = exif_get_srational(e->data + 8 * i, c->bo);
			num = r.numerator;
			den = r.denominator;
		}
		if (den == 0) {
			fail(c, EV_EINVAL, "EXIF %s has a zero denominator", what);
			return -1;
		}
		v[i] = num / den;
		if (v[i] < 0) {
			fail(c, EV_EINVAL, "EXIF %s has a negative value", what);
			return -1;
		}
	}
	return (int)e->components;
}

static int get_rationals(struct ectx *c, ExifEntry *e, const char *what, unsigned count,
			 double *v)
{
	int r = get_rationals_n(c, e, what, count, count, v);
	return r > 0 ? 1 : r;
}

static void read_ids(struct ectx *c)
{
	struct meta *m = c->m;
	unsigned long v;

	get_text(c, entry(c, EXIF_IFD_0, EXIF_TAG_MAKE), "Make", m->make, sizeof m->make, 1);
	get_text(c, entry(c, EXIF_IFD_0, EXIF_TAG_MODEL), "Model", m->model, sizeof m->model, 1);
	if (!get_text(c, entry(c, EXIF_IFD_EXIF, TAG_BODY_SERIAL), "BodySerialNumber", m->serial,
		      sizeof m->serial, 1) ||
	    !m->serial[0])
		get_text(c, entry(c, EXIF_IFD_0, TAG_CAMERA_SERIAL), "CameraSerialNumber",
			 m->serial, sizeof m->serial, 1);

	if (get_uint(c, entry(c, EXIF_IFD_0, EXIF_TAG_ORIENTATION), "Orientation", &v)) {
		if (v >= 1 && v <= 8)
			m->orientation = (int)v;
		else
			exifmeta_append(m->note, sizeof m->note,
					"EXIF Orientation %lu is not 1-8; ignored", v);
	}
	unsigned long w = 0, h = 0;
	if (get_uint(c, entry(c, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION), "PixelXDimension", &w) &&
	    get_uint(c, entry(c, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION), "PixelYDimension", &h) &&
	    w <= 1000000 && h <= 1000000) {
		m->width = (int)w;
		m->height = (int)h;
	}
}

/* "+HH:MM" style zone text into seconds; also "Z" and "+HHMM" (a time
 * suffix, not OffsetTime, which must be strict). */
static int parse_zone_suffix(const char *z, int *off)
{
	char o[8];
	size_t l = strlen(z);
	if (l == 1 && z[0] == 'Z') {
		*off = 0;
		return 0;
	}
	if (l == 6)
		memcpy(o, z, 7);
	else if (l == 5)
		snprintf(o, sizeof o, "%c%c%c:%c%c", z[0], z[1], z[2], z[3], z[4]);
	else
		return EV_EINVAL;
	return time_parse_offset(o, off);
}

/* A clock that was never set writes zeros or blanks; that is absence. */
static int blank_time(const char *s)
{
	for (; *s; s++)
		if (*s != '0' && *s != ' ' && *s != ':')
			return 0;
	return 1;
}

/*
 * Camera time: DateTimeOriginal (with SubSecTimeOriginal and
 * OffsetTimeOriginal; in the EXIF IFD, else in IFD0), else
 * DateTimeDigitized (with its own sub-second and offset tags). DateTime
 * is the time the file was last changed, often by software after the
 * fact, so it is never taken as the time of capture; when it is all there
 * is, a note says so.
 * A zone written after the time ("15:29:42.041-04:00", FLIR) gives the
 * fraction and offset when the proper tags are absent.
 */
static unsigned le16_at(const uint8_t *d, size_t at)
{
	return (unsigned)d[at] | (unsigned)d[at + 1] << 8;
}

/*
 * Reconyx trail cameras, left at a site for weeks, write no EXIF date:
 * the capture time is only in their MakerNote, a fixed little-endian
 * layout that differs by family. HyperFire: starts 01 F1 (then 02 00 or
 * 03 00, or a Make of RECONYX), six 16-bit numbers at byte 22 (second,
 * minute, hour, month, day, year; some firmware writes them big-endian).
 * UltraFire: starts "RECONYXUF\0", seven bytes at 59 (second, minute,
 * hour, day, month, year low and high). HyperFire 2: starts
 * "RECONYXH2\0", six 16-bit numbers at 62 (second, minute, hour, day,
 * month, year). No zone is written. Fills out[] as "YYYY:MM:DD HH:MM:SS"
 * (or the numbers as they are, when one is too wide for that) and returns
 * the family's name, or NULL when the note is none of these.
 */
static const char *reconyx_time(const uint8_t *d, size_t n, const char *make, char out[40])
{
	unsigned v[6];
	const char *family;
	if (n >= 34 && d[0] == 0x01 && d[1] == 0xF1 &&
	    ((d[2] == 2 || d[2] == 3) && d[3] == 0 ? 1 : strcmp(make, "RECONYX") == 0)) {
		for (int i = 0; i < 6; i++)
			v[i] = le16_at(d, 22 + 2 * (size_t)i);
		if ((v[0] & 0xFF00) && !(v[0] & 0xFF))
			for (int i = 0; i < 6; i++)
				v[i] = (v[i] >> 8 | v[i] << 8) & 0xFFFF;
		unsigned month = v[3];
		v[3] = v[4];
		v[4] = month; /* now second, minute, hour, day, month, year */
		family = "HyperFire";
	} else if (n >= 66 && memcmp(d, "RECONYXUF\0", 10) == 0) {
		for (int i = 0; i < 5; i++)
			v[i] = d[59 + i];
		v[5] = le16_at(d, 64);
		family = "UltraFire";
	} else if (n >= 74 && memcmp(d, "RECONYXH2\0", 10) == 0) {
		for (int i = 0; i < 6; i++)
			v[i] = le16_at(d, 62 + 2 * (size_t)i);
		family = "HyperFire 2";
	} else {
		return NULL;
	}
	/* a field too wide for its place is no date: said as written */
	if (v[5] > 9999 || v[4] > 99 || v[3] > 99 || v[2] > 99 || v[1] > 99 || v[0] > 99)
		snprintf(out, 40, "%u-%u-%u %u:%u:%u", v[5], v[4], v[3], v[2], v[1], v[0]);
	else
		snprintf(out, 40, "%04u:%02u:%02u %02u:%02u:%02u", v[5], v[4], v[3], v[2], v[1],
			 v[0]);
	return family;
}

/* A file with no EXIF date: a Reconyx MakerNote's, if it has one. */
static void read_maker_time(struct ectx *c)
{
	struct meta *m = c->m;
	ExifEntry *e = entry(c, EXIF_IFD_EXIF, EXIF_TAG_MAKER_NOTE);
	char s[40], why[96];
	if (!e || !e->data)
		return;
	const char *family = reconyx_time(e->data, e->size, m->make, s);
	if (!family)
		return;
	int64_t t;
	if (strlen(s) != 19) {
		fail(c, EV_EINVAL, "Reconyx %s MakerNote date %s is not a date and time", family,
		     s);
		return;
	}
	if (time_parse_exif_why(s, &t, why, sizeof why) != 0) {
		fail(c, EV_EINVAL, "Reconyx %s MakerNote date %s is not a date and time: %s",
		     family, s, why);
		return;
	}
	m->has_camera_time = 1;
	m->camera_time_t = t;
	snprintf(m->camera_time, sizeof m->camera_time, "%.19s", s); /* 19 long: above */
	exifmeta_append(m->note, sizeof m->note,
			"camera time from the Reconyx %s MakerNote (EXIF has no date)", family);
}

static void read_time(struct ectx *c)
{
	struct meta *m = c->m;
	const char *name = "DateTimeOriginal", *sub_name = "SubSecTimeOriginal",
		   *off_name = "OffsetTimeOriginal";
	unsigned sub_tag = EXIF_TAG_SUB_SEC_TIME_ORIGINAL, off_tag = TAG_OFFSET_TIME_ORIGINAL;
	ExifIfd ifd = EXIF_IFD_EXIF;
	char s[64];

	ExifEntry *e = entry(c, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL);
	/* some writers put it in IFD0 (exiftool reads it there too); its
	 * sub-second and offset tags are then looked for beside it */
	if (!e && (e = entry(c, EXIF_IFD_0, EXIF_TAG_DATE_TIME_ORIGINAL))) {
		ifd = EXIF_IFD_0;
		exifmeta_append(m->note, sizeof m->note,
				"DateTimeOriginal is in IFD0, not the EXIF IFD; read there");
	}
	if (!e) {
		e = entry(c, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_DIGITIZED);
		if (!e) {
			read_maker_time(c);
			if (!m->has_camera_time && entry(c, EXIF_IFD_0, EXIF_TAG_DATE_TIME))
				exifmeta_append(m->note, sizeof m->note,
						"no DateTimeOriginal; DateTime (the time the file was "
						"last changed) is not taken as the capture time");
			return;
		}
		name = "DateTimeDigitized";
		sub_name = "SubSecTimeDigitized";
		off_name = "OffsetTimeDigitized";
		sub_tag = EXIF_TAG_SUB_SEC_TIME_DIGITIZED;
		off_tag = TAG_OFFSET_TIME_DIGITIZED;
		exifmeta_append(m->note, sizeof m->note,
				"no DateTimeOriginal; the camera time is DateTimeDigitized");
	}
	if (!get_text(c, e, name, s, sizeof s, 0))
		return;
	if (blank_time(s)) {
		exifmeta_append(m->note, sizeof m->note, "EXIF %s is blank (clock not set)", name);
		return;
	}
	int64_t t;
	char base[20];
	size_t sl = strlen(s);
	if (sl >= 19) {
		memcpy(base, s, 19);
		base[19] = '\0';
	}
	char why[96];
	int rc = sl < 19 ? EV_EINVAL : time_parse_exif_why(base, &t, why, sizeof why);
	if (rc == EV_ELIMIT) {
		fail(c, EV_EINVAL, "EXIF %s \"%.40s\" has the form YYYY:MM:DD HH:MM:SS, but %s",
		     name, s, why);
		return;
	}
	if (rc != 0) {
		fail(c, EV_EINVAL, "EXIF %s \"%.40s\" is not a date and time YYYY:MM:DD HH:MM:SS",
		     name, s);
		return;
	}
	m->has_camera_time = 1;
	/* the date's 19 bytes, and what follows them as written, never cut
	 * inside a character */
	text_copy_plain(s, strlen(s), m->camera_time, sizeof m->camera_time, 0);
	m->camera_time_t = t;

	/* What follows the 19 characters: ".fff", a zone, spaces. */
	const char *p = s + 19;
	double frac = 0;
	int has_frac = 0, has_zone = 0, zone = 0;
	char zone_txt[16] = "";
	if (*p == '.') {
		double scale = 0.1;
		p++;
		while (*p >= '0' && *p <= '9') {
			frac += (*p++ - '0') * scale;
			scale /= 10;
			has_frac = 1;
		}
	}
	if (*p == 'Z' || *p == '+' || *p == '-') {
		size_t zl = strcspn(p, " ");
		if (zl < sizeof zone_txt) {
			memcpy(zone_txt, p, zl);
			zone_txt[zl] = '\0';
			if (parse_zone_suffix(zone_txt, &zone) == 0) {
				has_zone = 1;
				p += zl;
			}
		}
	}
	while (*p == ' ')
		p++;
	if (*p)
		fail(c, EV_EINVAL, "EXIF %s \"%.40s\" has unreadable text after the time", name, s);

	/* Sub-seconds. */
	char sub[32];
	if (get_text(c, entry(c, ifd, sub_tag), sub_name, sub, sizeof sub, 1) && sub[0]) {
		double v = 0, scale = 0.1;
		int ok = 1;
		for (size_t i = 0; sub[i]; i++) {
			if (sub[i] < '0' || sub[i] > '9' || i >= 9) {
				ok = 0;
				break;
			}
			v += (sub[i] - '0') * scale;
			scale /= 10;
		}
		if (ok)
			m->subsec = v;
		else
			fail(c, EV_EINVAL, "EXIF %s \"%.20s\" is not digits", sub_name, sub);
	} else if (has_frac) {
		m->subsec = frac;
	}

	/* Offset. The raw text is kept even when it cannot be used. */
	char off[32];
	if (get_text(c, entry(c, ifd, off_tag), off_name, off, sizeof off, 0)) {
		snprintf(m->offset_raw, sizeof m->offset_raw, "%.15s", off);
		char trimmed[32];
		snprintf(trimmed, sizeof trimmed, "%s", off);
		size_t tl = strlen(trimmed);
		while (tl && trimmed[tl - 1] == ' ')
			trimmed[--tl] = '\0';
		int v;
		if (tl == 0 || strcmp(trimmed, "   :  ") == 0) {
			exifmeta_append(m->note, sizeof m->note, "EXIF %s is blank", off_name);
		} else if (time_parse_offset(trimmed, &v) == 0) {
			m->has_offset = 1;
			m->offset_s = v;
		} else {
			fail(c, EV_EINVAL,
			     "EXIF %s \"%.15s\" is not of the form +HH:MM; it is not used", off_name,
			     off);
		}
	}
	if (!m->has_offset && has_zone) {
		m->has_offset = 1;
		m->offset_s = zone;
		if (!m->offset_raw[0])
			snprintf(m->offset_raw, sizeof m->offset_raw, "%s", zone_txt);
		exifmeta_append(m->note, sizeof m->note,
				"EXIF %s carries the zone %s; used as its offset", name, zone_txt);
	}
}

/* Latitude or longitude with its reference letter. 1 read, 0 absent, -1 bad. */
static int read_coord(struct ectx *c, unsigned tag, unsigned ref_tag, const char *what,
		      const char *letters, double limit, double *out)
{
	double dms[3];
	/* The standard says three values; exiftool and most readers also take
	 * degrees alone or degrees and minutes, and so does evcap, with a note. */
	int r = get_rationals_n(c, entry(c, EXIF_IFD_GPS, tag), what, 1, 3, dms);
	if (r <= 0)
		return r;
	if (r < 3)
		exifmeta_append(c->m->note, sizeof c->m->note,
				"EXIF %s has %d value(s) instead of 3", what, r);
	char ref[8], label[48];
	snprintf(label, sizeof label, "%s reference", what);
	if (!get_text(c, entry(c, EXIF_IFD_GPS, ref_tag), label, ref, sizeof ref, 1) || !ref[0]) {
		fail(c, EV_EINVAL, "EXIF %s has no reference (%c or %c)", what, letters[0],
		     letters[1]);
		return -1;
	}
	if (strlen(ref) != 1 || (ref[0] != letters[0] && ref[0] != letters[1])) {
		fail(c, EV_EINVAL, "EXIF %s reference \"%.7s\" is not %c or %c", what, ref,
		     letters[0], letters[1]);
		return -1;
	}
	/* Exactly 60 is a rounding that was not carried: exiftool writes
	 * 46.9 degrees as 46 53 60. It means the next minute, and is read so. */
	if (dms[1] > 60 || dms[2] > 60) {
		fail(c, EV_EINVAL, "EXIF %s has minutes or seconds of more than 60", what);
		return -1;
	}
	if (dms[1] == 60 || dms[2] == 60)
		exifmeta_append(c->m->note, sizeof c->m->note,
				"EXIF %s has %s of 60 (a rounding not carried); read as the next "
				"%s",
				what, dms[2] == 60 ? "seconds" : "minutes",
				dms[2] == 60 ? "minute" : "degree");
	double v = dms[0] + dms[1] / 60.0 + dms[2] / 3600.0;
	if (!(v <= limit)) {
		fail(c, EV_EINVAL, "EXIF %s %.6f is beyond %g degrees", what, v, limit);
		return -1;
	}
	*out = ref[0] == letters[1] ? -v : v;
	return 1;
}

static void read_position(struct ectx *c)
{
	struct meta *m = c->m;
	double lat = 0, lon = 0, alt;
	int rl = read_coord(c, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF, "GPS latitude",
			    "NS", 90, &lat);
	int ro = read_coord(c, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF,
			    "GPS longitude", "EW", 180, &lon);
	if (rl == 1 && ro == 0)
		fail(c, EV_EINVAL, "EXIF GPS has a latitude but no longitude");
	if (ro == 1 && rl == 0)
		fail(c, EV_EINVAL, "EXIF GPS has a longitude but no latitude");
	if (rl != 1 || ro != 1)
		return;
	m->exif_lat = lat;
	m->exif_lon = lon;
	if (strcmp(m->gps_status, "V") == 0) {
		exifmeta_append(m->note, sizeof m->note,
				"EXIF GPS status V (void): the position is not a fix");
		return;
	}
	if (lat == 0 && lon == 0) {
		exifmeta_append(m->note, sizeof m->note,
				"EXIF GPS position 0,0 treated as no fix");
		return;
	}
	m->has_exif_pos = 1;

	int ra = get_rationals(c, entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE), "GPS altitude",
			       1, &alt);
	if (ra != 1)
		return;
	ExifEntry *e = entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF);
	int below = 0;
	if (e) {
		if (e->format != EXIF_FORMAT_BYTE || e->components != 1 || e->size < 1) {
			fail(c, EV_EINVAL, "EXIF GPS altitude reference is not a single BYTE");
			return;
		}
		if (e->data[0] > 1) {
			fail(c, EV_EINVAL, "EXIF GPS altitude reference is %u, not 0 or 1",
			     e->data[0]);
			return;
		}
		below = e->data[0] == 1;
	}
	if (alt > 100000) {
		fail(c, EV_EINVAL, "EXIF GPS altitude %.1f m is out of range", alt);
		return;
	}
	m->has_exif_alt = 1;
	m->exif_alt = below ? -alt : alt;
}

/* GPSDateStamp "YYYY:MM:DD" into midnight UTC; 0, or as
 * time_parse_exif_why says (why: a field out of range). */
static int parse_date_stamp(const char *d, int64_t *t, char *why, size_t whylen)
{
	char full[32];
	if (strlen(d) != 10)
		return EV_EINVAL;
	snprintf(full, sizeof full, "%.10s 00:00:00", d);
	return time_parse_exif_why(full, t, why, whylen);
}

static void read_gps_time(struct ectx *c)
{
	struct meta *m = c->m;
	double hms[3];
	ExifEntry *te = entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_TIME_STAMP);
	if (!te) {
		/* a day alone places nothing: said, so the missing GPS time
		 * is not a silent gap (an iPhone XR photo in the corpus) */
		if (entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_DATE_STAMP))
			exifmeta_append(m->note, sizeof m->note,
					"EXIF GPS date stamp without a time stamp; no GPS time");
		return;
	}
	if (get_rationals(c, te, "GPS time stamp", 3, hms) != 1)
		return;
	if (hms[0] >= 24 || hms[1] >= 60 || hms[2] >= 61) {
		fail(c, EV_EINVAL, "EXIF GPS time stamp %.0f:%.0f:%.0f is not a time of day",
		     hms[0], hms[1], hms[2]);
		return;
	}
	double tod = hms[0] * 3600 + hms[1] * 60 + hms[2];
	char date[32];
	int64_t day;
	ExifEntry *de = entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_DATE_STAMP);
	if (de) {
		/* Present but unreadable is not absent: the camera's day must
		 * not stand in for a date the receiver wrote. */
		if (!get_text(c, de, "GPS date stamp", date, sizeof date, 1))
			return;
		char why[96];
		int rc = parse_date_stamp(date, &day, why, sizeof why);
		if (rc == EV_ELIMIT) {
			exifmeta_append(m->note, sizeof m->note,
					"EXIF GPS date stamp \"%.12s\" is not a date: %s; the GPS "
					"time is not used",
					date, why);
			return;
		}
		if (rc != 0) {
			exifmeta_append(m->note, sizeof m->note,
					"EXIF GPS date stamp \"%.12s\" is malformed; the GPS time is not used",
					date);
			return;
		}
		m->has_gps_time = 1;
		m->gps_time_t = (double)day + tod;
		return;
	}
	/* No date: the GPS time of day belongs to the camera's day, or the one
	 * before or after, whichever puts it nearest the camera clock (unique
	 * while the clock is within 12 hours). */
	if (!m->has_camera_time) {
		exifmeta_append(m->note, sizeof m->note,
				"EXIF GPS time stamp without a date stamp or camera time; not used");
		return;
	}
	int64_t cam = m->camera_time_t;
	int64_t cam_day = cam - ((cam % 86400) + 86400) % 86400;
	double best = 0, best_d = INFINITY;
	for (int k = -1; k <= 1; k++) {
		double cand = (double)(cam_day + k * 86400) + tod;
		double d = fabs(cand - (double)cam);
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	m->has_gps_time = 1;
	m->gps_time_t = best;
	exifmeta_append(m->note, sizeof m->note,
			"EXIF GPS date stamp absent; the GPS date was taken from the camera clock");
}

/* GPSImgDirection and its reference. The standard's range is 0 to 359.99;
 * 360 is read as 0 (north either way). A direction without a reference is
 * kept with none: the two norths differ by a few degrees in China, much
 * less than the 45 a re-inspection's pairing allows. */
static void read_direction(struct ectx *c)
{
	struct meta *m = c->m;
	double v;
	if (get_rationals(c, entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_IMG_DIRECTION), "GPS image direction",
			  1, &v) != 1)
		return;
	if (v > 360) {
		fail(c, EV_EINVAL, "EXIF GPS image direction %.2f is beyond 360 degrees", v);
		return;
	}
	char ref[8];
	if (get_text(c, entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_IMG_DIRECTION_REF),
		     "GPS image direction reference", ref, sizeof ref, 1) && ref[0]) {
		if (strcmp(ref, "T") == 0 || strcmp(ref, "M") == 0)
			m->img_dir_ref[0] = ref[0];
		else
			exifmeta_append(m->note, sizeof m->note,
					"EXIF GPS image direction reference \"%.7s\" is neither T nor "
					"M; the direction is kept without one",
					ref);
	}
	m->has_img_dir = 1;
	m->img_dir = v == 360 ? 0 : v;
}

/* The datum every export labels its coordinates with, in the spellings
 * writers use ("WGS-84", "WGS84", "WGS 84", "WGS-1984"), or none written
 * (a GPS receiver's own, WGS-84, is then meant). */
static int datum_is_wgs84(const char *d)
{
	char k[16];
	size_t o = 0;
	for (; *d && o + 1 < sizeof k; d++)
		if (*d != ' ' && *d != '-' && *d != '_')
			k[o++] = (char)toupper((unsigned char)*d);
	k[o] = '\0';
	return o == 0 || strcmp(k, "WGS84") == 0 || strcmp(k, "WGS1984") == 0;
}

static void read_gps(struct ectx *c)
{
	struct meta *m = c->m;
	if (!c->ed->ifd[EXIF_IFD_GPS] || c->ed->ifd[EXIF_IFD_GPS]->count == 0)
		return;
	char st[8];
	if (get_text(c, entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_STATUS), "GPS status", st, sizeof st, 1) &&
	    st[0]) {
		if (strcmp(st, "A") == 0 || strcmp(st, "V") == 0) {
			m->gps_status[0] = st[0];
			m->gps_status[1] = '\0';
		}
		else {
			exifmeta_append(m->note, sizeof m->note,
					"EXIF GPS status \"%.7s\" is neither A nor V; ignored", st);
		}
	}
	get_text(c, entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_MAP_DATUM), "GPS map datum", m->gps_datum,
		 sizeof m->gps_datum, 1);
	if (!datum_is_wgs84(m->gps_datum))
		exifmeta_append(m->note, sizeof m->note,
				"EXIF GPS map datum \"%.20s\" is not WGS-84: the position is kept "
				"as written, and may lie hundreds of metres from where WGS-84 "
				"puts those numbers",
				m->gps_datum);
	double v;
	if (get_rationals(c, entry(c, EXIF_IFD_GPS, EXIF_TAG_GPS_DOP), "GPS DOP", 1, &v) == 1)
		m->gps_dop = v;
	/* The standard gives 0 no meaning of its own, and no receiver is
	 * exact to the metre: a 0 is a field left unfilled, not a claim of
	 * no error, so it is not taken as the position's error. */
	if (get_rationals(c, entry(c, EXIF_IFD_GPS, TAG_GPS_HPE), "GPS horizontal positioning error",
			  1, &v) == 1) {
		m->gps_hpe = v;
		if (v == 0)
			exifmeta_append(m->note, sizeof m->note,
					"EXIF GPS horizontal positioning error is 0 m, which no "
					"receiver achieves; taken as not given");
	}
	read_direction(c);
	read_position(c);
	read_gps_time(c);
}

/* The TIFF header checks libexif makes silently: done here so that a
 * damaged block is named instead of simply yielding nothing. */
static int check_header(struct ectx *c, const uint8_t *p, size_t n)
{
	if (n < 6 || memcmp(p, "Exif\0\0", 6) != 0) {
		fail(c, EV_EINVAL, "EXIF block does not start with Exif\\0\\0");
		return -1;
	}
	if (n < 6 + 8) {
		fail(c, EV_ECORRUPT, "EXIF block of %zu bytes is too short for a TIFF header", n);
		return -1;
	}
	const uint8_t *t = p + 6;
	ExifByteOrder bo;
	if (t[0] == 'I' && t[1] == 'I')
		bo = EXIF_BYTE_ORDER_INTEL;
	else if (t[0] == 'M' && t[1] == 'M')
		bo = EXIF_BYTE_ORDER_MOTOROLA;
	else {
		fail(c, EV_ECORRUPT, "EXIF block has no byte order mark (II or MM)");
		return -1;
	}
	if (exif_get_short(t + 2, bo) != 42) {
		fail(c, EV_ECORRUPT, "EXIF block's TIFF header lacks the number 42");
		return -1;
	}
	uint32_t ifd0 = exif_get_long(t + 4, bo);
	if (ifd0 < 8 || (uint64_t)ifd0 + 2 > n - 6) {
		fail(c, EV_ECORRUPT, "EXIF IFD0 offset %u is outside the %zu-byte EXIF block",
		     (unsigned)ifd0, n - 6);
		return -1;
	}
	return 0;
}

/*
 * The IFD chain libexif walks, checked: libexif follows a sub-IFD pointer
 * wherever it points and says only in debug messages that it skipped one
 * (a pointer back at IFD0) or read past the block's end, so a damaged
 * pointer made the GPS position or the camera time vanish without a word,
 * and a track then placed the photo as if it had none. Walked the way
 * libexif walks it: IFD0, the first EXIF, GPS and interoperability
 * pointer met (in entry order, depth first), then IFD1.
 */
#define IFD_KINDS 5
struct ifd_walk {
	const uint8_t *t; /* the TIFF header */
	size_t tl;        /* bytes from it, as libexif sees them */
	ExifByteOrder bo;
	uint32_t start[IFD_KINDS], end[IFD_KINDS]; /* IFDs read so far */
	int n;
	int kind_seen[IFD_KINDS];
};

static const char *const ifd_names[IFD_KINDS] = {"IFD0", "IFD1", "the EXIF IFD", "the GPS IFD",
						 "the interoperability IFD"};
/* the pointer to each, as messages name it */
static const char *const ifd_pointers[IFD_KINDS] = {"EXIF IFD0", "EXIF IFD0's next-IFD",
						    "EXIF IFD", "EXIF GPS IFD",
						    "EXIF interoperability IFD"};

/* libexif's ExifIfd for ifd_names[k] */
static const ExifIfd ifd_of_kind[IFD_KINDS] = {EXIF_IFD_0, EXIF_IFD_1, EXIF_IFD_EXIF,
					       EXIF_IFD_GPS, EXIF_IFD_INTEROPERABILITY};

/* Why the IFD at o is none (a phrase for a message), or NULL when it is
 * one. With a reason, *garbage says what libexif read from there: 1 not
 * an IFD at all, 2 another IFD, already read (a loop), 0 the entries of
 * an IFD whose count is too large for the block, as written. */
static const char *ifd_fault(struct ifd_walk *w, uint32_t o, char *why, size_t whylen,
			     int *garbage)
{
	*garbage = 1;
	if (o < 8) {
		snprintf(why, whylen, "it lies inside the 8-byte TIFF header");
		return why;
	}
	if ((uint64_t)o + 2 > w->tl) {
		snprintf(why, whylen, "it lies past the end of the %zu-byte TIFF block", w->tl);
		return why;
	}
	unsigned cnt = exif_get_short(w->t + o, w->bo);
	uint64_t end = (uint64_t)o + 2 + 12 * (uint64_t)cnt + 4;
	for (int i = 0; i < w->n; i++) {
		if (o == w->start[i]) {
			*garbage = 2;
			snprintf(why, whylen, "it points back at %s", ifd_names[i]);
			return why;
		}
		if (o < w->end[i] && end > w->start[i]) {
			snprintf(why, whylen, "it overlaps %s (bytes %u to %u)", ifd_names[i],
				 (unsigned)w->start[i], (unsigned)w->end[i] - 1);
			return why;
		}
	}
	if (end > w->tl) {
		*garbage = 0;
		if (cnt)
			snprintf(why, whylen, "its %u entries and next-IFD offset run past the "
				 "end of the %zu-byte TIFF block", cnt, w->tl);
		else
			snprintf(why, whylen, "its next-IFD offset runs past the end of the "
				 "%zu-byte TIFF block", w->tl);
		return why;
	}
	/* TIFF puts an IFD on an even offset, but some writers do not pad: an
	 * odd one is taken when what lies there reads as an IFD, every entry
	 * of a TIFF type (1 to 13; all zeros is an empty slot Photoshop
	 * writes) */
	if (o & 1)
		for (unsigned i = 0; i < cnt; i++) {
			const uint8_t *e = w->t + o + 2 + 12 * i;
			unsigned f = exif_get_short(e + 2, w->bo);
			if ((f < 1 || f > 13) && (f || exif_get_short(e, w->bo))) {
				snprintf(why, whylen, "it is odd, and entry %u there has the "
					 "type %u, which TIFF has not", i + 1, f);
				return why;
			}
		}
	*garbage = 0;
	return NULL;
}

/* Walks the IFD at o, of kind `kind` (an index of ifd_names). What
 * libexif read from an IFD that is none is dropped. Within one that is
 * not an IFD at all (`junk`), libexif still follows what it takes for
 * pointers: what they lead to is dropped too, and named once. A pointer
 * back at an IFD read before leads to that IFD's own pointers, which are
 * read as any. */
static void ifd_walk(struct ectx *c, struct ifd_walk *w, int kind, uint32_t o, int junk)
{
	char why[128];
	int garbage = 0;
	w->kind_seen[kind] = 1;
	if (!junk && ifd_fault(w, o, why, sizeof why, &garbage))
		fail(c, EV_ECORRUPT, "%s offset %u is not a valid IFD: %s", ifd_pointers[kind],
		     (unsigned)o, why);
	if (junk || garbage) {
		ExifContent *ct = c->ed->ifd[ifd_of_kind[kind]];
		while (ct && ct->count)
			exif_content_remove_entry(ct, ct->entries[ct->count - 1]);
	}
	if ((uint64_t)o + 2 > w->tl)
		return;
	unsigned cnt = exif_get_short(w->t + o, w->bo);
	junk = junk || garbage == 1;
	if (!junk && !garbage && w->n < IFD_KINDS) {
		/* a count too large says nothing of where the IFD ends: the IFDs
		 * it would cover are taken as they are */
		uint64_t end = (uint64_t)o + 2 + 12 * (uint64_t)cnt + 4;
		w->start[w->n] = o;
		w->end[w->n] = (uint32_t)(end > w->tl ? (uint64_t)o + 2 : end);
		w->n++;
	}
	for (unsigned i = 0; i < cnt && (uint64_t)o + 2 + 12 * (uint64_t)(i + 1) <= w->tl; i++) {
		const uint8_t *e = w->t + o + 2 + 12 * i;
		unsigned tag = exif_get_short(e, w->bo);
		int sub = tag == EXIF_TAG_EXIF_IFD_POINTER		 ? 2
			  : tag == EXIF_TAG_GPS_INFO_IFD_POINTER	 ? 3
			  : tag == EXIF_TAG_INTEROPERABILITY_IFD_POINTER ? 4
									 : -1;
		uint32_t to = exif_get_long(e + 8, w->bo);
		if (sub < 0 && tag != EXIF_TAG_JPEG_INTERCHANGE_FORMAT &&
		    tag != EXIF_TAG_JPEG_INTERCHANGE_FORMAT_LENGTH)
			continue;
		int skip = sub < 0 || sub == kind || w->kind_seen[sub];
		/* libexif stops reading an IFD at any pointer past the block
		 * (and says so itself, as a damaged block) */
		if (to >= w->tl) {
			if (!skip && !junk)
				fail(c, EV_ECORRUPT, "%s offset %u is not a valid IFD: it lies past "
				     "the end of the %zu-byte TIFF block", ifd_pointers[sub],
				     (unsigned)to, w->tl);
			return;
		}
		if (skip)
			continue;
		ifd_walk(c, w, sub, to, junk);
	}
}

static void check_ifds(struct ectx *c, const uint8_t *p, size_t n)
{
	struct ifd_walk w = {.t = p + 6, .tl = (n > 0xfffe ? 0xfffe : n) - 6, .bo = c->bo};
	uint32_t ifd0 = exif_get_long(w.t + 4, w.bo);
	ifd_walk(c, &w, 0, ifd0, 0);
	if (!w.n)
		return;
	unsigned cnt = exif_get_short(w.t + ifd0, w.bo);
	uint64_t at = (uint64_t)ifd0 + 2 + 12 * (uint64_t)cnt;
	if (at + 4 > w.tl)
		return;
	uint32_t ifd1 = exif_get_long(w.t + at, w.bo);
	if (ifd1 && ifd1 <= w.tl) /* beyond: libexif names it itself */
		ifd_walk(c, &w, 1, ifd1, 0);
}

int exifmeta_read(const uint8_t *payload, size_t n, struct meta *m, char *err, size_t errlen)
{
	struct ectx c = {.m = m, .err = err, .errlen = errlen};
	ExifLog *log = NULL;

	if (err && errlen)
		err[0] = '\0';
	if (check_header(&c, payload, n) != 0)
		goto out;
	/* libexif caps a block at 64 KiB itself; never hand it more than an
	 * APP1 can hold. */
	if (n > 0xFFFF)
		n = 0xFFFF;

	c.ed = exif_data_new();
	log = exif_log_new();
	if (!c.ed || !log) {
		fail(&c, EV_ERR, "EXIF could not be read: out of memory in libexif");
		goto out;
	}
	exif_log_set_func(log, libexif_log, &c);
	exif_data_log(c.ed, log);
	/* Keep tags libexif does not know (OffsetTimeOriginal in older
	 * tables, CameraSerialNumber) and never "fix" what we read. */
	exif_data_unset_option(c.ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
	exif_data_unset_option(c.ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
	exif_data_load_data(c.ed, payload, (unsigned)n);
	c.bo = exif_data_get_byte_order(c.ed);
	check_ifds(&c, payload, n);

	/* IFD pointers are not kept as entries, so an IFD0 holding only the
	 * EXIF pointer looks empty: count what any IFD holds. */
	unsigned total = 0;
	for (int i = 0; i < EXIF_IFD_COUNT; i++)
		total += c.ed->ifd[i] ? c.ed->ifd[i]->count : 0;
	if (total == 0) {
		fail(&c, EV_ECORRUPT, "EXIF block has no readable entries%s%s",
		     c.libexif_msg[0] ? ": " : "", c.libexif_msg);
		goto out;
	}
	read_ids(&c);
	read_time(&c);
	read_gps(&c);
	if (c.libexif_msg[0])
		fail(&c, EV_ECORRUPT, "EXIF block is damaged (%s)", c.libexif_msg);
out:
	if (c.ed)
		exif_data_unref(c.ed);
	if (log)
		exif_log_unref(log);
	return c.rc;
}
