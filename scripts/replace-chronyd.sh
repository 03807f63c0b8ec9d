#!/usr/bin/env bash
# Puts chronygo in place of chronyd, or puts chronyd back.
#   replace-chronyd.sh install    keep /usr/sbin/chronyd as /usr/sbin/chronyd.orig
#                                 (once) and link /usr/sbin/chronygo in its place
#   replace-chronyd.sh uninstall  put the original /usr/sbin/chronyd back
# On Debian, dpkg-divert records the move so that upgrades of the chrony
# package install their chronyd as chronyd.orig instead of overwriting the
# link. The service is not restarted: do it yourself (systemctl restart
# chrony). The unit, /etc/chrony/chrony.conf and chronyc stay as they are.
# DESTDIR, when set, prefixes every path (for trying this out).
set -euo pipefail

root="${DESTDIR:-}"
chronyd="$root/usr/sbin/chronyd"
orig="$root/usr/sbin/chronyd.orig"
chronygo="/usr/sbin/chronygo"

use_divert() {
	[ -z "$root" ] && command -v dpkg-divert >/dev/null 2>&1 && dpkg -S /usr/sbin/chronyd >/dev/null 2>&1
}

is_our_link() {
	[ -L "$chronyd" ] && [ "$(readlink "$chronyd")" = "$chronygo" ]
}

case "${1:-}" in
install)
	if [ ! -x "$root$chronygo" ]; then
		echo "replace-chronyd: $root$chronygo is missing; run make install first" >&2
		exit 1
	fi
	if is_our_link; then
		echo "replace-chronyd: $chronyd already points to $chronygo"
		exit 0
	fi
	if [ -e "$orig" ]; then
		echo "replace-chronyd: $orig already exists; not overwriting it" >&2
		exit 1
	fi
	if [ -e "$chronyd" ]; then
		if use_divert; then
			dpkg-divert --local --rename --divert /usr/sbin/chronyd.orig --add /usr/sbin/chronyd
		else
			mv "$chronyd" "$orig"
		fi
	fi
	ln -s "$chronygo" "$chronyd"
	echo "replace-chronyd: $chronyd -> $chronygo (original kept as $orig)"
	echo "replace-chronyd: now run: systemctl restart chrony"
	;;
uninstall)
	if ! is_our_link; then
		echo "replace-chronyd: $chronyd is not a link to $chronygo; nothing to undo"
		exit 0
	fi
	rm -f "$chronyd"
	if [ -z "$root" ] && command -v dpkg-divert >/dev/null 2>&1 &&
		dpkg-divert --list /usr/sbin/chronyd | grep -q chronyd.orig; then
		dpkg-divert --local --rename --remove /usr/sbin/chronyd
	elif [ -e "$orig" ]; then
		mv "$orig" "$chronyd"
	fi
	echo "replace-chronyd: original chronyd restored at $chronyd"
	echo "replace-chronyd: now run: systemctl restart chrony"
	;;
*)
	echo "usage: $0 install|uninstall" >&2
	exit 2
	;;
esac
