/*
 * Device key files. The secret key file is written with the durable
 * temp + fsync + link sequence at mode 0600 inside a 0700 directory and is
 * read back only after checking its mode, so a copy made readable by others
 * is refused rather than used.
 */
#include "devkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

static char *key_path(const char *store_dir, const char *name)
{
	return xasprintf("%s/" DEVKEY_DIR "/%s", store_dir, name);
}

char *devkey_pub_path(const char *store_dir)
{
	return key_path(store_dir, DEVKEY_PUBLIC);
}

#define DEVICE_TAG " of evcap device "

int devkey_pub_text(const struct minisign_pub *pub, const char *device_id, struct buf *out)
{
	char tail[128];
	snprintf(tail, sizeof tail, DEVICE_TAG "%.64s", device_id);
	return minisign_pub_file(pub, tail, out) ? EV_ELIMIT : 0;
}

int devkey_device_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DEVKEY_DEVICE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int devkey_pub_device(const char *text, size_t n, char out[DEVKEY_DEVICE_MAX + 1])
{
	static const char prefix[] = "untrusted comment: ";
	size_t eol = 0, tag = strlen(DEVICE_TAG);
	out[0] = '\0';
	while (eol < n && text[eol] != '\n')
		eol++;
	if (eol < sizeof prefix - 1 || memcmp(text, prefix, sizeof prefix - 1) != 0)
		return 0;
	size_t at = 0;
	for (size_t i = sizeof prefix - 1; !at && i + tag <= eol; i++)
		if (memcmp(text + i, DEVICE_TAG, tag) == 0)
			at = i + tag;
	if (!at)
		return 0;
	size_t end = eol;
	if (end > at && text[end - 1] == '\r')
		end--;
	if (end - at == 0 || end - at > DEVKEY_DEVICE_MAX)
		return -1;
	memcpy(out, text + at, end - at);
	out[end - at] = '\0';
	if (!devkey_device_id_valid(out)) {
		out[0] = '\0';
		return -1;
	}
	return 1;
}

int devkey_load_secret(const char *store_dir, struct minisign_secret *sec, char *err,
		       size_t errlen)
{
	char *path = key_path(store_dir, DEVKEY_SECRET);
	struct buf b;
	struct stat st;
	int rc;
	buf_init(&b, 4096);
	if (lstat(path, &st) < 0) {
		rc = err_set(err, errlen, errno == ENOENT ? EV_ENOENT : EV_EIO,
			     "%s: no device key (run 'evcap init'): %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		rc = err_set(err, errlen, EV_EAUTH,
			     "%s: the device secret key must be a regular file of mode 0600 "
			     "(it is %03o); fix with chmod 600",
			     path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	rc = fs_read_file(path, 4096, &b, err, errlen);
	if (rc)
		goto out;
	rc = minisign_secret_parse(b.data, b.len, sec, err, errlen);
out:
	secure_wipe(b.data, b.len);
	buf_free(&b);
	free(path);
	return rc;
}

int devkey_load_pub(const char *store_dir, struct minisign_pub *pub, char *err, size_t errlen)
{
	char *path = key_path(store_dir, DEVKEY_PUBLIC);
	struct buf b;
	buf_init(&b, 4096);
	int rc = fs_read_file(path, 4096, &b, err, errlen);
	if (rc == EV_ENOENT)
		err_set(err, errlen, EV_ENOENT, "%s: no device key (run 'evcap init')", path);
	if (!rc)
		rc = minisign_pub_parse(b.data, b.len, pub, err, errlen);
	buf_free(&b);
	free(path);
	return rc;
}

static int write_pub(const char *store_dir, const struct minisign_pub *pub, char *err,
		     size_t errlen)
{
	char *path = key_path(store_dir, DEVKEY_PUBLIC);
	struct buf b;
	buf_init(&b, 4096);
	int rc = minisign_pub_file(pub, NULL, &b);
	if (rc)
		rc = err_set(err, errlen, EV_ELIMIT, "public key text too long");
	else
		rc = fs_write_atomic(path, b.data, b.len, 0644, 0, err, errlen);
	buf_free(&b);
	free(path);
	return rc;
}

int devkey_ensure(const char *store_dir, int *created, char *err, size_t errlen)
{
	char *dir = xasprintf("%s/" DEVKEY_DIR, store_dir);
	char *sec_path = key_path(store_dir, DEVKEY_SECRET);
	char *pub_path = key_path(store_dir, DEVKEY_PUBLIC);
	struct minisign_secret sec;
	struct minisign_pub pub;
	struct buf b;
	int rc;
	buf_init(&b, 4096);
	memset(&sec, 0, sizeof sec);
	if (created)
		*created = 0;

	rc = fs_mkdir_p(dir, 0700, err, errlen);
	if (rc)
		goto out;
	if (!fs_exists(sec_path)) {
		rc = minisign_keygen(&sec, &pub, err, errlen);
		if (rc)
			goto out;
		if (minisign_secret_file(&sec, &b)) {
			rc = err_set(err, errlen, EV_ELIMIT, "secret key text too long");
			goto out;
		}
		/* exclusive: two concurrent inits cannot both install a key;
		 * the one that comes second takes the first one's */
		rc = fs_write_atomic(sec_path, b.data, b.len, 0600, 1, err, errlen);
		minisign_secret_wipe(&sec);
		if (rc == EV_EEXIST)
			rc = 0;
		else if (!rc && created)
			*created = 1;
		if (rc)
			goto out;
	}
	/* an init stopped between placing the key and removing its temporary
	 * name left a second name of the secret key */
	fs_drop_stale_tmp(dir, DEVKEY_SECRET);
	if (fs_exists(pub_path))
		goto out;
	/* the .pub is derived from the key in place, never a new key: bundles
	 * already signed must stay checkable with the same public key (and a
	 * lost or not yet written one is made again) */
	rc = devkey_load_secret(store_dir, &sec, err, errlen);
	if (!rc) {
		minisign_secret_pub(&sec, &pub);
		rc = write_pub(store_dir, &pub, err, errlen);
	}
out:
	secure_wipe(b.data, b.len);
	buf_free(&b);
	minisign_secret_wipe(&sec);
	free(pub_path);
	free(sec_path);
	free(dir);
	return rc;
}
