/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-gui-util.h"
#include "tsr-inventory.h"
#include "tsr-media-picker.h"
#include "tsr-settings-window-private.h"

/* A VM's settings (qvm-prefs) on three pages. The widgets are filled from
 * the core's properties; Apply sends only what differs from them, all at
 * once, and the core changes everything or nothing. PCI devices are
 * attached and detached at once, as qvm-pci does.
 */

G_DEFINE_FINAL_TYPE (TsrSettingsWindow, tsr_settings_window, TSR_TYPE_DIALOG)

/* Loading */

static void
loaded_one (TsrSettingsWindow *self)
{
  g_autoptr(GPtrArray) prefs = NULL;

  g_assert (self->pending_loads > 0);

  if (--self->pending_loads > 0)
    return;

  gtk_spinner_set_spinning (self->loading_spinner, FALSE);
  if (self->load_error != NULL)
    {
      /* A status page's description is markup; the message quotes names. */
      g_autofree char *markup = g_markup_escape_text (self->load_error->message, -1);

      adw_status_page_set_description (self->error_page, markup);
      gtk_stack_set_visible_child_name (self->stack, "error");
      return;
    }

  prefs = g_steal_pointer (&self->incoming);
  _tsr_settings_window_take_prefs (self, prefs);
  self->loaded = TRUE;
  self->busy = FALSE;
  gtk_stack_set_visible_child_name (self->stack, "content");
  _tsr_settings_window_update (self);
}

static void
set_load_error (TsrSettingsWindow *self,
                GError            *error)
{
  if (self->load_error == NULL)
    self->load_error = error;
  else
    g_error_free (error);
}

static void
tsr_settings_window_prefs_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GPtrArray) prefs = NULL;
  GError *error = NULL;

  prefs = tsr_connection_get_prefs_finish (TSR_CONNECTION (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      return;
    }

  /* Part of loading everything: the widgets are filled once all is here. */
  if (self->pending_loads > 0)
    {
      if (prefs != NULL)
        self->incoming = g_steal_pointer (&prefs);
      else
        set_load_error (self, error);
      loaded_one (self);
      return;
    }

  /* After a PCI change, which may have changed the virt mode. */
  self->busy = FALSE;
  if (prefs == NULL)
    {
      g_debug ("Reading the settings again failed: %s", error->message);
      g_error_free (error);
    }
  else
    _tsr_settings_window_take_prefs (self, prefs);
  _tsr_settings_window_update (self);
}

void
_tsr_settings_window_read_prefs (TsrSettingsWindow *self)
{
  tsr_connection_get_prefs_async (self->connection, self->vm, CANCELLABLE (self),
                                  tsr_settings_window_prefs_cb, g_object_ref (self));
}

static void
tsr_settings_window_choices_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  GError *error = NULL;

  if (!tsr_connection_get_choices_finish (TSR_CONNECTION (object), result,
                                          &self->virt_modes, &self->kernels, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_error_free (error);
          return;
        }
      set_load_error (self, error);
    }
  loaded_one (self);
}

static void
tsr_settings_window_inventory_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(TsrInventory) inventory = NULL;
  g_autoptr(GError) error = NULL;

  inventory = tsr_connection_get_inventory_finish (TSR_CONNECTION (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Without the list, the network can still be kept or set to none. */
  if (inventory != NULL)
    self->networks = g_steal_pointer (&inventory->networks);
  else
    g_debug ("Listing the networks failed: %s", error->message);
  loaded_one (self);
}

/* Following changes made elsewhere */

static gboolean
reread_cb (gpointer user_data)
{
  TsrSettingsWindow *self = user_data;

  self->reread_source = 0;
  if (self->loaded && !self->busy)
    _tsr_settings_window_read_prefs (self);
  return G_SOURCE_REMOVE;
}

/* The VM's definition changed (here after Apply, or in another window, a
 * terminal, virsh): its settings are read again shortly, once a burst of
 * changes is over. Untouched fields take the new values; a touched one
 * that changed too is flagged (_tsr_settings_window_take_prefs).
 */
static void
tsr_settings_window_vm_notify_cb (TsrSettingsWindow *self,
                                  GParamSpec        *pspec)
{
  const char *ignored[] = { "state", "state-text", "ip", "netmask", "gateway" };

  for (guint i = 0; i < G_N_ELEMENTS (ignored); i++)
    if (g_str_equal (pspec->name, ignored[i]))
      return;
  if (!self->loaded || self->busy)
    return;
  g_clear_handle_id (&self->reread_source, g_source_remove);
  self->reread_source = g_timeout_add (150, reread_cb, self);
}

/* Applying */

const char *
_tsr_settings_window_pref_title (const char *name)
{
  static const struct {
    const char *name;
    const char *title;
  } titles[] = {
    { "memory", N_("initial memory") }, { "maxmem", N_("max memory") },
    { "vcpus", N_("virtual CPUs") }, { "virt_mode", N_("virt mode") },
    { "kernel", N_("kernel") }, { "kernelopts", N_("kernel options") },
    { "mac", N_("MAC address") }, { "netvm", N_("network") },
    { "firmware", N_("firmware") }, { "debug", N_("debug mode") },
    { "name", N_("name") }, { "label", N_("label") }, { "include_in_backups", N_("backups") },
    { "autostart", N_("autostart") }, { "template", N_("template") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    if (g_str_equal (titles[i].name, name))
      return _(titles[i].title);
  return name;
}

void
_tsr_settings_window_show_note (TsrSettingsWindow *self,
                                const char        *next_start,
                                const char        *warning)
{
  g_autoptr(GString) note = g_string_new (NULL);

  if (next_start != NULL && *next_start != '\0')
    {
      g_auto(GStrv) names = g_strsplit (next_start, ", ", -1);
      g_autoptr(GPtrArray) titles = g_ptr_array_new ();
      g_autofree char *list = NULL;

      for (guint i = 0; names[i] != NULL; i++)
        g_ptr_array_add (titles, (gpointer) _tsr_settings_window_pref_title (g_strstrip (names[i])));
      g_ptr_array_add (titles, NULL);
      list = g_strjoinv (", ", (char **) titles->pdata);
      g_string_append_printf (note,
                              _("These changes take effect at the next start of “%s”: %s."),
                              tsr_vm_get_name (self->vm), list);
    }
  if (warning != NULL && *warning != '\0')
    {
      if (note->len > 0)
        g_string_append_c (note, '\n');
      g_string_append (note, warning);
    }

  g_free (self->note);
  self->note = note->len > 0 ? g_strdup (note->str) : NULL;
  gtk_label_set_text (self->note_label, note->str);
  gtk_image_set_from_icon_name (self->note_icon, warning != NULL ? "dialog-warning-symbolic"
                                                                 : "dialog-information-symbolic");
  gtk_revealer_set_reveal_child (self->note_revealer, self->note != NULL);
}

static void
tsr_settings_window_applied_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *next_start = NULL;
  g_autofree char *warning = NULL;

  if (!tsr_connection_set_prefs_finish (TSR_CONNECTION (object), result, &next_start, &warning,
                                        &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      self->busy = FALSE;
      _tsr_settings_window_update (self);

      /* Next to the field where there is one; the core changed nothing. */
      if (g_error_matches (error, TSR_ERROR, TSR_ERROR_INVALID_NAME) ||
          g_error_matches (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE) ||
          (g_error_matches (error, TSR_ERROR, TSR_ERROR_VM_RUNNING) &&
           _tsr_settings_window_field_changed (self, FIELD_NAME)))
        {
          adw_view_stack_set_visible_child_name (self->view_stack, "basic");
          _tsr_settings_window_show_message (self->name_error, GTK_WIDGET (self->name_row),
                                             error->message, FALSE);
        }
      else if (g_error_matches (error, TSR_ERROR, TSR_ERROR_INVALID_MAC) ||
               g_error_matches (error, TSR_ERROR, TSR_ERROR_MAC_IN_USE))
        {
          adw_view_stack_set_visible_child_name (self->view_stack, "advanced");
          _tsr_settings_window_show_message (self->mac_error, GTK_WIDGET (self->mac_row),
                                             error->message, FALSE);
        }
      else
        {
          g_autofree char *body = g_strdup_printf (_("%s\n\nNothing was changed."), error->message);

          tsr_gui_show_error (GTK_WINDOW (self), _("Could Not Apply the Settings"), body);
        }
      return;
    }

  _tsr_settings_window_show_note (self, next_start, warning);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("Settings applied")));
  /* The private disk grows after the properties, and reads all again. */
  if (_tsr_settings_window_private_changed (self))
    {
      _tsr_settings_window_grow_private (self);
      return;
    }

  /* The applied values are the new baseline, and a new network or MAC
   * brings new addresses. Until they are read, Apply stays off.
   */
  g_clear_pointer (&self->prefs, g_ptr_array_unref);
  self->loaded = FALSE;
  self->pending_loads++;
  _tsr_settings_window_read_prefs (self);
}

/**
 * tsr_settings_window_dup_changes:
 * @self: a #TsrSettingsWindow
 *
 * Returns: (transfer full): what Apply would send: property names to new
 *   values, %NULL values resetting to the default
 */
GHashTable *
tsr_settings_window_dup_changes (TsrSettingsWindow *self)
{
  GHashTable *changes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_return_val_if_fail (TSR_IS_SETTINGS_WINDOW (self), changes);

  if (!self->loaded)
    return changes;

  for (guint i = 0; i < N_FIELDS; i++)
    if (_tsr_settings_window_field_changed (self, i))
      g_hash_table_insert (changes, (gpointer) _tsr_settings_window_field_prefs[i],
                           _tsr_settings_window_widget_value (self, i));

  return changes;
}

static void
tsr_settings_window_apply_cb (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *param)
{
  TsrSettingsWindow *self = TSR_SETTINGS_WINDOW (widget);
  g_autoptr(GHashTable) changes = NULL;

  if (!self->loaded || self->busy || !self->valid)
    return;

  changes = tsr_settings_window_dup_changes (self);
  if (g_hash_table_size (changes) == 0)
    {
      if (_tsr_settings_window_private_changed (self))
        {
          gtk_revealer_set_reveal_child (self->note_revealer, FALSE);
          _tsr_settings_window_grow_private (self);
        }
      return;
    }

  self->busy = TRUE;
  gtk_revealer_set_reveal_child (self->note_revealer, FALSE);
  _tsr_settings_window_update (self);
  tsr_connection_set_prefs_async (self->connection, self->vm, changes,
                                  self->force_mac ? TSR_PREFS_FORCE_MAC : TSR_PREFS_NONE,
                                  CANCELLABLE (self), tsr_settings_window_applied_cb,
                                  g_object_ref (self));
}

/* Copying and booting */

static void
tsr_settings_window_copy_cb (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *param)
{
  TsrSettingsWindow *self = TSR_SETTINGS_WINDOW (widget);
  const char *which = g_variant_get_string (param, NULL);
  g_autofree char *message = NULL;
  const char *value;

  if (g_str_equal (which, "ip"))
    value = _tsr_settings_window_pref_value (self, "ip");
  else if (g_str_equal (which, "netmask"))
    value = _tsr_settings_window_pref_value (self, "visible_netmask");
  else if (g_str_equal (which, "gateway") || g_str_equal (which, "dns"))
    value = _tsr_settings_window_pref_value (self, "visible_gateway");
  else
    return;

  if (*value == '\0')
    return;

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), value);
  message = g_markup_printf_escaped (_("Copied “%s”"), value);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
tsr_settings_window_started_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->busy = FALSE;
  if (!tsr_connection_start_vm_with_media_finish (TSR_CONNECTION (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      tsr_gui_show_error (GTK_WINDOW (self), _("Could Not Boot from the Device"), error->message);
    }
  else
    {
      g_autofree char *message = g_markup_printf_escaped (_("Started “%s” from the device"),
                                                          tsr_vm_get_name (self->vm));

      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
    }
  _tsr_settings_window_update (self);
}

static void
tsr_settings_window_media_chosen_cb (TsrSettingsWindow *self,
                                     const char        *media,
                                     TsrMediaPicker    *picker)
{
  self->busy = TRUE;
  _tsr_settings_window_update (self);
  tsr_connection_start_vm_with_media_async (self->connection, self->vm, media, CANCELLABLE (self),
                                            tsr_settings_window_started_cb, g_object_ref (self));
}

static void
tsr_settings_window_boot_from_device_cb (GtkWidget  *widget,
                                         const char *action_name,
                                         GVariant   *param)
{
  TsrSettingsWindow *self = TSR_SETTINGS_WINDOW (widget);
  TsrMediaPicker *picker;

  picker = tsr_media_picker_new (GTK_WINDOW (self), self->connection, tsr_vm_get_name (self->vm),
                                 _("_Start"));
  g_signal_connect_object (picker, "media-chosen",
                           G_CALLBACK (tsr_settings_window_media_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (picker));
}

/* GObject */

static void
tsr_settings_window_dispose (GObject *object)
{
  TsrSettingsWindow *self = TSR_SETTINGS_WINDOW (object);

  g_cancellable_cancel (CANCELLABLE (self));
  g_clear_handle_id (&self->reread_source, g_source_remove);
  for (guint i = 0; i < N_FIELDS; i++)
    g_clear_pointer (&self->conflicts[i], g_free);

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_SETTINGS_WINDOW);

  g_clear_object (&self->vm);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (tsr_settings_window_parent_class)->dispose (object);
}

static void
tsr_settings_window_finalize (GObject *object)
{
  TsrSettingsWindow *self = TSR_SETTINGS_WINDOW (object);

  g_clear_pointer (&self->prefs, g_ptr_array_unref);
  g_clear_pointer (&self->incoming, g_ptr_array_unref);
  g_clear_pointer (&self->pci_rows, g_ptr_array_unref);
  g_clear_pointer (&self->pci_devices, g_ptr_array_unref);
  g_clear_pointer (&self->virt_modes, g_strfreev);
  g_clear_pointer (&self->kernels, g_strfreev);
  g_clear_pointer (&self->networks, g_strfreev);
  g_clear_error (&self->load_error);
  g_free (self->note);
  g_free (self->private_error);
  g_free (self->template_names);

  G_OBJECT_CLASS (tsr_settings_window_parent_class)->finalize (object);
}

static void
tsr_settings_window_class_init (TsrSettingsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_settings_window_dispose;
  object_class->finalize = tsr_settings_window_finalize;

  g_type_ensure (TSR_TYPE_CHOICE_ROW);
  g_type_ensure (TSR_TYPE_LABEL_CHOOSER);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-settings-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, apply_button);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, note_revealer);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, note_icon);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, note_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, basic_page);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, advanced_page);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, devices_page);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, label_chooser);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, name_error);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, netvm_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, ip_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, netmask_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, gateway_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, dns_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, ip_copy);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, netmask_copy);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, gateway_copy);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, dns_copy);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, network_note);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, backups_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, autostart_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, memory_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, memory_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, maxmem_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, maxmem_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, vcpus_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, memory_error);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, virt_mode_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, kernel_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, kernelopts_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, firmware_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, boot_device_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, boot_error);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, mac_mode_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, mac_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, mac_error);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, debug_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, assigned_group);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, available_group);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, pci_spinner);

  gtk_widget_class_install_action (widget_class, "settings.apply", NULL,
                                   tsr_settings_window_apply_cb);
  gtk_widget_class_install_action (widget_class, "settings.copy", "s",
                                   tsr_settings_window_copy_cb);
  gtk_widget_class_install_action (widget_class, "settings.boot-from-device", NULL,
                                   tsr_settings_window_boot_from_device_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  _tsr_settings_window_class_fields_init (widget_class);
  _tsr_settings_window_class_devices_init (widget_class);
  _tsr_settings_window_class_template_init (widget_class);
}

static void
tsr_settings_window_init (TsrSettingsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  tsr_choice_row_set_entries (self->firmware_row, tsr_firmware_choices, "bios");

  self->pci_rows = g_ptr_array_new ();

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "settings.apply", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "settings.boot-from-device", FALSE);
}

/**
 * tsr_settings_window_new:
 * @parent: (nullable): the main window
 * @connection: the connection @vm is on
 * @vm: the VM whose settings to show
 *
 * Returns: (transfer floating): a new settings window that starts reading
 *   the settings at once
 */
TsrSettingsWindow *
tsr_settings_window_new (GtkWindow     *parent,
                         TsrConnection *connection,
                         TsrVm         *vm)
{
  TsrSettingsWindow *self;

  g_return_val_if_fail (!parent || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TSR_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (TSR_IS_VM (vm), NULL);

  self = g_object_new (TSR_TYPE_SETTINGS_WINDOW, NULL);
  tsr_dialog_set_parent (TSR_DIALOG (self), parent);
  self->connection = g_object_ref (connection);
  self->vm = g_object_ref (vm);

  adw_window_title_set_title (self->window_title, tsr_vm_get_name (vm));
  g_signal_connect_object (vm, "notify::state",
                           G_CALLBACK (_tsr_settings_window_update),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (vm, "notify",
                           G_CALLBACK (tsr_settings_window_vm_notify_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (tsr_connection_get_vms (connection), "items-changed",
                           G_CALLBACK (_tsr_settings_window_update),
                           self, G_CONNECT_SWAPPED);

  gtk_spinner_set_spinning (self->loading_spinner, TRUE);
  gtk_stack_set_visible_child_name (self->stack, "loading");

  self->pending_loads = 3;
  _tsr_settings_window_read_prefs (self);
  tsr_connection_get_choices_async (connection, CANCELLABLE (self),
                                    tsr_settings_window_choices_cb, g_object_ref (self));
  tsr_connection_get_inventory_async (connection, CANCELLABLE (self),
                                      tsr_settings_window_inventory_cb, g_object_ref (self));
  _tsr_settings_window_read_pci (self);
  _tsr_settings_window_template_init (self);

  return self;
}

TsrVm *
tsr_settings_window_get_vm (TsrSettingsWindow *self)
{
  g_return_val_if_fail (TSR_IS_SETTINGS_WINDOW (self), NULL);

  return self->vm;
}

/**
 * tsr_settings_window_set_page:
 * @self: a #TsrSettingsWindow
 * @page: "basic", "advanced" or "devices"
 */
void
tsr_settings_window_set_page (TsrSettingsWindow *self,
                              const char        *page)
{
  g_return_if_fail (TSR_IS_SETTINGS_WINDOW (self));
  g_return_if_fail (page != NULL);

  adw_view_stack_set_visible_child_name (self->view_stack, page);
}

/* Still reading the settings, the first time or after Apply. */
gboolean
tsr_settings_window_get_loading (TsrSettingsWindow *self)
{
  g_return_val_if_fail (TSR_IS_SETTINGS_WINDOW (self), FALSE);

  return !self->loaded;
}

/* Applying, changing a device or starting. */
gboolean
tsr_settings_window_get_busy (TsrSettingsWindow *self)
{
  g_return_val_if_fail (TSR_IS_SETTINGS_WINDOW (self), FALSE);

  return self->busy;
}

/**
 * tsr_settings_window_get_note:
 * @self: a #TsrSettingsWindow
 *
 * Returns: (nullable): what the note under the header bar says after Apply
 */
const char *
tsr_settings_window_get_note (TsrSettingsWindow *self)
{
  g_return_val_if_fail (TSR_IS_SETTINGS_WINDOW (self), NULL);

  return self->note;
}
