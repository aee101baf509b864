/*
 * Durable file operations: the write-temp, fsync, rename, fsync-directory
 * sequence that keeps a file either absent or whole through a power cut.
 */
#ifndef EVCAP_FSUTIL_H
#define EVCAP_FSUTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "util.h"

/* Creates path and its parents (like mkdir -p); fsyncs each new parent.
 * EV_ENOSPC when the disk has no room for a folder. */
int fs_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen) WUR;

/* fsyncs a directory so a rename or create in it survives power loss. */
int fs_fsync_dir(const char *dir, char *err, size_t errlen) WUR;

/* Writes data to path atomically: temp file in the same directory
 * (".tmp-<name>-<pid>-XXXXXX", flock'd until placed), fsync, chmod `mode`, rename
 * over path, fsync of the directory. With `exclusive`, refuses (EV_EEXIST)
 * if path exists, without replacing it. First removes the temp files of
 * the same name that no writer holds (left by a write that was killed). */
int fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
		    int exclusive, char *err, size_t errlen) WUR;

/* Removes the temporary files fs_write_atomic made for `name` in dir that
 * a write stopped part way left (see fs_tmp_abandoned). fs_write_atomic
 * does it first; a caller whose file is already in place does it to
 * clear a copy left between the placing and the removal. */
void fs_drop_stale_tmp(const char *dir, const char *name);

/* Whether the temporary file open as fd, called name, was left by a
 * writer that died (killed, a power cut), for removal: 1 when nobody holds
 * an flock on it and it has bytes, or is empty and the writer's pid in
 * its name ("...-<pid>-<suffix>") runs no more (without a pid: at once;
 * with one that still runs, possibly another's: after a minute); then fd
 * holds the lock until closed. A writer makes its file empty and locks it
 * before its first byte, so an empty file nobody holds may be a live
 * writer's in that moment. 0 otherwise (held, not a regular file). */
int fs_tmp_abandoned(int fd, const char *name);

/* Reads a whole regular file (not following a final symlink) into out,
 * refusing files larger than max bytes with EV_ELIMIT. */
int fs_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen) WUR;

/* Writes all n bytes, retrying short writes and EINTR; 0 or -1 (errno). */
int fs_write_all(int fd, const void *p, size_t n) WUR;

/* A buffer of FS_IO_BUF bytes for direct I/O: aligned to its size and
 * backed by one huge page where the kernel gives one (transparent huge
 * pages in "madvise" mode, Debian's default), else by ordinary pages.
 * Physically contiguous, a direct read or write of it goes to the disk as
 * one request, where 4 KiB pages are split at the device's segment limit
 * (254 pages, about 1 MB, on a virtio disk). Freed with free(). */
#define FS_IO_BUF ((size_t)2 << 20)
void *fs_io_buf(void);

/* Turns O_DIRECT on (on = 1) or off for fd. 0, or -1 where the file's
 * filesystem does not do direct I/O (tmpfs before Linux 6.6, squashfs,
 * some FUSE filesystems): then fd is left as it was. With EVCAP_NO_DIRECT
 * set (not "0") in the environment it never turns it on: for a filesystem
 * that accepts direct I/O and then misbehaves, and for the tests of the
 * page-cache path. */
int fs_set_direct(int fd, int on);
/* Reads up to n bytes, retrying short reads and EINTR until n or EOF;
 * returns bytes read or -1 (errno). */
ssize_t fs_read_full(int fd, void *p, size_t n) WUR;

/* Space kept on a disk against its filling up: a file at path holding
 * `bytes` of allocated blocks, which its keeper gives up (removes) when the
 * disk is full, so that what must still be written then has room (evcapd's
 * summary saying files were not recorded; the database rows of originals
 * ingest placed). fs_reserve_make allocates it unless it holds that much
 * already; where the disk has no room for all of it, it is left empty, to
 * be made again later. 0, or an error with err set (a reserve that could
 * not be emptied again, and may hold part of its blocks). */
int fs_reserve_make(const char *path, uint64_t bytes, char *err, size_t errlen) WUR;
/* Gives the reserve at path up; 1 when there was one to give (a file with
 * blocks), else 0. */
int fs_reserve_release(const char *path);

/* 1 if path exists (lstat), else 0. */
int fs_exists(const char *path);

/* The directory part and last component of a path (malloc'd). */
char *fs_dirname(const char *path);
const char *fs_basename(const char *path);

#endif
