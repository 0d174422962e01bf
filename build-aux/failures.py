#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Prints, for every test of a meson test log that did not pass, its name,
# result, duration and the last lines of its output, so that the end of a
# long run (what a CI page shows) names what failed and why.
# Usage: failures.py BUILDDIR [LINES]

import json
import os
import sys

builddir = sys.argv[1]
lines = int(sys.argv[2]) if len(sys.argv) > 2 else 60
path = os.path.join(builddir, "meson-logs", "testlog.json")
try:
    records = [json.loads(l) for l in open(path, encoding="utf-8", errors="replace") if l.strip()]
except OSError as e:
    print(f"failures: cannot read {path}: {e}")
    sys.exit(0)

bad = [r for r in records if r.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL")]
if not bad:
    sys.exit(0)
print(f"==== {len(bad)} test(s) of {builddir} did not pass ====")
for r in bad:
    print(f"---- {r['name']}: {r['result']} after {r.get('duration', 0):.1f} s "
          f"(exit {r.get('returncode')}) ----")
    out = [l for l in (r.get("stdout") or "").splitlines() if "DEBUG: " not in l
           and l.strip() not in ("#", "")]
    for l in out[-lines:]:
        print("  " + l[:400])
print("==== end of failures ====")
