/*
 * Ingest: walk, copy-while-hashing, read back, record. The walk collects
 * the regular files first (so progress can show totals and every skipped
 * path is named up front); then a few worker threads take files in walk
 * order, and the calling thread records them in that order, in groups.
 */
#include "ingest.h"

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmff.h"
#include "buf.h"
#include "custody.h"
#include "fsutil.h"
#include "jpeg.h"
#include "log.h"
#include "meta.h"
#include "timeutil.h"

#define INGEST_CHUNK FS_IO_BUF
#define INGEST_MAX_DEPTH 64
#define INGEST_MAX_FILES 10000000

char *ingest_display_path(const char *path)
{
	return text_escape(path, strlen(path), SIZE_MAX);
}

const char *ingest_display_text(const char *s, size_t n, char *out, size_t outlen)
{
	if (!outlen)
		return out;
	char *r = text_escape(s, n, outlen - 1);
	memcpy(out, r, strlen(r) + 1);
	free(r);
	return out;
}

void ingest_display_msg(char *msg, size_t len, const char *path)
{
	size_t pl = strlen(path);
	if (!len || strncmp(msg, path, pl) != 0)
		return;
	char *shown = ingest_display_path(path);
	char *rest = xstrdup(msg + pl);
	snprintf(msg, len, "%s%s", shown, rest);
	free(rest);
	free(shown);
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

/* One row a path and card: the index sightings_once (schema 47) makes a
 * path seen again on no card (medium_uuid NULL) one the IGNORE skips. */
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
		" metadata_error, metadata_note, ingested_at, img_direction, img_direction_ref)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
		"?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
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
	/* The reader's remarks, then why resolution passed a time over (a GPS
	 * date a day off the camera clock): without the second, a photo with
	 * both clocks and no capture time would not say why. */
	char note[sizeof m->note + sizeof r->note + 2];
	snprintf(note, sizeof note, "%s%s%s", m->note, m->note[0] && r->note[0] ? "; " : "",
		 r->note);
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
	bind_text_or_null(st, i++, note);
	sqlite3_bind_text(st, i++, now_iso, -1, SQLITE_STATIC);
	bind_double_if(st, i++, m->has_img_dir, m->img_dir);
	bind_text_or_null(st, i++, m->has_img_dir ? m->img_dir_ref : NULL);
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

/*
 * One file on its way into the store. Taking it (copy while hashing, its
 * metadata, then the blob's commit: fsync, read-back, rename, fsync of the
 * folder) may run on a file worker thread; recording it (item, sighting,
 * custody event) always runs on the thread that called ingest, in a
 * transaction that may hold other files' records too.
 */
struct pending {
	const char *path;          /* as walked; owned by the caller */
	char *shown;               /* the path as messages show it */
	char hex[65];
	uint64_t size;
	struct meta m;
	struct resolved r;
	struct blob_placed placed; /* what the blob's commit found in the store */
	/* the store as this run found it: items up to this id were there,
	 * custody events up to this seq; an item recorded since (a second
	 * copy of a file on the same card) was not missing its original */
	int64_t items_before, seq_before;
	int restored;              /* a restore event was recorded for it */
	int no_room;               /* not stored, or not recorded: the store's disk is full */
	enum ingest_result res;    /* final once recorded or failed */
	int ready;                 /* the blob is placed and synced: record it */
	int done;                  /* taking is over (under the pool's lock) */
	char msg[INGEST_MSG_MAX];
};

/* What becomes of a file not recorded this time. */
static const char *again_note(const struct ingest_opts *o)
{
	return o->retries ? "will be retried" : "run the ingest again to record it";
}

/*
 * The store's disk, as one run of ingest_paths shares it between its file
 * workers and the thread that records. Each blob write (the temporary
 * copy made, its bytes, its placing) holds lock for reading; giving up
 * the reserve, and recording in the room it leaves, holds it for writing,
 * so that no copy on its way in takes that room first. Once the reserve
 * is given up, no more copies are made: the room left is for the rows of
 * the originals placed, and a file after that is taken only where its
 * original is whole in the store already.
 */
struct room {
	const char *reserve;   /* STORE/INGEST_RESERVE */
	pthread_rwlock_t lock; /* writers preferred: else workers writing
				* one after another would never let it go */
	atomic_int out;        /* the reserve was given up */
};

static void room_init(struct room *r, const char *reserve)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&r->lock, &a);
	pthread_rwlockattr_destroy(&a);
	r->reserve = reserve;
	atomic_init(&r->out, 0);
}

/* A blob write begins (room may be NULL: a file on its own, evcapd's). */
static void room_enter(struct room *r)
{
	if (r)
		pthread_rwlock_rdlock(&r->lock);
}

static void room_leave(struct room *r)
{
	if (r)
		pthread_rwlock_unlock(&r->lock);
}

/* p is not recorded, the store's disk full: err is what the store said.
 * evcapd adds its own words on the disk to the message, and tries the
 * file again by itself; a run by hand says what to do. */
static void no_room_msg(struct store *s, struct pending *p, const struct ingest_opts *o,
			const char *err, int placed)
{
	struct statvfs vfs;
	char left[32] = "?";
	p->no_room = 1;
	p->res = INGEST_FAILED;
	if (o->retries) {
		err_set(p->msg, sizeof p->msg, 0, placed ? "%s: %s; not recorded, %s" : "%s: %s",
			p->shown, err, again_note(o));
		return;
	}
	if (statvfs(store_dir(s), &vfs) == 0)
		human_bytes((uint64_t)vfs.f_bavail * vfs.f_frsize, left);
	err_set(p->msg, sizeof p->msg, 0,
		"%s: the store's disk (%s) is full, %s free: not recorded; make room there and run "
		"the ingest again",
		p->shown, store_dir(s), left);
}

static void pending_free(struct pending *p)
{
	if (!p)
		return;
	free(p->shown);
	free(p);
}

/* Keeps the last JPEG_TAIL_MAX bytes read in tail (*tail_len of them),
 * with chunk[0..r) the bytes just read: at most JPEG_TAIL_MAX bytes are
 * copied a chunk, and a chunk of that size or more (every one but a
 * file's last) is a single copy of its end. */
static void keep_tail(uint8_t *tail, size_t *tail_len, const uint8_t *chunk, size_t r)
{
	if (r >= JPEG_TAIL_MAX) {
		memcpy(tail, chunk + r - JPEG_TAIL_MAX, JPEG_TAIL_MAX);
		*tail_len = JPEG_TAIL_MAX;
		return;
	}
	if (*tail_len + r > JPEG_TAIL_MAX) {
		size_t keep = JPEG_TAIL_MAX - r;
		memmove(tail, tail + *tail_len - keep, keep);
		*tail_len = keep;
	}
	memcpy(tail + *tail_len, chunk, r);
	*tail_len += r;
}

/* Copies the open source into a new blob writer, hashing as it goes and
 * keeping the first META_HEAD_MAX bytes in head (*head_len of them) for
 * metadata (for a video, bmff_keep's image of its boxes), and for a JPEG
 * its last JPEG_TAIL_MAX bytes in tail (*tail_len of them; 0 for other
 * files), where meta_read_tail finds whether its image data was cut;
 * chunk is an aligned buffer of INGEST_CHUNK bytes. The blob is not
 * committed yet. *src_direct says whether the source took O_DIRECT.
 * Returns 0 or an error naming `shown` in msg. */
static int copy_to_blob(struct store *s, int fd, const char *shown, const struct stat *before,
			uint8_t *chunk, uint8_t *head, size_t *head_len, uint8_t *tail,
			size_t *tail_len, struct blob_writer **out, int *src_direct,
			struct room *room, const struct ingest_opts *o, char *msg, size_t msglen)
{
	const char *again = again_note(o);
	int rc = 0;
	struct blob_writer *w = NULL;
	char err[512];
	*out = NULL;
	room_enter(room);
	rc = store_blob_begin(s, &w, err, sizeof err);
	room_leave(room);
	if (rc) {
		rc = err_set(msg, msglen, rc, "%s: %s", shown, err);
		goto out;
	}
	/* Read with O_DIRECT where the source's filesystem allows it (ext4,
	 * vfat and exfat cards do): whole 2 MiB requests straight into the
	 * copy buffer, no page-cache copy. The page cache has nothing to
	 * offer a file read once, and on the benchmark machine this alone
	 * took a sixth off the card's ingest. Elsewhere, buffered reads with
	 * the kernel's read-ahead. */
	int direct = fs_set_direct(fd, 1) == 0, boxes = -1, jpeg = -1;
	struct bmff_keep keep;
	*src_direct = direct;
	if (!direct)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t r = read(fd, chunk, INGEST_CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* refused after all (a short read left the offset
			 * unaligned, or the filesystem says no only now) */
			if (direct && errno == EINVAL && fs_set_direct(fd, 0) == 0) {
				direct = *src_direct = 0;
				continue;
			}
			rc = err_set(msg, msglen, EV_EIO,
				     "%s: read failed after %llu bytes: %s (the card may have been "
				     "removed); not recorded, %s",
				     shown, (unsigned long long)store_blob_size(w), strerror(errno),
				     again);
			goto out;
		}
		if (r == 0)
			break;
		if (o->keepalive)
			o->keepalive(o->keepalive_arg);
		/* A video's index may be at its end: for MP4 and QuickTime
		 * files, keep the boxes that hold metadata wherever they are
		 * (bmff.h) rather than the head. */
		if (boxes < 0) {
			boxes = bmff_is_boxes(chunk, (size_t)r);
			if (boxes)
				bmff_keep_init(&keep, head, META_HEAD_MAX);
		}
		if (jpeg < 0)
			jpeg = r >= 2 && chunk[0] == 0xFF && chunk[1] == JPEG_SOI;
		if (jpeg)
			keep_tail(tail, tail_len, chunk, (size_t)r);
		if (boxes) {
			bmff_keep_feed(&keep, chunk, (size_t)r);
			*head_len = keep.len;
		} else if (*head_len < META_HEAD_MAX) {
			size_t take = META_HEAD_MAX - *head_len;
			if (take > (size_t)r)
				take = (size_t)r;
			memcpy(head + *head_len, chunk, take);
			*head_len += take;
		}
		room_enter(room);
		if (room && atomic_load(&room->out))
			store_blob_hash_only(w);
		rc = store_blob_write(w, chunk, (size_t)r, err, sizeof err);
		room_leave(room);
		if (rc) {
			rc = err_set(msg, msglen, rc, "%s: %s", shown, err);
			goto out;
		}
	}
	struct stat after;
	/* The change time too: a writer can set the modification time back
	 * (touch -d, a copy keeping times), never the change time. */
	if (fstat(fd, &after) < 0 || after.st_size != before->st_size ||
	    after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before->st_mtim.tv_nsec ||
	    after.st_ctim.tv_sec != before->st_ctim.tv_sec ||
	    after.st_ctim.tv_nsec != before->st_ctim.tv_nsec || after.st_ino != before->st_ino ||
	    after.st_dev != before->st_dev || (uint64_t)after.st_size != store_blob_size(w)) {
		rc = err_set(msg, msglen, EV_EIO,
			     "%s: changed while it was being read (still being written?); not "
			     "recorded, %s",
			     shown, again);
		goto out;
	}
	*out = w;
	w = NULL;
out:
	store_blob_abort(w);
	return rc;
}

/*
 * Metadata parsing is isolated from ingest: libexif always parses
 * MakerNotes, where its CVEs have been, and a crash or a hang there must
 * never take the ingest (or the daemon) down. Every file is parsed in a
 * fresh process with a memory and time limit, so a crafted file can
 * neither crash us nor leave state behind that changes what is read from
 * the next file.
 *
 * Forking the ingest process itself for every file cost about 2 ms of CPU
 * and a thousand copy-on-write faults a file (its buffers are large and
 * live), and sending the head through a socket cost as much again. So a
 * small fork server is started once, before those buffers and the worker
 * threads exist, and each file's head is copied, during the copy, into a
 * slot of a shared mapping the server and its children see (a shared
 * mapping is not copied on fork). For each request the server forks a
 * child that parses one head and dies, reaps it, and answers with the
 * child's plain-data struct meta and how the child ended; the server
 * itself never parses anything. Each worker has at most one request out,
 * and the server runs one child per slot at once, so a worker sends its
 * request as soon as the copy is done and collects the answer after its
 * blob's fsync and read-back: the parse costs no waiting. (Asked and
 * answered one at a time, the requests kept each worker waiting about an
 * eighth of the card's ingest time.) A slot is written only by the thread
 * that owns it, before its request or after the answer. Files whose
 * format has no parser we trust less than our own code (anything but JPEG
 * and TIFF) are read in-process.
 *
 * Should the server itself die while worker threads run, the next request
 * forks a new one from a threaded process: a lock another thread held at
 * that moment stays held in the new server, and a child that needed it
 * would run into its time limit. The file is then kept with a metadata
 * error, never lost, and the server has never died in practice.
 */
#if defined(__SANITIZE_ADDRESS__)
#define EVCAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVCAP_ASAN 1
#endif
#endif

/* Seconds a parse may take: 5, or $EVCAP_META_TIMEOUT (a whole number
 * from 1 to 600) for a slow machine or a run under valgrind, where every
 * step is 20-50x slower. Any other value is named once and not used. */
static int meta_secs = 5;
static pthread_once_t meta_secs_once = PTHREAD_ONCE_INIT;

static void meta_secs_read(void)
{
	const char *e = getenv("EVCAP_META_TIMEOUT");
	if (!e || !*e)
		return;
	char *end;
	errno = 0;
	long v = strtol(e, &end, 10);
	if (errno || end == e || *end || v < 1 || v > 600) {
		log_warnx("EVCAP_META_TIMEOUT is '%.40s', not a whole number of seconds from 1 "
			  "to 600; metadata parses are given 5 s",
			  e);
		return;
	}
	meta_secs = (int)v;
}

static int meta_seconds(void)
{
	pthread_once(&meta_secs_once, meta_secs_read);
	return meta_secs;
}
#define META_CHILD_SECONDS (meta_seconds())
#define META_CHILD_MEM ((rlim_t)512 << 20)
#define META_NAME_MAX 4096
/* File worker threads, each with its own slot for a head. */
#define INGEST_WORKERS 4

struct meta_req {
	uint64_t size;     /* the whole file's size */
	uint32_t slot;     /* < INGEST_WORKERS: where the head is in the mapping */
	uint32_t head_len; /* <= META_HEAD_MAX */
	uint32_t name_len; /* < META_NAME_MAX; the name follows */
};

struct meta_reply {
	uint32_t slot;     /* the request this answers */
	int32_t exited;    /* 1: exit status in code; 0: killed by signal `code` */
	int32_t code;
	int32_t timed_out; /* the server killed the child at its time limit */
	int32_t has_meta;  /* a whole struct meta follows */
};

/* Where a slot's request stands, on our side of the socket. */
enum box_state { BOX_IDLE, BOX_WAITING, BOX_READY, BOX_FAILED };

static struct {
	pthread_mutex_t mu;   /* everything below */
	pthread_cond_t cv;    /* a reply was read, or the server was stopped */
	pid_t pid;            /* the fork server, or 0 */
	int fd;               /* our end of its socket, or -1 */
	uint8_t *shm;         /* INGEST_WORKERS heads of META_HEAD_MAX bytes, or NULL */
	int reading;          /* a thread is reading replies, outside mu */
	struct {
		enum box_state state;
		struct meta_reply a;
		struct meta m;
	} box[INGEST_WORKERS];
} parser = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, NULL, 0, {{0}}};

/* The formats whose parsing is isolated: JPEG and TIFF (libexif), and the
 * boxes of MP4 and QuickTime files. */
static int meta_needs_child(const uint8_t *p, size_t n)
{
	return (n >= 4 && ((p[0] == 0xFF && p[1] == 0xD8) ||
			   (p[0] == 'I' && p[1] == 'I' && p[2] == 42) ||
			   (p[0] == 'M' && p[1] == 'M' && p[3] == 42))) ||
	       bmff_is_boxes(p, n);
}

static int sock_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes, waiting at most timeout_ms for each piece (-1:
 * forever). Returns 0, or -1 on end of file, error or timeout
 * (*timed_out set for the last). */
static int read_exact(int fd, void *p, size_t n, int timeout_ms, int *timed_out)
{
	char *c = p;
	while (n) {
		if (timeout_ms >= 0) {
			struct pollfd pfd = {fd, POLLIN, 0};
			int r = poll(&pfd, 1, timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0 && timed_out)
					*timed_out = 1;
				return -1;
			}
		}
		ssize_t k = read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A child of the server: parse one head, write the struct meta, exit. */
static _Noreturn void parser_child(int out, const uint8_t *head, size_t n, uint64_t size,
				   const char *name)
{
	sigset_t none;
	struct meta m;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon blocks signals for its signalfd */
	signal(SIGALRM, SIG_DFL);
	alarm(META_CHILD_SECONDS);
	if (getenv("EVCAP_META_CRASH_TEST"))
		abort(); /* lets tests prove a parser crash is contained */
	if (getenv("EVCAP_META_HANG_TEST"))
		for (;;)
			pause(); /* ... and that a parser that never returns is cut off */
	meta_read(head, n, size, name, &m);
	_exit(fs_write_all(out, &m, sizeof m) == 0 ? 0 : 1);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's view of one slot: the child parsing its head, if any. */
struct serve_slot {
	pid_t pid;       /* 0: no child */
	int pipe;        /* the child's struct meta comes through here */
	int64_t deadline;
	size_t got;      /* bytes of m read so far */
	struct meta m;
};

/* The child of slot `c` is over (pipe closed, or cut off at its time
 * limit): reap it and answer for it. */
static void serve_finish(int fd, struct serve_slot *c, uint32_t slot, int timed_out)
{
	struct meta_reply a = {0};
	int status = 0;
	if (timed_out)
		kill(c->pid, SIGKILL);
	close(c->pipe);
	/* the pipe closes when the child exits, so this wait is short */
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	a.slot = slot;
	a.timed_out = timed_out;
	a.exited = WIFEXITED(status);
	a.code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	a.has_meta = !timed_out && c->got == sizeof c->m;
	c->pid = 0;
	c->pipe = -1;
	if (sock_send_all(fd, &a, sizeof a) < 0 ||
	    (a.has_meta && sock_send_all(fd, &c->m, sizeof c->m) < 0))
		_exit(1);
}

/* Starts a child for the request just read on fd (header q). */
static void serve_start(int fd, const uint8_t *shm, struct serve_slot *cs, const struct meta_req *q)
{
	static char name[META_NAME_MAX]; /* static: nothing to free at _exit */
	int pfd[2];
	if (q->slot >= INGEST_WORKERS || q->head_len > META_HEAD_MAX ||
	    q->name_len >= META_NAME_MAX || cs[q->slot].pid ||
	    read_exact(fd, name, q->name_len, -1, NULL) < 0)
		_exit(1); /* not our client: stop */
	name[q->name_len] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		_exit(1);
	pid_t pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid == 0) {
		close(pfd[0]);
		close(fd);
		parser_child(pfd[1], shm + (size_t)q->slot * META_HEAD_MAX, q->head_len, q->size,
			     name);
	}
	close(pfd[1]);
	struct serve_slot *c = &cs[q->slot];
	c->pid = pid;
	c->pipe = pfd[0];
	c->got = 0;
	c->deadline = mono_ms() + (int64_t)(META_CHILD_SECONDS + 1) * 1000;
}

/*
 * The fork server's loop: one child per request, up to one per slot at
 * once, each answered when its pipe closes or its time is up. It exits
 * when the socket closes.
 */
static _Noreturn void parser_serve(int fd, const uint8_t *shm)
{
	struct rlimit rl = {META_CHILD_MEM, META_CHILD_MEM};
	static struct serve_slot cs[INGEST_WORKERS];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* AddressSanitizer reserves terabytes of address space; a cap would
	 * stop every child before it starts, so sanitized builds rely on the
	 * time limit alone */
#if !defined(EVCAP_ASAN)
	setrlimit(RLIMIT_AS, &rl);
#else
	(void)rl;
#endif
	for (int i = 0; i < INGEST_WORKERS; i++)
		cs[i].pipe = -1;
	for (;;) {
		struct pollfd pf[1 + INGEST_WORKERS];
		int who[1 + INGEST_WORKERS];
		nfds_t n = 0;
		int64_t now = mono_ms(), wait = -1;
		pf[n].fd = fd;
		pf[n].events = POLLIN;
		who[n++] = -1;
		for (int i = 0; i < INGEST_WORKERS; i++) {
			if (!cs[i].pid)
				continue;
			if (cs[i].deadline <= now) {
				serve_finish(fd, &cs[i], (uint32_t)i, 1);
				continue;
			}
			if (wait < 0 || cs[i].deadline - now < wait)
				wait = cs[i].deadline - now;
			pf[n].fd = cs[i].pipe;
			pf[n].events = POLLIN;
			who[n++] = i;
		}
		int r = poll(pf, n, (int)wait);
		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r <= 0)
			continue;
		for (nfds_t k = 1; k < n; k++) {
			struct serve_slot *c = &cs[who[k]];
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char sink[512];
			char *to = c->got < sizeof c->m ? (char *)&c->m + c->got : sink;
			size_t room = c->got < sizeof c->m ? sizeof c->m - c->got : sizeof sink;
			ssize_t got = read(c->pipe, to, room);
			if (got > 0 && c->got < sizeof c->m)
				c->got += (size_t)got;
			else if (got == 0 || (got < 0 && errno != EINTR))
				serve_finish(fd, c, (uint32_t)who[k], 0);
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct meta_req q;
			if (read_exact(fd, &q, sizeof q, -1, NULL) < 0)
				_exit(0); /* the socket closed: ingest is over */
			serve_start(fd, shm, cs, &q);
		}
	}
}

/* Stops the fork server (with parser.mu held, or before any thread
 * runs, and never while a thread reads replies): the requests it still
 * held fail. */
static void parser_stop_locked(void)
{
	if (parser.fd >= 0)
		close(parser.fd);
	parser.fd = -1;
	if (parser.pid > 0) {
		/* closing the socket ends it; a server stuck mid-reply is killed */
		kill(parser.pid, SIGKILL);
		while (waitpid(parser.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	parser.pid = 0;
	for (int i = 0; i < INGEST_WORKERS; i++)
		if (parser.box[i].state == BOX_WAITING)
			parser.box[i].state = BOX_FAILED;
	pthread_cond_broadcast(&parser.cv);
}

/* The server failed (parser.mu held). The thread reading replies, if
 * any, owns the socket: it is shut down under that thread, which sees the
 * end and stops the server itself. */
static void parser_fail_locked(void)
{
	if (parser.reading) {
		if (parser.fd >= 0)
			shutdown(parser.fd, SHUT_RDWR);
		if (parser.pid > 0)
			kill(parser.pid, SIGKILL);
		return;
	}
	parser_stop_locked();
}

/* Starts the fork server if it is not running (parser.mu held, or before
 * any thread runs). 0, or -1 if it cannot. */
static int parser_start_locked(void)
{
	int sv[2];
	if (parser.pid > 0)
		return 0;
	if (parser.reading)
		return -1; /* the old one is still being wound up */
	if (!parser.shm) {
		void *m = mmap(NULL, INGEST_WORKERS * META_HEAD_MAX, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -1;
		parser.shm = m;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	meta_seconds(); /* read here, so that a bad value is named once */
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		/* hold nothing of the parent's: no database, no watches */
		if (sv[1] > 3)
			close_range(3, (unsigned)sv[1] - 1, 0);
		close_range((unsigned)sv[1] + 1, ~0U, 0);
		parser_serve(sv[1], parser.shm);
	}
	close(sv[1]);
	parser.pid = pid;
	parser.fd = sv[0];
	return 0;
}

void ingest_parser_start(void)
{
	if (getenv("EVCAP_META_INPROCESS"))
		return;
	pthread_mutex_lock(&parser.mu);
	if (parser_start_locked() < 0)
		log_warnx("cannot start the metadata parser process: %s; parsing in-process",
			  strerror(errno));
	pthread_mutex_unlock(&parser.mu);
}

/* The slot for a head: in the shared mapping when the fork server runs
 * (started here if need be), else NULL (parse in-process). */
static uint8_t *parser_slot(int slot)
{
	uint8_t *p = NULL;
	if (getenv("EVCAP_META_INPROCESS"))
		return NULL;
	pthread_mutex_lock(&parser.mu);
	if (parser_start_locked() == 0)
		p = parser.shm + (size_t)slot * META_HEAD_MAX;
	pthread_mutex_unlock(&parser.mu);
	return p;
}

/* Strings from the child are NUL-terminated here, whatever it sent. */
static void meta_terminate(struct meta *m)
{
#define TERM(f) (m->f[sizeof m->f - 1] = '\0')
	TERM(kind);
	TERM(format);
	TERM(make);
	TERM(model);
	TERM(serial);
	TERM(camera_time);
	TERM(offset_raw);
	TERM(gps_status);
	TERM(gps_datum);
	TERM(error);
	TERM(note);
	TERM(xmp_pos_from);
#undef TERM
}

/*
 * Asks the server to parse the head in `slot` of the shared mapping and
 * returns at once, so the blob's fsync and read-back run while the head
 * is parsed; meta_wait collects the answer. 0, or -1 if the request could
 * not be sent (then there is nothing to wait for).
 */
static int meta_send(int slot, size_t n, uint64_t size, const char *shown)
{
	struct meta_req q;
	size_t name_len = strlen(shown);
	int rc = -1;
	if (name_len >= META_NAME_MAX)
		name_len = META_NAME_MAX - 1;
	memset(&q, 0, sizeof q); /* no uninitialised padding on the wire */
	q.size = size;
	q.slot = (uint32_t)slot;
	q.head_len = (uint32_t)n;
	q.name_len = (uint32_t)name_len;
	pthread_mutex_lock(&parser.mu);
	if (parser_start_locked() == 0 && parser.box[slot].state == BOX_IDLE) {
		if (sock_send_all(parser.fd, &q, sizeof q) == 0 &&
		    sock_send_all(parser.fd, shown, name_len) == 0) {
			parser.box[slot].state = BOX_WAITING;
			rc = 0;
		} else {
			parser_fail_locked(); /* the next file starts a new server */
		}
	}
	pthread_mutex_unlock(&parser.mu);
	return rc;
}

/* Reads one reply into its slot's box (parser.mu not held; this thread
 * is the only reader). 0, or -1 if the server failed or hung. */
static int meta_read_reply(int fd)
{
	struct meta_reply a;
	struct meta m;
	int to = 0;
	/* every child is answered within its limit, so with a request
	 * outstanding a silent server is a stuck one */
	int ms = (META_CHILD_SECONDS + 3) * 1000;
	if (read_exact(fd, &a, sizeof a, ms, &to) < 0 || a.slot >= INGEST_WORKERS ||
	    (a.has_meta && read_exact(fd, &m, sizeof m, ms, &to) < 0))
		return -1;
	pthread_mutex_lock(&parser.mu);
	int ok = parser.box[a.slot].state == BOX_WAITING;
	if (ok) {
		parser.box[a.slot].a = a;
		if (a.has_meta)
			parser.box[a.slot].m = m;
		parser.box[a.slot].state = BOX_READY;
	}
	pthread_mutex_unlock(&parser.mu);
	return ok ? 0 : -1;
}

/*
 * Waits for the answer to this slot's request. Whichever waiting thread
 * finds no one reading reads replies for all, and puts each in its
 * slot's box. On return the slot is free for the next request; *a and m
 * hold the answer, or a says the server failed (exited set, no meta).
 */
static void meta_wait(int slot, struct meta_reply *a, struct meta *m)
{
	pthread_mutex_lock(&parser.mu);
	for (;;) {
		enum box_state bs = parser.box[slot].state;
		if (bs == BOX_READY || bs == BOX_FAILED) {
			if (bs == BOX_READY) {
				*a = parser.box[slot].a;
				if (a->has_meta)
					*m = parser.box[slot].m;
			} else {
				memset(a, 0, sizeof *a);
				a->exited = 1;
			}
			parser.box[slot].state = BOX_IDLE;
			break;
		}
		if (parser.reading) {
			pthread_cond_wait(&parser.cv, &parser.mu);
			continue;
		}
		parser.reading = 1;
		int fd = parser.fd;
		pthread_mutex_unlock(&parser.mu);
		int r = meta_read_reply(fd);
		pthread_mutex_lock(&parser.mu);
		parser.reading = 0;
		if (r < 0)
			parser_stop_locked(); /* fails every request it held */
		pthread_cond_broadcast(&parser.cv);
	}
	pthread_mutex_unlock(&parser.mu);
}

/* Fills m from the answer a (and the head p[0..n) and the name, for what
 * our own sniffing can say when the parser failed). */
static void meta_from_reply(const uint8_t *p, size_t n, const char *name,
			    const struct meta_reply *a, struct meta *m)
{
	if (a->has_meta && a->exited && a->code == 0) {
		meta_terminate(m);
		return;
	}
	int timed_out = a->timed_out || (!a->exited && a->code == SIGALRM); /* its own alarm() */
	meta_kind(p, n, name, m);
	if (!a->exited && !timed_out)
		snprintf(m->error, sizeof m->error,
			 "the metadata parser failed on this file (signal %d)", (int)a->code);
	else
		snprintf(m->error, sizeof m->error,
			 "the metadata parser did not finish on this file%s",
			 timed_out ? " within its time limit" : "");
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

/* What a thread taking files needs: an aligned copy buffer, and where
 * heads go (a slot of the shared mapping, or its own buffer). */
struct taker {
	int slot;
	uint8_t *chunk; /* INGEST_CHUNK bytes, from fs_io_buf */
	uint8_t *own;   /* META_HEAD_MAX bytes when there is no shared slot */
	uint8_t *tail;  /* JPEG_TAIL_MAX bytes: a JPEG's end */
	atomic_int *src_buffered; /* set when a source refused O_DIRECT, or NULL */
	struct room *room;        /* the run's, or NULL */
};

static void taker_init(struct taker *t, int slot)
{
	memset(t, 0, sizeof *t);
	t->slot = slot;
	/* one buffer for every file: a new one each time would be a new
	 * mapping and 256 page faults to fill */
	t->chunk = fs_io_buf();
	t->tail = xmalloc(JPEG_TAIL_MAX);
}

static void taker_free(struct taker *t)
{
	free(t->chunk);
	free(t->own);
	free(t->tail);
}

/*
 * Takes one file: opens it without following links or blocking, copies it
 * into a blob writer while hashing, reads its metadata, and commits the
 * blob (fsync, read back and compare, rename, fsync of its folder). On
 * return p is ready to record, or res and msg say what happened. Touches
 * nothing shared but the store's blob functions and the parser (under its
 * lock), so several threads may take files at once.
 */
static void take_file(struct store *s, struct taker *t, struct pending *p,
		      const struct ingest_opts *o)
{
	struct blob_writer *w = NULL;
	char err[512];
	uint8_t *head = parser_slot(t->slot);
	int slot = head ? t->slot : -1;
	size_t head_len = 0, tail_len = 0;
	int fd = -1, rc;
	if (!head) {
		if (!t->own)
			t->own = xmalloc(META_HEAD_MAX);
		head = t->own;
	}
	p->shown = ingest_display_path(p->path);
	p->res = INGEST_FAILED;

	/* O_NOATIME keeps even the access time of the source untouched where
	 * we own the file; elsewhere the plain open is the best we can do. */
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	fd = open(p->path, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(p->path, flags);
	if (fd < 0) {
		if (errno == ELOOP) {
			err_set(p->msg, sizeof p->msg, 0, "%s: skipped: a symbolic link (not followed)",
				p->shown);
			p->res = INGEST_SKIPPED;
		} else {
			err_set(p->msg, sizeof p->msg, 0, "%s: cannot open: %s", p->shown,
				strerror(errno));
		}
		goto out;
	}
	struct stat before;
	if (fstat(fd, &before) < 0) {
		err_set(p->msg, sizeof p->msg, 0, "%s: cannot stat: %s", p->shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		err_set(p->msg, sizeof p->msg, 0, "%s: skipped: not a regular file", p->shown);
		p->res = INGEST_SKIPPED;
		goto out;
	}
	/* back to blocking reads now we know it is a regular file */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	int src_direct = 0;
	rc = copy_to_blob(s, fd, p->shown, &before, t->chunk, head, &head_len, t->tail,
			  &tail_len, &w, &src_direct, t->room, o, p->msg, sizeof p->msg);
	if (!src_direct && t->src_buffered)
		atomic_store(t->src_buffered, 1);
	if (rc)
		goto out;
	close(fd);
	fd = -1;
	p->size = store_blob_size(w);
	/* the head is parsed while the blob is committed */
	int isolated = slot >= 0 && meta_needs_child(head, head_len), asked = -1;
	if (isolated)
		asked = meta_send(slot, head_len, p->size, p->shown);
	else
		meta_read(head, head_len, p->size, p->shown, &p->m);
	room_enter(t->room);
	rc = store_blob_commit(w, p->hex, &p->size, &p->placed, err, sizeof err);
	room_leave(t->room);
	w = NULL;
	if (isolated) {
		struct meta_reply a = {0};
		if (asked == 0)
			meta_wait(slot, &a, &p->m);
		else
			a.exited = 1; /* not sent: the server failed */
		meta_from_reply(head, head_len, p->shown, &a, &p->m);
	}
	meta_read_tail(&p->m, p->size, t->tail, tail_len);
	meta_resolve(&p->m, NULL, o->has_declared_offset ? &o->declared_offset_s : NULL, &p->r);
	if (rc == EV_ENOSPC) {
		no_room_msg(s, p, o, err, 0);
		goto out;
	}
	if (rc) {
		err_set(p->msg, sizeof p->msg, 0, "%s: %s", p->shown, err);
		goto out;
	}
	p->ready = 1;
out:
	store_blob_abort(w);
	if (fd >= 0)
		close(fd);
}

/* Records the restores whose events were never committed (a run stopped,
 * or the store busy, after a damaged original was replaced): before a
 * run, so that its own restores are told apart (run_start), and after a
 * run that failed. Its failure fails no file: the next run tries again. */
static void record_kept(struct store *s, const struct ingest_opts *o)
{
	char err[512];
	if (store_record_kept(s, o->actor, NULL, err, sizeof err))
		log_warnx("%s: a restore not yet in the custody log was not recorded: %s",
			  store_dir(s), err);
}

/* Where the store stood when this run began: its last item and event. */
static void run_start(struct store *s, int64_t *items_before, int64_t *seq_before)
{
	/* unknown: a missing original is not claimed put back (a damaged
	 * one replaced is, as it was seen) */
	*items_before = 0;
	*seq_before = INT64_MAX;
	sqlite3_stmt *st = store_prepare(
		s, "SELECT (SELECT max(id) FROM items), (SELECT max(seq) FROM custody)", NULL, 0);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*items_before = sqlite3_column_int64(st, 0);
		*seq_before = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

/* Whether the commit of p put right the original of item id: one that
 * was damaged, or missing, before this run began. A file met twice in
 * one run (two copies on a card) may find its bytes not yet placed, or
 * damaged bytes another worker is replacing: that is no second restore.
 * Nor is a damaged copy kept that an event names already: another
 * process, finding it kept with no event, recorded it (store_record_kept). */
static int restore_due(struct store *s, int64_t id, const struct pending *p)
{
	if (p->placed.found == BLOB_EXISTED)
		return 0;
	if (p->placed.found == BLOB_NEW && id > p->items_before)
		return 0;
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT 1 FROM custody WHERE item_sha256 = ? AND action = "
					 "'restore' AND (seq > ? OR json_extract(event, "
					 "'$.detail.kept_as') = ?)",
					 NULL, 0);
	if (!st)
		return 1;
	sqlite3_bind_text(st, 1, p->hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->seq_before);
	if (p->placed.kept_as[0])
		sqlite3_bind_text(st, 3, p->placed.kept_as, -1, SQLITE_STATIC);
	int again = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return !again;
}

/*
 * The store's copy of item id was damaged, or it had none (the original
 * deleted from blobs/), and the file just read, whose bytes match the
 * digest recorded at ingest, took its place: a custody event says so
 * (what the damaged copy was, where it is kept), and the file's message
 * says it.
 */
static int record_restore(struct store *s, int64_t id, struct pending *p,
			  const struct ingest_opts *o)
{
	char err[512];
	const struct blob_placed *b = &p->placed;
	char *case_number = NULL;
	sqlite3_stmt *st = store_prepare(
		s, "SELECT c.number FROM items i LEFT JOIN cases c ON c.id = i.case_id WHERE i.id = ?",
		err, sizeof err);
	if (!st)
		return err_set(p->msg, sizeof p->msg, EV_EDB, "%s: %s", p->shown, err);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		case_number = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	int missing = b->found == BLOB_NEW;
	const char *why = missing ? "the store had no copy" : b->damaged_why;
	json_t *detail = json_pack("{s:I, s:s, s:I, s:{s:o, s:s?, s:s}, s:s?}", "item",
				   (json_int_t)id, "from", p->shown, "size", (json_int_t)p->size,
				   "damaged", "size",
				   missing ? json_null() : json_integer((json_int_t)b->damaged_size),
				   "sha256", b->damaged_sha256[0] ? b->damaged_sha256 : NULL, "why",
				   why, "kept_as", missing ? NULL : b->kept_as);
	int rc = custody_append(s, time_now(), o->actor, "restore", case_number, p->hex, detail,
				NULL, err, sizeof err);
	json_decref(detail);
	free(case_number);
	if (rc)
		return err_set(p->msg, sizeof p->msg, EV_EDB, "%s: %s", p->shown, err);
	if (missing)
		snprintf(p->msg, sizeof p->msg,
			 "%s: the store had no copy of item %lld; this file has the bytes recorded "
			 "at ingest and is now its original (a restore event in the custody log)",
			 p->shown, (long long)id);
	else
		snprintf(p->msg, sizeof p->msg,
			 "%s: the store's copy of item %lld was damaged (%s); this file has the "
			 "bytes recorded at ingest and took its place (a restore event in the "
			 "custody log); the damaged copy is kept as %s",
			 p->shown, (long long)id, b->damaged_why, b->kept_as);
	return 0;
}

/* Records one committed file inside the open transaction. 0, or an error
 * with p->msg set (the caller rolls back to the file's savepoint). */
static int record_one(struct store *s, struct pending *p, const struct ingest_opts *o)
{
	char err[512], now_iso[32];
	json_t *detail = NULL;
	int rc = 0;
	time_format_iso(time_now(), now_iso);
	int64_t id = item_id_by_sha(s, p->hex);
	if (id < 0)
		goto dberr;
	if (id > 0) {
		if (add_sighting(s, id, p->shown, o, now_iso))
			goto dberr;
		if (restore_due(s, id, p)) {
			if ((rc = record_restore(s, id, p, o)))
				goto out;
			p->restored = 1;
		}
		p->res = INGEST_ALREADY;
		goto out;
	}
	id = insert_item(s, p->hex, p->size, p->shown, &p->m, &p->r, o, now_iso);
	if (id < 0 || add_sighting(s, id, p->shown, o, now_iso))
		goto dberr;
	detail = ingest_detail(p->size, p->shown, &p->m, o);
	if (custody_append(s, time_now(), o->actor, "ingest", o->case_number, p->hex, detail, NULL,
			   err, sizeof err)) {
		rc = err_set(p->msg, sizeof p->msg, EV_EDB, "%s: %s", p->shown, err);
		goto out;
	}
	p->res = INGEST_ADDED;
	goto out;
dberr:
	rc = err_set(p->msg, sizeof p->msg, EV_EDB, "%s: database error: %s", p->shown,
		     sqlite3_errmsg(store_db(s)));
out:
	json_decref(detail);
	return rc;
}

/*
 * Records the committed files among v[0..n) in one transaction, each
 * under its own savepoint so one file's database error leaves the others
 * whole. Every blob is already placed and its folder synced (the rule:
 * durable file first, row after), so grouping only saves commits of the
 * database, each of which is an fsync. A failed COMMIT leaves the outcome
 * unknown; every file of the group is then reported for a retry, which is
 * safe because items are unique on their SHA-256. Returns 0, or the
 * failure of the transaction: EV_ENOSPC when the store's disk had no room
 * for it (nothing of it is recorded, and each file says so).
 */
static int record_tx(struct store *s, struct pending **v, size_t n, const struct ingest_opts *o)
{
	char err[512];
	int full = 0, rc;
	for (size_t i = 0; i < n; i++) {
		struct pending *p = v[i];
		if (p->ready) { /* as taken: a try before this one left nothing */
			p->res = INGEST_FAILED;
			p->restored = p->no_room = 0;
			p->msg[0] = '\0';
		}
	}
	if ((rc = store_begin(s, err, sizeof err))) {
		for (size_t i = 0; i < n; i++)
			if (v[i]->ready)
				err_set(v[i]->msg, sizeof v[i]->msg, 0, "%s: %s", v[i]->shown, err);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct pending *p = v[i];
		if (!p->ready)
			continue;
		if (store_exec(s, "SAVEPOINT one_file", err, sizeof err)) {
			err_set(p->msg, sizeof p->msg, 0, "%s: %s", p->shown, err);
			continue;
		}
		if (record_one(s, p, o)) {
			/* asked before the rollback sets the error code again */
			full |= (sqlite3_extended_errcode(store_db(s)) & 0xff) == SQLITE_FULL;
			p->res = INGEST_FAILED;
			if (store_exec(s, "ROLLBACK TO one_file", err, sizeof err))
				log_warnx("%s", err);
		}
		if (store_exec(s, "RELEASE one_file", err, sizeof err))
			log_warnx("%s", err);
	}
	/* a file's rows the disk had no room for: the others are not
	 * committed without it, but wait with it for room (record_no_room) */
	if (full) {
		store_rollback(s);
		rc = err_set(err, sizeof err, EV_ENOSPC, "%s/evidence.db: %s", store_dir(s),
			     sqlite3_errstr(SQLITE_FULL));
	} else {
		rc = store_commit(s, err, sizeof err);
	}
	if (rc) {
		for (size_t i = 0; i < n; i++) {
			struct pending *p = v[i];
			if (!p->ready || (p->res == INGEST_FAILED && p->msg[0] && !full))
				continue;
			if (rc == EV_ENOSPC)
				no_room_msg(s, p, o, err, 1);
			else
				err_set(p->msg, sizeof p->msg, 0, "%s: %s; not recorded, %s", p->shown,
					err, again_note(o));
			p->res = INGEST_FAILED;
		}
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct pending *p = v[i];
		if (!p->ready || p->res == INGEST_FAILED)
			continue;
		/* "could not be read" alone would say a photo whose time and
		 * place were read, and one field was not, has neither */
		const struct meta *m = &p->m;
		int some = m->has_camera_time || m->has_gps_time || m->has_exif_pos ||
			   m->has_xmp_pos || m->has_video_pos || m->make[0] || m->model[0];
		if (p->res == INGEST_ADDED && m->error[0])
			err_set(p->msg, sizeof p->msg, 0, "%s: kept, but %s could not be read: %s",
				p->shown, some ? "part of its metadata" : "its metadata", m->error);
		else if (!(p->res == INGEST_ALREADY && p->restored))
			p->msg[0] = '\0'; /* a restore's message stays: it is said */
	}
	return 0;
}

/*
 * The store's disk had no room to record the group, whose originals are
 * placed. What is whole in the store must be recorded: the run's reserve
 * is given up (room NULL: there is none), with every blob write held off
 * so that no copy on its way in takes the room first, and the group is
 * recorded again; should its rows still not fit, file by file, so that
 * each whose rows fit is recorded. A file left over says it is not
 * recorded for want of room. From then on the run makes no more copies
 * (room->out), keeping what is left for the rows of what is placed.
 */
static void record_no_room(struct store *s, struct pending **v, size_t n,
			   const struct ingest_opts *o, struct room *room)
{
	if (room) {
		pthread_rwlock_wrlock(&room->lock);
		if (!atomic_load(&room->out)) {
			atomic_store(&room->out, 1);
			log_warnx("the store's disk (%s) is full: the space kept for recording what "
				  "was placed (%s) is given up, and no more files are copied in",
				  store_dir(s), fs_basename(room->reserve));
		}
		fs_reserve_release(room->reserve);
	}
	if (record_tx(s, v, n, o) == EV_ENOSPC && n > 1)
		for (size_t i = 0; i < n; i++)
			if (v[i]->ready && v[i]->no_room)
				(void)record_tx(s, v + i, 1, o);
	if (room)
		pthread_rwlock_unlock(&room->lock);
}

/* Records the files of v[0..n) that are ready (record_tx), the run's room
 * (NULL: none) given up for them when the disk is full. */
static void record_group(struct store *s, struct pending **v, size_t n,
			 const struct ingest_opts *o, struct room *room)
{
	size_t todo = 0;
	for (size_t i = 0; i < n; i++)
		todo += v[i]->ready;
	if (todo && record_tx(s, v, n, o) == EV_ENOSPC && (room || todo > 1))
		record_no_room(s, v, n, o, room);
}

/* Counts a finished file in st. */
static void count_result(struct ingest_stats *st, const struct pending *p)
{
	switch (p->res) {
	case INGEST_ADDED:
		st->added++;
		st->files++;
		st->bytes += p->size;
		if (p->m.error[0])
			st->meta_errors++;
		break;
	case INGEST_ALREADY:
		st->already++;
		if (p->restored)
			st->restored++;
		st->files++;
		st->bytes += p->size;
		break;
	case INGEST_SKIPPED: st->skipped++; break;
	case INGEST_FAILED:
		st->failed++;
		st->no_room += p->no_room;
		st->files++;
		if (p->ready)
			st->bytes += p->size;
		break;
	}
}

enum ingest_result ingest_file(struct store *s, const char *path, const struct ingest_opts *o,
			       struct ingest_stats *st, char sha_out[65], char *msg, size_t msglen)
{
	struct pending *p = xcalloc(1, sizeof *p);
	struct taker t;
	taker_init(&t, 0);
	p->path = path;
	record_kept(s, o);
	run_start(s, &p->items_before, &p->seq_before);
	take_file(s, &t, p, o);
	taker_free(&t);
	record_group(s, &p, 1, o, NULL);
	if (p->placed.found == BLOB_RESTORED && !p->restored)
		record_kept(s, o);
	enum ingest_result res = p->res;
	count_result(st, p);
	snprintf(msg, msglen, "%s", p->msg);
	if (sha_out && (res == INGEST_ADDED || res == INGEST_ALREADY))
		memcpy(sha_out, p->hex, 65);
	pending_free(p);
	return res;
}

/*
 * File workers. Copying and hashing a 2 MB photo, the read-back, and the
 * fsyncs of the file and its folder, one file after another on one
 * thread, kept the benchmark machine's disk and second core idle much of
 * the time: every fsync is a journal commit and a cache flush of its own,
 * and the copy of the next file waited for them. A few workers take files
 * at once (in walk order), so one copies while another waits on its
 * fsync; the calling thread records them in walk order, several to a
 * transaction. Workers share only the store's blob functions (which keep
 * no shared state but a locked list of spare buffers) and the parser
 * (behind its mutex); the database is touched by the calling thread only.
 */
#define INGEST_INFLIGHT 16 /* files handed out but not yet recorded */
/* Files recorded per transaction while more are coming: with workers
 * finishing in walk order, waiting for just the oldest would give groups
 * of one; half the ring keeps the workers fed meanwhile. */
#define INGEST_GROUP 8

struct file_pool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a file was queued, or quit was set */
	pthread_cond_t done; /* a file was taken */
	struct pending *q[INGEST_INFLIGHT];
	size_t qhead, qn;
	int quit;
	struct store *s;
	const struct ingest_opts *o;
	pthread_t th[INGEST_WORKERS];
	struct taker tk[INGEST_WORKERS];
	int nth; /* threads running; 0: take on the calling thread */
	struct taker self; /* the calling thread's, when no thread runs */
	/* The kernel's read-ahead is asked for (prefetch) only once a source
	 * has refused O_DIRECT: direct reads would not use what it read. */
	atomic_int src_buffered;
};

struct worker_arg {
	struct file_pool *pl;
	int i;
};

static void *pool_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct file_pool *pl = wa->pl;
	struct taker *t = &pl->tk[wa->i];
	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (!pl->quit && pl->qn == 0)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (pl->qn == 0)
			break;
		struct pending *p = pl->q[pl->qhead];
		pl->qhead = (pl->qhead + 1) % INGEST_INFLIGHT;
		pl->qn--;
		pthread_mutex_unlock(&pl->mu);
		take_file(pl->s, t, p, pl->o);
		pthread_mutex_lock(&pl->mu);
		p->done = 1;
		pthread_cond_broadcast(&pl->done);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

static void pool_start(struct file_pool *pl, struct store *s, const struct ingest_opts *o,
		       struct room *room, struct worker_arg wa[INGEST_WORKERS])
{
	sigset_t all, old;
	memset(pl, 0, sizeof *pl);
	pl->s = s;
	pl->o = o;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->work, NULL);
	pthread_cond_init(&pl->done, NULL);
	taker_init(&pl->self, 0);
	pl->self.src_buffered = &pl->src_buffered;
	pl->self.room = room;
	/* signals (the stop request) are for the thread that walks the files */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < INGEST_WORKERS; i++) {
		taker_init(&pl->tk[i], i);
		pl->tk[i].src_buffered = &pl->src_buffered;
		pl->tk[i].room = room;
		wa[i].pl = pl;
		wa[i].i = i;
		if (pthread_create(&pl->th[pl->nth], NULL, pool_main, &wa[i]) != 0) {
			taker_free(&pl->tk[i]);
			break;
		}
		pl->nth++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void pool_stop(struct file_pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->quit = 1;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->mu);
	for (int i = 0; i < pl->nth; i++) {
		pthread_join(pl->th[i], NULL);
		taker_free(&pl->tk[i]);
	}
	taker_free(&pl->self);
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->done);
	pthread_mutex_destroy(&pl->mu);
}

/* Hands a file to the workers (the caller keeps at most INGEST_INFLIGHT
 * unrecorded, so the queue never overflows). */
static void pool_submit(struct file_pool *pl, struct pending *p)
{
	if (pl->nth == 0) {
		take_file(pl->s, &pl->self, p, pl->o);
		p->done = 1;
		return;
	}
	pthread_mutex_lock(&pl->mu);
	pl->q[(pl->qhead + pl->qn) % INGEST_INFLIGHT] = p;
	pl->qn++;
	pthread_cond_signal(&pl->work);
	pthread_mutex_unlock(&pl->mu);
}

/* How many of v[0..n) in a row, from the first, are taken; waits until
 * at least min(want, n) are. */
static size_t pool_done_run(struct file_pool *pl, struct pending **v, size_t n, size_t want)
{
	size_t k = 0;
	if (want > n)
		want = n;
	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (k < n && v[k]->done)
			k++;
		if (k >= want)
			break;
		pthread_cond_wait(&pl->done, &pl->mu);
	}
	pthread_mutex_unlock(&pl->mu);
	return k;
}

/* Asks the kernel to start reading a file before a worker takes it, for
 * sources read through the page cache: on a cold card it cut the copy's
 * waiting on reads by a fifth.
 * Opened as take_file opens (no links followed, no blocking); a file that
 * cannot be opened here is named when take_file tries it. */
static void prefetch(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_NOATIME | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
	close(fd);
}

/* The walk: a list of regular files to take, in a stable order. */
struct walk {
	char **files;
	size_t n, cap;
	uint64_t bytes;
	uint64_t skipped;
	uint64_t problems;      /* folders that could not be read or were too deep */
	uint64_t over;          /* regular files past INGEST_MAX_FILES, not taken */
	int have_store;         /* the store's folder, never walked */
	dev_t store_dev;
	ino_t store_ino;
};

static void walk_add(struct walk *w, char *path, uint64_t size)
{
	if (w->n >= INGEST_MAX_FILES) {
		w->over++;
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

/* A folder that could not be walked: nothing under it is recorded (or,
 * with lost set, what it lists after the failure is not), which is a
 * problem, not a skip by design. */
static void walk_problem(struct walk *w, const char *path, const char *what, const char *why,
			 const char *lost)
{
	char *shown = ingest_display_path(path);
	log_warnx("%s: %s: %s; %s", shown, what, why, lost ? lost : "nothing under it recorded");
	free(shown);
	w->problems++;
}

static int is_store(const struct walk *w, const struct stat *st)
{
	return w->have_store && st->st_dev == w->store_dev && st->st_ino == w->store_ino;
}

/* Whether the resolved path p is dir or lies under it. */
static int path_within(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

#define STORE_SKIP "the evidence store itself (its key and database are not evidence)"

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
		walk_problem(w, dir, "folder not read", "nested deeper than 64 levels", NULL);
		return;
	}
	/* a folder given (depth 0) may be reached through a symbolic link */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (depth ? O_NOFOLLOW : 0));
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		walk_problem(w, dir, "cannot read folder",
			     e == ENAMETOOLONG ? "its path is longer than the system allows (4096 "
						 "bytes); copy it to a shorter path"
					       : strerror(e),
			     NULL);
		if (fd >= 0)
			close(fd);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	/* readdir says a failure (EIO from a failing card) only in errno, and
	 * returns NULL as at the end: without this check the rest of the
	 * folder would go unnoticed */
	struct dirent *e;
	for (;;) {
		errno = 0;
		if (!(e = readdir(d)))
			break;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(e->d_name);
	}
	if (errno)
		walk_problem(w, dir, "cannot read folder", strerror(errno),
			     n ? "the entries listed before it are taken, the rest is not recorded"
			       : NULL);
	if (n > 1) /* an empty folder has no list at all */
		qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *p = strcmp(dir, "/") == 0 ? xasprintf("/%s", names[i])
						: xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			char *shown = ingest_display_path(p);
			log_warnx("%s: cannot read: %s", shown, strerror(errno));
			free(shown);
			w->problems++;
			free(p);
		} else if (S_ISDIR(st.st_mode) && is_store(w, &st)) {
			walk_skip(w, p, STORE_SKIP);
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

int ingest_paths(struct store *s, char *const *paths, int n, const struct ingest_opts *o,
		 struct ingest_stats *st)
{
	struct walk w = {0};
	struct stat ss;
	int64_t items_before, seq_before;
	record_kept(s, o);
	run_start(s, &items_before, &seq_before);
	/* the room to record what is placed once the originals fill the disk */
	char *reserve = xasprintf("%s/" INGEST_RESERVE, store_dir(s)), err[512];
	struct room room;
	room_init(&room, reserve);
	if (fs_reserve_make(reserve, INGEST_RESERVE_BYTES, err, sizeof err))
		log_warnx("%s", err);
	char *store_real = realpath(store_dir(s), NULL);
	if (stat(store_dir(s), &ss) == 0) {
		w.have_store = 1;
		w.store_dev = ss.st_dev;
		w.store_ino = ss.st_ino;
	}
	for (int i = 0; i < n; i++) {
		struct stat sb;
		/* strip trailing slashes so names join cleanly */
		char *p = xstrdup(paths[i]);
		size_t l = strlen(p);
		while (l > 1 && p[l - 1] == '/')
			p[--l] = '\0';
		/* A path given is followed even when it is a symbolic link (a
		 * card is often reached through one), as `find -H` does; links
		 * met inside the walk are not. */
		char *real = NULL;
		if (stat(p, &sb) < 0) {
			char *shown = ingest_display_path(p);
			log_warnx("%s: %s; not ingested", shown, strerror(errno));
			free(shown);
			w.problems++;
			free(p);
		} else if (store_real && (real = realpath(p, NULL)) && path_within(real, store_real)) {
			walk_skip(&w, p, STORE_SKIP);
			free(p);
		} else if (S_ISDIR(sb.st_mode)) {
			walk_dir(&w, p, 0);
			free(p);
		} else if (S_ISREG(sb.st_mode)) {
			/* a file given through a link is read, and named, where it is */
			struct stat lsb;
			if (real && lstat(p, &lsb) == 0 && S_ISLNK(lsb.st_mode)) {
				free(p);
				p = real;
				real = NULL;
			}
			walk_add(&w, p, (uint64_t)sb.st_size);
		} else {
			walk_skip(&w, p, type_name(sb.st_mode));
			free(p);
		}
		free(real);
	}
	free(store_real);
	if (w.over)
		log_warnx("more than %d files given; only the first %d are taken this run, %llu "
			  "not",
			  INGEST_MAX_FILES, INGEST_MAX_FILES, (unsigned long long)w.over);
	st->skipped += w.skipped;
	st->failed += w.problems;
	st->not_taken += w.over;
	char total[32];
	human_bytes(w.bytes, total);
	int tty = o->progress && isatty(STDERR_FILENO);
	struct file_pool pool;
	struct worker_arg wa[INGEST_WORKERS];
	struct pending *ring[INGEST_INFLIGHT];
	size_t rn = 0, next = 0, finished = 0;
	int stop_said = 0;
	/* the fork server first, while this process is small and has one thread */
	if (!getenv("EVCAP_META_INPROCESS") && parser_start_locked() < 0)
		log_warnx("cannot start the metadata parser process: %s; parsing in-process",
			  strerror(errno));
	pool_start(&pool, s, o, &room, wa);
	for (;;) {
		int stop = o->stop && *o->stop;
		int more = next < w.n && !stop;
		if (stop && next < w.n && !stop_said) {
			log_warnx("stopped: %zu of %zu file%s not taken yet", w.n - next, w.n,
				  w.n == 1 ? "" : "s");
			st->not_taken += w.n - next;
			stop_said = 1;
		}
		/* record when the ring is full, and everything once nothing more
		 * is to be taken; the files stay in walk order */
		if (rn && (rn == INGEST_INFLIGHT || !more)) {
			size_t k = pool_done_run(&pool, ring, rn, more ? INGEST_GROUP : rn);
			record_group(s, ring, k, o, &room);
			for (size_t j = 0; j < k; j++) {
				struct pending *p = ring[j];
				count_result(st, p);
				finished++;
				if (tty)
					fprintf(stderr, "\r\033[K");
				if (p->res == INGEST_FAILED || p->res == INGEST_SKIPPED || p->msg[0])
					log_warnx("%s", p->msg);
				else if (o->verbose)
					log_info("%s %s %.12s",
						 p->res == INGEST_ADDED ? "added" : "already recorded",
						 p->shown, p->hex);
				if (tty) {
					char done[32];
					human_bytes(st->bytes, done);
					fprintf(stderr, "[%zu/%zu] %s of %s", finished, w.n, done, total);
					if (finished == w.n)
						fprintf(stderr, "\r\033[K");
					fflush(stderr);
				}
				pending_free(p);
			}
			memmove(ring, ring + k, (rn - k) * sizeof *ring);
			rn -= k;
			continue;
		}
		if (!more)
			break;
		struct pending *p = xcalloc(1, sizeof *p);
		p->path = w.files[next++];
		p->items_before = items_before;
		p->seq_before = seq_before;
		if (atomic_load(&pool.src_buffered))
			prefetch(p->path);
		pool_submit(&pool, p);
		ring[rn++] = p;
	}
	pool_stop(&pool);
	parser_stop_locked();
	for (size_t i = 0; i < w.n; i++)
		free(w.files[i]);
	free(w.files);
	if (st->failed) /* a restore whose group was not committed is said now */
		record_kept(s, o);
	if (fs_reserve_make(reserve, INGEST_RESERVE_BYTES, err, sizeof err))
		log_warnx("%s", err);
	pthread_rwlock_destroy(&room.lock);
	free(reserve);
	return st->failed || st->not_taken ? 1 : 0;
}
