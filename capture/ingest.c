/*
 * Ingest: walk, copy-while-hashing, read back, record. The walk collects
 * the regular files first (so progress can show totals and every skipped
 * path is named up front), then each file is taken in turn.
 */
#include "ingest.h"

#include <dirent.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "custody.h"
#include "fsutil.h"
#include "log.h"
#include "meta.h"
#include "timeutil.h"

#define INGEST_CHUNK ((size_t)1 << 20)
#define INGEST_MAX_DEPTH 64
#define INGEST_MAX_FILES 10000000

char *ingest_display_path(const char *path)
{
	struct buf b;
	buf_init(&b, 0);
	const unsigned char *p = (const unsigned char *)path;
	size_t n = strlen(path);
	size_t i = 0;
	while (i < n) {
		/* find the longest valid UTF-8 sequence starting here (1-4 bytes) */
		size_t len = 0;
		for (size_t k = 1; k <= 4 && i + k <= n; k++) {
			if (utf8_valid((const char *)p + i, k)) {
				len = k;
				break;
			}
		}
		if (len == 0 || (len == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			if (buf_printf(&b, "\\x%02X", p[i]))
				break;
			i++;
		} else {
			if (buf_append(&b, p + i, len))
				break;
			i += len;
		}
	}
	size_t l;
	char *r = buf_detach(&b, &l);
	return r ? r : xstrdup("");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_double_if(sqlite3_stmt *st, int i, int has, double v)
{
	if (has)
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int add_sighting(struct store *s, int64_t item_id, const char *path,
			const struct ingest_opts *o, const char *now_iso)
{
	sqlite3_stmt *st = store_prepare(
		s,
		"INSERT OR IGNORE INTO sightings(item_id, path, medium_uuid, medium_label, seen_at)"
		" VALUES (?,?,?,?,?)",
		NULL, 0);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, item_id);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, o->medium_uuid);
	bind_text_or_null(st, 4, o->medium_label);
	sqlite3_bind_text(st, 5, now_iso, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : EV_EDB;
	sqlite3_finalize(st);
	return rc;
}

/* Inserts the item row; returns its id, or a negative error. */
static int64_t insert_item(struct store *s, const char *hex, uint64_t size, const char *shown,
			   const struct meta *m, const struct resolved *r,
			   const struct ingest_opts *o, const char *now_iso)
{
	static const char sql[] =
		"INSERT INTO items(sha256, size, kind, format, original_name, original_path,"
		" source_device, medium_uuid, medium_label, case_id, site_id, operators,"
		" camera_time, subsec, offset_raw, gps_time, xmp_time, captured_at, tz_offset,"
		" time_source, declared_offset, lat, lon, alt, location_source, location_error_m,"
		" exif_lat, exif_lon, exif_alt, xmp_lat, xmp_lon, xmp_alt, rel_alt, gps_status,"
		" gps_dop, gps_datum, gimbal_yaw, gimbal_pitch, gimbal_roll, flight_yaw,"
		" flight_pitch, flight_roll, make, model, serial, width, height, orientation,"
		" metadata_error, metadata_note, ingested_at)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
		"?,?,?,?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (!st)
		return EV_EDB;
	char gps_iso[32] = "", xmp_iso[32] = "", cap_iso[32] = "", tz[8] = "", decl[8] = "";
	if (m->has_gps_time)
		time_format_iso(m->gps_time_t, gps_iso);
	if (m->has_xmp_time)
		time_format_iso(m->xmp_time_t, xmp_iso);
	if (r->has_time)
		time_format_iso(r->utc, cap_iso);
	if (r->has_tz)
		time_format_offset(r->tz_offset_s, tz);
	if (o->has_declared_offset)
		time_format_offset(o->declared_offset_s, decl);
	int i = 1;
	sqlite3_bind_text(st, i++, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)size);
	sqlite3_bind_text(st, i++, m->kind[0] ? m->kind : "other", -1, SQLITE_STATIC);
	bind_text_or_null(st, i++, m->format);
	sqlite3_bind_text(st, i++, fs_basename(shown), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, shown, -1, SQLITE_STATIC);
	bind_text_or_null(st, i++, o->source_device);
	bind_text_or_null(st, i++, o->medium_uuid);
	bind_text_or_null(st, i++, o->medium_label);
	if (o->case_id > 0)
		sqlite3_bind_int64(st, i++, o->case_id);
	else
		sqlite3_bind_null(st, i++);
	if (o->site_id > 0)
		sqlite3_bind_int64(st, i++, o->site_id);
	else
		sqlite3_bind_null(st, i++);
	bind_text_or_null(st, i++, o->operators_json);
	bind_text_or_null(st, i++, m->has_camera_time ? m->camera_time : NULL);
	bind_double_if(st, i++, m->has_camera_time && m->subsec > 0, m->subsec);
	bind_text_or_null(st, i++, m->offset_raw);
	bind_text_or_null(st, i++, gps_iso);
	bind_text_or_null(st, i++, xmp_iso);
	bind_text_or_null(st, i++, cap_iso);
	bind_text_or_null(st, i++, tz);
	bind_text_or_null(st, i++, r->time_source);
	bind_text_or_null(st, i++, decl);
	bind_double_if(st, i++, r->has_pos, r->lat);
	bind_double_if(st, i++, r->has_pos, r->lon);
	bind_double_if(st, i++, r->has_pos && r->has_alt, r->alt);
	bind_text_or_null(st, i++, r->has_pos ? r->location_source : NULL);
	bind_double_if(st, i++, r->has_pos && r->error_m >= 0, r->error_m);
	bind_double_if(st, i++, m->has_exif_pos, m->exif_lat);
	bind_double_if(st, i++, m->has_exif_pos, m->exif_lon);
	bind_double_if(st, i++, m->has_exif_alt, m->exif_alt);
	bind_double_if(st, i++, m->has_xmp_pos, m->xmp_lat);
	bind_double_if(st, i++, m->has_xmp_pos, m->xmp_lon);
	bind_double_if(st, i++, m->has_xmp_alt, m->xmp_alt);
	bind_double_if(st, i++, m->has_rel_alt, m->rel_alt);
	bind_text_or_null(st, i++, m->gps_status);
	bind_double_if(st, i++, m->gps_dop > 0, m->gps_dop);
	bind_text_or_null(st, i++, m->gps_datum);
	bind_double_if(st, i++, m->has_gimbal_yaw, m->gimbal_yaw);
	bind_double_if(st, i++, m->has_gimbal_pitch, m->gimbal_pitch);
	bind_double_if(st, i++, m->has_gimbal_roll, m->gimbal_roll);
	bind_double_if(st, i++, m->has_flight_yaw, m->flight_yaw);
	bind_double_if(st, i++, m->has_flight_pitch, m->flight_pitch);
	bind_double_if(st, i++, m->has_flight_roll, m->flight_roll);
	bind_text_or_null(st, i++, m->make);
	bind_text_or_null(st, i++, m->model);
	bind_text_or_null(st, i++, m->serial);
	bind_double_if(st, i++, m->width > 0, m->width);
	bind_double_if(st, i++, m->height > 0, m->height);
	bind_double_if(st, i++, m->orientation > 0, m->orientation);
	bind_text_or_null(st, i++, m->error);
	bind_text_or_null(st, i++, m->note);
	sqlite3_bind_text(st, i++, now_iso, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(st) == SQLITE_DONE ? sqlite3_last_insert_rowid(store_db(s)) : EV_EDB;
	sqlite3_finalize(st);
	return id;
}

/* The item id for a sha256, 0 if none, negative on error. */
static int64_t item_id_by_sha(struct store *s, const char *hex)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT id FROM items WHERE sha256 = ?", NULL, 0);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	int64_t id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : r == SQLITE_DONE ? 0 : EV_EDB;
	sqlite3_finalize(st);
	return id;
}

/* Copies the open source into a new blob, hashing as it goes and keeping
 * the head for metadata. Returns 0 or an error naming `shown`. */
static int copy_to_blob(struct store *s, int fd, const char *shown, const struct stat *before,
			struct buf *head, char hex[65], uint64_t *size, char *msg, size_t msglen)
{
	int rc = 0;
	struct blob_writer *w = NULL;
	char err[512];
	uint8_t *chunk = NULL;
	if (posix_memalign((void **)&chunk, 4096, INGEST_CHUNK))
		abort();
	if ((rc = store_blob_begin(s, &w, err, sizeof err))) {
		rc = err_set(msg, msglen, rc, "%s: %s", shown, err);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t r = read(fd, chunk, INGEST_CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(msg, msglen, EV_EIO,
				     "%s: read failed after %llu bytes: %s (the card may have been "
				     "removed); not recorded, will be retried",
				     shown, (unsigned long long)store_blob_size(w), strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (head->len < META_HEAD_MAX) {
			size_t take = META_HEAD_MAX - head->len;
			if (take > (size_t)r)
				take = (size_t)r;
			if (buf_append(head, chunk, take))
				abort(); /* cannot happen: head's max is META_HEAD_MAX */
		}
		if ((rc = store_blob_write(w, chunk, (size_t)r, err, sizeof err))) {
			rc = err_set(msg, msglen, rc, "%s: %s", shown, err);
			goto out;
		}
	}
	struct stat after;
	if (fstat(fd, &after) < 0 || after.st_size != before->st_size ||
	    after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before->st_mtim.tv_nsec ||
	    (uint64_t)after.st_size != store_blob_size(w)) {
		rc = err_set(msg, msglen, EV_EIO,
			     "%s: changed while it was being read (still being written?); not "
			     "recorded, will be retried",
			     shown);
		goto out;
	}
	rc = store_blob_commit(w, hex, size, NULL, err, sizeof err);
	w = NULL;
	if (rc)
		rc = err_set(msg, msglen, rc, "%s: %s", shown, err);
out:
	store_blob_abort(w);
	free(chunk);
	return rc;
}

/*
 * Metadata parsing runs in a forked child with a memory and time limit:
 * libexif always parses MakerNotes, where its CVEs have been, and a crash
 * or a hang there must never take the ingest (or the daemon) down. The
 * copy and hash are already done and durable before this runs. The child
 * shares the head buffer copy-on-write and sends back the plain-data
 * struct meta through a pipe. A fork costs well under a millisecond here,
 * small next to the copy; files whose format has no parser we trust less
 * than our own code (anything but JPEG and TIFF) skip the child.
 */
#if defined(__SANITIZE_ADDRESS__)
#define EVCAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVCAP_ASAN 1
#endif
#endif

#define META_CHILD_SECONDS 5
#define META_CHILD_MEM ((rlim_t)512 << 20)

static int meta_needs_child(const uint8_t *p, size_t n)
{
	return n >= 4 && ((p[0] == 0xFF && p[1] == 0xD8) || (p[0] == 'I' && p[1] == 'I' && p[2] == 42) ||
			  (p[0] == 'M' && p[1] == 'M' && p[3] == 42));
}

static void meta_read_isolated(const uint8_t *p, size_t n, uint64_t size, const char *shown,
			       struct meta *m)
{
	int fds[2];
	if (!meta_needs_child(p, n) || getenv("EVCAP_META_INPROCESS") || pipe2(fds, O_CLOEXEC) < 0) {
		meta_read(p, n, size, shown, m);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		meta_read(p, n, size, shown, m);
		return;
	}
	if (pid == 0) {
		struct rlimit rl = {META_CHILD_MEM, META_CHILD_MEM};
		struct meta cm;
		close(fds[0]);
		/* AddressSanitizer reserves terabytes of address space; a cap
		 * would stop the child before it starts, so sanitized builds
		 * rely on the time limit alone */
#if !defined(EVCAP_ASAN)
		setrlimit(RLIMIT_AS, &rl);
#else
		(void)rl;
#endif
		alarm(META_CHILD_SECONDS);
		if (getenv("EVCAP_META_CRASH_TEST"))
			abort(); /* lets tests prove a parser crash is contained */
		meta_read(p, n, size, shown, &cm);
		_exit(fs_write_all(fds[1], &cm, sizeof cm) == 0 ? 0 : 1);
	}
	close(fds[1]);
	size_t got = 0;
	int timed_out = 0;
	while (got < sizeof *m) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		int r = poll(&pfd, 1, (META_CHILD_SECONDS + 1) * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = r == 0;
			break;
		}
		ssize_t k = read(fds[0], (char *)m + got, sizeof *m - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == sizeof *m && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	/* the parser failed: keep what our own sniffing can say, and why */
	memset(m, 0, sizeof *m);
	snprintf(m->kind, sizeof m->kind, "photo");
	snprintf(m->format, sizeof m->format, p[0] == 0xFF ? "jpeg" : "tiff");
	if (WIFSIGNALED(status))
		snprintf(m->error, sizeof m->error,
			 "the metadata parser failed on this file (signal %d)", WTERMSIG(status));
	else
		snprintf(m->error, sizeof m->error,
			 "the metadata parser did not finish on this file%s",
			 timed_out ? " within its time limit" : "");
}

/* Reads metadata from the stored head; resolves time and place. */
static void read_meta(const struct buf *head, uint64_t size, const char *shown,
		      const struct ingest_opts *o, struct meta *m, struct resolved *r)
{
	meta_read_isolated((const uint8_t *)head->data, head->len, size, shown, m);
	meta_resolve(m, NULL, o->has_declared_offset ? &o->declared_offset_s : NULL, r);
}

static json_t *ingest_detail(uint64_t size, const char *shown, const struct meta *m,
			     const struct ingest_opts *o)
{
	json_t *d = json_object();
	json_object_set_new(d, "size", json_integer((json_int_t)size));
	json_object_set_new(d, "path", json_string(shown));
	json_object_set_new(d, "kind", json_string(m->kind[0] ? m->kind : "other"));
	if (o->medium_uuid)
		json_object_set_new(d, "medium_uuid", json_string(o->medium_uuid));
	if (o->medium_label)
		json_object_set_new(d, "medium_label", json_string(o->medium_label));
	if (o->source_device)
		json_object_set_new(d, "device_host", json_string(o->source_device));
	if (m->error[0])
		json_object_set_new(d, "metadata_error", json_string(m->error));
	return d;
}

enum ingest_result ingest_file(struct store *s, const char *path, const struct ingest_opts *o,
			       struct ingest_stats *st, char sha_out[65], char *msg, size_t msglen)
{
	enum ingest_result res = INGEST_FAILED;
	char *shown = ingest_display_path(path);
	int fd = -1;
	struct buf head;
	buf_init(&head, META_HEAD_MAX);
	char hex[65] = "", err[512], now_iso[32];
	uint64_t size = 0;
	struct meta m;
	struct resolved r;
	json_t *detail = NULL;
	int in_tx = 0;

	/* O_NOATIME keeps even the access time of the source untouched where
	 * we own the file; elsewhere the plain open is the best we can do. */
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	fd = open(path, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, flags);
	if (fd < 0) {
		if (errno == ELOOP) {
			err_set(msg, msglen, 0, "%s: skipped: a symbolic link (not followed)", shown);
			res = INGEST_SKIPPED;
		} else {
			err_set(msg, msglen, 0, "%s: cannot open: %s", shown, strerror(errno));
		}
		goto out;
	}
	struct stat before;
	if (fstat(fd, &before) < 0) {
		err_set(msg, msglen, 0, "%s: cannot stat: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		err_set(msg, msglen, 0, "%s: skipped: not a regular file", shown);
		res = INGEST_SKIPPED;
		goto out;
	}
	/* back to blocking reads now we know it is a regular file */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (copy_to_blob(s, fd, shown, &before, &head, hex, &size, msg, msglen))
		goto out;
	st->bytes += size;
	read_meta(&head, size, shown, o, &m, &r);

	time_format_iso(time_now(), now_iso);
	if (store_begin(s, err, sizeof err)) {
		err_set(msg, msglen, 0, "%s: %s", shown, err);
		goto out;
	}
	in_tx = 1;
	int64_t id = item_id_by_sha(s, hex);
	if (id < 0)
		goto dberr;
	if (id > 0) {
		if (add_sighting(s, id, shown, o, now_iso))
			goto dberr;
		res = INGEST_ALREADY;
	} else {
		id = insert_item(s, hex, size, shown, &m, &r, o, now_iso);
		if (id < 0 || add_sighting(s, id, shown, o, now_iso))
			goto dberr;
		detail = ingest_detail(size, shown, &m, o);
		if (custody_append(s, time_now(), o->actor, "ingest", o->case_number, hex, detail,
				   NULL, err, sizeof err)) {
			err_set(msg, msglen, 0, "%s: %s", shown, err);
			goto out;
		}
		res = INGEST_ADDED;
	}
	if (store_commit(s, err, sizeof err)) {
		in_tx = 0;
		/* the outcome of a failed commit is unknown; a retry is safe
		 * because items are unique on their SHA-256 */
		err_set(msg, msglen, 0, "%s: %s; will be retried", shown, err);
		res = INGEST_FAILED;
		goto out;
	}
	in_tx = 0;
	if (res == INGEST_ADDED && m.error[0])
		st->meta_errors++;
	if (res == INGEST_ADDED && m.error[0])
		err_set(msg, msglen, 0, "%s: kept, but its metadata could not be read: %s", shown,
			m.error);
	else
		msg[0] = '\0';
	if (sha_out)
		memcpy(sha_out, hex, 65);
	goto out;
dberr:
	err_set(msg, msglen, 0, "%s: database error: %s", shown, sqlite3_errmsg(store_db(s)));
	res = INGEST_FAILED;
out:
	if (in_tx)
		store_rollback(s);
	json_decref(detail);
	if (fd >= 0)
		close(fd);
	buf_free(&head);
	free(shown);
	switch (res) {
	case INGEST_ADDED: st->added++; st->files++; break;
	case INGEST_ALREADY: st->already++; st->files++; break;
	case INGEST_SKIPPED: st->skipped++; break;
	case INGEST_FAILED: st->failed++; st->files++; break;
	}
	return res;
}

/* The walk: a list of regular files to take, in a stable order. */
struct walk {
	char **files;
	size_t n, cap;
	uint64_t bytes;
	uint64_t skipped;
	int limit_hit;
};

static void walk_add(struct walk *w, char *path, uint64_t size)
{
	if (w->n >= INGEST_MAX_FILES) {
		w->limit_hit = 1;
		free(path);
		return;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->files = xrealloc(w->files, w->cap * sizeof *w->files);
	}
	w->files[w->n++] = path;
	w->bytes += size;
}

static void walk_skip(struct walk *w, const char *path, const char *why)
{
	char *shown = ingest_display_path(path);
	log_warnx("%s: skipped: %s", shown, why);
	free(shown);
	w->skipped++;
}

static const char *type_name(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link (not followed)";
	if (S_ISFIFO(mode))
		return "a FIFO (not opened)";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device (not opened)";
	if (S_ISSOCK(mode))
		return "a socket (not opened)";
	return "not a regular file";
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(struct walk *w, const char *dir, int depth)
{
	if (depth > INGEST_MAX_DEPTH) {
		walk_skip(w, dir, "folders nested deeper than 64 levels");
		return;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		char *shown = ingest_display_path(dir);
		log_warnx("%s: cannot read folder: %s", shown, strerror(errno));
		free(shown);
		if (fd >= 0)
			close(fd);
		w->skipped++;
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(e->d_name);
	}
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *p = strcmp(dir, "/") == 0 ? xasprintf("/%s", names[i])
						: xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			walk_skip(w, p, strerror(errno));
			free(p);
		} else if (S_ISDIR(st.st_mode)) {
			walk_dir(w, p, depth + 1);
			free(p);
		} else if (S_ISREG(st.st_mode)) {
			walk_add(w, p, (uint64_t)st.st_size);
		} else {
			walk_skip(w, p, type_name(st.st_mode));
			free(p);
		}
		free(names[i]);
	}
	free(names);
	closedir(d);
}

static void human_bytes(uint64_t b, char out[32])
{
	if (b >= (uint64_t)1 << 30)
		snprintf(out, 32, "%.1f GB", b / 1e9);
	else if (b >= (uint64_t)1 << 20)
		snprintf(out, 32, "%.1f MB", b / 1e6);
	else if (b >= 1024)
		snprintf(out, 32, "%.1f kB", b / 1e3);
	else
		snprintf(out, 32, "%llu bytes", (unsigned long long)b);
}

int ingest_paths(struct store *s, char *const *paths, int n, const struct ingest_opts *o,
		 struct ingest_stats *st)
{
	struct walk w = {0};
	int usage = 0;
	for (int i = 0; i < n; i++) {
		struct stat sb;
		/* strip trailing slashes so names join cleanly */
		char *p = xstrdup(paths[i]);
		size_t l = strlen(p);
		while (l > 1 && p[l - 1] == '/')
			p[--l] = '\0';
		if (lstat(p, &sb) < 0) {
			char *shown = ingest_display_path(p);
			log_warnx("%s: %s", shown, strerror(errno));
			free(shown);
			usage = 1;
			free(p);
		} else if (S_ISDIR(sb.st_mode)) {
			walk_dir(&w, p, 0);
			free(p);
		} else if (S_ISREG(sb.st_mode)) {
			walk_add(&w, p, (uint64_t)sb.st_size);
		} else {
			walk_skip(&w, p, type_name(sb.st_mode));
			free(p);
		}
	}
	if (w.limit_hit)
		log_warnx("more than %d files given; only the first %d are taken this run",
			  INGEST_MAX_FILES, INGEST_MAX_FILES);
	st->skipped += w.skipped;
	char total[32];
	human_bytes(w.bytes, total);
	int tty = o->progress && isatty(STDERR_FILENO);
	for (size_t i = 0; i < w.n; i++) {
		if (o->stop && *o->stop) {
			log_warnx("stopped: %zu of %zu files not taken yet", w.n - i, w.n);
			break;
		}
		char msg[1024], hex[65];
		enum ingest_result r = ingest_file(s, w.files[i], o, st, hex, msg, sizeof msg);
		if (tty)
			fprintf(stderr, "\r\033[K");
		if (r == INGEST_FAILED || r == INGEST_SKIPPED || msg[0])
			log_warnx("%s", msg);
		else if (o->verbose) {
			char *shown = ingest_display_path(w.files[i]);
			log_info("%s %s %.12s", r == INGEST_ADDED ? "added" : "already recorded",
				 shown, hex);
			free(shown);
		}
		if (tty) {
			char done[32];
			human_bytes(st->bytes, done);
			fprintf(stderr, "[%zu/%zu] %s of %s", i + 1, w.n, done, total);
			if (i + 1 == w.n)
				fprintf(stderr, "\r\033[K");
			fflush(stderr);
		}
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.files[i]);
	free(w.files);
	if (usage)
		return 2;
	return st->failed ? 1 : 0;
}
