/*
 * Unit tests for the JPEG segment walker: JPEGs assembled byte by byte in
 * the test, including lying lengths, fill bytes, standalone markers, stray
 * bytes and every truncation, each run from an exact-size heap copy so the
 * sanitizers catch any read past the end.
 */
#include <stdint.h>

#include "jpeg.h"
#include "t.h"

struct jb {
	uint8_t d[200000];
	size_t n;
};

static void put(struct jb *j, const void *p, size_t n)
{
	memcpy(j->d + j->n, p, n);
	j->n += n;
}

static void put_seg(struct jb *j, uint8_t marker, const void *payload, size_t n)
{
	uint8_t h[4] = {0xFF, marker, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
	put(j, h, 4);
	put(j, payload, n);
}

/* SOI, APP0, Exif APP1, XMP APP1, SOF0 (w x h), DHT-ish filler, SOS, data, EOI. */
static void build_basic(struct jb *j, int w, int h)
{
	static const uint8_t soi[] = {0xFF, 0xD8};
	static const uint8_t app0[] = "JFIF\0\1\1\0\0\1\0\1\0\0";
	static const uint8_t exif[] = "Exif\0\0MM\0*\0\0\0\x08\0\0\0\0\0\0";
	static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
	uint8_t sof[] = {8, (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)(w >> 8), (uint8_t)w, 1, 1, 0x11, 0};
	static const uint8_t sos[] = {1, 1, 0, 0, 63, 0};
	static const uint8_t data[] = {0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9};
	j->n = 0;
	put(j, soi, 2);
	put_seg(j, 0xE0, app0, sizeof app0 - 1);
	put_seg(j, 0xE1, exif, sizeof exif - 1);
	put_seg(j, 0xE1, xmp, sizeof xmp - 1);
	put_seg(j, 0xC0, sof, sizeof sof);
	put_seg(j, 0xDA, sos, sizeof sos);
	put(j, data, sizeof data);
}

/* Walks an exact-size heap copy of p[0..n). */
static int walk_copy(const uint8_t *p, size_t n, struct jpeg_info *ji, char *err, size_t errlen)
{
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, p, n);
	int rc = jpeg_walk(c, n, ji, err, errlen);
	free(c);
	return rc;
}

static struct jb J;
static struct jpeg_info JI;

static void test_walk_basic(void)
{
	char err[200] = "";
	build_basic(&J, 640, 480);
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == 0);
	CHECK(JI.reached_sos);
	CHECK(JI.nseg == 6);
	CHECK(JI.seg[0].marker == 0xD8 && JI.seg[1].marker == 0xE0 && JI.seg[5].marker == 0xDA);
	CHECK(JI.has_exif && JI.exif_seg == 2);
	CHECK(memcmp(J.d + JI.exif_off, "Exif\0\0MM", 8) == 0);
	CHECK(JI.exif_len == 20);
	CHECK(JI.has_xmp && JI.xmp_seg == 3);
	CHECK(JI.xmp_len == strlen("<x:xmpmeta/>"));
	CHECK(memcmp(J.d + JI.xmp_off, "<x:xmpmeta/>", JI.xmp_len) == 0);
	CHECK(JI.has_sof && JI.width == 640 && JI.height == 480);
	/* segments tile the header exactly */
	for (size_t i = 1; i < JI.nseg; i++)
		CHECK(JI.seg[i].offset == JI.seg[i - 1].offset + JI.seg[i - 1].length);
}

static void test_not_jpeg(void)
{
	char err[200] = "";
	static const uint8_t png[] = "\x89PNG\r\n\x1a\n";
	CHECK(walk_copy(png, 8, &JI, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "SOI") != NULL);
	CHECK(walk_copy(png, 0, &JI, err, sizeof err) == EV_EINVAL);
}

static void test_truncated_everywhere(void)
{
	char err[200];
	build_basic(&J, 64, 64);
	size_t sos_end = 0;
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == 0);
	sos_end = JI.seg[JI.nseg - 1].offset + JI.seg[JI.nseg - 1].length;
	for (size_t k = 0; k < sos_end; k++) {
		err[0] = '\0';
		int rc = walk_copy(J.d, k, &JI, err, sizeof err);
		if (rc == 0 || err[0] == '\0') {
			printf("# truncation at %zu: rc %d, err \"%s\"\n", k, rc, err);
			CHECK(0);
		}
		CHECK(!JI.reached_sos);
	}
}

static void test_lying_length(void)
{
	char err[200] = "";
	build_basic(&J, 64, 64);
	/* The Exif APP1 (third segment, at 2 + 18) claims 60000 bytes. */
	size_t at = 2 + 18;
	CHECK(J.d[at + 1] == 0xE1);
	J.d[at + 2] = 0xEA;
	J.d[at + 3] = 0x60;
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == EV_ECORRUPT);
	CHECK(strstr(err, "FF E1") != NULL && strstr(err, "remain") != NULL);
	CHECK(JI.has_exif && JI.exif_truncated);
	CHECK(JI.exif_off + JI.exif_len == J.n);
	/* A length below 2 is impossible. */
	J.d[at + 2] = 0;
	J.d[at + 3] = 1;
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == EV_ECORRUPT);
	CHECK(strstr(err, "impossible length") != NULL);
}

static void test_fill_and_standalone(void)
{
	char err[200] = "";
	static const uint8_t f[] = {0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB,
				    0xFF, 0x01, 0xFF, 0xD3, 0xFF, 0xFF, 0xDA, 0x00, 0x02, 0x00};
	CHECK(walk_copy(f, sizeof f, &JI, err, sizeof err) == 0);
	CHECK(JI.nseg == 5);
	CHECK(JI.seg[1].marker == 0xE0 && JI.seg[1].offset == 4 && JI.seg[1].length == 6);
	CHECK(JI.seg[2].marker == 0x01 && JI.seg[2].length == 2);
	CHECK(JI.seg[3].marker == 0xD3);
	CHECK(JI.seg[4].marker == 0xDA && JI.sos_off == 15);
}

static void test_eoi_and_stray(void)
{
	char err[200] = "";
	static const uint8_t e[] = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x03, 'x', 0xFF, 0xD9};
	CHECK(walk_copy(e, sizeof e, &JI, err, sizeof err) == 0);
	CHECK(JI.reached_eoi && !JI.reached_sos);
	/* two stray bytes after a segment (as in a real phone file) */
	static const uint8_t s[] = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x03, 'x', '?', '>',
				    0xFF, 0xDA, 0x00, 0x02};
	CHECK(walk_copy(s, sizeof s, &JI, err, sizeof err) == 0);
	CHECK(JI.stray_bytes == 2 && JI.stray_at == 7 && JI.reached_sos);
	/* a long run of junk is damage */
	uint8_t junk[600];
	memset(junk, 0x11, sizeof junk);
	memcpy(junk, e, 7);
	CHECK(walk_copy(junk, sizeof junk, &JI, err, sizeof err) == EV_ECORRUPT);
	CHECK(strstr(err, "where a marker should be") != NULL);
	/* an invalid marker FF 00 outside a scan */
	static const uint8_t z[] = {0xFF, 0xD8, 0xFF, 0x00, 0x00};
	CHECK(walk_copy(z, sizeof z, &JI, err, sizeof err) == EV_ECORRUPT);
}

static void test_segment_cap(void)
{
	char err[200] = "";
	J.n = 0;
	put(&J, "\xFF\xD8", 2);
	for (int i = 0; i < JPEG_MAX_SEGMENTS + 10; i++)
		put_seg(&J, 0xFE, "c", 1);
	put_seg(&J, 0xDA, "\0", 1);
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == EV_ELIMIT);
	CHECK(JI.nseg == JPEG_MAX_SEGMENTS);
	CHECK(strstr(err, "more than") != NULL);
}

static void test_first_exif_only(void)
{
	char err[200] = "";
	J.n = 0;
	put(&J, "\xFF\xD8", 2);
	put_seg(&J, 0xE1, "Exif\0\0AAAAAAAA", 14);
	put_seg(&J, 0xE1, "Exif\0\0BBBBBBBB", 14);
	put_seg(&J, 0xE1, "Exif\0", 5); /* too short to count */
	put_seg(&J, 0xDA, "\0", 1);
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == 0);
	CHECK(JI.has_exif && J.d[JI.exif_off + 6] == 'A');
	CHECK(!JI.has_sof && !JI.has_xmp);
	CHECK(jpeg_is_sof(0xC0) && jpeg_is_sof(0xC2) && !jpeg_is_sof(0xC4) && !jpeg_is_sof(0xCC));
}

/* jpeg_cut_in_scan over an exact-size heap copy of the last
 * JPEG_TAIL_MAX bytes of p[0..n), as ingest keeps them. */
static int cut_tail(const uint8_t *p, size_t n, size_t scan_off)
{
	size_t k = n < JPEG_TAIL_MAX ? n : JPEG_TAIL_MAX;
	uint8_t *c = malloc(k ? k : 1);
	memcpy(c, p + n - k, k);
	int cut = jpeg_cut_in_scan(scan_off, n, c, k);
	free(c);
	return cut;
}

/* Image data that reads like a real scan: n pseudo-random bytes, each FF
 * stuffed with a 00, a restart marker every 4 KiB; at d + *at. */
static void put_scan(uint8_t *d, size_t *at, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		uint8_t b = (uint8_t)(seed >> 16);
		d[(*at)++] = b;
		if (b == 0xFF)
			d[(*at)++] = 0x00;
		if (i % 4096 == 4095) {
			d[(*at)++] = 0xFF;
			d[(*at)++] = (uint8_t)(0xD0 + (i / 4096) % 8);
		}
	}
}

/* A photo of about 180 KB (its image data starts before the tail) in d:
 * head, scan, EOI; *data_end is where the scan ends. Returns its size. */
static size_t build_big(uint8_t *d, const uint8_t *head, size_t off, size_t *data_end)
{
	size_t n = off;
	memcpy(d, head, off);
	put_scan(d, &n, 180000, 7);
	*data_end = n;
	d[n++] = 0xFF;
	d[n++] = JPEG_EOI;
	return n;
}

static void test_cut_in_scan(void)
{
	char err[200];
	/* a small JPEG, all in the tail: exact at every cut after the SOS
	 * header, whole only with its EOI */
	build_basic(&J, 64, 48);
	CHECK(walk_copy(J.d, J.n, &JI, err, sizeof err) == 0);
	size_t off = JI.scan_off;
	CHECK(off == JI.sos_off + JI.seg[JI.nseg - 1].length && off < J.n);
	CHECK(!cut_tail(J.d, J.n, off));
	for (size_t k = off; k < J.n; k++)
		if (!cut_tail(J.d, k, off)) {
			printf("# cut at %zu of %zu not found\n", k, J.n);
			CHECK(0);
		}
	/* cut before the image data: the walk says so; nothing more here */
	CHECK(!cut_tail(J.d, off - 1, off));
	CHECK(!jpeg_cut_in_scan(0, J.n, J.d, J.n));
	CHECK(!jpeg_cut_in_scan(off, J.n, J.d, J.n + 1));

	size_t cap = 400000, data_end;
	uint8_t *d = malloc(cap);
	size_t whole = build_big(d, J.d, off, &data_end);
	CHECK(whole + 150000 < cap);
	CHECK(!cut_tail(d, whole, off));
	CHECK(cut_tail(d, whole / 2, off));
	CHECK(cut_tail(d, data_end, off));
	CHECK(cut_tail(d, data_end + 1, off)); /* the FF of the EOI, not its D9 */
	/* a progressive JPEG's next scan header in the tail reads as scan data */
	static const uint8_t dht[] = {0xFF, 0xC4, 0x00, 0x03, 0x10, 0xFF, 0xDA, 0x00, 0x02};
	memcpy(d + whole / 2, dht, sizeof dht);
	CHECK(cut_tail(d, whole / 2 + sizeof dht, off));
	/* bytes no scan holds (FF 12): not called cut */
	d[whole / 2] = 0xFF;
	d[whole / 2 + 1] = 0x12;
	CHECK(!cut_tail(d, whole / 2 + sizeof dht, off));

	/* whatever follows the EOI: zero padding, short or long; a motion
	 * photo's video; a maker's trailer */
	whole = build_big(d, J.d, off, &data_end);
	memset(d + whole, 0, 150000);
	CHECK(!cut_tail(d, whole + 1000, off));
	CHECK(!cut_tail(d, whole + 150000, off));
	uint32_t seed = 99;
	for (size_t i = 0; i < 150000; i++) {
		seed = seed * 1103515245u + 12345u;
		d[whole + i] = (uint8_t)(seed >> 16);
	}
	memcpy(d + whole + 4, "ftypisom", 8);
	CHECK(!cut_tail(d, whole + 150000, off));
	for (size_t i = 0; i < 150000; i++)
		d[whole + i] = (uint8_t)("Image_UTC_Data1700000000000 SEFH"[i % 32]);
	CHECK(!cut_tail(d, whole + 150000, off));
	free(d);
}

int main(void)
{
	RUN(test_walk_basic);
	RUN(test_not_jpeg);
	RUN(test_truncated_everywhere);
	RUN(test_lying_length);
	RUN(test_fill_and_standalone);
	RUN(test_eoi_and_stray);
	RUN(test_segment_cap);
	RUN(test_first_exif_only);
	RUN(test_cut_in_scan);
	T_EXIT();
}
