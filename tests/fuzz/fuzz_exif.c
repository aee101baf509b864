/*
 * libFuzzer entry for EXIF extraction: the walker's Exif APP1, or a bare TIFF
 * block, through libexif (MakerNotes included) and exifmeta_read.
 * The body is fuzz_run_exif in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_exif(data, size);
}
