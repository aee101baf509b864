/*
 * Sites: the places a case inspects, each a circle (centre and radius in
 * metres, WGS-84). Items and readings with a position and no site are
 * assigned to the site whose circle holds them; where circles overlap the
 * nearest centre wins. A site given by hand (ingest --site) is never moved.
 */
#ifndef EVCAP_SITES_H
#define EVCAP_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util.h"

#define SITES_DEFAULT_RADIUS_M 50.0
/* A site wider than this is a region, not a place to photograph again. */
#define SITES_MAX_RADIUS_M 20000.0
/* Most sites one case may hold (and sites_load reads). */
#define SITES_MAX_PER_CASE 10000
/* Longest site name in bytes (UTF-8). */
#define SITES_NAME_MAX 200

/* A site's geometry. */
struct site_geo {
	int64_t id;
	double lat, lon;  /* centre, WGS-84 degrees */
	double radius_m;  /* > 0 */
};

/*
 * The site whose circle holds (lat, lon): its index in v[0..n), or -1 for
 * none (or a position that is not finite). On a boundary the point is
 * inside. Where circles overlap, the nearest centre wins; at equal
 * distance, the lower index. *dist_m (may be NULL) gets the distance to
 * that centre. Pure.
 */
long sites_pick(const struct site_geo *v, size_t n, double lat, double lon, double *dist_m);

/* 0 when lat/lon/radius make a usable site, else EV_EINVAL with err
 * naming the bad value. Pure. */
int sites_check(double lat, double lon, double radius_m, char *err, size_t errlen) WUR;

/* Loads the sites of a case, ordered by id, into *out (malloc'd, free()
 * it; NULL when there are none). Refuses more than SITES_MAX_PER_CASE. */
int sites_load(struct store *s, int64_t case_id, struct site_geo **out, size_t *n, char *err,
	       size_t errlen) WUR;

/*
 * Assigns every item and reading of the case that has a position and no
 * site to the site whose circle holds it (sites_pick). A reading placed
 * is classed again with its site's water body (else the case's, else a
 * river's, as sites_reclass does). Appends one custody event "site
 * assign" for the whole batch, naming each site with the SHA-256s of its
 * new items and the ids of its new readings, and under "reclassed" each
 * placed reading whose class changed (as sites_reclass names them);
 * nothing is recorded when nothing changed. Runs inside the caller's transaction if
 * one is open, else in its own. *assigned (may be NULL) gets the number of
 * items and readings assigned. `actor` may be NULL.
 */
int sites_assign(struct store *s, int64_t case_id, const char *actor, int *assigned, char *err,
		 size_t errlen) WUR;

/*
 * Classes every reading of the case again (GB 3838, docs/sensors.md) with
 * the water body that now applies to it: its site's, else the case's,
 * else a river's. Only the class is written; the value and unit stay as
 * recorded, and a reading with an error is left alone. Appends one
 * custody event "reclass" giving `why` and, for each reading whose class
 * changed, its id, parameter, value with its unit, the water body used, the class
 * and the previous class; nothing is recorded when none changed. Runs
 * inside the caller's transaction if one is open, else in its own.
 * *changed (may be NULL) gets the number of readings whose class changed.
 */
int sites_reclass(struct store *s, int64_t case_id, const char *actor, const char *why,
		  int *changed, char *err, size_t errlen) WUR;

/*
 * sites_assign for case_id, or (case_id 0) for every case that has sites:
 * what each command that places items or readings (ingest, geotag and the
 * track import that runs it, pull) calls once they are placed, so that
 * each is in its site whatever the order in which sites, positions and
 * tracks arrived. *assigned (may be NULL) gets the total. Runs inside the
 * caller's transaction if one is open, else each case in its own.
 */
int sites_assign_cases(struct store *s, int64_t case_id, const char *actor, int *assigned,
		       char *err, size_t errlen) WUR;

#endif
