/*
 * The probes' journal (sensorspool.h): JSON Lines appended with O_APPEND,
 * fdatasync'd after each read of the probe (by the pump's thread) and each
 * turn of the loop, cut back with ftruncate.
 */
#include "sensorspool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "hash.h"

#define SPOOL_EXT ".jnl"
#define SPOOL_RECORD_MAX 16384 /* a line is at most 1024 bytes: 2048 in hex */

struct sensorspool {
	pthread_mutex_t mu; /* every call, from either thread, holds it */
	int fd;
	char *path;
	char *dir;
	off_t head_len;   /* the header's bytes: what a clear keeps */
	int dirty;        /* written since the last sync */
	size_t last_line; /* the highest line number written */
	int64_t size;     /* the file's length */
	int failed;       /* a write failed: `why` says how, every call fails */
	char why[512];
};

char *sensorspool_dir(const char *store_dir)
{
	return xasprintf("%s/spool", store_dir);
}

const char *sensorspool_path(const struct sensorspool *s)
{
	return s->path;
}

/* Fails s for good with the error of the call that just failed (errno). */
static int spool_failed(struct sensorspool *s, const char *what, char *err, size_t errlen)
{
	if (!s->failed) {
		s->failed = 1;
		snprintf(s->why, sizeof s->why, "%s: %s: %s", s->path, what, strerror(errno));
	}
	return err_set(err, errlen, EV_EIO, "%s", s->why);
}

/* Writes one record (a JSON object and a newline) at the end; s->mu held. */
static int put_record(struct sensorspool *s, json_t *o, char *err, size_t errlen)
{
	if (s->failed)
		return err_set(err, errlen, EV_EIO, "%s", s->why);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (!text) {
		errno = ENOMEM;
		return spool_failed(s, "cannot make a record", err, errlen);
	}
	size_t n = strlen(text);
	text[n] = '\n'; /* the dump's terminator becomes the line's end */
	int rc = fs_write_all(s->fd, text, n + 1);
	int e = errno;
	free(text);
	if (rc) {
		errno = e;
		return spool_failed(s, "write", err, errlen);
	}
	s->dirty = 1;
	s->size += (int64_t)n + 1;
	return 0;
}

static int sync_locked(struct sensorspool *s, char *err, size_t errlen)
{
	if (s->failed)
		return err_set(err, errlen, EV_EIO, "%s", s->why);
	if (!s->dirty)
		return 0;
	if (fdatasync(s->fd))
		return spool_failed(s, "fdatasync", err, errlen);
	s->dirty = 0;
	return 0;
}

static void spool_free(struct sensorspool *s)
{
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s->dir);
	free(s);
}

int sensorspool_open(const char *dir, const char *source, const char *spec,
		     struct sensorspool **out, char *err, size_t errlen)
{
	char hex[SHA256_HEX_LEN + 1];
	struct sensorspool *s = NULL;
	int rc;
	*out = NULL;
	if ((rc = fs_mkdir_p(dir, 0700, err, errlen)))
		return rc;
	sha256_hex(source, strlen(source), hex);
	s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->fd = -1;
	s->dir = xstrdup(dir);
	/* a run's own name; a file already there is another run's */
	for (int i = 0; i < 100 && s->fd < 0; i++) {
		free(s->path);
		s->path = xasprintf("%s/%.16s-%d" SPOOL_EXT, dir, hex, i);
		s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (s->fd < 0 && errno != EEXIST)
			break;
	}
	if (s->fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	json_t *h = json_pack("{s:i,s:s,s:s}", "evcap_sensor_journal", 1, "source", source,
			      "spec", spec);
	rc = put_record(s, h, err, errlen);
	json_decref(h);
	if (rc || (rc = sync_locked(s, err, errlen)) || (rc = fs_fsync_dir(dir, err, errlen)))
		goto fail;
	s->head_len = lseek(s->fd, 0, SEEK_END);
	if (s->head_len <= 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	spool_free(s);
	return rc;
}

int sensorspool_add(struct sensorspool *s, size_t line_no, double wall, int flags,
		    const char *line, size_t len, char *err, size_t errlen)
{
	char *hex = xmalloc(len * 2 + 1);
	hex_encode((const uint8_t *)line, len, hex);
	json_t *o = json_pack("{s:I,s:f,s:i,s:s}", "n", (json_int_t)line_no, "t", wall, "f",
			      flags, "hex", hex);
	free(hex);
	pthread_mutex_lock(&s->mu);
	int rc = put_record(s, o, err, errlen);
	if (!rc && line_no > s->last_line)
		s->last_line = line_no;
	pthread_mutex_unlock(&s->mu);
	json_decref(o);
	return rc;
}

int sensorspool_mark_case(struct sensorspool *s, size_t line_no, const char *case_number,
			  char *err, size_t errlen)
{
	json_t *o = json_pack("{s:I,s:s?}", "from", (json_int_t)line_no, "case", case_number);
	pthread_mutex_lock(&s->mu);
	int rc = put_record(s, o, err, errlen);
	pthread_mutex_unlock(&s->mu);
	json_decref(o);
	return rc;
}

int sensorspool_sync(struct sensorspool *s, char *err, size_t errlen)
{
	pthread_mutex_lock(&s->mu);
	int rc = sync_locked(s, err, errlen);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sensorspool_clear_upto(struct sensorspool *s, size_t line_no, char *err, size_t errlen)
{
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (s->failed) {
		rc = err_set(err, errlen, EV_EIO, "%s", s->why);
	} else if (s->last_line <= line_no) {
		if (ftruncate(s->fd, s->head_len))
			rc = spool_failed(s, "ftruncate", err, errlen);
		else
			s->size = s->head_len;
		s->dirty = 1; /* the new length, so a replay does not find them again */
		if (!rc)
			rc = sync_locked(s, err, errlen);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int64_t sensorspool_size(struct sensorspool *s)
{
	pthread_mutex_lock(&s->mu);
	int64_t n = s->size;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void sensorspool_close(struct sensorspool *s, int remove)
{
	if (!s)
		return;
	close(s->fd);
	if (remove && unlink(s->path) == 0) {
		char err[256];
		/* should the removal not last, the file is replayed: harmless */
		(void)!fs_fsync_dir(s->dir, err, sizeof err);
	}
	spool_free(s);
}

/* ---- replay ---- */

struct rline {
	struct sensorspool_line l;
	size_t order; /* place in the file, to keep sorting stable */
};

struct rmark {
	size_t from, order;
	char *case_number;
};

/* One line record: 0, or -1 when it is not one. l->raw is malloc'd. */
static int parse_line(json_t *o, struct sensorspool_line *l)
{
	json_t *n = json_object_get(o, "n"), *t = json_object_get(o, "t"),
	       *f = json_object_get(o, "f"), *h = json_object_get(o, "hex");
	if (!json_is_integer(n) || json_integer_value(n) < 1 || !json_is_number(t) ||
	    !isfinite(json_number_value(t)) || !json_is_integer(f) || !json_is_string(h))
		return -1;
	const char *hex = json_string_value(h);
	size_t hl = strlen(hex);
	if (hl % 2)
		return -1;
	char *raw = xmalloc(hl / 2 + 1);
	if (hl && hex_decode(hex, (uint8_t *)raw, hl / 2)) {
		free(raw);
		return -1;
	}
	raw[hl / 2] = '\0';
	memset(l, 0, sizeof *l);
	l->line_no = (size_t)json_integer_value(n);
	l->wall = json_number_value(t);
	l->flags = (int)json_integer_value(f);
	l->raw = raw;
	l->len = hl / 2;
	return 0;
}

/* One case mark: 0, or -1 when it is not one. */
static int parse_mark(json_t *o, struct rmark *m)
{
	json_t *from = json_object_get(o, "from"), *c = json_object_get(o, "case");
	if (!json_is_integer(from) || json_integer_value(from) < 1 ||
	    (!json_is_null(c) && !json_is_string(c)))
		return -1;
	m->from = (size_t)json_integer_value(from);
	m->case_number = json_is_string(c) ? xstrdup(json_string_value(c)) : NULL;
	return 0;
}

static int rline_cmp(const void *a, const void *b)
{
	const struct rline *x = a, *y = b;
	if (x->l.line_no != y->l.line_no)
		return x->l.line_no < y->l.line_no ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int rmark_cmp(const void *a, const void *b)
{
	const struct rmark *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int sensorspool_read(const char *path, const struct sensorspool_reader *r, size_t *bad,
		     char *err, size_t errlen)
{
	struct buf b;
	int rc;
	*bad = 0;
	buf_init(&b, SENSORSPOOL_MAX);
	if (!(rc = fs_read_file(path, SENSORSPOOL_MAX, &b, err, errlen)))
		rc = sensorspool_parse(b.data, b.len, path, r, bad, err, errlen);
	buf_free(&b);
	return rc;
}

int sensorspool_parse(const char *data, size_t len, const char *path,
		      const struct sensorspool_reader *r, size_t *bad, char *err, size_t errlen)
{
	struct rline *lines = NULL;
	struct rmark *marks = NULL;
	size_t nl = 0, capl = 0, nm = 0, capm = 0, records = 0;
	int rc = 0;
	*bad = 0;
	if (len > SENSORSPOOL_MAX)
		return err_set(err, errlen, EV_ELIMIT, "%s: %zu bytes, more than a journal holds",
			       path, len);
	const char *p = data ? data : "", *end = p + len;
	while (p < end && !rc) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		const char *next = eol ? eol + 1 : end;
		/* a record without its newline was cut as it was written */
		json_t *o = eol && n < SPOOL_RECORD_MAX
				    ? json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL)
				    : NULL;
		if (records++ == 0) {
			const char *source = NULL, *spec = NULL;
			json_t *v = json_object_get(o, "evcap_sensor_journal");
			if (!json_is_integer(v) || json_integer_value(v) != 1 ||
			    json_unpack(o, "{s:s,s:s}", "source", &source, "spec", &spec))
				rc = err_set(err, errlen, EV_ECORRUPT,
					     "%s: not a sensor journal (no valid header)", path);
			else if (r->head && r->head(r->ctx, source, spec))
				rc = err_set(err, errlen, EV_ERR, "%s: replay stopped", path);
		} else if (json_object_get(o, "from")) {
			struct rmark m = {0};
			if (parse_mark(o, &m)) {
				++*bad;
			} else {
				if (nm == capm) {
					capm = capm ? capm * 2 : 8;
					marks = xrealloc(marks, capm * sizeof *marks);
				}
				m.order = records;
				marks[nm++] = m;
			}
		} else {
			struct sensorspool_line l;
			if (!o || parse_line(o, &l)) {
				++*bad;
			} else {
				if (nl == capl) {
					capl = capl ? capl * 2 : 64;
					lines = xrealloc(lines, capl * sizeof *lines);
				}
				lines[nl++] = (struct rline){l, records};
			}
		}
		json_decref(o);
		p = next;
	}
	if (!rc && records == 0)
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: empty, not a sensor journal", path);
	if (nl)
		qsort(lines, nl, sizeof *lines, rline_cmp);
	if (nm)
		qsort(marks, nm, sizeof *marks, rmark_cmp);
	/* each line with the last mark at or before it */
	for (size_t i = 0, m = 0; i < nl && !rc; i++) {
		while (m < nm && marks[m].from <= lines[i].l.line_no)
			m++;
		lines[i].l.case_known = m > 0;
		lines[i].l.case_number = m > 0 ? marks[m - 1].case_number : NULL;
		if (r->line && r->line(r->ctx, &lines[i].l))
			rc = err_set(err, errlen, EV_ERR, "%s: replay stopped at line %zu", path,
				     lines[i].l.line_no);
	}
	for (size_t i = 0; i < nl; i++)
		free((char *)lines[i].l.raw);
	for (size_t i = 0; i < nm; i++)
		free(marks[i].case_number);
	free(lines);
	free(marks);
	return rc;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sensorspool_list(const char *dir, char ***paths, size_t *n, char *err, size_t errlen)
{
	*paths = NULL;
	*n = 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0
				       : err_set(err, errlen, EV_EIO, "%s: %s", dir, strerror(errno));
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		size_t l = strlen(e->d_name);
		if (l <= strlen(SPOOL_EXT) || e->d_name[0] == '.' ||
		    strcmp(e->d_name + l - strlen(SPOOL_EXT), SPOOL_EXT) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*paths = xrealloc(*paths, cap * sizeof **paths);
		}
		(*paths)[(*n)++] = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(dp);
	if (*n)
		qsort(*paths, *n, sizeof **paths, path_cmp);
	return 0;
}
