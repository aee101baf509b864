/*
 * The evidence store: one directory holding evidence.db (SQLite: WAL,
 * synchronous=FULL, foreign keys, schema version in user_version with
 * forward migrations) and blobs/sha256/ab/cd/<64 hex>, the originals,
 * content-addressed and read-only (0444).
 *
 * A blob is placed by write-to-temp in blobs/tmp, fsync, rename, fsync of
 * the directory; its row is committed only after the rename, so a crash
 * leaves either nothing or a complete item. store_open removes temp files
 * left by a crash.
 */
#ifndef EVCAP_STORE_H
#define EVCAP_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "hash.h"
#include "util.h"

struct store;

enum store_flags {
	STORE_CREATE = 1,   /* create the directory and database if missing */
	STORE_READONLY = 2, /* open the database read-only */
	STORE_READ_IF_UNWRITABLE = 4, /* a store this process cannot write is
				       * opened read-only instead of refused */
};

/* Opens (and with STORE_CREATE creates) the store at dir, migrating the
 * schema forward. With STORE_CREATE it also records the custody log's
 * first event, "init", while the log is empty (whoever makes the store:
 * evcap init or evcapd). On failure *out is NULL and err says why.
 *
 * A store this process cannot write (its filesystem is read-only: an
 * evidence disk mounted read-only, a write-protected card; or this user
 * may not write to its folder or database) is refused with EV_EROFS
 * before anything is done, unless STORE_READONLY or
 * STORE_READ_IF_UNWRITABLE asks for a read-only open, which neither
 * migrates nor cleans up: one whose schema is older than this build's is
 * then refused (EV_EINVAL). On a read-only filesystem, where SQLite can
 * make neither the -wal nor the -shm file, the database is opened
 * immutable; an -wal file there that may hold commits not yet in the
 * database and that SQLite cannot replay (its -shm file is missing) is
 * refused (EV_EDB) rather than read past. */
int store_open(const char *dir, int flags, struct store **out, char *err, size_t errlen) WUR;
void store_close(struct store *s);
/* Why the store is open read-only ("its filesystem is read-only", "this
 * user may not write to its folder"; "opened read-only" for
 * STORE_READONLY), or NULL when it is open for writing. */
const char *store_readonly(const struct store *s);

const char *store_dir(const struct store *s);
/* The database handle, for modules that run their own (bound) SQL. */
sqlite3 *store_db(struct store *s);
/* How long a write waits for another writer to let go before it fails
 * (STORE_BUSY_MS, or $EVCAP_STORE_BUSY_MS for tests, unless set): a loop
 * that must stay responsive and tries again later itself sets it shorter.
 * store_exec and store_meta_set then say the store is busy, who holds it
 * where they can tell (evcapd, a sync or pull) and to run again later. */
#define STORE_BUSY_MS 10000
void store_set_busy_ms(struct store *s, int ms);
/* The pid of another process holding an flock on <dir>/<file> (the
 * store's evcapd.lock or sync.lock), from the kernel's list of locks; 0 if
 * none holds it, this process does, or the list cannot be read. */
long store_lock_holder(const char *dir, const char *file);
/* Whether another process holds the database of the store in dir for
 * writing, as the kernel's list of locks shows SQLite's; if so, out gets
 * "pid N: its command line" and 1 is returned. Never takes or disturbs a
 * lock. */
int store_db_holder(const char *dir, char *out, size_t outlen);
/* This store's device id (a random 128-bit hex string made at creation). */
const char *store_device_id(const struct store *s);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. A failed COMMIT is
 * rolled back and reported as EV_EDB, or EV_ENOSPC when the store's disk
 * had no room for it (SQLITE_FULL); the caller must treat the outcome as
 * unknown (the row may still be there) and rely on idempotent writes. */
int store_begin(struct store *s, char *err, size_t errlen) WUR;
int store_commit(struct store *s, char *err, size_t errlen) WUR;
void store_rollback(struct store *s);

/* Runs a statement with no result rows; 0 or EV_EDB with the SQLite
 * message. For fixed SQL only: values go through bound parameters. */
int store_exec(struct store *s, const char *sql, char *err, size_t errlen) WUR;

/* Prepares sql, reporting failure in err; NULL on failure. */
sqlite3_stmt *store_prepare(struct store *s, const char *sql, char *err, size_t errlen);

/* The path of a blob (malloc'd): DIR/blobs/sha256/ab/cd/<hex>. */
char *store_blob_path(const struct store *s, const char *sha_hex);
/* 1 if the blob file exists. */
int store_has_blob(const struct store *s, const char *sha_hex);
/* Counts into *n the blob files that no item names: what a pull or an
 * ingest stopped between placing a blob and recording its item left (the
 * next pull or ingest that brings them uses them). 0, or EV_EIO or
 * EV_EDB with err saying why. */
int store_orphan_blobs(struct store *s, int64_t *n, char *err, size_t errlen) WUR;

/*
 * A blob being written: bytes are appended and hashed; commit fsyncs,
 * reads the temp file back and compares its hash, then renames it into
 * place (or discards it if the same blob is already there) read-only.
 * When the disk has no room for the copy (ENOSPC, EDQUOT), the temp file
 * is removed at once and the rest is only hashed: commit then takes the
 * same bytes where they are whole in the store already (BLOB_EXISTED: an
 * earlier run placed them, the disk full, and could not record them), and
 * fails with EV_ENOSPC otherwise.
 */
struct blob_writer;
int store_blob_begin(struct store *s, struct blob_writer **out, char *err, size_t errlen) WUR;
int store_blob_write(struct blob_writer *w, const void *p, size_t n, char *err, size_t errlen) WUR;
/* What commit found at the blob's place. */
enum blob_found {
	BLOB_NEW,      /* nothing: the new copy was placed */
	BLOB_EXISTED,  /* the same bytes: the new copy was discarded */
	BLOB_RESTORED, /* a damaged copy (other bytes, or unreadable): the new
			* copy took its place and it was kept aside */
};
struct blob_placed {
	enum blob_found found;
	/* BLOB_RESTORED only: what the damaged copy was and where it went */
	uint64_t damaged_size;
	char damaged_sha256[SHA256_HEX_LEN + 1]; /* "" when it could not be read */
	char damaged_why[160];                   /* "its bytes differ", "cannot be read: ..." */
	char kept_as[160];                       /* "blobs/damaged/<hex>-<time>", in the store */
};
/* Gives the copy up as a full disk does: the rest is only hashed, and
 * commit takes only the same bytes whole in the store already. For a
 * caller keeping the disk's last room for something else. */
void store_blob_hash_only(struct blob_writer *w);
/* Finishes: hex gets the SHA-256, *size the byte count, *how (may be
 * NULL) what was at the blob's place. A copy already there is hashed
 * again: one whose bytes no longer match its name (bit rot, a disk
 * fault, tampering) is replaced by the verified new copy, and kept under
 * blobs/damaged/ for examination. The writer is freed either way. */
int store_blob_commit(struct blob_writer *w, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		      struct blob_placed *how, char *err, size_t errlen) WUR;
void store_blob_abort(struct blob_writer *w);
/*
 * A restore keeps the damaged copy and places the new one before its
 * custody event is committed, so a process stopped in between, or a store
 * that stayed busy, left an original replaced with no event. The kept
 * copy says it happened: store_record_kept records a "restore" event
 * (detail.recorded_late says why it is late) for each copy under
 * blobs/damaged/ whose original's place now holds another file and that
 * no restore event names (detail.kept_as), inside the write transaction,
 * so two processes record it once. store_open does it when it opens for
 * writing; a failure there is only logged. One opendir when
 * blobs/damaged/ is missing or empty. *recorded (may be NULL) gets how
 * many. 0, or an error with err set (the events before it are recorded).
 */
int store_record_kept(struct store *s, const char *actor, int *recorded, char *err,
		      size_t errlen) WUR;
/* Calls report (may be NULL) for each copy store_record_kept would record
 * an event for, and returns how many, or a negative error. Writes nothing. */
int store_kept_unrecorded(struct store *s,
			  void (*report)(void *ctx, const char *kept_as, const char *sha256_hex),
			  void *ctx, char *err, size_t errlen) WUR;
/* Bytes written so far. */
uint64_t store_blob_size(const struct blob_writer *w);

/* Places a whole in-memory buffer as a blob (the same durable steps). */
int store_blob_put(struct store *s, const void *p, size_t n, char hex[SHA256_HEX_LEN + 1],
		   char *err, size_t errlen) WUR;

/* Key/value settings kept in the store (table meta). get returns a
 * malloc'd string or NULL. */
char *store_meta_get(struct store *s, const char *key);
int store_meta_set(struct store *s, const char *key, const char *value, char *err,
		   size_t errlen) WUR;

/* SQL: the bundle row b names as previous a bundle this store does not
 * hold (docs/sync.md, "A bundle missing from the target") */
#define STORE_SQL_PREVIOUS_UNHELD \
	"NOT EXISTS (SELECT 1 FROM bundles p WHERE p.bundle_id = b.previous)"

/* Case lookup by the number as users write it. Returns the row id, 0 if
 * there is no such case, or a negative error. */
int64_t store_case_id(struct store *s, const char *number);

/* The cases whose number is written like `number` but is not it: the two
 * are the same once utf8_width_fold has folded both (ＸＸ检〔２０２４〕３号
 * and XX检〔2024〕3号). Returns how many (0: none; negative: a database
 * error) and, when first is not NULL and there is one, the number of the
 * one opened first in *first (malloc'd; the caller frees it). */
int store_case_like(struct store *s, const char *number, char **first);

/* The stable ASCII key of a case number ([a-z0-9._-]), used in bundle
 * paths: a readable slug of the ASCII part plus a hash of the exact
 * number, e.g. "2023-15-3f9a1c2e7b4d5a60". out needs 64 bytes. */
void store_case_key(const char *number, char out[64]);

/* The schema version this build writes. */
int store_schema_version(void);

#endif
