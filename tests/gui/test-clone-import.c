/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-application.h"
#include "tsr-choice-row.h"
#include "tsr-clone-window.h"
#include "tsr-connection-private.h"
#include "tsr-import-window.h"
#include "tsr-journal.h"
#include "tsr-operation.h"
#include "tsr-window.h"
#include "tsr-test-util.h"

/* Clone… and Import… for real, on libvirt's test driver, under Xvfb: the
 * tests drive the dialogs through their widgets and actions and check the
 * list, the toasts and what is left on the connection.
 *
 * The test driver's volumes are not files. Where bytes must really move
 * (a full clone's copy, an import's conversion) the test adds a directory
 * pool whose folder is real, through libvirt itself, and for the import
 * makes the file of the volume the core will create, as the test driver
 * would not.
 */

#define TIMEOUT_MS 15000
#define MIB (1024 * 1024)
/* g_format_size() puts a no-break space before the unit. */
#define NBSP "\xc2\xa0"

static TsrApplication *app;
static char *tmpdir;

/* Clones and imports started with held_click() report to CORE_CONTEXT, which
 * only spin_core_until() and spin_all_until() run: between them the
 * window's state stays as the core last left it while GTK draws frames, so
 * a screenshot catches a copy mid-way however fast the disk is. The core's
 * worker threads go on meanwhile.
 */
static GMainContext *core_context;

static void
run_core (gboolean may_block)
{
  g_main_context_push_thread_default (core_context);
  g_main_context_iteration (core_context, may_block);
  while (g_main_context_pending (core_context))
    g_main_context_iteration (core_context, FALSE);
  g_main_context_pop_thread_default (core_context);
}

static gboolean
spin_core_until (TsrTestCondition condition,
                 gpointer  data)
{
  gboolean timed_out = FALSE;
  GSource *source = g_timeout_source_new (TIMEOUT_MS);

  g_source_set_callback (source, tsr_test_timed_out_cb, &timed_out, NULL);
  g_source_attach (source, core_context);
  while (!condition (data) && !timed_out)
    run_core (TRUE);
  g_source_destroy (source);
  g_source_unref (source);

  return condition (data);
}

static gboolean
spin_all_until (TsrTestCondition condition,
                gpointer  data)
{
  gint64 end = g_get_monotonic_time () + TIMEOUT_MS * 1000;

  while (!condition (data) && g_get_monotonic_time () < end)
    {
      run_core (FALSE);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }

  return condition (data);
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Screenshots */

static void
write_main_screenshot (TsrWindow  *window,
                       const char *name)
{
  g_autofree char *path = tsr_test_screenshot_path (name);
  g_autoptr(GError) error = NULL;

  tsr_test_wait_for_frames (GTK_WIDGET (window), 2, TIMEOUT_MS);
  g_assert_true (tsr_test_window_write_screenshot (window, path, &error));
  g_assert_no_error (error);
  g_test_message ("Screenshot: %s", path);
}

/* The main window */

static TsrWindow *
open_window (void)
{
  return tsr_test_open_window (GTK_APPLICATION (app), NULL, "list", 2, TIMEOUT_MS);
}

static TsrVm *
lookup (TsrWindow  *window,
        const char *name)
{
  return tsr_connection_lookup_vm (tsr_window_get_connection (window), name);
}

typedef struct
{
  TsrWindow  *window;
  const char *name;
} VmWait;

static gboolean
vm_listed (gpointer data)
{
  VmWait *wait = data;

  return lookup (wait->window, wait->name) != NULL;
}

static gboolean
vm_selected (gpointer data)
{
  VmWait *wait = data;
  TsrVm *vm = tsr_window_get_selected_vm (wait->window);

  return vm != NULL && g_strcmp0 (tsr_vm_get_name (vm), wait->name) == 0;
}

static gboolean
vm_shut_off (gpointer data)
{
  VmWait *wait = data;
  TsrVm *vm = lookup (wait->window, wait->name);

  return vm != NULL && !tsr_vm_is_active (vm);
}

typedef struct
{
  TsrWindow  *window;
  const char *vm;
  const char *field;
} CellWait;

static gboolean
cell_mapped (gpointer data)
{
  CellWait *wait = data;
  TsrVmCell *cell = tsr_test_window_find_cell (wait->window, wait->vm, wait->field);

  return cell != NULL && gtk_widget_get_mapped (GTK_WIDGET (cell));
}

/* What the list shows, read from the cell on screen. */
static const char *
cell_text (TsrWindow  *window,
           const char *vm,
           const char *field)
{
  CellWait wait = { window, vm, field };

  g_assert_true (tsr_test_spin_until (cell_mapped, &wait, TIMEOUT_MS));
  return tsr_vm_cell_get_text (tsr_test_window_find_cell (window, vm, field));
}

static GtkWidget *
find_label_containing (GtkWidget  *widget,
                       const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
      strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL)
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label_containing (child, text);

      if (found != NULL)
        return found;
    }

  return NULL;
}


typedef struct
{
  GtkWidget  *window;
  const char *text;
} LabelWait;

static gboolean
label_shown (gpointer data)
{
  LabelWait *wait = data;

  return find_label_containing (wait->window, wait->text) != NULL;
}

static void
assert_toast (GtkWidget  *window,
              const char *text)
{
  LabelWait wait = { window, text };

  if (!tsr_test_spin_until (label_shown, &wait, TIMEOUT_MS))
    g_error ("No toast says “%s”", text);
}

static gboolean
menu_has_item (GMenuModel *menu,
               const char *label,
               const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autofree char *item_label = NULL;
      g_autofree char *item_action = NULL;
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);

      if (section != NULL && menu_has_item (section, label, action))
        return TRUE;

      g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_LABEL, "s", &item_label);
      g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_ACTION, "s", &item_action);
      if (g_strcmp0 (item_label, label) == 0 && g_strcmp0 (item_action, action) == 0)
        return TRUE;
    }

  return FALSE;
}

/* Dialogs */

static GtkWindow *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return window;
    }

  return NULL;
}

static gboolean
toplevel_shown (gpointer data)
{
  GtkWindow *window = find_toplevel ((GType) GPOINTER_TO_SIZE (data));

  return window != NULL && gtk_widget_get_mapped (GTK_WIDGET (window));
}

static gboolean
toplevel_gone (gpointer data)
{
  return find_toplevel ((GType) GPOINTER_TO_SIZE (data)) == NULL;
}

static gpointer
wait_for_toplevel (GType type)
{
  if (!tsr_test_spin_until (toplevel_shown, GSIZE_TO_POINTER (type), TIMEOUT_MS))
    {
      GListModel *toplevels = gtk_window_get_toplevels ();

      for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
        {
          g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

          g_test_message ("Toplevel: %s, %s", G_OBJECT_TYPE_NAME (window),
                          gtk_widget_get_mapped (GTK_WIDGET (window)) ? "mapped" : "not mapped");
        }
      g_error ("No %s came up", g_type_name (type));
    }
  return find_toplevel (type);
}

static GtkWidget *
child (gpointer    dialog,
       GType       type,
       const char *id)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (dialog), type, id);

  g_assert_nonnull (object);
  return GTK_WIDGET (object);
}

/* Chooses VALUE in the drop-down ID of DIALOG, as the user would. */
static gboolean
select_choice (gpointer    dialog,
               GType       type,
               const char *id,
               const char *value)
{
  return tsr_choice_row_select_value (TSR_CHOICE_ROW (child (dialog, type, id)), value);
}

/* The reason under the name, or NULL when none is shown. */
static const char *
shown_message (gpointer    dialog,
               GType       type,
               const char *id)
{
  GtkWidget *label = child (dialog, type, id);

  return gtk_widget_get_visible (label) ? gtk_label_get_text (GTK_LABEL (label)) : NULL;
}

static void
type_text (gpointer    dialog,
           GType       type,
           const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (child (dialog, type, "name_row")), text);
}

static gboolean
clone_loaded (gpointer data)
{
  return !tsr_dialog_get_loading (TSR_DIALOG (data));
}

static gboolean
import_loaded (gpointer data)
{
  return !tsr_dialog_get_loading (TSR_DIALOG (data)) &&
         g_strcmp0 (tsr_import_window_get_page (data), "reading") != 0;
}

static gboolean
widget_hidden (gpointer data)
{
  return !gtk_widget_get_visible (data);
}

static gboolean
widget_sensitive (gpointer data)
{
  return gtk_widget_is_sensitive (data);
}

static gboolean
operation_finished (gpointer data)
{
  return tsr_operation_get_finished (data);
}

static gboolean
no_operations (gpointer data)
{
  return g_list_model_get_n_items (tsr_window_get_operations (data)) == 0;
}

/* The real pool: a folder of the test's, known to the test driver. */

static virConnectPtr
handle_of (TsrWindow *window)
{
  return tsr_connection_get_handle (tsr_window_get_connection (window));
}

static virStoragePoolPtr
add_real_pool (TsrWindow  *window,
               const char *name,
               const char *dir)
{
  g_autofree char *xml = g_strdup_printf ("<pool type='dir'><name>%s</name>"
                                          "<target><path>%s</path></target></pool>", name, dir);
  virStoragePoolPtr pool = virStoragePoolCreateXML (handle_of (window), xml, 0);

  g_assert_nonnull (pool);
  return pool;
}

static gboolean
pool_has_volume (virStoragePoolPtr  pool,
                 const char        *name)
{
  virStorageVolPtr vol = virStorageVolLookupByName (pool, name);

  if (vol == NULL)
    {
      virResetLastError ();
      return FALSE;
    }
  virStorageVolFree (vol);
  return TRUE;
}

/* What a click does, at once: activating a button waits for its animation. */
static void
click (GtkWidget *button)
{
  g_assert_true (gtk_widget_get_visible (button));
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* A click that starts a clone or an import whose reports are held in
 * CORE_CONTEXT.
 */
static void
held_click (GtkWidget *button)
{
  g_main_context_push_thread_default (core_context);
  click (button);
  g_main_context_pop_thread_default (core_context);
}

static void
run (const char *command)
{
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* Tests */

/* Right-click → Clone… on a shut-off TemplateVM: the suggested name, the
 * reason for a wrong one, and the clone in the list with the source's label
 * and class and a MAC and address of its own.
 */
static void
test_clone_vault (void)
{
  TsrWindow *window = open_window ();
  GMenuModel *menu = tsr_test_window_get_vm_menu (window);
  TsrVm *vault = lookup (window, "vault");
  TsrCloneWindow *dialog;
  GtkWidget *clone_button;
  GtkWidget *operations_button;
  TsrOperation *operation;
  VmWait wait = { window, "vault-copy" };

  g_assert_true (menu_has_item (menu, "Clone…", "win.vm-clone"));
  g_assert_true (tsr_window_select_vm (window, vault));
  tsr_test_window_popup_vm_menu (window, "name");
  g_assert_true (tsr_test_spin_until (tsr_test_widget_mapped, tsr_test_window_get_context_menu (window), TIMEOUT_MS));
  gtk_popover_popdown (tsr_test_window_get_context_menu (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));

  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_true (tsr_clone_window_get_source (dialog) == vault);
  g_assert_true (tsr_test_spin_until (clone_loaded, dialog, TIMEOUT_MS));
  clone_button = child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button");

  /* Pre-filled with the first free suggestion, valid, and Clone ready. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (dialog, TSR_TYPE_CLONE_WINDOW,
                                                               "name_row"))), ==, "vault-clone-1");
  g_assert_null (shown_message (dialog, TSR_TYPE_CLONE_WINDOW, "name_error"));
  g_assert_true (gtk_widget_is_sensitive (clone_button));
  g_assert_false (gtk_widget_get_visible (child (dialog, TSR_TYPE_CLONE_WINDOW, "running_group")));
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (child (dialog, TSR_TYPE_CLONE_WINDOW,
                                                                       "full_check"))));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "clone-dialog.png", 2, TIMEOUT_MS);

  /* As the user types: the reason, and no Clone. */
  type_text (dialog, TSR_TYPE_CLONE_WINDOW, "9lives");
  g_assert_nonnull (strstr (shown_message (dialog, TSR_TYPE_CLONE_WINDOW, "name_error"),
                            "must start with a letter"));
  g_assert_false (gtk_widget_is_sensitive (clone_button));
  g_assert_true (gtk_widget_has_css_class (child (dialog, TSR_TYPE_CLONE_WINDOW, "name_row"), "error"));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "clone-invalid-name.png", 2, TIMEOUT_MS);

  type_text (dialog, TSR_TYPE_CLONE_WINDOW, "work-web");
  g_assert_nonnull (strstr (shown_message (dialog, TSR_TYPE_CLONE_WINDOW, "name_error"),
                            "already exists"));
  g_assert_false (gtk_widget_is_sensitive (clone_button));

  type_text (dialog, TSR_TYPE_CLONE_WINDOW, "");
  g_assert_nonnull (strstr (shown_message (dialog, TSR_TYPE_CLONE_WINDOW, "name_error"), "empty"));
  g_assert_false (gtk_widget_is_sensitive (clone_button));

  type_text (dialog, TSR_TYPE_CLONE_WINDOW, "vault-copy");
  g_assert_null (shown_message (dialog, TSR_TYPE_CLONE_WINDOW, "name_error"));
  g_assert_true (gtk_widget_is_sensitive (clone_button));
  g_assert_false (gtk_widget_has_css_class (child (dialog, TSR_TYPE_CLONE_WINDOW, "name_row"), "error"));

  /* Clone: the progress page, and the operation the main window follows. */
  click (clone_button);
  operation = tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog));
  g_assert_nonnull (operation);
  g_object_ref (operation);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (child (dialog, TSR_TYPE_CLONE_WINDOW,
                                                                       "stack"))), ==, "progress");
  g_assert_cmpuint (g_list_model_get_n_items (tsr_window_get_operations (window)), ==, 1);
  operations_button = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window), TSR_TYPE_WINDOW,
                                                                 "operations_button"));
  g_assert_true (gtk_widget_get_visible (operations_button));

  /* Done: the dialog closes, the row is there and selected, a toast says so. */
  g_assert_true (tsr_test_spin_until (operation_finished, operation, TIMEOUT_MS));
  g_assert_cmpstr (tsr_operation_get_result (operation), ==, "vault-copy");
  g_assert_null (tsr_operation_get_error (operation));
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (vm_listed, &wait, TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (vm_selected, &wait, TIMEOUT_MS));
  assert_toast (GTK_WIDGET (window), "Cloned “vault” as “vault-copy”");
  g_assert_true (tsr_test_spin_until (no_operations, window, TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (widget_hidden, operations_button, TIMEOUT_MS));

  g_assert_cmpstr (cell_text (window, "vault-copy", "label"), ==, "black");
  g_assert_cmpstr (cell_text (window, "vault-copy", "class"), ==, "TemplateVM");
  g_assert_cmpstr (cell_text (window, "vault-copy", "network"), ==, "tessera-unit");
  g_assert_cmpstr (tsr_vm_get_mac (lookup (window, "vault-copy")), !=, tsr_vm_get_mac (vault));
  g_assert_true (g_str_has_prefix (cell_text (window, "vault-copy", "mac"), "52:54:00:"));
  g_assert_cmpstr (cell_text (window, "vault-copy", "mac"), !=, "52:54:00:00:00:02");
  /* Its own reservation on the same network. */
  g_assert_true (g_str_has_prefix (cell_text (window, "vault-copy", "ip"), "10.137.9."));
  g_assert_cmpstr (cell_text (window, "vault-copy", "ip"), !=, "10.137.9.3");
  write_main_screenshot (window, "clone-done.png");

  /* The next suggestion skips nothing that is free. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_true (tsr_clone_window_get_source (dialog) == lookup (window, "vault-copy"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (dialog, TSR_TYPE_CLONE_WINDOW,
                                                               "name_row"))), ==, "vault-copy-clone-1");
  /* Escape closes it before Clone. */
  gtk_widget_activate_action (GTK_WIDGET (dialog), "window.close", NULL);
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));

  g_object_unref (operation);
  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Cloning a running VM: the dialog says so and offers to shut it down;
 * once it has stopped, Clone is possible.
 */
static void
test_clone_running (void)
{
  TsrWindow *window = open_window ();
  VmWait stopped = { window, "work-web" };
  TsrCloneWindow *dialog;
  GtkWidget *clone_button;
  GtkWidget *running_group;
  GtkWidget *shutdown_button;

  g_assert_true (tsr_vm_is_active (lookup (window, "work-web")));
  g_assert_true (tsr_window_select_vm (window, lookup (window, "work-web")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_true (tsr_test_spin_until (clone_loaded, dialog, TIMEOUT_MS));

  clone_button = child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button");
  running_group = child (dialog, TSR_TYPE_CLONE_WINDOW, "running_group");
  shutdown_button = child (dialog, TSR_TYPE_CLONE_WINDOW, "shutdown_button");
  g_assert_true (gtk_widget_get_visible (running_group));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "“work-web” is running"));
  g_assert_true (gtk_widget_get_visible (shutdown_button));
  g_assert_true (gtk_widget_is_sensitive (shutdown_button));
  /* The name is fine; the state is what stops Clone. */
  g_assert_null (shown_message (dialog, TSR_TYPE_CLONE_WINDOW, "name_error"));
  g_assert_false (gtk_widget_is_sensitive (clone_button));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "clone-running.png", 2, TIMEOUT_MS);

  /* Shut Down waits for the VM to halt, then Clone is there. */
  click (shutdown_button);
  g_assert_true (tsr_test_spin_until (vm_shut_off, &stopped, TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (widget_hidden, running_group, TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (widget_sensitive, clone_button, TIMEOUT_MS));
  g_assert_cmpstr (cell_text (window, "work-web", "state"), ==, "Shut off");

  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));
  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Keep MAC address: the warning in the dialog, the clone with the source's
 * MAC, and the core's warning in the toast.
 */
static void
test_clone_keep_mac (void)
{
  TsrWindow *window = open_window ();
  VmWait wait = { window, "legacy-twin" };
  TsrCloneWindow *dialog;
  GtkWidget *keep_mac;
  GtkWidget *warning;

  /* A VM without a network card has no MAC to keep. */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "offline")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_false (gtk_widget_is_sensitive (child (dialog, TSR_TYPE_CLONE_WINDOW, "keep_mac_row")));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "has no network card"));
  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));

  g_assert_true (tsr_window_select_vm (window, lookup (window, "legacy-virsh")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_true (tsr_test_spin_until (clone_loaded, dialog, TIMEOUT_MS));
  keep_mac = child (dialog, TSR_TYPE_CLONE_WINDOW, "keep_mac_switch");
  warning = child (dialog, TSR_TYPE_CLONE_WINDOW, "keep_mac_warning");
  g_assert_false (gtk_widget_get_visible (warning));
  gtk_switch_set_active (GTK_SWITCH (keep_mac), TRUE);
  g_assert_true (gtk_widget_get_visible (warning));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (warning)), "52:54:00:00:00:03"));
  type_text (dialog, TSR_TYPE_CLONE_WINDOW, "legacy-twin");
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "clone-keep-mac.png", 2, TIMEOUT_MS);

  click (child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button"));
  g_assert_true (tsr_test_spin_until (vm_listed, &wait, TIMEOUT_MS));
  g_assert_cmpstr (tsr_vm_get_mac (lookup (window, "legacy-twin")), ==, "52:54:00:00:00:03");
  /* The toast carries the core's warning. */
  assert_toast (GTK_WIDGET (window), "only one of the two can be on the network at a time");
  g_assert_true (tsr_test_spin_until (vm_selected, &wait, TIMEOUT_MS));

  tsr_test_close_window (window, TIMEOUT_MS);
}

/* A full clone that copies real bytes: progress in bytes, the dialog hidden
 * while it copies, and a cancelled clone that leaves nothing.
 */

static gboolean
copy_under_way (gpointer data)
{
  return tsr_operation_get_finished (data) || tsr_operation_get_fraction (data) > 0;
}

static gboolean
has_size (gpointer data)
{
  return tsr_operation_get_finished (data) || tsr_operation_get_fraction (data) >= 0;
}

static void
write_data (const char *path,
            gsize       size,
            gsize       data)
{
  g_autofree char *block = g_malloc (MIB);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) size), ==, 0);
  for (gsize i = 0; i < MIB; i++)
    block[i] = (char) (i * 7 + i / 4096);
  /* Data in stretches with holes between, as in a real disk. */
  for (gsize off = 0; off < data; off += MIB)
    g_assert_cmpint (pwrite (fd, block, MIB, (off_t) (off * 2)), ==, MIB);
  close (fd);
}

static void
test_clone_copy (void)
{
  TsrWindow *window = open_window ();
  g_autofree char *dir = tmp_path ("clone-pool");
  g_autofree char *src = NULL;
  g_autofree char *dst = NULL;
  g_autofree char *cancelled = NULL;
  g_autofree char *dom_xml = NULL;
  VmWait source = { window, "disk-src" };
  VmWait copy = { window, "disk-src-clone-1" };
  GMutex *reserve_lock = tsr_connection_get_reserve_lock (tsr_window_get_connection (window));
  TsrCloneWindow *dialog;
  TsrOperation *operation;
  virStoragePoolPtr pool;
  virDomainPtr dom;
  GStatBuf st;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  src = g_build_filename (dir, "disk-src-root.img", NULL);
  dst = g_build_filename (dir, "disk-src-clone-1-root.img", NULL);
  cancelled = g_build_filename (dir, "disk-src-cancelled-root.img", NULL);
  write_data (src, 1024 * MIB, 384 * MIB);

  pool = add_real_pool (window, "clone-pool", dir);
  {
    virStorageVolPtr vol = virStorageVolCreateXML (pool,
                                                   "<volume><name>disk-src-root.img</name>"
                                                   "<capacity unit='MiB'>1024</capacity>"
                                                   "<target><format type='raw'/></target></volume>",
                                                   0);
    g_assert_nonnull (vol);
    virStorageVolFree (vol);
  }
  dom_xml = g_strdup_printf ("<domain type='test'><name>disk-src</name><memory unit='MiB'>256</memory>"
                             "<os><type arch='x86_64'>hvm</type></os><devices>"
                             "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                             "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
                             "<interface type='network'><mac address='52:54:00:3c:10:01'/>"
                             "<source network='tessera-unit'/></interface>"
                             "</devices></domain>", src);
  dom = virDomainDefineXML (handle_of (window), dom_xml);
  g_assert_nonnull (dom);
  virDomainFree (dom);
  g_assert_true (tsr_test_spin_until (vm_listed, &source, TIMEOUT_MS));

  /* Hidden while it copies: the main window follows it and says when it is
   * done. The screenshots are the clone under way, in the dialog and in the
   * main window's list of operations. Holding the address lock keeps the
   * clone from finishing however fast the disk copies: it waits for its
   * reservation after the copy.
   */
  g_mutex_lock (reserve_lock);
  g_assert_true (tsr_window_select_vm (window, lookup (window, "disk-src")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_true (tsr_test_spin_until (clone_loaded, dialog, TIMEOUT_MS));
  g_assert_true (select_choice (dialog, TSR_TYPE_CLONE_WINDOW, "pool_row", "clone-pool"));
  held_click (child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button"));
  operation = g_object_ref (tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog)));
  g_assert_true (spin_core_until (copy_under_way, operation));
  g_assert_false (tsr_operation_get_finished (operation));
  g_test_message ("Mid-copy: %.2f, “%s”", tsr_operation_get_fraction (operation),
                  tsr_operation_get_detail (operation));
  /* Bytes of the data, not of the sparse disk. */
  g_assert_nonnull (strstr (tsr_operation_get_detail (operation), " of 384.0" NBSP "MiB"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), tsr_operation_get_detail (operation)));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "clone-progress.png", 2, TIMEOUT_MS);

  click (child (dialog, TSR_TYPE_CLONE_WINDOW, "hide_button"));
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));
  {
    GtkMenuButton *button = GTK_MENU_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                            TSR_TYPE_WINDOW,
                                                                            "operations_button"));
    GtkWidget *popover = GTK_WIDGET (gtk_menu_button_get_popover (button));

    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (button)));
    gtk_menu_button_popup (button);
    g_assert_true (tsr_test_spin_until (tsr_test_widget_mapped, popover, TIMEOUT_MS));
    g_assert_nonnull (find_label_containing (popover, "Cloning “disk-src” as “disk-src-clone-1”"));
    g_assert_nonnull (find_label_containing (popover, tsr_operation_get_detail (operation)));
    write_main_screenshot (window, "clone-in-background.png");
    tsr_test_write_window_screenshot (popover, "operations-popover.png", 2, TIMEOUT_MS);
  }
  g_mutex_unlock (reserve_lock);

  g_assert_true (spin_all_until (operation_finished, operation));
  g_assert_null (tsr_operation_get_error (operation));
  g_assert_false (tsr_operation_get_reported (operation));
  assert_toast (GTK_WIDGET (window), "Cloned “disk-src” as “disk-src-clone-1”");
  g_assert_true (tsr_test_spin_until (vm_selected, &copy, TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (no_operations, window, TIMEOUT_MS));
  g_assert_cmpint (g_stat (dst, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 1024 * MIB);
  g_assert_cmpint ((gint64) st.st_blocks * 512, <, 400 * MIB);
  g_clear_object (&operation);

  /* Cancelled while under way (held at its reservation again): back to the
   * form, nothing left behind, the copy made so far removed.
   */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "disk-src")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  g_assert_true (tsr_test_spin_until (clone_loaded, dialog, TIMEOUT_MS));
  g_assert_true (select_choice (dialog, TSR_TYPE_CLONE_WINDOW, "pool_row", "clone-pool"));
  type_text (dialog, TSR_TYPE_CLONE_WINDOW, "disk-src-cancelled");
  g_mutex_lock (reserve_lock);
  held_click (child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button"));
  operation = g_object_ref (tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog)));
  g_assert_true (spin_core_until (copy_under_way, operation));
  g_assert_false (tsr_operation_get_finished (operation));
  tsr_test_wait_for_frames (GTK_WIDGET (dialog), 2, TIMEOUT_MS);
  click (child (dialog, TSR_TYPE_CLONE_WINDOW, "cancel_button"));
  /* Cancel cannot be pressed twice. */
  g_assert_false (gtk_widget_is_sensitive (child (dialog, TSR_TYPE_CLONE_WINDOW, "cancel_button")));
  g_mutex_unlock (reserve_lock);
  g_assert_true (spin_all_until (operation_finished, operation));
  g_assert_true (tsr_operation_was_cancelled (operation));
  g_assert_true (tsr_operation_get_reported (operation));
  assert_toast (GTK_WIDGET (dialog), "Cancelled: nothing was left behind");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (child (dialog, TSR_TYPE_CLONE_WINDOW,
                                                                       "stack"))), ==, "form");
  g_assert_true (gtk_widget_is_sensitive (child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button")));
  g_assert_null (lookup (window, "disk-src-cancelled"));
  g_assert_false (g_file_test (cancelled, G_FILE_TEST_EXISTS));
  g_assert_false (pool_has_volume (pool, "disk-src-cancelled-root.img"));
  g_clear_object (&operation);
  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));

  virStoragePoolDestroy (pool);
  virStoragePoolFree (pool);
  g_unlink (src);
  g_unlink (dst);
  g_rmdir (dir);
  tsr_test_close_window (window, TIMEOUT_MS);
}

static gboolean
clone_selected (gpointer data)
{
  TsrVm *vm = tsr_window_get_selected_vm (data);

  return vm != NULL && g_str_has_suffix (tsr_vm_get_name (vm), "-clone-1");
}

/* Operations hold no window: several clones at once, each reported. */
static void
test_clone_several (void)
{
  TsrWindow *window = open_window ();
  const char *sources[] = { "vault", "legacy-virsh", "offline" };
  g_autoptr(GPtrArray) operations = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      TsrCloneWindow *dialog;

      g_assert_true (tsr_window_select_vm (window, lookup (window, sources[i])));
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
      dialog = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
      /* One linked clone among them. */
      if (i == 2)
        gtk_check_button_set_active (GTK_CHECK_BUTTON (child (dialog, TSR_TYPE_CLONE_WINDOW,
                                                              "linked_check")), TRUE);
      click (child (dialog, TSR_TYPE_CLONE_WINDOW, "clone_button"));
      g_ptr_array_add (operations, g_object_ref (tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog))));
      /* Hidden at once: the clone goes on. */
      click (child (dialog, TSR_TYPE_CLONE_WINDOW, "hide_button"));
      g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_CLONE_WINDOW), TIMEOUT_MS));
    }

  for (guint i = 0; i < operations->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s-clone-1", sources[i]);
      VmWait wait = { window, name };

      g_assert_true (tsr_test_spin_until (operation_finished, g_ptr_array_index (operations, i), TIMEOUT_MS));
      g_assert_cmpstr (tsr_operation_get_result (g_ptr_array_index (operations, i)), ==, name);
      g_assert_true (tsr_test_spin_until (vm_listed, &wait, TIMEOUT_MS));
    }
  g_assert_cmpuint (operations->len, ==, 3);
  g_assert_true (g_str_has_prefix (tsr_operation_get_title (g_ptr_array_index (operations, 2)),
                                   "Linked clone of “offline”"));
  g_assert_true (tsr_test_spin_until (no_operations, window, TIMEOUT_MS));
  /* Each says so in turn (toasts queue); the one that ended last is
   * selected.
   */
  assert_toast (GTK_WIDGET (window), "Cloned “vault” as “vault-clone-1”");
  g_assert_cmpstr (tsr_operation_get_success_title (g_ptr_array_index (operations, 2)), ==,
                   "Made “offline-clone-1”, a linked clone of “offline”");
  g_assert_true (tsr_test_spin_until (clone_selected, window, TIMEOUT_MS));

  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Import */

#define OVF_HEAD                                                                         \
  "<?xml version='1.0'?>\n"                                                              \
  "<Envelope ovf:version='1.0' xmlns='http://schemas.dmtf.org/ovf/envelope/1'"           \
  " xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'"                                  \
  " xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData'" \
  " xmlns:vssd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData'" \
  " xmlns:vbox='http://www.virtualbox.org/ovf/machine'>\n"

/* A VirtualBox-like appliance: an OVF naming one streamOptimized VMDK, a
 * sound card Tessera does not import, in an .ova made by tar.
 */
static char *
make_appliance (void)
{
  g_autofree char *img = tmp_path ("app-disk.img");
  g_autofree char *vmdk = tmp_path ("app-disk001.vmdk");
  g_autofree char *ovf = tmp_path ("appliance.ovf");
  g_autofree char *ova = tmp_path ("app.ova");
  g_autofree char *cmd = NULL;
  static const char ovf_text[] =
    OVF_HEAD
    "<References><File ovf:id='file1' ovf:href='app-disk001.vmdk'/></References>"
    "<DiskSection><Info>disks</Info><Disk ovf:diskId='vmdisk1' ovf:fileRef='file1' "
    "ovf:capacity='16777216' "
    "ovf:format='http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'/>"
    "</DiskSection>"
    "<VirtualSystem ovf:id='Test Appliance'><Info>vm</Info>"
    "<OperatingSystemSection ovf:id='96'><Info>os</Info><Description>Debian_64</Description>"
    "<vbox:OSType ovf:required='false'>Debian_64</vbox:OSType></OperatingSystemSection>"
    "<VirtualHardwareSection><Info>hw</Info>"
    "<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>"
    "<rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>"
    "<Item><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID>"
    "<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>768</rasd:VirtualQuantity></Item>"
    "<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>35</rasd:ResourceType></Item>"
    "<Item><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType>"
    "<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource></Item>"
    "</VirtualHardwareSection></VirtualSystem></Envelope>";

  cmd = g_strdup_printf ("qemu-img create -q -f raw %s 16M", img);
  run (cmd);
  g_clear_pointer (&cmd, g_free);
  cmd = g_strdup_printf ("qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized %s %s",
                         img, vmdk);
  run (cmd);
  g_clear_pointer (&cmd, g_free);
  g_assert_true (g_file_set_contents (ovf, ovf_text, -1, NULL));
  cmd = g_strdup_printf ("tar --format=ustar -C %s -cf %s appliance.ovf app-disk001.vmdk",
                         tmpdir, ova);
  run (cmd);

  return g_steal_pointer (&ova);
}

static GtkDropTarget *
window_drop_target (TsrWindow *window)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  return NULL;
}

static gboolean
page_is (gpointer dialog,
         const char *page)
{
  return g_strcmp0 (tsr_import_window_get_page (dialog), page) == 0;
}

static gboolean
import_form_shown (gpointer dialog)
{
  return page_is (dialog, "form");
}

/* Dropping an .ova on the window: what was found, the same checks as New
 * VM, a cancel that leaves nothing, then the VM in the list.
 */
static void
test_import_ova (void)
{
  TsrWindow *window = open_window ();
  g_autofree char *ova = make_appliance ();
  g_autofree char *dir = tmp_path ("import-pool");
  g_autofree char *target = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (ova);
  VmWait imported = { window, "imported-app" };
  GtkDropTarget *drop = window_drop_target (window);
  const TsrImportInfo *info;
  TsrImportWindow *dialog;
  TsrOperation *operation;
  GtkWidget *import_button;
  virStoragePoolPtr pool;
  GValue value = G_VALUE_INIT;
  gboolean dropped = FALSE;
  TsrVm *vm;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  pool = add_real_pool (window, "import-pool", dir);

  /* A drop opens the dialog on the file. */
  g_assert_nonnull (drop);
  g_value_init (&value, G_TYPE_FILE);
  g_value_set_object (&value, file);
  g_signal_emit_by_name (drop, "drop", &value, 10.0, 10.0, &dropped);
  g_value_unset (&value);
  g_assert_true (dropped);

  dialog = wait_for_toplevel (TSR_TYPE_IMPORT_WINDOW);
  g_assert_true (tsr_test_spin_until (import_loaded, dialog, TIMEOUT_MS));
  g_assert_cmpstr (tsr_import_window_get_page (dialog), ==, "form");
  info = tsr_import_window_get_info (dialog);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->kind, ==, "ova");
  g_assert_cmpuint (info->disks->len, ==, 1);

  /* What was found, shown... */
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "Found in “app.ova”"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "named “Test Appliance”"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "app-disk001.vmdk"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "VMDK · 16.0" NBSP "MiB disk"));
  /* What the appliance has that Tessera does not bring over. */
  g_assert_true (gtk_widget_get_visible (child (dialog, TSR_TYPE_IMPORT_WINDOW, "warnings_group")));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "sound card"));
  /* ...and the form filled from it. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (dialog, TSR_TYPE_IMPORT_WINDOW,
                                                               "name_row"))), ==, "Test-Appliance");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (child (dialog, TSR_TYPE_IMPORT_WINDOW,
                                                                             "memory_spin"))), ==, 768);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (child (dialog, TSR_TYPE_IMPORT_WINDOW,
                                                                             "vcpus_spin"))), ==, 1);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (child (dialog, TSR_TYPE_IMPORT_WINDOW,
                                                                      "os_row"))), ==, 0);
  import_button = child (dialog, TSR_TYPE_IMPORT_WINDOW, "import_button");
  g_assert_true (gtk_widget_is_sensitive (import_button));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "import-page.png", 2, TIMEOUT_MS);
  {
    GtkWidget *scrolled = tsr_test_find_descendant (child (dialog, TSR_TYPE_IMPORT_WINDOW, "form_page"),
                                                    GTK_TYPE_SCROLLED_WINDOW);
    GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));

    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
    tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "import-page-end.png", 2, TIMEOUT_MS);
    gtk_adjustment_set_value (adjustment, 0);
  }

  /* The same name checks as New VM, as the user types. */
  type_text (dialog, TSR_TYPE_IMPORT_WINDOW, "vault");
  g_assert_nonnull (strstr (shown_message (dialog, TSR_TYPE_IMPORT_WINDOW, "name_error"),
                            "already exists"));
  g_assert_false (gtk_widget_is_sensitive (import_button));
  type_text (dialog, TSR_TYPE_IMPORT_WINDOW, "imported app");
  g_assert_nonnull (strstr (shown_message (dialog, TSR_TYPE_IMPORT_WINDOW, "name_error"),
                            "not a valid name"));
  g_assert_false (gtk_widget_is_sensitive (import_button));
  type_text (dialog, TSR_TYPE_IMPORT_WINDOW, "imported-app");
  g_assert_null (shown_message (dialog, TSR_TYPE_IMPORT_WINDOW, "name_error"));
  g_assert_true (gtk_widget_is_sensitive (import_button));

  g_assert_true (select_choice (dialog, TSR_TYPE_IMPORT_WINDOW, "pool_row", "import-pool"));
  g_assert_true (select_choice (dialog, TSR_TYPE_IMPORT_WINDOW, "network_row", "tessera-unit"));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (dialog, TSR_TYPE_IMPORT_WINDOW, "memory_spin")), 640);

  /* Cancelled as it starts: the form again, no VM, no volume. */
  held_click (import_button);
  operation = g_object_ref (tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog)));
  g_assert_cmpstr (tsr_import_window_get_page (dialog), ==, "progress");
  click (child (dialog, TSR_TYPE_IMPORT_WINDOW, "cancel_button"));
  g_assert_true (spin_all_until (operation_finished, operation));
  g_assert_true (tsr_operation_was_cancelled (operation));
  assert_toast (GTK_WIDGET (dialog), "Cancelled: nothing was left behind");
  g_assert_true (tsr_test_spin_until (import_form_shown, dialog, TIMEOUT_MS));
  g_assert_null (lookup (window, "imported-app"));
  g_assert_false (pool_has_volume (pool, "imported-app-root.qcow2"));
  g_clear_object (&operation);

  /* The test driver makes volumes that are not files: the file of the
   * volume the import converts into is made here.
   */
  target = g_build_filename (dir, "imported-app-root.qcow2", NULL);
  {
    g_autofree char *cmd = g_strdup_printf ("qemu-img create -q -f qcow2 %s 16M", target);

    run (cmd);
  }

  held_click (import_button);
  operation = g_object_ref (tsr_operation_window_get_operation (TSR_OPERATION_WINDOW (dialog)));
  g_assert_cmpuint (g_list_model_get_n_items (tsr_window_get_operations (window)), ==, 1);
  g_assert_true (spin_core_until (has_size, operation));
  g_assert_false (tsr_operation_get_finished (operation));
  g_assert_nonnull (strstr (tsr_operation_get_stage (operation), "Converting disk 1 of 1"));
  g_assert_nonnull (strstr (tsr_operation_get_detail (operation), " of 16.0" NBSP "MiB"));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "import-progress.png", 2, TIMEOUT_MS);
  g_assert_true (spin_all_until (operation_finished, operation));
  if (tsr_operation_get_error (operation) != NULL)
    g_error ("Import failed: %s", tsr_operation_get_error (operation)->message);
  g_assert_cmpstr (tsr_operation_get_result (operation), ==, "imported-app");

  /* The VM, as the appliance and the form said; selected, and a toast. */
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_IMPORT_WINDOW), TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (vm_listed, &imported, TIMEOUT_MS));
  g_assert_true (tsr_test_spin_until (vm_selected, &imported, TIMEOUT_MS));
  assert_toast (GTK_WIDGET (window), "Imported “imported-app” from “app.ova”");
  vm = lookup (window, "imported-app");
  g_assert_cmpuint (tsr_vm_get_memory (vm), ==, 640);
  g_assert_cmpuint (tsr_vm_get_vcpus (vm), ==, 1);
  g_assert_cmpstr (cell_text (window, "imported-app", "network"), ==, "tessera-unit");
  g_assert_true (pool_has_volume (pool, "imported-app-root.qcow2"));
  /* The input is left as it was. */
  g_assert_true (g_file_test (ova, G_FILE_TEST_EXISTS));
  write_main_screenshot (window, "import-done.png");
  g_clear_object (&operation);

  virStoragePoolDestroy (pool);
  virStoragePoolFree (pool);
  g_unlink (target);
  g_rmdir (dir);
  tsr_test_close_window (window, TIMEOUT_MS);
}

static gboolean
chooser_has_file (gpointer data)
{
  g_autoptr(GFile) file = gtk_file_chooser_get_file (data);

  return file != NULL;
}

/* Import… in the primary menu opens a file chooser offering the formats;
 * a file that is not an image says why on the dialog's own page.
 */
static void
test_import_chooser (void)
{
  TsrWindow *window = open_window ();
  GtkWidget *menu_button = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                      TSR_TYPE_WINDOW,
                                                                      "primary_menu_button"));
  g_autofree char *bad = tmp_path ("notes.vmdk");
  g_autoptr(GFile) file = g_file_new_for_path (bad);
  GtkFileChooser *chooser;
  GListModel *filters;
  TsrImportWindow *dialog;

  g_assert_true (menu_has_item (gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (menu_button)),
                                "_Import…", "win.import"));
  g_assert_true (g_file_set_contents (bad, "not a disk image\n", -1, NULL));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.import", NULL));
  chooser = wait_for_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  filters = gtk_file_chooser_get_filters (chooser);
  g_assert_cmpuint (g_list_model_get_n_items (filters), ==, 2);
  {
    GtkFileFilter *filter = gtk_file_chooser_get_filter (chooser);

    g_assert_cmpstr (gtk_file_filter_get_name (filter), ==, "Appliances and Disk Images");
  }
  g_object_unref (filters);
  g_assert_true (gtk_file_chooser_set_file (chooser, file, NULL));
  /* The chooser selects the file once it has read the folder. */
  g_assert_true (tsr_test_spin_until (chooser_has_file, chooser, TIMEOUT_MS));
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);

  dialog = wait_for_toplevel (TSR_TYPE_IMPORT_WINDOW);
  g_assert_true (g_file_equal (tsr_import_window_get_file (dialog), file));
  g_assert_true (tsr_test_spin_until (import_loaded, dialog, TIMEOUT_MS));
  g_assert_cmpstr (tsr_import_window_get_page (dialog), ==, "failed");
  g_assert_false (gtk_widget_is_sensitive (child (dialog, TSR_TYPE_IMPORT_WINDOW, "import_button")));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "import-failed.png", 2, TIMEOUT_MS);

  gtk_window_close (GTK_WINDOW (dialog));
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (TSR_TYPE_IMPORT_WINDOW), TIMEOUT_MS));
  g_unlink (bad);
  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Ctrl+Shift+D clones, Ctrl+I imports, and the shortcuts window says so. */
static void
test_accels (void)
{
  static const struct {
    const char *action;
    const char *accel;
    const char *title;
  } expected[] = {
    { "win.vm-clone", "<Shift><Control>d", "Clone" },
    { "win.import", "<Control>i", "Import a VM" },
  };
  TsrWindow *window = open_window ();
  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));

  g_assert_nonnull (overlay);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                     expected[i].action);
      guint key_a, key_b;
      GdkModifierType mods_a, mods_b;

      g_assert_nonnull (accels);
      g_assert_nonnull (accels[0]);
      g_assert_true (gtk_accelerator_parse (accels[0], &key_a, &mods_a));
      g_assert_true (gtk_accelerator_parse (expected[i].accel, &key_b, &mods_b));
      g_assert_cmpuint (key_a, ==, key_b);
      g_assert_cmpuint (mods_a, ==, mods_b);
    }

  /* Nothing selected: nothing to clone; importing needs no VM. */
  g_assert_null (tsr_window_get_selected_vm (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  g_assert_null (find_toplevel (TSR_TYPE_CLONE_WINDOW));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL));
  g_assert_true (tsr_test_spin_until (tsr_test_widget_mapped, overlay, TIMEOUT_MS));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      GtkWidget *shortcuts = GTK_WIDGET (overlay);
      gboolean found = FALSE;
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();

      /* The shortcuts of hidden pages are not mapped: walk the tree. */
      g_ptr_array_add (stack, shortcuts);
      while (stack->len > 0 && !found)
        {
          GtkWidget *widget = g_ptr_array_steal_index (stack, stack->len - 1);

          if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
            {
              g_autofree char *title = NULL;
              g_autofree char *accelerator = NULL;

              g_object_get (widget, "title", &title, "accelerator", &accelerator, NULL);
              found = g_strcmp0 (title, expected[i].title) == 0;
            }
          for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
            g_ptr_array_add (stack, c);
        }
      g_assert_true (found);
    }
  gtk_window_close (GTK_WINDOW (overlay));

  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
completed_cb (TsrOperation *operation,
              gboolean     *completed)
{
  *completed = TRUE;
}

/* Progress as people read it, from the core's reports. */
static void
test_operation_progress (void)
{
  g_autoptr(TsrOperation) operation = tsr_operation_new ("Cloning “a” as “b”", TRUE);
  gint64 t0 = 1000 * G_USEC_PER_SEC;
  gboolean completed = FALSE;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");

  tsr_operation_report_at (operation, 0, 0, "Checking the VM", t0);
  g_assert_cmpfloat (tsr_operation_get_fraction (operation), <, 0);
  g_assert_null (tsr_operation_get_detail (operation));
  g_assert_cmpstr (tsr_operation_get_stage (operation), ==, "Checking the VM");

  tsr_operation_report_at (operation, 0, 4096 * G_GUINT64_CONSTANT (1048576), "Copying", t0);
  g_assert_cmpfloat (tsr_operation_get_fraction (operation), ==, 0);
  g_assert_cmpstr (tsr_operation_get_detail (operation), ==, "0 bytes of 4.0" NBSP "GiB");

  /* Too early to guess. */
  tsr_operation_report_at (operation, 64 * G_GUINT64_CONSTANT (1048576),
                           4096 * G_GUINT64_CONSTANT (1048576), "Copying", t0 + G_USEC_PER_SEC);
  g_assert_cmpstr (tsr_operation_get_detail (operation), ==, "64.0" NBSP "MiB of 4.0" NBSP "GiB");

  /* 1 GiB in 60 s: 3 GiB left take about 3 minutes. */
  tsr_operation_report_at (operation, 1024 * G_GUINT64_CONSTANT (1048576),
                           4096 * G_GUINT64_CONSTANT (1048576), "Copying", t0 + 60 * G_USEC_PER_SEC);
  g_assert_cmpfloat_with_epsilon (tsr_operation_get_fraction (operation), 0.25, 0.001);
  g_assert_cmpstr (tsr_operation_get_detail (operation), ==,
                   "1.0" NBSP "GiB of 4.0" NBSP "GiB — about 3 minutes left");

  tsr_operation_cancel (operation);
  g_assert_true (tsr_operation_get_cancelling (operation));
  g_assert_true (g_cancellable_is_cancelled (tsr_operation_get_cancellable (operation)));
  tsr_operation_report_at (operation, 2048 * G_GUINT64_CONSTANT (1048576),
                           4096 * G_GUINT64_CONSTANT (1048576), "Copying", t0 + 61 * G_USEC_PER_SEC);
  g_assert_nonnull (strstr (tsr_operation_get_stage (operation), "Cancelling"));

  g_signal_connect (operation, "completed", G_CALLBACK (completed_cb), &completed);
  tsr_operation_complete (operation, NULL, NULL, error);
  g_assert_true (completed);
  /* Once only. */
  completed = FALSE;
  tsr_operation_complete (operation, "b", NULL, NULL);
  g_assert_false (completed);
  g_assert_true (tsr_operation_get_finished (operation));
  g_assert_true (tsr_operation_was_cancelled (operation));

  g_assert_cmpstr (tsr_format_time_left (30), ==, "less than a minute left");
}

/* Delete… */

/* What a click on a response button does. */
static void
respond (AdwMessageDialog *dialog,
         const char       *response)
{
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, response));
  adw_message_dialog_response (dialog, response);
  gtk_window_close (GTK_WINDOW (dialog));
}

static GtkEditable *
find_entry (GtkWidget *widget)
{
  if (GTK_IS_ENTRY (widget))
    return GTK_EDITABLE (widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkEditable *found = find_entry (c);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
vm_gone (gpointer data)
{
  VmWait *wait = data;

  return lookup (wait->window, wait->name) == NULL;
}

static gboolean
has_delete_shortcut (GtkWidget *widget)
{
  for (guint i = 0; ; i++)
    {
      g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (controller == NULL)
        return FALSE;
      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
          GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger) &&
              gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == GDK_KEY_Delete &&
              GTK_IS_NAMED_ACTION (action) &&
              g_str_equal (gtk_named_action_get_action_name (GTK_NAMED_ACTION (action)), "win.vm-delete"))
            return TRUE;
        }
    }
}

static void
test_delete (void)
{
  TsrWindow *window = open_window ();
  g_autofree char *dir = tmp_path ("delete-pool");
  g_autofree char *root = NULL, *iso = NULL, *dom_xml = NULL, *net_xml = NULL;
  VmWait doomed = { window, "doomed" };
  AdwMessageDialog *dialog;
  GtkEditable *entry;
  virStoragePoolPtr pool;
  virNetworkPtr net;
  virDomainPtr dom;

  g_assert_true (menu_has_item (tsr_test_window_get_vm_menu (window), "Delete…", "win.vm-delete"));
  g_assert_true (has_delete_shortcut (GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                                 TSR_TYPE_WINDOW, "column_view"))));

  /* A template with a VM based on it: refused, with that VM's name. */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "vault")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-delete", NULL));
  dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "“pvh-guest” is based on it"));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "delete-refused.png", 2, TIMEOUT_MS);
  respond (dialog, "close");
  g_assert_true (tsr_test_spin_until (toplevel_gone, GSIZE_TO_POINTER (ADW_TYPE_MESSAGE_DIALOG),
                                      TIMEOUT_MS));
  g_assert_nonnull (lookup (window, "vault"));

  /* A VM with 1.1 GiB of its own, install media and an address. (The
   * test driver's pools hold no files: its volumes are what it is told.)
   */
  root = g_build_filename (dir, "doomed-root.img", NULL);
  iso = g_build_filename (dir, "installer.iso", NULL);
  pool = add_real_pool (window, "delete-pool", dir);
  {
    virStorageVolPtr vol = virStorageVolCreateXML (pool,
                                                   "<volume><name>doomed-root.img</name>"
                                                   "<capacity unit='MiB'>2048</capacity>"
                                                   "<allocation unit='MiB'>1100</allocation>"
                                                   "<target><format type='raw'/></target></volume>",
                                                   0);
    g_assert_nonnull (vol);
    virStorageVolFree (vol);
  }
  dom_xml = g_strdup_printf ("<domain type='test'><name>doomed</name><memory unit='MiB'>256</memory>"
                             "<os><type arch='x86_64'>hvm</type></os><devices>"
                             "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                             "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
                             "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
                             "<source file='%s'/><target dev='sda' bus='sata'/><readonly/></disk>"
                             "<interface type='network'><mac address='52:54:00:de:1e:7e'/>"
                             "<source network='tessera-unit'/></interface>"
                             "</devices></domain>", root, iso);
  dom = virDomainDefineXML (handle_of (window), dom_xml);
  g_assert_nonnull (dom);
  virDomainFree (dom);
  net = virNetworkLookupByName (handle_of (window), "tessera-unit");
  net_xml = g_strdup ("<host mac='52:54:00:de:1e:7e' name='doomed' ip='10.137.9.66'/>");
  g_assert_cmpint (virNetworkUpdate (net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
                                     VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, net_xml,
                                     VIR_NETWORK_UPDATE_AFFECT_CONFIG |
                                     VIR_NETWORK_UPDATE_AFFECT_LIVE), ==, 0);
  g_assert_true (tsr_test_spin_until (vm_listed, &doomed, TIMEOUT_MS));

  /* The confirmation lists what goes and what stays, and wants the name. */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "doomed")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-delete", NULL));
  dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Delete “doomed”?");
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "delete-pool/doomed-root.img"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "Address 10.137.9.66"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "install media"));
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog), "Type “doomed” to confirm"));
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "delete"));
  entry = find_entry (GTK_WIDGET (dialog));
  g_assert_nonnull (entry);
  gtk_editable_set_text (entry, "doome");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "delete"));
  gtk_editable_set_text (entry, "doomed");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "delete"));
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "delete-dialog.png", 2, TIMEOUT_MS);

  /* Deleted: gone from the list, its disk and address with it; the
   * install media stays.
   */
  respond (dialog, "delete");
  g_assert_true (tsr_test_spin_until (vm_gone, &doomed, TIMEOUT_MS));
  assert_toast (GTK_WIDGET (window), "Deleted “doomed”");
  g_assert_false (pool_has_volume (pool, "doomed-root.img"));
  g_free (net_xml);
  net_xml = virNetworkGetXMLDesc (net, 0);
  g_assert_null (strstr (net_xml, "52:54:00:de:1e:7e"));
  write_main_screenshot (window, "delete-done.png");

  virNetworkFree (net);
  virStoragePoolDestroy (pool);
  virStoragePoolFree (pool);
  tsr_test_close_window (window, TIMEOUT_MS);
}

/* What the recovery did, in a toast with its details. */
static void
test_recovery_toast (void)
{
  g_autofree char *journal = tmp_path ("journal");
  g_autofree char *node = tsr_test_node_uri ();
  virConnectPtr probe = virConnectOpen (node);
  g_autofree char *uri = NULL;
  TsrJournal *record;
  TsrWindow *window;
  AdwMessageDialog *dialog;
  g_autoptr(GDir) left = NULL;

  g_assert_nonnull (probe);
  {
    char *raw = virConnectGetURI (probe);

    uri = g_strdup (raw);
    free (raw);
  }
  virConnectClose (probe);

  /* A clone whose process died after it reserved an address. */
  g_assert_cmpint (g_mkdir_with_parents (journal, 0700), ==, 0);
  g_setenv ("TESSERA_JOURNAL_DIR", journal, TRUE);
  record = tsr_journal_begin (uri, "clone", "ghost");
  tsr_journal_defines (record, "ghost");
  tsr_journal_volume (record, "default-pool", "ghost-root.qcow2", NULL);
  tsr_journal_reservation (record, "tessera-unit", "52:54:00:00:00:99");
  tsr_journal_forget (record);

  window = open_window ();
  g_unsetenv ("TESSERA_JOURNAL_DIR");
  assert_toast (GTK_WIDGET (window), "Finished an operation a crash had interrupted");
  write_main_screenshot (window, "recovery-toast.png");
  left = g_dir_open (journal, 0, NULL);
  g_assert_null (g_dir_read_name (left));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-recovery", NULL));
  dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  g_assert_nonnull (find_label_containing (GTK_WIDGET (dialog),
                                           "An interrupted clone of “ghost”"));
  respond (dialog, "close");
  g_rmdir (journal);
  tsr_test_close_window (window, TIMEOUT_MS);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  core_context = g_main_context_new ();
  tmpdir = g_dir_make_tmp ("tessera-gui-clone-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_setenv ("TESSERA_KERNELS_DIR", "/nonexistent-kernels", TRUE);

  app = tsr_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/gui/operation/progress", test_operation_progress);
  g_test_add_func ("/gui/clone-import/accels", test_accels);
  g_test_add_func ("/gui/clone/vault", test_clone_vault);
  g_test_add_func ("/gui/clone/running", test_clone_running);
  g_test_add_func ("/gui/clone/keep-mac", test_clone_keep_mac);
  g_test_add_func ("/gui/clone/copy", test_clone_copy);
  g_test_add_func ("/gui/clone/several", test_clone_several);
  g_test_add_func ("/gui/import/chooser", test_import_chooser);
  tsr_test_add_func_needing ("/gui/import/ova", test_import_ova, "qemu-img", NULL);
  g_test_add_func ("/gui/delete/from-list", test_delete);
  g_test_add_func ("/gui/recovery/toast", test_recovery_toast);

  ret = g_test_run ();

  g_clear_object (&app);
  g_main_context_unref (core_context);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf %s", tmpdir);

    run (cmd);
  }
  g_free (tmpdir);
  return ret;
}
