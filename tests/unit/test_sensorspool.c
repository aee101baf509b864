/*
 * The probes' journal: lines come back with their bytes, numbers, times
 * and cases, in number order whatever order they were written in; a torn
 * or damaged record is skipped and counted; a clear keeps lines written
 * after the ones recorded; a new run never takes over an existing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "sensorspool.h"
#include "t.h"

struct back {
	size_t n, no[16];
	double wall[16];
	int flags[16], known[16];
	char cases[16][64];
	char raw[16][32];
	size_t len[16];
	char source[128], spec[128];
	int heads;
};

static int back_head(void *ctx, const char *source, const char *spec)
{
	struct back *b = ctx;
	b->heads++;
	snprintf(b->source, sizeof b->source, "%s", source);
	snprintf(b->spec, sizeof b->spec, "%s", spec);
	return 0;
}

static int back_line(void *ctx, const struct sensorspool_line *l)
{
	struct back *b = ctx;
	if (b->n >= 16 || l->len > sizeof b->raw[0])
		return -1;
	size_t i = b->n++;
	b->no[i] = l->line_no;
	b->wall[i] = l->wall;
	b->flags[i] = l->flags;
	b->known[i] = l->case_known;
	snprintf(b->cases[i], sizeof b->cases[0], "%s", l->case_number ? l->case_number : "-");
	memcpy(b->raw[i], l->raw, l->len);
	b->len[i] = l->len;
	return 0;
}

static char *tmpdir(void)
{
	char *d = xasprintf("%s/evcap-tspool-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

static void rm_dir(char *d)
{
	char **paths;
	size_t n;
	char err[256];
	if (sensorspool_list(d, &paths, &n, err, sizeof err) == 0) {
		for (size_t i = 0; i < n; i++) {
			unlink(paths[i]);
			free(paths[i]);
		}
		free(paths);
	}
	rmdir(d);
	free(d);
}

/* A journal for source and spec in a new temp folder *d, its path in
 * path: 0, or -1 with nothing left behind. */
static int open_tmp(const char *source, const char *spec, char **d, struct sensorspool **s,
		    char path[512])
{
	char err[256];
	*s = NULL;
	*d = tmpdir();
	CHECK(*d != NULL);
	if (!*d)
		return -1;
	CHECK(sensorspool_open(*d, source, spec, s, err, sizeof err) == 0);
	if (!*s) {
		rm_dir(*d);
		return -1;
	}
	snprintf(path, 512, "%s", sensorspool_path(*s));
	return 0;
}

/* Reads path back into b; returns sensorspool_read's result. */
static int read_back(const char *path, struct back *b, size_t *bad)
{
	char err[256];
	memset(b, 0, sizeof *b);
	struct sensorspool_reader r = {back_head, back_line, b};
	return sensorspool_read(path, &r, bad, err, sizeof err);
}

static void append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
		close(fd);
	}
}

static void test_roundtrip(void)
{
	char *d, err[256], path[512];
	struct sensorspool *s;
	size_t bad = 9;
	struct back b;
	if (open_tmp("serial:/dev/ttyUSB0@2026-11-29T08:00:00Z",
		     "/dev/ttyUSB0:9600:sdi12:generic-tdp", &d, &s, path))
		return;
	CHECK(sensorspool_mark_case(s, 1, "嫩检公益立〔2023〕15号", err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 1, 1764403200.125, 0, "0+17.5+8.25", 11, err, sizeof err) == 0);
	/* bytes that are not text, a NUL among them, come back as they were */
	CHECK(sensorspool_add(s, 2, 1764403201.0000001, 2, "0+\xff\0\xfe", 5, err, sizeof err) ==
	      0);
	CHECK(sensorspool_mark_case(s, 3, NULL, err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 3, 1764403202.5, 0, "", 0, err, sizeof err) == 0);
	CHECK(sensorspool_mark_case(s, 4, "B", err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 4, 1764403203.75, 1, "do,7.25,mg/L", 12, err, sizeof err) == 0);
	CHECK(sensorspool_sync(s, err, sizeof err) == 0);
	CHECK(read_back(path, &b, &bad) == 0);
	CHECK(bad == 0 && b.heads == 1 && b.n == 4);
	CHECK_STR(b.source, "serial:/dev/ttyUSB0@2026-11-29T08:00:00Z");
	CHECK_STR(b.spec, "/dev/ttyUSB0:9600:sdi12:generic-tdp");
	if (b.n == 4) {
		CHECK(b.no[0] == 1 && b.no[1] == 2 && b.no[2] == 3 && b.no[3] == 4);
		CHECK(b.wall[0] == 1764403200.125 && b.wall[1] == 1764403201.0000001);
		CHECK(b.flags[1] == 2 && b.flags[3] == 1);
		CHECK(b.len[0] == 11 && memcmp(b.raw[0], "0+17.5+8.25", 11) == 0);
		CHECK(b.len[1] == 5 && memcmp(b.raw[1], "0+\xff\0\xfe", 5) == 0);
		CHECK(b.len[2] == 0);
		CHECK(b.known[0] && b.known[1] && b.known[2] && b.known[3]);
		CHECK_STR(b.cases[0], "嫩检公益立〔2023〕15号");
		CHECK_STR(b.cases[1], "嫩检公益立〔2023〕15号");
		CHECK_STR(b.cases[2], "-"); /* marked: no case */
		CHECK_STR(b.cases[3], "B");
	}
	sensorspool_close(s, 1);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
	rm_dir(d);
}

/* The pump writes lines as they come; the loop marks the case when it
 * takes them, so a mark can follow its lines. Lines before any mark have
 * no known case. */
static void test_order_and_marks(void)
{
	char *d, err[256], path[512];
	struct sensorspool *s;
	size_t bad = 9;
	struct back b;
	if (open_tmp("src", "spec", &d, &s, path))
		return;
	CHECK(sensorspool_add(s, 1, 1.0, 0, "a", 1, err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 3, 3.0, 0, "c", 1, err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 2, 2.0, 0, "b", 1, err, sizeof err) == 0);
	CHECK(sensorspool_mark_case(s, 2, "X", err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 4, 4.0, 0, "d", 1, err, sizeof err) == 0);
	CHECK(sensorspool_mark_case(s, 4, "Y", err, sizeof err) == 0);
	sensorspool_close(s, 0);
	CHECK(read_back(path, &b, &bad) == 0);
	CHECK(bad == 0 && b.n == 4);
	if (b.n == 4) {
		CHECK(b.no[0] == 1 && b.no[1] == 2 && b.no[2] == 3 && b.no[3] == 4);
		CHECK(b.raw[0][0] == 'a' && b.raw[1][0] == 'b' && b.raw[2][0] == 'c');
		CHECK(!b.known[0]);
		CHECK(b.known[1] && b.known[2] && b.known[3]);
		CHECK_STR(b.cases[1], "X");
		CHECK_STR(b.cases[2], "X");
		CHECK_STR(b.cases[3], "Y");
	}
	rm_dir(d);
}

static void test_torn_and_damaged(void)
{
	char *d, err[256], path[512];
	struct sensorspool *s;
	size_t bad = 0;
	struct back b;
	if (open_tmp("src", "spec", &d, &s, path))
		return;
	CHECK(sensorspool_add(s, 1, 1.0, 0, "ok1", 3, err, sizeof err) == 0);
	sensorspool_close(s, 0);
	append(path, "{\"n\":2,\"t\":2.0,\"f\":0,\"hex\":\"zz\"}\n"); /* not hex */
	append(path, "not json at all\n");
	append(path, "{\"n\":3,\"t\":3.0,\"f\":0,\"hex\":\"6f6b33\"}\n");
	append(path, "{\"from\":\"one\",\"case\":\"X\"}\n");        /* a bad mark */
	append(path, "{\"n\":4,\"t\":4.0,\"f\":0,\"hex\":\"6f6b"); /* torn: no newline */
	CHECK(read_back(path, &b, &bad) == 0);
	CHECK(bad == 4);
	CHECK(b.n == 2);
	if (b.n == 2)
		CHECK(b.no[0] == 1 && b.no[1] == 3 && memcmp(b.raw[1], "ok3", 3) == 0);

	/* no header: not a journal; an empty file neither */
	char other[600];
	snprintf(other, sizeof other, "%s/junk.jnl", d);
	CHECK(fs_write_atomic(other, "{\"n\":1}\n", 8, 0600, 0, err, sizeof err) == 0);
	CHECK(read_back(other, &b, &bad) == EV_ECORRUPT);
	CHECK(fs_write_atomic(other, "", 0, 0600, 0, err, sizeof err) == 0);
	CHECK(read_back(other, &b, &bad) == EV_ECORRUPT);
	CHECK(b.heads == 0);
	rm_dir(d);
}

static void test_clear_upto(void)
{
	char *d, err[256], path[512];
	struct sensorspool *s;
	size_t bad;
	struct back b;
	struct stat st;
	if (open_tmp("src", "spec", &d, &s, path))
		return;
	/* the size it reports is the file's, header and all */
	int64_t head = sensorspool_size(s);
	CHECK(stat(path, &st) == 0 && head > 0 && st.st_size == head);
	CHECK(sensorspool_mark_case(s, 1, "X", err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 1, 1.0, 0, "a", 1, err, sizeof err) == 0);
	CHECK(sensorspool_add(s, 2, 2.0, 0, "b", 1, err, sizeof err) == 0);
	CHECK(stat(path, &st) == 0 && st.st_size == sensorspool_size(s) && st.st_size > head);
	/* line 2 was written after the batch of line 1: nothing is cut */
	CHECK(sensorspool_clear_upto(s, 1, err, sizeof err) == 0);
	CHECK(read_back(path, &b, &bad) == 0 && b.n == 2);
	/* all recorded: back to the header */
	CHECK(sensorspool_clear_upto(s, 2, err, sizeof err) == 0);
	CHECK(read_back(path, &b, &bad) == 0 && b.n == 0 && b.heads == 1);
	CHECK(sensorspool_size(s) == head);
	CHECK_STR(b.source, "src");
	/* and on from there */
	CHECK(sensorspool_add(s, 3, 3.0, 0, "c", 1, err, sizeof err) == 0);
	CHECK(sensorspool_sync(s, err, sizeof err) == 0);
	CHECK(read_back(path, &b, &bad) == 0 && b.n == 1 && b.no[0] == 3 && !b.known[0]);
	sensorspool_close(s, 0);
	rm_dir(d);
}

static void test_new_file_each_run(void)
{
	char *d = tmpdir(), err[256], **paths = NULL;
	struct sensorspool *a = NULL, *b = NULL;
	size_t n = 9;
	if (!d)
		return;
	char *sub = xasprintf("%s/spool", d);
	/* no folder yet: no journals, not an error */
	CHECK(sensorspool_list(sub, &paths, &n, err, sizeof err) == 0 && n == 0 && !paths);
	/* the same source twice (a restart within the second): two files */
	CHECK(sensorspool_open(sub, "same", "spec", &a, err, sizeof err) == 0);
	CHECK(sensorspool_open(sub, "same", "spec", &b, err, sizeof err) == 0);
	if (a && b) {
		CHECK(strcmp(sensorspool_path(a), sensorspool_path(b)) != 0);
		CHECK(sensorspool_add(a, 1, 1.0, 0, "x", 1, err, sizeof err) == 0);
		CHECK(sensorspool_sync(a, err, sizeof err) == 0);
		CHECK(sensorspool_list(sub, &paths, &n, err, sizeof err) == 0 && n == 2);
		if (n == 2)
			CHECK(strcmp(paths[0], paths[1]) < 0);
		for (size_t i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		sensorspool_close(b, 1);
		CHECK(sensorspool_list(sub, &paths, &n, err, sizeof err) == 0 && n == 1);
		if (n == 1)
			CHECK_STR(paths[0], sensorspool_path(a));
		for (size_t i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
	}
	sensorspool_close(a, 0);
	rm_dir(sub);
	rmdir(d);
	free(d);
}

/* A journal grown past what one read takes is refused whole, naming it:
 * its lines stay in it (the daemon keeps the file and says so). */
static void test_too_large(void)
{
	char *d, path[512], err[256];
	struct sensorspool *s;
	if (open_tmp("/dev/ttyUSB0", "9600:sdi12:generic-tdp", &d, &s, path))
		return;
	sensorspool_close(s, 0);
	append(path, "{\"n\":1}\n");
	CHECK(truncate(path, (off_t)SENSORSPOOL_MAX + 1) == 0); /* sparse: no 64 MiB written */
	struct back b;
	memset(&b, 0, sizeof b);
	struct sensorspool_reader r = {back_head, back_line, &b};
	size_t bad = 0;
	int rc = sensorspool_read(path, &r, &bad, err, sizeof err);
	CHECK(rc != 0 && rc != EV_ERR);
	CHECK(strstr(err, path) != NULL);
	CHECK(b.heads == 0 && b.n == 0);
	/* at the limit exactly it is read (here: a header, then zeros) */
	CHECK(truncate(path, (off_t)SENSORSPOOL_MAX) == 0);
	memset(&b, 0, sizeof b);
	rc = sensorspool_read(path, &r, &bad, err, sizeof err);
	CHECK(b.heads == 1);
	rm_dir(d);
}

int main(void)
{
	RUN(test_roundtrip);
	RUN(test_order_and_marks);
	RUN(test_torn_and_damaged);
	RUN(test_clear_upto);
	RUN(test_new_file_each_run);
	RUN(test_too_large);
	T_EXIT();
}
