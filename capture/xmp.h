/*
 * A bounded scan of an XMP packet for the few properties evcap uses: DJI's
 * drone-dji: position, altitude and attitude, the exif: GPS position Adobe
 * software writes, and a capture date with an explicit zone offset. It is
 * not an XML parser: it looks each property up by its qualified name, in
 * attribute form (ns:Name="v") and in element form (<ns:Name>v</ns:Name>),
 * so nesting depth costs nothing and hostile packets cannot make it recurse.
 */
#ifndef EVCAP_XMP_H
#define EVCAP_XMP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Larger packets are refused: a JPEG's main XMP fits in one APP1 (64 KiB);
 * the cap covers sidecar files with room to spare. */
#define XMP_MAX_PACKET ((size_t)1 << 20)
/* Longest property value read; numbers and dates are far shorter. */
#define XMP_MAX_VALUE 256
/* Occurrences of one property name examined before giving up. */
#define XMP_MAX_HITS 64

struct xmp_num {
	int has;
	double v;
};

/* What a scan found; a field with has == 0 was absent or unreadable. */
struct xmp_info {
	/* drone-dji: (GpsLongitude, else the misspelled GpsLongtitude) */
	struct xmp_num dji_lat, dji_lon;
	struct xmp_num abs_alt, rel_alt;
	struct xmp_num gimbal_yaw, gimbal_pitch, gimbal_roll;
	struct xmp_num flight_yaw, flight_pitch, flight_roll;

	/* exif:GPSLatitude/GPSLongitude ("0,4.21601S"), exif:GPSAltitude ("n/d")
	 * with exif:GPSAltitudeRef. */
	struct xmp_num exif_lat, exif_lon, exif_alt;
	/* exif:GPSImgDirection in [0, 360) and exif:GPSImgDirectionRef ("T",
	 * "M", or "" with img_dir_note saying what else was written). */
	struct xmp_num img_dir;
	char img_dir_ref[4];
	char img_dir_note[192];

	/* First of exif:DateTimeOriginal, xmp:CreateDate, photoshop:DateCreated
	 * that carries an explicit offset (or Z). */
	int has_time;
	double time_utc;     /* UTC seconds */
	int offset_s;        /* seconds east of UTC as written */
	char time_from[64];  /* the property it came from, e.g. "xmp:CreateDate" */
	/* The first of the same properties with a time of day but no offset
	 * (or Z): a wall clock of unknown zone, like EXIF's DateTimeOriginal. */
	int has_local;
	int64_t local_t;     /* that clock read as if UTC */
	char local_from[64];

	/* exifEX:BodySerialNumber, else aux:SerialNumber; "" when absent. */
	char serial[64];
};

/*
 * Scans the packet p[0..n) (the bytes after the APP1 XMP header, or a
 * sidecar file). Returns 0, or a negative EV_* code when some property was
 * present but unreadable (a value that is not a full, finite, in-range
 * number, an unterminated value, a packet over XMP_MAX_PACKET); err then
 * names the first such property and *x still holds every property that
 * could be read. Never reads outside p[0..n).
 */
int xmp_scan(const uint8_t *p, size_t n, struct xmp_info *x, char *err, size_t errlen) WUR;

/*
 * Parses an XMP GPS coordinate: "DDD,MM.mmk" or "DDD,MM,SSk" with k one of
 * N/S (is_lat) or E/W, or plain signed decimal degrees. 0 or EV_EINVAL.
 */
int xmp_parse_coord(const char *s, int is_lat, double *deg) WUR;

/*
 * Parses an XMP date "YYYY-MM-DDThh:mm[:ss][.f](Z|+hh:mm|-hh:mm)"; the
 * offset is required (a date without one says nothing about UTC). Returns 0
 * or EV_EINVAL.
 */
int xmp_parse_date(const char *s, double *utc, int *offset_s) WUR;

/*
 * Parses an XMP date with a time of day and no offset,
 * "YYYY-MM-DDThh:mm[:ss][.f]", into that wall clock read as if UTC (the
 * fraction dropped). A date with an offset, or without a time, is EV_EINVAL.
 */
int xmp_parse_local(const char *s, int64_t *local) WUR;

#endif
