/*
 * evcap geotag: learns camera clock offsets and places items without a
 * position of their own on the stored GPS track (geotag_run). Ingest and
 * the daemon call geotag_run themselves as new items arrive.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "geotag.h"
#include "sites.h"

static int geotag_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0 || v > 86400 * 366)
		return -1;
	*out = v;
	return 0;
}

int cmd_geotag(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"max-gap", required_argument, NULL, 'g'},
					     {"max-extrapolate", required_argument, NULL, 'x'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	static const char help[] =
		"  --case C              only items of case C (default: all)\n"
		"  --max-gap S           longest gap between fixes bridged (default 60, or\n"
		"                        config gps.max_gap)\n"
		"  --max-extrapolate S   how long an end of the track is held (default 10)\n"
		"Items with no EXIF or XMP position and a known capture time are placed by\n"
		"linear interpolation on the stored fixes. Cameras that wrote GPS time in some\n"
		"photos lend their clock offset to their photos without it (time_source\n"
		"'learned'). A drone's video with its SRT beside it (same path, .SRT) is\n"
		"placed at the drone's first fix in it instead (location_source 'srt').\n";
	const char *case_name = NULL;
	double gap = cli->cfg->max_gap > 0 ? cli->cfg->max_gap : GEOTAG_DEFAULT_MAX_GAP;
	double ext = cli->cfg->max_extrapolate >= 0 ? cli->cfg->max_extrapolate
						    : GEOTAG_DEFAULT_MAX_EXTRAP;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': case_name = optarg; break;
		case 'g':
			if (geotag_seconds(optarg, &gap))
				return cli_usage_error(cli, "--max-gap takes seconds, not '%s'", optarg);
			break;
		case 'x':
			if (geotag_seconds(optarg, &ext))
				return cli_usage_error(cli, "--max-extrapolate takes seconds, not '%s'",
						       optarg);
			break;
		case 'h': cli_print_help(cli, help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "geotag takes no arguments");
	struct store *s = cli_store(cli, 0);
	int64_t case_id = 0;
	if (case_name) {
		case_id = cli_case(cli, case_name, 1);
		if (case_id <= 0)
			return EXIT_USAGE;
	}
	char err[512];
	struct geotag_stats st;
	if (geotag_run(s, case_id, gap, ext, cli->actor, &st, err, sizeof err) != 0) {
		cli_warn("evcap geotag: %s", err);
		return EXIT_PROBLEM;
	}
	/* newly placed items belong to the site whose circle holds them */
	int64_t *cases = NULL;
	size_t n_cases = 0;
	sqlite3_stmt *cs = store_prepare(
		s, "SELECT id FROM cases WHERE (?1 = 0 OR id = ?1) AND EXISTS"
		   " (SELECT 1 FROM sites WHERE sites.case_id = cases.id)", err, sizeof err);
	int r = SQLITE_ERROR;
	if (cs) {
		sqlite3_bind_int64(cs, 1, case_id);
		while ((r = sqlite3_step(cs)) == SQLITE_ROW) {
			cases = xrealloc(cases, (n_cases + 1) * sizeof *cases);
			cases[n_cases++] = sqlite3_column_int64(cs, 0);
		}
		if (r != SQLITE_DONE)
			snprintf(err, sizeof err, "%s", sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(cs);
	}
	if (r != SQLITE_DONE)
		cli_warn("evcap geotag: finding the cases with sites: %s", err);
	for (size_t i = 0; i < n_cases; i++) {
		int assigned = 0;
		if (sites_assign(s, cases[i], cli->actor, &assigned, err, sizeof err))
			cli_warn("evcap geotag: assigning items to sites: %s", err);
	}
	free(cases);
	if (cli->json) {
		json_t *j = json_object();
		json_object_set_new(j, "fixes", json_integer((json_int_t)st.fixes));
		json_object_set_new(j, "receivers", json_integer((json_int_t)st.receivers));
		json_object_set_new(j, "retimed", json_integer((json_int_t)st.retimed));
		json_object_set_new(j, "considered", json_integer((json_int_t)st.considered));
		json_object_set_new(j, "placed", json_integer((json_int_t)st.placed));
		json_object_set_new(j, "unchanged", json_integer((json_int_t)st.unchanged));
		json_object_set_new(j, "uncovered", json_integer((json_int_t)st.uncovered));
		json_object_set_new(j, "cleared", json_integer((json_int_t)st.cleared));
		json_object_set_new(j, "disagreed", json_integer((json_int_t)st.disagreed));
		json_object_set_new(j, "sidecars", json_integer((json_int_t)st.sidecars));
		json_object_set_new(j, "sidecars_unusable",
				    json_integer((json_int_t)st.sidecars_unusable));
		cli_print_json(j);
	} else if (cli->verbosity >= 0) {
		printf("geotag: %zu fix%s from %zu source%s; %zu item%s retimed from a learned "
		       "camera offset; %zu item%s placed, %zu unchanged, %zu not covered by the "
		       "track, %zu cleared\n",
		       st.fixes, st.fixes == 1 ? "" : "es", st.receivers, st.receivers == 1 ? "" : "s",
		       st.retimed, st.retimed == 1 ? "" : "s", st.placed, st.placed == 1 ? "" : "s",
		       st.unchanged, st.uncovered, st.cleared);
		if (st.sidecars)
			printf("geotag: %zu video%s placed where the drone was, from %s SRT\n",
			       st.sidecars, st.sidecars == 1 ? "" : "s",
			       st.sidecars == 1 ? "its" : "their");
	}
	if (st.sidecars_unusable)
		fprintf(stderr, "evcap geotag: %zu video%s SRT gave no position; first: %s\n",
			st.sidecars_unusable, st.sidecars_unusable == 1 ? "'s" : "s'", st.sidecar_note);
	if (st.disagreed)
		fprintf(stderr,
			"evcap geotag: %zu item%s placed where another GPS source's track puts %s "
			"farther away than both error estimates allow; each is placed by the track "
			"with the smaller error, and 'evcap log' names the other source and the "
			"distance\n",
			st.disagreed, st.disagreed == 1 ? " is" : "s are", st.disagreed == 1 ? "it" : "them");
	return EXIT_OK;
}
