/*
 * evcap show: one item in full, by id or SHA-256 prefix.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "items.h"
#include "util.h"

int cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(cli, "ITEM is an item id or 6 or more leading hex digits of its SHA-256.\n");
			return EXIT_OK;
		}
		return cli_bad_option(cli, argc, argv);
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "give one item");
	struct store *s = cli_store(cli, CLI_READ);
	char err[512];
	json_t *it = items_get(s, argv[optind], err, sizeof err);
	if (!it) {
		char *shown = cli_shown(err);
		fprintf(stderr, "evcap show: %s\n", shown);
		free(shown);
		return EXIT_USAGE;
	}
	if (cli->json) {
		cli_print_json(it);
		return EXIT_OK;
	}
	const char *k;
	json_t *v;
	json_object_foreach(it, k, v) {
		if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
			continue;
		/* 15 significant digits, as --json: 47.3424, not 47.342400000000005;
		 * written out, as readings are: 0.00001, not 1e-05 */
		char *txt;
		if (json_is_string(v)) {
			txt = cli_shown(json_string_value(v));
		} else if (json_is_real(v)) {
			char num[NUM_TEXT_MAX];
			snprintf(num, sizeof num, "%.15g", json_real_value(v));
			num_text(strtod(num, NULL), num);
			txt = xstrdup(num);
		} else {
			txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
						    JSON_REAL_PRECISION(15));
		}
		printf("%-17s %s\n", k, txt ? txt : "");
		free(txt);
	}
	json_decref(it);
	return EXIT_OK;
}
