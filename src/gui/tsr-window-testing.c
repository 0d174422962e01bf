/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-vm-cell.h"
#include "tsr-window-private.h"

/* What the tests see of the window and how they drive it. Nothing here is
 * used by the application itself.
 */

TsrConnection *
tsr_window_get_connection (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->connection;
}

GtkColumnView *
tsr_window_get_column_view (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->column_view;
}

GtkColumnViewColumn *
tsr_window_get_column (TsrWindow  *self,
                       const char *field)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return _tsr_window_get_column (self, field);
}

/**
 * tsr_window_get_model:
 * @self: a #TsrWindow
 *
 * Returns: (transfer none): the VMs as the list shows them, filtered by the
 *   search and sorted by the column headers; complete even while the view
 *   still gets its first rows a few at a time
 */
GListModel *
tsr_window_get_model (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return G_LIST_MODEL (self->sort_model);
}

const char *
tsr_window_get_page (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

static gboolean
wait_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * tsr_window_wait_for_page:
 * @self: a #TsrWindow
 * @page: the name of a page: "loading", "list", "empty", "no-results" or "error"
 * @timeout_ms: how long to wait at most
 *
 * Runs the main context until the window shows @page. For tests only: the
 * application never waits like this.
 *
 * Returns: %TRUE if the page is shown, %FALSE after @timeout_ms
 */
gboolean
tsr_window_wait_for_page (TsrWindow  *self,
                          const char *page,
                          guint       timeout_ms)
{
  gboolean timed_out = FALSE;
  guint source;

  g_return_val_if_fail (TSR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (page != NULL, FALSE);

  source = g_timeout_add (timeout_ms, wait_timeout_cb, &timed_out);
  while (!timed_out && g_strcmp0 (tsr_window_get_page (self), page) != 0)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (source);

  return g_strcmp0 (tsr_window_get_page (self), page) == 0;
}

GMenuModel *
tsr_window_get_vm_menu (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->vm_menu;
}

/**
 * tsr_window_get_context_menu:
 * @self: a #TsrWindow
 *
 * Returns: (nullable) (transfer none): the row menu, once it was opened
 */
GtkPopover *
tsr_window_get_context_menu (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->context_menu ? GTK_POPOVER (self->context_menu) : NULL;
}

gboolean
tsr_window_select_vm (TsrWindow *self,
                      TsrVm     *vm)
{
  GListModel *model;

  g_return_val_if_fail (TSR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (TSR_IS_VM (vm), FALSE);

  model = G_LIST_MODEL (self->sort_model);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrVm) item = g_list_model_get_item (model, i);

      if (item == vm)
        {
          /* The view may not have all the rows yet. */
          if (i >= g_list_model_get_n_items (G_LIST_MODEL (self->slice_model)))
            _tsr_window_list_fill_now (self);
          gtk_single_selection_set_selected (self->selection, i);
          return TRUE;
        }
    }

  return FALSE;
}

TsrVm *
tsr_window_get_selected_vm (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->selected_vm;
}

/**
 * tsr_window_find_cell:
 * @self: a #TsrWindow
 * @vm_name: the name of a VM
 * @field: a field id such as "ip"
 *
 * Returns: (nullable) (transfer none): the cell widget that shows @field of
 *   the VM called @vm_name, if its row is on screen
 */
TsrVmCell *
tsr_window_find_cell (TsrWindow  *self,
                      const char *vm_name,
                      const char *field)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);
  g_return_val_if_fail (vm_name != NULL, NULL);

  if (self->connection == NULL)
    return NULL;

  return _tsr_window_find_cell (self, tsr_connection_lookup_vm (self->connection, vm_name), field);
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

const char *
tsr_window_get_subtitle (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return adw_window_title_get_subtitle (self->window_title);
}

GtkEditable *
tsr_window_get_search_entry (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return GTK_EDITABLE (self->search_entry);
}

gboolean
tsr_window_get_disconnected_shown (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), FALSE);

  return gtk_revealer_get_reveal_child (self->disconnected_revealer);
}

const char *
tsr_window_get_disconnected_text (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return gtk_label_get_text (self->disconnected_label);
}

AdwStatusPage *
tsr_window_get_error_page (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return self->error_page;
}

GtkWidget *
tsr_window_get_demo_button (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return GTK_WIDGET (self->demo_button);
}

GtkWidget *
tsr_window_get_start_button (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return GTK_WIDGET (self->start_button);
}

GtkWidget *
tsr_window_get_shutdown_button (TsrWindow *self)
{
  g_return_val_if_fail (TSR_IS_WINDOW (self), NULL);

  return GTK_WIDGET (self->shutdown_button);
}

/* Where the popover's widget origin lies in the window's coordinates: the
 * popup surface's offset from the window's surface, corrected by the
 * margins (shadows) of both surfaces.
 */
static gboolean
popover_offset (TsrWindow  *self,
                GtkWidget  *popover,
                double     *x,
                double     *y)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (popover));
  double window_dx, window_dy;
  double popover_dx, popover_dy;

  if (surface == NULL || !GDK_IS_POPUP (surface))
    return FALSE;

  gtk_native_get_surface_transform (GTK_NATIVE (self), &window_dx, &window_dy);
  gtk_native_get_surface_transform (GTK_NATIVE (popover), &popover_dx, &popover_dy);

  *x = gdk_popup_get_position_x (GDK_POPUP (surface)) + popover_dx - window_dx;
  *y = gdk_popup_get_position_y (GDK_POPUP (surface)) + popover_dy - window_dy;

  return TRUE;
}

/**
 * tsr_window_write_screenshot:
 * @self: a mapped #TsrWindow
 * @path: where to write the PNG
 * @error: return location for a #GError
 *
 * Renders the window as it is on screen, with its row menu if that is open,
 * into a PNG file.
 *
 * Returns: %TRUE if the file was written
 */
gboolean
tsr_window_write_screenshot (TsrWindow   *self,
                             const char  *path,
                             GError     **error)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  int width;
  int height;

  g_return_val_if_fail (TSR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  width = gtk_widget_get_width (GTK_WIDGET (self));
  height = gtk_widget_get_height (GTK_WIDGET (self));
  renderer = gtk_native_get_renderer (GTK_NATIVE (self));
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)) || renderer == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The window is not on screen, so there is nothing to render");
      return FALSE;
    }

  snapshot = gtk_snapshot_new ();
  paintable = gtk_widget_paintable_new (GTK_WIDGET (self));
  gdk_paintable_snapshot (paintable, snapshot, width, height);

  if (self->context_menu != NULL && gtk_widget_get_mapped (self->context_menu))
    {
      /* The popover's contents box: the popover widget itself clips away
       * part of its padding when painted on its own.
       */
      GtkWidget *contents = gtk_widget_get_first_child (self->context_menu);
      g_autoptr(GdkPaintable) menu = gtk_widget_paintable_new (contents);
      graphene_rect_t bounds;
      double x, y;

      if (popover_offset (self, self->context_menu, &x, &y) &&
          gtk_widget_compute_bounds (contents, self->context_menu, &bounds))
        {
          gtk_snapshot_save (snapshot);
          gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + bounds.origin.x,
                                                                  y + bounds.origin.y));
          gdk_paintable_snapshot (menu, snapshot, bounds.size.width, bounds.size.height);
          gtk_snapshot_restore (snapshot);
        }
    }

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
