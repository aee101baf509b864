/*
 * SHA-256 wrappers over OpenSSL EVP.
 */
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

struct sha256 {
	EVP_MD_CTX *ctx;
};

struct sha256 *sha256_new(void)
{
	struct sha256 *h = xmalloc(sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		/* only fails on allocation failure inside OpenSSL */
		abort();
	}
	return h;
}

void sha256_update(struct sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate(h->ctx, p, n);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
	unsigned int len = SHA256_LEN;
	EVP_DigestFinal_ex(h->ctx, out, &len);
}

void sha256_reset(struct sha256 *h)
{
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void sha256_free(struct sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sha256_buf(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	unsigned int len = SHA256_LEN;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];
	sha256_buf(p, n, d);
	hex_encode(d, SHA256_LEN, out);
}

int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		char *err, size_t errlen)
{
	int rc = 0;
	size_t chunk = 1 << 20;
	uint8_t *b = xmalloc(chunk);
	struct sha256 *h = sha256_new();
	uint64_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, b, chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(err, errlen, EV_EIO, "%s: read failed: %s", path,
				     strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(h, b, (size_t)n);
		total += (uint64_t)n;
	}
	uint8_t d[SHA256_LEN];
	sha256_final(h, d);
	hex_encode(d, SHA256_LEN, hex);
	if (size)
		*size = total;
out:
	if (fd >= 0)
		close(fd);
	sha256_free(h);
	free(b);
	return rc;
}

int sha256_hex_valid(const char *s)
{
	size_t i;
	for (i = 0; i < SHA256_HEX_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[i] == '\0';
}

struct check128 {
	XXH3_state_t *st;
};

struct check128 *check128_new(void)
{
	struct check128 *c = xmalloc(sizeof *c);
	c->st = XXH3_createState();
	if (!c->st || XXH3_128bits_reset(c->st) != XXH_OK)
		abort(); /* allocation failure only */
	return c;
}

void check128_update(struct check128 *c, const void *p, size_t n)
{
	XXH3_128bits_update(c->st, p, n);
}

void check128_final(const struct check128 *c, uint8_t out[CHECK128_LEN])
{
	XXH128_canonical_t k;
	XXH128_canonicalFromHash(&k, XXH3_128bits_digest(c->st));
	memcpy(out, k.digest, CHECK128_LEN);
}

void check128_reset(struct check128 *c)
{
	XXH3_128bits_reset(c->st);
}

void check128_free(struct check128 *c)
{
	if (!c)
		return;
	XXH3_freeState(c->st);
	free(c);
}
