/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"

/* TsrConnection's events: registering for them, the lifecycle and network
 * callbacks, reading one domain again after them, and the end of the
 * handle.
 */

TsrEventCtx *
_tsr_event_ctx_new (TsrConnection *self)
{
  TsrEventCtx *ctx = g_new0 (TsrEventCtx, 1);

  g_atomic_ref_count_init (&ctx->ref);
  g_weak_ref_init (&ctx->self, self);
  return ctx;
}

TsrEventCtx *
_tsr_event_ctx_ref (TsrEventCtx *ctx)
{
  g_atomic_ref_count_inc (&ctx->ref);
  return ctx;
}

void
_tsr_event_ctx_unref (void *data)
{
  TsrEventCtx *ctx = data;

  if (g_atomic_ref_count_dec (&ctx->ref))
    {
      g_weak_ref_clear (&ctx->self);
      g_free (ctx);
    }
}

TsrVmState
_tsr_vm_state_from_libvirt (int state)
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
static void schedule_refresh (TsrConnection *self,
                              const char    *uuid);

/* libvirt releases the reference given with a callback only when the
 * callback was registered.
 */
void
_tsr_connection_register_events (virConnectPtr  conn,
                                 TsrEventCtx   *ctx,
                                 int           *lifecycle_id,
                                 int           *network_id)
{
  *lifecycle_id =
    virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                      VIR_DOMAIN_EVENT_CALLBACK (domain_event_cb),
                                      _tsr_event_ctx_ref (ctx), _tsr_event_ctx_unref);
  if (*lifecycle_id < 0)
    _tsr_event_ctx_unref (ctx);
  *network_id =
    virConnectNetworkEventRegisterAny (conn, NULL, VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                       VIR_NETWORK_EVENT_CALLBACK (network_event_cb),
                                       _tsr_event_ctx_ref (ctx), _tsr_event_ctx_unref);
  if (*network_id < 0)
    _tsr_event_ctx_unref (ctx);
  /* Keepalive makes a dead daemon show up within seconds instead of at
   * the next call; the test driver has none, which is fine.
   */
  virConnectSetKeepAlive (conn, 3, 2);
  if (virConnectRegisterCloseCallback (conn, _tsr_connection_closed_cb,
                                       _tsr_event_ctx_ref (ctx), _tsr_event_ctx_unref) < 0)
    _tsr_event_ctx_unref (ctx);
  virResetLastError ();
}

/* The end of the handle */

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
  virConnectUnregisterCloseCallback (conn, _tsr_connection_closed_cb);
}

/* Deregistering and closing talk to the daemon, which may be gone: the
 * closer threads do it so that nothing waits.
 */
void
_tsr_connection_drop_handle (TsrConnection *self)
{
  CloseData *data;

  _tsr_connection_drop_events (self);
  if (self->conn == NULL)
    return;

  data = g_new0 (CloseData, 1);
  data->lifecycle_id = self->lifecycle_id;
  data->network_id = self->network_id;
  self->lifecycle_id = -1;
  self->network_id = -1;
  tsr_conn_release_full (g_steal_pointer (&self->conn), deregister_events, data);
}

typedef struct
{
  GWeakRef      self;
  virConnectPtr conn;     /* compared only: the handle it was for */
  int           reason;
} ClosedData;

static void
closed_data_free (gpointer user_data)
{
  ClosedData *data = user_data;

  g_weak_ref_clear (&data->self);
  g_free (data);
}

static gboolean
closed_idle_cb (gpointer user_data)
{
  ClosedData *data = user_data;
  g_autoptr(TsrConnection) self = g_weak_ref_get (&data->self);
  g_autoptr(GError) error = NULL;

  if (self == NULL || self->conn == NULL || self->conn != data->conn)
    return G_SOURCE_REMOVE;

  error = g_error_new (TSR_ERROR, TSR_ERROR_CONNECTION,
                       _("Lost the connection to %s (%s). Reconnecting…"), self->uri,
                       data->reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE ? _("no answer to keepalive")
                       : data->reason == VIR_CONNECT_CLOSE_REASON_EOF ? _("the daemon closed it")
                       : _("an I/O error"));
  _tsr_connection_set_last_error (self, error);
  /* The handle is dead: forget its callback ids rather than deregister. */
  self->lifecycle_id = -1;
  self->network_id = -1;
  _tsr_connection_drop_handle (self);
  _tsr_connection_set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
  _tsr_connection_schedule_reconnect (self);
  return G_SOURCE_REMOVE;
}

/* libvirt calls this holding the connection's locks: anything that calls
 * libvirt again from here (a listener of the state closing a stream, say)
 * would wait for them forever. So the work runs from the main loop, once
 * this callback has returned.
 */
void
_tsr_connection_closed_cb (virConnectPtr  conn,
                           int            reason,
                           void          *opaque)
{
  TsrEventCtx *ctx = opaque;
  g_autoptr(TsrConnection) self = g_weak_ref_get (&ctx->self);
  ClosedData *data;

  if (self == NULL || self->conn != conn)
    return;

  data = g_new0 (ClosedData, 1);
  g_weak_ref_init (&data->self, self);
  data->conn = conn;
  data->reason = reason;
  g_idle_add_full (G_PRIORITY_HIGH, closed_idle_cb, data, closed_data_free);
}
/* Events */

/* Each event gets a number of its own, so that a domain's counter never
 * takes a value it had before, even after the domain was forgotten and its
 * counter dropped: a read started before still sees that it is out of date.
 */
static void
bump_generation (TsrConnection *self,
                 const char    *uuid)
{
  g_hash_table_replace (self->generation, g_strdup (uuid), GUINT_TO_POINTER (++self->n_events));
}

/* libvirt hands over all the events it queued in one dispatch: thousands
 * after a script started or undefined as many domains. The callback only
 * notes each event (and makes reads of its domain in flight out of date);
 * they are applied in order, as many as fit in a few milliseconds at a
 * time, between frames.
 */
#define EVENT_BUDGET (4 * G_TIME_SPAN_MILLISECOND)

typedef struct
{
  char         *uuid;
  virDomainPtr  dom;
  int           event;
  int           detail;
} QueuedEvent;

static void
queued_event_clear (gpointer data)
{
  QueuedEvent *queued = data;

  g_free (queued->uuid);
  g_clear_pointer (&queued->dom, dom_unref);
}

static void
apply_event (TsrConnection *self,
             QueuedEvent   *queued)
{
  const char *uuid = queued->uuid;
  int event = queued->event, detail = queued->detail;
  TsrVm *vm = g_hash_table_lookup (self->by_uuid, uuid);

  /* A storm of these is the common case (a script undefining or starting
   * many VMs): nothing here may cost more than a few lookups. Rows leave
   * the list and networks are read again in batches.
   */
  if (event == VIR_DOMAIN_EVENT_UNDEFINED && detail != VIR_DOMAIN_EVENT_UNDEFINED_RENAMED)
    {
      _tsr_connection_queue_removal (self, uuid);
      return;
    }
  _tsr_connection_unqueue_removal (self, uuid);

  switch ((virDomainEventType) event)
    {
    case VIR_DOMAIN_EVENT_UNDEFINED:
      /* A rename undefines the old name and defines the new one: the row
       * stays and is read again.
       */
      break;

    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_RUNNING);
      if (vm != NULL && event == VIR_DOMAIN_EVENT_STARTED)
        _tsr_connection_queue_network_refresh (self, tsr_vm_get_netvm (vm));
      break;

    case VIR_DOMAIN_EVENT_SUSPENDED:
      if (vm != NULL)
        tsr_vm_set_state (vm, TSR_VM_STATE_PAUSED);
      break;

    case VIR_DOMAIN_EVENT_STOPPED:
      if (vm != NULL)
        {
          tsr_vm_set_state (vm, TSR_VM_STATE_SHUTOFF);
          _tsr_connection_emit_vm_stopped (self, vm);
        }
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
        g_hash_table_replace (self->domains, g_strdup (uuid), g_steal_pointer (&queued->dom));
      schedule_refresh (self, uuid);
    }
}

static gboolean
apply_events_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  gint64 start = g_get_monotonic_time ();
  guint done = 0;

  while (done < self->events->len && g_get_monotonic_time () - start < EVENT_BUDGET)
    apply_event (self, &g_array_index (self->events, QueuedEvent, done++));
  g_array_remove_range (self->events, 0, done);

  if (self->events->len > 0)
    return G_SOURCE_CONTINUE;
  self->events_source = 0;
  return G_SOURCE_REMOVE;
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
  QueuedEvent queued;

  if (self == NULL || self->conn != conn || virDomainGetUUIDString (dom, uuid) < 0)
    return 0;

  /* Reads already under way are out of date now, not once it is applied. */
  bump_generation (self, uuid);

  queued.uuid = g_strdup (uuid);
  queued.dom = dom;
  virDomainRef (dom);
  queued.event = event;
  queued.detail = detail;
  g_array_append_val (self->events, queued);

  /* Below drawing: a frame comes between two rounds. */
  if (self->events_source == 0)
    self->events_source = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, apply_events_cb, self, NULL);
  return 0;
}

GArray *
_tsr_event_queue_new (void)
{
  GArray *events = g_array_new (FALSE, FALSE, sizeof (QueuedEvent));

  g_array_set_clear_func (events, queued_event_clear);
  return events;
}

/* Events not applied yet are moot once the handle is gone. */
void
_tsr_connection_drop_events (TsrConnection *self)
{
  g_clear_handle_id (&self->events_source, g_source_remove);
  g_array_set_size (self->events, 0);
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
    /* Read once for all the events of a burst. */
    _tsr_connection_queue_network_refresh (self, name);
}

/* Reading domains again: all the domains events named since the last
 * round are read by one task, a few at a time, and their rows change
 * together: the new ones join the list in one splice.
 */

/* How many threads read domains at once, and how many domains make it
 * worth another thread.
 */
#define REFRESH_THREADS       4
#define REFRESH_PER_THREAD    16

/* How many domains one round reads at most, and how long the main thread
 * applies results in one go (at least a hundred, so that the rows come in
 * a few splices on a slow machine too): the rest after the next frame.
 */
#define REFRESH_MAX_ROUND     1000
#define REFRESH_APPLY_BUDGET  (4 * G_TIME_SPAN_MILLISECOND)
#define REFRESH_APPLY_MIN     100

typedef struct
{
  char         *uuid;
  virDomainPtr  dom;
  guint         generation;
  DomainResult  result;
  gboolean      gone;
} RefreshItem;

typedef struct
{
  RefreshItem *items;
  guint        n_items;
  gint         next;
  guint        applied;
  char        *kernels_dir;
} RefreshData;

static void
refresh_data_free (RefreshData *data)
{
  for (guint i = 0; i < data->n_items; i++)
    {
      g_free (data->items[i].uuid);
      g_clear_pointer (&data->items[i].dom, dom_unref);
      _tsr_domain_result_clear (&data->items[i].result);
    }
  g_free (data->items);
  g_free (data->kernels_dir);
  g_free (data);
}

/* Reads one domain; builds its row too, which the main thread uses if the
 * domain is new, so that a burst of new domains costs it only insertions.
 */
static void
refresh_one (RefreshItem *item,
             const char  *kernels_dir)
{
  g_autofree char *xml = NULL;
  DomainResult *r = &item->result;
  int state, reason;

  xml = virDomainGetXMLDesc (item->dom, 0);
  if (xml == NULL)
    {
      virErrorPtr err = virGetLastError ();

      item->gone = err != NULL && err->code == VIR_ERR_NO_DOMAIN;
      return;
    }

  r->config = tsr_vm_config_parse (xml, kernels_dir, NULL);
  r->state = TSR_VM_STATE_UNKNOWN;
  if (virDomainGetState (item->dom, &state, &reason, 0) == 0)
    r->state = _tsr_vm_state_from_libvirt (state);

  if (r->config == NULL)
    return;

  if (r->state == TSR_VM_STATE_RUNNING && !g_str_has_prefix (r->config->netvm, "tessera"))
    r->agent_ip = fetch_guest_address (item->dom);

  r->vm = tsr_vm_new (r->config->uuid);
  tsr_vm_set_config (r->vm, r->config);
  tsr_vm_set_state (r->vm, r->state);
}

static gpointer
refresh_thread (gpointer user_data)
{
  RefreshData *data = user_data;
  gint i;

  tsr_assert_worker_thread ();
  while ((i = g_atomic_int_add (&data->next, 1)) < (gint) data->n_items)
    refresh_one (&data->items[i], data->kernels_dir);

  return NULL;
}

static void
refresh_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RefreshData *data = task_data;
  guint n_threads = CLAMP (data->n_items / REFRESH_PER_THREAD, 1, REFRESH_THREADS);
  GThread *threads[REFRESH_THREADS];

  tsr_assert_worker_thread ();
  for (guint t = 1; t < n_threads; t++)
    threads[t] = g_thread_new ("tsr-refresh", refresh_thread, data);
  refresh_thread (data);
  for (guint t = 1; t < n_threads; t++)
    g_thread_join (threads[t]);

  g_task_return_boolean (task, TRUE);
}

/* Applies ITEM's result; a row for a new domain goes into ADDED. */
static void
apply_refresh (TsrConnection *self,
               RefreshItem   *item,
               GPtrArray     *added)
{
  guint gen;
  TsrVm *vm;

  gen = GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, item->uuid));
  if (gen != item->generation && (item->gone || item->result.config != NULL))
    {
      /* An event arrived while this was read (the domain may even be back
       * after an undefine): read again so the newest state wins.
       */
      if (g_hash_table_contains (self->domains, item->uuid))
        schedule_refresh (self, item->uuid);
      return;
    }

  if (item->gone)
    {
      _tsr_connection_queue_removal (self, item->uuid);
      return;
    }

  if (item->result.config == NULL)
    return;

  item->result.dom = g_steal_pointer (&item->dom);
  _tsr_connection_apply_domain_result (self, &item->result, added);
  if (item->result.agent_ip == NULL)
    g_hash_table_remove (self->agent_ips, item->uuid);

  /* Only this VM's address can have changed: the networks are as they were. */
  vm = g_hash_table_lookup (self->by_uuid, item->uuid);
  if (vm != NULL)
    _tsr_connection_compute_address (self, vm);
}

/* Applies the next results of TASK, as many as fit in a few
 * milliseconds, so that a burst of thousands does not stall the main loop;
 * new rows join the list in one splice per round.
 */
static gboolean
apply_refresh_round_cb (gpointer user_data)
{
  GTask *task = user_data;
  TsrConnection *self = g_task_get_source_object (task);
  RefreshData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start = g_get_monotonic_time ();
  guint first = data->applied;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return G_SOURCE_REMOVE;

  while (data->applied < data->n_items &&
         (data->applied - first < REFRESH_APPLY_MIN ||
          g_get_monotonic_time () - start < REFRESH_APPLY_BUDGET))
    apply_refresh (self, &data->items[data->applied++], added);

  if (added->len > 0)
    g_list_store_splice (self->vms, g_list_model_get_n_items (G_LIST_MODEL (self->vms)), 0,
                         added->pdata, added->len);

  return data->applied < data->n_items ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
refresh_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = G_TASK (result);

  if (!g_task_propagate_boolean (task, NULL))
    return;

  if (apply_refresh_round_cb (task) == G_SOURCE_CONTINUE)
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, apply_refresh_round_cb, g_object_ref (task),
                     g_object_unref);
}

static gboolean
refresh_idle_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  g_autoptr(GTask) task = NULL;
  RefreshData *data;
  GHashTableIter iter;
  gpointer key;

  self->refresh_idle = 0;
  self->last_refresh = g_get_monotonic_time ();

  data = g_new0 (RefreshData, 1);
  data->items = g_new0 (RefreshItem, MIN (g_hash_table_size (self->pending_refresh),
                                          REFRESH_MAX_ROUND));
  data->kernels_dir = g_strdup (self->kernels_dir);

  g_hash_table_iter_init (&iter, self->pending_refresh);
  while (data->n_items < REFRESH_MAX_ROUND && g_hash_table_iter_next (&iter, &key, NULL))
    {
      virDomainPtr dom = g_hash_table_lookup (self->domains, key);
      RefreshItem *item = &data->items[data->n_items];

      if (dom != NULL && self->conn != NULL)
        {
          item->uuid = g_strdup (key);
          item->dom = dom;
          virDomainRef (dom);
          item->generation = GPOINTER_TO_UINT (g_hash_table_lookup (self->generation, key));
          data->n_items++;
        }
      g_hash_table_iter_remove (&iter);
    }

  /* The rest in the next round. */
  if (g_hash_table_size (self->pending_refresh) > 0 && self->conn != NULL)
    self->refresh_idle = g_timeout_add ((guint) (TSR_FLUSH_INTERVAL / 1000), refresh_idle_cb, self);
  else
    g_hash_table_remove_all (self->pending_refresh);

  if (data->n_items == 0)
    {
      refresh_data_free (data);
      return G_SOURCE_REMOVE;
    }

  task = g_task_new (self, self->cancellable, refresh_done_cb, NULL);
  g_task_set_source_tag (task, refresh_idle_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) refresh_data_free);
  g_task_run_in_thread (task, refresh_worker);

  return G_SOURCE_REMOVE;
}

/* Several events for one domain in a burst (define, start, resume) are read
 * once, and the domains of a burst by few tasks.
 */
static void
schedule_refresh (TsrConnection *self,
                  const char    *uuid)
{
  gint64 wait;

  g_hash_table_add (self->pending_refresh, g_strdup (uuid));
  if (self->refresh_idle != 0)
    return;

  /* In a storm, a round at most once a frame, so that rounds are few and
   * large; the first event after a quiet spell is read at once.
   */
  wait = self->last_refresh + TSR_FLUSH_INTERVAL - g_get_monotonic_time ();
  if (wait <= 0)
    self->refresh_idle = g_idle_add (refresh_idle_cb, self);
  else
    self->refresh_idle = g_timeout_add ((guint) (wait / 1000) + 1, refresh_idle_cb, self);
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
