/*
 * Items as the outside world sees them: the JSON object of one item with
 * the field names of the CLI contract (ARCHITECTURE.md §7), shared by
 * `ls --json`, `show`, the exports and the bundle manifests so that every
 * output names fields the same way.
 */
#ifndef EVCAP_ITEMS_H
#define EVCAP_ITEMS_H

#include <jansson.h>

#include "store.h"

/* Filters for items_list; zero/NULL fields do not filter. */
struct item_filter {
	int64_t case_id;
	int64_t site_id;
	/* captured at or after from, at or before to: ISO 8601 times with
	 * their zone, compared with captured_at as instants */
	const char *from_iso;
	const char *to_iso;
	int no_case;          /* only items in no case */
};

/* A JSON array of item objects ordered by capture time then id; NULL on
 * error. Each object carries at least: id, sha256, size, kind, format,
 * original_name, original_path, case, site, operators, captured_at,
 * camera_time, tz_offset, time_source, gps_time, lat, lon, alt,
 * location_source, location_error_m, datum, make, model, serial, width,
 * height, medium_uuid, medium_label, ingested_at, metadata_error,
 * metadata_note, origin, gimbal_yaw/pitch, flight_yaw, rel_alt, and xmp_alt
 * (the altitude XMP gives: a DJI drone's AbsoluteAltitude, else XMP's
 * exif:GPSAltitude; null when there is none). */
json_t *items_list(struct store *s, const struct item_filter *f, char *err, size_t errlen);

/* One item by id ("42"), or by a SHA-256 prefix of 6 or more hex digits
 * (must be unique); adds "notes" (array of {text, author, created_at}) and
 * "sightings". NULL with err set when not found or ambiguous. */
json_t *items_get(struct store *s, const char *ref, char *err, size_t errlen);

#endif
