# Sourced by integration tests: pass/fail/skip reporting, a private temporary
# directory removed on exit, and the paths of the binaries under test.
set -u
EVCAP=${EVCAP_BIN:?run through tests/run.sh or make check}
EVCAPD=${EVCAPD_BIN:-}
ROOT=${EVCAP_ROOT:-$(pwd)}
CORPUS=${EVCAP_CORPUS:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/evcap-test.XXXXXX")
# gpsfake's own temporary folder (start_gpsfake below uses it).
# gpsfake names its gpsd's control socket $TMPDIR/gpsfake-PID.sock and
# takes that file's presence to mean its gpsd is ready. gpsfakes killed
# with SIGKILL leave theirs behind, so in a shared /tmp a new gpsfake
# whose PID matches an old one found a stale socket, added its device to
# nobody, and its gpsd never saw a sentence; a folder of the test's own
# has no stale sockets. It is made in /tmp, not under $T: a socket's path
# must fit in 108 bytes, and $TMPDIR may be long.
GPSFAKE_TMP=$(mktemp -d /tmp/evcap-gf.XXXXXX)
# gpsd_has_device PORT: true when the gpsd on PORT lists a device
gpsd_has_device() {
	python3 - "$1" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"?DEVICES;\n")
buf = b""
while True:
    d = s.recv(4096)
    if not d:
        sys.exit(1)
    buf += d
    for line in buf.split(b"\n")[:-1]:
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("class") == "DEVICES":
            sys.exit(0 if j.get("devices") else 1)
PY
}
# start_gpsfake PORT OUT ARGS...: gpsfake ARGS serving on PORT, in the
# background, its output appended to OUT; GPSFAKE_PID is its pid. gpsfake
# hands its device to gpsd over the control socket as soon as the
# socket's file exists, most likely a moment before gpsd listens on it;
# when the connection is refused it says nothing, and its gpsd never
# reads a sentence. So it is started again until its gpsd lists the
# device (docs/HACKING.md, "Testing against gpsfake").
start_gpsfake() {
	local port=$1 out=$2 try
	shift 2
	for try in 1 2 3; do
		TMPDIR="$GPSFAKE_TMP" gpsfake -P "$port" "$@" >>"$out" 2>&1 &
		GPSFAKE_PID=$!
		within 5 gpsd_has_device "$port" && return 0
		echo "# gpsfake on port $port: its gpsd has no device (attempt $try); starting it again"
		stop_gpsfake "$GPSFAKE_PID"
	done
	return 1
}
# stop_gpsfake PID: stops a gpsfake and its gpsd. gpsfake does not always
# die of SIGTERM (its handler can hang once its gpsd is gone), and a gpsd
# left behind by a SIGKILLed gpsfake would hold its port and its clients;
# so the gpsd goes first, then gpsfake, by SIGKILL if it lingers.
stop_gpsfake() {
	local p=$1 kids i
	kids=$(pgrep -P "$p" 2>/dev/null)
	[ -n "$kids" ] && kill $kids 2>/dev/null
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" $kids 2>/dev/null
	return 0
}
# make check-valgrind: every evcap run goes through memcheck; an error or a
# definite leak makes that run exit 99, which the test then reports
if [ -n "${EVCAP_VALGRIND:-}" ]; then
	mkdir -p "$T/vg"
	cat > "$T/vg/evcap" <<VG
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
	--log-file=$EVCAP_VALGRIND/vg-%p.log $EVCAP_BIN "\$@"
VG
	chmod +x "$T/vg/evcap"
	EVCAP=$T/vg/evcap
	EVCAP_BIN=$EVCAP
	export EVCAP_BIN
fi
_cleanups=()
on_exit() { _cleanups+=("$1"); }
_run_cleanups() {
	local i
	for ((i=${#_cleanups[@]}-1; i>=0; i--)); do eval "${_cleanups[$i]}" || true; done
	rm -rf "$GPSFAKE_TMP"
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
# jq 1.6 with -e exits 0 when it reads no value at all, so a check such as
# `evcap --json ls | jq -e '...'` would pass when evcap printed nothing.
# With -e, this jq fails (status 4, as the manual says) unless jq printed
# something. Exported, so that checks run through `bash -c` get it too.
jq() {
	local a e=0 out rc
	for a in "$@"; do [ "$a" = -e ] && e=1; done
	[ $e = 1 ] || { command jq "$@"; return; }
	out=$(command jq "$@"); rc=$?
	[ -n "$out" ] || { [ $rc = 0 ] && rc=4; return $rc; }
	printf '%s\n' "$out"
	return $rc
}
export -f jq
# strace_run ARGS...: strace with ARGS (its options, then the command), the
# command's LeakSanitizer off: it cannot work under ptrace, and under make
# check-san it would fail every traced run at its end
strace_run() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"; }
need() { # need CMD...: true if all present
	local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}
# flip_byte FILE OFFSET: inverts one byte in place, so the file always
# changes whatever the byte held (the file's mode is left as it was)
flip_byte() {
	local v
	v=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	printf "\\x$(printf %02x $((v ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# hold_store: another writer (a sqlite3 shell in a transaction, fed on
# fd 7) takes the store's database and keeps it until release_store;
# false, with the shell's words in $T/hold.out, if it could not take it
# within 15 s. A job started in the background while the store is held
# must close fd 7 (7>&-), or the shell never sees the end of its input.
HOLD_PID=
hold_store() {
	rm -f "$T/hold.in"
	mkfifo "$T/hold.in"
	sqlite3 -cmd ".timeout 10000" "$EVCAP_STORE/evidence.db" <"$T/hold.in" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 7>"$T/hold.in"
	echo "BEGIN IMMEDIATE; SELECT 1;" >&7
	within 15 store_held
}
store_held() {
	! sqlite3 -cmd ".timeout 50" "$EVCAP_STORE/evidence.db" "BEGIN IMMEDIATE; ROLLBACK;" \
		>/dev/null 2>&1
}
release_store() {
	echo "ROLLBACK;" >&7
	exec 7>&-
	wait "$HOLD_PID"
	HOLD_PID=
}
on_exit '[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null'
# within SECONDS CMD...: true as soon as the command succeeds (tried every
# 0.05 s), false if it has not within SECONDS
within() {
	local i n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
# pty_pair A B: socat joins two pseudo-terminals, linked as A and B (a
# probe's end and evcap's end); PTY_PID is socat's pid, killed on exit
pty_pair() {
	rm -f "$1" "$2"
	socat pty,raw,echo=0,link="$1" pty,raw,echo=0,link="$2" 2>>"$T/socat.err" &
	PTY_PID=$!
	on_exit "kill $PTY_PID 2>/dev/null"
	within 10 test -e "$1" -a -e "$2"
}

# store_to_schema_47 DB: gives a store's database back the triggers on
# readings of before schema 48 (only a site made a revision), as an evcap
# of schema 47 left it
store_to_schema_47() {
	sqlite3 "$1" "DROP TRIGGER readings_rev; DROP TRIGGER readings_office_fields;
	CREATE TRIGGER readings_rev AFTER UPDATE OF site_id ON readings
	 WHEN (OLD.site_id IS NOT NEW.site_id)
	 BEGIN UPDATE readings SET rev = (SELECT max(rev) FROM readings) + 1
	  WHERE id = NEW.id; END;
	CREATE TRIGGER readings_office_fields AFTER UPDATE OF site_id ON readings
	 WHEN NEW.origin = 'pulled' AND NEW.src_rev IS OLD.src_rev
	 AND (OLD.site_id IS NOT NEW.site_id)
	 BEGIN UPDATE readings SET office_fields = office_fields | 4 WHERE id = NEW.id; END;
	PRAGMA user_version = 47;"
}

# store_to_schema_46 DB: takes schema 47's index (and what came later) out
# of a store's database, as an evcap of schema 46 left it (whose ingest
# could add a path off a card to an item's sightings again and again)
store_to_schema_46() {
	store_to_schema_47 "$1" || return 1
	sqlite3 "$1" "DROP INDEX sightings_once; PRAGMA user_version = 46;"
}

# store_to_schema_44 DB: takes schema 45's and later columns, indexes and
# triggers out of a store's database, as an evcap of schema 44 left it
store_to_schema_44() {
	store_to_schema_46 "$1" || return 1
	sqlite3 "$1" "ALTER TABLE capture_seen DROP COLUMN ctime_ns;
	DROP INDEX bundles_previous; ALTER TABLE bundles DROP COLUMN previous;
	ALTER TABLE bundles DROP COLUMN previous_missing;
	ALTER TABLE readings DROP COLUMN src_device; PRAGMA user_version = 44;"
}

# store_to_schema_43 DB: takes schema 44's and later columns, indexes and
# triggers out of a store's database, as an evcap of schema 43 left it
store_to_schema_43() {
	store_to_schema_44 "$1" || return 1
	sqlite3 "$1" "DROP TRIGGER items_rev; DROP TRIGGER items_office_fields;
	DROP INDEX items_rev; ALTER TABLE items DROP COLUMN rev;
	ALTER TABLE items DROP COLUMN src_rev; ALTER TABLE items DROP COLUMN office_fields;
	ALTER TABLE sync_state DROP COLUMN rev;
	DROP TRIGGER readings_rev; DROP TRIGGER readings_office_fields;
	DROP INDEX readings_rev; ALTER TABLE readings DROP COLUMN rev;
	ALTER TABLE readings DROP COLUMN src_rev; ALTER TABLE readings DROP COLUMN office_fields;
	PRAGMA user_version = 43;"
}

# store_to_schema_42 DB: takes schema 43's and later columns and indexes
# out of a store's database, as an evcap of schema 42 left it (for
# upgrade tests)
store_to_schema_42() {
	store_to_schema_43 "$1" || return 1
	sqlite3 "$1" "DROP INDEX trusted_keys_device;
	ALTER TABLE trusted_keys DROP COLUMN device_id;
	ALTER TABLE trusted_keys DROP COLUMN bound_at;
	ALTER TABLE trusted_keys DROP COLUMN bound_how;
	ALTER TABLE trusted_keys DROP COLUMN replaced_by;
	ALTER TABLE trusted_keys DROP COLUMN replaced_at;
	DROP INDEX bundles_case; ALTER TABLE bundles DROP COLUMN case_fields;
	ALTER TABLE cases DROP COLUMN office_fields;
	PRAGMA user_version = 42;"
}

# card_images X:SIZE...: each $T/srcX made an ext4 card image $T/x.img
# labelled CARDX, with $T/media/CARDX to mount it on; fails, saying why in
# $T/mount.err, where images cannot be made or loop-mounted here
card_images() {
	local spec l
	for spec in "$@"; do
		l=${spec%%:*}
		mkdir -p "$T/media/CARD$l"
		mkfs.ext4 -q -L "CARD$l" -d "$T/src$l" "$T/${l,,}.img" "${spec#*:}" \
			>"$T/mount.err" 2>&1 || return 1
	done
	card_mount "${1%%:*}" && umount "$T/media/CARD${1%%:*}"
}
# card_mount X: $T/x.img mounted read-only at $T/media/CARDX, as a reader
card_mount() {
	mount -o loop,ro,nosuid,nodev,noexec "$T/${1,,}.img" "$T/media/CARD$1" 2>"$T/mount.err"
}

# rgw_up NAME: a Ceph RADOS Gateway on loopback in $T/rgw ($RGW), stopped
# when the test ends, its endpoint and keys in the environment; where none
# can run here, a skip naming the test and why, and status 1
rgw_up() {
	if ! need radosgw ceph-mon ceph-osd ceph-authtool monmaptool uuidgen; then
		skip "$1: Ceph RGW is not installed (apt-get install ceph-mon ceph-osd radosgw ceph-common uuid-runtime)"
		return 1
	fi
	RGW=$T/rgw
	if ! "$ROOT/tests/lib/ceph-rgw.sh" start "$RGW" >"$T/rgw.out" 2>&1; then
		skip "$1: Ceph RGW could not be started here: $(tail -1 "$T/rgw.out")"
		return 1
	fi
	on_exit "'$ROOT/tests/lib/ceph-rgw.sh' stop '$RGW' >/dev/null 2>&1"
	. "$RGW/env"
}
