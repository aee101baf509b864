/*
 * The bounded XMP property scan (see xmp.h). Each property is found by
 * searching for its qualified name and checking the bytes around the hit,
 * with a cap on hits per name and on value length; values are copied into
 * small local buffers before any number is parsed, so strtod never sees
 * bytes outside the packet.
 */
#include "xmp.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

enum { NS_DJI, NS_EXIF, NS_XMP, NS_PS, NS_AUX, NS_EXIFEX, NS_COUNT };

/* The namespaces read, with the prefix used when a packet declares none. */
static const struct {
	const char *uri;
	const char *def;
} ns_tab[NS_COUNT] = {
	[NS_DJI] = {"http://www.dji.com/drone-dji/1.0/", "drone-dji"},
	[NS_EXIF] = {"http://ns.adobe.com/exif/1.0/", "exif"},
	[NS_XMP] = {"http://ns.adobe.com/xap/1.0/", "xmp"},
	[NS_PS] = {"http://ns.adobe.com/photoshop/1.0/", "photoshop"},
	[NS_AUX] = {"http://ns.adobe.com/exif/1.0/aux/", "aux"},
	[NS_EXIFEX] = {"http://cipa.jp/exif/1.0/", "exifEX"},
};

#define PREFIX_MAX 32
#define QNAME_MAX 64 /* prefix, colon and the longest local name read */
#define XMLNS_MAX_DECLS 4096

/* One scan's state: the packet, the prefixes in force and the first error. */
struct scan {
	const uint8_t *p;
	size_t n;
	char prefix[NS_COUNT][PREFIX_MAX];
	int rc;
	char *err;
	size_t errlen;
};

PRINTF_LIKE(3, 4)
static void scan_fail(struct scan *s, int code, const char *fmt, ...)
{
	/* The first problem is the one reported; later ones would only repeat
	 * the damage in other words. */
	if (s->rc)
		return;
	s->rc = code;
	if (s->err && s->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->err, s->errlen, fmt, ap);
		va_end(ap);
	}
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A copy of v fit to quote in a message: printable ASCII, at most 40 bytes. */
static void quote_value(const char *v, char out[48])
{
	size_t i;
	for (i = 0; v[i] && i < 40; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	if (v[i] && i >= 40) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* A prefix worth learning: UTF-8 text with no control characters (XML
 * allows nothing else, and the prefix appears in messages). */
static int prefix_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return utf8_valid((const char *)p, n);
}

/* Learns the prefixes a packet binds to the namespaces we read. The first
 * declaration of a URI wins; undeclared namespaces keep their usual prefix. */
static void learn_prefixes(struct scan *s)
{
	static const char key[] = "xmlns:";
	size_t from = 0;
	for (int k = 0; k < NS_COUNT; k++)
		snprintf(s->prefix[k], PREFIX_MAX, "%s", ns_tab[k].def);
	int seen[NS_COUNT] = {0};
	for (int decls = 0; decls < XMLNS_MAX_DECLS && from < s->n; decls++) {
		const uint8_t *h = memmem(s->p + from, s->n - from, key, sizeof key - 1);
		if (!h)
			break;
		size_t i = (size_t)(h - s->p) + sizeof key - 1;
		from = i;
		size_t pstart = i;
		while (i < s->n && i - pstart < PREFIX_MAX && s->p[i] != '=' && !is_space(s->p[i]))
			i++;
		size_t plen = i - pstart;
		if (plen == 0 || plen >= PREFIX_MAX || !prefix_ok(s->p + pstart, plen))
			continue;
		while (i < s->n && is_space(s->p[i]))
			i++;
		if (i >= s->n || s->p[i] != '=')
			continue;
		i++;
		while (i < s->n && is_space(s->p[i]))
			i++;
		if (i >= s->n || (s->p[i] != '"' && s->p[i] != '\''))
			continue;
		uint8_t q = s->p[i++];
		const uint8_t *end = memchr(s->p + i, q, s->n - i);
		if (!end)
			continue;
		size_t ulen = (size_t)(end - (s->p + i));
		for (int k = 0; k < NS_COUNT; k++) {
			if (!seen[k] && ulen == strlen(ns_tab[k].uri) &&
			    memcmp(s->p + i, ns_tab[k].uri, ulen) == 0) {
				memcpy(s->prefix[k], s->p + pstart, plen);
				s->prefix[k][plen] = '\0';
				seen[k] = 1;
			}
		}
		from = (size_t)(end - s->p);
	}
}

/*
 * Finds the first readable value of property `q` (a qualified name) in
 * attribute or simple-element form and copies it into val (vallen bytes,
 * NUL-terminated). Returns 1 if found, 0 if absent, -1 after recording an
 * error (value unterminated or longer than the buffer).
 */
static int find_value(struct scan *s, const char *q, char *val, size_t vallen)
{
	const uint8_t *p = s->p;
	size_t n = s->n, qlen = strlen(q), from = 0;

	for (int hits = 0; hits < XMP_MAX_HITS && from < n; hits++) {
		const uint8_t *h = memmem(p + from, n - from, q, qlen);
		if (!h)
			return 0;
		size_t i = (size_t)(h - p), j = i + qlen, vstart, vend;
		from = j;
		uint8_t before = i ? p[i - 1] : 0;
		if (before == '<') {
			/* <q>value</q>, or <q attr="...">value</q> */
			if (j >= n)
				goto unterminated;
			if (p[j] != '>') {
				if (!is_space(p[j]) && p[j] != '/')
					continue; /* a longer name that starts with q */
				const uint8_t *gt = memchr(p + j, '>', n - j);
				if (!gt)
					goto unterminated;
				j = (size_t)(gt - p);
				if (p[j - 1] == '/')
					continue; /* <q .../>: no text value */
			}
			vstart = j + 1;
			const uint8_t *lt = vstart < n ? memchr(p + vstart, '<', n - vstart) : NULL;
			if (!lt)
				goto unterminated;
			vend = (size_t)(lt - p);
			/* Only a simple value counts: the next tag must close q.
			 * Structured values (rdf:Alt, rdf:Seq) are not read. */
			if (n - vend < qlen + 2 || p[vend + 1] != '/' ||
			    memcmp(p + vend + 2, q, qlen) != 0)
				continue;
		} else if (is_space(before)) {
			/* ... q="value" inside a start tag */
			while (j < n && is_space(p[j]))
				j++;
			if (j >= n || p[j] != '=')
				continue;
			j++;
			while (j < n && is_space(p[j]))
				j++;
			if (j >= n)
				goto unterminated;
			if (p[j] != '"' && p[j] != '\'')
				continue;
			vstart = j + 1;
			const uint8_t *qe = vstart < n ? memchr(p + vstart, p[j], n - vstart) : NULL;
			if (!qe)
				goto unterminated;
			vend = (size_t)(qe - p);
		} else {
			continue; /* a closing tag, or q inside a longer name */
		}
		if (vend - vstart >= vallen) {
			scan_fail(s, EV_ELIMIT, "XMP %s has a value longer than %zu bytes", q,
				  vallen - 1);
			return -1;
		}
		memcpy(val, p + vstart, vend - vstart);
		val[vend - vstart] = '\0';
		return 1;
	}
	return 0;
unterminated:
	scan_fail(s, EV_ECORRUPT, "XMP %s has an unterminated value (packet cut short?)", q);
	return -1;
}

/* Trims surrounding XML whitespace in place; returns the start. */
static char *trim(char *v)
{
	while (is_space((uint8_t)*v))
		v++;
	size_t l = strlen(v);
	while (l && is_space((uint8_t)v[l - 1]))
		v[--l] = '\0';
	return v;
}

/* A full, finite decimal number: nothing left over, no "nan"/"inf". */
static int parse_number(const char *v, double *out)
{
	char *end;
	if (!*v || !(isdigit((unsigned char)*v) || *v == '+' || *v == '-' || *v == '.'))
		return EV_EINVAL;
	/* strtod also reads C hex floats ("0x10"); XML numbers have none. */
	if (strpbrk(v, "xXpP"))
		return EV_EINVAL;
	double d = strtod(v, &end);
	if (end == v || *end != '\0' || !isfinite(d))
		return EV_EINVAL;
	*out = d;
	return 0;
}

static void qname(const struct scan *s, int ns, const char *local, char out[QNAME_MAX])
{
	snprintf(out, QNAME_MAX, "%s:%s", s->prefix[ns], local);
}

/* Reads one numeric property into *dst when present and in [lo, hi]. */
static void read_num(struct scan *s, int ns, const char *local, double lo, double hi,
		     struct xmp_num *dst)
{
	char q[QNAME_MAX], val[XMP_MAX_VALUE], shown[48];
	qname(s, ns, local, q);
	if (find_value(s, q, val, sizeof val) != 1)
		return;
	char *v = trim(val);
	double d;
	if (parse_number(v, &d) != 0) {
		quote_value(v, shown);
		scan_fail(s, EV_EINVAL, "XMP %s \"%s\" is not a number", q, shown);
		return;
	}
	if (d < lo || d > hi) {
		scan_fail(s, EV_EINVAL, "XMP %s %g is outside [%g, %g]", q, d, lo, hi);
		return;
	}
	dst->has = 1;
	dst->v = d;
}

/* Reads digits and an optional fraction ("4.21601") fully into *out,
 * advancing *pp. strtod is avoided so that exponents and hex never count. */
static int read_decimal(const char **pp, double *out)
{
	const char *p = *pp;
	double v = 0, scale = 1;
	int nd = 0;
	while (isdigit((unsigned char)*p) && nd < 20) {
		v = v * 10 + (*p++ - '0');
		nd++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p) && nd < 40) {
			scale /= 10;
			v += (*p++ - '0') * scale;
			nd++;
		}
	}
	if (nd == 0 || isdigit((unsigned char)*p))
		return EV_EINVAL;
	*pp = p;
	*out = v;
	return 0;
}

int xmp_parse_coord(const char *s, int is_lat, double *deg)
{
	double d, m = 0, sec = 0, v;
	const char *p = s;
	size_t l = strlen(s);
	if (l == 0 || l > 64)
		return EV_EINVAL;
	char hemi = s[l - 1];
	int neg;
	if (hemi == 'N' || hemi == 'E')
		neg = 0;
	else if (hemi == 'S' || hemi == 'W')
		neg = 1;
	else {
		/* Some writers put plain decimal degrees in these properties. */
		if (parse_number(s, &v) != 0)
			return EV_EINVAL;
		goto range;
	}
	if (is_lat != (hemi == 'N' || hemi == 'S'))
		return EV_EINVAL;
	if (read_decimal(&p, &d) != 0 || *p != ',')
		return EV_EINVAL;
	p++;
	if (read_decimal(&p, &m) != 0)
		return EV_EINVAL;
	if (*p == ',') {
		p++;
		if (read_decimal(&p, &sec) != 0)
			return EV_EINVAL;
	}
	if (p != s + l - 1 || m >= 60 || sec >= 60)
		return EV_EINVAL;
	v = d + m / 60.0 + sec / 3600.0;
	if (neg)
		v = -v;
range:
	if (!isfinite(v) || fabs(v) > (is_lat ? 90.0 : 180.0))
		return EV_EINVAL;
	*deg = v;
	return 0;
}

int xmp_parse_date(const char *s, double *utc, int *offset_s)
{
	char t[40];
	size_t l = strlen(s);
	/* Shortest with an offset: "YYYY-MM-DDThh:mmZ" (17). */
	if (l < 17 || l >= 32)
		return EV_EINVAL;
	memcpy(t, s, l + 1);
	/* exiv2 and some cameras write the EXIF colons in the date part. */
	if (t[4] == ':' && t[7] == ':')
		t[4] = t[7] = '-';
	if (t[10] != 'T' && t[10] != ' ')
		return EV_EINVAL;
	/* Seconds are optional in XMP; time_parse_iso wants them. */
	if (l >= 17 && t[13] == ':' && (t[16] == 'Z' || t[16] == '+' || t[16] == '-')) {
		memmove(t + 19, t + 16, l - 16 + 1);
		memcpy(t + 16, ":00", 3);
		l += 3;
	}
	/* the zone is looked for after the seconds: they must be there */
	if (l < 19)
		return EV_EINVAL;
	int off = 0;
	const char *z = t + 19;
	while (*z && *z != 'Z' && *z != '+' && *z != '-')
		z++;
	if (*z == 'Z') {
		if (z[1] != '\0')
			return EV_EINVAL;
	} else if (*z) {
		char o[8];
		size_t ol = strlen(z);
		if (ol == 6)
			memcpy(o, z, 7);
		else if (ol == 5)
			snprintf(o, sizeof o, "%c%c%c:%c%c", z[0], z[1], z[2], z[3], z[4]);
		else
			return EV_EINVAL;
		if (time_parse_offset(o, &off) != 0)
			return EV_EINVAL;
	} else {
		return EV_EINVAL; /* no offset: local time of unknown zone */
	}
	double u;
	if (time_parse_iso(t, &u) != 0)
		return EV_EINVAL;
	*utc = u;
	*offset_s = off;
	return 0;
}

int xmp_parse_local(const char *s, int64_t *local)
{
	char t[40];
	size_t l = strlen(s);
	/* "YYYY-MM-DDThh:mm" at least; no zone anywhere after the date */
	if (l < 16 || l >= 30 || strpbrk(s + 10, "Zz+-"))
		return EV_EINVAL;
	snprintf(t, sizeof t, "%sZ", s);
	double u;
	int off;
	if (xmp_parse_date(t, &u, &off) != 0)
		return EV_EINVAL;
	*local = (int64_t)floor(u);
	return 0;
}

static void read_coord(struct scan *s, const char *local, int is_lat, struct xmp_num *dst)
{
	char q[QNAME_MAX], val[XMP_MAX_VALUE], shown[48];
	qname(s, NS_EXIF, local, q);
	if (find_value(s, q, val, sizeof val) != 1)
		return;
	char *v = trim(val);
	double d;
	if (xmp_parse_coord(v, is_lat, &d) != 0) {
		quote_value(v, shown);
		scan_fail(s, EV_EINVAL, "XMP %s \"%s\" is not a coordinate like 22,32.24N", q,
			  shown);
		return;
	}
	dst->has = 1;
	dst->v = d;
}

/* Reads an exif: rational property ("n/d", or a plain number) into *v:
 * 1 when read, 0 when absent, -1 when present but unreadable (named). */
static int read_rational(struct scan *s, const char *local, double *v)
{
	char q[QNAME_MAX], val[XMP_MAX_VALUE], shown[48];
	qname(s, NS_EXIF, local, q);
	if (find_value(s, q, val, sizeof val) != 1)
		return 0;
	char *t = trim(val), *slash = strchr(t, '/');
	double num, den = 1;
	if (slash)
		*slash = '\0';
	if (parse_number(t, &num) != 0 || (slash && parse_number(slash + 1, &den) != 0)) {
		if (slash)
			*slash = '/';
		quote_value(t, shown);
		scan_fail(s, EV_EINVAL, "XMP %s \"%s\" is not a rational number", q, shown);
		return -1;
	}
	if (den == 0) {
		scan_fail(s, EV_EINVAL, "XMP %s has a zero denominator", q);
		return -1;
	}
	*v = num / den;
	return 1;
}

/* exif:GPSAltitude is a rational "n/d" (metres); exif:GPSAltitudeRef 1 is
 * below sea level. */
static void read_xmp_alt(struct scan *s, struct xmp_num *dst)
{
	char q[QNAME_MAX], val[XMP_MAX_VALUE], shown[48];
	double alt;
	if (read_rational(s, "GPSAltitude", &alt) != 1)
		return;
	qname(s, NS_EXIF, "GPSAltitudeRef", q);
	if (find_value(s, q, val, sizeof val) == 1) {
		char *v = trim(val);
		if (strcmp(v, "1") == 0)
			alt = -alt;
		else if (strcmp(v, "0") != 0) {
			quote_value(v, shown);
			scan_fail(s, EV_EINVAL, "XMP %s \"%s\" is neither 0 nor 1", q, shown);
			return;
		}
	}
	if (!isfinite(alt) || fabs(alt) > 100000) {
		scan_fail(s, EV_EINVAL, "XMP exif:GPSAltitude %g m is out of range", alt);
		return;
	}
	dst->has = 1;
	dst->v = alt;
}

/* exif:GPSImgDirection ("1763/10", where the camera faced) and its
 * reference, ruled as EXIF's are: 360 is north, beyond it is an error, a
 * reference other than T or M is dropped (and said) and the direction kept. */
static void read_xmp_direction(struct scan *s, struct xmp_info *x)
{
	char q[QNAME_MAX], val[XMP_MAX_VALUE], shown[48];
	double d;
	if (read_rational(s, "GPSImgDirection", &d) != 1)
		return;
	if (!isfinite(d) || d < 0 || d > 360) {
		scan_fail(s, EV_EINVAL, "XMP exif:GPSImgDirection %.2f is not 0 to 360 degrees", d);
		return;
	}
	x->img_dir.has = 1;
	x->img_dir.v = d == 360 ? 0 : d;
	qname(s, NS_EXIF, "GPSImgDirectionRef", q);
	if (find_value(s, q, val, sizeof val) != 1)
		return;
	char *v = trim(val);
	if (strcmp(v, "T") == 0 || strcmp(v, "M") == 0) {
		x->img_dir_ref[0] = v[0];
	} else {
		quote_value(v, shown);
		snprintf(x->img_dir_note, sizeof x->img_dir_note,
			 "XMP %s \"%s\" is neither T nor M; the direction is kept without one", q,
			 shown);
	}
}

static void read_date(struct scan *s, struct xmp_info *x)
{
	static const struct {
		int ns;
		const char *local;
	} order[] = {
		{NS_EXIF, "DateTimeOriginal"},
		{NS_XMP, "CreateDate"},
		{NS_PS, "DateCreated"},
	};
	for (size_t k = 0; k < ARRAY_LEN(order) && !x->has_time; k++) {
		char q[QNAME_MAX], val[XMP_MAX_VALUE];
		qname(s, order[k].ns, order[k].local, q);
		if (find_value(s, q, val, sizeof val) != 1)
			continue;
		/* A date without an offset is legal XMP and simply not useful
		 * here, so it is not an error. */
		char *v = trim(val);
		if (xmp_parse_date(v, &x->time_utc, &x->offset_s) == 0) {
			x->has_time = 1;
			snprintf(x->time_from, sizeof x->time_from, "%s", q);
		} else if (!x->has_local && xmp_parse_local(v, &x->local_t) == 0) {
			x->has_local = 1;
			snprintf(x->local_from, sizeof x->local_from, "%s", q);
		}
	}
}

/* Serial numbers end up in JSON and SQL text: keep printable ASCII only. */
static void read_serial(struct scan *s, struct xmp_info *x)
{
	static const struct {
		int ns;
		const char *local;
	} order[] = {{NS_EXIFEX, "BodySerialNumber"}, {NS_AUX, "SerialNumber"}};
	for (size_t k = 0; k < ARRAY_LEN(order) && !x->serial[0]; k++) {
		char q[QNAME_MAX], val[XMP_MAX_VALUE];
		qname(s, order[k].ns, order[k].local, q);
		if (find_value(s, q, val, sizeof val) != 1)
			continue;
		char *v = trim(val);
		text_copy_plain(v, strlen(v), x->serial, sizeof x->serial, 0);
	}
}

int xmp_scan(const uint8_t *p, size_t n, struct xmp_info *x, char *err, size_t errlen)
{
	struct scan s = {.p = p, .n = n, .rc = 0, .err = err, .errlen = errlen};

	memset(x, 0, sizeof *x);
	if (err && errlen)
		err[0] = '\0';
	if (n > XMP_MAX_PACKET) {
		scan_fail(&s, EV_ELIMIT, "XMP packet of %zu bytes exceeds the %zu-byte limit", n,
			  XMP_MAX_PACKET);
		goto out;
	}
	learn_prefixes(&s);

	read_num(&s, NS_DJI, "GpsLatitude", -90, 90, &x->dji_lat);
	read_num(&s, NS_DJI, "GpsLongitude", -180, 180, &x->dji_lon);
	/* Several DJI firmwares spell it this way; read it only when the
	 * correct spelling is absent. */
	if (!x->dji_lon.has)
		read_num(&s, NS_DJI, "GpsLongtitude", -180, 180, &x->dji_lon);
	read_num(&s, NS_DJI, "AbsoluteAltitude", -12000, 100000, &x->abs_alt);
	read_num(&s, NS_DJI, "RelativeAltitude", -12000, 100000, &x->rel_alt);
	read_num(&s, NS_DJI, "GimbalYawDegree", -360, 360, &x->gimbal_yaw);
	read_num(&s, NS_DJI, "GimbalPitchDegree", -360, 360, &x->gimbal_pitch);
	read_num(&s, NS_DJI, "GimbalRollDegree", -360, 360, &x->gimbal_roll);
	read_num(&s, NS_DJI, "FlightYawDegree", -360, 360, &x->flight_yaw);
	read_num(&s, NS_DJI, "FlightPitchDegree", -360, 360, &x->flight_pitch);
	read_num(&s, NS_DJI, "FlightRollDegree", -360, 360, &x->flight_roll);

	read_coord(&s, "GPSLatitude", 1, &x->exif_lat);
	read_coord(&s, "GPSLongitude", 0, &x->exif_lon);
	read_xmp_alt(&s, &x->exif_alt);
	read_xmp_direction(&s, x);
	read_date(&s, x);
	read_serial(&s, x);
out:
	return s.rc;
}
