/*
 * A sync target: somewhere bundles are written to and pulled from, named by
 * a URL: "dir:/path" (a USB disk, an NFS mount) or "s3://bucket/prefix" (any
 * S3-compatible store). Both speak in keys of the bundle layout (letters,
 * digits, '/', '.', '_', '-': nothing that needs encoding, see bundle.h);
 * neither ever overwrites an object.
 * The handle is opaque; the backend is chosen by the URL's scheme.
 */
#ifndef EVCAP_TARGET_H
#define EVCAP_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct target;

struct target_opts {
	const char *endpoint;   /* s3: "http(s)://host:port" */
	const char *region;     /* s3: signing region, default us-east-1 */
	const char *access_key; /* s3 credentials (borrowed; never logged) */
	const char *secret_key;
	long bandwidth;         /* bytes/s cap for transfers, 0 = none */
	int retain_days;        /* s3: COMPLIANCE retention in days, 0 = none */
	int create_bucket;      /* s3: create a missing bucket (with Object
				 * Lock when retain_days > 0) instead of failing */
	int progress;           /* show progress on stderr */
	int max_attempts;       /* tries per request for retryable failures */
	double retry_base;      /* first backoff delay, seconds */
	int stall_seconds;      /* s3: give up an attempt that moved under 1 KB/s
				 * for this long (0 = 60) and retry it */
};

/*
 * The multipart journal the caller keeps (evcap keeps it in sync_state),
 * so that an upload cut by a network failure, SIGKILL or reboot resumes
 * with the parts already finished. parts_json is [[n, "etag"], ...].
 */
struct target_journal {
	void *ctx;
	/* *upload_id and *parts_json are malloc'd, or NULL when none */
	int (*load)(void *ctx, const char *key, char **upload_id, char **parts_json);
	/* upload_id NULL: the upload finished or was abandoned */
	int (*save)(void *ctx, const char *key, const char *upload_id, const char *parts_json);
};

/* Receives downloaded bytes; returns 0 or a negative code to stop. */
typedef int (*target_sink)(void *ctx, const void *p, size_t n);
/*
 * One entry of a listing. Everything under the prefix is listed, so that
 * a reader can name what it does not read rather than pass it over: a
 * folder copied as "ID (1)" by a file manager, a stray file. Only the
 * temporary files of a dir: target's own writers are left out.
 */
struct target_entry {
	/* the prefix and the name below it; when `foreign`, as the target
	 * gave it: bytes that may need escaping before they are shown, and
	 * never to be used as a key */
	const char *key;
	uint64_t size;
	/* NULL for an object that can be read; otherwise what is there
	 * instead ("a symbolic link", "a FIFO", "a directory that cannot be
	 * opened (Permission denied)": only a dir: target has such entries),
	 * listed so that a reader can name it, never followed or read */
	const char *odd;
	int foreign; /* the name is not a key of the layout (target_key_valid) */
	/* a directory listed as one entry (only on a dir: target): odd is
	 * NULL when it was walked and holds nothing, else it was not walked
	 * and odd says why ("a directory": a foreign name, or one too deep;
	 * "a directory that cannot be opened (...)") */
	int is_dir;
};

/* Receives each entry of a listing; returns 0 or a negative code to stop. */
typedef int (*target_each)(void *ctx, const struct target_entry *e);

/* Opens a target. EV_EINVAL for a malformed URL or missing setting,
 * EV_EAUTH for credentials the server refuses, EV_ENOENT for a missing
 * bucket or directory: all with a message saying what to fix. */
int target_open(const char *url, const struct target_opts *o, struct target **out, char *err,
		size_t errlen) WUR;
void target_free(struct target *t);

/* The target's canonical URL (the name used in sync_state and bundles). */
const char *target_url(const struct target *t);
/* For a sync: names the target by what it is, not only where it is
 * reached. A dir: target (a USB disk at a mount point) gets an id file at
 * its root the first time, and its URL becomes "dir:/path#ID", so another
 * disk at the same path is another target. Nothing to do for s3:. */
int target_identify(struct target *t, char *err, size_t errlen) WUR;
/* For a pull, which writes nothing there: the name a sync gives the
 * target ("dir:/path#ID" where the disk has an id file, else its URL),
 * malloc'd; the target's URL stays as it was, for messages. */
char *target_name(struct target *t);
/* One line on what the target is and offers (e.g. Object Lock), or "". */
const char *target_info(const struct target *t);
/* How many requests were retried (after a cut, a stall or a 5xx answer)
 * since the target was opened; 0 for targets that never retry. */
unsigned target_retries(const struct target *t);

/* Whether key exists. With sha_hex, an object of another content (or
 * size, when `size` is non-zero) is EV_ECORRUPT: content-addressed keys
 * must never disagree with their name. *present is 1 when it exists. */
int target_stat(struct target *t, const char *key, const char *sha_hex, uint64_t size,
		int *present, char *err, size_t errlen) WUR;

/* Uploads a local file as key, never replacing an existing object: an
 * identical one already there is success, and *existed is then 1 (0 when
 * the file was sent); another object there is EV_EEXIST. journal may be
 * NULL. */
int target_put_file(struct target *t, const char *key, const char *path, const char *sha_hex,
		    uint64_t size, const struct target_journal *journal, int *existed, char *err,
		    size_t errlen) WUR;

/* A hint that path (size bytes, named sha_hex) is likely the next file
 * given to target_put_file: a backend may start reading and hashing it
 * now, while the last upload is still being answered. Nothing is sent. */
void target_prefetch(struct target *t, const char *path, const char *sha_hex, uint64_t size);

/* Uploads a small buffer as key, exclusively: an identical object already
 * there is success, a different one EV_EEXIST. */
int target_put_buf(struct target *t, const char *key, const void *p, size_t n, char *err,
		   size_t errlen) WUR;

/* Downloads key from byte `offset`, passing bytes to sink; an object larger
 * than max bytes is EV_ELIMIT before anything is passed. A missing key is
 * EV_ENOENT. */
int target_get(struct target *t, const char *key, uint64_t offset, uint64_t max,
	       target_sink sink, void *ctx, char *err, size_t errlen) WUR;

/* Lists the entries under prefix (which ends in '/'), at most max_keys of
 * them (EV_ELIMIT beyond), names that are not keys of the layout among
 * them (marked `foreign`). A prefix that is not there lists nothing. */
int target_list(struct target *t, const char *prefix, size_t max_keys, target_each each,
		void *ctx, char *err, size_t errlen) WUR;

/* 1 if s is a key of the layout's alphabet: [A-Za-z0-9._-] segments joined by
 * '/', no empty, "." or ".." segment, no leading '/', at most 1024 bytes. */
int target_key_valid(const char *s);

#endif
