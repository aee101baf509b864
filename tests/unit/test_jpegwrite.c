/*
 * Unit tests for the working-copy writer: copies of synthetic and real
 * JPEGs are checked by our own reader, by exiftool as an independent
 * reader (skipped when it is not installed), and byte by byte: every
 * segment but the Exif APP1, XMP included, and the image data unchanged.
 */
#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

#include "buf.h"
#include "jpeg.h"
#include "jpegwrite.h"
#include "meta.h"
#include "t.h"
#include "timeutil.h"

static const char CASE_NO[] = "嫩检公益立〔2023〕15号";

static const char XMP[] =
	"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description rdf:about=\"\" "
	"xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
	"drone-dji:GpsLatitude=\"+46.51\" drone-dji:GpsLongtitude=\"+125.12\" "
	"drone-dji:RelativeAltitude=\"+80.00\"/></rdf:RDF></x:xmpmeta>";

struct blob {
	uint8_t d[140000];
	size_t n;
};

static void put(struct blob *j, const void *p, size_t n)
{
	memcpy(j->d + j->n, p, n);
	j->n += n;
}

static void put_seg(struct blob *j, uint8_t marker, const void *p, size_t n)
{
	uint8_t h[4] = {0xFF, marker, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
	put(j, h, 4);
	put(j, p, n);
}

/* SOI, APP0 JFIF, [Exif APP1 with DateTimeOriginal and a comment of
 * `pad` bytes], XMP APP1, COM, SOF0, SOS, scan bytes, EOI. */
static void make_src(struct blob *j, int with_exif, size_t pad)
{
	static const uint8_t app0[] = "JFIF\0\1\1\0\0\1\0\1\0\0";
	static const uint8_t sof[] = {8, 0, 8, 0, 8, 1, 1, 0x11, 0};
	static const uint8_t sos[] = {1, 1, 0, 0, 63, 0};
	j->n = 0;
	put(j, "\xFF\xD8", 2);
	put_seg(j, 0xE0, app0, sizeof app0 - 1);
	if (with_exif) {
		/* II, IFD0: ExifIFD pointer; EXIF IFD: DateTimeOriginal and,
		 * with pad, an ImageDescription-sized UserComment */
		static uint8_t e[66000];
		size_t o = 0;
		memcpy(e, "Exif\0\0II*\0\x08\0\0\0", 14);
		o = 14;
		/* IFD0 at 8: 1 entry */
		uint8_t ifd0[] = {1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0};
		memcpy(e + o, ifd0, sizeof ifd0);
		o += sizeof ifd0; /* now at TIFF offset 26 */
		uint16_t cnt = pad ? 2 : 1;
		uint32_t data = 26 + 2 + 12 * cnt + 4;
		uint8_t ifd[2 + 24 + 4] = {(uint8_t)cnt, 0};
		uint8_t *q = ifd + 2;
		q[0] = 0x03, q[1] = 0x90, q[2] = 2, q[4] = 20;
		q[8] = (uint8_t)data, q[9] = (uint8_t)(data >> 8);
		if (pad) {
			q += 12;
			uint32_t at = data + 20;
			q[0] = 0x86, q[1] = 0x92, q[2] = 7;
			q[4] = (uint8_t)pad, q[5] = (uint8_t)(pad >> 8), q[6] = (uint8_t)(pad >> 16);
			q[8] = (uint8_t)at, q[9] = (uint8_t)(at >> 8);
		}
		memcpy(e + o, ifd, 2 + 12 * cnt + 4);
		o += 2 + 12 * cnt + 4;
		memcpy(e + o, "2023:05:01 10:03:04", 20);
		o += 20;
		if (pad) {
			memcpy(e + o, "ASCII\0\0\0", 8);
			memset(e + o + 8, 'x', pad - 8);
			o += pad;
		}
		put_seg(j, 0xE1, e, o);
	}
	static char x[1000];
	size_t xl = 29 + strlen(XMP);
	memcpy(x, "http://ns.adobe.com/xap/1.0/", 29);
	memcpy(x + 29, XMP, strlen(XMP));
	put_seg(j, 0xE1, x, xl);
	put_seg(j, 0xFE, "made by a test", 14);
	put_seg(j, 0xC0, sof, sizeof sof);
	put_seg(j, 0xDA, sos, sizeof sos);
	put(j, "\x12\x34\xFF\x00\x56\xFF\xD9", 7);
}

/* Every segment of a except its Exif APP1 appears, byte-identical and in
 * order, in b, and so does everything from SOS to the end. */
static void check_preserved(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	static struct jpeg_info ja, jb;
	char err[200];
	CHECK(jpeg_walk(a, an, &ja, err, sizeof err) == 0);
	CHECK(jpeg_walk(b, bn, &jb, err, sizeof err) == 0);
	CHECK(jb.has_exif);
	size_t k = 0;
	for (size_t i = 0; i < ja.nseg; i++) {
		if (ja.has_exif && i == ja.exif_seg)
			continue;
		if (k < jb.nseg && jb.has_exif && k == jb.exif_seg)
			k++;
		CHECK(k < jb.nseg);
		if (k >= jb.nseg)
			return;
		CHECK(ja.seg[i].length == jb.seg[k].length);
		CHECK(memcmp(a + ja.seg[i].offset, b + jb.seg[k].offset, ja.seg[i].length) == 0);
		k++;
	}
	CHECK(an - ja.sos_off == bn - jb.sos_off);
	CHECK(memcmp(a + ja.sos_off, b + jb.sos_off, an - ja.sos_off) == 0);
	CHECK(ja.has_xmp == jb.has_xmp);
	if (ja.has_xmp && jb.has_xmp)
		CHECK(ja.xmp_len == jb.xmp_len &&
		      memcmp(a + ja.xmp_off, b + jb.xmp_off, ja.xmp_len) == 0);
}

static int have_exiftool(void)
{
	return system("exiftool -ver >/dev/null 2>&1") == 0;
}

/* exiftool -n -json FILE as a JSON object (caller decrefs), or NULL. */
static json_t *exiftool_read(const uint8_t *p, size_t n)
{
	char path[] = "/tmp/evcap-jpegwrite-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	json_t *obj = NULL;
	if (write(fd, p, n) != (ssize_t)n) {
		close(fd);
		goto out;
	}
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "exiftool -n -json -G0 -a %s 2>/dev/null", path);
	FILE *f = popen(cmd, "r");
	if (!f)
		goto out;
	json_error_t je;
	json_t *arr = json_loadf(f, 0, &je);
	pclose(f);
	if (json_is_array(arr) && json_array_size(arr) == 1)
		obj = json_incref(json_array_get(arr, 0));
	json_decref(arr);
out:
	unlink(path);
	return obj;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* Reads a copy back with evcap and (when installed) with exiftool. */
static void check_copy(const uint8_t *p, size_t n, const struct jpeg_tags *t, const char *dto)
{
	struct meta m;
	CHECK(meta_read(p, n, n, "copy.jpg", &m) == 0);
	CHECK_STR(m.error, "");
	CHECK(m.has_exif_pos);
	CHECK_NEAR(m.exif_lat, t->lat, 1e-7);
	CHECK_NEAR(m.exif_lon, t->lon, 1e-7);
	CHECK(m.has_exif_alt);
	CHECK_NEAR(m.exif_alt, t->alt, 0.001);
	CHECK(m.has_gps_time);
	CHECK_NEAR(m.gps_time_t, t->utc, 0.001);
	CHECK_STR(m.gps_datum, "WGS-84");
	if (dto)
		CHECK_STR(m.camera_time, dto);

	if (!have_exiftool()) {
		printf("# exiftool not installed: independent read-back skipped\n");
		return;
	}
	json_t *o = exiftool_read(p, n);
	CHECK(o != NULL);
	if (!o)
		return;
	/* in the EXIF group the numbers are unsigned; the refs carry the sign */
	CHECK_NEAR(jnum(o, "EXIF:GPSLatitude") * (strcmp(jstr(o, "EXIF:GPSLatitudeRef"), "S") ? 1 : -1),
		   t->lat, 1e-6);
	CHECK_NEAR(jnum(o, "EXIF:GPSLongitude") * (strcmp(jstr(o, "EXIF:GPSLongitudeRef"), "W") ? 1 : -1),
		   t->lon, 1e-6);
	CHECK_NEAR(jnum(o, "Composite:GPSLatitude"), t->lat, 1e-6);
	CHECK_NEAR(jnum(o, "Composite:GPSLongitude"), t->lon, 1e-6);
	CHECK_NEAR(jnum(o, "EXIF:GPSAltitude") * (jnum(o, "EXIF:GPSAltitudeRef") == 1 ? -1 : 1),
		   t->alt, 0.001);
	CHECK_STR(jstr(o, "EXIF:GPSMapDatum"), "WGS-84");
	CHECK_STR(jstr(o, "EXIF:XPKeywords"), CASE_NO);
	CHECK_STR(jstr(o, "EXIF:XPComment"), CASE_NO);
	CHECK_STR(jstr(o, "EXIF:UserComment"), CASE_NO);
	if (dto)
		CHECK_STR(jstr(o, "EXIF:DateTimeOriginal"), dto);
	char date[32];
	int y, mo, d, h, mi, s;
	time_to_civil((int64_t)t->utc, &y, &mo, &d, &h, &mi, &s);
	snprintf(date, sizeof date, "%04d:%02d:%02d", y, mo, d);
	CHECK_STR(jstr(o, "EXIF:GPSDateStamp"), date);
	json_decref(o);
}

static struct blob SRC;

static void test_synthetic_with_exif(void)
{
	struct buf out;
	char err[200] = "";
	make_src(&SRC, 1, 0);
	struct jpeg_tags t = {.has_pos = 1, .lat = -33.868820, .lon = 151.209295,
			      .has_alt = 1, .alt = -12.345, .has_time = 1,
			      .utc = (double)time_from_civil(2023, 5, 1, 2, 3, 4) + 0.5,
			      .case_number = CASE_NO};
	buf_init(&out, 0);
	CHECK(jpeg_tag_copy(SRC.d, SRC.n, &t, &out, err, sizeof err) == 0);
	CHECK_STR(err, "");
	check_preserved(SRC.d, SRC.n, (const uint8_t *)out.data, out.len);
	check_copy((const uint8_t *)out.data, out.len, &t, "2023:05:01 10:03:04");
	/* the XMP still says what the drone said */
	struct meta m;
	CHECK(meta_read((const uint8_t *)out.data, out.len, out.len, "c.jpg", &m) == 0);
	CHECK(m.has_xmp_pos && m.xmp_lat == 46.51 && m.has_rel_alt);
	buf_free(&out);
}

static void test_synthetic_without_exif(void)
{
	struct buf out;
	char err[200] = "";
	make_src(&SRC, 0, 0);
	struct jpeg_tags t = {.has_pos = 1, .lat = 46.123456, .lon = -125.654321, .has_alt = 1,
			      .alt = 150.2, .has_time = 1, .utc = 1700000000,
			      .case_number = CASE_NO};
	buf_init(&out, 0);
	CHECK(jpeg_tag_copy(SRC.d, SRC.n, &t, &out, err, sizeof err) == 0);
	check_preserved(SRC.d, SRC.n, (const uint8_t *)out.data, out.len);
	/* JFIF's APP0 stays first; the new APP1 follows it */
	static struct jpeg_info ji;
	CHECK(jpeg_walk((const uint8_t *)out.data, out.len, &ji, err, sizeof err) == 0);
	CHECK(ji.seg[1].marker == JPEG_APP0 && ji.exif_seg == 2);
	check_copy((const uint8_t *)out.data, out.len, &t, NULL);
	buf_free(&out);
}

/* A JPEG rendered from another format: its EXIF comes from the block
 * given (here, the one make_src writes), with orientation and size set. */
static void test_given_exif(void)
{
	struct buf out;
	char err[200] = "";
	static struct blob with, without;
	static struct jpeg_info ji;
	make_src(&with, 1, 0);
	make_src(&without, 0, 0);
	CHECK(jpeg_walk(with.d, with.n, &ji, err, sizeof err) == 0 && ji.has_exif);
	struct jpeg_tags t = {.has_pos = 1, .lat = 46.5, .lon = 125.1, .has_time = 1,
			      .utc = 1682906584, .has_alt = 1, .alt = 151.5, .case_number = CASE_NO,
			      .exif = with.d + ji.exif_off, .exif_len = ji.exif_len,
			      .orientation = 1, .width = 300, .height = 400};
	buf_init(&out, 0);
	CHECK(jpeg_tag_copy(without.d, without.n, &t, &out, err, sizeof err) == 0);
	check_preserved(without.d, without.n, (const uint8_t *)out.data, out.len);
	check_copy((const uint8_t *)out.data, out.len, &t, "2023:05:01 10:03:04");
	struct meta m;
	CHECK(meta_read((const uint8_t *)out.data, out.len, out.len, "r.jpg", &m) == 0);
	CHECK(m.orientation == 1);
	CHECK_STR(m.camera_time, "2023:05:01 10:03:04");
	/* refused: a block for a JPEG that has its own, a block that is no
	 * APP1 payload, an orientation past 8 */
	CHECK(jpeg_tag_copy(with.d, with.n, &t, &out, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "has its own") != NULL && out.len == 0);
	struct jpeg_tags bad = t;
	bad.exif = (const uint8_t *)"II*\0\x08\0\0\0\0\0\0\0\0\0\0\0";
	bad.exif_len = 16;
	CHECK(jpeg_tag_copy(without.d, without.n, &bad, &out, err, sizeof err) == EV_EINVAL);
	bad = t;
	bad.orientation = 9;
	CHECK(jpeg_tag_copy(without.d, without.n, &bad, &out, err, sizeof err) == EV_EINVAL);
	buf_free(&out);
}

static void test_refusals(void)
{
	struct buf out;
	char err[200] = "";
	struct jpeg_tags t = {.has_pos = 1, .lat = 10, .lon = 20};
	buf_init(&out, 0);
	/* an EXIF block near the APP1 limit cannot grow */
	make_src(&SRC, 1, 65450);
	CHECK(jpeg_tag_copy(SRC.d, SRC.n, &t, &out, err, sizeof err) == EV_ELIMIT);
	CHECK(strstr(err, "APP1") != NULL && out.len == 0);
	/* damaged source */
	make_src(&SRC, 1, 0);
	CHECK(jpeg_tag_copy(SRC.d, 40, &t, &out, err, sizeof err) == EV_ECORRUPT);
	CHECK(strstr(err, "damaged") != NULL);
	/* bad values */
	struct jpeg_tags bad = {.has_pos = 1, .lat = 91, .lon = 0};
	CHECK(jpeg_tag_copy(SRC.d, SRC.n, &bad, &out, err, sizeof err) == EV_EINVAL);
	struct jpeg_tags badcase = {.case_number = "\xC3\x28"};
	CHECK(jpeg_tag_copy(SRC.d, SRC.n, &badcase, &out, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "UTF-8") != NULL);
	buf_free(&out);
}

/* The entry `tag` of the IFD at off in a TIFF block (II): its value or
 * offset, and its count; 0 when found. */
static int tiff_entry(const uint8_t *t, size_t len, uint32_t off, unsigned tag, uint32_t *value,
		      uint32_t *count)
{
	if ((size_t)off + 2 > len)
		return -1;
	unsigned n = t[off] | t[off + 1] << 8;
	for (unsigned i = 0; i < n && (size_t)off + 2 + 12 * (i + 1) <= len; i++) {
		const uint8_t *e = t + off + 2 + 12 * i;
		if ((unsigned)(e[0] | e[1] << 8) != tag)
			continue;
		*count = (uint32_t)e[4] | (uint32_t)e[5] << 8 | (uint32_t)e[6] << 16 |
			 (uint32_t)e[7] << 24;
		*value = (uint32_t)e[8] | (uint32_t)e[9] << 8 | (uint32_t)e[10] << 16 |
			 (uint32_t)e[11] << 24;
		return 0;
	}
	return -1;
}

/* A JPEG of one Exif APP1 holding the TIFF block tiff[0..n) and then
 * `tail` (its data), a frame and a scan. */
static void jpeg_of_tiff(struct blob *src, const uint8_t *tiff, size_t n, const void *tail,
			 size_t tail_len)
{
	static uint8_t e[400];
	static const uint8_t sof[] = {8, 0, 8, 0, 8, 1, 1, 0x11, 0};
	static const uint8_t sos[] = {1, 1, 0, 0, 63, 0};
	memcpy(e, "Exif\0\0", 6);
	memcpy(e + 6, tiff, n);
	memcpy(e + 6 + n, tail, tail_len);
	src->n = 0;
	put(src, "\xFF\xD8", 2);
	put_seg(src, 0xE1, e, 6 + n + tail_len);
	put_seg(src, 0xC0, sof, sizeof sof);
	put_seg(src, 0xDA, sos, sizeof sos);
	put(src, "\x12\x34\xFF\xD9", 4);
}

/* The TIFF block of a copy's Exif APP1 (*len bytes), or NULL. */
static const uint8_t *copy_tiff(const struct buf *out, size_t *len)
{
	static struct jpeg_info ji;
	char err[200];
	if (jpeg_walk((const uint8_t *)out->data, out->len, &ji, err, sizeof err) != 0 ||
	    !ji.has_exif || ji.exif_len < 6 + 8)
		return NULL;
	*len = ji.exif_len - 6;
	return (const uint8_t *)out->data + ji.exif_off + 6;
}

/* The tags the crafted-block tests write, and their copy's TIFF block
 * (NULL, the failure counted, where there is none) */
static const struct jpeg_tags crafted_tags = {.has_pos = 1, .lat = 30.5, .lon = 114.25,
					      .has_alt = 1, .alt = 20, .has_time = 1,
					      .utc = 1682906584, .case_number = CASE_NO};
static const uint8_t *crafted_copy(const struct blob *src, struct buf *out, size_t *len)
{
	char err[200] = "";
	buf_init(out, 0);
	CHECK(jpeg_tag_copy(src->d, src->n, &crafted_tags, out, err, sizeof err) == 0);
	const uint8_t *nt = copy_tiff(out, len);
	CHECK(nt != NULL);
	return nt;
}

/* A MakerNote whose own entries count from the start of the TIFF block
 * (Sony's, Canon's) reads right in the copy only if it stays at the same
 * offset: libexif, writing the block anew, moved it. The copy keeps the
 * original block where it was and appends what changes. */
static void test_maker_note_stays(void)
{
	struct buf out;
	static struct blob src;
	/* IFD0 at 8: ExifIFD -> 26. EXIF IFD at 26: DateTimeOriginal (20
	 * bytes at 56), MakerNote (16 bytes at 76); next IFD 0 */
	static const uint8_t tiff[] = {
		'I', 'I', 42, 0, 8, 0, 0, 0,
		1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0,
		2, 0, 0x03, 0x90, 2, 0, 20, 0, 0, 0, 56, 0, 0, 0,
		0x7C, 0x92, 7, 0, 16, 0, 0, 0, 76, 0, 0, 0, 0, 0, 0, 0};
	/* at 56 the date; at 76 a note pointing at its own data by TIFF
	 * offset 84 */
	static const char data[] = "2023:05:01 10:03:04\0SONY\x54\0\0\0note-data";
	jpeg_of_tiff(&src, tiff, sizeof tiff, data, 20 + 16);
	size_t nl = 0;
	const uint8_t *nt = crafted_copy(&src, &out, &nl);
	if (!nt)
		return;
	uint32_t ifd0 = (uint32_t)nt[4] | (uint32_t)nt[5] << 8, exif_ifd = 0, at = 0, count = 0;
	CHECK(tiff_entry(nt, nl, ifd0, 0x8769, &exif_ifd, &count) == 0);
	CHECK(tiff_entry(nt, nl, exif_ifd, 0x927C, &at, &count) == 0);
	CHECK(at == 76 && count == 16); /* where it was (was: moved by libexif) */
	CHECK(nl >= 92 && memcmp(nt + 76, "SONY\x54\0\0\0note-data", 16) == 0);
	CHECK(memcmp(nt + 84, "note-data", 8) == 0);
	check_copy((const uint8_t *)out.data, out.len, &crafted_tags, "2023:05:01 10:03:04");
	buf_free(&out);
}

/* A block written carelessly but read by every reader: a GPS pointer
 * stored as a SHORT, the GPS IFD at an odd offset, IFD0's next link back
 * at IFD0 itself, and a void GPS status. The block is kept (not handed to
 * libexif), the loop is not carried into the copy (it would show the old
 * IFD0 again as IFD1, its GPS with it), and the status goes with the
 * position evcap writes. */
static void test_careless_block(void)
{
	struct buf out;
	static struct blob src;
	/* IFD0 at 8 (2 entries, next 8: itself): ExifIFD LONG -> 38, GPS
	 * SHORT -> 57. EXIF IFD at 38: DateTimeOriginal -> 75. A pad byte at
	 * 56; GPS IFD at 57: GPSStatus "V". DateTimeOriginal at 75 */
	static const uint8_t tiff[] = {
		'I', 'I', 42, 0, 8, 0, 0, 0,
		2, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0,
		0x25, 0x88, 3, 0, 1, 0, 0, 0, 57, 0, 0, 0, 8, 0, 0, 0,
		1, 0, 0x03, 0x90, 2, 0, 20, 0, 0, 0, 75, 0, 0, 0, 0, 0, 0, 0,
		0,
		1, 0, 0x09, 0, 2, 0, 2, 0, 0, 0, 'V', 0, 0, 0, 0, 0, 0, 0};
	jpeg_of_tiff(&src, tiff, sizeof tiff, "2023:05:01 10:03:04", 20);
	size_t nl = 0;
	const uint8_t *nt = crafted_copy(&src, &out, &nl);
	if (!nt)
		return;
	/* kept: the old bytes are where they were */
	CHECK(nl > sizeof tiff && memcmp(nt + 8, tiff + 8, sizeof tiff - 8) == 0);
	uint32_t ifd0 = (uint32_t)nt[4] | (uint32_t)nt[5] << 8, gps = 0, v = 0, count = 0;
	CHECK(ifd0 > sizeof tiff && (size_t)ifd0 + 2 < nl);
	unsigned n0 = nt[ifd0] | nt[ifd0 + 1] << 8;
	const uint8_t *next = nt + ifd0 + 2 + 12 * n0;
	CHECK((size_t)(next - nt) + 4 <= nl && next[0] == 0 && next[1] == 0 && next[2] == 0 &&
	      next[3] == 0); /* was: 8, the old IFD0 */
	CHECK(tiff_entry(nt, nl, ifd0, 0x8825, &gps, &count) == 0);
	CHECK(gps != 57 && tiff_entry(nt, nl, gps, 0x0002, &v, &count) == 0); /* latitude */
	CHECK(tiff_entry(nt, nl, gps, 0x0009, &v, &count) != 0); /* no status 'V' */
	check_copy((const uint8_t *)out.data, out.len, &crafted_tags, "2023:05:01 10:03:04");
	buf_free(&out);
}

/* Real photos: Exif in place, maker notes, XMP, thumbnails. */
static void test_corpus_copies(void)
{
	const char *c = t_corpus();
	if (!c)
		T_SKIP("EVCAP_CORPUS not set and ../shared/corpus absent");
	static const char *files[] = {"photos/adobe-xmp-coords.jpg", "photos/exiftool-GPS.jpg",
				      "photos/Issue-508.jpg", "photos/HTC-Desire.jpg",
				      "gpscorrelate-staging/noexif.jpg"};
	int done = 0;
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", c, files[i]);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		static uint8_t b[1 << 20];
		size_t n = fread(b, 1, sizeof b, f);
		fclose(f);
		struct meta before;
		CHECK(meta_read(b, n, n, files[i], &before) == 0);
		struct jpeg_tags t = {.has_pos = 1, .lat = 22.543096 + i, .lon = 114.057865,
				      .has_alt = 1, .alt = 12.5, .has_time = 1,
				      .utc = 1683000000 + (double)i, .case_number = CASE_NO};
		struct buf out;
		char err[200] = "";
		buf_init(&out, 0);
		int rc = jpeg_tag_copy(b, n, &t, &out, err, sizeof err);
		if (rc) {
			printf("# %s: %s\n", files[i], err);
			CHECK(0);
		} else {
			int before_fail = t_fail_count;
			check_preserved(b, n, (const uint8_t *)out.data, out.len);
			check_copy((const uint8_t *)out.data, out.len, &t,
				   before.has_camera_time ? before.camera_time : NULL);
			if (t_fail_count != before_fail)
				printf("# ^ in %s\n", files[i]);
			done++;
		}
		buf_free(&out);
	}
	CHECK(done > 0);
}

int main(void)
{
	RUN(test_synthetic_with_exif);
	RUN(test_synthetic_without_exif);
	RUN(test_given_exif);
	RUN(test_refusals);
	RUN(test_maker_note_stays);
	RUN(test_careless_block);
	RUN(test_corpus_copies);
	T_EXIT();
}
