/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Names from the host are shown as they are. libvirt lets networks, pools,
 * volumes, files and domains made outside Tessera hold '<', '&', quotes,
 * right-to-left text and emoji, and libadwaita 1.2 reads a row's title and
 * subtitle, a group's title and description, a status page's description
 * and a toast's title as Pango markup. Each test opens a screen that shows
 * such a name and checks that a label on it draws the raw string: markup
 * applied would drop the tags or turn "&amp;" into "&", and markup that does
 * not parse is a GTK warning, fatal here (G_DEBUG=fatal-warnings). The CLI
 * prints the same names unchanged.
 *
 * tests/data/literal.xml holds the network, the pool and its volume and the
 * foreign domain; the media files are made here.
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "tsr-application.h"
#include "tsr-choice-row.h"
#include "tsr-clone-window.h"
#include "tsr-import-window.h"
#include "tsr-media-picker.h"
#include "tsr-new-vm-window.h"
#include "tsr-settings-window.h"
#include "tsr-window.h"
#include "tsr-test-util.h"

#define TIMEOUT_MS 10000

/* The raw strings of tests/data/literal.xml. */
#define NET     "R&amp;D &lt;i&gt; \"dq\" 'sq' עברית 🦊"
#define POOL    "pool <b> & \"q\" ☃"
#define VOLUME  "vol 'q' &amp; <i> 🦊.iso"
#define FOREIGN "virsh <b> & \"q\" 'q' עברית 🦊"
#define VM      "literal-vm"

/* File names of media, in a folder of the test's own. */
#define ISO_NAME  "media <b> & \"q\" 'q' עברית 🦊.iso"
#define TEXT_NAME "notes &amp; <i> 🦊.txt"

/* An appliance: its OVF's name, the .ova's and its disk's file names. */
#define APP_NAME  "App <i>&amp; \"q\" עברית 🦊"
#define OVA_NAME  "app <b> & 'q' 🦊.ova"
#define DISK_NAME "disk <b> & 'q' 🦊.vmdk"

static TsrApplication *app;
static char *uri;
static char *media_dir;
static char *iso_path;
static char *text_path;

/* Every label under ROOT, depth first, as drawn (gtk_label_get_text: the
 * text after any markup was applied).
 */
static void
collect_labels (GtkWidget *root,
                GPtrArray *texts)
{
  if (GTK_IS_LABEL (root))
    g_ptr_array_add (texts, (gpointer) gtk_label_get_text (GTK_LABEL (root)));
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    collect_labels (c, texts);
}

typedef struct
{
  GtkWidget  *root;
  const char *text;
} LabelWait;

static gboolean
label_shows (gpointer data)
{
  LabelWait *wait = data;
  g_autoptr(GPtrArray) texts = g_ptr_array_new ();

  collect_labels (wait->root, texts);
  for (guint i = 0; i < texts->len; i++)
    if (strstr (g_ptr_array_index (texts, i), wait->text) != NULL)
      return TRUE;
  return FALSE;
}

/* Waits until a label under ROOT draws TEXT, byte for byte. */
static void
assert_shows (gpointer    root,
              const char *text)
{
  LabelWait wait = { root, text };

  if (!tsr_test_spin_until (label_shows, &wait, TIMEOUT_MS))
    {
      g_autoptr(GPtrArray) texts = g_ptr_array_new ();

      collect_labels (root, texts);
      for (guint i = 0; i < texts->len; i++)
        g_test_message ("label: %s", (const char *) g_ptr_array_index (texts, i));
      g_error ("No label of %s draws “%s”", G_OBJECT_TYPE_NAME (root), text);
    }
}

static gpointer
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (window))
        return g_steal_pointer (&window);
    }
  return NULL;
}

static gboolean
toplevel_shown (gpointer type)
{
  g_autoptr(GtkWidget) window = find_toplevel (GPOINTER_TO_SIZE (type));

  return window != NULL && gtk_widget_get_mapped (window);
}

/* The dialog of TYPE on screen, with a reference for the caller. */
static gpointer
wait_for_toplevel (GType type)
{
  if (!tsr_test_spin_until (toplevel_shown, GSIZE_TO_POINTER (type), TIMEOUT_MS))
    g_error ("No %s appeared", g_type_name (type));
  return find_toplevel (type);
}

static gboolean
only_one_ref (gpointer object)
{
  return G_OBJECT (object)->ref_count == 1;
}

static gboolean
not_loading (gpointer dialog)
{
  return !tsr_dialog_get_loading (TSR_DIALOG (dialog));
}

static void
close_dialog (gpointer dialog)
{
  if (gtk_widget_get_visible (dialog))
    gtk_window_close (dialog);
  g_assert_true (tsr_test_spin_until (only_one_ref, dialog, TIMEOUT_MS));
  g_assert_finalize_object (dialog);
}

static TsrWindow *
open_window (void)
{
  return tsr_test_open_window (GTK_APPLICATION (app), uri, "list", 3, TIMEOUT_MS);
}

static void
select_vm (TsrWindow  *window,
           const char *name)
{
  TsrVm *vm = tsr_connection_lookup_vm (tsr_window_get_connection (window), name);

  g_assert_nonnull (vm);
  g_assert_true (tsr_window_select_vm (window, vm));
}

/* Tests */

/* The list's cells and the toast of Copy. */
static void
test_list (void)
{
  TsrWindow *window = open_window ();
  g_autofree char *copied = g_strdup_printf ("Copied “%s”", FOREIGN);

  g_assert_cmpstr (tsr_vm_cell_get_text (tsr_test_window_find_cell (window, FOREIGN, "name")),
                   ==, FOREIGN);
  g_assert_cmpstr (tsr_vm_cell_get_text (tsr_test_window_find_cell (window, VM, "network")),
                   ==, NET);

  select_vm (window, FOREIGN);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.copy-value", "s", "name"));
  assert_shows (window, copied);
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "literal-list.png", 3, TIMEOUT_MS);

  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Settings shows the network by its name. */
static void
test_settings (void)
{
  TsrWindow *window = open_window ();
  TsrSettingsWindow *settings;

  select_vm (window, VM);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-settings", NULL));
  settings = wait_for_toplevel (TSR_TYPE_SETTINGS_WINDOW);
  assert_shows (settings, NET);
  close_dialog (settings);

  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Clone of a running VM made elsewhere: its name in a row's title ("is
 * running") and subtitle ("has no network card").
 */
static void
test_clone (void)
{
  TsrWindow *window = open_window ();
  TsrCloneWindow *clone;
  g_autofree char *running = g_strdup_printf ("“%s” is running", FOREIGN);
  g_autofree char *no_nic = g_strdup_printf ("“%s” has no network card", FOREIGN);

  select_vm (window, FOREIGN);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-clone", NULL));
  clone = wait_for_toplevel (TSR_TYPE_CLONE_WINDOW);
  assert_shows (clone, running);
  assert_shows (clone, no_nic);
  tsr_test_write_window_screenshot (GTK_WIDGET (clone), "literal-clone.png", 3, TIMEOUT_MS);
  close_dialog (clone);

  tsr_test_close_window (window, TIMEOUT_MS);
}

/* Start with Install Media: the pool's volume listed, then a text file
 * refused with its name in the window's toast.
 */
static void
test_start_with_media (void)
{
  TsrWindow *window = open_window ();
  TsrMediaPicker *picker;
  g_autofree char *media = g_strdup_printf ("%s:%s", POOL, VOLUME);

  select_vm (window, VM);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-start-with-media", NULL));
  picker = wait_for_toplevel (TSR_TYPE_MEDIA_PICKER);
  g_assert_true (tsr_test_spin_until (not_loading, picker, TIMEOUT_MS));
  assert_shows (picker, VOLUME);
  g_assert_true (tsr_media_picker_select (picker, media));
  g_assert_cmpstr (tsr_media_picker_get_media (picker), ==, media);

  /* A file typed as Other Source is checked when the VM starts. */
  g_assert_false (tsr_media_picker_select (picker, text_path));
  g_assert_cmpstr (tsr_media_picker_get_media (picker), ==, text_path);
  tsr_test_write_window_screenshot (GTK_WIDGET (picker), "literal-media-picker.png", 3, TIMEOUT_MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (picker), "picker.accept", NULL));
  close_dialog (picker);
  assert_shows (window, TEXT_NAME);

  tsr_test_close_window (window, TIMEOUT_MS);
}

static TsrChoiceRow *
wizard_row (TsrNewVmWindow *wizard,
            const char     *name)
{
  return TSR_CHOICE_ROW (gtk_widget_get_template_child (GTK_WIDGET (wizard),
                                                        TSR_TYPE_NEW_VM_WINDOW, name));
}

/* New VM: the chosen file's path, the pool and the network. */
static void
test_new_vm (void)
{
  TsrWindow *window = open_window ();
  TsrNewVmWindow *wizard;
  TsrMediaPicker *picker;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-vm", NULL));
  wizard = wait_for_toplevel (TSR_TYPE_NEW_VM_WINDOW);
  g_assert_true (tsr_test_spin_until (not_loading, wizard, TIMEOUT_MS));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (wizard), "new-vm.choose-media", NULL));
  picker = wait_for_toplevel (TSR_TYPE_MEDIA_PICKER);
  g_assert_true (tsr_test_spin_until (not_loading, picker, TIMEOUT_MS));
  tsr_media_picker_select (picker, iso_path);
  g_assert_cmpstr (tsr_media_picker_get_media (picker), ==, iso_path);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (picker), "picker.accept", NULL));
  close_dialog (picker);
  g_assert_cmpstr (tsr_new_vm_window_get_media (wizard), ==, iso_path);
  assert_shows (wizard, iso_path);

  g_assert_true (tsr_choice_row_select_value (wizard_row (wizard, "pool_row"), POOL));
  g_assert_true (tsr_choice_row_select_value (wizard_row (wizard, "network_row"), NET));
  assert_shows (wizard, POOL);
  assert_shows (wizard, NET);
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "literal-new-vm.png", 3, TIMEOUT_MS);
  close_dialog (wizard);

  tsr_test_close_window (window, TIMEOUT_MS);
}

static gboolean
vm_shut_off (gpointer data)
{
  return tsr_vm_get_state (data) == TSR_VM_STATE_SHUTOFF;
}

static gboolean
vm_gone (gpointer window)
{
  return tsr_connection_lookup_vm (tsr_window_get_connection (window), FOREIGN) == NULL;
}

/* Delete… of the foreign VM: refused while it runs, then deleted; its name
 * in the dialogs and in the toast.
 */
static void
test_delete (void)
{
  TsrWindow *window = open_window ();
  AdwMessageDialog *dialog;
  g_autofree char *refused = g_strdup_printf ("“%s” Cannot Be Deleted Now", FOREIGN);
  g_autofree char *question = g_strdup_printf ("Delete “%s”?", FOREIGN);
  g_autofree char *deleted = g_strdup_printf ("Deleted “%s”", FOREIGN);

  select_vm (window, FOREIGN);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-delete", NULL));
  dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  assert_shows (dialog, refused);
  adw_message_dialog_response (dialog, "close");
  close_dialog (dialog);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-force-off", NULL));
  g_assert_true (tsr_test_spin_until (vm_shut_off,
                                      tsr_connection_lookup_vm (tsr_window_get_connection (window),
                                                                FOREIGN), TIMEOUT_MS));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-delete", NULL));
  dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  assert_shows (dialog, question);
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "delete"));
  adw_message_dialog_response (dialog, "delete");
  close_dialog (dialog);
  g_assert_true (tsr_test_spin_until (vm_gone, window, TIMEOUT_MS));
  assert_shows (window, deleted);

  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
run (const char *command)
{
  g_autofree char *err = NULL;
  int status;

  g_assert_true (g_spawn_command_line_sync (command, NULL, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s: %s", command, err);
}

static gboolean
import_loaded (gpointer dialog)
{
  return !tsr_dialog_get_loading (TSR_DIALOG (dialog)) &&
         g_strcmp0 (tsr_import_window_get_page (dialog), "reading") != 0;
}

/* Import: the appliance's own name (from its OVF), the .ova's file name and
 * its disk's file name.
 */
static void
test_import (void)
{
  TsrWindow *window = open_window ();
  g_autofree char *img = g_build_filename (media_dir, "disk.img", NULL);
  g_autofree char *vmdk = g_build_filename (media_dir, DISK_NAME, NULL);
  g_autofree char *ovf = g_build_filename (media_dir, "appliance.ovf", NULL);
  g_autofree char *ova = g_build_filename (media_dir, OVA_NAME, NULL);
  g_autofree char *quoted_dir = g_shell_quote (media_dir);
  g_autofree char *quoted_img = g_shell_quote (img);
  g_autofree char *quoted_vmdk = g_shell_quote (vmdk);
  g_autofree char *quoted_ova = g_shell_quote (ova);
  g_autofree char *quoted_member = g_shell_quote (DISK_NAME);
  g_autofree char *cmd = NULL;
  g_autofree char *ovf_text = NULL;
  g_autofree char *found = g_strdup_printf ("Found in “%s”", OVA_NAME);
  g_autofree char *named = g_strdup_printf ("named “%s”", APP_NAME);
  g_autoptr(GFile) file = NULL;
  TsrImportWindow *dialog;

  ovf_text = g_markup_printf_escaped (
    "<?xml version='1.0'?>"
    "<Envelope ovf:version='1.0' xmlns='http://schemas.dmtf.org/ovf/envelope/1'"
    " xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'"
    " xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData'>"
    "<References><File ovf:id='file1' ovf:href='%s'/></References>"
    "<DiskSection><Info>disks</Info><Disk ovf:diskId='vmdisk1' ovf:fileRef='file1' "
    "ovf:capacity='16777216' "
    "ovf:format='http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'/>"
    "</DiskSection>"
    "<VirtualSystem ovf:id='%s'><Info>vm</Info><Name>%s</Name>"
    "<VirtualHardwareSection><Info>hw</Info>"
    "<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType>"
    "<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource></Item>"
    "</VirtualHardwareSection></VirtualSystem></Envelope>", DISK_NAME, APP_NAME, APP_NAME);
  g_assert_true (g_file_set_contents (ovf, ovf_text, -1, NULL));
  cmd = g_strdup_printf ("qemu-img create -q -f raw %s 16M", quoted_img);
  run (cmd);
  g_clear_pointer (&cmd, g_free);
  cmd = g_strdup_printf ("qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized %s %s",
                         quoted_img, quoted_vmdk);
  run (cmd);
  g_clear_pointer (&cmd, g_free);
  cmd = g_strdup_printf ("tar --format=ustar -C %s -cf %s appliance.ovf %s", quoted_dir,
                         quoted_ova, quoted_member);
  run (cmd);

  file = g_file_new_for_path (ova);
  dialog = tsr_import_window_new (GTK_WINDOW (window), tsr_window_get_connection (window), file);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (tsr_test_spin_until (import_loaded, dialog, TIMEOUT_MS));
  g_assert_cmpstr (tsr_import_window_get_page (dialog), ==, "form");
  assert_shows (dialog, found);
  assert_shows (dialog, named);
  assert_shows (dialog, DISK_NAME);
  tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "literal-import.png", 3, TIMEOUT_MS);
  close_dialog (g_object_ref (dialog));

  g_unlink (img);
  g_unlink (vmdk);
  g_unlink (ovf);
  g_unlink (ova);
  tsr_test_close_window (window, TIMEOUT_MS);
}

/* The CLI prints the names unchanged. */
static void
test_cli (void)
{
  const char *cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *cdrom = g_strdup_printf ("--cdrom=%s", text_path);
  int status;

  g_assert_nonnull (cli_dir);
  out = tsr_test_run_cli (cli_dir, uri, TRUE, "qvm-ls", &status, NULL, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, FOREIGN));
  g_assert_nonnull (strstr (out, NET));
  g_clear_pointer (&out, g_free);

  /* Control characters in a name (the domain "ctl<TAB>vm") are written
   * out, so that each VM stays one line of its own: a header and three VMs.
   */
  out = tsr_test_run_cli (cli_dir, uri, TRUE, "qvm-ls", &status, NULL, "-n", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (g_strstr_len (out, -1, "\nctl\\tvm "));
  g_assert_null (strchr (out, '\t'));
  {
    g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 4 + 1);
    g_assert_cmpstr (lines[4], ==, "");
  }
  g_clear_pointer (&out, g_free);

  /* qvm-prefs lists that VM's properties the same way: its name written
   * out, every property on a line of its own.
   */
  out = tsr_test_run_cli (cli_dir, uri, TRUE, "qvm-prefs", &status, NULL, "ctl\tvm", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (g_strstr_len (out, -1, "ctl\\tvm\n"));
  g_assert_null (strchr (out, '\t'));
  g_clear_pointer (&out, g_free);
  out = tsr_test_run_cli (cli_dir, uri, TRUE, "qvm-prefs", &status, NULL, "ctl\tvm", "name", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (out, ==, "ctl\\tvm\n");
  g_clear_pointer (&out, g_free);

  out = tsr_test_run_cli (cli_dir, uri, TRUE, "qvm-prefs", &status, NULL, VM, "netvm", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (out, ==, NET "\n");
  g_clear_pointer (&out, g_free);

  out = tsr_test_run_cli (cli_dir, uri, FALSE, "qvm-start", &status, &err, VM, cdrom, NULL);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, TEXT_NAME));
}

static void
write_media (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *iso = g_malloc0 (36 * 1024);

  media_dir = g_dir_make_tmp ("tessera-literal-XXXXXX", &error);
  g_assert_no_error (error);
  iso_path = g_build_filename (media_dir, ISO_NAME, NULL);
  text_path = g_build_filename (media_dir, TEXT_NAME, NULL);

  /* An ISO 9660 primary volume descriptor at 32 KiB. */
  memcpy (iso + 32768, "\001CD001\001", 7);
  g_file_set_contents (iso_path, iso, 36 * 1024, &error);
  g_assert_no_error (error);
  g_file_set_contents (text_path, "not an installer\n", -1, &error);
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *node_dir = g_path_get_dirname (g_getenv ("TESSERA_TEST_NODE"));
  int ret;

  g_test_init (&argc, &argv, NULL);

  uri = g_strdup_printf ("test://%s/literal.xml", node_dir);
  write_media ();

  app = tsr_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) |
                           G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/gui/literal/list", test_list);
  g_test_add_func ("/gui/literal/settings", test_settings);
  g_test_add_func ("/gui/literal/clone", test_clone);
  g_test_add_func ("/gui/literal/start-with-media", test_start_with_media);
  g_test_add_func ("/gui/literal/new-vm", test_new_vm);
  g_test_add_func ("/gui/literal/delete", test_delete);
  tsr_test_add_func_needing ("/gui/literal/import", test_import, "qemu-img", "tar", NULL);
  g_test_add_func ("/cli/literal", test_cli);

  ret = g_test_run ();

  g_clear_object (&app);
  g_unlink (iso_path);
  g_unlink (text_path);
  g_rmdir (media_dir);
  g_free (iso_path);
  g_free (text_path);
  g_free (media_dir);
  g_free (uri);

  return ret;
}
