/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-import-private.h"
#include "tsr-journal.h"
#include "tsr-libvirt-private.h"
#include "tsr-libvirt.h"
#include "tsr-qemu-img.h"
#include "tsr-rules.h"
#include "tsr-storage-private.h"
#include "tsr-task.h"
#include "tsr-xml-private.h"

/* The blocking steps of an import, run in workers by tsr-import.c: check
 * the pool, convert every disk by qemu-img straight into a qcow2 volume of
 * the pool, and on failure remove the volumes; with TSR_IMPORT_MOVE remove
 * the input.
 */

void
tsr_import_job_forget_volumes (TsrImportJob *data)
{
  for (guint i = 0; i < data->volumes->len; i++)
    virStorageVolFree (g_ptr_array_index (data->volumes, i));
  g_ptr_array_set_size (data->volumes, 0);
}

void
tsr_import_job_free (TsrImportJob *data)
{
  tsr_journal_end_on (g_steal_pointer (&data->journal), data->conn);
  tsr_local_lock_release (data->name_lock);
  g_clear_object (&data->self);
  g_clear_object (&data->cancellable);
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_clear_pointer (&data->info, tsr_import_info_unref);
  g_clear_pointer (&data->spec, tsr_create_spec_free);
  tsr_progress_clear (&data->progress);
  g_clear_pointer (&data->volume_names, g_ptr_array_unref);
  if (data->volumes != NULL)
    tsr_import_job_forget_volumes (data);
  g_clear_pointer (&data->volumes, g_ptr_array_unref);
  g_free (data->notice);
  g_free (data->vm_name);
  g_clear_error (&data->error);
  g_free (data);
}

void
tsr_import_job_add_notice (TsrImportJob *data,
                           const char   *notice)
{
  char *joined;

  if (notice == NULL || *notice == '\0')
    return;
  joined = data->notice ? g_strconcat (data->notice, " ", notice, NULL) : g_strdup (notice);
  g_free (data->notice);
  data->notice = joined;
}

gboolean
tsr_import_job_set_cancelled (GCancellable  *cancellable,
                              GError       **error)
{
  return tsr_error_set_if_cancelled (cancellable,
                                 _("The import was cancelled; nothing was left behind."), error);
}

/* Prepare */

/* An appliance made on a bigger machine may ask for more vCPUs than this
 * host has; unless the user chose the number, it gets what there is.
 */
static void
fit_vcpus (TsrImportJob *data)
{
  TsrCreateSpec *spec = data->spec;
  virNodeInfo node;

  if (data->info->vcpus > 0 && spec->vcpus == data->info->vcpus &&
      virNodeGetInfo (data->conn, &node) == 0 && spec->vcpus > node.cpus && node.cpus > 0)
    {
      g_autofree char *notice = g_strdup_printf (_("The appliance asks for %u vCPUs; this host "
                                                   "has %u, so the VM gets %u."),
                                                 spec->vcpus, node.cpus, node.cpus);

      spec->vcpus = node.cpus;
      tsr_import_job_add_notice (data, notice);
    }
  virResetLastError ();
}

static gboolean
check_volumes_free (TsrImportJob       *data,
                    virStoragePoolPtr   pool,
                    GError            **error)
{
  for (guint i = 0; i < data->volume_names->len; i++)
    {
      const char *name = g_ptr_array_index (data->volume_names, i);
      g_autoptr(virStorageVol) vol = virStorageVolLookupByName (pool, name);

      if (vol != NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                       _("Volume “%s” already exists in pool “%s”: remove it, or choose "
                         "another VM name."), name, data->spec->pool);
          return FALSE;
        }
    }
  virResetLastError ();
  return TRUE;
}

static gboolean
check_room (TsrImportJob       *data,
            virStoragePoolPtr   pool,
            GError            **error)
{
  virStoragePoolInfo pool_info;

  virStoragePoolRefresh (pool, 0);
  /* Every disk becomes a qcow2 volume. */
  for (guint i = 0; i < data->info->disks->len; i++)
    {
      TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);

      if (!tsr_rules_check_disk_size (disk->capacity, "qcow2", data->spec->pool,
                                      tsr_storage_pool_capacity (pool), error))
        return FALSE;
    }
  if (virStoragePoolGetInfo (pool, &pool_info) == 0 && pool_info.capacity > 0 &&
      data->info->required > pool_info.available)
    {
      g_autofree char *need = g_format_size_full (data->info->required, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (pool_info.available, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("The imported disks need %s but pool “%s” has only %s free: make room "
                     "there, or choose another pool."), need, data->spec->pool, have);
      return FALSE;
    }
  virResetLastError ();
  return TRUE;
}

gboolean
tsr_import_job_prepare (gpointer   user_data,
                        GError   **error)
{
  TsrImportJob *data = user_data;
  g_autoptr(virStoragePool) pool = NULL;
  g_autofree char *pool_xml = NULL;

  /* Two imports (or an import and a create) of one name at once on this
   * machine: the second waits, then its check finds the name taken. The
   * create at the end runs under this lock (it takes none itself).
   */
  if (tsr_uri_is_local (tsr_connection_get_uri (data->self)))
    data->name_lock = tsr_local_lock_name (data->spec->name);
  if (!tsr_check_new_vm_name_sync (data->conn, data->spec->name, error))
    return FALSE;

  fit_vcpus (data);
  pool = tsr_storage_ensure_pool (data->conn, data->spec->pool, error);
  if (pool == NULL)
    return FALSE;

  /* qcow2 volumes are files: the pool must be a folder of images. */
  pool_xml = virStoragePoolGetXMLDesc (pool, 0);
  if (!tsr_xml_pool_holds_files (pool_xml))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Pool “%s” is not a folder of disk image files, so imported disks cannot "
                     "go there: choose a directory pool."), data->spec->pool);
      return FALSE;
    }

  if (!check_volumes_free (data, pool, error) || !check_room (data, pool, error))
    return FALSE;

  /* What a crash from here on could leave, for the recovery. */
  data->journal = tsr_journal_begin_for (data->conn, "import", data->spec->name);
  tsr_journal_defines (data->journal, data->spec->name);
  for (guint i = 0; i < data->volume_names->len; i++)
    tsr_journal_volume (data->journal, data->spec->pool, g_ptr_array_index (data->volume_names, i),
                        NULL);
  if (data->info->temp_dir != NULL)
    tsr_journal_temp (data->journal, data->info->temp_dir);
  tsr_journal_step ("import:journaled");
  return TRUE;
}

/* Convert */

static gboolean
convert_disk (TsrImportJob   *data,
              TsrImportDisk  *disk,
              const char     *dst,
              guint           index,
              guint64         done_before,
              guint64         total,
              GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *stage = g_strdup_printf (_("Converting disk %u of %u (%s)"), index + 1,
                                            data->info->disks->len, disk->name);
  TsrQemuImgProgress progress = { &data->progress, stage, done_before, disk->capacity, total };
  TsrQemuImgConvert convert = { disk->source, disk->format, dst, "qcow2",
                                TSR_QEMU_IMG_CONVERT_TARGET_IS_ZERO };

  tsr_progress_report (&data->progress, done_before, total, stage, TRUE);
  if (tsr_qemu_img_convert (&convert, &progress, data->cancellable, &local_error))
    return TRUE;

  if (tsr_import_job_set_cancelled (data->cancellable, error))
    return FALSE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                 _("Converting “%s” failed: pool “%s” ran out of space. Make room there, or "
                   "choose another pool."), disk->name, data->spec->pool);
  else if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_FAILED))
    g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                 _("Converting “%s” failed: %s"), disk->name, local_error->message);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
tsr_import_job_delete_volumes (gpointer   user_data,
                               GError   **error)
{
  TsrImportJob *data = user_data;

  for (guint i = 0; i < data->volumes->len; i++)
    virStorageVolDelete (g_ptr_array_index (data->volumes, i), 0);
  tsr_import_job_forget_volumes (data);
  virResetLastError ();
  return TRUE;
}

/* Volume I of the new VM, made in POOL and kept for a rollback. */
static virStorageVolPtr
make_volume (TsrImportJob       *data,
             virStoragePoolPtr   pool,
             guint               i,
             GError            **error)
{
  TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);
  const char *name = g_ptr_array_index (data->volume_names, i);
  g_autofree char *xml = tsr_storage_volume_xml (name, disk->capacity, "qcow2");
  virStorageVolPtr vol = virStorageVolCreateXML (pool, xml, 0);

  if (vol == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not create the volume “%s”"), name);

      tsr_error_set_from_libvirt (error, what);
      return NULL;
    }
  g_ptr_array_add (data->volumes, vol);
  return vol;
}

/* Where this process may not write the pool's folder, each disk is
 * converted into a file of its own first (STAGING, in $TMPDIR or
 * /var/tmp), then sent through libvirt into the volume, and removed.
 */
static gboolean
stream_disk (TsrImportJob       *data,
             virStoragePoolPtr   pool,
             const char         *staging,
             guint               i,
             guint64             done,
             guint64             total,
             GError            **error)
{
  TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);
  const char *name = g_ptr_array_index (data->volume_names, i);
  g_autofree char *file = g_build_filename (staging, name, NULL);
  g_autofree char *stage = g_strdup_printf (_("Sending disk %u of %u (%s) to libvirt"), i + 1,
                                            data->info->disks->len, disk->name);
  TsrUpload upload = { data->conn, pool, name, file, "qcow2", disk->capacity, &data->progress,
                       stage, done + disk->capacity / 2, total, data->cancellable };
  gboolean ok;
  virStorageVolPtr vol;

  if (!tsr_qemu_img_create (file, "qcow2", disk->capacity, data->cancellable, error))
    return FALSE;
  if (disk->format != NULL)
    {
      /* The conversion counts for the first half of the disk's share. */
      ok = convert_disk (data, disk, file, i, done, total, error);
      if (!ok)
        {
          g_unlink (file);
          return FALSE;
        }
    }
  vol = tsr_storage_upload_image (&upload, error);
  g_unlink (file);
  if (vol == NULL)
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (error);
          tsr_import_job_set_cancelled (data->cancellable, error);
        }
      return FALSE;
    }
  g_ptr_array_add (data->volumes, vol);
  return TRUE;
}

static char *
make_staging (TsrImportJob  *data,
              GError       **error)
{
  const char *tmp = g_getenv ("TMPDIR") ? g_get_tmp_dir () : "/var/tmp";
  g_autofree char *template = g_build_filename (tmp, "tessera-import-XXXXXX", NULL);
  g_autoptr(GFile) dir = NULL;
  g_autoptr(GFileInfo) fs = NULL;

  if (g_mkdtemp (template) == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("Could not make a folder in %s to convert the disks in: %s. Set TMPDIR "
                     "to a folder you may write."), tmp, g_strerror (errno));
      return NULL;
    }
  dir = g_file_new_for_path (template);
  fs = g_file_query_filesystem_info (dir, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  if (fs != NULL && g_file_info_has_attribute (fs, G_FILE_ATTRIBUTE_FILESYSTEM_FREE) &&
      g_file_info_get_attribute_uint64 (fs, G_FILE_ATTRIBUTE_FILESYSTEM_FREE) < data->info->required)
    {
      g_autofree char *need = g_format_size_full (data->info->required, G_FORMAT_SIZE_IEC_UNITS);

      g_rmdir (template);
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("This account may not write into the pool’s folder, so the disks are "
                     "converted in %s first and sent through libvirt; that needs %s free "
                     "there. Make room, or set TMPDIR to a folder with room."), tmp, need);
      return NULL;
    }
  return g_steal_pointer (&template);
}

static gboolean
convert_disks (TsrImportJob       *data,
               virStoragePoolPtr   pool,
               GError            **error)
{
  g_autofree char *reason = NULL;
  g_autofree char *staging = NULL;
  guint64 total = 0, done = 0;
  gboolean local = tsr_storage_route_is_local (data->conn, pool, &reason);
  gboolean ok = TRUE;

  g_info ("%s: the disks are %s (%s)", data->spec->name,
          local ? "converted straight into the pool" : "converted here, then sent through libvirt",
          reason);
  if (!local && !(staging = make_staging (data, error)))
    return FALSE;
  if (staging != NULL)
    tsr_journal_temp (data->journal, staging);

  for (guint i = 0; i < data->info->disks->len; i++)
    {
      TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);

      if (disk->format != NULL)
        total += disk->capacity;
    }
  if (!local)
    total *= 2;

  for (guint i = 0; i < data->info->disks->len; i++)
    {
      TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);
      g_autofree char *path = NULL;
      virStorageVolPtr vol;

      if (tsr_import_job_set_cancelled (data->cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (!local)
        {
          ok = stream_disk (data, pool, staging, i, done, total, error);
          done += disk->format ? 2 * disk->capacity : 0;
          if (!ok)
            break;
          continue;
        }
      if ((vol = make_volume (data, pool, i, error)) == NULL)
        return FALSE;
      if (disk->format == NULL)
        continue;
      path = virStorageVolGetPath (vol);
      if (path == NULL)
        {
          tsr_error_set_from_libvirt (error, _("Could not find the new volume"));
          return FALSE;
        }
      if (!convert_disk (data, disk, path, i, done, total, error))
        return FALSE;
      done += disk->capacity;
      {
        g_autofree char *step = g_strdup_printf ("import:disk-%u", i);

        tsr_journal_step (step);
      }
    }
  if (staging != NULL)
    g_rmdir (staging);
  if (!ok)
    return FALSE;

  if (tsr_import_job_set_cancelled (data->cancellable, error))
    return FALSE;
  tsr_progress_report (&data->progress, total, total, _("Disks converted"), TRUE);
  return TRUE;
}

gboolean
tsr_import_job_convert (gpointer   user_data,
                        GError   **error)
{
  TsrImportJob *data = user_data;
  g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (data->conn, data->spec->pool);

  if (pool == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not open the storage pool"));
      return FALSE;
    }
  if (convert_disks (data, pool, error))
    return TRUE;
  tsr_import_job_delete_volumes (data, NULL);
  return FALSE;
}

gboolean
tsr_import_job_remove_input (gpointer   user_data,
                             GError   **error)
{
  TsrImportJob *data = user_data;

  for (guint i = 0; data->info->move_paths && data->info->move_paths[i]; i++)
    if (g_unlink (data->info->move_paths[i]) != 0 && errno != ENOENT)
      {
        g_autofree char *notice = g_strdup_printf (_("“%s” was copied, not moved: it could "
                                                     "not be removed (%s). Remove it yourself "
                                                     "once the VM works."),
                                                   data->info->move_paths[i],
                                                   g_strerror (errno));

        tsr_import_job_add_notice (data, notice);
      }
  return TRUE;
}
