/*
 * Follow-up re-inspection, the pure part: grouping a case's items into
 * visits (inspection trips) and pairing each photo of a later visit with
 * the earlier photo taken from the same spot, facing the same way. No
 * store, no clock: values in, decisions out, so every rule is unit-tested
 * with hand-built arrays. docs/revisit.md explains the rules for users.
 */
#ifndef EVCAP_REVISIT_H
#define EVCAP_REVISIT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* A new visit starts when more than this many hours pass between two
 * consecutive items (and at every change of local day). */
#define REVISIT_DEFAULT_GAP_H 6.0
/* Two photos both carrying a heading must face within this many degrees. */
#define REVISIT_MAX_HEADING_DIFF 45.0
/* Most photos on either side of one pairing, and most candidate pairs
 * weighed at once: beyond them the caller is told, never slowed to a halt. */
#define REVISIT_MAX_PHOTOS 200000
#define REVISIT_MAX_CANDIDATES ((size_t)8 << 20)

/*
 * Visits: t[0..n) are capture times (UTC seconds) in ascending order.
 * Item i starts a new visit when it falls on another calendar day than
 * item i-1 at `offset_s` (seconds east of UTC; China is +28800) or when
 * it comes more than gap_s seconds after it. visit[i] receives 1-based
 * visit numbers. Returns the number of visits (0 for n == 0), or EV_EINVAL
 * when a time is not finite or the times are not sorted, or gap_s is not
 * positive.
 */
int revisit_visits(const double *t, size_t n, int offset_s, double gap_s, int *visit) WUR;

/* The longest gap a visit may be split by: a month. */
#define REVISIT_MAX_GAP_H 720.0

/* Parses a --gap-hours value: a number of hours above 0 and at most
 * REVISIT_MAX_GAP_H, all of the text. 0 or EV_EINVAL. */
int revisit_parse_gap(const char *s, double *hours) WUR;

/* The local calendar day (days since 1970-01-01 at that offset) of t. */
int64_t revisit_local_day(double t, int offset_s);

/* Where the height of a photo comes from, for the altitude bands. */
enum revisit_alt_kind {
	REVISIT_ALT_NONE = 0,
	REVISIT_ALT_REL = 1, /* above the take-off point (DJI RelativeAltitude) */
	REVISIT_ALT_MSL = 2  /* above sea level (GPS altitude) */
};

/*
 * The altitude band of a height in metres: 0 for below 30 m (and for
 * negative heights), 1 for 30-80 m, 2 for 80-150 m, 3 above 150 m; -1 for
 * a height that is not finite. A lower bound belongs to its band (30 m is
 * band 1).
 */
int revisit_band(double h);

/* The angle between two headings in degrees, 0..180, the short way round
 * (350 and 10 are 20 apart); NAN when either is not finite. */
double revisit_heading_diff(double a, double b);

/* One photo as the pairing sees it. */
struct revisit_photo {
	int64_t site;     /* site id; 0 = in no site */
	double radius_m;  /* that site's radius */
	double lat, lon;  /* WGS-84; NAN when the photo has no place */
	double heading;   /* degrees (gimbal yaw, else flight yaw); NAN if none */
	double height;    /* metres, see alt_kind; NAN when none */
	int alt_kind;     /* enum revisit_alt_kind */
};

/* Why a photo of the later visit has no counterpart. */
enum revisit_why {
	REVISIT_PAIRED = 0,
	REVISIT_NO_PLACE,    /* the photo has no position */
	REVISIT_NO_SITE,     /* its position is in no site */
	REVISIT_NO_EARLIER,  /* the earlier visit has no photo at that site */
	REVISIT_TOO_FAR,     /* every earlier photo there is farther than the radius */
	REVISIT_FACING_AWAY, /* the near ones face more than 45 degrees away */
	REVISIT_TAKEN,       /* each fitting earlier photo went to a match ranked
			      * before this one's (height band, then distance,
			      * then heading): not always a closer one */
	REVISIT_EARLIER_UNPLACED /* the earlier photos at that site (filed there
				  * by hand) have no position to compare */
};

/* A short English phrase for a reason ("facing away"); never NULL. */
const char *revisit_why_text(int why);

/* The outcome for one photo of the later visit. */
struct revisit_match {
	long before;         /* index into the earlier photos, -1 when unpaired */
	double distance_m;   /* paired: between the two; else to the nearest
			      * earlier photo of the site, NAN if none */
	double heading_diff; /* paired: degrees apart, NAN when either has none */
	int same_band;       /* paired: 1 same altitude band, 0 different,
			      * -1 not comparable */
	int why;             /* enum revisit_why */
};

/*
 * Pairs the photos of a later visit (after[0..na)) with those of an
 * earlier one (before[0..nb)). A candidate pair lies in the same site, its
 * two positions no farther apart than the site's radius, and where both
 * photos carry a heading they face within REVISIT_MAX_HEADING_DIFF.
 *
 * Candidates are taken greedily, best first, and each photo of either
 * visit is used at most once: best means the same altitude band (both
 * heights of the same kind in the same band) before an unknown band
 * before a different band, then the shorter distance, then the smaller
 * heading difference, then the lower indexes. The result does not depend
 * on the order in which candidates are weighed, only on the indexes as a
 * final tie-break, so the same store always yields the same pairs.
 *
 * m[0..na) receives the outcome of each later photo; used_by[0..nb) (may
 * be NULL) receives, for each earlier photo, the index of the later photo
 * it was paired with or -1. Returns the number of pairs, or EV_ELIMIT with
 * err saying so when the photos or candidates exceed the caps above.
 */
long revisit_pair(const struct revisit_photo *before, size_t nb,
		  const struct revisit_photo *after, size_t na, struct revisit_match *m,
		  long *used_by, char *err, size_t errlen) WUR;

#endif
