#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds Tessera in _build and starts the GUI from the build tree, connected
# to the local system libvirtd.  Extra arguments go to the application.

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."

bash build-aux/setup.sh

if [ -f _build/meson-private/coredata.dat ]; then
  meson setup --reconfigure _build
else
  meson setup _build
fi
meson compile -C _build

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<'MSG'
run: no display: neither DISPLAY nor WAYLAND_DISPLAY is set.
run: Tessera is built in _build; start it from a graphical session, or under
run: a virtual X server, e.g.:
run:   xvfb-run -a -s '-screen 0 1280x800x24' build-aux/run.sh
MSG
  exit 1
fi

export GSETTINGS_SCHEMA_DIR="$PWD/_build/data"
# As root over sudo or ssh there is often no session bus; GApplication wants one.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v dbus-run-session >/dev/null 2>&1; then
  exec dbus-run-session -- _build/src/gui/tessera --connect qemu:///system "$@"
fi
exec _build/src/gui/tessera --connect qemu:///system "$@"
