/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-dialog.h"

G_BEGIN_DECLS

#define TSR_TYPE_NEW_VM_WINDOW (tsr_new_vm_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrNewVmWindow, tsr_new_vm_window, TSR, NEW_VM_WINDOW, TsrDialog)

TsrNewVmWindow *tsr_new_vm_window_new               (GtkWindow      *parent,
                                                     TsrConnection  *connection);
TsrConnection  *tsr_new_vm_window_get_connection    (TsrNewVmWindow *self);
gboolean        tsr_new_vm_window_get_open_settings (TsrNewVmWindow *self);
gboolean        tsr_new_vm_window_get_started       (TsrNewVmWindow *self);
const char     *tsr_new_vm_window_get_media         (TsrNewVmWindow *self);
void            tsr_new_vm_window_set_media         (TsrNewVmWindow *self,
                                                     const char     *media);
const char     *tsr_new_vm_window_get_notice        (TsrNewVmWindow *self);
gboolean        tsr_new_vm_window_get_busy          (TsrNewVmWindow *self);

const char     *tsr_new_vm_window_get_drivers_media (TsrNewVmWindow *self);
gboolean        tsr_new_vm_window_preset_template   (TsrNewVmWindow *self,
                                                     TsrVm          *template_vm);

G_END_DECLS
