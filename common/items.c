/*
 * The one place an items row becomes JSON.
 */
#include "items.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static const char item_cols[] =
	"i.id, i.sha256, i.size, i.kind, i.format, i.original_name, i.original_path,"
	" c.number, si.name, i.operators, i.captured_at, i.camera_time, i.tz_offset,"
	" i.time_source, i.gps_time, i.lat, i.lon, i.alt, i.location_source,"
	" i.location_error_m, i.make, i.model, i.serial, i.width, i.height, i.medium_uuid,"
	" i.medium_label, i.ingested_at, i.metadata_error, i.metadata_note, i.origin,"
	" i.gimbal_yaw, i.gimbal_pitch, i.flight_yaw, i.rel_alt, i.subsec, i.offset_raw,"
	" i.source_device, i.bundle_id, i.gps_datum, i.img_direction, i.img_direction_ref, i.xmp_alt,"
	" i.office_fields";

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT: {
		/* Text that is not UTF-8 (no writer of evcap's stores any, but a
		 * store can be written by other means) would make json_string
		 * NULL and its field vanish: it is shown escaped as a name is. */
		const char *t = (const char *)sqlite3_column_text(st, i);
		json_t *v = json_string(t);
		if (!v) {
			char *e = text_escape(t, (size_t)sqlite3_column_bytes(st, i), SIZE_MAX);
			v = json_string(e);
			free(e);
		}
		return v;
	}
	default:
		return json_null();
	}
}

static json_t *row_json(sqlite3_stmt *st)
{
	static const char *names[] = {
		"id", "sha256", "size", "kind", "format", "original_name", "original_path",
		"case", "site", "operators", "captured_at", "camera_time", "tz_offset",
		"time_source", "gps_time", "lat", "lon", "alt", "location_source",
		"location_error_m", "make", "model", "serial", "width", "height", "medium_uuid",
		"medium_label", "ingested_at", "metadata_error", "metadata_note", "origin",
		"gimbal_yaw", "gimbal_pitch", "flight_yaw", "rel_alt", "subsec", "offset_raw",
		"source_device", "bundle_id", "gps_datum", "img_direction", "img_direction_ref",
		"xmp_alt"};
	json_t *o = json_object();
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
		json_t *v = col_json(st, i);
		if (strcmp(names[i], "operators") == 0) {
			json_t *arr = NULL;
			if (json_is_string(v))
				arr = json_loads(json_string_value(v), 0, NULL);
			json_decref(v);
			v = json_is_array(arr) ? arr : (json_decref(arr), json_array());
		}
		/* lat/lon/alt are numbers even when SQLite kept an integer */
		if (json_is_integer(v) && (strcmp(names[i], "lat") == 0 || strcmp(names[i], "lon") == 0 ||
					   strcmp(names[i], "alt") == 0 || strcmp(names[i], "xmp_alt") == 0)) {
			json_t *r = json_real((double)json_integer_value(v));
			json_decref(v);
			v = r;
		}
		json_object_set_new(o, names[i], v);
	}
	/* of a pulled item, the fields the office set itself, which later
	 * revisions from the field leave alone (schema.c, schema_v44) */
	int64_t own = sqlite3_column_int64(st, (int)(sizeof names / sizeof names[0]));
	json_t *office = json_array();
	if (own & 1)
		json_array_append_new(office, json_string("place"));
	if (own & 2)
		json_array_append_new(office, json_string("time"));
	if (own & 4)
		json_array_append_new(office, json_string("site"));
	json_object_set_new(o, "office_fields", office);
	/* every stored coordinate is WGS-84 */
	json_object_set_new(o, "datum", json_is_null(json_object_get(o, "lat"))
						? json_null()
						: json_string("WGS-84"));
	return o;
}

/* The column of i.captured_at in item_cols. */
#define COL_CAPTURED_AT 10

/*
 * Whether the capture time at column COL_CAPTURED_AT lies in [from, to],
 * compared as instants, never as text: evcap writes a fraction of a
 * second only when there is one ("...:42.041Z" beside "...:42Z", which
 * sorts after it as text), and a pulled item's time may carry any zone
 * time_parse_iso reads ("+08:00"). An item without a time is in no span.
 */
static int in_span(sqlite3_stmt *st, double from, double to)
{
	const char *iso = (const char *)sqlite3_column_text(st, COL_CAPTURED_AT);
	double t;
	return iso && time_parse_iso(iso, &t) == 0 && t >= from && t <= to;
}

/* A bound of the span into *t, or -1 with err set when it names no time. */
static int span_bound(const char *iso, const char *which, double *t, char *err, size_t errlen)
{
	if (!iso || time_parse_iso(iso, t) == 0)
		return 0;
	err_set(err, errlen, EV_EINVAL, "the span's %s '%.40s' is not an ISO 8601 time", which,
		iso);
	return -1;
}

json_t *items_list(struct store *s, const struct item_filter *f, char *err, size_t errlen)
{
	/* the span is tested on each row read (in_span): no index holds the
	 * capture time, so a test in SQL would read the same rows */
	double from = -INFINITY, to = INFINITY;
	if (f && (span_bound(f->from_iso, "start", &from, err, errlen) ||
		  span_bound(f->to_iso, "end", &to, err, errlen)))
		return NULL;
	int span = f && (f->from_iso || f->to_iso);
	char sql[1536];
	snprintf(sql, sizeof sql,
		 "SELECT %s FROM items i LEFT JOIN cases c ON c.id = i.case_id"
		 " LEFT JOIN sites si ON si.id = i.site_id"
		 " WHERE (?1 = 0 OR i.case_id = ?1) AND (?2 = 0 OR i.site_id = ?2)"
		 " AND (?3 = 0 OR i.case_id IS NULL)"
		 " ORDER BY i.captured_at IS NULL, i.captured_at, i.id",
		 item_cols);
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, f ? f->case_id : 0);
	sqlite3_bind_int64(st, 2, f ? f->site_id : 0);
	sqlite3_bind_int(st, 3, f ? f->no_case : 0);
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (!span || in_span(st, from, to))
			json_array_append_new(arr, row_json(st));
	if (r != SQLITE_DONE) {
		err_set(err, errlen, EV_EDB, "cannot list items: %s", sqlite3_errmsg(store_db(s)));
		json_decref(arr);
		arr = NULL;
	}
	sqlite3_finalize(st);
	return arr;
}

/* An item's notes and sightings, added to it; 0, or an error when the
 * store could not be read whole. */
static int add_notes(struct store *s, json_t *item, char *err, size_t errlen)
{
	json_t *notes = json_array(), *sights = json_array();
	int r = SQLITE_DONE, r2 = SQLITE_DONE;
	sqlite3_stmt *st = store_prepare(
		s, "SELECT text, author, created_at FROM notes WHERE item_id = ? ORDER BY id", err,
		errlen);
	if (!st)
		r = SQLITE_ERROR;
	if (st) {
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(item, "id")));
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			json_t *n = json_object();
			json_object_set_new(n, "text", col_json(st, 0));
			json_object_set_new(n, "author", col_json(st, 1));
			json_object_set_new(n, "created_at", col_json(st, 2));
			json_array_append_new(notes, n);
		}
		if (r != SQLITE_DONE)
			err_set(err, errlen, EV_EDB, "cannot read the item's notes: %s",
				sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
	}
	st = r == SQLITE_DONE ? store_prepare(s,
					      "SELECT path, medium_uuid, medium_label, seen_at"
					      " FROM sightings WHERE item_id = ? ORDER BY id",
					      err, errlen)
			      : NULL;
	if (!st && r == SQLITE_DONE)
		r2 = SQLITE_ERROR;
	if (st) {
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(item, "id")));
		while ((r2 = sqlite3_step(st)) == SQLITE_ROW) {
			json_t *n = json_object();
			json_object_set_new(n, "path", col_json(st, 0));
			json_object_set_new(n, "medium_uuid", col_json(st, 1));
			json_object_set_new(n, "medium_label", col_json(st, 2));
			json_object_set_new(n, "seen_at", col_json(st, 3));
			json_array_append_new(sights, n);
		}
		if (r2 != SQLITE_DONE)
			err_set(err, errlen, EV_EDB, "cannot read the item's sightings: %s",
				sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
	}
	json_object_set_new(item, "notes", notes);
	json_object_set_new(item, "sightings", sights);
	return r == SQLITE_DONE && r2 == SQLITE_DONE ? 0 : EV_EDB;
}

json_t *items_get(struct store *s, const char *ref, char *err, size_t errlen)
{
	size_t n = strlen(ref);
	int all_digits = n > 0 && n <= 18 && strspn(ref, "0123456789") == n;
	int hexish = n >= 6 && n <= 64 && strspn(ref, "0123456789abcdefABCDEF") == n;
	if (!all_digits && !hexish) {
		err_set(err, errlen, EV_EINVAL,
			"'%s' is neither an item id nor a SHA-256 prefix of 6 or more hex digits", ref);
		return NULL;
	}
	char sql[1536];
	snprintf(sql, sizeof sql,
		 "SELECT %s FROM items i LEFT JOIN cases c ON c.id = i.case_id"
		 " LEFT JOIN sites si ON si.id = i.site_id WHERE %s LIMIT 2",
		 item_cols, all_digits && n < 6 ? "i.id = ?1" : "(i.id = ?2 OR i.sha256 LIKE ?1)");
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	if (!st)
		return NULL;
	char like[80];
	char lower[65];
	for (size_t i = 0; i <= n && i < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)ref[i]);
	lower[64] = '\0';
	if (all_digits && n < 6) {
		sqlite3_bind_int64(st, 1, strtoll(ref, NULL, 10));
	} else {
		snprintf(like, sizeof like, "%s%%", lower);
		sqlite3_bind_text(st, 1, like, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, all_digits ? strtoll(ref, NULL, 10) : -1);
	}
	json_t *item = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		item = row_json(st);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_decref(item);
			item = NULL;
			err_set(err, errlen, EV_EINVAL, "'%s' matches more than one item; give more digits",
				ref);
		}
	} else {
		err_set(err, errlen, EV_ENOENT, "no item '%s' in this store", ref);
	}
	sqlite3_finalize(st);
	if (item && add_notes(s, item, err, errlen)) {
		json_decref(item);
		item = NULL;
	}
	return item;
}
