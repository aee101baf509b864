/*
 * HEIF photos (a phone's HEIC, AVIF) decoded through libheif, which
 * decodes HEVC with libde265 and AV1 with dav1d or libaom: thumbnails for
 * the reports, and whole JPEG renderings for working copies.
 *
 * The picture is always the primary image, decoded whole: a HEIF file may
 * also hold a small thumbnail image of its own, but nothing ties it to the
 * primary one, and the report must show the evidence itself. libheif
 * applies the file's rotation and mirroring (irot, imir) while decoding;
 * an EXIF orientation in such a file only repeats them, so it is not
 * applied again.
 *
 * Video decoders are large and their inputs come from the field, so each
 * decode runs in a child process with a memory cap and a time limit. The
 * child hands back the finished JPEG through a pipe, or a message; a
 * child that crashes or runs out of time costs one thumbnail or copy,
 * named, and the export goes on.
 *
 * libheif is opened on first use (dynlib.h): a machine without it makes
 * every other thumbnail and says, for each HEIF photo, why it has none.
 */
#include "thumb.h"

#include <errno.h>
#include <fcntl.h>
#include <libheif/heif.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dynlib.h"
#include "fsutil.h"
#include "timeutil.h"

#ifndef EVCAP_SONAME_HEIF
#define EVCAP_SONAME_HEIF "libheif.so.1"
#endif
#define HEIF_FNS(X)                                                                           \
	X(context_alloc) X(context_free) X(context_read_from_memory_without_copy)             \
	X(context_set_maximum_image_size_limit) X(context_get_primary_image_handle)          \
	X(image_handle_get_width) X(image_handle_get_height) X(image_handle_release)          \
	X(decode_image) X(image_get_width) X(image_get_height) X(image_get_plane_readonly)     \
	X(image_release) X(get_version)
#define HF_PTR(f) DYNLIB_PTR(heif_, f)
static struct {
	HEIF_FNS(HF_PTR)
} hf;
#define HF_SYM(f) DYNLIB_SYM(hf, heif_, f)
static const struct dynlib_sym hf_syms[] = {HEIF_FNS(HF_SYM)};
static struct dynlib hf_lib =
	DYNLIB_INIT(EVCAP_SONAME_HEIF, "to make thumbnails of HEIF photos", hf_syms);

#if defined(__SANITIZE_ADDRESS__)
#define THUMB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THUMB_ASAN 1
#endif
#endif

/* A decode's limits: the address space it may add to what it inherits (a
 * 100 MP frame is 300 MB as RGB, and the decoder keeps its planes
 * besides) and its time: CPU time, and a wall-clock deadline a little
 * longer for a decoder stuck waiting (seen when its threads could not get
 * memory). */
#ifndef HEIF_CHILD_MEM
#define HEIF_CHILD_MEM ((rlim_t)2 << 30)
#endif
#define HEIF_CHILD_SECONDS 60
/* The most a child may hand back: a full-size rendering of a 100 MP
 * photo at quality 95 stays well under this. */
#define HEIF_REPLY_MAX ((size_t)128 << 20)

const char *heif_decoder(void)
{
	static char v[64];
	char err[300];
	if (dynlib_load(&hf_lib, err, sizeof err))
		return "libheif (not loaded)";
	if (!v[0])
		snprintf(v, sizeof v, "libheif %s", hf.get_version());
	return v;
}

/* libheif's message for e, without the line end it sometimes carries. */
static const char *heif_msg(struct heif_error e, char *tmp, size_t n)
{
	snprintf(tmp, n, "%s", e.message && *e.message ? e.message : "no reason given");
	size_t k = strlen(tmp);
	while (k && (tmp[k - 1] == '\n' || tmp[k - 1] == '\r' || tmp[k - 1] == ' '))
		tmp[--k] = '\0';
	return tmp;
}

/* Decodes in this process: 0 with the JPEG appended to out and its size
 * in wh[], or an error with err naming the problem. */
static int decode_here(const uint8_t *p, size_t n, int max_px, int quality, const char *name,
		       struct buf *out, uint32_t wh[2], char *err, size_t errlen)
{
	struct heif_context *ctx = hf.context_alloc();
	struct heif_image_handle *h = NULL;
	struct heif_image *img = NULL;
	char m[256];
	int rc;
	if (!ctx)
		return err_set(err, errlen, EV_ERR, "%s: libheif could not start", name);
	/* libheif refuses frames wider or taller than this */
	hf.context_set_maximum_image_size_limit(ctx, 32768);
	struct heif_error e = hf.context_read_from_memory_without_copy(ctx, p, n, NULL);
	if (e.code != heif_error_Ok) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: the HEIF file cannot be read: %s", name,
			     heif_msg(e, m, sizeof m));
		goto out;
	}
	e = hf.context_get_primary_image_handle(ctx, &h);
	if (e.code != heif_error_Ok) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: the HEIF file has no primary image: %s",
			     name, heif_msg(e, m, sizeof m));
		goto out;
	}
	int w = hf.image_handle_get_width(h), ht = hf.image_handle_get_height(h);
	if (w < 1 || ht < 1 || (uint64_t)w * (uint64_t)ht > THUMB_MAX_PIXELS) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "%s: an image of %dx%d pixels is beyond the %llu-pixel limit", name, w,
			     ht, (unsigned long long)THUMB_MAX_PIXELS);
		goto out;
	}
	e = hf.decode_image(h, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
	if (e.code != heif_error_Ok) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: the HEIF image cannot be decoded: %s",
			     name, heif_msg(e, m, sizeof m));
		goto out;
	}
	int stride = 0;
	const uint8_t *rgb = hf.image_get_plane_readonly(img, heif_channel_interleaved, &stride);
	w = hf.image_get_width(img, heif_channel_interleaved);
	ht = hf.image_get_height(img, heif_channel_interleaved);
	if (!rgb || stride < 1 || w < 1 || ht < 1) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: libheif gave no RGB picture", name);
		goto out;
	}
	if (max_px) {
		rc = thumb_rgb(rgb, w, ht, (size_t)stride, max_px, 1, name, out, err, errlen);
		/* the thumbnail's own size is not needed */
	} else {
		rc = thumb_encode(rgb, w, ht, (size_t)stride, quality, name, out, err, errlen);
	}
	wh[0] = (uint32_t)w;
	wh[1] = (uint32_t)ht;
out:
	if (img)
		hf.image_release(img);
	if (h)
		hf.image_handle_release(h);
	hf.context_free(ctx);
	return rc;
}

/* The child: decodes, and writes 'J', the picture's width and height (4
 * bytes each, host order) and the JPEG, or 'E' and a message, to fd. */
static _Noreturn void child(int fd, const uint8_t *p, size_t n, int max_px, int quality,
			   const char *name)
{
	struct rlimit cpu = {HEIF_CHILD_SECONDS, HEIF_CHILD_SECONDS};
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setrlimit(RLIMIT_CPU, &cpu);
	/* what the decoder libraries print names no file; the parent reports
	 * the outcome, naming it */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	/* AddressSanitizer reserves terabytes of address space: under it the
	 * time limit alone stands */
#if !defined(THUMB_ASAN)
	/* the parent's mappings come along (an export's buffers and thread
	 * stacks), so the cap is counted from what is mapped already */
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + HEIF_CHILD_MEM;
	struct rlimit mem = {cap, cap};
	setrlimit(RLIMIT_AS, &mem);
#endif
	struct buf out;
	char err[512];
	uint32_t wh[2] = {0, 0};
	buf_init(&out, HEIF_REPLY_MAX - 1 - sizeof wh);
	int sent;
	if (decode_here(p, n, max_px, quality, name, &out, wh, err, sizeof err) == 0)
		sent = fs_write_all(fd, "J", 1) == 0 && fs_write_all(fd, wh, sizeof wh) == 0 &&
		       fs_write_all(fd, out.data, out.len) == 0;
	else
		sent = fs_write_all(fd, "E", 1) == 0 && fs_write_all(fd, err, strlen(err)) == 0;
	_exit(sent ? 0 : 1);
}

int thumb_heif(const uint8_t *p, size_t n, int max_px, const char *name, struct buf *out,
	       char *err, size_t errlen)
{
	if (max_px < 8 || max_px > 2048)
		return err_set(err, errlen, EV_EINVAL, "%s: cannot make a thumbnail at %d px",
			       name ? name : "(photo)", max_px);
	return heif_render(p, n, max_px, 80, name, out, NULL, NULL, err, errlen);
}

int heif_render(const uint8_t *p, size_t n, int max_px, int quality, const char *name,
		struct buf *out, unsigned *width, unsigned *height, char *err, size_t errlen)
{
	int rc, pfd[2];
	uint32_t wh[2] = {0, 0};
	name = name ? name : "(photo)";
	if (n < 16 || max_px < 0 || max_px > 2048 || quality < 1 || quality > 100)
		return err_set(err, errlen, EV_EINVAL,
			       "%s: cannot render %zu bytes at %d px, quality %d", name, n, max_px,
			       quality);
	if ((rc = dynlib_load(&hf_lib, err, errlen)))
		return rc;
	if (getenv("EVCAP_THUMB_INPROCESS")) {
		rc = decode_here(p, n, max_px, quality, name, out, wh, err, errlen);
		goto done;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_set(err, errlen, EV_EIO, "%s: no pipe for the HEIF decoder: %s", name,
			       strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_set(err, errlen, EV_EIO, "%s: cannot start the HEIF decoder: %s", name,
			       strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		child(pfd[1], p, n, max_px, quality, name);
	}
	close(pfd[1]);

	struct buf reply;
	buf_init(&reply, HEIF_REPLY_MAX);
	double deadline = time_mono() + HEIF_CHILD_SECONDS + 5;
	int timed_out = 0, too_big = 0;
	for (;;) {
		double left = deadline - time_mono();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
		int r = poll(&pf, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue; /* the deadline is checked above */
		char chunk[65536];
		ssize_t k = read(pfd[0], chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (buf_append(&reply, chunk, (size_t)k)) {
			too_big = 1;
			break;
		}
	}
	close(pfd[0]);
	if (timed_out || too_big)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		rc = err_set(err, errlen, EV_ELIMIT, "%s: the HEIF decoder took more than %d s",
			     name, HEIF_CHILD_SECONDS);
	else if (too_big)
		rc = err_set(err, errlen, EV_ELIMIT,
			     "%s: the HEIF decoder gave more than %zu bytes", name, HEIF_REPLY_MAX);
	else if (reply.len > 1 + sizeof wh && reply.data[0] == 'J' && WIFEXITED(status) &&
		 WEXITSTATUS(status) == 0) { /* a child stopped mid-write is no answer */
		memcpy(wh, reply.data + 1, sizeof wh);
		rc = buf_append(out, reply.data + 1 + sizeof wh, reply.len - 1 - sizeof wh)
			     ? err_set(err, errlen, EV_ELIMIT,
				       "%s: the rendering does not fit the output", name)
			     : 0;
	} else if (reply.len > 1 && reply.data[0] == 'E')
		rc = err_set(err, errlen, EV_ECORRUPT, "%.*s", (int)(reply.len - 1),
			     reply.data + 1);
	else if (WIFSIGNALED(status))
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "%s: the HEIF decoder stopped on signal %d (%s)", name,
			     WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		rc = err_set(err, errlen, EV_ECORRUPT,
			     "%s: the HEIF decoder ended without an answer", name);
	buf_free(&reply);
done:
	if (rc == 0 && width)
		*width = wh[0];
	if (rc == 0 && height)
		*height = wh[1];
	return rc;
}
