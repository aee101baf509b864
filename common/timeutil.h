/*
 * Pure time arithmetic: civil date <-> Unix seconds without the machine's
 * time zone, and the text forms evcap reads and writes. All stored times
 * are UTC; a camera's local clock string is kept as written.
 */
#ifndef EVCAP_TIMEUTIL_H
#define EVCAP_TIMEUTIL_H

#include <stdint.h>

#include "util.h"

/* Days-from-civil arithmetic, proleptic Gregorian, no time zone. */
int64_t time_from_civil(int y, int mon, int d, int h, int min, int s);
void time_to_civil(int64_t t, int *y, int *mon, int *d, int *h, int *min, int *s);

/* The years a camera's clock may read for evcap to take it as a time:
 * outside them a clock was never set or the field is not a date. */
#define TIME_YEAR_MIN 1900
#define TIME_YEAR_MAX 2200

/* "YYYY:MM:DD HH:MM:SS" (EXIF) into seconds as if UTC; 0 or EV_EINVAL.
 * Rejects out-of-range fields and "0000:00:00 00:00:00". */
int time_parse_exif(const char *s, int64_t *t) WUR;
/* The same, telling apart what is not of that form (EV_EINVAL) from
 * what has it but names no time evcap accepts (EV_ELIMIT: a field out of
 * range), with a clause saying which in why (if not NULL): "it is not of
 * the form YYYY:MM:DD HH:MM:SS", "day 31 does not exist in June", "the
 * year 9999 is outside the years evcap accepts (1900 to 2200)". */
int time_parse_exif_why(const char *s, int64_t *t, char *why, size_t whylen) WUR;

/* "+HH:MM" / "-HH:MM" into seconds east of UTC; 0 or EV_EINVAL. */
int time_parse_offset(const char *s, int *seconds) WUR;
/* Why time_parse_offset refuses s, as the end of a sentence naming the
 * value: "must look like +08:00", or for that form out of range "must
 * have hours from 00 to 14" or "must have minutes from 00 to 59". */
const char *time_offset_why(const char *s);
/* The zone that ends an ISO 8601 time, exactly the len bytes at s: "Z",
 * "+HH", "+HHMM" or "+HH:MM" (or "-"), into seconds east of UTC; 0 or
 * EV_EINVAL. The one zone reader of ISO times, MP4 dates and sensor lines. */
int time_parse_zone(const char *s, size_t len, int *seconds) WUR;
/* seconds east -> "+HH:MM" (7 bytes incl. NUL), to the nearest minute. */
void time_format_offset(int seconds, char out[8]);

/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" from seconds (+ fraction). */
void time_format_iso(double t, char out[32]);
/* Parses ISO 8601 "YYYY-MM-DDTHH:MM:SS", optional fraction, and a zone
 * time_parse_zone reads; 0 or EV_EINVAL. */
int time_parse_iso(const char *s, double *t) WUR;

/* The current UTC time in seconds (with fraction). */
double time_now(void);

/* Seconds on the monotonic clock: for intervals and deadlines, never for
 * what is recorded (it does not follow the wall clock). */
double time_mono(void);

#endif
