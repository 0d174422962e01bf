/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-dialog.h"
#include "tsr-operation.h"
#include "tsr-progress-view.h"

G_BEGIN_DECLS

#define TSR_TYPE_OPERATION_WINDOW (tsr_operation_window_get_type ())

G_DECLARE_DERIVABLE_TYPE (TsrOperationWindow, tsr_operation_window, TSR, OPERATION_WINDOW, TsrDialog)

struct _TsrOperationWindowClass
{
  TsrDialogClass parent_class;

  /* Shows the progress page (TRUE) or the form again (FALSE). */
  void (*set_busy) (TsrOperationWindow *self,
                    gboolean            busy);
  /* The operation failed, other than by a cancel; the form is back. */
  void (*failed)   (TsrOperationWindow *self,
                    const GError       *error);

  /*< private >*/
  const char *start_button;   /* set by tsr_operation_window_class_bind_parts() */
  const char *busy_tooltip;
};

void          tsr_operation_window_class_bind_parts (TsrOperationWindowClass *klass,
                                                     const char              *start_button,
                                                     const char              *busy_tooltip);
TsrOperation *tsr_operation_window_get_operation   (TsrOperationWindow *self);
TsrOperation *tsr_operation_window_start           (TsrOperationWindow *self,
                                                    const char         *title,
                                                    const char         *success_title,
                                                    const char         *heading);
void          tsr_operation_window_add_toast       (TsrOperationWindow *self,
                                                    const char         *text,
                                                    guint               timeout);
void          tsr_operation_window_dismiss_toast   (TsrOperationWindow *self);

G_END_DECLS
