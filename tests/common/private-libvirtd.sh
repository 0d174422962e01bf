#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# private-libvirtd.sh start DIR   starts a libvirtd of its own, prints its URI
# private-libvirtd.sh stop DIR    stops it
# private-libvirtd.sh uri DIR     prints its URI again
#
# A libvirtd (with its virtlogd) that shares nothing with the host's: it
# runs in a mount, network and UTS namespace of its own, with a tmpfs on
# /run and DIR's folders mounted over /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt, /var/log/libvirt and /etc/libvirt (a copy of the
# host's /etc/libvirt without its domains, networks, pools and secrets).
# Benchmarks may define thousands of domains there without touching the
# shared system daemon, and tests may stop and start it at will. Clients
# outside reach it through its socket in DIR:
#   qemu+unix:///system?socket=DIR/run/libvirt-sock
# Needs root (namespaces and mounts). Nothing outside DIR is changed.
# The daemons run as copies named tsr-private-daemon and tsr-private-logd,
# with pid files DIR/daemon.pid and DIR/logd.pid, so that scripts that
# stop "libvirtd" by name (restarting the system daemon) leave them be.
set -euo pipefail

usage () {
  echo "usage: $0 start|stop|uri DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

uri () {
  echo "qemu+unix:///system?socket=$dir/run/libvirt-sock"
}

alive () {
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start () {
  mkdir -p "$dir"
  dir=$(readlink -f "$dir")
  if alive "$dir/daemon.pid"; then
    echo "private-libvirtd: already running in $dir" >&2
    uri
    return 0
  fi

  # What a daemon killed from outside left behind (its virtlogd, sockets).
  stop
  rm -f "$dir"/run/*-sock

  mkdir -p "$dir/run" "$dir/lib" "$dir/cache" "$dir/log"
  if [ ! -d "$dir/etc" ]; then
    cp -a /etc/libvirt "$dir/etc"
    # What the host defined stays the host's.
    find "$dir/etc/qemu" "$dir/etc/storage" "$dir/etc/secrets" \
         "$dir/etc/lxc" "$dir/etc/libxl" -name '*.xml' -delete 2>/dev/null || true
    find "$dir/etc" -path '*/autostart/*' -delete 2>/dev/null || true
    find "$dir/etc/secrets" -type f -delete 2>/dev/null || true
  fi
  for sub in qemu network dnsmasq images boot; do
    mkdir -p "$dir/lib/$sub"
  done
  mkdir -p "$dir/cache/qemu" "$dir/log/qemu" "$dir/bin"
  cp "$(command -v libvirtd)" "$dir/bin/tsr-private-daemon"
  cp "$(command -v virtlogd)" "$dir/bin/tsr-private-logd"

  # The namespace lives as long as the daemons in it; this shell exits once
  # they have daemonized and written their pid files.
  unshare --mount --net --uts --propagation private -- bash -euo pipefail -c '
    dir=$1
    hostname tessera-private
    ip link set lo up 2>/dev/null || true
    mount -t tmpfs -o mode=0755 tmpfs /run
    mkdir -p /run/libvirt
    mount --bind "$dir/run" /run/libvirt
    mount --bind "$dir/lib" /var/lib/libvirt
    mount --bind "$dir/cache" /var/cache/libvirt
    mkdir -p /var/log/libvirt
    mount --bind "$dir/log" /var/log/libvirt
    mount --bind "$dir/etc" /etc/libvirt
    "$dir/bin/tsr-private-logd" -d -p "$dir/logd.pid"
    "$dir/bin/tsr-private-daemon" -d -p "$dir/daemon.pid"
  ' private-libvirtd "$dir"

  for _ in $(seq 1 300); do
    if [ -S "$dir/run/libvirt-sock" ] &&
       virsh -q -c "$(uri)" version >/dev/null 2>&1; then
      uri
      return 0
    fi
    sleep 0.1
  done
  echo "private-libvirtd: libvirtd did not answer on $dir/run/libvirt-sock" >&2
  stop
  return 1
}

stop () {
  dir=$(readlink -f "$dir")
  for daemon in daemon logd libvirtd virtlogd; do
    pidfile="$dir/$daemon.pid"
    if alive "$pidfile"; then
      pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
  done
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  uri) dir=$(readlink -f "$dir"); uri ;;
  *) usage ;;
esac
