/*
 * evcap pull (office side): lists a case's committed bundles on a target
 * and, for each one not imported yet, fetches and validates the manifest,
 * checks its signature against the trusted device keys, downloads and
 * verifies every blob, re-checks the foreign custody chain, and only then
 * imports the bundle in one transaction. A bundle that fails any check is
 * refused whole and nothing of it is imported.
 */
#ifndef EVCAP_PULL_H
#define EVCAP_PULL_H

#include "store.h"
#include "target.h"
#include "util.h"

enum pull_outcome {
	PULL_IMPORTED,
	PULL_REFUSED,      /* the bundle failed a check: nothing wrong here */
	PULL_NOT_IMPORTED, /* nothing known against the bundle: the office store
			    * failed (a full disk), or the target could not be
			    * read; the next pull tries it again */
};

struct pull_opts {
	const char *target_url;
	const char *case_number;
	int trust_new;          /* trust (and record) an unknown device key */
	struct target_opts topts;
	const char *actor;
	/* called once per bundle looked at, with what became of it; msg says
	 * what was imported, or why not */
	void (*report)(void *ctx, const char *bundle_id, enum pull_outcome outcome,
		       const char *msg);
	/* called, before any bundle is pulled, once for each entry under the
	 * case's folder on the target that is not read: a folder or file whose
	 * name is no bundle id (a copy named "ID (1)" by a file manager), or
	 * something in a bundle's folder other than its files. entry is its
	 * key escaped for showing (ingest_display_path), what says what it is
	 * ("a folder", "a file", "a symbolic link"), msg is the whole warning
	 * with the target, the reason and what to do. Past the first 1000,
	 * one more call says how many more there are. These are
	 * warnings: what is a bundle is still pulled. */
	void (*not_read)(void *ctx, const char *entry, const char *what, const char *msg);
	/* called, after the bundles are pulled, once for each bundle found
	 * missing from the target (see find_missing in pull.c): its id, the
	 * pulled bundle that names it, their device, and the whole message.
	 * Each is found once: the store records that it said so. */
	void (*missing)(void *ctx, const char *bundle_id, const char *named_by,
			const char *device_id, const char *msg);
	void *report_ctx;
};

struct pull_report {
	int bundles_seen;     /* committed bundles on the target, and those refused
			       * for a bundle directory or COMMITTED that is not
			       * a plain one */
	int not_committed;    /* bundles without COMMITTED (left alone) */
	int imported;
	int refused;
	int not_imported;     /* PULL_NOT_IMPORTED */
	int already;          /* imported by an earlier pull */
	int items;            /* items imported */
	int items_updated;    /* items held that took a later revision's fields */
	int readings_updated; /* readings held that took a later revision's fields */
	int not_read;         /* entries under the case's folder not read (above) */
	int missing;          /* bundles found missing from the target (above) */
	/* when nothing of the case was found: a folder on the target that
	 * looks like its folder (or its bundles folder) renamed, escaped for
	 * showing ("cases/KEY (1)"); "" when none */
	char renamed[320];
};

/* 0 when every bundle was imported or had been; EV_ECORRUPT when some were
 * refused (each reported); EV_EIO when the office store failed (a full
 * disk: the bundles after that one are not tried), EV_ENET when a bundle
 * could not be read from the target; another negative code when the
 * target could not be listed (err says why). */
int pull_run(struct store *s, const struct pull_opts *o, struct pull_report *rep, char *err,
	     size_t errlen) WUR;

#endif
