/*
 * Unit tests of the export formats and their helpers: GCJ-02 against a
 * published reference value, CSV and XML escaping, local times, labels,
 * the SVG map, JPEG thumbnails (decoded back with libjpeg), and each
 * format over a hand-built context with one located and one unlocated
 * item, parsed back with jansson and libxml2.
 */
#include <stdio.h>
/* jpeglib.h wants FILE declared first */
#include <jpeglib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "export.h"
#include "gcj02.h"
#include "svgmap.h"
#include "t.h"
#include "thumb.h"

static void test_gcj02(void)
{
	double la, lo;
	/* the reference pair published with the common implementations */
	gcj02_from_wgs84(39.915, 116.404, &la, &lo);
	CHECK_NEAR(la, 39.91640428150164, 1e-7);
	CHECK_NEAR(lo, 116.41024449916938, 1e-7);
	/* Nenjiang: the shift is a few hundred metres, never zero */
	gcj02_from_wgs84(47.18, 123.63, &la, &lo);
	double d = track_distance_m(47.18, 123.63, la, lo);
	CHECK(d > 100 && d < 900);
	/* outside China nothing moves */
	gcj02_from_wgs84(51.5, -0.12, &la, &lo);
	CHECK(la == 51.5 && lo == -0.12);
	CHECK(!gcj02_applies(NAN, 120));
	CHECK(gcj02_applies(30, 120));
}

static const char *csv(const char *s)
{
	static struct buf b;
	buf_free(&b);
	buf_init(&b, 4096);
	if (export_put_csv(&b, s))
		return "(error)";
	return b.data;
}

static void test_csv_field(void)
{
	CHECK_STR(csv("plain"), "plain");
	CHECK_STR(csv("a,b"), "\"a,b\"");
	CHECK_STR(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
	CHECK_STR(csv("two\r\nlines"), "\"two\r\nlines\"");
	CHECK_STR(csv("嫩检公益立〔2023〕15号"), "嫩检公益立〔2023〕15号");
	/* formulas from a card's file names are defused */
	CHECK_STR(csv("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
	CHECK_STR(csv("@SUM(A1)"), "'@SUM(A1)");
	CHECK_STR(csv("-cmd|x"), "'-cmd|x");
	/* a leading TAB or CR is one too (OWASP): Excel skips it and runs the rest */
	CHECK_STR(csv("\t=1+2"), "'\t=1+2");
	CHECK_STR(csv("\r@SUM(1)"), "\"'\r@SUM(1)\"");
	CHECK_STR(csv("\t"), "'\t");
	/* offsets are text Excel would turn into a time of day, a row range
	 * ("+1:1") or an error: kept as text; a plain signed number passes */
	CHECK_STR(csv("-07:00"), "'-07:00");
	CHECK_STR(csv("+08:00"), "'+08:00");
	CHECK_STR(csv("+1:1"), "'+1:1");
	CHECK_STR(csv("-1,2"), "\"'-1,2\"");
	CHECK_STR(csv("-1 2"), "'-1 2");
	CHECK_STR(csv("-12.5"), "-12.5");
	CHECK_STR(csv("+5"), "+5");
	CHECK_STR(csv("-.5"), "-.5");
	CHECK_STR(csv("-"), "'-");
	CHECK_STR(csv("+."), "'+.");
	CHECK_STR(csv("-1.2.3"), "'-1.2.3");
	CHECK_STR(csv("a\t=1"), "a\t=1");
	/* an apostrophe of the field's own gets a second: the first is
	 * always the guard, and taking it off gives the text back */
	CHECK_STR(csv("'=1+2"), "''=1+2");
	CHECK_STR(csv("'quoted'"), "''quoted'");
	CHECK_STR(csv("it's"), "it's");
	/* what is not text is shown as names are, \xNN a byte, never
	 * replaced by U+FFFD, which would lose which byte it was */
	CHECK_STR(csv("bad\xff"), "bad\\xFF");
	CHECK_STR(csv("n\x05\x7f\xc2\x85"), "n\\x05\\x7F\\xC2\\x85");
	CHECK_STR(csv("\x01=1+2"), "\\x01=1+2");
	CHECK_STR(csv("\xef\xbf\xbf"), "\\xEF\\xBF\\xBF");
	CHECK_STR(csv(" lead"), "\" lead\"");
	csv(NULL);
}

static const char *inst_text(const char *json, enum export_lang lang)
{
	static struct buf b;
	json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
	buf_free(&b);
	buf_init(&b, 4096);
	int rc = export_instrument_text(j, lang, &b);
	json_decref(j);
	return rc ? "(error)" : b.data;
}

/* The instrument in plain words, whatever facts the profile had. */
static void test_instrument_text(void)
{
	const char *all = "{\"model\":\"M\",\"name\":\"probex\",\"serial\":\"S\","
			  "\"calibrated\":\"2024-04-30\"}";
	CHECK_STR(inst_text(all, EXPORT_LANG_EN),
		  "probex (model M, serial S, calibrated 2024-04-30)");
	CHECK_STR(inst_text(all, EXPORT_LANG_ZH),
		  "probex（型号 M，序列号 S，校准日期 2024-04-30）");
	CHECK_STR(inst_text("{\"name\":\"probex\"}", EXPORT_LANG_EN), "probex");
	CHECK_STR(inst_text("{\"serial\":\"S\",\"model\":\"M\"}", EXPORT_LANG_EN),
		  "model M, serial S");
	CHECK_STR(inst_text("{\"name\":\"p\",\"range\":\"0-20\",\"n\":3}", EXPORT_LANG_EN),
		  "p (range 0-20, n 3)");
	CHECK_STR(inst_text("{\"name\":\"p\",\"model\":\"\"}", EXPORT_LANG_EN), "p");
	CHECK_STR(inst_text("\"old-name\"", EXPORT_LANG_EN), "old-name");
	CHECK_STR(inst_text("null", EXPORT_LANG_EN), "");
	CHECK_STR(inst_text("[1]", EXPORT_LANG_EN), "");
}

static void test_xml_escape(void)
{
	struct buf b;
	buf_init(&b, 4096);
	CHECK(export_put_xml(&b, "<a href='x'>&\"\x01</a>") == 0);
	CHECK_STR(b.data, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\\x01&lt;/a&gt;");
	buf_reset(&b);
	CHECK(export_put_xml(&b, "张三 \xc3") == 0);
	CHECK_STR(b.data, "张三 \\xC3");
	/* XML 1.0 allows neither U+FFFE nor U+FFFF: a document holding
	 * one is not well-formed; a CR stays one */
	buf_reset(&b);
	CHECK(export_put_xml(&b, "a\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd\r\n\t\xc2\x9b") == 0);
	CHECK_STR(b.data, "a\\xEF\\xBF\\xBE\\xEF\\xBF\\xBF\xef\xbf\xbd&#13;\n\t\\xC2\\x9B");
	/* a text-direction character would turn what follows around:
	 * "S-4-321" for the sample S-123-4 */
	buf_reset(&b);
	CHECK(export_put_xml(&b, "S-\xe2\x80\xae" "123-4\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c水") == 0);
	CHECK_STR(b.data, "S-\\xE2\\x80\\xAE123-4\\xE2\\x81\\xA6\\xE2\\x80\\x8F\\xD8\\x9C水");
	buf_reset(&b);
	CHECK(export_put_csv(&b, "DJI_0001\xe2\x80\xaeGPJ.exe") == 0);
	CHECK_STR(b.data, "DJI_0001\\xE2\\x80\\xAEGPJ.exe");
	buf_free(&b);
	/* GeoJSON's: only those, a backslash and a control left to JSON */
	char *e = export_direction_escape("a\\\x01\xe2\x80\xae水\xe2\x80");
	CHECK_STR(e, "a\\\x01\\xE2\\x80\\xAE水\xe2\x80");
	free(e);
}

static void test_local_time(void)
{
	char out[40];
	CHECK(export_local_time("2023-05-01T02:00:00Z", 8 * 3600, out) == 0);
	CHECK_STR(out, "2023-05-01 10:00:00 +08:00");
	CHECK(export_local_time("2023-05-01T20:30:05Z", 8 * 3600, out) == 0);
	CHECK_STR(out, "2023-05-02 04:30:05 +08:00");
	CHECK(export_local_time("2018-06-08T20:24:10Z", -7 * 3600, out) == 0);
	CHECK_STR(out, "2018-06-08 13:24:10 -07:00");
	CHECK(export_local_time("not a time", 0, out) != 0);
	CHECK(export_local_time(NULL, 0, out) != 0);
	json_t *it = json_pack("{s:s}", "tz_offset", "-04:00");
	CHECK(export_item_offset(it) == -4 * 3600);
	json_object_set_new(it, "tz_offset", json_null());
	CHECK(export_item_offset(it) == 8 * 3600);
	json_decref(it);
}

static void test_i18n(void)
{
	CHECK(i18n_pick("zh") == EXPORT_LANG_ZH);
	CHECK(i18n_pick("en") == EXPORT_LANG_EN);
	CHECK(i18n_pick("zh_CN.UTF-8") == EXPORT_LANG_ZH);
	CHECK(i18n_pick("fr") == -1);
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	setenv("LANG", "zh_CN.UTF-8", 1);
	CHECK(i18n_pick(NULL) == EXPORT_LANG_ZH);
	setenv("LC_ALL", "en_US.UTF-8", 1);
	CHECK(i18n_pick(NULL) == EXPORT_LANG_EN);
	unsetenv("LC_ALL");
	unsetenv("LANG");
	CHECK(i18n_pick(NULL) == EXPORT_LANG_ZH);
	CHECK_STR(i18n_label(EXPORT_LANG_ZH, "seq"), "序号");
	CHECK_STR(i18n_label(EXPORT_LANG_EN, "seq"), "No.");
	CHECK_STR(i18n_label(EXPORT_LANG_EN, "no-such-label"), "no-such-label");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_svgmap(void)
{
	CHECK(svgmap_nice_length(740) == 500);
	CHECK(svgmap_nice_length(1999) == 1000);
	CHECK(svgmap_nice_length(2.5) == 2);
	CHECK(svgmap_nice_length(0) == 1);
	struct svgmap_point pts[3] = {{47.18, 123.63, 1}, {47.181, 123.632, 2}, {NAN, 1, 3}};
	struct track trk;
	track_init(&trk);
	for (int i = 0; i < 5; i++) {
		struct fix f = {1000.0 + i, 47.179 + i * 0.001, 123.629 + i * 0.001, 150, 3, 5, 8};
		track_push(&trk, &f);
	}
	struct buf b;
	buf_init(&b, 1 << 20);
	CHECK(svgmap_render(pts, 3, &trk, 1, 600, 400, "cap", "empty", &b) == 0);
	CHECK(strncmp(b.data, "<svg", 4) == 0);
	CHECK(count(b.data, "<circle") == 2); /* the NaN point is not drawn */
	CHECK(count(b.data, "<polyline") == 1);
	CHECK(strstr(b.data, "http") == NULL);
	CHECK(strstr(b.data, "</svg>") != NULL);
	buf_reset(&b);
	CHECK(svgmap_render(NULL, 0, NULL, 0, 600, 400, NULL, "nothing here", &b) == 0);
	CHECK(strstr(b.data, "nothing here") != NULL);
	CHECK(count(b.data, "<circle") == 0);
	buf_free(&b);
	track_free(&trk);
}

/* A w x h test JPEG with a bright left half, so orientation shows. */
static void make_jpeg(int w, int h, struct buf *out)
{
	unsigned char *mem = NULL;
	unsigned long len = 0;
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *row = xmalloc((size_t)w * 3);
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem, &len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	for (int x = 0; x < w; x++)
		memset(row + x * 3, x < w / 2 ? 240 : 20, 3);
	while (c.next_scanline < c.image_height)
		jpeg_write_scanlines(&c, &row, 1);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	if (buf_append(out, mem, len))
		abort();
	free(mem);
	free(row);
}

/* Decodes a JPEG's size and the brightness of its top-left pixel. */
static int jpeg_probe(const struct buf *b, int *w, int *h, int *tl)
{
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr e;
	d.err = jpeg_std_error(&e);
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, (const unsigned char *)b->data, b->len);
	if (jpeg_read_header(&d, TRUE) != JPEG_HEADER_OK) {
		jpeg_destroy_decompress(&d);
		return -1;
	}
	d.out_color_space = JCS_RGB;
	jpeg_start_decompress(&d);
	*w = (int)d.output_width;
	*h = (int)d.output_height;
	unsigned char *row = xmalloc((size_t)*w * 3);
	jpeg_read_scanlines(&d, &row, 1);
	*tl = row[0];
	free(row);
	jpeg_abort_decompress(&d);
	jpeg_destroy_decompress(&d);
	return 0;
}

static void test_thumb(void)
{
	struct buf src, th;
	char err[256];
	int w, h, tl;
	buf_init(&src, 8 << 20);
	buf_init(&th, 8 << 20);
	make_jpeg(1600, 1200, &src);
	CHECK(thumb_jpeg((const uint8_t *)src.data, src.len, 200, 1, "a.jpg", &th, err, sizeof err) == 0);
	CHECK(jpeg_probe(&th, &w, &h, &tl) == 0);
	CHECK(w == 200 && h == 150);
	CHECK(tl > 200); /* bright half stays on the left */
	/* orientation 6: the camera was turned; the thumbnail stands upright */
	buf_reset(&th);
	CHECK(thumb_jpeg((const uint8_t *)src.data, src.len, 200, 6, "a.jpg", &th, err, sizeof err) == 0);
	CHECK(jpeg_probe(&th, &w, &h, &tl) == 0);
	CHECK(w == 150 && h == 200);
	CHECK(tl > 200); /* turned clockwise, the bright left half is now on top... */
	buf_reset(&th);
	CHECK(thumb_jpeg((const uint8_t *)src.data, src.len, 200, 8, "a.jpg", &th, err, sizeof err) == 0);
	CHECK(jpeg_probe(&th, &w, &h, &tl) == 0);
	CHECK(tl < 60); /* ...and at the bottom when turned the other way */
	/* a small image is not enlarged */
	buf_reset(&src);
	buf_reset(&th);
	make_jpeg(64, 48, &src);
	CHECK(thumb_jpeg((const uint8_t *)src.data, src.len, 200, 0, "s.jpg", &th, err, sizeof err) == 0);
	CHECK(jpeg_probe(&th, &w, &h, &tl) == 0 && w == 64 && h == 48);
	/* damage is reported with the name, never a crash */
	buf_reset(&th);
	CHECK(thumb_jpeg((const uint8_t *)"\xff\xd8\xff\xe0garbage", 12, 200, 0, "bad.jpg", &th, err,
			 sizeof err) != 0);
	CHECK(strstr(err, "bad.jpg") != NULL);
	CHECK(thumb_jpeg((const uint8_t *)src.data, src.len / 3, 200, 0, "cut.jpg", &th, err,
			 sizeof err) == 0 || strstr(err, "cut.jpg"));
	/* a header claiming 60000 x 60000 pixels is refused before any allocation */
	buf_reset(&th);
	for (size_t i = 0; i + 9 < src.len; i++)
		if ((uint8_t)src.data[i] == 0xFF && (uint8_t)src.data[i + 1] == 0xC0) {
			memcpy(src.data + i + 5, "\xEA\x60\xEA\x60", 4);
			break;
		}
	CHECK(thumb_jpeg((const uint8_t *)src.data, src.len, 200, 0, "huge.jpg", &th, err,
			 sizeof err) == EV_ELIMIT);
	/* base64 */
	buf_reset(&th);
	CHECK(thumb_data_uri((const uint8_t *)"abcd", 4, &th) == 0);
	CHECK_STR(th.data, "data:image/jpeg;base64,YWJjZA==");
	buf_free(&src);
	buf_free(&th);
}

/* Decoded pixels with padded rows (as libheif hands them over): the
 * padding is never read as a picture, and nothing outside the rows is. */
static void test_thumb_rgb(void)
{
	enum { W = 400, H = 300, STRIDE = W * 3 + 64 };
	uint8_t *rgb = xmalloc((size_t)STRIDE * H);
	struct buf th;
	char err[256];
	int w, h, tl;
	memset(rgb, 0, (size_t)STRIDE * H); /* the padding is black */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			memset(rgb + (size_t)y * STRIDE + (size_t)x * 3, x < W / 2 ? 250 : 5, 3);
	buf_init(&th, 1 << 20);
	CHECK(thumb_rgb(rgb, W, H, STRIDE, 100, 1, "p.heic", &th, err, sizeof err) == 0);
	CHECK(jpeg_probe(&th, &w, &h, &tl) == 0);
	CHECK(w == 100 && h == 75);
	CHECK(tl > 200);
	buf_reset(&th);
	CHECK(thumb_rgb(rgb, W, H, STRIDE, 100, 8, "p.heic", &th, err, sizeof err) == 0);
	CHECK(jpeg_probe(&th, &w, &h, &tl) == 0 && w == 75 && h == 100 && tl < 60);
	/* rows shorter than the width, and sizes past the limit, are refused */
	CHECK(thumb_rgb(rgb, W, H, W * 3 - 1, 100, 1, "p.heic", &th, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "p.heic") != NULL);
	CHECK(thumb_rgb(rgb, 20000, 20000, 60000, 100, 1, "p.heic", &th, err, sizeof err) ==
	      EV_EINVAL);
	/* a HEIF thumbnail of bytes that are no HEIF file names the file */
	buf_reset(&th);
	CHECK(thumb_heif((const uint8_t *)"\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", 24, 100,
			 "junk.heic", &th, err, sizeof err) != 0);
	CHECK(strstr(err, "junk.heic") != NULL && th.len == 0);
	/* the formats a thumbnail is made of, and a clear word for the rest */
	CHECK(thumb_format_ok("jpeg") && thumb_format_ok("heic") && thumb_format_ok("avif"));
	CHECK(!thumb_format_ok("png") && !thumb_format_ok(NULL));
	CHECK(thumb_photo("png", rgb, 100, 100, 1, "x.png", &th, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "x.png") && strstr(err, "png file"));
	free(rgb);
	buf_free(&th);
}

/* Damaged JPEGs (bytes flipped, cut short) end in a result, never a crash:
 * run under the sanitizers this checks the decoder's error path. */
static void test_thumb_damage(void)
{
	struct buf src, th;
	char err[256];
	int ok = 0, bad = 0;
	unsigned seed = 12345;
	buf_init(&src, 8 << 20);
	buf_init(&th, 8 << 20);
	make_jpeg(96, 64, &src);
	char *orig = xmalloc(src.len);
	memcpy(orig, src.data, src.len);
	for (int round = 0; round < 400; round++) {
		memcpy(src.data, orig, src.len);
		for (int k = 0; k < 1 + round % 6; k++) {
			seed = seed * 1103515245u + 12345u;
			src.data[(seed >> 8) % src.len] ^= (char)(1u << ((seed >> 4) & 7));
		}
		size_t n = round % 5 == 4 ? (seed >> 3) % src.len : src.len;
		buf_reset(&th);
		int rc = thumb_jpeg((const uint8_t *)src.data, n, 48, (int)(round % 9), "d.jpg", &th, err,
				    sizeof err);
		if (rc == 0)
			ok++;
		else if (strstr(err, "d.jpg"))
			bad++;
	}
	CHECK(ok + bad == 400);
	CHECK(bad > 0);
	free(orig);
	buf_free(&src);
	buf_free(&th);
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* Two items (one placed, one not), a track of three fixes, one reading. */
static struct export_ctx *sample_ctx(void)
{
	struct export_ctx *c = export_ctx_new();
	json_object_set_new(c->case_row, "number", json_string("嫩检公益立〔2023〕15号"));
	json_object_set_new(c->case_row, "title", json_string("行洪区 <test> & co"));
	json_object_set_new(c->case_row, "operators", json_pack("[s]", "张三"));
	json_object_set_new(c->case_row, "medium_kept", json_true());
	json_array_append_new(
		c->items,
		json_pack("{s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:f, s:f, "
			  "s:f, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}",
			  "id", 1, "sha256", SHA_A, "size", 1234, "kind", "photo", "format", "jpeg",
			  "original_name", "DJI_0001.JPG", "case", "嫩检公益立〔2023〕15号", "operators",
			  "张三", "captured_at", "2023-05-01T02:00:00Z", "tz_offset", "+08:00",
			  "time_source", "offset", "lat", 47.18, "lon", 123.63, "alt", 150.5,
			  "location_source", "xmp", "datum", "WGS-84", "make", "DJI", "model", "FC6310",
			  "notes", "text", "排污口, \"东侧\"", "author", "李四"));
	json_array_append_new(
		c->items,
		json_pack("{s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:n, s:n, s:n, s:[]}",
			  "id", 2, "sha256", SHA_B, "size", 99, "kind", "photo", "format", "png",
			  "original_name", "=cmd.png", "case", "嫩检公益立〔2023〕15号", "operators",
			  "captured_at", "lat", "lon", "alt", "location_source", "notes"));
	json_array_append_new(c->readings,
			      json_pack("{s:s, s:s, s:f, s:s, s:s, s:f, s:f, s:{s:s, s:s, s:s}, "
					"s:[s, s]}",
					"time", "2023-05-01T02:10:00Z", "parameter", "NH3-N",
					"value", 2.3, "unit", "mg/L", "class", "劣V",
					"lat", 47.181, "lon", 123.631,
					"instrument", "model", "M-2", "name", "probex", "serial",
					"S-9", "operators", "张三", "李四"));
	for (int i = 0; i < 3; i++) {
		struct fix f = {1682906400.0 + 10 * i, 47.179 + 0.001 * i, 123.629 + 0.001 * i,
				140 + i, 3, 4, 9};
		trackset_push(&c->tracks, "gpsd:127.0.0.1:2947", &f);
	}
	c->opt.now = 1682910000.0;
	c->opt.lang = EXPORT_LANG_ZH;
	return c;
}

static void test_geojson(void)
{
	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	buf_init(&b, 1 << 20);
	CHECK(export_geojson(c, &b, err, sizeof err) == 0);
	json_t *j = json_loads(b.data, 0, NULL);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "type")), "FeatureCollection");
	json_t *fs = json_object_get(j, "features");
	CHECK(json_array_size(fs) == 2); /* the placed item and the track */
	json_t *p = json_array_get(fs, 0);
	json_t *co = json_object_get(json_object_get(p, "geometry"), "coordinates");
	CHECK_NEAR(json_number_value(json_array_get(co, 0)), 123.63, 1e-9); /* lon first */
	CHECK_NEAR(json_number_value(json_array_get(co, 1)), 47.18, 1e-9);
	CHECK_NEAR(json_number_value(json_array_get(co, 2)), 150.5, 1e-9);
	CHECK_STR(json_string_value(json_object_get(json_object_get(p, "properties"), "sha256")), SHA_A);
	json_t *t = json_array_get(fs, 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(t, "geometry"), "type")),
		  "LineString");
	CHECK(json_array_size(json_object_get(json_object_get(t, "geometry"), "coordinates")) == 3);
	CHECK(strstr(b.data, SHA_B) == NULL);
	json_decref(j);
	buf_free(&b);
	export_ctx_free(c);
}

/* Parses XML and counts the nodes an XPath names; -1 when not well-formed. */
static int xml_count(const struct buf *b, const char *xpath)
{
	xmlDocPtr doc = xmlReadMemory(b->data, (int)b->len, "t.xml", NULL, XML_PARSE_NONET |
				      XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -1;
	xmlXPathContextPtr x = xmlXPathNewContext(doc);
	xmlXPathObjectPtr r = xmlXPathEvalExpression((const xmlChar *)xpath, x);
	int n = r && r->nodesetval ? r->nodesetval->nodeNr : 0;
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(x);
	xmlFreeDoc(doc);
	return n;
}

static void test_kml_gpx(void)
{
	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	buf_init(&b, 1 << 20);
	CHECK(export_kml(c, &b, err, sizeof err) == 0);
	CHECK(xml_count(&b, "//*[local-name()='Placemark']") == 2);
	CHECK(xml_count(&b, "//*[local-name()='LineString']") == 1);
	CHECK(xml_count(&b, "//*[local-name()='Point']") == 1);
	CHECK(strstr(b.data, "123.63000000,47.18000000,150.50") != NULL);
	CHECK(strstr(b.data, SHA_A) && !strstr(b.data, SHA_B));
	buf_reset(&b);
	CHECK(export_gpx(c, &b, err, sizeof err) == 0);
	CHECK(xml_count(&b, "//*[local-name()='wpt']") == 1);
	CHECK(xml_count(&b, "//*[local-name()='trkpt']") == 3);
	CHECK(strstr(b.data, "lat=\"47.18000000\" lon=\"123.63000000\"") != NULL);
	buf_free(&b);
	export_ctx_free(c);
}

/* Two receivers 220 m apart, fixes interleaved in time: every format
 * draws each as its own line, never one line zigzagging between them. */
static void test_two_receivers(void)
{
	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	for (int i = 0; i < 3; i++) {
		struct fix f = {1682906405.0 + 10 * i, 47.181 + 0.001 * i, 123.629 + 0.001 * i,
				NAN, 2, 3, -1};
		trackset_push(&c->tracks, "file:drone.gpx", &f);
	}
	trackset_sort(&c->tracks);
	buf_init(&b, 4 << 20);
	CHECK(export_geojson(c, &b, err, sizeof err) == 0);
	json_t *j = json_loads(b.data, 0, NULL), *f;
	size_t i, lines = 0, drone = 0;
	json_array_foreach(json_object_get(j, "features"), i, f) {
		json_t *p = json_object_get(f, "properties");
		if (!json_is_string(json_object_get(p, "kind")) ||
		    strcmp(json_string_value(json_object_get(p, "kind")), "track") != 0)
			continue;
		lines++;
		if (strcmp(json_string_value(json_object_get(p, "source")), "file:drone.gpx") == 0)
			drone += json_array_size(
				json_object_get(json_object_get(f, "geometry"), "coordinates")) == 3;
	}
	CHECK(lines == 2 && drone == 1);
	json_decref(j);
	buf_reset(&b);
	CHECK(export_kml(c, &b, err, sizeof err) == 0);
	CHECK(xml_count(&b, "//*[local-name()='LineString']") == 2);
	CHECK(xml_count(&b, "//*[local-name()='Placemark'][@id='track-1' or @id='track-2']") == 2);
	CHECK(xml_count(&b, "//*[@id='track']") == 1); /* the style alone */
	CHECK(strstr(b.data, "GPS 轨迹: file:drone.gpx") != NULL);
	buf_reset(&b);
	CHECK(export_gpx(c, &b, err, sizeof err) == 0);
	CHECK(xml_count(&b, "//*[local-name()='trk']") == 2);
	CHECK(xml_count(&b, "//*[local-name()='trkpt']") == 6);
	buf_reset(&b);
	CHECK(export_html(c, &b, err, sizeof err) == 0);
	CHECK(count(b.data, "<polyline") == 2);
	buf_free(&b);
	export_ctx_free(c);
}

static void test_csv(void)
{
	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	buf_init(&b, 1 << 20);
	c->opt.gcj02 = 1;
	json_array_append_new(json_object_get(json_array_get(c->items, 1), "notes"),
			      json_pack("{s:s}", "text", "\t=1+2"));
	json_object_set_new(json_array_get(c->items, 1), "offset_raw", json_string("-07:00"));
	CHECK(export_csv(c, &b, err, sizeof err) == 0);
	CHECK(memcmp(b.data, "\xEF\xBB\xBF", 3) == 0);
	CHECK(count(b.data, "\r\n") == 4); /* header, two items, one reading */
	/* every line break is CRLF, apart from the one inside a quoted note */
	size_t bare = 0;
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n' && (i == 0 || b.data[i - 1] != '\r'))
			bare++;
	CHECK(bare == 0);
	CHECK(strstr(b.data, "NO LOCATION") != NULL);
	CHECK(strstr(b.data, "'=cmd.png") != NULL);
	/* every text field is guarded: a note, an offset of either sign */
	CHECK(strstr(b.data, ",'\t=1+2,") != NULL);
	CHECK(strstr(b.data, ",'+08:00,") != NULL && strstr(b.data, ",'-07:00,") != NULL);
	CHECK(strstr(b.data, "\"排污口, \"\"东侧\"\"\"") != NULL);
	CHECK(strstr(b.data, "lat_gcj02") != NULL);
	CHECK(strstr(b.data, "reading,") != NULL && strstr(b.data, "劣V") != NULL);
	CHECK(strstr(b.data, "rapid screening") != NULL);
	/* a reading's instrument and operators are text, as an item's are */
	CHECK(strstr(b.data, ",\"probex (model M-2, serial S-9)\",") != NULL);
	CHECK(strstr(b.data, ",张三; 李四,") != NULL);
	CHECK(strstr(b.data, "{") == NULL && strstr(b.data, "[\"") == NULL);
	buf_free(&b);
	export_ctx_free(c);
}

static void test_html(void)
{
	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	buf_init(&b, 4 << 20);
	CHECK(export_html(c, &b, err, sizeof err) == 0);
	CHECK(strstr(b.data, SHA_A) && strstr(b.data, SHA_B));
	CHECK(strstr(b.data, "http://") == NULL && strstr(b.data, "https://") == NULL);
	CHECK(strstr(b.data, "序号") != NULL);
	CHECK(strstr(b.data, "无位置信息") != NULL);
	CHECK(strstr(b.data, "收集人员少于二人") != NULL); /* one operator only */
	CHECK(strstr(b.data, "须经实验室确认") != NULL);
	CHECK(strstr(b.data, "行洪区 &lt;test&gt; &amp; co") != NULL);
	CHECK(strstr(b.data, "2023-05-01 10:00:00 +08:00") != NULL);
	CHECK(strstr(b.data, "@page") != NULL && strstr(b.data, "break-inside:avoid") != NULL);
	/* the screening caveat heads the readings table, so that it repeats
	 * on every printed page of it */
	CHECK(strstr(b.data, "<table class=\"readings\"><thead><tr><th colspan=\"8\" "
			     "class=\"warn caveat\">快速检测结果，须经实验室确认</th></tr>") != NULL);
	CHECK(count(b.data, "<svg") == 1);
	CHECK(strstr(b.data, "<td>probex（型号 M-2，序列号 S-9）</td>") != NULL);
	CHECK(strstr(b.data, "{&quot;") == NULL);
	/* English, and with two officers the warning goes */
	json_array_append_new(json_object_get(c->case_row, "operators"), json_string("李四"));
	c->opt.lang = EXPORT_LANG_EN;
	buf_reset(&b);
	CHECK(export_html(c, &b, err, sizeof err) == 0);
	CHECK(strstr(b.data, "fewer than two officers") == NULL);
	CHECK(strstr(b.data, "Evidence list") != NULL);
	CHECK(strstr(b.data, "rapid screening, to be confirmed by a laboratory") != NULL);
	CHECK(strstr(b.data, "<td>probex (model M-2, serial S-9)</td>") != NULL);
	buf_free(&b);
	export_ctx_free(c);
}

static const char *why_zh(const char *why)
{
	static struct buf b;
	buf_free(&b);
	buf_init(&b, 4096);
	return i18n_thumb_why(EXPORT_LANG_ZH, why, &b) ? "(error)" : b.data;
}

/* A photo without a thumbnail says why in the report's language; only
 * the decoder's own words stay as they were, quoted. */
static void test_thumb_note(void)
{
	CHECK_STR(why_zh("the JPEG cannot be decoded: Not a JPEG file: starts with 0x00 0x01"),
		  "JPEG 图像无法解码：“Not a JPEG file: starts with 0x00 0x01”");
	CHECK_STR(why_zh("no JPEG image header"), "找不到 JPEG 图像头");
	CHECK_STR(why_zh("a frame of 9x9 pixels is beyond the 4-pixel limit"),
		  "画面像素数超过上限：“a frame of 9x9 pixels is beyond the 4-pixel limit”");
	CHECK_STR(why_zh("something new"), "原因：“something new”");

	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	c->n_thumbs = 2;
	c->thumbs = xcalloc(2, sizeof *c->thumbs);
	c->thumb_note = xcalloc(2, sizeof *c->thumb_note);
	c->thumb_note[0] = xstrdup("the JPEG cannot be decoded: Not a JPEG file: <x>");
	c->thumb_note[1] = xstrdup("png");
	buf_init(&b, 4 << 20);
	CHECK(export_html(c, &b, err, sizeof err) == 0);
	CHECK(strstr(b.data, "无缩略图（JPEG 图像无法解码：“Not a JPEG file: &lt;x&gt;”）"));
	CHECK(strstr(b.data, "无缩略图（png）") != NULL);
	CHECK(strstr(b.data, "cannot be decoded") == NULL);
	c->opt.lang = EXPORT_LANG_EN;
	buf_reset(&b);
	CHECK(export_html(c, &b, err, sizeof err) == 0);
	CHECK(strstr(b.data,
		     "no thumbnail (the JPEG cannot be decoded: Not a JPEG file: &lt;x&gt;)"));
	CHECK(strstr(b.data, "no thumbnail (png)") != NULL);
	buf_free(&b);
	export_ctx_free(c);
}

static void test_limits(void)
{
	struct export_ctx *c = sample_ctx();
	struct buf b;
	char err[256];
	buf_init(&b, 200); /* far too small: every format says so, none overflows */
	CHECK(export_html(c, &b, err, sizeof err) == EV_ELIMIT);
	buf_reset(&b);
	CHECK(export_kml(c, &b, err, sizeof err) == EV_ELIMIT);
	buf_reset(&b);
	CHECK(export_csv(c, &b, err, sizeof err) == EV_ELIMIT);
	buf_reset(&b);
	CHECK(export_gpx(c, &b, err, sizeof err) == EV_ELIMIT);
	buf_reset(&b);
	CHECK(export_geojson(c, &b, err, sizeof err) == EV_ELIMIT);
	CHECK(b.len <= 200);
	buf_free(&b);
	export_ctx_free(c);
	export_ctx_free(NULL);
}

int main(void)
{
	RUN(test_gcj02);
	RUN(test_csv_field);
	RUN(test_instrument_text);
	RUN(test_xml_escape);
	RUN(test_local_time);
	RUN(test_i18n);
	RUN(test_svgmap);
	RUN(test_thumb);
	RUN(test_thumb_rgb);
	RUN(test_thumb_damage);
	RUN(test_geojson);
	RUN(test_kml_gpx);
	RUN(test_two_receivers);
	RUN(test_csv);
	RUN(test_html);
	RUN(test_thumb_note);
	RUN(test_limits);
	xmlCleanupParser();
	T_EXIT();
}
