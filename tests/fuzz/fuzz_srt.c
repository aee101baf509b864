/*
 * libFuzzer entry for the DJI SRT reader (srt_first_fix). The body is
 * fuzz_run_srt in fuzz_targets.h, shared with the unit test that replays
 * saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_srt(data, size);
}
