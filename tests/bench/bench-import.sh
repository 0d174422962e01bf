#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench-import.sh BUILDDIR [DATA_MIB] [VIRTUAL_GIB] [ROUNDS]
#
# Importing a VirtualBox appliance: `tessera-cli import x.ova` against the
# manual Qubes route (tar -xf x.ova; qemu-img convert -O raw x.vmdk
# x.raw; qvm-create --root-move-from x.raw), in one run, on the same
# appliance and the same disk. Prints for each: the time, the peak extra
# disk space while it runs (everything written next to the input: the
# pool, the folder the manual route works in, TMPDIR) and the space left
# afterwards. Each route ends with an fsync of what it wrote (its data is
# on disk) and starts from a synced disk; the two alternate for ROUNDS
# (default 3) rounds, each row is one run, and the medians follow.
#
# The appliance is made here: a VIRTUAL_GIB (default 8) disk holding
# DATA_MIB (default 2048) of data, half random and half text, exported as
# VirtualBox does (streamOptimized VMDK + OVF in a tar). Root only: it
# uses qemu:///system and a transient directory pool; the VMs get no
# network; everything is removed at the end (and at the start, after an
# interrupted run). Both routes read the .ova from a warm page cache.
set -euo pipefail

builddir=$(readlink -f "${1:?usage: $0 BUILDDIR [DATA_MIB] [VIRTUAL_GIB]}")
data_mib=${2:-2048}
virtual_gib=${3:-8}
rounds=${4:-3}
uri=qemu:///system
cli="$builddir/src/cli/tessera-cli"
qvm_create="$builddir/src/cli/qvm-create"
base=/var/tmp/tessera-bench-import
pool=tessera-bench-import
vms=(bench-imp-tessera bench-imp-manual bench-imp-stream bench-copy-local bench-copy-stream)

[ "$(id -u)" = 0 ] || { echo "bench-import: needs root (qemu:///system)" >&2; exit 77; }

cleanup() {
  for vm in "${vms[@]}"; do
    virsh -q -c "$uri" destroy "$vm" >/dev/null 2>&1 || true
    virsh -q -c "$uri" undefine "$vm" >/dev/null 2>&1 || true
  done
  virsh -q -c "$uri" pool-destroy "$pool" >/dev/null 2>&1 || true
  virsh -q -c "$uri" pool-undefine "$pool" >/dev/null 2>&1 || true
  rm -rf "$base"
}
cleanup
trap cleanup EXIT

mkdir -p "$base/src" "$base/pool" "$base/manual" "$base/tmp"
virsh -q -c "$uri" pool-create-as "$pool" dir --target "$base/pool" >/dev/null

human() { numfmt --to=iec-i --suffix=B --format=%.2f -- "$1"; }
used() { du -sB1 "$base/pool" "$base/manual" "$base/tmp" | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

echo "bench-import: making the appliance (${virtual_gib} GiB disk, ${data_mib} MiB of data)…"
cd "$base/src"
truncate -s "${virtual_gib}G" disk.img
half=$((data_mib / 2))
head -c "${half}M" /dev/urandom | dd of=disk.img bs=1M seek=1 conv=notrunc status=none
{ yes 'Tessera import benchmark: a line of ordinary, compressible text 0123456789' || true; } |
  head -c "$((data_mib - half))M" |
  dd of=disk.img bs=1M seek=$((virtual_gib * 512)) conv=notrunc status=none
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.img bench-disk001.vmdk
# kept for the root-copy rows: --root-copy-from of the same raw disk
mv disk.img root.img
cat > bench.ovf <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xmlns="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References><File ovf:id="file1" ovf:href="bench-disk001.vmdk"/></References>
  <DiskSection><Info>disks</Info>
    <Disk ovf:capacity="${virtual_gib}" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1"
      ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="Bench">
    <Info>A virtual machine</Info>
    <VirtualHardwareSection><Info>hw</Info>
      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
tar --format=ustar -cf bench.ova bench.ovf bench-disk001.vmdk
rm bench.ovf bench-disk001.vmdk
ova="$base/src/bench.ova"
ova_size=$(stat -c %s "$ova")
cat "$ova" > /dev/null

# measure LABEL FUNCTION: runs FUNCTION in the background, sampling the
# space used every 50 ms; sets seconds, peak and final.
measure() {
  local start end before now pid
  sync
  before=$(used)
  peak=$before
  start=$(date +%s.%N)
  "$2" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    now=$(used)
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.05
  done
  wait "$pid"
  # fsync what the route wrote (not sync(1): other work on the machine
  # would be timed too)
  find "$base/pool" "$base/manual" "$base/tmp" -type f -exec sync {} +
  end=$(date +%s.%N)
  final=$(( $(used) - before ))
  peak=$(( peak - before ))
  [ "$final" -gt "$peak" ] && peak=$final
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
}

manual_route() {
  cd "$base/manual"
  tar -xf "$ova"
  qemu-img convert -f vmdk -O raw bench-disk001.vmdk win10.raw
  "$qvm_create" --connect "$uri" --hvm bench-imp-manual --label red --mem=1024 \
    --property netvm=none --pool "$pool" --root-move-from "$base/manual/win10.raw" \
    2> >(grep -v '^Note: Hardware virtualisation' >&2)
}

tessera_route() {
  TMPDIR="$base/tmp" "$cli" --connect "$uri" import -q "$ova" --name bench-imp-tessera \
    --label red --pool "$pool" --property netvm=none \
    2> >(grep -v '^Note: Hardware virtualisation' >&2)
}

# The same import through libvirt's stream, the route of an account that
# may not write the pool's folder (converted in TMPDIR, then
# virStorageVolUpload).
stream_route() {
  TESSERA_STORAGE_ROUTE=stream TMPDIR="$base/tmp" "$cli" --connect "$uri" import -q "$ova" \
    --name bench-imp-stream --label red --pool "$pool" --property netvm=none \
    2> >(grep -v '^Note: Hardware virtualisation' >&2)
}

copy_route() {
  "$qvm_create" --connect "$uri" --hvm "bench-copy-$1" --label red --property netvm=none \
    --pool "$pool" -q --root-copy-from "$base/src/root.img" \
    2> >(grep -v '^Note: Hardware virtualisation' >&2)
}
copy_local_route() { copy_route local; }
copy_stream_route() { TESSERA_STORAGE_ROUTE=stream copy_route stream; }

remove_vms() {
  for vm in "${vms[@]}"; do
    virsh -q -c "$uri" undefine "$vm" >/dev/null 2>&1 || true
  done
  rm -rf "$base/manual"/* "$base/pool"/* "$base/tmp"/*
  virsh -q -c "$uri" pool-refresh "$pool" >/dev/null
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
manual_times=()
tessera_times=()
stream_times=()
copy_local_times=()
copy_stream_times=()
image=0
for round in $(seq 1 "$rounds"); do
  echo "bench-import: round $round: manual route…"
  measure manual manual_route
  rows+=("$(printf '| %-70s | %7.1f s | %16s | %16s |' \
    "manual: tar -xf, qemu-img convert -O raw, qvm-create --root-move-from" \
    "$seconds" "$(human "$peak")" "$(human "$final")")")
  manual_times+=("$seconds")
  echo "bench-import: round $round: tessera-cli import…"
  measure tessera tessera_route
  rows+=("$(printf '| %-70s | %7.1f s | %16s | %16s |' "tessera-cli import x.ova" \
    "$seconds" "$(human "$peak")" "$(human "$final")")")
  tessera_times+=("$seconds")
  image=$(du -sB1 "$base/pool/bench-imp-tessera-root.qcow2" | cut -f1)
  over=$(( peak - image ))
  remove_vms
  echo "bench-import: round $round: tessera-cli import through libvirt's stream…"
  measure stream stream_route
  rows+=("$(printf '| %-70s | %7.1f s | %16s | %16s |' \
    "tessera-cli import x.ova, through libvirt (no write access to the pool)" \
    "$seconds" "$(human "$peak")" "$(human "$final")")")
  stream_times+=("$seconds")
  remove_vms
  echo "bench-import: round $round: qvm-create --root-copy-from, written here…"
  measure copy-local copy_local_route
  rows+=("$(printf '| %-70s | %7.1f s | %16s | %16s |' \
    "qvm-create --root-copy-from raw, qemu-img into the pool" \
    "$seconds" "$(human "$peak")" "$(human "$final")")")
  copy_local_times+=("$seconds")
  echo "bench-import: round $round: qvm-create --root-copy-from through libvirt…"
  measure copy-stream copy_stream_route
  rows+=("$(printf '| %-70s | %7.1f s | %16s | %16s |' \
    "qvm-create --root-copy-from raw, through libvirt (no write access)" \
    "$seconds" "$(human "$peak")" "$(human "$final")")")
  copy_stream_times+=("$seconds")
  remove_vms
done

echo
echo "Importing a VirtualBox appliance: $(human "$ova_size") .ova (streamOptimized VMDK), a" \
     "${virtual_gib} GiB disk holding ${data_mib} MiB; Tessera's final qcow2 image $(human "$image")"
printf '| %-70s | %9s | %16s | %16s |\n' "route" "time" "peak extra space" "space afterwards"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..72})" "-----------" "------------------" \
  "------------------"
printf '%s\n' "${rows[@]}"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }'; }
echo
echo "Median time: manual route $(median "${manual_times[@]}") s, tessera-cli import" \
     "$(median "${tessera_times[@]}") s (${rounds} rounds; $(nproc) CPUs, load before:" \
     "$load_before)."
echo "Through libvirt's stream (an account that may not write the pool): import" \
     "$(median "${stream_times[@]}") s vs $(median "${tessera_times[@]}") s written here" \
     "($(awk -v a="$(median "${stream_times[@]}")" -v b="$(median "${tessera_times[@]}")" 'BEGIN { printf "%.2f", a / b }')x);" \
     "root copy $(median "${copy_stream_times[@]}") s vs $(median "${copy_local_times[@]}") s" \
     "($(awk -v a="$(median "${copy_stream_times[@]}")" -v b="$(median "${copy_local_times[@]}")" 'BEGIN { printf "%.2f", a / b }')x; target <= 1.3x)."
echo "Peak extra space of tessera-cli import beyond its final image: $(human "$over")" \
     "(target: the final image only)."
