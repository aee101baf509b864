/*
 * Unit tests for the GPX reader: GPX 1.0 and 1.1, points of every kind,
 * points without time, hostile XML (entities, wrong root, broken markup),
 * and the gpscorrelate and exiftool tracks of the corpus.
 */
#include "buf.h"
#include "fsutil.h"
#include "gpx.h"
#include "t.h"
#include "timeutil.h"

static int parse_text(const char *text, struct track *tr, struct track_report *rep, char *err,
		      size_t errlen)
{
	track_init(tr);
	track_report_init(rep);
	err[0] = '\0';
	return gpx_parse("t.gpx", text, strlen(text), tr, rep, err, errlen);
}

static void test_gpx11_kinds(void)
{
	const char *x =
		"<?xml version=\"1.0\"?>\n"
		"<gpx version=\"1.1\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n"
		"<wpt lat=\"10.5\" lon=\"20.25\"><time>2020-01-01T00:00:00Z</time></wpt>\n"
		"<rte><rtept lat=\"-10\" lon=\"-20\"><ele>5.5</ele><time>2020-01-01T00:00:01.5Z</time></rtept></rte>\n"
		"<trk><trkseg>\n"
		"<trkpt lat=\"1\" lon=\"2\"><time>2020-01-01T08:00:02+08:00</time>"
		"<extensions><time>junk</time></extensions></trkpt>\n"
		"<trkpt lat=\"1\" lon=\"2\"/>\n"
		"<trkpt lat=\"95\" lon=\"2\"><time>2020-01-01T00:00:03Z</time></trkpt>\n"
		"<trkpt lat=\"1\" lon=\"2\"><time>yesterday</time></trkpt>\n"
		"<trkpt lat=\"1\" lon=\"2\"><time>2020-01-01T00:00:04</time></trkpt>\n"
		"</trkseg></trk></gpx>\n";
	struct track tr;
	struct track_report rep;
	char err[256];
	CHECK(parse_text(x, &tr, &rep, err, sizeof err) == 0);
	CHECK(tr.n == 4);
	CHECK(rep.no_time == 1);
	CHECK(rep.bad == 2);
	double t0 = (double)time_from_civil(2020, 1, 1, 0, 0, 0);
	if (tr.n == 4) {
		CHECK_NEAR(tr.v[0].t, t0, 1e-9);
		CHECK_NEAR(tr.v[0].lat, 10.5, 1e-12);
		CHECK(isnan(tr.v[0].alt) && tr.v[0].mode == 2);
		CHECK_NEAR(tr.v[1].t, t0 + 1.5, 1e-9);
		CHECK_NEAR(tr.v[1].alt, 5.5, 1e-12);
		CHECK(tr.v[1].mode == 3);
		CHECK_NEAR(tr.v[2].t, t0 + 2, 1e-9);
		CHECK_NEAR(tr.v[3].t, t0 + 4, 1e-9); /* no zone: UTC */
	}
	int named = 0;
	for (size_t i = 0; i < rep.n_msgs; i++)
		if (strstr(rep.msgs[i], "t.gpx:8:") || strstr(rep.msgs[i], "t.gpx:9:"))
			named++;
	CHECK(named == 2);
	CHECK(gpx_sniff(x, strlen(x)) == 1);
	track_free(&tr);
}

/* RFC 3339 lets a writer put the T and the Z in lower case: the point is
 * taken, at the same instant, and not warned about as zoneless */
static void test_lowercase_zone(void)
{
	const char *x = "<gpx version=\"1.1\"><trk><trkseg>\n"
			"<trkpt lat=\"1\" lon=\"2\"><time>2020-01-01t00:00:05z</time></trkpt>\n"
			"</trkseg></trk></gpx>\n";
	struct track tr;
	struct track_report rep;
	char err[256];
	CHECK(parse_text(x, &tr, &rep, err, sizeof err) == 0);
	CHECK(tr.n == 1 && rep.bad == 0 && rep.n_msgs == 0);
	if (tr.n == 1)
		CHECK_NEAR(tr.v[0].t, (double)time_from_civil(2020, 1, 1, 0, 0, 5), 1e-9);
	track_free(&tr);
}

static void test_gpx10_fix(void)
{
	const char *x =
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
		"<gpx version=\"1.0\" xmlns=\"http://www.topografix.com/GPX/1/0\"><name>M\xfcnchen</name>\n"
		"<trk><trkseg>\n"
		"<trkpt lat=\"48.1\" lon=\"11.5\"><time>2006-09-20T18:41:24Z</time><fix>none</fix></trkpt>\n"
		"<trkpt lat=\"48.1\" lon=\"11.5\"><time>2006-09-20T18:41:25Z</time><fix>2d</fix>"
		"<sat>4</sat><hdop>2.0</hdop></trkpt>\n"
		"</trkseg></trk></gpx>\n";
	struct track tr;
	struct track_report rep;
	char err[256];
	CHECK(parse_text(x, &tr, &rep, err, sizeof err) == 0);
	CHECK(tr.n == 1);
	CHECK(rep.untrusted == 1);
	if (tr.n == 1) {
		CHECK(tr.v[0].mode == 2 && tr.v[0].sats == 4);
		CHECK_NEAR(tr.v[0].eph, 2.0 * TRACK_UERE, 1e-9);
	}
	track_free(&tr);
}

static void test_hostile(void)
{
	struct track tr;
	struct track_report rep;
	char err[256];
	const char *laughs =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE gpx [\n<!ENTITY a \"aaaaaaaaaa\">\n"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n"
		"<gpx version=\"1.1\"><wpt lat=\"1\" lon=\"2\"><name>&c;</name>"
		"<time>2020-01-01T00:00:00Z</time></wpt></gpx>\n";
	CHECK(parse_text(laughs, &tr, &rep, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "entit") != NULL);
	CHECK(tr.n == 0);
	track_free(&tr);

	const char *one = "<?xml version=\"1.0\"?>\n<!DOCTYPE gpx [<!ENTITY a \"x\">]>\n"
			  "<gpx version=\"1.1\"><wpt lat=\"1\" lon=\"2\"><name>&a;</name></wpt></gpx>";
	CHECK(parse_text(one, &tr, &rep, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "declares XML entities") != NULL);
	track_free(&tr);

	const char *ext = "<?xml version=\"1.0\"?>\n<!DOCTYPE gpx SYSTEM \"http://127.0.0.1:9/x.dtd\">\n"
			  "<gpx version=\"1.1\"><wpt lat=\"1\" lon=\"2\"><time>2020-01-01T00:00:00Z"
			  "</time></wpt></gpx>\n";
	CHECK(parse_text(ext, &tr, &rep, err, sizeof err) == 0);
	CHECK(tr.n == 1);
	track_free(&tr);

	CHECK(parse_text("<kml><Placemark/></kml>", &tr, &rep, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "not a GPX file") != NULL);
	track_free(&tr);

	CHECK(parse_text("<gpx version=\"1.1\"><trk><trkseg><trkpt lat=\"1\" lon=\"2\">"
			 "<time>2020-01-01T00:00:00Z</time></trkpt><trkpt lat=\"1\"",
			 &tr, &rep, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "t.gpx:1:") != NULL && strstr(err, "XML") != NULL);
	CHECK(tr.n == 1);
	track_free(&tr);

	CHECK(parse_text("", &tr, &rep, err, sizeof err) != 0);
	track_free(&tr);
	CHECK(gpx_sniff("$GPRMC", 6) == 0);

	/* a time in a year out of range is named as that, not as bad syntax */
	CHECK(parse_text("<gpx version=\"1.1\"><wpt lat=\"1\" lon=\"2\">"
			 "<time>9999-12-31T23:59:59Z</time></wpt><wpt lat=\"1\" lon=\"2\">"
			 "<time>2020-01-01 x</time></wpt></gpx>",
			 &tr, &rep, err, sizeof err) == 0);
	CHECK(tr.n == 0 && rep.bad == 2 && rep.n_msgs == 2);
	CHECK_STR(rep.msgs[0], "t.gpx:1: time '9999-12-31T23:59:59Z' is in the year 9999, outside "
			       "the years evcap accepts (1900 to 2200)");
	CHECK_STR(rep.msgs[1], "t.gpx:1: time '2020-01-01 x' is not ISO 8601");
	track_free(&tr);

	/* a point with two times is bad, not stored at either */
	CHECK(parse_text("<gpx version=\"1.1\">\n<wpt lat=\"1\" lon=\"2\">"
			 "<time>2025-01-02T00:00:00Z</time><ele>5</ele>"
			 "<time>2025-01-03T00:00:00Z</time></wpt>\n<wpt lat=\"1\" lon=\"2\">"
			 "<time>2025-01-04T00:00:00Z</time></wpt></gpx>",
			 &tr, &rep, err, sizeof err) == 0);
	CHECK(tr.n == 1 && rep.bad == 1 && rep.n_msgs == 1);
	CHECK_STR(rep.msgs[0], "t.gpx:2: point gives two times (the second is "
			       "'2025-01-03T00:00:00Z'); keep one <time> in it to import the point");
	if (tr.n == 1) {
		CHECK_NEAR(tr.v[0].t, (double)time_from_civil(2025, 1, 4, 0, 0, 0), 1e-9);
	}
	track_free(&tr);
}

static int parse_file(const char *rel, struct track *tr, struct track_report *rep, char *err,
		      size_t errlen)
{
	char path[1024];
	struct buf b;
	buf_init(&b, GPX_MAX_BYTES);
	snprintf(path, sizeof path, "%s/%s", t_corpus(), rel);
	track_init(tr);
	track_report_init(rep);
	int rc = fs_read_file(path, GPX_MAX_BYTES, &b, err, errlen);
	if (rc == 0)
		rc = gpx_parse(rel, b.data, b.len, tr, rep, err, errlen);
	if (rc)
		printf("# %s\n", err);
	buf_free(&b);
	return rc;
}

static void test_corpus(void)
{
	if (!t_corpus())
		T_SKIP("corpus absent");
	struct {
		const char *file;
		size_t fixes, no_time;
	} cases[] = {
		{"gpscorrelate-staging/nopoints.gpx", 0, 0},
		{"gpscorrelate-staging/nosegments.gpx", 0, 0},
		{"gpscorrelate-staging/notracks.gpx", 0, 0},
		{"gpscorrelate-staging/notimes.gpx", 0, 3},
		{"gpscorrelate-staging/notimeele.gpx", 0, 3},
		{"gpscorrelate-staging/noelevations.gpx", 1, 0},
		{"gpscorrelate-staging/track1.gpx", 1, 0},
		{"gpscorrelate-staging/timeback.gpx", 4, 0},
	};
	struct track tr;
	struct track_report rep;
	char err[256];
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		CHECK(parse_file(cases[i].file, &tr, &rep, err, sizeof err) == 0);
		if (tr.n != cases[i].fixes || rep.no_time != cases[i].no_time)
			printf("# %s: %zu fixes, %zu without time\n", cases[i].file, tr.n, rep.no_time);
		CHECK(tr.n == cases[i].fixes);
		CHECK(rep.no_time == cases[i].no_time);
		CHECK(rep.bad == 0);
		if (i == 5 && tr.n == 1)
			CHECK(isnan(tr.v[0].alt));
		if (i == 6 && tr.n == 1) {
			CHECK_NEAR(tr.v[0].lat, 37.420418, 1e-12);
			CHECK_NEAR(tr.v[0].lon, -122.084027, 1e-12);
			CHECK_NEAR(tr.v[0].alt, 10, 1e-12);
			CHECK_NEAR(tr.v[0].t, (double)time_from_civil(2012, 11, 22, 12, 34, 56), 1e-9);
		}
		track_free(&tr);
	}
	/* every other track of the corpus reads without a bad point */
	static const char *all[] = {
		"tracks/exiftool-Geotag.gpx", "tracks/sf_30km_h.gpx",
		"gpscorrelate-staging/track2.gpx", "gpscorrelate-staging/track3.gpx",
		"gpscorrelate-staging/track4.gpx", "gpscorrelate-staging/track5.gpx",
		"gpscorrelate-staging/track6.gpx", "gpscorrelate-staging/track7.gpx",
		"gpscorrelate-staging/track8.gpx", "gpscorrelate-staging/track9.gpx",
		"gpscorrelate-staging/track10.gpx", "gpscorrelate-staging/track11.gpx",
		"gpscorrelate-staging/track12.gpx", "gpscorrelate-staging/track13.gpx",
		"gpscorrelate-staging/track14.gpx", "gpscorrelate-staging/track15.gpx",
		"gpscorrelate-staging/track16.gpx", "gpscorrelate-staging/track17.gpx",
	};
	for (size_t i = 0; i < ARRAY_LEN(all); i++) {
		CHECK(parse_file(all[i], &tr, &rep, err, sizeof err) == 0);
		if (tr.n == 0 || rep.bad)
			printf("# %s: %zu fixes, %zu bad %s\n", all[i], tr.n, rep.bad,
			       rep.n_msgs ? rep.msgs[0] : "");
		CHECK(tr.n > 0);
		track_free(&tr);
	}
}

int main(void)
{
	RUN(test_gpx11_kinds);
	RUN(test_lowercase_zone);
	RUN(test_gpx10_fix);
	RUN(test_hostile);
	RUN(test_corpus);
	T_EXIT();
}
