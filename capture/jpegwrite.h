/*
 * The working-copy writer behind `evcap export --format jpeg`: a new JPEG
 * that is the original with EXIF GPS and the case number set, built in
 * memory. The original's EXIF block is kept whole, at its place, with new
 * directories for the changed entries appended (so maker notes that count
 * from the block's start stay right); libexif writes a block only where
 * there is none or the old one cannot be read. Our own splicer puts it in
 * place of the old Exif APP1 and copies every other byte (XMP, ICC, MPF,
 * the image data) unchanged. Originals are never touched.
 */
#ifndef EVCAP_JPEGWRITE_H
#define EVCAP_JPEGWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "util.h"

/* Largest APP1 payload: the 16-bit segment length counts itself. */
#define JPEGWRITE_MAX_APP1 65533
/* Longest case number accepted, in bytes of UTF-8. */
#define JPEGWRITE_MAX_CASE 512

/* What to write. Fields with has_* == 0 (or a NULL case number) leave the
 * original's entries as they are. */
struct jpeg_tags {
	int has_pos;
	double lat, lon;    /* WGS-84 degrees; the datum is written as "WGS-84" */
	int has_alt;
	double alt;         /* metres, negative below sea level (AltitudeRef 1) */
	int has_time;
	double utc;         /* UTC seconds, for GPSDateStamp and GPSTimeStamp */
	const char *case_number; /* UTF-8: XPKeywords, XPComment, UserComment */
	/* For a JPEG rendered from another format (a HEIC photo): the EXIF
	 * block ("Exif\0\0" and TIFF) to start from instead of the source's
	 * own, which must then have none; the orientation (1..8) and pixel
	 * size the rendering has. 0 / NULL leave them as found. */
	const uint8_t *exif;
	size_t exif_len;
	int orientation;
	unsigned width, height;
};

/*
 * Builds in *out (which the caller has initialised with buf_init; it is
 * reset first, and its cap raised to n + one APP1, since the copy's size
 * is bounded by the source's) the bytes of src[0..n) with the tags set. Refuses (and
 * leaves *out empty) a source whose segments are damaged, values out of
 * range, a case number that is not UTF-8, and a result whose EXIF would not
 * fit in one APP1 (EV_ELIMIT). Returns 0 or a negative EV_* code with err
 * naming the problem.
 */
int jpeg_tag_copy(const uint8_t *src, size_t n, const struct jpeg_tags *tags, struct buf *out,
		  char *err, size_t errlen) WUR;

#endif
