/*
 * The pace and progress of one transfer, for the targets that move bytes
 * themselves (a dir: target's copies): a rate cap kept by sleeping until
 * the average is down to it, and the progress line a terminal shows. The
 * S3 client leaves the pacing to libcurl and shows the same line.
 */
#ifndef EVCAP_METER_H
#define EVCAP_METER_H

#include <stddef.h>
#include <stdint.h>

/* A body under this many bytes shows no progress line. */
#define METER_SHOWN_FROM ((uint64_t)1 << 20)

struct meter {
	const char *label; /* borrowed; names the transfer in the line */
	uint64_t total;    /* bytes expected */
	long rate;         /* bytes/s cap, 0 = none */
	int progress;      /* show the line (on stderr) */
	double start;      /* monotonic seconds */
	double last_shown;
	int shown;         /* a line is on the screen, to be ended */
};

/* Starts metering a transfer of total bytes; progress is shown only for a
 * total of METER_SHOWN_FROM or more. */
void meter_start(struct meter *m, const char *label, uint64_t total, long rate, int progress);

/* done bytes have moved: shows the line (at most twice a second) and,
 * under a cap, sleeps until the average is down to the cap. */
void meter_update(struct meter *m, uint64_t done);

/* Ends the line, if one was shown. */
void meter_end(struct meter *m);

/* How many bytes to move at a time under the cap `rate` (0: none), for a
 * chunk of at most `max`: a quarter of a second's worth, 4 KiB or more,
 * so that the pace is even and the line moves. */
size_t meter_chunk(long rate, size_t max);

/* The progress line itself: "\rLABEL: 1.2 of 40.0 MB". */
void meter_show(const char *label, uint64_t done, uint64_t total);

#endif
