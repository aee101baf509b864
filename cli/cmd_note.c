/*
 * evcap note: a note on an item, kept beside it (the original is never
 * touched) and recorded in the custody log.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "custody.h"
#include "items.h"
#include "timeutil.h"

#define NOTE_MAX 16384

int cmd_note(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	/* options anywhere ("note 3 --help" is help, never a note), until "--":
	 * after it, text that begins with '-' is text */
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(cli, "Adds TEXT as a note on ITEM (id or SHA-256 prefix). Text that\n"
					    "begins with '-' goes after '--':\n"
					    "  evcap note 3 -- '-5 m from the outfall'\n"
					    "With --json, prints {item, sha256, case, note, author,\n"
					    "created_at}.\n");
			return EXIT_OK;
		}
		return cli_bad_option(cli, argc, argv);
	}
	if (optind + 2 != argc)
		return cli_usage_error(cli, optind + 2 < argc
						    ? "give an item and the note text as one argument "
						      "(quoted)"
						    : "give an item and the note text (quoted)");
	const char *text = argv[optind + 1];
	size_t len = strlen(text);
	if (len == 0 || len > NOTE_MAX || !utf8_valid(text, len))
		return cli_usage_error(cli, "a note is 1 to %d bytes of UTF-8 text", NOTE_MAX);
	if (cli_check_text(cli, "a note", text, 1))
		return EXIT_USAGE;
	struct store *s = cli_store(cli, CLI_WRITE);
	char err[512], now[32];
	json_t *it = items_get(s, argv[optind], err, sizeof err);
	if (!it) {
		cli_warn("evcap note: %s", err);
		return EXIT_USAGE;
	}
	time_format_iso(time_now(), now);
	json_t *d = json_object();
	json_object_set_new(d, "text", json_string(text));
	const char *sha = json_string_value(json_object_get(it, "sha256"));
	const char *case_number = json_string_value(json_object_get(it, "case"));
	int rc = EXIT_PROBLEM;
	if (store_begin(s, err, sizeof err))
		goto out;
	sqlite3_stmt *st = store_prepare(
		s, "INSERT INTO notes(item_id, text, author, created_at) VALUES (?,?,?,?)", err,
		sizeof err);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(it, "id")));
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cli->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		snprintf(err, sizeof err, "%s", sqlite3_errmsg(store_db(s)));
		goto fail;
	}
	if (custody_append(s, time_now(), cli->actor, "note", case_number, sha, d, NULL, err,
			   sizeof err) ||
	    store_commit(s, err, sizeof err))
		goto fail;
	if (cli->json) {
		json_t *o = json_object();
		json_object_set_new(o, "item", json_integer(json_integer_value(
						       json_object_get(it, "id"))));
		json_object_set_new(o, "sha256", json_string(sha));
		json_object_set_new(o, "case", case_number ? json_string(case_number) : json_null());
		json_object_set_new(o, "note", json_string(text));
		json_object_set_new(o, "author", json_string(cli->actor));
		json_object_set_new(o, "created_at", json_string(now));
		cli_print_json(o);
	} else {
		printf("note added to item %lld (%.12s)\n",
		       (long long)json_integer_value(json_object_get(it, "id")), sha);
	}
	rc = EXIT_OK;
	goto out;
fail:
	store_rollback(s);
out:
	if (rc)
		cli_warn("evcap note: %s", err);
	json_decref(d);
	json_decref(it);
	return rc;
}
