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

/* The horizontal error assumed for a fix that carries none (no HDOP, no
 * eph): a consumer receiver under open sky is good to about this. */
#define TRACK_DEFAULT_EPH 10.0
/* The speed assumed when a fix has no neighbour to measure one from
 * (metres per second; a car in town, an upper bound for walking). */
#define TRACK_DEFAULT_SPEED 10.0
/* The user-equivalent range error that turns a DOP into metres. */
#define TRACK_UERE 5.0

/* Invariant: v holds n fixes in n <= cap slots; v is NULL when cap is 0. */
struct track {
	struct fix *v;
	size_t n, cap;
};

void track_init(struct track *t);
void track_free(struct track *t);
void track_push(struct track *t, const struct fix *f);
/* In a track sorted by time: the index of the first fix with t >= when
 * (n if none). */
size_t track_lower_bound(const struct track *t, double when);

/* Sorts by time (stable) and removes fixes with the same time, keeping the
 * first of each time in the original order. Fixes with a non-finite time
 * are dropped. */
void track_sort_dedup(struct track *t);

/* Where a track puts a moment. */
enum track_how {
	TRACK_AT_EXACT = 1,  /* a fix at that very time */
	TRACK_AT_INTERP = 2, /* between two fixes no more than max_gap apart */
	TRACK_AT_HELD = 3    /* within max_extrap before the first or after the
			      * last fix: that end's position, held */
};

struct fix_at {
	double lat, lon;
	double alt;      /* NAN if neither bracketing fix has one */
	double error_m;  /* estimated horizontal error, see track_locate */
	int mode;        /* the lower mode of the fixes used */
	int how;         /* enum track_how */
	double t_before; /* time of the fix at or before `when` (NAN if none) */
	double t_after;  /* time of the fix at or after `when` (NAN if none) */
};

/*
 * Finds where a sorted, de-duplicated track (track_sort_dedup) was at
 * `when`, by binary search (O(log n)). Between two fixes no more than
 * max_gap seconds apart the position is interpolated linearly (the
 * longitude difference taken the short way round); before the first or
 * after the last fix the end position is held for at most max_extrap
 * seconds, never extrapolated along a heading. A gap longer than max_gap
 * splits the track: the fixes on either side of it are ends too, held for
 * max_extrap (the same rule as exiftool -geotag), and a moment deeper in
 * the gap is not found.
 *
 * Error model (metres): the bracketing fixes' eph (TRACK_DEFAULT_EPH when
 * unknown), interpolated in time, plus speed x the time to the nearer fix.
 * The speed is that of the segment used (its chord length over its
 * duration); for a held end it is the speed of the end segment, or
 * TRACK_DEFAULT_SPEED when the track has a single fix. The second term
 * bounds how far a body moving at that speed could stray from the chord
 * in the time since (or until) the nearer fix; it is 0 at a fix.
 *
 * Returns 0 and fills *out, EV_ENOENT when the track does not cover
 * `when` (empty, more than max_extrap into a gap longer than max_gap or
 * beyond an end), or
 * EV_EINVAL for a non-finite `when` or negative limits.
 */
int track_locate(const struct track *t, double when, double max_gap, double max_extrap,
		 struct fix_at *out) WUR;

/* Great-circle distance in metres (haversine, mean Earth radius). */
double track_distance_m(double lat1, double lon1, double lat2, double lon2);

/*
 * The fixes of several receivers (gpsd on this machine, a phone's GPX, a
 * drone's log), one track each. Two receivers that are not carried
 * together may be hundreds of metres apart at the same moment; merged
 * into one track, a moment between a fix of each would be placed on the
 * line between them, where neither was. So a moment is placed on each
 * receiver's own track, and the placement with the smallest estimated
 * error is taken (on a tie, the track with more fixes, then the source
 * that sorts first).
 * Invariant: v[i] is the track of source[i], i < n; sources distinct.
 */
struct trackset {
	struct track *v;
	char **source;
	size_t n;
	size_t total; /* fixes in all tracks */
	size_t last;  /* the track pushed to last */
};

void trackset_init(struct trackset *ts);
void trackset_free(struct trackset *ts);
/* Adds a fix to the track of `source` (made if new). */
void trackset_push(struct trackset *ts, const char *source, const struct fix *f);
/* 1 when ts has a track for source. */
int trackset_has(const struct trackset *ts, const char *source);
/* track_sort_dedup on every track; recounts total. */
void trackset_sort(struct trackset *ts);

/* What the other tracks made of the moment a trackset placed. */
struct trackset_other {
	size_t track;      /* its index */
	double distance_m; /* from the placement taken */
	double error_m;    /* its own error estimate */
};
#define TRACKSET_OTHERS_MAX 4

/*
 * track_locate on every track of ts; *out is the placement taken and
 * *which its track. When others is not NULL, the tracks that also cover
 * `when` but put it farther from *out than the two error estimates
 * together (receivers that disagree) are listed there, at most
 * TRACKSET_OTHERS_MAX, their count in *n_others. Returns as
 * track_locate: EV_ENOENT when no track covers `when`.
 */
int trackset_locate(const struct trackset *ts, double when, double max_gap, double max_extrap,
		    struct fix_at *out, size_t *which, struct trackset_other *others,
		    size_t *n_others) WUR;

/*
 * What a parser made of a file: counts, and the first few problems named
 * with their line. Bad input is recorded here, never fatal.
 */
#define TRACK_REPORT_MSGS 8
#define TRACK_REPORT_MSG_LEN 200

struct track_report {
	size_t lines;      /* lines read (NMEA) or points seen (GPX) */
	size_t fixes;      /* fixes produced */
	size_t bad;        /* bad lines or points: checksum, syntax, length, value */
	size_t untrusted;  /* epochs or points with no valid, real fix (status V,
			    * quality 0/6/7/8, simulation, "fix none") */
	size_t untimed;    /* positions that cannot be timed (NMEA: no date yet) */
	size_t no_time;    /* GPX points without a <time> */
	size_t ignored;    /* well-formed sentences of kinds not used */
	int capped;        /* TRACK_MAX_POINTS was reached; later points dropped */
	size_t repeated;   /* fixes repeating an earlier fix of the file (same time
			    * and position): one is stored */
	size_t conflicting; /* fixes at the time of an earlier fix of the file but
			     * at another position: not stored (track_same_times) */
	size_t n_msgs;     /* messages kept, <= TRACK_REPORT_MSGS */
	char msgs[TRACK_REPORT_MSGS][TRACK_REPORT_MSG_LEN];
};

void track_report_init(struct track_report *r);

/*
 * The store keeps one fix a time and source: of a file's fixes that share
 * a time, the first in the file's order. track_same_times counts the
 * others in rep: a repeat of that fix's position in rep->repeated, one at
 * another position (the file contradicts itself) in rep->conflicting,
 * named with the time and both positions ("log.gpx: 2 fixes at
 * 2025-01-01T00:00:05Z: 31.0000000,121.0000000 kept, 32.0000000,121.0000000
 * (111195 m away) not stored"). Pure; t is not changed.
 */
void track_same_times(const char *name, const struct track *t, struct track_report *rep);
/* Records one message ("file.nmea:12: checksum is 5A, the line says 5B");
 * beyond TRACK_REPORT_MSGS messages only the count (bad) grows. */
void track_report_msg(struct track_report *r, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
