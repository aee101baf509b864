/*
 * The follow-up re-inspection of a case as evcap shows it: its visits, the
 * before/after photo pairs of two visits, the readings of both, and the
 * side-by-side HTML report. revisit_report_load reads the store once; the
 * JSON and HTML writers only read the loaded report, so `evcap visits`,
 * `evcap revisit` and the export all say the same thing.
 */
#ifndef EVCAP_EXPORT_REVISIT_H
#define EVCAP_EXPORT_REVISIT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "store.h"
#include "util.h"

/* Most items and readings a re-inspection report reads. */
#define REVISIT_MAX_ITEMS 100000
#define REVISIT_MAX_READINGS 50000
/* Thumbnail size (longest side, pixels) in the side-by-side report, and
 * the largest original decoded for one. */
#define REVISIT_THUMB_PX 360
#define REVISIT_THUMB_SRC_MAX ((size_t)64 << 20)

struct revisit_opts {
	double gap_h; /* hours that split a visit; <= 0 means REVISIT_DEFAULT_GAP_H */
	int pair;     /* 1: also pair two visits */
	int before;   /* visit numbers; 0 = the second-last and last visit */
	int after;
};

struct revisit_report;

/*
 * Loads a case's items (with capture times), sites and readings, groups
 * the items into visits at the case's time offset (else China's +08:00),
 * and with o->pair pairs the photos of visit `after` with those of visit
 * `before`. An item with no site of its own is placed in the site whose
 * circle holds it (as sites_assign would, without writing). Fails with
 * EV_EINVAL and a sentence when the visits asked for do not exist or the
 * case has fewer than two. *out is NULL on failure.
 */
int revisit_report_load(struct store *s, int64_t case_id, const struct revisit_opts *o,
			struct revisit_report **out, char *err, size_t errlen) WUR;
void revisit_report_free(struct revisit_report *r);

/* {case, offset, gap_hours, untimed_items, visits: [{visit, start, end,
 * start_local, end_local, items, photos, sites: [names]}]} (new ref). */
json_t *revisit_report_visits_json(const struct revisit_report *r);

/* {case, before: {visit, start, end, photos}, after: {...}, pairs: [{site,
 * after, before, distance_m, heading_diff_deg, same_altitude_band,
 * after_name, before_name, after_time, before_time}], unpaired: {after:
 * [{sha256, name, site, reason, nearest_m}], before: [{sha256, name,
 * site}]}, recommendation, reply_date} (new ref). Loaded with o->pair. */
json_t *revisit_report_pairs_json(const struct revisit_report *r);

/* The number of pairs found (loaded with o->pair). */
long revisit_report_pair_count(const struct revisit_report *r);

/* The photos of the two visits compared, which are what the HTML report
 * shows, and how many of them have no position (loaded with o->pair). */
void revisit_report_photo_counts(const struct revisit_report *r, size_t *photos,
				 size_t *unlocated);

/*
 * The side-by-side HTML report (self-contained: thumbnails are data URIs,
 * no script, no network; A4 print CSS that never cuts a pair's row).
 * Thumbnails are made from the originals in the store; a photo whose
 * thumbnail cannot be made is named in the report instead. lang is "zh"
 * or "en" (NULL: from the environment, Chinese by default). Loaded with
 * o->pair. Appends to out; 0 or EV_ELIMIT / EV_EINVAL.
 */
int revisit_report_html(const struct revisit_report *r, struct store *s, const char *lang,
			struct buf *out, char *err, size_t errlen) WUR;

/*
 * The whole export in one call, for `evcap export --format html --revisit`:
 * loads the case with the default gap, pairs visit `before` with visit
 * `after` (0, 0 = the last two), and writes the report to out.
 */
int revisit_html_write(struct store *s, int64_t case_id, int before, int after, const char *lang,
		       FILE *out, char *err, size_t errlen) WUR;

#endif
