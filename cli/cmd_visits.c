/*
 * evcap visits: a case's items grouped into visits (inspection trips), so
 * a re-inspection can name the trips it compares. The grouping rule lives
 * in capture/revisit.c; this is its command-line face.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../capture/revisit.h"
#include "../export/revisit.h"

static const char visits_help[] =
	"Groups the items of a case into visits, numbered 1.. in time order. A new\n"
	"visit starts at each new calendar day (at the case's time offset, else\n"
	"China's +08:00) and wherever more than --gap-hours (default 6) pass\n"
	"between two items. Items without a capture time belong to no visit.\n\n"
	"options:\n"
	"  --case CASE        the case (else the case in use)\n"
	"  --gap-hours H      the gap that splits a visit (hours, above 0, at most 720)\n"
	"  --json             print JSON\n";

int cmd_visits(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"gap-hours", required_argument, NULL, 'g'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *case_name = NULL;
	struct revisit_opts o = {0};
	struct revisit_report *r = NULL;
	char err[1024];
	int c, rc = EXIT_PROBLEM;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': case_name = optarg; break;
		case 'g':
			if (revisit_parse_gap(optarg, &o.gap_h))
				return cli_usage_error(cli, "--gap-hours must be a number of hours above 0 "
							    "and at most 720, not '%s'", optarg);
			break;
		case 'h': cli_print_help(cli, visits_help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	int64_t case_id = cli_case(cli, case_name, 1);
	if (case_id <= 0)
		return EXIT_USAGE;
	struct store *s = cli_store(cli, CLI_READ);
	if (revisit_report_load(s, case_id, &o, &r, err, sizeof err)) {
		cli_warn("evcap visits: %s", err);
		goto out;
	}
	json_t *j = revisit_report_visits_json(r);
	if (cli->json) {
		cli_print_json(j);
	} else {
		size_t i;
		json_t *v;
		json_t *arr = json_object_get(j, "visits");
		printf("case %s: %zu visit%s (times at %s, split by more than %g h)\n",
		       json_string_value(json_object_get(j, "case")), json_array_size(arr),
		       json_array_size(arr) == 1 ? "" : "s",
		       json_string_value(json_object_get(j, "offset")),
		       json_number_value(json_object_get(j, "gap_hours")));
		json_array_foreach(arr, i, v) {
			json_int_t items = json_integer_value(json_object_get(v, "items"));
			json_int_t photos = json_integer_value(json_object_get(v, "photos"));
			/* "item " keeps the column of photos under the others */
			printf("%3lld  %.19s - %.19s  %4lld item%s (%lld photo%s)",
			       (long long)json_integer_value(json_object_get(v, "visit")),
			       json_string_value(json_object_get(v, "start_local")),
			       json_string_value(json_object_get(v, "end_local")), (long long)items,
			       items == 1 ? " " : "s", (long long)photos, photos == 1 ? "" : "s");
			size_t k;
			json_t *n;
			json_array_foreach(json_object_get(v, "sites"), k, n) {
				/* a site pulled from a device may hold what none typed here can */
				char *site = cli_shown(json_string_value(n));
				printf("%s%s", k ? ", " : "  sites: ", site);
				free(site);
			}
			printf("\n");
		}
		json_int_t un = json_integer_value(json_object_get(j, "untimed_items"));
		if (un)
			printf("%lld item%s without a capture time belong%s to no visit\n",
			       (long long)un, un == 1 ? "" : "s", un == 1 ? "s" : "");
		json_decref(j);
	}
	rc = EXIT_OK;
out:
	revisit_report_free(r);
	return rc;
}
