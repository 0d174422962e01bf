/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_NAME_MAX_LEN 31

gboolean  tsr_validate_vm_name (const char  *name,
                                GError     **error);
gboolean  tsr_validate_mac     (const char  *mac,
                                GError     **error);
char     *tsr_mac_normalize    (const char  *mac);
char     *tsr_mac_generate     (const char  *oui);

/* "400", "400M", "2G", "20GiB", "512MB"; DEFAULT_UNIT applies to a bare
 * number.
 */
gboolean tsr_parse_size (const char  *text,
                         guint64      default_unit,
                         guint64     *out,
                         GError     **error);

G_END_DECLS
