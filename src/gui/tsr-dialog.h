/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TSR_TYPE_DIALOG (tsr_dialog_get_type ())

G_DECLARE_DERIVABLE_TYPE (TsrDialog, tsr_dialog, TSR, DIALOG, AdwWindow)

struct _TsrDialogClass
{
  AdwWindowClass parent_class;
};

void          tsr_dialog_set_parent      (TsrDialog *self,
                                          GtkWindow *parent);
GCancellable *tsr_dialog_get_cancellable (TsrDialog *self);

G_END_DECLS
