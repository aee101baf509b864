/*
 * The office's trusted device keys (trusted_keys) and the device each one
 * is tied to. A device signs its bundles with its own key, and a bundle's
 * manifest names the device; without a tie between the two, the holder of
 * any trusted key could write bundles, custody events included, in the
 * name of any device. So each key belongs to one device, and each device
 * has one key in use (docs/sync.md, "Keys and devices").
 */
#ifndef EVCAP_KEYRING_H
#define EVCAP_KEYRING_H

#include <stddef.h>

#include "devkey.h"
#include "minisign.h"
#include "store.h"
#include "util.h"

/* A trusted key's row; empty strings for what is not set. */
struct keyring_key {
	char key_id[MINISIGN_KEYID_HEX];
	char public_key[128];
	char device_id[DEVKEY_DEVICE_MAX + 1]; /* "" when not tied to a device yet */
	char bound_at[32];
	char bound_how[160];
	char replaced_by[MINISIGN_KEYID_HEX]; /* "" while the key is in use */
	char replaced_at[32];
};

/* Looks up key_id: 1 found (*k filled), 0 not trusted, EV_EDB (err). */
int keyring_get(struct store *s, const char *key_id, struct keyring_key *k, char *err,
		size_t errlen) WUR;

/* The key in use tied to device_id: 1 found, 0 none, EV_EDB (err). */
int keyring_device_key(struct store *s, const char *device_id, struct keyring_key *k,
		       char *err, size_t errlen) WUR;

/*
 * May key_id sign a bundle of device_id? The key need not be trusted yet
 * (pull --trust-new asks before it trusts it). 0 when it may; *bind is
 * then 1 when the key is tied to no device yet and should be tied to this
 * one. EV_EAUTH with a message naming the device, both keys and what to
 * do when the key was replaced, is tied to another device, or the device
 * has another key; EV_EDB on a store error.
 */
int keyring_check(struct store *s, const char *key_id, const char *device_id, int *bind,
		  char *err, size_t errlen) WUR;

/* Ties a trusted key with no device to device_id (`how` says how, for the
 * record). Inside the caller's transaction; the caller records the custody
 * event. 0, EV_EEXIST when the key is tied already or the device has
 * another key in use, or EV_EDB. */
/* Adds a trusted key, tied to device_id (with `how`) or to none (NULL),
 * added and tied at now_iso. 0, or EV_EDB with the reason. */
int keyring_add(struct store *s, const char *key_id, const char *public_key,
		const char *comment, const char *device_id, const char *how,
		const char *now_iso, char *err, size_t errlen) WUR;

int keyring_bind(struct store *s, const char *key_id, const char *device_id, const char *how,
		 const char *now_iso, char *err, size_t errlen) WUR;

#endif
