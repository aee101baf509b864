/*
 * libFuzzer entry for the reading of an S3 ListObjectsV2 answer
 * (s3_list_page), the XML evcap reads from a server it may not trust.
 * The body is fuzz_run_s3list in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_s3list(data, size);
}
