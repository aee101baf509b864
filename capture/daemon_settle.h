/*
 * The settling list: files evcapd has noticed but not yet taken, and the
 * rule that says when each is complete. A file written here is complete
 * once closed after writing and quiet for a moment (never while a writer
 * still has it open, however long it pauses); a file on media
 * written by another machine (no inotify events) once its size and mtime
 * have stayed the same for settle_seconds. A file whose ingest failed
 * (a card pulled mid-copy) stays with a growing back-off.
 *
 * Pure: the caller passes the clock and what stat() said, so the rules
 * are unit-tested without a filesystem.
 */
#ifndef EVCAP_DAEMON_SETTLE_H
#define EVCAP_DAEMON_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Entries beyond this are refused; the periodic rescan finds them later. */
#define SETTLE_MAX_ENTRIES 500000
/* A file closed after writing is taken after this much quiet. */
#define SETTLE_QUIET_SECONDS 0.3
/* A file written here and not closed since is not taken for being
 * unchanged: its writer may only have paused (a copy stalled, a log
 * appended to now and then), and taking it would record a truncated item.
 * Only after this long with no event at all is the size rule used again
 * (a close lost when the inotify queue overflowed). */
#define SETTLE_WRITER_SECONDS 600.0
/* How often an unsettled file is stat'ed again. */
#define SETTLE_CHECK_SECONDS 0.5
/* The back-off after a failed ingest doubles up to this. */
#define SETTLE_BACKOFF_MAX 300.0
/* A file missing for this long is forgotten (a pulled card that comes
 * back is found again by the rescan that its mount triggers). */
#define SETTLE_GONE_SECONDS 3600.0

struct settle;

enum settle_state {
	SETTLE_WAIT = 0,  /* not yet: check again at settle_next_deadline */
	SETTLE_READY = 1, /* complete: take it now */
	SETTLE_GONE = 2   /* missing too long: dropped from the list */
};

struct settle *settle_new(double settle_seconds);
void settle_free(struct settle *s);
void settle_set_seconds(struct settle *s, double settle_seconds);
size_t settle_count(const struct settle *s);

/*
 * Notes activity on a path at monotonic time `now`: closed=1 for a close
 * after writing (or a rename into place, which is atomic), 0 for a write
 * or a creation. Adds the path when new. EV_ELIMIT when the list is full.
 */
int settle_touch(struct settle *s, const char *path, int closed, double now) WUR;

/* Adds a path found by a scan (no event seen); a path already listed is
 * left as it is. EV_ELIMIT when full. */
int settle_add_scanned(struct settle *s, const char *path, double now) WUR;

/* Drops a path (renamed away, taken, or already recorded). */
void settle_forget(struct settle *s, const char *path);

/* 1 when the path is listed and was last observed missing. */
int settle_missing(const struct settle *s, const char *path);

/*
 * The paths whose check time has come (<= now), at most max of them, in
 * *paths (borrowed: valid until the next call that changes the list).
 * Returns how many.
 */
size_t settle_due(struct settle *s, double now, const char **paths, size_t max);

/*
 * Reports what stat() said about a due path: exists=0 when it is gone
 * (the other values are then ignored); mtime_age is the wall-clock time
 * since its mtime (negative when the mtime is in the future). Returns what
 * to do with it.
 */
enum settle_state settle_observe(struct settle *s, const char *path, int exists, uint64_t size,
				 int64_t mtime_ns, double mtime_age, double now);

/* The ingest of a READY path failed: check it again after a back-off that
 * doubles with each failure (1 s, 2 s, ... SETTLE_BACKOFF_MAX). */
void settle_failed(struct settle *s, const char *path, double now);

/* Parks a READY path while it waits in the caller's queue: it is not due
 * again until touched, failed or observed. */
void settle_park(struct settle *s, const char *path);

/* How many times the path's ingest has failed; -1 if not listed. */
int settle_attempts(const struct settle *s, const char *path);

/* The earliest check time of any entry, or a negative value when empty. */
double settle_next_deadline(const struct settle *s);

#endif
