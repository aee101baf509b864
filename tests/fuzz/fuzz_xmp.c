/*
 * libFuzzer entry for the bounded XMP property scan (xmp_scan) and its
 * coordinate and date parsers.
 * The body is fuzz_run_xmp in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_xmp(data, size);
}
