/*
 * Durable file placement and small I/O helpers.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
			rc = err_set(err, errlen, EV_EIO, "%s: cannot create directory: %s", p,
				     strerror(errno));
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

int fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
		    int exclusive, char *err, size_t errlen)
{
	int rc = 0, fd = -1;
	char *dir = fs_dirname(path);
	char *tmp = xasprintf("%s/.tmp-%s-XXXXXX", dir, fs_basename(path));

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: cannot create temporary file: %s", path,
			     strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fs_write_all(fd, data, n) < 0 || fsync(fd) < 0 || fchmod(fd, mode) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: write failed: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(err, errlen, EV_EIO, "%s: close failed: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails if the target exists: no window where it is replaced */
		if (link(tmp, path) < 0) {
			rc = errno == EEXIST
				     ? err_set(err, errlen, EV_EEXIST, "%s: already exists", path)
				     : err_set(err, errlen, EV_EIO, "%s: cannot place file: %s",
					       path, strerror(errno));
			goto out;
		}
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		rc = err_set(err, errlen, EV_EIO, "%s: cannot place file: %s", path,
			     strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = fs_fsync_dir(dir, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

int fs_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen)
{
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
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
