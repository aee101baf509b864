/*
 * What a file says about itself: kind and format from its bytes, and for
 * JPEGs the EXIF (through libexif, fed only the Exif APP1 payload found by
 * our bounded segment walker) and DJI XMP fields (our bounded scan).
 * meta_read is a pure function over the first bytes of a file; it never
 * fails as a whole: what cannot be read is named in m->error and the rest
 * is still filled in.
 */
#ifndef EVCAP_META_H
#define EVCAP_META_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* How many bytes of a file's head meta_read wants: JPEG metadata lives in
 * the segments before the image data; 4 MiB covers every APPn of a real
 * camera with room to spare. */
#define META_HEAD_MAX ((size_t)4 << 20)

struct meta {
	char kind[16];   /* "photo", "video", "audio", "document", "data", "other" */
	char format[16]; /* "jpeg", "png", "tiff", "dng", "mp4", "mov", "gpx", ... or "" */

	char make[64], model[64], serial[64]; /* "" when absent */
	int orientation;                      /* 0 when absent */
	int width, height;                    /* 0 when absent */

	/* Camera clock exactly as written (DateTimeOriginal, else DateTime). */
	int has_camera_time;
	char camera_time[32];   /* "2023:05:01 10:00:00" */
	int64_t camera_time_t;  /* the string read as if it were UTC */
	double subsec;          /* fraction from SubSecTimeOriginal, 0 if none */
	int has_offset;         /* OffsetTimeOriginal present and well-formed */
	int offset_s;           /* seconds east of UTC */
	char offset_raw[16];    /* as written, even when malformed */

	/* EXIF GPS IFD. A position of exactly 0,0 or status "V" is no fix:
	 * has_exif_pos stays 0 and the reason goes to `note`. */
	int has_gps_time;
	double gps_time_t;      /* UTC seconds from GPSDateStamp + GPSTimeStamp */
	int has_exif_pos;
	double exif_lat, exif_lon;
	int has_exif_alt;
	double exif_alt;        /* metres, negative below sea level */
	char gps_status[4];     /* "A", "V" or "" */
	double gps_dop;         /* 0 when absent */
	char gps_datum[32];

	/* DJI XMP (drone-dji:), attributes or elements. */
	int has_xmp_pos;
	double xmp_lat, xmp_lon;
	int has_xmp_alt;
	double xmp_alt;         /* AbsoluteAltitude */
	int has_rel_alt;
	double rel_alt;         /* RelativeAltitude */
	int has_gimbal_yaw, has_gimbal_pitch, has_gimbal_roll;
	double gimbal_yaw, gimbal_pitch, gimbal_roll;
	int has_flight_yaw, has_flight_pitch, has_flight_roll;
	double flight_yaw, flight_pitch, flight_roll;
	/* An XMP date with an explicit offset (xmp:CreateDate,
	 * photoshop:DateCreated, exif:DateTimeOriginal in XMP). */
	int has_xmp_time;
	double xmp_time_t;      /* UTC */
	int xmp_offset_s;
	/* A capture date from outside EXIF, for a file whose EXIF has none:
	 * IPTC's DateCreated and TimeCreated (with their zone, if written),
	 * else an XMP date written without an offset. meta_read makes it the
	 * camera time (and zone) when nothing else gave one, with a note. */
	int has_other_clock;
	int64_t other_clock_t;  /* the wall clock read as if UTC */
	int other_has_offset;
	int other_offset_s;
	char other_clock_from[96];

	/* "" when everything present could be read; else what could not,
	 * naming the field: "EXIF GPS latitude has a zero denominator". */
	char error[256];
	/* Remarks that are not errors ("GPS position 0,0 treated as no fix"). */
	char note[256];

	/* Added with the metadata reader (capture/exifmeta.c, capture/xmp.c). */
	double gps_hpe;         /* GPSHPositioningError in metres, 0 when absent */
	char xmp_pos_from[16];  /* has_xmp_pos: "drone-dji", or "exif" for the
				 * exif:GPSLatitude/Longitude Adobe software writes */
	/* GPSImgDirection: where the camera pointed, degrees in [0, 360) from
	 * north, as phones write it; ref "T" (true north), "M" (magnetic) or
	 * "" when the file does not say. */
	int has_img_dir;
	double img_dir;
	char img_dir_ref[4];

	/* Videos (capture/bmff.c). The camera time is the creation date with
	 * its zone (then has_offset), else the movie header's creation time,
	 * which the format defines as UTC but many cameras write in local
	 * time: clock_is_utc says the file's writer is one known to keep to
	 * UTC (Apple's and Android's keys, ffmpeg). */
	int clock_is_utc;
	int has_video_pos;      /* (c)xyz or an ISO 6709 key; 0,0 is no fix */
	double video_lat, video_lon;
	int has_video_alt;
	double video_alt;

	/* JPEGs: where the image data starts (after the SOS header), 0 when
	 * the head's walk did not reach it; for meta_read_tail. */
	uint64_t scan_off;
};

/*
 * Reads metadata from `head`, the first n bytes of a file whose full size
 * is file_size (n may be less than file_size). `name` is used only for
 * extension hints and never opened. Always fills *m; returns 0.
 */
int meta_read(const uint8_t *head, size_t n, uint64_t file_size, const char *name,
	      struct meta *m);

/*
 * What the end of a file says, once meta_read has read its head: tail
 * holds its last n bytes (n <= file_size, at most JPEG_TAIL_MAX are
 * looked at). A JPEG that ends inside its image data (jpeg_cut_in_scan)
 * is named in m->error; one whose head is cut before the image data is
 * named already, by meta_read, and not again. Pure.
 */
void meta_read_tail(struct meta *m, uint64_t file_size, const uint8_t *tail, size_t n);

/* Sets the camera clock to `local` (a wall clock read as if UTC). */
void meta_set_camera_time(struct meta *m, int64_t local);

/* Only the kind and format meta_read would give (by the bytes, else the
 * name): what is still known of a file whose metadata parser failed. */
void meta_kind(const uint8_t *head, size_t n, const char *name, struct meta *m);

/* The time and place an item is resolved to. */
struct resolved {
	int has_time;
	double utc;              /* capture time, UTC seconds */
	char time_source[16];    /* "offset", "gps", "xmp", "video", "learned", "declared", "" */
	int has_tz;
	int tz_offset_s;         /* camera clock minus UTC, seconds */
	int has_pos;
	double lat, lon;
	int has_alt;
	double alt;
	char location_source[8]; /* "exif", "xmp", "video", "track", "manual", "" (geotag
				  * also writes "srt") */
	double error_m;          /* estimated position error in metres, <0 unknown */
	/* Added: why a candidate time source was passed over ("GPS time is
	 * 30 h from the camera clock"), "" when nothing was. */
	char note[256];
};

/*
 * Resolves time and place from one file's metadata (ARCHITECTURE.md §3):
 * time from OffsetTimeOriginal, else the file's own GPS time (the offset
 * is then camera time minus GPS time, to the second), else an XMP date with
 * offset, else a video's camera time when its writer keeps it in UTC
 * (source "video"), else `learned_offset` (if non-NULL, source "learned"),
 * else `declared_offset` (if non-NULL, source "declared"). Location from
 * EXIF GPS, else DJI XMP, else a video's own position. Pure.
 */
void meta_resolve(const struct meta *m, const int *learned_offset, const int *declared_offset,
		  struct resolved *r);

#endif
