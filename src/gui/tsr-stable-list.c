/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tsr-stable-list.h"

/* TsrStableList passes its model's items through, in the same order, and
 * announces only what really changed, spread over frames.
 *
 * GTK 4.8's GtkSortListModel announces any sorting again as a change of
 * the whole list, and GtkColumnView answers every change by binding again
 * each row it keeps after the change (some two hundred rows of ten cells,
 * about 10 ms here) and by destroying or making the widgets of the rows
 * that leave or come among them. So this model keeps a copy of the items
 * as it last announced them, compares it with the model's in O(n) with
 * hash lookups, and announces the runs of rows that left or came, the
 * lowest first: those below every row the view shows cost it nothing and
 * go at once, the others a few rows at a time, as many as fit in half a
 * frame, the rest in the next main-loop rounds. Rows that changed their
 * order (a new sort column) are one change, as they must be.
 */

/* Main-loop time one round of announcing may take, once it announced a
 * change that costs the view.
 */
#define STEP_BUDGET (8 * G_TIME_SPAN_MILLISECOND)

/* How many rows with widgets leave, or rows come, in one change. Each
 * costs the view a row destroyed and one made (one to two milliseconds
 * here), and every change binds again all the rows after it whatever its
 * size (about ten): the chunk follows what the last change took, aiming at
 * changes of about CHUNK_TARGET.
 */
#define MIN_CHUNK    4
#define FIRST_CHUNK  8
#define MAX_CHUNK    32
#define CHUNK_TARGET (16 * G_TIME_SPAN_MILLISECOND)

/* Below the core's idles, so that a round of this does not add to theirs
 * in one main-loop iteration.
 */
#define SYNC_PRIORITY (G_PRIORITY_DEFAULT_IDLE + 10)

/* Without a view to ask, runs past this many are announced as one change. */
#define MAX_RUNS 8

struct _TsrStableList
{
  GObject                 parent_instance;

  GListModel             *model;
  GPtrArray              *target;   /* the model's items, reffed */
  GPtrArray              *items;    /* as announced so far, reffed */
  guint                   sync_source;
  guint                   chunk;
  TsrStableListShownFunc  shown_func;
  gpointer                shown_data;
};

enum {
  PROP_0,
  PROP_MODEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
tsr_stable_list_get_item_type (GListModel *list)
{
  TsrStableList *self = TSR_STABLE_LIST (list);

  return self->model != NULL ? g_list_model_get_item_type (self->model) : G_TYPE_OBJECT;
}

static guint
tsr_stable_list_get_n_items (GListModel *list)
{
  return TSR_STABLE_LIST (list)->items->len;
}

static gpointer
tsr_stable_list_get_item (GListModel *list,
                          guint       position)
{
  TsrStableList *self = TSR_STABLE_LIST (list);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
tsr_stable_list_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = tsr_stable_list_get_item_type;
  iface->get_n_items = tsr_stable_list_get_n_items;
  iface->get_item = tsr_stable_list_get_item;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TsrStableList, tsr_stable_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, tsr_stable_list_list_model_init))

/* Replaces ARRAY[POSITION..POSITION+REMOVED) with ADDED[0..N_ADDED),
 * reffed.
 */
static void
splice (GPtrArray *array,
        guint      position,
        guint      removed,
        gpointer  *added,
        guint      n_added)
{
  guint len;

  g_ptr_array_remove_range (array, position, removed);
  len = array->len;
  g_ptr_array_set_size (array, len + n_added);
  memmove (array->pdata + position + n_added, array->pdata + position,
           (len - position) * sizeof (gpointer));
  for (guint i = 0; i < n_added; i++)
    array->pdata[position + i] = g_object_ref (added[i]);
}

static void
announce (TsrStableList *self,
          guint          position,
          guint          removed,
          gpointer      *added,
          guint          n_added)
{
  splice (self->items, position, removed, added, n_added);
  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, n_added);
}

/* One difference: at POSITION of the announced items (as they were before
 * any run), REMOVED rows leave and target rows FROM..FROM+ADDED come.
 */
typedef struct
{
  guint position;
  guint removed;
  guint from;
  guint added;
} Run;

static void
add_run (GArray *runs,
         guint   position,
         guint   removed,
         guint   from,
         guint   added)
{
  Run *last = runs->len > 0 ? &g_array_index (runs, Run, runs->len - 1) : NULL;

  /* Rows leaving and rows coming at the same place are one change. */
  if (last != NULL && last->position + last->removed == position &&
      last->from + last->added == from)
    {
      last->removed += removed;
      last->added += added;
      return;
    }
  g_array_append_val (runs, ((Run) { position, removed, from, added }));
}

/* The runs that turn the announced items into the target between HEAD
 * and the common TAIL; FALSE when rows that stay changed their order.
 */
static gboolean
find_runs (TsrStableList *self,
           guint          head,
           guint          tail,
           GArray        *runs)
{
  gpointer *old = self->items->pdata, *fresh = self->target->pdata;
  guint n_old = self->items->len - tail, n_fresh = self->target->len - tail;
  g_autoptr(GHashTable) in_old = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) in_fresh = g_hash_table_new (NULL, NULL);
  guint i = head, j = head;

  for (guint k = head; k < n_old; k++)
    g_hash_table_add (in_old, old[k]);
  for (guint k = head; k < n_fresh; k++)
    g_hash_table_add (in_fresh, fresh[k]);

  while (i < n_old || j < n_fresh)
    {
      guint start;

      if (i < n_old && j < n_fresh && old[i] == fresh[j])
        {
          i++, j++;
          continue;
        }
      if (i < n_old && !g_hash_table_contains (in_fresh, old[i]))
        {
          for (start = i; i < n_old && !g_hash_table_contains (in_fresh, old[i]); i++);
          add_run (runs, start, i - start, j, 0);
          continue;
        }
      if (j < n_fresh && !g_hash_table_contains (in_old, fresh[j]))
        {
          for (start = j; j < n_fresh && !g_hash_table_contains (in_old, fresh[j]); j++);
          add_run (runs, i, 0, start, j - start);
          continue;
        }
      return FALSE;
    }

  return TRUE;
}

static gboolean
is_shown (TsrStableList *self,
          gpointer       item)
{
  return self->shown_func (item, self->shown_data);
}

/* The position of the last row the view shows; -1 for none. */
static gint
last_shown (TsrStableList *self)
{
  for (guint i = self->items->len; i > 0; i--)
    if (is_shown (self, self->items->pdata[i - 1]))
      return (gint) i - 1;
  return -1;
}

/* A change that costs the view: the next chunk follows what it took. */
static void
announce_costly (TsrStableList *self,
                 guint          position,
                 guint          removed,
                 gpointer      *added,
                 guint          n_added)
{
  gint64 start = g_get_monotonic_time ();
  GTimeSpan spent;

  announce (self, position, removed, added, n_added);
  spent = g_get_monotonic_time () - start;
  if (spent < CHUNK_TARGET / 2)
    self->chunk = MIN (self->chunk + MIN_CHUNK, MAX_CHUNK);
  else if (spent > CHUNK_TARGET * 3 / 2)
    self->chunk = MAX (self->chunk / 2, MIN_CHUNK);
}

/* What RUN costs the view: rows with widgets that leave, and rows that come. */
static guint
run_weight (TsrStableList *self,
            const Run     *run)
{
  guint weight = run->added;

  for (guint i = run->position; i < run->position + run->removed; i++)
    weight += is_shown (self, self->items->pdata[i]);
  return weight;
}

/* Announces RUN, all of it, or as much as the budget allows from its end;
 * FALSE when the round should stop. *SHOWN is the last row with a widget.
 */
static gboolean
announce_run (TsrStableList *self,
              Run           *run,
              gint64         start,
              gint          *shown,
              gboolean      *costly)
{
  gpointer *fresh = self->target->pdata;

  while (run->removed > 0 || run->added > 0)
    {
      guint end = run->position + run->removed;
      guint k = 0, n_shown = 0;

      /* Below every row with a widget: free for the view. */
      if ((gint) run->position > *shown)
        {
          announce (self, run->position, run->removed, fresh + run->from, run->added);
          run->removed = run->added = 0;
          break;
        }
      if ((gint) end - 1 > *shown && run->removed > 0)
        {
          k = MIN (end - 1 - *shown, run->removed);
          announce (self, end - k, k, NULL, 0);
          run->removed -= k;
          continue;
        }

      if (*costly && (start == 0 || g_get_monotonic_time () - start > STEP_BUDGET / 2))
        return FALSE;
      *costly = TRUE;

      if (run->removed > 0)
        {
          /* From the end, until a chunk of the rows have widgets. */
          while (k < run->removed && n_shown < self->chunk)
            n_shown += is_shown (self, self->items->pdata[end - 1 - k++]);
          announce_costly (self, end - k, k, NULL, 0);
          run->removed -= k;
        }
      else
        {
          k = MIN (run->added, self->chunk);
          announce_costly (self, run->position, 0, fresh + run->from + run->added - k, k);
          run->added -= k;
        }
      /* The view made or dropped rows. */
      *shown = last_shown (self);
    }

  return start == 0 || g_get_monotonic_time () - start < STEP_BUDGET;
}

/* One round: TRUE once the announced items are the model's. Without
 * ALLOW_COSTLY, only what costs the view nothing.
 */
static gboolean
sync_step (TsrStableList *self,
           gboolean       allow_costly)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GArray) runs = g_array_new (FALSE, FALSE, sizeof (Run));
  guint head = 0, tail = 0, n_old = self->items->len, n_fresh = self->target->len;
  gboolean costly = !allow_costly;
  gint shown;

  while (head < n_old && head < n_fresh &&
         self->items->pdata[head] == self->target->pdata[head])
    head++;
  if (head == n_old && head == n_fresh)
    return TRUE;
  while (tail < n_old - head && tail < n_fresh - head &&
         self->items->pdata[n_old - 1 - tail] == self->target->pdata[n_fresh - 1 - tail])
    tail++;

  if (!find_runs (self, head, tail, runs) ||
      (self->shown_func == NULL && runs->len > MAX_RUNS))
    {
      announce (self, head, n_old - head - tail, self->target->pdata + head, n_fresh - head - tail);
      return TRUE;
    }

  /* The lowest first: announcing a run leaves the positions above it. */
  shown = self->shown_func != NULL ? last_shown (self) : -1;
  if (!allow_costly)
    start = 0;
  for (guint r = runs->len; r > 0;)
    {
      Run *run = &g_array_index (runs, Run, r - 1);
      guint first = r - 1, weight;

      if (self->shown_func == NULL)
        {
          announce (self, run->position, run->removed, self->target->pdata + run->from, run->added);
          r--;
          continue;
        }

      /* Small runs among the shown rows (every other VM gone) go together
       * as one change over them all: the view keeps the widgets of the
       * rows in between, and binds the rows after them again only once.
       */
      weight = run_weight (self, run);
      if ((gint) run->position <= shown && weight <= self->chunk)
        {
          Run *top;

          while (first > 0 && weight + run_weight (self, &g_array_index (runs, Run, first - 1)) <= self->chunk)
            weight += run_weight (self, &g_array_index (runs, Run, --first));
          if (first < r - 1)
            {
              if (costly && (!allow_costly || g_get_monotonic_time () - start > STEP_BUDGET / 2))
                return FALSE;
              costly = TRUE;
              top = &g_array_index (runs, Run, first);
              announce_costly (self, top->position, run->position + run->removed - top->position,
                               self->target->pdata + top->from, run->from + run->added - top->from);
              shown = last_shown (self);
              r = first;
              continue;
            }
        }

      if (!announce_run (self, run, start, &shown, &costly))
        return FALSE;
      r--;
    }

  return self->items->len == self->target->len &&
         memcmp (self->items->pdata, self->target->pdata, n_fresh * sizeof (gpointer)) == 0;
}

static gboolean
sync_cb (gpointer user_data)
{
  TsrStableList *self = user_data;
  if (!sync_step (self, TRUE))
    return G_SOURCE_CONTINUE;
  self->sync_source = 0;
  return G_SOURCE_REMOVE;
}

static void
tsr_stable_list_model_items_changed_cb (TsrStableList *self,
                                        guint          position,
                                        guint          removed,
                                        guint          added,
                                        GListModel    *model)
{
  g_autoptr(GPtrArray) fresh = g_ptr_array_new_full (added, g_object_unref);

  g_return_if_fail (position + removed <= self->target->len);

  for (guint i = 0; i < added; i++)
    g_ptr_array_add (fresh, g_list_model_get_item (model, position + i));
  splice (self->target, position, removed, fresh->pdata, fresh->len);

  /* What costs the view nothing at once, and all of it where the view has
   * only a few rows; the rest between frames, not added to the time the
   * model that changed already took.
   */
  if (self->sync_source == 0 &&
      !sync_step (self, self->shown_func == NULL || last_shown (self) < 2 * FIRST_CHUNK))
    self->sync_source = g_idle_add_full (SYNC_PRIORITY, sync_cb, self, NULL);
}

/**
 * tsr_stable_list_is_synced:
 * @self: a #TsrStableList
 *
 * Returns: whether @self announced all of its model's changes
 */
gboolean
tsr_stable_list_is_synced (TsrStableList *self)
{
  g_return_val_if_fail (TSR_IS_STABLE_LIST (self), FALSE);

  return self->sync_source == 0;
}

/**
 * tsr_stable_list_sync_now:
 * @self: a #TsrStableList
 *
 * Announces at once, as one change, what still waits: for a list that
 * changes as a whole (another connection's).
 */
void
tsr_stable_list_sync_now (TsrStableList *self)
{
  guint head = 0, tail = 0, n_old, n_fresh;

  g_return_if_fail (TSR_IS_STABLE_LIST (self));

  g_clear_handle_id (&self->sync_source, g_source_remove);
  n_old = self->items->len;
  n_fresh = self->target->len;
  while (head < n_old && head < n_fresh &&
         self->items->pdata[head] == self->target->pdata[head])
    head++;
  if (head == n_old && head == n_fresh)
    return;
  while (tail < n_old - head && tail < n_fresh - head &&
         self->items->pdata[n_old - 1 - tail] == self->target->pdata[n_fresh - 1 - tail])
    tail++;
  announce (self, head, n_old - head - tail, self->target->pdata + head, n_fresh - head - tail);
}

void
tsr_stable_list_set_shown_func (TsrStableList          *self,
                                TsrStableListShownFunc  func,
                                gpointer                user_data)
{
  g_return_if_fail (TSR_IS_STABLE_LIST (self));

  self->shown_func = func;
  self->shown_data = user_data;
}

static void
tsr_stable_list_dispose (GObject *object)
{
  TsrStableList *self = (TsrStableList *) object;

  g_clear_handle_id (&self->sync_source, g_source_remove);
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_func (self->model, tsr_stable_list_model_items_changed_cb, self);
  g_clear_object (&self->model);
  self->shown_func = NULL;
  if (self->items != NULL)
    g_ptr_array_set_size (self->items, 0);
  if (self->target != NULL)
    g_ptr_array_set_size (self->target, 0);

  G_OBJECT_CLASS (tsr_stable_list_parent_class)->dispose (object);
}

static void
tsr_stable_list_finalize (GObject *object)
{
  TsrStableList *self = (TsrStableList *) object;

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->target, g_ptr_array_unref);

  G_OBJECT_CLASS (tsr_stable_list_parent_class)->finalize (object);
}

static void
tsr_stable_list_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TsrStableList *self = TSR_STABLE_LIST (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_stable_list_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TsrStableList *self = TSR_STABLE_LIST (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      tsr_stable_list_set_model (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_stable_list_class_init (TsrStableListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tsr_stable_list_dispose;
  object_class->finalize = tsr_stable_list_finalize;
  object_class->get_property = tsr_stable_list_get_property;
  object_class->set_property = tsr_stable_list_set_property;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_stable_list_init (TsrStableList *self)
{
  self->chunk = FIRST_CHUNK;
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->target = g_ptr_array_new_with_free_func (g_object_unref);
}

TsrStableList *
tsr_stable_list_new (GListModel *model)
{
  g_return_val_if_fail (model == NULL || G_IS_LIST_MODEL (model), NULL);

  return g_object_new (TSR_TYPE_STABLE_LIST, "model", model, NULL);
}

GListModel *
tsr_stable_list_get_model (TsrStableList *self)
{
  g_return_val_if_fail (TSR_IS_STABLE_LIST (self), NULL);

  return self->model;
}

/**
 * tsr_stable_list_set_model:
 * @self: a #TsrStableList
 * @model: (nullable): the model to follow
 *
 * Follows @model; its items are announced at once, as one change.
 */
void
tsr_stable_list_set_model (TsrStableList *self,
                           GListModel    *model)
{
  guint removed, n;

  g_return_if_fail (TSR_IS_STABLE_LIST (self));
  g_return_if_fail (model == NULL || G_IS_LIST_MODEL (model));

  if (self->model == model)
    return;

  if (self->model != NULL)
    g_signal_handlers_disconnect_by_func (self->model, tsr_stable_list_model_items_changed_cb, self);
  g_clear_handle_id (&self->sync_source, g_source_remove);
  g_set_object (&self->model, model);

  removed = self->items->len;
  g_ptr_array_set_size (self->items, 0);
  g_ptr_array_set_size (self->target, 0);
  n = model != NULL ? g_list_model_get_n_items (model) : 0;
  for (guint i = 0; i < n; i++)
    {
      gpointer item = g_list_model_get_item (model, i);

      g_ptr_array_add (self->target, g_object_ref (item));
      g_ptr_array_add (self->items, item);
    }
  if (model != NULL)
    g_signal_connect_swapped (model, "items-changed",
                              G_CALLBACK (tsr_stable_list_model_items_changed_cb), self);

  if (removed > 0 || n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, n);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}
