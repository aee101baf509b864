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
#include "keyring.h"
#include "minisign.h"
#include "timeutil.h"

static const char key_help[] =
	"subcommands:\n"
	"  show          print this device's public key (minisign .pub format; the comment\n"
	"                line names the device)\n"
	"  trust FILE [--device ID] [--replaces KEYID]\n"
	"                trust a device's public key (.pub file) for evcap pull, tied to\n"
	"                the device its comment or --device names (else to the device of\n"
	"                the first bundle it signs); --replaces: the device has a new key,\n"
	"                and its old key KEYID signs nothing more\n"
	"  list          the trusted device keys and the device each one is tied to\n"
	"  sign FILE     sign FILE with this device's key into FILE.minisig\n";

static int key_show(struct cli *cli, struct store *s)
{
	char err[512];
	struct minisign_pub pub;
	struct buf b;
	/* a key missing is made, except in a store that cannot be written */
	if ((!store_readonly(s) && devkey_ensure(store_dir(s), NULL, err, sizeof err)) ||
	    devkey_load_pub(store_dir(s), &pub, err, sizeof err)) {
		cli_warn("evcap key: %s", err);
		return EXIT_PROBLEM;
	}
	buf_init(&b, 4096);
	if (devkey_pub_text(&pub, store_device_id(s), &b) == 0) {
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

/* What `key trust` was asked: the key file read, and the device it is for. */
struct trust_req {
	const char *file;
	const char *device_opt; /* --device */
	const char *replaces;   /* --replaces */
	char id[MINISIGN_KEYID_HEX];
	char device[DEVKEY_DEVICE_MAX + 1]; /* "" when neither the file nor --device names one */
	const char *how;
	struct buf line; /* the base64 public key */
};

/* Reads the key file and settles which device the key is for. */
static int trust_read(struct trust_req *r, char *err, size_t errlen)
{
	struct minisign_pub pub;
	struct buf text;
	char named[DEVKEY_DEVICE_MAX + 1];
	int rc;
	buf_init(&text, 4096);
	if ((rc = fs_read_file(r->file, 4096, &text, err, errlen)) ||
	    (rc = minisign_pub_parse(text.data, text.len, &pub, err, errlen)))
		goto out;
	minisign_keyid_hex(pub.keyid, r->id);
	if (minisign_pub_base64(&pub, &r->line)) {
		rc = err_set(err, errlen, EV_ELIMIT, "public key too long");
		goto out;
	}
	int has = devkey_pub_device(text.data, text.len, named);
	if (has < 0) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "its comment names a device id that is not 1 to 64 lowercase hex "
			     "digits");
		goto out;
	}
	if (r->device_opt && has && strcmp(named, r->device_opt) != 0) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "the file says the key is device %s's, --device says %s", named,
			     r->device_opt);
		goto out;
	}
	if (r->device_opt) {
		snprintf(r->device, sizeof r->device, "%s", r->device_opt);
		r->how = "key trust --device";
	} else if (has) {
		snprintf(r->device, sizeof r->device, "%s", named);
		r->how = "key trust: the key file names the device";
	}
out:
	buf_free(&text);
	return rc;
}

/* The outcome of a trust that changed nothing or succeeded: with --json
 * {key_id, device_id, replaces, status}, else the sentence `text`. */
static void trust_said(struct cli *cli, const struct trust_req *r, const char *device,
		       const char *status, const char *text)
{
	if (!cli->json) {
		printf("%s\n", text);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "key_id", json_string(r->id));
	json_object_set_new(o, "device_id", device && *device ? json_string(device) : json_null());
	json_object_set_new(o, "replaces", r->replaces ? json_string(r->replaces) : json_null());
	json_object_set_new(o, "status", json_string(status));
	cli_print_json(o);
}

static json_t *trust_detail(const struct trust_req *r)
{
	json_t *d = json_object();
	json_object_set_new(d, "key_id", json_string(r->id));
	json_object_set_new(d, "public_key", json_string(r->line.data));
	json_object_set_new(d, "file", json_string(fs_basename(r->file)));
	if (r->device[0])
		json_object_set_new(d, "device_id", json_string(r->device));
	if (r->replaces)
		json_object_set_new(d, "replaces", json_string(r->replaces));
	return d;
}

static int exec_bound(struct store *s, const char *sql, const char *const *args, int n,
		      char *err, size_t errlen)
{
	sqlite3_stmt *st = store_prepare(s, sql, err, errlen);
	int rc = 0;
	if (!st)
		return EV_EDB;
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = err_set(err, errlen, EV_EDB, "%s", sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	return rc;
}

/* The key is trusted already: the same key perhaps tied now to a device. */
static int trust_again(struct cli *cli, struct store *s, struct trust_req *r,
		       const struct keyring_key *k, char *err, size_t errlen)
{
	char now[32], text[512];
	if (strcmp(k->public_key, r->line.data) != 0) {
		fprintf(stderr,
			"evcap key trust: a different key with the same id %s is already trusted; "
			"refusing to replace it\n",
			r->id);
		return EXIT_PROBLEM;
	}
	if (r->replaces) {
		fprintf(stderr, "evcap key trust: key %s is trusted already; --replaces is for a "
				"device's new key\n", r->id);
		return EXIT_USAGE;
	}
	if (!r->device[0] || strcmp(k->device_id, r->device) == 0) {
		snprintf(text, sizeof text, "key %s is already trusted%s%s", r->id,
			 k->device_id[0] ? ", tied to device " : "", k->device_id);
		trust_said(cli, r, k->device_id, "already trusted", text);
		return EXIT_OK;
	}
	if (k->device_id[0]) {
		fprintf(stderr,
			"evcap key trust: key %s is tied to device %s (%s), not %s; a key "
			"signs for one device only\n",
			r->id, k->device_id, k->bound_how, r->device);
		return EXIT_PROBLEM;
	}
	time_format_iso(time_now(), now);
	int rc = store_begin(s, err, errlen);
	if (!rc)
		rc = keyring_bind(s, r->id, r->device, r->how, now, err, errlen);
	if (!rc) {
		json_t *d = trust_detail(r);
		rc = custody_append(s, time_now(), cli->actor, "key bind", NULL, NULL, d, NULL, err,
				    errlen);
		json_decref(d);
	}
	if (!rc)
		rc = store_commit(s, err, errlen);
	if (rc) {
		store_rollback(s);
		if (rc == EV_EEXIST) {
			struct keyring_key dk;
			if (keyring_device_key(s, r->device, &dk, NULL, 0) == 1)
				snprintf(err, errlen,
					 "device %s signs with key %s already; if it really has a "
					 "new key, trust the new key with --replaces %s",
					 r->device, dk.key_id, dk.key_id);
		}
		cli_warn("evcap key trust: %s", err);
		return EXIT_PROBLEM;
	}
	snprintf(text, sizeof text, "key %s is now tied to device %s", r->id, r->device);
	trust_said(cli, r, r->device, "tied", text);
	return EXIT_OK;
}

static int key_trust(struct cli *cli, struct store *s, struct trust_req *r)
{
	char err[512] = "", now[32], text[768];
	struct keyring_key k, old;
	int have;
	if (trust_read(r, err, sizeof err)) {
		/* the file's name as typed, its control characters escaped */
		char *msg = strncmp(err, r->file, strlen(r->file)) == 0 /* it names the file */
				    ? xstrdup(err)
				    : xasprintf("%s: %s", r->file, err);
		char *shown = cli_shown(msg);
		fprintf(stderr, "evcap key trust: %s\n", shown);
		free(shown);
		free(msg);
		return EXIT_PROBLEM;
	}
	if ((have = keyring_get(s, r->id, &k, err, sizeof err)) < 0)
		goto db_fail;
	if (have)
		return trust_again(cli, s, r, &k, err, sizeof err);
	if (r->replaces) {
		/* the old key: trusted, in use, and the same device's */
		int o = keyring_get(s, r->replaces, &old, err, sizeof err);
		if (o < 0)
			goto db_fail;
		const char *why = !o ? "is not trusted here"
				  : old.replaced_by[0] ? "was replaced already"
				  : !old.device_id[0] ? "is tied to no device"
				  : r->device[0] && strcmp(old.device_id, r->device) != 0
					  ? "belongs to another device"
					  : NULL;
		if (why) {
			fprintf(stderr, "evcap key trust: --replaces %s: that key %s%s%s\n",
				r->replaces, why, o && old.device_id[0] ? " " : "",
				o && old.device_id[0] ? old.device_id : "");
			return EXIT_PROBLEM;
		}
		snprintf(r->device, sizeof r->device, "%s", old.device_id);
		if (!r->how)
			r->how = "key trust --replaces";
	} else if (r->device[0]) {
		int o = keyring_device_key(s, r->device, &old, err, sizeof err);
		if (o < 0)
			goto db_fail;
		if (o) {
			fprintf(stderr,
				"evcap key trust: device %s signs with key %s already (%s); "
				"a device has one key in use. If it really has a new key (its "
				"keys/device.key was made again), compare %s with 'evcap key "
				"show' on that device and run 'evcap key trust %s --replaces "
				"%s'; a reinstalled device has a new device id, and its key is "
				"trusted as any new device's\n",
				r->device, old.key_id, old.bound_how, r->id, r->file, old.key_id);
			return EXIT_PROBLEM;
		}
	}
	time_format_iso(time_now(), now);
	if (store_begin(s, err, sizeof err))
		goto db_fail;
	const char *retire[] = {r->id, now, r->replaces};
	json_t *d = trust_detail(r);
	int bad = (r->replaces &&
		   exec_bound(s, "UPDATE trusted_keys SET replaced_by = ?, replaced_at = ?"
				 " WHERE key_id = ?", retire, 3, err, sizeof err)) ||
		  keyring_add(s, r->id, r->line.data, fs_basename(r->file),
			      r->device[0] ? r->device : NULL, r->how, now, err, sizeof err) ||
		  custody_append(s, time_now(), cli->actor, "key trust", NULL, NULL, d, NULL, err,
				 sizeof err) ||
		  store_commit(s, err, sizeof err);
	json_decref(d);
	if (bad) {
		store_rollback(s);
		goto db_fail;
	}
	int n = snprintf(text, sizeof text, "trusted device key %s", r->id);
	if (r->device[0])
		n += snprintf(text + n, sizeof text - (size_t)n, ", tied to device %s", r->device);
	else
		n += snprintf(text + n, sizeof text - (size_t)n,
			      " (the file names no device: the first bundle it signs ties it to "
			      "that bundle's device)");
	if (r->replaces)
		snprintf(text + n, sizeof text - (size_t)n, "; key %s signs nothing more",
			 r->replaces);
	trust_said(cli, r, r->device, "trusted", text);
	return EXIT_OK;
db_fail:
	fprintf(stderr, "evcap key trust: %s\n", err[0] ? err : sqlite3_errmsg(store_db(s)));
	return EXIT_PROBLEM;
}

static int key_list(struct cli *cli, struct store *s)
{
	char err[512];
	static const char *names[] = {"key_id",   "public_key", "comment",     "added_at",
				      "device_id", "bound_at",  "bound_how",   "replaced_by",
				      "replaced_at"};
	enum { NCOLS = sizeof names / sizeof names[0] };
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT key_id, public_key, comment, added_at, device_id,"
					 " bound_at, bound_how, replaced_by, replaced_at"
					 " FROM trusted_keys ORDER BY added_at",
					 err, sizeof err);
	if (!st) {
		cli_warn("evcap key list: %s", err);
		return EXIT_PROBLEM;
	}
	json_t *arr = cli->json ? json_array() : NULL;
	int r;
	size_t n = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c[NCOLS];
		n++;
		for (int i = 0; i < NCOLS; i++)
			c[i] = (const char *)sqlite3_column_text(st, i);
		if (arr) {
			json_t *o = json_object();
			for (int i = 0; i < NCOLS; i++)
				json_object_set_new(o, names[i],
						    c[i] ? json_string(c[i])
							 : i < 2 || i == 3 ? json_string("")
									   : json_null());
			json_array_append_new(arr, o);
			continue;
		}
		printf("%-16s %s  %s  %s\n", c[0] ? c[0] : "", c[1] ? c[1] : "", c[3] ? c[3] : "",
		       c[2] ? c[2] : "");
		if (c[4])
			printf("  device %s (tied %s: %s)\n", c[4], c[5] ? c[5] : "?",
			       c[6] ? c[6] : "?");
		else
			printf("  device: not tied yet (its next accepted bundle ties it, or "
			       "'evcap key trust FILE --device ID')\n");
		if (c[7])
			printf("  replaced by key %s on %s: signs nothing more\n", c[7],
			       c[8] ? c[8] : "?");
	}
	if (r != SQLITE_DONE) {
		fprintf(stderr, "evcap key list: reading the store: %s\n",
			sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
		json_decref(arr);
		return EXIT_PROBLEM;
	}
	sqlite3_finalize(st);
	if (arr)
		cli_print_json(arr);
	else if (!n && cli->verbosity >= 0)
		printf("no trusted keys yet ('evcap key trust FILE' trusts a device's public "
		       "key)\n");
	return EXIT_OK;
}

static int key_sign(struct cli *cli, struct store *s, const char *file)
{
	char err[512], trusted[512], id[MINISIGN_KEYID_HEX];
	struct minisign_secret sec;
	struct buf text, sig;
	int rc = EXIT_PROBLEM;
	buf_init(&text, (size_t)1 << 30);
	buf_init(&sig, MINISIGN_SIGFILE_MAX);
	memset(&sec, 0, sizeof sec);
	if (fs_read_file(file, (size_t)1 << 30, &text, err, sizeof err)) {
		cli_warn("evcap key sign: %s", err);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if (devkey_load_secret(store_dir(s), &sec, err, sizeof err)) {
		cli_warn("evcap key sign: %s", err);
		goto out;
	}
	snprintf(trusted, sizeof trusted, "timestamp:%lld\tfile:%.200s\thashed",
		 (long long)time_now(), fs_basename(file));
	char *out = xasprintf("%s.minisig", file);
	if (minisign_sign(&sec, text.data, text.len, "signature from evcap device key", trusted,
			  &sig, err, sizeof err) ||
	    fs_write_atomic(out, sig.data, sig.len, 0644, 0, err, sizeof err)) {
		cli_warn("evcap key sign: %s", err);
	} else {
		rc = EXIT_OK;
		minisign_keyid_hex(sec.keyid, id);
		if (cli->json) {
			json_t *o = json_object();
			json_object_set_new(o, "file", json_string(file));
			json_object_set_new(o, "signature", json_string(out));
			json_object_set_new(o, "key_id", json_string(id));
			cli_print_json(o);
		} else if (cli->verbosity >= 0) {
			printf("signed %s with key %s into %s\n", file, id, out);
		}
	}
	free(out);
out:
	minisign_secret_wipe(&sec);
	buf_free(&text);
	buf_free(&sig);
	return rc;
}

/* evcap key trust FILE [--device ID] [--replaces KEYID] */
static int key_trust_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"device", required_argument, NULL, 'd'},
					     {"replaces", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	struct trust_req r = {0};
	int c, rc;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': r.device_opt = optarg; break;
		case 'r': r.replaces = optarg; break;
		case 'h': cli_print_help(cli, key_help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "trust takes one key file%s",
				       optind >= argc ? " (a device's .pub, from 'evcap key show')"
						      : "");
	if (r.device_opt && !devkey_device_id_valid(r.device_opt))
		return cli_usage_error(cli, "--device takes a device id: 1 to 64 lowercase hex "
					    "digits, as 'evcap key show --json' prints it");
	if (!*argv[optind])
		return cli_usage_error(cli, "trust needs a key file, and '' is empty");
	r.file = argv[optind];
	buf_init(&r.line, 256);
	rc = key_trust(cli, cli_store(cli, CLI_WRITE), &r);
	buf_free(&r.line);
	return rc;
}

int cmd_key(struct cli *cli, int argc, char **argv)
{
	static const char subs[] = "show, trust, list or sign";
	int rc = cli_subcommand(cli, argc, argv, key_help, subs);
	if (rc >= 0)
		return rc;
	const char *sub = argv[1], *file = NULL;
	int show = !strcmp(sub, "show"), list = !strcmp(sub, "list");
	if (!strcmp(sub, "trust"))
		return key_trust_cmd(cli, argc - 1, argv + 1);
	if (!show && !list && strcmp(sub, "sign"))
		return cli_unknown_subcommand(cli, sub, subs);
	if ((rc = cli_plain_args(cli, argc - 1, argv + 1, key_help,
				 show || list ? NULL : "file to sign", NULL, &file)) >= 0)
		return rc;
	if (show)
		return key_show(cli, cli_store(cli, CLI_READ));
	if (list)
		return key_list(cli, cli_store(cli, CLI_READ));
	/* the signature goes beside FILE, never into the store */
	return key_sign(cli, cli_store(cli, CLI_READ), file);
}
