/*
 * JPEG thumbnails through libjpeg-turbo. The decoder's errors arrive by
 * longjmp; everything that must be released afterwards lives in a heap
 * block whose pointer is set before setjmp, so nothing indeterminate is
 * touched on the way out.
 */
#include "thumb.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
/* jpeglib.h needs FILE declared before it */
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>

/* libjpeg may use at most this much for one decode (progressive files
 * keep whole coefficient planes); past it the decode fails cleanly. */
#define THUMB_MEM_MAX (512L << 20)

struct thumb_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

/* Resources of one run, on the heap so that longjmp leaves them valid. */
struct thumb_job {
	struct jpeg_decompress_struct d;
	struct jpeg_compress_struct c;
	struct thumb_err je;
	int have_d, have_c;
	uint8_t *src;   /* decoded (scaled) RGB */
	uint8_t *small; /* box-filtered RGB */
	uint8_t *rot;   /* oriented RGB */
	unsigned char *jpg;
	unsigned long jpg_len;
	const char *name; /* for messages; here so longjmp cannot clobber it */
};

static void thumb_on_error(j_common_ptr ci)
{
	struct thumb_err *e = (struct thumb_err *)ci->err;
	(*ci->err->format_message)(ci, e->msg);
	longjmp(e->jb, 1);
}

/* Corrupt-data warnings are normal for truncated camera files; the decode
 * goes on and fills with grey, which is fine for a thumbnail. */
static void thumb_on_message(j_common_ptr ci, int level)
{
	(void)ci;
	(void)level;
}

/* Averages src (sw x sh RGB, rows `stride` bytes apart) down to dw x dh. */
static void box_filter(const uint8_t *src, int sw, int sh, size_t stride, uint8_t *dst, int dw,
		       int dh)
{
	for (int y = 0; y < dh; y++) {
		int y0 = (int)((int64_t)y * sh / dh), y1 = (int)((int64_t)(y + 1) * sh / dh);
		if (y1 <= y0)
			y1 = y0 + 1;
		for (int x = 0; x < dw; x++) {
			int x0 = (int)((int64_t)x * sw / dw), x1 = (int)((int64_t)(x + 1) * sw / dw);
			if (x1 <= x0)
				x1 = x0 + 1;
			uint32_t acc[3] = {0, 0, 0}, cnt = 0;
			for (int yy = y0; yy < y1 && yy < sh; yy++)
				for (int xx = x0; xx < x1 && xx < sw; xx++) {
					const uint8_t *p =
						src + (size_t)yy * stride + (size_t)xx * 3;
					acc[0] += p[0];
					acc[1] += p[1];
					acc[2] += p[2];
					cnt++;
				}
			uint8_t *q = dst + ((size_t)y * (size_t)dw + (size_t)x) * 3;
			for (int k = 0; k < 3; k++)
				q[k] = (uint8_t)(cnt ? (acc[k] + cnt / 2) / cnt : 128);
		}
	}
}

/* Applies EXIF orientation o (1..8) to src (w x h); *ow, *oh get the new
 * size. Orientations 5..8 swap width and height. */
static void orient(const uint8_t *src, int w, int h, int o, uint8_t *dst, int *ow, int *oh)
{
	int swap = o >= 5 && o <= 8;
	*ow = swap ? h : w;
	*oh = swap ? w : h;
	for (int dy = 0; dy < *oh; dy++)
		for (int dx = 0; dx < *ow; dx++) {
			int sx, sy;
			switch (o) {
			case 2: sx = w - 1 - dx; sy = dy; break;
			case 3: sx = w - 1 - dx; sy = h - 1 - dy; break;
			case 4: sx = dx; sy = h - 1 - dy; break;
			case 5: sx = dy; sy = dx; break;
			case 6: sx = dy; sy = h - 1 - dx; break;
			case 7: sx = w - 1 - dy; sy = h - 1 - dx; break;
			case 8: sx = w - 1 - dy; sy = dx; break;
			default: sx = dx; sy = dy; break;
			}
			memcpy(dst + ((size_t)dy * (size_t)*ow + (size_t)dx) * 3,
			       src + ((size_t)sy * (size_t)w + (size_t)sx) * 3, 3);
		}
}

/* CMYK as Adobe writes it (inverted) to RGB, in place from 4 to 3 bytes. */
static void cmyk_to_rgb(uint8_t *row, int w)
{
	for (int x = 0; x < w; x++) {
		unsigned c = row[x * 4], m = row[x * 4 + 1], yy = row[x * 4 + 2], k = row[x * 4 + 3];
		row[x * 3] = (uint8_t)(c * k / 255);
		row[x * 3 + 1] = (uint8_t)(m * k / 255);
		row[x * 3 + 2] = (uint8_t)(yy * k / 255);
	}
}

static void job_free(struct thumb_job *j)
{
	if (!j)
		return;
	if (j->have_d)
		jpeg_destroy_decompress(&j->d);
	if (j->have_c)
		jpeg_destroy_compress(&j->c);
	free(j->src);
	free(j->small);
	free(j->rot);
	free(j->jpg);
	free(j);
}

/* Encodes rgb (w x h, rows `stride` bytes apart) as a baseline JPEG,
 * with a JFIF header or with no marker segment at all (for a rendering
 * that gets the original's EXIF instead), and appends it to out.
 * libjpeg's errors longjmp to the caller's setjmp on j->je.jb. */
static int encode(struct thumb_job *j, const uint8_t *rgb, int w, int h, size_t stride,
		  int quality, int jfif, struct buf *out, char *err, size_t errlen)
{
	jpeg_create_compress(&j->c);
	j->have_c = 1;
	jpeg_mem_dest(&j->c, &j->jpg, &j->jpg_len);
	j->c.image_width = (JDIMENSION)w;
	j->c.image_height = (JDIMENSION)h;
	j->c.input_components = 3;
	j->c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&j->c);
	j->c.write_JFIF_header = jfif ? TRUE : FALSE;
	jpeg_set_quality(&j->c, quality, TRUE);
	jpeg_start_compress(&j->c, TRUE);
	while (j->c.next_scanline < j->c.image_height) {
		JSAMPROW r = (JSAMPROW)(rgb + (size_t)j->c.next_scanline * stride);
		jpeg_write_scanlines(&j->c, &r, 1);
	}
	jpeg_finish_compress(&j->c);
	if (buf_append(out, j->jpg, j->jpg_len))
		return err_set(err, errlen, EV_ELIMIT, "%s: the JPEG does not fit the output",
			       j->name);
	return 0;
}

/* The second half of every thumbnail: rgb (sw x sh, rows `stride` bytes
 * apart) shrunk to max_px, turned by `orientation`, encoded and appended to
 * out. libjpeg's errors longjmp to the caller's setjmp on j->je.jb. */
static int shrink_and_encode(struct thumb_job *j, const uint8_t *rgb, int sw, int sh,
			     size_t stride, int max_px, int orientation, struct buf *out, char *err,
			     size_t errlen)
{
	int big = sw > sh ? sw : sh;
	int tw = sw, th = sh;
	if (big > max_px) {
		tw = (int)((int64_t)sw * max_px / big);
		th = (int)((int64_t)sh * max_px / big);
	}
	if (tw < 1)
		tw = 1;
	if (th < 1)
		th = 1;
	j->small = xmalloc((size_t)tw * (size_t)th * 3);
	box_filter(rgb, sw, sh, stride, j->small, tw, th);
	int ow, oh;
	j->rot = xmalloc((size_t)tw * (size_t)th * 3);
	orient(j->small, tw, th, orientation, j->rot, &ow, &oh);

	return encode(j, j->rot, ow, oh, (size_t)ow * 3, 80, 1, out, err, errlen);
}

int thumb_jpeg(const uint8_t *p, size_t n, int max_px, int orientation, const char *name,
	       struct buf *out, char *err, size_t errlen)
{
	struct thumb_job *j = xcalloc(1, sizeof *j);
	int rc = 0;
	j->name = name ? name : "(photo)";
	if (max_px < 8 || max_px > 2048 || n < 4 || n > ULONG_MAX) {
		rc = err_set(err, errlen, EV_EINVAL, "%s: cannot make a thumbnail of %zu bytes at %d px",
			     j->name, n, max_px);
		goto out;
	}
	j->d.err = jpeg_std_error(&j->je.pub);
	j->je.pub.error_exit = thumb_on_error;
	j->je.pub.emit_message = thumb_on_message;
	j->c.err = &j->je.pub;
	if (setjmp(j->je.jb)) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: the JPEG cannot be decoded: %s", j->name,
			     j->je.msg);
		goto out;
	}
	jpeg_create_decompress(&j->d);
	j->have_d = 1;
	j->d.mem->max_memory_to_use = THUMB_MEM_MAX;
	jpeg_mem_src(&j->d, p, (unsigned long)n);
	if (jpeg_read_header(&j->d, TRUE) != JPEG_HEADER_OK) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: no JPEG image header", j->name);
		goto out;
	}
	uint64_t px = (uint64_t)j->d.image_width * j->d.image_height;
	if (px == 0 || px > THUMB_MAX_PIXELS) {
		rc = err_set(err, errlen, EV_ELIMIT,
			     "%s: a frame of %ux%u pixels is beyond the %llu-pixel limit", j->name,
			     j->d.image_width, j->d.image_height,
			     (unsigned long long)THUMB_MAX_PIXELS);
		goto out;
	}
	/* the largest IDCT shrink that still leaves at least max_px */
	unsigned longest = j->d.image_width > j->d.image_height ? j->d.image_width
								 : j->d.image_height;
	unsigned denom = 1;
	while (denom < 8 && longest / (denom * 2) >= (unsigned)max_px)
		denom *= 2;
	j->d.scale_num = 1;
	j->d.scale_denom = denom;
	int cmyk = j->d.jpeg_color_space == JCS_CMYK || j->d.jpeg_color_space == JCS_YCCK;
	j->d.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	j->d.dct_method = JDCT_IFAST;
	jpeg_start_decompress(&j->d);
	int sw = (int)j->d.output_width, sh = (int)j->d.output_height;
	size_t row = (size_t)sw * (cmyk ? 4 : 3);
	j->src = xmalloc(row * (size_t)sh);
	while (j->d.output_scanline < j->d.output_height) {
		JSAMPROW r = j->src + (size_t)j->d.output_scanline * row;
		if (jpeg_read_scanlines(&j->d, &r, 1) != 1)
			break;
	}
	if (cmyk) /* each row shrinks from 4 to 3 bytes a pixel; pack them */
		for (int y = 0; y < sh; y++) {
			uint8_t *r = j->src + (size_t)y * row;
			cmyk_to_rgb(r, sw);
			memmove(j->src + (size_t)y * (size_t)sw * 3, r, (size_t)sw * 3);
		}
	jpeg_abort_decompress(&j->d);

	rc = shrink_and_encode(j, j->src, sw, sh, (size_t)sw * 3, max_px, orientation, out, err,
			       errlen);
out:
	job_free(j);
	return rc;
}

/* Decoded pixels to a JPEG: shrunk to max_px and turned (a thumbnail), or
 * whole at `quality` when max_px is 0. */
static int from_rgb(const uint8_t *rgb, int w, int h, size_t stride, int max_px,
		    int orientation, int quality, const char *name, struct buf *out, char *err,
		    size_t errlen)
{
	struct thumb_job *j = xcalloc(1, sizeof *j);
	int rc;
	j->name = name ? name : "(photo)";
	if ((max_px && (max_px < 8 || max_px > 2048)) || quality < 1 || quality > 100 || w < 1 ||
	    h < 1 || w > 65500 || h > 65500 || stride / 3 < (size_t)w ||
	    (uint64_t)w * (uint64_t)h > THUMB_MAX_PIXELS) {
		rc = err_set(err, errlen, EV_EINVAL,
			     "%s: cannot make a JPEG of %dx%d pixels at %d px, quality %d", j->name,
			     w, h, max_px, quality);
		goto out;
	}
	j->c.err = jpeg_std_error(&j->je.pub);
	j->je.pub.error_exit = thumb_on_error;
	j->je.pub.emit_message = thumb_on_message;
	if (setjmp(j->je.jb)) {
		rc = err_set(err, errlen, EV_ECORRUPT, "%s: the JPEG cannot be encoded: %s",
			     j->name, j->je.msg);
		goto out;
	}
	rc = max_px ? shrink_and_encode(j, rgb, w, h, stride, max_px, orientation, out, err, errlen)
		    : encode(j, rgb, w, h, stride, quality, 0, out, err, errlen);
out:
	job_free(j);
	return rc;
}

int thumb_rgb(const uint8_t *rgb, int w, int h, size_t stride, int max_px, int orientation,
	      const char *name, struct buf *out, char *err, size_t errlen)
{
	if (max_px < 8 || max_px > 2048)
		return err_set(err, errlen, EV_EINVAL, "%s: cannot make a thumbnail at %d px",
			       name ? name : "(photo)", max_px);
	return from_rgb(rgb, w, h, stride, max_px, orientation, 80, name, out, err, errlen);
}

int thumb_encode(const uint8_t *rgb, int w, int h, size_t stride, int quality, const char *name,
		 struct buf *out, char *err, size_t errlen)
{
	return from_rgb(rgb, w, h, stride, 0, 1, quality, name, out, err, errlen);
}

static int is_heif(const char *format)
{
	return format && (strcmp(format, "heic") == 0 || strcmp(format, "avif") == 0);
}

int thumb_format_ok(const char *format)
{
	return format && (strcmp(format, "jpeg") == 0 || is_heif(format));
}

int thumb_photo(const char *format, const uint8_t *p, size_t n, int max_px, int orientation,
		const char *name, struct buf *out, char *err, size_t errlen)
{
	if (is_heif(format))
		return thumb_heif(p, n, max_px, name, out, err, errlen);
	if (format && strcmp(format, "jpeg") == 0)
		return thumb_jpeg(p, n, max_px, orientation, name, out, err, errlen);
	return err_set(err, errlen, EV_EINVAL, "%s: no thumbnail is made of a %s file",
		       name ? name : "(photo)", format ? format : "unknown");
}

int thumb_data_uri(const uint8_t *p, size_t n, struct buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (buf_puts(out, "data:image/jpeg;base64,"))
		return EV_ELIMIT;
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		if (buf_append(out, q, 4))
			return EV_ELIMIT;
	}
	return 0;
}
