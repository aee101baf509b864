/*
 * Thumbnails of JPEG photos for the report and KML balloons: libjpeg-turbo
 * decodes at 1/2, 1/4 or 1/8 scale (the IDCT does the shrinking, so a 20 MP
 * photo costs a fraction of a full decode), the rest is a box filter, the
 * camera's orientation is applied, and the result is a small baseline JPEG.
 */
#ifndef EVCAP_THUMB_H
#define EVCAP_THUMB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "util.h"

/* A decoder refuses frames larger than this (pixels): 100 MP is more than
 * any camera a field team carries, and a hostile header cannot make us
 * allocate beyond it. */
#define THUMB_MAX_PIXELS ((uint64_t)100 * 1000 * 1000)

/* Makes a JPEG thumbnail whose longest side is at most max_px (8..2048)
 * from the JPEG in p[0..n); `orientation` is EXIF's 1..8 (0 = as stored).
 * Appends the thumbnail's bytes to out. `name` only labels messages.
 * 0, or EV_EINVAL / EV_ELIMIT / EV_ECORRUPT with err naming the problem. */
int thumb_jpeg(const uint8_t *p, size_t n, int max_px, int orientation, const char *name,
	       struct buf *out, char *err, size_t errlen) WUR;

/* The same from decoded pixels: rgb is w x h RGB, its rows `stride` bytes
 * apart (libheif pads them). */
int thumb_rgb(const uint8_t *rgb, int w, int h, size_t stride, int max_px, int orientation,
	      const char *name, struct buf *out, char *err, size_t errlen) WUR;

/* Encodes rgb (w x h, rows `stride` bytes apart) whole as a baseline JPEG
 * of the given quality (1-100), with no marker segments, appended to out. */
int thumb_encode(const uint8_t *rgb, int w, int h, size_t stride, int quality, const char *name,
		 struct buf *out, char *err, size_t errlen) WUR;

/* The HEIF (HEIC, AVIF) file p[0..n)'s primary image as a JPEG of the
 * given quality, decoded as thumb_heif says: at most max_px on its long
 * side, or whole when max_px is 0, when its size goes to *width and
 * *height (either may be NULL). The JPEG has no marker segments. */
int heif_render(const uint8_t *p, size_t n, int max_px, int quality, const char *name,
		struct buf *out, unsigned *width, unsigned *height, char *err, size_t errlen) WUR;

/* "libheif VERSION": what renders HEIF photos, for the custody record. */
const char *heif_decoder(void);

/* A JPEG thumbnail of the HEIF (HEIC, AVIF) file p[0..n): its primary
 * image, decoded by libheif in a child process with a memory cap and a
 * time limit (thumb_heif.c), turned as the file says. Appends the
 * thumbnail's bytes to out; 0, or an error with err naming the file and
 * the problem (libheif missing, the file unreadable, the decoder crashed
 * or ran out of time). $EVCAP_THUMB_INPROCESS decodes in this process. */
int thumb_heif(const uint8_t *p, size_t n, int max_px, const char *name, struct buf *out,
	       char *err, size_t errlen) WUR;

/* Whether thumb_photo can make a thumbnail of a photo stored in this
 * format (the `format` of an item: "jpeg", "heic", "avif"). */
int thumb_format_ok(const char *format);

/* A thumbnail of a photo of that format: thumb_jpeg or thumb_heif.
 * `orientation` is the item's EXIF orientation, applied to a JPEG only
 * (a HEIF file carries its own rotation, which the decoder applies). */
int thumb_photo(const char *format, const uint8_t *p, size_t n, int max_px, int orientation,
		const char *name, struct buf *out, char *err, size_t errlen) WUR;

/* Appends "data:image/jpeg;base64,..." for the bytes p[0..n) to out. */
int thumb_data_uri(const uint8_t *p, size_t n, struct buf *out) WUR;

#endif
