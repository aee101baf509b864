/*
 * The pull driver. Order per bundle: manifest and signature (both size
 * capped), manifest validation (bundle.c), signature against trusted_keys,
 * foreign custody continuity, every blob downloaded into a staging file
 * named by its validated SHA-256 (resumed from where an earlier attempt
 * stopped) and verified, then the blobs placed through the store's blob
 * writer, then one transaction for every row. Nothing from the manifest is
 * used as a path: staging names and target keys come from checked hex.
 */
#include "pull.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "custody.h"
#include "devkey.h"
#include "fsutil.h"
#include "ingest.h"
#include "keyring.h"
#include "log.h"
#include "minisign.h"
#include "sites.h"
#include "sync.h"
#include "timeutil.h"

#define PULL_MAX_BUNDLES 10000
#define PULL_MAX_KEYS 200000
#define PULL_MAX_NOT_READ 1000 /* entries not read that are named one by one */
#define PULL_GET_TRIES 6
#define PULL_CHUNK (256 * 1024)
#define PULL_STAGING "pull-tmp"

/* ---- listing ---- */

/* A bundle directory seen in the case's listing. */
struct listed {
	char *id;
	int committed;  /* COMMITTED is there, a plain file */
	int uncommitted; /* asked, and COMMITTED is not there */
	char *odd;      /* why it cannot be read (malloc'd), or NULL */
};

/* An entry under the case's prefix that is not read: a folder or file
 * whose name is not a bundle id, or something in a bundle's folder other
 * than its three files. */
struct not_read {
	char *entry;   /* its key, as the target gave it (raw bytes) */
	char *what;    /* "a folder", "a file", "a symbolic link", ... */
	int in_bundle; /* below a bundle's folder */
};

struct listing {
	const char *prefix;
	size_t prefix_len;
	struct listed *b;
	size_t n;
	struct not_read *nr;
	size_t n_nr;
	int nr_more; /* entries not read beyond PULL_MAX_NOT_READ */
	char *nr_last; /* the last entry noted, named or only counted */
};

static struct listed *listed_get(struct listing *l, const char *id, size_t n)
{
	/* a listing gives each bundle's keys together: look at the last one */
	if (l->n && strlen(l->b[l->n - 1].id) == n && !strncmp(l->b[l->n - 1].id, id, n))
		return &l->b[l->n - 1];
	if (l->n >= PULL_MAX_BUNDLES)
		return NULL;
	l->b = xrealloc(l->b, (l->n + 1) * sizeof *l->b);
	memset(&l->b[l->n], 0, sizeof *l->b);
	l->b[l->n].id = xstrndup(id, n);
	return &l->b[l->n++];
}

/* Sorts the bundles by id (their creation order) and merges any listed
 * twice. */
static int cmp_listed(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->id, ((const struct listed *)b)->id);
}

static void listing_sort(struct listing *l)
{
	size_t k = 0;
	if (l->n > 1) /* none listed: no array at all */
		qsort(l->b, l->n, sizeof *l->b, cmp_listed);
	for (size_t i = 0; i < l->n; i++) {
		if (k && !strcmp(l->b[k - 1].id, l->b[i].id)) {
			l->b[k - 1].committed |= l->b[i].committed;
			if (!l->b[k - 1].odd)
				l->b[k - 1].odd = l->b[i].odd;
			else
				free(l->b[i].odd);
			free(l->b[i].id);
			continue;
		}
		l->b[k++] = l->b[i];
	}
	l->n = k;
}

/* The name of a file a file manager leaves in the folders it shows. */
static int file_manager_litter(const char *name)
{
	return !strcmp(name, ".DS_Store") || !strcasecmp(name, "Thumbs.db") ||
	       !strcasecmp(name, "desktop.ini") || !strncmp(name, "._", 2);
}

/* What a listed entry is, in a note on it. */
static const char *entry_kind(const struct target_entry *e)
{
	if (e->is_dir && !e->odd)
		return "an empty folder";
	if (e->is_dir && !strcmp(e->odd, "a directory"))
		return "a folder";
	return e->odd ? e->odd : "a file";
}

/*
 * Keeps the first len bytes of key (an entry not read) for the notes.
 * A folder gives one entry for each of its keys on S3: consecutive ones
 * (a listing gives a folder's keys together) are kept once, and the
 * notes are merged again once sorted. Past the cap they are counted
 * once too, whichever entries the listing happened to give first.
 */
static void not_read_add(struct listing *l, const char *key, size_t len, const char *what,
			 int in_bundle)
{
	if (l->nr_last && strlen(l->nr_last) == len && !memcmp(l->nr_last, key, len))
		return;
	free(l->nr_last);
	l->nr_last = xstrndup(key, len);
	if (l->n_nr >= PULL_MAX_NOT_READ) {
		l->nr_more++;
		return;
	}
	l->nr = xrealloc(l->nr, (l->n_nr + 1) * sizeof *l->nr);
	l->nr[l->n_nr++] = (struct not_read){xstrndup(key, len), xstrdup(what), in_bundle};
}

static int cmp_not_read(const void *a, const void *b)
{
	return strcmp(((const struct not_read *)a)->entry, ((const struct not_read *)b)->entry);
}

static void not_read_sort(struct listing *l)
{
	size_t k = 0;
	if (l->n_nr > 1)
		qsort(l->nr, l->n_nr, sizeof *l->nr, cmp_not_read);
	for (size_t i = 0; i < l->n_nr; i++) {
		if (k && !strcmp(l->nr[k - 1].entry, l->nr[i].entry)) {
			free(l->nr[i].entry);
			free(l->nr[i].what);
			continue;
		}
		l->nr[k++] = l->nr[i];
	}
	l->n_nr = k;
}

/* The length of the segment of s up to its first '/' (or its end). */
static size_t seg_len(const char *s)
{
	const char *slash = strchr(s, '/');
	return slash ? (size_t)(slash - s) : strlen(s);
}

/*
 * Notes each bundle directory under the case's prefix: whether it holds
 * COMMITTED, and what is wrong when the directory itself, or one of the
 * bundle's files, is something that is never read (a symbolic link).
 * Everything else there is kept as not read, once for each folder or file
 * directly under the prefix whose name is no bundle id (a folder copied
 * as "ID (1)") and each entry in a bundle's folder other than its files,
 * so that it can be named.
 */
static int list_each(void *ctx, const struct target_entry *e)
{
	struct listing *l = ctx;
	const char *key = e->key, *odd = e->odd;
	if (strncmp(key, l->prefix, l->prefix_len) != 0) { /* no backend lists such */
		not_read_add(l, key, strlen(key), entry_kind(e), 0);
		return 0;
	}
	const char *rest = key + l->prefix_len;
	size_t n = seg_len(rest);
	const char *slash = rest[n] == '/' ? rest + n : NULL;
	char id[BUNDLE_ID_MAX + 1];
	int is_bundle = n > 0 && n <= BUNDLE_ID_MAX;
	if (is_bundle) {
		memcpy(id, rest, n);
		id[n] = '\0';
		is_bundle = bundle_id_valid(id);
	}
	/* a file manager's own file is no bundle, whatever its name */
	if (!is_bundle || (!slash && file_manager_litter(rest))) {
		/* an empty name ("prefix//x" on S3) is shown with its slash */
		not_read_add(l, key, l->prefix_len + n + (!n && slash),
			     slash ? "a folder" : entry_kind(e), 0);
		return 0;
	}
	const char *name = slash ? slash + 1 : NULL;
	int ours = !name || !strcmp(name, BUNDLE_COMMITTED) || !strcmp(name, BUNDLE_MANIFEST) ||
		   !strcmp(name, BUNDLE_SIGNATURE);
	struct listed *b = listed_get(l, id, n);
	if (!b)
		return EV_ELIMIT;
	if (!ours) {
		size_t n2 = seg_len(name);
		int deeper = name[n2] == '/' || !n2; /* a folder, or "ID/" on S3 */
		not_read_add(l, key, (size_t)(name - key) + n2 + (name[n2] == '/' && !n2),
			     deeper ? "a folder" : entry_kind(e), 1);
	}
	/* an empty COMMITTED folder is not COMMITTED: asked, it is named as
	 * what it is; an empty bundle folder is a bundle not committed */
	if (name && !odd && !e->is_dir && !strcmp(name, BUNDLE_COMMITTED))
		b->committed = 1;
	if (ours && !b->odd && (odd || (!name && !e->is_dir)))
		b->odd = name ? xasprintf("%s on the target is %s", name, odd)
		       : e->is_dir
			       ? xasprintf("the bundle's directory on the target is %s", odd)
			       : xasprintf("the bundle's directory on the target is %s, not a "
					   "directory",
					   odd ? odd : "a file");
	return 0;
}

/* Whether id is a bundle of the listing (sorted by listing_sort). */
static const struct listed *listing_find(const struct listing *l, const char *id)
{
	struct listed k = {.id = (char *)id};
	return l->n ? bsearch(&k, l->b, l->n, sizeof *l->b, cmp_listed) : NULL;
}

static int listing_has(const struct listing *l, const char *id)
{
	return listing_find(l, id) != NULL;
}

/*
 * The warning for an entry not read: where it is, what it is, why it is
 * not read and what to do. A folder named as a file manager names a copy
 * ("ID (1)", "ID copy") is told apart from the bundle it copies when that
 * is here under its own name. The name is escaped for showing.
 */
static char *not_read_msg(const struct listing *l, const char *url, const struct not_read *nr,
			  char **shown)
{
	const char *slash = strrchr(nr->entry, '/');
	const char *name = slash && slash[1] ? slash + 1 : nr->entry;
	int folder = !strcmp(nr->what, "a folder");
	*shown = ingest_display_path(nr->entry);
	if (file_manager_litter(name) && !folder)
		return xasprintf("%s: '%s' (%s) is a file manager's own file, not part of a "
				 "bundle, so it was not read",
				 url, *shown, nr->what);
	if (nr->in_bundle)
		return xasprintf("%s: '%s' (%s) is none of a bundle's files (%s, %s, %s), so it "
				 "was not read",
				 url, *shown, nr->what, BUNDLE_MANIFEST, BUNDLE_SIGNATURE,
				 BUNDLE_COMMITTED);
	if (!folder)
		return xasprintf("%s: '%s' (%s) is not a bundle, so it was not read", url, *shown,
				 nr->what);
	/* the bundle id a copy's name begins with, if any */
	char id[BUNDLE_ID_MAX + 1];
	size_t k = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-");
	while (k && strchr("._-", name[k - 1]))
		k--;
	id[0] = '\0';
	if (k && k <= BUNDLE_ID_MAX && name[k]) {
		memcpy(id, name, k);
		id[k] = '\0';
		if (!bundle_id_valid(id) || !listing_has(l, id))
			id[0] = '\0';
	}
	if (id[0])
		return xasprintf("%s: '%s' (a folder) is not a bundle's name, so it was not read; "
				 "it looks like a copy of bundle %s, which is here under its own "
				 "name",
				 url, *shown, id);
	return xasprintf("%s: '%s' (a folder) is not a bundle's name, so it was not read; if it "
			 "holds a bundle, give the folder its original name (the bundle id in its "
			 "%s)",
			 url, *shown, BUNDLE_MANIFEST);
}

/* Names each entry not read through o->not_read; returns how many there
 * were. */
static int report_not_read(struct listing *l, const struct pull_opts *o, const char *url)
{
	not_read_sort(l);
	for (size_t i = 0; i < l->n_nr && o->not_read; i++) {
		char *shown, *msg = not_read_msg(l, url, &l->nr[i], &shown);
		o->not_read(o->report_ctx, shown, l->nr[i].what, msg);
		free(msg);
		free(shown);
	}
	if (l->nr_more && o->not_read) {
		char *msg = xasprintf("%s: %d more entr%s under '%s' %s not bundles or their "
				      "files, and %s not read (only the first %d are named)",
				      url, l->nr_more, l->nr_more == 1 ? "y" : "ies", l->prefix,
				      l->nr_more == 1 ? "is" : "are", l->nr_more == 1 ? "was" : "were",
				      PULL_MAX_NOT_READ);
		o->not_read(o->report_ctx, l->prefix, "more entries", msg);
		free(msg);
	}
	return (int)l->n_nr + l->nr_more;
}

/* ---- small sinks ---- */

static int buf_sink(void *ctx, const void *p, size_t n)
{
	return buf_append(ctx, p, n) ? EV_ELIMIT : 0;
}

struct file_sink {
	int fd;
	struct sha256 *h;
	uint64_t have, want;
	int too_long; /* the target sent more than the manifest's size */
	int werr;     /* errno of a failed write here (a full disk), or 0 */
};

static int file_sink_write(void *ctx, const void *p, size_t n)
{
	struct file_sink *f = ctx;
	if (f->have + n > f->want) {
		f->too_long = 1;
		return EV_ECORRUPT;
	}
	if (fs_write_all(f->fd, p, n) < 0) {
		f->werr = errno ? errno : EIO;
		return EV_EIO;
	}
	sha256_update(f->h, p, n);
	f->have += n;
	return 0;
}

/* ---- one bundle ---- */

struct pull_ctx {
	struct store *s;
	struct target *t;
	const struct pull_opts *o;
	char case_key[64];
	char *staging;
	char *name;  /* the target as bundles.target names it (target_name) */
	int updated; /* items of the bundle pulled last moved to a later revision */
	int readings_updated; /* and readings */
};

static char *staging_path(struct pull_ctx *pc, const char *sha)
{
	return xasprintf("%s/%s.part", pc->staging, sha);
}

/*
 * Downloads one blob into its staging file, resuming after whatever an
 * earlier attempt left, and checks size and SHA-256. A copy pieced
 * together from more than one transfer (a leftover part, a cut) that does
 * not match may owe that to the office's own leftover, which the target
 * never saw: it is fetched once more from byte 0 before the target is
 * blamed. A blob that still does not match is deleted and reported as
 * EV_ECORRUPT. *local is set when the failure is the office's own (the
 * staging file could not be written or read): that is never retried as a
 * cut, and the staging file is kept.
 */
static int fetch_blob(struct pull_ctx *pc, const struct bundle_blob *b, int *local, char *err,
		      size_t errlen)
{
	char key[BUNDLE_BLOB_KEY_LEN], got[SHA256_HEX_LEN + 1];
	char *path = staging_path(pc, b->sha256);
	char *chunk = NULL;
	struct file_sink f = {.fd = -1, .h = sha256_new(), .want = b->size};
	struct stat st;
	int rc = 0, pieced, refetched = 0;

	*local = 0;
	bundle_blob_key(b->sha256, key);
	f.fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f.fd < 0 || fstat(f.fd, &st) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
		*local = 1;
		goto out;
	}
	if ((uint64_t)st.st_size > b->size && ftruncate(f.fd, 0) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
		*local = 1;
		goto out;
	}
	/* re-hash what an earlier attempt already fetched */
	chunk = xmalloc(PULL_CHUNK);
	for (;;) {
		ssize_t r = fs_read_full(f.fd, chunk, PULL_CHUNK);
		if (r < 0) {
			rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
			*local = 1;
			goto out;
		}
		if (r == 0)
			break;
		sha256_update(f.h, chunk, (size_t)r);
		f.have += (uint64_t)r;
	}
	if (f.have > b->size) {
		rc = err_set(err, errlen, EV_EIO, "%s: staging file grew", path);
		*local = 1;
		goto out;
	}
	pieced = f.have > 0;
again:
	for (int tries = 0; f.have < b->size || tries == 0; tries++) {
		uint64_t before = f.have;
		rc = target_get(pc->t, key, f.have, b->size, file_sink_write, &f, err, errlen);
		if (f.werr) {
			rc = err_set(err, errlen, EV_EIO, "%s: cannot write: %s", path,
				     strerror(f.werr));
			*local = 1;
			goto out;
		}
		if (rc == 0 || (rc != EV_ENET && rc != EV_EIO))
			break;
		if (f.have == before && tries + 1 >= PULL_GET_TRIES)
			break;
		pieced = 1;
		log_info("blob %.12s: transfer cut at %llu of %llu bytes; resuming", b->sha256,
			 (unsigned long long)f.have, (unsigned long long)b->size);
	}
	if (f.too_long || (rc == 0 && f.have != b->size)) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "blob %s on the target is not %llu bytes as the manifest says", key,
			     (unsigned long long)b->size);
	} else if (rc == EV_ENOENT) {
		char why[512];
		snprintf(why, sizeof why, "%.500s", err);
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "the manifest names blob %s, which is missing from the target (%s)",
			     key, why);
	} else if (rc == EV_ELIMIT) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "blob %s on the target is larger than the manifest says", key);
	}
	if (rc)
		goto out;
	uint8_t d[SHA256_LEN];
	sha256_final(f.h, d);
	hex_encode(d, SHA256_LEN, got);
	/* once only: a target that cuts every transfer and sends wrong bytes
	 * must end in a refusal, not in fetching for ever */
	if (strcmp(got, b->sha256) != 0 && pieced && !refetched) {
		log_info("blob %.12s: the copy pieced together here from an earlier attempt does "
			 "not match its SHA-256; discarded, and fetched again from the start",
			 b->sha256);
		if (ftruncate(f.fd, 0) < 0 || lseek(f.fd, 0, SEEK_SET) < 0) {
			rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
			*local = 1;
			goto out;
		}
		sha256_free(f.h);
		f.h = sha256_new();
		f.have = 0;
		pieced = 0;
		refetched = 1;
		goto again;
	}
	if (strcmp(got, b->sha256) != 0)
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "blob %s on the target does not match its SHA-256 (it hashes to %.16s...): "
			     "damaged or altered",
			     key, got);
out:
	if (f.fd >= 0)
		close(f.fd);
	/* a partial download is kept for resume; a wrong one never */
	if (rc && rc != EV_ENET && rc != EV_EIO)
		unlink(path);
	sha256_free(f.h);
	free(chunk);
	free(path);
	return rc;
}

/* Moves a verified staging file into the store through its blob writer
 * (which hashes again and places it durably). */
static int place_blob(struct pull_ctx *pc, const struct bundle_blob *b, char *err, size_t errlen)
{
	char *path = staging_path(pc, b->sha256);
	char hex[SHA256_HEX_LEN + 1];
	uint64_t size;
	int rc, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct blob_writer *w = NULL;
	struct blob_placed how;
	char *chunk = xmalloc(PULL_CHUNK);
	if (fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = store_blob_begin(pc->s, &w, err, errlen)))
		goto out;
	for (;;) {
		ssize_t r = fs_read_full(fd, chunk, PULL_CHUNK);
		if (r < 0) {
			rc = err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if ((rc = store_blob_write(w, chunk, (size_t)r, err, errlen)))
			goto out;
	}
	rc = store_blob_commit(w, hex, &size, &how, err, errlen);
	w = NULL;
	if (!rc && strcmp(hex, b->sha256) != 0)
		rc = err_set(err, errlen, EV_ECORRUPT, "blob %s changed while being placed", b->sha256);
	if (!rc && how.found == BLOB_RESTORED)
		log_warnx("%s/%.12s...: a damaged copy of this original (%s) was replaced by the one "
			  "pulled; it is kept as %s in the store",
			  store_dir(pc->s), hex, how.damaged_why, how.kept_as);
	if (!rc)
		unlink(path);
out:
	if (w)
		store_blob_abort(w);
	if (fd >= 0)
		close(fd);
	free(chunk);
	free(path);
	return rc;
}

/* Looks up a trusted key by id: 1 found, 0 not. */
static int trusted_key(struct store *s, const char *kid, struct minisign_pub *pub)
{
	int found = 0;
	sqlite3_stmt *st = store_prepare(s, "SELECT public_key FROM trusted_keys WHERE key_id = ?",
					 NULL, 0);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, kid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *pk = (const char *)sqlite3_column_text(st, 0);
		found = pk && minisign_pub_parse(pk, strlen(pk), pub, NULL, 0) == 0;
	}
	sqlite3_finalize(st);
	return found;
}

/*
 * Authenticates the manifest bytes. With a trusted key this runs before
 * the manifest is parsed at all (m is NULL then); a key not trusted yet
 * can only come from the manifest itself, so that path needs m and
 * --trust-new. *is_new is set when such a key was accepted.
 */
static int check_signature(struct pull_ctx *pc, struct bundle_manifest *m, const struct buf *mtext,
			   const struct minisign_sig *sig, int *is_new, char *err, size_t errlen)
{
	struct minisign_pub pub;
	char kid[MINISIGN_KEYID_HEX], e2[256];
	int rc;
	*is_new = 0;
	minisign_keyid_hex(sig->keyid, kid);
	/* a key id no key here has is most often a damaged byte, not a
	 * signer: it is called unknown, never "signed by" */
	int known = trusted_key(pc->s, kid, &pub);
	if (m && strcmp(kid, m->key_id) != 0 && known)
		return err_set(err, errlen, EV_EAUTH,
			       "the manifest names key %s but is signed by key %s", m->key_id, kid);
	if (m && strcmp(kid, m->key_id) != 0)
		return err_set(err, errlen, EV_EAUTH,
			       "the manifest names key %s but its signature is by an unknown key %s, "
			       "which no key trusted here has: the signature or the bundle may be "
			       "damaged",
			       m->key_id, kid);
	if (!known) {
		if (!m)
			return EV_ENOENT; /* the caller parses the manifest and comes back */
		if (minisign_pub_parse(m->public_key, strlen(m->public_key), &pub, NULL, 0) ||
		    memcmp(pub.keyid, sig->keyid, MINISIGN_KEYID_LEN) != 0)
			return err_set(err, errlen, EV_EAUTH,
				       "signed by an unknown key %s, which is not trusted here, and the "
				       "manifest's own public key does not match it: the signature or "
				       "the bundle may be damaged",
				       kid);
		if (!pc->o->trust_new)
			return err_set(err, errlen, EV_EAUTH,
				       "signed by device key %s (device %s), which this office does not "
				       "trust; compare it with 'evcap key show' on that device, then run "
				       "'evcap key trust FILE' or pull again with --trust-new",
				       kid, m->device_id);
		*is_new = 1;
	}
	if ((rc = minisign_verify(&pub, sig, mtext->data, mtext->len, e2, sizeof e2)))
		return err_set(err, errlen, EV_EAUTH, "manifest signature check failed: %s", e2);
	return 0;
}

/*
 * The signer must be the key of the device the manifest names: a key tied
 * to another device, a device that signs with another key, and a replaced
 * key are refused. *bind is set when the key is tied to no device yet, so
 * that this bundle ties it.
 */
static int check_key_device(struct pull_ctx *pc, struct bundle_manifest *m, int *bind, char *err,
			    size_t errlen)
{
	if (!devkey_device_id_valid(m->device_id))
		return err_set(err, errlen, EV_EINVAL,
			       "manifest device id '%.64s' is not lowercase hex", m->device_id);
	return keyring_check(pc->s, m->key_id, m->device_id, bind, err, errlen);
}

/* The custody events must not contradict events of the same device that
 * earlier bundles brought. */
static int check_foreign_chain(struct pull_ctx *pc, struct bundle_manifest *m, char *err,
			       size_t errlen)
{
	sqlite3_stmt *st = store_prepare(
		pc->s, "SELECT hash FROM foreign_custody WHERE device_id = ? AND seq = ?", err, errlen);
	int rc = 0;
	if (!st)
		return EV_EDB;
	size_t i;
	json_t *e;
	json_array_foreach(m->events, i, e) {
		int64_t seq = json_integer_value(json_object_get(e, "seq"));
		const char *hash = json_string_value(json_object_get(e, "hash"));
		const char *prev = json_string_value(json_object_get(e, "prev_hash"));
		for (int k = 0; k < 2 && !rc; k++) {
			/* k = 0: the same event seen before; k = 1: its predecessor */
			if (k == 1 && (i > 0 || seq <= 1))
				break;
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, m->device_id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, k ? seq - 1 : seq);
			if (sqlite3_step(st) == SQLITE_ROW) {
				const char *had = (const char *)sqlite3_column_text(st, 0);
				if (had && strcmp(had, k ? prev : hash) != 0)
					rc = err_set(err, errlen, EV_ECORRUPT,
						     "custody event %lld of device %s contradicts the "
						     "chain imported before (the device's log was "
						     "rewritten)",
						     (long long)seq, m->device_id);
			}
		}
		if (rc)
			break;
	}
	sqlite3_finalize(st);
	return rc;
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
	int r = sqlite3_step(st);
	if (r != SQLITE_DONE)
		return err_set(err, errlen, EV_EDB, "cannot import %s: %s", what,
			       sqlite3_errmsg(store_db(s)));
	return 0;
}

static char *insert_sql(const char *table, const struct bundle_table *t, const char *extra_cols,
			const char *extra_vals, int or_ignore, const char *where)
{
	char *cols = bundle_col_list(t, NULL);
	struct buf q;
	buf_init(&q, 1 << 16);
	for (size_t i = 0; i < t->n; i++)
		if (buf_puts(&q, i ? ",?" : "?"))
			abort();
	char *sql = where ? xasprintf("INSERT %sINTO %s(%s, %s) SELECT %s, %s WHERE %s",
				      or_ignore ? "OR IGNORE " : "", table, cols, extra_cols, q.data,
				      extra_vals, where)
			  : xasprintf("INSERT %sINTO %s(%s, %s) VALUES (%s, %s)",
				      or_ignore ? "OR IGNORE " : "", table, cols, extra_cols, q.data,
				      extra_vals);
	buf_free(&q);
	free(cols);
	return sql;
}

/* The parameter number (from 1) that insert_sql gives column `name`. */
static int col_param(const struct bundle_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->cols[i].name, name))
			return (int)i + 1;
	abort(); /* the names are this program's own */
}

/*
 * Records the signing key's tie to the bundle's device, inside the
 * import's transaction: a key trusted with --trust-new is added tied to
 * it, a trusted key tied to no device yet is tied to it; either is a
 * custody event.
 */
static int record_key(struct pull_ctx *pc, struct bundle_manifest *m, int new_key, double now,
		      const char *now_iso, char *err, size_t errlen)
{
	struct store *s = pc->s;
	char *how = xasprintf("its first bundle, %s", m->bundle_id);
	char *comment = NULL;
	json_t *d = json_object();
	int rc;
	json_object_set_new(d, "key_id", json_string(m->key_id));
	json_object_set_new(d, "device_id", json_string(m->device_id));
	json_object_set_new(d, "bundle_id", json_string(m->bundle_id));
	if (!new_key) {
		if (!(rc = keyring_bind(s, m->key_id, m->device_id, how, now_iso, err, errlen)))
			rc = custody_append(s, now, pc->o->actor, "key bind", NULL, NULL, d, NULL,
					    err, errlen);
		goto out;
	}
	comment = xasprintf("trusted on first use (--trust-new) from bundle %s of device %s",
			    m->bundle_id, m->device_id);
	if ((rc = keyring_add(s, m->key_id, m->public_key, comment, m->device_id, how, now_iso, err,
			      errlen)))
		goto out;
	json_object_set_new(d, "public_key", json_string(m->public_key));
	json_object_set_new(d, "how", json_string("trust-new"));
	rc = custody_append(s, now, pc->o->actor, "key trust", NULL, NULL, d, NULL, err, errlen);
out:
	json_decref(d);
	free(comment);
	free(how);
	return rc;
}

/*
 * Of the bundles held for a case, the one whose case object the office's
 * case shows. Within a device, its newest by custody head: the device's
 * own order, which a wrong or reset clock cannot upset (a bundle id
 * breaks a tie, which only bundles of one run can have, and they carry the
 * same case). Between devices there is no common order, so the case
 * follows one device: the one that opened it first (the earliest
 * opened_at of the devices' case objects, then the device id). A later
 * sync from a second laptop that also opened the number therefore does
 * not reopen or retitle what the first one recorded. Either way the
 * choice is a function of the bundles held, not of the order they were
 * pulled in. Bundles pulled before schema 43 kept no case object and are
 * not candidates. 1 and the bundle's id, device and case object (*fields,
 * a new reference), 0 when none, or EV_EDB.
 */
static int case_source_bundle(struct store *s, int64_t case_id, char bundle_id[BUNDLE_ID_MAX + 1],
			      char device_id[DEVKEY_DEVICE_MAX + 1], json_t **fields, char *err,
			      size_t errlen)
{
	static const char sql[] =
		"SELECT b.bundle_id, b.device_id, b.case_fields FROM bundles b"
		" WHERE b.case_id = ?1 AND b.direction = 'in' AND b.case_fields IS NOT NULL"
		" AND NOT EXISTS (SELECT 1 FROM bundles n"
		"  WHERE n.case_id = ?1 AND n.device_id = b.device_id AND n.direction = 'in'"
		"  AND n.case_fields IS NOT NULL AND (n.last_seq > b.last_seq"
		"   OR (n.last_seq = b.last_seq AND n.bundle_id > b.bundle_id)))"
		" ORDER BY json_extract(b.case_fields, '$.opened_at'), b.device_id LIMIT 1";
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	int r, found = 0;
	*fields = NULL;
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		const char *b = (const char *)sqlite3_column_text(st, 0);
		const char *d = (const char *)sqlite3_column_text(st, 1);
		const char *f = (const char *)sqlite3_column_text(st, 2);
		snprintf(bundle_id, BUNDLE_ID_MAX + 1, "%s", b ? b : "");
		snprintf(device_id, DEVKEY_DEVICE_MAX + 1, "%s", d ? d : "");
		*fields = f ? json_loads(f, JSON_REJECT_DUPLICATES, NULL) : NULL;
		found = json_is_object(*fields);
		if (!found)
			found = err_set(err, errlen, EV_EDB,
					"the case fields kept with bundle %s do not read as JSON",
					b ? b : "?");
	} else if (r != SQLITE_DONE) {
		found = err_set(err, errlen, EV_EDB, "cannot read the case's bundles: %s",
				sqlite3_errmsg(store_db(s)));
	}
	sqlite3_finalize(st);
	if (found <= 0) {
		json_decref(*fields);
		*fields = NULL;
	}
	return found;
}

/* Writes one case column from a case object and adds {from, to} for it
 * to `changes` when the value differs from the row's (old). */
static int set_case_col(struct store *s, int64_t case_id, size_t col, json_t *old, json_t *fields,
			json_t *changes, char *err, size_t errlen)
{
	const struct bundle_col *c = &bundle_case_cols.cols[col];
	const struct bundle_table one = {"case", c, 1};
	json_t *v = json_object_get(fields, c->name);
	json_t *was = json_object_get(old, c->name);
	if (!v)
		v = json_null();
	else
		json_incref(v);
	if (!was)
		was = json_null();
	int rc = 0;
	if (c->type == BC_JSON && json_is_string(v)) {
		/* JSON sent as its text compares as what it says */
		json_t *parsed = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, NULL);
		if (json_is_array(parsed)) {
			json_decref(v);
			v = parsed;
		} else {
			json_decref(parsed);
		}
	}
	if (json_equal(v, was)) {
		json_decref(v);
		return 0;
	}
	char *sql = xasprintf("UPDATE cases SET %s = ? WHERE id = ?", c->name);
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	free(sql);
	if (!st) {
		json_decref(v);
		return EV_EDB;
	}
	bundle_bind_row(st, 1, &one, fields);
	sqlite3_bind_int64(st, 2, case_id);
	if ((rc = step_done(s, st, "the case's fields", err, errlen)) == 0)
		json_object_set_new(changes, c->name,
				    json_pack("{s:O, s:O}", "from", was, "to", v));
	sqlite3_finalize(st);
	json_decref(v);
	return rc;
}

/* Whether the office set field `name` of a pulled case itself (office is
 * the case's office_fields, a JSON array, or NULL). */
static int office_owns(const json_t *office, const char *name)
{
	for (size_t k = 0; k < json_array_size(office); k++) {
		const char *v = json_string_value(json_array_get(office, k));
		if (v && strcmp(v, name) == 0)
			return 1;
	}
	return 0;
}

/*
 * A pulled case shows the fields of the bundle case_source_bundle picks:
 * after each import, each field that differs is written, and the changes
 * are one custody event ("case update") naming that bundle, its device,
 * the bundle being pulled and each field's old and new value. A case
 * opened in this office is its own, and no bundle changes it. For the
 * report, `changed` gets "<bundle id>: title, status, ...".
 */
static int follow_case(struct pull_ctx *pc, struct bundle_manifest *m, int64_t case_id,
		       double now, struct buf *changed, char *err, size_t errlen)
{
	struct store *s = pc->s;
	char bid[BUNDLE_ID_MAX + 1], dev[DEVKEY_DEVICE_MAX + 1], *sql = NULL;
	json_t *fields = NULL, *old = NULL, *changes = json_object(), *office = NULL;
	sqlite3_stmt *st = NULL;
	int rc;
	char *cols = bundle_col_list(&bundle_case_cols, NULL);
	sql = xasprintf("SELECT %s, origin, office_fields FROM cases WHERE id = ?", cols);
	free(cols);
	if (!(st = store_prepare(s, sql, err, errlen))) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = err_set(err, errlen, EV_EDB, "cannot read case %s", m->case_number);
		goto out;
	}
	const char *origin = (const char *)sqlite3_column_text(st, (int)bundle_case_cols.n);
	if (!origin || strcmp(origin, "pulled") != 0) {
		rc = 0; /* the office's own case */
		goto out;
	}
	old = bundle_row_json(st, 0, &bundle_case_cols);
	/* the fields the office set itself (cli/cmd_case.c) are its own */
	const char *of = (const char *)sqlite3_column_text(st, (int)bundle_case_cols.n + 1);
	office = of ? json_loads(of, 0, NULL) : NULL;
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = case_source_bundle(s, case_id, bid, dev, &fields, err, errlen)) <= 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < bundle_case_cols.n && !rc; i++) {
		const char *name = bundle_case_cols.cols[i].name;
		if (strcmp(name, "number") != 0 && !office_owns(office, name))
			rc = set_case_col(s, case_id, i, old, fields, changes, err, errlen);
	}
	if (rc || json_object_size(changes) == 0)
		goto out;
	const char *k;
	json_t *v;
	int first = 1;
	if (buf_printf(changed, "%s", bid) == 0)
		json_object_foreach(changes, k, v) {
			if (buf_printf(changed, "%s%s", first ? ": " : ", ", k))
				break; /* only the report is cut short */
			first = 0;
		}
	json_t *d = json_object();
	json_object_set_new(d, "bundle_id", json_string(bid));
	json_object_set_new(d, "device_id", json_string(dev));
	json_object_set_new(d, "pulled_with", json_string(m->bundle_id));
	json_object_set(d, "fields", changes);
	rc = custody_append(s, now, pc->o->actor, "case update", m->case_number, NULL, d, NULL, err,
			    errlen);
	json_decref(d);
out:
	sqlite3_finalize(st);
	free(sql);
	json_decref(fields);
	json_decref(old);
	json_decref(changes);
	json_decref(office);
	return rc;
}

/* The fields of an item a later revision from its device may change, in
 * the order of the UPDATE in follow_item, with the group each belongs to
 * (the bits of items.office_fields: schema.c, schema_v44). */
static const struct bundle_col rev_cols[] = {
	{"captured_at", BC_TEXT, 0},     {"tz_offset", BC_TEXT, 0},
	{"time_source", BC_TEXT, 0},     {"declared_offset", BC_TEXT, 0},
	{"lat", BC_REAL, 0},             {"lon", BC_REAL, 0},
	{"alt", BC_REAL, 0},             {"location_source", BC_TEXT, 0},
	{"location_error_m", BC_REAL, 0},
};
static const int rev_group[] = {2, 2, 2, 2, 1, 1, 1, 1, 1};
static const struct bundle_table rev_table = {"item", rev_cols,
					      sizeof rev_cols / sizeof rev_cols[0]};
#define REV_SITE 4

/* Whether two field values, as bundles and bundle_row_json give them,
 * say the same: numbers compare as numbers. */
static int same_value(json_t *a, json_t *b)
{
	if (!a)
		a = json_null();
	if (!b)
		b = json_null();
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

/* Adds {k1: a, k2: b} under name to obj. */
static void add_pair(json_t *obj, const char *name, const char *k1, json_t *a, const char *k2,
		     json_t *b)
{
	json_t *p = json_object();
	json_object_set(p, k1, a ? a : json_null());
	json_object_set(p, k2, b ? b : json_null());
	json_object_set_new(obj, name, p);
}

/*
 * An item the office already holds, carried again by a bundle of the
 * device it came from at a later revision of that device (a place found
 * from a track, a retime, a site added after it was sent: docs/sync.md,
 * "Items changed after a sync"), takes that revision's time, place and
 * site, except those the office changed itself, which stay as the office
 * set them. What changed, and what the office kept where the device now
 * says otherwise, is one custody event ("item update") of the item. An
 * item of another case, or first brought by another device, is left as
 * it is: the device's revisions count only against its own. *updated is
 * set to 1 when a field changed.
 */
static int follow_item(struct pull_ctx *pc, struct bundle_manifest *m, int64_t case_id, json_t *o,
		       double now, int *updated, char *err, size_t errlen)
{
	struct store *s = pc->s;
	json_t *jrev = json_object_get(o, "rev");
	const char *sha = json_string_value(json_object_get(o, "sha256"));
	sqlite3_stmt *st = NULL;
	json_t *old = NULL, *fields = NULL, *kept = NULL;
	int rc = 0;
	*updated = 0;
	if (!json_is_integer(jrev) || json_integer_value(jrev) <= 0 || !sha)
		return 0;
	json_int_t rev = json_integer_value(jrev);
	char *cols = bundle_col_list(&rev_table, "i");
	char *sql = xasprintf("SELECT %s, si.name, i.id, i.case_id, i.origin,"
			      " COALESCE(i.src_rev, 0), i.office_fields,"
			      " (SELECT b.device_id FROM bundles b WHERE b.bundle_id = i.bundle_id"
			      "  AND b.direction = 'in')"
			      " FROM items i LEFT JOIN sites si ON si.id = i.site_id"
			      " WHERE i.sha256 = ?",
			      cols);
	free(cols);
	st = store_prepare(s, sql, err, errlen);
	free(sql);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	int r = sqlite3_step(st), c = (int)rev_table.n;
	if (r != SQLITE_ROW) {
		rc = r == SQLITE_DONE ? 0 : err_set(err, errlen, EV_EDB, "cannot read item %.12s: %s",
						    sha, sqlite3_errmsg(store_db(s)));
		goto out;
	}
	const char *origin = (const char *)sqlite3_column_text(st, c + 3);
	const char *dev = (const char *)sqlite3_column_text(st, c + 6);
	int64_t item_id = sqlite3_column_int64(st, c + 1);
	int64_t held = sqlite3_column_int64(st, c + 4);
	int owned = (int)sqlite3_column_int64(st, c + 5);
	if (sqlite3_column_int64(st, c + 2) != case_id || !origin || strcmp(origin, "pulled") != 0 ||
	    !dev || strcmp(dev, m->device_id) != 0 || rev <= held)
		goto out;
	old = bundle_row_json(st, 0, &rev_table);
	const char *site_was = (const char *)sqlite3_column_text(st, c);
	json_object_set_new(old, "site", site_was ? json_string(site_was) : json_null());
	sqlite3_finalize(st);
	st = NULL;

	fields = json_object();
	kept = json_object();
	for (size_t i = 0; i <= rev_table.n; i++) {
		const char *name = i < rev_table.n ? rev_cols[i].name : "site";
		int group = i < rev_table.n ? rev_group[i] : REV_SITE;
		json_t *was = json_object_get(old, name), *now_v = json_object_get(o, name);
		if (same_value(was, now_v))
			continue;
		if (owned & group)
			add_pair(kept, name, "office", was, "device", now_v);
		else
			add_pair(fields, name, "from", was, "to", now_v);
	}
	st = store_prepare(s,
			   "UPDATE items SET src_rev = ?1,"
			   " captured_at = CASE WHEN office_fields & 2 THEN captured_at ELSE ?2 END,"
			   " tz_offset = CASE WHEN office_fields & 2 THEN tz_offset ELSE ?3 END,"
			   " time_source = CASE WHEN office_fields & 2 THEN time_source ELSE ?4 END,"
			   " declared_offset = CASE WHEN office_fields & 2 THEN declared_offset"
			   "  ELSE ?5 END,"
			   " lat = CASE WHEN office_fields & 1 THEN lat ELSE ?6 END,"
			   " lon = CASE WHEN office_fields & 1 THEN lon ELSE ?7 END,"
			   " alt = CASE WHEN office_fields & 1 THEN alt ELSE ?8 END,"
			   " location_source = CASE WHEN office_fields & 1 THEN location_source"
			   "  ELSE ?9 END,"
			   " location_error_m = CASE WHEN office_fields & 1 THEN location_error_m"
			   "  ELSE ?10 END,"
			   " site_id = CASE WHEN office_fields & 4 THEN site_id"
			   "  ELSE (SELECT id FROM sites WHERE case_id = ?11 AND name = ?12) END"
			   " WHERE id = ?13",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, rev);
	bundle_bind_row(st, 2, &rev_table, o);
	sqlite3_bind_int64(st, 11, case_id);
	json_t *site = json_object_get(o, "site");
	if (json_is_string(site))
		sqlite3_bind_text(st, 12, json_string_value(site), -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 12);
	sqlite3_bind_int64(st, 13, item_id);
	if ((rc = step_done(s, st, "an item's later revision", err, errlen)))
		goto out;
	if (json_object_size(fields) == 0 && json_object_size(kept) == 0)
		goto out;
	*updated = json_object_size(fields) > 0;
	json_t *d = json_object();
	json_object_set_new(d, "bundle_id", json_string(m->bundle_id));
	json_object_set_new(d, "device_id", json_string(m->device_id));
	json_object_set_new(d, "rev", json_integer(rev));
	json_object_set_new(d, "from_rev", held ? json_integer(held) : json_null());
	json_object_set(d, "fields", fields);
	if (json_object_size(kept))
		json_object_set(d, "kept", kept);
	rc = custody_append(s, now, pc->o->actor, "item update", m->case_number, sha, d, NULL, err,
			    errlen);
	json_decref(d);
out:
	sqlite3_finalize(st);
	json_decref(old);
	json_decref(fields);
	json_decref(kept);
	return rc;
}

/* The fields of a reading a later revision from its device may change, in
 * the order of the UPDATE in follow_reading, with the groups of
 * readings.office_fields (schema.c, schema_v48) that keep each as the
 * office set it; its site (REV_SITE) comes after them. The class is the
 * office's too where the office put the reading in a site itself: it
 * comes from that site's water body, not from the device's. */
static const struct bundle_col reading_rev_cols[] = {
	{"lat", BC_REAL, 0},              {"lon", BC_REAL, 0},
	{"location_source", BC_TEXT, 0},  {"location_error_m", BC_REAL, 0},
	{"class", BC_TEXT, 0},
};
static const int reading_rev_group[] = {1, 1, 1, 1, 8 | REV_SITE};
static const struct bundle_table reading_rev_table = {
	"reading", reading_rev_cols, sizeof reading_rev_cols / sizeof reading_rev_cols[0]};

/* What names a reading on every store: the line of the file it came from
 * (the readings' UNIQUE key). */
static const struct bundle_col reading_key_cols[] = {
	{"raw_sha256", BC_TEXT, 1}, {"parameter", BC_TEXT, 0},
	{"source", BC_TEXT, 0},     {"line_no", BC_INT, 0},
};
static const struct bundle_table reading_key_table = {
	"reading", reading_key_cols, sizeof reading_key_cols / sizeof reading_key_cols[0]};

/* The most readings one "reading update" event names; a bundle that
 * changes more makes several (a field's water body given later classes
 * every reading of the case again). */
#define PULL_READINGS_PER_EVENT 200

/* The held readings a bundle changed, for its "reading update" events and
 * the pull's counts. */
struct reading_updates {
	json_t *list;  /* entries not yet in an event (NULL when none) */
	int updated;   /* readings a field of which changed */
	int kept;      /* readings a field of which the office kept as its own */
	int moved;     /* readings now in another site */
};

/* Writes the entries gathered as one "reading update" event of the case,
 * naming the bundle and its device. */
static int reading_updates_record(struct pull_ctx *pc, const struct bundle_manifest *m,
				  struct reading_updates *ru, double now, char *err,
				  size_t errlen)
{
	if (!ru->list)
		return 0;
	json_t *d = json_object();
	json_object_set_new(d, "bundle_id", json_string(m->bundle_id));
	json_object_set_new(d, "device_id", json_string(m->device_id));
	json_object_set_new(d, "readings", ru->list);
	ru->list = NULL;
	int rc = custody_append(pc->s, now, pc->o->actor, "reading update", m->case_number, NULL,
				d, NULL, err, errlen);
	json_decref(d);
	return rc;
}

/* The entry of a "reading update" event for reading `id`: which it is (its
 * id here, and the file line that names it on any store), the revisions,
 * and what changed and what the office kept. */
static json_t *reading_update_json(int64_t id, json_t *o, json_int_t rev, int64_t held,
				   json_t *fields, json_t *kept)
{
	static const char *const names[] = {"time", "parameter", "sample_id", "source",
					    "line_no"};
	json_t *e = json_object();
	json_object_set_new(e, "reading", json_integer(id));
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		json_t *v = json_object_get(o, names[i]);
		json_object_set(e, names[i], v ? v : json_null());
	}
	json_object_set_new(e, "rev", json_integer(rev));
	json_object_set_new(e, "from_rev", held ? json_integer(held) : json_null());
	json_object_set(e, "fields", fields);
	if (json_object_size(kept))
		json_object_set(e, "kept", kept);
	return e;
}

/*
 * A reading the office already holds, carried again at a later revision
 * of the device that first brought it (placed from a track, classed with
 * a water body given later, put in a site added after it was sent:
 * docs/sync.md, "Items changed after a sync"), takes that revision's
 * place, class and site, except those the office changed itself, which
 * stay as the office set them. What changed, and what the office kept
 * where the device now says otherwise, is an entry of a "reading update"
 * event (ru); a revision that changes nothing records nothing.
 */
static int follow_reading(struct pull_ctx *pc, const struct bundle_manifest *m, int64_t case_id,
			  json_t *o, double now, struct reading_updates *ru, char *err,
			  size_t errlen)
{
	struct store *s = pc->s;
	json_t *jrev = json_object_get(o, "rev");
	json_t *old = NULL, *fields = NULL, *kept = NULL;
	int rc = 0, r, c = (int)reading_rev_table.n;
	if (!json_is_integer(jrev) || json_integer_value(jrev) <= 0)
		return 0;
	json_int_t rev = json_integer_value(jrev);
	char *cols = bundle_col_list(&reading_rev_table, "r");
	char *sql = xasprintf("SELECT %s, si.name, r.id, COALESCE(r.src_rev, 0), r.office_fields"
			      " FROM readings r LEFT JOIN sites si ON si.id = r.site_id"
			      " WHERE r.raw_sha256 = ?1 AND r.parameter IS ?2"
			      " AND r.source IS ?3 AND r.line_no IS ?4 AND r.case_id = ?5"
			      " AND r.origin = 'pulled'"
			      " AND (r.src_device IS NULL OR r.src_device = ?6)",
			      cols);
	free(cols);
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	free(sql);
	if (!st)
		return EV_EDB;
	bundle_bind_row(st, 1, &reading_key_table, o);
	sqlite3_bind_int64(st, 5, case_id);
	sqlite3_bind_text(st, 6, m->device_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		if (r != SQLITE_DONE)
			rc = err_set(err, errlen, EV_EDB, "cannot read a reading: %s",
				     sqlite3_errmsg(store_db(s)));
		goto out;
	}
	int64_t id = sqlite3_column_int64(st, c + 1), held = sqlite3_column_int64(st, c + 2);
	int owned = (int)sqlite3_column_int64(st, c + 3);
	if (rev <= held)
		goto out;
	old = bundle_row_json(st, 0, &reading_rev_table);
	const char *site_was = (const char *)sqlite3_column_text(st, c);
	json_object_set_new(old, "site", site_was ? json_string(site_was) : json_null());
	sqlite3_finalize(st);
	st = NULL;

	fields = json_object();
	kept = json_object();
	for (size_t i = 0; i <= reading_rev_table.n; i++) {
		const char *name = i < reading_rev_table.n ? reading_rev_cols[i].name : "site";
		int group = i < reading_rev_table.n ? reading_rev_group[i] : REV_SITE;
		json_t *was = json_object_get(old, name), *now_v = json_object_get(o, name);
		if (same_value(was, now_v))
			continue;
		if (owned & group)
			add_pair(kept, name, "office", was, "device", now_v);
		else
			add_pair(fields, name, "from", was, "to", now_v);
	}
	st = store_prepare(s,
			   "UPDATE readings SET src_rev = ?1,"
			   " lat = CASE WHEN office_fields & 1 THEN lat ELSE ?2 END,"
			   " lon = CASE WHEN office_fields & 1 THEN lon ELSE ?3 END,"
			   " location_source = CASE WHEN office_fields & 1 THEN location_source"
			   "  ELSE ?4 END,"
			   " location_error_m = CASE WHEN office_fields & 1 THEN location_error_m"
			   "  ELSE ?5 END,"
			   " class = CASE WHEN office_fields & 12 THEN class ELSE ?6 END,"
			   " site_id = CASE WHEN office_fields & 4 THEN site_id"
			   "  ELSE (SELECT id FROM sites WHERE case_id = ?7 AND name = ?8) END"
			   " WHERE id = ?9",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, rev);
	bundle_bind_row(st, 2, &reading_rev_table, o);
	sqlite3_bind_int64(st, 7, case_id);
	json_t *site = json_object_get(o, "site");
	if (json_is_string(site))
		sqlite3_bind_text(st, 8, json_string_value(site), -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_int64(st, 9, id);
	if ((rc = step_done(s, st, "a reading's later revision", err, errlen)))
		goto out;
	if (json_object_size(fields) == 0 && json_object_size(kept) == 0)
		goto out;
	ru->updated += json_object_size(fields) > 0;
	ru->kept += json_object_size(kept) > 0;
	ru->moved += json_object_get(fields, "site") != NULL;
	if (!ru->list)
		ru->list = json_array();
	json_array_append_new(ru->list, reading_update_json(id, o, rev, held, fields, kept));
	if (json_array_size(ru->list) >= PULL_READINGS_PER_EVENT)
		rc = reading_updates_record(pc, m, ru, now, err, errlen);
out:
	sqlite3_finalize(st);
	json_decref(old);
	json_decref(fields);
	json_decref(kept);
	return rc;
}

/* Imports the validated, verified bundle: one transaction. */
static int import_bundle(struct pull_ctx *pc, struct bundle_manifest *m, const char *manifest_sha,
			 int new_key, int bind, int *n_items, int *n_had, int *n_updated,
			 int *n_notes, int *n_readings, int *n_readings_updated,
			 int *n_readings_moved, struct buf *changed,
			 char *err, size_t errlen)
{
	struct store *s = pc->s;
	sqlite3_stmt *st = NULL;
	char *sql = NULL, now_iso[32];
	int rc;
	double now = time_now();
	int64_t case_id;
	time_format_iso(now, now_iso);
	struct reading_updates ru = {0};
	*n_items = *n_had = *n_updated = *n_notes = *n_readings = *n_readings_updated = 0;
	*n_readings_moved = 0;

	if ((rc = store_begin(s, err, errlen)))
		return rc;
	/* the case: made from this bundle when the office has none; a pulled
	 * case then follows the newest bundle held (follow_case, below) */
	case_id = store_case_id(s, m->case_number);
	if (case_id < 0) {
		rc = err_set(err, errlen, EV_EDB, "cannot look up case %s", m->case_number);
		goto fail;
	}
	if (case_id == 0) {
		sql = insert_sql("cases", &bundle_case_cols, "key, origin", "?, 'pulled'", 0, NULL);
		st = store_prepare(s, sql, err, errlen);
		if (!st) {
			rc = EV_EDB;
			goto fail;
		}
		bundle_bind_row(st, 1, &bundle_case_cols, m->case_obj);
		sqlite3_bind_text(st, (int)bundle_case_cols.n + 1, m->case_key, -1, SQLITE_STATIC);
		if ((rc = step_done(s, st, "the case", err, errlen)))
			goto fail;
		case_id = sqlite3_last_insert_rowid(store_db(s));
		sqlite3_finalize(st);
		st = NULL;
		free(sql);
		sql = NULL;
	}

	/* sites by name, kept when the office has them */
	size_t i;
	json_t *o;
	sql = insert_sql("sites", &bundle_site_cols, "case_id", "?", 1, NULL);
	st = store_prepare(s, sql, err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto fail;
	}
	json_array_foreach(m->sites, i, o) {
		sqlite3_reset(st);
		bundle_bind_row(st, 1, &bundle_site_cols, o);
		sqlite3_bind_int64(st, (int)bundle_site_cols.n + 1, case_id);
		if ((rc = step_done(s, st, "a site", err, errlen)))
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	free(sql);

	/* items: an item the office already has (same SHA-256) is not doubled,
	 * but its notes are added and a later revision of its fields is
	 * followed (follow_item): a later bundle carries an item again when a
	 * note was added to it or its fields changed after it was sent; a
	 * note already here (same item, text, author and time) is not added
	 * twice */
	sql = insert_sql("items", &bundle_item_cols, "case_id, site_id, origin, bundle_id, src_rev",
			 "?, (SELECT id FROM sites WHERE case_id = ? AND name = ?), 'pulled', ?, ?",
			 1, NULL);
	st = store_prepare(s, sql, err, errlen);
	sqlite3_stmt *nst = store_prepare(s,
					  "INSERT INTO notes(item_id, text, author, created_at, origin)"
					  " SELECT ?1, ?2, ?3, ?4, 'pulled' WHERE NOT EXISTS (SELECT 1"
					  "  FROM notes WHERE item_id = ?1 AND text IS ?2"
					  "  AND author IS ?3 AND created_at IS ?4)",
					  err, errlen);
	sqlite3_stmt *ist = store_prepare(s, "SELECT id FROM items WHERE sha256 = ?", err, errlen);
	if (!st || !nst || !ist) {
		sqlite3_finalize(nst);
		sqlite3_finalize(ist);
		rc = EV_EDB;
		goto fail;
	}
	int n = (int)bundle_item_cols.n;
	json_array_foreach(m->items, i, o) {
		sqlite3_reset(st);
		bundle_bind_row(st, 1, &bundle_item_cols, o);
		sqlite3_bind_int64(st, n + 1, case_id);
		sqlite3_bind_int64(st, n + 2, case_id);
		json_t *site = json_object_get(o, "site");
		if (json_is_string(site))
			sqlite3_bind_text(st, n + 3, json_string_value(site), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, n + 3);
		sqlite3_bind_text(st, n + 4, m->bundle_id, -1, SQLITE_STATIC);
		json_t *rev = json_object_get(o, "rev");
		if (json_is_integer(rev))
			sqlite3_bind_int64(st, n + 5, json_integer_value(rev));
		else
			sqlite3_bind_null(st, n + 5);
		if ((rc = step_done(s, st, "an item", err, errlen))) {
			sqlite3_finalize(nst);
			sqlite3_finalize(ist);
			goto fail;
		}
		int64_t item_id = 0;
		if (sqlite3_changes(store_db(s)) == 0) {
			int up = 0;
			(*n_had)++;
			sqlite3_reset(ist);
			sqlite3_bind_text(ist, 1, json_string_value(json_object_get(o, "sha256")), -1,
					  SQLITE_TRANSIENT);
			if (sqlite3_step(ist) == SQLITE_ROW)
				item_id = sqlite3_column_int64(ist, 0);
			if ((rc = follow_item(pc, m, case_id, o, now, &up, err, errlen))) {
				sqlite3_finalize(nst);
				sqlite3_finalize(ist);
				goto fail;
			}
			*n_updated += up;
		} else {
			(*n_items)++;
			item_id = sqlite3_last_insert_rowid(store_db(s));
		}
		size_t k;
		json_t *note;
		json_array_foreach(json_object_get(o, "notes"), k, note) {
			if (item_id <= 0)
				break;
			sqlite3_reset(nst);
			sqlite3_bind_int64(nst, 1, item_id);
			bundle_bind_row(nst, 2, &bundle_note_cols, note);
			if ((rc = step_done(s, nst, "a note", err, errlen))) {
				sqlite3_finalize(nst);
				sqlite3_finalize(ist);
				goto fail;
			}
			*n_notes += sqlite3_changes(store_db(s));
		}
	}
	sqlite3_finalize(nst);
	sqlite3_finalize(ist);
	sqlite3_finalize(st);
	st = NULL;
	free(sql);

	/* a reading already here (a bundle may carry one again: sync.c,
	 * readings_mark_advance) is kept once; its key's columns may be NULL,
	 * which UNIQUE never matches, so they are compared with IS */
	n = (int)bundle_reading_cols.n;
	char *dedup = xasprintf("NOT EXISTS (SELECT 1 FROM readings WHERE raw_sha256 = ?%d"
				" AND parameter IS ?%d AND source IS ?%d AND line_no IS ?%d)",
				col_param(&bundle_reading_cols, "raw_sha256"),
				col_param(&bundle_reading_cols, "parameter"),
				col_param(&bundle_reading_cols, "source"),
				col_param(&bundle_reading_cols, "line_no"));
	sql = insert_sql("readings", &bundle_reading_cols,
			 "case_id, site_id, origin, src_rev, src_device",
			 "?, (SELECT id FROM sites WHERE case_id = ? AND name = ?), 'pulled', ?, ?", 1,
			 dedup);
	free(dedup);
	st = store_prepare(s, sql, err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto fail;
	}
	json_array_foreach(m->readings, i, o) {
		sqlite3_reset(st);
		bundle_bind_row(st, 1, &bundle_reading_cols, o);
		sqlite3_bind_int64(st, n + 1, case_id);
		sqlite3_bind_int64(st, n + 2, case_id);
		json_t *site = json_object_get(o, "site");
		if (json_is_string(site))
			sqlite3_bind_text(st, n + 3, json_string_value(site), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, n + 3);
		json_t *rev = json_object_get(o, "rev");
		if (json_is_integer(rev))
			sqlite3_bind_int64(st, n + 4, json_integer_value(rev));
		else
			sqlite3_bind_null(st, n + 4);
		sqlite3_bind_text(st, n + 5, m->device_id, -1, SQLITE_STATIC);
		if ((rc = step_done(s, st, "a reading", err, errlen)))
			goto fail;
		if (sqlite3_changes(store_db(s)))
			(*n_readings)++;
		else if ((rc = follow_reading(pc, m, case_id, o, now, &ru, err, errlen)))
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	free(sql);
	sql = NULL;
	if ((rc = reading_updates_record(pc, m, &ru, now, err, errlen)))
		goto fail;

	/* the field device's track, each of its receivers named with the
	 * device, so that two laptops' receivers stay two tracks here */
	st = store_prepare(s,
			   "INSERT OR IGNORE INTO fixes(t, time, lat, lon, alt, mode, eph, sats, source)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pulled:' || substr(?, 1, 16) || ':' || ?)",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto fail;
	}
	json_array_foreach(m->fixes, i, o) {
		sqlite3_reset(st);
		bundle_bind_row(st, 1, &bundle_fix_cols, o); /* source is the 9th */
		sqlite3_bind_text(st, 9, m->device_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, json_string_value(json_object_get(o, "source")), -1,
				  SQLITE_STATIC);
		if ((rc = step_done(s, st, "a GPS fix", err, errlen)))
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;

	st = store_prepare(s,
			   "INSERT OR IGNORE INTO foreign_custody(device_id, seq, event, prev_hash, hash,"
			   " bundle_id) VALUES (?, ?, ?, ?, ?, ?)",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto fail;
	}
	json_array_foreach(m->events, i, o) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, m->device_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(o, "seq")));
		json_t *ev = json_object_get(o, "event");
		sqlite3_bind_text(st, 3, json_string_value(ev), (int)json_string_length(ev),
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, json_string_value(json_object_get(o, "prev_hash")), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 5, json_string_value(json_object_get(o, "hash")), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 6, m->bundle_id, -1, SQLITE_STATIC);
		if ((rc = step_done(s, st, "a custody event", err, errlen)))
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;

	if ((new_key || bind) &&
	    (rc = record_key(pc, m, new_key, now, now_iso, err, errlen)))
		goto fail;

	st = store_prepare(s,
			   "INSERT INTO bundles(bundle_id, case_id, target, direction, manifest_sha256,"
			   " device_id, first_seq, last_seq, created_at, committed_at, case_fields,"
			   " previous)"
			   " VALUES (?, ?, ?, 'in', ?, ?, ?, ?, ?, ?, ?, ?)",
			   err, errlen);
	if (!st) {
		rc = EV_EDB;
		goto fail;
	}
	json_t *first = json_array_get(m->events, 0);
	sqlite3_bind_text(st, 1, m->bundle_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, case_id);
	sqlite3_bind_text(st, 3, pc->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, manifest_sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m->device_id, -1, SQLITE_STATIC);
	if (first)
		sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(first, "seq")));
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, m->head_seq);
	sqlite3_bind_text(st, 8, m->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, now_iso, -1, SQLITE_STATIC);
	char *case_text = json_dumps(m->case_obj, JSON_COMPACT | JSON_SORT_KEYS);
	sqlite3_bind_text(st, 10, case_text, -1, SQLITE_TRANSIENT);
	free(case_text);
	if (m->previous)
		sqlite3_bind_text(st, 11, m->previous, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	if ((rc = step_done(s, st, "the bundle record", err, errlen)))
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = follow_case(pc, m, case_id, now, changed, err, errlen)))
		goto fail;

	json_t *d = json_object();
	json_object_set_new(d, "target", json_string(target_url(pc->t)));
	json_object_set_new(d, "bundle_id", json_string(m->bundle_id));
	json_object_set_new(d, "device_id", json_string(m->device_id));
	json_object_set_new(d, "key_id", json_string(m->key_id));
	json_object_set_new(d, "manifest_sha256", json_string(manifest_sha));
	json_object_set_new(d, "items", json_integer(*n_items));
	json_object_set_new(d, "items_updated", json_integer(*n_updated));
	json_object_set_new(d, "notes", json_integer(*n_notes));
	json_object_set_new(d, "readings", json_integer(*n_readings));
	if (ru.updated || ru.kept) {
		json_object_set_new(d, "readings_updated", json_integer(ru.updated));
		json_object_set_new(d, "readings_kept", json_integer(ru.kept));
		json_object_set_new(d, "readings_moved", json_integer(ru.moved));
	}
	*n_readings_updated = ru.updated;
	*n_readings_moved = ru.moved;
	json_object_set_new(d, "events", json_integer((json_int_t)json_array_size(m->events)));
	rc = custody_append(s, now, pc->o->actor, "pull", m->case_number, NULL, d, NULL, err, errlen);
	json_decref(d);
	if (rc)
		goto fail;
	/* what came with a place and no site goes to the office's site that
	 * holds it, as what is placed here does; a site the bundle names
	 * (set above) is kept */
	if ((rc = sites_assign_cases(s, case_id, pc->o->actor, NULL, err, errlen)))
		goto fail;
	return store_commit(s, err, errlen);
fail:
	json_decref(ru.list);
	sqlite3_finalize(st);
	free(sql);
	store_rollback(s);
	return rc;
}

static int fetch_small(struct pull_ctx *pc, const char *bundle_id, const char *name, size_t max,
		       struct buf *out, char *err, size_t errlen)
{
	char *key = bundle_object_key(pc->case_key, bundle_id, name);
	char e2[512];
	int rc = EV_ENET;
	for (int tries = 0; tries < PULL_GET_TRIES && (rc == EV_ENET || rc == EV_EIO); tries++) {
		buf_reset(out);
		rc = target_get(pc->t, key, 0, max, buf_sink, out, e2, sizeof e2);
	}
	if (rc == EV_ELIMIT)
		err_set(err, errlen, rc, "%s is larger than the %zu bytes allowed", name, max);
	else if (rc)
		err_set(err, errlen, rc, "%s: %s", name, e2);
	free(key);
	return rc;
}

/*
 * Pulls one bundle. *local is set when what failed is the office's own
 * (its staging files, its blob store, its database): nothing is then known
 * against the bundle, and what was downloaded is kept for the next pull.
 */
static int pull_bundle(struct pull_ctx *pc, const char *bundle_id, int *n_items, int *local,
		       char *msg, size_t msglen)
{
	struct buf mtext, stext;
	struct bundle_manifest *m = NULL;
	char msha[SHA256_HEX_LEN + 1];
	struct buf changed;
	int rc, new_key = 0, bind = 0, n_had = 0, n_updated = 0, n_notes = 0, n_readings = 0;
	int n_readings_updated = 0, n_readings_moved = 0;
	pc->updated = pc->readings_updated = 0;
	buf_init(&mtext, BUNDLE_MANIFEST_MAX);
	buf_init(&stext, MINISIGN_SIGFILE_MAX);
	buf_init(&changed, 512);
	*n_items = 0;
	*local = 0;

	if ((rc = fetch_small(pc, bundle_id, BUNDLE_MANIFEST, BUNDLE_MANIFEST_MAX, &mtext, msg,
			      msglen)) ||
	    (rc = fetch_small(pc, bundle_id, BUNDLE_SIGNATURE, MINISIGN_SIGFILE_MAX, &stext, msg,
			      msglen)))
		goto out;
	struct minisign_sig sig;
	char e2[512];
	if ((rc = minisign_sig_parse(stext.data, stext.len, &sig, e2, sizeof e2))) {
		rc = err_set(msg, msglen, EV_EAUTH, "signature file: %s", e2);
		goto out;
	}
	/* signature first when the key is known: nothing unauthenticated is
	 * parsed further than the signature file */
	rc = check_signature(pc, NULL, &mtext, &sig, &new_key, msg, msglen);
	if (rc && rc != EV_ENOENT)
		goto out;
	if ((rc = bundle_manifest_parse(mtext.data, mtext.len, pc->case_key, bundle_id, &m, msg,
					msglen)))
		goto out;
	/* again with the parsed manifest: its named key must be the signer,
	 * and an untrusted key is accepted only with --trust-new */
	if ((rc = check_signature(pc, m, &mtext, &sig, &new_key, msg, msglen)))
		goto out;
	if ((rc = check_key_device(pc, m, &bind, msg, msglen)))
		goto out;
	if ((rc = check_foreign_chain(pc, m, msg, msglen)))
		goto out;
	sha256_hex(mtext.data, mtext.len, msha);
	/* every blob fetched and verified before any is placed */
	for (size_t i = 0; i < m->n_blobs; i++) {
		if (store_has_blob(pc->s, m->blobs[i].sha256))
			continue;
		if ((rc = fetch_blob(pc, &m->blobs[i], local, msg, msglen)))
			goto out;
	}
	/* from here on, a failure is the office store's own */
	for (size_t i = 0; i < m->n_blobs; i++) {
		if (store_has_blob(pc->s, m->blobs[i].sha256))
			continue;
		if ((rc = place_blob(pc, &m->blobs[i], msg, msglen))) {
			*local = 1;
			goto out;
		}
	}
	if ((rc = import_bundle(pc, m, msha, new_key, bind, n_items, &n_had, &n_updated, &n_notes,
				&n_readings, &n_readings_updated, &n_readings_moved, &changed, msg,
				msglen))) {
		*local = 1;
		goto out;
	}
	char kid[MINISIGN_KEYID_HEX], updated_text[64] = "", readings_text[96] = "";
	snprintf(kid, sizeof kid, "%s", m->key_id);
	if (n_updated)
		snprintf(updated_text, sizeof updated_text, ", %d of them updated to a later revision",
			 n_updated);
	pc->updated = n_updated;
	pc->readings_updated = n_readings_updated;
	if (n_readings_moved)
		snprintf(readings_text, sizeof readings_text,
			 ", %d of them updated to a later revision, %d now in another site",
			 n_readings_updated, n_readings_moved);
	else if (n_readings_updated)
		snprintf(readings_text, sizeof readings_text,
			 ", %d of them updated to a later revision", n_readings_updated);
	size_t n_fixes = json_array_size(m->fixes), n_events = json_array_size(m->events);
	snprintf(msg, msglen,
		 "imported %d item%s (%d already here%s), %d note%s, %d reading%s (%d already "
		 "here%s), %zu GPS fix%s, %zu custody event%s from device %s, signed by key %s%s",
		 *n_items, *n_items == 1 ? "" : "s", n_had, updated_text, n_notes,
		 n_notes == 1 ? "" : "s", n_readings, n_readings == 1 ? "" : "s",
		 (int)json_array_size(m->readings) - n_readings, readings_text, n_fixes,
		 n_fixes == 1 ? "" : "es", n_events, n_events == 1 ? "" : "s", m->device_id, kid,
		 new_key ? " (now trusted, and tied to the device)"
			 : bind ? " (now tied to the device)" : "");
	if (changed.len) {
		size_t n = strlen(msg);
		snprintf(msg + n, msglen - n, "; case fields from bundle %s", changed.data);
	}
out:
	if (rc && *local) {
		char why[900];
		snprintf(why, sizeof why, "%.880s", msg);
		snprintf(msg, msglen, "office store: %s", why);
	}
	if (rc && m && !*local && rc != EV_ENET && rc != EV_EIO) {
		/* staged copies of a refused bundle are not kept */
		for (size_t i = 0; i < m->n_blobs; i++) {
			char *p = staging_path(pc, m->blobs[i].sha256);
			unlink(p);
			free(p);
		}
	}
	bundle_manifest_free(m);
	buf_free(&mtext);
	buf_free(&stext);
	buf_free(&changed);
	return rc;
}

/* A partial download of a blob that no bundle of this pull named is kept
 * this long, for a pull of its own case to go on from. */
#define PULL_PART_KEEP_SECONDS (24 * 3600)

/*
 * After a pull that left nothing pending, removes the staging files no
 * pull will finish: a part of a blob the store now holds (a pull stopped
 * between placing it and removing the part), and any other part not
 * written to for PULL_PART_KEEP_SECONDS (a pull of some case, killed or
 * cut, that was not run again). Other cases' recent parts stay for their
 * next pull. The store is locked (sync.lock) while this runs, so no other
 * pull is writing here.
 */
static void sweep_staging(struct pull_ctx *pc)
{
	DIR *d = opendir(pc->staging);
	struct dirent *e;
	int removed = 0;
	time_t now = time(NULL);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sha[SHA256_HEX_LEN + 1];
		struct stat st;
		size_t n = strlen(e->d_name);
		if (n != SHA256_HEX_LEN + 5 || strcmp(e->d_name + SHA256_HEX_LEN, ".part") != 0)
			continue;
		memcpy(sha, e->d_name, SHA256_HEX_LEN);
		sha[SHA256_HEX_LEN] = '\0';
		if (!sha256_hex_valid(sha) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if ((store_has_blob(pc->s, sha) || now - st.st_mtime > PULL_PART_KEEP_SECONDS) &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		log_info("%s: removed %d partial download%s that no pull will finish", pc->staging,
			 removed, removed == 1 ? "" : "s");
}

static int bundle_known(struct store *s, const char *bundle_id)
{
	int known = 0;
	sqlite3_stmt *st = store_prepare(s, "SELECT 1 FROM bundles WHERE bundle_id = ?", NULL, 0);
	if (st) {
		sqlite3_bind_text(st, 1, bundle_id, -1, SQLITE_STATIC);
		known = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return known;
}

/*
 * When nothing was found under cases/KEY/bundles/: a folder a file
 * manager renamed or copied ("cases/KEY (1)", "cases/Copy of KEY",
 * "cases/KEY/bundles - Copy"). The first such name is kept to be named,
 * as the target gave it.
 */
struct renamed {
	const char *key;
	char *found;
};

static int renamed_each(void *ctx, const struct target_entry *e)
{
	struct renamed *r = ctx;
	if (r->found || strncmp(e->key, "cases/", 6) != 0)
		return 0;
	const char *name = e->key + 6;
	size_t n = seg_len(name), kl = strlen(r->key);
	if (!n)
		return 0;
	if (n == kl && !memcmp(name, r->key, kl)) {
		/* the case's own folder: its "bundles" folder renamed? */
		const char *sub = name[n] == '/' ? name + n + 1 : "";
		size_t sl = seg_len(sub);
		if (sl > 7 && !memcmp(sub, "bundles", 7))
			r->found = xstrndup(e->key, (size_t)(sub - e->key) + sl);
	} else if (memmem(name, n, r->key, kl)) {
		r->found = xstrndup(e->key, (size_t)(name - e->key) + n);
	}
	return 0;
}

/* Looks for such a folder; a target that cannot be listed, or holds more
 * than a few thousand keys under cases/, gives no hint. */
static void find_renamed(struct target *t, const char *case_key, struct pull_report *rep)
{
	struct renamed r = {.key = case_key};
	char err[256];
	if (target_list(t, "cases/", 20000, renamed_each, &r, err, sizeof err) == 0 && r.found)
		ingest_display_text(r.found, strlen(r.found), rep->renamed, sizeof rep->renamed);
	free(r.found);
}

/*
 * Bundles missing from the target. Each bundle names the one its device
 * sent before it for the case to the same target; when a bundle pulled
 * from this target names one that this store does not hold and that the
 * target does not list, that one was deleted or moved away there, and
 * what it carried (items, readings, custody events) never reached this
 * office. So it is when the target holds its folder without COMMITTED:
 * the device names only a bundle it committed, so that file was lost
 * since (a copy cut short). Said once for each, and recorded in the
 * custody log ("bundle missing"); a bundle the target lists whole but
 * that was refused or could not be read is said of already, by name, at
 * every pull. Only a bundle the target itself holds is looked at (the
 * device's bundles to one target name each other): what a bundle pulled
 * from another disk or bucket names says nothing of this one, even at
 * the same path.
 */
struct gap {
	char *missing, *named_by, *device, *made;
	int uncommitted; /* its folder is there, without COMMITTED */
};

static const char *text_or(sqlite3_stmt *st, int k)
{
	const char *v = (const char *)sqlite3_column_text(st, k);
	return v ? v : "?";
}

static int find_missing(struct pull_ctx *pc, const struct listing *l, struct pull_report *rep,
			char *err, size_t errlen)
{
	struct store *s = pc->s;
	int64_t case_id = store_case_id(s, pc->o->case_number);
	struct gap *g = NULL;
	size_t n = 0;
	int rc = 0;
	if (case_id <= 0)
		return 0;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT b.previous, b.bundle_id, b.device_id, b.created_at,"
		" b.previous_missing IS NOT NULL FROM bundles b"
		" WHERE b.case_id = ? AND b.direction = 'in' AND b.previous IS NOT NULL"
		" AND " STORE_SQL_PREVIOUS_UNHELD
		" ORDER BY b.id",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *prev = (const char *)sqlite3_column_text(st, 0);
		const char *by = (const char *)sqlite3_column_text(st, 1);
		/* only a bundle this target holds says what else it should
		 * hold: one pulled from another disk or bucket says nothing of
		 * this one */
		if (!prev || !by || !listing_has(l, by))
			continue;
		const struct listed *e = listing_find(l, prev);
		if (e && !e->uncommitted)
			continue;
		/* committed once, as a later bundle names it: not to be counted
		 * among the bundles an interrupted sync left, at any pull */
		if (e && rep->not_committed > 0)
			rep->not_committed--;
		if (sqlite3_column_int(st, 4)) /* said already */
			continue;
		g = xrealloc(g, (n + 1) * sizeof *g);
		g[n].uncommitted = e != NULL;
		g[n].missing = xstrdup(prev);
		g[n].named_by = xstrdup(text_or(st, 1));
		g[n].device = xstrdup(text_or(st, 2));
		g[n].made = xstrdup(text_or(st, 3));
		n++;
	}
	rc = rc == SQLITE_DONE ? 0
			       : err_set(err, errlen, EV_EDB, "cannot read the bundles pulled: %s",
					 sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		char now_iso[32];
		double now = time_now();
		time_format_iso(now, now_iso);
		if ((rc = store_begin(s, err, errlen)))
			break;
		st = store_prepare(s, "UPDATE bundles SET previous_missing = ? WHERE bundle_id = ?",
				   err, errlen);
		if (!st) {
			rc = EV_EDB;
		} else {
			sqlite3_bind_text(st, 1, now_iso, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, g[i].named_by, -1, SQLITE_STATIC);
			rc = step_done(s, st, "the bundle record", err, errlen);
			sqlite3_finalize(st);
			st = NULL;
		}
		if (!rc) {
			json_t *d = json_object();
			json_object_set_new(d, "target", json_string(pc->name));
			json_object_set_new(d, "bundle_id", json_string(g[i].missing));
			json_object_set_new(d, "device_id", json_string(g[i].device));
			json_object_set_new(d, "named_by", json_string(g[i].named_by));
			if (g[i].uncommitted)
				json_object_set_new(d, "without_committed", json_true());
			rc = custody_append(s, now, pc->o->actor, "bundle missing",
					    pc->o->case_number, NULL, d, NULL, err, errlen);
			json_decref(d);
		}
		if (rc || (rc = store_commit(s, err, errlen))) {
			store_rollback(s);
			break;
		}
		rep->missing++;
		if (pc->o->missing) {
			char *msg = xasprintf(
				"case %s: bundle %s from device %s is not on the target %s%s, nor in "
				"this store: bundle %s (made %s), pulled from there, names it as the "
				"one that device sent before it for this case. It was %s, and what it "
				"held has not reached this office; it is still on the device: sync the "
				"case from it to another target and pull from there. Recorded in the "
				"custody log (\"bundle missing\"); not said again",
				pc->o->case_number, g[i].missing, g[i].device, target_url(pc->t),
				g[i].uncommitted ? " whole (its folder is there without COMMITTED)"
						 : "",
				g[i].named_by, g[i].made,
				g[i].uncommitted ? "committed once, so that file was lost since (a "
						   "copy cut short?)"
						 : "deleted or moved on the target");
			pc->o->missing(pc->o->report_ctx, g[i].missing, g[i].named_by, g[i].device,
				       msg);
			free(msg);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(g[i].missing);
		free(g[i].named_by);
		free(g[i].device);
		free(g[i].made);
	}
	free(g);
	return rc;
}

/*
 * A bundle the target holds that pull refused (its signature, manifest or
 * blobs do not check) is recorded in the custody log as "bundle refused",
 * with the target and the reason, once for each reason: what it held did
 * not reach this office, and the record says so until it does (verify's
 * note and the report's bundles not received). A failure to record it is
 * added to msg; the refusal itself is said either way.
 */
static void record_refusal(struct pull_ctx *pc, const char *bundle_id, char *msg, size_t msglen)
{
	struct store *s = pc->s;
	char err[512];
	int rc, said = 0;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT 1 FROM custody WHERE case_number = ?1 AND action = 'bundle refused'"
		" AND json_extract(event, '$.detail.bundle_id') = ?2"
		" AND json_extract(event, '$.detail.reason') = ?3 LIMIT 1",
		err, sizeof err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, pc->o->case_number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, bundle_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	said = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (said)
		return;
	if (rc != SQLITE_DONE) {
		snprintf(err, sizeof err, "%s", sqlite3_errmsg(store_db(s)));
		goto fail;
	}
	if (store_begin(s, err, sizeof err))
		goto fail;
	json_t *d = json_object();
	json_object_set_new(d, "target", json_string(pc->name));
	json_object_set_new(d, "bundle_id", json_string(bundle_id));
	json_object_set_new(d, "reason", json_string(msg));
	rc = custody_append(s, time_now(), pc->o->actor, "bundle refused", pc->o->case_number,
			    NULL, d, NULL, err, sizeof err);
	json_decref(d);
	if (rc || store_commit(s, err, sizeof err)) {
		store_rollback(s);
		goto fail;
	}
	return;
fail:;
	size_t n = strlen(msg);
	snprintf(msg + n, msglen - n, " (not recorded in the custody log: %s)", err);
}

/* When a bundle just imported is one this store had said was missing:
 * appended to its summary. */
static void missing_before(struct store *s, const char *bundle_id, char *msg, size_t msglen)
{
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT bundle_id, previous_missing FROM bundles"
					 " WHERE previous = ? AND previous_missing IS NOT NULL LIMIT 1",
					 NULL, 0);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, bundle_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		size_t k = strlen(msg);
		snprintf(msg + k, msglen - k,
			 "; this store had said on %s that it was missing (bundle %s names it)",
			 (const char *)sqlite3_column_text(st, 1),
			 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

int pull_run(struct store *s, const struct pull_opts *o, struct pull_report *rep, char *err,
	     size_t errlen)
{
	struct pull_ctx pc = {.s = s, .o = o};
	struct listing l = {0};
	char *prefix = NULL;
	int rc, lock = -1, local_fault = 0;
	memset(rep, 0, sizeof *rep);
	if (!o->case_number || !*o->case_number)
		return err_set(err, errlen, EV_EINVAL, "pull needs --case CASE");
	if ((lock = sync_lock(s, err, errlen)) < 0)
		return lock;
	store_case_key(o->case_number, pc.case_key);
	pc.staging = xasprintf("%s/" PULL_STAGING, store_dir(s));
	if ((rc = fs_mkdir_p(pc.staging, 0700, err, errlen)))
		goto out;
	if ((rc = target_open(o->target_url, &o->topts, &pc.t, err, errlen)))
		goto out;
	/* a disk's id, where a sync left one, names the bundles pulled from
	 * it; a disk without one (or with a damaged one, which sync names)
	 * is named by its path */
	pc.name = target_name(pc.t);
	prefix = bundle_case_prefix(pc.case_key);
	l.prefix = prefix;
	l.prefix_len = strlen(prefix);
	if ((rc = target_list(pc.t, prefix, PULL_MAX_KEYS, list_each, &l, err, errlen))) {
		if (rc == EV_ELIMIT && l.n >= PULL_MAX_BUNDLES)
			err_set(err, errlen, rc, "the target holds more than %d bundles of case %s",
				PULL_MAX_BUNDLES, o->case_number);
		goto out;
	}
	listing_sort(&l);
	rep->not_read = report_not_read(&l, o, target_url(pc.t));
	if (l.n == 0 && rep->not_read == 0)
		find_renamed(pc.t, pc.case_key, rep);
	for (size_t i = 0; i < l.n && !local_fault; i++) {
		char msg[1024];
		const char *id = l.b[i].id;
		int n_items = 0, local = 0;
		enum pull_outcome how = PULL_IMPORTED;
		if (!l.b[i].odd && !l.b[i].committed) {
			/* not committed, or COMMITTED is something a listing
			 * does not show as a file (a directory): ask */
			char *ckey = bundle_object_key(pc.case_key, id, BUNDLE_COMMITTED);
			int present = 0;
			rc = target_stat(pc.t, ckey, NULL, 0, &present, msg, sizeof msg);
			free(ckey);
			if (rc && rc != EV_ECORRUPT) {
				err_set(err, errlen, rc, "%s", msg);
				goto out;
			}
			if (rc == EV_ECORRUPT) {
				l.b[i].odd = xstrdup(msg);
			} else if (!present) {
				rep->not_committed++;
				l.b[i].uncommitted = 1;
				continue;
			}
		}
		if (bundle_known(s, id)) {
			rep->bundles_seen++;
			rep->already++;
			continue;
		}
		rep->bundles_seen++;
		if (l.b[i].odd) {
			snprintf(msg, sizeof msg, "%s", l.b[i].odd);
			rc = EV_ECORRUPT;
		} else {
			rc = pull_bundle(&pc, id, &n_items, &local, msg, sizeof msg);
		}
		if (rc && (local || rc == EV_ENET || rc == EV_EIO)) {
			/* a full disk fails every bundle after it the same way */
			how = PULL_NOT_IMPORTED;
			rep->not_imported++;
			local_fault = local;
		} else if (rc) {
			how = PULL_REFUSED;
			rep->refused++;
			record_refusal(&pc, id, msg, sizeof msg);
		} else {
			rep->imported++;
			rep->items += n_items;
			rep->items_updated += pc.updated;
			rep->readings_updated += pc.readings_updated;
			missing_before(s, id, msg, sizeof msg);
		}
		if (o->report)
			o->report(o->report_ctx, id, how, msg);
	}
	if (!local_fault && (rc = find_missing(&pc, &l, rep, err, errlen)))
		goto out;
	if (local_fault)
		rc = err_set(err, errlen, EV_EIO,
			     "the office store failed (above), so the pull stopped; what was "
			     "downloaded is kept in %s and the next pull goes on from it",
			     pc.staging);
	else if (rep->refused)
		rc = err_set(err, errlen, EV_ECORRUPT, "%d of %d bundle%s refused", rep->refused,
			     rep->bundles_seen, rep->bundles_seen == 1 ? "" : "s");
	else if (rep->not_imported)
		rc = err_set(err, errlen, EV_ENET,
			     "%d of %d bundle%s could not be read from the target; the next pull "
			     "tries %s again",
			     rep->not_imported, rep->bundles_seen, rep->bundles_seen == 1 ? "" : "s",
			     rep->not_imported == 1 ? "it" : "them");
	else
		rc = 0;
	if (!rep->not_imported)
		sweep_staging(&pc);
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.b[i].id);
		free(l.b[i].odd);
	}
	free(l.b);
	for (size_t i = 0; i < l.n_nr; i++) {
		free(l.nr[i].entry);
		free(l.nr[i].what);
	}
	free(l.nr);
	free(l.nr_last);
	free(prefix);
	target_free(pc.t);
	free(pc.name);
	free(pc.staging);
	sync_unlock(lock);
	return rc;
}
