# Sourced by integration tests: pass/fail/skip reporting, a private temporary
# directory removed on exit, and the paths of the binaries under test.
set -u
EVCAP=${EVCAP_BIN:?run through tests/run.sh or make check}
EVCAPD=${EVCAPD_BIN:-}
ROOT=${EVCAP_ROOT:-$(pwd)}
CORPUS=${EVCAP_CORPUS:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/evcap-test.XXXXXX")
_cleanups=()
on_exit() { _cleanups+=("$1"); }
_run_cleanups() {
	local i
	for ((i=${#_cleanups[@]}-1; i>=0; i--)); do eval "${_cleanups[$i]}" || true; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap _run_cleanups EXIT
export EVCAP_STORE=$T/store
export XDG_DATA_HOME=$T/xdg
export EVCAP_OPERATOR=tester
ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; }
skip() { echo "SKIP $*"; }
# check NAME COMMAND...: PASS if the command succeeds
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }
need() { # need CMD...: true if all present
	local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}
