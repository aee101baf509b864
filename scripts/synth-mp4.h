/*
 * Writes MP4 and QuickTime files of a chosen shape for the demo card
 * (scripts/mksample.c) and the tests (scripts/mkmp4.c): ftyp, a media
 * data box of any size (with a 32- or 64-bit size), and a moov before or
 * after it holding a movie header and, as cameras and phones write them,
 * user data ((c)xyz, (c)day, (c)mak, (c)mod, an iTunes-style encoder
 * tag) and Apple's keys. The media bytes are a pattern, not a picture.
 * SYNTH_PROG and die() come from the including program.
 */
#ifndef EVCAP_SYNTH_MP4_H
#define EVCAP_SYNTH_MP4_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mp4_spec {
	const char *brand;     /* "isom", "qt  ", ... */
	int moov_first;        /* moov before the media data (else after it) */
	int no_moov;           /* as a camera that lost power leaves it */
	long long mvhd_time;   /* Unix seconds as the camera writes them; 0: none */
	int mvhd_v1;           /* 64-bit times */
	const char *xyz;       /* udta (c)xyz, ISO 6709 */
	const char *day;       /* udta (c)day */
	const char *make, *model; /* udta (c)mak, (c)mod */
	const char *encoder;   /* udta/meta/ilst (c)too */
	int loci;              /* udta loci (3GPP) at loci_lat, loci_lon, loci_alt */
	double loci_lat, loci_lon, loci_alt;
	const char *udta_date; /* udta date: bare text, as Android phones write it */
	const char *apple_date, *apple_loc, *apple_make; /* moov/meta keys */
	unsigned long long mdat_bytes;
	int mdat_large;        /* a 64-bit size on the media data box */
	unsigned seed;
};

struct mbuf {
	uint8_t *p;
	size_t n, cap;
};

static void mb_put(struct mbuf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 256;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void mb_u32(struct mbuf *b, uint32_t v)
{
	uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	mb_put(b, q, 4);
}

static void mb_u16(struct mbuf *b, unsigned v)
{
	uint8_t q[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	mb_put(b, q, 2);
}

/* Opens a box: its size is filled in by mb_close. */
static size_t mb_open(struct mbuf *b, const char *type)
{
	size_t at = b->n;
	mb_u32(b, 0);
	mb_put(b, type, 4);
	return at;
}

static void mb_close(struct mbuf *b, size_t at)
{
	uint32_t v = (uint32_t)(b->n - at);
	uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	memcpy(b->p + at, q, 4);
}

/* A handler box: version and flags, pre_defined, the handler type, three
 * reserved words (the first given), an empty name. */
static void mb_hdlr(struct mbuf *b, const char *handler, const char *reserved0)
{
	size_t h = mb_open(b, "hdlr");
	mb_u32(b, 0);
	mb_u32(b, 0);
	mb_put(b, handler, 4);
	mb_put(b, reserved0, 4);
	mb_u32(b, 0);
	mb_u32(b, 0);
	mb_put(b, "", 1);
	mb_close(b, h);
}

/* A QuickTime user-data text: length, language, text. */
static void mb_udta_text(struct mbuf *b, const char *type, const char *text)
{
	size_t at = mb_open(b, type);
	mb_u16(b, (unsigned)strlen(text));
	mb_u16(b, 0x15c7); /* "eng", packed */
	mb_put(b, text, strlen(text));
	mb_close(b, at);
}

/* An item-list entry: a data box of UTF-8. */
static void mb_ilst_item(struct mbuf *b, const void *type, const char *text)
{
	size_t at = mb_open(b, type), d = mb_open(b, "data");
	mb_u32(b, 1); /* UTF-8 */
	mb_u32(b, 0); /* locale */
	mb_put(b, text, strlen(text));
	mb_close(b, d);
	mb_close(b, at);
}

static void mb_moov(struct mbuf *b, const struct mp4_spec *s)
{
	size_t moov = mb_open(b, "moov"), at = mb_open(b, "mvhd");
	uint64_t t = s->mvhd_time ? (uint64_t)(s->mvhd_time + 2082844800LL) : 0;
	mb_u32(b, s->mvhd_v1 ? 0x01000000u : 0);
	if (s->mvhd_v1) {
		mb_u32(b, (uint32_t)(t >> 32));
		mb_u32(b, (uint32_t)t);
		mb_u32(b, (uint32_t)(t >> 32));
		mb_u32(b, (uint32_t)t);
		mb_u32(b, 1000);
		mb_u32(b, 0);
		mb_u32(b, 10000);
	} else {
		mb_u32(b, (uint32_t)t);
		mb_u32(b, (uint32_t)t);
		mb_u32(b, 1000);
		mb_u32(b, 10000); /* 10 s */
	}
	mb_u32(b, 0x00010000); /* rate 1.0 */
	mb_u16(b, 0x0100);     /* volume 1.0 */
	static const uint8_t zero[10];
	mb_put(b, zero, 10);
	static const uint32_t matrix[9] = {0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000};
	for (int i = 0; i < 9; i++)
		mb_u32(b, matrix[i]);
	for (int i = 0; i < 6; i++)
		mb_u32(b, 0);
	mb_u32(b, 2); /* next track */
	mb_close(b, at);

	if (s->xyz || s->day || s->make || s->model || s->encoder || s->loci || s->udta_date) {
		size_t u = mb_open(b, "udta");
		if (s->loci) {
			size_t l = mb_open(b, "loci");
			mb_u32(b, 0);
			mb_u16(b, 0x15c7); /* "eng" */
			mb_put(b, "Home\0", 5);
			mb_put(b, "\0", 1); /* role */
			mb_u32(b, (uint32_t)(int32_t)(s->loci_lon * 65536));
			mb_u32(b, (uint32_t)(int32_t)(s->loci_lat * 65536));
			mb_u32(b, (uint32_t)(int32_t)(s->loci_alt * 65536));
			mb_put(b, "earth\0\0", 7);
			mb_close(b, l);
		}
		if (s->udta_date) {
			size_t d = mb_open(b, "date");
			mb_put(b, s->udta_date, strlen(s->udta_date));
			mb_close(b, d);
		}
		if (s->xyz)
			mb_udta_text(b, "\xA9xyz", s->xyz);
		if (s->day)
			mb_udta_text(b, "\xA9" "day", s->day);
		if (s->make)
			mb_udta_text(b, "\xA9mak", s->make);
		if (s->model)
			mb_udta_text(b, "\xA9mod", s->model);
		if (s->encoder) {
			size_t m = mb_open(b, "meta");
			mb_u32(b, 0); /* a full box here */
			mb_hdlr(b, "mdir", "appl"); /* iTunes names its maker there */
			size_t l = mb_open(b, "ilst");
			mb_ilst_item(b, "\xA9too", s->encoder);
			mb_close(b, l);
			mb_close(b, m);
		}
		mb_close(b, u);
	}
	if (s->apple_date || s->apple_loc || s->apple_make) {
		const char *names[3] = {"com.apple.quicktime.creationdate",
					"com.apple.quicktime.location.ISO6709",
					"com.apple.quicktime.make"};
		const char *vals[3] = {s->apple_date, s->apple_loc, s->apple_make};
		size_t m = mb_open(b, "meta"); /* QuickTime: no version field */
		mb_hdlr(b, "mdta", "\0\0\0\0");
		size_t k = mb_open(b, "keys");
		uint32_t nk = 0;
		for (int i = 0; i < 3; i++)
			nk += vals[i] != NULL;
		mb_u32(b, 0);
		mb_u32(b, nk);
		for (int i = 0; i < 3; i++)
			if (vals[i]) {
				mb_u32(b, (uint32_t)(8 + strlen(names[i])));
				mb_put(b, "mdta", 4);
				mb_put(b, names[i], strlen(names[i]));
			}
		mb_close(b, k);
		size_t l = mb_open(b, "ilst");
		uint32_t idx = 0;
		for (int i = 0; i < 3; i++)
			if (vals[i]) {
				uint8_t ty[4] = {0, 0, 0, (uint8_t)++idx};
				mb_ilst_item(b, ty, vals[i]);
			}
		mb_close(b, l);
		mb_close(b, m);
	}
	mb_close(b, moov);
}

static void synth_mp4(FILE *out, const struct mp4_spec *s)
{
	struct mbuf b = {0};
	size_t at = mb_open(&b, "ftyp");
	mb_put(&b, s->brand ? s->brand : "isom", 4);
	mb_u32(&b, 0x200);
	mb_put(&b, s->brand ? s->brand : "isom", 4);
	mb_put(&b, "mp41", 4);
	mb_close(&b, at);
	if (s->moov_first && !s->no_moov)
		mb_moov(&b, s);
	/* the media data header */
	if (s->mdat_large) {
		uint64_t size = 16 + s->mdat_bytes;
		mb_u32(&b, 1);
		mb_put(&b, "mdat", 4);
		mb_u32(&b, (uint32_t)(size >> 32));
		mb_u32(&b, (uint32_t)size);
	} else {
		mb_u32(&b, (uint32_t)(8 + s->mdat_bytes));
		mb_put(&b, "mdat", 4);
	}
	if (fwrite(b.p, 1, b.n, out) != b.n)
		die("write");
	b.n = 0;
	/* the media bytes, distinct for each seed */
	uint8_t chunk[65536];
	uint32_t x = s->seed * 2654435761u + 12345;
	for (unsigned long long left = s->mdat_bytes; left > 0;) {
		size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345;
			chunk[i] = (uint8_t)(x >> 24);
		}
		if (fwrite(chunk, 1, n, out) != n)
			die("write");
		left -= n;
	}
	if (!s->moov_first && !s->no_moov) {
		mb_moov(&b, s);
		if (fwrite(b.p, 1, b.n, out) != b.n)
			die("write");
	}
	free(b.p);
}

#endif
