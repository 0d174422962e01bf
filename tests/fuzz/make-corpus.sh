#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# make-corpus.sh OVF-DIR OUTDIR
#
# Regenerates the seed corpus: small, valid inputs of every kind the
# readers take (the fuzzer mutates from there). OVF-DIR holds the
# descriptors to start from (*.ovf). Needs qemu-img, GNU tar and zip.
set -euo pipefail
SRC=$(realpath "$1") OUT=$(realpath -m "$2")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
cd "$WORK"

truncate -s 1M disk.img
printf 'TESSERA' | dd of=disk.img conv=notrunc status=none
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized disk.img disk.vmdk
qemu-img convert -q -f raw -O vdi disk.img disk.vdi
qemu-img convert -q -f raw -O vpc disk.img disk.vhd
qemu-img convert -q -f raw -O vpc -o subformat=fixed disk.img fixed.vhd
qemu-img convert -q -f raw -O vhdx disk.img disk.vhdx
qemu-img convert -q -f raw -O qcow2 disk.img disk.qcow2
for f in disk.vmdk disk.vdi disk.vhd disk.vhdx disk.qcow2; do
    head -c 1024 "$f" > "$OUT/head-${f#disk.}.bin"
done
tail -c 1024 fixed.vhd > "$OUT/tail-fixed-vhd.bin"
qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
cp flat.vmdk "$OUT/descriptor.vmdk"

for ovf in "$SRC"/*.ovf; do
    cp "$ovf" "$OUT/$(basename "$ovf")"
done

# An appliance as VirtualBox lays it out (the .ovf first), with a small
# stand-in for the disk, in the tar dialects the reader takes.
cp "$SRC/virtualbox.ovf" app.ovf
head -c 2048 disk.vmdk > app-disk001.vmdk
tar --format=ustar -cf "$OUT/app-ustar.ova" app.ovf app-disk001.vmdk
tar --format=pax -cf "$OUT/app-pax.ova" app.ovf app-disk001.vmdk
long=$(printf 'd%.0s' $(seq 1 120))
mkdir -p "$long" && cp app.ovf "$long/x.ovf"
tar --format=gnu -cf "$OUT/app-gnu-longname.ova" "$long/x.ovf" app-disk001.vmdk
zip -q -0 "$OUT/app-stored.zip" "$OUT/app-ustar.ova"
zip -q -j "$OUT/app-deflated.zip" app.ovf app-disk001.vmdk
ls -l "$OUT"
