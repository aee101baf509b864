#!/bin/sh
# Installs the capture appliance's configuration: systemd units (with the
# binaries' real path), the desktop session's notification helper
# (autostart), the udev rule that mounts cards read-only under
# /media/evcap, gpsd defaults, chrony's GPS time source, sysusers.d and
# tmpfiles.d entries, and a sample /etc/evcap/evcap.conf. Run by
# `make install-appliance`. With DESTDIR set it only stages files there
# (no root needed); without it, it also creates the user and folders and
# reloads udev and systemd. Existing config files are never overwritten.
set -eu

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
HERE=$(cd "$(dirname "$0")" && pwd)
BINDIR=$PREFIX/bin

say() { printf 'install-appliance: %s\n' "$*"; }

# put SRC DEST MODE: installs, making the folder first
put() {
	mkdir -p "$(dirname "$DESTDIR$2")"
	cp "$1" "$DESTDIR$2.tmp.$$"
	chmod "$3" "$DESTDIR$2.tmp.$$"
	mv -f "$DESTDIR$2.tmp.$$" "$DESTDIR$2"
}

# put_bin SRC DEST MODE: like put, with @BINDIR@ replaced by the programs'
# folder; the text is written beside DEST, never into this checkout, which
# may be read-only
put_bin() {
	mkdir -p "$(dirname "$DESTDIR$2")"
	sed "s|@BINDIR@|$BINDIR|g" "$1" >"$DESTDIR$2.tmp.$$"
	chmod "$3" "$DESTDIR$2.tmp.$$"
	mv -f "$DESTDIR$2.tmp.$$" "$DESTDIR$2"
}

# put_conf SRC DEST MODE: like put, but an existing file is kept and the new
# one is left beside it as DEST.evcap-new for the administrator to compare
put_conf() {
	if [ -e "$DESTDIR$2" ] && ! cmp -s "$1" "$DESTDIR$2"; then
		put "$1" "$2.evcap-new" "$3"
		say "kept $2; the shipped version is $2.evcap-new"
	else
		put "$1" "$2" "$3"
	fi
}

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
	say "run as root, or set DESTDIR to stage the files" >&2
	exit 2
fi

for u in evcapd.service evcap-sync.service evcap-sync.timer; do
	put_bin "$HERE/systemd/$u" "/etc/systemd/system/$u" 0644
done
put "$HERE/udev/90-evcap-media.rules" /etc/udev/rules.d/90-evcap-media.rules 0644
# the desktop session's helper: evcapd's card summaries as notifications
put_bin "$HERE/xdg/evcap-notify.desktop" /etc/xdg/autostart/evcap-notify.desktop 0644
put "$HERE/etc/sysusers.conf" /etc/sysusers.d/evcap.conf 0644
put "$HERE/etc/tmpfiles.conf" /etc/tmpfiles.d/evcap.conf 0644
put "$HERE/chrony/evcap-gps.conf" /etc/chrony/conf.d/evcap-gps.conf 0644
put_conf "$HERE/gpsd/gpsd.default" /etc/default/gpsd 0644
put_conf "$HERE/etc/evcap.conf" /etc/evcap/evcap.conf 0644
if [ -f "$HERE/../docs/appliance.md" ]; then
	put "$HERE/../docs/appliance.md" "$PREFIX/share/doc/evcap/appliance.md" 0644
fi
if [ -f "$HERE/../docs/config.md" ]; then
	put "$HERE/../docs/config.md" "$PREFIX/share/doc/evcap/config.md" 0644
fi

if [ -n "$DESTDIR" ]; then
	say "staged under $DESTDIR"
	exit 0
fi

# a live system: the user, the folders, and the daemons told of the changes
command -v systemd-sysusers >/dev/null && systemd-sysusers /etc/sysusers.d/evcap.conf
command -v systemd-tmpfiles >/dev/null && systemd-tmpfiles --create /etc/tmpfiles.d/evcap.conf
command -v udevadm >/dev/null && udevadm control --reload || true
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	say "now: systemctl enable --now gpsd.socket evcapd.service evcap-sync.timer"
	say "     systemctl restart chrony (to take time from the GPS)"
fi
