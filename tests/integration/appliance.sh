#!/bin/bash
# The capture appliance's configuration: `make install-appliance` stages
# every file under a DESTDIR without root; systemd-analyze verify accepts
# each unit; systemd-analyze security rates each service 2.5 or better; the
# sample evcap.conf parses; the udev rule mounts read-only; a config error
# does not restart evcapd; the sync unit starts before the store is made;
# a sync disk is mounted writable and not taken as evidence; the installer
# writes nothing into its own tree.
. "$(dirname "$0")/../lib/common.sh"

DEST=$T/root
BUILD_NAME=$(basename "${EVCAP_BUILD:-build}")
# the binaries under test are installed as they are: -o keeps make from
# relinking them (a sanitizer build would be relinked without its flags)
inst() {
	make -s -C "$ROOT" BUILD="$BUILD_NAME" -o "$BUILD_NAME/evcap" -o "$BUILD_NAME/evcapd" \
		install-appliance DESTDIR="$DEST"
}
if inst >"$T/install.log" 2>&1; then
	missing=
	for f in usr/local/bin/evcapd usr/local/bin/evcap \
		etc/systemd/system/evcapd.service etc/systemd/system/evcap-sync.service \
		etc/systemd/system/evcap-sync.timer etc/udev/rules.d/90-evcap-media.rules \
		etc/sysusers.d/evcap.conf etc/tmpfiles.d/evcap.conf etc/default/gpsd \
		etc/chrony/conf.d/evcap-gps.conf etc/evcap/evcap.conf \
		etc/xdg/autostart/evcap-notify.desktop; do
		[ -f "$DEST/$f" ] || missing="$missing $f"
	done
	if [ -z "$missing" ] && ! grep -q '@BINDIR@' "$DEST"/etc/systemd/system/* \
		"$DEST"/etc/xdg/autostart/evcap-notify.desktop; then
		ok "appliance_install_destdir"
	else
		bad "appliance_install_destdir: missing:$missing"
	fi
else
	bad "appliance_install_destdir: $(tail -3 "$T/install.log")"
	exit 0
fi

# a second install keeps an edited config and leaves the new one beside it
echo "# edited" >>"$DEST/etc/evcap/evcap.conf"
if inst >"$T/install2.log" 2>&1 &&
	grep -q '^# edited' "$DEST/etc/evcap/evcap.conf" && [ -f "$DEST/etc/evcap/evcap.conf.evcap-new" ]; then
	ok "appliance_keeps_edited_config"
else
	bad "appliance_keeps_edited_config: $(tail -2 "$T/install2.log")"
fi

# the sample config is valid for evcap (every key known, every value good)
if "$DEST/usr/local/bin/evcap" --config "$DEST/etc/evcap/evcap.conf.evcap-new" --store "$T/s" -q init >"$T/conf.out" 2>&1; then
	ok "appliance_sample_config_parses"
else
	bad "appliance_sample_config_parses: $(cat "$T/conf.out")"
fi

# the notification helper's autostart entry is a valid desktop entry that
# runs the installed evcap on the appliance's store
if need desktop-file-validate; then
	desk=$DEST/etc/xdg/autostart/evcap-notify.desktop
	check "appliance_notify_autostart" bash -c "desktop-file-validate '$desk' &&
		grep -qx 'Exec=/usr/local/bin/evcap --store /var/lib/evcap notify' '$desk'"
else
	skip "appliance_notify_autostart: desktop-file-validate (desktop-file-utils) is not installed"
fi

# the units read the mount options and the store as documented
rules=$DEST/etc/udev/rules.d/90-evcap-media.rules
if grep -q 'options=ro,nosuid,nodev,noexec' "$rules" && grep -q 'blockdev --setro' "$rules" &&
	grep -q '^watch = /media/evcap' "$DEST/etc/evcap/evcap.conf" &&
	grep -q '^GPSD_OPTIONS="-n"' "$DEST/etc/default/gpsd"; then
	ok "appliance_media_read_only"
else
	bad "appliance_media_read_only: the udev rule, watch root or gpsd options are not as documented"
fi

# evcapd's exit status 2 (a config error, another evcapd on the store) is
# not mended by starting again every 2 s until the start limit
svc=$DEST/etc/systemd/system/evcapd.service
check "appliance_no_restart_on_config_error" bash -c \
	"grep -qx 'Restart=always' '$svc' && grep -qx 'RestartPreventExitStatus=2' '$svc'"
# and a reload checks the config first, with the options ExecStart gives
start_opts=$(sed -n 's|^ExecStart=/usr/local/bin/evcapd --foreground ||p' "$svc")
check "appliance_reload_checks_config" bash -c "[ -n '$start_opts' ] &&
	grep -qx 'ExecReload=/usr/local/bin/evcapd --check-config $start_opts' '$svc'"

# the sync unit starts before 'evcap init' made blobs/sha256: every path it
# names but the store itself (its StateDirectory) may be absent
sync_unit=$DEST/etc/systemd/system/evcap-sync.service
paths=$(sed -n 's/^\(ReadOnlyPaths\|ReadWritePaths\|InaccessiblePaths\)=//p' "$sync_unit" |
	tr ' ' '\n' | grep -vx '/var/lib/evcap' | grep -v '^-')
if [ -z "$paths" ] && grep -qx 'ReadOnlyPaths=-/var/lib/evcap/blobs/sha256' "$sync_unit"; then
	ok "appliance_sync_unit_paths_optional"
else
	bad "appliance_sync_unit_paths_optional: needed but maybe absent: $paths"
fi

# a sync disk: the udev rule mounts a filesystem labelled EVCAP-SYNC... at
# /media/evcap-sync read-write and does not write-block it, nor mount it
# where evcapd watches; a card is still write-blocked and mounted read-only
# under /media/evcap; the sync unit may write the sync disk's folder, which
# lies outside the watched one and is root's while no disk is in.
# udev_run ENV...: the programs the rule runs for an "add" of a USB
# partition with those properties (a small reading of udev's rule syntax:
# the keys, operators and GOTO/LABEL this rule uses; PROGRAM= findmnt
# finds nothing, as for a device not mounted and not in fstab)
udev_run() {
	python3 - "$rules" "$@" <<'PY'
import fnmatch, re, sys
env = {"ACTION": "add", "SUBSYSTEM": "block", "ID_FS_USAGE": "filesystem",
       "ID_BUS": "usb", "KERNEL": "sdb1", "DEVNAME": "/dev/sdb1"}
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    env[k] = v
lines = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
key_re = re.compile(r'([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=|\+=|=)\s*"([^"]*)"')
def subst(v):
    v = v.replace("$devnode", env["DEVNAME"]).replace("$kernel", env["KERNEL"])
    return re.sub(r"\$env\{([^}]*)\}", lambda m: env.get(m.group(1), ""), v)
def value(k):
    if k.startswith("ENV{"):
        return env.get(k[4:-1], "")
    if k == "PROGRAM":
        return None  # findmnt: no such mount
    return env.get(k, "")
runs, i = [], 0
while i < len(lines):
    keys = key_re.findall(lines[i])
    i += 1
    if keys and keys[0][0] == "LABEL":
        continue
    match = True
    for k, op, v in keys:
        if op in ("==", "!="):
            got = value(k)
            hit = got is not None and any(fnmatch.fnmatchcase(got, p) for p in v.split("|"))
            if (op == "==") != hit:
                match = False
                break
    if not match:
        continue
    goto = None
    for k, op, v in keys:
        if op in ("=", "+="):
            if k.startswith("RUN"):
                runs.append(subst(v))
            elif k.startswith("ENV{"):
                env[k[4:-1]] = subst(v)
            elif k == "GOTO":
                goto = v
    if goto:
        i = next(j for j, l in enumerate(lines) if l == 'LABEL="%s"' % goto) + 1
print("\n".join(runs))
PY
}
udev_run ID_FS_UUID=1234-ABCD ID_FS_LABEL=EVCAP-SYNC ID_FS_TYPE=exfat >"$T/udev-sync.out"
udev_run ID_FS_UUID=5678-EF01 ID_FS_LABEL=EVCAP-SYNC-2 ID_FS_TYPE=ext4 >"$T/udev-sync2.out"
udev_run ID_FS_UUID=9ABC-DEF0 ID_FS_LABEL=NIKON_D850 ID_FS_TYPE=exfat >"$T/udev-card.out"
cat "$T"/udev-*.out | sed 's/^/# /'
sync_mount='systemd-mount --no-block --collect --owner=evcap --options=rw,nosuid,nodev,noexec'
sync_mount="$sync_mount /dev/sdb1 /media/evcap-sync"
if [ "$(cat "$T/udev-sync.out")" = "/usr/bin/$sync_mount" ] &&
	[ "$(cat "$T/udev-sync2.out")" = "/usr/bin/${sync_mount/ --owner=evcap/}" ] &&
	grep -q '^/usr/sbin/blockdev --setro /dev/sdb1$' "$T/udev-card.out" &&
	grep -q 'options=ro,nosuid,nodev,noexec /dev/sdb1 /media/evcap/9ABC-DEF0$' "$T/udev-card.out" &&
	grep -qx 'ReadWritePaths=-/media/evcap-sync' "$sync_unit" &&
	grep -q '^d /media/evcap-sync 0755 root root' "$DEST/etc/tmpfiles.d/evcap.conf" &&
	! grep -q '^watch = /media/evcap-sync' "$DEST/etc/evcap/evcap.conf"; then
	ok "appliance_sync_disk_not_evidence"
else
	bad "appliance_sync_disk_not_evidence: the rule, the sync unit or tmpfiles.d disagree"
fi

# install.sh writes nothing into the checkout it runs from, which may be
# read-only (a source tree mounted read-only, a package build)
RO=$(mktemp -d /tmp/evcap-ro.XXXXXX)
on_exit "chmod -R u+w '$RO'; rm -rf '$RO'"
cp -r "$ROOT/firmware-config" "$ROOT/docs" "$RO/"
mkdir "$RO/dest"
chmod -R a-w "$RO/firmware-config" "$RO/docs"
chmod 0755 "$RO"
if [ "$(id -u)" -eq 0 ] && need setpriv; then
	# root writes anywhere: install as a user the read-only tree stops
	chown 64917:64917 "$RO/dest"
	as_user() { setpriv --reuid=64917 --regid=64917 --clear-groups "$@"; }
else
	as_user() { "$@"; }
fi
if as_user env DESTDIR="$RO/dest" PREFIX=/usr/local sh "$RO/firmware-config/install.sh" \
	>"$T/ro-install.log" 2>&1 && [ -f "$RO/dest/etc/systemd/system/evcapd.service" ] &&
	[ -z "$(find "$RO/dest" -name '*.tmp.*')" ] &&
	[ -z "$(find "$RO/firmware-config" -name '.*' ! -name . )" ]; then
	ok "appliance_install_from_read_only_tree"
else
	bad "appliance_install_from_read_only_tree: $(tail -2 "$T/ro-install.log" | tr '\n' ' ')"
fi

if ! need systemd-analyze; then
	skip "appliance_units_verify: systemd-analyze is not installed"
	skip "appliance_units_security: systemd-analyze is not installed"
	exit 0
fi

# verify: the installed units, with ExecStart pointing at the staged
# binaries (the real path does not exist on a build machine)
mkdir -p "$T/units"
for u in evcapd.service evcap-sync.service evcap-sync.timer; do
	sed "s|/usr/local/bin/|$DEST/usr/local/bin/|g" "$DEST/etc/systemd/system/$u" >"$T/units/$u"
done
if (cd "$T/units" && systemd-analyze verify --man=no ./evcapd.service ./evcap-sync.service \
	./evcap-sync.timer) >"$T/verify.log" 2>&1 && [ ! -s "$T/verify.log" ]; then
	ok "appliance_units_verify"
else
	bad "appliance_units_verify: $(head -3 "$T/verify.log" | tr '\n' ' ')"
fi

for u in evcapd.service evcap-sync.service; do
	systemd-analyze security --offline=true "$T/units/$u" >"$T/sec-$u.log" 2>&1
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec-$u.log")
	if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }'; then
		ok "appliance_units_security $u ($level)"
	else
		bad "appliance_units_security: $u rated '${level:-?}': $(tail -2 "$T/sec-$u.log" | tr '\n' ' ')"
	fi
done
exit 0
