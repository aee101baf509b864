/*
 * Helpers shared by the two sample-data generators (scripts/mksample.c for
 * the demo and tests, bench/gen.c for the benchmarks): building EXIF
 * entries with libexif, degrees to degree/minute/second, UTC text, and
 * making folders. Each program defines SYNTH_PROG (its name, for errors)
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
