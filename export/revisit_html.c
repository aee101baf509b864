/*
 * The follow-up re-inspection report: reads a case once (items, sites,
 * readings, the recommendation on the case), groups the items into visits
 * and pairs two visits' photos with the pure rules of capture/revisit.c,
 * then writes the result as JSON (for `evcap visits` and `evcap revisit`)
 * or as the printable side-by-side HTML report. The HTML carries its
 * thumbnails as data URIs and no script, so it opens with no network.
 */
/* Two headers are called revisit.h: this folder's (the report) and
 * capture's (the pure rules); name both by path so neither hides the other. */
#include "../export/revisit.h"
#include "../capture/revisit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "fsutil.h"
#include "gb3838.h"
#include "items.h"
#include "sites.h"
#include "thumb.h"
#include "timeutil.h"

#define CHINA_OFFSET_S (8 * 3600)

struct rv_site {
	int64_t id;
	char *name;
	char *water_body; /* NULL when not recorded */
	double lat, lon, radius_m;
};

struct rv_item {
	json_t *o;     /* borrowed from the report's items array */
	double t;      /* capture time, UTC seconds */
	int visit;     /* 1-based */
	long site;     /* index into sites, -1 for none */
	int photo;     /* kind is "photo" */
};

struct rv_reading {
	double t;
	char *time, *parameter, *unit, *cls;
	int has_value;
	double value;
	long site;
	int visit; /* 0 when in no visit */
};

struct rv_visit {
	double start, end;
	size_t items, photos;
};

struct revisit_report {
	char *number, *title, *recommendation, *reply_date;
	int offset_s;
	double gap_s;
	json_t *items;        /* items_list() of the case */
	struct rv_item *it;   /* the timed items, in time order */
	size_t n_it, untimed;
	struct rv_site *sites;
	size_t n_sites;
	struct rv_visit *visits;
	int n_visits;
	struct rv_reading *rd;
	size_t n_rd;
	/* pairing, when asked for */
	int before, after;
	size_t *bi, *ai;      /* indexes into it[] of the two visits' photos */
	size_t nb, na;
	struct revisit_match *m; /* na slots */
	long *used_by;           /* nb slots */
	long pairs;
};

/* ---- small helpers ---- */

static double jnum(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* "2023-05-01 18:00:00" at the offset, with the offset after it. */
static void local_time(double t, int offset_s, char out[40])
{
	int y, mo, d, h, mi, s;
	char off[8];
	time_to_civil((int64_t)floor(t) + offset_s, &y, &mo, &d, &h, &mi, &s);
	time_format_offset(offset_s, off);
	snprintf(out, 40, "%04d-%02d-%02d %02d:%02d:%02d %s", y, mo, d, h, mi, s, off);
}

static json_t *jround(double v, double unit)
{
	return isfinite(v) ? json_real(round(v / unit) * unit) : json_null();
}

/* ---- loading ---- */

static int load_case(struct store *s, int64_t case_id, struct revisit_report *r, char *err,
		     size_t errlen)
{
	int rc = 0;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT number, title, time_offset, recommendation, reply_date FROM cases WHERE id = ?",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = err_set(err, errlen, EV_ENOENT, "no case with id %lld in this store",
			     (long long)case_id);
		goto out;
	}
	r->number = col_dup(st, 0);
	r->title = col_dup(st, 1);
	r->recommendation = col_dup(st, 3);
	r->reply_date = col_dup(st, 4);
	r->offset_s = CHINA_OFFSET_S;
	const char *off = (const char *)sqlite3_column_text(st, 2);
	int v;
	if (off && time_parse_offset(off, &v) == 0)
		r->offset_s = v;
out:
	sqlite3_finalize(st);
	return rc;
}

static int load_sites(struct store *s, int64_t case_id, struct revisit_report *r, char *err,
		      size_t errlen)
{
	int rc = 0, q;
	size_t cap = 0;
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT id, name, water_body, lat, lon, radius_m FROM sites"
					 " WHERE case_id = ? ORDER BY id",
					 err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->n_sites == SITES_MAX_PER_CASE) {
			rc = err_set(err, errlen, EV_ELIMIT, "case %s has more than %d sites",
				     r->number, SITES_MAX_PER_CASE);
			goto out;
		}
		if (r->n_sites == cap) {
			cap = cap ? cap * 2 : 16;
			r->sites = xrealloc(r->sites, cap * sizeof *r->sites);
		}
		struct rv_site *x = &r->sites[r->n_sites++];
		x->id = sqlite3_column_int64(st, 0);
		x->name = col_dup(st, 1);
		x->water_body = col_dup(st, 2);
		x->lat = sqlite3_column_double(st, 3);
		x->lon = sqlite3_column_double(st, 4);
		x->radius_m = sqlite3_column_double(st, 5);
		if (!x->name)
			x->name = xstrdup("");
	}
	if (q != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot read the sites of case %s: %s", r->number,
			     sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(st);
	return rc;
}

/* The site of a row: its own site (by id or name), else the circle that
 * holds its position, as sites_assign would choose it. */
static long site_of(const struct revisit_report *r, int64_t id, const char *name, double lat,
		    double lon)
{
	for (size_t k = 0; k < r->n_sites; k++)
		if ((id > 0 && r->sites[k].id == id) ||
		    (name && strcmp(r->sites[k].name, name) == 0))
			return (long)k;
	if (r->n_sites == 0)
		return -1;
	struct site_geo *g = xcalloc(r->n_sites, sizeof *g);
	for (size_t k = 0; k < r->n_sites; k++)
		g[k] = (struct site_geo){r->sites[k].id, r->sites[k].lat, r->sites[k].lon,
					 r->sites[k].radius_m};
	long k = sites_pick(g, r->n_sites, lat, lon, NULL);
	free(g);
	return k;
}

static int item_cmp(const void *x, const void *y)
{
	const struct rv_item *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	json_int_t ia = json_integer_value(json_object_get(a->o, "id"));
	json_int_t ib = json_integer_value(json_object_get(b->o, "id"));
	return ia < ib ? -1 : ia > ib;
}

static int load_items(struct store *s, int64_t case_id, struct revisit_report *r, char *err,
		      size_t errlen)
{
	struct item_filter f = {.case_id = case_id};
	r->items = items_list(s, &f, err, errlen);
	if (!r->items)
		return EV_EDB;
	size_t n = json_array_size(r->items);
	if (n > REVISIT_MAX_ITEMS)
		return err_set(err, errlen, EV_ELIMIT,
			       "case %s has %zu items; a re-inspection report reads at most %d",
			       r->number, n, REVISIT_MAX_ITEMS);
	r->it = xcalloc(n ? n : 1, sizeof *r->it);
	size_t i;
	json_t *o;
	json_array_foreach(r->items, i, o) {
		const char *ca = jstr(o, "captured_at");
		double t;
		if (!ca || time_parse_iso(ca, &t) != 0 || !isfinite(t)) {
			r->untimed++;
			continue;
		}
		struct rv_item *x = &r->it[r->n_it++];
		x->o = o;
		x->t = t;
		x->photo = jstr(o, "kind") && strcmp(jstr(o, "kind"), "photo") == 0;
		x->site = site_of(r, 0, jstr(o, "site"), jnum(o, "lat"), jnum(o, "lon"));
	}
	qsort(r->it, r->n_it, sizeof *r->it, item_cmp);
	return 0;
}

static int make_visits(struct revisit_report *r, char *err, size_t errlen)
{
	int rc = 0;
	double *t = xcalloc(r->n_it ? r->n_it : 1, sizeof *t);
	int *v = xcalloc(r->n_it ? r->n_it : 1, sizeof *v);
	for (size_t i = 0; i < r->n_it; i++)
		t[i] = r->it[i].t;
	int nv = revisit_visits(t, r->n_it, r->offset_s, r->gap_s, v);
	if (nv < 0) {
		rc = err_set(err, errlen, EV_EINVAL, "case %s: the capture times cannot be grouped",
			     r->number);
		goto out;
	}
	r->n_visits = nv;
	r->visits = xcalloc(nv ? (size_t)nv : 1, sizeof *r->visits);
	for (size_t i = 0; i < r->n_it; i++) {
		struct rv_visit *x = &r->visits[v[i] - 1];
		r->it[i].visit = v[i];
		if (x->items == 0)
			x->start = t[i];
		x->end = t[i];
		x->items++;
		x->photos += r->it[i].photo;
	}
out:
	free(t);
	free(v);
	return rc;
}

/* The visit a reading belongs to: the one whose span, widened by the gap,
 * holds its time (the nearest such), else none. */
static int reading_visit(const struct revisit_report *r, double t)
{
	int best = 0;
	double best_d = 0;
	for (int k = 0; k < r->n_visits; k++) {
		const struct rv_visit *x = &r->visits[k];
		double d = t < x->start ? x->start - t : t > x->end ? t - x->end : 0;
		if (d > r->gap_s)
			continue;
		if (!best || d < best_d) {
			best = k + 1;
			best_d = d;
		}
	}
	return best;
}

static int load_readings(struct store *s, int64_t case_id, struct revisit_report *r, char *err,
			 size_t errlen)
{
	int rc = 0, q;
	size_t cap = 0;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT t, time, parameter, value, unit, class, site_id, lat, lon FROM readings"
		" WHERE case_id = ? AND t IS NOT NULL ORDER BY t, id",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->n_rd == REVISIT_MAX_READINGS) {
			rc = err_set(err, errlen, EV_ELIMIT,
				     "case %s has more than %d readings; the report reads at most that many",
				     r->number, REVISIT_MAX_READINGS);
			goto out;
		}
		if (r->n_rd == cap) {
			cap = cap ? cap * 2 : 64;
			r->rd = xrealloc(r->rd, cap * sizeof *r->rd);
		}
		struct rv_reading *x = &r->rd[r->n_rd++];
		memset(x, 0, sizeof *x);
		x->t = sqlite3_column_double(st, 0);
		x->time = col_dup(st, 1);
		x->parameter = col_dup(st, 2);
		x->has_value = sqlite3_column_type(st, 3) != SQLITE_NULL;
		x->value = sqlite3_column_double(st, 3);
		x->unit = col_dup(st, 4);
		x->cls = col_dup(st, 5);
		int64_t sid = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6);
		double lat = sqlite3_column_type(st, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 7);
		double lon = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 8);
		x->site = site_of(r, sid, NULL, lat, lon);
		x->visit = isfinite(x->t) ? reading_visit(r, x->t) : 0;
	}
	if (q != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot read the readings of case %s: %s",
			     r->number, sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(st);
	return rc;
}

/* Where a photo faced, in degrees from north, or NaN: a drone's gimbal
 * yaw, else its body's yaw, else the EXIF image direction a phone writes.
 * *magnetic (if given) says the last was from magnetic north. */
static double item_heading(json_t *o, int *magnetic)
{
	double h = jnum(o, "gimbal_yaw");
	if (magnetic)
		*magnetic = 0;
	if (!isfinite(h))
		h = jnum(o, "flight_yaw");
	if (!isfinite(h)) {
		h = jnum(o, "img_direction");
		const char *ref = jstr(o, "img_direction_ref");
		if (magnetic && isfinite(h) && ref && strcmp(ref, "M") == 0)
			*magnetic = 1;
	}
	return h;
}

/* What the pairing sees of one item. */
static struct revisit_photo photo_of(const struct revisit_report *r, const struct rv_item *x)
{
	struct revisit_photo p = {0};
	p.site = x->site >= 0 ? r->sites[x->site].id : 0;
	p.radius_m = x->site >= 0 ? r->sites[x->site].radius_m : 0;
	p.lat = jnum(x->o, "lat");
	p.lon = jnum(x->o, "lon");
	p.heading = item_heading(x->o, NULL);
	p.height = jnum(x->o, "rel_alt");
	p.alt_kind = REVISIT_ALT_REL;
	if (!isfinite(p.height)) {
		p.height = jnum(x->o, "alt");
		p.alt_kind = isfinite(p.height) ? REVISIT_ALT_MSL : REVISIT_ALT_NONE;
	}
	return p;
}

static int make_pairs(struct revisit_report *r, const struct revisit_opts *o, char *err,
		      size_t errlen)
{
	int rc = 0;
	struct revisit_photo *pb = NULL, *pa = NULL;
	if (r->n_visits < 2 && (o->before == 0 || o->after == 0)) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "case %s has %d visit%s; a re-inspection compares two (evcap visits "
			     "lists them)",
			     r->number, r->n_visits, r->n_visits == 1 ? "" : "s");
		goto out;
	}
	r->before = o->before ? o->before : r->n_visits - 1;
	r->after = o->after ? o->after : r->n_visits;
	if (r->before < 1 || r->before > r->n_visits || r->after < 1 || r->after > r->n_visits) {
		int bad = r->before < 1 || r->before > r->n_visits ? r->before : r->after;
		if (r->n_visits == 0)
			rc = err_set(err, errlen, EV_EINVAL,
				     "case %s has no visit yet (no item with a capture time), so no "
				     "visit %d",
				     r->number, bad);
		else if (r->n_visits == 1)
			rc = err_set(err, errlen, EV_EINVAL,
				     "case %s has one visit only, not %d (evcap visits lists it)",
				     r->number, bad);
		else
			rc = err_set(err, errlen, EV_EINVAL,
				     "case %s has visits 1 to %d, not %d (evcap visits lists them)",
				     r->number, r->n_visits, bad);
		goto out;
	}
	if (r->before == r->after) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "the visits to compare must differ (both are visit %d)", r->before);
		goto out;
	}
	r->bi = xcalloc(r->n_it ? r->n_it : 1, sizeof *r->bi);
	r->ai = xcalloc(r->n_it ? r->n_it : 1, sizeof *r->ai);
	for (size_t i = 0; i < r->n_it; i++) {
		if (!r->it[i].photo)
			continue;
		if (r->it[i].visit == r->before)
			r->bi[r->nb++] = i;
		else if (r->it[i].visit == r->after)
			r->ai[r->na++] = i;
	}
	pb = xcalloc(r->nb ? r->nb : 1, sizeof *pb);
	pa = xcalloc(r->na ? r->na : 1, sizeof *pa);
	for (size_t j = 0; j < r->nb; j++)
		pb[j] = photo_of(r, &r->it[r->bi[j]]);
	for (size_t j = 0; j < r->na; j++)
		pa[j] = photo_of(r, &r->it[r->ai[j]]);
	r->m = xcalloc(r->na ? r->na : 1, sizeof *r->m);
	r->used_by = xcalloc(r->nb ? r->nb : 1, sizeof *r->used_by);
	r->pairs = revisit_pair(pb, r->nb, pa, r->na, r->m, r->used_by, err, errlen);
	if (r->pairs < 0)
		rc = (int)r->pairs;
out:
	free(pb);
	free(pa);
	return rc;
}

int revisit_report_load(struct store *s, int64_t case_id, const struct revisit_opts *o,
			struct revisit_report **out, char *err, size_t errlen)
{
	int rc;
	struct revisit_report *r = xcalloc(1, sizeof *r);
	double gap_h = o && o->gap_h > 0 ? o->gap_h : REVISIT_DEFAULT_GAP_H;
	*out = NULL;
	r->gap_s = gap_h * 3600.0;
	if ((rc = load_case(s, case_id, r, err, errlen)) ||
	    (rc = load_sites(s, case_id, r, err, errlen)) ||
	    (rc = load_items(s, case_id, r, err, errlen)) || (rc = make_visits(r, err, errlen)) ||
	    (rc = load_readings(s, case_id, r, err, errlen)))
		goto out;
	if (o && o->pair && (rc = make_pairs(r, o, err, errlen)))
		goto out;
	*out = r;
	r = NULL;
out:
	revisit_report_free(r);
	return rc;
}

void revisit_report_free(struct revisit_report *r)
{
	if (!r)
		return;
	free(r->number);
	free(r->title);
	free(r->recommendation);
	free(r->reply_date);
	json_decref(r->items);
	free(r->it);
	for (size_t k = 0; k < r->n_sites; k++) {
		free(r->sites[k].name);
		free(r->sites[k].water_body);
	}
	free(r->sites);
	free(r->visits);
	for (size_t k = 0; k < r->n_rd; k++) {
		free(r->rd[k].time);
		free(r->rd[k].parameter);
		free(r->rd[k].unit);
		free(r->rd[k].cls);
	}
	free(r->rd);
	free(r->bi);
	free(r->ai);
	free(r->m);
	free(r->used_by);
	free(r);
}

long revisit_report_pair_count(const struct revisit_report *r)
{
	return r->pairs;
}

void revisit_report_photo_counts(const struct revisit_report *r, size_t *photos,
				 size_t *unlocated)
{
	*photos = r->nb + r->na;
	*unlocated = 0;
	for (size_t k = 0; k < r->nb + r->na; k++) {
		const struct rv_item *x = &r->it[k < r->nb ? r->bi[k] : r->ai[k - r->nb]];
		if (!isfinite(jnum(x->o, "lat")) || !isfinite(jnum(x->o, "lon")))
			(*unlocated)++;
	}
}

/* ---- JSON ---- */

static json_t *time_json(double t)
{
	char iso[32];
	time_format_iso(t, iso);
	return json_string(iso);
}

static json_t *site_name_json(const struct revisit_report *r, long k)
{
	return k >= 0 ? json_string(r->sites[k].name) : json_null();
}

static json_t *visit_json(const struct revisit_report *r, int v)
{
	const struct rv_visit *x = &r->visits[v - 1];
	char loc[40];
	json_t *o = json_object();
	json_object_set_new(o, "visit", json_integer(v));
	json_object_set_new(o, "start", time_json(x->start));
	json_object_set_new(o, "end", time_json(x->end));
	local_time(x->start, r->offset_s, loc);
	json_object_set_new(o, "start_local", json_string(loc));
	local_time(x->end, r->offset_s, loc);
	json_object_set_new(o, "end_local", json_string(loc));
	json_object_set_new(o, "items", json_integer((json_int_t)x->items));
	json_object_set_new(o, "photos", json_integer((json_int_t)x->photos));
	json_t *names = json_array();
	for (size_t k = 0; k < r->n_sites; k++) {
		for (size_t i = 0; i < r->n_it; i++)
			if (r->it[i].visit == v && r->it[i].site == (long)k) {
				json_array_append_new(names, json_string(r->sites[k].name));
				break;
			}
	}
	json_object_set_new(o, "sites", names);
	return o;
}

json_t *revisit_report_visits_json(const struct revisit_report *r)
{
	char off[8];
	json_t *o = json_object(), *arr = json_array();
	time_format_offset(r->offset_s, off);
	json_object_set_new(o, "case", json_string(r->number));
	json_object_set_new(o, "offset", json_string(off));
	json_object_set_new(o, "gap_hours", json_real(r->gap_s / 3600.0));
	json_object_set_new(o, "untimed_items", json_integer((json_int_t)r->untimed));
	for (int v = 1; v <= r->n_visits; v++)
		json_array_append_new(arr, visit_json(r, v));
	json_object_set_new(o, "visits", arr);
	return o;
}

/* Pairs in report order: by site, then by the later photo's time. */
static int pair_order_cmp(const void *x, const void *y, void *ctx)
{
	const struct revisit_report *r = ctx;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	long sa = r->it[r->ai[a]].site, sb = r->it[r->ai[b]].site;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Indexes (into ai/m) of the later photos in report order. */
static size_t *pair_order(const struct revisit_report *r)
{
	size_t *idx = xcalloc(r->na ? r->na : 1, sizeof *idx);
	for (size_t j = 0; j < r->na; j++)
		idx[j] = j;
	qsort_r(idx, r->na, sizeof *idx, pair_order_cmp, (void *)r);
	return idx;
}

json_t *revisit_report_pairs_json(const struct revisit_report *r)
{
	json_t *o = json_object(), *pairs = json_array(), *ua = json_array(), *ub = json_array();
	size_t *idx = pair_order(r);
	json_object_set_new(o, "case", json_string(r->number));
	json_object_set_new(o, "before", visit_json(r, r->before));
	json_object_set_new(o, "after", visit_json(r, r->after));
	for (size_t q = 0; q < r->na; q++) {
		size_t j = idx[q];
		const struct revisit_match *m = &r->m[j];
		const struct rv_item *a = &r->it[r->ai[j]];
		if (m->before < 0) {
			json_t *u = json_object();
			json_object_set_new(u, "sha256", json_string(jstr(a->o, "sha256")));
			json_object_set_new(u, "name", json_string(jstr(a->o, "original_name")));
			json_object_set_new(u, "site", site_name_json(r, a->site));
			json_object_set_new(u, "reason", json_string(revisit_why_text(m->why)));
			json_object_set_new(u, "nearest_m", jround(m->distance_m, 0.1));
			json_array_append_new(ua, u);
			continue;
		}
		const struct rv_item *b = &r->it[r->bi[m->before]];
		json_t *p = json_object();
		json_object_set_new(p, "site", site_name_json(r, a->site));
		json_object_set_new(p, "after", json_string(jstr(a->o, "sha256")));
		json_object_set_new(p, "before", json_string(jstr(b->o, "sha256")));
		json_object_set_new(p, "distance_m", jround(m->distance_m, 0.1));
		json_object_set_new(p, "heading_diff_deg", jround(m->heading_diff, 0.1));
		json_object_set_new(p, "same_altitude_band",
				    m->same_band < 0 ? json_null() : json_boolean(m->same_band));
		json_object_set_new(p, "after_name", json_string(jstr(a->o, "original_name")));
		json_object_set_new(p, "before_name", json_string(jstr(b->o, "original_name")));
		json_object_set_new(p, "after_time", json_string(jstr(a->o, "captured_at")));
		json_object_set_new(p, "before_time", json_string(jstr(b->o, "captured_at")));
		json_array_append_new(pairs, p);
	}
	for (size_t j = 0; j < r->nb; j++) {
		if (r->used_by[j] >= 0)
			continue;
		const struct rv_item *b = &r->it[r->bi[j]];
		json_t *u = json_object();
		json_object_set_new(u, "sha256", json_string(jstr(b->o, "sha256")));
		json_object_set_new(u, "name", json_string(jstr(b->o, "original_name")));
		json_object_set_new(u, "site", site_name_json(r, b->site));
		json_array_append_new(ub, u);
	}
	json_t *un = json_object();
	json_object_set_new(un, "after", ua);
	json_object_set_new(un, "before", ub);
	json_object_set_new(o, "pairs", pairs);
	json_object_set_new(o, "unpaired", un);
	json_object_set_new(o, "recommendation",
			    r->recommendation ? json_string(r->recommendation) : json_null());
	json_object_set_new(o, "reply_date", r->reply_date ? json_string(r->reply_date) : json_null());
	free(idx);
	return o;
}

/* ---- HTML ---- */

struct label {
	const char *key, *zh, *en;
};

static const struct label labels[] = {
	{"title", "整改回访对比报告", "Follow-up inspection: before and after"},
	{"case", "案号", "Case number"},
	{"case_title", "案件名称", "Case title"},
	{"recommendation", "检察建议书编号", "Recommendation No."},
	{"reply_date", "行政机关回复日期", "Agency's reply date"},
	{"before", "整改前", "Before"},
	{"after", "回访", "After"},
	{"visit", "第 %d 次勘验", "visit %d"},
	{"pairs", "对比照片", "Photo pairs"},
	{"site", "点位", "Site"},
	{"centre", "中心", "centre"},
	{"radius", "半径", "radius"},
	{"distance", "两次拍摄位置相距", "Taken apart by"},
	{"heading", "朝向相差", "headings differ by"},
	{"no_heading", "无朝向数据", "no heading to compare"},
	{"magnetic", "（磁北）", " (magnetic)"},
	{"no_counterpart", "无对应照片", "no counterpart"},
	{"readings", "水质检测", "Water readings"},
	{"parameter", "指标", "Parameter"},
	{"class", "类别", "class"},
	{"assessment", "变化", "Change"},
	{"rebound", "反弹", "REBOUND"},
	{"improved", "好转", "improved"},
	{"unchanged", "持平", "unchanged"},
	{"outside", "不在任何点位内", "Outside every site"},
	{"not_set", "未记录", "not recorded"},
	{"no_thumb", "无法生成缩略图", "no thumbnail"},
	{"no_place", "无位置", "no position"},
	{"agl", "米（相对起飞点）", " m above take-off"},
	{"amsl", "米（海拔）", " m above sea level"},
	{"summary", "共 %ld 对；回访照片 %zu 张，整改前照片 %zu 张",
	 "%ld pair%s; %zu photo%s after, %zu before"},
	{"generated", "生成时间", "Generated"},
	/* why a later photo has no counterpart: enum revisit_why */
	{"why1", "无位置", "no position"},
	{"why2", "不在任何点位内", "in no site"},
	{"why3", "该点位前次勘验无照片", "no earlier photo at this site"},
	{"why4", "点位半径内无前次照片", "no earlier photo within the site radius"},
	{"why5", "附近的前次照片朝向均相差超过 45°", "facing away from every nearby earlier photo"},
	{"why6", "合适的前次照片均已与更匹配的照片配对（先比高度段，再比距离）",
	 "every fitting earlier photo was paired with a better match (height band first, then "
	 "distance)"},
	{"why7", "该点位的前次照片均无位置", "the earlier photos at this site have no position"},
	{"times_at", "时间均按 %s 显示；坐标为 WGS-84", "Times shown at %s; positions are WGS-84"},
};

static const char *L(int lang, const char *key)
{
	for (size_t i = 0; i < ARRAY_LEN(labels); i++)
		if (strcmp(labels[i].key, key) == 0)
			return lang == EXPORT_LANG_EN ? labels[i].en : labels[i].zh;
	return key;
}

/* Text for HTML content and attributes, escaped as in the other reports. */
static int put_text(struct buf *b, const char *s)
{
	return export_put_xml(b, s);
}

static const char css[] =
	"@page{size:A4;margin:12mm}"
	"body{font-family:\"WenQuanYi Zen Hei\",\"Noto Sans CJK SC\",sans-serif;font-size:10pt;"
	"color:#111;margin:0}"
	"h1{font-size:16pt;margin:0 0 4mm}h2{font-size:13pt;margin:6mm 0 2mm;"
	"break-after:avoid;page-break-after:avoid}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{border:1px solid #888;padding:1mm 2mm;text-align:left;vertical-align:top}"
	"tr{break-inside:avoid;page-break-inside:avoid}"
	".meta th{width:35%;background:#f2f2f2}"
	".head{display:flex;font-weight:bold;background:#f2f2f2;border:1px solid #888}"
	".head div{flex:1 1 0;padding:1mm 2mm}"
	/* a row (the two photos and the line that links them) is never cut
	 * across pages */
	".row{break-inside:avoid;page-break-inside:avoid}"
	".pair{display:flex;border:1px solid #888;border-top:none}"
	".side{flex:1 1 0;min-width:0;padding:2mm}"
	".side+.side{border-left:1px solid #888}"
	".side img{display:block;width:100%;height:55mm;object-fit:contain;background:#eee}"
	".empty{height:55mm;display:flex;align-items:center;justify-content:center;"
	"background:#fafafa;color:#666}"
	".cap{font-size:8pt;line-height:1.35;margin-top:1mm;overflow-wrap:anywhere}"
	".sha{font-family:monospace;font-size:6.5pt;color:#444}"
	".link{border:1px solid #888;border-top:none;padding:1mm 2mm;font-size:9pt;"
	"background:#f8f8f8;break-before:avoid;page-break-before:avoid}"
	".rebound{color:#b00000;font-weight:bold}"
	".note{font-size:8pt;color:#444}"
	"@media screen{body{margin:8mm auto;max-width:200mm}}";

/* The caption and picture of one photo. */
static int put_photo(struct buf *b, const struct revisit_report *r, const struct rv_item *x,
		     const char *uri, int lang)
{
	char loc[40];
	int rc = 0;
	double lat = jnum(x->o, "lat"), lon = jnum(x->o, "lon");
	int magnetic;
	double yaw = item_heading(x->o, &magnetic), rel = jnum(x->o, "rel_alt");
	local_time(x->t, r->offset_s, loc);
	if (uri) {
		rc = buf_puts(b, "<img alt=\"") || put_text(b, jstr(x->o, "original_name")) ||
		     buf_puts(b, "\" src=\"") || buf_puts(b, uri) || buf_puts(b, "\">");
	} else {
		rc = buf_printf(b, "<div class=\"empty\">%s</div>", L(lang, "no_thumb"));
	}
	rc = rc || buf_puts(b, "<div class=\"cap\"><b>") || put_text(b, jstr(x->o, "original_name")) ||
	     buf_printf(b, "</b><br>%s<br>", loc);
	if (isfinite(lat) && isfinite(lon))
		rc = rc || buf_printf(b, "%.6f, %.6f", lat, lon);
	else
		rc = rc || buf_puts(b, L(lang, "no_place"));
	if (isfinite(yaw))
		rc = rc || buf_printf(b, " &middot; %.0f&deg;%s", fmod(yaw + 360.0, 360.0),
				      magnetic ? L(lang, "magnetic") : "");
	/* the height pairing compared (docs/revisit.md): above the take-off
	 * point where the drone gives it, else the GPS altitude */
	double alt = jnum(x->o, "alt");
	if (isfinite(rel))
		rc = rc || buf_printf(b, " &middot; %.0f%s", rel, L(lang, "agl"));
	else if (isfinite(alt))
		rc = rc || buf_printf(b, " &middot; %.0f%s", alt, L(lang, "amsl"));
	rc = rc || buf_puts(b, "<br><span class=\"sha\">SHA-256 ") ||
	     put_text(b, jstr(x->o, "sha256")) || buf_puts(b, "</span></div>");
	return rc ? EV_ELIMIT : 0;
}

/* The thumbnail of an item as a data URI (malloc'd), or NULL. */
static char *thumb_of(struct store *s, const struct rv_item *x)
{
	const char *sha = jstr(x->o, "sha256"), *name = jstr(x->o, "original_name");
	const char *fmt = jstr(x->o, "format");
	char err[512];
	char *uri = NULL, *path = NULL;
	int orientation = 0;
	struct buf src, small, out;
	buf_init(&src, REVISIT_THUMB_SRC_MAX);
	buf_init(&small, (size_t)4 << 20);
	buf_init(&out, (size_t)8 << 20);
	if (!sha || !sha256_hex_valid(sha) || !thumb_format_ok(fmt))
		goto out;
	sqlite3_stmt *st = store_prepare(s, "SELECT orientation FROM items WHERE sha256 = ?", NULL, 0);
	if (st) {
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			orientation = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	path = store_blob_path(s, sha);
	if (fs_read_file(path, REVISIT_THUMB_SRC_MAX, &src, err, sizeof err) ||
	    thumb_photo(fmt, (const uint8_t *)src.data, src.len, REVISIT_THUMB_PX, orientation,
			name, &small, err, sizeof err)) {
		fprintf(stderr, "evcap: %s: no thumbnail: %s\n", name ? name : sha, err);
		goto out;
	}
	if (thumb_data_uri((const uint8_t *)small.data, small.len, &out) == 0)
		uri = buf_detach(&out, NULL);
out:
	free(path);
	buf_free(&src);
	buf_free(&small);
	buf_free(&out);
	return uri;
}

/* One row: the earlier photo left, the later right; either may be absent. */
static int put_pair(struct buf *b, struct store *s, const struct revisit_report *r,
		    const struct rv_item *before, const struct rv_item *after,
		    const struct revisit_match *m, int lang)
{
	int rc = 0;
	const struct rv_item *side[2] = {before, after};
	rc = buf_puts(b, "<div class=\"row\"><div class=\"pair\">");
	for (int k = 0; k < 2 && !rc; k++) {
		rc = buf_puts(b, "<div class=\"side\">");
		if (side[k]) {
			char *uri = thumb_of(s, side[k]);
			rc = rc || put_photo(b, r, side[k], uri, lang);
			free(uri);
		} else {
			rc = rc || buf_printf(b, "<div class=\"empty\">%s</div>",
					      L(lang, "no_counterpart"));
		}
		rc = rc || buf_puts(b, "</div>");
	}
	rc = rc || buf_puts(b, "</div>");
	if (!rc && before && after && m) {
		rc = buf_printf(b, "<div class=\"link\">%s %.1f m", L(lang, "distance"), m->distance_m);
		if (isfinite(m->heading_diff))
			rc = rc || buf_printf(b, "; %s %.0f&deg;", L(lang, "heading"), m->heading_diff);
		else
			rc = rc || buf_printf(b, "; %s", L(lang, "no_heading"));
		rc = rc || buf_puts(b, "</div>");
	} else if (!rc && after && m) {
		char key[16];
		snprintf(key, sizeof key, "why%d", m->why);
		rc = buf_printf(b, "<div class=\"link\">%s: ", L(lang, "no_counterpart")) ||
		     put_text(b, L(lang, key)) || buf_puts(b, "</div>");
	}
	rc = rc || buf_puts(b, "</div>");
	return rc ? EV_ELIMIT : 0;
}

/* The rank of a water-quality class as recorded (GB 3838-2002: I best,
 * 劣V worst, 1..6), 0 when it is no class; a trailing 类 is allowed. */
static int class_rank(const char *c)
{
	char t[32];
	if (!c)
		return 0;
	snprintf(t, sizeof t, "%s", c);
	size_t n = strlen(t);
	if (n > 3 && strcmp(t + n - 3, "\xe7\xb1\xbb") == 0) /* 类 */
		t[n - 3] = '\0';
	return (int)gb3838_class_parse(t);
}

/* The readings of one site (k, -1 for none) in one visit, one parameter:
 * writes them into a cell and returns the worst class rank among them. */
static int put_reading_cell(struct buf *b, const struct revisit_report *r, long k, int visit,
			    const char *param, int *rc)
{
	int worst = 0, first = 1;
	*rc = *rc || buf_puts(b, "<td>");
	for (size_t i = 0; i < r->n_rd && !*rc; i++) {
		const struct rv_reading *x = &r->rd[i];
		if (x->site != k || x->visit != visit || !x->parameter || strcmp(x->parameter, param))
			continue;
		if (!first)
			*rc = buf_puts(b, "<br>");
		first = 0;
		if (x->has_value) {
			char num[NUM_TEXT_MAX];
			num_text(x->value, num);
			*rc = *rc || buf_printf(b, "%s ", num);
		}
		*rc = *rc || put_text(b, x->unit);
		if (x->cls)
			*rc = *rc || buf_puts(b, " (") || put_text(b, x->cls) || buf_puts(b, ")");
		int rank = class_rank(x->cls);
		if (rank > worst)
			worst = rank;
	}
	*rc = *rc || buf_puts(b, "</td>");
	return worst;
}

/* The readings table of one site, both visits side by side. */
static int put_readings(struct buf *b, const struct revisit_report *r, long k, int lang)
{
	int rc = 0;
	size_t np = 0;
	const char **params = xcalloc(r->n_rd ? r->n_rd : 1, sizeof *params);
	for (size_t i = 0; i < r->n_rd; i++) {
		const struct rv_reading *x = &r->rd[i];
		if (x->site != k || (x->visit != r->before && x->visit != r->after) || !x->parameter)
			continue;
		size_t j = 0;
		while (j < np && strcmp(params[j], x->parameter))
			j++;
		if (j == np)
			params[np++] = x->parameter;
	}
	if (np == 0)
		goto out;
	rc = buf_printf(b, "<h3>%s</h3><table class=\"readings\"><tr><th>%s</th>"
			   "<th>%s (%s)</th><th>%s (%s)</th><th>%s</th></tr>",
			L(lang, "readings"), L(lang, "parameter"), L(lang, "before"), L(lang, "class"),
			L(lang, "after"), L(lang, "class"), L(lang, "assessment"));
	for (size_t j = 0; j < np && !rc; j++) {
		rc = buf_puts(b, "<tr><td>") || put_text(b, params[j]) || buf_puts(b, "</td>");
		int wb = put_reading_cell(b, r, k, r->before, params[j], &rc);
		int wa = put_reading_cell(b, r, k, r->after, params[j], &rc);
		if (wb && wa && wa > wb)
			rc = rc || buf_printf(b, "<td class=\"rebound\">%s</td>", L(lang, "rebound"));
		else if (wb && wa)
			rc = rc || buf_printf(b, "<td>%s</td>",
					      L(lang, wa < wb ? "improved" : "unchanged"));
		else
			rc = rc || buf_puts(b, "<td></td>");
		rc = rc || buf_puts(b, "</tr>");
	}
	rc = rc || buf_puts(b, "</table><p class=\"note\">") ||
	     put_text(b, GB3838_SCREENING_LABEL) || buf_puts(b, "</p>");
out:
	free(params);
	return rc ? EV_ELIMIT : 0;
}

/* 1 if site k (-1: none) has anything to show. */
static int site_has_content(const struct revisit_report *r, long k)
{
	for (size_t j = 0; j < r->na; j++)
		if (r->it[r->ai[j]].site == k)
			return 1;
	for (size_t j = 0; j < r->nb; j++)
		if (r->it[r->bi[j]].site == k)
			return 1;
	for (size_t i = 0; i < r->n_rd; i++)
		if (r->rd[i].site == k && (r->rd[i].visit == r->before || r->rd[i].visit == r->after))
			return 1;
	return 0;
}

static int put_site(struct buf *b, struct store *s, const struct revisit_report *r, long k,
		    const size_t *order, int lang)
{
	int rc = 0;
	char vb[64], va[64];
	if (!site_has_content(r, k))
		return 0;
	if (k >= 0) {
		const struct rv_site *x = &r->sites[k];
		rc = buf_printf(b, "<section class=\"site\"><h2>%s: ", L(lang, "site")) ||
		     put_text(b, x->name) ||
		     buf_printf(b, "</h2><p class=\"note\">%s %.6f, %.6f &middot; %s %.0f m",
				L(lang, "centre"), x->lat, x->lon, L(lang, "radius"), x->radius_m);
		if (x->water_body)
			rc = rc || buf_puts(b, " &middot; ") || put_text(b, x->water_body);
		rc = rc || buf_puts(b, "</p>");
	} else {
		rc = buf_printf(b, "<section class=\"site\"><h2>%s</h2>", L(lang, "outside"));
	}
	snprintf(vb, sizeof vb, L(lang, "visit"), r->before);
	snprintf(va, sizeof va, L(lang, "visit"), r->after);
	rc = rc || buf_printf(b, "<div class=\"head\"><div>%s (%s)</div><div>%s (%s)</div></div>",
			      L(lang, "before"), vb, L(lang, "after"), va);
	/* pairs and unpaired later photos, in the later photos' order */
	for (size_t q = 0; q < r->na && !rc; q++) {
		size_t j = order[q];
		const struct rv_item *a = &r->it[r->ai[j]];
		if (a->site != k)
			continue;
		const struct revisit_match *m = &r->m[j];
		const struct rv_item *bf = m->before >= 0 ? &r->it[r->bi[m->before]] : NULL;
		rc = put_pair(b, s, r, bf, a, m, lang);
	}
	/* earlier photos nobody matched */
	for (size_t j = 0; j < r->nb && !rc; j++)
		if (r->used_by[j] < 0 && r->it[r->bi[j]].site == k)
			rc = put_pair(b, s, r, &r->it[r->bi[j]], NULL, NULL, lang);
	rc = rc || put_readings(b, r, k, lang) || buf_puts(b, "</section>");
	return rc ? EV_ELIMIT : 0;
}

static int put_meta_row(struct buf *b, const char *label, const char *value, const char *fallback)
{
	return buf_puts(b, "<tr><th>") || put_text(b, label) || buf_puts(b, "</th><td>") ||
	       put_text(b, value ? value : fallback) || buf_puts(b, "</td></tr>");
}

int revisit_report_html(const struct revisit_report *r, struct store *s, const char *lang_arg,
			struct buf *out, char *err, size_t errlen)
{
	int rc = 0;
	int lang = i18n_pick(lang_arg);
	char vb[64], va[64], t1[40], t2[40], span[200], now[40], off[8], line[200];
	size_t *order = NULL;
	if (lang < 0)
		return err_set(err, errlen, EV_EINVAL, "language '%s' is neither zh nor en", lang_arg);
	if (!r->m)
		return err_set(err, errlen, EV_EINVAL, "the report was loaded without pairing");
	order = pair_order(r);
	time_format_offset(r->offset_s, off);
	rc = buf_printf(out, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
			     "<title>%s ",
			lang == EXPORT_LANG_EN ? "en" : "zh-CN", L(lang, "title")) ||
	     put_text(out, r->number) || buf_printf(out, "</title><style>%s</style></head><body>", css) ||
	     buf_printf(out, "<h1>%s</h1><table class=\"meta\">", L(lang, "title")) ||
	     put_meta_row(out, L(lang, "case"), r->number, "") ||
	     put_meta_row(out, L(lang, "case_title"), r->title, L(lang, "not_set")) ||
	     put_meta_row(out, L(lang, "recommendation"), r->recommendation, L(lang, "not_set")) ||
	     put_meta_row(out, L(lang, "reply_date"), r->reply_date, L(lang, "not_set"));
	for (int k = 0; k < 2 && !rc; k++) {
		int v = k ? r->after : r->before;
		snprintf(k ? va : vb, sizeof vb, L(lang, "visit"), v);
		local_time(r->visits[v - 1].start, r->offset_s, t1);
		local_time(r->visits[v - 1].end, r->offset_s, t2);
		snprintf(span, sizeof span, "%s: %.19s - %.19s", k ? va : vb, t1, t2);
		rc = put_meta_row(out, L(lang, k ? "after" : "before"), span, "");
	}
	/* the English has a plural the Chinese has not */
	if (lang == EXPORT_LANG_EN)
		snprintf(line, sizeof line, L(lang, "summary"), r->pairs, r->pairs == 1 ? "" : "s",
			 r->na, r->na == 1 ? "" : "s", r->nb);
	else
		snprintf(line, sizeof line, L(lang, "summary"), r->pairs, r->na, r->nb);
	rc = rc || put_meta_row(out, L(lang, "pairs"), line, "");
	local_time(time_now(), r->offset_s, now);
	rc = rc || put_meta_row(out, L(lang, "generated"), now, "");
	snprintf(line, sizeof line, L(lang, "times_at"), off);
	rc = rc || buf_puts(out, "</table><p class=\"note\">") || put_text(out, line) ||
	     buf_puts(out, "</p>");
	for (long k = 0; k < (long)r->n_sites && !rc; k++)
		rc = put_site(out, s, r, k, order, lang);
	rc = rc || put_site(out, s, r, -1, order, lang) || buf_puts(out, "</body></html>\n");
	free(order);
	if (rc)
		return err_set(err, errlen, EV_ELIMIT, "the report of case %s grew past %zu bytes",
			       r->number, out->max);
	return 0;
}

int revisit_html_write(struct store *s, int64_t case_id, int before, int after, const char *lang,
		       FILE *out, char *err, size_t errlen)
{
	struct revisit_opts o = {.pair = 1, .before = before, .after = after};
	struct revisit_report *r = NULL;
	struct buf b;
	int rc;
	buf_init(&b, EXPORT_OUT_MAX);
	if ((rc = revisit_report_load(s, case_id, &o, &r, err, errlen)) ||
	    (rc = revisit_report_html(r, s, lang, &b, err, errlen)))
		goto out;
	if (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0)
		rc = err_set(err, errlen, EV_EIO, "cannot write the re-inspection report of case %s",
			     r->number);
out:
	revisit_report_free(r);
	buf_free(&b);
	return rc;
}
