#!/bin/bash
# Checks that the libexif evcap runs against carries the 2026 MakerNote
# fixes: Debian's libexif12 0.6.24-1+deb12u1 or later (CVE-2026-40386,
# -40385, -32775). Prints one PASS/FAIL/SKIP line; exits 0 on PASS or SKIP,
# 1 when the installed library is older.
#   EVCAP_LIBEXIF_VERSION=V  checks V instead of the installed version
set -u
MIN=0.6.24-1+deb12u1
name="libexif12 >= $MIN (MakerNote CVE fixes)"
if ! command -v dpkg >/dev/null 2>&1; then
	echo "SKIP $name: not a Debian system (no dpkg); check the libexif version by hand"
	exit 0
fi
have=${EVCAP_LIBEXIF_VERSION:-$(dpkg-query -W -f='${Version}' libexif12 2>/dev/null)}
if [ -z "$have" ]; then
	echo "FAIL $name: libexif12 is not installed"
	exit 1
fi
if dpkg --compare-versions "$have" ge "$MIN"; then
	echo "PASS $name: $have"
	exit 0
fi
echo "FAIL $name: $have is installed; upgrade with: apt-get install --only-upgrade libexif12"
exit 1
