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
crashes_before=$(python3 build-aux/libvirtd-crashes.py count)
GDK_BACKEND=x11 GSK_RENDERER=cairo \
  dbus-run-session -- \
  xvfb-run -a -s '-screen 0 1280x800x24' \
  meson test -C _build --print-errorlogs "$@" || status=$?

# An integration program that failed while libvirt 9.0's daemon crashed
# (see build-aux/libvirtd-crashes.py) runs once more, on a daemon started
# again; it must pass then. Said loudly, with the kernel's line.
if [ "$status" -ne 0 ]; then
  rerun=$(python3 build-aux/libvirtd-crashes.py rerun _build "$crashes_before")
  if [ -n "$rerun" ]; then
    echo "test: libvirtd crashed during the run (a libvirt 9.0 bug):"
    dmesg 2>/dev/null | grep -E 'segfault.*libvirtd' | tail -n 3 || true
    echo "test: running again once: $rerun"
    bash build-aux/setup.sh
    cp _build/meson-logs/testlog.json _build/meson-logs/testlog-first.json
    status=0
    # shellcheck disable=SC2086
    GDK_BACKEND=x11 GSK_RENDERER=cairo \
      dbus-run-session -- \
      xvfb-run -a -s '-screen 0 1280x800x24' \
      meson test -C _build --print-errorlogs $rerun || status=$?
  fi
fi

# The whole run (no arguments) also builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the unit and fuzz suites there: any
# report fails the run. tests/sanitizers/ holds the suppressions, each with
# its reason. TESSERA_SANITIZE=0 skips this.
if [ "$#" -eq 0 ] && [ "${TESSERA_SANITIZE:-1}" != 0 ]; then
  sanitize_opts=(-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
                 -Dintegration-tests=disabled)
  if [ -f _build-sanitize/meson-private/coredata.dat ]; then
    meson setup --reconfigure _build-sanitize "${sanitize_opts[@]}"
  else
    meson setup _build-sanitize "${sanitize_opts[@]}"
  fi
  meson compile -C _build-sanitize
  # The sanitizers make the core several times slower (the storm test's
  # thousands of domains above all): three times the usual time limits.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp" \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C _build-sanitize --print-errorlogs --timeout-multiplier 3 \
      --suite unit --suite fuzz || status=$?
fi
# A long run's end is what a CI page shows: name what failed there, with the
# end of each failed test's output.
python3 build-aux/failures.py _build 60 || true
if [ "$#" -eq 0 ] && [ -d _build-sanitize ]; then python3 build-aux/failures.py _build-sanitize 60 || true; fi
exit "$status"
