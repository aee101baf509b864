/*
 * The serial-line reader behind sensorline.h: open in raw mode without
 * blocking, assemble lines, and survive the device going away. The line
 * assembly is separate from the I/O so a cut or a partial line is handled
 * the same way whatever the device does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ingest.h"
#include "sensor.h"
#include "sensorline.h"

struct sensorline {
	struct sensorline_spec spec;
	speed_t speed;
	int fd;                /* -1 while away */
	double next_try;       /* when to try opening again */
	double backoff;        /* the wait after the next failure */
	int reported_missing;  /* "not there" was logged since the last open */
	double away_since;     /* while it is: since when (the caller's clock) ... */
	double remind_at;      /* ... when to say it is still away (-1: not yet known) */
	double remind_every;   /* ... and the wait after that */
	char line[SENSORLINE_MAX_LINE];
	size_t len;            /* bytes held in line */
	int cut;               /* the current line passed the cap */
	sensorline_log_fn on_log;
	void *ctx;
	struct sensorline_stats st;
	char *shown;           /* spec.device as messages show it (ingest_display_path) */
};

static const struct {
	int baud;
	speed_t speed;
} speeds[] = {
	{1200, B1200},     {2400, B2400},     {4800, B4800},   {9600, B9600},
	{19200, B19200},   {38400, B38400},   {57600, B57600}, {115200, B115200},
	{230400, B230400},
};

/* 1 if [s, e) is a whole decimal number. */
static int all_digits(const char *s, const char *e)
{
	if (s >= e)
		return 0;
	for (; s < e; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int is_format(const char *s, size_t n)
{
	return (n == 5 && memcmp(s, "sdi12", 5) == 0) || (n == 3 && memcmp(s, "csv", 3) == 0);
}

/* The ':' before p (exclusive), or NULL. */
static const char *colon_before(const char *spec, const char *p)
{
	while (--p >= spec)
		if (*p == ':')
			return p;
	return NULL;
}

int sensorline_spec_parse(const char *spec, struct sensorline_spec *out, char *err,
			  size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!spec)
		spec = "";
	/* the spec as messages show it: a device path may hold anything */
	char shown[256];
	ingest_display_text(spec, strlen(spec), shown, sizeof shown);
	const char *end = spec + strlen(spec);
	const char *c3 = strrchr(spec, ':');                 /* before the last field */
	const char *c2 = c3 ? colon_before(spec, c3) : NULL; /* before the one before */
	const char *c1 = c2 ? colon_before(spec, c2) : NULL;
	const char *b, *fmt, *fmt_end, *prof = NULL;
	/* DEVICE:BAUD:FORMAT:PROFILE when the fields say so, else DEVICE:BAUD:FORMAT */
	if (c1 && all_digits(c1 + 1, c2) && is_format(c2 + 1, (size_t)(c3 - c2 - 1))) {
		b = c1;
		fmt = c2;
		fmt_end = c3;
		prof = c3 + 1;
	} else {
		b = c2;
		fmt = c3;
		fmt_end = end;
	}
	if (!fmt || !b || b == spec)
		return err_set(err, errlen, EV_EINVAL,
			       "sensor '%s': expected DEVICE:BAUD:FORMAT[:PROFILE], e.g. "
			       "/dev/ttyUSB0:9600:sdi12:generic-tdp",
			       shown);
	size_t dl = (size_t)(b - spec);
	if (dl >= sizeof out->device)
		return err_set(err, errlen, EV_EINVAL, "sensor '%s': the device path is too long",
			       shown);
	memcpy(out->device, spec, dl);
	if (!all_digits(b + 1, fmt))
		return err_set(err, errlen, EV_EINVAL, "sensor '%s': the baud rate is not a number",
			       shown);
	/* at most seven digits were checked by hand: strtol cannot overflow */
	long baud = (fmt - b - 1) > 7 ? 0 : strtol(b + 1, NULL, 10);
	int known = 0;
	for (size_t i = 0; i < ARRAY_LEN(speeds); i++)
		known |= speeds[i].baud == baud;
	if (!known)
		return err_set(err, errlen, EV_EINVAL,
			       "sensor '%s': baud %.*s is not one of 1200 2400 4800 9600 19200 "
			       "38400 57600 115200 230400",
			       shown, (int)(fmt - b - 1), b + 1);
	out->baud = (int)baud;
	size_t fl = (size_t)(fmt_end - fmt - 1);
	if (!is_format(fmt + 1, fl))
		return err_set(err, errlen, EV_EINVAL, "sensor '%s': the format must be sdi12 or csv",
			       shown);
	memcpy(out->format, fmt + 1, fl);
	if (prof) {
		if ((size_t)(end - prof) >= sizeof out->profile || !sensor_profile_name_valid(prof))
			return err_set(err, errlen, EV_EINVAL,
				       "sensor '%s': the profile must be a name of letters, digits, "
				       "'.', '_' and '-' (at most %zu), as in generic-tdp",
				       shown, sizeof out->profile - 1);
		memcpy(out->profile, prof, (size_t)(end - prof));
	}
	return 0;
}

static void sl_log(struct sensorline *l, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void sl_log(struct sensorline *l, const char *fmt, ...)
{
	if (!l->on_log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	l->on_log(l->ctx, msg);
}

/* Schedules the next open attempt and doubles the wait. */
static void sl_backoff(struct sensorline *l, double now)
{
	l->next_try = now + l->backoff;
	l->backoff *= 2;
	if (l->backoff > SENSORLINE_BACKOFF_MAX)
		l->backoff = SENSORLINE_BACKOFF_MAX;
}

/*
 * The device could not be opened: said at once, then again a minute on,
 * and at doubling waits up to SENSORLINE_REMIND_MAX while it stays away,
 * so that a probe left unplugged (or a wrong name) is neither forgotten
 * by someone watching a terminal nor a log line every few seconds. The
 * first try runs in sensorline_open, without the caller's clock: the
 * reminders are timed from the next one.
 */
static void sl_missing(struct sensorline *l, double now, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
static void sl_missing(struct sensorline *l, double now, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (!l->reported_missing) {
		sl_log(l, "%s: %s; waiting for it (trying again every %g s at most)", l->shown,
		       why, SENSORLINE_BACKOFF_MAX);
		l->reported_missing = 1;
		l->remind_at = -1;
		l->remind_every = SENSORLINE_REMIND_MIN;
	} else if (l->remind_at < 0) {
		l->away_since = now;
		l->remind_at = now + l->remind_every;
	} else if (now >= l->remind_at) {
		sl_log(l, "%s: still waiting for it, %.0f min so far (%s)", l->shown,
		       (now - l->away_since) / 60, why);
		l->remind_every *= 2;
		if (l->remind_every > SENSORLINE_REMIND_MAX)
			l->remind_every = SENSORLINE_REMIND_MAX;
		l->remind_at = now + l->remind_every;
	}
}

/* Tries to open and configure the device; on failure schedules a retry. */
static void sl_try_open(struct sensorline *l, double now)
{
	struct termios tio;
	struct stat sb;
	int fd = open(l->spec.device, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		sl_missing(l, now, "cannot open (%s)", strerror(errno));
		goto fail;
	}
	/* a regular file would read the same lines again after every "reopen" */
	if (fstat(fd, &sb) || !S_ISCHR(sb.st_mode)) {
		sl_missing(l, now, "not a serial device");
		goto fail;
	}
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tio.c_cflag |= CLOCAL | CREAD;
		/* VMIN 1: with O_NONBLOCK "no data" is EAGAIN and a read of 0
		 * means the other end hung up */
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		cfsetispeed(&tio, l->speed);
		cfsetospeed(&tio, l->speed);
		if (tcsetattr(fd, TCSANOW, &tio) != 0) {
			sl_missing(l, now, "cannot set raw mode (%s)", strerror(errno));
			goto fail;
		}
	} else {
		sl_missing(l, now, "not a terminal device (%s)", strerror(errno));
		goto fail;
	}
	l->fd = fd;
	l->backoff = SENSORLINE_BACKOFF_MIN;
	l->reported_missing = 0;
	l->st.opens++;
	sl_log(l, "opened %s at %d baud (%s)", l->shown, l->spec.baud, l->spec.format);
	return;
fail:
	if (fd >= 0)
		close(fd);
	sl_backoff(l, now);
}

int sensorline_open(const char *spec, sensorline_log_fn on_log, void *ctx,
		    struct sensorline **out, char *err, size_t errlen)
{
	struct sensorline_spec sp;
	*out = NULL;
	int rc = sensorline_spec_parse(spec, &sp, err, errlen);
	if (rc)
		return rc;
	struct sensorline *l = xcalloc(1, sizeof *l);
	l->spec = sp;
	l->shown = ingest_display_path(sp.device);
	for (size_t i = 0; i < ARRAY_LEN(speeds); i++)
		if (speeds[i].baud == sp.baud)
			l->speed = speeds[i].speed;
	l->fd = -1;
	l->backoff = SENSORLINE_BACKOFF_MIN;
	l->on_log = on_log;
	l->ctx = ctx;
	sl_try_open(l, 0);
	l->next_try = 0; /* the first tick retries at once if the open failed */
	*out = l;
	return 0;
}

int sensorline_fd(const struct sensorline *l)
{
	return l ? l->fd : -1;
}

/* Hands over the line held, if any. */
static int sl_emit(struct sensorline *l, int flags, double now, sensorline_line_fn fn, void *ctx)
{
	if (l->len == 0 && !l->cut)
		return 0;
	if (l->cut) {
		flags |= SENSORLINE_CUT;
		l->st.cut++;
	}
	l->st.lines++;
	if (fn)
		fn(ctx, l->line, l->len, flags, now);
	l->len = 0;
	l->cut = 0;
	return 1;
}

/* The device went away: hand over what was held, close, retry later. */
static int sl_drop(struct sensorline *l, double now, const char *why, sensorline_line_fn fn,
		   void *ctx)
{
	int n = sl_emit(l, SENSORLINE_PARTIAL, now, fn, ctx);
	close(l->fd);
	l->fd = -1;
	l->st.drops++;
	l->backoff = SENSORLINE_BACKOFF_MIN;
	sl_log(l, "%s went away (%s); retrying in %.2g s", l->shown, why, l->backoff);
	sl_backoff(l, now);
	return n;
}

int sensorline_readable(struct sensorline *l, double now, sensorline_line_fn on_line, void *ctx)
{
	char chunk[512];
	int lines = 0;
	if (!l || l->fd < 0)
		return 0;
	/* bounded: at most 64 chunks a call, so one chatty line cannot
	 * starve the rest of the poll loop */
	for (int round = 0; round < 64; round++) {
		ssize_t n = read(l->fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return lines + sl_drop(l, now, strerror(errno), on_line, ctx);
		if (n == 0)
			return lines + sl_drop(l, now, "hung up", on_line, ctx);
		l->st.bytes += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++) {
			char c = chunk[i];
			if (c == '\n' || c == '\r') {
				lines += sl_emit(l, 0, now, on_line, ctx);
				continue;
			}
			if (l->len < sizeof l->line)
				l->line[l->len++] = c;
			else
				l->cut = 1;
		}
	}
	return lines;
}

void sensorline_tick(struct sensorline *l, double now)
{
	if (l && l->fd < 0 && now >= l->next_try)
		sl_try_open(l, now);
}

double sensorline_timeout(const struct sensorline *l, double now)
{
	if (!l || l->fd >= 0)
		return -1;
	return l->next_try > now ? l->next_try - now : 0;
}

const struct sensorline_spec *sensorline_spec(const struct sensorline *l)
{
	return &l->spec;
}

void sensorline_get_stats(const struct sensorline *l, struct sensorline_stats *st)
{
	*st = l->st;
}

void sensorline_free(struct sensorline *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->shown);
	free(l);
}
