/*
 * The dir: target: the bundle layout as plain files under a directory (a
 * USB disk carried into an air-gapped office, an NFS or SMB mount). Files
 * are placed with temp + fsync + link() + fsync of the directory, so an
 * object is either absent or whole and an existing one is never replaced
 * (on exFAT or FAT, which have no hard links, a rename that does not
 * replace takes link()'s place: dir_put_in_place).
 * Every path is walked one component at a time with O_NOFOLLOW, so a disk
 * prepared with symlinks cannot redirect a read or a write.
 */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "meter.h"
#include "target_impl.h"

#define DIR_CHUNK (256 * 1024)
#define DIR_LIST_DEPTH 8

/* How a finished temporary file is put in place (dir_put_in_place). */
enum dir_place_how {
	DIR_PLACE_LINK,    /* link() */
	DIR_PLACE_RENAME2, /* renameat2() with RENAME_NOREPLACE: no hard links */
	DIR_PLACE_RENAME,  /* a look, then rename(), under a lock: neither */
};

struct dir_target {
	char *root;
	int root_fd;
	long bandwidth; /* bytes/s written or read, 0 = no cap */
	int progress;   /* a progress line for files over 1 MiB */
	enum dir_place_how place; /* what the file system was found to take */
};

/* What a file that should be a regular file or a directory is instead. */
static const char *mode_kind(mode_t m)
{
	return S_ISREG(m)    ? "a regular file"
	       : S_ISLNK(m)  ? "a symbolic link"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m) || S_ISBLK(m) ? "a device"
				       : "an unknown kind of file";
}

/*
 * Opens the directory holding key's last component, creating missing
 * directories when `create` is set. *name points into key.
 */
static int dir_parent(struct dir_target *d, const char *key, int create, int *out_fd,
		      const char **name, char *err, size_t errlen)
{
	int fd = dup(d->root_fd), rc = 0;
	const char *p = key;
	char seg[256];
	*out_fd = -1;
	if (fd < 0)
		return err_set(err, errlen, EV_EIO, "%s: %s", d->root, strerror(errno));
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		size_t n = (size_t)(slash - p);
		if (n >= sizeof seg) {
			rc = err_set(err, errlen, EV_EINVAL, "key segment too long in '%s'", key);
			goto fail;
		}
		memcpy(seg, p, n);
		seg[n] = '\0';
		int next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, seg, 0755) < 0 && errno != EEXIST) {
				rc = err_set(err, errlen, EV_EIO, "%s/%s: cannot create directory: %s",
					     d->root, key, strerror(errno));
				goto fail;
			}
			if (fsync(fd) < 0 && errno != EINVAL) {
				rc = err_set(err, errlen, EV_EIO, "%s: fsync failed: %s", d->root,
					     strerror(errno));
				goto fail;
			}
			next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			/* name the component that failed, not the key beyond it; a
			 * symlink or a file in the way is a fault no retry mends */
			int e = errno;
			struct stat st;
			if ((e == ELOOP || e == ENOTDIR) &&
			    fstatat(fd, seg, &st, AT_SYMLINK_NOFOLLOW) == 0)
				rc = err_set(err, errlen, EV_ECORRUPT,
					     "%s/%.*s: is %s, not a directory", d->root,
					     (int)(slash - key), key, mode_kind(st.st_mode));
			else
				rc = err_set(err, errlen, e == ENOENT ? EV_ENOENT : EV_EIO,
					     "%s/%.*s: %s", d->root, (int)(slash - key), key,
					     strerror(e));
			goto fail;
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*out_fd = fd;
	*name = p;
	return 0;
fail:
	close(fd);
	return rc;
}

/* Hashes an open file from the start; 0 or EV_EIO. */
static int hash_fd(int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *size)
{
	struct sha256 *h = sha256_new();
	char *chunk = xmalloc(DIR_CHUNK);
	uint64_t total = 0;
	int rc = 0;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = EV_EIO;
		goto out;
	}
	for (;;) {
		ssize_t r = fs_read_full(fd, chunk, DIR_CHUNK);
		if (r < 0) {
			rc = EV_EIO;
			goto out;
		}
		if (r == 0)
			break;
		sha256_update(h, chunk, (size_t)r);
		total += (uint64_t)r;
	}
	uint8_t d[SHA256_LEN];
	sha256_final(h, d);
	hex_encode(d, SHA256_LEN, hex);
	*size = total;
out:
	free(chunk);
	sha256_free(h);
	return rc;
}

/*
 * Opens name in dfd for reading if it is a regular file; *st is its
 * status. A symlink, FIFO, device or directory is never opened, and is
 * EV_ECORRUPT (a fault of the target that no retry mends); a missing file
 * is EV_ENOENT; anything else EV_EIO.
 */
static int dir_open_regular(struct dir_target *d, int dfd, const char *name, const char *key,
			    int *out, struct stat *st, char *err, size_t errlen)
{
	*out = -1;
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_set(err, errlen, errno == ENOENT ? EV_ENOENT : EV_EIO, "%s/%s: %s",
			       d->root, key, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return err_set(err, errlen, EV_ECORRUPT, "%s/%s: is %s, not a regular file",
			       d->root, key, mode_kind(st->st_mode));
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, errlen,
			       errno == ENOENT ? EV_ENOENT : errno == ELOOP ? EV_ECORRUPT : EV_EIO,
			       "%s/%s: %s", d->root, key,
			       errno == ELOOP ? "is a symbolic link, not a regular file"
					      : strerror(errno));
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) { /* swapped since it was looked at */
		close(fd);
		return err_set(err, errlen, EV_ECORRUPT, "%s/%s: is %s, not a regular file",
			       d->root, key, mode_kind(st->st_mode));
	}
	*out = fd;
	return 0;
}

/* A temporary file older than this was left by a run that died (a pulled
 * disk, a power cut); a live run writes to its own and finishes sooner. */
#define DIR_STALE_TMP_SECONDS (6 * 3600)

/*
 * Removes what runs that died left of `name` in dfd: its .tmp-<name>-*
 * files. Before the object is in place, only those not written to for
 * DIR_STALE_TMP_SECONDS go (a writer on another machine may hold no lock
 * we can see). Once it is in place and verified (`done`), every one that
 * no writer holds locked goes at once: a writer holds an exclusive flock
 * on its temp file until it is linked or removed, so a file nobody holds
 * was left by a run killed mid-write, and nothing would ever write that
 * object again to clear it. A live writer of another kind that loses its
 * file finds the object in place (dir_place) and is content.
 */
static void dir_drop_stale(int dfd, const char *name, int done)
{
	char prefix[280];
	int n = snprintf(prefix, sizeof prefix, ".tmp-%.200s-", name);
	int fd = dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	time_t now = time(NULL);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(dir); /* a dup shares its offset with dfd: an earlier walk left it at the end */
	while ((e = readdir(dir))) {
		struct stat st;
		if (strncmp(e->d_name, prefix, (size_t)n) != 0 ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (now - st.st_mtime > DIR_STALE_TMP_SECONDS) {
			unlinkat(dfd, e->d_name, 0);
			continue;
		}
		if (!done)
			continue;
		/* opened for writing where we may: NFS takes an exclusive
		 * flock only on a descriptor open for writing */
		int t = openat(dfd, e->d_name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (t < 0)
			t = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (t < 0)
			continue;
		if (fs_tmp_abandoned(t, e->d_name))
			unlinkat(dfd, e->d_name, 0);
		close(t);
	}
	closedir(dir);
}

static int dir_stat_at(struct dir_target *d, int dfd, const char *name, const char *key,
		       const char *sha_hex, uint64_t size, int *present, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = dir_open_regular(d, dfd, name, key, &fd, &st, err, errlen);
	if (rc == EV_ENOENT)
		return 0;
	if (rc)
		return rc;
	*present = 1;
	if (size && (uint64_t)st.st_size != size) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "%s/%s: already there with %lld bytes, expected %llu", d->root, key,
			     (long long)st.st_size, (unsigned long long)size);
		goto out;
	}
	if (sha_hex) {
		char got[SHA256_HEX_LEN + 1];
		uint64_t n;
		if (hash_fd(fd, got, &n)) {
			rc = err_set(err, errlen, EV_EIO, "%s/%s: read failed: %s", d->root, key,
				     strerror(errno));
			goto out;
		}
		if (strcmp(got, sha_hex) != 0)
			rc = err_set(err, errlen, EV_ECORRUPT,
				     "%s/%s: already there with different content (SHA-256 %s)",
				     d->root, key, got);
	}
out:
	close(fd);
	return rc;
}

static int dir_stat(void *impl, const char *key, const char *sha_hex, uint64_t size,
		    int *present, char *err, size_t errlen)
{
	struct dir_target *d = impl;
	const char *name;
	int dfd, rc = dir_parent(d, key, 0, &dfd, &name, err, errlen);
	if (rc == EV_ENOENT)
		return 0;
	if (rc)
		return rc;
	rc = dir_stat_at(d, dfd, name, key, sha_hex, size, present, err, errlen);
	if (!rc && *present && sha_hex)
		dir_drop_stale(dfd, name, 1);
	close(dfd);
	return rc;
}

/* Reads bytes for a placement: from a file descriptor or a buffer. */
struct dir_src {
	int fd;
	const char *p;
	size_t n, off;
	uint64_t total; /* bytes expected, for the progress line */
};

static ssize_t src_read(struct dir_src *s, char *out, size_t cap)
{
	if (s->fd >= 0)
		return fs_read_full(s->fd, out, cap);
	size_t k = s->n - s->off < cap ? s->n - s->off : cap;
	memcpy(out, s->p + s->off, k);
	s->off += k;
	return (ssize_t)k;
}

/*
 * Puts the temporary file tmp in dfd in place as name, never over a file
 * there: 0, or -1 with errno (EEXIST: name is there; ENOENT: tmp is
 * gone). link() is the way. A file system without hard links refuses it
 * (EPERM from exFAT and FAT, the USB disk docs/appliance.md formats;
 * EOPNOTSUPP or ENOSYS elsewhere) and takes renameat2() with
 * RENAME_NOREPLACE, as the kernel's exfat and vfat drivers do. One without
 * that either (EINVAL: a FUSE driver such as exfat-fuse) gets a look for
 * name and then a rename(). What works is remembered for the target, so
 * each file costs one call.
 *
 * Between that look and the rename a file placed by someone else would
 * be replaced. An flock on the target's folder, held across both, keeps
 * out every other evcap run on this computer, which is where a USB disk
 * is written from. Only a share mounted on two computers that has neither
 * hard links nor RENAME_NOREPLACE keeps the window, and there two evcap
 * runs can race only for a blob (the same bytes under their SHA-256, each
 * copy checked before it is placed) or the disk's id (a disk whose id
 * changed is taken for a new one and sent everything again): a bundle's
 * files are named by a bundle id of one device, whose runs take turns
 * (sync_lock).
 */
static int dir_put_in_place(struct dir_target *d, int dfd, const char *tmp, const char *name)
{
	if (d->place == DIR_PLACE_LINK) {
		if (linkat(dfd, tmp, dfd, name, 0) == 0)
			return 0;
		if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
			return -1;
		log_info("%s: the file system has no hard links (%s); files are placed by a "
			 "rename that never replaces one",
			 d->root, strerror(errno));
		d->place = DIR_PLACE_RENAME2;
	}
	if (d->place == DIR_PLACE_RENAME2) {
		if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		log_info("%s: the file system cannot rename without replacing (%s); each file is "
			 "placed only after looking that none is there, with the folder locked",
			 d->root, strerror(errno));
		d->place = DIR_PLACE_RENAME;
	}
	struct stat st;
	int rc = -1, e;
	if (flock(d->root_fd, LOCK_EX) < 0)
		log_debug("%s: cannot lock the folder: %s", d->root, strerror(errno));
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		e = EEXIST;
	else if (errno != ENOENT)
		e = errno;
	else if (renameat(dfd, tmp, dfd, name) == 0)
		rc = 0, e = 0;
	else
		e = errno;
	flock(d->root_fd, LOCK_UN);
	errno = e;
	return rc;
}

/*
 * Makes a placed file read-only (mode). exFAT and FAT hold no mode, only
 * a read-only flag: their drivers refuse (EPERM) a mode whose read and
 * execute bits differ from what the mount gives every file, so there the
 * file keeps those and loses its write bits, which sets the flag.
 */
static int dir_chmod(int fd, mode_t mode)
{
	struct stat st;
	if (fchmod(fd, mode) == 0)
		return 0;
	if (errno != EPERM || fstat(fd, &st) < 0)
		return -1;
	return fchmod(fd, st.st_mode & 07777 & ~(mode_t)0222);
}

/*
 * Writes src to a temp file next to key, checks its SHA-256 against
 * sha_hex (when given), fsyncs, and puts it in place exclusively.
 * An existing identical object is success.
 */
static int dir_place(struct dir_target *d, const char *key, struct dir_src *src,
		     const char *sha_hex, mode_t mode, char *err, size_t errlen)
{
	const char *name;
	char tmp[320], got[SHA256_HEX_LEN + 1];
	int dfd = -1, fd = -1, rc, have_tmp = 0;
	char *chunk = xmalloc(DIR_CHUNK);
	struct sha256 *h = sha256_new();
	size_t cs = meter_chunk(d->bandwidth, DIR_CHUNK);
	uint64_t done = 0;
	struct meter m;

	meter_start(&m, key, src->total, d->bandwidth, d->progress);
	rc = dir_parent(d, key, 1, &dfd, &name, err, errlen);
	if (rc)
		goto out;
	dir_drop_stale(dfd, name, 0);
	snprintf(tmp, sizeof tmp, ".tmp-%.200s-%ld-%08x", name, (long)getpid(),
		 (unsigned)randombytes_random());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s/%s: cannot create a temporary file: %s",
			     d->root, key, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	/* held until the file is linked or removed: it tells dir_drop_stale
	 * that this one is being written (a fresh file: nobody else holds it) */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		log_debug("%s/%s: cannot lock the temporary file: %s", d->root, key,
			  strerror(errno));
	for (;;) {
		ssize_t r = src_read(src, chunk, cs);
		if (r < 0) {
			rc = err_set(err, errlen, EV_EIO, "reading the local copy of %s: %s", key,
				     strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		sha256_update(h, chunk, (size_t)r);
		if (fs_write_all(fd, chunk, (size_t)r) < 0) {
			rc = err_set(err, errlen, EV_EIO, "%s/%s: write failed: %s", d->root, key,
				     strerror(errno));
			goto out;
		}
		done += (uint64_t)r;
		meter_update(&m, done);
	}
	meter_end(&m);
	uint8_t dg[SHA256_LEN];
	sha256_final(h, dg);
	hex_encode(dg, SHA256_LEN, got);
	if (sha_hex && strcmp(got, sha_hex) != 0) {
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "the local copy of %s does not hash to its name (got %s); run evcap verify",
			     key, got);
		goto out;
	}
	if (fsync(fd) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s/%s: fsync failed: %s", d->root, key,
			     strerror(errno));
		goto out;
	}
	if (dir_chmod(fd, mode) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s/%s: cannot make it read-only: %s", d->root,
			     key, strerror(errno));
		goto out;
	}
	/* placing refuses to replace: the only way an object ever appears.
	 * EEXIST: an object is there; ENOENT: our file was taken for a
	 * leftover, which dir_drop_stale does only once the object is in
	 * place. Either way it counts if it is ours. */
	if (dir_put_in_place(d, dfd, tmp, name) < 0) {
		int e = errno, present = 0;
		if (e != EEXIST && e != ENOENT) {
			rc = err_set(err, errlen, EV_EIO, "%s/%s: cannot place file: %s", d->root,
				     key, strerror(e));
			goto out;
		}
		rc = dir_stat_at(d, dfd, name, key, got, 0, &present, err, errlen);
		if (rc == EV_ECORRUPT)
			rc = err_set(err, errlen, EV_EEXIST,
				     "%s/%s: already there with different content; not replaced",
				     d->root, key);
		else if (!rc && !present)
			rc = err_set(err, errlen, EV_EIO, "%s/%s: cannot place file: %s", d->root,
				     key, strerror(e));
		if (rc)
			goto out;
	}
	if (fsync(dfd) < 0 && errno != EINVAL)
		rc = err_set(err, errlen, EV_EIO, "%s: fsync of directory failed: %s", d->root,
			     strerror(errno));
out:
	meter_end(&m);
	if (have_tmp)
		unlinkat(dfd, tmp, 0);
	if (fd >= 0)
		close(fd); /* the lock goes with it, after the name */
	if (!rc)
		dir_drop_stale(dfd, name, 1); /* in place, and ours */
	if (dfd >= 0)
		close(dfd);
	sha256_free(h);
	free(chunk);
	return rc;
}

/*
 * A blob the directory already holds (a disk another laptop synced to, a
 * field store whose journal is new) is read and hashed rather than written
 * again: reading costs less than writing and fsyncing, and the count of
 * what was sent stays true. Only a file of the right size is read.
 */
static int dir_put_file(void *impl, const char *key, const char *path, const char *sha_hex,
			uint64_t size, const struct target_journal *j, int *existed, char *err,
			size_t errlen)
{
	(void)j;
	int present = 0, rc = dir_stat(impl, key, sha_hex, size, &present, err, errlen);
	if (!rc && present) {
		*existed = 1;
		return 0;
	}
	if (rc == EV_ECORRUPT && present) {
		char why[512];
		snprintf(why, sizeof why, "%.500s", err);
		return err_set(err, errlen, EV_EEXIST, "%s; not replaced", why);
	}
	if (rc)
		return rc;
	struct dir_src src = {.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), .total = size};
	if (src.fd < 0)
		return err_set(err, errlen, EV_EIO, "%s: cannot open: %s", path, strerror(errno));
	rc = dir_place(impl, key, &src, sha_hex, 0444, err, errlen);
	close(src.fd);
	return rc;
}

static int dir_put_buf(void *impl, const char *key, const void *p, size_t n, char *err,
		       size_t errlen)
{
	struct dir_src src = {.fd = -1, .p = p, .n = n, .total = n};
	return dir_place(impl, key, &src, NULL, 0444, err, errlen);
}

static int dir_get(void *impl, const char *key, uint64_t offset, uint64_t max, target_sink sink,
		   void *ctx, char *err, size_t errlen)
{
	struct dir_target *d = impl;
	const char *name;
	struct stat st;
	struct meter m = {0};
	char *chunk = NULL;
	int fd = -1, dfd, rc = dir_parent(d, key, 0, &dfd, &name, err, errlen);
	if (rc)
		return rc;
	if ((rc = dir_open_regular(d, dfd, name, key, &fd, &st, err, errlen)))
		goto out;
	if ((uint64_t)st.st_size > max) {
		rc = err_set(err, errlen, EV_ELIMIT, "%s/%s: %lld bytes, more than the %llu allowed",
			     d->root, key, (long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	if (offset && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s/%s: seek failed: %s", d->root, key,
			     strerror(errno));
		goto out;
	}
	chunk = xmalloc(DIR_CHUNK);
	uint64_t left = (uint64_t)st.st_size > offset ? (uint64_t)st.st_size - offset : 0;
	size_t cs = meter_chunk(d->bandwidth, DIR_CHUNK);
	meter_start(&m, key, left, d->bandwidth, d->progress);
	while (left) {
		ssize_t r = fs_read_full(fd, chunk, left < cs ? (size_t)left : cs);
		if (r <= 0) {
			rc = err_set(err, errlen, EV_EIO, "%s/%s: read failed: %s", d->root, key,
				     r < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		rc = sink(ctx, chunk, (size_t)r);
		if (rc)
			goto out;
		left -= (uint64_t)r;
		meter_update(&m, m.total - left);
	}
out:
	meter_end(&m);
	free(chunk);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return rc;
}

struct list_state {
	target_each each;
	void *ctx;
	size_t count, max;
};

/* 1 if name is a temporary file of dir_place: ".tmp-NAME-PID-XXXXXXXX".
 * Only those are left out of a listing; a name merely starting ".tmp-"
 * is listed like any other. */
static int dir_tmp_name(const char *name)
{
	size_t n = strlen(name), i;
	if (strncmp(name, ".tmp-", 5) != 0 || n < 5 + 1 + 1 + 1 + 1 + 8)
		return 0;
	for (i = n - 8; i < n; i++)
		if (!isxdigit((unsigned char)name[i]))
			return 0;
	i = n - 9;
	if (name[i] != '-')
		return 0;
	size_t digits = 0;
	while (i > 5 && isdigit((unsigned char)name[i - 1])) {
		i--;
		digits++;
	}
	return digits > 0 && i > 6 && name[i - 1] == '-';
}

static int list_emit(struct dir_target *d, const char *prefix, struct list_state *ls,
		     const struct target_entry *e, char *err, size_t errlen)
{
	if (++ls->count > ls->max)
		return err_set(err, errlen, EV_ELIMIT, "%s/%s: more than %zu entries", d->root,
			       prefix, ls->max);
	return ls->each(ls->ctx, e);
}

/*
 * Lists fd's entries, walking directories of the layout's names (one
 * that holds nothing is listed itself). A name that is not of the layout
 * is listed as it is (a directory as one entry, not walked), and so is
 * anything that is not a regular file: a symlink or FIFO is named, never
 * followed, so that the reader can say what is wrong rather than miss it.
 */
static int list_dir(struct dir_target *d, int fd, const char *prefix, int depth,
		    struct list_state *ls, char *err, size_t errlen)
{
	int rc = 0;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return err_set(err, errlen, EV_EIO, "%s/%s: %s", d->root, prefix, strerror(errno));
	}
	struct dirent *de;
	while (!rc && (de = readdir(dir))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || dir_tmp_name(n))
			continue;
		char *key = xasprintf("%s%s", prefix, n);
		char why[160];
		struct stat st;
		struct target_entry e = {.key = key, .foreign = !target_key_valid(key)};
		if (fstatat(dirfd(dir), n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) { /* ENOENT: gone since it was read */
				snprintf(why, sizeof why, "a file that cannot be looked at (%s)",
					 strerror(errno));
				e.odd = why;
				rc = list_emit(d, prefix, ls, &e, err, errlen);
			}
		} else if (S_ISREG(st.st_mode)) {
			e.size = (uint64_t)st.st_size;
			rc = list_emit(d, prefix, ls, &e, err, errlen);
		} else if (!S_ISDIR(st.st_mode)) {
			e.odd = mode_kind(st.st_mode);
			rc = list_emit(d, prefix, ls, &e, err, errlen);
		} else if (e.foreign || depth >= DIR_LIST_DEPTH) {
			e.odd = "a directory";
			e.is_dir = 1;
			rc = list_emit(d, prefix, ls, &e, err, errlen);
		} else {
			int sub = openat(dirfd(dir), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				char *p2 = xasprintf("%s/", key);
				size_t before = ls->count;
				rc = list_dir(d, sub, p2, depth + 1, ls, err, errlen);
				free(p2);
				e.is_dir = 1; /* empty: listed, so that it is there too */
				if (!rc && ls->count == before)
					rc = list_emit(d, prefix, ls, &e, err, errlen);
			} else if (errno != ENOENT) {
				snprintf(why, sizeof why, "a directory that cannot be opened (%s)",
					 strerror(errno));
				e.odd = why;
				e.is_dir = 1;
				rc = list_emit(d, prefix, ls, &e, err, errlen);
			}
		}
		free(key);
	}
	closedir(dir);
	return rc;
}

static int dir_list(void *impl, const char *prefix, size_t max_keys, target_each each, void *ctx,
		    char *err, size_t errlen)
{
	struct dir_target *d = impl;
	struct list_state ls = {each, ctx, 0, max_keys};
	/* open the prefix itself (key "prefix/x" gives its parent) */
	char *probe = xasprintf("%sx", prefix);
	const char *name;
	int dfd, rc = dir_parent(d, probe, 0, &dfd, &name, err, errlen);
	free(probe);
	if (rc == EV_ENOENT)
		return 0; /* nothing there yet */
	if (rc)
		return rc;
	return list_dir(d, dfd, prefix, 0, &ls, err, errlen);
}

static const char *dir_info(void *impl)
{
	struct dir_target *d = impl;
	switch (d->place) {
	case DIR_PLACE_RENAME2:
		return "directory target (files placed with fsync and a rename, never replaced; "
		       "the file system has no hard links)";
	case DIR_PLACE_RENAME:
		return "directory target (files placed with fsync and, once none is there, a "
		       "rename, the folder locked; the file system has no hard links)";
	default:
		return "directory target (files placed with fsync and link, never replaced)";
	}
}

static void dir_free(void *impl)
{
	struct dir_target *d = impl;
	if (!d)
		return;
	if (d->root_fd >= 0)
		close(d->root_fd);
	free(d->root);
	free(d);
}

/*
 * The disk's own name, kept in a file at the target's root: sync records
 * what it sent by target, and a path names a mount point, not a disk. A
 * second USB disk mounted where the first was (or the first, wiped)
 * would be taken for a disk holding everything already sent, and get
 * nothing. The file is made once, by the first sync, and never replaced
 * (dir_place links it exclusively); two syncs making it at once both end
 * with the one that was linked first.
 */
#define DIR_ID_KEY "evcap-target-id"
#define DIR_ID_HEX 32

static int dir_read_id(struct dir_target *d, char id[DIR_ID_HEX + 1], char *err, size_t errlen)
{
	struct stat st;
	char b[DIR_ID_HEX + 2];
	int fd, rc = dir_open_regular(d, d->root_fd, DIR_ID_KEY, DIR_ID_KEY, &fd, &st, err, errlen);
	if (rc)
		return rc;
	ssize_t n = fs_read_full(fd, b, sizeof b);
	close(fd);
	if (n != DIR_ID_HEX + 1 || b[DIR_ID_HEX] != '\n')
		return err_set(err, errlen, EV_ECORRUPT,
			       "%s/%s: not an evcap target id (32 hex digits and a newline); if "
			       "this is no evcap disk, give another folder",
			       d->root, DIR_ID_KEY);
	b[DIR_ID_HEX] = '\0';
	for (int i = 0; i < DIR_ID_HEX; i++)
		if (!isxdigit((unsigned char)b[i]))
			return err_set(err, errlen, EV_ECORRUPT,
				       "%s/%s: not an evcap target id (32 hex digits and a newline)",
				       d->root, DIR_ID_KEY);
	memcpy(id, b, DIR_ID_HEX + 1);
	return 0;
}

static int dir_identity(void *impl, int create, char *id, size_t idlen, char *err,
			size_t errlen)
{
	struct dir_target *d = impl;
	char got[DIR_ID_HEX + 1];
	int rc = dir_read_id(d, got, err, errlen);
	if (rc == EV_ENOENT && create) {
		uint8_t r[DIR_ID_HEX / 2];
		char line[DIR_ID_HEX + 2];
		randombytes_buf(r, sizeof r);
		hex_encode(r, sizeof r, line);
		line[DIR_ID_HEX] = '\n';
		struct dir_src src = {.fd = -1, .p = line, .n = DIR_ID_HEX + 1};
		rc = dir_place(d, DIR_ID_KEY, &src, NULL, 0444, err, errlen);
		if (!rc || rc == EV_EEXIST) /* another sync made it first */
			rc = dir_read_id(d, got, err, errlen);
	}
	/* a sync stopped between placing the id and removing its temporary
	 * file left that file, and the id is never written again to clear
	 * it: each sync that finds the id clears what no writer holds (a
	 * pull, which may read a disk mounted read-only, leaves it) */
	if (!rc && create)
		dir_drop_stale(d->root_fd, DIR_ID_KEY, 1);
	if (!rc)
		snprintf(id, idlen, "%s", got);
	return rc;
}

static const struct target_ops dir_ops = {
	.identity = dir_identity,
	.stat = dir_stat,
	.put_file = dir_put_file,
	.put_buf = dir_put_buf,
	.get = dir_get,
	.list = dir_list,
	.info = dir_info,
	.free = dir_free,
};

int target_dir_open(const char *path, const struct target_opts *o, void **impl,
		    const struct target_ops **ops, char *err, size_t errlen)
{
	if (!*path)
		return err_set(err, errlen, EV_EINVAL, "dir: target needs a path (dir:/media/usb)");
	struct dir_target *d = xcalloc(1, sizeof *d);
	d->root = xstrdup(path);
	d->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->root_fd < 0) {
		int e = errno;
		dir_free(d);
		return err_set(err, errlen, e == ENOENT || e == ENOTDIR ? EV_ENOENT : EV_EIO,
			       "%s: cannot open the target directory: %s%s", path, strerror(e),
			       e == ENOENT    ? " (is the disk mounted? create the directory first)"
			       : e == ENOTDIR ? " (a dir: target names a folder, and this is a "
						"file or lies under one)"
					      : "");
	}
	d->bandwidth = o ? o->bandwidth : 0;
	d->progress = o ? o->progress : 0;
	*impl = d;
	*ops = &dir_ops;
	return 0;
}
