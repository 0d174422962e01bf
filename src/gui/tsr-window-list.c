/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "tsr-vm-cell.h"
#include "tsr-window-private.h"

/* The VM list: its columns, sorting, filling, following the VMs' changes,
 * and finding the cell widgets of a row. The search is in
 * tsr-window-search.c.
 */

/* The columns, in the order of the .ui, with the GSettings key that shows them. */
static const struct {
  const char *field;
  gsize       offset;
} columns[] = {
  { "label",     G_STRUCT_OFFSET (TsrWindow, label_column) },
  { "name",      G_STRUCT_OFFSET (TsrWindow, name_column) },
  { "state",     G_STRUCT_OFFSET (TsrWindow, state_column) },
  { "class",     G_STRUCT_OFFSET (TsrWindow, class_column) },
  { "template",  G_STRUCT_OFFSET (TsrWindow, template_column) },
  { "virt-mode", G_STRUCT_OFFSET (TsrWindow, virt_mode_column) },
  { "network",   G_STRUCT_OFFSET (TsrWindow, network_column) },
  { "ip",        G_STRUCT_OFFSET (TsrWindow, ip_column) },
  { "netmask",   G_STRUCT_OFFSET (TsrWindow, netmask_column) },
  { "gateway",   G_STRUCT_OFFSET (TsrWindow, gateway_column) },
  { "mac",       G_STRUCT_OFFSET (TsrWindow, mac_column) },
};

/* Property changes that can move a row in the sorted list or in and out of
 * the search results.
 */
static const char * const listed_properties[] = {
  "name", "state-text", "label", "class", "template", "virt-mode", "netvm", "ip", "netmask",
  "gateway", "mac", NULL
};

GtkColumnViewColumn *
_tsr_window_get_column (TsrWindow  *self,
                        const char *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    if (g_strcmp0 (columns[i].field, field) == 0)
      return G_STRUCT_MEMBER (GtkColumnViewColumn *, self, columns[i].offset);

  return NULL;
}

/* Cells. The factories are GtkSignalListItemFactory rather than templates:
 * a GtkBuilderListItemFactory parses its template again for every cell,
 * and the list makes some two thousand cells when it fills.
 */

static const char *
field_of_factory (TsrWindow          *self,
                  GtkListItemFactory *factory)
{
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      GtkColumnViewColumn *column = G_STRUCT_MEMBER (GtkColumnViewColumn *, self, columns[i].offset);

      if (gtk_column_view_column_get_factory (column) == factory)
        return columns[i].field;
    }

  g_return_val_if_reached (NULL);
}

void
_tsr_window_cell_setup_cb (TsrWindow          *self,
                           GtkListItem        *item,
                           GtkListItemFactory *factory)
{
  g_assert (TSR_IS_WINDOW (self));

  gtk_list_item_set_child (item, tsr_vm_cell_new (field_of_factory (self, factory)));
  self->n_cells++;
}

/* The view binds a row again whenever its position changes, mostly with
 * the same VM: the cell then changes nothing. An unbound cell keeps its VM
 * until it is bound again or destroyed, which the view does right after.
 * Which VMs have cells tells the stable list which changes cost the view.
 */
void
_tsr_window_cell_bind_cb (TsrWindow          *self,
                          GtkListItem        *item,
                          GtkListItemFactory *factory)
{
  gpointer vm = gtk_list_item_get_item (item);
  TsrVmCell *cell = TSR_VM_CELL (gtk_list_item_get_child (item));

  tsr_vm_cell_set_connection (cell, self->connection);
  tsr_vm_cell_set_vm (cell, vm);
  g_hash_table_insert (self->bound_vms, vm,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (self->bound_vms, vm)) + 1));
}

void
_tsr_window_cell_unbind_cb (TsrWindow          *self,
                            GtkListItem        *item,
                            GtkListItemFactory *factory)
{
  gpointer vm = gtk_list_item_get_item (item);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->bound_vms, vm));

  if (n > 1)
    g_hash_table_insert (self->bound_vms, vm, GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (self->bound_vms, vm);
}

static gboolean
tsr_window_vm_is_shown_cb (gpointer item,
                           gpointer user_data)
{
  TsrWindow *self = user_data;

  return g_hash_table_contains (self->bound_vms, item);
}

/* Sorting */

static int
compare_nullable_strings (const char *a,
                          const char *b)
{
  /* Unknown values sort after every known one. */
  if (a == NULL || b == NULL)
    return (a == NULL) - (b == NULL);

  return strcmp (a, b);
}

/* Addresses compare as numbers, so 10.0.0.9 comes before 10.0.0.10. */
static int
compare_addresses (const char *a,
                   const char *b)
{
  guint8 bytes_a[16] = { 0 };
  guint8 bytes_b[16] = { 0 };
  int family_a;
  int family_b;

  if (a == NULL || b == NULL)
    return compare_nullable_strings (a, b);

  family_a = inet_pton (AF_INET, a, bytes_a) == 1 ? 4 : inet_pton (AF_INET6, a, bytes_a) == 1 ? 6 : 0;
  family_b = inet_pton (AF_INET, b, bytes_b) == 1 ? 4 : inet_pton (AF_INET6, b, bytes_b) == 1 ? 6 : 0;

  if (family_a != family_b || family_a == 0)
    return family_a != family_b ? family_a - family_b : strcmp (a, b);

  return memcmp (bytes_a, bytes_b, family_a == 4 ? 4 : 16);
}

static int
label_rank (const char *label)
{
  for (int i = 0; tsr_vm_labels[i] != NULL; i++)
    if (g_strcmp0 (tsr_vm_labels[i], label) == 0)
      return i;

  return G_MAXINT;
}

static int
tsr_window_compare_label_cb (gconstpointer a,
                             gconstpointer b,
                             gpointer      user_data)
{
  int rank_a = label_rank (tsr_vm_get_label ((TsrVm *) a));
  int rank_b = label_rank (tsr_vm_get_label ((TsrVm *) b));

  return gtk_ordering_from_cmpfunc ((rank_a > rank_b) - (rank_a < rank_b));
}

static int
tsr_window_compare_address_cb (gconstpointer a,
                               gconstpointer b,
                               gpointer      user_data)
{
  const char *field = user_data;
  g_autofree char *value_a = tsr_vm_dup_field_value ((TsrVm *) a, field);
  g_autofree char *value_b = tsr_vm_dup_field_value ((TsrVm *) b, field);

  return gtk_ordering_from_cmpfunc (compare_addresses (value_a, value_b));
}

static int
tsr_window_compare_mac_cb (gconstpointer a,
                           gconstpointer b,
                           gpointer      user_data)
{
  return gtk_ordering_from_cmpfunc (compare_nullable_strings (tsr_vm_get_mac ((TsrVm *) a),
                                                              tsr_vm_get_mac ((TsrVm *) b)));
}

static int
tsr_window_compare_template_cb (gconstpointer a,
                                gconstpointer b,
                                gpointer      user_data)
{
  return gtk_ordering_from_cmpfunc (compare_nullable_strings (tsr_vm_get_base_template ((TsrVm *) a),
                                                              tsr_vm_get_base_template ((TsrVm *) b)));
}

static void
set_custom_sorter (GtkColumnViewColumn *column,
                   GCompareDataFunc     func,
                   const char          *field)
{
  g_autoptr(GtkCustomSorter) sorter = gtk_custom_sorter_new (func, (gpointer) field, NULL);

  gtk_column_view_column_set_sorter (column, GTK_SORTER (sorter));
}

/* The column headers choose the order; rows that tie, and the list before
 * any header is clicked, go by name, so rows never swap places at random.
 */
static void
tsr_window_setup_sorter (TsrWindow *self)
{
  g_autoptr(GtkMultiSorter) sorter = gtk_multi_sorter_new ();
  GtkExpression *name = gtk_property_expression_new (TSR_TYPE_VM, NULL, "name");

  gtk_multi_sorter_append (sorter, g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  gtk_multi_sorter_append (sorter, GTK_SORTER (gtk_string_sorter_new (name)));
  gtk_sort_list_model_set_sorter (self->sort_model, GTK_SORTER (sorter));
}

/* Filling the list. When its model grows, GtkColumnView (GTK 4.8) makes
 * the widgets of up to some two hundred rows at once and lays them all out
 * in the next frame: for a connection with many VMs, one long stall before
 * anything moves. So a list that was empty gets its rows a few at a time,
 * through the slice model between the sorted list and the view, until the
 * view stops making row widgets; then the slice lets the whole list
 * through, which costs little, as the view makes no widgets for the rows
 * it would not show. The models the window works with, filtered and
 * sorted, are complete all along.
 *
 * Rows are made in an idle between frames and laid out in the next frame,
 * so the two halves of the work stall the main loop separately. (On X11,
 * GDK measures the whole window in a high-priority idle right after the
 * rows are made, so that half ends only when sources of default priority
 * run again.) How many rows fit depends on the machine, and every row the
 * view adds makes it measure all the others again: the batch follows what
 * the last round took.
 */

#define FILL_FIRST_ROWS 6
#define FILL_MAX_ROWS   32
/* A frame costs some 10 ms whatever the rows (more on a busy machine):
 * below this many rows a round, filling would take hundreds of frames.
 */
#define FILL_MIN_ROWS   4
#define FILL_BUDGET     (10 * G_TIME_SPAN_MILLISECOND)

static gboolean tsr_window_fill_idle_cb (gpointer user_data);

static gboolean
tsr_window_fill_made_cb (gpointer user_data)
{
  TsrWindow *self = user_data;

  self->fill_probe = 0;
  self->fill_make_time = g_get_monotonic_time () - self->fill_make_start;

  return G_SOURCE_REMOVE;
}

static void
tsr_window_fill_before_paint_cb (TsrWindow     *self,
                                 GdkFrameClock *clock)
{
  self->fill_frame_start = g_get_monotonic_time ();
}

static void
tsr_window_fill_after_paint_cb (TsrWindow     *self,
                                GdkFrameClock *clock)
{
  GTimeSpan spent;
  guint64 rows;

  /* Only a frame that laid out new rows says how costly they are. */
  if (!self->fill_pending_layout || self->fill_source != 0)
    return;

  /* Should the frame come first, the rows' stall lasted until now. */
  if (self->fill_probe != 0)
    {
      g_clear_handle_id (&self->fill_probe, g_source_remove);
      self->fill_make_time = g_get_monotonic_time () - self->fill_make_start;
    }

  spent = MAX (MAX (g_get_monotonic_time () - self->fill_frame_start, self->fill_make_time), 1);
  self->fill_pending_layout = FALSE;

  /* Much of the time goes into the rows already there, so a round over
   * budget halves the batch at most, and one under it grows it by half.
   */
  if (spent > FILL_BUDGET)
    rows = MAX ((guint64) self->fill_rows * FILL_BUDGET / spent, self->fill_rows / 2);
  else
    rows = self->fill_rows + MAX (self->fill_rows / 2, 1);
  self->fill_rows = CLAMP (rows, FILL_MIN_ROWS, FILL_MAX_ROWS);

  self->fill_source = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, tsr_window_fill_idle_cb, self, NULL);
}

static void
stop_filling (TsrWindow *self)
{
  g_clear_handle_id (&self->fill_source, g_source_remove);
  g_clear_handle_id (&self->fill_probe, g_source_remove);

  if (self->fill_clock != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->fill_clock, tsr_window_fill_before_paint_cb, self);
      g_signal_handlers_disconnect_by_func (self->fill_clock, tsr_window_fill_after_paint_cb, self);
    }
  g_clear_object (&self->fill_clock);
  self->fill_pending_layout = FALSE;
}

/**
 * _tsr_window_list_fill_now:
 * @self: a #TsrWindow
 *
 * Shows the whole list at once, where it is still filling.
 */
void
_tsr_window_list_fill_now (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  stop_filling (self);
  gtk_slice_list_model_set_size (self->slice_model, G_MAXUINT);
}

static gboolean
tsr_window_fill_idle_cb (gpointer user_data)
{
  TsrWindow *self = user_data;
  guint size = gtk_slice_list_model_get_size (self->slice_model);
  guint n_cells = self->n_cells;

  self->fill_source = 0;
  self->fill_make_start = g_get_monotonic_time ();
  self->fill_probe = g_idle_add_full (G_PRIORITY_DEFAULT, tsr_window_fill_made_cb, self, NULL);

  gtk_slice_list_model_set_size (self->slice_model, size + self->fill_rows);
  self->fill_pending_layout = TRUE;

  /* Rows that came without cells: the view has all the row widgets it keeps. */
  if (self->n_cells == n_cells ||
      size + self->fill_rows >= g_list_model_get_n_items (G_LIST_MODEL (self->stable_model)))
    _tsr_window_list_fill_now (self);

  return G_SOURCE_REMOVE;
}

/* Called before the filter model hears of @added new VMs: the view
 * then gets only the first rows at once. That holds for a list that
 * shows only a few rows too (a burst of VMs defined after most were
 * removed): the view has not made its rows yet.
 */
static void
start_filling (TsrWindow *self,
               guint      added)
{
  GdkFrameClock *clock;
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->stable_model));

  if (self->fill_clock != NULL ||
      added <= FILL_FIRST_ROWS ||
      shown > FILL_MAX_ROWS ||
      (clock = gtk_widget_get_frame_clock (GTK_WIDGET (self))) == NULL)
    return;

  self->fill_clock = g_object_ref (clock);
  g_signal_connect_object (clock, "before-paint",
                           G_CALLBACK (tsr_window_fill_before_paint_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (clock, "after-paint",
                           G_CALLBACK (tsr_window_fill_after_paint_cb),
                           self, G_CONNECT_SWAPPED);

  self->fill_rows = FILL_FIRST_ROWS;
  self->fill_make_time = 0;
  self->fill_pending_layout = TRUE;
  gtk_slice_list_model_set_size (self->slice_model, shown + FILL_FIRST_ROWS);
}

/* Watching the VMs: GtkSortListModel and GtkFilterListModel only look at an
 * item when it is added, so a VM whose state or address changes is sorted
 * and matched again here.
 */

/* Sorting again costs a pass over the whole list, and so does the view's
 * answer to it: in a storm of changes (a thousand VMs starting) the list
 * is sorted again at most this often, and the first change after a quiet
 * spell at once.
 */
#define RESORT_INTERVAL (250 * G_TIME_SPAN_MILLISECOND)

static gboolean
tsr_window_resort_cb (gpointer user_data)
{
  TsrWindow *self = user_data;
  self->resort_source = 0;
  self->last_resort = g_get_monotonic_time ();

  gtk_sorter_changed (gtk_sort_list_model_get_sorter (self->sort_model), GTK_SORTER_CHANGE_DIFFERENT);
  _tsr_window_search_refilter (self);

  return G_SOURCE_REMOVE;
}

static void
tsr_window_watched_vm_notify_cb (TsrWindow  *self,
                                 GParamSpec *pspec,
                                 TsrVm      *vm)
{
  gint64 wait;

  g_assert (TSR_IS_WINDOW (self));

  if (self->resort_source != 0 ||
      !g_strv_contains ((const char * const *) listed_properties, pspec->name))
    return;

  wait = self->last_resort + RESORT_INTERVAL - g_get_monotonic_time ();
  if (wait <= 0)
    self->resort_source = g_idle_add (tsr_window_resort_cb, self);
  else
    self->resort_source = g_timeout_add ((guint) (wait / 1000) + 1, tsr_window_resort_cb, self);
}

static gboolean
unwatch_vm_cb (gpointer key,
               gpointer value,
               gpointer user_data)
{
  g_signal_handlers_disconnect_by_func (key, tsr_window_watched_vm_notify_cb, user_data);
  return TRUE;
}

static void
unwatch_all (TsrWindow *self)
{
  if (self->watched_vms != NULL)
    g_hash_table_foreach_remove (self->watched_vms, unwatch_vm_cb, self);
}

/**
 * _tsr_window_list_stop:
 * @self: a #TsrWindow
 *
 * Stops following the VMs of the connection that goes away.
 */
void
_tsr_window_list_stop (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  g_clear_handle_id (&self->unwatch_source, g_source_remove);
  self->unwatch_model = NULL;
  unwatch_all (self);
  stop_filling (self);
}

static gboolean
tsr_window_unwatch_gone_cb (gpointer user_data)
{
  TsrWindow *self = user_data;
  GListModel *model = self->unwatch_model;
  g_autoptr(GHashTable) present = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key;

  self->unwatch_source = 0;
  self->unwatch_model = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);
      g_hash_table_add (present, vm);
    }

  g_hash_table_iter_init (&iter, self->watched_vms);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (present, key))
      {
        g_signal_handlers_disconnect_by_func (key, tsr_window_watched_vm_notify_cb, self);
        g_hash_table_iter_remove (&iter);
      }

  return G_SOURCE_REMOVE;
}

static void
tsr_window_vms_items_changed_cb (TsrWindow  *self,
                                 guint       position,
                                 guint       removed,
                                 guint       added,
                                 GListModel *model)
{
  g_assert (TSR_IS_WINDOW (self));

  start_filling (self, added);

  /* Which VMs left is known only by looking at all of them: once for all
   * the changes of a burst.
   */
  if (removed > 0 && self->unwatch_source == 0)
    {
      self->unwatch_model = model;
      self->unwatch_source = g_idle_add (tsr_window_unwatch_gone_cb, self);
    }

  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      if (g_hash_table_contains (self->watched_vms, vm))
        continue;

      /* Not g_signal_connect_object: that keeps a list of closures on the
       * window, searched on every disconnect, so a storm of thousands of
       * VMs going away would cost the square of their number. Every VM is
       * unwatched before the window goes (_tsr_window_list_stop).
       */
      g_signal_connect_swapped (vm, "notify", G_CALLBACK (tsr_window_watched_vm_notify_cb), self);
      g_hash_table_add (self->watched_vms, g_object_ref (vm));
    }
}

/* Finding the cell widgets of a row */

static TsrVmCell *
find_cell_in (GtkWidget  *widget,
              TsrVm      *vm,
              const char *field)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      TsrVmCell *found;

      if (TSR_IS_VM_CELL (child))
        {
          TsrVmCell *cell = TSR_VM_CELL (child);

          if (tsr_vm_cell_get_vm (cell) == vm &&
              (field == NULL || g_strcmp0 (tsr_vm_cell_get_field (cell), field) == 0))
            return cell;
          continue;
        }

      if ((found = find_cell_in (child, vm, field)))
        return found;
    }

  return NULL;
}

TsrVmCell *
_tsr_window_find_cell (TsrWindow  *self,
                       TsrVm      *vm,
                       const char *field)
{
  g_assert (TSR_IS_WINDOW (self));

  if (vm == NULL)
    return NULL;

  return find_cell_in (GTK_WIDGET (self->column_view), vm, field);
}

/**
 * _tsr_window_list_init:
 * @self: a #TsrWindow
 *
 * Sets up sorting, filtering and the columns' visibility, which follows the
 * show-column-* keys.
 */
void
_tsr_window_list_init (TsrWindow *self)
{
  g_assert (TSR_IS_WINDOW (self));

  self->bound_vms = g_hash_table_new (NULL, NULL);
  tsr_stable_list_set_shown_func (self->stable_model, tsr_window_vm_is_shown_cb, self);
  _tsr_window_search_init (self);
  tsr_window_setup_sorter (self);

  set_custom_sorter (self->label_column, tsr_window_compare_label_cb, "label");
  set_custom_sorter (self->ip_column, tsr_window_compare_address_cb, "ip");
  set_custom_sorter (self->netmask_column, tsr_window_compare_address_cb, "netmask");
  set_custom_sorter (self->gateway_column, tsr_window_compare_address_cb, "gateway");
  set_custom_sorter (self->mac_column, tsr_window_compare_mac_cb, "mac");
  set_custom_sorter (self->template_column, tsr_window_compare_template_cb, "template");

  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      g_autofree char *key = g_strdup_printf ("show-column-%s", columns[i].field);

      g_settings_bind (self->settings, key,
                       G_STRUCT_MEMBER (GtkColumnViewColumn *, self, columns[i].offset), "visible",
                       G_SETTINGS_BIND_GET);
    }
}

/**
 * _tsr_window_list_show:
 * @self: a #TsrWindow
 * @vms: the connection's VMs
 *
 * Lists @vms, and follows their changes.
 */
void
_tsr_window_list_show (TsrWindow  *self,
                       GListModel *vms)
{
  g_assert (TSR_IS_WINDOW (self));
  g_assert (G_IS_LIST_MODEL (vms));

  _tsr_window_list_stop (self);
  g_signal_connect_object (vms, "items-changed",
                           G_CALLBACK (tsr_window_vms_items_changed_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_filter_list_model_set_model (self->filter_model, NULL);
  tsr_stable_list_sync_now (self->stable_model);
  gtk_slice_list_model_set_size (self->slice_model, G_MAXUINT);
  tsr_window_vms_items_changed_cb (self, 0, 0, g_list_model_get_n_items (vms), vms);
  gtk_filter_list_model_set_model (self->filter_model, vms);
}

/**
 * tsr_window_select_vm:
 * @self: a #TsrWindow
 * @vm: a VM of the window's connection
 *
 * Selects @vm in the list, as a click on its row would.
 *
 * Returns: %TRUE if the list shows @vm (the search may hide it)
 */
gboolean
tsr_window_select_vm (TsrWindow *self,
                      TsrVm     *vm)
{
  GListModel *model;

  g_return_val_if_fail (TSR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (TSR_IS_VM (vm), FALSE);

  model = G_LIST_MODEL (self->stable_model);
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
