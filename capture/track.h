/*
 * GPS fixes and the pure work on them: parsing NMEA and GPX into fixes,
 * sorting and de-duplicating a track, and finding where it was at a time.
 * Every parser is bounded: lines, points and file sizes have caps, and a bad
 * line is counted and named, never fatal.
 */
#ifndef EVCAP_TRACK_H
#define EVCAP_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct fix {
	double t;        /* UTC seconds */
	double lat, lon; /* WGS-84 degrees */
	double alt;      /* metres above mean sea level, NAN if unknown */
	int mode;        /* 2 = 2D, 3 = 3D; fixes below 2 are never stored */
	double eph;      /* horizontal error estimate in metres, NAN if unknown */
	int sats;        /* satellites used, -1 if unknown */
};

#define TRACK_MAX_POINTS 2000000 /* per file */

struct track {
	struct fix *v;
	size_t n, cap;
};

void track_init(struct track *t);
void track_free(struct track *t);
void track_push(struct track *t, const struct fix *f);

/* Sorts by time and removes fixes with the same time (keeping the first). */
void track_sort_dedup(struct track *t);

#endif
