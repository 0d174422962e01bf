/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libvirt-glib/libvirt-glib.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"

/* How many threads fetch domain XML in parallel while loading. The remote
 * driver multiplexes calls on one socket and libvirtd answers them with its
 * worker pool, so a few callers in flight beat one caller in a loop.
 */
#define LOAD_THREADS 4

/* Leases appear some seconds after a guest boots and libvirt has no event
 * for them, so after a start the lease table is read again a few times.
 */
static const guint lease_retry_seconds[] = { 2, 4, 8, 16, 30 };


G_DEFINE_FINAL_TYPE (TsrConnection, tsr_connection, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_URI,
  PROP_STATE,
  PROP_LOADED,
  PROP_KERNELS_DIR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void schedule_reconnect          (TsrConnection *self);
static void drop_handle                 (TsrConnection *self);
static void schedule_refresh            (TsrConnection *self,
                                         const char    *uuid);
static void refresh_network             (TsrConnection *self,
                                         const char    *name,
                                         guint          attempt);

/* Event context: libvirt calls back with this as opaque data. It holds only
 * a weak reference, so an event that arrives while the connection object is
 * going away is dropped instead of touching freed memory.
 */
struct _TsrEventCtx
{
  gatomicrefcount ref;
  GWeakRef        self;
};

static TsrEventCtx *
event_ctx_new (TsrConnection *self)
{
  TsrEventCtx *ctx = g_new0 (TsrEventCtx, 1);

  g_atomic_ref_count_init (&ctx->ref);
  g_weak_ref_init (&ctx->self, self);
  return ctx;
}

static TsrEventCtx *
event_ctx_ref (TsrEventCtx *ctx)
{
  g_atomic_ref_count_inc (&ctx->ref);
  return ctx;
}

static void
event_ctx_unref (void *data)
{
  TsrEventCtx *ctx = data;

  if (g_atomic_ref_count_dec (&ctx->ref))
    {
      g_weak_ref_clear (&ctx->self);
      g_free (ctx);
    }
}

/* libvirt's default error handler prints to stderr; this one does nothing. */
static void
silent_error_handler (void        *data,
                      virErrorPtr  error)
{
}

void
tsr_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      /* libvirt asks applications to ignore SIGPIPE: a write to a daemon
       * that went away would otherwise kill the process instead of failing.
       */
      signal (SIGPIPE, SIG_IGN);
      gvir_init (NULL, NULL);
      gvir_event_register ();
      /* Failed calls are reported as GErrors; libvirt's own printing to
       * stderr would only duplicate them.
       */
      virSetErrorFunc (NULL, silent_error_handler);
      g_once_init_leave (&initialized, 1);
    }
}

static TsrVmState
state_from_libvirt (int state)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
      return TSR_VM_STATE_RUNNING;
    case VIR_DOMAIN_PAUSED:
      return TSR_VM_STATE_PAUSED;
    case VIR_DOMAIN_SHUTDOWN:
      return TSR_VM_STATE_SHUTTING_DOWN;
    case VIR_DOMAIN_SHUTOFF:
      return TSR_VM_STATE_SHUTOFF;
    case VIR_DOMAIN_CRASHED:
      return TSR_VM_STATE_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED:
      return TSR_VM_STATE_SUSPENDED;
    default:
      return TSR_VM_STATE_UNKNOWN;
    }
}

/* Load: everything the list needs, fetched in one worker. */

typedef struct
{
  virDomainPtr  dom;
  TsrVmConfig  *config;
  TsrVmState    state;
  char         *agent_ip;
  TsrVm        *vm;        /* built by the worker for VMs not listed yet */
} DomainResult;

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
} LoadData;

static void
domain_result_clear (DomainResult *r)
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
    domain_result_clear (&data->results[i]);
  g_free (data->results);
  g_clear_pointer (&data->networks, g_ptr_array_unref);
  g_clear_pointer (&data->ctx, event_ctx_unref);
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_free (data->kernels_dir);
  g_clear_pointer (&data->known, g_hash_table_unref);
  g_free (data);
}

static void compute_address_in (GHashTable *networks,
                                const char *agent,
                                TsrVm      *vm);

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
            r->state = state_from_libvirt (state);
        }
    }

  return NULL;
}

TsrNetworkInfo *
_tsr_fetch_network_info (virNetworkPtr   net,
                    GError        **error)
{
  g_autofree char *xml = virNetworkGetXMLDesc (net, 0);
  TsrNetworkInfo *info;
  virNetworkDHCPLeasePtr *leases = NULL;
  int n;

  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the network definition"));
      return NULL;
    }

  if (!(info = tsr_network_info_new_from_xml (xml, error)))
    return NULL;

  info->active = virNetworkIsActive (net) == 1;
  if (!info->active)
    return info;

  n = virNetworkGetDHCPLeases (net, NULL, &leases, 0);
  for (int i = 0; i < n; i++)
    {
      TsrDhcpHost *lease = g_new0 (TsrDhcpHost, 1);

      if (leases[i]->type == VIR_IP_ADDR_TYPE_IPV4 && leases[i]->mac != NULL)
        {
          lease->mac = g_ascii_strdown (leases[i]->mac, -1);
          lease->ip = g_strdup (leases[i]->ipaddr);
          lease->name = g_strdup (leases[i]->hostname);
          g_ptr_array_add (info->leases, lease);
        }
      else
        g_free (lease);
      virNetworkDHCPLeaseFree (leases[i]);
    }
  free (leases);
  tsr_network_info_reindex (info);

  return info;
}

static int domain_event_cb (virConnectPtr conn,
                            virDomainPtr  dom,
                            int           event,
                            int           detail,
                            void         *opaque);
static void network_event_cb (virConnectPtr conn,
                              virNetworkPtr net,
                              int           event,
                              int           detail,
                              void         *opaque);
static void connection_closed_cb (virConnectPtr conn,
                                  int           reason,
                                  void         *opaque);

/* The agent and ARP table are asked only for running guests that have no
 * reservation or lease, i.e. those on networks Tessera does not manage.
 */
static char *
fetch_guest_address (virDomainPtr dom)
{
  static const unsigned int sources[] = {
    VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
    VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
  };

  for (guint s = 0; s < G_N_ELEMENTS (sources); s++)
    {
      virDomainInterfacePtr *ifaces = NULL;
      char *found = NULL;
      int n = virDomainInterfaceAddresses (dom, &ifaces, sources[s], 0);

      for (int i = 0; i < n; i++)
        {
          for (guint a = 0; found == NULL && a < ifaces[i]->naddrs; a++)
            {
              virDomainIPAddressPtr addr = &ifaces[i]->addrs[a];

              if (addr->type == VIR_IP_ADDR_TYPE_IPV4 &&
                  !g_str_has_prefix (addr->addr, "127."))
                found = g_strdup_printf ("%s/%u", addr->addr, addr->prefix);
            }
          virDomainInterfaceFree (ifaces[i]);
        }
      free (ifaces);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* libvirt releases the reference given with a callback only when the
 * callback was registered.
 */
static void
register_events (LoadData *data)
{
  data->lifecycle_id =
    virConnectDomainEventRegisterAny (data->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                      VIR_DOMAIN_EVENT_CALLBACK (domain_event_cb),
                                      event_ctx_ref (data->ctx), event_ctx_unref);
  if (data->lifecycle_id < 0)
    event_ctx_unref (data->ctx);
  data->network_id =
    virConnectNetworkEventRegisterAny (data->conn, NULL, VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                       VIR_NETWORK_EVENT_CALLBACK (network_event_cb),
                                       event_ctx_ref (data->ctx), event_ctx_unref);
  if (data->network_id < 0)
    event_ctx_unref (data->ctx);
  /* Keepalive makes a dead daemon show up within seconds instead of at
   * the next call; the test driver has none, which is fine.
   */
  virConnectSetKeepAlive (data->conn, 3, 2);
  if (virConnectRegisterCloseCallback (data->conn, connection_closed_cb,
                                       event_ctx_ref (data->ctx), event_ctx_unref) < 0)
    event_ctx_unref (data->ctx);
  virResetLastError ();
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
    register_events (data);

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
        compute_address_in (nets, NULL, r->vm);
      }
  }

  g_task_return_boolean (task, TRUE);
}

static void
apply_domain_result (TsrConnection *self,
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

void
_tsr_connection_store_network (TsrConnection  *self,
               TsrNetworkInfo *info)
{
  g_hash_table_replace (self->networks, g_strdup (info->name), info);
}

static void
set_state (TsrConnection      *self,
           TsrConnectionState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_last_error (TsrConnection *self,
                const GError  *error)
{
  g_clear_error (&self->last_error);
  if (error != NULL)
    self->last_error = g_error_copy (error);
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
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) seen = NULL;
  GHashTableIter iter;
  gpointer key;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* The handle opened but could not be read: drop it, so that a
           * later open or reconnect starts afresh instead of finding a
           * half-set-up connection.
           */
          drop_handle (self);
          set_last_error (self, error);
          set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
          if (self->loaded && !self->closed_by_user)
            schedule_reconnect (self);
        }
      g_task_return_error (task, g_steal_pointer (&error));
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
   * exist keep their objects, so selections and open dialogs survive.
   */
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < data->n_results; i++)
    {
      apply_domain_result (self, &data->results[i], added);
      if (data->results[i].config != NULL)
        g_hash_table_add (seen, data->results[i].config->uuid);
    }

  g_hash_table_iter_init (&iter, self->by_uuid);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (!g_hash_table_contains (seen, key))
        {
          guint pos;
          TsrVm *vm = g_hash_table_lookup (self->by_uuid, key);

          if (g_list_store_find (self->vms, vm, &pos))
            g_list_store_remove (self->vms, pos);
          g_hash_table_remove (self->domains, key);
          g_hash_table_iter_remove (&iter);
        }
    }

  if (added->len > 0)
    g_list_store_splice (self->vms, g_list_model_get_n_items (G_LIST_MODEL (self->vms)), 0,
                         added->pdata, added->len);

  /* New rows came with their addresses; rows kept over a reconnect may have
   * new ones.
   */
  if (g_hash_table_size (data->known) > 0)
    _tsr_connection_recompute_addresses (self, NULL);

  set_last_error (self, NULL);
  self->reconnect_delay = self->first_delay;
  set_state (self, TSR_CONNECTION_STATE_CONNECTED);
  if (!self->loaded)
    {
      self->loaded = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }

  g_task_return_boolean (task, TRUE);
}

static void
start_load (TsrConnection *self,
            gboolean       register_events,
            GTask         *outer)
{
  GTask *task = g_task_new (self, self->cancellable, load_done_cb, outer);
  LoadData *data = g_new0 (LoadData, 1);

  data->conn = self->conn;
  virConnectRef (data->conn);
  data->ctx = event_ctx_ref (self->ctx);
  data->register_events = register_events;
  data->kernels_dir = g_strdup (self->kernels_dir);
  data->known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, self->by_uuid);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      g_hash_table_add (data->known, g_strdup (key));
  }
  g_task_set_source_tag (task, start_load);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_worker);
  g_object_unref (task);
}

/* Open */

static void
open_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *uri = task_data;
  virConnectPtr conn;

  tsr_assert_worker_thread ();
  conn = virConnectOpen (uri);
  if (conn == NULL)
    {
      GError *error = NULL;
      g_autofree char *what = g_strdup_printf (_("Could not connect to %s"), uri);

      tsr_error_set_from_libvirt (&error, what);
      if (error->code != TSR_ERROR_NOT_SUPPORTED)
        error->code = TSR_ERROR_CONNECTION;
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, conn, (GDestroyNotify) tsr_conn_release);
}

static void
opened_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  virConnectPtr conn;

  conn = g_task_propagate_pointer (G_TASK (result), &error);
  if (conn == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          set_last_error (self, error);
          set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
          if (self->loaded && !self->closed_by_user)
            schedule_reconnect (self);
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  self->conn = conn;
  g_clear_pointer (&self->ctx, event_ctx_unref);
  self->ctx = event_ctx_new (self);
  start_load (self, TRUE, g_steal_pointer (&task));
}

static void
begin_open (TsrConnection *self,
            GTask         *outer)
{
  GTask *task = g_task_new (self, self->cancellable, opened_cb, outer);

  set_state (self, TSR_CONNECTION_STATE_CONNECTING);
  g_task_set_source_tag (task, begin_open);
  g_task_set_task_data (task, g_strdup (self->uri), g_free);
  g_task_run_in_thread (task, open_worker);
  g_object_unref (task);
}

void
tsr_connection_open_async (TsrConnection       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  tsr_init ();

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_open_async);

  if (self->conn != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->closed_by_user = FALSE;
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  begin_open (self, g_steal_pointer (&task));
}

gboolean
tsr_connection_open_finish (TsrConnection  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Closing and reconnecting */

typedef struct
{
  int lifecycle_id;
  int network_id;
} CloseData;

static void
deregister_events (virConnectPtr conn,
                   gpointer      user_data)
{
  g_autofree CloseData *data = user_data;

  if (data->lifecycle_id >= 0)
    virConnectDomainEventDeregisterAny (conn, data->lifecycle_id);
  if (data->network_id >= 0)
    virConnectNetworkEventDeregisterAny (conn, data->network_id);
  virConnectUnregisterCloseCallback (conn, connection_closed_cb);
}

/* Deregistering and closing talk to the daemon, which may be gone: the
 * closer threads do it so that nothing waits.
 */
static void
drop_handle (TsrConnection *self)
{
  CloseData *data;

  if (self->conn == NULL)
    return;

  data = g_new0 (CloseData, 1);
  data->lifecycle_id = self->lifecycle_id;
  data->network_id = self->network_id;
  self->lifecycle_id = -1;
  self->network_id = -1;
  tsr_conn_release_full (g_steal_pointer (&self->conn), deregister_events, data);
}

static void
reconnect_done_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_open_finish (self, result, &error))
    g_debug ("Reconnecting to %s failed: %s", self->uri, error->message);
}

static gboolean
reconnect_timeout_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  GTask *task;

  self->reconnect_source = 0;
  task = g_task_new (self, NULL, reconnect_done_cb, NULL);
  begin_open (self, task);

  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (TsrConnection *self)
{
  if (self->reconnect_source != 0 || self->closed_by_user)
    return;

  self->reconnect_source = g_timeout_add (self->reconnect_delay, reconnect_timeout_cb, self);
  self->reconnect_delay = MIN (self->reconnect_delay * 2, self->max_delay);
}

static void
connection_closed_cb (virConnectPtr  conn,
                      int            reason,
                      void          *opaque)
{
  TsrEventCtx *ctx = opaque;
  g_autoptr(TsrConnection) self = g_weak_ref_get (&ctx->self);
  g_autoptr(GError) error = NULL;

  if (self == NULL || self->conn != conn)
    return;

  error = g_error_new (TSR_ERROR, TSR_ERROR_CONNECTION,
                       _("Lost the connection to %s (%s). Reconnecting…"), self->uri,
                       reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE ? _("no answer to keepalive")
                       : reason == VIR_CONNECT_CLOSE_REASON_EOF ? _("the daemon closed it")
                       : _("an I/O error"));
  set_last_error (self, error);
  /* The handle is dead: forget its callback ids rather than deregister. */
  self->lifecycle_id = -1;
  self->network_id = -1;
  drop_handle (self);
  set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
  schedule_reconnect (self);
}

void
tsr_connection_close (TsrConnection *self)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  self->closed_by_user = TRUE;
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->refresh_idle, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  drop_handle (self);
  g_clear_pointer (&self->ctx, event_ctx_unref);
  set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
}

/* Events */

static void
bump_generation (TsrConnection *self,
                 const char    *uuid)
{
  guint gen = GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, uuid));

  g_hash_table_replace (self->generation, g_strdup (uuid), GUINT_TO_POINTER (gen + 1));
}

static void
remove_vm (TsrConnection *self,
           const char    *uuid)
{
  g_autofree char *key = g_strdup (uuid);
  TsrVm *vm = g_hash_table_lookup (self->by_uuid, key);
  guint pos = 0;

  if (vm != NULL && g_list_store_find (self->vms, vm, &pos))
    g_list_store_remove (self->vms, pos);
  g_hash_table_remove (self->domains, key);
  g_hash_table_remove (self->agent_ips, key);
  g_hash_table_remove (self->by_uuid, key);
}

static int
domain_event_cb (virConnectPtr  conn,
                 virDomainPtr   dom,
                 int            event,
                 int            detail,
                 void          *opaque)
{
  TsrEventCtx *ctx = opaque;
  g_autoptr(TsrConnection) self = g_weak_ref_get (&ctx->self);
  char uuid[VIR_UUID_STRING_BUFLEN];
  TsrVm *vm;

  if (self == NULL || self->conn != conn || virDomainGetUUIDString (dom, uuid) < 0)
    return 0;

  vm = g_hash_table_lookup (self->by_uuid, uuid);
  bump_generation (self, uuid);

  switch ((virDomainEventType) event)
    {
    case VIR_DOMAIN_EVENT_UNDEFINED:
      /* A rename undefines the old name and defines the new one: the row
       * stays and is read again.
       */
      if (detail == VIR_DOMAIN_EVENT_UNDEFINED_RENAMED)
        break;
      remove_vm (self, uuid);
      return 0;

    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_RUNNING);
      if (vm != NULL && event == VIR_DOMAIN_EVENT_STARTED)
        refresh_network (self, tsr_vm_get_netvm (vm), 0);
      break;

    case VIR_DOMAIN_EVENT_SUSPENDED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_PAUSED);
      break;

    case VIR_DOMAIN_EVENT_STOPPED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_SHUTOFF);
      g_hash_table_remove (self->agent_ips, uuid);
      break;

    case VIR_DOMAIN_EVENT_SHUTDOWN:
      if (vm != NULL && detail != VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED)
        tsr_vm_set_state (vm, TSR_VM_STATE_SHUTTING_DOWN);
      break;

    case VIR_DOMAIN_EVENT_PMSUSPENDED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_SUSPENDED);
      break;

    case VIR_DOMAIN_EVENT_CRASHED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_CRASHED);
      break;

    case VIR_DOMAIN_EVENT_DEFINED:
    default:
      break;
    }

  if (vm == NULL || event == VIR_DOMAIN_EVENT_DEFINED || event == VIR_DOMAIN_EVENT_STOPPED ||
      event == VIR_DOMAIN_EVENT_STARTED)
    {
      if (!g_hash_table_contains (self->domains, uuid))
        {
          virDomainRef (dom);
          g_hash_table_replace (self->domains, g_strdup (uuid), dom);
        }
      schedule_refresh (self, uuid);
    }

  return 0;
}

static void
network_event_cb (virConnectPtr  conn,
                  virNetworkPtr  net,
                  int            event,
                  int            detail,
                  void          *opaque)
{
  TsrEventCtx *ctx = opaque;
  g_autoptr(TsrConnection) self = g_weak_ref_get (&ctx->self);
  const char *name;

  if (self == NULL || self->conn != conn)
    return;

  name = virNetworkGetName (net);
  if (event == VIR_NETWORK_EVENT_UNDEFINED)
    {
      g_hash_table_remove (self->networks, name);
      _tsr_connection_recompute_addresses (self, name);
    }
  else
    refresh_network (self, name, G_N_ELEMENTS (lease_retry_seconds));
}

/* Refreshing one domain */

typedef struct
{
  char         *uuid;
  virDomainPtr  dom;
  guint         generation;
  DomainResult  result;
  gboolean      gone;
  char         *kernels_dir;
} RefreshData;

static void
refresh_data_free (RefreshData *data)
{
  g_free (data->uuid);
  g_clear_pointer (&data->dom, dom_unref);
  domain_result_clear (&data->result);
  g_free (data->kernels_dir);
  g_free (data);
}

static void
refresh_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RefreshData *data = task_data;
  g_autofree char *xml = NULL;
  int state, reason;

  tsr_assert_worker_thread ();
  xml = virDomainGetXMLDesc (data->dom, 0);
  if (xml == NULL)
    {
      virErrorPtr err = virGetLastError ();

      data->gone = err != NULL && err->code == VIR_ERR_NO_DOMAIN;
      g_task_return_boolean (task, data->gone);
      return;
    }

  data->result.config = tsr_vm_config_parse (xml, data->kernels_dir, NULL);
  data->result.state = TSR_VM_STATE_UNKNOWN;
  if (virDomainGetState (data->dom, &state, &reason, 0) == 0)
    data->result.state = state_from_libvirt (state);

  if (data->result.state == TSR_VM_STATE_RUNNING && data->result.config != NULL &&
      !g_str_has_prefix (data->result.config->netvm, "tessera"))
    data->result.agent_ip = fetch_guest_address (data->dom);

  g_task_return_boolean (task, TRUE);
}

static void
refresh_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  RefreshData *data = g_task_get_task_data (G_TASK (result));
  guint gen;
  gboolean is_new;
  g_autoptr(GPtrArray) added = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return;

  if (data->gone)
    {
      remove_vm (self, data->uuid);
      return;
    }

  if (data->result.config == NULL)
    return;

  gen = GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, data->uuid));
  if (gen != data->generation)
    {
      /* An event arrived while this was read: read again so the newest
       * state wins.
       */
      schedule_refresh (self, data->uuid);
      return;
    }

  added = g_ptr_array_new_with_free_func (g_object_unref);
  is_new = !g_hash_table_contains (self->by_uuid, data->uuid);
  data->result.dom = g_steal_pointer (&data->dom);
  apply_domain_result (self, &data->result, added);
  if (is_new && added->len > 0)
    g_list_store_append (self->vms, g_ptr_array_index (added, 0));
  if (data->result.agent_ip == NULL)
    g_hash_table_remove (self->agent_ips, data->uuid);

  {
    TsrVm *vm = g_hash_table_lookup (self->by_uuid, data->uuid);

    if (vm != NULL)
      _tsr_connection_recompute_addresses (self, tsr_vm_get_netvm (vm));
  }
}

static gboolean
refresh_idle_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  GHashTableIter iter;
  gpointer key;

  self->refresh_idle = 0;

  g_hash_table_iter_init (&iter, self->pending_refresh);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      virDomainPtr dom = g_hash_table_lookup (self->domains, key);
      g_autoptr(GTask) task = NULL;
      RefreshData *data;

      if (dom == NULL || self->conn == NULL)
        continue;

      data = g_new0 (RefreshData, 1);
      data->uuid = g_strdup (key);
      data->dom = dom;
      virDomainRef (dom);
      data->generation = GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, key));
      data->kernels_dir = g_strdup (self->kernels_dir);

      task = g_task_new (self, self->cancellable, refresh_done_cb, NULL);
      g_task_set_source_tag (task, refresh_idle_cb);
      g_task_set_task_data (task, data, (GDestroyNotify) refresh_data_free);
      g_task_run_in_thread (task, refresh_worker);
    }
  g_hash_table_remove_all (self->pending_refresh);

  return G_SOURCE_REMOVE;
}

/* Several events for one domain in a burst (define, start, resume) are read
 * once.
 */
static void
schedule_refresh (TsrConnection *self,
                  const char    *uuid)
{
  g_hash_table_add (self->pending_refresh, g_strdup (uuid));
  if (self->refresh_idle == 0)
    self->refresh_idle = g_idle_add (refresh_idle_cb, self);
}

/* Networks */

typedef struct
{
  virConnectPtr   conn;
  char           *name;
  guint           attempt;
  TsrNetworkInfo *info;
} NetworkData;

static void
network_data_free (NetworkData *data)
{
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_free (data->name);
  g_clear_pointer (&data->info, tsr_network_info_free);
  g_free (data);
}

static void
network_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  NetworkData *data = task_data;
  g_autoptr(virNetwork) net = NULL;
  GError *error = NULL;

  tsr_assert_worker_thread ();
  net = virNetworkLookupByName (data->conn, data->name);
  if (net == NULL)
    {
      tsr_error_set_from_libvirt (&error, _("Could not find the network"));
      g_task_return_error (task, error);
      return;
    }

  data->info = _tsr_fetch_network_info (net, &error);
  if (data->info == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean network_retry_cb (gpointer user_data);

typedef struct
{
  GWeakRef  self;
  char     *name;
  guint     attempt;
} RetryData;

static void
retry_data_free (gpointer user_data)
{
  RetryData *retry = user_data;

  g_weak_ref_clear (&retry->self);
  g_free (retry->name);
  g_free (retry);
}

static gboolean
vm_lacks_address_on (TsrConnection *self,
                     const char    *network)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->vms));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (G_LIST_MODEL (self->vms), i);

      if (tsr_vm_is_active (vm) && tsr_vm_get_ip (vm) == NULL &&
          g_strcmp0 (tsr_vm_get_netvm (vm), network) == 0)
        return TRUE;
    }

  return FALSE;
}

static void
network_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  NetworkData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    return;

  _tsr_connection_store_network (self, g_steal_pointer (&data->info));
  _tsr_connection_recompute_addresses (self, data->name);

  if (data->attempt < G_N_ELEMENTS (lease_retry_seconds) &&
      vm_lacks_address_on (self, data->name))
    {
      RetryData *retry = g_new0 (RetryData, 1);

      g_weak_ref_init (&retry->self, self);
      retry->name = g_strdup (data->name);
      retry->attempt = data->attempt + 1;
      g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, lease_retry_seconds[data->attempt],
                                  network_retry_cb, retry, retry_data_free);
    }
}

static gboolean
network_retry_cb (gpointer user_data)
{
  RetryData *retry = user_data;
  g_autoptr(TsrConnection) self = g_weak_ref_get (&retry->self);

  if (self != NULL)
    refresh_network (self, retry->name, retry->attempt);
  return G_SOURCE_REMOVE;
}

static void
refresh_network (TsrConnection *self,
                 const char    *name,
                 guint          attempt)
{
  g_autoptr(GTask) task = NULL;
  NetworkData *data;

  if (self->conn == NULL || name == NULL || g_strcmp0 (name, "none") == 0)
    return;

  data = g_new0 (NetworkData, 1);
  data->conn = self->conn;
  virConnectRef (data->conn);
  data->name = g_strdup (name);
  data->attempt = attempt;

  task = g_task_new (self, self->cancellable, network_done_cb, NULL);
  g_task_set_source_tag (task, refresh_network);
  g_task_set_task_data (task, data, (GDestroyNotify) network_data_free);
  g_task_run_in_thread (task, network_worker);
}

static void
compute_address (TsrConnection *self,
                 TsrVm         *vm)
{
  compute_address_in (self->networks, g_hash_table_lookup (self->agent_ips, tsr_vm_get_uuid (vm)),
                      vm);
}

/* Reservation first (known even while the VM is halted), then the lease,
 * then what the guest agent or the ARP table said.
 */
static void
compute_address_in (GHashTable *networks,
                    const char *agent,
                    TsrVm      *vm)
{
  const char *mac = tsr_vm_get_mac (vm);
  TsrNetworkInfo *info = g_hash_table_lookup (networks, tsr_vm_get_netvm (vm));
  const TsrDhcpHost *host = NULL;
  g_autofree char *agent_ip = NULL;
  g_autofree char *agent_mask = NULL;

  if (info != NULL && mac != NULL)
    {
      host = tsr_network_info_find_host (info, mac);
      if (host == NULL || host->ip == NULL)
        host = tsr_network_info_find_lease (info, mac);
    }

  if (host != NULL && host->ip != NULL)
    {
      tsr_vm_set_address (vm, host->ip, info->netmask, info->gateway);
      return;
    }

  if (agent != NULL)
    {
      const char *slash = strchr (agent, '/');

      agent_ip = g_strndup (agent, slash ? (gsize) (slash - agent) : strlen (agent));
      agent_mask = tsr_prefix_to_netmask (slash ? (guint) g_ascii_strtoull (slash + 1, NULL, 10) : 24);
      tsr_vm_set_address (vm, agent_ip, info ? info->netmask : agent_mask,
                          info ? info->gateway : NULL);
      return;
    }

  tsr_vm_set_address (vm, NULL, NULL, NULL);
}

void
_tsr_connection_recompute_addresses (TsrConnection *self,
                     const char    *network)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      if (network == NULL || g_strcmp0 (tsr_vm_get_netvm (value), network) == 0)
        compute_address (self, value);
    }
}

/* GObject */

static void
tsr_connection_dispose (GObject *object)
{
  TsrConnection *self = (TsrConnection *) object;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->refresh_idle, g_source_remove);
  self->closed_by_user = TRUE;
  drop_handle (self);
  g_clear_pointer (&self->ctx, event_ctx_unref);

  G_OBJECT_CLASS (tsr_connection_parent_class)->dispose (object);
}

static void
tsr_connection_finalize (GObject *object)
{
  TsrConnection *self = (TsrConnection *) object;

  g_clear_object (&self->cancellable);
  g_clear_object (&self->vms);
  g_clear_pointer (&self->by_uuid, g_hash_table_unref);
  g_clear_pointer (&self->domains, g_hash_table_unref);
  g_clear_pointer (&self->networks, g_hash_table_unref);
  g_clear_pointer (&self->agent_ips, g_hash_table_unref);
  g_clear_pointer (&self->generation, g_hash_table_unref);
  g_clear_pointer (&self->pending_refresh, g_hash_table_unref);
  g_clear_error (&self->last_error);
  g_mutex_clear (&self->reserve_lock);
  g_free (self->uri);
  g_free (self->kernels_dir);

  G_OBJECT_CLASS (tsr_connection_parent_class)->finalize (object);
}

static void
tsr_connection_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TsrConnection *self = TSR_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    case PROP_KERNELS_DIR:
      g_value_set_string (value, self->kernels_dir);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_connection_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TsrConnection *self = TSR_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_URI:
      self->uri = g_value_dup_string (value);
      break;
    case PROP_KERNELS_DIR:
      tsr_connection_set_kernels_dir (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* $TESSERA_KERNELS_DIR (tests and the CLI's users set it), else the
 * system's folder.
 */
static const char *
default_kernels_dir (void)
{
  const char *env = g_getenv ("TESSERA_KERNELS_DIR");

  return env && *env ? env : TSR_DEFAULT_KERNELS_DIR;
}

static void
tsr_connection_class_init (TsrConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tsr_connection_dispose;
  object_class->finalize = tsr_connection_finalize;
  object_class->get_property = tsr_connection_get_property;
  object_class->set_property = tsr_connection_set_property;

  properties[PROP_URI] =
    g_param_spec_string ("uri", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      TSR_CONNECTION_STATE_DISCONNECTED, TSR_CONNECTION_STATE_CONNECTED,
                      TSR_CONNECTION_STATE_DISCONNECTED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TsrConnection:kernels-dir:
   *
   * The folder whose sub-folders are the kernels VMs may boot directly.
   * Calls read it when they start, so a change applies to the next one.
   */
  properties[PROP_KERNELS_DIR] =
    g_param_spec_string ("kernels-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_connection_init (TsrConnection *self)
{
  self->state = TSR_CONNECTION_STATE_DISCONNECTED;
  self->lifecycle_id = -1;
  self->network_id = -1;
  self->vms = g_list_store_new (TSR_TYPE_VM);
  self->by_uuid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) dom_unref);
  self->networks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) tsr_network_info_free);
  self->agent_ips = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->generation = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending_refresh = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
  self->first_delay = 500;
  self->max_delay = 30000;
  self->reconnect_delay = self->first_delay;
  g_mutex_init (&self->reserve_lock);
  self->kernels_dir = g_strdup (default_kernels_dir ());
}

TsrConnection *
tsr_connection_new (const char *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  return g_object_new (TSR_TYPE_CONNECTION, "uri", uri, NULL);
}

const char *
tsr_connection_get_uri (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return self->uri;
}

const char *
tsr_connection_get_kernels_dir (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return self->kernels_dir;
}

/**
 * tsr_connection_set_kernels_dir:
 * @self: a #TsrConnection
 * @dir: (nullable): a folder, or %NULL or "" for the default
 *
 * Sets #TsrConnection:kernels-dir. Main thread only: workers get a copy.
 */
void
tsr_connection_set_kernels_dir (TsrConnection *self,
                                const char    *dir)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  if (dir == NULL || *dir == '\0')
    dir = default_kernels_dir ();
  if (g_strcmp0 (self->kernels_dir, dir) == 0)
    return;
  g_free (self->kernels_dir);
  self->kernels_dir = g_strdup (dir);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KERNELS_DIR]);
}

TsrConnectionState
tsr_connection_get_state (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), TSR_CONNECTION_STATE_DISCONNECTED);
  return self->state;
}

const GError *
tsr_connection_get_last_error (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return self->last_error;
}

gboolean
tsr_connection_get_loaded (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), FALSE);
  return self->loaded;
}

GListModel *
tsr_connection_get_vms (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return G_LIST_MODEL (self->vms);
}

TsrVm *
tsr_connection_lookup_vm (TsrConnection *self,
                          const char    *name)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  g_hash_table_iter_init (&iter, self->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_strcmp0 (tsr_vm_get_name (value), name) == 0)
      return value;

  return NULL;
}

void
tsr_connection_set_reconnect_delays (TsrConnection *self,
                                     guint          first_ms,
                                     guint          max_ms)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  self->first_delay = MAX (first_ms, 1);
  self->max_delay = MAX (max_ms, self->first_delay);
  self->reconnect_delay = self->first_delay;
}

gpointer
tsr_connection_get_handle (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return self->conn;
}

/* A reference on the handle for a worker, or NULL after TASK was answered
 * with "not connected". The worker's data drops it with tsr_conn_release.
 */
virConnectPtr
tsr_connection_ref_handle (TsrConnection *self,
                           GTask         *task)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (G_IS_TASK (task), NULL);

  if (self->conn == NULL)
    {
      GError *error = NULL;

      tsr_error_set_not_connected (&error, self->uri);
      g_task_return_error (task, error);
      return NULL;
    }
  virConnectRef (self->conn);
  return self->conn;
}

GMutex *
tsr_connection_get_reserve_lock (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return &self->reserve_lock;
}

/* Takes INFO: what a worker read after changing the network. */
void
tsr_connection_take_network_info (TsrConnection  *self,
                                  TsrNetworkInfo *info)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  if (info == NULL)
    return;
  {
    g_autofree char *name = g_strdup (info->name);

    _tsr_connection_store_network (self, info);
    _tsr_connection_recompute_addresses (self, name);
  }
}

/* Reads the VM with UUID again, for changes libvirt sends no event for. */
void
tsr_connection_refresh_vm (TsrConnection *self,
                           const char    *uuid)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  if (g_hash_table_contains (self->domains, uuid))
    {
      bump_generation (self, uuid);
      schedule_refresh (self, uuid);
    }
}
