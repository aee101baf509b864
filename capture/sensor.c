/*
 * Water-quality readings: the parameter catalogue, the unit rules, the
 * parsers for CSV (long and wide form), SDI-12 logs, live lines and
 * instrument profiles, and sensor_record, which stores a parsed batch.
 * Everything above sensor_record is pure; every parser is bounded by the
 * SENSOR_MAX_* limits in sensor.h.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custody.h"
#include "fsutil.h"
#include "geotag.h"
#include "ingest.h"
#include "sensor.h"
#include "sites.h"
#include "timeutil.h"
#include "track.h"

#define SENSOR_YEAR_MIN 1990 /* the years a reading's time may have */
#define SENSOR_YEAR_MAX 2200

/* ---- The catalogue ---- */

/* Ranges are what water can physically hold, wide on purpose: they catch
 * swapped columns and missing-value codes, not pollution. */
static const struct sensor_param params[] = {
	{"temp", "°C", "water temperature", "水温", -5, 60},
	{"ph", "pH", "pH", "pH", 0, 14},
	{"do", "mg/L", "dissolved oxygen", "溶解氧", 0, 50},
	{"do_sat", "%", "dissolved oxygen saturation", "溶解氧饱和度", 0, 500},
	{"codmn", "mg/L", "permanganate index", "高锰酸盐指数", 0, 1e5},
	{"cod", "mg/L", "chemical oxygen demand", "化学需氧量", 0, 1e6},
	{"bod5", "mg/L", "five-day biochemical oxygen demand", "五日生化需氧量", 0, 1e6},
	{"nh3n", "mg/L", "ammonia nitrogen", "氨氮", 0, 1e4},
	{"tp", "mg/L", "total phosphorus", "总磷", 0, 1e4},
	{"tn", "mg/L", "total nitrogen", "总氮", 0, 1e4},
	{"cu", "mg/L", "copper", "铜", 0, 1e4},
	{"zn", "mg/L", "zinc", "锌", 0, 1e4},
	{"f", "mg/L", "fluoride", "氟化物", 0, 1e4},
	{"se", "mg/L", "selenium", "硒", 0, 1e4},
	{"as", "mg/L", "arsenic", "砷", 0, 1e4},
	{"hg", "mg/L", "mercury", "汞", 0, 1e4},
	{"cd", "mg/L", "cadmium", "镉", 0, 1e4},
	{"cr6", "mg/L", "hexavalent chromium", "六价铬", 0, 1e4},
	{"pb", "mg/L", "lead", "铅", 0, 1e4},
	{"cn", "mg/L", "cyanide", "氰化物", 0, 1e4},
	{"phenol", "mg/L", "volatile phenols", "挥发酚", 0, 1e4},
	{"oil", "mg/L", "petroleum", "石油类", 0, 1e5},
	{"las", "mg/L", "anionic surfactants", "阴离子表面活性剂", 0, 1e5},
	{"s2", "mg/L", "sulfide", "硫化物", 0, 1e4},
	{"fcoli", "个/L", "faecal coliforms", "粪大肠菌群", 0, 1e13},
	{"cond", "µS/cm", "conductivity", "电导率", 0, 3e5},
	{"turb", "NTU", "turbidity", "浊度", 0, 1e5},
	{"orp", "mV", "oxidation-reduction potential", "氧化还原电位", -2000, 2000},
	{"chla", "µg/L", "chlorophyll a", "叶绿素a", 0, 1e5},
	{"tds", "mg/L", "total dissolved solids", "溶解性总固体", 0, 1e6},
	{"sal", "PSU", "salinity", "盐度", 0, 80},
};

/* Other names each parameter goes by (ASCII compared without case). */
static const struct {
	const char *name, *id;
} aliases[] = {
	{"temperature", "temp"}, {"water temperature", "temp"}, {"water_temp", "temp"},
	{"wtemp", "temp"}, {"温度", "temp"},
	{"ph值", "ph"}, {"ph value", "ph"}, {"酸碱度", "ph"},
	{"dissolved oxygen", "do"}, {"odo", "do"}, {"o2", "do"}, {"do_conc", "do"},
	{"dosat", "do_sat"}, {"do%", "do_sat"}, {"odo%", "do_sat"}, {"odo_sat", "do_sat"},
	{"cod_mn", "codmn"}, {"imn", "codmn"}, {"permanganate index", "codmn"},
	{"codcr", "cod"}, {"cod_cr", "cod"}, {"chemical oxygen demand", "cod"},
	{"bod", "bod5"}, {"bod_5", "bod5"}, {"生化需氧量", "bod5"},
	{"nh3-n", "nh3n"}, {"nh3_n", "nh3n"}, {"nh4n", "nh3n"}, {"nh4-n", "nh3n"},
	{"nh4_n", "nh3n"}, {"nh3", "nh3n"}, {"ammonia", "nh3n"}, {"ammonia nitrogen", "nh3n"},
	{"total phosphorus", "tp"}, {"total nitrogen", "tn"},
	{"copper", "cu"}, {"zinc", "zn"}, {"fluoride", "f"}, {"selenium", "se"},
	{"arsenic", "as"}, {"mercury", "hg"}, {"cadmium", "cd"},
	{"cr(vi)", "cr6"}, {"cr6+", "cr6"}, {"hexavalent chromium", "cr6"}, {"铬(六价)", "cr6"},
	{"lead", "pb"}, {"cyanide", "cn"}, {"volatile phenol", "phenol"},
	{"volatile phenols", "phenol"}, {"petroleum", "oil"}, {"anionic surfactant", "las"},
	{"anionic surfactants", "las"}, {"s2-", "s2"}, {"sulfide", "s2"}, {"sulphide", "s2"},
	{"fecal coliform", "fcoli"}, {"fecal coliforms", "fcoli"}, {"faecal coliforms", "fcoli"},
	{"conductivity", "cond"}, {"ec", "cond"}, {"spc", "cond"}, {"turbidity", "turb"},
	{"chl-a", "chla"}, {"chl", "chla"}, {"chlorophyll", "chla"}, {"chlorophyll a", "chla"},
	{"叶绿素", "chla"}, {"salinity", "sal"},
};

/* ASCII-case-insensitive equality of s[0..len) and the NUL-terminated z. */
static int sensor_eq(const char *s, size_t len, const char *z)
{
	size_t zl = strlen(z);
	if (zl != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (tolower((unsigned char)s[i]) != tolower((unsigned char)z[i]))
			return 0;
	return 1;
}

static void sensor_trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

const struct sensor_param *sensor_param_by_id(const char *id)
{
	for (size_t i = 0; id && i < ARRAY_LEN(params); i++)
		if (strcmp(params[i].id, id) == 0)
			return &params[i];
	return NULL;
}

const struct sensor_param *sensor_param_at(size_t i)
{
	return i < ARRAY_LEN(params) ? &params[i] : NULL;
}

const struct sensor_param *sensor_param_lookup(const char *name, size_t len)
{
	sensor_trim(&name, &len);
	if (!len)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(params); i++)
		if (sensor_eq(name, len, params[i].id) || sensor_eq(name, len, params[i].name_zh) ||
		    sensor_eq(name, len, params[i].name_en))
			return &params[i];
	for (size_t i = 0; i < ARRAY_LEN(aliases); i++)
		if (sensor_eq(name, len, aliases[i].name))
			return sensor_param_by_id(aliases[i].id);
	return NULL;
}

/* ---- Units ---- */

struct unit_rule {
	const char *unit;
	double mul, div; /* canonical = value * mul / div (division keeps
			  * 500 ug/L exactly 0.5 mg/L, so limits compare exactly) */
};

static const struct unit_rule u_mass[] = {
	{"mg/L", 1, 1}, {"mg/dm3", 1, 1}, {"ppm", 1, 1}, {"毫克/升", 1, 1},
	{"ug/L", 1, 1000}, {"µg/L", 1, 1000}, {"μg/L", 1, 1000}, {"ppb", 1, 1000},
	{"微克/升", 1, 1000}, {"g/L", 1000, 1}, {NULL, 0, 0}};
static const struct unit_rule u_temp[] = {
	{"°C", 1, 1}, {"℃", 1, 1}, {"degC", 1, 1}, {"deg C", 1, 1}, {"C", 1, 1},
	{"摄氏度", 1, 1}, {NULL, 0, 0}};
static const struct unit_rule u_ph[] = {
	{"", 1, 1}, {"pH", 1, 1}, {"无量纲", 1, 1}, {"-", 1, 1}, {NULL, 0, 0}};
static const struct unit_rule u_pct[] = {
	{"%", 1, 1}, {"%sat", 1, 1}, {"% sat", 1, 1}, {"pct", 1, 1}, {"percent", 1, 1},
	{NULL, 0, 0}};
static const struct unit_rule u_count[] = {
	{"个/L", 1, 1}, {"MPN/L", 1, 1}, {"CFU/L", 1, 1}, {"/L", 1, 1},
	{"个/100mL", 10, 1}, {"MPN/100mL", 10, 1}, {"CFU/100mL", 10, 1}, {NULL, 0, 0}};
static const struct unit_rule u_cond[] = {
	{"µS/cm", 1, 1}, {"uS/cm", 1, 1}, {"μS/cm", 1, 1}, {"mS/cm", 1000, 1}, {NULL, 0, 0}};
static const struct unit_rule u_turb[] = {
	{"NTU", 1, 1}, {"FNU", 1, 1}, {"FTU", 1, 1}, {NULL, 0, 0}};
static const struct unit_rule u_mv[] = {{"mV", 1, 1}, {NULL, 0, 0}};
static const struct unit_rule u_chla[] = {
	{"µg/L", 1, 1}, {"ug/L", 1, 1}, {"μg/L", 1, 1}, {"mg/m3", 1, 1}, {"mg/L", 1000, 1},
	{NULL, 0, 0}};
static const struct unit_rule u_sal[] = {
	{"PSU", 1, 1}, {"ppt", 1, 1}, {"‰", 1, 1}, {"g/kg", 1, 1}, {NULL, 0, 0}};

static const struct unit_rule *sensor_units(const struct sensor_param *p)
{
	const char *u = p->unit;
	if (strcmp(p->id, "chla") == 0)
		return u_chla;
	if (strcmp(u, "mg/L") == 0)
		return u_mass;
	if (strcmp(u, "°C") == 0)
		return u_temp;
	if (strcmp(u, "pH") == 0)
		return u_ph;
	if (strcmp(u, "%") == 0)
		return u_pct;
	if (strcmp(u, "个/L") == 0)
		return u_count;
	if (strcmp(u, "µS/cm") == 0)
		return u_cond;
	if (strcmp(u, "NTU") == 0)
		return u_turb;
	if (strcmp(u, "mV") == 0)
		return u_mv;
	if (strcmp(u, "PSU") == 0)
		return u_sal;
	return NULL;
}

int sensor_unit_convert(const struct sensor_param *p, const char *unit, size_t len, double v,
			double *out)
{
	const struct unit_rule *r = sensor_units(p);
	sensor_trim(&unit, &len);
	for (; r && r->unit; r++)
		if (sensor_eq(unit, len, r->unit)) {
			*out = v * r->mul / r->div;
			return 0;
		}
	return EV_EINVAL;
}

/* ---- Batches ---- */

void sensor_batch_init(struct sensor_batch *b)
{
	memset(b, 0, sizeof *b);
}

void sensor_batch_free(struct sensor_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].raw);
	free(b->v);
	sensor_batch_init(b);
}

void sensor_batch_count(const struct sensor_batch *b, size_t *good, size_t *bad)
{
	size_t g = 0, e = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].error[0])
			e++;
		else
			g++;
	if (good)
		*good = g;
	if (bad)
		*bad = e;
}

/* A new reading for the line raw[0..len), or NULL at the limit. */
static struct sensor_reading *batch_push(struct sensor_batch *b, const char *raw, size_t len,
					 size_t line_no)
{
	if (b->n >= SENSOR_MAX_READINGS)
		return NULL;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xrealloc(b->v, b->cap * sizeof *b->v);
	}
	struct sensor_reading *r = &b->v[b->n++];
	memset(r, 0, sizeof *r);
	r->raw = xstrndup(raw, len);
	sha256_hex(r->raw, strlen(r->raw), r->raw_sha256);
	r->line_no = line_no;
	return r;
}

/* Appends a sentence to a reading's error, "; " between problems. */
static void reading_err(struct sensor_reading *r, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void reading_err(struct sensor_reading *r, const char *fmt, ...)
{
	size_t used = strlen(r->error);
	if (used && used + 3 < sizeof r->error) {
		memcpy(r->error + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof r->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error + used, sizeof r->error - used, fmt, ap);
	va_end(ap);
	/* the message quotes the line, and the cut may split a character */
	utf8_sanitize(r->error);
	r->has_value = 0;
}

/* ---- Text ---- */

/* The byte that ends a file's lines: '\n' (a '\r' before it is dropped),
 * or '\r' for a file with no '\n' at all, as Excel's "CSV (Macintosh)"
 * and old instrument software write; read by '\n', such a file is one
 * line and its header a jumble. */
static char sensor_eol(const char *text, size_t n)
{
	return !memchr(text, '\n', n) && memchr(text, '\r', n) ? '\r' : '\n';
}

/* The bytes of the UTF-8 character at s[0..n): 1 for ASCII (NUL too:
 * such bytes are named per line later), 2 to 4 for a valid sequence, 0
 * when the byte there starts none. */
static size_t utf8_char_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	if (c < 0x80)
		return 1;
	size_t want = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
						: c >= 0xf0 && c <= 0xf4 ? 4
									 : 0;
	return want && want <= n && utf8_valid(s, want) ? want : 0;
}

/*
 * Converts the GB18030 line in[0..n) to UTF-8 on out. A byte iconv cannot
 * take is copied as it is, so that the parser finds the line is not text
 * and shows the byte as \xNN: a lead byte iconv refuses stands before a
 * byte that no UTF-8 sequence continues with (80-BF would have made it a
 * character), so the copy does not pass for text. Returns the bytes
 * copied so, or -1 when out is full.
 */
static long gb18030_line(iconv_t cd, const char *in, size_t n, struct buf *out)
{
	char chunk[8192];
	char *ip = (char *)in;
	size_t il = n;
	long bad = 0;
	iconv(cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		char *op = chunk;
		size_t ol = sizeof chunk;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		int stuck = r == (size_t)-1 && errno != E2BIG;
		if (buf_append(out, chunk, (size_t)(op - chunk)))
			return -1;
		if (stuck) {
			if (buf_append(out, ip, 1))
				return -1;
			ip++;
			il--;
			bad++;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	return bad;
}

int sensor_text_decode(const char *in, size_t n, const char *name, struct buf *out,
		       const char **encoding, char *err, size_t errlen)
{
	int rc = 0, bom = 0;
	iconv_t cd = (iconv_t)-1;
	struct buf gb;
	if (n >= 2 && (((unsigned char)in[0] == 0xff && (unsigned char)in[1] == 0xfe) ||
		       ((unsigned char)in[0] == 0xfe && (unsigned char)in[1] == 0xff))) {
		*encoding = "utf-16";
		return err_set(err, errlen, EV_EINVAL,
			       "%s: the text is UTF-16; save it as \"CSV UTF-8\" or plain CSV", name);
	}
	if (n >= 3 && memcmp(in, "\xef\xbb\xbf", 3) == 0) {
		in += 3;
		n -= 3;
		bom = 1;
	}
	buf_init(&gb, out->max);
	/* How UTF-8 the text is: its valid multi-byte characters, the bytes
	 * that start none, and the lines holding such bytes. */
	size_t multi = 0, bad = 0, bad_lines = 0;
	int line_bad = 0;
	char eol = sensor_eol(in, n); /* never inside a GB18030 character */
	for (size_t i = 0; i < n;) {
		size_t k = utf8_char_len(in + i, n - i);
		if (!k) {
			bad++;
			line_bad = 1;
			k = 1;
		} else if (k > 1) {
			multi++;
		}
		if (in[i] == eol || i + k == n) {
			bad_lines += (size_t)line_bad;
			line_bad = 0;
		}
		i += k;
	}
	/* UTF-8 when it is, when a byte-order mark says so, or when its
	 * characters outnumber the bytes that are not (a UTF-8 file with line
	 * noise in it, or cut inside its last character): each line holding
	 * such a byte is then kept as an error, the others read. GB18030 text
	 * is mostly bytes that are not UTF-8. */
	*encoding = "utf-8";
	if (!bad || bom || multi > bad)
		goto utf8;
	cd = iconv_open("UTF-8", "GB18030");
	if (cd == (iconv_t)-1)
		goto utf8;
	size_t gb_bad_lines = 0;
	for (size_t i = 0, e; i < n; i = e) {
		const char *nl = memchr(in + i, eol, n - i);
		e = nl ? (size_t)(nl - in) + 1 : n;
		long r = gb18030_line(cd, in + i, e - i, &gb);
		if (r < 0) {
			rc = err_set(err, errlen, EV_ELIMIT, "%s: the text is too large", name);
			goto out;
		}
		gb_bad_lines += r > 0;
	}
	/* GB18030 when it reads more of the lines; what it cannot read is
	 * kept per line as for UTF-8 */
	if (gb_bad_lines < bad_lines) {
		*encoding = "gb18030";
		if (!out->len) {
			struct buf t = *out;
			*out = gb;
			gb = t;
		} else if (buf_append(out, gb.data, gb.len)) {
			rc = err_set(err, errlen, EV_ELIMIT, "%s: the text is too large", name);
		}
		goto out;
	}
utf8:
	if (buf_append(out, in, n))
		rc = err_set(err, errlen, EV_ELIMIT, "%s: the text is too large", name);
out:
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	buf_free(&gb);
	return rc;
}

/* Reads exactly `digits` decimal digits at s[*i]. */
static int take_num(const char *s, size_t len, size_t *i, int digits, int *v)
{
	int x = 0;
	for (int k = 0; k < digits; k++, (*i)++) {
		if (*i >= len || !isdigit((unsigned char)s[*i]))
			return -1;
		x = x * 10 + (s[*i] - '0');
	}
	*v = x;
	return 0;
}

int sensor_time_parse(const char *s, size_t len, const struct sensor_opts *o, double *t)
{
	int y, mo, d, h, mi, sec = 0;
	double frac = 0;
	size_t i = 0;
	sensor_trim(&s, &len);
	if (take_num(s, len, &i, 4, &y) || i >= len || (s[i] != '-' && s[i] != '/'))
		return EV_EINVAL;
	char dsep = s[i++];
	if (take_num(s, len, &i, 2, &mo) || i >= len || s[i++] != dsep ||
	    take_num(s, len, &i, 2, &d) || i >= len || (s[i] != 'T' && s[i] != ' '))
		return EV_EINVAL;
	while (i < len && (s[i] == 'T' || s[i] == ' '))
		i++;
	if (take_num(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || take_num(s, len, &i, 2, &mi))
		return EV_EINVAL;
	if (i < len && s[i] == ':') {
		i++;
		if (take_num(s, len, &i, 2, &sec))
			return EV_EINVAL;
		if (i < len && (s[i] == '.' || s[i] == ',')) {
			double scale = 0.1;
			i++;
			if (i >= len || !isdigit((unsigned char)s[i]))
				return EV_EINVAL;
			for (int k = 0; i < len && isdigit((unsigned char)s[i]); i++, k++)
				if (k < 9) {
					frac += (s[i] - '0') * scale;
					scale /= 10;
				}
		}
	}
	if (y < SENSOR_YEAR_MIN || y > SENSOR_YEAR_MAX || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return EV_EINVAL;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return EV_EINVAL;
	int off;
	while (i < len && s[i] == ' ')
		i++;
	if (i == len) {
		if (!o || !o->has_offset)
			return EV_ENOENT;
		off = o->offset_s;
	} else if (time_parse_zone(s + i, len - i, &off)) {
		return EV_EINVAL;
	}
	*t = (double)time_from_civil(y, mo, d, h, mi, sec) - off + frac;
	return 0;
}

/* A number as a whole field: decimal, optional sign and exponent, finite. */
static int parse_number(const char *s, size_t len, double *v)
{
	char tmp[64];
	sensor_trim(&s, &len);
	if (!len || len >= sizeof tmp)
		return EV_EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789+-.eE", s[i]))
			return EV_EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	char *end;
	errno = 0;
	double x = strtod(tmp, &end);
	if (end != tmp + len || errno == ERANGE || !isfinite(x))
		return EV_EINVAL;
	*v = x;
	return 0;
}

/* s[0..len), trimmed, as messages show text from a file (control
 * characters and bytes that are not UTF-8 as \xNN, ingest_display_text),
 * cut to fit out. */
static const char *show(const char *s, size_t len, char out[48])
{
	sensor_trim(&s, &len);
	return ingest_display_text(s, len, out, 48);
}

/* A profile's name (as its file gives it) as messages show it. */
static const char *show_name(const struct sensor_profile *p, char out[4 * sizeof p->name])
{
	return ingest_display_text(p->name, strlen(p->name), out, 4 * sizeof p->name);
}

/*
 * Sets a reading's value from text in `unit`: checks the number, the unit
 * and the range, recording the first problem in r->error.
 */
static void set_value(struct sensor_reading *r, const struct sensor_opts *o, const char *vtxt,
		      size_t vlen, const char *unit, size_t ulen, const struct sensor_profile *p)
{
	char a[48], u[48];
	double v, c;
	const struct sensor_param *pm = r->param;
	sensor_trim(&vtxt, &vlen);
	if (!vlen) {
		reading_err(r, "%s:%zu: no value for %s", o->name, r->line_no, pm->name_en);
		return;
	}
	if (parse_number(vtxt, vlen, &v)) {
		if (vtxt[0] == '<' || vtxt[0] == '>' || sensor_eq(vtxt, vlen, "nd") ||
		    sensor_eq(vtxt, vlen, "未检出"))
			reading_err(r, "%s:%zu: value '%s' for %s is a detection-limit statement, "
				       "not a number; kept without a value",
				    o->name, r->line_no, show(vtxt, vlen, a), pm->name_en);
		else
			reading_err(r, "%s:%zu: value '%s' for %s is not a number", o->name,
				    r->line_no, show(vtxt, vlen, a), pm->name_en);
		return;
	}
	if (p && p->has_missing && v == p->missing) {
		reading_err(r, "%s:%zu: the instrument reported its no-value code %g for %s",
			    o->name, r->line_no, v, pm->name_en);
		return;
	}
	if (sensor_unit_convert(pm, unit, ulen, v, &c)) {
		if (!ulen)
			reading_err(r, "%s:%zu: no unit for %s (it is measured in %s)", o->name,
				    r->line_no, pm->name_en, pm->unit);
		else
			reading_err(r, "%s:%zu: unit '%s' is not one %s is measured in (%s)",
				    o->name, r->line_no, show(unit, ulen, u), pm->name_en, pm->unit);
		return;
	}
	if (!(c >= pm->min && c <= pm->max)) {
		reading_err(r, "%s:%zu: %s %g %s is outside what water can hold (%g to %g)",
			    o->name, r->line_no, pm->name_en, c, pm->unit, pm->min, pm->max);
		return;
	}
	r->value = c;
	r->has_value = 1;
}

/* Sets a reading's time from text; no offset anywhere flags the batch. */
static void set_time(struct sensor_reading *r, struct sensor_batch *b,
		     const struct sensor_opts *o, const char *s, size_t len)
{
	char a[48];
	sensor_trim(&s, &len);
	if (!len && o->has_now) {
		r->t = o->now;
		r->has_time = 1;
		return;
	}
	if (!len) {
		reading_err(r, "%s:%zu: no time", o->name, r->line_no);
		return;
	}
	int rc = sensor_time_parse(s, len, o, &r->t);
	if (rc == 0) {
		r->has_time = 1;
	} else if (rc == EV_ENOENT) {
		b->need_offset = 1;
		reading_err(r, "%s:%zu: time '%s' has no UTC offset; give --time-offset +HH:MM "
			       "(or set the case's)",
			    o->name, r->line_no, show(s, len, a));
	} else {
		const char *q = s;
		size_t ql = len;
		sensor_trim(&q, &ql);
		int y = ql > 4 && (q[4] == '-' || q[4] == '/') ? digits_value(q, 4) : -1;
		if (y >= 0 && (y < SENSOR_YEAR_MIN || y > SENSOR_YEAR_MAX))
			/* a probe whose clock battery ran out starts again at 1970 */
			reading_err(r, "%s:%zu: time '%s' is in the year %d, outside %d to %d "
				       "(was the instrument's clock reset?)", o->name, r->line_no,
				    show(s, len, a), y, SENSOR_YEAR_MIN, SENSOR_YEAR_MAX);
		else
			reading_err(r, "%s:%zu: time '%s' is not a date and time", o->name,
				    r->line_no, show(s, len, a));
	}
}

/* The offset of the first byte of s[0..len) that is not text we can keep
 * as it is (a control byte but tab, or a byte that starts no UTF-8
 * character), and in *col the character it is, from 1; len when all is
 * text. With breaks, CR and LF are text (a CSV record whose quoted field
 * holds a line break). */
static size_t first_unclean(const char *s, size_t len, int breaks, size_t *col)
{
	size_t i = 0, c = 1;
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];
		int ctl = (ch < 0x20 && ch != '\t' && !(breaks && (ch == '\r' || ch == '\n'))) ||
			  ch == 0x7f;
		size_t k = ctl ? 0 : utf8_char_len(s + i, len - i);
		if (!k)
			break;
		i += k;
		c++;
	}
	if (col)
		*col = c;
	return i;
}

/* Whether a line is text we can keep as it is. */
static int line_is_text(const char *s, size_t len)
{
	return first_unclean(s, len, 0, NULL) == len;
}

/* A reading for a line that is not clean text: raw shows the bytes as
 * \xNN, cut at SENSOR_MAX_LINE. With quote, the error quotes the line's
 * start as messages show text (ingest_display_text), so that the bytes
 * that are not text can be found, and names the first of them (with
 * breaks, a CSV record's line breaks are not). */
static struct sensor_reading *push_unclean(struct sensor_batch *b, const char *s, size_t len,
					   size_t line_no, const char *name, const char *why,
					   int quote, int breaks)
{
	struct buf e;
	buf_init(&e, SENSOR_MAX_LINE * 4 + 8);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t seq = 0;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			seq = 1;
		else if (c >= 0xc2 && c <= 0xf4) {
			size_t want = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			if (i + want <= len && utf8_valid(s + i, want))
				seq = want;
		}
		int rc = seq ? buf_append(&e, s + i, seq) : buf_printf(&e, "\\x%02x", c);
		if (rc)
			break;
		if (seq)
			i += seq - 1;
	}
	struct sensor_reading *r = batch_push(b, e.data, e.len, line_no);
	buf_free(&e);
	if (r && quote) {
		/* the quote may end before the byte: it is named apart */
		char q[96], x[8];
		size_t col, at = first_unclean(s, len, breaks, &col);
		if (at < len)
			reading_err(r, "%s:%zu: %s: %s (the first, %s, is character %zu)", name,
				    line_no, why, ingest_display_text(s, len, q, sizeof q),
				    ingest_display_text(s + at, 1, x, sizeof x), col);
		else
			reading_err(r, "%s:%zu: %s: %s", name, line_no, why,
				    ingest_display_text(s, len, q, sizeof q));
	} else if (r) {
		reading_err(r, "%s:%zu: %s", name, line_no, why);
	}
	return r;
}

/* ---- CSV ---- */

/* Splits a line into at most SENSOR_MAX_FIELDS fields in scratch (len+1
 * bytes): quotes removed, "" inside quotes is one ", surrounding spaces
 * trimmed. Returns the field count, or -1 with why. */
static int csv_split(const char *s, size_t len, char sep, char *scratch, char **f, size_t *flen,
		     const char **why)
{
	size_t n = 0, i = 0, k = 0;
	for (;;) {
		if (n >= SENSOR_MAX_FIELDS) {
			*why = "has too many fields";
			return -1;
		}
		while (i < len && s[i] == ' ')
			i++;
		f[n] = scratch + k;
		if (i < len && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					*why = "has a quoted field that does not end";
					return -1;
				}
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						scratch[k++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				scratch[k++] = s[i++];
			}
			while (i < len && s[i] == ' ')
				i++;
			if (i < len && s[i] != sep) {
				*why = "has text after a closing quote";
				return -1;
			}
			flen[n] = (size_t)(scratch + k - f[n]);
		} else {
			while (i < len && s[i] != sep)
				scratch[k++] = s[i++];
			size_t l = (size_t)(scratch + k - f[n]);
			while (l && f[n][l - 1] == ' ')
				l--;
			flen[n] = l;
		}
		n++;
		if (i >= len)
			break;
		i++; /* the separator */
		if (i == len) {
			/* a trailing separator is one more, empty, field */
			if (n >= SENSOR_MAX_FIELDS) {
				*why = "has too many fields";
				return -1;
			}
			f[n] = scratch + k;
			flen[n++] = 0;
			break;
		}
	}
	return (int)n;
}

enum col_role { COL_IGNORED, COL_TIME, COL_PARAM, COL_VALUE, COL_UNIT, COL_SAMPLE, COL_LAT,
		COL_LON, COL_MEASURE };

static const struct {
	const char *name;
	enum col_role role;
} col_names[] = {
	{"time", COL_TIME}, {"datetime", COL_TIME}, {"date_time", COL_TIME},
	{"date time", COL_TIME}, {"timestamp", COL_TIME}, {"时间", COL_TIME},
	{"采样时间", COL_TIME}, {"日期时间", COL_TIME}, {"监测时间", COL_TIME},
	{"检测时间", COL_TIME},
	{"parameter", COL_PARAM}, {"param", COL_PARAM}, {"item", COL_PARAM},
	{"项目", COL_PARAM}, {"参数", COL_PARAM}, {"指标", COL_PARAM},
	{"监测项目", COL_PARAM}, {"检测项目", COL_PARAM},
	{"value", COL_VALUE}, {"result", COL_VALUE}, {"reading", COL_VALUE},
	{"数值", COL_VALUE}, {"值", COL_VALUE}, {"结果", COL_VALUE}, {"测定值", COL_VALUE},
	{"检测值", COL_VALUE}, {"监测值", COL_VALUE},
	{"unit", COL_UNIT}, {"units", COL_UNIT}, {"单位", COL_UNIT},
	{"sample_id", COL_SAMPLE}, {"sample", COL_SAMPLE}, {"sample id", COL_SAMPLE},
	{"sampleid", COL_SAMPLE}, {"样品编号", COL_SAMPLE}, {"样品号", COL_SAMPLE},
	{"lat", COL_LAT}, {"latitude", COL_LAT}, {"纬度", COL_LAT},
	{"lon", COL_LON}, {"lng", COL_LON}, {"long", COL_LON}, {"longitude", COL_LON},
	{"经度", COL_LON},
};

struct column {
	enum col_role role;
	const struct sensor_param *param; /* COL_MEASURE: NULL when unknown */
	char unit[32];                    /* COL_MEASURE: the unit named */
	char name[48];                    /* as the header has it, for messages */
	int unit_ok;                      /* the unit converts */
};

/* Splits a wide-form header cell into parameter and unit:
 * "溶解氧(mg/L)", "DO (mg/L)", "DO [mg/L]", "DO mg/L", "DO_mg_L", "pH". */
static void wide_column(const char *s, size_t len, struct column *c)
{
	c->role = COL_MEASURE;
	sensor_trim(&s, &len);
	/* bracketed unit at the end */
	static const char *const opens[] = {"(", "（", "["};
	static const char *const closes[] = {")", "）", "]"};
	for (size_t k = 0; k < ARRAY_LEN(opens); k++) {
		size_t cl = strlen(closes[k]);
		if (len <= cl || memcmp(s + len - cl, closes[k], cl) != 0)
			continue;
		const char *o = NULL;
		for (size_t i = 0; i + strlen(opens[k]) <= len - cl; i++)
			if (memcmp(s + i, opens[k], strlen(opens[k])) == 0)
				o = s + i;
		if (!o)
			continue;
		const struct sensor_param *p = sensor_param_lookup(s, (size_t)(o - s));
		const char *u = o + strlen(opens[k]);
		size_t ul = (size_t)(s + len - cl - u);
		sensor_trim(&u, &ul);
		if (p && ul < sizeof c->unit) {
			c->param = p;
			memcpy(c->unit, u, ul);
			c->unit[ul] = '\0';
			return;
		}
	}
	/* the whole cell is a name */
	const struct sensor_param *whole = sensor_param_lookup(s, len);
	if (whole) {
		c->param = whole;
		c->unit[0] = '\0';
		return;
	}
	/* NAME UNIT or NAME_UNIT ('_' standing for '/'): the first split whose
	 * left side is a parameter and whose right side is one of its units */
	const struct sensor_param *first = NULL;
	char firstu[32] = "";
	for (size_t i = 1; i < len; i++) {
		if (s[i] != '_' && s[i] != ' ')
			continue;
		const struct sensor_param *p = sensor_param_lookup(s, i);
		if (!p || len - i - 1 >= sizeof c->unit)
			continue;
		char u[32];
		size_t ul = len - i - 1;
		memcpy(u, s + i + 1, ul);
		u[ul] = '\0';
		if (s[i] == '_')
			for (size_t j = 0; j < ul; j++)
				if (u[j] == '_')
					u[j] = '/';
		double dummy;
		const struct sensor_param *alt = sensor_param_by_id("do_sat");
		if (strcmp(p->id, "do") == 0 && sensor_unit_convert(p, u, ul, 1, &dummy) &&
		    sensor_unit_convert(alt, u, ul, 1, &dummy) == 0)
			p = alt; /* "DO_%": saturation, not concentration */
		if (sensor_unit_convert(p, u, ul, 1, &dummy) == 0) {
			c->param = p;
			snprintf(c->unit, sizeof c->unit, "%s", u);
			return;
		}
		if (!first) {
			first = p;
			snprintf(firstu, sizeof firstu, "%s", u);
		}
	}
	c->param = first;
	snprintf(c->unit, sizeof c->unit, "%s", firstu);
}

/* Fills cols[] from the header fields; returns 1 long form, 2 wide form,
 * or -1 with err. */
static int csv_header(char **f, size_t *fl, int nf, struct column *cols,
		      const struct sensor_opts *o, size_t line_no, struct sensor_batch *b, char *err,
		      size_t errlen)
{
	int have[COL_MEASURE + 1] = {0};
	char a[48];
	for (int i = 0; i < nf; i++) {
		struct column *c = &cols[i];
		memset(c, 0, sizeof *c);
		show(f[i], fl[i], a);
		snprintf(c->name, sizeof c->name, "%s", a);
		for (size_t k = 0; k < ARRAY_LEN(col_names); k++)
			if (sensor_eq(f[i], fl[i], col_names[k].name)) {
				c->role = col_names[k].role;
				break;
			}
		have[c->role]++;
	}
	for (int r = COL_TIME; r <= COL_LON; r++)
		if (have[r] > 1)
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%zu: the header names the same column twice", o->name,
				       line_no);
	if (!have[COL_TIME])
		return err_set(err, errlen, EV_EINVAL,
			       "%s:%zu: the header has no time column (time, 时间, ...)", o->name,
			       line_no);
	if (have[COL_PARAM] || have[COL_VALUE]) {
		if (!have[COL_PARAM] || !have[COL_VALUE] || !have[COL_UNIT])
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%zu: a long-form header needs time, parameter, value and "
				       "unit columns",
				       o->name, line_no);
		size_t used = 0;
		for (int i = 0; i < nf; i++)
			if (cols[i].role == COL_IGNORED && used + 60 < sizeof b->note)
				used += (size_t)snprintf(b->note + used, sizeof b->note - used,
							 "%scolumn '%s' ignored", used ? "; " : "",
							 cols[i].name);
		return 1;
	}
	int measures = 0;
	for (int i = 0; i < nf; i++) {
		struct column *c = &cols[i];
		if (c->role != COL_IGNORED)
			continue;
		wide_column(f[i], fl[i], c);
		measures++;
		double dummy;
		c->unit_ok = c->param && sensor_unit_convert(c->param, c->unit, strlen(c->unit), 1,
							     &dummy) == 0;
		for (int j = 0; c->param && j < i; j++)
			if (cols[j].role == COL_MEASURE && cols[j].param == c->param)
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: columns '%s' and '%s' both give %s; keep one",
					       o->name, line_no, cols[j].name, c->name,
					       c->param->name_en);
	}
	if (!measures)
		return err_set(err, errlen, EV_EINVAL, "%s:%zu: the header names no parameter",
			       o->name, line_no);
	return 2;
}

/* Reads optional sample, lat and lon fields of a row into r. */
static void row_extras(struct sensor_reading *r, const struct sensor_opts *o, char **f,
		       size_t *fl, int nf, const struct column *cols)
{
	int have_lat = 0, have_lon = 0;
	double lat = 0, lon = 0;
	char a[48];
	for (int i = 0; i < nf; i++) {
		if (cols[i].role == COL_SAMPLE && fl[i]) {
			if (fl[i] >= sizeof r->sample_id)
				reading_err(r, "%s:%zu: sample id is longer than %zu bytes", o->name,
					    r->line_no, sizeof r->sample_id - 1);
			else {
				memcpy(r->sample_id, f[i], fl[i]);
				r->sample_id[fl[i]] = '\0';
			}
		} else if ((cols[i].role == COL_LAT || cols[i].role == COL_LON) && fl[i]) {
			double v;
			int lat_col = cols[i].role == COL_LAT;
			if (parse_number(f[i], fl[i], &v) || fabs(v) > (lat_col ? 90 : 180)) {
				reading_err(r, "%s:%zu: %s '%s' is not a WGS-84 coordinate", o->name,
					    r->line_no, lat_col ? "latitude" : "longitude",
					    show(f[i], fl[i], a));
				continue;
			}
			if (lat_col) {
				lat = v;
				have_lat = 1;
			} else {
				lon = v;
				have_lon = 1;
			}
		}
	}
	if (have_lat && have_lon) {
		r->has_pos = 1;
		r->lat = lat;
		r->lon = lon;
	} else if (have_lat != have_lon) {
		reading_err(r, "%s:%zu: a position needs both latitude and longitude", o->name,
			    r->line_no);
	}
}

static int csv_long_row(struct sensor_batch *b, const struct sensor_opts *o, const char *line,
			size_t len, size_t line_no, char **f, size_t *fl, int nf,
			const struct column *cols)
{
	const char *ptxt = "", *vtxt = "", *utxt = "", *ttxt = "";
	size_t pl = 0, vl = 0, ul = 0, tl = 0;
	char a[48];
	for (int i = 0; i < nf; i++)
		switch (cols[i].role) {
		case COL_PARAM: ptxt = f[i]; pl = fl[i]; break;
		case COL_VALUE: vtxt = f[i]; vl = fl[i]; break;
		case COL_UNIT: utxt = f[i]; ul = fl[i]; break;
		case COL_TIME: ttxt = f[i]; tl = fl[i]; break;
		default: break;
		}
	struct sensor_reading *r = batch_push(b, line, len, line_no);
	if (!r)
		return EV_ELIMIT;
	r->param = sensor_param_lookup(ptxt, pl);
	if (!r->param) {
		if (pl)
			reading_err(r, "%s:%zu: unknown parameter '%s'", o->name, line_no,
				    show(ptxt, pl, a));
		else
			reading_err(r, "%s:%zu: no parameter", o->name, line_no);
	}
	set_time(r, b, o, ttxt, tl);
	row_extras(r, o, f, fl, nf, cols);
	if (r->param && !r->error[0])
		set_value(r, o, vtxt, vl, utxt, ul, NULL);
	return 0;
}

static int csv_wide_row(struct sensor_batch *b, const struct sensor_opts *o, const char *line,
			size_t len, size_t line_no, char **f, size_t *fl, int nf,
			const struct column *cols)
{
	/* the line as a whole: time, sample, position */
	struct sensor_reading whole = {0};
	whole.line_no = line_no;
	const char *ttxt = "";
	size_t tl = 0;
	for (int i = 0; i < nf; i++)
		if (cols[i].role == COL_TIME) {
			ttxt = f[i];
			tl = fl[i];
		}
	set_time(&whole, b, o, ttxt, tl);
	row_extras(&whole, o, f, fl, nf, cols);
	char unknown[200] = "";
	size_t ulen = 0, made = 0;
	if (!whole.error[0])
		for (int i = 0; i < nf; i++) {
			const struct column *c = &cols[i];
			if (c->role != COL_MEASURE || !fl[i])
				continue;
			if (!c->param) {
				if (ulen + 60 < sizeof unknown)
					ulen += (size_t)snprintf(unknown + ulen, sizeof unknown - ulen,
								 "%s'%s'", ulen ? ", " : "", c->name);
				continue;
			}
			struct sensor_reading *r = batch_push(b, line, len, line_no);
			if (!r)
				return EV_ELIMIT;
			made++;
			r->param = c->param;
			r->has_time = whole.has_time;
			r->t = whole.t;
			r->has_pos = whole.has_pos;
			r->lat = whole.lat;
			r->lon = whole.lon;
			memcpy(r->sample_id, whole.sample_id, sizeof r->sample_id);
			if (!c->unit[0] && !c->unit_ok)
				reading_err(r, "%s:%zu: column '%s' names no unit for %s (it is measured "
					       "in %s)",
					    o->name, line_no, c->name, c->param->name_en, c->param->unit);
			else
				set_value(r, o, f[i], fl[i], c->unit, strlen(c->unit), NULL);
		}
	if (whole.error[0] || ulen) {
		struct sensor_reading *r = batch_push(b, line, len, line_no);
		if (!r)
			return EV_ELIMIT;
		r->has_time = whole.has_time;
		r->t = whole.t;
		r->has_pos = whole.has_pos;
		r->lat = whole.lat;
		r->lon = whole.lon;
		memcpy(r->sample_id, whole.sample_id, sizeof r->sample_id);
		if (whole.error[0])
			snprintf(r->error, sizeof r->error, "%s", whole.error);
		else
			reading_err(r, "%s:%zu: unknown parameter column%s %s", o->name, line_no,
				    strchr(unknown, ',') ? "s" : "", unknown);
		made++;
	}
	if (!made)
		b->ignored++; /* a row with only a time: nothing measured */
	return 0;
}

/*
 * Where the CSV record that starts at text[i] ends: at the first eol
 * outside a quoted field, as csv_split reads quotes (one opens a field,
 * "" inside is one "). Sets *end to that eol (or n) and returns the line
 * breaks inside quotes. Returns -1 when a quote is still open at the end
 * of the text (*at_eof set) or past SENSOR_MAX_RECORD_LINES lines or
 * SENSOR_MAX_LINE bytes: the record is then its first line alone, so
 * that a stray quote cannot swallow the lines after it.
 */
static long csv_record(const char *text, size_t n, size_t i, char eol, char sep, size_t *end,
		       int *at_eof)
{
	long breaks = 0;
	int start = 1, quoted = 0;
	*at_eof = 0;
	for (size_t k = i; k < n; k++) {
		char c = text[k];
		if (k - i >= SENSOR_MAX_LINE)
			return -1;
		if (quoted) {
			if (c == '"' && k + 1 < n && text[k + 1] == '"')
				k++;
			else if (c == '"')
				quoted = 0;
			else if (c == eol && ++breaks >= SENSOR_MAX_RECORD_LINES)
				return -1;
			continue;
		}
		if (c == eol) {
			*end = k;
			return breaks;
		}
		if (c == sep)
			start = 1;
		else if (c == '"' && start)
			quoted = 1;
		else if (c != ' ')
			start = 0;
	}
	if (quoted) {
		*at_eof = 1;
		return -1;
	}
	*end = n;
	return breaks;
}

int sensor_parse_csv(const char *text, size_t n, const struct sensor_opts *o,
		     struct sensor_batch *b, char *err, size_t errlen)
{
	struct column *cols = xcalloc(SENSOR_MAX_FIELDS, sizeof *cols);
	char **f = xcalloc(SENSOR_MAX_FIELDS + 1, sizeof *f);
	size_t *fl = xcalloc(SENSOR_MAX_FIELDS + 1, sizeof *fl);
	char *scratch = xmalloc(SENSOR_MAX_LINE + 1);
	int form = 0, ncols = 0, rc = 0;
	char sep = ',';
	size_t line_no = 0;
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3; /* a byte-order mark is not part of the first column's name */
		n -= 3;
	}
	char eol = sensor_eol(text, n);
	for (size_t i = 0, e; i < n; i = e + 1) {
		for (e = i; e < n && text[e] != eol;)
			e++;
		const char *line = text + i;
		size_t len = e - i;
		if (len && line[len - 1] == '\r')
			len--;
		line_no++;
		b->lines++;
		if (line_no > SENSOR_MAX_LINES) {
			rc = err_set(err, errlen, EV_ELIMIT, "%s: more than %d lines", o->name,
				     SENSOR_MAX_LINES);
			goto out;
		}
		const char *t = line;
		size_t tl = len;
		sensor_trim(&t, &tl);
		if (!tl || t[0] == '#') {
			b->ignored++;
			continue;
		}
		if (!form && !memchr(line, ',', len) && memchr(line, '\t', len))
			sep = '\t';
		/* a quoted field holding a line break runs on to its closing
		 * quote; the record is named by its first line */
		long breaks = 0;
		int at_eof = 0;
		size_t first = line_no, rend;
		if (memchr(line, '"', len)) {
			breaks = csv_record(text, n, i, eol, sep, &rend, &at_eof);
			if (breaks > 0) {
				e = rend;
				len = e - i;
				if (len && line[len - 1] == '\r')
					len--;
				line_no += (size_t)breaks;
				b->lines += (size_t)breaks;
			}
		}
		if (len > SENSOR_MAX_LINE || first_unclean(line, len, breaks > 0, NULL) != len) {
			b->bad_lines++;
			if (!form) {
				rc = err_set(err, errlen, EV_EINVAL,
					     "%s:%zu: the header line is not short, clean text",
					     o->name, first);
				goto out;
			}
			if (!push_unclean(b, line, len > SENSOR_MAX_LINE ? SENSOR_MAX_LINE : len,
					  first, o->name,
					  len > SENSOR_MAX_LINE ? "the line is too long; kept cut"
								: "the line holds bytes that are not text",
					  len <= SENSOR_MAX_LINE, breaks > 0)) {
				rc = err_set(err, errlen, EV_ELIMIT, "%s: too many readings", o->name);
				goto out;
			}
			continue;
		}
		const char *why = NULL;
		int nf = csv_split(line, len, sep, scratch, f, fl, &why);
		char whybuf[96];
		if (nf < 0 && breaks < 0 && strstr(why, "does not end")) {
			snprintf(whybuf, sizeof whybuf,
				 "has a quoted field that does not end within %d lines or %d bytes",
				 SENSOR_MAX_RECORD_LINES, SENSOR_MAX_LINE);
			why = at_eof ? "has a quoted field that is still open at the end of the file"
				     : whybuf;
		}
		if (!form) {
			if (nf < 0) {
				rc = err_set(err, errlen, EV_EINVAL, "%s:%zu: the header %s", o->name,
					     first, why);
				goto out;
			}
			b->ignored++;
			ncols = nf;
			form = csv_header(f, fl, nf, cols, o, first, b, err, errlen);
			if (form < 0) {
				rc = form;
				goto out;
			}
			snprintf(b->form, sizeof b->form, "%s", form == 1 ? "long" : "wide");
			continue;
		}
		size_t before = b->n;
		/* fewer fields than the header is a row cut off (a copy taken
		 * while the kit still wrote, a pulled stick): its last field may
		 * be a number cut short, so none of it is taken */
		if (nf < 0 || nf != ncols) {
			struct sensor_reading *r = batch_push(b, line, len, first);
			if (!r) {
				rc = err_set(err, errlen, EV_ELIMIT, "%s: too many readings", o->name);
				goto out;
			}
			if (nf < 0)
				reading_err(r, "%s:%zu: the line %s", o->name, first, why);
			else
				reading_err(r, "%s:%zu: the line has %d field%s, the header %d",
					    o->name, first, nf, nf == 1 ? "" : "s", ncols);
		} else if ((form == 1 ? csv_long_row : csv_wide_row)(b, o, line, len, first, f, fl,
								      nf, cols)) {
			rc = err_set(err, errlen, EV_ELIMIT, "%s: more than %d readings", o->name,
				     SENSOR_MAX_READINGS);
			goto out;
		}
		for (size_t k = before; k < b->n; k++)
			if (b->v[k].error[0]) {
				b->bad_lines++;
				break;
			}
	}
	if (!form)
		rc = err_set(err, errlen, EV_EINVAL, "%s: no header line (the file is empty)",
			     o->name);
out:
	free(cols);
	free(f);
	free(fl);
	free(scratch);
	return rc;
}

/* ---- SDI-12 ---- */

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == ';';
}

static const struct sensor_map *profile_find(const struct sensor_profile *p, int cmd, int pos)
{
	for (size_t i = 0; p && i < p->n_map; i++)
		if (p->map[i].cmd == cmd && p->map[i].pos == pos)
			return &p->map[i];
	return NULL;
}

/*
 * One SDI-12 log line. Returns 0 (the line became readings, an error
 * reading, or was counted as ignored) or EV_ELIMIT.
 */
static int sdi12_line(struct sensor_batch *b, const char *line, size_t len, size_t line_no,
		      const struct sensor_profile *p, const struct sensor_opts *o)
{
	const char *s = line;
	size_t sl = len;
	char a[48];
	sensor_trim(&s, &sl);
	/* the answer is the last token; a command echo "aDN!" may stand just
	 * before it, glued on or as its own token */
	size_t k = sl;
	while (k > 0 && !is_sep(s[k - 1]))
		k--;
	const char *tok = s + k, *cmd = NULL, *resp;
	size_t tokl = sl - k, cmdl = 0, respl;
	size_t head = k;
	const char *bang = memchr(tok, '!', tokl);
	if (bang) {
		cmd = tok;
		cmdl = (size_t)(bang - tok) + 1;
		resp = bang + 1;
		respl = tokl - cmdl;
	} else {
		resp = tok;
		respl = tokl;
		size_t h = head;
		while (h > 0 && is_sep(s[h - 1]))
			h--;
		if (h > 0 && s[h - 1] == '!') {
			size_t c0 = h;
			while (c0 > 0 && !is_sep(s[c0 - 1]))
				c0--;
			cmd = s + c0;
			cmdl = h - c0;
			head = c0;
		}
	}
	while (head > 0 && is_sep(s[head - 1]))
		head--;

	/* which data command: aDN! or aRN!; other commands' answers are not
	 * readings */
	int dn = 0;
	if (cmd) {
		if (cmdl == 4 && (cmd[1] == 'D' || cmd[1] == 'R') && isdigit((unsigned char)cmd[2]))
			dn = cmd[2] - '0';
		else {
			b->ignored++;
			return 0;
		}
	}
	if (respl > 0 && respl >= 2 && isdigit((unsigned char)resp[1]) && !cmd) {
		/* "00015": the answer to aM! (address, seconds, count) */
		int digits = 1;
		for (size_t i = 1; i < respl; i++)
			digits &= isdigit((unsigned char)resp[i]) != 0;
		if (digits) {
			b->ignored++;
			return 0;
		}
	}
	struct sensor_reading whole = {0};
	char pn[4 * sizeof p->name];
	whole.line_no = line_no;
	set_time(&whole, b, o, s, head);
	if (respl == 0)
		reading_err(&whole, "%s:%zu: no SDI-12 answer on the line", o->name, line_no);
	else if (!isalnum((unsigned char)resp[0]))
		reading_err(&whole, "%s:%zu: '%s' is not an SDI-12 answer (no address)", o->name,
			    line_no, show(resp, respl, a));
	else if (p && p->address && resp[0] != p->address)
		reading_err(&whole, "%s:%zu: the answer is from address %c, the profile %s is for "
				    "address %c",
			    o->name, line_no, resp[0], show_name(p, pn), p->address);
	else if (respl == 1)
		reading_err(&whole, "%s:%zu: the SDI-12 answer holds no values", o->name, line_no);

	/* the values: each starts with its sign */
	const char *val[SENSOR_MAX_VALUES];
	size_t vl[SENSOR_MAX_VALUES], nv = 0;
	if (!whole.error[0]) {
		size_t i = 1;
		while (i < respl) {
			if (resp[i] != '+' && resp[i] != '-') {
				reading_err(&whole, "%s:%zu: '%s' in the SDI-12 answer is not a value",
					    o->name, line_no, show(resp + i, respl - i, a));
				break;
			}
			size_t j = i + 1;
			while (j < respl && resp[j] != '+' && resp[j] != '-')
				j++;
			if (nv == SENSOR_MAX_VALUES) {
				reading_err(&whole, "%s:%zu: more than %d values in one answer",
					    o->name, line_no, SENSOR_MAX_VALUES);
				break;
			}
			val[nv] = resp + i;
			vl[nv++] = j - i;
			i = j;
		}
	}
	char unmapped[160] = "";
	size_t ul = 0, made = 0;
	for (size_t i = 0; !whole.error[0] && i < nv; i++) {
		const struct sensor_map *m = profile_find(p, dn, (int)i + 1);
		if (!m) {
			if (ul + 24 < sizeof unmapped) {
				char v[16];
				ul += (size_t)snprintf(unmapped + ul, sizeof unmapped - ul, "%s%zu (%s)",
						       ul ? ", " : "", i + 1,
						       ingest_display_text(val[i], vl[i], v, sizeof v));
			}
			continue;
		}
		struct sensor_reading *r = batch_push(b, line, len, line_no);
		if (!r)
			return EV_ELIMIT;
		made++;
		r->param = m->param;
		r->has_time = whole.has_time;
		r->t = whole.t;
		/* "+17.5": strtod takes the sign; a bare sign is caught there */
		set_value(r, o, val[i], vl[i], m->unit, strlen(m->unit), p);
	}
	if (whole.error[0] || ul) {
		struct sensor_reading *r = batch_push(b, line, len, line_no);
		if (!r)
			return EV_ELIMIT;
		r->has_time = whole.has_time;
		r->t = whole.t;
		if (whole.error[0])
			snprintf(r->error, sizeof r->error, "%s", whole.error);
		else
			reading_err(r, "%s:%zu: value%s at position %s ha%s no parameter in profile %s",
				    o->name, line_no, strchr(unmapped, ',') ? "s" : "", unmapped,
				    strchr(unmapped, ',') ? "ve" : "s", p ? show_name(p, pn) : "(none)");
		made++;
	}
	(void)made;
	return 0;
}

int sensor_parse_sdi12(const char *text, size_t n, const struct sensor_profile *p,
		       const struct sensor_opts *o, struct sensor_batch *b, char *err,
		       size_t errlen)
{
	size_t line_no = 0;
	snprintf(b->form, sizeof b->form, "sdi12");
	char eol = sensor_eol(text, n);
	for (size_t i = 0, e; i < n; i = e + 1) {
		for (e = i; e < n && text[e] != eol;)
			e++;
		const char *line = text + i;
		size_t len = e - i;
		if (len && line[len - 1] == '\r')
			len--;
		if (++line_no > SENSOR_MAX_LINES)
			return err_set(err, errlen, EV_ELIMIT, "%s: more than %d lines", o->name,
				       SENSOR_MAX_LINES);
		b->lines++;
		size_t before = b->n;
		if (sensor_parse_line(SENSOR_FMT_SDI12, line, len, line_no, p, o, b))
			return err_set(err, errlen, EV_ELIMIT, "%s: more than %d readings", o->name,
				       SENSOR_MAX_READINGS);
		for (size_t k = before; k < b->n; k++)
			if (b->v[k].error[0]) {
				b->bad_lines++;
				break;
			}
	}
	return 0;
}

/* A live CSV line: [TIME,]PARAMETER,VALUE,UNIT[,SAMPLE_ID]. */
static int live_csv_line(struct sensor_batch *b, const char *line, size_t len, size_t line_no,
			 const struct sensor_opts *o)
{
	char scratch[SENSOR_MAX_LINE + 1];
	char *f[SENSOR_MAX_FIELDS + 1];
	size_t fl[SENSOR_MAX_FIELDS + 1];
	const char *why = NULL;
	int nf = csv_split(line, len, ',', scratch, f, fl, &why);
	if (nf > 0 && (sensor_eq(f[0], fl[0], "time") || sensor_eq(f[0], fl[0], "parameter"))) {
		b->ignored++; /* a header the device prints at start-up */
		return 0;
	}
	struct sensor_reading *r = batch_push(b, line, len, line_no);
	if (!r)
		return EV_ELIMIT;
	if (nf < 0) {
		reading_err(r, "%s:%zu: the line %s", o->name, line_no, why);
		return 0;
	}
	int first = 0;
	double t;
	int trc = nf > 0 ? sensor_time_parse(f[0], fl[0], o, &t) : EV_EINVAL;
	if (trc == 0 || trc == EV_ENOENT) {
		set_time(r, b, o, f[0], fl[0]);
		first = 1;
	} else {
		set_time(r, b, o, "", 0);
	}
	if (nf - first < 3 || nf - first > 4) {
		reading_err(r, "%s:%zu: a line is [time,]parameter,value,unit[,sample_id]", o->name,
			    line_no);
		return 0;
	}
	char a[48];
	r->param = sensor_param_lookup(f[first], fl[first]);
	if (!r->param) {
		reading_err(r, "%s:%zu: unknown parameter '%s'", o->name, line_no,
			    show(f[first], fl[first], a));
		return 0;
	}
	if (nf - first == 4 && fl[first + 3] < sizeof r->sample_id) {
		memcpy(r->sample_id, f[first + 3], fl[first + 3]);
		r->sample_id[fl[first + 3]] = '\0';
	}
	if (!r->error[0])
		set_value(r, o, f[first + 1], fl[first + 1], f[first + 2], fl[first + 2], NULL);
	return 0;
}

int sensor_parse_line(enum sensor_format fmt, const char *line, size_t len, size_t line_no,
		      const struct sensor_profile *p, const struct sensor_opts *o,
		      struct sensor_batch *b)
{
	const char *t = line;
	size_t tl = len;
	if (len > SENSOR_MAX_LINE || !line_is_text(line, len)) {
		struct sensor_reading *r =
			push_unclean(b, line, len > SENSOR_MAX_LINE ? SENSOR_MAX_LINE : len,
				     line_no, o->name,
				     len > SENSOR_MAX_LINE ? "the line is too long; kept cut"
							   : "the line holds bytes that are not text",
				     len <= SENSOR_MAX_LINE, 0);
		if (!r)
			return EV_ELIMIT;
		/* line noise still says when the probe was talking: the line
		 * keeps the time it arrived, as any live line without one */
		if (o->has_now) {
			r->t = o->now;
			r->has_time = 1;
		}
		return 0;
	}
	sensor_trim(&t, &tl);
	if (!tl || t[0] == '#') {
		b->ignored++;
		return 0;
	}
	if (fmt == SENSOR_FMT_SDI12)
		return sdi12_line(b, line, len, line_no, p, o);
	return live_csv_line(b, line, len, line_no, o);
}

/* ---- Profiles ---- */

int sensor_profile_parse(const char *text, size_t n, const char *name, struct sensor_profile *p,
			 char *err, size_t errlen)
{
	size_t line_no = 0;
	char a[48];
	/* the line each single-valued key was given on (name, model, serial,
	 * calibrated, format, address, missing): a second line would replace
	 * the first without a word, and the readings name the instrument */
	size_t seen[7] = {0};
	static const char *const seen_key[7] = {"name",   "model",   "serial", "calibrated",
						 "format", "address", "missing"};
	memset(p, 0, sizeof *p);
	snprintf(p->format, sizeof p->format, "sdi12");
	if (n > SENSOR_MAX_PROFILE)
		return err_set(err, errlen, EV_ELIMIT, "%s: a profile is at most %zu bytes", name,
			       SENSOR_MAX_PROFILE);
	if (!utf8_valid(text, n))
		return err_set(err, errlen, EV_EINVAL, "%s: the profile is not UTF-8 text", name);
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3; /* Notepad's byte-order mark is not part of the first key */
		n -= 3;
	}
	for (size_t i = 0, e; i < n; i = e + 1) {
		for (e = i; e < n && text[e] != '\n';)
			e++;
		line_no++;
		const char *s = text + i;
		size_t len = e - i;
		sensor_trim(&s, &len);
		if (!len || s[0] == '#')
			continue;
		const char *eq = memchr(s, '=', len);
		if (!eq)
			return err_set(err, errlen, EV_EINVAL, "%s:%zu: expected key = value", name,
				       line_no);
		const char *k = s, *v = eq + 1;
		size_t kl = (size_t)(eq - s), vl = len - kl - 1;
		sensor_trim(&k, &kl);
		sensor_trim(&v, &vl);
		struct {
			const char *key;
			char *dst;
			size_t cap;
		} strs[] = {{"name", p->name, sizeof p->name},
			    {"model", p->model, sizeof p->model},
			    {"serial", p->serial, sizeof p->serial},
			    {"calibrated", p->calibrated, sizeof p->calibrated},
			    {"format", p->format, sizeof p->format}};
		size_t which = ARRAY_LEN(seen);
		for (size_t j = 0; j < ARRAY_LEN(seen); j++)
			if (sensor_eq(k, kl, seen_key[j]))
				which = j;
		if (which < ARRAY_LEN(seen)) {
			if (seen[which])
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: %s is already given on line %zu", name,
					       line_no, seen_key[which], seen[which]);
			seen[which] = line_no;
		}
		int done = 0;
		for (size_t j = 0; j < ARRAY_LEN(strs) && !done; j++)
			if (sensor_eq(k, kl, strs[j].key)) {
				if (vl >= strs[j].cap)
					return err_set(err, errlen, EV_EINVAL,
						       "%s:%zu: %s is longer than %zu bytes", name,
						       line_no, strs[j].key, strs[j].cap - 1);
				memcpy(strs[j].dst, v, vl);
				strs[j].dst[vl] = '\0';
				done = 1;
			}
		if (done)
			continue;
		if (sensor_eq(k, kl, "address")) {
			if (vl != 1 || !isalnum((unsigned char)v[0]))
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: an SDI-12 address is one letter or digit",
					       name, line_no);
			p->address = v[0];
		} else if (sensor_eq(k, kl, "missing")) {
			if (parse_number(v, vl, &p->missing))
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: missing must be a number", name, line_no);
			p->has_missing = 1;
		} else if (kl > 6 && strncmp(k, "value.", 6) == 0) {
			/* value.P or value.DN.P */
			int cmd = 0, pos = 0;
			size_t q = 6;
			if (q < kl && (k[q] == 'D' || k[q] == 'd')) {
				q++;
				if (q >= kl || !isdigit((unsigned char)k[q]))
					goto badkey;
				cmd = k[q++] - '0';
				if (q >= kl || k[q++] != '.')
					goto badkey;
			}
			if (q >= kl)
				goto badkey;
			for (; q < kl; q++) {
				if (!isdigit((unsigned char)k[q]) || pos > 99)
					goto badkey;
				pos = pos * 10 + (k[q] - '0');
			}
			if (pos < 1 || pos > SENSOR_MAX_VALUES)
				goto badkey;
			if (p->n_map == SENSOR_MAX_MAP)
				return err_set(err, errlen, EV_ELIMIT, "%s:%zu: more than %d values",
					       name, line_no, SENSOR_MAX_MAP);
			if (profile_find(p, cmd, pos))
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: position D%d.%d is given twice", name, line_no,
					       cmd, pos);
			size_t sp = 0;
			while (sp < vl && !isspace((unsigned char)v[sp]))
				sp++;
			struct sensor_map *m = &p->map[p->n_map];
			m->cmd = cmd;
			m->pos = pos;
			m->param = sensor_param_lookup(v, sp);
			if (!m->param)
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: unknown parameter '%s'", name, line_no,
					       show(v, sp, a));
			const char *u = v + sp;
			size_t ulen = vl - sp;
			sensor_trim(&u, &ulen);
			if (!ulen) {
				u = m->param->unit;
				ulen = strlen(u);
			}
			double dummy;
			if (ulen >= sizeof m->unit ||
			    sensor_unit_convert(m->param, u, ulen, 1, &dummy))
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%zu: '%s' is not a unit of %s (%s)", name, line_no,
					       show(u, ulen, a), m->param->name_en, m->param->unit);
			memcpy(m->unit, u, ulen);
			m->unit[ulen] = '\0';
			p->n_map++;
		} else {
			return err_set(err, errlen, EV_EINVAL, "%s:%zu: unknown key '%s'", name,
				       line_no, show(k, kl, a));
		}
		continue;
badkey:
		return err_set(err, errlen, EV_EINVAL,
			       "%s:%zu: '%s' is not value.P or value.DN.P (P from 1 to %d)", name,
			       line_no, show(k, kl, a), SENSOR_MAX_VALUES);
	}
	if (strcmp(p->format, "sdi12") && strcmp(p->format, "csv"))
		return err_set(err, errlen, EV_EINVAL, "%s: format must be sdi12 or csv", name);
	if (!strcmp(p->format, "sdi12") && !p->n_map)
		return err_set(err, errlen, EV_EINVAL, "%s: an SDI-12 profile needs value.N lines",
			       name);
	if (p->calibrated[0]) {
		char iso[40];
		double t;
		snprintf(iso, sizeof iso, "%sT00:00:00Z", p->calibrated);
		if (strlen(p->calibrated) != 10 || time_parse_iso(iso, &t))
			return err_set(err, errlen, EV_EINVAL, "%s: calibrated must be YYYY-MM-DD",
				       name);
	}
	return 0;
}

int sensor_profile_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return 0;
	return 1;
}

char *sensor_profile_find(const char *name)
{
	if (!sensor_profile_name_valid(name))
		return NULL;
	const char *env = getenv("EVCAP_SENSOR_PROFILES");
	char *dirs = xasprintf("%s%s" SENSOR_PROFILE_DIRS, env && *env ? env : "",
			       env && *env ? ":" : "");
	char *found = NULL, *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s.profile", d, name);
		if (access(p, R_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}

int sensor_profile_load(const char *path, struct sensor_profile *p, char *err, size_t errlen)
{
	struct buf b;
	/* named as a file from a card is (a path given on the command line
	 * or in $EVCAP_SENSOR_PROFILES may hold control characters) */
	char *shown = ingest_display_path(path);
	buf_init(&b, SENSOR_MAX_PROFILE + 1);
	int rc = fs_read_file(path, SENSOR_MAX_PROFILE, &b, err, errlen);
	if (rc)
		ingest_display_msg(err, errlen, path);
	else
		rc = sensor_profile_parse(b.data, b.len, shown, p, err, errlen);
	buf_free(&b);
	free(shown);
	return rc;
}

char *sensor_instrument_json(const struct sensor_profile *p)
{
	json_t *o = json_object();
	if (p->name[0])
		json_object_set_new(o, "name", json_string(p->name));
	if (p->model[0])
		json_object_set_new(o, "model", json_string(p->model));
	if (p->serial[0])
		json_object_set_new(o, "serial", json_string(p->serial));
	if (p->calibrated[0])
		json_object_set_new(o, "calibrated", json_string(p->calibrated));
	char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return txt ? txt : xstrdup("{}");
}

void sensor_batch_mark_incomplete(struct sensor_batch *b, size_t from, const char *name,
				  size_t line_no, const char *why)
{
	for (size_t i = from; i < b->n; i++)
		reading_err(&b->v[i], "%s:%zu: %s", name, line_no, why);
}

/* ---- Recording ---- */

/* Most fixes loaded to place one batch. */
#define SENSOR_MAX_FIXES 20000000

/*
 * Loads the fixes that can place a time in [from, to], one track per
 * source (as geotag does): those within the window, plus each source's
 * nearest one on either side, so interpolation and held ends come out
 * exactly as they would on the whole track. A source with no fix in the
 * window cannot place anything in it (the window is padded by the gap
 * and hold limits) and is left out.
 */
static int load_window(struct store *s, double from, double to, struct trackset *ts, char *err,
		       size_t errlen)
{
	static const char in_sql[] =
		"SELECT t, lat, lon, alt, mode, eph, sats, source FROM fixes"
		" WHERE mode >= 2 AND t >= ?1 AND t <= ?2 ORDER BY source, t, id";
	static const char *const edge_sql[2] = {
		"SELECT t, lat, lon, alt, mode, eph, sats FROM fixes"
		" WHERE mode >= 2 AND source = ?2 AND t < ?1 ORDER BY t DESC, id LIMIT 1",
		"SELECT t, lat, lon, alt, mode, eph, sats FROM fixes"
		" WHERE mode >= 2 AND source = ?2 AND t > ?1 ORDER BY t, id LIMIT 1",
	};
	sqlite3_stmt *st = store_prepare(s, in_sql, err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_double(st, 1, from);
	sqlite3_bind_double(st, 2, to);
	int r, rc = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (ts->total >= SENSOR_MAX_FIXES) {
			rc = err_set(err, errlen, EV_ELIMIT,
				     "more than %d GPS fixes around these readings", SENSOR_MAX_FIXES);
			goto out;
		}
		const char *src = (const char *)sqlite3_column_text(st, 7);
		struct fix f = geotag_row_fix(st, 0);
		trackset_push(ts, src ? src : "", &f);
	}
	if (r != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "reading GPS fixes: %s",
			     sqlite3_errmsg(store_db(s)));
		goto out;
	}
	for (int e = 0; e < 2 && !rc; e++) {
		sqlite3_finalize(st);
		if (!(st = store_prepare(s, edge_sql[e], err, errlen)))
			return EV_EDB;
		size_t n = ts->n; /* pushing to a known source adds none */
		for (size_t i = 0; i < n; i++) {
			sqlite3_reset(st);
			sqlite3_bind_double(st, 1, e ? to : from);
			sqlite3_bind_text(st, 2, ts->source[i], -1, SQLITE_STATIC);
			if ((r = sqlite3_step(st)) == SQLITE_ROW) {
				struct fix f = geotag_row_fix(st, 0);
				trackset_push(ts, ts->source[i], &f);
			} else if (r != SQLITE_DONE) {
				rc = err_set(err, errlen, EV_EDB, "reading GPS fixes: %s",
					     sqlite3_errmsg(store_db(s)));
				break;
			}
		}
	}
	trackset_sort(ts);
out:
	sqlite3_finalize(st);
	return rc;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/*
 * After reading r was added: the values earlier lines of the same source
 * and case gave for its parameter, sample and time. One of the same value
 * makes r a repeat; else any other value makes it a conflict, named in st
 * with the first line that gave another. Both rows stay: which value is
 * right is for the investigator to say, and the record must show that the
 * evidence holds two. 0, or EV_EDB.
 */
static int same_measure(struct store *s, sqlite3_stmt *q, const struct sensor_reading *r,
			const struct sensor_record_opts *o, struct sensor_record_stats *st,
			char *err, size_t errlen)
{
	int rc = 0, step, other = 0;
	double v = 0;
	sqlite3_int64 line = 0;
	sqlite3_clear_bindings(q);
	if (o->case_id > 0)
		sqlite3_bind_int64(q, 1, o->case_id);
	sqlite3_bind_double(q, 2, r->t);
	bind_text_or_null(q, 3, o->source);
	sqlite3_bind_text(q, 4, r->param->id, -1, SQLITE_STATIC);
	bind_text_or_null(q, 5, r->sample_id);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)r->line_no);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_double(q, 1) == r->value) {
			st->repeated++;
			goto out;
		}
		if (!other) {
			other = 1;
			line = sqlite3_column_int64(q, 0);
			v = sqlite3_column_double(q, 1);
		}
	}
	if (step != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "%s:%zu: looking for the same measurement: %s",
			     o->source ? o->source : "", r->line_no, sqlite3_errmsg(store_db(s)));
		goto out;
	}
	if (!other)
		goto out;
	st->conflicting++;
	if (st->n_msgs < SENSOR_RECORD_MSGS) {
		char iso[32], sample[96] = "";
		const char *unit = r->param->unit;
		time_format_iso(r->t, iso);
		if (r->sample_id[0]) {
			char shown[80];
			snprintf(sample, sizeof sample, ", sample %s",
				 ingest_display_text(r->sample_id, strlen(r->sample_id), shown,
						     sizeof shown));
		}
		snprintf(st->msgs[st->n_msgs++], SENSOR_RECORD_MSG_LEN,
			 "%s: 2 values of %s at %s%s: %.15g %s on line %lld, %.15g %s on line %zu; "
			 "both kept",
			 o->name ? o->name : o->source ? o->source : "readings", r->param->id, iso,
			 sample, v, unit, (long long)line, r->value, unit, r->line_no);
	}
out:
	sqlite3_reset(q);
	return rc;
}

int sensor_record(struct store *s, const struct sensor_batch *b,
		  const struct sensor_record_opts *o, struct sensor_record_stats *st, char *err,
		  size_t errlen)
{
	static const char sql[] =
		"INSERT INTO readings(t, time, parameter, value, unit, sample_id, instrument, raw,"
		" raw_sha256, source, line_no, case_id, site_id, operators, lat, lon,"
		" location_source, location_error_m, class, error, created_at)"
		" SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		" ?17, ?18, ?19, ?20, ?21"
		" WHERE NOT EXISTS (SELECT 1 FROM readings WHERE raw_sha256 = ?9"
		"  AND parameter IS ?3 AND source IS ?10 AND line_no IS ?11)";
	/* the case narrows the search to its readings at one time (an index) */
	static const char same_sql[] =
		"SELECT line_no, value FROM readings WHERE case_id IS ?1 AND t = ?2"
		" AND source IS ?3 AND parameter = ?4 AND sample_id IS ?5 AND value IS NOT NULL"
		" AND error IS NULL AND line_no IS NOT ?6 ORDER BY line_no";
	struct trackset tr;
	sqlite3_stmt *ins = NULL, *same = NULL;
	int rc = 0, own_txn = 0;
	char now[32];
	enum gb3838_water water = o->has_water ? o->water : GB3838_RIVER;
	trackset_init(&tr);
	memset(st, 0, sizeof *st);
	time_format_iso(o->now, now);

	/* the window of time that needs the track */
	double from = INFINITY, to = -INFINITY;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].has_time && !b->v[i].has_pos) {
			from = fmin(from, b->v[i].t);
			to = fmax(to, b->v[i].t);
		}
	if (from <= to &&
	    (rc = load_window(s, from - o->max_gap - o->max_extrap - 1,
			      to + o->max_gap + o->max_extrap + 1, &tr, err, errlen)))
		goto out;

	if (sqlite3_get_autocommit(store_db(s))) {
		if ((rc = store_begin(s, err, errlen)))
			goto out;
		own_txn = 1;
	}
	ins = store_prepare(s, sql, err, errlen);
	same = ins ? store_prepare(s, same_sql, err, errlen) : NULL;
	if (!ins || !same) {
		rc = EV_EDB;
		goto out;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct sensor_reading *r = &b->v[i];
		int good = !r->error[0] && r->param && r->has_value;
		char iso[32];
		int k = 1;
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if (good)
			st->readings++;
		else
			st->errors++;
		if (r->has_time) {
			time_format_iso(r->t, iso);
			sqlite3_bind_double(ins, k++, r->t);
			sqlite3_bind_text(ins, k++, iso, -1, SQLITE_TRANSIENT);
		} else {
			k += 2;
		}
		bind_text_or_null(ins, k++, r->param ? r->param->id : NULL);
		if (good)
			sqlite3_bind_double(ins, k, r->value);
		k++;
		bind_text_or_null(ins, k++, r->param ? r->param->unit : NULL);
		bind_text_or_null(ins, k++, r->sample_id);
		bind_text_or_null(ins, k++, o->instrument_json);
		sqlite3_bind_text(ins, k++, r->raw, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, k++, r->raw_sha256, -1, SQLITE_STATIC);
		bind_text_or_null(ins, k++, o->source);
		sqlite3_bind_int64(ins, k++, (sqlite3_int64)r->line_no);
		if (o->case_id > 0)
			sqlite3_bind_int64(ins, k, o->case_id);
		k++;
		if (o->site_id > 0)
			sqlite3_bind_int64(ins, k, o->site_id);
		k++;
		bind_text_or_null(ins, k++, o->operators_json);
		/* place: the file's own position, else the track */
		struct fix_at at;
		if (r->has_pos) {
			sqlite3_bind_double(ins, k++, r->lat);
			sqlite3_bind_double(ins, k++, r->lon);
			sqlite3_bind_text(ins, k++, "manual", -1, SQLITE_STATIC);
			k++;
			st->located++;
		} else if (r->has_time &&
			   trackset_locate(&tr, r->t, o->max_gap, o->max_extrap, &at, NULL, NULL,
					   NULL) == 0) {
			sqlite3_bind_double(ins, k++, at.lat);
			sqlite3_bind_double(ins, k++, at.lon);
			sqlite3_bind_text(ins, k++, "track", -1, SQLITE_STATIC);
			sqlite3_bind_double(ins, k++, at.error_m);
			st->located++;
		} else {
			k += 4;
		}
		enum gb3838_class c;
		if (good && gb3838_classify(r->param->id, r->value, water, &c) == 0) {
			sqlite3_bind_text(ins, k, gb3838_class_name(c), -1, SQLITE_STATIC);
			st->classed++;
		}
		k++;
		bind_text_or_null(ins, k++, r->error);
		sqlite3_bind_text(ins, k++, now, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "%s:%zu: recording the reading: %s",
				     o->source ? o->source : "", r->line_no,
				     sqlite3_errmsg(store_db(s)));
			goto out;
		}
		if (sqlite3_changes(store_db(s)) == 0) {
			st->already++;
			continue;
		}
		st->added++;
		if (good && r->has_time && (rc = same_measure(s, same, r, o, st, err, errlen)))
			goto out;
	}
	if (st->added) {
		json_t *d = o->detail ? json_deep_copy(o->detail) : json_object();
		if (o->source)
			json_object_set_new(d, "source", json_string(o->source));
		json_object_set_new(d, "readings", json_integer((json_int_t)st->readings));
		json_object_set_new(d, "errors", json_integer((json_int_t)st->errors));
		json_object_set_new(d, "added", json_integer((json_int_t)st->added));
		json_object_set_new(d, "already", json_integer((json_int_t)st->already));
		if (st->conflicting)
			json_object_set_new(d, "conflicting",
					    json_integer((json_int_t)st->conflicting));
		if (st->repeated)
			json_object_set_new(d, "repeated", json_integer((json_int_t)st->repeated));
		json_object_set_new(d, "water_body",
				    json_string(o->has_water ? (water == GB3838_LAKE ? "lake" : "river")
							     : "unknown (classed as river)"));
		if (o->instrument_json) {
			json_t *ins_j = json_loads(o->instrument_json, 0, NULL);
			json_object_set_new(d, "instrument", ins_j ? ins_j : json_null());
		}
		rc = custody_append(s, o->now, o->actor, o->action ? o->action : "sensor import",
				    o->case_number, o->item_sha256, d, NULL, err, errlen);
		json_decref(d);
		if (rc)
			goto out;
		/* placed readings go to the case's site that holds them, as
		 * placed photos do (a "site assign" event when any does), so
		 * that a site's report and list carry its readings */
		if (o->case_id > 0 && o->site_id <= 0 &&
		    (rc = sites_assign(s, o->case_id, o->actor, NULL, err, errlen)))
			goto out;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	sqlite3_finalize(same);
	same = NULL;
	if (own_txn) {
		own_txn = 0;
		rc = store_commit(s, err, errlen);
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(same);
	if (own_txn)
		store_rollback(s);
	trackset_free(&tr);
	return rc;
}
