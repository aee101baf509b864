/*
 * Unit tests of the pure re-inspection rules (capture/revisit.c) and of
 * site picking (capture/sites.c): visits split by day and gap, headings
 * that wrap at 360, altitude bands, the greedy one-to-one pairing and its
 * tie-breaks, and the reasons given for photos with no counterpart.
 */
#include <math.h>

#include "revisit.h"
#include "sites.h"
#include "t.h"
#include "timeutil.h"

/* Metres to degrees near 49 N, close enough for building fixtures. */
#define LAT0 49.18
#define LON0 125.22
#define M_LAT (1.0 / 111195.0)
#define M_LON (1.0 / (111195.0 * cos(LAT0 * M_PI / 180.0)))

static struct revisit_photo ph(int64_t site, double north, double east, double heading,
			       double rel)
{
	struct revisit_photo p = {site, 50.0, LAT0 + north * M_LAT, LON0 + east * M_LON, heading,
				  rel, isfinite(rel) ? REVISIT_ALT_REL : REVISIT_ALT_NONE};
	return p;
}

static void test_heading_wraps(void)
{
	CHECK_NEAR(revisit_heading_diff(350, 10), 20, 1e-9);
	CHECK_NEAR(revisit_heading_diff(10, 350), 20, 1e-9);
	CHECK_NEAR(revisit_heading_diff(-170, 170), 20, 1e-9); /* DJI yaw runs -180..180 */
	CHECK_NEAR(revisit_heading_diff(0, 180), 180, 1e-9);
	CHECK_NEAR(revisit_heading_diff(720, 45), 45, 1e-9);
	CHECK_NEAR(revisit_heading_diff(90, 90), 0, 1e-9);
	CHECK(isnan(revisit_heading_diff(NAN, 10)));
	CHECK(isnan(revisit_heading_diff(10, INFINITY)));
}

static void test_bands(void)
{
	CHECK(revisit_band(-5) == 0);
	CHECK(revisit_band(0) == 0);
	CHECK(revisit_band(29.9) == 0);
	CHECK(revisit_band(30) == 1);
	CHECK(revisit_band(79.9) == 1);
	CHECK(revisit_band(80) == 2);
	CHECK(revisit_band(149.9) == 2);
	CHECK(revisit_band(150) == 3);
	CHECK(revisit_band(500) == 3);
	CHECK(revisit_band(NAN) == -1);
}

static void test_visits(void)
{
	/* 10 May 2023 09:00 China time = 01:00 UTC */
	double d1 = (double)time_from_civil(2023, 5, 10, 1, 0, 0);
	double t[] = {d1, d1 + 600, d1 + 3 * 3600,       /* one morning */
		      d1 + 10 * 3600,                     /* 19:00: more than 6 h later */
		      d1 + 14.5 * 3600,                   /* 23:30 */
		      d1 + 15.5 * 3600,                   /* 00:30 next day, China time */
		      d1 + 133 * 86400.0};                /* months later */
	int v[7];
	CHECK(revisit_visits(t, 7, 8 * 3600, 6 * 3600.0, v) == 4);
	int want[] = {1, 1, 1, 2, 2, 3, 4};
	for (int i = 0; i < 7; i++)
		CHECK(v[i] == want[i]);
	/* at UTC the midnight falls elsewhere: 23:30 and 00:30 +08 are the
	 * same UTC day, 19:00 +08 and 23:30 +08 too */
	CHECK(revisit_visits(t, 7, 0, 6 * 3600.0, v) == 3);
	CHECK(v[4] == 2 && v[5] == 2);
	/* a wider gap joins the evening to the morning */
	CHECK(revisit_visits(t, 7, 8 * 3600, 8 * 3600.0, v) == 3);
	CHECK(v[3] == 1);
	CHECK(revisit_visits(t, 0, 8 * 3600, 3600, v) == 0);
	double bad[] = {d1 + 10, d1};
	CHECK(revisit_visits(bad, 2, 8 * 3600, 3600, v) == EV_EINVAL);
	double nan1[] = {NAN};
	CHECK(revisit_visits(nan1, 1, 8 * 3600, 3600, v) == EV_EINVAL);
	CHECK(revisit_visits(t, 7, 8 * 3600, 0, v) == EV_EINVAL);
	CHECK(revisit_local_day(d1 + 15.5 * 3600, 8 * 3600) - revisit_local_day(d1, 8 * 3600) == 1);
}

static void test_parse_gap(void)
{
	double h = 0;
	CHECK(revisit_parse_gap("6", &h) == 0 && h == 6);
	CHECK(revisit_parse_gap("0.5", &h) == 0 && h == 0.5);
	CHECK(revisit_parse_gap("0", &h) == EV_EINVAL);
	CHECK(revisit_parse_gap("-1", &h) == EV_EINVAL);
	CHECK(revisit_parse_gap("6h", &h) == EV_EINVAL);
	CHECK(revisit_parse_gap("", &h) == EV_EINVAL);
	CHECK(revisit_parse_gap("nan", &h) == EV_EINVAL);
	CHECK(revisit_parse_gap("721", &h) == EV_EINVAL);
}

/* The nearest photo facing the same way wins; one facing away is never
 * paired however close; wrap-around headings pair. */
static void test_pair_basic(void)
{
	struct revisit_photo before[] = {
		ph(1, 0, 0, 90, NAN),   /* 0 */
		ph(1, 0, 20, 180, NAN), /* 1 */
		ph(1, 10, 0, 10, NAN),  /* 2 */
	};
	struct revisit_photo after[] = {
		ph(1, 2, 2, 95, NAN),   /* -> 0 */
		ph(1, 1, 21, 270, NAN), /* faces away from 1 (90 apart) */
		ph(1, 11, 0, 350, NAN), /* -> 2, 20 apart across north */
	};
	struct revisit_match m[3];
	long used[3];
	char err[256];
	CHECK(revisit_pair(before, 3, after, 3, m, used, err, sizeof err) == 2);
	CHECK(m[0].before == 0);
	CHECK_NEAR(m[0].heading_diff, 5, 1e-6);
	CHECK_NEAR(m[0].distance_m, sqrt(8.0), 0.05);
	CHECK(m[1].before == -1 && m[1].why == REVISIT_FACING_AWAY);
	CHECK(m[2].before == 2);
	CHECK_NEAR(m[2].heading_diff, 20, 1e-6);
	CHECK(used[0] == 0 && used[1] == -1 && used[2] == 2);
	CHECK(m[0].same_band == -1);
}

/* Exactly 45 degrees still pairs; 45.5 does not. */
static void test_pair_heading_limit(void)
{
	struct revisit_photo before[] = {ph(1, 0, 0, 0, NAN)};
	struct revisit_photo a45[] = {ph(1, 1, 0, 45, NAN)};
	struct revisit_photo a46[] = {ph(1, 1, 0, -45.5, NAN)};
	struct revisit_match m;
	CHECK(revisit_pair(before, 1, a45, 1, &m, NULL, NULL, 0) == 1);
	CHECK(revisit_pair(before, 1, a46, 1, &m, NULL, NULL, 0) == 0);
	CHECK(m.why == REVISIT_FACING_AWAY);
	/* a photo with no heading pairs with one that has */
	struct revisit_photo anone[] = {ph(1, 1, 0, NAN, NAN)};
	CHECK(revisit_pair(before, 1, anone, 1, &m, NULL, NULL, 0) == 1);
	CHECK(isnan(m.heading_diff));
}

/* The same altitude band is preferred over a nearer photo in another
 * band; an unknown band sits between the two. */
static void test_pair_bands(void)
{
	struct revisit_photo before[] = {
		ph(1, 0, 1, 0, 100), /* 0: 1 m away, band 2 */
		ph(1, 0, 8, 0, 20),  /* 1: 8 m away, band 0 */
	};
	struct revisit_photo after[] = {ph(1, 0, 0, 0, 25)};
	struct revisit_match m;
	long used[2];
	CHECK(revisit_pair(before, 2, after, 1, &m, used, NULL, 0) == 1);
	CHECK(m.before == 1 && m.same_band == 1);
	CHECK(used[0] == -1 && used[1] == 0);
	/* no band known for the nearer one: it beats a different band */
	struct revisit_photo before2[] = {
		ph(1, 0, 1, 0, NAN), /* unknown */
		ph(1, 0, 8, 0, 200), /* band 3 */
	};
	CHECK(revisit_pair(before2, 2, after, 1, &m, NULL, NULL, 0) == 1);
	CHECK(m.before == 0 && m.same_band == -1);
	/* heights of different kinds are not compared */
	struct revisit_photo msl = ph(1, 0, 0, 0, 25);
	msl.alt_kind = REVISIT_ALT_MSL;
	CHECK(revisit_pair(before, 2, &msl, 1, &m, NULL, NULL, 0) == 1);
	CHECK(m.before == 0 && m.same_band == -1);
}

/* Each earlier photo is used once; the closer claim wins; ties fall to
 * the lower index so the result never depends on chance. */
static void test_pair_once_and_ties(void)
{
	struct revisit_photo before[] = {ph(1, 0, 0, NAN, NAN)};
	struct revisit_photo after[] = {
		ph(1, 0, 5, NAN, NAN), /* 5 m */
		ph(1, 0, 2, NAN, NAN), /* 2 m: wins */
	};
	struct revisit_match m[2];
	CHECK(revisit_pair(before, 1, after, 2, m, NULL, NULL, 0) == 1);
	CHECK(m[1].before == 0 && m[0].before == -1);
	CHECK(m[0].why == REVISIT_TAKEN);
	CHECK_NEAR(m[0].distance_m, 5, 0.05);
	/* two later photos exactly as far: the first takes it */
	struct revisit_photo tie[] = {ph(1, 0, 3, NAN, NAN), ph(1, 0, -3, NAN, NAN)};
	CHECK(revisit_pair(before, 1, tie, 2, m, NULL, NULL, 0) == 1);
	CHECK(m[0].before == 0 && m[1].before == -1);
	/* two earlier photos exactly as far: the first is taken */
	struct revisit_photo b2[] = {ph(1, 0, 3, NAN, NAN), ph(1, 0, -3, NAN, NAN)};
	struct revisit_photo a1[] = {ph(1, 0, 0, NAN, NAN)};
	CHECK(revisit_pair(b2, 2, a1, 1, m, NULL, NULL, 0) == 1);
	CHECK(m[0].before == 0);
	/* equal distance: the smaller heading difference wins */
	struct revisit_photo b3[] = {ph(1, 0, 3, 40, NAN), ph(1, 0, -3, 5, NAN)};
	struct revisit_photo a3[] = {ph(1, 0, 0, 0, NAN)};
	CHECK(revisit_pair(b3, 2, a3, 1, m, NULL, NULL, 0) == 1);
	CHECK(m[0].before == 1);
	/* greedy by distance, not by the order of the later photos: the first
	 * later photo is nearer to the second earlier one */
	struct revisit_photo b4[] = {ph(1, 0, 0, NAN, NAN), ph(1, 0, 10, NAN, NAN)};
	struct revisit_photo a4[] = {ph(1, 0, 9, NAN, NAN), ph(1, 0, 1, NAN, NAN)};
	CHECK(revisit_pair(b4, 2, a4, 2, m, NULL, NULL, 0) == 2);
	CHECK(m[0].before == 1 && m[1].before == 0);
}

/* Sites and radii bound the candidates; the reasons name why. */
static void test_pair_reasons(void)
{
	struct revisit_photo before[] = {ph(1, 0, 30, 0, NAN), ph(2, 0, 2000, 0, NAN)};
	struct revisit_photo after[] = {
		ph(1, 0, -30, 0, NAN),   /* same site, 60 m apart > 50 m radius */
		ph(0, 0, 500, 0, NAN),   /* in no site */
		ph(3, 0, 4000, 0, NAN),  /* a site the earlier visit never saw */
		ph(1, NAN, NAN, 0, NAN), /* no position */
		ph(2, 0, 2001, 0, NAN),  /* pairs across to site 2 */
	};
	after[3].lat = after[3].lon = NAN;
	struct revisit_match m[5];
	CHECK(revisit_pair(before, 2, after, 5, m, NULL, NULL, 0) == 1);
	CHECK(m[0].why == REVISIT_TOO_FAR);
	CHECK_NEAR(m[0].distance_m, 60, 0.2);
	CHECK(m[1].why == REVISIT_NO_SITE);
	CHECK(m[2].why == REVISIT_NO_EARLIER);
	CHECK(m[3].why == REVISIT_NO_PLACE);
	CHECK(m[4].before == 1 && m[4].why == REVISIT_PAIRED);
	/* a photo in site 1 is never paired with one of site 2, however near */
	struct revisit_photo b5[] = {ph(2, 0, 0, 0, NAN)};
	struct revisit_photo a5[] = {ph(1, 0, 1, 0, NAN)};
	CHECK(revisit_pair(b5, 1, a5, 1, m, NULL, NULL, 0) == 0);
	CHECK(m[0].why == REVISIT_NO_EARLIER);
	for (int w = REVISIT_PAIRED; w <= REVISIT_EARLIER_UNPLACED; w++)
		CHECK(strlen(revisit_why_text(w)) > 0);
	/* empty sides */
	CHECK(revisit_pair(NULL, 0, a5, 1, m, NULL, NULL, 0) == 0);
	CHECK(revisit_pair(b5, 1, NULL, 0, NULL, NULL, NULL, 0) == 0);
}

/* The reasons are true where the greedy order is not by distance alone,
 * and where the earlier photos of a site have no position. */
static void test_pair_reasons_true(void)
{
	/* the earlier shot from 50 m goes to the later one 30 m off in its
	 * height band, not to the 20 m shot 1 m off: that one was not beaten
	 * by a closer match */
	struct revisit_photo b1[] = {ph(1, 0, 0, 0, 50)};
	struct revisit_photo a1[] = {ph(1, 1, 0, 0, 20), ph(1, 30, 0, 0, 50)};
	struct revisit_match m[2];
	CHECK(revisit_pair(b1, 1, a1, 2, m, NULL, NULL, 0) == 1);
	CHECK(m[1].before == 0 && m[1].same_band == 1);
	CHECK(m[0].before == -1 && m[0].why == REVISIT_TAKEN);
	CHECK_NEAR(m[0].distance_m, 1, 0.05);
	CHECK(strstr(revisit_why_text(REVISIT_TAKEN), "closer") == NULL);
	CHECK(strstr(revisit_why_text(REVISIT_TAKEN), "better match") != NULL);
	/* an earlier photo filed in site 1 by hand, with no position: the
	 * site has an earlier photo, just none to compare */
	struct revisit_photo nb[] = {ph(1, 0, 0, 0, 50)};
	nb[0].lat = nb[0].lon = NAN;
	struct revisit_photo ab[] = {ph(1, 0, 0, 0, 50)};
	CHECK(revisit_pair(nb, 1, ab, 1, m, NULL, NULL, 0) == 0);
	CHECK(m[0].why != REVISIT_NO_EARLIER);
	CHECK(m[0].why == REVISIT_EARLIER_UNPLACED);
	CHECK(isnan(m[0].distance_m));
	CHECK_STR(revisit_why_text(m[0].why), "the earlier photos at this site have no position");
	/* one located earlier photo there decides: too far */
	struct revisit_photo mix[] = {nb[0], ph(1, 0, 90, 0, 50)};
	CHECK(revisit_pair(mix, 2, ab, 1, m, NULL, NULL, 0) == 0);
	CHECK(m[0].why == REVISIT_TOO_FAR);
}

static void test_pair_limits(void)
{
	char err[256] = "";
	struct revisit_photo one = ph(1, 0, 0, 0, NAN);
	struct revisit_match m;
	CHECK(revisit_pair(&one, (size_t)REVISIT_MAX_PHOTOS + 1, &one, 1, &m, NULL, err,
			   sizeof err) == EV_ELIMIT);
	CHECK(strstr(err, "too many photos") != NULL);
}

static void test_sites_pick(void)
{
	struct site_geo v[] = {
		{10, LAT0, LON0, 50},
		{11, LAT0, LON0 + 60 * M_LON, 50}, /* overlaps the first */
		{12, LAT0 + 1, LON0, 100},
	};
	double d = -1;
	CHECK(sites_pick(v, 3, LAT0, LON0 + 20 * M_LON, &d) == 0);
	CHECK_NEAR(d, 20, 0.1);
	CHECK(sites_pick(v, 3, LAT0, LON0 + 40 * M_LON, NULL) == 1); /* nearer the second */
	CHECK(sites_pick(v, 3, LAT0, LON0 + 115 * M_LON, NULL) == -1);
	CHECK(sites_pick(v, 3, LAT0 + 1 + 99 * M_LAT, LON0, NULL) == 2);
	CHECK(sites_pick(v, 3, NAN, LON0, NULL) == -1);
	CHECK(sites_pick(NULL, 0, LAT0, LON0, NULL) == -1);
	/* the same centre twice: the first wins */
	struct site_geo same[] = {{20, LAT0, LON0, 50}, {21, LAT0, LON0, 80}};
	CHECK(sites_pick(same, 2, LAT0, LON0 + 10 * M_LON, NULL) == 0);
	/* just inside the radius */
	CHECK(sites_pick(v, 1, LAT0, LON0 + 49.99 * M_LON, NULL) == 0);
	char err[256];
	CHECK(sites_check(49.18, 125.22, 50, err, sizeof err) == 0);
	CHECK(sites_check(91, 125.22, 50, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "latitude") != NULL);
	CHECK(sites_check(49, 181, 50, err, sizeof err) == EV_EINVAL);
	CHECK(sites_check(0, 0, 50, err, sizeof err) == EV_EINVAL);
	CHECK(sites_check(49, 125, 0, err, sizeof err) == EV_EINVAL);
	CHECK(sites_check(49, 125, NAN, err, sizeof err) == EV_EINVAL);
	CHECK(sites_check(49, 125, SITES_MAX_RADIUS_M + 1, err, sizeof err) == EV_EINVAL);
}

int main(void)
{
	RUN(test_heading_wraps);
	RUN(test_bands);
	RUN(test_visits);
	RUN(test_parse_gap);
	RUN(test_pair_basic);
	RUN(test_pair_heading_limit);
	RUN(test_pair_bands);
	RUN(test_pair_once_and_ties);
	RUN(test_pair_reasons);
	RUN(test_pair_reasons_true);
	RUN(test_pair_limits);
	RUN(test_sites_pick);
	T_EXIT();
}
