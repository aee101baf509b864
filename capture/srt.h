/*
 * The subtitle files (.SRT) DJI drones write beside each video: one block
 * a frame (or a second) with the drone's own position and its clock. A
 * drone's MP4 holds no position, so the first fix of its SRT is where the
 * video was taken; geotag places the video there (geotag.h).
 *
 * Two families of lines are read, whichever a block holds:
 *   [latitude: 47.351234] [longitude: 123.917456] [rel_alt: 50.0 abs_alt: 200.0]
 *     (Mini, Air, Mavic 3; "longtitude" as some firmware spells it;
 *     [altitude: 117.0] on others)
 *   GPS(123.9174,47.3512,19) or GPS(47.3512,123.9174,0.0M)
 *     (Phantom, Mavic Pro: longitude first; Matrice: latitude first). The
 *     order is taken from the values, the one past 90 degrees being the
 *     longitude; where both are within 90 the line does not say which is
 *     which, and it is not used.
 * A block's clock is its "2023-06-15 10:00:00.123" or "2017.07.29
 * 15:18:50" line, local time as the drone's app keeps it.
 */
#ifndef EVCAP_SRT_H
#define EVCAP_SRT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Bytes of an SRT read for its first fix: a minute of 30 fps blocks. */
#define SRT_READ_MAX ((size_t)512 << 10)

struct srt_fix {
	double lat, lon;
	int has_alt;
	double alt;          /* abs_alt, altitude, or GPS()'s third value */
	int has_time;
	char time[20];       /* "YYYY:MM:DD HH:MM:SS", the block's clock */
	unsigned block;      /* 1-based: which block held it */
};

/*
 * The first block of p[0..n) with a usable position (0,0 and positions
 * out of range are not). Returns 0 with *f filled, EV_ENOENT if no block
 * has one (err says why, e.g. the GPS() order could not be told), or
 * EV_EINVAL for text that is not a DJI SRT.
 */
int srt_first_fix(const uint8_t *p, size_t n, struct srt_fix *f, char *err, size_t errlen) WUR;

#endif
