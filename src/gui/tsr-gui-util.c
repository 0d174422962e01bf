/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-gui-util.h"

/**
 * tsr_gui_show_field_message:
 * @label: the label under the group of the row
 * @row: (nullable): the row that is wrong, marked while @message is shown
 * @message: (nullable): the reason, or %NULL once the field is right
 */
void
tsr_gui_show_field_message (GtkLabel   *label,
                            GtkWidget  *row,
                            const char *message)
{
  g_return_if_fail (GTK_IS_LABEL (label));

  gtk_label_set_text (label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
  if (row == NULL)
    return;
  if (message != NULL)
    gtk_widget_add_css_class (row, "error");
  else
    gtk_widget_remove_css_class (row, "error");
}

/**
 * tsr_gui_add_toast:
 * @overlay: where to show it
 * @last: (inout) (nullable): the dialog's last toast, replaced by this one
 * @text: plain text, such as an error message
 * @timeout: seconds, 0 to stay until dismissed
 */
void
tsr_gui_add_toast (AdwToastOverlay  *overlay,
                   AdwToast        **last,
                   const char       *text,
                   guint             timeout)
{
  g_autofree char *markup = NULL;
  AdwToast *toast;

  g_return_if_fail (ADW_IS_TOAST_OVERLAY (overlay));
  g_return_if_fail (text != NULL);

  markup = g_markup_escape_text (text, -1);
  toast = adw_toast_new (markup);
  adw_toast_set_timeout (toast, timeout);
  if (last != NULL)
    g_set_object (last, toast);
  adw_toast_overlay_add_toast (overlay, toast);
}

/* What a dialog said about the last try is stale once the next one starts. */
void
tsr_gui_dismiss_toast (AdwToast **last)
{
  g_return_if_fail (last != NULL);

  if (*last != NULL)
    adw_toast_dismiss (*last);
  g_clear_object (last);
}

/* A closed dialog may live on a little, held by a call in flight, while
 * GTK keeps pointing at its parent without a reference: the dialog lets go
 * of the parent when it closes, or when the parent goes first.
 */
static void
tsr_gui_parent_destroyed_cb (GtkWindow *dialog)
{
  tsr_gui_dialog_forget_parent (dialog);
}

/**
 * tsr_gui_dialog_set_parent:
 * @dialog: a dialog
 * @parent: (nullable): the window it belongs to
 *
 * Makes @dialog transient for @parent until one of them goes; call
 * tsr_gui_dialog_forget_parent() when @dialog closes.
 */
void
tsr_gui_dialog_set_parent (GtkWindow *dialog,
                           GtkWindow *parent)
{
  g_return_if_fail (GTK_IS_WINDOW (dialog));
  g_return_if_fail (!parent || GTK_IS_WINDOW (parent));

  tsr_gui_dialog_forget_parent (dialog);
  if (parent == NULL)
    return;
  gtk_window_set_transient_for (dialog, parent);
  g_signal_connect_object (parent, "destroy", G_CALLBACK (tsr_gui_parent_destroyed_cb),
                           dialog, G_CONNECT_SWAPPED);
}

void
tsr_gui_dialog_forget_parent (GtkWindow *dialog)
{
  GtkWindow *parent;

  g_return_if_fail (GTK_IS_WINDOW (dialog));

  parent = gtk_window_get_transient_for (dialog);
  if (parent != NULL)
    g_signal_handlers_disconnect_by_func (parent, tsr_gui_parent_destroyed_cb, dialog);
  gtk_window_set_transient_for (dialog, NULL);
}

typedef struct
{
  GObject               *owner;
  TsrInventoryReadyFunc  ready;
} InventoryCall;

static void
tsr_gui_inventory_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  InventoryCall *call = user_data;
  g_autoptr(TsrInventory) inventory = NULL;
  g_autoptr(GError) error = NULL;

  inventory = tsr_connection_get_inventory_finish (TSR_CONNECTION (object), result, &error);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    call->ready (call->owner, inventory, error);

  g_object_unref (call->owner);
  g_free (call);
}

/**
 * tsr_gui_get_inventory:
 * @owner: the dialog that asks, held until the answer
 * @connection: whose networks, pools, volumes and drives
 * @cancellable: (nullable): the dialog's, cancelled when it closes
 * @ready: called with the answer unless cancelled
 */
void
tsr_gui_get_inventory (gpointer               owner,
                       TsrConnection         *connection,
                       GCancellable          *cancellable,
                       TsrInventoryReadyFunc  ready)
{
  InventoryCall *call;

  g_return_if_fail (G_IS_OBJECT (owner));
  g_return_if_fail (TSR_IS_CONNECTION (connection));
  g_return_if_fail (ready != NULL);

  call = g_new0 (InventoryCall, 1);
  call->owner = g_object_ref (owner);
  call->ready = ready;
  tsr_connection_get_inventory_async (connection, cancellable, tsr_gui_inventory_cb, call);
}
