/*
 * libFuzzer entry for meta_read end to end: type sniffing by bytes and name,
 * the walker, libexif, the XMP scan, then meta_resolve.
 * The body is fuzz_run_meta in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_meta(data, size);
}
