/*
 * The in-memory track: a growable array of fixes, a stable sort with
 * de-duplication (recorded tracks do go backwards in time), and the lookup
 * that places a moment on the track. Pure: no I/O, no clock.
 */
#include "track.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define EARTH_RADIUS_M 6371008.8

void track_init(struct track *t)
{
	t->v = NULL;
	t->n = 0;
	t->cap = 0;
}

void track_free(struct track *t)
{
	if (!t)
		return;
	free(t->v);
	track_init(t);
}

void track_push(struct track *t, const struct fix *f)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		t->v = xrealloc(t->v, cap * sizeof *t->v);
		t->cap = cap;
	}
	t->v[t->n++] = *f;
}

/* Bottom-up merge sort by time: stable, so that "keep the first of equal
 * times" means first in the order the receiver wrote them (qsort is not). */
static void track_merge_sort(struct fix *v, size_t n)
{
	if (n < 2)
		return;
	struct fix *tmp = xmalloc(n * sizeof *tmp);
	struct fix *src = v, *dst = tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = src[j].t < src[i].t ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		struct fix *sw = src;
		src = dst;
		dst = sw;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
	free(tmp);
}

void track_sort_dedup(struct track *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (isfinite(t->v[i].t))
			t->v[k++] = t->v[i];
	t->n = k;
	track_merge_sort(t->v, t->n);
	k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (k == 0 || t->v[i].t != t->v[k - 1].t)
			t->v[k++] = t->v[i];
	t->n = k;
}

void track_same_times(const char *name, const struct track *t, struct track_report *rep)
{
	struct track c;
	track_init(&c);
	if (t->n < 2)
		return;
	c.v = xmalloc(t->n * sizeof *c.v);
	c.cap = t->n;
	for (size_t i = 0; i < t->n; i++)
		if (isfinite(t->v[i].t))
			c.v[c.n++] = t->v[i];
	/* stable: the first of each time is the first in the file, the one kept */
	track_merge_sort(c.v, c.n);
	size_t first = 0;
	for (size_t i = 1; i < c.n; i++) {
		const struct fix *a = &c.v[first], *b = &c.v[i];
		if (b->t != a->t) {
			first = i;
			continue;
		}
		if (b->lat == a->lat && b->lon == a->lon) {
			rep->repeated++;
			continue;
		}
		rep->conflicting++;
		char iso[32];
		time_format_iso(a->t, iso);
		track_report_msg(rep, "%s: 2 fixes at %s: %.7f,%.7f kept, %.7f,%.7f (%.0f m away) "
				 "not stored", name ? name : "track", iso, a->lat, a->lon, b->lat,
				 b->lon, track_distance_m(a->lat, a->lon, b->lat, b->lon));
	}
	track_free(&c);
}

double track_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	const double r = M_PI / 180.0;
	double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
	if (a > 1)
		a = 1;
	return 2 * EARTH_RADIUS_M * asin(sqrt(a));
}

static double track_eph(const struct fix *f)
{
	return isfinite(f->eph) && f->eph >= 0 ? f->eph : TRACK_DEFAULT_EPH;
}

/* Speed along the segment a-b in m/s, or TRACK_DEFAULT_SPEED when the
 * segment has no duration. */
static double track_segment_speed(const struct fix *a, const struct fix *b)
{
	double dt = fabs(b->t - a->t);
	if (!(dt > 0))
		return TRACK_DEFAULT_SPEED;
	return track_distance_m(a->lat, a->lon, b->lat, b->lon) / dt;
}

size_t track_lower_bound(const struct track *t, double when)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].t < when)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Holds an end fix for a moment at most max_extrap away from it; `other`
 * is its neighbour (or NULL) for the speed estimate. */
static int track_hold(const struct fix *end, const struct fix *other, double when,
		      double max_gap, double max_extrap, struct fix_at *out)
{
	double dt = fabs(when - end->t);
	if (dt > max_extrap)
		return EV_ENOENT;
	double speed = TRACK_DEFAULT_SPEED;
	if (other && fabs(other->t - end->t) <= max_gap)
		speed = track_segment_speed(end, other);
	out->lat = end->lat;
	out->lon = end->lon;
	out->alt = end->alt;
	out->mode = end->mode;
	out->how = TRACK_AT_HELD;
	out->error_m = track_eph(end) + speed * dt;
	if (when < end->t) {
		out->t_before = NAN;
		out->t_after = end->t;
	} else {
		out->t_before = end->t;
		out->t_after = NAN;
	}
	return 0;
}

int track_locate(const struct track *t, double when, double max_gap, double max_extrap,
		 struct fix_at *out)
{
	if (!isfinite(when) || !(max_gap >= 0) || !(max_extrap >= 0))
		return EV_EINVAL;
	if (t->n == 0)
		return EV_ENOENT;
	size_t i = track_lower_bound(t, when);
	if (i < t->n && t->v[i].t == when) {
		const struct fix *f = &t->v[i];
		out->lat = f->lat;
		out->lon = f->lon;
		out->alt = f->alt;
		out->mode = f->mode;
		out->how = TRACK_AT_EXACT;
		out->error_m = track_eph(f);
		out->t_before = out->t_after = f->t;
		return 0;
	}
	if (i == 0)
		return track_hold(&t->v[0], t->n > 1 ? &t->v[1] : NULL, when, max_gap, max_extrap,
				  out);
	if (i == t->n)
		return track_hold(&t->v[t->n - 1], t->n > 1 ? &t->v[t->n - 2] : NULL, when,
				  max_gap, max_extrap, out);

	const struct fix *a = &t->v[i - 1], *b = &t->v[i];
	double gap = b->t - a->t;
	if (gap > max_gap) {
		/* A long gap splits the track in two, and each side's end is an
		 * end like the track's own (as exiftool -geotag treats it). */
		if (when - a->t <= b->t - when)
			return track_hold(a, i >= 2 ? &t->v[i - 2] : NULL, when, max_gap,
					  max_extrap, out);
		return track_hold(b, i + 1 < t->n ? &t->v[i + 1] : NULL, when, max_gap, max_extrap,
				  out);
	}
	double u = (when - a->t) / gap;
	double dlon = b->lon - a->lon;
	if (dlon > 180)
		dlon -= 360;
	else if (dlon < -180)
		dlon += 360;
	out->lat = a->lat + u * (b->lat - a->lat);
	out->lon = a->lon + u * dlon;
	if (out->lon > 180)
		out->lon -= 360;
	else if (out->lon < -180)
		out->lon += 360;
	if (isfinite(a->alt) && isfinite(b->alt))
		out->alt = a->alt + u * (b->alt - a->alt);
	else
		out->alt = isfinite(a->alt) && u <= 0.5 ? a->alt
			 : isfinite(b->alt) && u > 0.5 ? b->alt
						       : NAN;
	out->mode = a->mode < b->mode ? a->mode : b->mode;
	out->how = TRACK_AT_INTERP;
	double near = fmin(when - a->t, b->t - when);
	out->error_m = track_eph(a) + u * (track_eph(b) - track_eph(a)) +
		       track_segment_speed(a, b) * near;
	out->t_before = a->t;
	out->t_after = b->t;
	return 0;
}

void track_report_init(struct track_report *r)
{
	memset(r, 0, sizeof *r);
}

void track_report_msg(struct track_report *r, const char *fmt, ...)
{
	if (r->n_msgs >= TRACK_REPORT_MSGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msgs[r->n_msgs], sizeof r->msgs[r->n_msgs], fmt, ap);
	va_end(ap);
	/* messages quote bytes from the file, and the cut may split a character */
	utf8_sanitize(r->msgs[r->n_msgs]);
	r->n_msgs++;
}

/* ---- several receivers ---- */

void trackset_init(struct trackset *ts)
{
	memset(ts, 0, sizeof *ts);
}

void trackset_free(struct trackset *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->n; i++) {
		track_free(&ts->v[i]);
		free(ts->source[i]);
	}
	free(ts->v);
	free(ts->source);
	trackset_init(ts);
}

void trackset_push(struct trackset *ts, const char *source, const struct fix *f)
{
	size_t i;
	/* a handful of sources at most: a scan, the last found tried first */
	if (ts->last < ts->n && strcmp(ts->source[ts->last], source) == 0) {
		i = ts->last;
	} else {
		for (i = 0; i < ts->n && strcmp(ts->source[i], source) != 0; i++)
			;
		if (i == ts->n) {
			ts->v = xrealloc(ts->v, (ts->n + 1) * sizeof *ts->v);
			ts->source = xrealloc(ts->source, (ts->n + 1) * sizeof *ts->source);
			track_init(&ts->v[i]);
			ts->source[i] = xstrdup(source);
			ts->n++;
		}
	}
	ts->last = i;
	track_push(&ts->v[i], f);
	ts->total++;
}

int trackset_has(const struct trackset *ts, const char *source)
{
	for (size_t i = 0; i < ts->n; i++)
		if (strcmp(ts->source[i], source) == 0)
			return 1;
	return 0;
}

void trackset_sort(struct trackset *ts)
{
	ts->total = 0;
	for (size_t i = 0; i < ts->n; i++) {
		track_sort_dedup(&ts->v[i]);
		ts->total += ts->v[i].n;
	}
}

/* 1 when placement a (on track i) is to be taken over b (on track j). */
static int trackset_better(const struct trackset *ts, const struct fix_at *a, size_t i,
			   const struct fix_at *b, size_t j)
{
	if (a->error_m != b->error_m)
		return a->error_m < b->error_m;
	if (ts->v[i].n != ts->v[j].n)
		return ts->v[i].n > ts->v[j].n;
	return strcmp(ts->source[i], ts->source[j]) < 0;
}

int trackset_locate(const struct trackset *ts, double when, double max_gap, double max_extrap,
		    struct fix_at *out, size_t *which, struct trackset_other *others,
		    size_t *n_others)
{
	struct fix_at best, at;
	size_t found = 0, best_i = 0;
	int rc = EV_ENOENT;
	if (n_others)
		*n_others = 0;
	for (size_t i = 0; i < ts->n; i++) {
		int r = track_locate(&ts->v[i], when, max_gap, max_extrap, &at);
		if (r == EV_EINVAL)
			return r;
		if (r)
			continue;
		if (!found++ || trackset_better(ts, &at, i, &best, best_i)) {
			best = at;
			best_i = i;
		}
		rc = 0;
	}
	if (rc)
		return rc;
	*out = best;
	if (which)
		*which = best_i;
	if (!others || !n_others || found < 2)
		return 0;
	for (size_t i = 0; i < ts->n && *n_others < TRACKSET_OTHERS_MAX; i++) {
		if (i == best_i || track_locate(&ts->v[i], when, max_gap, max_extrap, &at))
			continue;
		double d = track_distance_m(best.lat, best.lon, at.lat, at.lon);
		if (d > best.error_m + at.error_m)
			others[(*n_others)++] = (struct trackset_other){i, d, at.error_m};
	}
	return 0;
}
