/*
 * evcap site: the places a case inspects. A site is a circle (centre and
 * radius, WGS-84); adding one assigns to it the case's located items and
 * readings that have no site yet, and both steps are custody events.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custody.h"
#include "sites.h"
#include "timeutil.h"

static const char site_help[] =
	"subcommands:\n"
	"  add CASE NAME --lat LAT --lon LON [--radius M] [--water-body river|lake]\n"
	"                     add a site: a circle around LAT,LON (WGS-84 degrees) of M\n"
	"                     metres (default 50); the case's located items and readings\n"
	"                     that have no site yet and lie in it are assigned to it\n"
	"                     (the nearest centre wins where circles overlap)\n"
	"  list [CASE]        the sites of CASE (else the case in use, else every case)\n"
	"  show CASE NAME     one site with its items and readings\n"
	"--json prints JSON.\n";

/* Parses a decimal number that must be all of the text. */
static int parse_num(const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return end == s || *end || errno || !isfinite(*v) ? -1 : 0;
}

static int valid_name(struct cli *cli, const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > SITES_NAME_MAX || !utf8_valid(n, len)) {
		cli_usage_error(cli, "a site name must be 1 to %d bytes of UTF-8 text", SITES_NAME_MAX);
		return 0;
	}
	return !cli_check_text(cli, "a site name", n, 0);
}

static int site_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"lat", required_argument, NULL, 'a'},
					     {"lon", required_argument, NULL, 'o'},
					     {"radius", required_argument, NULL, 'r'},
					     {"water-body", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	double lat = NAN, lon = NAN, radius = SITES_DEFAULT_RADIUS_M;
	const char *water = NULL;
	char err[1024], now[32];
	int c, rc = EXIT_PROBLEM, assigned = 0;
	json_t *detail = NULL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (parse_num(optarg, &lat))
				return cli_usage_error(cli, "--lat must be a number of degrees, not '%s'",
						       optarg);
			break;
		case 'o':
			if (parse_num(optarg, &lon))
				return cli_usage_error(cli, "--lon must be a number of degrees, not '%s'",
						       optarg);
			break;
		case 'r':
			if (parse_num(optarg, &radius))
				return cli_usage_error(cli, "--radius must be a number of metres, not '%s'",
						       optarg);
			break;
		case 'w':
			if (strcmp(optarg, "river") && strcmp(optarg, "lake"))
				return cli_usage_error(cli, "--water-body must be 'river' or 'lake'");
			water = optarg;
			break;
		case 'h':
			cli_print_help(cli, site_help);
			return EXIT_OK;
		default:
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error(cli, "add takes a case number and a site name");
	const char *number = argv[optind], *name = argv[optind + 1];
	if (!valid_name(cli, name))
		return EXIT_USAGE;
	if (!isfinite(lat) || !isfinite(lon))
		return cli_usage_error(cli, "site '%s' needs --lat and --lon", name);
	if (sites_check(lat, lon, radius, err, sizeof err))
		return cli_usage_error(cli, "site '%s': %s", name, err);
	struct store *s = cli_store(cli, CLI_WRITE);
	int64_t case_id = cli_case(cli, number, 1);
	if (case_id <= 0)
		return EXIT_USAGE;
	time_format_iso(time_now(), now);
	if (store_begin(s, err, sizeof err))
		goto fail;
	sqlite3_stmt *st = store_prepare(s,
					 "INSERT INTO sites(case_id, name, lat, lon, radius_m, water_body,"
					 " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
					 err, sizeof err);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, lat);
	sqlite3_bind_double(st, 4, lon);
	sqlite3_bind_double(st, 5, radius);
	if (water)
		sqlite3_bind_text(st, 6, water, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if ((r & 0xff) == SQLITE_CONSTRAINT) {
		store_rollback(s);
		fprintf(stderr, "evcap site add: case %s already has a site '%s'\n", number, name);
		return EXIT_USAGE;
	}
	if (r != SQLITE_DONE) {
		snprintf(err, sizeof err, "cannot add site '%s': %s", name,
			 sqlite3_errmsg(store_db(s)));
		goto fail;
	}
	detail = json_object();
	json_object_set_new(detail, "site", json_string(name));
	json_object_set_new(detail, "lat", json_real(lat));
	json_object_set_new(detail, "lon", json_real(lon));
	json_object_set_new(detail, "radius_m", json_real(radius));
	json_object_set_new(detail, "water_body", water ? json_string(water) : json_null());
	if (custody_append(s, time_now(), cli->actor, "site add", number, NULL, detail, NULL, err,
			   sizeof err) ||
	    sites_assign(s, case_id, cli->actor, &assigned, err, sizeof err) ||
	    store_commit(s, err, sizeof err))
		goto fail;
	if (cli->json) {
		json_t *o = json_object();
		json_object_set_new(o, "case", json_string(number));
		json_object_set_new(o, "site", json_string(name));
		json_object_set_new(o, "assigned", json_integer(assigned));
		cli_print_json(o);
	} else {
		printf("added site %s to case %s (%.6f, %.6f, radius %g m); %d located item%s or "
		       "reading%s without a site now belong%s to it\n",
		       name, number, lat, lon, radius, assigned, assigned == 1 ? "" : "s",
		       assigned == 1 ? "" : "s", assigned == 1 ? "s" : "");
	}
	rc = EXIT_OK;
	goto out;
fail:
	store_rollback(s);
	cli_warn("evcap site add: %s", err);
out:
	json_decref(detail);
	return rc;
}

static const char site_cols[] =
	"c.number, s.name, s.lat, s.lon, s.radius_m, s.water_body, s.created_at,"
	" (SELECT count(*) FROM items i WHERE i.site_id = s.id),"
	" (SELECT count(*) FROM readings d WHERE d.site_id = s.id), s.id";

static json_t *site_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	const unsigned char *w = sqlite3_column_text(st, 5);
	json_object_set_new(o, "case", json_string((const char *)sqlite3_column_text(st, 0)));
	json_object_set_new(o, "name", json_string((const char *)sqlite3_column_text(st, 1)));
	json_object_set_new(o, "lat", json_real(sqlite3_column_double(st, 2)));
	json_object_set_new(o, "lon", json_real(sqlite3_column_double(st, 3)));
	json_object_set_new(o, "radius_m", json_real(sqlite3_column_double(st, 4)));
	json_object_set_new(o, "water_body", w ? json_string((const char *)w) : json_null());
	json_object_set_new(o, "created_at", json_string((const char *)sqlite3_column_text(st, 6)));
	json_object_set_new(o, "items", json_integer(sqlite3_column_int64(st, 7)));
	json_object_set_new(o, "readings", json_integer(sqlite3_column_int64(st, 8)));
	return o;
}

static void site_print(const json_t *o, int with_case)
{
	const char *w = json_string_value(json_object_get(o, "water_body"));
	char *name = cli_shown(json_string_value(json_object_get(o, "name")));
	if (with_case) {
		char *c = cli_shown(json_string_value(json_object_get(o, "case")));
		printf("%s  ", c);
		free(c);
	}
	long long items = json_integer_value(json_object_get(o, "items"));
	long long readings = json_integer_value(json_object_get(o, "readings"));
	printf("%s  %.6f, %.6f  radius %g m%s%s  [%lld item%s, %lld reading%s]\n", name,
	       json_real_value(json_object_get(o, "lat")), json_real_value(json_object_get(o, "lon")),
	       json_real_value(json_object_get(o, "radius_m")), w ? "  " : "", w ? w : "", items,
	       items == 1 ? "" : "s", readings, readings == 1 ? "" : "s");
	free(name);
}

static int site_list(struct cli *cli, const char *number)
{
	struct store *s = cli_store(cli, CLI_READ);
	int64_t case_id = 0;
	char sql[768];
	if (number) {
		if ((case_id = cli_case(cli, number, 1)) <= 0)
			return EXIT_USAGE;
	} else {
		case_id = cli_case(cli, NULL, 0);
		if (case_id < 0)
			return EXIT_USAGE;
	}
	snprintf(sql, sizeof sql,
		 "SELECT %s FROM sites s JOIN cases c ON c.id = s.case_id"
		 " WHERE (?1 = 0 OR s.case_id = ?1) ORDER BY c.id, s.id",
		 site_cols);
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (!st)
		return EXIT_PROBLEM;
	sqlite3_bind_int64(st, 1, case_id);
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, site_json(st));
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		fprintf(stderr, "evcap site list: cannot read the sites: %s\n",
			sqlite3_errmsg(store_db(s)));
		json_decref(arr);
		return EXIT_PROBLEM;
	}
	if (cli->json) {
		cli_print_json(arr);
		return EXIT_OK;
	}
	if (json_array_size(arr) == 0)
		printf("no sites yet ('evcap site add CASE NAME --lat LAT --lon LON' adds one)\n");
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
		site_print(o, case_id == 0);
	json_decref(arr);
	return EXIT_OK;
}

/* The items and readings of a site, added to its JSON object; 0, or -1
 * when the store could not be read (said on stderr). */
static int site_members(struct store *s, int64_t site_id, json_t *o)
{
	json_t *items = json_array(), *readings = json_array();
	int r = SQLITE_ERROR, r2 = SQLITE_ERROR;
	sqlite3_stmt *st = store_prepare(s,
					 "SELECT sha256, original_name, kind, captured_at, lat, lon"
					 " FROM items WHERE site_id = ? ORDER BY captured_at, id",
					 NULL, 0);
	if (st) {
		sqlite3_bind_int64(st, 1, site_id);
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			json_t *x = json_object();
			const unsigned char *ca = sqlite3_column_text(st, 3);
			json_object_set_new(x, "sha256", json_string((const char *)sqlite3_column_text(st, 0)));
			json_object_set_new(x, "original_name",
					    json_string((const char *)sqlite3_column_text(st, 1)));
			json_object_set_new(x, "kind", json_string((const char *)sqlite3_column_text(st, 2)));
			json_object_set_new(x, "captured_at", ca ? json_string((const char *)ca) : json_null());
			json_object_set_new(x, "lat", json_real(sqlite3_column_double(st, 4)));
			json_object_set_new(x, "lon", json_real(sqlite3_column_double(st, 5)));
			json_array_append_new(items, x);
		}
		if (r != SQLITE_DONE)
			fprintf(stderr, "evcap site show: reading the site's items: %s\n",
				sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
	}
	st = store_prepare(s,
			   "SELECT time, parameter, value, unit, class FROM readings WHERE site_id = ?"
			   " ORDER BY t, id",
			   NULL, 0);
	if (st) {
		sqlite3_bind_int64(st, 1, site_id);
		while ((r2 = sqlite3_step(st)) == SQLITE_ROW) {
			json_t *x = json_object();
			static const char *names[] = {"time", "parameter", "value", "unit", "class"};
			for (int k = 0; k < 5; k++) {
				json_t *v;
				switch (sqlite3_column_type(st, k)) {
				case SQLITE_NULL: v = json_null(); break;
				case SQLITE_INTEGER:
				case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, k)); break;
				default: v = json_string((const char *)sqlite3_column_text(st, k));
				}
				json_object_set_new(x, names[k], v);
			}
			json_array_append_new(readings, x);
		}
		if (r2 != SQLITE_DONE)
			fprintf(stderr, "evcap site show: reading the site's readings: %s\n",
				sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
	}
	json_object_set_new(o, "item_list", items);
	json_object_set_new(o, "reading_list", readings);
	return r == SQLITE_DONE && r2 == SQLITE_DONE ? 0 : -1;
}

static int site_show(struct cli *cli, const char *number, const char *name)
{
	struct store *s = cli_store(cli, CLI_READ);
	int64_t case_id = cli_case(cli, number, 1);
	if (case_id <= 0)
		return EXIT_USAGE;
	char sql[768];
	snprintf(sql, sizeof sql,
		 "SELECT %s FROM sites s JOIN cases c ON c.id = s.case_id"
		 " WHERE s.case_id = ? AND s.name = ?",
		 site_cols);
	sqlite3_stmt *st = store_prepare(s, sql, NULL, 0);
	if (!st)
		return EXIT_PROBLEM;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	json_t *o = NULL;
	int64_t site_id = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = site_json(st);
		site_id = sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	if (!o) {
		fprintf(stderr, "evcap site show: case %s has no site '%s' ('evcap site list %s' shows "
				"its sites)\n",
			number, name, number);
		return EXIT_USAGE;
	}
	if (site_members(s, site_id, o)) {
		json_decref(o);
		return EXIT_PROBLEM;
	}
	if (cli->json) {
		cli_print_json(o);
		return EXIT_OK;
	}
	site_print(o, 1);
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(o, "item_list"), i, x) {
		const char *ca = json_string_value(json_object_get(x, "captured_at"));
		char *shown = cli_shown(json_string_value(json_object_get(x, "original_name")));
		printf("  item %.12s  %s  %s\n", json_string_value(json_object_get(x, "sha256")),
		       ca ? ca : "(no time)", shown);
		free(shown);
	}
	json_array_foreach(json_object_get(o, "reading_list"), i, x) {
		const char *t = json_string_value(json_object_get(x, "time"));
		const char *p = json_string_value(json_object_get(x, "parameter"));
		const char *u = json_string_value(json_object_get(x, "unit"));
		const char *k = json_string_value(json_object_get(x, "class"));
		char num[NUM_TEXT_MAX];
		num_text(json_number_value(json_object_get(x, "value")), num);
		char *ps = cli_shown(p ? p : "?"), *us = cli_shown(u);
		printf("  reading %s  %s %s %s%s%s\n", t ? t : "(no time)", ps, num, us,
		       k ? "  class " : "", k ? k : "");
		free(ps);
		free(us);
	}
	json_decref(o);
	return EXIT_OK;
}

int cmd_site(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	static const char subs[] = "add, list or show";
	int rc = cli_subcommand(cli, argc, argv, site_help, subs);
	if (rc >= 0)
		return rc;
	const char *sub = argv[1];
	if (strcmp(sub, "add") == 0)
		return site_add(cli, argc - 1, argv + 1);
	int list = strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0;
	if (!list && strcmp(sub, "show") != 0)
		return cli_unknown_subcommand(cli, sub, subs);
	argc--;
	argv++;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option(cli, argc, argv);
		cli_print_help(cli, site_help);
		return EXIT_OK;
	}
	int n = argc - optind;
	if (list) {
		if (n > 1)
			return cli_usage_error(cli, "list takes at most a case number, not also '%s'",
					       argv[optind + 1]);
		return site_list(cli, n == 1 ? argv[optind] : NULL);
	}
	if (n != 2)
		return cli_usage_error(cli, "show takes a case number and a site name%s",
				       n > 2 ? " (quote a name that holds spaces)" : "");
	return site_show(cli, argv[optind], argv[optind + 1]);
}
