/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/stat.h>
#include <glib/gstdio.h>

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-cloner-private.h"
#include "tsr-journal.h"
#include "tsr-libvirt.h"
#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-rules.h"
#include "tsr-storage-private.h"
#include "tsr-task.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* Cloning. Everything blocking runs in a GTask worker on a reference of the
 * connection's raw handle; what the clone made is recorded as it goes, so
 * that a failure or a cancel at any point can remove exactly that and put
 * the source back as it was.
 *
 * This file holds the public API, the task and the order of the steps;
 * the steps are in tsr-cloner-plan.c (the source, the clone's definition
 * and its plan), tsr-cloner-identity.c (MACs, address reservations,
 * NVRAM), tsr-cloner-disks.c (copies and overlays) and
 * tsr-cloner-rollback.c.
 *
 * Full clones are copied by the engine in tsr-cloner-copy.c.
 */

/* Linked clones rewrite the source's definition: two at once from the same
 * source would lose one of the rewrites.
 */
static GMutex linked_lock;

/* Spec */

TsrCloneSpec *
tsr_clone_spec_new (const char *name)
{
  TsrCloneSpec *spec = g_new0 (TsrCloneSpec, 1);

  spec->name = g_strdup (name);
  return spec;
}

TsrCloneSpec *
tsr_clone_spec_copy (const TsrCloneSpec *spec)
{
  TsrCloneSpec *copy;

  g_return_val_if_fail (spec != NULL, NULL);

  copy = g_memdup2 (spec, sizeof *spec);
  copy->name = g_strdup (spec->name);
  copy->pool = g_strdup (spec->pool);
  return copy;
}

void
tsr_clone_spec_free (TsrCloneSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->pool);
  g_free (spec);
}

/* Names */

char *
tsr_connection_suggest_clone_name (TsrConnection *self,
                                   const char    *source)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (source != NULL, NULL);

  for (guint n = 1; n < G_MAXUINT; n++)
    {
      g_autofree char *suffix = g_strdup_printf ("-clone-%u", n);
      gsize room = TSR_NAME_MAX_LEN - strlen (suffix);
      g_autofree char *stem = g_strndup (source, room);
      g_autofree char *name = g_strconcat (stem, suffix, NULL);

      /* A name libvirt took from elsewhere may break Tessera's rules. */
      if (!tsr_validate_vm_name (name, NULL))
        {
          g_free (name);
          name = g_strconcat ("vm", suffix, NULL);
        }
      if (tsr_connection_lookup_vm (self, name) == NULL)
        return g_steal_pointer (&name);
    }

  g_return_val_if_reached (NULL);
}

gboolean
tsr_connection_check_clone_name (TsrConnection  *self,
                                 const char     *name,
                                 GError        **error)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), FALSE);

  return tsr_connection_check_new_vm_name (self, name, error);
}

/* The clone's plan and what it has made so far */

static void
clone_disk_free (CloneDisk *disk)
{
  g_free (disk->target);
  g_free (disk->src_path);
  g_free (disk->src_format);
  g_clear_pointer (&disk->src_vol, virStorageVolFree);
  g_clear_pointer (&disk->src_pool, virStoragePoolFree);
  g_clear_pointer (&disk->dst_pool, virStoragePoolFree);
  g_free (disk->dst_pool_name);
  g_free (disk->dst_name);
  g_free (disk->dst_path);
  g_clear_pointer (&disk->dst_vol, virStorageVolFree);
  g_free (disk->overlay_name);
  g_free (disk->overlay_path);
  g_clear_pointer (&disk->overlay_vol, virStorageVolFree);
  g_free (disk);
}

static void
reservation_free (Reservation *r)
{
  g_free (r->network);
  g_free (r->mac);
  g_free (r);
}

static void
clone_data_free (CloneData *data)
{
  tsr_clone_spec_free (data->spec);
  g_free (data->source_uuid);
  g_clear_pointer (&data->conn, tsr_conn_release);
  tsr_progress_clear (&data->progress);
  g_free (data->source_name);
  g_free (data->source_xml);
  g_clear_pointer (&data->doc, xmlFreeDoc);
  g_clear_pointer (&data->source_doc, xmlFreeDoc);
  g_clear_pointer (&data->disks, g_ptr_array_unref);
  g_assert (data->reserve_thread == NULL);
  g_clear_error (&data->reserve_error);
  g_clear_pointer (&data->planned, g_ptr_array_unref);
  g_clear_pointer (&data->reserved, g_ptr_array_unref);
  g_free (data->nvram_copy);
  g_free (data->tpm_copy);
  g_clear_pointer (&data->clone_dom, virDomainFree);
  g_clear_pointer (&data->infos, g_ptr_array_unref);
  if (data->warning != NULL)
    g_string_free (data->warning, TRUE);
  g_free (data);
}

void
tsr_cloner_add_warning (CloneData  *data,
                        const char *text)
{
  if (data->warning->len > 0)
    g_string_append_c (data->warning, '\n');
  g_string_append (data->warning, text);
}

gboolean
tsr_cloner_check_cancelled (GCancellable  *cancellable,
                            GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       _("Cloning was cancelled; nothing was left behind."));
  return TRUE;
}

void
tsr_cloner_set_errno_error (GError     **error,
                            int          errsv,
                            const char  *what,
                            const char  *path)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _("%s “%s”: %s"), what, path,
               g_strerror (errsv));
}

/* The worker */

/* Everything the clone may make or change, before it makes or changes any
 * of it: for the recovery after a crash (tsr-recover.h).
 */
static void
journal_plan (CloneData  *data,
              const char *nvram_dst)
{
  TsrJournal *journal;

  journal = data->journal = tsr_journal_begin_for (data->conn,
                                                   data->spec->linked ? "linked clone" : "clone",
                                                   data->spec->name);
  tsr_journal_defines (journal, data->spec->name);
  if (data->spec->linked)
    tsr_journal_restore (journal, data->source_uuid, data->source_xml);
  for (guint i = 0; i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);
      struct stat st;

      tsr_journal_volume (journal, disk->dst_pool_name, disk->dst_name, NULL);
      if (!data->spec->linked)
        continue;
      tsr_journal_volume (journal, disk->src_pool ? virStoragePoolGetName (disk->src_pool)
                                                  : disk->dst_pool_name,
                          disk->overlay_name, NULL);
      if (data->local && g_stat (disk->src_path, &st) == 0)
        tsr_journal_mode (journal, disk->src_path, st.st_mode);
    }
  if (nvram_dst != NULL)
    tsr_journal_file (journal, nvram_dst);
  for (guint i = 0; i < data->planned->len; i++)
    {
      Reservation *r = g_ptr_array_index (data->planned, i);

      tsr_journal_reservation (journal, r->network, r->mac);
    }
  tsr_journal_step ("clone:journaled");
}

static gboolean
clone_steps (CloneData     *data,
             GCancellable  *cancellable,
             GError       **error)
{
  TsrCloneSpec *spec = data->spec;
  g_autofree char *nvram_src = NULL;
  g_autofree char *nvram_dst = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(virDomain) dom = NULL;

  if (!tsr_cloner_read_source (data, error))
    return FALSE;

  if (!tsr_check_new_vm_name_sync (data->conn, spec->name, error))
    return FALSE;

  if (!tsr_cloner_new_definitions (data, error))
    return FALSE;
  if (!tsr_cloner_plan (data, &nvram_src, &nvram_dst, cancellable, error))
    return FALSE;
  journal_plan (data, nvram_dst);
  if (!tsr_cloner_make_disks (data, cancellable, error))
    return FALSE;
  if (nvram_src != NULL && !tsr_cloner_copy_nvram (data, nvram_src, nvram_dst, error))
    return FALSE;
  if (!tsr_cloner_join_reservations (data, error))
    return FALSE;
  tsr_journal_step ("clone:reserved");
  if (tsr_cloner_check_cancelled (cancellable, error))
    return FALSE;

  /* Copying took a while: a source started meanwhile may have changed under
   * the copy.
   */
  dom = virDomainLookupByUUIDString (data->conn, data->source_uuid);
  if (dom == NULL || virDomainIsActive (dom) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” was started while it was being cloned, so the copy may be "
                     "inconsistent: shut it down and clone it again."), data->source_name);
      return FALSE;
    }

  if (spec->linked && !tsr_cloner_switch_source (data, error))
    return FALSE;
  if (spec->linked)
    tsr_journal_step ("clone:source-switched");

  tsr_progress_report (&data->progress, data->total, data->total, _("Defining the clone"), TRUE);
  xml = tsr_xml_dump (data->doc);
  data->clone_dom = virDomainDefineXML (data->conn, xml);
  if (data->clone_dom == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not define “%s”"), spec->name);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }
  /* The clone exists: an interruption from here on is finished, not undone. */
  tsr_journal_commit (data->journal);
  tsr_journal_step ("clone:defined");

  return tsr_cloner_copy_tpm_state (data, error);
}

static gpointer
clone_run (gpointer       user_data,
           GCancellable  *cancellable,
           GError       **error)
{
  CloneData *data = user_data;
  int source_lock, name_lock;
  gboolean ok;

  if (data->spec->linked)
    g_mutex_lock (&linked_lock);

  /* A linked clone rewrites its source's definition: under the source's
   * lock, as settings are. And as for creating: two clones to one name
   * wait for each other.
   */
  source_lock = data->local && data->spec->linked && data->source_uuid != NULL
                ? tsr_local_lock_acquire (data->source_uuid) : -1;
  name_lock = data->local ? tsr_local_lock_name (data->spec->name) : -1;
  ok = clone_steps (data, cancellable, error);
  if (!ok)
    {
      /* Whatever went wrong first is what the user hears about. */
      tsr_cloner_join_reservations (data, NULL);
      tsr_cloner_rollback (data);
      g_ptr_array_set_size (data->infos, 0);
    }

  tsr_journal_end_on (g_steal_pointer (&data->journal), data->conn);
  tsr_local_lock_release (name_lock);
  tsr_local_lock_release (source_lock);
  if (data->spec->linked)
    g_mutex_unlock (&linked_lock);

  return ok ? g_strdup (data->spec->name) : NULL;
}

void
tsr_connection_clone_vm_async (TsrConnection       *self,
                               TsrVm               *source,
                               const TsrCloneSpec  *spec,
                               TsrProgressFunc      progress,
                               gpointer             progress_data,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  virConnectPtr conn;
  CloneData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (source));
  g_return_if_fail (spec != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_clone_vm_async);
  /* A cancel that comes too late to stop the clone must not report a
   * clone that exists as cancelled.
   */
  g_task_set_check_cancellable (task, FALSE);

  conn = tsr_connection_ref_handle (self, task);
  if (conn == NULL)
    return;

  data = g_new0 (CloneData, 1);
  data->spec = tsr_clone_spec_copy (spec);
  data->source_uuid = g_strdup (tsr_vm_get_uuid (source));
  data->conn = g_steal_pointer (&conn);
  data->reserve_lock = tsr_connection_get_reserve_lock (self);
  tsr_progress_init (&data->progress, progress, progress_data);
  data->local = tsr_uri_is_local (tsr_connection_get_uri (self));
  data->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) clone_disk_free);
  data->planned = g_ptr_array_new_with_free_func ((GDestroyNotify) reservation_free);
  data->reserved = g_ptr_array_new_with_free_func ((GDestroyNotify) reservation_free);
  data->infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_network_info_free);
  data->warning = g_string_new (NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) clone_data_free);
  tsr_task_run_value_in_thread (task, clone_run, g_free);
}

char *
tsr_connection_clone_vm_finish (TsrConnection  *self,
                                GAsyncResult   *result,
                                char          **warning,
                                GError        **error)
{
  CloneData *data;
  char *name;

  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  name = g_task_propagate_pointer (G_TASK (result), error);
  if (name != NULL && data != NULL)
    {
      while (data->infos->len > 0)
        tsr_connection_take_network_info (self, g_ptr_array_steal_index (data->infos, 0));
      if (warning != NULL)
        *warning = data->warning->len > 0 ? g_strdup (data->warning->str) : NULL;
    }
  else if (warning != NULL)
    *warning = NULL;

  return name;
}
