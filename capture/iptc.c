/*
 * IPTC capture dates from a JPEG's APP13 segment: a walk over Photoshop's
 * image resources to the IPTC-NAA one, then over its IIM datasets for the
 * record-2 dates. Every length is checked against what is left; the walks
 * are capped (iptc.h). A block split over several APP13 segments is joined
 * first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iptc.h"
#include "timeutil.h"

enum {
	RES_IPTC = 0x0404,
	DS_DATE_CREATED = 55,
	DS_TIME_CREATED = 60,
	DS_DIGITAL_DATE = 62,
	DS_DIGITAL_TIME = 63
};

static uint32_t be(const uint8_t *q, int bytes)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | q[i];
	return v;
}

static int all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A dataset's value as printable text for a message. */
static void shown(const uint8_t *v, size_t len, char out[24])
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < 24; i++)
		out[o++] = (v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"') ? (char)v[i] : '?';
	out[o] = '\0';
}

struct found {
	const uint8_t *v[64]; /* by dataset number, record 2 only; first of each */
	size_t len[64];
};

/* Walks the IIM datasets of d[0..n) into *f. */
static int walk_iim(const uint8_t *d, size_t n, struct found *f, char *err, size_t errlen)
{
	size_t off = 0;
	int k;
	for (k = 0; k < IPTC_MAX_DATASETS && off < n; k++) {
		/* Padding after the last dataset is not damage. */
		if (d[off] != 0x1C)
			return 0;
		if (n - off < 5) {
			snprintf(err, errlen, "IPTC dataset at byte %zu of its record is cut short",
				 off);
			return EV_ECORRUPT;
		}
		uint8_t rec = d[off + 1], ds = d[off + 2];
		uint64_t len = be(d + off + 3, 2);
		size_t hdr = 5;
		if (len & 0x8000) {
			/* The extended form: the next (len & 0x7FFF) bytes are the length. */
			size_t ll = (size_t)(len & 0x7FFF);
			if (ll == 0 || ll > 4 || n - off - 5 < ll) {
				snprintf(err, errlen,
					 "IPTC dataset %u:%u at byte %zu has a length that cannot "
					 "be read", rec, ds, off);
				return EV_ECORRUPT;
			}
			len = be(d + off + 5, (int)ll);
			hdr += ll;
		}
		if (len > n - off - hdr) {
			snprintf(err, errlen,
				 "IPTC dataset %u:%u at byte %zu says %llu bytes but only %zu "
				 "remain",
				 rec, ds, off, (unsigned long long)len, n - off - hdr);
			return EV_ECORRUPT;
		}
		if (rec == 2 && ds < 64 && !f->v[ds]) {
			f->v[ds] = d + off + hdr;
			f->len[ds] = (size_t)len;
		}
		off += hdr + (size_t)len;
	}
	if (k == IPTC_MAX_DATASETS && off < n && d[off] == 0x1C) {
		snprintf(err, errlen,
			 "IPTC record has more than %d datasets; those after byte %zu are not read",
			 IPTC_MAX_DATASETS, off);
		return EV_ELIMIT;
	}
	return 0;
}

/* A date dataset and its time dataset into x; 1 if taken, 0 if the pair is
 * not there (a date without a time says no moment), <0 if malformed. */
static int take_pair(const struct found *f, int dds, int tds, const char *dname,
		     const char *tname, struct iptc_info *x, char *err, size_t errlen)
{
	const uint8_t *dv = f->v[dds], *tv = f->v[tds];
	size_t dl = f->len[dds], tl = f->len[tds];
	char s[24], why[96];
	if (!dv || !tv)
		return 0;
	if (dl != 8 || !all_digits((const char *)dv, 8)) {
		shown(dv, dl, s);
		snprintf(err, errlen, "IPTC %s \"%s\" is not a date CCYYMMDD", dname, s);
		return EV_EINVAL;
	}
	/* tv[6] and on only when there are 11 bytes */
	int zone_ok = tl == 6 || (tl == 11 && (tv[6] == '+' || tv[6] == '-') &&
				  all_digits((const char *)tv + 7, 4));
	if ((tl != 6 && tl != 11) || !all_digits((const char *)tv, 6) || !zone_ok) {
		shown(tv, tl, s);
		snprintf(err, errlen, "IPTC %s \"%s\" is not a time HHMMSS+HHMM", tname, s);
		return EV_EINVAL;
	}
	char exif[20];
	snprintf(exif, sizeof exif, "%.4s:%.2s:%.2s %.2s:%.2s:%.2s", dv, dv + 4, dv + 6, tv, tv + 2,
		 tv + 4);
	int64_t t;
	if (time_parse_exif_why(exif, &t, why, sizeof why) != 0) {
		snprintf(err, errlen, "IPTC %s %.8s and %s %.6s are not a date and time: %s", dname,
			 dv, tname, tv, why);
		return EV_EINVAL;
	}
	int off = 0;
	if (tl == 11 && time_parse_zone((const char *)tv + 6, 5, &off) != 0) {
		snprintf(err, errlen, "IPTC %s zone %.5s is beyond 14 hours", tname, tv + 6);
		return EV_EINVAL;
	}
	x->has_time = 1;
	x->local = t;
	x->has_offset = tl == 11;
	x->offset_s = off;
	snprintf(x->from, sizeof x->from, "IPTC %s and %s", dname, tname);
	return 1;
}

int iptc_read(const uint8_t *p, size_t n, struct iptc_info *x, char *err, size_t errlen)
{
	char e[200] = "";
	int rc = 0;
	memset(x, 0, sizeof *x);
	if (n < IPTC_APP13_HEADER_LEN || memcmp(p, IPTC_APP13_HEADER, IPTC_APP13_HEADER_LEN) != 0)
		goto out;
	size_t off = IPTC_APP13_HEADER_LEN;
	int k;
	for (k = 0; k < IPTC_MAX_RESOURCES && off < n; k++) {
		size_t at = off;
		/* signature, id, the name's length byte */
		if (n - off < 7 || memcmp(p + off, "8BIM", 4) != 0)
			break; /* padding, or resources of a kind not read */
		uint32_t id = be(p + off + 4, 2);
		size_t name = 1 + (size_t)p[off + 6];
		name += name & 1;
		off += 6;
		if (n - off < name + 4) {
			snprintf(e, sizeof e, "APP13 image resource at byte %zu is cut short", at);
			rc = EV_ECORRUPT;
			goto out;
		}
		off += name;
		uint64_t size = be(p + off, 4);
		off += 4;
		if (size > n - off) {
			snprintf(e, sizeof e,
				 "APP13 image resource 0x%04X at byte %zu says %llu bytes but only "
				 "%zu remain", (unsigned)id, at, (unsigned long long)size, n - off);
			rc = EV_ECORRUPT;
			goto out;
		}
		if (id == RES_IPTC) {
			struct found f;
			memset(&f, 0, sizeof f);
			x->found = 1;
			rc = walk_iim(p + off, (size_t)size, &f, e, sizeof e);
			if (rc != 0)
				goto out;
			int r = take_pair(&f, DS_DATE_CREATED, DS_TIME_CREATED, "DateCreated",
					  "TimeCreated", x, e, sizeof e);
			if (r == 0)
				r = take_pair(&f, DS_DIGITAL_DATE, DS_DIGITAL_TIME,
					      "DigitalCreationDate", "DigitalCreationTime", x, e,
					      sizeof e);
			rc = r < 0 ? r : 0;
			goto out;
		}
		off += (size_t)size + (size & 1);
	}
	if (k == IPTC_MAX_RESOURCES && off < n && n - off >= 4 && memcmp(p + off, "8BIM", 4) == 0) {
		snprintf(e, sizeof e,
			 "APP13 has more than %d image resources; those after byte %zu are not "
			 "read", IPTC_MAX_RESOURCES, off);
		rc = EV_ELIMIT;
	}
out:
	if (err && errlen)
		snprintf(err, errlen, "%s", e);
	return rc;
}

/* An APP13 holding image resources, within p[0..n). */
static int is_photoshop(const uint8_t *p, size_t n, const struct jpeg_segment *sg)
{
	return sg->marker == 0xED && sg->payload_off <= n &&
	       sg->payload_len <= n - sg->payload_off && sg->payload_len >= IPTC_APP13_HEADER_LEN &&
	       memcmp(p + sg->payload_off, IPTC_APP13_HEADER, IPTC_APP13_HEADER_LEN) == 0;
}

int iptc_read_jpeg(const uint8_t *p, size_t n, const struct jpeg_info *ji, struct iptc_info *x,
		   char *err, size_t errlen)
{
	size_t first = 0, end, total = 0;
	memset(x, 0, sizeof *x);
	if (err && errlen)
		err[0] = '\0';
	while (first < ji->nseg && !is_photoshop(p, n, &ji->seg[first]))
		first++;
	if (first == ji->nseg)
		return 0;
	/* The run: the segments right after the first that open with the
	 * header too. Each lies within p[0..n), so total <= n. */
	for (end = first; end < ji->nseg && is_photoshop(p, n, &ji->seg[end]); end++)
		total += ji->seg[end].payload_len - (end > first ? IPTC_APP13_HEADER_LEN : 0);
	if (end - first == 1)
		return iptc_read(p + ji->seg[first].payload_off, ji->seg[first].payload_len, x, err,
				 errlen);
	uint8_t *joined = xmalloc(total);
	size_t at = 0;
	for (size_t i = first; i < end; i++) {
		const struct jpeg_segment *sg = &ji->seg[i];
		size_t skip = i > first ? IPTC_APP13_HEADER_LEN : 0;
		memcpy(joined + at, p + sg->payload_off + skip, sg->payload_len - skip);
		at += sg->payload_len - skip;
	}
	int rc = iptc_read(joined, total, x, err, errlen);
	free(joined);
	if (rc != 0 && err && errlen) {
		size_t l = strlen(err);
		snprintf(err + l, errlen - l,
			 " (bytes counted through the %zu APP13 segments joined)", end - first);
	}
	return rc;
}
