/*
 * The bodies of the fuzz harnesses, one function per parser, kept in a
 * header so that the libFuzzer programs (tests/fuzz/fuzz_*.c) and the unit
 * test that replays every saved finding (tests/unit/test_fuzz_regressions.c)
 * run exactly the same code over the same bytes.
 *
 * Each body calls a parser on untrusted bytes and then checks what the
 * parser promises in its header (results inside the buffer, coordinates in
 * range, text that is UTF-8 and terminated, counts under their caps). A
 * broken promise is reported through FUZZ_VIOLATION, which aborts under the
 * fuzzer (so libFuzzer saves the input) and counts a failure in the unit
 * test. The sanitizers catch the rest: reads out of bounds, leaks,
 * undefined behaviour.
 */
#ifndef EVCAP_FUZZ_TARGETS_H
#define EVCAP_FUZZ_TARGETS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmff.h"
#include "bundle.h"
#include "config.h"
#include "exifmeta.h"
#include "gpx.h"
#include "hash.h"
#include "flir.h"
#include "jpeg.h"
#include "jpegwrite.h"
#include "meta.h"
#include "minisign.h"
#include "nmea.h"
#include "sensor.h"
#include "sensorspool.h"
#include "srt.h"
#include "store.h"
#include "target.h"
#include "target_s3_internal.h"
#include "timeutil.h"
#include "track.h"
#include "util.h"
#include "xmp.h"

#ifndef FUZZ_VIOLATION
#define FUZZ_VIOLATION(what)                                                                   \
	do {                                                                                   \
		fprintf(stderr, "fuzz: broken promise at %s:%d: %s\n", __FILE__, __LINE__, what); \
		abort();                                                                       \
	} while (0)
#endif

#define FUZZ_ENSURE(cond)                                                                      \
	do {                                                                                   \
		if (!(cond))                                                                   \
			FUZZ_VIOLATION(#cond);                                                 \
	} while (0)

/* The largest input worth handing each parser: beyond these the parsers
 * refuse by size (tested once in the unit tests), and longer inputs only
 * slow the fuzzer down. run.sh passes the same numbers as -max_len. */
#define FUZZ_MAX_JPEG 131072
#define FUZZ_MAX_EXIF 65536
#define FUZZ_MAX_XMP 65536
#define FUZZ_MAX_META 131072
#define FUZZ_MAX_NMEA 65536
#define FUZZ_MAX_GPX 65536
#define FUZZ_MAX_CONFIG 16384
#define FUZZ_MAX_MANIFEST 65536
#define FUZZ_MAX_PULLPATH 4096
#define FUZZ_MAX_SPOOL 16384
#define FUZZ_MAX_BMFF 65536
#define FUZZ_MAX_SRT 65536
#define FUZZ_MAX_S3LIST 65536

/* Every fixed-size text field must be terminated inside its array and be
 * UTF-8: it is written to SQLite, JSON and reports as it is. */
#define FUZZ_TEXT_OK(field) fuzz_text_ok((field), sizeof(field))

static inline int fuzz_text_ok(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);
	return end && utf8_valid(s, (size_t)(end - s));
}

static inline int fuzz_lat_ok(double v)
{
	return isfinite(v) && v >= -90.0 && v <= 90.0;
}

static inline int fuzz_lon_ok(double v)
{
	return isfinite(v) && v >= -180.0 && v <= 180.0;
}

static inline int fuzz_rc_ok(int rc)
{
	return rc == 0 || (rc < 0 && rc >= EV_ECORRUPT);
}

/* A heap copy with a NUL after the last byte, for the parsers that take
 * C strings; each call is exact-size so ASan sees any overrun. */
static inline char *fuzz_cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- JPEG segment walker ---- */

static inline void fuzz_check_jpeg_info(const struct jpeg_info *ji, size_t n, int rc)
{
	FUZZ_ENSURE(fuzz_rc_ok(rc));
	FUZZ_ENSURE(ji->nseg <= JPEG_MAX_SEGMENTS);
	for (size_t i = 0; i < ji->nseg; i++) {
		const struct jpeg_segment *s = &ji->seg[i];
		FUZZ_ENSURE(s->offset < n);
		FUZZ_ENSURE(s->length <= n - s->offset);
		FUZZ_ENSURE(s->payload_off <= n);
		FUZZ_ENSURE(s->payload_len <= n - s->payload_off);
		FUZZ_ENSURE(i == 0 || s->offset > ji->seg[i - 1].offset);
	}
	if (ji->has_exif) {
		FUZZ_ENSURE(ji->exif_seg < ji->nseg);
		FUZZ_ENSURE(ji->exif_off <= n && ji->exif_len <= n - ji->exif_off);
		FUZZ_ENSURE(ji->exif_len >= JPEG_EXIF_HEADER_LEN);
	}
	if (ji->has_xmp) {
		FUZZ_ENSURE(ji->xmp_seg < ji->nseg);
		FUZZ_ENSURE(ji->xmp_off <= n && ji->xmp_len <= n - ji->xmp_off);
	}
	if (ji->has_sof)
		FUZZ_ENSURE(ji->width >= 0 && ji->width <= 65535 && ji->height >= 0 &&
			    ji->height <= 65535);
	if (ji->reached_sos)
		FUZZ_ENSURE(ji->sos_off < n);
	/* Success means the walk ended where the header says it ends. */
	if (rc == 0)
		FUZZ_ENSURE(ji->reached_sos || ji->reached_eoi);
	FUZZ_ENSURE(ji->stray_bytes <= n);
}

static inline int fuzz_run_jpeg(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_JPEG)
		return 0;
	struct jpeg_info *ji = malloc(sizeof *ji);
	char err[256] = "";
	if (!ji)
		abort();
	int rc = jpeg_walk(data, size, ji, err, sizeof err);
	fuzz_check_jpeg_info(ji, size, rc);
	/* its end, as ingest keeps it: where all the image data is in the
	 * tail, it is cut exactly when no EOI follows it */
	if (ji->reached_sos) {
		FUZZ_ENSURE(ji->scan_off > ji->sos_off && ji->scan_off <= size);
		size_t k = size < JPEG_TAIL_MAX ? size : JPEG_TAIL_MAX;
		int cut = jpeg_cut_in_scan(ji->scan_off, size, data + size - k, k);
		FUZZ_ENSURE(cut == 0 || cut == 1);
		if (ji->scan_off >= size - k) {
			int eoi = 0;
			for (size_t i = ji->scan_off; i + 1 < size && !eoi; i++)
				eoi = data[i] == 0xFF && data[i + 1] == JPEG_EOI;
			FUZZ_ENSURE(cut == !eoi);
		}
		/* a shorter tail (the image data may start before it): called
		 * cut only with no EOI in it after the image data's start */
		size_t h = size / 2, from = h > ji->scan_off ? h : ji->scan_off;
		if (jpeg_cut_in_scan(ji->scan_off, size, data + h, size - h))
			FUZZ_ENSURE(!memmem(data + from, size - from, "\xFF\xD9", 2));
	}
	if (rc != 0)
		FUZZ_ENSURE(err[0] != '\0' && FUZZ_TEXT_OK(err));
	if (ji->has_exif)
		FUZZ_ENSURE(memcmp(data + ji->exif_off, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) == 0);
	/* FLIR's record, over the segments the walk found */
	struct flir_info fl;
	err[0] = '\0';
	rc = flir_read(data, size, ji, &fl, err, sizeof err);
	if (rc != 0)
		FUZZ_ENSURE(err[0] != '\0' && FUZZ_TEXT_OK(err));
	FUZZ_ENSURE(FUZZ_TEXT_OK(fl.model) && FUZZ_TEXT_OK(fl.serial) && FUZZ_TEXT_OK(fl.part));
	if (fl.has_time)
		FUZZ_ENSURE(fl.found && fl.ms >= 0 && fl.ms < 1000 && fl.offset_s % 60 == 0 &&
			    fl.offset_s >= -14 * 3600 && fl.offset_s <= 14 * 3600);
	/* a working copy of it (the original's EXIF block kept and new
	 * directories appended, or libexif's): refused with a reason, or a
	 * JPEG the walker reads back with its Exif APP1 */
	struct jpeg_tags t = {.has_pos = 1, .lat = 30.5, .lon = 114.25, .has_alt = 1, .alt = 20,
			      .has_time = 1, .utc = 1682906584, .case_number = "X1"};
	struct buf copy;
	buf_init(&copy, 0);
	err[0] = '\0';
	rc = jpeg_tag_copy(data, size, &t, &copy, err, sizeof err);
	if (rc != 0) {
		FUZZ_ENSURE(err[0] != '\0' && FUZZ_TEXT_OK(err) && copy.len == 0);
	} else {
		FUZZ_ENSURE(copy.len <= size + JPEGWRITE_MAX_APP1 + 16);
		FUZZ_ENSURE(jpeg_walk((const uint8_t *)copy.data, copy.len, ji, err, sizeof err) == 0);
		FUZZ_ENSURE(ji->has_exif);
	}
	buf_free(&copy);
	free(ji);
	return 0;
}

/* ---- struct meta: what every metadata reader promises ---- */

static inline void fuzz_check_meta(const struct meta *m)
{
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->kind) && m->kind[0]);
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->format));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->make));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->model));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->serial));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->camera_time));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->offset_raw));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->gps_status));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->gps_datum));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->error));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->note));
	FUZZ_ENSURE(FUZZ_TEXT_OK(m->xmp_pos_from));
	FUZZ_ENSURE(m->orientation >= 0 && m->orientation <= 8);
	FUZZ_ENSURE(m->width >= 0 && m->height >= 0);
	if (m->has_exif_pos)
		FUZZ_ENSURE(fuzz_lat_ok(m->exif_lat) && fuzz_lon_ok(m->exif_lon));
	if (m->has_exif_alt)
		FUZZ_ENSURE(isfinite(m->exif_alt));
	if (m->has_xmp_pos)
		FUZZ_ENSURE(fuzz_lat_ok(m->xmp_lat) && fuzz_lon_ok(m->xmp_lon));
	if (m->has_xmp_alt)
		FUZZ_ENSURE(isfinite(m->xmp_alt));
	if (m->has_gps_time)
		FUZZ_ENSURE(isfinite(m->gps_time_t));
	if (m->has_xmp_time)
		FUZZ_ENSURE(isfinite(m->xmp_time_t));
	if (m->has_offset)
		FUZZ_ENSURE(m->offset_s >= -24 * 3600 && m->offset_s <= 24 * 3600);
	FUZZ_ENSURE(isfinite(m->subsec) && m->subsec >= 0 && m->subsec < 1);
	FUZZ_ENSURE(isfinite(m->gps_dop) && m->gps_dop >= 0);
	FUZZ_ENSURE(isfinite(m->gps_hpe) && m->gps_hpe >= 0);
	if (m->has_video_pos)
		FUZZ_ENSURE(fuzz_lat_ok(m->video_lat) && fuzz_lon_ok(m->video_lon));
	if (m->has_video_alt)
		FUZZ_ENSURE(m->has_video_pos && isfinite(m->video_alt));
	if (m->clock_is_utc)
		FUZZ_ENSURE(m->has_camera_time && !m->has_offset);
}

static inline void fuzz_check_resolved(const struct resolved *r)
{
	FUZZ_ENSURE(FUZZ_TEXT_OK(r->time_source));
	FUZZ_ENSURE(FUZZ_TEXT_OK(r->location_source));
	FUZZ_ENSURE(FUZZ_TEXT_OK(r->note));
	if (r->has_time)
		FUZZ_ENSURE(isfinite(r->utc) && r->time_source[0]);
	if (r->has_pos)
		FUZZ_ENSURE(fuzz_lat_ok(r->lat) && fuzz_lon_ok(r->lon) && r->location_source[0]);
	if (r->has_alt)
		FUZZ_ENSURE(isfinite(r->alt));
}

/* ---- EXIF through libexif ---- */

/*
 * Two ways in, chosen by the first byte: a whole JPEG (the walker finds
 * the Exif APP1, as meta_read does), or the bytes after "Exif\0\0" (so the
 * fuzzer spends its time inside the TIFF structure and libexif's IFD and
 * MakerNote loaders rather than rebuilding JPEG framing).
 */
static inline int fuzz_run_exif(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_EXIF)
		return 0;
	struct meta m;
	char err[512] = "";
	int rc;
	memset(&m, 0, sizeof m);
	snprintf(m.kind, sizeof m.kind, "photo");
	if (data[0] & 1) {
		struct jpeg_info *ji = malloc(sizeof *ji);
		if (!ji)
			abort();
		rc = jpeg_walk(data + 1, size - 1, ji, NULL, 0);
		fuzz_check_jpeg_info(ji, size - 1, rc);
		if (ji->has_exif) {
			rc = exifmeta_read(data + 1 + ji->exif_off, ji->exif_len, &m, err, sizeof err);
			FUZZ_ENSURE(fuzz_rc_ok(rc));
			if (rc)
				FUZZ_ENSURE(err[0]);
		}
		free(ji);
	} else {
		size_t n = size - 1 + JPEG_EXIF_HEADER_LEN;
		uint8_t *p = malloc(n);
		if (!p)
			abort();
		memcpy(p, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN);
		memcpy(p + JPEG_EXIF_HEADER_LEN, data + 1, size - 1);
		rc = exifmeta_read(p, n, &m, err, sizeof err);
		FUZZ_ENSURE(fuzz_rc_ok(rc));
		if (rc)
			FUZZ_ENSURE(err[0]);
		free(p);
	}
	FUZZ_ENSURE(FUZZ_TEXT_OK(err));
	fuzz_check_meta(&m);
	return 0;
}

/* ---- XMP scan ---- */

static inline int fuzz_run_xmp(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_XMP)
		return 0;
	struct xmp_info x;
	char err[256] = "";
	int rc = xmp_scan(data, size, &x, err, sizeof err);
	FUZZ_ENSURE(fuzz_rc_ok(rc));
	FUZZ_ENSURE((rc != 0) == (err[0] != '\0'));
	FUZZ_ENSURE(FUZZ_TEXT_OK(err));
	if (x.dji_lat.has)
		FUZZ_ENSURE(fuzz_lat_ok(x.dji_lat.v));
	if (x.dji_lon.has)
		FUZZ_ENSURE(fuzz_lon_ok(x.dji_lon.v));
	if (x.exif_lat.has)
		FUZZ_ENSURE(fuzz_lat_ok(x.exif_lat.v));
	if (x.exif_lon.has)
		FUZZ_ENSURE(fuzz_lon_ok(x.exif_lon.v));
	const struct xmp_num *nums[] = {&x.abs_alt, &x.rel_alt, &x.exif_alt, &x.gimbal_yaw,
					&x.gimbal_pitch, &x.gimbal_roll, &x.flight_yaw,
					&x.flight_pitch, &x.flight_roll};
	for (size_t i = 0; i < ARRAY_LEN(nums); i++)
		if (nums[i]->has)
			FUZZ_ENSURE(isfinite(nums[i]->v));
	if (x.has_time)
		FUZZ_ENSURE(isfinite(x.time_utc) && x.offset_s >= -24 * 3600 &&
			    x.offset_s <= 24 * 3600 && x.time_from[0]);
	FUZZ_ENSURE(FUZZ_TEXT_OK(x.time_from));
	FUZZ_ENSURE(FUZZ_TEXT_OK(x.serial));

	/* The two value parsers, fed the first line as a C string. */
	size_t l = 0;
	while (l < size && l < 80 && data[l] != '\n')
		l++;
	char *s = fuzz_cstr(data, l);
	double d;
	int off;
	if (xmp_parse_coord(s, 1, &d) == 0)
		FUZZ_ENSURE(fuzz_lat_ok(d));
	if (xmp_parse_coord(s, 0, &d) == 0)
		FUZZ_ENSURE(fuzz_lon_ok(d));
	if (xmp_parse_date(s, &d, &off) == 0)
		FUZZ_ENSURE(isfinite(d) && off >= -24 * 3600 && off <= 24 * 3600);
	free(s);
	return 0;
}

/* ---- meta_read end to end ---- */

/* File names a card holds; the first input byte picks one, since the
 * extension steers the type sniffing. */
static const char *const fuzz_meta_names[] = {
	"DCIM/100MEDIA/DJI_0001.JPG", "IMG_0001.jpeg", "track.gpx",  "gps.nmea",
	"DJI_0002.MP4",               "raw.DNG",       "audio.mp3",  "noextension",
	"x.tif",                      "notes.txt",     "doc.pdf",    ".jpg",
	"a.b.c.JPE",                  "clip.mov",      "shot.heic",  "",
};

static inline int fuzz_run_meta(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_META)
		return 0;
	uint8_t sel = data[0];
	const char *name = fuzz_meta_names[sel & 15];
	/* Bit 4: the file is longer than the head read (a 4 MiB head of a
	 * larger file), which changes how truncation is reported. */
	uint64_t file_size = (uint64_t)(size - 1) + ((sel & 16) ? 1000000 : 0);
	/* An exact-size heap copy, so ASan sees the end of the head. */
	uint8_t *p = malloc(size > 1 ? size - 1 : 1);
	if (!p)
		abort();
	memcpy(p, data + 1, size - 1);
	struct meta m;
	int rc = meta_read(p, size - 1, file_size, name, &m);
	FUZZ_ENSURE(rc == 0);
	fuzz_check_meta(&m);
	/* and its end, taken to be the last bytes of the head */
	size_t k = size - 1 < JPEG_TAIL_MAX ? size - 1 : JPEG_TAIL_MAX;
	meta_read_tail(&m, file_size, p + (size - 1) - k, k);
	fuzz_check_meta(&m);

	struct resolved r;
	int learned = -7 * 3600, declared = 8 * 3600;
	meta_resolve(&m, (sel & 32) ? &learned : NULL, (sel & 64) ? &declared : NULL, &r);
	fuzz_check_resolved(&r);
	free(p);
	return 0;
}

/* ---- MP4 boxes: kept while streaming, then read ---- */

/*
 * The input is a file, fed to bmff_keep in pieces whose sizes the first
 * byte picks (1 byte to 64 KiB), into an image of at most 4 KiB (bit 7:
 * 256 bytes, so that boxes too large to keep are common). The image must
 * stay inside its buffer, be the same however the file was split, and
 * read through meta_read like any head (named as a video, or bit 6: as a
 * HEIC photo, whose Exif item the image keeps).
 */
static inline void fuzz_keep(const uint8_t *p, size_t n, size_t piece, uint8_t *out,
			     size_t cap, struct bmff_keep *k)
{
	bmff_keep_init(k, out, cap);
	for (size_t o = 0; o < n; o += piece)
		bmff_keep_feed(k, p + o, n - o < piece ? n - o : piece);
}

static inline int fuzz_run_bmff(const uint8_t *data, size_t size)
{
	static const size_t pieces[8] = {1, 3, 8, 13, 512, 4096, 65536, 7};
	if (size < 1 || size > FUZZ_MAX_BMFF)
		return 0;
	uint8_t sel = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1, cap = (sel & 128) ? 256 : 4096;
	uint8_t *a = malloc(cap), *b = malloc(cap);
	if (!a || !b)
		abort();
	struct bmff_keep ka, kb;
	fuzz_keep(p, n, pieces[sel & 7], a, cap, &ka);
	fuzz_keep(p, n, n ? n : 1, b, cap, &kb);
	FUZZ_ENSURE(ka.len <= cap && kb.len <= cap);
	FUZZ_ENSURE(ka.len == kb.len && memcmp(a, b, ka.len) == 0);
	FUZZ_ENSURE(ka.pos <= n);
	/* the image read as a head, at its exact size */
	uint8_t *img = malloc(ka.len ? ka.len : 1);
	if (!img)
		abort();
	memcpy(img, a, ka.len);
	struct meta m;
	const char *name = (sel & 8) ? "clip.mov" : (sel & 64) ? "IMG_0001.HEIC" : "a.mp4";
	FUZZ_ENSURE(meta_read(img, ka.len, (uint64_t)n, name, &m) == 0);
	fuzz_check_meta(&m);
	struct resolved r;
	int declared = 8 * 3600;
	meta_resolve(&m, NULL, (sel & 16) ? &declared : NULL, &r);
	fuzz_check_resolved(&r);
	/* the Exif item of the whole file, as a HEIF working copy takes it */
	uint8_t *exif = NULL;
	size_t elen = 0;
	char why[256] = "";
	if (bmff_heif_exif(p, n, (uint64_t)n, &exif, &elen, why, sizeof why) == 0) {
		if (exif)
			FUZZ_ENSURE(elen >= JPEG_EXIF_HEADER_LEN + 8 &&
				    elen <= HEIF_MAX_EXIF + JPEG_EXIF_HEADER_LEN &&
				    memcmp(exif, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) == 0);
	} else {
		FUZZ_ENSURE(!exif && why[0] != '\0' && FUZZ_TEXT_OK(why));
	}
	free(exif);
	free(img);
	free(a);
	free(b);
	return 0;
}

/* ---- a drone's SRT beside its video ---- */

static inline int fuzz_run_srt(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_SRT)
		return 0;
	struct srt_fix f;
	char err[256] = "";
	int rc = srt_first_fix(data, size, &f, err, sizeof err);
	FUZZ_ENSURE(rc == 0 || rc == EV_ENOENT || rc == EV_EINVAL);
	FUZZ_ENSURE((rc != 0) == (err[0] != '\0'));
	FUZZ_ENSURE(FUZZ_TEXT_OK(err));
	if (rc == 0) {
		FUZZ_ENSURE(fuzz_lat_ok(f.lat) && fuzz_lon_ok(f.lon));
		FUZZ_ENSURE(!(f.lat == 0 && f.lon == 0));
		FUZZ_ENSURE(!f.has_alt || isfinite(f.alt));
		FUZZ_ENSURE(FUZZ_TEXT_OK(f.time) && (f.has_time == (f.time[0] != '\0')));
		FUZZ_ENSURE(f.block >= 1);
	}
	return 0;
}

/* ---- tracks: NMEA and GPX ---- */

static inline void fuzz_check_track(struct track *t, const struct track_report *rep)
{
	FUZZ_ENSURE(t->n <= t->cap);
	FUZZ_ENSURE(t->n == rep->fixes);
	FUZZ_ENSURE(t->n <= TRACK_MAX_POINTS);
	FUZZ_ENSURE(rep->n_msgs <= TRACK_REPORT_MSGS);
	for (size_t i = 0; i < rep->n_msgs; i++)
		FUZZ_ENSURE(FUZZ_TEXT_OK(rep->msgs[i]));
	for (size_t i = 0; i < t->n; i++) {
		const struct fix *f = &t->v[i];
		FUZZ_ENSURE(isfinite(f->t));
		FUZZ_ENSURE(fuzz_lat_ok(f->lat) && fuzz_lon_ok(f->lon));
		FUZZ_ENSURE(f->mode == 2 || f->mode == 3);
		FUZZ_ENSURE(isnan(f->alt) || isfinite(f->alt));
		FUZZ_ENSURE(isnan(f->eph) || (isfinite(f->eph) && f->eph >= 0));
	}
	/* What geotag does next: sort, then place a few moments. */
	track_sort_dedup(t);
	for (size_t i = 1; i < t->n; i++)
		FUZZ_ENSURE(t->v[i].t > t->v[i - 1].t);
	if (t->n == 0)
		return;
	const double probes[] = {t->v[0].t - 5, t->v[0].t, t->v[0].t + 0.5,
				 t->v[t->n / 2].t + 17.25, t->v[t->n - 1].t + 9};
	for (size_t i = 0; i < ARRAY_LEN(probes); i++) {
		struct fix_at at;
		int rc = track_locate(t, probes[i], 60, 10, &at);
		FUZZ_ENSURE(rc == 0 || rc == EV_ENOENT);
		if (rc == 0) {
			FUZZ_ENSURE(fuzz_lat_ok(at.lat) && fuzz_lon_ok(at.lon));
			FUZZ_ENSURE(isfinite(at.error_m) && at.error_m >= 0);
		}
	}
}

static inline int fuzz_run_nmea(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_NMEA)
		return 0;
	/* An exact-size copy: nmea_parse takes a length, not a C string. */
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	struct track t;
	struct track_report rep;
	track_init(&t);
	track_report_init(&rep);
	int rc = nmea_parse("fuzz.nmea", text, size, &t, &rep);
	FUZZ_ENSURE(rc == 0);
	(void)nmea_sniff(text, size);
	fuzz_check_track(&t, &rep);
	track_free(&t);
	free(text);
	return 0;
}

static inline int fuzz_run_gpx(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_GPX)
		return 0;
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	struct track t;
	struct track_report rep;
	char err[512] = "";
	track_init(&t);
	track_report_init(&rep);
	int rc = gpx_parse("fuzz.gpx", text, size, &t, &rep, err, sizeof err);
	FUZZ_ENSURE(fuzz_rc_ok(rc));
	if (rc)
		FUZZ_ENSURE(err[0] && strstr(err, "fuzz.gpx"));
	(void)gpx_sniff(text, size);
	fuzz_check_track(&t, &rep);
	track_free(&t);
	free(text);
	return 0;
}

/* ---- evcap.conf ---- */

static inline int fuzz_run_config(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_CONFIG)
		return 0;
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	struct config c;
	char err[512] = "";
	config_init(&c);
	int rc = config_parse(text, size, "evcap.conf", &c, err, sizeof err);
	FUZZ_ENSURE(fuzz_rc_ok(rc));
	if (rc) {
		FUZZ_ENSURE(err[0] && strncmp(err, "evcap.conf", 10) == 0);
	} else {
		FUZZ_ENSURE(c.n_operators <= CONFIG_MAX_LIST && c.n_watch <= CONFIG_MAX_LIST &&
			    c.n_sensors <= CONFIG_MAX_LIST);
		FUZZ_ENSURE(isfinite(c.settle_seconds) && c.settle_seconds >= 0);
		FUZZ_ENSURE(isfinite(c.max_gap) && c.max_gap >= 0);
		FUZZ_ENSURE(isfinite(c.max_extrapolate) && c.max_extrapolate >= 0);
		FUZZ_ENSURE(isfinite(c.sync_interval) && (c.sync_interval >= 0 || c.sync_interval == -1));
		FUZZ_ENSURE(c.retain_days >= 0 && c.bandwidth >= 0);
		if (c.time_offset) {
			int off;
			FUZZ_ENSURE(time_parse_offset(c.time_offset, &off) == 0);
		}
		if (c.gps_server) {
			char host[256], port[8];
			if (config_split_hostport(c.gps_server, host, port) == 0) {
				FUZZ_ENSURE(host[0] && strlen(host) < sizeof host);
				FUZZ_ENSURE(port[0] && strspn(port, "0123456789") == strlen(port));
			}
		}
	}
	config_free(&c);
	free(text);
	return 0;
}

/* ---- the pulled manifest ---- */

static inline int fuzz_run_manifest(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_MANIFEST)
		return 0;
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	/* *out starts as a sentinel: a failure must set it to NULL. */
	static struct bundle_manifest sentinel;
	struct bundle_manifest *m = &sentinel;
	char err[512] = "";
	int rc = bundle_manifest_parse(text, size, NULL, NULL, &m, err, sizeof err);
	FUZZ_ENSURE(fuzz_rc_ok(rc));
	if (rc) {
		FUZZ_ENSURE(m == NULL && err[0]);
		if (m == &sentinel)
			m = NULL;
	} else {
		FUZZ_ENSURE(m != NULL);
		/* Everything pull will turn into a key must be a key of the
		 * layout, and every blob must be named by a real SHA-256. */
		FUZZ_ENSURE(bundle_id_valid(m->bundle_id));
		FUZZ_ENSURE(bundle_case_key_valid(m->case_key));
		char key[64];
		store_case_key(m->case_number, key);
		FUZZ_ENSURE(strcmp(key, m->case_key) == 0);
		char *ok = bundle_object_key(m->case_key, m->bundle_id, BUNDLE_MANIFEST);
		FUZZ_ENSURE(target_key_valid(ok));
		free(ok);
		FUZZ_ENSURE(m->n_blobs == json_array_size(m->items));
		for (size_t i = 0; i < m->n_blobs; i++) {
			char bk[BUNDLE_BLOB_KEY_LEN];
			FUZZ_ENSURE(sha256_hex_valid(m->blobs[i].sha256));
			FUZZ_ENSURE(m->blobs[i].size <= BUNDLE_MAX_BLOB_SIZE);
			bundle_blob_key(m->blobs[i].sha256, bk);
			FUZZ_ENSURE(target_key_valid(bk));
			for (size_t j = 0; j < i; j++)
				FUZZ_ENSURE(strcmp(m->blobs[i].sha256, m->blobs[j].sha256) != 0);
		}
		FUZZ_ENSURE(json_array_size(m->items) <= BUNDLE_MAX_ITEMS);
		FUZZ_ENSURE(json_array_size(m->readings) <= BUNDLE_MAX_READINGS);
		FUZZ_ENSURE(json_array_size(m->sites) <= BUNDLE_MAX_SITES);
		FUZZ_ENSURE(json_array_size(m->events) <= BUNDLE_MAX_EVENTS);
		FUZZ_ENSURE(m->head_seq >= 0 && sha256_hex_valid(m->head_hash));
	}
	bundle_manifest_free(m);
	free(text);
	return 0;
}

/* ---- the key and path checks pull relies on ---- */

/* What target_key_valid promises in target.h, restated independently:
 * [A-Za-z0-9._-] segments joined by '/', no empty, "." or ".." segment, no
 * leading '/', at most 1024 bytes. */
static inline int fuzz_key_spec(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 1024)
		return 0;
	const char *seg = s;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t l = slash ? (size_t)(slash - seg) : strlen(seg);
		if (l == 0 || (l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		for (size_t i = 0; i < l; i++) {
			char c = seg[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
				return 0;
		}
		if (!slash)
			return 1;
		seg = slash + 1;
	}
}

/* What bundle_id_valid / bundle_case_key_valid promise in bundle.h. */
static inline int fuzz_id_spec(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || strstr(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/*
 * The input is up to three strings separated by newlines: a case key (or
 * case number), a bundle id and an object key, as a server listing would
 * hand them to pull. Each check must agree with its written contract, and
 * whatever pull builds from accepted parts must itself be a valid key.
 */
static inline int fuzz_run_pullpath(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_PULLPATH)
		return 0;
	char *all = fuzz_cstr(data, size);
	const char *parts[3] = {all, "", ""};
	char *nl = strchr(all, '\n');
	if (nl) {
		*nl = '\0';
		parts[1] = nl + 1;
		nl = strchr(nl + 1, '\n');
		if (nl) {
			*nl = '\0';
			parts[2] = nl + 1;
		}
	}
	for (int i = 0; i < 3; i++) {
		const char *s = parts[i];
		FUZZ_ENSURE(target_key_valid(s) == fuzz_key_spec(s));
		FUZZ_ENSURE(bundle_id_valid(s) == fuzz_id_spec(s, BUNDLE_ID_MAX));
		FUZZ_ENSURE(bundle_case_key_valid(s) == fuzz_id_spec(s, 63));
		/* An accepted id is one segment of a key: it can add no level. */
		if (bundle_id_valid(s))
			FUZZ_ENSURE(target_key_valid(s) && !strchr(s, '/'));
		if (sha256_hex_valid(s)) {
			char bk[BUNDLE_BLOB_KEY_LEN];
			FUZZ_ENSURE(strlen(s) == SHA256_HEX_LEN);
			FUZZ_ENSURE(strspn(s, "0123456789abcdef") == SHA256_HEX_LEN);
			bundle_blob_key(s, bk);
			FUZZ_ENSURE(target_key_valid(bk) && strlen(bk) == BUNDLE_BLOB_KEY_LEN - 1);
		}
		/* Any case number at all gets a valid key. */
		char ck[64];
		store_case_key(s, ck);
		FUZZ_ENSURE(bundle_case_key_valid(ck));
	}
	/* Distinct case numbers never share a key (64 bits of SHA-256). */
	char k0[64], k1[64];
	store_case_key(parts[0], k0);
	store_case_key(parts[1], k1);
	if (strcmp(parts[0], parts[1]) != 0)
		FUZZ_ENSURE(strcmp(k0, k1) != 0);
	if (bundle_case_key_valid(parts[0]) && bundle_id_valid(parts[1])) {
		char *k = bundle_object_key(parts[0], parts[1], BUNDLE_COMMITTED);
		FUZZ_ENSURE(target_key_valid(k));
		char *pre = bundle_case_prefix(parts[0]);
		FUZZ_ENSURE(strncmp(k, pre, strlen(pre)) == 0);
		free(pre);
		free(k);
	}
	free(all);
	return 0;
}

/* ---- the signature file and public key pulled with a manifest ---- */

/* A real minisign key and the message it signed (the minisig seed). */
#define FUZZ_MINISIGN_PUB "RWRrikR2IWRoUUmGZFnqGR3UEFqdJYp63cuQlPMBb8ozp/w6kH+cs3p0"
#define FUZZ_MINISIGN_MSG "manifest text"
#define FUZZ_MAX_MINISIG 16384

/* The first byte picks the parser: even, a .minisig file (then checked
 * against the fixed key); odd, a public key (bare line or .pub file). */
static inline int fuzz_run_minisig(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_MINISIG)
		return 0;
	char *text = malloc(size);
	char err[256] = "";
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	if ((data[0] & 1) == 0) {
		struct minisign_sig *sig = malloc(sizeof *sig);
		if (!sig)
			abort();
		int rc = minisign_sig_parse(text, size - 1, sig, err, sizeof err);
		FUZZ_ENSURE(rc == 0 || rc == EV_EINVAL);
		if (rc == 0) {
			const char *end = memchr(sig->trusted, '\0', sizeof sig->trusted);
			FUZZ_ENSURE(end != NULL);
			FUZZ_ENSURE(!memchr(sig->trusted, '\n', (size_t)(end - sig->trusted)));
			struct minisign_pub pub;
			if (minisign_pub_parse(FUZZ_MINISIGN_PUB, strlen(FUZZ_MINISIGN_PUB), &pub, NULL,
					       0) != 0)
				FUZZ_VIOLATION("the built-in public key does not parse");
			rc = minisign_verify(&pub, sig, FUZZ_MINISIGN_MSG, strlen(FUZZ_MINISIGN_MSG),
					     err, sizeof err);
			FUZZ_ENSURE(rc == 0 || rc == EV_EAUTH);
		} else {
			FUZZ_ENSURE(err[0]);
		}
		free(sig);
	} else {
		struct minisign_pub pub;
		int rc = minisign_pub_parse(text, size - 1, &pub, err, sizeof err);
		FUZZ_ENSURE(rc == 0 || rc == EV_EINVAL);
		if (rc)
			FUZZ_ENSURE(err[0]);
	}
	FUZZ_ENSURE(FUZZ_TEXT_OK(err));
	free(text);
	return 0;
}

/* ---- water-probe files and live lines ---- */

#define FUZZ_MAX_SENSOR 16384

/* A three-value SDI-12 probe, as firmware-config/sensors/ ships one. */
#define FUZZ_SENSOR_PROFILE                                                                    \
	"name = fuzz-tdp\nformat = sdi12\naddress = 0\nmissing = -9999\n"                      \
	"value.1 = temp \xC2\xB0" "C\nvalue.2 = do mg/L\nvalue.3 = ph\nvalue.D1.1 = nh3n mg/L\n"

static inline void fuzz_check_batch(const struct sensor_batch *b)
{
	FUZZ_ENSURE(b->n <= b->cap && b->n <= SENSOR_MAX_READINGS);
	FUZZ_ENSURE(FUZZ_TEXT_OK(b->form));
	FUZZ_ENSURE(FUZZ_TEXT_OK(b->note));
	for (size_t i = 0; i < b->n; i++) {
		const struct sensor_reading *r = &b->v[i];
		char hex[SHA256_HEX_LEN + 1];
		/* raw is stored as text and its hash is evidence: both exact */
		FUZZ_ENSURE(r->raw && utf8_valid(r->raw, strlen(r->raw)));
		sha256_hex(r->raw, strlen(r->raw), hex);
		FUZZ_ENSURE(strcmp(hex, r->raw_sha256) == 0);
		FUZZ_ENSURE(FUZZ_TEXT_OK(r->error));
		FUZZ_ENSURE(FUZZ_TEXT_OK(r->sample_id));
		if (r->has_time)
			FUZZ_ENSURE(isfinite(r->t));
		if (r->has_pos)
			FUZZ_ENSURE(fuzz_lat_ok(r->lat) && fuzz_lon_ok(r->lon));
		if (r->has_value && !r->error[0]) {
			FUZZ_ENSURE(r->param != NULL && isfinite(r->value));
			FUZZ_ENSURE(r->value >= r->param->min && r->value <= r->param->max);
		}
	}
	size_t good = 0, bad = 0;
	sensor_batch_count(b, &good, &bad);
	FUZZ_ENSURE(good + bad == b->n);
}

/*
 * The first byte picks the way in: 0, a file through sensor_text_decode
 * and sensor_parse_csv; 1, an instrument profile; 2, an SDI-12 log read
 * with a fixed profile; 3, live lines (CSV or SDI-12 by bit 2); 4, one
 * time. Bit 3 declares a +08:00 offset for times written without one.
 */
static inline int fuzz_run_sensor(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_SENSOR)
		return 0;
	uint8_t sel = data[0];
	char *text = malloc(size);
	char err[512] = "";
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	size_t n = size - 1;
	struct sensor_opts o = {.name = "fuzz.csv", .has_offset = (sel & 8) != 0,
				.offset_s = 8 * 3600, .has_now = 1, .now = 1714528800.0};
	struct sensor_batch b;
	struct sensor_profile *prof = calloc(1, sizeof *prof);
	if (!prof)
		abort();
	sensor_batch_init(&b);
	switch (sel % 5) {
	case 0: {
		struct buf u;
		const char *enc = NULL;
		buf_init(&u, SENSOR_MAX_FILE);
		int rc = sensor_text_decode(text, n, "fuzz.csv", &u, &enc, err, sizeof err);
		FUZZ_ENSURE(fuzz_rc_ok(rc));
		if (rc == 0) {
			/* bytes that are not text (NUL, a byte neither UTF-8
			 * nor GB18030 reads) pass through: the CSV reader names
			 * them line by line, and keeps no reading of such a line */
			FUZZ_ENSURE(enc != NULL);
			rc = sensor_parse_csv(u.data, u.len, &o, &b, err, sizeof err);
			FUZZ_ENSURE(fuzz_rc_ok(rc));
			if (rc)
				FUZZ_ENSURE(err[0]);
		}
		buf_free(&u);
		break;
	}
	case 1: {
		int rc = sensor_profile_parse(text, n, "fuzz.profile", prof, err, sizeof err);
		FUZZ_ENSURE(fuzz_rc_ok(rc));
		if (rc == 0) {
			FUZZ_ENSURE(prof->n_map <= SENSOR_MAX_MAP);
			FUZZ_ENSURE(FUZZ_TEXT_OK(prof->name) && FUZZ_TEXT_OK(prof->model) &&
				    FUZZ_TEXT_OK(prof->serial) && FUZZ_TEXT_OK(prof->calibrated) &&
				    FUZZ_TEXT_OK(prof->format));
			for (size_t i = 0; i < prof->n_map; i++)
				FUZZ_ENSURE(prof->map[i].param && FUZZ_TEXT_OK(prof->map[i].unit));
			char *j = sensor_instrument_json(prof);
			FUZZ_ENSURE(j && utf8_valid(j, strlen(j)));
			free(j);
		} else {
			FUZZ_ENSURE(err[0]);
		}
		break;
	}
	case 2:
	case 3: {
		static const char prof_text[] = FUZZ_SENSOR_PROFILE;
		if (sensor_profile_parse(prof_text, sizeof prof_text - 1, "fuzz.profile", prof, NULL,
					 0) != 0)
			FUZZ_VIOLATION("the built-in profile does not parse");
		if (sel % 5 == 2) {
			int rc = sensor_parse_sdi12(text, n, prof, &o, &b, err, sizeof err);
			FUZZ_ENSURE(rc == 0 || rc == EV_ELIMIT);
			break;
		}
		enum sensor_format fmt = (sel & 4) ? SENSOR_FMT_SDI12 : SENSOR_FMT_CSV;
		size_t pos = 0, line = 0;
		while (pos < n) {
			const char *nl = memchr(text + pos, '\n', n - pos);
			size_t end = nl ? (size_t)(nl - text) : n;
			int rc = sensor_parse_line(fmt, text + pos, end - pos, ++line, prof, &o, &b);
			FUZZ_ENSURE(rc == 0 || rc == EV_ELIMIT);
			pos = end + 1;
		}
		break;
	}
	default: {
		double t;
		int rc = sensor_time_parse(text, n, &o, &t);
		FUZZ_ENSURE(rc == 0 || rc == EV_ENOENT || rc == EV_EINVAL);
		if (rc == 0)
			FUZZ_ENSURE(isfinite(t));
		if (rc == EV_ENOENT)
			FUZZ_ENSURE(!o.has_offset);
		break;
	}
	}
	FUZZ_ENSURE(FUZZ_TEXT_OK(err));
	fuzz_check_batch(&b);
	sensor_batch_free(&b);
	free(prof);
	free(text);
	return 0;
}

/* What the probes' journal reader handed over, checked as it comes. */
struct fuzz_spool_seen {
	int heads;
	size_t lines, last_no;
};

static inline int fuzz_spool_head(void *ctx, const char *source, const char *spec)
{
	struct fuzz_spool_seen *v = ctx;
	FUZZ_ENSURE(source && spec);
	FUZZ_ENSURE(v->heads == 0 && v->lines == 0); /* once, and first */
	v->heads++;
	return 0;
}

static inline int fuzz_spool_line(void *ctx, const struct sensorspool_line *l)
{
	struct fuzz_spool_seen *v = ctx;
	FUZZ_ENSURE(v->heads == 1);
	FUZZ_ENSURE(l->line_no >= 1 && l->line_no >= v->last_no); /* in number order */
	FUZZ_ENSURE(isfinite(l->wall));
	FUZZ_ENSURE(l->raw && l->raw[l->len] == '\0');
	FUZZ_ENSURE(l->case_known || !l->case_number);
	v->last_no = l->line_no;
	v->lines++;
	return 0;
}

/* sensorspool_parse: a journal left on the store's disk, damaged or torn. */
static inline int fuzz_run_spool(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_SPOOL)
		return 0;
	struct fuzz_spool_seen v = {0};
	struct sensorspool_reader r = {fuzz_spool_head, fuzz_spool_line, &v};
	char err[512] = "";
	size_t bad = 0;
	int rc = sensorspool_parse((const char *)data, size, "fuzz.jnl", &r, &bad, err, sizeof err);
	FUZZ_ENSURE(fuzz_rc_ok(rc));
	if (rc)
		FUZZ_ENSURE(strncmp(err, "fuzz.jnl", 8) == 0);
	else
		FUZZ_ENSURE(v.heads == 1);
	/* each record is one line of the input: what was handed over or
	 * skipped cannot outnumber them */
	size_t records = 0;
	for (size_t i = 0; i < size; i++)
		records += data[i] == '\n';
	FUZZ_ENSURE(v.lines + bad + (size_t)v.heads <= records + 1);
	return 0;
}

/*
 * An S3 listing answer (s3_list_page): every entry passed on is named below
 * the target's prefix, inside what was listed, terminated and NUL-free; one
 * not marked foreign is a key of the layout; no more entries than max_keys
 * are passed on; a continuation token is non-empty, within its cap and not
 * the one asked with; an answer refused says why. The first input byte
 * chooses the token the page was asked with (none, or "t").
 */
struct fuzz_s3list {
	size_t n;
};

static inline int fuzz_s3list_each(void *ctx, const struct target_entry *e)
{
	struct fuzz_s3list *f = ctx;
	FUZZ_ENSURE(e->key != NULL);
	FUZZ_ENSURE(strncmp(e->key, "cases/K/bundles/", 16) == 0);
	FUZZ_ENSURE(e->foreign || target_key_valid(e->key));
	f->n++;
	return 0;
}

static inline int fuzz_run_s3list(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_S3LIST)
		return 0;
	static const struct s3_list_page lp = {.target = "s3://evidence/field1",
					       .tprefix = "field1/",
					       .prefix = "cases/K/bundles/",
					       .max_keys = 64};
	const char *asked = (data[0] & 1) ? "t" : NULL;
	char *xml = malloc(size - 1 ? size - 1 : 1), *next = NULL, err[512];
	memcpy(xml, data + 1, size - 1);
	struct fuzz_s3list f = {0};
	size_t count = 0;
	err[0] = '\0';
	int rc = s3_list_page(xml, size - 1, &lp, asked, &count, fuzz_s3list_each, &f, &next, err,
			      sizeof err);
	FUZZ_ENSURE(f.n <= lp.max_keys);
	if (rc) {
		FUZZ_ENSURE(err[0] != '\0' && memchr(err, '\0', sizeof err));
	} else if (next) {
		FUZZ_ENSURE(next[0] != '\0' && strlen(next) <= S3_LIST_TOKEN_MAX);
		FUZZ_ENSURE(!asked || strcmp(next, asked) != 0);
	}
	free(next);
	free(xml);
	return 0;
}

#endif
