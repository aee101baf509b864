/*
 * evcap revisit: pairs each photo of a follow-up visit with the earlier
 * photo of the same spot, facing the same way, and lists the photos with
 * no counterpart. --html writes the side-by-side report that the export
 * command also makes (`evcap export --format html --revisit`).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "../capture/revisit.h"
#include "../export/revisit.h"

static const char revisit_help[] =
	"Pairs each photo of the later visit with the photo of the earlier visit\n"
	"taken from the nearest point of the same site (no farther apart than the\n"
	"site's radius) and, where both carry a heading, facing within 45 degrees;\n"
	"the same altitude band is preferred for drone shots. Each earlier photo is\n"
	"used once. Photos with no counterpart are listed with the reason.\n"
	"'evcap visits' numbers the visits; docs/revisit.md explains the rules.\n\n"
	"options:\n"
	"  --case CASE        the case (else the case in use)\n"
	"  --before V         the earlier visit (default: the second-last)\n"
	"  --after V          the later visit (default: the last)\n"
	"  --gap-hours H      the gap that splits a visit (default 6)\n"
	"  --html OUT         also write the side-by-side HTML report to OUT\n"
	"  --force            replace OUT if it exists (else it is refused)\n"
	"  --lang zh|en       the report's language (default from the locale, else zh)\n"
	"  --json             print JSON: {before, after, pairs: [{site, after, before,\n"
	"                     distance_m, heading_diff_deg, ...}], unpaired: {after, before}}\n";

static int parse_visit(const char *s, int *v)
{
	char *end;
	long x = strtol(s, &end, 10);
	if (end == s || *end || x < 1 || x > 1000000)
		return -1;
	*v = (int)x;
	return 0;
}

static void print_text(json_t *j)
{
	json_t *b = json_object_get(j, "before"), *a = json_object_get(j, "after");
	json_t *pairs = json_object_get(j, "pairs"), *un = json_object_get(j, "unpaired");
	size_t i;
	json_t *p;
	printf("case %s: visit %lld (%s) -> visit %lld (%s)\n",
	       json_string_value(json_object_get(j, "case")),
	       (long long)json_integer_value(json_object_get(b, "visit")),
	       json_string_value(json_object_get(b, "start_local")),
	       (long long)json_integer_value(json_object_get(a, "visit")),
	       json_string_value(json_object_get(a, "start_local")));
	printf("%zu pair%s\n", json_array_size(pairs), json_array_size(pairs) == 1 ? "" : "s");
	json_array_foreach(pairs, i, p) {
		json_t *h = json_object_get(p, "heading_diff_deg");
		printf("  %-12s %s <- %s  %.1f m", json_string_value(json_object_get(p, "site")),
		       json_string_value(json_object_get(p, "after_name")),
		       json_string_value(json_object_get(p, "before_name")),
		       json_number_value(json_object_get(p, "distance_m")));
		if (json_is_number(h))
			printf(", %.0f deg apart", json_number_value(h));
		printf("\n");
	}
	json_array_foreach(json_object_get(un, "after"), i, p) {
		const char *site = json_string_value(json_object_get(p, "site"));
		printf("  unpaired later photo %s (%s): %s\n",
		       json_string_value(json_object_get(p, "name")), site ? site : "no site",
		       json_string_value(json_object_get(p, "reason")));
	}
	json_array_foreach(json_object_get(un, "before"), i, p) {
		const char *site = json_string_value(json_object_get(p, "site"));
		printf("  earlier photo with no later counterpart %s (%s)\n",
		       json_string_value(json_object_get(p, "name")), site ? site : "no site");
	}
}

/* The report written by --html, as an export custody event. */
static int record_report(struct cli *cli, struct store *s, int64_t case_id,
			 const struct revisit_report *r, const char *path, const struct buf *b,
			 const struct revisit_opts *o)
{
	char hex[SHA256_HEX_LEN + 1], *number = NULL;
	size_t photos, unlocated;
	sqlite3_stmt *st = store_prepare(s, "SELECT number FROM cases WHERE id = ?", NULL, 0);
	if (st) {
		sqlite3_bind_int64(st, 1, case_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			number = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sha256_hex(b->data, b->len, hex);
	revisit_report_photo_counts(r, &photos, &unlocated);
	json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "format", "html-revisit", "out",
			      fs_basename(path), "sha256", hex, "size", (json_int_t)b->len, "items",
			      (json_int_t)photos, "items_without_location", (json_int_t)unlocated);
	if (o->before)
		json_object_set_new(d, "before", json_integer(o->before));
	if (o->after)
		json_object_set_new(d, "after", json_integer(o->after));
	int rc = cli_record_export(cli, s, number, NULL, d, path);
	json_decref(d);
	free(number);
	return rc;
}

int cmd_revisit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"before", required_argument, NULL, 'b'},
					     {"after", required_argument, NULL, 'a'},
					     {"gap-hours", required_argument, NULL, 'g'},
					     {"html", required_argument, NULL, 'o'},
					     {"lang", required_argument, NULL, 'l'},
					     {"force", no_argument, NULL, 'X'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *case_name = NULL, *html = NULL, *lang = NULL;
	int force = 0;
	struct revisit_opts o = {.pair = 1};
	struct revisit_report *r = NULL;
	struct buf b;
	char err[1024];
	int c, rc = EXIT_PROBLEM;
	buf_init(&b, (size_t)512 << 20);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': case_name = optarg; break;
		case 'b':
		case 'a':
			if (parse_visit(optarg, c == 'b' ? &o.before : &o.after)) {
				rc = cli_usage_error(cli, "--%s must be a visit number (1, 2, ...), not '%s'",
						     c == 'b' ? "before" : "after", optarg);
				goto out;
			}
			break;
		case 'g':
			if (revisit_parse_gap(optarg, &o.gap_h)) {
				rc = cli_usage_error(cli, "--gap-hours must be a number of hours above 0 "
							  "and at most 720, not '%s'", optarg);
				goto out;
			}
			break;
		case 'o': html = optarg; break;
		case 'X': force = 1; break;
		case 'l':
			if (strcmp(optarg, "zh") && strcmp(optarg, "en")) {
				rc = cli_usage_error(cli, "--lang must be zh or en");
				goto out;
			}
			lang = optarg;
			break;
		case 'h': cli_print_help(cli, revisit_help); rc = EXIT_OK; goto out;
		default: rc = cli_bad_option(cli, argc, argv); goto out;
		}
	}
	if (optind != argc) {
		rc = cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((o.before == 0) != (o.after == 0)) {
		rc = cli_usage_error(cli, "give both --before and --after, or neither (the last two visits)");
		goto out;
	}
	/* a report is recorded as an export; a listing is not */
	struct store *s = cli_store(cli, html ? CLI_READ_RECORD : CLI_READ);
	int64_t case_id = cli_case(cli, case_name, 1);
	if (case_id <= 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (html && cli_inside_store(s, html)) {
		rc = cli_usage_error(cli, "%s is inside the evidence store; write reports elsewhere",
				     html);
		goto out;
	}
	if (html && cli_out_taken(cli, "--html", html, force)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (force && !html) {
		rc = cli_usage_error(cli, "--force goes with --html OUT");
		goto out;
	}
	int lr = revisit_report_load(s, case_id, &o, &r, err, sizeof err);
	if (lr) {
		/* visits named that the case does not have (or the same one twice)
		 * are a usage error; a case with fewer than two visits, when none
		 * is named, is a finding about the case: nothing to compare yet */
		cli_warn("evcap revisit: %s", err);
		rc = lr == EV_EINVAL && o.before ? EXIT_USAGE : EXIT_PROBLEM;
		goto out;
	}
	if (html) {
		if (revisit_report_html(r, s, lang, &b, err, sizeof err) ||
		    fs_write_atomic(html, b.data, b.len, 0644, 0, err, sizeof err)) {
			cli_warn("evcap revisit: %s", err);
			goto out;
		}
		/* the same record as `evcap export --format html --revisit` */
		if (record_report(cli, s, case_id, r, html, &b, &o)) {
			rc = EXIT_PROBLEM;
			goto out;
		}
	}
	json_t *j = revisit_report_pairs_json(r);
	if (cli->json) {
		cli_print_json(j);
	} else {
		print_text(j);
		json_decref(j);
		if (html)
			printf("report written to %s\n", html);
	}
	rc = EXIT_OK;
out:
	buf_free(&b);
	revisit_report_free(r);
	return rc;
}
