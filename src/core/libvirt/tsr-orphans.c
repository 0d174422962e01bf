/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-journal.h"
#include "tsr-macs.h"
#include "tsr-network.h"
#include "tsr-threads.h"

/* Orphan reservations: an address reserved on one of Tessera's networks
 * for a MAC that no domain of the host has any more (a VM removed with
 * virsh, or by an operation that died half way), and that no running
 * Tessera operation has just made. They are released when Tessera sees a
 * domain go, before it reserves an address, and by `tessera-cli repair`.
 * Other networks are never touched.
 */

/* The MACs of the reservations of operations still running, in any
 * process: their domain may not be defined yet.
 */
static GHashTable *
live_reservations (void)
{
  g_auto(GStrv) dirs = tsr_journal_dirs_to_scan ();
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_journal_record_free);
  GHashTable *macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  tsr_journal_scan ((const char * const *) dirs, live, NULL, NULL);
  tsr_journal_add_inflight (macs);
  for (guint i = 0; i < live->len; i++)
    {
      TsrJournalRecord *record = g_ptr_array_index (live, i);

      for (guint j = 0; j < record->reservations->len; j++)
        {
          TsrJournalReservation *r = g_ptr_array_index (record->reservations, j);

          g_hash_table_add (macs, g_ascii_strdown (r->mac, -1));
        }
    }
  return macs;
}

/* The names of the host's domains: one round trip. */
static GHashTable *
domain_names (virConnectPtr conn)
{
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);

  if (n < 0)
    {
      g_hash_table_unref (names);
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      g_hash_table_add (names, g_strdup (virDomainGetName (doms[i])));
      virDomainFree (doms[i]);
    }
  free (doms);
  return names;
}

/* In NET (whose reservations INFO lists), releases the orphans and adds a
 * line for each to REPORT. With QUICK, an entry named after an existing
 * domain is taken as used without reading every domain's definition (the
 * case of nearly every entry, before each reservation); *MACS is read
 * once, when first needed. Under the reservation lock.
 */
static guint
release_in (virConnectPtr    conn,
            virNetworkPtr    net,
            TsrNetworkInfo  *info,
            gboolean         quick,
            GHashTable     **macs,
            GHashTable     **live,
            GHashTable      *names,
            GPtrArray       *report)
{
  guint released = 0;

  for (guint i = 0; i < info->hosts->len; i++)
    {
      TsrDhcpHost *host = g_ptr_array_index (info->hosts, i);
      g_autofree char *mac = host->mac ? g_ascii_strdown (host->mac, -1) : NULL;
      g_autofree char *host_xml = NULL;

      if (mac == NULL)
        continue;
      if (quick && names != NULL && host->name != NULL && g_hash_table_contains (names, host->name))
        continue;
      /* Running operations first: a local read, where the domains are a
       * round trip each.
       */
      if (*live == NULL)
        *live = live_reservations ();
      if (g_hash_table_contains (*live, mac))
        continue;
      if (*macs == NULL && (*macs = tsr_macs_in_use (conn, NULL)) == NULL)
        return released;
      if (g_hash_table_contains (*macs, mac))
        continue;
      /* A domain defined meanwhile by an operation that just ended. */

      host_xml = tsr_network_build_host_xml (host->mac, host->name, host->ip);
      if (!tsr_network_update_host (net, VIR_NETWORK_UPDATE_COMMAND_DELETE, host_xml))
        {
          virResetLastError ();
          continue;
        }
      released++;
      if (report != NULL)
        g_ptr_array_add (report,
                         g_strdup_printf (_("Released address %s on “%s”, reserved for %s%s%s%s "
                                            "which no VM has any more"),
                                          host->ip ? host->ip : "?", virNetworkGetName (net), mac,
                                          host->name ? " (“" : "", host->name ? host->name : "",
                                          host->name ? "”)" : ""));
      g_info ("orphan reservation released: %s %s on %s", mac, host->ip ? host->ip : "",
              virNetworkGetName (net));
    }
  return released;
}

guint
_tsr_release_orphans_locked (virConnectPtr    conn,
                             virNetworkPtr    net,
                             TsrNetworkInfo  *info,
                             GPtrArray       *report)
{
  g_autoptr(GHashTable) names = domain_names (conn);
  g_autoptr(GHashTable) macs = NULL;
  g_autoptr(GHashTable) live = NULL;

  if (names == NULL || !tsr_network_name_is_managed (virNetworkGetName (net)))
    return 0;
  return release_in (conn, net, info, TRUE, &macs, &live, names, report);
}

guint
tsr_release_orphans_sync (GMutex        *lock,
                          virConnectPtr  conn,
                          gboolean       quick,
                          GPtrArray     *report)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (lock);
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(GHashTable) macs = NULL;
  g_autoptr(GHashTable) live = NULL;
  virNetworkPtr *nets = NULL;
  guint released = 0;
  int n;

  tsr_assert_worker_thread ();
  if ((names = domain_names (conn)) == NULL)
    return 0;
  n = virConnectListAllNetworks (conn, &nets, 0);
  for (int i = 0; i < n; i++)
    {
      g_autoptr(virNetwork) net = nets[i];
      g_autoptr(TsrNetworkInfo) info = NULL;

      if (!tsr_network_name_is_managed (virNetworkGetName (net)))
        continue;
      if ((info = _tsr_read_network_for_update (net, NULL)) == NULL)
        continue;
      released += release_in (conn, net, info, quick, &macs, &live, names, report);
    }
  free (nets);
  virResetLastError ();
  return released;
}

/* After a domain went */

#define SWEEP_DELAY_MS 1000

typedef struct
{
  virConnectPtr  conn;
  GMutex        *lock;
  GPtrArray     *report;
} SweepData;

static void
sweep_data_free (SweepData *data)
{
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_ptr_array_unref (data->report);
  g_free (data);
}

static void
sweep_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  SweepData *data = task_data;

  tsr_release_orphans_sync (data->lock, data->conn, TRUE, data->report);
  g_task_return_boolean (task, TRUE);
}

static void
sweep_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  TsrConnection *self = TSR_CONNECTION (object);
  SweepData *data = g_task_get_task_data (G_TASK (result));

  for (guint i = 0; i < data->report->len; i++)
    g_info ("%s", (const char *) g_ptr_array_index (data->report, i));
  if (data->report->len > 0)
    _tsr_connection_queue_network_refresh (self, TSR_MANAGED_NETWORK_NAME);
}

static gboolean
sweep_cb (gpointer user_data)
{
  TsrConnection *self = user_data;
  g_autoptr(GTask) task = NULL;
  SweepData *data;

  self->orphan_sweep = 0;
  if (self->conn == NULL)
    return G_SOURCE_REMOVE;

  task = g_task_new (self, self->cancellable, sweep_done_cb, NULL);
  g_task_set_source_tag (task, sweep_cb);
  data = g_new0 (SweepData, 1);
  data->conn = self->conn;
  virConnectRef (data->conn);
  data->lock = &self->reserve_lock;
  data->report = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify) sweep_data_free);
  g_task_run_in_thread (task, sweep_worker);
  return G_SOURCE_REMOVE;
}

void
_tsr_connection_schedule_orphan_sweep (TsrConnection *self)
{
  if (self->orphan_sweep == 0)
    self->orphan_sweep = g_timeout_add (SWEEP_DELAY_MS, sweep_cb, self);
}
