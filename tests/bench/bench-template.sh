#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench-template.sh BUILDDIR [ROUNDS]
#
# Template-based VMs on the real libvirtd (qemu:///system, root only), with
# a TemplateVM whose root is a qcow2 disk of 20 GiB virtual holding 2 GiB:
#   AppVM start overhead   what Tessera does before QEMU starts an AppVM:
#                          the template settled, a fresh root overlay and
#                          volatile disk, one definition (the core's step
#                          alone; QEMU's own start is not counted)
#   commit of 100 MiB      the template's overlay gets 100 MiB written (from
#                          the host, qemu-io), then its commit: with
#                          revisions_to_keep 100 (nothing to prune) and with
#                          the default 1 (each commit then merges the
#                          revision beyond it, 100 MiB, into the bottom)
# ROUNDS (default 5) times each, median shown, each followed by sync (counted).
# For comparison: a full copy of the root (cp --sparse=always + sync), what
# a copy at each start would cost. Everything made is named tm2-bench-* and
# removed, also after an interrupted run.
set -euo pipefail

builddir=$(readlink -f "${1:?usage: $0 BUILDDIR [ROUNDS]}")
rounds=${2:-5}
uri=qemu:///system
helper="$builddir/tests/bench/bench-template"
cli="$builddir/src/cli"
net=tessera-test
tpl=tm2-bench-tpl
app=tm2-bench-app

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-template: needs root (qemu:///system); skipped"
  exit 77
fi

rm -rf /var/tmp/tessera-bench-template-*/ 2>/dev/null || true
work=$(mktemp -d /var/tmp/tessera-bench-template-XXXXXX)
export TESSERA_DEFAULT_NETVM=$net
export TESSERA_URI=$uri

cleanup() {
  local d
  for d in $app $tpl; do
    if virsh -c $uri -q dominfo $d >/dev/null 2>&1; then
      virsh -c $uri -q destroy $d >/dev/null 2>&1 || true
      "$cli/qvm-remove" -f $d >/dev/null 2>&1 || true
    fi
  done
  virsh -c $uri -q pool-refresh tessera >/dev/null 2>&1 || true
  for v in $(virsh -c $uri -q vol-list tessera 2>/dev/null | awk '{print $1}' | grep '^tm2-bench-' || true); do
    virsh -c $uri -q vol-delete --pool tessera "$v" >/dev/null || true
  done
  rm -f "$work"/*
}
trap 'echo "bench-template: failed at line $LINENO" >&2' ERR
trap 'cleanup; rm -rf "$work"' EXIT
cleanup

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { tr ' ' '\n' | grep . | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s–%s", lo, hi}'; }
timed_sync() { local s; s=$(now); sync; calc "$(now) - $s"; }
step() { "$helper" $uri "$1" "$2" | sed -n 's/^seconds: //p'; }
overlay() { virsh -c $uri domblklist --inactive $tpl | awk '$1 == "vda" {print $2}'; }

echo "== template benchmark: root qcow2 20 GiB virtual, 2 GiB of data, $rounds rounds"
"$builddir/tests/bench/bench-clone" $uri network $net
qemu-img create -q -f qcow2 "$work/root.qcow2" 20G
for i in $(seq 0 31); do
  qemu-io -f qcow2 -c "write -q -P $((i + 1)) $((i * 640))M 64M" "$work/root.qcow2"
done
"$cli/qvm-create" --hvm --class TemplateVM $tpl --label black --root-move-from "$work/root.qcow2" 2>/dev/null
root=$(overlay)
qemu-img info "$root" | grep -E 'virtual size|disk size' | sed 's/^/   /'
s=$(now)
"$cli/qvm-create" --class AppVM --template $tpl $app --label green 2>/dev/null
echo "   qvm-create --class AppVM (end to end, first overlay of the template included): $(calc "$(now) - $s") s"

starts=""
for r in $(seq "$rounds"); do
  t=$(step prepare $app)
  starts+=" $(calc "$t + $(timed_sync)")"
done
echo "AppVM start overhead (overlays + definition): median $(median <<<"$starts") s ($(range <<<"$starts") s)"

s=$(now)
cp --sparse=always "$root" "$work/copy.qcow2"
sync
echo "   for comparison, a full copy of the template's root: $(calc "$(now) - $s") s"
rm -f "$work/copy.qcow2"

commit_rounds() {
  local times="" t r
  for r in $(seq "$rounds"); do
    qemu-io -f qcow2 -c "write -q -P $((r + 100)) $((r * 200))M 100M" "$(overlay)"
    sync
    t=$(step settle $tpl)
    times+=" $(calc "$t + $(timed_sync)")"
  done
  echo "$times"
}
"$cli/qvm-prefs" $tpl revisions_to_keep 100
c=$(commit_rounds)
echo "commit of 100 MiB (revisions_to_keep 100, nothing pruned): median $(median <<<"$c") s ($(range <<<"$c") s)"
"$cli/qvm-prefs" $tpl revisions_to_keep 1
# The first settle with keep 1 merges the revisions kept so far; not counted.
t=$(step settle $tpl)
echo "   merging the $rounds revisions kept so far into the bottom (not counted): $t s"
c=$(commit_rounds)
echo "commit of 100 MiB + pruning (revisions_to_keep 1: 100 MiB merged each time): median $(median <<<"$c") s ($(range <<<"$c") s)"
echo "   revisions now: $(virsh -c $uri dumpxml --inactive $tpl | grep -c '<tessera:revision')"
