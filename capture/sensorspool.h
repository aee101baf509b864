/*
 * The live probes' journal: every line a probe sends is on disk within
 * moments of its arrival, until the batch holding it commits.
 *
 * evcapd records probe lines in batches (one transaction and one custody
 * event every 2 seconds or 64 lines), and while it copies a large file it
 * takes none; a power cut or a SIGKILL would otherwise take the lines
 * still in memory. Each probe run appends to a file of its own, one JSON
 * object a line:
 *
 *   {"evcap_sensor_journal":1,"source":"serial:/dev/ttyUSB0@...","spec":"..."}
 *   {"n":12,"t":1764430000.25,"f":0,"hex":"302b31372e35"}
 *   {"from":12,"case":"嫩检公益立〔2023〕15号"}
 *
 * A line: n its number in the run, t the wall-clock time it arrived, f
 * the reader's flags (cut, partial), hex its bytes. A case mark: the
 * lines from `from` on went to that case (null: to none). Lines are
 * written by the thread that reads the probe and made durable (fdatasync)
 * after each read; case marks by the loop as a batch begins, and as the
 * case in use changes while lines wait in the journal alone. Once every
 * line written is in the store, the file is cut back to its header; at a
 * clean stop it is removed. A file left behind is replayed by the next
 * start, and a line already recorded is not recorded twice (readings are
 * unique by source, line number and content).
 *
 * A journal may be written from two threads; each call takes its lock.
 * After a write fails, every call fails with that error.
 */
#ifndef EVCAP_SENSORSPOOL_H
#define EVCAP_SENSORSPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct sensorspool;

/* Creates a new journal for the run `source` in dir (made if need be;
 * never an existing file, which may hold a run's unrecorded lines) and
 * makes its header durable. 0, or an error with err. */
int sensorspool_open(const char *dir, const char *source, const char *spec,
		     struct sensorspool **out, char *err, size_t errlen) WUR;

/* Appends one line (durable after the next sensorspool_sync). */
int sensorspool_add(struct sensorspool *s, size_t line_no, double wall, int flags,
		    const char *line, size_t len, char *err, size_t errlen) WUR;

/* Notes that lines from line_no on go to the case case_number (NULL:
 * to none). */
int sensorspool_mark_case(struct sensorspool *s, size_t line_no, const char *case_number,
			  char *err, size_t errlen) WUR;

/* Makes what was written durable; nothing to do if nothing was. */
int sensorspool_sync(struct sensorspool *s, char *err, size_t errlen) WUR;

/* Lines up to line_no are in the store: if no later line was written,
 * cuts the file back to its header (else it is left as it is, and a
 * replay finds the recorded lines already there). */
int sensorspool_clear_upto(struct sensorspool *s, size_t line_no, char *err,
			   size_t errlen) WUR;

/* The journal's length in bytes now. */
int64_t sensorspool_size(struct sensorspool *s);

/* The longest a journal is let grow by lines the loop has no room for
 * (sensorpump.h): well within what a replay reads (SENSORSPOOL_MAX). At
 * a chatty probe's 10 lines a second that is about half a day. */
#define SENSORSPOOL_SPILL_MAX ((int64_t)32 << 20)

/* Closes the journal; with `remove`, deletes it (call only when every
 * line is recorded). NULL is fine. */
void sensorspool_close(struct sensorspool *s, int remove);

const char *sensorspool_path(const struct sensorspool *s);

/* ---- replay ---- */

struct sensorspool_line {
	size_t line_no;
	double wall;
	int flags;
	int case_known;          /* a case mark covers the line */
	const char *case_number; /* then: its case, NULL for none */
	const char *raw;
	size_t len;
};

struct sensorspool_reader {
	/* the header; nonzero stops the reading (the file is left alone) */
	int (*head)(void *ctx, const char *source, const char *spec);
	/* each whole line, in the order of their numbers; nonzero stops */
	int (*line)(void *ctx, const struct sensorspool_line *l);
	void *ctx;
};

/*
 * Reads a journal left behind: the header, then every line through r.
 * A record that cannot be read (the last one torn by the power cut, or a
 * damaged one) is skipped and counted in *bad. 0 when the whole file was
 * read; an error (with err) when it cannot be opened or has no valid
 * header, or EV_ERR when a callback stopped it.
 */
int sensorspool_read(const char *path, const struct sensorspool_reader *r, size_t *bad,
		     char *err, size_t errlen) WUR;

/* The largest journal read: it holds a batch's lines, or the few
 * thousand held while the store refused them; 64 MiB is far beyond. */
#define SENSORSPOOL_MAX ((size_t)64 << 20)

/* sensorspool_read on len bytes at data, named path in messages. Each
 * line handed over has raw[len] == '\0'; line numbers never decrease. */
int sensorspool_parse(const char *data, size_t len, const char *path,
		      const struct sensorspool_reader *r, size_t *bad, char *err,
		      size_t errlen) WUR;

/* The journals in dir (NULL and 0 when there is no dir), sorted; free
 * each path and the array. */
int sensorspool_list(const char *dir, char ***paths, size_t *n, char *err, size_t errlen) WUR;

/* The journals' folder in a store. malloc'd. */
char *sensorspool_dir(const char *store_dir);

#endif
