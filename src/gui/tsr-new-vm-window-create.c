/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-new-vm-window-private.h"

/* Creating: the form becomes a TsrCreateSpec, a progress page follows the
 * core's stages, Cancel makes the core roll back, and the new VM starts
 * with its install media once the list has it.
 */

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define GIB (MIB * 1024)

/* How long to wait for the new VM to show up in the list before giving up
 * on selecting and starting it.
 */
#define APPEAR_TIMEOUT_S 15


static void
set_busy (TsrNewVmWindow *self,
          gboolean        busy)
{
  self->busy = busy;
  gtk_stack_set_visible_child_name (self->stack, busy ? "progress" : "form");
  gtk_widget_set_visible (GTK_WIDGET (self->create_button), !busy);
  if (!busy)
    g_clear_handle_id (&self->pulse_source, g_source_remove);
  _tsr_new_vm_window_update (self);
}

static gboolean
pulse_cb (gpointer user_data)
{
  TsrNewVmWindow *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
set_stage (TsrNewVmWindow *self,
           const char     *stage,
           guint64         done,
           guint64         total)
{
  gtk_label_set_text (self->stage_label, stage);

  /* Stages without a size pulse; copies fill up. */
  if (total == 0)
    {
      if (self->pulse_source == 0)
        {
          gtk_progress_bar_pulse (self->progress_bar);
          self->pulse_source = g_timeout_add (100, pulse_cb, self);
        }
    }
  else
    {
      g_clear_handle_id (&self->pulse_source, g_source_remove);
      gtk_progress_bar_set_fraction (self->progress_bar, (double) done / (double) total);
    }
}

static void
tsr_new_vm_window_progress_cb (guint64     done,
                               guint64     total,
                               const char *stage,
                               gpointer    user_data)
{
  TsrNewVmWindow *self = user_data;

  if (self->busy)
    set_stage (self, stage, done, total);
}

static void
finish_created (TsrNewVmWindow *self,
                TsrVm          *vm)
{
  g_clear_signal_handler (&self->vms_changed_id, tsr_connection_get_vms (self->connection));
  g_clear_handle_id (&self->appear_source, g_source_remove);

  if (vm != NULL)
    _tsr_new_vm_window_emit_created (self, vm);

  self->busy = FALSE;
  gtk_window_close (GTK_WINDOW (self));
}

static void
tsr_new_vm_window_started_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(TsrNewVmWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  TsrVm *vm;

  self->started = tsr_connection_start_vm_with_media_finish (TSR_CONNECTION (object), result, &error);
  if (!self->started)
    {
      GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
      g_autofree char *heading = NULL;
      g_autofree char *body = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !gtk_widget_get_visible (GTK_WIDGET (self)))
        return;

      /* The VM is there; only this boot failed. */
      heading = g_strdup_printf (_("“%s” Did Not Start"), self->created_name);
      body = g_strdup_printf (_("The VM was created, but starting it with %s failed: %s\n\n"
                                "Fix the install media, then use “Start with Install "
                                "Media…” in the VM’s menu."), self->media, error->message);
      tsr_gui_show_error (parent, heading, body);
    }

  vm = tsr_connection_lookup_vm (self->connection, self->created_name);
  finish_created (self, vm);
}

static void
start_or_finish (TsrNewVmWindow *self,
                 TsrVm          *vm)
{
  g_clear_signal_handler (&self->vms_changed_id, tsr_connection_get_vms (self->connection));
  g_clear_handle_id (&self->appear_source, g_source_remove);

  if (self->media == NULL || vm == NULL)
    {
      finish_created (self, vm);
      return;
    }

  set_stage (self, _("Starting with the install media"), 0, 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "new-vm.cancel", FALSE);
  tsr_connection_start_vm_with_media_async (self->connection, vm, self->media, CANCELLABLE (self),
                                            tsr_new_vm_window_started_cb, g_object_ref (self));
}

static void
tsr_new_vm_window_created_vms_changed_cb (TsrNewVmWindow *self)
{
  TsrVm *vm = tsr_connection_lookup_vm (self->connection, self->created_name);

  if (vm != NULL)
    start_or_finish (self, vm);
}

static gboolean
tsr_new_vm_window_appear_timeout_cb (gpointer user_data)
{
  TsrNewVmWindow *self = user_data;

  self->appear_source = 0;
  start_or_finish (self, NULL);
  return G_SOURCE_REMOVE;
}

static void
show_create_error (TsrNewVmWindow *self,
                   const GError   *error)
{
  if (tsr_gui_show_name_error (self->name_error, GTK_WIDGET (self->name_row), error))
    self->name_touched = TRUE;
  else
    tsr_gui_show_error (GTK_WINDOW (self), _("Could Not Create the VM"), error->message);
}

static void
tsr_new_vm_window_create_done_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(TsrNewVmWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *notice = NULL;
  g_autofree char *name = NULL;
  TsrVm *vm;

  name = tsr_connection_create_vm_finish (TSR_CONNECTION (object), result, &notice, &error);
  g_clear_object (&self->create_cancellable);

  /* Closed meanwhile: the core has rolled back, nobody is looking. */
  if (!gtk_widget_get_visible (GTK_WIDGET (self)))
    return;

  if (name == NULL)
    {
      set_busy (self, FALSE);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
          g_error_matches (error, TSR_ERROR, TSR_ERROR_CANCELLED))
        tsr_gui_add_toast (self->toast_overlay, NULL, _("Cancelled: nothing was left behind"), 5);
      else
        show_create_error (self, error);
      return;
    }

  self->notice = g_steal_pointer (&notice);
  self->created_name = g_steal_pointer (&name);
  vm = tsr_connection_lookup_vm (self->connection, self->created_name);
  if (vm != NULL)
    {
      start_or_finish (self, vm);
      return;
    }

  /* The list learns of the new domain from libvirt's event. */
  set_stage (self, _("Waiting for the VM to appear"), 0, 0);
  self->vms_changed_id =
    g_signal_connect_object (tsr_connection_get_vms (self->connection), "items-changed",
                             G_CALLBACK (tsr_new_vm_window_created_vms_changed_cb),
                             self, G_CONNECT_SWAPPED);
  self->appear_source = g_timeout_add_seconds (APPEAR_TIMEOUT_S,
                                               tsr_new_vm_window_appear_timeout_cb, self);
}

static TsrCreateSpec *
build_spec (TsrNewVmWindow *self)
{
  g_autoptr(TsrCreateSpec) spec = NULL;
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  guint type = adw_combo_row_get_selected (self->type_row);
  guint64 memory;
  guint vcpus;

  spec = tsr_create_spec_new (name);

  g_free (spec->label);
  spec->label = g_strdup (tsr_label_chooser_get_label (self->label_chooser));

  g_free (spec->klass);
  spec->klass = g_strdup (type == TYPE_TEMPLATE ? "TemplateVM"
                          : type == TYPE_APPVM ? "AppVM"
                          : type == TYPE_DISPVM ? "DispVM" : "StandaloneVM");
  if (TYPE_NEEDS_TEMPLATE (type) && _tsr_new_vm_window_selected_template (self) != NULL)
    spec->template_name = g_strdup (tsr_vm_get_name (_tsr_new_vm_window_selected_template (self)));

  /* Installing from a device boots the firmware, which then boots the
   * media: HVM, no kernel.
   */
  if (gtk_switch_get_active (self->install_switch))
    {
      g_free (spec->virt_mode);
      spec->virt_mode = g_strdup ("hvm");
      g_free (spec->kernel);
      spec->kernel = g_strdup ("");
    }

  {
    const TsrOsDefaults *os = tsr_os_row_get_defaults (self->os_row);

    /* The form shows the OS's resources; what it says is what is made. */
    spec->os_id = g_strdup (os->id);
    g_free (spec->os_family);
    spec->os_family = g_strdup (os->family);
    g_free (spec->firmware);
    spec->firmware = g_strdup (os->firmware);
    spec->set = TSR_SPEC_SET_FIRMWARE | TSR_SPEC_SET_DISK;
    spec->drivers_media = g_strdup (tsr_new_vm_window_get_drivers_media (self));

    /* Memory and vCPUs left as the OS proposed are the OS's defaults, which
     * the core keeps within what the host has; values typed in stand.
     */
    memory = (guint64) gtk_spin_button_get_value_as_int (self->memory_spin);
    vcpus = (guint) gtk_spin_button_get_value_as_int (self->vcpus_spin);
    if (os->id == NULL || memory != os->memory)
      {
        spec->memory = memory;
        spec->set |= TSR_SPEC_SET_MEMORY;
      }
    if (os->id == NULL || vcpus != os->vcpus)
      {
        spec->vcpus = vcpus;
        spec->set |= TSR_SPEC_SET_VCPUS;
      }
  }

  spec->maxmem = (guint64) gtk_spin_button_get_value_as_int (self->maxmem_spin);
  /* Templates bring their own root disk. */
  if (spec->template_name == NULL)
    spec->disk_size = (guint64) gtk_spin_button_get_value_as_int (self->disk_spin) * GIB;

  tsr_choice_row_store_value (TSR_CHOICE_ROW (self->pool_row), &spec->pool);
  tsr_choice_row_store_value (TSR_CHOICE_ROW (self->network_row), &spec->netvm);

  return g_steal_pointer (&spec);
}

static void
tsr_new_vm_window_create_cb (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *param)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (widget);
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autofree char *title = NULL;

  if (self->busy)
    return;

  /* Media only matter when installing. */
  if (!gtk_switch_get_active (self->install_switch))
    g_clear_pointer (&self->media, g_free);

  spec = build_spec (self);
  title = g_strdup_printf (_("Creating “%s”…"), spec->name);
  adw_status_page_set_title (self->progress_page, title);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  set_busy (self, TRUE);
  set_stage (self, _("Starting"), 0, 0);

  self->create_cancellable = g_cancellable_new ();
  tsr_connection_create_vm_async (self->connection, spec,
                                  tsr_new_vm_window_progress_cb, self,
                                  self->create_cancellable,
                                  tsr_new_vm_window_create_done_cb,
                                  g_object_ref (self));
}

static void
tsr_new_vm_window_cancel_cb (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *param)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (widget);

  /* While creating, Cancel stops the creation and the core rolls back;
   * the form stays for another try.
   */
  if (self->create_cancellable != NULL)
    {
      set_stage (self, _("Cancelling…"), 0, 0);
      g_cancellable_cancel (self->create_cancellable);
      return;
    }

  gtk_window_close (GTK_WINDOW (self));
}

void
_tsr_new_vm_window_class_create_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "new-vm.create", NULL,
                                   tsr_new_vm_window_create_cb);
  gtk_widget_class_install_action (widget_class, "new-vm.cancel", NULL,
                                   tsr_new_vm_window_cancel_cb);
}
