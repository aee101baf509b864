/*
 * The gpsd client: libgps over a socket, driven from the caller's poll()
 * loop. State is either connected (fd >= 0) or waiting for the next
 * reconnect time; nothing here sleeps except the connect itself.
 */
#include "gpsclient.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"

/* libgps, and libstdc++ and libdbus with it, is opened when the first
 * client is made (dynlib.h): only evcapd and `evcap gps log` talk to gpsd. */
#ifndef EVCAP_SONAME_GPS
#define EVCAP_SONAME_GPS "libgps.so.28"
#endif
#define GPSL_FNS(X) X(open) X(close) X(stream) X(read) X(waiting) X(errstr)
#define GPSL_PTR(f) DYNLIB_PTR(gps_, f)
static struct {
	GPSL_FNS(GPSL_PTR)
} gpslib;
#define GPSL_SYM(f) DYNLIB_SYM(gpslib, gps_, f)
static const struct dynlib_sym gps_syms[] = {GPSL_FNS(GPSL_SYM)};
static struct dynlib gps_lib = DYNLIB_INIT(EVCAP_SONAME_GPS, "to read fixes from gpsd", gps_syms);

#define GPSC_RAW_MAX 8192     /* one JSON report; longer ones are cut */
#define GPSC_READS_PER_CALL 64
#define GPSC_HOLD_S 1.5       /* a held fix is handed over after this */
#define GPSC_IDLE_TICK 1.0

struct gpsclient {
	char host[256];
	char port[16];
	char source[300];
	gpsclient_fix_fn on_fix;
	void *ctx;
	gpsclient_log_fn log;
	void *log_ctx;

	struct gps_data_t gd;
	int connected;
	double next_try;     /* when to try connecting again */
	double backoff;      /* the wait after the next failure */
	double backoff_min, backoff_max;
	int got_data;        /* something was read since connecting */

	int held;            /* a fix waits in `pending` */
	struct fix pending;
	double held_since;

	struct gpsclient_stats st;
	char raw[GPSC_RAW_MAX];
};

static void gpsc_log(struct gpsclient *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void gpsc_log(struct gpsclient *c, const char *fmt, ...)
{
	if (!c->log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->log(c->log_ctx, msg);
}

int gpsclient_new(const char *host, const char *port, gpsclient_fix_fn on_fix, void *ctx,
		  struct gpsclient **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!host || !*host || !port || !*port || !on_fix)
		return err_set(err, errlen, EV_EINVAL, "gpsd client: host, port and callback are needed");
	if (strlen(host) >= 256 || strlen(port) >= 16)
		return err_set(err, errlen, EV_EINVAL, "gpsd client: host or port too long");
	if (dynlib_load(&gps_lib, err, errlen))
		return EV_ERR;
	struct gpsclient *c = xcalloc(1, sizeof *c);
	snprintf(c->host, sizeof c->host, "%s", host);
	snprintf(c->port, sizeof c->port, "%s", port);
	snprintf(c->source, sizeof c->source, "gpsd:%s:%s", host, port);
	c->on_fix = on_fix;
	c->ctx = ctx;
	c->backoff_min = 0.25;
	c->backoff_max = 8;
	c->backoff = c->backoff_min;
	c->next_try = 0;
	*out = c;
	return 0;
}

void gpsclient_set_log(struct gpsclient *c, gpsclient_log_fn fn, void *ctx)
{
	c->log = fn;
	c->log_ctx = ctx;
}

void gpsclient_set_backoff(struct gpsclient *c, double min_s, double max_s)
{
	if (min_s > 0)
		c->backoff_min = min_s;
	if (max_s >= c->backoff_min)
		c->backoff_max = max_s;
	c->backoff = c->backoff_min;
}

void gpsclient_flush(struct gpsclient *c)
{
	if (!c->held)
		return;
	c->held = 0;
	c->st.fixes++;
	c->on_fix(c->ctx, &c->pending);
}

static void gpsc_disconnect(struct gpsclient *c, double now, const char *why)
{
	gpsclient_flush(c);
	if (c->connected) {
		gpslib.close(&c->gd);
		c->connected = 0;
		c->st.drops++;
	}
	c->next_try = now + c->backoff;
	gpsc_log(c, "gpsd at %s:%s: %s; retrying in %.2g s", c->host, c->port, why, c->backoff);
	c->backoff = fmin(c->backoff * 2, c->backoff_max);
}

void gpsclient_free(struct gpsclient *c)
{
	if (!c)
		return;
	gpsclient_flush(c);
	if (c->connected)
		gpslib.close(&c->gd);
	free(c);
}

int gpsclient_fd(const struct gpsclient *c)
{
	return c->connected ? (int)c->gd.gps_fd : -1;
}

int gpsclient_connected(const struct gpsclient *c)
{
	return c->connected;
}

const struct gpsclient_stats *gpsclient_get_stats(const struct gpsclient *c)
{
	return &c->st;
}

const char *gpsclient_source(const struct gpsclient *c)
{
	return c->source;
}

static void gpsc_connect(struct gpsclient *c, double now)
{
	memset(&c->gd, 0, sizeof c->gd);
	errno = 0;
	if (gpslib.open(c->host, c->port, &c->gd) != 0) {
		int e = errno;
		c->next_try = now + c->backoff;
		gpsc_log(c, "cannot connect to gpsd at %s:%s (%s); retrying in %.2g s", c->host,
			 c->port, gpslib.errstr(e), c->backoff);
		c->backoff = fmin(c->backoff * 2, c->backoff_max);
		return;
	}
	c->connected = 1;
	if (gpslib.stream(&c->gd, WATCH_ENABLE | WATCH_JSON, NULL) != 0) {
		gpsc_disconnect(c, now, "the watch request failed");
		return;
	}
	c->got_data = 0;
	c->st.connects++;
	gpsc_log(c, "connected to gpsd at %s:%s", c->host, c->port);
}

double gpsclient_tick(struct gpsclient *c, double now)
{
	if (c->held && now - c->held_since >= GPSC_HOLD_S)
		gpsclient_flush(c);
	if (!c->connected && now >= c->next_try)
		gpsc_connect(c, now);
	if (!c->connected)
		return fmax(0, c->next_try - now);
	if (c->held)
		return fmax(0, c->held_since + GPSC_HOLD_S - now);
	return GPSC_IDLE_TICK;
}

/* The integer after "status": in the report's first line, or -1. */
static int gpsc_raw_status(const char *raw)
{
	if (!raw)
		return -1;
	const char *nl = strchr(raw, '\n');
	const char *p = strstr(raw, "\"status\":");
	if (!p || (nl && p > nl))
		return -1;
	p += 9;
	int v = 0, nd = 0;
	while (*p >= '0' && *p <= '9' && nd < 4) {
		v = v * 10 + (*p++ - '0');
		nd++;
	}
	return nd ? v : -1;
}

static int gpsc_raw_is_tpv(const char *raw)
{
	const char *nl = strchr(raw, '\n');
	const char *p = strstr(raw, "\"class\":\"TPV\"");
	return p && (!nl || p < nl);
}

enum gpsclient_verdict gpsclient_classify(const struct gps_data_t *d, const char *raw,
					  struct fix *out)
{
	if (raw ? !gpsc_raw_is_tpv(raw) : !(d->set & MODE_SET))
		return GPSC_NOT_TPV;
	if (d->fix.mode < MODE_2D)
		return GPSC_NO_FIX;
	/* fix.status is only filled when gpsd sends "status" (3.22 leaves it
	 * 0 otherwise); simulation and demo modes do send it. */
	if (((d->set & STATUS_SET) && d->fix.status == STATUS_SIM) ||
	    gpsc_raw_status(raw) == STATUS_SIM)
		return GPSC_SIM;
	if (!(d->set & TIME_SET) || d->fix.time.tv_sec <= 0)
		return GPSC_NO_TIME;
	double lat = d->fix.latitude, lon = d->fix.longitude;
	if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
		return GPSC_BAD_POS;
	out->t = (double)d->fix.time.tv_sec + d->fix.time.tv_nsec / 1e9;
	out->lat = lat;
	out->lon = lon;
	out->alt = d->fix.mode >= MODE_3D && isfinite(d->fix.altMSL) ? d->fix.altMSL : NAN;
	out->mode = d->fix.mode >= MODE_3D ? 3 : 2;
	out->eph = isfinite(d->fix.eph) && d->fix.eph >= 0 ? d->fix.eph : NAN;
	out->sats = d->satellites_used > 0 && d->satellites_used < 1000 ? d->satellites_used : -1;
	return GPSC_FIX;
}

/* One report read: counts it and holds or hands over its fix. */
static int gpsc_take(struct gpsclient *c, double now)
{
	struct fix f;
	enum gpsclient_verdict v = gpsclient_classify(&c->gd, c->raw, &f);
	if (v != GPSC_NOT_TPV)
		c->st.tpv++;
	switch (v) {
	case GPSC_NOT_TPV:
		return 0;
	case GPSC_NO_FIX:
		c->st.no_fix++;
		return 0;
	case GPSC_NO_TIME:
		c->st.no_time++;
		return 0;
	case GPSC_SIM:
		c->st.simulated++;
		return 0;
	case GPSC_BAD_POS:
		c->st.bad_pos++;
		return 0;
	case GPSC_FIX:
		break;
	}
	int handed = 0;
	if (c->held && c->pending.t != f.t) {
		gpsclient_flush(c);
		handed = 1;
	}
	if (!c->held)
		c->held_since = now;
	c->held = 1;
	c->pending = f;
	return handed;
}

int gpsclient_handle_readable(struct gpsclient *c, double now)
{
	int handed = 0;
	if (!c->connected)
		return 0;
	for (int i = 0; i < GPSC_READS_PER_CALL; i++) {
		c->raw[0] = '\0';
		int r = gpslib.read(&c->gd, c->raw, (int)sizeof c->raw);
		if (r < 0) {
			gpsc_disconnect(c, now, "the connection was lost");
			return EV_ENET;
		}
		if (r == 0)
			break;
		c->raw[sizeof c->raw - 1] = '\0';
		if (!c->got_data) {
			c->got_data = 1;
			c->backoff = c->backoff_min; /* a working link resets the backoff */
		}
		handed += gpsc_take(c, now);
		if (!gpslib.waiting(&c->gd, 0))
			break;
	}
	return handed;
}
