#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# run-list-bench.sh BUILDDIR [N]
#
# Lists N (default 1000) shut-off VMs, each with a DHCP reservation, and
# prints how long Tessera's core takes from open to a complete list with
# IP / netmask / gateway, the longest main-loop stall meanwhile and the
# memory the list adds. Two runs:
#   1. libvirt's test driver, from a generated node file (quick, no daemon);
#   2. the real libvirtd on qemu:///system (root only), next to the libvirt
#      floor: one virsh connection listing the domains and dumping every XML.
# The network used is isolated (no <forward>); everything defined is removed.
set -euo pipefail

builddir=$(readlink -f "${1:?usage: $0 BUILDDIR [N]}")
n=${2:-1000}
bench="$builddir/tests/bench/bench-list"
bench_window="$builddir/tests/bench/bench-window"

window() {
  # The real window, under Xvfb when there is no display.
  local run=()
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    run=(xvfb-run -a -s '-screen 0 1280x800x24')
  fi
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory GDK_BACKEND=x11 \
    GSK_RENDERER=cairo NO_AT_BRIDGE=1 "${run[@]}" "$bench_window" "$@"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() {
  # gen node|net|domains: XML for the test-driver node file, the isolated
  # network, or one file per domain.
  python3 - "$1" "$n" "$tmp" <<'PY'
import sys, os
kind, n, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def mac(i): return "52:54:00:be:%02x:%02x" % (i // 256, i % 256)
def ip(i): return "10.138.%d.%d" % (i // 250, i % 250 + 2)
hosts = "".join("<host mac='%s' name='bench-%04d' ip='%s'/>" % (mac(i), i, ip(i)) for i in range(n))
net = ("<network><name>tessera-bench</name><bridge name='tsrbench0'/>"
       "<ip address='10.138.255.1' netmask='255.255.0.0'><dhcp>"
       "<range start='10.138.0.2' end='10.138.254.254'/>%s</dhcp></ip></network>" % hosts)
def dom(i, dtype):
    return ("<domain type='%s'><name>bench-%04d</name><memory unit='MiB'>400</memory><vcpu>2</vcpu>"
            "<metadata><tessera:vm xmlns:tessera='https://tessera.invalid/xmlns/vm/1.0'>"
            "<tessera:label>green</tessera:label><tessera:class>StandaloneVM</tessera:class>"
            "</tessera:vm></metadata><os><type arch='x86_64'>hvm</type></os><devices>"
            "<interface type='network'><mac address='%s'/><source network='tessera-bench'/>"
            "<model type='virtio'/></interface></devices>%s</domain>"
            % (dtype, i, mac(i), "<test:runstate xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>5</test:runstate>" if dtype == "test" else ""))
if kind == "node":
    with open(os.path.join(tmp, "node.xml"), "w") as f:
        f.write("<node>" + "".join(dom(i, "test") for i in range(n)) + net + "</node>")
elif kind == "net":
    with open(os.path.join(tmp, "net.xml"), "w") as f:
        f.write(net)
else:
    with open(os.path.join(tmp, "define.virsh"), "w") as f:
        for i in range(n):
            p = os.path.join(tmp, "d%04d.xml" % i)
            with open(p, "w") as d:
                d.write(dom(i, "qemu"))
            f.write("define %s\n" % p)
    with open(os.path.join(tmp, "dump.virsh"), "w") as f:
        f.write("list --all\n")
        for i in range(n):
            f.write("dumpxml bench-%04d\n" % i)
    with open(os.path.join(tmp, "undefine.virsh"), "w") as f:
        for i in range(n):
            f.write("undefine bench-%04d\n" % i)
PY
}

ms() { echo "$(( ($2 - $1) / 1000000 ))"; }

echo "== test driver, $n VMs"
gen node
"$bench" "test://$tmp/node.xml" "$n"
window "test://$tmp/node.xml" "$n"

if [ "$(id -u)" != 0 ] || ! virsh -q -c qemu:///system version >/dev/null 2>&1; then
  echo "== qemu:///system: skipped (needs root and a running libvirtd)"
  exit 0
fi

echo "== qemu:///system, $n shut-off VMs"
gen net
gen domains
virsh -q -c qemu:///system net-destroy tessera-bench >/dev/null 2>&1 || true
virsh -q -c qemu:///system net-undefine tessera-bench >/dev/null 2>&1 || true
cleanup() {
  virsh -q -c qemu:///system < "$tmp/undefine.virsh" >/dev/null 2>&1 || true
  virsh -q -c qemu:///system net-destroy tessera-bench >/dev/null 2>&1 || true
  virsh -q -c qemu:///system net-undefine tessera-bench >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
virsh -q -c qemu:///system net-define "$tmp/net.xml" >/dev/null
virsh -q -c qemu:///system net-start tessera-bench >/dev/null
t0=$(date +%s%N)
virsh -q -c qemu:///system < "$tmp/define.virsh" >/dev/null
t1=$(date +%s%N)
echo "define_ms: $(ms "$t0" "$t1")"

# The floor, twice (the first warms libvirtd's caches); the second counts.
virsh -q -c qemu:///system < "$tmp/dump.virsh" >/dev/null
t0=$(date +%s%N)
virsh -q -c qemu:///system < "$tmp/dump.virsh" >/dev/null
t1=$(date +%s%N)
floor=$(ms "$t0" "$t1")
echo "virsh_floor_ms: $floor"

out=$("$bench" qemu:///system "$n")
echo "$out"
window qemu:///system "$n"
core=$(echo "$out" | sed -n 's/^core_open_to_list_ms: //p')
python3 -c "print('core_vs_floor: %.2fx' % ($core / max($floor, 1)))"
