/*
 * The evidence store: SQLite database plus content-addressed blob files.
 * Durability rules (FACTS.md): WAL with synchronous=FULL keeps every
 * acknowledged commit; blobs are placed by temp, fsync, rename, fsync of
 * the directory before their row is committed.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "custody.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "timeutil.h"

/* Read-back buffers kept for reuse: a fresh aligned buffer for every
 * blob is a fresh mmap, and a page fault per 4 KiB to fill it. */
#define STORE_RB_KEEP 4

struct store {
	char *dir;
	sqlite3 *db;
	char device_id[33];
	/* why the database is open read-only ("" when open for writing),
	 * and whether because it cannot be written (enum store_unwritable) */
	char ro_why[160];
	int unwritable;
	/* blob commits may run on several threads at once; the spare
	 * read-back buffers are the only state they share */
	pthread_mutex_t rb_mu;
	uint8_t *rb_spare[STORE_RB_KEEP];
	int rb_n;
};

/* Writes of at least this much start their writeback at once. */
#define BLOB_KICK_MIN ((size_t)64 << 10)
/* Read-back chunk: one huge-page buffer (see fs_io_buf). */
#define BLOB_READBACK_CHUNK FS_IO_BUF
/* Direct writes need buffer, length and offset aligned to the device's
 * logical block; 4096 is a multiple of every such size in use. */
#define BLOB_DIRECT_ALIGN ((size_t)4096)

struct blob_writer {
	struct store *s;
	char *tmp_path;
	int fd;
	struct sha256 *h;      /* what the blob is named by */
	struct check128 *chk; /* what the read-back is compared with */
	uint64_t size;
	int placed; /* renamed into place: the temp name is gone */
	int direct; /* writes go to the disk with O_DIRECT */
	/* ENOSPC or EDQUOT once the disk had no room for the copy: the temp
	 * file is gone (fd is -1) and the bytes are only hashed; 0 before */
	int no_room;
};

int store_schema_version(void)
{
	return schema_migrations[schema_migration_count - 1].version;
}

/* STORE_BUSY_MS, or $EVCAP_STORE_BUSY_MS (1 to 600000), so that a test of
 * a store kept busy need not wait ten seconds a command. */
static int store_busy_ms(void)
{
	const char *v = getenv("EVCAP_STORE_BUSY_MS");
	char *end;
	long ms = v && *v ? strtol(v, &end, 10) : 0;
	return ms >= 1 && ms <= 600000 && !*end ? (int)ms : STORE_BUSY_MS;
}

void store_set_busy_ms(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

const char *store_dir(const struct store *s)
{
	return s->dir;
}

const char *store_readonly(const struct store *s)
{
	return s->ro_why[0] ? s->ro_why : NULL;
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

const char *store_device_id(const struct store *s)
{
	return s->device_id;
}

/*
 * The pid of another process holding a lock of kind ("FLOCK" or "POSIX")
 * that covers byte `byte` of path, from /proc/locks; 0 when none. Looked
 * up, never taken, and the file is never opened: taking a lock even for a
 * moment could turn away the program starting then, and closing any
 * descriptor of a file drops every POSIX lock this process holds on it,
 * SQLite's own among them.
 */
static long lock_holder(const char *path, const char *kind, unsigned long long byte)
{
	struct stat st;
	char line[256];
	long found = 0;
	FILE *f = stat(path, &st) == 0 ? fopen("/proc/locks", "re") : NULL;
	/* "1: POSIX  ADVISORY  WRITE 4242 fe:01:1835012 120 120", or
	 * "... 0 EOF"; a waiter's line has "->" after its number */
	while (f && !found && fgets(line, sizeof line, f)) {
		char k[16], end[24];
		unsigned maj, min;
		unsigned long long ino, start;
		long pid;
		if (strstr(line, "->") ||
		    sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu %llu %23s", k, &pid, &maj, &min,
			   &ino, &start, end) != 7)
			continue;
		if (strcmp(k, kind) != 0 || pid <= 0 || pid == (long)getpid() ||
		    ino != (unsigned long long)st.st_ino || makedev(maj, min) != st.st_dev)
			continue;
		if (start <= byte && (strcmp(end, "EOF") == 0 || strtoull(end, NULL, 10) >= byte))
			found = pid;
	}
	if (f)
		fclose(f);
	return found;
}

long store_lock_holder(const char *dir, const char *file)
{
	char *path = xasprintf("%s/%s", dir, file);
	long pid = lock_holder(path, "FLOCK", 0);
	free(path);
	return pid;
}

/*
 * SQLite takes POSIX record locks, whose holder the kernel names: in WAL
 * mode a writer holds byte 120 of the -shm file (the write lock) for its
 * whole transaction; in rollback mode it holds the RESERVED byte of the
 * database file (1 GiB + 1).
 */
int store_db_holder(const char *dir, char *out, size_t outlen)
{
	char *shm = xasprintf("%s/evidence.db-shm", dir);
	char *db = xasprintf("%s/evidence.db", dir);
	long pid = lock_holder(shm, "POSIX", 120);
	if (!pid)
		pid = lock_holder(db, "POSIX", 0x40000001ULL);
	free(shm);
	free(db);
	if (!pid)
		return 0;
	/* its command line, as ps shows it: arguments joined by spaces,
	 * anything but printable ASCII escaped, cut to a line's worth */
	char path[64], cmd[256];
	size_t n = 0;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, cmd, sizeof cmd - 1);
		n = r > 0 ? (size_t)r : 0;
		close(fd);
	}
	while (n > 0 && cmd[n - 1] == '\0')
		n--;
	struct buf b;
	buf_init(&b, 160);
	for (size_t i = 0; i < n && b.len < 120; i++) {
		unsigned char c = (unsigned char)cmd[i];
		int rc = c == '\0'		 ? buf_append(&b, " ", 1)
			 : c >= 0x20 && c < 0x7f ? buf_append(&b, (const char *)&c, 1)
						 : buf_printf(&b, "\\x%02x", c);
		if (rc)
			break;
	}
	if (n > 0)
		snprintf(out, outlen, "pid %ld: %s%s", pid, b.data ? b.data : "",
			 b.len >= 120 || n == sizeof cmd - 1 ? " ..." : "");
	else
		snprintf(out, outlen, "pid %ld", pid);
	buf_free(&b);
	return 1;
}

/* What to say when another writer kept the database (past the wait, or
 * where SQLite does not wait): its "database is locked" names neither who
 * nor what to do. Who holds it, as the kernel tells; and who runs on the
 * store, where that is another process (evcapd, a sync or pull). */
static int store_busy_err(struct store *s, char *err, size_t errlen)
{
	char holder[200] = "", who[320];
	long held = 0, pid;
	if (store_db_holder(s->dir, holder, sizeof holder))
		held = strtol(holder + 4, NULL, 10); /* "pid N..." */
	const char *role = NULL;
	if ((pid = store_lock_holder(s->dir, "evcapd.lock")))
		role = "evcapd runs on it";
	else if ((pid = store_lock_holder(s->dir, "sync.lock")))
		role = "an evcap sync or pull runs on it";
	if (held && role && pid != held)
		snprintf(who, sizeof who, "held by %s; %s, pid %ld", holder, role, pid);
	else if (held)
		snprintf(who, sizeof who, "held by %s", holder);
	else if (role)
		snprintf(who, sizeof who, "%s, pid %ld", role, pid);
	else
		snprintf(who, sizeof who, "evcapd, or another evcap command");
	return err_set(err, errlen, EV_EDB,
		       "%s: the store is busy: another program is writing to it (%s); try again "
		       "once it is done",
		       s->dir, who);
}

int store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int r = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (r != SQLITE_OK) {
		int rc = (r & 0xff) == SQLITE_BUSY
				 ? store_busy_err(s, err, errlen)
				 : err_set(err, errlen, EV_EDB, "%s/evidence.db: %s", s->dir,
					   msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

/*
 * For developers and tests: with EVCAP_QUERY_PLANS=FILE, each statement
 * prepared is appended to FILE with SQLite's plan for it, as one record:
 * "SQL <text on one line>", then "PLAN <id> <parent id> <detail>" lines,
 * then an empty line.
 * tests/query_plans.py reads it, after the tests, to find full scans.
 * One write(2) per record, with O_APPEND, so that processes and threads
 * sharing the file never interleave within a record.
 */
static void store_log_plan(struct store *s, const char *sql)
{
	const char *path = getenv("EVCAP_QUERY_PLANS");
	if (!path || !*path)
		return;
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st = NULL;
	struct buf b;
	buf_init(&b, (size_t)1 << 20);
	int bad = !q || sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK;
	bad = bad || buf_puts(&b, "SQL ");
	for (const char *p = sql; !bad && *p; p++)
		bad = buf_putc(&b, *p == '\n' || *p == '\t' ? ' ' : *p);
	bad = bad || buf_putc(&b, '\n');
	while (!bad && sqlite3_step(st) == SQLITE_ROW)
		bad = buf_printf(&b, "PLAN %d %d %s\n", sqlite3_column_int(st, 0),
				 sqlite3_column_int(st, 1), (const char *)sqlite3_column_text(st, 3));
	bad = bad || buf_putc(&b, '\n');
	int fd = bad ? -1 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, b.data, b.len) != (ssize_t)b.len)
			log_warn("%s: cannot write a query plan", path);
		close(fd);
	}
	sqlite3_finalize(st);
	sqlite3_free(q);
	buf_free(&b);
}

sqlite3_stmt *store_prepare(struct store *s, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		err_set(err, errlen, EV_EDB, "%s/evidence.db: %s", s->dir, sqlite3_errmsg(s->db));
		return NULL;
	}
	store_log_plan(s, sql);
	return st;
}

int store_begin(struct store *s, char *err, size_t errlen)
{
	return store_exec(s, "BEGIN IMMEDIATE", err, errlen);
}

int store_commit(struct store *s, char *err, size_t errlen)
{
	int rc = store_exec(s, "COMMIT", err, errlen);
	/* asked before the rollback, which sets the error code again */
	if (rc && (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_FULL)
		rc = EV_ENOSPC;
	if (rc)
		store_rollback(s);
	return rc;
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

char *store_meta_get(struct store *s, const char *key)
{
	char *v = NULL;
	sqlite3_stmt *st = store_prepare(s, "SELECT value FROM meta WHERE key = ?", NULL, 0);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

int store_meta_set(struct store *s, const char *key, const char *value, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(
		s, value ? "INSERT INTO meta(key, value) VALUES (?, ?) "
			   "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
			 : "DELETE FROM meta WHERE key = ?",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	int rc = r == SQLITE_DONE	       ? 0
		 : (r & 0xff) == SQLITE_BUSY ? store_busy_err(s, err, errlen)
					       : err_set(err, errlen, EV_EDB, "%s/evidence.db: %s",
							 s->dir, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc;
}

int64_t store_case_id(struct store *s, const char *number)
{
	int64_t id = 0;
	sqlite3_stmt *st = store_prepare(s, "SELECT id FROM cases WHERE number = ?", NULL, 0);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int store_case_like(struct store *s, const char *number, char **first)
{
	/* every number folded in turn: a store holds tens or hundreds of
	 * cases, and SQLite knows nothing of full-width forms */
	if (first)
		*first = NULL;
	sqlite3_stmt *st = store_prepare(s, "SELECT number FROM cases ORDER BY id", NULL, 0);
	if (!st)
		return EV_EDB;
	char *want = utf8_width_fold(number, xstrdup(number));
	int n = 0, r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		if (!c || strcmp(c, number) == 0 || strlen(c) < strlen(want))
			continue;
		char *f = utf8_width_fold(c, xstrdup(c));
		if (strcmp(f, want) == 0 && n++ == 0 && first)
			*first = xstrdup(c);
		free(f);
	}
	sqlite3_finalize(st);
	free(want);
	if (r != SQLITE_DONE) {
		if (first) {
			free(*first);
			*first = NULL;
		}
		return EV_EDB;
	}
	return n;
}

void store_case_key(const char *number, char out[64])
{
	/* A readable slug of the ASCII letters and digits, then 16 hex digits
	 * of the number's SHA-256 so distinct numbers never share a key. */
	char slug[40];
	size_t n = 0;
	int dash = 0;
	for (const unsigned char *p = (const unsigned char *)number; *p && n < 32; p++) {
		unsigned char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && n)
				slug[n++] = '-';
			dash = 0;
			slug[n++] = (char)c;
		} else {
			dash = 1;
		}
	}
	slug[n] = '\0';
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(number, strlen(number), hex);
	if (n)
		snprintf(out, 64, "%.32s-%.16s", slug, hex);
	else
		snprintf(out, 64, "case-%.16s", hex);
}

char *store_blob_path(const struct store *s, const char *hex)
{
	return xasprintf("%s/blobs/sha256/%.2s/%.2s/%s", s->dir, hex, hex + 2, hex);
}

int store_has_blob(const struct store *s, const char *hex)
{
	char *p = store_blob_path(s, hex);
	struct stat st;
	int r = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return r;
}

/* Whether name is a blob's file name: 64 lowercase hex digits. */
static int blob_name(const char *name)
{
	return strlen(name) == SHA256_HEX_LEN && sha256_hex_valid(name);
}

int store_orphan_blobs(struct store *s, int64_t *n, char *err, size_t errlen)
{
	char *root = xasprintf("%s/blobs/sha256", s->dir);
	sqlite3_stmt *st = store_prepare(s, "SELECT 1 FROM items WHERE sha256 = ?", err, errlen);
	DIR *d1 = NULL;
	int rc = 0;
	*n = 0;
	if (!st) {
		rc = EV_EDB;
		goto out;
	}
	d1 = opendir(root);
	if (!d1) {
		if (errno != ENOENT) /* a store with no blob yet has no folder */
			rc = err_set(err, errlen, EV_EIO, "%s: %s", root, strerror(errno));
		goto out;
	}
	/* blobs/sha256/ab/cd/<hex>: two levels of fan-out folders */
	struct dirent *e1;
	while (!rc && (e1 = readdir(d1))) {
		if (strlen(e1->d_name) != 2 || e1->d_name[0] == '.')
			continue;
		char *p1 = xasprintf("%s/%s", root, e1->d_name);
		DIR *d2 = opendir(p1);
		struct dirent *e2;
		while (d2 && !rc && (e2 = readdir(d2))) {
			if (strlen(e2->d_name) != 2 || e2->d_name[0] == '.')
				continue;
			char *p2 = xasprintf("%s/%s", p1, e2->d_name);
			DIR *d3 = opendir(p2);
			struct dirent *e3;
			while (d3 && !rc && (e3 = readdir(d3))) {
				if (!blob_name(e3->d_name))
					continue;
				sqlite3_reset(st);
				sqlite3_bind_text(st, 1, e3->d_name, -1, SQLITE_TRANSIENT);
				int r = sqlite3_step(st);
				if (r == SQLITE_DONE)
					(*n)++;
				else if (r != SQLITE_ROW)
					rc = err_set(err, errlen, EV_EDB, "%s/evidence.db: %s",
						     s->dir, sqlite3_errmsg(s->db));
			}
			if (d3)
				closedir(d3);
			free(p2);
		}
		if (d2)
			closedir(d2);
		free(p1);
	}
out:
	if (d1)
		closedir(d1);
	sqlite3_finalize(st);
	free(root);
	return rc;
}

/* Removes temp files a crash left in blobs/tmp (they never have rows).
 * A live writer (this or another process: the daemon and the CLI share a
 * store) holds an exclusive lock on its temp file for as long as it
 * writes, so only files nobody holds are removed. */
static void store_clean_tmp(struct store *s)
{
	char *tmpdir = xasprintf("%s/blobs/tmp", s->dir);
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		int removed = 0;
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, "blob-", 5) != 0)
				continue;
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (fs_tmp_abandoned(fd, e->d_name) && unlinkat(dirfd(d), e->d_name, 0) == 0)
				removed++;
			close(fd);
		}
		closedir(d);
		if (removed)
			log_info("%s: removed %d unfinished temporary blob file%s left by an "
				 "interrupted run",
				 tmpdir, removed, removed == 1 ? "" : "s");
	}
	free(tmpdir);
}

static int store_user_version(struct store *s, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s, "PRAGMA user_version", err, errlen);
	if (!st)
		return EV_EDB;
	int r = sqlite3_step(st);
	*version = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (r != SQLITE_ROW)
		return err_set(err, errlen, EV_EDB, "%s/evidence.db: %s", s->dir,
			       sqlite3_errmsg(s->db));
	return 0;
}

/* Who made or upgraded a store, for its custody event: the operator the
 * commands name ($EVCAP_OPERATOR), else the login name. */
static const char *store_actor(void)
{
	const char *op = getenv("EVCAP_OPERATOR");
	if (op && *op)
		return op;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_name ? pw->pw_name : "unknown";
}

/*
 * Brings the schema up to date, one migration per transaction. The
 * version is read again inside each write transaction: evcapd and the
 * CLI may open an older store at the same moment, and the one that
 * waited must not apply a migration the other has just committed.
 * An existing store's upgrade changes the record's tables, so each step
 * is a custody event in its own transaction ("schema_upgrade", from and
 * to), and one line on stderr says it once, whatever command opened it.
 * A store is an existing one once its custody log holds an event: until
 * then another process is still making it, and it is built on silently.
 */
static int store_migrate(struct store *s, char *err, size_t errlen)
{
	int version, rc = store_user_version(s, &version, err, errlen);
	if (rc)
		return rc;
	int initial = version, upgraded = 0; /* a new store is built silently */
	if (initial > 0 && !s->device_id[0]) {
		/* the events name this device, as every other event does */
		char *id = store_meta_get(s, "device_id");
		snprintf(s->device_id, sizeof s->device_id, "%s", id ? id : "");
		free(id);
	}
	for (size_t i = 0;; i++) {
		if (version > store_schema_version())
			return err_set(err, errlen, EV_EINVAL,
				       "%s/evidence.db: schema version %d is newer than this evcap "
				       "knows (%d); use a newer evcap",
				       s->dir, version, store_schema_version());
		if (i == schema_migration_count) {
			if (upgraded)
				log_info("%s: the store was upgraded from schema %d to %d (a "
					 "schema_upgrade event in the custody log)",
					 s->dir, initial, version);
			return 0;
		}
		const struct migration *m = &schema_migrations[i];
		if (m->version <= version)
			continue;
		if ((rc = store_begin(s, err, errlen)))
			return rc;
		if ((rc = store_user_version(s, &version, err, errlen))) {
			store_rollback(s);
			return rc;
		}
		if (m->version <= version) { /* another process was first */
			store_rollback(s);
			continue;
		}
		/* a store whose log is still empty is one another process is
		 * making at this moment (its init event not yet written): it
		 * is built on, not upgraded */
		int64_t events = 0;
		char head[SHA256_HEX_LEN + 1];
		if (initial > 0 && custody_head(s, head, &events)) {
			store_rollback(s);
			return err_set(err, errlen, EV_EDB, "%s/evidence.db: cannot read the custody "
					"log", s->dir);
		}
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
		if ((rc = store_exec(s, m->sql, err, errlen)) ||
		    (rc = store_exec(s, pragma, err, errlen))) {
			store_rollback(s);
			return rc;
		}
		if (events > 0) {
			upgraded = 1;
			json_t *d = json_pack("{s:i, s:i}", "from", version, "to", m->version);
			rc = custody_append(s, time_now(), store_actor(), "schema_upgrade", NULL,
					    NULL, d, NULL, err, errlen);
			json_decref(d);
			if (rc) {
				store_rollback(s);
				return rc;
			}
		}
		if ((rc = store_commit(s, err, errlen)))
			return rc;
		version = m->version;
	}
}

static int store_init_device(struct store *s, char *err, size_t errlen)
{
	char *id = store_meta_get(s, "device_id");
	if (!id) {
		uint8_t raw[16];
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fs_read_full(fd, raw, sizeof raw) != (ssize_t)sizeof raw) {
			if (fd >= 0)
				close(fd);
			return err_set(err, errlen, EV_EIO, "cannot read /dev/urandom: %s",
				       strerror(errno));
		}
		close(fd);
		char hex[33];
		hex_encode(raw, sizeof raw, hex);
		int rc = store_meta_set(s, "device_id", hex, err, errlen);
		if (rc)
			return rc;
		id = xstrdup(hex);
	}
	snprintf(s->device_id, sizeof s->device_id, "%s", id);
	free(id);
	return 0;
}

/*
 * The custody log's first event, "init", whoever makes the store (evcap
 * init, or evcapd finding none). Recorded while the log is empty, so an
 * open that was stopped before it (a kill, a power cut) is finished by the
 * next; read again inside the write, as two makers may open one new store
 * at once. A store already under way costs one read.
 */
static int store_record_init(struct store *s, char *err, size_t errlen)
{
	char head[SHA256_HEX_LEN + 1];
	int64_t seq = 0;
	if (custody_head(s, head, &seq))
		return err_set(err, errlen, EV_EDB, "%s/evidence.db: cannot read the custody log",
			       s->dir);
	if (seq > 0)
		return 0;
	int rc = store_begin(s, err, errlen);
	if (rc)
		return rc;
	if (custody_head(s, head, &seq))
		rc = err_set(err, errlen, EV_EDB, "%s/evidence.db: cannot read the custody log",
			     s->dir);
	if (!rc && seq == 0) {
		json_t *d = json_pack("{s:i}", "schema_version", store_schema_version());
		rc = custody_append(s, time_now(), store_actor(), "init", NULL, NULL, d, NULL, err,
				    errlen);
		json_decref(d);
	}
	if (!rc)
		rc = store_commit(s, err, errlen);
	if (rc)
		store_rollback(s);
	return rc;
}

/*
 * Creates the 256 first-level folders of blobs/sha256 (00 .. ff) with one
 * fsync for all. Made one by one as blobs arrive, each costs an fsync of
 * blobs/sha256 in the middle of an ingest; for the first card into a new
 * store that was a fifth of all its fsyncs. The layout is the same.
 */
static int store_make_fanout(const char *shadir, char *err, size_t errlen)
{
	char p[4096];
	int made = 0;
	snprintf(p, sizeof p, "%s/ff", shadir);
	if (access(p, F_OK) == 0)
		return 0; /* made before */
	for (int i = 0; i < 256; i++) {
		snprintf(p, sizeof p, "%s/%02x", shadir, i);
		if (mkdir(p, 0755) == 0)
			made = 1;
		else if (errno != EEXIST)
			return err_set(err, errlen, EV_EIO, "%s: cannot create directory: %s", p,
				       strerror(errno));
	}
	return made ? fs_fsync_dir(shadir, err, errlen) : 0;
}

/*
 * PRAGMA journal_mode = WAL. While the database is not in WAL mode yet (a
 * new store), another connection's lock makes SQLite refuse the switch at
 * once, without waiting: two programs making one store at the same moment
 * (three inits at once, evcapd and an init at first boot) failed with
 * "busy". So it is tried again, for as long as a write would wait.
 */
static int store_set_wal(struct store *s, char *err, size_t errlen)
{
	int rc;
	for (int waited = 0;; waited += 20) {
		rc = store_exec(s, "PRAGMA journal_mode = WAL", err, errlen);
		if (!rc || waited >= store_busy_ms() || (sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY)
			return rc;
		usleep(20000);
	}
}

enum store_unwritable {
	STORE_WRITABLE,
	STORE_RO_FS,   /* its filesystem is read-only */
	STORE_RO_PERM, /* this user may not write to it */
};

/*
 * Whether this process can write to the store in dir: SQLite writes the
 * database and makes its -wal and -shm files beside it, so both the
 * folder and evidence.db (where it exists) must be writable. What cannot
 * be told (another error) counts as writable: the open then reports what
 * fails. why gets "its filesystem is read-only" (statvfs, or EROFS) or
 * "this user (NAME) may not write to ..." when it cannot.
 */
static enum store_unwritable store_writable(const char *dir, const char *db, char *why,
					    size_t whylen)
{
	struct statvfs vfs;
	const char *paths[2] = {dir, db};
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		snprintf(why, whylen, "its filesystem is read-only");
		return STORE_RO_FS;
	}
	for (int i = 0; i < 2; i++) {
		if (faccessat(AT_FDCWD, paths[i], W_OK, AT_EACCESS) == 0 || errno == ENOENT)
			continue;
		if (errno == EROFS) {
			snprintf(why, whylen, "its filesystem is read-only");
			return STORE_RO_FS;
		}
		if (errno == EACCES || errno == EPERM) {
			struct passwd *pw = getpwuid(geteuid());
			char who[64];
			if (pw && pw->pw_name)
				snprintf(who, sizeof who, "%s", pw->pw_name);
			else
				snprintf(who, sizeof who, "uid %ld", (long)geteuid());
			snprintf(why, whylen, "this user (%s) may not write to %s", who,
				 i == 0 ? "its folder" : "its evidence.db");
			return STORE_RO_PERM;
		}
	}
	return STORE_WRITABLE;
}

/* path as an SQLite URI ("file:" and the path, every byte but letters,
 * digits and "/._~-" percent-encoded, so that '?', '#' and '%' in a
 * folder's name stay part of it) with query appended. malloc'd. */
static char *store_uri(const char *path, const char *query)
{
	struct buf b;
	buf_init(&b, (size_t)16 << 10);
	/* "file:" and an absolute path take an empty authority, so that a
	 * path starting with "//" is never read as a host */
	int bad = buf_puts(&b, path[0] == '/' ? "file://" : "file:");
	for (const unsigned char *p = (const unsigned char *)path; !bad && *p; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/._~-", c))
			bad = buf_putc(&b, (char)c);
		else
			bad = buf_printf(&b, "%%%02X", c);
	}
	bad = bad || buf_printf(&b, "?%s", query);
	char *uri = bad ? NULL : xstrdup(b.data);
	buf_free(&b);
	return uri;
}

/* The size of a WAL file's header: a file no longer than it holds no
 * frame, so nothing that is not in the database. */
#define STORE_WAL_HEADER 32

/*
 * Opens evidence.db read-only. On a read-only filesystem SQLite can make
 * neither the -wal nor the -shm file a WAL database needs, and fails with
 * only "unable to open database file". Where both are there (the store
 * was not closed: evcapd stopped, a card pulled), SQLite reads the -wal
 * through a private copy of its index and sees every commit in it. Where
 * the -wal is missing or holds no frame, nothing is outside the database,
 * and immutable=1 reads it without either file (no writer can come on a
 * read-only filesystem). An -wal that may hold frames but has no -shm
 * cannot be replayed here: immutable=1 would pass over its commits
 * without a word, so the open is refused, saying so.
 *
 * A store this user may not write to lies where its owner may write at
 * any moment, so it is never opened immutable: SQLite reads it through
 * the -shm file that a writer keeps there while it has the store open
 * (evcapd on the appliance). Without one, the open is refused, saying so.
 */
static int store_open_readonly(struct store *s, const char *dbpath, char *err, size_t errlen)
{
	int oflags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, rc = 0;
	char *wal = xasprintf("%s-wal", dbpath), *shm = xasprintf("%s-shm", dbpath);
	char *name = NULL;
	struct stat ws, ss;
	if (s->unwritable == STORE_RO_FS) {
		int has_wal = lstat(wal, &ws) == 0, wal_errno = errno;
		int has_shm = lstat(shm, &ss) == 0;
		if (!has_wal && wal_errno != ENOENT) {
			rc = err_set(err, errlen, EV_EIO, "%s: cannot tell whether it holds commits "
				     "not yet in the database: %s",
				     wal, strerror(wal_errno));
			goto out;
		}
		if (has_wal && has_shm) {
			name = xstrdup(dbpath);
		} else if (has_wal && ws.st_size > STORE_WAL_HEADER) {
			rc = err_set(err, errlen, EV_EDB,
				     "%s holds %lld bytes of changes that may not be in evidence.db "
				     "yet (the store was not closed: evcapd or a command stopped, or "
				     "the card was taken out), and on this read-only filesystem they "
				     "cannot be read back without its evidence.db-shm, which is "
				     "missing; reading without them could leave out committed "
				     "records. Copy the whole store folder to a writable disk and give "
				     "--store the copy (its first command takes them in), or mount the "
				     "disk read-write",
				     wal, (long long)ws.st_size);
			goto out;
		} else {
			name = store_uri(dbpath, "immutable=1");
			oflags |= SQLITE_OPEN_URI;
		}
	} else if (s->unwritable == STORE_RO_PERM && lstat(shm, &ss) < 0) {
		rc = err_set(err, errlen, EV_EDB,
			     "%s: cannot be read by this user while no program has the store "
			     "open (%s): reading it needs its evidence.db-shm, which only a user "
			     "who may write to the store's folder can make; run the command as "
			     "the store's owner, or while evcapd runs on the store",
			     dbpath, s->ro_why);
		goto out;
	} else {
		name = xstrdup(dbpath);
	}
	if (!name) {
		rc = err_set(err, errlen, EV_ELIMIT, "%s: the path is too long", dbpath);
		goto out;
	}
	if (sqlite3_open_v2(name, &s->db, oflags, NULL) != SQLITE_OK)
		rc = err_set(err, errlen, EV_EDB, "%s: cannot open read-only (%s): %s", dbpath,
			     s->ro_why, s->db ? sqlite3_errmsg(s->db) : "out of memory");
out:
	free(name);
	free(wal);
	free(shm);
	return rc;
}

/* A store opened read-only is not migrated: one older than this build is
 * refused, as one newer is, rather than read with the wrong tables. */
static int store_check_version(struct store *s, char *err, size_t errlen)
{
	int version, rc = store_user_version(s, &version, err, errlen);
	if (rc)
		return err_set(err, errlen, EV_EDB, "%s/evidence.db: cannot be read (opened "
			       "read-only: %s): %s",
			       s->dir, s->ro_why, sqlite3_errmsg(s->db));
	if (version > store_schema_version())
		return err_set(err, errlen, EV_EINVAL,
			       "%s/evidence.db: schema version %d is newer than this evcap knows "
			       "(%d); use a newer evcap",
			       s->dir, version, store_schema_version());
	if (version < store_schema_version())
		return err_set(err, errlen, EV_EINVAL,
			       "%s/evidence.db: schema version %d is older than this evcap's (%d), "
			       "and the store cannot be upgraded: %s; use the evcap that made it, "
			       "or copy the store to a writable disk and run this evcap there",
			       s->dir, version, store_schema_version(), s->ro_why);
	return 0;
}

/* Room the database needs to be opened at all: its shared-memory index
 * (32 KiB) and the first pages of its write-ahead log. */
#define STORE_OPEN_ROOM ((uint64_t)64 << 10)

/* SQLite tells a disk with no room for its shared-memory index only as a
 * "disk I/O error": where the store's disk is all but full, the message
 * of an open that failed says so, and what to do. */
static void store_open_no_room(const char *dir, char *err, size_t errlen)
{
	struct statvfs vfs;
	char left[32];
	if (!err || !errlen || statvfs(dir, &vfs) != 0 ||
	    (uint64_t)vfs.f_bavail * vfs.f_frsize >= STORE_OPEN_ROOM)
		return;
	human_bytes((uint64_t)vfs.f_bavail * vfs.f_frsize, left);
	size_t n = strlen(err);
	snprintf(err + n, errlen - n,
		 " (the store's disk is full, %s free: make room there and run it again)", left);
}

int store_open(const char *dir, int flags, struct store **out, char *err, size_t errlen)
{
	int rc = 0;
	struct store *s = xcalloc(1, sizeof *s);
	char *dbpath = NULL;
	pthread_mutex_init(&s->rb_mu, NULL);
	*out = NULL;
	s->dir = xstrdup(dir);
	struct stat st;
	int there = stat(dir, &st) == 0;
	if (!there) {
		if (!(flags & STORE_CREATE)) {
			rc = err_set(err, errlen, EV_ENOENT,
				     "no evidence store at %s (run 'evcap init' first, or give --store)",
				     dir);
			goto out;
		}
	}
	dbpath = xasprintf("%s/evidence.db", dir);
	if (!(flags & STORE_CREATE) && stat(dbpath, &st) < 0) {
		rc = err_set(err, errlen, EV_ENOENT,
			     "%s is not an evidence store (no evidence.db; run 'evcap init')", dir);
		goto out;
	}
	/* refused before anything is made or changed; or, when asked for,
	 * opened read-only */
	int readonly = flags & STORE_READONLY;
	if (there)
		s->unwritable = store_writable(dir, dbpath, s->ro_why, sizeof s->ro_why);
	if (s->unwritable) {
		if (!(flags & (STORE_READONLY | STORE_READ_IF_UNWRITABLE))) {
			rc = err_set(err, errlen, EV_EROFS, "%s: the store cannot be written: %s",
				     dir, s->ro_why);
			goto out;
		}
		readonly = 1;
	} else if (readonly) {
		snprintf(s->ro_why, sizeof s->ro_why, "opened read-only");
	}
	if (readonly) {
		if ((rc = store_open_readonly(s, dbpath, err, errlen)))
			goto out;
	} else if (flags & STORE_CREATE) {
		/* the store's own folder says who may read it (0750 with the
		 * evcap group on the appliance; private where init makes it);
		 * within it the originals follow it, so a member of its group
		 * can verify them. Only unfinished temp blobs stay private. */
		char *blobs = xasprintf("%s/blobs", dir);
		char *tmp = xasprintf("%s/blobs/tmp", dir);
		char *shadir = xasprintf("%s/blobs/sha256", dir);
		rc = fs_mkdir_p(dir, 0700, err, errlen);
		if (!rc)
			rc = fs_mkdir_p(blobs, 0750, err, errlen);
		if (!rc)
			rc = fs_mkdir_p(tmp, 0700, err, errlen);
		if (!rc)
			rc = fs_mkdir_p(shadir, 0755, err, errlen);
		if (!rc)
			rc = store_make_fanout(shadir, err, errlen);
		free(blobs);
		free(tmp);
		free(shadir);
		if (rc)
			goto out;
	}
	if (!readonly && sqlite3_open_v2(dbpath, &s->db,
					 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						 SQLITE_OPEN_NOFOLLOW,
					 NULL) != SQLITE_OK) {
		rc = err_set(err, errlen, EV_EDB, "%s: cannot open: %s", dbpath,
			     s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	store_set_busy_ms(s, store_busy_ms());
	sqlite3_extended_result_codes(s->db, 1);
	if (!readonly) {
		if ((rc = store_set_wal(s, err, errlen)))
			goto out;
	} else if ((rc = store_check_version(s, err, errlen))) {
		goto out;
	}
	if ((rc = store_exec(s,
			     "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
			     " PRAGMA trusted_schema = OFF;",
			     err, errlen)))
		goto out;
	if (!readonly) {
		if ((rc = store_migrate(s, err, errlen)))
			goto out;
		if ((rc = store_init_device(s, err, errlen)))
			goto out;
		if ((flags & STORE_CREATE) && (rc = store_record_init(s, err, errlen)))
			goto out;
		store_clean_tmp(s);
		/* not the open's failure: the next command to open the store records it */
		char kerr[512];
		if (store_record_kept(s, NULL, NULL, kerr, sizeof kerr))
			log_warnx("%s: a restore not yet in the custody log was not recorded: %s",
				  dir, kerr);
	} else {
		char *id = store_meta_get(s, "device_id");
		snprintf(s->device_id, sizeof s->device_id, "%s", id ? id : "");
		free(id);
	}
	*out = s;
	s = NULL;
out:
	if (rc && rc != EV_ENOENT)
		store_open_no_room(dir, err, errlen);
	free(dbpath);
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close_v2(s->db);
	for (int i = 0; i < s->rb_n; i++)
		free(s->rb_spare[i]);
	pthread_mutex_destroy(&s->rb_mu);
	free(s->dir);
	free(s);
}

/* Whether errno e says the disk (or the user's quota) has no room. */
static int no_room_errno(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

int store_blob_begin(struct store *s, struct blob_writer **out, char *err, size_t errlen)
{
	struct blob_writer *w = xcalloc(1, sizeof *w);
	w->s = s;
	w->tmp_path = xasprintf("%s/blobs/tmp/blob-%ld-XXXXXX", s->dir, (long)getpid());
	w->h = sha256_new();
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0 && no_room_errno(errno)) {
		w->no_room = errno; /* hashed only: see blob_no_room */
		*out = w;
		return 0;
	}
	if (w->fd < 0) {
		int rc = err_set(err, errlen, EV_EIO, "%s: cannot create temporary file: %s",
				 w->tmp_path, strerror(errno));
		sha256_free(w->h);
		free(w->tmp_path);
		free(w);
		*out = NULL;
		return rc;
	}
	/* held until the temp file is renamed or removed: see store_clean_tmp */
	if (flock(w->fd, LOCK_EX) < 0) {
		int rc = err_set(err, errlen, EV_EIO, "%s: cannot lock temporary file: %s",
				 w->tmp_path, strerror(errno));
		close(w->fd);
		unlink(w->tmp_path);
		sha256_free(w->h);
		free(w->tmp_path);
		free(w);
		*out = NULL;
		return rc;
	}
	w->direct = fs_set_direct(w->fd, 1) == 0;
	w->chk = check128_new();
	*out = w;
	return 0;
}

/*
 * The disk has no room for the copy: it is given up at once (its blocks
 * are room another write, or the database, may need) and the rest of the
 * bytes are only hashed, so that commit can still take the same bytes
 * where they are whole in the store already: an earlier run that placed
 * them and could not record them (its disk full too) is put right without
 * room for a second copy.
 */
static void blob_no_room(struct blob_writer *w, int e)
{
	unlink(w->tmp_path); /* before close, while the lock is held */
	close(w->fd);
	w->fd = -1;
	w->direct = 0;
	w->no_room = e;
}

void store_blob_hash_only(struct blob_writer *w)
{
	if (!w->no_room)
		blob_no_room(w, ENOSPC);
}

int store_blob_write(struct blob_writer *w, const void *p, size_t n, char *err, size_t errlen)
{
	/* Whole aligned blocks (ingest's copy buffers) go straight to the
	 * disk: no page-cache copy, no writeback work, and requests as large
	 * as the buffer. The first piece that is not (a file's last few
	 * bytes, or a caller's own buffer) turns that off for the rest, which
	 * goes through the page cache; the fsync at commit covers both. */
	if (w->direct && (((uintptr_t)p | n | (size_t)w->size) & (BLOB_DIRECT_ALIGN - 1)) &&
	    fs_set_direct(w->fd, 0) == 0)
		w->direct = 0;
	if (!w->no_room && fs_write_all(w->fd, p, n) < 0) {
		if (!no_room_errno(errno))
			return err_set(err, errlen, EV_EIO, "%s: write failed: %s", w->tmp_path,
				       strerror(errno));
		blob_no_room(w, errno);
	}
	/* Start writing buffered pages to the disk now, without waiting: the
	 * disk works while the next chunk is read and hashed, and the fsync
	 * at commit finds little left to do. Advisory, so errors are left to
	 * that fsync. */
	if (!w->no_room && !w->direct && n >= BLOB_KICK_MIN)
		sync_file_range(w->fd, (off_t)w->size, (off_t)n, SYNC_FILE_RANGE_WRITE);
	sha256_update(w->h, p, n);
	if (!w->no_room)
		check128_update(w->chk, p, n);
	w->size += n;
	return 0;
}

uint64_t store_blob_size(const struct blob_writer *w)
{
	return w->size;
}

void store_blob_abort(struct blob_writer *w)
{
	if (!w)
		return;
	/* with no file (the disk full), the name may be another writer's now */
	if (!w->placed && w->fd >= 0)
		unlink(w->tmp_path); /* before close, while the lock is held */
	if (w->fd >= 0)
		close(w->fd);
	free(w->tmp_path);
	sha256_free(w->h);
	check128_free(w->chk);
	free(w);
}

/* Adds the rest of fd, in chunks of `chunk` bytes, to the check digest c
 * and the count to *total. Returns 0 or -errno (EINVAL from O_DIRECT on
 * the first read means the filesystem does not do direct I/O). */
static int blob_check_fd(int fd, uint8_t *b, size_t chunk, struct check128 *c, uint64_t *total)
{
	for (;;) {
		ssize_t r = read(fd, b, chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		check128_update(c, b, (size_t)r);
		*total += (uint64_t)r;
	}
}

static uint8_t *rb_get(struct store *s)
{
	uint8_t *b = NULL;
	pthread_mutex_lock(&s->rb_mu);
	if (s->rb_n > 0)
		b = s->rb_spare[--s->rb_n];
	pthread_mutex_unlock(&s->rb_mu);
	if (!b)
		b = fs_io_buf();
	return b;
}

static void rb_put(struct store *s, uint8_t *b)
{
	pthread_mutex_lock(&s->rb_mu);
	if (s->rb_n < STORE_RB_KEEP) {
		s->rb_spare[s->rb_n++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&s->rb_mu);
	free(b);
}

/*
 * Reads the temp file back from the start and compares it with what was
 * written: what is on disk is what was read from the source, so the
 * SHA-256 taken during the copy names the bytes on disk. The comparison is
 * by the check digest taken over the same buffers as the SHA-256 (a
 * storage fault would have to match 128 bits by chance to pass); hashing
 * the read-back with SHA-256 again cost a quarter of ingest's CPU time and
 * proved nothing more. The read must come from the device, not from the
 * pages just written. A new descriptor with O_DIRECT does that in one step
 * and fills no cache: on the benchmark machine about twice as fast as
 * dropping the pages (POSIX_FADV_DONTNEED) and reading them in again
 * through the cache. Filesystems without direct I/O (tmpfs) get the old
 * way.
 */
static int blob_readback(struct blob_writer *w, char *err, size_t errlen)
{
	int rc = 0, e = 0;
	uint8_t *b = rb_get(w->s);
	struct check128 *c = check128_new();
	uint64_t total = 0;
	int dfd = open(w->tmp_path, O_RDONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		e = blob_check_fd(dfd, b, BLOB_READBACK_CHUNK, c, &total);
		close(dfd);
	}
	if (dfd < 0 || (e == -EINVAL && total == 0)) {
		check128_reset(c);
		total = 0;
		posix_fadvise(w->fd, 0, 0, POSIX_FADV_DONTNEED);
		if (lseek(w->fd, 0, SEEK_SET) < 0) {
			rc = err_set(err, errlen, EV_EIO, "%s: seek failed: %s", w->tmp_path,
				     strerror(errno));
			goto out;
		}
		e = blob_check_fd(w->fd, b, BLOB_READBACK_CHUNK, c, &total);
	}
	if (e < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: read-back failed: %s", w->tmp_path,
			     strerror(-e));
		goto out;
	}
	uint8_t got[CHECK128_LEN], want[CHECK128_LEN];
	check128_final(c, got);
	check128_final(w->chk, want);
	if (total != w->size || memcmp(got, want, CHECK128_LEN) != 0)
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "the stored copy does not read back as written (storage fault?)");
out:
	check128_free(c);
	rb_put(w->s, b);
	return rc;
}

/*
 * Whether the file at a blob's place (final) holds the bytes its name
 * says, when a verified new copy of them is ready: BLOB_NEW (nothing
 * there), BLOB_EXISTED, or BLOB_RESTORED for a damaged one (how says how),
 * or <0 with err set. A copy this process may not read is taken as it is
 * (verify reports it as not checked).
 */
static int blob_compare_stored(struct blob_writer *w, const char *final, const char *hex,
			       struct blob_placed *how, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(final, &st) < 0) {
		if (errno == ENOENT)
			return BLOB_NEW;
		if (errno == ENOTDIR)
			return err_set(err, errlen, EV_EIO,
				       "%s: a folder on its path is not a folder; move it away and "
				       "run again",
				       final);
		return err_set(err, errlen, EV_EIO, "%s: cannot stat: %s", final, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return err_set(err, errlen, EV_EIO,
			       "%s: not a regular file in an original's place; move it away and "
			       "run again",
			       final);
	how->damaged_size = (uint64_t)st.st_size;
	int fd = open(final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES)
			return BLOB_EXISTED;
		snprintf(how->damaged_why, sizeof how->damaged_why, "cannot be opened: %s",
			 strerror(errno));
		return BLOB_RESTORED;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	uint8_t *b = rb_get(w->s), d[SHA256_LEN];
	struct sha256 *h = sha256_new();
	ssize_t r;
	while ((r = fs_read_full(fd, b, BLOB_READBACK_CHUNK)) > 0)
		sha256_update(h, b, (size_t)r);
	int e = r < 0 ? errno : 0;
	close(fd);
	rb_put(w->s, b);
	sha256_final(h, d);
	sha256_free(h);
	if (e) {
		snprintf(how->damaged_why, sizeof how->damaged_why, "cannot be read: %s",
			 strerror(e));
		return BLOB_RESTORED;
	}
	hex_encode(d, SHA256_LEN, how->damaged_sha256);
	if (strcmp(how->damaged_sha256, hex) == 0)
		return BLOB_EXISTED;
	if ((uint64_t)st.st_size == w->size)
		snprintf(how->damaged_why, sizeof how->damaged_why, "its bytes differ");
	else
		snprintf(how->damaged_why, sizeof how->damaged_why,
			 "its size differs (%llu bytes, not %llu)", (unsigned long long)st.st_size,
			 (unsigned long long)w->size);
	return BLOB_RESTORED;
}

/*
 * Serialises the restores of this store's originals (blobs/damaged/ is
 * the lock's file, made if missing): two workers, or two processes,
 * meeting one damaged original at once both found it damaged, and each
 * kept it under blobs/damaged/, the second copy no event named. The
 * holder compares again under the lock; restores are rare, so the wait
 * costs nothing. *fd gets the descriptor whose closing lets go.
 */
static int blob_restore_lock(struct store *s, int *fd, char *err, size_t errlen)
{
	char *dir = xasprintf("%s/blobs/damaged", s->dir);
	int rc = fs_mkdir_p(dir, 0750, err, errlen);
	*fd = -1;
	if (!rc && (*fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		rc = err_set(err, errlen, EV_EIO, "%s: cannot open: %s", dir, strerror(errno));
	while (!rc && flock(*fd, LOCK_EX) < 0)
		if (errno != EINTR)
			rc = err_set(err, errlen, EV_EIO, "%s: cannot lock: %s", dir,
				     strerror(errno));
	if (rc && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	free(dir);
	return rc;
}

/* Whether name is <64 hex>-<anything>: a copy kept by blob_keep_damaged,
 * or by an older evcap. hex (may be NULL) gets the digest. */
static int kept_name(const char *name, char hex[SHA256_HEX_LEN + 1])
{
	for (int i = 0; i < SHA256_HEX_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (name[SHA256_HEX_LEN] != '-' || !name[SHA256_HEX_LEN + 1])
		return 0;
	if (hex) {
		memcpy(hex, name, SHA256_HEX_LEN);
		hex[SHA256_HEX_LEN] = '\0';
	}
	return 1;
}

/* A name under dir (malloc'd, the full path) that the file at final
 * already has: a restore stopped between keeping the damaged copy and
 * placing the new one left it. NULL if none. */
static char *kept_already(const char *dir, const char *final, const char *hex)
{
	struct stat fs, ks;
	char *found = NULL;
	DIR *d = lstat(final, &fs) == 0 ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && !found && (e = readdir(d))) {
		if (strncmp(e->d_name, hex, SHA256_HEX_LEN) != 0 || !kept_name(e->d_name, NULL))
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(p, &ks) == 0 && ks.st_dev == fs.st_dev && ks.st_ino == fs.st_ino)
			found = p;
		else
			free(p);
	}
	if (d)
		closedir(d);
	return found;
}

/* Gives the damaged copy at final a second name under blobs/damaged/
 * (a hard link: until the new copy is renamed over it, both names hold
 * it, so no moment is without one or the other). A name it has there
 * already is used again. Called under blob_restore_lock, which made the
 * folder. */
static int blob_keep_damaged(struct blob_writer *w, const char *final, const char *hex,
			     struct blob_placed *how, char *err, size_t errlen)
{
	char *dir = xasprintf("%s/blobs/damaged", w->s->dir), stamp[32];
	char *path = kept_already(dir, final, hex);
	int rc = 0;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm); /* 20261130T091500Z */
	for (int n = 1; !path && !rc; n++) {
		char *p = n == 1 ? xasprintf("%s/%s-%s", dir, hex, stamp)
				 : xasprintf("%s/%s-%s-%d", dir, hex, stamp, n);
		if (link(final, p) == 0) {
			path = p;
			break;
		}
		if (errno != EEXIST || n == 100)
			rc = err_set(err, errlen, EV_EIO,
				     "%s: damaged, and cannot be kept as %s (%s), so it was not "
				     "replaced",
				     final, p, strerror(errno));
		free(p);
	}
	if (!rc)
		rc = fs_fsync_dir(dir, err, errlen);
	if (!rc)
		snprintf(how->kept_as, sizeof how->kept_as, "blobs/damaged/%s", fs_basename(path));
	free(path);
	free(dir);
	return rc;
}

/* Commit of a blob whose copy the full disk had no room for: the same
 * bytes whole at its place are taken (BLOB_EXISTED); anything else fails
 * with EV_ENOSPC, nothing changed (a damaged copy there is left for a run
 * with room to replace). */
static int blob_commit_no_room(struct blob_writer *w, const char *hex, struct blob_placed *how,
			       char *err, size_t errlen)
{
	char *final = store_blob_path(w->s, hex);
	int found = blob_compare_stored(w, final, hex, how, err, errlen);
	free(final);
	memset(how, 0, sizeof *how);
	if (found == BLOB_EXISTED) {
		how->found = BLOB_EXISTED;
		return 0;
	}
	return err_set(err, errlen, EV_ENOSPC, "%s/blobs/tmp: cannot write the copy: %s",
		       w->s->dir, strerror(w->no_room));
}

int store_blob_commit(struct blob_writer *w, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		      struct blob_placed *how, char *err, size_t errlen)
{
	int rc = 0, lockfd = -1;
	char *final = NULL, *dir = NULL;
	uint8_t d[SHA256_LEN];
	struct blob_placed mine;
	if (!how)
		how = &mine;
	memset(how, 0, sizeof *how);
	sha256_final(w->h, d);
	hex_encode(d, SHA256_LEN, hex);
	if (size)
		*size = w->size;
	if (w->no_room) {
		rc = blob_commit_no_room(w, hex, how, err, errlen);
		goto out;
	}
	if (fsync(w->fd) < 0) {
		rc = err_set(err, errlen, no_room_errno(errno) ? EV_ENOSPC : EV_EIO,
			     "%s: fsync failed: %s", w->tmp_path, strerror(errno));
		goto out;
	}
	if ((rc = blob_readback(w, err, errlen)))
		goto out;
	if (fchmod(w->fd, 0444) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: chmod failed: %s", w->tmp_path, strerror(errno));
		goto out;
	}
	/* the descriptor (and its lock) stays open until the rename is done */
	final = store_blob_path(w->s, hex);
	int found = blob_compare_stored(w, final, hex, how, err, errlen);
	if (found < 0) {
		rc = found;
		goto out;
	}
	if (found == BLOB_RESTORED) {
		/* held until the new copy is in place; another restorer of
		 * this original may have been first */
		if ((rc = blob_restore_lock(w->s, &lockfd, err, errlen)))
			goto out;
		memset(how, 0, sizeof *how);
		if ((found = blob_compare_stored(w, final, hex, how, err, errlen)) < 0) {
			rc = found;
			goto out;
		}
	}
	how->found = (enum blob_found)found;
	if (found == BLOB_EXISTED) /* content-addressed: the same bytes are there */
		goto out;
	if (found == BLOB_RESTORED && (rc = blob_keep_damaged(w, final, hex, how, err, errlen)))
		goto out;
	dir = fs_dirname(final);
	/* the fan-out folders exist for all but the first blobs of a store;
	 * one stat instead of a mkdir and a stat for every level of the path */
	struct stat ds;
	if ((stat(dir, &ds) < 0 || !S_ISDIR(ds.st_mode)) &&
	    (rc = fs_mkdir_p(dir, 0755, err, errlen)))
		goto out;
	if (rename(w->tmp_path, final) < 0) {
		rc = err_set(err, errlen, no_room_errno(errno) ? EV_ENOSPC : EV_EIO,
			     "%s: cannot place blob: %s", final, strerror(errno));
		goto out;
	}
	w->placed = 1;
	rc = fs_fsync_dir(dir, err, errlen);
out:
	if (lockfd >= 0)
		close(lockfd); /* lets another restorer go */
	free(final);
	free(dir);
	store_blob_abort(w); /* unlinks the temp file if it was not renamed */
	return rc;
}

/*
 * Copies kept under blobs/damaged/ that no restore event names. A restore
 * keeps the damaged copy and places the good one before its event is
 * committed (durable file first, row after), so a process stopped between
 * the two, or a store that stayed busy past its wait, left the original
 * replaced with no record; the next ingest found it whole and said
 * nothing. The kept copy is what says it happened: one whose original's
 * place holds another file (the new copy) was a restore. One that is
 * still the file at the original's place is not (the restore stopped
 * before its swap: the next one uses that name again), nor is one whose
 * original is gone.
 */

/* Whether a restore event names kept_as: 1 yes, 0 no, <0 an error. */
static int kept_named(struct store *s, const char *hex, const char *kept_as, char *err,
		      size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT 1 FROM custody WHERE item_sha256 = ? AND action = "
					 "'restore' AND json_extract(event, '$.detail.kept_as') = ?",
					 err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kept_as, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		err_set(err, errlen, EV_EDB, "%s/evidence.db: %s", s->dir, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : EV_EDB;
}

/* Calls fn(ctx, name, hex) for each kept copy no restore event names,
 * in name order, until fn returns non-zero. 0, fn's value, or an error.
 * Cheap when blobs/damaged/ is missing or empty: one opendir. */
static int kept_walk(struct store *s, int (*fn)(struct store *, void *, const char *name,
						const char *hex, char *, size_t),
		     void *ctx, char *err, size_t errlen)
{
	char *dir = xasprintf("%s/blobs/damaged", s->dir);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), rc = 0;
	if (n < 0) {
		if (errno != ENOENT)
			rc = err_set(err, errlen, EV_EIO, "%s: cannot list: %s", dir,
				     strerror(errno));
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		char hex[SHA256_HEX_LEN + 1], kept_as[300];
		const char *name = names[i]->d_name;
		if (rc || !kept_name(name, hex))
			continue;
		char *path = xasprintf("%s/%s", dir, name), *final = store_blob_path(s, hex);
		struct stat ks, fs;
		int swapped = lstat(path, &ks) == 0 && S_ISREG(ks.st_mode) &&
			      lstat(final, &fs) == 0 &&
			      !(ks.st_dev == fs.st_dev && ks.st_ino == fs.st_ino);
		free(path);
		free(final);
		snprintf(kept_as, sizeof kept_as, "blobs/damaged/%s", name);
		int named = swapped ? kept_named(s, hex, kept_as, err, errlen) : 1;
		if (named < 0)
			rc = named;
		else if (!named)
			rc = fn(s, ctx, name, hex, err, errlen);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return rc;
}

struct kept_count {
	void (*report)(void *ctx, const char *kept_as, const char *sha256_hex);
	void *ctx;
	int n;
};

static int kept_count_one(struct store *s, void *ctx, const char *name, const char *hex,
			  char *err, size_t errlen)
{
	(void)s, (void)err, (void)errlen;
	struct kept_count *c = ctx;
	char kept_as[300];
	snprintf(kept_as, sizeof kept_as, "blobs/damaged/%s", name);
	if (c->report)
		c->report(c->ctx, kept_as, hex);
	c->n++;
	return 0;
}

int store_kept_unrecorded(struct store *s,
			  void (*report)(void *ctx, const char *kept_as, const char *sha256_hex),
			  void *ctx, char *err, size_t errlen)
{
	struct kept_count c = {report, ctx, 0};
	int rc = kept_walk(s, kept_count_one, &c, err, errlen);
	return rc ? rc : c.n;
}

/* What the kept copy at path is: its size, its SHA-256 ("" if it cannot
 * be read) and why it is not the original (against want_size, or -1). */
static void kept_describe(struct store *s, const char *path, const char *hex, int64_t want_size,
			  uint64_t *size, char sha[SHA256_HEX_LEN + 1], char *why, size_t whylen)
{
	struct stat st;
	uint8_t d[SHA256_LEN];
	*size = 0;
	sha[0] = '\0';
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), e = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	*size = (uint64_t)st.st_size;
	uint8_t *b = rb_get(s);
	struct sha256 *h = sha256_new();
	ssize_t r;
	while ((r = fs_read_full(fd, b, BLOB_READBACK_CHUNK)) > 0)
		sha256_update(h, b, (size_t)r);
	e = r < 0 ? errno : 0;
	close(fd);
	rb_put(s, b);
	sha256_final(h, d);
	sha256_free(h);
	if (e) {
		snprintf(why, whylen, "cannot be read: %s", strerror(e));
		return;
	}
	hex_encode(d, SHA256_LEN, sha);
	if (strcmp(sha, hex) == 0)
		snprintf(why, whylen, "none: its bytes are the original's");
	else if (want_size >= 0 && (uint64_t)want_size != *size)
		snprintf(why, whylen, "its size differs (%llu bytes, not %llu)",
			 (unsigned long long)*size, (unsigned long long)want_size);
	else
		snprintf(why, whylen, "its bytes differ");
}

struct kept_record {
	const char *actor;
	int n;
};

/* Records the restore of the kept copy name, if no event names it once
 * the store's write transaction is held (another process may have just
 * done so). */
static int kept_record_one(struct store *s, void *ctx, const char *name, const char *hex,
			   char *err, size_t errlen)
{
	struct kept_record *k = ctx;
	char kept_as[300], sha[SHA256_HEX_LEN + 1], why[160];
	char *path = xasprintf("%s/blobs/damaged/%s", s->dir, name), *case_number = NULL;
	int64_t id = 0, size = -1;
	uint64_t kept_size;
	snprintf(kept_as, sizeof kept_as, "blobs/damaged/%s", name);
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT i.id, i.size, c.number FROM items i LEFT JOIN cases c"
					 " ON c.id = i.case_id WHERE i.sha256 = ?",
					 err, errlen);
	if (!st) {
		free(path);
		return EV_EDB;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		size = sqlite3_column_int64(st, 1);
		if (sqlite3_column_text(st, 2))
			case_number = xstrdup((const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	/* hashed before the write transaction, which others wait for */
	kept_describe(s, path, hex, size, &kept_size, sha, why, sizeof why);
	json_t *d = json_pack("{s:o, s:o, s:{s:I, s:s?, s:s}, s:s, s:s}", "item",
			      id ? json_integer((json_int_t)id) : json_null(), "size",
			      size >= 0 ? json_integer((json_int_t)size) : json_null(), "damaged",
			      "size", (json_int_t)kept_size, "sha256", sha[0] ? sha : NULL, "why",
			      why, "kept_as", kept_as, "recorded_late",
			      id ? "the original's copy was replaced by this one and the damaged "
				   "copy kept, but the restore event was not committed (the "
				   "process stopped, or the store stayed busy)"
				 : "the copy at this digest's place was replaced and the damaged "
				   "copy kept, but the restore event was not committed (the "
				   "process stopped, or the store stayed busy); no item of this "
				   "store has this digest");
	int rc = store_begin(s, err, errlen), named = 0;
	if (!rc && (named = kept_named(s, hex, kept_as, err, errlen)) < 0)
		rc = named;
	if (!rc && !named)
		rc = custody_append(s, time_now(), k->actor, "restore", case_number, hex, d, NULL,
				    err, errlen);
	if (!rc)
		rc = store_commit(s, err, errlen);
	if (rc) {
		store_rollback(s);
	} else if (!named) {
		k->n++;
		if (id)
			log_warnx("%s: %s: item %lld's original was put back and this damaged copy "
				  "kept, but no restore event said so (the process stopped, or the "
				  "store was busy); the event is recorded now",
				  s->dir, kept_as, (long long)id);
		else
			log_warnx("%s: %s: a damaged copy was replaced and kept here, but no "
				  "restore event said so (the process stopped, or the store was "
				  "busy), and no item of this store has digest %.12s...; the event "
				  "is recorded now",
				  s->dir, kept_as, hex);
	}
	json_decref(d);
	free(case_number);
	free(path);
	return rc;
}

int store_record_kept(struct store *s, const char *actor, int *recorded, char *err,
		      size_t errlen)
{
	struct kept_record k = {actor ? actor : store_actor(), 0};
	int rc = kept_walk(s, kept_record_one, &k, err, errlen);
	if (recorded)
		*recorded = k.n;
	return rc;
}

int store_blob_put(struct store *s, const void *p, size_t n, char hex[SHA256_HEX_LEN + 1],
		   char *err, size_t errlen)
{
	struct blob_writer *w;
	int rc = store_blob_begin(s, &w, err, errlen);
	if (rc)
		return rc;
	if ((rc = store_blob_write(w, p, n, err, errlen))) {
		store_blob_abort(w);
		return rc;
	}
	return store_blob_commit(w, hex, NULL, NULL, err, errlen);
}
