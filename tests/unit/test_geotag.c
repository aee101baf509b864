/*
 * The live batch of GPS fixes against a real SQLite store held by another
 * writer: a refused commit keeps every fix, is not tried again before
 * max_age has passed (so a loop feeding the batch is not held by the busy
 * timeout at each fix), and once the store is free all of them are
 * committed; past GEOTAG_BATCH_HOLD_MAX held fixes a new one is refused.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "geotag.h"
#include "store.h"
#include "t.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/evcap-unit-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? xstrdup(d) : NULL;
}

static void rmrf(const char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", d);
	free(cmd);
}

static struct fix fix_at(double t)
{
	struct fix f = {0};
	f.t = t;
	f.lat = 47.3 + (t - 1.7e9) * 1e-6;
	f.lon = 123.9;
	f.alt = 140.0;
	f.mode = 3;
	f.eph = 4.0;
	f.sats = 9;
	return f;
}

static long fix_rows(struct store *s)
{
	sqlite3_stmt *st = NULL;
	long n = -1;
	if (sqlite3_prepare_v2(store_db(s), "SELECT count(*) FROM fixes", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A new store opened twice: a for the batch, waiting at most busy_ms for
 * another writer (not the store's 10 s), and b as that other writer.
 * 0, or -1 with whatever was made closed and removed. */
static int two_handles(char **d, struct store **a, struct store **b, int busy_ms)
{
	char err[512];
	*a = *b = NULL;
	*d = tmpdir();
	CHECK(*d != NULL);
	if (!*d)
		return -1;
	CHECK(store_open(*d, STORE_CREATE, a, err, sizeof err) == 0);
	CHECK(store_open(*d, 0, b, err, sizeof err) == 0);
	if (*a && *b) {
		store_set_busy_ms(*a, busy_ms);
		return 0;
	}
	store_close(*b);
	store_close(*a);
	rmrf(*d);
	free(*d);
	return -1;
}

static void test_refused_commit_keeps_fixes(void)
{
	char *d, err[512];
	struct store *a, *b;
	if (two_handles(&d, &a, &b, 50))
		return;
	struct geotag_batch *g = geotag_batch_new(a, "gpsd:test:2947", 4, 1.0);

	/* the other writer holds the store */
	CHECK(sqlite3_exec(store_db(b), "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	double now = 100.0;
	int refused = 0;
	for (int i = 0; i < 10; i++, now += 0.1) {
		struct fix f = fix_at(1.7e9 + i);
		CHECK(geotag_batch_add(g, &f, now, err, sizeof err) == 0);
		if (geotag_batch_tick(g, now, err, sizeof err) != 0) {
			refused++;
			CHECK(strstr(err, "tried again in 1 s") != NULL);
		}
	}
	/* due at the 4th fix and refused then; not tried again within 1 s
	 * though the batch stayed over its size */
	CHECK(refused == 1);
	CHECK(geotag_batch_held(g) == 10);
	CHECK(geotag_batch_stored(g) == 0);
	CHECK(geotag_batch_due(g, now) > 0.0);
	CHECK(geotag_batch_due(g, now) <= 1.0);

	/* a second later, still held: refused again, all still held */
	now += 1.0;
	CHECK(geotag_batch_tick(g, now, err, sizeof err) != 0);
	CHECK(geotag_batch_held(g) == 10);

	/* the other writer lets go: the next try commits them all */
	CHECK(sqlite3_exec(store_db(b), "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(geotag_batch_tick(g, now + 0.5, err, sizeof err) == 0);
	CHECK(geotag_batch_held(g) == 10); /* waiting out the second */
	now += 1.0;
	CHECK(geotag_batch_tick(g, now, err, sizeof err) == 0);
	CHECK(geotag_batch_held(g) == 0);
	CHECK(geotag_batch_stored(g) == 10);
	CHECK(fix_rows(a) == 10);

	/* and from there, as usual: due at 4 fixes */
	for (int i = 10; i < 14; i++) {
		struct fix f = fix_at(1.7e9 + i);
		CHECK(geotag_batch_add(g, &f, now, err, sizeof err) == 0);
		CHECK(geotag_batch_tick(g, now, err, sizeof err) == 0);
	}
	CHECK(geotag_batch_held(g) == 0 && fix_rows(a) == 14);
	geotag_batch_free(g);
	store_close(b);
	store_close(a);
	rmrf(d);
	free(d);
}

static void test_hold_limit(void)
{
	char *d, err[512];
	struct store *a, *b;
	if (two_handles(&d, &a, &b, 20))
		return;
	struct geotag_batch *g = geotag_batch_new(a, "gpsd:test:2947", 64, 2.0);
	CHECK(sqlite3_exec(store_db(b), "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	/* held as if each commit had been refused (adding never commits) */
	double now = 0.0;
	int ok = 1;
	for (int i = 0; i < GEOTAG_BATCH_HOLD_MAX && ok; i++, now += 1.0) {
		struct fix f = fix_at(1.7e9 + i);
		ok = geotag_batch_add(g, &f, now, err, sizeof err) == 0;
	}
	CHECK(ok);
	CHECK(geotag_batch_held(g) == GEOTAG_BATCH_HOLD_MAX);
	struct fix f = fix_at(1.8e9);
	CHECK(geotag_batch_add(g, &f, now, err, sizeof err) == EV_ELIMIT);
	CHECK(strstr(err, "not kept") != NULL);
	CHECK(geotag_batch_held(g) == GEOTAG_BATCH_HOLD_MAX);
	CHECK(sqlite3_exec(store_db(b), "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(geotag_batch_flush(g, err, sizeof err) == 0);
	CHECK(fix_rows(a) == GEOTAG_BATCH_HOLD_MAX);
	CHECK(geotag_batch_held(g) == 0);
	geotag_batch_free(g);
	store_close(b);
	store_close(a);
	rmrf(d);
	free(d);
}

int main(void)
{
	RUN(test_refused_commit_keeps_fixes);
	RUN(test_hold_limit);
	T_EXIT();
}
