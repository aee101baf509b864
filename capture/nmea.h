/*
 * NMEA 0183 logs into fixes: RMC, GGA, GNS and GLL from any talker (GP, GN,
 * GL, GA, BD, GB, IN, ...), ZDA for the date, and Magellan's PMGNTRK track
 * lines. Sentences of one epoch (same time of day) are merged into one fix;
 * only checksummed, real fixes count. A pure, bounded parser.
 */
#ifndef EVCAP_NMEA_H
#define EVCAP_NMEA_H

#include <stddef.h>

#include "track.h"
#include "util.h"

/* NMEA's own limit is 82 bytes; vendors overrun it, so we accept lines up
 * to this and name longer ones as bad. */
#define NMEA_MAX_LINE 512
/* A whole log read into memory: 256 MiB is days of 10 Hz output. */
#define NMEA_MAX_BYTES ((size_t)256 << 20)

/*
 * Parses n bytes of NMEA text and appends its fixes (in file order, not
 * sorted) to `out`; `name` prefixes the messages in *rep. What is wrong
 * with a line is counted in *rep and never stops the parse:
 *  - a line without "*hh", with a wrong checksum, with control bytes, or
 *    longer than NMEA_MAX_LINE is bad;
 *  - an epoch saying "no fix" (RMC/GLL status V, GGA quality 0, 6
 *    estimated, 7 manual or 8 simulation, GNS mode N/E/S only, RMC/GLL
 *    mode indicator N/E/M/S) is untrusted, even if another sentence of the
 *    same epoch says otherwise;
 *  - a position before any date is known (GGA/GLL/GNS carry only a time
 *    of day) is untimed.
 * The date comes from RMC (status A), ZDA, or PMGNTRK; a time of day much
 * earlier than the one the date came with is taken to be after midnight.
 * Two-digit years are 1980-2079. At most TRACK_MAX_POINTS fixes are
 * appended (rep->capped is set when more were present).
 * Returns 0; EV_EINVAL only for NULL arguments.
 */
int nmea_parse(const char *name, const char *text, size_t n, struct track *out,
	       struct track_report *rep) WUR;

/* 1 if the text looks like NMEA: among its first lines, one that starts
 * with '$' and has a "*hh" checksum. */
int nmea_sniff(const char *text, size_t n);

/* The NMEA checksum (XOR of the bytes between '$' and '*') of a sentence
 * body of n bytes (without '$'). */
unsigned nmea_checksum(const char *body, size_t n);

#endif
