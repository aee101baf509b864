/*
 * evcap notify: runs in the desktop session of the person at the laptop,
 * and turns each summary evcapd adds after a burst of files (a line of
 * STORE/bursts.jsonl: "302 files, 18.1 GB, 0 problems, 2 already recorded,
 * case 15号") into a desktop notification, through the freedesktop
 * notification service on the session bus. evcapd runs as its own system
 * user and cannot reach anyone's desktop; this reads a file it may read.
 * The file is read on as it grows, so summaries written close together
 * (two cards ending at once) are each shown, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "daemon.h"
#include "fsutil.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-bus.h>

#include "dynlib.h"

/* libsystemd is opened by this command only (dynlib.h) */
#ifndef EVCAP_SONAME_SYSTEMD
#define EVCAP_SONAME_SYSTEMD "libsystemd.so.0"
#endif
#define BUS_FNS(X)                                                                            \
	X(open_user) X(call_method) X(error_free) X(flush_close_unref) X(message_unref)
#define BUS_PTR(f) DYNLIB_PTR(sd_bus_, f)
static struct {
	BUS_FNS(BUS_PTR)
} sdb;
#define BUS_SYM(f) DYNLIB_SYM(sdb, sd_bus_, f)
static const struct dynlib_sym bus_syms[] = {BUS_FNS(BUS_SYM)};
static struct dynlib bus_lib =
	DYNLIB_INIT(EVCAP_SONAME_SYSTEMD, "to reach the desktop's notifications", bus_syms);

/* Shows one notification; *bus is opened on first use and dropped after
 * a failure, so a desktop that comes later is found. */
static int show(sd_bus **bus, const char *title, const char *body, int urgent, char *err,
		size_t errlen)
{
	int r;
	if (!*bus && (r = sdb.open_user(bus)) < 0) {
		*bus = NULL;
		return err_set(err, errlen, EV_ERR,
			       "no desktop session bus (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR): %s",
			       strerror(-r));
	}
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	/* Notify(app_name, replaces_id, app_icon, summary, body, actions,
	 * hints, expire_timeout): urgency 1 normal, 2 critical */
	r = sdb.call_method(*bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
			    "org.freedesktop.Notifications", "Notify", &e, &reply, "susssasa{sv}i",
			    "evcap", (uint32_t)0, "drive-removable-media", title, body, 0, 1,
			    "urgency", "y", (uint8_t)(urgent ? 2 : 1), (int32_t)-1);
	if (r < 0) {
		err_set(err, errlen, EV_ERR, "%s", e.message ? e.message : strerror(-r));
		sdb.error_free(&e);
		*bus = sdb.flush_close_unref(*bus);
		return EV_ERR;
	}
	sdb.message_unref(reply);
	return 0;
}

/*
 * STORE/bursts.jsonl as it grows: the file open, read up to its end, and
 * the start of a line whose end has not come yet. evcapd only appends to
 * it, and renames it away (DAEMON_BURST_LOG ".1") when it is full: the
 * open file is read to its end before the new one is taken up, so a line
 * written just before is not missed either.
 */
struct burst_log {
	char *path;
	int fd; /* -1 while there is no file */
	dev_t dev;
	ino_t ino;
	struct buf part;
};

/* Opens the file at path if there is one, at its end when at_end (the
 * summaries from before notify started are not news). */
static void burst_log_open(struct burst_log *bl, int at_end)
{
	struct stat st;
	buf_reset(&bl->part);
	bl->fd = open(bl->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (bl->fd < 0)
		return;
	if (fstat(bl->fd, &st) < 0 || (at_end && lseek(bl->fd, 0, SEEK_END) < 0)) {
		close(bl->fd);
		bl->fd = -1;
		return;
	}
	bl->dev = st.st_dev;
	bl->ino = st.st_ino;
}

/* 1 when path names another file than the one open (evcapd began a new
 * one, or there was none), 0 when the same or none. */
static int burst_log_replaced(const struct burst_log *bl)
{
	struct stat st;
	if (stat(bl->path, &st) < 0)
		return 0;
	return bl->fd < 0 || st.st_dev != bl->dev || st.st_ino != bl->ino;
}

/* One line: its summary and problem count, or an error naming the file. */
static int parse_burst(const char *path, const char *line, size_t len, char **summary,
		       int *problems, char *err, size_t errlen)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *s = json_string_value(json_object_get(o, "summary"));
	if (!s) {
		json_decref(o);
		return err_set(err, errlen, EV_ECORRUPT, "%s: a line that is not a summary evcapd "
				"wrote", path);
	}
	*summary = xstrdup(s);
	*problems = (int)json_integer_value(json_object_get(o, "problems"));
	json_decref(o);
	return 0;
}

/* Shows a summary: printed, and as a notification. 1 if it was shown. */
static int tell(sd_bus **bus, const char *summary, int problems)
{
	char err[512];
	printf("%s\n", summary);
	fflush(stdout);
	if (show(bus, problems ? "evcap: files recorded, with problems" : "evcap: files recorded",
		 summary, problems > 0, err, sizeof err) == 0)
		return 1;
	fprintf(stderr, "evcap notify: the summary above could not be shown as a notification: "
			"%s\n",
		err);
	return 0;
}

/*
 * Shows every whole line added since the last call, in order, and then
 * those of a new file that has taken the name. Returns how many were
 * shown (shown counts those that reached the desktop); with once, it
 * stops after the first.
 */
static int burst_log_drain(struct burst_log *bl, sd_bus **bus, int once, int *shown)
{
	int told = 0;
	for (;;) {
		char chunk[8192];
		ssize_t n = bl->fd < 0 ? 0 : read(bl->fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fprintf(stderr, "evcap notify: %s: %s\n", bl->path, strerror(errno));
		if (n <= 0) {
			if (!burst_log_replaced(bl))
				return told;
			if (bl->fd >= 0)
				close(bl->fd);
			burst_log_open(bl, 0);
			if (bl->fd < 0) {
				fprintf(stderr, "evcap notify: %s: %s\n", bl->path, strerror(errno));
				return told;
			}
			continue;
		}
		if (buf_append(&bl->part, chunk, (size_t)n)) {
			fprintf(stderr, "evcap notify: %s: a line longer than %zu bytes; left out\n",
				bl->path, bl->part.max);
			buf_reset(&bl->part);
			continue;
		}
		char *line = bl->part.data, *nl;
		while ((nl = memchr(line, '\n', bl->part.len - (size_t)(line - bl->part.data)))) {
			char err[512], *summary = NULL;
			int problems = 0;
			if (parse_burst(bl->path, line, (size_t)(nl - line), &summary, &problems, err,
					sizeof err)) {
				cli_warn("evcap notify: %s", err);
			} else {
				*shown += tell(bus, summary, problems);
				free(summary);
				told++;
			}
			line = nl + 1;
			if (once && told)
				return told;
		}
		size_t rest = bl->part.len - (size_t)(line - bl->part.data);
		memmove(bl->part.data, line, rest);
		bl->part.len = rest;
		bl->part.data[rest] = '\0';
	}
}
#endif

int cmd_notify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"once", no_argument, NULL, '1'}, {"help", no_argument, NULL, 'h'}, {0}};
	int c, once = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == '1') {
			once = 1;
		} else if (c == 'h') {
			cli_print_help(cli,
				       "Run it in the desktop session (evcap-notify.desktop starts it at "
				       "login). After each burst of\n"
				       "files evcapd takes, it prints evcapd's summary and shows it as a "
				       "desktop notification,\n"
				       "marked urgent when there were problems. The store must be "
				       "readable (the evcap group).\n\n"
				       "  --once   exit after the next summary: 0 when it was shown, 1 "
				       "when it could not be\n");
			return EXIT_OK;
		} else {
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
#ifndef HAVE_SYSTEMD
	(void)once;
	fprintf(stderr, "evcap notify: this evcap was built without libsystemd, so it cannot reach "
			"the desktop's notification service\n");
	return EXIT_USAGE;
#else
	char lerr[320];
	if (dynlib_load(&bus_lib, lerr, sizeof lerr)) {
		fprintf(stderr, "evcap notify: %s\n", lerr);
		return EXIT_USAGE;
	}
	/* the store is not opened (evcapd's summaries are files in it), but
	 * a folder that is none would be waited on for ever: refused in the
	 * words store_open and cli_store use */
	const char *dir = cli->store_dir;
	struct stat st;
	char *db = xasprintf("%s/evidence.db", dir);
	int no_dir = stat(dir, &st) < 0, not_dir = !no_dir && !S_ISDIR(st.st_mode);
	int no_db = !no_dir && !not_dir && stat(db, &st) < 0;
	free(db);
	if (no_dir || not_dir || no_db) {
		if (no_dir)
			fprintf(stderr, "evcap notify: no evidence store at %s (run 'evcap init' "
					"first, or give --store)\n", dir);
		else if (not_dir)
			fprintf(stderr, "evcap notify: %s is a file, not a folder; the evidence "
					"store is a folder (give --store the store's folder)\n", dir);
		else
			fprintf(stderr, "evcap notify: %s is not an evidence store (no "
					"evidence.db; run 'evcap init')\n", dir);
		return EXIT_USAGE;
	}
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		fprintf(stderr, "evcap notify: cannot watch %s: %s\n", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	if (cli->verbosity >= 0)
		fprintf(stderr, "evcap notify: waiting for evcapd's summaries in %s\n", dir);
	struct burst_log bl = {.path = xasprintf("%s/" DAEMON_BURST_LOG, dir), .fd = -1};
	buf_init(&bl.part, 65536);
	burst_log_open(&bl, 1);
	sd_bus *bus = NULL;
	int rc = EXIT_OK;
	_Alignas(struct inotify_event) char ev[4096];
	for (;;) {
		ssize_t n = read(fd, ev, sizeof ev);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "evcap notify: watching %s failed: %s\n", dir,
				n < 0 ? strerror(errno) : "end of events");
			rc = EXIT_PROBLEM;
			break;
		}
		int fresh = 0;
		for (char *p = ev; p < ev + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			if (e->len && strcmp(e->name, DAEMON_BURST_LOG) == 0)
				fresh = 1;
			p += sizeof *e + e->len;
		}
		int shown = 0;
		if (fresh && burst_log_drain(&bl, &bus, once, &shown) && once) {
			rc = shown ? EXIT_OK : EXIT_PROBLEM;
			break;
		}
	}
	sdb.flush_close_unref(bus);
	if (bl.fd >= 0)
		close(bl.fd);
	buf_free(&bl.part);
	free(bl.path);
	close(fd);
	return rc;
#endif
}
