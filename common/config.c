/*
 * The config parser: table-driven, one entry per key, so the documentation
 * (docs/config.md) and the code list the same keys.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fsutil.h"
#include "timeutil.h"

enum ctype { C_STR, C_LIST, C_SECONDS, C_INT, C_LONG, C_OFFSET, C_HOSTPORT };

struct ckey {
	const char *section;
	const char *key;
	enum ctype type;
	size_t off;   /* offset of the field */
	size_t noff;  /* for lists, offset of the count */
};

#define F(x) offsetof(struct config, x)
static const struct ckey config_keys[] = {
	{"store", "path", C_STR, F(store), 0},
	{"store", "operator", C_LIST, F(operators), F(n_operators)},
	{"store", "case", C_STR, F(case_number), 0},
	{"store", "time_offset", C_OFFSET, F(time_offset), 0},
	{"capture", "watch", C_LIST, F(watch), F(n_watch)},
	{"capture", "settle_seconds", C_SECONDS, F(settle_seconds), 0},
	{"capture", "sensor", C_LIST, F(sensors), F(n_sensors)},
	{"gps", "server", C_HOSTPORT, F(gps_server), 0},
	{"gps", "max_gap", C_SECONDS, F(max_gap), 0},
	{"gps", "max_extrapolate", C_SECONDS, F(max_extrapolate), 0},
	{"sync", "target", C_STR, F(sync_target), 0},
	{"sync", "endpoint", C_STR, F(sync_endpoint), 0},
	{"sync", "region", C_STR, F(sync_region), 0},
	{"sync", "access_key", C_STR, F(access_key), 0},
	{"sync", "secret_key", C_STR, F(secret_key), 0},
	{"sync", "retain_days", C_INT, F(retain_days), 0},
	{"sync", "bandwidth", C_LONG, F(bandwidth), 0},
	{"sync", "interval", C_SECONDS, F(sync_interval), 0},
};
#undef F

void config_init(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->settle_seconds = 2.0;
	c->max_gap = 60.0;
	c->max_extrapolate = 10.0;
	c->sync_interval = -1; /* not set */
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t k = 0; k < ARRAY_LEN(config_keys); k++) {
		const struct ckey *ck = &config_keys[k];
		char *base = (char *)c + ck->off;
		if (ck->type == C_STR || ck->type == C_OFFSET || ck->type == C_HOSTPORT) {
			char **p = (char **)base;
			if (ck->off == offsetof(struct config, secret_key) && *p)
				secure_wipe(*p, strlen(*p));
			free(*p);
		} else if (ck->type == C_LIST) {
			char **v = (char **)base;
			size_t *n = (size_t *)((char *)c + ck->noff);
			for (size_t i = 0; i < *n; i++)
				free(v[i]);
		}
	}
	config_init(c);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int set_value(const struct ckey *ck, struct config *c, const char *val, const char *name,
		     int line, char *err, size_t errlen)
{
	char *base = (char *)c + ck->off;
	char *end;
	switch (ck->type) {
	case C_STR: {
		char **p = (char **)base;
		free(*p);
		*p = xstrdup(val);
		return 0;
	}
	case C_OFFSET: {
		int off;
		if (time_parse_offset(val, &off)) {
			const char *why = time_offset_why(val);
			return err_set(err, errlen, EV_EINVAL, "%s:%d: %s %s, not '%s'", name, line,
				       ck->key,
				       strcmp(why, "must look like +08:00") == 0
					       ? "must be an offset like +08:00"
					       : why,
				       val);
		}
		char **p = (char **)base;
		free(*p);
		*p = xstrdup(val);
		return 0;
	}
	case C_HOSTPORT: {
		/* checked here, not when gpsd is first dialled: a daemon told a
		 * server it can never reach would otherwise run on without GPS,
		 * and a reload would take it; "" turns GPS logging off */
		char host[256], port[8];
		if (*val && config_split_hostport(val, host, port))
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%d: %s must be HOST:PORT (IPv6 as [::1]:2947; \"\" "
				       "for none), not '%s'",
				       name, line, ck->key, val);
		char **p = (char **)base;
		free(*p);
		*p = xstrdup(val);
		return 0;
	}
	case C_LIST: {
		char **v = (char **)base;
		size_t *n = (size_t *)((char *)c + ck->noff);
		if (*n >= CONFIG_MAX_LIST)
			return err_set(err, errlen, EV_ELIMIT, "%s:%d: more than %d '%s' lines", name,
				       line, CONFIG_MAX_LIST, ck->key);
		/* a watched folder is named whole, from the root: said with the
		 * line it is on, as any other bad value */
		if (ck->off == offsetof(struct config, watch)) {
			size_t len = strlen(val);
			if (val[0] != '/')
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%d: watch must be an absolute path, not '%.200s'",
					       name, line, val);
			if (len >= PATH_MAX)
				return err_set(err, errlen, EV_ELIMIT,
					       "%s:%d: watch is a path of %zu bytes; a path has at "
					       "most %d",
					       name, line, len, PATH_MAX - 1);
		}
		v[(*n)++] = xstrdup(val);
		return 0;
	}
	case C_SECONDS: {
		errno = 0;
		double d = strtod(val, &end);
		if (errno || end == val || *end || !isfinite(d) || d < 0 || d > 86400 * 365.0)
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%d: %s must be a number of seconds, not '%s'", name, line,
				       ck->key, val);
		*(double *)base = d;
		return 0;
	}
	case C_INT:
	case C_LONG: {
		errno = 0;
		long l = strtol(val, &end, 10);
		if (errno || end == val || *end || l < 0 || (ck->type == C_INT && l > 36500))
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%d: %s must be a whole number, not '%s'", name, line,
				       ck->key, val);
		if (ck->type == C_INT)
			*(int *)base = (int)l;
		else
			*(long *)base = l;
		return 0;
	}
	}
	return EV_EINVAL;
}

int config_parse(const char *text, size_t n, const char *name, struct config *c, char *err,
		 size_t errlen)
{
	int rc = 0, line = 0;
	char section[32] = "";
	/* the line each single-valued key was set on: a second setting would
	 * silently replace the first (a store path or case added at the end of
	 * a file read as the only one), so it is refused, naming both lines */
	int set_on[ARRAY_LEN(config_keys)] = {0};
	if (n > CONFIG_MAX_BYTES)
		return err_set(err, errlen, EV_ELIMIT, "%s: larger than %d bytes", name,
			       CONFIG_MAX_BYTES);
	if (memchr(text, '\0', n))
		return err_set(err, errlen, EV_EINVAL, "%s: contains a NUL byte", name);
	if (!utf8_valid(text, n))
		return err_set(err, errlen, EV_EINVAL, "%s: is not valid UTF-8", name);
	/* no control character but tab and line ends: a key or value holding
	 * one (an escape sequence, say) would be shown in messages as is */
	for (size_t i = 0, ln = 1; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n')
			ln++;
		else if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f ||
			 (ch == 0xc2 && (unsigned char)text[i + 1] <= 0x9f))
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%zu: holds a control character (U+%04X); a setting "
				       "is plain text",
				       name, ln, ch == 0xc2 ? (unsigned char)text[i + 1] : ch);
	}
	char *copy = xstrndup(text, n);
	/* nor a text-direction control: an operator's name holding one
	 * turns the names after it around in every report */
	unsigned cp;
	size_t at = text_direction_at(copy, &cp);
	if (at) {
		size_t ln = 1;
		for (size_t i = 0; i + 1 < at; i++)
			ln += copy[i] == '\n';
		free(copy);
		return err_set(err, errlen, EV_EINVAL,
			       "%s:%zu: holds a text-direction control (U+%04X); a setting is "
			       "plain text",
			       name, ln, cp);
	}
	char *save = NULL;
	char *p = copy;
	/* the byte-order mark Windows Notepad puts before UTF-8 is not text
	 * of the first line (it made "[store]" an unknown kind of line) */
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	/* split by hand so empty lines still count for line numbers */
	while (p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		line++;
		char *s = trim(p);
		p = nl ? nl + 1 : NULL;
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (!close || *trim(close + 1) != '\0') {
				rc = err_set(err, errlen, EV_EINVAL, "%s:%d: a section line must look like [name]",
					     name, line);
				goto out;
			}
			*close = '\0';
			char *sec = trim(s + 1);
			int known = 0;
			for (size_t k = 0; k < ARRAY_LEN(config_keys); k++)
				if (strcmp(config_keys[k].section, sec) == 0)
					known = 1;
			if (!known || strlen(sec) >= sizeof section) {
				rc = err_set(err, errlen, EV_EINVAL,
					     "%s:%d: unknown section [%s] (known: store, capture, gps, sync)",
					     name, line, sec);
				goto out;
			}
			snprintf(section, sizeof section, "%s", sec);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = err_set(err, errlen, EV_EINVAL, "%s:%d: expected 'key = value'", name, line);
			goto out;
		}
		*eq = '\0';
		char *key = trim(s);
		char *val = trim(eq + 1);
		/* values may be quoted to keep leading/trailing spaces or a '#' */
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		if (!*section) {
			rc = err_set(err, errlen, EV_EINVAL, "%s:%d: '%s' comes before any [section]", name,
				     line, key);
			goto out;
		}
		const struct ckey *ck = NULL;
		size_t ki = 0;
		for (size_t k = 0; k < ARRAY_LEN(config_keys); k++)
			if (strcmp(config_keys[k].section, section) == 0 &&
			    strcmp(config_keys[k].key, key) == 0) {
				ck = &config_keys[k];
				ki = k;
			}
		if (!ck) {
			rc = err_set(err, errlen, EV_EINVAL, "%s:%d: unknown key '%s' in [%s]", name, line,
				     key, section);
			goto out;
		}
		if (ck->type != C_LIST && set_on[ki]) {
			rc = err_set(err, errlen, EV_EINVAL,
				     "%s:%d: '%s' in [%s] is already set on line %d; it takes one "
				     "value, so remove one of the two", name, line, key, section,
				     set_on[ki]);
			goto out;
		}
		set_on[ki] = line;
		rc = set_value(ck, c, val, name, line, err, errlen);
		if (rc)
			goto out;
	}
	(void)save;
out:
	secure_wipe(copy, n);
	free(copy);
	return rc;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	struct buf b;
	buf_init(&b, CONFIG_MAX_BYTES);
	int rc = fs_read_file(path, CONFIG_MAX_BYTES, &b, err, errlen);
	if (rc)
		goto out;
	rc = config_parse(b.data, b.len, path, c, err, errlen);
	if (rc)
		goto out;
	if (c->secret_key) {
		struct stat st;
		if (stat(path, &st) == 0 && (st.st_mode & 077)) {
			rc = err_set(err, errlen, EV_EAUTH,
				     "%s: holds a secret_key but is readable by others (mode %03o); "
				     "run: chmod 600 %s",
				     path, (unsigned)(st.st_mode & 0777), path);
			goto out;
		}
	}
out:
	if (b.len)
		secure_wipe(b.data, b.len);
	buf_free(&b);
	return rc;
}

int config_split_hostport(const char *s, char host[256], char port[8])
{
	const char *colon;
	size_t hl;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return EV_EINVAL;
		hl = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return EV_EINVAL;
		hl = (size_t)(colon - s);
	}
	const char *ps = colon + 1;
	size_t pl = strlen(ps);
	if (hl == 0 || hl > 255 || pl == 0 || pl > 5 || strspn(ps, "0123456789") != pl)
		return EV_EINVAL;
	long pn = strtol(ps, NULL, 10);
	if (pn < 1 || pn > 65535)
		return EV_EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memcpy(port, ps, pl + 1);
	return 0;
}
