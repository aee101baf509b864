/*
 * libFuzzer entry for the JPEG segment walker (jpeg_walk): every segment,
 * payload and the Exif/XMP pieces it reports must lie inside the buffer.
 * The body is fuzz_run_jpeg in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_jpeg(data, size);
}
