/*
 * evcap log: the custody log, oldest first, optionally for one case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_log(struct cli *cli, int argc, char **argv)
{
	const char *case_name;
	int done = cli_case_only_args(cli, argc, argv,
				      "Prints each custody event: sequence, time (UTC), who, what,\n"
				      "the case and item, and the details. --json gives the hashed\n"
				      "events with their chain hashes.\n",
				      &case_name);
	if (done >= 0)
		return done;
	struct store *s = cli_store(cli, CLI_READ);
	if (case_name && cli_case(cli, case_name, 1) <= 0)
		return EXIT_USAGE;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT seq, at, actor, action, case_number, item_sha256, event, prev_hash, hash"
		" FROM custody WHERE (?1 IS NULL OR case_number = ?1) ORDER BY seq",
		NULL, 0);
	if (!st)
		return EXIT_PROBLEM;
	if (case_name)
		sqlite3_bind_text(st, 1, case_name, -1, SQLITE_STATIC);
	json_t *arr = cli->json ? json_array() : NULL;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *event = (const char *)sqlite3_column_text(st, 6);
		json_t *ev = json_loads(event, 0, NULL);
		if (arr) {
			json_t *o = json_object();
			json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(st, 0)));
			json_object_set_new(o, "event", ev ? ev : json_string(event));
			json_object_set_new(o, "prev_hash",
					    json_string((const char *)sqlite3_column_text(st, 7)));
			json_object_set_new(o, "hash", json_string((const char *)sqlite3_column_text(st, 8)));
			json_array_append_new(arr, o);
			continue;
		}
		const char *actor = (const char *)sqlite3_column_text(st, 2);
		const char *cn = (const char *)sqlite3_column_text(st, 4);
		const char *item = (const char *)sqlite3_column_text(st, 5);
		char *detail = json_dumps(json_object_get(ev, "detail"),
					  JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		/* JSON escapes C0 controls; a name or sample id an event quotes
		 * may also hold a C1 control or a text-direction character */
		char *shown = cli_shown(detail && strcmp(detail, "{}") ? detail : "");
		printf("%6lld  %s  %-10s  %-12s  %s%s%s%.12s  %s\n",
		       (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
		       actor ? actor : "-", sqlite3_column_text(st, 3), cn ? cn : "",
		       cn ? "  " : "", item ? "item " : "", item ? item : "", shown);
		free(shown);
		free(detail);
		json_decref(ev);
	}
	if (r != SQLITE_DONE) {
		/* a damaged or unreadable store: never a log that ends early
		 * as though it were whole */
		fprintf(stderr, "evcap log: reading the custody log: %s\n",
			sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
		json_decref(arr);
		return EXIT_PROBLEM;
	}
	sqlite3_finalize(st);
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}
