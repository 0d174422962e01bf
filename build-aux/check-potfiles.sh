#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# check-potfiles.sh SRCDIR
#
# Fails when a source file with translatable strings (_(), N_(), C_(),
# NC_(), g_dgettext() and friends in src/, translatable="yes" in ui/) is
# missing from po/POTFILES.in, or when POTFILES.in lists a file that does
# not exist: either way strings would silently stay out of the template.
set -eu
cd "$1"

listed=$(mktemp)
wanted=$(mktemp)
trap 'rm -f "$listed" "$wanted"' EXIT

sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' po/POTFILES.in | sort -u > "$listed"
{
  find src -name '*.[ch]' -type f -exec \
    grep -lE '(^|[^A-Za-z0-9_])((N|C|NC)?_|g_dn?gettext|g_dpgettext2)[[:space:]]*\(' {} +
  find ui -name '*.ui' -type f -exec grep -l 'translatable="yes"' {} +
} | sort -u > "$wanted"

status=0
missing=$(comm -13 "$listed" "$wanted")
if [ -n "$missing" ]; then
  echo "Files with translatable strings missing from po/POTFILES.in:"
  echo "$missing" | sed 's/^/  /'
  status=1
fi
while read -r file; do
  if [ ! -f "$file" ]; then
    echo "po/POTFILES.in lists $file, which does not exist."
    status=1
  fi
done < "$listed"
[ "$status" -ne 0 ] || echo "po/POTFILES.in lists all $(wc -l < "$wanted") files with translatable strings."
exit "$status"
