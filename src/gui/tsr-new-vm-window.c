/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-media.h"
#include "tsr-media-picker.h"
#include "tsr-new-vm-window-private.h"

/* The New VM wizard: one form, checked as the user types, then a progress
 * page while the core creates the VM (and starts it with its install media
 * when some was chosen). Everything it makes goes through TsrCreateSpec.
 */

#define GIB (G_GUINT64_CONSTANT (1) << 30)

G_DEFINE_FINAL_TYPE (TsrNewVmWindow, tsr_new_vm_window, TSR_TYPE_DIALOG)

enum {
  VM_CREATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
_tsr_new_vm_window_emit_created (TsrNewVmWindow *self,
                                 TsrVm          *vm)
{
  g_signal_emit (self, signals[VM_CREATED], 0, vm);
}

/* Pools and networks */

static void
tsr_new_vm_window_inventory_ready (gpointer      owner,
                                   TsrInventory *inventory,
                                   const GError *error)
{
  TsrNewVmWindow *self = owner;

  /* The defaults still work; say why there is nothing else. */
  if (inventory == NULL)
    {
      g_debug ("Listing networks and pools failed: %s", error->message);
      tsr_choice_row_set_error (TSR_CHOICE_ROW (self->network_row), error->message);
      return;
    }
  tsr_pool_row_set_pools (self->pool_row, (const char * const *) inventory->pools);
  tsr_network_row_set_networks (self->network_row, (const char * const *) inventory->networks);
}

/* Templates */

static gboolean
is_template (gpointer item,
             gpointer user_data)
{
  return g_strcmp0 (tsr_vm_get_vm_class (item), "TemplateVM") == 0;
}

TsrVm *
_tsr_new_vm_window_selected_template (TsrNewVmWindow *self)
{
  return adw_combo_row_get_selected_item (self->template_row);
}

/* The operating system */

/* Below the OS's minimum is said beside the field, never refused. */
static void
update_os_hints (TsrNewVmWindow *self,
                 guint64         memory)
{
  const TsrOsDefaults *os = tsr_os_row_get_defaults (self->os_row);
  guint64 disk = (guint64) gtk_spin_button_get_value_as_int (self->disk_spin) * GIB;
  gboolean windows = g_str_equal (os->family, "windows");
  g_autofree char *memory_hint = NULL;
  g_autofree char *disk_hint = NULL;

  if (os->min_memory > 0 && memory < os->min_memory)
    memory_hint = g_strdup_printf (_("%s needs at least %" G_GUINT64_FORMAT " MiB"), os->name,
                                   os->min_memory);
  adw_action_row_set_subtitle (self->memory_row, memory_hint ? memory_hint : "");
  if (os->min_disk > 0 && disk < os->min_disk)
    disk_hint = g_strdup_printf (_("%s needs at least %" G_GUINT64_FORMAT " GiB"), os->name,
                                 (os->min_disk + GIB - 1) / GIB);
  adw_action_row_set_subtitle (self->disk_row, disk_hint ? disk_hint
                                                         : _("Sparse: it uses only what the system writes"));

  /* Windows installers find no disk on virtio without the drivers disc. */
  gtk_widget_set_visible (GTK_WIDGET (self->drivers_row), windows);
  if (self->drivers_media != NULL)
    {
      adw_action_row_set_subtitle (self->drivers_row, self->drivers_media);
      gtk_button_set_label (self->drivers_button, _("Change _Drivers Disc…"));
    }
  else
    {
      adw_action_row_set_subtitle (self->drivers_row,
                                   _("None: the disk and network card are SATA and e1000e, which "
                                     "the installer knows; with a virtio-win disc they are "
                                     "virtio, which is faster"));
      gtk_button_set_label (self->drivers_button, _("Add VirtIO _Drivers Disc…"));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->drivers_clear_button), self->drivers_media != NULL);
}

static void
tsr_new_vm_window_os_changed_cb (TsrNewVmWindow *self,
                                 gboolean        by_user,
                                 TsrOsRow       *row)
{
  const TsrOsDefaults *os = tsr_os_row_get_defaults (row);

  if (by_user)
    self->os_touched = TRUE;
  /* The OS's resources, as far as the host and the fields allow. */
  if (os->id != NULL)
    {
      gtk_spin_button_set_value (self->memory_spin, (double) os->memory);
      gtk_spin_button_set_value (self->vcpus_spin, (double) os->vcpus);
      gtk_spin_button_set_value (self->disk_spin, (double) ((os->disk + GIB - 1) / GIB));
    }
  _tsr_new_vm_window_update (self);
}

/* The drivers disc: one virtio-win ISO for every Windows VM, remembered. */
static void
set_drivers_media (TsrNewVmWindow *self,
                   const char     *path)
{
  g_free (self->drivers_media);
  self->drivers_media = path && *path ? g_strdup (path) : NULL;
  g_settings_set_string (self->settings, "virtio-win-iso", path ? path : "");
  _tsr_new_vm_window_update (self);
}

static void
tsr_new_vm_window_drivers_chosen_cb (TsrNewVmWindow       *self,
                                     int                   response,
                                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        set_drivers_media (self, path);
    }
  g_object_unref (chooser);
}

static void
tsr_new_vm_window_choose_drivers_cb (GtkWidget  *widget,
                                     const char *action_name,
                                     GVariant   *param)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (_("VirtIO Drivers Disc (virtio-win ISO)"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"), NULL);
  gtk_file_filter_set_name (filter, _("ISO images"));
  gtk_file_filter_add_pattern (filter, "*.iso");
  gtk_file_filter_add_pattern (filter, "*.ISO");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (tsr_new_vm_window_drivers_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
tsr_new_vm_window_clear_drivers_cb (GtkWidget  *widget,
                                    const char *action_name,
                                    GVariant   *param)
{
  set_drivers_media (TSR_NEW_VM_WINDOW (widget), NULL);
}

/**
 * tsr_new_vm_window_get_drivers_media:
 * @self: a #TsrNewVmWindow
 *
 * Returns: (nullable): the virtio-win ISO a Windows VM gets as a second
 *   cdrom, if the OS is Windows and one was chosen
 */
const char *
tsr_new_vm_window_get_drivers_media (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), NULL);

  if (!g_str_equal (tsr_os_row_get_defaults (self->os_row)->family, "windows"))
    return NULL;
  return self->drivers_media;
}

/* Checking */

void
_tsr_new_vm_window_update (TsrNewVmWindow *self)
{
  g_autoptr(GError) name_error = NULL;
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  const char *resources = NULL;
  guint type = adw_combo_row_get_selected (self->type_row);
  gboolean install = gtk_switch_get_active (self->install_switch);
  gboolean valid = TRUE;
  guint64 memory, maxmem;

  /* Name: the core's rule, then the list of this connection. */
  if (!tsr_connection_check_new_vm_name (self->connection, name, &name_error))
    valid = FALSE;
  /* An untouched, empty name is not a mistake yet. */
  tsr_gui_show_field_message (self->name_error, GTK_WIDGET (self->name_row),
                              name_error != NULL && self->name_touched
                              ? name_error->message : NULL);

  /* Type */
  gtk_widget_set_visible (GTK_WIDGET (self->template_row), TYPE_NEEDS_TEMPLATE (type));
  /* A VM based on a template gets a copy of the template's root disk, or
   * (AppVM, DisposableVM) runs on an overlay of it.
   */
  gtk_widget_set_visible (GTK_WIDGET (self->disk_row), !TYPE_NEEDS_TEMPLATE (type));
  if (TYPE_NEEDS_TEMPLATE (type))
    {
      if (g_list_model_get_n_items (G_LIST_MODEL (self->templates)) == 0)
        {
          adw_action_row_set_subtitle (ADW_ACTION_ROW (self->template_row),
                                       _("There is no TemplateVM on this connection: create one "
                                         "first, or choose another type"));
          gtk_widget_add_css_class (GTK_WIDGET (self->template_row), "error");
          valid = FALSE;
        }
      else
        {
          adw_action_row_set_subtitle (ADW_ACTION_ROW (self->template_row),
                                       type == TYPE_STANDALONE_FROM_TEMPLATE
                                       ? _("Its root disk is copied into the new VM")
                                       : _("The new VM boots its newest root, fresh at each "
                                           "start, with a private disk of its own"));
          gtk_widget_remove_css_class (GTK_WIDGET (self->template_row), "error");
          valid = valid && _tsr_new_vm_window_selected_template (self) != NULL;
        }
    }

  /* Install media */
  gtk_widget_set_visible (GTK_WIDGET (self->media_row), install);
  if (self->media != NULL)
    {
      adw_action_row_set_subtitle (self->media_row, self->media);
      gtk_button_set_label (self->media_button, _("C_hange…"));
    }
  else
    {
      adw_action_row_set_subtitle (self->media_row,
                                   _("None yet: the VM can also start with media later, from its "
                                     "menu"));
      gtk_button_set_label (self->media_button, _("C_hoose…"));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->media_clear_button), self->media != NULL);

  /* Resources: the spin buttons keep memory and the rest in range. */
  memory = (guint64) gtk_spin_button_get_value_as_int (self->memory_spin);
  maxmem = (guint64) gtk_spin_button_get_value_as_int (self->maxmem_spin);
  if (maxmem != 0 && maxmem < memory)
    {
      resources = _("Max memory is below the initial memory: make it 0 to turn memory "
                    "balancing off, or at least the initial memory.");
      valid = FALSE;
    }
  tsr_gui_show_field_message (self->resources_error, GTK_WIDGET (self->maxmem_row), resources);
  update_os_hints (self, memory);
  /* The OS decides devices and firmware: wait until it is known. */
  valid = valid && !tsr_os_row_get_busy (self->os_row);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "new-vm.create", valid && !self->busy);
}

static void
tsr_new_vm_window_name_changed_cb (TsrNewVmWindow *self,
                                   GtkEditable    *editable)
{
  self->name_touched = TRUE;
  _tsr_new_vm_window_update (self);
}

static void
tsr_new_vm_window_field_changed_cb (TsrNewVmWindow *self)
{
  _tsr_new_vm_window_update (self);
}

static void
tsr_new_vm_window_type_changed_cb (TsrNewVmWindow *self)
{
  /* As in Qubes, only a standalone VM not based on a template installs its
   * system by default; the others start from a template's disk.
   */
  gtk_switch_set_active (self->install_switch,
                         adw_combo_row_get_selected (self->type_row) == TYPE_STANDALONE);
  _tsr_new_vm_window_update (self);
}


static void
tsr_new_vm_window_vms_changed_cb (TsrNewVmWindow *self)
{
  /* A VM made meanwhile elsewhere may take the name. */
  if (!self->busy)
    _tsr_new_vm_window_update (self);
}

/* Install media */

/* The OS on host media is recognised from its contents; a pool volume
 * or media inside a VM is not read here, and keeps what was chosen.
 */
static void
detect_os (TsrNewVmWindow *self)
{
  g_autoptr(TsrMedia) media = NULL;

  if (self->os_touched)
    return;
  if (self->media == NULL)
    {
      tsr_os_row_detect (self->os_row, NULL);
      return;
    }
  media = tsr_media_parse (self->media, NULL);
  if (media != NULL && (media->kind == TSR_MEDIA_FILE || media->kind == TSR_MEDIA_BLOCK))
    tsr_os_row_detect (self->os_row, media->path);
}

static void
tsr_new_vm_window_media_chosen_cb (TsrNewVmWindow *self,
                                   const char     *media,
                                   TsrMediaPicker *picker)
{
  tsr_new_vm_window_set_media (self, media);
}

static void
tsr_new_vm_window_choose_media_cb (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *param)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (widget);
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  TsrMediaPicker *picker;

  picker = tsr_media_picker_new (GTK_WINDOW (self), self->connection,
                                 *name ? name : NULL, _("_Select"));
  g_signal_connect_object (picker, "media-chosen",
                           G_CALLBACK (tsr_new_vm_window_media_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (picker));
}

static void
tsr_new_vm_window_clear_media_cb (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *param)
{
  tsr_new_vm_window_set_media (TSR_NEW_VM_WINDOW (widget), NULL);
}

/* GObject */

static gboolean
tsr_new_vm_window_close_request (GtkWindow *window)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (window);

  if (self->create_cancellable != NULL)
    g_cancellable_cancel (self->create_cancellable);
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_clear_handle_id (&self->appear_source, g_source_remove);
  if (self->connection != NULL)
    g_clear_signal_handler (&self->vms_changed_id, tsr_connection_get_vms (self->connection));

  return GTK_WINDOW_CLASS (tsr_new_vm_window_parent_class)->close_request (window);
}

static void
tsr_new_vm_window_dispose (GObject *object)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (object);

  g_cancellable_cancel (CANCELLABLE (self));
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_clear_handle_id (&self->appear_source, g_source_remove);
  if (self->connection != NULL)
    g_clear_signal_handler (&self->vms_changed_id, tsr_connection_get_vms (self->connection));

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_NEW_VM_WINDOW);

  g_clear_object (&self->templates);
  g_clear_object (&self->settings);
  g_clear_object (&self->connection);
  g_clear_object (&self->create_cancellable);

  G_OBJECT_CLASS (tsr_new_vm_window_parent_class)->dispose (object);
}

static void
tsr_new_vm_window_finalize (GObject *object)
{
  TsrNewVmWindow *self = TSR_NEW_VM_WINDOW (object);

  g_free (self->media);
  g_free (self->drivers_media);
  g_free (self->created_name);
  g_free (self->notice);

  G_OBJECT_CLASS (tsr_new_vm_window_parent_class)->finalize (object);
}

static void
tsr_new_vm_window_class_init (TsrNewVmWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tsr_new_vm_window_dispose;
  object_class->finalize = tsr_new_vm_window_finalize;
  window_class->close_request = tsr_new_vm_window_close_request;

  /**
   * TsrNewVmWindow::vm-created:
   * @self: the wizard
   * @vm: the new VM, as the connection's list has it
   *
   * Emitted once the VM exists (and was started with its install media, if
   * any was chosen), just before the wizard closes.
   */
  signals[VM_CREATED] =
    g_signal_new ("vm-created",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, TSR_TYPE_VM);

  g_type_ensure (TSR_TYPE_CHOICE_ROW);
  g_type_ensure (TSR_TYPE_LABEL_CHOOSER);
  g_type_ensure (TSR_TYPE_POOL_ROW);
  g_type_ensure (TSR_TYPE_NETWORK_ROW);
  g_type_ensure (TSR_TYPE_OS_ROW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-new-vm-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, create_button);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, form_page);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, name_error);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, label_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, label_chooser);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, type_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, template_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, install_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, install_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, media_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, media_button);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, media_clear_button);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, os_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, drivers_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, drivers_button);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, drivers_clear_button);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, memory_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, memory_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, maxmem_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, maxmem_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, vcpus_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, disk_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, disk_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, resources_error);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, pool_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, network_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, open_settings_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, progress_page);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, TsrNewVmWindow, stage_label);
  gtk_widget_class_bind_template_callback (widget_class, tsr_new_vm_window_name_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_new_vm_window_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_new_vm_window_type_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, tsr_new_vm_window_os_changed_cb);

  gtk_widget_class_install_action (widget_class, "new-vm.choose-media", NULL,
                                   tsr_new_vm_window_choose_media_cb);
  gtk_widget_class_install_action (widget_class, "new-vm.clear-media", NULL,
                                   tsr_new_vm_window_clear_media_cb);
  gtk_widget_class_install_action (widget_class, "new-vm.choose-drivers", NULL,
                                   tsr_new_vm_window_choose_drivers_cb);
  gtk_widget_class_install_action (widget_class, "new-vm.clear-drivers", NULL,
                                   tsr_new_vm_window_clear_drivers_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "new-vm.cancel", NULL);

  _tsr_new_vm_window_class_create_init (widget_class);
}

static void
tsr_new_vm_window_init (TsrNewVmWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (APP_ID);
  self->drivers_media = g_settings_get_string (self->settings, "virtio-win-iso");
  if (*self->drivers_media == '\0')
    g_clear_pointer (&self->drivers_media, g_free);

  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->create_button));
}

/**
 * tsr_new_vm_window_get_started:
 * @self: a #TsrNewVmWindow
 *
 * Returns: whether the new VM was started with its install media
 */
gboolean
tsr_new_vm_window_get_started (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), FALSE);
  return self->started;
}

/**
 * tsr_new_vm_window_new:
 * @parent: the main window
 * @connection: where the VM is made
 *
 * Returns: (transfer floating): a new wizard, to be presented
 */
TsrNewVmWindow *
tsr_new_vm_window_new (GtkWindow     *parent,
                       TsrConnection *connection)
{
  TsrNewVmWindow *self;
  GtkCustomFilter *filter;
  GtkExpression *expression;

  g_return_val_if_fail (!parent || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TSR_IS_CONNECTION (connection), NULL);

  self = g_object_new (TSR_TYPE_NEW_VM_WINDOW, NULL);
  tsr_dialog_set_parent (TSR_DIALOG (self), parent);
  self->connection = g_object_ref (connection);

  /* The template chooser lists the connection's TemplateVMs as they come
   * and go.
   */
  filter = gtk_custom_filter_new (is_template, NULL, NULL);
  self->templates = gtk_filter_list_model_new (g_object_ref (tsr_connection_get_vms (connection)),
                                               GTK_FILTER (filter));
  expression = gtk_property_expression_new (TSR_TYPE_VM, NULL, "name");
  adw_combo_row_set_expression (self->template_row, expression);
  gtk_expression_unref (expression);
  adw_combo_row_set_model (self->template_row, G_LIST_MODEL (self->templates));

  g_signal_connect_object (tsr_connection_get_vms (connection), "items-changed",
                           G_CALLBACK (tsr_new_vm_window_vms_changed_cb),
                           self, G_CONNECT_SWAPPED);

  tsr_dialog_get_inventory (TSR_DIALOG (self), connection, tsr_new_vm_window_inventory_ready);

  _tsr_new_vm_window_update (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));

  return self;
}

TsrConnection *
tsr_new_vm_window_get_connection (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), NULL);

  return self->connection;
}

gboolean
tsr_new_vm_window_get_open_settings (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), FALSE);

  return gtk_switch_get_active (self->open_settings_switch);
}

/**
 * tsr_new_vm_window_get_media:
 * @self: a #TsrNewVmWindow
 *
 * Returns: (nullable): the install media chosen for the new VM
 */
const char *
tsr_new_vm_window_get_media (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), NULL);

  return self->media;
}

void
tsr_new_vm_window_set_media (TsrNewVmWindow *self,
                             const char     *media)
{
  g_return_if_fail (TSR_IS_NEW_VM_WINDOW (self));

  g_free (self->media);
  self->media = media && *media ? g_strdup (media) : NULL;
  if (self->media != NULL)
    gtk_switch_set_active (self->install_switch, TRUE);
  detect_os (self);
  _tsr_new_vm_window_update (self);
}

/**
 * tsr_new_vm_window_get_notice:
 * @self: a #TsrNewVmWindow
 *
 * Returns: (nullable): what the core said about the new VM besides success,
 *   such as falling back to software emulation
 */
const char *
tsr_new_vm_window_get_notice (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), NULL);

  return self->notice;
}

/**
 * tsr_new_vm_window_preset_template:
 * @self: a #TsrNewVmWindow
 * @template_vm: a TemplateVM of the wizard's connection
 *
 * Chooses the type "based on a template" (AppVM) and @template_vm, as
 * "New AppVM…" on a template's row does.
 *
 * Returns: whether the template chooser lists @template_vm
 */
gboolean
tsr_new_vm_window_preset_template (TsrNewVmWindow *self,
                                   TsrVm          *template_vm)
{
  GListModel *templates;

  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), FALSE);
  g_return_val_if_fail (TSR_IS_VM (template_vm), FALSE);

  templates = G_LIST_MODEL (self->templates);
  for (guint i = 0; i < g_list_model_get_n_items (templates); i++)
    {
      g_autoptr(TsrVm) item = g_list_model_get_item (templates, i);

      if (item != template_vm)
        continue;
      adw_combo_row_set_selected (self->type_row, TYPE_APPVM);
      adw_combo_row_set_selected (self->template_row, i);
      _tsr_new_vm_window_update (self);
      return TRUE;
    }
  return FALSE;
}

/* Creating, or starting what was created. */
gboolean
tsr_new_vm_window_get_busy (TsrNewVmWindow *self)
{
  g_return_val_if_fail (TSR_IS_NEW_VM_WINDOW (self), FALSE);

  return self->busy;
}
