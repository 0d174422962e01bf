/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-test-window.h"

/* Everything here goes through what GTK offers any client of a widget:
 * template children by id, properties and signals.
 */

static gpointer
child (TsrWindow  *window,
       const char *id)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), TSR_TYPE_WINDOW, id);

  if (object == NULL)
    g_error ("TsrWindow has no child “%s”", id);
  return object;
}

GtkColumnView *
tsr_test_window_get_column_view (TsrWindow *window)
{
  return child (window, "column_view");
}

/* The column of FIELD ("virt-mode", "ip", …), by its id in the .ui. */
GtkColumnViewColumn *
tsr_test_window_get_column (TsrWindow  *window,
                            const char *field)
{
  g_autofree char *id = g_strdup_printf ("%s_column", field);

  g_strdelimit (id, "-", '_');
  return GTK_COLUMN_VIEW_COLUMN (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                TSR_TYPE_WINDOW, id));
}

/* The VMs as the list shows them, filtered and sorted; complete even while
 * the view still gets its first rows a few at a time.
 */
GListModel *
tsr_test_window_get_model (TsrWindow *window)
{
  return child (window, "stable_model");
}

/* "loading", "list", "empty", "no-results" or "error" */
const char *
tsr_test_window_get_page (TsrWindow *window)
{
  return gtk_stack_get_visible_child_name (child (window, "stack"));
}

static gboolean
wait_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
tsr_test_window_wait_for_page (TsrWindow  *window,
                               const char *page,
                               guint       timeout_ms)
{
  gboolean timed_out = FALSE;
  guint source = g_timeout_add (timeout_ms, wait_timeout_cb, &timed_out);

  while (!timed_out && g_strcmp0 (tsr_test_window_get_page (window), page) != 0)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (source);

  return g_strcmp0 (tsr_test_window_get_page (window), page) == 0;
}

GMenuModel *
tsr_test_window_get_vm_menu (TsrWindow *window)
{
  return child (window, "vm_menu");
}

/* The row menu hangs off the main box once it was opened. */
GtkPopover *
tsr_test_window_get_context_menu (TsrWindow *window)
{
  for (GtkWidget *widget = gtk_widget_get_first_child (child (window, "main_box"));
       widget != NULL;
       widget = gtk_widget_get_next_sibling (widget))
    if (GTK_IS_POPOVER_MENU (widget))
      return GTK_POPOVER (widget);

  return NULL;
}

static TsrVmCell *
find_cell_in (GtkWidget  *widget,
              TsrVm      *vm,
              const char *field)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      TsrVmCell *found;

      if (TSR_IS_VM_CELL (c))
        {
          if (tsr_vm_cell_get_vm (TSR_VM_CELL (c)) == vm &&
              (field == NULL || g_strcmp0 (tsr_vm_cell_get_field (TSR_VM_CELL (c)), field) == 0))
            return TSR_VM_CELL (c);
          continue;
        }
      if ((found = find_cell_in (c, vm, field)) != NULL)
        return found;
    }

  return NULL;
}

/* The cell that shows FIELD of the VM called VM_NAME, if its row is on
 * screen.
 */
TsrVmCell *
tsr_test_window_find_cell (TsrWindow  *window,
                           const char *vm_name,
                           const char *field)
{
  TsrConnection *connection = tsr_window_get_connection (window);
  TsrVm *vm = connection ? tsr_connection_lookup_vm (connection, vm_name) : NULL;

  if (vm == NULL)
    return NULL;
  return find_cell_in (GTK_WIDGET (tsr_test_window_get_column_view (window)), vm, field);
}

static GtkGesture *
secondary_click (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller) &&
          gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (controller)) == GDK_BUTTON_SECONDARY)
        return GTK_GESTURE (controller);
    }

  return NULL;
}

/* A right-click on the selected VM's FIELD cell; with no FIELD, the menu
 * key.
 */
void
tsr_test_window_popup_vm_menu (TsrWindow  *window,
                               const char *field)
{
  GtkWidget *view = GTK_WIDGET (tsr_test_window_get_column_view (window));
  TsrVm *vm = tsr_window_get_selected_vm (window);
  TsrVmCell *cell = vm && field ? find_cell_in (view, vm, field) : NULL;
  graphene_point_t point;
  GtkGesture *click;

  if (cell == NULL)
    {
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.vm-menu", NULL));
      return;
    }

  click = secondary_click (view);
  g_assert_nonnull (click);
  g_assert_true (gtk_widget_compute_point (GTK_WIDGET (cell), view,
                                           &GRAPHENE_POINT_INIT (gtk_widget_get_width (GTK_WIDGET (cell)) / 2.0,
                                                                 gtk_widget_get_height (GTK_WIDGET (cell)) / 2.0),
                                           &point));
  g_signal_emit_by_name (click, "pressed", 1, (double) point.x, (double) point.y);
}

const char *
tsr_test_window_get_subtitle (TsrWindow *window)
{
  return adw_window_title_get_subtitle (child (window, "window_title"));
}

GtkEditable *
tsr_test_window_get_search_entry (TsrWindow *window)
{
  return child (window, "search_entry");
}

gboolean
tsr_test_window_get_disconnected_shown (TsrWindow *window)
{
  return gtk_revealer_get_reveal_child (child (window, "disconnected_revealer"));
}

const char *
tsr_test_window_get_disconnected_text (TsrWindow *window)
{
  return gtk_label_get_text (child (window, "disconnected_label"));
}

AdwStatusPage *
tsr_test_window_get_error_page (TsrWindow *window)
{
  return child (window, "error_page");
}

GtkWidget *
tsr_test_window_get_demo_button (TsrWindow *window)
{
  return child (window, "demo_button");
}

GtkWidget *
tsr_test_window_get_start_button (TsrWindow *window)
{
  return child (window, "start_button");
}

GtkWidget *
tsr_test_window_get_shutdown_button (TsrWindow *window)
{
  return child (window, "shutdown_button");
}

/* Where the popover's widget origin lies in the window's coordinates: the
 * popup surface's offset from the window's surface, corrected by the
 * margins (shadows) of both surfaces.
 */
static gboolean
popover_offset (TsrWindow *window,
                GtkWidget *popover,
                double    *x,
                double    *y)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (popover));
  double window_dx, window_dy;
  double popover_dx, popover_dy;

  if (surface == NULL || !GDK_IS_POPUP (surface))
    return FALSE;

  gtk_native_get_surface_transform (GTK_NATIVE (window), &window_dx, &window_dy);
  gtk_native_get_surface_transform (GTK_NATIVE (popover), &popover_dx, &popover_dy);

  *x = gdk_popup_get_position_x (GDK_POPUP (surface)) + popover_dx - window_dx;
  *y = gdk_popup_get_position_y (GDK_POPUP (surface)) + popover_dy - window_dy;

  return TRUE;
}

static void
snapshot_context_menu (TsrWindow   *window,
                       GtkSnapshot *snapshot)
{
  GtkWidget *popover = GTK_WIDGET (tsr_test_window_get_context_menu (window));
  GtkWidget *contents;
  g_autoptr(GdkPaintable) menu = NULL;
  graphene_rect_t bounds;
  double x, y;

  if (popover == NULL || !gtk_widget_get_mapped (popover))
    return;

  /* The popover's contents box: the popover widget itself clips away part
   * of its padding when painted on its own.
   */
  contents = gtk_widget_get_first_child (popover);
  menu = gtk_widget_paintable_new (contents);
  if (!popover_offset (window, popover, &x, &y) ||
      !gtk_widget_compute_bounds (contents, popover, &bounds))
    return;

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + bounds.origin.x, y + bounds.origin.y));
  gdk_paintable_snapshot (menu, snapshot, bounds.size.width, bounds.size.height);
  gtk_snapshot_restore (snapshot);
}

/* Renders the window as it is on screen, with its row menu if that is
 * open, into a PNG file at PATH.
 */
gboolean
tsr_test_window_write_screenshot (TsrWindow   *window,
                                  const char  *path,
                                  GError     **error)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  int width = gtk_widget_get_width (GTK_WIDGET (window));
  int height = gtk_widget_get_height (GTK_WIDGET (window));

  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  if (!gtk_widget_get_mapped (GTK_WIDGET (window)) || renderer == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The window is not on screen, so there is nothing to render");
      return FALSE;
    }

  snapshot = gtk_snapshot_new ();
  paintable = gtk_widget_paintable_new (GTK_WIDGET (window));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  snapshot_context_menu (window, snapshot);

  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The window drew nothing");
      return FALSE;
    }

  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write %s", path);
      return FALSE;
    }

  return TRUE;
}
