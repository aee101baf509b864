/*
 * evcap track: import GPX and NMEA track files into the store's fixes, and
 * list the fixes. An import is recorded in the custody log with the file's
 * SHA-256 and what was made of it; bad lines are named, not fatal.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "ingest.h"
#include "custody.h"
#include "fsutil.h"
#include "geotag.h"
#include "gpx.h"
#include "hash.h"
#include "nmea.h"
#include "timeutil.h"

static const char track_help[] =
	"  track import [--no-geotag] FILE...   read GPX 1.0/1.1 or NMEA logs (told apart by\n"
	"                                       content); fixes are stored with source\n"
	"                                       file:NAME (file:NAME#2 for another file of\n"
	"                                       a name already used); items and readings\n"
	"                                       waiting for a track are then placed and\n"
	"                                       given to their sites (see geotag)\n"
	"  track ls [--json] [--source S] [--limit N]   list stored fixes by time (the\n"
	"                                       first N, N at least 1; default all)\n";

static json_t *track_report_json(const struct track_report *r)
{
	json_t *j = json_object();
	json_object_set_new(j, "lines", json_integer((json_int_t)r->lines));
	json_object_set_new(j, "fixes", json_integer((json_int_t)r->fixes));
	json_object_set_new(j, "bad", json_integer((json_int_t)r->bad));
	json_object_set_new(j, "untrusted", json_integer((json_int_t)r->untrusted));
	json_object_set_new(j, "untimed", json_integer((json_int_t)r->untimed));
	json_object_set_new(j, "no_time", json_integer((json_int_t)r->no_time));
	json_object_set_new(j, "capped", json_boolean(r->capped));
	json_object_set_new(j, "repeated", json_integer((json_int_t)r->repeated));
	json_object_set_new(j, "conflicting", json_integer((json_int_t)r->conflicting));
	return j;
}

/* 1 when every fix the store holds under `source` within an hour of the
 * sorted track `mine` is one of mine, at the same time and place: the
 * source is this file's (an earlier import of it, or of the part of a log
 * that has grown since), not another receiver's; 0 if not, -1 on error. */
static int track_source_mine(struct store *s, const char *source, const struct track *mine,
			     char *err, size_t errlen)
{
	int r = 1, k;
	sqlite3_stmt *st = store_prepare(s, "SELECT t, lat, lon FROM fixes"
					    " WHERE t >= ?1 AND t <= ?2 AND source = ?3",
					 err, errlen);
	if (!st)
		return -1;
	sqlite3_bind_double(st, 1, mine->v[0].t - 3600);
	sqlite3_bind_double(st, 2, mine->v[mine->n - 1].t + 3600);
	sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
	while (r == 1 && (k = sqlite3_step(st)) == SQLITE_ROW) {
		double t = sqlite3_column_double(st, 0);
		size_t lo = track_lower_bound(mine, t);
		if (lo == mine->n || mine->v[lo].t != t ||
		    mine->v[lo].lat != sqlite3_column_double(st, 1) ||
		    mine->v[lo].lon != sqlite3_column_double(st, 2))
			r = 0;
	}
	if (r == 1 && k != SQLITE_DONE)
		r = err_set(err, errlen, EV_EDB, "reading fixes: %s", sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	return r;
}

/*
 * The source a file's fixes are stored under. A file imported before keeps
 * the source it got then. Otherwise it is file:NAME, unless fixes of
 * another file of that name (two phones both write track.gpx) are stored
 * under it near these times: then file:NAME#2, #3, ...; two receivers'
 * fixes under one source would be read as one track, and where both give a
 * time only the first file's would be kept (*moved is then 1). 0 or an
 * error code.
 */
static int track_pick_source(struct store *s, const char *name, const char *sha,
			     const struct track *tr, char *out, size_t outlen, int *moved,
			     char *err, size_t errlen)
{
	int rc = 0;
	struct track mine;
	track_init(&mine);
	*moved = 0;
	sqlite3_stmt *st = store_prepare(s, "SELECT json_extract(event, '$.detail.source')"
					    " FROM custody WHERE item_sha256 = ?1"
					    " AND action = 'track-import' ORDER BY seq LIMIT 1",
					 err, errlen);
	if (!st)
		return EV_EDB;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	int k = sqlite3_step(st);
	const char *was = k == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (was && strncmp(was, "file:", 5) == 0) {
		snprintf(out, outlen, "%s", was);
		goto out;
	}
	if (k != SQLITE_ROW && k != SQLITE_DONE) {
		rc = err_set(err, errlen, EV_EDB, "reading custody: %s", sqlite3_errmsg(store_db(s)));
		goto out;
	}
	snprintf(out, outlen, "file:%s", name);
	for (size_t i = 0; i < tr->n; i++)
		track_push(&mine, &tr->v[i]);
	track_sort_dedup(&mine);
	if (mine.n == 0)
		goto out;
	for (int n = 2; n <= 100; n++) {
		int r = track_source_mine(s, out, &mine, err, errlen);
		if (r < 0) {
			rc = r;
			goto out;
		}
		if (r == 1)
			goto out;
		*moved = 1;
		snprintf(out, outlen, "file:%s#%d", name, n);
	}
	snprintf(out, outlen, "file:%s@%.16s", name, sha);
out:
	sqlite3_finalize(st);
	track_free(&mine);
	return rc;
}

/* Whether text is UTF-16: a byte-order mark, or (a writer that left the
 * mark out) a zero byte beside each of its first ASCII characters. */
static int text_is_utf16(const char *text, size_t n)
{
	const unsigned char *u = (const unsigned char *)text;
	if (n >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff)))
		return 1;
	if (n < 8)
		return 0;
	int le = 1, be = 1;
	for (size_t i = 0; i < 8; i += 2) {
		le &= u[i] != 0 && u[i] < 0x80 && u[i + 1] == 0;
		be &= u[i] == 0 && u[i + 1] != 0 && u[i + 1] < 0x80;
	}
	return le || be;
}

/* Imports one file; returns 0, or 1 when the file could not be (wholly)
 * read. *out gets a JSON summary. */
static int track_import_one(struct cli *cli, struct store *s, const char *path, json_t **out)
{
	char err[512] = "", sha[SHA256_HEX_LEN + 1], source[300];
	struct buf b;
	struct track tr;
	struct track_report rep;
	const char *format = "";
	size_t inserted = 0;
	int rc = 1, perr = 0;
	/* as ingest records it: bytes that are not UTF-8, and control
	 * characters, as \xNN (a name from a card is anybody's; raw, it left
	 * the custody event without a file or source, and reached the
	 * terminal as it was) */
	char *shown = ingest_display_path(path);
	const char *name = fs_basename(shown);
	json_t *j = json_object();
	buf_init(&b, NMEA_MAX_BYTES);
	track_init(&tr);
	track_report_init(&rep);
	json_object_set_new(j, "file", json_string(name));

	if (fs_read_file(path, NMEA_MAX_BYTES, &b, err, sizeof err) != 0) {
		ingest_display_msg(err, sizeof err, path);
		goto out;
	}
	sha256_hex(b.data, b.len, sha);
	if (gpx_sniff(b.data, b.len)) {
		format = "gpx";
		perr = gpx_parse(name, b.data, b.len, &tr, &rep, err, sizeof err);
	} else if (nmea_sniff(b.data, b.len)) {
		format = "nmea";
		perr = nmea_parse(name, b.data, b.len, &tr, &rep);
	} else if (text_is_utf16(b.data, b.len)) {
		snprintf(err, sizeof err, "%s: the text is UTF-16; evcap reads GPX and NMEA written "
			 "as UTF-8 or ASCII: convert a copy (iconv -f UTF-16 -t UTF-8) and import "
			 "that", shown);
		goto out;
	} else {
		snprintf(err, sizeof err, "%s: neither GPX nor NMEA", shown);
		goto out;
	}
	track_same_times(name, &tr, &rep);
	/* the track file is evidence too: kept byte for byte as an item
	 * (of the case in use, if any), and the fixes name it */
	{
		struct ingest_opts io = {0};
		struct ingest_stats ist = {0};
		char host[256] = "", item_sha[SHA256_HEX_LEN + 1] = "", msg[480];
		char *case_number = NULL;
		int64_t case_id = cli_case(cli, NULL, 0);
		if (case_id > 0) {
			sqlite3_stmt *cs = store_prepare(s, "SELECT number FROM cases WHERE id = ?", NULL, 0);
			if (cs) {
				sqlite3_bind_int64(cs, 1, case_id);
				if (sqlite3_step(cs) == SQLITE_ROW)
					case_number = xstrdup((const char *)sqlite3_column_text(cs, 0));
				sqlite3_finalize(cs);
			}
		}
		gethostname(host, sizeof host - 1);
		io.case_id = case_id > 0 ? case_id : 0;
		io.case_number = case_number;
		io.actor = cli->actor;
		io.source_device = host;
		enum ingest_result ir = ingest_file(s, path, &io, &ist, item_sha, msg, sizeof msg);
		free(case_number);
		if (ir == INGEST_FAILED || ir == INGEST_SKIPPED) {
			snprintf(err, sizeof err, "%s", msg);
			goto out;
		}
		if (strcmp(item_sha, sha) != 0) {
			snprintf(err, sizeof err, "%s changed while it was being read; import it again",
				 shown);
			goto out;
		}
	}
	if (store_begin(s, err, sizeof err))
		goto out;
	int moved;
	if (track_pick_source(s, name, sha, &tr, source, sizeof source, &moved, err,
			      sizeof err)) {
		store_rollback(s);
		goto out;
	}
	if (moved)
		track_report_msg(&rep, "%s: fixes of another file of this name are stored under "
				 "file:%s near these times; this file's are stored as %s", name,
				 name, source);
	json_t *d = track_report_json(&rep);
	if (geotag_insert_fixes(s, tr.v, tr.n, source, &inserted, err, sizeof err) != 0) {
		json_decref(d);
		store_rollback(s);
		goto out;
	}
	json_object_set_new(d, "file", json_string(name));
	json_object_set_new(d, "sha256", json_string(sha));
	json_object_set_new(d, "size", json_integer((json_int_t)b.len));
	json_object_set_new(d, "format", json_string(format));
	json_object_set_new(d, "source", json_string(source));
	json_object_set_new(d, "stored", json_integer((json_int_t)inserted));
	if (perr)
		json_object_set_new(d, "error", json_string(err));
	char perr_msg[512];
	snprintf(perr_msg, sizeof perr_msg, "%s", err);
	if (custody_append(s, time_now(), cli->actor, "track-import", NULL, sha, d, NULL, err,
			   sizeof err) != 0 ||
	    store_commit(s, err, sizeof err) != 0) {
		json_decref(d);
		store_rollback(s);
		goto out;
	}
	json_decref(d);
	snprintf(err, sizeof err, "%s", perr_msg);
	rc = perr ? 1 : 0;
out:
	json_object_set_new(j, "format", json_string(format));
	json_object_set_new(j, "sha256", rc == 0 || perr ? json_string(sha) : json_null());
	json_object_set_new(j, "report", track_report_json(&rep));
	json_object_set_new(j, "stored", json_integer((json_int_t)inserted));
	json_t *msgs = json_array();
	for (size_t i = 0; i < rep.n_msgs; i++)
		json_array_append_new(msgs, json_string(rep.msgs[i]));
	json_object_set_new(j, "problems", msgs);
	utf8_sanitize(err);
	json_object_set_new(j, "error", rc ? json_string(err) : json_null());
	if (!cli->json && (rc == 0 || perr)) {
		printf("%s: %s, %zu fix%s read, %zu stored", name, format, rep.fixes,
		       rep.fixes == 1 ? "" : "es", inserted);
		size_t dup = rep.repeated + rep.conflicting;
		if (rep.fixes > inserted + dup)
			printf(" (%zu already stored)", rep.fixes - inserted - dup);
		if (rep.repeated)
			printf(", %zu repeated", rep.repeated);
		if (rep.conflicting)
			printf(", %zu at a time the file gives another position (not stored)",
			       rep.conflicting);
		printf("; %zu bad %s%s", rep.bad, format[0] == 'g' ? "point" : "line",
		       rep.bad == 1 ? "" : "s");
		if (rep.untrusted)
			printf(", %zu without a real fix", rep.untrusted);
		if (rep.untimed)
			printf(", %zu before any date", rep.untimed);
		if (rep.no_time)
			printf(", %zu point%s without time", rep.no_time, rep.no_time == 1 ? "" : "s");
		if (rep.capped)
			printf(", stopped at %d points", TRACK_MAX_POINTS);
		printf("\n");
		for (size_t i = 0; i < rep.n_msgs; i++)
			fprintf(stderr, "  %s\n", rep.msgs[i]);
		if (rep.bad + rep.conflicting > rep.n_msgs)
			fprintf(stderr, "  ... and %zu more bad\n",
				rep.bad + rep.conflicting - rep.n_msgs);
	}
	if (rc)
		cli_warn("evcap track import: %s", err);
	*out = j;
	track_free(&tr);
	buf_free(&b);
	free(shown);
	return rc;
}

static int track_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"no-geotag", no_argument, NULL, 'G'}, {"help", no_argument, NULL, 'h'}, {0}};
	int c, geotag = 1, rc = EXIT_OK;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'G': geotag = 0; break;
		case 'h': cli_print_help(cli, track_help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "track import needs at least one FILE");
	for (int i = optind; i < argc; i++)
		if (!*argv[i])
			return cli_usage_error(cli, "track import needs file names, and '' is empty");
	struct store *s = cli_store(cli, CLI_WRITE);
	json_t *all = json_array();
	for (int i = optind; i < argc; i++) {
		json_t *j = NULL;
		/* a file that is missing or unreadable is a problem with that input,
		 * as in ingest: the others are still imported */
		if (track_import_one(cli, s, argv[i], &j) && rc != EXIT_USAGE)
			rc = EXIT_PROBLEM;
		json_array_append_new(all, j);
	}
	if (geotag) {
		char err[512];
		struct geotag_stats gs;
		double gap = cli->cfg->max_gap > 0 ? cli->cfg->max_gap : GEOTAG_DEFAULT_MAX_GAP;
		double ext = cli->cfg->max_extrapolate >= 0 ? cli->cfg->max_extrapolate
							    : GEOTAG_DEFAULT_MAX_EXTRAP;
		if (geotag_run(s, 0, gap, ext, cli->actor, &gs, err, sizeof err) != 0) {
			cli_warn("evcap track import: geotag: %s", err);
			rc = EXIT_PROBLEM;
		} else if (!cli->json) {
			if (gs.placed || gs.retimed || gs.cleared)
				printf("geotag: %zu item%s placed, %zu retimed, %zu cleared\n",
				       gs.placed, gs.placed == 1 ? "" : "s", gs.retimed, gs.cleared);
			if (gs.readings_placed)
				printf("geotag: %zu reading%s placed from the GPS track\n",
				       gs.readings_placed, gs.readings_placed == 1 ? "" : "s");
		}
	}
	if (cli->json)
		cli_print_json(all);
	else
		json_decref(all);
	return rc;
}

static int track_ls(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"source", required_argument, NULL, 's'},
					     {"limit", required_argument, NULL, 'n'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int c, json = cli->json, rc = EXIT_OK;
	const char *source = NULL;
	long long limit = -1;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': source = optarg; break;
		case 'n': {
			char *end;
			errno = 0;
			limit = strtoll(optarg, &end, 10);
			if (end == optarg || *end || errno || limit < 1)
				return cli_usage_error(cli, "--limit takes a count of fixes, 1 or more, "
							    "not '%s'", optarg);
			break;
		}
		case 'h': cli_print_help(cli, track_help); return EXIT_OK;
		default: return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "track ls takes no arguments");
	struct store *s = cli_store(cli, CLI_READ);
	char err[512];
	sqlite3_stmt *st = store_prepare(s,
		"SELECT time, lat, lon, alt, mode, source, eph, sats FROM fixes"
		" WHERE (?1 IS NULL OR source = ?1) ORDER BY t, source LIMIT ?2", err, sizeof err);
	if (!st) {
		cli_warn("evcap track ls: %s", err);
		return EXIT_PROBLEM;
	}
	if (source)
		sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	json_t *arr = json ? json_array() : NULL;
	int k;
	long long shown = 0;
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		shown++;
		const char *t = (const char *)sqlite3_column_text(st, 0);
		const char *src = (const char *)sqlite3_column_text(st, 5);
		int alt_null = sqlite3_column_type(st, 3) == SQLITE_NULL;
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "time", json_string(t ? t : ""));
			json_object_set_new(o, "lat", json_real(sqlite3_column_double(st, 1)));
			json_object_set_new(o, "lon", json_real(sqlite3_column_double(st, 2)));
			json_object_set_new(o, "alt", alt_null ? json_null()
							       : json_real(sqlite3_column_double(st, 3)));
			json_object_set_new(o, "mode", json_integer(sqlite3_column_int(st, 4)));
			json_object_set_new(o, "source", json_string(src ? src : ""));
			json_object_set_new(o, "eph", sqlite3_column_type(st, 6) == SQLITE_NULL
							      ? json_null()
							      : json_real(sqlite3_column_double(st, 6)));
			json_object_set_new(o, "sats", sqlite3_column_type(st, 7) == SQLITE_NULL
							       ? json_null()
							       : json_integer(sqlite3_column_int(st, 7)));
			json_array_append_new(arr, o);
		} else {
			char alt[32] = "-";
			if (!alt_null)
				snprintf(alt, sizeof alt, "%.1f", sqlite3_column_double(st, 3));
			printf("%-24s %12.7f %13.7f %8s %dD %s\n", t ? t : "",
			       sqlite3_column_double(st, 1), sqlite3_column_double(st, 2), alt,
			       sqlite3_column_int(st, 4), src ? src : "");
		}
	}
	if (k != SQLITE_DONE) {
		fprintf(stderr, "evcap track ls: %s\n", sqlite3_errmsg(store_db(s)));
		rc = EXIT_PROBLEM;
	} else if (!json && shown == 0 && source) {
		/* said (on stderr: scripts count the lines of stdout), since an
		 * empty answer reads as a typo or a hang otherwise */
		char *src = cli_shown(source);
		fprintf(stderr, "evcap track ls: no fixes from source '%s' (the last column of "
				"'evcap track ls' names the sources)\n", src);
		free(src);
	} else if (!json && shown == 0) {
		fprintf(stderr, "evcap track ls: no fixes ('evcap track import FILE' or 'evcap gps "
				"log' records them)\n");
	}
	sqlite3_finalize(st);
	if (arr)
		cli_print_json(arr);
	return rc;
}

int cmd_track(struct cli *cli, int argc, char **argv)
{
	static const char subs[] = "import or ls";
	int rc = cli_subcommand(cli, argc, argv, track_help, subs);
	if (rc >= 0)
		return rc;
	if (strcmp(argv[1], "import") == 0)
		return track_import(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "ls") == 0 || strcmp(argv[1], "list") == 0)
		return track_ls(cli, argc - 1, argv + 1);
	return cli_unknown_subcommand(cli, argv[1], subs);
}
