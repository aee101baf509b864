/*
 * libFuzzer entry for the water-probe readers: sensor files (GB18030 or
 * UTF-8 CSV, long and wide forms), SDI-12 logs, live probe lines,
 * instrument profiles and sensor times (capture/sensor.h).
 * The body is fuzz_run_sensor in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_sensor(data, size);
}
