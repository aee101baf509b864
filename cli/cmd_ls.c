/*
 * evcap ls: the items, one line each, or as the JSON array scripts use.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "items.h"

int cmd_ls(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"no-case", no_argument, NULL, 'n'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *case_name = NULL;
	struct item_filter f = {0};
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'c') {
			case_name = optarg;
		} else if (c == 'n') {
			f.no_case = 1;
		} else if (c == 'h') {
			cli_print_help(cli, "Lists every item, a case's with --case CASE, or those in no\n"
					    "case with --no-case ('evcap case add' puts them in one).\n"
					    "With --json, an array of objects with the fields of 'evcap\n"
					    "show'.\n");
			return EXIT_OK;
		} else {
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (case_name && f.no_case)
		return cli_usage_error(cli, "give --case or --no-case, not both");
	struct store *s = cli_store(cli, CLI_READ);
	if (case_name) {
		f.case_id = cli_case(cli, case_name, 1);
		if (f.case_id <= 0)
			return EXIT_USAGE;
	}
	char err[512];
	json_t *arr = items_list(s, &f, err, sizeof err);
	if (!arr) {
		cli_warn("evcap ls: %s", err);
		return EXIT_PROBLEM;
	}
	if (cli->json) {
		cli_print_json(arr);
		return EXIT_OK;
	}
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *t = json_string_value(json_object_get(it, "captured_at"));
		const char *ls = json_string_value(json_object_get(it, "location_source"));
		const char *me = json_string_value(json_object_get(it, "metadata_error"));
		/* a name stored before evcap escaped text-direction characters,
		 * or pulled from a device that did not, is escaped here */
		char *name = cli_shown(json_string_value(json_object_get(it, "original_name")));
		printf("%5lld  %.12s  %-6s  %-24s  %-5s  %s%s\n",
		       (long long)json_integer_value(json_object_get(it, "id")),
		       json_string_value(json_object_get(it, "sha256")),
		       json_string_value(json_object_get(it, "kind")), t ? t : "-",
		       ls ? ls : "-", name, me ? "  [metadata error]" : "");
		free(name);
	}
	if (!cli->json && json_array_size(arr) == 0 && cli->verbosity >= 0)
		printf("no items\n");
	json_decref(arr);
	return EXIT_OK;
}
