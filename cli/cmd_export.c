/*
 * evcap export: writes a case as GeoJSON, KML, GPX, CSV, the HTML evidence
 * report, or tagged JPEG working copies. Each output is placed atomically
 * and recorded in the custody log with its SHA-256; originals are only
 * ever read.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../export/revisit.h"
#include "custody.h"
#include "export.h"
#include "fsutil.h"
#include "hash.h"
#include "jpegwrite.h"
#include "timeutil.h"

/* The largest original read whole to make a working copy. */
#define EXPORT_JPEG_SRC_MAX ((size_t)512 << 20)

static const char export_help[] =
	"Writes the case's items (all, or one site's, or those taken between\n"
	"--from and --to) in one format:\n"
	"  geojson  RFC 7946 FeatureCollection: located items as points, the track as a line\n"
	"  kml      KML 2.2 for Google Earth and Ovital, thumbnails in the balloons\n"
	"  gpx      GPX 1.1: photo points as waypoints and the GPS track\n"
	"  csv      UTF-8 with BOM and CRLF for Excel: one row an item (every field of\n"
	"           'ls --json'), then one row a water reading\n"
	"  html     the evidence list and inspection record, one self-contained file for A4\n"
	"  jpeg     a working copy of every JPEG photo with GPS and the case number in its\n"
	"           EXIF, into the directory --out; the originals are never changed\n"
	"Items without a place are marked in csv and html and left out of geojson, kml\n"
	"and gpx. Coordinates are WGS-84; --datum gcj02 adds labelled GCJ-02 columns to\n"
	"csv and html for checking places on Amap. Every export is a custody event.\n\n"
	"options:\n"
	"  --case CASE        the case (default: the case in use)\n"
	"  --format FMT       geojson, kml, gpx, csv, html or jpeg\n"
	"  --out PATH         the file to write (a directory for jpeg)\n"
	"  --site NAME        only this site's items\n"
	"  --from ISO, --to ISO  only items captured in this span (e.g. 2023-05-01T00:00:00+08:00)\n"
	"  --lang zh|en       the report's language (default from LC_ALL/LANG; zh if unset)\n"
	"  --datum gcj02      add GCJ-02 columns (csv, html)\n"
	"  --revisit          with html: the follow-up report, each photo of the later visit\n"
	"                     beside the earlier one from the same spot, readings compared\n"
	"  --before V, --after V  the visits to compare (default: the last two)\n";

enum fmt { F_GEOJSON, F_KML, F_GPX, F_CSV, F_HTML, F_JPEG };
static const char *const fmt_names[] = {"geojson", "kml", "gpx", "csv", "html", "jpeg"};

struct export_args {
	const char *case_name, *out, *site, *lang;
	char from[32], to[32];
	int has_from, has_to;
	int fmt;
	int gcj02;
	int revisit;          /* --revisit: the before/after report */
	int before, after;    /* visit numbers, 0 = the last two */
	int64_t case_id;
};

static int parse_args(struct cli *cli, int argc, char **argv, struct export_args *a)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"format", required_argument, NULL, 'f'},
					     {"out", required_argument, NULL, 'o'},
					     {"site", required_argument, NULL, 's'},
					     {"from", required_argument, NULL, 'F'},
					     {"to", required_argument, NULL, 'T'},
					     {"lang", required_argument, NULL, 'l'},
					     {"datum", required_argument, NULL, 'd'},
					     {"revisit", no_argument, NULL, 'R'},
					     {"before", required_argument, NULL, 'B'},
					     {"after", required_argument, NULL, 'A'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int c;
	double t;
	a->fmt = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->case_name = optarg; break;
		case 'o': a->out = optarg; break;
		case 's': a->site = optarg; break;
		case 'l': a->lang = optarg; break;
		case 'R': a->revisit = 1; break;
		case 'B':
		case 'A': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 100000)
				return cli_usage_error(cli, "--%s takes a visit number (see 'evcap visits')",
						       c == 'B' ? "before" : "after");
			*(c == 'B' ? &a->before : &a->after) = (int)v;
			break;
		}
		case 'f':
			for (size_t i = 0; i < ARRAY_LEN(fmt_names); i++)
				if (strcmp(optarg, fmt_names[i]) == 0)
					a->fmt = (int)i;
			if (a->fmt < 0)
				return cli_usage_error(cli, "--format must be geojson, kml, gpx, csv, html "
							    "or jpeg, not '%s'", optarg);
			break;
		case 'd':
			if (strcmp(optarg, "gcj02") != 0 && strcmp(optarg, "wgs84") != 0)
				return cli_usage_error(cli, "--datum must be gcj02 (WGS-84 is always "
							    "written), not '%s'", optarg);
			a->gcj02 = strcmp(optarg, "gcj02") == 0;
			break;
		case 'F':
		case 'T':
			if (time_parse_iso(optarg, &t))
				return cli_usage_error(cli, "--%s must be an ISO 8601 time such as "
							    "2023-05-01T08:00:00+08:00, not '%s'",
						       c == 'F' ? "from" : "to", optarg);
			/* stored capture times are UTC "...Z": compare in that form */
			time_format_iso(t, c == 'F' ? a->from : a->to);
			*(c == 'F' ? &a->has_from : &a->has_to) = 1;
			break;
		case 'h':
			cli_print_help(cli, export_help);
			return -1;
		default:
			return cli_usage_error(cli, "unknown option (see 'evcap export --help')");
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (a->fmt < 0)
		return cli_usage_error(cli, "give --format geojson|kml|gpx|csv|html|jpeg");
	if (!a->out || !*a->out)
		return cli_usage_error(cli, "give --out PATH (a directory for --format jpeg)");
	if (a->lang && i18n_pick(a->lang) < 0)
		return cli_usage_error(cli, "--lang must be zh or en, not '%s'", a->lang);
	if ((a->revisit || a->before || a->after) && a->fmt != F_HTML)
		return cli_usage_error(cli, "--revisit (with --before/--after) goes with --format html");
	if (a->gcj02 && a->fmt != F_CSV && a->fmt != F_HTML)
		return cli_usage_error(cli, "--datum gcj02 applies to csv and html only: the "
					    "other formats are read by programs that expect WGS-84");
	return 0;
}

static int64_t find_site(struct cli *cli, struct store *s, int64_t case_id, const char *name)
{
	sqlite3_stmt *st =
		store_prepare(s, "SELECT id FROM sites WHERE case_id = ? AND name = ?", NULL, 0);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (id <= 0) {
		cli_usage_error(cli, "the case has no site '%s' ('evcap site list' shows them)", name);
		return -1;
	}
	return id;
}

/* 1 if dir (resolved) is the store directory or lies under it. */
static int under_store(struct store *s, const char *dir)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (!realpath(dir, a) || !realpath(store_dir(s), b))
		return 0;
	size_t n = strlen(b);
	return strncmp(a, b, n) == 0 && (a[n] == '/' || a[n] == '\0');
}

/* 1 if path (a file, or the directory of working copies) would land
 * inside the store: an export never writes among the evidence it
 * describes. */
static int inside_store(struct store *s, const char *path)
{
	char *dir = fs_dirname(path);
	int in = under_store(s, dir) || under_store(s, path);
	free(dir);
	return in;
}

/* Records one finished export; on failure the output is removed so that
 * no export exists without its custody event. */
static int record_export(struct cli *cli, struct store *s, const char *case_number,
			 const char *item_sha, json_t *detail, const char *remove_on_fail)
{
	char err[512];
	if (store_begin(s, err, sizeof err) == 0) {
		if (custody_append(s, time_now(), cli->actor, "export", case_number, item_sha, detail,
				   NULL, err, sizeof err) == 0 &&
		    store_commit(s, err, sizeof err) == 0)
			return 0;
		store_rollback(s);
	}
	fprintf(stderr, "evcap export: cannot record the export in the custody log: %s\n", err);
	if (remove_on_fail && unlink(remove_on_fail) == 0)
		fprintf(stderr, "evcap export: removed %s, which has no custody record\n",
			remove_on_fail);
	return EV_EDB;
}

/* A file name for a working copy: "item<ID>_" and the original name with
 * anything outside [A-Za-z0-9._-] replaced, so a name from a card can
 * never climb out of the output directory. */
static char *copy_name(const json_t *it)
{
	const char *orig = json_string_value(json_object_get(it, "original_name"));
	char safe[120];
	size_t k = 0;
	for (const char *p = orig ? orig : ""; *p && k < sizeof safe - 1; p++) {
		unsigned char ch = (unsigned char)*p;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		safe[k++] = ok ? (char)ch : '_';
	}
	safe[k] = '\0';
	if (k == 0 || safe[0] == '.')
		return xasprintf("item%lld_%s.jpg", (long long)json_integer_value(json_object_get(it, "id")),
				 k ? safe + 1 : "photo");
	return xasprintf("item%lld_%s", (long long)json_integer_value(json_object_get(it, "id")), safe);
}

/* Adds a derivatives row unless the same copy at the same path is there. */
static int add_derivative(struct store *s, int64_t item_id, const char *sha, const char *path,
			  char *err, size_t errlen)
{
	char now[32];
	time_format_iso(time_now(), now);
	sqlite3_stmt *st = store_prepare(
		s,
		"INSERT INTO derivatives(item_id, sha256, kind, path, created_at)"
		" SELECT ?1, ?2, 'tagged-jpeg', ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM derivatives"
		" WHERE item_id = ?1 AND sha256 = ?2 AND path = ?3)",
		err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_int64(st, 1, item_id);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return err_set(err, errlen, EV_EDB, "cannot record the working copy: %s",
			       sqlite3_errmsg(store_db(s)));
	return 0;
}

/* One working copy: read the original, tag it, place it, record it. */
static int jpeg_one(struct cli *cli, struct store *s, const struct export_ctx *ctx,
		    const char *outdir, const json_t *it, json_t *done, char *err, size_t errlen)
{
	const char *sha = json_string_value(json_object_get(it, "sha256"));
	const char *case_number = json_string_value(json_object_get(ctx->case_row, "number"));
	int64_t id = json_integer_value(json_object_get(it, "id"));
	char *blob = store_blob_path(s, sha), *name = copy_name(it), *path = NULL, *abs = NULL;
	struct buf src, dst;
	char hex[SHA256_HEX_LEN + 1];
	int rc;
	buf_init(&src, EXPORT_JPEG_SRC_MAX);
	buf_init(&dst, EXPORT_JPEG_SRC_MAX);
	if ((rc = fs_read_file(blob, EXPORT_JPEG_SRC_MAX, &src, err, errlen)))
		goto out;
	/* the blob must still be what was recorded: never tag a damaged original */
	sha256_hex(src.data, src.len, hex);
	if (strcmp(hex, sha) != 0) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "item %lld: the original no longer matches its SHA-256 (run 'evcap "
			     "verify'); no working copy made",
			     (long long)id);
		goto out;
	}
	struct jpeg_tags tags = {0};
	double utc;
	const char *t = json_string_value(json_object_get(it, "captured_at"));
	if (export_item_located(it)) {
		tags.has_pos = 1;
		tags.lat = json_number_value(json_object_get(it, "lat"));
		tags.lon = json_number_value(json_object_get(it, "lon"));
		if (json_is_number(json_object_get(it, "alt"))) {
			tags.has_alt = 1;
			tags.alt = json_number_value(json_object_get(it, "alt"));
		}
	}
	if (t && time_parse_iso(t, &utc) == 0) {
		tags.has_time = 1;
		tags.utc = utc;
	}
	tags.case_number = case_number;
	if ((rc = jpeg_tag_copy((const uint8_t *)src.data, src.len, &tags, &dst, err, errlen)))
		goto out;
	path = xasprintf("%s/%s", outdir, name);
	if ((rc = fs_write_atomic(path, dst.data, dst.len, 0644, 0, err, errlen)))
		goto out;
	sha256_hex(dst.data, dst.len, hex);
	abs = realpath(path, NULL);
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:I}", "format", "jpeg", "out", name,
			      "original_sha256", sha, "sha256", hex, "size", (json_int_t)dst.len);
	if ((rc = store_begin(s, err, errlen)) == 0) {
		if ((rc = add_derivative(s, id, hex, abs ? abs : path, err, errlen)) == 0 &&
		    (rc = custody_append(s, time_now(), cli->actor, "export", case_number, sha, d, NULL,
					 err, errlen)) == 0)
			rc = store_commit(s, err, errlen);
		if (rc)
			store_rollback(s);
	}
	json_decref(d);
	if (rc) {
		unlink(path);
		goto out;
	}
	json_array_append_new(done, json_pack("{s:I, s:s, s:s, s:s}", "item", (json_int_t)id,
					      "original_sha256", sha, "sha256", hex, "path",
					      abs ? abs : path));
out:
	buf_free(&src);
	buf_free(&dst);
	free(blob);
	free(name);
	free(path);
	free(abs);
	return rc;
}

static int export_jpeg(struct cli *cli, struct store *s, const struct export_ctx *ctx,
		       const char *outdir)
{
	char err[512];
	int failed = 0;
	json_t *done = json_array(), *skipped = json_array();
	struct stat st;
	if (fs_mkdir_p(outdir, 0755, err, sizeof err)) {
		fprintf(stderr, "evcap export: %s\n", err);
		json_decref(done);
		json_decref(skipped);
		return EXIT_PROBLEM;
	}
	if (stat(outdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "evcap export: %s is not a directory\n", outdir);
		json_decref(done);
		json_decref(skipped);
		return EXIT_USAGE;
	}
	size_t i;
	json_t *it;
	json_array_foreach(ctx->items, i, it) {
		const char *kind = json_string_value(json_object_get(it, "kind"));
		const char *fmt = json_string_value(json_object_get(it, "format"));
		const char *name = json_string_value(json_object_get(it, "original_name"));
		if (!kind || strcmp(kind, "photo") || !fmt || strcmp(fmt, "jpeg")) {
			json_array_append_new(skipped, json_pack("{s:I, s:s, s:s}", "item",
				json_integer_value(json_object_get(it, "id")), "name", name ? name : "",
				"reason", "not a JPEG photo"));
			continue;
		}
		if (jpeg_one(cli, s, ctx, outdir, it, done, err, sizeof err)) {
			fprintf(stderr, "evcap export: %s: %s\n", name ? name : "?", err);
			json_array_append_new(skipped, json_pack("{s:I, s:s, s:s}", "item",
				json_integer_value(json_object_get(it, "id")), "name", name ? name : "",
				"reason", err));
			failed++;
		}
	}
	if (cli->json) {
		cli_print_json(json_pack("{s:s, s:O, s:s, s:o, s:o}", "format", "jpeg", "case",
					 json_object_get(ctx->case_row, "number"), "out", outdir,
					 "copies", done, "skipped", skipped));
	} else {
		printf("wrote %zu working cop%s into %s", json_array_size(done),
		       json_array_size(done) == 1 ? "y" : "ies", outdir);
		if (json_array_size(skipped))
			printf("; %zu item%s without one (not JPEG photos or failed)",
			       json_array_size(skipped), json_array_size(skipped) == 1 ? "" : "s");
		printf("\n");
		json_decref(done);
		json_decref(skipped);
	}
	return failed ? EXIT_PROBLEM : EXIT_OK;
}

static int export_file(struct cli *cli, struct store *s, struct export_ctx *ctx,
		       const struct export_args *a)
{
	char err[512], hex[SHA256_HEX_LEN + 1];
	struct buf out;
	int rc = EXIT_PROBLEM, r = 0;
	size_t located = 0, i;
	json_t *it;
	buf_init(&out, EXPORT_OUT_MAX);
	json_array_foreach(ctx->items, i, it) {
		located += export_item_located(it) != 0;
	}
	if (a->fmt == F_HTML || a->fmt == F_KML) {
		export_ctx_thumbs(ctx, s, EXPORT_THUMB_PX);
	}
	if (a->fmt == F_HTML) {
		json_t *ops = export_operators(ctx);
		if (json_array_size(ops) < 2)
			fprintf(stderr,
				"evcap export: warning: case %s names %zu officer%s; the rules on "
				"electronic evidence want two or more (evcap case set CASE --operator "
				"NAME)\n",
				json_string_value(json_object_get(ctx->case_row, "number")),
				json_array_size(ops), json_array_size(ops) == 1 ? "" : "s");
		json_decref(ops);
	}
	switch (a->fmt) {
	case F_GEOJSON: r = export_geojson(ctx, &out, err, sizeof err); break;
	case F_KML: r = export_kml(ctx, &out, err, sizeof err); break;
	case F_GPX: r = export_gpx(ctx, &out, err, sizeof err); break;
	case F_CSV: r = export_csv(ctx, &out, err, sizeof err); break;
	default:
		if (a->revisit) {
			struct revisit_opts ro = {0};
			struct revisit_report *rr = NULL;
			ro.pair = 1;
			ro.before = a->before;
			ro.after = a->after;
			r = revisit_report_load(s, a->case_id, &ro, &rr, err, sizeof err);
			if (!r)
				r = revisit_report_html(rr, s, ctx->opt.lang == EXPORT_LANG_ZH ? "zh" : "en",
							&out, err, sizeof err);
			revisit_report_free(rr);
		} else {
			r = export_html(ctx, &out, err, sizeof err);
		}
		break;
	}
	if (r || fs_write_atomic(a->out, out.data, out.len, 0644, 0, err, sizeof err)) {
		fprintf(stderr, "evcap export: %s\n", err);
		goto out;
	}
	sha256_hex(out.data, out.len, hex);
	const char *base = fs_basename(a->out);
	size_t n = json_array_size(ctx->items);
	size_t in_file = a->fmt == F_CSV || a->fmt == F_HTML ? n : located;
	json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "format",
			      a->revisit ? "html-revisit" : fmt_names[a->fmt], "out",
			      base, "sha256", hex, "size", (json_int_t)out.len, "items",
			      (json_int_t)in_file, "items_without_location",
			      (json_int_t)(n - located));
	if (a->gcj02)
		json_object_set_new(d, "datum_extra", json_string("GCJ-02"));
	if (a->site)
		json_object_set_new(d, "site", json_string(a->site));
	if (a->has_from)
		json_object_set_new(d, "from", json_string(a->from));
	if (a->has_to)
		json_object_set_new(d, "to", json_string(a->to));
	const char *case_number = json_string_value(json_object_get(ctx->case_row, "number"));
	if (record_export(cli, s, case_number, NULL, d, a->out)) {
		json_decref(d);
		goto out;
	}
	if (cli->json) {
		json_object_set_new(d, "case", json_string(case_number));
		json_object_set_new(d, "path", json_string(a->out));
		cli_print_json(d);
	} else {
		json_decref(d);
		printf("wrote %s (%s, %zu bytes, SHA-256 %s): %zu item%s", a->out, fmt_names[a->fmt],
		       out.len, hex, in_file, in_file == 1 ? "" : "s");
		if (n > located)
			printf(", %zu without location %s", n - located,
			       in_file == n ? "(marked)" : "left out");
		printf("\n");
	}
	rc = EXIT_OK;
out:
	buf_free(&out);
	return rc;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	struct export_args a = {0};
	struct export_ctx *ctx = NULL;
	char err[512];
	int rc = parse_args(cli, argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	struct store *s = cli_store(cli, 0);
	struct export_filter f = {0};
	rc = EXIT_USAGE;
	if ((f.case_id = cli_case(cli, a.case_name, 1)) <= 0)
		goto out;
	a.case_id = f.case_id;
	if (a.site && (f.site_id = find_site(cli, s, f.case_id, a.site)) <= 0)
		goto out;
	if (inside_store(s, a.out)) {
		rc = cli_usage_error(cli, "%s is inside the evidence store; write exports elsewhere",
				     a.out);
		goto out;
	}
	f.from_iso = a.has_from ? a.from : NULL;
	f.to_iso = a.has_to ? a.to : NULL;
	struct export_opts o = {0};
	o.lang = (enum export_lang)i18n_pick(a.lang);
	o.gcj02 = a.gcj02;
	o.now = time_now();
	o.actor = cli->actor;
	if (export_ctx_load(s, &f, &o, &ctx, err, sizeof err)) {
		fprintf(stderr, "evcap export: %s\n", err);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if (a.fmt == F_JPEG)
		rc = export_jpeg(cli, s, ctx, a.out);
	else
		rc = export_file(cli, s, ctx, &a);
out:
	export_ctx_free(ctx);
	return rc;
}
