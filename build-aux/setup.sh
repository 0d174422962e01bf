#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Prepares a Debian 12 machine to build, run and test Tessera: installs the
# missing build and test dependencies, and makes sure virtlogd and libvirtd
# are running and answering on qemu:///system.  Safe to run again and again;
# other scripts (run.sh, test.sh) call it before doing anything else.

set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- bash "$(readlink -f "$0")" "$@"
  fi
  echo "setup: must run as root (and sudo is not installed)" >&2
  exit 1
fi

srcdir="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"

packages=(
  build-essential meson ninja-build pkg-config
  libgtk-4-dev libadwaita-1-dev libvirt-glib-1.0-dev libvirt-dev libxml2-dev libjson-glib-dev
  libvirt-daemon-system libvirt-daemon libvirt-clients libvirt-daemon-driver-qemu
  qemu-system-x86 qemu-utils dnsmasq-base
  xvfb xauth dbus
  desktop-file-utils appstream gettext libglib2.0-dev-bin
  busybox-static cpio iproute2 iptables binutils
  # fuzzing the OVF/tar reader (libFuzzer), zip appliances in the import tests
  clang libclang-rt-14-dev zip
  # the clone benchmark compares with virt-clone
  virtinst
  # the serial console view (VTE for GTK 4)
  libvte-2.91-gtk4-dev
  # the graphical console (GTK-free gtk-vnc), its key test and its benchmark
  libgvnc-1.0-dev xdotool virt-viewer
  # OS detection and defaults (libosinfo and its database)
  libosinfo-1.0-dev osinfo-db
  # Windows 11-ready VMs: UEFI with Secure Boot, an emulated TPM 2.0
  ovmf swtpm swtpm-tools
)

# Extra packages the test fixtures need, one per line; '#' starts a comment.
if [ -f "$srcdir/tests/fixtures/PACKAGES" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"
    line="$(echo "$line" | tr -d '[:space:]')"
    [ -n "$line" ] && packages+=("$line")
  done < "$srcdir/tests/fixtures/PACKAGES"
fi

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  case "$status" in
    ii*) ;;
    *) missing+=("$pkg") ;;
  esac
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages already installed"
fi

have_systemd=false
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  have_systemd=true
fi

start_daemon ()
{
  local name="$1"
  if pgrep -x "$name" >/dev/null 2>&1; then
    return 0
  fi
  echo "setup: starting $name"
  if $have_systemd; then
    systemctl start "$name"
  else
    "$name" -d
  fi
}

stop_libvirtd ()
{
  local pids
  if $have_systemd; then
    systemctl stop libvirtd
    return 0
  fi
  pids="$(pgrep -x libvirtd || true)"
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086
  kill $pids
  for _ in $(seq 1 50); do
    pgrep -x libvirtd >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  echo "setup: libvirtd did not stop in time" >&2
  return 1
}

# A QEMU domain user that cannot open /dev/kvm makes libvirt 9 think the probe
# it cached is stale, and re-probe QEMU (~50 s) on every call.  This only
# happens when /dev/kvm exists but the CPU cannot virtualise, so only then run
# QEMU as root (DESIGN.md §5).
qemu_conf=/etc/libvirt/qemu.conf
qemu_conf_changed=false

set_qemu_conf_key ()
{
  local key="$1" value="$2"
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=[[:space:]]*\"${value}\"[[:space:]]*$" "$qemu_conf"; then
    return 0
  fi
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=" "$qemu_conf"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*$|${key} = \"${value}\"|" "$qemu_conf"
  else
    printf '%s = "%s"\n' "$key" "$value" >> "$qemu_conf"
  fi
  qemu_conf_changed=true
}

if [ -e /dev/kvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
  if [ -f "$qemu_conf" ]; then
    set_qemu_conf_key user root
    set_qemu_conf_key group root
    if $qemu_conf_changed; then
      echo "setup: NOTICE: /dev/kvm exists but the CPU has no vmx/svm flag;"
      echo "setup: NOTICE: set user = \"root\" and group = \"root\" in $qemu_conf so libvirt"
      echo "setup: NOTICE: stops re-probing QEMU on every call (VMs will use TCG, domain type qemu)"
    else
      echo "setup: /dev/kvm without vmx/svm: $qemu_conf already runs QEMU as root"
    fi
  else
    echo "setup: warning: $qemu_conf not found, cannot apply the no-VT-x workaround" >&2
  fi
fi

start_daemon virtlogd

if $qemu_conf_changed && pgrep -x libvirtd >/dev/null 2>&1; then
  echo "setup: restarting libvirtd to apply $qemu_conf"
  stop_libvirtd
fi
start_daemon libvirtd

echo "setup: waiting for libvirtd to answer on qemu:///system"
deadline=$((SECONDS + 30))
until timeout 30 virsh -c qemu:///system version >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "setup: libvirtd did not answer on qemu:///system within 30 s" >&2
    virsh -c qemu:///system version >&2 || true
    exit 1
  fi
  sleep 1
done
echo "setup: libvirtd ready"

# Intent records of Tessera's operations, shared by every account of the
# libvirt group, so that any Tessera that connects can finish what a
# crashed one left half made (see the README's "Crash recovery").
install -d -m 2775 -g libvirt /var/lib/tessera/journal

# libvirt runs swtpm's certificate authority as the tss user: its folder
# must be tss's even when something ran it as root before.
if [ -d /var/lib/swtpm-localca ] && id tss >/dev/null 2>&1; then
  chown -R tss:root /var/lib/swtpm-localca
fi
