/*
 * The NMEA log parser. A receiver spreads one epoch over several sentences
 * (GGA has altitude and quality but no date, RMC the date but no
 * altitude), so sentences are gathered per time of day and turned into at
 * most one fix when the epoch ends. Every line is checked on its own and a
 * bad one only costs that line.
 */
#include "nmea.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

#define NMEA_MAX_FIELDS 32
#define NMEA_NUM_MAX 24 /* longest number field we read */
#define HALF_DAY 43200.0

struct nmea_field {
	const char *p;
	size_t n;
};

/* The sentences of one time of day seen so far. */
struct nmea_epoch {
	int active;
	double tod;        /* seconds since midnight UTC */
	size_t line;       /* the line that opened it */
	int has_pos;
	double lat, lon;
	int has_alt;
	double alt;
	double hdop;       /* NAN if unknown */
	int sats;          /* -1 if unknown */
	int trusted;       /* a sentence said "valid fix" */
	int untrusted;     /* a sentence said "no fix", estimated or simulated */
	int has_date;
	int64_t day_t;     /* midnight UTC of the date given in this epoch */
};

struct nmea_state {
	const char *name;
	struct track *out;
	struct track_report *rep;
	size_t added;
	int have_date;
	int64_t day_t;     /* midnight of the last known date */
	double date_tod;   /* the time of day that date belongs to */
	int warned_untimed;
	struct nmea_epoch ep;
};

unsigned nmea_checksum(const char *body, size_t n)
{
	unsigned x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= (unsigned char)body[i];
	return x;
}

static int nmea_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A plain decimal number: [-+]digits[.digits]; no exponent, no locale. */
static int nmea_num(const struct nmea_field *f, double *out)
{
	size_t i = 0;
	int neg = 0, nd = 0;
	double v = 0, scale = 1;
	if (f->n == 0 || f->n > NMEA_NUM_MAX)
		return -1;
	if (f->p[0] == '-' || f->p[0] == '+') {
		neg = f->p[0] == '-';
		i++;
	}
	for (; i < f->n && f->p[i] >= '0' && f->p[i] <= '9'; i++, nd++)
		v = v * 10 + (f->p[i] - '0');
	if (i < f->n && f->p[i] == '.') {
		for (i++; i < f->n && f->p[i] >= '0' && f->p[i] <= '9'; i++, nd++) {
			scale /= 10;
			v += (f->p[i] - '0') * scale;
		}
	}
	if (i != f->n || nd == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static int nmea_int(const struct nmea_field *f, int *out)
{
	double v;
	if (nmea_num(f, &v) != 0 || v != floor(v) || v < 0 || v > 1e6)
		return -1;
	*out = (int)v;
	return 0;
}

/* "hhmmss" or "hhmmss.sss" into seconds of the day; 1 if empty, -1 if bad. */
static int nmea_tod(const struct nmea_field *f, double *out)
{
	if (f->n == 0)
		return 1;
	if (f->n < 6 || f->n > 16)
		return -1;
	int h = digits_value(f->p, 2), m = digits_value(f->p + 2, 2), s = digits_value(f->p + 4, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60)
		return -1;
	double frac = 0;
	if (f->n > 6) {
		if (f->p[6] != '.')
			return -1;
		double scale = 1;
		for (size_t i = 7; i < f->n; i++) {
			if (f->p[i] < '0' || f->p[i] > '9')
				return -1;
			scale /= 10;
			frac += (f->p[i] - '0') * scale;
		}
	}
	*out = h * 3600.0 + m * 60.0 + s + frac;
	return 0;
}

/* Midnight UTC of a valid civil date; -1 if the date does not exist. */
static int nmea_day(int y, int mon, int d, int64_t *out)
{
	if (y < 1980 || y > 2200 || mon < 1 || mon > 12 || d < 1 || d > 31)
		return -1;
	int64_t t = time_from_civil(y, mon, d, 0, 0, 0);
	int yy, mm, dd, h, mi, s;
	time_to_civil(t, &yy, &mm, &dd, &h, &mi, &s);
	if (yy != y || mm != mon || dd != d)
		return -1;
	*out = t;
	return 0;
}

/* "ddmmyy" into midnight UTC; two-digit years are 1980-2079. */
static int nmea_ddmmyy(const struct nmea_field *f, int64_t *out)
{
	if (f->n != 6)
		return -1;
	int d = digits_value(f->p, 2), m = digits_value(f->p + 2, 2), y = digits_value(f->p + 4, 2);
	if (d < 0 || m < 0 || y < 0)
		return -1;
	return nmea_day(y < 80 ? 2000 + y : 1900 + y, m, d, out);
}

/* "ddmm.mmmm" (lat, max_deg 90) or "dddmm.mmmm" (lon, 180) with its
 * hemisphere letter into signed degrees. 1 if both fields are empty. */
static int nmea_coord(const struct nmea_field *v, const struct nmea_field *h, double max_deg,
		      char pos, char neg, double *out)
{
	double x;
	if (v->n == 0 && h->n == 0)
		return 1;
	if (nmea_num(v, &x) != 0 || x < 0 || h->n != 1 || (h->p[0] != pos && h->p[0] != neg))
		return -1;
	double deg = floor(x / 100), min = x - deg * 100;
	if (min >= 60 || deg + min / 60 > max_deg)
		return -1;
	x = deg + min / 60;
	*out = h->p[0] == neg ? -x : x;
	return 0;
}

/* Reads the position pair at f[0..3]; 1 if absent, -1 if malformed. */
static int nmea_position(const struct nmea_field *f, double *lat, double *lon)
{
	int a = nmea_coord(&f[0], &f[1], 90, 'N', 'S', lat);
	int b = nmea_coord(&f[2], &f[3], 180, 'E', 'W', lon);
	if (a < 0 || b < 0 || a != b)
		return -1;
	return a;
}

static void nmea_bad(struct nmea_state *st, size_t line, const char *what)
{
	st->rep->bad++;
	track_report_msg(st->rep, "%s:%zu: %s", st->name, line, what);
}

/* Ends the current epoch, turning it into a fix if it earned one. */
static void nmea_flush(struct nmea_state *st)
{
	struct nmea_epoch *ep = &st->ep;
	if (!ep->active)
		return;
	ep->active = 0;
	if (ep->has_date) {
		st->have_date = 1;
		st->day_t = ep->day_t;
		st->date_tod = ep->tod;
	}
	if (!ep->has_pos)
		return;
	if (ep->untrusted || !ep->trusted) {
		st->rep->untrusted++;
		return;
	}
	if (!st->have_date) {
		st->rep->untimed++;
		if (!st->warned_untimed) {
			st->warned_untimed = 1;
			track_report_msg(st->rep,
					 "%s:%zu: a position before any date is known cannot be "
					 "timed (no RMC or ZDA yet); such positions are skipped",
					 st->name, ep->line);
		}
		return;
	}
	/* A time of day far below the one the date came with means midnight
	 * has passed since (and far above: the date arrived just after it). */
	if (ep->tod < st->date_tod - HALF_DAY) {
		st->day_t += 86400;
		st->date_tod = ep->tod;
	} else if (ep->tod > st->date_tod + HALF_DAY) {
		st->day_t -= 86400;
		st->date_tod = ep->tod;
	}
	if (st->added >= TRACK_MAX_POINTS) {
		if (!st->rep->capped)
			track_report_msg(st->rep, "%s:%zu: more than %d fixes; the rest are ignored",
					 st->name, ep->line, TRACK_MAX_POINTS);
		st->rep->capped = 1;
		return;
	}
	struct fix f = {
		.t = (double)st->day_t + ep->tod,
		.lat = ep->lat,
		.lon = ep->lon,
		.alt = ep->has_alt ? ep->alt : NAN,
		.mode = ep->has_alt ? 3 : 2,
		.eph = isfinite(ep->hdop) ? ep->hdop * TRACK_UERE : NAN,
		.sats = ep->sats,
	};
	track_push(st->out, &f);
	st->added++;
	st->rep->fixes++;
}

/* Joins (or starts) the epoch of time of day `tod`. */
static struct nmea_epoch *nmea_epoch_at(struct nmea_state *st, double tod, size_t line)
{
	struct nmea_epoch *ep = &st->ep;
	if (ep->active && fabs(ep->tod - tod) > 1e-6)
		nmea_flush(st);
	if (!ep->active) {
		memset(ep, 0, sizeof *ep);
		ep->active = 1;
		ep->tod = tod;
		ep->line = line;
		ep->hdop = NAN;
		ep->sats = -1;
	}
	return ep;
}

static void nmea_set_pos(struct nmea_epoch *ep, double lat, double lon)
{
	if (ep->has_pos)
		return;
	ep->has_pos = 1;
	ep->lat = lat;
	ep->lon = lon;
}

/* NMEA 2.3+ mode indicators: N no fix, E estimated (dead reckoning),
 * M manual input, S simulator all mean "not a measurement". */
static int nmea_mode_untrusted(const struct nmea_field *f)
{
	return f->n == 1 && strchr("NEMS", f->p[0]) != NULL;
}

/* The time field of a sentence: 0 ok, 1 empty (sentence unusable), -1 bad. */
static int nmea_time_field(struct nmea_state *st, const struct nmea_field *f, size_t line,
			   const char *type, double *tod)
{
	int r = nmea_tod(f, tod);
	if (r < 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s time '%.*s' is not hhmmss[.ss]", type,
			 (int)(f->n > 16 ? 16 : f->n), f->p);
		nmea_bad(st, line, msg);
	}
	return r;
}

/* The epoch at tod, marked trusted or not; a date counts only with a
 * valid fix, since a receiver without one reports its own clock's date. */
static struct nmea_epoch *nmea_mark(struct nmea_state *st, double tod, size_t line, int valid,
				    int dated, int64_t day, int pos, double lat, double lon)
{
	struct nmea_epoch *ep = nmea_epoch_at(st, tod, line);
	if (valid)
		ep->trusted = 1;
	else
		ep->untrusted = 1;
	if (valid && dated == 0) {
		ep->has_date = 1;
		ep->day_t = day;
	}
	if (pos == 0)
		nmea_set_pos(ep, lat, lon);
	return ep;
}

static void nmea_rmc(struct nmea_state *st, const struct nmea_field *f, size_t nf, size_t line)
{
	double tod, lat = 0, lon = 0;
	int64_t day = 0;
	if (nf < 10) {
		nmea_bad(st, line, "RMC has too few fields");
		return;
	}
	if (nmea_time_field(st, &f[1], line, "RMC", &tod) != 0)
		return;
	int pos = nmea_position(&f[3], &lat, &lon);
	if (pos < 0) {
		nmea_bad(st, line, "RMC position is not ddmm.mmmm with N/S/E/W");
		return;
	}
	int dated = f[9].n ? nmea_ddmmyy(&f[9], &day) : 1;
	if (dated < 0) {
		nmea_bad(st, line, "RMC date is not a valid ddmmyy");
		return;
	}
	int valid = f[2].n == 1 && f[2].p[0] == 'A';
	if (nf > 12 && nmea_mode_untrusted(&f[12]))
		valid = 0;
	nmea_mark(st, tod, line, valid, dated, day, pos, lat, lon);
}

/* GGA and GNS share their layout from the time to the altitude. */
static void nmea_gga_gns(struct nmea_state *st, const struct nmea_field *f, size_t nf,
			 size_t line, int gns)
{
	const char *type = gns ? "GNS" : "GGA";
	double tod, lat = 0, lon = 0;
	char msg[96];
	if (nf < 10) {
		snprintf(msg, sizeof msg, "%s has too few fields", type);
		nmea_bad(st, line, msg);
		return;
	}
	if (nmea_time_field(st, &f[1], line, type, &tod) != 0)
		return;
	int pos = nmea_position(&f[2], &lat, &lon);
	if (pos < 0) {
		snprintf(msg, sizeof msg, "%s position is not ddmm.mmmm with N/S/E/W", type);
		nmea_bad(st, line, msg);
		return;
	}
	int valid = 0;
	if (gns) {
		/* One mode letter per constellation: any real one counts, a
		 * simulator anywhere spoils the epoch. */
		int sim = 0;
		for (size_t i = 0; i < f[6].n; i++) {
			if (strchr("ADPRF", f[6].p[i]))
				valid = 1;
			if (f[6].p[i] == 'S')
				sim = 1;
		}
		if (sim)
			valid = 0;
	} else {
		int q = 0;
		if (f[6].n && nmea_int(&f[6], &q) != 0) {
			nmea_bad(st, line, "GGA quality is not a number");
			return;
		}
		/* 1 GPS, 2 DGPS, 3 PPS, 4 RTK, 5 float RTK; 0 none, 6 estimated,
		 * 7 manual and 8 simulation are not measurements. */
		valid = q >= 1 && q <= 5;
	}
	struct nmea_epoch *ep = nmea_epoch_at(st, tod, line);
	if (valid)
		ep->trusted = 1;
	else
		ep->untrusted = 1;
	if (pos == 0)
		nmea_set_pos(ep, lat, lon);
	int sats;
	if (f[7].n && nmea_int(&f[7], &sats) == 0 && sats < 1000)
		ep->sats = sats;
	double hdop;
	if (f[8].n && nmea_num(&f[8], &hdop) == 0 && hdop > 0 && hdop < 100)
		ep->hdop = hdop;
	double alt;
	int metres = gns || nf < 11 || f[10].n == 0 || (f[10].n == 1 && f[10].p[0] == 'M');
	if (f[9].n && metres && nmea_num(&f[9], &alt) == 0 && fabs(alt) < 1e6 && !ep->has_alt) {
		ep->has_alt = 1;
		ep->alt = alt;
	}
}

static void nmea_gll(struct nmea_state *st, const struct nmea_field *f, size_t nf, size_t line)
{
	double tod, lat = 0, lon = 0;
	if (nf < 7) {
		nmea_bad(st, line, "GLL has too few fields");
		return;
	}
	if (nmea_time_field(st, &f[5], line, "GLL", &tod) != 0)
		return;
	int pos = nmea_position(&f[1], &lat, &lon);
	if (pos < 0) {
		nmea_bad(st, line, "GLL position is not ddmm.mmmm with N/S/E/W");
		return;
	}
	int valid = f[6].n == 1 && f[6].p[0] == 'A';
	if (nf > 7 && nmea_mode_untrusted(&f[7]))
		valid = 0;
	struct nmea_epoch *ep = nmea_epoch_at(st, tod, line);
	if (valid)
		ep->trusted = 1;
	else
		ep->untrusted = 1;
	if (pos == 0)
		nmea_set_pos(ep, lat, lon);
}

static void nmea_zda(struct nmea_state *st, const struct nmea_field *f, size_t nf, size_t line)
{
	double tod;
	int64_t day;
	if (nf < 5) {
		nmea_bad(st, line, "ZDA has too few fields");
		return;
	}
	if (nmea_time_field(st, &f[1], line, "ZDA", &tod) != 0)
		return;
	if (f[2].n == 0 && f[3].n == 0 && f[4].n == 0)
		return; /* a receiver that does not know the date yet */
	int d = f[2].n == 2 ? digits_value(f[2].p, 2) : -1;
	int m = f[3].n == 2 ? digits_value(f[3].p, 2) : -1;
	int y = f[4].n == 4 ? digits_value(f[4].p, 4) : -1;
	if (d < 0 || m < 0 || y < 0 || nmea_day(y, m, d, &day) != 0) {
		nmea_bad(st, line, "ZDA date is not a valid dd,mm,yyyy");
		return;
	}
	struct nmea_epoch *ep = nmea_epoch_at(st, tod, line);
	ep->has_date = 1;
	ep->day_t = day;
}

/* Magellan: $PMGNTRK,llll.ll,a,yyyyy.yy,a,altitude,unit,hhmmss.ss,A,name,ddmmyy */
static void nmea_pmgntrk(struct nmea_state *st, const struct nmea_field *f, size_t nf,
			 size_t line)
{
	double tod, lat = 0, lon = 0, alt;
	int64_t day = 0;
	if (nf < 9) {
		nmea_bad(st, line, "PMGNTRK has too few fields");
		return;
	}
	if (nmea_time_field(st, &f[7], line, "PMGNTRK", &tod) != 0)
		return;
	int pos = nmea_position(&f[1], &lat, &lon);
	if (pos < 0) {
		nmea_bad(st, line, "PMGNTRK position is not ddmm.mmmm with N/S/E/W");
		return;
	}
	int dated = nf > 10 && f[10].n ? nmea_ddmmyy(&f[10], &day) : 1;
	if (dated < 0) {
		nmea_bad(st, line, "PMGNTRK date is not a valid ddmmyy");
		return;
	}
	int valid = f[8].n == 1 && f[8].p[0] == 'A';
	struct nmea_epoch *ep = nmea_mark(st, tod, line, valid, dated, day, pos, lat, lon);
	if (f[5].n && nmea_num(&f[5], &alt) == 0 && fabs(alt) < 1e6 && f[6].n == 1 &&
	    (f[6].p[0] == 'M' || f[6].p[0] == 'F') && !ep->has_alt) {
		ep->has_alt = 1;
		ep->alt = f[6].p[0] == 'F' ? alt * 0.3048 : alt;
	}
}

/* One line without its end-of-line bytes. */
static void nmea_line(struct nmea_state *st, const char *s, size_t n, size_t line)
{
	char msg[128];
	/* blanks around a sentence are line noise, not part of it */
	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || s[0] == '#')
		return;
	if (n > NMEA_MAX_LINE) {
		snprintf(msg, sizeof msg, "line is %zu bytes long (the limit is %d)", n,
			 NMEA_MAX_LINE);
		nmea_bad(st, line, msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e) {
			snprintf(msg, sizeof msg, "control or non-ASCII byte 0x%02x at column %zu",
				 c, i + 1);
			nmea_bad(st, line, msg);
			return;
		}
	}
	if (s[0] != '$' && s[0] != '!') {
		nmea_bad(st, line, "not an NMEA sentence (no leading '$')");
		return;
	}
	if (n < 4 || s[n - 3] != '*') {
		nmea_bad(st, line, "no *hh checksum at the end");
		return;
	}
	int h1 = nmea_hex(s[n - 2]), h2 = nmea_hex(s[n - 1]);
	const char *body = s + 1;
	size_t bn = n - 4;
	unsigned sum = nmea_checksum(body, bn);
	if (h1 < 0 || h2 < 0 || (unsigned)(h1 * 16 + h2) != sum) {
		snprintf(msg, sizeof msg, "checksum is %02X, the line says %c%c", sum, s[n - 2],
			 s[n - 1]);
		nmea_bad(st, line, msg);
		return;
	}
	if (s[0] == '!') { /* AIS and other encapsulated data */
		st->rep->ignored++;
		return;
	}

	struct nmea_field f[NMEA_MAX_FIELDS];
	size_t nf = 0, start = 0;
	for (size_t i = 0; i <= bn; i++) {
		if (i == bn || body[i] == ',') {
			if (nf == NMEA_MAX_FIELDS) {
				nmea_bad(st, line, "more than 32 fields");
				return;
			}
			f[nf].p = body + start;
			f[nf].n = i - start;
			nf++;
			start = i + 1;
		}
	}
	const struct nmea_field *addr = &f[0];
	if (addr->n == 7 && memcmp(addr->p, "PMGNTRK", 7) == 0) {
		nmea_pmgntrk(st, f, nf, line);
		return;
	}
	if (addr->n != 5 || addr->p[0] == 'P') { /* other proprietary sentences */
		st->rep->ignored++;
		return;
	}
	const char *type = addr->p + 2; /* any talker: GP, GN, GL, GA, BD, GB, IN, ... */
	if (memcmp(type, "RMC", 3) == 0)
		nmea_rmc(st, f, nf, line);
	else if (memcmp(type, "GGA", 3) == 0)
		nmea_gga_gns(st, f, nf, line, 0);
	else if (memcmp(type, "GNS", 3) == 0)
		nmea_gga_gns(st, f, nf, line, 1);
	else if (memcmp(type, "GLL", 3) == 0)
		nmea_gll(st, f, nf, line);
	else if (memcmp(type, "ZDA", 3) == 0)
		nmea_zda(st, f, nf, line);
	else
		st->rep->ignored++;
}

int nmea_parse(const char *name, const char *text, size_t n, struct track *out,
	       struct track_report *rep)
{
	if (!text || !out || !rep)
		return EV_EINVAL;
	if (n > NMEA_MAX_BYTES) {
		track_report_msg(rep, "%s: larger than %zu bytes; not read", name ? name : "NMEA",
				 NMEA_MAX_BYTES);
		return EV_ELIMIT;
	}
	struct nmea_state st;
	memset(&st, 0, sizeof st);
	st.name = name ? name : "NMEA";
	st.out = out;
	st.rep = rep;
	size_t pos = 0, line = 0;
	/* a log saved by Windows Notepad starts with a UTF-8 byte-order mark,
	 * which is not part of its first sentence (that line, often the RMC
	 * giving the date, was lost, and with it every fix until the next) */
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - text) : n;
		size_t len = end - pos;
		line++;
		if (len > 0 && text[pos + len - 1] == '\r')
			len--;
		rep->lines++;
		nmea_line(&st, text + pos, len, line);
		pos = end + 1;
	}
	nmea_flush(&st);
	return 0;
}

int nmea_sniff(const char *text, size_t n)
{
	size_t pos = n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	for (int lines = 0; pos < n && lines < 64; lines++) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - text) : n;
		size_t len = end - pos;
		if (len > 0 && text[pos + len - 1] == '\r')
			len--;
		if (len >= 4 && len <= NMEA_MAX_LINE && text[pos] == '$' &&
		    text[pos + len - 3] == '*')
			return 1;
		pos = end + 1;
	}
	return 0;
}
