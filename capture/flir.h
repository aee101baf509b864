/*
 * FLIR's own record in a thermal camera's JPEG. FLIR cameras (the Vue Pro
 * flown on drones, the handheld E and T series) put an "FFF" file in APP1
 * segments that begin "FLIR\0", split over as many segments as it needs
 * (a radiometric image is over 600 KB). Some write no EXIF date at all:
 * their capture time, with its zone, and their model and serial number are
 * only in that record's CameraInfo block. This reads those, and nothing of
 * the thermal data. A pure function over the JPEG head, for fuzzing.
 *
 * The layout, as FLIR files have it (all offsets in bytes):
 * - each APP1 payload: "FLIR\0", a format byte (1), this segment's index,
 *   the last index; the FFF bytes follow, the segments in index order;
 * - FFF header: "FFF\0" (or "AFF\0"), creator[16], version u32 at 20
 *   (100-199: its value tells the header's byte order), the record
 *   directory's offset u32 at 24 and its entry count u32 at 28;
 * - directory entries of 32 bytes: type u16, subtype u16, version u32,
 *   id u32, offset u32, length u32, ...; type 0x20 is CameraInfo;
 * - CameraInfo, in its own byte order (the u16 at 0 reads 2): model
 *   string[32] at 0xd4, part number [16] at 0xf4, serial [16] at 0x104;
 *   at 0x384 the capture time as Unix seconds u32, milliseconds in the
 *   low 16 bits of the u32 at 0x388, and at 0x38c the zone as s16 minutes
 *   west of UTC (240 for -04:00).
 */
#ifndef EVCAP_FLIR_H
#define EVCAP_FLIR_H

#include <stddef.h>
#include <stdint.h>

#include "jpeg.h"
#include "util.h"

/* The most FLIR segments read; a real file uses a dozen. */
#define FLIR_MAX_SEGMENTS 256
/* Directory entries examined. */
#define FLIR_MAX_RECORDS 1024

struct flir_info {
	int found;              /* FLIR APP1 segments are present */
	int has_time;
	int64_t utc;            /* capture time, Unix seconds (UTC) */
	int ms;                 /* 0-999 */
	int offset_s;           /* the camera's zone, seconds east of UTC */
	char model[33];         /* "" when absent */
	char serial[17];
	char part[17];
};

/*
 * Reads the FLIR record from the head p[0..n) that jpeg_walk described in
 * ji. Returns 0 with *out filled (found 0 when there is no FLIR segment),
 * or EV_EINVAL / EV_ECORRUPT with why naming what is wrong ("FLIR segment
 * 3 of 11 is missing"); fields read before the fault stay set.
 */
int flir_read(const uint8_t *p, size_t n, const struct jpeg_info *ji, struct flir_info *out,
	      char *why, size_t whylen) WUR;

#endif
