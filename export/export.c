/*
 * The export context: one pass over the store gathers the case, its items
 * and their notes, the track of the inspection's span, the readings, the
 * equipment, the custody head, this store's key and the keys that signed
 * the case's pulled bundles, so that every format is a pure function of
 * the same facts. Also the small writers the formats share (XML and CSV
 * escaping, local times).
 */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "custody.h"
#include "devkey.h"
#include "fsutil.h"
#include "geotag.h"
#include "hash.h"
#include "thumb.h"
#include "timeutil.h"

/* The largest original read to make a thumbnail; bigger files are named
 * and shown without one rather than read whole into memory. */
#define EXPORT_THUMB_SRC_MAX ((size_t)256 << 20)

struct export_ctx *export_ctx_new(void)
{
	struct export_ctx *c = xcalloc(1, sizeof *c);
	c->case_row = json_object();
	c->items = json_array();
	c->readings = json_array();
	c->sites = json_array();
	c->devices = json_array();
	trackset_init(&c->tracks);
	c->opt.lang = EXPORT_LANG_ZH;
	return c;
}

void export_ctx_free(struct export_ctx *c)
{
	if (!c)
		return;
	json_decref(c->case_row);
	json_decref(c->items);
	json_decref(c->readings);
	json_decref(c->sites);
	json_decref(c->devices);
	json_decref(c->missing);
	json_decref(c->signers);
	trackset_free(&c->tracks);
	for (size_t i = 0; i < c->n_thumbs; i++) {
		free(c->thumbs[i]);
		free(c->thumb_note[i]);
	}
	free(c->thumbs);
	free(c->thumb_note);
	free(c);
}

/* Ends a statement's rows: 0 when every row was read, else an error
 * naming what was being read (a damaged store must not give a report
 * that silently lacks rows). The statement is finalized either way. */
static int rows_end(struct store *s, sqlite3_stmt *st, int r, const char *what, char *err,
		    size_t errlen)
{
	int rc = r == SQLITE_DONE ? 0
				  : err_set(err, errlen, EV_EDB, "reading %s: %s", what,
					    sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	return rc;
}

/* The case's bundles that a pull found missing from their target
 * (docs/sync.md, "A bundle missing from the target") and that this store
 * still lacks: the report says its record of the case has that gap. */
static int load_missing(struct store *s, struct export_ctx *c, int64_t case_id, char *err,
			size_t errlen)
{
	c->missing = json_array();
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT b.previous, b.device_id, b.bundle_id, b.target, b.previous_missing"
		" FROM bundles b WHERE b.case_id = ? AND b.previous_missing IS NOT NULL"
		" AND " STORE_SQL_PREVIOUS_UNHELD
		" ORDER BY b.id",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	int r, rc;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		static const char *const names[] = {"bundle_id", "device_id", "named_by", "target",
						    "noticed_at"};
		json_t *o = json_object();
		for (int k = 0; k < 5; k++) {
			const char *v = (const char *)sqlite3_column_text(st, k);
			json_object_set_new(o, names[k], v ? json_string(v) : json_null());
		}
		json_array_append_new(c->missing, o);
	}
	if ((rc = rows_end(s, st, r, "the bundles missing", err, errlen)))
		return rc;
	/* and the bundles a pull refused that none has taken since: the
	 * newest refusal of each, with its reason */
	st = store_prepare(
		s,
		"SELECT json_extract(c.event, '$.detail.bundle_id'), json_extract(c.event, '$.detail.target'),"
		" json_extract(c.event, '$.detail.reason'), max(c.at) FROM custody c"
		" WHERE c.case_number = (SELECT number FROM cases WHERE id = ?)"
		" AND c.action = 'bundle refused'"
		" AND NOT EXISTS (SELECT 1 FROM bundles p"
		"  WHERE p.bundle_id = json_extract(c.event, '$.detail.bundle_id'))"
		/* one found missing since is counted as missing, once */
		" AND NOT EXISTS (SELECT 1 FROM bundles m"
		"  WHERE m.previous = json_extract(c.event, '$.detail.bundle_id')"
		"  AND m.previous_missing IS NOT NULL)"
		" GROUP BY 1 ORDER BY max(c.seq)",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		static const char *const names[] = {"bundle_id", "target", "refused_because",
						    "noticed_at"};
		json_t *o = json_object();
		for (int k = 0; k < 4; k++) {
			const char *v = (const char *)sqlite3_column_text(st, k);
			json_object_set_new(o, names[k], v ? json_string(v) : json_null());
		}
		json_array_append_new(c->missing, o);
	}
	return rows_end(s, st, r, "the bundles refused", err, errlen);
}

/* A column as JSON: NULL, integer, real or text. */
static json_t *col(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(st, i));
	default: return json_null();
	}
}

/* A column the store keeps as JSON text, as the value it holds: a
 * reading's instrument (an object) and operators (an array). Anything
 * else, such as a bare name, stays the text it is. */
static json_t *col_json(sqlite3_stmt *st, int i)
{
	json_t *v = col(st, i);
	json_t *d = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
	if (!json_is_object(d) && !json_is_array(d)) {
		json_decref(d);
		return v;
	}
	json_decref(v);
	return d;
}

static int load_case(struct store *s, int64_t case_id, json_t *row, char *err, size_t errlen)
{
	static const char *names[] = {"number", "title", "status", "opened_at", "closed_at",
				      "time_offset", "operators", "witness", "no_witness_reason",
				      "medium_kept", "medium_note"};
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT number, title, status, opened_at, closed_at, time_offset, operators, witness,"
		" no_witness_reason, medium_kept, medium_note FROM cases WHERE id = ?",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	int rc = 0;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = err_set(err, errlen, EV_ENOENT, "no case with id %lld in this store",
			     (long long)case_id);
		goto out;
	}
	for (int i = 0; i < (int)ARRAY_LEN(names); i++) {
		json_t *v = col(st, i);
		if (strcmp(names[i], "operators") == 0) {
			json_t *a = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
			json_decref(v);
			v = json_is_array(a) ? a : (json_decref(a), json_array());
		} else if (strcmp(names[i], "medium_kept") == 0 && json_is_integer(v)) {
			json_t *b = json_boolean(json_integer_value(v) != 0);
			json_decref(v);
			v = b;
		}
		json_object_set_new(row, names[i], v);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* Adds "notes" to every item, in one query for the whole case. */
static int load_notes(struct store *s, int64_t case_id, json_t *items, char *err, size_t errlen)
{
	json_t *by_id = json_object();
	size_t i;
	json_t *it;
	char key[32];
	json_array_foreach(items, i, it) {
		json_object_set_new(it, "notes", json_array());
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(it, "id")));
		json_object_set(by_id, key, it);
	}
	int rc = 0;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT n.item_id, n.text, n.author, n.created_at FROM notes n"
		" JOIN items i ON i.id = n.item_id WHERE i.case_id = ? ORDER BY n.id",
		err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, case_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(key, sizeof key, "%lld", (long long)sqlite3_column_int64(st, 0));
		json_t *item = json_object_get(by_id, key);
		if (!item)
			continue; /* filtered out by site or time */
		json_t *n = json_object();
		json_object_set_new(n, "text", col(st, 1));
		json_object_set_new(n, "author", col(st, 2));
		json_object_set_new(n, "created_at", col(st, 3));
		json_array_append_new(json_object_get(item, "notes"), n);
	}
	rc = rows_end(s, st, r, "the items' notes", err, errlen);
out:
	json_decref(by_id);
	return rc;
}

static void span_add(struct export_ctx *c, const char *t)
{
	double v;
	if (!t || time_parse_iso(t, &v))
		return;
	if (!c->has_span || v < c->span_from)
		c->span_from = v;
	if (!c->has_span || v > c->span_to)
		c->span_to = v;
	c->has_span = 1;
}

/* The span of the items' capture times and the readings' times: the
 * track drawn is the one around them. */
static void find_span(struct export_ctx *c)
{
	size_t i;
	json_t *it;
	json_array_foreach(c->readings, i, it) {
		span_add(c, json_string_value(json_object_get(it, "time")));
	}
	json_array_foreach(c->items, i, it) {
		span_add(c, json_string_value(json_object_get(it, "captured_at")));
	}
}

/* Appends {role, make, model, serial} unless the same is there already. */
static void add_device(json_t *devs, const char *role, const char *make, const char *model,
		       const char *serial)
{
	size_t i;
	json_t *d;
	json_array_foreach(devs, i, d) {
		const char *f[4] = {role, make, model, serial};
		const char *k[4] = {"role", "make", "model", "serial"};
		int same = 1;
		for (int j = 0; j < 4; j++) {
			const char *v = json_string_value(json_object_get(d, k[j]));
			if ((v == NULL) != (f[j] == NULL) || (v && strcmp(v, f[j]) != 0))
				same = 0;
		}
		if (same)
			return;
	}
	d = json_object();
	json_object_set_new(d, "role", json_string(role));
	json_object_set_new(d, "make", make ? json_string(make) : json_null());
	json_object_set_new(d, "model", model ? json_string(model) : json_null());
	json_object_set_new(d, "serial", serial ? json_string(serial) : json_null());
	json_array_append_new(devs, d);
}

/* A drone is told from a camera by its maker: the aerial cameras a field
 * team flies are DJI's, Autel's and a few others. */
static int is_drone(const char *make, const char *model)
{
	static const char *makers[] = {"DJI", "Autel", "Parrot", "Skydio", "Yuneec", "Hasselblad"};
	for (size_t i = 0; i < ARRAY_LEN(makers); i++)
		if (make && strncasecmp(make, makers[i], strlen(makers[i])) == 0)
			return strcasecmp(makers[i], "Hasselblad") != 0 ||
			       (model && strncmp(model, "L1D", 3) == 0);
	return 0;
}

static void item_devices(struct export_ctx *c)
{
	size_t i;
	json_t *it;
	json_array_foreach(c->items, i, it) {
		const char *make = json_string_value(json_object_get(it, "make"));
		const char *model = json_string_value(json_object_get(it, "model"));
		const char *serial = json_string_value(json_object_get(it, "serial"));
		if (make || model || serial)
			add_device(c->devices, is_drone(make, model) ? "drone" : "camera", make, model,
				   serial);
	}
}

static int load_track(struct store *s, struct export_ctx *c, const struct export_filter *f,
		      char *err, size_t errlen)
{
	double from = c->span_from - EXPORT_TRACK_MARGIN_S, to = c->span_to + EXPORT_TRACK_MARGIN_S;
	double v;
	if (f->from_iso && time_parse_iso(f->from_iso, &v) == 0)
		from = v;
	if (f->to_iso && time_parse_iso(f->to_iso, &v) == 0)
		to = v;
	if (!c->has_span && !(f->from_iso && f->to_iso))
		return 0; /* no span: no track belongs to this export */
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT t, lat, lon, alt, mode, eph, sats, source FROM fixes"
		" WHERE t >= ? AND t <= ? AND mode >= 2 ORDER BY t LIMIT ?",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_double(st, 1, from);
	sqlite3_bind_double(st, 2, to);
	sqlite3_bind_int64(st, 3, EXPORT_MAX_FIXES);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct fix fx = geotag_row_fix(st, 0);
		const char *src = (const char *)sqlite3_column_text(st, 7);
		/* each receiver its own line: two that were apart would
		 * otherwise be joined in a zigzag between them */
		if (c->tracks.n < EXPORT_MAX_SOURCES || trackset_has(&c->tracks, src ? src : ""))
			trackset_push(&c->tracks, src ? src : "", &fx);
	}
	int rc = rows_end(s, st, r, "the GPS track", err, errlen);
	if (rc)
		return rc;
	trackset_sort(&c->tracks);
	for (size_t i = 0; i < c->tracks.n; i++)
		add_device(c->devices, "gps", NULL, NULL, c->tracks.source[i]);
	return 0;
}

static int load_readings(struct store *s, struct export_ctx *c, const struct export_filter *f,
			 char *err, size_t errlen)
{
	static const char *names[] = {"id", "time", "parameter", "value", "unit", "class",
				      "sample_id", "instrument", "lat", "lon", "location_source",
				      "site", "error", "operators"};
	/* the span is tested on r.t, the reading's time in UTC seconds that
	 * readings_case orders: r.time's text sorts "...:10Z" after
	 * "...:10.500Z", and one pulled may carry a zone of its own */
	double v;
	if ((f->from_iso && time_parse_iso(f->from_iso, &v)) ||
	    (f->to_iso && time_parse_iso(f->to_iso, &v)))
		return err_set(err, errlen, EV_EINVAL, "the span %s .. %s is not of ISO 8601 times",
			       f->from_iso ? f->from_iso : "", f->to_iso ? f->to_iso : "");
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT r.id, r.time, r.parameter, r.value, r.unit, r.class, r.sample_id,"
		" r.instrument, r.lat, r.lon, r.location_source, si.name, r.error, r.operators"
		" FROM readings r LEFT JOIN sites si ON si.id = r.site_id"
		" WHERE r.case_id = ?1 AND (?2 = 0 OR r.site_id = ?2)"
		" AND (?3 IS NULL OR r.t >= ?3) AND (?4 IS NULL OR r.t <= ?4)"
		" ORDER BY r.t IS NULL, r.t, r.id LIMIT ?5",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, f->case_id);
	sqlite3_bind_int64(st, 2, f->site_id);
	if (f->from_iso && time_parse_iso(f->from_iso, &v) == 0)
		sqlite3_bind_double(st, 3, v);
	if (f->to_iso && time_parse_iso(f->to_iso, &v) == 0)
		sqlite3_bind_double(st, 4, v);
	sqlite3_bind_int64(st, 5, EXPORT_MAX_READINGS);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < (int)ARRAY_LEN(names); i++) {
			int enc = strcmp(names[i], "instrument") == 0 ||
				  strcmp(names[i], "operators") == 0;
			json_object_set_new(o, names[i], enc ? col_json(st, i) : col(st, i));
		}
		json_array_append_new(c->readings, o);
	}
	return rows_end(s, st, r, "the readings", err, errlen);
}

static int load_sites(struct store *s, struct export_ctx *c, const struct export_filter *f,
		      char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT name, lat, lon, radius_m FROM sites WHERE case_id = ?1"
					 " AND (?2 = 0 OR id = ?2) ORDER BY id LIMIT 1000",
					 err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, f->case_id);
	sqlite3_bind_int64(st, 2, f->site_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "name", col(st, 0));
		json_object_set_new(o, "lat", json_real(sqlite3_column_double(st, 1)));
		json_object_set_new(o, "lon", json_real(sqlite3_column_double(st, 2)));
		json_object_set_new(o, "radius_m", col(st, 3));
		json_array_append_new(c->sites, o);
	}
	return rows_end(s, st, r, "the sites", err, errlen);
}

/*
 * The keys that signed the case's pulled bundles, as this store's pull
 * events recorded them (each checked the bundle's signature with it):
 * per key and device, how many of the case's bundles it signed, and the
 * SHA-256 of its raw Ed25519 public key from the trusted keys, which is
 * what the office compares with the key the device shows. The pull events
 * of the case are read through the custody log's case index, and each
 * one's bundle by its id; a key the store no longer holds is named
 * without its hash.
 */
static int load_signers(struct store *s, struct export_ctx *c, int64_t case_id, char *err,
			size_t errlen)
{
	c->signers = json_array();
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT json_extract(e.event, '$.detail.key_id') AS kid, b.device_id,"
		" count(DISTINCT b.id), k.public_key, k.replaced_by FROM custody e"
		" CROSS JOIN bundles b ON b.bundle_id = json_extract(e.event, '$.detail.bundle_id')"
		"  AND b.direction = 'in' AND b.case_id = ?1"
		" LEFT JOIN trusted_keys k ON k.key_id = json_extract(e.event, '$.detail.key_id')"
		" WHERE e.case_number = (SELECT number FROM cases WHERE id = ?1) AND e.action = 'pull'"
		" GROUP BY kid, b.device_id ORDER BY min(b.id)",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *pk = (const char *)sqlite3_column_text(st, 3);
		struct minisign_pub pub;
		json_t *o = json_object();
		json_object_set_new(o, "key_id", col(st, 0));
		json_object_set_new(o, "device_id", col(st, 1));
		json_object_set_new(o, "bundles", col(st, 2));
		if (pk && minisign_pub_parse(pk, strlen(pk), &pub, NULL, 0) == 0) {
			char hex[SHA256_HEX_LEN + 1];
			sha256_hex(pub.pk, sizeof pub.pk, hex);
			json_object_set_new(o, "sha256", json_string(hex));
		} else {
			json_object_set_new(o, "sha256", json_null());
		}
		json_object_set_new(o, "replaced_by", col(st, 4));
		json_array_append_new(c->signers, o);
	}
	return rows_end(s, st, r, "the keys that signed the case's bundles", err, errlen);
}

/* This store's own key, if it has one: its minisign id and the SHA-256
 * of the raw Ed25519 public key. It signs what this store sends, so it
 * stands for the items captured here, not for pulled ones (load_signers).
 * A store without a key is reported, not an error. */
static void load_key(struct store *s, struct export_ctx *c)
{
	struct minisign_pub pub;
	char *path = devkey_pub_path(store_dir(s));
	if (fs_exists(path) && devkey_load_pub(store_dir(s), &pub, NULL, 0) == 0) {
		minisign_keyid_hex(pub.keyid, c->key_id);
		sha256_hex(pub.pk, sizeof pub.pk, c->key_sha256);
		c->has_key = 1;
	}
	free(path);
}

int export_ctx_load(struct store *s, const struct export_filter *f, const struct export_opts *o,
		    struct export_ctx **out, char *err, size_t errlen)
{
	struct export_ctx *c = export_ctx_new();
	int rc;
	*out = NULL;
	c->opt = *o;
	if ((rc = load_case(s, f->case_id, c->case_row, err, errlen)))
		goto out;
	struct item_filter itf = {f->case_id, f->site_id, f->from_iso, f->to_iso, 0};
	json_decref(c->items);
	c->items = items_list(s, &itf, err, errlen);
	if (!c->items) {
		c->items = json_array();
		rc = EV_EDB;
		goto out;
	}
	if (json_array_size(c->items) > EXPORT_MAX_ITEMS) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "case %s has %zu items, more than the %d one export holds; narrow it "
			     "with --site, --from or --to",
			     json_string_value(json_object_get(c->case_row, "number")),
			     json_array_size(c->items), EXPORT_MAX_ITEMS);
		goto out;
	}
	if (o->items_only)
		goto done;
	if ((rc = load_notes(s, f->case_id, c->items, err, errlen)))
		goto out;
	if ((rc = load_readings(s, c, f, err, errlen)))
		goto out;
	find_span(c);
	item_devices(c);
	if ((rc = load_track(s, c, f, err, errlen)) || (rc = load_sites(s, c, f, err, errlen)))
		goto out;
	/* the computers that read the files in */
	size_t i;
	json_t *it;
	json_array_foreach(c->items, i, it) {
		const char *host = json_string_value(json_object_get(it, "source_device"));
		if (host)
			add_device(c->devices, "computer", NULL, NULL, host);
	}
	if ((rc = custody_head(s, c->chain_head, &c->chain_seq))) {
		rc = err_set(err, errlen, rc, "cannot read the custody log's head");
		goto out;
	}
	load_key(s, c);
	if ((rc = load_signers(s, c, f->case_id, err, errlen)))
		goto out;
	if ((rc = load_missing(s, c, f->case_id, err, errlen)))
		goto out;
done:
	*out = c;
	c = NULL;
out:
	export_ctx_free(c);
	return rc;
}

/* The picture a report shows beside an item's SHA-256 must be of that
 * original: one whose bytes changed in the store since is said, not
 * drawn. 0, or EV_ECORRUPT with the reason in err. */
static int thumb_src_check(const struct buf *src, const char *sha, const char *label, char *err,
			   size_t errlen)
{
	char got[SHA256_HEX_LEN + 1];
	sha256_hex(src->data, src->len, got);
	if (strcmp(got, sha) == 0)
		return 0;
	return err_set(err, errlen, EV_ECORRUPT,
		       "%s: the original no longer matches its SHA-256; run evcap verify", label);
}

size_t export_ctx_thumbs(struct export_ctx *c, struct store *s, int max_px)
{
	size_t n = json_array_size(c->items), made = 0;
	char err[512];
	for (size_t i = 0; i < c->n_thumbs; i++) {
		free(c->thumbs[i]);
		free(c->thumb_note[i]);
	}
	free(c->thumbs);
	free(c->thumb_note);
	c->thumbs = xcalloc(n ? n : 1, sizeof *c->thumbs);
	c->thumb_note = xcalloc(n ? n : 1, sizeof *c->thumb_note);
	c->n_thumbs = n;
	sqlite3_stmt *ost = store_prepare(s, "SELECT orientation FROM items WHERE sha256 = ?", NULL, 0);
	/* a phone's HEIC takes a third of a second to decode: on a terminal,
	 * a long run says how far it is */
	int tty = isatty(STDERR_FILENO), shown = 0;
	double t0 = time_mono();
	for (size_t i = 0; i < n; i++) {
		if (tty && i % 8 == 0 && time_mono() - t0 > 1.0) {
			fprintf(stderr, "\r\033[Kthumbnails: %zu of %zu", i, n);
			shown = 1;
		}
		json_t *it = json_array_get(c->items, i);
		const char *kind = json_string_value(json_object_get(it, "kind"));
		const char *fmt = json_string_value(json_object_get(it, "format"));
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		const char *name = json_string_value(json_object_get(it, "original_name"));
		if (!kind || strcmp(kind, "photo") != 0 || !sha)
			continue;
		if (!thumb_format_ok(fmt)) {
			c->thumb_note[i] = xasprintf("%s", fmt ? fmt : "?");
			continue;
		}
		int orientation = 0;
		if (ost) {
			sqlite3_reset(ost);
			sqlite3_bind_text(ost, 1, sha, -1, SQLITE_STATIC);
			if (sqlite3_step(ost) == SQLITE_ROW)
				orientation = sqlite3_column_int(ost, 0);
		}
		char *path = store_blob_path(s, sha);
		struct buf src, jpg, uri;
		buf_init(&src, EXPORT_THUMB_SRC_MAX);
		buf_init(&jpg, (size_t)4 << 20);
		buf_init(&uri, (size_t)8 << 20);
		const char *label = name ? name : sha;
		size_t nl = strlen(label);
		if (fs_read_file(path, EXPORT_THUMB_SRC_MAX, &src, err, sizeof err) ||
		    thumb_src_check(&src, sha, label, err, sizeof err) ||
		    thumb_photo(fmt, (const uint8_t *)src.data, src.len, max_px, orientation,
				label, &jpg, err, sizeof err) ||
		    (thumb_data_uri((const uint8_t *)jpg.data, jpg.len, &uri) &&
		     err_set(err, sizeof err, EV_ELIMIT, "%s: the thumbnail does not fit its limit",
			     label))) {
			fprintf(stderr, "%sevcap export: no thumbnail for item %lld: %s\n",
				shown ? "\r\033[K" : "",
				(long long)json_integer_value(json_object_get(it, "id")), err);
			shown = 0;
			/* the report's row names the file already */
			int named = strncmp(err, label, nl) == 0 && strncmp(err + nl, ": ", 2) == 0;
			c->thumb_note[i] = xstrdup(named ? err + nl + 2 : err);
		} else {
			c->thumbs[i] = buf_detach(&uri, NULL);
			made++;
		}
		buf_free(&src);
		buf_free(&jpg);
		buf_free(&uri);
		free(path);
	}
	sqlite3_finalize(ost);
	if (shown)
		fprintf(stderr, "\r\033[K");
	return made;
}

/* Appends the strings of a JSON array to `into` unless already there. */
static void merge_names(json_t *into, const json_t *arr)
{
	size_t i, j;
	json_t *v, *w;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		int seen = 0;
		if (!s || !*s)
			continue;
		json_array_foreach(into, j, w) {
			if (strcmp(json_string_value(w), s) == 0)
				seen = 1;
		}
		if (!seen && json_array_size(into) < 256)
			json_array_append_new(into, json_string(s));
	}
}

json_t *export_operators(const struct export_ctx *c)
{
	json_t *ops = json_array();
	merge_names(ops, json_object_get(c->case_row, "operators"));
	size_t i;
	json_t *it;
	json_array_foreach(c->items, i, it) {
		merge_names(ops, json_object_get(it, "operators"));
	}
	return ops;
}

int export_item_located(const json_t *item)
{
	json_t *la = json_object_get(item, "lat"), *lo = json_object_get(item, "lon");
	if (!json_is_number(la) || !json_is_number(lo))
		return 0;
	double lat = json_number_value(la), lon = json_number_value(lo);
	return isfinite(lat) && isfinite(lon) && fabs(lat) <= 90.0 && fabs(lon) <= 180.0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
				  : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || n > left)
		return 0;
	return utf8_valid((const char *)s, n) ? n : 0;
}

/* Bytes written as \xNN, two hex digits each, as names are shown. */
static int put_bytes_escaped(struct buf *b, const unsigned char *p, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = buf_printf(b, "\\x%02X", p[i]);
	return rc;
}

/* Whether the character of n bytes at p cannot be shown as itself: a C0
 * control but TAB, LF and CR, DEL, a C1 control (U+0080 to U+009F, which
 * the escaping of names takes as controls too), U+FFFE or U+FFFF, which
 * are no characters at all and which XML 1.0 does not allow in a document,
 * or a text-direction character (text_direction_len), which would make a
 * card's "DJI_0001<U+202E>GPJ.exe" read "DJI_0001exe.JPG". */
static int unshowable(const unsigned char *p, size_t n)
{
	if (n == 1)
		return (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7F;
	if (text_direction_len((const char *)p, n) == n)
		return 1;
	if (n == 2)
		return p[0] == 0xC2 && p[1] < 0xA0;
	return n == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF);
}

char *export_direction_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	/* each byte at most \xNN: the buffer cannot be outgrown */
	char *out = xmalloc(4 * left + 1), *o = out;
	while (left) {
		size_t n = text_direction_len((const char *)p, left);
		for (size_t k = 0; k < n; k++)
			o += sprintf(o, "\\x%02X", p[k]);
		if (!n)
			*o++ = (char)*p;
		n = n ? n : 1;
		p += n;
		left -= n;
	}
	*o = '\0';
	return out;
}

int export_put_xml(struct buf *b, const char *s)
{
	if (!s)
		return 0;
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	while (left) {
		size_t n = utf8_seq(p, left);
		int rc;
		if (n == 0) {
			rc = put_bytes_escaped(b, p, 1);
			n = 1;
		} else if (unshowable(p, n)) {
			rc = put_bytes_escaped(b, p, n);
		} else if (n == 1) {
			switch (*p) {
			case '<': rc = buf_puts(b, "&lt;"); break;
			case '>': rc = buf_puts(b, "&gt;"); break;
			case '&': rc = buf_puts(b, "&amp;"); break;
			case '"': rc = buf_puts(b, "&quot;"); break;
			case '\'': rc = buf_puts(b, "&#39;"); break;
			/* a parser turns a CR it reads into LF; a reference
			 * keeps it */
			case '\r': rc = buf_puts(b, "&#13;"); break;
			default: rc = buf_putc(b, (char)*p);
			}
		} else {
			rc = buf_append(b, p, n);
		}
		if (rc)
			return rc;
		p += n;
		left -= n;
	}
	return 0;
}

/* Whether Excel would take a text field for a formula, so that it needs a
 * leading apostrophe: original file names and notes come from cards and
 * people nobody here vouches for. Excel starts a formula at =, @, + and -,
 * and skips a leading TAB or CR first (OWASP's CSV injection list). Only a
 * plain decimal after + or - passes: Excel reads "-12.5" as the number it
 * is. Anything else after a sign is guarded, times and UTC offsets too:
 * Excel may take "+08:00" for the time of day 08:00, sign dropped, and
 * "-07:00" for a formula that fails; "+1:1" is a formula (row 1). An
 * offset kept as text is worth the apostrophe shown before it. A field
 * that starts with an apostrophe of its own gets one more, so that a
 * leading apostrophe is always evcap's, and one taken off gives the text
 * back: "'=1" from a card would otherwise read like a guarded "=1". */
static int csv_formula(const char *s)
{
	if (!s[0] || !strchr("=@\t\r+-'", s[0]))
		return 0;
	if (s[0] != '+' && s[0] != '-')
		return 1;
	size_t whole = strspn(s + 1, "0123456789"), frac = 0;
	const char *p = s + 1 + whole;
	if (*p == '.') {
		frac = strspn(p + 1, "0123456789");
		p += 1 + frac;
	}
	return *p != '\0' || whole + frac == 0;
}

int export_put_csv(struct buf *b, const char *s)
{
	if (!s)
		return 0;
	int quote = strpbrk(s, ",\"\r\n") != NULL || (s[0] == ' ') ||
		    (s[0] && s[strlen(s) - 1] == ' ');
	int rc = 0;
	if (quote && (rc = buf_putc(b, '"')))
		return rc;
	if (csv_formula(s) && (rc = buf_putc(b, '\'')))
		return rc;
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	while (left && !rc) {
		size_t n = utf8_seq(p, left);
		if (n == 0) {
			rc = put_bytes_escaped(b, p, 1);
			n = 1;
		} else if (n == 1 && *p == '"') {
			rc = buf_puts(b, "\"\"");
		} else if (unshowable(p, n)) {
			rc = put_bytes_escaped(b, p, n);
		} else {
			rc = buf_append(b, p, n);
		}
		p += n;
		left -= n;
	}
	if (!rc && quote)
		rc = buf_putc(b, '"');
	return rc;
}

/* One fact of an instrument, "model X", after those already written. */
static int put_fact(struct buf *out, int zh, int named, int *n, const char *label,
		    const json_t *v)
{
	char num[NUM_TEXT_MAX];
	const char *text = json_string_value(v);
	if (json_is_number(v)) {
		num_text(json_number_value(v), num);
		text = num;
	}
	if (!text || !*text)
		return 0;
	const char *sep = *n ? (zh ? "，" : ", ") : !named ? "" : zh ? "（" : " (";
	(*n)++;
	return buf_printf(out, "%s%s %s", sep, label, text);
}

int export_instrument_text(const json_t *inst, enum export_lang lang, struct buf *out)
{
	static const char *const known[] = {"name", "model", "serial", "calibrated"};
	const int zh = lang == EXPORT_LANG_ZH;
	const char *name = json_string_value(json_object_get(inst, "name")), *key;
	const int named = name && *name;
	json_t *v;
	int rc = 0, n = 0;
	if (json_is_string(inst))
		return buf_puts(out, json_string_value(inst));
	if (!json_is_object(inst))
		return 0;
	if (named && (rc = buf_puts(out, name)))
		return rc;
	for (size_t k = 1; k < ARRAY_LEN(known) && !rc; k++) {
		char lk[32];
		snprintf(lk, sizeof lk, "inst_%s", known[k]);
		rc = put_fact(out, zh, named, &n, i18n_label(lang, lk),
			      json_object_get(inst, known[k]));
	}
	/* whatever else a profile may one day record, under its own key */
	json_object_foreach((json_t *)inst, key, v) {
		int seen = 0;
		for (size_t k = 0; k < ARRAY_LEN(known) && !seen; k++)
			seen = strcmp(key, known[k]) == 0;
		if (!seen && !rc)
			rc = put_fact(out, zh, named, &n, key, v);
	}
	if (!rc && n && named)
		rc = buf_puts(out, zh ? "）" : ")");
	return rc;
}

int export_local_time(const char *utc_iso, int offset_s, char out[40])
{
	double t;
	out[0] = '\0';
	if (!utc_iso || time_parse_iso(utc_iso, &t))
		return EV_EINVAL;
	int y, mo, d, h, mi, s;
	time_to_civil((int64_t)floor(t) + offset_s, &y, &mo, &d, &h, &mi, &s);
	char off[8];
	time_format_offset(offset_s, off);
	char tmp[96];
	snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d %s", y, mo, d, h, mi, s, off);
	snprintf(out, 40, "%.39s", tmp);
	return 0;
}

int export_item_offset(const json_t *item)
{
	const char *tz = json_string_value(json_object_get(item, "tz_offset"));
	int off;
	if (tz && time_parse_offset(tz, &off) == 0)
		return off;
	return 8 * 3600; /* China keeps UTC+8 all year */
}
