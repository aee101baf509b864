/*
 * The sensor pump against a real pseudo-terminal: lines are timed when
 * they arrive even while nobody drains, handed over in order, an unplug
 * is reported after the last partial line, a full queue leaves lines in
 * the journal alone (or, with no journal, drops and counts them), and
 * stopping hands over what is still queued. Lines are numbered on from
 * where the reader left off, and journalled before they are handed over.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sensorpump.h"
#include "timeutil.h"
#include "t.h"

struct got {
	char text[16][32];
	size_t no[16];
	int flags[16];
	double wall[16];
	size_t n;
	int gone;
	size_t gone_after; /* lines handed over before the unplug */
	uint64_t lost;
	size_t spills, spill_first, spill_last;
	size_t spill_after; /* lines handed over before the first spill */
};

static void got_line(void *ctx, size_t idx, size_t line_no, const char *line, size_t len,
		     int flags, double mono, double wall)
{
	struct got *g = ctx;
	(void)mono;
	if (idx != 0 || g->n >= 16)
		return;
	snprintf(g->text[g->n], sizeof g->text[0], "%.*s", (int)len, line);
	g->no[g->n] = line_no;
	g->flags[g->n] = flags;
	g->wall[g->n] = wall;
	g->n++;
}

static void got_gone(void *ctx, size_t idx)
{
	struct got *g = ctx;
	if (idx == 0 && !g->gone) {
		g->gone = 1;
		g->gone_after = g->n;
	}
}

static void got_lost(void *ctx, size_t idx, uint64_t n)
{
	struct got *g = ctx;
	if (idx == 0)
		g->lost += n;
}

static void got_spilled(void *ctx, size_t idx, size_t first, size_t last)
{
	struct got *g = ctx;
	if (idx != 0)
		return;
	if (!g->spills++) {
		g->spill_first = first;
		g->spill_after = g->n;
	}
	g->spill_last = last;
}

static void nap(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* A pty pair: the master's descriptor, and a spec naming the slave. */
static int pty_open(char *spec, size_t n)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m)) {
		if (m >= 0)
			close(m);
		return -1;
	}
	snprintf(spec, n, "%s:9600:csv", ptsname(m));
	return m;
}

/* Waits until the pump says something is queued (at most 3 s). */
static int wait_queued(struct sensorpump *p)
{
	struct pollfd pf = {.fd = sensorpump_fd(p), .events = POLLIN};
	return poll(&pf, 1, 3000) == 1;
}

static int put(int fd, const char *s)
{
	size_t n = strlen(s);
	return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* A pty's slave opened as a CSV reader, and a pump for it queueing at
 * most max lines, journalling to spool (or not: NULL), numbering on from
 * last_line. Returns the master's descriptor, or -1 with nothing left
 * open (*skip set when there is no pty to be had). */
static int pump_on_pty(size_t max, struct sensorspool *spool, size_t last_line,
		       struct sensorline **l, struct sensorpump **p, int *skip)
{
	char spec[128], err[256];
	*l = NULL;
	*p = NULL;
	*skip = 0;
	int m = pty_open(spec, sizeof spec);
	if (m < 0) {
		*skip = 1;
		return -1;
	}
	CHECK(sensorline_open(spec, NULL, NULL, l, err, sizeof err) == 0);
	CHECK(*l && sensorline_fd(*l) >= 0);
	struct sensorpump_reader r = {*l, spool, last_line};
	CHECK(*l && sensorpump_start(&r, 1, max, p, err, sizeof err) == 0);
	if (!*p) {
		sensorline_free(*l);
		close(m);
		return -1;
	}
	return m;
}

/* What a journal holds, read back. */
struct back {
	size_t n, no[16];
	double wall[16];
	char text[16][32];
};

static int back_line(void *ctx, const struct sensorspool_line *l)
{
	struct back *b = ctx;
	if (b->n < 16) {
		b->no[b->n] = l->line_no;
		b->wall[b->n] = l->wall;
		snprintf(b->text[b->n], sizeof b->text[0], "%.*s", (int)l->len, l->raw);
		b->n++;
	}
	return 0;
}

/* pump_on_pty with a journal for the reader, in a new folder made from
 * the template dir. Returns the master's descriptor, or -1 with nothing
 * left open or on disk (*skip set when there is no pty to be had). */
static int pump_with_journal(char *dir, const char *source, size_t max, size_t last_line,
			     struct sensorspool **sp, struct sensorline **l,
			     struct sensorpump **p, int *skip)
{
	char err[256];
	*sp = NULL;
	*skip = 0;
	CHECK(mkdtemp(dir) != NULL);
	CHECK(sensorspool_open(dir, source, "/dev/pty:9600:csv", sp, err, sizeof err) == 0);
	if (!*sp)
		return -1;
	int m = pump_on_pty(max, *sp, last_line, l, p, skip);
	if (m < 0) {
		sensorspool_close(*sp, 1);
		rmdir(dir);
	}
	return m;
}

/* Closes sp, reads back what it held into b, and removes it and dir. */
static void read_back(struct sensorspool *sp, const char *dir, struct back *b, size_t *bad)
{
	char err[256], path[512];
	snprintf(path, sizeof path, "%s", sensorspool_path(sp));
	sensorspool_close(sp, 0);
	struct sensorspool_reader rd = {NULL, back_line, b};
	*bad = 9;
	CHECK(sensorspool_read(path, &rd, bad, err, sizeof err) == 0);
	unlink(path);
	rmdir(dir);
}

static void test_timed_on_arrival(void)
{
	struct sensorline *l;
	struct sensorpump *p;
	struct sensorspool *sp;
	char dir[] = "/tmp/evcap-tpump-XXXXXX";
	int skip;
	/* the reader's lines so far ended at 40 (a pump restarted on reload) */
	int m = pump_with_journal(dir, "serial:/dev/pty@test", 64, 40, &sp, &l, &p, &skip);
	if (skip)
		T_SKIP("no pseudo-terminal here");
	if (m < 0)
		return;
	/* three lines 0.4 s apart while this thread, like a busy loop,
	 * drains nothing; one of them arrives in two writes */
	double sent[3];
	sent[0] = time_now();
	CHECK(put(m, "first\r\n") == 0);
	nap(0.4);
	sent[1] = time_now();
	CHECK(put(m, "sec") == 0);
	CHECK(put(m, "ond\n") == 0);
	nap(0.4);
	sent[2] = time_now();
	CHECK(put(m, "third\r\n") == 0);
	CHECK(wait_queued(p));
	nap(0.2);
	struct got g = {0};
	struct sensorpump_cb cb = {.line = got_line, .gone = got_gone, .lost = got_lost, .ctx = &g};
	CHECK(sensorpump_drain(p, &cb) == 3);
	CHECK(g.n == 3);
	CHECK_STR(g.text[0], "first");
	CHECK_STR(g.text[1], "second");
	CHECK_STR(g.text[2], "third");
	for (size_t i = 0; i < 3 && i < g.n; i++) {
		CHECK(g.no[i] == 41 + i);
		/* read within a moment of being sent, not when drained */
		CHECK(g.wall[i] >= sent[i] - 0.01);
		CHECK(g.wall[i] < sent[i] + 0.2);
		CHECK(g.flags[i] == 0);
	}
	CHECK(!g.gone && g.lost == 0);
	/* nothing more: a second drain hands over nothing */
	CHECK(sensorpump_drain(p, &cb) == 0);

	/* stopping hands over what is still queued */
	CHECK(put(m, "fourth\r\n") == 0);
	CHECK(wait_queued(p));
	nap(0.1);
	sensorpump_stop(p, &cb);
	CHECK(g.n == 4);
	CHECK_STR(g.text[3], "fourth");
	CHECK(g.no[3] == 44);
	sensorline_free(l);
	close(m);

	/* each line handed over was in the journal, with its number and time */
	struct back b = {0};
	size_t bad;
	read_back(sp, dir, &b, &bad);
	CHECK(bad == 0);
	CHECK(b.n == 4);
	for (size_t i = 0; i < 4 && i < b.n && i < g.n; i++) {
		CHECK(b.no[i] == g.no[i]);
		CHECK(b.wall[i] == g.wall[i]); /* the very same double */
		CHECK_STR(b.text[i], g.text[i]);
	}
}

static void test_unplug_and_full_queue(void)
{
	struct sensorline *l;
	struct sensorpump *p;
	int skip, m = pump_on_pty(2, NULL, 0, &l, &p, &skip);
	if (skip)
		T_SKIP("no pseudo-terminal here");
	if (m < 0)
		return;
	struct got g = {0};
	struct sensorpump_cb cb = {.line = got_line, .gone = got_gone, .lost = got_lost, .ctx = &g};
	/* five lines with room for two: three dropped, and counted */
	CHECK(put(m, "1\n2\n3\n4\n5\n") == 0);
	CHECK(wait_queued(p));
	nap(0.3);
	CHECK(sensorpump_drain(p, &cb) == 2);
	CHECK(g.n == 2 && g.lost == 3);
	CHECK_STR(g.text[0], "1");
	CHECK_STR(g.text[1], "2");
	CHECK(g.no[0] == 1 && g.no[1] == 2);
	/* room again after the drain; then the device goes away */
	CHECK(put(m, "6\n") == 0);
	CHECK(wait_queued(p));
	nap(0.1);
	close(m);
	for (int i = 0; i < 30 && !g.gone; i++) {
		if (wait_queued(p))
			(void)sensorpump_drain(p, &cb);
		nap(0.05);
	}
	CHECK(g.gone);
	CHECK(g.gone_after == 3);
	CHECK(g.n >= 3);
	if (g.n >= 3) {
		CHECK_STR(g.text[2], "6");
		CHECK(g.no[2] == 3); /* a dropped line gets no number */
	}
	sensorpump_stop(p, &cb);
	CHECK(sensorline_fd(l) < 0); /* closed by the unplug, now ours again */
	sensorline_free(l);
}

static void test_full_queue_spills_to_the_journal(void)
{
	struct sensorline *l;
	struct sensorpump *p;
	struct sensorspool *sp;
	char dir[] = "/tmp/evcap-tpump-XXXXXX";
	int skip;
	int m = pump_with_journal(dir, "serial:/dev/pty@spill", 2, 0, &sp, &l, &p, &skip);
	if (skip)
		T_SKIP("no pseudo-terminal here");
	if (m < 0)
		return;
	struct got g = {0};
	struct sensorpump_cb cb = {.line = got_line, .gone = got_gone, .lost = got_lost, .ctx = &g};
	cb.spilled = got_spilled;
	/* five lines with room for two: three numbered and journalled, handed
	 * over as one spill after the two queued; none lost */
	CHECK(put(m, "1\n2\n3\n4\n5\n") == 0);
	CHECK(wait_queued(p));
	nap(0.3);
	CHECK(sensorpump_drain(p, &cb) == 2);
	CHECK(g.n == 2 && g.lost == 0);
	CHECK(g.spills == 1 && g.spill_after == 2);
	CHECK(g.spill_first == 3 && g.spill_last == 5);
	/* room again: the next line is queued, numbered after the spill */
	CHECK(put(m, "6\n") == 0);
	CHECK(wait_queued(p));
	nap(0.1);
	sensorpump_stop(p, &cb);
	CHECK(g.n == 3 && g.spills == 1);
	if (g.n == 3) {
		CHECK_STR(g.text[2], "6");
		CHECK(g.no[2] == 6);
	}
	sensorline_free(l);
	close(m);
	/* the journal holds all six, in order */
	struct back b = {0};
	size_t bad;
	read_back(sp, dir, &b, &bad);
	CHECK(bad == 0 && b.n == 6);
	for (size_t i = 0; i < b.n && i < 6; i++) {
		char want[4];
		snprintf(want, sizeof want, "%zu", i + 1);
		CHECK(b.no[i] == i + 1);
		CHECK_STR(b.text[i], want);
	}
}

static void test_limits(void)
{
	char err[256];
	struct sensorpump *p = (struct sensorpump *)1;
	struct sensorpump_reader v[SENSORPUMP_MAX + 1] = {0};
	CHECK(sensorpump_start(v, SENSORPUMP_MAX + 1, 8, &p, err, sizeof err) != 0);
	CHECK(p == NULL);
	CHECK(strstr(err, "at most") != NULL);
	/* no readers at all: starts, stops, hands over nothing */
	CHECK(sensorpump_start(v, 0, 8, &p, err, sizeof err) == 0);
	CHECK(sensorpump_drain(p, NULL) == 0);
	sensorpump_stop(p, NULL);
	sensorpump_stop(NULL, NULL);
	CHECK(sensorpump_fd(NULL) == -1);
}

/* What a reader said, kept for a test to read. */
struct said {
	size_t n;
	char msg[8][256];
};

static void keep_log(void *ctx, const char *msg)
{
	struct said *s = ctx;
	if (s->n < 8)
		snprintf(s->msg[s->n], sizeof s->msg[0], "%s", msg);
	s->n++;
}

/* A device that is not there is said at once, with its name; then, on the
 * caller's clock, again a minute on (at the first try after it: up to 5 s
 * later), and at doubling waits (2, 4 min...) while it stays away; the
 * tries between are backed off, never a spin. */
static void test_missing_device_is_said_again(void)
{
	struct sensorline *l = NULL;
	struct said s = {0};
	char err[256];
	CHECK(sensorline_open("/nonexistent/evcap-probe:9600:csv", keep_log, &s, &l, err,
			      sizeof err) == 0);
	CHECK(l && sensorline_fd(l) < 0);
	CHECK(s.n == 1 && strstr(s.msg[0], "/nonexistent/evcap-probe: cannot open") &&
	      strstr(s.msg[0], "waiting for it"));
	size_t tries = 0;
	double t = 1000;
	size_t said_at_66 = 0, said_at_200 = 0;
	while (l && t < 1000 + 200) {
		double w = sensorline_timeout(l, t);
		CHECK(w >= 0 && w <= SENSORLINE_BACKOFF_MAX);
		t += w > 0 ? w : 0.01;
		sensorline_tick(l, t);
		tries++;
		if (t < 1000 + 66)
			said_at_66 = s.n;
	}
	said_at_200 = s.n;
	/* about one try in 5 s once backed off: some 45 in 200 s */
	CHECK(tries > 30 && tries < 60);
	CHECK(said_at_66 == 2 && strstr(s.msg[1], "/nonexistent/evcap-probe: still waiting") &&
	      strstr(s.msg[1], "1 min so far"));
	/* the next a further two minutes on, at about 3 min */
	CHECK(said_at_200 == 3 && strstr(s.msg[2], "3 min so far"));
	sensorline_free(l);
}

int main(void)
{
	RUN(test_timed_on_arrival);
	RUN(test_unplug_and_full_queue);
	RUN(test_full_queue_spills_to_the_journal);
	RUN(test_limits);
	RUN(test_missing_device_is_said_again);
	T_EXIT();
}
