/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>

#include "tsr-application.h"
#include "tsr-connection.h"
#include "tsr-console-window.h"
#include "tsr-preferences-window.h"
#include "tsr-window.h"

struct _TsrApplication
{
  AdwApplication  parent_instance;
};

G_DEFINE_FINAL_TYPE (TsrApplication, tsr_application, ADW_TYPE_APPLICATION)

static const GOptionEntry main_entries[] = {
  { "connect", 'c', 0, G_OPTION_ARG_STRING, NULL,
    N_("Open the libvirt connection URI (default: the one set in Preferences, qemu:///system)"),
    N_("URI") },
  { "console", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Open the console of the VM NAME (in the running Tessera, if there is one)"),
    N_("NAME") },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Print the version and exit"), NULL },
  { NULL }
};

static const struct {
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "win.search", { "<Control>f", NULL } },
  { "win.vm-start", { "<Control>Return", NULL } },
  { "win.vm-shutdown", { "<Control><Shift>s", NULL } },
  { "win.vm-force-off", { "<Control><Shift>k", NULL } },
  { "win.vm-menu", { "<Shift>F10", "Menu", NULL } },
  { "win.copy-ip", { "<Control><Shift>c", NULL } },
  { "win.vm-clone", { "<Control><Shift>d", NULL } },
  { "win.import", { "<Control>i", NULL } },
  { "win.new-vm", { "<Control>n", NULL } },
  { "win.vm-settings", { "<Alt>Return", NULL } },
};

static void
tsr_application_quit_cb (GSimpleAction *action,
                         GVariant      *param,
                         gpointer       user_data)
{
  TsrApplication *self = user_data;
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Closing, not destroying, lets each window save its size; the
   * application ends with its last window.
   */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static void
tsr_application_preferences_cb (GSimpleAction *action,
                                GVariant      *param,
                                gpointer       user_data)
{
  TsrApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  TsrPreferencesWindow *preferences = tsr_preferences_window_new ();

  gtk_window_set_transient_for (GTK_WINDOW (preferences), parent);
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
tsr_application_about_cb (GSimpleAction *action,
                          GVariant      *param,
                          gpointer       user_data)
{
  TsrApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  static const char *developers[] = { "The Tessera developers", NULL };

  adw_show_about_window (parent,
                         "application-name", _("Tessera"),
                         "application-icon", APP_ID,
                         "version", PACKAGE_VERSION,
                         "developer-name", _("The Tessera developers"),
                         "developers", developers,
                         "comments", _("Create, run and manage libvirt virtual machines, the Qubes way"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "copyright", "© 2024 The Tessera developers",
                         /* Translators: put your names here, one per line */
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", tsr_application_quit_cb },
  { "preferences", tsr_application_preferences_cb },
  { "about", tsr_application_about_cb },
};

/**
 * tsr_application_open_uri:
 * @self: a #TsrApplication
 * @uri: a libvirt URI
 *
 * Shows the window of @uri, opening a new one when none shows it yet.
 *
 * Returns: (transfer none): the window
 */
GtkWindow *
tsr_application_open_uri (TsrApplication *self,
                          const char     *uri)
{
  TsrWindow *window;

  g_return_val_if_fail (TSR_IS_APPLICATION (self), NULL);
  g_return_val_if_fail (uri != NULL, NULL);

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    {
      if (TSR_IS_WINDOW (l->data) && g_strcmp0 (tsr_window_get_uri (l->data), uri) == 0)
        {
          gtk_window_present (l->data);
          return l->data;
        }
    }

  window = tsr_window_new (GTK_APPLICATION (self), uri);
  gtk_window_present (GTK_WINDOW (window));

  return GTK_WINDOW (window);
}

static void
console_connection_open_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* The console window shows why, and the connection tries again. */
  if (!tsr_connection_open_finish (TSR_CONNECTION (object), result, &error))
    g_debug ("Could not connect for a console: %s", error->message);
}

/**
 * tsr_application_open_console:
 * @self: a #TsrApplication
 * @uri: a libvirt URI
 * @vm_name: a VM's name
 *
 * Shows the console of @vm_name on @uri, through the connection of the
 * main window of @uri if one is open, else through one of its own, so that
 * `tessera --console NAME` opens the console alone.
 *
 * Returns: (transfer none): the console window
 */
GtkWindow *
tsr_application_open_console (TsrApplication *self,
                              const char     *uri,
                              const char     *vm_name)
{
  g_autoptr(TsrConnection) connection = NULL;

  g_return_val_if_fail (TSR_IS_APPLICATION (self), NULL);
  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (vm_name != NULL, NULL);

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    {
      if (TSR_IS_WINDOW (l->data) && g_strcmp0 (tsr_window_get_uri (l->data), uri) == 0)
        g_set_object (&connection, tsr_window_get_connection (l->data));
      else if (TSR_IS_CONSOLE_WINDOW (l->data) && connection == NULL &&
               g_strcmp0 (tsr_connection_get_uri (tsr_console_window_get_connection (l->data)), uri) == 0)
        g_set_object (&connection, tsr_console_window_get_connection (l->data));
    }

  if (connection == NULL)
    {
      connection = tsr_connection_new (uri);
      tsr_connection_open_async (connection, NULL, console_connection_open_cb, NULL);
    }

  return GTK_WINDOW (tsr_console_window_present (GTK_APPLICATION (self), connection, vm_name));
}

/* Read when a window opens, never earlier: --help and --version must work
 * without the schema.
 */
static char *
tsr_application_dup_default_uri (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *uri = g_settings_get_string (settings, "default-uri");

  g_strstrip (uri);
  if (*uri == '\0')
    return g_strdup (TSR_DEFAULT_URI);

  return g_steal_pointer (&uri);
}

static int
tsr_application_handle_local_options (GApplication *application,
                                      GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("%s %s\n", "tessera", PACKAGE_VERSION);
      return 0;
    }

  return -1;
}

static int
tsr_application_command_line (GApplication            *application,
                              GApplicationCommandLine *command_line)
{
  TsrApplication *self = TSR_APPLICATION (application);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree char *uri = NULL;
  g_autofree char *vm_name = NULL;

  if (!g_variant_dict_lookup (options, "connect", "s", &uri) || *g_strstrip (uri) == '\0')
    {
      g_clear_pointer (&uri, g_free);
      uri = tsr_application_dup_default_uri ();
    }

  if (g_variant_dict_lookup (options, "console", "s", &vm_name))
    tsr_application_open_console (self, uri, vm_name);
  else
    tsr_application_open_uri (self, uri);

  return 0;
}

static void
tsr_application_activate (GApplication *application)
{
  TsrApplication *self = TSR_APPLICATION (application);
  g_autofree char *uri = tsr_application_dup_default_uri ();

  tsr_application_open_uri (self, uri);
}

static void
tsr_application_startup (GApplication *application)
{
  TsrApplication *self = TSR_APPLICATION (application);

  G_APPLICATION_CLASS (tsr_application_parent_class)->startup (application);

  tsr_init ();

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                           accels[i].action,
                                           accels[i].accels);
}

static void
tsr_application_class_init (TsrApplicationClass *klass)
{
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  application_class->activate = tsr_application_activate;
  application_class->command_line = tsr_application_command_line;
  application_class->handle_local_options = tsr_application_handle_local_options;
  application_class->startup = tsr_application_startup;
}

static void
tsr_application_init (TsrApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), main_entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), NULL);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Manage the virtual machines of a libvirt host."));
}

/* Translations of the .ui files and of the core come from the same domain. */
static void
tsr_application_setup_i18n (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      setlocale (LC_ALL, "");
      bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      textdomain (GETTEXT_PACKAGE);
      g_once_init_leave (&done, 1);
    }
}

TsrApplication *
tsr_application_new (void)
{
  tsr_application_setup_i18n ();

  return g_object_new (TSR_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE,
                       "resource-base-path", "/org/tessera/Tessera",
                       NULL);
}
