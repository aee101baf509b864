/* Unit tests for the store (blobs, migrations, meta), the custody chain
 * and the config parser. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "custody.h"
#include "fsutil.h"
#include "hash.h"
#include "ingest.h"
#include "schema.h"
#include "store.h"
#include "t.h"
#include "timeutil.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/evcap-unit-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? xstrdup(d) : NULL;
}

static void rmrf(const char *d);

static void count_call(void *arg)
{
	(*(int *)arg)++;
}

/* A file read in several chunks calls the keepalive after each (evcapd's
 * watchdog ping while a large clip comes off a slow card). */
static void test_ingest_keepalive(void)
{
	char *d = tmpdir(), err[512], sha[65], msg[INGEST_MSG_MAX];
	struct store *s = NULL;
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	char *path = xasprintf("%s/clip.bin", d);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	for (int i = 0; f && i < 5 * 1024; i++) { /* 10 MiB: five chunks of FS_IO_BUF */
		char b[2048];
		memset(b, i & 0xff, sizeof b);
		b[0] = (char)(i >> 8);
		CHECK(fwrite(b, 1, sizeof b, f) == sizeof b);
	}
	if (f)
		fclose(f);
	int calls = 0;
	struct ingest_opts o = {.keepalive = count_call, .keepalive_arg = &calls};
	struct ingest_stats st = {0};
	setenv("EVCAP_META_INPROCESS", "1", 1);
	CHECK(ingest_file(s, path, &o, &st, sha, msg, sizeof msg) == INGEST_ADDED);
	if (calls < 5)
		printf("# keepalive called %d times for a 10 MiB file\n", calls);
	CHECK(calls >= 5);
	unsetenv("EVCAP_META_INPROCESS");
	free(path);
	store_close(s);
out:
	rmrf(d);
	free(d);
}

static void rmrf(const char *d)
{
	char *cmd = xasprintf("chmod -R u+w '%s' && rm -rf '%s'", d, d);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", d);
	free(cmd);
}

static void test_store_blobs(void)
{
	char *d = tmpdir(), err[512], hex[65], hex2[65];
	char *sd = xasprintf("%s/store", d);
	struct store *s = NULL;
	CHECK(store_open(sd, 0, &s, err, sizeof err) == EV_ENOENT); /* no implicit create */
	CHECK(s == NULL);
	CHECK(store_open(sd, STORE_CREATE, &s, err, sizeof err) == 0);
	CHECK(strlen(store_device_id(s)) == 32);
	CHECK(store_blob_put(s, "evidence", 8, hex, err, sizeof err) == 0);
	char want[65];
	sha256_hex("evidence", 8, want);
	CHECK_STR(hex, want);
	char *p = store_blob_path(s, hex);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0444);
	/* the same bytes again: no error, same blob */
	CHECK(store_blob_put(s, "evidence", 8, hex2, err, sizeof err) == 0);
	CHECK_STR(hex, hex2);
	/* a leftover temp file from a crash is removed at the next open */
	char *leftover = xasprintf("%s/blobs/tmp/blob-crashed", sd);
	FILE *f = fopen(leftover, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	store_close(s);
	s = NULL;
	CHECK(store_open(sd, 0, &s, err, sizeof err) == 0);
	CHECK(!fs_exists(leftover));
	/* meta and cases */
	CHECK(store_meta_set(s, "k", "v", err, sizeof err) == 0);
	char *v = store_meta_get(s, "k");
	CHECK_STR(v, "v");
	free(v);
	CHECK(store_case_id(s, "nope") == 0);
	store_close(s);
	free(leftover);
	free(p);
	free(sd);
	rmrf(d);
	free(d);
}

/* A writer's temp file survives another process opening the store (the
 * daemon and the CLI share one); only abandoned ones are cleaned. */
static void test_clean_spares_live_writer(void)
{
	char *d = tmpdir(), err[512], hex[65];
	struct store *a = NULL, *b = NULL;
	struct blob_writer *w = NULL;
	CHECK(store_open(d, STORE_CREATE, &a, err, sizeof err) == 0);
	CHECK(store_blob_begin(a, &w, err, sizeof err) == 0);
	if (!a || !w)
		goto out;
	CHECK(store_blob_write(w, "half", 4, err, sizeof err) == 0);
	CHECK(store_open(d, 0, &b, err, sizeof err) == 0); /* runs the clean-up */
	CHECK(store_blob_write(w, " and the rest", 13, err, sizeof err) == 0);
	CHECK(store_blob_commit(w, hex, NULL, NULL, err, sizeof err) == 0);
	char want[65];
	sha256_hex("half and the rest", 17, want);
	CHECK_STR(hex, want);
	CHECK(store_has_blob(b, hex));
out:
	store_close(a);
	store_close(b);
	rmrf(d);
	free(d);
}

/* How many files are in dir (no subfolders looked into). */
static int count_files(const char *dir)
{
	char *cmd = xasprintf("find '%s' -type f | wc -l", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	free(cmd);
	return n;
}

/* A writer that meets a full disk (here told to give its copy up, as it
 * does on ENOSPC) drops its temporary file at once and only hashes the
 * rest: its commit takes the same bytes already whole in the store (an
 * earlier run placed them, the disk full, and could not record them),
 * and otherwise fails with EV_ENOSPC, placing nothing. */
static void test_blob_no_room(void)
{
	char *d = tmpdir(), err[512], hex[65], want[65];
	char *tmp = xasprintf("%s/blobs/tmp", d);
	struct store *s = NULL;
	struct blob_writer *w = NULL;
	struct blob_placed how;
	uint64_t size = 0;
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	/* nothing in the store: nothing placed, the want of room said */
	CHECK(store_blob_begin(s, &w, err, sizeof err) == 0);
	CHECK(store_blob_write(w, "first ", 6, err, sizeof err) == 0);
	CHECK(count_files(tmp) == 1);
	store_blob_hash_only(w);
	CHECK(count_files(tmp) == 0);
	CHECK(store_blob_write(w, "and second", 10, err, sizeof err) == 0);
	CHECK(store_blob_commit(w, hex, &size, &how, err, sizeof err) == EV_ENOSPC);
	CHECK(strstr(err, "blobs/tmp: cannot write the copy: No space left on device") != NULL);
	sha256_hex("first and second", 16, want);
	CHECK_STR(hex, want);
	CHECK(size == 16);
	CHECK(!store_has_blob(s, want));
	/* the same bytes whole in the store: taken as they are */
	CHECK(store_blob_put(s, "first and second", 16, hex, err, sizeof err) == 0);
	CHECK(store_blob_begin(s, &w, err, sizeof err) == 0);
	store_blob_hash_only(w);
	CHECK(store_blob_write(w, "first and second", 16, err, sizeof err) == 0);
	CHECK(store_blob_commit(w, hex, &size, &how, err, sizeof err) == 0);
	CHECK_STR(hex, want);
	CHECK(how.found == BLOB_EXISTED);
	/* a damaged copy there is left for a run with room to replace */
	char *blob = store_blob_path(s, want);
	CHECK(chmod(blob, 0644) == 0);
	FILE *f = fopen(blob, "r+");
	CHECK(f != NULL);
	if (f) {
		fputc('F', f);
		fclose(f);
	}
	CHECK(store_blob_begin(s, &w, err, sizeof err) == 0);
	store_blob_hash_only(w);
	CHECK(store_blob_write(w, "first and second", 16, err, sizeof err) == 0);
	CHECK(store_blob_commit(w, hex, &size, &how, err, sizeof err) == EV_ENOSPC);
	struct buf b;
	buf_init(&b, 64);
	CHECK(fs_read_file(blob, 64, &b, err, sizeof err) == 0);
	CHECK(b.len == 16 && memcmp(b.data, "First and second", 16) == 0);
	buf_free(&b);
	free(blob);
	CHECK(count_files(tmp) == 0);
out:
	store_close(s);
	free(tmp);
	rmrf(d);
	free(d);
}

static void test_case_key(void)
{
	char a[64], b[64], c[64];
	store_case_key("嫩检公益立〔2023〕15号", a);
	store_case_key("嫩检公益立〔2023〕16号", b);
	store_case_key("嫩检公益立〔2023〕15号", c);
	CHECK(strncmp(a, "2023-15-", 8) == 0);
	CHECK(strcmp(a, b) != 0);
	CHECK_STR(a, c);
	for (const char *p = a; *p; p++)
		CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
	store_case_key("〔〕", a);
	CHECK(strncmp(a, "case-", 5) == 0);
}

static int64_t query_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	int64_t v = -1;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct counter {
	int n;
	int64_t seq;
};

static void count_report(void *ctx, int64_t seq, const char *msg)
{
	struct counter *c = ctx;
	(void)msg;
	c->n++;
	c->seq = seq;
}

static void test_custody_chain(void)
{
	char *d = tmpdir(), err[512], h1[65], h2[65], head[65];
	struct store *s = NULL;
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	/* a store made opens its log with the init event, once */
	char h0[65];
	int64_t seq;
	CHECK(custody_head(s, h0, &seq) == 0 && seq == 1);
	CHECK(query_int(s, "SELECT count(*) FROM custody WHERE seq = 1 AND action = 'init'") == 1);
	store_close(s);
	s = NULL;
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(custody_head(s, head, &seq) == 0 && seq == 1);
	json_t *detail = json_pack("{s:i}", "size", 42);
	CHECK(store_begin(s, err, sizeof err) == 0);
	CHECK(custody_append(s, 1700000000.0, "张三", "ingest", "case-1", NULL, detail, h1, err,
			     sizeof err) == 0);
	CHECK(custody_append(s, 1700000001.0, "李四", "note", "case-1", NULL, NULL, h2, err,
			     sizeof err) == 0);
	CHECK(store_commit(s, err, sizeof err) == 0);
	json_decref(detail);
	CHECK(custody_head(s, head, &seq) == 0 && seq == 3);
	CHECK_STR(head, h2);
	/* the hash is SHA-256(raw prev || canonical text): recompute the
	 * first after init's */
	json_t *detail2 = json_pack("{s:i}", "size", 42);
	char *canon = custody_canonical(2, "2023-11-14T22:13:20Z", "张三", "ingest", "case-1", NULL,
					detail2, store_device_id(s), h0);
	json_decref(detail2);
	char again[65];
	CHECK(custody_hash(h0, canon, strlen(canon), again) == 0);
	CHECK_STR(again, h1);
	CHECK(strstr(canon, "\"action\":\"ingest\"") != NULL);
	free(canon);
	struct counter c = {0};
	CHECK(custody_verify(s, count_report, &c, err, sizeof err) == 0 && c.n == 0);
	/* the log refuses updates and deletes */
	CHECK(store_exec(s, "UPDATE custody SET actor = 'x' WHERE seq = 2", err, sizeof err) != 0);
	CHECK(strstr(err, "append-only") != NULL);
	CHECK(store_exec(s, "DELETE FROM custody WHERE seq = 3", err, sizeof err) != 0);
	/* a tamperer who drops the trigger is still caught */
	CHECK(store_exec(s, "DROP TRIGGER custody_no_delete; DELETE FROM custody WHERE seq = 2", err,
			 sizeof err) == 0);
	c.n = 0;
	CHECK(custody_verify(s, count_report, &c, err, sizeof err) >= 1 && c.n >= 1);
	store_close(s);
out:
	rmrf(d);
	free(d);
}

static void test_config(void)
{
	struct config c;
	char err[512];
	config_init(&c);
	const char *good = "# field laptop\n[store]\npath = /var/lib/evcap\noperator = 张三\n"
			   "operator = 李四\ntime_offset = +08:00\n\n[capture]\nwatch = /media\n"
			   "settle_seconds = 3\n[gps]\nserver = 127.0.0.1:2947\n"
			   "[sync]\ntarget = \"s3://evidence/county\"\nretain_days = 3650\n";
	CHECK(config_parse(good, strlen(good), "evcap.conf", &c, err, sizeof err) == 0);
	CHECK_STR(c.store, "/var/lib/evcap");
	CHECK(c.n_operators == 2);
	CHECK_STR(c.operators[1], "李四");
	CHECK(c.settle_seconds == 3.0 && c.max_gap == 60.0);
	CHECK_STR(c.sync_target, "s3://evidence/county");
	CHECK(c.retain_days == 3650);
	config_free(&c);

	const char *bad_key = "[capture]\n\nwach = /media\n";
	config_init(&c);
	CHECK(config_parse(bad_key, strlen(bad_key), "evcap.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "evcap.conf:3: unknown key 'wach' in [capture]");
	config_free(&c);
	const char *bad_val = "[gps]\nmax_gap = soon\n";
	config_init(&c);
	CHECK(config_parse(bad_val, strlen(bad_val), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK(strncmp(err, "x.conf:2: max_gap", 17) == 0);
	config_free(&c);
	const char *no_section = "path = /x\n";
	config_init(&c);
	CHECK(config_parse(no_section, strlen(no_section), "x.conf", &c, err, sizeof err) != 0);
	config_free(&c);
	/* [gps] server is checked when read, as --gps is: no daemon runs on
	 * without GPS because of a typo */
	const char *bad_gps[] = {"nohost", "127.0.0.1:29470x", "127.0.0.1:", ":2947",
				 "127.0.0.1:0", "[::1]2947"};
	for (size_t i = 0; i < ARRAY_LEN(bad_gps); i++) {
		char *txt = xasprintf("[store]\n\n[gps]\nserver = %s\n", bad_gps[i]);
		config_init(&c);
		CHECK(config_parse(txt, strlen(txt), "x.conf", &c, err, sizeof err) == EV_EINVAL);
		char *want = xasprintf("x.conf:4: server must be HOST:PORT (IPv6 as [::1]:2947; "
				       "\"\" for none), not '%s'",
				       bad_gps[i]);
		CHECK_STR(err, want);
		free(want);
		free(txt);
		config_free(&c);
	}
	const char *good_gps[] = {"[gps]\nserver = \"\"\n", "[gps]\nserver = [::1]:2947\n",
				  "[gps]\nserver = gps.local:2947\n"};
	for (size_t i = 0; i < ARRAY_LEN(good_gps); i++) {
		config_init(&c);
		CHECK(config_parse(good_gps[i], strlen(good_gps[i]), "x.conf", &c, err,
				   sizeof err) == 0);
		config_free(&c);
	}
	const char *bad_off = "[store]\ntime_offset = 0800\n";
	config_init(&c);
	CHECK(config_parse(bad_off, strlen(bad_off), "x.conf", &c, err, sizeof err) != 0);
	config_free(&c);

	char host[256], port[8];
	CHECK(config_split_hostport("127.0.0.1:2947", host, port) == 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_STR(port, "2947");
	CHECK(config_split_hostport("[::1]:2947", host, port) == 0);
	CHECK_STR(host, "::1");
	CHECK(config_split_hostport("localhost", host, port) != 0);
	CHECK(config_split_hostport("h:99999", host, port) != 0);
}

static void test_secret_mode(void)
{
	char *d = tmpdir(), err[512];
	char *p = xasprintf("%s/evcap.conf", d);
	const char *txt = "[sync]\nsecret_key = abc\n";
	CHECK(fs_write_atomic(p, txt, strlen(txt), 0644, 0, err, sizeof err) == 0);
	struct config c;
	config_init(&c);
	CHECK(config_load(p, &c, err, sizeof err) == EV_EAUTH);
	CHECK(strstr(err, "chmod 600") != NULL);
	config_free(&c);
	CHECK(chmod(p, 0600) == 0);
	config_init(&c);
	CHECK(config_load(p, &c, err, sizeof err) == 0);
	config_free(&c);
	free(p);
	rmrf(d);
	free(d);
}

/* Fills n bytes with a fixed pseudo-random sequence. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Whole aligned blocks go to the disk directly, anything else through
 * the page cache; a blob written both ways holds exactly what was given. */
static void test_blob_direct_then_buffered(void)
{
	char *d = tmpdir(), err[512], hex[65], want[65];
	char *sd = xasprintf("%s/store", d);
	struct store *s = NULL;
	struct blob_writer *w = NULL;
	uint8_t *io = fs_io_buf();
	uint8_t *all = xmalloc(3 * 4096 + 77 + 4096);
	fill(all, 3 * 4096 + 77 + 4096, 7);
	CHECK(store_open(sd, STORE_CREATE, &s, err, sizeof err) == 0);
	CHECK(store_blob_begin(s, &w, err, sizeof err) == 0);
	size_t at = 0;
	/* aligned, aligned, a short odd piece, then an aligned buffer at an
	 * unaligned offset */
	size_t piece[] = {8192, 4096, 77, 4096};
	for (size_t i = 0; i < 4; i++) {
		memcpy(io, all + at, piece[i]);
		CHECK(store_blob_write(w, io, piece[i], err, sizeof err) == 0);
		at += piece[i];
	}
	struct blob_placed how = {.found = BLOB_EXISTED};
	uint64_t size = 0;
	CHECK(store_blob_commit(w, hex, &size, &how, err, sizeof err) == 0);
	CHECK(size == at);
	CHECK(how.found == BLOB_NEW);
	sha256_hex(all, at, want);
	CHECK_STR(hex, want);
	char *p = store_blob_path(s, hex);
	struct buf got;
	buf_init(&got, 1 << 20);
	CHECK(fs_read_file(p, 1 << 20, &got, err, sizeof err) == 0);
	CHECK(got.len == at && memcmp(got.data, all, at) == 0);
	buf_free(&got);
	free(p);

	/* a file of whole 2 MiB buffers is written directly from start to end */
	CHECK(store_blob_begin(s, &w, err, sizeof err) == 0);
	fill(io, FS_IO_BUF, 9);
	CHECK(store_blob_write(w, io, FS_IO_BUF, err, sizeof err) == 0);
	CHECK(store_blob_commit(w, hex, &size, NULL, err, sizeof err) == 0);
	sha256_hex(io, FS_IO_BUF, want);
	CHECK_STR(hex, want);
	CHECK(size == FS_IO_BUF);
	store_close(s);
	free(io);
	free(all);
	free(sd);
	rmrf(d);
	free(d);
}

/* What reads back from the disk is compared with what was written: a
 * byte changed on disk between the write and the commit is caught, the
 * blob is not placed, and no temp file is left. */
static void test_blob_readback_catches_change(void)
{
	char *d = tmpdir(), err[512], hex[65];
	char *sd = xasprintf("%s/store", d);
	char *tmpd = xasprintf("%s/store/blobs/tmp", d);
	struct store *s = NULL;
	struct blob_writer *w = NULL;
	uint8_t *io = fs_io_buf();
	fill(io, 3 * 4096 + 10, 11);
	CHECK(store_open(sd, STORE_CREATE, &s, err, sizeof err) == 0);
	CHECK(store_blob_begin(s, &w, err, sizeof err) == 0);
	CHECK(store_blob_write(w, io, 3 * 4096 + 10, err, sizeof err) == 0);
	/* the writer's temp file is the only one in blobs/tmp */
	char *cmd = xasprintf("f=$(ls '%s'/blob-*) && printf Z | dd of=\"$f\" bs=1 seek=5000 "
			      "conv=notrunc status=none && sync \"$f\"", tmpd);
	CHECK(system(cmd) == 0);
	free(cmd);
	int rc = store_blob_commit(w, hex, NULL, NULL, err, sizeof err);
	CHECK(rc == EV_ECORRUPT);
	CHECK(strstr(err, "does not read back as written") != NULL);
	CHECK(!store_has_blob(s, hex));
	char *left = xasprintf("test -z \"$(ls -A '%s')\"", tmpd);
	CHECK(system(left) == 0);
	free(left);
	store_close(s);
	free(io);
	free(tmpd);
	free(sd);
	rmrf(d);
	free(d);
}

/* A store made by an evcap before schema 41 (which added the per-item
 * indexes) is brought up to date when opened, its rows and chain intact;
 * a store newer than this evcap is refused, not touched. */
/* Commits bytes as a blob through a writer; the blob_found, or -1. */
static int put_blob(struct store *s, const char *bytes, char hex[65], struct blob_placed *how)
{
	char err[512];
	struct blob_writer *w;
	if (store_blob_begin(s, &w, err, sizeof err))
		return -1;
	if (store_blob_write(w, bytes, strlen(bytes), err, sizeof err)) {
		store_blob_abort(w);
		return -1;
	}
	if (store_blob_commit(w, hex, NULL, how, err, sizeof err)) {
		fprintf(stderr, "commit: %s\n", err);
		return -1;
	}
	return (int)how->found;
}

/* A stored original whose bytes no longer match its name (bit rot, a
 * disk fault, tampering) is replaced when the same bytes come in again,
 * and the damaged copy is kept aside under blobs/damaged/. */
static void test_blob_restore(void)
{
	char *d = tmpdir(), hex[65], hex2[65], err[512];
	struct store *s = NULL;
	struct blob_placed how;
	const char *good = "the photo's bytes, as the card held them";
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(put_blob(s, good, hex, &how) == BLOB_NEW);
	CHECK(put_blob(s, good, hex2, &how) == BLOB_EXISTED);
	CHECK(how.damaged_why[0] == '\0' && how.kept_as[0] == '\0');
	/* one byte changed in place, the size kept */
	char *p = store_blob_path(s, hex);
	char *cmd = xasprintf("chmod u+w '%s' && printf X | dd of='%s' bs=1 seek=4 conv=notrunc "
			      "status=none && chmod 0444 '%s'", p, p, p);
	CHECK(system(cmd) == 0);
	free(cmd);
	CHECK(put_blob(s, good, hex2, &how) == BLOB_RESTORED);
	CHECK_STR(hex2, hex);
	CHECK_STR(how.damaged_why, "its bytes differ");
	CHECK(how.damaged_size == strlen(good));
	char bad_hex[65];
	char *bad = xstrdup(good);
	bad[4] = 'X';
	sha256_hex(bad, strlen(bad), bad_hex);
	CHECK_STR(how.damaged_sha256, bad_hex);
	CHECK(strncmp(how.kept_as, "blobs/damaged/", 14) == 0 &&
	      strncmp(how.kept_as + 14, hex, 64) == 0);
	struct buf got;
	buf_init(&got, 256);
	CHECK(fs_read_file(p, 256, &got, err, sizeof err) == 0);
	CHECK(got.len == strlen(good) && memcmp(got.data, good, got.len) == 0);
	buf_free(&got);
	char *kept = xasprintf("%s/%s", d, how.kept_as);
	buf_init(&got, 256);
	CHECK(fs_read_file(kept, 256, &got, err, sizeof err) == 0);
	CHECK(got.len == strlen(bad) && memcmp(got.data, bad, got.len) == 0);
	buf_free(&got);
	free(kept);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0444);
	/* the store's copy is whole again: the next one is the same bytes */
	CHECK(put_blob(s, good, hex2, &how) == BLOB_EXISTED);
	/* cut short: the size says it, and a second damaged copy is kept
	 * under its own name */
	CHECK(truncate(p, 7) == 0 || (chmod(p, 0644) == 0 && truncate(p, 7) == 0));
	CHECK(put_blob(s, good, hex2, &how) == BLOB_RESTORED);
	CHECK(strstr(how.damaged_why, "its size differs (7 bytes, not ") != NULL);
	CHECK(how.damaged_size == 7);
	cmd = xasprintf("test $(ls '%s/blobs/damaged' | wc -l) = 2", d);
	CHECK(system(cmd) == 0);
	free(cmd);
	/* the damaged copies are not originals: no orphan is counted */
	int64_t n = -1;
	CHECK(store_orphan_blobs(s, &n, err, sizeof err) == 0);
	CHECK(n == 1); /* the good one, named by no item in this test */
	free(bad);
	free(p);
out:
	store_close(s);
	rmrf(d);
	free(d);
}

/* An integer or text answer to one query (malloc'd text; NULL if none). */
static char *query1(struct store *s, const char *sql)
{
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	char *r = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		r = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r;
}

static void count_kept(void *ctx, const char *kept_as, const char *hex)
{
	(void)kept_as, (void)hex;
	(*(int *)ctx)++;
}

/*
 * A restore whose event was never committed (the process stopped, or the
 * store stayed busy, after the good copy was placed): the copy kept under
 * blobs/damaged/ says it happened, and store_record_kept records the
 * event once, late and saying so; store_open does it. Before, nothing
 * ever recorded it: the next ingest found the original whole.
 */
static void test_restore_recorded_late(void)
{
	char *d = tmpdir(), hex[65], hex2[65], err[512];
	struct store *s = NULL;
	struct blob_placed how;
	const char *good = "an original whose restore was never recorded";
	const char *other = "an original no item names";
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(put_blob(s, good, hex, &how) == BLOB_NEW);
	char *sql = xasprintf("INSERT INTO cases (number, key, opened_at) VALUES ('7', '7', '2026-01-01');"
			      "INSERT INTO items (sha256, size, kind, original_name, original_path,"
			      " case_id, ingested_at) VALUES ('%s', %zu, 'other', 'a.txt', 'a.txt',"
			      " 1, '2026-01-01')", hex, strlen(good));
	CHECK(store_exec(s, sql, err, sizeof err) == 0);
	free(sql);
	int n = -1, seen = 0;
	CHECK(store_kept_unrecorded(s, count_kept, &seen, err, sizeof err) == 0);
	/* damaged, then put back by the blob writer alone: no event */
	char *p = store_blob_path(s, hex);
	CHECK(chmod(p, 0644) == 0 && truncate(p, 9) == 0);
	CHECK(put_blob(s, good, hex2, &how) == BLOB_RESTORED);
	char *kept = xstrdup(how.kept_as);
	CHECK(put_blob(s, other, hex2, &how) == BLOB_NEW);
	char *q = store_blob_path(s, hex2);
	CHECK(chmod(q, 0644) == 0 && truncate(q, 3) == 0);
	CHECK(put_blob(s, other, hex2, &how) == BLOB_RESTORED);
	char *kept2 = xstrdup(how.kept_as);
	/* a restore stopped before its swap: the kept name is still the
	 * original's own file, and no restore happened */
	CHECK(chmod(q, 0644) == 0 && truncate(q, 2) == 0);
	char *early = xasprintf("%s/blobs/damaged/%s-20260101T000000Z", d, hex2);
	CHECK(link(q, early) == 0);
	seen = 0;
	CHECK(store_kept_unrecorded(s, count_kept, &seen, err, sizeof err) == 2);
	CHECK(seen == 2);
	CHECK(store_record_kept(s, "tester", &n, err, sizeof err) == 0);
	CHECK(n == 2);
	CHECK(store_kept_unrecorded(s, NULL, NULL, err, sizeof err) == 0);
	sql = xasprintf("SELECT count(*) || ' ' || group_concat(case_number) || ' ' ||"
			" group_concat(json_extract(event, '$.detail.item')) || ' ' ||"
			" group_concat(json_extract(event, '$.detail.damaged.why')) FROM custody"
			" WHERE action = 'restore' AND item_sha256 = '%s' AND"
			" json_extract(event, '$.detail.kept_as') = '%s' AND"
			" json_extract(event, '$.detail.recorded_late') IS NOT NULL",
			hex, kept);
	char *r = query1(s, sql);
	char *want = xasprintf("1 7 1 its size differs (9 bytes, not %zu)", strlen(good));
	CHECK_STR(r ? r : "", want);
	free(want);
	free(r);
	free(sql);
	sql = xasprintf("SELECT count(*) || ' ' || ifnull(json_extract(event, '$.detail.item'),"
			" 'null') || ' ' || json_extract(event, '$.detail.damaged.size') FROM"
			" custody WHERE action = 'restore' AND item_sha256 = '%s' AND"
			" json_extract(event, '$.detail.kept_as') = '%s'",
			hex2, kept2);
	r = query1(s, sql);
	CHECK_STR(r ? r : "", "1 null 3");
	free(r);
	free(sql);
	/* once: again, and at the next open */
	CHECK(store_record_kept(s, "tester", &n, err, sizeof err) == 0);
	CHECK(n == 0);
	store_close(s);
	s = NULL;
	CHECK(store_open(d, 0, &s, err, sizeof err) == 0);
	if (!s)
		goto done;
	sql = xasprintf("SELECT count(*) FROM custody WHERE item_sha256 IN ('%s', '%s') AND"
			" action = 'restore'", hex, hex2);
	r = query1(s, sql);
	CHECK_STR(r ? r : "", "2");
	free(r);
	free(sql);
	CHECK(custody_verify(s, NULL, NULL, err, sizeof err) == 0);
	/* the restore that comes keeps its damaged copy under the name it
	 * already had */
	CHECK(put_blob(s, other, hex2, &how) == BLOB_RESTORED);
	CHECK_STR(how.kept_as, early + strlen(d) + 1);
	char *cmd = xasprintf("test $(ls '%s/blobs/damaged' | wc -l) = 3", d);
	CHECK(system(cmd) == 0);
	free(cmd);
done:
	free(early);
	free(kept);
	free(kept2);
	free(p);
	free(q);
out:
	store_close(s);
	rmrf(d);
	free(d);
}

/* Makes a small file at path holding text: 0, or -1. */
static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int bad = fputs(text, f) < 0;
	return fclose(f) || bad ? -1 : 0;
}

/* Commits bytes as a blob through a writer: store_blob_commit's result. */
static int commit_blob(struct store *s, const char *bytes, char hex[65], char *err,
		       size_t errlen)
{
	struct blob_writer *w;
	int rc = store_blob_begin(s, &w, err, errlen);
	if (rc)
		return rc;
	if ((rc = store_blob_write(w, bytes, strlen(bytes), err, errlen))) {
		store_blob_abort(w);
		return rc;
	}
	return store_blob_commit(w, hex, NULL, NULL, err, errlen);
}

/*
 * What is not a file where an original belongs is refused with a negative
 * error, left as it is, and named. Before, these errors were returned
 * negated: a symbolic link in an original's place was taken for a
 * damaged copy and "restored" with an empty record, a blobs/damaged/
 * that cannot be listed was no error to verify, and a custody log that
 * could not be read counted every kept copy as recorded.
 */
static void test_blob_place_not_a_file(void)
{
	char *d = tmpdir(), hex[65], hex2[65], err[512];
	struct store *s = NULL;
	struct blob_placed how;
	const char *good = "an original whose place a symbolic link took";
	const char *fresh = "a new original whose fan-out folder is a file";
	char *p = NULL, *fan = NULL, *other = NULL, *damaged = NULL;
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(put_blob(s, good, hex, &how) == BLOB_NEW);
	p = store_blob_path(s, hex);
	other = xasprintf("%s/other", d);
	CHECK(write_text(other, "other") == 0);
	CHECK(unlink(p) == 0 && symlink(other, p) == 0);
	err[0] = '\0';
	CHECK(commit_blob(s, good, hex2, err, sizeof err) == EV_EIO);
	CHECK(strstr(err, "not a regular file in an original's place; move it away") != NULL);
	struct stat st;
	CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
	damaged = xasprintf("%s/blobs/damaged", d);
	CHECK(access(damaged, F_OK) != 0); /* nothing was kept */

	/* a fan-out folder of a new original is a file */
	char fhex[65];
	sha256_hex(fresh, strlen(fresh), fhex);
	fan = xasprintf("%s/blobs/sha256/%.2s/%.2s", d, fhex, fhex + 2);
	char *fan1 = fs_dirname(fan);
	CHECK(fs_mkdir_p(fan1, 0755, err, sizeof err) == 0);
	free(fan1);
	CHECK(write_text(fan, "x") == 0);
	err[0] = '\0';
	CHECK(commit_blob(s, fresh, hex2, err, sizeof err) == EV_EIO);
	CHECK(strstr(err, "a folder on its path is not a folder") != NULL);

	/* blobs/damaged/ that cannot be listed is an error */
	CHECK(write_text(damaged, "x") == 0);
	int n = -1;
	CHECK(store_kept_unrecorded(s, NULL, NULL, err, sizeof err) == EV_EIO);
	CHECK(store_record_kept(s, "tester", &n, err, sizeof err) == EV_EIO);
	CHECK(strstr(err, "cannot list") != NULL);

	/* a kept copy, and a custody log that cannot be read to look it up */
	CHECK(unlink(damaged) == 0 && unlink(p) == 0);
	CHECK(put_blob(s, good, hex2, &how) == BLOB_NEW);
	CHECK(chmod(p, 0644) == 0 && truncate(p, 5) == 0);
	CHECK(put_blob(s, good, hex2, &how) == BLOB_RESTORED);
	CHECK(store_kept_unrecorded(s, NULL, NULL, err, sizeof err) == 1);
	CHECK(store_exec(s, "ALTER TABLE custody RENAME TO custody_gone", err, sizeof err) == 0);
	err[0] = '\0';
	CHECK(store_kept_unrecorded(s, NULL, NULL, err, sizeof err) == EV_EDB);
	CHECK(strstr(err, "custody") != NULL);
	CHECK(store_record_kept(s, "tester", &n, err, sizeof err) == EV_EDB);
out:
	free(p);
	free(fan);
	free(other);
	free(damaged);
	store_close(s);
	rmrf(d);
	free(d);
}

struct racer {
	struct store *s;
	const char *bytes;
	struct blob_placed how;
	int rc;
};

static void *race_restore(void *arg)
{
	struct racer *r = arg;
	char hex[65];
	r->rc = put_blob(r->s, r->bytes, hex, &r->how);
	return NULL;
}

/* Two workers meeting one damaged original at once: one puts it back and
 * keeps the damaged copy, the other then finds it whole (each kept it, and
 * the second copy was named by no event). */
static void test_restore_race(void)
{
	char *d = tmpdir(), hex[65], err[512];
	struct store *s = NULL;
	struct blob_placed how;
	char *big = xmalloc(4 << 20);
	memset(big, 'e', (4 << 20) - 1);
	big[(4 << 20) - 1] = '\0';
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(put_blob(s, big, hex, &how) == BLOB_NEW);
	char *p = store_blob_path(s, hex);
	int kept_twice = 0;
	for (int round = 0; round < 4; round++) {
		CHECK(chmod(p, 0644) == 0 && truncate(p, 100 + round) == 0);
		struct racer r[4];
		pthread_t t[4];
		for (int i = 0; i < 4; i++) {
			r[i] = (struct racer){.s = s, .bytes = big};
			CHECK(pthread_create(&t[i], NULL, race_restore, &r[i]) == 0);
		}
		int restored = 0;
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			restored += r[i].rc == BLOB_RESTORED;
		}
		kept_twice += restored != 1;
	}
	CHECK(kept_twice == 0);
	char *cmd = xasprintf("test $(ls '%s/blobs/damaged' | wc -l) = 4", d);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(p);
out:
	free(big);
	store_close(s);
	rmrf(d);
	free(d);
}

/* A store another process is making (its first migration committed, the
 * rest and its init event to come) is built on by a second maker, not
 * taken for an old store to upgrade: its log opens with one init event and
 * holds no schema_upgrade (two makers at once, evcapd and evcap init at
 * first boot, left a new store "upgraded from schema 1" and without init). */
static void test_store_being_made(void)
{
	char *d = tmpdir(), *db = xasprintf("%s/evidence.db", d), err[512];
	sqlite3 *h = NULL;
	struct store *s = NULL;
	CHECK(sqlite3_open(db, &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(h, schema_migrations[0].sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "PRAGMA user_version = 1", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(query_int(s, "PRAGMA user_version") == store_schema_version());
	CHECK(query_int(s, "SELECT count(*) FROM custody") == 1);
	CHECK(query_int(s, "SELECT count(*) FROM custody WHERE seq = 1 AND action = 'init'") == 1);
out:
	store_close(s);
	rmrf(d);
	free(db);
	free(d);
}

static void test_migration(void)
{
	static const char *const v41_indexes[] = {"custody_item", "derivatives_item", "notes_item",
						   "items_site", "readings_case", "readings_site"};
	char *d = tmpdir(), err[512], h1[65];
	struct store *s = NULL;
	CHECK(store_open(d, STORE_CREATE, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(store_schema_version() >= 41);
	CHECK(query_int(s, "PRAGMA user_version") == store_schema_version());
	CHECK(store_begin(s, err, sizeof err) == 0);
	CHECK(custody_append(s, 1700000000.0, "张三", "ingest", "case-1",
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, h1,
			     err, sizeof err) == 0);
	CHECK(store_commit(s, err, sizeof err) == 0);
	/* take the store back to schema 40, as an older evcap left it */
	for (size_t i = 0; i < sizeof v41_indexes / sizeof v41_indexes[0]; i++) {
		char *sql = xasprintf("DROP INDEX %s", v41_indexes[i]);
		CHECK(store_exec(s, sql, err, sizeof err) == 0);
		free(sql);
	}
	/* and what the later migrations added, so that they can run again */
	CHECK(store_exec(s,
			 "ALTER TABLE items DROP COLUMN img_direction;"
			 "ALTER TABLE items DROP COLUMN img_direction_ref;"
			 "DROP INDEX trusted_keys_device;"
			 "ALTER TABLE trusted_keys DROP COLUMN device_id;"
			 "ALTER TABLE trusted_keys DROP COLUMN bound_at;"
			 "ALTER TABLE trusted_keys DROP COLUMN bound_how;"
			 "ALTER TABLE trusted_keys DROP COLUMN replaced_by;"
			 "ALTER TABLE trusted_keys DROP COLUMN replaced_at;"
			 "DROP INDEX bundles_case;"
			 "ALTER TABLE bundles DROP COLUMN case_fields;"
			 "ALTER TABLE cases DROP COLUMN office_fields;"
			 "DROP TRIGGER items_rev;"
			 "DROP TRIGGER items_office_fields;"
			 "DROP INDEX items_rev;"
			 "ALTER TABLE items DROP COLUMN rev;"
			 "ALTER TABLE items DROP COLUMN src_rev;"
			 "ALTER TABLE items DROP COLUMN office_fields;"
			 "ALTER TABLE sync_state DROP COLUMN rev;"
			 "DROP TRIGGER readings_rev;"
			 "DROP TRIGGER readings_office_fields;"
			 "DROP INDEX readings_rev;"
			 "ALTER TABLE readings DROP COLUMN rev;"
			 "ALTER TABLE readings DROP COLUMN src_rev;"
			 "ALTER TABLE readings DROP COLUMN office_fields;"
			 "DROP INDEX bundles_previous;"
			 "ALTER TABLE bundles DROP COLUMN previous;"
			 "ALTER TABLE bundles DROP COLUMN previous_missing;"
			 "ALTER TABLE readings DROP COLUMN src_device;"
			 "ALTER TABLE capture_seen DROP COLUMN ctime_ns;"
			 "DROP INDEX sightings_once;",
			 err, sizeof err) == 0);
	/* a folder ingested three times by an evcap before schema 47: its
	 * path on no card seen three times over, beside one sighting of the
	 * same path on a card */
	CHECK(store_exec(s,
			 "INSERT INTO items(id, sha256, size, kind, original_name, original_path,"
			 " ingested_at) VALUES (7, 'bbbb', 1, 'photo', 'a.JPG', '/f/a.JPG',"
			 " '2024-01-01T00:00:00Z');"
			 "INSERT INTO sightings(id, item_id, path, medium_uuid, seen_at) VALUES"
			 " (11, 7, '/f/a.JPG', NULL, '2024-01-01T00:00:00Z'),"
			 " (12, 7, '/f/a.JPG', 'CARD-1', '2024-01-02T00:00:00Z'),"
			 " (13, 7, '/f/a.JPG', NULL, '2024-01-03T00:00:00Z'),"
			 " (14, 7, '/f/a.JPG', NULL, '2024-01-04T00:00:00Z');",
			 err, sizeof err) == 0);
	CHECK(store_exec(s, "PRAGMA user_version = 40", err, sizeof err) == 0);
	store_close(s);
	s = NULL;

	/* several processes (evcapd and the CLI) open it at the same moment:
	 * one migrates, the others find it done, every open succeeds */
	enum { OPENERS = 6 };
	int gate[2];
	CHECK(pipe(gate) == 0);
	pid_t kids[OPENERS];
	for (int k = 0; k < OPENERS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			char b, kerr[512];
			struct store *ks = NULL;
			close(gate[1]);
			if (read(gate[0], &b, 1) < 0)
				_exit(3);
			int krc = store_open(d, 0, &ks, kerr, sizeof kerr);
			if (krc)
				fprintf(stderr, "# opener %d: %s\n", k, kerr);
			store_close(ks);
			_exit(krc ? 1 : 0);
		}
	}
	close(gate[0]);
	close(gate[1]); /* all start */
	int opened = 0;
	for (int k = 0; k < OPENERS; k++) {
		int status = 0;
		if (kids[k] > 0 && waitpid(kids[k], &status, 0) == kids[k] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			opened++;
	}
	CHECK(opened == OPENERS);

	CHECK(store_open(d, 0, &s, err, sizeof err) == 0);
	if (!s)
		goto out;
	CHECK(query_int(s, "PRAGMA user_version") == store_schema_version());
	for (size_t i = 0; i < sizeof v41_indexes / sizeof v41_indexes[0]; i++) {
		char *sql = xasprintf("SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				      " AND name = '%s'",
				      v41_indexes[i]);
		int64_t n = query_int(s, sql);
		if (n != 1)
			fprintf(stderr, "# index %s: %lld\n", v41_indexes[i], (long long)n);
		CHECK(n == 1);
		free(sql);
	}
	CHECK(query_int(s, "SELECT count(*) FROM pragma_table_info('items')"
			   " WHERE name IN ('img_direction', 'img_direction_ref')") == 2);
	CHECK(query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
			   " AND name IN ('items_rev', 'items_office_fields', 'readings_rev',"
			   " 'readings_office_fields')") == 4);
	/* the first of the copies is kept, and the same sighting again adds
	 * none */
	CHECK(query_int(s, "SELECT count(*) FROM sightings WHERE item_id = 7") == 2);
	CHECK(query_int(s, "SELECT count(*) FROM sightings WHERE id IN (11, 12)") == 2);
	CHECK(store_exec(s,
			 "INSERT OR IGNORE INTO sightings(item_id, path, medium_uuid, seen_at)"
			 " VALUES (7, '/f/a.JPG', NULL, '2024-01-05T00:00:00Z'),"
			 " (7, '/f/a.JPG', 'CARD-1', '2024-01-05T00:00:00Z')",
			 err, sizeof err) == 0);
	CHECK(query_int(s, "SELECT count(*) FROM sightings WHERE item_id = 7") == 2);
	struct counter c = {0};
	CHECK(custody_verify(s, count_report, &c, err, sizeof err) == 0 && c.n == 0);
	CHECK(query_int(s, "SELECT count(*) FROM custody WHERE item_sha256 LIKE 'aaaa%'") == 1);
	/* an evcap newer than this one made it: refused, left as it was */
	CHECK(store_exec(s, "PRAGMA user_version = 9999", err, sizeof err) == 0);
	store_close(s);
	s = NULL;
	CHECK(store_open(d, 0, &s, err, sizeof err) != 0);
	CHECK(s == NULL);
	CHECK(strstr(err, "schema version 9999 is newer than this evcap knows") != NULL);
out:
	store_close(s);
	rmrf(d);
	free(d);
}

/* Mounts dir read-only at ro (a bind mount: needs root). 0 or -1. */
static int ro_bind(const char *dir, const char *ro)
{
	if (mount(dir, ro, NULL, MS_BIND, NULL) < 0)
		return -1;
	if (mount(NULL, ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		umount2(ro, MNT_DETACH);
		return -1;
	}
	return 0;
}

/*
 * A store on a read-only filesystem: refused for writing (EV_EROFS,
 * saying why) before anything is done; opened read-only when asked,
 * where SQLite alone fails with "unable to open database file", even in
 * a folder whose name has the characters a URI treats apart; one older
 * than this build refused, as it cannot be upgraded there.
 */
static void test_store_readonly(void)
{
	char *d = tmpdir(), err[512];
	struct store *s = NULL;
	if (!d)
		T_SKIP("no temporary folder");
	char *disk = xasprintf("%s/disk", d), *ro = xasprintf("%s/ro", d);
	char *sd = xasprintf("%s/a store?x=1#%%41", disk), *rs = xasprintf("%s/a store?x=1#%%41", ro);
	int mounted = 0;
	/* STORE_READONLY on a writable store: no write gets through */
	CHECK(store_open(sd, STORE_CREATE, &s, err, sizeof err) == 0);
	CHECK(s && store_readonly(s) == NULL);
	CHECK(s && store_meta_set(s, "k", "v", err, sizeof err) == 0);
	store_close(s);
	s = NULL;
	CHECK(store_open(sd, STORE_READONLY, &s, err, sizeof err) == 0);
	if (s) {
		CHECK_STR(store_readonly(s), "opened read-only");
		CHECK(strlen(store_device_id(s)) == 32);
		CHECK(store_meta_set(s, "k", "w", err, sizeof err) != 0);
		char *v = store_meta_get(s, "k");
		CHECK_STR(v, "v");
		free(v);
	}
	store_close(s);
	s = NULL;
	if (geteuid() != 0 || mkdir(ro, 0700) < 0 || ro_bind(disk, ro) < 0) {
		t_skip = "a read-only bind mount cannot be made here (needs root)";
		goto out;
	}
	mounted = 1;
	CHECK(store_open(rs, 0, &s, err, sizeof err) == EV_EROFS);
	CHECK(s == NULL);
	CHECK(strstr(err, "the store cannot be written: its filesystem is read-only") != NULL);
	CHECK(store_open(rs, STORE_CREATE, &s, err, sizeof err) == EV_EROFS);
	CHECK(store_open(rs, STORE_READ_IF_UNWRITABLE, &s, err, sizeof err) == 0);
	if (!s)
		printf("# %s\n", err);
	if (s) {
		CHECK_STR(store_readonly(s), "its filesystem is read-only");
		char *v = store_meta_get(s, "k");
		CHECK_STR(v, "v");
		free(v);
		CHECK(store_meta_set(s, "k", "w", err, sizeof err) != 0);
	}
	store_close(s);
	s = NULL;
	umount2(ro, MNT_DETACH);
	mounted = 0;
	/* schema one older than this build's */
	CHECK(store_open(sd, 0, &s, err, sizeof err) == 0);
	char *pragma = xasprintf("PRAGMA user_version = %d", store_schema_version() - 1);
	CHECK(s && store_exec(s, pragma, err, sizeof err) == 0);
	free(pragma);
	store_close(s);
	s = NULL;
	if (ro_bind(disk, ro) < 0) {
		CHECK(!"the bind mount could not be made again");
		goto out;
	}
	mounted = 1;
	CHECK(store_open(rs, STORE_READ_IF_UNWRITABLE, &s, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "cannot be upgraded: its filesystem is read-only") != NULL);
out:
	store_close(s);
	if (mounted)
		umount2(ro, MNT_DETACH);
	free(sd);
	free(rs);
	free(ro);
	free(disk);
	rmrf(d);
	free(d);
}

int main(void)
{
	RUN(test_store_blobs);
	RUN(test_ingest_keepalive);
	RUN(test_clean_spares_live_writer);
	RUN(test_blob_direct_then_buffered);
	RUN(test_blob_readback_catches_change);
	RUN(test_blob_no_room);
	RUN(test_case_key);
	RUN(test_custody_chain);
	RUN(test_blob_restore);
	RUN(test_restore_recorded_late);
	RUN(test_restore_race);
	RUN(test_blob_place_not_a_file);
	RUN(test_migration);
	RUN(test_store_being_made);
	RUN(test_store_readonly);
	RUN(test_config);
	RUN(test_secret_mode);
	T_EXIT();
}
