/*
 * A growable byte buffer with a hard cap chosen where it is made, so that
 * untrusted input can never grow it without limit.
 *
 * Invariants: `data` is never NULL after buf_init (it points at a static
 * empty string until the first append) and is always NUL-terminated at
 * data[len]; len <= max. buf_free releases and re-inits; buf_detach hands
 * the heap block (or NULL if nothing was ever appended) to the caller.
 */
#ifndef EVCAP_BUF_H
#define EVCAP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

struct buf {
	char *data;
	size_t len;
	size_t cap; /* bytes allocated, 0 while data is the static empty string */
	size_t max; /* most bytes len may reach */
};

#define BUF_MAX_DEFAULT ((size_t)64 << 20)

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);

/* Each returns 0, or EV_ELIMIT (buffer unchanged) when max would be passed. */
int buf_append(struct buf *b, const void *p, size_t n) WUR;
int buf_puts(struct buf *b, const char *s) WUR;
int buf_putc(struct buf *b, char c) WUR;
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3) WUR;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) WUR;

#endif
