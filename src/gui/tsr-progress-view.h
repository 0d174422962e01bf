/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tsr-operation.h"

G_BEGIN_DECLS

#define TSR_TYPE_PROGRESS_VIEW (tsr_progress_view_get_type ())

G_DECLARE_FINAL_TYPE (TsrProgressView, tsr_progress_view, TSR, PROGRESS_VIEW, GtkWidget)

GtkWidget    *tsr_progress_view_new           (void);
TsrOperation *tsr_progress_view_get_operation (TsrProgressView *self);
void          tsr_progress_view_set_operation (TsrProgressView *self,
                                               TsrOperation    *operation);
gboolean      tsr_progress_view_get_centered  (TsrProgressView *self);
void          tsr_progress_view_set_centered  (TsrProgressView *self,
                                               gboolean         centered);

G_END_DECLS
