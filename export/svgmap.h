/*
 * The report's map: an inline SVG of the track and the numbered items on a
 * plain, local projection (no base map, so no network), with a scale bar
 * and a north arrow. Pure: points in, markup out.
 */
#ifndef EVCAP_SVGMAP_H
#define EVCAP_SVGMAP_H

#include <stddef.h>

#include "buf.h"
#include "track.h"
#include "util.h"

struct svgmap_point {
	double lat, lon; /* WGS-84 */
	int label;       /* the item's number in the evidence list */
};

/* The most item markers drawn; more would be unreadable anyway. */
#define SVGMAP_MAX_POINTS 5000
/* Track points drawn at most; a longer track is thinned evenly. */
#define SVGMAP_MAX_TRACK 4000

/* Appends an <svg> of width x height CSS pixels to out, written to stand
 * inline in an HTML page (no namespace declaration, no outside reference).
 * Each of the n_trk tracks is its own line (two receivers are never
 * joined). `caption` (may be NULL) is drawn under the map; it and
 * `empty_text` are inserted as given, so the caller escapes them. Returns
 * 0 or EV_ELIMIT. With no points and no track, draws an empty frame that
 * says so through `empty_text`. */
int svgmap_render(const struct svgmap_point *pts, size_t n, const struct track *trk,
		  size_t n_trk, int width, int height, const char *caption,
		  const char *empty_text, struct buf *out) WUR;

/* Chooses a round scale-bar length (1, 2 or 5 x 10^k metres) no longer
 * than max_m. */
double svgmap_nice_length(double max_m);

#endif
