/*
 * Medium lookup: mountinfo says which mount (and which block device) holds
 * a path; the device's filesystem UUID and label come from its superblock
 * where this process may read the device (root), else from the udev
 * database, libblkid's cache, or the /dev/disk/by-uuid and by-label links,
 * whichever answers first. Those need no right to read the raw device, so
 * the unprivileged daemon can name the card; but each can still describe,
 * for a while, the filesystem a reused device held before (a loop device,
 * a reader's slot): libblkid trusts its cache for up to 200 s, unprobed,
 * when the device node is no newer.
 */
#include "medium.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifdef HAVE_BLKID
#include <blkid.h>
#endif

#include "buf.h"
#include "fsutil.h"

/* Copies the next space-separated field of line[*pos..n) into out (cap
 * bytes) decoding \ooo escapes. 0, EV_EINVAL (no field), EV_ELIMIT. */
static int next_field(const char *line, size_t n, size_t *pos, char *out, size_t cap)
{
	size_t i = *pos, o = 0;
	while (i < n && line[i] == ' ')
		i++;
	if (i >= n)
		return EV_EINVAL;
	while (i < n && line[i] != ' ') {
		char c = line[i];
		if (c == '\\' && i + 3 < n && line[i + 1] >= '0' && line[i + 1] <= '3' &&
		    line[i + 2] >= '0' && line[i + 2] <= '7' && line[i + 3] >= '0' &&
		    line[i + 3] <= '7') {
			c = (char)((line[i + 1] - '0') * 64 + (line[i + 2] - '0') * 8 +
				   (line[i + 3] - '0'));
			i += 4;
		} else {
			i++;
		}
		if (c == '\0')
			return EV_EINVAL;
		if (o + 1 >= cap)
			return EV_ELIMIT;
		out[o++] = c;
	}
	out[o] = '\0';
	*pos = i;
	return 0;
}

static int parse_uint(const char *s, const char *end, unsigned *out)
{
	unsigned long v = 0;
	if (s >= end)
		return EV_EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return EV_EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0xffffffffUL)
			return EV_EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

int medium_parse_mountinfo_line(const char *line, size_t n, struct mount_entry *out)
{
	char field[MEDIUM_PATH_MAX];
	size_t pos = 0;
	int rc;
	memset(out, 0, sizeof *out);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	/* mount id, parent id */
	for (int k = 0; k < 2; k++) {
		if ((rc = next_field(line, n, &pos, field, sizeof field)))
			return rc;
		unsigned dummy;
		if (parse_uint(field, field + strlen(field), &dummy))
			return EV_EINVAL;
	}
	if ((rc = next_field(line, n, &pos, field, sizeof field)))
		return rc;
	char *colon = strchr(field, ':');
	if (!colon || parse_uint(field, colon, &out->major) ||
	    parse_uint(colon + 1, colon + 1 + strlen(colon + 1), &out->minor))
		return EV_EINVAL;
	if ((rc = next_field(line, n, &pos, out->root, sizeof out->root)) ||
	    (rc = next_field(line, n, &pos, out->mount_point, sizeof out->mount_point)) ||
	    (rc = next_field(line, n, &pos, out->options, sizeof out->options)))
		return rc;
	/* optional fields up to the lone "-" separator; at most a few exist */
	for (int k = 0;; k++) {
		if (k > 32)
			return EV_ELIMIT;
		if ((rc = next_field(line, n, &pos, field, sizeof field)))
			return rc;
		if (strcmp(field, "-") == 0)
			break;
	}
	if ((rc = next_field(line, n, &pos, out->fstype, sizeof out->fstype)) ||
	    (rc = next_field(line, n, &pos, out->source, sizeof out->source)))
		return rc;
	if (out->mount_point[0] != '/')
		return EV_EINVAL;
	return 0;
}

/* Length of mount point mp if it contains path at a '/' boundary, else -1. */
static long prefix_len(const char *mp, const char *path)
{
	size_t l = strlen(mp);
	if (strcmp(mp, "/") == 0)
		return 1;
	if (strncmp(mp, path, l) != 0 || (path[l] != '\0' && path[l] != '/'))
		return -1;
	return (long)l;
}

int medium_find_mount(const char *text, size_t n, unsigned major, unsigned minor,
		      const char *path, struct mount_entry *out)
{
	struct mount_entry *e = xmalloc(sizeof *e);
	long best_dev = -1, best_any = -1;
	int found = 0;
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
		if (medium_parse_mountinfo_line(text + i, len, e) == 0) {
			long l = prefix_len(e->mount_point, path);
			int same_dev = e->major == major && e->minor == minor;
			/* a later mount on the same point hides an earlier one:
			 * ">=" keeps the last, as the kernel does */
			if (l >= 0 && same_dev && l >= best_dev) {
				best_dev = l;
				*out = *e;
				found = 1;
			} else if (l >= 0 && best_dev < 0 && l >= best_any) {
				best_any = l;
				*out = *e;
				found = 1;
			}
		}
		i += len + 1;
	}
	free(e);
	return found ? 0 : EV_ENOENT;
}

/* 1 if s (n bytes) is acceptable text for a label: UTF-8 with no control
 * characters and no '/'. */
static int label_ok(const char *s, size_t n)
{
	if (!utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return 0;
	}
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void medium_unescape_udev(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return;
	for (size_t i = 0; in[i]; i++) {
		char c = in[i];
		if (c == '\\' && in[i + 1] == 'x' && hexval(in[i + 2]) >= 0 &&
		    hexval(in[i + 3]) >= 0) {
			c = (char)(hexval(in[i + 2]) * 16 + hexval(in[i + 3]));
			i += 3;
		}
		if (o + 1 >= outlen) {
			o = 0;
			break;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	if (!label_ok(out, o))
		out[0] = '\0';
}

void medium_parse_udev(const char *text, size_t n, char uuid[MEDIUM_UUID_MAX],
		       char label[MEDIUM_LABEL_MAX])
{
	char enc[MEDIUM_LABEL_MAX * 4] = "", plain[MEDIUM_LABEL_MAX] = "";
	uuid[0] = label[0] = '\0';
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
		const char *l = text + i;
		static const struct {
			const char *key;
			size_t cap;
		} keys[] = {{"E:ID_FS_UUID=", MEDIUM_UUID_MAX},
			    {"E:ID_FS_LABEL_ENC=", MEDIUM_LABEL_MAX * 4},
			    {"E:ID_FS_LABEL=", MEDIUM_LABEL_MAX}};
		char *dst[] = {uuid, enc, plain};
		for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
			size_t kl = strlen(keys[k].key);
			if (len > kl && memcmp(l, keys[k].key, kl) == 0) {
				size_t vl = len - kl;
				if (vl < keys[k].cap && !memchr(l + kl, '\0', vl)) {
					memcpy(dst[k], l + kl, vl);
					dst[k][vl] = '\0';
				}
			}
		}
		i += len + 1;
	}
	if (!label_ok(uuid, strlen(uuid)))
		uuid[0] = '\0';
	if (enc[0])
		medium_unescape_udev(enc, label, MEDIUM_LABEL_MAX);
	if (!label[0] && plain[0] && label_ok(plain, strlen(plain)))
		snprintf(label, MEDIUM_LABEL_MAX, "%s", plain);
}

static void from_udev(struct medium *m, unsigned major, unsigned minor)
{
	char path[64];
	struct buf b;
	snprintf(path, sizeof path, "/run/udev/data/b%u:%u", major, minor);
	buf_init(&b, 256 * 1024);
	if (fs_read_file(path, 256 * 1024, &b, NULL, 0) == 0) {
		char uuid[MEDIUM_UUID_MAX], label[MEDIUM_LABEL_MAX];
		medium_parse_udev(b.data, b.len, uuid, label);
		if (!m->uuid[0])
			snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
		if (!m->label[0])
			snprintf(m->label, sizeof m->label, "%s", label);
	}
	buf_free(&b);
}

#ifdef HAVE_BLKID
/* The superblock itself, where the device may be read: 1 when it was
 * (the UUID and label found, or the filesystem has none), else 0. */
static int from_probe(struct medium *m)
{
	int fd = open(m->source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int done = 0;
	blkid_probe pr = blkid_new_probe();
	if (pr && blkid_probe_set_device(pr, fd, 0, 0) == 0 &&
	    blkid_probe_enable_superblocks(pr, 1) == 0 &&
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL) == 0 &&
	    blkid_do_safeprobe(pr) == 0) {
		const char *v;
		size_t len;
		if (blkid_probe_lookup_value(pr, "UUID", &v, &len) == 0 && label_ok(v, strlen(v)))
			snprintf(m->uuid, sizeof m->uuid, "%s", v);
		if (blkid_probe_lookup_value(pr, "LABEL", &v, &len) == 0 && label_ok(v, strlen(v)))
			snprintf(m->label, sizeof m->label, "%s", v);
		done = 1;
	}
	if (pr)
		blkid_free_probe(pr);
	close(fd);
	return done;
}

/* libblkid's cache (/run/blkid/blkid.tab), probing only where it may. */
static void from_blkid(struct medium *m)
{
	blkid_cache cache = NULL;
	if (blkid_get_cache(&cache, NULL) != 0)
		return;
	char *v;
	if (!m->uuid[0] && (v = blkid_get_tag_value(cache, "UUID", m->source))) {
		if (label_ok(v, strlen(v)))
			snprintf(m->uuid, sizeof m->uuid, "%s", v);
		free(v);
	}
	if (!m->label[0] && (v = blkid_get_tag_value(cache, "LABEL", m->source))) {
		if (label_ok(v, strlen(v)))
			snprintf(m->label, sizeof m->label, "%s", v);
		free(v);
	}
	blkid_put_cache(cache);
}
#endif

/* Scans a /dev/disk/by-* folder for the link pointing at the device;
 * names are capped and decoded. */
static void from_by_dir(const char *dir, dev_t dev, char *out, size_t outlen)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	int seen = 0;
	while ((e = readdir(d)) && seen++ < 4096) {
		if (e->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISBLK(st.st_mode) &&
		    st.st_rdev == dev) {
			medium_unescape_udev(e->d_name, out, outlen);
			break;
		}
	}
	closedir(d);
}

int medium_of_path(const char *path, struct medium *out, char *err, size_t errlen)
{
	int rc = 0;
	struct buf b;
	struct mount_entry *e = xmalloc(sizeof *e);
	char *real = NULL;
	struct stat st;
	memset(out, 0, sizeof *out);
	buf_init(&b, MEDIUM_MOUNTINFO_MAX);
	if (lstat(path, &st) < 0 || !(real = realpath(path, NULL))) {
		rc = err_set(err, errlen, EV_ENOENT, "%s: cannot find its medium: %s", path,
			     strerror(errno));
		goto out;
	}
	char rerr[256];
	if (fs_read_file("/proc/self/mountinfo", MEDIUM_MOUNTINFO_MAX, &b, rerr, sizeof rerr)) {
		rc = err_set(err, errlen, EV_EIO, "%s: cannot read the mount table: %s", path, rerr);
		goto out;
	}
	out->dev = st.st_dev;
	if (medium_find_mount(b.data, b.len, major(st.st_dev), minor(st.st_dev), real, e)) {
		rc = err_set(err, errlen, EV_ENOENT, "%s: no mount holds it in /proc/self/mountinfo",
			     path);
		goto out;
	}
	snprintf(out->mount_point, sizeof out->mount_point, "%s", e->mount_point);
	snprintf(out->source, sizeof out->source, "%s", e->source);
	snprintf(out->fstype, sizeof out->fstype, "%s", e->fstype);
	out->read_only = strcmp(e->options, "ro") == 0 || strncmp(e->options, "ro,", 3) == 0;
	/* only a block device has a filesystem UUID worth recording */
	if (strncmp(e->source, "/dev/", 5) != 0 || e->major == 0)
		goto out;
#ifdef HAVE_BLKID
	if (from_probe(out))
		goto out;
#endif
	from_udev(out, e->major, e->minor);
#ifdef HAVE_BLKID
	if (!out->uuid[0] || !out->label[0])
		from_blkid(out);
#endif
	dev_t dev = makedev(e->major, e->minor);
	if (!out->uuid[0])
		from_by_dir("/dev/disk/by-uuid", dev, out->uuid, sizeof out->uuid);
	if (!out->label[0])
		from_by_dir("/dev/disk/by-label", dev, out->label, sizeof out->label);
out:
	free(real);
	free(e);
	buf_free(&b);
	return rc;
}
