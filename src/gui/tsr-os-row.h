/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-osinfo.h"

G_BEGIN_DECLS

#define TSR_TYPE_OS_ROW (tsr_os_row_get_type ())
G_DECLARE_FINAL_TYPE (TsrOsRow, tsr_os_row, TSR, OS_ROW, AdwActionRow)

TsrOsRow            *tsr_os_row_new          (void);
void                 tsr_os_row_detect       (TsrOsRow   *self,
                                              const char *path);
void                 tsr_os_row_select       (TsrOsRow   *self,
                                              const char *id);
const TsrOsDefaults *tsr_os_row_get_defaults (TsrOsRow   *self);
gboolean             tsr_os_row_get_busy     (TsrOsRow   *self);

G_END_DECLS
