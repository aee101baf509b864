/*
 * Tests of evcapd's pure parts: when the settling list calls a file
 * complete (closed and quiet, stable for settle_seconds, an old file found
 * by a scan, back-off after a failure, a file that went away), the store
 * lock, the capture_seen table, and the command line.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon.h"
#include "daemon_settle.h"
#include "t.h"

/* Runs the due entries at `now` against one fake file state. */
static enum settle_state look(struct settle *s, const char *path, double now, uint64_t size,
			      int64_t mt, double age)
{
	const char *due[8];
	size_t n = settle_due(s, now, due, 8);
	for (size_t i = 0; i < n; i++)
		if (strcmp(due[i], path) == 0)
			return settle_observe(s, path, 1, size, mt, age, now);
	return (enum settle_state)-1; /* not due */
}

static void test_settle_closed_then_quiet(void)
{
	struct settle *s = settle_new(2.0);
	CHECK(settle_touch(s, "/m/a.jpg", 0, 10.0) == 0);
	CHECK(settle_touch(s, "/m/a.jpg", 1, 10.1) == 0); /* closed after writing */
	CHECK(settle_count(s) == 1);
	/* not due before the quiet time has passed */
	CHECK((int)look(s, "/m/a.jpg", 10.2, 100, 1, 0) == -1);
	CHECK(look(s, "/m/a.jpg", 10.1 + SETTLE_QUIET_SECONDS, 100, 1, 0) == SETTLE_READY);
	settle_forget(s, "/m/a.jpg");
	CHECK(settle_count(s) == 0);
	CHECK(settle_next_deadline(s) < 0);
	settle_free(s);
}

static void test_settle_write_after_close(void)
{
	struct settle *s = settle_new(2.0);
	CHECK(settle_touch(s, "/m/b", 1, 0.0) == 0);
	CHECK(settle_touch(s, "/m/b", 0, 0.1) == 0); /* opened again and written */
	/* its writer has it open: unchanged for longer than settle_seconds is
	 * still not complete (a stalled copy would be taken truncated) */
	CHECK(look(s, "/m/b", 1.0, 10, 1, 0) == SETTLE_WAIT);
	CHECK(look(s, "/m/b", 1.5, 10, 1, 0) == SETTLE_WAIT);
	CHECK(look(s, "/m/b", 3.1, 10, 1, 0) == SETTLE_WAIT);
	CHECK(look(s, "/m/b", 60.0, 10, 1, 0) == SETTLE_WAIT);
	/* closed at last: taken after the quiet time */
	CHECK(settle_touch(s, "/m/b", 1, 61.0) == 0);
	CHECK(look(s, "/m/b", 61.0 + SETTLE_QUIET_SECONDS, 10, 1, 0) == SETTLE_READY);
	/* a close lost (inotify overflow): the size rule again after a long
	 * silence */
	CHECK(settle_touch(s, "/m/lost", 0, 100.0) == 0);
	CHECK(look(s, "/m/lost", 100.0 + SETTLE_CHECK_SECONDS, 5, 1, 0) == SETTLE_WAIT);
	CHECK(look(s, "/m/lost", 100.0 + SETTLE_WRITER_SECONDS - 1, 5, 1, 0) == SETTLE_WAIT);
	CHECK(look(s, "/m/lost", 100.0 + SETTLE_WRITER_SECONDS, 5, 1, 0) == SETTLE_READY);
	settle_free(s);
}

static void test_settle_stable_size(void)
{
	struct settle *s = settle_new(2.0);
	/* found by a scan while another machine still writes it */
	CHECK(settle_add_scanned(s, "/m/c", 0.0) == 0);
	CHECK(look(s, "/m/c", 0.0, 100, 1, 0.1) == SETTLE_WAIT);
	CHECK(look(s, "/m/c", 0.5, 200, 2, 0.1) == SETTLE_WAIT); /* grew */
	CHECK(look(s, "/m/c", 1.0, 200, 2, 0.6) == SETTLE_WAIT);
	CHECK(look(s, "/m/c", 2.0, 200, 2, 1.6) == SETTLE_WAIT);
	CHECK(look(s, "/m/c", 2.5, 200, 2, 2.1) == SETTLE_READY); /* 2 s unchanged */
	/* a scan finding a long-untouched file takes it at the first look */
	CHECK(settle_add_scanned(s, "/m/old", 5.0) == 0);
	CHECK(look(s, "/m/old", 5.0, 7, 7, 3600) == SETTLE_READY);
	/* a scan does not reset a file already noted by events */
	CHECK(settle_touch(s, "/m/ev", 0, 6.0) == 0);
	CHECK(settle_add_scanned(s, "/m/ev", 6.0) == 0);
	CHECK((int)look(s, "/m/ev", 6.1, 1, 1, 3600) == -1);
	CHECK(look(s, "/m/ev", 6.0 + SETTLE_CHECK_SECONDS, 1, 1, 3600) == SETTLE_WAIT);
	settle_free(s);
}

static void test_settle_backoff_and_gone(void)
{
	struct settle *s = settle_new(1.0);
	CHECK(settle_touch(s, "/m/d", 1, 0.0) == 0);
	CHECK(look(s, "/m/d", 1.0, 5, 5, 1) == SETTLE_READY);
	settle_park(s, "/m/d");
	CHECK((int)look(s, "/m/d", 100.0, 5, 5, 1) == -1); /* parked while queued */
	/* the card was pulled: the ingest failed */
	settle_failed(s, "/m/d", 2.0);
	CHECK(settle_attempts(s, "/m/d") == 1);
	settle_failed(s, "/m/d", 2.0);
	settle_failed(s, "/m/d", 2.0);
	CHECK(settle_attempts(s, "/m/d") == 3);
	/* the third failure waits 4 s */
	CHECK((int)look(s, "/m/d", 5.9, 5, 5, 10) == -1);
	CHECK(look(s, "/m/d", 6.0, 5, 5, 10) == SETTLE_READY); /* old and back: take it */
	/* missing: kept with back-off, dropped after SETTLE_GONE_SECONDS */
	const char *due[4];
	CHECK(settle_observe(s, "/m/d", 0, 0, 0, 0, 10.0) == SETTLE_WAIT);
	CHECK(settle_due(s, 10.5, due, 4) == 0);
	CHECK(settle_observe(s, "/m/d", 0, 0, 0, 0, 10.0 + SETTLE_GONE_SECONDS) == SETTLE_GONE);
	CHECK(settle_count(s) == 0);
	CHECK(settle_attempts(s, "/m/d") == -1);
	/* written and closed just now, then a fast failure (the store's disk
	 * full): after the back-off it is taken once seen stable for the
	 * settle time, not held for SETTLE_WRITER_SECONDS as if still open */
	settle_set_seconds(s, 2.0);
	CHECK(settle_touch(s, "/m/e", 1, 20.0) == 0);
	CHECK(look(s, "/m/e", 20.0 + SETTLE_QUIET_SECONDS, 9, 9, 0.3) == SETTLE_READY);
	settle_failed(s, "/m/e", 20.5);
	CHECK(look(s, "/m/e", 21.5, 9, 9, 1.5) == SETTLE_WAIT);
	CHECK(look(s, "/m/e", 23.5, 9, 9, 3.5) == SETTLE_READY);
	settle_free(s);
}

static void test_settle_many(void)
{
	struct settle *s = settle_new(1.0);
	char p[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof p, "/m/DCIM/100MEDIA/DJI_%04d.JPG", i);
		CHECK(settle_add_scanned(s, p, 0.0) == 0);
	}
	CHECK(settle_count(s) == 5000);
	CHECK(settle_add_scanned(s, "/m/DCIM/100MEDIA/DJI_0042.JPG", 0.0) == 0);
	CHECK(settle_count(s) == 5000);
	const char *due[256];
	CHECK(settle_due(s, 0.0, due, 256) == 256);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(p, sizeof p, "/m/DCIM/100MEDIA/DJI_%04d.JPG", i);
		settle_forget(s, p);
	}
	CHECK(settle_count(s) == 2500);
	CHECK(settle_attempts(s, "/m/DCIM/100MEDIA/DJI_0001.JPG") == 0);
	CHECK(settle_attempts(s, "/m/DCIM/100MEDIA/DJI_0002.JPG") == -1);
	settle_free(s);
	settle_free(NULL);
}

static char *tmpdir(void)
{
	char *d = xasprintf("%s/evcap-tdaemon-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

static void test_lock(void)
{
	char *d = tmpdir();
	char err[512];
	int a = -1, b = -1;
	if (!d)
		T_SKIP("no temporary folder");
	CHECK(daemon_lock_store(d, &a, err, sizeof err) == 0);
	/* a second open of the lock file conflicts, even in one process */
	CHECK(daemon_lock_store(d, &b, err, sizeof err) == EV_EEXIST);
	CHECK(b == -1);
	char want[128];
	snprintf(want, sizeof want, "another evcapd (pid %ld) is running on %s", (long)getpid(), d);
	CHECK_STR(err, want);
	close(a);
	CHECK(daemon_lock_store(d, &b, err, sizeof err) == 0); /* released by close */
	close(b);
	char *f = xasprintf("%s/evcapd.lock", d);
	unlink(f);
	free(f);
	rmdir(d);
	free(d);
}

static void test_seen_table(void)
{
	char *d = tmpdir();
	char err[512];
	struct store *s = NULL;
	if (!d)
		T_SKIP("no temporary folder");
	char *sd = xasprintf("%s/store", d);
	CHECK(store_open(sd, STORE_CREATE, &s, err, sizeof err) == 0);
	if (s) {
		const char *sha = "9d346d96715e81a066bfef54185ec08022321229b657ff6f7c3ca072ab2687fb";
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "1234-ABCD", 10, 99, 1) == 0);
		CHECK(daemon_seen_record(s, "/m/a.jpg", "1234-ABCD", 10, 99, 1, sha, err, sizeof err) ==
		      0);
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "1234-ABCD", 10, 99, 1) == 1);
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "1234-ABCD", 11, 99, 1) == 0); /* size */
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "1234-ABCD", 10, 98, 1) == 0); /* mtime */
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "FFFF-0000", 10, 99, 1) == 0); /* other card */
		CHECK(daemon_seen_matches(s, "/m/a.jpg", NULL, 10, 99, 1) == 0);
		/* the same path on the same card rewritten: the row is replaced */
		CHECK(daemon_seen_record(s, "/m/a.jpg", "1234-ABCD", 20, 100, 1, sha, err, sizeof err) ==
		      0);
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "1234-ABCD", 10, 99, 1) == 0);
		CHECK(daemon_seen_matches(s, "/m/a.jpg", "1234-ABCD", 20, 100, 1) == 1);
		CHECK(daemon_seen_record(s, "/in/x", NULL, 1, 1, 1, sha, err, sizeof err) == 0);
		CHECK(daemon_seen_matches(s, "/in/x", "", 1, 1, 1) == 1);
		/* the same name, size and mtime, but another inode change time
		 * (another card's file copied there with its mtime): not seen,
		 * whether that time is later or earlier (a clock set back) */
		CHECK(daemon_seen_matches(s, "/in/x", "", 1, 1, 2) == 0);
		CHECK(daemon_seen_matches(s, "/in/x", "", 1, 1, 0) == 0);
		/* a row from before ctime was kept is not trusted either */
		char *q = xasprintf("%s/evidence.db", sd);
		sqlite3 *h = NULL;
		CHECK(sqlite3_open(q, &h) == SQLITE_OK &&
		      sqlite3_exec(h, "UPDATE capture_seen SET ctime_ns = NULL", NULL, NULL, NULL) ==
			      SQLITE_OK);
		sqlite3_close(h);
		free(q);
		CHECK(daemon_seen_matches(s, "/in/x", "", 1, 1, 1) == 0);
		CHECK(store_schema_version() >= 40);
	}
	store_close(s);
	char *cmd = xasprintf("rm -rf '%s'", d);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(sd);
	free(d);
}

static void test_args(void)
{
	struct daemon_opts o;
	char err[256];
	char *ok[] = {"evcapd", "--foreground", "--store", "/var/lib/evcap", "--watch", "/media/evcap",
		      "--watch", "/srv/in", "--gps", "127.0.0.1:2947", "-v", NULL};
	CHECK(daemon_parse_args(11, ok, &o, err, sizeof err) == 0);
	CHECK(o.foreground == 1 && o.verbosity == 1 && o.n_watch == 2);
	CHECK_STR(o.store, "/var/lib/evcap");
	CHECK_STR(o.watch[1], "/srv/in");
	CHECK_STR(o.gps, "127.0.0.1:2947");
	CHECK(o.config_path == NULL);

	char *off[] = {"evcapd", "--gps", "", "--config", "/etc/x.conf", NULL};
	CHECK(daemon_parse_args(5, off, &o, err, sizeof err) == 0);
	CHECK_STR(o.gps, "");
	CHECK_STR(o.config_path, "/etc/x.conf");

	char *rel[] = {"evcapd", "--watch", "media", NULL};
	CHECK(daemon_parse_args(3, rel, &o, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "absolute") != NULL);
	char *badgps[] = {"evcapd", "--gps", "localhost", NULL};
	CHECK(daemon_parse_args(3, badgps, &o, err, sizeof err) == EV_EINVAL);
	char *unknown[] = {"evcapd", "--wach", "/x", NULL};
	CHECK(daemon_parse_args(3, unknown, &o, err, sizeof err) == EV_EINVAL);
	char *extra[] = {"evcapd", "stray", NULL};
	CHECK(daemon_parse_args(2, extra, &o, err, sizeof err) == EV_EINVAL);
	char *help[] = {"evcapd", "--help", NULL};
	CHECK(daemon_parse_args(2, help, &o, err, sizeof err) == 0 && o.help);
	CHECK(strstr(daemon_usage(), "--watch DIR") != NULL);
}

static void test_paths(void)
{
	CHECK(daemon_path_within("/var/lib/evcap", "/var/lib/evcap"));
	CHECK(daemon_path_within("/var/lib/evcap/blobs", "/var/lib/evcap"));
	CHECK(!daemon_path_within("/var/lib/evcap2", "/var/lib/evcap"));
	CHECK(daemon_path_within("/anything", "/"));
	CHECK(!daemon_path_within("/media", "/media/evcap"));
	CHECK(daemon_name_ignored(".Trashes"));
	CHECK(daemon_name_ignored("._DJI_0001.JPG"));
	CHECK(!daemon_name_ignored("DJI_0001.JPG"));
}

static void test_sizes(void)
{
	char b[32];
	human_bytes(0, b);
	CHECK(strcmp(b, "0 bytes") == 0);
	human_bytes(1, b);
	CHECK(strcmp(b, "1 byte") == 0);
	human_bytes(999, b);
	CHECK(strcmp(b, "999 bytes") == 0);
	human_bytes(1000, b);
	CHECK(strcmp(b, "1.0 kB") == 0);
	human_bytes(48321, b);
	CHECK(strcmp(b, "48.3 kB") == 0);
	human_bytes(999949, b);
	CHECK(strcmp(b, "999.9 kB") == 0);
	human_bytes(999950, b); /* not "1000.0 kB" */
	CHECK(strcmp(b, "1.0 MB") == 0);
	human_bytes(12500000, b);
	CHECK(strcmp(b, "12.5 MB") == 0);
	human_bytes(999950000ULL, b);
	CHECK(strcmp(b, "1.0 GB") == 0);
	human_bytes(18100000000ULL, b);
	CHECK(strcmp(b, "18.1 GB") == 0);
}

int main(void)
{
	RUN(test_settle_closed_then_quiet);
	RUN(test_settle_write_after_close);
	RUN(test_settle_stable_size);
	RUN(test_settle_backoff_and_gone);
	RUN(test_settle_many);
	RUN(test_lock);
	RUN(test_seen_table);
	RUN(test_args);
	RUN(test_paths);
	RUN(test_sizes);
	T_EXIT();
}
