/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"

/* TsrConnection's loading: everything the list needs, fetched in one
 * worker, then reconciled with the rows already shown.
 */

/* How many threads fetch domain XML in parallel while loading. The remote
 * driver multiplexes calls on one socket and libvirtd answers them with its
 * worker pool, so a few callers in flight beat one caller in a loop.
 */
#define LOAD_THREADS 4

typedef struct
{
  virConnectPtr  conn;
  TsrEventCtx   *ctx;
  gboolean       register_events;
  int            lifecycle_id;
  int            network_id;
  DomainResult  *results;
  gsize          n_results;
  gint           next;
  GPtrArray     *networks;     /* of TsrNetworkInfo */
  char          *kernels_dir;
  GHashTable    *known;        /* uuids already in the list */
  guint          events_before; /* the connection's event count at the start */
  /* Applying the results, a few milliseconds at a time */
  gsize          applied;
  GHashTable    *seen;         /* uuids the load found */
} LoadData;


void
_tsr_domain_result_clear (DomainResult *r)
{
  g_clear_pointer (&r->dom, dom_unref);
  g_clear_pointer (&r->config, tsr_vm_config_free);
  g_clear_pointer (&r->agent_ip, g_free);
  g_clear_object (&r->vm);
}

static void
load_data_free (LoadData *data)
{
  for (gsize i = 0; i < data->n_results; i++)
    _tsr_domain_result_clear (&data->results[i]);
  g_free (data->results);
  g_clear_pointer (&data->networks, g_ptr_array_unref);
  g_clear_pointer (&data->ctx, _tsr_event_ctx_unref);
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_free (data->kernels_dir);
  g_clear_pointer (&data->known, g_hash_table_unref);
  g_clear_pointer (&data->seen, g_hash_table_unref);
  g_free (data);
}

static gpointer
load_domains_thread (gpointer user_data)
{
  LoadData *data = user_data;
  gint i;

  tsr_assert_worker_thread ();
  while ((i = g_atomic_int_add (&data->next, 1)) < (gint) data->n_results)
    {
      DomainResult *r = &data->results[i];
      g_autofree char *xml = virDomainGetXMLDesc (r->dom, 0);

      if (xml != NULL)
        r->config = tsr_vm_config_parse (xml, data->kernels_dir, NULL);
      if (r->state != TSR_VM_STATE_SHUTOFF)
        {
          int state, reason;

          if (virDomainGetState (r->dom, &state, &reason, 0) == 0)
            r->state = _tsr_vm_state_from_libvirt (state);
        }
    }

  return NULL;
}

/* The results: active domains first, then the others. */
static gboolean
list_domains (LoadData *data)
{
  virDomainPtr *active = NULL, *inactive = NULL;
  int n_active, n_inactive;

  n_active = virConnectListAllDomains (data->conn, &active, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  if (n_active < 0)
    return FALSE;
  n_inactive = virConnectListAllDomains (data->conn, &inactive, VIR_CONNECT_LIST_DOMAINS_INACTIVE);
  if (n_inactive < 0)
    {
      for (int i = 0; i < n_active; i++)
        virDomainFree (active[i]);
      free (active);
      return FALSE;
    }

  data->n_results = n_active + n_inactive;
  data->results = g_new0 (DomainResult, data->n_results);
  for (int i = 0; i < n_active; i++)
    {
      data->results[i].dom = active[i];
      data->results[i].state = TSR_VM_STATE_RUNNING;
    }
  for (int i = 0; i < n_inactive; i++)
    {
      data->results[n_active + i].dom = inactive[i];
      data->results[n_active + i].state = TSR_VM_STATE_SHUTOFF;
    }
  free (active);
  free (inactive);
  return TRUE;
}

static void
load_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  virNetworkPtr *nets = NULL;
  GThread *threads[LOAD_THREADS];
  int n_nets;

  tsr_assert_worker_thread ();
  if (data->register_events)
    _tsr_connection_register_events (data->conn, data->ctx,
                                     &data->lifecycle_id, &data->network_id);

  if (!list_domains (data))
    {
      GError *error = NULL;

      tsr_error_set_from_libvirt (&error, _("Could not list the virtual machines"));
      g_task_return_error (task, error);
      return;
    }

  for (guint t = 0; t < LOAD_THREADS; t++)
    threads[t] = g_thread_new ("tsr-load", load_domains_thread, data);

  /* Networks are read here meanwhile. */
  n_nets = virConnectListAllNetworks (data->conn, &nets, 0);
  data->networks = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_network_info_free);
  for (int i = 0; i < n_nets; i++)
    {
      TsrNetworkInfo *info = _tsr_fetch_network_info (nets[i], NULL);

      if (info != NULL)
        g_ptr_array_add (data->networks, info);
      virNetworkFree (nets[i]);
    }
  free (nets);

  for (guint t = 0; t < LOAD_THREADS; t++)
    g_thread_join (threads[t]);

  /* New rows are built here, complete with their addresses, so that the
   * main thread only has to insert them: with a thousand VMs, building them
   * there would stall the window for tens of milliseconds.
   */
  {
    g_autoptr(GHashTable) nets = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < data->networks->len; i++)
      {
        TsrNetworkInfo *info = g_ptr_array_index (data->networks, i);

        g_hash_table_insert (nets, info->name, info);
      }

    for (gsize i = 0; i < data->n_results; i++)
      {
        DomainResult *r = &data->results[i];

        if (r->config == NULL || g_hash_table_contains (data->known, r->config->uuid))
          continue;
        r->vm = tsr_vm_new (r->config->uuid);
        tsr_vm_set_config (r->vm, r->config);
        tsr_vm_set_state (r->vm, r->state);
        _tsr_compute_address_in (nets, NULL, r->vm);
      }
  }

  g_task_return_boolean (task, TRUE);
}

void
_tsr_connection_apply_domain_result (TsrConnection *self,
                                     DomainResult  *r,
                                     GPtrArray     *added)
{
  TsrVm *vm;

  if (r->config == NULL)
    return;

  vm = g_hash_table_lookup (self->by_uuid, r->config->uuid);
  if (vm == NULL && r->vm != NULL)
    {
      vm = g_steal_pointer (&r->vm);
      g_hash_table_insert (self->by_uuid, g_strdup (r->config->uuid), vm);
      g_ptr_array_add (added, vm);
    }
  else
    {
      if (vm == NULL)
        {
          vm = tsr_vm_new (r->config->uuid);
          g_hash_table_insert (self->by_uuid, g_strdup (r->config->uuid), vm);
          g_ptr_array_add (added, vm);
        }
      tsr_vm_set_config (vm, r->config);
      tsr_vm_set_state (vm, r->state);
    }
  g_hash_table_replace (self->domains, g_strdup (r->config->uuid), g_steal_pointer (&r->dom));
  if (r->agent_ip != NULL)
    g_hash_table_replace (self->agent_ips, g_strdup (r->config->uuid),
                          g_steal_pointer (&r->agent_ip));
}

/* Applying a load of thousands of domains takes tens of milliseconds:
 * it goes a few at a time, between frames, the new rows joining the list
 * in one splice a round.
 */
#define LOAD_APPLY_BUDGET (4 * G_TIME_SPAN_MILLISECOND)

/* The load is the truth, except for domains that events named since it
 * started: those are read again, as their events asked.
 */
static void
apply_load_result (TsrConnection *self,
                   LoadData      *data,
                   DomainResult  *r,
                   GPtrArray     *added)
{
  guint gen;

  if (r->config == NULL)
    return;
  g_hash_table_add (data->seen, g_strdup (r->config->uuid));

  /* A domain with events newer than this read is left to the refresh
   * they asked for, once listed: one not listed yet is listed now (a
   * command right after the open must find it), unless it went meanwhile.
   */
  gen = GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, r->config->uuid));
  if (gen > data->events_before &&
      (g_hash_table_contains (self->by_uuid, r->config->uuid) ||
       (self->pending_removals != NULL &&
        g_hash_table_contains (self->pending_removals, r->config->uuid))))
    return;
  _tsr_connection_apply_domain_result (self, r, added);
}

/* The end of a load: rows of domains gone meanwhile leave in one change,
 * however many there are; rows kept over a reconnect may have new
 * addresses.
 */
static void
finish_load (TsrConnection *self,
             LoadData      *data)
{
  g_autoptr(GHashTable) gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->by_uuid);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (data->seen, key) &&
        GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, key)) <= data->events_before)
      g_hash_table_add (gone, g_strdup (key));
  _tsr_connection_remove_vms (self, gone);

  if (g_hash_table_size (data->known) > 0)
    _tsr_connection_recompute_addresses (self, NULL);

  _tsr_connection_set_last_error (self, NULL);
  self->reconnect_delay = self->first_delay;
  _tsr_connection_set_state (self, TSR_CONNECTION_STATE_CONNECTED);
  _tsr_connection_set_loaded (self);
}

typedef struct
{
  TsrConnection *self;
  GTask         *load;    /* the worker's task, whose data is the LoadData */
  GTask         *outer;   /* answered once everything is applied */
} ApplyLoad;

static void
apply_load_free (gpointer user_data)
{
  ApplyLoad *apply = user_data;

  g_clear_object (&apply->self);
  g_clear_object (&apply->load);
  g_clear_object (&apply->outer);
  g_free (apply);
}

static gboolean
apply_load_round_cb (gpointer user_data)
{
  ApplyLoad *apply = user_data;
  TsrConnection *self = apply->self;
  LoadData *data = g_task_get_task_data (apply->load);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start = g_get_monotonic_time ();

  /* Closed, or lost and opened again, meanwhile: this load is moot. */
  if (self->conn != data->conn)
    {
      g_task_return_new_error (apply->outer, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The connection was closed while it loaded");
      return G_SOURCE_REMOVE;
    }

  while (data->applied < data->n_results && g_get_monotonic_time () - start < LOAD_APPLY_BUDGET)
    apply_load_result (self, data, &data->results[data->applied++], added);

  if (added->len > 0)
    g_list_store_splice (self->vms, g_list_model_get_n_items (G_LIST_MODEL (self->vms)), 0,
                         added->pdata, added->len);

  if (data->applied < data->n_results)
    return G_SOURCE_CONTINUE;

  finish_load (self, data);
  g_task_return_boolean (apply->outer, TRUE);
  return G_SOURCE_REMOVE;
}

static void
load_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  g_autoptr(GTask) task = user_data;
  LoadData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  ApplyLoad *apply;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* The handle opened but could not be read: drop it, so that a
       * later open or reconnect starts afresh instead of finding a
       * half-set-up connection.
       */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _tsr_connection_drop_handle (self);
      _tsr_connection_fail (self, task, g_steal_pointer (&error));
      return;
    }

  if (data->register_events)
    {
      self->lifecycle_id = data->lifecycle_id;
      self->network_id = data->network_id;
    }

  g_hash_table_remove_all (self->networks);
  while (data->networks->len > 0)
    _tsr_connection_store_network (self, g_ptr_array_steal_index_fast (data->networks, 0));

  /* After a reconnect the list is reconciled, not rebuilt: rows that still
   * exist keep their objects, so selections and open dialogs survive. What
   * events queued before is moot.
   */
  _tsr_connection_cancel_flush (self);
  data->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  apply = g_new0 (ApplyLoad, 1);
  apply->self = g_object_ref (self);
  apply->load = g_object_ref (G_TASK (result));
  apply->outer = g_steal_pointer (&task);
  if (apply_load_round_cb (apply) == G_SOURCE_CONTINUE)
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, apply_load_round_cb, apply, apply_load_free);
  else
    apply_load_free (apply);
}

void
_tsr_connection_start_load (TsrConnection *self,
                            gboolean       register_events,
                            GTask         *outer)
{
  GTask *task = g_task_new (self, self->cancellable, load_done_cb, outer);
  LoadData *data = g_new0 (LoadData, 1);

  data->conn = self->conn;
  virConnectRef (data->conn);
  data->ctx = _tsr_event_ctx_ref (self->ctx);
  data->register_events = register_events;
  data->kernels_dir = g_strdup (self->kernels_dir);
  data->known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  data->events_before = self->n_events;
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, self->by_uuid);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      g_hash_table_add (data->known, g_strdup (key));
  }
  g_task_set_source_tag (task, _tsr_connection_start_load);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_worker);
  g_object_unref (task);
}
