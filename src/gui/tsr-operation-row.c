/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-operation-row.h"
#include "tsr-progress-view.h"

/* One clone or import in the main window's list of operations. */

struct _TsrOperationRow
{
  GtkListBoxRow    parent_instance;

  GtkLabel        *title_label;
  TsrProgressView *progress_view;
  GtkButton       *cancel_button;

  TsrOperation    *operation;
};

G_DEFINE_FINAL_TYPE (TsrOperationRow, tsr_operation_row, GTK_TYPE_LIST_BOX_ROW)

static void
tsr_operation_row_cancel_clicked_cb (TsrOperationRow *self)
{
  tsr_operation_cancel (self->operation);
}

static void
tsr_operation_row_cancelling_cb (TsrOperationRow *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button),
                            !tsr_operation_get_cancelling (self->operation));
}

static void
tsr_operation_row_dispose (GObject *object)
{
  TsrOperationRow *self = TSR_OPERATION_ROW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_OPERATION_ROW);
  g_clear_object (&self->operation);

  G_OBJECT_CLASS (tsr_operation_row_parent_class)->dispose (object);
}

static void
tsr_operation_row_class_init (TsrOperationRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_operation_row_dispose;

  g_type_ensure (TSR_TYPE_PROGRESS_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-operation-row.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrOperationRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, TsrOperationRow, progress_view);
  gtk_widget_class_bind_template_child (widget_class, TsrOperationRow, cancel_button);
  gtk_widget_class_bind_template_callback (widget_class, tsr_operation_row_cancel_clicked_cb);
}

static void
tsr_operation_row_init (TsrOperationRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * tsr_operation_row_new:
 * @operation: the operation to show
 *
 * Returns: (transfer floating): a row showing @operation, with a button
 *   that cancels it
 */
GtkWidget *
tsr_operation_row_new (TsrOperation *operation)
{
  TsrOperationRow *self;

  g_return_val_if_fail (TSR_IS_OPERATION (operation), NULL);

  self = g_object_new (TSR_TYPE_OPERATION_ROW, NULL);
  self->operation = g_object_ref (operation);
  gtk_label_set_text (self->title_label, tsr_operation_get_title (operation));
  tsr_progress_view_set_operation (self->progress_view, operation);
  g_signal_connect_object (operation, "notify::cancelling",
                           G_CALLBACK (tsr_operation_row_cancelling_cb),
                           self, G_CONNECT_SWAPPED);
  tsr_operation_row_cancelling_cb (self);

  return GTK_WIDGET (self);
}

TsrOperation *
tsr_operation_row_get_operation (TsrOperationRow *self)
{
  g_return_val_if_fail (TSR_IS_OPERATION_ROW (self), NULL);

  return self->operation;
}
