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
#include "tsr-threads.h"
#include "tsr-vm-private.h"

/* TsrConnection's networks: what each one reserves and leases, and the
 * address each VM gets from them.
 */

/* Leases appear some seconds after a guest boots and libvirt has no event
 * for them, so after a start the lease table is read again a few times.
 */
static const guint lease_retry_seconds[TSR_N_LEASE_RETRIES] = { 2, 4, 8, 16, 30 };

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

void
_tsr_connection_store_network (TsrConnection  *self,
                               TsrNetworkInfo *info)
{
  g_hash_table_replace (self->networks, g_strdup (info->name), info);
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

static gboolean
network_step (gpointer       task_data,
              GCancellable  *cancellable,
              GError       **error)
{
  NetworkData *data = task_data;
  g_autoptr(virNetwork) net = NULL;

  if (!(net = tsr_network_lookup_by_name (data->conn, data->name, error)))
    return FALSE;
  data->info = _tsr_fetch_network_info (net, error);
  return data->info != NULL;
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
    _tsr_connection_refresh_network (self, retry->name, retry->attempt);
  return G_SOURCE_REMOVE;
}

void
_tsr_connection_refresh_network (TsrConnection *self,
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
  g_task_set_source_tag (task, _tsr_connection_refresh_network);
  g_task_set_task_data (task, data, (GDestroyNotify) network_data_free);
  tsr_task_run_sync (task, network_step);
}

/* VM's address from the networks as they are known now. */
void
_tsr_connection_compute_address (TsrConnection *self,
                                 TsrVm         *vm)
{
  _tsr_compute_address_in (self->networks, g_hash_table_lookup (self->agent_ips, tsr_vm_get_uuid (vm)),
                      vm);
}

/* Reservation first (known even while the VM is halted), then the lease,
 * then what the guest agent or the ARP table said.
 */
void
_tsr_compute_address_in (GHashTable *networks,
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

/* Addresses again for every VM of a network (a lease table read again, a
 * reservation changed, a network gone) cost a few microseconds a VM, and
 * such changes come in bursts: a thousand VMs started, or given
 * reservations, one after the other. So the networks to look at again are
 * noted, and one pass over the VMs, a few milliseconds at a time between
 * frames, serves all the changes noted meanwhile. A short list is done at
 * once.
 */
#define ADDRESS_BUDGET   (4 * G_TIME_SPAN_MILLISECOND)
#define ADDRESS_SYNC_MAX 256

static gboolean
address_round_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  gint64 start = g_get_monotonic_time ();

  if (self->address_pass == NULL)
    {
      gboolean all = g_hash_table_contains (self->address_networks, "");
      GHashTableIter iter;
      gpointer value;

      self->address_pass = g_ptr_array_new_with_free_func (g_object_unref);
      self->address_next = 0;
      self->n_address_passes++;
      g_hash_table_iter_init (&iter, self->by_uuid);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (all || g_hash_table_contains (self->address_networks, tsr_vm_get_netvm (value)))
          g_ptr_array_add (self->address_pass, g_object_ref (value));
      g_hash_table_remove_all (self->address_networks);
    }

  while (self->address_next < self->address_pass->len &&
         g_get_monotonic_time () - start < ADDRESS_BUDGET)
    _tsr_connection_compute_address (self, g_ptr_array_index (self->address_pass,
                                                              self->address_next++));

  if (self->address_next < self->address_pass->len)
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&self->address_pass, g_ptr_array_unref);
  if (g_hash_table_size (self->address_networks) > 0)
    return G_SOURCE_CONTINUE;
  self->address_source = 0;
  return G_SOURCE_REMOVE;
}

/* The addresses of the VMs on NETWORK (all VMs with NULL) are computed
 * again from the networks as they are known now.
 */
void
_tsr_connection_recompute_addresses (TsrConnection *self,
                                     const char    *network)
{
  if (self->address_source == 0 && g_hash_table_size (self->by_uuid) <= ADDRESS_SYNC_MAX)
    {
      GHashTableIter iter;
      gpointer value;

      self->n_address_passes++;
      g_hash_table_iter_init (&iter, self->by_uuid);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (network == NULL || g_strcmp0 (tsr_vm_get_netvm (value), network) == 0)
          _tsr_connection_compute_address (self, value);
      return;
    }

  g_hash_table_add (self->address_networks, g_strdup (network != NULL ? network : ""));
  if (self->address_source == 0)
    self->address_source = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, address_round_cb, self, NULL);
}

/* Whether addresses wait to be computed again. */
gboolean
_tsr_connection_addresses_pending (TsrConnection *self)
{
  return self->address_source != 0;
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
