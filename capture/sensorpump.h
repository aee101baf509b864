/*
 * Probe lines read on a thread of their own, and timed as they arrive.
 *
 * evcapd's loop is sometimes busy for seconds with one file: a 4 GB video
 * copied off a card, or a metadata parse that runs into its time limit.
 * A probe's line that carries no time of its own is timed when it is
 * read, so a line read late would be timed late, several lines would
 * share one time, and a chatty probe could overrun the terminal driver's
 * 4 KiB buffer and lose bytes. The pump's thread waits on the probes'
 * lines alone, reads each line as it ends, stamps it with the wall clock
 * and the monotonic clock, and queues it; the loop drains the queue when
 * it is free. The thread never touches the store: parsing and recording
 * stay on the loop's thread, in arrival order. It numbers each reader's
 * lines, and writes each line to the reader's journal (sensorspool.h),
 * durable before it waits again, so a line waiting for a busy loop
 * survives a power cut.
 *
 * While a pump runs it owns the readers given to it (opening, reading,
 * reopening after an unplug); they are the caller's again once
 * sensorpump_stop returns.
 */
#ifndef EVCAP_SENSORPUMP_H
#define EVCAP_SENSORPUMP_H

#include <stddef.h>
#include <stdint.h>

#include "sensorline.h"
#include "sensorspool.h"
#include "util.h"

/* The most readers one pump serves. */
#define SENSORPUMP_MAX 32

/* One reader for the pump. */
struct sensorpump_reader {
	struct sensorline *line;
	struct sensorspool *spool; /* its journal, or NULL */
	size_t last_line;          /* the number of its last line so far */
};

/* What the drain hands over, in the order it happened. idx is the
 * reader's place in the array given to sensorpump_start. */
struct sensorpump_cb {
	/* Line number line_no (as sensorline hands it over), read at `mono`
	 * (monotonic) and `wall` (Unix time) seconds. */
	void (*line)(void *ctx, size_t idx, size_t line_no, const char *line, size_t len,
		     int flags, double mono, double wall);
	/* The device went away (its last partial line, if any, came first). */
	void (*gone)(void *ctx, size_t idx);
	/* n lines were dropped: `max_queued` lines were waiting, and the
	 * reader has no journal that can hold more. */
	void (*lost)(void *ctx, size_t idx, uint64_t n);
	/* Lines first..last came while `max_queued` lines were waiting: they
	 * are in the reader's journal only, to be read back from there. */
	void (*spilled)(void *ctx, size_t idx, size_t first, size_t last);
	void *ctx;
};

struct sensorpump;

/*
 * Starts the thread for readers[0..n) (n at most SENSORPUMP_MAX). At most
 * max_queued lines wait in the queue; past that a line is numbered and
 * journalled but not queued (handed over as a spill), or, when the reader
 * has no journal or its journal has reached SENSORSPOOL_SPILL_MAX, dropped
 * (not numbered, not journalled) and counted. A journal that fails is left
 * alone by the pump from then on; its owner learns of it from its next
 * sensorspool call. The thread blocks every signal. 0, or an error.
 */
int sensorpump_start(const struct sensorpump_reader *readers, size_t n, size_t max_queued,
		     struct sensorpump **out, char *err, size_t errlen) WUR;

/* A descriptor that polls readable while anything is queued. */
int sensorpump_fd(const struct sensorpump *p);

/* Hands over everything queued so far through cb (any member may be
 * NULL); returns the number of lines handed over. */
size_t sensorpump_drain(struct sensorpump *p, const struct sensorpump_cb *cb);

/* Stops and joins the thread, hands over what is still queued, and
 * frees the pump. The readers are left open. NULL is fine. */
void sensorpump_stop(struct sensorpump *p, const struct sensorpump_cb *cb);

#endif
