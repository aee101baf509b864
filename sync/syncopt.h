/*
 * Target options shared by evcap sync and evcap pull: filled from the
 * command's flags, then the config's [sync] section, then the environment.
 * Credentials are only pointed to, never copied or printed.
 */
#ifndef EVCAP_SYNCOPT_H
#define EVCAP_SYNCOPT_H

#include "config.h"
#include "target.h"
#include "util.h"

/* The lowest --bandwidth: curl sends at least 16 KiB at once and then
 * waits for the average to come down to the cap, and at this rate that
 * wait (16 s) stays well within the 60 s a transfer may go quiet. */
#define SYNCOPT_MIN_RATE 1000

/* Flags are NULL when not given. EV_EINVAL with err for a malformed
 * --retain-days or --bandwidth, or a rate (flag or config) below
 * SYNCOPT_MIN_RATE. Test knobs: $EVCAP_SYNC_TRIES (attempts per
 * request), $EVCAP_SYNC_RETRY_BASE (first backoff, seconds) and
 * $EVCAP_SYNC_STALL_SECONDS (how long a transfer may move under 1 KB/s
 * before the attempt is given up and retried; 60 by default). */
int syncopt_fill(const struct config *cfg, const char *endpoint, const char *region,
		 const char *retain_days, const char *bandwidth, struct target_opts *o, char *err,
		 size_t errlen) WUR;

/* "500k", "2M", "100000" -> bytes per second; -1 when malformed. */
long syncopt_parse_rate(const char *s);

/* The exit status for a sync or pull failure: 2 for settings and
 * credentials to fix (EV_EAUTH, EV_EINVAL, EV_ENOENT), else 1. */
int syncopt_exit_code(int rc);

#endif
