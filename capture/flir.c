/*
 * flir_read (see flir.h): the capture time, zone, model and serial number
 * from the CameraInfo block of a FLIR camera's FFF record, which the JPEG
 * carries split over APP1 segments. The FFF bytes are never joined: each
 * field is copied out of whichever segments hold it, so a radiometric
 * image's 600 KB cost nothing to skip.
 */
#include "flir.h"

#include <stdio.h>
#include <string.h>

#include "timeutil.h"

#define FLIR_SEG_HEADER "FLIR\0"
#define FLIR_SEG_HEADER_LEN 8 /* "FLIR\0", format, index, last index */
#define FFF_HEADER_LEN 32
#define FFF_ENTRY_LEN 32
#define FFF_CAMERA_INFO 0x20

/* CameraInfo offsets */
#define CI_MODEL 0xd4
#define CI_PART 0xf4
#define CI_SERIAL 0x104
#define CI_TIME 0x384
#define CI_END 0x38e /* through the zone */

/* Plausible capture times: 1990 to 2100. */
#define FLIR_MIN_T INT64_C(631152000)
#define FLIR_MAX_T INT64_C(4102444800)

struct fff {
	const uint8_t *part[FLIR_MAX_SEGMENTS];
	size_t len[FLIR_MAX_SEGMENTS];
	size_t nparts;
	uint64_t size;
};

/* Copies len bytes at FFF offset off; 0, or -1 past the end. */
static int fff_copy(const struct fff *f, uint64_t off, size_t len, uint8_t *dst)
{
	if (off > f->size || len > f->size - off)
		return -1;
	for (size_t i = 0; i < f->nparts && len; i++) {
		if (off >= f->len[i]) {
			off -= f->len[i];
			continue;
		}
		size_t take = f->len[i] - (size_t)off;
		if (take > len)
			take = len;
		memcpy(dst, f->part[i] + off, take);
		dst += take;
		len -= take;
		off = 0;
	}
	return len ? -1 : 0;
}

static uint32_t get16(const uint8_t *q, int be)
{
	return be ? (uint32_t)q[0] << 8 | q[1] : (uint32_t)q[1] << 8 | q[0];
}

static uint32_t get32(const uint8_t *q, int be)
{
	return be ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
		  : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

/* A NUL-padded string field, kept only if it is printable ASCII. */
static void take_string(const uint8_t *q, size_t len, char *out, size_t outlen)
{
	size_t i;
	out[0] = '\0';
	for (i = 0; i < len && q[i]; i++)
		if (q[i] < 0x20 || q[i] > 0x7e)
			return;
	while (i > 0 && q[i - 1] == ' ')
		i--;
	if (i >= outlen)
		i = outlen - 1;
	memcpy(out, q, i);
	out[i] = '\0';
}

/* The FLIR segments of ji, in index order, into f. */
static int gather(const uint8_t *p, const struct jpeg_info *ji, struct fff *f, char *why,
		  size_t whylen)
{
	int last = -1;
	size_t seen = 0;
	for (size_t s = 0; s < ji->nseg; s++) {
		const struct jpeg_segment *g = &ji->seg[s];
		const uint8_t *q = p + g->payload_off;
		if (g->marker != JPEG_APP1 || g->payload_len < 5 ||
		    memcmp(q, FLIR_SEG_HEADER, 5) != 0)
			continue;
		if (g->payload_len < FLIR_SEG_HEADER_LEN)
			return err_set(why, whylen, EV_EINVAL, "FLIR segment at offset %zu is %zu bytes",
				       g->offset, g->payload_len);
		int idx = q[6], end = q[7];
		if (last < 0)
			last = end;
		if (end != last || idx > end)
			return err_set(why, whylen, EV_EINVAL,
				       "FLIR segment at offset %zu says it is %d of %d, after one of %d",
				       g->offset, idx + 1, end + 1, last + 1);
		if (seen > (size_t)last)
			return err_set(why, whylen, EV_EINVAL,
				       "FLIR segment at offset %zu is one more than the %d named",
				       g->offset, last + 1);
		if ((size_t)idx != seen)
			return err_set(why, whylen, EV_EINVAL, "FLIR segment %zu of %d is missing",
				       seen + 1, last + 1);
		if (g->truncated)
			return err_set(why, whylen, EV_EINVAL,
				       "FLIR segment %d of %d runs past the bytes read", idx + 1,
				       last + 1);
		f->part[seen] = q + FLIR_SEG_HEADER_LEN;
		f->len[seen] = g->payload_len - FLIR_SEG_HEADER_LEN;
		f->size += f->len[seen];
		f->nparts = ++seen;
	}
	if (last >= 0 && seen != (size_t)last + 1)
		return err_set(why, whylen, EV_EINVAL, "FLIR segment %zu of %d is missing", seen + 1,
			       last + 1);
	return 0;
}

int flir_read(const uint8_t *p, size_t n, const struct jpeg_info *ji, struct flir_info *out,
	      char *why, size_t whylen)
{
	struct fff f = {0};
	uint8_t h[FFF_HEADER_LEN];
	int rc;
	(void)n; /* the walk's offsets are within the head it walked */
	memset(out, 0, sizeof *out);
	if ((rc = gather(p, ji, &f, why, whylen)))
		return rc;
	if (!f.nparts)
		return 0;
	out->found = 1;
	if (fff_copy(&f, 0, sizeof h, h) ||
	    (memcmp(h, "FFF\0", 4) != 0 && memcmp(h, "AFF\0", 4) != 0))
		return err_set(why, whylen, EV_EINVAL, "FLIR record does not begin with FFF");
	int be;
	if (get32(h + 20, 1) >= 100 && get32(h + 20, 1) < 200)
		be = 1;
	else if (get32(h + 20, 0) >= 100 && get32(h + 20, 0) < 200)
		be = 0;
	else
		return err_set(why, whylen, EV_EINVAL, "FLIR record has an unknown version");
	uint32_t dir = get32(h + 24, be), count = get32(h + 28, be);
	if (count > FLIR_MAX_RECORDS)
		return err_set(why, whylen, EV_ELIMIT, "FLIR record lists %u records (at most %d read)",
			       count, FLIR_MAX_RECORDS);
	uint32_t ci_off = 0, ci_len = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t e[FFF_ENTRY_LEN];
		if (fff_copy(&f, (uint64_t)dir + (uint64_t)i * FFF_ENTRY_LEN, sizeof e, e))
			return err_set(why, whylen, EV_EINVAL,
				       "FLIR record directory runs past its %llu bytes",
				       (unsigned long long)f.size);
		if (get16(e, be) == FFF_CAMERA_INFO) {
			ci_off = get32(e + 12, be);
			ci_len = get32(e + 16, be);
			break;
		}
	}
	if (!ci_len)
		return 0; /* no camera block: nothing of ours to read */
	if (ci_len < CI_END)
		return err_set(why, whylen, EV_EINVAL, "FLIR camera block is %u bytes (%d wanted)",
			       ci_len, CI_END);
	uint8_t c[CI_END];
	if (fff_copy(&f, ci_off, sizeof c, c))
		return err_set(why, whylen, EV_EINVAL, "FLIR camera block runs past the record");
	int cbe;
	if (get16(c, 1) == 2)
		cbe = 1;
	else if (get16(c, 0) == 2)
		cbe = 0;
	else
		return err_set(why, whylen, EV_EINVAL, "FLIR camera block has an unknown byte order");
	take_string(c + CI_MODEL, 32, out->model, sizeof out->model);
	take_string(c + CI_PART, 16, out->part, sizeof out->part);
	take_string(c + CI_SERIAL, 16, out->serial, sizeof out->serial);

	int64_t t = get32(c + CI_TIME, cbe);
	uint32_t ms = get32(c + CI_TIME + 4, cbe) & 0xffff;
	int west = (int16_t)get16(c + CI_TIME + 8, cbe);
	if (t == 0)
		return 0; /* the camera wrote no time */
	if (t < FLIR_MIN_T || t >= FLIR_MAX_T) {
		int y, mo, d, hh, mi, sec;
		time_to_civil(t, &y, &mo, &d, &hh, &mi, &sec);
		return err_set(why, whylen, EV_EINVAL,
			       "FLIR capture time %lld (%04d-%02d-%02d %02d:%02d:%02d UTC) is "
			       "not a date: it is outside 1990 to 2100 (a clock never set)",
			       (long long)t, y, mo, d, hh, mi, sec);
	}
	if (ms > 999)
		return err_set(why, whylen, EV_EINVAL,
			       "FLIR capture time has %u ms, more than 999: the record is not "
			       "read as a time", ms);
	if (west < -14 * 60 || west > 14 * 60)
		return err_set(why, whylen, EV_EINVAL,
			       "FLIR zone of %d minutes west of UTC is beyond 14 hours: the "
			       "record is not read as a time", west);
	out->has_time = 1;
	out->utc = t;
	out->ms = (int)ms;
	out->offset_s = -west * 60;
	return 0;
}
