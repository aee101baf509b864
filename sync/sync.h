/*
 * evcap sync: packs what a case has that a target has not seen yet into a
 * bundle (blobs first, then the signed manifest, then COMMITTED) and
 * journals every step in sync_state and bundles, so a cut link, a killed
 * process or a reboot resumes instead of starting over, and a second run
 * with nothing new writes nothing.
 */
#ifndef EVCAP_SYNC_H
#define EVCAP_SYNC_H

#include <stdint.h>

#include "store.h"
#include "target.h"
#include "util.h"

struct sync_opts {
	const char *target_url;
	const char *case_number; /* NULL: every case with something new */
	struct target_opts topts;
	const char *actor;       /* who runs it, for the custody event */
};

struct sync_report {
	int cases;           /* cases looked at */
	int bundles;         /* bundles committed */
	int blobs_sent;      /* blobs uploaded */
	int blobs_present;   /* blobs the target already had */
	uint64_t bytes_sent; /* bytes of blobs uploaded */
	int items;           /* items in the new bundles */
	unsigned retries;    /* requests retried after a cut, stall or 5xx */
	char target_info[256];
	int cases_failed;    /* cases that failed while the others went on */
	char **failed;       /* their numbers, cases_failed of them */
};

/* Runs a sync. Returns 0, or the first failure's code (EV_EAUTH or
 * EV_EINVAL for credentials or settings to fix; EV_ENET after retries ran
 * out; ...) with err naming the case and object. A failure of one case
 * alone (a damaged bundle left on the target, a file there with other
 * content) is logged, and the other cases are still synced: then err
 * names every case that failed (rep->failed). A failure of the target or
 * the store stops the run at once. Progress lines go to the log (stderr).
 * rep is filled either way; sync_report_free releases it. */
int sync_run(struct store *s, const struct sync_opts *o, struct sync_report *rep, char *err,
	     size_t errlen) WUR;
void sync_report_free(struct sync_report *rep);

/* Readings given to case `case_number` after they were recorded (evcap
 * case add --unassigned) may lie below what a sync to some target has sent
 * of the case (sync picks readings newer than the last one sent): lowers
 * each target's mark for the case to first_id - 1 where it is higher, so
 * the next sync to every target sends them (the office keeps one of each
 * reading it gets twice). first_id is the smallest id moved. Call it in
 * the transaction that moves them. 0 or EV_EDB. */
int sync_readings_moved(struct store *s, const char *case_number, int64_t first_id, char *err,
			size_t errlen) WUR;

/* Takes the store's sync lock (a flock on <store>/sync.lock) so that two
 * syncs or pulls never work on the same journal at once. Returns the lock
 * descriptor (>= 0) or a negative code. */
int sync_lock(struct store *s, char *err, size_t errlen) WUR;
void sync_unlock(int fd);

#endif
