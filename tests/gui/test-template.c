/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Template-based VMs in the window, on libvirt's test driver under Xvfb
 * (tests/data/templates.xml): the Template column, the outdated badge as
 * the template commits, the template:NAME search, "New AppVM…" on a
 * template's row, and an AppVM's template and private disk in Settings.
 */
#include "config.h"

#include <string.h>
#include <libvirt/libvirt.h>

#include "tsr-application.h"
#include "tsr-dialog.h"
#include "tsr-choice-row.h"
#include "tsr-connection-private.h"
#include "tsr-new-vm-window.h"
#include "tsr-settings-window.h"
#include "tsr-window.h"
#include "tsr-test-util.h"

#define TIMEOUT_MS 10000
/* The wizard's type "Based on a template (AppVM)" (tsr-new-vm-window-private.h). */
#define TYPE_APPVM 3

static TsrApplication *app;

#define WAIT_FOR(cond)                                                        \
  G_STMT_START {                                                              \
    gboolean _timed_out = FALSE;                                              \
    guint _source = g_timeout_add (TIMEOUT_MS, tsr_test_timed_out_cb, &_timed_out); \
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
  g_autofree char *uri = g_strdup_printf ("test://%s/templates.xml", TSR_TEST_DATA);

  return tsr_test_open_window (GTK_APPLICATION (app), uri, "list", 3, TIMEOUT_MS);
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

static gboolean
toplevel_shown (GType type)
{
  g_autoptr(GObject) window = find_toplevel (type);

  return window != NULL;
}

static gpointer
wait_for_toplevel (GType type)
{
  gpointer window;

  WAIT_FOR (toplevel_shown (type));
  window = find_toplevel (type);
  WAIT_FOR (gtk_widget_get_mapped (window));
  return window;
}

static void
close_dialog (gpointer dialog)
{
  if (gtk_widget_get_visible (dialog))
    gtk_window_close (dialog);
  WAIT_FOR (G_OBJECT (dialog)->ref_count == 1);
  g_assert_finalize_object (dialog);
}

static TsrVm *
lookup (TsrWindow  *window,
        const char *name)
{
  TsrVm *vm = tsr_connection_lookup_vm (tsr_window_get_connection (window), name);

  g_assert_nonnull (vm);
  return vm;
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

/* The realized, on-screen cell of VM in FIELD's column. */
static TsrVmCell *
cell (TsrWindow  *window,
      const char *vm,
      const char *field)
{
  CellWait wait = { window, vm, field };

  if (!tsr_test_spin_until (cell_mapped, &wait, TIMEOUT_MS))
    g_error ("No cell %s/%s on screen", vm, field);
  return tsr_test_window_find_cell (window, vm, field);
}

static gboolean
badge_shown (TsrWindow  *window,
             const char *vm)
{
  GtkWidget *badge = tsr_vm_cell_get_badge (cell (window, vm, "state"));

  return tsr_vm_cell_get_outdated (cell (window, vm, "state")) && badge != NULL &&
         gtk_widget_get_mapped (badge);
}

static char *
model_names (TsrWindow *window)
{
  GListModel *model = tsr_test_window_get_model (window);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      g_ptr_array_add (names, g_strdup (tsr_vm_get_name (vm)));
    }
  g_ptr_array_sort (names, tsr_test_compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
search (TsrWindow  *window,
        const char *text)
{
  gtk_editable_set_text (tsr_test_window_get_search_entry (window), text);
  /* The entry waits a little after typing; don't. */
  g_signal_emit_by_name (tsr_test_window_get_search_entry (window), "search-changed");
}

/* The template's session ends cleanly: revision 2 is committed, as
 * tsr_template_settle_sync() records it. The list hears of it by event.
 */
static void
commit_template (TsrWindow *window)
{
  virConnectPtr handle = tsr_connection_get_handle (tsr_window_get_connection (window));
  g_autofree char *xml = tsr_test_domain_xml (handle, "tpl", VIR_DOMAIN_XML_INACTIVE);
  g_autoptr(GString) edited = g_string_new (xml);
  virDomainPtr dom;

  g_assert_cmpuint (g_string_replace (edited, "committed='no'", "committed='yes'", 0) +
                    g_string_replace (edited, "committed=\"no\"", "committed=\"yes\"", 0), ==, 1);
  dom = virDomainDefineXML (handle, edited->str);
  g_assert_nonnull (dom);
  virDomainFree (dom);
}

/* Tests */

static void
test_column (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  TsrWindow *window = open_window ();
  GtkColumnViewColumn *column = tsr_test_window_get_column (window, "template");
  GtkLabel *label;

  g_assert_nonnull (column);
  g_assert_cmpstr (gtk_column_view_column_get_title (column), ==, "Template");
  g_assert_true (gtk_column_view_column_get_visible (column));

  /* The template an AppVM runs from; nothing for a template or a
   * StandaloneVM, even one once copied from a template.
   */
  g_assert_cmpstr (tsr_vm_cell_get_text (cell (window, "app-old", "template")), ==, "tpl");
  g_assert_cmpstr (tsr_vm_cell_get_text (cell (window, "app-off", "template")), ==, "tpl2");
  g_assert_cmpstr (tsr_vm_cell_get_text (cell (window, "tpl", "template")), ==, "");
  g_assert_cmpstr (tsr_vm_cell_get_text (cell (window, "standalone", "template")), ==, "");
  label = GTK_LABEL (gtk_widget_get_last_child (GTK_WIDGET (cell (window, "app-old", "template"))));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (label), "dim-label"));

  /* Sorted by template, AppVMs of one template together. */
  gtk_column_view_sort_by_column (tsr_test_window_get_column_view (window), column,
                                  GTK_SORT_ASCENDING);
  {
    GListModel *model = tsr_test_window_get_model (window);
    g_autoptr(TsrVm) first = g_list_model_get_item (model, 0);
    g_autoptr(TsrVm) second = g_list_model_get_item (model, 1);
    g_autoptr(TsrVm) third = g_list_model_get_item (model, 2);

    g_assert_cmpstr (tsr_vm_get_name (first), ==, "app-new");
    g_assert_cmpstr (tsr_vm_get_name (second), ==, "app-old");
    g_assert_cmpstr (tsr_vm_get_name (third), ==, "app-off");
  }

  /* Shown and hidden like every column, from its header menu too. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-column-template", NULL));
  g_assert_false (g_settings_get_boolean (settings, "show-column-template"));
  g_assert_false (gtk_column_view_column_get_visible (column));
  g_settings_reset (settings, "show-column-template");
  g_assert_true (gtk_column_view_column_get_visible (column));

  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
test_outdated (void)
{
  TsrWindow *window = open_window ();
  TsrVmCell *state;
  g_autofree char *tooltip = NULL;

  /* Booted revision 0, the template's newest committed is 1: outdated.
   * Booted 1: up to date. Halted: never.
   */
  g_assert_cmpuint (tsr_vm_get_revision (lookup (window, "tpl")), ==, 1);
  WAIT_FOR (badge_shown (window, "app-old"));
  g_assert_false (tsr_vm_cell_get_outdated (cell (window, "app-new", "state")));
  g_assert_false (tsr_vm_cell_get_outdated (cell (window, "app-off", "state")));
  g_assert_false (tsr_vm_cell_get_outdated (cell (window, "tpl", "state")));

  state = cell (window, "app-old", "state");
  g_object_get (tsr_vm_cell_get_badge (state), "tooltip-text", &tooltip, NULL);
  g_assert_cmpstr (tooltip, ==, "Restart to use the template’s newest revision");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (tsr_vm_cell_get_badge (state))), ==, "Outdated");
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "template-list.png", 3, TIMEOUT_MS);

  /* The template commits revision 2: the AppVM that booted 1 is outdated
   * now too, at once, from the definition event.
   */
  commit_template (window);
  WAIT_FOR (tsr_vm_get_revision (lookup (window, "tpl")) == 2);
  WAIT_FOR (badge_shown (window, "app-new"));
  g_assert_true (badge_shown (window, "app-old"));

  /* Stopped, an AppVM is outdated no more: its next start takes the newest. */
  {
    virConnectPtr handle = tsr_connection_get_handle (tsr_window_get_connection (window));
    virDomainPtr dom = virDomainLookupByName (handle, "app-new");

    g_assert_cmpint (virDomainDestroy (dom), ==, 0);
    virDomainFree (dom);
  }
  WAIT_FOR (!tsr_vm_cell_get_outdated (cell (window, "app-new", "state")));
  g_assert_true (badge_shown (window, "app-old"));

  tsr_test_close_window (window, TIMEOUT_MS);
}

static void
test_filter (void)
{
  TsrWindow *window = open_window ();
  g_autofree char *names = NULL;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL));
  g_assert_true (tsr_test_spin_until (tsr_test_widget_mapped, tsr_test_window_get_search_entry (window),
                                      TIMEOUT_MS));

  /* template:NAME: the VMs based on NAME, not NAME nor a StandaloneVM
   * once copied from it.
   */
  search (window, "template:tpl");
  names = model_names (window);
  g_assert_cmpstr (names, ==, "app-new app-old");
  g_clear_pointer (&names, g_free);

  /* With other words, both must match; case does not matter. */
  search (window, "old TEMPLATE:Tpl");
  names = model_names (window);
  g_assert_cmpstr (names, ==, "app-old");
  g_clear_pointer (&names, g_free);

  search (window, "template:tpl2");
  names = model_names (window);
  g_assert_cmpstr (names, ==, "app-off");
  g_clear_pointer (&names, g_free);

  search (window, "template:nothing");
  g_assert_cmpuint (g_list_model_get_n_items (tsr_test_window_get_model (window)), ==, 0);
  g_assert_true (tsr_test_window_wait_for_page (window, "no-results", TIMEOUT_MS));
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "template-no-results.png", 3, TIMEOUT_MS);

  /* A plain word finds the template column's text too. */
  search (window, "tpl2");
  names = model_names (window);
  g_assert_cmpstr (names, ==, "app-off tpl2");
  g_clear_pointer (&names, g_free);
  search (window, "");
  g_assert_true (tsr_test_window_wait_for_page (window, "list", TIMEOUT_MS));
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "template-search-empty.png", 3, TIMEOUT_MS);

  /* "Show VMs Based on It", only on a template's row, sets the term. */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "app-old")));
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-show-based", NULL) &&
                  g_strcmp0 (gtk_editable_get_text (tsr_test_window_get_search_entry (window)), "") != 0);
  g_assert_true (tsr_window_select_vm (window, lookup (window, "tpl")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-show-based", NULL));
  g_assert_cmpstr (gtk_editable_get_text (tsr_test_window_get_search_entry (window)), ==,
                   "template:tpl");
  names = model_names (window);
  g_assert_cmpstr (names, ==, "app-new app-old");
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "template-filter.png", 3, TIMEOUT_MS);

  tsr_test_close_window (window, TIMEOUT_MS);
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

/* Whether the row menu of the selected VM shows LABEL, and can use it.
 * With SCREENSHOT, the open menu is written there.
 */
static gboolean
menu_item_shown (TsrWindow  *window,
                 const char *label,
                 const char *screenshot)
{
  GtkWidget *menu;
  GtkWidget *item;
  gboolean shown;

  tsr_test_window_popup_vm_menu (window, "name");
  menu = GTK_WIDGET (tsr_test_window_get_context_menu (window));
  WAIT_FOR (gtk_widget_get_mapped (menu));
  item = find_menu_item (menu, label);
  shown = item != NULL && gtk_widget_get_visible (item) && gtk_widget_get_sensitive (item);
  if (screenshot != NULL)
    {
      g_autofree char *path = tsr_test_screenshot_path (screenshot);
      g_autoptr(GError) error = NULL;

      /* With the menu, which is a surface of its own. */
      tsr_test_wait_for_frames (GTK_WIDGET (window), 3, TIMEOUT_MS);
      g_assert_true (tsr_test_window_write_screenshot (window, path, &error));
      g_assert_no_error (error);
      g_test_message ("Screenshot: %s", path);
    }
  gtk_popover_popdown (GTK_POPOVER (menu));
  WAIT_FOR (!gtk_widget_get_mapped (menu));

  return shown;
}

static void
test_new_appvm (void)
{
  TsrWindow *window = open_window ();
  TsrNewVmWindow *wizard;
  TsrVm *chosen;

  /* Only on a template's row, beside Start Disposable. */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "app-off")));
  tsr_test_wait_for_frames (GTK_WIDGET (window), 2, TIMEOUT_MS);
  g_assert_false (menu_item_shown (window, "New AppVM…", NULL));
  g_assert_false (menu_item_shown (window, "Show VMs Based on It", NULL));
  g_assert_true (tsr_window_select_vm (window, lookup (window, "tpl2")));
  tsr_test_wait_for_frames (GTK_WIDGET (window), 2, TIMEOUT_MS);
  g_assert_true (menu_item_shown (window, "Start Disposable", NULL));
  g_assert_true (menu_item_shown (window, "Show VMs Based on It", NULL));
  g_assert_true (menu_item_shown (window, "New AppVM…", "template-row-menu.png"));

  /* The wizard opens with the type and that template chosen. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-new-appvm", NULL));
  wizard = wait_for_toplevel (TSR_TYPE_NEW_VM_WINDOW);
  WAIT_FOR (!tsr_dialog_get_loading (TSR_DIALOG (wizard)));
  g_assert_cmpuint (adw_combo_row_get_selected (WIZARD (wizard, "type_row")), ==, TYPE_APPVM);
  g_assert_true (gtk_widget_get_visible (WIZARD (wizard, "template_row")));
  chosen = adw_combo_row_get_selected_item (WIZARD (wizard, "template_row"));
  g_assert_nonnull (chosen);
  g_assert_cmpstr (tsr_vm_get_name (chosen), ==, "tpl2");
  g_assert_false (gtk_widget_get_visible (WIZARD (wizard, "disk_row")));
  gtk_editable_set_text (GTK_EDITABLE (WIZARD (wizard, "name_row")), "work");
  tsr_test_write_window_screenshot (GTK_WIDGET (wizard), "template-new-appvm.png", 3, TIMEOUT_MS);

  /* From another template's row, the open wizard follows. */
  g_assert_true (tsr_window_select_vm (window, lookup (window, "tpl")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-new-appvm", NULL));
  WAIT_FOR (adw_combo_row_get_selected_item (WIZARD (wizard, "template_row")) == lookup (window, "tpl"));
  {
    g_autoptr(GtkWidget) same = find_toplevel (TSR_TYPE_NEW_VM_WINDOW);

    g_assert_true (same == GTK_WIDGET (wizard));
  }
  close_dialog (wizard);

  tsr_test_close_window (window, TIMEOUT_MS);
}

static TsrSettingsWindow *
open_settings (TsrWindow  *window,
               const char *name)
{
  TsrSettingsWindow *settings;

  g_assert_true (tsr_window_select_vm (window, lookup (window, name)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-settings", NULL));
  settings = wait_for_toplevel (TSR_TYPE_SETTINGS_WINDOW);
  WAIT_FOR (!tsr_settings_window_get_loading (settings));
  return settings;
}

static const char *
row_subtitle (gpointer row)
{
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

/* Whether ROW's subtitle says FORMAT of GIB GiB, as GLib writes sizes. */
static gboolean
subtitle_has_size (gpointer    row,
                   guint       gib,
                   const char *format)
{
  g_autofree char *size = g_format_size_full ((guint64) gib << 30, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *part = g_strdup_printf (format, size);

  return strstr (row_subtitle (row), part) != NULL;
}

static void
test_settings (void)
{
  TsrWindow *window = open_window ();
  TsrSettingsWindow *settings;
  GtkWidget *apply;
  GtkSpinButton *spin;

  /* A halted AppVM: its template, to choose among the TemplateVMs, and
   * its private disk's size, which only grows.
   */
  settings = open_settings (window, "app-off");
  apply = SETTINGS (settings, "apply_button");
  spin = SETTINGS (settings, "private_spin");
  g_assert_true (gtk_widget_get_visible (SETTINGS (settings, "template_group")));
  g_assert_true (gtk_widget_is_sensitive (SETTINGS (settings, "template_row")));
  g_assert_cmpstr (tsr_choice_row_get_value (SETTINGS (settings, "template_row")), ==, "tpl2");
  {
    GListModel *choices = adw_combo_row_get_model (SETTINGS (settings, "template_row"));

    virConnectPtr handle = tsr_connection_get_handle (tsr_window_get_connection (window));
    virDomainPtr dom;

    g_assert_cmpuint (g_list_model_get_n_items (choices), ==, 2);

    /* A TemplateVM made meanwhile is offered at once, the choice kept. */
    dom = virDomainDefineXML (handle,
                              "<domain type='test'><name>tpl3</name><memory unit='MiB'>256</memory>"
                              "<metadata><tessera:vm xmlns:tessera='" TSR_METADATA_NS "'>"
                              "<class>TemplateVM</class></tessera:vm></metadata>"
                              "<os><type arch='x86_64'>hvm</type></os></domain>");
    g_assert_nonnull (dom);
    WAIT_FOR (g_list_model_get_n_items (choices) == 3);
    g_assert_cmpstr (tsr_choice_row_get_value (SETTINGS (settings, "template_row")), ==, "tpl2");
    g_assert_cmpint (virDomainUndefine (dom), ==, 0);
    virDomainFree (dom);
    WAIT_FOR (g_list_model_get_n_items (choices) == 2);
  }
  WAIT_FOR (subtitle_has_size (SETTINGS (settings, "private_row"), 2, "%s now"));
  g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, 2.0);
  g_assert_cmpfloat (gtk_adjustment_get_lower (gtk_spin_button_get_adjustment (spin)), ==, 2.0);
  g_assert_false (gtk_widget_is_sensitive (apply));

  /* Growing says what Apply does; lower than now is not offered. */
  gtk_spin_button_set_value (spin, 1.0);
  g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, 2.0);
  gtk_spin_button_set_value (spin, 5.0);
  g_assert_true (subtitle_has_size (SETTINGS (settings, "private_row"), 5, "grows it to %s"));
  g_assert_true (gtk_widget_is_sensitive (apply));
  gtk_spin_button_set_value (spin, 2.0);
  g_assert_false (gtk_widget_is_sensitive (apply));

  /* Another template, applied through qvm-prefs' "template". */
  g_assert_true (tsr_choice_row_select_value (SETTINGS (settings, "template_row"), "tpl"));
  g_assert_true (gtk_widget_get_visible (SETTINGS (settings, "template_note")));
  g_assert_true (gtk_widget_is_sensitive (apply));
  {
    g_autoptr(GHashTable) changes = tsr_settings_window_dup_changes (settings);

    g_assert_cmpuint (g_hash_table_size (changes), ==, 1);
    g_assert_cmpstr (g_hash_table_lookup (changes, "template"), ==, "tpl");
  }
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "template-settings.png", 3, TIMEOUT_MS);
  g_signal_emit_by_name (apply, "clicked");
  WAIT_FOR (g_strcmp0 (tsr_vm_get_template (lookup (window, "app-off")), "tpl") == 0);
  WAIT_FOR (!tsr_settings_window_get_busy (settings) && !tsr_settings_window_get_loading (settings));
  g_assert_cmpstr (tsr_choice_row_get_value (SETTINGS (settings, "template_row")), ==, "tpl");
  g_assert_false (gtk_widget_is_sensitive (apply));
  g_assert_cmpstr (tsr_vm_cell_get_text (cell (window, "app-off", "template")), ==, "tpl");

  /* Growing the disk goes to libvirt, which the test driver cannot do:
   * the error is shown, and nothing else changed.
   */
  gtk_spin_button_set_value (spin, 3.0);
  g_signal_emit_by_name (apply, "clicked");
  {
    GtkWindow *error_dialog;

    error_dialog = wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG);
    g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (error_dialog)), ==,
                     "Could Not Grow the Private Storage");
    gtk_window_destroy (error_dialog);
    g_object_unref (error_dialog);
  }
  WAIT_FOR (!tsr_settings_window_get_busy (settings) && !tsr_settings_window_get_loading (settings));
  close_dialog (settings);

  /* A running AppVM keeps its template: the row says why it is off. */
  settings = open_settings (window, "app-old");
  g_assert_true (gtk_widget_get_visible (SETTINGS (settings, "template_group")));
  g_assert_false (gtk_widget_is_sensitive (SETTINGS (settings, "template_row")));
  g_assert_nonnull (strstr (gtk_label_get_text (SETTINGS (settings, "template_note")), "shut it down"));
  /* No private disk in its definition: said in place of the size. */
  WAIT_FOR (strstr (row_subtitle (SETTINGS (settings, "private_row")), "no private disk") != NULL);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (spin = SETTINGS (settings, "private_spin"))));
  tsr_test_write_window_screenshot (GTK_WIDGET (settings), "template-settings-running.png", 3,
                                    TIMEOUT_MS);
  close_dialog (settings);

  /* Neither is shown for a template or a StandaloneVM. */
  settings = open_settings (window, "standalone");
  g_assert_false (gtk_widget_get_visible (SETTINGS (settings, "template_group")));
  {
    g_autoptr(GHashTable) changes = tsr_settings_window_dup_changes (settings);

    g_assert_cmpuint (g_hash_table_size (changes), ==, 0);
  }
  close_dialog (settings);

  tsr_test_close_window (window, TIMEOUT_MS);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  app = tsr_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) |
                           G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/gui/template/column", test_column);
  g_test_add_func ("/gui/template/outdated", test_outdated);
  g_test_add_func ("/gui/template/filter", test_filter);
  g_test_add_func ("/gui/template/new-appvm", test_new_appvm);
  g_test_add_func ("/gui/template/settings", test_settings);

  ret = g_test_run ();
  g_clear_object (&app);
  return ret;
}
