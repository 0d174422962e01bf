/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-error.h"
#include "tsr-gui-util.h"
#include "tsr-private-volume.h"
#include "tsr-settings-window-private.h"

/* An AppVM's template and private disk, on the Basic page. The template
 * changes through qvm-prefs' "template", only while the VM is halted; the
 * private disk only grows, through its own call after the properties.
 */

#define GIB ((double) (G_GUINT64_CONSTANT (1) << 30))
#define MIB (G_GUINT64_CONSTANT (1) << 20)

gboolean
_tsr_settings_window_is_template_based (TsrSettingsWindow *self)
{
  return tsr_vm_get_base_template (self->vm) != NULL;
}

static gboolean
is_appvm (TsrSettingsWindow *self)
{
  return g_strcmp0 (tsr_vm_get_vm_class (self->vm), "AppVM") == 0;
}

static int
compare_choices (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (tsr_choice_get_value (*(TsrChoice **) a), tsr_choice_get_value (*(TsrChoice **) b));
}

/* The TemplateVMs of the connection, and the current template should it
 * be gone.
 */
void
_tsr_settings_window_fill_templates (TsrSettingsWindow *self)
{
  g_autoptr(GPtrArray) choices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GString) names = g_string_new (NULL);
  GListModel *vms = tsr_connection_get_vms (self->connection);
  const char *current = _tsr_settings_window_pref_value (self, "template");
  gboolean listed = FALSE;

  gtk_widget_set_visible (GTK_WIDGET (self->template_group),
                          _tsr_settings_window_is_template_based (self));
  if (!_tsr_settings_window_is_template_based (self))
    return;

  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);
      const char *name = tsr_vm_get_name (vm);

      if (g_strcmp0 (tsr_vm_get_vm_class (vm), "TemplateVM") != 0)
        continue;
      listed = listed || g_strcmp0 (name, current) == 0;
      g_ptr_array_add (choices, tsr_choice_new (name, name, NULL));
    }
  if (*current != '\0' && !listed)
    {
      g_autofree char *title = g_strdup_printf (_("%s (missing)"), current);

      g_ptr_array_add (choices, tsr_choice_new (current, title, NULL));
    }
  g_ptr_array_sort (choices, compare_choices);
  for (guint i = 0; i < choices->len; i++)
    g_string_append_printf (names, "%s\n", tsr_choice_get_value (g_ptr_array_index (choices, i)));
  if (g_strcmp0 (names->str, self->template_names) == 0)
    return;
  g_free (self->template_names);
  self->template_names = g_string_free (g_steal_pointer (&names), FALSE);
  /* The user's choice stays while it is offered. */
  tsr_choice_row_set_choices (self->template_row, choices, current);
}

/* TemplateVMs made or removed while the window is open. */
static void
tsr_settings_window_vms_changed_cb (TsrSettingsWindow *self,
                                    guint              position,
                                    guint              removed,
                                    guint              added,
                                    GListModel        *vms)
{
  if (!self->loaded || self->filling)
    return;

  self->filling = TRUE;
  _tsr_settings_window_fill_templates (self);
  self->filling = FALSE;
  _tsr_settings_window_update (self);
}

/* The private disk */

static guint64
private_spin_bytes (TsrSettingsWindow *self)
{
  double gib = gtk_spin_button_get_value (self->private_spin);
  /* Whole MiB; no libm for the rounding. */
  guint64 bytes = (guint64) (gib * 1024.0 + 0.5) * MIB;

  return MAX (bytes, self->private_size);
}

gboolean
_tsr_settings_window_private_changed (TsrSettingsWindow *self)
{
  /* The spin button shows tenths of a GiB: a change is one of them. */
  return self->private_size > 0 &&
         private_spin_bytes (self) >= self->private_size + MIB;
}

static void
tsr_settings_window_private_size_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  GtkAdjustment *adjustment = gtk_spin_button_get_adjustment (self->private_spin);
  guint64 size = 0;

  if (!tsr_connection_get_private_size_finish (TSR_CONNECTION (object), result, &size, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_free (self->private_error);
      self->private_error = g_strdup (error->message);
      size = 0;
    }
  else
    g_clear_pointer (&self->private_error, g_free);

  /* Growing only: the spin button starts at the size it has. */
  self->private_size = size;
  self->filling = TRUE;
  gtk_adjustment_set_lower (adjustment, size / GIB);
  gtk_adjustment_set_value (adjustment, size / GIB);
  self->filling = FALSE;
  _tsr_settings_window_update (self);
}

static void
read_private (TsrSettingsWindow *self)
{
  if (!is_appvm (self))
    return;
  tsr_connection_get_private_size_async (self->connection, self->vm, CANCELLABLE (self),
                                         tsr_settings_window_private_size_cb,
                                         g_object_ref (self));
}

static void
tsr_settings_window_private_grown_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(TsrSettingsWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_grow_private_finish (TSR_CONNECTION (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      tsr_gui_show_error (GTK_WINDOW (self), _("Could Not Grow the Private Storage"),
                          error->message);
    }
  else
    adw_toast_overlay_add_toast (self->toast_overlay,
                                 adw_toast_new (_("Private storage grown: grow its file system "
                                                  "in the VM to use the space")));

  /* The settings as they are now, the size too. */
  self->busy = FALSE;
  g_clear_pointer (&self->prefs, g_ptr_array_unref);
  self->loaded = FALSE;
  self->pending_loads++;
  _tsr_settings_window_read_prefs (self);
  read_private (self);
}

/* Apply, once the properties are written (or when only the size changed). */
void
_tsr_settings_window_grow_private (TsrSettingsWindow *self)
{
  self->busy = TRUE;
  _tsr_settings_window_update (self);
  tsr_connection_grow_private_async (self->connection, self->vm, private_spin_bytes (self),
                                     CANCELLABLE (self), tsr_settings_window_private_grown_cb,
                                     g_object_ref (self));
}

/* Checking */

void
_tsr_settings_window_update_template (TsrSettingsWindow *self)
{
  g_autofree char *note = NULL;
  g_autofree char *size = NULL;
  gboolean running = tsr_vm_is_active (self->vm);

  if (!_tsr_settings_window_is_template_based (self))
    return;

  /* An AppVM boots its template's root at each start: it moves to another
   * template only while halted.
   */
  gtk_widget_set_sensitive (GTK_WIDGET (self->template_row), !running && !self->busy);
  if (running)
    note = g_strdup_printf (_("“%s” is running: shut it down to give it another template."),
                            tsr_vm_get_name (self->vm));
  else if (_tsr_settings_window_field_changed (self, FIELD_TEMPLATE))
    note = g_strdup (_("At its next start the VM boots the newest revision of the new "
                       "template; its private disk stays as it is."));
  _tsr_settings_window_show_message (self->template_note, NULL, note, TRUE);

  gtk_widget_set_visible (GTK_WIDGET (self->private_row), is_appvm (self));
  /* Without a size read there is nothing to grow: only why. */
  gtk_widget_set_visible (GTK_WIDGET (self->private_spin), self->private_size > 0);
  gtk_widget_set_visible (self->private_unit, self->private_size > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->private_spin), !self->busy);
  if (self->private_size == 0)
    {
      adw_action_row_set_subtitle (self->private_row,
                                   self->private_error ? self->private_error : _("Reading…"));
      return;
    }
  size = g_format_size_full (self->private_size, G_FORMAT_SIZE_IEC_UNITS);
  if (_tsr_settings_window_private_changed (self))
    {
      g_autofree char *grown = g_format_size_full (private_spin_bytes (self), G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *subtitle = g_strdup_printf (_("%s now; Apply grows it to %s"), size, grown);

      adw_action_row_set_subtitle (self->private_row, subtitle);
    }
  else
    {
      g_autofree char *subtitle = g_strdup_printf (_("%s now; it can only grow"), size);

      adw_action_row_set_subtitle (self->private_row, subtitle);
    }
}

void
_tsr_settings_window_template_init (TsrSettingsWindow *self)
{
  if (!_tsr_settings_window_is_template_based (self))
    return;
  g_signal_connect_object (tsr_connection_get_vms (self->connection), "items-changed",
                           G_CALLBACK (tsr_settings_window_vms_changed_cb),
                           self, G_CONNECT_SWAPPED);
  read_private (self);
}

void
_tsr_settings_window_class_template_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, template_group);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, template_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, private_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, private_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, private_unit);
  gtk_widget_class_bind_template_child (widget_class, TsrSettingsWindow, template_note);
}
