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
 *
 * A block too large for one segment (64 KB) is split over consecutive APP13
 * segments, each opening with the header again; the cut falls anywhere,
 * inside a resource or a dataset. exiftool writes it so, and reads it back
 * by joining the segments; so does iptc_read_jpeg.
 */
#ifndef EVCAP_IPTC_H
#define EVCAP_IPTC_H

#include <stddef.h>
#include <stdint.h>

#include "jpeg.h"
#include "util.h"

/* What opens an APP13 payload that holds image resources. */
#define IPTC_APP13_HEADER "Photoshop 3.0\0"
#define IPTC_APP13_HEADER_LEN 14
/* Image resources and IIM datasets examined; more are named, not read.
 * A record split over two segments may well hold over a thousand
 * keywords; each step moves at least 5 bytes, so the walk stays short. */
#define IPTC_MAX_RESOURCES 1024
#define IPTC_MAX_DATASETS 16384

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
 * time), or EV_ECORRUPT / EV_EINVAL / EV_ELIMIT (past a cap above) with
 * err naming what is wrong ("IPTC DateCreated \"20231341\" is not a date:
 * ..."); never reads outside p[0..n).
 */
int iptc_read(const uint8_t *p, size_t n, struct iptc_info *x, char *err, size_t errlen) WUR;

/*
 * Reads the first run of consecutive APP13 "Photoshop 3.0" segments of the
 * JPEG head p[0..n) that jpeg_walk described in ji, joined into one block
 * (the header kept once), with iptc_read. A single segment is read where
 * it is; a run is copied, at most the bytes of its segments, which lie
 * within p[0..n) (meta_read's head is at most META_HEAD_MAX). Returns as
 * iptc_read does (found 0 when there is no such segment); byte offsets in
 * err then count through the joined block, and err says so.
 */
int iptc_read_jpeg(const uint8_t *p, size_t n, const struct jpeg_info *ji, struct iptc_info *x,
		   char *err, size_t errlen) WUR;

#endif
