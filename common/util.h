/*
 * Small helpers every module uses: the result-must-be-used marker, the
 * error-buffer convention and checked allocation.
 *
 * Error convention: library functions return 0 on success or a negative
 * value on failure, and fill an optional caller-supplied buffer `err` of
 * `errlen` bytes with one sentence a user can act on. `err` may be NULL.
 */
#ifndef EVCAP_UTIL_H
#define EVCAP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Error codes; all negative. */
enum {
	EV_OK = 0,
	EV_ERR = -1,      /* generic failure, see err text */
	EV_EIO = -2,      /* I/O failure */
	EV_EINVAL = -3,   /* bad input or usage */
	EV_ENOENT = -4,   /* not found */
	EV_EEXIST = -5,   /* already there */
	EV_ELIMIT = -6,   /* a size or count limit was hit */
	EV_EDB = -7,      /* database failure */
	EV_EAUTH = -8,    /* authentication or signature failure */
	EV_ENET = -9,     /* network failure worth retrying */
	EV_ECORRUPT = -10, /* integrity check failed */
	EV_EROFS = -11,    /* cannot be written: a read-only filesystem, or permissions */
	EV_ENOSPC = -12    /* no room left on the disk (ENOSPC, EDQUOT, SQLITE_FULL) */
};

/* Formats into err (if non-NULL) and returns `code`, so a caller can write
 * `return err_set(err, errlen, EV_EIO, "%s: %s", path, strerror(errno));` */
int err_set(char *err, size_t errlen, int code, const char *fmt, ...) PRINTF_LIKE(4, 5);

/* Allocation that aborts on out-of-memory with a message: evcap treats
 * OOM as fatal rather than threading it through every call. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Overwrites n bytes in a way the compiler may not remove (for keys). */
void secure_wipe(void *p, size_t n);

/* 1 if s is valid UTF-8 of exactly n bytes with no NUL, else 0. */
int utf8_valid(const char *s, size_t n);

/*
 * The n bytes at s as evcap shows and stores a name from a card, at most
 * max bytes of it (cut before a character or an escape that would not
 * fit, never through one): valid UTF-8 as it is; a byte that is not, a C0
 * control, DEL, a C1 control (U+0080 to U+009F) and each byte of a
 * text-direction character (text_direction_len) as \xNN; a backslash
 * doubled, so that the text reads back to the bytes exactly. Returns a
 * new string, never NULL.
 */
char *text_escape(const char *s, size_t n, size_t max);

/*
 * The length (2 or 3) of the character the n bytes at s begin with when
 * it is one that is not seen but sets the direction of the text around
 * it: a bidirectional embedding or override (U+202A to U+202E), isolate
 * (U+2066 to U+2069) or mark (U+200E, U+200F, the Arabic letter mark
 * U+061C); else 0. Such a character from a card or a sensor file would
 * make a report read "DJI_0001<U+202E>GPJ.exe" as "DJI_0001exe.JPG" and
 * "S-<U+202E>123-4" as "S-4-321": wherever evcap shows untrusted text, it
 * writes one as \xNN, a byte at a time, as it does a control character.
 */
size_t text_direction_len(const char *s, size_t n);

/*
 * Text a file stores (a camera's make, model or serial number) as evcap
 * keeps it: the n bytes at p, up to the first NUL, into out (outlen bytes,
 * always terminated). Printable ASCII and valid UTF-8 characters are kept
 * (大疆, Ｓｏｎｙ); a control character (C0, DEL, C1), an unseen character
 * that changes how text shows (zero-width, a bidirectional mark, override
 * or isolate, a line separator, a tag, the byte order mark) and each byte
 * that is not valid UTF-8 become
 * '?'; a character that would not fit whole is left out. Trailing spaces
 * are cut when trim is set.
 */
void text_copy_plain(const void *p, size_t n, char *out, size_t outlen, int trim);

/* The 1-based byte position in s (UTF-8) of the first text-direction
 * override, embedding or isolate (U+202A-202E, U+2066-2069), which turns
 * the text after it around wherever it is shown, with its code point in
 * *cp; 0 when there is none. */
size_t text_direction_at(const char *s, unsigned *cp);

/* A number as the fewest significant digits (up to 17) that read back as
 * the same double: 1234567, 0.123456789, 7.5, 0.00001; never %g's six-digit
 * rounding of a recorded value. Written out in full from 1e-7 up to 1e21
 * (a reading of 0.00002 mg/L is not shown as 2e-05); beyond, as 1e-08. */
#define NUM_TEXT_MAX 32
void num_text(double v, char out[NUM_TEXT_MAX]);

/* Makes s valid UTF-8 in place: each byte that does not begin a valid
 * sequence (including a character cut short by truncation) becomes '?'.
 * For messages that quote untrusted bytes. */
void utf8_sanitize(char *s);

/*
 * Folds the full-width forms a Chinese input method types (U+FF01..U+FF5E:
 * ＡＢ, ２０２４, （）, ［］) to their ASCII letters, digits and signs, and
 * the ideographic space U+3000 to a space, into out; for comparing what
 * people type, never for what is stored. Other characters are copied as
 * they are: brackets such as 〔〕, 【】 and [] are different characters an
 * office chooses, not two widths of one. Bytes that are not valid UTF-8
 * are copied unchanged. out must hold strlen(s) + 1 bytes (the fold never
 * lengthens); out may be s. Returns out.
 */
char *utf8_width_fold(const char *s, char *out);

/* The n ASCII digits at p as a number (n at most 9); -1 if any byte is not
 * a digit. For fixed-width fields: "2023", "0800", NMEA's "ddmm". */
int digits_value(const char *p, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2n hex digits; returns 0 or -1. */
int hex_decode(const char *hex, uint8_t *out, size_t n);

/* A size for people, in decimal units: "512 bytes", "48.3 kB", "12.5 MB",
 * "18.1 GB" (never "0.0 MB", nor "1000.0 kB"). */
void human_bytes(uint64_t b, char out[32]);

#endif
