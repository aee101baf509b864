/*
 * libFuzzer entry for the reader of the live probes' journal
 * (capture/sensorspool.h): a file evcapd left on the store's disk, which
 * a power cut may have torn and a failing disk may have damaged.
 * The body is fuzz_run_spool in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_spool(data, size);
}
