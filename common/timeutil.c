/*
 * Civil time arithmetic without time zones (Howard Hinnant's days-from-civil
 * algorithm), and strict parsers for the few text forms evcap accepts.
 */
#include "timeutil.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t time_from_civil(int y, int mon, int d, int h, int min, int s)
{
	int64_t yy = y - (mon <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	return days * 86400 + h * 3600 + min * 60 + s;
}

void time_to_civil(int64_t t, int *y, int *mon, int *d, int *h, int *min, int *s)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t rem = t - days * 86400;
	*h = (int)(rem / 3600);
	*min = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*mon <= 2));
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Reads exactly n digits at *p; -1 if any is not a digit. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int civil_ok(int y, int mo, int d, int h, int mi, int s)
{
	return y >= TIME_YEAR_MIN && y <= TIME_YEAR_MAX && mo >= 1 && mo <= 12 && d >= 1 &&
	       d <= days_in_month(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 &&
	       s >= 0 && s <= 60;
}

/* Which field of f (as civil_ok takes them) is out of range, into why;
 * 0 when none is. */
static int civil_why(const int f[6], char *why, size_t whylen)
{
	static const char *month[] = {"January", "February", "March",     "April",
				      "May",     "June",     "July",      "August",
				      "September", "October", "November", "December"};
	static const char *name[] = {"", "", "", "hour", "minute", "second"};
	static const int top[] = {0, 0, 0, 23, 59, 60};
	if (f[0] < TIME_YEAR_MIN || f[0] > TIME_YEAR_MAX)
		return err_set(why, whylen, EV_EINVAL,
			       "the year %04d is outside the years evcap accepts (%d to %d)", f[0],
			       TIME_YEAR_MIN, TIME_YEAR_MAX);
	if (f[1] < 1 || f[1] > 12)
		return err_set(why, whylen, EV_EINVAL, "there is no month %02d", f[1]);
	if (f[2] < 1)
		return err_set(why, whylen, EV_EINVAL, "there is no day 00");
	if (f[2] > days_in_month(f[0], f[1])) {
		if (f[1] == 2 && f[2] == 29)
			return err_set(why, whylen, EV_EINVAL,
				       "day 29 does not exist in February %04d (not a leap year)",
				       f[0]);
		return err_set(why, whylen, EV_EINVAL, "day %02d does not exist in %s", f[2],
			       month[f[1] - 1]);
	}
	for (int i = 3; i < 6; i++)
		if (f[i] > top[i])
			return err_set(why, whylen, EV_EINVAL, "there is no %s %02d (00 to %02d)",
				       name[i], f[i], top[i]);
	return 0;
}

/* Reads "YYYY<sep>MM<sep>DD[ Tt]HH:MM:SS" at *p into f[0..5] and moves *p
 * past it: the one layout both EXIF (sep ':') and ISO 8601 (sep '-') use.
 * RFC 3339 lets the T be written in lower case. */
static int parse_civil(const char **p, char sep, int f[6])
{
	static const int width[6] = {4, 2, 2, 2, 2, 2};
	for (int i = 0; i < 6; i++) {
		if ((f[i] = digits(p, width[i])) < 0)
			return EV_EINVAL;
		if (i == 5)
			break;
		char want = i < 2 ? sep : i == 2 ? 0 : ':';
		char c = *(*p)++;
		if (want ? c != want : c != ' ' && c != 'T' && c != 't')
			return EV_EINVAL;
	}
	return 0;
}

int time_parse_exif(const char *s, int64_t *t)
{
	return time_parse_exif_why(s, t, NULL, 0) ? EV_EINVAL : 0;
}

int time_parse_exif_why(const char *s, int64_t *t, char *why, size_t whylen)
{
	const char *p = s;
	int f[6];
	if (parse_civil(&p, ':', f))
		return err_set(why, whylen, EV_EINVAL, "it is not of the form YYYY:MM:DD HH:MM:SS");
	/* trailing spaces are padding some cameras leave; anything else is not */
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return err_set(why, whylen, EV_EINVAL,
			       "it is not of the form YYYY:MM:DD HH:MM:SS (more follows)");
	if (civil_why(f, why, whylen))
		return EV_ELIMIT;
	*t = time_from_civil(f[0], f[1], f[2], f[3], f[4], f[5]);
	return 0;
}

int time_parse_offset(const char *s, int *seconds)
{
	const char *p = s;
	int sign;
	if (*p == '+')
		sign = 1;
	else if (*p == '-')
		sign = -1;
	else
		return EV_EINVAL;
	p++;
	int h = digits(&p, 2);
	if (h < 0 || *p++ != ':')
		return EV_EINVAL;
	int m = digits(&p, 2);
	if (m < 0 || *p != '\0' || h > 14 || m > 59)
		return EV_EINVAL;
	*seconds = sign * (h * 3600 + m * 60);
	return 0;
}

const char *time_offset_why(const char *s)
{
	const char *p = s + 1;
	int h = *s == '+' || *s == '-' ? digits(&p, 2) : -1;
	int m = h >= 0 && *p++ == ':' ? digits(&p, 2) : -1;
	if (m < 0 || *p != '\0')
		return "must look like +08:00";
	if (h > 14)
		return "must have hours from 00 to 14";
	return m > 59 ? "must have minutes from 00 to 59" : "must look like +08:00";
}

int time_parse_zone(const char *s, size_t len, int *seconds)
{
	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*seconds = 0;
		return 0;
	}
	if (len < 3 || (s[0] != '+' && s[0] != '-'))
		return EV_EINVAL;
	const char *p = s + 1;
	int h = digits(&p, 2), m = 0;
	if (len == 5)
		m = digits(&p, 2);
	else if (len == 6 && *p++ == ':')
		m = digits(&p, 2);
	else if (len != 3)
		return EV_EINVAL;
	if (h < 0 || m < 0 || h > 14 || m > 59)
		return EV_EINVAL;
	*seconds = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

void time_format_offset(int seconds, char out[8])
{
	char sign = seconds < 0 ? '-' : '+';
	/* to the nearest minute: an offset learned from a camera whose clock
	 * is 15 s slow in UTC-4 (-3:59:45) is -04:00, not -03:59 */
	unsigned a = seconds < 0 ? 0u - (unsigned)seconds : (unsigned)seconds;
	unsigned min = (a + 30) / 60;
	snprintf(out, 8, "%c%02u:%02u", sign, min / 60 % 100, min % 60);
}

/* Writes v as exactly `width` decimal digits; v must fit. */
static char *put_digits(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/*
 * Written by hand rather than with snprintf: a track import formats one
 * of these per fix (86,400 for a day at 1 Hz), and snprintf's format
 * parsing was most of the time spent on them. Years outside 0-9999, which
 * no fix has, go the slow way so the text stays what "%04d" makes.
 */
void time_format_iso(double t, char out[32])
{
	double whole = floor(t);
	int ms = (int)lround((t - whole) * 1000.0);
	if (ms >= 1000) {
		whole += 1;
		ms = 0;
	}
	int y, mo, d, h, mi, s;
	time_to_civil((int64_t)whole, &y, &mo, &d, &h, &mi, &s);
	if (y >= 0 && y <= 9999) {
		char *p = put_digits(out, (unsigned)y, 4);
		*p++ = '-';
		p = put_digits(p, (unsigned)mo, 2);
		*p++ = '-';
		p = put_digits(p, (unsigned)d, 2);
		*p++ = 'T';
		p = put_digits(p, (unsigned)h, 2);
		*p++ = ':';
		p = put_digits(p, (unsigned)mi, 2);
		*p++ = ':';
		p = put_digits(p, (unsigned)s, 2);
		if (ms) {
			*p++ = '.';
			p = put_digits(p, (unsigned)ms, 3);
		}
		*p++ = 'Z';
		*p = '\0';
	} else {
		char tmp[96]; /* roomy enough that the compiler sees no truncation */
		if (ms)
			snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h,
				 mi, s, ms);
		else
			snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
		size_t l = strlen(tmp);
		if (l > 31)
			l = 31;
		memcpy(out, tmp, l);
		out[l] = '\0';
	}
}

int time_parse_iso(const char *s, double *t)
{
	const char *p = s;
	int f[6];
	if (parse_civil(&p, '-', f))
		return EV_EINVAL;
	double frac = 0;
	if (*p == '.' || *p == ',') {
		p++;
		double scale = 0.1;
		int n = 0;
		while (isdigit((unsigned char)*p) && n < 9) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
			n++;
		}
		if (n == 0)
			return EV_EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	int off;
	if (time_parse_zone(p, strlen(p), &off) || !civil_ok(f[0], f[1], f[2], f[3], f[4], f[5]))
		return EV_EINVAL;
	*t = (double)(time_from_civil(f[0], f[1], f[2], f[3], f[4], f[5]) - off) + frac;
	return 0;
}

static double clock_seconds(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double time_now(void)
{
	return clock_seconds(CLOCK_REALTIME);
}

double time_mono(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}
