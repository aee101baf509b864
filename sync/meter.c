/*
 * Pacing and progress of one transfer (see meter.h).
 */
#include "meter.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "timeutil.h"

void meter_show(const char *label, uint64_t done, uint64_t total)
{
	fprintf(stderr, "\r%s: %.1f of %.1f MB  ", label ? label : "transfer", (double)done / 1e6,
		(double)total / 1e6);
}

void meter_start(struct meter *m, const char *label, uint64_t total, long rate, int progress)
{
	m->label = label;
	m->total = total;
	m->rate = rate > 0 ? rate : 0;
	m->progress = progress && total >= METER_SHOWN_FROM;
	m->start = time_mono();
	m->last_shown = 0;
	m->shown = 0;
}

void meter_update(struct meter *m, uint64_t done)
{
	if (m->rate > 0) {
		double wait = m->start + (double)done / (double)m->rate - time_mono();
		if (wait > 0) {
			struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
	}
	double now = time_mono();
	if (m->progress && (now - m->last_shown >= 0.5 || done == m->total)) {
		m->last_shown = now;
		m->shown = 1;
		meter_show(m->label, done, m->total);
	}
}

void meter_end(struct meter *m)
{
	if (m->shown)
		fputc('\n', stderr);
	m->shown = 0;
}

size_t meter_chunk(long rate, size_t max)
{
	if (rate <= 0)
		return max;
	size_t c = (size_t)rate / 4;
	if (c < 4096)
		c = 4096;
	return c < max ? c : max;
}
