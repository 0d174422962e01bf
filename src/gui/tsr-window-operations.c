/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-clone-window.h"
#include "tsr-import-window.h"
#include "tsr-progress-view.h"
#include "tsr-window-private.h"

/* Clone…, Import… and dropping a file on the window; the clones and imports
 * that run, listed in the header bar's popover until they end, each ending
 * in a toast; the VM they made gets selected once the list has it.
 */

/* How long to wait for a new VM to show up in the list to select it. */
#define SELECT_TIMEOUT_S 30

static gboolean
is_connected (TsrWindow *self)
{
  return self->connection != NULL &&
         tsr_connection_get_state (self->connection) == TSR_CONNECTION_STATE_CONNECTED;
}

/* Selecting what was made */

static void
clear_pending_select (TsrWindow *self)
{
  g_clear_pointer (&self->pending_select, g_free);
  g_clear_handle_id (&self->pending_source, g_source_remove);
}

static gboolean
try_select (TsrWindow *self)
{
  TsrVm *vm;

  if (self->pending_select == NULL || self->connection == NULL)
    return FALSE;

  vm = tsr_connection_lookup_vm (self->connection, self->pending_select);
  if (vm == NULL || !tsr_window_select_vm (self, vm))
    return FALSE;

  clear_pending_select (self);
  return TRUE;
}

static gboolean
tsr_window_pending_timeout_cb (gpointer user_data)
{
  TsrWindow *self = user_data;

  self->pending_source = 0;
  clear_pending_select (self);
  return G_SOURCE_REMOVE;
}

static void
tsr_window_sorted_items_changed_cb (TsrWindow *self)
{
  try_select (self);
}

/* The core defines the VM before it returns, but the list learns of it
 * from libvirt's event, which may come a little later.
 */
static void
select_when_listed (TsrWindow  *self,
                    const char *name)
{
  clear_pending_select (self);
  self->pending_select = g_strdup (name);
  if (!try_select (self))
    self->pending_source = g_timeout_add_seconds (SELECT_TIMEOUT_S,
                                                  tsr_window_pending_timeout_cb, self);
}

/* Operations */

static void
update_operations_button (TsrWindow *self)
{
  gboolean running = g_list_model_get_n_items (G_LIST_MODEL (self->operations)) > 0;

  if (!running)
    gtk_menu_button_popdown (self->operations_button);
  gtk_widget_set_visible (GTK_WIDGET (self->operations_button), running);
  gtk_spinner_set_spinning (self->operations_spinner, running);
}

static void
tsr_window_operation_completed_cb (TsrWindow    *self,
                                   TsrOperation *operation)
{
  const char *result = tsr_operation_get_result (operation);
  guint position;

  if (g_list_store_find (self->operations, operation, &position))
    g_list_store_remove (self->operations, position);
  update_operations_button (self);

  if (result != NULL)
    {
      const char *success = tsr_operation_get_success_title (operation);
      const char *notice = tsr_operation_get_notice (operation);
      g_autofree char *text = NULL;
      g_autofree char *markup = NULL;
      AdwToast *toast;

      if (success == NULL)
        text = g_strdup_printf (_("“%s” is ready"), result);
      else if (notice != NULL)
        text = g_strdup_printf ("%s. %s", success, notice);
      else
        text = g_strdup (success);

      markup = g_markup_escape_text (text, -1);
      toast = adw_toast_new (markup);
      /* A warning, such as a shared MAC address, needs the time to be read. */
      adw_toast_set_timeout (toast, notice != NULL ? 15 : 5);
      if (notice != NULL)
        adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
      adw_toast_overlay_add_toast (self->toast_overlay, toast);

      select_when_listed (self, result);
      return;
    }

  if (tsr_operation_get_reported (operation))
    return;
  tsr_operation_set_reported (operation, TRUE);

  if (tsr_operation_was_cancelled (operation))
    {
      g_autofree char *markup =
        g_markup_printf_escaped (_("%s: cancelled, nothing was left behind"),
                                 tsr_operation_get_title (operation));
      AdwToast *toast = adw_toast_new (markup);

      adw_toast_set_timeout (toast, 5);
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
    }
  else
    {
      const GError *error = tsr_operation_get_error (operation);
      g_autoptr(GError) failed = g_error_new (error->domain, error->code, _("%s failed: %s"),
                                              tsr_operation_get_title (operation),
                                              error->message);

      _tsr_window_add_error_toast (self, failed);
    }
}

/* A dialog started a clone or an import: follow it from now on, since the
 * dialog may be closed long before it ends.
 */
static void
tsr_window_operation_started_cb (TsrWindow    *self,
                                 TsrOperation *operation)
{
  /* Closing the main window stops what it follows, and the core rolls
   * it back.
   */
  tsr_operation_set_parent_cancellable (operation, self->cancellable);
  g_list_store_append (self->operations, operation);
  /* After the dialog's own handler, which may have told the user already. */
  g_signal_connect_object (operation, "completed",
                           G_CALLBACK (tsr_window_operation_completed_cb),
                           self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  update_operations_button (self);
}

/* One clone or import in the list: its title and progress, and a button
 * that cancels it until it is cancelling.
 */
static GtkWidget *
create_operation_row (gpointer item,
                      gpointer user_data)
{
  TsrOperation *operation = item;
  g_autoptr(GtkBuilder) builder = NULL;
  GObject *cancel_button;

  builder = gtk_builder_new_from_resource ("/org/tessera/Tessera/tsr-operation-row.ui");
  cancel_button = gtk_builder_get_object (builder, "cancel_button");

  g_object_bind_property (operation, "title", gtk_builder_get_object (builder, "title_label"),
                          "label", G_BINDING_SYNC_CREATE);
  g_object_bind_property (operation, "cancelling", cancel_button, "sensitive",
                          G_BINDING_SYNC_CREATE | G_BINDING_INVERT_BOOLEAN);
  g_signal_connect_object (cancel_button, "clicked", G_CALLBACK (tsr_operation_cancel),
                           operation, G_CONNECT_SWAPPED);
  tsr_progress_view_set_operation (TSR_PROGRESS_VIEW (gtk_builder_get_object (builder,
                                                                              "progress_view")),
                                   operation);

  /* The builder lets go of it; the list box takes this reference. */
  return g_object_ref (GTK_WIDGET (gtk_builder_get_object (builder, "row")));
}

/* Clone */

static void
tsr_window_vm_clone_cb (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  TsrCloneWindow *dialog;

  if (self->selected_vm == NULL || self->connection == NULL)
    return;

  dialog = tsr_clone_window_new (GTK_WINDOW (self), self->connection, self->selected_vm);
  g_signal_connect_object (dialog, "operation-started",
                           G_CALLBACK (tsr_window_operation_started_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Import */

/**
 * _tsr_window_open_import:
 * @self: a #TsrWindow
 * @file: what to import
 *
 * Opens the import dialog on @file.
 */
void
_tsr_window_open_import (TsrWindow *self,
                         GFile     *file)
{
  TsrImportWindow *dialog;

  g_assert (TSR_IS_WINDOW (self));
  g_assert (G_IS_FILE (file));

  if (self->connection == NULL)
    return;

  dialog = tsr_import_window_new (GTK_WINDOW (self), self->connection, file);
  g_signal_connect_object (dialog, "operation-started",
                           G_CALLBACK (tsr_window_operation_started_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
tsr_window_import_chosen_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(TsrWindow) self = user_data;
  g_autoptr(GFile) file = tsr_import_choose_file_finish (result, NULL);

  if (file != NULL && !g_cancellable_is_cancelled (self->cancellable))
    _tsr_window_open_import (self, file);
}

static void
tsr_window_import_cb (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  tsr_import_choose_file_async (GTK_WINDOW (self), self->cancellable,
                                tsr_window_import_chosen_cb, g_object_ref (self));
}

static gboolean
tsr_window_drop_accept_cb (TsrWindow     *self,
                           GdkDrop       *drop,
                           GtkDropTarget *target)
{
  return is_connected (self) &&
         (gdk_drop_get_actions (drop) & gtk_drop_target_get_actions (target)) != 0 &&
         gdk_content_formats_contain_gtype (gdk_drop_get_formats (drop), G_TYPE_FILE);
}

static gboolean
tsr_window_drop_cb (TsrWindow     *self,
                    const GValue  *value,
                    double         x,
                    double         y,
                    GtkDropTarget *target)
{
  GFile *file;

  if (!G_VALUE_HOLDS (value, G_TYPE_FILE) || !is_connected (self))
    return FALSE;

  file = g_value_get_object (value);
  if (file == NULL)
    return FALSE;

  _tsr_window_open_import (self, file);
  return TRUE;
}

/* Setup */

/**
 * _tsr_window_operations_update:
 * @self: a #TsrWindow
 * @connected: whether the connection is up
 *
 * Enables Clone… and Import… when they can work.
 */
void
_tsr_window_operations_update (TsrWindow *self,
                               gboolean   connected)
{
  GtkWidget *widget = GTK_WIDGET (self);

  g_assert (TSR_IS_WINDOW (self));

  gtk_widget_action_set_enabled (widget, "win.vm-clone", connected && self->selected_vm != NULL);
  gtk_widget_action_set_enabled (widget, "win.import", connected);
}

void
_tsr_window_class_operations_init (TsrWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  g_type_ensure (TSR_TYPE_PROGRESS_VIEW);

  gtk_widget_class_bind_template_child (widget_class, TsrWindow, operations_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, operations_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, operations_list);

  gtk_widget_class_install_action (widget_class, "win.vm-clone", NULL,
                                   tsr_window_vm_clone_cb);
  gtk_widget_class_install_action (widget_class, "win.import", NULL,
                                   tsr_window_import_cb);
}

void
_tsr_window_operations_init (TsrWindow *self)
{
  GtkDropTarget *target;

  g_assert (TSR_IS_WINDOW (self));

  self->operations = g_list_store_new (TSR_TYPE_OPERATION);
  gtk_list_box_bind_model (self->operations_list, G_LIST_MODEL (self->operations),
                           create_operation_row, NULL, NULL);

  g_signal_connect_object (self->stable_model, "items-changed",
                           G_CALLBACK (tsr_window_sorted_items_changed_cb),
                           self, G_CONNECT_SWAPPED);

  /* Dropping an appliance or disk image anywhere on the window imports it. */
  target = gtk_drop_target_new (G_TYPE_FILE, GDK_ACTION_COPY);
  g_signal_connect_object (target, "accept",
                           G_CALLBACK (tsr_window_drop_accept_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (target, "drop",
                           G_CALLBACK (tsr_window_drop_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  update_operations_button (self);
}

void
_tsr_window_operations_dispose (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  clear_pending_select (self);

  if (self->operations != NULL)
    {
      /* Cancelled with the window's cancellable; nobody is left to tell. */
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->operations)); i++)
        {
          g_autoptr(TsrOperation) operation = g_list_model_get_item (G_LIST_MODEL (self->operations), i);

          g_signal_handlers_disconnect_by_data (operation, self);
        }
      if (self->operations_list != NULL)
        gtk_list_box_bind_model (self->operations_list, NULL, NULL, NULL, NULL);
      g_clear_object (&self->operations);
    }
}

/**
 * tsr_window_get_operations:
 * @self: a #TsrWindow
 *
 * Returns: (transfer none): the clones and imports that run, as
 *   #TsrOperation items
 */
GListModel *
tsr_window_get_operations (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return G_LIST_MODEL (self->operations);
}
