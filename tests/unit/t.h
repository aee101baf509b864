/*
 * The unit-test harness: a test is a function; CHECK records a failure with
 * its line and keeps going; RUN prints "PASS name" or "FAIL name: ..." and
 * tests/run.sh counts those lines. SKIP prints "SKIP name: reason".
 */
#ifndef EVCAP_T_H
#define EVCAP_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int t_fail_count;   /* failures in the current test */
static int t_any_failed;   /* any test failed: exit status */
static const char *t_skip; /* set by T_SKIP */

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			if (!t_fail_count)                                             \
				printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			else                                                           \
				printf("#   also %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
			t_fail_count++;                                                \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *t_a = (a), *t_b = (b);                                     \
		if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                           \
			printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,      \
			       t_a ? t_a : "(null)", t_b ? t_b : "(null)");            \
			t_fail_count++;                                                \
		}                                                                      \
	} while (0)

#define CHECK_NEAR(a, b, eps)                                                          \
	do {                                                                           \
		double t_x = (a), t_y = (b);                                           \
		if (!(fabs(t_x - t_y) <= (eps))) {                                     \
			printf("# %s:%d: %.9g != %.9g (eps %g)\n", __FILE__, __LINE__, \
			       t_x, t_y, (double)(eps));                               \
			t_fail_count++;                                                \
		}                                                                      \
	} while (0)

#define T_SKIP(reason) do { t_skip = (reason); return; } while (0)

#define RUN(fn)                                                                        \
	do {                                                                           \
		t_fail_count = 0;                                                      \
		t_skip = NULL;                                                         \
		fn();                                                                  \
		if (t_skip)                                                            \
			printf("SKIP %s: %s\n", #fn, t_skip);                          \
		else if (t_fail_count) {                                               \
			printf("FAIL %s: %d check(s) failed\n", #fn, t_fail_count);    \
			t_any_failed = 1;                                              \
		} else                                                                 \
			printf("PASS %s\n", #fn);                                      \
		fflush(stdout);                                                        \
	} while (0)

#define T_EXIT() return t_any_failed

/* The real-world corpus folder, or NULL (tests then skip, saying so).
 * $EVCAP_CORPUS overrides; tests/run.sh sets it from ../shared/corpus. */
static inline const char *t_corpus(void)
{
	const char *c = getenv("EVCAP_CORPUS");
	struct stat st;
	if (c && *c && stat(c, &st) == 0 && S_ISDIR(st.st_mode))
		return c;
	return NULL;
}

#endif
