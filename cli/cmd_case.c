/*
 * evcap case: open, list, show, use, close and set cases. A case number is
 * kept exactly as the user writes it (UTF-8, e.g. 嫩检公益立〔2023〕15号);
 * every change is a custody event.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custody.h"
#include "geotag.h"
#include "items.h"
#include "sites.h"
#include "sync.h"
#include "timeutil.h"

#define CASE_MAX_LEN 256

static const char case_help[] =
	"subcommands:\n"
	"  open CASE [--title T] [--use] [--time-offset +HH:MM] [--water-body river|lake]\n"
	"            [--operator NAME]... [--distinct]\n"
	"                                   open a case (CASE as written, e.g. 嫩检公益立〔2023〕15号,\n"
	"                                   with no space at either end); a case that exists\n"
	"                                   is left as it is: 'set' changes its fields; a\n"
	"                                   number that differs from a case's only in full-width\n"
	"                                   and half-width characters (２０２４ and 2024) is\n"
	"                                   refused unless --distinct is given\n"
	"  list                             the cases, * marks the one in use\n"
	"  show CASE                        one case with its counts\n"
	"  use CASE                         make CASE the default for ingest and other commands\n"
	"                                   (an open case only)\n"
	"  close CASE                       close a case (no more ingest into it); a closed\n"
	"                                   case is never reopened\n"
	"                                   (set and close: not a case pulled from a field\n"
	"                                   device, which follows that device's bundles;\n"
	"                                   the office may set its recommendation and reply\n"
	"                                   date, which bundles then leave alone)\n"
	"  add CASE ITEM...                 put items recorded in no case into CASE (id or\n"
	"                                   SHA-256 prefix; one in CASE already is left, one\n"
	"                                   in another case is never moved); --unassigned:\n"
	"                                   every item and sensor reading that is in no\n"
	"                                   case; items with a camera clock and no time of\n"
	"                                   their own take the case's --time-offset, then\n"
	"                                   the GPS track\n"
	"  set CASE [--title T] [--time-offset +HH:MM] [--water-body river|lake]\n"
	"           [--operator NAME]... [--witness NAME] [--no-witness-reason TEXT]\n"
	"           [--medium-kept yes|no] [--medium-note TEXT]\n"
	"           [--recommendation NO] [--reply-date YYYY-MM-DD]\n"
	"                                   change the case's fields and the inspection\n"
	"                                   record's facts: the ones given, at least one\n";

/* The length of the white space (ASCII, no-break space U+00A0, the
 * ideographic space U+3000 of Chinese input) at s, or 0. */
static size_t space_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	if (*u == ' ' || *u == '\t')
		return 1;
	if (u[0] == 0xc2 && u[1] == 0xa0)
		return 2;
	if (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
		return 3;
	return 0;
}

/* 1 if s (of len bytes) ends in white space as space_len knows it. */
static int ends_in_space(const char *s, size_t len)
{
	for (size_t k = 1; k <= 3 && k <= len; k++)
		if (space_len(s + len - k) == k)
			return 1;
	return 0;
}

/* The code point of a character that shows as nothing (a soft hyphen,
 * zero-width spaces and joiners, direction marks and overrides, a
 * byte-order mark, C1 controls) at the UTF-8 text s, or 0. Such
 * characters come with numbers pasted from documents and web pages. */
static unsigned invisible_at(const unsigned char *s)
{
	if (s[0] == 0xc2 && (s[1] == 0xad || (s[1] >= 0x80 && s[1] <= 0x9f)))
		return s[1];
	if (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x8b && s[2] <= 0x8f) ||
					      (s[2] >= 0xaa && s[2] <= 0xae)))
		return 0x2000u + (s[2] - 0x80u);
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa0 && s[2] <= 0xaf)
		return 0x2040u + (s[2] - 0x80u);
	if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		return 0xfeff;
	return 0;
}

/*
 * A new case number. Numbers that differ only by a space at either end,
 * or by a character that shows as nothing, would look the same in every
 * list and report, so a new one may hold neither. Numbers stored before
 * this rule are left as they are, and are still found as written.
 */
static int valid_case_number(struct cli *cli, const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > CASE_MAX_LEN || !utf8_valid(n, len)) {
		cli_usage_error(cli, "a case number must be 1 to %d bytes of UTF-8 text (%d Chinese "
				     "characters)%s",
				CASE_MAX_LEN, CASE_MAX_LEN / 3,
				len > CASE_MAX_LEN ? "; this one is longer" : "");
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned cp = invisible_at((const unsigned char *)n + i);
		if (cp) {
			cli_usage_error(cli, "case number holds an invisible character (U+%04X) %s%.*s%s, "
					     "most often pasted with it; type the number anew",
					cp, i ? "after '" : "at its start", (int)i, n, i ? "'" : "");
			return 0;
		}
	}
	if (cli_check_text(cli, "a case number", n, 0))
		return 0;
	size_t i = 0;
	while (i < len && space_len(n + i))
		i += space_len(n + i);
	if (i == len) {
		cli_usage_error(cli, "a case number may not be blank");
		return 0;
	}
	if (i > 0 || ends_in_space(n, len)) {
		cli_usage_error(cli, "case number '%s' begins or ends with a space; write it "
				     "without", n);
		return 0;
	}
	return 1;
}

/* Column `col` (a name of ours, never input) of case `number`
 * (malloc'd), or NULL. */
static char *case_text(struct store *s, const char *number, const char *col)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT %s FROM cases WHERE number = ?", col);
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	char *v = NULL;
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* The status of case `number` ("open", "closed"; malloc'd), or NULL. */
static char *case_status_of(struct store *s, const char *number)
{
	return case_text(s, number, "status");
}

static int is_closed(struct store *s, const char *number)
{
	char *st = case_status_of(s, number);
	int closed = st && strcmp(st, "closed") == 0;
	free(st);
	return closed;
}

/* What evcap says of a closed case asked to take more (there is no
 * reopening: a closed case stays as it was closed). */
static int refuse_closed(struct cli *cli, const char *number, const char *what)
{
	fprintf(stderr,
		"evcap case %s: case %s is closed; evcap does not reopen a closed case (open "
		"a new case number for further work)\n",
		what, number);
	(void)cli;
	return EXIT_USAGE;
}

/* One settable field: option name, column, how to check it. F_TEXT is a
 * name or a number, one line; F_LINES is text that may run over lines. */
enum fkind { F_TEXT, F_LINES, F_OFFSET, F_WATER, F_YESNO, F_DATE };
struct field {
	const char *opt;
	const char *column;
	enum fkind kind;
	int office; /* the office may set it on a case pulled from the field */
};
static const struct field fields[] = {
	{"title", "title", F_TEXT, 0},
	{"time-offset", "time_offset", F_OFFSET, 0},
	{"water-body", "water_body", F_WATER, 0},
	{"witness", "witness", F_TEXT, 0},
	{"no-witness-reason", "no_witness_reason", F_LINES, 0},
	{"medium-kept", "medium_kept", F_YESNO, 0},
	{"medium-note", "medium_note", F_LINES, 0},
	{"recommendation", "recommendation", F_TEXT, 1},
	{"reply-date", "reply_date", F_DATE, 1},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int check_field(struct cli *cli, const struct field *f, const char *v)
{
	int off;
	char buf[40];
	switch (f->kind) {
	case F_TEXT:
	case F_LINES:
		if (!utf8_valid(v, strlen(v)) || strlen(v) > 4096)
			return cli_usage_error(cli, "--%s must be UTF-8 text of at most 4096 bytes",
					       f->opt);
		snprintf(buf, sizeof buf, "--%s", f->opt);
		return cli_check_text(cli, buf, v, f->kind == F_LINES);
	case F_OFFSET:
		if (time_parse_offset(v, &off))
			return cli_usage_error(cli, "--%s %s, not '%s'", f->opt, time_offset_why(v),
					       v);
		return 0;
	case F_WATER:
		if (strcmp(v, "river") && strcmp(v, "lake"))
			return cli_usage_error(cli, "--%s must be 'river' or 'lake' (reservoirs count as lake)",
					       f->opt);
		return 0;
	case F_YESNO:
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return cli_usage_error(cli, "--%s must be yes or no", f->opt);
		return 0;
	case F_DATE:
		snprintf(buf, sizeof buf, "--%s", f->opt);
		return cli_check_date(cli, buf, v);
	}
	return 0;
}

/* Parses the settable options into vals[]; operators into ops (JSON). */
static int parse_fields(struct cli *cli, int argc, char **argv, const char **vals, json_t *ops,
			int *use, int *distinct)
{
	struct option opts[NFIELDS + 5];
	size_t k = 0;
	for (; k < NFIELDS; k++)
		opts[k] = (struct option){fields[k].opt, required_argument, NULL, 1000 + (int)k};
	opts[k++] = (struct option){"operator", required_argument, NULL, 'o'};
	opts[k++] = (struct option){"use", no_argument, NULL, 'u'};
	opts[k++] = (struct option){"distinct", no_argument, NULL, 'd'};
	opts[k++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[k] = (struct option){0};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= 1000 && c < 1000 + (int)NFIELDS) {
			const struct field *f = &fields[c - 1000];
			int rc = check_field(cli, f, optarg);
			if (rc)
				return rc;
			vals[c - 1000] = optarg;
		} else if (c == 'o') {
			if (!*optarg || !utf8_valid(optarg, strlen(optarg)))
				return cli_usage_error(cli, "--operator needs a name");
			if (cli_check_text(cli, "--operator", optarg, 0))
				return EXIT_USAGE;
			json_array_append_new(ops, json_string(optarg));
		} else if (c == 'u' && distinct) {
			*use = 1;
		} else if (c == 'u') {
			return cli_usage_error(cli, "--use goes with 'case open'; to make a case the "
						    "one in use, run 'evcap case use CASE'");
		} else if (c == 'd' && distinct) {
			*distinct = 1;
		} else if (c == 'd') {
			return cli_usage_error(cli, "--distinct goes with 'case open'");
		} else if (c == 'h') {
			cli_print_help(cli, case_help);
			return -1;
		} else {
			return cli_bad_option(cli, argc, argv);
		}
	}
	return 0;
}

/* 1 when case `number` came in pulled bundles. */
static int is_pulled(struct store *s, const char *number)
{
	char *o = case_text(s, number, "origin");
	int pulled = o && strcmp(o, "pulled") == 0;
	free(o);
	return pulled;
}

/*
 * A case that came in pulled bundles shows what the field device's newest
 * bundle says of it (docs/sync.md, "The case's fields"); an edit here
 * would be overwritten by the next bundle, or would hide it, so the office
 * changes only the cases it opened itself, and on a pulled case only the
 * office's own acts (the recommendation and the agency's reply date), when
 * `vals` is given. 1 (and said) when the change is refused.
 */
static int refuse_pulled(struct store *s, const char *number, const char *what,
			 const char **vals, const json_t *ops)
{
	if (!is_pulled(s, number))
		return 0;
	int fields_only = vals != NULL && json_array_size(ops) == 0;
	for (size_t k = 0; fields_only && k < NFIELDS; k++)
		if (vals[k] && !fields[k].office)
			fields_only = 0;
	if (fields_only)
		return 0;
	fprintf(stderr,
		"evcap case %s: case %s came from a field device, and its fields are what the "
		"newest bundle pulled says; change it on the field device ('evcap case %s' "
		"there), sync, and pull (the office may set only --recommendation and "
		"--reply-date here)\n",
		what, number, what);
	return 1;
}

/* Marks the office's own fields of a pulled case, which bundles then leave
 * alone (sync/pull.c, follow_case). */
static int mark_office_fields(struct store *s, const char *number, const char **vals, char *err,
			      size_t errlen)
{
	for (size_t k = 0; k < NFIELDS; k++) {
		if (!vals[k] || !fields[k].office)
			continue;
		sqlite3_stmt *st = store_prepare(
			s,
			"UPDATE cases SET office_fields = (SELECT json_group_array(value) FROM"
			" (SELECT value FROM json_each(coalesce(office_fields, '[]'))"
			"  UNION SELECT ?1 ORDER BY 1)) WHERE number = ?2",
			err, errlen);
		if (!st)
			return EV_EDB;
		sqlite3_bind_text(st, 1, fields[k].column, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE)
			return err_set(err, errlen, EV_EDB, "%s", sqlite3_errmsg(store_db(s)));
	}
	return 0;
}

/* Applies vals/ops to the case row and logs one custody event. */
static int apply_fields(struct cli *cli, struct store *s, const char *number, const char **vals,
			json_t *ops, const char *action, json_t *detail)
{
	char err[512];
	for (size_t k = 0; k < NFIELDS; k++) {
		if (!vals[k])
			continue;
		char sql[128];
		snprintf(sql, sizeof sql, "UPDATE cases SET %s = ? WHERE number = ?", fields[k].column);
		sqlite3_stmt *st = store_prepare(s, sql, err, sizeof err);
		if (!st)
			goto fail;
		if (fields[k].kind == F_YESNO)
			sqlite3_bind_int(st, 1, strcmp(vals[k], "yes") == 0);
		else
			sqlite3_bind_text(st, 1, vals[k], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE) {
			snprintf(err, sizeof err, "%s", sqlite3_errmsg(store_db(s)));
			goto fail;
		}
		json_object_set_new(detail, fields[k].column,
				    fields[k].kind == F_YESNO
					    ? json_boolean(strcmp(vals[k], "yes") == 0)
					    : json_string(vals[k]));
	}
	if (json_array_size(ops)) {
		char *txt = json_dumps(ops, JSON_COMPACT);
		sqlite3_stmt *st = store_prepare(s, "UPDATE cases SET operators = ? WHERE number = ?",
						 err, sizeof err);
		if (!st) {
			free(txt);
			goto fail;
		}
		sqlite3_bind_text(st, 1, txt, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		sqlite3_finalize(st);
		free(txt);
		if (r != SQLITE_DONE) {
			snprintf(err, sizeof err, "%s", sqlite3_errmsg(store_db(s)));
			goto fail;
		}
		json_object_set(detail, "operators", ops);
	}
	if (custody_append(s, time_now(), cli->actor, action, number, NULL, detail, NULL, err,
			   sizeof err))
		goto fail;
	return 0;
fail:
	cli_warn("evcap case: %s", err);
	return EXIT_PROBLEM;
}

/* The options given, for a message: "--title, --operator". */
static void given_options(const char **vals, const json_t *ops, char *out, size_t n)
{
	size_t k, len = 0;
	out[0] = '\0';
	for (k = 0; k < NFIELDS; k++)
		if (vals[k] && len < n)
			len += (size_t)snprintf(out + len, n - len, "%s--%s", len ? ", " : "",
						fields[k].opt);
	if (json_array_size(ops) && len < n)
		snprintf(out + len, n - len, "%s--operator", len ? ", " : "");
}

static void print_case_json(const char *number, const char *status, int created, int in_use)
{
	json_t *o = json_object();
	json_object_set_new(o, "case", json_string(number));
	json_object_set_new(o, "status", json_string(status));
	if (created >= 0)
		json_object_set_new(o, "created", json_boolean(created));
	json_object_set_new(o, "in_use", json_boolean(in_use));
	cli_print_json(o);
}

/* 1 if case `number` is the one in use. */
static int in_use(struct store *s, const char *number)
{
	char *cur = store_meta_get(s, "current_case");
	int yes = cur && strcmp(cur, number) == 0;
	free(cur);
	return yes;
}

/*
 * A new number written like a case that exists, but for the width of its
 * characters (ＸＸ检公益立〔２０２４〕３号 typed with a Chinese input method,
 * XX检公益立〔2024〕3号 on another day), would split one case's evidence
 * in two: almost always a typing slip. 1 (and said) when there is such a
 * case; --distinct opens the new one all the same.
 */
static int refuse_written_like(struct store *s, const char *number)
{
	char *like = NULL;
	int n = store_case_like(s, number, &like);
	if (n > 0)
		fprintf(stderr,
			"evcap case open: case '%s' exists, and '%s' differs from it only in "
			"full-width and half-width characters (digits, letters, signs or spaces); "
			"to work on that case give its number as recorded, '%s'; to open a "
			"separate case all the same, give --distinct\n",
			like, number, like);
	free(like);
	return n > 0;
}

/*
 * evcap case open CASE [options]: a new case, with its fields, in one
 * custody event. Opening a case that exists changes nothing: a closed one
 * stays closed (exit 2), and fields given for an open one are not applied
 * but named, with the command that changes them (exit 2); --use alone
 * makes an open one the case in use.
 */
static int case_open(struct cli *cli, int argc, char **argv)
{
	const char *vals[NFIELDS] = {0};
	json_t *ops = json_array(), *detail = json_object();
	int use = 0, distinct = 0, rc, created = 0;
	char err[512], now[32], key[64], given[256];
	if ((rc = parse_fields(cli, argc, argv, vals, ops, &use, &distinct)))
		goto out;
	if (optind >= argc) {
		rc = cli_usage_error(cli, "open needs a case number");
		goto out;
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(cli, "open takes one case number; '%s' is one too many (quote "
					  "a number that holds spaces)", argv[optind + 1]);
		goto out;
	}
	const char *number = argv[optind];
	struct store *s = cli_store(cli, CLI_WRITE);
	given_options(vals, ops, given, sizeof given);
again:
	if (store_case_id(s, number) > 0) {
		if (is_closed(s, number)) {
			rc = refuse_closed(cli, number, "open");
			goto out;
		}
		if (given[0]) {
			fprintf(stderr,
				"evcap case open: case %s is open already, so %s %s not applied "
				"(change a case with 'evcap case set %s ...')\n",
				number, given, strchr(given, ',') ? "were" : "was", number);
			rc = EXIT_USAGE;
			goto out;
		}
		if (!cli->json && !use)
			printf("case %s is already open in this store\n", number);
	} else {
		if (!valid_case_number(cli, number) ||
		    (!distinct && refuse_written_like(s, number))) {
			rc = EXIT_USAGE;
			goto out;
		}
		time_format_iso(time_now(), now);
		store_case_key(number, key);
		if (store_begin(s, err, sizeof err))
			goto dberr;
		sqlite3_stmt *st = store_prepare(
			s, "INSERT INTO cases(number, key, opened_at) VALUES (?, ?, ?)", err, sizeof err);
		if (!st) {
			store_rollback(s);
			goto dberr;
		}
		sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE) {
			int raced = (sqlite3_errcode(store_db(s)) & 0xff) == SQLITE_CONSTRAINT;
			snprintf(err, sizeof err, "%s", sqlite3_errmsg(store_db(s)));
			store_rollback(s);
			/* another evcap opened it since it was looked for: as if
			 * this had come second */
			if (raced && store_case_id(s, number) > 0)
				goto again;
			goto dberr;
		}
		json_object_set_new(detail, "key", json_string(key));
		if ((rc = apply_fields(cli, s, number, vals, ops, "case open", detail))) {
			store_rollback(s);
			goto out;
		}
		if (store_commit(s, err, sizeof err))
			goto dberr;
		created = 1;
		if (!cli->json)
			printf("opened case %s\n", number);
	}
	if (use) {
		if (store_meta_set(s, "current_case", number, err, sizeof err))
			goto dberr;
		if (!cli->json)
			printf("case %s is now in use\n", number);
	}
	if (cli->json)
		print_case_json(number, "open", created, in_use(s, number));
	rc = EXIT_OK;
	goto out;
dberr:
	cli_warn("evcap case open: %s", err);
	rc = EXIT_PROBLEM;
out:
	json_decref(ops);
	json_decref(detail);
	return rc < 0 ? EXIT_OK : rc;
}

/* 1 when the options change the case's water body. */
static int water_given(const char **vals)
{
	for (size_t k = 0; k < NFIELDS; k++)
		if (fields[k].kind == F_WATER && vals[k])
			return 1;
	return 0;
}

static int case_set(struct cli *cli, int argc, char **argv)
{
	const char *vals[NFIELDS] = {0};
	json_t *ops = json_array(), *detail = json_object();
	int use = 0, rc;
	char err[512];
	if ((rc = parse_fields(cli, argc, argv, vals, ops, &use, NULL)))
		goto out;
	if (optind + 1 != argc) {
		rc = cli_usage_error(cli, optind >= argc ? "set needs a case number"
							 : "set takes one case number and options");
		goto out;
	}
	size_t given = json_array_size(ops);
	for (size_t k = 0; k < NFIELDS; k++)
		given += vals[k] != NULL;
	if (!given) {
		rc = cli_usage_error(cli, "set needs a field to change: --title, --time-offset, "
					  "--water-body, --operator, --witness, "
					  "--no-witness-reason, --medium-kept, --medium-note, "
					  "--recommendation or --reply-date");
		goto out;
	}
	const char *number = argv[optind];
	struct store *s = cli_store(cli, CLI_WRITE);
	if (cli_case(cli, number, 1) <= 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (refuse_pulled(s, number, "set", vals, ops)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (store_begin(s, err, sizeof err)) {
		cli_warn("evcap case set: %s", err);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if ((rc = apply_fields(cli, s, number, vals, ops, "case set", detail))) {
		store_rollback(s);
		goto out;
	}
	if (is_pulled(s, number) && mark_office_fields(s, number, vals, err, sizeof err)) {
		cli_warn("evcap case set: %s", err);
		store_rollback(s);
		rc = EXIT_PROBLEM;
		goto out;
	}
	/* readings the case's water body classes (those in no site that
	 * names its own) are classed again with the new one */
	int reclassed = 0;
	if (water_given(vals) && sites_reclass(s, store_case_id(s, number), cli->actor,
					       "case water body", &reclassed, err, sizeof err)) {
		cli_warn("evcap case set: classing the readings again: %s", err);
		store_rollback(s);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if (store_commit(s, err, sizeof err)) {
		cli_warn("evcap case set: %s", err);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if (cli->json) {
		char *status = case_status_of(s, number);
		json_t *o = json_object(), *changed = json_array();
		const char *k;
		json_t *v;
		json_object_set_new(o, "case", json_string(number));
		json_object_set_new(o, "status", json_string(status ? status : "open"));
		json_object_foreach(detail, k, v)
			json_array_append_new(changed, json_string(k));
		json_object_set_new(o, "changed", changed);
		json_object_set_new(o, "in_use", json_boolean(in_use(s, number)));
		json_object_set_new(o, "reclassed", json_integer(reclassed));
		free(status);
		cli_print_json(o);
	} else {
		printf("case %s updated\n", number);
		if (reclassed)
			printf("%d sensor reading%s classed again with the case's water body\n",
			       reclassed, reclassed == 1 ? "" : "s");
	}
	rc = EXIT_OK;
out:
	json_decref(ops);
	json_decref(detail);
	return rc < 0 ? EXIT_OK : rc;
}

static json_t *case_json(sqlite3_stmt *st)
{
	static const char *names[] = {"number", "title", "status", "opened_at", "closed_at",
				      "time_offset", "water_body", "operators", "witness",
				      "no_witness_reason", "medium_kept", "medium_note",
				      "recommendation", "reply_date", "key", "origin", "items"};
	json_t *o = json_object();
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
		case SQLITE_TEXT: v = json_string((const char *)sqlite3_column_text(st, i)); break;
		default: v = json_null();
		}
		if (strcmp(names[i], "operators") == 0) {
			json_t *a = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
			json_decref(v);
			v = json_is_array(a) ? a : (json_decref(a), json_array());
		} else if (strcmp(names[i], "medium_kept") == 0 && json_is_integer(v)) {
			json_t *b = json_boolean(json_integer_value(v));
			json_decref(v);
			v = b;
		}
		json_object_set_new(o, names[i], v);
	}
	return o;
}

static const char case_cols[] =
	"c.number, c.title, c.status, c.opened_at, c.closed_at, c.time_offset, c.water_body,"
	" c.operators, c.witness, c.no_witness_reason, c.medium_kept, c.medium_note,"
	" c.recommendation, c.reply_date, c.key, c.origin,"
	" (SELECT count(*) FROM items i WHERE i.case_id = c.id)";

static int case_list(struct cli *cli)
{
	struct store *s = cli_store(cli, CLI_READ);
	char *in_use = store_meta_get(s, "current_case");
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM cases c ORDER BY c.opened_at, c.id", case_cols);
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (!st) {
		free(in_use);
		return EXIT_PROBLEM;
	}
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = case_json(st);
		const char *num = json_string_value(json_object_get(o, "number"));
		json_object_set_new(o, "in_use", json_boolean(in_use && strcmp(in_use, num) == 0));
		json_array_append_new(arr, o);
	}
	free(in_use);
	if (r != SQLITE_DONE) {
		fprintf(stderr, "evcap case list: reading the store: %s\n",
			sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
		json_decref(arr);
		return EXIT_PROBLEM;
	}
	sqlite3_finalize(st);
	if (cli->json) {
		cli_print_json(arr);
		return EXIT_OK;
	}
	if (json_array_size(arr) == 0)
		printf("no cases yet ('evcap case open CASE' opens one)\n");
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		const char *title = json_string_value(json_object_get(o, "title"));
		json_int_t n = json_integer_value(json_object_get(o, "items"));
		char *num = cli_shown(json_string_value(json_object_get(o, "number")));
		char *tt = cli_shown(title);
		printf("%s %s  [%s, %lld item%s]%s%s\n",
		       json_is_true(json_object_get(o, "in_use")) ? "*" : " ", num,
		       json_string_value(json_object_get(o, "status")), (long long)n,
		       n == 1 ? "" : "s", title ? "  " : "", tt);
		free(num);
		free(tt);
	}
	json_decref(arr);
	return EXIT_OK;
}

static int case_show(struct cli *cli, const char *number)
{
	struct store *s = cli_store(cli, CLI_READ);
	if (cli_case(cli, number, 1) <= 0)
		return EXIT_USAGE;
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM cases c WHERE c.number = ?", case_cols);
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (!st)
		return EXIT_PROBLEM;
	sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
	json_t *o = sqlite3_step(st) == SQLITE_ROW ? case_json(st) : NULL;
	sqlite3_finalize(st);
	if (!o)
		return EXIT_PROBLEM;
	if (cli->json) {
		cli_print_json(o);
		return EXIT_OK;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if (json_is_null(v))
			continue;
		char *txt = json_is_string(v) ? cli_shown(json_string_value(v))
					       : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-18s %s\n", k, txt ? txt : "");
		free(txt);
	}
	json_decref(o);
	return EXIT_OK;
}

/* After closing the case in use: it stays "in use", but takes nothing, so
 * evcapd records new files with no case, and ingest and sensor refuse
 * them. Said on stderr, in one line, even with -q or --json: files
 * recorded unsorted are easy to miss until the report. */
static void warn_closed_in_use(struct store *s, const char *number)
{
	if (in_use(s, number))
		fprintf(stderr,
			"evcap case close: case %s is the case in use: until another case is put "
			"in use ('evcap case use CASE'), evcapd records new files with no case, "
			"and 'evcap ingest' and 'evcap sensor' refuse them unless given --case\n",
			number);
}

static int case_status(struct cli *cli, const char *number, int close)
{
	char err[512], now[32];
	struct store *s = cli_store(cli, CLI_WRITE);
	if (cli_case(cli, number, 1) <= 0)
		return EXIT_USAGE;
	if (!close) {
		/* ingest, evcapd and sensors would then record into a case that
		 * takes nothing: refused here rather than at each of them */
		if (is_closed(s, number)) {
			fprintf(stderr, "evcap case use: case %s is closed and takes nothing more, so it "
					"cannot be the case in use ('evcap case list' shows the open "
					"ones)\n", number);
			return EXIT_USAGE;
		}
		if (store_meta_set(s, "current_case", number, err, sizeof err)) {
			cli_warn("evcap case use: %s", err);
			return EXIT_PROBLEM;
		}
		if (cli->json)
			print_case_json(number, "open", -1, 1);
		else
			printf("case %s is now in use\n", number);
		return EXIT_OK;
	}
	if (refuse_pulled(s, number, "close", NULL, NULL))
		return EXIT_USAGE;
	if (is_closed(s, number)) {
		if (cli->json)
			print_case_json(number, "closed", -1, in_use(s, number));
		else
			printf("case %s is closed already\n", number);
		warn_closed_in_use(s, number);
		return EXIT_OK;
	}
	time_format_iso(time_now(), now);
	if (store_begin(s, err, sizeof err))
		goto fail;
	sqlite3_stmt *st = store_prepare(
		s, "UPDATE cases SET status = 'closed', closed_at = ? WHERE number = ?", err, sizeof err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE ||
	    custody_append(s, time_now(), cli->actor, "case close", number, NULL, NULL, NULL, err,
			   sizeof err) ||
	    store_commit(s, err, sizeof err))
		goto fail;
	if (cli->json)
		print_case_json(number, "closed", -1, in_use(s, number));
	else
		printf("case %s closed\n", number);
	warn_closed_in_use(s, number);
	return EXIT_OK;
fail:
	store_rollback(s);
	cli_warn("evcap case close: %s", err);
	return EXIT_PROBLEM;
}

/*
 * An item that had no time of its own when it was recorded (a camera clock
 * without a zone, ingested with no case and so no declared offset) takes
 * the declared offset of the case it is put into, as ingest would have
 * given it: captured_at, tz_offset, time_source 'declared', and a custody
 * event "retime". Items with a time are left as they are. 1 if retimed,
 * 0 if not, -1 on a store error (err).
 */
static int retime_declared(struct cli *cli, struct store *s, json_int_t item, const char *sha,
			   const char *number, const char *offset, char *err, size_t errlen)
{
	int off_s, rc = 0;
	if (!offset || time_parse_offset(offset, &off_s) != 0)
		return 0;
	sqlite3_stmt *st = store_prepare(s,
		"SELECT camera_time, subsec FROM items WHERE id = ? AND captured_at IS NULL"
		" AND (time_source IS NULL OR time_source = '') AND camera_time IS NOT NULL",
		err, errlen);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, item);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return 0;
	}
	char cam[32];
	int64_t t;
	snprintf(cam, sizeof cam, "%s", (const char *)sqlite3_column_text(st, 0));
	double subsec = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 1);
	sqlite3_finalize(st);
	if (time_parse_exif(cam, &t) != 0)
		return 0;
	if (!(subsec >= 0 && subsec < 1))
		subsec = 0;
	char iso[32], tz[8];
	time_format_iso((double)t + subsec - off_s, iso);
	time_format_offset(off_s, tz);
	st = store_prepare(s,
		"UPDATE items SET captured_at = ?1, tz_offset = ?2, time_source = 'declared',"
		" declared_offset = ?2 WHERE id = ?3", err, errlen);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, iso, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tz, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, item);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(store_db(s)));
		return -1;
	}
	json_t *d = json_pack("{s:s, s:s, s:n, s:n, s:s, s:s, s:s}", "camera_time", cam,
			      "captured_at", iso, "previous_captured_at", "previous_time_source",
			      "time_source", "declared", "tz_offset", tz, "reason",
			      "the declared offset of the case the item was put into");
	rc = custody_append(s, time_now(), cli->actor, "retime", number, sha, d, NULL, err, errlen);
	json_decref(d);
	return rc ? -1 : 1;
}

/* Puts one item that is in no case into case `id`; 0, 1 when it is in
 * another case already (said on stderr), 2 when it is in this one (said
 * on stdout; nothing to do), or -1 on a store error (err). *retimed is
 * counted up when the case's declared offset gave it a time. */
static int add_item(struct cli *cli, struct store *s, int64_t id, const char *number,
		    const char *offset, const json_t *it, size_t *retimed, char *err,
		    size_t errlen)
{
	const char *sha = json_string_value(json_object_get(it, "sha256"));
	const char *in = json_string_value(json_object_get(it, "case"));
	json_int_t item = json_integer_value(json_object_get(it, "id"));
	if (in && strcmp(in, number) == 0) {
		if (!cli->json)
			printf("item %lld (%.12s) is in case %s already\n", (long long)item,
			       sha ? sha : "?", number);
		return 2;
	}
	if (in) {
		fprintf(stderr, "evcap case add: item %lld (%.12s) is in case %s already; an item "
				"is never moved from one case to another\n",
			(long long)item, sha ? sha : "?", in);
		return 1;
	}
	sqlite3_stmt *st = store_prepare(
		s, "UPDATE items SET case_id = ? WHERE id = ? AND case_id IS NULL", err, errlen);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, item);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(store_db(s)));
		return -1;
	}
	json_t *d = json_pack("{s:I, s:n}", "item", item, "previous_case");
	int rc = custody_append(s, time_now(), cli->actor, "case add", number, sha, d, NULL, err,
				errlen);
	json_decref(d);
	if (rc)
		return -1;
	int t = retime_declared(cli, s, item, sha, number, offset, err, errlen);
	if (t < 0)
		return -1;
	*retimed += (size_t)t;
	return 0;
}

/* Readings in no case into case `id`, in one custody event; how many, or
 * -1 on a store error (err). They are older than readings the case may
 * have synced already, so every target's mark of what was sent is set
 * back to before them. */
static int64_t add_readings(struct cli *cli, struct store *s, int64_t id, const char *number,
			    char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT min(id) FROM readings WHERE case_id IS NULL",
					 err, errlen);
	if (!st)
		return -1;
	int r = sqlite3_step(st);
	int64_t first = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (r != SQLITE_ROW) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(store_db(s)));
		return -1;
	}
	if (first > 0 && sync_readings_moved(s, number, first, err, errlen))
		return -1;
	st = store_prepare(s, "UPDATE readings SET case_id = ? WHERE case_id IS NULL", err,
			   errlen);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(store_db(s)));
		return -1;
	}
	int64_t n = sqlite3_changes64(store_db(s));
	if (n) {
		json_t *d = json_pack("{s:I, s:n}", "readings", (json_int_t)n, "previous_case");
		int rc = custody_append(s, time_now(), cli->actor, "case add", number, NULL, d, NULL,
					err, errlen);
		json_decref(d);
		if (rc)
			return -1;
	}
	return n;
}

/*
 * evcap case add CASE ITEM... | --unassigned: gives items recorded in no
 * case (a card offloaded before any case was in use) a case, so that they
 * are synced and exported with it. An item already in a case stays there.
 * Each item is a custody event; all of them are one transaction.
 */
static int case_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"unassigned", no_argument, NULL, 'u'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int c, unassigned = 0, refused = 0, rc = EXIT_PROBLEM;
	size_t added = 0, retimed = 0, already = 0;
	char offset[16] = "";
	int64_t readings = 0;
	char err[512];
	json_t *items = NULL;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'u') {
			unassigned = 1;
		} else if (c == 'h') {
			cli_print_help(cli, case_help);
			return EXIT_OK;
		} else {
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "add takes a case number, then items or --unassigned");
	const char *number = argv[optind++];
	if (unassigned && optind < argc)
		return cli_usage_error(cli, "give the items to add, or --unassigned, not both");
	if (!unassigned && optind >= argc)
		return cli_usage_error(cli, "give the items to add (id or SHA-256 prefix), or "
					    "--unassigned for every item in no case");
	struct store *s = cli_store(cli, CLI_WRITE);
	int64_t id = cli_case(cli, number, 1);
	if (id <= 0)
		return EXIT_USAGE;
	sqlite3_stmt *cs = store_prepare(s, "SELECT status, time_offset FROM cases WHERE id = ?", err,
					 sizeof err);
	if (!cs)
		goto fail_msg;
	sqlite3_bind_int64(cs, 1, id);
	int closed = 0;
	if (sqlite3_step(cs) == SQLITE_ROW) {
		const char *st = (const char *)sqlite3_column_text(cs, 0);
		closed = st && strcmp(st, "closed") == 0;
		if (sqlite3_column_text(cs, 1))
			snprintf(offset, sizeof offset, "%s", (const char *)sqlite3_column_text(cs, 1));
	}
	sqlite3_finalize(cs);
	if (closed) {
		fprintf(stderr, "evcap case add: case %s is closed; nothing more goes into it\n",
			number);
		return EXIT_USAGE;
	}
	if (unassigned) {
		struct item_filter f = {0};
		json_t *all = items_list(s, &f, err, sizeof err);
		if (!all)
			goto fail_msg;
		items = json_array();
		size_t i;
		json_t *it;
		json_array_foreach(all, i, it) {
			if (json_is_null(json_object_get(it, "case")))
				json_array_append(items, it);
		}
		json_decref(all);
	} else {
		items = json_array();
		for (; optind < argc; optind++) {
			json_t *it = items_get(s, argv[optind], err, sizeof err);
			if (!it) {
				cli_warn("evcap case add: %s", err);
				json_decref(items);
				return EXIT_USAGE;
			}
			json_array_append_new(items, it);
		}
	}
	if (store_begin(s, err, sizeof err))
		goto fail_msg;
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		int r = add_item(cli, s, id, number, offset[0] ? offset : NULL, it, &retimed, err,
				 sizeof err);
		if (r < 0)
			goto fail;
		refused += r == 1;
		already += r == 2;
		added += r == 0;
	}
	if (unassigned && (readings = add_readings(cli, s, id, number, err, sizeof err)) < 0)
		goto fail;
	/* they were classed without the case's water body */
	if (readings > 0 && sites_reclass(s, id, cli->actor, "case water body", NULL, err,
					  sizeof err))
		goto fail;
	if (store_commit(s, err, sizeof err))
		goto fail;
	/* what now has a time may now have a place, and a site (geotag_run
	 * gives both; when it fails, what has a place still gets its site) */
	struct geotag_stats gs = {0};
	int assigned = 0;
	if ((added || readings > 0) && geotag_run(s, id, cli->cfg->max_gap > 0 ? cli->cfg->max_gap
							   : GEOTAG_DEFAULT_MAX_GAP,
				cli->cfg->max_extrapolate >= 0 ? cli->cfg->max_extrapolate
							       : GEOTAG_DEFAULT_MAX_EXTRAP,
				cli->actor, &gs, err, sizeof err)) {
		fprintf(stderr, "evcap case add: placing the items from the GPS track failed: %s "
				"(they are in the case; 'evcap geotag' tries again)\n", err);
		if (sites_assign_cases(s, id, cli->actor, &assigned, err, sizeof err))
			cli_warn("evcap case add: assigning items to sites: %s", err);
	}
	if (cli->json) {
		cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "case", number,
					 "items", (json_int_t)added, "already_in_case",
					 (json_int_t)already, "readings", (json_int_t)readings,
					 "refused", (json_int_t)refused, "retimed",
					 (json_int_t)retimed, "placed", (json_int_t)gs.placed));
	} else {
		printf("%zu item%s put into case %s", added, added == 1 ? "" : "s", number);
		if (unassigned)
			printf(", and %lld sensor reading%s", (long long)readings,
			       readings == 1 ? "" : "s");
		printf("\n");
		if (retimed)
			printf("%zu item%s timed with the case's camera offset %s\n", retimed,
			       retimed == 1 ? "" : "s", offset);
		if (gs.placed)
			printf("%zu item%s placed from the GPS track\n", gs.placed,
			       gs.placed == 1 ? "" : "s");
	}
	rc = refused ? EXIT_PROBLEM : EXIT_OK;
	goto out;
fail:
	store_rollback(s);
fail_msg:
	cli_warn("evcap case add: %s", err);
out:
	json_decref(items);
	return rc;
}

int cmd_case(struct cli *cli, int argc, char **argv)
{
	static const char subs[] = "open, list, show, use, close, set or add";
	int rc = cli_subcommand(cli, argc, argv, case_help, subs);
	if (rc >= 0)
		return rc;
	const char *sub = argv[1];
	if (strcmp(sub, "open") == 0)
		return case_open(cli, argc - 1, argv + 1);
	if (strcmp(sub, "set") == 0)
		return case_set(cli, argc - 1, argv + 1);
	if (strcmp(sub, "add") == 0)
		return case_add(cli, argc - 1, argv + 1);
	int list = strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0;
	if (list || strcmp(sub, "show") == 0 || strcmp(sub, "use") == 0 ||
	    strcmp(sub, "close") == 0) {
		const char *number = NULL;
		rc = cli_plain_args(cli, argc - 1, argv + 1, case_help,
					list ? NULL : "case number",
					"(quote a number that holds spaces)", &number);
		if (rc >= 0)
			return rc;
		if (list)
			return case_list(cli);
		if (strcmp(sub, "show") == 0)
			return case_show(cli, number);
		return case_status(cli, number, strcmp(sub, "close") == 0);
	}
	return cli_unknown_subcommand(cli, sub, subs);
}
