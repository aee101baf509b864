/*
 * libFuzzer entry for the evcap.conf parser (config_parse), a pure function
 * over the file's text, and the host:port splitter.
 * The body is fuzz_run_config in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_config(data, size);
}
