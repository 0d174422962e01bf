/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-settings-window-private.h"

/* The Devices page: the host's PCI devices, assigned to this VM or not.
 * Attaching and detaching happen at once, as with qvm-pci.
 */

/* Devices */

static void
clear_pci_rows (TsrSettingsWindow *self)
{
  for (guint i = 0; i < self->pci_rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (self->pci_rows, i);
      GtkWidget *group = gtk_widget_get_ancestor (row, ADW_TYPE_PREFERENCES_GROUP);

      if (group != NULL)
        adw_preferences_group_remove (ADW_PREFERENCES_GROUP (group), row);
    }
  g_ptr_array_set_size (self->pci_rows, 0);
}

static void
add_pci_row (TsrSettingsWindow   *self,
             AdwPreferencesGroup *group,
             const char          *title,
             const char          *subtitle,
             const char          *button_label,
             const char          *action,
             const char          *device,
             const char          *blocked)
{
  GtkWidget *row = adw_action_row_new ();

  /* Before the title: a title set while markup is on is parsed at once. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  if (button_label != NULL)
    {
      GtkWidget *button = gtk_button_new_with_mnemonic (button_label);

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button),
                                              g_variant_new_string (device));
      if (blocked != NULL)
        {
          gtk_widget_set_sensitive (button, FALSE);
          gtk_widget_set_tooltip_text (button, blocked);
        }
      gtk_widget_set_name (button, device);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  else
    gtk_widget_add_css_class (row, "dim-label");

  adw_preferences_group_add (group, row);
  g_ptr_array_add (self->pci_rows, row);
}

static void
fill_pci (TsrSettingsWindow *self)
{
  const char *name = tsr_vm_get_name (self->vm);
  guint n_assigned = 0;
  guint n_available = 0;

  clear_pci_rows (self);

  for (guint i = 0; i < self->pci_devices->len; i++)
    {
      TsrPciDevice *device = g_ptr_array_index (self->pci_devices, i);
      const char *title = device->description && *device->description ? device->description
                                                                        : device->name;

      if (g_strcmp0 (device->assigned_to, name) == 0)
        {
          add_pci_row (self, self->assigned_group, title, device->address, _("_Detach"),
                       "settings.pci-detach", device->name, NULL);
          n_assigned++;
        }
      else if (device->assigned_to != NULL)
        {
          g_autofree char *subtitle = g_strdup_printf (_("%s · assigned to “%s”"),
                                                       device->address, device->assigned_to);
          g_autofree char *blocked = g_strdup_printf (_("Detach it from “%s” first"),
                                                      device->assigned_to);

          add_pci_row (self, self->available_group, title, subtitle, _("_Attach"),
                       "settings.pci-attach", device->name, blocked);
          n_available++;
        }
      else
        {
          add_pci_row (self, self->available_group, title, device->address, _("_Attach"),
                       "settings.pci-attach", device->name, NULL);
          n_available++;
        }
    }

  if (n_assigned == 0)
    add_pci_row (self, self->assigned_group, _("No devices assigned"),
                 NULL, NULL, NULL, NULL, NULL);
  if (n_available == 0)
    add_pci_row (self, self->available_group, _("No other PCI devices"),
                 NULL, NULL, NULL, NULL, NULL);
}

static void
tsr_settings_window_pci_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;

  devices = tsr_connection_list_pci_finish (TSR_CONNECTION (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  gtk_spinner_set_spinning (self->pci_spinner, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->pci_spinner), FALSE);

  if (devices == NULL)
    {
      clear_pci_rows (self);
      add_pci_row (self, self->assigned_group, _("Could not list the host’s PCI devices"),
                   error->message, NULL, NULL, NULL, NULL);
      return;
    }

  g_clear_pointer (&self->pci_devices, g_ptr_array_unref);
  self->pci_devices = g_steal_pointer (&devices);
  fill_pci (self);
  _tsr_settings_window_update (self);
}

void
_tsr_settings_window_read_pci (TsrSettingsWindow *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->pci_spinner), TRUE);
  gtk_spinner_set_spinning (self->pci_spinner, TRUE);
  tsr_connection_list_pci_async (self->connection, CANCELLABLE (self),
                                 tsr_settings_window_pci_cb, g_object_ref (self));
}


static void
tsr_settings_window_pci_done_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_pci_attach_finish (TSR_CONNECTION (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self->busy = FALSE;
      tsr_gui_show_error (GTK_WINDOW (self), _("Could Not Change the Device"), error->message);
      _tsr_settings_window_update (self);
      _tsr_settings_window_read_pci (self);
      return;
    }

  /* Attaching may have made the VM HVM: read everything again. */
  _tsr_settings_window_read_pci (self);
  _tsr_settings_window_read_prefs (self);
}

static void
pci_change (TsrSettingsWindow *self,
            const char        *device,
            gboolean           attach)
{
  if (self->busy)
    return;

  self->busy = TRUE;
  _tsr_settings_window_update (self);
  tsr_connection_pci_attach_async (self->connection, self->vm, device, attach, CANCELLABLE (self),
                                   tsr_settings_window_pci_done_cb, g_object_ref (self));
}

static void
tsr_settings_window_pci_attach_cb (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *param)
{
  pci_change (TSR_SETTINGS_WINDOW (widget), g_variant_get_string (param, NULL), TRUE);
}

static void
tsr_settings_window_pci_detach_cb (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *param)
{
  pci_change (TSR_SETTINGS_WINDOW (widget), g_variant_get_string (param, NULL), FALSE);
}

void
_tsr_settings_window_class_devices_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "settings.pci-attach", "s",
                                   tsr_settings_window_pci_attach_cb);
  gtk_widget_class_install_action (widget_class, "settings.pci-detach", "s",
                                   tsr_settings_window_pci_detach_cb);
}
