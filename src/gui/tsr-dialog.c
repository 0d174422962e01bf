/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-dialog.h"

/* What every Tessera dialog (New VM, Settings, the media picker, Clone and
 * Import) needs from its window: a cancellable for the calls it makes,
 * cancelled when it closes, a parent it lets go of when either of them
 * goes, and the connection's inventory that fills its pool and network
 * rows.
 */

typedef struct
{
  GCancellable           *cancellable;
  TsrDialogInventoryFunc  inventory_ready;
  gboolean                loading;    /* the inventory was asked for, not yet here */
} TsrDialogPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (TsrDialog, tsr_dialog, ADW_TYPE_WINDOW)

/* A closed dialog may live on a little, held by a call in flight, while
 * GTK keeps pointing at its parent without a reference: the dialog lets go
 * of the parent when it closes, or when the parent goes first.
 */
static void
forget_parent (TsrDialog *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));

  if (parent != NULL)
    g_signal_handlers_disconnect_by_func (parent, forget_parent, self);
  gtk_window_set_transient_for (GTK_WINDOW (self), NULL);
}

static gboolean
tsr_dialog_close_request (GtkWindow *window)
{
  TsrDialog *self = TSR_DIALOG (window);
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);

  g_cancellable_cancel (priv->cancellable);

  if (GTK_WINDOW_CLASS (tsr_dialog_parent_class)->close_request (window))
    return TRUE;

  forget_parent (self);
  return FALSE;
}

static void
tsr_dialog_finalize (GObject *object)
{
  TsrDialog *self = TSR_DIALOG (object);
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);

  g_clear_object (&priv->cancellable);

  G_OBJECT_CLASS (tsr_dialog_parent_class)->finalize (object);
}

static void
tsr_dialog_class_init (TsrDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->finalize = tsr_dialog_finalize;
  window_class->close_request = tsr_dialog_close_request;
}

static void
tsr_dialog_init (TsrDialog *self)
{
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);

  priv->cancellable = g_cancellable_new ();
}

/**
 * tsr_dialog_set_parent:
 * @self: a #TsrDialog
 * @parent: (nullable): the window it belongs to
 *
 * Makes @self transient for @parent until one of them goes.
 */
void
tsr_dialog_set_parent (TsrDialog *self,
                       GtkWindow *parent)
{
  g_return_if_fail (TSR_IS_DIALOG (self));
  g_return_if_fail (!parent || GTK_IS_WINDOW (parent));

  forget_parent (self);
  if (parent == NULL)
    return;
  gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  g_signal_connect_object (parent, "destroy", G_CALLBACK (forget_parent),
                           self, G_CONNECT_SWAPPED);
}

/* Cancelled when the dialog closes. */
GCancellable *
tsr_dialog_get_cancellable (TsrDialog *self)
{
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);

  g_return_val_if_fail (TSR_IS_DIALOG (self), NULL);

  return priv->cancellable;
}

static void
tsr_dialog_inventory_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(TsrDialog) self = user_data;
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);
  g_autoptr(TsrInventory) inventory = NULL;
  g_autoptr(GError) error = NULL;

  inventory = tsr_connection_get_inventory_finish (TSR_CONNECTION (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  priv->loading = FALSE;
  priv->inventory_ready (self, inventory, error);
}

/**
 * tsr_dialog_get_inventory:
 * @self: a #TsrDialog, held until the answer
 * @connection: whose networks, pools, volumes and drives
 * @ready: called with the answer unless the dialog closed meanwhile
 *
 * Lists what @connection offers; tsr_dialog_get_loading() says whether the
 * answer is still to come.
 */
void
tsr_dialog_get_inventory (TsrDialog              *self,
                          TsrConnection          *connection,
                          TsrDialogInventoryFunc  ready)
{
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);

  g_return_if_fail (TSR_IS_DIALOG (self));
  g_return_if_fail (TSR_IS_CONNECTION (connection));
  g_return_if_fail (ready != NULL);

  priv->inventory_ready = ready;
  priv->loading = TRUE;
  tsr_connection_get_inventory_async (connection, priv->cancellable,
                                      tsr_dialog_inventory_cb, g_object_ref (self));
}

/* Still listing the connection's networks and pools. */
gboolean
tsr_dialog_get_loading (TsrDialog *self)
{
  TsrDialogPrivate *priv = tsr_dialog_get_instance_private (self);

  g_return_val_if_fail (TSR_IS_DIALOG (self), FALSE);

  return priv->loading;
}
