/*
 * libFuzzer entry for the MP4 box keeper and reader: a file fed to
 * bmff_keep in pieces, then its image through meta_read and meta_resolve.
 * The body is fuzz_run_bmff in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_bmff(data, size);
}
