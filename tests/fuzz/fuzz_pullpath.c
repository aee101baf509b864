/*
 * libFuzzer entry for the key and id checks pull applies to names a target
 * lists (target_key_valid, bundle_id_valid, bundle_case_key_valid), the
 * keys built from accepted parts, and the case-key derivation.
 * The body is fuzz_run_pullpath in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_pullpath(data, size);
}
