/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-import-window.h"
#include "tsr-label-chooser.h"
#include "tsr-network-row.h"
#include "tsr-pool-row.h"
#include "tsr-operation-window.h"

/* Import…: the file is read first (never changed), then a form shows what
 * it holds, with the fields of the New VM wizard filled from it and checked
 * as the user types; Import starts a TsrOperation that the main window also
 * follows, so this window may be hidden while the disks are converted.
 */

struct _TsrImportWindow
{
  TsrOperationWindow   parent_instance;

  /* Template children */
  AdwWindowTitle      *window_title;
  GtkButton           *import_button;
  GtkStack            *stack;
  AdwStatusPage       *reading_page;
  GtkSpinner          *reading_spinner;
  AdwStatusPage       *failed_page;
  AdwPreferencesPage  *form_page;
  AdwPreferencesGroup *found_group;
  GtkListBox          *disk_list;
  AdwPreferencesGroup *warnings_group;
  GtkListBox          *warning_list;
  AdwEntryRow         *name_row;
  GtkLabel            *name_error;
  TsrLabelChooser     *label_chooser;
  TsrChoiceRow        *os_row;
  TsrChoiceRow        *firmware_row;
  AdwActionRow        *memory_row;
  GtkSpinButton       *memory_spin;
  AdwActionRow        *vcpus_row;
  GtkSpinButton       *vcpus_spin;
  TsrPoolRow          *pool_row;
  TsrNetworkRow       *network_row;
  GtkSwitch           *move_switch;

  /* State */
  TsrConnection       *connection;
  GCancellable        *inspect_cancellable;  /* reading the current file */
  GFile               *file;
  TsrImportInfo       *info;
};

G_DEFINE_FINAL_TYPE (TsrImportWindow, tsr_import_window, TSR_TYPE_OPERATION_WINDOW)

#define OPERATION_WINDOW(self) TSR_OPERATION_WINDOW (self)
#define OPERATION(self)        tsr_operation_window_get_operation (OPERATION_WINDOW (self))
#define CANCELLABLE(self)      tsr_dialog_get_cancellable (TSR_DIALOG (self))

static void tsr_import_window_update (TsrImportWindow *self);

/* Pools and networks */

static void
tsr_import_window_inventory_ready (gpointer      owner,
                                   TsrInventory *inventory,
                                   const GError *error)
{
  TsrImportWindow *self = owner;

  /* The defaults still work; say why there is nothing else. */
  if (inventory == NULL)
    {
      tsr_choice_row_set_error (TSR_CHOICE_ROW (self->network_row), error->message);
      return;
    }
  tsr_pool_row_set_pools (self->pool_row, (const char * const *) inventory->pools);
  tsr_network_row_set_networks (self->network_row, (const char * const *) inventory->networks);
}

/* What was found */

static const char *
format_title (const char *format)
{
  static const struct { const char *format, *title; } titles[] = {
    { "vmdk", "VMDK" }, { "vdi", "VDI" }, { "vpc", "VHD" }, { "vhdx", "VHDX" },
    { "qcow2", "QCOW2" }, { "raw", N_("Raw") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    if (g_strcmp0 (titles[i].format, format) == 0)
      return _(titles[i].title);
  return format;
}

static char *
describe_kind (const TsrImportInfo *info)
{
  const char *kind = info->kind ? info->kind : "disk";
  const char *inner = g_str_has_prefix (kind, "zip/") ? kind + 4 : kind;
  const char *what;

  if (g_str_equal (inner, "ova"))
    what = _("An appliance (OVA)");
  else if (g_str_equal (inner, "ovf"))
    what = _("An appliance (OVF)");
  else
    what = _("A disk image");

  if (inner != kind)
    return g_strdup_printf (_("%s inside a .zip archive"), what);
  return g_strdup (what);
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static GtkWidget *
info_row (const char *title,
          const char *subtitle,
          const char *icon_name)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name (icon_name);

  /* Before the title: a title set while markup is on is parsed at once. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  return row;
}

static void
show_info (TsrImportWindow *self)
{
  const TsrImportInfo *info = self->info;
  g_autoptr(TsrCreateSpec) spec = tsr_import_info_make_spec (info);
  g_autoptr(GString) description = g_string_new (NULL);
  g_autofree char *basename = g_file_get_basename (self->file);
  g_autofree char *found = g_strdup_printf (_("Found in “%s”"), basename);
  g_autofree char *kind = describe_kind (info);
  g_autofree char *needed = g_format_size_full (info->required, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *needed_title = NULL;
  g_autofree char *needed_subtitle = NULL;
  GtkWidget *row;

  /* The header: what kind of file, the appliance's own name and system. */
  g_string_append (description, kind);
  if (info->appliance_name != NULL)
    g_string_append_printf (description, _(", named “%s”"), info->appliance_name);
  if (info->os_type != NULL)
    g_string_append_printf (description, _(", for %s"), info->os_type);
  {
    g_autofree char *title = g_markup_escape_text (found, -1);
    g_autofree char *text = g_markup_escape_text (description->str, -1);

    adw_preferences_group_set_title (self->found_group, title);
    adw_preferences_group_set_description (self->found_group, text);
  }

  clear_list (self->disk_list);
  for (guint i = 0; i < info->disks->len; i++)
    {
      TsrImportDisk *disk = g_ptr_array_index (info->disks, i);
      g_autofree char *capacity = g_format_size_full (disk->capacity, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *subtitle = NULL;
      g_autofree char *title = NULL;

      if (disk->format == NULL)
        subtitle = g_strdup_printf (_("New blank disk · %s"), capacity);
      else
        {
          g_autofree char *stored = g_format_size_full (disk->stored_size, G_FORMAT_SIZE_IEC_UNITS);

          /* Translators: format, size the guest sees, bytes to read */
          subtitle = g_strdup_printf (_("%s · %s disk · %s to read"), format_title (disk->format),
                                      capacity, stored);
        }
      if (i == 0)
        title = g_strdup_printf (_("%s (system disk)"), disk->name);
      row = info_row (title ? title : disk->name, subtitle, "drive-harddisk-symbolic");
      gtk_list_box_append (self->disk_list, row);
    }

  needed_title = g_strdup_printf (_("Space Needed: %s"), needed);
  if (info->temp_size > 0)
    {
      g_autofree char *temp = g_format_size_full (info->temp_size, G_FORMAT_SIZE_IEC_UNITS);

      needed_subtitle = g_strdup_printf (_("The disks are converted straight into the storage "
                                           "pool; %s unpacked from the archive stays in a "
                                           "temporary folder until this window closes"), temp);
    }
  else
    needed_subtitle = g_strdup (_("The disks are converted straight into the storage pool, "
                                  "with no copy in between"));
  row = info_row (needed_title, needed_subtitle, "drive-multidisk-symbolic");
  gtk_list_box_append (self->disk_list, row);

  clear_list (self->warning_list);
  for (guint i = 0; info->warnings != NULL && info->warnings[i] != NULL; i++)
    {
      row = info_row (info->warnings[i], NULL, "dialog-warning-symbolic");
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), info->warnings[i]);
      adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 0);
      gtk_list_box_append (self->warning_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->warnings_group),
                          info->warnings != NULL && info->warnings[0] != NULL);

  /* The form, filled as the appliance asks; the user may change it all. */
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), spec->name ? spec->name : "");
  if (spec->label != NULL)
    tsr_label_chooser_set_label (self->label_chooser, spec->label);
  if (!tsr_choice_row_select_value (self->os_row, spec->os_family))
    tsr_choice_row_select_value (self->os_row, "other");
  if (!tsr_choice_row_select_value (self->firmware_row, spec->firmware))
    tsr_choice_row_select_value (self->firmware_row, "bios");
  gtk_spin_button_set_value (self->memory_spin, (double) spec->memory);
  gtk_spin_button_set_value (self->vcpus_spin, (double) spec->vcpus);
  adw_action_row_set_subtitle (self->memory_row,
                               info->memory > 0 ? _("As the appliance asks")
                                                : _("The file does not say; Tessera’s default"));
  adw_action_row_set_subtitle (self->vcpus_row,
                               info->vcpus > 0 ? _("As the appliance asks")
                                               : _("The file does not say; Tessera’s default"));
  tsr_choice_row_select_value (TSR_CHOICE_ROW (self->pool_row), spec->pool);
  tsr_choice_row_select_value (TSR_CHOICE_ROW (self->network_row), spec->netvm);
}

/* Reading the file */

static void
tsr_import_window_inspect_progress_cb (guint64     done,
                                       guint64     total,
                                       const char *stage,
                                       gpointer    user_data)
{
  TsrImportWindow *self = user_data;
  g_autofree char *text = NULL;

  if (total > 0)
    {
      g_autofree char *done_text = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *total_text = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);

      text = g_strdup_printf (_("%s: %s of %s"), stage, done_text, total_text);
    }
  {
    g_autofree char *markup = g_markup_escape_text (text ? text : stage, -1);

    adw_status_page_set_description (self->reading_page, markup);
  }
}

static void
tsr_import_window_inspected_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(TsrImportWindow) self = user_data;
  g_autoptr(TsrImportInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  info = tsr_import_inspect_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->inspect_cancellable);
  gtk_spinner_set_spinning (self->reading_spinner, FALSE);

  if (info == NULL)
    {
      g_autofree char *markup = g_markup_escape_text (error->message, -1);

      adw_status_page_set_description (self->failed_page, markup);
      gtk_stack_set_visible_child_name (self->stack, "failed");
      tsr_import_window_update (self);
      return;
    }

  g_clear_pointer (&self->info, tsr_import_info_unref);
  self->info = g_steal_pointer (&info);
  show_info (self);
  gtk_stack_set_visible_child_name (self->stack, "form");
  tsr_import_window_update (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
}

/* Checking */

static void
tsr_import_window_update (TsrImportWindow *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->stack);
  gboolean form = g_strcmp0 (page, "form") == 0;
  gboolean busy = OPERATION (self) != NULL;
  gboolean valid = FALSE;

  if (form)
    {
      g_autoptr(GError) error = NULL;
      const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));

      valid = tsr_connection_check_new_vm_name (self->connection, name, &error);
      tsr_gui_show_field_message (self->name_error, GTK_WIDGET (self->name_row),
                                  error ? error->message : NULL);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->import_button), form && !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "import.import",
                                 form && valid && !busy && self->info != NULL);
}

static void
tsr_import_window_field_changed_cb (TsrImportWindow *self)
{
  tsr_import_window_update (self);
}

/* Importing */

static void
tsr_import_window_set_busy (TsrOperationWindow *window,
                            gboolean            busy)
{
  TsrImportWindow *self = TSR_IMPORT_WINDOW (window);

  gtk_stack_set_visible_child_name (self->stack, busy ? "progress" : "form");
  tsr_import_window_update (self);
}

static void
tsr_import_window_failed (TsrOperationWindow *window,
                          const GError       *error)
{
  TsrImportWindow *self = TSR_IMPORT_WINDOW (window);

  if (!tsr_gui_show_name_error (self->name_error, GTK_WIDGET (self->name_row), error))
    tsr_gui_show_error (GTK_WINDOW (self), _("Could Not Import the VM"), error->message);
}

static void
tsr_import_window_imported_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(TsrOperation) operation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *notice = NULL;
  g_autofree char *name = NULL;

  name = tsr_connection_import_finish (TSR_CONNECTION (object), result, &notice, &error);
  tsr_operation_complete (operation, name, notice, error);
}

static TsrCreateSpec *
build_spec (TsrImportWindow *self)
{
  g_autoptr(TsrCreateSpec) spec = tsr_import_info_make_spec (self->info);

  g_free (spec->name);
  spec->name = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
  g_free (spec->label);
  spec->label = g_strdup (tsr_label_chooser_get_label (self->label_chooser));
  tsr_choice_row_store_value (self->os_row, &spec->os_family);
  /* The OS libosinfo matched to the appliance stands while its family does. */
  if (g_strcmp0 (spec->os_family, self->info->os_family) != 0)
    g_clear_pointer (&spec->os_id, g_free);
  tsr_choice_row_store_value (self->firmware_row, &spec->firmware);
  spec->memory = (guint64) gtk_spin_button_get_value_as_int (self->memory_spin);
  spec->vcpus = (guint) gtk_spin_button_get_value_as_int (self->vcpus_spin);
  spec->set = TSR_SPEC_SET_ALL;

  tsr_choice_row_store_value (TSR_CHOICE_ROW (self->pool_row), &spec->pool);
  tsr_choice_row_store_value (TSR_CHOICE_ROW (self->network_row), &spec->netvm);

  return g_steal_pointer (&spec);
}

static void
tsr_import_window_import_cb (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *param)
{
  TsrImportWindow *self = TSR_IMPORT_WINDOW (widget);
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *title = NULL;
  g_autofree char *success = NULL;
  g_autofree char *heading = NULL;
  TsrImportFlags flags = TSR_IMPORT_FLAGS_NONE;
  g_autoptr(TsrOperation) operation = NULL;

  if (OPERATION (self) != NULL || self->info == NULL)
    return;

  spec = build_spec (self);
  if (!tsr_connection_check_new_vm_name (self->connection, spec->name, &error))
    {
      tsr_import_window_update (self);
      return;
    }
  if (gtk_switch_get_active (self->move_switch))
    flags |= TSR_IMPORT_MOVE;

  basename = g_file_get_basename (self->file);
  title = g_strdup_printf (_("Importing “%s” as “%s”"), basename, spec->name);
  success = g_strdup_printf (_("Imported “%s” from “%s”"), spec->name, basename);
  heading = g_strdup_printf (_("Importing “%s”…"), spec->name);

  operation = g_object_ref (tsr_operation_window_start (OPERATION_WINDOW (self), title,
                                                        success, heading));

  tsr_connection_import_async (self->connection, self->info, spec, flags,
                               tsr_operation_progress_cb, operation,
                               tsr_operation_get_cancellable (operation),
                               tsr_import_window_imported_cb,
                               g_object_ref (operation));
}

static void
tsr_import_window_file_chosen_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(TsrImportWindow) self = user_data;
  g_autoptr(GFile) file = tsr_import_choose_file_finish (result, NULL);

  if (file != NULL && gtk_widget_get_visible (GTK_WIDGET (self)))
    tsr_import_window_set_file (self, file);
}

static void
tsr_import_window_choose_file_cb (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *param)
{
  TsrImportWindow *self = TSR_IMPORT_WINDOW (widget);

  tsr_import_choose_file_async (GTK_WINDOW (self), CANCELLABLE (self),
                                tsr_import_window_file_chosen_cb, g_object_ref (self));
}

/* GObject */

static void
tsr_import_window_dispose (GObject *object)
{
  TsrImportWindow *self = TSR_IMPORT_WINDOW (object);

  g_cancellable_cancel (CANCELLABLE (self));

  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_IMPORT_WINDOW);

  g_clear_object (&self->connection);
  g_clear_object (&self->inspect_cancellable);
  g_clear_object (&self->file);
  g_clear_pointer (&self->info, tsr_import_info_unref);

  G_OBJECT_CLASS (tsr_import_window_parent_class)->dispose (object);
}

static void
tsr_import_window_class_init (TsrImportWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  TsrOperationWindowClass *operation_class = TSR_OPERATION_WINDOW_CLASS (klass);

  object_class->dispose = tsr_import_window_dispose;
  operation_class->set_busy = tsr_import_window_set_busy;
  operation_class->failed = tsr_import_window_failed;

  g_type_ensure (TSR_TYPE_CHOICE_ROW);
  g_type_ensure (TSR_TYPE_LABEL_CHOOSER);
  g_type_ensure (TSR_TYPE_POOL_ROW);
  g_type_ensure (TSR_TYPE_NETWORK_ROW);
  g_type_ensure (TSR_TYPE_PROGRESS_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/tessera/Tessera/tsr-import-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, import_button);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, reading_page);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, reading_spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, failed_page);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, form_page);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, found_group);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, disk_list);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, warnings_group);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, warning_list);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, name_error);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, label_chooser);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, os_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, firmware_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, memory_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, memory_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, vcpus_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, vcpus_spin);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, pool_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, network_row);
  gtk_widget_class_bind_template_child (widget_class, TsrImportWindow, move_switch);
  tsr_operation_window_class_bind_parts (operation_class, "import_button",
                                         _("Stop the import and remove what it made"));
  gtk_widget_class_bind_template_callback (widget_class, tsr_import_window_field_changed_cb);

  gtk_widget_class_install_action (widget_class, "import.import", NULL,
                                   tsr_import_window_import_cb);
  gtk_widget_class_install_action (widget_class, "import.choose-file", NULL,
                                   tsr_import_window_choose_file_cb);
}

static void
tsr_import_window_init (TsrImportWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  tsr_choice_row_set_entries (self->os_row, tsr_os_family_choices, "linux");
  tsr_choice_row_set_entries (self->firmware_row, tsr_firmware_choices, "bios");
}

/**
 * tsr_import_window_new:
 * @parent: the main window
 * @connection: where the VM is made
 * @file: the appliance or disk image to import
 *
 * Returns: (transfer floating): a new dialog, reading @file, to be presented
 */
TsrImportWindow *
tsr_import_window_new (GtkWindow     *parent,
                       TsrConnection *connection,
                       GFile         *file)
{
  TsrImportWindow *self;

  g_return_val_if_fail (!parent || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (TSR_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  self = g_object_new (TSR_TYPE_IMPORT_WINDOW, NULL);
  tsr_dialog_set_parent (TSR_DIALOG (self), parent);
  self->connection = g_object_ref (connection);

  /* A VM made meanwhile may take the name. */
  g_signal_connect_object (tsr_connection_get_vms (connection), "items-changed",
                           G_CALLBACK (tsr_import_window_field_changed_cb),
                           self, G_CONNECT_SWAPPED);

  tsr_dialog_get_inventory (TSR_DIALOG (self), connection, tsr_import_window_inventory_ready);

  tsr_import_window_set_file (self, file);

  return self;
}

/**
 * tsr_import_window_set_file:
 * @self: a #TsrImportWindow
 * @file: the appliance or disk image to import
 *
 * Reads @file, instead of the one the dialog had.
 */
void
tsr_import_window_set_file (TsrImportWindow *self,
                            GFile           *file)
{
  g_autofree char *basename = NULL;
  g_autofree char *title = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (TSR_IS_IMPORT_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (OPERATION (self) == NULL);

  if (self->inspect_cancellable != NULL)
    g_cancellable_cancel (self->inspect_cancellable);
  g_clear_object (&self->inspect_cancellable);
  g_clear_pointer (&self->info, tsr_import_info_unref);
  g_set_object (&self->file, file);

  basename = g_file_get_basename (file);
  adw_window_title_set_subtitle (self->window_title, basename);
  title = g_strdup_printf (_("Reading “%s”…"), basename);
  adw_status_page_set_title (self->reading_page, title);
  adw_status_page_set_description (self->reading_page, NULL);
  gtk_spinner_set_spinning (self->reading_spinner, TRUE);
  gtk_stack_set_visible_child_name (self->stack, "reading");

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *message =
        g_markup_printf_escaped (_("“%s” is not a file on this computer: copy it here first, "
                                   "then import the copy."), uri);

      gtk_spinner_set_spinning (self->reading_spinner, FALSE);
      adw_status_page_set_description (self->failed_page, message);
      gtk_stack_set_visible_child_name (self->stack, "failed");
      tsr_import_window_update (self);
      return;
    }

  self->inspect_cancellable = g_cancellable_new ();
  g_signal_connect_object (CANCELLABLE (self), "cancelled",
                           G_CALLBACK (g_cancellable_cancel),
                           self->inspect_cancellable, G_CONNECT_SWAPPED);
  tsr_import_inspect_async (path, tsr_import_window_inspect_progress_cb, self,
                            self->inspect_cancellable,
                            tsr_import_window_inspected_cb, g_object_ref (self));
  tsr_import_window_update (self);
}

GFile *
tsr_import_window_get_file (TsrImportWindow *self)
{
  g_return_val_if_fail (TSR_IS_IMPORT_WINDOW (self), NULL);

  return self->file;
}

/* "reading", "failed", "form" or "progress" */
const char *
tsr_import_window_get_page (TsrImportWindow *self)
{
  g_return_val_if_fail (TSR_IS_IMPORT_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

/**
 * tsr_import_window_get_info:
 * @self: a #TsrImportWindow
 *
 * Returns: (nullable): what was found in the file, once it was read
 */
const TsrImportInfo *
tsr_import_window_get_info (TsrImportWindow *self)
{
  g_return_val_if_fail (TSR_IS_IMPORT_WINDOW (self), NULL);

  return self->info;
}

/* The file chooser */

static const char * const import_suffixes[] = {
  "ova", "ovf", "vmdk", "vdi", "vhd", "vhdx", "qcow2", "img", "raw", "zip",
};

static void
tsr_import_chooser_response_cb (GtkNativeDialog *chooser,
                                int              response,
                                gpointer         user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GFile) file = NULL;

  g_signal_handlers_disconnect_by_data (chooser, task);
  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  gtk_native_dialog_destroy (chooser);

  if (file == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "No file was chosen");
  else
    g_task_return_pointer (task, g_steal_pointer (&file), g_object_unref);
}

/* The window that asked is gone: the chooser goes too, answering "no". */
static void
tsr_import_chooser_cancelled_cb (GCancellable    *cancellable,
                                 GtkNativeDialog *chooser)
{
  gtk_native_dialog_hide (chooser);
  g_signal_emit_by_name (chooser, "response", GTK_RESPONSE_CANCEL);
}

/**
 * tsr_import_choose_file_async:
 * @parent: the window the chooser belongs to
 * @cancellable: (nullable): closes the chooser
 * @callback: called with the choice
 * @user_data: for @callback
 *
 * Asks for a file to import, offering the formats Tessera reads.
 */
void
tsr_import_choose_file_async (GtkWindow           *parent,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GtkFileFilter) importable = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  g_return_if_fail (!parent || GTK_IS_WINDOW (parent));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_import_choose_file_async);

  /* GTK 4.8 has no GtkFileDialog; suffixes match in any case. */
  gtk_file_filter_set_name (importable, _("Appliances and Disk Images"));
  for (guint i = 0; i < G_N_ELEMENTS (import_suffixes); i++)
    gtk_file_filter_add_suffix (importable, import_suffixes[i]);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");

  chooser = gtk_file_chooser_native_new (_("Import a VM"), parent,
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), importable);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  gtk_file_chooser_set_filter (GTK_FILE_CHOOSER (chooser), importable);

  g_task_set_task_data (task, chooser, g_object_unref);
  g_signal_connect (chooser, "response",
                    G_CALLBACK (tsr_import_chooser_response_cb), g_object_ref (task));
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled",
                             G_CALLBACK (tsr_import_chooser_cancelled_cb), chooser, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

GFile *
tsr_import_choose_file_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
