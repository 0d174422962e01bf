#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench-clone.sh BUILDDIR [ROUNDS]
#
# Clones a VM whose qcow2 disk is 20 GiB virtual holding 2 GiB of data, on
# the real libvirtd (qemu:///system, root only), and prints how long each
# way of copying that disk takes, in one run, ROUNDS (default 5) times
# each, interleaved, median shown:
#   tessera full      Tessera's full clone (the core's clone operation)
#   qvm-clone         the same through the CLI, process start and connection included
#   virt-clone        virt-clone --auto-clone (Debian package virtinst)
#   qemu-img convert  qemu-img convert -O qcow2 of the disk
#   cp                cp --sparse=always of the disk
#   tessera linked    Tessera's linked clone
# Every copy is followed by sync, counted in its time, so that no method
# wins by leaving its writes in the page cache. The source image is read
# once beforehand, so every method starts from a warm cache.
# Targets: the full clone at least as fast as the fastest of the others; the
# linked clone under 0.5 s. The VM uses the isolated network tessera-test
# (no <forward>); everything made is removed, also after an interrupted run.
set -euo pipefail

builddir=$(readlink -f "${1:?usage: $0 BUILDDIR [ROUNDS]}")
rounds=${2:-5}
uri=qemu:///system
helper="$builddir/tests/bench/bench-clone"
cli="$builddir/src/cli"
net=tessera-test
src=tsr-bench-src
pool_dir=/var/lib/tessera/images

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-clone: needs root (qemu:///system); skipped"
  exit 77
fi

rm -rf /var/tmp/tessera-bench-clone-*/ 2>/dev/null || true   # of interrupted runs
work=$(mktemp -d /var/tmp/tessera-bench-clone-XXXXXX)
export TESSERA_DEFAULT_NETVM=$net

# cleanup [keep-source]: removes the bench's VMs, volumes and reservations;
# with keep-source, all but the source VM and its disk.
cleanup() {
  local d m host keep=${1:-}
  for d in $(virsh -c $uri list --all --name | grep '^tsr-bench-' || true); do
    [ -z "$keep" ] || [ "$d" != $src ] || continue
    for m in $(virsh -c $uri dumpxml --inactive "$d" | grep -o "mac address='[^']*'" | cut -d"'" -f2); do
      host=$(virsh -c $uri net-dumpxml --inactive $net 2>/dev/null | grep -i "mac='$m'" | sed 's/^ *//' || true)
      [ -z "$host" ] || virsh -c $uri -q net-update $net delete ip-dhcp-host "$host" --live --config >/dev/null || true
    done
    virsh -c $uri -q destroy "$d" >/dev/null 2>&1 || true
    virsh -c $uri -q undefine "$d" >/dev/null || true
  done
  # Stale reservations of VMs already gone.
  { virsh -c $uri net-dumpxml --inactive $net 2>/dev/null | grep "name='tsr-bench-" |
      grep -v "${keep:+name='$src'}" || true; } |
    sed 's/^ *//' | while read -r host; do
      virsh -c $uri -q net-update $net delete ip-dhcp-host "$host" --live --config >/dev/null || true
    done
  virsh -c $uri -q pool-refresh tessera >/dev/null 2>&1 || true
  for v in $(virsh -c $uri -q vol-list tessera 2>/dev/null | awk '{print $1}' | grep '^tsr-bench-' || true); do
    [ -z "$keep" ] || [ "$v" != $src-root.qcow2 ] || continue
    chmod u+w "$pool_dir/$v" 2>/dev/null || true   # linked clones' bases are read-only
    virsh -c $uri -q vol-delete --pool tessera "$v" >/dev/null || true
  done
  [ -n "$keep" ] || rm -f "$pool_dir"/tsr-bench-* "$work"/*
}
trap 'echo "bench-clone: failed at line $LINENO" >&2' ERR
trap 'cleanup; rm -rf "$work"' EXIT
cleanup

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
is_true() { awk "BEGIN { exit !($1) }"; }
elapsed() { calc "$2 - $1"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed_sync() { local s; s=$(now); sync; elapsed "$s" "$(now)"; }

echo "== clone benchmark: qcow2 disk, 20 GiB virtual, 2 GiB of data, $rounds rounds"
"$helper" $uri network $net
qemu-img create -q -f qcow2 "$work/disk.qcow2" 20G
# 2 GiB of data in 32 pieces of 64 MiB spread over the disk, no zeros.
for i in $(seq 0 31); do
  qemu-io -f qcow2 -c "write -q -P $((i + 1)) $((i * 640))M 64M" "$work/disk.qcow2"
done
"$cli/qvm-create" --hvm $src --label gray --root-move-from "$work/disk.qcow2" 2>/dev/null
disk="$pool_dir/$src-root.qcow2"
qemu-img info "$disk" | grep -E 'virtual size|disk size' | sed 's/^/   /'
sync
cat "$disk" > /dev/null

declare -A times
have_virt_clone=false
if command -v virt-clone >/dev/null; then
  have_virt_clone=true
else
  echo "   virt-clone not found (Debian package virtinst): left out"
fi

run_tessera() {
  # The core's operation (its own fdatasync included).
  local out t
  out=$("$helper" $uri clone $src tsr-bench-full)
  t=$(echo "$out" | sed -n 's/^seconds: //p')
  times[tessera]+=" $(calc "$t + $(timed_sync)")"
  cleanup keep-source; sync
}
run_qvm_clone() {
  local s
  s=$(now)
  "$cli/qvm-clone" -q $src tsr-bench-cli
  sync
  times[qvm-clone]+=" $(elapsed "$s" "$(now)")"
  cleanup keep-source; sync
}
run_virt_clone() {
  local s
  s=$(now)
  virt-clone --connect $uri --original $src --auto-clone >/dev/null
  sync
  times[virt-clone]+=" $(elapsed "$s" "$(now)")"
  cleanup keep-source; sync
}
run_qemu_img() {
  local s
  s=$(now)
  qemu-img convert -f qcow2 -O qcow2 "$disk" "$work/convert.qcow2"
  sync
  times[qemu-img]+=" $(elapsed "$s" "$(now)")"
  rm -f "$work/convert.qcow2"; sync
}
run_cp() {
  local s
  s=$(now)
  cp --sparse=always "$disk" "$work/cp.qcow2"
  sync
  times[cp]+=" $(elapsed "$s" "$(now)")"
  rm -f "$work/cp.qcow2"; sync
}

methods=(run_tessera run_qvm_clone run_qemu_img run_cp)
if $have_virt_clone; then
  methods+=(run_virt_clone)
fi

# One untimed copy first: the first write of a run is often slow.
cp --sparse=always "$disk" "$work/warm.qcow2"; sync; rm -f "$work/warm.qcow2"; sync

# Each round starts with another method, so that none always goes first.
for r in $(seq 0 $((rounds - 1))); do
  for i in $(seq 0 $((${#methods[@]} - 1))); do
    "${methods[$(( (i + r) % ${#methods[@]} ))]}"
  done
done

# Linked clones last: each one puts the source on a new overlay.
for r in $(seq 1 "$rounds"); do
  out=$("$helper" $uri clone $src "tsr-bench-lnk$r" --linked)
  times[linked]+=" $(echo "$out" | sed -n 's/^seconds: //p')"
done

full=$(echo "${times[tessera]}" | median)
best_other=
printf '\n%-34s %10s %12s   %s\n' "method" "median s" "vs tessera" "all rounds"
row() {
  local label=$1 key=$2 m
  m=$(echo "${times[$key]}" | median)
  printf '%-34s %10.3f %11.2fx   %s\n' "$label" "$m" "$(calc "$m / $full")" "${times[$key]}"
}
row "tessera full clone (core)" tessera
row "qvm-clone (CLI, end to end)" qvm-clone
others=(qemu-img cp)
if $have_virt_clone; then
  row "virt-clone --auto-clone" virt-clone
  others+=(virt-clone)
fi
row "qemu-img convert -O qcow2" qemu-img
row "cp --sparse=always" cp
linked=$(echo "${times[linked]}" | median)
printf '%-34s %10.3f %11s   %s\n' "tessera linked clone (core)" "$linked" "" "${times[linked]}"

for k in "${others[@]}"; do
  m=$(echo "${times[$k]}" | median)
  if [ -z "$best_other" ] || is_true "$m < $best_other"; then
    best_other=$m; best_name=$k
  fi
done
echo
if is_true "$full <= $best_other"; then
  printf 'target met: full clone %.3f s <= fastest other (%s) %.3f s\n' "$full" "$best_name" "$best_other"
else
  printf 'TARGET MISSED: full clone %.3f s > fastest other (%s) %.3f s\n' "$full" "$best_name" "$best_other"
fi
if is_true "$linked < 0.5"; then
  printf 'target met: linked clone %.3f s < 0.5 s\n' "$linked"
else
  printf 'TARGET MISSED: linked clone %.3f s >= 0.5 s\n' "$linked"
fi
