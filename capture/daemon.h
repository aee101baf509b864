/*
 * evcapd, the capture daemon: one poll() loop over inotify (the watched
 * roots and every folder under them), the mount table, the gpsd socket, a
 * signalfd and a timerfd. Files are taken once complete (see
 * daemon_settle.h) and recorded with ingest_file(); fixes from gpsd are
 * stored in batches; new items are placed on the track after each burst.
 *
 * At start, and whenever the mount table changes or inotify overflows,
 * every root is rescanned; a small table (capture_seen) remembers which
 * path with which size and mtime was already recorded, so a restart does
 * not hash a card again, and items being unique on SHA-256 means nothing
 * is ever recorded twice.
 *
 * Water-quality probes on serial lines (--sensor, [capture] sensor) are
 * read in the same loop through sensorline.h; their lines are recorded
 * as readings in short batches, each batch one transaction.
 */
#ifndef EVCAP_DAEMON_H
#define EVCAP_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "util.h"

#define DAEMON_DEFAULT_CONFIG "/etc/evcap/evcap.conf"
#define DAEMON_DEFAULT_STORE "/var/lib/evcap"
#define DAEMON_DEFAULT_GPS "127.0.0.1:2947"
/* Folders nested deeper than this under a root are not watched. */
#define DAEMON_MAX_DEPTH 64
/* In the store: the last burst of files taken, as JSON. */
#define DAEMON_BURST_FILE "last-burst.json"
/* In the store: every burst's summary, the same JSON one a line, appended
 * as each ends (what `evcap notify` reads, so that two cards ending at once
 * are both told); past DAEMON_BURST_LOG_MAX bytes it is renamed to
 * DAEMON_BURST_LOG ".1" (the one before dropped) and begun again. */
#define DAEMON_BURST_LOG "bursts.jsonl"
#define DAEMON_BURST_LOG_MAX (256 * 1024)
/* Space on the store's disk that evcapd keeps for those summaries: the
 * one saying files could not be recorded because the disk is full is the
 * one most needed, and it needs blocks too. A file of this size in the
 * store, given up (removed) when a summary cannot be written otherwise,
 * and made again when there is room. */
#define DAEMON_RESERVE ".evcapd-reserve"
#define DAEMON_RESERVE_BYTES (64 * 1024)

/* The command line; strings point into argv. */
struct daemon_opts {
	const char *config_path; /* NULL: DAEMON_DEFAULT_CONFIG, absent = defaults */
	int foreground;
	const char *store;       /* NULL: $EVCAP_STORE, the config, the default */
	const char *watch[CONFIG_MAX_LIST];
	size_t n_watch;          /* > 0 replaces the config's roots */
	const char *gps;         /* NULL: the config, else DAEMON_DEFAULT_GPS; "" none */
	const char *sensor[CONFIG_MAX_LIST]; /* DEVICE:BAUD:FORMAT[:PROFILE] */
	size_t n_sensor;         /* > 0 replaces the config's sensors */
	int verbosity;           /* -q -1, default 0, -v 1 */
	int help, version;
};

/* Parses evcapd's arguments. 0, or EV_EINVAL with err naming the problem
 * (a --sensor spec is checked for its form here; its profile is looked
 * up by daemon_open). */
int daemon_parse_args(int argc, char **argv, struct daemon_opts *o, char *err,
		      size_t errlen) WUR;

/* The usage text for --help (a usage error names its problem alone). */
const char *daemon_usage(void);

/*
 * Takes the one-daemon-per-store lock: flock() on DIR/evcapd.lock, which
 * then holds this process's pid. On success *fd is the locked file (close
 * it to release). EV_EEXIST with "another evcapd (pid N) is running on
 * DIR" when another process holds it; EV_EIO for other failures.
 */
int daemon_lock_store(const char *dir, int *fd, char *err, size_t errlen) WUR;

/*
 * The capture_seen table: (path as displayed, medium UUID or "") ->
 * (size, mtime and ctime in ns) of a file already recorded.
 * daemon_seen_matches returns 1 when the path was recorded with exactly
 * this size, mtime and ctime, 0 when not (or on a database error, or for
 * a row of before ctime was kept: then the file is simply hashed again).
 * Size and mtime alone took another card's file of the same name, size
 * and camera time (a clock never set, a raw format of fixed size), copied
 * to the same path with its mtime, for the one recorded; its ctime, which
 * a copy cannot set, differs. On a FAT or exFAT card ctime is the creation
 * time the camera wrote, as fixed as the mtime. daemon_seen_record stores
 * or replaces the row.
 */
int daemon_seen_matches(struct store *s, const char *shown_path, const char *medium_uuid,
			uint64_t size, int64_t mtime_ns, int64_t ctime_ns);
int daemon_seen_record(struct store *s, const char *shown_path, const char *medium_uuid,
		       uint64_t size, int64_t mtime_ns, int64_t ctime_ns, const char *sha256,
		       char *err, size_t errlen) WUR;

/* 1 if the file or folder name is one evcapd leaves alone: names that
 * start with '.' (editors' and copy tools' temporaries, AppleDouble and
 * trash folders that some systems put on cards). */
int daemon_name_ignored(const char *name);


/* 1 if a is b or lies under b (both absolute, normalised). */
int daemon_path_within(const char *a, const char *b);

/*
 * The store evcapd uses: --store, else $EVCAP_STORE, else the config's
 * [store] path (config_path names the file in a message), else
 * DAEMON_DEFAULT_STORE. A relative --store or $EVCAP_STORE is taken
 * against the current folder, as any command takes a relative path; a
 * relative [store] path is refused, as a relative watch folder is,
 * since what it is relative to is not clear. *out is the absolute path
 * (malloc'd; evcapd leaves its folder for / when it detaches). 0, or
 * EV_EINVAL or EV_EIO with the reason.
 */
int daemon_store_path(const struct daemon_opts *o, const struct config *c,
		      const char *config_path, char **out, char *err, size_t errlen) WUR;

/* A watched folder as evcapd takes it: absolute, and neither holding the
 * store nor inside it. 0, or EV_EINVAL with the reason. */
int daemon_watch_check(const char *store_dir, const char *watch, char *err, size_t errlen);

/* A sensor spec as evcapd takes it: its form, an absolute device, and its
 * profile, found and valid (a profile named must exist; an SDI-12 probe
 * needs one). Fills *sp, and *prof with *has_profile set when there is
 * one; *profile_path (if given) gets the profile's file (malloc'd) on
 * success. 0, or an error with the reason. */
struct sensorline_spec;
struct sensor_profile;
int daemon_sensor_check(const char *spec, struct sensorline_spec *sp,
			struct sensor_profile *prof, int *has_profile, char **profile_path, char *err,
			size_t errlen);

struct daemon;

/*
 * Reads the config (config errors name file:line), resolves the store,
 * roots, gpsd and sensors (a sensor's spec and profile must be good) from
 * the options and the config, takes the store lock and opens (creating
 * if needed) the store. Sensor devices are opened by daemon_run. On failure *out is NULL, err
 * says why, and the result is EV_EEXIST for a held lock, else another
 * negative code; main exits 2 either way.
 */
int daemon_open(const struct daemon_opts *o, struct daemon **out, char *err, size_t errlen) WUR;

/* Runs the loop until SIGTERM or SIGINT (the file being read is finished
 * first, and sensor lines already received are recorded). Returns the
 * exit status: 0 after a clean stop, 1 on a fatal error (logged). */
int daemon_run(struct daemon *d) WUR;

void daemon_free(struct daemon *d);

#endif
