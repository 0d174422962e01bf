/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-preferences-window.h"

struct _TsrPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  AdwEntryRow          *uri_row;
  AdwEntryRow          *kernels_row;

  GSettings            *settings;
};

G_DEFINE_FINAL_TYPE (TsrPreferencesWindow, tsr_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* Each switch of the "List Columns" group, by its id in the .ui, and the key
 * it stands for.
 */
static const struct {
  const char *switch_id;
  const char *key;
} column_switches[] = {
  { "label_switch", "show-column-label" },
  { "name_switch", "show-column-name" },
  { "state_switch", "show-column-state" },
  { "class_switch", "show-column-class" },
  { "template_switch", "show-column-template" },
  { "virt_mode_switch", "show-column-virt-mode" },
  { "network_switch", "show-column-network" },
  { "ip_switch", "show-column-ip" },
  { "netmask_switch", "show-column-netmask" },
  { "gateway_switch", "show-column-gateway" },
  { "mac_switch", "show-column-mac" },
};

static void
tsr_preferences_window_kernels_applied_cb (TsrPreferencesWindow *self,
                                           AdwEntryRow          *row)
{
  g_settings_set_string (self->settings, "kernels-dir",
                         gtk_editable_get_text (GTK_EDITABLE (row)));
}

static void
tsr_preferences_window_dispose (GObject *object)
{
  TsrPreferencesWindow *self = (TsrPreferencesWindow *) object;

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tsr_preferences_window_parent_class)->dispose (object);
}

static void
tsr_preferences_window_class_init (TsrPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrPreferencesWindow, uri_row);
  gtk_widget_class_bind_template_child (widget_class, TsrPreferencesWindow, kernels_row);
  gtk_widget_class_bind_template_callback (widget_class, tsr_preferences_window_kernels_applied_cb);
  /* Offset 0: not kept in the struct, looked up by id in init. */
  for (guint i = 0; i < G_N_ELEMENTS (column_switches); i++)
    gtk_widget_class_bind_template_child_full (widget_class, column_switches[i].switch_id, FALSE, 0);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tsr_preferences_window_init (TsrPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);

  g_settings_bind (self->settings, "default-uri", self->uri_row, "text", G_SETTINGS_BIND_DEFAULT);
  /* Half-typed folders are not applied: only Apply (or Enter) stores it. */
  g_settings_bind (self->settings, "kernels-dir", self->kernels_row, "text", G_SETTINGS_BIND_GET);

  for (guint i = 0; i < G_N_ELEMENTS (column_switches); i++)
    {
      GObject *sw = gtk_widget_get_template_child (GTK_WIDGET (self),
                                                   TSR_TYPE_PREFERENCES_WINDOW,
                                                   column_switches[i].switch_id);

      g_assert (GTK_IS_SWITCH (sw));
      g_settings_bind (self->settings, column_switches[i].key, sw, "active", G_SETTINGS_BIND_DEFAULT);
    }
}

TsrPreferencesWindow *
tsr_preferences_window_new (void)
{
  return g_object_new (TSR_TYPE_PREFERENCES_WINDOW, NULL);
}
