/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tsr-operation.h"

G_BEGIN_DECLS

#define TSR_TYPE_OPERATION_ROW (tsr_operation_row_get_type ())

G_DECLARE_FINAL_TYPE (TsrOperationRow, tsr_operation_row, TSR, OPERATION_ROW, GtkListBoxRow)

GtkWidget    *tsr_operation_row_new           (TsrOperation    *operation);
TsrOperation *tsr_operation_row_get_operation (TsrOperationRow *self);

G_END_DECLS
