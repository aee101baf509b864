/*
 * Helpers shared by the two sample-data generators (scripts/mksample.c for
 * the demo and tests, bench/gen.c for the benchmarks): building EXIF
 * entries and a GPS IFD with libexif, degrees to degree/minute/second, UTC
 * text, and making folders. Each program defines SYNTH_PROG (its name, for errors)
 * before including this header; the functions are static, one copy each.
 */
#ifndef EVCAP_SYNTH_EXIF_H
#define EVCAP_SYNTH_EXIF_H

#include <errno.h>
#include <libexif/exif-data.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", SYNTH_PROG, what, errno ? strerror(errno) : "failed");
	exit(1);
}

/* A new entry of n components in ifd; libexif owns it through the IFD. */
static ExifEntry *add(ExifData *ed, ExifMem *mem, ExifIfd ifd, ExifTag tag, ExifFormat f,
		      unsigned long n)
{
	ExifEntry *e = exif_entry_new_mem(mem);
	e->tag = tag;
	e->format = f;
	e->components = n;
	e->size = exif_format_get_size(f) * n;
	e->data = exif_mem_alloc(mem, e->size);
	exif_content_add_entry(ed->ifd[ifd], e);
	exif_entry_unref(e);
	return e;
}

static void ascii(ExifData *ed, ExifMem *mem, ExifIfd ifd, ExifTag tag, const char *str)
{
	ExifEntry *e = add(ed, mem, ifd, tag, EXIF_FORMAT_ASCII, strlen(str) + 1);
	memcpy(e->data, str, strlen(str) + 1);
}

/* n GPS rationals v[i] with denominator den (Intel byte order). */
static void rationals(ExifData *ed, ExifMem *mem, ExifTag tag, const double *v, int n, int den)
{
	ExifEntry *e = add(ed, mem, EXIF_IFD_GPS, tag, EXIF_FORMAT_RATIONAL, (unsigned long)n);
	for (int i = 0; i < n; i++) {
		ExifRational r = {(ExifLong)llround(v[i] * den), (ExifLong)den};
		exif_set_rational(e->data + 8 * i, EXIF_BYTE_ORDER_INTEL, r);
	}
}

static void dms(double deg, double out[3])
{
	deg = fabs(deg);
	out[0] = floor(deg);
	out[1] = floor((deg - out[0]) * 60);
	out[2] = ((deg - out[0]) * 60 - out[1]) * 60;
}

/* UTC seconds as text in strftime's fmt. */
static void civil(long t, char *out, size_t n, const char *fmt)
{
	time_t tt = t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, fmt, &tm);
}

/* The GPS IFD of a fix at lat, lon (degrees), alt (metres above sea
 * level) taken at utc: position, GPS date and time, datum WGS-84. */
static void gps_block(ExifData *ed, ExifMem *mem, double lat, double lon, double alt, long utc)
{
	double v[3];
	char b[32];
	ExifEntry *e = add(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_VERSION_ID, EXIF_FORMAT_BYTE, 4);
	e->data[0] = 2, e->data[1] = 3, e->data[2] = 0, e->data[3] = 0;
	ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE_REF, lat >= 0 ? "N" : "S");
	dms(lat, v);
	rationals(ed, mem, EXIF_TAG_GPS_LATITUDE, v, 3, 1000000);
	ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE_REF, lon >= 0 ? "E" : "W");
	dms(lon, v);
	rationals(ed, mem, EXIF_TAG_GPS_LONGITUDE, v, 3, 1000000);
	e = add(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF, EXIF_FORMAT_BYTE, 1);
	e->data[0] = alt < 0;
	alt = fabs(alt);
	rationals(ed, mem, EXIF_TAG_GPS_ALTITUDE, &alt, 1, 1000);
	double hms[3] = {(double)(utc % 86400 / 3600), (double)(utc % 3600 / 60), (double)(utc % 60)};
	rationals(ed, mem, EXIF_TAG_GPS_TIME_STAMP, hms, 3, 1);
	civil(utc, b, sizeof b, "%Y:%m:%d");
	ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_DATE_STAMP, b);
	ascii(ed, mem, EXIF_IFD_GPS, EXIF_TAG_GPS_MAP_DATUM, "WGS-84");
}

static void mkdirs(const char *d)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", d);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		die(d);
}

#endif
