/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-connection-private.h"
#include "tsr-vm-private.h"

/* TsrConnection in event storms. A script or virsh batch undefining,
 * defining or starting thousands of VMs sends thousands of events in a
 * few seconds. Applied one by one, each would be one change of the list,
 * and every change costs the window's sorted and filtered models and the
 * view a pass over the whole list: a freeze that grows with the square of
 * the number of VMs. So what the events change waits here and is applied
 * at most once a frame: all the VMs that went away leave the list in one
 * splice per run of neighbouring rows (or one rewrite of the list when
 * they are scattered), and a network is read once however many of its VMs
 * started.
 */

/* Past this many separate runs of rows to remove, the list is rewritten
 * in one splice instead: every change costs the models above a pass.
 */
#define MAX_SPLICES 8

static gboolean
flush_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  g_autoptr(GHashTable) removals = NULL;
  g_autoptr(GHashTable) networks = NULL;
  GHashTableIter iter;
  gpointer key;

  self->flush_source = 0;
  self->last_flush = g_get_monotonic_time ();

  /* Taken first: what the list's listeners do may queue more. */
  removals = g_steal_pointer (&self->pending_removals);
  self->pending_removals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  networks = g_steal_pointer (&self->pending_networks);
  self->pending_networks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  _tsr_connection_remove_vms (self, removals);

  g_hash_table_iter_init (&iter, networks);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    _tsr_connection_refresh_network (self, key, 0);

  return G_SOURCE_REMOVE;
}

static void
schedule_flush (TsrConnection *self)
{
  gint64 wait;

  if (self->flush_source != 0)
    return;

  /* The first event after a quiet spell is applied at once. */
  wait = self->last_flush + TSR_FLUSH_INTERVAL - g_get_monotonic_time ();
  if (wait <= 0)
    self->flush_source = g_idle_add (flush_cb, self);
  else
    self->flush_source = g_timeout_add ((guint) (wait / 1000) + 1, flush_cb, self);
}

/* The domain UUID is gone: its row leaves with the next flush. */
void
_tsr_connection_queue_removal (TsrConnection *self,
                               const char    *uuid)
{
  g_hash_table_add (self->pending_removals, g_strdup (uuid));
  g_hash_table_remove (self->pending_refresh, uuid);
  schedule_flush (self);
}

/* An event about UUID after its removal was queued: it is back. */
void
_tsr_connection_unqueue_removal (TsrConnection *self,
                                 const char    *uuid)
{
  g_hash_table_remove (self->pending_removals, uuid);
}

/* A VM on network NAME started: its lease table is read with the next
 * flush, once for all the VMs that started meanwhile.
 */
void
_tsr_connection_queue_network_refresh (TsrConnection *self,
                                       const char    *name)
{
  if (name == NULL || g_strcmp0 (name, "none") == 0)
    return;
  g_hash_table_add (self->pending_networks, g_strdup (name));
  schedule_flush (self);
}

/* Whatever waits is moot: a close drops it, a load reconciles everything. */
void
_tsr_connection_cancel_flush (TsrConnection *self)
{
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_hash_table_remove_all (self->pending_removals);
  g_hash_table_remove_all (self->pending_networks);
}

typedef struct
{
  guint position;
  guint n;
} Run;

/* Removes the rows of GONE (TsrVm set) from the list: one splice per run
 * of neighbouring rows, from the last so that positions hold, or one
 * rewrite when there are many runs.
 */
static void
remove_rows (TsrConnection *self,
             GHashTable    *gone)
{
  GListModel *model = G_LIST_MODEL (self->vms);
  guint n = g_list_model_get_n_items (model);
  g_autoptr(GArray) runs = g_array_new (FALSE, FALSE, sizeof (Run));
  g_autoptr(GPtrArray) kept = g_ptr_array_new_full (n, g_object_unref);

  for (guint i = 0; i < n; i++)
    {
      TsrVm *vm = g_list_model_get_item (model, i);

      if (!g_hash_table_contains (gone, vm))
        {
          g_ptr_array_add (kept, vm);
          continue;
        }
      g_object_unref (vm);
      if (runs->len > 0 &&
          g_array_index (runs, Run, runs->len - 1).position + g_array_index (runs, Run, runs->len - 1).n == i)
        g_array_index (runs, Run, runs->len - 1).n++;
      else
        g_array_append_val (runs, ((Run) { i, 1 }));
    }

  if (runs->len > MAX_SPLICES)
    {
      g_list_store_splice (self->vms, 0, n, kept->pdata, kept->len);
      return;
    }

  for (guint r = runs->len; r > 0; r--)
    {
      const Run *run = &g_array_index (runs, Run, r - 1);

      g_list_store_splice (self->vms, run->position, run->n, NULL, 0);
    }
}

/* Forgets the domains whose uuids are the keys of UUIDS, and removes their
 * rows from the list in as few changes as it can.
 */
void
_tsr_connection_remove_vms (TsrConnection *self,
                            GHashTable    *uuids)
{
  g_autoptr(GHashTable) gone = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, uuids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      TsrVm *vm = g_hash_table_lookup (self->by_uuid, key);

      if (vm != NULL)
        g_hash_table_add (gone, vm);
      if (vm != NULL && tsr_network_name_is_managed (tsr_vm_get_netvm (vm)))
        _tsr_connection_schedule_orphan_sweep (self);
      g_hash_table_remove (self->domains, key);
      g_hash_table_remove (self->agent_ips, key);
      g_hash_table_remove (self->generation, key);
      g_hash_table_remove (self->by_uuid, key);
    }

  if (g_hash_table_size (gone) > 0)
    remove_rows (self, gone);
}
