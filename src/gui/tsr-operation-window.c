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

/* The subclass's template children, by their ids there. */
static const char * const part_ids[] = {
  "toast_overlay", "cancel_button", "hide_button", "progress_page", "progress_view",
};

typedef struct
{
  AdwToastOverlay *toast_overlay;   /* the subclass's template children */
  GtkWidget       *cancel_button;
  GtkWidget       *hide_button;
  AdwStatusPage   *progress_page;
  TsrProgressView *progress_view;
  GtkWidget       *start_button;

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

/* Cancel stops what runs; Hide, the default then, leaves it running. */
static void
set_busy (TsrOperationWindow *self,
          gboolean            busy)
{
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);
  TsrOperationWindowClass *klass = TSR_OPERATION_WINDOW_GET_CLASS (self);

  gtk_widget_set_visible (priv->start_button, !busy);
  gtk_widget_set_visible (priv->hide_button, busy);
  gtk_widget_set_tooltip_text (priv->cancel_button, busy ? klass->busy_tooltip : NULL);
  gtk_window_set_default_widget (GTK_WINDOW (self),
                                 busy ? priv->hide_button : priv->start_button);
  klass->set_busy (self, busy);
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
  set_busy (self, FALSE);

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
tsr_operation_window_constructed (GObject *object)
{
  TsrOperationWindow *self = TSR_OPERATION_WINDOW (object);
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);
  GtkWidget *widget = GTK_WIDGET (self);
  GType type = G_OBJECT_TYPE (self);

  G_OBJECT_CLASS (tsr_operation_window_parent_class)->constructed (object);

  priv->toast_overlay = ADW_TOAST_OVERLAY (gtk_widget_get_template_child (widget, type,
                                                                          "toast_overlay"));
  priv->cancel_button = GTK_WIDGET (gtk_widget_get_template_child (widget, type, "cancel_button"));
  priv->hide_button = GTK_WIDGET (gtk_widget_get_template_child (widget, type, "hide_button"));
  priv->progress_page = ADW_STATUS_PAGE (gtk_widget_get_template_child (widget, type,
                                                                        "progress_page"));
  priv->progress_view = TSR_PROGRESS_VIEW (gtk_widget_get_template_child (widget, type,
                                                                          "progress_view"));
  priv->start_button = GTK_WIDGET (gtk_widget_get_template_child (
    widget, type, TSR_OPERATION_WINDOW_GET_CLASS (self)->start_button));

  gtk_window_set_default_widget (GTK_WINDOW (self), priv->start_button);
}

static void
tsr_operation_window_dispose (GObject *object)
{
  TsrOperationWindow *self = TSR_OPERATION_WINDOW (object);
  TsrOperationWindowPrivate *priv = tsr_operation_window_get_instance_private (self);

  let_go_of_operation (self);
  g_clear_object (&priv->toast);
  priv->toast_overlay = NULL;
  priv->cancel_button = NULL;
  priv->hide_button = NULL;
  priv->progress_page = NULL;
  priv->progress_view = NULL;
  priv->start_button = NULL;

  G_OBJECT_CLASS (tsr_operation_window_parent_class)->dispose (object);
}

static void
tsr_operation_window_class_init (TsrOperationWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = tsr_operation_window_constructed;
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

/**
 * tsr_operation_window_class_bind_parts:
 * @klass: the subclass, once its template is set
 * @start_button: the id of the button that starts the operation, which the
 *   subclass binds itself
 * @busy_tooltip: what Cancel does while the operation runs
 *
 * Binds the children every operation dialog's template has, by id:
 * toast_overlay, cancel_button, hide_button, progress_page and
 * progress_view.
 */
void
tsr_operation_window_class_bind_parts (TsrOperationWindowClass *klass,
                                       const char              *start_button,
                                       const char              *busy_tooltip)
{
  g_return_if_fail (TSR_IS_OPERATION_WINDOW_CLASS (klass));

  klass->start_button = start_button;
  klass->busy_tooltip = busy_tooltip;
  /* Offset 0: kept in the private struct, looked up in constructed(). */
  for (guint i = 0; i < G_N_ELEMENTS (part_ids); i++)
    gtk_widget_class_bind_template_child_full (GTK_WIDGET_CLASS (klass), part_ids[i], FALSE, 0);
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
  set_busy (self, TRUE);
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
