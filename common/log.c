/*
 * One-line-an-event logging to stderr. The CLI prints warnings as
 * "evcap: ..." lines; the daemon under systemd prefixes syslog priorities.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "evcap";
static int log_verb = LOG_LVL_INFO;
static int log_journal;

void log_init(const char *prog, int verbosity, int journal)
{
	log_prog = prog;
	log_verb = verbosity;
	log_journal = journal;
}

int log_verbosity(void)
{
	return log_verb;
}

static void vlog(int prio, const char *tag, const char *fmt, va_list ap, const char *suffix)
{
	/* A message names a file, and a path may be long (4096 bytes, four
	 * times that escaped): a line that does not fit is formatted again on
	 * the heap, so the reason after the path is never cut off. */
	char small[2048], *line = small;
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	if (n >= (int)sizeof small) {
		char *big = malloc((size_t)n + 1);
		if (big) {
			vsnprintf(big, (size_t)n + 1, fmt, again);
			line = big;
		}
	}
	va_end(again);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s%s\n", prio, tag, line, suffix ? ": " : "",
			suffix ? suffix : "");
	else
		fprintf(stderr, "%s: %s%s%s%s\n", log_prog, tag, line, suffix ? ": " : "",
			suffix ? suffix : "");
	if (line != small)
		free(line);
}

void log_debug(const char *fmt, ...)
{
	if (log_verb < LOG_LVL_DEBUG)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(7, "", fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	if (log_verb < LOG_LVL_INFO)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(6, "", fmt, ap, NULL);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(4, "", fmt, ap, strerror(e));
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(4, "", fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(3, "", fmt, ap, strerror(e));
	va_end(ap);
	exit(2);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(3, "", fmt, ap, NULL);
	va_end(ap);
	exit(2);
}
