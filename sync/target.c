/*
 * Target dispatch: parses the URL, picks the backend, and refuses any key
 * outside the layout's alphabet before a backend sees it, so neither a
 * directory path nor an S3 request can be steered by a hostile key.
 */
#include "target.h"

#include <stdlib.h>
#include <string.h>

#include "target_impl.h"

struct target {
	char *url;
	void *impl;
	const struct target_ops *ops;
};

int target_key_valid(const char *s)
{
	size_t n = strlen(s), seg = 0;
	if (n == 0 || n > 1024 || s[0] == '/')
		return 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == '/' || *p == '\0') {
			seg = (size_t)(p - start);
			if (seg == 0) /* "a//b" or "a/": an empty segment */
				return 0;
			if ((seg == 1 && start[0] == '.') ||
			    (seg == 2 && start[0] == '.' && start[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			start = p + 1;
			continue;
		}
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
}

int target_open(const char *url, const struct target_opts *o, struct target **out, char *err,
		size_t errlen)
{
	struct target *t = xcalloc(1, sizeof *t);
	int rc;
	*out = NULL;
	if (!url || !*url) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "no sync target: give --target dir:/path or s3://bucket/prefix, or set "
			     "target in [sync] of the config");
		goto fail;
	}
	char *named = NULL; /* a dir: target by its absolute path */
	if (strncmp(url, "dir:", 4) == 0) {
		rc = target_dir_open(url + 4, o, &t->impl, &t->ops, err, errlen);
		/* what was sent where is recorded by the target's name: a
		 * relative path names another folder from another working
		 * folder, so it is recorded as the folder it names now */
		char *real = rc ? NULL : realpath(url + 4, NULL);
		if (real)
			named = xasprintf("dir:%s", real);
		free(real);
	} else if (strncmp(url, "s3://", 5) == 0) {
		rc = target_s3_open(url + 5, o, &t->impl, &t->ops, err, errlen);
	} else {
		rc = err_set(err, errlen, EV_EINVAL,
			     "'%s' is not a target URL (use dir:/path or s3://bucket/prefix)", url);
	}
	if (rc)
		goto fail;
	t->url = named ? named : xstrdup(url);
	*out = t;
	return 0;
fail:
	free(t);
	return rc;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	if (t->ops)
		t->ops->free(t->impl);
	free(t->url);
	free(t);
}

const char *target_url(const struct target *t)
{
	return t->url;
}

char *target_name(struct target *t)
{
	char id[64], err[256];
	if (t->ops->identity && t->ops->identity(t->impl, 0, id, sizeof id, err, sizeof err) == 0)
		return xasprintf("%s#%s", t->url, id);
	return xstrdup(t->url);
}

int target_identify(struct target *t, char *err, size_t errlen)
{
	char id[64];
	if (!t->ops->identity)
		return 0;
	int rc = t->ops->identity(t->impl, 1, id, sizeof id, err, errlen);
	if (rc)
		return rc;
	char *u = xasprintf("%s#%s", t->url, id);
	free(t->url);
	t->url = u;
	return 0;
}

const char *target_info(const struct target *t)
{
	return t->ops->info ? t->ops->info(t->impl) : "";
}

unsigned target_retries(const struct target *t)
{
	return t->ops->retries ? t->ops->retries(t->impl) : 0;
}

void target_prefetch(struct target *t, const char *path, const char *sha_hex, uint64_t size)
{
	if (t->ops->prefetch)
		t->ops->prefetch(t->impl, path, sha_hex, size);
}

static int bad_key(const char *key, char *err, size_t errlen)
{
	return err_set(err, errlen, EV_EINVAL, "refusing key outside the bundle layout: '%.200s'",
		       key);
}

int target_stat(struct target *t, const char *key, const char *sha_hex, uint64_t size,
		int *present, char *err, size_t errlen)
{
	*present = 0;
	if (!target_key_valid(key))
		return bad_key(key, err, errlen);
	return t->ops->stat(t->impl, key, sha_hex, size, present, err, errlen);
}

int target_put_file(struct target *t, const char *key, const char *path, const char *sha_hex,
		    uint64_t size, const struct target_journal *journal, int *existed, char *err,
		    size_t errlen)
{
	*existed = 0;
	if (!target_key_valid(key))
		return bad_key(key, err, errlen);
	return t->ops->put_file(t->impl, key, path, sha_hex, size, journal, existed, err,
				errlen);
}

int target_put_buf(struct target *t, const char *key, const void *p, size_t n, char *err,
		   size_t errlen)
{
	if (!target_key_valid(key))
		return bad_key(key, err, errlen);
	return t->ops->put_buf(t->impl, key, p, n, err, errlen);
}

int target_get(struct target *t, const char *key, uint64_t offset, uint64_t max,
	       target_sink sink, void *ctx, char *err, size_t errlen)
{
	if (!target_key_valid(key))
		return bad_key(key, err, errlen);
	return t->ops->get(t->impl, key, offset, max, sink, ctx, err, errlen);
}

int target_list(struct target *t, const char *prefix, size_t max_keys, target_each each,
		void *ctx, char *err, size_t errlen)
{
	size_t n = strlen(prefix);
	char *bare = xstrndup(prefix, n && prefix[n - 1] == '/' ? n - 1 : n);
	int ok = target_key_valid(bare);
	free(bare);
	if (!ok || n == 0 || prefix[n - 1] != '/')
		return bad_key(prefix, err, errlen);
	return t->ops->list(t->impl, prefix, max_keys, each, ctx, err, errlen);
}
