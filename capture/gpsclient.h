/*
 * A gpsd client that never blocks its caller for long: it exposes its
 * socket so a poll() loop (evcapd, `evcap gps log`) can wait on it with
 * everything else, hands each usable fix to a callback, and reconnects
 * with exponential backoff when gpsd goes away.
 *
 * A fix is usable when gpsd reports mode >= 2D, a time, a finite position
 * in range and not simulation (status 8: a receiver in simulator or demo
 * mode). gpsd sends several TPVs per epoch as the receiver's sentences
 * arrive; the client keeps the latest one of a time and hands it over when
 * the time moves on (or it is 1.5 s old, or the link drops), so each epoch
 * arrives once with all its fields.
 */
#ifndef EVCAP_GPSCLIENT_H
#define EVCAP_GPSCLIENT_H

#include <gps.h>
#include <stdint.h>

#include "track.h"
#include "util.h"

struct gpsclient;

typedef void (*gpsclient_fix_fn)(void *ctx, const struct fix *f);
/* Connection news ("connected to gpsd at 127.0.0.1:2947", "gpsd went
 * away; retrying in 0.5 s"), for the caller's log. */
typedef void (*gpsclient_log_fn)(void *ctx, const char *msg);

struct gpsclient_stats {
	uint64_t tpv;        /* TPV reports read */
	uint64_t fixes;      /* fixes handed to the callback */
	uint64_t no_fix;     /* mode below 2D */
	uint64_t no_time;    /* no time set */
	uint64_t simulated;  /* status 8: simulation or demo mode */
	uint64_t bad_pos;    /* position not finite or out of range */
	uint64_t connects;   /* successful connections */
	uint64_t drops;      /* connections lost */
};

/* Why a report is or is not a usable fix. */
enum gpsclient_verdict {
	GPSC_FIX = 0,
	GPSC_NOT_TPV,
	GPSC_NO_FIX,
	GPSC_NO_TIME,
	GPSC_SIM,
	GPSC_BAD_POS
};

/*
 * Makes a client for gpsd at host:port (nothing is connected until the
 * first gpsclient_tick). on_fix is called from handle_readable, tick,
 * flush and free. host and port are copied. Fails only on bad arguments.
 */
int gpsclient_new(const char *host, const char *port, gpsclient_fix_fn on_fix, void *ctx,
		  struct gpsclient **out, char *err, size_t errlen) WUR;
/* Hands over the held fix, closes the connection, frees. NULL is fine. */
void gpsclient_free(struct gpsclient *c);

void gpsclient_set_log(struct gpsclient *c, gpsclient_log_fn fn, void *ctx);
/* Reconnect delays: the first wait is min_s, doubling to at most max_s;
 * defaults 0.25 s and 8 s. */
void gpsclient_set_backoff(struct gpsclient *c, double min_s, double max_s);

/* The socket to poll for input, or -1 while not connected. */
int gpsclient_fd(const struct gpsclient *c);
int gpsclient_connected(const struct gpsclient *c);

/*
 * Does the timed work: connects (blocking for the connect to gpsd) when a
 * reconnect is due, and hands over a held fix that has waited 1.5 s.
 * Returns the seconds until it next wants to be called (>= 0), to be used
 * as (part of) the poll timeout.
 */
double gpsclient_tick(struct gpsclient *c, double now);

/*
 * Reads what gpsd sent (at most 64 reports per call, so one busy source
 * cannot starve the rest of a poll loop). Returns the number of fixes
 * handed over, or EV_ENET when gpsd went away (the client is then
 * disconnected and a reconnect is scheduled).
 */
int gpsclient_handle_readable(struct gpsclient *c, double now);

/* Hands over the held fix now. */
void gpsclient_flush(struct gpsclient *c);

const struct gpsclient_stats *gpsclient_get_stats(const struct gpsclient *c);
/* "gpsd:HOST:PORT", the `source` of the fixes in the store. */
const char *gpsclient_source(const struct gpsclient *c);

/*
 * The pure filter: classifies what gps_read left in *d (raw is the JSON
 * text gps_read copied, may be NULL) and on GPSC_FIX fills *out.
 */
enum gpsclient_verdict gpsclient_classify(const struct gps_data_t *d, const char *raw,
					  struct fix *out);

#endif
