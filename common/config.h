/*
 * evcap.conf: a small INI file ("[section]" lines, "key = value" lines, "#"
 * or ";" comments). config_parse is a pure function over the text; an
 * unknown section or key, or a bad value, is an error naming the line.
 * The file holding sync credentials must not be readable by others
 * (config_load checks the mode when it has a secret).
 */
#ifndef EVCAP_CONFIG_H
#define EVCAP_CONFIG_H

#include <stddef.h>

#include "util.h"

#define CONFIG_MAX_LIST 16
#define CONFIG_MAX_BYTES (256 * 1024)

struct config {
	/* [store] */
	char *store;          /* store directory */
	char *operators[CONFIG_MAX_LIST]; /* default operators, in order */
	size_t n_operators;
	char *case_number;    /* default case for ingest */
	char *time_offset;    /* declared camera offset "+08:00" */

	/* [capture] */
	char *watch[CONFIG_MAX_LIST]; /* roots watched for media and files */
	size_t n_watch;
	double settle_seconds;        /* size+mtime stable this long = complete */
	char *sensors[CONFIG_MAX_LIST]; /* DEVICE:BAUD:FORMAT */
	size_t n_sensors;

	/* [gps] */
	char *gps_server;     /* HOST:PORT of gpsd, "" to disable */
	double max_gap;       /* geotag: longest gap bridged, seconds */
	double max_extrapolate;

	/* [sync] */
	char *sync_target;    /* s3://bucket/prefix or dir:/path */
	char *sync_endpoint;  /* http(s)://host:port for s3 */
	char *sync_region;
	char *access_key;
	char *secret_key;     /* only from a file of mode 0600 or stricter */
	int retain_days;      /* Object Lock COMPLIANCE days, 0 = none */
	long bandwidth;       /* bytes per second cap, 0 = none */
	double sync_interval; /* read for old configs; not used (-1: not set) */
};

/* Fills defaults (no allocation needed for defaults; strings NULL). */
void config_init(struct config *c);
void config_free(struct config *c);

/* Parses text of n bytes into c (which must be config_init'ed); `name` is
 * the file name used in messages. 0, or EV_EINVAL with err such as
 * "evcap.conf:12: unknown key 'wach' in [capture]". */
int config_parse(const char *text, size_t n, const char *name, struct config *c, char *err,
		 size_t errlen) WUR;

/* Reads and parses a file. A file that sets secret_key must be mode 0600
 * or stricter, else EV_EAUTH. A missing file is EV_ENOENT. */
int config_load(const char *path, struct config *c, char *err, size_t errlen) WUR;

/* Parses "HOST:PORT" (IPv6 as [::1]:2947); 0 or EV_EINVAL. host needs
 * 256 bytes, port 8. */
int config_split_hostport(const char *s, char host[256], char port[8]);

#endif
