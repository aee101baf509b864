/*
 * evcap ingest: records every file under the given paths as evidence of a
 * case, then places the new items from the GPS track where it covers them.
 * The last line is the summary an operator reads at the roadside.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "geotag.h"
#include "ingest.h"
#include "log.h"
#include "medium.h"
#include "sites.h"
#include "timeutil.h"

static volatile sig_atomic_t ingest_stop;

static void on_signal(int sig)
{
	(void)sig;
	ingest_stop = 1;
}

static const char ingest_help[] =
	"Copies each file into the store while hashing it (SHA-256), reads the copy\n"
	"back, reads its metadata and records it. The same bytes twice are one item.\n"
	"A PATH that is a symbolic link is followed; links inside it are not; FIFOs\n"
	"and devices are not opened. The store's own folder is never taken.\n\n"
	"options:\n"
	"  --case CASE           the case (default: the case in use)\n"
	"  --site NAME           the site of the case these files belong to\n"
	"  --operator NAME       who collected them (repeat for each officer)\n"
	"  --time-offset +HH:MM  the camera clock's offset from UTC when the files do not say\n"
	"  --medium-uuid UUID    the filesystem UUID of the card they came from (default:\n"
	"                        the card holding PATH, when it is one; see below)\n"
	"  --medium-label LABEL  the card's label (default: that card's)\n"
	"  --no-geotag           do not place new items from the GPS track\n\n"
	"A PATH on a card (a filesystem with a UUID, other than / and the store's,\n"
	"mounted read-only, under /media, /run/media or /mnt, or FAT or exFAT)\n"
	"records that card's UUID and label with each item, as evcapd does.\n";


/* The case's own declared offset and operators (text columns, malloc'd). */
static void case_defaults(struct store *s, int64_t case_id, char **offset, char **operators,
			  char **status)
{
	sqlite3_stmt *st = store_prepare(
		s, "SELECT time_offset, operators, status FROM cases WHERE id = ?", NULL, 0);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);
		const char *c = (const char *)sqlite3_column_text(st, 2);
		*offset = a ? xstrdup(a) : NULL;
		*operators = b ? xstrdup(b) : NULL;
		*status = c ? xstrdup(c) : NULL;
	}
	sqlite3_finalize(st);
}

/*
 * The card the paths were given on, for a by-hand ingest with no
 * --medium-uuid: the filesystem holding them, when it has a UUID, is not
 * / nor the store's own, and looks like a card (mounted read-only, as
 * evcap's udev rule mounts one; under /media, /run/media or /mnt, where
 * desktops mount one; or FAT or exFAT). Paths on two cards record none
 * (one run records one medium), and say so. Fills uuid and label (the
 * caller's) and returns 1 when there is one.
 */
static int card_of_paths(struct store *s, char **paths, int n, char uuid[MEDIUM_UUID_MAX],
			 char label[MEDIUM_LABEL_MAX])
{
	struct medium *m = xmalloc(sizeof *m), *first = xmalloc(sizeof *first);
	struct stat sst;
	char err[512];
	int found = 0, ok = 0;
	if (stat(store_dir(s), &sst) < 0)
		sst.st_dev = 0;
	/* files given one by one (a folder's JPEGs) mostly share a filesystem:
	 * each is looked up (the mount table read, the device probed) once */
	dev_t seen[16];
	size_t n_seen = 0;
	for (int i = 0; i < n; i++) {
		struct stat pst;
		int again = 0;
		if (stat(paths[i], &pst) == 0) {
			for (size_t k = 0; k < n_seen && !again; k++)
				again = seen[k] == pst.st_dev;
			if (again)
				continue;
			if (n_seen < ARRAY_LEN(seen))
				seen[n_seen++] = pst.st_dev;
		}
		if (medium_of_path(paths[i], m, err, sizeof err) || !m->uuid[0] ||
		    strcmp(m->mount_point, "/") == 0 || (sst.st_dev && m->dev == sst.st_dev))
			continue;
		int card = m->read_only || strcmp(m->fstype, "vfat") == 0 ||
			   strcmp(m->fstype, "exfat") == 0 || strcmp(m->fstype, "msdos") == 0 ||
			   strncmp(m->mount_point, "/media/", 7) == 0 ||
			   strncmp(m->mount_point, "/run/media/", 11) == 0 ||
			   strncmp(m->mount_point, "/mnt/", 5) == 0;
		if (!card)
			continue;
		if (!found) {
			*first = *m;
			found = 1;
		} else if (strcmp(first->uuid, m->uuid) != 0) {
			char *a = text_escape(first->uuid, strlen(first->uuid), 200);
			char *b = text_escape(m->uuid, strlen(m->uuid), 200);
			log_warnx("the paths are on more than one card (%s and %s): no card is "
				  "recorded with the items; ingest each card on its own, or give "
				  "--medium-uuid",
				  a, b);
			free(a);
			free(b);
			goto out;
		}
	}
	if (found) {
		snprintf(uuid, MEDIUM_UUID_MAX, "%s", first->uuid);
		snprintf(label, MEDIUM_LABEL_MAX, "%s", first->label);
		char *u = text_escape(first->uuid, strlen(first->uuid), 200);
		char *l = text_escape(first->label, strlen(first->label), 300);
		char *at = text_escape(first->mount_point, strlen(first->mount_point), 1000);
		log_info("card %s%s%s (%s%s) mounted at %s: recorded with each item", u,
			 l[0] ? " label " : "", l, first->fstype,
			 first->read_only ? ", read-only" : "", at);
		free(u);
		free(l);
		free(at);
		ok = 1;
	}
out:
	free(m);
	free(first);
	return ok;
}

/* After new items arrive: learn camera clocks and place what the GPS
 * track covers, then give located items to the case's sites (geotag_run
 * does both; with --no-geotag, or when it fails, the items located by
 * their own metadata still go to their sites). A failure here loses
 * nothing (the items are recorded); it is said, and the user can run
 * 'evcap geotag' again. */
static void place_new_items(struct cli *cli, struct store *s, int64_t case_id, int geotag)
{
	char err[512];
	struct geotag_stats gs = {0};
	if (!geotag)
		goto sites;
	if (geotag_run(s, case_id, cli->cfg->max_gap, cli->cfg->max_extrapolate, cli->actor, &gs,
		       err, sizeof err)) {
		log_warnx("placing the new items from the GPS track failed: %s", err);
		goto sites;
	}
	if (gs.placed && cli->verbosity >= 0 && !cli->json)
		printf("%zu item%s placed from the GPS track%s\n", gs.placed, gs.placed == 1 ? "" : "s",
		       gs.retimed ? " (camera clocks corrected from their GPS-stamped photos)" : "");
	if (gs.sidecars && cli->verbosity >= 0 && !cli->json)
		printf("%zu video%s placed where the drone was, from %s SRT\n", gs.sidecars,
		       gs.sidecars == 1 ? "" : "s", gs.sidecars == 1 ? "its" : "their");
	if (gs.sidecars_unusable && cli->verbosity >= 0 && !cli->json)
		printf("%zu video%s SRT gave no position, so the GPS track places %s; first: %s\n",
		       gs.sidecars_unusable, gs.sidecars_unusable == 1 ? "'s" : "s'",
		       gs.sidecars_unusable == 1 ? "it" : "them", gs.sidecar_note);
	if (gs.readings_placed && cli->verbosity >= 0 && !cli->json)
		printf("%zu reading%s placed from the GPS track\n", gs.readings_placed,
		       gs.readings_placed == 1 ? "" : "s");
	return;
sites:
	if (case_id <= 0)
		return;
	int assigned = 0;
	if (sites_assign_cases(s, case_id, cli->actor, &assigned, err, sizeof err))
		log_warnx("assigning the new items to the case's sites failed: %s", err);
}

int cmd_ingest(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"case", required_argument, NULL, 'c'},
		{"site", required_argument, NULL, 's'},
		{"operator", required_argument, NULL, 'o'},
		{"time-offset", required_argument, NULL, 't'},
		{"medium-uuid", required_argument, NULL, 'U'},
		{"medium-label", required_argument, NULL, 'L'},
		{"no-geotag", no_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	const char *case_name = NULL, *site = NULL, *offset = NULL;
	struct ingest_opts o = {0};
	json_t *ops = json_array();
	char *ops_txt = NULL, *case_offset = NULL, *case_ops = NULL, *case_status = NULL;
	int c, rc = EXIT_USAGE, geotag = 1;
	char host[256] = "";

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': case_name = optarg; break;
		case 's': site = optarg; break;
		case 'o':
			if (!*optarg || !utf8_valid(optarg, strlen(optarg))) {
				rc = cli_usage_error(cli, "--operator needs a name in UTF-8");
				goto out;
			}
			if (cli_check_text(cli, "--operator", optarg, 0))
				goto out;
			json_array_append_new(ops, json_string(optarg));
			break;
		case 't': offset = optarg; break;
		case 'U':
		case 'L':
			/* recorded as text and in the ingest event: bytes that
			 * are not UTF-8 would be stored raw and left out of the
			 * event */
			if (!*optarg || !utf8_valid(optarg, strlen(optarg))) {
				rc = cli_usage_error(cli, "%s needs a value in UTF-8",
						     c == 'U' ? "--medium-uuid" : "--medium-label");
				goto out;
			}
			if (cli_check_text(cli, c == 'U' ? "--medium-uuid" : "--medium-label", optarg,
					   0))
				goto out;
			if (c == 'U')
				o.medium_uuid = optarg;
			else
				o.medium_label = optarg;
			break;
		case 'G': geotag = 0; break;
		case 'h':
			cli_print_help(cli, ingest_help);
			rc = EXIT_OK;
			goto out;
		default:
			rc = cli_bad_option(cli, argc, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(cli, "give one or more files or folders to ingest");
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		if (!*argv[i]) {
			rc = cli_usage_error(cli, "give files or folders to ingest; '' is empty");
			goto out;
		}
	}
	if (offset && time_parse_offset(offset, &o.declared_offset_s)) {
		rc = cli_usage_error(cli, "--time-offset %s, not '%s'", time_offset_why(offset),
				     offset);
		goto out;
	}
	o.has_declared_offset = offset != NULL;
	struct store *s = cli_store(cli, CLI_WRITE);
	int64_t case_id = cli_case(cli, case_name, 0);
	if (case_id < 0)
		goto out;
	char *case_number = NULL;
	if (case_id > 0) {
		sqlite3_stmt *st = store_prepare(s, "SELECT number FROM cases WHERE id = ?", NULL, 0);
		sqlite3_bind_int64(st, 1, case_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			case_number = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		case_defaults(s, case_id, &case_offset, &case_ops, &case_status);
		if (case_status && strcmp(case_status, "closed") == 0) {
			fprintf(stderr, "evcap ingest: case %s is closed; open a new case or "
					"give another with --case\n", case_number);
			free(case_number);
			goto out;
		}
		if (!o.has_declared_offset && case_offset &&
		    time_parse_offset(case_offset, &o.declared_offset_s) == 0)
			o.has_declared_offset = 1;
	} else {
		log_warnx("no case given and none in use: the items are recorded without a case "
			  "('evcap case add CASE --unassigned' puts them in one later)");
	}
	if (!o.has_declared_offset && cli->cfg->time_offset &&
	    time_parse_offset(cli->cfg->time_offset, &o.declared_offset_s) == 0)
		o.has_declared_offset = 1;
	if (site && case_id > 0) {
		o.site_id = cli_site(cli, case_id, site);
		if (o.site_id < 0) {
			free(case_number);
			goto out;
		}
	} else if (site) {
		rc = cli_usage_error(cli, "--site needs a case");
		free(case_number);
		goto out;
	}
	/* operators: given, else the case's, else the config's */
	if (json_array_size(ops) == 0 && case_ops) {
		json_t *a = json_loads(case_ops, 0, NULL);
		if (json_is_array(a)) {
			json_decref(ops);
			ops = a;
		} else {
			json_decref(a);
		}
	}
	for (size_t i = 0; json_array_size(ops) == 0 && i < cli->cfg->n_operators; i++)
		json_array_append_new(ops, json_string(cli->cfg->operators[i]));
	ops_txt = json_array_size(ops) ? json_dumps(ops, JSON_COMPACT) : NULL;
	gethostname(host, sizeof host - 1);

	o.case_id = case_id;
	o.case_number = case_number;
	o.operators_json = ops_txt;
	o.actor = cli->actor;
	o.source_device = host;
	o.stop = &ingest_stop;
	o.verbose = cli->verbosity > 0;
	o.progress = cli->verbosity >= 0;
	char card_uuid[MEDIUM_UUID_MAX], card_label[MEDIUM_LABEL_MAX];
	if (!o.medium_uuid && !o.medium_label &&
	    card_of_paths(s, argv + optind, argc - optind, card_uuid, card_label)) {
		o.medium_uuid = card_uuid;
		o.medium_label = card_label[0] ? card_label : NULL;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct ingest_stats st = {0};
	rc = ingest_paths(s, argv + optind, argc - optind, &o, &st);
	if (st.added)
		place_new_items(cli, s, case_id, geotag);

	uint64_t problems = st.failed + st.meta_errors + st.not_taken;
	if (cli->json) {
		json_t *j = json_object();
		json_object_set_new(j, "files", json_integer((json_int_t)st.files));
		json_object_set_new(j, "bytes", json_integer((json_int_t)st.bytes));
		json_object_set_new(j, "added", json_integer((json_int_t)st.added));
		json_object_set_new(j, "already_recorded", json_integer((json_int_t)st.already));
		json_object_set_new(j, "restored", json_integer((json_int_t)st.restored));
		json_object_set_new(j, "failed", json_integer((json_int_t)st.failed));
		json_object_set_new(j, "no_room", json_integer((json_int_t)st.no_room));
		json_object_set_new(j, "metadata_errors", json_integer((json_int_t)st.meta_errors));
		json_object_set_new(j, "skipped", json_integer((json_int_t)st.skipped));
		json_object_set_new(j, "not_taken", json_integer((json_int_t)st.not_taken));
		json_object_set_new(j, "case", case_number ? json_string(case_number) : json_null());
		cli_print_json(j);
	} else if (cli->verbosity >= 0 || rc) {
		char size[32];
		human_bytes(st.bytes, size);
		/* a damaged original put right is said in the summary too */
		char restored[64] = "";
		if (st.restored)
			snprintf(restored, sizeof restored, " (%llu restoring a damaged original)",
				 (unsigned long long)st.restored);
		/* files found but never read count as problems, and are said */
		char untaken[96] = "";
		if (st.not_taken)
			snprintf(untaken, sizeof untaken, "; %llu file%s not taken (run it again)",
				 (unsigned long long)st.not_taken, st.not_taken == 1 ? "" : "s");
		/* and so are files the store's disk had no room for */
		char no_room[128] = "";
		if (st.no_room)
			snprintf(no_room, sizeof no_room,
				 "; %llu file%s not recorded, the store's disk full (make room "
				 "there and run it again)",
				 (unsigned long long)st.no_room, st.no_room == 1 ? "" : "s");
		printf("%llu file%s, %s, %llu problem%s, %llu already recorded%s, %llu skipped, "
		       "case %s%s%s\n",
		       (unsigned long long)st.files, st.files == 1 ? "" : "s", size,
		       (unsigned long long)problems, problems == 1 ? "" : "s",
		       (unsigned long long)st.already, restored, (unsigned long long)st.skipped,
		       case_number ? case_number : "(none)", untaken, no_room);
	}
	free(case_number);
out:
	json_decref(ops);
	free(ops_txt);
	free(case_offset);
	free(case_ops);
	free(case_status);
	return rc;
}
