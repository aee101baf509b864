/*
 * The JPEG segment walker (see jpeg.h). Every length read from the file is
 * checked against the bytes left before it is used, so a lying length or a
 * truncated card file yields a partial result and a sentence, never a read
 * past the buffer.
 */
#include "jpeg.h"

#include <string.h>

int jpeg_is_sof(uint8_t m)
{
	/* C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but are
	 * not frame headers. */
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* RSTn and TEM stand alone: no length field follows them. */
static int is_standalone(uint8_t m)
{
	return (m >= 0xD0 && m <= 0xD7) || m == JPEG_TEM;
}

/* Bytes to skip from pos to the next plausible marker (0xFF then neither
 * 0x00 nor 0xFF), or 0 if there is none within JPEG_MAX_STRAY bytes. */
static size_t resync(const uint8_t *p, size_t n, size_t pos)
{
	for (size_t k = 1; k <= JPEG_MAX_STRAY && pos + k + 1 < n; k++)
		if (p[pos + k] == 0xFF && p[pos + k + 1] != 0x00 && p[pos + k + 1] != 0xFF)
			return k;
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Looks inside an APP1 for the two payloads evcap reads; only the first of
 * each counts, as every reader (exiftool, libexif) does. */
static void note_app1(struct jpeg_info *ji, const uint8_t *p, const struct jpeg_segment *s)
{
	const uint8_t *q = p + s->payload_off;
	if (!ji->has_exif && s->payload_len >= JPEG_EXIF_HEADER_LEN &&
	    memcmp(q, JPEG_EXIF_HEADER, JPEG_EXIF_HEADER_LEN) == 0) {
		ji->has_exif = 1;
		ji->exif_seg = ji->nseg;
		ji->exif_off = s->payload_off;
		ji->exif_len = s->payload_len;
		ji->exif_truncated = s->truncated;
	} else if (!ji->has_xmp && s->payload_len >= JPEG_XMP_HEADER_LEN &&
		   memcmp(q, JPEG_XMP_HEADER, JPEG_XMP_HEADER_LEN) == 0) {
		ji->has_xmp = 1;
		ji->xmp_seg = ji->nseg;
		ji->xmp_off = s->payload_off + JPEG_XMP_HEADER_LEN;
		ji->xmp_len = s->payload_len - JPEG_XMP_HEADER_LEN;
		ji->xmp_truncated = s->truncated;
	}
}

/* Frame header: precision (1), height (2), width (2), components (1). */
static void note_sof(struct jpeg_info *ji, const uint8_t *p, const struct jpeg_segment *s)
{
	if (ji->has_sof || s->payload_len < 5)
		return;
	ji->has_sof = 1;
	ji->sof_marker = s->marker;
	ji->height = be16(p + s->payload_off + 1);
	ji->width = be16(p + s->payload_off + 3);
}

int jpeg_walk(const uint8_t *p, size_t n, struct jpeg_info *ji, char *err, size_t errlen)
{
	int rc = 0;
	size_t pos = 2;

	memset(ji, 0, sizeof *ji);
	if (n < 2 || p[0] != 0xFF || p[1] != JPEG_SOI) {
		if (n == 0)
			rc = err_set(err, errlen, EV_EINVAL, "not a JPEG: it is empty");
		else if (n == 1 && p[0] == 0xFF)
			rc = err_set(err, errlen, EV_EINVAL,
				     "JPEG ends after 1 byte, inside the SOI marker FF D8 "
				     "(truncated)");
		else
			rc = err_set(err, errlen, EV_EINVAL,
				     "not a JPEG: it does not start with the SOI marker FF D8");
		goto out;
	}
	ji->seg[0] = (struct jpeg_segment){.marker = JPEG_SOI, .offset = 0, .length = 2,
					    .payload_off = 2};
	ji->nseg = 1;

	for (;;) {
		if (pos >= n) {
			ji->ran_out = 1;
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "JPEG ends after %zu bytes, before the image data (truncated)", n);
			goto out;
		}
		if (p[pos] != 0xFF) {
			size_t skip = resync(p, n, pos);
			if (!skip) {
				/* resync looked at every byte after it that could
				 * start a marker, up to JPEG_MAX_STRAY of them */
				size_t after = n - pos - 1;
				size_t seen = after < JPEG_MAX_STRAY ? after : JPEG_MAX_STRAY;
				const char *where =
					ji->nseg == 1 ? " (just after the SOI marker)" : "";
				const char *ends = ", which end the data";
				if (after == 0)
					rc = err_set(err, errlen, EV_ECORRUPT,
						     "JPEG has byte 0x%02X at offset %zu where a "
						     "marker should be%s, and the data ends there",
						     p[pos], pos, where);
				else
					rc = err_set(err, errlen, EV_ECORRUPT,
						     "JPEG has byte 0x%02X at offset %zu where a "
						     "marker should be%s, and no marker in the %zu "
						     "byte%s after it%s",
						     p[pos], pos, where, seen, seen == 1 ? "" : "s",
						     after <= JPEG_MAX_STRAY ? ends : "");
				goto out;
			}
			if (!ji->stray_bytes)
				ji->stray_at = pos;
			ji->stray_bytes += skip;
			pos += skip;
		}
		/* Any number of 0xFF fill bytes may precede a marker. */
		size_t at = pos;
		while (at + 1 < n && p[at + 1] == 0xFF)
			at++;
		if (at + 1 >= n) {
			ji->ran_out = 1;
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "JPEG ends inside a marker at offset %zu (truncated)", pos);
			goto out;
		}
		uint8_t m = p[at + 1];
		if (m == 0x00 || m == JPEG_SOI) {
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "JPEG has an invalid marker FF %02X at offset %zu", m, at);
			goto out;
		}
		if (ji->nseg >= JPEG_MAX_SEGMENTS) {
			rc = err_set(err, errlen, EV_ELIMIT,
				     "JPEG has more than %d segments before the image data",
				     JPEG_MAX_SEGMENTS);
			goto out;
		}
		struct jpeg_segment *s = &ji->seg[ji->nseg];
		memset(s, 0, sizeof *s);
		s->marker = m;
		s->offset = at;
		s->payload_off = at + 2;

		if (is_standalone(m) || m == JPEG_EOI) {
			s->length = 2;
			ji->nseg++;
			pos = at + 2;
			if (m == JPEG_EOI) {
				ji->reached_eoi = 1;
				goto out;
			}
			continue;
		}
		if (at + 4 > n) {
			ji->ran_out = 1;
			s->truncated = 1;
			s->length = n - at;
			s->payload_len = 0;
			ji->nseg++;
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "JPEG ends inside the length of segment FF %02X at offset %zu (truncated)",
				     m, at);
			goto out;
		}
		uint16_t len = be16(p + at + 2);
		if (len < 2) {
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "JPEG segment FF %02X at offset %zu has an impossible length %u",
				     m, at, (unsigned)len);
			goto out;
		}
		size_t left = n - (at + 2); /* bytes from the length field on */
		s->payload_off = at + 4;
		if (len > left) {
			/* Keep the part that is there: a salvage read of a cut-off
			 * EXIF block still finds the tags before the cut. */
			ji->ran_out = 1;
			s->truncated = 1;
			s->length = n - at;
			s->payload_len = left - 2;
		} else {
			s->length = (size_t)len + 2;
			s->payload_len = (size_t)len - 2;
		}
		if (m == JPEG_APP1)
			note_app1(ji, p, s);
		else if (jpeg_is_sof(m))
			note_sof(ji, p, s);
		ji->nseg++;
		if (s->truncated) {
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "JPEG segment FF %02X at offset %zu says %u bytes but only %zu remain (truncated or a false length)",
				     m, at, (unsigned)len, left);
			goto out;
		}
		if (m == JPEG_SOS) {
			ji->reached_sos = 1;
			ji->sos_off = at;
			ji->scan_off = at + 2 + len;
			goto out;
		}
		pos = at + 2 + len;
	}
out:
	return rc;
}

/* 1 if p[0..n) holds the EOI marker FF D9. */
static int has_eoi(const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *end = p + n;
	while (q < end && (q = memchr(q, 0xFF, (size_t)(end - q))) != NULL) {
		if (q + 1 < end && q[1] == JPEG_EOI)
			return 1;
		q++;
	}
	return 0;
}

/* 1 if every FF in p[0..n) is followed by what entropy-coded data, or the
 * markers between the scans of a progressive JPEG, may hold there (a
 * final FF has its follower cut off), and at least one is a stuffed
 * FF 00: what a cut scan looks like, and random or structured bytes
 * after an EOI almost never do. */
static int reads_as_scan(const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *end = p + n;
	int stuffed = 0;
	while (q < end && (q = memchr(q, 0xFF, (size_t)(end - q))) != NULL) {
		if (q + 1 == end)
			break;
		uint8_t b = q[1];
		if (b == 0x00)
			stuffed = 1;
		else if (!(b >= 0xD0 && b <= 0xD7) && b != 0xFF && b != 0xC4 && b != JPEG_SOS &&
			 b != 0xDB && b != 0xDD)
			return 0;
		q++;
	}
	return stuffed;
}

int jpeg_cut_in_scan(uint64_t scan_off, uint64_t file_size, const uint8_t *tail, size_t tail_len)
{
	if (scan_off == 0 || scan_off > file_size || tail_len > file_size)
		return 0;
	uint64_t tail_start = file_size - tail_len;
	if (scan_off >= tail_start)
		return !has_eoi(tail + (scan_off - tail_start), (size_t)(file_size - scan_off));
	if (has_eoi(tail, tail_len))
		return 0;
	return reads_as_scan(tail, tail_len);
}
