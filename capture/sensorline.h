/*
 * A live reader for a probe on a serial line, shaped for a poll() loop:
 * the caller waits on sensorline_fd() with everything else, calls
 * sensorline_readable() when it is ready, and sensorline_tick() when the
 * timeout from sensorline_timeout() runs out. The line is opened raw
 * (termios, no echo, no line editing), bytes are assembled into lines
 * with a length cap, and a device that goes away (a USB probe unplugged:
 * EIO, ENXIO, ENODEV, a hangup) is closed and reopened with backoff, so
 * plugging it back in needs nobody at the keyboard.
 */
#ifndef EVCAP_SENSORLINE_H
#define EVCAP_SENSORLINE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The longest line kept; longer lines are cut and flagged. */
#define SENSORLINE_MAX_LINE 1024
/* Reconnect backoff: first wait and most wait, seconds. */
#define SENSORLINE_BACKOFF_MIN 0.25
#define SENSORLINE_BACKOFF_MAX 5.0
/* A device that cannot be opened is logged at once, then again after
 * SENSORLINE_REMIND_MIN seconds, the wait doubling up to
 * SENSORLINE_REMIND_MAX, for as long as it stays away. */
#define SENSORLINE_REMIND_MIN 60.0
#define SENSORLINE_REMIND_MAX 900.0

/* What a spec "DEVICE:BAUD:FORMAT[:PROFILE]" says. FORMAT is sdi12 or
 * csv; PROFILE, when given, names an instrument profile (the reader
 * itself does not use it; see sensor_profile_find). */
struct sensorline_spec {
	char device[256];
	int baud;
	char format[8];
	char profile[64];  /* "" when the spec names none */
};

/*
 * Parses "/dev/ttyUSB0:9600:sdi12" or "/dev/ttyUSB0:9600:sdi12:generic-tdp".
 * The device may itself hold ':' (/dev/serial/by-path names do), so the
 * fields are taken from the right: when the last three are a number, a
 * format and a profile name, they are BAUD:FORMAT:PROFILE, else the last
 * two are BAUD:FORMAT. The two readings cannot both fit one spec, since
 * one field cannot be both a number and a format. A profile name is
 * letters, digits, '.', '_' and '-', not starting with '.'. 0 or
 * EV_EINVAL with err.
 */
int sensorline_spec_parse(const char *spec, struct sensorline_spec *out, char *err,
			  size_t errlen) WUR;

/* Flags handed with a line. */
enum {
	SENSORLINE_CUT = 1,     /* longer than SENSORLINE_MAX_LINE; the rest was dropped */
	SENSORLINE_PARTIAL = 2  /* the device went away before the line ended */
};

/* Called once per complete line, without its CR/LF; `line` is valid only
 * during the call and is not NUL-terminated text (it may hold any byte). */
typedef void (*sensorline_line_fn)(void *ctx, const char *line, size_t len, int flags,
				   double now);
/* Connection news for the caller's log ("opened /dev/ttyUSB0 at 9600
 * baud", "/dev/ttyUSB0 went away (I/O error); retrying in 0.25 s",
 * "/dev/ttyUSB0: cannot open (No such file or directory); waiting for it
 * (trying again every 5 s at most)", "/dev/ttyUSB0: still waiting for it,
 * 1 min so far (...)"). */
typedef void (*sensorline_log_fn)(void *ctx, const char *msg);

struct sensorline;

struct sensorline_stats {
	uint64_t lines;   /* lines handed over */
	uint64_t cut;     /* of which cut at the cap */
	uint64_t bytes;   /* bytes read */
	uint64_t opens;   /* successful opens */
	uint64_t drops;   /* times the device went away */
};

/*
 * Makes a reader for spec and tries to open the device at once; a device
 * that is not there yet is not an error (sensorline_tick keeps trying).
 * on_log may be NULL. Fails only on a bad spec.
 */
int sensorline_open(const char *spec, sensorline_log_fn on_log, void *ctx,
		    struct sensorline **out, char *err, size_t errlen) WUR;

/* The descriptor to poll for POLLIN, or -1 while the device is away.
 * It changes after a reconnect: ask again each loop. */
int sensorline_fd(const struct sensorline *l);

/*
 * Reads what is waiting (never blocks) and calls on_line for each
 * complete line. Call it when poll reports POLLIN, POLLHUP or POLLERR on
 * the fd. If the device went away, a partial line is handed over flagged
 * SENSORLINE_PARTIAL, the device is closed and a reopen is scheduled.
 * Returns the number of lines handed over.
 */
int sensorline_readable(struct sensorline *l, double now, sensorline_line_fn on_line,
			void *ctx);

/* Reopens the device when a retry is due. Call it every loop turn (it is
 * cheap) or when sensorline_timeout says. */
void sensorline_tick(struct sensorline *l, double now);

/* Seconds until sensorline_tick wants to run, or -1 when it has nothing
 * to do (the device is open). */
double sensorline_timeout(const struct sensorline *l, double now);

/* The spec's parts, and counters. */
const struct sensorline_spec *sensorline_spec(const struct sensorline *l);
void sensorline_get_stats(const struct sensorline *l, struct sensorline_stats *st);

/* Closes and frees; a pending partial line is dropped. NULL is fine. */
void sensorline_free(struct sensorline *l);

#endif
