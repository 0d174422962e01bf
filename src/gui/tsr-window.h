/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

#define TSR_TYPE_WINDOW (tsr_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrWindow, tsr_window, TSR, WINDOW, AdwApplicationWindow)

TsrWindow     *tsr_window_new             (GtkApplication *application,
                                           const char     *uri);
const char    *tsr_window_get_uri         (TsrWindow      *self);
TsrConnection *tsr_window_get_connection  (TsrWindow      *self);
TsrVm         *tsr_window_get_selected_vm (TsrWindow      *self);
gboolean       tsr_window_select_vm       (TsrWindow      *self,
                                           TsrVm          *vm);
void           tsr_window_popup_vm_menu   (TsrWindow      *self,
                                           const char     *field);
GListModel    *tsr_window_get_operations  (TsrWindow      *self);

G_END_DECLS
