/*
 * AWS Signature Version 4 as a pure function: request parts, a UTC time and
 * the credentials in, the Authorization header and the canonical query out.
 * evcap signs its own requests (libcurl is only the transport) because
 * Debian 12's libcurl cannot sign with a corrected clock, nor sort and
 * encode queries; with this signer the time is whatever the caller passes,
 * e.g. the laptop's clock plus the skew learned from the server's Date.
 */
#ifndef EVCAP_SIGV4_H
#define EVCAP_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* A name/value pair: raw (not percent-encoded) text. */
struct sigv4_pair {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;   /* "GET", "PUT", ... */
	const char *path;     /* raw path "/bucket/key"; each segment is encoded, '/' kept */
	const struct sigv4_pair *query; /* raw query parameters, any order */
	size_t n_query;
	/* Headers to sign, any order and case; must include "host". The
	 * signer adds x-amz-date and x-amz-content-sha256 itself: the caller
	 * sends them with the values in the result and payload_sha256. */
	const struct sigv4_pair *headers;
	size_t n_headers;
	const char *payload_sha256; /* lowercase hex of the body (or of "") */
	int64_t time;               /* UTC seconds to sign with */
	const char *region;
	const char *service;        /* "s3" */
	const char *access_key;
	const char *secret_key;     /* never copied; derived keys are wiped */
};

struct sigv4_result {
	char amz_date[17];         /* "20130524T000000Z" for the x-amz-date header */
	char *authorization;       /* the Authorization header's value */
	char *canonical_uri;       /* the encoded path to put in the URL */
	char *query_string;        /* the canonical (sorted, encoded) query, "" if none */
	char *canonical_request;   /* kept for tests and -v diagnostics */
	char *string_to_sign;
	char *signed_headers;
};

/* Signs r. On success the result's strings are malloc'd (free with
 * sigv4_result_free); on failure (EV_EINVAL: a header name or value that
 * cannot be signed, no host) the result is empty. */
int sigv4_sign(const struct sigv4_request *r, struct sigv4_result *out, char *err,
	       size_t errlen) WUR;
void sigv4_result_free(struct sigv4_result *res);

/* Percent-encodes s as SigV4 wants (unreserved characters kept, the rest
 * %XX uppercase); with keep_slash, '/' is left as is (for paths). */
char *sigv4_encode(const char *s, int keep_slash);

/* "20130524T000000Z" from UTC seconds. */
void sigv4_amz_date(int64_t t, char out[17]);

#endif
