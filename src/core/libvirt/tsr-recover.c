/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-domain-uses.h"
#include "tsr-journal.h"
#include "tsr-media-vm.h"
#include "tsr-libvirt-private.h"
#include "tsr-recover.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

typedef struct
{
  virConnectPtr  conn;
  const char    *uri;
  GMutex        *reserve_lock;
  GPtrArray     *report;
} Recovery;

static void
say (Recovery   *rec,
     const char *format,
     ...) G_GNUC_PRINTF (2, 3);

static void
say (Recovery   *rec,
     const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (rec->report, g_strdup_vprintf (format, args));
  va_end (args);
}

/* ID is a UUID, or a name. */
static gboolean
domain_exists (virConnectPtr  conn,
               const char    *id)
{
  g_autoptr(virDomain) dom = NULL;

  dom = strlen (id) == VIR_UUID_STRING_BUFLEN - 1 && g_uuid_string_is_valid (id)
        ? virDomainLookupByUUIDString (conn, id) : virDomainLookupByName (conn, id);

  virResetLastError ();
  return dom != NULL;
}

/* Where the operation stood: forward once it has passed the point after
 * which undoing would lose more than finishing.
 */
static gboolean
goes_forward (Recovery         *rec,
              TsrJournalRecord *record)
{
  if (record->committed)
    return TRUE;
  for (guint i = 0; i < record->defines->len; i++)
    if (domain_exists (rec->conn, g_ptr_array_index (record->defines, i)))
      return TRUE;
  for (guint i = 0; i < record->removes->len; i++)
    if (!domain_exists (rec->conn, g_ptr_array_index (record->removes, i)))
      return TRUE;
  return FALSE;
}

static char *
xml_name (const char *xml)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (xml);

  return doc ? tsr_xml_text (tsr_xml_child (xmlDocGetRootElement (doc), "name")) : NULL;
}

/* A domain the operation changed goes back to its definition before. */
static gboolean
restore_domain (Recovery          *rec,
                TsrJournalRestore *restore)
{
  g_autoptr(virDomain) dom = virDomainLookupByUUIDString (rec->conn, restore->uuid);
  g_autofree char *now = NULL;
  g_autofree char *old_name = xml_name (restore->xml);
  g_autoptr(virDomain) defined = NULL;

  if (dom == NULL)
    {
      virResetLastError ();
      return TRUE;  /* removed since: nothing to put back */
    }
  now = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (g_strcmp0 (now, restore->xml) == 0)
    return TRUE;

  if (old_name != NULL && g_strcmp0 (old_name, virDomainGetName (dom)) != 0 &&
      virDomainRename (dom, old_name, 0) < 0)
    {
      say (rec, _("Could not give “%s” back its name “%s”: %s"), virDomainGetName (dom),
           old_name, virGetLastErrorMessage ());
      virResetLastError ();
      return FALSE;
    }
  defined = virDomainDefineXML (rec->conn, restore->xml);
  if (defined == NULL)
    {
      say (rec, _("Could not put back the definition of “%s”: %s"),
           old_name ? old_name : restore->uuid, virGetLastErrorMessage ());
      virResetLastError ();
      return FALSE;
    }
  say (rec, _("Put back the definition of “%s” as it was before"), old_name ? old_name : "?");
  return TRUE;
}

static virStorageVolPtr
lookup_volume (virConnectPtr     conn,
               TsrJournalVolume *v)
{
  virStorageVolPtr vol = NULL;

  if (v->pool != NULL && *v->pool != '\0' && v->name != NULL && *v->name != '\0')
    {
      g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (conn, v->pool);

      if (pool != NULL)
        {
          /* A file written by Tessera itself may not be listed yet. */
          virStoragePoolRefresh (pool, 0);
          vol = virStorageVolLookupByName (pool, v->name);
        }
    }
  if (vol == NULL && v->path != NULL && *v->path != '\0')
    vol = virStorageVolLookupByPath (conn, v->path);
  virResetLastError ();
  return vol;
}

/* A volume the record names, unless some domain uses it. */
static gboolean
drop_volume (Recovery         *rec,
             TsrJournalRecord *record,
             TsrJournalVolume *v,
             GHashTable       *used)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", v->pool, v->name);
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *path = NULL;
  g_autofree char *size = NULL;
  virStorageVolInfo info = { 0 };

  if (g_hash_table_contains (used, key) ||
      (v->path != NULL && *v->path != '\0' && g_hash_table_contains (used, v->path)))
    return TRUE;
  /* A user's file moved into the pool is theirs, even if it could not be
   * moved back.
   */
  for (guint i = 0; i < record->moves->len; i++)
    if (g_strcmp0 (((TsrJournalMove *) g_ptr_array_index (record->moves, i))->to, v->path) == 0)
      return TRUE;
  if ((vol = lookup_volume (rec->conn, v)) == NULL)
    return TRUE;
  path = virStorageVolGetPath (vol);
  if (path != NULL && g_hash_table_contains (used, path))
    return TRUE;

  virStorageVolGetInfo (vol, &info);
  size = g_format_size_full (info.allocation, G_FORMAT_SIZE_IEC_UNITS);
  if (virStorageVolDelete (vol, 0) < 0)
    {
      say (rec, _("Could not delete volume “%s” in pool “%s”: %s"), v->name, v->pool,
           virGetLastErrorMessage ());
      virResetLastError ();
      return FALSE;
    }
  say (rec, _("Deleted volume “%s” of pool “%s” (%s)"), v->name, v->pool, size);
  return TRUE;
}

static int
remove_entry (const char        *path,
              const struct stat *st,
              int                flag,
              struct FTW        *ftw)
{
  remove (path);  /* best effort: carry on */
  return 0;
}

/* A scratch folder of Tessera's (tessera-import-XXXXXX) and what is in it. */
static void
drop_temp (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);

  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      if (g_str_has_prefix (base, "tessera-"))
        nftw (path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
      return;
    }
  g_unlink (path);
}

static gboolean
drop_file (Recovery    *rec,
           const char  *path,
           GHashTable  *used,
           gboolean     quiet)
{
  if (used != NULL && g_hash_table_contains (used, path))
    return TRUE;
  if (g_unlink (path) == 0)
    {
      if (!quiet)
        say (rec, _("Deleted file %s"), path);
      return TRUE;
    }
  if (errno == ENOENT)
    return TRUE;
  say (rec, _("Could not delete %s: %s"), path, g_strerror (errno));
  return FALSE;
}

static gboolean
drop_reservation (Recovery              *rec,
                  TsrJournalReservation *r,
                  GHashTable            *macs)
{
  g_autofree char *mac = g_ascii_strdown (r->mac, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrNetworkInfo) info = NULL;
  const TsrDhcpHost *host;

  if (g_hash_table_contains (macs, mac))
    return TRUE;
  if (!tsr_release_address_sync (rec->reserve_lock, rec->conn, r->network, r->mac, &info, &error))
    {
      /* A network that is gone took its reservations with it. */
      if (virGetLastErrorCode () == VIR_ERR_NO_NETWORK)
        {
          virResetLastError ();
          return TRUE;
        }
      say (rec, _("Could not release the address of %s on “%s”: %s"), r->mac, r->network,
           error->message);
      virResetLastError ();
      return FALSE;
    }
  host = info ? tsr_network_info_find_host (info, mac) : NULL;
  if (host == NULL)
    say (rec, _("Released the address reserved for %s on “%s”"), r->mac, r->network);
  return host == NULL;
}

/* A reservation the operation had released goes back, for a VM that still
 * has that MAC: at its old address where that is free, else the next one.
 */
static gboolean
put_back_reservation (Recovery              *rec,
                      TsrJournalReservation *r,
                      GHashTable            *macs)
{
  g_autofree char *mac = g_ascii_strdown (r->mac, -1);
  g_autoptr(virNetwork) net = virNetworkLookupByName (rec->conn, r->network);
  g_autoptr(TsrNetworkInfo) info = NULL;
  g_autofree char *ip = NULL;
  g_autoptr(GError) error = NULL;
  gboolean taken = FALSE;

  if (net == NULL || !g_hash_table_contains (macs, mac))
    {
      virResetLastError ();
      return TRUE;
    }
  {
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (rec->reserve_lock);
    g_autofree char *host_xml = NULL;

    if ((info = _tsr_read_network_for_update (net, NULL)) == NULL)
      return FALSE;
    if (tsr_network_info_find_host (info, mac) != NULL)
      return TRUE;
    for (guint i = 0; i < info->hosts->len; i++)
      taken |= g_strcmp0 (((TsrDhcpHost *) g_ptr_array_index (info->hosts, i))->ip, r->ip) == 0;
    if (!taken)
      {
        host_xml = tsr_network_build_host_xml (r->mac, NULL, r->ip);
        if (tsr_network_update_host (net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, host_xml))
          {
            say (rec, _("Put back address %s for %s on “%s”"), r->ip, r->mac, r->network);
            return TRUE;
          }
        virResetLastError ();
      }
  }
  if (!tsr_reserve_address_sync (rec->reserve_lock, rec->conn, r->network, r->mac, r->name, &ip,
                                 NULL, &error))
    {
      say (rec, _("Could not give %s an address on “%s” again: %s"), r->mac, r->network,
           error->message);
      return FALSE;
    }
  say (rec, _("Gave %s address %s on “%s” (%s was taken meanwhile)"), r->mac, ip, r->network,
       r->ip);
  return TRUE;
}

/* TRUE when everything of RECORD was dealt with, so that it goes. */
static gboolean
recover_record (TsrJournalRecord *record,
                gpointer          user_data)
{
  Recovery *rec = user_data;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) used = NULL;
  g_autoptr(GHashTable) macs = NULL;
  gboolean forward, ok = TRUE;
  guint first_line = rec->report->len;

  if (g_strcmp0 (record->uri, rec->uri) != 0)
    return FALSE;  /* another host's: recovered when it is connected */

  forward = goes_forward (rec, record);
  g_info ("recovering %s (%s of “%s”, process %s): %s", record->path, record->op,
          record->vm_name, record->pid, forward ? "forward" : "back");

  if (!forward)
    {
      for (guint i = 0; i < record->restores->len; i++)
        ok &= restore_domain (rec, g_ptr_array_index (record->restores, i));
      for (guint i = 0; i < record->modes->len; i++)
        {
          TsrJournalMode *m = g_ptr_array_index (record->modes, i);

          g_chmod (m->path, m->mode);
        }
      /* The user's own file goes back where it was, never deleted. */
      for (guint i = 0; i < record->moves->len; i++)
        {
          TsrJournalMove *m = g_ptr_array_index (record->moves, i);

          if (g_file_test (m->to, G_FILE_TEST_EXISTS) &&
              !g_file_test (m->from, G_FILE_TEST_EXISTS) && g_rename (m->to, m->from) == 0)
            say (rec, _("Moved %s back to %s"), m->to, m->from);
        }
    }

  if ((all = tsr_domain_uses_all (rec->conn)) == NULL)
    return FALSE;  /* libvirt went away: next time */
  used = tsr_domain_uses_paths (all, NULL);
  macs = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < all->len; i++)
    {
      TsrDomainUses *uses = g_ptr_array_index (all, i);

      for (guint j = 0; j < uses->macs->len; j++)
        g_hash_table_add (macs, g_ptr_array_index (uses->macs, j));
    }

  for (guint i = 0; i < record->volumes->len; i++)
    ok &= drop_volume (rec, record, g_ptr_array_index (record->volumes, i), used);
  for (guint i = 0; i < record->files->len; i++)
    ok &= drop_file (rec, g_ptr_array_index (record->files, i), used, FALSE);
  for (guint i = 0; i < record->temps->len; i++)
    drop_temp (g_ptr_array_index (record->temps, i));
  for (guint i = 0; i < record->reservations->len; i++)
    ok &= drop_reservation (rec, g_ptr_array_index (record->reservations, i), macs);
  for (guint i = 0; !forward && i < record->held->len; i++)
    ok &= put_back_reservation (rec, g_ptr_array_index (record->held, i), macs);

  g_ptr_array_insert (rec->report, first_line,
                      forward
                      ? g_strdup_printf (_("An interrupted %s of “%s” (process %s) was finished"),
                                         record->op, record->vm_name, record->pid)
                      : g_strdup_printf (_("An interrupted %s of “%s” (process %s) was undone"),
                                         record->op, record->vm_name, record->pid));
  return ok;
}

void
tsr_recover_sync (virConnectPtr  conn,
                  GMutex        *reserve_lock,
                  GPtrArray     *report)
{
  g_auto(GStrv) dirs = tsr_journal_dirs_to_scan ();
  g_autofree char *uri = tsr_journal_uri (conn);
  g_autoptr(GPtrArray) live =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_journal_record_free);
  Recovery rec = { conn, uri, reserve_lock, report };

  tsr_assert_worker_thread ();
  if (uri == NULL)
    return;
  tsr_journal_scan ((const char * const *) dirs, live, recover_record, &rec);
  /* Copies of install media whose VM has stopped (tsr-media-vm.h). */
  tsr_media_vm_sweep_sync (conn, live, report);
}

/* tessera-cli repair */

typedef struct
{
  TsrCall    call;
  GMutex    *lock;
  GPtrArray *report;
} RepairData;

static void
repair_data_clear (gpointer p)
{
  RepairData *data = p;

  g_clear_pointer (&data->report, g_ptr_array_unref);
}

static void
repair_worker (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RepairData *data = task_data;

  tsr_recover_sync (data->call.conn, data->lock, data->report);
  tsr_release_orphans_sync (data->lock, data->call.conn, FALSE, data->report);
  g_ptr_array_add (data->report, NULL);
  g_task_return_pointer (task, g_strdupv ((GStrv) data->report->pdata), (GDestroyNotify) g_strfreev);
}

void
tsr_connection_repair_async (TsrConnection       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RepairData *data = tsr_connection_call_new (self, NULL, sizeof (RepairData), repair_data_clear,
                                              tsr_connection_repair_async, cancellable,
                                              callback, user_data, &task);

  if (data == NULL)
    return;
  data->lock = tsr_connection_get_reserve_lock (self);
  data->report = g_ptr_array_new_with_free_func (g_free);
  g_task_run_in_thread (task, repair_worker);
}

GStrv
tsr_connection_repair_finish (TsrConnection  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
