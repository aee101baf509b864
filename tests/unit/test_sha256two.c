/* Unit tests for sha256two: both digests must match OpenSSL's for every
 * length and every way of splitting a message into pieces, with the SHA
 * extensions and with the OpenSSL fallback. */
#include <stdint.h>

#include "hash.h"
#include "sha256two.h"
#include "t.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/*
 * A message split into pieces, each piece copied into its own allocation
 * ending exactly where the piece ends (so a read past a piece is caught by
 * the address sanitizer) and starting at an odd address when off is odd.
 * An empty piece has p == NULL.
 */
struct split {
	size_t np;
	struct sha256_piece pc[4];
	uint8_t *mem[4];
};

static void split_make(struct split *s, const uint8_t *msg, const size_t *len, size_t np,
		       size_t off)
{
	size_t at = 0;
	s->np = np;
	for (size_t i = 0; i < np; i++) {
		s->mem[i] = NULL;
		s->pc[i].p = NULL;
		s->pc[i].n = len[i];
		if (len[i]) {
			size_t o = (off + i) % 16;
			s->mem[i] = malloc(o + len[i]);
			memcpy(s->mem[i] + o, msg + at, len[i]);
			s->pc[i].p = s->mem[i] + o;
		}
		at += len[i];
	}
}

static void split_free(struct split *s)
{
	for (size_t i = 0; i < s->np; i++)
		free(s->mem[i]);
}

static int n_checked;

/* Hashes a (la bytes cut as lena) and b (lb bytes cut as lenb) together
 * and compares with OpenSSL's digests of the whole messages. */
static int check_pair(const uint8_t *a, const size_t *lena, size_t na, const uint8_t *b,
		      const size_t *lenb, size_t nb, size_t off)
{
	size_t la = 0, lb = 0;
	for (size_t i = 0; i < na; i++)
		la += lena[i];
	for (size_t i = 0; i < nb; i++)
		lb += lenb[i];
	uint8_t wa[SHA256_LEN], wb[SHA256_LEN], ga[SHA256_LEN], gb[SHA256_LEN];
	sha256_buf(a, la, wa);
	sha256_buf(b, lb, wb);
	struct split sa, sb;
	split_make(&sa, a, lena, na, off);
	split_make(&sb, b, lenb, nb, off + 7);
	memset(ga, 0xaa, sizeof ga);
	memset(gb, 0x55, sizeof gb);
	sha256_two(sa.pc, sa.np, sb.pc, sb.np, ga, gb);
	split_free(&sa);
	split_free(&sb);
	n_checked++;
	int ok = memcmp(ga, wa, SHA256_LEN) == 0 && memcmp(gb, wb, SHA256_LEN) == 0;
	if (!ok)
		printf("# mismatch: a %zu bytes in %zu pieces, b %zu bytes in %zu pieces\n", la, na,
		       lb, nb);
	return ok;
}

/* Cuts n bytes into np pieces at random points (some pieces empty). */
static void random_cut(size_t n, size_t np, size_t *len)
{
	size_t left = n;
	for (size_t i = 0; i + 1 < np; i++) {
		size_t k = 0;
		switch (rng() % 4) {
		case 0: k = 0; break;
		case 1: k = left ? 1 + rng() % (left < 70 ? left : 70) : 0; break;
		default: k = left ? rng() % (left + 1) : 0; break;
		}
		len[i] = k;
		left -= k;
	}
	len[np - 1] = left;
}

/* Ways of cutting n bytes into at most 4 pieces; returns the piece count,
 * or 0 when way w does not apply (or is past the last way). */
static size_t cut_way(size_t n, int w, size_t *len)
{
	switch (w) {
	case 0: len[0] = n; return 1;
	case 1: len[0] = 0; len[1] = n; len[2] = 0; return 3;
	case 2: len[0] = n / 3; len[1] = n / 3; len[2] = n - 2 * (n / 3); return 3;
	case 3: /* 1-byte pieces first */
		if (n < 3)
			return 0;
		len[0] = 1; len[1] = 1; len[2] = 1; len[3] = n - 3; return 4;
	case 4: /* 1-byte pieces last */
		if (n < 2)
			return 0;
		len[0] = n - 2; len[1] = 1; len[2] = 0; len[3] = 1; return 4;
	case 5: /* around the first block boundary */
		if (n < 65)
			return 0;
		len[0] = 63; len[1] = 2; len[2] = n - 65; return 3;
	case 6:
		if (n < 128)
			return 0;
		len[0] = 64; len[1] = 64; len[2] = n - 128; return 3;
	case 7: random_cut(n, 4, len); return 4;
	case 8: random_cut(n, 2, len); return 2;
	default: return 0;
	}
}
#define N_WAYS 9

static void test_vectors(void)
{
	static const char *want_empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	static const char *want_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char *want_448 = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t da[SHA256_LEN], db[SHA256_LEN];
	char ha[SHA256_HEX_LEN + 1], hb[SHA256_HEX_LEN + 1];

	struct sha256_piece abc = { "abc", 3 };
	sha256_two(NULL, 0, &abc, 1, da, db);
	hex_encode(da, SHA256_LEN, ha);
	hex_encode(db, SHA256_LEN, hb);
	CHECK_STR(ha, want_empty);
	CHECK_STR(hb, want_abc);

	struct sha256_piece split_abc[3] = { { "a", 1 }, { NULL, 0 }, { "bc", 2 } };
	struct sha256_piece big = { m448, strlen(m448) };
	sha256_two(split_abc, 3, &big, 1, da, db);
	hex_encode(da, SHA256_LEN, ha);
	hex_encode(db, SHA256_LEN, hb);
	CHECK_STR(ha, want_abc);
	CHECK_STR(hb, want_448);

	/* the same message twice, and the same piece array for both */
	sha256_two(&abc, 1, &abc, 1, da, db);
	hex_encode(da, SHA256_LEN, ha);
	hex_encode(db, SHA256_LEN, hb);
	CHECK_STR(ha, want_abc);
	CHECK_STR(hb, want_abc);

	struct sha256_piece empties[4] = { { NULL, 0 }, { "", 0 }, { NULL, 0 }, { NULL, 0 } };
	sha256_two(empties, 4, empties, 2, da, db);
	hex_encode(da, SHA256_LEN, ha);
	hex_encode(db, SHA256_LEN, hb);
	CHECK_STR(ha, want_empty);
	CHECK_STR(hb, want_empty);
}

/* Every length 0..300 for message A, cut every way, against a message B
 * whose length and cuts vary with it. */
static void test_all_short_lengths(void)
{
	uint8_t a[301], b[301];
	fill(a, sizeof a);
	fill(b, sizeof b);
	int bad = 0;
	for (size_t n = 0; n <= 300; n++) {
		for (int w = 0; w < N_WAYS; w++) {
			size_t lena[4], lenb[4];
			size_t na = cut_way(n, w, lena);
			if (!na)
				continue;
			size_t m = (n * 7 + (size_t)w * 31) % 301;
			size_t nb = cut_way(m, (w + 1 + (int)n) % N_WAYS, lenb);
			if (!nb)
				nb = cut_way(m, 0, lenb);
			if (!check_pair(a, lena, na, b, lenb, nb, n + (size_t)w))
				bad++;
			/* B as the same length as A: both end on the same block */
			nb = cut_way(n, (w + 3) % N_WAYS, lenb);
			if (!nb)
				nb = cut_way(n, 0, lenb);
			if (!check_pair(a, lena, na, b, lenb, nb, n))
				bad++;
		}
		/* no pieces at all for one side */
		size_t whole[1] = { n };
		if (!check_pair(a, whole, 1, b, whole, 0, n))
			bad++;
		if (!check_pair(a, whole, 0, b, whole, 1, n))
			bad++;
	}
	CHECK(bad == 0);
}

/* Random lengths up to about 70 KB with random cuts. */
static void test_random(void)
{
	enum { MAX = 70 * 1024 };
	uint8_t *a = malloc(MAX), *b = malloc(MAX);
	fill(a, MAX);
	fill(b, MAX);
	int bad = 0;
	for (int i = 0; i < 300; i++) {
		size_t la = rng() % (i < 150 ? 4096 : MAX);
		size_t lb = rng() % 4 == 0 ? la : rng() % MAX;
		size_t lena[4], lenb[4];
		size_t na = la ? 1 + rng() % 4 : rng() % 5;
		size_t nb = lb ? 1 + rng() % 4 : rng() % 5;
		if (na)
			random_cut(la, na, lena);
		if (nb)
			random_cut(lb, nb, lenb);
		if (!check_pair(a, lena, na, b, lenb, nb, (size_t)rng()))
			bad++;
	}
	free(a);
	free(b);
	CHECK(bad == 0);
}

/* One message much longer than the other, in either order. */
static void test_uneven(void)
{
	const size_t big = 4u << 20;
	uint8_t *p = malloc(big), *q = malloc(64);
	fill(p, big);
	fill(q, 64);
	size_t l0[1] = { 0 }, l1m[1] = { 1u << 20 }, l63[1] = { 63 };
	size_t l4m[3] = { 100, big - 200, 100 };
	CHECK(check_pair(q, l0, 1, p, l1m, 1, 0));
	CHECK(check_pair(p, l1m, 1, q, l0, 1, 3));
	CHECK(check_pair(q, l63, 1, p, l4m, 3, 1));
	CHECK(check_pair(p, l4m, 3, q, l63, 1, 5));
	/* long messages differing only at the start, as export hashes them */
	size_t la[2] = { 40 * 1024, (1u << 20) - 40 * 1024 };
	size_t lb[2] = { 40 * 1024 + 300, (1u << 20) - 40 * 1024 };
	uint8_t *r = malloc(lb[0] + lb[1]);
	fill(r, lb[0]);
	memcpy(r + lb[0], p + la[0], lb[1]);
	CHECK(check_pair(p, la, 2, r, lb, 2, 2));
	free(r);
	free(p);
	free(q);
}

static int cpu_reports_sha(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & (1u << 29)) != 0;
#else
	return 0;
#endif
}

static void test_accelerated(void)
{
	const char *e = getenv("EVCAP_SHA256_GENERIC");
	if (e && strcmp(e, "1") == 0)
		T_SKIP("EVCAP_SHA256_GENERIC=1 is set");
	if (!cpu_reports_sha())
		T_SKIP("cpuid reports no SHA extensions here (valgrind hides them)");
	CHECK(sha256_two_accelerated() == 1);
	sha256_two_force_generic(1);
	CHECK(sha256_two_accelerated() == 0);
	sha256_two_force_generic(0);
	CHECK(sha256_two_accelerated() == 1);
}

static void test_generic_vectors(void)
{
	CHECK(sha256_two_accelerated() == 0);
	test_vectors();
}
static void test_generic_short_lengths(void) { test_all_short_lengths(); }
static void test_generic_random(void) { test_random(); }
static void test_generic_uneven(void) { test_uneven(); }

int main(void)
{
	printf("# SHA extensions in use: %s\n", sha256_two_accelerated() ? "yes" : "no");
	RUN(test_accelerated);
	RUN(test_vectors);
	RUN(test_all_short_lengths);
	RUN(test_random);
	RUN(test_uneven);

	sha256_two_force_generic(1);
	RUN(test_generic_vectors);
	RUN(test_generic_short_lengths);
	RUN(test_generic_random);
	RUN(test_generic_uneven);
	sha256_two_force_generic(0);
	printf("# %d pairs compared with OpenSSL\n", n_checked);
	T_EXIT();
}
