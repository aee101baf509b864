/*
 * SHA-256 of two messages at once. Export hashes both the original photo
 * (to check it against its recorded digest) and its working copy (to record
 * the copy's digest); the two share most bytes but differ near the start, so
 * they need separate states. On x86-64 CPUs with the SHA extensions the two
 * messages' rounds run interleaved, which nearly doubles throughput compared
 * with hashing them one after the other (a single stream waits on the
 * latency of each round instruction). Elsewhere both digests come from
 * OpenSSL's EVP interface, one after the other.
 *
 * Thread safety: every function may be called from any thread at any time,
 * except sha256_two_force_generic, which is meant for tests only.
 */
#ifndef EVCAP_SHA256TWO_H
#define EVCAP_SHA256TWO_H

#include <stddef.h>
#include <stdint.h>

/* A run of bytes; p may be NULL when n is 0. */
struct sha256_piece {
	const void *p;
	size_t n;
};

/*
 * Writes the digest of message A to da and of message B to db. Each message
 * is the concatenation of its pieces (a message of na == 0 pieces is empty).
 * Pieces may have any length, including 0, and any alignment. No allocation
 * happens when the SHA extensions are used.
 */
void sha256_two(const struct sha256_piece *a, size_t na, const struct sha256_piece *b,
		size_t nb, uint8_t da[32], uint8_t db[32]);

/*
 * 1 if sha256_two uses the CPU's SHA extensions on this machine. The choice
 * is made once, at first use: setting EVCAP_SHA256_GENERIC=1 in the
 * environment before then makes evcap use OpenSSL instead.
 */
int sha256_two_accelerated(void);

/*
 * For tests: on != 0 makes sha256_two use OpenSSL even where the SHA
 * extensions are present; 0 restores the normal choice. Call it while no
 * other thread is hashing.
 */
void sha256_two_force_generic(int on);

#endif
