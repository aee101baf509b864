#!/bin/bash
# sync_exfat: a dir: target on a file system with no hard links. exFAT
# (the USB disk docs/appliance.md formats) and FAT refuse link(); the
# kernel's drivers take renameat2(RENAME_NOREPLACE) instead, and a FUSE
# driver (exfat-fuse) not even that. A case is synced to a real exFAT
# image (the kernel's driver where it mounts, else exfat-fuse), pulled into
# an office store and verified; the two fallbacks are also driven on the
# test's own disk, link() and renameat2() failing as they do there.
. "$(dirname "$0")/../lib/common.sh"

CASE='XX检公益立〔2024〕7号'
F="$EVCAP --store $T/field"
mkdir -p "$T/card"
for i in 1 2 3; do head -c $((7000 * i)) /dev/urandom >"$T/card/DJI_000$i.JPG"; done
$F init >/dev/null && $F case open "$CASE" --use >/dev/null && $F -q ingest "$T/card" >/dev/null 2>&1
$F key show >"$T/device.pub"

# pull_all NAME DIR: a new office store pulls the case from DIR and has
# every item of the field, and verify passes there
pull_all() {
	local o="$EVCAP --store $T/office-$1" out rc
	$o init >/dev/null && $o key trust "$T/device.pub" >/dev/null
	out=$($o pull --target "dir:$2" --case "$CASE" 2>&1); rc=$?
	if [ $rc = 0 ] && [ "$($o --json ls | jq -r '.[].sha256' | sort)" = \
		"$($F --json ls | jq -r '.[].sha256' | sort)" ] && $o verify >/dev/null 2>&1; then
		return 0
	fi
	echo "# pull from $2: rc=$rc: $out"
	return 1
}

# the fallbacks on the test's own disk: link() refused as exFAT refuses it
if need strace; then
	mkdir -p "$T/nolink"
	out=$(strace_run -f -o /dev/null -e trace=linkat -e inject=linkat:error=EPERM \
		$F sync --target "dir:$T/nolink" 2>&1); rc=$?
	check "with link() refused (EPERM), sync places files by renameat2 and commits" \
		test $rc = 0 -a -n "$(grep "no hard links (Operation not permitted)" <<<"$out")" \
		-a -n "$(grep "1 bundle committed: 3 items" <<<"$out")"
	check "and says so once, not for each file" test "$(grep -c "no hard links (" <<<"$out")" = 1
	check "the files placed so are read-only" \
		test -z "$(find "$T/nolink" -type f -perm /222)"
	check "the office pulls and verifies what was placed so" pull_all nolink "$T/nolink"
	mkdir -p "$T/norename2"
	out=$(strace_run -f -o /dev/null -e trace=linkat,renameat2 -e inject=linkat:error=EPERM \
		-e inject=renameat2:error=EINVAL $F sync --target "dir:$T/norename2" 2>&1); rc=$?
	check "with renameat2() refused too (EINVAL, as FUSE), sync looks, then renames" \
		test $rc = 0 -a -n "$(grep "cannot rename without replacing" <<<"$out")" \
		-a -n "$(grep "1 bundle committed: 3 items" <<<"$out")"
	check "the office pulls and verifies that too" pull_all norename2 "$T/norename2"
	# a file already there is never replaced on that path either
	mkdir -p "$T/clash"
	sha=$($F --json ls | jq -r '.[0].sha256')
	mkdir -p "$T/clash/blobs/sha256/${sha:0:2}/${sha:2:2}"
	echo "not the original" >"$T/clash/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha"
	out=$(strace_run -f -o /dev/null -e trace=linkat,renameat2 -e inject=linkat:error=EPERM \
		-e inject=renameat2:error=EINVAL $F sync --target "dir:$T/clash" 2>&1); rc=$?
	check "a different file under a blob's name is left as it was, and the sync fails" \
		test $rc = 1 -a "$(cat "$T/clash/blobs/sha256/${sha:0:2}/${sha:2:2}/$sha")" = "not the original"
else
	skip "sync_exfat: strace is not installed, so link() cannot be made to fail (apt-get install strace)"
fi

# a real exFAT disk
MNT=$T/mnt
mkdir -p "$MNT"
why=
if [ "$(id -u)" != 0 ]; then
	why="mounting an image needs root"
elif ! need mkfs.exfat; then
	why="mkfs.exfat is not installed (apt-get install exfatprogs)"
elif ! truncate -s 64M "$T/exfat.img" || ! mkfs.exfat -L EVCAP-SYNC "$T/exfat.img" >"$T/mkfs.out" 2>&1; then
	why="mkfs.exfat failed: $(tail -1 "$T/mkfs.out")"
elif mount -t exfat -o loop "$T/exfat.img" "$MNT" 2>"$T/mount.err"; then
	on_exit "umount '$MNT'"
	echo "# the image is mounted with the kernel's exfat driver"
elif ! need mount.exfat-fuse losetup; then
	why="the kernel has no exfat driver ($(tail -1 "$T/mount.err")) and exfat-fuse is not installed (apt-get install exfat-fuse)"
elif [ ! -c /dev/fuse ]; then
	why="the kernel has no exfat driver and there is no /dev/fuse for exfat-fuse"
elif ! LOOP=$(losetup -f --show "$T/exfat.img" 2>"$T/losetup.err"); then
	why="the kernel has no exfat driver and no loop device is free for exfat-fuse ($(tail -1 "$T/losetup.err"))"
else
	on_exit "losetup -d '$LOOP'"
	if mount.exfat-fuse "$LOOP" "$MNT" >"$T/mount.err" 2>&1; then
		on_exit "umount '$MNT' || fusermount -u '$MNT'"
		echo "# the image is mounted with exfat-fuse (on $LOOP)"
	else
		why="the kernel has no exfat driver and exfat-fuse cannot mount ($(tail -1 "$T/mount.err"))"
	fi
fi
if [ -n "$why" ]; then
	skip "sync_exfat: no exFAT disk: $why"
	exit 0
fi
mkdir -p "$MNT/evcap"
out=$($F sync --target "dir:$MNT/evcap" 2>&1); rc=$?
check "sync to an exFAT disk commits the case" \
	test $rc = 0 -a -n "$(grep "1 bundle committed: 3 items" <<<"$out")"
check "the disk holds the blobs and COMMITTED" \
	test "$(find "$MNT/evcap/blobs" -type f | wc -l)" = 3 -a -n "$(find "$MNT/evcap/cases" -name COMMITTED)"
check "no temporary file is left on the disk" test -z "$(find "$MNT/evcap" -name '.tmp-*')"
out=$($F sync --target "dir:$MNT/evcap" 2>&1)
check "a second sync to it has nothing new" grep -q "nothing new" <<<"$out"
head -c 5555 /dev/urandom >"$T/card/DJI_0004.JPG"
$F -q ingest "$T/card" >/dev/null 2>&1
out=$($F sync --target "dir:$MNT/evcap" 2>&1); rc=$?
check "a later item goes to the disk in a bundle of its own" \
	test $rc = 0 -a -n "$(grep "1 bundle committed: 1 item (" <<<"$out")"
check "the office pulls the case from the exFAT disk and verifies it" pull_all exfat "$MNT/evcap"
