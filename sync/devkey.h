/*
 * The device key: one Ed25519 key pair per store, made by `evcap init` and
 * kept in <store>/keys/ (device.key mode 0600, device.pub in minisign's .pub
 * format). Field devices sign bundle manifests with it; the office trusts
 * the public half with `evcap key trust`.
 */
#ifndef EVCAP_DEVKEY_H
#define EVCAP_DEVKEY_H

#include <stddef.h>

#include "minisign.h"
#include "util.h"

#define DEVKEY_DIR "keys"
#define DEVKEY_SECRET "device.key"
#define DEVKEY_PUBLIC "device.pub"

/* Creates the key pair under store_dir/keys unless it exists (idempotent;
 * a missing device.pub is rewritten from the secret key). *created (may be
 * NULL) tells whether a new pair was made. The secret never leaves this
 * function except in its 0600 file. */
int devkey_ensure(const char *store_dir, int *created, char *err, size_t errlen) WUR;

/* Loads the secret key; the caller wipes it with minisign_secret_wipe.
 * Refuses a key file readable by group or others. */
int devkey_load_secret(const char *store_dir, struct minisign_secret *sec, char *err,
		       size_t errlen) WUR;

/* Loads the public key. */
int devkey_load_pub(const char *store_dir, struct minisign_pub *pub, char *err,
		    size_t errlen) WUR;

/*
 * The public key as `evcap key show` prints it: minisign's .pub format,
 * with the device id in the untrusted comment
 * ("untrusted comment: minisign public key KEYID of evcap device DEVICE"),
 * so that `evcap key trust` can tie the key to its device when it is
 * trusted. minisign ignores the comment. 0, or EV_ELIMIT.
 */
int devkey_pub_text(const struct minisign_pub *pub, const char *device_id, struct buf *out) WUR;

/* Longest device id accepted from a key file or a manifest. */
#define DEVKEY_DEVICE_MAX 64

/*
 * The device id that the untrusted comment of a .pub text names (what
 * devkey_pub_text writes): 1 and out filled, 0 when the comment names
 * none (a plain minisign key file), -1 when it names one that is not
 * 1..64 lowercase hex digits.
 */
int devkey_pub_device(const char *text, size_t n, char out[DEVKEY_DEVICE_MAX + 1]);

/* 1 when s is a device id as stores make them: 1..64 lowercase hex. */
int devkey_device_id_valid(const char *s);

/* The path of the public key file (malloc'd). */
char *devkey_pub_path(const char *store_dir);

#endif
