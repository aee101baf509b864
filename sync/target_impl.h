/*
 * The backend side of the target interface: each backend fills a table of
 * operations; target.c checks keys and dispatches. Only sync/target*.c
 * include this.
 */
#ifndef EVCAP_TARGET_IMPL_H
#define EVCAP_TARGET_IMPL_H

#include "target.h"

struct target_ops {
	int (*stat)(void *impl, const char *key, const char *sha_hex, uint64_t size,
		    int *present, char *err, size_t errlen);
	int (*put_file)(void *impl, const char *key, const char *path, const char *sha_hex,
			uint64_t size, const struct target_journal *j, int *existed, char *err,
			size_t errlen);
	int (*put_buf)(void *impl, const char *key, const void *p, size_t n, char *err,
		       size_t errlen);
	int (*get)(void *impl, const char *key, uint64_t offset, uint64_t max, target_sink sink,
		   void *ctx, char *err, size_t errlen);
	int (*list)(void *impl, const char *prefix, size_t max_keys, target_each each, void *ctx,
		    char *err, size_t errlen);
	const char *(*info)(void *impl);
	/* NULL: the URL names the target for good (a bucket); else the
	 * target's own id, made on it the first time */
	int (*identity)(void *impl, int create, char *id, size_t idlen, char *err, size_t errlen);
	unsigned (*retries)(void *impl); /* NULL: never retries */
	/* NULL: nothing is read ahead */
	void (*prefetch)(void *impl, const char *path, const char *sha_hex, uint64_t size);
	void (*free)(void *impl);
};

/* Backends: parse the part of the URL after the scheme. */
int target_dir_open(const char *path, const struct target_opts *o, void **impl,
		    const struct target_ops **ops, char *err, size_t errlen);
int target_s3_open(const char *bucket_prefix, const struct target_opts *o, void **impl,
		   const struct target_ops **ops, char *err, size_t errlen);

#endif
