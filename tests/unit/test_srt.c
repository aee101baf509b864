/*
 * Unit tests for the DJI SRT reader (capture/srt.c): the bracketed form of
 * newer drones, GPS() with the longitude first (Phantom, Mavic Pro) and
 * the latitude first (Matrice), blocks without a fix before the first
 * one, and text that is not a drone's subtitle file.
 */
#include <stdint.h>

#include "srt.h"
#include "t.h"

static int first(const char *text, struct srt_fix *f, char *err, size_t errlen)
{
	/* an exact-size heap copy without a NUL */
	size_t n = strlen(text);
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, text, n);
	int rc = srt_first_fix(c, n, f, err, errlen);
	free(c);
	return rc;
}

static void test_bracketed(void)
{
	struct srt_fix f;
	char err[200] = "";
	const char *t =
		"\xEF\xBB\xBF" "1\r\n00:00:00,000 --> 00:00:00,033\r\n"
		"<font size=\"28\">FrameCnt: 1, DiffTime: 33ms\r\n"
		"2023-06-15 10:00:00.123\r\n"
		"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] "
		"[latitude: 47.351234] [longitude: 123.917456] [rel_alt: 50.000 abs_alt: 200.500] "
		"[ct: 5500] </font>\r\n\r\n"
		"2\r\n00:00:00,033 --> 00:00:00,066\r\n"
		"[latitude: 47.4] [longitude: 123.9]\r\n";
	CHECK(first(t, &f, err, sizeof err) == 0);
	CHECK_NEAR(f.lat, 47.351234, 1e-9);
	CHECK_NEAR(f.lon, 123.917456, 1e-9);
	CHECK(f.has_alt);
	CHECK_NEAR(f.alt, 200.5, 1e-9);
	CHECK(f.has_time);
	CHECK_STR(f.time, "2023:06:15 10:00:00");
	CHECK(f.block == 1);

	/* Mavic 2: spaces before the colon, "longtitude", [altitude: ] */
	const char *m2 = "1\n00:00:00,000 --> 00:00:00,033\n2021-08-29 14:41:08,563,108\n"
			 "[latitude : 22.543096] [longtitude : 114.057865] [altitude: 117.000000]\n";
	CHECK(first(m2, &f, err, sizeof err) == 0);
	CHECK_NEAR(f.lat, 22.543096, 1e-9);
	CHECK_NEAR(f.lon, 114.057865, 1e-9);
	CHECK(f.has_alt && f.alt == 117.0);
	CHECK_STR(f.time, "2021:08:29 14:41:08");
	/* a clock line with a day no month has: the fix without a clock */
	const char *bad = "1\n00:00:00,000 --> 00:00:00,033\n2021-02-30 14:41:08.000\n"
			  "[latitude : 22.5] [longitude : 114.0]\n";
	CHECK(first(bad, &f, err, sizeof err) == 0);
	CHECK(!f.has_time && f.time[0] == '\0');
}

static void test_gps_parentheses(void)
{
	struct srt_fix f;
	char err[200] = "";
	/* Phantom: HOME and the clock on one line, GPS(lon,lat,alt) */
	const char *ph = "1\n00:00:01,000 --> 00:00:02,000\n"
			 "HOME(123.9170,47.3500) 2017.07.29 15:18:50\n"
			 "GPS(123.9174,47.3512,19) BAROMETER:0.0\nISO:100 Shutter:60 EV: Fnum:2.2 \n";
	CHECK(first(ph, &f, err, sizeof err) == 0);
	CHECK_NEAR(f.lat, 47.3512, 1e-9);
	CHECK_NEAR(f.lon, 123.9174, 1e-9);
	CHECK(f.has_alt && f.alt == 19);
	CHECK_STR(f.time, "2017:07:29 15:18:50");
	/* Matrice: GPS(lat,lon,altM) */
	const char *m300 = "1\n00:00:00,000 --> 00:00:01,000\n2022.06.21 16:06:17\n"
			   "GPS(47.3512,123.9174,0.0M) BAROMETER:0.3M\n";
	CHECK(first(m300, &f, err, sizeof err) == 0);
	CHECK_NEAR(f.lat, 47.3512, 1e-9);
	CHECK_NEAR(f.lon, 123.9174, 1e-9);
	/* both within 90 degrees: which is which is not known, so not used */
	const char *amb = "1\n00:00:00,000 --> 00:00:01,000\n2022.06.21 16:06:17\n"
			  "GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M\n";
	CHECK(first(amb, &f, err, sizeof err) == EV_ENOENT);
	CHECK(strstr(err, "SRT block 1: GPS(36.614600,-6.112000) does not say which is the latitude"));
}

static void test_no_fix_first(void)
{
	struct srt_fix f;
	char err[200] = "";
	/* on the ground without a fix: 0,0 blocks, then the fix */
	const char *t = "1\n00:00:00,000 --> 00:00:00,033\n2023-06-15 10:00:00.000\n"
			"[latitude: 0.000000] [longitude: 0.000000] [rel_alt: 0.000 abs_alt: 0.000]\n"
			"\n"
			"2\n00:00:00,033 --> 00:00:00,066\n2023-06-15 10:00:00.033\n"
			"[latitude: 0.0] [longitude: 0.0]\n"
			"\n\n"
			"3\n00:00:00,066 --> 00:00:00,100\n2023-06-15 10:00:01.066\n"
			"[latitude: 47.35] [longitude: 123.91] [rel_alt: 1.0 abs_alt: 151.0]";
	CHECK(first(t, &f, err, sizeof err) == 0);
	CHECK(f.block == 3);
	CHECK_NEAR(f.lat, 47.35, 1e-9);
	CHECK_STR(f.time, "2023:06:15 10:00:01");
	/* none at all */
	const char *none = "1\n00:00:00,000 --> 00:00:00,033\n[latitude: 0.0] [longitude: 0.0]\n";
	CHECK(first(none, &f, err, sizeof err) == EV_ENOENT);
	CHECK(strstr(err, "no block of the first") != NULL);
	/* out of range is not a fix */
	const char *far = "1\n00:00:00,000 --> 00:00:00,033\n[latitude: 95.0] [longitude: 10.0]\n";
	CHECK(first(far, &f, err, sizeof err) == EV_ENOENT);
}

static void test_not_srt(void)
{
	struct srt_fix f;
	char err[200] = "";
	CHECK(first("", &f, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "not a subtitle file") != NULL);
	CHECK(first("[latitude: 47.35] [longitude: 123.91]\n", &f, err, sizeof err) == EV_EINVAL);
	/* a line longer than the reader's buffer is cut, not overrun */
	size_t n = 5000;
	char *big = malloc(n + 64);
	memset(big, 'x', n);
	strcpy(big + n, "\n00:00:00,000 --> 00:00:01,000\n");
	CHECK(first(big, &f, err, sizeof err) == EV_ENOENT);
	free(big);
	/* binary bytes, a NUL among them */
	static const uint8_t bin[] = {0, 1, 2, '\n', 0xFF, 0, '-', '-', '>', '\n'};
	CHECK(srt_first_fix(bin, sizeof bin, &f, err, sizeof err) == EV_EINVAL);
	/* numbers that are not: no digits, too many digits */
	CHECK(first("1\n00:00:00,000 --> 00:00:01,000\n[latitude: .] [longitude: 1234567890123456.0]\n",
		    &f, err, sizeof err) == EV_ENOENT);
}

int main(void)
{
	RUN(test_bracketed);
	RUN(test_gps_parentheses);
	RUN(test_no_fix_first);
	RUN(test_not_srt);
	return t_any_failed;
}
