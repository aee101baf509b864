/*
 * Unit tests for MP4 and QuickTime metadata (capture/bmff.c): the image
 * bmff_keep makes of a file however it is split, and what bmff_read, and
 * meta_read and meta_resolve around it, take from the boxes cameras and
 * phones write: a movie header's time, Apple's keys, user data, ISO 6709
 * positions in each of their forms, and files cut short or malformed.
 * Files are made by scripts/synth-mp4.h, the tests' video generator.
 */
#include <errno.h>
#include <stdint.h>

#include "bmff.h"
#include "meta.h"
#include "t.h"

#define SYNTH_PROG "test_bmff"
static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", SYNTH_PROG, what);
	exit(1);
}
#include "../../scripts/synth-mp4.h"

/* 2023-06-15 10:00:00 as a clock reads it, taken as UTC. */
#define WALL 1686823200LL

/* A whole file of the given shape, in memory. */
static uint8_t *make(const struct mp4_spec *s, size_t *n)
{
	char *p = NULL;
	FILE *f = open_memstream(&p, n);
	if (!f)
		die("open_memstream");
	synth_mp4(f, s);
	fclose(f);
	return (uint8_t *)p;
}

/* The image of p[0..n) kept in cap bytes, fed in pieces of `piece`. */
static size_t keep(const uint8_t *p, size_t n, size_t piece, uint8_t *out, size_t cap)
{
	struct bmff_keep k;
	bmff_keep_init(&k, out, cap);
	for (size_t o = 0; o < n; o += piece)
		bmff_keep_feed(&k, p + o, n - o < piece ? n - o : piece);
	return k.len;
}

/* meta_read and meta_resolve over an exact-size heap copy of an image. */
static void read_image(const uint8_t *img, size_t len, uint64_t size, const char *name,
		       const int *declared, struct meta *m, struct resolved *r)
{
	uint8_t *c = malloc(len ? len : 1);
	memcpy(c, img, len);
	CHECK(meta_read(c, len, size, name, m) == 0);
	meta_resolve(m, NULL, declared, r);
	free(c);
}

/* The whole path ingest takes: keep, then read. */
static void ingest_like(const struct mp4_spec *s, const char *name, const int *declared,
			struct meta *m, struct resolved *r)
{
	size_t n;
	uint8_t *f = make(s, &n);
	uint8_t *img = malloc(META_HEAD_MAX);
	size_t len = keep(f, n, (size_t)2 << 20, img, META_HEAD_MAX);
	read_image(img, len, n, name, declared, m, r);
	free(img);
	free(f);
}

static void test_keep_any_split(void)
{
	/* the index after 300 KB of media data, with a 64-bit size on it */
	struct mp4_spec s = {.mvhd_time = WALL, .xyz = "+47.3512+123.9174/", .mdat_bytes = 300000,
			     .mdat_large = 1, .seed = 1};
	size_t n;
	uint8_t *f = make(&s, &n);
	uint8_t *a = malloc(65536), *b = malloc(65536);
	size_t la = keep(f, n, n, a, 65536);
	CHECK(la > 100 && la < 1024); /* ftyp, a stub of mdat, the moov */
	static const size_t pieces[] = {1, 2, 7, 8, 15, 16, 4096, 65537};
	for (size_t i = 0; i < ARRAY_LEN(pieces); i++) {
		size_t lb = keep(f, n, pieces[i], b, 65536);
		CHECK(lb == la && memcmp(a, b, la) == 0);
	}
	/* the stub keeps the file's order of boxes: ftyp, mdat, moov */
	CHECK(memcmp(a + 4, "ftyp", 4) == 0);
	size_t fl = (size_t)a[3];
	CHECK(memcmp(a + fl + 4, "mdat", 4) == 0 && a[fl + 3] == 8);
	CHECK(memcmp(a + fl + 12, "moov", 4) == 0);
	free(a);
	free(b);
	free(f);
}

static void test_moov_after_media(void)
{
	/* a drone: the index last, the clock in local time, no position */
	struct mp4_spec s = {.mvhd_time = WALL, .mdat_bytes = 5 << 20, .seed = 2};
	struct meta m;
	struct resolved r;
	ingest_like(&s, "DJI_0001.MP4", NULL, &m, &r);
	CHECK_STR(m.kind, "video");
	CHECK_STR(m.format, "mp4");
	CHECK_STR(m.error, "");
	CHECK(m.has_camera_time && m.camera_time_t == WALL);
	CHECK_STR(m.camera_time, "2023:06:15 10:00:00");
	CHECK(!m.clock_is_utc && !m.has_offset);
	CHECK(strstr(m.note, "camera's clock") != NULL);
	CHECK(!r.has_time && !r.has_pos); /* no zone known: no moment */

	int declared = 8 * 3600;
	ingest_like(&s, "DJI_0001.MP4", &declared, &m, &r);
	CHECK(r.has_time && r.utc == (double)(WALL - 8 * 3600));
	CHECK_STR(r.time_source, "declared");

	/* the same file's plain first 4 MiB says where the index is not */
	size_t n;
	uint8_t *f = make(&s, &n);
	read_image(f, META_HEAD_MAX, n, "DJI_0001.MP4", NULL, &m, &r);
	CHECK(strstr(m.error, "moov box not found in the first 4194304 of") != NULL);
	CHECK(!m.has_camera_time);
	free(f);
}

static void test_apple_keys(void)
{
	/* an iPhone: the index first, keys with a zoned date and a place */
	struct mp4_spec s = {.brand = "qt  ", .moov_first = 1, .mvhd_time = WALL - 8 * 3600 + 5,
			     .apple_date = "2023-06-15T10:00:05+0800",
			     .apple_loc = "+47.3512+123.9174+150.500/", .apple_make = "Apple",
			     .mdat_bytes = 1000};
	struct meta m;
	struct resolved r;
	int declared = -5 * 3600; /* a drone's; not this phone's */
	ingest_like(&s, "IMG_0001.MOV", &declared, &m, &r);
	CHECK_STR(m.format, "mov");
	CHECK_STR(m.error, "");
	CHECK_STR(m.make, "Apple");
	CHECK(m.has_offset && m.offset_s == 8 * 3600);
	CHECK_STR(m.offset_raw, "+08:00");
	CHECK_STR(m.camera_time, "2023:06:15 10:00:05");
	CHECK(r.has_time && r.utc == (double)(WALL - 8 * 3600 + 5));
	CHECK_STR(r.time_source, "offset");
	CHECK(r.has_pos && r.has_alt);
	CHECK_NEAR(r.lat, 47.3512, 1e-9);
	CHECK_NEAR(r.lon, 123.9174, 1e-9);
	CHECK_NEAR(r.alt, 150.5, 1e-9);
	CHECK_STR(r.location_source, "video");

	/* keys without a date: the movie header is UTC from this writer */
	struct mp4_spec u = s;
	u.apple_date = NULL;
	ingest_like(&u, "IMG_0002.MOV", &declared, &m, &r);
	CHECK(m.clock_is_utc);
	CHECK(r.has_time && r.utc == (double)(WALL - 8 * 3600 + 5));
	CHECK_STR(r.time_source, "video");
	CHECK(!r.has_tz);
}

static void test_user_data(void)
{
	/* ffmpeg's shape: (c)xyz in user data and its encoder tag; a 64-bit
	 * movie header */
	struct mp4_spec s = {.mvhd_time = WALL, .mvhd_v1 = 1, .xyz = "+47.3500+123.9100/",
			     .encoder = "Lavf59.27.100", .make = "Xiaomi", .model = "2201123C",
			     .day = "2023", .mdat_bytes = 1000};
	struct meta m;
	struct resolved r;
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK_STR(m.error, "");
	CHECK_STR(m.make, "Xiaomi");
	CHECK_STR(m.model, "2201123C");
	CHECK(m.clock_is_utc && m.camera_time_t == WALL);
	CHECK_STR(r.time_source, "video");
	CHECK(r.has_pos && !r.has_alt);
	CHECK_NEAR(r.lat, 47.35, 1e-9);
	CHECK_NEAR(r.lon, 123.91, 1e-9);

	/* a day alone is not a moment, nor an error */
	s.day = "2023-06-15";
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK_STR(m.error, "");
	CHECK_STR(r.time_source, "video");

	/* (c)day with a zone wins over the movie header */
	s.day = "2023-06-15T10:00:09+08:00";
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK_STR(r.time_source, "offset");
	CHECK(r.utc == (double)(WALL - 8 * 3600 + 9));
}

/* 3GPP's location box and a bare date, as some Android phones and FLIR's
 * camera write them (checked by hand against exiftool on such files) */
static void test_loci_and_date(void)
{
	struct mp4_spec s = {.mvhd_time = WALL, .loci = 1, .loci_lat = 52.3692932,
			     .loci_lon = 6.6760864, .loci_alt = 10.53,
			     .udta_date = "2020-11-20T15:04:02+0100", .mdat_bytes = 1000};
	struct meta m;
	struct resolved r;
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK_STR(m.error, "");
	CHECK_STR(r.time_source, "offset");
	CHECK(m.has_offset && m.offset_s == 3600);
	CHECK_STR(m.camera_time, "2020:11:20 15:04:02");
	CHECK(r.has_pos && r.has_alt && !strcmp(r.location_source, "video"));
	CHECK_NEAR(r.lat, 52.3692932, 1e-4);
	CHECK_NEAR(r.lon, 6.6760864, 1e-4);
	CHECK_NEAR(r.alt, 10.53, 1e-4);
	CHECK(strstr(m.note, "loci") && strstr(m.note, "udta date"));
	/* west and south; a date in UTC */
	s.loci_lat = -34.0753937;
	s.loci_lon = -118.2543030;
	s.udta_date = "2021-05-16T19:27:55Z";
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK_NEAR(r.lat, -34.0753937, 1e-4);
	CHECK_NEAR(r.lon, -118.2543030, 1e-4);
	CHECK(r.utc == 1621193275.0);
	/* 0,0 is no fix; of loci and a (c)xyz after it, the first stands */
	s.loci_lat = s.loci_lon = 0;
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK(!r.has_pos && strstr(m.note, "0,0"));
	s.loci_lat = 30;
	s.xyz = "+47.3500+123.9100/";
	ingest_like(&s, "VID.mp4", NULL, &m, &r);
	CHECK_NEAR(r.lat, 30, 1e-4);
}

static void test_iso6709_forms(void)
{
	static const struct {
		const char *text;
		int ok;
		double lat, lon;
	} cases[] = {
		{"+47.3512+123.9174/", 1, 47.3512, 123.9174},
		{"-33.8688+151.2093+10.0/", 1, -33.8688, 151.2093},
		{"+4721.06+12355.04/", 1, 47.351, 123.917333333},        /* degrees, minutes */
		{"+472103.6+1235502.4/", 1, 47.351, 123.917333333},      /* and seconds */
		{"+47.3512+123.9174CRSWGS_84/", 1, 47.3512, 123.9174},
		{"+47.3512-000.5000", 1, 47.3512, -0.5},                 /* no closing '/' */
		{"+97.0+123.0/", 0, 0, 0},                               /* latitude past 90 */
		{"+47.35+12.91/", 0, 0, 0},                              /* a 2-digit longitude */
		{"+4761.06+12355.04/", 0, 0, 0},                         /* 61 minutes */
		{"47.35,123.91", 0, 0, 0},
		{"+47.35+123.91+1e9/", 0, 0, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct mp4_spec s = {.mvhd_time = WALL, .xyz = cases[i].text, .mdat_bytes = 10};
		struct meta m;
		struct resolved r;
		ingest_like(&s, "a.mp4", NULL, &m, &r);
		if (cases[i].ok) {
			CHECK(m.has_video_pos);
			CHECK_NEAR(m.video_lat, cases[i].lat, 1e-6);
			CHECK_NEAR(m.video_lon, cases[i].lon, 1e-6);
			CHECK_STR(m.error, "");
		} else {
			CHECK(!m.has_video_pos);
			CHECK(strstr(m.error, "MP4 (c)xyz box holds a position that is not ISO 6709"));
		}
	}
	/* 0,0 is no fix, as in EXIF */
	struct mp4_spec z = {.mvhd_time = WALL, .xyz = "+00.0000+000.0000/", .mdat_bytes = 10};
	struct meta m;
	struct resolved r;
	ingest_like(&z, "a.mp4", NULL, &m, &r);
	CHECK(!m.has_video_pos && !r.has_pos);
	CHECK(strstr(m.note, "0,0 treated as no fix") != NULL);
}

static void test_cut_short(void)
{
	/* a camera that lost power: media data, no index */
	struct mp4_spec s = {.no_moov = 1, .mdat_bytes = 3 << 20};
	struct meta m;
	struct resolved r;
	ingest_like(&s, "DJI_0009.MP4", NULL, &m, &r);
	CHECK_STR(m.kind, "video");
	CHECK(strstr(m.error, "no moov box") && strstr(m.error, "cut short"));

	/* the media data's size says more than the file holds */
	size_t n;
	struct mp4_spec t = {.mvhd_time = WALL, .mdat_bytes = 5000};
	uint8_t *f = make(&t, &n);
	uint8_t img[4096];
	size_t len = keep(f, 3000, 512, img, sizeof img); /* the card pulled at 3000 bytes */
	read_image(img, len, 3000, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "no moov box") != NULL);

	/* a moov too large for the room: its size, and what was not read */
	len = keep(f, n, n, img, 64);
	CHECK(len <= 64);
	read_image(img, len, n, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 moov box (") && strstr(m.error, "time and place not read"));
	free(f);
}

static void test_malformed(void)
{
	struct meta m;
	struct resolved r;
	/* a box whose size is smaller than its header */
	static const uint8_t bad[] = "\0\0\0\x10" "ftypisom\0\0\0\0" "\0\0\0\x04" "moov";
	read_image(bad, sizeof bad - 1, sizeof bad - 1, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "has a size that is wrong") != NULL);
	/* the keeper stops at such a box and keeps what came before */
	uint8_t img[256];
	size_t len = keep(bad, sizeof bad - 1, 3, img, sizeof img);
	CHECK(len == 16 && memcmp(img, bad, 16) == 0);

	/* a movie header of an unknown version, and one of time 0 */
	struct mp4_spec s = {.moov_first = 1, .mvhd_time = WALL, .mdat_bytes = 10};
	size_t n;
	uint8_t *f = make(&s, &n);
	uint8_t *mv = memmem(f, n, "mvhd", 4);
	CHECK(mv != NULL);
	mv[4] = 7;
	read_image(f, n, n, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 mvhd box has an unknown version") != NULL);
	CHECK(!m.has_camera_time);
	free(f);
	s.mvhd_time = 0;
	ingest_like(&s, "a.mp4", NULL, &m, &r);
	CHECK_STR(m.error, "");
	CHECK(!m.has_camera_time && !r.has_time);
	/* a clock never set (1904 + a little) is noted, not used */
	s.mvhd_time = -2082844800LL + 86400;
	ingest_like(&s, "a.mp4", NULL, &m, &r);
	CHECK(!m.has_camera_time && strstr(m.note, "not a plausible date") != NULL);
	CHECK(strstr(m.note, "MP4 movie header creation time 86400 s from 1904 (1904-01-02 "
			     "00:00:00) is not a plausible date (before 1990 or after 2200: a "
			     "clock never set); not used") != NULL);

	/* a date that is not one */
	struct mp4_spec d = {.mvhd_time = WALL, .day = "15/06/2023 10:00", .mdat_bytes = 10};
	ingest_like(&d, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 (c)day box holds a date that cannot be read, \"15/06/2023 "
			      "10:00\": it is not of the form YYYY-MM-DDThh:mm:ss with a zone") !=
	      NULL);
	CHECK(m.has_camera_time); /* the movie header still is */
	/* a day no month has */
	d.day = "2023-02-31T10:00:00+0800";
	ingest_like(&d, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 (c)day box holds a date that cannot be read, "
			      "\"2023-02-31T10:00:00+0800\": it has that form, but day 31 does "
			      "not exist in February") != NULL);
	CHECK(!m.has_offset);
	/* a year out of range, a zone beyond 14 hours: each said */
	d.day = "9999-06-15T10:00:00+0800";
	ingest_like(&d, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "it has that form, but the year 9999 is outside the years evcap "
			      "accepts (1900 to 2200)") != NULL);
	d.day = "2023-06-15T10:00:00+2500";
	ingest_like(&d, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "its zone \"+2500\" is not Z, +hh:mm or +hhmm within 14 hours") !=
	      NULL);
	CHECK(!m.has_offset);
}

/* A box header of the given declared size and type, then n body bytes;
 * returns the bytes written (8 + n, whatever size says). */
static size_t put_box(uint8_t *o, uint32_t size, const char *type, const void *body, size_t n)
{
	for (int i = 0; i < 4; i++)
		o[i] = (uint8_t)(size >> (24 - 8 * i));
	memcpy(o + 4, type, 4);
	if (n)
		memcpy(o + 8, body, n);
	return 8 + n;
}

/* A box whose size runs past its parent's end is named, with offsets in
 * the top-level box, and what lies inside the parent is still read. */
static void test_child_past_parent(void)
{
	struct meta m;
	struct resolved r;
	uint8_t f[256];
	size_t n = put_box(f, 16, "ftyp", "isom\0\0\0\0", 8);
	/* moov of 20 bytes holding an mvhd that says 0x7fffffff */
	n += put_box(f + n, 20, "moov", NULL, 0);
	n += put_box(f + n, 0x7fffffff, "mvhd", "\0\0\0\0", 4);
	read_image(f, n, n, "a.mp4", NULL, &m, &r);
	CHECK_STR(m.kind, "video");
	CHECK_STR(m.error, "MP4 mvhd box (2147483647 bytes, at offset 8 in moov) runs past the end "
			   "of its parent moov box (at offset 20); read as far as moov goes");
	/* the keeper's image of the file says the same */
	uint8_t img[512];
	size_t len = keep(f, n, 5, img, sizeof img);
	read_image(img, len, n, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 mvhd box (2147483647 bytes, at offset 8 in moov)") != NULL);

	/* a udta with a position, then an mvhd running 100 bytes past moov
	 * whose creation time lies inside it: both read, the fault named */
	static const char xyz[] = "\0\x12\x15\xC7" "+47.3512+123.9174/";
	uint8_t udta[64], xyzbox[64], mvhd[12] = {0};
	size_t xl = put_box(xyzbox, 8 + sizeof xyz - 1, "\xA9xyz", xyz, sizeof xyz - 1);
	size_t ul = put_box(udta, (uint32_t)(8 + xl), "udta", xyzbox, xl);
	uint32_t t = (uint32_t)(WALL + 2082844800LL);
	for (int i = 0; i < 4; i++)
		mvhd[4 + i] = (uint8_t)(t >> (24 - 8 * i));
	n = put_box(f, 16, "ftyp", "isom\0\0\0\0", 8);
	size_t moov_at = n;
	n += put_box(f + n, (uint32_t)(8 + ul + 8 + sizeof mvhd), "moov", udta, ul);
	n += put_box(f + n, 8 + sizeof mvhd + 100, "mvhd", mvhd, sizeof mvhd);
	CHECK(n == moov_at + 8 + ul + 8 + sizeof mvhd);
	read_image(f, n, n, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 mvhd box (120 bytes, at offset ") != NULL);
	CHECK(strstr(m.error, "runs past the end of its parent moov box") != NULL);
	CHECK(m.has_video_pos);
	CHECK(m.has_camera_time && m.camera_time_t == WALL);

	/* nested: a (c)xyz running past its udta (inside moov) */
	uint8_t inner[64];
	static const uint8_t zeros[40];
	xl = put_box(xyzbox, 8 + sizeof xyz - 1 + 40, "\xA9xyz", xyz, sizeof xyz - 1);
	ul = put_box(udta, (uint32_t)(8 + xl), "udta", xyzbox, xl);
	size_t il = put_box(inner, 8 + sizeof zeros, "free", zeros, sizeof zeros);
	n = put_box(f, 16, "ftyp", "isom\0\0\0\0", 8);
	n += put_box(f + n, (uint32_t)(8 + ul + il), "moov", udta, ul);
	memcpy(f + n, inner, il);
	n += il;
	read_image(f, n, n, "a.mp4", NULL, &m, &r);
	CHECK(strstr(m.error, "MP4 (c)xyz box (70 bytes, at offset 16 in moov) runs past the end "
			      "of its parent udta box (at offset 46)") != NULL);
	CHECK(m.has_video_pos); /* its text lies inside the udta */
}

static void test_not_boxes(void)
{
	CHECK(!bmff_is_boxes((const uint8_t *)"\xFF\xD8\xFF\xE1\0\0\0\0", 8));
	CHECK(!bmff_is_boxes((const uint8_t *)"\0\0\0\x04" "ftyp", 8)); /* size under 8 */
	CHECK(bmff_is_boxes((const uint8_t *)"\0\0\0\0" "mdat", 8));   /* to the end */
	CHECK(bmff_is_boxes((const uint8_t *)"\0\0\0\1" "free", 8));   /* 64-bit size */
	CHECK(!bmff_is_boxes((const uint8_t *)"\0\0\0\x18" "ftyp", 7));
	/* a HEIC photo is boxes too; its image keeps its type */
	struct mp4_spec s = {.brand = "heic", .moov_first = 1, .mdat_bytes = 10};
	struct meta m;
	struct resolved r;
	ingest_like(&s, "a.heic", NULL, &m, &r);
	CHECK_STR(m.kind, "photo");
	CHECK_STR(m.format, "heic");
}

int main(void)
{
	RUN(test_keep_any_split);
	RUN(test_moov_after_media);
	RUN(test_apple_keys);
	RUN(test_user_data);
	RUN(test_loci_and_date);
	RUN(test_iso6709_forms);
	RUN(test_cut_short);
	RUN(test_malformed);
	RUN(test_child_past_parent);
	RUN(test_not_boxes);
	return t_any_failed;
}
