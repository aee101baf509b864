#!/bin/bash
# ceph-rgw.sh: a throwaway single-node Ceph RADOS Gateway on 127.0.0.1 for
# the S3 tests, all of its state inside one directory.
#
#   ceph-rgw.sh start DIR   one monitor, one memstore OSD, one radosgw; prints
#                           the endpoint and keys and writes DIR/env to source
#   ceph-rgw.sh stop DIR    stops what start recorded in DIR/pids, by PID:
#                           the gateway first, then the OSD, then the monitor
#
# Environment: RGW_MON_PORT, RGW_PORT (free ports are picked when unset),
# RGW_ACCESS_KEY, RGW_SECRET_KEY, RGW_STORE_BYTES (memstore size, 1 GiB).
# Needs Debian's ceph-mon, ceph-osd, radosgw, ceph-common and uuidgen.
# Nothing is read from or written to /etc/ceph: every tool gets -c DIR/ceph.conf.
set -u

die() { echo "ceph-rgw: $*" >&2; exit 1; }

# A process we started is alive if it exists and is not a zombie.
running() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Only signal a PID whose command line still names our config file.
ours() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "-c $2/ceph.conf"; }

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

stop_role() { # stop_role DIR PATTERN: TERM the role's PIDs, wait, KILL leftovers
	local dir=$1 pat=$2 pids=() p
	for p in $(awk -v pat="$pat" '$1 ~ pat {print $2}' "$dir/pids"); do
		running "$p" && ours "$p" "$dir" && { kill -TERM "$p" 2>/dev/null; pids+=("$p"); }
	done
	[ ${#pids[@]} -eq 0 ] && return 0
	for _ in $(seq 100); do
		local alive=0
		for p in "${pids[@]}"; do running "$p" && alive=1; done
		[ $alive = 0 ] && return 0
		sleep 0.05
	done
	for p in "${pids[@]}"; do running "$p" && kill -KILL "$p" 2>/dev/null; done
	return 0
}

cmd_stop() {
	local dir
	dir=$(cd "$1" 2>/dev/null && pwd) || die "no directory $1"
	[ -f "$dir/pids" ] || return 0
	# the gateway hangs if the OSD goes first; the OSD reports to the monitor
	stop_role "$dir" '^rgw'
	stop_role "$dir" '^osd'
	stop_role "$dir" '^mon'
	: >"$dir/pids"
}

# Waits for a daemon's pid file and records "role pid" in DIR/pids.
record() {
	local dir=$1 role=$2 file=$3
	for _ in $(seq 200); do
		if [ -s "$file" ]; then echo "$role $(cat "$file")" >>"$dir/pids"; return 0; fi
		sleep 0.05
	done
	die "$role did not start (logs in $dir/log)"
}

cmd_start() {
	local dir=$1
	case "$dir" in "" | /) die "refusing to use '$dir'" ;; esac
	for t in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen; do
		command -v "$t" >/dev/null || die "$t is not installed (apt-get install ceph-mon ceph-osd radosgw ceph-common uuid-runtime)"
	done
	mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
	[ -f "$dir/pids" ] && cmd_stop "$dir"
	rm -rf "${dir:?}"/*
	mkdir -p "$dir"/{run,log,mon,osd/0,rgw}
	local mon_port=${RGW_MON_PORT:-$(free_port)} rgw_port=${RGW_PORT:-$(free_port)}
	local ak=${RGW_ACCESS_KEY:-EVCAPTESTACCESS00001}
	local sk=${RGW_SECRET_KEY:-evcaptestsecret0000000000000000000000001}
	local conf=$dir/ceph.conf kr=$dir/keyring fsid
	fsid=$(uuidgen)
	export CEPH_CONF=$conf
	cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $kr
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
crash dir = $dir/log
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
rgw data = $dir/rgw
# one node, one copy: allow it and do not warn
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
# pool creation waits a paxos round; the default (1 s) makes start-up slow
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd objectstore = memstore
memstore device bytes = ${RGW_STORE_BYTES:-1073741824}
osd op num shards = 2
osd op num threads per shard = 1

[client.rgw.evcap]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw thread pool size = 32
rgw enable usage log = false
CONF
	ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
	ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
		--cap mgr 'allow *' >/dev/null &&
	ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' \
		--cap mgr 'allow profile osd' >/dev/null &&
	ceph-authtool "$kr" --gen-key -n client.rgw.evcap --cap mon 'allow rw' --cap osd 'allow rwx' \
		--cap mgr 'allow rw' >/dev/null || die "ceph-authtool failed"
	: >"$dir/pids"

	monmaptool -c "$conf" --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" \
		"$dir/monmap" >/dev/null || die "monmaptool failed"
	ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$kr" 2>"$dir/log/mkfs.err" ||
		die "ceph-mon --mkfs failed: $(tail -2 "$dir/log/mkfs.err")"
	ceph-mon -c "$conf" -i a || die "ceph-mon did not start"
	record "$dir" mon.a "$dir/run/mon.a.pid"

	local osd_uuid
	osd_uuid=$(uuidgen)
	timeout 30 ceph -c "$conf" osd new "$osd_uuid" 0 >/dev/null 2>"$dir/log/osd-new.err" ||
		{ cmd_stop "$dir"; die "ceph osd new failed: $(tail -2 "$dir/log/osd-new.err")"; }
	ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>"$dir/log/osd-mkfs.err" ||
		{ cmd_stop "$dir"; die "ceph-osd --mkfs failed: $(tail -2 "$dir/log/osd-mkfs.err")"; }
	ceph-osd -c "$conf" -i 0 2>>"$dir/log/osd.err" || { cmd_stop "$dir"; die "ceph-osd did not start"; }
	record "$dir" osd.0 "$dir/run/osd.0.pid"

	radosgw -c "$conf" -n client.rgw.evcap || { cmd_stop "$dir"; die "radosgw did not start"; }
	record "$dir" rgw.evcap "$dir/run/client.rgw.evcap.pid"

	local code=000
	for _ in $(seq 600); do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rgw_port/" 2>/dev/null)
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	[ "$code" = 200 ] || { cmd_stop "$dir"; die "radosgw does not answer on port $rgw_port (logs in $dir/log)"; }
	radosgw-admin -c "$conf" -n client.admin user create --uid=evcap-test --display-name=evcap-test \
		--access-key="$ak" --secret-key="$sk" >/dev/null 2>"$dir/log/user.err" ||
		{ cmd_stop "$dir"; die "radosgw-admin user create failed: $(tail -2 "$dir/log/user.err")"; }
	cat >"$dir/env" <<ENV
export S3_ENDPOINT=http://127.0.0.1:$rgw_port
export AWS_ACCESS_KEY_ID=$ak
export AWS_SECRET_ACCESS_KEY=$sk
export AWS_REGION=us-east-1
ENV
	echo "endpoint=http://127.0.0.1:$rgw_port"
	echo "access_key=$ak"
	echo "secret_key=$sk"
	echo "env=$dir/env"
}

case "${1:-}" in
start) [ $# = 2 ] || die "usage: ceph-rgw.sh start DIR"; cmd_start "$2" ;;
stop) [ $# = 2 ] || die "usage: ceph-rgw.sh stop DIR"; cmd_stop "$2" ;;
*) echo "usage: ceph-rgw.sh start DIR | stop DIR" >&2; exit 2 ;;
esac
