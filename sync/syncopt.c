/*
 * Option handling shared by evcap sync and evcap pull (see syncopt.h).
 */
#include "syncopt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

long syncopt_parse_rate(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= 1000 * 1000;
		end++;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > 1e12)
		return -1;
	return (long)v;
}

int syncopt_fill(const struct config *cfg, const char *endpoint, const char *region,
		 const char *retain_days, const char *bandwidth, struct target_opts *o, char *err,
		 size_t errlen)
{
	o->endpoint = endpoint ? endpoint : cfg->sync_endpoint;
	if (!o->endpoint)
		o->endpoint = env("EVCAP_S3_ENDPOINT");
	o->region = region ? region : cfg->sync_region;
	if (!o->region)
		o->region = env("AWS_REGION");
	if (!o->region)
		o->region = env("AWS_DEFAULT_REGION");
	if (!o->region)
		o->region = "us-east-1";
	/* the environment wins over the file, as with every S3 tool */
	if (env("AWS_ACCESS_KEY_ID") || env("AWS_SECRET_ACCESS_KEY")) {
		o->access_key = env("AWS_ACCESS_KEY_ID");
		o->secret_key = env("AWS_SECRET_ACCESS_KEY");
	} else {
		o->access_key = cfg->access_key;
		o->secret_key = cfg->secret_key;
	}
	o->retain_days = cfg->retain_days;
	if (retain_days) {
		char *end;
		long d = strtol(retain_days, &end, 10);
		if (*end || end == retain_days || d < 0 || d > 36500)
			return err_set(err, errlen, EV_EINVAL,
				       "--retain-days must be a number of days (0 to 36500)");
		o->retain_days = (int)d;
	}
	o->bandwidth = cfg->bandwidth;
	if (bandwidth) {
		long r = syncopt_parse_rate(bandwidth);
		if (r < 0)
			return err_set(err, errlen, EV_EINVAL,
				       "--bandwidth must be bytes per second, e.g. 500k or 2M");
		o->bandwidth = r;
	}
	if (o->bandwidth > 0 && o->bandwidth < SYNCOPT_MIN_RATE) {
		char given[64];
		if (bandwidth)
			snprintf(given, sizeof given, "--bandwidth %.40s", bandwidth);
		else
			snprintf(given, sizeof given, "bandwidth = %ld in [sync] of the config",
				 o->bandwidth);
		return err_set(err, errlen, EV_EINVAL,
			       "%s is below the lowest cap that works, 1k (%d bytes/s): a link "
			       "that slow is taken for a dead one and cut; give 1k or more",
			       given, SYNCOPT_MIN_RATE);
	}
	o->max_attempts = 8;
	o->retry_base = 0.5;
	const char *tries = env("EVCAP_SYNC_TRIES");
	if (tries && atoi(tries) > 0)
		o->max_attempts = atoi(tries);
	const char *base = env("EVCAP_SYNC_RETRY_BASE");
	if (base && atof(base) > 0)
		o->retry_base = atof(base);
	const char *stall = env("EVCAP_SYNC_STALL_SECONDS");
	if (stall && atoi(stall) > 0)
		o->stall_seconds = atoi(stall);
	return 0;
}

int syncopt_exit_code(int rc)
{
	return rc == EV_EAUTH || rc == EV_EINVAL || rc == EV_ENOENT ? 2 : 1;
}
