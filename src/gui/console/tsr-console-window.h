/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-serial-view.h"
#include "tsr-vnc-view.h"

G_BEGIN_DECLS

#define TSR_TYPE_CONSOLE_WINDOW (tsr_console_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrConsoleWindow, tsr_console_window, TSR, CONSOLE_WINDOW, AdwApplicationWindow)

TsrConsoleWindow *tsr_console_window_present          (GtkApplication    *application,
                                                       TsrConnection     *connection,
                                                       const char        *vm_name);
TsrConnection    *tsr_console_window_get_connection   (TsrConsoleWindow  *self);
const char       *tsr_console_window_get_vm_name      (TsrConsoleWindow  *self);
TsrVncView       *tsr_console_window_get_vnc_view     (TsrConsoleWindow  *self);
TsrSerialView    *tsr_console_window_get_serial_view  (TsrConsoleWindow  *self);
const char       *tsr_console_window_get_status       (TsrConsoleWindow  *self);
const char       *tsr_console_window_get_scale        (TsrConsoleWindow  *self);
void              tsr_console_window_set_scale        (TsrConsoleWindow  *self,
                                                       const char        *scale);
void              tsr_console_window_save_screenshot_async  (TsrConsoleWindow    *self,
                                                             GFile               *file,
                                                             GCancellable        *cancellable,
                                                             GAsyncReadyCallback  callback,
                                                             gpointer             user_data);
gboolean          tsr_console_window_save_screenshot_finish (TsrConsoleWindow  *self,
                                                             GAsyncResult      *result,
                                                             GError           **error);

G_END_DECLS
