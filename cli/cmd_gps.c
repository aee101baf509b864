/*
 * evcap gps log: records the fixes of a running gpsd into the store until
 * SIGTERM or SIGINT. The same gpsclient and batch that evcapd uses, in a
 * small ppoll() loop of its own; signals are blocked except inside ppoll,
 * so a stop request is never lost between a check and the wait.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "custody.h"
#include "daemon.h"
#include "geotag.h"
#include "gpsclient.h"
#include "log.h"
#include "timeutil.h"

#define GPS_BATCH_FIXES 50    /* commit after this many fixes ... */
#define GPS_BATCH_SECONDS 1.0 /* ... or when the oldest is this old */
#define GPS_PROGRESS_EVERY 100

static volatile sig_atomic_t gps_stop;

static void gps_on_signal(int sig)
{
	(void)sig;
	gps_stop = 1;
}

struct gps_ctx {
	struct geotag_batch *batch;
	int verbose;
	uint64_t seen;
	int failed;        /* polling failed, or the last commit: stop */
	uint64_t lost;     /* fixes not kept: too many held while the store refused them */
	char err[1024];
	double first_t, last_t;
};

static void gps_on_fix(void *arg, const struct fix *f)
{
	struct gps_ctx *g = arg;
	if (g->failed)
		return;
	if (g->seen == 0)
		g->first_t = f->t;
	g->last_t = f->t;
	g->seen++;
	double now = time_now();
	if (geotag_batch_add(g->batch, f, now, g->err, sizeof g->err) != 0) {
		if (g->lost++ % 3600 == 0) /* the first, then once an hour at 1 Hz */
			fprintf(stderr, "evcap gps log: %s\n", g->err);
		return;
	}
	/* a refused commit keeps the fixes and is tried again a moment later */
	if (geotag_batch_tick(g->batch, now, g->err, sizeof g->err) != 0)
		fprintf(stderr, "evcap gps log: storing fixes: %s\n", g->err);
	if (g->verbose > 0 || (g->verbose == 0 && g->seen % GPS_PROGRESS_EVERY == 0)) {
		char iso[32];
		time_format_iso(f->t, iso);
		fprintf(stderr, "evcap gps log: %llu fix%s, last %s %.7f %.7f mode %dD\n",
			(unsigned long long)g->seen, g->seen == 1 ? "" : "es", iso, f->lat, f->lon,
			f->mode);
	}
}

static void gps_on_log(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "evcap gps log: %s\n", msg);
}

int cmd_gps(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	static const char help[] =
		"  gps log [--server HOST:PORT]   store every usable gpsd fix until SIGTERM or\n"
		"                                 SIGINT (default: config [gps] server, else\n"
		"                                 " DAEMON_DEFAULT_GPS ", as for evcapd); -v prints\n"
		"                                 each fix\n";
	const char *server = NULL;
	int c, rc = EXIT_PROBLEM;
	char host[256], port[8], err[512];
	struct gpsclient *gc = NULL;
	struct gps_ctx g;
	sigset_t block, orig;
	memset(&g, 0, sizeof g);

	if ((rc = cli_subcommand(cli, argc, argv, help, "log")) >= 0)
		return rc;
	rc = EXIT_PROBLEM;
	if (strcmp(argv[1], "log") != 0)
		return cli_unknown_subcommand(cli, argv[1], "log");
	argc--;
	argv++;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'h': cli_print_help(cli, help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "gps log takes no arguments");
	if (!server)
		server = cli->cfg->gps_server && *cli->cfg->gps_server ? cli->cfg->gps_server
								      : DAEMON_DEFAULT_GPS;
	if (config_split_hostport(server, host, port) != 0)
		return cli_usage_error(cli, "'%s' is not HOST:PORT", server);

	struct store *s = cli_store(cli, CLI_WRITE);
	g.verbose = cli->verbosity;
	if (gpsclient_new(host, port, gps_on_fix, &g, &gc, err, sizeof err) != 0) {
		cli_warn("evcap gps log: %s", err);
		return EXIT_USAGE;
	}
	gpsclient_set_log(gc, gps_on_log, NULL);
	g.batch = geotag_batch_new(s, gpsclient_source(gc), GPS_BATCH_FIXES, GPS_BATCH_SECONDS);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = gps_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigset_t waitmask = orig;
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	if (cli->verbosity >= 0)
		fprintf(stderr, "evcap gps log: logging fixes from %s (stop with Ctrl-C)\n",
			gpsclient_source(gc));
	while (!gps_stop && !g.failed) {
		double now = time_now();
		double wait = gpsclient_tick(gc, now);
		double due = geotag_batch_due(g.batch, now);
		if (due < wait)
			wait = due;
		if (wait > 1.0)
			wait = 1.0;
		struct pollfd pfd = {.fd = gpsclient_fd(gc), .events = POLLIN};
		struct timespec ts = {.tv_sec = (time_t)wait,
				      .tv_nsec = (long)((wait - floor(wait)) * 1e9)};
		int n = ppoll(&pfd, pfd.fd >= 0 ? 1 : 0, &ts, &waitmask);
		if (n < 0 && errno != EINTR) {
			snprintf(g.err, sizeof g.err, "poll: %s", strerror(errno));
			g.failed = 1;
			break;
		}
		now = time_now();
		if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			(void)gpsclient_handle_readable(gc, now);
		if (!g.failed && geotag_batch_tick(g.batch, now, g.err, sizeof g.err) != 0)
			fprintf(stderr, "evcap gps log: storing fixes: %s\n", g.err);
	}
	gpsclient_flush(gc);
	if (!g.failed && geotag_batch_flush(g.batch, err, sizeof err) != 0) {
		size_t held = geotag_batch_held(g.batch);
		snprintf(g.err, sizeof g.err, "%zu fix%s could not be stored: %s", held,
			 held == 1 ? "" : "es", err);
		g.failed = 1;
	}

	/* One custody event for the session: what was recorded and from where. */
	const struct gpsclient_stats *gs = gpsclient_get_stats(gc);
	json_t *d = json_object();
	json_object_set_new(d, "source", json_string(gpsclient_source(gc)));
	json_object_set_new(d, "fixes", json_integer((json_int_t)g.seen));
	json_object_set_new(d, "stored", json_integer((json_int_t)geotag_batch_stored(g.batch)));
	json_object_set_new(d, "simulated", json_integer((json_int_t)gs->simulated));
	json_object_set_new(d, "no_fix", json_integer((json_int_t)gs->no_fix));
	json_object_set_new(d, "no_time", json_integer((json_int_t)gs->no_time));
	json_object_set_new(d, "connects", json_integer((json_int_t)gs->connects));
	json_object_set_new(d, "drops", json_integer((json_int_t)gs->drops));
	if (g.lost)
		json_object_set_new(d, "lost", json_integer((json_int_t)g.lost));
	if (g.seen) {
		char a[32], b[32];
		time_format_iso(g.first_t, a);
		time_format_iso(g.last_t, b);
		json_object_set_new(d, "first", json_string(a));
		json_object_set_new(d, "last", json_string(b));
	}
	int unrecorded = 0; /* the fixes are stored, but the log does not say so */
	if (store_begin(s, err, sizeof err) ||
	    custody_append(s, time_now(), cli->actor, "gps-log", NULL, NULL, d, NULL, err,
			   sizeof err) ||
	    store_commit(s, err, sizeof err)) {
		store_rollback(s);
		fprintf(stderr, "evcap gps log: could not record the session in the custody log: "
				"%s\n", err);
		unrecorded = 1;
	}
	json_decref(d);

	char lost[64] = "";
	if (g.lost)
		snprintf(lost, sizeof lost, ", %llu not kept (the store was held too long)",
			 (unsigned long long)g.lost);
	unsigned long long reconnects = gs->connects ? gs->connects - 1 : 0;
	if (cli->verbosity >= 0)
		fprintf(stderr,
			"evcap gps log: stopped; %llu fix%s (%llu new), %llu simulated, %llu without "
			"fix, %llu without time, %llu reconnect%s%s\n",
			(unsigned long long)g.seen, g.seen == 1 ? "" : "es",
			(unsigned long long)geotag_batch_stored(g.batch),
			(unsigned long long)gs->simulated, (unsigned long long)gs->no_fix,
			(unsigned long long)gs->no_time, reconnects, reconnects == 1 ? "" : "s", lost);
	if (g.failed)
		fprintf(stderr, "evcap gps log: %s\n", g.err);
	else if (!unrecorded)
		rc = EXIT_OK;
	gpsclient_free(gc);
	geotag_batch_free(g.batch);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}
