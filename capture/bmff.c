/*
 * bmff_keep and bmff_read (see bmff.h). Every box is bounded by its
 * parent before anything in it is read; sizes are 64-bit and checked
 * against what remains, never added to a pointer unchecked. Depth and
 * counts are capped, so a crafted file costs at most a few thousand steps.
 */
#include "bmff.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "exifmeta.h"
#include "jpeg.h"
#include "timeutil.h"
#include "util.h"

/* Seconds from 1904-01-01 (the format's epoch) to 1970-01-01. */
#define BMFF_EPOCH_1904 2082844800LL
/* Boxes walked in one parent at most; keys read at most. */
#define BMFF_MAX_CHILDREN 4096
#define BMFF_MAX_KEYS 512
/* Longest text value (a date, a position, a make) worth reading. */
#define BMFF_MAX_TEXT 256
/* A box type as messages print it: each byte 0xA9 as "(c)", so four of
 * them and the NUL. */
#define BMFF_TYPE_NAME (4 * 3 + 1)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int is_type(const uint8_t *t, const char *s)
{
	return memcmp(t, s, 4) == 0;
}

int bmff_is_boxes(const uint8_t *p, size_t n)
{
	static const char *first[] = {"ftyp", "moov", "mdat", "wide", "free", "skip", "pnot"};
	if (n < 8)
		return 0;
	uint32_t size = be32(p);
	if (size != 0 && size != 1 && size < 8)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(first); i++)
		if (is_type(p + 4, first[i]))
			return 1;
	return 0;
}

/* ---- keeping the boxes that matter while a file streams past ---- */

void bmff_keep_init(struct bmff_keep *k, uint8_t *out, size_t cap)
{
	memset(k, 0, sizeof *k);
	k->out = out;
	k->cap = cap;
	k->limit = cap;
}

static void keep_put(struct bmff_keep *k, const void *p, size_t n)
{
	if (n > k->limit - k->len)
		n = k->limit - k->len;
	memcpy(k->out + k->len, p, n);
	k->len += n;
}

/*
 * The tail ring. Some phones (Samsung's) write the media data first and
 * the meta box last, with the Exif item at the end of the media data: by
 * the time the item list says where it is, it has gone by. So in a HEIF
 * file, until the meta box begins, the last bytes streamed are held in a
 * ring at the top of out (out[cap - ring_cap, cap), kept data then stops
 * at limit = cap - ring_cap), and an item found there is kept from it.
 */
static void ring_release(struct bmff_keep *k)
{
	k->ring_cap = 0;
	k->ring_len = 0;
	k->limit = k->cap;
}

static void ring_add(struct bmff_keep *k, const uint8_t *p, size_t n)
{
	uint8_t *r = k->out + k->cap - k->ring_cap;
	if (n > k->ring_cap) { /* only the last ring_cap bytes matter */
		p += n - k->ring_cap;
		k->ring_end += n - k->ring_cap;
		n = k->ring_cap;
	}
	size_t at = (size_t)(k->ring_end % k->ring_cap), first = k->ring_cap - at;
	if (first > n)
		first = n;
	memcpy(r + at, p, first);
	memcpy(r, p + first, n - first);
	k->ring_end += n;
	k->ring_len = k->ring_len + n > k->ring_cap ? k->ring_cap : k->ring_len + n;
}

/* Copies file bytes [off, off + n) out of the ring; 0, or -1 if it does
 * not hold them all. */
static int ring_get(const struct bmff_keep *k, uint64_t off, size_t n, uint8_t *dst)
{
	const uint8_t *r = k->out + k->cap - k->ring_cap;
	if (!k->ring_cap || off < k->ring_end - k->ring_len || off > k->ring_end ||
	    n > k->ring_end - off)
		return -1;
	size_t at = (size_t)(off % k->ring_cap), first = k->ring_cap - at;
	if (first > n)
		first = n;
	memcpy(dst, r + at, first);
	memcpy(dst + first, r, n - first);
	return 0;
}

int bmff_heif_brand(const uint8_t *b)
{
	static const char *heif[] = {"heic", "heix", "heim", "heis", "hevc",
				     "hevx", "mif1", "msf1", "avif"};
	for (size_t i = 0; i < ARRAY_LEN(heif); i++)
		if (is_type(b, heif[i]))
			return 1;
	return 0;
}

/* The kept ftyp is whole: a HEIF brand starts the ring. */
static void keep_ftyp_done(struct bmff_keep *k)
{
	const uint8_t *h = k->out + k->ftyp_at;
	size_t hl = be32(h) == 1 ? 16 : 8, len = k->len - k->ftyp_at - hl;
	k->ftyp_open = 0;
	int is_heif = 0;
	for (size_t o = 0; o + 4 <= len && !is_heif; o += o == 0 ? 8 : 4) /* major, then compatible */
		is_heif = bmff_heif_brand(h + hl + o);
	size_t want = k->cap / 4 < HEIF_MAX_EXIF ? k->cap / 4 : HEIF_MAX_EXIF;
	k->heif = is_heif;
	if (!is_heif || k->meta_seen || k->len + want > k->cap)
		return;
	k->ring_cap = want;
	k->ring_len = 0;
	k->ring_end = k->pos;
	k->limit = k->cap - want;
}

/* A whole header is in k->hdr: decide what to do with its box. */
static void keep_header(struct bmff_keep *k, uint64_t start)
{
	uint32_t size32 = be32(k->hdr);
	size_t hl = size32 == 1 ? 16 : 8;
	uint64_t size = size32 == 1 ? be64(k->hdr + 8) : size32;
	const uint8_t *type = k->hdr + 4;

	if (size32 != 0 && size < hl) {
		k->stopped = 1; /* not a box: nothing after it can be trusted */
		return;
	}
	k->box_end = size32 == 0 || size > UINT64_MAX - start ? UINT64_MAX : start + size;
	k->in_body = 1;
	k->keep = 0;
	/* a HEIF's list of items; an MP4's top-level meta is not read */
	int meta = is_type(type, "meta") && !k->meta_seen && k->heif;
	int wanted = is_type(type, "ftyp") || is_type(type, "moov") || meta;
	if (meta) {
		k->meta_seen = 1;
		k->ring_frozen = 1; /* it holds what came before the item list */
	}
	if (wanted && size32 != 0 && size <= k->limit - k->len) {
		if (meta) {
			k->meta_open = size > hl;
			k->meta_at = k->len;
		}
		if (is_type(type, "ftyp") && !k->ftyp_seen) {
			k->ftyp_seen = 1;
			k->ftyp_at = k->len;
			k->ftyp_open = size > hl;
		}
		keep_put(k, k->hdr, hl);
		k->keep = 1;
	} else if (wanted && size32 != 0 && k->limit - k->len >= 16) {
		/* too large to keep: a header alone, which tells the reader
		 * the box's real size and that its body is missing */
		uint8_t stub[16];
		memcpy(stub, "\0\0\0\1", 4);
		memcpy(stub + 4, type, 4);
		for (int i = 0; i < 8; i++)
			stub[8 + i] = (uint8_t)(size >> (56 - 8 * i));
		keep_put(k, stub, 16);
		k->stubs++;
	} else if (k->stubs < BMFF_MAX_STUBS && k->limit - k->len >= 8) {
		uint8_t stub[8] = {0, 0, 0, 8};
		memcpy(stub + 4, type, 4);
		keep_put(k, stub, 8);
		k->stubs++;
	}
	if (meta && !k->meta_open)
		ring_release(k); /* no item list to read: nothing to look back for */
	if (k->box_end == start + hl)
		k->in_body = 0; /* an empty box */
}

/* An evcx box header: 16 + n bytes in all, the extent's file offset. */
static void keep_evcx(struct bmff_keep *k, uint64_t off, size_t n)
{
	uint8_t h[16];
	if (k->limit - k->len < 16 + n)
		return;
	uint64_t size = 16 + (uint64_t)n;
	for (int i = 0; i < 4; i++)
		h[i] = (uint8_t)(size >> (24 - 8 * i));
	memcpy(h + 4, "evcx", 4);
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(off >> (56 - 8 * i));
	keep_put(k, h, sizeof h);
}

/* The kept meta box is whole: find its Exif item's extents, to keep as
 * they pass; one whose start has gone by is marked as not kept. */
static void keep_meta_done(struct bmff_keep *k)
{
	const uint8_t *h = k->out + k->meta_at;
	size_t hl = be32(h) == 1 ? 16 : 8;
	struct heif_exif x;
	char why[8];
	k->meta_open = 0;
	if (k->len < k->meta_at + hl ||
	    heif_find_exif(h + hl, k->len - k->meta_at - hl, hl, &x, why, sizeof why) ||
	    !x.found ||
	    x.method != 0) {
		ring_release(k);
		return;
	}
	for (size_t i = 1; i < x.n; i++) /* in file order */
		for (size_t j = i; j > 0 && x.off[j] < x.off[j - 1]; j--) {
			uint64_t o = x.off[j], l = x.len[j];
			x.off[j] = x.off[j - 1];
			x.len[j] = x.len[j - 1];
			x.off[j - 1] = o;
			x.len[j - 1] = l;
		}
	for (size_t i = 1; i < x.n; i++)
		if (x.off[i] < x.off[i - 1] + x.len[i - 1]) {
			/* pieces that overlap: no real file has them, and
			 * what a stream could keep of them would depend on
			 * how it was read; marked as not kept */
			for (size_t j = 0; j < x.n; j++)
				keep_evcx(k, x.off[j], 0);
			ring_release(k);
			return;
		}
	k->want = x;
	k->want_next = 0;
	for (; k->want_next < x.n && x.off[k->want_next] < k->pos; k->want_next++) {
		uint64_t off = x.off[k->want_next];
		size_t n = (size_t)x.len[k->want_next];
		/* its bytes go below the ring (limit), never over it */
		if (k->limit - k->len >= 16 + n && ring_get(k, off, n, k->out + k->len + 16) == 0) {
			keep_evcx(k, off, n);
			k->len += n;
		} else {
			keep_evcx(k, off, 0); /* not held, or no room: marked as not kept */
		}
	}
	ring_release(k);
}

/* The extent being kept does not lie within one box's body (only a
 * crafted file does that): what was kept of it is dropped, and it is
 * marked as not kept. */
static void keep_extent_abort(struct bmff_keep *k)
{
	k->len = k->want_at;
	keep_evcx(k, k->want.off[k->want_next], 0);
	k->want_in = 0;
	k->want_next++;
}

/* Keeps what of the wanted extents lies in the n bytes at k->pos (inside
 * a box not itself kept). */
static void keep_extents(struct bmff_keep *k, const uint8_t *p, size_t n)
{
	uint64_t at = k->pos, end = k->pos + n;
	while (k->want_next < k->want.n) {
		size_t i = k->want_next;
		uint64_t a = k->want.off[i], b = a + k->want.len[i];
		if (a >= end)
			return;
		if (!k->want_in) {
			if (a < at || 16 + k->want.len[i] > k->limit - k->len) {
				keep_evcx(k, a, 0); /* its start went by, or no room */
				k->want_next++;
				continue;
			}
			k->want_at = k->len;
			keep_evcx(k, a, (size_t)k->want.len[i]);
			k->want_in = 1;
		}
		uint64_t from = a > at ? a : at, to = b < end ? b : end;
		if (to < from) { /* cannot be: the bytes come in order */
			keep_extent_abort(k);
			continue;
		}
		keep_put(k, p + (from - at), (size_t)(to - from));
		if (to < b)
			return;
		k->want_in = 0;
		k->want_next++;
	}
}

void bmff_keep_feed(struct bmff_keep *k, const uint8_t *p, size_t n)
{
	while (n > 0 && !k->stopped) {
		if (k->in_body) {
			uint64_t left = k->box_end - k->pos;
			size_t take = left < n ? (size_t)left : n;
			if (k->ring_cap && !k->ring_frozen)
				ring_add(k, p, take);
			if (k->keep)
				keep_put(k, p, take);
			else if (k->want_next < k->want.n)
				keep_extents(k, p, take);
			k->pos += take;
			p += take;
			n -= take;
			if (k->pos == k->box_end) {
				k->in_body = 0;
				if (k->want_in)
					keep_extent_abort(k);
				if (k->meta_open)
					keep_meta_done(k);
				if (k->ftyp_open)
					keep_ftyp_done(k);
			}
			continue;
		}
		/* gathering a header: 8 bytes, or 16 for a 64-bit size */
		size_t need = k->hdr_n >= 4 && be32(k->hdr) == 1 ? 16 : 8;
		size_t take = need - k->hdr_n < n ? need - k->hdr_n : n;
		if (k->ring_cap && !k->ring_frozen)
			ring_add(k, p, take);
		memcpy(k->hdr + k->hdr_n, p, take);
		k->hdr_n += take;
		k->pos += take;
		p += take;
		n -= take;
		if (k->hdr_n == 8 && be32(k->hdr) == 1)
			continue; /* the 64-bit size follows */
		if (k->hdr_n == need) {
			k->hdr_n = 0;
			keep_header(k, k->pos - need);
		}
	}
}

/* ---- reading the boxes ---- */

struct box {
	const uint8_t *type;
	const uint8_t *body;
	size_t len;      /* of the body within the buffer */
	uint64_t size;   /* as declared, header included */
	int cut;         /* the declared size runs past the buffer */
};

/* The box at p[*off..n); advances *off. Returns 1 for a box, 0 at the end
 * (or on a header that is not a box's, with *bad set). A box whose size
 * runs past n is returned with cut set, its body what there is. */
static int next_box(const uint8_t *p, size_t n, size_t *off, struct box *b, int *bad)
{
	size_t o = *off;
	*bad = 0;
	if (n - o < 8)
		return 0;
	uint32_t size32 = be32(p + o);
	size_t hl = 8;
	uint64_t size = size32;
	if (size32 == 1) {
		if (n - o < 16) {
			*bad = 1;
			return 0;
		}
		size = be64(p + o + 8);
		hl = 16;
	} else if (size32 == 0) {
		size = (uint64_t)(n - o); /* to the end */
	}
	if (size < hl) {
		*bad = 1;
		return 0;
	}
	b->type = p + o + 4;
	b->body = p + o + hl;
	b->size = size;
	b->cut = size > (uint64_t)(n - o);
	b->len = b->cut ? n - o - hl : (size_t)size - hl;
	*off = b->cut ? n : o + (size_t)size;
	return 1;
}

/* "moov", or "\xA9xyz" as "(c)xyz", for messages. */
static void type_name(const uint8_t *t, char out[BMFF_TYPE_NAME])
{
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		if (t[i] == 0xA9) {
			memcpy(out + o, "(c)", 3);
			o += 3;
		} else {
			out[o++] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
		}
	}
	out[o] = '\0';
}

struct vctx {
	struct meta *m;
	const uint8_t *top;     /* the header of the top-level box being read (moov) */
	int has_mvhd;
	int64_t mvhd_t;         /* Unix seconds, as written */
	int has_zoned;          /* a creation date with its zone */
	int64_t zoned_local;    /* its wall clock, read as if UTC */
	int zoned_offset;       /* seconds east */
	const char *zoned_from; /* which box or key it came from */
	int utc_writer;         /* Apple or Android keys, or an ffmpeg encoder tag */
	int has_pos;
	double lat, lon, alt;
	int has_alt;
	char pos_from[48];      /* a copy: the key names are freed before the end */
};

static void bad_box(struct vctx *c, const uint8_t *type, const char *what)
{
	char tn[BMFF_TYPE_NAME];
	type_name(type, tn);
	exifmeta_append(c->m->error, sizeof c->m->error, "MP4 %s box %s", tn, what);
}

/* A box that ends before what it should hold: named, unless it runs past
 * its parent (then that is the fault, and named so). */
static void too_short(struct vctx *c, const struct box *b, const char *what)
{
	if (!b->cut)
		bad_box(c, b->type, what);
}

/*
 * A child whose declared size runs past the end of its parent (which
 * next_box returns cut, with the part inside the parent): named, with
 * offsets from the start of the top-level box, which are the same in a
 * file and in bmff_keep's image of it. The caller still reads the part
 * inside the parent. A child of a box itself cut is not named again.
 */
static void past_parent(struct vctx *c, const struct box *parent, const struct box *child)
{
	char tn[BMFF_TYPE_NAME], pn[BMFF_TYPE_NAME], top[BMFF_TYPE_NAME];
	if (parent->cut)
		return;
	size_t at = (size_t)(child->type - 4 - c->top);
	size_t end = (size_t)(parent->body + parent->len - c->top);
	type_name(child->type, tn);
	type_name(parent->type, pn);
	type_name(c->top + 4, top);
	exifmeta_append(c->m->error, sizeof c->m->error,
			"MP4 %s box (%llu bytes, at offset %zu in %s) runs past the end of its "
			"parent %s box (at offset %zu); read as far as %s goes",
			tn, (unsigned long long)child->size, at, top, pn, end, pn);
}

/* Text as it may be stored: up to its first NUL, printable ASCII and
 * UTF-8 characters kept, other bytes as '?', trailing spaces cut. */
static void copy_text(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	text_copy_plain(p, n, out, outlen, 1);
}

/*
 * "2023-05-01T10:00:00+0800" (also "+08:00", "Z", fractional seconds, a
 * space for the T): the wall clock read as if UTC and the zone. Returns 1
 * with a zone, 0 for a date without one, -1 for what is not a date.
 */
static int parse_zoned(const char *s, int64_t *local, int *offset, char *why, size_t whylen)
{
	char wall[20];
	snprintf(why, whylen, "it is not of the form YYYY-MM-DDThh:mm:ss with a zone");
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' '))
		return -1;
	/* the wall clock in EXIF's form, read (and checked, to the day of
	 * the month) as EXIF times are */
	memcpy(wall, s, 19);
	wall[4] = wall[7] = ':';
	wall[10] = ' ';
	wall[19] = '\0';
	char w[96];
	int rc = time_parse_exif_why(wall, local, w, sizeof w);
	if (rc == EV_ELIMIT)
		snprintf(why, whylen, "it has that form, but %s", w);
	if (rc != 0)
		return -1;
	const char *z = s + 19;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if (*z == '\0')
		return 0;
	if (time_parse_zone(z, strlen(z), offset) == 0)
		return 1;
	snprintf(why, whylen, "its zone \"%.8s\" is not Z, +hh:mm or +hhmm within 14 hours", z);
	return -1;
}

/* One signed ISO 6709 number of `deg` integer digits of degrees (2 for a
 * latitude, 3 for a longitude), in degrees, minutes or seconds form:
 * +DD.D, +DDMM.M, +DDMMSS.S. Advances *s. Returns 0 or -1. */
static int iso6709_angle(const char **s, int deg, double *v)
{
	const char *p = *s;
	if (*p != '+' && *p != '-')
		return -1;
	double sign = *p == '-' ? -1 : 1;
	p++;
	size_t nd = 0;
	while (p[nd] >= '0' && p[nd] <= '9')
		nd++;
	int whole = digits_value(p, nd > 9 ? 9 : nd);
	if (whole < 0 || nd > 9)
		return -1;
	double frac = 0, scale = 0.1;
	const char *q = p + nd;
	if (*q == '.') {
		q++;
		if (*q < '0' || *q > '9')
			return -1;
		for (int i = 0; *q >= '0' && *q <= '9'; q++, i++)
			if (i < 12) {
				frac += (*q - '0') * scale;
				scale /= 10;
			}
	}
	double a;
	if (nd == (size_t)deg) {
		a = whole + frac;
	} else if (nd == (size_t)deg + 2) {
		int mm = whole % 100;
		if (mm >= 60)
			return -1;
		a = whole / 100 + (mm + frac) / 60.0;
	} else if (nd == (size_t)deg + 4) {
		int mm = whole / 100 % 100, ss = whole % 100;
		if (mm >= 60 || ss >= 60)
			return -1;
		a = whole / 10000 + mm / 60.0 + (ss + frac) / 3600.0;
	} else {
		return -1;
	}
	*v = sign * a;
	*s = q;
	return 0;
}

/* "+30.5000+114.3000+20.000/" (altitude and the closing '/' optional, a
 * CRS suffix allowed): 0, or -1 for what is not a position. */
static int parse_iso6709(const char *s, double *lat, double *lon, int *has_alt, double *alt)
{
	*has_alt = 0;
	if (iso6709_angle(&s, 2, lat) || iso6709_angle(&s, 3, lon))
		return -1;
	if (fabs(*lat) > 90 || fabs(*lon) > 180)
		return -1;
	if (*s == '+' || *s == '-') {
		double sign = *s == '-' ? -1 : 1, a = 0, scale = 0.1;
		const char *q = s + 1;
		size_t nd = 0;
		for (; *q >= '0' && *q <= '9' && nd < 6; q++, nd++)
			a = a * 10 + (*q - '0');
		if (nd == 0 || (*q >= '0' && *q <= '9'))
			return -1; /* no digits, or more than any altitude has */
		if (*q == '.')
			for (q++; *q >= '0' && *q <= '9'; q++, scale /= 10)
				a += (*q - '0') * scale;
		*alt = sign * a;
		*has_alt = 1;
		s = q;
	}
	if (strncmp(s, "CRS", 3) == 0)
		s += strcspn(s, "/");
	if (*s == '/')
		s++;
	return *s == '\0' ? 0 : -1;
}

static void set_position(struct vctx *c, double lat, double lon, int has_alt, double alt,
			 const char *from)
{
	if (lat == 0 && lon == 0) {
		exifmeta_append(c->m->note, sizeof c->m->note,
				"MP4 position 0,0 treated as no fix");
		return;
	}
	c->has_pos = 1;
	c->lat = lat;
	c->lon = lon;
	c->has_alt = has_alt;
	c->alt = has_alt ? alt : 0;
	snprintf(c->pos_from, sizeof c->pos_from, "%s", from);
}

static void take_position(struct vctx *c, const char *text, const char *from,
			  const uint8_t *type)
{
	double lat, lon, alt;
	int has_alt;
	if (c->has_pos)
		return; /* the first one read stands */
	if (parse_iso6709(text, &lat, &lon, &has_alt, &alt) != 0) {
		bad_box(c, type, "holds a position that is not ISO 6709");
		return;
	}
	set_position(c, lat, lon, has_alt, alt, from);
}

/*
 * 3GPP's location box (TS 26.244), which some Android phones and FLIR's
 * camera write in udta: version and flags, a language, a name ending in
 * NUL (two NULs if UTF-16, which starts with its BOM), a role byte, then
 * longitude, latitude and altitude as signed 16.16 fixed point.
 */
static void read_loci(struct vctx *c, const struct box *b)
{
	const uint8_t *p = b->body;
	size_t n = b->len, q = 6;
	if (c->has_pos)
		return;
	if (n < 6) {
		too_short(c, b, "is too short");
		return;
	}
	int wide = n >= 8 && p[6] == 0xFE && p[7] == 0xFF;
	while (q < n && (wide ? q + 1 < n && (p[q] || p[q + 1]) : p[q] != 0))
		q += wide ? 2 : 1;
	q += wide ? 2 : 1; /* the NUL */
	q += 1;            /* the role */
	if (q > n || n - q < 12) {
		too_short(c, b, "is too short for its position");
		return;
	}
	double lon = (int32_t)be32(p + q) / 65536.0, lat = (int32_t)be32(p + q + 4) / 65536.0;
	double alt = (int32_t)be32(p + q + 8) / 65536.0;
	if (fabs(lat) > 90 || fabs(lon) > 180) {
		bad_box(c, b->type, "holds a position out of range");
		return;
	}
	set_position(c, lat, lon, 1, alt, "loci");
}

static void take_date(struct vctx *c, const char *text, const char *from, const uint8_t *type)
{
	int64_t local;
	int off = 0;
	char why[160], what[256];
	int z = parse_zoned(text, &local, &off, why, sizeof why);
	if (z < 0) {
		/* a year ("2023") or a day ("2023-06-15") is what some
		 * writers put in (c)day: not a moment, and not an error */
		if (strlen(text) > 10) {
			char shown[40];
			size_t o = 0;
			for (size_t i = 0; text[i] && o + 1 < sizeof shown; i++)
				shown[o++] = text[i] >= 0x20 && text[i] < 0x7f && text[i] != '"' ?
						     text[i] : '?';
			shown[o] = '\0';
			snprintf(what, sizeof what, "holds a date that cannot be read, \"%s\": %s",
				 shown, why);
			bad_box(c, type, what);
		}
		return;
	}
	if (z == 1 && !c->has_zoned) {
		c->has_zoned = 1;
		c->zoned_local = local;
		c->zoned_offset = off;
		c->zoned_from = from;
	}
}

/* A QuickTime user-data text: a 16-bit length and language, then the
 * text; or, as iTunes-style writers put it, a `data` box. */
static int udta_text(const struct box *b, char *out, size_t outlen)
{
	if (b->len >= 16 && is_type(b->body + 4, "data")) {
		uint32_t sz = be32(b->body);
		if (sz < 16 || sz > b->len)
			return -1;
		copy_text(b->body + 16, sz - 16, out, outlen);
		return 0;
	}
	if (b->len < 4)
		return -1;
	size_t l = (size_t)b->body[0] << 8 | b->body[1];
	if (l > b->len - 4)
		return -1;
	copy_text(b->body + 4, l, out, outlen);
	return 0;
}

/* The first `data` box's text among an ilst item's children. */
static int ilst_text(struct vctx *c, const struct box *item, char *out, size_t outlen)
{
	size_t off = 0;
	struct box d;
	int bad;
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(item->body, item->len, &off, &d, &bad);
	     i++) {
		if (d.cut)
			past_parent(c, item, &d);
		if (!is_type(d.type, "data") || d.len < 8)
			continue;
		/* type indicator: 0 (well-known), then 1 = UTF-8 */
		if (be32(d.body) != 1)
			return -1;
		copy_text(d.body + 8, d.len - 8, out, outlen);
		return 0;
	}
	return -1;
}

static void take_text(struct vctx *c, const uint8_t *type, const char *key, const char *text)
{
	struct meta *m = c->m;
	if (strcmp(key, "\xA9xyz") == 0 || strcmp(key, "com.apple.quicktime.location.ISO6709") == 0)
		take_position(c, text, key[0] == 'c' ? key : "(c)xyz", type);
	else if (strcmp(key, "\xA9" "day") == 0 || strcmp(key, "com.apple.quicktime.creationdate") == 0)
		take_date(c, text, key[0] == 'c' ? "com.apple.quicktime.creationdate" : "(c)day",
			  type);
	else if ((strcmp(key, "\xA9mak") == 0 || strcmp(key, "com.apple.quicktime.make") == 0 ||
		  strcmp(key, "com.android.manufacturer") == 0) && !m->make[0])
		text_copy_plain(text, strlen(text), m->make, sizeof m->make, 0);
	else if ((strcmp(key, "\xA9mod") == 0 || strcmp(key, "com.apple.quicktime.model") == 0 ||
		  strcmp(key, "com.android.model") == 0) && !m->model[0])
		text_copy_plain(text, strlen(text), m->model, sizeof m->model, 0);
	else if (strcmp(key, "\xA9too") == 0 && strncmp(text, "Lavf", 4) == 0)
		c->utc_writer = 1; /* ffmpeg writes the movie time in UTC */
}

/* The names in a keys box, by their 1-based index; NULL where absent. */
struct keys {
	size_t n;
	char name[BMFF_MAX_KEYS][48];
};

static void read_keys(struct vctx *c, const struct box *b, struct keys *k)
{
	k->n = 0;
	if (b->len < 8) {
		too_short(c, b, "is too short");
		return;
	}
	uint32_t count = be32(b->body + 4);
	size_t off = 8;
	for (uint32_t i = 0; i < count && i < BMFF_MAX_KEYS; i++) {
		if (b->len - off < 8) {
			too_short(c, b, "ends inside its list of keys");
			return;
		}
		uint32_t sz = be32(b->body + off);
		if (sz < 8 || sz > b->len - off) {
			bad_box(c, b->type, "has a key whose size is wrong");
			return;
		}
		/* namespace "mdta", then the name (not terminated) */
		size_t nl = sz - 8;
		if (nl >= sizeof k->name[0])
			nl = sizeof k->name[0] - 1; /* longer than any key read */
		copy_text(b->body + off + 8, nl, k->name[k->n], sizeof k->name[0]);
		if (strncmp(k->name[k->n], "com.apple.quicktime.", 20) == 0 ||
		    strncmp(k->name[k->n], "com.android.", 12) == 0)
			c->utc_writer = 1;
		k->n++;
		off += sz;
	}
}

/* A meta box: a handler, keys and an item list. In QuickTime files it has
 * no version field; in MP4 it is a full box. */
static void read_meta(struct vctx *c, const struct box *mb, struct keys *keys)
{
	size_t skip = mb->len >= 8 && is_type(mb->body + 4, "hdlr") ? 0 : 4;
	if (mb->len < skip)
		return;
	const uint8_t *p = mb->body + skip;
	size_t n = mb->len - skip, off = 0;
	struct box b, ilst = {0};
	int bad, have_ilst = 0;
	keys->n = 0;
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(p, n, &off, &b, &bad); i++) {
		if (b.cut)
			past_parent(c, mb, &b);
		if (is_type(b.type, "keys"))
			read_keys(c, &b, keys);
		else if (is_type(b.type, "ilst")) {
			ilst = b;
			have_ilst = 1;
		}
	}
	if (bad)
		bad_box(c, mb->type, "has a child whose size is wrong");
	if (!have_ilst)
		return;
	off = 0;
	char text[BMFF_MAX_TEXT];
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(ilst.body, ilst.len, &off, &b, &bad);
	     i++) {
		if (b.cut)
			past_parent(c, &ilst, &b);
		char key[8];
		const char *name = NULL;
		uint32_t idx = be32(b.type);
		if (keys->n > 0 && idx >= 1 && idx <= keys->n) {
			name = keys->name[idx - 1];
		} else if (b.type[0] == 0xA9) {
			memcpy(key, b.type, 4);
			key[4] = '\0';
			name = key;
		}
		if (name && ilst_text(c, &b, text, sizeof text) == 0)
			take_text(c, b.type, name, text);
	}
}

static void read_udta(struct vctx *c, const struct box *ub)
{
	size_t off = 0;
	struct box b;
	int bad;
	char text[BMFF_MAX_TEXT], key[8];
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(ub->body, ub->len, &off, &b, &bad); i++) {
		if (b.cut)
			past_parent(c, ub, &b);
		if (is_type(b.type, "meta")) {
			struct keys *k = xmalloc(sizeof *k);
			read_meta(c, &b, k);
			free(k);
		} else if (b.type[0] == 0xA9) {
			memcpy(key, b.type, 4);
			key[4] = '\0';
			if (udta_text(&b, text, sizeof text) == 0)
				take_text(c, b.type, key, text);
			else if (is_type(b.type, "\xA9xyz") || is_type(b.type, "\xA9" "day"))
				too_short(c, &b, "is too short for its text");
		} else if (is_type(b.type, "loci")) {
			read_loci(c, &b);
		} else if (is_type(b.type, "date")) {
			/* a date with its zone as bare text, as some Android
			 * phones and FLIR's camera write it */
			copy_text(b.body, b.len, text, sizeof text);
			take_date(c, text, "udta date", b.type);
		}
	}
	if (bad)
		bad_box(c, ub->type, "has a child whose size is wrong");
}

static void read_mvhd(struct vctx *c, const struct box *b)
{
	uint64_t t;
	if (b->len < 4) {
		too_short(c, b, "is too short");
		return;
	}
	if (b->body[0] == 1 && b->len >= 12)
		t = be64(b->body + 4);
	else if (b->body[0] == 0 && b->len >= 8)
		t = be32(b->body + 4);
	else {
		if (b->body[0] > 1)
			bad_box(c, b->type, "has an unknown version");
		else
			too_short(c, b, "is too short");
		return;
	}
	/* 0 is "not set"; before 1990 or past 2200 is a clock never set or
	 * a value that is not a time */
	if (t == 0)
		return;
	int64_t unix_t = (int64_t)(t > (uint64_t)INT64_MAX / 2 ? 0 : t) - BMFF_EPOCH_1904;
	if (unix_t < 631152000 || unix_t > 7258118400LL) {
		/* the date it names, where it names one a person can read */
		char when[40] = "";
		if (t <= (uint64_t)BMFF_EPOCH_1904 + INT64_C(253402300799)) {
			int y, mo, d, h, mi, sec;
			time_to_civil(unix_t, &y, &mo, &d, &h, &mi, &sec);
			snprintf(when, sizeof when, " (%04d-%02d-%02d %02d:%02d:%02d)", y, mo, d, h,
				 mi, sec);
		}
		exifmeta_append(c->m->note, sizeof c->m->note,
				"MP4 movie header creation time %llu s from 1904%s is not a "
				"plausible date (before 1990 or after 2200: a clock never set); "
				"not used",
				(unsigned long long)t, when);
		return;
	}
	c->has_mvhd = 1;
	c->mvhd_t = unix_t;
}

static void read_moov(struct vctx *c, const struct box *mv)
{
	size_t off = 0;
	struct box b;
	int bad;
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(mv->body, mv->len, &off, &b, &bad); i++) {
		if (b.cut)
			past_parent(c, mv, &b);
		if (is_type(b.type, "mvhd"))
			read_mvhd(c, &b);
		else if (is_type(b.type, "udta"))
			read_udta(c, &b);
		else if (is_type(b.type, "meta")) {
			struct keys *k = xmalloc(sizeof *k);
			read_meta(c, &b, k);
			free(k);
		}
	}
	if (bad)
		bad_box(c, mv->type, "has a child whose size is wrong");
}

void bmff_read(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m)
{
	struct vctx c = {.m = m};
	size_t off = 0;
	struct box b;
	int bad = 0, have_moov = 0, cut = 0;

	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(p, n, &off, &b, &bad); i++) {
		cut = b.cut;
		if (!is_type(b.type, "moov"))
			continue;
		have_moov = 1;
		if (b.cut) {
			exifmeta_append(m->error, sizeof m->error,
					"MP4 moov box (%llu bytes) ends past the %zu bytes read for "
					"metadata; time and place not read",
					(unsigned long long)b.size, n);
			break;
		}
		c.top = b.type - 4;
		read_moov(&c, &b);
		break;
	}
	if (bad)
		exifmeta_append(m->error, sizeof m->error,
				"MP4 box at offset %zu has a size that is wrong; boxes after it not read",
				off);
	else if (!have_moov && (!cut || (uint64_t)n >= file_size))
		/* every box was whole (a whole file, or bmff_keep's image of
		 * one), or the file itself ends inside one; none was the index */
		exifmeta_append(m->error, sizeof m->error,
				"MP4 has no moov box (the movie's index): the recording may have "
				"been cut short, as when a camera loses power");
	else if (!have_moov)
		exifmeta_append(m->error, sizeof m->error,
				"MP4 moov box not found in the first %zu of %llu bytes", n,
				(unsigned long long)file_size);

	if (c.has_zoned) {
		meta_set_camera_time(m, c.zoned_local);
		m->has_offset = 1;
		m->offset_s = c.zoned_offset;
		time_format_offset(c.zoned_offset, m->offset_raw);
		exifmeta_append(m->note, sizeof m->note, "MP4 time and zone from %s", c.zoned_from);
	} else if (c.has_mvhd) {
		meta_set_camera_time(m, c.mvhd_t);
		m->clock_is_utc = c.utc_writer;
		if (!c.utc_writer)
			exifmeta_append(m->note, sizeof m->note,
					"MP4 creation time taken as the camera's clock (cameras write it "
					"in UTC or in local time)");
	}
	if (c.has_pos) {
		m->has_video_pos = 1;
		m->video_lat = c.lat;
		m->video_lon = c.lon;
		m->has_video_alt = c.has_alt;
		m->video_alt = c.alt;
		exifmeta_append(m->note, sizeof m->note, "MP4 position from %s", c.pos_from);
	}
}

/* ---- HEIF photos: the Exif item ---- */

/* A big-endian number of `size` bytes (0, 4 or 8) at p[*q..len); -1 past
 * the end. */
static int take_uint(const uint8_t *p, size_t len, size_t *q, unsigned size, uint64_t *v)
{
	if (len - *q < size)
		return -1;
	*v = size == 8 ? be64(p + *q) : size == 4 ? be32(p + *q) : size == 2 ? be16(p + *q) : 0;
	*q += size;
	return 0;
}

/* The Exif item's id from iinf's infe entries (version 2 and 3, which
 * carry an item type); 0 when there is none. */
static uint32_t heif_exif_id(const struct box *iinf, int *bad)
{
	const uint8_t *p = iinf->body;
	size_t len = iinf->len, off;
	*bad = len < 6;
	if (*bad)
		return 0;
	off = p[0] == 0 ? 6 : 8; /* version, flags, entry count */
	if (off > len) {
		*bad = 1;
		return 0;
	}
	struct box e;
	int ebad = 0;
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(p, len, &off, &e, &ebad); i++) {
		if (!is_type(e.type, "infe") || e.cut || e.len < 4 || e.body[0] < 2)
			continue;
		size_t q = 4;
		uint64_t id;
		if (take_uint(e.body, e.len, &q, e.body[0] == 2 ? 2 : 4, &id) || e.len - q < 6)
			continue;
		if (is_type(e.body + q + 2, "Exif"))
			return (uint32_t)id;
	}
	*bad = ebad;
	return 0;
}

int heif_find_exif(const uint8_t *body, size_t len, size_t hdr, struct heif_exif *x, char *why,
		   size_t whylen)
{
	memset(x, 0, sizeof *x);
	if (len < 4)
		return err_set(why, whylen, EV_EINVAL, "HEIF meta box is empty");
	struct box b, iinf = {0}, iloc = {0};
	size_t off = 4;
	int bad = 0;
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(body, len, &off, &b, &bad); i++) {
		if (is_type(b.type, "iinf") && !iinf.type)
			iinf = b;
		else if (is_type(b.type, "iloc") && !iloc.type)
			iloc = b;
		/* A child that runs past the meta box hides whatever follows
		 * it: named when it is the list or the locations, or when
		 * either is still to be found. Offsets count from the start of
		 * the meta box, header included, as in a file. */
		if (b.cut && (is_type(b.type, "iinf") || is_type(b.type, "iloc") || !iinf.type ||
			      !iloc.type)) {
			char tn[BMFF_TYPE_NAME];
			type_name(b.type, tn);
			return err_set(why, whylen, EV_EINVAL,
				       "HEIF %s box (%llu bytes, at offset %zu in meta) runs past "
				       "the end of its parent meta box (at offset %zu)%s",
				       tn, (unsigned long long)b.size,
				       hdr + (size_t)(b.type - 4 - body), hdr + len,
				       iinf.type && iloc.type ? "" : "; boxes after it not read");
		}
	}
	if (bad)
		return err_set(why, whylen, EV_EINVAL,
			       "HEIF box at offset %zu in meta has a size smaller than its own "
			       "header; boxes after it not read",
			       hdr + off);
	if (!iinf.type)
		return 0; /* no items listed: nothing to read */
	uint32_t id = heif_exif_id(&iinf, &bad);
	if (bad)
		return err_set(why, whylen, EV_EINVAL, "HEIF item list (iinf) is malformed");
	if (!id)
		return 0;
	if (!iloc.type)
		return err_set(why, whylen, EV_EINVAL, "HEIF names an Exif item but has no iloc box");

	const uint8_t *p = iloc.body;
	size_t n = iloc.len, q = 4;
	int ver = n ? p[0] : -1;
	if (ver < 0 || ver > 2 || n < 8)
		return err_set(why, whylen, EV_EINVAL, "HEIF item locations (iloc) are malformed");
	unsigned os = p[4] >> 4, ls = p[4] & 15, bs = p[5] >> 4, is = ver ? p[5] & 15 : 0;
	const unsigned sizes[] = {os, ls, bs, is};
	for (size_t k = 0; k < ARRAY_LEN(sizes); k++)
		if (sizes[k] != 0 && sizes[k] != 4 && sizes[k] != 8)
			return err_set(why, whylen, EV_EINVAL,
				       "HEIF item locations (iloc) use a field of %u bytes", sizes[k]);
	q = 6;
	uint64_t count, v;
	if (take_uint(p, n, &q, ver < 2 ? 2 : 4, &count))
		return err_set(why, whylen, EV_EINVAL, "HEIF item locations (iloc) are cut short");
	for (uint64_t i = 0; i < count; i++) {
		uint64_t item, method = 0, base, extents;
		if (take_uint(p, n, &q, ver < 2 ? 2 : 4, &item) ||
		    (ver && take_uint(p, n, &q, 2, &method)) || take_uint(p, n, &q, 2, &v) ||
		    take_uint(p, n, &q, bs, &base) || take_uint(p, n, &q, 2, &extents))
			return err_set(why, whylen, EV_EINVAL,
				       "HEIF item locations (iloc) are cut short");
		method &= 15;
		uint64_t total = 0;
		for (uint64_t e = 0; e < extents; e++) {
			uint64_t eo, el;
			if (take_uint(p, n, &q, is, &v) || take_uint(p, n, &q, os, &eo) ||
			    take_uint(p, n, &q, ls, &el))
				return err_set(why, whylen, EV_EINVAL,
					       "HEIF item locations (iloc) are cut short");
			if (item != id)
				continue;
			if (method > 1)
				return err_set(why, whylen, EV_EINVAL,
					       "HEIF Exif item is built from other items (method %llu)",
					       (unsigned long long)method);
			if (x->n == HEIF_MAX_EXTENTS)
				return err_set(why, whylen, EV_ELIMIT,
					       "HEIF Exif item is in more than %d pieces",
					       HEIF_MAX_EXTENTS);
			if (el == 0 || eo > UINT64_MAX - base || base + eo > UINT64_MAX - el ||
			    el > HEIF_MAX_EXIF - total)
				return err_set(why, whylen, EV_EINVAL,
					       "HEIF Exif item has a piece of %llu bytes at %llu",
					       (unsigned long long)el, (unsigned long long)eo);
			total += el;
			x->off[x->n] = base + eo;
			x->len[x->n++] = el;
		}
		if (item == id) {
			if (!x->n)
				return err_set(why, whylen, EV_EINVAL, "HEIF Exif item has no bytes");
			x->found = 1;
			x->method = (int)method;
			return 0;
		}
	}
	return err_set(why, whylen, EV_EINVAL, "HEIF Exif item %u has no location", id);
}

/* The bytes of extent i of the Exif item, into dst; 0, or -1 with why. */
static int heif_extent(const uint8_t *p, size_t n, uint64_t file_size, const struct heif_exif *x,
		       size_t i, const struct box *idat, int have_evcx, uint8_t *dst, char *why,
		       size_t whylen)
{
	uint64_t off = x->off[i], len = x->len[i];
	if (x->method == 0 && (off > file_size || len > file_size - off))
		return err_set(why, whylen, EV_EINVAL,
			       "HEIF Exif item (%llu bytes at %llu) lies past the file's end (%llu "
			       "bytes): the file may be cut short",
			       (unsigned long long)len, (unsigned long long)off,
			       (unsigned long long)file_size);
	if (x->method == 1) {
		if (!idat || idat->cut || off > idat->len || len > idat->len - off)
			return err_set(why, whylen, EV_EINVAL,
				       "HEIF Exif item lies outside the meta box's data (idat)");
		memcpy(dst, idat->body + off, (size_t)len);
		return 0;
	}
	if (!have_evcx) { /* a plain head: offsets are the buffer's */
		if (off > n || len > n - off)
			return err_set(why, whylen, EV_EINVAL,
				       "HEIF Exif item (%llu bytes at %llu) lies past the %zu bytes read",
				       (unsigned long long)len, (unsigned long long)off, n);
		memcpy(dst, p + off, (size_t)len);
		return 0;
	}
	size_t o = 0;
	struct box b;
	int bad = 0;
	for (int k = 0; k < BMFF_MAX_CHILDREN && next_box(p, n, &o, &b, &bad); k++) {
		if (!is_type(b.type, "evcx") || b.len < 8 || be64(b.body) != off)
			continue;
		if (b.len - 8 < len)
			break;
		memcpy(dst, b.body + 8, (size_t)len);
		return 0;
	}
	return err_set(why, whylen, EV_EINVAL,
		       "HEIF Exif item (%llu bytes at %llu) was not kept as the file was copied: "
		       "it lies before the meta box that lists it, or across the file's boxes",
		       (unsigned long long)len, (unsigned long long)off);
}

int bmff_heif_exif(const uint8_t *p, size_t n, uint64_t file_size, uint8_t **exif,
		   size_t *exif_len, char *why, size_t whylen)
{
	struct box b, meta = {0}, idat = {0};
	size_t off = 0;
	int bad = 0, have_evcx = 0, rc = 0;
	*exif = NULL;
	*exif_len = 0;
	for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(p, n, &off, &b, &bad); i++) {
		if (is_type(b.type, "meta") && !meta.type)
			meta = b;
		else if (is_type(b.type, "evcx"))
			have_evcx = 1;
	}
	if (!meta.type) {
		if (bad)
			return err_set(why, whylen, EV_ECORRUPT,
				       "HEIF box at offset %zu has a size that is wrong; "
				       "no meta box before it",
				       off);
		return err_set(why, whylen, EV_ECORRUPT,
			       "HEIF has no meta box (the photo's list of items)");
	}
	if (meta.cut)
		return err_set(why, whylen, EV_ECORRUPT,
			       "HEIF meta box (%llu bytes) ends past the %zu bytes read",
			       (unsigned long long)meta.size, n);
	struct heif_exif x;
	if (heif_find_exif(meta.body, meta.len, (size_t)(meta.body - (meta.type - 4)), &x, why,
			   whylen))
		return EV_ECORRUPT;
	if (!x.found)
		return 0;
	if (x.method == 1) { /* the item is in the meta box's idat */
		size_t o = 4;
		for (int i = 0; i < BMFF_MAX_CHILDREN && next_box(meta.body, meta.len, &o, &b, &bad);
		     i++)
			if (is_type(b.type, "idat")) {
				idat = b;
				break;
			}
	}
	uint64_t total = 0;
	for (size_t i = 0; i < x.n; i++)
		total += x.len[i];
	uint8_t *buf = xmalloc(JPEG_EXIF_HEADER_LEN + (size_t)total);
	uint8_t *pay = buf + JPEG_EXIF_HEADER_LEN;
	size_t at = 0;
	for (size_t i = 0; i < x.n; i++) {
		if (heif_extent(p, n, file_size, &x, i, idat.type ? &idat : NULL, have_evcx,
				pay + at, why, whylen)) {
			rc = EV_ECORRUPT;
			goto out;
		}
		at += (size_t)x.len[i];
	}
	/* the item: a 32-bit count of bytes before the TIFF header, which
	 * some writers fill with "Exif\0\0" */
	uint64_t skip = total >= 12 ? be32(pay) : 0;
	if (total < 12 || skip > total - 12) {
		rc = err_set(why, whylen, EV_ECORRUPT,
			     "HEIF Exif item (%llu bytes) has no TIFF header where it says",
			     (unsigned long long)total);
		goto out;
	}
	size_t tiff = 4 + skip, tlen = (size_t)total - tiff;
	if (tlen > JPEG_EXIF_HEADER_LEN + 8 &&
	    memcmp(pay + tiff, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) == 0) {
		tiff += JPEG_EXIF_HEADER_LEN;
		tlen -= JPEG_EXIF_HEADER_LEN;
	}
	memmove(pay, pay + tiff, tlen);
	memcpy(buf, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN);
	*exif = buf;
	*exif_len = JPEG_EXIF_HEADER_LEN + tlen;
	buf = NULL;
out:
	free(buf);
	return rc;
}

void bmff_read_heif(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m)
{
	uint8_t *exif;
	size_t len;
	char e[256];
	if (bmff_heif_exif(p, n, file_size, &exif, &len, e, sizeof e)) {
		exifmeta_append(m->error, sizeof m->error, "%s", e);
		return;
	}
	if (!exif) {
		exifmeta_append(m->note, sizeof m->note, "HEIF has no Exif item");
		return;
	}
	if (exifmeta_read(exif, len, m, e, sizeof e) != 0)
		exifmeta_append(m->error, sizeof m->error, "%s", e);
	free(exif);
}
