/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* Pieces the dialogs share (tsr-gui-util.c). */

void     tsr_gui_show_field_message (GtkLabel        *label,
                                     GtkWidget       *row,
                                     const char      *message);
gboolean tsr_gui_show_name_error    (GtkLabel        *label,
                                     GtkWidget       *row,
                                     const GError    *error);
void     tsr_gui_show_error         (GtkWindow       *parent,
                                     const char      *heading,
                                     const char      *body);

void     tsr_gui_add_toast          (AdwToastOverlay *overlay,
                                     AdwToast       **last,
                                     const char      *text,
                                     guint            timeout);
void     tsr_gui_dismiss_toast      (AdwToast       **last);

/* Starting and stopping a VM, as one call for the window's and the clone
 * dialog's actions.
 */
typedef enum
{
  TSR_GUI_LIFECYCLE_START,
  TSR_GUI_LIFECYCLE_SHUTDOWN,
  TSR_GUI_LIFECYCLE_FORCE_OFF,
  TSR_GUI_LIFECYCLE_PAUSE,
  TSR_GUI_LIFECYCLE_RESUME,
} TsrGuiLifecycle;

void     tsr_gui_lifecycle_async  (TsrConnection        *connection,
                                   TsrVm                *vm,
                                   TsrGuiLifecycle       step,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
gboolean tsr_gui_lifecycle_finish (TsrConnection        *connection,
                                   GAsyncResult         *result,
                                   GError              **error);

/* A property read through its type's getter and written through its
 * setter, which notifies only when the value changed (STYLE.md); @set is
 * %NULL for a read-only one. The getter and setter take the instance and a
 * gboolean, double, string or object, as the property's type says.
 */
typedef struct
{
  GCallback get;
  GCallback set;
} TsrGuiProperty;

#define TSR_GUI_PROPERTY(getter, setter) { G_CALLBACK (getter), G_CALLBACK (setter) }
#define TSR_GUI_PROPERTY_READ_ONLY(getter) { G_CALLBACK (getter), NULL }

void     tsr_gui_install_properties (GObjectClass          *object_class,
                                     guint                  n_pspecs,
                                     GParamSpec           **pspecs,
                                     const TsrGuiProperty  *accessors);

G_END_DECLS
