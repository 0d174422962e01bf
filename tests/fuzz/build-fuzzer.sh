#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# build-fuzzer.sh CLANG OUT SRCDIR BUILDDIR SOURCE...
#
# Builds the libFuzzer binary from SOURCE... (fuzz-ovf.c and the readers'
# own sources, not the gcc-built core library, so that they are
# instrumented) with AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
CLANG=$1 OUT=$2 SRC=$3 BUILD=$4
shift 4
incs=""
for dir in "$SRC"/src/core/*/; do
  incs="$incs -I$dir"
done
# shellcheck disable=SC2046,SC2086
exec "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
    -I"$BUILD" $incs $(pkg-config --cflags glib-2.0 gio-2.0 libxml-2.0 libvirt libvirt-gconfig-1.0) \
    "$@" \
    $(pkg-config --libs glib-2.0 gio-2.0 libxml-2.0 libvirt libvirt-gconfig-1.0) -o "$OUT"
