/*
 * Water-quality readings: the catalogue of parameters evcap knows (ids,
 * English and Chinese names, canonical units), the bounded parsers that
 * turn CSV files (long and wide form), SDI-12 logs and live lines into
 * readings, instrument profiles, and the one function that records
 * parsed readings in the store, placed on the GPS track and classed
 * against GB 3838-2002.
 *
 * The parsers are pure functions over text. A line that cannot be read
 * (a bad number, an unknown parameter, a wrong unit, no time) is never
 * dropped and never given a made-up value: it becomes a reading with no
 * value and `error` naming the line and the problem.
 */
#ifndef EVCAP_SENSOR_H
#define EVCAP_SENSOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gb3838.h"
#include "hash.h"
#include "store.h"
#include "util.h"

/* Limits on untrusted input. */
#define SENSOR_MAX_FILE ((size_t)64 << 20)  /* bytes in one imported file */
#define SENSOR_MAX_LINE 4096                /* bytes in one line */
#define SENSOR_MAX_LINES 2000000            /* lines in one file */
#define SENSOR_MAX_FIELDS 64                /* CSV fields in one line */
#define SENSOR_MAX_RECORD_LINES 16          /* lines one CSV record may span (line
					     * breaks in quoted fields); it is also
					     * at most SENSOR_MAX_LINE bytes */
#define SENSOR_MAX_READINGS 2000000         /* readings from one file */
#define SENSOR_MAX_VALUES 20                /* values in one SDI-12 response */
#define SENSOR_MAX_MAP 64                   /* positions a profile maps */
#define SENSOR_MAX_PROFILE ((size_t)64 << 10)

/* One parameter evcap knows. Values are stored in `unit`. */
struct sensor_param {
	const char *id;      /* "nh3n": the `parameter` column */
	const char *unit;    /* canonical unit: "mg/L", "pH", "°C", "个/L", ... */
	const char *name_en; /* "ammonia nitrogen" */
	const char *name_zh; /* "氨氮" */
	double min, max;     /* what the parameter can physically take, in unit */
};

/* The parameter a name means (any accepted English or Chinese alias, ASCII
 * case ignored, surrounding spaces ignored), or NULL. */
const struct sensor_param *sensor_param_lookup(const char *name, size_t len);
/* By canonical id, or NULL. */
const struct sensor_param *sensor_param_by_id(const char *id);
/* The i-th catalogue entry (for help and docs), NULL past the end. */
const struct sensor_param *sensor_param_at(size_t i);

/*
 * Converts value v given in `unit` (len bytes) to p's canonical unit.
 * An empty unit is accepted only for pH. Returns 0 and *out, or EV_EINVAL
 * when the unit is not one p is measured in (then *out is untouched).
 */
int sensor_unit_convert(const struct sensor_param *p, const char *unit, size_t len, double v,
			double *out) WUR;

/* One reading, or one line-level error (param NULL). */
struct sensor_reading {
	size_t line_no;            /* 1-based line of the file, or live sequence */
	char *raw;                 /* the line as read (UTF-8), owned by the batch */
	char raw_sha256[SHA256_HEX_LEN + 1]; /* SHA-256 of raw's bytes */
	int has_time;
	double t;                  /* UTC seconds */
	const struct sensor_param *param; /* NULL: a problem with the whole line */
	int has_value;
	double value;              /* in param->unit; only when error is "" */
	char sample_id[64];
	int has_pos;               /* a position given in the file itself */
	double lat, lon;
	char error[256];           /* "" for a good reading, else what is wrong */
};

/* What a parser made of a text. Invariant: v holds n readings in cap slots. */
struct sensor_batch {
	struct sensor_reading *v;
	size_t n, cap;
	size_t lines;      /* lines read, header and blank ones included */
	size_t ignored;    /* blank, comment and header lines, non-data SDI-12 answers */
	size_t bad_lines;  /* lines with at least one error */
	int need_offset;   /* a time had no UTC offset and none was declared */
	char form[8];      /* "long", "wide", "sdi12", "live" */
	char note[256];    /* remarks on the file ("column 'remark' ignored"), or "" */
};

void sensor_batch_init(struct sensor_batch *b);
void sensor_batch_free(struct sensor_batch *b);
/* Readings with error == "" and errors, counted. */
void sensor_batch_count(const struct sensor_batch *b, size_t *good, size_t *bad);

/* What the parsers need to know. */
struct sensor_opts {
	const char *name;  /* file or device name for messages */
	int has_offset;    /* a declared offset for times written without one */
	int offset_s;      /* seconds east of UTC */
	int has_now;       /* live lines: the time the line arrived ... */
	double now;        /* ... used when the line carries no time */
};

/* An instrument profile (firmware-config/sensors/NAME.profile). */
struct sensor_map {
	int cmd;                 /* the N of aDN! */
	int pos;                 /* 1-based position of the value in that response */
	const struct sensor_param *param;
	char unit[24];           /* the unit the instrument reports in */
};

struct sensor_profile {
	char name[64];
	char model[128];
	char serial[64];
	char calibrated[16];     /* YYYY-MM-DD or "" */
	char format[8];          /* "sdi12" or "csv" */
	char address;            /* SDI-12 address, 0 when any */
	int has_missing;
	double missing;          /* the instrument's "no value" code, e.g. -9999 */
	struct sensor_map map[SENSOR_MAX_MAP];
	size_t n_map;
};

/*
 * Parses a profile: "key = value" lines, "#" comments. Keys: name, model,
 * serial, calibrated, format, address, missing, and value.P or value.DN.P
 * ("value.2 = do mg/L": the second value of the aD0! response is dissolved
 * oxygen in mg/L). Unknown keys and parameters are errors naming the line.
 */
int sensor_profile_parse(const char *text, size_t n, const char *name, struct sensor_profile *p,
			 char *err, size_t errlen) WUR;

/* The folders searched for NAME.profile after $EVCAP_SENSOR_PROFILES
 * (itself a ':'-separated list of folders), in order. */
#define SENSOR_PROFILE_DIRS "/etc/evcap/sensors:/usr/local/share/evcap/sensors:/usr/share/evcap/sensors"

/* 1 if name can name a profile: 1 to 63 letters, digits, '.', '_' and
 * '-', not starting with '.', so it can never climb out of a folder. */
int sensor_profile_name_valid(const char *name);

/* Finds NAME.profile, readable, in $EVCAP_SENSOR_PROFILES then
 * SENSOR_PROFILE_DIRS. The path (malloc'd), or NULL when there is none
 * or the name is not valid. */
char *sensor_profile_find(const char *name);

/* Reads and parses the profile file at path (at most SENSOR_MAX_PROFILE
 * bytes). 0, or an error code with err naming the file (and line), shown
 * as ingest_display_path shows a name (control characters as \xNN). */
int sensor_profile_load(const char *path, struct sensor_profile *p, char *err,
			size_t errlen) WUR;

/* The instrument as compact JSON text ({"name","model","serial",
 * "calibrated"}, only the keys that are set), malloc'd. */
char *sensor_instrument_json(const struct sensor_profile *p);

/*
 * Makes text UTF-8: a UTF-8 byte-order mark is dropped; text that is not
 * UTF-8 is read as GB18030 (what Excel on a Chinese Windows desktop saves
 * CSV as). *encoding gets "utf-8" or "gb18030". A byte that is in neither
 * (line noise, a file cut inside its last character) does not fail the
 * text: text that is mostly UTF-8 stays UTF-8, and whichever encoding
 * reads more of the lines is taken, the bytes it cannot read left in out
 * as they are, so that the parsers keep each such line as an error (with
 * the bytes as \xNN) and read the others. EV_EINVAL, naming the file, only
 * for UTF-16 (*encoding "utf-16"); EV_ELIMIT past out's cap.
 */
int sensor_text_decode(const char *in, size_t n, const char *name, struct buf *out,
		       const char **encoding, char *err, size_t errlen) WUR;

/*
 * Reads a time as written in a sensor file: "YYYY-MM-DD[T ]HH:MM[:SS[.f]]"
 * ('/' also separates the date), then "Z", "+HH:MM", "+HHMM" or "+HH", or
 * nothing (then o's declared offset). Returns 0 and *t (UTC), EV_ENOENT
 * for a well-formed time with no offset and none declared, EV_EINVAL
 * otherwise.
 */
int sensor_time_parse(const char *s, size_t len, const struct sensor_opts *o, double *t) WUR;

/*
 * CSV, long form (a header naming time, parameter, value, unit and
 * optionally sample_id, lat, lon) or wide form (a header with a time
 * column and one column a parameter, its unit in the name: "pH",
 * "DO_mg_L", "溶解氧(mg/L)"). Fields may be quoted; "," or tab separate.
 * A quoted field may hold line breaks (RFC 4180; Excel's Alt+Enter): the
 * record then runs on to its closing quote, within SENSOR_MAX_RECORD_LINES
 * lines and SENSOR_MAX_LINE bytes, and its readings and errors are of its
 * first line; a quote that does not close within those is an error of
 * its line alone. A row must have as many fields as the header.
 * text must be UTF-8 (sensor_text_decode). Appends to b. Fails as a whole
 * (EV_EINVAL, EV_ELIMIT) only for a missing or unusable header, a
 * parameter given by two columns, or a limit; every other problem is a
 * reading with an error.
 */
int sensor_parse_csv(const char *text, size_t n, const struct sensor_opts *o,
		     struct sensor_batch *b, char *err, size_t errlen) WUR;

/*
 * An SDI-12 log: one line an answer, "TIME [aDN!]RESPONSE", e.g.
 * "2024-05-01T10:00:00+08:00 0D0!0+17.5+8.25+6.45"; the profile says
 * which parameter each value is. Answers to other commands (aM!, aI!)
 * are counted in b->ignored. Fails as a whole only on a limit.
 */
int sensor_parse_sdi12(const char *text, size_t n, const struct sensor_profile *p,
		       const struct sensor_opts *o, struct sensor_batch *b, char *err,
		       size_t errlen) WUR;

/* Formats of live lines and files. */
enum sensor_format { SENSOR_FMT_CSV = 1, SENSOR_FMT_SDI12 = 2 };

/*
 * One live line (no header): SDI-12 "[TIME ][aDN!]RESPONSE", or CSV
 * "[TIME,]PARAMETER,VALUE,UNIT[,SAMPLE_ID]"; a line without a time is
 * timed o->now. `line` need not be text: bytes that are not UTF-8 or are
 * control characters are kept as \xNN in raw and the line is an error.
 * The line's readings get line_no. Appends to b; returns 0 or EV_ELIMIT.
 */
int sensor_parse_line(enum sensor_format fmt, const char *line, size_t len, size_t line_no,
		      const struct sensor_profile *p, const struct sensor_opts *o,
		      struct sensor_batch *b) WUR;

/*
 * Marks the readings b->v[from..b->n) of a live line that did not arrive
 * whole (cut at the reader's cap, or the device went away mid-line): each
 * gets "NAME:LINE_NO: why" added to its error and loses its value, since
 * none of a truncated line's numbers can be trusted.
 */
void sensor_batch_mark_incomplete(struct sensor_batch *b, size_t from, const char *name,
				  size_t line_no, const char *why);

/* ---- Recording (the store side) ---- */

struct sensor_record_opts {
	int64_t case_id;            /* 0: none */
	const char *case_number;    /* NULL when case_id is 0 */
	int64_t site_id;            /* 0: none */
	const char *operators_json; /* JSON array text, or NULL */
	const char *instrument_json;/* sensor_instrument_json(), or NULL */
	const char *source;         /* the file's SHA-256, or "serial:DEVICE@START" */
	const char *name;           /* the file or device as shown in messages, or NULL */
	int has_water;              /* the water body is known ... */
	enum gb3838_water water;    /* ... and is this; unknown is classed as river */
	double max_gap, max_extrap; /* track limits, as for photos */
	const char *actor;          /* for the custody log, may be NULL */
	const char *action;         /* custody action, e.g. "sensor import" */
	const char *item_sha256;    /* the imported file's item, or NULL */
	json_t *detail;             /* extra custody detail (borrowed), or NULL */
	double now;                 /* created_at and the event time */
};

/* Conflicts named in the stats of one sensor_record call; past these only
 * the count grows. */
#define SENSOR_RECORD_MSGS 8
#define SENSOR_RECORD_MSG_LEN 320

struct sensor_record_stats {
	size_t readings; /* good readings in the batch */
	size_t errors;   /* readings with an error */
	size_t added;    /* rows inserted */
	size_t already;  /* rows that were already there (re-import) */
	size_t located;  /* rows placed (track or given) */
	size_t classed;  /* rows given a GB 3838 class */
	size_t repeated; /* rows added giving a value an earlier line of the source
			  * gave for the same parameter, sample and time */
	size_t conflicting; /* rows added giving a value no earlier line of the source
			     * gave for a parameter, sample and time it gave one for */
	size_t n_msgs;   /* conflicts named in msgs, <= SENSOR_RECORD_MSGS */
	char msgs[SENSOR_RECORD_MSGS][SENSOR_RECORD_MSG_LEN];
};

/*
 * Records a batch: each reading is classed (gb3838_classify, in its
 * canonical unit), placed (its own position, source "manual"; else the
 * GPS track at its time, source "track", exactly as photos are placed),
 * and inserted unless the same (raw_sha256, parameter, source, line_no)
 * is already there. A reading added for a parameter, sample and time an
 * earlier line of the same source (and case) already gave a value for is
 * kept too (evidence is never dropped): a value one of them gave is
 * counted in st->repeated; a value none gave (an edited row, a probe
 * measuring again) in st->conflicting, and named with both lines and
 * values in st->msgs ("kit.csv: 2 values of nh3n at 2024-05-01T02:00:00Z,
 * sample S1: 2.3 mg/L on line 2, 2.5 mg/L on line 4; both kept"). When
 * anything was added,
 * one custody event `action` records the counts (with `conflicting` and
 * `repeated` when there are any), and (with a case and no site given) the
 * case's sites take the placed readings they hold (sites_assign). Runs in the
 * caller's transaction if one is open, else in its own.
 */
int sensor_record(struct store *s, const struct sensor_batch *b,
		  const struct sensor_record_opts *o, struct sensor_record_stats *st, char *err,
		  size_t errlen) WUR;

#endif
