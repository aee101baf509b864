/*
 * The sync driver. For each case it gathers the items not yet in a
 * committed bundle for the target, the custody events since the last
 * bundle and the new readings; uploads the blobs (each skipped when the
 * target already has it with the same SHA-256); then writes the manifest,
 * its minisign signature and COMMITTED, in that order, and records the
 * bundle locally in one transaction with a custody event.
 *
 * A bundle is kept in the store before those three files are written, so
 * that a run stopped among them is finished by the next (pending_save).
 *
 * Before anything is sent, the target's bundles of this device that the
 * store does not know are held to its custody log, so that a store that
 * lost records it had synced stops rather than fork its chain there
 * (own_bundles_check).
 *
 * sync_state holds one row per (target, object): state 'queued' ->
 * 'uploading' (multipart: upload id and finished parts journalled) ->
 * 'stored' (on the target) -> 'done' (named by a committed bundle).
 */
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "bundle.h"
#include "custody.h"
#include "devkey.h"
#include "log.h"
#include "minisign.h"
#include "timeutil.h"

/* SQL that names an item's blob key, so "already bundled" is one join. */
#define BLOB_KEY_SQL(col) \
	"'blobs/sha256/' || substr(" col ",1,2) || '/' || substr(" col ",3,2) || '/' || " col

int sync_lock(struct store *s, char *err, size_t errlen)
{
	char *path = xasprintf("%s/sync.lock", store_dir(s));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = fd;
	if (fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		long pid = store_lock_holder(store_dir(s), "sync.lock");
		char who[32] = "it";
		if (pid > 0)
			snprintf(who, sizeof who, "pid %ld", pid);
		close(fd);
		rc = err_set(err, errlen, EV_EEXIST,
			     "the store %s is in use by another evcap sync or pull (%s holds %s); "
			     "wait for it to finish, then run this again",
			     store_dir(s), who, path);
	}
	free(path);
	return rc;
}

void sync_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing releases the flock */
}

/* ---- sync_state journal ---- */

struct journal_ctx {
	struct store *s;
	const char *target;
};

/* Sets an object's state; rev is the item's revision a bundle sent it
 * at (0 for anything else), kept as the highest given. */
static int state_set(struct store *s, const char *target, const char *object, const char *sha,
		     const char *state, const char *last_error, int64_t rev)
{
	char now[32];
	time_format_iso(time_now(), now);
	sqlite3_stmt *st = store_prepare(
		s,
		"INSERT INTO sync_state(target, object, sha256, state, last_error, updated_at, rev)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT(target, object) DO UPDATE SET state = ?4, updated_at = ?6,"
		" last_error = ?5, rev = max(rev, ?7),"
		" attempts = attempts + (CASE WHEN ?5 IS NULL THEN 0 ELSE 1 END),"
		" upload_id = CASE WHEN ?4 = 'failed' THEN upload_id ELSE NULL END,"
		" parts_done = CASE WHEN ?4 = 'failed' THEN parts_done ELSE NULL END",
		NULL, 0);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, last_error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, rev);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : EV_EDB;
}

/* The state of an object, or "" if it has no row. */
static void state_get(struct store *s, const char *target, const char *object, char out[16])
{
	out[0] = '\0';
	sqlite3_stmt *st = store_prepare(
		s, "SELECT state FROM sync_state WHERE target = ? AND object = ?", NULL, 0);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, object, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static int journal_load(void *ctx, const char *key, char **upload_id, char **parts_json)
{
	struct journal_ctx *j = ctx;
	*upload_id = *parts_json = NULL;
	sqlite3_stmt *st = store_prepare(
		j->s, "SELECT upload_id, parts_done FROM sync_state WHERE target = ? AND object = ?",
		NULL, 0);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, j->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0))
			*upload_id = xstrdup((const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_text(st, 1))
			*parts_json = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return 0;
}

static int journal_save(void *ctx, const char *key, const char *upload_id, const char *parts_json)
{
	struct journal_ctx *j = ctx;
	char now[32];
	time_format_iso(time_now(), now);
	sqlite3_stmt *st = store_prepare(
		j->s,
		"UPDATE sync_state SET upload_id = ?1, parts_done = ?2, updated_at = ?3,"
		" state = CASE WHEN ?1 IS NULL THEN state ELSE 'uploading' END"
		" WHERE target = ?4 AND object = ?5",
		NULL, 0);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, parts_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, j->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, key, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : EV_EDB;
}

/* ---- gathering ---- */

struct case_work {
	int64_t case_id;
	const char *number;
	char key[64];
	json_t *case_obj;
	json_t *sites;
	json_t *items;    /* manifest item objects (with "blob", "site", "notes") */
	json_t *readings;
	json_t *events;
	json_t *fixes;    /* the device's GPS fixes around the items and readings */
	int64_t first_seq, head_seq;
	int64_t last_seq; /* the last event this bundle carries; head_seq unless cut */
	char head_hash[SHA256_HEX_LEN + 1];
	int64_t last_reading_id;
	int64_t *reading_ids; /* each reading's row id, in the order of readings */
	json_t *revised;  /* readings sent before whose site changed since, the
			   * lowest revision first (each with "rev") */
	int64_t last_note_id; /* the newest note in the bundle (notes.id) */
	int new_events;   /* events other than our own 'sync' records */
	char previous[64]; /* the bundle sent before this one for the case to
			    * this target; "" for the first */
};

static void work_free(struct case_work *w)
{
	json_decref(w->case_obj);
	json_decref(w->sites);
	json_decref(w->items);
	json_decref(w->readings);
	free(w->reading_ids);
	json_decref(w->revised);
	json_decref(w->events);
	json_decref(w->fixes);
}

/* The most readings one bundle carries: $EVCAP_SYNC_MAX_READINGS (for
 * tests), else 20,000, about 12 MB of manifest. A sensor that logged
 * once a second through a day offline has 86,400; they go in several
 * bundles, the oldest first. */
static size_t bundle_max_readings(void)
{
	const char *v = getenv("EVCAP_SYNC_MAX_READINGS");
	char *end;
	unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
	return n && !*end && n <= BUNDLE_MAX_READINGS ? (size_t)n : 20000;
}

static char *readings_meta_key(const char *target, const char *case_key)
{
	return xasprintf("sync.readings_sent:%s:%s", target, case_key);
}

/* The highest revision of the case's readings the target has had (see
 * schema.c, schema_v44): a reading sent before whose revision is higher
 * goes again. */
static char *readings_rev_key(const char *target, const char *case_key)
{
	return xasprintf("sync.readings_rev:%s:%s", target, case_key);
}

/* Sets the store's meta `key` (taken over) to the row id `id`. */
static int meta_set_id(struct store *s, char *key, int64_t id, char *err, size_t errlen)
{
	char v[24];
	snprintf(v, sizeof v, "%lld", (long long)id);
	int rc = store_meta_set(s, key, v, err, errlen);
	free(key);
	return rc;
}

int sync_readings_moved(struct store *s, const char *case_number, int64_t first_id, char *err,
			size_t errlen)
{
	/* every key "sync.readings_sent:<target>:<case key>" of the case: a
	 * case key holds no ':', so the text after the last one is the case
	 * key, and a target's URL (any text) is never matched as a pattern */
	char key[64], *suffix;
	store_case_key(case_number, key);
	suffix = xasprintf(":%s", key);
	sqlite3_stmt *st = store_prepare(s,
					 "UPDATE meta SET value = CAST(?1 AS TEXT)"
					 " WHERE key > 'sync.readings_sent:' AND key < 'sync.readings_sent;'"
					 " AND substr(key, -length(?2)) = ?2"
					 " AND CAST(value AS INTEGER) > ?1",
					 err, errlen);
	int rc = 0;
	if (!st) {
		free(suffix);
		return EV_EDB;
	}
	sqlite3_bind_int64(st, 1, first_id > 0 ? first_id - 1 : 0);
	sqlite3_bind_text(st, 2, suffix, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot mark case %s's readings to be synced: %s",
			     case_number, sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	free(suffix);
	return rc;
}

/*
 * Moves the readings mark of the case on past the bundle's readings, in
 * the transaction that records the bundle: only when the case holds no
 * reading up to the bundle's last that the bundle lacks. One may have been
 * put into the case since they were gathered (evcap case add, whose
 * sync_readings_moved may also have lowered the mark meanwhile), by
 * another process during this run or before the run that finishes a
 * bundle an earlier one left unfinished; the mark then stays, and the
 * next bundle carries them all again (the office keeps one of each).
 */
static int readings_mark_advance(struct store *s, const char *target, const struct case_work *w,
				 char *err, size_t errlen)
{
	char *mk = readings_meta_key(target, w->key);
	char *v = store_meta_get(s, mk);
	int64_t cur = v ? strtoll(v, NULL, 10) : 0, n = -1;
	free(v);
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT count(*) FROM readings"
					 " WHERE case_id = ? AND id > ? AND id <= ?",
					 err, errlen);
	if (!st) {
		free(mk);
		return EV_EDB;
	}
	sqlite3_bind_int64(st, 1, w->case_id);
	sqlite3_bind_int64(st, 2, cur);
	sqlite3_bind_int64(st, 3, w->last_reading_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (n < 0) {
		free(mk);
		return err_set(err, errlen, EV_EDB, "reading the store: %s",
			       sqlite3_errmsg(store_db(s)));
	}
	if (n != (int64_t)json_array_size(w->readings)) {
		log_info("case %s: readings were put into the case after this bundle's were "
			 "gathered; the next bundle carries them, and these again",
			 w->number);
		free(mk);
		return 0;
	}
	return meta_set_id(s, mk, w->last_reading_id, err, errlen);
}

static int cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Appends to *v each reading's "rev" in arr that is above mark. */
static void add_revs(json_t *arr, int64_t mark, int64_t **v, size_t *n, size_t *cap)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		int64_t rev = json_integer_value(json_object_get(o, "rev"));
		if (rev <= mark)
			continue;
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			*v = xrealloc(*v, *cap * sizeof **v);
		}
		(*v)[(*n)++] = rev;
	}
}

/*
 * Moves the readings' revision mark of the case on (after
 * readings_mark_advance, in the transaction that records the bundle):
 * the mark says that every reading up to the readings mark whose
 * revision is not above it was sent at that revision. The bundle's
 * readings, new and sent again, carried their revisions; the mark goes
 * to the highest of those below the lowest revision of a reading the
 * target still lacks (one this bundle had no room for, or one changed
 * since it was gathered, whose revision is then above all the bundle's).
 * So a reading put in a site before its first sync (each one recorded
 * within a site's radius is) goes once, not again as a changed one.
 * Readings past the readings mark do not hold it back: they go as new.
 */
static int readings_rev_advance(struct store *s, const char *target, const struct case_work *w,
				char *err, size_t errlen)
{
	char *rk = readings_rev_key(target, w->key), *mk = readings_meta_key(target, w->key);
	char *v = store_meta_get(s, rk), *vs = store_meta_get(s, mk);
	int64_t mark = v ? strtoll(v, NULL, 10) : 0, sent = vs ? strtoll(vs, NULL, 10) : 0;
	int64_t *revs = NULL, to = mark;
	size_t n = 0, cap = 0, k = 0;
	int rc = 0, r;
	free(v);
	free(vs);
	free(mk);
	add_revs(w->readings, mark, &revs, &n, &cap);
	add_revs(w->revised, mark, &revs, &n, &cap);
	if (!n) {
		free(rk);
		return 0;
	}
	qsort(revs, n, sizeof *revs, cmp_int64);
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT rev FROM readings WHERE case_id = ? AND id <= ?"
					 " AND rev > ? ORDER BY rev",
					 err, errlen);
	if (!st) {
		free(revs);
		free(rk);
		return EV_EDB;
	}
	sqlite3_bind_int64(st, 1, w->case_id);
	sqlite3_bind_int64(st, 2, sent);
	sqlite3_bind_int64(st, 3, mark);
	/* both in ascending order: the first reading whose revision the
	 * bundle did not carry stops the mark below it */
	int64_t lacking = INT64_MAX;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rev = sqlite3_column_int64(st, 0);
		while (k < n && revs[k] < rev)
			k++;
		if (k == n || revs[k] != rev) {
			lacking = rev;
			break;
		}
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "reading the store: %s",
			     sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	for (k = 0; k < n && revs[k] < lacking; k++)
		to = revs[k];
	free(revs);
	if (rc || to == mark) {
		free(rk);
		return rc;
	}
	return meta_set_id(s, rk, to, err, errlen);
}

/* The newest note sent to the target for the case: an item already sent
 * that has a newer note goes again, with its notes (its blob is not). */
static char *notes_meta_key(const char *target, const char *case_key)
{
	return xasprintf("sync.notes_sent:%s:%s", target, case_key);
}

/*
 * Appends to arr an object for each row of sql (case_id bound to ?1, and
 * text_arg or int_arg to ?2 where it has one): the table's columns, then
 * a text column put under extra_name, then the row's id (appended to
 * *ids, a malloc'd array) where ids is given, then an integer column put
 * under int_name where that is given.
 */
static int gather_rows(struct store *s, const char *sql, int64_t case_id, const char *text_arg,
		       int64_t int_arg, const struct bundle_table *t, json_t *arr,
		       const char *extra_name, const char *int_name, int64_t **ids, char *err,
		       size_t errlen)
{
	size_t n_ids = 0, cap = 0;
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	if (!st)
		return EV_EDB;
	/* a second parameter is bound only where the statement has one */
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_bind_parameter_count(st) >= 2) {
		if (text_arg)
			sqlite3_bind_text(st, 2, text_arg, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 2, int_arg);
	}
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = bundle_row_json(st, 0, t);
		int c = (int)t->n;
		if (extra_name) {
			const char *v = (const char *)sqlite3_column_text(st, c);
			json_t *j = v ? json_string(v) : json_null();
			if (!j) { /* not UTF-8: escaped as a name is, not dropped */
				char *e = text_escape(v, (size_t)sqlite3_column_bytes(st, c),
						      SIZE_MAX);
				j = json_string(e);
				free(e);
			}
			json_object_set_new(o, extra_name, j);
		}
		if (ids) {
			if (n_ids == cap) {
				cap = cap ? cap * 2 : 256;
				*ids = xrealloc(*ids, cap * sizeof **ids);
			}
			(*ids)[n_ids++] = sqlite3_column_int64(st, c + 1);
		}
		if (int_name)
			json_object_set_new(o, int_name,
					    json_integer(sqlite3_column_int64(st, c + 1 + !!ids)));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return err_set(err, errlen, EV_EDB, "reading the store: %s",
			       sqlite3_errmsg(store_db(s)));
	return 0;
}

static int gather_items(struct store *s, const char *target, struct case_work *w, char *err,
			size_t errlen)
{
	char *mk = notes_meta_key(target, w->key);
	char *v = store_meta_get(s, mk);
	free(mk);
	long long notes_after = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	w->last_note_id = notes_after;
	/* items this target never had at their present revision (never
	 * named by a bundle to it, or changed since: schema.c, schema_v44),
	 * and those given a note since the last one; each with its revision,
	 * read with its fields */
	char *cols = bundle_col_list(&bundle_item_cols, "i");
	char *sql = xasprintf("SELECT %s, si.name, i.rev FROM items i"
			      " LEFT JOIN sites si ON si.id = i.site_id"
			      " WHERE i.case_id = ?1 AND (NOT EXISTS (SELECT 1 FROM sync_state ss"
			      "  WHERE ss.target = ?2 AND ss.state = 'done'"
			      "  AND ss.object = " BLOB_KEY_SQL("i.sha256") " AND ss.rev >= i.rev)"
			      "  OR EXISTS (SELECT 1 FROM notes n WHERE n.item_id = i.id"
			      "   AND n.id > %lld))"
			      " ORDER BY i.id",
			      cols, notes_after);
	int rc = gather_rows(s, sql, w->case_id, target, 0, &bundle_item_cols, w->items, "site",
			     "rev", NULL, err, errlen);
	free(sql);
	free(cols);
	if (rc)
		return rc;
	/* each item's blob key and notes */
	size_t i;
	json_t *it;
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT n.text, n.author, n.created_at, n.id FROM notes n"
					 " JOIN items i ON i.id = n.item_id WHERE i.sha256 = ?"
					 " ORDER BY n.id",
					 err, errlen);
	if (!st)
		return EV_EDB;
	json_array_foreach(w->items, i, it) {
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		char key[BUNDLE_BLOB_KEY_LEN];
		if (!sha || !sha256_hex_valid(sha)) {
			sqlite3_finalize(st);
			return err_set(err, errlen, EV_ECORRUPT,
				       "an item of case %s has no valid SHA-256; run evcap verify",
				       w->number);
		}
		bundle_blob_key(sha, key);
		json_object_set_new(it, "blob", json_string(key));
		json_t *notes = json_array();
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		int r;
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			json_array_append_new(notes, bundle_row_json(st, 0, &bundle_note_cols));
			int64_t id = sqlite3_column_int64(st, (int)bundle_note_cols.n);
			if (id > w->last_note_id)
				w->last_note_id = id;
		}
		json_object_set_new(it, "notes", notes);
		if (r != SQLITE_DONE) {
			/* a bundle without some of an item's notes would move the
			 * notes' mark past them for good */
			rc = err_set(err, errlen, EV_EDB, "reading the notes of case %s: %s",
				     w->number, sqlite3_errmsg(store_db(s)));
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int gather(struct store *s, const char *target, struct case_work *w, int *readings_cut,
		  char *err, size_t errlen)
{
	int rc;
	char *cols, *sql;
	w->items = json_array();
	w->sites = json_array();
	w->readings = json_array();
	w->revised = json_array();
	w->events = json_array();

	/* the case itself */
	cols = bundle_col_list(&bundle_case_cols, NULL);
	sql = xasprintf("SELECT %s FROM cases WHERE id = ?1", cols);
	json_t *tmp = json_array();
	rc = gather_rows(s, sql, w->case_id, NULL, 0, &bundle_case_cols, tmp, NULL, NULL, NULL,
			 err, errlen);
	free(sql);
	free(cols);
	if (!rc && json_array_size(tmp) != 1)
		rc = err_set(err, errlen, EV_ENOENT, "case %s vanished from the store", w->number);
	if (!rc)
		w->case_obj = json_incref(json_array_get(tmp, 0));
	json_decref(tmp);
	if (rc)
		return rc;

	cols = bundle_col_list(&bundle_site_cols, NULL);
	sql = xasprintf("SELECT %s FROM sites WHERE case_id = ?1 AND ?2 = ?2 ORDER BY id", cols);
	rc = gather_rows(s, sql, w->case_id, NULL, 0, &bundle_site_cols, w->sites, NULL, NULL,
			 NULL, err, errlen);
	free(sql);
	free(cols);
	if (rc)
		return rc;

	if ((rc = gather_items(s, target, w, err, errlen)))
		return rc;

	/* readings newer than the last bundle's, the oldest first, as many
	 * as one bundle takes (the rest go in the next: *readings_cut) */
	char *mk = readings_meta_key(target, w->key);
	char *v = store_meta_get(s, mk);
	free(mk);
	int64_t after = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	w->last_reading_id = after;
	cols = bundle_col_list(&bundle_reading_cols, "r");
	sql = xasprintf("SELECT %s, si.name, r.id, r.rev FROM readings r"
			" LEFT JOIN sites si ON si.id = r.site_id"
			" WHERE r.case_id = ?1 AND r.id > ?2 ORDER BY r.id LIMIT %zu",
			cols, bundle_max_readings());
	rc = gather_rows(s, sql, w->case_id, NULL, after, &bundle_reading_cols, w->readings, "site",
			 "rev", &w->reading_ids, err, errlen);
	free(sql);
	if (rc) {
		free(cols);
		return rc;
	}
	size_t nr = json_array_size(w->readings);
	if (nr) {
		w->last_reading_id = w->reading_ids[nr - 1];
		*readings_cut = nr == bundle_max_readings();
	}
	/* and those sent before whose site changed since, the lowest
	 * revision first */
	mk = readings_rev_key(target, w->key);
	v = store_meta_get(s, mk);
	free(mk);
	long long rev_mark = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	sql = xasprintf("SELECT %s, si.name, r.rev FROM readings r"
			" LEFT JOIN sites si ON si.id = r.site_id"
			" WHERE r.case_id = ?1 AND r.id <= ?2 AND r.rev > %lld ORDER BY r.rev LIMIT %zu",
			cols, rev_mark, bundle_max_readings());
	rc = gather_rows(s, sql, w->case_id, NULL, after, &bundle_reading_cols, w->revised, "site",
			 "rev", NULL, err, errlen);
	free(sql);
	free(cols);
	if (rc)
		return rc;
	*readings_cut |= json_array_size(w->revised) == bundle_max_readings();

	/* custody events of the case since the last bundle to this target */
	int64_t last_seq = 0;
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT COALESCE(MAX(last_seq), 0) FROM bundles"
					 " WHERE direction = 'out' AND target = ? AND case_id = ?",
					 err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->case_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		last_seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if ((rc = custody_head(s, w->head_hash, &w->head_seq)))
		return err_set(err, errlen, rc, "cannot read the custody log");
	w->last_seq = w->head_seq;
	st = store_prepare(s,
			   "SELECT seq, event, prev_hash, hash, action FROM custody"
			   " WHERE case_number = ? AND seq > ? AND seq <= ? ORDER BY seq",
			   err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, w->number, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, last_seq);
	sqlite3_bind_int64(st, 3, w->head_seq);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *e = json_object();
		int64_t seq = sqlite3_column_int64(st, 0);
		json_object_set_new(e, "seq", json_integer(seq));
		json_object_set_new(e, "event", json_stringn((const char *)sqlite3_column_text(st, 1),
							     (size_t)sqlite3_column_bytes(st, 1)));
		json_object_set_new(e, "prev_hash",
				    json_string((const char *)sqlite3_column_text(st, 2)));
		json_object_set_new(e, "hash", json_string((const char *)sqlite3_column_text(st, 3)));
		json_array_append_new(w->events, e);
		if (!w->first_seq)
			w->first_seq = seq;
		const char *action = (const char *)sqlite3_column_text(st, 4);
		/* our own 'sync' records alone do not make a new bundle, or
		 * every sync would cause the next */
		if (!action || strcmp(action, "sync") != 0)
			w->new_events++;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return err_set(err, errlen, EV_EDB, "reading the custody log: %s",
			       sqlite3_errmsg(store_db(s)));
	return 0;
}

/* ---- one case ---- */

/* Blobs sent but not yet journalled as 'stored'. Losing them (a crash)
 * costs only a HEAD each on the next run, so they are written together. */
#define STORED_BATCH 32

struct stored_batch {
	const char *keys[STORED_BATCH];
	const char *shas[STORED_BATCH];
	size_t n;
};

static int flush_stored(struct store *s, const char *target, struct stored_batch *b, char *err,
			size_t errlen)
{
	int rc = 0;
	if (!b->n)
		return 0;
	if ((rc = store_begin(s, err, errlen)))
		goto out;
	for (size_t i = 0; i < b->n && !rc; i++)
		if (state_set(s, target, b->keys[i], b->shas[i], "stored", NULL, 0))
			rc = err_set(err, errlen, EV_EDB, "cannot journal %s: %s", b->keys[i],
				     sqlite3_errmsg(store_db(s)));
	if (rc)
		store_rollback(s);
	else
		rc = store_commit(s, err, errlen);
out:
	b->n = 0;
	return rc;
}

/*
 * Journals as 'queued', in one transaction, the blobs that have no row for
 * this target yet, and marks them in fresh[]: nothing of theirs was ever
 * sent, so they need no HEAD first (If-None-Match still guards the write).
 * A blob with a row from an earlier run may already be there: it is asked.
 */
static int queue_blobs(struct store *s, const char *target, json_t *items, char *fresh,
		       char *err, size_t errlen)
{
	size_t i;
	json_t *it;
	int rc;
	if ((rc = store_begin(s, err, errlen)))
		return rc;
	json_array_foreach(items, i, it) {
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		const char *key = json_string_value(json_object_get(it, "blob"));
		char state[16];
		state_get(s, target, key, state);
		fresh[i] = !state[0];
		if (!strcmp(state, "stored") || !strcmp(state, "done"))
			fresh[i] = 2; /* on the target already (an item sent again for a
				       * new note): nothing to do */
		if (!state[0] && state_set(s, target, key, sha, "queued", NULL, 0)) {
			rc = err_set(err, errlen, EV_EDB, "cannot journal %s: %s", key,
				     sqlite3_errmsg(store_db(s)));
			store_rollback(s);
			return rc;
		}
	}
	return store_commit(s, err, errlen);
}

/* Tells the target which blob comes next (the first from `from` on that
 * was never tried: those are sent without asking), so it can be read and
 * hashed while this one is answered. */
static void hint_next(struct store *s, struct target *t, json_t *items, const char *fresh,
		      size_t from)
{
	for (size_t j = from; j < json_array_size(items); j++) {
		if (fresh[j] != 1)
			continue;
		json_t *it = json_array_get(items, j);
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		char *path = store_blob_path(s, sha);
		target_prefetch(t, path, sha,
				(uint64_t)json_integer_value(json_object_get(it, "size")));
		free(path);
		return;
	}
}

/* Says what to do about a blob the target holds under its name with other
 * content. It is never replaced (nor could it be in an Object Lock bucket):
 * the copy there is evidence of something too, and a person decides. */
static void advise_conflict(char *err, size_t errlen)
{
	size_t n = strlen(err);
	if (n + 1 < errlen)
		snprintf(err + n, errlen - n,
			 ". The target's copy is not this original: run 'evcap verify' to "
			 "confirm the copy here, have the target's copy set aside for examination "
			 "(moved out of the way, not deleted), then sync again; or sync to "
			 "another target");
}

static int upload_blobs(struct store *s, struct target *t, struct case_work *w,
			struct sync_report *rep, char *err, size_t errlen)
{
	const char *target = target_url(t);
	struct journal_ctx jc = {s, target};
	struct target_journal journal = {&jc, journal_load, journal_save};
	struct stored_batch batch = {.n = 0};
	char *fresh = xcalloc(json_array_size(w->items) + 1, 1);
	size_t i;
	json_t *it;
	int rc = queue_blobs(s, target, w->items, fresh, err, errlen);
	json_array_foreach(w->items, i, it) {
		if (rc)
			break;
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		const char *key = json_string_value(json_object_get(it, "blob"));
		uint64_t size = (uint64_t)json_integer_value(json_object_get(it, "size"));
		int present = 0;
		if (fresh[i] == 2) {
			rep->blobs_present++; /* sent by an earlier, unfinished run */
			continue;
		}
		if (!fresh[i]) {
			rc = target_stat(t, key, sha, size, &present, err, errlen);
			if (rc == EV_ECORRUPT)
				advise_conflict(err, errlen);
		}
		if (!rc && present) {
			rep->blobs_present++;
		} else if (!rc) {
			char *path = store_blob_path(s, sha);
			int existed = 0;
			hint_next(s, t, w->items, fresh, i + 1);
			log_debug("uploading %s (%llu bytes)", key, (unsigned long long)size);
			rc = target_put_file(t, key, path, sha, size, &journal, &existed, err,
					     errlen);
			free(path);
			if (rc == EV_EEXIST)
				advise_conflict(err, errlen);
			if (!rc && existed) {
				rep->blobs_present++;
			} else if (!rc) {
				rep->blobs_sent++;
				rep->bytes_sent += size;
			}
		}
		if (rc) {
			/* what was sent before stays known; this blob is
			 * remembered for the next attempt and stays queued */
			char e2[256];
			if (flush_stored(s, target, &batch, e2, sizeof e2))
				log_warnx("%s", e2);
			if (state_set(s, target, key, sha, "failed", err, 0))
				log_warnx("cannot record the failure of %s", key);
			break;
		}
		batch.keys[batch.n] = key;
		batch.shas[batch.n++] = sha;
		if (batch.n == STORED_BATCH)
			rc = flush_stored(s, target, &batch, err, errlen);
	}
	if (!rc)
		rc = flush_stored(s, target, &batch, err, errlen);
	free(fresh);
	return rc;
}

static json_t *manifest_json(struct store *s, const struct case_work *w, const char *bundle_id,
			     double now, const struct minisign_pub *pub)
{
	char created[32], kid[MINISIGN_KEYID_HEX];
	struct buf pk;
	json_t *m = json_object();
	time_format_iso(now, created);
	minisign_keyid_hex(pub->keyid, kid);
	buf_init(&pk, 256);
	if (minisign_pub_base64(pub, &pk))
		abort(); /* 56 bytes into 256 */
	json_object_set_new(m, "format", json_string(BUNDLE_FORMAT));
	json_object_set_new(m, "format_version", json_integer(BUNDLE_FORMAT_VERSION));
	json_object_set_new(m, "bundle_id", json_string(bundle_id));
	json_object_set_new(m, "created_at", json_string(created));
	json_object_set_new(m, "device_id", json_string(store_device_id(s)));
	json_object_set_new(m, "public_key_id", json_string(kid));
	json_object_set_new(m, "public_key", json_string(pk.data));
	json_object_set_new(m, "case_key", json_string(w->key));
	if (w->previous[0])
		json_object_set_new(m, "previous", json_string(w->previous));
	json_object_set(m, "case", w->case_obj);
	json_object_set(m, "sites", w->sites);
	json_object_set(m, "items", w->items);
	if (json_array_size(w->revised)) {
		json_t *all = json_copy(w->readings);
		json_array_extend(all, w->revised);
		json_object_set_new(m, "readings", all);
	} else {
		json_object_set(m, "readings", w->readings);
	}
	if (json_array_size(w->fixes))
		json_object_set(m, "fixes", w->fixes);
	json_t *c = json_object();
	json_object_set(c, "events", w->events);
	json_t *head = json_object();
	json_object_set_new(head, "seq", json_integer(w->head_seq));
	json_object_set_new(head, "hash", json_string(w->head_hash));
	json_object_set_new(c, "head", head);
	json_object_set_new(m, "custody", c);
	buf_free(&pk);
	return m;
}

static char *pending_meta_key(const char *target, const char *case_key)
{
	return xasprintf("sync.pending:%s:%s", target, case_key);
}

/* Records a bundle committed on the target (made at `created`), and drops
 * the store's copy of it kept in case the run was cut (pending_save). */
static int record_bundle(struct store *s, const char *target, const struct case_work *w,
			 const char *bundle_id, const char *manifest_key, const char *manifest_sha,
			 double created, const char *actor, char *err, size_t errlen)
{
	char made[32], at[32];
	int rc;
	sqlite3_stmt *st = NULL;
	double now = time_now();
	time_format_iso(created, made);
	time_format_iso(now, at);
	if ((rc = store_begin(s, err, errlen)))
		return rc;
	st = store_prepare(s,
			   "INSERT INTO bundles(bundle_id, case_id, target, direction, manifest_sha256,"
			   " device_id, first_seq, last_seq, created_at, committed_at, previous)"
			   " VALUES (?, ?, ?, 'out', ?, ?, ?, ?, ?, ?, ?)",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto fail;
	}
	sqlite3_bind_text(st, 1, bundle_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->case_id);
	sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, manifest_sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, store_device_id(s), -1, SQLITE_STATIC);
	if (w->first_seq)
		sqlite3_bind_int64(st, 6, w->first_seq);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, w->last_seq);
	sqlite3_bind_text(st, 8, made, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, at, -1, SQLITE_STATIC);
	if (w->previous[0])
		sqlite3_bind_text(st, 10, w->previous, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 10);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "cannot record bundle %s: %s", bundle_id,
			     sqlite3_errmsg(store_db(s)));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	size_t i;
	json_t *it;
	json_array_foreach(w->items, i, it) {
		const char *key = json_string_value(json_object_get(it, "blob"));
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		if ((rc = state_set(s, target, key, sha, "done", NULL,
				    json_integer_value(json_object_get(it, "rev"))))) {
			err_set(err, errlen, rc, "cannot journal %s", key);
			goto fail;
		}
	}
	if ((rc = state_set(s, target, manifest_key, manifest_sha, "done", NULL, 0))) {
		err_set(err, errlen, rc, "cannot journal %s", manifest_key);
		goto fail;
	}
	if (json_array_size(w->readings) && (rc = readings_mark_advance(s, target, w, err, errlen)))
		goto fail;
	if ((rc = readings_rev_advance(s, target, w, err, errlen)))
		goto fail;
	if ((rc = meta_set_id(s, notes_meta_key(target, w->key), w->last_note_id, err, errlen)))
		goto fail;
	char *pk = pending_meta_key(target, w->key);
	rc = store_meta_set(s, pk, NULL, err, errlen);
	free(pk);
	if (rc)
		goto fail;
	json_t *d = json_object();
	json_object_set_new(d, "target", json_string(target));
	json_object_set_new(d, "bundle_id", json_string(bundle_id));
	json_object_set_new(d, "manifest_sha256", json_string(manifest_sha));
	json_object_set_new(d, "items", json_integer((json_int_t)json_array_size(w->items)));
	json_object_set_new(d, "events", json_integer((json_int_t)json_array_size(w->events)));
	rc = custody_append(s, now, actor, "sync", w->number, NULL, d, NULL, err, errlen);
	json_decref(d);
	if (rc)
		goto fail;
	return store_commit(s, err, errlen);
fail:
	sqlite3_finalize(st);
	store_rollback(s);
	return rc;
}

/* Fixes sent are those within this many seconds of an item's or a
 * reading's time: the way to and from each place, not the whole day. */
#define TRACK_MARGIN 600.0
/* At most this many fixes a bundle (about 6 MB of manifest; over eight
 * hours at 1 Hz); the reader takes up to BUNDLE_MAX_FIXES. */
#define SYNC_MAX_FIXES 30000

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void add_time(double **v, size_t *n, size_t *cap, double t)
{
	if (!isfinite(t))
		return;
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = t;
}

/*
 * The device's GPS track around what this bundle holds, so that the office
 * can draw the route and place things as the field did: every fix within
 * TRACK_MARGIN of an item's capture time or a reading's time, at most
 * SYNC_MAX_FIXES (past that, evenly thinned, and the log says so).
 * Fixes already sent in an earlier bundle may be sent again; the office
 * keeps one of each.
 */
static int gather_fixes(struct store *s, struct case_work *w, char *err, size_t errlen)
{
	double *tv = NULL;
	size_t n = 0, cap = 0, i;
	json_t *o;
	int rc = 0;
	w->fixes = json_array();
	json_array_foreach(w->items, i, o) {
		double t;
		const char *iso = json_string_value(json_object_get(o, "captured_at"));
		if (iso && time_parse_iso(iso, &t) == 0)
			add_time(&tv, &n, &cap, t);
	}
	json_array_foreach(w->readings, i, o) {
		if (json_is_number(json_object_get(o, "t")))
			add_time(&tv, &n, &cap, json_number_value(json_object_get(o, "t")));
	}
	if (!n)
		return 0;
	qsort(tv, n, sizeof *tv, cmp_double);
	char *cols = bundle_col_list(&bundle_fix_cols, NULL);
	char *sql = xasprintf("SELECT %s FROM fixes WHERE t >= ?1 AND t <= ?2 ORDER BY t, id", cols);
	char *csql = xstrdup("SELECT count(*) FROM fixes WHERE t >= ?1 AND t <= ?2");
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	sqlite3_stmt *ct = st ? store_prepare(s, csql, err, errlen) : NULL;
	free(cols);
	free(sql);
	free(csql);
	if (!st || !ct) {
		rc = EV_EDB;
		goto out;
	}
	/* the windows around each time, merged where they overlap; counted
	 * first so that a long case is thinned evenly */
	int64_t total = 0;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		int64_t step = pass && total > SYNC_MAX_FIXES
				       ? (total + SYNC_MAX_FIXES - 1) / SYNC_MAX_FIXES
				       : 1;
		int64_t k = 0;
		for (i = 0; i < n && !rc;) {
			double lo = tv[i] - TRACK_MARGIN, hi = tv[i] + TRACK_MARGIN;
			while (++i < n && tv[i] - TRACK_MARGIN <= hi)
				hi = tv[i] + TRACK_MARGIN;
			sqlite3_stmt *q = pass ? st : ct;
			sqlite3_reset(q);
			sqlite3_bind_double(q, 1, lo);
			sqlite3_bind_double(q, 2, hi);
			int r;
			while ((r = sqlite3_step(q)) == SQLITE_ROW) {
				if (!pass)
					total += sqlite3_column_int64(q, 0);
				else if (k++ % step == 0)
					json_array_append_new(w->fixes, bundle_row_json(q, 0, &bundle_fix_cols));
			}
			if (r != SQLITE_DONE)
				rc = err_set(err, errlen, EV_EDB, "reading GPS fixes: %s",
					     sqlite3_errmsg(store_db(s)));
		}
		if (pass && step > 1)
			log_warnx("case %s: %lld GPS fixes lie around this bundle's items; every %lld-th "
				  "is sent (%zu), the most a bundle holds",
				  w->number, (long long)total, (long long)step,
				  json_array_size(w->fixes));
	}
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ct);
	free(tv);
	return rc;
}

/* The most bytes of originals one bundle holds, unless one item alone is
 * larger: $EVCAP_SYNC_BUNDLE_BYTES (for tests), else 256 MiB. */
static uint64_t bundle_budget(void)
{
	const char *v = getenv("EVCAP_SYNC_BUNDLE_BYTES");
	char *end;
	unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
	return n && !*end ? (uint64_t)n : (uint64_t)256 << 20;
}

struct sized {
	uint64_t size;
	size_t i; /* index in w->items */
};

static int by_size(const void *a, const void *b)
{
	const struct sized *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Keeps in w->items what one bundle takes, so that on a link that comes
 * and goes the office sees the small photos as soon as they are up rather
 * than after the last video: the smallest items first, up to
 * bundle_budget() bytes (at least one item). Every item that carries
 * notes stays (the bundle's notes mark covers all it gathered), and so do
 * the readings and custody events. An item whose original the target
 * has already (sent again for a note or a later revision) costs nothing
 * to send, so it counts as no bytes: a site added over a hundred videos
 * already synced is one bundle, not a hundred. 1 when items are left for
 * the next bundle of the same run.
 */
static int bundle_take(struct store *s, const char *target, struct case_work *w)
{
	size_t n = json_array_size(w->items), i, kept = 0;
	uint64_t budget = bundle_budget(), total = 0, used = 0;
	struct sized *ord = xcalloc(n + 1, sizeof *ord);
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(w->items, i);
		json_int_t sz = json_integer_value(json_object_get(it, "size"));
		char state[16];
		state_get(s, target, json_string_value(json_object_get(it, "blob")), state);
		if (!strcmp(state, "stored") || !strcmp(state, "done"))
			sz = 0;
		ord[i].size = sz > 0 ? (uint64_t)sz : 0;
		ord[i].i = i;
		total += ord[i].size;
	}
	if (total <= budget) {
		free(ord);
		return 0;
	}
	char *keep = xcalloc(n, 1);
	qsort(ord, n, sizeof *ord, by_size);
	for (i = 0; i < n; i++) {
		if (used && used + ord[i].size > budget)
			break;
		keep[ord[i].i] = 1;
		used += ord[i].size;
	}
	json_t *take = json_array();
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(w->items, i);
		if (keep[i] || json_array_size(json_object_get(it, "notes")))
			json_array_append(take, it);
	}
	kept = json_array_size(take);
	free(ord);
	free(keep);
	if (kept == n) {
		json_decref(take);
		return 0;
	}
	log_info("case %s: %zu of %zu items go in this bundle, the smallest first; the rest "
		 "follow in the next",
		 w->number, kept, n);
	json_decref(w->items);
	w->items = take;
	return 1;
}

/* The largest manifest a bundle may have: what an office accepts
 * (BUNDLE_MANIFEST_MAX), or less where $EVCAP_SYNC_MANIFEST_BYTES says
 * (for tests). */
static size_t manifest_max(void)
{
	const char *v = getenv("EVCAP_SYNC_MANIFEST_BYTES");
	char *end;
	unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
	return n && !*end && n < BUNDLE_MANIFEST_MAX ? (size_t)n : BUNDLE_MANIFEST_MAX;
}

/*
 * A manifest too large for an office (manifest_max) is made
 * smaller by sending less in this bundle and the rest in the next: the
 * items after the first half (an item with notes stays, as in
 * bundle_take), the readings after the oldest half, and the custody
 * events after the first half (the bundle then records the last one it
 * carries, and the next goes on from there). 0 when there is nothing
 * left to halve.
 */
/* Keeps the first half of *arr (more than one element), dropping the
 * rest. */
static void keep_first_half(json_t **arr)
{
	size_t n = json_array_size(*arr), i;
	json_t *take = json_array(), *o;
	json_array_foreach(*arr, i, o) {
		if (i < n / 2)
			json_array_append(take, o);
	}
	json_decref(*arr);
	*arr = take;
}

static int bundle_halve(struct case_work *w)
{
	size_t ni = json_array_size(w->items), i;
	int cut = 0;
	if (ni > 1) {
		json_t *take = json_array(), *it;
		json_array_foreach(w->items, i, it) {
			if (i < ni / 2 || json_array_size(json_object_get(it, "notes")))
				json_array_append(take, it);
		}
		cut = json_array_size(take) < ni;
		json_decref(w->items);
		w->items = take;
	}
	if (json_array_size(w->readings) > 1) {
		/* the oldest half: the mark then moves on to the last of them */
		keep_first_half(&w->readings);
		w->last_reading_id = w->reading_ids[json_array_size(w->readings) - 1];
		cut = 1;
	}
	if (json_array_size(w->revised) > 1) {
		keep_first_half(&w->revised);
		cut = 1;
	}
	if (json_array_size(w->events) > 1) {
		keep_first_half(&w->events);
		w->last_seq = json_integer_value(json_object_get(
			json_array_get(w->events, json_array_size(w->events) - 1), "seq"));
		cut = 1;
	}
	return cut;
}

/*
 * A bundle's manifest, signature and COMMITTED go to the target after its
 * blobs, in that order. A run stopped among them (Ctrl-C, a power cut, a
 * pulled disk) left a bundle folder on the target that nothing would ever
 * commit or clear, and one stopped after COMMITTED but before the bundle
 * was recorded here sent the same items again in a second bundle. So the
 * bundle is first kept in the store, as it was signed
 * (sync.pending:<target>:<case key>), and the next run to that target
 * finishes it before it gathers anything new: the same three files (one
 * already there with the same bytes counts as written), then the record.
 */
static int pending_save(struct store *s, const char *target, const struct case_work *w,
			const char *bundle_id, double created, const char *manifest, size_t mlen,
			const struct buf *sig, char *err, size_t errlen)
{
	json_t *p = json_pack("{s:s, s:f, s:s%, s:s%, s:I, s:I, s:I, s:I, s:I}", "bundle_id",
			      bundle_id, "created", created, "manifest", manifest, mlen,
			      "signature", sig->data, sig->len, "first_seq",
			      (json_int_t)w->first_seq, "last_seq", (json_int_t)w->last_seq,
			      "last_reading_id", (json_int_t)w->last_reading_id, "last_note_id",
			      (json_int_t)w->last_note_id, "new_readings",
			      (json_int_t)json_array_size(w->readings));
	char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	char *key = pending_meta_key(target, w->key);
	int rc = text ? store_meta_set(s, key, text, err, errlen)
		      : err_set(err, errlen, EV_ERR, "cannot serialise bundle %s", bundle_id);
	free(key);
	free(text);
	json_decref(p);
	return rc;
}

/* Writes a signed bundle's manifest, signature and COMMITTED, COMMITTED
 * last: the office only ever sees a bundle whose every part is in place. */
static int put_bundle(struct target *t, const char *case_key, const char *bundle_id,
		      const char *manifest, size_t mlen, const char *msha, const char *sig,
		      size_t siglen, char *err, size_t errlen)
{
	char *mkey = bundle_object_key(case_key, bundle_id, BUNDLE_MANIFEST);
	char *skey = bundle_object_key(case_key, bundle_id, BUNDLE_SIGNATURE);
	char *ckey = bundle_object_key(case_key, bundle_id, BUNDLE_COMMITTED);
	char *committed = xasprintf("bundle %s\nmanifest sha256 %s\n", bundle_id, msha);
	int rc = target_put_buf(t, mkey, manifest, mlen, err, errlen);
	if (!rc)
		rc = target_put_buf(t, skey, sig, siglen, err, errlen);
	if (!rc)
		rc = target_put_buf(t, ckey, committed, strlen(committed), err, errlen);
	free(mkey);
	free(skey);
	free(ckey);
	free(committed);
	return rc;
}

/* Sends again any blob of an unfinished bundle that the target lacks: they
 * were all there when it was saved, but the disk at a dir: target's path
 * may have been changed for another since. Each one there is checked
 * against its SHA-256 (a dir: target's copy read back), as the bundle
 * must not name a copy that was damaged meanwhile: the office would
 * refuse the bundle, and its items would count as sent. */
static int pending_blobs(struct store *s, struct target *t, json_t *items,
			 struct sync_report *rep, char *err, size_t errlen)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		const char *key = json_string_value(json_object_get(it, "blob"));
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		json_int_t size = json_integer_value(json_object_get(it, "size"));
		int present = 0, existed = 0, rc;
		if (!key || !sha || !sha256_hex_valid(sha) || size < 0)
			return err_set(err, errlen, EV_ECORRUPT, "item %zu names no valid blob", i);
		rc = target_stat(t, key, sha, (uint64_t)size, &present, err, errlen);
		if (rc == EV_ECORRUPT)
			advise_conflict(err, errlen);
		if (!rc && !present) {
			char *path = store_blob_path(s, sha);
			log_info("%s is not on the target; sent again", key);
			rc = target_put_file(t, key, path, sha, (uint64_t)size, NULL, &existed, err,
					     errlen);
			free(path);
			if (!rc && !existed) {
				rep->blobs_sent++;
				rep->bytes_sent += (uint64_t)size;
			}
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* "3 items, 1 reading, 12 custody events": what a committed bundle holds,
 * for the log line that says so. */
static const char *bundle_counts(const struct case_work *w, char *out, size_t outlen)
{
	size_t ni = json_array_size(w->items), ne = json_array_size(w->events);
	size_t nr = json_array_size(w->readings) + json_array_size(w->revised);
	snprintf(out, outlen, "%zu item%s, %zu reading%s, %zu custody event%s", ni,
		 ni == 1 ? "" : "s", nr, nr == 1 ? "" : "s", ne, ne == 1 ? "" : "s");
	return out;
}

/* Finishes the bundle an earlier run to this target left unfinished for
 * the case, if any (see pending_save). */
static int pending_finish(struct store *s, struct target *t, int64_t case_id, const char *number,
			  const char *actor, struct sync_report *rep, char *err, size_t errlen)
{
	const char *target = target_url(t);
	struct case_work w;
	char msha[SHA256_HEX_LEN + 1], e2[1024], counts[128];
	json_t *p = NULL, *m = NULL;
	char *mkey = NULL;
	int rc = 0;
	memset(&w, 0, sizeof w);
	w.case_id = case_id;
	w.number = number;
	store_case_key(number, w.key);
	char *key = pending_meta_key(target, w.key);
	char *text = store_meta_get(s, key);
	if (!text)
		goto out;
	const char *bid = NULL, *manifest = NULL, *sig = NULL;
	size_t mlen = 0, siglen = 0;
	double created = 0;
	json_int_t first = 0, last = 0, reading = 0, note = 0, n_new = -1;
	p = json_loads(text, 0, NULL);
	/* new_readings: absent before schema 44 */
	if (!p || json_unpack(p, "{s:s, s:F, s:s%, s:s%, s:I, s:I, s:I, s:I, s?I}", "bundle_id",
			      &bid, "created", &created, "manifest", &manifest, &mlen, "signature",
			      &sig, &siglen, "first_seq", &first, "last_seq", &last,
			      "last_reading_id", &reading, "last_note_id", &note, "new_readings",
			      &n_new) ||
	    !(m = json_loadb(manifest, mlen, 0, NULL)) ||
	    !json_is_array(json_object_get(m, "items"))) {
		/* never expected (it is this program's own text); the next
		 * bundle carries what that one held, so sync goes on */
		log_warnx("case %s: the store's copy of a bundle an earlier sync to %s did not "
			  "finish (setting %s) cannot be read; it is dropped, and what it held "
			  "goes in a new bundle",
			  number, target, key);
		rc = store_meta_set(s, key, NULL, err, errlen);
		goto out;
	}
	w.first_seq = first;
	w.last_seq = last;
	w.last_reading_id = reading;
	w.last_note_id = note;
	w.items = json_incref(json_object_get(m, "items"));
	/* the manifest's readings: the new ones, then those sent again */
	json_t *all = json_object_get(m, "readings");
	w.readings = json_array();
	w.revised = json_array();
	for (size_t k = 0; k < json_array_size(all); k++)
		json_array_append(n_new < 0 || (json_int_t)k < n_new ? w.readings : w.revised,
				  json_array_get(all, k));
	w.events = json_incref(json_object_get(json_object_get(m, "custody"), "events"));
	const char *prev = json_string_value(json_object_get(m, "previous"));
	if (prev)
		snprintf(w.previous, sizeof w.previous, "%s", prev);
	sha256_hex(manifest, mlen, msha);
	log_info("case %s: finishing bundle %s, which an earlier sync to %s did not finish",
		 number, bid, target);
	if ((rc = pending_blobs(s, t, w.items, rep, e2, sizeof e2))) {
		err_set(err, errlen, rc, "case %s: bundle %s: %s", number, bid, e2);
		goto out;
	}
	if ((rc = put_bundle(t, w.key, bid, manifest, mlen, msha, sig, siglen, e2, sizeof e2))) {
		err_set(err, errlen, rc, "case %s: %s", number, e2);
		goto out;
	}
	mkey = bundle_object_key(w.key, bid, BUNDLE_MANIFEST);
	if ((rc = record_bundle(s, target, &w, bid, mkey, msha, created, actor, e2, sizeof e2))) {
		err_set(err, errlen, rc,
			"case %s: bundle %s is on the target but could not be recorded here (%s); "
			"the next sync tries again",
			number, bid, e2);
		goto out;
	}
	rep->bundles++;
	rep->items += (int)json_array_size(w.items);
	log_info("case %s: bundle %s committed to %s: %s", number, bid, target,
		 bundle_counts(&w, counts, sizeof counts));
out:
	work_free(&w);
	json_decref(m);
	json_decref(p);
	free(mkey);
	free(text);
	free(key);
	return rc;
}

/* The last bundle this store sent for the case to the target, into
 * w->previous ("" when none): the bundle about to be made names it. */
static int previous_bundle(struct store *s, const char *target, struct case_work *w, char *err,
			   size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT bundle_id FROM bundles WHERE case_id = ? AND target = ?"
					 " AND direction = 'out' ORDER BY id DESC LIMIT 1",
					 err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, w->case_id);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	w->previous[0] = '\0';
	if (rc == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (id && strlen(id) < sizeof w->previous)
			memcpy(w->previous, id, strlen(id) + 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = err_set(err, errlen, EV_EDB, "cannot read the bundles sent to %s: %s", target,
			     sqlite3_errmsg(store_db(s)));
	}
	sqlite3_finalize(st);
	return rc;
}

static int sync_case(struct store *s, struct target *t, const struct minisign_secret *sec,
		     struct case_work *w, const char *actor, struct sync_report *rep, int *more,
		     char *err, size_t errlen)
{
	const char *target = target_url(t);
	char bundle_id[64], msha[SHA256_HEX_LEN + 1], trusted[256], e2[1024], counts[128];
	char *manifest = NULL, *mkey = NULL;
	struct buf sig;
	struct minisign_pub pub;
	json_t *m = NULL;
	int rc, readings_cut = 0;
	double now = time_now();
	buf_init(&sig, MINISIGN_SIGFILE_MAX);
	*more = 0;

	store_case_key(w->number, w->key);
	if ((rc = pending_finish(s, t, w->case_id, w->number, actor, rep, err, errlen)) ||
	    (rc = gather(s, target, w, &readings_cut, err, errlen)))
		goto out;
	if (!json_array_size(w->items) && !json_array_size(w->readings) &&
	    !json_array_size(w->revised) && !w->new_events) {
		log_info("case %s: nothing new for %s", w->number, target);
		goto out;
	}
	*more = bundle_take(s, target, w) || readings_cut;
	if ((rc = gather_fixes(s, w, err, errlen)) ||
	    (rc = previous_bundle(s, target, w, err, errlen)))
		goto out;
	/* the manifest first: what it cannot hold waits for the next bundle,
	 * and its blobs are not sent with this one */
	bundle_new_id(now, store_device_id(s), bundle_id);
	minisign_secret_pub(sec, &pub);
	m = manifest_json(s, w, bundle_id, now, &pub);
	manifest = json_dumps(m, JSON_INDENT(1));
	/* a case of tens of thousands of items goes in several bundles */
	size_t mmax = manifest_max();
	while (manifest && strlen(manifest) > mmax && bundle_halve(w)) {
		*more = 1;
		size_t ni = json_array_size(w->items), ne = json_array_size(w->events);
		size_t nr = json_array_size(w->readings) + json_array_size(w->revised);
		log_info("case %s: the manifest is too large for one bundle; %zu item%s, %zu "
			 "reading%s and %zu custody event%s go in this one, the rest follow in "
			 "the next",
			 w->number, ni, ni == 1 ? "" : "s", nr, nr == 1 ? "" : "s", ne,
			 ne == 1 ? "" : "s");
		json_decref(m);
		free(manifest);
		m = manifest_json(s, w, bundle_id, now, &pub);
		manifest = json_dumps(m, JSON_INDENT(1));
	}
	/* the track never stops a bundle: thinned until the manifest fits */
	while (manifest && strlen(manifest) > mmax && json_array_size(w->fixes)) {
		json_t *half = json_array();
		size_t k;
		json_t *f;
		json_array_foreach(w->fixes, k, f) {
			if (k % 2 == 0 && json_array_size(w->fixes) > 1)
				json_array_append(half, f);
		}
		log_warnx("case %s: the manifest is too large with %zu GPS fixes; %zu are sent",
			  w->number, json_array_size(w->fixes), json_array_size(half));
		json_decref(w->fixes);
		w->fixes = half;
		json_decref(m);
		free(manifest);
		m = manifest_json(s, w, bundle_id, now, &pub);
		manifest = json_dumps(m, JSON_INDENT(1));
	}
	if (!manifest) {
		rc = err_set(err, errlen, EV_ERR, "case %s: cannot serialise the manifest", w->number);
		goto out;
	}
	size_t mlen = strlen(manifest);
	if (mlen > mmax) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "case %s: the manifest would be %zu bytes, more than an office accepts "
			     "(%zu MiB), even with one reading and one custody event; the items "
			     "given notes since the last bundle, which it must carry together, are "
			     "too many for one bundle",
			     w->number, mlen, mmax >> 20);
		goto out;
	}
	if ((rc = upload_blobs(s, t, w, rep, e2, sizeof e2))) {
		err_set(err, errlen, rc, "case %s: %s", w->number, e2);
		goto out;
	}
	sha256_hex(manifest, mlen, msha);
	snprintf(trusted, sizeof trusted, "timestamp:%lld\tfile:" BUNDLE_MANIFEST "\thashed\tbundle:%s",
		 (long long)now, bundle_id);
	if ((rc = minisign_sign(sec, manifest, mlen, "signature from evcap device key", trusted,
				&sig, err, errlen)))
		goto out;
	mkey = bundle_object_key(w->key, bundle_id, BUNDLE_MANIFEST);
	if ((rc = pending_save(s, target, w, bundle_id, now, manifest, mlen, &sig, e2, sizeof e2)) ||
	    (rc = put_bundle(t, w->key, bundle_id, manifest, mlen, msha, sig.data, sig.len, e2,
			     sizeof e2))) {
		err_set(err, errlen, rc, "case %s: %s", w->number, e2);
		goto out;
	}
	if ((rc = record_bundle(s, target, w, bundle_id, mkey, msha, now, actor, e2, sizeof e2))) {
		err_set(err, errlen, rc,
			"case %s: bundle %s is on the target but could not be recorded here (%s); "
			"the next sync to that target finishes it and records it",
			w->number, bundle_id, e2);
		goto out;
	}
	rep->bundles++;
	rep->items += (int)json_array_size(w->items);
	log_info("case %s: bundle %s committed to %s: %s", w->number, bundle_id, target,
		 bundle_counts(w, counts, sizeof counts));
out:
	json_decref(m);
	free(manifest);
	free(mkey);
	buf_free(&sig);
	return rc;
}

/* 1 when a failure concerns the target, its settings or the store, not
 * one case: the next case would meet it too (after the same retries). */
static int stops_all(int rc)
{
	return rc == EV_EAUTH || rc == EV_EINVAL || rc == EV_ENOENT || rc == EV_ENET ||
	       rc == EV_EDB || rc == EV_ENOSPC;
}

/* Says that case `number` failed (err, which may name it already) and
 * adds it to rep->failed. */
static void case_failed(struct sync_report *rep, const char *number, const char *err)
{
	size_t n = strlen(number);
	if (!err)
		err = "it failed";
	if (!strncmp(err, "case ", 5) && !strncmp(err + 5, number, n) && err[5 + n] == ':')
		log_warnx("%s; the other cases go on", err);
	else
		log_warnx("case %s: %s; the other cases go on", number, err);
	rep->failed = xrealloc(rep->failed, ((size_t)rep->cases_failed + 1) * sizeof *rep->failed);
	rep->failed[rep->cases_failed++] = xstrdup(number);
}

/* Appends to err the numbers of the cases that failed (cut at errlen). */
static void append_failed(const struct sync_report *rep, char *err, size_t errlen)
{
	for (int i = 0; err && i < rep->cases_failed; i++) {
		size_t len = strlen(err);
		if (len + 1 < errlen)
			snprintf(err + len, errlen - len, "%s %s", i ? "," : "", rep->failed[i]);
	}
}

void sync_report_free(struct sync_report *rep)
{
	for (int i = 0; i < rep->cases_failed; i++)
		free(rep->failed[i]);
	free(rep->failed);
	rep->failed = NULL;
	rep->cases_failed = 0;
}

/* ---- this device's bundles that the store does not know ---- */

/*
 * A store whose last transactions were lost (a power cut that took
 * evidence.db-wal with it, on a card that had only cached the writes)
 * opens as it was some time before, and may have sent bundles in the time
 * it lost. Its custody log then numbers its next events as those bundles
 * numbered theirs: a bundle made now would fork the device's chain on the
 * target, and the office would refuse it and every later one of the
 * device. So before anything is sent, each case's committed bundles of
 * this device on the target that the store does not record as sent are
 * read, and their custody heads held to the store's log. A normal sync
 * reads no manifest for this: it costs one listing a case.
 */

#define OWN_MAX_KEYS 200000 /* a case's listing, as pull reads it */

struct own_bundles {
	const char *prefix;
	size_t prefix_len;
	char device8[9]; /* the device's part of a bundle id */
	char **ids;      /* its committed bundles there, in listing order */
	size_t n;
};

/* 1 when bundle id `id` ("YYYYMMDD-HHMMSS-<8 hex>-<8 hex>") was made by a
 * device whose id begins with dev8. Another device may share those 8
 * digits: the signature tells them apart. */
static int id_of_device(const char *id, const char *dev8)
{
	const char *p = strchr(id, '-');
	if (p)
		p = strchr(p + 1, '-');
	return p && !strncmp(p + 1, dev8, 8) && p[9] == '-';
}

/* Keeps each "<bundle id>/COMMITTED" of the device under the prefix (a
 * bundle not committed is read by no office, so it forks nothing). */
static int own_each(void *ctx, const struct target_entry *e)
{
	struct own_bundles *ob = ctx;
	if (e->foreign || e->odd || e->is_dir || strncmp(e->key, ob->prefix, ob->prefix_len))
		return 0;
	const char *rest = e->key + ob->prefix_len, *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : 0;
	if (!slash || n > BUNDLE_ID_MAX || strcmp(slash + 1, BUNDLE_COMMITTED))
		return 0;
	char id[BUNDLE_ID_MAX + 1];
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!bundle_id_valid(id) || !id_of_device(id, ob->device8))
		return 0;
	ob->ids = xrealloc(ob->ids, (ob->n + 1) * sizeof *ob->ids);
	ob->ids[ob->n++] = xstrdup(id);
	return 0;
}

/* 1 when this store records bundle `id` as sent (to any target: the same
 * disk mounted at another path holds what was sent to its old path), 0
 * when not, EV_EDB. */
static int bundle_sent(struct store *s, const char *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(
		s, "SELECT 1 FROM bundles WHERE bundle_id = ? AND direction = 'out'", err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int r = sqlite3_step(st), rc = r == SQLITE_ROW;
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot read the bundles this store sent: %s",
			     sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	return rc;
}

static int own_sink(void *ctx, const void *p, size_t n)
{
	return buf_append(ctx, p, n) ? EV_ELIMIT : 0;
}

/* Reads one file of a bundle into out (cleared), at most out->max bytes. */
static int own_get(struct target *t, const char *case_key, const char *id, const char *name,
		   struct buf *out, char *err, size_t errlen)
{
	char *key = bundle_object_key(case_key, id, name);
	char e2[512];
	buf_reset(out);
	int rc = target_get(t, key, 0, out->max, own_sink, out, e2, sizeof e2);
	if (rc == EV_ELIMIT)
		err_set(err, errlen, rc, "its %s is larger than the %zu bytes allowed", name,
			out->max);
	else if (rc)
		err_set(err, errlen, rc, "its %s cannot be read: %s", name, e2);
	free(key);
	return rc;
}

/*
 * Reads bundle `id` of the case and checks that it is this device's:
 * signed by its key (pub), naming its device. 0 with *m its manifest; 0
 * with *m NULL when it is not (another device's, whose id shares the 8
 * digits, passes without a word; one that is no sound bundle, which no
 * office takes either, is warned about); a negative code, with err, when
 * the target could not be read, so that nothing is sent unchecked.
 */
static int own_read(struct store *s, struct target *t, const char *case_key, const char *id,
		    const struct minisign_pub *pub, struct bundle_manifest **m, char *err,
		    size_t errlen)
{
	struct buf mtext, stext;
	struct minisign_sig sig;
	char e2[768], why[1024] = "";
	int rc;
	*m = NULL;
	buf_init(&mtext, BUNDLE_MANIFEST_MAX);
	buf_init(&stext, MINISIGN_SIGFILE_MAX);
	if ((rc = own_get(t, case_key, id, BUNDLE_SIGNATURE, &stext, e2, sizeof e2)) ||
	    (rc = own_get(t, case_key, id, BUNDLE_MANIFEST, &mtext, e2, sizeof e2))) {
		if (rc == EV_ENET || rc == EV_EIO || rc == EV_EAUTH) {
			err_set(err, errlen, rc, "%s: bundle %s: %s", target_url(t), id, e2);
			goto out;
		}
		snprintf(why, sizeof why, "%s", e2);
		rc = 0;
		goto out;
	}
	if (minisign_sig_parse(stext.data, stext.len, &sig, e2, sizeof e2)) {
		snprintf(why, sizeof why, "its signature cannot be read: %s", e2);
		goto out;
	}
	if (memcmp(sig.keyid, pub->keyid, MINISIGN_KEYID_LEN) != 0)
		goto out; /* another device's */
	if (minisign_verify(pub, &sig, mtext.data, mtext.len, e2, sizeof e2)) {
		snprintf(why, sizeof why, "its signature does not check with this device's key: %s",
			 e2);
		goto out;
	}
	if (bundle_manifest_parse(mtext.data, mtext.len, case_key, id, m, e2, sizeof e2)) {
		snprintf(why, sizeof why, "its manifest is not sound: %s", e2);
		goto out;
	}
	if (strcmp((*m)->device_id, store_device_id(s)) != 0) {
		snprintf(why, sizeof why,
			 "it is signed with this device's key but names device %.64s",
			 (*m)->device_id);
		bundle_manifest_free(*m);
		*m = NULL;
	}
out:
	if (why[0])
		log_warnx("%s: bundle %s bears this device's part of a bundle id, but %s; it "
			  "is not taken as one of this device's bundles (an office refuses it "
			  "too)",
			  target_url(t), id, why);
	buf_free(&mtext);
	buf_free(&stext);
	return rc;
}

/*
 * Holds the custody head of m, a bundle of this device on the target, to
 * this store's log: 0 when the log holds that very event; else
 * EV_ECORRUPT, with err naming the target, the bundle, how they differ
 * and what to do.
 */
static int own_head_check(struct store *s, const char *target, const char *number,
			  const struct bundle_manifest *m, char *err, size_t errlen)
{
	char head[SHA256_HEX_LEN + 1], what[256];
	int64_t last = 0;
	if (m->head_seq <= 0)
		return 0;
	if (custody_head(s, head, &last))
		return err_set(err, errlen, EV_EDB, "cannot read this store's custody log: %s",
			       sqlite3_errmsg(store_db(s)));
	if (m->head_seq > last) {
		snprintf(what, sizeof what,
			 "reaches its custody event %lld, but this store's custody log ends at "
			 "event %lld",
			 (long long)m->head_seq, (long long)last);
	} else {
		sqlite3_stmt *st = store_prepare(s, "SELECT hash FROM custody WHERE seq = ?", err,
						 errlen);
		if (!st)
			return EV_EDB;
		sqlite3_bind_int64(st, 1, m->head_seq);
		int r = sqlite3_step(st), same = 0;
		if (r == SQLITE_ROW) {
			const char *h = (const char *)sqlite3_column_text(st, 0);
			same = h && !strcmp(h, m->head_hash);
		}
		sqlite3_finalize(st);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return err_set(err, errlen, EV_EDB,
				       "cannot read this store's custody log: %s",
				       sqlite3_errmsg(store_db(s)));
		if (same)
			return 0;
		snprintf(what, sizeof what,
			 "its custody event %lld is not event %lld of this store's log (another "
			 "event here has that number)",
			 (long long)m->head_seq, (long long)m->head_seq);
	}
	return err_set(err, errlen, EV_ECORRUPT,
		       "%s: bundle %s of case %s was made by this device, and %s: this store "
		       "appears to have lost records it had already synced (a power cut that took "
		       "evidence.db-wal with it?). Nothing was sent: a bundle made now would fork "
		       "this device's custody chain, and the office would refuse it and every "
		       "later bundle of this device. Put the store back from a copy that holds "
		       "those records, then sync again; without one, see \"A store that lost "
		       "records it had synced\" in docs/sync.md",
		       target, m->bundle_id, number, what);
}

/* Checks every case's bundles of this device on the target (see above),
 * not only the cases this run sends: the device's chain is one for all
 * its cases, so a lost bundle of any of them forks it. */
static int own_bundles_check(struct store *s, struct target *t,
			     const struct minisign_secret *sec, char *err, size_t errlen)
{
	const char *target = target_url(t);
	struct minisign_pub pub;
	char **numbers = NULL;
	size_t n_numbers = 0;
	int rc = 0, r;
	minisign_secret_pub(sec, &pub);
	sqlite3_stmt *st = store_prepare(s, "SELECT number FROM cases ORDER BY id", err, errlen);
	if (!st)
		return EV_EDB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		numbers = xrealloc(numbers, (n_numbers + 1) * sizeof *numbers);
		numbers[n_numbers++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "reading the store's cases: %s",
			     sqlite3_errmsg(store_db(s)));
		goto out;
	}
	for (size_t i = 0; i < n_numbers && !rc; i++) {
		char key[64], e2[1024];
		struct own_bundles ob;
		memset(&ob, 0, sizeof ob);
		store_case_key(numbers[i], key);
		char *prefix = bundle_case_prefix(key);
		ob.prefix = prefix;
		ob.prefix_len = strlen(prefix);
		snprintf(ob.device8, sizeof ob.device8, "%.8s", store_device_id(s));
		rc = target_list(t, prefix, OWN_MAX_KEYS, own_each, &ob, e2, sizeof e2);
		if (rc == EV_ECORRUPT) {
			/* a file or link where the case's folder goes: no office
			 * reads a bundle there either, and the case's own sync
			 * fails on it, naming it, when it has something to send */
			log_info("case %s: its bundles on %s cannot be listed (%s), so none there "
				 "is compared with this store's custody log",
				 numbers[i], target, e2);
			rc = 0;
		} else if (rc) {
			err_set(err, errlen, rc,
				"case %s: cannot list this device's bundles on %s, which sync "
				"compares with this store's custody log before it sends "
				"anything: %s",
				numbers[i], target, e2);
		}
		for (size_t k = 0; k < ob.n && !rc; k++) {
			struct bundle_manifest *m = NULL;
			if ((rc = bundle_sent(s, ob.ids[k], err, errlen)) == 1) {
				rc = 0;
				continue;
			}
			if (!rc && !(rc = own_read(s, t, key, ob.ids[k], &pub, &m, err, errlen)) &&
			    m)
				rc = own_head_check(s, target, numbers[i], m, err, errlen);
			bundle_manifest_free(m);
		}
		for (size_t k = 0; k < ob.n; k++)
			free(ob.ids[k]);
		free(ob.ids);
		free(prefix);
	}
out:
	for (size_t i = 0; i < n_numbers; i++)
		free(numbers[i]);
	free(numbers);
	return rc;
}

int sync_run(struct store *s, const struct sync_opts *o, struct sync_report *rep, char *err,
	     size_t errlen)
{
	struct minisign_secret sec;
	struct target *t = NULL;
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL;
	char **numbers = NULL;
	size_t n_cases = 0;
	int lock = -1, rc, first_failure = 0;
	memset(rep, 0, sizeof *rep);
	memset(&sec, 0, sizeof sec);

	if ((lock = sync_lock(s, err, errlen)) < 0)
		return lock;
	if ((rc = devkey_ensure(store_dir(s), NULL, err, errlen)) ||
	    (rc = devkey_load_secret(store_dir(s), &sec, err, errlen)))
		goto out;
	if (o->case_number && store_case_id(s, o->case_number) <= 0) {
		rc = err_set(err, errlen, EV_EINVAL, "no case '%s' in this store", o->case_number);
		goto out;
	}
	if ((rc = target_open(o->target_url, &o->topts, &t, err, errlen)) ||
	    (rc = target_identify(t, err, errlen)))
		goto out;
	snprintf(rep->target_info, sizeof rep->target_info, "%s", target_info(t));
	/* a store that lost what it had synced must not fork its chain there */
	if ((rc = own_bundles_check(s, t, &sec, err, errlen)))
		goto out;
	/* the cases are read first: no statement stays open across the
	 * transactions each case commits */
	st = store_prepare(s, "SELECT id, number FROM cases WHERE (?1 IS NULL OR number = ?1)"
			      " ORDER BY id", err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, o->case_number, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		ids = xrealloc(ids, (n_cases + 1) * sizeof *ids);
		numbers = xrealloc(numbers, (n_cases + 1) * sizeof *numbers);
		ids[n_cases] = sqlite3_column_int64(st, 0);
		numbers[n_cases++] = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	if (r != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "reading the store's cases: %s",
			     sqlite3_errmsg(store_db(s)));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < n_cases; i++) {
		int more = 0;
		rep->cases++;
		do { /* a bundle at a time, while the case has more */
			struct case_work w;
			memset(&w, 0, sizeof w);
			w.case_id = ids[i];
			w.number = numbers[i];
			rc = sync_case(s, t, &sec, &w, o->actor, rep, &more, err, errlen);
			work_free(&w);
		} while (!rc && more);
		if (rc && stops_all(rc)) {
			if (err && rep->cases_failed) {
				size_t len = strlen(err);
				snprintf(err + len, errlen - len, "; before it, %d case%s failed:",
					 rep->cases_failed, rep->cases_failed == 1 ? "" : "s");
				append_failed(rep, err, errlen);
			}
			goto out;
		}
		if (rc) {
			/* a fault of this case alone (a damaged bundle of it on
			 * the target) does not hold back the others */
			case_failed(rep, numbers[i], err);
			if (!first_failure)
				first_failure = rc;
		}
	}
	rc = first_failure;
	if (rc) {
		err_set(err, errlen, rc, "%d of %d case%s failed, each said above (the others "
					 "were synced):",
			rep->cases_failed, rep->cases, rep->cases == 1 ? "" : "s");
		append_failed(rep, err, errlen);
	}
out:
	if (t)
		rep->retries = target_retries(t);
	sqlite3_finalize(st);
	for (size_t i = 0; i < n_cases; i++)
		free(numbers[i]);
	free(numbers);
	free(ids);
	target_free(t);
	minisign_secret_wipe(&sec);
	sync_unlock(lock);
	return rc;
}
