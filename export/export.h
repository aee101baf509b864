/*
 * Exports of a case: GeoJSON, KML, GPX, CSV and the printable HTML evidence
 * report. export_ctx_load gathers once everything a format may need (the
 * case row, its items with notes, the track of the inspection's span, the
 * readings, the custody head, the device key); each format is then a pure
 * function from that context to bytes, so the formats can be tested
 * without a store and every output names the same facts the same way.
 */
#ifndef EVCAP_EXPORT_H
#define EVCAP_EXPORT_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "items.h"
#include "store.h"
#include "track.h"
#include "util.h"

/* No export holds more than this many items or fixes: a report of a
 * hundred thousand rows helps nobody, and the caps keep memory bounded. */
#define EXPORT_MAX_ITEMS 50000
#define EXPORT_MAX_FIXES 500000
#define EXPORT_MAX_READINGS 50000
/* Track fixes are taken from this long before the first item to this
 * long after the last, so the line shows the approach and the way back. */
#define EXPORT_TRACK_MARGIN_S 1800.0
/* Sources of fixes (receivers, imported files) drawn, each its own line;
 * fixes of further sources are left out of the drawing. */
#define EXPORT_MAX_SOURCES 64
/* Thumbnail size (longest side, pixels) for the report and KML balloons. */
#define EXPORT_THUMB_PX 240
/* No output of one export is allowed to grow past this. */
#define EXPORT_OUT_MAX ((size_t)512 << 20)

enum export_lang { EXPORT_LANG_ZH = 0, EXPORT_LANG_EN = 1 };

struct export_opts {
	enum export_lang lang;
	int gcj02;         /* add labelled GCJ-02 columns (html, csv) */
	double now;        /* when the export is made, UTC seconds */
	const char *actor; /* who makes it (for the report's footer) */
	int items_only;    /* load the case and its items, nothing else: the
			    * working copies need no track, readings, sites
			    * or notes (a day's track alone is 86,400 fixes) */
};

/*
 * Everything an export shows. Built by export_ctx_load (or by hand in
 * tests); the formats only read it. Invariants: items, readings, sites
 * and devices are JSON arrays (never NULL); thumbs has one slot per item
 * (NULL = no thumbnail, then thumb_note may say why); track is sorted.
 */
struct export_ctx {
	json_t *case_row;  /* number, title, operators[], witness, no_witness_reason,
			    * medium_kept (true/false/null), medium_note, opened_at, status */
	json_t *items;     /* items_list() objects plus "notes": [{text, author, created_at}] */
	json_t *readings;  /* {time, parameter, value, unit, class, sample_id, instrument,
			    * lat, lon, location_source, site, error, operators}: instrument
			    * is the stored object (or text that was no JSON object),
			    * operators an array of names */
	json_t *sites;     /* {name, lat, lon, radius_m} */
	json_t *devices;   /* {role, make, model, serial}: cameras and drones seen in
			    * the items, GPS sources of the fixes, computers that ingested */
	struct trackset tracks; /* one per source (receiver or imported file) */
	int has_span;      /* items carry capture times */
	double span_from, span_to;
	char chain_head[SHA256_HEX_LEN + 1]; /* "" for an empty log */
	int64_t chain_seq;
	int has_key;       /* this store has a key of its own (key_id, key_sha256) */
	char key_id[24];   /* minisign key id as minisign prints it */
	char key_sha256[SHA256_HEX_LEN + 1]; /* SHA-256 of the raw public key */
	json_t *signers;   /* {key_id, device_id, bundles, sha256, replaced_by}: the keys
			    * that signed the case's pulled bundles, per key and device
			    * (sha256 of the raw public key, null when this store no
			    * longer holds it); NULL or [] when none was pulled */
	json_t *missing;   /* {bundle_id, device_id, named_by, target, noticed_at}: bundles
			    * of the case that a pull found missing from their target
			    * and that this store still lacks; NULL or [] when none */
	char **thumbs;     /* per item: "data:image/jpeg;base64,..." or NULL */
	char **thumb_note; /* per item: why there is no thumbnail, or NULL: the
			    * format when none is made of it, else the English
			    * sentence of the thumbnail code without the file name */
	size_t n_thumbs;   /* == number of items once thumbnails are made */
	struct export_opts opt;
};

/* Narrows what is exported; zero/NULL fields do not filter. */
struct export_filter {
	int64_t case_id;  /* required */
	int64_t site_id;
	/* the span, as time_format_iso writes it ("YYYY-MM-DDTHH:MM:SS[.fff]Z"):
	 * items and readings are kept by the instant of their time, never by
	 * its text */
	const char *from_iso;
	const char *to_iso;
};

/* Loads the context for one case. *out is NULL on failure and err says
 * why. Thumbnails are not made here (export_ctx_thumbs). */
int export_ctx_load(struct store *s, const struct export_filter *f, const struct export_opts *o,
		    struct export_ctx **out, char *err, size_t errlen) WUR;

/* An empty context (arrays empty, no track) for tests and callers that
 * fill it themselves. */
struct export_ctx *export_ctx_new(void);
void export_ctx_free(struct export_ctx *c);

/* Makes a thumbnail of every JPEG photo among the items from its blob in
 * the store; an item whose thumbnail cannot be made gets a thumb_note and
 * a warning on stderr, never a failure. Returns how many were made. */
size_t export_ctx_thumbs(struct export_ctx *c, struct store *s, int max_px);

/* The operators of the case and its items, without repeats (new ref). */
json_t *export_operators(const struct export_ctx *c);

/* The formats. Each appends its whole output to `out` and returns 0, or
 * EV_ELIMIT when out's cap is passed. */
int export_geojson(const struct export_ctx *c, struct buf *out, char *err, size_t errlen) WUR;
int export_kml(const struct export_ctx *c, struct buf *out, char *err, size_t errlen) WUR;
int export_gpx(const struct export_ctx *c, struct buf *out, char *err, size_t errlen) WUR;
int export_csv(const struct export_ctx *c, struct buf *out, char *err, size_t errlen) WUR;
int export_html(const struct export_ctx *c, struct buf *out, char *err, size_t errlen) WUR;

/* 1 if the item object has a usable position (finite lat and lon). */
int export_item_located(const json_t *item);

/* Writers shared by the formats: text escaped for XML/HTML (also for
 * attributes), one CSV field quoted per RFC 4180 where needed. What a
 * reader could not take as text is written as \xNN, a byte at a time, as
 * names are shown: bytes that are not valid UTF-8, control characters but
 * TAB, LF and CR (C1 ones too), U+FFFE and U+FFFF, which XML 1.0
 * forbids, and text-direction characters (text_direction_len), which
 * would turn the text after them around; in XML a CR is written &#13;,
 * which a parser keeps. */
int export_put_xml(struct buf *b, const char *s) WUR;
int export_put_csv(struct buf *b, const char *s) WUR;
/* s with each byte of its text-direction characters written \xNN and
 * nothing else changed, for GeoJSON, whose JSON escapes control
 * characters itself but would hand a reader U+202E as it is. malloc'd,
 * never NULL. */
char *export_direction_escape(const char *s);

/* A reading's instrument as plain text for people, appended to out (not
 * escaped): "probex (model M, serial S, calibrated 2024-04-30)", or in
 * Chinese "probex（型号 M，序列号 S，校准日期 2024-04-30）", with only the
 * facts it has. `inst` is the stored object, or a bare name as a string;
 * anything else appends nothing. 0 or EV_ELIMIT. */
int export_instrument_text(const json_t *inst, enum export_lang lang, struct buf *out) WUR;

/* "2023-05-01 18:00:00 +08:00": a UTC ISO time shown at the offset
 * (seconds east of UTC). out needs 40 bytes. 0 or EV_EINVAL. */
int export_local_time(const char *utc_iso, int offset_s, char out[40]) WUR;
/* The offset to show an item's time at: its tz_offset, else China's +08:00. */
int export_item_offset(const json_t *item);

/* Labels in the report's language: i18n_label(lang, "evidence_list"). An
 * unknown key returns the key itself, so a missing label shows, never
 * crashes. */
const char *i18n_label(enum export_lang lang, const char *key);
/* Why a photo has no thumbnail (a thumb_note that is not a format name),
 * appended to out unescaped: as it is in English; in Chinese, the fixed
 * phrase of the thumbnail code translated and the decoder's own words
 * quoted ("JPEG 图像无法解码：“Not a JPEG file: ...”"), or, for a sentence
 * not known here, the whole of it quoted. 0 or EV_ELIMIT. */
int i18n_thumb_why(enum export_lang lang, const char *why, struct buf *out) WUR;
/* "zh" or "en" from a --lang value, else from LC_ALL / LC_MESSAGES / LANG
 * (zh* is Chinese, anything else English; unset is Chinese, the users'
 * language). Returns -1 for a --lang value that is neither. */
int i18n_pick(const char *arg);

#endif
