#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# run-fuzzer.sh FUZZER SEEDS WORKDIR [SECONDS]
#
# Fuzzes for SECONDS (default 20) starting from the seed corpus; inputs it
# finds go to WORKDIR/corpus, never into the source tree, and a crash is
# written to WORKDIR/crash-* (replay it with fuzz-replay or FUZZER FILE).
set -eu
FUZZER=$1 SEEDS=$2 WORK=$3 SECONDS_=${4:-20}
mkdir -p "$WORK/corpus"
echo "# fuzzing for ${SECONDS_} s from $SEEDS; new inputs in $WORK/corpus"
exec "$FUZZER" -max_total_time="$SECONDS_" -runs=5000000 -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -dict="$(dirname "$0")/ovf.dict" -print_final_stats=1 \
    -artifact_prefix="$WORK/" "$WORK/corpus" "$SEEDS"
