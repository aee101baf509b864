/*
 * A small S3 client: path-style requests signed with our own SigV4
 * (sigv4.h), libcurl as the transport only. It retries network failures and
 * 5xx answers with exponential backoff and jitter, corrects its signing
 * clock from the server's Date header when the server says the request
 * time is skewed, and stops at once on credentials the server refuses.
 * TLS certificates are always verified.
 */
#ifndef EVCAP_S3_H
#define EVCAP_S3_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"
#include "sigv4.h"
#include "target.h"
#include "util.h"

#define S3_XML_MAX ((size_t)4 << 20) /* largest XML answer read */

struct s3;

struct s3_opts {
	const char *endpoint;   /* "http(s)://host[:port]" */
	const char *region;
	const char *access_key; /* copied; the copy is wiped by s3_free */
	const char *secret_key;
	long bandwidth;         /* bytes/s, 0 = none; at least SYNCOPT_MIN_RATE */
	int progress;           /* progress on stderr for bodies over 1 MiB */
	int max_attempts;
	double retry_base;
	int stall_seconds;      /* an attempt moving under 1 KB/s this long is
				 * given up and retried; 0 = 60 */
};

struct s3_request {
	const char *method;      /* GET PUT POST HEAD DELETE */
	const char *bucket;
	const char *key;         /* NULL for a bucket request */
	const struct sigv4_pair *query;
	size_t n_query;
	const struct sigv4_pair *headers; /* extra headers, sent and signed */
	size_t n_headers;
	/* a body from memory, or from a file range (fd >= 0) */
	const void *body;
	size_t body_len;
	int body_fd;
	uint64_t body_off, body_size;
	const char *body_sha256; /* hex; NULL: computed here (memory bodies) */
	const char *content_md5; /* base64, or NULL */
	int64_t range_from;      /* >= 0: send Range: bytes=N- */
	target_sink sink;        /* 2xx bodies go here; NULL: into resp->body */
	void *sink_ctx;
	uint64_t sink_max;       /* with a sink: a larger object is EV_ELIMIT */
	int no_retry;            /* one attempt: the caller retries itself */
	const char *progress_label;
};

struct s3_response {
	long status;
	struct buf body;         /* error or XML text, capped at S3_XML_MAX */
	char code[64];           /* the S3 error code, if any */
	char message[256];
	char etag[128];          /* without quotes */
	char version_id[256];
	char meta_sha256[SHA256_HEX_LEN + 1];
	char lock_mode[32];
	char lock_until[64];
	uint64_t content_length;
	int has_length;
	uint64_t received;       /* body bytes passed to the sink */
};

int s3_new(const struct s3_opts *o, struct s3 **out, char *err, size_t errlen) WUR;
void s3_free(struct s3 *c);

/* Sends r and fills resp (s3_response_init first, s3_response_free after).
 * Returns 0 for any HTTP answer the caller must judge (resp->status),
 * EV_EAUTH for refused credentials or signatures, EV_ENET when retries ran
 * out (or, with a sink, as soon as a cut stopped a body midway: the caller
 * resumes with range_from), EV_ELIMIT for an oversized body. */
int s3_do(struct s3 *c, const struct s3_request *r, struct s3_response *resp, char *err,
	  size_t errlen) WUR;
void s3_response_init(struct s3_response *resp);
void s3_response_free(struct s3_response *resp);

/* A sentence for an unexpected answer: "HTTP 404 NoSuchBucket: ...". */
int s3_fail(const struct s3_response *resp, const char *what, int code, char *err,
	    size_t errlen);

/* Sleeps before retry number attempt_no + 1: exponential with jitter.
 * Every call counts as one retry (s3_retries). */
void s3_backoff(struct s3 *c, int attempt_no);

/* Requests retried so far through this client, by s3_do or a caller. */
unsigned s3_retries(const struct s3 *c);

/* The signing clock's correction so far (server minus local, seconds). */
double s3_skew(const struct s3 *c);
/* The server's time as best known (local clock plus skew). */
double s3_now(const struct s3 *c);
const char *s3_endpoint(const struct s3 *c);

/* Finds <tag>value</tag> in xml[0..n) from *pos on, decoding the five XML
 * entities into out (cap bytes incl. NUL). Returns 1 and advances *pos, or
 * 0 when there is no further such element or the value does not fit. */
int s3_xml_next(const char *xml, size_t n, size_t *pos, const char *tag, char *out, size_t cap);
/* Finds the next <tag>...</tag> in xml[0..n) from *pos on and gives its
 * content as the server wrote it, entities and all (xml[*start..+*len)):
 * an element holding others is looked into this way, and only the values
 * taken from it are decoded, once. 1, with *pos past the element; 0 when
 * there is no further <tag>; -1 when one is opened and never closed
 * (*start and *len then give what follows its opening tag). */
int s3_xml_span(const char *xml, size_t n, size_t *pos, const char *tag, size_t *start,
		size_t *len);
/* The five XML entities of raw[0..n) decoded, as a malloc'd string of at
 * most n bytes; *outlen (if not NULL) gets its length, which a NUL in the
 * text makes longer than strlen's. */
char *s3_xml_decode(const char *raw, size_t n, size_t *outlen);

/* Parses an HTTP date ("Sat, 29 Nov 2026 09:30:00 GMT"); 0 or -1. */
int s3_parse_http_date(const char *s, double *t);

#endif
