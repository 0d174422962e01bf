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
#include "tsr-recover.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"

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

enum {
  RECOVERED,
  VM_STOPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

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


void
_tsr_connection_set_state (TsrConnection      *self,
                           TsrConnectionState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* An open or load that failed for another reason than a cancel leaves the
 * connection down, and tries again later if it was up before. Takes ERROR
 * and answers TASK with it.
 */
void
_tsr_connection_fail (TsrConnection *self,
                      GTask         *task,
                      GError        *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      _tsr_connection_set_last_error (self, error);
      _tsr_connection_set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
      if (self->loaded && !self->closed_by_user)
        _tsr_connection_schedule_reconnect (self);
    }
  g_task_return_error (task, error);
}

void
_tsr_connection_set_loaded (TsrConnection *self)
{
  if (self->loaded)
    return;
  self->loaded = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

void
_tsr_connection_set_last_error (TsrConnection *self,
                                const GError  *error)
{
  g_clear_error (&self->last_error);
  if (error != NULL)
    self->last_error = g_error_copy (error);
}

/* Open */

typedef struct
{
  virConnectPtr  conn;
  GPtrArray     *report;  /* what recovery did */
} Opened;

static void
opened_free (Opened *opened)
{
  g_clear_pointer (&opened->conn, tsr_conn_release);
  g_clear_pointer (&opened->report, g_ptr_array_unref);
  g_free (opened);
}

static void
open_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TsrConnection *self = source_object;
  const char *uri = task_data;
  Opened *opened;
  virConnectPtr conn;

  tsr_assert_worker_thread ();
  conn = virConnectOpen (uri);
  if (conn == NULL)
    {
      GError *error = NULL;

      tsr_error_set_connect_failed (&error, uri);
      g_task_return_error (task, error);
      return;
    }

  /* Operations a crash interrupted are finished before the list is read,
   * so that it never shows their half-made VMs.
   */
  opened = g_new0 (Opened, 1);
  opened->conn = conn;
  opened->report = g_ptr_array_new_with_free_func (g_free);
  tsr_recover_sync (conn, &self->reserve_lock, opened->report);
  g_task_return_pointer (task, opened, (GDestroyNotify) opened_free);
}

static void
opened_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  Opened *opened;

  opened = g_task_propagate_pointer (G_TASK (result), &error);
  if (opened == NULL)
    {
      _tsr_connection_fail (self, task, g_steal_pointer (&error));
      return;
    }

  self->conn = g_steal_pointer (&opened->conn);
  if (opened->report->len > 0)
    {
      g_ptr_array_add (opened->report, NULL);
      g_strfreev (self->recovered);
      self->recovered = (GStrv) g_ptr_array_steal (opened->report, NULL);
      g_signal_emit (self, signals[RECOVERED], 0, self->recovered);
    }
  opened_free (opened);
  g_clear_pointer (&self->ctx, _tsr_event_ctx_unref);
  self->ctx = _tsr_event_ctx_new (self);
  _tsr_connection_start_load (self, TRUE, g_steal_pointer (&task));
}

static void
begin_open (TsrConnection *self,
            GTask         *outer)
{
  GTask *task = g_task_new (self, self->cancellable, opened_cb, outer);

  _tsr_connection_set_state (self, TSR_CONNECTION_STATE_CONNECTING);
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
  return tsr_task_propagate_boolean (self, result, error);
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

void
_tsr_connection_schedule_reconnect (TsrConnection *self)
{
  if (self->reconnect_source != 0 || self->closed_by_user)
    return;

  self->reconnect_source = g_timeout_add (self->reconnect_delay, reconnect_timeout_cb, self);
  self->reconnect_delay = MIN (self->reconnect_delay * 2, self->max_delay);
}


void
tsr_connection_close (TsrConnection *self)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  self->closed_by_user = TRUE;
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->refresh_idle, g_source_remove);
  _tsr_connection_cancel_flush (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  _tsr_connection_drop_handle (self);
  g_clear_pointer (&self->ctx, _tsr_event_ctx_unref);
  _tsr_connection_set_state (self, TSR_CONNECTION_STATE_DISCONNECTED);
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
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_clear_handle_id (&self->orphan_sweep, g_source_remove);
  g_clear_handle_id (&self->address_source, g_source_remove);
  self->closed_by_user = TRUE;
  _tsr_connection_drop_handle (self);
  g_clear_pointer (&self->ctx, _tsr_event_ctx_unref);

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
  g_clear_pointer (&self->pending_removals, g_hash_table_unref);
  g_clear_pointer (&self->pending_networks, g_hash_table_unref);
  g_clear_pointer (&self->events, g_array_unref);
  g_clear_pointer (&self->address_networks, g_hash_table_unref);
  g_clear_pointer (&self->address_pass, g_ptr_array_unref);
  g_clear_error (&self->last_error);
  g_mutex_clear (&self->reserve_lock);
  g_free (self->uri);
  g_free (self->kernels_dir);
  g_strfreev (self->recovered);

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

  /**
   * TsrConnection::recovered:
   * @lines: what was done, one sentence each
   *
   * Opening the connection finished operations a crash, kill or daemon
   * restart had interrupted (see tsr-recover.h).
   */
  signals[RECOVERED] =
    g_signal_new ("recovered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRV);
  /**
   * TsrConnection::vm-stopped:
   * @vm: the VM
   *
   * A VM stopped (libvirt's event): a DisposableVM is then removed.
   */
  signals[VM_STOPPED] =
    g_signal_new ("vm-stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, TSR_TYPE_VM);
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
  self->pending_removals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending_networks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->events = _tsr_event_queue_new ();
  self->address_networks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
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

/* The start of every call that hands the handle to a worker: a task tagged
 * SOURCE_TAG and, in *CONN, a reference for the worker's data. NULL, with
 * CALLBACK answered "not connected", when there is no handle.
 */
GTask *
tsr_connection_task_new (TsrConnection        *self,
                         gpointer              source_tag,
                         GCancellable         *cancellable,
                         GAsyncReadyCallback   callback,
                         gpointer              user_data,
                         virConnectPtr        *conn)
{
  g_autoptr(GTask) task = NULL;

  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (conn != NULL, NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  if (!(*conn = tsr_connection_ref_handle (self, task)))
    return NULL;
  return g_steal_pointer (&task);
}

static void
call_free (gpointer data)
{
  TsrCall *call = data;

  if (call->clear != NULL)
    call->clear (call);
  g_clear_pointer (&call->conn, tsr_conn_release);
  g_free (call->uuid);
  g_free (call->name);
  g_free (call->kernels_dir);
  g_free (call);
}

/* The data, SIZE bytes starting with a TsrCall, of a task in *TASK tagged
 * SOURCE_TAG: the handle, VM's uuid, the kernels folder as it is now and
 * whether the host is this machine. CLEAR frees the rest. NULL, with
 * CALLBACK answered "not connected", when there is no handle.
 */
gpointer
tsr_connection_call_new (TsrConnection        *self,
                         TsrVm                *vm,
                         gsize                 size,
                         GDestroyNotify        clear,
                         gpointer              source_tag,
                         GCancellable         *cancellable,
                         GAsyncReadyCallback   callback,
                         gpointer              user_data,
                         GTask               **task)
{
  virConnectPtr conn;
  TsrCall *call;

  g_return_val_if_fail (size >= sizeof (TsrCall), NULL);
  g_return_val_if_fail (task != NULL, NULL);

  *task = tsr_connection_task_new (self, source_tag, cancellable, callback, user_data, &conn);
  if (*task == NULL)
    return NULL;

  call = g_malloc0 (size);
  call->conn = conn;
  call->uuid = vm != NULL ? g_strdup (tsr_vm_get_uuid (vm)) : NULL;
  call->name = vm != NULL ? g_strdup (tsr_vm_get_name (vm)) : NULL;
  call->kernels_dir = g_strdup (self->kernels_dir);
  call->local = tsr_uri_is_local (self->uri);
  call->clear = clear;
  g_task_set_task_data (*task, call, call_free);
  return call;
}

void
_tsr_connection_emit_vm_stopped (TsrConnection *self,
                                 TsrVm         *vm)
{
  g_signal_emit (self, signals[VM_STOPPED], 0, vm);
}

const char * const *
tsr_connection_get_recovered (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return (const char * const *) self->recovered;
}

GMutex *
tsr_connection_get_reserve_lock (TsrConnection *self)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  return &self->reserve_lock;
}
