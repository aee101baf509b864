/*
 * Which medium a file came from: the mount holding a path and that
 * filesystem's UUID and label, so an item can name the sealed card or drive
 * that held it. Parsing of /proc/self/mountinfo lines and of udev database
 * records is pure and bounded; the lookups around them read the live system
 * (libblkid when built with HAVE_BLKID, else /run/udev/data and
 * /dev/disk/by-uuid, by-label).
 */
#ifndef EVCAP_MEDIUM_H
#define EVCAP_MEDIUM_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

#define MEDIUM_PATH_MAX 4096
#define MEDIUM_UUID_MAX 128
#define MEDIUM_LABEL_MAX 256
/* A mountinfo file larger than this is refused (thousands of mounts fit). */
#define MEDIUM_MOUNTINFO_MAX ((size_t)4 << 20)

/* One line of /proc/self/mountinfo, with the octal escapes (\040 for a
 * space, \011, \012, \134) decoded. */
struct mount_entry {
	unsigned major, minor;            /* st_dev of files on this mount */
	char root[MEDIUM_PATH_MAX];       /* the mount's root within its filesystem */
	char mount_point[MEDIUM_PATH_MAX];
	char options[512];                /* per-mount options: "ro,nosuid,..." */
	char fstype[64];
	char source[MEDIUM_PATH_MAX];     /* "/dev/sdb1", "tmpfs", ... */
};

/*
 * Parses one mountinfo line of n bytes (no newline needed). 0, or
 * EV_EINVAL when the line is malformed and EV_ELIMIT when a field is longer
 * than its slot. Pure.
 */
int medium_parse_mountinfo_line(const char *line, size_t n, struct mount_entry *out) WUR;

/*
 * Finds, in a whole mountinfo text, the mount that holds `path` (absolute,
 * already resolved): among the mounts whose device is major:minor, the one
 * with the longest mount point that is a prefix of path at a '/' boundary;
 * if none has that device, the longest prefix of any mount. 0 and *out
 * filled, or EV_ENOENT. Malformed lines are skipped. Pure.
 */
int medium_find_mount(const char *text, size_t n, unsigned major, unsigned minor,
		      const char *path, struct mount_entry *out) WUR;

/*
 * Reads the filesystem UUID and label from a udev database record
 * (/run/udev/data/bMAJ:MIN: lines "E:ID_FS_UUID=...", "E:ID_FS_LABEL_ENC=...",
 * "E:ID_FS_LABEL=..."). The encoded label's \xNN escapes are decoded; bytes
 * that would not be valid UTF-8 or are control characters are dropped.
 * Empty strings when absent. Pure.
 */
void medium_parse_udev(const char *text, size_t n, char uuid[MEDIUM_UUID_MAX],
		       char label[MEDIUM_LABEL_MAX]);

/* Decodes udev's \xNN escapes (as in /dev/disk/by-label names) into out;
 * unsafe bytes (controls, '/', invalid UTF-8) leave out empty. Pure. */
void medium_unescape_udev(const char *in, char *out, size_t outlen);

struct medium {
	char uuid[MEDIUM_UUID_MAX];   /* "" when the filesystem has none or it is unknown */
	char label[MEDIUM_LABEL_MAX]; /* "" when none */
	char mount_point[MEDIUM_PATH_MAX];
	char source[MEDIUM_PATH_MAX];
	char fstype[64];
	int read_only;                /* mounted "ro" */
	dev_t dev;
};

/*
 * Looks up the medium holding `path` on this machine. A path on a
 * filesystem with no block device (tmpfs, overlay, a network mount)
 * succeeds with empty uuid and label. EV_ENOENT when the path cannot be
 * stat'ed, EV_EIO when mountinfo cannot be read; err names the path.
 */
int medium_of_path(const char *path, struct medium *out, char *err, size_t errlen) WUR;

#endif
