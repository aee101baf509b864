/*
 * Unit tests for the track: stable sort and de-duplication (tracks whose
 * time goes backwards), and track_locate's interpolation, gap and
 * extrapolation limits and error estimate.
 */
#include <math.h>
#include <string.h>

#include "gpsclient.h"
#include "t.h"
#include "track.h"

static struct fix mk(double t, double lat, double lon)
{
	struct fix f = {.t = t, .lat = lat, .lon = lon, .alt = NAN, .mode = 2, .eph = NAN, .sats = -1};
	return f;
}

static void test_sort_dedup(void)
{
	struct track tr;
	track_init(&tr);
	double ts[] = {5, 3, 4, 3, 1, NAN, 2, 5};
	for (size_t i = 0; i < ARRAY_LEN(ts); i++) {
		struct fix f = mk(ts[i], (double)i, 0);
		track_push(&tr, &f);
	}
	track_sort_dedup(&tr);
	CHECK(tr.n == 5);
	for (size_t i = 0; i < tr.n; i++)
		CHECK(tr.v[i].t == (double)(i + 1));
	/* the first of equal times wins, in file order */
	if (tr.n == 5) {
		CHECK(tr.v[2].lat == 1);  /* t=3 first seen at index 1 */
		CHECK(tr.v[4].lat == 0);  /* t=5 first seen at index 0 */
	}
	track_free(&tr);
	track_free(&tr); /* twice is fine */
	track_free(NULL);

	/* a big reversed track sorts */
	track_init(&tr);
	for (int i = 10000; i > 0; i--) {
		struct fix f = mk(i, 0, 0);
		track_push(&tr, &f);
	}
	track_sort_dedup(&tr);
	int ok = tr.n == 10000;
	for (size_t i = 1; ok && i < tr.n; i++)
		ok = tr.v[i - 1].t < tr.v[i].t;
	CHECK(ok);
	track_free(&tr);
}

static void test_locate(void)
{
	struct track tr;
	track_init(&tr);
	struct fix_at at;
	CHECK(track_locate(&tr, 100, 60, 10, &at) == EV_ENOENT);
	struct fix a = mk(100, 10.0, 20.0), b = mk(110, 10.001, 20.002), c = mk(300, 11, 21);
	a.alt = 100;
	b.alt = 200;
	a.eph = 4;
	b.eph = 8;
	a.mode = 3;
	b.mode = 3;
	track_push(&tr, &c); /* out of order on purpose */
	track_push(&tr, &a);
	track_push(&tr, &b);
	track_sort_dedup(&tr);

	CHECK(track_locate(&tr, 105, 60, 10, &at) == 0);
	CHECK(at.how == TRACK_AT_INTERP);
	CHECK_NEAR(at.lat, 10.0005, 1e-12);
	CHECK_NEAR(at.lon, 20.001, 1e-12);
	CHECK_NEAR(at.alt, 150, 1e-9);
	CHECK(at.mode == 3);
	CHECK(at.t_before == 100 && at.t_after == 110);
	double seg = track_distance_m(10, 20, 10.001, 20.002);
	CHECK_NEAR(at.error_m, 6 + seg / 10 * 5, 1e-6);

	CHECK(track_locate(&tr, 110, 60, 10, &at) == 0);
	CHECK(at.how == TRACK_AT_EXACT && at.lat == 10.001 && at.error_m == 8);

	/* the 110..300 gap is longer than max-gap: only its edges are held */
	CHECK(track_locate(&tr, 200, 60, 10, &at) == EV_ENOENT);
	CHECK(track_locate(&tr, 120.5, 60, 10, &at) == EV_ENOENT);
	CHECK(track_locate(&tr, 115, 60, 10, &at) == 0);
	CHECK(at.how == TRACK_AT_HELD && at.lat == 10.001 && at.t_before == 110);
	CHECK_NEAR(at.error_m, 8 + seg / 10 * 5, 1e-6);
	CHECK(track_locate(&tr, 292, 60, 10, &at) == 0);
	CHECK(at.how == TRACK_AT_HELD && at.lat == 11 && at.t_after == 300);
	CHECK_NEAR(at.error_m, TRACK_DEFAULT_EPH + TRACK_DEFAULT_SPEED * 8, 1e-9);
	CHECK(track_locate(&tr, 200, 190, 10, &at) == 0);
	CHECK(at.mode == 2 && isnan(at.alt) == 0); /* alt of the nearer end (110, u<0.5) */

	/* before the start and past the end: held for max_extrap, no further */
	CHECK(track_locate(&tr, 95, 60, 10, &at) == 0);
	CHECK(at.how == TRACK_AT_HELD && at.lat == 10.0 && at.lon == 20.0);
	CHECK_NEAR(at.error_m, 4 + seg / 10 * 5, 1e-6);
	CHECK(track_locate(&tr, 89.9, 60, 10, &at) == EV_ENOENT);
	CHECK(track_locate(&tr, 310, 60, 10, &at) == 0);
	CHECK(at.lat == 11 && at.t_before == 300 && isnan(at.t_after));
	/* the last segment is longer than max_gap: default speed */
	CHECK_NEAR(at.error_m, TRACK_DEFAULT_EPH + TRACK_DEFAULT_SPEED * 10, 1e-9);
	CHECK(track_locate(&tr, 310.5, 60, 10, &at) == EV_ENOENT);
	CHECK(track_locate(&tr, 310, 60, 0, &at) == EV_ENOENT);

	CHECK(track_locate(&tr, NAN, 60, 10, &at) == EV_EINVAL);
	CHECK(track_locate(&tr, 105, -1, 10, &at) == EV_EINVAL);
	track_free(&tr);
}

static void test_antimeridian(void)
{
	struct track tr;
	track_init(&tr);
	struct fix a = mk(0, 0, 179.9), b = mk(10, 0, -179.9);
	track_push(&tr, &a);
	track_push(&tr, &b);
	struct fix_at at;
	CHECK(track_locate(&tr, 5, 60, 10, &at) == 0);
	CHECK(fabs(fabs(at.lon) - 180) < 1e-9);
	CHECK(track_locate(&tr, 7.5, 60, 10, &at) == 0);
	CHECK_NEAR(at.lon, -179.95, 1e-9);
	CHECK_NEAR(track_distance_m(0, 179.9, 0, -179.9), 22239, 2);
	track_free(&tr);
}

static void test_single_fix(void)
{
	struct track tr;
	track_init(&tr);
	struct fix a = mk(50, 1, 2);
	track_push(&tr, &a);
	struct fix_at at;
	CHECK(track_locate(&tr, 50, 60, 10, &at) == 0 && at.how == TRACK_AT_EXACT);
	CHECK(track_locate(&tr, 45, 60, 10, &at) == 0 && at.how == TRACK_AT_HELD);
	CHECK_NEAR(at.error_m, TRACK_DEFAULT_EPH + 5 * TRACK_DEFAULT_SPEED, 1e-9);
	CHECK(track_locate(&tr, 39, 60, 10, &at) == EV_ENOENT);
	track_free(&tr);
}

static void test_report(void)
{
	struct track_report r;
	track_report_init(&r);
	for (int i = 0; i < 20; i++)
		track_report_msg(&r, "x:%d: %s", i, "bad");
	CHECK(r.n_msgs == TRACK_REPORT_MSGS);
	CHECK_STR(r.msgs[1], "x:1: bad");
}

/* The gpsd filter on what gps_read leaves behind (no gpsd needed). */
static void test_gpsclient_classify(void)
{
	static struct gps_data_t d;
	struct fix f;
	const char *tpv = "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2019-02-05T02:09:35.000Z\"}\n";
	memset(&d, 0, sizeof d);
	d.set = MODE_SET | TIME_SET | LATLON_SET;
	d.fix.mode = MODE_3D;
	d.fix.time.tv_sec = 1549332575;
	d.fix.latitude = 44.068918333;
	d.fix.longitude = -121.31426;
	d.fix.altMSL = 1123.9;
	d.fix.eph = 17.1;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_FIX);
	CHECK(f.t == 1549332575.0 && f.mode == 3 && f.alt == 1123.9 && f.eph == 17.1);
	CHECK(gpsclient_classify(&d, "{\"class\":\"SKY\"}", &f) == GPSC_NOT_TPV);
	/* simulation: gpsd 3.22 says "status":8 */
	CHECK(gpsclient_classify(&d, "{\"class\":\"TPV\",\"status\":8,\"mode\":3}", &f) == GPSC_SIM);
	d.set |= STATUS_SET;
	d.fix.status = STATUS_SIM;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_SIM);
	d.fix.status = STATUS_DGPS_FIX;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_FIX);
	d.set &= ~TIME_SET;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_NO_TIME);
	d.set |= TIME_SET;
	d.fix.latitude = NAN;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_BAD_POS);
	d.fix.latitude = 44;
	d.fix.mode = MODE_NO_FIX;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_NO_FIX);
	d.fix.mode = MODE_2D;
	CHECK(gpsclient_classify(&d, tpv, &f) == GPSC_FIX);
	CHECK(f.mode == 2 && isnan(f.alt));
}

/* Two receivers that are not together: an operator walking east along
 * lat 45.0 and a drone 0.002 degrees (about 220 m) north, each fixing every
 * 2 s, the drone a second later. A moment is placed on one receiver's own
 * track, never on the line between a fix of each; the one with the smaller
 * error wins, and the other is named as disagreeing. */
static void test_trackset(void)
{
	struct trackset ts;
	trackset_init(&ts);
	for (int t = 0; t <= 20; t += 2) {
		struct fix op = mk(t, 45.0, 124.0 + t * 1e-5);
		struct fix dr = mk(t + 1, 45.002, 124.0 + (t + 1) * 1e-5);
		dr.eph = 3.0; /* the drone's receiver is the better one */
		trackset_push(&ts, "gpsd:127.0.0.1:2947", &op);
		trackset_push(&ts, "file:drone.gpx", &dr);
	}
	struct fix extra = mk(30, 45.0, 124.0003); /* the operator goes on alone */
	trackset_push(&ts, "gpsd:127.0.0.1:2947", &extra);
	trackset_sort(&ts);
	CHECK(ts.n == 2 && ts.total == 23);

	struct fix_at at;
	struct trackset_other o[TRACKSET_OTHERS_MAX];
	size_t which = 9, n_o = 9;
	/* both cover 6.5: the drone's error (3 m + speed x 0.5 s) is the smaller */
	CHECK(trackset_locate(&ts, 6.5, 60, 5, &at, &which, o, &n_o) == 0);
	CHECK(which < ts.n && strcmp(ts.source[which], "file:drone.gpx") == 0);
	CHECK(fabs(at.lat - 45.002) < 1e-9); /* on the drone's line, not between */
	CHECK(n_o == 1);
	if (n_o == 1) {
		CHECK(strcmp(ts.source[o[0].track], "gpsd:127.0.0.1:2947") == 0);
		CHECK(o[0].distance_m > 200 && o[0].distance_m < 240);
	}
	/* only the operator's track covers 28: placed there, nobody disagrees */
	CHECK(trackset_locate(&ts, 28, 60, 5, &at, &which, o, &n_o) == 0);
	CHECK(strcmp(ts.source[which], "gpsd:127.0.0.1:2947") == 0);
	CHECK(fabs(at.lat - 45.0) < 1e-9 && n_o == 0);
	/* nothing covers 100 */
	CHECK(trackset_locate(&ts, 100, 60, 5, &at, &which, o, &n_o) == EV_ENOENT);
	CHECK(trackset_locate(&ts, NAN, 60, 5, &at, NULL, NULL, NULL) == EV_EINVAL);
	trackset_free(&ts);

	/* the same receiver twice over (two sources, the same fixes): they
	 * agree, so neither is named; the tie goes to the source sorting first */
	trackset_init(&ts);
	for (int t = 0; t <= 10; t++) {
		struct fix f = mk(t, 45.0, 124.0 + t * 1e-5);
		trackset_push(&ts, "b", &f);
		trackset_push(&ts, "a", &f);
	}
	trackset_sort(&ts);
	CHECK(trackset_locate(&ts, 4.5, 60, 5, &at, &which, o, &n_o) == 0);
	CHECK(strcmp(ts.source[which], "a") == 0 && n_o == 0);
	trackset_free(&ts);
	trackset_free(&ts); /* twice is fine */
}

/* Fixes of one file at one time: repeats counted, a second position named. */
static void test_same_times(void)
{
	struct track t;
	struct track_report r;
	track_init(&t);
	track_report_init(&r);
	struct fix v[] = {mk(100, 31, 121), mk(105, 31, 121), mk(100, 31, 121),
			  mk(105, 32, 121), mk(90, 30, 120), mk(105, 31, 121)};
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		track_push(&t, &v[i]);
	track_same_times("walk.gpx", &t, &r);
	CHECK(r.repeated == 2);
	CHECK(r.conflicting == 1);
	CHECK(r.n_msgs == 1);
	CHECK_STR(r.msgs[0], "walk.gpx: 2 fixes at 1970-01-01T00:01:45Z: 31.0000000,121.0000000 "
			     "kept, 32.0000000,121.0000000 (111195 m away) not stored");
	CHECK(t.n == ARRAY_LEN(v) && t.v[3].lat == 32); /* the track is not changed */
	track_free(&t);

	track_report_init(&r);
	track_same_times("empty.gpx", &t, &r);
	CHECK(r.repeated == 0 && r.conflicting == 0 && r.n_msgs == 0);
}

int main(void)
{
	RUN(test_gpsclient_classify);
	RUN(test_sort_dedup);
	RUN(test_locate);
	RUN(test_antimeridian);
	RUN(test_single_fix);
	RUN(test_report);
	RUN(test_trackset);
	RUN(test_same_times);
	T_EXIT();
}
