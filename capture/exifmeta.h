/*
 * The EXIF half of a photo's metadata: libexif parses the Exif APP1
 * payload our walker found, and this module reads the fields evcap needs
 * from its raw entries (never libexif's formatted strings), checking every
 * format, count and denominator and naming precisely what is wrong.
 */
#ifndef EVCAP_EXIFMETA_H
#define EVCAP_EXIFMETA_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "util.h"

/* GPS time more than this far from the camera clock is not the same moment
 * (a camera clock off by more than a day is not "a zone and some drift"). */
#define EXIFMETA_MAX_GPS_SKEW_S (26 * 3600)

/*
 * Reads the EXIF block at payload[0..n), which starts with "Exif\0\0" (the
 * APP1 payload as jpeg_walk reports it), into the EXIF fields of *m: make,
 * model, serial, orientation, pixel size, camera time with sub-seconds and
 * offset, and the GPS IFD. Remarks go to m->note. Returns 0, or a negative
 * EV_* code when something present could not be read; err (errlen bytes)
 * then lists what, first problem first, separated by "; ", and *m keeps
 * every field that could be read.
 */
int exifmeta_read(const uint8_t *payload, size_t n, struct meta *m, char *err,
		  size_t errlen) WUR;

/*
 * Appends a formatted sentence to the text field dst (dstlen bytes),
 * separated from what is there by "; ". Text that does not fit is cut,
 * never overflows. Used for m->note and m->error by the metadata modules.
 */
void exifmeta_append(char *dst, size_t dstlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
