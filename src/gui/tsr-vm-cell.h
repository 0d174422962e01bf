/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tsr-connection.h"
#include "tsr-vm.h"

G_BEGIN_DECLS

#define TSR_TYPE_VM_CELL (tsr_vm_cell_get_type ())

G_DECLARE_FINAL_TYPE (TsrVmCell, tsr_vm_cell, TSR, VM_CELL, GtkWidget)

GtkWidget  *tsr_vm_cell_new              (const char *field);
TsrVm      *tsr_vm_cell_get_vm           (TsrVmCell  *self);
void        tsr_vm_cell_set_vm           (TsrVmCell  *self,
                                          TsrVm      *vm);
const char *tsr_vm_cell_get_field        (TsrVmCell  *self);
void        tsr_vm_cell_set_field        (TsrVmCell  *self,
                                          const char *field);
const char *tsr_vm_cell_get_text         (TsrVmCell  *self);
char       *tsr_vm_cell_dup_tooltip_text (TsrVmCell  *self);
void        tsr_vm_cell_set_connection   (TsrVmCell     *self,
                                          TsrConnection *connection);
gboolean    tsr_vm_cell_get_outdated     (TsrVmCell  *self);
GtkWidget  *tsr_vm_cell_get_badge        (TsrVmCell  *self);

gboolean    tsr_vm_field_is_valid        (const char *field);
const char *tsr_vm_field_get_copy_label  (const char *field);
char       *tsr_vm_dup_field_value       (TsrVm      *vm,
                                          const char *field);

G_END_DECLS
