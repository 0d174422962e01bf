/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TSR_TYPE_LABEL_CHOOSER (tsr_label_chooser_get_type ())

G_DECLARE_FINAL_TYPE (TsrLabelChooser, tsr_label_chooser, TSR, LABEL_CHOOSER, GtkWidget)

GtkWidget  *tsr_label_chooser_new       (void);
const char *tsr_label_chooser_get_label (TsrLabelChooser *self);
void        tsr_label_chooser_set_label (TsrLabelChooser *self,
                                         const char      *label);
GtkWidget  *tsr_label_chooser_get_button (TsrLabelChooser *self,
                                          const char      *label);

G_END_DECLS
