/*
 * evcapd: the capture daemon's entry point. It parses the command line,
 * sets up logging (journald priority prefixes when stderr is the journal),
 * opens the daemon (config, store lock, store) and runs its loop; the work
 * itself is in capture/daemon.c. With --check-config it only reads the
 * config and the command line and says whether evcapd would start on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "ingest.h"
#include "log.h"
#include "sensor.h"
#include "sensorline.h"

#define EVCAPD_VERSION "0.1.0"

/* "evcapd: <err><tail>" on stderr, a control character in err (from a
 * path or a value given) shown escaped, as in every log line */
static void say(const char *err, const char *tail)
{
	char *copy;
	fprintf(stderr, "evcapd: %s%s\n", log_one_line(err, &copy), tail);
	free(copy);
}

/* 1 when stderr is the journal's stream: systemd sets JOURNAL_STREAM to
 * "DEV:INODE" of the socket it connected stderr to. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/*
 * Leaves the terminal: forks, and the child starts a new session. It
 * happens before the daemon is opened, since an SQLite connection must
 * not cross a fork: the locks on the database and its -shm file are a
 * process's, so a child using a connection its parent opened holds none,
 * and the next `evcap` on the store took itself for the last user, and
 * removed the WAL the child went on writing every item into. The parent
 * waits for the child to say it has opened the daemon (a byte on *ready,
 * see detach_done) and exits 0; if the child exits first (its message is
 * on the stderr both share) the parent exits with its status. Returns 0
 * in the child, -1 (errno set) if there is no child.
 */
static int detach(int *ready)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		char c;
		ssize_t n;
		int st = 0;
		pid_t w;
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		do
			w = waitpid(pid, &st, 0);
		while (w < 0 && errno == EINTR);
		_exit(w == pid && WIFEXITED(st) ? WEXITSTATUS(st) : 2);
	}
	close(p[0]);
	*ready = p[1];
	return setsid() < 0 ? -1 : 0;
}

/* The detached child, its daemon open: stdin and stdout to /dev/null
 * (stderr stays where it was so the log still goes somewhere), out of
 * the folder it was started in, and the parent told it may exit. */
static int detach_done(int ready)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	int rc = chdir("/");
	if (write(ready, "1", 1) != 1 && rc == 0)
		rc = -1;
	close(ready);
	return rc;
}

/* Removes every --check-config from argv, so that daemon_parse_args
 * sees only the options it knows and checks them as for a real start;
 * 1 if there was one. */
static int take_check_flag(int *argc, char **argv)
{
	int found = 0, j = 1;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--check-config") == 0)
			found = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return found;
}

/* The sensor specs in force (the command line's, else the config's) as
 * daemon_open checks them (daemon_sensor_check), and no device twice. */
static int check_sensors(const struct daemon_opts *o, const struct config *c, char *err,
			 size_t errlen)
{
	size_t n = o->n_sensor ? o->n_sensor : c->n_sensors;
	struct sensorline_spec sp[CONFIG_MAX_LIST];
	for (size_t i = 0; i < n; i++) {
		const char *spec = o->n_sensor ? o->sensor[i] : c->sensors[i];
		struct sensor_profile prof;
		int has_profile, rc = daemon_sensor_check(spec, &sp[i], &prof, &has_profile, NULL,
							  err, errlen);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(sp[j].device, sp[i].device) == 0) {
				char *shown = ingest_display_path(sp[i].device);
				rc = err_set(err, errlen, EV_EINVAL, "sensor device %s is given twice",
					     shown);
				free(shown);
				return rc;
			}
	}
	return 0;
}

/* The store as daemon_open's fs_mkdir_p takes it: every folder of the
 * path that is there must be a folder (the rest would be made). */
static int check_store(const char *store, char *err, size_t errlen)
{
	char *p = xstrdup(store);
	int rc = 0;
	size_t len = strlen(p);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char save = p[i];
		struct stat st;
		p[i] = '\0';
		if (stat(p, &st) < 0) {
			if (errno != ENOENT)
				rc = err_set(err, errlen, EV_EIO, "%s: %s", p, strerror(errno));
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = err_set(err, errlen, EV_EIO, "%s: exists and is not a directory", p);
			break;
		}
		p[i] = save;
	}
	free(p);
	return rc;
}

/*
 * evcapd --check-config: reads the config as a start or a SIGHUP would,
 * applies the command line over it, and checks what daemon_open checks
 * before it touches the store: the file's keys and values (file:line),
 * the store's path, the watched folders, the sensors. Opens no store,
 * takes no lock and starts nothing, so it is safe beside a running
 * evcapd (before a `systemctl reload`). Prints one line, and returns 0 or 2.
 */
static int check_config(const struct daemon_opts *o)
{
	const char *path = o->config_path ? o->config_path : DAEMON_DEFAULT_CONFIG;
	struct config c;
	char err[1024], *store = NULL;
	int rc = 2, have_file = 1;
	config_init(&c);
	int r = config_load(path, &c, err, sizeof err);
	if (r == EV_ENOENT && !o->config_path) {
		config_free(&c);
		have_file = 0; /* as at start: no default file means the defaults */
	} else if (r) {
		say(err, "");
		goto out;
	}
	if (daemon_store_path(o, &c, path, &store, err, sizeof err) ||
	    check_store(store, err, sizeof err)) {
		say(err, "");
		goto out;
	}
	size_t n_watch = o->n_watch ? o->n_watch : c.n_watch;
	for (size_t i = 0; i < n_watch; i++) {
		if (daemon_watch_check(store, o->n_watch ? o->watch[i] : c.watch[i], err,
				       sizeof err)) {
			say(err, "");
			goto out;
		}
	}
	if (check_sensors(o, &c, err, sizeof err)) {
		say(err, "");
		goto out;
	}
	const char *gps = o->gps ? o->gps : c.gps_server ? c.gps_server : DAEMON_DEFAULT_GPS;
	size_t n_sensors = o->n_sensor ? o->n_sensor : c.n_sensors;
	if (have_file)
		printf("evcapd: %s is good", path);
	else
		printf("evcapd: no %s; the built-in settings are good", path);
	printf(" (store %s, %zu watched folder%s, gpsd %s, %zu sensor%s)\n", store, n_watch,
	       n_watch == 1 ? "" : "s", *gps ? gps : "off", n_sensors, n_sensors == 1 ? "" : "s");
	rc = 0;
out:
	free(store);
	config_free(&c);
	return rc;
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct daemon *d = NULL;
	char err[1024];
	int rc = 2;
	int check = take_check_flag(&argc, argv);

	/* a usage error is one line, as evcap's are: the usage is --help's */
	if (daemon_parse_args(argc, argv, &o, err, sizeof err)) {
		say(err, ". Try 'evcapd --help'.");
		return 2;
	}
	if (o.help) {
		/* daemon.c's text, with the one option main handles itself */
		const char *u = daemon_usage(), *at = strstr(u, "  -q, -v");
		int head = at ? (int)(at - u) : (int)strlen(u);
		printf("%.*s", head, u);
		fputs("  --check-config   read the config and the options, say whether evcapd would\n"
		      "                   start on them, and exit 0, or 2 naming what is wrong;\n"
		      "                   opens no store and starts nothing (before a reload)\n",
		      stdout);
		fputs(u + head, stdout);
		return 0;
	}
	if (o.version) {
		printf("evcapd %s\n", EVCAPD_VERSION);
		return 0;
	}
	if (check)
		return check_config(&o);
	log_init("evcapd", o.verbosity, stderr_is_journal());
	/* under systemd (or asked to) it stays in the foreground */
	int ready = -1;
	if (!o.foreground && !getenv("NOTIFY_SOCKET") && !getenv("INVOCATION_ID") &&
	    detach(&ready) < 0) {
		fprintf(stderr, "evcapd: cannot detach: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	if (daemon_open(&o, &d, err, sizeof err)) {
		say(err, "");
		goto out;
	}
	if (ready >= 0 && detach_done(ready) < 0) {
		fprintf(stderr, "evcapd: cannot detach: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	rc = daemon_run(d);
out:
	daemon_free(d);
	return rc;
}
