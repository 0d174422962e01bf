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

G_END_DECLS
