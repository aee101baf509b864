/*
 * Bundle layout keys, the column lists that travel in a manifest, and the
 * manifest validator. The validator is the trust boundary of `pull`: it
 * runs on bytes fetched from a server or a disk someone else handled, so
 * every count, length and type is checked before anything else reads it.
 */
#include "bundle.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "custody.h"
#include "store.h"
#include "timeutil.h"

/* ---- keys ---- */

void bundle_blob_key(const char *sha_hex, char out[BUNDLE_BLOB_KEY_LEN])
{
	snprintf(out, BUNDLE_BLOB_KEY_LEN, "blobs/sha256/%.2s/%.2s/%.64s", sha_hex, sha_hex + 2,
		 sha_hex);
}

char *bundle_case_prefix(const char *case_key)
{
	return xasprintf("cases/%s/bundles/", case_key);
}

char *bundle_object_key(const char *case_key, const char *bundle_id, const char *name)
{
	return xasprintf("cases/%s/bundles/%s/%s", case_key, bundle_id, name);
}

static int id_valid(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || strstr(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

int bundle_id_valid(const char *s)
{
	return id_valid(s, BUNDLE_ID_MAX);
}

int bundle_case_key_valid(const char *s)
{
	return id_valid(s, 63);
}

void bundle_new_id(double now, const char *device_id, char out[64])
{
	int y, mo, d, h, mi, s;
	char tmp[128] = {0};
	time_to_civil((int64_t)now, &y, &mo, &d, &h, &mi, &s);
	snprintf(tmp, sizeof tmp, "%04d%02d%02d-%02d%02d%02d-%.8s-%08x", y, mo, d, h, mi, s,
		 device_id, (unsigned)randombytes_random());
	for (char *c = tmp; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	memcpy(out, tmp, 63);
	out[63] = '\0';
}

/* ---- columns ---- */

static const struct bundle_col case_cols[] = {
	{"number", BC_TEXT, 1},       {"title", BC_TEXT, 0},
	{"status", BC_TEXT, 0},       {"opened_at", BC_TEXT, 1},
	{"closed_at", BC_TEXT, 0},    {"time_offset", BC_TEXT, 0},
	{"water_body", BC_TEXT, 0},   {"operators", BC_JSON, 0},
	{"witness", BC_TEXT, 0},      {"no_witness_reason", BC_TEXT, 0},
	{"medium_kept", BC_INT, 0},   {"medium_note", BC_TEXT, 0},
	{"recommendation", BC_TEXT, 0}, {"reply_date", BC_TEXT, 0},
};

static const struct bundle_col site_cols[] = {
	{"name", BC_TEXT, 1}, {"lat", BC_REAL, 1},        {"lon", BC_REAL, 1},
	{"radius_m", BC_REAL, 0}, {"water_body", BC_TEXT, 0}, {"created_at", BC_TEXT, 1},
};

static const struct bundle_col item_cols[] = {
	{"sha256", BC_TEXT, 1},        {"size", BC_INT, 1},
	{"kind", BC_TEXT, 1},          {"format", BC_TEXT, 0},
	{"original_name", BC_TEXT, 1}, {"original_path", BC_TEXT, 1},
	{"source_device", BC_TEXT, 0}, {"medium_uuid", BC_TEXT, 0},
	{"medium_label", BC_TEXT, 0},  {"operators", BC_JSON, 0},
	{"camera_time", BC_TEXT, 0},   {"subsec", BC_REAL, 0},
	{"offset_raw", BC_TEXT, 0},    {"gps_time", BC_TEXT, 0},
	{"xmp_time", BC_TEXT, 0},      {"captured_at", BC_TEXT, 0},
	{"tz_offset", BC_TEXT, 0},     {"time_source", BC_TEXT, 0},
	{"declared_offset", BC_TEXT, 0}, {"lat", BC_REAL, 0},
	{"lon", BC_REAL, 0},           {"alt", BC_REAL, 0},
	{"location_source", BC_TEXT, 0}, {"location_error_m", BC_REAL, 0},
	{"exif_lat", BC_REAL, 0},      {"exif_lon", BC_REAL, 0},
	{"exif_alt", BC_REAL, 0},      {"xmp_lat", BC_REAL, 0},
	{"xmp_lon", BC_REAL, 0},       {"xmp_alt", BC_REAL, 0},
	{"rel_alt", BC_REAL, 0},       {"gps_status", BC_TEXT, 0},
	{"gps_dop", BC_REAL, 0},       {"gps_datum", BC_TEXT, 0},
	{"gimbal_yaw", BC_REAL, 0},    {"gimbal_pitch", BC_REAL, 0},
	{"gimbal_roll", BC_REAL, 0},   {"flight_yaw", BC_REAL, 0},
	{"flight_pitch", BC_REAL, 0},  {"flight_roll", BC_REAL, 0},
	{"make", BC_TEXT, 0},          {"model", BC_TEXT, 0},
	{"serial", BC_TEXT, 0},        {"width", BC_INT, 0},
	{"height", BC_INT, 0},         {"orientation", BC_INT, 0},
	{"metadata_error", BC_TEXT, 0}, {"metadata_note", BC_TEXT, 0},
	{"ingested_at", BC_TEXT, 1},
	{"img_direction", BC_REAL, 0}, {"img_direction_ref", BC_TEXT, 0},
};

static const struct bundle_col note_cols[] = {
	{"text", BC_TEXT, 1}, {"author", BC_TEXT, 0}, {"created_at", BC_TEXT, 1},
};

static const struct bundle_col reading_cols[] = {
	{"t", BC_REAL, 0},          {"time", BC_TEXT, 0},        {"parameter", BC_TEXT, 0},
	{"value", BC_REAL, 0},      {"unit", BC_TEXT, 0},        {"sample_id", BC_TEXT, 0},
	{"instrument", BC_TEXT, 0}, {"raw", BC_TEXT, 1},         {"raw_sha256", BC_TEXT, 1},
	{"source", BC_TEXT, 0},     {"line_no", BC_INT, 0},      {"operators", BC_JSON, 0},
	{"lat", BC_REAL, 0},        {"lon", BC_REAL, 0},         {"location_source", BC_TEXT, 0},
	{"location_error_m", BC_REAL, 0}, {"class", BC_TEXT, 0}, {"error", BC_TEXT, 0},
	{"created_at", BC_TEXT, 1},
};

/* A GPS fix of the device's track, as the fixes table holds it. */
static const struct bundle_col fix_cols[] = {
	{"t", BC_REAL, 1},   {"time", BC_TEXT, 1}, {"lat", BC_REAL, 1},  {"lon", BC_REAL, 1},
	{"alt", BC_REAL, 0}, {"mode", BC_INT, 1},  {"eph", BC_REAL, 0},  {"sats", BC_INT, 0},
	{"source", BC_TEXT, 1},
};

#define TABLE(what, a) {what, a, sizeof a / sizeof a[0]}
const struct bundle_table bundle_case_cols = TABLE("case", case_cols);
const struct bundle_table bundle_site_cols = TABLE("site", site_cols);
const struct bundle_table bundle_item_cols = TABLE("item", item_cols);
const struct bundle_table bundle_note_cols = TABLE("note", note_cols);
const struct bundle_table bundle_reading_cols = TABLE("reading", reading_cols);
const struct bundle_table bundle_fix_cols = TABLE("fix", fix_cols);

char *bundle_col_list(const struct bundle_table *t, const char *prefix)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < t->n; i++)
		if (buf_printf(&b, "%s%s%s%s", i ? ", " : "", prefix ? prefix : "",
			       prefix ? "." : "", t->cols[i].name))
			abort(); /* fixed names: cannot pass 64 KiB */
	return buf_detach(&b, NULL);
}

json_t *bundle_row_json(sqlite3_stmt *st, int first, const struct bundle_table *t)
{
	json_t *o = json_object();
	for (size_t i = 0; i < t->n; i++) {
		int c = first + (int)i;
		json_t *v;
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_NULL:
			v = json_null();
			break;
		case SQLITE_INTEGER:
			v = t->cols[i].type == BC_REAL ? json_real((double)sqlite3_column_int64(st, c))
						       : json_integer(sqlite3_column_int64(st, c));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, c));
			break;
		default: {
			const char *s = (const char *)sqlite3_column_text(st, c);
			v = NULL;
			if (t->cols[i].type == BC_JSON) {
				/* JSON kept as text in the row travels as JSON */
				v = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
				if (v && !json_is_array(v)) {
					json_decref(v);
					v = NULL;
				}
			}
			if (!v)
				v = json_string(s);
			if (!v) { /* not UTF-8: escaped as a name is, not dropped */
				char *e = text_escape(s, (size_t)sqlite3_column_bytes(st, c),
						      SIZE_MAX);
				v = json_string(e);
				free(e);
			}
			break;
		}
		}
		json_object_set_new(o, t->cols[i].name, v);
	}
	return o;
}

int bundle_check_row(json_t *obj, const struct bundle_table *t, const char *where, char *err,
		     size_t errlen)
{
	if (!json_is_object(obj))
		return err_set(err, errlen, EV_EINVAL, "%s: a %s must be a JSON object", where,
			       t->what);
	for (size_t i = 0; i < t->n; i++) {
		const struct bundle_col *c = &t->cols[i];
		json_t *v = json_object_get(obj, c->name);
		if (!v || json_is_null(v)) {
			if (c->required)
				return err_set(err, errlen, EV_EINVAL, "%s: %s field '%s' is missing",
					       where, t->what, c->name);
			continue;
		}
		int ok = 0;
		switch (c->type) {
		case BC_TEXT:
			ok = json_is_string(v) && json_string_length(v) <= BUNDLE_MAX_TEXT;
			break;
		case BC_INT:
			ok = json_is_integer(v);
			break;
		case BC_REAL:
			ok = json_is_number(v);
			break;
		case BC_JSON:
			if (json_is_string(v)) {
				ok = json_string_length(v) <= BUNDLE_MAX_TEXT;
			} else if (json_is_array(v) && json_array_size(v) <= 256) {
				size_t k;
				json_t *e;
				ok = 1;
				json_array_foreach(v, k, e) if (!json_is_string(e) ||
								json_string_length(e) > 1024) ok = 0;
			}
			break;
		}
		if (!ok)
			return err_set(err, errlen, EV_EINVAL, "%s: %s field '%s' has the wrong type or is too long",
				       where, t->what, c->name);
	}
	return 0;
}

void bundle_bind_row(sqlite3_stmt *st, int first, const struct bundle_table *t, json_t *obj)
{
	for (size_t i = 0; i < t->n; i++) {
		int p = first + (int)i;
		json_t *v = json_object_get(obj, t->cols[i].name);
		if (!v || json_is_null(v)) {
			sqlite3_bind_null(st, p);
		} else if (json_is_string(v)) {
			sqlite3_bind_text(st, p, json_string_value(v), (int)json_string_length(v),
					  SQLITE_TRANSIENT);
		} else if (json_is_integer(v)) {
			if (t->cols[i].type == BC_REAL)
				sqlite3_bind_double(st, p, (double)json_integer_value(v));
			else
				sqlite3_bind_int64(st, p, json_integer_value(v));
		} else if (json_is_real(v)) {
			sqlite3_bind_double(st, p, json_real_value(v));
		} else {
			char *s = json_dumps(v, JSON_COMPACT);
			sqlite3_bind_text(st, p, s ? s : "null", -1, SQLITE_TRANSIENT);
			free(s);
		}
	}
}

/* ---- the manifest validator ---- */

void bundle_manifest_free(struct bundle_manifest *m)
{
	if (!m)
		return;
	json_decref(m->root);
	free(m->blobs);
	free(m);
}

/* A required string member of at most max bytes, or NULL. */
static const char *get_str(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return NULL;
	return json_string_value(v);
}

/* An optional array member of at most max entries: 0, or -1 when it is
 * there but not an array or too long. */
static int get_array(json_t *o, const char *key, size_t max, json_t **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		return -1;
	*out = v;
	return 0;
}

static int hex_lower_ok(const char *s)
{
	return s && sha256_hex_valid(s);
}

/*
 * A signature proves who sent a manifest, not that its values make sense:
 * an item or reading from a trusted device is still held to what evcap
 * itself writes, so that nothing absurd (a latitude of 999, a time that is
 * no time, a kind that is a path) enters the office's record as evidence.
 */
static const char *const item_kinds[] = {"photo", "video", "audio", "document", "data", "other"};

/* lat_k and lon_k both absent, or both a position on the globe. */
static int check_pos(json_t *o, const char *lat_k, const char *lon_k, const char *where, char *err,
		     size_t errlen)
{
	json_t *la = json_object_get(o, lat_k), *lo = json_object_get(o, lon_k);
	int has_la = la && !json_is_null(la), has_lo = lo && !json_is_null(lo);
	if (!has_la && !has_lo)
		return 0;
	double a = json_number_value(la), b = json_number_value(lo);
	if (has_la != has_lo || !(a >= -90 && a <= 90) || !(b >= -180 && b <= 180))
		return err_set(err, errlen, EV_EINVAL,
			       "%s: %s and %s are not a position (latitude -90 to 90, longitude "
			       "-180 to 180, both or neither)",
			       where, lat_k, lon_k);
	return 0;
}

/* Field k absent, or a UTC time as evcap writes it (ISO 8601). */
static int check_time(json_t *o, const char *k, const char *where, char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(o, k));
	double t;
	if (s && time_parse_iso(s, &t) != 0)
		return err_set(err, errlen, EV_EINVAL, "%s: %s \"%.40s\" is not an ISO 8601 time",
			       where, k, s);
	return 0;
}

static int check_item_values(json_t *it, const char *where, char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(it, "kind"));
	size_t k;
	for (k = 0; k < sizeof item_kinds / sizeof item_kinds[0]; k++)
		if (kind && strcmp(kind, item_kinds[k]) == 0)
			break;
	if (k == sizeof item_kinds / sizeof item_kinds[0])
		return err_set(err, errlen, EV_EINVAL,
			       "%s: kind \"%.40s\" is not one evcap records (photo, video, audio, "
			       "document, data, other)",
			       where, kind ? kind : "");
	static const char *const times[] = {"captured_at", "ingested_at", "gps_time", "xmp_time"};
	for (k = 0; k < sizeof times / sizeof times[0]; k++) {
		int rc = check_time(it, times[k], where, err, errlen);
		if (rc)
			return rc;
	}
	json_t *dir = json_object_get(it, "img_direction");
	if (dir && !json_is_null(dir) &&
	    !(json_number_value(dir) >= 0 && json_number_value(dir) < 360))
		return err_set(err, errlen, EV_EINVAL, "%s: img_direction is not 0 to 360 degrees",
			       where);
	int rc = check_pos(it, "lat", "lon", where, err, errlen);
	if (!rc)
		rc = check_pos(it, "exif_lat", "exif_lon", where, err, errlen);
	if (!rc)
		rc = check_pos(it, "xmp_lat", "xmp_lon", where, err, errlen);
	return rc;
}

/* The device's revision of an item's or a reading's fields (absent
 * before schema 44), where one is given. */
static int check_rev(json_t *o, const char *where, char *err, size_t errlen)
{
	json_t *rev = json_object_get(o, "rev");
	if (rev && !json_is_null(rev) && (!json_is_integer(rev) || json_integer_value(rev) < 0))
		return err_set(err, errlen, EV_EINVAL, "%s: rev must be a whole number, 0 or more",
			       where);
	return 0;
}

static int check_items(struct bundle_manifest *m, char *err, size_t errlen)
{
	size_t i, total_notes = 0;
	json_t *it;
	m->blobs = xcalloc(json_array_size(m->items) + 1, sizeof *m->blobs);
	json_array_foreach(m->items, i, it) {
		char where[64], key[BUNDLE_BLOB_KEY_LEN];
		snprintf(where, sizeof where, "item %zu", i + 1);
		int rc = bundle_check_row(it, &bundle_item_cols, where, err, errlen);
		if (!rc)
			rc = check_item_values(it, where, err, errlen);
		if (rc)
			return rc;
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		if (!hex_lower_ok(sha))
			return err_set(err, errlen, EV_EINVAL,
				       "%s: sha256 is not exactly 64 lowercase hex digits", where);
		json_int_t size = json_integer_value(json_object_get(it, "size"));
		if (size < 0 || (uint64_t)size > BUNDLE_MAX_BLOB_SIZE)
			return err_set(err, errlen, EV_EINVAL, "%s: size %lld is out of range", where,
				       (long long)size);
		/* the key is derived, never taken: a manifest naming any other
		 * place for the blob is refused */
		bundle_blob_key(sha, key);
		const char *blob = get_str(it, "blob", 256);
		if (!blob || strcmp(blob, key) != 0)
			return err_set(err, errlen, EV_EINVAL,
				       "%s: blob key '%.100s' is not the layout's key for its SHA-256",
				       where, blob ? blob : "(missing)");
		json_t *site = json_object_get(it, "site");
		if (site && !json_is_null(site) &&
		    (!json_is_string(site) || json_string_length(site) > 1024))
			return err_set(err, errlen, EV_EINVAL, "%s: site must be a name", where);
		if ((rc = check_rev(it, where, err, errlen)))
			return rc;
		json_t *notes;
		if (get_array(it, "notes", BUNDLE_MAX_NOTES, &notes))
			return err_set(err, errlen, EV_ELIMIT, "%s: notes must be an array of at most %d",
				       where, BUNDLE_MAX_NOTES);
		size_t k;
		json_t *note;
		json_array_foreach(notes, k, note) {
			if (++total_notes > BUNDLE_MAX_NOTES)
				return err_set(err, errlen, EV_ELIMIT, "more than %d notes",
					       BUNDLE_MAX_NOTES);
			rc = bundle_check_row(note, &bundle_note_cols, where, err, errlen);
			if (rc)
				return rc;
		}
		for (size_t j = 0; j < m->n_blobs; j++)
			if (!strcmp(m->blobs[j].sha256, sha))
				return err_set(err, errlen, EV_EINVAL, "%s: the same SHA-256 appears twice",
					       where);
		memcpy(m->blobs[m->n_blobs].sha256, sha, SHA256_HEX_LEN + 1);
		m->blobs[m->n_blobs].size = (uint64_t)size;
		m->n_blobs++;
	}
	return 0;
}

static int check_event(struct bundle_manifest *m, json_t *e, size_t i, int64_t *last_seq,
		       const char *last_hash, char *err, size_t errlen)
{
	json_t *jseq = json_object_get(e, "seq");
	const char *text = get_str(e, "event", BUNDLE_MAX_EVENT_TEXT);
	const char *prev = get_str(e, "prev_hash", 64);
	const char *hash = get_str(e, "hash", 64);
	char want[SHA256_HEX_LEN + 1];
	json_t *ev = NULL;
	int rc = 0;
	if (!json_is_integer(jseq) || !text || !hex_lower_ok(prev) || !hex_lower_ok(hash))
		return err_set(err, errlen, EV_EINVAL,
			       "custody event %zu: seq, event, prev_hash and hash are required", i + 1);
	int64_t seq = json_integer_value(jseq);
	if (seq <= *last_seq)
		return err_set(err, errlen, EV_EINVAL,
			       "custody event %lld: events must be in increasing order", (long long)seq);
	if (custody_hash(prev, text, json_string_length(json_object_get(e, "event")), want) ||
	    strcmp(want, hash) != 0)
		return err_set(err, errlen, EV_ECORRUPT,
			       "custody event %lld: its hash does not match its content", (long long)seq);
	/* consecutive events must link; gaps are other cases' events */
	if (seq == *last_seq + 1 && last_hash[0] && strcmp(prev, last_hash) != 0)
		return err_set(err, errlen, EV_ECORRUPT,
			       "custody event %lld does not link to event %lld", (long long)seq,
			       (long long)*last_seq);
	ev = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	json_t *eseq = json_object_get(ev, "seq");
	const char *eprev = get_str(ev, "prev", 64);
	const char *edev = get_str(ev, "device", 256);
	const char *ecase = get_str(ev, "case", BUNDLE_MAX_TEXT);
	if (!json_is_object(ev) || !json_is_integer(eseq) || json_integer_value(eseq) != seq ||
	    !eprev || strcmp(eprev, prev) != 0 || !edev || strcmp(edev, m->device_id) != 0 ||
	    !ecase || strcmp(ecase, m->case_number) != 0)
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "custody event %lld: its text disagrees with its seq, prev_hash, "
			     "device or case",
			     (long long)seq);
	json_decref(ev);
	*last_seq = seq;
	return rc;
}

static int check_custody(struct bundle_manifest *m, char *err, size_t errlen)
{
	json_t *c = json_object_get(m->root, "custody");
	int64_t last = 0;
	char last_hash[SHA256_HEX_LEN + 1] = "";
	if (!json_is_object(c) || get_array(c, "events", BUNDLE_MAX_EVENTS, &m->events))
		return err_set(err, errlen, EV_EINVAL,
			       "custody must be an object with at most %d events", BUNDLE_MAX_EVENTS);
	size_t i;
	json_t *e;
	json_array_foreach(m->events, i, e) {
		if (!json_is_object(e))
			return err_set(err, errlen, EV_EINVAL, "custody event %zu is not an object",
				       i + 1);
		int rc = check_event(m, e, i, &last, last_hash, err, errlen);
		if (rc)
			return rc;
		snprintf(last_hash, sizeof last_hash, "%s", get_str(e, "hash", 64));
	}
	json_t *head = json_object_get(c, "head");
	json_t *hseq = json_object_get(head, "seq");
	const char *hhash = get_str(head, "hash", 64);
	if (!json_is_integer(hseq) || !hex_lower_ok(hhash) || json_integer_value(hseq) < last)
		return err_set(err, errlen, EV_EINVAL, "custody head must give seq and hash");
	m->head_seq = json_integer_value(hseq);
	memcpy(m->head_hash, hhash, SHA256_HEX_LEN + 1);
	if (m->head_seq == last && last && strcmp(m->head_hash, last_hash) != 0)
		return err_set(err, errlen, EV_ECORRUPT,
			       "custody head does not match the last event it names");
	return 0;
}

/*
 * Whether a case number may be shown as it is: UTF-8 with no C0 control,
 * DEL or C1 control (U+0080 to U+009F, which some terminals obey too).
 * `evcap case open` takes no other, so a manifest holding one was not
 * written by evcap; refused, it never reaches the office's terminal.
 */
static int case_number_shows_safely(const char *n)
{
	size_t len = strlen(n);
	if (!utf8_valid(n, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)n[i];
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && (unsigned char)n[i + 1] >= 0x80 && (unsigned char)n[i + 1] <= 0x9f))
			return 0;
	}
	return 1;
}

int bundle_manifest_parse(const char *text, size_t n, const char *want_case_key,
			  const char *want_bundle_id, struct bundle_manifest **out, char *err,
			  size_t errlen)
{
	struct bundle_manifest *m = xcalloc(1, sizeof *m);
	json_error_t je;
	char key[64];
	int rc = 0;
	*out = NULL;
	if (n > BUNDLE_MANIFEST_MAX) {
		rc = err_set(err, errlen, EV_ELIMIT, "manifest is %zu bytes, more than the %zu allowed",
			     n, BUNDLE_MANIFEST_MAX);
		goto fail;
	}
	m->root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(m->root)) {
		rc = err_set(err, errlen, EV_EINVAL, "manifest is not a JSON object (line %d: %s)",
			     je.line, je.text);
		goto fail;
	}
	const char *fmt = get_str(m->root, "format", 64);
	json_t *ver = json_object_get(m->root, "format_version");
	if (!fmt || strcmp(fmt, BUNDLE_FORMAT) != 0 || !json_is_integer(ver)) {
		rc = err_set(err, errlen, EV_EINVAL, "not an evcap bundle manifest");
		goto fail;
	}
	if (json_integer_value(ver) != BUNDLE_FORMAT_VERSION) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest format version %lld is not %d (made by another evcap version?)",
			     (long long)json_integer_value(ver), BUNDLE_FORMAT_VERSION);
		goto fail;
	}
	m->bundle_id = get_str(m->root, "bundle_id", BUNDLE_ID_MAX);
	m->device_id = get_str(m->root, "device_id", 64);
	m->key_id = get_str(m->root, "public_key_id", 16);
	m->public_key = get_str(m->root, "public_key", 256);
	m->created_at = get_str(m->root, "created_at", 64);
	m->case_key = get_str(m->root, "case_key", 63);
	m->case_obj = json_object_get(m->root, "case");
	if (!m->bundle_id || !bundle_id_valid(m->bundle_id)) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest bundle id is missing or not of the layout's form");
		goto fail;
	}
	if (want_bundle_id && strcmp(m->bundle_id, want_bundle_id) != 0) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest names bundle %s but was found in bundle %.80s (moved or "
			     "copied under another name)",
			     m->bundle_id, want_bundle_id);
		goto fail;
	}
	if (!m->case_key || !bundle_case_key_valid(m->case_key)) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest case key is missing or not of the layout's form");
		goto fail;
	}
	if (want_case_key && strcmp(m->case_key, want_case_key) != 0) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest names case key %s but was found under case key %.80s (moved "
			     "or copied under another case)",
			     m->case_key, want_case_key);
		goto fail;
	}
	json_t *prev = json_object_get(m->root, "previous");
	m->previous = json_string_value(prev);
	if (prev && (!m->previous || !bundle_id_valid(m->previous) ||
		     !strcmp(m->previous, m->bundle_id))) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest previous is not the id of another bundle");
		goto fail;
	}
	if (!m->device_id || !id_valid(m->device_id, 64) || !m->key_id || !m->public_key ||
	    !m->created_at) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest lacks device_id, public_key_id, public_key or created_at");
		goto fail;
	}
	rc = bundle_check_row(m->case_obj, &bundle_case_cols, "manifest", err, errlen);
	if (rc)
		goto fail;
	m->case_number = json_string_value(json_object_get(m->case_obj, "number"));
	if (!case_number_shows_safely(m->case_number)) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest case number is not UTF-8 text free of control characters "
			     "(no evcap opens such a case)");
		goto fail;
	}
	store_case_key(m->case_number, key);
	if (strcmp(key, m->case_key) != 0) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "manifest case number does not belong to case key %s", m->case_key);
		goto fail;
	}
	if (get_array(m->root, "items", BUNDLE_MAX_ITEMS, &m->items) ||
	    get_array(m->root, "readings", BUNDLE_MAX_READINGS, &m->readings) ||
	    get_array(m->root, "sites", BUNDLE_MAX_SITES, &m->sites)) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "manifest items, readings or sites are not arrays within the limits "
			     "(%d, %d, %d)",
			     BUNDLE_MAX_ITEMS, BUNDLE_MAX_READINGS, BUNDLE_MAX_SITES);
		goto fail;
	}
	if ((rc = check_items(m, err, errlen)))
		goto fail;
	size_t i;
	json_t *r;
	json_array_foreach(m->readings, i, r) {
		char where[64];
		snprintf(where, sizeof where, "reading %zu", i + 1);
		if ((rc = bundle_check_row(r, &bundle_reading_cols, where, err, errlen)) ||
		    (rc = check_pos(r, "lat", "lon", where, err, errlen)) ||
		    (rc = check_time(r, "time", where, err, errlen)))
			goto fail;
		if (!hex_lower_ok(json_string_value(json_object_get(r, "raw_sha256")))) {
			rc = err_set(err, errlen, EV_EINVAL, "%s: raw_sha256 is not 64 hex digits", where);
			goto fail;
		}
		if ((rc = check_rev(r, where, err, errlen)))
			goto fail;
	}
	json_array_foreach(m->sites, i, r) {
		char where[64];
		snprintf(where, sizeof where, "site %zu", i + 1);
		if ((rc = bundle_check_row(r, &bundle_site_cols, where, err, errlen)) ||
		    (rc = check_pos(r, "lat", "lon", where, err, errlen)))
			goto fail;
	}
	/* optional: the device's track around the bundle's items */
	if (get_array(m->root, "fixes", BUNDLE_MAX_FIXES, &m->fixes)) {
		rc = err_set(err, errlen, EV_ELIMIT, "manifest fixes are not an array of at most %d",
			     BUNDLE_MAX_FIXES);
		goto fail;
	}
	json_array_foreach(m->fixes, i, r) {
		char where[64];
		snprintf(where, sizeof where, "fix %zu", i + 1);
		if ((rc = bundle_check_row(r, &bundle_fix_cols, where, err, errlen)))
			goto fail;
		double t = json_number_value(json_object_get(r, "t"));
		double lat = json_number_value(json_object_get(r, "lat"));
		double lon = json_number_value(json_object_get(r, "lon"));
		json_int_t mode = json_integer_value(json_object_get(r, "mode"));
		if (!isfinite(t) || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) ||
		    mode < 2 || mode > 3) {
			rc = err_set(err, errlen, EV_EINVAL,
				     "%s: time, latitude, longitude or mode out of range", where);
			goto fail;
		}
	}
	if ((rc = check_custody(m, err, errlen)))
		goto fail;
	*out = m;
	return 0;
fail:
	bundle_manifest_free(m);
	return rc;
}
