/*
 * SHA-256 through OpenSSL's EVP interface, which uses the CPU's SHA
 * extensions where present (about 8x coreutils' sha256sum here).
 */
#ifndef EVCAP_HASH_H
#define EVCAP_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256; /* opaque streaming context */

struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *h, const void *p, size_t n);
/* Writes the digest; the context may then be reused after sha256_reset. */
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_reset(struct sha256 *h);
void sha256_free(struct sha256 *h);

/* One-shot digest of a buffer, raw and as lowercase hex (65 bytes). */
void sha256_buf(const void *p, size_t n, uint8_t out[SHA256_LEN]);
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1]);

/* Hashes a whole file (read in large chunks); 0 or a negative code. */
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		char *err, size_t errlen) WUR;

/*
 * A fast check digest (XXH3, 128 bits, from libxxhash) for one job only:
 * telling whether bytes read back from a disk are the bytes that were
 * written there. It finds a storage fault (a flipped bit, a lost or
 * misplaced block) with a chance of missing it of 2^-128, at about ten
 * times the speed of SHA-256 here, but it is not a cryptographic hash:
 * nothing is ever named, signed or proved by it. Evidence is named by
 * SHA-256 alone.
 */
#define CHECK128_LEN 16
struct check128;
struct check128 *check128_new(void);
void check128_update(struct check128 *c, const void *p, size_t n);
void check128_final(const struct check128 *c, uint8_t out[CHECK128_LEN]);
void check128_reset(struct check128 *c);
void check128_free(struct check128 *c);

/* 1 if s is exactly 64 lowercase hex digits. */
int sha256_hex_valid(const char *s);

#endif
