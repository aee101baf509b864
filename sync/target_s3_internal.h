/*
 * What target_s3.c does with the bytes of an answer alone, with no request
 * made: declared here for the unit tests, which feed it answers no real
 * server would send. Only target_s3.c and tests/unit include this.
 */
#ifndef EVCAP_TARGET_S3_INTERNAL_H
#define EVCAP_TARGET_S3_INTERNAL_H

#include <stddef.h>

#include "target.h"
#include "util.h"

/* What a listing is of (all borrowed). */
struct s3_list_page {
	const char *target;  /* the target, for messages: "s3://bucket/prefix" */
	const char *tprefix; /* the target's own prefix: "" or "a/b/" */
	const char *prefix;  /* what was listed, below tprefix: "cases/K/bundles/" */
	size_t max_keys;     /* entries a whole listing may have (EV_ELIMIT beyond) */
};

/* The longest continuation token taken (as the server wrote it): it
 * goes back in the next request's URL. AWS's are some 100 bytes; a
 * server may carry the last key in it (at most 1024 bytes), encoded. */
#define S3_LIST_TOKEN_MAX 4096

/*
 * Reads one page of a ListObjectsV2 answer, xml[0..n), asked for with the
 * continuation token `asked` (NULL for the first page): passes each entry
 * to each, named below tprefix (marked `foreign` when not a key of the
 * layout), counting them in *count across pages. Each key is decoded
 * once, whatever its length. *next is the continuation token (malloc'd)
 * when the page says more follow, else NULL.
 * An answer that cannot be read whole (not a ListBucketResult, an entry
 * with no key or two, one not closed, a key with a NUL byte or outside
 * tprefix + prefix, more promised with no token, one too long, one
 * holding a NUL byte or the one asked with again) is EV_ERR, with a message naming the target and
 * showing what the server sent; entries before it may have been passed
 * on already.
 */
int s3_list_page(const char *xml, size_t n, const struct s3_list_page *lp, const char *asked,
		 size_t *count, target_each each, void *ctx, char **next, char *err,
		 size_t errlen) WUR;

#endif
