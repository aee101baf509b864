/*
 * Tests of the medium lookup: mountinfo lines (escapes, optional fields,
 * malformed and oversized input), choosing the mount that holds a path,
 * udev records and labels, the live lookup of "/" on this machine, and a
 * loop device used again for another filesystem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "medium.h"
#include "t.h"

static int parse(const char *line, struct mount_entry *e)
{
	return medium_parse_mountinfo_line(line, strlen(line), e);
}

static void test_mountinfo_line(void)
{
	struct mount_entry e;
	CHECK(parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
		    &e) == 0);
	CHECK(e.major == 98 && e.minor == 0);
	CHECK_STR(e.root, "/mnt1");
	CHECK_STR(e.mount_point, "/mnt2");
	CHECK_STR(e.options, "rw,noatime");
	CHECK_STR(e.fstype, "ext3");
	CHECK_STR(e.source, "/dev/root");

	/* a card whose label has a space, no optional fields, a newline */
	CHECK(parse("120 29 179:97 / /media/evcap/DJI\\040CARD ro,nosuid,nodev,noexec - vfat "
		    "/dev/mmcblk1p1 ro,fmask=0022\n",
		    &e) == 0);
	CHECK_STR(e.mount_point, "/media/evcap/DJI CARD");
	CHECK_STR(e.source, "/dev/mmcblk1p1");
	CHECK(e.major == 179 && e.minor == 97);

	/* several optional fields */
	CHECK(parse("1 2 0:5 / /x rw shared:1 master:2 propagate_from:3 - tmpfs tmpfs rw", &e) == 0);
	CHECK_STR(e.fstype, "tmpfs");
}

static void test_mountinfo_bad(void)
{
	struct mount_entry e;
	CHECK(parse("", &e) != 0);
	CHECK(parse("36 35 98:0 /mnt1 /mnt2 rw,noatime", &e) != 0);      /* no separator */
	CHECK(parse("36 35 98:0 /mnt1 /mnt2 rw - ext3", &e) != 0);        /* no source */
	CHECK(parse("36 35 98x0 / /m rw - ext3 /dev/x rw", &e) != 0);     /* bad dev */
	CHECK(parse("36 35 98:0 / relative rw - ext3 /dev/x rw", &e) != 0); /* not absolute */
	CHECK(parse("a 35 98:0 / /m rw - ext3 /dev/x rw", &e) != 0);
	CHECK(parse("1 2 0:1 / /m rw - ext3 /dev/\\000x rw", &e) != 0);   /* NUL by escape */
	/* a field longer than its slot is refused, not cut */
	char *big = xmalloc(MEDIUM_PATH_MAX + 100);
	strcpy(big, "1 2 0:1 / /");
	size_t l = strlen(big);
	memset(big + l, 'a', MEDIUM_PATH_MAX + 10);
	strcpy(big + l + MEDIUM_PATH_MAX + 10, " rw - ext4 /dev/sda1 rw");
	CHECK(parse(big, &e) == EV_ELIMIT);
	free(big);
	/* too many optional fields */
	char many[2048] = "1 2 0:1 / /m rw";
	for (int i = 0; i < 40; i++)
		strcat(many, " shared:1");
	strcat(many, " - ext4 /dev/sda1 rw");
	CHECK(parse(many, &e) == EV_ELIMIT);
}

static const char table[] =
	"22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
	"30 22 0:40 / /media rw - tmpfs tmpfs rw\n"
	"garbage line\n"
	"40 30 8:17 / /media/evcap/CARD ro,nosuid - vfat /dev/sdb1 ro\n"
	"41 30 8:17 /DCIM /media/evcap/bind ro - vfat /dev/sdb1 ro\n"
	"50 30 8:33 / /media/evcap/CARD2 ro - exfat /dev/sdc1 ro";

static void test_find_mount(void)
{
	struct mount_entry e;
	size_t n = strlen(table);
	CHECK(medium_find_mount(table, n, 8, 17, "/media/evcap/CARD/DCIM/100MEDIA/x.jpg", &e) == 0);
	CHECK_STR(e.mount_point, "/media/evcap/CARD");
	CHECK_STR(e.source, "/dev/sdb1");
	/* "/media/evcap/CARD2" is not under "/media/evcap/CARD" */
	CHECK(medium_find_mount(table, n, 8, 33, "/media/evcap/CARD2/a", &e) == 0);
	CHECK_STR(e.source, "/dev/sdc1");
	/* the same device bind-mounted elsewhere: the mount holding the path */
	CHECK(medium_find_mount(table, n, 8, 17, "/media/evcap/bind/100MEDIA", &e) == 0);
	CHECK_STR(e.mount_point, "/media/evcap/bind");
	/* a device that matches nothing: the longest prefix */
	CHECK(medium_find_mount(table, n, 9, 9, "/media/other", &e) == 0);
	CHECK_STR(e.mount_point, "/media");
	CHECK(medium_find_mount("", 0, 8, 1, "/x", &e) == EV_ENOENT);
}

static void test_udev(void)
{
	char uuid[MEDIUM_UUID_MAX], label[MEDIUM_LABEL_MAX];
	static const char rec[] = "S:disk/by-uuid/1234-ABCD\n"
				  "E:ID_FS_UUID=1234-ABCD\n"
				  "E:ID_FS_LABEL=DJI_CARD\n"
				  "E:ID_FS_LABEL_ENC=DJI\\x20CARD\n"
				  "E:ID_FS_TYPE=vfat\n";
	medium_parse_udev(rec, strlen(rec), uuid, label);
	CHECK_STR(uuid, "1234-ABCD");
	CHECK_STR(label, "DJI CARD");

	/* only the plain label; a Chinese label encoded byte by byte */
	static const char rec2[] = "E:ID_FS_UUID=9f1c\nE:ID_FS_LABEL=CARD\n";
	medium_parse_udev(rec2, strlen(rec2), uuid, label);
	CHECK_STR(label, "CARD");
	static const char rec3[] = "E:ID_FS_LABEL_ENC=\\xe5\\x8f\\x96\\xe8\\xaf\\x81\n";
	medium_parse_udev(rec3, strlen(rec3), uuid, label);
	CHECK_STR(uuid, "");
	CHECK_STR(label, "取证");

	/* a label that decodes to a control character or bad UTF-8 is dropped */
	char out[64];
	medium_unescape_udev("bad\\x0aname", out, sizeof out);
	CHECK_STR(out, "");
	medium_unescape_udev("\\xff\\xfe", out, sizeof out);
	CHECK_STR(out, "");
	medium_unescape_udev("a\\x2fb", out, sizeof out);
	CHECK_STR(out, "");
	medium_unescape_udev("toolongforthis", out, 4);
	CHECK_STR(out, "");
	medium_unescape_udev("EOS_DIGITAL", out, sizeof out);
	CHECK_STR(out, "EOS_DIGITAL");
}

static void test_live_root(void)
{
	struct medium m;
	char err[256];
	struct stat st;
	if (stat("/proc/self/mountinfo", &st) != 0)
		T_SKIP("/proc/self/mountinfo is not there");
	CHECK(medium_of_path("/", &m, err, sizeof err) == 0);
	CHECK_STR(m.mount_point, "/");
	CHECK(stat("/", &st) == 0 && m.dev == st.st_dev);
	CHECK(medium_of_path("/no/such/path/here", &m, err, sizeof err) == EV_ENOENT);
	CHECK(strstr(err, "/no/such/path/here") != NULL);
}

/* Runs a shell command in dir; 0 when it exits 0. */
static int sh(const char *dir, const char *cmd)
{
	char *c = NULL;
	if (asprintf(&c, "cd '%s' && { %s; } >/dev/null 2>&1", dir, cmd) < 0)
		return -1;
	int rc = system(c);
	free(c);
	return rc;
}

/*
 * A loop device used again for another filesystem: the medium named is
 * the new one. libblkid's cache, warmed by the first (blkid below, as
 * any program may), would name the old one for up to 200 s unprobed.
 */
static void test_reused_loop(void)
{
	struct medium m;
	char err[256], tmpl[512], dev[64] = "", cmd[256];
	const char *tmp = getenv("TMPDIR");
	if (geteuid() != 0)
		T_SKIP("reused loop device: needs root to attach and mount images");
	snprintf(tmpl, sizeof tmpl, "%s/evcap-medium.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *dir = mkdtemp(tmpl);
	if (!dir)
		T_SKIP("reused loop device: no temporary folder");
	if (sh(dir, "truncate -s 4M a.img b.img && mkfs.ext4 -q -L REUSEA a.img && "
		    "mkfs.ext4 -q -L REUSEB b.img && mkdir m && losetup -f --show a.img >loop") ||
	    sh(dir, "test -s loop")) {
		t_skip = "reused loop device: cannot make or attach images here";
		goto out;
	}
	FILE *f = fopen(strcat(strcpy(cmd, dir), "/loop"), "r");
	if (!f || !fgets(dev, sizeof dev, f))
		dev[0] = '\0';
	if (f)
		fclose(f);
	dev[strcspn(dev, "\n")] = '\0';
	snprintf(cmd, sizeof cmd, "mount -o ro %s m && blkid %s", dev, dev);
	if (!dev[0] || sh(dir, cmd)) {
		t_skip = "reused loop device: cannot mount the image";
		goto detach;
	}
	snprintf(cmd, sizeof cmd, "%s/m", dir);
	CHECK(medium_of_path(cmd, &m, err, sizeof err) == 0);
	CHECK_STR(m.label, "REUSEA");
	snprintf(cmd, sizeof cmd, "umount m && losetup -d %s && losetup %s b.img && "
				  "mount -o ro %s m",
		 dev, dev, dev);
	if (sh(dir, cmd)) {
		t_skip = "reused loop device: the device was taken meanwhile";
		goto detach;
	}
	snprintf(cmd, sizeof cmd, "%s/m", dir);
	CHECK(medium_of_path(cmd, &m, err, sizeof err) == 0);
	CHECK_STR(m.label, "REUSEB");
detach:
	sh(dir, "umount m");
	if (dev[0]) {
		snprintf(cmd, sizeof cmd, "losetup -d %s", dev);
		sh(dir, cmd);
	}
out:
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# %s was not removed\n", dir);
}

int main(void)
{
	RUN(test_mountinfo_line);
	RUN(test_mountinfo_bad);
	RUN(test_find_mount);
	RUN(test_udev);
	RUN(test_live_root);
	RUN(test_reused_loop);
	T_EXIT();
}
