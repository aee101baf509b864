/*
 * evcap init: creates the store (and the device key). Running it again on
 * an existing store changes nothing and says so. The custody log's init
 * event is store_open's, as for a store evcapd makes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "devkey.h"

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(cli, "Creates the evidence store directory, its database and the\n"
					    "device's signing key. Safe to run again.\n");
			return EXIT_OK;
		}
		return cli_bad_option(cli, argc, argv);
	}
	if (optind != argc)
		return cli_usage_error(cli, "takes no arguments");
	char *db = xasprintf("%s/evidence.db", cli->store_dir);
	int existed = access(db, F_OK) == 0;
	free(db);
	struct store *s = cli_store(cli, CLI_CREATE);
	char err[512];
	if (devkey_ensure(store_dir(s), NULL, err, sizeof err)) /* the device signing key */
		return fprintf(stderr, "evcap init: %s\n", err), EXIT_PROBLEM;
	if (cli->json) {
		json_t *o = json_object();
		json_object_set_new(o, "store", json_string(store_dir(s)));
		json_object_set_new(o, "device_id", json_string(store_device_id(s)));
		json_object_set_new(o, "created", json_boolean(!existed));
		cli_print_json(o);
	} else {
		char *shown = cli_shown(store_dir(s));
		printf("%s evidence store at %s (device %s)\n", existed ? "existing" : "created",
		       shown, store_device_id(s));
		free(shown);
	}
	return EXIT_OK;
}
