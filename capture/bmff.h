/*
 * MP4 and QuickTime (ISO base media) files: what they say of their time,
 * place and maker, read by a bounded box walker of our own.
 *
 * A video's metadata is in its `moov` box, which many cameras write after
 * the media data, at the end of a file of gigabytes. So ingest does not
 * hand the parser the file's head as it does for a JPEG: bmff_keep, fed
 * every byte as the file is copied, keeps the small boxes that matter
 * (ftyp, moov) and an 8-byte stub of each other top-level box, giving a
 * compact image of the file that bmff_read then walks. bmff_read works as
 * well on a plain head of a file whose moov comes first.
 *
 * A HEIF photo (a phone's HEIC) keeps its EXIF as an item: the top-level
 * meta box lists it (iinf) and says where its bytes are (iloc), often at
 * the file's end, after the image. bmff_keep keeps that meta box and then
 * the item's bytes as they pass, each extent as a box of its own type
 * "evcx" (size, "evcx", the 64-bit file offset, the bytes; no bytes when
 * the extent was not kept). evcx exists only in these images, never in a
 * file.
 */
#ifndef EVCAP_BMFF_H
#define EVCAP_BMFF_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "util.h"

/* Stubs of skipped top-level boxes kept at most (a file of more is odd,
 * and nothing after them is needed to read its moov). */
#define BMFF_MAX_STUBS 64
/* A HEIF photo's Exif item: the extents of it read at most, and its
 * largest size (a phone's is a few KB; EXIF in a JPEG is under 64 KB). */
#define HEIF_MAX_EXTENTS 8
#define HEIF_MAX_EXIF ((size_t)1 << 20)

/*
 * Where a HEIF photo's Exif item lies: in the file (construction method
 * 0: offsets are the file's) or in the meta box's idat (method 1: offsets
 * into idat's body).
 */
struct heif_exif {
	int found;
	int method;
	size_t n;
	uint64_t off[HEIF_MAX_EXTENTS], len[HEIF_MAX_EXTENTS];
};

struct bmff_keep {
	uint8_t *out;
	size_t cap, len;
	uint64_t pos;       /* file offset of the next byte fed */
	uint64_t box_end;   /* end of the box being passed; UINT64_MAX: the file's end */
	uint8_t hdr[16];    /* the header being gathered */
	size_t hdr_n;
	int in_body;        /* inside a box's body (else reading a header) */
	int keep;           /* copying the body into out */
	int stopped;        /* the boxes no longer parse: nothing more is kept */
	unsigned stubs;
	/* HEIF: the top-level meta box is kept, and once it is whole, the
	 * extents of the Exif item it names are kept as they stream past,
	 * each as an "evcx" box (bmff_read_heif) */
	int meta_open;          /* the meta box being kept */
	size_t meta_at;         /* its header's place in out */
	int meta_seen;          /* one meta box only */
	int heif;               /* the ftyp names a HEIF brand */
	struct heif_exif want;  /* the extents to keep, file offsets */
	size_t want_next;       /* the next one to come */
	int want_in;            /* inside it: its evcx header is written */
	size_t want_at;         /* ... at this place in out */
	size_t limit;           /* kept data stops here: cap, or below the ring */
	int ftyp_seen, ftyp_open;
	size_t ftyp_at;
	/* HEIF: the last bytes before the meta box, for an Exif item that
	 * came before the list of items (bmff.c, "the tail ring") */
	size_t ring_cap, ring_len;
	uint64_t ring_end;      /* file offset after the newest byte held */
	int ring_frozen;        /* the meta box began: nothing more is added */
};

/* Whether the first n bytes of a file look like ISO base media: an ftyp,
 * or a QuickTime file's first atom (moov, mdat, wide, free, skip, pnot),
 * with a size that can be a box's. */
int bmff_is_boxes(const uint8_t *p, size_t n);

/* Whether the 4 bytes at b are an ftyp brand of a HEIF image (HEIC,
 * AVIF and their sequences). */
int bmff_heif_brand(const uint8_t *b);

/* Starts keeping into out (cap bytes, META_HEAD_MAX for ingest). */
void bmff_keep_init(struct bmff_keep *k, uint8_t *out, size_t cap);

/* Feeds the next n bytes of the file, in order; any split will do. */
void bmff_keep_feed(struct bmff_keep *k, const uint8_t *p, size_t n);

/*
 * Reads the boxes in p[0..n) of a file of file_size bytes (a plain head or
 * bmff_keep's image) into m, whose kind and format are already set: the
 * movie header's creation time, a creation date with its zone, a position
 * (ISO 6709), make and model, from mvhd, udta (QuickTime and iTunes forms)
 * and moov/meta keys (Apple). What cannot be read goes to m->error, naming
 * the box; remarks to m->note. Never reads outside p[0..n).
 */
void bmff_read(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m);

/*
 * The Exif item named in a HEIF meta box's body (version and flags
 * first), after a header of hdr bytes: its extents from iinf and iloc.
 * Returns 0 (found 0 when there is no Exif item), or EV_EINVAL with why
 * naming the box that is wrong (offsets from the meta box's start).
 */
int heif_find_exif(const uint8_t *body, size_t len, size_t hdr, struct heif_exif *x, char *why,
		   size_t whylen) WUR;

/*
 * A HEIF photo's Exif item from p[0..n) (as bmff_read_heif takes it), as
 * a JPEG's APP1 payload: "Exif\0\0" and the TIFF block, in *exif
 * (malloc'd, *exif_len bytes). 0 with *exif NULL when the file has no
 * Exif item; EV_ECORRUPT with why naming what is wrong.
 */
int bmff_heif_exif(const uint8_t *p, size_t n, uint64_t file_size, uint8_t **exif,
		   size_t *exif_len, char *why, size_t whylen) WUR;

/*
 * Reads a HEIF/HEIC photo's Exif item, from p[0..n) (a plain head, or
 * bmff_keep's image holding the meta box and "evcx" boxes of the item's
 * bytes), into m as a JPEG's EXIF would be. Problems go to m->error.
 */
void bmff_read_heif(const uint8_t *p, size_t n, uint64_t file_size, struct meta *m);

#endif
