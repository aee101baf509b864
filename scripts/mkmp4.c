/*
 * mkmp4: writes one MP4 or QuickTime file of a chosen shape, for the
 * tests of how evcap reads videos (tests/integration/video.sh).
 *
 * usage: mkmp4 OUT [option...]
 *   --qt                 QuickTime brand "qt  " (else "isom")
 *   --moov-first         the index before the media data (else after it)
 *   --no-moov            no index at all (a recording cut short)
 *   --mvhd UNIX          the movie header's creation time, as written
 *   --mvhd-v1            64-bit movie header times
 *   --xyz TEXT | --day TEXT | --make TEXT | --model TEXT   user data
 *   --encoder TEXT       an iTunes-style (c)too item
 *   --apple-date TEXT | --apple-loc TEXT | --apple-make TEXT   Apple keys
 *   --mdat-mib N         media data of N MiB (default 1)
 *   --mdat-bytes N       media data of N bytes
 *   --mdat-64            a 64-bit size on the media data box
 *   --seed N             which media bytes
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_PROG "mkmp4"

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", SYNTH_PROG, what, errno ? strerror(errno) : "failed");
	exit(1);
}

#include "synth-mp4.h"

int main(int argc, char **argv)
{
	struct mp4_spec s = {.mdat_bytes = 1 << 20};
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mkmp4 OUT [option...] (see scripts/mkmp4.c)\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TEXT_OPT(name, field)                                                                  \
	if (strcmp(a, name) == 0 && v) {                                                       \
		s.field = v;                                                                   \
		i++;                                                                           \
		continue;                                                                      \
	}
		TEXT_OPT("--xyz", xyz)
		TEXT_OPT("--day", day)
		TEXT_OPT("--make", make)
		TEXT_OPT("--model", model)
		TEXT_OPT("--encoder", encoder)
		TEXT_OPT("--apple-date", apple_date)
		TEXT_OPT("--apple-loc", apple_loc)
		TEXT_OPT("--apple-make", apple_make)
#undef TEXT_OPT
		if (strcmp(a, "--qt") == 0)
			s.brand = "qt  ";
		else if (strcmp(a, "--moov-first") == 0)
			s.moov_first = 1;
		else if (strcmp(a, "--no-moov") == 0)
			s.no_moov = 1;
		else if (strcmp(a, "--mvhd-v1") == 0)
			s.mvhd_v1 = 1;
		else if (strcmp(a, "--mdat-64") == 0)
			s.mdat_large = 1;
		else if (strcmp(a, "--mvhd") == 0 && v && ++i)
			s.mvhd_time = strtoll(v, NULL, 10);
		else if (strcmp(a, "--mdat-mib") == 0 && v && ++i)
			s.mdat_bytes = strtoull(v, NULL, 10) << 20;
		else if (strcmp(a, "--mdat-bytes") == 0 && v && ++i)
			s.mdat_bytes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--seed") == 0 && v && ++i)
			s.seed = (unsigned)strtoul(v, NULL, 10);
		else {
			fprintf(stderr, "mkmp4: unknown or incomplete option '%s'\n", a);
			return 2;
		}
	}
	if (s.mdat_bytes > 0xFFFFFFFFull - 8)
		s.mdat_large = 1;
	FILE *out = fopen(argv[1], "wb");
	if (!out)
		die(argv[1]);
	synth_mp4(out, &s);
	if (fclose(out) != 0)
		die(argv[1]);
	return 0;
}
