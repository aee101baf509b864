/* Unit tests for util, buf and timeutil. */
#include "buf.h"
#include "hash.h"
#include "log.h"
#include "t.h"
#include "timeutil.h"
#include "util.h"

static void test_buf_cap(void)
{
	struct buf b;
	buf_init(&b, 8);
	CHECK(b.data[0] == '\0');
	CHECK(buf_puts(&b, "1234") == 0);
	CHECK(buf_puts(&b, "56789") == EV_ELIMIT);
	CHECK_STR(b.data, "1234");
	CHECK(buf_printf(&b, "%d", 5678) == 0);
	CHECK(b.len == 8);
	buf_free(&b);
	CHECK(b.len == 0 && b.data[0] == '\0');
}

static void test_time_civil(void)
{
	CHECK(time_from_civil(1970, 1, 1, 0, 0, 0) == 0);
	CHECK(time_from_civil(2000, 3, 1, 0, 0, 0) == 951868800);
	int y, mo, d, h, mi, s;
	time_to_civil(1700000000, &y, &mo, &d, &h, &mi, &s);
	CHECK(y == 2023 && mo == 11 && d == 14 && h == 22 && mi == 13 && s == 20);
	int64_t t;
	CHECK(time_parse_exif("2012:11:22 12:34:56", &t) == 0);
	CHECK(t == time_from_civil(2012, 11, 22, 12, 34, 56));
	CHECK(time_parse_exif("2014:09:259 00:00:00", &t) != 0);
	CHECK(time_parse_exif("2013:02:29 00:00:00", &t) != 0);
	CHECK(time_parse_exif("0000:00:00 00:00:00", &t) != 0);
	/* what is wrong, said of each field */
	static const struct {
		const char *s, *why;
		int rc;
	} w[] = {
		{"2023:06:31 10:00:00", "day 31 does not exist in June", EV_ELIMIT},
		{"2023:02:29 10:00:00", "day 29 does not exist in February 2023 (not a leap year)",
		 EV_ELIMIT},
		{"9999:12:31 23:59:59",
		 "the year 9999 is outside the years evcap accepts (1900 to 2200)", EV_ELIMIT},
		{"1899:12:31 23:59:59",
		 "the year 1899 is outside the years evcap accepts (1900 to 2200)", EV_ELIMIT},
		{"2023:13:01 10:00:00", "there is no month 13", EV_ELIMIT},
		{"2023:00:01 10:00:00", "there is no month 00", EV_ELIMIT},
		{"2023:01:00 10:00:00", "there is no day 00", EV_ELIMIT},
		{"2023:01:01 24:00:00", "there is no hour 24 (00 to 23)", EV_ELIMIT},
		{"2023:01:01 10:60:00", "there is no minute 60 (00 to 59)", EV_ELIMIT},
		{"2023:01:01 10:00:61", "there is no second 61 (00 to 60)", EV_ELIMIT},
		{"2023:01:01 10:00", "it is not of the form YYYY:MM:DD HH:MM:SS", EV_EINVAL},
		{"2023:01:01 10:00:00x",
		 "it is not of the form YYYY:MM:DD HH:MM:SS (more follows)", EV_EINVAL},
	};
	for (size_t i = 0; i < ARRAY_LEN(w); i++) {
		char why[128] = "";
		CHECK(time_parse_exif_why(w[i].s, &t, why, sizeof why) == w[i].rc);
		CHECK_STR(why, w[i].why);
		CHECK(time_parse_exif(w[i].s, &t) == EV_EINVAL);
	}
	CHECK(time_parse_exif_why("2024:02:29 10:00:60", &t, NULL, 0) == 0);
	int off;
	CHECK(time_parse_offset("+08:00", &off) == 0 && off == 8 * 3600);
	CHECK(time_parse_offset("-00:30", &off) == 0 && off == -1800);
	CHECK(time_parse_offset("-0700", &off) != 0);
	CHECK(time_parse_offset("3Z12", &off) != 0);
	char o[8];
	time_format_offset(-7 * 3600, o);
	CHECK_STR(o, "-07:00");
	time_format_offset(-(4 * 3600 - 15), o); /* a clock 15 s slow in UTC-4 */
	CHECK_STR(o, "-04:00");
	time_format_offset(5 * 60 + 4, o);
	CHECK_STR(o, "+00:05");
	time_format_offset(8 * 3600 + 29, o);
	CHECK_STR(o, "+08:00");
	char iso[32];
	time_format_iso(1700000000.25, iso);
	CHECK_STR(iso, "2023-11-14T22:13:20.250Z");
	double d2;
	CHECK(time_parse_iso("2023-11-15T06:13:20+08:00", &d2) == 0 && d2 == 1700000000.0);
	CHECK(time_parse_iso("2023-11-14T22:13:20.5Z", &d2) == 0 && d2 == 1700000000.5);
	CHECK(time_parse_iso("2023-11-14 22:13:20", &d2) != 0);
	/* RFC 3339: the T and the Z may be written in lower case */
	CHECK(time_parse_iso("2023-11-14t22:13:20.5z", &d2) == 0 && d2 == 1700000000.5);
	CHECK(time_parse_iso("2023-11-15T06:13:20+0800", &d2) == 0 && d2 == 1700000000.0);
	CHECK(time_parse_iso("2023-11-15T06:13:20+08", &d2) == 0 && d2 == 1700000000.0);
	CHECK(time_parse_iso("2023-11-14T22:13:20Z ", &d2) != 0);
	CHECK(time_parse_iso("2023-11-15T06:13:20+08:", &d2) != 0);
	/* the one zone reader: every form, and the exact length given */
	static const struct {
		const char *s;
		int ok, off;
	} zones[] = {
		{"Z", 1, 0},		{"z", 1, 0},	       {"+08", 1, 28800},
		{"+0800", 1, 28800},	{"+08:00", 1, 28800},  {"-03:30", 1, -12600},
		{"+14:00", 1, 50400},	{"-0000", 1, 0},       {"+15:00", 0, 0},
		{"+08:60", 0, 0},	{"+08:", 0, 0},	       {"+8", 0, 0},
		{"08:00", 0, 0},	{"+08:00 ", 0, 0},     {"+08-00", 0, 0},
		{"+0a:00", 0, 0},	{"ZZ", 0, 0},	       {"", 0, 0},
		{"+080", 0, 0},		{"+08:000", 0, 0},
	};
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		int z = -1;
		int rc = time_parse_zone(zones[i].s, strlen(zones[i].s), &z);
		if ((rc == 0) != zones[i].ok || (rc == 0 && z != zones[i].off))
			fprintf(stderr, "# zone '%s': rc %d, %d s\n", zones[i].s, rc, z);
		CHECK((rc == 0) == zones[i].ok && (rc != 0 || z == zones[i].off));
	}
	/* the length bounds the read: "+08:00" inside a longer line */
	CHECK(time_parse_zone("+08:00;x", 6, &off) == 0 && off == 28800);
	CHECK(time_parse_zone("+08:00;x", 3, &off) == 0 && off == 28800);
	CHECK(time_parse_zone("+08:00;x", 7, &off) != 0);
}

/* Camera text kept as written where it is UTF-8; never cut through a
 * character, never a control character. */
/* num_text: a recorded value whole, never rounded to six digits */
static void test_num_text(void)
{
	char out[NUM_TEXT_MAX];
	num_text(1234567, out);
	CHECK_STR(out, "1234567");
	num_text(0.123456789, out);
	CHECK_STR(out, "0.123456789");
	num_text(7.5, out);
	CHECK_STR(out, "7.5");
	num_text(-7.8, out);
	CHECK_STR(out, "-7.8");
	num_text(0.1 + 0.2, out);
	CHECK_STR(out, "0.30000000000000004");
	num_text(1e-5, out);
	CHECK_STR(out, "0.00001");
	num_text(-0.00002, out);
	CHECK_STR(out, "-0.00002");
	num_text(1.5e-7, out);
	CHECK_STR(out, "0.00000015");
	num_text(1e-8, out);
	CHECK_STR(out, "1e-08");
	num_text(1e20, out);
	CHECK_STR(out, "100000000000000000000");
	num_text(1e21, out);
	CHECK_STR(out, "1e+21");
	num_text(0, out);
	CHECK_STR(out, "0");
	num_text(-0.0, out);
	CHECK_STR(out, "-0");
	num_text(123.0, out);
	CHECK_STR(out, "123");
	num_text(NAN, out);
	CHECK_STR(out, "nan");
	/* the longest: 17 digits after 0.000000 */
	num_text(-1.2345678901234566e-7, out);
	CHECK_STR(out, "-0.00000012345678901234566");
	CHECK(strtod(out, NULL) == -1.2345678901234566e-7);
}

static void test_text_copy_plain(void)
{
	char out[16];
	text_copy_plain("DJI  ", 5, out, sizeof out, 1);
	CHECK_STR(out, "DJI");
	text_copy_plain("\xe5\xa4\xa7\xe7\x96\x86", 6, out, sizeof out, 0); /* 大疆 */
	CHECK_STR(out, "\xe5\xa4\xa7\xe7\x96\x86");
	text_copy_plain("A\xff\x01\x7f\xc2\x85Z", 7, out, sizeof out, 0); /* bad byte, C0, DEL, C1 */
	CHECK_STR(out, "A?????Z");
	text_copy_plain("a\xe2\x80\xae" "b\xe2\x80\x8b\xef\xbb\xbf" "c", 12, out, sizeof out, 0);
	CHECK_STR(out, "a?b??c"); /* U+202E, U+200B, U+FEFF */
	/* U+061C (2 bytes), U+2060, U+2028 (3), a tag U+E0041 (4); 大 kept */
	text_copy_plain("\xd8\x9c" "x\xe2\x81\xa0\xe2\x80\xa8\xf3\xa0\x81\x81\xe5\xa4\xa7", 17, out,
			sizeof out, 0);
	CHECK_STR(out, "?x???\xe5\xa4\xa7");
	text_copy_plain("ab\0cd", 5, out, sizeof out, 0);
	CHECK_STR(out, "ab");
	text_copy_plain("\xe5\xa4", 2, out, sizeof out, 0); /* a character cut short */
	CHECK_STR(out, "??");
	char small[5];
	text_copy_plain("ab\xe5\xa4\xa7", 5, small, sizeof small, 0); /* 3 bytes do not fit in 2 */
	CHECK_STR(small, "ab");
	text_copy_plain("x", 1, out, 1, 0);
	CHECK_STR(out, "");
}

static void test_hex_utf8(void)
{
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(sha256_hex_valid(hex));
	CHECK(!sha256_hex_valid("BA7816bf"));
	uint8_t raw[2];
	CHECK(hex_decode("0aff", raw, 2) == 0 && raw[0] == 0x0a && raw[1] == 0xff);
	CHECK(hex_decode("0aZf", raw, 2) != 0);
	const char *zh = "嫩检公益立〔2023〕15号";
	CHECK(utf8_valid(zh, strlen(zh)));
	CHECK(!utf8_valid("\xc0\xaf", 2));     /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	CHECK(!utf8_valid("a\0b", 3));
}

/* The characters that set the text's direction unseen, and those just
 * beside them, which are text; a name holding one is stored and shown
 * with its bytes as \xNN, and reads back to the card's bytes. */
static void test_text_direction(void)
{
	static const char *const dir[] = {"\xd8\x9c",     "\xe2\x80\x8e", "\xe2\x80\x8f",
					  "\xe2\x80\xaa", "\xe2\x80\xae", "\xe2\x81\xa6",
					  "\xe2\x81\xa9"};
	static const char *const not[] = {"\xd8\x9b",     "\xe2\x80\x8d", "\xe2\x80\x90",
					  "\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\xa5",
					  "\xe2\x81\xaa", "\xe6\xb0\xb4", "a"};
	for (size_t i = 0; i < sizeof dir / sizeof dir[0]; i++)
		CHECK(text_direction_len(dir[i], strlen(dir[i])) == strlen(dir[i]));
	for (size_t i = 0; i < sizeof not / sizeof not[0]; i++)
		CHECK(text_direction_len(not[i], strlen(not[i])) == 0);
	CHECK(text_direction_len("\xe2\x80", 2) == 0); /* cut short */
	char *e = text_escape("DJI_0001\xe2\x80\xaeGPJ.exe", 18, SIZE_MAX);
	CHECK_STR(e, "DJI_0001\\xE2\\x80\\xAEGPJ.exe");
	free(e);
	e = text_escape("S-\xd8\x9c" "1\xe2\x81\xa6\\", 9, SIZE_MAX);
	CHECK_STR(e, "S-\\xD8\\x9C1\\xE2\\x81\\xA6\\\\");
	free(e);
	/* cut before an escaped character that would not fit whole */
	e = text_escape("ab\xe2\x80\xae", 5, 13);
	CHECK_STR(e, "ab");
	free(e);
	e = text_escape("ab\xe2\x80\xae", 5, 14);
	CHECK_STR(e, "ab\\xE2\\x80\\xAE");
	free(e);
	/* and a log line that quotes one, with a control character */
	char *copy;
	CHECK_STR(log_one_line("S-\xe2\x80\xae" "123-4\n\xc2\x9b!", &copy),
		  "S-\\xE2\\x80\\xAE123-4\\x0A\\xC2\\x9B!");
	free(copy);
	CHECK_STR(log_one_line("水 a\\b", &copy), "水 a\\b");
	CHECK(copy == NULL);
}

static void test_digits(void)
{
	CHECK(digits_value("0800", 4) == 800);
	CHECK(digits_value("2023-06", 4) == 2023);
	CHECK(digits_value("08a0", 4) == -1);
	CHECK(digits_value("-1", 2) == -1);
	CHECK(digits_value("", 0) == 0);
	CHECK(digits_value("999999999", 9) == 999999999);
	CHECK(digits_value("1234567890", 10) == -1); /* past what an int holds safely */
}

static void test_width_fold(void)
{
	char out[128];
	/* full-width digits, letters and signs to ASCII; U+3000 to a space */
	CHECK_STR(utf8_width_fold("ＸＸ检公益立〔２０２４〕３号", out), "XX检公益立〔2024〕3号");
	CHECK_STR(utf8_width_fold("ａｚＡＺ！～（）［］　x", out), "azAZ!~()[] x");
	/* the ends of the range, and what lies just past them, as they are */
	CHECK_STR(utf8_width_fold("\xef\xbc\x81\xef\xbd\x9e", out), "!~");
	CHECK_STR(utf8_width_fold("\xef\xbc\x80\xef\xbd\x9f\xef\xbd\xa1", out),
		  "\xef\xbc\x80\xef\xbd\x9f\xef\xbd\xa1");
	/* brackets of other shapes are other characters: 〔〕【】 kept */
	CHECK_STR(utf8_width_fold("〔2024〕【2024】", out), "〔2024〕【2024】");
	/* Chinese text and four-byte characters untouched; ASCII as it is */
	CHECK_STR(utf8_width_fold("嫩检公益立𠀀 A1", out), "嫩检公益立𠀀 A1");
	/* bytes that are not UTF-8, and a form cut short, copied unchanged */
	CHECK_STR(utf8_width_fold("a\xff\xef\xbc", out), "a\xff\xef\xbc");
	CHECK_STR(utf8_width_fold("\xe3\x80", out), "\xe3\x80");
	CHECK_STR(utf8_width_fold("", out), "");
	/* in place */
	char s[] = "Ｋ　７";
	CHECK_STR(utf8_width_fold(s, s), "K 7");
}

int main(void)
{
	RUN(test_buf_cap);
	RUN(test_time_civil);
	RUN(test_hex_utf8);
	RUN(test_text_direction);
	RUN(test_text_copy_plain);
	RUN(test_num_text);
	RUN(test_digits);
	RUN(test_width_fold);
	T_EXIT();
}
