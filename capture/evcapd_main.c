/*
 * evcapd: the capture daemon's entry point. It parses the command line,
 * sets up logging (journald priority prefixes when stderr is the journal),
 * opens the daemon (config, store lock, store) and runs its loop; the work
 * itself is in capture/daemon.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define EVCAPD_VERSION "0.1.0"

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

/* Leaves the terminal: fork, new session, stdin and stdout to /dev/null.
 * stderr stays where it was so the log still goes somewhere. */
static int detach(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	return chdir("/");
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct daemon *d = NULL;
	char err[1024];
	int rc = 2;

	if (daemon_parse_args(argc, argv, &o, err, sizeof err)) {
		fprintf(stderr, "evcapd: %s\n%s", err, daemon_usage());
		return 2;
	}
	if (o.help) {
		fputs(daemon_usage(), stdout);
		return 0;
	}
	if (o.version) {
		printf("evcapd %s\n", EVCAPD_VERSION);
		return 0;
	}
	log_init("evcapd", o.verbosity, stderr_is_journal());
	if (daemon_open(&o, &d, err, sizeof err)) {
		fprintf(stderr, "evcapd: %s\n", err);
		goto out;
	}
	/* under systemd (or asked to) it stays in the foreground */
	if (!o.foreground && !getenv("NOTIFY_SOCKET") && !getenv("INVOCATION_ID") &&
	    detach() < 0) {
		fprintf(stderr, "evcapd: cannot detach: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	rc = daemon_run(d);
out:
	daemon_free(d);
	return rc;
}
