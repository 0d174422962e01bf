/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Import window, used by an ordinary desktop account: run by
 * test-import.c's desktop-user test as that account (setpriv), under an X
 * server and a D-Bus session of its own.
 *
 *   import-gui-as-user URI FILE.ova NAME
 *
 * Opens the main window on URI, the Import window on FILE, names the VM
 * NAME, clicks Import and waits for the VM in the list. The account may
 * not write the pool's folder, so the disk must have gone through libvirt:
 * one of the stages shown says so. Exits with 0 when all of that held;
 * otherwise aborts with what did not. Writes import-as-user-*.png into
 * $TESSERA_BUILD_DIR/screenshots when that is writable.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "tsr-application.h"
#include "tsr-import-window.h"
#include "tsr-operation.h"
#include "tsr-window.h"
#include "tsr-test-util.h"

#define TIMEOUT_MS 30000
/* The import itself: a small appliance, but QEMU's tools under load. */
#define IMPORT_TIMEOUT_MS (5 * 60 * 1000)

typedef struct
{
  TsrWindow  *window;
  const char *name;
} VmWait;

static gboolean
import_loaded (gpointer data)
{
  return !tsr_dialog_get_loading (TSR_DIALOG (data)) &&
         g_strcmp0 (tsr_import_window_get_page (data), "reading") != 0;
}

static gboolean
operation_finished (gpointer data)
{
  return tsr_operation_get_finished (data);
}

static gboolean
vm_listed (gpointer data)
{
  VmWait *wait = data;

  return tsr_connection_lookup_vm (tsr_window_get_connection (wait->window), wait->name) != NULL;
}

static void
stage_changed_cb (TsrOperation *operation,
                  GParamSpec   *pspec,
                  GPtrArray    *stages)
{
  const char *stage = tsr_operation_get_stage (operation);

  if (stage != NULL && (stages->len == 0 ||
                        g_strcmp0 (g_ptr_array_index (stages, stages->len - 1), stage) != 0))
    g_ptr_array_add (stages, g_strdup (stage));
}

static void
screenshot (GtkWidget  *widget,
            const char *name)
{
  g_autofree char *path = tsr_test_screenshot_path (name);
  g_autofree char *dir = g_path_get_dirname (path);

  /* The build folder is root's in the test run: no picture then. */
  if (access (dir, W_OK) == 0)
    tsr_test_write_window_screenshot (widget, name, 2, TIMEOUT_MS);
}

static gboolean
stage_says_libvirt (GPtrArray *stages)
{
  for (guint i = 0; i < stages->len; i++)
    if (strstr (g_ptr_array_index (stages, i), "to libvirt") != NULL)
      return TRUE;
  return FALSE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GFile) file = NULL;
  g_autoptr(TsrApplication) app = NULL;
  TsrImportWindow *dialog;
  TsrOperation *operation;
  TsrWindow *window;
  GObject *button;
  GObject *name_row;
  VmWait wait;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  if (argc != 4)
    g_error ("usage: %s URI FILE NAME", argv[0]);
  g_assert_cmpuint (getuid (), !=, 0);

  app = tsr_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) |
                           G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  window = tsr_test_open_window (GTK_APPLICATION (app), argv[1], "list", 2, TIMEOUT_MS);
  file = g_file_new_for_path (argv[2]);
  dialog = tsr_import_window_new (GTK_WINDOW (window), tsr_window_get_connection (window), file);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (tsr_test_spin_until (import_loaded, dialog, TIMEOUT_MS));
  g_assert_cmpstr (tsr_import_window_get_page (dialog), ==, "form");

  name_row = gtk_widget_get_template_child (GTK_WIDGET (dialog), TSR_TYPE_IMPORT_WINDOW,
                                            "name_row");
  button = gtk_widget_get_template_child (GTK_WIDGET (dialog), TSR_TYPE_IMPORT_WINDOW,
                                          "import_button");
  g_assert_nonnull (name_row);
  g_assert_nonnull (button);
  gtk_editable_set_text (GTK_EDITABLE (name_row), argv[3]);
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (button)));
  screenshot (GTK_WIDGET (dialog), "import-as-user-form.png");

  g_signal_emit_by_name (button, "clicked");
  operation = g_object_ref (tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog)));
  g_assert_nonnull (operation);
  g_signal_connect (operation, "notify::stage", G_CALLBACK (stage_changed_cb), stages);
  g_assert_true (tsr_test_spin_until (operation_finished, operation, IMPORT_TIMEOUT_MS));
  if (tsr_operation_get_error (operation) != NULL)
    g_error ("The import failed for %s: %s", g_get_user_name (),
             tsr_operation_get_error (operation)->message);
  g_assert_cmpstr (tsr_operation_get_result (operation), ==, argv[3]);
  if (!stage_says_libvirt (stages))
    {
      g_autofree char *seen = NULL;

      g_ptr_array_add (stages, NULL);
      seen = g_strjoinv (" | ", (char **) stages->pdata);
      g_error ("No stage sent the disk through libvirt: %s", seen);
    }

  wait = (VmWait) { window, argv[3] };
  g_assert_true (tsr_test_spin_until (vm_listed, &wait, TIMEOUT_MS));
  screenshot (GTK_WIDGET (window), "import-as-user-done.png");
  g_print ("imported %s as %s; stages: %u\n", argv[3], g_get_user_name (), stages->len);

  g_object_unref (operation);
  tsr_test_close_window (window, TIMEOUT_MS);
  return 0;
}
