/*
 * evcapd's loop and what it drives. Everything happens on one thread but
 * the reading of serial probes, which a pump thread (sensorpump.h) times
 * as lines arrive and queues for this loop to record:
 * events only note paths (in the settling list); the timer checks which
 * noted files are complete; complete files are taken one at a time, with
 * a return to poll() between files so a signal is seen after the file
 * being read. Nothing here busy-waits: poll() sleeps until a descriptor
 * or the one timerfd, armed for the earliest deadline, wakes it.
 */
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

#include "dynlib.h"
#endif

#include "buf.h"
#include "daemon_settle.h"
#include "fsutil.h"
#include "geotag.h"
#include "gpsclient.h"
#include "ingest.h"
#include "log.h"
#include "medium.h"
#include "sensor.h"
#include "sensorline.h"
#include "sensorpump.h"
#include "sensorspool.h"
#include "timeutil.h"

#define WATCH_MASK                                                                          \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE |   \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
#define INOTIFY_BUF 65536
#define DUE_BATCH 256             /* settling entries checked per pass */
#define RESCAN_SECONDS 900.0      /* a full rescan even when nothing says so */
#define ROOT_RETRY_SECONDS 5.0    /* a missing root is looked for again */
#define MOUNT_SETTLE_SECONDS 0.2  /* mount changes come in bursts */
#define BURST_IDLE_SECONDS 3.0    /* a burst ends after this long with nothing taken */
#define INGEST_SLICE_SECONDS 0.2  /* files taken before looking at poll() again */
#define FIX_BATCH_N 64
#define FIX_BATCH_AGE 2.0
#define MEDIUM_CACHE 16
/* Fixes that stop for this long are news: the photos taken meanwhile
 * cannot be placed from the track (a receiver unplugged, or no sky). A
 * receiver starting cold gets longer for its first fix. Tests set a
 * shorter time with $EVCAP_GPS_SILENT_SECONDS. */
#define GPS_SILENT_SECONDS 30.0
#define GPS_FIRST_FIX_SECONDS 120.0
/* The wall clock moving against the monotonic one by more than this (plus
 * what slewing can do meanwhile, 0.1 %) was set, not slewed. */
#define CLOCK_STEP_SECONDS 2.0
#define ACTOR "evcapd"
/* Sensor lines are recorded together, one transaction and one custody
 * event a batch: a probe answering every second would otherwise add a
 * custody event a second all day. A batch is recorded at this many lines
 * or this age, whichever comes first, and whenever the probe goes away. */
#define PROBE_BATCH_LINES 64
#define PROBE_BATCH_AGE 2.0
/* Lines held in memory while the store refuses them (locked, disk full)
 * or the loop is busy; past this, lines wait in the probe's journal alone
 * and are read back from it once the store takes lines again. Tests set
 * a smaller number with $EVCAP_PROBE_PENDING_MAX. */
#define PROBE_PENDING_MAX 4096
static int probe_pending_max = PROBE_PENDING_MAX;
#define PROBE_PROBLEM_QUIET 60.0  /* seconds between warnings of unreadable lines */

/* ---------------------------------------------------------------- options */

const char *daemon_usage(void)
{
	return "usage: evcapd [--config FILE] [--foreground] [--store DIR] [--watch DIR]...\n"
	       "              [--gps HOST:PORT] [--sensor DEVICE:BAUD:FORMAT[:PROFILE]]... [-q|-v]\n"
	       "       evcapd --check-config [--config FILE] [OPTIONS]\n"
	       "       evcapd --version\n\n"
	       "The evcap capture daemon: records every file that appears under the watched\n"
	       "folders (cards and drives mounted there included) into the evidence store,\n"
	       "logs GPS fixes from gpsd, and records the readings of probes on serial lines.\n\n"
	       "options:\n"
	       "  --config FILE    the config file (default " DAEMON_DEFAULT_CONFIG
	       "; a missing\n"
	       "                   default file means the built-in defaults)\n"
	       "  --foreground     stay in the foreground (as under systemd)\n"
	       "  --store DIR      the evidence store (else $EVCAP_STORE, the config's [store]\n"
	       "                   path, or " DAEMON_DEFAULT_STORE ")\n"
	       "  --watch DIR      a folder to watch, with everything under it (repeat; replaces\n"
	       "                   the config's [capture] watch lines)\n"
	       "  --gps HOST:PORT  gpsd to log fixes from (else the config's [gps] server, or\n"
	       "                   " DAEMON_DEFAULT_GPS "); an empty value turns GPS logging off\n"
	       "  --sensor DEVICE:BAUD:FORMAT[:PROFILE]\n"
	       "                   a water-quality probe to read (repeat; replaces the config's\n"
	       "                   [capture] sensor lines): FORMAT sdi12 or csv, PROFILE an\n"
	       "                   instrument profile name (needed for sdi12), e.g.\n"
	       "                   /dev/ttyUSB0:9600:sdi12:generic-tdp\n"
	       "  -q, -v           quieter, more verbose\n"
	       "  --version        print the version\n\n"
	       "Signals: SIGTERM or SIGINT finish the file being read and exit 0; SIGHUP\n"
	       "re-reads the config. Exit status: 0 clean stop, 1 fatal error, 2 usage or\n"
	       "configuration error, or another evcapd already runs on the store.\n";
}

/*
 * getopt_long has just returned '?' on argv: says which option and what is
 * wrong with it, as evcap does (cli_bad_option). getopt leaves a refused
 * long option at argv[optind - 1] and a short one's letter in optopt;
 * optopt is 0 for an unknown long option, and the option's value for a
 * known one without its value (at the end) or with one it does not take.
 */
static int bad_option(int argc, char **argv, char *err, size_t errlen)
{
	int i = optind - 1;
	const char *a = i >= 1 && i < argc ? argv[i] : NULL;
	char shown[256];
	if (a && strncmp(a, "--", 2) == 0 && a[2] &&
	    (optopt == 0 || i == argc - 1 || strchr(a, '='))) {
		const char *eq = strchr(a, '=');
		ingest_display_text(a, eq ? (size_t)(eq - a) : strlen(a), shown, sizeof shown);
		if (optopt == 0)
			return err_set(err, errlen, EV_EINVAL, "unknown option '%s'", shown);
		if (eq)
			return err_set(err, errlen, EV_EINVAL, "%s takes no value", shown);
		return err_set(err, errlen, EV_EINVAL, "%s needs a value", shown);
	}
	if (optopt > 0x20 && optopt < 0x7f)
		return err_set(err, errlen, EV_EINVAL, "unknown option '-%c'", optopt);
	return err_set(err, errlen, EV_EINVAL, "unknown option");
}

int daemon_parse_args(int argc, char **argv, struct daemon_opts *o, char *err, size_t errlen)
{
	char shown[256];
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"store", required_argument, NULL, 's'},
		{"watch", required_argument, NULL, 'w'},
		{"gps", required_argument, NULL, 'g'},
		{"sensor", required_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0}};
	int c;
	memset(o, 0, sizeof *o);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fqvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; break;
		case 'f': o->foreground = 1; break;
		case 's': o->store = optarg; break;
		case 'w':
			if (o->n_watch >= CONFIG_MAX_LIST)
				return err_set(err, errlen, EV_EINVAL, "more than %d --watch folders",
					       CONFIG_MAX_LIST);
			if (optarg[0] != '/')
				return err_set(err, errlen, EV_EINVAL,
					       "--watch needs an absolute path, not '%s'",
					       ingest_display_text(optarg, strlen(optarg), shown,
								   sizeof shown));
			o->watch[o->n_watch++] = optarg;
			break;
		case 'g': o->gps = optarg; break;
		case 'S': {
			struct sensorline_spec sp;
			if (o->n_sensor >= CONFIG_MAX_LIST)
				return err_set(err, errlen, EV_EINVAL, "more than %d --sensor probes",
					       CONFIG_MAX_LIST);
			if (sensorline_spec_parse(optarg, &sp, err, errlen))
				return EV_EINVAL;
			if (sp.device[0] != '/') {
				return err_set(err, errlen, EV_EINVAL,
					       "--sensor needs an absolute device path, not '%s'",
					       ingest_display_text(sp.device, strlen(sp.device), shown,
								   sizeof shown));
			}
			o->sensor[o->n_sensor++] = optarg;
			break;
		}
		case 'q': o->verbosity = -1; break;
		case 'v': o->verbosity = 1; break;
		case 'h': o->help = 1; break;
		case 'V': o->version = 1; break;
		default: return bad_option(argc, argv, err, errlen);
		}
	}
	if (optind < argc)
		return err_set(err, errlen, EV_EINVAL, "unexpected argument '%s'",
			       ingest_display_text(argv[optind], strlen(argv[optind]), shown,
						   sizeof shown));
	if (o->store && !*o->store)
		return err_set(err, errlen, EV_EINVAL, "--store needs a folder");
	if (o->gps && *o->gps) {
		char host[256], port[8];
		if (config_split_hostport(o->gps, host, port))
			return err_set(err, errlen, EV_EINVAL, "--gps must be HOST:PORT, not '%s'",
				       ingest_display_text(o->gps, strlen(o->gps), shown,
							   sizeof shown));
	}
	return 0;
}

/* ------------------------------------------------------------ small pieces */

int daemon_lock_store(const char *dir, int *fd, char *err, size_t errlen)
{
	int rc = 0;
	char *path = xasprintf("%s/evcapd.lock", dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char pid[32] = "";
		ssize_t r = pread(*fd, pid, sizeof pid - 1, 0);
		pid[r > 0 ? r : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			rc = err_set(err, errlen, EV_EEXIST, "another evcapd (pid %s) is running on %s",
				     *pid ? pid : "unknown", dir);
		else
			rc = err_set(err, errlen, EV_EIO, "%s: cannot lock: %s", path, strerror(e));
		goto out;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(*fd, 0) < 0 || pwrite(*fd, pid, (size_t)n, 0) != n)
		log_warn("%s: cannot write the pid", path);
out:
	free(path);
	return rc;
}

int daemon_seen_matches(struct store *s, const char *shown_path, const char *medium_uuid,
			uint64_t size, int64_t mtime_ns, int64_t ctime_ns)
{
	sqlite3_stmt *st = store_prepare(
		s, "SELECT size, mtime_ns, ctime_ns FROM capture_seen WHERE path = ? AND medium_uuid = ?",
		NULL, 0);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, shown_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, medium_uuid ? medium_uuid : "", -1, SQLITE_STATIC);
	int r = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		r = (uint64_t)sqlite3_column_int64(st, 0) == size &&
		    sqlite3_column_int64(st, 1) == mtime_ns &&
		    sqlite3_column_type(st, 2) == SQLITE_INTEGER &&
		    sqlite3_column_int64(st, 2) == ctime_ns;
	sqlite3_finalize(st);
	return r;
}

int daemon_seen_record(struct store *s, const char *shown_path, const char *medium_uuid,
		       uint64_t size, int64_t mtime_ns, int64_t ctime_ns, const char *sha256,
		       char *err, size_t errlen)
{
	char now[32];
	time_format_iso(time_now(), now);
	sqlite3_stmt *st = store_prepare(
		s,
		"INSERT OR REPLACE INTO capture_seen(path, medium_uuid, size, mtime_ns, sha256,"
		" seen_at, ctime_ns) VALUES (?,?,?,?,?,?,?)",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, shown_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, medium_uuid ? medium_uuid : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 4, mtime_ns);
	sqlite3_bind_text(st, 5, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, ctime_ns);
	int rc = 0;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "%s: cannot note it as recorded: %s", shown_path,
			     sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	return rc;
}

/* The log's words for a store that refused a write: who holds it, when
 * the refusal was the store being busy and that can be told; what to do,
 * when its disk is full (what waits is tried again, so nothing is lost
 * if room is made). */
static const char *busy_note(const char *store_dir, const char *msg, char *note,
			     size_t notelen)
{
	char who[200];
	struct statvfs vfs;
	note[0] = '\0';
	if (strstr(msg, sqlite3_errstr(SQLITE_BUSY)) &&
	    store_db_holder(store_dir, who, sizeof who)) {
		snprintf(note, notelen, "; the store is held by %s", who);
	} else if (strstr(msg, strerror(ENOSPC)) || strstr(msg, sqlite3_errstr(SQLITE_FULL))) {
		char left[48] = "no room";
		if (statvfs(store_dir, &vfs) == 0) {
			char b[32];
			human_bytes((uint64_t)vfs.f_bavail * vfs.f_frsize, b);
			snprintf(left, sizeof left, "%s free", b);
		}
		snprintf(note, notelen,
			 "; the store's disk (%s) is full, %s: make room there, and what waits "
			 "is recorded",
			 store_dir, left);
	}
	return note;
}

int daemon_name_ignored(const char *name)
{
	return name[0] == '.';
}

int daemon_path_within(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (strcmp(b, "/") == 0)
		return 1;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* The earlier of two deadlines, where < 0 means none. */
static double min_deadline(double a, double b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

#ifdef HAVE_SYSTEMD
/* libsystemd (and libgcrypt, liblzma, libzstd, liblz4 and libcap with it)
 * is opened only when systemd runs evcapd, that is when it set
 * NOTIFY_SOCKET: run by hand or by a test, evcapd has nothing to tell it. */
#ifndef EVCAP_SONAME_SYSTEMD
#define EVCAP_SONAME_SYSTEMD "libsystemd.so.0"
#endif
#define SD_FNS(X) X(notify) X(notifyf) X(watchdog_enabled)
#define SD_PTR(f) DYNLIB_PTR(sd_, f)
static struct {
	SD_FNS(SD_PTR)
} sd;
#define SD_SYM(f) DYNLIB_SYM(sd, sd_, f)
static const struct dynlib_sym sd_syms[] = {SD_FNS(SD_SYM)};
static struct dynlib sd_lib =
	DYNLIB_INIT(EVCAP_SONAME_SYSTEMD, "to report to systemd (NOTIFY_SOCKET)", sd_syms);

/* Whether systemd's functions can be called: under systemd, once loaded.
 * A library that cannot be loaded is said once (only the main loop's
 * thread calls this). */
static int sd_ready(void)
{
	static int said;
	char err[320];
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	if (dynlib_load(&sd_lib, err, sizeof err) == 0)
		return 1;
	if (!said++)
		log_warnx("%s; systemd will not hear that evcapd is ready", err);
	return 0;
}
#endif

static void notify(const char *what)
{
#ifdef HAVE_SYSTEMD
	if (sd_ready())
		sd.notify(0, what);
#else
	(void)what;
#endif
}

/* ---------------------------------------------------------------- state */

struct watch {
	struct watch *next;
	int wd;
	int depth;
	char *path;
};

struct medium_slot {
	dev_t dev;
	struct medium m;
};

/* A list of strings, each owned; lookups are linear (it holds the few
 * media mounted, or the few files that could not be read). */
struct strlist {
	char **v;
	size_t n, cap;
};

static ssize_t strlist_find(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return (ssize_t)i;
	return -1;
}

static void strlist_add(struct strlist *l, const char *s)
{
	if (strlist_find(l, s) >= 0)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = xstrdup(s);
}

static void strlist_drop_at(struct strlist *l, size_t i)
{
	free(l->v[i]);
	l->v[i] = l->v[--l->n];
}

/* Drops s (under=0), or every path at or under the folder s (under=1). */
static void strlist_drop(struct strlist *l, const char *s, int under)
{
	for (size_t i = l->n; i-- > 0;)
		if (under ? daemon_path_within(l->v[i], s) : strcmp(l->v[i], s) == 0)
			strlist_drop_at(l, i);
}

static void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/*
 * The files taken from one medium since its last summary. A card (a
 * filesystem mounted at or under a watched folder) is known by its UUID,
 * else by its mount point; files on other filesystems share the burst of
 * key "". Invariant: failed holds the paths that failed in this burst and
 * have not been recorded since, none of them in the daemon's `reported`;
 * unread holds the folders and entries a scan could not read in this
 * burst, none of them in the daemon's `unread_said`.
 */
struct burst {
	char *key;
	int card;
	char uuid[MEDIUM_UUID_MAX], label[MEDIUM_LABEL_MAX];
	char *mount;          /* a card's mount point; "" for the rest */
	struct ingest_stats st;
	struct strlist failed;
	struct strlist unread;
	double last_taken;
};

struct probe;

struct daemon {
	/* what the command line said, kept for reloads */
	char *config_path;
	int config_explicit;
	int config_absent; /* no file at the default path: the defaults */
	int store_given; /* --store or $EVCAP_STORE named the store, not the config */
	char *opt_watch[CONFIG_MAX_LIST];
	size_t opt_n_watch;
	char *opt_gps; /* NULL: from config */
	char *opt_sensor[CONFIG_MAX_LIST];
	size_t opt_n_sensor;
	int foreground;

	struct config cfg;
	char *store_dir;
	struct store *store;
	int lock_fd;

	char *roots[CONFIG_MAX_LIST];
	int root_ok[CONFIG_MAX_LIST];
	size_t n_roots;
	double next_root_retry;

	int ifd, sfd, tfd, mfd;
	struct watch *wtab[256];
	size_t n_watches;
	int watch_limit_logged;

	struct settle *settle;
	char **ready;
	size_t ready_head, ready_n, ready_cap;

	struct medium_slot media[MEDIUM_CACHE];
	size_t n_media;

	char *gps_server;
	struct gpsclient *gps;
	struct geotag_batch *fixes;
	uint64_t fixes_logged;
	uint64_t fixes_lost;         /* not kept: too many held while the store refused them */
	double gps_quiet_until;  /* connect failures logged at debug until then */
	double gps_silent_s;     /* GPS_SILENT_SECONDS, or the test's */
	double gps_last_fix;     /* monotonic time of the last fix, or of the start */
	double gps_last_fix_t;   /* its time (UTC seconds); 0 before the first */
	uint64_t gps_tpv_at_fix; /* gpsd's reports counted then */
	int gps_silent;          /* the silence was logged; the next fix says it ended */

	/* live probes: those running, and those the settings ask for (made by
	 * apply_settings, taken over by probes_sync) */
	struct probe *probes[CONFIG_MAX_LIST];
	size_t n_probes;
	struct probe *planned[CONFIG_MAX_LIST];
	size_t n_planned;
	struct sensorpump *pump; /* reads the probes' lines while it runs; NULL: the loop does */
	int64_t probe_case_id;   /* the case sensor readings last went to; -1 unknown */

	/* the bursts of files in progress, one a medium, each ending in its
	 * own summary line */
	struct burst **bursts;
	size_t n_bursts;
	/* paths a summary named as not recorded: not counted again until
	 * recorded, or until their card comes again */
	struct strlist reported;
	/* folders and entries a summary counted as not read: not counted
	 * again until they are read, or until their card comes again */
	struct strlist unread_said;
	/* cards (burst keys) met by the last full scan, and by the one under
	 * way: a card not met last time has just come, and its files already
	 * recorded are counted in its summary */
	struct strlist present, scan_present;
	int scanning;
	/* media (UUIDs) whose "mounted at" line is logged: once while they stay */
	struct strlist announced;

	double rescan_at;      /* < 0: none pending */
	double next_full_rescan;
	uint64_t watchdog_usec;
	double next_watchdog;
	double clock_off;        /* wall minus monotonic time at the last look */
	double clock_looked;     /* monotonic time of that look; 0: none yet */
	int stop, reload;
	char host[256];
};

/* A batch of fixes the store refused: they stay held and are tried again. */
static void log_gps_refused(struct daemon *d, const char *err)
{
	char note[256];
	log_warnx("storing GPS fixes: %s%s", err, busy_note(d->store_dir, err, note, sizeof note));
}

/* ------------------------------------------------------------ watches */

static struct watch **watch_slot(struct daemon *d, int wd)
{
	struct watch **pp = &d->wtab[(unsigned)wd % ARRAY_LEN(d->wtab)];
	while (*pp && (*pp)->wd != wd)
		pp = &(*pp)->next;
	return pp;
}

static struct watch *watch_get(struct daemon *d, int wd)
{
	return *watch_slot(d, wd);
}

static void watch_drop(struct daemon *d, int wd)
{
	struct watch **pp = watch_slot(d, wd);
	struct watch *w = *pp;
	if (!w)
		return;
	*pp = w->next;
	free(w->path);
	free(w);
	d->n_watches--;
}

static void watch_clear(struct daemon *d)
{
	for (size_t i = 0; i < ARRAY_LEN(d->wtab); i++) {
		struct watch *w = d->wtab[i], *nx;
		for (; w; w = nx) {
			nx = w->next;
			free(w->path);
			free(w);
		}
		d->wtab[i] = NULL;
	}
	d->n_watches = 0;
}

/* Stops watching a folder that was moved away and everything under it
 * (their recorded paths are no longer true). */
static void watch_forget_tree(struct daemon *d, const char *path)
{
	for (size_t i = 0; i < ARRAY_LEN(d->wtab); i++) {
		struct watch **pp = &d->wtab[i];
		while (*pp) {
			struct watch *w = *pp;
			if (daemon_path_within(w->path, path)) {
				inotify_rm_watch(d->ifd, w->wd);
				*pp = w->next;
				free(w->path);
				free(w);
				d->n_watches--;
			} else {
				pp = &w->next;
			}
		}
	}
}

static void watch_add(struct daemon *d, const char *path, int depth)
{
	int wd = inotify_add_watch(d->ifd, path, WATCH_MASK);
	if (wd < 0) {
		int e = errno;
		char *shown = ingest_display_path(path);
		if (e == ENOSPC && !d->watch_limit_logged) {
			log_warnx("%s: the system's inotify watch limit is reached "
				  "(fs.inotify.max_user_watches); folders beyond it are found by the "
				  "rescan every %.0f minutes",
				  shown, RESCAN_SECONDS / 60);
			d->watch_limit_logged = 1;
		} else if (e != ENOSPC) {
			log_warnx("%s: cannot watch: %s", shown, strerror(e));
		}
		free(shown);
		return;
	}
	struct watch *w = watch_get(d, wd);
	if (w) {
		/* the same folder seen again (a rescan): keep the newest path */
		free(w->path);
		w->path = xstrdup(path);
		w->depth = depth;
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->wd = wd;
	w->depth = depth;
	w->path = xstrdup(path);
	struct watch **pp = watch_slot(d, wd);
	*pp = w;
	d->n_watches++;
}

/* ------------------------------------------------------------- media */

static const struct medium *medium_for(struct daemon *d, const char *path, dev_t dev)
{
	for (size_t i = 0; i < d->n_media; i++)
		if (d->media[i].dev == dev)
			return &d->media[i].m;
	if (d->n_media == MEDIUM_CACHE)
		d->n_media = 0; /* rarely more than a few: start over */
	struct medium_slot *sl = &d->media[d->n_media];
	char err[512];
	if (medium_of_path(path, &sl->m, err, sizeof err)) {
		log_debug("%s", err);
		memset(&sl->m, 0, sizeof sl->m);
	} else if (sl->m.uuid[0] && strlist_find(&d->announced, sl->m.uuid) < 0) {
		/* the cache is emptied at every mount change: a card that stays
		 * is not announced again when another comes or goes */
		strlist_add(&d->announced, sl->m.uuid);
		char *at = ingest_display_path(sl->m.mount_point);
		log_info("medium %s%s%s (%s, %s%s) mounted at %s", sl->m.uuid,
			 sl->m.label[0] ? " label " : "", sl->m.label, sl->m.source, sl->m.fstype,
			 sl->m.read_only ? ", read-only" : "", at);
		free(at);
	}
	sl->dev = dev;
	d->n_media++;
	return &sl->m;
}

/* 1 when the medium is a card: mounted at or under a watched folder. */
static int medium_is_card(const struct daemon *d, const struct medium *m)
{
	if (!m->mount_point[0] || strcmp(m->mount_point, "/") == 0)
		return 0;
	for (size_t i = 0; i < d->n_roots; i++)
		if (daemon_path_within(m->mount_point, d->roots[i]))
			return 1;
	return 0;
}

/* What tells one card from another: its UUID, else its mount point. */
static const char *medium_key(const struct daemon *d, const struct medium *m)
{
	if (!medium_is_card(d, m))
		return "";
	return m->uuid[0] ? m->uuid : m->mount_point;
}

/* The burst of the medium m (made when there is none). */
static struct burst *burst_of(struct daemon *d, const struct medium *m)
{
	const char *key = medium_key(d, m);
	for (size_t i = 0; i < d->n_bursts; i++)
		if (strcmp(d->bursts[i]->key, key) == 0)
			return d->bursts[i];
	struct burst *b = xcalloc(1, sizeof *b);
	b->key = xstrdup(key);
	b->card = key[0] != '\0';
	b->mount = xstrdup(b->card ? m->mount_point : "");
	if (b->card) {
		snprintf(b->uuid, sizeof b->uuid, "%s", m->uuid);
		snprintf(b->label, sizeof b->label, "%s", m->label);
	}
	d->bursts = xrealloc(d->bursts, (d->n_bursts + 1) * sizeof *d->bursts);
	d->bursts[d->n_bursts++] = b;
	return b;
}

/* The burst of a path that can no longer be looked at (its card pulled):
 * the card burst whose mount point holds it, else that of key "". */
static struct burst *burst_of_gone(struct daemon *d, const char *path)
{
	struct burst *best = NULL;
	for (size_t i = 0; i < d->n_bursts; i++) {
		struct burst *b = d->bursts[i];
		if (b->card && daemon_path_within(path, b->mount) &&
		    (!best || strlen(b->mount) > strlen(best->mount)))
			best = b;
	}
	if (!best) {
		struct medium none;
		memset(&none, 0, sizeof none);
		best = burst_of(d, &none);
	}
	return best;
}

static void burst_free(struct burst *b)
{
	if (!b)
		return;
	strlist_clear(&b->failed);
	strlist_clear(&b->unread);
	free(b->key);
	free(b->mount);
	free(b);
}

/* ------------------------------------------------------------- queues */

static void ready_push(struct daemon *d, const char *path)
{
	if (d->ready_head > 0 && d->ready_head == d->ready_n) {
		d->ready_head = d->ready_n = 0;
	}
	if (d->ready_n == d->ready_cap) {
		if (d->ready_head > 0) {
			memmove(d->ready, d->ready + d->ready_head,
				(d->ready_n - d->ready_head) * sizeof *d->ready);
			d->ready_n -= d->ready_head;
			d->ready_head = 0;
		}
		if (d->ready_n == d->ready_cap) {
			d->ready_cap = d->ready_cap ? d->ready_cap * 2 : 64;
			d->ready = xrealloc(d->ready, d->ready_cap * sizeof *d->ready);
		}
	}
	d->ready[d->ready_n++] = xstrdup(path);
}

static char *ready_pop(struct daemon *d)
{
	if (d->ready_head == d->ready_n)
		return NULL;
	return d->ready[d->ready_head++];
}

static size_t ready_count(const struct daemon *d)
{
	return d->ready_n - d->ready_head;
}

/* A debug line about a path (a card's: shown escaped, so that a name
 * holding a newline cannot start a line of its own in the log). */
static void log_debug_path(const char *path, const char *what)
{
	if (log_verbosity() < LOG_LVL_DEBUG)
		return;
	char *shown = ingest_display_path(path);
	log_debug("%s: %s", shown, what);
	free(shown);
}

/* Says that path is not waited for: the settling list is full. */
static void log_too_many(const char *path)
{
	char *shown = ingest_display_path(path);
	log_warnx("%s: too many files waiting (%d); it will be found by a later rescan", shown,
		  SETTLE_MAX_ENTRIES);
	free(shown);
}

/* Notes a path for the settling list after an event. */
static void note_event(struct daemon *d, const char *path, int closed)
{
	if (settle_touch(d->settle, path, closed, time_mono()))
		log_too_many(path);
}

/* -------------------------------------------------------------- scans */

/*
 * Notes, during a full scan, that a card is here. One the last full scan
 * did not meet has just come (or evcapd has just started): the files on
 * it that a summary named as not recorded are counted afresh. Returns 1
 * for such a card.
 */
static int scan_note_card(struct daemon *d, const struct medium *m)
{
	const char *key = medium_key(d, m);
	if (!d->scanning || !key[0])
		return 0;
	if (strlist_find(&d->scan_present, key) < 0) {
		strlist_add(&d->scan_present, key);
		if (strlist_find(&d->present, key) < 0) {
			strlist_drop(&d->reported, m->mount_point, 1);
			strlist_drop(&d->unread_said, m->mount_point, 1);
		}
	}
	return strlist_find(&d->present, key) < 0;
}

/* A regular file found by a scan: listed unless already recorded as is.
 * On a card that has just come, a file recorded before counts in the
 * card's summary as already recorded, so that a card put in again gets
 * its summary line too ("N files, ..., N already recorded"). */
static void scan_file(struct daemon *d, const char *path, const struct stat *st)
{
	const struct medium *m = medium_for(d, path, st->st_dev);
	char *shown = ingest_display_path(path);
	int seen = daemon_seen_matches(d->store, shown, m->uuid, (uint64_t)st->st_size,
				       mtime_ns(st), ctime_ns(st));
	free(shown);
	int arrived = scan_note_card(d, m);
	if (seen) {
		if (arrived) {
			struct burst *b = burst_of(d, m);
			b->st.files++;
			b->st.already++;
			b->st.bytes += (uint64_t)st->st_size;
			b->last_taken = time_mono();
		}
		return;
	}
	/* a file of a card that has come again is looked at afresh, not
	 * after the back-off its last failure earned (when it left) */
	if (arrived)
		settle_forget(d->settle, path);
	if (settle_add_scanned(d->settle, path, time_mono()))
		log_too_many(path);
}

/*
 * A folder or an entry of one that a scan could not read: what lies in it
 * is not recorded, so it counts in the summary of the burst of its medium
 * (that of the folder at, whose stat is st, when known; NULL: none), once
 * until it is read again or its card comes again; the log names it at
 * every scan.
 */
static void scan_unread(struct daemon *d, const char *path, const char *at,
			const struct stat *st)
{
	if (strlist_find(&d->unread_said, path) >= 0)
		return;
	struct burst *b = st ? burst_of(d, medium_for(d, at, st->st_dev)) : burst_of_gone(d, path);
	strlist_add(&b->unread, path);
	b->last_taken = time_mono();
}

/* Says that the folder dir could not be read, for the reason e. */
static void scan_folder_unread(const char *dir, int e)
{
	char *shown = ingest_display_path(dir);
	log_warnx("%s: cannot read folder: %s", shown, strerror(e));
	free(shown);
}

/* The stat of a folder the scan cannot go into, for scan_unread. */
static const struct stat *scan_lstat(const char *dir, struct stat *st)
{
	return lstat(dir, st) == 0 ? st : NULL;
}

/* Watches dir and every folder under it and lists the files not yet
 * recorded. The watch is added before the folder is read, so a file that
 * lands meanwhile is either read here or reported by an event. */
static void scan_tree(struct daemon *d, const char *dir, int depth)
{
	struct stat ds;
	if (depth > DAEMON_MAX_DEPTH) {
		char *shown = ingest_display_path(dir);
		log_warnx("%s: folders nested deeper than %d levels are not watched", shown,
			  DAEMON_MAX_DEPTH);
		free(shown);
		scan_unread(d, dir, dir, scan_lstat(dir, &ds));
		return;
	}
	watch_add(d, dir, depth);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		if (errno != ENOENT) {
			scan_folder_unread(dir, errno);
			scan_unread(d, dir, dir, scan_lstat(dir, &ds));
		}
		if (fd >= 0)
			close(fd);
		return;
	}
	/* readdir says a failure (EIO from a failing card) only in errno,
	 * returning NULL as at the end */
	struct dirent *e;
	for (;;) {
		errno = 0;
		if (!(e = readdir(dp)))
			break;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    daemon_name_ignored(e->d_name))
			continue;
		char *p = strcmp(dir, "/") == 0 ? xasprintf("/%s", e->d_name)
						: xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			int err_no = errno;
			if (err_no != ENOENT) { /* ENOENT: gone since it was listed */
				char *shown = ingest_display_path(p);
				log_warnx("%s: cannot read: %s", shown, strerror(err_no));
				free(shown);
				scan_unread(d, p, dir, fstat(dirfd(dp), &ds) == 0 ? &ds : NULL);
			}
			free(p);
			continue;
		}
		if (d->unread_said.n && !S_ISDIR(st.st_mode)) /* a folder: once it is read */
			strlist_drop(&d->unread_said, p, 0);
		if (S_ISDIR(st.st_mode))
			scan_tree(d, p, depth + 1);
		else if (S_ISREG(st.st_mode))
			scan_file(d, p, &st);
		else
			log_debug_path(p, "not a regular file; left alone");
		free(p);
	}
	if (errno) {
		scan_folder_unread(dir, errno);
		scan_unread(d, dir, dir, fstat(dirfd(dp), &ds) == 0 ? &ds : NULL);
	} else if (d->unread_said.n) {
		strlist_drop(&d->unread_said, dir, 0);
	}
	closedir(dp);
}

static void scan_roots(struct daemon *d, const char *why)
{
	double t0 = time_mono();
	size_t before = settle_count(d->settle);
	d->scanning = 1;
	strlist_clear(&d->scan_present);
	for (size_t i = 0; i < d->n_roots; i++) {
		struct stat st;
		if (stat(d->roots[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			if (d->root_ok[i] != -1)
				log_warnx("%s: watched folder is missing; looking again every %.0f s",
					  d->roots[i], ROOT_RETRY_SECONDS);
			d->root_ok[i] = -1;
			continue;
		}
		if (d->root_ok[i] == -1)
			log_info("%s: watched folder is here now", d->roots[i]);
		d->root_ok[i] = 1;
		scan_tree(d, d->roots[i], 0);
	}
	d->scanning = 0;
	/* the cards met now are those that are here */
	for (size_t i = 0; i < d->present.n; i++)
		if (strlist_find(&d->scan_present, d->present.v[i]) < 0) {
			char *shown = ingest_display_path(d->present.v[i]);
			log_info("card %s is gone (taken out, or unmounted)", shown);
			free(shown);
			strlist_drop(&d->announced, d->present.v[i], 0);
		}
	strlist_clear(&d->present);
	d->present = d->scan_present;
	memset(&d->scan_present, 0, sizeof d->scan_present);
	size_t after = settle_count(d->settle);
	size_t found = after >= before ? after - before : 0;
	log_debug("rescan (%s): %zu folder%s watched, %zu new file%s waiting, %.2f s", why,
		  d->n_watches, d->n_watches == 1 ? "" : "s", found, found == 1 ? "" : "s",
		  time_mono() - t0);
	d->next_full_rescan = time_mono() + RESCAN_SECONDS;
}

/* ------------------------------------------------------------- inotify */

static void handle_inotify(struct daemon *d)
{
	char buf[INOTIFY_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(d->ifd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("inotify read");
			return;
		}
		if (n == 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			p += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_warnx("inotify queue overflowed; rescanning every watched folder");
				d->rescan_at = time_mono();
				continue;
			}
			struct watch *w = watch_get(d, ev->wd);
			if (!w)
				continue;
			if (ev->mask & IN_IGNORED) {
				watch_drop(d, ev->wd);
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
				if (w->depth == 0)
					d->rescan_at = time_mono() + MOUNT_SETTLE_SECONDS;
				continue;
			}
			if (!ev->len || daemon_name_ignored(ev->name))
				continue;
			char *path = xasprintf("%s/%s", strcmp(w->path, "/") ? w->path : "", ev->name);
			int depth = w->depth;
			if (ev->mask & IN_ISDIR) {
				if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
					log_debug_path(path, "new folder");
					scan_tree(d, path, depth + 1);
				} else if (ev->mask & IN_MOVED_FROM) {
					watch_forget_tree(d, path);
				}
			} else if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) {
				settle_forget(d->settle, path);
			} else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				note_event(d, path, 1);
			} else if (ev->mask & (IN_CREATE | IN_MODIFY)) {
				note_event(d, path, 0);
			}
			free(path);
		}
	}
}

/* -------------------------------------------------------------- ingest */

/* The case in use and what follows from it, resolved for each file (and
 * each batch of sensor lines) so a 'evcap case use' while the daemon runs
 * takes effect at once. */
struct take_ctx {
	struct ingest_opts o;
	char *case_number, *operators, *offset, *status, *water;
};

static void take_ctx_free(struct take_ctx *t)
{
	free(t->case_number);
	free(t->operators);
	free(t->offset);
	free(t->status);
	free(t->water);
	memset(t, 0, sizeof *t);
}

/* The case `name` (taken over; NULL: none) and what follows from it.
 * warn: log why the case cannot take items. replay: the lines of a run
 * cut short, taken while the case was open, go to it even if it has been
 * closed since. */
/* Pings systemd's watchdog when it is due: from the main loop, and while a
 * file is read (ingest's keepalive), so that a 4 GB clip coming off a
 * slow card does not get evcapd killed, and killed again on the same file
 * after every restart. */
static void watchdog_ping(void *arg)
{
	struct daemon *d = arg;
	if (!d->watchdog_usec)
		return;
	double now = time_mono();
	if (now >= d->next_watchdog) {
		notify("WATCHDOG=1");
		d->next_watchdog = now + d->watchdog_usec / 2e6;
	}
}

static void take_ctx_named(struct daemon *d, struct take_ctx *t, char *name, int warn,
			   int replay)
{
	memset(t, 0, sizeof *t);
	t->o.retries = 1; /* a file not recorded stays in the settle list */
	t->o.keepalive = watchdog_ping;
	t->o.keepalive_arg = d;
	if (name) {
		int64_t id = store_case_id(d->store, name);
		sqlite3_stmt *st = id > 0 ? store_prepare(d->store,
							  "SELECT number, operators, time_offset,"
							  " status, water_body FROM cases WHERE id = ?",
							  NULL, 0)
					  : NULL;
		if (st) {
			sqlite3_bind_int64(st, 1, id);
			if (sqlite3_step(st) == SQLITE_ROW) {
				const char *c[5];
				for (int k = 0; k < 5; k++)
					c[k] = (const char *)sqlite3_column_text(st, k);
				t->case_number = c[0] ? xstrdup(c[0]) : NULL;
				t->operators = c[1] ? xstrdup(c[1]) : NULL;
				t->offset = c[2] ? xstrdup(c[2]) : NULL;
				t->status = c[3] ? xstrdup(c[3]) : NULL;
				t->water = c[4] ? xstrdup(c[4]) : NULL;
			}
			sqlite3_finalize(st);
		}
		if (id <= 0) {
			/* a number typed in full width (or not) for a case the
			 * store has: named, never taken for it */
			char *like = NULL;
			if (warn && id == 0 && store_case_like(d->store, name, &like) > 0)
				log_warnx("case '%s' is not in this store (did you mean '%s'? the "
					  "two differ only in full-width and half-width "
					  "characters); items are recorded without a case",
					  name, like);
			else if (warn)
				log_warnx("case '%s' is not in this store; items are recorded without "
					  "a case",
					  name);
			free(like);
		} else if (!replay && t->status && strcmp(t->status, "closed") == 0) {
			if (warn)
				log_warnx("case %s is closed; items are recorded without a case "
					  "('evcap case use' selects another)",
					  name);
		} else if (t->case_number) {
			t->o.case_id = id;
		}
		free(name);
	}
	if (t->o.case_id > 0)
		t->o.case_number = t->case_number;
	if (t->offset && time_parse_offset(t->offset, &t->o.declared_offset_s) == 0)
		t->o.has_declared_offset = 1;
	else if (d->cfg.time_offset &&
		 time_parse_offset(d->cfg.time_offset, &t->o.declared_offset_s) == 0)
		t->o.has_declared_offset = 1;
	if (t->o.case_id <= 0 || !t->operators) {
		free(t->operators);
		t->operators = NULL;
		if (d->cfg.n_operators) {
			json_t *a = json_array();
			for (size_t i = 0; i < d->cfg.n_operators; i++)
				json_array_append_new(a, json_string(d->cfg.operators[i]));
			t->operators = json_dumps(a, JSON_COMPACT);
			json_decref(a);
		}
	}
	t->o.operators_json = t->operators;
	t->o.actor = ACTOR;
	t->o.source_device = d->host;
}

/* The case in use (warn: log why it cannot take items; a caller that
 * resolves every second or two says so once itself instead). */
static void take_ctx_init(struct daemon *d, struct take_ctx *t, int warn)
{
	char *name = store_meta_get(d->store, "current_case");
	if (!name && d->cfg.case_number)
		name = xstrdup(d->cfg.case_number);
	take_ctx_named(d, t, name, warn, 0);
}

/*
 * Counts one file's ingest in its medium's burst. A failed attempt is
 * tried again (settle_failed), so it counts once as a file not recorded,
 * however often it fails, and not at all once it is recorded in the same
 * burst: a card offloaded while another program held the store for a
 * moment reads "3 files, 0 problems", not "4 files, 1 problem". A file a
 * summary has named as not recorded already is not counted again while it
 * keeps failing (an unreadable file would make a summary at every retry),
 * but is once it is recorded.
 */
static void burst_count(struct daemon *d, struct burst *b, const char *path,
			enum ingest_result r, const struct ingest_stats *one)
{
	b->last_taken = time_mono();
	if (r == INGEST_FAILED) {
		if (strlist_find(&d->reported, path) < 0)
			strlist_add(&b->failed, path);
		return;
	}
	strlist_drop(&b->failed, path, 0);
	strlist_drop(&d->reported, path, 0);
	b->st.files += one->files;
	b->st.added += one->added;
	b->st.already += one->already;
	b->st.skipped += one->skipped;
	b->st.meta_errors += one->meta_errors;
	b->st.bytes += one->bytes;
}

static int burst_has_news(const struct burst *b)
{
	return b->st.files || b->st.skipped || b->failed.n || b->unread.n;
}

/* Takes one complete file. */
static void take_file(struct daemon *d, const char *path)
{
	struct stat st;
	double now = time_mono();
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (lstat(path, &st) == 0) {
			settle_forget(d->settle, path); /* replaced by something else */
			return;
		}
		enum settle_state s = settle_observe(d->settle, path, 0, 0, 0, 0, now);
		if (s != SETTLE_GONE) {
			/* a card pulled while its files wait in the queue: each
			 * counts in its summary as not recorded, as one gone
			 * while settling does */
			struct ingest_stats none = {0};
			char *gone = ingest_display_path(path);
			log_warnx("%s: disappeared before it could be read (card removed?); will look "
				  "again",
				  gone);
			free(gone);
			burst_count(d, burst_of_gone(d, path), path, INGEST_FAILED, &none);
		}
		return;
	}
	const struct medium *m = medium_for(d, path, st.st_dev);
	char *shown = ingest_display_path(path);
	if (daemon_seen_matches(d->store, shown, m->uuid, (uint64_t)st.st_size, mtime_ns(&st),
				ctime_ns(&st))) {
		log_debug("%s: recorded before with this size and time, and not changed since; "
			  "not read again",
			  shown);
		settle_forget(d->settle, path);
		free(shown);
		return;
	}
	struct take_ctx t;
	take_ctx_init(d, &t, 1);
	t.o.medium_uuid = m->uuid[0] ? m->uuid : NULL;
	t.o.medium_label = m->label[0] ? m->label : NULL;
	struct ingest_stats one = {0};
	char sha[65] = "", msg[INGEST_MSG_MAX] = "", err[512];
	enum ingest_result r = ingest_file(d->store, path, &t.o, &one, sha, msg, sizeof msg);
	burst_count(d, burst_of(d, m), path, r, &one);
	char size[32];
	human_bytes((uint64_t)st.st_size, size);
	switch (r) {
	case INGEST_ADDED:
	case INGEST_ALREADY:
		if (r == INGEST_ADDED)
			log_info("recorded %s (%s, sha256 %.16s, case %s%s%s)", shown, size, sha,
				 t.o.case_number ? t.o.case_number : "(none)",
				 m->uuid[0] ? ", medium " : "", m->uuid);
		else
			log_info("%s: already recorded (sha256 %.16s)", shown, sha);
		if (msg[0])
			log_warnx("%s", msg);
		if (daemon_seen_record(d->store, shown, m->uuid, (uint64_t)st.st_size,
				       mtime_ns(&st), ctime_ns(&st), sha, err, sizeof err))
			log_warnx("%s", err);
		settle_forget(d->settle, path);
		break;
	case INGEST_SKIPPED:
		log_info("%s", msg);
		settle_forget(d->settle, path);
		break;
	case INGEST_FAILED: {
		char note[256];
		settle_failed(d->settle, path, time_mono());
		log_warnx("%s%s (attempt %d)", msg, busy_note(d->store_dir, msg, note, sizeof note),
			  settle_attempts(d->settle, path));
		break;
	}
	}
	take_ctx_free(&t);
	free(shown);
}

/* Appends one summary line to STORE/bursts.jsonl, starting a new file
 * past its size cap. A write that fails part way is taken back, so a
 * reader never meets half a line followed by the next one. */
static void append_burst_log(const char *dir, const char *text)
{
	char *path = xasprintf("%s/" DAEMON_BURST_LOG, dir);
	char *old = xasprintf("%s.1", path);
	char *line = xasprintf("%s\n", text);
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size >= DAEMON_BURST_LOG_MAX && rename(path, old) < 0)
		log_warnx("%s: cannot rename it to %s: %s", path, old, strerror(errno));
	off_t size = -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd >= 0 && fstat(fd, &st) == 0)
		size = st.st_size;
	if (size == 0 && fchmod(fd, 0640) < 0) /* readable by the evcap group, whatever the umask */
		log_warnx("%s: cannot make it readable by the store's group: %s", path,
			  strerror(errno));
	if (size < 0 || fs_write_all(fd, line, strlen(line)) < 0) {
		log_warnx("%s: cannot add the burst summary: %s", path, strerror(errno));
		if (size >= 0 && ftruncate(fd, size) < 0)
			log_warnx("%s: cannot take back a part-written line: %s", path,
				  strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	free(line);
	free(old);
	free(path);
}

/* Makes STORE/.evcapd-reserve hold DAEMON_RESERVE_BYTES, unless it does;
 * where the disk has no room yet it is left empty, and tried again at the
 * next summary. */
static void reserve_make(const char *dir)
{
	char *path = xasprintf("%s/" DAEMON_RESERVE, dir), err[512];
	if (fs_reserve_make(path, DAEMON_RESERVE_BYTES, err, sizeof err))
		log_warnx("%s", err);
	free(path);
}

/* Gives the reserve up; 1 when there was one to give. */
static int reserve_release(const char *dir)
{
	char *path = xasprintf("%s/" DAEMON_RESERVE, dir);
	int had = fs_reserve_release(path);
	free(path);
	return had;
}

/*
 * The burst's summary, also as STORE/last-burst.json (replaced atomically)
 * and a line of STORE/bursts.jsonl, for whoever tells the people at the
 * laptop: `evcap notify` turns each line into a desktop notification. Both
 * are copies of what the log says.
 */
static void write_burst_file(struct daemon *d, const struct burst *bu, uint64_t problems,
			     const char *case_number, const char *summary)
{
	char iso[32], err[512];
	const struct ingest_stats *b = &bu->st;
	time_format_iso(time_now(), iso);
	json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s?}", "ended_at", iso,
			      "summary", summary, "files", (json_int_t)b->files, "added",
			      (json_int_t)b->added, "already", (json_int_t)b->already, "skipped",
			      (json_int_t)b->skipped, "problems", (json_int_t)problems,
			      "not_recorded", (json_int_t)b->failed, "bytes", (json_int_t)b->bytes,
			      "case", case_number);
	if (o)
		json_object_set_new(o, "not_read", json_integer((json_int_t)bu->unread.n));
	if (o && bu->card) { /* which card the summary is about */
		json_object_set_new(o, "mount_point", json_string(bu->mount));
		if (bu->uuid[0])
			json_object_set_new(o, "medium_uuid", json_string(bu->uuid));
		if (bu->label[0])
			json_object_set_new(o, "medium_label", json_string(bu->label));
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	const char *dir = store_dir(d->store);
	char *path = xasprintf("%s/" DAEMON_BURST_FILE, dir);
	int rc = text ? fs_write_atomic(path, text, strlen(text), 0640, 0, err, sizeof err) : -1;
	if (rc && text && reserve_release(dir)) {
		log_info("%s: the store's disk is full: the space kept for summaries is given up "
			 "for this one",
			 path);
		rc = fs_write_atomic(path, text, strlen(text), 0640, 0, err, sizeof err);
	}
	if (rc)
		log_warnx("%s: cannot write the burst summary: %s", path, text ? err : "no memory");
	if (text)
		append_burst_log(dir, text);
	reserve_make(dir);
	free(path);
	free(text);
	json_decref(o);
}

/* The end of burst number i: its summary line (naming its card, if it
 * comes from one), then the new items are placed; the burst goes. */
static void end_burst(struct daemon *d, size_t i)
{
	struct burst *bu = d->bursts[i];
	struct ingest_stats *b = &bu->st;
	d->bursts[i] = d->bursts[--d->n_bursts];
	if (!burst_has_news(bu)) {
		burst_free(bu);
		return;
	}
	struct take_ctx t;
	take_ctx_init(d, &t, 1);
	char size[32];
	human_bytes(b->bytes, size);
	b->failed = bu->failed.n; /* not recorded, each tried again */
	b->files += b->failed;
	uint64_t problems = b->failed + b->meta_errors + bu->unread.n;
	const char *case_number = t.case_number && t.o.case_id ? t.case_number : NULL;
	char *not_recorded =
		!b->failed	 ? xstrdup("")
		: b->failed == 1 ? xstrdup("; 1 file not recorded (the log names it; it is tried again)")
				 : xasprintf("; %llu files not recorded (the log names them; each is "
					     "tried again)",
					     (unsigned long long)b->failed);
	char *not_read =
		!bu->unread.n	   ? xstrdup("")
		: bu->unread.n == 1 ? xstrdup("; 1 folder or file could not be read (the log names "
					     "it; it is read again at the next rescan)")
				    : xasprintf("; %zu folders or files could not be read (the log "
						"names them; each is read again at the next rescan)",
						bu->unread.n);
	/* "card EVCARD (UUID 1234-ABCD): ", "card 1234-ABCD: ", "card at /media/x: " */
	char *mount = ingest_display_path(bu->mount);
	char *card = !bu->card	       ? xstrdup("")
		     : bu->label[0] ? xasprintf("card %s (UUID %s): ", bu->label, bu->uuid)
		     : bu->uuid[0]  ? xasprintf("card %s: ", bu->uuid)
				    : xasprintf("card at %s: ", mount);
	free(mount);
	char *summary = xasprintf("%s%llu file%s, %s, %llu problem%s, %llu already recorded, "
				  "case %s%s%s",
				  card, (unsigned long long)b->files, b->files == 1 ? "" : "s", size,
				  (unsigned long long)problems, problems == 1 ? "" : "s",
				  (unsigned long long)b->already,
				  case_number ? case_number : "(none)", not_recorded, not_read);
	free(not_recorded);
	free(not_read);
	free(card);
	log_info("%s", summary);
	write_burst_file(d, bu, problems, case_number, summary);
	free(summary);
	/* named now: not counted again while they keep failing */
	for (size_t k = 0; k < bu->failed.n; k++)
		strlist_add(&d->reported, bu->failed.v[k]);
	for (size_t k = 0; k < bu->unread.n; k++)
		strlist_add(&d->unread_said, bu->unread.v[k]);
	if (b->added) {
		struct geotag_stats gs = {0};
		char err[512];
		if (d->fixes && geotag_batch_flush(d->fixes, err, sizeof err))
			log_warnx("%s", err);
		if (geotag_run(d->store, 0, d->cfg.max_gap, d->cfg.max_extrapolate, ACTOR, &gs, err,
			       sizeof err))
			log_warnx("placing new items on the GPS track: %s", err);
		else if (gs.placed || gs.retimed)
			log_info("placed %zu item%s on the GPS track (%zu not covered), %zu retimed "
				 "from a learned camera offset",
				 gs.placed, gs.placed == 1 ? "" : "s", gs.uncovered, gs.retimed);
		if (gs.readings_placed)
			log_info("placed %zu sensor reading%s on the GPS track", gs.readings_placed,
				 gs.readings_placed == 1 ? "" : "s");
		if (gs.sidecars)
			log_info("placed %zu video%s where the drone was, from %s SRT", gs.sidecars,
				 gs.sidecars == 1 ? "" : "s", gs.sidecars == 1 ? "its" : "their");
		if (gs.sidecars_unusable)
			log_info("%zu video%s SRT gave no position; first: %s",
				 gs.sidecars_unusable, gs.sidecars_unusable == 1 ? "'s" : "s'",
				 gs.sidecar_note);
		if (gs.disagreed)
			log_warnx("%zu new item%s placed where another GPS source's track puts %s "
				  "farther away than both error estimates allow ('evcap log' names it)",
				  gs.disagreed, gs.disagreed == 1 ? " is" : "s are",
				  gs.disagreed == 1 ? "it" : "them");
	}
	take_ctx_free(&t);
	burst_free(bu);
}

/* 1 when a file waiting to be taken lies on the burst's card (for the
 * burst of key "": when any file waits). */
static int burst_waiting(const struct daemon *d, const struct burst *b)
{
	if (!b->card)
		return ready_count(d) > 0;
	for (size_t i = d->ready_head; i < d->ready_n; i++)
		if (daemon_path_within(d->ready[i], b->mount))
			return 1;
	return 0;
}

/* Ends the bursts that are over: nothing of theirs waits to be taken, and
 * either nothing at all is settling or they took nothing for a while.
 * Returns the next time to look (< 0: none). */
static double end_bursts(struct daemon *d, double now, int all)
{
	double next = -1;
	for (size_t i = d->n_bursts; i-- > 0;) {
		struct burst *b = d->bursts[i];
		if (all || (!burst_waiting(d, b) &&
			    ((ready_count(d) == 0 && settle_count(d->settle) == 0) ||
			     now - b->last_taken >= BURST_IDLE_SECONDS)))
			end_burst(d, i);
		else if (!burst_waiting(d, b))
			next = min_deadline(next, b->last_taken + BURST_IDLE_SECONDS);
	}
	return next;
}

/* ----------------------------------------------------------------- GPS */

static void on_fix(void *ctx, const struct fix *f)
{
	struct daemon *d = ctx;
	char err[512];
	if (!d->fixes)
		return;
	double now = time_mono();
	if (geotag_batch_add(d->fixes, f, now, err, sizeof err)) {
		if (d->fixes_lost++ % 3600 == 0) /* the first, then once an hour at 1 Hz */
			log_warnx("GPS fix lost: %s", err);
	} else if (geotag_batch_tick(d->fixes, now, err, sizeof err)) {
		log_gps_refused(d, err);
	}
	if (d->fixes_logged++ == 0) {
		char t[32];
		time_format_iso(f->t, t);
		log_info("first GPS fix: %s %.6f %.6f (mode %dD)", t, f->lat, f->lon, f->mode);
	} else if (d->gps_silent) {
		char t[32], last[32];
		time_format_iso(f->t, t);
		time_format_iso(d->gps_last_fix_t, last);
		log_info("GPS fixes again: %s %.6f %.6f (mode %dD), after none since %s (%.0f s); "
			 "photos taken in between lie outside the track unless its gaps allow",
			 t, f->lat, f->lon, f->mode, last, now - d->gps_last_fix);
	}
	d->gps_silent = 0;
	d->gps_last_fix = now;
	d->gps_last_fix_t = f->t;
	d->gps_tpv_at_fix = d->gps ? gpsclient_get_stats(d->gps)->tpv : 0;
}

/*
 * Says once when fixes have stopped coming (and on_fix says when they come
 * again), with what gpsd shows of why: gpsd gone, gpsd reporting from the
 * receiver without a fix (no sky: indoors, under a bridge), or nothing from
 * the receiver at all (unplugged, or its cable loose). Returns the next
 * time to look (< 0: none).
 */
static double gps_watch_silence(struct daemon *d, double now)
{
	if (!d->gps || d->gps_silent)
		return -1;
	double limit = d->gps_last_fix_t > 0 ? d->gps_silent_s
					     : fmax(d->gps_silent_s, GPS_FIRST_FIX_SECONDS);
	if (now - d->gps_last_fix < limit)
		return d->gps_last_fix + limit;
	const struct gpsclient_stats *gs = gpsclient_get_stats(d->gps);
	const char *why = !gpsclient_connected(d->gps)
				  ? "gpsd cannot be reached"
			  : gs->tpv > d->gps_tpv_at_fix
				  ? "gpsd reports from the receiver, but without a fix (no clear sky?)"
				  : "gpsd hears nothing from the receiver (unplugged, or its cable "
				    "loose?)";
	if (d->gps_last_fix_t > 0) {
		char last[32];
		time_format_iso(d->gps_last_fix_t, last);
		log_warnx("no GPS fix for %.0f s, the last at %s: %s; photos taken now cannot be "
			  "placed from the track until fixes come again",
			  now - d->gps_last_fix, last, why);
	} else {
		log_warnx("no GPS fix yet, %.0f s after start: %s; photos taken now cannot be "
			  "placed from the track until fixes come",
			  now - d->gps_last_fix, why);
	}
	d->gps_silent = 1;
	return -1;
}

/* gpsd missing all day would otherwise log a line every back-off: a
 * failure to connect is logged once, then at most every ten minutes. */
static void on_gps_log(void *ctx, const char *msg)
{
	struct daemon *d = ctx;
	double now = time_mono();
	if (strncmp(msg, "cannot connect", 14) == 0) {
		if (d->gps_quiet_until > now) {
			log_debug("%s", msg);
			return;
		}
		d->gps_quiet_until = now + 600;
	} else if (strncmp(msg, "connected", 9) == 0) {
		d->gps_quiet_until = 0;
	}
	log_info("%s", msg);
}

static void gps_stop(struct daemon *d)
{
	char err[512];
	gpsclient_free(d->gps); /* hands over the last held fix */
	d->gps = NULL;
	if (d->fixes) {
		if (geotag_batch_flush(d->fixes, err, sizeof err))
			log_warnx("storing GPS fixes: %s; %zu held are lost", err,
				  geotag_batch_held(d->fixes));
		log_info("%llu GPS fix%s stored", (unsigned long long)geotag_batch_stored(d->fixes),
			 geotag_batch_stored(d->fixes) == 1 ? "" : "es");
		if (d->fixes_lost)
			log_warnx("%llu GPS fix%s not kept: the store was held too long",
				  (unsigned long long)d->fixes_lost, d->fixes_lost == 1 ? "" : "es");
	}
	geotag_batch_free(d->fixes);
	d->fixes = NULL;
}

static void gps_start(struct daemon *d)
{
	char host[256], port[8], err[512];
	if (!d->gps_server || !*d->gps_server) {
		log_info("GPS logging is off (no gpsd server configured)");
		return;
	}
	if (config_split_hostport(d->gps_server, host, port)) {
		log_warnx("[gps] server must be HOST:PORT, not '%s'; GPS logging is off",
			  d->gps_server);
		return;
	}
	if (gpsclient_new(host, port, on_fix, d, &d->gps, err, sizeof err)) {
		log_warnx("gpsd %s: %s; GPS logging is off", d->gps_server, err);
		return;
	}
	gpsclient_set_log(d->gps, on_gps_log, d);
	gpsclient_set_backoff(d->gps, 0.5, 30.0);
	d->gps_silent = 0;
	d->gps_last_fix = time_mono();
	d->gps_last_fix_t = 0;
	d->gps_tpv_at_fix = 0;
	d->fixes = geotag_batch_new(d->store, gpsclient_source(d->gps), FIX_BATCH_N,
				    FIX_BATCH_AGE);
}

/* ------------------------------------------------------------ probes */

/*
 * A water-quality probe on a serial line. Lines are timed as they arrive
 * (by the pump's thread, or the loop when no pump runs), written to the
 * run's journal at once, and parsed and held in `pending` until the batch
 * is recorded; a line is logged only after the transaction holding it has
 * committed, so the log never names a reading that a crash could still
 * take back, and the journal keeps it until then. Invariant: pending holds
 * the rows of pending_lines lines, all resolved with ctx (valid when
 * has_ctx); every line taken since the journal was last cut back is in it
 * (unless spool_failed).
 */
struct probe {
	struct daemon *d;
	char *spec;                  /* as configured; a different one on reload re-opens */
	char device[256];
	char *shown;                 /* device as messages show it (ingest_display_path) */
	enum sensor_format fmt;
	int has_profile;
	struct sensor_profile prof;
	char *instrument_json;       /* NULL when nothing is known about the instrument */
	struct sensorline *line;     /* NULL until started */
	char source[400];            /* serial:DEVICE@START: each start is its own source */
	size_t seq;                  /* the last line taken into a batch */
	size_t seq_known;            /* the last line received (numbered) */
	size_t defer_from;           /* nonzero: lines from this one on wait in the journal */
	int catching_up;             /* reading deferred lines back from the journal */
	int catch_up_failed;         /* ... could not: they stay in the journal, kept */
	int defer_marked;            /* while lines wait: a case mark covers them ... */
	char *defer_case;            /* ... naming this case (NULL: none) */
	struct sensor_batch pending; /* parsed, not yet recorded */
	size_t pending_lines, first_line;
	double pending_since;        /* monotonic time the batch began */
	struct take_ctx ctx;         /* case, operators, offset for the batch */
	int has_ctx;
	uint64_t lines_recorded, readings, problems, lost, conflicting;
	double problem_quiet_until;
	double conflict_quiet_until; /* as problem_quiet_until, for two values at one time */
	struct sensorspool *spool;   /* the run's journal; NULL when none could be made */
	int spool_failed;            /* a journal write failed (warned once): not used again */
	int replaying;               /* recording a journal left by a run cut short */
	int replay_case_known;       /* while replaying: the journal names the lines' case */
	char *replay_case;           /* ... which is this one (NULL: none) */
};

/* Frees a probe without recording what it holds (probe_stop records). */
static void probe_free(struct probe *p)
{
	if (!p)
		return;
	sensorline_free(p->line);
	sensorspool_close(p->spool, 0);
	free(p->replay_case);
	free(p->defer_case);
	sensor_batch_free(&p->pending);
	take_ctx_free(&p->ctx);
	free(p->instrument_json);
	free(p->spec);
	free(p->shown);
	free(p);
}

/*
 * Makes a probe for spec without opening its device: the spec's form, and
 * its profile, which must be found and valid; an SDI-12 probe cannot do
 * without one (its answers are bare numbers). A profile named and not
 * found is refused for a CSV probe too, as 'evcap sensor import
 * --instrument' refuses it: the readings would name an instrument with
 * none of its facts.
 */
int daemon_sensor_check(const char *spec, struct sensorline_spec *sp,
			struct sensor_profile *prof, int *has_profile, char **profile_path, char *err,
			size_t errlen)
{
	char *path = NULL, shown[256];
	int rc = sensorline_spec_parse(spec, sp, err, errlen);
	ingest_display_text(spec, strlen(spec), shown, sizeof shown);
	*has_profile = 0;
	if (profile_path)
		*profile_path = NULL;
	if (rc)
		return rc;
	if (sp->device[0] != '/')
		return err_set(err, errlen, EV_EINVAL,
			       "sensor '%s': the device must be an absolute path", shown);
	if (sp->profile[0] && (path = sensor_profile_find(sp->profile))) {
		char why[512];
		if (sensor_profile_load(path, prof, why, sizeof why))
			rc = err_set(err, errlen, EV_EINVAL, "sensor '%s': %s", shown, why);
		else
			*has_profile = 1;
	} else if (sp->profile[0]) {
		rc = err_set(err, errlen, EV_ENOENT,
			     "sensor '%s': no profile %s.profile in $EVCAP_SENSOR_PROFILES or %s",
			     shown, sp->profile, SENSOR_PROFILE_DIRS);
	} else if (strcmp(sp->format, "sdi12") == 0) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "sensor '%s': an SDI-12 probe needs a profile saying which value is "
			     "which (DEVICE:BAUD:sdi12:PROFILE)",
			     shown);
	}
	if (!rc && profile_path)
		*profile_path = path;
	else
		free(path);
	return rc;
}

static int probe_new(const char *spec, struct probe **out, char *err, size_t errlen)
{
	struct sensorline_spec sp;
	struct probe *p = xcalloc(1, sizeof *p);
	char *path = NULL;
	*out = NULL;
	p->pending_since = -1;
	sensor_batch_init(&p->pending);
	int rc = daemon_sensor_check(spec, &sp, &p->prof, &p->has_profile, &path, err, errlen);
	if (rc)
		goto out;
	p->spec = xstrdup(spec);
	snprintf(p->device, sizeof p->device, "%s", sp.device);
	p->shown = ingest_display_path(sp.device);
	p->fmt = strcmp(sp.format, "sdi12") == 0 ? SENSOR_FMT_SDI12 : SENSOR_FMT_CSV;
	if (p->has_profile && strcmp(p->prof.format, sp.format) != 0)
		log_warnx("sensor %s: the profile %s is for %s, the spec says %s; read as %s",
			  p->shown, path, p->prof.format, sp.format, sp.format);
	if (p->prof.name[0] || p->prof.model[0] || p->prof.serial[0] || p->prof.calibrated[0])
		p->instrument_json = sensor_instrument_json(&p->prof);
	*out = p;
	p = NULL;
out:
	free(path);
	probe_free(p);
	return rc;
}

/* Connection news from the reader: opened, went away, cannot open. */
static void probe_log(void *ctx, const char *msg)
{
	(void)ctx;
	log_info("sensor: %s", msg);
}

/* The reading as one log line, for debug logs. */
static void log_reading(const struct probe *p, const struct sensor_reading *r)
{
	if (r->error[0])
		log_debug("sensor %s line %zu: kept without a value: %s", p->shown, r->line_no,
			  r->error);
	else if (r->param && r->has_value)
		log_debug("sensor %s line %zu: %s %g %s", p->shown, r->line_no, r->param->id,
			  r->value, r->param->unit);
}

/* The journal cannot be written: batches go on without it. */
static void spool_fail(struct probe *p, const char *why)
{
	if (p->spool_failed)
		return;
	p->spool_failed = 1;
	log_warnx("sensor %s: lines are not journalled (%s); they are still recorded every %g "
		  "seconds, but a power cut can lose the lines of the last batch",
		  p->shown, why, PROBE_BATCH_AGE);
}

/*
 * Records the pending batch in one transaction with one custody event
 * "sensor readings". On failure everything stays pending and is tried
 * again a batch age later; sensor_record skips rows already there, so a
 * retry can never record a line twice.
 */
static int probe_flush(struct probe *p)
{
	struct daemon *d = p->d;
	char err[512];
	int rc = 0;
	json_t *detail = NULL;
	if (!p->pending_lines)
		goto out;
	/* the fixes held in memory first, so the track reaches as close to
	 * the readings' times as it can */
	if (d->fixes && geotag_batch_flush(d->fixes, err, sizeof err))
		log_gps_refused(d, err);
	struct sensor_record_opts ro = {0};
	struct sensor_record_stats st;
	enum gb3838_water water;
	ro.case_id = p->ctx.o.case_id;
	ro.case_number = p->ctx.o.case_number;
	ro.operators_json = p->ctx.operators;
	ro.instrument_json = p->instrument_json;
	ro.source = p->source;
	ro.name = p->shown;
	if (p->ctx.water && gb3838_water_parse(p->ctx.water, &water) == 0) {
		ro.has_water = 1;
		ro.water = water;
	}
	ro.max_gap = d->cfg.max_gap;
	ro.max_extrap = d->cfg.max_extrapolate;
	ro.actor = ACTOR;
	ro.action = "sensor readings";
	detail = json_object();
	json_object_set_new(detail, "device", json_string(p->device));
	json_object_set_new(detail, "first_line", json_integer((json_int_t)p->first_line));
	json_object_set_new(detail, "last_line", json_integer((json_int_t)p->seq));
	json_object_set_new(detail, "lines", json_integer((json_int_t)p->pending_lines));
	if (p->replaying) /* from the journal of a run cut short */
		json_object_set_new(detail, "recovered", json_true());
	ro.detail = detail;
	ro.now = time_now();
	if ((rc = sensor_record(d->store, &p->pending, &ro, &st, err, sizeof err))) {
		char note[256];
		log_warnx("sensor %s: lines %zu-%zu not recorded yet (%s%s); trying again",
			  p->shown, p->first_line, p->seq, err,
			  busy_note(d->store_dir, err, note, sizeof note));
		p->pending_since = time_mono();
		goto out;
	}
	const struct sensor_reading *problem = NULL;
	for (size_t i = 0; i < p->pending.n; i++) {
		log_reading(p, &p->pending.v[i]);
		if (p->pending.v[i].error[0] && !problem)
			problem = &p->pending.v[i];
	}
	p->lines_recorded += p->pending_lines;
	p->readings += st.readings;
	p->problems += st.errors;
	/* a probe at the wrong baud rate sends nothing but garbage: warn now
	 * and then, not for every line */
	if (problem && time_mono() >= p->problem_quiet_until) {
		log_warnx("sensor %s: %s (lines that cannot be read are kept without a value; "
			  "'evcap readings --errors' lists them)",
			  p->shown, problem->error);
		p->problem_quiet_until = time_mono() + PROBE_PROBLEM_QUIET;
	}
	/* a probe whose clock is stuck gives every line one time: the same */
	p->conflicting += st.conflicting;
	if (st.n_msgs && time_mono() >= p->conflict_quiet_until) {
		log_warnx("sensor %s (%llu reading%s of this run so far contradict%s an earlier "
			  "line; the log says so again after a minute at the soonest)",
			  st.msgs[0], (unsigned long long)p->conflicting,
			  p->conflicting == 1 ? "" : "s", p->conflicting == 1 ? "s" : "");
		p->conflict_quiet_until = time_mono() + PROBE_PROBLEM_QUIET;
	}
	sensor_batch_free(&p->pending);
	take_ctx_free(&p->ctx);
	p->has_ctx = 0;
	p->pending_lines = 0;
	p->pending_since = -1;
	/* every line taken is now in the store: the journal starts over */
	if (p->spool && !p->spool_failed && sensorspool_clear_upto(p->spool, p->seq, err, sizeof err))
		spool_fail(p, err);
out:
	json_decref(detail);
	return rc;
}

/* Resolves the case and what follows from it when a batch begins. */
static void probe_begin_batch(struct probe *p, double now)
{
	struct daemon *d = p->d;
	char err[512];
	/* lines read back from a journal go to the case it names for them */
	int from_journal = p->replaying || p->catching_up;
	if (from_journal && p->replay_case_known)
		take_ctx_named(d, &p->ctx, p->replay_case ? xstrdup(p->replay_case) : NULL, 1, 1);
	else
		take_ctx_init(d, &p->ctx, 0);
	p->has_ctx = 1;
	p->pending_since = now;
	p->first_line = p->seq; /* the line that begins the batch */
	/* a replay of the journal finds the batch's case there (lines read
	 * back are covered by the marks already in it) */
	if (!from_journal && p->spool && !p->spool_failed &&
	    sensorspool_mark_case(p->spool, p->seq, p->ctx.o.case_number, err, sizeof err))
		spool_fail(p, err);
	if (!from_journal && p->ctx.o.case_id != d->probe_case_id) {
		if (p->ctx.o.case_id > 0)
			log_info("sensor readings are recorded for case %s", p->ctx.o.case_number);
		else
			log_warnx("sensor readings are recorded without a case (none in use, or it is "
				  "closed or unknown)");
		d->probe_case_id = p->ctx.o.case_id;
	}
}

static int same_case(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * While lines wait in the journal: notes there the case in use as the
 * loop learns of line line_no, when it is not the one noted last, so that
 * lines read back late go to the case in use when they came, as lines
 * recorded at once do, not to the one in use when they are read back
 * (an 'evcap case use' that waited on the store lands as it is let go).
 */
static void probe_defer_case(struct probe *p, size_t line_no)
{
	char err[512];
	struct take_ctx t;
	if (!p->spool || p->spool_failed)
		return;
	take_ctx_init(p->d, &t, 0);
	const char *now_case = t.o.case_number;
	if (!p->defer_marked || !same_case(p->defer_case, now_case)) {
		if (sensorspool_mark_case(p->spool, line_no, now_case, err, sizeof err)) {
			spool_fail(p, err);
		} else {
			p->defer_marked = 1;
			free(p->defer_case);
			p->defer_case = now_case ? xstrdup(now_case) : NULL;
		}
	}
	take_ctx_free(&t);
}

/* Lines from line_no on wait in the journal alone, to be read back in
 * order once the store takes lines again (probe_catch_up). */
static void probe_defer(struct probe *p, size_t line_no, const char *why)
{
	if (p->defer_from)
		return;
	p->defer_from = line_no;
	/* lines refused while read back are covered by marks already */
	if (!p->catching_up) {
		p->defer_marked = 0;
		probe_defer_case(p, line_no);
	}
	log_warnx("sensor %s: %d lines wait to be recorded and %s: from line %zu on, lines wait "
		  "in the journal %s alone, and are recorded from there when the store takes them",
		  p->shown, probe_pending_max, why, line_no,
		  p->spool ? sensorspool_path(p->spool) : "(none)");
}

/* Line number line_no (0: the next) from the reader, read at `now`
 * (monotonic) and `wall`: a line without a time of its own is timed by
 * when it arrived. journal: the line is not in the journal yet (the pump
 * writes the lines it reads itself). */
static void probe_take(struct probe *p, size_t line_no, const char *line, size_t len, int flags,
		       double now, double wall, int journal)
{
	char err[512];
	line_no = line_no ? line_no : p->seq_known + 1;
	if (line_no > p->seq_known)
		p->seq_known = line_no;
	/* durable at the end of this turn of the loop (probe_spool_sync) */
	if (journal && p->spool && !p->spool_failed &&
	    sensorspool_add(p->spool, line_no, wall, flags, line, len, err, sizeof err))
		spool_fail(p, err);
	int journalled = p->spool && !p->spool_failed;
	if (p->defer_from && !p->catching_up) {
		/* behind the deferred ones, in order: read back with them */
		if (journalled) {
			probe_defer_case(p, line_no);
		} else {
			log_warnx("sensor %s: line %zu lost: the journal that holds the lines "
				  "waiting for the store cannot be written",
				  p->shown, line_no);
			p->lost++;
		}
		return;
	}
	if (p->pending_lines >= (size_t)probe_pending_max && probe_flush(p)) {
		if (journalled && sensorspool_size(p->spool) < SENSORSPOOL_SPILL_MAX) {
			probe_defer(p, line_no, "the store refuses them");
			return;
		}
		log_warnx("sensor %s: line %zu lost: %d lines are waiting for the store already%s",
			  p->shown, line_no, probe_pending_max,
			  journalled ? ", and the journal is full" : "");
		p->lost++;
		return;
	}
	p->seq = line_no;
	if (!p->has_ctx)
		probe_begin_batch(p, now);
	struct sensor_opts o = {0};
	o.name = p->shown;
	o.has_offset = p->ctx.o.has_declared_offset;
	o.offset_s = p->ctx.o.declared_offset_s;
	o.has_now = 1;
	o.now = wall;
	size_t from = p->pending.n;
	if (sensor_parse_line(p->fmt, line, len, line_no, p->has_profile ? &p->prof : NULL, &o,
			      &p->pending)) {
		log_warnx("sensor %s: line %zu could not be parsed within the limits", p->shown,
			  line_no);
		p->lost++;
		return;
	}
	if (flags & (SENSORLINE_CUT | SENSORLINE_PARTIAL))
		sensor_batch_mark_incomplete(&p->pending, from, p->shown, line_no,
					     flags & SENSORLINE_PARTIAL
						     ? "the device went away before the line ended"
						     : "the line was longer than the reader keeps");
	if (p->pending.n > from) {
		p->pending_lines++;
		return;
	}
	log_debug("sensor %s line %zu: nothing to record (blank, comment or not a data answer)",
		  p->shown, line_no);
	if (!p->pending_lines) {
		/* no batch after all: the next line resolves the case afresh,
		 * and the journal holds nothing still to record */
		take_ctx_free(&p->ctx);
		p->has_ctx = 0;
		p->pending_since = -1;
		if (p->spool && !p->spool_failed &&
		    sensorspool_clear_upto(p->spool, p->seq, err, sizeof err))
			spool_fail(p, err);
	}
}

/* ---- lines that waited in the journal ---- */

struct catch_up {
	struct probe *p;
	size_t from, to; /* the lines to read back */
	size_t next;     /* the next one expected */
	size_t missing;  /* lines in from..to the journal does not have */
};

static int catch_up_head(void *ctx, const char *source, const char *spec)
{
	(void)ctx, (void)source, (void)spec;
	return 0;
}

static int catch_up_line(void *ctx, const struct sensorspool_line *l)
{
	struct catch_up *c = ctx;
	struct probe *p = c->p;
	if (l->line_no < c->from)
		return 0; /* recorded before the wait began */
	if (l->line_no > c->to)
		return 1; /* queued behind: handed over by the pump */
	if (l->line_no > c->next)
		c->missing += l->line_no - c->next;
	if (p->replay_case_known != l->case_known || !same_case(p->replay_case, l->case_number)) {
		/* a batch goes to one case: the lines so far first */
		if (p->pending_lines && probe_flush(p)) {
			probe_defer(p, l->line_no, "the store refuses them");
			return 1;
		}
		take_ctx_free(&p->ctx);
		p->has_ctx = 0;
		free(p->replay_case);
		p->replay_case_known = l->case_known;
		p->replay_case = l->case_number ? xstrdup(l->case_number) : NULL;
	}
	c->next = l->line_no + 1;
	/* the line keeps the time it arrived */
	probe_take(p, l->line_no, l->raw, l->len, l->flags, time_mono(), l->wall, 0);
	if (p->defer_from)
		return 1; /* the store refused again: the rest waits on */
	if (p->pending_lines >= PROBE_BATCH_LINES)
		(void)probe_flush(p);
	return 0;
}

/*
 * Records the lines that waited in the journal (probe_defer), once the
 * store takes the batch in memory: they are read back from the journal in
 * order, each with the number and time it had when it arrived, and
 * recorded in batches as usual. Should the store refuse again, the rest
 * waits for the next try.
 */
static void probe_catch_up(struct probe *p)
{
	char err[512];
	if (!p->defer_from || p->catching_up || p->catch_up_failed || !p->spool)
		return;
	if (p->pending_lines && probe_flush(p))
		return;
	struct catch_up c = {p, p->defer_from, p->seq_known, p->defer_from, 0};
	struct sensorspool_reader rd = {catch_up_head, catch_up_line, &c};
	size_t bad = 0;
	p->defer_from = 0;
	p->catching_up = 1;
	p->replay_case_known = 0; /* the first line read back names its case */
	int rc = sensorspool_read(sensorspool_path(p->spool), &rd, &bad, err, sizeof err);
	p->catching_up = 0;
	p->replay_case_known = 0;
	free(p->replay_case);
	p->replay_case = NULL;
	if (!p->pending_lines && p->has_ctx) {
		take_ctx_free(&p->ctx); /* the next line resolves the case in use */
		p->has_ctx = 0;
	}
	if (p->defer_from) /* refused again */
		return;
	if (rc && rc != EV_ERR && c.next == c.from) {
		/* nothing read (the journal grew past what a read takes, or
		 * cannot be read): the lines stay in it, and it is kept */
		p->defer_from = c.from;
		p->catch_up_failed = 1;
		log_warnx("sensor %s: the lines from %zu on, which wait in the journal, cannot be "
			  "read back (%s); they stay in %s, which is kept",
			  p->shown, c.from, err, sensorspool_path(p->spool));
		return;
	}
	p->defer_marked = 0; /* the wait is over */
	if (rc && rc != EV_ERR) {
		log_warnx("sensor %s: the lines that waited in the journal cannot be read back: %s",
			  p->shown, err);
		c.missing += c.to + 1 - c.next;
	} else if (c.next <= c.to) {
		c.missing += c.to + 1 - c.next;
	}
	if (!p->pending_lines && p->seq < c.to)
		p->seq = c.to; /* the journal can be cut back past the missing ones */
	if (c.missing) {
		log_warnx("sensor %s: %zu of the lines %zu-%zu that waited in the journal are not "
			  "in it and are lost",
			  p->shown, c.missing, c.from, c.to);
		p->lost += c.missing;
	} else {
		log_info("sensor %s: lines %zu-%zu, which waited in the journal, are taken", p->shown,
			 c.from, c.to);
	}
	if (p->pending_lines)
		(void)probe_flush(p);
}

/* A line read by the loop itself: it arrived just now. */
static void probe_line(void *ctx, const char *line, size_t len, int flags, double now)
{
	probe_take(ctx, 0, line, len, flags, now, time_now(), 1);
}

/* Opens the device (or starts trying to) and names this run's source. */
static void probe_start(struct daemon *d, struct probe *p)
{
	char err[512], iso[32];
	p->d = d;
	time_format_iso(time_now(), iso);
	snprintf(p->source, sizeof p->source, "serial:%s@%s", p->device, iso);
	if (sensorline_open(p->spec, probe_log, p, &p->line, err, sizeof err))
		log_warnx("sensor %s: %s", p->shown, err); /* the spec was checked: not expected */
	char *dir = sensorspool_dir(store_dir(d->store));
	if (sensorspool_open(dir, p->source, p->spec, &p->spool, err, sizeof err))
		spool_fail(p, err);
	free(dir);
	char *src = ingest_display_path(p->source);
	char *prof = ingest_display_path(p->has_profile ? p->prof.name : "");
	log_info("sensor %s: %s%s%s, recorded as source %s", p->shown,
		 p->fmt == SENSOR_FMT_SDI12 ? "SDI-12" : "CSV", p->has_profile ? ", profile " : "",
		 prof, src);
	free(prof);
	free(src);
}

/* Reads what is waiting, then records what is pending, and stops. */
static void probe_stop(struct probe *p)
{
	struct sensorline_stats ls = {0};
	if (!p)
		return;
	if (p->line) {
		(void)sensorline_readable(p->line, time_mono(), probe_line, p);
		sensorline_get_stats(p->line, &ls);
	}
	if (p->defer_from)
		probe_catch_up(p);
	if ((p->pending_lines && probe_flush(p)) || p->defer_from) {
		char err[512];
		size_t n = p->pending_lines + (p->defer_from ? p->seq_known + 1 - p->defer_from : 0);
		int kept = p->spool && !p->spool_failed &&
			   sensorspool_sync(p->spool, err, sizeof err) == 0;
		log_warnx("sensor %s: %zu line%s could not be recorded before stopping%s%s%s",
			  p->shown, n, n == 1 ? "" : "s", kept ? "; kept in " : "",
			  kept ? sensorspool_path(p->spool) : "", kept ? " for the next start" : "");
	}
	/* all recorded: the journal goes; else it stays, for the next start */
	sensorspool_close(p->spool, p->pending_lines == 0 && !p->defer_from);
	p->spool = NULL;
	if (p->line)
		log_info("sensor %s: %zu line%s, %llu reading%s, %llu kept without a value, %llu "
			 "reconnect%s",
			 p->shown, p->seq_known, p->seq_known == 1 ? "" : "s",
			 (unsigned long long)p->readings,
			 p->readings == 1 ? "" : "s", (unsigned long long)p->problems,
			 (unsigned long long)ls.drops, ls.drops == 1 ? "" : "s");
	probe_free(p);
}

static void pump_stop(struct daemon *d);

static void probes_stop(struct daemon *d)
{
	pump_stop(d); /* the readers are the loop's again */
	for (size_t i = 0; i < d->n_probes; i++)
		probe_stop(d->probes[i]);
	d->n_probes = 0;
}

static void planned_clear(struct daemon *d)
{
	for (size_t i = 0; i < d->n_planned; i++)
		probe_free(d->planned[i]);
	d->n_planned = 0;
}

/*
 * Makes the probes the settings ask for (--sensor, else [capture] sensor)
 * into d->planned; nothing is opened. All or nothing: on an error the
 * plan is left as it was.
 */
static int probes_plan(struct daemon *d, char *err, size_t errlen)
{
	struct probe *v[CONFIG_MAX_LIST];
	size_t n = 0, want = d->opt_n_sensor ? d->opt_n_sensor : d->cfg.n_sensors;
	int rc = 0;
	for (size_t i = 0; i < want; i++) {
		const char *spec = d->opt_n_sensor ? d->opt_sensor[i] : d->cfg.sensors[i];
		if ((rc = probe_new(spec, &v[n], err, errlen)))
			goto out;
		n++;
		/* two readers on one line would each get half of every answer */
		for (size_t j = 0; j + 1 < n; j++)
			if (strcmp(v[j]->device, v[n - 1]->device) == 0) {
				rc = err_set(err, errlen, EV_EINVAL, "sensor device %s is given twice",
					     v[j]->device);
				goto out;
			}
	}
	planned_clear(d);
	memcpy(d->planned, v, n * sizeof *v);
	d->n_planned = n;
	n = 0;
out:
	for (size_t i = 0; i < n; i++)
		probe_free(v[i]);
	return rc;
}

/*
 * Makes the running probes what was planned: a probe whose spec is
 * unchanged keeps its open device, its source and its line count (only
 * its profile is taken anew, after what it holds is recorded); one no
 * longer wanted is stopped; a new one is started.
 */
static void probes_sync(struct daemon *d)
{
	struct probe *keep[CONFIG_MAX_LIST];
	size_t nk = 0;
	for (size_t i = 0; i < d->n_probes; i++) {
		struct probe *r = d->probes[i], *q = NULL;
		for (size_t j = 0; j < d->n_planned && !q; j++)
			if (d->planned[j] && strcmp(d->planned[j]->spec, r->spec) == 0) {
				q = d->planned[j];
				d->planned[j] = NULL;
			}
		if (!q) {
			log_info("sensor %s: no longer configured; stopping", r->shown);
			probe_stop(r);
			continue;
		}
		/* lines parsed with the old profile are recorded with it */
		if (r->pending_lines && probe_flush(r))
			log_warnx("sensor %s: the store refuses readings, so a changed profile is "
				  "not taken now; send SIGHUP again later",
				  r->shown);
		if (!r->pending_lines) {
			r->prof = q->prof;
			r->has_profile = q->has_profile;
			free(r->instrument_json);
			r->instrument_json = q->instrument_json;
			q->instrument_json = NULL;
		}
		probe_free(q);
		keep[nk++] = r;
	}
	for (size_t j = 0; j < d->n_planned; j++) {
		if (!d->planned[j])
			continue;
		probe_start(d, d->planned[j]);
		keep[nk++] = d->planned[j];
		d->planned[j] = NULL;
	}
	d->n_planned = 0;
	memcpy(d->probes, keep, nk * sizeof *keep);
	d->n_probes = nk;
}

/* Reopens devices that are due and records batches that are due; returns
 * the next deadline (< 0: none). */
static double probes_tick(struct daemon *d, double now)
{
	double next = -1;
	for (size_t i = 0; i < d->n_probes; i++) {
		struct probe *p = d->probes[i];
		if (!d->pump) { /* else the pump's thread reopens the device */
			sensorline_tick(p->line, now);
			double w = sensorline_timeout(p->line, now);
			if (w >= 0)
				next = min_deadline(next, now + w);
		}
		if (p->pending_lines && now - p->pending_since >= PROBE_BATCH_AGE)
			(void)probe_flush(p);
		if (p->defer_from && !p->pending_lines)
			probe_catch_up(p);
		if (p->pending_lines)
			next = min_deadline(next, p->pending_since + PROBE_BATCH_AGE);
	}
	return next;
}

/* Makes the lines journalled this turn durable: from here a power cut
 * no longer loses them. */
static void probe_spool_sync(struct probe *p)
{
	char err[512];
	if (p->spool && !p->spool_failed && sensorspool_sync(p->spool, err, sizeof err))
		spool_fail(p, err);
}

/* The probe's descriptor was reported ready (data, hang-up or error);
 * only when no pump runs. */
static void probe_readable(struct probe *p)
{
	(void)sensorline_readable(p->line, time_mono(), probe_line, p);
	/* a full batch, or a probe just unplugged: record now, so what was
	 * received before the unplug is safe at once */
	if (p->pending_lines >= PROBE_BATCH_LINES ||
	    (p->pending_lines && sensorline_fd(p->line) < 0))
		(void)probe_flush(p);
	probe_spool_sync(p);
}

/* What the pump hands over, in arrival order. */
static void pump_line(void *ctx, size_t idx, size_t line_no, const char *line, size_t len,
		      int flags, double mono, double wall)
{
	struct daemon *d = ctx;
	probe_take(d->probes[idx], line_no, line, len, flags, mono, wall, 0);
}

static void pump_gone(void *ctx, size_t idx)
{
	struct probe *p = ((struct daemon *)ctx)->probes[idx];
	/* a probe just unplugged: what it sent before is recorded at once */
	if (p->pending_lines)
		(void)probe_flush(p);
}

static void pump_lost(void *ctx, size_t idx, uint64_t n)
{
	struct probe *p = ((struct daemon *)ctx)->probes[idx];
	p->lost += n;
	log_warnx("sensor %s: %llu line%s lost: %d lines were waiting to be recorded already, "
		  "and the journal could not hold more",
		  p->shown, (unsigned long long)n, n == 1 ? "" : "s", probe_pending_max);
}

static void pump_spilled(void *ctx, size_t idx, size_t first, size_t last)
{
	struct probe *p = ((struct daemon *)ctx)->probes[idx];
	if (last > p->seq_known)
		p->seq_known = last;
	if (p->defer_from)
		probe_defer_case(p, first);
	else
		probe_defer(p, first, "the loop is busy");
}

static struct sensorpump_cb pump_cb(struct daemon *d)
{
	return (struct sensorpump_cb){pump_line, pump_gone, pump_lost, pump_spilled, d};
}

/* Takes what the pump queued, and records the batches that are full. */
static void pump_drain(struct daemon *d)
{
	struct sensorpump_cb cb = pump_cb(d);
	(void)sensorpump_drain(d->pump, &cb);
	for (size_t i = 0; i < d->n_probes; i++) {
		struct probe *p = d->probes[i];
		if (p->pending_lines >= PROBE_BATCH_LINES)
			(void)probe_flush(p);
		if (p->defer_from && !p->pending_lines)
			probe_catch_up(p);
		probe_spool_sync(p);
	}
}

/* Hands the running probes' readers to a thread of their own. Should no
 * thread start, the loop reads them between files, as it can. */
static void pump_start(struct daemon *d)
{
	struct sensorpump_reader v[CONFIG_MAX_LIST];
	char err[256];
	if (d->pump || !d->n_probes)
		return;
	for (size_t i = 0; i < d->n_probes; i++) {
		struct probe *p = d->probes[i];
		v[i] = (struct sensorpump_reader){p->line, p->spool_failed ? NULL : p->spool,
						  p->seq_known};
	}
	if (sensorpump_start(v, d->n_probes, (size_t)probe_pending_max, &d->pump, err, sizeof err))
		log_warnx("sensors are read between files, so a line may be timed late: %s", err);
}

/* Stops the thread; the lines it still held go to their probes. */
static void pump_stop(struct daemon *d)
{
	struct sensorpump_cb cb = pump_cb(d);
	sensorpump_stop(d->pump, &cb);
	d->pump = NULL;
}

/* ---- lines of a run cut short, from its journal ---- */

struct replay {
	struct daemon *d;
	const char *path;
	struct probe *p;
	size_t lines;
};

static int replay_head(void *ctx, const char *source, const char *spec)
{
	struct replay *r = ctx;
	char err[512];
	if (probe_new(spec, &r->p, err, sizeof err)) {
		log_warnx("%s: the lines of a run cut short cannot be read again now: %s; the "
			  "journal is kept for the next start",
			  r->path, err);
		return -1;
	}
	r->p->d = r->d;
	r->p->replaying = 1;
	snprintf(r->p->source, sizeof r->p->source, "%s", source);
	return 0;
}

static int replay_line(void *ctx, const struct sensorspool_line *l)
{
	struct replay *r = ctx;
	struct probe *p = r->p;
	if (p->replay_case_known != l->case_known || !same_case(p->replay_case, l->case_number)) {
		/* a batch goes to one case: the lines so far first */
		if (p->pending_lines && probe_flush(p))
			return -1;
		take_ctx_free(&p->ctx);
		p->has_ctx = 0;
		free(p->replay_case);
		p->replay_case_known = l->case_known;
		p->replay_case = l->case_number ? xstrdup(l->case_number) : NULL;
	}
	/* the line keeps its number and time in its run */
	probe_take(p, l->line_no, l->raw, l->len, l->flags, time_mono(), l->wall, 0);
	r->lines++;
	if (p->pending_lines >= PROBE_BATCH_LINES && probe_flush(p))
		return -1;
	return 0;
}

/*
 * Records what the journals of runs cut short (power cut, SIGKILL, a
 * store that refused the last batch) still hold, each line with its own
 * time, number, source and case. A line already recorded is not recorded
 * again. A journal is removed once all of it is in the store; one that
 * cannot be read is renamed *.unreadable and kept.
 */
static void probes_recover(struct daemon *d)
{
	char err[512], **paths = NULL;
	size_t n = 0;
	char *dir = sensorspool_dir(store_dir(d->store));
	if (sensorspool_list(dir, &paths, &n, err, sizeof err))
		log_warnx("sensor journals: %s", err);
	for (size_t i = 0; i < n; i++) {
		struct replay r = {d, paths[i], NULL, 0};
		struct sensorspool_reader rd = {replay_head, replay_line, &r};
		size_t bad = 0;
		int rc = sensorspool_read(paths[i], &rd, &bad, err, sizeof err);
		if (!rc && r.p && r.p->pending_lines && probe_flush(r.p))
			rc = EV_ERR;
		if (!rc) {
			if (unlink(paths[i]) == 0 && fs_fsync_dir(dir, err, sizeof err))
				log_warnx("%s", err);
			if (r.lines) { /* else it was cut back after its last batch */
				char *src = ingest_display_path(r.p->source);
				log_info("sensor %s: %zu line%s of the run %s, cut short, recorded "
					 "from its journal",
					 r.p->shown, r.lines, r.lines == 1 ? "" : "s", src);
				free(src);
			}
			if (bad)
				log_warnx("%s: %zu record%s could not be read and %s skipped (the last "
					  "one is torn when power is cut as it is written)",
					  paths[i], bad, bad == 1 ? "" : "s", bad == 1 ? "was" : "were");
		} else if (rc == EV_ERR) {
			log_warnx("%s: not all of it could be recorded; it is kept for the next start",
				  paths[i]);
		} else {
			char *to = xasprintf("%s.unreadable", paths[i]);
			log_warnx("%s; kept as %s", err, to);
			if (rename(paths[i], to))
				log_warnx("%s: %s", paths[i], strerror(errno));
			free(to);
		}
		probe_free(r.p);
		free(paths[i]);
	}
	free(paths);
	free(dir);
}

/* ---------------------------------------------------------- config */

static char *resolve_root(const char *p)
{
	char *r = realpath(p, NULL);
	if (r)
		return r;
	/* not there yet: keep it as given, without a trailing slash */
	char *c = xstrdup(p);
	size_t n = strlen(c);
	while (n > 1 && c[n - 1] == '/')
		c[--n] = '\0';
	return c;
}

int daemon_store_path(const struct daemon_opts *o, const struct config *c,
		      const char *config_path, char **out, char *err, size_t errlen)
{
	const char *env_store = getenv("EVCAP_STORE");
	const char *p = DAEMON_DEFAULT_STORE, *what = "--store";
	*out = NULL;
	if (o->store) {
		p = o->store;
	} else if (env_store && *env_store) {
		p = env_store;
		what = "$EVCAP_STORE";
	} else if (c->store) {
		if (c->store[0] != '/')
			return err_set(err, errlen, EV_EINVAL,
				       "%s: [store] path must be an absolute path, not '%s'",
				       config_path, c->store);
		p = c->store;
	}
	if (!*p)
		return err_set(err, errlen, EV_EINVAL, "%s is empty", what);
	if (p[0] == '/') {
		*out = xstrdup(p);
		return 0;
	}
	char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return err_set(err, errlen, EV_EIO,
			       "%s '%s' is relative, and the current folder cannot be found: %s",
			       what, p, strerror(errno));
	while (p[0] == '.' && (p[1] == '/' || p[1] == '\0')) {
		p++;
		while (*p == '/')
			p++;
	}
	if (!*p)
		*out = xstrdup(cwd);
	else
		*out = xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, p);
	free(cwd);
	return 0;
}

int daemon_watch_check(const char *store_dir, const char *watch, char *err, size_t errlen)
{
	if (watch[0] != '/')
		return err_set(err, errlen, EV_EINVAL, "watch folder '%s' must be an absolute path",
			       watch);
	char *r = resolve_root(watch), *store_real = resolve_root(store_dir);
	int bad = daemon_path_within(store_real, r) || daemon_path_within(r, store_real);
	free(store_real);
	free(r);
	if (bad)
		return err_set(err, errlen, EV_EINVAL,
			       "watch folder %s and the store %s must not contain each other", watch,
			       store_dir);
	return 0;
}

/* Applies the config and the command line: roots, gpsd, settle time. */
static int apply_settings(struct daemon *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->n_roots; i++)
		free(d->roots[i]);
	d->n_roots = 0;
	size_t n = d->opt_n_watch ? d->opt_n_watch : d->cfg.n_watch;
	for (size_t i = 0; i < n; i++) {
		const char *p = d->opt_n_watch ? d->opt_watch[i] : d->cfg.watch[i];
		int rc = daemon_watch_check(d->store_dir, p, err, errlen);
		if (rc)
			return rc;
		char *r = resolve_root(p);
		d->roots[d->n_roots] = r;
		d->root_ok[d->n_roots] = 0;
		d->n_roots++;
	}
	free(d->gps_server);
	d->gps_server = xstrdup(d->opt_gps        ? d->opt_gps
				: d->cfg.gps_server ? d->cfg.gps_server
						    : DAEMON_DEFAULT_GPS);
	if (d->settle)
		settle_set_seconds(d->settle, d->cfg.settle_seconds);
	return probes_plan(d, err, errlen);
}

static int load_config(struct daemon *d, struct config *c, char *err, size_t errlen)
{
	config_init(c);
	int rc = config_load(d->config_path, c, err, errlen);
	d->config_absent = rc == EV_ENOENT && !d->config_explicit;
	if (d->config_absent) {
		config_free(c);
		return 0; /* no file: the defaults */
	}
	if (rc)
		config_free(c);
	return rc;
}

/* Re-opens inotify so every old watch goes at once, then rescans. */
static int reset_watches(struct daemon *d)
{
	if (d->ifd >= 0)
		close(d->ifd);
	watch_clear(d);
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0) {
		log_warn("inotify_init1");
		return EV_EIO;
	}
	return 0;
}

static void reload(struct daemon *d)
{
	struct config c;
	char err[1024];
	notify("RELOADING=1");
	if (load_config(d, &c, err, sizeof err)) {
		log_warnx("config not reloaded: %s", err);
		notify("READY=1");
		return;
	}
	if (c.store && !d->store_given && strcmp(c.store, d->store_dir) != 0)
		log_warnx("a new store (%s) takes effect only when evcapd restarts", c.store);
	char *old_gps = xstrdup(d->gps_server);
	/* the folders watched before: the same ones keep their watches */
	char *old_roots[CONFIG_MAX_LIST];
	size_t n_old_roots = d->n_roots;
	for (size_t i = 0; i < n_old_roots; i++)
		old_roots[i] = xstrdup(d->roots[i]);
	struct config old = d->cfg;
	d->cfg = c;
	if (apply_settings(d, err, sizeof err)) {
		log_warnx("config not reloaded: %s", err);
		config_free(&d->cfg);
		d->cfg = old;
		(void)apply_settings(d, err, sizeof err);
	} else {
		config_free(&old);
		log_info("config reloaded from %s%s: %zu watched folder%s, gpsd %s, %zu sensor%s, "
			 "settle %.1f s",
			 d->config_path, d->config_absent ? " (not there: the defaults)" : "",
			 d->n_roots, d->n_roots == 1 ? "" : "s",
			 *d->gps_server ? d->gps_server : "off", d->n_planned,
			 d->n_planned == 1 ? "" : "s", d->cfg.settle_seconds);
		/* a file saved empty, or half written, is a valid config too:
		 * that no card is watched any more must not pass unnoticed */
		if (d->n_roots == 0)
			log_warnx("no folders to watch now ([capture] watch or --watch); cards are "
				  "not recorded until a reload with a watched folder");
	}
	if (strcmp(old_gps, d->gps_server) != 0) {
		/* the fixes go first: a probe's next batch flushes them */
		gps_stop(d);
		gps_start(d);
	}
	free(old_gps);
	pump_stop(d);
	probes_sync(d);
	pump_start(d);
	/* New watches only for new folders: closing inotify drops the events
	 * it holds, and a file whose close was among them would wait
	 * SETTLE_WRITER_SECONDS as one still open (a SIGHUP while a card is
	 * copied in). The rescan finds what changed either way. */
	int same = n_old_roots == d->n_roots;
	for (size_t i = 0; i < n_old_roots; i++) {
		same = same && strcmp(old_roots[i], d->roots[i]) == 0;
		free(old_roots[i]);
	}
	if (same)
		log_debug("the same %zu folder%s watched: their watches kept", d->n_roots,
			  d->n_roots == 1 ? "" : "s");
	if (same || reset_watches(d) == 0)
		scan_roots(d, "config reloaded");
	notify("READY=1");
}

/* ------------------------------------------------------------ open/free */

int daemon_open(const struct daemon_opts *o, struct daemon **out, char *err, size_t errlen)
{
	int rc = 0;
	struct daemon *d = xcalloc(1, sizeof *d);
	d->ifd = d->sfd = d->tfd = d->mfd = d->lock_fd = -1;
	d->rescan_at = -1;
	*out = NULL;
	d->config_path = xstrdup(o->config_path ? o->config_path : DAEMON_DEFAULT_CONFIG);
	if (d->config_path[0] != '/') {
		/* SIGHUP reads it again, when a detached evcapd is in "/" */
		char *cwd = getcwd(NULL, 0);
		if (!cwd) {
			rc = err_set(err, errlen, EV_EIO,
				     "--config '%s' is relative, and the current folder cannot be "
				     "found: %s",
				     d->config_path, strerror(errno));
			goto out;
		}
		char *abs = xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, d->config_path);
		free(cwd);
		free(d->config_path);
		d->config_path = abs;
	}
	d->config_explicit = o->config_path != NULL;
	d->store_given = o->store || (getenv("EVCAP_STORE") && *getenv("EVCAP_STORE"));
	for (size_t i = 0; i < o->n_watch; i++)
		d->opt_watch[i] = xstrdup(o->watch[i]);
	d->opt_n_watch = o->n_watch;
	d->opt_gps = o->gps ? xstrdup(o->gps) : NULL;
	for (size_t i = 0; i < o->n_sensor; i++)
		d->opt_sensor[i] = xstrdup(o->sensor[i]);
	d->opt_n_sensor = o->n_sensor;
	d->probe_case_id = -1;
	d->foreground = o->foreground;
	const char *gq = getenv("EVCAP_GPS_SILENT_SECONDS");
	d->gps_silent_s = gq && atof(gq) > 0 ? atof(gq) : GPS_SILENT_SECONDS;
	const char *pm = getenv("EVCAP_PROBE_PENDING_MAX");
	if (pm && atoi(pm) > 0)
		probe_pending_max = atoi(pm);
	if ((rc = load_config(d, &d->cfg, err, errlen)))
		goto out;
	if ((rc = daemon_store_path(o, &d->cfg, d->config_path, &d->store_dir, err, errlen)))
		goto out;
	if ((rc = apply_settings(d, err, errlen)))
		goto out;
	if ((rc = fs_mkdir_p(d->store_dir, 0755, err, errlen)))
		goto out;
	if ((rc = daemon_lock_store(d->store_dir, &d->lock_fd, err, errlen)))
		goto out;
	char *db = xasprintf("%s/evidence.db", d->store_dir);
	struct stat dbst;
	int fresh = stat(db, &dbst) < 0 && errno == ENOENT;
	free(db);
	if ((rc = store_open(d->store_dir, STORE_CREATE, &d->store, err, errlen)))
		goto out;
	/* a mistyped --store, or a store disk not mounted, must not pass
	 * unnoticed while evidence goes into a new, empty store */
	if (fresh)
		log_warnx("%s: no evidence store was there; a new one was created (if the store "
			  "should be elsewhere, stop evcapd and give --store or [store] path)",
			  d->store_dir);
	d->settle = settle_new(d->cfg.settle_seconds);
	if (gethostname(d->host, sizeof d->host - 1) < 0)
		snprintf(d->host, sizeof d->host, "unknown");
	*out = d;
	d = NULL;
out:
	daemon_free(d);
	return rc;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	probes_stop(d); /* records what they hold: before the store closes */
	planned_clear(d);
	gps_stop(d);
	free(d->gps_server);
	for (size_t i = 0; i < d->n_roots; i++)
		free(d->roots[i]);
	for (size_t i = 0; i < d->opt_n_watch; i++)
		free(d->opt_watch[i]);
	free(d->opt_gps);
	for (size_t i = 0; i < d->opt_n_sensor; i++)
		free(d->opt_sensor[i]);
	while (ready_count(d))
		free(ready_pop(d));
	free(d->ready);
	for (size_t i = 0; i < d->n_bursts; i++)
		burst_free(d->bursts[i]);
	free(d->bursts);
	strlist_clear(&d->reported);
	strlist_clear(&d->unread_said);
	strlist_clear(&d->present);
	strlist_clear(&d->scan_present);
	strlist_clear(&d->announced);
	settle_free(d->settle);
	watch_clear(d);
	if (d->ifd >= 0)
		close(d->ifd);
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->mfd >= 0)
		close(d->mfd);
	store_close(d->store);
	if (d->lock_fd >= 0)
		close(d->lock_fd); /* releases the lock */
	config_free(&d->cfg);
	free(d->config_path);
	free(d->store_dir);
	free(d);
}

/* ---------------------------------------------------------------- loop */

static int setup_fds(struct daemon *d)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		log_warn("sigprocmask");
		return EV_EIO;
	}
	signal(SIGPIPE, SIG_IGN);
	d->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sfd < 0 || d->tfd < 0) {
		log_warn("signalfd/timerfd");
		return EV_EIO;
	}
	/* the mount table: poll() reports POLLPRI when a mount comes or goes */
	d->mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (d->mfd < 0)
		log_warn("/proc/self/mountinfo: new mounts are found only by the periodic rescan");
	return reset_watches(d);
}

static void handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	while (read(d->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			d->reload = 1;
		} else if (!d->stop) {
			log_info("signal %s received: finishing and stopping",
				 si.ssi_signo == SIGTERM ? "TERM" : "INT");
			d->stop = 1;
		}
	}
}

static void handle_mounts(struct daemon *d)
{
	/* mountinfo must be read to the end for the next change to show */
	char buf[4096];
	lseek(d->mfd, 0, SEEK_SET);
	while (read(d->mfd, buf, sizeof buf) > 0)
		;
	d->n_media = 0;
	if (d->rescan_at < 0)
		d->rescan_at = time_mono() + MOUNT_SETTLE_SECONDS;
}

/* Moves the settling list's complete files onto the ready queue. */
static void check_settling(struct daemon *d, double now)
{
	const char *due[DUE_BATCH];
	size_t n = settle_due(d->settle, now, due, DUE_BATCH);
	/* copies: observe may drop entries, which frees their paths */
	char *paths[DUE_BATCH];
	for (size_t i = 0; i < n; i++)
		paths[i] = xstrdup(due[i]);
	double wall = time_now();
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		enum settle_state s;
		if (lstat(paths[i], &st) < 0) {
			/* gone before it was read: a card pulled mid-offload. Named
			 * once, and counted in the burst as not recorded (it is
			 * taken if the card comes back, and then counted so). A
			 * folder on its path that evcapd may not search is said as
			 * that, not as a card removed */
			int e = errno;
			if (!settle_missing(d->settle, paths[i])) {
				struct ingest_stats none = {0};
				char *shown = ingest_display_path(paths[i]);
				if (e == EACCES || e == EPERM)
					log_warnx("%s: cannot be looked at: %s (a folder on its path "
						  "does not let evcapd's user in: give it read and "
						  "search permission); it is tried again",
						  shown, strerror(e));
				else if (e == ENOENT || e == ENOTDIR)
					log_warnx("%s: gone before it was read (the card removed?); "
						  "it is taken if it comes back",
						  shown);
				else
					log_warnx("%s: cannot be looked at: %s; it is tried again",
						  shown, strerror(e));
				free(shown);
				burst_count(d, burst_of_gone(d, paths[i]), paths[i], INGEST_FAILED,
					    &none);
			}
			s = settle_observe(d->settle, paths[i], 0, 0, 0, 0, now);
			if (s == SETTLE_GONE) {
				char *shown = ingest_display_path(paths[i]);
				log_info("%s: gone for an hour; no longer waiting for it", shown);
				free(shown);
				strlist_drop(&d->reported, paths[i], 0);
			}
		} else if (!S_ISREG(st.st_mode)) {
			/* come since the last look (a rescan says it at debug
			 * level, each time): named once as it arrives */
			if (!S_ISDIR(st.st_mode)) {
				char *shown = ingest_display_path(paths[i]);
				log_info("%s: not a regular file (%s); not recorded", shown,
					 S_ISLNK(st.st_mode)	 ? "a symbolic link"
					 : S_ISFIFO(st.st_mode) ? "a FIFO"
					 : S_ISSOCK(st.st_mode) ? "a socket"
								: "a device");
				free(shown);
			}
			settle_forget(d->settle, paths[i]);
			s = SETTLE_GONE;
		} else {
			double age = wall - ((double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9);
			s = settle_observe(d->settle, paths[i], 1, (uint64_t)st.st_size, mtime_ns(&st),
					   age, now);
		}
		if (s == SETTLE_READY) {
			/* parked while queued; taking it resolves it */
			settle_park(d->settle, paths[i]);
			ready_push(d, paths[i]);
		}
		free(paths[i]);
	}
}

static void arm_timer(struct daemon *d, double deadline)
{
	struct itimerspec its = {0};
	double now = time_mono();
	if (deadline <= now)
		deadline = now + 0.001;
	its.it_value.tv_sec = (time_t)deadline;
	its.it_value.tv_nsec = (long)((deadline - floor(deadline)) * 1e9);
	if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("timerfd_settime");
}

/*
 * Says when the system clock was set (chrony stepping it once it has a
 * source, an appliance with no clock battery starting in the past, or
 * someone with date -s): what this machine timed by its clock before (a
 * probe line without a time of its own, custody events) and what it times
 * after differ by that much, and the log says from when. Looked at on every turn of the loop,
 * which turns at least every ROOT_RETRY_SECONDS.
 */
static void clock_watch(struct daemon *d, double now)
{
	double wall = time_now(), off = wall - now;
	if (d->clock_looked > 0) {
		double jump = off - d->clock_off;
		if (fabs(jump) > CLOCK_STEP_SECONDS + 0.001 * (now - d->clock_looked)) {
			char iso[32];
			time_format_iso(wall, iso);
			log_warnx("the system clock was set %s by %.0f s (it now reads %s): times "
				  "this machine takes from its clock (sensor lines without a time of "
				  "their own, custody events) differ by as much before and after",
				  jump > 0 ? "forward" : "back", fabs(jump), iso);
		}
	}
	d->clock_off = off;
	d->clock_looked = now;
}

/* Does whatever time has made due; returns the next deadline. */
static double timed_work(struct daemon *d)
{
	double now = time_mono();
	char err[512];
	clock_watch(d, now);
	if (d->rescan_at >= 0 && d->rescan_at <= now) {
		d->rescan_at = -1;
		d->n_media = 0;
		scan_roots(d, "mounts or folders changed");
	}
	if (now >= d->next_full_rescan)
		scan_roots(d, "periodic");
	if (now >= d->next_root_retry) {
		for (size_t i = 0; i < d->n_roots; i++)
			if (d->root_ok[i] == -1 && access(d->roots[i], F_OK) == 0)
				d->rescan_at = now;
		d->next_root_retry = now + ROOT_RETRY_SECONDS;
	}
	check_settling(d, now);
	double next = min_deadline(settle_next_deadline(d->settle), d->next_full_rescan);
	next = min_deadline(next, d->rescan_at);
	next = min_deadline(next, d->next_root_retry);
	if (d->gps)
		next = min_deadline(next, now + gpsclient_tick(d->gps, now));
	next = min_deadline(next, gps_watch_silence(d, now));
	next = min_deadline(next, probes_tick(d, now));
	if (d->fixes) {
		if (geotag_batch_tick(d->fixes, now, err, sizeof err))
			log_gps_refused(d, err);
		next = min_deadline(next, now + geotag_batch_due(d->fixes, now));
	}
	if (d->watchdog_usec) {
		watchdog_ping(d);
		next = min_deadline(next, d->next_watchdog);
	}
	next = min_deadline(next, end_bursts(d, now, 0));
	return next;
}

static void status_line(struct daemon *d)
{
#ifdef HAVE_SYSTEMD
	if (sd_ready())
		sd.notifyf(0, "STATUS=watching %zu folder%s, %zu file%s waiting", d->n_watches,
			   d->n_watches == 1 ? "" : "s", settle_count(d->settle),
			   settle_count(d->settle) == 1 ? "" : "s");
#else
	(void)d;
#endif
}

int daemon_run(struct daemon *d)
{
	if (setup_fds(d))
		return 1;
	/* the pid in the lock file is this process's, after any detach */
	char pid[32];
	int pn = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid, (size_t)pn, 0) != pn)
		log_warn("%s/evcapd.lock: cannot write the pid", d->store_dir);
	reserve_make(d->store_dir);
#ifdef HAVE_SYSTEMD
	if (!sd_ready() || sd.watchdog_enabled(0, &d->watchdog_usec) <= 0)
		d->watchdog_usec = 0;
#endif
	log_info("evcapd starting: store %s, %zu watched folder%s, gpsd %s, %zu sensor%s, "
		 "settle %.1f s",
		 d->store_dir, d->n_roots, d->n_roots == 1 ? "" : "s",
		 d->gps_server && *d->gps_server ? d->gps_server : "off", d->n_planned,
		 d->n_planned == 1 ? "" : "s", d->cfg.settle_seconds);
	if (d->n_roots == 0)
		log_warnx("no folders to watch ([capture] watch or --watch); only logging GPS%s",
			  d->n_planned ? " and sensors" : "");
	/* what the first card will be recorded under, said before it comes:
	 * no case at all, one that is closed, or one the store lacks */
	char *in_use = store_meta_get(d->store, "current_case");
	if (!in_use && !d->cfg.case_number) {
		log_warnx("no case is in use: files will be recorded without a case ('evcap case "
			  "use CASE' selects one; 'evcap case add CASE --unassigned' puts them in "
			  "one later)");
	} else {
		struct take_ctx t;
		take_ctx_init(d, &t, 1);
		if (t.o.case_id > 0)
			log_info("case in use: %s", t.o.case_number);
		take_ctx_free(&t);
	}
	free(in_use);
	gps_start(d);
	probes_recover(d);
	probes_sync(d);
	/* the metadata parser's fork server before any other thread exists */
	ingest_parser_start();
	pump_start(d);
	scan_roots(d, "start");
	notify("READY=1");
	status_line(d);

	while (!d->stop) {
		double next = timed_work(d);
		if (d->stop)
			break;
		int busy = ready_count(d) > 0;
		if (!busy && next >= 0)
			arm_timer(d, next);
		struct pollfd p[6 + CONFIG_MAX_LIST];
		int np = 0, pi[CONFIG_MAX_LIST];
		p[np++] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = d->ifd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = d->tfd, .events = POLLIN};
		int mi = -1, gi = -1;
		if (d->mfd >= 0) {
			mi = np;
			p[np++] = (struct pollfd){.fd = d->mfd, .events = POLLPRI};
		}
		if (d->gps && gpsclient_fd(d->gps) >= 0) {
			gi = np;
			p[np++] = (struct pollfd){.fd = gpsclient_fd(d->gps), .events = POLLIN};
		}
		int ki = -1;
		if (d->pump) {
			ki = np;
			p[np++] = (struct pollfd){.fd = sensorpump_fd(d->pump), .events = POLLIN};
		}
		/* a probe's descriptor changes with each reconnect: asked anew each turn */
		for (size_t i = 0; i < d->n_probes; i++) {
			int fd = d->pump ? -1 : sensorline_fd(d->probes[i]->line);
			pi[i] = fd >= 0 ? np : -1;
			if (fd >= 0)
				p[np++] = (struct pollfd){.fd = fd, .events = POLLIN};
		}
		int r = poll(p, (nfds_t)np, busy ? 0 : -1);
		if (r < 0 && errno != EINTR) {
			log_warn("poll");
			return 1;
		}
		if (r > 0) {
			if (p[0].revents)
				handle_signals(d);
			if (p[1].revents)
				handle_inotify(d);
			if (p[2].revents) {
				uint64_t ticks;
				if (read(d->tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
					log_warn("timerfd read");
			}
			if (mi >= 0 && (p[mi].revents & (POLLPRI | POLLERR)))
				handle_mounts(d);
			if (gi >= 0 && p[gi].revents)
				(void)gpsclient_handle_readable(d->gps, time_mono());
			for (size_t i = 0; i < d->n_probes; i++)
				if (pi[i] >= 0 && (p[pi[i]].revents & (POLLIN | POLLHUP | POLLERR)))
					probe_readable(d->probes[i]);
			if (ki >= 0 && p[ki].revents)
				pump_drain(d);
		}
		/* a reload that came with a stop is not done: the stop
		 * finishes what waits, under the settings it was taken with */
		if (d->reload && !d->stop) {
			d->reload = 0;
			reload(d);
		}
		if (d->stop)
			break;
		/* take complete files for a short slice, then look at poll() again */
		double until = time_mono() + INGEST_SLICE_SECONDS;
		char *path;
		int took = 0;
		while (time_mono() < until && (path = ready_pop(d))) {
			take_file(d, path);
			free(path);
			took = 1;
		}
		if (took)
			status_line(d);
	}
	notify("STOPPING=1");
	/* files still queued are found again by the next start's rescan */
	(void)end_bursts(d, time_mono(), 1);
	probes_stop(d);
	gps_stop(d);
	log_info("evcapd stopped");
	return 0;
}
