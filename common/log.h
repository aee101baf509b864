/*
 * Logging in the OpenBSD style: one line an event, to stderr, which
 * journald picks up for the daemon. log_warn appends strerror(errno);
 * log_warnx does not. fatal/fatalx log and exit(2). Never log a secret.
 */
#ifndef EVCAP_LOG_H
#define EVCAP_LOG_H

#include "util.h"

enum log_level { LOG_LVL_QUIET = -1, LOG_LVL_INFO = 0, LOG_LVL_DEBUG = 1 };

/* prog names the program in each line; verbosity is one of the levels.
 * When `journal` is set lines carry a syslog priority prefix (<3>, <4>,
 * <6>, <7>) instead of the program name, which journald understands. */
void log_init(const char *prog, int verbosity, int journal);
int log_verbosity(void);

void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));

/* line as every log line is written: itself, or a copy (malloc'd, in
 * *copy, NULL otherwise; free it) with each control character (C0, DEL,
 * C1) and each byte of a text-direction character (text_direction_len)
 * written \xNN, so that a name or path quoted in it can neither break the
 * line in two, nor be obeyed by a terminal, nor turn the line around. */
const char *log_one_line(const char *line, char **copy);

#endif
