/*
 * Allocation, error formatting and byte helpers shared by every module.
 */
#include "util.h"

#include "buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void oom(size_t n)
{
	fprintf(stderr, "evcap: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom(n * m);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom(0);
	return p;
}

void secure_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

char *utf8_width_fold(const char *s, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;
	while (p[i]) {
		/* both forms are three bytes: EF BC 81..EF BD 9E and E3 80 80 */
		if (p[i] == 0xef && (p[i + 1] == 0xbc || p[i + 1] == 0xbd) && p[i + 2] >= 0x80 &&
		    p[i + 2] <= 0xbf) {
			unsigned cp = 0xf000u | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3fu);
			if (cp >= 0xff01 && cp <= 0xff5e) {
				out[o++] = (char)(cp - 0xfee0u);
				i += 3;
				continue;
			}
		} else if (p[i] == 0xe3 && p[i + 1] == 0x80 && p[i + 2] == 0x80) {
			out[o++] = ' ';
			i += 3;
			continue;
		}
		out[o++] = (char)p[i++];
	}
	out[o] = '\0';
	return out;
}

int digits_value(const char *p, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n && i < 9; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return n > 9 ? -1 : v;
}

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		size_t len;
		uint32_t cp;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		/* reject overlong forms, surrogates and out-of-range values */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * 1 for a character, valid UTF-8 of len bytes (2 to 4), that is not seen
 * but changes how the text around it shows or reads: the Arabic letter
 * mark (U+061C), the Mongolian vowel separator (U+180E), zero-width ones
 * and marks (U+200B to U+200F), line and paragraph separators and
 * bidirectional embeddings and overrides (U+2028 to U+202E), the word
 * joiner, invisible operators and bidirectional isolates (U+2060 to
 * U+206F), the byte order mark (U+FEFF), interlinear annotation marks
 * (U+FFF9 to U+FFFB) and tag characters (U+E0000 to U+E007F).
 */
static int unseen_format(const unsigned char *b, size_t len)
{
	uint32_t cp = len == 2 ? (b[0] & 0x1Fu) : len == 3 ? (b[0] & 0x0Fu) : (b[0] & 0x07u);
	for (size_t k = 1; k < len; k++)
		cp = cp << 6 | (b[k] & 0x3Fu);
	return cp == 0x061C || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF ||
	       (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE007F);
}

void text_copy_plain(const void *p, size_t n, char *out, size_t outlen, int trim)
{
	const unsigned char *b = p;
	size_t o = 0, i = 0;
	if (!outlen)
		return;
	while (i < n && b[i] && o + 1 < outlen) {
		size_t len = 0;
		if (b[i] >= 0x80)
			for (size_t k = 2; k <= 4 && i + k <= n; k++)
				if (utf8_valid((const char *)b + i, k)) {
					len = k;
					break;
				}
		/* C1 controls: U+0080 to U+009F, encoded C2 80 to C2 9F */
		if (len == 2 && b[i] == 0xC2 && b[i + 1] < 0xA0)
			len = 0;
		if (len && unseen_format(b + i, len)) {
			out[o++] = '?';
			i += len;
			continue;
		}
		if (len) {
			if (o + len + 1 > outlen)
				break;
			memcpy(out + o, b + i, len);
			o += len;
			i += len;
			continue;
		}
		out[o++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
		i++;
	}
	while (trim && o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void utf8_sanitize(char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t len = 0;
		for (size_t k = 1; k <= 4 && i + k <= n; k++)
			if (utf8_valid(s + i, k)) {
				len = k;
				break;
			}
		if (len == 0) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
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

int hex_decode(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]);
		int lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * n] == '\0' ? 0 : -1;
}

void human_bytes(uint64_t b, char out[32])
{
	/* the thresholds sit where one decimal would round up to 1000 */
	if (b >= 999950000ULL)
		snprintf(out, 32, "%.1f GB", b / 1e9);
	else if (b >= 999950ULL)
		snprintf(out, 32, "%.1f MB", b / 1e6);
	else if (b >= 1000ULL)
		snprintf(out, 32, "%.1f kB", b / 1e3);
	else
		snprintf(out, 32, "%llu byte%s", (unsigned long long)b, b == 1 ? "" : "s");
}

char *text_escape(const char *s, size_t n, size_t max)
{
	struct buf b;
	buf_init(&b, 0);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		/* find the longest valid UTF-8 sequence starting here (1-4 bytes) */
		size_t len = 0;
		for (size_t k = 1; k <= 4 && i + k <= n; k++) {
			if (utf8_valid(s + i, k)) {
				len = k;
				break;
			}
		}
		int rc;
		if (len == 1 && p[i] == '\\') {
			/* a backslash itself is doubled, so that a name holding
			 * the four characters \xFF never reads like the byte */
			if (b.len + 2 > max)
				break;
			rc = buf_puts(&b, "\\\\");
			len = 1;
		} else if (len == 0 || (len == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			if (b.len + 4 > max)
				break;
			rc = buf_printf(&b, "\\x%02X", p[i]);
			len = 1;
		} else if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
			/* U+0080 to U+009F are control characters too (U+009B
			 * starts an escape sequence where 8-bit controls are
			 * taken): both bytes as \xNN */
			if (b.len + 8 > max)
				break;
			rc = buf_printf(&b, "\\x%02X\\x%02X", p[i], p[i + 1]);
		} else if (len > 1 && text_direction_len(s + i, len) == len) {
			/* a name that would read as another ("DJI_0001exe.JPG"
			 * for DJI_0001<U+202E>GPJ.exe): each byte as \xNN */
			if (b.len + 4 * len > max)
				break;
			rc = 0;
			for (size_t k = 0; k < len && !rc; k++)
				rc = buf_printf(&b, "\\x%02X", p[i + k]);
		} else {
			if (b.len + len > max)
				break;
			rc = buf_append(&b, p + i, len);
		}
		if (rc)
			break;
		i += len;
	}
	size_t l;
	char *r = buf_detach(&b, &l);
	return r ? r : xstrdup("");
}

size_t text_direction_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	/* U+061C: D8 9C */
	if (n >= 2 && p[0] == 0xd8 && p[1] == 0x9c)
		return 2;
	if (n < 3 || p[0] != 0xe2)
		return 0;
	/* U+200E, U+200F: E2 80 8E-8F; U+202A-202E: E2 80 AA-AE */
	if (p[1] == 0x80 && (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae)))
		return 3;
	/* U+2066-2069: E2 81 A6-A9 */
	return p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9 ? 3 : 0;
}

size_t text_direction_at(const char *s, unsigned *cp)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* U+202A-202E: E2 80 AA-AE; U+2066-2069: E2 81 A6-A9 */
		if (p[0] != 0xe2 || !p[1] || !p[2])
			continue;
		if ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)) {
			*cp = 0x2000u | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
			return (size_t)(p - (const unsigned char *)s) + 1;
		}
	}
	return 0;
}

void num_text(double v, char out[NUM_TEXT_MAX])
{
	if (!isfinite(v)) {
		snprintf(out, NUM_TEXT_MAX, "%g", v);
		return;
	}
	int digits = 1;
	for (; digits < 17; digits++) {
		snprintf(out, NUM_TEXT_MAX, "%.*e", digits - 1, v);
		if (strtod(out, NULL) == v)
			break;
	}
	snprintf(out, NUM_TEXT_MAX, "%.*e", digits - 1, v);
	int exp10 = atoi(strchr(out, 'e') + 1);
	if (exp10 >= -7 && exp10 < 21) {
		int decimals = digits - 1 - exp10;
		snprintf(out, NUM_TEXT_MAX, "%.*f", decimals > 0 ? decimals : 0, v);
	} else {
		snprintf(out, NUM_TEXT_MAX, "%.*g", digits, v);
	}
}
