/*
 * srt_first_fix (see srt.h): a line scanner over at most SRT_READ_MAX
 * bytes. Each line is copied, cut at 1 KiB, into a terminated buffer
 * before it is searched, so no search runs past the input; numbers are
 * read by hand (no locale, no exponents, at most 15 digits a side).
 */
#include "srt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

#define SRT_LINE_MAX 1024

/* A decimal number at s: sign, digits, a point, digits. Returns 0 and
 * sets *end past it, or -1. */
static int srt_num(const char *s, const char **end, double *v)
{
	double sign = 1, x = 0, scale = 0.1;
	int nd = 0, nf = 0;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s >= '0' && *s <= '9'; s++)
		if (++nd <= 15)
			x = x * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			if (++nf <= 15)
				x += (*s - '0') * scale;
	if (nd == 0 && nf == 0)
		return -1;
	if (nd > 15)
		return -1;
	*v = sign * x;
	*end = s;
	return 0;
}

/* The number after "key", spaces and a colon: "[latitude : 47.35]". */
static int srt_keyed(const char *line, const char *key, double *v)
{
	const char *p = strstr(line, key);
	if (!p)
		return -1;
	p += strlen(key);
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return -1;
	while (*p == ' ')
		p++;
	const char *e;
	return srt_num(p, &e, v);
}

/* "2023-06-15 10:00:00" or "2017.07.29 15:18:50" anywhere in the line. */
static int srt_clock(const char *line, char out[20])
{
	for (const char *p = line; p[0] && strlen(p) >= 19; p++) {
		char sep = p[4];
		if ((sep != '-' && sep != '.') || p[7] != sep || p[10] != ' ')
			continue;
		/* EXIF's form, read and checked as EXIF times are */
		memcpy(out, p, 19);
		out[4] = out[7] = ':';
		out[19] = '\0';
		int64_t t;
		if (time_parse_exif(out, &t) == 0)
			return 0;
	}
	return -1;
}

struct srt_block {
	int has_lat, has_lon, has_alt, has_gps, has_time;
	double lat, lon, alt, ga, gb, gc;
	int has_gc;
	char time[20];
};

static void srt_line(const char *line, struct srt_block *b)
{
	double v;
	if (srt_keyed(line, "latitude", &v) == 0) {
		b->has_lat = 1;
		b->lat = v;
	}
	if (srt_keyed(line, "longitude", &v) == 0 || srt_keyed(line, "longtitude", &v) == 0) {
		b->has_lon = 1;
		b->lon = v;
	}
	if (srt_keyed(line, "abs_alt", &v) == 0 || (!b->has_alt && srt_keyed(line, "[altitude", &v) == 0)) {
		b->has_alt = 1;
		b->alt = v;
	}
	const char *g = strstr(line, "GPS(");
	if (g) {
		const char *e;
		double a, c;
		g += 4;
		if (srt_num(g, &e, &a) == 0 && *e == ',' && srt_num(e + 1, &e, &v) == 0) {
			b->has_gps = 1;
			b->ga = a;
			b->gb = v;
			b->has_gc = *e == ',' && srt_num(e + 1, &e, &c) == 0;
			b->gc = b->has_gc ? c : 0;
		}
	}
	if (!b->has_time && srt_clock(line, b->time) == 0)
		b->has_time = 1;
}

/* The block's position: 0 and f filled, or -1 (why in err, if worth it). */
static int srt_block_fix(const struct srt_block *b, unsigned block, struct srt_fix *f,
			 char *why, size_t whylen)
{
	double lat, lon;
	int has_alt = 0;
	double alt = 0;
	if (b->has_lat && b->has_lon) {
		lat = b->lat;
		lon = b->lon;
		has_alt = b->has_alt;
		alt = b->alt;
	} else if (b->has_gps) {
		double a = fabs(b->ga), c = fabs(b->gb);
		if (a > 90 && c <= 90) {
			lon = b->ga;
			lat = b->gb;
		} else if (c > 90 && a <= 90) {
			lat = b->ga;
			lon = b->gb;
		} else {
			if (!(b->ga == 0 && b->gb == 0))
				snprintf(why, whylen,
					 "SRT block %u: GPS(%.6f,%.6f) does not say which is the "
					 "latitude (both within 90 degrees)",
					 block, b->ga, b->gb);
			return -1;
		}
		has_alt = b->has_gc;
		alt = b->gc;
	} else {
		return -1;
	}
	if (!(fabs(lat) <= 90) || !(fabs(lon) <= 180) || (lat == 0 && lon == 0))
		return -1;
	memset(f, 0, sizeof *f);
	f->lat = lat;
	f->lon = lon;
	f->has_alt = has_alt && isfinite(alt) && fabs(alt) < 100000;
	f->alt = f->has_alt ? alt : 0;
	f->has_time = b->has_time;
	if (b->has_time)
		memcpy(f->time, b->time, sizeof f->time);
	f->block = block;
	return 0;
}

int srt_first_fix(const uint8_t *p, size_t n, struct srt_fix *f, char *err, size_t errlen)
{
	char line[SRT_LINE_MAX + 1], why[160] = "";
	struct srt_block b;
	unsigned block = 0;
	int in_block = 0, any_timecode = 0;

	memset(f, 0, sizeof *f);
	if (n > SRT_READ_MAX)
		n = SRT_READ_MAX;
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3;
		n -= 3;
	}
	memset(&b, 0, sizeof b);
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		while (j < n && p[j] != '\n')
			j++;
		size_t l = j - i;
		if (l > 0 && p[i + l - 1] == '\r')
			l--;
		size_t c = l < SRT_LINE_MAX ? l : SRT_LINE_MAX;
		memcpy(line, p + i, c);
		line[c] = '\0';
		/* a NUL inside the line ends it here: a binary file's lines
		 * are short, and nothing is read past them */
		int blank = line[0] == '\0';
		if (!blank) {
			if (!in_block) {
				in_block = 1;
				block++;
				memset(&b, 0, sizeof b);
			}
			if (strstr(line, " --> "))
				any_timecode = 1;
			srt_line(line, &b);
		}
		if ((blank || j >= n) && in_block) {
			in_block = 0;
			char w[sizeof why] = "";
			/* a position counts only in a subtitle file: one whose
			 * blocks have time codes */
			if (any_timecode && srt_block_fix(&b, block, f, w, sizeof w) == 0)
				return 0;
			if (!why[0] && w[0])
				memcpy(why, w, sizeof why); /* the first reason */
		}
		i = j + 1;
	}
	if (!any_timecode)
		return err_set(err, errlen, EV_EINVAL,
			       "not a subtitle file: no line has a time code (\"00:00:00,000 --> ...\")");
	if (why[0])
		return err_set(err, errlen, EV_ENOENT, "%s", why);
	return err_set(err, errlen, EV_ENOENT,
		       "no block of the first %zu bytes has a position (a drone's GPS fix)", n);
}
