/*
 * The evcap command line: global options, the store handle shared by the
 * commands, and the signature every command has. Each command lives in its
 * own cli/cmd_*.c and is listed in the table in evcap.c.
 *
 * Exit codes: 0 success, 1 a problem found (verify found damage, a pull was
 * refused, a file named that is missing, unreadable or damaged, some files
 * could not be ingested), 2 usage or configuration error (an option, a
 * case or site that does not exist, the store).
 */
#ifndef EVCAP_CLI_H
#define EVCAP_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

enum { EXIT_OK = 0, EXIT_PROBLEM = 1, EXIT_USAGE = 2 };

struct cli {
	const char *store_dir;   /* resolved store directory */
	const char *config_path; /* the config file read, or NULL */
	struct config *cfg;      /* never NULL: defaults when no file */
	int json;                /* --json */
	int verbosity;           /* -q: -1, default 0, -v: 1 */
	const char *actor;       /* who runs it: $EVCAP_OPERATOR, else the login name */
	struct store *store;     /* opened by cli_store(), closed by main */
	const char *prog;        /* "evcap" */
	const char *command;     /* the command name being run */
};

/* The signature of every command: argv[0] is the command name; options
 * are parsed with getopt_long (cli_getopt_reset() first). */
typedef int (*cmd_fn)(struct cli *cli, int argc, char **argv);

/* What a command does with the store, for cli_store. */
enum cli_use {
	CLI_READ,        /* only reads it */
	CLI_READ_RECORD, /* reads it, and records what it did (verify's check, a
			  * report's export) in the custody log if it can be
			  * written */
	CLI_WRITE,       /* changes it */
	CLI_CREATE,      /* makes it if missing (evcap init) */
};

/* Opens the store once for the command (later calls return it), or
 * prints why not and exits 2 (no store, one too new or too old, or one
 * that cannot be written for CLI_WRITE or CLI_CREATE: nothing is done
 * then) or 1. A store that cannot be written (its filesystem is
 * read-only, or this user may not write to it) is opened read-only for
 * CLI_READ and CLI_READ_RECORD, said once on stderr (for CLI_READ_RECORD,
 * with what goes unrecorded); store_readonly() then tells. A command that
 * writes asks with CLI_WRITE before its first change, so that a
 * read-only store turns it away before anything is done. */
struct store *cli_store(struct cli *cli, enum cli_use use);

/* Resets getopt for a command's own option parsing. getopt prints
 * nothing (opterr 0): a '?' from getopt_long goes to cli_bad_option. */
void cli_getopt_reset(void);

/* After getopt_long returned '?' on argv: prints one line naming the
 * option and what is wrong with it ("unknown option '--bogus'", "--case
 * needs a value", "--use takes no value"), and returns EXIT_USAGE. */
int cli_bad_option(struct cli *cli, int argc, char **argv);

/* Prints "evcap COMMAND: message (see 'evcap COMMAND --help')" to stderr,
 * one line (for usage errors, return 2). After a '?' from getopt_long,
 * call cli_bad_option instead. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Resolves a case for a command: `name` if given (must exist), else the
 * case in use. Prints a clear error and returns 0 when there is none;
 * required=0 returns 0 silently when no case is given or in use. */
int64_t cli_case(struct cli *cli, const char *name, int required);

/* What to add to "no case N" when n_like cases (store_case_like; like the
 * first) differ from N only in the width of their characters: "; did you
 * mean 'M'? ...", or "" when n_like <= 0. */
#define CLI_CASE_HINT 1024
void cli_case_hint(char *out, size_t outlen, int n_like, const char *like);

/* 1 if path (a file, or the folder of working copies) would land inside
 * the store: an export never writes among the evidence it describes. */
int cli_inside_store(struct store *s, const char *path);

/* An export never replaces a file silently: with force 0 and path there
 * already (a file, a folder or a link), prints one line naming it and the
 * option (opt: "--out") and returns 1; else 0. */
int cli_out_taken(struct cli *cli, const char *opt, const char *path, int force);

/* 0 if v is a date of the calendar written YYYY-MM-DD; else prints one
 * line naming opt ("--reply-date") and what is wrong (the form, or a day
 * that does not exist) and returns EXIT_USAGE. */
int cli_check_date(struct cli *cli, const char *opt, const char *v);

/* Records one finished export (a report, a list) as an "export" custody
 * event; on failure the output is removed, so that no export exists
 * without its event. 0 or EV_EDB (said). A store open read-only (one that
 * cannot be written, cli_store with CLI_READ_RECORD) records nothing and
 * the export is kept: cli_store said so once when it opened the store. */
int cli_record_export(struct cli *cli, struct store *s, const char *case_number,
		      const char *item_sha, json_t *detail, const char *remove_on_fail);

/* The id of the case's site called name, or -1 after printing a clear
 * usage error when the case has no such site. */
int64_t cli_site(struct cli *cli, int64_t case_id, const char *name);

/* Prints the running command's usage and summary, then details. */
void cli_print_help(struct cli *cli, const char *details);

/* The arguments of a subcommand that takes only --help (and "--"), and
 * no argument (what NULL) or exactly one (what names it: "case number"),
 * into *arg; hint (or NULL) follows the message about one too many.
 * argv[0] is the subcommand's name. -1 to go on, else the exit status
 * (after --help, printing details, or a one-line usage error). */
int cli_plain_args(struct cli *cli, int argc, char **argv, const char *details,
		   const char *what, const char *hint, const char **arg);

/* The 1-based byte position of the first control character in v, UTF-8
 * text (C0, DEL, or C1 U+0080 to U+009F; with lines != 0 a line feed or
 * a tab is no fault), and what it is ("0x1B", "U+009B") into shown; 0
 * when there is none. */
size_t cli_control_at(const char *v, int lines, char *shown, size_t shownlen);

/* Values a person types that are stored and then shown in listings, logs
 * and reports hold no control character, which a terminal would obey, and
 * no text-direction override, embedding or isolate (U+202A-202E,
 * U+2066-2069), which reverses the text after it in a report (other
 * officers' names, a note's author): 0 if v (UTF-8 already) has none
 * (lines != 0: text such as a note, whose line feeds and tabs are kept);
 * else one line naming what ("--title", "the site name"), the character
 * and its byte position, and EXIT_USAGE. */
int cli_check_text(struct cli *cli, const char *what, const char *v, int lines);

/* v as it may go to a terminal: each control character (C0, DEL, C1) and
 * each byte of a text-direction character (text_direction_len) as \xNN,
 * everything else as it is. Stores made before control characters were
 * refused, and bundles from such devices, may hold them in titles,
 * labels and names; a sample id or a name from a card may hold a
 * direction override. A new string, never NULL (NULL gives ""). */
char *cli_shown(const char *v);
/* Prints one message line to stderr (fmt without its newline), with any
 * control character in it, from a name, a URL or a file the message
 * quotes, shown escaped as cli_shown does. */
void cli_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* The start of a command made of subcommands (case, site, key, ...), whose
 * subcommand is argv[1]: with none there, one line on stderr saying one
 * is needed, listing subs ("open, list, show, ..."), and EXIT_USAGE; with
 * --help or -h, the help on stdout (details after the usage) and EXIT_OK;
 * else -1 to go on. */
int cli_subcommand(struct cli *cli, int argc, char **argv, const char *details,
		   const char *subs);

/* One line on stderr naming sub (escaped, as typed) as no subcommand of
 * the running command and listing subs; returns EXIT_USAGE. */
int cli_unknown_subcommand(struct cli *cli, const char *sub, const char *subs);

/* Option parsing for the commands whose only option is --case NAME (ls,
 * log, verify): sets *case_name (or leaves it NULL) and returns -1 to go
 * on; after --help (printing details) or a usage error, returns the exit
 * status to end with. */
int cli_case_only_args(struct cli *cli, int argc, char **argv, const char *details,
		       const char **case_name);

/* Prints a JSON value (jansson json_t *) to stdout, indented, and frees it. */
void cli_print_json(void *json);

/* The commands. */
int cmd_init(struct cli *, int, char **);
int cmd_case(struct cli *, int, char **);
int cmd_site(struct cli *, int, char **);
int cmd_ingest(struct cli *, int, char **);
int cmd_ls(struct cli *, int, char **);
int cmd_show(struct cli *, int, char **);
int cmd_note(struct cli *, int, char **);
int cmd_notify(struct cli *, int, char **);
int cmd_track(struct cli *, int, char **);
int cmd_gps(struct cli *, int, char **);
int cmd_geotag(struct cli *, int, char **);
int cmd_sensor(struct cli *, int, char **);
int cmd_readings(struct cli *, int, char **);
int cmd_visits(struct cli *, int, char **);
int cmd_revisit(struct cli *, int, char **);
int cmd_export(struct cli *, int, char **);
int cmd_sync(struct cli *, int, char **);
int cmd_pull(struct cli *, int, char **);
int cmd_key(struct cli *, int, char **);
int cmd_verify(struct cli *, int, char **);
int cmd_log(struct cli *, int, char **);

#endif
