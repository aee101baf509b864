/*
 * Durable file placement and small I/O helpers.
 */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fs_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t fs_read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	char *c = p;
	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int fs_reserve_make(const char *path, uint64_t bytes, char *err, size_t errlen)
{
	struct stat st;
	int rc = 0;
	if (stat(path, &st) == 0 && (uint64_t)st.st_blocks * 512 >= bytes)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return 0; /* tried again next time */
	/* a failed allocation may keep the blocks it got: they are the
	 * room that was asked for elsewhere */
	if (posix_fallocate(fd, 0, (off_t)bytes) != 0 && ftruncate(fd, 0) < 0)
		rc = err_set(err, errlen, EV_EIO, "%s: cannot empty it: %s", path, strerror(errno));
	close(fd);
	return rc;
}

int fs_reserve_release(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_blocks > 0 && unlink(path) == 0;
}

int fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

char *fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

const char *fs_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int fs_fsync_dir(const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errlen, EV_EIO, "%s: cannot open directory: %s", dir,
			       strerror(errno));
	int rc = 0;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = err_set(err, errlen, EV_EIO, "%s: fsync failed: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int fs_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	char *p = xstrdup(path);
	int rc = 0;
	size_t len = strlen(p);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char save = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) == 0) {
			char *parent = fs_dirname(p);
			rc = fs_fsync_dir(parent, err, errlen);
			free(parent);
			if (rc)
				goto out;
		} else if (errno != EEXIST) {
			int full = errno == ENOSPC || errno == EDQUOT;
			rc = err_set(err, errlen, full ? EV_ENOSPC : EV_EIO,
				     "%s: cannot create directory: %s", p, strerror(errno));
			goto out;
		} else {
			struct stat st;
			if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
				rc = err_set(err, errlen, EV_EIO, "%s: exists and is not a directory", p);
				goto out;
			}
		}
		p[i] = save;
	}
out:
	free(p);
	return rc;
}

/* How long an empty temporary file nobody holds may be a live writer's
 * that has created it and not yet locked it, when its pid cannot tell. */
#define FS_TMP_CLAIM_SECONDS 60

/* The writer's pid in a temporary file's name ("...-<pid>-<suffix>", the
 * suffix without '-'), or 0 if it names none. */
static long tmp_name_pid(const char *name)
{
	const char *end = strrchr(name, '-'), *p = end;
	if (!end || end == name)
		return 0;
	while (p > name && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == end || p == name || p[-1] != '-' || end - p > 9)
		return 0;
	return strtol(p, NULL, 10);
}

int fs_tmp_abandoned(int fd, const char *name)
{
	struct stat st;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	/* looked at under the lock: a writer that waits for it has not
	 * written yet */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (st.st_size > 0)
		return 1; /* its writer locked it before the first byte */
	/* empty: its writer may have made it and not locked it yet, if that
	 * writer still runs (another machine's cannot be asked) */
	long pid = tmp_name_pid(name);
	if (pid <= 0 || pid == (long)getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return 1;
	return time(NULL) - st.st_mtime > FS_TMP_CLAIM_SECONDS;
}

/* mkostemp's part of a temporary file's name: ".tmp-<name>-<pid>-XXXXXX". */
#define FS_TMP_SUFFIX 6

/*
 * Removes the temporary files of `name` in dir that an earlier write left
 * when it was stopped (Ctrl-C, kill -9, a power cut): nothing else would
 * ever remove them, and a user who exports again and again into one
 * folder would gather a hidden copy of the evidence at every stop. A
 * writer holds an exclusive flock on its temporary file until it is
 * placed or removed, so only those nobody holds are taken.
 */
void fs_drop_stale_tmp(const char *dir, const char *name)
{
	char *prefix = xasprintf(".tmp-%s-", name);
	size_t plen = strlen(prefix);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		/* "<pid>-XXXXXX", or "XXXXXX" as an older evcap named them */
		const char *rest = e->d_name + plen;
		size_t digits = strspn(rest, "0123456789");
		if (digits && rest[digits] == '-')
			rest += digits + 1;
		if (strlen(rest) != FS_TMP_SUFFIX || strchr(rest, '-'))
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fs_tmp_abandoned(fd, e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
		close(fd);
	}
	if (d)
		closedir(d);
	free(prefix);
}

/* write_atomic_once's answer when its file was taken: try again */
#define TMP_TAKEN 1

/* One try of fs_write_atomic. TMP_TAKEN when the temporary file vanished
 * before it was placed: another writer of the same name took it for a
 * leftover in the moment between its creation and its lock. */
static int write_atomic_once(const char *path, const char *dir, const void *data, size_t n,
			     mode_t mode, int exclusive, char *err, size_t errlen)
{
	int rc = 0;
	char *tmp = xasprintf("%s/.tmp-%s-%ld-XXXXXX", dir, fs_basename(path), (long)getpid());
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: cannot create temporary file: %s", path,
			     strerror(errno));
		free(tmp);
		return rc;
	}
	/* held until the file is placed or removed: fs_drop_stale_tmp in
	 * another process leaves it alone (it holds the lock only for a
	 * moment, and only on a file it may remove) */
	(void)flock(fd, LOCK_EX);
	if (fs_write_all(fd, data, n) < 0 || fsync(fd) < 0 || fchmod(fd, mode) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: write failed: %s", path, strerror(errno));
		goto out;
	}
	/* link() fails if the target exists: no window where it is replaced */
	if (exclusive ? link(tmp, path) < 0 : rename(tmp, path) < 0) {
		int e = errno;
		if (e == ENOENT && fs_exists(dir) && !fs_exists(tmp))
			rc = TMP_TAKEN;
		else if (exclusive && e == EEXIST)
			rc = err_set(err, errlen, EV_EEXIST, "%s: already exists", path);
		else
			rc = err_set(err, errlen, EV_EIO, "%s: cannot place file: %s", path,
				     strerror(e));
		goto out;
	}
	if (!exclusive) {
		free(tmp);
		tmp = NULL;
	}
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	close(fd); /* after the name: the lock goes last. fsync has seen every write */
	return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
		    int exclusive, char *err, size_t errlen)
{
	char *dir = fs_dirname(path);
	int rc = TMP_TAKEN;
	fs_drop_stale_tmp(dir, fs_basename(path));
	for (int tries = 0; rc == TMP_TAKEN && tries < 3; tries++)
		rc = write_atomic_once(path, dir, data, n, mode, exclusive, err, errlen);
	if (rc == TMP_TAKEN)
		rc = err_set(err, errlen, EV_EIO,
			     "%s: its temporary file was removed, three times, before it could be "
			     "placed",
			     path);
	if (!rc)
		rc = fs_fsync_dir(dir, err, errlen);
	free(dir);
	return rc;
}

int fs_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen)
{
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		/* O_NOFOLLOW's ELOOP reads "too many levels of symbolic links"
		 * for a single one: say what it is and what to do */
		return err_set(err, errlen, EV_EINVAL,
			       "%s: is a symbolic link, which is not followed; give the path of "
			       "the file itself", path);
	if (fd < 0)
		return err_set(err, errlen, errno == ENOENT ? EV_ENOENT : EV_EIO,
			       "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(err, errlen, EV_EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = err_set(err, errlen, EV_ELIMIT, "%s: file is %lld bytes, more than the %zu allowed",
			     path, (long long)st.st_size, max);
		goto out;
	}
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(err, errlen, EV_EIO, "%s: read failed: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (buf_append(out, chunk, (size_t)r)) {
			rc = err_set(err, errlen, EV_ELIMIT, "%s: larger than the %zu bytes allowed",
				     path, max);
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

void *fs_io_buf(void)
{
	void *p = NULL;
	if (posix_memalign(&p, FS_IO_BUF, FS_IO_BUF))
		abort();
	madvise(p, FS_IO_BUF, MADV_HUGEPAGE); /* advisory */
	return p;
}

int fs_set_direct(int fd, int on)
{
	const char *no = on ? getenv("EVCAP_NO_DIRECT") : NULL;
	if (no && *no && strcmp(no, "0") != 0) {
		errno = EINVAL;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	int want = on ? fl | O_DIRECT : fl & ~O_DIRECT;
	return want == fl || fcntl(fd, F_SETFL, want) == 0 ? 0 : -1;
}
