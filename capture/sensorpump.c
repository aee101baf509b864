/*
 * The thread behind sensorpump.h. It sleeps in poll() on the readers'
 * descriptors and one eventfd that wakes it to stop; a reader that is
 * away gives poll its reopen deadline as a timeout. Lines are copied into
 * a list under a mutex, and a second eventfd tells the loop there is
 * something to drain. The drain takes the whole list in one step and
 * hands it over without holding the lock, so the thread is never held up
 * by what the loop does with a line. A line is journalled before it is
 * queued, and the journals written in a round are synced before the
 * thread polls again.
 */
#include "sensorpump.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"

enum { ENT_LINE, ENT_GONE, ENT_SPILL };

struct entry {
	struct entry *next;
	size_t idx;
	size_t line_no; /* a spill: its first line */
	size_t last_no; /* a spill: its last line */
	int kind;
	int flags;
	double mono, wall;
	size_t len;
	char text[];
};

struct sensorpump {
	struct sensorline *lines[SENSORPUMP_MAX];
	struct sensorspool *spools[SENSORPUMP_MAX];
	int spool_dirty[SENSORPUMP_MAX]; /* written this round: sync before polling */
	size_t n;
	size_t max_queued;
	int wake_fd;   /* the loop polls it: something is queued */
	int ctl_fd;    /* the thread polls it: stop */
	atomic_int stop;
	pthread_t thread;

	pthread_mutex_t mu; /* guards what follows */
	struct entry *head, **tail;
	struct entry *last; /* the list's last entry, NULL when it is empty */
	size_t queued;      /* lines in the list */
	size_t last_line[SENSORPUMP_MAX];
	uint64_t lost[SENSORPUMP_MAX];
};

/* What a reader's callback needs to queue a line. */
struct read_ctx {
	struct sensorpump *p;
	size_t idx;
	double wall;
};

static void wake(int fd)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is full, so the reader wakes anyway */
	while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* Appends e to the list; p->mu held. */
static void append_locked(struct sensorpump *p, struct entry *e)
{
	*p->tail = e;
	p->tail = &e->next;
	p->last = e;
}

/*
 * The queue is full: line line_no is in the reader's journal only. It
 * joins the spill at the list's end when that spill is the same reader's
 * and ends just before it, so a long wait costs one entry.
 */
static void spill(struct sensorpump *p, size_t idx, size_t line_no)
{
	pthread_mutex_lock(&p->mu);
	struct entry *t = p->last;
	if (t && t->kind == ENT_SPILL && t->idx == idx && t->last_no + 1 == line_no) {
		t->last_no = line_no;
		pthread_mutex_unlock(&p->mu);
		return;
	}
	pthread_mutex_unlock(&p->mu);
	struct entry *e = xcalloc(1, sizeof *e);
	e->idx = idx;
	e->kind = ENT_SPILL;
	e->line_no = e->last_no = line_no;
	pthread_mutex_lock(&p->mu);
	append_locked(p, e);
	pthread_mutex_unlock(&p->mu);
}

/* Whether the reader's journal can take lines the queue has no room for. */
static int can_spill(struct sensorpump *p, size_t idx)
{
	return p->spools[idx] && sensorspool_size(p->spools[idx]) < SENSORSPOOL_SPILL_MAX;
}

/* Queues an entry. A line is numbered and journalled first; when the
 * queue is full it stays in the journal alone (a spill), or, with no
 * journal to hold it, is dropped and counted. Only this thread adds
 * entries, so there is still room once it has been seen. */
static void enqueue(struct sensorpump *p, size_t idx, int kind, const char *text, size_t len,
		    int flags, double mono, double wall)
{
	size_t line_no = 0;
	int full = 0;
	pthread_mutex_lock(&p->mu);
	if (kind == ENT_LINE && p->queued >= p->max_queued) {
		full = 1;
		if (!can_spill(p, idx)) {
			p->lost[idx]++;
			pthread_mutex_unlock(&p->mu);
			wake(p->wake_fd); /* so the loss is reported */
			return;
		}
	}
	if (kind == ENT_LINE)
		line_no = ++p->last_line[idx];
	pthread_mutex_unlock(&p->mu);
	if (kind == ENT_LINE && p->spools[idx]) {
		char err[8];
		/* a failure sticks to the journal: its owner hears of it there */
		if (sensorspool_add(p->spools[idx], line_no, wall, flags, text, len, err, sizeof err))
			p->spools[idx] = NULL;
		else
			p->spool_dirty[idx] = 1;
	}
	if (full) {
		if (p->spools[idx]) {
			spill(p, idx, line_no);
		} else { /* the journal failed just now */
			pthread_mutex_lock(&p->mu);
			p->lost[idx]++;
			pthread_mutex_unlock(&p->mu);
		}
		wake(p->wake_fd);
		return;
	}
	struct entry *e = xmalloc(sizeof *e + len);
	e->next = NULL;
	e->idx = idx;
	e->line_no = line_no;
	e->last_no = line_no;
	e->kind = kind;
	e->flags = flags;
	e->mono = mono;
	e->wall = wall;
	e->len = len;
	if (len)
		memcpy(e->text, text, len);
	pthread_mutex_lock(&p->mu);
	append_locked(p, e);
	if (kind == ENT_LINE)
		p->queued++;
	pthread_mutex_unlock(&p->mu);
	wake(p->wake_fd);
}

static void on_line(void *ctx, const char *line, size_t len, int flags, double now)
{
	struct read_ctx *c = ctx;
	enqueue(c->p, c->idx, ENT_LINE, line, len, flags, now, c->wall);
}

static void *pump_main(void *arg)
{
	struct sensorpump *p = arg;
	struct pollfd pf[1 + SENSORPUMP_MAX];
	int at[SENSORPUMP_MAX];
	while (!atomic_load(&p->stop)) {
		double now = time_mono(), wait = -1;
		nfds_t np = 0;
		pf[np++] = (struct pollfd){.fd = p->ctl_fd, .events = POLLIN};
		for (size_t i = 0; i < p->n; i++) {
			sensorline_tick(p->lines[i], now);
			int fd = sensorline_fd(p->lines[i]);
			at[i] = fd >= 0 ? (int)np : -1;
			if (fd >= 0) {
				pf[np++] = (struct pollfd){.fd = fd, .events = POLLIN};
				continue;
			}
			double w = sensorline_timeout(p->lines[i], now);
			if (w >= 0 && (wait < 0 || w < wait))
				wait = w;
		}
		int timeout = wait < 0 ? -1 : (int)ceil(fmin(wait, 3600.0) * 1000.0);
		int r = poll(pf, np, timeout);
		if (r < 0) {
			if (errno != EINTR) {
				/* not expected (ENOMEM): do not spin */
				struct timespec ts = {0, 100 * 1000 * 1000};
				nanosleep(&ts, NULL);
			}
			continue;
		}
		if (pf[0].revents) {
			uint64_t v;
			(void)!read(p->ctl_fd, &v, sizeof v);
		}
		struct read_ctx c = {p, 0, time_now()};
		now = time_mono();
		for (size_t i = 0; i < p->n; i++) {
			if (at[i] < 0 || !(pf[at[i]].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			c.idx = i;
			(void)sensorline_readable(p->lines[i], now, on_line, &c);
			if (sensorline_fd(p->lines[i]) < 0)
				enqueue(p, i, ENT_GONE, NULL, 0, 0, now, c.wall);
		}
		/* what was read this round is on disk before the thread waits */
		for (size_t i = 0; i < p->n; i++) {
			char err[8];
			if (p->spool_dirty[i] && p->spools[i] &&
			    sensorspool_sync(p->spools[i], err, sizeof err))
				p->spools[i] = NULL;
			p->spool_dirty[i] = 0;
		}
	}
	return NULL;
}

int sensorpump_start(const struct sensorpump_reader *readers, size_t n, size_t max_queued,
		     struct sensorpump **out, char *err, size_t errlen)
{
	*out = NULL;
	if (n > SENSORPUMP_MAX)
		return err_set(err, errlen, EV_EINVAL, "%zu sensors; at most %d can be read", n,
			       SENSORPUMP_MAX);
	struct sensorpump *p = xcalloc(1, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p->lines[i] = readers[i].line;
		p->spools[i] = readers[i].spool;
		p->last_line[i] = readers[i].last_line;
	}
	p->n = n;
	p->max_queued = max_queued ? max_queued : 1;
	p->tail = &p->head;
	pthread_mutex_init(&p->mu, NULL);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = 0;
	if (p->wake_fd < 0 || p->ctl_fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* signals belong to the loop's signalfd: the thread takes none */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&p->thread, NULL, pump_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		rc = err_set(err, errlen, EV_EIO, "cannot start a thread: %s", strerror(e));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}

int sensorpump_fd(const struct sensorpump *p)
{
	return p ? p->wake_fd : -1;
}

size_t sensorpump_drain(struct sensorpump *p, const struct sensorpump_cb *cb)
{
	static const struct sensorpump_cb none;
	uint64_t v, lost[SENSORPUMP_MAX];
	size_t lines = 0;
	if (!p)
		return 0;
	if (!cb)
		cb = &none;
	(void)!read(p->wake_fd, &v, sizeof v);
	pthread_mutex_lock(&p->mu);
	struct entry *e = p->head;
	p->head = NULL;
	p->tail = &p->head;
	p->last = NULL;
	p->queued = 0;
	memcpy(lost, p->lost, sizeof lost);
	memset(p->lost, 0, sizeof p->lost);
	pthread_mutex_unlock(&p->mu);
	while (e) {
		struct entry *next = e->next;
		if (e->kind == ENT_LINE) {
			lines++;
			if (cb->line)
				cb->line(cb->ctx, e->idx, e->line_no, e->text, e->len, e->flags,
					 e->mono, e->wall);
		} else if (e->kind == ENT_SPILL) {
			if (cb->spilled)
				cb->spilled(cb->ctx, e->idx, e->line_no, e->last_no);
		} else if (cb->gone) {
			cb->gone(cb->ctx, e->idx);
		}
		free(e);
		e = next;
	}
	/* lines are dropped only while the queue is full: after those above */
	for (size_t i = 0; i < p->n; i++)
		if (lost[i] && cb->lost)
			cb->lost(cb->ctx, i, lost[i]);
	return lines;
}

void sensorpump_stop(struct sensorpump *p, const struct sensorpump_cb *cb)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	wake(p->ctl_fd);
	pthread_join(p->thread, NULL);
	(void)sensorpump_drain(p, cb);
	close(p->wake_fd);
	close(p->ctl_fd);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
