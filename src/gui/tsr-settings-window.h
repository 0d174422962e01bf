/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-dialog.h"

G_BEGIN_DECLS

#define TSR_TYPE_SETTINGS_WINDOW (tsr_settings_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrSettingsWindow, tsr_settings_window, TSR, SETTINGS_WINDOW, TsrDialog)

TsrSettingsWindow *tsr_settings_window_new          (GtkWindow         *parent,
                                                     TsrConnection     *connection,
                                                     TsrVm             *vm);
TsrVm             *tsr_settings_window_get_vm       (TsrSettingsWindow *self);
void               tsr_settings_window_set_page     (TsrSettingsWindow *self,
                                                     const char        *page);
gboolean           tsr_settings_window_get_loading  (TsrSettingsWindow *self);
gboolean           tsr_settings_window_get_busy     (TsrSettingsWindow *self);
GHashTable        *tsr_settings_window_dup_changes  (TsrSettingsWindow *self);
const char        *tsr_settings_window_get_note     (TsrSettingsWindow *self);

G_END_DECLS
