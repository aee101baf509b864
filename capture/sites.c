/*
 * Site geometry and the assignment of items and readings to sites. The
 * choice of site is the pure sites_pick; the store side reads the
 * unassigned rows, writes the chosen site_id and records the batch in the
 * custody log, all in one transaction. A reading placed in a site is
 * classed again with the site's water body, which its import may not
 * have known.
 */
#include "sites.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody.h"
#include "gb3838.h"
#include "timeutil.h"
#include "track.h"

long sites_pick(const struct site_geo *v, size_t n, double lat, double lon, double *dist_m)
{
	long best = -1;
	double best_d = 0;
	if (!isfinite(lat) || !isfinite(lon))
		return -1;
	for (size_t i = 0; i < n; i++) {
		double d = track_distance_m(lat, lon, v[i].lat, v[i].lon);
		if (!(d <= v[i].radius_m))
			continue;
		if (best < 0 || d < best_d) {
			best = (long)i;
			best_d = d;
		}
	}
	if (best >= 0 && dist_m)
		*dist_m = best_d;
	return best;
}

int sites_check(double lat, double lon, double radius_m, char *err, size_t errlen)
{
	if (!isfinite(lat) || lat < -90 || lat > 90)
		return err_set(err, errlen, EV_EINVAL,
			       "latitude %g is not between -90 and 90 degrees", lat);
	if (!isfinite(lon) || lon < -180 || lon > 180)
		return err_set(err, errlen, EV_EINVAL,
			       "longitude %g is not between -180 and 180 degrees", lon);
	if (lat == 0 && lon == 0)
		return err_set(err, errlen, EV_EINVAL,
			       "position 0,0 is what a receiver without a fix reports, not a site");
	if (!isfinite(radius_m) || radius_m <= 0 || radius_m > SITES_MAX_RADIUS_M)
		return err_set(err, errlen, EV_EINVAL,
			       "radius %g m is not above 0 and at most %g m", radius_m,
			       SITES_MAX_RADIUS_M);
	return 0;
}

int sites_load(struct store *s, int64_t case_id, struct site_geo **out, size_t *n, char *err,
	       size_t errlen)
{
	int rc = 0, r;
	struct site_geo *v = NULL;
	size_t k = 0, cap = 0;
	sqlite3_stmt *st = store_prepare(
		s, "SELECT id, lat, lon, radius_m FROM sites WHERE case_id = ? ORDER BY id", err,
		errlen);
	*out = NULL;
	*n = 0;
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (k == SITES_MAX_PER_CASE) {
			rc = err_set(err, errlen, EV_ELIMIT, "the case has more than %d sites",
				     SITES_MAX_PER_CASE);
			goto out;
		}
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[k].id = sqlite3_column_int64(st, 0);
		v[k].lat = sqlite3_column_double(st, 1);
		v[k].lon = sqlite3_column_double(st, 2);
		v[k].radius_m = sqlite3_column_double(st, 3);
		k++;
	}
	if (r != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot read the sites: %s",
			     sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(st);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return 0;
}

/*
 * Classing a stored reading again. Only the class, which is derived, is
 * written; the value, unit and raw line stay as recorded. Each change is
 * one object in `changes`, for the custody event that records it.
 */
struct reclass {
	sqlite3_stmt *get, *upd;
	json_t *changes; /* array */
};

static int reclass_open(struct store *s, struct reclass *rc, char *err, size_t errlen)
{
	rc->changes = json_array();
	rc->get = store_prepare(s,
				"SELECT r.parameter, r.value, r.unit, r.class,"
				" COALESCE(st.water_body, c.water_body)"
				" FROM readings r LEFT JOIN sites st ON st.id = r.site_id"
				" LEFT JOIN cases c ON c.id = r.case_id"
				" WHERE r.id = ? AND r.parameter IS NOT NULL"
				" AND r.value IS NOT NULL AND r.error IS NULL",
				err, errlen);
	rc->upd = rc->get ? store_prepare(s, "UPDATE readings SET class = ? WHERE id = ?", err,
					  errlen)
			  : NULL;
	return rc->get && rc->upd ? 0 : EV_EDB;
}

static void reclass_close(struct reclass *rc)
{
	sqlite3_finalize(rc->get);
	sqlite3_finalize(rc->upd);
	json_decref(rc->changes);
	memset(rc, 0, sizeof *rc);
}

/* Classes reading `id` with the water body of its site, else of its case,
 * else a river's; a reading with no value (an error) is left alone. */
static int reclass_row(struct store *s, struct reclass *rc, int64_t id, char *err, size_t errlen)
{
	int r, ret = 0;
	sqlite3_reset(rc->get);
	sqlite3_bind_int64(rc->get, 1, id);
	r = sqlite3_step(rc->get);
	if (r == SQLITE_DONE)
		return 0;
	if (r != SQLITE_ROW)
		return err_set(err, errlen, EV_EDB, "cannot read reading %lld to class it: %s",
			       (long long)id, sqlite3_errmsg(store_db(s)));
	const char *param = (const char *)sqlite3_column_text(rc->get, 0);
	double value = sqlite3_column_double(rc->get, 1);
	const char *unit = (const char *)sqlite3_column_text(rc->get, 2);
	const char *old = (const char *)sqlite3_column_text(rc->get, 3);
	const char *wtxt = (const char *)sqlite3_column_text(rc->get, 4);
	enum gb3838_water water = GB3838_RIVER;
	int known = wtxt && gb3838_water_parse(wtxt, &water) == 0;
	enum gb3838_class c = GB3838_NONE;
	if (gb3838_classify(param, value, water, &c))
		c = GB3838_NONE;
	const char *now = gb3838_class_name(c);
	if ((now == NULL && old == NULL) || (now && old && strcmp(now, old) == 0))
		return 0;
	json_t *o = json_object();
	json_object_set_new(o, "reading", json_integer(id));
	json_object_set_new(o, "parameter", json_string(param));
	/* the value as evcap writes it (0.08, not 0.080000000000000002) */
	char vtxt[NUM_TEXT_MAX];
	num_text(value, vtxt);
	if (unit)
		json_object_set_new(o, "value", json_sprintf("%s %s", vtxt, unit));
	else
		json_object_set_new(o, "value", json_string(vtxt));
	json_object_set_new(o, "water_body",
			    json_string(known ? (water == GB3838_LAKE ? "lake" : "river")
					      : "unknown (classed as river)"));
	json_object_set_new(o, "class", now ? json_string(now) : json_null());
	json_object_set_new(o, "previous_class", old ? json_string(old) : json_null());
	/* the texts read above die with the next step on rc->get: o has copies */
	sqlite3_reset(rc->upd);
	if (now)
		sqlite3_bind_text(rc->upd, 1, now, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(rc->upd, 1);
	sqlite3_bind_int64(rc->upd, 2, id);
	if (sqlite3_step(rc->upd) != SQLITE_DONE)
		ret = err_set(err, errlen, EV_EDB, "cannot class reading %lld again: %s",
			      (long long)id, sqlite3_errmsg(store_db(s)));
	if (ret)
		json_decref(o);
	else
		json_array_append_new(rc->changes, o);
	return ret;
}

/* What one table contributes to an assignment batch. */
struct assign_table {
	const char *select_sql;
	const char *update_sql;
	const char *detail_key; /* "items" or "readings" */
	int reclass;            /* a row placed is classed again (readings) */
};

static const struct assign_table assign_tables[] = {
	{"SELECT id, lat, lon, sha256 FROM items WHERE case_id = ? AND site_id IS NULL"
	 " AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id",
	 "UPDATE items SET site_id = ? WHERE id = ? AND site_id IS NULL", "items", 0},
	{"SELECT id, lat, lon, NULL FROM readings WHERE case_id = ? AND site_id IS NULL"
	 " AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id",
	 "UPDATE readings SET site_id = ? WHERE id = ? AND site_id IS NULL", "readings", 1},
};

/* Assigns the rows of one table; per_site[k] (a JSON object per site)
 * collects what went to site k, and rc_cls what the placed readings' new
 * water bodies changed. */
static int assign_one(struct store *s, const struct assign_table *t, int64_t case_id,
		      const struct site_geo *v, size_t n, json_t **per_site, int *count,
		      struct reclass *rc_cls, char *err, size_t errlen)
{
	int rc = 0, r;
	sqlite3_stmt *sel = store_prepare(s, t->select_sql, err, errlen);
	sqlite3_stmt *upd = store_prepare(s, t->update_sql, err, errlen);
	if (!sel || !upd) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(sel, 1, case_id);
	while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
		long k = sites_pick(v, n, sqlite3_column_double(sel, 1),
				    sqlite3_column_double(sel, 2), NULL);
		if (k < 0)
			continue;
		int64_t id = sqlite3_column_int64(sel, 0);
		sqlite3_reset(upd);
		sqlite3_bind_int64(upd, 1, v[k].id);
		sqlite3_bind_int64(upd, 2, id);
		if (sqlite3_step(upd) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "cannot assign a site to %s row %lld: %s",
				     t->detail_key, (long long)id, sqlite3_errmsg(store_db(s)));
			goto out;
		}
		if (sqlite3_changes(store_db(s)) == 0)
			continue;
		json_t *list = json_object_get(per_site[k], t->detail_key);
		if (!list) {
			list = json_array();
			json_object_set_new(per_site[k], t->detail_key, list);
		}
		const unsigned char *sha = sqlite3_column_text(sel, 3);
		json_array_append_new(list, sha ? json_string((const char *)sha) : json_integer(id));
		(*count)++;
		if (t->reclass && (rc = reclass_row(s, rc_cls, id, err, errlen)))
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot read the %s to assign: %s", t->detail_key,
			     sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

/* The number of case case_id (malloc'd in *number), or EV_ENOENT. */
static int case_number_of(struct store *s, int64_t case_id, char **number, char *err,
			  size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT number FROM cases WHERE id = ?", err, errlen);
	int rc = 0;
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*number = xstrdup((const char *)sqlite3_column_text(st, 0));
	else
		rc = err_set(err, errlen, EV_ENOENT, "no case with id %lld in this store",
			     (long long)case_id);
	sqlite3_finalize(st);
	return rc;
}

/* The case number and the names of its sites, for the custody event. */
static int assign_names(struct store *s, int64_t case_id, const struct site_geo *v, size_t n,
			char **number, json_t **per_site, char *err, size_t errlen)
{
	int rc = 0;
	sqlite3_stmt *sn = store_prepare(s, "SELECT name FROM sites WHERE id = ?", err, errlen);
	if (!sn) {
		rc = EV_EDB;
		goto out;
	}
	if ((rc = case_number_of(s, case_id, number, err, errlen)))
		goto out;
	for (size_t k = 0; k < n; k++) {
		sqlite3_reset(sn);
		sqlite3_bind_int64(sn, 1, v[k].id);
		per_site[k] = json_object();
		if (sqlite3_step(sn) == SQLITE_ROW)
			json_object_set_new(per_site[k], "site",
					    json_string((const char *)sqlite3_column_text(sn, 0)));
	}
out:
	sqlite3_finalize(sn);
	return rc;
}

int sites_assign(struct store *s, int64_t case_id, const char *actor, int *assigned, char *err,
		 size_t errlen)
{
	int rc = 0, count = 0, own_tx = 0;
	struct site_geo *v = NULL;
	size_t n = 0;
	json_t **per_site = NULL, *detail = NULL;
	char *number = NULL;
	struct reclass cls = {0};

	if (assigned)
		*assigned = 0;
	if ((rc = sites_load(s, case_id, &v, &n, err, errlen)) || n == 0)
		goto out;
	if (sqlite3_get_autocommit(store_db(s))) {
		if ((rc = store_begin(s, err, errlen)))
			goto out;
		own_tx = 1;
	}
	per_site = xcalloc(n, sizeof *per_site);
	if ((rc = assign_names(s, case_id, v, n, &number, per_site, err, errlen)) ||
	    (rc = reclass_open(s, &cls, err, errlen)))
		goto out;
	for (size_t t = 0; t < ARRAY_LEN(assign_tables); t++)
		if ((rc = assign_one(s, &assign_tables[t], case_id, v, n, per_site, &count, &cls,
				     err, errlen)))
			goto out;
	if (count > 0) {
		json_t *list = json_array();
		for (size_t k = 0; k < n; k++)
			if (json_object_size(per_site[k]) > 1)
				json_array_append(list, per_site[k]);
		detail = json_object();
		json_object_set_new(detail, "sites", list);
		json_object_set_new(detail, "assigned", json_integer(count));
		if (json_array_size(cls.changes))
			json_object_set(detail, "reclassed", cls.changes);
		if ((rc = custody_append(s, time_now(), actor, "site assign", number, NULL, detail,
					 NULL, err, errlen)))
			goto out;
	}
	if (own_tx) {
		own_tx = 0;
		if ((rc = store_commit(s, err, errlen)))
			goto out;
	}
	if (assigned)
		*assigned = count;
out:
	if (own_tx)
		store_rollback(s);
	for (size_t k = 0; per_site && k < n; k++)
		json_decref(per_site[k]);
	free(per_site);
	json_decref(detail);
	free(number);
	free(v);
	reclass_close(&cls);
	return rc;
}

int sites_reclass(struct store *s, int64_t case_id, const char *actor, const char *why,
		  int *changed, char *err, size_t errlen)
{
	int rc = 0, r, own_tx = 0;
	struct reclass cls = {0};
	char *number = NULL;
	json_t *detail = NULL;
	sqlite3_stmt *sel = NULL;

	if (changed)
		*changed = 0;
	if (sqlite3_get_autocommit(store_db(s))) {
		if ((rc = store_begin(s, err, errlen)))
			goto out;
		own_tx = 1;
	}
	sel = store_prepare(s, "SELECT id FROM readings WHERE case_id = ? ORDER BY id", err,
			    errlen);
	if (!sel || (rc = reclass_open(s, &cls, err, errlen))) {
		rc = rc ? rc : EV_EDB;
		goto out;
	}
	if ((rc = case_number_of(s, case_id, &number, err, errlen)))
		goto out;
	sqlite3_bind_int64(sel, 1, case_id);
	while ((r = sqlite3_step(sel)) == SQLITE_ROW)
		if ((rc = reclass_row(s, &cls, sqlite3_column_int64(sel, 0), err, errlen)))
			goto out;
	if (r != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "cannot read the readings to class: %s",
			     sqlite3_errmsg(store_db(s)));
		goto out;
	}
	if (json_array_size(cls.changes)) {
		detail = json_object();
		json_object_set_new(detail, "reason", json_string(why ? why : ""));
		json_object_set(detail, "readings", cls.changes);
		if ((rc = custody_append(s, time_now(), actor, "reclass", number, NULL, detail,
					 NULL, err, errlen)))
			goto out;
	}
	if (own_tx) {
		own_tx = 0;
		if ((rc = store_commit(s, err, errlen)))
			goto out;
	}
	if (changed)
		*changed = (int)json_array_size(cls.changes);
out:
	if (own_tx)
		store_rollback(s);
	sqlite3_finalize(sel);
	reclass_close(&cls);
	json_decref(detail);
	free(number);
	return rc;
}

int sites_assign_cases(struct store *s, int64_t case_id, const char *actor, int *assigned,
		       char *err, size_t errlen)
{
	int rc = 0, r;
	int64_t *cases = NULL;
	size_t n = 0, cap = 0;
	if (assigned)
		*assigned = 0;
	if (case_id > 0)
		return sites_assign(s, case_id, actor, assigned, err, errlen);
	sqlite3_stmt *st = store_prepare(
		s, "SELECT id FROM cases WHERE EXISTS (SELECT 1 FROM sites WHERE sites.case_id = cases.id)"
		   " ORDER BY id", err, errlen);
	if (!st)
		return EV_EDB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			cases = xrealloc(cases, cap * sizeof *cases);
		}
		cases[n++] = sqlite3_column_int64(st, 0);
	}
	if (r != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot find the cases that have sites: %s",
			     sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && !rc; i++) {
		int k = 0;
		rc = sites_assign(s, cases[i], actor, &k, err, errlen);
		if (assigned)
			*assigned += k;
	}
	free(cases);
	return rc;
}
