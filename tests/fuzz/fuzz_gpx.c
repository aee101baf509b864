/*
 * libFuzzer entry for the GPX reader (gpx_parse, libxml2's streaming reader
 * with entities and the network off), followed by the track lookup.
 * The body is fuzz_run_gpx in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_gpx(data, size);
}
