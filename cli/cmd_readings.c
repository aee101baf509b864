/*
 * evcap readings: the water-quality readings of a case (or of the whole
 * store), with each reading's GB 3838-2002 class, its sample's class (the
 * worst of the sample), its place and the line it came from, as a table
 * or as the JSON array scripts and the office use.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gb3838.h"
#include "sensor.h"

static const char readings_help[] =
	"Lists readings in time order. With --json, an array of objects with: id, time,\n"
	"parameter, parameter_name, parameter_name_zh, value, unit, sample_id, class,\n"
	"sample_class, screening, lat, lon, location_source, location_error_m, raw,\n"
	"raw_sha256, source, line_no, case, site, instrument, operators, error, created_at,\n"
	"origin. A reading with an error has no value and no class.\n\n"
	"options:\n"
	"  --case CASE   only this case's readings\n"
	"  --errors      only the lines that could not be read\n";

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT: {
		json_t *v = json_string((const char *)sqlite3_column_text(st, i));
		return v ? v : json_null();
	}
	default: return json_null();
	}
}

/* The key of the sample a reading belongs to: its source and sample id,
 * or, without a sample id, its source and time. */
static char *sample_key(json_t *o)
{
	const char *src = json_string_value(json_object_get(o, "source"));
	const char *sid = json_string_value(json_object_get(o, "sample_id"));
	const char *t = json_string_value(json_object_get(o, "time"));
	return xasprintf("%s|%s|%s", src ? src : "", sid ? "s" : "t", sid ? sid : t ? t : "");
}

int cmd_readings(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"errors", no_argument, NULL, 'e'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	static const char *const names[] = {
		"id", "time", "parameter", "value", "unit", "sample_id", "class", "lat", "lon",
		"location_source", "location_error_m", "raw", "raw_sha256", "source", "line_no",
		"case", "site", "instrument", "operators", "error", "created_at", "origin"};
	const char *case_name = NULL;
	int c, only_errors = 0, rc = EXIT_PROBLEM;
	json_t *arr = json_array(), *worst = json_object();
	sqlite3_stmt *st = NULL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'c')
			case_name = optarg;
		else if (c == 'e')
			only_errors = 1;
		else if (c == 'h') {
			cli_print_help(cli, readings_help);
			rc = EXIT_OK;
			goto out;
		} else {
			rc = cli_bad_option(cli, argc, argv);
			goto out;
		}
	}
	if (optind != argc) {
		rc = cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	struct store *s = cli_store(cli, CLI_READ);
	int64_t case_id = 0;
	if (case_name && (case_id = cli_case(cli, case_name, 1)) <= 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	char err[512];
	st = store_prepare(
		s,
		"SELECT r.id, r.time, r.parameter, r.value, r.unit, r.sample_id, r.class, r.lat,"
		" r.lon, r.location_source, r.location_error_m, r.raw, r.raw_sha256, r.source,"
		" r.line_no, c.number, si.name, r.instrument, r.operators, r.error, r.created_at,"
		" r.origin FROM readings r LEFT JOIN cases c ON c.id = r.case_id"
		" LEFT JOIN sites si ON si.id = r.site_id"
		" WHERE (?1 = 0 OR r.case_id = ?1) AND (?2 = 0 OR r.error IS NOT NULL)"
		" ORDER BY r.t IS NULL, r.t, r.source, r.line_no, r.id",
		err, sizeof err);
	if (!st) {
		cli_warn("evcap readings: %s", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_int(st, 2, only_errors);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < (int)ARRAY_LEN(names); i++) {
			json_t *v = col_json(st, i);
			/* JSON held as text comes out as JSON */
			if ((strcmp(names[i], "instrument") == 0 || strcmp(names[i], "operators") == 0) &&
			    json_is_string(v)) {
				json_t *p = json_loads(json_string_value(v), 0, NULL);
				if (p) {
					json_decref(v);
					v = p;
				}
			}
			json_object_set_new(o, names[i], v);
			if (strcmp(names[i], "parameter") == 0) {
				const struct sensor_param *p = sensor_param_by_id(json_string_value(v));
				json_object_set_new(o, "parameter_name",
						    p ? json_string(p->name_en) : json_null());
				json_object_set_new(o, "parameter_name_zh",
						    p ? json_string(p->name_zh) : json_null());
			}
		}
		const char *cls = json_string_value(json_object_get(o, "class"));
		json_object_set_new(o, "screening",
				    cls ? json_string(GB3838_SCREENING_LABEL) : json_null());
		if (cls) {
			char *k = sample_key(o);
			enum gb3838_class have[2] = {
				gb3838_class_parse(json_string_value(json_object_get(worst, k))),
				gb3838_class_parse(cls)};
			json_object_set_new(worst, k, json_string(gb3838_class_name(gb3838_worst(have, 2))));
			free(k);
		}
		json_array_append_new(arr, o);
	}
	if (r != SQLITE_DONE) {
		fprintf(stderr, "evcap readings: %s\n", sqlite3_errmsg(store_db(s)));
		goto out;
	}
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		char *k = sample_key(o);
		json_t *w = json_object_get(worst, k);
		json_object_set_new(o, "sample_class", w ? json_incref(w) : json_null());
		free(k);
	}
	rc = EXIT_OK;
	if (cli->json) {
		cli_print_json(arr);
		arr = NULL;
		goto out;
	}
	if (json_array_size(arr) == 0 && cli->verbosity >= 0)
		printf("no readings%s ('evcap sensor import FILE' records some)\n",
		       case_name ? " in this case" : "");
	json_array_foreach(arr, i, o) {
		const char *t = json_string_value(json_object_get(o, "time"));
		const char *p = json_string_value(json_object_get(o, "parameter"));
		const char *u = json_string_value(json_object_get(o, "unit"));
		const char *cl = json_string_value(json_object_get(o, "class"));
		const char *e = json_string_value(json_object_get(o, "error"));
		const char *ls = json_string_value(json_object_get(o, "location_source"));
		json_t *v = json_object_get(o, "value");
		char val[80] = "-", num[NUM_TEXT_MAX];
		if (json_is_number(v)) {
			num_text(json_number_value(v), num);
			snprintf(val, sizeof val, "%s %s", num, u ? u : "");
		}
		/* text from a sensor file (a parameter's name, a unit, the
		 * problem quoting the line) as a terminal may show it */
		char *ps = cli_shown(p ? p : "?"), *es = cli_shown(e), *vs = cli_shown(val);
		if (e)
			printf("%-24s  %-8s  %s\n", t ? t : "-", ps, es);
		else if (ls)
			printf("%-24s  %-8s  %-16s  %-4s  %s %.6f,%.6f\n", t ? t : "-", ps, vs,
			       cl ? cl : "-", ls, json_real_value(json_object_get(o, "lat")),
			       json_real_value(json_object_get(o, "lon")));
		else
			printf("%-24s  %-8s  %-16s  %-4s  -\n", t ? t : "-", ps, vs, cl ? cl : "-");
		free(ps);
		free(es);
		free(vs);
	}
	if (json_array_size(arr) && cli->verbosity >= 0)
		printf("classes are %s\n", GB3838_SCREENING_LABEL);
out:
	sqlite3_finalize(st);
	json_decref(arr);
	json_decref(worst);
	return rc;
}
