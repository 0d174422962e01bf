/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-creator.h"
#include "tsr-gui-util.h"
#include "tsr-remover.h"
#include "tsr-window-private.h"

/* Delete… (the row menu, the Delete key): the plan is read first, so the
 * confirmation lists exactly what goes and what stays; a VM with much data
 * asks for its name to be typed. And the toast that says what the recovery
 * did when the connection was opened.
 */

typedef struct
{
  TsrWindow        *window;
  TsrVm            *vm;
  TsrRemovalPlan   *plan;
  GtkEditable      *name_entry;
  AdwMessageDialog *dialog;
} DeleteData;

static void
delete_data_free (DeleteData *data)
{
  g_clear_object (&data->window);
  g_clear_object (&data->vm);
  g_clear_pointer (&data->plan, tsr_removal_plan_free);
  g_free (data);
}

static GtkWidget *
item_row (const char *title,
          const char *subtitle,
          const char *icon)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *escaped_title = g_markup_escape_text (title, -1);
  g_autofree char *escaped_sub = subtitle ? g_markup_escape_text (subtitle, -1) : NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), escaped_title);
  if (escaped_sub != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), escaped_sub);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name (icon));
  return row;
}

static GtkWidget *
volume_row (const TsrRemovalItem *item,
            gboolean              kept)
{
  g_autofree char *size = g_format_size_full (item->allocation, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *title = item->pool ? g_strdup_printf ("%s/%s", item->pool, item->name)
                                      : g_strdup (item->path);
  g_autofree char *subtitle = kept ? g_strdup_printf ("%s — %s", item->what, item->why_kept)
                                   : g_strdup_printf ("%s, %s", item->what, size);

  return item_row (title, subtitle, kept ? "emblem-ok-symbolic" : "user-trash-symbolic");
}

static GtkWidget *
boxed_list (void)
{
  GtkWidget *list = gtk_list_box_new ();

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  return list;
}

static GtkWidget *
heading_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  return label;
}

/* The lists of what goes and what stays. */
static GtkWidget *
plan_view (const TsrRemovalPlan *plan)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *removed = boxed_list ();
  g_autofree char *definition = NULL;

  definition = plan->n_snapshots > 0
               ? g_strdup_printf (ngettext ("with %u snapshot", "with %u snapshots",
                                            plan->n_snapshots), plan->n_snapshots)
               : NULL;
  gtk_box_append (GTK_BOX (box), heading_label (_("Deleted")));
  gtk_list_box_append (GTK_LIST_BOX (removed),
                       item_row (_("The VM’s definition"), definition, "user-trash-symbolic"));
  for (guint i = 0; i < plan->volumes->len; i++)
    gtk_list_box_append (GTK_LIST_BOX (removed),
                         volume_row (g_ptr_array_index (plan->volumes, i), FALSE));
  if (plan->nvram != NULL)
    gtk_list_box_append (GTK_LIST_BOX (removed),
                         item_row (_("UEFI variables"), plan->nvram, "user-trash-symbolic"));
  if (plan->tpm)
    gtk_list_box_append (GTK_LIST_BOX (removed),
                         item_row (_("TPM state"), NULL, "user-trash-symbolic"));
  if (plan->managed_save)
    gtk_list_box_append (GTK_LIST_BOX (removed),
                         item_row (_("Saved state"), NULL, "user-trash-symbolic"));
  for (guint i = 0; i < plan->addresses->len; i++)
    {
      TsrRemovalAddress *a = g_ptr_array_index (plan->addresses, i);
      g_autofree char *title = g_strdup_printf (_("Address %s"), a->ip);
      g_autofree char *subtitle = g_strdup_printf (_("reserved on “%s” for %s"), a->network, a->mac);

      gtk_list_box_append (GTK_LIST_BOX (removed),
                           item_row (title, subtitle, "network-wired-symbolic"));
    }
  for (guint i = 0; i < plan->files->len; i++)
    gtk_list_box_append (GTK_LIST_BOX (removed),
                         volume_row (g_ptr_array_index (plan->files, i), FALSE));
  gtk_box_append (GTK_BOX (box), removed);

  if (plan->kept->len > 0)
    {
      GtkWidget *kept = boxed_list ();

      gtk_box_append (GTK_BOX (box), heading_label (_("Kept")));
      for (guint i = 0; i < plan->kept->len; i++)
        gtk_list_box_append (GTK_LIST_BOX (kept),
                             volume_row (g_ptr_array_index (plan->kept, i), TRUE));
      gtk_box_append (GTK_BOX (box), kept);
    }
  return box;
}

static void
deleted_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(TsrWindow) self = user_data;
  g_autoptr(TsrRemovalPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *freed = NULL;
  g_autofree char *text = NULL;

  plan = tsr_connection_remove_vm_finish (TSR_CONNECTION (object), result, &error);
  if (plan == NULL)
    {
      _tsr_window_add_error_toast (self, error);
      return;
    }
  freed = g_format_size_full (plan->total_bytes, G_FORMAT_SIZE_IEC_UNITS);
  text = g_strdup_printf (_("Deleted “%s” (%s freed)"), plan->vm_name, freed);
  if (self->toast_overlay != NULL)
    tsr_gui_add_toast (self->toast_overlay, NULL, text, 5);
}

static void
response_cb (AdwMessageDialog *dialog,
             const char       *response,
             DeleteData       *data)
{
  if (g_str_equal (response, "delete") && data->window->connection != NULL)
    tsr_connection_remove_vm_async (data->window->connection, data->vm, NULL, deleted_cb,
                                    g_object_ref (data->window));
}

static void
name_changed_cb (GtkEditable *entry,
                 DeleteData  *data)
{
  adw_message_dialog_set_response_enabled (data->dialog, "delete",
                                           g_str_equal (gtk_editable_get_text (entry),
                                                        data->plan->vm_name));
}

static void
show_confirmation (DeleteData *data)
{
  TsrRemovalPlan *plan = data->plan;
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  g_autofree char *heading = g_strdup_printf (_("Delete “%s”?"), plan->vm_name);
  g_autofree char *size = g_format_size_full (plan->total_bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *body = NULL;
  GtkWidget *scrolled;

  if (plan->running || plan->dependents[0] != NULL)
    {
      g_free (heading);
      heading = g_strdup_printf (_("“%s” Cannot Be Deleted Now"), plan->vm_name);
    }
  if (plan->running)
    {
      g_autofree char *running_body =
        g_strdup_printf (_("It is running. Shut it down first (qvm-shutdown --wait %s), then "
                           "delete it."), plan->vm_name);

      data->dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (data->window),
                                                                 heading, running_body));
      adw_message_dialog_add_response (data->dialog, "close", _("_Close"));
      gtk_window_present (GTK_WINDOW (data->dialog));
      delete_data_free (data);
      return;
    }
  if (plan->dependents[0] != NULL)
    {
      g_autofree char *why = g_strjoinv ("\n", plan->dependents);
      g_autofree char *blocked = g_strdup_printf (_("Other VMs depend on it:\n%s\nDelete them "
                                                    "first, or change what they are based on."),
                                                  why);

      data->dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (data->window),
                                                                 heading, blocked));
      adw_message_dialog_add_response (data->dialog, "close", _("_Close"));
      gtk_window_present (GTK_WINDOW (data->dialog));
      delete_data_free (data);
      return;
    }

  body = g_strdup_printf (_("This deletes the VM and %s of its data. It cannot be undone."), size);
  data->dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (data->window), heading,
                                                             body));
  adw_message_dialog_add_responses (data->dialog, "cancel", _("_Cancel"),
                                    "delete", _("_Delete"), NULL);
  adw_message_dialog_set_response_appearance (data->dialog, "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (data->dialog, "cancel");
  adw_message_dialog_set_close_response (data->dialog, "cancel");

  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 320);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), plan_view (plan));
  gtk_box_append (GTK_BOX (content), scrolled);

  if (tsr_removal_plan_needs_typed_name (plan))
    {
      g_autofree char *prompt = g_strdup_printf (_("Type “%s” to confirm"), plan->vm_name);
      GtkWidget *label = gtk_label_new (prompt);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      data->name_entry = GTK_EDITABLE (gtk_entry_new ());
      gtk_accessible_update_property (GTK_ACCESSIBLE (data->name_entry),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, prompt, -1);
      gtk_box_append (GTK_BOX (content), label);
      gtk_box_append (GTK_BOX (content), GTK_WIDGET (data->name_entry));
      adw_message_dialog_set_response_enabled (data->dialog, "delete", FALSE);
      g_signal_connect (data->name_entry, "changed", G_CALLBACK (name_changed_cb), data);
    }
  adw_message_dialog_set_extra_child (data->dialog, content);
  gtk_window_set_default_size (GTK_WINDOW (data->dialog), 480, -1);

  g_signal_connect (data->dialog, "response", G_CALLBACK (response_cb), data);
  g_object_set_data_full (G_OBJECT (data->dialog), "tsr-delete", data,
                          (GDestroyNotify) delete_data_free);
  gtk_window_present (GTK_WINDOW (data->dialog));
}

static void
planned_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  DeleteData *data = user_data;
  g_autoptr(GError) error = NULL;

  data->plan = tsr_connection_plan_removal_finish (TSR_CONNECTION (object), result, &error);
  if (data->plan == NULL)
    {
      _tsr_window_add_error_toast (data->window, error);
      delete_data_free (data);
      return;
    }
  show_confirmation (data);
}

static void
tsr_window_vm_delete_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  DeleteData *data;

  if (self->selected_vm == NULL || self->connection == NULL)
    return;

  data = g_new0 (DeleteData, 1);
  data->window = g_object_ref (self);
  data->vm = g_object_ref (self->selected_vm);
  tsr_connection_plan_removal_async (self->connection, data->vm, self->cancellable, planned_cb,
                                     data);
}

/* Disposables go when they stop */

static void
disposables_removed_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(TsrWindow) self = user_data;
  g_auto(GStrv) removed = NULL;
  g_autoptr(GError) error = NULL;

  removed = tsr_connection_remove_disposables_finish (TSR_CONNECTION (object), result, &error);
  if (removed == NULL)
    {
      _tsr_window_add_error_toast (self, error);
      return;
    }
  for (guint i = 0; removed[i] != NULL && self->toast_overlay != NULL; i++)
    {
      g_autofree char *text = g_strdup_printf (_("Disposable “%s” stopped and was removed"),
                                               removed[i]);

      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
    }
}

/**
 * _tsr_window_vm_stopped_cb:
 * @self: a #TsrWindow
 * @vm: the VM that stopped
 * @connection: the window's connection
 *
 * A DisposableVM that stopped is removed, with everything it had; the
 * copy of install media a VM booted from another VM goes too. One clean-up
 * serves every VM that stopped within half a second (a storm of stops
 * costs one).
 */
static gboolean
clean_up_stopped_cb (gpointer user_data)
{
  TsrWindow *self = user_data;

  self->stopped_source = 0;
  if (self->connection != NULL)
    tsr_connection_remove_disposables_async (self->connection, self->cancellable,
                                             disposables_removed_cb, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

void
_tsr_window_vm_stopped_cb (TsrWindow     *self,
                           TsrVm         *vm,
                           TsrConnection *connection)
{
  if (self->stopped_source == 0)
    self->stopped_source = g_timeout_add (500, clean_up_stopped_cb, self);
}

/* Start Disposable (the row menu of a TemplateVM) */

typedef struct
{
  TsrWindow *window;
  char      *name;
  guint      tries;
} DispStart;

static void
disp_start_free (DispStart *start)
{
  g_object_unref (start->window);
  g_free (start->name);
  g_free (start);
}

static void
disp_started_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(TsrWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_start_vm_finish (TSR_CONNECTION (object), result, &error))
    _tsr_window_add_error_toast (self, error);
}

/* The new domain reaches the list by its event: started once it is there. */
static gboolean
disp_start_when_listed_cb (gpointer user_data)
{
  DispStart *start = user_data;
  TsrConnection *connection = start->window->connection;
  TsrVm *vm = connection ? tsr_connection_lookup_vm (connection, start->name) : NULL;

  if (vm == NULL && ++start->tries < 100)
    return G_SOURCE_CONTINUE;
  if (vm != NULL)
    tsr_connection_start_vm_async (connection, vm, start->window->cancellable, disp_started_cb,
                                   g_object_ref (start->window));
  disp_start_free (start);
  return G_SOURCE_REMOVE;
}

static void
disp_created_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(TsrWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  DispStart *start;
  char *name;

  name = tsr_connection_create_vm_finish (TSR_CONNECTION (object), result, NULL, &error);
  if (name == NULL)
    {
      _tsr_window_add_error_toast (self, error);
      return;
    }
  start = g_new0 (DispStart, 1);
  start->window = g_object_ref (self);
  start->name = name;
  g_timeout_add (50, disp_start_when_listed_cb, start);
}

static void
tsr_window_vm_start_disposable_cb (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autofree char *name = NULL;

  if (self->selected_vm == NULL || self->connection == NULL)
    return;
  for (guint attempt = 0; attempt < 100 && name == NULL; attempt++)
    {
      g_autofree char *candidate = g_strdup_printf ("disp%u", g_random_int_range (1, 10000));

      if (tsr_connection_lookup_vm (self->connection, candidate) == NULL)
        name = g_steal_pointer (&candidate);
    }
  spec = tsr_create_spec_new (name);
  g_free (spec->klass);
  spec->klass = g_strdup ("DispVM");
  spec->template_name = g_strdup (tsr_vm_get_name (self->selected_vm));
  g_free (spec->label);
  spec->label = g_strdup ("red");
  tsr_connection_create_vm_async (self->connection, spec, NULL, NULL, self->cancellable,
                                  disp_created_cb, g_object_ref (self));
}

/* Recovery */

static void
tsr_window_show_recovery_cb (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  const char * const *lines = self->connection ? tsr_connection_get_recovered (self->connection)
                                               : NULL;
  g_autofree char *body = lines ? g_strjoinv ("\n", (GStrv) lines) : NULL;
  AdwMessageDialog *dialog;

  if (body == NULL)
    return;
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self),
                                                       _("Interrupted Operations Finished"),
                                                       body));
  adw_message_dialog_add_response (dialog, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/**
 * _tsr_window_recovered_cb:
 * @self: a #TsrWindow
 * @lines: what the recovery did
 * @connection: the window's connection
 *
 * A toast says that operations a crash interrupted were finished, with
 * the details a click away.
 */
void
_tsr_window_recovered_cb (TsrWindow          *self,
                          const char * const *lines,
                          TsrConnection      *connection)
{
  AdwToast *toast;
  guint n = 0;

  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], _("An interrupted"));
  if (self->toast_overlay == NULL || lines == NULL || lines[0] == NULL)
    return;

  toast = adw_toast_new (n > 0 ? ngettext ("Finished an operation a crash had interrupted",
                                           "Finished operations a crash had interrupted", n)
                               : _("Repaired what a crash had left"));
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_set_timeout (toast, 15);
  adw_toast_set_button_label (toast, _("_Details"));
  adw_toast_set_action_name (toast, "win.show-recovery");
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Setup */

void
_tsr_window_delete_update (TsrWindow *self,
                           gboolean   connected)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.vm-delete",
                                 connected && self->selected_vm != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.vm-start-disposable",
                                 connected && self->selected_vm != NULL &&
                                 g_strcmp0 (tsr_vm_get_vm_class (self->selected_vm),
                                            "TemplateVM") == 0);
}

void
_tsr_window_class_delete_init (TsrWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_install_action (widget_class, "win.vm-delete", NULL, tsr_window_vm_delete_cb);
  gtk_widget_class_install_action (widget_class, "win.vm-start-disposable", NULL,
                                   tsr_window_vm_start_disposable_cb);
  gtk_widget_class_install_action (widget_class, "win.show-recovery", NULL,
                                   tsr_window_show_recovery_cb);
}

void
_tsr_window_delete_init (TsrWindow *self)
{
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();

  /* Delete on the list, not in the search entry. */
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Delete, 0),
                                                          gtk_named_action_new ("win.vm-delete")));
  gtk_widget_add_controller (GTK_WIDGET (self->column_view), shortcuts);
}
