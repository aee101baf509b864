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

/* The bytes (1 to 3) of a control character (C0, DEL, or C1: C2 80 to
 * C2 9F in UTF-8) or a text-direction character (text_direction_len) at
 * p[i], else 0: a name or a path quoted raw would break the line in two,
 * forge another, be obeyed by a terminal, or read backwards. */
static size_t ctl_at(const unsigned char *p, size_t i, size_t n)
{
	if (p[i] < 0x20 || p[i] == 0x7f)
		return 1;
	if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
		return 2;
	return text_direction_len((const char *)p + i, n - i);
}

const char *log_one_line(const char *line, char **copy)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t n = strlen(line), i, k = 0, c;
	*copy = NULL;
	for (i = 0; i < n && !ctl_at(p, i, n); i++)
		;
	if (i == n || !(*copy = malloc(4 * n + 1)))
		return line;
	for (i = 0; i < n; i++) {
		if ((c = ctl_at(p, i, n)) != 0) {
			for (size_t e = 0; e < c; e++)
				k += (size_t)sprintf(*copy + k, "\\x%02X", p[i + e]);
			i += c - 1;
		} else {
			(*copy)[k++] = (char)p[i];
		}
	}
	(*copy)[k] = '\0';
	return *copy;
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
	char *copy;
	const char *shown = log_one_line(line, &copy);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s%s\n", prio, tag, shown, suffix ? ": " : "",
			suffix ? suffix : "");
	else
		fprintf(stderr, "%s: %s%s%s%s\n", log_prog, tag, shown, suffix ? ": " : "",
			suffix ? suffix : "");
	free(copy);
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
