/*
 * The store side of GPS tracks: writing fixes (batched for live logging),
 * loading the track back, learning camera clock offsets, and placing
 * items that have no position of their own on the track. Every change to
 * an item is recorded in the custody log in the same transaction.
 */
#ifndef EVCAP_GEOTAG_H
#define EVCAP_GEOTAG_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "track.h"
#include "util.h"

#define GEOTAG_DEFAULT_MAX_GAP 60.0
#define GEOTAG_DEFAULT_MAX_EXTRAP 10.0
/* A learned offset is applied to photos at most this far (camera time)
 * from the GPS-stamped photo it was learned from: cameras get reset. */
#define GEOTAG_LEARN_WINDOW (30.0 * 86400)
/* Most fixes loaded for one geotag run (a year at 1 Hz is 31.5 million). */
#define GEOTAG_MAX_FIXES 50000000
/* Readings named in one "geotag" custody event: about 300 bytes each,
 * well under a bundle's longest event (BUNDLE_MAX_EVENT_TEXT, 256 KiB). */
#define GEOTAG_READINGS_PER_EVENT 200

/*
 * Inserts n fixes with the given source (INSERT OR IGNORE on (t, source),
 * so re-importing is a no-op). Fixes of mode < 2 or with a non-finite
 * time or position are skipped. Runs in the caller's transaction if one
 * is open, else in its own. *inserted (may be NULL) gets the rows added.
 */
int geotag_insert_fixes(struct store *s, const struct fix *v, size_t n, const char *source,
			size_t *inserted, char *err, size_t errlen) WUR;

/* The fix in columns first..first+6 of a row of the fixes table, in the
 * order t, lat, lon, alt, mode, eph, sats (NULLs: NAN, -1). */
struct fix geotag_row_fix(sqlite3_stmt *st, int first);

/* Loads every stored fix of mode >= 2 into out (trackset_init'ed), one
 * track per source (receiver or imported file), each sorted by time and
 * de-duplicated (of fixes at the same time, the first stored). */
int geotag_load_tracks(struct store *s, struct trackset *out, char *err, size_t errlen) WUR;

/*
 * A batch of live fixes: kept in memory and written in one short
 * transaction when it holds max_n fixes or its oldest is max_age seconds
 * old, so a power cut loses at most that much while the database is not
 * held locked between fixes. When the store refuses a commit (another
 * writer holds it past the busy timeout, the disk is full), the fixes
 * stay held and the next commit is tried max_age seconds later, not at
 * every fix, so a loop that feeds the batch is not stalled by the busy
 * timeout over and over; meanwhile up to GEOTAG_BATCH_HOLD_MAX fixes are
 * held.
 */
struct geotag_batch;
/* A day of fixes at 1 Hz: about 4 MB. */
#define GEOTAG_BATCH_HOLD_MAX 86400
struct geotag_batch *geotag_batch_new(struct store *s, const char *source, size_t max_n,
				      double max_age);
/* Holds a fix (no commit: call geotag_batch_tick after). EV_ELIMIT, with
 * err, when GEOTAG_BATCH_HOLD_MAX fixes are held: this one is not kept. */
int geotag_batch_add(struct geotag_batch *b, const struct fix *f, double now, char *err,
		     size_t errlen) WUR;
/* Commits if due and not waiting after a refused commit (call it after
 * each add and from the poll loop's timeout). A refused commit is an
 * error (err says how many fixes are held); they stay held. */
int geotag_batch_tick(struct geotag_batch *b, double now, char *err, size_t errlen) WUR;
/* Seconds until the batch wants committing (a large number when empty). */
double geotag_batch_due(const struct geotag_batch *b, double now);
/* Commits whatever is held, now. */
int geotag_batch_flush(struct geotag_batch *b, char *err, size_t errlen) WUR;
/* Fixes held, not yet committed. */
size_t geotag_batch_held(const struct geotag_batch *b);
/* Rows inserted so far (duplicates not counted). */
uint64_t geotag_batch_stored(const struct geotag_batch *b);
/* Frees without committing (flush first). NULL is fine. */
void geotag_batch_free(struct geotag_batch *b);

struct geotag_stats {
	size_t fixes;      /* fixes in the tracks used */
	size_t receivers;  /* tracks: sources of fixes (receivers, imported files) */
	size_t retimed;    /* items whose time came from a learned camera offset */
	size_t considered; /* items without their own position and with a time */
	size_t placed;     /* items given a (new) track position */
	size_t unchanged;  /* items whose track position was already right */
	size_t uncovered;  /* items the track does not cover */
	size_t cleared;    /* items whose earlier track position was removed */
	size_t disagreed;  /* items placed where another receiver's track put
			    * them farther away than both error estimates */
	size_t readings_considered; /* readings with a time and no position */
	size_t readings_placed;     /* of those, given a track position */
	size_t assigned;   /* items and readings given to a site (sites_assign) */
	size_t sidecars;   /* videos placed at the first fix of their SRT */
	size_t sidecars_unusable; /* videos whose SRT gave no position */
	char sidecar_note[256];   /* the first of those: which and why */
};

/*
 * Learns camera clock offsets and places items on the track.
 *
 * 0. Each video with no position of its own (location_source NULL or
 *    'track') whose drone wrote an SRT beside it (an item of format srt
 *    with the same path but for the extension, from the same medium and
 *    device, and only one such) is placed at that SRT's first fix
 *    (srt.h): location_source 'srt', custody "geotag" naming the SRT.
 *    An SRT without a usable fix is counted and its reason given in
 *    st->sidecar_note; the video is left to the track.
 * 1. For each camera (same make, model and serial, all non-empty), the
 *    offset camera_time - gps_time of each of its photos that carries both
 *    is a sample. Each of its photos with a camera time, no GPS time and a
 *    time not from OffsetTimeOriginal, GPS or XMP (time_source NULL,
 *    'declared' or 'learned') gets captured_at = camera_time (+subsec) -
 *    the sample nearest in camera time (within GEOTAG_LEARN_WINDOW),
 *    time_source 'learned', tz_offset the offset as +HH:MM; custody
 *    "retime" with the exact offset in seconds.
 * 2. Items with a captured_at and location_source NULL or 'track' (in
 *    case_id, 0 = all cases) are located with trackset_locate(max_gap,
 *    max_extrap) on each source's own track; a changed position is
 *    written with location_source 'track' and location_error_m, custody
 *    "geotag" (naming the fix_source, and any other_receivers that put
 *    the item elsewhere beyond both error estimates); an item placed
 *    earlier that the track no longer covers is cleared (custody
 *    "geotag", "cleared").
 * 3. Readings with a time and no position (location_source NULL: never
 *    one the kit or a site gave) are placed the same way, as sensor
 *    import places them: location_source 'track' and location_error_m;
 *    custody "geotag" events, one for each case and up to
 *    GEOTAG_READINGS_PER_EVENT readings, each named with its id, source
 *    and line, the position and how it was found. A reading placed once
 *    keeps its place.
 * 4. The case's sites (every case's, for case_id 0) take the located
 *    items and readings they hold that have none (sites_assign_cases).
 * Runs in the caller's transaction if one is open, else in its own.
 * Re-running changes nothing and records nothing. `actor` may be NULL.
 */
int geotag_run(struct store *s, int64_t case_id, double max_gap, double max_extrap,
	       const char *actor, struct geotag_stats *st, char *err, size_t errlen) WUR;

#endif
