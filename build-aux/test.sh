#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds Tessera with warnings as errors and runs the whole test suite under a
# private D-Bus session and a virtual X server.  Extra arguments go to
# 'meson test' (e.g. --suite data, or a test name).  Exits with its status.

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."

bash build-aux/setup.sh

if [ -f _build/meson-private/coredata.dat ]; then
  meson setup --reconfigure _build -Dwerror=true
else
  meson setup _build -Dwerror=true
fi
meson compile -C _build

status=0
GDK_BACKEND=x11 GSK_RENDERER=cairo \
  dbus-run-session -- \
  xvfb-run -a -s '-screen 0 1280x800x24' \
  meson test -C _build --print-errorlogs "$@" || status=$?
exit "$status"
