/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-gui-util.h"
#include "tsr-vm-cell.h"
#include "tsr-window-private.h"

#define DEMO_URI "test:///default"

/* Errors */

static void
tsr_window_show_error_details_cb (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *param)
{
  tsr_gui_show_error (GTK_WINDOW (widget), _("The Action Failed"),
                      g_variant_get_string (param, NULL));
}

/**
 * _tsr_window_add_error_toast:
 * @self: a #TsrWindow
 * @error: what went wrong; the core's messages say what to do about it
 *
 * Shows @error as a toast. Toasts are short, so a button opens the whole
 * message.
 */
void
_tsr_window_add_error_toast (TsrWindow    *self,
                             const GError *error)
{
  g_autofree char *title = NULL;
  AdwToast *toast;

  g_assert (TSR_IS_WINDOW (self));
  g_assert (error != NULL);

  if (self->toast_overlay == NULL)
    return;

  title = g_markup_escape_text (error->message, -1);
  toast = adw_toast_new (title);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_set_timeout (toast, 10);
  adw_toast_set_button_label (toast, _("_Details"));
  adw_toast_set_action_name (toast, "win.show-error-details");
  adw_toast_set_action_target_value (toast, g_variant_new_string (error->message));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Lifecycle */

static void
tsr_window_vm_lifecycle_done_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(TsrWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tsr_gui_lifecycle_finish (TSR_CONNECTION (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _tsr_window_add_error_toast (self, error);
}

static const struct
{
  const char      *action;
  TsrGuiLifecycle  step;
} lifecycle_actions[] = {
  { "win.vm-start", TSR_GUI_LIFECYCLE_START },
  { "win.vm-shutdown", TSR_GUI_LIFECYCLE_SHUTDOWN },
  { "win.vm-force-off", TSR_GUI_LIFECYCLE_FORCE_OFF },
};

static void
tsr_window_vm_lifecycle_cb (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  if (self->selected_vm == NULL || self->connection == NULL)
    return;

  for (guint i = 0; i < G_N_ELEMENTS (lifecycle_actions); i++)
    if (g_str_equal (action_name, lifecycle_actions[i].action))
      tsr_gui_lifecycle_async (self->connection, self->selected_vm, lifecycle_actions[i].step,
                               self->cancellable, tsr_window_vm_lifecycle_done_cb,
                               g_object_ref (self));
}

/* Copying */

static void
copy_to_clipboard (TsrWindow  *self,
                   const char *field)
{
  g_autofree char *value = NULL;
  g_autofree char *message = NULL;
  AdwToast *toast;

  if (self->selected_vm == NULL)
    return;

  value = tsr_vm_dup_field_value (self->selected_vm, field);
  if (value == NULL)
    return;

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), value);

  /* Toast titles are markup. */
  message = g_markup_printf_escaped (_("Copied “%s”"), value);
  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 2);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
tsr_window_copy_value_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *param)
{
  const char *field = g_variant_get_string (param, NULL);

  /* The target comes from a menu, but a wrong one must not reach the core. */
  if (!tsr_vm_field_is_valid (field))
    return;

  copy_to_clipboard (TSR_WINDOW (widget), field);
}

static void
tsr_window_copy_ip_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  copy_to_clipboard (TSR_WINDOW (widget), "ip");
}

/* Row menu */

static void
tsr_window_fill_copy_section (TsrWindow  *self,
                              const char *field)
{
  g_autoptr(GMenuItem) ip_item = NULL;

  g_menu_remove_all (self->copy_section);

  if (field == NULL)
    field = "name";

  if (strcmp (field, "ip") != 0)
    {
      g_autoptr(GMenuItem) item = g_menu_item_new (tsr_vm_field_get_copy_label (field), NULL);

      g_menu_item_set_action_and_target_value (item, "win.copy-value", g_variant_new_string (field));
      g_menu_append_item (self->copy_section, item);
    }

  ip_item = g_menu_item_new (tsr_vm_field_get_copy_label ("ip"), "win.copy-ip");
  g_menu_append_item (self->copy_section, ip_item);
}

/**
 * _tsr_window_popup_vm_menu:
 * @self: a #TsrWindow
 * @field: (nullable): the field of the cell the menu is for, which it offers to copy
 * @x: where to point, in the column view's coordinates
 * @y: where to point, in the column view's coordinates
 *
 * Opens the row menu for the selected VM.
 */
void
_tsr_window_popup_vm_menu (TsrWindow  *self,
                           const char *field,
                           double      x,
                           double      y)
{
  graphene_point_t point;

  g_assert (TSR_IS_WINDOW (self));

  if (self->selected_vm == NULL)
    return;

  tsr_window_fill_copy_section (self, field);

  /* The popover hangs off a box rather than off the column view: widgets
   * with a layout manager present their popovers again whenever they are
   * allocated, so the menu keeps the size its items need.
   */
  if (self->context_menu == NULL)
    {
      self->context_menu = gtk_popover_menu_new_from_model (self->vm_menu);
      gtk_popover_set_has_arrow (GTK_POPOVER (self->context_menu), FALSE);
      gtk_popover_set_position (GTK_POPOVER (self->context_menu), GTK_POS_BOTTOM);
      gtk_widget_set_halign (self->context_menu, GTK_ALIGN_START);
      gtk_widget_set_parent (self->context_menu, self->main_box);
    }

  if (!gtk_widget_compute_point (GTK_WIDGET (self->column_view), self->main_box,
                                 &GRAPHENE_POINT_INIT (x, y), &point))
    point = GRAPHENE_POINT_INIT (0, 0);

  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu),
                               &(GdkRectangle) { (int) point.x, (int) point.y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

/* The cell under a point: the widget picked there is the cell's label or
 * mark, the cell itself, or the column view's own cell widget around it.
 */
static TsrVmCell *
cell_at (GtkWidget *view,
         double     x,
         double     y)
{
  GtkWidget *picked = gtk_widget_pick (view, x, y, GTK_PICK_DEFAULT);

  for (GtkWidget *widget = picked;
       widget != NULL && widget != view;
       widget = gtk_widget_get_parent (widget))
    {
      GtkWidget *child = gtk_widget_get_first_child (widget);

      if (TSR_IS_VM_CELL (widget))
        return TSR_VM_CELL (widget);
      if (child != NULL && TSR_IS_VM_CELL (child))
        return TSR_VM_CELL (child);
    }

  return NULL;
}

void
_tsr_window_list_secondary_pressed_cb (TsrWindow  *self,
                                       int         n_press,
                                       double      x,
                                       double      y,
                                       GtkGesture *gesture)
{
  TsrVmCell *cell;
  TsrVm *vm;

  g_assert (TSR_IS_WINDOW (self));

  cell = cell_at (GTK_WIDGET (self->column_view), x, y);
  if (cell == NULL || (vm = tsr_vm_cell_get_vm (cell)) == NULL)
    return;

  gtk_gesture_set_state (gesture, GTK_EVENT_SEQUENCE_CLAIMED);

  tsr_window_select_vm (self, vm);
  _tsr_window_popup_vm_menu (self, tsr_vm_cell_get_field (cell), x, y);
}

static void
tsr_window_vm_menu_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  tsr_window_popup_vm_menu (TSR_WINDOW (widget), NULL);
}

/* Search and connection */

static void
tsr_window_search_cb (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  if (!gtk_search_bar_get_search_mode (self->search_bar))
    gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
tsr_window_reconnect_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  TsrWindow *self = TSR_WINDOW (widget);
  g_autofree char *uri = g_strdup (self->uri);

  _tsr_window_open_uri (self, uri);
}

static void
tsr_window_use_demo_cb (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  _tsr_window_open_uri (TSR_WINDOW (widget), DEMO_URI);
}

/**
 * _tsr_window_actions_update:
 * @self: a #TsrWindow
 *
 * Enables the actions that make sense for the selected VM in its current
 * state on the current connection.
 */
void
_tsr_window_actions_update (TsrWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  TsrVm *vm = self->selected_vm;
  gboolean connected;
  gboolean active;

  g_assert (TSR_IS_WINDOW (self));

  connected = self->connection != NULL &&
              tsr_connection_get_state (self->connection) == TSR_CONNECTION_STATE_CONNECTED;
  active = vm != NULL && tsr_vm_is_active (vm);

  gtk_widget_action_set_enabled (widget, "win.vm-start", connected && vm != NULL && !active);
  gtk_widget_action_set_enabled (widget, "win.vm-shutdown", connected && active);
  gtk_widget_action_set_enabled (widget, "win.vm-force-off", connected && active);
  gtk_widget_action_set_enabled (widget, "win.vm-menu", vm != NULL);
  gtk_widget_action_set_enabled (widget, "win.copy-value", vm != NULL);
  gtk_widget_action_set_enabled (widget, "win.copy-ip", vm != NULL && tsr_vm_get_ip (vm) != NULL);
  _tsr_window_dialogs_update (self, connected);
  _tsr_window_operations_update (self, connected);
  _tsr_window_delete_update (self, connected);
  _tsr_window_search_update (self);
}

void
_tsr_window_class_actions_init (TsrWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  for (guint i = 0; i < G_N_ELEMENTS (lifecycle_actions); i++)
    gtk_widget_class_install_action (widget_class, lifecycle_actions[i].action, NULL,
                                     tsr_window_vm_lifecycle_cb);
  gtk_widget_class_install_action (widget_class, "win.vm-menu", NULL,
                                   tsr_window_vm_menu_cb);
  gtk_widget_class_install_action (widget_class, "win.copy-value", "s",
                                   tsr_window_copy_value_cb);
  gtk_widget_class_install_action (widget_class, "win.copy-ip", NULL,
                                   tsr_window_copy_ip_cb);
  gtk_widget_class_install_action (widget_class, "win.search", NULL,
                                   tsr_window_search_cb);
  gtk_widget_class_install_action (widget_class, "win.reconnect", NULL,
                                   tsr_window_reconnect_cb);
  gtk_widget_class_install_action (widget_class, "win.use-demo", NULL,
                                   tsr_window_use_demo_cb);
  gtk_widget_class_install_action (widget_class, "win.show-error-details", "s",
                                   tsr_window_show_error_details_cb);

  _tsr_window_class_dialogs_init (klass);
  _tsr_window_class_operations_init (klass);
  _tsr_window_class_delete_init (klass);
  _tsr_window_class_search_init (klass);
}

static const char * const column_keys[] = {
  "show-column-label", "show-column-name", "show-column-state", "show-column-class",
  "show-column-template", "show-column-virt-mode", "show-column-network", "show-column-ip", "show-column-netmask",
  "show-column-gateway", "show-column-mac",
};

void
_tsr_window_actions_init (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  /* The column toggles of the header menu are the GSettings keys themselves. */
  for (guint i = 0; i < G_N_ELEMENTS (column_keys); i++)
    {
      g_autoptr(GAction) action = g_settings_create_action (self->settings, column_keys[i]);

      g_action_map_add_action (G_ACTION_MAP (self), action);
    }

  _tsr_window_operations_init (self);
  _tsr_window_delete_init (self);
  _tsr_window_actions_update (self);
}

/* GtkApplicationWindow's own action group can outlive the window while its
 * actions stay connected to the GSettings keys; removing the actions here
 * cuts them loose, so a later change of a key reaches no dead group.
 */
void
_tsr_window_actions_dispose (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  for (guint i = 0; i < G_N_ELEMENTS (column_keys); i++)
    g_action_map_remove_action (G_ACTION_MAP (self), column_keys[i]);

  _tsr_window_operations_dispose (self);
}

/**
 * tsr_window_popup_vm_menu:
 * @self: a #TsrWindow
 * @field: (nullable): the field of the cell the menu is for
 *
 * Opens the row menu of the selected VM as a right-click on its @field cell
 * would.
 */
void
tsr_window_popup_vm_menu (TsrWindow  *self,
                          const char *field)
{
  TsrVmCell *cell;
  double x = 0;
  double y = 0;

  g_return_if_fail (TSR_IS_WINDOW (self));

  cell = _tsr_window_find_cell (self, self->selected_vm, field);
  if (cell != NULL)
    {
      graphene_point_t point;

      if (gtk_widget_compute_point (GTK_WIDGET (cell), GTK_WIDGET (self->column_view),
                                    &GRAPHENE_POINT_INIT (gtk_widget_get_width (GTK_WIDGET (cell)) / 2.0,
                                                          gtk_widget_get_height (GTK_WIDGET (cell)) / 2.0),
                                    &point))
        {
          x = point.x;
          y = point.y;
        }
    }

  _tsr_window_popup_vm_menu (self, field, x, y);
}
