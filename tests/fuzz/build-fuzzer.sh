#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# build-fuzzer.sh CLANG OUT SRCDIR BUILDDIR
#
# Builds the libFuzzer binary for fuzz-ovf.c with CLANG, AddressSanitizer
# and UndefinedBehaviorSanitizer, from the readers' own sources (not the
# gcc-built core library, so that they are instrumented).
set -eu
CLANG=$1 OUT=$2 SRC=$3 BUILD=$4
# shellcheck disable=SC2046
exec "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
    -I"$BUILD" -I"$SRC/src/core" $(pkg-config --cflags glib-2.0 gio-2.0 libxml-2.0 libvirt) \
    "$SRC/tests/fuzz/fuzz-ovf.c" "$SRC/src/core/tsr-ovf.c" "$SRC/src/core/tsr-error.c" \
    "$SRC/src/core/tsr-validate.c" \
    $(pkg-config --libs glib-2.0 gio-2.0 libxml-2.0 libvirt) -o "$OUT"
