/*
 * libFuzzer entry for the minisign parsers pull runs on what a target
 * hands back: the .minisig file beside a manifest and the public key a
 * manifest names (minisign_sig_parse, minisign_pub_parse, minisign_verify).
 * The body is fuzz_run_minisig in fuzz_targets.h, shared with the unit test
 * that replays saved findings; tests/fuzz/run.sh builds and runs this.
 */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run_minisig(data, size);
}
