/*
 * evcap verify: re-hashes every original against its recorded SHA-256 and
 * size, checks each local item against the custody event that recorded
 * it and each recorded ingest against its item, each pulled item and
 * bundle against what the custody log says came, and re-walks the custody
 * chain. Exit 1 names every problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "custody.h"
#include "timeutil.h"

struct verify_ctx {
	json_t *problems;   /* damage: each a sentence */
	json_t *unreadable; /* originals this user may not read: not damage */
	int originals_bad;  /* originals missing, unreadable or altered */
	int json;
};

/* One finding: into its JSON list, and printed after its label. */
static void note_finding(const struct verify_ctx *v, json_t *list, const char *label,
			 const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	json_array_append_new(list, json_string(msg));
	if (!v->json) {
		/* a finding may quote an item's name as the store holds it */
		char *shown = cli_shown(msg);
		printf("%s: %s\n", label, shown);
		free(shown);
	}
}

static void problem(struct verify_ctx *v, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void problem(struct verify_ctx *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	note_finding(v, v->problems, "DAMAGED", fmt, ap);
	va_end(ap);
}

/* An original that could not be checked for lack of permission. */
static void unreadable(struct verify_ctx *v, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void unreadable(struct verify_ctx *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	note_finding(v, v->unreadable, "NOT CHECKED", fmt, ap);
	va_end(ap);
}

/* A copy kept under blobs/damaged/ that no restore event names: its
 * original was replaced with no record (store_record_kept records it as
 * the store opens; it could not, so the store was busy or failing). */
static void unrecorded_report(void *ctx, const char *kept_as, const char *sha)
{
	struct verify_ctx *v = ctx;
	char msg[600];
	snprintf(msg, sizeof msg,
		 "%s: the original %.12s was put back and this damaged copy kept, but no "
		 "restore event in the custody log says so; it could not be recorded now (see "
		 "above): run evcap verify again once the store is free",
		 kept_as, sha);
	json_array_append_new(v->problems, json_string(msg));
	if (!v->json)
		printf("UNRECORDED: %s\n", msg);
}

static void chain_report(void *ctx, int64_t seq, const char *msg)
{
	(void)seq;
	problem(ctx, "%s", msg);
}

/* What became of reading one original. */
enum blob_read { BLOB_OK, BLOB_MISSING, BLOB_DENIED, BLOB_FAILED };

/*
 * Hashes the original at path. Tells a blob that is not there apart from
 * one this user may not read (a folder or file of the store closed to it):
 * only the first is damage; lstat and open both say EACCES for the second,
 * which a plain "missing" would misreport as tampering. *err gets why.
 */
static enum blob_read hash_blob(const char *path, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
				char *err, size_t errlen)
{
	enum blob_read r = BLOB_OK;
	size_t chunk = 1 << 20;
	uint8_t *b = NULL;
	struct sha256 *h = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		if (e == EACCES || e == EPERM)
			r = BLOB_DENIED;
		else if (e == ENOENT || e == ENOTDIR)
			r = BLOB_MISSING;
		else if (e == ELOOP)
			snprintf(err, errlen, "it is a symbolic link, not the original's file");
		if (r == BLOB_OK)
			r = BLOB_FAILED;
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "it is not a plain file");
		r = BLOB_FAILED;
		goto out;
	}
	b = xmalloc(chunk);
	h = sha256_new();
	*size = 0;
	for (;;) {
		ssize_t n = read(fd, b, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read failed: %s", strerror(errno));
			r = BLOB_FAILED;
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(h, b, (size_t)n);
		*size += (uint64_t)n;
	}
	uint8_t d[SHA256_LEN];
	sha256_final(h, d);
	hex_encode(d, SHA256_LEN, hex);
out:
	if (fd >= 0)
		close(fd);
	sha256_free(h);
	free(b);
	return r;
}

/* Checks one item's blob: present, right size, right hash. A blob this
 * user may not read is counted apart, in v->unreadable: not damage. */
static void verify_blob(struct store *s, struct verify_ctx *v, int64_t id, const char *sha,
			int64_t size, const char *name)
{
	char *path = store_blob_path(s, sha);
	char hex[SHA256_HEX_LEN + 1], err[512];
	uint64_t got = 0;
	enum blob_read r = hash_blob(path, hex, &got, err, sizeof err);
	if (r == BLOB_MISSING || r == BLOB_FAILED ||
	    (r == BLOB_OK && (strcmp(hex, sha) != 0 || (int64_t)got != size)))
		v->originals_bad++;
	switch (r) {
	case BLOB_MISSING:
		problem(v, "item %lld (%s, %.12s): the original is missing from the store",
			(long long)id, name, sha);
		break;
	case BLOB_DENIED:
		unreadable(v, "item %lld (%s, %.12s): cannot be read: %s (run verify as the "
			      "store's owner, or let the store's group read the originals: "
			      "chmod -R g+rX %s/blobs)",
			   (long long)id, name, sha, err, store_dir(s));
		break;
	case BLOB_FAILED:
		problem(v, "item %lld (%s, %.12s): %s: %s", (long long)id, name, sha, path, err);
		break;
	case BLOB_OK:
		if (strcmp(hex, sha) != 0)
			problem(v,
				"item %lld (%s, %.12s): the original has been altered: its SHA-256 "
				"is now %s",
				(long long)id, name, sha, hex);
		else if ((int64_t)got != size)
			problem(v,
				"item %lld (%s, %.12s): recorded as %lld bytes but the original has "
				"%llu",
				(long long)id, name, sha, (long long)size, (unsigned long long)got);
		break;
	}
	free(path);
}

/*
 * Each local ingest event's item: an item is never taken out of a store,
 * so an ingest the custody log records with no item of its SHA-256 is a
 * row deleted behind evcap's back (its original, if still there, was
 * counted only as "belongs to no item"). Pulled items have no event of
 * their own in this chain (a pull event counts them), so only ingests
 * are looked up. Every event of the log, whatever --case says: the chain
 * is walked whole too. *itemless gets how many of their originals are
 * still in the store (each no item names, but no stopped pull left it).
 */
static void verify_ingested(struct store *s, struct verify_ctx *v, int64_t *itemless)
{
	char err[512];
	*itemless = 0;
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT e.seq, e.item_sha256, json_extract(e.event, '$.detail.path') FROM custody e"
		" WHERE e.action = 'ingest' AND NOT EXISTS (SELECT 1 FROM items i"
		"   WHERE i.sha256 = e.item_sha256) ORDER BY e.seq",
		err, sizeof err);
	if (!st) {
		problem(v, "the items the custody log records were not looked up: %s", err);
		return;
	}
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long long seq = sqlite3_column_int64(st, 0);
		const char *sha = (const char *)sqlite3_column_text(st, 1);
		const char *from = (const char *)sqlite3_column_text(st, 2);
		if (!sha) {
			problem(v, "custody event %lld records an ingest but names no original", seq);
			continue;
		}
		int kept = sha256_hex_valid(sha) && store_has_blob(s, sha);
		problem(v,
			"custody event %lld records the ingest of %s (%s) but the store has no such "
			"item; %s",
			seq, from ? from : "a file", sha,
			kept ? "its original is still in the store" : "nor its original");
		*itemless += kept;
	}
	if (r != SQLITE_DONE)
		problem(v, "%s/evidence.db: the custody log's ingests could not all be read: %s",
			store_dir(s), sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
}

/*
 * Each damaged copy a restore event says it kept (blobs/damaged/NAME):
 * still there, and still the bytes the event describes. It shows what an
 * original had become before it was put back; one deleted or changed
 * since leaves the custody log naming evidence the store no longer has.
 */
static void verify_kept(struct store *s, struct verify_ctx *v)
{
	char err[512];
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT seq, json_extract(event, '$.detail.kept_as'),"
		" json_extract(event, '$.detail.damaged.sha256'),"
		" json_extract(event, '$.detail.damaged.size') FROM custody"
		" WHERE action = 'restore' AND json_extract(event, '$.detail.kept_as') IS NOT NULL"
		" ORDER BY seq",
		err, sizeof err);
	if (!st) {
		problem(v, "the damaged copies the custody log says were kept were not looked up: %s",
			err);
		return;
	}
	int r;
	size_t denied = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long long seq = sqlite3_column_int64(st, 0);
		const char *kept = (const char *)sqlite3_column_text(st, 1);
		const char *sha = (const char *)sqlite3_column_text(st, 2);
		int has_size = sqlite3_column_type(st, 3) == SQLITE_INTEGER;
		int64_t size = sqlite3_column_int64(st, 3);
		const char *name = strncmp(kept, "blobs/damaged/", 14) == 0 ? kept + 14 : "";
		if (!*name || name[0] == '.' || strchr(name, '/')) {
			problem(v, "custody event %lld names a kept copy that is not in blobs/damaged/: "
				   "%s",
				seq, kept);
			continue;
		}
		char *path = xasprintf("%s/%s", store_dir(s), kept);
		char hex[SHA256_HEX_LEN + 1];
		uint64_t got = 0;
		switch (hash_blob(path, hex, &got, err, sizeof err)) {
		case BLOB_MISSING:
			problem(v, "custody event %lld kept the damaged copy %s, which is gone", seq,
				kept);
			break;
		case BLOB_DENIED: denied++; break;
		case BLOB_FAILED: problem(v, "custody event %lld kept %s: %s", seq, kept, err); break;
		case BLOB_OK:
			if (sha && strcmp(hex, sha) != 0)
				problem(v,
					"custody event %lld kept %s, which has changed since: its "
					"SHA-256 is now %s, not %s",
					seq, kept, hex, sha);
			else if (has_size && (int64_t)got != size)
				problem(v,
					"custody event %lld kept %s, which has changed since: %llu "
					"bytes, not %lld",
					seq, kept, (unsigned long long)got, (long long)size);
			break;
		}
		free(path);
	}
	if (r != SQLITE_DONE)
		problem(v, "%s/evidence.db: the custody log's restores could not all be read: %s",
			store_dir(s), sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	/* a reader the folder does not let in, as for the originals: said,
	 * not damage */
	if (denied)
		fprintf(stderr,
			"evcap verify: %zu damaged cop%s kept under blobs/damaged/ could not be "
			"read, and were not checked: permission denied\n",
			denied, denied == 1 ? "y" : "ies");
}

/*
 * What the store says it received and sent, against its records:
 * - each pulled item (of one case with --case) is named by a custody event
 *   of the device that sent it, which pull kept with the item: an item
 *   with no such event, or one whose bytes and SHA-256 were changed
 *   together, came into the store some other way;
 * - each bundle a pull event records brought as many of its device's
 *   custody events of that case as the event says: fewer in the store
 *   means rows deleted since (others' bundles may have brought the same
 *   events too, so fewer, never more, is the finding); and the items it
 *   added, which keep its bundle id, are all still there;
 * - the custody log reaches the last event a bundle was sent with: a log
 *   that ends before it has lost its newest events;
 * - each note is one a custody event records (local notes in this store's
 *   log, pulled ones in their device's events), with its text and author,
 *   and each note event of an item still here has its note: a note
 *   changed, added or deleted in the database is named.
 * Not a proof against someone who rewrites the store and its whole chain
 * alike, which the office's pull of signed bundles is for; it finds rows
 * deleted or changed behind evcap's back.
 */
/* The notes against the note events (verify_records): counted by item,
 * text, author and origin on both sides, so that a note written twice
 * needs two events. A pulled note is not looked for in its device's
 * events: a note written before its item was in a case has its event
 * outside every bundle (sync sends the case's events), though the note
 * travels with the item. The other way, a pulled note event's note is
 * looked for once a later bundle of that device and case is here (the
 * item may come in the next bundle of a split run): later by custody head,
 * the device's own order, as in verify_records. */
static void verify_notes(struct store *s, struct verify_ctx *v)
{
	char err[512];
	sqlite3_stmt *st = store_prepare(
		s,
		"WITH latest AS (SELECT device_id, case_id, max(last_seq) AS head FROM bundles"
		"  WHERE direction = 'in' GROUP BY device_id, case_id),"
		" ev AS ("
		"  SELECT item_sha256 AS sha, json_extract(event, '$.detail.text') AS text,"
		"   actor AS who, 'local' AS origin, count(*) AS n FROM custody"
		"   WHERE action = 'note' GROUP BY 1, 2, 3"
		"  UNION ALL"
		"  SELECT json_extract(f.event, '$.item'), json_extract(f.event, '$.detail.text'),"
		"   json_extract(f.event, '$.actor'), 'pulled', count(*) FROM foreign_custody f"
		"   JOIN bundles b ON b.bundle_id = f.bundle_id"
		"   JOIN latest l ON l.device_id = b.device_id AND l.case_id IS b.case_id"
		"   WHERE json_extract(f.event, '$.action') = 'note' AND b.last_seq < l.head"
		"   GROUP BY 1, 2, 3),"
		" nt AS (SELECT i.sha256 AS sha, n.text AS text, n.author AS who, n.origin AS origin,"
		"  count(*) AS n, min(n.id) AS note_id, i.id AS item_id, i.original_name AS name"
		"  FROM notes n JOIN items i ON i.id = n.item_id GROUP BY 1, 2, 3, 4)"
		" SELECT 0, nt.note_id, nt.item_id, nt.name, nt.who, nt.n, COALESCE(ev.n, 0)"
		"  FROM nt LEFT JOIN ev ON ev.sha = nt.sha AND ev.text IS nt.text"
		"   AND ev.who IS nt.who AND ev.origin = nt.origin"
		"  WHERE nt.origin = 'local' AND nt.n > COALESCE(ev.n, 0)"
		" UNION ALL"
		" SELECT 1, NULL, i.id, i.original_name, ev.who, COALESCE(nt.n, 0), ev.n"
		"  FROM ev JOIN items i ON i.sha256 = ev.sha LEFT JOIN nt ON nt.sha = ev.sha"
		"   AND nt.text IS ev.text AND nt.who IS ev.who AND nt.origin = ev.origin"
		"  WHERE ev.n > COALESCE(nt.n, 0)",
		err, sizeof err);
	if (!st) {
		problem(v, "the notes were not checked against the custody log: %s", err);
		return;
	}
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long long item = sqlite3_column_int64(st, 2);
		const char *name = (const char *)sqlite3_column_text(st, 3);
		const char *who = (const char *)sqlite3_column_text(st, 4);
		long long rows = sqlite3_column_int64(st, 5), events = sqlite3_column_int64(st, 6);
		if (sqlite3_column_int(st, 0) == 0)
			problem(v,
				"note %lld on item %lld (%s), by %s: no custody event records it "
				"as it is (changed or added in the database)",
				(long long)sqlite3_column_int64(st, 1), item, name, who ? who : "?");
		else
			problem(v,
				"item %lld (%s): the custody log records %lld note%s by %s that the "
				"store holds %lld of (deleted or changed in the database)",
				item, name, events, events == 1 ? "" : "s", who ? who : "?", rows);
	}
	if (r != SQLITE_DONE)
		problem(v, "%s/evidence.db: the notes could not all be checked: %s", store_dir(s),
			sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
}

static void verify_records(struct store *s, struct verify_ctx *v, int64_t case_id)
{
	char err[512];
	int r;
	/* A bundle too large for one manifest is sent as several, its items
	 * and its events halved apart: an item's events may come in the next
	 * bundle of the same run. So an item is looked for only once a later
	 * bundle of its device and case is here; one whose bundle the store
	 * does not record came with none. Later is a higher custody head
	 * (last_seq of a pulled bundle): created_at is the device's clock,
	 * which may have run ahead for one sync and been set right after. */
	sqlite3_stmt *st = store_prepare(
		s,
		"WITH latest AS (SELECT device_id, case_id, max(last_seq) AS head FROM bundles"
		"  WHERE direction = 'in' GROUP BY device_id, case_id)"
		" SELECT i.id, i.original_name, i.sha256, b.id IS NULL FROM items i"
		" LEFT JOIN bundles b ON b.bundle_id = i.bundle_id AND b.direction = 'in'"
		" LEFT JOIN latest l ON l.device_id = b.device_id AND l.case_id IS b.case_id"
		" WHERE i.origin = 'pulled' AND (?1 = 0 OR i.case_id = ?1)"
		" AND (b.id IS NULL OR (b.last_seq < l.head"
		"  AND i.sha256 NOT IN (SELECT json_extract(f.event, '$.item') FROM foreign_custody f"
		"   WHERE json_extract(f.event, '$.item') IS NOT NULL))) ORDER BY i.id",
		err, sizeof err);
	if (!st) {
		problem(v, "the pulled items were not looked up in their devices' custody events: %s",
			err);
	} else {
		sqlite3_bind_int64(st, 1, case_id);
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			problem(v,
				"item %lld (%s, %.12s) is recorded as pulled, but %s: it did not "
				"come with a bundle as it is now",
				(long long)sqlite3_column_int64(st, 0),
				(const char *)sqlite3_column_text(st, 1),
				(const char *)sqlite3_column_text(st, 2),
				sqlite3_column_int(st, 3)
					? "the store records no bundle it came in"
					: "no custody event of the device that sent it names it");
		if (r != SQLITE_DONE)
			problem(v, "%s/evidence.db: the pulled items could not all be read: %s",
				store_dir(s), sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
	}

	st = store_prepare(
		s,
		"WITH came AS (SELECT bundle_id, count(*) AS n FROM items"
		"  WHERE origin = 'pulled' AND bundle_id IS NOT NULL GROUP BY bundle_id)"
		" SELECT e.seq, json_extract(e.event, '$.detail.bundle_id'),"
		" json_extract(e.event, '$.detail.events'), b.id, b.device_id,"
		" (SELECT count(*) FROM foreign_custody f WHERE f.device_id = b.device_id"
		"   AND f.seq BETWEEN b.first_seq AND b.last_seq"
		"   AND json_extract(f.event, '$.case') = json_extract(e.event, '$.case')),"
		" json_extract(e.event, '$.detail.items'), COALESCE(came.n, 0)"
		" FROM custody e LEFT JOIN bundles b"
		"  ON b.bundle_id = json_extract(e.event, '$.detail.bundle_id')"
		"  AND b.direction = 'in'"
		" LEFT JOIN came ON came.bundle_id = json_extract(e.event, '$.detail.bundle_id')"
		" WHERE e.action = 'pull' ORDER BY e.seq",
		err, sizeof err);
	if (!st) {
		problem(v, "the bundles pulled were not checked against the custody log: %s", err);
	} else {
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			long long seq = sqlite3_column_int64(st, 0);
			const char *bid = (const char *)sqlite3_column_text(st, 1);
			int64_t want = sqlite3_column_int64(st, 2), got = sqlite3_column_int64(st, 5);
			if (!bid)
				continue; /* a pull event of another kind */
			if (sqlite3_column_type(st, 3) == SQLITE_NULL)
				problem(v,
					"custody event %lld records the pull of bundle %s, which the "
					"store no longer records",
					seq, bid);
			else if (got < want)
				problem(v,
					"custody event %lld records that bundle %s brought %lld custody "
					"event%s of device %.32s; the store holds %lld of them",
					seq, bid, (long long)want, want == 1 ? "" : "s",
					(const char *)sqlite3_column_text(st, 4), (long long)got);
			/* the items a bundle added keep its id for good (pull never
			 * changes it): fewer of them is an item deleted */
			int64_t want_items = sqlite3_column_int64(st, 6);
			int64_t got_items = sqlite3_column_int64(st, 7);
			if (sqlite3_column_type(st, 3) != SQLITE_NULL && got_items < want_items)
				problem(v,
					"custody event %lld records that bundle %s added %lld item%s; "
					"the store holds %lld of them (deleted in the database)",
					seq, bid, (long long)want_items, want_items == 1 ? "" : "s",
					(long long)got_items);
		}
		if (r != SQLITE_DONE)
			problem(v, "%s/evidence.db: the pull events could not all be read: %s",
				store_dir(s), sqlite3_errmsg(store_db(s)));
		sqlite3_finalize(st);
	}

	st = store_prepare(s,
			   "SELECT b.bundle_id, b.last_seq, b.target,"
			   " (SELECT COALESCE(MAX(seq), 0) FROM custody) FROM bundles b"
			   " WHERE b.direction = 'out' ORDER BY b.last_seq DESC, b.id DESC LIMIT 1",
			   err, sizeof err);
	if (!st) {
		problem(v, "the custody log's end was not checked against the bundles sent: %s",
			err);
		return;
	}
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_int64(st, 1) > sqlite3_column_int64(st, 3))
		problem(v,
			"the custody log ends at event %lld, but bundle %s was sent to %s with "
			"the log up to event %lld: the events after %lld are gone",
			(long long)sqlite3_column_int64(st, 3),
			(const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 2),
			(long long)sqlite3_column_int64(st, 1),
			(long long)sqlite3_column_int64(st, 3));
	else if (r != SQLITE_ROW && r != SQLITE_DONE)
		problem(v, "%s/evidence.db: the bundles sent could not be read: %s", store_dir(s),
			sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	const char *case_name;
	int done = cli_case_only_args(cli, argc, argv,
				      "Re-hashes every original (of one case with --case) and compares\n"
				      "it with the SHA-256 and size recorded at ingest; checks that each\n"
				      "item agrees with the custody event that recorded it, and that each\n"
				      "ingest the custody log records still has its item, and each\n"
				      "damaged copy a restore kept its bytes; re-walks the\n"
				      "whole custody chain, and in the office the field devices' events\n"
				      "that pulled bundles brought; checks that each pulled item and each\n"
				      "pulled bundle's events are what the custody log says came, and\n"
				      "that the log reaches what was last sent. Exit 0 when all is\n"
				      "intact, 1 naming each damaged item or broken link. Originals\n"
				      "that no item names (an interrupted pull or ingest) are\n"
				      "counted in a note.\n",
				      &case_name);
	if (done >= 0)
		return done;
	struct store *s = cli_store(cli, CLI_READ_RECORD);
	int64_t case_id = 0;
	if (case_name && (case_id = cli_case(cli, case_name, 1)) <= 0)
		return EXIT_USAGE;
	struct verify_ctx v = {
		.problems = json_array(), .unreadable = json_array(), .json = cli->json};
	char err[512];
	int64_t n_items = 0;
	int tty = !cli->json && cli->verbosity >= 0 && isatty(STDERR_FILENO);

	/* Each item with what its recording custody event said about it. */
	sqlite3_stmt *st = store_prepare(
		s,
		"SELECT i.id, i.sha256, i.size, i.original_name, i.origin,"
		" (SELECT json_extract(e.event, '$.detail.size') FROM custody e"
		"   WHERE e.item_sha256 = i.sha256 AND e.action = 'ingest' ORDER BY e.seq LIMIT 1),"
		" (SELECT count(*) FROM items) FROM items i WHERE (?1 = 0 OR i.case_id = ?1)"
		" ORDER BY i.id",
		err, sizeof err);
	if (!st) {
		cli_warn("evcap verify: %s", err);
		json_decref(v.problems);
		json_decref(v.unreadable);
		return EXIT_PROBLEM;
	}
	sqlite3_bind_int64(st, 1, case_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *sha = (const char *)sqlite3_column_text(st, 1);
		int64_t size = sqlite3_column_int64(st, 2);
		const char *name = (const char *)sqlite3_column_text(st, 3);
		const char *origin = (const char *)sqlite3_column_text(st, 4);
		n_items++;
		if (tty) {
			fprintf(stderr, "\r\033[Kverifying %lld/%lld", (long long)n_items,
				(long long)sqlite3_column_int64(st, 6));
			fflush(stderr);
		}
		if (!sha || !sha256_hex_valid(sha)) {
			problem(&v, "item %lld (%s): its recorded SHA-256 is not valid", (long long)id,
				name);
			continue;
		}
		verify_blob(s, &v, id, sha, size, name);
		if (origin && strcmp(origin, "local") == 0) {
			if (sqlite3_column_type(st, 5) == SQLITE_NULL)
				problem(&v,
					"item %lld (%s, %.12s): no custody event records its ingest",
					(long long)id, name, sha);
			else if (sqlite3_column_int64(st, 5) != size)
				problem(&v,
					"item %lld (%s, %.12s): its size (%lld) disagrees with the "
					"custody log (%lld)",
					(long long)id, name, sha, (long long)size,
					(long long)sqlite3_column_int64(st, 5));
		}
	}
	/* a damaged page of the database ends the walk early: the items
	 * after it were never looked at, which is no "intact" */
	if (r != SQLITE_DONE)
		problem(&v,
			"%s/evidence.db: the items could not all be read (%lld were checked): %s",
			store_dir(s), (long long)n_items, sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	if (tty)
		fprintf(stderr, "\r\033[K");
	int64_t itemless;
	verify_ingested(s, &v, &itemless);
	verify_kept(s, &v);
	verify_records(s, &v, case_id);
	verify_notes(s, &v);

	int chain = custody_verify(s, chain_report, &v, err, sizeof err);
	int64_t f_events = 0, f_devices = 0;
	if (chain >= 0)
		chain = custody_verify_foreign(s, chain_report, &v, &f_events, &f_devices, err,
					       sizeof err);
	if (chain < 0) {
		cli_warn("evcap verify: %s", err);
		json_decref(v.problems);
		json_decref(v.unreadable);
		return EXIT_PROBLEM;
	}
	/* blobs no item names: a pull or ingest stopped after placing them.
	 * Not damage: the next pull or ingest that brings them uses them */
	int64_t orphans = 0;
	if (store_orphan_blobs(s, &orphans, err, sizeof err)) {
		fprintf(stderr, "evcap verify: the originals no item names were not counted: %s\n",
			err);
		orphans = 0;
	}
	orphans = orphans > itemless ? orphans - itemless : 0;
	/* bundles a later bundle names that a pull found missing from their
	 * target and that never came (docs/sync.md): not damage to this
	 * store, but a known gap in what reached it, said with the rest */
	int64_t not_received = 0; /* -1: not counted */
	sqlite3_stmt *nr = store_prepare(
		s,
		"SELECT count(*) FROM bundles b WHERE b.previous_missing IS NOT NULL"
		" AND (?1 = 0 OR b.case_id = ?1)"
		" AND " STORE_SQL_PREVIOUS_UNHELD,
		err, sizeof err);
	if (nr) {
		sqlite3_bind_int64(nr, 1, case_id);
		if (sqlite3_step(nr) == SQLITE_ROW)
			not_received = sqlite3_column_int64(nr, 0);
		sqlite3_finalize(nr);
	} else {
		not_received = -1;
		fprintf(stderr, "evcap verify: the bundles never received were not counted: %s\n",
			err);
	}
	/* bundles a pull refused (their "bundle refused" events) that no pull
	 * has taken since: a gap in what reached this store, said the same way */
	int64_t refused = 0; /* -1: not counted */
	sqlite3_stmt *rf = store_prepare(
		s,
		"SELECT count(DISTINCT json_extract(c.event, '$.detail.bundle_id')) FROM custody c"
		" WHERE c.action = 'bundle refused'"
		" AND (?1 = 0 OR c.case_number = (SELECT number FROM cases WHERE id = ?1))"
		" AND NOT EXISTS (SELECT 1 FROM bundles p"
		"  WHERE p.bundle_id = json_extract(c.event, '$.detail.bundle_id'))"
		/* one found missing since is counted as missing, once */
		" AND NOT EXISTS (SELECT 1 FROM bundles m"
		"  WHERE m.previous = json_extract(c.event, '$.detail.bundle_id')"
		"  AND m.previous_missing IS NOT NULL)",
		err, sizeof err);
	if (rf) {
		sqlite3_bind_int64(rf, 1, case_id);
		if (sqlite3_step(rf) == SQLITE_ROW)
			refused = sqlite3_column_int64(rf, 0);
		sqlite3_finalize(rf);
	} else {
		refused = -1;
		fprintf(stderr, "evcap verify: the bundles refused were not counted: %s\n", err);
	}
	/* store_open recorded every restore whose event was missing, if it
	 * could: one it could not is a gap in the log */
	if (store_kept_unrecorded(s, unrecorded_report, &v, err, sizeof err) < 0) {
		/* a reader the store's folders do not let in (errno from the
		 * listing, the last call made) did not check them: said, as
		 * for the originals it may not read, but not damage */
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "evcap verify: the copies kept under blobs/damaged/ were not "
					"checked against the custody log: %s\n",
				err);
		else
			problem(&v, "the copies kept under blobs/damaged/ were not checked against "
				    "the custody log: %s",
				err);
	}
	char head[SHA256_HEX_LEN + 1];
	int64_t events = 0;
	if (custody_head(s, head, &events))
		problem(&v, "%s/evidence.db: the head of the custody log could not be read: %s",
			store_dir(s), sqlite3_errmsg(store_db(s)));
	size_t n_problems = json_array_size(v.problems);
	size_t n_unreadable = json_array_size(v.unreadable);

	/* the check itself is an action on the evidence: record its result
	 * (not in a store opened read-only, as cli_store said) */
	json_t *d = json_object();
	json_object_set_new(d, "items", json_integer(n_items));
	json_object_set_new(d, "problems", json_integer((json_int_t)n_problems));
	if (n_unreadable)
		json_object_set_new(d, "unreadable", json_integer((json_int_t)n_unreadable));
	const char *case_number = case_name;
	if (!store_readonly(s) &&
	    (store_begin(s, err, sizeof err) ||
	     custody_append(s, time_now(), cli->actor, "verify", case_number, NULL, d, NULL, err,
			    sizeof err) ||
	     store_commit(s, err, sizeof err))) {
		store_rollback(s);
		cli_warn("evcap verify: could not record the check: %s", err);
	}
	json_decref(d);

	if (cli->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_boolean(n_problems == 0 && n_unreadable == 0));
		json_object_set_new(o, "items_checked", json_integer(n_items));
		json_object_set_new(o, "custody_events", json_integer(events));
		json_object_set_new(o, "chain_head", json_string(head));
		json_object_set_new(o, "other_devices_events", json_integer(f_events));
		json_object_set_new(o, "other_devices", json_integer(f_devices));
		json_object_set_new(o, "orphan_blobs", json_integer(orphans));
		json_object_set_new(o, "bundles_not_received",
				    not_received < 0 ? json_null() : json_integer(not_received));
		json_object_set_new(o, "bundles_refused",
				    refused < 0 ? json_null() : json_integer(refused));
		json_object_set_new(o, "problems", v.problems);
		json_object_set_new(o, "unreadable", v.unreadable);
		cli_print_json(o);
	} else if (cli->verbosity >= 0 || n_problems || n_unreadable) {
		if (n_problems == 0 && n_unreadable) {
			/* nothing found damaged, but not everything could be looked at */
			printf("%lld item%s intact, %zu not checked: %s could not be read (not "
			       "damage: this user may not read %s); custody chain of %lld event%s "
			       "intact (head %.16s)\n",
			       (long long)n_items - (long long)n_unreadable,
			       n_items - (int64_t)n_unreadable == 1 ? "" : "s", n_unreadable,
			       n_unreadable == 1 ? "its original" : "their originals",
			       n_unreadable == 1 ? "it" : "them", (long long)events,
			       events == 1 ? "" : "s", head);
		} else if (n_problems == 0) {
			printf("%lld item%s intact; custody chain of %lld event%s intact (head %.16s)\n",
			       (long long)n_items, n_items == 1 ? "" : "s", (long long)events,
			       events == 1 ? "" : "s", head);
			if (f_events)
				printf("custody events of %lld other device%s, from pulled bundles: "
				       "%lld, intact\n",
				       (long long)f_devices, f_devices == 1 ? "" : "s",
				       (long long)f_events);
		} else {
			printf("%zu problem%s found in %lld item%s and %lld custody event%s\n",
			       n_problems, n_problems == 1 ? "" : "s", (long long)n_items,
			       n_items == 1 ? "" : "s", (long long)events, events == 1 ? "" : "s");
			if (n_unreadable)
				printf("%zu more original%s could not be read and %s not checked\n",
				       n_unreadable, n_unreadable == 1 ? "" : "s",
				       n_unreadable == 1 ? "was" : "were");
			if (v.originals_bad)
				printf("an original is put back by ingesting it again from its card or "
				       "any copy (evcap ingest PATH): a file whose bytes match the "
				       "recorded SHA-256 takes the damaged one's place, which is kept "
				       "aside, and the custody log records it\n");
		}
		if (orphans && cli->verbosity >= 0)
			printf("note: %lld original%s in the store belong%s to no item yet (a "
			       "pull or ingest stopped before recording %s); the next pull of %s "
			       "case, or ingest of %s card, uses %s\n",
			       (long long)orphans, orphans == 1 ? "" : "s", orphans == 1 ? "s" : "",
			       orphans == 1 ? "it" : "them", orphans == 1 ? "its" : "their",
			       orphans == 1 ? "its" : "their", orphans == 1 ? "it" : "them");
		if (not_received > 0 && cli->verbosity >= 0)
			printf("note: %lld bundle%s that a later bundle names %s never received; "
			       "pull found %s missing from %s target ('bundle missing' in evcap "
			       "log), and what %s held may have come in later bundles of the same "
			       "device\n",
			       (long long)not_received, not_received == 1 ? "" : "s",
			       not_received == 1 ? "was" : "were",
			       not_received == 1 ? "it" : "them",
			       not_received == 1 ? "its" : "their",
			       not_received == 1 ? "it" : "they");
		if (refused > 0 && cli->verbosity >= 0)
			printf("note: %lld bundle%s that pull refused ('bundle refused' in evcap log) "
			       "%s not reached this store since; what %s held is not in its record "
			       "until a pull takes %s\n",
			       (long long)refused, refused == 1 ? "" : "s",
			       refused == 1 ? "has" : "have", refused == 1 ? "it" : "they",
			       refused == 1 ? "it" : "them");
	}
	if (!cli->json) {
		json_decref(v.problems);
		json_decref(v.unreadable);
	}
	return n_problems || n_unreadable ? EXIT_PROBLEM : EXIT_OK;
}
