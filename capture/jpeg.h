/*
 * A bounded walker over the segments of a JPEG file's head: it lists the
 * markers from SOI up to the start of scan and finds the pieces evcap reads
 * (the Exif APP1 payload, the XMP packet, the frame size). It is a pure
 * function over bytes so it can be fuzzed and reused by the working-copy
 * writer, which must know exactly where every segment starts and ends.
 */
#ifndef EVCAP_JPEG_H
#define EVCAP_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* No real camera writes more than a few dozen segments before the scan;
 * the cap keeps a hostile file from making the walk long. */
#define JPEG_MAX_SEGMENTS 512
/* Stray bytes skipped between two segments before giving up. Some writers
 * get a length wrong by a byte or two (exiftool and libjpeg skip these
 * too); a longer gap is damage, not sloppiness. */
#define JPEG_MAX_STRAY 256

/* The header that makes an APP1 an EXIF block (what libexif wants first). */
#define JPEG_EXIF_HEADER "Exif\0\0"
#define JPEG_EXIF_HEADER_LEN 6
/* The header of the main XMP packet in APP1 (extended XMP is not read). */
#define JPEG_XMP_HEADER "http://ns.adobe.com/xap/1.0/"
#define JPEG_XMP_HEADER_LEN 29 /* including its NUL */

/* Marker values the walker and the writer name. */
enum {
	JPEG_SOI = 0xD8,
	JPEG_EOI = 0xD9,
	JPEG_SOS = 0xDA,
	JPEG_APP0 = 0xE0,
	JPEG_APP1 = 0xE1,
	JPEG_TEM = 0x01
};

/*
 * One marker segment. `offset` is where its 0xFF marker byte is (after any
 * fill bytes), `length` the bytes from there through its payload (2 for a
 * standalone marker, 2 + the length field otherwise). The payload is
 * [payload_off, payload_off + payload_len), clipped to the buffer when the
 * segment is truncated (then `truncated` is 1).
 */
struct jpeg_segment {
	uint8_t marker;
	uint8_t truncated;
	size_t offset;
	size_t length;
	size_t payload_off;
	size_t payload_len;
};

/*
 * What a walk found. Offsets are into the buffer that was walked. The Exif
 * payload starts at "Exif\0\0" (the form libexif's loader accepts); the
 * TIFF structure is JPEG_EXIF_HEADER_LEN bytes further on. The XMP packet
 * starts after its namespace header and its NUL.
 */
struct jpeg_info {
	struct jpeg_segment seg[JPEG_MAX_SEGMENTS];
	size_t nseg;

	int has_exif;         /* first APP1 beginning "Exif\0\0" */
	size_t exif_seg;      /* its index in seg[] */
	size_t exif_off, exif_len;
	int exif_truncated;   /* the segment ran past the buffer: partial */

	int has_xmp;          /* first APP1 beginning with the XMP header */
	size_t xmp_seg;
	size_t xmp_off, xmp_len;
	int xmp_truncated;

	int has_sof;          /* first SOFn frame header */
	uint8_t sof_marker;
	int width, height;

	int reached_sos;      /* the walk stopped at SOS: image data follows */
	size_t sos_off;       /* offset of the SOS marker */
	size_t scan_off;      /* offset just after the SOS header: the image data */
	int reached_eoi;      /* EOI before any SOS (a header-only file) */
	int ran_out;          /* the walk stopped because the buffer ended */
	size_t stray_bytes;   /* bytes skipped between segments (see above) */
	size_t stray_at;      /* offset of the first such gap */
};

/*
 * Walks p[0..n) from SOI. Returns 0 when it reached SOS or EOI cleanly;
 * EV_EINVAL when p does not start with SOI; EV_ECORRUPT when the segments
 * are damaged or end before SOS (truncation, a length that lies, a byte that
 * is not a marker); EV_ELIMIT after JPEG_MAX_SEGMENTS. On every result *ji
 * holds what was found before the problem, and err names the problem and
 * its offset. Never reads outside p[0..n).
 */
int jpeg_walk(const uint8_t *p, size_t n, struct jpeg_info *ji, char *err, size_t errlen) WUR;

/* Bytes of a file's end that ingest keeps, while it copies a JPEG, for
 * jpeg_cut_in_scan: a file is read once, so its end is kept on the way
 * rather than read again. */
#define JPEG_TAIL_MAX ((size_t)64 << 10)

/*
 * Whether a JPEG of file_size bytes, whose image data starts at scan_off
 * (jpeg_info.scan_off of its head; 0 when the walk did not reach it),
 * ends inside that data: cut, with no EOI marker (FF D9) after it. tail
 * holds the file's last tail_len bytes (tail_len <= file_size). FF D9
 * never occurs inside entropy-coded data, so when the image data starts
 * within the tail the answer is exact. When it starts before, a tail
 * with FF D9 is whole; one without is called cut only if it still reads
 * as entropy-coded data: every FF followed by 00 (a stuffed byte), a
 * restart marker, another FF, or a marker that may come between scans
 * (DHT, SOS, DQT, DRI), and at least one FF 00. A motion photo's video,
 * a maker's trailer or zero padding after the EOI does not read so, and
 * is not called cut. Returns 1 (cut) or 0. Never reads outside tail.
 */
int jpeg_cut_in_scan(uint64_t scan_off, uint64_t file_size, const uint8_t *tail, size_t tail_len);

/* 1 if marker is a start-of-frame (SOF0-3, 5-7, 9-11, 13-15), else 0. */
int jpeg_is_sof(uint8_t marker);

#endif
