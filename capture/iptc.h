/*
 * The capture date of an IPTC record (IIM), as photo desks and editing
 * programs write it into a JPEG's APP13 "Photoshop 3.0" segment. Some
 * files carry their only date there, with no EXIF date at all: this reads
 * DateCreated and TimeCreated (else DigitalCreationDate and -Time), and
 * nothing else of the record. A pure, bounded function over bytes.
 *
 * The layout: the APP13 payload is "Photoshop 3.0\0", then image
 * resources, each "8BIM", a 16-bit id, a name (a length byte and that many
 * bytes, padded to an even total), a 32-bit size and the data, padded to an
 * even size; all numbers big-endian. Resource 0x0404 holds the IIM
 * datasets: 0x1C, record, dataset number, a 16-bit length, the value.
 * Dates are "CCYYMMDD", times "HHMMSS" with an optional "+HHMM" zone.
 */
#ifndef EVCAP_IPTC_H
#define EVCAP_IPTC_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* What opens an APP13 payload that holds image resources. */
#define IPTC_APP13_HEADER "Photoshop 3.0\0"
#define IPTC_APP13_HEADER_LEN 14
/* Image resources and IIM datasets examined before giving up. */
#define IPTC_MAX_RESOURCES 256
#define IPTC_MAX_DATASETS 1024

struct iptc_info {
	int found;            /* an IPTC-NAA resource (0x0404) is present */
	int has_time;         /* a date with a time of day */
	int64_t local;        /* that wall clock, read as if UTC */
	int has_offset;
	int offset_s;         /* the time's zone, seconds east of UTC */
	char from[40];        /* "IPTC DateCreated and TimeCreated" */
};

/*
 * Reads p[0..n), an APP13 payload from its "Photoshop 3.0\0" header on.
 * Returns 0 with *x filled (has_time 0 when the record has no date with a
 * time), or EV_ECORRUPT / EV_EINVAL with err naming what is wrong ("IPTC
 * DateCreated \"20231341\" is not a date: ..."); never reads outside
 * p[0..n).
 */
int iptc_read(const uint8_t *p, size_t n, struct iptc_info *x, char *err, size_t errlen) WUR;

#endif
