/*
 * GPX 1.0 and 1.1 files into fixes: trkpt, rtept and wpt elements with a
 * <time>. Parsed with libxml2's streaming reader with the network, DTD
 * loading and entity substitution all off, under a size and a point cap.
 */
#ifndef EVCAP_GPX_H
#define EVCAP_GPX_H

#include <stddef.h>

#include "track.h"
#include "util.h"

/* 64 MiB of GPX is about 600,000 points written verbosely. */
#define GPX_MAX_BYTES ((size_t)64 << 20)

/*
 * Parses n bytes of GPX and appends its timed points (file order) to out;
 * `name` prefixes messages. A point without <time> is counted in
 * rep->no_time; one with a bad lat/lon/time/ele is counted in rep->bad and
 * named by line; a GPX 1.0 point with <fix>none</fix> is untrusted. At most
 * TRACK_MAX_POINTS points are taken.
 * Returns 0 (even for a file with no points), or a negative code with err
 * filled when the file as a whole cannot be read: larger than
 * GPX_MAX_BYTES (EV_ELIMIT), not well-formed XML, not a <gpx> document, or
 * one declaring entities (EV_EINVAL). Points before the error stay in out.
 */
int gpx_parse(const char *name, const char *text, size_t n, struct track *out,
	      struct track_report *rep, char *err, size_t errlen) WUR;

/* 1 if the text looks like XML with a <gpx root element near the top. */
int gpx_sniff(const char *text, size_t n);

#endif
