/*
 * Unit tests for the NMEA parser: checksums, every sentence kind and
 * talker we read, how an epoch's sentences merge, what is not trusted, and
 * the real receiver logs of the corpus (skipped when it is absent).
 */
#include <stdarg.h>

#include "buf.h"
#include "fsutil.h"
#include "nmea.h"
#include "t.h"
#include "timeutil.h"

/* Appends "$body*hh\r\n" with the right checksum. */
static void put(struct buf *b, const char *body)
{
	char line[600];
	snprintf(line, sizeof line, "$%s*%02X\r\n", body, nmea_checksum(body, strlen(body)));
	if (buf_puts(b, line) != 0)
		abort();
}

static int parse(const struct buf *b, struct track *tr, struct track_report *rep)
{
	track_init(tr);
	track_report_init(rep);
	return nmea_parse("t.nmea", b->data, b->len, tr, rep);
}

static void test_checksum(void)
{
	const char *body = "GPGGA,053229.438,,,,,0,00,,,M,0.0,M,,0000";
	CHECK(nmea_checksum(body, strlen(body)) == 0x56);
	struct buf b;
	buf_init(&b, 1 << 20);
	put(&b, "GPRMC,120000,A,3114.8770,N,12135.2463,E,0.1,0.0,020315,,,A");
	CHECK(buf_puts(&b, "$GPRMC,120001,A,3114.8770,N,12135.2463,E,0.1,0.0,020315,,,A*00\n") == 0);
	CHECK(buf_puts(&b, "$GPRMC,120002,A,3114.8770,N,12135.2463,E,0.1,0.0,020315,,,A\n") == 0);
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(tr.n == 1);
	CHECK(rep.bad == 2);
	CHECK(rep.n_msgs == 2);
	CHECK(strstr(rep.msgs[0], "t.nmea:2:") != NULL);
	CHECK(strstr(rep.msgs[0], "checksum") != NULL);
	CHECK(strstr(rep.msgs[1], "t.nmea:3:") != NULL);
	CHECK(nmea_sniff(b.data, b.len) == 1);
	CHECK(nmea_sniff("<gpx>", 5) == 0);
	track_free(&tr);
	buf_free(&b);
}

static void test_epoch_merge(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	/* GGA first (no date known yet), RMC of the same second gives it */
	put(&b, "GNGGA,053233.438,3114.8821,N,12135.2428,E,1,07,1.5,167.2,M,8.3,M,,0000");
	put(&b, "GNGSA,A,3,14,18,22,,,,,,,,,,2.0,1.5,1.3");
	put(&b, "GNRMC,053233.438,A,3114.8821,N,12135.2428,E,0.07,167.42,020315,,,A");
	put(&b, "GNGGA,053234.438,3114.8830,N,12135.2430,E,2,08,1.0,168.0,M,8.3,M,,0000");
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(tr.n == 2);
	CHECK(rep.ignored == 1);
	if (tr.n == 2) {
		double t0 = (double)time_from_civil(2015, 3, 2, 5, 32, 33) + 0.438;
		CHECK_NEAR(tr.v[0].t, t0, 1e-6);
		CHECK_NEAR(tr.v[0].lat, 31 + 14.8821 / 60, 1e-9);
		CHECK_NEAR(tr.v[0].lon, 121 + 35.2428 / 60, 1e-9);
		CHECK_NEAR(tr.v[0].alt, 167.2, 1e-9);
		CHECK(tr.v[0].mode == 3);
		CHECK(tr.v[0].sats == 7);
		CHECK_NEAR(tr.v[0].eph, 1.5 * TRACK_UERE, 1e-9);
		/* the next GGA alone is timed by the date already known */
		CHECK_NEAR(tr.v[1].t, t0 + 1, 1e-6);
		CHECK(tr.v[1].sats == 8);
	}
	track_free(&tr);
	buf_free(&b);
}

static void test_untimed_and_untrusted(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	put(&b, "GPGGA,100000,4000.0000,N,00300.0000,W,1,05,1.0,10.0,M,,,,");      /* no date: untimed */
	put(&b, "GPRMC,100001,V,4000.0000,N,00300.0000,W,0.0,0.0,140605,,");       /* status V */
	put(&b, "GPRMC,100002,A,4000.0000,N,00300.0000,W,0.0,0.0,140605,,,S");     /* simulator */
	put(&b, "GPGGA,100003,4000.0000,N,00300.0000,W,8,05,1.0,10.0,M,,,,");      /* simulation */
	put(&b, "GPGGA,100004,4000.0000,N,00300.0000,W,6,05,1.0,10.0,M,,,,");      /* estimated */
	put(&b, "GPGGA,100005,4000.0000,N,00300.0000,W,0,05,1.0,10.0,M,,,,");      /* no fix */
	put(&b, "GPRMC,100006,A,4000.0000,N,00300.0000,W,0.0,0.0,140605,,");       /* good, dates */
	put(&b, "GPGGA,100006,4000.0000,N,00300.0000,W,8,05,1.0,10.0,M,,,,");      /* spoils 100006 */
	put(&b, "GPRMC,100007,A,4000.0000,N,00300.0000,W,0.0,0.0,140605,,");       /* good */
	put(&b, "GPGGA,100008,,,,,0,00,,,M,,M,,");                                 /* no position */
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(rep.untimed == 1);
	CHECK(rep.untrusted == 6);
	CHECK(rep.bad == 0);
	CHECK(tr.n == 1);
	if (tr.n == 1)
		CHECK_NEAR(tr.v[0].t, (double)time_from_civil(2005, 6, 14, 10, 0, 7), 1e-6);
	track_free(&tr);
	buf_free(&b);
}

static void test_talkers_and_kinds(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	put(&b, "BDRMC,000001,A,3114.8770,N,12135.2463,E,0.1,0.0,020315,,,A");
	put(&b, "GBGGA,000002,3114.8771,N,12135.2463,E,1,05,1.0,10.0,M,,,,");
	put(&b, "GNGNS,000003,3114.8772,S,12135.2463,W,ANN,12,0.9,20.5,8.3,,");
	put(&b, "GLGLL,3114.8773,N,12135.2463,E,000004.50,A,A");
	put(&b, "GAGLL,3114.8774,N,12135.2463,E,000005,V,N");                      /* void */
	put(&b, "GNGNS,000006,3114.8775,N,12135.2463,E,NNNN,00,,,,,");            /* no fix */
	put(&b, "GNGNS,000007,3114.8776,N,12135.2463,E,AS,05,1.0,1.0,1.0,,");     /* simulator */
	put(&b, "INZDA,000008,03,03,2015,00,00");
	put(&b, "INGGA,000008,3114.8777,N,12135.2463,E,2,05,1.0,10.0,M,,,,");
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(tr.n == 5);
	CHECK(rep.untrusted == 3);
	if (tr.n == 5) {
		double day = (double)time_from_civil(2015, 3, 2, 0, 0, 0);
		CHECK_NEAR(tr.v[0].t, day + 1, 1e-6);
		CHECK(tr.v[0].mode == 2 && isnan(tr.v[0].alt));
		CHECK_NEAR(tr.v[1].t, day + 2, 1e-6);
		CHECK_NEAR(tr.v[2].lat, -(31 + 14.8772 / 60), 1e-9);
		CHECK_NEAR(tr.v[2].lon, -(121 + 35.2463 / 60), 1e-9);
		CHECK_NEAR(tr.v[2].alt, 20.5, 1e-9);
		CHECK(tr.v[2].sats == 12);
		CHECK_NEAR(tr.v[3].t, day + 4.5, 1e-6);
		/* ZDA moved the date on a day */
		CHECK_NEAR(tr.v[4].t, day + 86400 + 8, 1e-6);
	}
	track_free(&tr);
	buf_free(&b);
}

static void test_bad_lines(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	put(&b, "GPRMC,235959,A,4000.0000,N,00300.0000,W,0.0,0.0,311299,,");
	CHECK(buf_puts(&b, "# a comment is fine\n\n") == 0);
	CHECK(buf_puts(&b, "garbage\n") == 0);
	char longl[700];
	memset(longl, 'A', sizeof longl - 2);
	longl[0] = '$';
	longl[sizeof longl - 2] = '\n';
	longl[sizeof longl - 1] = '\0';
	CHECK(buf_puts(&b, longl) == 0);
	put(&b, "GPRMC,250000,A,4000.0000,N,00300.0000,W,0.0,0.0,311299,,");        /* hour 25 */
	put(&b, "GPRMC,000001,A,4075.0000,N,00300.0000,W,0.0,0.0,010100,,");        /* 75 minutes */
	put(&b, "GPRMC,000002,A,4000.0000,X,00300.0000,W,0.0,0.0,010100,,");        /* hemisphere */
	put(&b, "GPRMC,000003,A,4000.0000,N,00300.0000,W,0.0,0.0,310200,,");        /* 31 Feb */
	put(&b, "GPGGA,000004,4000.0000,N,00300.0000,W,1,05,1.0,1.0,M,,,,");        /* after midnight */
	CHECK(buf_puts(&b, "$GPGGA,\x01,*00\n") == 0);
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(rep.bad == 7);
	CHECK(rep.n_msgs == 7);
	CHECK(strstr(rep.msgs[0], "t.nmea:4:") != NULL);
	CHECK(strstr(rep.msgs[1], "t.nmea:5:") && strstr(rep.msgs[1], "bytes long"));
	CHECK(tr.n == 2);
	if (tr.n == 2) {
		CHECK_NEAR(tr.v[0].t, (double)time_from_civil(1999, 12, 31, 23, 59, 59), 1e-6);
		CHECK_NEAR(tr.v[1].t, (double)time_from_civil(2000, 1, 1, 0, 0, 4), 1e-6);
	}
	track_free(&tr);
	buf_free(&b);
}

static void test_cap_messages(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 50; i++)
		CHECK(buf_puts(&b, "$GPRMC,bad*00\n") == 0);
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(rep.bad == 50);
	CHECK(rep.n_msgs == TRACK_REPORT_MSGS);
	CHECK(rep.lines == 50);
	track_free(&tr);
	buf_free(&b);
}

static int parse_file(const char *rel, struct track *tr, struct track_report *rep)
{
	char path[1024], err[256];
	struct buf b;
	buf_init(&b, NMEA_MAX_BYTES);
	snprintf(path, sizeof path, "%s/%s", t_corpus(), rel);
	track_init(tr);
	track_report_init(rep);
	int rc = fs_read_file(path, NMEA_MAX_BYTES, &b, err, sizeof err);
	if (rc == 0)
		rc = nmea_parse(rel, b.data, b.len, tr, rep);
	else
		printf("# %s\n", err);
	buf_free(&b);
	return rc;
}

static void test_corpus_logs(void)
{
	if (!t_corpus())
		T_SKIP("corpus absent");
	struct track tr;
	struct track_report rep;
	static const char *no_fix[] = {"gps/GPSmap-76S.log", "gps/garmin-geko201.log"};
	for (size_t i = 0; i < ARRAY_LEN(no_fix); i++) {
		CHECK(parse_file(no_fix[i], &tr, &rep) == 0);
		CHECK(tr.n == 0);
		CHECK(rep.untrusted > 0);
		track_free(&tr);
	}
	static const char *good[] = {"gps/beidou-bd.log", "gps/beidou-gb.log", "gps/bu353s4.log",
				     "gps/sirfstarv-nmea.log", "gps/ublox-zed-f9p-nmea.log",
				     "gps/humminbird-M37.log", "tracks/exiftool-Geotag-magellan.nmea"};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		CHECK(parse_file(good[i], &tr, &rep) == 0);
		if (tr.n == 0 || rep.bad != 0)
			printf("# %s: %zu fixes, %zu bad (%s)\n", good[i], tr.n, rep.bad,
			       rep.n_msgs ? rep.msgs[0] : "");
		CHECK(tr.n > 0);
		CHECK(rep.bad == 0);
		for (size_t k = 0; k < tr.n; k++)
			CHECK(fabs(tr.v[k].lat) <= 90 && fabs(tr.v[k].lon) <= 180 && tr.v[k].mode >= 2);
		if (i == 6) {
			CHECK(tr.n == 12);
			if (tr.n == 12) {
				CHECK_NEAR(tr.v[0].t, (double)time_from_civil(2009, 4, 3, 11, 8, 33) + 0.53,
					   1e-6);
				CHECK_NEAR(tr.v[0].lat, 44 + 15.163 / 60, 1e-9);
				CHECK_NEAR(tr.v[0].lon, -(76 + 31.126 / 60), 1e-9);
				CHECK_NEAR(tr.v[0].alt, 95, 1e-9);
			}
		}
		track_free(&tr);
	}
	/* BeiDou with the GB talker: gpsd reports this position for 05:32:33.438 */
	CHECK(parse_file("gps/beidou-gb.log", &tr, &rep) == 0);
	int found = 0;
	for (size_t k = 0; k < tr.n; k++)
		if (fabs(tr.v[k].lat - 31.248035) < 1e-6 && fabs(tr.v[k].lon - 121.58738) < 1e-6)
			found = 1;
	CHECK(found);
	track_free(&tr);
}

/* A log saved by Notepad: a UTF-8 byte-order mark before the first
 * sentence, here the RMC that dates the GGA after it. */
static void test_bom(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	CHECK(buf_puts(&b, "\xef\xbb\xbf") == 0);
	put(&b, "GNRMC,053233.438,A,3114.8821,N,12135.2428,E,0.07,167.42,020315,,,A");
	put(&b, "GNGGA,053234.438,3114.8830,N,12135.2430,E,2,08,1.0,168.0,M,8.3,M,,0000");
	CHECK(nmea_sniff(b.data, b.len) == 1);
	struct track tr;
	struct track_report rep;
	CHECK(parse(&b, &tr, &rep) == 0);
	CHECK(rep.bad == 0 && rep.untimed == 0);
	CHECK(tr.n == 2);
	track_free(&tr);
	buf_free(&b);
	/* a mark and nothing else: not a log */
	CHECK(nmea_sniff("\xef\xbb\xbf", 3) == 0);
}

int main(void)
{
	RUN(test_checksum);
	RUN(test_epoch_merge);
	RUN(test_untimed_and_untrusted);
	RUN(test_talkers_and_kinds);
	RUN(test_bad_lines);
	RUN(test_cap_messages);
	RUN(test_bom);
	RUN(test_corpus_logs);
	T_EXIT();
}
