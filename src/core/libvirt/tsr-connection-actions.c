/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-task.h"
#include "tsr-template.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"

/* TsrConnection's actions: starting and stopping VMs, the managed network,
 * and DHCP address reservations. Every libvirt call runs in a worker.
 */

/* Lifecycle operations */

typedef enum
{
  OP_START,
  OP_SHUTDOWN,
  OP_FORCE_OFF,
  OP_PAUSE,
  OP_RESUME,
} LifecycleOp;

typedef struct
{
  virDomainPtr  dom;
  LifecycleOp   op;
  char         *name;
} LifecycleData;

static void
lifecycle_data_free (LifecycleData *data)
{
  g_clear_pointer (&data->dom, dom_unref);
  g_free (data->name);
  g_free (data);
}

/* A VM on one of Tessera's networks that is not running (after a host
 * restart where autostart did not run, or virsh net-destroy) would not
 * start: the network is started first. Blocking: workers only.
 */
void
tsr_start_vm_network_sync (virDomainPtr dom)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  g_autoptr(TsrVmConfig) config = xml ? tsr_vm_config_parse (xml, NULL, NULL) : NULL;
  g_autoptr(virNetwork) net = NULL;

  if (config == NULL || config->netvm == NULL || !tsr_network_name_is_managed (config->netvm))
    {
      virResetLastError ();
      return;
    }
  net = virNetworkLookupByName (virDomainGetConnect (dom), config->netvm);
  if (net != NULL && virNetworkIsActive (net) == 0 && virNetworkCreate (net) == 0)
    g_info ("started network %s, which %s needs and which was not running", config->netvm,
            virDomainGetName (dom));
  virResetLastError ();
}

static gboolean
lifecycle_step (gpointer       task_data,
                GCancellable  *cancellable,
                GError       **error)
{
  LifecycleData *data = task_data;
  g_autofree char *what = NULL;
  int ret = -1;

  switch (data->op)
    {
    case OP_START:
      tsr_start_vm_network_sync (data->dom);
      /* Templates commit their last session; AppVMs get a fresh root. */
      if (!tsr_template_prepare_start_sync (data->dom, error))
        return FALSE;
      ret = virDomainCreate (data->dom);
      what = g_strdup_printf (_("Could not start “%s”"), data->name);
      break;
    case OP_SHUTDOWN:
      ret = virDomainShutdown (data->dom);
      what = g_strdup_printf (_("Could not shut down “%s”"), data->name);
      break;
    case OP_FORCE_OFF:
      ret = virDomainDestroy (data->dom);
      what = g_strdup_printf (_("Could not force off “%s”"), data->name);
      break;
    case OP_PAUSE:
      ret = virDomainSuspend (data->dom);
      what = g_strdup_printf (_("Could not pause “%s”"), data->name);
      break;
    case OP_RESUME:
      ret = virDomainResume (data->dom);
      what = g_strdup_printf (_("Could not resume “%s”"), data->name);
      break;
    default:
      g_assert_not_reached ();
    }

  if (ret < 0)
    tsr_error_set_from_libvirt (error, what);
  return ret >= 0;
}

static void
run_lifecycle (TsrConnection       *self,
               TsrVm               *vm,
               LifecycleOp          op,
               gpointer             source_tag,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  virDomainPtr dom = g_hash_table_lookup (self->domains, tsr_vm_get_uuid (vm));
  LifecycleData *data;

  g_task_set_source_tag (task, source_tag);

  if (self->conn == NULL || dom == NULL)
    {
      GError *error = NULL;

      tsr_error_set_not_connected (&error, self->uri);
      g_task_return_error (task, error);
      return;
    }

  if (op == OP_START && tsr_vm_is_active (vm))
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                               _("“%s” is already running."), tsr_vm_get_name (vm));
      return;
    }
  if (op != OP_START && !tsr_vm_is_active (vm))
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING,
                               _("“%s” is not running."), tsr_vm_get_name (vm));
      return;
    }

  if (op == OP_PAUSE && tsr_vm_get_state (vm) == TSR_VM_STATE_PAUSED)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                               _("“%s” is already paused."), tsr_vm_get_name (vm));
      return;
    }
  if (op == OP_RESUME && tsr_vm_get_state (vm) != TSR_VM_STATE_PAUSED)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING,
                               _("“%s” is not paused."), tsr_vm_get_name (vm));
      return;
    }

  data = g_new0 (LifecycleData, 1);
  data->dom = dom;
  virDomainRef (dom);
  data->op = op;
  data->name = g_strdup (tsr_vm_get_name (vm));
  g_task_set_task_data (task, data, (GDestroyNotify) lifecycle_data_free);
  tsr_task_run_sync (task, lifecycle_step);
}

void
tsr_connection_start_vm_async (TsrConnection       *self,
                               TsrVm               *vm,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_lifecycle (self, vm, OP_START, tsr_connection_start_vm_async,
                 cancellable, callback, user_data);
}

gboolean
tsr_connection_start_vm_finish (TsrConnection  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}

void
tsr_connection_shutdown_vm_async (TsrConnection       *self,
                                  TsrVm               *vm,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_lifecycle (self, vm, OP_SHUTDOWN, tsr_connection_shutdown_vm_async,
                 cancellable, callback, user_data);
}

gboolean
tsr_connection_shutdown_vm_finish (TsrConnection  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}

void
tsr_connection_force_off_vm_async (TsrConnection       *self,
                                   TsrVm               *vm,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_lifecycle (self, vm, OP_FORCE_OFF, tsr_connection_force_off_vm_async,
                 cancellable, callback, user_data);
}

gboolean
tsr_connection_force_off_vm_finish (TsrConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}

void
tsr_connection_pause_vm_async (TsrConnection       *self,
                               TsrVm               *vm,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_lifecycle (self, vm, OP_PAUSE, tsr_connection_pause_vm_async,
                 cancellable, callback, user_data);
}

gboolean
tsr_connection_pause_vm_finish (TsrConnection  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}

void
tsr_connection_resume_vm_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  run_lifecycle (self, vm, OP_RESUME, tsr_connection_resume_vm_async,
                 cancellable, callback, user_data);
}

gboolean
tsr_connection_resume_vm_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}

/* Managed network and address reservations */

typedef struct
{
  virConnectPtr   conn;
  GMutex         *lock;
  char           *network;
  char           *mac;
  char           *vm_name;
  gboolean        isolated;
  char           *ip;
  TsrNetworkInfo *info;
} NetOpData;

static void
net_op_data_free (NetOpData *data)
{
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_free (data->network);
  g_free (data->mac);
  g_free (data->vm_name);
  g_free (data->ip);
  g_clear_pointer (&data->info, tsr_network_info_free);
  g_free (data);
}

/* The managed network is 10.137.0.0/24; other Tessera networks (the test
 * network among them) take the next free 10.137.N.0/24.
 */
static char *
pick_subnet (virConnectPtr  conn,
             const char    *name)
{
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  virNetworkPtr *nets = NULL;
  int n;

  if (g_strcmp0 (name, TSR_MANAGED_NETWORK_NAME) == 0)
    return g_strdup ("10.137.0");

  n = virConnectListAllNetworks (conn, &nets, 0);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virNetworkGetXMLDesc (nets[i], 0);
      g_autoptr(TsrNetworkInfo) info = xml ? tsr_network_info_new_from_xml (xml, NULL) : NULL;

      if (info != NULL && info->gateway != NULL)
        {
          char *dot = strrchr (info->gateway, '.');

          if (dot != NULL)
            g_hash_table_add (used, g_strndup (info->gateway, dot - info->gateway));
        }
      virNetworkFree (nets[i]);
    }
  free (nets);

  for (guint i = 1; i < 255; i++)
    {
      g_autofree char *candidate = g_strdup_printf ("10.137.%u", i);

      if (!g_hash_table_contains (used, candidate))
        return g_steal_pointer (&candidate);
    }

  return NULL;
}

static gboolean
ensure_network_step (gpointer       task_data,
                     GCancellable  *cancellable,
                     GError       **error)
{
  NetOpData *data = task_data;
  g_autoptr(virNetwork) net = NULL;

  net = virNetworkLookupByName (data->conn, data->network);
  if (net == NULL)
    {
      g_autofree char *subnet = pick_subnet (data->conn, data->network);
      g_autofree char *xml = NULL;

      if (subnet == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NO_ADDRESS,
                       _("No free 10.137.N.0/24 subnet is left for network “%s”: "
                         "remove an unused libvirt network."), data->network);
          return FALSE;
        }

      xml = tsr_network_build_managed_xml (data->network, subnet, data->isolated);
      net = virNetworkDefineXML (data->conn, xml);
      if (net == NULL)
        {
          tsr_error_set_from_libvirt (error, _("Could not define the network"));
          return FALSE;
        }
      virNetworkSetAutostart (net, 1);
    }

  if (virNetworkIsActive (net) != 1 && virNetworkCreate (net) < 0)
    {
      g_autofree char *what = g_strdup_printf (_("Could not start network “%s”"), data->network);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }

  data->info = _tsr_fetch_network_info (net, error);
  return data->info != NULL;
}

static void
net_op_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  g_autoptr(GTask) task = user_data;
  NetOpData *data = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->info != NULL)
    {
      _tsr_connection_store_network (self, g_steal_pointer (&data->info));
      _tsr_connection_recompute_addresses (self, data->network);
    }

  if (data->ip != NULL)
    g_task_return_pointer (task, g_steal_pointer (&data->ip), g_free);
  else
    g_task_return_boolean (task, TRUE);
}

/* Runs STEP in a worker on NETWORK (and MAC, VM_NAME, ISOLATED where it
 * uses them); the result's network is stored before CALLBACK runs.
 */
static void
run_net_op (TsrConnection       *self,
            const char          *network,
            const char          *mac,
            const char          *vm_name,
            gboolean             isolated,
            TsrTaskSyncFunc      step,
            gpointer             source_tag,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  GTask *outer;
  g_autoptr(GTask) task = NULL;
  NetOpData *data;

  if (self->conn == NULL)
    {
      GError *error = NULL;

      tsr_error_set_not_connected (&error, self->uri);
      g_task_report_error (self, callback, user_data, source_tag, error);
      return;
    }

  data = g_new0 (NetOpData, 1);
  data->conn = self->conn;
  virConnectRef (data->conn);
  data->lock = &self->reserve_lock;
  data->network = g_strdup (network);
  data->mac = mac ? g_ascii_strdown (mac, -1) : NULL;
  data->vm_name = g_strdup (vm_name);
  data->isolated = isolated;

  outer = g_task_new (self, cancellable, callback, user_data);
  task = g_task_new (self, cancellable, net_op_done_cb, outer);
  g_task_set_source_tag (outer, source_tag);
  g_task_set_source_tag (task, step);
  g_task_set_task_data (task, data, (GDestroyNotify) net_op_data_free);
  tsr_task_run_sync (task, step);
}

void
tsr_connection_ensure_network_async (TsrConnection       *self,
                                     const char          *name,
                                     gboolean             isolated,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));

  run_net_op (self, name ? name : TSR_MANAGED_NETWORK_NAME, NULL, NULL, isolated,
              ensure_network_step, tsr_connection_ensure_network_async,
              cancellable, callback, user_data);
}

gboolean
tsr_connection_ensure_network_finish (TsrConnection  *self,
                                      GAsyncResult   *result,
                                      GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}

TsrNetworkInfo *
_tsr_read_network_for_update (virNetworkPtr   net,
                              GError        **error)
{
  TsrNetworkInfo *info = _tsr_fetch_network_info (net, error);
  g_autofree char *inactive_xml = NULL;
  g_autoptr(TsrNetworkInfo) inactive = NULL;

  if (info == NULL)
    return NULL;

  /* Reservations made only in the persistent definition count as taken too. */
  inactive_xml = virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE);
  inactive = inactive_xml ? tsr_network_info_new_from_xml (inactive_xml, NULL) : NULL;
  for (guint i = 0; inactive != NULL && i < inactive->hosts->len; i++)
    {
      TsrDhcpHost *host = g_ptr_array_index (inactive->hosts, i);

      if (tsr_network_info_find_host (info, host->mac) == NULL)
        {
          TsrDhcpHost *copy = g_new0 (TsrDhcpHost, 1);

          copy->mac = g_strdup (host->mac);
          copy->ip = g_strdup (host->ip);
          copy->name = g_strdup (host->name);
          g_ptr_array_add (info->hosts, copy);
        }
    }
  tsr_network_info_reindex (info);

  return info;
}

/* NETWORK, in *NET, and what it reserves. */
static TsrNetworkInfo *
open_network_for_update (virConnectPtr   conn,
                         const char     *network,
                         virNetworkPtr  *net,
                         GError        **error)
{
  if (!(*net = tsr_network_lookup_by_name (conn, network, error)))
    return NULL;
  return _tsr_read_network_for_update (*net, error);
}

/* COMMAND on one DHCP host, in the definition and, while the network
 * runs, live.
 */
gboolean
tsr_network_update_host (virNetworkPtr  net,
                         unsigned int   command,
                         const char    *host_xml)
{
  unsigned int flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;

  if (virNetworkIsActive (net) == 1)
    flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
  return virNetworkUpdate (net, command, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
                           host_xml, flags) == 0;
}

/* Whether the last libvirt error says another entry took the address (or
 * the name) between reading the network and adding ours: another Tessera
 * process, or another program, reserving at the same time.
 */
static gboolean
lost_race (void)
{
  virErrorPtr verr = virGetLastError ();

  return verr != NULL && verr->message != NULL &&
         strstr (verr->message, "existing dhcp host entry") != NULL;
}

#define RESERVE_ATTEMPTS 32

/* Reserves the lowest free address for MAC on NETWORK, live and
 * persistent. Blocking: workers only. LOCK serialises this process's
 * reservations; other processes (and other hosts' clients) are met by
 * trying again: when libvirt says the address was taken meanwhile, the
 * network is read again and the next free address tried, up to
 * RESERVE_ATTEMPTS times.
 */
gboolean
tsr_reserve_address_sync (GMutex           *lock,
                          virConnectPtr     conn,
                          const char       *network,
                          const char       *mac,
                          const char       *vm_name,
                          char            **ip_out,
                          TsrNetworkInfo  **info_out,
                          GError          **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (lock);
  g_autoptr(TsrNetworkInfo) info = NULL;
  g_autoptr(virNetwork) net = NULL;

  tsr_assert_worker_thread ();
  if (!(info = open_network_for_update (conn, network, &net, error)))
    return FALSE;

  /* Addresses of VMs removed behind Tessera's back go back to the pool
   * before one is taken (a no-op, but for one round trip, on a clean host).
   */
  if (tsr_network_info_find_host (info, mac) == NULL &&
      _tsr_release_orphans_locked (conn, net, info, NULL) > 0)
    {
      g_clear_pointer (&info, tsr_network_info_free);
      if (!(info = _tsr_read_network_for_update (net, error)))
        return FALSE;
    }

  for (guint attempt = 1; ; attempt++)
    {
      g_autofree char *host_xml = NULL;
      g_autofree char *name = g_strdup (vm_name);
      g_autofree char *ip = NULL;
      const TsrDhcpHost *existing = tsr_network_info_find_host (info, mac);

      if (existing != NULL && existing->ip != NULL)
        {
          /* Already reserved for this MAC: nothing to change. */
          *ip_out = g_strdup (existing->ip);
          if (info_out != NULL)
            *info_out = g_steal_pointer (&info);
          return TRUE;
        }

      if (!(ip = tsr_network_info_next_free_ip (info, error)))
        return FALSE;

      /* libvirt refuses a second entry with the same host name; a stale one
       * (from a VM removed behind Tessera's back) must not block the
       * reservation, which then goes without a name.
       */
      for (guint i = 0; name != NULL && i < info->hosts->len; i++)
        {
          const TsrDhcpHost *host = g_ptr_array_index (info->hosts, i);

          if (g_strcmp0 (host->name, name) == 0)
            g_clear_pointer (&name, g_free);
        }

      host_xml = tsr_network_build_host_xml (mac, name, ip);
      if (tsr_network_update_host (net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, host_xml))
        {
          if (attempt > 1)
            g_info ("%s: reserved %s on %s at attempt %u (others reserved at the same time)",
                    mac, ip, network, attempt);
          if (info_out != NULL)
            *info_out = _tsr_read_network_for_update (net, NULL);
          *ip_out = g_steal_pointer (&ip);
          return TRUE;
        }

      if (!lost_race () || attempt == RESERVE_ATTEMPTS)
        {
          g_autofree char *what = g_strdup_printf (_("Could not reserve %s for %s on “%s”"),
                                                   ip, mac, network);

          tsr_error_set_from_libvirt (error, what);
          return FALSE;
        }
      virResetLastError ();
      g_clear_pointer (&info, tsr_network_info_free);
      if (!(info = _tsr_read_network_for_update (net, error)))
        return FALSE;
    }
}

static gboolean
reserve_step (gpointer       task_data,
              GCancellable  *cancellable,
              GError       **error)
{
  NetOpData *data = task_data;

  return tsr_reserve_address_sync (data->lock, data->conn, data->network, data->mac,
                                   data->vm_name, &data->ip, &data->info, error);
}

void
tsr_connection_reserve_address_async (TsrConnection       *self,
                                      const char          *network,
                                      const char          *mac,
                                      const char          *vm_name,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (network != NULL);

  if (!tsr_validate_mac (mac, &error))
    {
      g_task_report_error (self, callback, user_data, tsr_connection_reserve_address_async,
                           g_steal_pointer (&error));
      return;
    }

  run_net_op (self, network, mac, vm_name, FALSE, reserve_step,
              tsr_connection_reserve_address_async, cancellable, callback, user_data);
}

char *
tsr_connection_reserve_address_finish (TsrConnection  *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
tsr_release_address_sync (GMutex           *lock,
                          virConnectPtr     conn,
                          const char       *network,
                          const char       *mac,
                          TsrNetworkInfo  **info_out,
                          GError          **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (lock);
  g_autoptr(TsrNetworkInfo) info = NULL;
  const TsrDhcpHost *host;
  g_autoptr(virNetwork) net = NULL;

  tsr_assert_worker_thread ();
  if (!(info = open_network_for_update (conn, network, &net, error)))
    return FALSE;

  host = tsr_network_info_find_host (info, mac);
  if (host != NULL)
    {
      g_autofree char *host_xml = tsr_network_build_host_xml (host->mac, host->name, host->ip);

      if (!tsr_network_update_host (net, VIR_NETWORK_UPDATE_COMMAND_DELETE, host_xml))
        {
          tsr_error_set_from_libvirt (error, _("Could not release the address reservation"));
          return FALSE;
        }
    }

  if (info_out != NULL)
    *info_out = _tsr_read_network_for_update (net, NULL);
  return TRUE;
}

static gboolean
release_step (gpointer       task_data,
              GCancellable  *cancellable,
              GError       **error)
{
  NetOpData *data = task_data;

  return tsr_release_address_sync (data->lock, data->conn, data->network, data->mac,
                                   &data->info, error);
}

void
tsr_connection_release_address_async (TsrConnection       *self,
                                      const char          *network,
                                      const char          *mac,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (network != NULL);
  g_return_if_fail (mac != NULL);

  run_net_op (self, network, mac, NULL, FALSE, release_step,
              tsr_connection_release_address_async, cancellable, callback, user_data);
}

gboolean
tsr_connection_release_address_finish (TsrConnection  *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}


/* New names: create, clone and rename refuse the same names with the same
 * words.
 */

static void
set_name_in_use (GError     **error,
                 const char  *name)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
               _("A VM named “%s” already exists: choose another name."), name);
}

/* For dialogs, as the user types: the VMs in the list. */
gboolean
tsr_connection_check_new_vm_name (TsrConnection  *self,
                                  const char     *name,
                                  GError        **error)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), FALSE);

  if (!tsr_validate_vm_name (name, error))
    return FALSE;
  if (tsr_connection_lookup_vm (self, name) != NULL)
    {
      set_name_in_use (error, name);
      return FALSE;
    }
  return TRUE;
}

/* For workers, just before the name is used: libvirt itself, which also
 * knows VMs defined meanwhile by other programs.
 */
gboolean
tsr_check_new_vm_name_sync (virConnectPtr   conn,
                            const char     *name,
                            GError        **error)
{
  g_autoptr(virDomain) other = NULL;

  tsr_assert_worker_thread ();
  if (!tsr_validate_vm_name (name, error))
    return FALSE;
  other = virDomainLookupByName (conn, name);
  virResetLastError ();
  if (other != NULL)
    {
      set_name_in_use (error, name);
      return FALSE;
    }
  return TRUE;
}
