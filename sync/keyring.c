/*
 * Lookups and the one rule of trusted_keys: a key signs only for the
 * device it is tied to, and a device's bundles are signed only by its key
 * in use. The table is small (one row a device), so these are plain
 * lookups by its primary key and by its partial unique index on device_id.
 */
#include "keyring.h"

#include <stdio.h>
#include <string.h>

static void col(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const char *v = (const char *)sqlite3_column_text(st, i);
	snprintf(out, n, "%s", v ? v : "");
}

#define KEY_COLS "key_id, public_key, device_id, bound_at, bound_how, replaced_by, replaced_at"

static int get_one(struct store *s, const char *sql, const char *arg, struct keyring_key *k,
		   char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	int r, found = 0;
	if (!st)
		return EV_EDB;
	memset(k, 0, sizeof *k);
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		col(st, 0, k->key_id, sizeof k->key_id);
		col(st, 1, k->public_key, sizeof k->public_key);
		col(st, 2, k->device_id, sizeof k->device_id);
		col(st, 3, k->bound_at, sizeof k->bound_at);
		col(st, 4, k->bound_how, sizeof k->bound_how);
		col(st, 5, k->replaced_by, sizeof k->replaced_by);
		col(st, 6, k->replaced_at, sizeof k->replaced_at);
		found = 1;
	} else if (r != SQLITE_DONE) {
		found = err_set(err, errlen, EV_EDB, "cannot read the trusted keys: %s",
				sqlite3_errmsg(store_db(s)));
	}
	sqlite3_finalize(st);
	return found;
}

int keyring_get(struct store *s, const char *key_id, struct keyring_key *k, char *err,
		size_t errlen)
{
	return get_one(s, "SELECT " KEY_COLS " FROM trusted_keys WHERE key_id = ?", key_id, k, err,
		       errlen);
}

int keyring_device_key(struct store *s, const char *device_id, struct keyring_key *k,
		       char *err, size_t errlen)
{
	return get_one(s,
		       "SELECT " KEY_COLS " FROM trusted_keys"
		       " WHERE device_id = ? AND replaced_by IS NULL",
		       device_id, k, err, errlen);
}

int keyring_check(struct store *s, const char *key_id, const char *device_id, int *bind,
		  char *err, size_t errlen)
{
	struct keyring_key k, dk;
	int have, dhave;
	*bind = 0;
	if ((have = keyring_get(s, key_id, &k, err, errlen)) < 0)
		return have;
	if (have && k.replaced_by[0])
		return err_set(err, errlen, EV_EAUTH,
			       "key %s of device %s was replaced by key %s on %s; bundles it signs "
			       "are no longer accepted (pull them before replacing a key that is "
			       "lost, not stolen)",
			       key_id, k.device_id[0] ? k.device_id : "(none)", k.replaced_by,
			       k.replaced_at);
	if ((dhave = keyring_device_key(s, device_id, &dk, err, errlen)) < 0)
		return dhave;
	if (have && k.device_id[0] && strcmp(k.device_id, device_id) != 0) {
		char theirs[128];
		if (dhave)
			snprintf(theirs, sizeof theirs, "device %.64s's own key is %s", device_id,
				 dk.key_id);
		else
			snprintf(theirs, sizeof theirs, "device %.64s has no key here yet",
				 device_id);
		return err_set(err, errlen, EV_EAUTH,
			       "the manifest names device %s, but the key that signed it, %s, "
			       "belongs to device %s (%s); a key signs only for its own device, so "
			       "this is not a bundle of device %s, and %s. If device %s is real, "
			       "trust its own key: 'evcap key show' on it, then 'evcap key trust "
			       "FILE'",
			       device_id, key_id, k.device_id, k.bound_how, device_id, theirs,
			       device_id);
	}
	if (have && k.device_id[0])
		return 0; /* its own device */
	if (dhave && strcmp(dk.key_id, key_id) != 0)
		return err_set(err, errlen, EV_EAUTH,
			       "device %s signs with key %s (%s), but this bundle is signed by "
			       "key %s; refused. If device %s really has a new key (its "
			       "keys/device.key was made again), compare %s with 'evcap key show' "
			       "on that device, then run 'evcap key trust FILE --replaces %s'",
			       device_id, dk.key_id, dk.bound_how, key_id, device_id, key_id,
			       dk.key_id);
	*bind = 1;
	return 0;
}

int keyring_add(struct store *s, const char *key_id, const char *public_key,
		const char *comment, const char *device_id, const char *how,
		const char *now_iso, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s,
					 "INSERT INTO trusted_keys(key_id, public_key, comment,"
					 " added_at, device_id, bound_at, bound_how)"
					 " VALUES (?, ?, ?, ?, ?, ?, ?)",
					 err, errlen);
	int rc = 0;
	if (!st)
		return EV_EDB;
	const char *v[] = {key_id, public_key, comment, now_iso, device_id,
			   device_id ? now_iso : NULL, device_id ? how : NULL};
	for (int i = 0; i < 7; i++)
		if (v[i])
			sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot record trusted key %s: %s", key_id,
			     sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	return rc;
}

int keyring_bind(struct store *s, const char *key_id, const char *device_id, const char *how,
		 const char *now_iso, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s,
					 "UPDATE OR IGNORE trusted_keys SET device_id = ?,"
					 " bound_at = ?, bound_how = ?"
					 " WHERE key_id = ? AND device_id IS NULL",
					 err, errlen);
	int rc = 0;
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now_iso, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, how, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "cannot tie key %s to device %s: %s", key_id,
			     device_id, sqlite3_errmsg(store_db(s)));
	else if (sqlite3_changes(store_db(s)) != 1)
		rc = err_set(err, errlen, EV_EEXIST,
			     "key %s is tied to a device already, or device %s has another key",
			     key_id, device_id);
	sqlite3_finalize(st);
	return rc;
}
