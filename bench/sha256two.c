/*
 * sha256two: how fast export can hash a photo and its working copy. Two
 * messages of about 2 MiB that share everything but their first 40 KB (the
 * copy's head is a few hundred bytes longer, as when metadata is added),
 * hashed (1) with two OpenSSL EVP digests one after the other and (2) with
 * sha256_two, taking turns. Prints the median and best of several rounds
 * in MB/s of message bytes (both messages counted).
 *
 * Build and run from the top folder, in one command (sha256two.c needs
 * only libcrypto):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Icommon -o /tmp/sha256two-bench bench/sha256two.c common/sha256two.c -lcrypto && /tmp/sha256two-bench
 * or, after `make`, against the library:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Icommon -o /tmp/sha256two-bench bench/sha256two.c build/libevcap.a -lcrypto && /tmp/sha256two-bench
 * EVCAP_SHA256_GENERIC=1 in the environment times the OpenSSL fallback.
 *
 * usage: sha256two-bench [ROUNDS]   (default 21)
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sha256two.h"

#define MSG_LEN (2u << 20)
#define HEAD_A (40u * 1024)
#define HEAD_B (40u * 1024 + 312)
#define INNER 8 /* pairs hashed per timed round */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static void evp_two(const struct sha256_piece *a, size_t na, const struct sha256_piece *b,
		    size_t nb, uint8_t da[32], uint8_t db[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 32;
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	for (size_t i = 0; i < na; i++)
		EVP_DigestUpdate(c, a[i].p, a[i].n);
	EVP_DigestFinal_ex(c, da, &len);
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	for (size_t i = 0; i < nb; i++)
		EVP_DigestUpdate(c, b[i].p, b[i].n);
	EVP_DigestFinal_ex(c, db, &len);
	EVP_MD_CTX_free(c);
}

typedef void (*two_fn)(const struct sha256_piece *, size_t, const struct sha256_piece *, size_t,
		       uint8_t *, uint8_t *);

/* Seconds for INNER calls of f. */
static double time_once(two_fn f, const struct sha256_piece *a, size_t na,
			const struct sha256_piece *b, size_t nb, uint8_t da[32], uint8_t db[32])
{
	double t0 = now();
	for (int k = 0; k < INNER; k++)
		f(a, na, b, nb, da, db);
	return now() - t0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 21;
	if (rounds < 1)
		rounds = 1;
	/* the original: MSG_LEN pseudo-random bytes */
	uint8_t *orig = malloc(MSG_LEN), *head = malloc(HEAD_B);
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < MSG_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		orig[i] = (uint8_t)x;
	}
	for (size_t i = 0; i < HEAD_B; i++)
		head[i] = (uint8_t)(orig[i % HEAD_A] ^ 0x5a);
	/* the copy: its own head, then the original's tail in place */
	struct sha256_piece a[1] = { { orig, MSG_LEN } };
	struct sha256_piece b[2] = { { head, HEAD_B }, { orig + HEAD_A, MSG_LEN - HEAD_A } };
	size_t bytes = MSG_LEN + HEAD_B + (MSG_LEN - HEAD_A);

	uint8_t ea[32], eb[32], sa[32], sb[32];
	double *te = malloc(sizeof *te * (size_t)rounds), *ts = malloc(sizeof *ts * (size_t)rounds);
	evp_two(a, 1, b, 2, ea, eb); /* warm up */
	sha256_two(a, 1, b, 2, sa, sb);
	/* The two ways take turns, so a busy machine slows both alike. */
	for (int r = 0; r < rounds; r++) {
		te[r] = time_once(evp_two, a, 1, b, 2, ea, eb);
		ts[r] = time_once(sha256_two, a, 1, b, 2, sa, sb);
	}
	qsort(te, (size_t)rounds, sizeof *te, cmp_double);
	qsort(ts, (size_t)rounds, sizeof *ts, cmp_double);
	double mb = (double)bytes * INNER / 1e6;
	double evp = mb / te[rounds / 2], two = mb / ts[rounds / 2];
	double evp_best = mb / te[0], two_best = mb / ts[0];
	free(te);
	free(ts);
	if (memcmp(ea, sa, 32) != 0 || memcmp(eb, sb, 32) != 0) {
		fprintf(stderr, "sha256two-bench: digests differ from OpenSSL's\n");
		return 1;
	}
	printf("messages: %u and %zu bytes, median of %d rounds\n", MSG_LEN,
	       (size_t)(HEAD_B + MSG_LEN - HEAD_A), rounds);
	printf("                median MB/s   best MB/s\n");
	printf("EVP x2          %10.1f  %10.1f\n", evp, evp_best);
	printf("sha256_two      %10.1f  %10.1f   (%s)\n", two, two_best,
	       sha256_two_accelerated() ? "SHA extensions" : "OpenSSL fallback");
	printf("speed-up        %10.2fx %10.2fx\n", two / evp, two_best / evp_best);
	return 0;
}
