/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-cloner.h"
#include "tsr-clone-window.h"
#include "tsr-error.h"
#include "tsr-gui-util.h"
#include "tsr-operation-window.h"
#include "tsr-pool-row.h"

/* Right-click → Clone…: the name (checked as the user types), full or
 * linked, keep the MAC, the pool; a source that runs is offered a shutdown
 * first. Clone starts a TsrOperation that the main window also follows
 * (TsrOperationWindow), so this window may be hidden while the disks are
 * copied.
 */

/* How long a guest may take to react to a shutdown request before the
 * dialog offers to force it off.
 */
#define FORCE_OFF_AFTER_S 20

struct _TsrCloneWindow
{
  TsrOperationWindow   parent_instance;

  /* Template children */
  AdwWindowTitle      *window_title;
  GtkButton           *clone_button;
  GtkStack            *stack;
  AdwPreferencesGroup *running_group;
  AdwActionRow        *running_row;
  GtkSpinner          *running_spinner;
  GtkButton           *shutdown_button;
  AdwEntryRow         *name_row;
  GtkLabel            *name_error;
  GtkCheckButton      *full_check;
  GtkCheckButton      *linked_check;
  TsrPoolRow          *pool_row;
  AdwActionRow        *keep_mac_row;
  GtkSwitch           *keep_mac_switch;
  GtkLabel            *keep_mac_warning;

  /* State */
  TsrConnection       *connection;
  TsrVm               *source;
  guint                force_source;
  gboolean             shutting_down;
  gboolean             offer_force;
};

G_DEFINE_FINAL_TYPE (TsrCloneWindow, tsr_clone_window, TSR_TYPE_OPERATION_WINDOW)

#define OPERATION_WINDOW(self) TSR_OPERATION_WINDOW (self)
#define CANCELLABLE(self)      tsr_dialog_get_cancellable (TSR_DIALOG (self))

/* Checking */

static void
update_running (TsrCloneWindow *self,
                gboolean        running)
{
  const char *name = tsr_vm_get_name (self->source);
  g_autofree char *title = NULL;
  const char *subtitle;

  gtk_widget_set_visible (GTK_WIDGET (self->running_group), running);
  if (!running)
    return;

  if (tsr_vm_get_state (self->source) == TSR_VM_STATE_RUNNING)
    title = g_strdup_printf (_("“%s” is running"), name);
  else
    title = g_strdup_printf (_("“%s” is not shut off: %s"), name,
                             tsr_vm_get_state_text (self->source));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->running_row), title);

  if (self->offer_force)
    subtitle = _("It has not stopped yet. If its system does not respond, force it off: like "
                 "pulling the plug, this loses what it has not saved.");
  else if (self->shutting_down)
    subtitle = _("Shutting down… Clone becomes available once it has stopped.");
  else
    subtitle = _("A VM is cloned while it is shut down, so that its disks do not change "
                 "while they are copied.");
  adw_action_row_set_subtitle (self->running_row, subtitle);

  gtk_widget_set_visible (GTK_WIDGET (self->running_spinner), self->shutting_down);
  gtk_spinner_set_spinning (self->running_spinner, self->shutting_down);
  gtk_widget_set_visible (GTK_WIDGET (self->shutdown_button),
                          !self->shutting_down || self->offer_force);
  if (self->offer_force)
    {
      gtk_button_set_label (self->shutdown_button, _("_Force Off"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->shutdown_button), "clone.force-off");
      gtk_widget_add_css_class (GTK_WIDGET (self->shutdown_button), "destructive-action");
    }
  else
    {
      gtk_button_set_label (self->shutdown_button, _("_Shut Down"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->shutdown_button), "clone.shutdown");
      gtk_widget_remove_css_class (GTK_WIDGET (self->shutdown_button), "destructive-action");
    }
}

static void
update_keep_mac (TsrCloneWindow *self)
{
  const char *mac = tsr_vm_get_mac (self->source);

  if (mac == NULL)
    {
      g_autofree char *subtitle = g_strdup_printf (_("“%s” has no network card"),
                                                   tsr_vm_get_name (self->source));

      gtk_switch_set_active (self->keep_mac_switch, FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->keep_mac_row), FALSE);
      adw_action_row_set_subtitle (self->keep_mac_row, subtitle);
      gtk_widget_set_visible (GTK_WIDGET (self->keep_mac_warning), FALSE);
      return;
    }

  gtk_widget_set_sensitive (GTK_WIDGET (self->keep_mac_row), TRUE);
  adw_action_row_set_subtitle (self->keep_mac_row,
                               _("Otherwise the clone gets a new MAC address and its own IP "
                                 "address"));
  if (gtk_switch_get_active (self->keep_mac_switch))
    {
      g_autofree char *warning =
        g_strdup_printf (_("Both VMs will have MAC address %s, and with it the same IP address: "
                           "do not run them at the same time on the same network."), mac);

      gtk_label_set_text (self->keep_mac_warning, warning);
      gtk_widget_set_visible (GTK_WIDGET (self->keep_mac_warning), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->keep_mac_warning), FALSE);
}

static void
tsr_clone_window_update (TsrCloneWindow *self)
{
  g_autoptr(GError) error = NULL;
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  gboolean running = tsr_vm_is_active (self->source);
  gboolean busy = tsr_operation_window_get_operation (OPERATION_WINDOW (self)) != NULL;
  gboolean valid;

  /* The rules and the names in use, from the list: no libvirt call. */
  valid = tsr_connection_check_clone_name (self->connection, name, &error);
  tsr_gui_show_field_message (self->name_error, GTK_WIDGET (self->name_row), error ? error->message : NULL);

  if (!running)
    {
      self->shutting_down = FALSE;
      self->offer_force = FALSE;
      g_clear_handle_id (&self->force_source, g_source_remove);
    }
  update_running (self, running);
  update_keep_mac (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "clone.clone", valid && !running && !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "clone.shutdown",
                                 running && !self->shutting_down && !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "clone.force-off",
                                 running && self->offer_force && !busy);
}

static void
tsr_clone_window_name_changed_cb (TsrCloneWindow *self)
{
  tsr_clone_window_update (self);
}

static void
tsr_clone_window_field_changed_cb (TsrCloneWindow *self)
{
  tsr_clone_window_update (self);
}

static void
tsr_clone_window_source_notify_cb (TsrCloneWindow *self)
{
  tsr_clone_window_update (self);
}

/* Pools */

static void
tsr_clone_window_inventory_ready (gpointer      owner,
                                  TsrInventory *inventory,
                                  const GError *error)
{
  TsrCloneWindow *self = owner;

  /* The source's pools still work; say why there is no other. */
  if (inventory == NULL)
    tsr_choice_row_set_error (TSR_CHOICE_ROW (self->pool_row), error->message);
  else
    tsr_pool_row_set_pools (self->pool_row, (const char * const *) inventory->pools);
}

/* Shutting the source down */

static gboolean
tsr_clone_window_force_timeout_cb (gpointer user_data)
{
  TsrCloneWindow *self = user_data;

  self->force_source = 0;
  self->offer_force = TRUE;
  tsr_clone_window_update (self);
  return G_SOURCE_REMOVE;
}

static void
tsr_clone_window_lifecycle_done_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(TsrCloneWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (tsr_gui_lifecycle_finish (TSR_CONNECTION (object), result, &error) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* The VM's state event ends the wait; without it nothing is coming. */
  self->shutting_down = FALSE;
  self->offer_force = FALSE;
  g_clear_handle_id (&self->force_source, g_source_remove);
  tsr_operation_window_add_toast (OPERATION_WINDOW (self), error->message, 10);
  tsr_clone_window_update (self);
}

static void
tsr_clone_window_shutdown_cb (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *param)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (widget);

  if (self->shutting_down || !tsr_vm_is_active (self->source))
    return;

  self->shutting_down = TRUE;
  self->offer_force = FALSE;
  g_clear_handle_id (&self->force_source, g_source_remove);
  self->force_source = g_timeout_add_seconds (FORCE_OFF_AFTER_S,
                                              tsr_clone_window_force_timeout_cb, self);
  tsr_clone_window_update (self);

  tsr_connection_shutdown_vm_async (self->connection, self->source, CANCELLABLE (self),
                                    tsr_clone_window_lifecycle_done_cb, g_object_ref (self));
}

static void
tsr_clone_window_force_off_cb (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *param)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (widget);

  if (!tsr_vm_is_active (self->source))
    return;

  self->shutting_down = TRUE;
  self->offer_force = FALSE;
  tsr_clone_window_update (self);

  tsr_connection_force_off_vm_async (self->connection, self->source, CANCELLABLE (self),
                                     tsr_clone_window_lifecycle_done_cb, g_object_ref (self));
}

/* Cloning */

static void
tsr_clone_window_set_busy (TsrOperationWindow *window,
                           gboolean            busy)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (window);

  gtk_stack_set_visible_child_name (self->stack, busy ? "progress" : "form");
  tsr_clone_window_update (self);
}

static void
tsr_clone_window_failed (TsrOperationWindow *window,
                         const GError       *error)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (window);
  g_autofree char *heading = NULL;

  if (tsr_gui_show_name_error (self->name_error, GTK_WIDGET (self->name_row), error))
    return;

  /* Started meanwhile: the form offers the shutdown again. */
  if (g_error_matches (error, TSR_ERROR, TSR_ERROR_VM_RUNNING))
    {
      tsr_operation_window_add_toast (OPERATION_WINDOW (self), error->message, 10);
      return;
    }

  heading = g_strdup_printf (_("Could Not Clone “%s”"), tsr_vm_get_name (self->source));
  tsr_gui_show_error (GTK_WINDOW (self), heading, error->message);
}

static void
tsr_clone_window_cloned_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(TsrOperation) operation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *name = NULL;

  name = tsr_connection_clone_vm_finish (TSR_CONNECTION (object), result, &warning, &error);
  tsr_operation_complete (operation, name, warning, error);
}

static void
tsr_clone_window_clone_cb (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *param)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (widget);
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  const char *source = tsr_vm_get_name (self->source);
  g_autoptr(TsrCloneSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  g_autofree char *success = NULL;
  g_autofree char *heading = NULL;
  g_autoptr(TsrOperation) operation = NULL;

  if (tsr_operation_window_get_operation (OPERATION_WINDOW (self)) != NULL ||
      tsr_vm_is_active (self->source))
    return;
  if (!tsr_connection_check_clone_name (self->connection, name, &error))
    {
      tsr_clone_window_update (self);
      return;
    }

  spec = tsr_clone_spec_new (name);
  spec->linked = gtk_check_button_get_active (self->linked_check);
  spec->keep_mac = gtk_switch_get_active (self->keep_mac_switch) &&
                   tsr_vm_get_mac (self->source) != NULL;
  spec->pool = g_strdup (tsr_pool_row_get_pool (self->pool_row));

  if (spec->linked)
    {
      title = g_strdup_printf (_("Linked clone of “%s” as “%s”"), source, name);
      success = g_strdup_printf (_("Made “%s”, a linked clone of “%s”"), name, source);
    }
  else
    {
      title = g_strdup_printf (_("Cloning “%s” as “%s”"), source, name);
      success = g_strdup_printf (_("Cloned “%s” as “%s”"), source, name);
    }
  heading = g_strdup_printf (_("Cloning “%s”…"), source);

  operation = g_object_ref (tsr_operation_window_start (OPERATION_WINDOW (self), title,
                                                        success, heading));

  tsr_connection_clone_vm_async (self->connection, self->source, spec,
                                 tsr_operation_progress_cb, operation,
                                 tsr_operation_get_cancellable (operation),
                                 tsr_clone_window_cloned_cb,
                                 g_object_ref (operation));
}

/* GObject */

static gboolean
tsr_clone_window_close_request (GtkWindow *window)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (window);

  g_clear_handle_id (&self->force_source, g_source_remove);

  return GTK_WINDOW_CLASS (tsr_clone_window_parent_class)->close_request (window);
}

static void
tsr_clone_window_dispose (GObject *object)
{
  TsrCloneWindow *self = TSR_CLONE_WINDOW (object);

  g_cancellable_cancel (CANCELLABLE (self));
  g_clear_handle_id (&self->force_source, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_CLONE_WINDOW);

  g_clear_object (&self->source);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (tsr_clone_window_parent_class)->dispose (object);
}

static void
tsr_clone_window_class_init (TsrCloneWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);
  TsrOperationWindowClass *operation_class = TSR_OPERATION_WINDOW_CLASS (klass);

  object_class->dispose = tsr_clone_window_dispose;
  window_class->close_request = tsr_clone_window_close_request;
  operation_class->set_busy = tsr_clone_window_set_busy;
  operation_class->failed = tsr_clone_window_failed;

  g_type_ensure (TSR_TYPE_POOL_ROW);
  g_type_ensure (TSR_TYPE_PROGRESS_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-clone-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, clone_button);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, running_group);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, running_row);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, running_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, shutdown_button);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, name_error);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, full_check);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, linked_check);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, pool_row);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, keep_mac_row);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, keep_mac_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrCloneWindow, keep_mac_warning);
  tsr_operation_window_class_bind_parts (operation_class, "clone_button",
                                         _("Stop the clone and remove what it made"));
  gtk_widget_class_bind_template_callback (widget_class, tsr_clone_window_name_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_clone_window_field_changed_cb);

  gtk_widget_class_install_action (widget_class, "clone.clone", NULL,
                                   tsr_clone_window_clone_cb);
  gtk_widget_class_install_action (widget_class, "clone.shutdown", NULL,
                                   tsr_clone_window_shutdown_cb);
  gtk_widget_class_install_action (widget_class, "clone.force-off", NULL,
                                   tsr_clone_window_force_off_cb);
}

static void
tsr_clone_window_init (TsrCloneWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * tsr_clone_window_new:
 * @parent: the main window
 * @connection: the connection of @source
 * @source: the VM to clone
 *
 * Returns: (transfer floating): a new dialog, to be presented
 */
TsrCloneWindow *
tsr_clone_window_new (GtkWindow     *parent,
                      TsrConnection *connection,
                      TsrVm         *source)
{
  TsrCloneWindow *self;
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *suggestion = NULL;

  g_return_val_if_fail (!parent || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TSR_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (TSR_IS_VM (source), NULL);

  self = g_object_new (TSR_TYPE_CLONE_WINDOW, NULL);
  tsr_dialog_set_parent (TSR_DIALOG (self), parent);
  self->connection = g_object_ref (connection);
  self->source = g_object_ref (source);

  title = g_strdup_printf (_("Clone “%s”"), tsr_vm_get_name (source));
  /* Translators: the source's class and label, "TemplateVM · black" */
  subtitle = g_strdup_printf (_("%s · %s"), tsr_vm_get_vm_class (source),
                              tsr_vm_get_label (source));
  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, subtitle);
  gtk_window_set_title (GTK_WINDOW (self), title);

  g_signal_connect_object (source, "notify::state",
                           G_CALLBACK (tsr_clone_window_source_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (source, "notify::mac",
                           G_CALLBACK (tsr_clone_window_source_notify_cb),
                           self, G_CONNECT_SWAPPED);
  /* A VM made meanwhile may take the name. */
  g_signal_connect_object (tsr_connection_get_vms (connection), "items-changed",
                           G_CALLBACK (tsr_clone_window_source_notify_cb),
                           self, G_CONNECT_SWAPPED);

  suggestion = tsr_connection_suggest_clone_name (connection, tsr_vm_get_name (source));
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), suggestion);

  tsr_dialog_get_inventory (TSR_DIALOG (self), connection, tsr_clone_window_inventory_ready);

  tsr_clone_window_update (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));

  return self;
}

TsrVm *
tsr_clone_window_get_source (TsrCloneWindow *self)
{
  g_return_val_if_fail (TSR_IS_CLONE_WINDOW (self), NULL);

  return self->source;
}
