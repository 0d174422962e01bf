#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# run-storm-bench.sh BUILDDIR [N...]
#
# bench-storm in the core and in the real window (under Xvfb when there is
# no display) for each N (default 1000 and 5000), on libvirt's test driver.
set -euo pipefail

builddir=$(readlink -f "${1:?usage: $0 BUILDDIR [N...]}")
shift
sizes=("${@:-1000 5000}")
bench="$builddir/tests/bench/bench-storm"

run=()
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  run=(xvfb-run -a -s '-screen 0 1280x800x24')
fi

for n in ${sizes[*]}; do
  "$bench" core "$n"
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory GDK_BACKEND=x11 \
    GSK_RENDERER=cairo NO_AT_BRIDGE=1 GTK_A11Y=none "${run[@]}" "$bench" window "$n"
done
