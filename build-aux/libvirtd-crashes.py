#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# libvirt 9.0's daemon (Debian 12) now and then dies with a NULL pointer in
# one of its RPC threads while it relays events to a client that is
# disconnecting (dmesg: "rpc-libvirtd[…]: segfault at 0 … in libvirtd").
# An integration program running at that moment loses its connection and
# fails through no fault of Tessera.
#
#   libvirtd-crashes.py count
#       prints how many libvirtd segfaults the kernel log holds (-1 when
#       the log cannot be read)
#   libvirtd-crashes.py rerun BUILDDIR BEFORE
#       prints the names of the failed tests of the last run, to be run
#       again, when every one of them is an integration program that failed
#       while libvirtd crashed: the kernel log holds more libvirtd segfaults
#       than BEFORE, or (no kernel log) its output shows the daemon's
#       connection gone. Prints nothing when any failure is something else.
import json
import os
import subprocess
import sys

LOST = ("Failed to connect socket to '/var/run/libvirt/libvirt-sock'",
        "End of file while reading data",
        "client socket is closed")


def count():
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return -1
    return sum(1 for l in out.splitlines() if "segfault" in l and "libvirtd" in l)


if sys.argv[1] == "count":
    print(count())
    sys.exit(0)

builddir, before = sys.argv[2], int(sys.argv[3])
now = count()
path = os.path.join(builddir, "meson-logs", "testlog.json")
records = [json.loads(l) for l in open(path, encoding="utf-8", errors="replace") if l.strip()]
names = []
for r in records:
    if r.get("result") in ("OK", "SKIP", "EXPECTEDFAIL"):
        continue
    crashed = now > before if now >= 0 and before >= 0 else \
        any(s in (r.get("stdout") or "") for s in LOST)
    # Any other failure fails the run as it is: nothing is run again.
    if not r["name"].startswith("tessera:integration / ") or not crashed:
        sys.exit(0)
    names.append(r["name"].split(" / ", 1)[1])
print(" ".join(names))
