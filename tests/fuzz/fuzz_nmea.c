/*
 * libFuzzer entry for the NMEA log parser (nmea_parse), followed by the
 * track sort and lookup geotagging runs on its fixes.
 * The body is fuzz_run_nmea in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_nmea(data, size);
}
