/*
 * Visits and before/after pairs, computed from plain arrays. The pairing is
 * a greedy assignment over candidate pairs sorted best first: simple to
 * explain to a court ("each new photo was matched with the nearest unused
 * old photo of the same spot, facing the same way"), deterministic, and
 * close to optimal when the photos of one spot are metres apart and those
 * of different spots tens of metres apart, which is how inspections look.
 */
#include "revisit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "track.h"

int revisit_parse_gap(const char *s, double *hours)
{
	char *end;
	errno = 0;
	double h = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(h) || h <= 0 || h > REVISIT_MAX_GAP_H)
		return EV_EINVAL;
	*hours = h;
	return 0;
}

int64_t revisit_local_day(double t, int offset_s)
{
	return (int64_t)floor((t + (double)offset_s) / 86400.0);
}

int revisit_visits(const double *t, size_t n, int offset_s, double gap_s, int *visit)
{
	if (!(gap_s > 0) || !isfinite(gap_s))
		return EV_EINVAL;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(t[i]))
			return EV_EINVAL;
		if (i == 0) {
			v = 1;
		} else {
			if (t[i] < t[i - 1])
				return EV_EINVAL;
			if (t[i] - t[i - 1] > gap_s ||
			    revisit_local_day(t[i], offset_s) != revisit_local_day(t[i - 1], offset_s))
				v++;
		}
		visit[i] = v;
	}
	return v;
}

int revisit_band(double h)
{
	if (!isfinite(h))
		return -1;
	if (h < 30.0)
		return 0;
	if (h < 80.0)
		return 1;
	if (h < 150.0)
		return 2;
	return 3;
}

double revisit_heading_diff(double a, double b)
{
	if (!isfinite(a) || !isfinite(b))
		return NAN;
	double d = fmod(fabs(a - b), 360.0);
	return d > 180.0 ? 360.0 - d : d;
}

const char *revisit_why_text(int why)
{
	switch (why) {
	case REVISIT_PAIRED: return "paired";
	case REVISIT_NO_PLACE: return "no position";
	case REVISIT_NO_SITE: return "in no site";
	case REVISIT_NO_EARLIER: return "no earlier photo at this site";
	case REVISIT_TOO_FAR: return "no earlier photo within the site radius";
	case REVISIT_FACING_AWAY: return "facing away from every nearby earlier photo";
	case REVISIT_TAKEN:
		return "every fitting earlier photo was paired with a better match (height band "
		       "first, then distance)";
	case REVISIT_EARLIER_UNPLACED: return "the earlier photos at this site have no position";
	}
	return "unknown";
}

static int photo_located(const struct revisit_photo *p)
{
	return isfinite(p->lat) && isfinite(p->lon);
}

/* 0 same band, 1 not comparable, 2 different bands: the first sort key. */
static int band_tier(const struct revisit_photo *a, const struct revisit_photo *b)
{
	if (a->alt_kind == REVISIT_ALT_NONE || a->alt_kind != b->alt_kind)
		return 1;
	int ba = revisit_band(a->height), bb = revisit_band(b->height);
	if (ba < 0 || bb < 0)
		return 1;
	return ba == bb ? 0 : 2;
}

struct cand {
	size_t a, b;
	int tier;
	double dist;
	double hdiff; /* NAN when not comparable */
};

/* Unknown heading differences sort after every known one. */
static double hkey(double h)
{
	return isfinite(h) ? h : 1000.0;
}

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *p = x, *q = y;
	if (p->tier != q->tier)
		return p->tier < q->tier ? -1 : 1;
	if (p->dist != q->dist)
		return p->dist < q->dist ? -1 : 1;
	double hp = hkey(p->hdiff), hq = hkey(q->hdiff);
	if (hp != hq)
		return hp < hq ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return 0;
}

/* Fills in why an unpaired later photo found no counterpart. A fitting
 * earlier photo that is used went, in the greedy order, to a candidate
 * ranked before this one's: not always a closer one (a photo in the same
 * height band comes first, however far), so the reason says "better". An
 * earlier photo filed in the site with no position is one, though it
 * cannot be compared. */
static void explain(const struct revisit_photo *before, size_t nb, const struct revisit_photo *a,
		    struct revisit_match *m)
{
	if (!photo_located(a)) {
		m->why = REVISIT_NO_PLACE;
		return;
	}
	if (a->site == 0) {
		m->why = REVISIT_NO_SITE;
		return;
	}
	int any = 0, unplaced = 0, near = 0, facing = 0;
	double best = NAN;
	for (size_t j = 0; j < nb; j++) {
		const struct revisit_photo *b = &before[j];
		if (b->site != a->site)
			continue;
		if (!photo_located(b)) {
			unplaced = 1;
			continue;
		}
		double d = track_distance_m(a->lat, a->lon, b->lat, b->lon);
		any = 1;
		if (!isfinite(best) || d < best)
			best = d;
		if (d > a->radius_m)
			continue;
		near = 1;
		double h = revisit_heading_diff(a->heading, b->heading);
		if (!(h > REVISIT_MAX_HEADING_DIFF))
			facing = 1;
	}
	m->distance_m = best;
	if (!any)
		m->why = unplaced ? REVISIT_EARLIER_UNPLACED : REVISIT_NO_EARLIER;
	else
		m->why = !near ? REVISIT_TOO_FAR : !facing ? REVISIT_FACING_AWAY : REVISIT_TAKEN;
}

long revisit_pair(const struct revisit_photo *before, size_t nb,
		  const struct revisit_photo *after, size_t na, struct revisit_match *m,
		  long *used_by, char *err, size_t errlen)
{
	long pairs = 0;
	struct cand *c = NULL;
	size_t nc = 0, cap = 0;
	unsigned char *b_used = NULL;

	if (nb > REVISIT_MAX_PHOTOS || na > REVISIT_MAX_PHOTOS) {
		pairs = err_set(err, errlen, EV_ELIMIT,
				"too many photos to pair (%zu earlier, %zu later; at most %d each)", nb,
				na, REVISIT_MAX_PHOTOS);
		goto out;
	}
	for (size_t i = 0; i < na; i++)
		m[i] = (struct revisit_match){.before = -1, .distance_m = NAN,
					      .heading_diff = NAN, .same_band = -1,
					      .why = REVISIT_NO_PLACE};
	for (size_t j = 0; used_by && j < nb; j++)
		used_by[j] = -1;

	for (size_t i = 0; i < na; i++) {
		const struct revisit_photo *a = &after[i];
		if (!photo_located(a) || a->site == 0)
			continue;
		for (size_t j = 0; j < nb; j++) {
			const struct revisit_photo *b = &before[j];
			if (b->site != a->site || !photo_located(b))
				continue;
			double d = track_distance_m(a->lat, a->lon, b->lat, b->lon);
			/* the site's radius as recorded for the later photo: both
			 * photos name the same site, so the radii agree */
			if (!(d <= a->radius_m))
				continue;
			double h = revisit_heading_diff(a->heading, b->heading);
			if (h > REVISIT_MAX_HEADING_DIFF)
				continue;
			if (nc == REVISIT_MAX_CANDIDATES) {
				pairs = err_set(err, errlen, EV_ELIMIT,
						"more than %zu candidate photo pairs; narrow the visits "
						"or shrink the site radii",
						REVISIT_MAX_CANDIDATES);
				goto out;
			}
			if (nc == cap) {
				cap = cap ? cap * 2 : 256;
				c = xrealloc(c, cap * sizeof *c);
			}
			c[nc++] = (struct cand){i, j, band_tier(a, b), d, h};
		}
	}
	if (nc)
		qsort(c, nc, sizeof *c, cand_cmp);

	b_used = xcalloc(nb ? nb : 1, 1);
	for (size_t k = 0; k < nc; k++) {
		struct revisit_match *r = &m[c[k].a];
		if (r->before >= 0 || b_used[c[k].b])
			continue;
		b_used[c[k].b] = 1;
		r->before = (long)c[k].b;
		r->distance_m = c[k].dist;
		r->heading_diff = c[k].hdiff;
		r->same_band = c[k].tier == 0 ? 1 : c[k].tier == 2 ? 0 : -1;
		r->why = REVISIT_PAIRED;
		if (used_by)
			used_by[c[k].b] = (long)c[k].a;
		pairs++;
	}
	for (size_t i = 0; i < na; i++)
		if (m[i].before < 0)
			explain(before, nb, &after[i], &m[i]);
out:
	free(b_used);
	free(c);
	return pairs;
}
