/*
 * The SigV4 signer: canonical request, string to sign, derived signing key,
 * signature. Only OpenSSL's HMAC and SHA-256 are used; the secret and every
 * key derived from it are wiped before returning.
 */
#include "sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "timeutil.h"

/* Bounds that no legitimate S3 request comes near. */
#define SIGV4_MAX_PAIRS 64
#define SIGV4_MAX_TEXT (64 * 1024)

void sigv4_amz_date(int64_t t, char out[17])
{
	int y, mo, d, h, mi, s;
	time_to_civil(t, &y, &mo, &d, &h, &mi, &s);
	char tmp[96]; /* roomy: the compiler cannot prove the fields' ranges */
	snprintf(tmp, sizeof tmp, "%04d%02d%02dT%02d%02d%02dZ", y, mo, d, h, mi, s);
	memcpy(out, tmp, 16);
	out[16] = '\0';
}

char *sigv4_encode(const char *s, int keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	*o = '\0';
	return out;
}

struct enc_pair {
	char *name;
	char *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* Header values are trimmed and inner runs of spaces folded to one. */
static char *header_value(const char *v)
{
	char *out = xmalloc(strlen(v) + 1), *o = out;
	while (*v == ' ' || *v == '\t')
		v++;
	int space = 0;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space && o != out)
			*o++ = ' ';
		space = 0;
		*o++ = *v;
	}
	*o = '\0';
	return out;
}

static int header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int value_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

static void hmac(const uint8_t *key, size_t klen, const char *msg, uint8_t out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

static void free_pairs(struct enc_pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
}

void sigv4_result_free(struct sigv4_result *res)
{
	if (!res)
		return;
	free(res->authorization);
	free(res->canonical_uri);
	free(res->query_string);
	free(res->canonical_request);
	free(res->string_to_sign);
	free(res->signed_headers);
	memset(res, 0, sizeof *res);
}

int sigv4_sign(const struct sigv4_request *r, struct sigv4_result *out, char *err, size_t errlen)
{
	struct enc_pair q[SIGV4_MAX_PAIRS], h[SIGV4_MAX_PAIRS + 2];
	size_t nq = 0, nh = 0;
	struct buf qs, canon, sh, sts, keybuf;
	uint8_t k1[32], k2[32], k3[32], k4[32], sig[32];
	char sig_hex[65], creq_hex[65], date[9];
	int rc = 0, have_host = 0;

	memset(out, 0, sizeof *out);
	buf_init(&qs, SIGV4_MAX_TEXT);
	buf_init(&canon, SIGV4_MAX_TEXT);
	buf_init(&sh, SIGV4_MAX_TEXT);
	buf_init(&sts, SIGV4_MAX_TEXT);
	buf_init(&keybuf, 1024);
	if (r->n_query > SIGV4_MAX_PAIRS || r->n_headers > SIGV4_MAX_PAIRS) {
		rc = err_set(err, errlen, EV_EINVAL, "too many query parameters or headers to sign");
		goto out;
	}
	if (!r->payload_sha256 || !sha256_hex_valid(r->payload_sha256)) {
		rc = err_set(err, errlen, EV_EINVAL, "payload hash must be 64 lowercase hex digits");
		goto out;
	}
	sigv4_amz_date(r->time, out->amz_date);
	memcpy(date, out->amz_date, 8);
	date[8] = '\0';

	/* query: encode names and values, then sort by name, then value */
	for (nq = 0; nq < r->n_query; nq++) {
		q[nq].name = sigv4_encode(r->query[nq].name, 0);
		q[nq].value = sigv4_encode(r->query[nq].value ? r->query[nq].value : "", 0);
	}
	qsort(q, nq, sizeof q[0], pair_cmp);
	for (size_t i = 0; i < nq; i++)
		if (buf_printf(&qs, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value))
			goto too_long;

	/* headers: lowercase names, folded values, x-amz-* added, sorted */
	for (nh = 0; nh < r->n_headers; nh++) {
		const struct sigv4_pair *p = &r->headers[nh];
		if (!header_name_ok(p->name) || !value_ok(p->value)) {
			h[nh].name = h[nh].value = NULL;
			rc = err_set(err, errlen, EV_EINVAL, "header '%s' cannot be signed", p->name);
			goto out;
		}
		h[nh].name = xstrdup(p->name);
		for (char *c = h[nh].name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		h[nh].value = header_value(p->value);
		if (!strcmp(h[nh].name, "host"))
			have_host = 1;
		if (!strcmp(h[nh].name, "x-amz-date") || !strcmp(h[nh].name, "x-amz-content-sha256")) {
			nh++;
			rc = err_set(err, errlen, EV_EINVAL, "%s is added by the signer",
				     h[nh - 1].name);
			goto out;
		}
	}
	if (!have_host) {
		rc = err_set(err, errlen, EV_EINVAL, "the host header must be signed");
		goto out;
	}
	h[nh].name = xstrdup("x-amz-content-sha256");
	h[nh++].value = xstrdup(r->payload_sha256);
	h[nh].name = xstrdup("x-amz-date");
	h[nh++].value = xstrdup(out->amz_date);
	qsort(h, nh, sizeof h[0], pair_cmp);

	out->canonical_uri = sigv4_encode(r->path && *r->path ? r->path : "/", 1);
	if (buf_printf(&canon, "%s\n%s\n%s\n", r->method, out->canonical_uri, qs.data))
		goto too_long;
	for (size_t i = 0; i < nh; i++) {
		if (buf_printf(&canon, "%s:%s\n", h[i].name, h[i].value) ||
		    buf_printf(&sh, "%s%s", i ? ";" : "", h[i].name))
			goto too_long;
	}
	if (buf_printf(&canon, "\n%s\n%s", sh.data, r->payload_sha256))
		goto too_long;

	sha256_hex(canon.data, canon.len, creq_hex);
	if (buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", out->amz_date, date,
		       r->region, r->service, creq_hex))
		goto too_long;

	/* kDate = HMAC("AWS4" + secret, date), then region, service, request */
	if (buf_printf(&keybuf, "AWS4%s", r->secret_key)) {
		rc = err_set(err, errlen, EV_EINVAL, "secret key is too long");
		goto out;
	}
	hmac((const uint8_t *)keybuf.data, keybuf.len, date, k1);
	hmac(k1, 32, r->region, k2);
	hmac(k2, 32, r->service, k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, sts.data, sig);
	hex_encode(sig, 32, sig_hex);

	out->authorization = xasprintf(
		"AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,SignedHeaders=%s,Signature=%s",
		r->access_key, date, r->region, r->service, sh.data, sig_hex);
	out->query_string = buf_detach(&qs, NULL);
	if (!out->query_string)
		out->query_string = xstrdup("");
	out->canonical_request = buf_detach(&canon, NULL);
	out->string_to_sign = buf_detach(&sts, NULL);
	out->signed_headers = buf_detach(&sh, NULL);
	goto out;
too_long:
	rc = err_set(err, errlen, EV_ELIMIT, "request too large to sign");
out:
	secure_wipe(keybuf.data, keybuf.len);
	secure_wipe(k1, sizeof k1);
	secure_wipe(k2, sizeof k2);
	secure_wipe(k3, sizeof k3);
	secure_wipe(k4, sizeof k4);
	buf_free(&keybuf);
	buf_free(&qs);
	buf_free(&canon);
	buf_free(&sh);
	buf_free(&sts);
	free_pairs(q, nq);
	free_pairs(h, nh);
	if (rc)
		sigv4_result_free(out);
	return rc;
}
