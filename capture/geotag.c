/*
 * Tracks in the store and the items placed on them. The arithmetic lives
 * in track.c; here are the SQL (bound parameters only), the transactions
 * and the custody events that make each derived time and place traceable.
 */
#include "geotag.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custody.h"
#include "fsutil.h"
#include "sites.h"
#include "srt.h"
#include "timeutil.h"

#define GEOTAG_MAX_SAMPLES 1000000 /* GPS-stamped photos used for learning */

/* Begins a transaction unless the caller already has one; *own says
 * whether we must commit it. */
static int geotag_begin(struct store *s, int *own, char *err, size_t errlen)
{
	*own = 0;
	if (!sqlite3_get_autocommit(store_db(s)))
		return 0;
	int rc = store_begin(s, err, errlen);
	if (rc == 0)
		*own = 1;
	return rc;
}

static int geotag_fix_ok(const struct fix *f)
{
	return f->mode >= 2 && isfinite(f->t) && isfinite(f->lat) && isfinite(f->lon) &&
	       fabs(f->lat) <= 90 && fabs(f->lon) <= 180;
}

/* Fixes stored by one execution of the many-row INSERT (9 parameters a
 * row, well under SQLite's limit of 32,766). */
#define GEOTAG_INSERT_ROWS 64

/* INSERT OR IGNORE of `rows` fixes in one statement: ?1-?9 for the first,
 * ?10-?18 for the second, and so on. */
static sqlite3_stmt *geotag_prepare_insert(struct store *s, size_t rows, char *err,
					   size_t errlen)
{
	static const char head[] =
		"INSERT OR IGNORE INTO fixes (t, time, lat, lon, alt, mode, eph, sats, source) VALUES ";
	static const char row[] = ",(?,?,?,?,?,?,?,?,?)";
	char sql[sizeof head + GEOTAG_INSERT_ROWS * (sizeof row - 1)];
	size_t at = sizeof head - 1;
	memcpy(sql, head, at);
	for (size_t r = 0; r < rows; r++) {
		/* the first row goes without its comma */
		memcpy(sql + at, row + (r == 0), sizeof row - 1 - (r == 0));
		at += sizeof row - 1 - (r == 0);
	}
	sql[at] = '\0';
	return store_prepare(s, sql, err, errlen);
}

/* Binds one fix as row `r` of an insert; iso is its time text, which must
 * stay put until the statement is reset. The source is bound apart. */
static void geotag_bind_fix(sqlite3_stmt *st, int r, const struct fix *f, char iso[32])
{
	int b = 9 * r;
	time_format_iso(f->t, iso);
	sqlite3_bind_double(st, b + 1, f->t);
	sqlite3_bind_text(st, b + 2, iso, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, b + 3, f->lat);
	sqlite3_bind_double(st, b + 4, f->lon);
	if (isfinite(f->alt))
		sqlite3_bind_double(st, b + 5, f->alt);
	else
		sqlite3_bind_null(st, b + 5);
	sqlite3_bind_int(st, b + 6, f->mode);
	if (isfinite(f->eph))
		sqlite3_bind_double(st, b + 7, f->eph);
	else
		sqlite3_bind_null(st, b + 7);
	if (f->sats >= 0)
		sqlite3_bind_int(st, b + 8, f->sats);
	else
		sqlite3_bind_null(st, b + 8);
}

static int geotag_step_insert(struct store *s, sqlite3_stmt *st, size_t *added, char *err,
			      size_t errlen)
{
	int rc = 0;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "storing a fix: %s", sqlite3_errmsg(store_db(s)));
	else
		*added += (size_t)sqlite3_changes(store_db(s));
	sqlite3_reset(st);
	return rc;
}

/*
 * The fixes go in GEOTAG_INSERT_ROWS to a statement, the rest one at a
 * time, each statement prepared once. A day at 1 Hz is 86,400 rows, and
 * per row SQLite opened and closed a cursor on the table and on each of
 * its two indexes; many rows to an execution share them. The source is
 * bound once (bindings outlive a reset) and the time texts are bound from
 * buffers that stay put, so SQLite copies neither. Rows are inserted in
 * the order given, as one at a time would.
 */
static int geotag_insert_in_tx(struct store *s, const struct fix *v, size_t n,
			       const char *source, size_t *inserted, char *err, size_t errlen)
{
	int rc = 0;
	size_t added = 0, np = 0;
	const struct fix *pend[GEOTAG_INSERT_ROWS];
	char iso[GEOTAG_INSERT_ROWS][32];
	sqlite3_stmt *many = geotag_prepare_insert(s, GEOTAG_INSERT_ROWS, err, errlen);
	sqlite3_stmt *one = geotag_prepare_insert(s, 1, err, errlen);
	if (!many || !one) {
		rc = EV_EDB;
		goto out;
	}
	for (int r = 0; r < GEOTAG_INSERT_ROWS; r++)
		sqlite3_bind_text(many, 9 * r + 9, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(one, 9, source, -1, SQLITE_STATIC);
	for (size_t i = 0; i < n; i++) {
		if (!geotag_fix_ok(&v[i]))
			continue;
		pend[np++] = &v[i];
		if (np < GEOTAG_INSERT_ROWS)
			continue;
		for (size_t r = 0; r < np; r++)
			geotag_bind_fix(many, (int)r, pend[r], iso[r]);
		np = 0;
		if ((rc = geotag_step_insert(s, many, &added, err, errlen)))
			goto out;
	}
	for (size_t r = 0; r < np; r++) {
		geotag_bind_fix(one, 0, pend[r], iso[0]);
		if ((rc = geotag_step_insert(s, one, &added, err, errlen)))
			goto out;
	}
out:
	sqlite3_finalize(many);
	sqlite3_finalize(one);
	if (inserted)
		*inserted = added;
	return rc;
}

int geotag_insert_fixes(struct store *s, const struct fix *v, size_t n, const char *source,
			size_t *inserted, char *err, size_t errlen)
{
	int own = 0;
	if (inserted)
		*inserted = 0;
	int rc = geotag_begin(s, &own, err, errlen);
	if (rc)
		return rc;
	rc = geotag_insert_in_tx(s, v, n, source, inserted, err, errlen);
	if (own) {
		if (rc)
			store_rollback(s);
		else
			rc = store_commit(s, err, errlen);
	}
	return rc;
}

struct fix geotag_row_fix(sqlite3_stmt *st, int first)
{
	int c = first;
	struct fix f;
	f.t = sqlite3_column_double(st, c);
	f.lat = sqlite3_column_double(st, c + 1);
	f.lon = sqlite3_column_double(st, c + 2);
	f.alt = sqlite3_column_type(st, c + 3) == SQLITE_NULL ? NAN
							      : sqlite3_column_double(st, c + 3);
	f.mode = sqlite3_column_int(st, c + 4);
	f.eph = sqlite3_column_type(st, c + 5) == SQLITE_NULL ? NAN
							      : sqlite3_column_double(st, c + 5);
	f.sats = sqlite3_column_type(st, c + 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, c + 6);
	return f;
}

int geotag_load_tracks(struct store *s, struct trackset *out, char *err, size_t errlen)
{
	int rc = 0, k;
	sqlite3_stmt *st = store_prepare(s,
		"SELECT t, lat, lon, alt, mode, eph, sats, source FROM fixes WHERE mode >= 2"
		" ORDER BY t, id", err, errlen);
	if (!st)
		return EV_EDB;
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->total >= GEOTAG_MAX_FIXES) {
			rc = err_set(err, errlen, EV_ELIMIT, "the store holds more than %d fixes",
				     GEOTAG_MAX_FIXES);
			goto out;
		}
		struct fix f = geotag_row_fix(st, 0);
		const char *src = (const char *)sqlite3_column_text(st, 7);
		if (geotag_fix_ok(&f))
			trackset_push(out, src ? src : "", &f);
	}
	if (k != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "reading fixes: %s", sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(st);
	trackset_sort(out);
	return rc;
}

/* ---- live batches ---- */

struct geotag_batch {
	struct store *s;
	char *source;
	struct fix *v;
	size_t n, cap, max_n;
	double max_age;
	double first_at; /* when the oldest held fix arrived */
	double retry_at; /* after a refused commit: not before this */
	uint64_t stored;
};

struct geotag_batch *geotag_batch_new(struct store *s, const char *source, size_t max_n,
				      double max_age)
{
	struct geotag_batch *b = xcalloc(1, sizeof *b);
	b->s = s;
	b->source = xstrdup(source);
	b->max_n = max_n ? (max_n > 100000 ? 100000 : max_n) : 1;
	b->max_age = max_age > 0 ? max_age : 1.0;
	b->cap = b->max_n;
	b->v = xmalloc(b->cap * sizeof *b->v);
	return b;
}

int geotag_batch_flush(struct geotag_batch *b, char *err, size_t errlen)
{
	if (b->n == 0)
		return 0;
	size_t added = 0;
	int rc = geotag_insert_fixes(b->s, b->v, b->n, b->source, &added, err, errlen);
	/* On a failed commit the outcome is unknown; keep the fixes and try
	 * again next time (the insert is idempotent). */
	if (rc == 0) {
		b->stored += added;
		b->n = 0;
		b->retry_at = 0;
		if (b->cap > b->max_n) { /* back to its usual size after a long wait */
			b->cap = b->max_n;
			b->v = xrealloc(b->v, b->cap * sizeof *b->v);
		}
	}
	return rc;
}

int geotag_batch_add(struct geotag_batch *b, const struct fix *f, double now, char *err,
		     size_t errlen)
{
	if (b->n >= GEOTAG_BATCH_HOLD_MAX)
		return err_set(err, errlen, EV_ELIMIT,
			       "%d GPS fixes are held already while the store refuses them; "
			       "this one is not kept",
			       GEOTAG_BATCH_HOLD_MAX);
	if (b->n == b->cap) {
		b->cap = b->cap * 2 > GEOTAG_BATCH_HOLD_MAX ? GEOTAG_BATCH_HOLD_MAX : b->cap * 2;
		b->v = xrealloc(b->v, b->cap * sizeof *b->v);
	}
	if (b->n == 0)
		b->first_at = now;
	b->v[b->n++] = *f;
	return 0;
}

int geotag_batch_tick(struct geotag_batch *b, double now, char *err, size_t errlen)
{
	if (b->n == 0 || now < b->retry_at)
		return 0;
	if (b->n < b->max_n && now - b->first_at < b->max_age)
		return 0;
	int rc = geotag_batch_flush(b, err, errlen);
	if (rc) {
		size_t len = strlen(err);
		b->retry_at = now + b->max_age;
		if (len < errlen)
			snprintf(err + len, errlen - len, "; %zu fix%s held, tried again in %g s", b->n,
				 b->n == 1 ? "" : "es", b->max_age);
	}
	return rc;
}

double geotag_batch_due(const struct geotag_batch *b, double now)
{
	if (b->n == 0)
		return 3600;
	if (b->retry_at > now)
		return b->retry_at - now;
	if (b->n >= b->max_n)
		return 0;
	return fmax(0, b->first_at + b->max_age - now);
}

size_t geotag_batch_held(const struct geotag_batch *b)
{
	return b->n;
}

uint64_t geotag_batch_stored(const struct geotag_batch *b)
{
	return b->stored;
}

void geotag_batch_free(struct geotag_batch *b)
{
	if (!b)
		return;
	free(b->v);
	free(b->source);
	free(b);
}

/* ---- camera clocks ---- */

struct geotag_sample {
	char *camera;    /* make \x1f model \x1f serial */
	double cam_t;    /* camera time read as if UTC */
	double offset;   /* camera clock minus UTC, seconds */
	char sha[SHA256_HEX_LEN + 1];
};

static char *geotag_camera_key(sqlite3_stmt *st, int col)
{
	const char *mk = (const char *)sqlite3_column_text(st, col);
	const char *md = (const char *)sqlite3_column_text(st, col + 1);
	const char *sn = (const char *)sqlite3_column_text(st, col + 2);
	if (!mk || !md || !sn || !*mk || !*md || !*sn)
		return NULL;
	return xasprintf("%s\x1f%s\x1f%s", mk, md, sn);
}

static const char *geotag_col(sqlite3_stmt *st, int col)
{
	const char *v = (const char *)sqlite3_column_text(st, col);
	return v ? v : "";
}

static int geotag_load_samples(struct store *s, struct geotag_sample **out, size_t *n_out,
			       char *err, size_t errlen)
{
	int rc = 0, k;
	size_t n = 0, cap = 0;
	struct geotag_sample *v = NULL;
	sqlite3_stmt *st = store_prepare(s,
		"SELECT make, model, serial, camera_time, gps_time, sha256 FROM items"
		" WHERE camera_time IS NOT NULL AND gps_time IS NOT NULL"
		" AND make IS NOT NULL AND model IS NOT NULL AND serial IS NOT NULL"
		" ORDER BY id", err, errlen);
	if (!st)
		return EV_EDB;
	while ((k = sqlite3_step(st)) == SQLITE_ROW && n < GEOTAG_MAX_SAMPLES) {
		int64_t cam;
		double gps;
		if (time_parse_exif(geotag_col(st, 3), &cam) != 0 ||
		    time_parse_iso(geotag_col(st, 4), &gps) != 0)
			continue;
		char *key = geotag_camera_key(st, 0);
		if (!key)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n].camera = key;
		v[n].cam_t = (double)cam;
		v[n].offset = (double)cam - gps;
		snprintf(v[n].sha, sizeof v[n].sha, "%s", geotag_col(st, 5));
		n++;
	}
	if (k != SQLITE_DONE && k != SQLITE_ROW)
		rc = err_set(err, errlen, EV_EDB, "reading GPS-stamped photos: %s",
			     sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	*out = v;
	*n_out = n;
	return rc;
}

static void geotag_free_samples(struct geotag_sample *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].camera);
	free(v);
}

/* The sample of this camera nearest in camera time, within the window. */
static const struct geotag_sample *geotag_nearest(const struct geotag_sample *v, size_t n,
						  const char *camera, double cam_t)
{
	const struct geotag_sample *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].camera, camera) != 0)
			continue;
		double d = fabs(v[i].cam_t - cam_t);
		if (d > GEOTAG_LEARN_WINDOW)
			continue;
		if (!best || d < fabs(best->cam_t - cam_t))
			best = &v[i];
	}
	return best;
}

static int geotag_learn(struct store *s, int64_t case_id, const char *actor,
			struct geotag_stats *gs, char *err, size_t errlen)
{
	struct geotag_sample *samples = NULL;
	size_t ns = 0;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc = geotag_load_samples(s, &samples, &ns, err, errlen);
	if (rc || ns == 0)
		goto out;
	sel = store_prepare(s,
		"SELECT i.id, i.sha256, i.camera_time, i.subsec, i.captured_at, i.time_source,"
		" i.make, i.model, i.serial, c.number FROM items i LEFT JOIN cases c ON c.id = i.case_id"
		" WHERE i.camera_time IS NOT NULL AND i.gps_time IS NULL"
		" AND (i.time_source IS NULL OR i.time_source IN ('', 'declared', 'learned'))"
		" AND i.make IS NOT NULL AND i.model IS NOT NULL AND i.serial IS NOT NULL"
		" AND (?1 = 0 OR i.case_id = ?1) ORDER BY i.id", err, errlen);
	upd = store_prepare(s,
		"UPDATE items SET captured_at = ?1, time_source = 'learned', tz_offset = ?2"
		" WHERE id = ?3", err, errlen);
	if (!sel || !upd) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(sel, 1, case_id);
	int k;
	while ((k = sqlite3_step(sel)) == SQLITE_ROW) {
		int64_t cam;
		if (time_parse_exif(geotag_col(sel, 2), &cam) != 0)
			continue;
		char *key = geotag_camera_key(sel, 6);
		if (!key)
			continue;
		const struct geotag_sample *smp = geotag_nearest(samples, ns, key, (double)cam);
		free(key);
		if (!smp)
			continue;
		double subsec = sqlite3_column_type(sel, 3) == SQLITE_NULL ? 0
									  : sqlite3_column_double(sel, 3);
		if (!(subsec >= 0 && subsec < 1))
			subsec = 0;
		double utc = (double)cam + subsec - smp->offset;
		char iso[32], tz[8];
		time_format_iso(utc, iso);
		time_format_offset((int)lround(smp->offset), tz);
		const char *old = (const char *)sqlite3_column_text(sel, 4);
		const char *old_src = (const char *)sqlite3_column_text(sel, 5);
		if (old && old_src && strcmp(old, iso) == 0 && strcmp(old_src, "learned") == 0)
			continue;
		sqlite3_reset(upd);
		sqlite3_bind_text(upd, 1, iso, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(upd, 2, tz, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 3, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(upd) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "updating an item's time: %s",
				     sqlite3_errmsg(store_db(s)));
			goto out;
		}
		json_t *d = json_object();
		json_object_set_new(d, "camera_time", json_string(geotag_col(sel, 2)));
		json_object_set_new(d, "captured_at", json_string(iso));
		json_object_set_new(d, "previous_captured_at", old ? json_string(old) : json_null());
		json_object_set_new(d, "previous_time_source",
				    old_src ? json_string(old_src) : json_null());
		json_object_set_new(d, "time_source", json_string("learned"));
		json_object_set_new(d, "offset_seconds", json_real(smp->offset));
		json_object_set_new(d, "tz_offset", json_string(tz));
		json_object_set_new(d, "learned_from", json_string(smp->sha));
		json_object_set_new(d, "camera", json_pack("{s:s,s:s,s:s}", "make",
							   geotag_col(sel, 6), "model",
							   geotag_col(sel, 7), "serial",
							   geotag_col(sel, 8)));
		const char *cn = (const char *)sqlite3_column_text(sel, 9);
		rc = custody_append(s, time_now(), actor, "retime", cn, geotag_col(sel, 1), d, NULL,
				    err, errlen);
		json_decref(d);
		if (rc)
			goto out;
		gs->retimed++;
	}
	if (k != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "reading items: %s", sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	geotag_free_samples(samples, ns);
	return rc;
}

/* ---- placing items ---- */

static const char *geotag_how(int how)
{
	switch (how) {
	case TRACK_AT_EXACT: return "exact";
	case TRACK_AT_INTERP: return "interpolated";
	case TRACK_AT_HELD: return "held";
	default: return "?";
	}
}

static json_t *geotag_time_json(double t)
{
	if (!isfinite(t))
		return json_null();
	char iso[32];
	time_format_iso(t, iso);
	return json_string(iso);
}

static int geotag_same(sqlite3_stmt *sel, const struct fix_at *at)
{
	const char *src = (const char *)sqlite3_column_text(sel, 3);
	if (!src || strcmp(src, "track") != 0)
		return 0;
	for (int c = 4; c <= 5; c++)
		if (sqlite3_column_type(sel, c) == SQLITE_NULL)
			return 0;
	if (fabs(sqlite3_column_double(sel, 4) - at->lat) > 1e-10 ||
	    fabs(sqlite3_column_double(sel, 5) - at->lon) > 1e-10)
		return 0;
	int alt_null = sqlite3_column_type(sel, 6) == SQLITE_NULL;
	if (alt_null != !isfinite(at->alt) ||
	    (!alt_null && fabs(sqlite3_column_double(sel, 6) - at->alt) > 1e-6))
		return 0;
	if (sqlite3_column_type(sel, 7) == SQLITE_NULL ||
	    fabs(sqlite3_column_double(sel, 7) - at->error_m) > 1e-6)
		return 0;
	return 1;
}

static int geotag_place(struct store *s, const struct trackset *tr, int64_t case_id,
			double max_gap, double max_extrap, const char *actor,
			struct geotag_stats *gs, char *err, size_t errlen)
{
	int rc = 0, k;
	sqlite3_stmt *upd = NULL;
	sqlite3_stmt *sel = store_prepare(s,
		"SELECT i.id, i.sha256, i.captured_at, i.location_source, i.lat, i.lon, i.alt,"
		" i.location_error_m, c.number FROM items i LEFT JOIN cases c ON c.id = i.case_id"
		" WHERE i.captured_at IS NOT NULL"
		" AND (i.location_source IS NULL OR i.location_source IN ('', 'track'))"
		" AND (?1 = 0 OR i.case_id = ?1) ORDER BY i.id", err, errlen);
	upd = store_prepare(s,
		"UPDATE items SET lat = ?1, lon = ?2, alt = ?3, location_error_m = ?4,"
		" location_source = ?5 WHERE id = ?6", err, errlen);
	if (!sel || !upd) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(sel, 1, case_id);
	while ((k = sqlite3_step(sel)) == SQLITE_ROW) {
		double when;
		if (time_parse_iso(geotag_col(sel, 2), &when) != 0)
			continue;
		gs->considered++;
		struct fix_at at;
		struct trackset_other others[TRACKSET_OTHERS_MAX];
		size_t which = 0, n_others = 0;
		int found = trackset_locate(tr, when, max_gap, max_extrap, &at, &which, others,
					    &n_others) == 0;
		const char *src = (const char *)sqlite3_column_text(sel, 3);
		int was_track = src && strcmp(src, "track") == 0;
		if (!found) {
			gs->uncovered++;
			if (!was_track)
				continue;
		} else if (geotag_same(sel, &at)) {
			gs->unchanged++;
			continue;
		}
		sqlite3_reset(upd);
		sqlite3_clear_bindings(upd);
		if (found) {
			sqlite3_bind_double(upd, 1, at.lat);
			sqlite3_bind_double(upd, 2, at.lon);
			if (isfinite(at.alt))
				sqlite3_bind_double(upd, 3, at.alt);
			sqlite3_bind_double(upd, 4, at.error_m);
			sqlite3_bind_text(upd, 5, "track", -1, SQLITE_STATIC);
		}
		sqlite3_bind_int64(upd, 6, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(upd) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "updating an item's place: %s",
				     sqlite3_errmsg(store_db(s)));
			goto out;
		}
		json_t *d = json_object();
		json_object_set_new(d, "captured_at", json_string(geotag_col(sel, 2)));
		json_object_set_new(d, "max_gap", json_real(max_gap));
		json_object_set_new(d, "max_extrapolate", json_real(max_extrap));
		if (found) {
			json_object_set_new(d, "lat", json_real(at.lat));
			json_object_set_new(d, "lon", json_real(at.lon));
			json_object_set_new(d, "alt", isfinite(at.alt) ? json_real(at.alt) : json_null());
			json_object_set_new(d, "error_m", json_real(at.error_m));
			json_object_set_new(d, "method", json_string(geotag_how(at.how)));
			json_object_set_new(d, "fix_before", geotag_time_json(at.t_before));
			json_object_set_new(d, "fix_after", geotag_time_json(at.t_after));
			json_object_set_new(d, "fix_source", json_string(tr->source[which]));
			if (n_others) {
				/* another receiver put it elsewhere: said, not hidden */
				json_t *a = json_array();
				for (size_t o = 0; o < n_others; o++)
					json_array_append_new(
						a, json_pack("{s:s,s:f,s:f}", "source",
							     tr->source[others[o].track], "distance_m",
							     others[o].distance_m, "error_m",
							     others[o].error_m));
				json_object_set_new(d, "other_receivers", a);
				gs->disagreed++;
			}
		} else {
			json_object_set_new(d, "cleared", json_true());
			json_object_set_new(d, "reason",
					    json_string("the track no longer covers this time"));
		}
		const char *cn = (const char *)sqlite3_column_text(sel, 8);
		rc = custody_append(s, time_now(), actor, "geotag", cn, geotag_col(sel, 1), d, NULL,
				    err, errlen);
		json_decref(d);
		if (rc)
			goto out;
		if (found)
			gs->placed++;
		else
			gs->cleared++;
	}
	if (k != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "reading items: %s", sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

/* One case's readings placed and not yet recorded: the detail of its next
 * "geotag" event. */
struct geotag_readings {
	json_t *list;   /* one object a reading; NULL when none */
	int64_t case_id;
	char *number;   /* the case's number; NULL for readings in no case */
};

static int geotag_readings_record(struct store *s, struct geotag_readings *b, double max_gap,
				  double max_extrap, const char *actor, char *err, size_t errlen)
{
	if (!b->list)
		return 0;
	json_t *d = json_object();
	json_object_set_new(d, "placed", json_integer((json_int_t)json_array_size(b->list)));
	json_object_set_new(d, "readings", b->list);
	b->list = NULL;
	json_object_set_new(d, "max_gap", json_real(max_gap));
	json_object_set_new(d, "max_extrapolate", json_real(max_extrap));
	int rc = custody_append(s, time_now(), actor, "geotag", b->number, NULL, d, NULL, err,
				errlen);
	json_decref(d);
	return rc;
}

/* What a reading's entry in the event says of it: which it is (its id
 * here, and the source and line it came from, which name it on any
 * store) and where the track put it. */
static json_t *geotag_reading_json(sqlite3_stmt *sel, const struct trackset *tr, size_t which,
				   const struct fix_at *at)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(sqlite3_column_int64(sel, 0)));
	json_object_set_new(o, "time", json_string(geotag_col(sel, 2)));
	json_object_set_new(o, "parameter", json_string(geotag_col(sel, 3)));
	json_object_set_new(o, "source", sqlite3_column_type(sel, 4) == SQLITE_NULL
						 ? json_null()
						 : json_string(geotag_col(sel, 4)));
	json_object_set_new(o, "line_no", sqlite3_column_type(sel, 5) == SQLITE_NULL
						  ? json_null()
						  : json_integer(sqlite3_column_int64(sel, 5)));
	json_object_set_new(o, "lat", json_real(at->lat));
	json_object_set_new(o, "lon", json_real(at->lon));
	json_object_set_new(o, "error_m", json_real(at->error_m));
	json_object_set_new(o, "method", json_string(geotag_how(at->how)));
	json_object_set_new(o, "fix_before", geotag_time_json(at->t_before));
	json_object_set_new(o, "fix_after", geotag_time_json(at->t_after));
	json_object_set_new(o, "fix_source", json_string(tr->source[which]));
	return o;
}

/*
 * Step 3 of geotag_run: readings with a time and no position, placed as
 * sensor_record places them at import, so that a kit's file read before
 * the track came is placed when it comes. One pass over the readings,
 * each found on the track by binary search (trackset_locate).
 */
static int geotag_place_readings(struct store *s, const struct trackset *tr, int64_t case_id,
				 double max_gap, double max_extrap, const char *actor,
				 struct geotag_stats *gs, char *err, size_t errlen)
{
	int rc = 0, k;
	struct geotag_readings b = {0};
	sqlite3_stmt *upd = NULL;
	sqlite3_stmt *sel = store_prepare(s,
		"SELECT r.id, r.t, r.time, r.parameter, r.source, r.line_no, r.case_id, c.number"
		" FROM readings r LEFT JOIN cases c ON c.id = r.case_id"
		" WHERE r.t IS NOT NULL AND r.location_source IS NULL"
		" AND r.lat IS NULL AND r.lon IS NULL AND (?1 = 0 OR r.case_id = ?1)"
		" ORDER BY r.case_id, r.id", err, errlen);
	upd = store_prepare(s,
		"UPDATE readings SET lat = ?1, lon = ?2, location_source = 'track',"
		" location_error_m = ?3 WHERE id = ?4 AND location_source IS NULL", err, errlen);
	if (!sel || !upd) {
		rc = EV_EDB;
		goto out;
	}
	if (tr->n == 0)
		goto out;
	sqlite3_bind_int64(sel, 1, case_id);
	while ((k = sqlite3_step(sel)) == SQLITE_ROW) {
		double when = sqlite3_column_double(sel, 1);
		if (!isfinite(when))
			continue;
		gs->readings_considered++;
		struct fix_at at;
		size_t which = 0;
		if (trackset_locate(tr, when, max_gap, max_extrap, &at, &which, NULL, NULL) != 0)
			continue;
		int64_t rcase = sqlite3_column_type(sel, 6) == SQLITE_NULL
					? 0
					: sqlite3_column_int64(sel, 6);
		if (b.list && (rcase != b.case_id ||
			       json_array_size(b.list) >= GEOTAG_READINGS_PER_EVENT)) {
			if ((rc = geotag_readings_record(s, &b, max_gap, max_extrap, actor, err,
							 errlen)))
				goto out;
		}
		if (!b.list) {
			const char *cn = (const char *)sqlite3_column_text(sel, 7);
			free(b.number);
			b.number = cn ? xstrdup(cn) : NULL;
			b.case_id = rcase;
			b.list = json_array();
		}
		sqlite3_reset(upd);
		sqlite3_bind_double(upd, 1, at.lat);
		sqlite3_bind_double(upd, 2, at.lon);
		sqlite3_bind_double(upd, 3, at.error_m);
		sqlite3_bind_int64(upd, 4, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(upd) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "updating a reading's place: %s",
				     sqlite3_errmsg(store_db(s)));
			goto out;
		}
		if (sqlite3_changes(store_db(s)) == 0)
			continue;
		json_array_append_new(b.list, geotag_reading_json(sel, tr, which, &at));
		gs->readings_placed++;
	}
	if (k != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "reading the readings to place: %s",
			     sqlite3_errmsg(store_db(s)));
	else
		rc = geotag_readings_record(s, &b, max_gap, max_extrap, actor, err, errlen);
out:
	json_decref(b.list);
	free(b.number);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

/* The first SRT_READ_MAX bytes of a stored blob, malloc'd; NULL with err. */
static uint8_t *geotag_read_blob(struct store *s, const char *sha, size_t *n, char *err,
				 size_t errlen)
{
	char *path = store_blob_path(s, sha);
	uint8_t *buf = xmalloc(SRT_READ_MAX);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t got = -1;
	if (fd < 0) {
		err_set(err, errlen, EV_EIO, "cannot open the stored original: %s", strerror(errno));
		goto fail;
	}
	if ((got = fs_read_full(fd, buf, SRT_READ_MAX)) < 0) {
		err_set(err, errlen, EV_EIO, "reading the stored original: %s", strerror(errno));
		goto fail;
	}
	close(fd);
	free(path);
	*n = (size_t)got;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(path);
	free(buf);
	return NULL;
}

/* Step 0 of geotag_run: videos placed at their SRT's first fix. */
static int geotag_sidecars(struct store *s, int64_t case_id, const char *actor,
			   struct geotag_stats *gs, char *err, size_t errlen)
{
	int rc = 0, k;
	/* the pair: same path but for a three-letter extension, same medium
	 * and device; a video with two candidates is left alone */
	sqlite3_stmt *sel = store_prepare(s,
		"SELECT v.id, v.sha256, v.original_path, v.lat, v.lon, v.alt, c.number, s.sha256,"
		" s.original_path, v.location_source FROM items v"
		" JOIN items s ON s.format = 'srt' AND s.id <> v.id"
		"  AND s.medium_uuid IS v.medium_uuid AND s.source_device IS v.source_device"
		"  AND length(s.original_path) = length(v.original_path)"
		"  AND lower(substr(s.original_path, 1, length(s.original_path) - 3))"
		"    = lower(substr(v.original_path, 1, length(v.original_path) - 3))"
		" LEFT JOIN cases c ON c.id = v.case_id"
		" WHERE v.kind = 'video' AND substr(v.original_path, -4, 1) = '.'"
		" AND (v.location_source IS NULL OR v.location_source IN ('', 'track'))"
		" AND (?1 = 0 OR v.case_id = ?1)"
		/* an SRT found to hold no usable fix is in the custody log
		 * with its reason, and not read again for the same video */
		" AND NOT EXISTS (SELECT 1 FROM custody e WHERE e.item_sha256 = v.sha256"
		"  AND e.action = 'geotag' AND json_extract(e.event, '$.detail.sidecar') = s.sha256"
		"  AND json_extract(e.event, '$.detail.unusable') IS NOT NULL)"
		" GROUP BY v.id HAVING count(*) = 1 ORDER BY v.id", err, errlen);
	sqlite3_stmt *upd = store_prepare(s,
		"UPDATE items SET lat = ?1, lon = ?2, alt = ?3, location_error_m = NULL,"
		" location_source = 'srt' WHERE id = ?4", err, errlen);
	if (!sel || !upd) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(sel, 1, case_id);
	while ((k = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *srt_sha = geotag_col(sel, 7), *srt_path = geotag_col(sel, 8);
		char why[200] = "";
		size_t n = 0;
		struct srt_fix fx;
		uint8_t *buf = geotag_read_blob(s, srt_sha, &n, why, sizeof why);
		int got = buf && srt_first_fix(buf, n, &fx, why, sizeof why) == 0;
		free(buf);
		if (!got) {
			gs->sidecars_unusable++;
			if (!gs->sidecar_note[0])
				snprintf(gs->sidecar_note, sizeof gs->sidecar_note,
					 "%s: no position for %s: %s", srt_path, geotag_col(sel, 2), why);
			json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "method", "sidecar", "sidecar",
					      srt_sha, "sidecar_path", srt_path, "unusable", why);
			if (!d) /* a path that is not UTF-8: said again next time */
				continue;
			rc = custody_append(s, time_now(), actor, "geotag",
					    (const char *)sqlite3_column_text(sel, 6), geotag_col(sel, 1),
					    d, NULL, err, errlen);
			json_decref(d);
			if (rc)
				goto out;
			continue;
		}
		sqlite3_reset(upd);
		sqlite3_clear_bindings(upd);
		sqlite3_bind_double(upd, 1, fx.lat);
		sqlite3_bind_double(upd, 2, fx.lon);
		if (fx.has_alt)
			sqlite3_bind_double(upd, 3, fx.alt);
		sqlite3_bind_int64(upd, 4, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(upd) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "updating an item's place: %s",
				     sqlite3_errmsg(store_db(s)));
			goto out;
		}
		json_t *d = json_object();
		json_object_set_new(d, "method", json_string("sidecar"));
		json_object_set_new(d, "sidecar", json_string(srt_sha));
		json_object_set_new(d, "sidecar_path", json_string(srt_path));
		json_object_set_new(d, "block", json_integer(fx.block));
		json_object_set_new(d, "sidecar_clock", fx.has_time ? json_string(fx.time) : json_null());
		json_object_set_new(d, "lat", json_real(fx.lat));
		json_object_set_new(d, "lon", json_real(fx.lon));
		json_object_set_new(d, "alt", fx.has_alt ? json_real(fx.alt) : json_null());
		const char *old = geotag_col(sel, 9);
		json_object_set_new(d, "previous_source", old[0] ? json_string(old) : json_null());
		if (old[0]) {
			json_object_set_new(d, "previous_lat", json_real(sqlite3_column_double(sel, 3)));
			json_object_set_new(d, "previous_lon", json_real(sqlite3_column_double(sel, 4)));
		}
		const char *cn = (const char *)sqlite3_column_text(sel, 6);
		rc = custody_append(s, time_now(), actor, "geotag", cn, geotag_col(sel, 1), d, NULL,
				    err, errlen);
		json_decref(d);
		if (rc)
			goto out;
		gs->sidecars++;
	}
	if (k != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "reading items: %s", sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

int geotag_run(struct store *s, int64_t case_id, double max_gap, double max_extrap,
	       const char *actor, struct geotag_stats *st, char *err, size_t errlen)
{
	struct trackset tr;
	int own = 0, rc;
	struct geotag_stats local;
	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	trackset_init(&tr);
	if (!(max_gap >= 0) || !(max_extrap >= 0) || !isfinite(max_gap) || !isfinite(max_extrap)) {
		rc = err_set(err, errlen, EV_EINVAL, "max-gap and max-extrapolate must be "
			     "non-negative numbers of seconds");
		goto out;
	}
	if ((rc = geotag_begin(s, &own, err, errlen)))
		goto out;
	if ((rc = geotag_sidecars(s, case_id, actor, st, err, errlen)))
		goto out;
	if ((rc = geotag_learn(s, case_id, actor, st, err, errlen)))
		goto out;
	if ((rc = geotag_load_tracks(s, &tr, err, errlen)))
		goto out;
	st->fixes = tr.total;
	st->receivers = tr.n;
	if ((rc = geotag_place(s, &tr, case_id, max_gap, max_extrap, actor, st, err, errlen)))
		goto out;
	if ((rc = geotag_place_readings(s, &tr, case_id, max_gap, max_extrap, actor, st, err,
					errlen)))
		goto out;
	/* what is placed now belongs to the site whose circle holds it */
	int assigned = 0;
	if ((rc = sites_assign_cases(s, case_id, actor, &assigned, err, errlen)))
		goto out;
	st->assigned = (size_t)assigned;
	if (own) {
		rc = store_commit(s, err, errlen);
		own = 0;
	}
out:
	if (own)
		store_rollback(s);
	trackset_free(&tr);
	return rc;
}
