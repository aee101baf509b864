/*
 * evcap ls: the items, one line each, or as the JSON array scripts use.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "items.h"

int cmd_ls(struct cli *cli, int argc, char **argv)
{
	const char *case_name;
	int done = cli_case_only_args(cli, argc, argv,
				      "Lists every item, or a case's with --case. With --json, an\n"
				      "array of objects with the fields of 'evcap show'.\n",
				      &case_name);
	if (done >= 0)
		return done;
	struct store *s = cli_store(cli, 0);
	struct item_filter f = {0};
	if (case_name) {
		f.case_id = cli_case(cli, case_name, 1);
		if (f.case_id <= 0)
			return EXIT_USAGE;
	}
	char err[512];
	json_t *arr = items_list(s, &f, err, sizeof err);
	if (!arr) {
		fprintf(stderr, "evcap ls: %s\n", err);
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
		printf("%5lld  %.12s  %-6s  %-24s  %-5s  %s%s\n",
		       (long long)json_integer_value(json_object_get(it, "id")),
		       json_string_value(json_object_get(it, "sha256")),
		       json_string_value(json_object_get(it, "kind")), t ? t : "-",
		       ls ? ls : "-", json_string_value(json_object_get(it, "original_name")),
		       me ? "  [metadata error]" : "");
	}
	if (!cli->json && json_array_size(arr) == 0 && cli->verbosity >= 0)
		printf("no items\n");
	json_decref(arr);
	return EXIT_OK;
}
