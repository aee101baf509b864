#!/bin/bash
# The capture appliance's configuration: `make install-appliance` stages
# every file under a DESTDIR without root; systemd-analyze verify accepts
# each unit; systemd-analyze security rates each service 2.5 or better; the
# sample evcap.conf parses; the udev rule mounts read-only.
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
