/*
 * The S3 client. One libcurl easy handle is reused so connections are kept
 * alive; every attempt is signed afresh (the signing time moves, and the
 * clock correction may have changed). Request bodies are read through a
 * callback from memory or with pread() from a file range, so a retry simply
 * starts the range again.
 */
#include "s3.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dynlib.h"
#include "hash.h"
#include "log.h"
#include "meter.h"
#include "timeutil.h"

/*
 * libcurl is opened when the first client is made (dynlib.h), so that the
 * commands that never sync do not pay for loading it. Calls go through CU().
 * The Makefile also compiles this file once with EVCAP_CURL_TYPECHECK, where
 * CU() names libcurl's own functions, so that curl's compile-time checks of
 * curl_easy_setopt's arguments still see every call.
 */
#ifndef EVCAP_CURL_TYPECHECK
#ifndef EVCAP_SONAME_CURL
#define EVCAP_SONAME_CURL "libcurl.so.4"
#endif
/* every libcurl function called here, once (dynlib.h) */
#define CURL_FNS(X)                                                                          \
	X(global_init) X(easy_init) X(easy_cleanup) X(easy_reset) X(easy_setopt)           \
	X(easy_perform) X(easy_getinfo) X(easy_strerror) X(slist_append) X(slist_free_all)
#define CU_PTR(f) DYNLIB_PTR(curl_, f)
static struct {
	CURL_FNS(CU_PTR)
} cu;
#define CU_SYM(f) DYNLIB_SYM(cu, curl_, f)
static const struct dynlib_sym cu_syms[] = {CURL_FNS(CU_SYM)};
static struct dynlib cu_lib = DYNLIB_INIT(EVCAP_SONAME_CURL, "to sync", cu_syms);
#define CU(f) cu.f
#define CU_LOAD(err, errlen) dynlib_load(&cu_lib, err, errlen)
#else
#define CU(f) curl_##f
#define CU_LOAD(err, errlen) 0
#endif

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_MAX_DELAY 30.0
#define S3_UPLOAD_BUFFER (1L << 20)
/* curl's smallest upload buffer, and its default */
#define S3_CAPPED_BUFFER_MIN (16L << 10)
#define S3_CAPPED_BUFFER_MAX (64L << 10)
/* a server this far off is not merely slow: sign with its clock */
#define S3_SKEW_LIMIT 300.0

struct s3 {
	CURL *curl;
	char *endpoint; /* without a trailing slash */
	char *host;     /* host[:port] as sent in Host */
	char *region;
	char *access_key;
	char *secret_key;
	long bandwidth;
	int progress;
	int max_attempts;
	double retry_base;
	long stall_seconds;
	unsigned retries;
	double skew;
};

unsigned s3_retries(const struct s3 *c)
{
	return c->retries;
}

double s3_skew(const struct s3 *c)
{
	return c->skew;
}

double s3_now(const struct s3 *c)
{
	return time_now() + c->skew;
}

const char *s3_endpoint(const struct s3 *c)
{
	return c->endpoint;
}

void s3_response_init(struct s3_response *resp)
{
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, S3_XML_MAX);
}

void s3_response_free(struct s3_response *resp)
{
	if (resp)
		buf_free(&resp->body);
}

static void wipe_free(char *s)
{
	if (s) {
		secure_wipe(s, strlen(s));
		free(s);
	}
}

void s3_free(struct s3 *c)
{
	if (!c)
		return;
	if (c->curl)
		CU(easy_cleanup)(c->curl);
	free(c->endpoint);
	free(c->host);
	free(c->region);
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	free(c);
}

int s3_new(const struct s3_opts *o, struct s3 **out, char *err, size_t errlen)
{
	const char *ep = o->endpoint, *h;
	*out = NULL;
	if (!ep || !*ep)
		return err_set(err, errlen, EV_EINVAL,
			       "an s3:// target needs an endpoint: give --endpoint https://host:port "
			       "or set endpoint in [sync] of the config");
	if (!strncmp(ep, "https://", 8))
		h = ep + 8;
	else if (!strncmp(ep, "http://", 7))
		h = ep + 7;
	else
		return err_set(err, errlen, EV_EINVAL,
			       "endpoint '%s' must start with https:// (or http:// for a local test "
			       "server)",
			       ep);
	size_t hl = strcspn(h, "/?#");
	if (hl == 0 || (h[hl] && strcmp(h + hl, "/") != 0))
		return err_set(err, errlen, EV_EINVAL,
			       "endpoint '%s' must be scheme://host[:port] with no path", ep);
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)h[i]) && !strchr(".-:[]", h[i]))
			return err_set(err, errlen, EV_EINVAL, "endpoint '%s' has a bad host", ep);
	if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key)
		return err_set(err, errlen, EV_EAUTH,
			       "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
			       "access_key and secret_key in [sync] of a config file of mode 0600");
	int rc = CU_LOAD(err, errlen);
	if (rc)
		return rc;
	if (CU(global_init)(CURL_GLOBAL_DEFAULT) != 0)
		return err_set(err, errlen, EV_ERR, "libcurl could not be initialised");
	struct s3 *c = xcalloc(1, sizeof *c);
	c->curl = CU(easy_init)();
	if (!c->curl) {
		s3_free(c);
		return err_set(err, errlen, EV_ERR, "libcurl could not make a handle");
	}
	c->endpoint = xstrndup(ep, (size_t)(h - ep) + hl);
	c->host = xstrndup(h, hl);
	c->region = xstrdup(o->region && *o->region ? o->region : "us-east-1");
	c->access_key = xstrdup(o->access_key);
	c->secret_key = xstrdup(o->secret_key);
	c->bandwidth = o->bandwidth;
	c->progress = o->progress;
	c->max_attempts = o->max_attempts > 0 ? o->max_attempts : 8;
	c->retry_base = o->retry_base > 0 ? o->retry_base : 0.5;
	c->stall_seconds = o->stall_seconds > 0 ? o->stall_seconds : 60;
	if (!strncmp(ep, "http://", 7) && strncmp(c->host, "127.", 4) &&
	    strncmp(c->host, "localhost", 9) && strncmp(c->host, "[::1]", 5))
		log_warnx("endpoint %s is plain http: credentials are signed, not sent, but the "
			  "evidence crosses the network unencrypted",
			  c->endpoint);
	*out = c;
	return 0;
}

/* ---- XML and dates ---- */

int s3_xml_span(const char *xml, size_t n, size_t *pos, const char *tag, size_t *start,
		size_t *len)
{
	char open[72], close[72];
	if (snprintf(open, sizeof open, "<%s>", tag) >= (int)sizeof open ||
	    snprintf(close, sizeof close, "</%s>", tag) >= (int)sizeof close)
		return 0;
	size_t ol = strlen(open), cl = strlen(close);
	for (size_t i = *pos; i + ol <= n; i++) {
		if (memcmp(xml + i, open, ol) != 0)
			continue;
		size_t v = i + ol, e = v;
		while (e + cl <= n && memcmp(xml + e, close, cl) != 0)
			e++;
		*start = v;
		if (e + cl > n) {
			*len = n - v;
			return -1;
		}
		*len = e - v;
		*pos = e + cl;
		return 1;
	}
	return 0;
}

/* Decodes raw[0..n) into out, which has room for n bytes and a NUL (the
 * text never grows); returns its length. */
static size_t xml_decode_into(const char *raw, size_t n, char *out)
{
	/* the predefined entities; anything else stays as is */
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}};
	size_t k = 0;
	for (size_t j = 0; j < n; j++) {
		char ch = raw[j];
		if (ch == '&')
			for (size_t q = 0; q < ARRAY_LEN(ents); q++) {
				size_t el = strlen(ents[q].ent);
				if (j + el <= n && !memcmp(raw + j, ents[q].ent, el)) {
					ch = ents[q].c;
					j += el - 1;
					break;
				}
			}
		out[k++] = ch;
	}
	out[k] = '\0';
	return k;
}

char *s3_xml_decode(const char *raw, size_t n, size_t *outlen)
{
	char *out = xmalloc(n + 1);
	size_t k = xml_decode_into(raw, n, out);
	if (outlen)
		*outlen = k;
	return out;
}

int s3_xml_next(const char *xml, size_t n, size_t *pos, const char *tag, char *out, size_t cap)
{
	size_t p = *pos, v, len;
	if (s3_xml_span(xml, n, &p, tag, &v, &len) != 1 || cap == 0)
		return 0;
	char *s = s3_xml_decode(xml + v, len, &len);
	int fits = len < cap;
	if (fits) {
		memcpy(out, s, len + 1);
		*pos = p;
	}
	free(s);
	return fits;
}

int s3_parse_http_date(const char *s, double *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4];
	int d, y, h, mi, sec;
	const char *comma = strchr(s, ',');
	if (!comma || sscanf(comma + 1, " %d %3s %d %d:%d:%d", &d, mon, &y, &h, &mi, &sec) != 6)
		return -1;
	const char *m = strstr(months, mon);
	if (!m || strlen(mon) != 3 || (m - months) % 3)
		return -1;
	if (d < 1 || d > 31 || y < 1970 || y > 9999 || h > 23 || mi > 59 || sec > 60 || h < 0 ||
	    mi < 0 || sec < 0)
		return -1;
	*t = (double)time_from_civil(y, (int)(m - months) / 3 + 1, d, h, mi, sec);
	return 0;
}

/* ---- one transfer ---- */

struct xfer {
	struct s3 *c;
	const struct s3_request *r;
	struct s3_response *resp;
	uint64_t sent;         /* body bytes handed to curl */
	double server_date;    /* from the Date header, 0 if none */
	int sink_rc;
	double last_progress;
	double last_move;      /* when a byte last went either way */
	curl_off_t last_total; /* bytes both ways at that time */
	int stalled;
};

static size_t read_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	const struct s3_request *r = x->r;
	size_t cap = size * nmemb;
	uint64_t total = r->body_fd >= 0 ? r->body_size : r->body_len;
	uint64_t left = total - x->sent;
	size_t n = left < cap ? (size_t)left : cap;
	if (n == 0)
		return 0;
	if (r->body_fd >= 0) {
		ssize_t got = pread(r->body_fd, p, n, (off_t)(r->body_off + x->sent));
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		n = (size_t)got;
	} else {
		memcpy(p, (const char *)r->body + x->sent, n);
	}
	x->sent += n;
	return n;
}

static int seek_cb(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;
	if (origin != SEEK_SET || off < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	struct s3_response *resp = x->resp;
	if (x->r->sink && resp->status >= 200 && resp->status < 300) {
		if (resp->received == 0 && resp->has_length &&
		    (uint64_t)(x->r->range_from > 0 ? x->r->range_from : 0) + resp->content_length >
			    x->r->sink_max) {
			x->sink_rc = EV_ELIMIT;
			return 0;
		}
		int rc = x->r->sink(x->r->sink_ctx, p, n);
		if (rc) {
			x->sink_rc = rc;
			return 0;
		}
		resp->received += n;
		return n;
	}
	if (buf_append(&resp->body, p, n)) {
		x->sink_rc = EV_ELIMIT;
		return 0;
	}
	return n;
}

/* Copies a header value (trimmed) into out. */
static void header_value(const char *v, size_t n, char *out, size_t cap)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n && v[0] == '"' && n >= 2 && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	struct s3_response *resp = x->resp;
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new response (e.g. after 100 Continue): forget the last */
		long st = 0;
		const char *sp = memchr(p, ' ', n);
		if (sp)
			st = strtol(sp + 1, NULL, 10);
		resp->status = st;
		resp->has_length = 0;
		resp->etag[0] = resp->version_id[0] = resp->meta_sha256[0] = '\0';
		resp->lock_mode[0] = resp->lock_until[0] = '\0';
		return n;
	}
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return n;
	size_t nl = (size_t)(colon - p), vl = n - nl - 1;
	const char *v = colon + 1;
	char tmp[256];
#define IS(name) (nl == strlen(name) && !strncasecmp(p, name, nl))
	if (IS("etag")) {
		header_value(v, vl, resp->etag, sizeof resp->etag);
	} else if (IS("x-amz-version-id")) {
		header_value(v, vl, resp->version_id, sizeof resp->version_id);
	} else if (IS("x-amz-meta-sha256")) {
		header_value(v, vl, resp->meta_sha256, sizeof resp->meta_sha256);
	} else if (IS("x-amz-object-lock-mode")) {
		header_value(v, vl, resp->lock_mode, sizeof resp->lock_mode);
	} else if (IS("x-amz-object-lock-retain-until-date")) {
		header_value(v, vl, resp->lock_until, sizeof resp->lock_until);
	} else if (IS("content-length")) {
		header_value(v, vl, tmp, sizeof tmp);
		char *end;
		unsigned long long len = strtoull(tmp, &end, 10);
		if (end != tmp && !*end) {
			resp->content_length = len;
			resp->has_length = 1;
		}
	} else if (IS("date")) {
		header_value(v, vl, tmp, sizeof tmp);
		double t;
		if (s3_parse_http_date(tmp, &t) == 0)
			x->server_date = t;
	}
#undef IS
	return n;
}

/* Gives up an attempt when no byte has moved either way for stall_seconds:
 * a link gone quiet (or a server that stopped reading) is retried, not
 * waited on. curl's own low-speed check averages over several seconds and
 * misses a stall after a fast start; this one does not. */
static int progress_cb(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct xfer *x = ud;
	double now = time_now();
	if (dln + uln != x->last_total) {
		x->last_total = dln + uln;
		x->last_move = now;
	} else if (now - x->last_move > (double)x->c->stall_seconds) {
		x->stalled = 1;
		return 1;
	}
	if (!x->c->progress || now - x->last_progress < 0.5)
		return 0;
	x->last_progress = now;
	curl_off_t t = ult ? ult : dlt, n = ult ? uln : dln;
	if ((uint64_t)t >= METER_SHOWN_FROM)
		meter_show(x->r->progress_label, (uint64_t)n, (uint64_t)t);
	return 0;
}

/* Fills code/message from an XML error body. */
static void parse_error(struct s3_response *resp)
{
	size_t pos = 0;
	resp->code[0] = resp->message[0] = '\0';
	if (!resp->body.len)
		return;
	s3_xml_next(resp->body.data, resp->body.len, &pos, "Code", resp->code, sizeof resp->code);
	pos = 0;
	s3_xml_next(resp->body.data, resp->body.len, &pos, "Message", resp->message,
		    sizeof resp->message);
}

int s3_fail(const struct s3_response *resp, const char *what, int code, char *err,
	    size_t errlen)
{
	return err_set(err, errlen, code, "%s: the server answered HTTP %ld%s%s%s%s", what,
		       resp->status, resp->code[0] ? " " : "", resp->code,
		       resp->message[0] ? ": " : "", resp->message);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
	char *h = xasprintf("%s: %s", name, value);
	struct curl_slist *n = CU(slist_append)(l, h);
	free(h);
	if (!n)
		abort();
	return n;
}

/* One attempt: signs with the current corrected clock and performs. */
static int attempt(struct s3 *c, const struct s3_request *r, struct s3_response *resp,
		   struct xfer *x, const char *body_sha, CURLcode *cc, char *err, size_t errlen)
{
	struct sigv4_pair hdrs[40];
	size_t nh = 0;
	struct sigv4_result sig;
	struct curl_slist *list = NULL;
	char range[48], *path, *url = NULL;
	int rc;

	if (r->n_headers + 4 > ARRAY_LEN(hdrs))
		return err_set(err, errlen, EV_EINVAL, "too many headers");
	hdrs[nh++] = (struct sigv4_pair){"host", c->host};
	for (size_t i = 0; i < r->n_headers; i++)
		hdrs[nh++] = r->headers[i];
	if (r->content_md5)
		hdrs[nh++] = (struct sigv4_pair){"content-md5", r->content_md5};
	if (r->range_from >= 0) {
		snprintf(range, sizeof range, "bytes=%lld-", (long long)r->range_from);
		hdrs[nh++] = (struct sigv4_pair){"range", range};
	}
	path = r->key ? xasprintf("/%s/%s", r->bucket, r->key) : xasprintf("/%s", r->bucket);
	struct sigv4_request sr = {
		.method = r->method, .path = path, .query = r->query, .n_query = r->n_query,
		.headers = hdrs, .n_headers = nh, .payload_sha256 = body_sha,
		.time = (int64_t)floor(s3_now(c)), .region = c->region, .service = "s3",
		.access_key = c->access_key, .secret_key = c->secret_key,
	};
	rc = sigv4_sign(&sr, &sig, err, errlen);
	free(path);
	if (rc)
		return rc;
	url = sig.query_string[0] ? xasprintf("%s%s?%s", c->endpoint, sig.canonical_uri, sig.query_string)
				  : xasprintf("%s%s", c->endpoint, sig.canonical_uri);
	for (size_t i = 0; i < nh; i++)
		list = add_header(list, hdrs[i].name, hdrs[i].value);
	list = add_header(list, "x-amz-date", sig.amz_date);
	list = add_header(list, "x-amz-content-sha256", body_sha);
	list = add_header(list, "Authorization", sig.authorization);
	list = CU(slist_append)(list, "Expect:");
	list = CU(slist_append)(list, "Content-Type:");
	list = CU(slist_append)(list, "Accept:");

	CURL *h = c->curl;
	CU(easy_reset)(h);
	CU(easy_setopt)(h, CURLOPT_URL, url);
	CU(easy_setopt)(h, CURLOPT_HTTPHEADER, list);
	CU(easy_setopt)(h, CURLOPT_PROTOCOLS_STR, "http,https");
	CU(easy_setopt)(h, CURLOPT_SSL_VERIFYPEER, 1L);
	CU(easy_setopt)(h, CURLOPT_SSL_VERIFYHOST, 2L);
	CU(easy_setopt)(h, CURLOPT_NOSIGNAL, 1L);
	CU(easy_setopt)(h, CURLOPT_CONNECTTIMEOUT, 20L);
	/* a stalled link: under 1 KB/s (a quarter of a lower cap) for
	 * stall_seconds (60) counts as a failure to retry */
	CU(easy_setopt)(h, CURLOPT_LOW_SPEED_LIMIT,
			c->bandwidth > 0 && c->bandwidth < 4096 ? c->bandwidth / 4 : 1024L);
	CU(easy_setopt)(h, CURLOPT_LOW_SPEED_TIME, c->stall_seconds);
	/* large sends: fewer calls into the read callback and the socket.
	 * Under a rate cap curl sends a buffer at once and then waits until
	 * the average is down to the cap: with its 64 KB that wait was 64 s
	 * at 1 kB/s, which the stall check took for a dead link. So the
	 * buffer holds at most a quarter of stall_seconds at the cap (curl
	 * takes no less than 16 KiB: 16 s at the lowest cap, 1 kB/s). */
	if (c->bandwidth <= 0) {
		CU(easy_setopt)(h, CURLOPT_UPLOAD_BUFFERSIZE, (long)S3_UPLOAD_BUFFER);
	} else {
		long ub = c->bandwidth * c->stall_seconds / 4;
		CU(easy_setopt)(h, CURLOPT_UPLOAD_BUFFERSIZE,
				ub < S3_CAPPED_BUFFER_MIN   ? S3_CAPPED_BUFFER_MIN
				: ub > S3_CAPPED_BUFFER_MAX ? S3_CAPPED_BUFFER_MAX
							    : ub);
	}
	CU(easy_setopt)(h, CURLOPT_HEADERFUNCTION, header_cb);
	CU(easy_setopt)(h, CURLOPT_HEADERDATA, x);
	CU(easy_setopt)(h, CURLOPT_WRITEFUNCTION, write_cb);
	CU(easy_setopt)(h, CURLOPT_WRITEDATA, x);
	if (c->bandwidth > 0) {
		CU(easy_setopt)(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)c->bandwidth);
		CU(easy_setopt)(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)c->bandwidth);
	}
	CU(easy_setopt)(h, CURLOPT_NOPROGRESS, 0L);
	CU(easy_setopt)(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	CU(easy_setopt)(h, CURLOPT_XFERINFODATA, x);
	uint64_t blen = r->body_fd >= 0 ? r->body_size : r->body_len;
	int has_body = r->body_fd >= 0 || r->body;
	if (!strcmp(r->method, "HEAD")) {
		CU(easy_setopt)(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "PUT")) {
		CU(easy_setopt)(h, CURLOPT_UPLOAD, 1L);
		CU(easy_setopt)(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
	} else if (!strcmp(r->method, "POST")) {
		CU(easy_setopt)(h, CURLOPT_POST, 1L);
		CU(easy_setopt)(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(has_body ? blen : 0));
	} else if (strcmp(r->method, "GET") != 0) {
		CU(easy_setopt)(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	CU(easy_setopt)(h, CURLOPT_READFUNCTION, read_cb);
	CU(easy_setopt)(h, CURLOPT_READDATA, x);
	CU(easy_setopt)(h, CURLOPT_SEEKFUNCTION, seek_cb);
	CU(easy_setopt)(h, CURLOPT_SEEKDATA, x);

	x->sent = 0;
	x->server_date = 0;
	x->sink_rc = 0;
	x->stalled = 0;
	x->last_total = 0;
	x->last_move = time_now();
	resp->status = 0;
	resp->received = 0;
	buf_reset(&resp->body);
	*cc = CU(easy_perform)(h);
	if (c->progress && blen > (1 << 20))
		fputc('\n', stderr);
	if (*cc == CURLE_OK) {
		long st = 0;
		CU(easy_getinfo)(h, CURLINFO_RESPONSE_CODE, &st);
		resp->status = st;
	}
	/* the secret is in the handle's headers only as a signature */
	CU(easy_setopt)(h, CURLOPT_HTTPHEADER, NULL);
	CU(slist_free_all)(list);
	free(url);
	sigv4_result_free(&sig);
	return 0;
}

void s3_backoff(struct s3 *c, int attempt_no)
{
	c->retries++;
	double d = c->retry_base * pow(2.0, attempt_no);
	if (d > S3_MAX_DELAY)
		d = S3_MAX_DELAY;
	/* full jitter in [d/2, d]: many field devices do not retry in step */
	d = d / 2 + (d / 2) * ((double)randombytes_uniform(1000) / 1000.0);
	struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int s3_do(struct s3 *c, const struct s3_request *r, struct s3_response *resp, char *err,
	  size_t errlen)
{
	char sha[SHA256_HEX_LEN + 1];
	const char *body_sha = r->body_sha256;
	struct xfer x = {.c = c, .r = r, .resp = resp};
	int rc = 0, skew_fixes = 0;
	if (!body_sha) {
		if (r->body_fd >= 0)
			return err_set(err, errlen, EV_EINVAL, "a file body needs its SHA-256");
		if (r->body) {
			sha256_hex(r->body, r->body_len, sha);
			body_sha = sha;
		} else {
			body_sha = EMPTY_SHA256;
		}
	}
	int max = r->no_retry ? 1 : c->max_attempts;
	for (int n = 0; n < max; n++) {
		CURLcode cc = CURLE_OK;
		if (n > 0)
			s3_backoff(c, n - 1);
		if ((rc = attempt(c, r, resp, &x, body_sha, &cc, err, errlen)))
			return rc;
		if (x.sink_rc)
			return err_set(err, errlen, x.sink_rc,
				       x.sink_rc == EV_ELIMIT ? "%s: the answer is larger than allowed"
							       : "%s: could not keep the data",
				       r->key ? r->key : r->bucket);
		if (cc != CURLE_OK) {
			if (x.stalled)
				err_set(err, errlen, EV_ENET, "%s %s: nothing moved for %ld s (%s)",
					r->method,
					r->progress_label ? r->progress_label
					: r->key	  ? r->key
							  : r->bucket,
					c->stall_seconds, c->endpoint);
			else
				err_set(err, errlen, EV_ENET, "%s %s: %s (%s)", r->method,
					r->progress_label ? r->progress_label
					: r->key	  ? r->key
							  : r->bucket,
					CU(easy_strerror)(cc), c->endpoint);
			if (cc == CURLE_SSL_CACERT || cc == CURLE_PEER_FAILED_VERIFICATION ||
			    cc == CURLE_SSL_CONNECT_ERROR)
				return err_set(err, errlen, EV_EAUTH,
					       "%s: the TLS certificate could not be verified (%s); "
					       "evcap always verifies certificates",
					       c->endpoint, CU(easy_strerror)(cc));
			if (r->sink && resp->received)
				return EV_ENET; /* caller resumes from what it has */
			if (n + 1 < max)
				log_info("%s; retrying (attempt %d of %d)", err, n + 2, max);
			continue;
		}
		parse_error(resp);
		double local = time_now();
		if (resp->status == 403 && x.server_date > 0 &&
		    (fabs(x.server_date - (local + c->skew)) > S3_SKEW_LIMIT ||
		     !strcmp(resp->code, "RequestTimeTooSkewed")) &&
		    skew_fixes < 2) {
			/* the laptop's clock is off: sign with the server's */
			c->skew = x.server_date - local;
			log_info("this computer's clock is %.0f s %s the server's; signing with the "
				 "server's time",
				 fabs(c->skew), c->skew > 0 ? "behind" : "ahead of");
			skew_fixes++;
			n--;
			continue;
		}
		if (resp->status == 403 || !strcmp(resp->code, "InvalidAccessKeyId") ||
		    !strcmp(resp->code, "SignatureDoesNotMatch")) {
			if (!strcmp(resp->code, "RequestTimeTooSkewed"))
				return err_set(err, errlen, EV_EAUTH,
					       "the server refuses this computer's clock (%s); set the "
					       "clock and try again",
					       resp->message);
			if (!strcmp(resp->code, "SignatureDoesNotMatch"))
				return err_set(err, errlen, EV_EAUTH,
					       "the server refused the request signature "
					       "(SignatureDoesNotMatch): the secret key is wrong");
			if (!strcmp(resp->code, "InvalidAccessKeyId"))
				return err_set(err, errlen, EV_EAUTH,
					       "the server does not know the access key "
					       "(InvalidAccessKeyId): check AWS_ACCESS_KEY_ID");
			return err_set(err, errlen, EV_EAUTH,
				       "%s %s: access denied (HTTP 403%s%s): check the credentials "
				       "and the bucket's permissions",
				       r->method, r->key ? r->key : r->bucket,
				       resp->code[0] ? " " : "", resp->code);
		}
		if ((resp->status >= 500 && resp->status != 501) || resp->status == 408 ||
		    resp->status == 429) {
			err_set(err, errlen, EV_ENET, "%s %s: the server answered HTTP %ld %s",
				r->method, r->key ? r->key : r->bucket, resp->status, resp->code);
			if (n + 1 < max)
				log_info("%s; retrying (attempt %d of %d)", err, n + 2, max);
			continue;
		}
		return 0;
	}
	return EV_ENET;
}
