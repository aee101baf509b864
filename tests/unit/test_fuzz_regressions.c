/*
 * Replays every input under tests/fuzz/regressions/<harness>/ (each one a
 * past finding) and tests/fuzz/seeds/<harness>/ through the same harness
 * bodies the fuzzers run (tests/fuzz/fuzz_targets.h), under the normal and
 * the sanitizer builds, so a fixed finding stays fixed without clang or
 * libFuzzer. A leak shows as heap growth across repeated runs of one input
 * (and under ASan as a leak report at exit).
 */
#include <dirent.h>
#include <malloc.h>
#include <stdint.h>

#include "t.h"

static const char *fuzz_current;   /* the input being replayed, for messages */

#define FUZZ_VIOLATION(what)                                                                   \
	do {                                                                                   \
		printf("# %s: broken promise at %s:%d: %s\n", fuzz_current, __FILE__, __LINE__, what); \
		t_fail_count++;                                                                \
	} while (0)

#include "../fuzz/fuzz_targets.h"

#define FUZZ_REPLAY_WARMUP 3
#define FUZZ_REPLAY_RUNS 64
#define FUZZ_REPLAY_LEAK_BYTES (FUZZ_REPLAY_RUNS * 64)

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static const struct {
	const char *name;
	fuzz_fn fn;
} harnesses[] = {
	{"jpeg", fuzz_run_jpeg},         {"exif", fuzz_run_exif},     {"xmp", fuzz_run_xmp},
	{"meta", fuzz_run_meta},         {"bmff", fuzz_run_bmff},     {"nmea", fuzz_run_nmea},
	{"gpx", fuzz_run_gpx},           {"srt", fuzz_run_srt},
	{"config", fuzz_run_config},     {"manifest", fuzz_run_manifest},
	{"pullpath", fuzz_run_pullpath}, {"minisig", fuzz_run_minisig},
	{"sensor", fuzz_run_sensor},     {"spool", fuzz_run_spool},
	{"s3list", fuzz_run_s3list},
};

/* Reads a whole small file; NULL on failure. */
static uint8_t *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *q = realloc(p, cap);
			if (!q) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		size_t r = fread(p + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*n = len;
	return p;
}

/* Bytes the C heap holds; 0 under ASan, whose allocator glibc cannot see
 * (LeakSanitizer reports leaks there instead). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays each file of dir through fn, one PASS/FAIL line per file. */
static void replay_dir(const char *root, const char *kind, const char *harness, fuzz_fn fn,
		       int *count)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", root, kind, harness);
	DIR *d = opendir(dir);
	if (!d)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		char path[8192], label[512];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		snprintf(label, sizeof label, "%s/%s/%s", kind, harness, names[i]);
		size_t len = 0;
		uint8_t *data = read_all(path, &len);
		fuzz_current = label;
		t_fail_count = 0;
		if (!data) {
			printf("FAIL %s: cannot read %s\n", label, path);
			t_any_failed = 1;
			free(names[i]);
			continue;
		}
		/* Warm-up runs let the libraries make their one-time tables.
		 * After that the heap may still move once by a few KiB (what
		 * malloc keeps in its caches, a table made late): about one run
		 * in ten of the manifest seeds grew by 4.1-4.3 KiB once. A leak
		 * grows with the number of runs, so it is growth of at least 64
		 * bytes a run in each half of the runs, not in one of them. */
		for (int k = 0; k < FUZZ_REPLAY_WARMUP; k++)
			fn(data, len);
		int broken_in_warmup = t_fail_count;
		size_t before = heap_in_use();
		for (int k = 0; k < FUZZ_REPLAY_RUNS / 2 && !broken_in_warmup; k++)
			fn(data, len);
		size_t mid = heap_in_use();
		for (int k = FUZZ_REPLAY_RUNS / 2; k < FUZZ_REPLAY_RUNS && !broken_in_warmup; k++)
			fn(data, len);
		size_t after = heap_in_use();
		int leaked = mid > before + FUZZ_REPLAY_LEAK_BYTES / 2 &&
			     after > mid + FUZZ_REPLAY_LEAK_BYTES / 2;
		(*count)++;
		if (t_fail_count) {
			printf("FAIL %s: %d broken promise(s)\n", label, t_fail_count);
			t_any_failed = 1;
		} else if (leaked) {
			printf("FAIL %s: the heap grew by %zu bytes over %d runs (a leak)\n", label,
			       after - before, FUZZ_REPLAY_RUNS);
			t_any_failed = 1;
		} else {
			printf("PASS %s\n", label);
		}
		fflush(stdout);
		free(data);
		free(names[i]);
	}
	free(names);
}

int main(void)
{
	const char *root = getenv("EVCAP_ROOT");
	if (!root || !*root)
		root = ".";
	int regressions = 0, seeds = 0;
	(void)t_skip;
	for (size_t h = 0; h < ARRAY_LEN(harnesses); h++) {
		replay_dir(root, "regressions", harnesses[h].name, harnesses[h].fn, &regressions);
		replay_dir(root, "seeds", harnesses[h].name, harnesses[h].fn, &seeds);
	}
	if (seeds == 0) {
		/* The seeds are in the tree: none found means the wrong folder,
		 * and a run that replays nothing must not look like a pass. */
		printf("FAIL fuzz_regressions: no inputs under %s/tests/fuzz/seeds\n", root);
		return 1;
	}
	printf("# replayed %d saved findings and %d seeds\n", regressions, seeds);
	T_EXIT();
}
