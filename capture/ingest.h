/*
 * Ingest: every regular file under the given paths becomes an item. A file
 * is copied into the store while it is hashed (one pass over the source),
 * the copy is read back and compared, its metadata is read from the copy,
 * and the item, where it was seen and a custody event are committed in one
 * transaction. The source is never written to. Symbolic links, FIFOs,
 * devices and sockets are never followed or opened; each is named.
 */
#ifndef EVCAP_INGEST_H
#define EVCAP_INGEST_H

#include <signal.h>
#include <stdint.h>

#include "store.h"

struct ingest_opts {
	int64_t case_id;          /* 0: no case */
	const char *case_number;  /* NULL when case_id is 0 */
	int64_t site_id;          /* 0: none given */
	const char *operators_json; /* JSON array text, or NULL */
	const char *actor;        /* who runs it, for the custody log */
	int has_declared_offset;  /* --time-offset or the case's offset */
	int declared_offset_s;
	const char *medium_uuid;  /* filesystem UUID of the card, or NULL */
	const char *medium_label;
	const char *source_device;  /* host name of this machine */
	/* When non-NULL and set, stop after the current file. */
	volatile sig_atomic_t *stop;
	/* Print one line a file (verbose) and a progress line on a terminal. */
	int verbose;
	int progress;
	/* Set by evcapd, which tries a file not recorded again by itself; the
	 * messages then say so instead of asking for another run. */
	int retries;
	/* When set, called after each chunk a file is read in (a few MiB;
	 * from the thread that reads it): evcapd tells systemd's watchdog it
	 * is alive while a large file comes off a slow card. */
	void (*keepalive)(void *arg);
	void *keepalive_arg;
};

struct ingest_stats {
	uint64_t files;     /* regular files considered */
	uint64_t added;     /* new items */
	uint64_t already;   /* bytes already in the store */
	uint64_t restored;  /* of those, a damaged stored copy replaced */
	uint64_t skipped;   /* not regular files: links, FIFOs, devices; the store */
	uint64_t failed;    /* could not be read or stored (files and folders) */
	uint64_t no_room;   /* of those, files the store's disk had no room for */
	uint64_t meta_errors; /* kept, with metadata_error */
	uint64_t not_taken; /* found but never read: stopped by a signal, or past the file limit */
	uint64_t bytes;     /* bytes read */
};

/* In the store: space ingest keeps on the store's disk for recording what
 * it placed. Once the originals have filled the disk, the database needs
 * room to record them too; this file is given up then, and made again
 * when there is room (fs_reserve_make). */
#define INGEST_RESERVE ".ingest-reserve"
#define INGEST_RESERVE_BYTES (256 * 1024)

/* Room for a message about one file: its path shown (up to PATH_MAX bytes,
 * each byte at most four characters once escaped) and the reason. */
#define INGEST_MSG_MAX (4 * 4096 + 1024)

/* What happened to one file, for reports. */
enum ingest_result { INGEST_ADDED, INGEST_ALREADY, INGEST_SKIPPED, INGEST_FAILED };

/*
 * Ingests one file given by path. On INGEST_FAILED or INGEST_SKIPPED, msg
 * says why, naming the file; on success sha_out (if non-NULL) receives the
 * item's SHA-256. Never modifies the source.
 */
enum ingest_result ingest_file(struct store *s, const char *path, const struct ingest_opts *o,
			       struct ingest_stats *st, char sha_out[65], char *msg,
			       size_t msglen);

/*
 * Walks each path (file or directory; a symbolic link given as a path is
 * followed, one met inside the walk is not; depth at most 64) and ingests
 * every regular file, reporting each skipped or failed path on stderr.
 * The store's own folder is never walked (its key and database are not
 * evidence). It keeps INGEST_RESERVE in the store, given up when the
 * store's disk is full so that the originals placed are recorded; the
 * files that could not be stored, or recorded, for want of room are each
 * named, and counted in failed and no_room. An original already whole in
 * the store is taken as it is when there is no room for another copy.
 * Returns 0 when every regular file was recorded, 1 when any
 * path given does not exist, any file or folder could not be read or
 * recorded (the others are still taken), or files found were left
 * untaken (o->stop set, or more than the limit of files in one run).
 */
int ingest_paths(struct store *s, char *const *paths, int n, const struct ingest_opts *o,
		 struct ingest_stats *st);

/* Starts the process that parses metadata (it is otherwise started with
 * the first file). A program that runs threads of its own calls this
 * before starting them: the process is forked, and a fork copies only the
 * calling thread, with any lock another thread held at that moment. */
void ingest_parser_start(void);

/* Writes a path for messages and records: bytes that are not valid UTF-8,
 * and control characters (C0, DEL, and the C1 U+0080 to U+009F as their
 * two bytes), are shown as \xNN, a backslash as two. Returns a malloc'd
 * string. */
char *ingest_display_path(const char *path);

/* The n bytes at s (a NUL among them too) shown as ingest_display_path
 * shows a path, into out, cut to outlen bytes with its NUL before a
 * character or an escape that would not fit. For text taken from a file
 * or a command line that a message quotes: a sensor file's value, a
 * device path, a track's name. Returns out. */
const char *ingest_display_text(const char *s, size_t n, char *out, size_t outlen);

/* A message that begins with path as given (fs_read_file's do) is made to
 * begin with it as ingest_display_path shows it; any other is left as it
 * is. msg holds at most len bytes with its NUL. */
void ingest_display_msg(char *msg, size_t len, const char *path);

#endif
