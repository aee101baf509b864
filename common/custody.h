/*
 * The custody log: every action on evidence appends one event, chained by
 * hash = SHA-256(prev_hash || canonical event), where prev_hash is the raw
 * 32 bytes of the previous event's hash (32 zero bytes for the first) and
 * the canonical event is compact JSON with sorted keys:
 *   {"action":..,"actor":..,"at":..,"case":..,"detail":{..},"device":..,
 *    "item":..,"prev":"<hex>","seq":N}
 * Rows are append-only (triggers refuse UPDATE and DELETE).
 */
#ifndef EVCAP_CUSTODY_H
#define EVCAP_CUSTODY_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

/*
 * Appends an event. Call it inside the caller's transaction so the event
 * and the change it records commit together. case_number and item_sha256
 * may be NULL; detail is borrowed (may be NULL) and must be a JSON object.
 * `at` is the event time in UTC seconds (pass time_now()).
 * On success, if hash_out is non-NULL it receives the new hash (hex).
 */
int custody_append(struct store *s, double at, const char *actor, const char *action,
		   const char *case_number, const char *item_sha256, json_t *detail,
		   char hash_out[SHA256_HEX_LEN + 1], char *err, size_t errlen) WUR;

/* The canonical text of an event (malloc'd), shared by append, verify and
 * the bundle code that re-checks foreign chains. */
char *custody_canonical(int64_t seq, const char *at_iso, const char *actor, const char *action,
			const char *case_number, const char *item_sha256, json_t *detail,
			const char *device_id, const char *prev_hex);

/* hash = SHA-256(raw(prev_hex) || canonical); 0 or EV_EINVAL on bad hex. */
int custody_hash(const char *prev_hex, const char *canonical, size_t len,
		 char out[SHA256_HEX_LEN + 1]) WUR;

/* The head of the chain (hex) and its seq; "" and 0 for an empty log. */
int custody_head(struct store *s, char head[SHA256_HEX_LEN + 1], int64_t *seq) WUR;

/* Re-walks the whole chain. For each broken link or event whose columns
 * disagree with its hashed text, calls report(ctx, seq, message). Returns
 * the number of problems found (0 = intact) or a negative error. */
int custody_verify(struct store *s, void (*report)(void *ctx, int64_t seq, const char *msg),
		   void *ctx, char *err, size_t errlen);

/*
 * Re-walks the custody events other devices' bundles brought
 * (foreign_custody, filled by pull): each event's hash over its text, its
 * seq, device and link fields against its columns, and each link between
 * two consecutive events of a device (a device's events of cases not
 * pulled here leave gaps, which are not problems). Reports as
 * custody_verify does; *events and *devices (either may be NULL) get what
 * was walked. Returns the number of problems or a negative error.
 */
int custody_verify_foreign(struct store *s,
			   void (*report)(void *ctx, int64_t seq, const char *msg), void *ctx,
			   int64_t *events, int64_t *devices, char *err, size_t errlen);

#endif
