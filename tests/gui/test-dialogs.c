/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The New VM wizard, the media picker and the Settings window, for real, on
 * libvirt's test driver under Xvfb. The tests fill the widgets as a user
 * would, then check what the core made of it.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-application.h"
#include "tsr-connection-private.h"
#include "tsr-console-window.h"
#include "tsr-label-chooser.h"
#include "tsr-media-picker.h"
#include "tsr-network-row.h"
#include "tsr-new-vm-window.h"
#include "tsr-os-row.h"
#include "tsr-pool-row.h"
#include "tsr-settings.h"
#include "tsr-settings-window.h"
#include "tsr-window.h"
#include "tsr-test-util.h"

#define TIMEOUT_MS 10000
#define ISO_VOLUME "default-pool:installer.iso"

static TsrApplication *app;
static char *kernels_dir;
static char *dev_dir;

/* Runs the main context until COND holds; no sleeping. */
#define WAIT_FOR(cond)                                                        \
  G_STMT_START {                                                              \
    gboolean _timed_out = FALSE;                                              \
    guint _source = g_timeout_add (TIMEOUT_MS, tsr_test_timed_out_cb, &_timed_out);      \
    while (!(cond) && !_timed_out)                                            \
      g_main_context_iteration (NULL, TRUE);                                  \
    if (!_timed_out)                                                          \
      g_source_remove (_source);                                              \
    if (!(cond))                                                              \
      g_error ("Timed out waiting for: %s", #cond);                           \
  } G_STMT_END

static TsrWindow *
open_window (void)
{
  return tsr_test_open_window (GTK_APPLICATION (app), NULL, "list", 3, TIMEOUT_MS);
}

/* The dialog of TYPE on screen, with a reference for the caller. */
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

static gpointer
wait_for_toplevel (GType type)
{
  gpointer window = NULL;
  gboolean timed_out = FALSE;
  guint source = g_timeout_add (TIMEOUT_MS, tsr_test_timed_out_cb, &timed_out);

  while ((window = find_toplevel (type)) == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (window == NULL)
    g_error ("No %s appeared", g_type_name (type));
  g_source_remove (source);

  WAIT_FOR (gtk_widget_get_mapped (window));
  return window;
}

/* Closes a dialog the test holds the last reference to, and proves it is
 * freed once the calls it made have returned.
 */
static void
close_dialog (gpointer dialog)
{
  if (gtk_widget_get_visible (dialog))
    gtk_window_close (dialog);
  WAIT_FOR (G_OBJECT (dialog)->ref_count == 1);
  g_assert_finalize_object (dialog);
}

static gpointer
child (gpointer    widget,
       GType       type,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (widget, type, name);

  if (object == NULL)
    g_error ("%s has no child “%s”", G_OBJECT_TYPE_NAME (widget), name);
  return object;
}

#define WIZARD(w, name)   child (w, TSR_TYPE_NEW_VM_WINDOW, name)
#define SETTINGS(w, name) child (w, TSR_TYPE_SETTINGS_WINDOW, name)
#define PICKER(w, name)   child (w, TSR_TYPE_MEDIA_PICKER, name)

static gboolean
shows_message (GtkLabel   *label,
               const char *part)
{
  return gtk_widget_get_visible (GTK_WIDGET (label)) &&
         strstr (gtk_label_get_text (label), part) != NULL;
}

static void
type_text (gpointer    editable,
           const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (editable), text);
}

static void
click (gpointer button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static void
scroll_to_end (GtkWidget *widget)
{
  for (GtkWidget *w = widget; w != NULL; w = gtk_widget_get_first_child (w))
    if (GTK_IS_SCROLLED_WINDOW (w))
      {
        GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (w));

        gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
        return;
      }
  g_assert_not_reached ();
}

/* The widget a user would use for ACTION under ROOT: a header bar button or
 * a menu item.
 */
static GtkWidget *
find_actionable (GtkWidget  *root,
                 const char *action)
{
  if (GTK_IS_ACTIONABLE (root) &&
      g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (root)), action) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_actionable (c, action);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A row menu item, by its label: menu items keep no action name. */
static GtkWidget *
find_menu_item (GtkWidget  *root,
                const char *label)
{
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (root), "text") != NULL &&
      !GTK_IS_LABEL (root))
    {
      g_autofree char *text = NULL;

      g_object_get (root, "text", &text, NULL);
      if (g_strcmp0 (text, label) == 0)
        return root;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_menu_item (c, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Whether the row menu offers the item called LABEL for the selected VM. */
static gboolean
menu_item_enabled (TsrWindow  *window,
                   const char *label)
{
  GtkWidget *menu;
  GtkWidget *item;
  gboolean enabled;

  tsr_test_window_popup_vm_menu (window, "name");
  menu = GTK_WIDGET (tsr_test_window_get_context_menu (window));
  WAIT_FOR (gtk_widget_get_mapped (menu));
  item = find_menu_item (menu, label);
  g_assert_nonnull (item);
  enabled = gtk_widget_get_sensitive (item);
  gtk_popover_popdown (GTK_POPOVER (menu));
  WAIT_FOR (!gtk_widget_get_mapped (menu));

  return enabled;
}

/* The core's view, to check what the dialogs did. */

static char *
domain_xml (TsrConnection *connection,
            const char    *name,
            gboolean       inactive)
{
  return tsr_test_domain_xml (tsr_connection_get_handle (connection), name,
                              inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
}

static gboolean
domain_exists (TsrConnection *connection,
               const char    *name)
{
  virDomainPtr dom = virDomainLookupByName (tsr_connection_get_handle (connection), name);

  virResetLastError ();
  if (dom == NULL)
    return FALSE;
  virDomainFree (dom);
  return TRUE;
}

static gboolean
volume_exists (TsrConnection *connection,
               const char    *pool_name,
               const char    *volume)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (tsr_connection_get_handle (connection),
                                                       pool_name);
  virStorageVolPtr vol;

  g_assert_nonnull (pool);
  virStoragePoolRefresh (pool, 0);
  vol = virStorageVolLookupByName (pool, volume);
  virResetLastError ();
  virStoragePoolFree (pool);
  if (vol == NULL)
    return FALSE;
  virStorageVolFree (vol);
  return TRUE;
}

/* An installer ISO in the test pool, as the media picker lists it. */
static void
add_iso_volume (TsrConnection *connection)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (tsr_connection_get_handle (connection),
                                                       "default-pool");
  virStorageVolPtr vol;

  g_assert_nonnull (pool);
  vol = virStorageVolCreateXML (pool, "<volume><name>installer.iso</name>"
                                      "<capacity unit='MiB'>650</capacity></volume>", 0);
  g_assert_nonnull (vol);
  virStorageVolFree (vol);
  virStoragePoolFree (pool);
}

static TsrNewVmWindow *
open_wizard (TsrWindow *window)
{
  TsrNewVmWindow *wizard;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-vm", NULL));
  wizard = wait_for_toplevel (TSR_TYPE_NEW_VM_WINDOW);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (wizard)) == GTK_WINDOW (window));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (wizard)));
  WAIT_FOR (!tsr_dialog_get_loading (TSR_DIALOG (wizard)));
  return wizard;
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static const char *
subtitle (gpointer row)
{
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

static const char *
item_title (gpointer row,
            guint    position)
{
  g_autoptr(TsrChoice) choice = g_list_model_get_item (adw_combo_row_get_model (ADW_COMBO_ROW (row)),
                                                       position);

  return choice ? tsr_choice_get_title (choice) : NULL;
}

/* Chooses the TemplateVM called NAME, as the user would. */
static gboolean
select_template (TsrNewVmWindow *wizard,
                 const char     *name)
{
  AdwComboRow *row = WIZARD (wizard, "template_row");
  GListModel *model = adw_combo_row_get_model (row);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      if (g_strcmp0 (tsr_vm_get_name (vm), name) == 0)
        {
          adw_combo_row_set_selected (row, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* Tests */

/* The pool and network drop-downs that New VM, Import and Clone share. */
static void
test_choice_rows (void)
{
  TsrPoolRow *pool = g_object_ref_sink (g_object_new (TSR_TYPE_POOL_ROW, NULL));
  TsrPoolRow *source = g_object_ref_sink (g_object_new (TSR_TYPE_POOL_ROW, "offer-source", TRUE,
                                                        "hint", "Where the disks go", NULL));
  TsrNetworkRow *network = g_object_ref_sink (g_object_new (TSR_TYPE_NETWORK_ROW, NULL));
  const char * const pools[] = { "default", "fast", NULL };
  const char * const fewer[] = { "default", NULL };
  const char * const networks[] = { "default", "tessera", NULL };
  guint notified = 0;

  /* Before the list comes, Tessera's own pool, made on first use. */
  g_assert_cmpstr (tsr_pool_row_get_pool (pool), ==, "tessera");
  g_assert_cmpstr (subtitle (pool), ==, "");
  tsr_pool_row_set_pools (pool, pools);
  g_assert_cmpstr (tsr_pool_row_get_pool (pool), ==, "tessera");
  g_assert_cmpstr (subtitle (pool), ==, "Made when first needed");
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (ADW_COMBO_ROW (pool))), ==, 3);

  g_signal_connect_swapped (pool, "notify::value", G_CALLBACK (count_cb), &notified);
  g_assert_true (tsr_choice_row_select_value (TSR_CHOICE_ROW (pool), "fast"));
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpstr (subtitle (pool), ==, "");
  /* A new list keeps the choice while it is offered, else falls back. */
  tsr_pool_row_set_pools (pool, pools);
  g_assert_cmpstr (tsr_pool_row_get_pool (pool), ==, "fast");
  tsr_pool_row_set_pools (pool, fewer);
  g_assert_cmpstr (tsr_pool_row_get_pool (pool), ==, "tessera");
  g_assert_false (tsr_choice_row_select_value (TSR_CHOICE_ROW (pool), "gone"));
  g_assert_cmpstr (tsr_pool_row_get_pool (pool), ==, "tessera");

  /* Clone's: the source's pools first, standing for NULL, and the hint. */
  g_assert_null (tsr_pool_row_get_pool (source));
  g_assert_cmpstr (item_title (source, 0), ==, "Same as the source");
  g_assert_cmpstr (subtitle (source), ==, "Where the disks go");
  tsr_pool_row_set_pools (source, pools);
  g_assert_null (tsr_pool_row_get_pool (source));
  g_assert_cmpstr (item_title (source, 1), ==, "default");
  g_assert_true (tsr_choice_row_select_value (TSR_CHOICE_ROW (source), "fast"));
  g_assert_cmpstr (tsr_pool_row_get_pool (source), ==, "fast");
  g_assert_true (tsr_choice_row_select_value (TSR_CHOICE_ROW (source), NULL));
  g_assert_null (tsr_pool_row_get_pool (source));

  /* Networks: Tessera's first, the others, then none; each says what it is. */
  tsr_network_row_set_networks (network, networks);
  g_assert_cmpstr (item_title (network, 0), ==, "tessera");
  g_assert_cmpstr (item_title (network, 1), ==, "default");
  g_assert_cmpstr (item_title (network, 2), ==, "None (no network)");
  g_assert_true (tsr_choice_row_select_value (TSR_CHOICE_ROW (network), "tessera"));
  g_assert_cmpstr (subtitle (network), ==, "Tessera’s own: a fixed address for the VM");
  g_assert_true (tsr_choice_row_select_value (TSR_CHOICE_ROW (network), "none"));
  g_assert_cmpstr (tsr_network_row_get_network (network), ==, "none");
  g_assert_cmpstr (subtitle (network), ==, "No network card");
  tsr_network_row_set_networks (network, fewer);
  g_assert_cmpstr (tsr_network_row_get_network (network), ==, "none");
  g_assert_true (tsr_choice_row_select_value (TSR_CHOICE_ROW (network), "tessera"));
  g_assert_cmpstr (subtitle (network), ==, "Tessera’s own, made when first needed");
  /* Why there is no list wins, as plain text. */
  tsr_choice_row_set_error (TSR_CHOICE_ROW (network), "No <access> & no list");
  g_assert_cmpstr (subtitle (network), ==, "No &lt;access&gt; &amp; no list");

  g_assert_finalize_object (pool);
  g_assert_finalize_object (source);
  g_assert_finalize_object (network);
}

/* The system on the install media is recognised from its contents, not
 * its name; the user can choose another from libosinfo's list, and then
 * media no longer change it.
 */
static gboolean
os_row_idle (gpointer row)
{
  return !tsr_os_row_get_busy (row);
}

static gboolean
list_loaded (gpointer view)
{
  return gtk_list_view_get_model (view) != NULL;
}

static void
check_os_detection (TsrNewVmWindow *wizard)
{
  TsrOsRow *row = WIZARD (wizard, "os_row");
  g_autofree char *dir = g_dir_make_tmp ("tsr-gui-os-XXXXXX", NULL);
  g_autofree char *iso = tsr_test_make_iso (dir, "Debian 11.6.0 amd64 n", NULL);
  g_autofree char *named = g_build_filename (dir, "Win11_English_x64.iso", NULL);
  GtkMenuButton *button = GTK_MENU_BUTTON (tsr_test_find_descendant (GTK_WIDGET (row),
                                                                     GTK_TYPE_MENU_BUTTON));
  GtkWidget *popover = GTK_WIDGET (gtk_menu_button_get_popover (button));
  GtkWidget *view = tsr_test_find_descendant (popover, GTK_TYPE_LIST_VIEW);
  GtkWidget *search = tsr_test_find_descendant (popover, GTK_TYPE_SEARCH_ENTRY);
  GListModel *model;

  g_assert_null (tsr_os_row_get_defaults (row)->id);
  g_assert_cmpint (g_rename (iso, named), ==, 0);
  tsr_new_vm_window_set_media (wizard, named);
  g_assert_true (tsr_os_row_get_busy (row));
  /* Creating waits for the answer. */
  g_assert_false (gtk_widget_get_sensitive (WIZARD (wizard, "create_button")));
  g_assert_true (tsr_test_spin_until (os_row_idle, row, TIMEOUT_MS));
  g_assert_cmpstr (tsr_os_row_get_defaults (row)->id, ==, "debian11");
  g_assert_cmpstr (subtitle (row), ==, "Debian 11, recognised on the install media");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (WIZARD (wizard, "memory_spin")), ==, 1024);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (WIZARD (wizard, "disk_spin")), ==, 20);
  g_assert_false (gtk_widget_get_visible (WIZARD (wizard, "drivers_row")));
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-os-detected.png", 3, TIMEOUT_MS);

  /* The searchable list of every OS libosinfo knows. */
  gtk_menu_button_popup (button);
  g_assert_true (tsr_test_spin_until (list_loaded, view, TIMEOUT_MS));
  model = G_LIST_MODEL (gtk_list_view_get_model (GTK_LIST_VIEW (view)));
  g_assert_cmpuint (g_list_model_get_n_items (model), >, 100);
  gtk_editable_set_text (GTK_EDITABLE (search), "windows 11");
  /* GtkSearchEntry says the text changed after a short delay. */
  g_signal_emit_by_name (search, "search-changed");
  g_assert_cmpuint (g_list_model_get_n_items (model), >=, 1);
  {
    g_autoptr(TsrOsEntry) first = g_list_model_get_item (model, 0);

    g_assert_cmpstr (tsr_os_entry_get_id (first), ==, "win11");
  }
  g_signal_emit_by_name (view, "activate", 0);
  g_assert_true (tsr_test_spin_until (os_row_idle, row, TIMEOUT_MS));
  g_assert_cmpstr (tsr_os_row_get_defaults (row)->id, ==, "win11");
  g_assert_cmpstr (subtitle (row), ==, "Microsoft Windows 11 · UEFI Secure Boot and TPM 2.0");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (WIZARD (wizard, "disk_spin")), ==, 64);
  /* Windows: the drivers disc is offered. */
  g_assert_true (gtk_widget_get_visible (WIZARD (wizard, "drivers_row")));
  g_assert_null (tsr_new_vm_window_get_drivers_media (wizard));
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-os-windows.png", 3, TIMEOUT_MS);

  /* Chosen by the user: other media no longer change it. */
  tsr_new_vm_window_set_media (wizard, named);
  g_assert_false (tsr_os_row_get_busy (row));
  g_assert_cmpstr (tsr_os_row_get_defaults (row)->id, ==, "win11");
  tsr_new_vm_window_set_media (wizard, NULL);

  tsr_test_remove_flat_dir (dir);
}

static void
test_new_vm_validation (void)
{
  TsrWindow *window = open_window ();
  TsrNewVmWindow *wizard = open_wizard (window);
  GtkWidget *create = WIZARD (wizard, "create_button");
  GtkLabel *name_error = WIZARD (wizard, "name_error");
  GtkWidget *name_row = WIZARD (wizard, "name_row");
  GtkLabel *resources_error = WIZARD (wizard, "resources_error");

  /* A fresh form: nothing to complain about yet, but nothing to create. */
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (name_error)));
  g_assert_false (gtk_widget_is_sensitive (create));
  /* Installing from a device is on for a standalone VM, with the media row. */
  g_assert_true (gtk_switch_get_active (WIZARD (wizard, "install_switch")));
  g_assert_true (gtk_widget_get_visible (WIZARD (wizard, "media_row")));
  g_assert_false (gtk_widget_get_visible (WIZARD (wizard, "template_row")));
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm.png", 3, TIMEOUT_MS);
  /* The node has no pool of Tessera's: it is made on first use. */
  g_assert_cmpstr (tsr_pool_row_get_pool (WIZARD (wizard, "pool_row")), ==, "tessera");
  g_assert_cmpstr (subtitle (WIZARD (wizard, "pool_row")), ==, "Made when first needed");

  /* Each rule says why, under the name, as it is typed. */
  type_text (name_row, "1bad");
  g_assert_true (shows_message (name_error, "must start with a letter"));
  g_assert_true (gtk_widget_has_css_class (name_row, "error"));
  g_assert_false (gtk_widget_is_sensitive (create));
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-invalid-name.png", 3, TIMEOUT_MS);

  type_text (name_row, "vault");
  g_assert_true (shows_message (name_error, "already exists"));
  g_assert_false (gtk_widget_is_sensitive (create));
  type_text (name_row, "x-dm");
  g_assert_true (shows_message (name_error, "-dm"));
  type_text (name_row, "");
  g_assert_true (shows_message (name_error, "empty"));

  /* A VM made elsewhere meanwhile takes the name away. */
  type_text (name_row, "late-comer");
  g_assert_true (gtk_widget_is_sensitive (create));
  {
    virConnectPtr handle = tsr_connection_get_handle (tsr_window_get_connection (window));
    virDomainPtr dom = virDomainDefineXML (handle,
                                           "<domain type='test'><name>late-comer</name>"
                                           "<memory unit='KiB'>65536</memory>"
                                           "<os><type arch='x86_64'>hvm</type></os></domain>");

    g_assert_nonnull (dom);
    virDomainFree (dom);
  }
  WAIT_FOR (shows_message (name_error, "already exists"));
  g_assert_false (gtk_widget_is_sensitive (create));

  type_text (name_row, "fine-name");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (name_error)));
  g_assert_false (gtk_widget_has_css_class (name_row, "error"));
  g_assert_true (gtk_widget_is_sensitive (create));

  /* Max memory below memory. */
  gtk_spin_button_set_value (WIZARD (wizard, "maxmem_spin"), 100);
  g_assert_true (shows_message (resources_error, "Max memory"));
  g_assert_false (gtk_widget_is_sensitive (create));
  gtk_spin_button_set_value (WIZARD (wizard, "maxmem_spin"), 0);
  g_assert_true (gtk_widget_is_sensitive (create));

  /* Based on a template: the template chooser offers the TemplateVMs, and
   * the installer is off by default.
   */
  adw_combo_row_set_selected (WIZARD (wizard, "type_row"), 1);
  g_assert_true (gtk_widget_get_visible (WIZARD (wizard, "template_row")));
  g_assert_false (gtk_switch_get_active (WIZARD (wizard, "install_switch")));
  g_assert_false (gtk_widget_get_visible (WIZARD (wizard, "media_row")));
  g_assert_false (gtk_widget_get_visible (WIZARD (wizard, "disk_row")));
  {
    GListModel *templates = adw_combo_row_get_model (WIZARD (wizard, "template_row"));

    g_assert_cmpuint (g_list_model_get_n_items (templates), ==, 1);
    g_assert_true (select_template (wizard, "vault"));
    g_assert_false (select_template (wizard, "work-web"));
  }
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-from-template.png", 3, TIMEOUT_MS);

  /* The pools and networks of the connection, and none. */
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "pool_row"), "default-pool"));
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "network_row"), "tessera-unit"));
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "network_row"), "none"));
  g_assert_false (tsr_choice_row_select_value (WIZARD (wizard, "network_row"), "no-such-network"));
  g_assert_cmpstr (subtitle (WIZARD (wizard, "network_row")), ==, "No network card");
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "pool_row"), "tessera"));
  {
    GtkWidget *scrolled = tsr_test_find_descendant (WIZARD (wizard, "form_page"),
                                                    GTK_TYPE_SCROLLED_WINDOW);
    GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));

    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
    tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-storage.png", 3, TIMEOUT_MS);
  }

  check_os_detection (wizard);

  /* Cancel closes without making anything. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (wizard), "new-vm.cancel", NULL));
  close_dialog (wizard);
  g_assert_false (domain_exists (tsr_window_get_connection (window), "fine-name"));

  tsr_test_close_window (window, TIMEOUT_MS);
}

static const char *
stage_text (TsrNewVmWindow *wizard)
{
  return gtk_label_get_text (WIZARD (wizard, "stage_label"));
}

static void
test_new_vm_create (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  GMutex *reserve_lock = tsr_connection_get_reserve_lock (connection);
  TsrNewVmWindow *wizard;
  TsrMediaPicker *picker;
  TsrSettingsWindow *settings;
  TsrVm *vm;

  add_iso_volume (connection);
  wizard = open_wizard (window);

  type_text (WIZARD (wizard, "name_row"), "my-new-vm");
  click (tsr_label_chooser_get_button (WIZARD (wizard, "label_chooser"), "green"));
  g_assert_cmpstr (tsr_label_chooser_get_label (WIZARD (wizard, "label_chooser")), ==, "green");
  gtk_spin_button_set_value (WIZARD (wizard, "memory_spin"), 512);
  gtk_spin_button_set_value (WIZARD (wizard, "maxmem_spin"), 1024);
  gtk_spin_button_set_value (WIZARD (wizard, "vcpus_spin"), 1);
  gtk_spin_button_set_value (WIZARD (wizard, "disk_spin"), 2);
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "pool_row"), "default-pool"));
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "network_row"), "tessera-unit"));
  gtk_switch_set_active (WIZARD (wizard, "open_settings_switch"), TRUE);

  /* The media picker lists the pool's ISO and gives it in the core's syntax. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (wizard), "new-vm.choose-media", NULL));
  picker = wait_for_toplevel (TSR_TYPE_MEDIA_PICKER);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (picker)) == GTK_WINDOW (wizard));
  WAIT_FOR (!tsr_dialog_get_loading (TSR_DIALOG (picker)));
  g_assert_false (gtk_widget_is_sensitive (PICKER (picker, "accept_button")));

  /* Typed media is checked as it is typed. */
  type_text (PICKER (picker, "source_row"), "no-colon-here");
  g_assert_true (shows_message (PICKER (picker, "source_error"), "is not install media"));
  g_assert_false (gtk_widget_is_sensitive (PICKER (picker, "accept_button")));
  type_text (PICKER (picker, "source_row"), "");

  /* A file inside a running VM: the VM chosen and the path typed make
   * VM:/path; a path that is not absolute makes nothing.
   */
  {
    GListModel *names = adw_combo_row_get_model (PICKER (picker, "vm_row"));
    g_autofree char *want = NULL;

    g_assert_cmpuint (g_list_model_get_n_items (names), >, 0);
    g_assert_false (gtk_check_button_get_active (PICKER (picker, "vm_check")));
    type_text (PICKER (picker, "vm_path_row"), "/home/user/installer.iso");
    g_assert_true (gtk_check_button_get_active (PICKER (picker, "vm_check")));
    want = g_strdup_printf ("%s:/home/user/installer.iso",
                            gtk_string_list_get_string (GTK_STRING_LIST (names), 0));
    g_assert_cmpstr (tsr_media_picker_get_media (picker), ==, want);
    g_assert_true (gtk_widget_is_sensitive (PICKER (picker, "accept_button")));
    tsr_test_write_window_screenshot (GTK_WIDGET (picker), "media-picker-vm.png", 3, TIMEOUT_MS);
    type_text (PICKER (picker, "vm_path_row"), "installer.iso");
    g_assert_null (tsr_media_picker_get_media (picker));
    g_assert_false (gtk_widget_is_sensitive (PICKER (picker, "accept_button")));
  }

  g_assert_true (tsr_media_picker_select (picker, ISO_VOLUME));
  g_assert_cmpstr (tsr_media_picker_get_media (picker), ==, ISO_VOLUME);
  g_assert_false (gtk_widget_get_visible (PICKER (picker, "source_error")));
  tsr_test_write_window_screenshot (GTK_WIDGET (picker), "media-picker.png", 3, TIMEOUT_MS);
  click (PICKER (picker, "accept_button"));
  close_dialog (picker);

  g_assert_cmpstr (tsr_new_vm_window_get_media (wizard), ==, ISO_VOLUME);
  g_assert_cmpstr (adw_action_row_get_subtitle (WIZARD (wizard, "media_row")), ==, ISO_VOLUME);
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-media.png", 3, TIMEOUT_MS);
  scroll_to_end (WIZARD (wizard, "form_page"));
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-resources.png", 3, TIMEOUT_MS);

  /* Holding the address lock keeps the create at "Reserving an address",
   * so the progress page can be seen.
   */
  g_mutex_lock (reserve_lock);
  click (WIZARD (wizard, "create_button"));
  g_assert_true (tsr_new_vm_window_get_busy (wizard));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (WIZARD (wizard, "stack")), ==, "progress");
  WAIT_FOR (g_strcmp0 (stage_text (wizard), "Reserving an address") == 0);
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-progress.png", 3, TIMEOUT_MS);
  g_mutex_unlock (reserve_lock);

  /* The wizard closes once the VM is in the list and started. */
  WAIT_FOR (!gtk_widget_get_visible (GTK_WIDGET (wizard)));
  close_dialog (wizard);

  vm = tsr_connection_lookup_vm (connection, "my-new-vm");
  g_assert_nonnull (vm);
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "green");
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "StandaloneVM");
  g_assert_cmpstr (tsr_vm_get_virt_mode (vm), ==, "hvm");
  g_assert_cmpstr (tsr_vm_get_kernel (vm), ==, "");
  g_assert_cmpuint (tsr_vm_get_memory (vm), ==, 512);
  g_assert_cmpuint (tsr_vm_get_maxmem (vm), ==, 1024);
  g_assert_cmpuint (tsr_vm_get_vcpus (vm), ==, 1);
  g_assert_cmpstr (tsr_vm_get_netvm (vm), ==, "tessera-unit");
  g_assert_true (volume_exists (connection, "default-pool", "my-new-vm-root.qcow2"));
  g_assert_true (tsr_window_get_selected_vm (window) == vm);
  /* The list shows it, with its label. */
  WAIT_FOR (tsr_test_window_find_cell (window, "my-new-vm", "label") != NULL &&
            g_strcmp0 (tsr_vm_cell_get_text (tsr_test_window_find_cell (window, "my-new-vm", "label")),
                       "green") == 0);

  /* Started once with the ISO as a cdrom; the saved definition has none. */
  WAIT_FOR (tsr_vm_get_state (vm) == TSR_VM_STATE_RUNNING);
  {
    g_autofree char *live = domain_xml (connection, "my-new-vm", FALSE);
    g_autofree char *saved = domain_xml (connection, "my-new-vm", TRUE);

    g_assert_nonnull (strstr (live, "/default-pool/installer.iso"));
    g_assert_null (strstr (saved, "installer.iso"));
  }

  /* Booted from its installer: its console opened to show it. */
  {
    TsrConsoleWindow *console = wait_for_toplevel (TSR_TYPE_CONSOLE_WINDOW);

    g_assert_cmpstr (tsr_console_window_get_vm_name (console), ==, "my-new-vm");
    close_dialog (console);
  }

  /* "Open settings after creation" */
  settings = wait_for_toplevel (TSR_TYPE_SETTINGS_WINDOW);
  g_assert_true (tsr_settings_window_get_vm (settings) == vm);
  WAIT_FOR (!tsr_settings_window_get_loading (settings));
  g_assert_cmpstr (gtk_editable_get_text (SETTINGS (settings, "name_row")), ==, "my-new-vm");
  close_dialog (settings);

  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
test_new_vm_cancel (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  GMutex *reserve_lock = tsr_connection_get_reserve_lock (connection);
  TsrNewVmWindow *wizard = open_wizard (window);

  type_text (WIZARD (wizard, "name_row"), "doomed");
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "pool_row"), "default-pool"));
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "network_row"), "tessera-unit"));

  g_mutex_lock (reserve_lock);
  click (WIZARD (wizard, "create_button"));
  WAIT_FOR (g_strcmp0 (stage_text (wizard), "Reserving an address") == 0);
  g_assert_true (gtk_widget_is_sensitive (WIZARD (wizard, "cancel_button")));
  click (WIZARD (wizard, "cancel_button"));
  g_mutex_unlock (reserve_lock);

  /* Back at the form for another try; the core left nothing behind. */
  WAIT_FOR (!tsr_new_vm_window_get_busy (wizard));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (wizard)));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (WIZARD (wizard, "stack")), ==, "form");
  g_assert_true (gtk_widget_is_sensitive (WIZARD (wizard, "create_button")));
  g_assert_false (domain_exists (connection, "doomed"));
  g_assert_false (volume_exists (connection, "default-pool", "doomed-root.qcow2"));
  g_assert_null (tsr_connection_lookup_vm (connection, "doomed"));

  /* What the form cannot check comes back from the core as a dialog that
   * says what to do; the form stays as it was.
   */
  gtk_spin_button_set_value (WIZARD (wizard, "vcpus_spin"), 500);
  click (WIZARD (wizard, "create_button"));
  {
    AdwMessageDialog *dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);

    g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (wizard));
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "vCPUs"));
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "give between 1 and"));
    tsr_test_write_window_screenshot (GTK_WIDGET (dialog), "new-vm-error.png", 3, TIMEOUT_MS);
    adw_message_dialog_response (dialog, "close");
    close_dialog (dialog);
  }
  g_assert_false (tsr_new_vm_window_get_busy (wizard));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (WIZARD (wizard, "stack")), ==, "form");
  g_assert_false (domain_exists (connection, "doomed"));

  close_dialog (wizard);
  tsr_test_close_window (window, TIMEOUT_MS);
}

static TsrSettingsWindow *
open_settings (TsrWindow  *window,
               const char *name)
{
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrSettingsWindow *settings;

  g_assert_true (tsr_window_select_vm (window, tsr_connection_lookup_vm (connection, name)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-settings", NULL));
  settings = wait_for_toplevel (TSR_TYPE_SETTINGS_WINDOW);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (settings)) == GTK_WINDOW (window));
  WAIT_FOR (!tsr_settings_window_get_loading (settings));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (SETTINGS (settings, "stack")), ==, "content");
  return settings;
}

static void
apply_and_wait (TsrSettingsWindow *settings)
{
  click (SETTINGS (settings, "apply_button"));
  WAIT_FOR (!tsr_settings_window_get_busy (settings) &&
            !tsr_settings_window_get_loading (settings));
}

static char *
model_strings (GListModel *model)
{
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrChoice) choice = g_list_model_get_item (model, i);

      g_ptr_array_add (strings, g_strdup (tsr_choice_get_title (choice)));
    }
  g_ptr_array_add (strings, NULL);
  return g_strjoinv (", ", (char **) strings->pdata);
}

static void
test_settings (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrSettingsWindow *settings = open_settings (window, "vault");
  GtkWidget *apply = SETTINGS (settings, "apply_button");
  GtkWidget *mac_row = SETTINGS (settings, "mac_row");
  GtkLabel *mac_error = SETTINGS (settings, "mac_error");

  /* Basic: what the list knows, read-only addresses with DNS = gateway. */
  g_assert_cmpstr (gtk_editable_get_text (SETTINGS (settings, "name_row")), ==, "vault");
  g_assert_cmpstr (tsr_label_chooser_get_label (SETTINGS (settings, "label_chooser")), ==, "black");
  g_assert_cmpstr (gtk_label_get_text (SETTINGS (settings, "ip_label")), ==, "10.137.9.3");
  g_assert_cmpstr (gtk_label_get_text (SETTINGS (settings, "netmask_label")), ==, "255.255.255.0");
  g_assert_cmpstr (gtk_label_get_text (SETTINGS (settings, "gateway_label")), ==, "10.137.9.1");
  g_assert_cmpstr (gtk_label_get_text (SETTINGS (settings, "dns_label")), ==, "10.137.9.1");
  g_assert_true (gtk_switch_get_active (SETTINGS (settings, "backups_switch")));
  g_assert_false (gtk_switch_get_active (SETTINGS (settings, "autostart_switch")));
  /* Nothing changed yet: nothing to apply. */
  g_assert_false (gtk_widget_is_sensitive (apply));
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-basic.png", 3, TIMEOUT_MS);

  /* Advanced: exactly the host's virt modes after the default, and the
   * installed kernels after "(none)".
   */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_auto(GStrv) modes = NULL;
    g_auto(GStrv) kernels = NULL;
    g_autoptr(GString) expected = g_string_new ("default (HVM)");
    g_autofree char *virt_modes =
      model_strings (adw_combo_row_get_model (SETTINGS (settings, "virt_mode_row")));
    g_autofree char *kernel_list =
      model_strings (adw_combo_row_get_model (SETTINGS (settings, "kernel_row")));

    tsr_connection_get_choices_async (connection, NULL, tsr_test_store_result_cb, &result);
    WAIT_FOR (result != NULL);
    g_assert_true (tsr_connection_get_choices_finish (connection, result, &modes, &kernels, NULL));
    for (guint i = 0; modes[i] != NULL; i++)
      {
        g_autofree char *upper = g_ascii_strup (modes[i], -1);

        g_string_append_printf (expected, ", %s", upper);
      }
    g_assert_cmpstr (virt_modes, ==, expected->str);
    g_assert_cmpstr (kernel_list, ==, "(none), 6.1.0-test");
    g_assert_cmpuint (adw_combo_row_get_selected (SETTINGS (settings, "virt_mode_row")), ==, 0);
  }
  g_assert_cmpint (gtk_spin_button_get_value_as_int (SETTINGS (settings, "memory_spin")), ==, 400);
  tsr_settings_window_set_page (settings, "advanced");
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-advanced.png", 3, TIMEOUT_MS);

  /* PVH without a kernel is refused at the kernel row. */
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "virt_mode_row"), "pvh"));
  g_assert_true (shows_message (SETTINGS (settings, "boot_error"), "needs a kernel"));
  g_assert_true (gtk_widget_has_css_class (SETTINGS (settings, "kernel_row"), "error"));
  g_assert_false (gtk_widget_is_sensitive (apply));
  /* HVM again drops the complaint. */
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "virt_mode_row"), NULL));
  g_assert_false (gtk_widget_get_visible (SETTINGS (settings, "boot_error")));

  /* A kernel on an HVM VM makes it PVH, as in Qubes. */
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "kernel_row"), "6.1.0-test"));
  g_assert_cmpuint (adw_combo_row_get_selected (SETTINGS (settings, "virt_mode_row")), !=, 0);
  g_assert_false (gtk_widget_get_visible (SETTINGS (settings, "boot_error")));

  /* A bad MAC is marked as it is typed, and Apply waits for a good one. */
  adw_combo_row_set_selected (SETTINGS (settings, "mac_mode_row"), 1);
  g_assert_true (gtk_widget_get_visible (mac_row));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (mac_row)), ==, "52:54:00:00:00:02");
  type_text (mac_row, "01:00:5e:00:00:01");
  g_assert_true (shows_message (mac_error, "multicast"));
  g_assert_true (gtk_widget_has_css_class (mac_row, "error"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (mac_error), "error"));
  g_assert_false (gtk_widget_is_sensitive (apply));
  scroll_to_end (SETTINGS (settings, "advanced_page"));
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-invalid-mac.png", 3, TIMEOUT_MS);
  type_text (mac_row, "52:54:00:zz");
  g_assert_true (shows_message (mac_error, "not a MAC address"));

  /* Another VM's MAC is a warning, not an error: Qubes users clone a MAC
   * on purpose, and Apply insists for them.
   */
  type_text (mac_row, "52:54:00:00:00:01");
  g_assert_true (shows_message (mac_error, "work-web"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (mac_error), "warning"));
  g_assert_false (gtk_widget_has_css_class (mac_row, "error"));

  gtk_spin_button_set_value (SETTINGS (settings, "memory_spin"), 512);
  g_assert_true (gtk_widget_is_sensitive (apply));
  {
    g_autoptr(GHashTable) changes = tsr_settings_window_dup_changes (settings);

    /* Only what changed is sent. */
    g_assert_cmpuint (g_hash_table_size (changes), ==, 4);
    g_assert_cmpstr (g_hash_table_lookup (changes, "memory"), ==, "512");
    g_assert_cmpstr (g_hash_table_lookup (changes, "kernel"), ==, "6.1.0-test");
    g_assert_cmpstr (g_hash_table_lookup (changes, "virt_mode"), ==, "pvh");
    g_assert_cmpstr (g_hash_table_lookup (changes, "mac"), ==, "52:54:00:00:00:01");
  }

  apply_and_wait (settings);
  {
    g_autoptr(GPtrArray) prefs = tsr_test_get_prefs (connection, "vault", 10);
    g_autofree char *xml = domain_xml (connection, "vault", TRUE);
    g_autofree char *kernel = g_build_filename (kernels_dir, "6.1.0-test", "vmlinuz", NULL);

    g_assert_cmpstr (tsr_test_find_pref (prefs, "memory")->value, ==, "512");
    g_assert_cmpstr (tsr_test_find_pref (prefs, "virt_mode")->value, ==, "pvh");
    g_assert_cmpstr (tsr_test_find_pref (prefs, "kernel")->value, ==, "6.1.0-test");
    g_assert_cmpstr (tsr_test_find_pref (prefs, "mac")->value, ==, "52:54:00:00:00:01");
    g_assert_false (tsr_test_find_pref (prefs, "mac")->is_default);
    g_assert_nonnull (strstr (xml, kernel));
    g_assert_nonnull (strstr (xml, "<currentMemory unit='KiB'>524288</currentMemory>"));
  }
  /* The note says what the core warned about; the widgets show the new
   * values, with nothing left to apply.
   */
  g_assert_nonnull (tsr_settings_window_get_note (settings));
  g_assert_nonnull (strstr (tsr_settings_window_get_note (settings), "work-web"));
  g_assert_true (gtk_revealer_get_reveal_child (SETTINGS (settings, "note_revealer")));
  g_assert_false (gtk_widget_is_sensitive (apply));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (SETTINGS (settings, "memory_spin")), ==, 512);
  /* A PVH VM boots its kernel, not a device. */
  g_assert_false (gtk_widget_is_sensitive (SETTINGS (settings, "boot_device_row")));
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-applied.png", 3, TIMEOUT_MS);

  /* Back to HVM: the kernel goes with it, and the VM boots from disk again. */
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "virt_mode_row"), NULL));
  g_assert_cmpuint (adw_combo_row_get_selected (SETTINGS (settings, "kernel_row")), ==, 0);
  adw_combo_row_set_selected (SETTINGS (settings, "mac_mode_row"), 0);
  apply_and_wait (settings);
  {
    g_autoptr(GPtrArray) prefs = tsr_test_get_prefs (connection, "vault", 10);
    g_autofree char *xml = domain_xml (connection, "vault", TRUE);

    g_assert_cmpstr (tsr_test_find_pref (prefs, "virt_mode")->value, ==, "hvm");
    g_assert_cmpstr (tsr_test_find_pref (prefs, "kernel")->value, ==, "");
    g_assert_true (tsr_test_find_pref (prefs, "mac")->is_default);
    g_assert_null (strstr (xml, "<kernel>"));
  }

  /* A taken name is refused where it is typed. */
  tsr_settings_window_set_page (settings, "basic");
  type_text (SETTINGS (settings, "name_row"), "work-web");
  g_assert_true (shows_message (SETTINGS (settings, "name_error"), "already exists"));
  g_assert_false (gtk_widget_is_sensitive (apply));
  type_text (SETTINGS (settings, "name_row"), "vault");
  g_assert_false (gtk_widget_is_sensitive (apply));

  /* Boot from Device: the media picker, then a start with that media. */
  add_iso_volume (connection);
  g_assert_true (gtk_widget_is_sensitive (SETTINGS (settings, "boot_device_row")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (settings), "settings.boot-from-device",
                                             NULL));
  {
    TsrMediaPicker *picker = wait_for_toplevel (TSR_TYPE_MEDIA_PICKER);
    TsrVm *vault = tsr_connection_lookup_vm (connection, "vault");

    g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (picker)) == GTK_WINDOW (settings));
    WAIT_FOR (!tsr_dialog_get_loading (TSR_DIALOG (picker)));
    g_assert_true (tsr_media_picker_select (picker, ISO_VOLUME));
    click (PICKER (picker, "accept_button"));
    close_dialog (picker);
    WAIT_FOR (tsr_vm_get_state (vault) == TSR_VM_STATE_RUNNING);
    WAIT_FOR (!gtk_widget_is_sensitive (SETTINGS (settings, "boot_device_row")));
  }

  close_dialog (settings);
  tsr_test_close_window (window, TIMEOUT_MS);
}

/* A property changed elsewhere (here through the core, as a terminal's
 * qvm-prefs would, arriving as libvirt's event): an untouched field takes
 * the new value; a field edited here that changed too keeps the edit, is
 * flagged, and the note says what Apply will replace.
 */
static void
set_elsewhere (TsrConnection *connection,
               TsrVm         *vm,
               const char    *name,
               const char    *value)
{
  g_autoptr(GHashTable) changes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_hash_table_insert (changes, (gpointer) name, (gpointer) value);
  tsr_connection_set_prefs_async (connection, vm, changes, TSR_PREFS_NONE, NULL,
                                  tsr_test_store_result_cb, &result);
  WAIT_FOR (result != NULL);
  g_assert_true (tsr_connection_set_prefs_finish (connection, result, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_settings_elsewhere (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrVm *vm = tsr_connection_lookup_vm (connection, "vault");
  TsrSettingsWindow *settings = open_settings (window, "vault");
  GtkSpinButton *memory = SETTINGS (settings, "memory_spin");
  GtkSpinButton *vcpus = SETTINGS (settings, "vcpus_spin");
  GtkLabel *note = SETTINGS (settings, "note_label");
  int memory_before = gtk_spin_button_get_value_as_int (memory);
  g_autofree char *memory_there = g_strdup_printf ("%d", memory_before + 64);
  g_autofree char *there_text = NULL;
  g_autofree char *expected = NULL;
  int vcpus_before, here, there;

  /* Untouched: follows. */
  set_elsewhere (connection, vm, "memory", memory_there);
  WAIT_FOR (gtk_spin_button_get_value_as_int (memory) == memory_before + 64);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (memory), "warning"));
  g_assert_false (gtk_widget_is_sensitive (SETTINGS (settings, "apply_button")));

  /* Touched here, changed there: kept, flagged, said. */
  vcpus_before = gtk_spin_button_get_value_as_int (vcpus);
  here = vcpus_before == 2 ? 1 : 2;
  there = vcpus_before == 3 || here == 3 ? (vcpus_before == 1 ? 4 : 1) : 3;
  there_text = g_strdup_printf ("%d", there);
  expected = g_strdup_printf ("virtual CPUs (now “%d”)", there);
  gtk_spin_button_set_value (vcpus, here);
  set_elsewhere (connection, vm, "vcpus", there_text);
  WAIT_FOR (gtk_widget_has_css_class (GTK_WIDGET (vcpus), "warning"));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (vcpus), ==, here);
  g_assert_nonnull (strstr (gtk_label_get_text (note), "Changed elsewhere"));
  g_assert_nonnull (strstr (gtk_label_get_text (note), expected));
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-changed-elsewhere.png", 3,
                                    TIMEOUT_MS);

  /* Apply writes the value here; the flag goes. */
  apply_and_wait (settings);
  WAIT_FOR (tsr_vm_get_vcpus (vm) == (guint) here);
  g_assert_cmpuint (tsr_vm_get_memory (vm), ==, (guint64) memory_before + 64);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (vcpus), "warning"));

  close_dialog (settings);
  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
test_settings_running (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrSettingsWindow *settings = open_settings (window, "work-web");
  const char *note;

  /* A running VM keeps its name. */
  type_text (SETTINGS (settings, "name_row"), "web2");
  g_assert_true (shows_message (SETTINGS (settings, "name_error"), "shut it down"));
  g_assert_false (gtk_widget_is_sensitive (SETTINGS (settings, "apply_button")));
  type_text (SETTINGS (settings, "name_row"), "work-web");

  /* Boot from Device is for a halted VM only. */
  g_assert_false (gtk_widget_is_sensitive (SETTINGS (settings, "boot_device_row")));

  gtk_spin_button_set_value (SETTINGS (settings, "vcpus_spin"), 1);
  apply_and_wait (settings);
  note = tsr_settings_window_get_note (settings);
  g_assert_nonnull (note);
  g_assert_nonnull (strstr (note, "next start"));
  g_assert_nonnull (strstr (note, "virtual CPUs"));
  {
    g_autoptr(GPtrArray) prefs = tsr_test_get_prefs (connection, "work-web", 10);

    g_assert_cmpstr (tsr_test_find_pref (prefs, "vcpus")->value, ==, "1");
  }
  tsr_settings_window_set_page (settings, "advanced");
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-next-start.png", 3, TIMEOUT_MS);

  close_dialog (settings);
  tsr_test_close_window (window, TIMEOUT_MS);
}

static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static const char *
pci_assigned_to (TsrConnection *connection)
{
  static char *assigned;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_list_pci_async (connection, NULL, tsr_test_store_result_cb, &result);
  WAIT_FOR (result != NULL);
  devices = tsr_connection_list_pci_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (devices->len, ==, 1);
  g_free (assigned);
  assigned = g_strdup (((TsrPciDevice *) g_ptr_array_index (devices, 0))->assigned_to);
  return assigned;
}

static gboolean
button_in (gpointer    group,
           const char *device,
           const char *label)
{
  GtkWidget *button = find_named (group, device);

  return button != NULL && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (button)), label) == 0;
}

static void
test_settings_pci (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrSettingsWindow *settings = open_settings (window, "offline");
  gpointer assigned = SETTINGS (settings, "assigned_group");
  gpointer available = SETTINGS (settings, "available_group");

  tsr_settings_window_set_page (settings, "devices");
  WAIT_FOR (button_in (available, "pci_0000_00_1f_2", "_Attach"));
  g_assert_null (find_named (assigned, "pci_0000_00_1f_2"));
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-devices.png", 3, TIMEOUT_MS);

  click (find_named (available, "pci_0000_00_1f_2"));
  WAIT_FOR (button_in (assigned, "pci_0000_00_1f_2", "_Detach"));
  WAIT_FOR (!tsr_settings_window_get_busy (settings));
  g_assert_null (find_named (available, "pci_0000_00_1f_2"));
  g_assert_cmpstr (pci_assigned_to (connection), ==, "offline");
  {
    g_autofree char *xml = domain_xml (connection, "offline", TRUE);

    g_assert_nonnull (strstr (xml, "<hostdev"));
  }
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "settings-devices-assigned.png", 3, TIMEOUT_MS);

  /* With a PCI device, PVH is refused with the reason. */
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "kernel_row"), "6.1.0-test"));
  g_assert_true (shows_message (SETTINGS (settings, "boot_error"), "PCI"));
  g_assert_false (gtk_widget_is_sensitive (SETTINGS (settings, "apply_button")));
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "virt_mode_row"), NULL));

  click (find_named (assigned, "pci_0000_00_1f_2"));
  WAIT_FOR (button_in (available, "pci_0000_00_1f_2", "_Attach"));
  WAIT_FOR (!tsr_settings_window_get_busy (settings));
  g_assert_null (pci_assigned_to (connection));

  close_dialog (settings);
  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
test_start_with_media (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrVm *legacy = tsr_connection_lookup_vm (connection, "legacy-virsh");
  TsrMediaPicker *picker;

  add_iso_volume (connection);

  /* Only a halted VM starts with media. */
  g_assert_true (tsr_window_select_vm (window, tsr_connection_lookup_vm (connection, "work-web")));
  g_assert_false (menu_item_enabled (window, "Start with Install Media…"));
  g_assert_true (menu_item_enabled (window, "Settings…"));
  g_assert_true (tsr_window_select_vm (window, legacy));
  g_assert_true (menu_item_enabled (window, "Start with Install Media…"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-start-with-media", NULL));
  picker = wait_for_toplevel (TSR_TYPE_MEDIA_PICKER);
  g_assert_cmpstr (gtk_button_get_label (PICKER (picker, "accept_button")), ==, "_Start");
  WAIT_FOR (!tsr_dialog_get_loading (TSR_DIALOG (picker)));
  g_assert_true (tsr_media_picker_select (picker, ISO_VOLUME));
  click (PICKER (picker, "accept_button"));
  close_dialog (picker);

  WAIT_FOR (tsr_vm_get_state (legacy) == TSR_VM_STATE_RUNNING);
  {
    g_autofree char *live = domain_xml (connection, "legacy-virsh", FALSE);

    g_assert_nonnull (strstr (live, "/default-pool/installer.iso"));
  }
  g_assert_false (menu_item_enabled (window, "Start with Install Media…"));

  /* The installer is what comes next: its console opened. */
  {
    TsrConsoleWindow *console = wait_for_toplevel (TSR_TYPE_CONSOLE_WINDOW);

    g_assert_cmpstr (tsr_console_window_get_vm_name (console), ==, "legacy-virsh");
    close_dialog (console);
  }

  tsr_test_close_window (window, TIMEOUT_MS);
}

static gboolean
menu_has_action (GMenuModel *menu,
                 const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autofree char *item_action = NULL;
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);

      if (section != NULL && menu_has_action (section, action))
        return TRUE;
      g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_ACTION, "s", &item_action);
      if (g_strcmp0 (item_action, action) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_actions (void)
{
  static const struct {
    const char *action;
    const char *accel;
  } expected[] = {
    { "win.new-vm", "<Control>n" },
    { "win.vm-settings", "<Alt>Return" },
  };
  TsrWindow *window = open_window ();

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

  g_assert_true (menu_has_action (tsr_test_window_get_vm_menu (window), "win.vm-settings"));
  g_assert_true (menu_has_action (tsr_test_window_get_vm_menu (window), "win.vm-start-with-media"));

  /* The header bar's New VM button. */
  {
    GtkWidget *button = find_actionable (GTK_WIDGET (window), "win.new-vm");

    g_assert_nonnull (button);
    g_assert_true (gtk_widget_get_mapped (button));
    g_assert_true (gtk_widget_is_sensitive (button));
  }

  /* Asking twice brings the same wizard forward. */
  {
    TsrNewVmWindow *wizard = open_wizard (window);

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-vm", NULL));
    {
      g_autoptr(TsrNewVmWindow) again = wait_for_toplevel (TSR_TYPE_NEW_VM_WINDOW);

      g_assert_true (again == wizard);
    }
    close_dialog (wizard);
  }

  tsr_test_close_window (window, TIMEOUT_MS);
}

static TsrVm *
running_disposable (GListModel *vms)
{
  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) item = g_list_model_get_item (vms, i);

      if (g_strcmp0 (tsr_vm_get_vm_class (item), "DispVM") == 0 && tsr_vm_is_active (item))
        return item;  /* the list holds it */
    }
  return NULL;
}

/* AppVMs from the wizard, and Start Disposable on a template's row: the
 * disposable is removed once it stops.
 */
static void
test_template_based (void)
{
  TsrWindow *window = open_window ();
  TsrConnection *connection = tsr_window_get_connection (window);
  virConnectPtr handle = tsr_connection_get_handle (connection);
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "default-pool");
  virStorageVolPtr vol;
  virDomainPtr dom;
  TsrNewVmWindow *wizard;
  TsrVm *vm, *disp;
  GListModel *vms;

  vol = virStorageVolCreateXML (pool, "<volume><name>tpl-root.img</name>"
                                      "<capacity unit='MiB'>1024</capacity></volume>", 0);
  g_assert_nonnull (vol);
  virStorageVolFree (vol);
  virStoragePoolFree (pool);
  dom = virDomainDefineXML (handle,
                            "<domain type='test'><name>tpl</name><memory unit='MiB'>512</memory>"
                            "<metadata><tessera:vm xmlns:tessera='" TSR_METADATA_NS "'>"
                            "<label>black</label><class>TemplateVM</class></tessera:vm></metadata>"
                            "<os><type arch='x86_64'>hvm</type></os><devices>"
                            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                            "<source file='/default-pool/tpl-root.img'/><target dev='vda' bus='virtio'/>"
                            "</disk></devices></domain>");
  g_assert_nonnull (dom);
  virDomainFree (dom);
  WAIT_FOR (tsr_connection_lookup_vm (connection, "tpl") != NULL);

  /* "Based on a template": the template chooser, no disk size. */
  wizard = open_wizard (window);
  type_text (WIZARD (wizard, "name_row"), "work");
  adw_combo_row_set_selected (WIZARD (wizard, "type_row"), 3);
  g_assert_true (gtk_widget_get_visible (WIZARD (wizard, "template_row")));
  g_assert_true (select_template (wizard, "tpl"));
  g_assert_false (gtk_widget_get_visible (WIZARD (wizard, "disk_row")));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (WIZARD (wizard, "template_row")),
                            "fresh at each start"));
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "pool_row"), "default-pool"));
  g_assert_true (tsr_choice_row_select_value (WIZARD (wizard, "network_row"), "tessera-unit"));
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "new-vm-appvm.png", 3, TIMEOUT_MS);
  click (WIZARD (wizard, "create_button"));
  WAIT_FOR (!gtk_widget_get_visible (GTK_WIDGET (wizard)));
  close_dialog (wizard);
  vm = tsr_connection_lookup_vm (connection, "work");
  g_assert_nonnull (vm);
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "AppVM");
  g_assert_cmpstr (tsr_vm_get_template (vm), ==, "tpl");

  /* Start Disposable: only on templates. */
  vms = tsr_connection_get_vms (connection);
  g_assert_true (tsr_window_select_vm (window, vm));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-start-disposable", NULL);
  for (guint i = 0; i < 20; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  g_assert_null (running_disposable (vms));
  g_assert_true (tsr_window_select_vm (window, tsr_connection_lookup_vm (connection, "tpl")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-start-disposable", NULL));
  WAIT_FOR ((disp = running_disposable (vms)) != NULL);
  g_object_ref (disp);
  g_assert_true (g_str_has_prefix (tsr_vm_get_name (disp), "disp"));

  /* Stopped: gone. */
  dom = virDomainLookupByName (handle, tsr_vm_get_name (disp));
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  virDomainFree (dom);
  WAIT_FOR (tsr_connection_lookup_vm (connection, tsr_vm_get_name (disp)) == NULL);
  g_object_unref (disp);
  tsr_test_close_window (window, TIMEOUT_MS);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *kernel_dir = NULL;
  g_autofree char *vmlinuz = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* A kernels folder with one kernel, for the kernel drop-down. */
  kernels_dir = g_dir_make_tmp ("tessera-kernels-XXXXXX", &error);
  g_assert_no_error (error);
  kernel_dir = g_build_filename (kernels_dir, "6.1.0-test", NULL);
  vmlinuz = g_build_filename (kernel_dir, "vmlinuz", NULL);
  g_assert_cmpint (g_mkdir (kernel_dir, 0755), ==, 0);
  g_file_set_contents (vmlinuz, "not really a kernel", -1, &error);
  g_assert_no_error (error);
  g_setenv ("TESSERA_KERNELS_DIR", kernels_dir, TRUE);

  /* An optical drive for the media picker, where a block device can stand
   * in for one.
   */
  dev_dir = g_dir_make_tmp ("tessera-dev-XXXXXX", &error);
  g_assert_no_error (error);
  if (g_file_test ("/dev/loop0", G_FILE_TEST_EXISTS))
    {
      g_autofree char *sr0 = g_build_filename (dev_dir, "sr0", NULL);

      g_assert_cmpint (symlink ("/dev/loop0", sr0), ==, 0);
    }
  g_setenv ("TESSERA_DEV_DIR", dev_dir, TRUE);

  app = tsr_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) |
                           G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  /* Screenshots show the end of every transition. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/gui/dialogs/choice-rows", test_choice_rows);
  g_test_add_func ("/gui/new-vm/validation", test_new_vm_validation);
  g_test_add_func ("/gui/new-vm/create", test_new_vm_create);
  g_test_add_func ("/gui/new-vm/cancel", test_new_vm_cancel);
  g_test_add_func ("/gui/settings/apply", test_settings);
  g_test_add_func ("/gui/settings/running", test_settings_running);
  g_test_add_func ("/gui/settings/changed-elsewhere", test_settings_elsewhere);
  g_test_add_func ("/gui/settings/pci", test_settings_pci);
  g_test_add_func ("/gui/start-with-media", test_start_with_media);
  g_test_add_func ("/gui/dialogs/actions", test_actions);
  g_test_add_func ("/gui/new-vm/template-based", test_template_based);

  ret = g_test_run ();

  g_clear_object (&app);
  {
    g_autofree char *sr0 = g_build_filename (dev_dir, "sr0", NULL);

    g_unlink (sr0);
    g_rmdir (dev_dir);
    g_unlink (vmlinuz);
    g_rmdir (kernel_dir);
    g_rmdir (kernels_dir);
  }
  g_free (dev_dir);
  g_free (kernels_dir);

  return ret;
}
