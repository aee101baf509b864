/*
 * evcap pull (office): fetches a case's committed bundles from a target,
 * verifies each completely (signature, every SHA-256, the custody chain)
 * and imports it, or refuses it whole and says why. Exit 1 when any bundle
 * was refused, or was found missing from the target.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pull.h"
#include "syncopt.h"

static const char pull_help[] =
	"options:\n"
	"  --target URL       dir:/path or s3://bucket/prefix (else [sync] target)\n"
	"  --case CASE        the case number, as the field device wrote it\n"
	"  --trust-new        trust a device key seen for the first time (recorded in the\n"
	"                     custody log); without it such bundles are refused\n"
	"  --endpoint URL, --region R, --bandwidth RATE   as for evcap sync\n"
	"  --no-progress      no progress display even on a terminal\n";

struct pull_print {
	struct cli *cli;
	json_t *arr;
	json_t *not_read;
	json_t *missing;
};

/* A bundle missing from the target: evidence that has not reached the
 * office, said whatever the verbosity, and the pull exits 1. */
static void missing(void *ctx, const char *bundle_id, const char *named_by, const char *device_id,
		    const char *msg)
{
	struct pull_print *pp = ctx;
	if (pp->missing) {
		json_t *o = json_object();
		json_object_set_new(o, "bundle_id", json_string(bundle_id));
		json_object_set_new(o, "named_by", json_string(named_by));
		json_object_set_new(o, "device_id", json_string(device_id));
		json_object_set_new(o, "reason", json_string(msg));
		json_array_append_new(pp->missing, o);
	}
	cli_warn("evcap pull: %s", msg);
}

/* Something on the target under the case that is not read: a warning,
 * whatever the verbosity, not a failure. */
static void not_read(void *ctx, const char *entry, const char *what, const char *msg)
{
	struct pull_print *pp = ctx;
	if (pp->not_read) {
		json_t *o = json_object();
		json_object_set_new(o, "entry", json_string(entry));
		json_object_set_new(o, "what", json_string(what));
		json_object_set_new(o, "reason", json_string(msg));
		json_array_append_new(pp->not_read, o);
	}
	cli_warn("evcap pull: warning: %s", msg);
}

static void report(void *ctx, const char *bundle_id, enum pull_outcome how, const char *msg)
{
	struct pull_print *pp = ctx;
	if (pp->arr) {
		json_t *o = json_object();
		json_object_set_new(o, "bundle_id", json_string(bundle_id));
		json_object_set_new(o, "imported", json_boolean(how == PULL_IMPORTED));
		json_object_set_new(o, "refused", json_boolean(how == PULL_REFUSED));
		json_object_set_new(o, how != PULL_IMPORTED ? "reason" : "summary",
				    json_string(msg));
		json_array_append_new(pp->arr, o);
	}
	if (how == PULL_REFUSED)
		cli_warn("evcap pull: bundle %s refused: %s", bundle_id, msg);
	else if (how == PULL_NOT_IMPORTED)
		cli_warn("evcap pull: bundle %s not imported: %s", bundle_id, msg);
	else if (!pp->arr && pp->cli->verbosity >= 0)
		printf("bundle %s: %s\n", bundle_id, msg);
}

int cmd_pull(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},  {"case", required_argument, NULL, 'c'},
		{"trust-new", no_argument, NULL, 'T'},     {"endpoint", required_argument, NULL, 'e'},
		{"region", required_argument, NULL, 'r'},  {"bandwidth", required_argument, NULL, 'b'},
		{"no-progress", no_argument, NULL, 'P'},   {"help", no_argument, NULL, 'h'},
		{0}};
	struct pull_opts o = {0};
	struct pull_report rep;
	struct pull_print pp = {cli, NULL, NULL, NULL};
	char err[1024];
	int c, no_progress = 0;
	const char *endpoint = NULL, *region = NULL, *bw = NULL;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': o.target_url = optarg; break;
		case 'c': o.case_number = optarg; break;
		case 'T': o.trust_new = 1; break;
		case 'e': endpoint = optarg; break;
		case 'r': region = optarg; break;
		case 'b': bw = optarg; break;
		case 'P': no_progress = 1; break;
		case 'h': cli_print_help(cli, pull_help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "takes no arguments");
	if (!o.target_url)
		o.target_url = cli->cfg->sync_target;
	if (!o.case_number)
		return cli_usage_error(cli, "give the case to pull with --case CASE");
	/* no evcap opens such a case, and every message names it */
	if (cli_check_text(cli, "a case number", o.case_number, 0))
		return EXIT_USAGE;
	if (syncopt_fill(cli->cfg, endpoint, region, NULL, bw, &o.topts, err, sizeof err))
		return cli_usage_error(cli, "%s", err);
	o.topts.progress = !no_progress && isatty(2) && cli->verbosity >= 0;
	o.actor = cli->actor;
	o.report = report;
	o.not_read = not_read;
	o.missing = missing;
	o.report_ctx = &pp;
	if (cli->json) {
		pp.arr = json_array();
		pp.not_read = json_array();
		pp.missing = json_array();
	}

	struct store *s = cli_store(cli, CLI_WRITE);
	int rc = pull_run(s, &o, &rep, err, sizeof err);
	if (pp.arr) {
		json_t *j = json_object();
		json_object_set_new(j, "case", json_string(o.case_number));
		json_object_set_new(j, "bundles_seen", json_integer(rep.bundles_seen));
		json_object_set_new(j, "imported", json_integer(rep.imported));
		json_object_set_new(j, "already", json_integer(rep.already));
		json_object_set_new(j, "refused", json_integer(rep.refused));
		json_object_set_new(j, "not_imported", json_integer(rep.not_imported));
		json_object_set_new(j, "not_committed", json_integer(rep.not_committed));
		json_object_set_new(j, "items", json_integer(rep.items));
		json_object_set_new(j, "items_updated", json_integer(rep.items_updated));
		json_object_set_new(j, "readings_updated", json_integer(rep.readings_updated));
		json_object_set_new(j, "bundles", pp.arr);
		json_object_set_new(j, "not_read", pp.not_read);
		json_object_set_new(j, "missing", pp.missing);
		if (rep.renamed[0])
			json_object_set_new(j, "renamed", json_string(rep.renamed));
		cli_print_json(j);
	}
	/* a bundle still being written, or one whose sync died before
	 * COMMITTED: not pulled, and not to be mistaken for no bundle */
	if (rep.not_committed && cli->verbosity >= 0)
		fprintf(stderr,
			"evcap pull: %d bundle%s of case %s on the target not committed (an "
			"interrupted sync?) left alone\n",
			rep.not_committed, rep.not_committed == 1 ? "" : "s", o.case_number);
	if (rc == EV_ECORRUPT && rep.refused) {
		cli_warn("evcap pull: %s; nothing of a refused bundle was imported", err);
		return EXIT_PROBLEM;
	}
	if (rc) {
		cli_warn("evcap pull: %s", err);
		return syncopt_exit_code(rc);
	}
	/* Two devices that wrote one case's number in different widths
	 * (２０２４ typed with a Chinese input method, 2024) make two cases
	 * here, each as its bundles recorded it: said, so the clerk can tell
	 * the field, never merged. */
	char *like = NULL;
	int n_like = store_case_like(s, o.case_number, &like);
	int64_t here = store_case_id(s, o.case_number);
	if (here > 0 && n_like > 0 && cli->verbosity >= 0)
		fprintf(stderr,
			"evcap pull: case %s differs from %s '%s' in this store only in "
			"full-width and half-width characters; evcap keeps them as separate "
			"cases, each as its device recorded it\n",
			o.case_number, n_like == 1 ? "case" : "cases such as", like);
	char updated[64] = "", rd_updated[64] = "";
	if (rep.items_updated)
		snprintf(updated, sizeof updated, "; %d held item%s updated", rep.items_updated,
			 rep.items_updated == 1 ? "" : "s");
	if (rep.readings_updated)
		snprintf(rd_updated, sizeof rd_updated, "; %d held reading%s updated",
			 rep.readings_updated, rep.readings_updated == 1 ? "" : "s");
	if (!cli->json && cli->verbosity >= 0)
		printf("case %s: %d bundle%s imported (%d item%s%s%s), %d imported before, %d on "
		       "the target%s\n",
		       o.case_number, rep.imported, rep.imported == 1 ? "" : "s", rep.items,
		       rep.items == 1 ? "" : "s", updated, rd_updated, rep.already, rep.bundles_seen,
		       rep.not_read ? "; some entries there were not read (named above)" : "");
	/* Nothing of the case at all: the clerk expected evidence, and a
	 * script must be able to tell (a number written differently, or the
	 * wrong disk), so that is a problem found. */
	if (rep.bundles_seen == 0 && rep.not_committed == 0) {
		char hint[CLI_CASE_HINT];
		cli_case_hint(hint, sizeof hint, here > 0 ? 0 : n_like, like);
		char key[64];
		store_case_key(o.case_number, key);
		if (rep.renamed[0])
			fprintf(stderr,
				"evcap pull: the target holds no bundle of case %s in "
				"cases/%s/bundles/, where evcap keeps them, but it has '%s', which "
				"looks like that folder renamed or copied; give it its name back "
				"and pull again\n",
				o.case_number, key, rep.renamed);
		else
			fprintf(stderr,
				"evcap pull: the target holds no bundle of case %s (nothing synced "
				"yet, or the case number is written differently)%s\n",
				o.case_number, hint);
		free(like);
		return EXIT_PROBLEM;
	}
	free(like);
	return rep.missing ? EXIT_PROBLEM : EXIT_OK;
}
