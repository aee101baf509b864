/*
 * evcap geotag: learns camera clock offsets, places items and sensor
 * readings without a position of their own on the stored GPS track and
 * gives them to the case's sites (geotag_run). Ingest, track import and
 * the daemon call geotag_run themselves as new items and fixes arrive.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "geotag.h"

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
		"placed at the drone's first fix in it instead (location_source 'srt').\n"
		"Sensor readings with a time and no position are placed the same way. What\n"
		"is placed goes to the case's site whose circle holds it.\n";
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
	struct store *s = cli_store(cli, CLI_WRITE);
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
		json_object_set_new(j, "readings_placed", json_integer((json_int_t)st.readings_placed));
		json_object_set_new(j, "assigned", json_integer((json_int_t)st.assigned));
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
		if (st.readings_placed)
			printf("geotag: %zu reading%s placed from the GPS track\n", st.readings_placed,
			       st.readings_placed == 1 ? "" : "s");
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
