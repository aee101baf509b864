/*
 * The hash-chained custody log. The event text that is hashed is stored
 * verbatim, so verification never depends on re-serialising rows the same
 * way; the plain columns are copies for queries and are checked against it.
 */
#include "custody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static const char zero_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

char *custody_canonical(int64_t seq, const char *at_iso, const char *actor, const char *action,
			const char *case_number, const char *item_sha256, json_t *detail,
			const char *device_id, const char *prev_hex)
{
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer(seq));
	json_object_set_new(o, "at", json_string(at_iso));
	json_object_set_new(o, "actor", actor ? json_string(actor) : json_null());
	json_object_set_new(o, "action", json_string(action));
	json_object_set_new(o, "case", case_number ? json_string(case_number) : json_null());
	json_object_set_new(o, "item", item_sha256 ? json_string(item_sha256) : json_null());
	if (detail)
		json_object_set(o, "detail", detail);
	else
		json_object_set_new(o, "detail", json_object());
	json_object_set_new(o, "device", json_string(device_id));
	json_object_set_new(o, "prev", json_string(prev_hex));
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!text)
		abort(); /* only on allocation failure or invalid UTF-8 we checked for */
	return text;
}

int custody_hash(const char *prev_hex, const char *canonical, size_t len,
		 char out[SHA256_HEX_LEN + 1])
{
	uint8_t prev[SHA256_LEN];
	if (hex_decode(prev_hex, prev, SHA256_LEN))
		return EV_EINVAL;
	struct sha256 *h = sha256_new();
	sha256_update(h, prev, sizeof prev);
	sha256_update(h, canonical, len);
	uint8_t d[SHA256_LEN];
	sha256_final(h, d);
	sha256_free(h);
	hex_encode(d, SHA256_LEN, out);
	return 0;
}

int custody_head(struct store *s, char head[SHA256_HEX_LEN + 1], int64_t *seq)
{
	head[0] = '\0';
	*seq = 0;
	sqlite3_stmt *st =
		store_prepare(s, "SELECT seq, hash FROM custody ORDER BY seq DESC LIMIT 1", NULL, 0);
	if (!st)
		return EV_EDB;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		snprintf(head, SHA256_HEX_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : EV_EDB;
}

static int valid_text(const char *s)
{
	return !s || utf8_valid(s, strlen(s));
}

int custody_append(struct store *s, double at, const char *actor, const char *action,
		   const char *case_number, const char *item_sha256, json_t *detail,
		   char hash_out[SHA256_HEX_LEN + 1], char *err, size_t errlen)
{
	int rc = 0;
	char *text = NULL;
	sqlite3_stmt *st = NULL;
	char prev[SHA256_HEX_LEN + 1], hash[SHA256_HEX_LEN + 1], at_iso[32];
	int64_t seq;

	if (!valid_text(actor) || !valid_text(case_number) || !valid_text(action))
		return err_set(err, errlen, EV_EINVAL, "custody event text is not valid UTF-8");
	if (detail && !json_is_object(detail))
		return err_set(err, errlen, EV_EINVAL, "custody event detail must be an object");
	if ((rc = custody_head(s, prev, &seq)))
		return err_set(err, errlen, rc, "cannot read the custody log: %s",
			       sqlite3_errmsg(store_db(s)));
	if (!prev[0])
		memcpy(prev, zero_hash, sizeof zero_hash);
	seq++;
	time_format_iso(at, at_iso);
	text = custody_canonical(seq, at_iso, actor, action, case_number, item_sha256, detail,
				 store_device_id(s), prev);
	if ((rc = custody_hash(prev, text, strlen(text), hash)))
		goto out;
	st = store_prepare(s,
			   "INSERT INTO custody(seq, at, actor, action, case_number, item_sha256,"
			   " device_id, event, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, at_iso, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, case_number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, item_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, store_device_id(s), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "cannot append to the custody log: %s",
			     sqlite3_errmsg(store_db(s)));
		goto out;
	}
	if (hash_out)
		memcpy(hash_out, hash, sizeof hash);
out:
	sqlite3_finalize(st);
	free(text);
	return rc;
}

/* Compares a column with the same field of the hashed event text. */
static int field_matches(json_t *ev, const char *key, const char *col)
{
	json_t *v = json_object_get(ev, key);
	if (!col)
		return !v || json_is_null(v);
	return json_is_string(v) && strcmp(json_string_value(v), col) == 0;
}

int custody_verify(struct store *s, void (*report)(void *ctx, int64_t seq, const char *msg),
		   void *ctx, char *err, size_t errlen)
{
	int problems = 0;
	char prev[SHA256_HEX_LEN + 1];
	char msg[512];
	int64_t expect_seq = 1;
	memcpy(prev, zero_hash, sizeof zero_hash);
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT seq, at, actor, action, case_number, item_sha256,"
					 " device_id, event, prev_hash, hash FROM custody ORDER BY seq",
					 err, errlen);
	if (!st)
		return EV_EDB;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *cols[6];
		for (int i = 0; i < 6; i++)
			cols[i] = (const char *)sqlite3_column_text(st, 1 + i);
		const char *event = (const char *)sqlite3_column_text(st, 7);
		int event_len = sqlite3_column_bytes(st, 7);
		const char *prev_col = (const char *)sqlite3_column_text(st, 8);
		const char *hash_col = (const char *)sqlite3_column_text(st, 9);
		char want[SHA256_HEX_LEN + 1];

		if (seq != expect_seq) {
			snprintf(msg, sizeof msg, "custody event %lld is missing (found %lld next)",
				 (long long)expect_seq, (long long)seq);
			report(ctx, expect_seq, msg);
			problems++;
		}
		expect_seq = seq + 1;
		if (!prev_col || strcmp(prev_col, prev) != 0) {
			snprintf(msg, sizeof msg,
				 "custody event %lld does not link to the event before it",
				 (long long)seq);
			report(ctx, seq, msg);
			problems++;
		}
		if (!event || !hash_col || custody_hash(prev_col ? prev_col : zero_hash, event,
							(size_t)event_len, want) ||
		    strcmp(want, hash_col) != 0) {
			snprintf(msg, sizeof msg,
				 "custody event %lld has been altered: its hash does not match its "
				 "content",
				 (long long)seq);
			report(ctx, seq, msg);
			problems++;
		} else {
			json_error_t je;
			json_t *ev = json_loads(event, 0, &je);
			json_t *jseq = ev ? json_object_get(ev, "seq") : NULL;
			if (!ev || !json_is_integer(jseq) || json_integer_value(jseq) != seq ||
			    !field_matches(ev, "at", cols[0]) || !field_matches(ev, "actor", cols[1]) ||
			    !field_matches(ev, "action", cols[2]) || !field_matches(ev, "case", cols[3]) ||
			    !field_matches(ev, "item", cols[4]) || !field_matches(ev, "device", cols[5]) ||
			    !field_matches(ev, "prev", prev_col)) {
				snprintf(msg, sizeof msg,
					 "custody event %lld has been altered: its columns disagree "
					 "with the hashed event",
					 (long long)seq);
				report(ctx, seq, msg);
				problems++;
			}
			json_decref(ev);
		}
		snprintf(prev, sizeof prev, "%s", hash_col ? hash_col : zero_hash);
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return err_set(err, errlen, EV_EDB, "cannot read the custody log: %s",
			       sqlite3_errmsg(store_db(s)));
	return problems;
}

int custody_verify_foreign(struct store *s,
			   void (*report)(void *ctx, int64_t seq, const char *msg), void *ctx,
			   int64_t *events, int64_t *devices, char *err, size_t errlen)
{
	int problems = 0, r;
	int64_t n = 0, nd = 0, last_seq = 0;
	char msg[640], last_dev[128] = "", last_hash[SHA256_HEX_LEN + 1] = "";
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT device_id, seq, event, prev_hash, hash FROM"
					 " foreign_custody ORDER BY device_id, seq",
					 err, errlen);
	if (!st)
		return EV_EDB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dev = (const char *)sqlite3_column_text(st, 0);
		int64_t seq = sqlite3_column_int64(st, 1);
		const char *event = (const char *)sqlite3_column_text(st, 2);
		int event_len = sqlite3_column_bytes(st, 2);
		const char *prev_col = (const char *)sqlite3_column_text(st, 3);
		const char *hash_col = (const char *)sqlite3_column_text(st, 4);
		char want[SHA256_HEX_LEN + 1];
		dev = dev ? dev : "";
		n++;
		if (strcmp(dev, last_dev) != 0) {
			nd++;
			snprintf(last_dev, sizeof last_dev, "%s", dev);
			last_seq = 0;
		}
		if (last_seq && seq == last_seq + 1 && (!prev_col || strcmp(prev_col, last_hash) != 0)) {
			snprintf(msg, sizeof msg,
				 "custody event %lld of device %.32s does not link to the event before it",
				 (long long)seq, dev);
			report(ctx, seq, msg);
			problems++;
		}
		if (!event || !hash_col || !prev_col ||
		    custody_hash(prev_col, event, (size_t)event_len, want) ||
		    strcmp(want, hash_col) != 0) {
			snprintf(msg, sizeof msg,
				 "custody event %lld of device %.32s has been altered: its hash does "
				 "not match its content",
				 (long long)seq, dev);
			report(ctx, seq, msg);
			problems++;
		} else {
			json_t *ev = json_loads(event, 0, NULL);
			json_t *jseq = ev ? json_object_get(ev, "seq") : NULL;
			if (!ev || !json_is_integer(jseq) || json_integer_value(jseq) != seq ||
			    !field_matches(ev, "device", dev) || !field_matches(ev, "prev", prev_col)) {
				snprintf(msg, sizeof msg,
					 "custody event %lld of device %.32s has been altered: its "
					 "columns disagree with the hashed event",
					 (long long)seq, dev);
				report(ctx, seq, msg);
				problems++;
			}
			json_decref(ev);
		}
		last_seq = seq;
		snprintf(last_hash, sizeof last_hash, "%s", hash_col ? hash_col : "");
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return err_set(err, errlen, EV_EDB, "cannot read the other devices' custody events: %s",
			       sqlite3_errmsg(store_db(s)));
	if (events)
		*events = n;
	if (devices)
		*devices = nd;
	return problems;
}
