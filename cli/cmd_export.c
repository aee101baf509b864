/*
 * evcap export: writes a case as GeoJSON, KML, GPX, CSV, the HTML evidence
 * report, or tagged JPEG working copies. Each output is placed atomically
 * and recorded in the custody log with its SHA-256; originals are only
 * ever read.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../export/revisit.h"
#include "bmff.h"
#include "custody.h"
#include "export.h"
#include "fsutil.h"
#include "hash.h"
#include "sha256two.h"
#include "items.h"
#include "jpeg.h"
#include "jpegwrite.h"
#include "thumb.h"
#include "timeutil.h"

/* The largest original read whole to make a working copy. */
#define EXPORT_JPEG_SRC_MAX ((size_t)512 << 20)

static const char export_help[] =
	"Writes the case's items (all, or one site's, or those taken between\n"
	"--from and --to) in one format:\n"
	"  geojson  RFC 7946 FeatureCollection: located items as points, the track as a line\n"
	"  kml      KML 2.2 for Google Earth and Ovital, thumbnails in the balloons\n"
	"  gpx      GPX 1.1: photo points as waypoints and the GPS track\n"
	"  csv      UTF-8 with BOM and CRLF for Excel: one row an item (every field of\n"
	"           'ls --json'), then one row a water reading\n"
	"  html     the evidence list and inspection record, one self-contained file for A4\n"
	"  jpeg     a working copy of every JPEG photo with GPS and the case number in its\n"
	"           EXIF, into the directory --out; a HEIC or AVIF photo's is a JPEG\n"
	"           rendering of it with its EXIF; the originals are never changed\n"
	"Items without a place are marked in csv and html and left out of geojson, kml\n"
	"and gpx. Coordinates are WGS-84; --datum gcj02 adds labelled GCJ-02 columns to\n"
	"csv and html for checking places on Amap. Every export is a custody event.\n\n"
	"options:\n"
	"  --case CASE        the case (default: the case in use)\n"
	"  --format FMT       geojson, kml, gpx, csv, html or jpeg\n"
	"  --out PATH         the file to write (a directory for jpeg); an existing file\n"
	"                     (or working copy) is not replaced without --force\n"
	"  --force            replace an existing --out file, or working copies of the\n"
	"                     same items in the --out directory\n"
	"  --site NAME        only this site's items\n"
	"  --from ISO, --to ISO  only items captured in this span (e.g. 2023-05-01T00:00:00+08:00)\n"
	"  --lang zh|en       the report's language (default from LC_ALL/LANG; zh if unset)\n"
	"  --datum gcj02      add GCJ-02 columns (csv, html)\n"
	"  --revisit          with html: the follow-up report, each photo of the later visit\n"
	"                     beside the earlier one from the same spot, readings compared\n"
	"  --before V, --after V  the visits to compare (default: the last two)\n";

enum fmt { F_GEOJSON, F_KML, F_GPX, F_CSV, F_HTML, F_JPEG };
static const char *const fmt_names[] = {"geojson", "kml", "gpx", "csv", "html", "jpeg"};

struct export_args {
	const char *case_name, *out, *site, *lang;
	char from[32], to[32];
	int has_from, has_to;
	int fmt;
	int gcj02;
	int revisit;          /* --revisit: the before/after report */
	int force;            /* --force: replace an existing output */
	int before, after;    /* visit numbers, 0 = the last two */
	int64_t case_id;
};

static int parse_args(struct cli *cli, int argc, char **argv, struct export_args *a)
{
	static const struct option opts[] = {{"case", required_argument, NULL, 'c'},
					     {"format", required_argument, NULL, 'f'},
					     {"out", required_argument, NULL, 'o'},
					     {"site", required_argument, NULL, 's'},
					     {"from", required_argument, NULL, 'F'},
					     {"to", required_argument, NULL, 'T'},
					     {"lang", required_argument, NULL, 'l'},
					     {"datum", required_argument, NULL, 'd'},
					     {"revisit", no_argument, NULL, 'R'},
					     {"force", no_argument, NULL, 'X'},
					     {"before", required_argument, NULL, 'B'},
					     {"after", required_argument, NULL, 'A'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int c;
	double t, from_t = 0, to_t = 0;
	a->fmt = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->case_name = optarg; break;
		case 'o': a->out = optarg; break;
		case 's': a->site = optarg; break;
		case 'l': a->lang = optarg; break;
		case 'R': a->revisit = 1; break;
		case 'X': a->force = 1; break;
		case 'B':
		case 'A': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 100000)
				return cli_usage_error(cli, "--%s takes a visit number, as 'evcap visits' "
							    "lists them",
						       c == 'B' ? "before" : "after");
			*(c == 'B' ? &a->before : &a->after) = (int)v;
			break;
		}
		case 'f':
			for (size_t i = 0; i < ARRAY_LEN(fmt_names); i++)
				if (strcmp(optarg, fmt_names[i]) == 0)
					a->fmt = (int)i;
			if (a->fmt < 0)
				return cli_usage_error(cli, "--format must be geojson, kml, gpx, csv, html "
							    "or jpeg, not '%s'", optarg);
			break;
		case 'd':
			if (strcmp(optarg, "gcj02") != 0 && strcmp(optarg, "wgs84") != 0)
				return cli_usage_error(cli, "--datum must be gcj02 (WGS-84 is always "
							    "written), not '%s'", optarg);
			a->gcj02 = strcmp(optarg, "gcj02") == 0;
			break;
		case 'F':
		case 'T':
			if (time_parse_iso(optarg, &t))
				return cli_usage_error(cli, "--%s must be a time with its zone, such as "
							    "2023-05-01T08:00:00+08:00 (China) or "
							    "2023-05-01T00:00:00Z (UTC), not '%s'",
						       c == 'F' ? "from" : "to", optarg);
			/* stored capture times are UTC "...Z": compare in that form */
			time_format_iso(t, c == 'F' ? a->from : a->to);
			*(c == 'F' ? &from_t : &to_t) = t;
			*(c == 'F' ? &a->has_from : &a->has_to) = 1;
			break;
		case 'h':
			cli_print_help(cli, export_help);
			return -1;
		default:
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (a->fmt < 0)
		return cli_usage_error(cli, "give --format geojson|kml|gpx|csv|html|jpeg");
	if (!a->out || !*a->out)
		return cli_usage_error(cli, "give --out PATH (a directory for --format jpeg)");
	/* an export is a file whose SHA-256 the custody log records, and its
	 * summary goes to stdout: it is never mixed into the output */
	if (strcmp(a->out, "-") == 0)
		return cli_usage_error(cli, "--out - : an export is written to a file (its SHA-256 "
					    "is recorded in the custody log), not to standard output; "
					    "give a file name (./- for a file called '-')");
	if (a->has_from && a->has_to && from_t > to_t)
		return cli_usage_error(cli, "--from is after --to (%s > %s): no item could be in "
					    "that span", a->from, a->to);
	if (a->lang && i18n_pick(a->lang) < 0)
		return cli_usage_error(cli, "--lang must be zh or en, not '%s'", a->lang);
	if ((a->revisit || a->before || a->after) && a->fmt != F_HTML)
		return cli_usage_error(cli, "--revisit (with --before/--after) goes with --format html");
	if ((a->before || a->after) && !a->revisit)
		return cli_usage_error(cli, "--%s goes with --revisit: it picks a visit the "
					    "re-inspection report compares",
				       a->before ? "before" : "after");
	if (a->gcj02 && a->fmt != F_CSV && a->fmt != F_HTML)
		return cli_usage_error(cli, "--datum gcj02 applies to csv and html only: the "
					    "other formats are read by programs that expect WGS-84");
	return 0;
}

/* 1 if dir (resolved) is the store directory or lies under it. */
static int under_store(struct store *s, const char *dir)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (!realpath(dir, a) || !realpath(store_dir(s), b))
		return 0;
	size_t n = strlen(b);
	return strncmp(a, b, n) == 0 && (a[n] == '/' || a[n] == '\0');
}

int cli_inside_store(struct store *s, const char *path)
{
	char *dir = fs_dirname(path);
	int in = under_store(s, dir) || under_store(s, path);
	free(dir);
	return in;
}

int cli_record_export(struct cli *cli, struct store *s, const char *case_number,
		      const char *item_sha, json_t *detail, const char *remove_on_fail)
{
	char err[512];
	if (store_readonly(s)) /* said when the store was opened */
		return 0;
	if (store_begin(s, err, sizeof err) == 0) {
		if (custody_append(s, time_now(), cli->actor, "export", case_number, item_sha, detail,
				   NULL, err, sizeof err) == 0 &&
		    store_commit(s, err, sizeof err) == 0)
			return 0;
		store_rollback(s);
	}
	cli_warn("evcap export: cannot record the export in the custody log: %s", err);
	if (remove_on_fail && unlink(remove_on_fail) == 0)
		fprintf(stderr, "evcap export: removed %s, which has no custody record\n",
			remove_on_fail);
	return EV_EDB;
}

/*
 * Part of a name made safe for any filesystem the office may copy to
 * (Windows' included): ASCII letters, digits, '_' and '-' stay, and '.'
 * except at the start; every other ASCII byte becomes '_'; a UTF-8
 * character (a Chinese name) stays whole. Cut at a character's end to
 * fit out[size], and trailing dots removed (Windows drops them).
 */
static void safe_part(const char *src, size_t n, char *out, size_t size)
{
	size_t k = 0, i = 0;
	while (i < n) {
		unsigned char ch = (unsigned char)src[i];
		size_t len = ch < 0x80 ? 1 : ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC0 ? 2 : 1;
		if (i + len > n || k + len >= size)
			break;
		if (len > 1) {
			memcpy(out + k, src + i, len);
			k += len;
		} else {
			int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				 (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
				 (ch == '.' && k > 0);
			out[k++] = ok ? (char)ch : '_';
		}
		i += len;
	}
	while (k > 0 && out[k - 1] == '.')
		k--;
	out[k] = '\0';
}

/* A file name for a working copy: "item<ID>_", the original name's stem
 * made safe (safe_part: a name from a card can never climb out of the
 * output folder), and an extension Windows opens as a JPEG: the
 * original's when it is one (kept whatever the stem's length), else .jpg
 * (a HEIF photo's copy is a JPEG rendering: IMG_0001.HEIC gives
 * IMG_0001.jpg). */
static char *copy_name(const json_t *it, int heif)
{
	const char *orig = json_string_value(json_object_get(it, "original_name"));
	long long id = (long long)json_integer_value(json_object_get(it, "id"));
	if (!orig)
		orig = "";
	const char *dot = strrchr(orig, '.');
	if (dot == orig)
		dot = NULL; /* ".hidden" is a stem, not an extension */
	char stem[120], ext[8] = "jpg";
	safe_part(orig, dot ? (size_t)(dot - orig) : strlen(orig), stem, sizeof stem);
	if (!heif && dot && (strcasecmp(dot + 1, "jpg") == 0 || strcasecmp(dot + 1, "jpeg") == 0 ||
			     strcasecmp(dot + 1, "jpe") == 0))
		snprintf(ext, sizeof ext, "%s", dot + 1);
	return xasprintf("item%lld_%s.%s", id, stem[0] ? stem : "photo", ext);
}

/*
 * Working copies are made by a few threads at once and placed and
 * recorded by the calling thread. Each copy costs two SHA-256 digests
 * (the original, checked against its record, and the copy; taken in one
 * interleaved pass, see sha256two.h) and a write that must reach the
 * disk; made one after another they kept the second core and the disk
 * idle by turns. There are more threads than cores (six on the two of the
 * benchmark machine): a thread waiting on its direct write leaves the CPU
 * to one that hashes. The workers share nothing but the index of
 * the next job: the store and the JSON values are touched by the calling
 * thread only, before the workers start and after they have all been
 * joined.
 *
 * On ext4 without a journal, fsync of a new file also writes its
 * directory's block, and creating or renaming a file in that directory
 * waits for that write: with an fsync and a rename per copy, copies
 * queued behind each other's directory writes (up to 9 ms for a create).
 * So the workers create and write temporary files, the calling thread
 * then fsyncs them all, renames them all, and fsyncs the directory once.
 * A batch bounds the files open at once (256, well under the usual limit
 * of 1,024 descriptors). Giving each worker's copy an unnamed file
 * (O_TMPFILE) and its own fsync, which touches no directory, was tried:
 * the per-file cache flushes then landed among the other workers' writes
 * and the copies took 5% longer.
 */
#define EXPORT_JPEG_THREADS 6 /* the calling thread included */
#define EXPORT_JPEG_BATCH 256 /* copies written before they are fsynced and placed */

/* One working copy. The calling thread fills the first part before the
 * workers start; the worker that takes the job fills the rest. */
struct jpeg_job {
	size_t item;            /* index in ctx->items */
	int64_t id;
	const char *sha;        /* the original's SHA-256 (hex), borrowed from ctx */
	const char *label;      /* the original's name, for messages (borrowed) */
	const char *heif;       /* "heic" or "avif": rendered as a JPEG (borrowed), else NULL */
	char *blob;             /* where the original is in the store */
	char *name;             /* the copy's file name in the output directory */
	char *path;             /* outdir/name */
	char *abs;              /* the same, resolved: what the derivatives row names */
	struct jpeg_tags tags;  /* case_number borrowed from ctx */
	int rc;                 /* 0: written (to tmp, open as fd), later placed at path */
	int fd;                 /* the temporary file, open until it is fsynced */
	char *tmp;              /* its name, until it is renamed to path */
	char hex[SHA256_HEX_LEN + 1]; /* the copy's SHA-256 */
	size_t size;
	char err[512];
};

struct jpeg_pool {
	const char *outdir;
	struct jpeg_job *jobs;
	size_t n;
	atomic_size_t next; /* the next job to take */
};

/* "heic" or "avif" for a HEIF photo, else NULL. */
static const char *photo_heif(const json_t *it)
{
	const char *kind = json_string_value(json_object_get(it, "kind"));
	const char *fmt = json_string_value(json_object_get(it, "format"));
	if (!kind || strcmp(kind, "photo") != 0 || !fmt)
		return NULL;
	return strcmp(fmt, "heic") == 0 ? "heic" : strcmp(fmt, "avif") == 0 ? "avif" : NULL;
}

static void jpeg_job_init(struct jpeg_job *j, struct store *s, const char *outdir,
			  const json_t *it, size_t item, const char *case_number)
{
	const char *t = json_string_value(json_object_get(it, "captured_at"));
	const char *name = json_string_value(json_object_get(it, "original_name"));
	double utc;
	memset(j, 0, sizeof *j);
	j->fd = -1;
	j->item = item;
	j->id = json_integer_value(json_object_get(it, "id"));
	j->sha = json_string_value(json_object_get(it, "sha256"));
	j->label = name ? name : "?";
	j->heif = photo_heif(it);
	j->blob = j->sha ? store_blob_path(s, j->sha) : NULL;
	j->name = copy_name(it, j->heif != NULL);
	j->path = xasprintf("%s/%s", outdir, j->name);
	if (export_item_located(it)) {
		j->tags.has_pos = 1;
		j->tags.lat = json_number_value(json_object_get(it, "lat"));
		j->tags.lon = json_number_value(json_object_get(it, "lon"));
		if (json_is_number(json_object_get(it, "alt"))) {
			j->tags.has_alt = 1;
			j->tags.alt = json_number_value(json_object_get(it, "alt"));
		}
	}
	if (t && time_parse_iso(t, &utc) == 0) {
		j->tags.has_time = 1;
		j->tags.utc = utc;
	}
	j->tags.case_number = case_number;
}

/* Drops the temporary file of a job that did not get placed. */
static void jpeg_job_drop_tmp(struct jpeg_job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	if (j->tmp)
		unlink(j->tmp);
	free(j->tmp);
	j->tmp = NULL;
}

static void jpeg_job_free(struct jpeg_job *j)
{
	jpeg_job_drop_tmp(j);
	free(j->blob);
	free(j->name);
	free(j->path);
	free(j->abs);
}

/*
 * What a worker keeps from one copy to the next, so that its buffers are
 * allocated and faulted in once. The copy is assembled in `out`, aligned
 * for O_DIRECT: the tagged head first, then the rest of the original read
 * straight to where it belongs, so the 2 MB of image data are never
 * copied in memory, only read and written.
 */
struct jpeg_mem {
	uint8_t *head;     /* the original's first bytes (all of it, if need be) */
	size_t head_cap;
	uint8_t *out;      /* the copy; EXPORT_JPEG_ALIGN-aligned, within out_block */
	void *out_block;
	size_t out_cap;
	struct buf tagged; /* the head with the tags set */
};

/* The first read of an original: enough for the segments before the image
 * data of any camera seen so far (EXIF is at most 64 KiB). */
#define EXPORT_JPEG_HEAD ((size_t)256 << 10)
/* O_DIRECT wants buffer, offset and length aligned to the device's
 * logical block; 4096 is a multiple of every such size in use. */
#define EXPORT_JPEG_ALIGN ((size_t)4096)

static void jpeg_mem_free(struct jpeg_mem *m)
{
	free(m->head);
	free(m->out_block);
	buf_free(&m->tagged);
}

/* Grows a buffer to hold n bytes, in whole MiB so that photos of slightly
 * different sizes share one allocation. */
static size_t jpeg_round(size_t n)
{
	return (n | (((size_t)1 << 20) - 1)) + 1;
}

static void jpeg_reserve_head(struct jpeg_mem *m, size_t n)
{
	if (m->head && n <= m->head_cap)
		return;
	free(m->head);
	m->head_cap = jpeg_round(n);
	m->head = xmalloc(m->head_cap);
}

/* The copy's buffer: whole huge pages where the kernel gives them (see
 * fs_io_buf), so that its direct writes reach the disk as a few large
 * requests instead of one per megabyte. */
static void jpeg_reserve_out(struct jpeg_mem *m, size_t n)
{
	if (m->out_block && n <= m->out_cap)
		return;
	free(m->out_block);
	m->out_cap = (n + FS_IO_BUF - 1) / FS_IO_BUF * FS_IO_BUF;
	if (posix_memalign(&m->out_block, FS_IO_BUF, m->out_cap))
		abort();
	madvise(m->out_block, m->out_cap, MADV_HUGEPAGE); /* advisory */
	m->out = m->out_block;
}

/* Reads exactly n bytes at offset `at`; 0, or an error naming path. */
static int jpeg_pread(int fd, const char *path, uint8_t *p, size_t n, size_t at, char *err,
		      size_t errlen)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(at + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, errlen, EV_EIO, "%s: read failed: %s", path,
				       strerror(errno));
		/* a blob that shrank would fail the hash check; say what happened */
		if (r == 0)
			return err_set(err, errlen, EV_ECORRUPT, "%s: shorter than its size while read",
				       path);
		got += (size_t)r;
	}
	return 0;
}

/* Opens a job's original in the store: 0 with *fd and its size *n, or an
 * error in j->err. */
static int jpeg_open_blob(struct jpeg_job *j, int *fd, size_t *n)
{
	struct stat st;
	*fd = -1;
	if (!j->sha || !j->blob)
		return err_set(j->err, sizeof j->err, EV_EINVAL, "item %lld has no SHA-256",
			       (long long)j->id);
	*fd = open(j->blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd < 0)
		return err_set(j->err, sizeof j->err, errno == ENOENT ? EV_ENOENT : EV_EIO,
			       "%s: cannot open: %s", j->blob, strerror(errno));
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(j->err, sizeof j->err, EV_EINVAL, "%s: not a regular file", j->blob);
	if ((uint64_t)st.st_size > EXPORT_JPEG_SRC_MAX)
		return err_set(j->err, sizeof j->err, EV_ELIMIT,
			       "%s: file is %lld bytes, more than the %zu allowed", j->blob,
			       (long long)st.st_size, EXPORT_JPEG_SRC_MAX);
	*n = (size_t)st.st_size;
	return 0;
}

static const char no_match[] = "item %lld: the original no longer matches its SHA-256 (run "
			       "'evcap verify'); no working copy made";

/*
 * Reads the original and builds the copy in m->out (*len bytes), checking
 * on the way that the bytes used are the ones recorded. The head (up to
 * the start of the scan) is tagged on its own: jpeg_tag_copy copies every
 * byte after the segment it replaces unchanged, so tagging the head and
 * appending the rest gives the same bytes as tagging the whole file. When
 * the head does not end within EXPORT_JPEG_HEAD, the whole file is the
 * head and jpeg_tag_copy judges it as before.
 */
static int jpeg_build(struct jpeg_job *j, struct jpeg_mem *m, size_t *len)
{
	struct jpeg_info *ji = xmalloc(sizeof *ji);
	char werr[200], hex[SHA256_HEX_LEN + 1];
	uint8_t md[SHA256_LEN];
	size_t n, h, tail;
	int rc = 0;
	int fd = -1;
	if ((rc = jpeg_open_blob(j, &fd, &n)))
		goto out;
	h = n < EXPORT_JPEG_HEAD ? n : EXPORT_JPEG_HEAD;
	jpeg_reserve_head(m, h);
	if ((rc = jpeg_pread(fd, j->blob, m->head, h, 0, j->err, sizeof j->err)))
		goto out;
	if (jpeg_walk(m->head, h, ji, werr, sizeof werr) == 0 && ji->reached_sos) {
		const struct jpeg_segment *sos = &ji->seg[ji->nseg - 1];
		h = sos->offset + sos->length;
	} else if (h < n) {
		h = n;
		jpeg_reserve_head(m, h);
		if ((rc = jpeg_pread(fd, j->blob, m->head, h, 0, j->err, sizeof j->err)))
			goto out;
	}
	/* a head jpeg_tag_copy refuses is still hashed below: an original
	 * that changed is named as such, not as a damaged JPEG */
	int tag_rc = jpeg_tag_copy(m->head, h, &j->tags, &m->tagged, j->err, sizeof j->err);
	size_t at = tag_rc ? 0 : m->tagged.len;
	tail = n - h;
	jpeg_reserve_out(m, at + tail);
	memcpy(m->out, m->tagged.data, at);
	if ((rc = jpeg_pread(fd, j->blob, m->out + at, tail, h, j->err, sizeof j->err)))
		goto out;
	/* The blob must still be what was recorded: never tag a damaged
	 * original (nothing has been written yet). The original is the head
	 * and the tail; the copy, whose digest is recorded, is all of out.
	 * Both are hashed in one pass (sha256_two), which on a CPU with SHA
	 * extensions costs little more than one. */
	struct sha256_piece orig[2] = {{m->head, h}, {m->out + at, tail}};
	struct sha256_piece copy[1] = {{m->out, at + tail}};
	uint8_t copy_md[SHA256_LEN];
	sha256_two(orig, 2, copy, tag_rc ? 0 : 1, md, copy_md);
	hex_encode(md, sizeof md, hex);
	if (strcmp(hex, j->sha) != 0) {
		rc = err_set(j->err, sizeof j->err, EV_ECORRUPT, no_match, (long long)j->id);
		goto out;
	}
	if ((rc = tag_rc))
		goto out;
	*len = at + tail;
	hex_encode(copy_md, sizeof copy_md, j->hex); /* the bytes written are these */
out:
	if (fd >= 0)
		close(fd);
	free(ji);
	return rc;
}

/*
 * A HEIF photo's working copy is a JPEG rendering: libheif decodes the
 * primary image (in a child process, heif_render), turned upright as the
 * file says; the original's EXIF is carried over, with the orientation
 * set to 1 (the pixels are upright now) and the pixel size the rendering
 * has, and the tags set as for a JPEG. These copies are made one at a
 * time by the calling thread before the workers of their batch start
 * (each decode takes a few hundred megabytes and uses every core by
 * itself), so the decoder's process is forked from a process with one
 * thread: a lock another thread held at the fork (an allocator's, under
 * AddressSanitizer) would stay held in the child for good.
 */
#define EXPORT_HEIF_QUALITY 92

static int heif_build(struct jpeg_job *j, struct jpeg_mem *m, size_t *len)
{
	char hex[SHA256_HEX_LEN + 1], why[300];
	uint8_t *exif = NULL;
	size_t n = 0, exif_len = 0;
	struct buf enc;
	unsigned w = 0, h = 0;
	int fd = -1, rc;
	buf_init(&enc, (size_t)256 << 20);
	if ((rc = jpeg_open_blob(j, &fd, &n)))
		goto out;
	jpeg_reserve_head(m, n);
	if ((rc = jpeg_pread(fd, j->blob, m->head, n, 0, j->err, sizeof j->err)))
		goto out;
	sha256_hex(m->head, n, hex);
	if (strcmp(hex, j->sha) != 0) {
		rc = err_set(j->err, sizeof j->err, EV_ECORRUPT, no_match, (long long)j->id);
		goto out;
	}
	if (bmff_heif_exif(m->head, n, n, &exif, &exif_len, why, sizeof why)) {
		rc = err_set(j->err, sizeof j->err, EV_ECORRUPT,
			     "its EXIF cannot be carried over: %s", why);
		goto out;
	}
	if (exif_len > JPEGWRITE_MAX_APP1) {
		rc = err_set(j->err, sizeof j->err, EV_ELIMIT,
			     "its EXIF (%zu bytes) does not fit one JPEG APP1", exif_len);
		goto out;
	}
	rc = heif_render(m->head, n, 0, EXPORT_HEIF_QUALITY, j->label, &enc, &w, &h, j->err,
			 sizeof j->err);
	if (rc) {
		/* the message names the file, which the caller names too */
		size_t k = strlen(j->label);
		if (strncmp(j->err, j->label, k) == 0 && strncmp(j->err + k, ": ", 2) == 0)
			memmove(j->err, j->err + k + 2, strlen(j->err + k + 2) + 1);
		goto out;
	}
	struct jpeg_tags t = j->tags;
	t.exif = exif;
	t.exif_len = exif_len;
	t.orientation = 1;
	t.width = w;
	t.height = h;
	if ((rc = jpeg_tag_copy((const uint8_t *)enc.data, enc.len, &t, &m->tagged, j->err,
				sizeof j->err)))
		goto out;
	jpeg_reserve_out(m, m->tagged.len);
	memcpy(m->out, m->tagged.data, m->tagged.len);
	*len = m->tagged.len;
	sha256_hex(m->out, *len, j->hex);
out:
	if (fd >= 0)
		close(fd);
	free(exif);
	buf_free(&enc);
	return rc;
}

/*
 * Writes n bytes of p (EXPORT_JPEG_ALIGN-aligned) to fd: the aligned part
 * with O_DIRECT, which spares the page cache's copy and its writeback
 * work (a third of the CPU time the copies took), the rest buffered. A
 * filesystem that refuses O_DIRECT gets it all buffered. The caller's
 * fsync is what makes it durable either way.
 */
static int jpeg_write_fd(int fd, const uint8_t *p, size_t n)
{
	size_t done = 0, direct = n / EXPORT_JPEG_ALIGN * EXPORT_JPEG_ALIGN;
	if (direct && fs_set_direct(fd, 1) == 0) {
		while (done < direct) {
			ssize_t w = write(fd, p + done, direct - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break; /* finished buffered below; a real error recurs there */
			done += (size_t)w;
		}
		if (fs_set_direct(fd, 0) < 0)
			return -1;
	}
	return fs_write_all(fd, p + done, n - done);
}

/* Writes a copy to a new temporary file beside its name (as
 * fs_write_atomic does); the fsync and the rename are the calling
 * thread's (see above). */
static int jpeg_write_tmp(const char *outdir, struct jpeg_job *j, const uint8_t *data, size_t n)
{
	int rc = 0;
	j->tmp = xasprintf("%s/.tmp-%s-%ld-XXXXXX", outdir, j->name, (long)getpid());
	j->fd = mkostemp(j->tmp, O_CLOEXEC);
	/* held until the copy is in place: a temporary file nobody holds was
	 * left by an export that was stopped (jpeg_drop_stale) */
	if (j->fd >= 0)
		(void)flock(j->fd, LOCK_EX);
	if (j->fd < 0) {
		rc = err_set(j->err, sizeof j->err, EV_EIO, "%s: cannot create a temporary file: %s",
			     j->path, strerror(errno));
		free(j->tmp);
		j->tmp = NULL;
		goto out;
	}
	if (jpeg_write_fd(j->fd, data, n) < 0 || fchmod(j->fd, 0644) < 0) {
		rc = err_set(j->err, sizeof j->err, EV_EIO, "%s: write failed: %s", j->path,
			     strerror(errno));
		jpeg_job_drop_tmp(j);
		goto out;
	}
out:
	return rc;
}

/* One working copy: read and check the original, tag it, write it. */
static void jpeg_make(const char *outdir, struct jpeg_job *j, struct jpeg_mem *m)
{
	size_t n = 0;
	int rc;
	if ((rc = j->heif ? heif_build(j, m, &n) : jpeg_build(j, m, &n)))
		goto out;
	j->size = n;
	rc = jpeg_write_tmp(outdir, j, m->out, n);
out:
	j->rc = rc;
}

static void *jpeg_worker(void *arg)
{
	struct jpeg_pool *pl = arg;
	struct jpeg_mem m = {0};
	size_t i;
	buf_init(&m.tagged, EXPORT_JPEG_SRC_MAX);
	while ((i = atomic_fetch_add(&pl->next, 1)) < pl->n)
		if (!pl->jobs[i].heif) /* made before the workers start */
			jpeg_make(pl->outdir, &pl->jobs[i], &m);
	jpeg_mem_free(&m);
	return NULL;
}

/* Runs every job; a thread that cannot be started only means fewer. */
static void jpeg_run(struct jpeg_pool *pl)
{
	pthread_t th[EXPORT_JPEG_THREADS];
	size_t want = pl->n < EXPORT_JPEG_THREADS ? pl->n : EXPORT_JPEG_THREADS, nth = 0;
	for (size_t k = 1; k < want; k++)
		if (pthread_create(&th[nth], NULL, jpeg_worker, pl) == 0)
			nth++;
	jpeg_worker(pl);
	for (size_t k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
}

/* Makes a batch of written copies durable and puts them in place: every
 * fsync first, then every rename, so that no create or rename in the
 * directory waits on a directory write started by an fsync. */
static void *jpeg_syncer(void *arg)
{
	struct jpeg_pool *pl = arg;
	size_t i;
	while ((i = atomic_fetch_add(&pl->next, 1)) < pl->n) {
		struct jpeg_job *j = &pl->jobs[i];
		if (j->rc)
			continue;
		if (fsync(j->fd) < 0) {
			j->rc = err_set(j->err, sizeof j->err, EV_EIO, "%s: write failed: %s", j->path,
					strerror(errno));
			jpeg_job_drop_tmp(j);
		}
	}
	return NULL;
}

static void jpeg_place(struct jpeg_job *jobs, size_t n)
{
	/* Every copy is written and created by now, so the fsyncs may run
	 * at once: the kernel merges their cache flushes. */
	struct jpeg_pool pl = {.jobs = jobs, .n = n};
	pthread_t th[EXPORT_JPEG_THREADS];
	size_t nth = 0;
	atomic_init(&pl.next, 0);
	for (size_t k = 1; k < EXPORT_JPEG_THREADS && k < n; k++)
		if (pthread_create(&th[nth], NULL, jpeg_syncer, &pl) == 0)
			nth++;
	jpeg_syncer(&pl);
	for (size_t k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	for (size_t i = 0; i < n; i++) {
		struct jpeg_job *j = &jobs[i];
		if (j->rc)
			continue;
		if (rename(j->tmp, j->path) < 0) {
			j->rc = err_set(j->err, sizeof j->err, EV_EIO, "%s: cannot place file: %s",
					j->path, strerror(errno));
			jpeg_job_drop_tmp(j);
			continue;
		}
		free(j->tmp);
		j->tmp = NULL;
		/* in place: the lock, and the descriptor, can go (written data
		 * was synced above; close reports nothing more on a local disk) */
		if (close(j->fd) < 0)
			j->rc = err_set(j->err, sizeof j->err, EV_EIO, "%s: write failed: %s",
					j->path, strerror(errno));
		j->fd = -1;
	}
}

/* Removes the temporary files an export that was stopped (killed, a power
 * cut) left in outdir: ".tmp-item..." files that no export holds locked.
 * Returns how many. */
static size_t jpeg_drop_stale(const char *outdir)
{
	DIR *d = opendir(outdir);
	struct dirent *e;
	size_t dropped = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, ".tmp-item", 9) != 0)
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fs_tmp_abandoned(fd, e->d_name) && unlinkat(dirfd(d), e->d_name, 0) == 0)
			dropped++;
		close(fd);
	}
	closedir(d);
	return dropped;
}

/* Removes every placed copy and marks it failed with why: a working copy
 * never exists without its custody event. The directory is synced so that
 * a removed copy cannot come back after a power cut (best effort: the
 * copies are already reported as failed). */
static void jpeg_unplace(const char *outdir, struct jpeg_job *jobs, size_t n, const char *why)
{
	char err[512];
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].rc)
			continue;
		unlink(jobs[i].path);
		jobs[i].rc = err_set(jobs[i].err, sizeof jobs[i].err, EV_EIO,
				     "%s; the copy was removed", why);
	}
	if (fs_fsync_dir(outdir, err, sizeof err))
		cli_warn("evcap export: %s", err);
}

/*
 * Records every placed copy in one transaction: its derivatives row
 * (unless the same copy at the same path is there) and its custody event.
 * All or nothing: on failure the caller removes the copies.
 */
static int jpeg_record(struct cli *cli, struct store *s, const char *case_number,
		       struct jpeg_job *jobs, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt *ins = NULL;
	int rc, open_tx = 0;
	if ((rc = store_begin(s, err, errlen)))
		goto out;
	open_tx = 1;
	ins = store_prepare(
		s,
		"INSERT INTO derivatives(item_id, sha256, kind, path, created_at)"
		" SELECT ?1, ?2, ?5, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM derivatives"
		" WHERE item_id = ?1 AND sha256 = ?2 AND path = ?3)",
		err, errlen);
	if (!ins) {
		rc = EV_EDB;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct jpeg_job *j = &jobs[i];
		char now[32];
		if (j->rc)
			continue;
		double at = time_now();
		time_format_iso(at, now);
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, j->id);
		sqlite3_bind_text(ins, 2, j->hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, j->abs, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, now, -1, SQLITE_TRANSIENT);
		/* a HEIF photo's copy is a new rendering of its pixels, not
		 * the original's bytes retagged; its kind says so */
		sqlite3_bind_text(ins, 5, j->heif ? "jpeg-rendering" : "tagged-jpeg", -1,
				  SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = err_set(err, errlen, EV_EDB, "cannot record the working copy: %s",
				     sqlite3_errmsg(store_db(s)));
			goto out;
		}
		json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:I}", "format", "jpeg", "out", j->name,
				      "original_sha256", j->sha, "sha256", j->hex, "size",
				      (json_int_t)j->size);
		if (j->heif) {
			json_object_set_new(d, "rendered_from", json_string(j->heif));
			json_object_set_new(d, "decoder", json_string(heif_decoder()));
		}
		rc = custody_append(s, at, cli->actor, "export", case_number, j->sha, d, NULL, err,
				    errlen);
		json_decref(d);
		if (rc)
			goto out;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if ((rc = store_commit(s, err, errlen)) == 0)
		open_tx = 0;
out:
	sqlite3_finalize(ins);
	if (open_tx)
		store_rollback(s);
	return rc;
}

static int jpeg_is_photo(const json_t *it)
{
	const char *kind = json_string_value(json_object_get(it, "kind"));
	const char *fmt = json_string_value(json_object_get(it, "format"));
	return (kind && strcmp(kind, "photo") == 0 && fmt && strcmp(fmt, "jpeg") == 0) ||
	       photo_heif(it);
}

static json_t *jpeg_skip(const json_t *it, const char *reason)
{
	const char *name = json_string_value(json_object_get(it, "original_name"));
	return json_pack("{s:I, s:s, s:s}", "item", json_integer_value(json_object_get(it, "id")),
			 "name", name ? name : "", "reason", reason);
}

/*
 * Every copy is written (to a temporary file, fsynced, renamed), then the
 * directory is fsynced once, then all copies are recorded in one
 * transaction. A copy that fails is named and not recorded; one that is
 * not recorded is removed.
 */
static int export_jpeg(struct cli *cli, struct store *s, const struct export_ctx *ctx,
		       const char *outdir, int force)
{
	char err[512], why[600];
	int rc = EXIT_PROBLEM;
	size_t nj = 0, placed = 0, failed = 0, i, k;
	json_t *done = json_array(), *skipped = json_array(), *it;
	struct jpeg_job *jobs = NULL;
	struct jpeg_mem heif_mem = {0}; /* the calling thread's, for HEIF photos */
	char *absdir = NULL;
	const char *case_number = json_string_value(json_object_get(ctx->case_row, "number"));
	struct stat st;
	/* a file given for the folder is the command line's to put right */
	if (stat(outdir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "evcap export: --out %s is a file; --format jpeg writes its copies "
				"into a folder\n", outdir);
		rc = EXIT_USAGE;
		goto out;
	}
	if (fs_mkdir_p(outdir, 0755, err, sizeof err)) {
		cli_warn("evcap export: %s", err);
		goto out;
	}
	if (stat(outdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "evcap export: %s is not a directory\n", outdir);
		rc = EXIT_USAGE;
		goto out;
	}
	size_t stale = jpeg_drop_stale(outdir);
	if (stale && cli->verbosity >= 0)
		fprintf(stderr,
			"evcap export: removed %zu temporary file%s an earlier export that was "
			"stopped left in %s\n",
			stale, stale == 1 ? "" : "s", outdir);
	buf_init(&heif_mem.tagged, EXPORT_JPEG_SRC_MAX);
	jobs = xcalloc(json_array_size(ctx->items) + 1, sizeof *jobs);
	json_array_foreach(ctx->items, i, it) {
		if (jpeg_is_photo(it))
			jpeg_job_init(&jobs[nj++], s, outdir, it, i, case_number);
	}
	/* copies of these items there already (an earlier export): replaced
	 * only when asked, and then all of them */
	size_t taken = 0;
	const char *first = NULL;
	for (k = 0; k < nj && !force; k++) {
		if (lstat(jobs[k].path, &st) == 0 && taken++ == 0)
			first = jobs[k].path;
	}
	if (taken) {
		rc = cli_usage_error(cli, "--out %s holds %zu working cop%s of these items already "
					  "(%s); give --force to replace them, or another folder",
				     outdir, taken, taken == 1 ? "y" : "ies", first);
		goto out;
	}
	size_t heif_n = 0, heif_done = 0;
	int tty = isatty(STDERR_FILENO), shown = 0;
	double t0 = time_mono();
	for (k = 0; k < nj; k++)
		heif_n += jobs[k].heif != NULL;
	for (k = 0; k < nj; k += EXPORT_JPEG_BATCH) {
		size_t m = nj - k < EXPORT_JPEG_BATCH ? nj - k : EXPORT_JPEG_BATCH;
		struct jpeg_pool pl = {.outdir = outdir, .jobs = jobs + k, .n = m};
		for (size_t h = 0; h < m; h++)
			if (jobs[k + h].heif) {
				jpeg_make(outdir, &jobs[k + h], &heif_mem);
				/* a third of a second each: on a terminal, a long
				 * run says how far it is */
				if (++heif_done % 4 == 0 && tty && time_mono() - t0 > 1.0) {
					fprintf(stderr, "\r\033[Krendering HEIF photos: %zu of %zu",
						heif_done, heif_n);
					shown = 1;
				}
			}
		if (shown) {
			fprintf(stderr, "\r\033[K");
			shown = 0;
		}
		atomic_init(&pl.next, 0);
		jpeg_run(&pl);
		jpeg_place(jobs + k, m);
	}
	for (k = 0; k < nj; k++)
		placed += jobs[k].rc == 0;
	/* one fsync of the directory makes every rename above durable */
	if (placed && fs_fsync_dir(outdir, err, sizeof err)) {
		jpeg_unplace(outdir, jobs, nj, err);
		placed = 0;
	}
	absdir = realpath(outdir, NULL);
	for (k = 0; k < nj; k++)
		jobs[k].abs = xasprintf("%s/%s", absdir ? absdir : outdir, jobs[k].name);
	if (placed && jpeg_record(cli, s, case_number, jobs, nj, err, sizeof err)) {
		snprintf(why, sizeof why, "not recorded in the custody log: %s", err);
		jpeg_unplace(outdir, jobs, nj, why);
	}
	/* the report, in the order of the items */
	k = 0;
	json_array_foreach(ctx->items, i, it) {
		if (k >= nj || jobs[k].item != i) {
			json_array_append_new(skipped, jpeg_skip(it, "not a JPEG or HEIF photo"));
			continue;
		}
		struct jpeg_job *j = &jobs[k++];
		if (j->rc == 0) {
			json_array_append_new(done, json_pack("{s:I, s:s, s:s, s:s}", "item",
							      (json_int_t)j->id, "original_sha256",
							      j->sha, "sha256", j->hex, "path", j->abs));
		} else {
			fprintf(stderr, "evcap export: %s: %s\n", j->label, j->err);
			json_array_append_new(skipped, jpeg_skip(it, j->err));
			failed++;
		}
	}
	if (cli->json) {
		cli_print_json(json_pack("{s:s, s:O, s:s, s:o, s:o}", "format", "jpeg", "case",
					 json_object_get(ctx->case_row, "number"), "out", outdir,
					 "copies", done, "skipped", skipped));
		done = skipped = NULL;
	} else if (cli->verbosity >= 0 || failed) { /* -q: only when something failed */
		printf("wrote %zu working cop%s into %s", json_array_size(done),
		       json_array_size(done) == 1 ? "y" : "ies", outdir);
		size_t other = json_array_size(skipped) - failed;
		if (other)
			printf("; %zu item%s not a JPEG or HEIF photo, not copied", other,
			       other == 1 ? " is" : "s are");
		if (failed)
			printf("; %zu failed (named above)", failed);
		printf("\n");
	}
	rc = failed ? EXIT_PROBLEM : EXIT_OK;
out:
	for (k = 0; k < nj; k++)
		jpeg_job_free(&jobs[k]);
	free(jobs);
	jpeg_mem_free(&heif_mem);
	free(absdir);
	json_decref(done);
	json_decref(skipped);
	return rc;
}

static int export_file(struct cli *cli, struct store *s, struct export_ctx *ctx,
		       const struct export_args *a)
{
	char err[512], hex[SHA256_HEX_LEN + 1];
	struct buf out;
	int rc = EXIT_PROBLEM, r = 0;
	size_t located = 0, i, n = json_array_size(ctx->items);
	json_t *it;
	buf_init(&out, EXPORT_OUT_MAX);
	json_array_foreach(ctx->items, i, it) {
		located += export_item_located(it) != 0;
	}
	/* the follow-up report makes the thumbnails of its own photos */
	if ((a->fmt == F_HTML && !a->revisit) || a->fmt == F_KML) {
		export_ctx_thumbs(ctx, s, EXPORT_THUMB_PX);
	}
	if (a->fmt == F_HTML) {
		json_t *ops = export_operators(ctx);
		if (json_array_size(ops) < 2)
			fprintf(stderr,
				"evcap export: warning: case %s names %zu officer%s; the rules on "
				"electronic evidence want two or more (evcap case set CASE --operator "
				"NAME)\n",
				json_string_value(json_object_get(ctx->case_row, "number")),
				json_array_size(ops), json_array_size(ops) == 1 ? "" : "s");
		json_decref(ops);
	}
	switch (a->fmt) {
	case F_GEOJSON: r = export_geojson(ctx, &out, err, sizeof err); break;
	case F_KML: r = export_kml(ctx, &out, err, sizeof err); break;
	case F_GPX: r = export_gpx(ctx, &out, err, sizeof err); break;
	case F_CSV: r = export_csv(ctx, &out, err, sizeof err); break;
	default:
		if (a->revisit) {
			struct revisit_opts ro = {0};
			struct revisit_report *rr = NULL;
			ro.pair = 1;
			ro.before = a->before;
			ro.after = a->after;
			r = revisit_report_load(s, a->case_id, &ro, &rr, err, sizeof err);
			if (!r)
				r = revisit_report_html(rr, s, ctx->opt.lang == EXPORT_LANG_ZH ? "zh" : "en",
							&out, err, sizeof err);
			if (!r) {
				/* the record counts what the report shows: the two
				 * visits' photos, not the whole case */
				size_t unlocated;
				revisit_report_photo_counts(rr, &n, &unlocated);
				located = n - unlocated;
			}
			revisit_report_free(rr);
		} else {
			r = export_html(ctx, &out, err, sizeof err);
		}
		break;
	}
	if (r || fs_write_atomic(a->out, out.data, out.len, 0644, 0, err, sizeof err)) {
		cli_warn("evcap export: %s", err);
		/* as in 'evcap revisit': visits named that the case lacks */
		if (r == EV_EINVAL && a->revisit && a->before)
			rc = EXIT_USAGE;
		goto out;
	}
	sha256_hex(out.data, out.len, hex);
	const char *base = fs_basename(a->out);
	size_t in_file = a->fmt == F_CSV || a->fmt == F_HTML ? n : located;
	json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "format",
			      a->revisit ? "html-revisit" : fmt_names[a->fmt], "out",
			      base, "sha256", hex, "size", (json_int_t)out.len, "items",
			      (json_int_t)in_file, "items_without_location",
			      (json_int_t)(n - located));
	if (a->gcj02)
		json_object_set_new(d, "datum_extra", json_string("GCJ-02"));
	if (a->site)
		json_object_set_new(d, "site", json_string(a->site));
	if (a->has_from)
		json_object_set_new(d, "from", json_string(a->from));
	if (a->has_to)
		json_object_set_new(d, "to", json_string(a->to));
	if (a->revisit && a->before)
		json_object_set_new(d, "before", json_integer(a->before));
	if (a->revisit && a->after)
		json_object_set_new(d, "after", json_integer(a->after));
	const char *case_number = json_string_value(json_object_get(ctx->case_row, "number"));
	if (cli_record_export(cli, s, case_number, NULL, d, a->out)) {
		json_decref(d);
		goto out;
	}
	if (cli->json) {
		json_object_set_new(d, "case", json_string(case_number));
		json_object_set_new(d, "path", json_string(a->out));
		cli_print_json(d);
	} else {
		json_decref(d);
	}
	if (!cli->json && cli->verbosity >= 0) {
		printf("wrote %s (%s, %zu bytes, SHA-256 %s): %zu item%s", a->out, fmt_names[a->fmt],
		       out.len, hex, in_file, in_file == 1 ? "" : "s");
		if (n > located)
			printf(", %zu without location %s", n - located,
			       in_file == n ? "(marked)" : "left out");
		printf("\n");
	}
	rc = EXIT_OK;
out:
	buf_free(&out);
	return rc;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	struct export_args a = {0};
	struct export_ctx *ctx = NULL;
	char err[512];
	int rc = parse_args(cli, argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	/* working copies are recorded (derivatives rows, one event each):
	 * they need a store that can be written; a file export's event is
	 * recorded where it can be */
	struct store *s = cli_store(cli, a.fmt == F_JPEG ? CLI_WRITE : CLI_READ_RECORD);
	struct export_filter f = {0};
	rc = EXIT_USAGE;
	if ((f.case_id = cli_case(cli, a.case_name, 1)) <= 0)
		goto out;
	a.case_id = f.case_id;
	if (a.site && (f.site_id = cli_site(cli, f.case_id, a.site)) <= 0)
		goto out;
	if (cli_inside_store(s, a.out)) {
		rc = cli_usage_error(cli, "%s is inside the evidence store; write exports elsewhere",
				     a.out);
		goto out;
	}
	if (a.fmt != F_JPEG && cli_out_taken(cli, "--out", a.out, a.force))
		goto out;
	if (a.fmt != F_JPEG) { /* jpeg makes its folder; a file's folder must be there */
		char *dir = fs_dirname(a.out);
		struct stat st;
		int there = stat(dir, &st) == 0, isdir = there && S_ISDIR(st.st_mode);
		if (!isdir)
			rc = cli_usage_error(cli, there ? "--out %s: %s is not a folder"
						      : "--out %s: the folder %s does not exist "
							"(make it first)",
					     a.out, dir);
		free(dir);
		if (!isdir)
			goto out;
	}
	f.from_iso = a.has_from ? a.from : NULL;
	f.to_iso = a.has_to ? a.to : NULL;
	struct export_opts o = {0};
	o.lang = (enum export_lang)i18n_pick(a.lang);
	o.gcj02 = a.gcj02;
	o.now = time_now();
	o.actor = cli->actor;
	o.items_only = a.fmt == F_JPEG;
	if (export_ctx_load(s, &f, &o, &ctx, err, sizeof err)) {
		cli_warn("evcap export: %s", err);
		rc = EXIT_PROBLEM;
		goto out;
	}
	if (a.fmt == F_JPEG)
		rc = export_jpeg(cli, s, ctx, a.out, a.force);
	else
		rc = export_file(cli, s, ctx, &a);
out:
	export_ctx_free(ctx);
	return rc;
}
