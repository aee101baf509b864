/*
 * Site geometry and the assignment of items and readings to sites. The
 * choice of site is the pure sites_pick; the store side reads the
 * unassigned rows, writes the chosen site_id and records the batch in the
 * custody log, all in one transaction.
 */
#include "sites.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody.h"
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

/* What one table contributes to an assignment batch. */
struct assign_table {
	const char *select_sql;
	const char *update_sql;
	const char *detail_key; /* "items" or "readings" */
};

static const struct assign_table assign_tables[] = {
	{"SELECT id, lat, lon, sha256 FROM items WHERE case_id = ? AND site_id IS NULL"
	 " AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id",
	 "UPDATE items SET site_id = ? WHERE id = ? AND site_id IS NULL", "items"},
	{"SELECT id, lat, lon, NULL FROM readings WHERE case_id = ? AND site_id IS NULL"
	 " AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id",
	 "UPDATE readings SET site_id = ? WHERE id = ? AND site_id IS NULL", "readings"},
};

/* Assigns the rows of one table; per_site[k] (a JSON object per site)
 * collects what went to site k. */
static int assign_one(struct store *s, const struct assign_table *t, int64_t case_id,
		      const struct site_geo *v, size_t n, json_t **per_site, int *count,
		      char *err, size_t errlen)
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
	}
	if (r != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot read the %s to assign: %s", t->detail_key,
			     sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

/* The case number and the names of its sites, for the custody event. */
static int assign_names(struct store *s, int64_t case_id, const struct site_geo *v, size_t n,
			char **number, json_t **per_site, char *err, size_t errlen)
{
	int rc = 0;
	sqlite3_stmt *st = store_prepare(s, "SELECT number FROM cases WHERE id = ?", err, errlen);
	sqlite3_stmt *sn = store_prepare(s, "SELECT name FROM sites WHERE id = ?", err, errlen);
	if (!st || !sn) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = err_set(err, errlen, EV_ENOENT, "no case with id %lld in this store",
			     (long long)case_id);
		goto out;
	}
	*number = xstrdup((const char *)sqlite3_column_text(st, 0));
	for (size_t k = 0; k < n; k++) {
		sqlite3_reset(sn);
		sqlite3_bind_int64(sn, 1, v[k].id);
		per_site[k] = json_object();
		if (sqlite3_step(sn) == SQLITE_ROW)
			json_object_set_new(per_site[k], "site",
					    json_string((const char *)sqlite3_column_text(sn, 0)));
	}
out:
	sqlite3_finalize(st);
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
	if ((rc = assign_names(s, case_id, v, n, &number, per_site, err, errlen)))
		goto out;
	for (size_t t = 0; t < ARRAY_LEN(assign_tables); t++)
		if ((rc = assign_one(s, &assign_tables[t], case_id, v, n, per_site, &count, err,
				     errlen)))
			goto out;
	if (count > 0) {
		json_t *list = json_array();
		for (size_t k = 0; k < n; k++)
			if (json_object_size(per_site[k]) > 1)
				json_array_append(list, per_site[k]);
		detail = json_object();
		json_object_set_new(detail, "sites", list);
		json_object_set_new(detail, "assigned", json_integer(count));
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
	return rc;
}
