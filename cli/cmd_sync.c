/*
 * evcap sync: sends what the store has that the target has not seen, as
 * signed bundles. Settings come from the options, then the config's [sync]
 * section; S3 credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or
 * the config (which config_load refuses unless it is mode 0600).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "sync.h"
#include "syncopt.h"

static const char sync_help[] =
	"options:\n"
	"  --target URL       dir:/path or s3://bucket/prefix (else [sync] target)\n"
	"  --case CASE        only this case (else every case with something new)\n"
	"  --endpoint URL     S3 endpoint, e.g. https://s3.example.org (else [sync] endpoint)\n"
	"  --region R         S3 signing region (else [sync] region, $AWS_REGION, us-east-1)\n"
	"  --retain-days N    S3 Object Lock COMPLIANCE retention for everything written\n"
	"                     (s3: only; refused with a dir: target)\n"
	"  --bandwidth RATE   cap the transfer rate, bytes/s with optional k or M (e.g. 500k;\n"
	"                     at least 1k), to an s3: or a dir: target\n"
	"  --create-bucket    create a missing bucket (with Object Lock if --retain-days)\n"
	"  --no-progress      no progress display even on a terminal\n"
	"Credentials: $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY, else the config\n"
	"(access_key, secret_key; the file must be mode 0600).\n";

/* The count sql gives (-1 if it cannot be read). */
static int64_t count_unassigned(struct store *s, const char *sql)
{
	int64_t n = -1;
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Sync sends cases: what is in none would stay behind unsaid. */
static void warn_unassigned(struct store *s, int64_t *items, int64_t *readings)
{
	*items = count_unassigned(s, "SELECT count(*) FROM items WHERE case_id IS NULL");
	*readings = count_unassigned(s, "SELECT count(*) FROM readings WHERE case_id IS NULL");
	if (*items > 0 || *readings > 0)
		fprintf(stderr,
			"evcap sync: warning: %lld item%s and %lld sensor reading%s are in no case, "
			"so they are not synced ('evcap ls --no-case' lists the items; 'evcap case "
			"add CASE --unassigned' puts them in a case)\n",
			(long long)(*items > 0 ? *items : 0), *items == 1 ? "" : "s",
			(long long)(*readings > 0 ? *readings : 0), *readings == 1 ? "" : "s");
}

int cmd_sync(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},  {"case", required_argument, NULL, 'c'},
		{"endpoint", required_argument, NULL, 'e'}, {"region", required_argument, NULL, 'r'},
		{"retain-days", required_argument, NULL, 'R'},
		{"bandwidth", required_argument, NULL, 'b'},
		{"create-bucket", no_argument, NULL, 'C'}, {"no-progress", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},          {0}};
	struct sync_opts o = {0};
	struct sync_report rep;
	char err[2048];
	int c, no_progress = 0;
	const char *endpoint = NULL, *region = NULL, *retain = NULL, *bw = NULL;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': o.target_url = optarg; break;
		case 'c': o.case_number = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'r': region = optarg; break;
		case 'R': retain = optarg; break;
		case 'b': bw = optarg; break;
		case 'C': o.topts.create_bucket = 1; break;
		case 'P': no_progress = 1; break;
		case 'h': cli_print_help(cli, sync_help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "takes no arguments (give the case with --case)");
	if (!o.target_url)
		o.target_url = cli->cfg->sync_target;
	if (syncopt_fill(cli->cfg, endpoint, region, retain, bw, &o.topts, err, sizeof err))
		return cli_usage_error(cli, "%s", err);
	/* Object Lock and buckets are S3's: on a folder they would promise a
	 * retention nothing enforces */
	if (o.target_url && strncmp(o.target_url, "dir:", 4) == 0) {
		if (retain || o.topts.create_bucket)
			return cli_usage_error(cli, "--retain-days and --create-bucket apply to s3: "
						    "targets only, not to %s",
					       o.target_url);
		if (o.topts.retain_days > 0 && cli->verbosity >= 0)
			fprintf(stderr, "evcap sync: note: retain_days in the config is not applied "
					"to a dir: target (nothing there enforces a retention)\n");
	}
	o.topts.progress = !no_progress && isatty(2) && cli->verbosity >= 0;
	o.actor = cli->actor;

	if (cli->cfg->sync_interval >= 0 && cli->verbosity >= 0)
		fprintf(stderr, "evcap sync: note: [sync] interval in the config is not used; "
				"evcap-sync.timer decides when sync runs ('systemctl edit "
				"evcap-sync.timer' changes it)\n");
	struct store *s = cli_store(cli, CLI_WRITE);
	/* a case named is checked as every command checks one */
	if (o.case_number && cli_case(cli, o.case_number, 1) < 0)
		return EXIT_USAGE;
	int64_t no_case_items, no_case_readings;
	warn_unassigned(s, &no_case_items, &no_case_readings);
	int rc = sync_run(s, &o, &rep, err, sizeof err);
	if (rc && !rep.cases_failed) {
		if (rep.retries)
			fprintf(stderr, "evcap sync: %u request%s retried before this\n",
				rep.retries, rep.retries == 1 ? " was" : "s were");
		cli_warn("evcap sync: %s", err);
		return syncopt_exit_code(rc);
	}
	/* some cases failed and the others went on: what was done, then which
	 * failed */
	if (cli->json) {
		json_t *failed = json_array();
		for (int i = 0; i < rep.cases_failed; i++)
			json_array_append_new(failed, json_string(rep.failed[i]));
		json_t *j = json_object();
		json_object_set_new(j, "target", json_string(o.target_url));
		json_object_set_new(j, "target_info", json_string(rep.target_info));
		json_object_set_new(j, "cases", json_integer(rep.cases));
		json_object_set_new(j, "bundles", json_integer(rep.bundles));
		json_object_set_new(j, "items", json_integer(rep.items));
		json_object_set_new(j, "blobs_sent", json_integer(rep.blobs_sent));
		json_object_set_new(j, "blobs_present", json_integer(rep.blobs_present));
		json_object_set_new(j, "bytes_sent", json_integer((json_int_t)rep.bytes_sent));
		json_object_set_new(j, "retries", json_integer(rep.retries));
		json_object_set_new(j, "items_in_no_case", json_integer(no_case_items));
		json_object_set_new(j, "readings_in_no_case", json_integer(no_case_readings));
		json_object_set_new(j, "cases_failed", failed);
		cli_print_json(j);
	} else if (cli->verbosity >= 0) {
		if (rep.target_info[0]) {
			char *shown = cli_shown(o.target_url);
			printf("target %s: %s\n", shown, rep.target_info);
			free(shown);
		}
		if (rep.bundles)
			printf("%d bundle%s committed: %d item%s (%d blob%s sent, %llu byte%s; %d "
			       "already on the target)\n",
			       rep.bundles, rep.bundles == 1 ? "" : "s", rep.items,
			       rep.items == 1 ? "" : "s", rep.blobs_sent, rep.blobs_sent == 1 ? "" : "s",
			       (unsigned long long)rep.bytes_sent, rep.bytes_sent == 1 ? "" : "s",
			       rep.blobs_present);
		else if (rep.cases_failed)
			printf("no bundle committed (%d case%s looked at)\n", rep.cases,
			       rep.cases == 1 ? "" : "s");
		else
			printf("nothing new to sync (%d case%s looked at)\n", rep.cases,
			       rep.cases == 1 ? "" : "s");
		/* a flaky link should be visible, not only survived */
		if (rep.retries)
			printf("%u request%s retried after a cut, a stall or a server error\n",
			       rep.retries, rep.retries == 1 ? "" : "s");
	}
	if (rc)
		cli_warn("evcap sync: %s", err);
	sync_report_free(&rep);
	return rc ? syncopt_exit_code(rc) : EXIT_OK;
}
