/*
 * evcap notify: runs in the desktop session of the person at the laptop,
 * and turns each summary evcapd writes after a burst of files (STORE/
 * last-burst.json: "302 files, 18.1 GB, 0 problems, 2 already recorded,
 * case 15号") into a desktop notification, through the freedesktop
 * notification service on the session bus. evcapd runs as its own system
 * user and cannot reach anyone's desktop; this reads a file it may read.
 */
#include <errno.h>
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

/* Shows one notification; *bus is opened on first use and dropped after
 * a failure, so a desktop that comes later is found. */
static int show(sd_bus **bus, const char *title, const char *body, int urgent, char *err,
		size_t errlen)
{
	int r;
	if (!*bus && (r = sd_bus_open_user(bus)) < 0) {
		*bus = NULL;
		return err_set(err, errlen, EV_ERR,
			       "no desktop session bus (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR): %s",
			       strerror(-r));
	}
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	/* Notify(app_name, replaces_id, app_icon, summary, body, actions,
	 * hints, expire_timeout): urgency 1 normal, 2 critical */
	r = sd_bus_call_method(*bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
			       "org.freedesktop.Notifications", "Notify", &e, &reply,
			       "susssasa{sv}i", "evcap", (uint32_t)0, "drive-removable-media", title,
			       body, 0, 1, "urgency", "y", (uint8_t)(urgent ? 2 : 1), (int32_t)-1);
	if (r < 0) {
		err_set(err, errlen, EV_ERR, "%s", e.message ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		*bus = sd_bus_flush_close_unref(*bus);
		return EV_ERR;
	}
	sd_bus_message_unref(reply);
	return 0;
}
#endif

/* Reads the summary file: 0, or an error naming it. */
static int read_burst(const char *path, char **summary, int *problems, char *err, size_t errlen)
{
	struct buf b;
	buf_init(&b, 65536);
	int rc = fs_read_file(path, 65536, &b, err, errlen);
	json_t *o = rc ? NULL : json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	if (rc)
		return rc;
	const char *s = json_string_value(json_object_get(o, "summary"));
	if (!s) {
		json_decref(o);
		return err_set(err, errlen, EV_ECORRUPT, "%s: not a summary evcapd wrote", path);
	}
	*summary = xstrdup(s);
	*problems = (int)json_integer_value(json_object_get(o, "problems"));
	json_decref(o);
	return 0;
}

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
	const char *dir = cli->store_dir;
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "evcap notify: %s: %s\n", dir,
			errno ? strerror(errno) : "not a directory");
		return EXIT_USAGE;
	}
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		fprintf(stderr, "evcap notify: cannot watch %s: %s\n", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	if (cli->verbosity >= 0)
		fprintf(stderr, "evcap notify: waiting for evcapd's summaries in %s\n", dir);
	char *path = xasprintf("%s/%s", dir, DAEMON_BURST_FILE);
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
			if (e->len && strcmp(e->name, DAEMON_BURST_FILE) == 0)
				fresh = 1;
			p += sizeof *e + e->len;
		}
		if (!fresh)
			continue;
		char err[512], *summary = NULL;
		int problems = 0;
		if (read_burst(path, &summary, &problems, err, sizeof err)) {
			fprintf(stderr, "evcap notify: %s\n", err);
			continue;
		}
		printf("%s\n", summary);
		fflush(stdout);
		int shown = show(&bus,
				 problems ? "evcap: files recorded, with problems" : "evcap: files recorded",
				 summary, problems > 0, err, sizeof err) == 0;
		if (!shown)
			fprintf(stderr, "evcap notify: the summary above could not be shown as a "
					"notification: %s\n",
				err);
		free(summary);
		if (once) {
			rc = shown ? EXIT_OK : EXIT_PROBLEM;
			break;
		}
	}
	sd_bus_flush_close_unref(bus);
	free(path);
	close(fd);
	return rc;
#endif
}
