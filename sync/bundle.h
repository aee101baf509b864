/*
 * The bundle format (docs/bundle-format.md, format 1): key names of the
 * layout shared by every target, the column lists that say which fields
 * of cases, sites, items, notes and readings travel in a manifest, and the
 * bounded parser that validates a manifest pulled from outside before any
 * of it is used. Nothing in a manifest is ever used as a local path or an
 * SQL fragment: keys are re-derived from validated SHA-256 values, values
 * are bound as parameters.
 */
#ifndef EVCAP_BUNDLE_H
#define EVCAP_BUNDLE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "util.h"

#define BUNDLE_FORMAT "evcap-bundle"
#define BUNDLE_FORMAT_VERSION 1

/* Caps on what a pulled manifest may hold. */
#define BUNDLE_MANIFEST_MAX ((size_t)16 << 20)
#define BUNDLE_MAX_ITEMS 50000
#define BUNDLE_MAX_NOTES 100000
#define BUNDLE_MAX_READINGS 200000
#define BUNDLE_MAX_SITES 10000
#define BUNDLE_MAX_EVENTS 200000
#define BUNDLE_MAX_FIXES 100000    /* GPS fixes: more than a day at 1 Hz */
#define BUNDLE_MAX_TEXT 65536      /* longest string field */
#define BUNDLE_MAX_EVENT_TEXT 262144 /* longest custody event text */
#define BUNDLE_MAX_BLOB_SIZE ((uint64_t)1 << 45) /* 32 TiB: a sanity bound */

/* "blobs/sha256/ab/cd/<64 hex>" */
#define BUNDLE_BLOB_KEY_LEN 84
#define BUNDLE_ID_MAX 100

#define BUNDLE_MANIFEST "manifest.json"
#define BUNDLE_SIGNATURE "manifest.json.minisig"
#define BUNDLE_COMMITTED "COMMITTED"

void bundle_blob_key(const char *sha_hex, char out[BUNDLE_BLOB_KEY_LEN]);
/* "cases/<case key>/bundles/" (malloc'd) */
char *bundle_case_prefix(const char *case_key);
/* "cases/<case key>/bundles/<bundle id>/<name>" (malloc'd) */
char *bundle_object_key(const char *case_key, const char *bundle_id, const char *name);

/* 1 if s is a bundle id / case key of the layout: [a-z0-9][a-z0-9._-]*,
 * at most BUNDLE_ID_MAX (case key: 63) bytes, no "..". */
int bundle_id_valid(const char *s);
int bundle_case_key_valid(const char *s);

/* A new bundle id: "YYYYMMDD-HHMMSS-<8 hex of device>-<8 random hex>",
 * so ids sort by creation time. */
void bundle_new_id(double now, const char *device_id, char out[64]);

/* A column of a row that travels in a manifest. */
enum bundle_coltype { BC_TEXT, BC_INT, BC_REAL, BC_JSON };
struct bundle_col {
	const char *name; /* both the column and the JSON field name */
	enum bundle_coltype type;
	int required;     /* must be present and not null */
};
struct bundle_table {
	const char *what; /* "item", "reading", ... for messages */
	const struct bundle_col *cols;
	size_t n;
};
extern const struct bundle_table bundle_case_cols, bundle_site_cols, bundle_item_cols,
	bundle_note_cols, bundle_reading_cols, bundle_fix_cols;

/* "p.a, p.b, ..." for a SELECT, or "a, b, ..." with prefix NULL (malloc'd). */
char *bundle_col_list(const struct bundle_table *t, const char *prefix);
/* A JSON object of columns first.. of a result row, in the table's order. */
json_t *bundle_row_json(sqlite3_stmt *st, int first, const struct bundle_table *t);
/* Checks an object's fields against the table (types, required, length
 * caps; unknown fields are ignored). 0 or EV_EINVAL naming the field. */
int bundle_check_row(json_t *obj, const struct bundle_table *t, const char *where, char *err,
		     size_t errlen) WUR;
/* Binds the object's fields to parameters first.. in the table's order. */
void bundle_bind_row(sqlite3_stmt *st, int first, const struct bundle_table *t, json_t *obj);

/* A blob a manifest names. */
struct bundle_blob {
	char sha256[SHA256_HEX_LEN + 1];
	uint64_t size;
};

/* A validated manifest. Strings point into root; root stays owned. */
struct bundle_manifest {
	json_t *root;
	const char *bundle_id;
	const char *device_id;
	const char *key_id;
	const char *public_key;
	const char *created_at;
	const char *case_number;
	const char *case_key;
	const char *previous; /* the bundle its device sent before it for the case
			       * to the same target; NULL when none is named */
	json_t *case_obj, *sites, *items, *readings, *events;
	json_t *fixes; /* the device's GPS fixes around the bundle's items; may be NULL */
	struct bundle_blob *blobs; /* one per item, distinct */
	size_t n_blobs;
	int64_t head_seq;
	char head_hash[SHA256_HEX_LEN + 1];
};

/*
 * Parses and validates manifest text of n bytes: the format and version,
 * the bundle id and case key (which must equal the expected ones, taken
 * from where the manifest was found), the case number (whose key must be
 * the case key), every item (SHA-256 of exactly 64 lowercase hex digits,
 * its blob key exactly the derived one, size bounded, fields typed), the
 * readings, sites and notes, and every custody event (its hash recomputed
 * from prev_hash and the event text, its seq, prev, device and case equal
 * to the manifest's). Any violation: EV_EINVAL / EV_ELIMIT / EV_ECORRUPT
 * with the reason, and *out NULL.
 */
int bundle_manifest_parse(const char *text, size_t n, const char *want_case_key,
			  const char *want_bundle_id, struct bundle_manifest **out, char *err,
			  size_t errlen) WUR;
void bundle_manifest_free(struct bundle_manifest *m);

#endif
