/*
 * The s3:// target over the S3 client. Objects are written with
 * If-None-Match: * (never replaced), Content-MD5 and the body's SHA-256
 * (x-amz-content-sha256, and x-amz-meta-sha256 so a later HEAD can tell
 * whether a blob already there is the same), and with COMPLIANCE retention
 * when asked. Files over one part go up as multipart uploads whose upload
 * id and finished parts are journalled through the caller, and reconciled
 * with ListParts (by each part's MD5) before anything is sent again.
 * A small file or one part is read once into a buffer, hashed from there
 * and sent from there, so no byte is read from the disk twice; the next
 * small file is read and hashed on a second thread while the server is
 * still busy with the one before.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "log.h"
#include "s3.h"
#include "target_impl.h"
#include "target_s3_internal.h"
#include "timeutil.h"

#define PART_SIZE ((uint64_t)8 << 20)
#define MAX_PARTS 10000
#define IO_CHUNK (1 << 20)
/* hashing runs over the buffer in slices that stay in the CPU's cache
 * while both digests pass over them */
#define HASH_SLICE (256 << 10)

struct digests {
	char sha_hex[SHA256_HEX_LEN + 1];
	char md5_hex[33];
	char md5_b64[25];
	int name_mismatch; /* the bytes do not hash to the blob's name */
};

/* A small file read and hashed ahead on its own thread. Between
 * pthread_create and pthread_join only that thread touches path .. err_no;
 * the join hands them back. The hint is the caller's alone. */
struct prefetch {
	int running;          /* a thread was started and not yet joined */
	pthread_t thread;
	char *path;
	char sha_hex[SHA256_HEX_LEN + 1];
	uint64_t size;
	unsigned char *buf;   /* PART_SIZE bytes */
	struct digests d;
	int rc;               /* 0, or EV_EIO with err_no */
	int err_no;
	/* the next file, as hinted: read once the upload before it starts */
	char *hint_path;
	char hint_sha[SHA256_HEX_LEN + 1];
	uint64_t hint_size;
};

struct s3_target {
	struct s3 *c;
	unsigned char *iobuf; /* PART_SIZE bytes once used: one small file or one part */
	struct prefetch pf;
	char *bucket;
	char *prefix; /* "" or "a/b/" */
	int lock;     /* the bucket has Object Lock */
	int retain_days;
	int max_attempts;
	char info[320];
};

static char *full_key(struct s3_target *t, const char *key)
{
	return xasprintf("%s%s", t->prefix, key);
}

/* ---- digests of a buffer or a file range ---- */

static void finish_digests(EVP_MD_CTX *md5, struct sha256 *sha, struct digests *d)
{
	unsigned char m[16];
	unsigned int ml = 16;
	uint8_t s[SHA256_LEN];
	EVP_DigestFinal_ex(md5, m, &ml);
	sha256_final(sha, s);
	hex_encode(s, SHA256_LEN, d->sha_hex);
	hex_encode(m, 16, d->md5_hex);
	sodium_bin2base64(d->md5_b64, sizeof d->md5_b64, m, 16, sodium_base64_VARIANT_ORIGINAL);
}

/* Digests of a file range, streamed: used to check parts the server lists,
 * which must not disturb a part waiting in the target's buffer. */
static int digest_range(int fd, uint64_t off, uint64_t len, struct digests *d)
{
	EVP_MD_CTX *md5 = EVP_MD_CTX_new();
	struct sha256 *sha = sha256_new();
	char *chunk = xmalloc(IO_CHUNK);
	int rc = 0;
	if (!md5 || EVP_DigestInit_ex(md5, EVP_md5(), NULL) != 1)
		abort();
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < IO_CHUNK ? (size_t)(len - done) : IO_CHUNK;
		ssize_t r = pread(fd, chunk, n, (off_t)(off + done));
		if (r <= 0) {
			rc = EV_EIO;
			break;
		}
		n = (size_t)r;
		EVP_DigestUpdate(md5, chunk, n);
		sha256_update(sha, chunk, n);
		done += n;
	}
	finish_digests(md5, sha, d);
	EVP_MD_CTX_free(md5);
	sha256_free(sha);
	free(chunk);
	return rc;
}

/* MD5 and SHA-256 of p[0..n) in one pass over the bytes. When sha_hex is
 * given (a blob, named by its SHA-256) the bytes are checked against the
 * name here, before anything is sent: not every S3-compatible server
 * checks x-amz-content-sha256, and on an Object Lock bucket a damaged
 * object once written could never be replaced. */
static void digest_mem(const void *p, size_t n, const char *sha_hex, struct digests *d)
{
	EVP_MD_CTX *md5 = EVP_MD_CTX_new();
	struct sha256 *sha = sha256_new();
	unsigned char m[16];
	unsigned int ml = 16;
	uint8_t s[SHA256_LEN];
	if (!md5 || EVP_DigestInit_ex(md5, EVP_md5(), NULL) != 1)
		abort();
	for (size_t done = 0; done < n;) {
		size_t k = n - done < HASH_SLICE ? n - done : HASH_SLICE;
		EVP_DigestUpdate(md5, (const char *)p + done, k);
		sha256_update(sha, (const char *)p + done, k);
		done += k;
	}
	sha256_final(sha, s);
	hex_encode(s, SHA256_LEN, d->sha_hex);
	d->name_mismatch = sha_hex && strcmp(d->sha_hex, sha_hex) != 0;
	if (sha_hex)
		snprintf(d->sha_hex, sizeof d->sha_hex, "%s", sha_hex);
	EVP_DigestFinal_ex(md5, m, &ml);
	hex_encode(m, 16, d->md5_hex);
	sodium_bin2base64(d->md5_b64, sizeof d->md5_b64, m, 16, sodium_base64_VARIANT_ORIGINAL);
	EVP_MD_CTX_free(md5);
	sha256_free(sha);
}

/* Reads fd[off..off+len) into dst (len <= PART_SIZE) with large reads.
 * 0, or EV_EIO with errno when the file is shorter or unreadable. */
static int load_range(unsigned char *dst, int fd, uint64_t off, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		ssize_t r = pread(fd, dst + done, (size_t)(len - done), (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* shorter than its size says */
			return EV_EIO;
		}
		done += (uint64_t)r;
	}
	return 0;
}

/* ---- headers every write carries ---- */

struct put_headers {
	struct sigv4_pair h[6];
	size_t n;
	char until[32];
};

static void put_headers(struct s3_target *t, const char *sha_hex, int if_none_match,
			struct put_headers *ph)
{
	ph->n = 0;
	if (if_none_match)
		ph->h[ph->n++] = (struct sigv4_pair){"if-none-match", "*"};
	if (sha_hex)
		ph->h[ph->n++] = (struct sigv4_pair){"x-amz-meta-sha256", sha_hex};
	if (t->retain_days > 0) {
		/* the server's clock, not the laptop's, decides when it expires */
		double until = floor(s3_now(t->c)) + (double)t->retain_days * 86400.0;
		time_format_iso(until, ph->until);
		ph->h[ph->n++] = (struct sigv4_pair){"x-amz-object-lock-mode", "COMPLIANCE"};
		ph->h[ph->n++] = (struct sigv4_pair){"x-amz-object-lock-retain-until-date", ph->until};
	}
}

/* ---- stat ---- */

static int hash_sink(void *ctx, const void *p, size_t n)
{
	sha256_update(ctx, p, n);
	return 0;
}

static int check_retention(struct s3_target *t, const char *key, const char *k,
			   const struct s3_response *head, char *err, size_t errlen);

/* HEADs key; with retention, an object found there that is ours also has
 * its retention checked (check_retention). */
static int stat_object(struct s3_target *t, const char *key, const char *sha_hex, uint64_t size,
		       int retention, int *present, char *err, size_t errlen)
{
	struct s3_response resp;
	char *k = full_key(t, key);
	int rc;
	s3_response_init(&resp);
	struct s3_request r = {.method = "HEAD", .bucket = t->bucket, .key = k, .body_fd = -1,
			       .range_from = -1};
	rc = s3_do(t->c, &r, &resp, err, errlen);
	if (rc)
		goto out;
	if (resp.status == 404) {
		*present = 0;
		goto out;
	}
	if (resp.status != 200) {
		rc = s3_fail(&resp, key, EV_ENET, err, errlen);
		goto out;
	}
	*present = 1;
	if (size && resp.has_length && resp.content_length != size) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "%s: already on the target with %llu bytes, expected %llu", key,
			     (unsigned long long)resp.content_length, (unsigned long long)size);
		goto out;
	}
	if (sha_hex && resp.meta_sha256[0]) {
		if (strcmp(resp.meta_sha256, sha_hex) != 0)
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "%s: already on the target with a different SHA-256", key);
	} else if (sha_hex) {
		/* written by another tool: only its bytes can say */
		struct sha256 *h = sha256_new();
		char got[SHA256_HEX_LEN + 1];
		uint8_t d[SHA256_LEN];
		struct s3_response g;
		s3_response_init(&g);
		struct s3_request gr = {.method = "GET", .bucket = t->bucket, .key = k, .body_fd = -1,
					.range_from = -1, .sink = hash_sink, .sink_ctx = h,
					.sink_max = size ? size : UINT64_MAX};
		rc = s3_do(t->c, &gr, &g, err, errlen);
		if (!rc && g.status != 200)
			rc = s3_fail(&g, key, EV_ENET, err, errlen);
		sha256_final(h, d);
		hex_encode(d, SHA256_LEN, got);
		if (!rc && strcmp(got, sha_hex) != 0)
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "%s: already on the target with different content", key);
		sha256_free(h);
		s3_response_free(&g);
	}
	if (!rc && retention)
		rc = check_retention(t, key, k, &resp, err, errlen);
out:
	s3_response_free(&resp);
	free(k);
	return rc;
}

/* Every way an object is found already there (a HEAD before sending, a
 * 412 answer, a resume whose upload the server had finished) checks its
 * retention: the run that wrote it may have been stopped before setting
 * it (a multipart upload's is set after it is completed). */
static int s3t_stat(void *impl, const char *key, const char *sha_hex, uint64_t size,
		    int *present, char *err, size_t errlen)
{
	return stat_object(impl, key, sha_hex, size, 1, present, err, errlen);
}

/* After 412 Precondition Failed: the object exists; is it ours? */
static int exists_same(struct s3_target *t, const char *key, const char *sha_hex, uint64_t size,
		       char *err, size_t errlen)
{
	int present = 0;
	int rc = s3t_stat(t, key, sha_hex, size, &present, err, errlen);
	if (rc == EV_ECORRUPT)
		return err_set(err, errlen, EV_EEXIST,
			       "%s: the target already holds a different object there; not replaced",
			       key);
	if (!rc && !present)
		rc = err_set(err, errlen, EV_ENET, "%s: the object vanished after a conflict", key);
	return rc;
}

/* ---- single PUT ---- */

/* PUTs body[0..n) with its digests d. For a blob (named, not hashed here)
 * the server's check of x-amz-content-sha256 is what catches a local copy
 * that no longer matches its name. */
static int put_object(struct s3_target *t, const char *key, const void *body, size_t n,
		      const struct digests *d, int named, int *existed, char *err, size_t errlen)
{
	struct put_headers ph;
	struct s3_response resp;
	char *k = full_key(t, key);
	int rc;
	s3_response_init(&resp);
	if (named && d->name_mismatch) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "the local copy of %s does not hash to its name; not sent (run evcap "
			     "verify)",
			     key);
		goto out;
	}
	put_headers(t, d->sha_hex, 1, &ph);
	struct s3_request r = {.method = "PUT", .bucket = t->bucket, .key = k, .headers = ph.h,
			       .n_headers = ph.n, .body = body, .body_len = n, .body_fd = -1,
			       .body_sha256 = d->sha_hex, .content_md5 = d->md5_b64, .range_from = -1,
			       .progress_label = key};
	rc = s3_do(t->c, &r, &resp, err, errlen);
	if (rc)
		goto out;
	if (resp.status == 412) {
		rc = exists_same(t, key, d->sha_hex, n, err, errlen);
		if (!rc && existed)
			*existed = 1;
	}
	else if (named && resp.status == 400 && !strcmp(resp.code, "XAmzContentSHA256Mismatch"))
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "the local copy of %s does not hash to its name (the server computed "
			     "another SHA-256); run evcap verify",
			     key);
	else if (resp.status != 200)
		rc = s3_fail(&resp, key, resp.status == 404 ? EV_ENOENT : EV_ERR, err, errlen);
out:
	s3_response_free(&resp);
	free(k);
	return rc;
}

/* ---- multipart ---- */

struct part {
	char etag[128];
	int done;
};

/* Parts asked for in one ListParts page: the server's own page (1,000 on
 * S3 and RGW), or $EVCAP_S3_LIST_PARTS_PAGE (1 to 1000), which lets a
 * test walk the pages of a small upload. "" for the server's. */
static void list_parts_page(char out[8])
{
	const char *e = getenv("EVCAP_S3_LIST_PARTS_PAGE");
	char *end;
	long v = e ? strtol(e, &end, 10) : 0;
	if (e && *end == '\0' && v >= 1 && v <= 1000)
		snprintf(out, 8, "%ld", v);
	else
		out[0] = '\0';
}

/* Asks the server which parts it holds, page by page; a listed part whose
 * size and MD5 match ours counts as done. 0, EV_ENOENT when the upload is
 * gone. */
static int list_parts(struct s3_target *t, const char *k, const char *upload_id, int fd,
		      uint64_t size, struct part *parts, int nparts, int only, char *err,
		      size_t errlen)
{
	char marker[24] = "0", page[8];
	int rc = 0, truncated = 1;
	list_parts_page(page);
	while (truncated && !rc) {
		struct s3_response resp;
		s3_response_init(&resp);
		struct sigv4_pair q[] = {{"uploadId", upload_id},
					 {"part-number-marker", marker},
					 {"max-parts", page}};
		struct s3_request r = {.method = "GET", .bucket = t->bucket, .key = k, .query = q,
				       .n_query = page[0] ? 3 : 2, .body_fd = -1, .range_from = -1};
		rc = s3_do(t->c, &r, &resp, err, errlen);
		if (!rc && resp.status == 404)
			rc = EV_ENOENT;
		else if (!rc && resp.status != 200)
			rc = s3_fail(&resp, "listing the parts of an upload", EV_ERR, err, errlen);
		if (rc) {
			s3_response_free(&resp);
			break;
		}
		const char *x = resp.body.data;
		size_t n = resp.body.len, pos = 0;
		char block[1024], v[128];
		while (s3_xml_next(x, n, &pos, "Part", block, sizeof block)) {
			size_t bp = 0, bl = strlen(block);
			long num = 0;
			unsigned long long psize = 0;
			char etag[128] = "";
			if (s3_xml_next(block, bl, &bp, "PartNumber", v, sizeof v))
				num = strtol(v, NULL, 10);
			bp = 0;
			if (s3_xml_next(block, bl, &bp, "ETag", v, sizeof v)) {
				char *s = v;
				size_t l = strlen(s);
				if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
					s[l - 1] = '\0';
					s++;
				}
				snprintf(etag, sizeof etag, "%s", s);
			}
			bp = 0;
			if (s3_xml_next(block, bl, &bp, "Size", v, sizeof v))
				psize = strtoull(v, NULL, 10);
			if (num < 1 || num > nparts || (only && num != only) || parts[num - 1].done)
				continue;
			uint64_t off = (uint64_t)(num - 1) * PART_SIZE;
			uint64_t plen = size - off < PART_SIZE ? size - off : PART_SIZE;
			struct digests d;
			if (psize != plen || digest_range(fd, off, plen, &d) ||
			    strcmp(d.md5_hex, etag) != 0)
				continue; /* not ours, or incomplete: sent again */
			snprintf(parts[num - 1].etag, sizeof parts[num - 1].etag, "%s", etag);
			parts[num - 1].done = 1;
		}
		pos = 0;
		truncated = s3_xml_next(x, n, &pos, "IsTruncated", v, sizeof v) && !strcmp(v, "true");
		pos = 0;
		if (truncated && !s3_xml_next(x, n, &pos, "NextPartNumberMarker", marker, sizeof marker))
			truncated = 0;
		s3_response_free(&resp);
	}
	return rc;
}

static char *parts_json(const struct part *parts, int nparts)
{
	json_t *a = json_array();
	for (int i = 0; i < nparts; i++)
		if (parts[i].done)
			json_array_append_new(a, json_pack("[i,s]", i + 1, parts[i].etag));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static void parse_parts_json(const char *s, struct part *parts, int nparts)
{
	json_t *a = s ? json_loads(s, 0, NULL) : NULL;
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		json_int_t n = json_integer_value(json_array_get(e, 0));
		const char *etag = json_string_value(json_array_get(e, 1));
		if (n >= 1 && n <= nparts && etag && strlen(etag) < sizeof parts[0].etag) {
			snprintf(parts[n - 1].etag, sizeof parts[n - 1].etag, "%s", etag);
			parts[n - 1].done = 1;
		}
	}
	json_decref(a);
}

static int create_upload(struct s3_target *t, const char *k, const char *sha_hex, char **upload_id,
			 char *err, size_t errlen)
{
	struct put_headers ph;
	struct s3_response resp;
	char id[512];
	size_t pos = 0;
	int rc;
	s3_response_init(&resp);
	put_headers(t, sha_hex, 0, &ph);
	struct sigv4_pair q[] = {{"uploads", ""}};
	struct s3_request r = {.method = "POST", .bucket = t->bucket, .key = k, .query = q,
			       .n_query = 1, .headers = ph.h, .n_headers = ph.n, .body_fd = -1,
			       .range_from = -1};
	rc = s3_do(t->c, &r, &resp, err, errlen);
	if (!rc && resp.status != 200)
		rc = s3_fail(&resp, "starting a multipart upload", EV_ERR, err, errlen);
	if (!rc && !s3_xml_next(resp.body.data, resp.body.len, &pos, "UploadId", id, sizeof id))
		rc = err_set(err, errlen, EV_ERR, "the server gave no upload id for %s", k);
	if (!rc)
		*upload_id = xstrdup(id);
	s3_response_free(&resp);
	return rc;
}

/* Sends one part, retrying on its own so that before each resend it can
 * ask whether the server already finished the part. */
static int send_part(struct s3_target *t, const char *k, const char *upload_id, int fd,
		     uint64_t size, struct part *parts, int nparts, int num, char *err,
		     size_t errlen)
{
	uint64_t off = (uint64_t)(num - 1) * PART_SIZE;
	uint64_t plen = size - off < PART_SIZE ? size - off : PART_SIZE;
	struct digests d;
	char nbuf[16], label[160];
	int rc = EV_ENET;
	/* read once, hashed and sent from memory; a retry resends the buffer */
	if (!t->iobuf)
		t->iobuf = xmalloc(PART_SIZE);
	if (load_range(t->iobuf, fd, off, plen))
		return err_set(err, errlen, EV_EIO, "cannot read the local copy: %s", strerror(errno));
	digest_mem(t->iobuf, (size_t)plen, NULL, &d);
	snprintf(nbuf, sizeof nbuf, "%d", num);
	snprintf(label, sizeof label, "%.100s part %d/%d", k, num, nparts);
	for (int a = 0; a < t->max_attempts; a++) {
		if (a > 0) {
			s3_backoff(t->c, a - 1);
			int lr = list_parts(t, k, upload_id, fd, size, parts, nparts, num, err, errlen);
			if (lr == EV_ENOENT)
				return EV_ENOENT;
			if (!lr && parts[num - 1].done)
				return 0; /* it arrived; the answer was what got lost */
		}
		struct s3_response resp;
		s3_response_init(&resp);
		struct sigv4_pair q[] = {{"partNumber", nbuf}, {"uploadId", upload_id}};
		struct s3_request r = {.method = "PUT", .bucket = t->bucket, .key = k, .query = q,
				       .n_query = 2, .body = t->iobuf, .body_len = (size_t)plen,
				       .body_fd = -1, .body_sha256 = d.sha_hex, .content_md5 = d.md5_b64,
				       .range_from = -1, .no_retry = 1, .progress_label = label};
		rc = s3_do(t->c, &r, &resp, err, errlen);
		if (!rc && resp.status == 200) {
			snprintf(parts[num - 1].etag, sizeof parts[num - 1].etag, "%s",
				 resp.etag[0] ? resp.etag : d.md5_hex);
			parts[num - 1].done = 1;
		} else if (!rc && resp.status == 404) {
			rc = EV_ENOENT;
		} else if (!rc && resp.status >= 500) {
			rc = s3_fail(&resp, label, EV_ENET, err, errlen);
		} else if (!rc) {
			rc = s3_fail(&resp, label, EV_ERR, err, errlen);
		}
		s3_response_free(&resp);
		if (rc != EV_ENET)
			return rc;
		log_info("%s; trying again", err);
	}
	return rc;
}

static int complete_upload(struct s3_target *t, const char *k, const char *upload_id,
			   const struct part *parts, int nparts, char *err, size_t errlen)
{
	struct buf x;
	struct s3_response resp;
	int rc = 0;
	buf_init(&x, (size_t)nparts * 200 + 200);
	if (buf_puts(&x, "<CompleteMultipartUpload>"))
		abort();
	for (int i = 0; i < nparts; i++)
		if (buf_printf(&x, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
			       parts[i].etag))
			abort();
	if (buf_puts(&x, "</CompleteMultipartUpload>"))
		abort();
	s3_response_init(&resp);
	struct sigv4_pair q[] = {{"uploadId", upload_id}};
	struct s3_request r = {.method = "POST", .bucket = t->bucket, .key = k, .query = q,
			       .n_query = 1, .body = x.data, .body_len = x.len, .body_fd = -1,
			       .range_from = -1};
	rc = s3_do(t->c, &r, &resp, err, errlen);
	if (!rc && resp.status == 404)
		rc = EV_ENOENT; /* maybe completed by an attempt whose answer was lost */
	else if (!rc && (resp.status != 200 || strstr(resp.body.data, "<Error>")))
		rc = s3_fail(&resp, "completing a multipart upload", EV_ERR, err, errlen);
	s3_response_free(&resp);
	buf_free(&x);
	return rc;
}

/*
 * Sets COMPLIANCE retention on an object already written. Needed after a
 * multipart upload: Ceph RGW 16 ignores the Object Lock headers of
 * CreateMultipartUpload, so the retention is put explicitly, then checked.
 */
static int put_retention(struct s3_target *t, const char *k, char *err, size_t errlen)
{
	struct put_headers ph;
	struct digests d;
	struct s3_response resp;
	int rc;
	put_headers(t, NULL, 0, &ph); /* computes ph.until on the server's clock */
	char *body = xasprintf("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			       "<Mode>COMPLIANCE</Mode><RetainUntilDate>%s</RetainUntilDate>"
			       "</Retention>",
			       ph.until);
	digest_mem(body, strlen(body), NULL, &d);
	s3_response_init(&resp);
	struct sigv4_pair q[] = {{"retention", ""}};
	struct s3_request r = {.method = "PUT", .bucket = t->bucket, .key = k, .query = q,
			       .n_query = 1, .body = body, .body_len = strlen(body), .body_fd = -1,
			       .body_sha256 = d.sha_hex, .content_md5 = d.md5_b64, .range_from = -1};
	rc = s3_do(t->c, &r, &resp, err, errlen);
	if (!rc && resp.status != 200 && resp.status != 204)
		rc = s3_fail(&resp, "setting COMPLIANCE retention", EV_ERR, err, errlen);
	s3_response_free(&resp);
	free(body);
	return rc;
}

/* The retention an object has, as the server gives it (in a HEAD's
 * headers, or GET ?retention): 1 when it is COMPLIANCE until at least
 * `wanted`. `found` describes it for a message. */
static int retention_enough(const char *mode, const char *until, double wanted, char *found,
			    size_t flen)
{
	double t = 0;
	if (!mode[0] && !until[0]) {
		snprintf(found, flen, "no retention");
		return 0;
	}
	snprintf(found, flen, "%s retention until %s", mode[0] ? mode : "a",
		 until[0] ? until : "no date");
	return !strcmp(mode, "COMPLIANCE") && !time_parse_iso(until, &t) && t >= wanted;
}

/* GET ?retention: fills mode and until ("" for an object with none). */
static int get_retention(struct s3_target *t, const char *key, const char *k, char mode[32],
			 char until[64], char *err, size_t errlen)
{
	struct s3_response resp;
	size_t pos = 0;
	int rc;
	mode[0] = until[0] = '\0';
	s3_response_init(&resp);
	struct sigv4_pair q[] = {{"retention", ""}};
	struct s3_request r = {.method = "GET", .bucket = t->bucket, .key = k, .query = q,
			       .n_query = 1, .body_fd = -1, .range_from = -1};
	rc = s3_do(t->c, &r, &resp, err, errlen);
	if (!rc && resp.status == 200) {
		s3_xml_next(resp.body.data, resp.body.len, &pos, "Mode", mode, 32);
		pos = 0;
		s3_xml_next(resp.body.data, resp.body.len, &pos, "RetainUntilDate", until, 64);
	} else if (!rc && resp.status != 404) {
		/* 404 (NoSuchObjectLockConfiguration, or RGW's
		 * ObjectLockConfigurationNotFoundError): none set */
		rc = s3_fail(&resp, key, EV_ERR, err, errlen);
	}
	s3_response_free(&resp);
	return rc;
}

/*
 * Makes sure an object found already on the target has the COMPLIANCE
 * retention this sync writes (until --retain-days after the server's
 * now): the bundle about to name it promises that much. Where it has
 * none, or one ending sooner (an earlier run's, days ago), PUT ?retention
 * sets it: one request more for each object found rather than written,
 * and none for those written. The HEAD that found the object gives its
 * retention in its headers; where it gives none, GET ?retention asks,
 * as not every server sends them on HEAD. An object left without would
 * be evidence that can be deleted: a failure fails its blob.
 */
static int check_retention(struct s3_target *t, const char *key, const char *k,
			   const struct s3_response *head, char *err, size_t errlen)
{
	char found[128], mode[32], until[64], why[512];
	int rc = 0;
	if (t->retain_days <= 0)
		return 0;
	double wanted = floor(s3_now(t->c)) + (double)t->retain_days * 86400.0;
	if (head->lock_mode[0] || head->lock_until[0]) {
		if (retention_enough(head->lock_mode, head->lock_until, wanted, found,
				     sizeof found))
			return 0;
	} else {
		rc = get_retention(t, key, k, mode, until, err, errlen);
		if (!rc && retention_enough(mode, until, wanted, found, sizeof found))
			return 0;
	}
	if (!rc) {
		log_info("%s: already on the target with %s; setting COMPLIANCE retention for %d "
			 "days",
			 key, found, t->retain_days);
		rc = put_retention(t, k, err, errlen);
	}
	if (rc) {
		snprintf(why, sizeof why, "%.500s", err);
		return err_set(err, errlen, rc,
			       "%s: already on the target, but its COMPLIANCE retention could not "
			       "be checked or set (%s), so it could be deleted there; sync again, "
			       "or have the bucket's owner set it",
			       key, why);
	}
	return 0;
}

/* 1 if the file's bytes hash to sha_hex. Parts sent by an earlier run are
 * never re-read, so a large blob is checked whole before its upload is
 * completed: a damaged local copy must never become a locked object. */
static int file_hashes_to(int fd, uint64_t size, const char *sha_hex, unsigned char *scratch)
{
	struct sha256 *h = sha256_new();
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	int ok = 1;
	for (uint64_t off = 0; off < size && ok;) {
		uint64_t len = size - off < PART_SIZE ? size - off : PART_SIZE;
		if (load_range(scratch, fd, off, len))
			ok = 0;
		else
			sha256_update(h, scratch, (size_t)len);
		off += len;
	}
	sha256_final(h, d);
	sha256_free(h);
	hex_encode(d, SHA256_LEN, hex);
	return ok && strcmp(hex, sha_hex) == 0;
}

static int put_multipart(struct s3_target *t, const char *key, int fd, const char *sha_hex,
			 uint64_t size, const struct target_journal *j, int *existed, char *err,
			 size_t errlen)
{
	int nparts = (int)((size + PART_SIZE - 1) / PART_SIZE);
	struct part *parts = xcalloc((size_t)nparts, sizeof *parts);
	char *k = full_key(t, key), *upload_id = NULL, *pj = NULL;
	int rc = 0, restarts = 0;
	if (nparts > MAX_PARTS) {
		rc = err_set(err, errlen, EV_ELIMIT, "%s is too large for a multipart upload", key);
		goto out;
	}
	if (j && j->load(j->ctx, key, &upload_id, &pj) == 0 && upload_id) {
		parse_parts_json(pj, parts, nparts);
		/* the journal says what we finished; the server says what it has */
		memset(parts, 0, (size_t)nparts * sizeof *parts);
		rc = list_parts(t, k, upload_id, fd, size, parts, nparts, 0, err, errlen);
		if (rc == EV_ENOENT) {
			log_info("%s: the interrupted upload is gone on the server; starting again", key);
			free(upload_id);
			upload_id = NULL;
			rc = 0;
		} else if (rc) {
			goto out;
		} else {
			int had = 0;
			for (int i = 0; i < nparts; i++)
				had += parts[i].done;
			log_info("%s: resuming an interrupted upload, %d of %d part%s already there",
				 key, had, nparts, nparts == 1 ? "" : "s");
		}
	}
	if (!upload_id) {
		/* a multipart upload has no If-None-Match: one HEAD, against
		 * sending every part of a blob the bucket already holds and
		 * completing it over that object */
		int present = 0;
		rc = s3t_stat(t, key, sha_hex, size, &present, err, errlen);
		if (rc == EV_ECORRUPT)
			rc = err_set(err, errlen, EV_EEXIST,
				     "%s: the target already holds a different object there; not "
				     "replaced",
				     key);
		if (rc)
			goto out;
		if (present) {
			*existed = 1;
			goto out;
		}
	}
restart:
	if (!upload_id) {
		memset(parts, 0, (size_t)nparts * sizeof *parts);
		if ((rc = create_upload(t, k, sha_hex, &upload_id, err, errlen)))
			goto out;
		if (j && j->save(j->ctx, key, upload_id, "[]"))
			log_warnx("%s: cannot journal the upload id", key);
	}
	for (int i = 0; i < nparts; i++) {
		if (parts[i].done)
			continue;
		rc = send_part(t, k, upload_id, fd, size, parts, nparts, i + 1, err, errlen);
		if (rc == EV_ENOENT && restarts++ < 2) {
			log_info("%s: the server forgot the upload; starting again", key);
			free(upload_id);
			upload_id = NULL;
			goto restart;
		}
		if (rc)
			goto out;
		free(pj);
		pj = parts_json(parts, nparts);
		if (j && j->save(j->ctx, key, upload_id, pj))
			log_warnx("%s: cannot journal part %d", key, i + 1);
	}
	if (!t->iobuf)
		t->iobuf = xmalloc(PART_SIZE);
	if (sha_hex && !file_hashes_to(fd, size, sha_hex, t->iobuf)) {
		/* left incomplete: never assembled, and the next run starts over */
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "the local copy of %s does not hash to its name; its upload was not "
			     "completed (run evcap verify)",
			     key);
		goto out;
	}
	rc = complete_upload(t, k, upload_id, parts, nparts, err, errlen);
	if (rc == EV_ENOENT)
		rc = 0; /* checked below by its size and SHA-256 */
	if (!rc) {
		int present = 0;
		/* its retention is set just below, not looked for first */
		rc = stat_object(t, key, sha_hex, size, 0, &present, err, errlen);
		if (!rc && !present)
			rc = err_set(err, errlen, EV_ERR, "%s: missing after its upload completed", key);
	}
	if (!rc && t->retain_days > 0)
		rc = put_retention(t, k, err, errlen);
	if (!rc && j)
		j->save(j->ctx, key, NULL, NULL);
out:
	free(parts);
	free(pj);
	free(upload_id);
	free(k);
	return rc;
}

/* ---- reading ahead ---- */

static void *prefetch_run(void *arg)
{
	struct prefetch *pf = arg;
	int fd = open(pf->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	pf->rc = 0;
	if (fd < 0 || load_range(pf->buf, fd, 0, pf->size)) {
		pf->rc = EV_EIO;
		pf->err_no = errno;
	} else {
		digest_mem(pf->buf, (size_t)pf->size, pf->sha_hex, &pf->d);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Waits for the read-ahead, if any, and forgets any hint. 1 when it held
 * path, read and hashed without error; its buffer then becomes t->iobuf. */
static int prefetch_take(struct s3_target *t, const char *path, uint64_t size,
			 struct digests *d)
{
	struct prefetch *pf = &t->pf;
	int hit = 0;
	if (!pf->running)
		return 0;
	pthread_join(pf->thread, NULL);
	pf->running = 0;
	if (path && !pf->rc && pf->size == size && !strcmp(pf->path, path)) {
		unsigned char *b = t->iobuf;
		t->iobuf = pf->buf;
		pf->buf = b; /* may be NULL: allocated again on the next start */
		*d = pf->d;
		hit = 1;
	}
	free(pf->path);
	pf->path = NULL;
	return hit;
}

/* Starts reading ahead the hinted file, unless it is `now` (the file about
 * to be read for the upload starting), and forgets the hint. */
static void prefetch_start(struct s3_target *t, const char *now)
{
	struct prefetch *pf = &t->pf;
	char *path = pf->hint_path;
	pf->hint_path = NULL;
	if (!path || pf->running || !strcmp(path, now)) {
		free(path);
		return;
	}
	if (!pf->buf)
		pf->buf = xmalloc(PART_SIZE);
	pf->path = path;
	memcpy(pf->sha_hex, pf->hint_sha, sizeof pf->sha_hex);
	pf->size = pf->hint_size;
	if (pthread_create(&pf->thread, NULL, prefetch_run, pf) == 0) {
		pf->running = 1;
	} else {
		free(pf->path); /* no thread: the file is read when it is put */
		pf->path = NULL;
	}
}

/* Only notes the hint: the read starts when the next upload starts, after
 * that upload has taken the buffer read for it. */
static void s3t_prefetch(void *impl, const char *path, const char *sha_hex, uint64_t size)
{
	struct s3_target *t = impl;
	struct prefetch *pf = &t->pf;
	free(pf->hint_path);
	pf->hint_path = NULL;
	if (size > PART_SIZE || strlen(sha_hex) != SHA256_HEX_LEN)
		return; /* multipart reads each part as it goes */
	pf->hint_path = xstrdup(path);
	memcpy(pf->hint_sha, sha_hex, sizeof pf->hint_sha);
	pf->hint_size = size;
}

static int s3t_put_file(void *impl, const char *key, const char *path, const char *sha_hex,
			uint64_t size, const struct target_journal *j, int *existed, char *err,
			size_t errlen)
{
	struct s3_target *t = impl;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc;
	if (fd < 0)
		return err_set(err, errlen, EV_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct digests d;
	int hit = prefetch_take(t, path, size, &d);
	prefetch_start(t, path);
	if (hit) {
		rc = put_object(t, key, t->iobuf, (size_t)size, &d, 1, existed, err, errlen);
	} else if (size > PART_SIZE) {
		rc = put_multipart(t, key, fd, sha_hex, size, j, existed, err, errlen);
	} else {
		if (!t->iobuf)
			t->iobuf = xmalloc(PART_SIZE);
		if (load_range(t->iobuf, fd, 0, size)) {
			rc = err_set(err, errlen, EV_EIO, "%s: cannot read the local copy: %s", path,
				     strerror(errno));
		} else {
			digest_mem(t->iobuf, (size_t)size, sha_hex, &d);
			rc = put_object(t, key, t->iobuf, (size_t)size, &d, 1, existed, err,
					errlen);
		}
	}
	close(fd);
	return rc;
}

static int s3t_put_buf(void *impl, const char *key, const void *p, size_t n, char *err,
		       size_t errlen)
{
	static const char empty[1];
	struct digests d;
	digest_mem(n ? p : empty, n, NULL, &d);
	return put_object(impl, key, n ? p : empty, n, &d, 0, NULL, err, errlen);
}

static int s3t_get(void *impl, const char *key, uint64_t offset, uint64_t max, target_sink sink,
		   void *ctx, char *err, size_t errlen)
{
	struct s3_target *t = impl;
	struct s3_response resp;
	char *k = full_key(t, key);
	s3_response_init(&resp);
	struct s3_request r = {.method = "GET", .bucket = t->bucket, .key = k, .body_fd = -1,
			       .range_from = offset ? (int64_t)offset : -1, .sink = sink,
			       .sink_ctx = ctx, .sink_max = max, .progress_label = key};
	int rc = s3_do(t->c, &r, &resp, err, errlen);
	if (!rc) {
		if (resp.status == 404)
			rc = err_set(err, errlen, EV_ENOENT, "%s: not on the target", key);
		else if (resp.status == 416)
			rc = 0; /* asked from the end: nothing more */
		else if (resp.status != 200 && resp.status != 206)
			rc = s3_fail(&resp, key, EV_ERR, err, errlen);
		else if (offset && resp.status == 200)
			rc = err_set(err, errlen, EV_ERR, "%s: the server ignored the range", key);
	}
	s3_response_free(&resp);
	free(k);
	return rc;
}

/* ---- listing ---- */

/* Refuses a listing answer that cannot be read whole: read in part, it
 * would pass over what could not be read without a word. `what` says
 * what is wrong; raw[0..n), when given, is the content of the <tag>
 * element concerned as the server sent it (closed, or not), shown escaped
 * and cut short. */
static int bad_listing(const char *target, const char *prefix, const char *what,
		       const char *tag, const char *raw, size_t n, int closed, char *err,
		       size_t errlen)
{
	enum { SHOWN = 240 };
	char *cut = NULL, *shown = NULL, *sent = NULL;
	if (raw) {
		cut = xstrndup(raw, n < SHOWN ? n : SHOWN); /* also ends at a NUL */
		shown = ingest_display_path(cut);
		if (strlen(cut) < n || !closed)
			sent = xasprintf(": <%s>%s...", tag, shown);
		else
			sent = xasprintf(": <%s>%s</%s>", tag, shown, tag);
	}
	int rc = err_set(err, errlen, EV_ERR,
			 "%s: the server's listing of %s is malformed, %s%s; a listing that "
			 "cannot be read whole is not used",
			 target, prefix, what, sent ? sent : "");
	free(sent);
	free(shown);
	free(cut);
	return rc;
}

/* One entry: the content of a <Contents> element, xml[0..n). */
static int list_entry(const char *x, size_t n, const struct s3_list_page *lp, size_t *count,
		      target_each each, void *ctx, char *err, size_t errlen)
{
	size_t pos = 0, ks, kl, ks2, kl2, len;
	int found = s3_xml_span(x, n, &pos, "Key", &ks, &kl);
	if (found != 1)
		return bad_listing(lp->target, lp->prefix, "an entry has no key", "Contents", x, n, 1,
				   err, errlen);
	if (s3_xml_span(x, n, &pos, "Key", &ks2, &kl2) != 0)
		return bad_listing(lp->target, lp->prefix, "an entry has two keys", "Contents", x,
				   n, 1, err, errlen);
	/* decoded once: "&amp;amp;" is the name "&amp;" */
	char *key = s3_xml_decode(x + ks, kl, &len);
	char v[64];
	uint64_t size = 0;
	int rc = 0;
	size_t tl = strlen(lp->tprefix), pl = strlen(lp->prefix);
	pos = 0;
	if (s3_xml_next(x, n, &pos, "Size", v, sizeof v))
		size = strtoull(v, NULL, 10);
	if (strlen(key) != len) {
		rc = bad_listing(lp->target, lp->prefix, "a key holds a NUL byte", "Contents", x, n, 1,
				 err, errlen);
	} else if (strncmp(key, lp->tprefix, tl) != 0 || strncmp(key + tl, lp->prefix, pl) != 0) {
		rc = bad_listing(lp->target, lp->prefix, "it holds a key outside what was asked for",
				 "Contents", x, n, 1, err, errlen);
	} else if (++*count > lp->max_keys) {
		rc = err_set(err, errlen, EV_ELIMIT, "more than %zu objects under %s", lp->max_keys,
			     lp->prefix);
	} else {
		/* a name not of the layout is listed too, marked, so that
		 * the reader can name it */
		struct target_entry e = {.key = key + tl, .size = size,
					 .foreign = !target_key_valid(key + tl)};
		rc = each(ctx, &e);
	}
	free(key);
	return rc;
}

int s3_list_page(const char *x, size_t n, const struct s3_list_page *lp, const char *asked,
		 size_t *count, target_each each, void *ctx, char **next, char *err,
		 size_t errlen)
{
	size_t pos = 0, cs, cl;
	char v[16];
	int rc = 0, found;
	*next = NULL;
	if (!memmem(x, n, "<ListBucketResult", 17))
		return bad_listing(lp->target, lp->prefix, "it is no ListBucketResult", NULL,
				   NULL, 0, 0, err, errlen);
	while (!rc && (found = s3_xml_span(x, n, &pos, "Contents", &cs, &cl)) != 0) {
		if (found < 0)
			return bad_listing(lp->target, lp->prefix, "an entry is not closed",
					   "Contents", x + cs, cl, 0, err, errlen);
		rc = list_entry(x + cs, cl, lp, count, each, ctx, err, errlen);
	}
	if (rc)
		return rc;
	pos = 0;
	if (!s3_xml_next(x, n, &pos, "IsTruncated", v, sizeof v) || strcmp(v, "true") != 0)
		return 0;
	pos = 0;
	if (s3_xml_span(x, n, &pos, "NextContinuationToken", &cs, &cl) != 1 || cl == 0)
		return bad_listing(lp->target, lp->prefix,
				   "it says more follows but gives no continuation token", NULL,
				   NULL, 0, 0, err, errlen);
	if (cl > S3_LIST_TOKEN_MAX) {
		char what[80];
		snprintf(what, sizeof what, "it gives a continuation token of more than %d bytes",
			 S3_LIST_TOKEN_MAX);
		return bad_listing(lp->target, lp->prefix, what, "NextContinuationToken", x + cs, cl,
				   1, err, errlen);
	}
	size_t tl;
	*next = s3_xml_decode(x + cs, cl, &tl);
	if (tl != strlen(*next) || tl == 0) {
		free(*next);
		*next = NULL;
		/* cut at the NUL, it would be another token, or none at all */
		return bad_listing(lp->target, lp->prefix,
				   tl ? "it gives a continuation token holding a NUL byte"
				      : "it gives a continuation token that is empty once decoded",
				   "NextContinuationToken", x + cs, cl, 1, err, errlen);
	}
	if (asked && !strcmp(*next, asked)) {
		free(*next);
		*next = NULL;
		/* asked again, it would give the same page for ever */
		return bad_listing(lp->target, lp->prefix,
				   "it gives as the next page's token the one it was asked with",
				   "NextContinuationToken", x + cs, cl, 1, err, errlen);
	}
	return 0;
}

static int s3t_list(void *impl, const char *prefix, size_t max_keys, target_each each, void *ctx,
		    char *err, size_t errlen)
{
	struct s3_target *t = impl;
	char *p = full_key(t, prefix), *token = NULL, *next = NULL;
	size_t count = 0, tl = strlen(t->prefix);
	char *name = tl ? xasprintf("s3://%s/%.*s", t->bucket, (int)(tl - 1), t->prefix)
			: xasprintf("s3://%s", t->bucket);
	struct s3_list_page lp = {.target = name, .tprefix = t->prefix, .prefix = prefix,
				  .max_keys = max_keys};
	int rc = 0, more = 1;
	while (more && !rc) {
		struct s3_response resp;
		s3_response_init(&resp);
		struct sigv4_pair q[4] = {{"list-type", "2"}, {"prefix", p}, {"max-keys", "1000"}};
		size_t nq = 3;
		if (token)
			q[nq++] = (struct sigv4_pair){"continuation-token", token};
		struct s3_request r = {.method = "GET", .bucket = t->bucket, .query = q,
				       .n_query = nq, .body_fd = -1, .range_from = -1};
		rc = s3_do(t->c, &r, &resp, err, errlen);
		if (!rc && resp.status != 200)
			rc = s3_fail(&resp, "listing the bucket", resp.status == 404 ? EV_ENOENT : EV_ERR,
				     err, errlen);
		if (!rc)
			rc = s3_list_page(resp.body.data, resp.body.len, &lp, token, &count, each,
					  ctx, &next, err, errlen);
		free(token);
		token = next;
		next = NULL;
		more = token != NULL;
		s3_response_free(&resp);
	}
	free(token);
	free(name);
	free(p);
	return rc;
}

static const char *s3t_info(void *impl)
{
	return ((struct s3_target *)impl)->info;
}

static unsigned s3t_retries(void *impl)
{
	return s3_retries(((struct s3_target *)impl)->c);
}

static void s3t_free(void *impl)
{
	struct s3_target *t = impl;
	if (!t)
		return;
	prefetch_take(t, NULL, 0, NULL);
	free(t->pf.buf);
	free(t->pf.hint_path);
	s3_free(t->c);
	free(t->iobuf);
	free(t->bucket);
	free(t->prefix);
	free(t);
}

/* Creates the bucket (asked for with --create-bucket); *made is 1 when this
 * request made it, 0 when it was there already. */
static int create_bucket(struct s3_target *t, const char *region, int *made, char *err,
			 size_t errlen)
{
	struct s3_response resp;
	struct sigv4_pair h[1];
	size_t nh = 0;
	char *body = NULL;
	if (t->retain_days > 0)
		h[nh++] = (struct sigv4_pair){"x-amz-bucket-object-lock-enabled", "true"};
	if (region && strcmp(region, "us-east-1") != 0)
		body = xasprintf("<CreateBucketConfiguration><LocationConstraint>%s"
				 "</LocationConstraint></CreateBucketConfiguration>",
				 region);
	s3_response_init(&resp);
	struct s3_request r = {.method = "PUT", .bucket = t->bucket, .headers = h, .n_headers = nh,
			       .body = body, .body_len = body ? strlen(body) : 0, .body_fd = -1,
			       .range_from = -1};
	int rc = s3_do(t->c, &r, &resp, err, errlen);
	if (!rc && resp.status != 200 && strcmp(resp.code, "BucketAlreadyOwnedByYou") != 0)
		rc = s3_fail(&resp, "creating the bucket", EV_EINVAL, err, errlen);
	*made = !rc && resp.status == 200;
	if (!rc)
		log_info("created bucket %s%s", t->bucket, t->retain_days > 0 ? " with Object Lock" : "");
	s3_response_free(&resp);
	free(body);
	return rc;
}

/* Whether the bucket exists and has Object Lock: 0, or an error to stop on. */
static int probe_bucket(struct s3_target *t, int create, const char *region, char *err,
			size_t errlen)
{
	for (int round = 0; round < 2; round++) {
		struct s3_response resp;
		char v[64];
		size_t pos = 0;
		s3_response_init(&resp);
		struct sigv4_pair q[] = {{"object-lock", ""}};
		struct s3_request r = {.method = "GET", .bucket = t->bucket, .query = q, .n_query = 1,
				       .body_fd = -1, .range_from = -1};
		int rc = s3_do(t->c, &r, &resp, err, errlen);
		if (rc) {
			s3_response_free(&resp);
			return rc;
		}
		if (resp.status == 200) {
			t->lock = s3_xml_next(resp.body.data, resp.body.len, &pos, "ObjectLockEnabled", v,
					      sizeof v) &&
				  !strcmp(v, "Enabled");
		} else if (!strcmp(resp.code, "NoSuchBucket")) {
			s3_response_free(&resp);
			if (!create || round)
				return err_set(err, errlen, EV_ENOENT,
					       "bucket '%s' does not exist at %s: create it (with Object "
					       "Lock for evidence), or run sync with --create-bucket",
					       t->bucket, s3_endpoint(t->c));
			int made = 0;
			if ((rc = create_bucket(t, region, &made, err, errlen)))
				return rc;
			if (made && t->retain_days <= 0)
				return 0; /* made here without Object Lock: nothing to ask */
			continue;
		} else {
			t->lock = 0; /* ObjectLockConfigurationNotFoundError and the like */
		}
		s3_response_free(&resp);
		return 0;
	}
	return 0;
}

int target_s3_open(const char *bucket_prefix, const struct target_opts *o, void **impl,
		   const struct target_ops **ops, char *err, size_t errlen)
{
	static const struct target_ops s3_ops = {
		.stat = s3t_stat, .put_file = s3t_put_file, .put_buf = s3t_put_buf, .get = s3t_get,
		.list = s3t_list, .info = s3t_info, .retries = s3t_retries,
		.prefetch = s3t_prefetch, .free = s3t_free,
	};
	struct s3_target *t = xcalloc(1, sizeof *t);
	const char *slash = strchr(bucket_prefix, '/');
	size_t bl = slash ? (size_t)(slash - bucket_prefix) : strlen(bucket_prefix);
	int rc;
	t->bucket = xstrndup(bucket_prefix, bl);
	const char *pre = slash ? slash + 1 : "";
	size_t pl = strlen(pre);
	while (pl && pre[pl - 1] == '/')
		pl--;
	char *bare = xstrndup(pre, pl);
	t->prefix = pl ? xasprintf("%s/", bare) : xstrdup("");
	int prefix_ok = !pl || target_key_valid(bare);
	free(bare);
	int bucket_ok = bl >= 3 && bl <= 63;
	for (size_t i = 0; i < bl; i++) {
		char c = t->bucket[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			bucket_ok = 0;
	}
	if (!bucket_ok || !prefix_ok) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "'s3://%s' is not a valid target: the bucket must be 3-63 of [a-z0-9.-] "
			     "and the prefix of [A-Za-z0-9/._-]",
			     bucket_prefix);
		goto fail;
	}
	t->retain_days = o ? o->retain_days : 0;
	t->max_attempts = o && o->max_attempts > 0 ? o->max_attempts : 8;
	struct s3_opts so = {
		.endpoint = o ? o->endpoint : NULL, .region = o ? o->region : NULL,
		.access_key = o ? o->access_key : NULL, .secret_key = o ? o->secret_key : NULL,
		.bandwidth = o ? o->bandwidth : 0, .progress = o ? o->progress : 0,
		.max_attempts = t->max_attempts, .retry_base = o ? o->retry_base : 0,
		.stall_seconds = o ? o->stall_seconds : 0,
	};
	if ((rc = s3_new(&so, &t->c, err, errlen)))
		goto fail;
	if ((rc = probe_bucket(t, o && o->create_bucket, so.region, err, errlen)))
		goto fail;
	if (t->retain_days > 0 && !t->lock) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "bucket '%s' has no Object Lock, so --retain-days %d cannot be honoured; "
			     "use a bucket created with Object Lock",
			     t->bucket, t->retain_days);
		goto fail;
	}
	snprintf(t->info, sizeof t->info, "S3 bucket %s at %s; Object Lock %s%s", t->bucket,
		 s3_endpoint(t->c), t->lock ? "enabled" : "not enabled (no WORM retention)",
		 t->retain_days > 0 ? "; writing COMPLIANCE retention" : "");
	if (t->retain_days > 0) {
		size_t l = strlen(t->info);
		snprintf(t->info + l, sizeof t->info - l, " for %d days", t->retain_days);
	}
	*impl = t;
	*ops = &s3_ops;
	return 0;
fail:
	s3t_free(t);
	return rc;
}
