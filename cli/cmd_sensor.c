/*
 * evcap sensor: water-quality readings as evidence. `import` records a
 * CSV file or an SDI-12 log: the file itself becomes an item (its bytes
 * kept as they are), and each line becomes readings placed on the GPS
 * track and classed against GB 3838-2002. `listen` reads a probe on a
 * serial line until SIGTERM, recording each line as it arrives.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "custody.h"
#include "fsutil.h"
#include "gb3838.h"
#include "ingest.h"
#include "log.h"
#include "sensor.h"
#include "sensorline.h"
#include "timeutil.h"

/* Errors printed one a line before the summary; the rest are counted. */
#define SENSOR_SHOW_ERRORS 50

static const char sensor_help[] =
	"subcommands:\n"
	"  import FILE [options]             record a CSV file or an SDI-12 log\n"
	"  listen DEVICE:BAUD:FORMAT[:PROFILE] [options]\n"
	"                                    record a probe's lines live until Ctrl-C or\n"
	"                                    SIGTERM (FORMAT sdi12 or csv; PROFILE as\n"
	"                                    --instrument), e.g.\n"
	"                                    /dev/ttyUSB0:9600:sdi12:generic-tdp\n\n"
	"options:\n"
	"  --format csv|sdi12      import: the file's format (default: csv for .csv/.tsv,\n"
	"                          else the profile's format)\n"
	"  --instrument NAME       the instrument: its profile NAME.profile is looked up in\n"
	"                          $EVCAP_SENSOR_PROFILES, /etc/evcap/sensors,\n"
	"                          /usr/local/share/evcap/sensors, /usr/share/evcap/sensors\n"
	"  --profile FILE          an instrument profile file (needed for SDI-12); give\n"
	"                          this or --instrument, not both\n"
	"  --serial S              the instrument's serial number\n"
	"  --calibrated YYYY-MM-DD when it was last calibrated\n"
	"  --case CASE             the case (default: the case in use)\n"
	"  --site NAME             the site of the case where the water was measured\n"
	"  --operator NAME         who measured (repeat for each officer)\n"
	"  --time-offset +HH:MM    the offset of times written without one (default: the\n"
	"                          case's, then the config's; without any, such a file is refused)\n\n"
	"Lines that cannot be read (bad numbers, unknown parameters, wrong units) are kept\n"
	"as they are, with the problem named, and never get a value; import then exits 1.\n"
	"Classes are rapid screening, to be confirmed by a laboratory. See docs/sensors.md.\n";

/* Everything both subcommands resolve from options, case and config. */
struct sensor_setup {
	const char *format;     /* --format or NULL */
	const char *instrument; /* --instrument or NULL */
	const char *profile;    /* --profile or NULL */
	const char *serial, *calibrated, *case_name, *site, *offset;
	json_t *ops;            /* --operator names */

	int has_profile;
	struct sensor_profile prof;
	char *instrument_json;
	int64_t case_id, site_id;
	char *case_number;
	char *operators_json;
	int has_water;
	enum gb3838_water water;
	struct sensor_opts popts;
	char offset_txt[8];
};

static void setup_free(struct sensor_setup *u)
{
	json_decref(u->ops);
	free(u->instrument_json);
	free(u->case_number);
	free(u->operators_json);
}

/* Parses the shared options; the positional argument is left at optind.
 * Returns 0, -1 after --help, or an exit code. */
static int setup_options(struct cli *cli, int argc, char **argv, struct sensor_setup *u)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"instrument", required_argument, NULL, 'i'},
		{"profile", required_argument, NULL, 'p'},
		{"serial", required_argument, NULL, 'S'},
		{"calibrated", required_argument, NULL, 'C'},
		{"case", required_argument, NULL, 'c'},
		{"site", required_argument, NULL, 's'},
		{"operator", required_argument, NULL, 'o'},
		{"time-offset", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	int c;
	u->ops = json_array();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': u->format = optarg; break;
		case 'i': u->instrument = optarg; break;
		case 'p': u->profile = optarg; break;
		case 'S':
			if (!*optarg || !utf8_valid(optarg, strlen(optarg)))
				return cli_usage_error(cli, "--serial needs a value in UTF-8");
			if (cli_check_text(cli, "--serial", optarg, 0))
				return EXIT_USAGE;
			u->serial = optarg;
			break;
		case 'C': u->calibrated = optarg; break;
		case 'c': u->case_name = optarg; break;
		case 's': u->site = optarg; break;
		case 't': u->offset = optarg; break;
		case 'o':
			if (!*optarg || !utf8_valid(optarg, strlen(optarg)))
				return cli_usage_error(cli, "--operator needs a name in UTF-8");
			if (cli_check_text(cli, "--operator", optarg, 0))
				return EXIT_USAGE;
			json_array_append_new(u->ops, json_string(optarg));
			break;
		case 'h':
			cli_print_help(cli, sensor_help);
			return -1;
		default:
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (u->format && strcmp(u->format, "csv") && strcmp(u->format, "sdi12"))
		return cli_usage_error(cli, "--format must be csv or sdi12, not '%s'", u->format);
	if (u->instrument && u->profile)
		return cli_usage_error(cli, "give --instrument NAME or --profile FILE, not both "
					    "(--instrument looks its profile up by name)");
	return 0;
}

static int load_profile(struct cli *cli, const char *path, struct sensor_profile *p)
{
	char err[512];
	if (sensor_profile_load(path, p, err, sizeof err))
		return cli_usage_error(cli, "%s", err);
	return 0;
}

/* A text column of one row by id (malloc'd or NULL). */
static char *row_text(struct store *s, const char *sql, int64_t id)
{
	char *v = NULL;
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* Resolves profile, instrument, case, site, water body, operators and the
 * declared offset. Returns 0 or an exit code (the reason printed). */
static int setup_resolve(struct cli *cli, struct sensor_setup *u)
{
	int rc = 0;
	char *path = NULL, *status = NULL, *water = NULL, *case_offset = NULL, *case_ops = NULL;
	if (u->instrument && !sensor_profile_name_valid(u->instrument)) {
		rc = cli_usage_error(cli, "--instrument takes a profile name of letters, digits, "
					  "'.', '_' and '-' (at most 63)");
		goto out;
	}
	if (u->profile)
		path = xstrdup(u->profile);
	else if (u->instrument)
		path = sensor_profile_find(u->instrument);
	if (u->instrument && !path) {
		/* a name with no profile would be recorded as the instrument with
		 * none of its facts, and an SDI-12 log could not be read at all */
		const char *env = getenv("EVCAP_SENSOR_PROFILES");
		char dirs[1024], shown_dirs[2048];
		size_t j = 0;
		snprintf(dirs, sizeof dirs, "%s%s" SENSOR_PROFILE_DIRS, env && *env ? env : "",
			 env && *env ? ":" : "");
		for (char *d = dirs; *d && j + 3 < sizeof shown_dirs; d++) { /* "a:b" as "a, b" */
			if (*d == ':') {
				shown_dirs[j++] = ',';
				shown_dirs[j++] = ' ';
			} else {
				shown_dirs[j++] = *d;
			}
		}
		shown_dirs[j] = '\0';
		rc = cli_usage_error(cli, "--instrument %s: no readable profile %s.profile in %s "
					  "(the folders searched%s; or give the file with --profile "
					  "FILE)",
				     u->instrument, u->instrument, shown_dirs,
				     env && *env ? ", $EVCAP_SENSOR_PROFILES first" : "");
		goto out;
	}
	if (path) {
		if ((rc = load_profile(cli, path, &u->prof)))
			goto out;
		u->has_profile = 1;
	} else {
		memset(&u->prof, 0, sizeof u->prof);
		if (u->instrument)
			snprintf(u->prof.name, sizeof u->prof.name, "%s", u->instrument);
	}
	if (u->serial)
		snprintf(u->prof.serial, sizeof u->prof.serial, "%s", u->serial);
	if (u->calibrated) {
		if ((rc = cli_check_date(cli, "--calibrated", u->calibrated)))
			goto out;
		snprintf(u->prof.calibrated, sizeof u->prof.calibrated, "%s", u->calibrated);
	}
	if (u->prof.name[0] || u->prof.model[0] || u->prof.serial[0] || u->prof.calibrated[0])
		u->instrument_json = sensor_instrument_json(&u->prof);

	struct store *s = cli_store(cli, CLI_WRITE);
	u->case_id = cli_case(cli, u->case_name, 0);
	if (u->case_id < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (u->case_id > 0) {
		u->case_number = row_text(s, "SELECT number FROM cases WHERE id = ?", u->case_id);
		status = row_text(s, "SELECT status FROM cases WHERE id = ?", u->case_id);
		water = row_text(s, "SELECT water_body FROM cases WHERE id = ?", u->case_id);
		case_offset = row_text(s, "SELECT time_offset FROM cases WHERE id = ?", u->case_id);
		case_ops = row_text(s, "SELECT operators FROM cases WHERE id = ?", u->case_id);
		if (status && strcmp(status, "closed") == 0) {
			fprintf(stderr, "evcap sensor: case %s is closed; give another with --case\n",
				u->case_number);
			rc = EXIT_USAGE;
			goto out;
		}
	} else {
		log_warnx("no case given and none in use: the readings are recorded without a case "
			  "('evcap case add CASE --unassigned' puts them in one later)");
	}
	if (u->site) {
		if (u->case_id <= 0) {
			rc = cli_usage_error(cli, "--site needs a case");
			goto out;
		}
		sqlite3_stmt *st = store_prepare(
			s, "SELECT id, water_body FROM sites WHERE case_id = ? AND name = ?", NULL, 0);
		if (st) {
			sqlite3_bind_int64(st, 1, u->case_id);
			sqlite3_bind_text(st, 2, u->site, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW) {
				u->site_id = sqlite3_column_int64(st, 0);
				if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
					free(water);
					water = xstrdup((const char *)sqlite3_column_text(st, 1));
				}
			}
			sqlite3_finalize(st);
		}
		if (u->site_id <= 0) {
			rc = cli_usage_error(cli, "case %s has no site '%s' ('evcap site add' makes one)",
					     u->case_number, u->site);
			goto out;
		}
	}
	/* the site's water body wins over the case's */
	if (water && gb3838_water_parse(water, &u->water) == 0)
		u->has_water = 1;

	if (json_array_size(u->ops) == 0 && case_ops) {
		json_t *a = json_loads(case_ops, 0, NULL);
		if (json_is_array(a)) {
			json_decref(u->ops);
			u->ops = a;
		} else {
			json_decref(a);
		}
	}
	for (size_t i = 0; json_array_size(u->ops) == 0 && i < cli->cfg->n_operators; i++)
		json_array_append_new(u->ops, json_string(cli->cfg->operators[i]));
	if (json_array_size(u->ops))
		u->operators_json = json_dumps(u->ops, JSON_COMPACT);

	const char *off = u->offset ? u->offset : case_offset ? case_offset : cli->cfg->time_offset;
	if (off) {
		if (time_parse_offset(off, &u->popts.offset_s)) {
			rc = cli_usage_error(cli, "the time offset %s, not '%s'",
					     time_offset_why(off), off);
			goto out;
		}
		u->popts.has_offset = 1;
		snprintf(u->offset_txt, sizeof u->offset_txt, "%s", off);
	}
out:
	free(path);
	free(status);
	free(water);
	free(case_offset);
	free(case_ops);
	return rc;
}

static void record_opts(struct cli *cli, struct sensor_setup *u, struct sensor_record_opts *ro)
{
	memset(ro, 0, sizeof *ro);
	ro->case_id = u->case_id;
	ro->case_number = u->case_number;
	ro->site_id = u->site_id;
	ro->operators_json = u->operators_json;
	ro->instrument_json = u->instrument_json;
	ro->has_water = u->has_water;
	ro->water = u->water;
	ro->max_gap = cli->cfg->max_gap > 0 ? cli->cfg->max_gap : 60;
	ro->max_extrap = cli->cfg->max_extrapolate >= 0 ? cli->cfg->max_extrapolate : 10;
	ro->actor = cli->actor;
}

/*
 * For a file kept as an item none of whose lines could be read: when the
 * item is new, a custody event `sensor import` with no readings and the
 * reason `why`, so the record says why the item has none (a re-import
 * adds nothing, as for a file that was read). Says so; EXIT_PROBLEM.
 */
static int record_unread(struct cli *cli, struct sensor_setup *u, int added, const char *sha,
			 const char *encoding, const char *why, const char *shown)
{
	struct store *s = cli_store(cli, CLI_WRITE);
	char err[512];
	json_t *d = json_object();
	int rc = 0;
	json_object_set_new(d, "file", json_string(u->popts.name));
	json_object_set_new(d, "source", json_string(sha));
	json_object_set_new(d, "encoding", json_string(encoding));
	json_object_set_new(d, "readings", json_integer(0));
	json_object_set_new(d, "added", json_integer(0));
	json_object_set_new(d, "error", json_string(why));
	if (added && (rc = store_begin(s, err, sizeof err)) == 0) {
		rc = custody_append(s, time_now(), cli->actor, "sensor import", u->case_number, sha,
				    d, NULL, err, sizeof err);
		if (rc)
			store_rollback(s);
		else
			rc = store_commit(s, err, sizeof err);
	}
	json_decref(d);
	if (rc)
		fprintf(stderr, "evcap sensor: %s: %s\n", shown, err);
	fprintf(stderr, "evcap sensor: %s is kept as an item, byte for byte, but no reading "
			"could be taken from it; import a corrected copy to record its readings\n",
		shown);
	return EXIT_PROBLEM;
}

static int sensor_import(struct cli *cli, int argc, char **argv)
{
	struct sensor_setup u = {0};
	struct sensor_batch b;
	struct buf raw, text;
	char err[1024], sha[SHA256_HEX_LEN + 1], item_sha[SHA256_HEX_LEN + 1],
	     msg[INGEST_MSG_MAX];
	const char *encoding = "utf-8";
	json_t *detail = NULL, *errs = json_array(), *conflicts = json_array();
	int rc = setup_options(cli, argc, argv, &u);
	sensor_batch_init(&b);
	buf_init(&raw, SENSOR_MAX_FILE + 1);
	buf_init(&text, SENSOR_MAX_FILE * 2);
	if (rc)
		goto out;
	if (optind + 1 != argc) {
		rc = cli_usage_error(cli, "import takes one file");
		goto out;
	}
	const char *path = argv[optind];
	if (!*path) {
		rc = cli_usage_error(cli, "import needs a file, and '' is empty");
		goto out;
	}
	if (access(path, F_OK) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		char *sh = ingest_display_path(path);
		fprintf(stderr, "evcap sensor: %s: no such file\n", sh);
		free(sh);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if ((rc = setup_resolve(cli, &u)))
		goto out;
	char *shown = ingest_display_path(path);
	u.popts.name = fs_basename(shown);

	/* csv unless told otherwise by --format, the name or the profile */
	const char *fmt = u.format;
	size_t pl = strlen(path);
	if (!fmt && pl > 4 &&
	    (strcasecmp(path + pl - 4, ".csv") == 0 || strcasecmp(path + pl - 4, ".tsv") == 0))
		fmt = "csv";
	if (!fmt && u.has_profile)
		fmt = u.prof.format;
	if (!fmt)
		fmt = "csv";
	if (strcmp(fmt, "sdi12") == 0 && !u.has_profile) {
		rc = cli_usage_error(cli, "an SDI-12 log needs --profile FILE or --instrument NAME "
					  "(which value is which parameter)");
		goto out_shown;
	}
	if (fs_read_file(path, SENSOR_MAX_FILE, &raw, err, sizeof err)) {
		ingest_display_msg(err, sizeof err, path);
		cli_warn("evcap sensor: %s", err);
		rc = EXIT_PROBLEM;
		goto out_shown;
	}
	sha256_hex(raw.data, raw.len, sha);
	/* a file none of whose lines can be read (UTF-16, no usable header,
	 * past a limit) is still evidence: it is kept as an item below */
	int unread = sensor_text_decode(raw.data, raw.len, u.popts.name, &text, &encoding, err,
					sizeof err) ||
		     (strcmp(fmt, "csv") == 0
			      ? sensor_parse_csv(text.data, text.len, &u.popts, &b, err, sizeof err)
			      : sensor_parse_sdi12(text.data, text.len, &u.prof, &u.popts, &b, err,
						   sizeof err));
	if (unread) {
		cli_warn("evcap sensor: %s", err);
		sensor_batch_free(&b);
	}
	if (!unread && b.need_offset) {
		for (size_t i = 0; i < b.n; i++)
			if (strstr(b.v[i].error, "no UTC offset")) {
				fprintf(stderr, "evcap sensor: %s\n", b.v[i].error);
				break;
			}
		fprintf(stderr, "evcap sensor: nothing recorded: say which offset the file's times "
				"are in with --time-offset (China: +08:00), or set the case's with "
				"'evcap case set CASE --time-offset +08:00'\n");
		rc = EXIT_USAGE;
		goto out_shown;
	}

	/* the file as an item, byte for byte; then its readings */
	struct ingest_opts io = {0};
	struct ingest_stats ist = {0};
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	io.case_id = u.case_id;
	io.case_number = u.case_number;
	io.site_id = u.site_id;
	io.operators_json = u.operators_json;
	io.actor = cli->actor;
	io.source_device = host;
	io.has_declared_offset = u.popts.has_offset;
	io.declared_offset_s = u.popts.offset_s;
	enum ingest_result ir = ingest_file(cli_store(cli, CLI_WRITE), path, &io, &ist, item_sha,
					    msg, sizeof msg);
	if (ir == INGEST_FAILED || ir == INGEST_SKIPPED) {
		fprintf(stderr, "evcap sensor: %s\n", msg);
		rc = EXIT_PROBLEM;
		goto out_shown;
	}
	if (strcmp(item_sha, sha) != 0) {
		fprintf(stderr, "evcap sensor: %s changed while it was being read; nothing recorded "
				"from it (run the import again)\n", shown);
		rc = EXIT_PROBLEM;
		goto out_shown;
	}
	if (unread) {
		rc = record_unread(cli, &u, ir == INGEST_ADDED, sha, encoding, err, shown);
		goto out_shown;
	}
	struct sensor_record_opts ro;
	struct sensor_record_stats rs;
	record_opts(cli, &u, &ro);
	detail = json_object();
	json_object_set_new(detail, "file", json_string(u.popts.name));
	json_object_set_new(detail, "format", json_string(b.form));
	json_object_set_new(detail, "encoding", json_string(encoding));
	json_object_set_new(detail, "lines", json_integer((json_int_t)b.lines));
	json_object_set_new(detail, "bad_lines", json_integer((json_int_t)b.bad_lines));
	if (u.offset_txt[0])
		json_object_set_new(detail, "time_offset", json_string(u.offset_txt));
	ro.source = sha;
	ro.name = u.popts.name;
	ro.item_sha256 = sha;
	ro.action = "sensor import";
	ro.detail = detail;
	ro.now = time_now();
	if (sensor_record(cli_store(cli, CLI_WRITE), &b, &ro, &rs, err, sizeof err)) {
		fprintf(stderr, "evcap sensor: %s: %s\n", shown, err);
		rc = EXIT_PROBLEM;
		goto out_shown;
	}
	size_t shown_errs = 0;
	for (size_t i = 0; i < b.n; i++) {
		if (!b.v[i].error[0])
			continue;
		json_array_append_new(errs, json_string(b.v[i].error));
		if (!cli->json && shown_errs++ < SENSOR_SHOW_ERRORS)
			fprintf(stderr, "evcap sensor: %s\n", b.v[i].error);
	}
	if (!cli->json && shown_errs > SENSOR_SHOW_ERRORS)
		fprintf(stderr, "evcap sensor: ... and %zu more problem%s ('evcap readings' lists "
				"them)\n", shown_errs - SENSOR_SHOW_ERRORS,
			shown_errs - SENSOR_SHOW_ERRORS == 1 ? "" : "s");
	/* one measurement given two values: both are kept, and said */
	for (size_t i = 0; i < rs.n_msgs; i++) {
		json_array_append_new(conflicts, json_string(rs.msgs[i]));
		if (!cli->json)
			fprintf(stderr, "evcap sensor: %s\n", rs.msgs[i]);
	}
	if (!cli->json && rs.conflicting > rs.n_msgs)
		fprintf(stderr, "evcap sensor: ... and %zu more measurement%s given two values\n",
			rs.conflicting - rs.n_msgs, rs.conflicting - rs.n_msgs == 1 ? "" : "s");
	if (cli->json) {
		json_t *j = json_object();
		json_object_set_new(j, "file", json_string(shown));
		json_object_set_new(j, "sha256", json_string(sha));
		json_object_set_new(j, "format", json_string(b.form));
		json_object_set_new(j, "encoding", json_string(encoding));
		json_object_set_new(j, "lines", json_integer((json_int_t)b.lines));
		json_object_set_new(j, "ignored_lines", json_integer((json_int_t)b.ignored));
		json_object_set_new(j, "readings", json_integer((json_int_t)rs.readings));
		json_object_set_new(j, "errors", json_integer((json_int_t)rs.errors));
		json_object_set_new(j, "added", json_integer((json_int_t)rs.added));
		json_object_set_new(j, "already_recorded", json_integer((json_int_t)rs.already));
		json_object_set_new(j, "repeated", json_integer((json_int_t)rs.repeated));
		json_object_set_new(j, "conflicting", json_integer((json_int_t)rs.conflicting));
		json_object_set_new(j, "conflicts", conflicts);
		conflicts = NULL;
		json_object_set_new(j, "located", json_integer((json_int_t)rs.located));
		json_object_set_new(j, "classed", json_integer((json_int_t)rs.classed));
		json_object_set_new(j, "case", u.case_number ? json_string(u.case_number)
							     : json_null());
		json_object_set_new(j, "note", b.note[0] ? json_string(b.note) : json_null());
		json_object_set_new(j, "problems", errs);
		errs = NULL;
		cli_print_json(j);
	} else if (cli->verbosity >= 0) {
		if (b.note[0])
			printf("%s: %s\n", shown, b.note);
		printf("%s: %zu reading%s, %zu problem%s kept without a value, %zu placed, %zu "
		       "classed (screening), %s, case %s\n",
		       shown, rs.readings, rs.readings == 1 ? "" : "s", rs.errors,
		       rs.errors == 1 ? "" : "s", rs.located, rs.classed,
		       rs.added     ? "recorded"
		       : rs.already ? "already recorded"
				    : "nothing recorded: the file holds no readings",
		       u.case_number ? u.case_number : "(none)");
		if (rs.conflicting)
			printf("%s: %zu reading%s give%s another value than an earlier line for the "
			       "same parameter, sample and time (both kept)\n",
			       shown, rs.conflicting, rs.conflicting == 1 ? "" : "s",
			       rs.conflicting == 1 ? "s" : "");
		if (rs.repeated)
			printf("%s: %zu reading%s repeat%s an earlier line's value for the same "
			       "parameter, sample and time (both kept)\n",
			       shown, rs.repeated, rs.repeated == 1 ? "" : "s",
			       rs.repeated == 1 ? "s" : "");
	}
	rc = rs.errors ? EXIT_PROBLEM : EXIT_OK;
out_shown:
	free(shown);
out:
	json_decref(detail);
	json_decref(errs);
	json_decref(conflicts);
	sensor_batch_free(&b);
	buf_free(&raw);
	buf_free(&text);
	setup_free(&u);
	return rc < 0 ? EXIT_OK : rc;
}

/* ---- listen ---- */

static volatile sig_atomic_t listen_stop;

static void listen_signal(int sig)
{
	(void)sig;
	listen_stop = 1;
}

/* Lines held while the store refuses them (another writer holds it past
 * the busy timeout, the disk is full): tried again every LISTEN_RETRY_S,
 * in order, each with the time it arrived. Past LISTEN_HOLD_MAX a line is
 * not kept. A write waits at most LISTEN_BUSY_MS for another writer, not
 * the store's usual 10 s: the reader is this same thread, and a line that
 * arrives while it waits is timed when it is read. */
#define LISTEN_HOLD_MAX 4096
#define LISTEN_RETRY_S 2.0
#define LISTEN_BUSY_MS 250

struct listen_held {
	size_t line_no;
	int flags;
	double now; /* when it arrived */
	size_t len;
	char *text;
};

struct listen_ctx {
	struct cli *cli;
	struct sensor_setup *u;
	enum sensor_format fmt;
	char source[400];
	const char *device;
	char *shown;      /* device as messages show it (ingest_display_path) */
	size_t seq;       /* lines received */
	size_t readings, errors, failed;
	struct listen_held *held;
	size_t n_held, cap_held;
	double retry_at;  /* while lines are held: the next try */
};

static void listen_log(void *ctx, const char *msg)
{
	(void)ctx;
	log_info("%s", msg);
}

/* Records line line_no, which arrived at `now`; nonzero when the store
 * refused it (err says why), the line then still to be recorded. */
static int listen_record(struct listen_ctx *c, size_t line_no, const char *line, size_t len,
			 int flags, double now, char *err, size_t errlen)
{
	struct sensor_batch b;
	struct sensor_opts o = c->u->popts;
	int refused = 0;
	sensor_batch_init(&b);
	o.name = c->shown;
	o.has_now = 1;
	o.now = now;
	if (sensor_parse_line(c->fmt, line, len, line_no, c->u->has_profile ? &c->u->prof : NULL, &o,
			      &b)) {
		log_warnx("%s: line %zu could not be parsed within the limits", c->shown, line_no);
		c->failed++;
		goto out;
	}
	/* a line cut short is kept, but none of its values is trusted */
	if (flags & (SENSORLINE_CUT | SENSORLINE_PARTIAL))
		sensor_batch_mark_incomplete(&b, 0, c->shown, line_no,
					     flags & SENSORLINE_PARTIAL
						     ? "the device went away before the line ended"
						     : "the line was longer than the reader keeps");
	if (b.n == 0)
		goto out; /* blank, comment or a non-data answer */
	struct sensor_record_opts ro;
	struct sensor_record_stats rs;
	record_opts(c->cli, c->u, &ro);
	json_t *d = json_object();
	json_object_set_new(d, "device", json_string(c->device));
	json_object_set_new(d, "line_no", json_integer((json_int_t)line_no));
	ro.source = c->source;
	ro.name = c->shown;
	ro.action = "sensor reading";
	ro.detail = d;
	ro.now = time_now(); /* when recorded; the reading keeps its arrival time */
	int rc = sensor_record(cli_store(c->cli, CLI_WRITE), &b, &ro, &rs, err, errlen);
	json_decref(d);
	if (rc) {
		refused = 1;
		goto out;
	}
	c->readings += rs.readings;
	c->errors += rs.errors;
	for (size_t i = 0; i < b.n; i++)
		if (b.v[i].error[0])
			log_warnx("%s", b.v[i].error);
	for (size_t i = 0; i < rs.n_msgs; i++)
		log_warnx("%s", rs.msgs[i]);
	if (c->cli->verbosity > 0)
		log_info("%s: line %zu: %zu reading%s, %zu problem%s", c->shown, line_no,
			 rs.readings, rs.readings == 1 ? "" : "s", rs.errors, rs.errors == 1 ? "" : "s");
out:
	sensor_batch_free(&b);
	return refused;
}

/* Records the held lines in order while the store takes them. */
static void listen_retry(struct listen_ctx *c, double now)
{
	char err[1024];
	size_t done = 0;
	while (done < c->n_held) {
		struct listen_held *h = &c->held[done];
		if (listen_record(c, h->line_no, h->text, h->len, h->flags, h->now, err,
				  sizeof err))
			break;
		free(h->text);
		done++;
	}
	memmove(c->held, c->held + done, (c->n_held - done) * sizeof *c->held);
	c->n_held -= done;
	if (c->n_held) {
		c->retry_at = now + LISTEN_RETRY_S;
		log_warnx("%s: %zu line%s held, the store still refuses them (%s); trying again in "
			  "%g s",
			  c->shown, c->n_held, c->n_held == 1 ? "" : "s", err, LISTEN_RETRY_S);
	} else if (done) {
		log_info("%s: the %zu held line%s are recorded", c->shown, done,
			 done == 1 ? " is" : "s");
	}
}

static void listen_line(void *vctx, const char *line, size_t len, int flags, double now)
{
	struct listen_ctx *c = vctx;
	char err[1024];
	size_t line_no = ++c->seq;
	/* behind lines already held, in order */
	if (!c->n_held && !listen_record(c, line_no, line, len, flags, now, err, sizeof err))
		return;
	if (c->n_held >= LISTEN_HOLD_MAX) {
		log_warnx("%s: line %zu not recorded: %d lines are held already while the store "
			  "refuses them",
			  c->shown, line_no, LISTEN_HOLD_MAX);
		c->failed++;
		return;
	}
	if (!c->n_held) {
		c->retry_at = now + LISTEN_RETRY_S;
		log_warnx("%s: line %zu not recorded yet: %s; lines are held and tried again every "
			  "%g s",
			  c->shown, line_no, err, LISTEN_RETRY_S);
	}
	if (c->n_held == c->cap_held) {
		c->cap_held = c->cap_held ? c->cap_held * 2 : 64;
		c->held = xrealloc(c->held, c->cap_held * sizeof *c->held);
	}
	struct listen_held *h = &c->held[c->n_held++];
	h->line_no = line_no;
	h->flags = flags;
	h->now = now;
	h->len = len;
	h->text = xmalloc(len + 1);
	memcpy(h->text, line, len);
	h->text[len] = '\0';
}

static int sensor_listen(struct cli *cli, int argc, char **argv)
{
	struct sensor_setup u = {0};
	struct sensorline *l = NULL;
	struct sensorline_spec spec;
	char err[1024], iso[32];
	char *shown = NULL;
	int rc = setup_options(cli, argc, argv, &u);
	if (rc)
		goto out;
	if (optind + 1 != argc) {
		rc = cli_usage_error(cli, "listen takes one DEVICE:BAUD:FORMAT[:PROFILE]");
		goto out;
	}
	if (u.format) {
		rc = cli_usage_error(cli, "--format goes with 'sensor import': listen takes the "
					  "format from DEVICE:BAUD:FORMAT");
		goto out;
	}
	if (sensorline_spec_parse(argv[optind], &spec, err, sizeof err)) {
		rc = cli_usage_error(cli, "%s", err);
		goto out;
	}
	/* the spec's PROFILE is the same as --instrument, as evcapd reads it */
	if (spec.profile[0]) {
		if (u.instrument || u.profile) {
			rc = cli_usage_error(cli, "the profile is named twice: in the spec and by "
						  "--instrument or --profile");
			goto out;
		}
		u.instrument = spec.profile;
	}
	if ((rc = setup_resolve(cli, &u)))
		goto out;
	/* before the device is opened, which says it is waited for */
	if (strcmp(spec.format, "sdi12") == 0 && !u.has_profile) {
		rc = cli_usage_error(cli, "an SDI-12 probe needs --profile FILE or --instrument NAME");
		goto out;
	}
	struct listen_ctx c = {0};
	c.cli = cli;
	c.u = &u;
	/* before the first try, which says at once when the device is not
	 * there: a Ctrl-C upon reading that ends the run as any other does */
	struct sigaction sa = {0};
	sa.sa_handler = listen_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (sensorline_open(argv[optind], listen_log, &c, &l, err, sizeof err)) {
		rc = cli_usage_error(cli, "%s", err);
		goto out;
	}
	const struct sensorline_spec *sp = sensorline_spec(l);
	c.fmt = strcmp(sp->format, "sdi12") == 0 ? SENSOR_FMT_SDI12 : SENSOR_FMT_CSV;
	c.device = sp->device;
	c.shown = shown = ingest_display_path(sp->device);
	/* each run is its own source, so a repeated answer is a new reading */
	time_format_iso(time_now(), iso);
	snprintf(c.source, sizeof c.source, "serial:%s@%s", sp->device, iso);

	store_set_busy_ms(cli_store(cli, CLI_WRITE), LISTEN_BUSY_MS);
	if (sensorline_fd(l) < 0)
		log_info("nothing is recorded until %s opens (Ctrl-C stops)", c.shown);
	while (!listen_stop) {
		double now = time_now();
		sensorline_tick(l, now);
		struct pollfd pfd = {.fd = sensorline_fd(l), .events = POLLIN};
		double wait = sensorline_timeout(l, now);
		int ms = wait < 0 || wait > 0.25 ? 250 : (int)(wait * 1000) + 1;
		int n = poll(&pfd, pfd.fd >= 0 ? 1 : 0, ms);
		if (n > 0 && pfd.revents)
			sensorline_readable(l, time_now(), listen_line, &c);
		if (c.n_held && time_now() >= c.retry_at)
			listen_retry(&c, time_now());
	}
	if (c.n_held)
		listen_retry(&c, time_now());
	if (c.n_held) {
		log_warnx("%s: %zu held line%s could not be recorded before stopping", c.shown,
			  c.n_held, c.n_held == 1 ? "" : "s");
		c.failed += c.n_held;
		for (size_t i = 0; i < c.n_held; i++)
			free(c.held[i].text);
		c.n_held = 0;
	}
	free(c.held);
	struct sensorline_stats ls;
	sensorline_get_stats(l, &ls);
	if (cli->json) {
		json_t *j = json_object();
		json_object_set_new(j, "device", json_string(c.device));
		json_object_set_new(j, "source", json_string(c.source));
		json_object_set_new(j, "lines", json_integer((json_int_t)c.seq));
		json_object_set_new(j, "readings", json_integer((json_int_t)c.readings));
		json_object_set_new(j, "errors", json_integer((json_int_t)c.errors));
		json_object_set_new(j, "not_recorded", json_integer((json_int_t)c.failed));
		json_object_set_new(j, "reconnects", json_integer((json_int_t)ls.drops));
		cli_print_json(j);
	} else if (cli->verbosity >= 0) {
		printf("%s: %zu line%s, %zu reading%s, %zu problem%s kept without a value, %llu "
		       "reconnect%s\n",
		       c.shown, c.seq, c.seq == 1 ? "" : "s", c.readings, c.readings == 1 ? "" : "s",
		       c.errors, c.errors == 1 ? "" : "s", (unsigned long long)ls.drops,
		       ls.drops == 1 ? "" : "s");
	}
	rc = c.failed ? EXIT_PROBLEM : EXIT_OK;
out:
	free(shown);
	sensorline_free(l);
	setup_free(&u);
	return rc < 0 ? EXIT_OK : rc;
}

int cmd_sensor(struct cli *cli, int argc, char **argv)
{
	static const char subs[] = "import or listen";
	int rc = cli_subcommand(cli, argc, argv, sensor_help, subs);
	if (rc >= 0)
		return rc;
	if (strcmp(argv[1], "import") == 0)
		return sensor_import(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "listen") == 0)
		return sensor_listen(cli, argc - 1, argv + 1);
	return cli_unknown_subcommand(cli, argv[1], subs);
}
