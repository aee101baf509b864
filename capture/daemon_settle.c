/*
 * The settling list: a hash table of entries keyed by path (FNV-1a,
 * chained), scanned linearly for due entries. A card holds hundreds to a
 * few thousand files, so a linear scan per tick is cheaper than keeping a
 * heap in step with every event.
 */
#include "daemon_settle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;     /* hash chain */
	char *path;
	int have_stat;          /* size/mtime below were observed */
	uint64_t size;
	int64_t mtime_ns;
	double stable_since;    /* when size/mtime were last seen to change */
	double last_event;      /* last write/close event, or -1 */
	int closed;             /* a close-after-write with no write since */
	int from_scan;          /* found by a scan, never by an event */
	int attempts;           /* failed ingests */
	double next_check;
	double missing_since;   /* -1 while present */
};

struct settle {
	struct entry **tab;
	size_t nbuckets;
	size_t n;
	double settle_seconds;
};

static uint64_t fnv(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return h;
}

struct settle *settle_new(double settle_seconds)
{
	struct settle *s = xcalloc(1, sizeof *s);
	s->nbuckets = 1024;
	s->tab = xcalloc(s->nbuckets, sizeof *s->tab);
	s->settle_seconds = settle_seconds;
	return s;
}

void settle_free(struct settle *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->tab[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			free(e->path);
			free(e);
		}
	}
	free(s->tab);
	free(s);
}

void settle_set_seconds(struct settle *s, double settle_seconds)
{
	s->settle_seconds = settle_seconds;
}

size_t settle_count(const struct settle *s)
{
	return s->n;
}

static struct entry **find_slot(const struct settle *s, const char *path)
{
	struct entry **pp = &s->tab[fnv(path) & (s->nbuckets - 1)];
	while (*pp && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void grow(struct settle *s)
{
	size_t nb = s->nbuckets * 2;
	struct entry **tab = xcalloc(nb, sizeof *tab);
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->tab[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			size_t b = fnv(e->path) & (nb - 1);
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(s->tab);
	s->tab = tab;
	s->nbuckets = nb;
}

/* The entry for path, created when absent (NULL when the list is full). */
static struct entry *get(struct settle *s, const char *path, double now, int *created)
{
	struct entry **pp = find_slot(s, path);
	*created = 0;
	if (*pp)
		return *pp;
	if (s->n >= SETTLE_MAX_ENTRIES)
		return NULL;
	if (s->n >= s->nbuckets) {
		grow(s);
		pp = find_slot(s, path);
	}
	struct entry *e = xcalloc(1, sizeof *e);
	e->path = xstrdup(path);
	e->stable_since = now;
	e->last_event = -1;
	e->next_check = now;
	e->missing_since = -1;
	*pp = e;
	s->n++;
	*created = 1;
	return e;
}

int settle_touch(struct settle *s, const char *path, int closed, double now)
{
	int created;
	struct entry *e = get(s, path, now, &created);
	if (!e)
		return EV_ELIMIT;
	e->from_scan = 0;
	e->last_event = now;
	e->closed = closed;
	e->missing_since = -1;
	/* a close is worth a look as soon as the quiet time has passed; a
	 * write pushes the next look out (events keep coming while it lasts) */
	double when = now + (closed ? SETTLE_QUIET_SECONDS : SETTLE_CHECK_SECONDS);
	if (e->attempts == 0 || closed)
		e->next_check = when;
	return 0;
}

int settle_add_scanned(struct settle *s, const char *path, double now)
{
	int created;
	struct entry *e = get(s, path, now, &created);
	if (!e)
		return EV_ELIMIT;
	if (created)
		e->from_scan = 1;
	return 0;
}

void settle_forget(struct settle *s, const char *path)
{
	struct entry **pp = find_slot(s, path);
	struct entry *e = *pp;
	if (!e)
		return;
	*pp = e->next;
	free(e->path);
	free(e);
	s->n--;
}

int settle_missing(const struct settle *s, const char *path)
{
	const struct entry *e = *find_slot(s, path);
	return e && e->missing_since >= 0;
}

size_t settle_due(struct settle *s, double now, const char **paths, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < s->nbuckets && k < max; i++)
		for (struct entry *e = s->tab[i]; e && k < max; e = e->next)
			if (e->next_check <= now)
				paths[k++] = e->path;
	return k;
}

static double backoff(int attempts)
{
	double b = ldexp(1.0, attempts > 0 ? attempts - 1 : 0);
	return b > SETTLE_BACKOFF_MAX ? SETTLE_BACKOFF_MAX : b;
}

enum settle_state settle_observe(struct settle *s, const char *path, int exists, uint64_t size,
				 int64_t mtime_ns, double mtime_age, double now)
{
	struct entry *e = *find_slot(s, path);
	if (!e)
		return SETTLE_GONE;
	if (!exists) {
		if (e->missing_since < 0)
			e->missing_since = now;
		if (now - e->missing_since >= SETTLE_GONE_SECONDS) {
			settle_forget(s, path);
			return SETTLE_GONE;
		}
		e->attempts++;
		e->next_check = now + backoff(e->attempts);
		return SETTLE_WAIT;
	}
	e->missing_since = -1;
	int first = !e->have_stat;
	int changed = !first && (e->size != size || e->mtime_ns != mtime_ns);
	if (first || changed) {
		e->have_stat = 1;
		e->size = size;
		e->mtime_ns = mtime_ns;
		e->stable_since = now;
	}
	/* The closed flag comes from events alone: a write after the close
	 * would have cleared it, so a size change seen here happened before. */
	int ready = 0;
	int writer_open = e->last_event >= 0 && !e->closed &&
			  now - e->last_event < SETTLE_WRITER_SECONDS;
	if (e->closed && e->last_event >= 0 && now - e->last_event >= SETTLE_QUIET_SECONDS)
		ready = 1;
	else if (!writer_open && !first && !changed && now - e->stable_since >= s->settle_seconds)
		ready = 1;
	/* found by a scan with an mtime older than the settle time: nothing
	 * has written it for that long, so one look is enough */
	else if (first && e->from_scan && mtime_age >= s->settle_seconds)
		ready = 1;
	if (ready)
		return SETTLE_READY;
	double step = SETTLE_CHECK_SECONDS;
	if (s->settle_seconds > 0 && s->settle_seconds < step)
		step = s->settle_seconds;
	double when = now + step;
	if (e->attempts > 0 && e->next_check > when)
		when = e->next_check;
	e->next_check = when;
	return SETTLE_WAIT;
}

void settle_failed(struct settle *s, const char *path, double now)
{
	struct entry *e = *find_slot(s, path);
	if (!e)
		return;
	e->attempts++;
	e->next_check = now + backoff(e->attempts);
	/* what was stable must be seen stable again after the back-off; the
	 * events that made it ready are spent (the writer had closed it), so
	 * only a new one holds it as open: kept, they held a file that failed
	 * within seconds of its close for SETTLE_WRITER_SECONDS */
	e->have_stat = 0;
	e->closed = 0;
	e->last_event = -1;
	e->from_scan = 1;
}

void settle_park(struct settle *s, const char *path)
{
	struct entry *e = *find_slot(s, path);
	if (e)
		e->next_check = HUGE_VAL;
}

int settle_attempts(const struct settle *s, const char *path)
{
	struct entry *e = *find_slot(s, path);
	return e ? e->attempts : -1;
}

double settle_next_deadline(const struct settle *s)
{
	double best = -1;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct entry *e = s->tab[i]; e; e = e->next)
			if (best < 0 || e->next_check < best)
				best = e->next_check;
	return best;
}
