#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# run-storm-bench.sh BUILDDIR [N...]
#
# bench-storm in the core and in the real window (under Xvfb when there is
# no display) for each N (default 1000 and 5000): on libvirt's test driver
# (undefine, define, start, stop, reconnect), then on a private libvirtd
# (tests/common/private-libvirtd.sh: the shared system daemon is never
# touched) with QEMU domains (undefine, define, reconnect). The private
# daemon needs root; without it those rows are skipped.
set -euo pipefail

builddir=$(readlink -f "${1:?usage: $0 BUILDDIR [N...]}")
shift
sizes=("${@:-1000 5000}")
bench="$builddir/tests/bench/bench-storm"
here=$(dirname "$(readlink -f "$0")")
private="$here/../common/private-libvirtd.sh"

run=()
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  run=(xvfb-run -a -s '-screen 0 1280x800x24')
fi

window () {
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory GDK_BACKEND=x11 \
    GSK_RENDERER=cairo NO_AT_BRIDGE=1 GTK_A11Y=none "${run[@]}" "$bench" window "$@"
}

for n in ${sizes[*]}; do
  "$bench" core "$n"
  window "$n"
done

if [ "$(id -u)" -ne 0 ]; then
  echo "== private libvirtd: skipped (needs root)"
  exit 0
fi

daemon_dir=$(mktemp -d "$builddir/storm-libvirtd.XXXXXX")
cleanup () {
  "$private" stop "$daemon_dir" || true
  rm -rf "$daemon_dir"
}
trap cleanup EXIT
uri=$("$private" start "$daemon_dir")

for n in ${sizes[*]}; do
  "$bench" core "$n" "$uri"
  window "$n" "$uri"
done
