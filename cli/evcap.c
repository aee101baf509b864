/*
 * evcap: the command line. Pulls the global options out of argv (they may
 * stand before or after the command), finds the store and config, and
 * dispatches through the command table; each command is in cli/cmd_*.c.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "log.h"
#include "timeutil.h"

#define EVCAP_VERSION "0.1.0"

struct command {
	const char *name;
	cmd_fn fn;
	const char *usage;   /* after "evcap NAME " */
	const char *summary;
};

static const struct command commands[] = {
	{"init", cmd_init, "", "create the store and the device key (idempotent)"},
	{"case", cmd_case, "open CASE [--title T] [--use] | list | show CASE | use CASE | close CASE | set CASE ... | add CASE ITEM...",
	 "open, list, show, select and close cases, and put items in them"},
	{"site", cmd_site,
	 "add CASE NAME --lat LAT --lon LON [--radius M] [--water-body river|lake] | list [CASE] | "
	 "show CASE NAME",
	 "the places a case inspects"},
	{"ingest", cmd_ingest,
	 "[--case CASE] [--site NAME] [--operator NAME]... [--time-offset +HH:MM] "
	 "[--medium-uuid U] [--medium-label L] [--no-geotag] PATH...",
	 "record every file under PATH as evidence"},
	{"ls", cmd_ls, "[--case CASE | --no-case]", "list items"},
	{"show", cmd_show, "ITEM", "show one item (id or SHA-256 prefix)"},
	{"note", cmd_note, "ITEM [--] TEXT", "add a note to an item"},
	{"track", cmd_track, "import [--no-geotag] FILE... | ls [--source S] [--limit N]",
	 "GPS tracks from GPX and NMEA files"},
	{"gps", cmd_gps, "log [--server HOST:PORT]", "record fixes from gpsd"},
	{"geotag", cmd_geotag, "[--case CASE] [--max-gap S] [--max-extrapolate S]",
	 "place items from the GPS track"},
	{"sensor", cmd_sensor,
	 "import FILE [--format csv|sdi12] [--instrument NAME | --profile FILE] [--serial S] "
	 "[--calibrated YYYY-MM-DD] [--case CASE] [--site NAME] [--operator NAME]... "
	 "[--time-offset +HH:MM] | listen DEVICE:BAUD:FORMAT[:PROFILE] [options]",
	 "import or listen for water-quality readings"},
	{"readings", cmd_readings, "[--case CASE] [--errors]", "list sensor readings"},
	{"visits", cmd_visits, "[--case CASE] [--gap-hours H] [--json]",
	 "group a case's items into visits"},
	{"revisit", cmd_revisit,
	 "[--case CASE] [--before V --after V] [--gap-hours H] [--html OUT [--force]] "
	 "[--lang zh|en] [--json]",
	 "pair photos of a follow-up visit with the earlier ones"},
	{"export", cmd_export,
	 "--case CASE --format geojson|kml|gpx|csv|html|jpeg --out PATH [--site S] [--from ISO] "
	 "[--to ISO] [--lang zh|en] [--datum gcj02] [--revisit [--before V] [--after V]] [--force]",
	 "export a case"},
	{"sync", cmd_sync,
	 "[--target URL] [--case CASE] [--endpoint URL] [--region R] [--retain-days N] "
	 "[--bandwidth RATE] [--create-bucket] [--no-progress]",
	 "upload evidence bundles to the central store"},
	{"pull", cmd_pull,
	 "--target URL --case CASE [--trust-new] [--endpoint URL] [--region R] [--bandwidth RATE] "
	 "[--no-progress]",
	 "fetch and verify a case's bundles (office)"},
	{"key", cmd_key, "show | trust FILE [--device ID] [--replaces KEYID] | list | sign FILE",
	 "the device signing key and trusted keys"},
	{"verify", cmd_verify, "[--case CASE]", "re-hash every original and re-walk the custody chain"},
	{"log", cmd_log, "[--case CASE]", "print the custody log"},
	{"notify", cmd_notify, "[--once]",
	 "show evcapd's summary of each card as a desktop notification"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: evcap [--store DIR] [--config FILE] [--json] [-q|-v] COMMAND [ARGS]\n\n"
		   "Field-inspection evidence capture: originals kept byte-for-byte, hashed,\n"
		   "placed in time and space, chained in a custody log.\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nglobal options:\n"
		   "  --store DIR    the evidence store (else $EVCAP_STORE, the config's [store] path,\n"
		   "                 or $XDG_DATA_HOME/evcap)\n"
		   "  --config FILE  the config file (else $EVCAP_CONFIG, ~/.config/evcap/evcap.conf,\n"
		   "                 /etc/evcap/evcap.conf)\n"
		   "  --json         machine-readable output\n"
		   "  -q, -v         quieter, more verbose\n"
		   "  --version      print the version\n\n"
		   "'evcap COMMAND --help' describes a command; 'man evcap' has the details.\n"
		   "Exit status: 0 success, 1 a problem found, 2 usage or configuration error.\n");
}

/* The running command, for its --help. */
static const struct command *current;

void cli_getopt_reset(void)
{
	optind = 0; /* GNU: 0 re-initialises getopt completely */
	opterr = 0; /* its messages lack "evcap" and name no value: cli_bad_option's instead */
}

/*
 * getopt_long has just returned '?'. It leaves the element it refused at
 * argv[optind - 1] when it was a long option, and the letter in optopt
 * when it was a short one; optopt is 0 for an unknown long option, and
 * the option's value for a known one given without its value (at the end)
 * or with a value it does not take ("--use=x").
 */
int cli_bad_option(struct cli *cli, int argc, char **argv)
{
	const char *cmd = cli->command ? cli->command : "";
	int i = optind - 1;
	const char *a = i >= 1 && i < argc ? argv[i] : NULL;
	if (a && strncmp(a, "--", 2) == 0 && a[2] &&
	    (optopt == 0 || i == argc - 1 || strchr(a, '='))) {
		const char *eq = strchr(a, '=');
		char *opt = xstrndup(a, eq ? (size_t)(eq - a) : strlen(a));
		char *shown = cli_shown(opt); /* as typed, its control characters escaped */
		if (optopt == 0)
			fprintf(stderr, "evcap %s: unknown option '%s' (see 'evcap %s --help')\n",
				cmd, shown, cmd);
		else if (eq)
			fprintf(stderr, "evcap %s: %s takes no value (see 'evcap %s --help')\n", cmd,
				shown, cmd);
		else
			fprintf(stderr, "evcap %s: %s needs a value (see 'evcap %s --help')\n", cmd,
				shown, cmd);
		free(shown);
		free(opt);
	} else if (optopt > 0x20 && optopt < 0x7f) {
		fprintf(stderr,
			"evcap %s: unknown option '-%c' (see 'evcap %s --help'; put '--' before an "
			"argument that begins with '-')\n",
			cmd, optopt, cmd);
	} else {
		fprintf(stderr, "evcap %s: unknown option (see 'evcap %s --help')\n", cmd, cmd);
	}
	return EXIT_USAGE;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* one line: what is wrong, and where the usage is; what was typed
	 * may hold control characters, shown escaped, never obeyed */
	char *shown = cli_shown(msg);
	if (!cli->command)
		fprintf(stderr, "evcap: %s\n", shown);
	else if (strstr(msg, "--help'"))
		fprintf(stderr, "evcap %s: %s\n", cli->command, shown);
	else
		fprintf(stderr, "evcap %s: %s (see 'evcap %s --help')\n", cli->command, shown,
			cli->command);
	free(shown);
	return EXIT_USAGE;
}

void cli_print_help(struct cli *cli, const char *details)
{
	(void)cli;
	if (current)
		printf("usage: evcap %s %s\n\n%s.\n", current->name, current->usage, current->summary);
	if (details && *details)
		printf("\n%s", details);
}

size_t cli_control_at(const char *v, int lines, char *shown, size_t shownlen)
{
	const unsigned char *p = (const unsigned char *)v;
	for (size_t i = 0; p[i]; i++) {
		/* U+0080 to U+009F are C2 80 to C2 9F in UTF-8; some terminals
		 * obey them as they do ESC (U+009B is CSI) */
		int c1 = p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;
		if ((p[i] >= 0x20 && p[i] != 0x7f && !c1) || (lines && (p[i] == '\n' || p[i] == '\t')))
			continue;
		if (c1)
			snprintf(shown, shownlen, "U+%04X", p[i + 1]);
		else
			snprintf(shown, shownlen, "0x%02X", p[i]);
		return i + 1;
	}
	return 0;
}

char *cli_shown(const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");
	size_t n = strlen((const char *)p), k = 0, d;
	char *out = xmalloc(4 * n + 1);
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			k += (size_t)sprintf(out + k, "\\x%02X", p[i]);
		} else if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			k += (size_t)sprintf(out + k, "\\xC2\\x%02X", p[i + 1]);
			i++;
		} else if ((d = text_direction_len((const char *)p + i, n - i)) != 0) {
			for (size_t e = 0; e < d; e++)
				k += (size_t)sprintf(out + k, "\\x%02X", p[i + e]);
			i += d - 1;
		} else {
			out[k++] = (char)p[i];
		}
	}
	out[k] = '\0';
	return out;
}

void cli_warn(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap); /* whole, however long the path */
	va_end(ap);
	char *shown = cli_shown(n < 0 ? "(a message could not be formatted)" : msg);
	fprintf(stderr, "%s\n", shown);
	free(shown);
	if (n >= 0)
		free(msg);
}

int cli_check_text(struct cli *cli, const char *what, const char *v, int lines)
{
	char shown[16];
	size_t at = cli_control_at(v, lines, shown, sizeof shown);
	if (at)
		return cli_usage_error(cli,
				       "%s may not hold control characters%s: it has %s at byte %zu",
				       what, lines ? " other than line breaks and tabs" : "", shown,
				       at);
	unsigned cp;
	at = text_direction_at(v, &cp);
	if (at)
		return cli_usage_error(cli,
				       "%s may not hold a text-direction control (U+%04X, at byte "
				       "%zu): it turns the text after it around in reports; type it "
				       "anew",
				       what, cp, at);
	return 0;
}

int cli_subcommand(struct cli *cli, int argc, char **argv, const char *details,
		   const char *subs)
{
	if (argc < 2)
		return cli_usage_error(cli, "a subcommand is needed: %s", subs);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_print_help(cli, details);
		return EXIT_OK;
	}
	return -1;
}

int cli_unknown_subcommand(struct cli *cli, const char *sub, const char *subs)
{
	char shown[128];
	return cli_usage_error(cli, "unknown subcommand '%s'; 'evcap %s' takes %s",
			       ingest_display_text(sub, strlen(sub), shown, sizeof shown),
			       cli->command, subs);
}

int cli_case_only_args(struct cli *cli, int argc, char **argv, const char *details,
		       const char **case_name)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int c;
	*case_name = NULL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'c') {
			*case_name = optarg;
		} else if (c == 'h') {
			cli_print_help(cli, details);
			return EXIT_OK;
		} else {
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	return -1;
}

int cli_plain_args(struct cli *cli, int argc, char **argv, const char *details,
		   const char *what, const char *hint, const char **arg)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(cli, details);
			return EXIT_OK;
		}
		return cli_bad_option(cli, argc, argv);
	}
	*arg = NULL;
	if (!what && optind != argc)
		return cli_usage_error(cli, "%s takes no arguments, not '%s'", argv[0],
				       argv[optind]);
	if (what && optind >= argc)
		return cli_usage_error(cli, "%s needs a %s", argv[0], what);
	if (what && optind + 1 != argc)
		return cli_usage_error(cli, "%s takes one %s; '%s' is one too many%s%s", argv[0],
				       what, argv[optind + 1], hint ? " " : "", hint ? hint : "");
	if (what && !*argv[optind])
		return cli_usage_error(cli, "%s needs a %s, and '' is empty", argv[0], what);
	if (what)
		*arg = argv[optind];
	return -1;
}

/* "evcap ingest: /media/ev: the store cannot be written: its filesystem is
 * read-only; nothing was done ..." and exit 2. */
static void cli_refuse_readonly(struct cli *cli, const char *why)
{
	cli_warn("evcap %s: %s; nothing was done (commands that only read the store, such as "
		 "ls, show, log, verify and a report's export, still work)",
		 cli->command ? cli->command : "", why);
	exit(EXIT_USAGE);
}

struct store *cli_store(struct cli *cli, enum cli_use use)
{
	int writes = use == CLI_WRITE || use == CLI_CREATE;
	char err[1024];
	if (cli->store) {
		const char *ro = store_readonly(cli->store);
		if (writes && ro) {
			snprintf(err, sizeof err, "%s: the store cannot be written: %s",
				 store_dir(cli->store), ro);
			cli_refuse_readonly(cli, err);
		}
		return cli->store;
	}
	struct stat st;
	/* store_open would call it "not an evidence store ... run 'evcap init'",
	 * and init would then fail */
	if (stat(cli->store_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		cli_warn("evcap: %s is a file, not a folder; the evidence store is a folder "
			 "(give --store the store's folder)",
			 cli->store_dir);
		exit(EXIT_USAGE);
	}
	int flags = use == CLI_CREATE ? STORE_CREATE : writes ? 0 : STORE_READ_IF_UNWRITABLE;
	int rc = store_open(cli->store_dir, flags, &cli->store, err, sizeof err);
	if (rc == EV_EROFS)
		cli_refuse_readonly(cli, err);
	if (rc) {
		cli_warn("evcap: %s", err);
		/* no store there (or one too new) is the command line's to put
		 * right; a store busy, unreadable or failing is a problem */
		exit(rc == EV_ENOENT || rc == EV_EINVAL ? EXIT_USAGE : EXIT_PROBLEM);
	}
	const char *ro = store_readonly(cli->store);
	if (ro && use == CLI_READ_RECORD)
		cli_warn("evcap %s: note: the store %s is opened read-only (%s), so this %s is not "
			 "recorded in its custody log",
			 cli->command, cli->store_dir, ro, cli->command);
	else if (ro)
		cli_warn("evcap %s: note: the store %s is opened read-only (%s)", cli->command,
			 cli->store_dir, ro);
	return cli->store;
}

void cli_case_hint(char *out, size_t outlen, int n_like, const char *like)
{
	if (n_like == 1)
		snprintf(out, outlen,
			 "; did you mean '%s'? (the two differ only in full-width and half-width "
			 "characters; give the number as recorded)",
			 like);
	else if (n_like > 1)
		snprintf(out, outlen,
			 "; %d cases differ from it only in full-width and half-width characters, "
			 "the first '%s' ('evcap case list' shows them; give the number as "
			 "recorded)",
			 n_like, like);
	else if (outlen)
		out[0] = '\0';
}

int64_t cli_case(struct cli *cli, const char *name, int required)
{
	struct store *s = cli_store(cli, CLI_READ);
	char *in_use = NULL;
	int from_config = 0;
	if (!name) {
		in_use = store_meta_get(s, "current_case");
		name = in_use;
		if (!name && cli->cfg->case_number) {
			name = cli->cfg->case_number;
			from_config = 1;
		}
	}
	if (name && !*name) {
		fprintf(stderr, "evcap %s: the case number given is empty ('evcap case list' shows "
				"the cases)\n", cli->command);
		return -1;
	}
	if (!name) {
		if (required)
			fprintf(stderr,
				"evcap %s: no case given and none in use (give --case CASE, or run "
				"'evcap case use CASE')\n",
				cli->command);
		return 0;
	}
	int64_t id = store_case_id(s, name);
	char *shown = cli_shown(name);
	/* A number typed with the full-width digits or letters of a Chinese
	 * input method, or the other way round, is named, never taken for
	 * the case: evidence goes under the number as recorded. */
	char *like = NULL, hint[CLI_CASE_HINT];
	int n_like = id == 0 ? store_case_like(s, name, &like) : 0;
	cli_case_hint(hint, sizeof hint, n_like, like);
	if (id <= 0 && from_config)
		fprintf(stderr,
			"evcap %s: no case '%s' in this store%s: it is the case the config file %s "
			"names ([store] case); give --case CASE, or run 'evcap case use CASE'\n",
			cli->command, shown, hint,
			cli->config_path ? cli->config_path : "(unknown)");
	else if (id <= 0 && n_like > 0)
		fprintf(stderr, "evcap %s: no case '%s' in this store%s\n", cli->command, shown,
			hint);
	else if (id <= 0)
		fprintf(stderr,
			"evcap %s: no case '%s' in this store ('evcap case list' shows the cases; "
			"'evcap case open' makes one)\n",
			cli->command, shown);
	free(shown);
	free(like);
	free(in_use);
	return id > 0 ? id : -1;
}

int64_t cli_site(struct cli *cli, int64_t case_id, const char *name)
{
	sqlite3_stmt *st = store_prepare(cli_store(cli, CLI_READ),
					 "SELECT id FROM sites WHERE case_id = ? AND name = ?", NULL, 0);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (id <= 0) {
		cli_usage_error(cli, "the case has no site '%s' ('evcap site list' shows them; "
				     "'evcap site add' makes one)",
				name);
		return -1;
	}
	return id;
}

int cli_check_date(struct cli *cli, const char *opt, const char *v)
{
	static const char form[] = "dddd-dd-dd";
	char iso[32];
	double t;
	size_t i;
	for (i = 0; v[i] && form[i]; i++)
		if (form[i] == 'd' ? v[i] < '0' || v[i] > '9' : v[i] != form[i])
			break;
	if (v[i] || form[i])
		return cli_usage_error(cli, "%s must be a date written YYYY-MM-DD, such as 2023-07-01, "
					    "not '%s'", opt, v);
	snprintf(iso, sizeof iso, "%sT00:00:00Z", v);
	if (time_parse_iso(iso, &t))
		return cli_usage_error(cli, "%s %s: there is no such day in the calendar", opt, v);
	return 0;
}

int cli_out_taken(struct cli *cli, const char *opt, const char *path, int force)
{
	struct stat st;
	if (force || lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		cli_usage_error(cli, "%s %s is a folder; give the name of a file to write", opt, path);
	else
		cli_usage_error(cli, "%s %s exists already; give --force to replace it, or another "
				     "name", opt, path);
	return 1;
}

void cli_print_json(void *json)
{
	json_t *j = json;
	/* 15 significant digits: 2.3 prints as 2.3, and a degree keeps
	 * well under a millimetre */
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	fputc('\n', stdout);
	json_decref(j);
}

/* Removes argv[i] (and n-1 following) from the vector. */
static void drop(int *argc, char **argv, int i, int n)
{
	memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof *argv);
	*argc -= n;
}

static const char *default_store(void)
{
	static char path[4096];
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && *xdg) {
		snprintf(path, sizeof path, "%s/evcap", xdg);
		return path;
	}
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	snprintf(path, sizeof path, "%s/.local/share/evcap", home);
	return path;
}

static const char *default_actor(void)
{
	const char *op = getenv("EVCAP_OPERATOR");
	if (op && *op)
		return op;
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		return pw->pw_name;
	return "unknown";
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	struct config cfg;
	const char *store_opt = NULL, *config_opt = NULL;
	int rc = EXIT_USAGE;
	char err[1024];
	static char config_buf[4096];

	config_init(&cfg);
	cli.cfg = &cfg;
	cli.prog = "evcap";
	/* Global options, wherever they stand, until a "--". */
	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--store") == 0 || strcmp(a, "--config") == 0 ||
		    strncmp(a, "--store=", 8) == 0 || strncmp(a, "--config=", 9) == 0) {
			int is_store = a[2] == 's';
			size_t n = is_store ? 7 : 8;
			const char *v = a[n] == '=' ? a + n + 1 : i + 1 < argc ? argv[i + 1] : NULL;
			if (!v || !*v) {
				fprintf(stderr, "evcap: %.*s needs a path (%s)\n", (int)n, a,
					is_store ? "the evidence store's folder" : "a config file");
				return EXIT_USAGE;
			}
			*(is_store ? &store_opt : &config_opt) = v;
			drop(&argc, argv, i, a[n] == '=' ? 1 : 2);
		} else if (strcmp(a, "--json") == 0) {
			cli.json = 1;
			drop(&argc, argv, i, 1);
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			cli.verbosity = LOG_LVL_QUIET;
			drop(&argc, argv, i, 1);
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			cli.verbosity = LOG_LVL_DEBUG;
			drop(&argc, argv, i, 1);
		} else {
			i++;
		}
	}
	log_init("evcap", cli.verbosity, 0);
	/* "evcap help COMMAND [SUB]" is "evcap COMMAND [SUB] --help" */
	static char help_opt[] = "--help";
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "help") == 0) {
		for (int i = 1; i < argc - 1; i++)
			argv[i] = argv[i + 1];
		argv[argc - 1] = help_opt;
	} else if (argc > 4 && strcmp(argv[1], "help") == 0) {
		fprintf(stderr, "evcap: help takes a command, e.g. 'evcap help ingest'\n");
		return EXIT_USAGE;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		rc = argc < 2 ? EXIT_USAGE : EXIT_OK;
		goto out; /* whether stdout took it is checked there */
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("evcap %s\n", EVCAP_VERSION);
		rc = EXIT_OK;
		goto out;
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			current = &commands[i];
	if (!current) {
		char *shown = cli_shown(argv[1]);
		fprintf(stderr, "evcap: unknown command '%s' (evcap --help lists them)\n", shown);
		free(shown);
		return EXIT_USAGE;
	}
	cli.command = current->name;

	/* the config: explicit, else the environment, else the usual places */
	const char *cpath = config_opt ? config_opt : getenv("EVCAP_CONFIG");
	int explicit_config = cpath && *cpath;
	if (!explicit_config) {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		const char *home = getenv("HOME");
		if (xdg && *xdg)
			snprintf(config_buf, sizeof config_buf, "%s/evcap/evcap.conf", xdg);
		else
			snprintf(config_buf, sizeof config_buf, "%s/.config/evcap/evcap.conf",
				 home ? home : "/");
		cpath = access(config_buf, F_OK) == 0 ? config_buf
			: access("/etc/evcap/evcap.conf", F_OK) == 0 ? "/etc/evcap/evcap.conf"
								       : NULL;
	}
	if (cpath) {
		if (config_load(cpath, &cfg, err, sizeof err)) {
			/* say where the path came from: a stale $EVCAP_CONFIG in a
			 * profile fails every command */
			cli_warn("evcap: the config file %s: %s",
				 config_opt	     ? "given with --config"
				 : explicit_config ? "named by $EVCAP_CONFIG"
						   : "found",
				 err);
			goto out;
		}
		cli.config_path = cpath;
	}
	const char *env_store = getenv("EVCAP_STORE");
	cli.store_dir = store_opt                   ? store_opt
			: env_store && *env_store   ? env_store
			: cfg.store                 ? cfg.store
						    : default_store();
	cli.actor = default_actor();
	/* the actor of every custody event this run records */
	const char *op = getenv("EVCAP_OPERATOR");
	char shown[16];
	unsigned dir_cp;
	if (op && *op &&
	    (strlen(op) > 256 || !utf8_valid(op, strlen(op)) ||
	     cli_control_at(op, 0, shown, sizeof shown) || text_direction_at(op, &dir_cp))) {
		fprintf(stderr, "evcap: $EVCAP_OPERATOR (the name custody events record) must be "
				"UTF-8 text of at most 256 bytes without control characters or "
				"text-direction controls (U+202A-202E, U+2066-2069)\n");
		rc = EXIT_USAGE;
		goto out;
	}
	cli_getopt_reset();
	rc = current->fn(&cli, argc - 1, argv + 1);
out:
	store_close(cli.store);
	config_free(&cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "evcap: cannot write output: %s\n", strerror(errno));
		if (rc == EXIT_OK)
			rc = EXIT_PROBLEM;
	}
	return rc;
}
