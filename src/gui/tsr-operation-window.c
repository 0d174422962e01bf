/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-operation-window.h"

/* What Clone and Import have in common: a form, then a long TsrOperation
 * that the main window follows too, so that the dialog may be hidden while
 * it runs. Cancel (operation.cancel) stops the operation, or closes the
 * form; Hide (operation.hide) closes the dialog and leaves the operation
 * running. A failure brings the form back for another try; success closes
 * the dialog.
 */

typedef struct
{
  AdwToastOverlay *toast_overlay;   /* the subclass's template children */
  AdwStatusPage   *progress_page;
  TsrProgressView *progress_view;

  TsrOperation    *operation;       /* the one this window started, while it runs */
  AdwToast        *toast;           /* the last one shown */
} TsrOperationWindowPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (TsrOperationWindow, tsr_operation_window, TSR_TYPE_DIALOG)

enum {
  OPERATION_STARTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_actions (TsrOperationWindow *self)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "operation.cancel",
                                 priv->operation == NULL ||
                                 !tsr_operation_get_cancelling (priv->operation));
}

static void
let_go_of_operation (TsrOperationWindow *self)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  if (priv->operation != NULL)
    g_signal_handlers_disconnect_by_data (priv->operation, self);
  g_clear_object (&priv->operation);
}

static void
tsr_operation_window_cancelling_notify_cb (TsrOperationWindow *self)
{
  update_actions (self);
}

/* The dialog reports what it sees; once hidden, the main window does. */
static void
tsr_operation_window_completed_cb (TsrOperationWindow *self,
                                   TsrOperation       *operation)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);
  g_autoptr(TsrOperation) done = NULL;

  if (operation != priv->operation)
    return;

  done = g_object_ref (operation);
  let_go_of_operation (self);
  update_actions (self);

  if (!gtk_widget_get_visible (GTK_WIDGET (self)))
    return;

  if (tsr_operation_get_result (done) != NULL)
    {
      gtk_window_close (GTK_WINDOW (self));
      return;
    }

  tsr_operation_set_reported (done, TRUE);
  tsr_progress_view_set_operation (priv->progress_view, NULL);
  TSR_OPERATION_WINDOW_GET_CLASS (self)->set_busy (self, FALSE);

  if (tsr_operation_was_cancelled (done))
    tsr_operation_window_add_toast (self, _("Cancelled: nothing was left behind"), 5);
  else
    TSR_OPERATION_WINDOW_GET_CLASS (self)->failed (self, tsr_operation_get_error (done));
}

static void
tsr_operation_window_cancel_cb (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *param)
{
  TsrOperationWindow *self = TSR_OPERATION_WINDOW (widget);
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  /* While it runs, Cancel stops it and the core removes what it made; the
   * form comes back for another try.
   */
  if (priv->operation != NULL)
    {
      tsr_operation_cancel (priv->operation);
      return;
    }

  gtk_window_close (GTK_WINDOW (self));
}

static void
tsr_operation_window_hide_cb (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *param)
{
  gtk_window_close (GTK_WINDOW (widget));
}

static gboolean
tsr_operation_window_close_request (GtkWindow *window)
{
  /* The operation itself goes on: the main window follows it. */
  let_go_of_operation (TSR_OPERATION_WINDOW (window));

  return GTK_WINDOW_CLASS (tsr_operation_window_parent_class)->close_request (window);
}

static void
tsr_operation_window_dispose (GObject *object)
{
  TsrOperationWindow *self = TSR_OPERATION_WINDOW (object);
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  let_go_of_operation (self);
  g_clear_object (&priv->toast);
  priv->toast_overlay = NULL;
  priv->progress_page = NULL;
  priv->progress_view = NULL;

  G_OBJECT_CLASS (tsr_operation_window_parent_class)->dispose (object);
}

static void
tsr_operation_window_class_init (TsrOperationWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tsr_operation_window_dispose;
  window_class->close_request = tsr_operation_window_close_request;

  /**
   * TsrOperationWindow::operation-started:
   * @self: the dialog
   * @operation: the operation, which may outlive the dialog
   *
   * Emitted when the operation starts, before the core does.
   */
  signals[OPERATION_STARTED] =
    g_signal_new ("operation-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TSR_TYPE_OPERATION);

  gtk_widget_class_install_action (widget_class, "operation.cancel", NULL,
                                   tsr_operation_window_cancel_cb);
  gtk_widget_class_install_action (widget_class, "operation.hide", NULL,
                                   tsr_operation_window_hide_cb);

  /* Escape closes: before the operation that is Cancel, during it Hide. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tsr_operation_window_init (TsrOperationWindow *self)
{
}

/* The subclass's template children that show toasts and the progress. */
void
tsr_operation_window_set_parts (TsrOperationWindow *self,
                                AdwToastOverlay    *toast_overlay,
                                AdwStatusPage      *progress_page,
                                TsrProgressView    *progress_view)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  g_return_if_fail (TSR_IS_OPERATION_WINDOW (self));

  priv->toast_overlay = toast_overlay;
  priv->progress_page = progress_page;
  priv->progress_view = progress_view;
}

/**
 * tsr_operation_window_get_operation:
 * @self: a #TsrOperationWindow
 *
 * Returns: (nullable) (transfer none): the operation this dialog started
 *   and shows, while it runs
 */
TsrOperation *
tsr_operation_window_get_operation (TsrOperationWindow *self)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  g_return_val_if_fail (TSR_IS_OPERATION_WINDOW (self), NULL);

  return priv->operation;
}

/**
 * tsr_operation_window_start:
 * @self: a #TsrOperationWindow
 * @title: the operation's title, as the main window lists it
 * @success_title: what the main window says once it succeeded
 * @heading: the progress page's title
 *
 * Makes the operation, about to be handed to the core, shows its progress
 * and hands it to the main window through
 * #TsrOperationWindow::operation-started.
 *
 * Returns: (transfer none): the operation
 */
TsrOperation *
tsr_operation_window_start (TsrOperationWindow *self,
                            const char         *title,
                            const char         *success_title,
                            const char         *heading)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);
  TsrOperation *operation;

  g_return_val_if_fail (TSR_IS_OPERATION_WINDOW (self), NULL);
  g_return_val_if_fail (priv->operation == NULL, NULL);

  operation = priv->operation = tsr_operation_new (title, TRUE);
  tsr_operation_set_success_title (operation, success_title);
  g_signal_connect_object (operation, "completed",
                           G_CALLBACK (tsr_operation_window_completed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (operation, "notify::cancelling",
                           G_CALLBACK (tsr_operation_window_cancelling_notify_cb),
                           self, G_CONNECT_SWAPPED);

  adw_status_page_set_title (priv->progress_page, heading);
  tsr_progress_view_set_operation (priv->progress_view, operation);
  tsr_operation_report_at (operation, 0, 0, _("Starting"), g_get_monotonic_time ());
  tsr_operation_window_dismiss_toast (self);
  TSR_OPERATION_WINDOW_GET_CLASS (self)->set_busy (self, TRUE);
  update_actions (self);

  /* The main window follows it from now on, even once this one is gone. */
  g_signal_emit (self, signals[OPERATION_STARTED], 0, operation);
  return operation;
}

void
tsr_operation_window_add_toast (TsrOperationWindow *self,
                                const char         *text,
                                guint               timeout)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  g_return_if_fail (TSR_IS_OPERATION_WINDOW (self));

  tsr_gui_add_toast (priv->toast_overlay, &priv->toast, text, timeout);
}

/* What it said about the last try is stale once the next one starts. */
void
tsr_operation_window_dismiss_toast (TsrOperationWindow *self)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  g_return_if_fail (TSR_IS_OPERATION_WINDOW (self));

  tsr_gui_dismiss_toast (&priv->toast);
}
