/*
 * SHA-256 of two messages at once; see sha256two.h.
 *
 * With the SHA extensions, block k of message A and block k of message B are
 * compressed together: two independent states kept in registers, their
 * instructions taking turns in slices of sixteen rounds, so the CPU works on
 * one stream while the other waits for its previous round (see blocks2).
 * When one message has no blocks left the other finishes alone with the
 * same instructions.
 *
 * Each message is read through a small cursor over its pieces. Whole blocks
 * lying inside one piece are hashed straight from the caller's memory; a
 * block that spans pieces, and the padded final block or two, are assembled
 * in a 128-byte buffer inside the cursor.
 */
#include "sha256two.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* One message's digest through OpenSSL's EVP interface. */
static void evp_one(EVP_MD_CTX *c, const struct sha256_piece *pc, size_t np,
		    uint8_t out[SHA256_LEN])
{
	unsigned int len = SHA256_LEN;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		abort(); /* only on allocation failure inside OpenSSL, as in hash.c */
	for (size_t i = 0; i < np; i++)
		if (pc[i].n)
			EVP_DigestUpdate(c, pc[i].p, pc[i].n);
	EVP_DigestFinal_ex(c, out, &len);
}

/* Both digests through OpenSSL, one message after the other. EVP is used
 * directly rather than through hash.c so that this file needs only
 * libcrypto (the micro-benchmark in bench/ builds from it alone). */
static void two_generic(const struct sha256_piece *a, size_t na, const struct sha256_piece *b,
			size_t nb, uint8_t da[SHA256_LEN], uint8_t db[SHA256_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		abort();
	evp_one(c, a, na, da);
	evp_one(c, b, nb, db);
	EVP_MD_CTX_free(c);
}

#if defined(__x86_64__)

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t k256[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The round constants for rounds 4g .. 4g+3. */
#define KV(g) _mm_load_si128((const __m128i *)(k256 + 4 * (g)))

/* Sixteen message bytes at p as four big-endian words. */
#define LOADW(p, mask) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p)), mask)

/*
 * The state lives in two registers in the order the round instruction
 * wants: S0 holds A B E F and S1 holds C D G H (A and C in the top lanes).
 * Four rounds with message words M (W[4g] .. W[4g+3]): the round
 * instruction does two rounds and returns the new A B E F, while the old
 * A B E F becomes the new C D G H.
 */
#define ROUNDS4(S0, S1, M, g)                                           \
	do {                                                            \
		__m128i wk_ = _mm_add_epi32((M), KV(g));                \
		S1 = _mm_sha256rnds2_epu32(S1, S0, wk_);                \
		wk_ = _mm_shuffle_epi32(wk_, 0x0e);                     \
		S0 = _mm_sha256rnds2_epu32(S0, S1, wk_);                \
	} while (0)

/*
 * The next four schedule words. On entry M0 holds W[t-16..t-13], M1
 * W[t-12..t-9], M2 W[t-8..t-5] and M3 W[t-4..t-1]; on exit M0 holds
 * W[t..t+3]. The align picks out W[t-7..t-4].
 */
#define SCHED(M0, M1, M2, M3)                                           \
	do {                                                            \
		M0 = _mm_sha256msg1_epu32(M0, M1);                      \
		M0 = _mm_add_epi32(M0, _mm_alignr_epi8(M3, M2, 4));     \
		M0 = _mm_sha256msg2_epu32(M0, M3);                      \
	} while (0)

/* Four groups of four rounds from g on, rotating the message registers. */
#define QUAD(S0, S1, M0, M1, M2, M3, g)                                 \
	do {                                                            \
		SCHED(M0, M1, M2, M3);                                  \
		ROUNDS4(S0, S1, M0, (g));                               \
		SCHED(M1, M2, M3, M0);                                  \
		ROUNDS4(S0, S1, M1, (g) + 1);                           \
		SCHED(M2, M3, M0, M1);                                  \
		ROUNDS4(S0, S1, M2, (g) + 2);                           \
		SCHED(M3, M0, M1, M2);                                  \
		ROUNDS4(S0, S1, M3, (g) + 3);                           \
	} while (0)

/* The first sixteen rounds, straight from the message bytes at p. */
#define FIRST4(S0, S1, M0, M1, M2, M3, p)                               \
	do {                                                            \
		M0 = LOADW(p, mask);                                    \
		ROUNDS4(S0, S1, M0, 0);                                 \
		M1 = LOADW((p) + 16, mask);                             \
		ROUNDS4(S0, S1, M1, 1);                                 \
		M2 = LOADW((p) + 32, mask);                             \
		ROUNDS4(S0, S1, M2, 2);                                 \
		M3 = LOADW((p) + 48, mask);                             \
		ROUNDS4(S0, S1, M3, 3);                                 \
	} while (0)

static inline __m128i bswap_mask(void)
{
	return _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
}

/* Compresses n consecutive blocks at p into st (A B E F, C D G H). */
SHA_TARGET static void blocks1(__m128i st[2], const uint8_t *p, size_t n)
{
	const __m128i mask = bswap_mask();
	__m128i s0 = st[0], s1 = st[1];
	for (; n; n--, p += 64) {
		const __m128i save0 = s0, save1 = s1;
		__m128i m0, m1, m2, m3;
		FIRST4(s0, s1, m0, m1, m2, m3, p);
		QUAD(s0, s1, m0, m1, m2, m3, 4);
		QUAD(s0, s1, m0, m1, m2, m3, 8);
		QUAD(s0, s1, m0, m1, m2, m3, 12);
		s0 = _mm_add_epi32(s0, save0);
		s1 = _mm_add_epi32(s1, save1);
	}
	st[0] = s0;
	st[1] = s1;
}

/*
 * Compresses n blocks at pa into sa and n blocks at pb into sb, together.
 * The two streams take turns in slices of sixteen rounds. Both chains of
 * round instructions compete for one execution unit, and the CPU prefers
 * the oldest ready instruction; with slices, one stream tends to lead and
 * the other fills the unit's idle cycles, where alternating every
 * instruction makes the two collide more often. Measured on Zen 4 against
 * two OpenSSL digests in turn: slices of sixteen rounds 1.6x, alternating
 * every instruction 1.45x, slices of 32 rounds 1.53x, of 64 rounds 1.4x.
 */
SHA_TARGET static void blocks2(__m128i sa[2], __m128i sb[2], const uint8_t *pa, const uint8_t *pb,
			       size_t n)
{
	const __m128i mask = bswap_mask();
	__m128i a0 = sa[0], a1 = sa[1], b0 = sb[0], b1 = sb[1];
	for (; n; n--, pa += 64, pb += 64) {
		const __m128i sava0 = a0, sava1 = a1, savb0 = b0, savb1 = b1;
		__m128i ma0, ma1, ma2, ma3, mb0, mb1, mb2, mb3;
		FIRST4(a0, a1, ma0, ma1, ma2, ma3, pa);
		FIRST4(b0, b1, mb0, mb1, mb2, mb3, pb);
		QUAD(a0, a1, ma0, ma1, ma2, ma3, 4);
		QUAD(b0, b1, mb0, mb1, mb2, mb3, 4);
		QUAD(a0, a1, ma0, ma1, ma2, ma3, 8);
		QUAD(b0, b1, mb0, mb1, mb2, mb3, 8);
		QUAD(a0, a1, ma0, ma1, ma2, ma3, 12);
		QUAD(b0, b1, mb0, mb1, mb2, mb3, 12);
		a0 = _mm_add_epi32(a0, sava0);
		a1 = _mm_add_epi32(a1, sava1);
		b0 = _mm_add_epi32(b0, savb0);
		b1 = _mm_add_epi32(b1, savb1);
	}
	sa[0] = a0;
	sa[1] = a1;
	sb[0] = b0;
	sb[1] = b1;
}

/* One message being read: its pieces, where reading stands, and the
 * blocks ready to be compressed next. */
struct cursor {
	__m128i st[2];               /* A B E F, C D G H */
	const struct sha256_piece *pc;
	size_t np, i, off;           /* the next unread byte: piece i, offset off */
	uint64_t total;              /* bytes read so far */
	int padded;                  /* the final padded block(s) have been handed out */
	const uint8_t *run;          /* nrun blocks ready at run */
	size_t nrun;
	uint8_t buf[128];
};

static void cursor_init(struct cursor *c, const struct sha256_piece *pc, size_t np)
{
	/* The initial hash value, H0 .. H7 = a .. h. */
	c->st[0] = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
	c->st[1] = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
	c->pc = pc;
	c->np = np;
	c->i = 0;
	c->off = 0;
	c->total = 0;
	c->padded = 0;
	c->run = NULL;
	c->nrun = 0;
}

/* Unread bytes left in the current piece, moving past used-up and empty
 * pieces; 0 when the message has no bytes left. */
static size_t cursor_avail(struct cursor *c)
{
	while (c->i < c->np) {
		size_t left = c->pc[c->i].n - c->off;
		if (left)
			return left;
		c->i++;
		c->off = 0;
	}
	return 0;
}

/* Makes the next blocks ready (run, nrun); 0 when the message is done. */
static int cursor_next(struct cursor *c)
{
	if (c->padded)
		return 0;
	size_t left = cursor_avail(c);
	const uint8_t *src;
	if (left >= 64) {
		/* whole blocks inside one piece: hash them where they are */
		src = (const uint8_t *)c->pc[c->i].p + c->off;
		c->nrun = left / 64;
		c->run = src;
		c->off += c->nrun * 64;
		c->total += c->nrun * 64;
		return 1;
	}
	size_t r = 0;
	while (left && r < 64) {
		size_t take = left < 64 - r ? left : 64 - r;
		src = (const uint8_t *)c->pc[c->i].p + c->off;
		memcpy(c->buf + r, src, take);
		r += take;
		c->off += take;
		c->total += take;
		left = cursor_avail(c);
	}
	c->run = c->buf;
	if (r == 64) {
		c->nrun = 1;
		return 1;
	}
	/* The end of the message: 0x80, zeros, then the length in bits as a
	 * 64-bit big-endian number, over one block or two. */
	uint64_t bits = c->total << 3;
	size_t end = r + 1 + 8 <= 64 ? 64 : 128;
	c->buf[r] = 0x80;
	memset(c->buf + r + 1, 0, end - 8 - (r + 1));
	for (int k = 0; k < 8; k++)
		c->buf[end - 1 - k] = (uint8_t)(bits >> (8 * k));
	c->nrun = end / 64;
	c->padded = 1;
	return 1;
}

static void cursor_digest(const struct cursor *c, uint8_t out[SHA256_LEN])
{
	uint32_t abef[4], cdgh[4];
	_mm_storeu_si128((__m128i *)(void *)abef, c->st[0]);
	_mm_storeu_si128((__m128i *)(void *)cdgh, c->st[1]);
	const uint32_t h[8] = { abef[3], abef[2], cdgh[3], cdgh[2],
				abef[1], abef[0], cdgh[1], cdgh[0] };
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

static void two_shani(const struct sha256_piece *a, size_t na, const struct sha256_piece *b,
		      size_t nb, uint8_t da[SHA256_LEN], uint8_t db[SHA256_LEN])
{
	struct cursor ca, cb;
	cursor_init(&ca, a, na);
	cursor_init(&cb, b, nb);
	int more_a = cursor_next(&ca), more_b = cursor_next(&cb);
	while (more_a && more_b) {
		size_t n = ca.nrun < cb.nrun ? ca.nrun : cb.nrun;
		blocks2(ca.st, cb.st, ca.run, cb.run, n);
		ca.run += 64 * n;
		ca.nrun -= n;
		cb.run += 64 * n;
		cb.nrun -= n;
		if (!ca.nrun)
			more_a = cursor_next(&ca);
		if (!cb.nrun)
			more_b = cursor_next(&cb);
	}
	for (; more_a; more_a = cursor_next(&ca))
		blocks1(ca.st, ca.run, ca.nrun);
	for (; more_b; more_b = cursor_next(&cb))
		blocks1(cb.st, cb.run, cb.nrun);
	cursor_digest(&ca, da);
	cursor_digest(&cb, db);
}

static int cpu_has_sha(void)
{
	unsigned int eax, ebx, ecx, edx;
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return 0;
	if (!(ecx & (1u << 19)) || !(ecx & (1u << 9))) /* SSE4.1, SSSE3 */
		return 0;
	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return 0;
	return (ebx & (1u << 29)) != 0; /* SHA */
}

#else

static int cpu_has_sha(void)
{
	return 0;
}

#endif

static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static int use_sha_ext;         /* written once, under choose_once */
static atomic_int force_generic;

static void choose(void)
{
	const char *e = getenv("EVCAP_SHA256_GENERIC");
	int generic = e && strcmp(e, "1") == 0;
	use_sha_ext = !generic && cpu_has_sha();
}

int sha256_two_accelerated(void)
{
	pthread_once(&choose_once, choose);
	return use_sha_ext && !atomic_load_explicit(&force_generic, memory_order_relaxed);
}

void sha256_two_force_generic(int on)
{
	atomic_store_explicit(&force_generic, on != 0, memory_order_relaxed);
}

void sha256_two(const struct sha256_piece *a, size_t na, const struct sha256_piece *b,
		size_t nb, uint8_t da[32], uint8_t db[32])
{
#if defined(__x86_64__)
	if (sha256_two_accelerated()) {
		two_shani(a, na, b, nb, da, db);
		return;
	}
#endif
	two_generic(a, na, b, nb, da, db);
}
