/*
 * evcap key: the device's signing key and the keys this store trusts.
 * show prints the public key in minisign's .pub format (what the office
 * passes to `evcap key trust` or `minisign -p`); trust records a device key
 * (a custody event); list shows the trusted keys; sign signs a file with
 * the device key in minisign's format.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custody.h"
#include "devkey.h"
#include "fsutil.h"
#include "minisign.h"
#include "timeutil.h"

static const char key_help[] =
	"subcommands:\n"
	"  show          print this device's public key (minisign .pub format)\n"
	"  trust FILE    trust a device's public key (.pub file) for evcap pull\n"
	"  list          the trusted device keys\n"
	"  sign FILE     sign FILE with this device's key into FILE.minisig\n";

static int key_show(struct cli *cli, struct store *s)
{
	char err[512];
	struct minisign_pub pub;
	struct buf b;
	if (devkey_ensure(store_dir(s), NULL, err, sizeof err) ||
	    devkey_load_pub(store_dir(s), &pub, err, sizeof err)) {
		fprintf(stderr, "evcap key: %s\n", err);
		return EXIT_PROBLEM;
	}
	buf_init(&b, 4096);
	if (minisign_pub_file(&pub, &b) == 0) {
		if (cli->json) {
			char id[MINISIGN_KEYID_HEX];
			struct buf line;
			buf_init(&line, 256);
			minisign_keyid_hex(pub.keyid, id);
			json_t *o = json_object();
			json_object_set_new(o, "key_id", json_string(id));
			if (minisign_pub_base64(&pub, &line) == 0)
				json_object_set_new(o, "public_key", json_string(line.data));
			json_object_set_new(o, "device_id", json_string(store_device_id(s)));
			char *path = devkey_pub_path(store_dir(s));
			json_object_set_new(o, "file", json_string(path));
			free(path);
			cli_print_json(o);
			buf_free(&line);
		} else {
			fputs(b.data, stdout);
		}
	}
	buf_free(&b);
	return EXIT_OK;
}

static int key_trust(struct cli *cli, struct store *s, const char *file)
{
	char err[512], id[MINISIGN_KEYID_HEX], now[32];
	struct minisign_pub pub;
	struct buf text, line;
	sqlite3_stmt *st = NULL;
	int rc = EXIT_PROBLEM;
	buf_init(&text, 4096);
	buf_init(&line, 256);
	if (fs_read_file(file, 4096, &text, err, sizeof err) ||
	    minisign_pub_parse(text.data, text.len, &pub, err, sizeof err)) {
		fprintf(stderr, "evcap key trust: %s: %s\n", file, err);
		goto out;
	}
	minisign_keyid_hex(pub.keyid, id);
	if (minisign_pub_base64(&pub, &line))
		goto out;
	st = store_prepare(s, "SELECT public_key FROM trusted_keys WHERE key_id = ?", err, sizeof err);
	if (!st)
		goto db_fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *had = (const char *)sqlite3_column_text(st, 0);
		if (had && strcmp(had, line.data) == 0) {
			printf("key %s is already trusted\n", id);
			rc = EXIT_OK;
		} else {
			fprintf(stderr,
				"evcap key trust: a different key with the same id %s is already "
				"trusted; refusing to replace it\n",
				id);
		}
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	time_format_iso(time_now(), now);
	if (store_begin(s, err, sizeof err))
		goto db_fail;
	st = store_prepare(s,
			   "INSERT INTO trusted_keys(key_id, public_key, comment, added_at)"
			   " VALUES (?, ?, ?, ?)",
			   err, sizeof err);
	if (!st) {
		store_rollback(s);
		goto db_fail;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, line.data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fs_basename(file), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	json_t *d = json_object();
	json_object_set_new(d, "key_id", json_string(id));
	json_object_set_new(d, "public_key", json_string(line.data));
	json_object_set_new(d, "file", json_string(fs_basename(file)));
	int bad = sqlite3_step(st) != SQLITE_DONE ||
		  custody_append(s, time_now(), cli->actor, "key trust", NULL, NULL, d, NULL, err,
				 sizeof err) ||
		  store_commit(s, err, sizeof err);
	json_decref(d);
	if (bad) {
		store_rollback(s);
		goto db_fail;
	}
	printf("trusted device key %s\n", id);
	rc = EXIT_OK;
	goto out;
db_fail:
	fprintf(stderr, "evcap key trust: %s\n", err[0] ? err : sqlite3_errmsg(store_db(s)));
out:
	sqlite3_finalize(st);
	buf_free(&text);
	buf_free(&line);
	return rc;
}

static int key_list(struct cli *cli, struct store *s)
{
	char err[512];
	sqlite3_stmt *st = store_prepare(
		s, "SELECT key_id, public_key, comment, added_at FROM trusted_keys ORDER BY added_at",
		err, sizeof err);
	if (!st) {
		fprintf(stderr, "evcap key list: %s\n", err);
		return EXIT_PROBLEM;
	}
	json_t *arr = cli->json ? json_array() : NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *c[4];
		for (int i = 0; i < 4; i++)
			c[i] = (const char *)sqlite3_column_text(st, i);
		if (arr) {
			json_t *o = json_object();
			json_object_set_new(o, "key_id", json_string(c[0] ? c[0] : ""));
			json_object_set_new(o, "public_key", json_string(c[1] ? c[1] : ""));
			json_object_set_new(o, "comment", c[2] ? json_string(c[2]) : json_null());
			json_object_set_new(o, "added_at", json_string(c[3] ? c[3] : ""));
			json_array_append_new(arr, o);
		} else {
			printf("%-16s %s  %s  %s\n", c[0] ? c[0] : "", c[1] ? c[1] : "",
			       c[3] ? c[3] : "", c[2] ? c[2] : "");
		}
	}
	sqlite3_finalize(st);
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}

static int key_sign(struct store *s, const char *file)
{
	char err[512], trusted[512];
	struct minisign_secret sec;
	struct buf text, sig;
	int rc = EXIT_PROBLEM;
	buf_init(&text, (size_t)1 << 30);
	buf_init(&sig, MINISIGN_SIGFILE_MAX);
	memset(&sec, 0, sizeof sec);
	if (fs_read_file(file, (size_t)1 << 30, &text, err, sizeof err) ||
	    devkey_load_secret(store_dir(s), &sec, err, sizeof err)) {
		fprintf(stderr, "evcap key sign: %s\n", err);
		goto out;
	}
	snprintf(trusted, sizeof trusted, "timestamp:%lld\tfile:%.200s\thashed",
		 (long long)time_now(), fs_basename(file));
	char *out = xasprintf("%s.minisig", file);
	if (minisign_sign(&sec, text.data, text.len, "signature from evcap device key", trusted,
			  &sig, err, sizeof err) ||
	    fs_write_atomic(out, sig.data, sig.len, 0644, 0, err, sizeof err))
		fprintf(stderr, "evcap key sign: %s\n", err);
	else
		rc = EXIT_OK;
	free(out);
out:
	minisign_secret_wipe(&sec);
	buf_free(&text);
	buf_free(&sig);
	return rc;
}

int cmd_key(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(cli, key_help);
			return EXIT_OK;
		}
		return cli_usage_error(cli, "unknown option");
	}
	if (optind >= argc)
		return cli_usage_error(cli, "give a subcommand: show, trust FILE, list or sign FILE");
	const char *sub = argv[optind];
	int nargs = argc - optind - 1;
	if (!strcmp(sub, "show") && nargs == 0)
		return key_show(cli, cli_store(cli, 0));
	if (!strcmp(sub, "trust") && nargs == 1)
		return key_trust(cli, cli_store(cli, 0), argv[optind + 1]);
	if (!strcmp(sub, "list") && nargs == 0)
		return key_list(cli, cli_store(cli, 0));
	if (!strcmp(sub, "sign") && nargs == 1)
		return key_sign(cli_store(cli, 0), argv[optind + 1]);
	return cli_usage_error(cli, "unknown subcommand or wrong arguments: '%s'", sub);
}
