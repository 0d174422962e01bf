/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-image-sniff.h"
#include "tsr-import-private.h"
#include "tsr-qemu-img.h"
#include "tsr-storage-private.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-xml-private.h"

/* Importing appliances and disk images. Inspection reads only headers and
 * the OVF; the disks are converted by qemu-img straight from where they
 * lie — a member of the .ova is read in place through qemu's raw driver
 * with an offset and size — into qcow2 volumes of the pool, so the only
 * space an import needs is the final image. A compressed member of a .zip
 * is the one exception: it is inflated to a temporary file first.
 *
 * Every source format is named to qemu explicitly ("driver" in its json:
 * description, and -f), taken from the OVF or the file name and checked
 * against the file's own header, never probed; backing files are switched
 * off ("backing": null) and images that need one are refused, so an image
 * cannot make qemu-img read other files of the host.
 */

/* Info */

static void
import_disk_free (TsrImportDisk *disk)
{
  g_free (disk->name);
  g_free (disk->format);
  g_free (disk->source);
  g_free (disk);
}

TsrImportInfo *
tsr_import_info_new (const char *path)
{
  TsrImportInfo *info = g_new0 (TsrImportInfo, 1);

  info->ref_count = 1;
  info->path = g_strdup (path);
  info->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) import_disk_free);
  info->firmware = g_strdup ("bios");
  info->os_family = g_strdup ("other");
  return info;
}

TsrImportInfo *
tsr_import_info_ref (TsrImportInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_int_inc (&info->ref_count);
  return info;
}

static void
remove_temp_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

void
tsr_import_info_unref (TsrImportInfo *info)
{
  g_return_if_fail (info != NULL);

  if (!g_atomic_int_dec_and_test (&info->ref_count))
    return;
  if (info->temp_dir != NULL)
    remove_temp_dir (info->temp_dir);
  g_free (info->temp_dir);
  g_free (info->path);
  g_free (info->kind);
  g_free (info->name);
  g_free (info->appliance_name);
  g_free (info->firmware);
  g_free (info->os_type);
  g_free (info->os_family);
  g_ptr_array_unref (info->disks);
  g_strfreev (info->warnings);
  g_strfreev (info->move_paths);
  g_free (info);
}

G_DEFINE_BOXED_TYPE (TsrImportInfo, tsr_import_info, tsr_import_info_ref, tsr_import_info_unref)

TsrCreateSpec *
tsr_import_info_make_spec (const TsrImportInfo *info)
{
  TsrCreateSpec *spec;

  g_return_val_if_fail (info != NULL, NULL);

  spec = tsr_create_spec_new (info->name);
  if (info->memory > 0)
    spec->memory = info->memory;
  if (info->vcpus > 0)
    spec->vcpus = info->vcpus;
  g_free (spec->firmware);
  spec->firmware = g_strdup (info->firmware);
  g_free (spec->os_family);
  spec->os_family = g_strdup (info->os_family);
  return spec;
}

/* Import: prepare (worker) → check the settings (create, check only) →
 * convert (worker) → define (create) → on failure remove the volumes
 * (worker); with TSR_IMPORT_MOVE remove the input (worker).
 */

typedef struct
{
  TsrConnection  *self;
  virConnectPtr   conn;
  TsrImportInfo  *info;
  TsrCreateSpec  *spec;
  TsrImportFlags  flags;
  TsrProgress     progress;
  GCancellable   *cancellable;
  GPtrArray      *volume_names;   /* char *, one per disk, the root first */
  GPtrArray      *volumes;        /* virStorageVolPtr made so far */
  char           *notice;
  char           *vm_name;
  GError         *error;          /* kept while rolling back */
} ImportData;

static void
import_data_free (ImportData *data)
{
  g_clear_object (&data->self);
  g_clear_object (&data->cancellable);
  g_clear_pointer (&data->conn, tsr_conn_release);
  g_clear_pointer (&data->info, tsr_import_info_unref);
  g_clear_pointer (&data->spec, tsr_create_spec_free);
  g_clear_pointer (&data->progress.context, g_main_context_unref);
  g_clear_pointer (&data->volume_names, g_ptr_array_unref);
  if (data->volumes != NULL)
    {
      for (guint i = 0; i < data->volumes->len; i++)
        virStorageVolFree (g_ptr_array_index (data->volumes, i));
      g_ptr_array_unref (data->volumes);
    }
  g_free (data->notice);
  g_free (data->vm_name);
  g_clear_error (&data->error);
  g_free (data);
}

static void
add_notice (ImportData *data,
            const char *notice)
{
  char *joined;

  if (notice == NULL || *notice == '\0')
    return;
  joined = data->notice ? g_strconcat (data->notice, " ", notice, NULL) : g_strdup (notice);
  g_free (data->notice);
  data->notice = joined;
}

static gboolean
set_cancelled (GCancellable  *cancellable,
               GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       _("The import was cancelled; nothing was left behind."));
  return TRUE;
}

/* Runs FUNC in a worker with DATA; DONE gets OUTER back as user data. */
static void
run_step (GTask               *outer,
          GTaskThreadFunc      func,
          GAsyncReadyCallback  done)
{
  GTask *step = g_task_new (NULL, NULL, done, outer);

  g_task_set_task_data (step, g_task_get_task_data (outer), NULL);
  g_task_run_in_thread (step, func);
  g_object_unref (step);
}

static void
prepare_worker (GTask        *step,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *unused)
{
  ImportData *data = task_data;
  TsrCreateSpec *spec = data->spec;
  GError *error = NULL;
  virStoragePoolPtr pool;
  virStoragePoolInfo pool_info;
  virNodeInfo node;
  g_autofree char *pool_xml = NULL;

  tsr_assert_worker_thread ();
  /* An appliance made on a bigger machine may ask for more vCPUs than this
   * host has; unless the user chose the number, it gets what there is.
   */
  if (data->info->vcpus > 0 && spec->vcpus == data->info->vcpus &&
      virNodeGetInfo (data->conn, &node) == 0 && spec->vcpus > node.cpus && node.cpus > 0)
    {
      g_autofree char *notice = g_strdup_printf (_("The appliance asks for %u vCPUs; this host "
                                                   "has %u, so the VM gets %u."),
                                                 spec->vcpus, node.cpus, node.cpus);

      spec->vcpus = node.cpus;
      add_notice (data, notice);
    }
  virResetLastError ();

  if (!(pool = tsr_storage_ensure_pool (data->conn, spec->pool, &error)))
    {
      g_task_return_error (step, error);
      return;
    }

  /* qcow2 volumes are files: the pool must be a folder of images. */
  pool_xml = virStoragePoolGetXMLDesc (pool, 0);
  if (!tsr_xml_pool_holds_files (pool_xml))
    {
      g_task_return_new_error (step, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                               _("Pool “%s” is not a folder of disk image files, so imported "
                                 "disks cannot go there: choose a directory pool."), spec->pool);
      virStoragePoolFree (pool);
      return;
    }

  for (guint i = 0; i < data->volume_names->len; i++)
    {
      const char *name = g_ptr_array_index (data->volume_names, i);
      virStorageVolPtr vol = virStorageVolLookupByName (pool, name);

      if (vol != NULL)
        {
          virStorageVolFree (vol);
          virStoragePoolFree (pool);
          g_task_return_new_error (step, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                                   _("Volume “%s” already exists in pool “%s”: remove it, or "
                                     "choose another VM name."), name, spec->pool);
          return;
        }
    }
  virResetLastError ();

  virStoragePoolRefresh (pool, 0);
  if (virStoragePoolGetInfo (pool, &pool_info) == 0 && pool_info.capacity > 0 &&
      data->info->required > pool_info.available)
    {
      g_autofree char *need = g_format_size_full (data->info->required, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (pool_info.available, G_FORMAT_SIZE_IEC_UNITS);

      virStoragePoolFree (pool);
      g_task_return_new_error (step, TSR_ERROR, TSR_ERROR_FAILED,
                               _("The imported disks need %s but pool “%s” has only %s free: "
                                 "make room there, or choose another pool."), need, spec->pool,
                               have);
      return;
    }
  virResetLastError ();
  virStoragePoolFree (pool);
  g_task_return_boolean (step, TRUE);
}

static gboolean
convert_disk (ImportData    *data,
              TsrImportDisk *disk,
              const char    *dst,
              guint          index,
              guint64        done_before,
              guint64        total,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *stage = g_strdup_printf (_("Converting disk %u of %u (%s)"), index + 1,
                                            data->info->disks->len, disk->name);
  TsrQemuImgProgress progress = { &data->progress, stage, done_before, disk->capacity, total };

  tsr_progress_report (&data->progress, done_before, total, stage, TRUE);
  if (tsr_qemu_img_convert (disk->source, disk->format, dst, "qcow2",
                            TSR_QEMU_IMG_CONVERT_TARGET_IS_ZERO, &progress, cancellable,
                            &local_error))
    return TRUE;

  if (set_cancelled (cancellable, error))
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

static void
delete_volumes (ImportData *data)
{
  for (guint i = 0; i < data->volumes->len; i++)
    {
      virStorageVolPtr vol = g_ptr_array_index (data->volumes, i);

      virStorageVolDelete (vol, 0);
      virStorageVolFree (vol);
    }
  g_ptr_array_set_size (data->volumes, 0);
  virResetLastError ();
}

static void
convert_worker (GTask        *step,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *unused)
{
  ImportData *data = task_data;
  GCancellable *cancellable = data->cancellable;
  virStoragePoolPtr pool = virStoragePoolLookupByName (data->conn, data->spec->pool);
  GError *error = NULL;
  guint64 total = 0, done = 0;

  tsr_assert_worker_thread ();
  if (pool == NULL)
    {
      tsr_error_set_from_libvirt (&error, _("Could not open the storage pool"));
      g_task_return_error (step, error);
      return;
    }

  for (guint i = 0; i < data->info->disks->len; i++)
    {
      TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);

      if (disk->format != NULL)
        total += disk->capacity;
    }

  for (guint i = 0; i < data->info->disks->len; i++)
    {
      TsrImportDisk *disk = g_ptr_array_index (data->info->disks, i);
      const char *name = g_ptr_array_index (data->volume_names, i);
      g_autofree char *xml = tsr_storage_volume_xml (name, disk->capacity, "qcow2");
      g_autofree char *path = NULL;
      virStorageVolPtr vol;

      if (set_cancelled (cancellable, &error))
        goto failed;

      vol = virStorageVolCreateXML (pool, xml, 0);
      if (vol == NULL)
        {
          g_autofree char *what = g_strdup_printf (_("Could not create the volume “%s”"), name);

          tsr_error_set_from_libvirt (&error, what);
          goto failed;
        }
      g_ptr_array_add (data->volumes, vol);

      if (disk->format == NULL)
        continue;
      path = virStorageVolGetPath (vol);
      if (path == NULL)
        {
          tsr_error_set_from_libvirt (&error, _("Could not find the new volume"));
          goto failed;
        }
      if (!convert_disk (data, disk, path, i, done, total, cancellable, &error))
        goto failed;
      done += disk->capacity;
    }

  if (set_cancelled (cancellable, &error))
    goto failed;
  tsr_progress_report (&data->progress, total, total, _("Disks converted"), TRUE);
  virStoragePoolFree (pool);
  g_task_return_boolean (step, TRUE);
  return;

failed:
  delete_volumes (data);
  virStoragePoolFree (pool);
  g_task_return_error (step, error);
}

static void
cleanup_worker (GTask        *step,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *unused)
{
  tsr_assert_worker_thread ();

  delete_volumes (task_data);
  g_task_return_boolean (step, TRUE);
}

static void
remove_input_worker (GTask        *step,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *unused)
{
  ImportData *data = task_data;

  tsr_assert_worker_thread ();
  for (guint i = 0; data->info->move_paths && data->info->move_paths[i]; i++)
    g_unlink (data->info->move_paths[i]);
  g_task_return_boolean (step, TRUE);
}

static void
cleaned_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  ImportData *data = g_task_get_task_data (outer);

  g_task_return_error (outer, g_steal_pointer (&data->error));
}

static void
input_removed_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  ImportData *data = g_task_get_task_data (outer);

  g_task_return_pointer (outer, g_steal_pointer (&data->vm_name), g_free);
}

static void
defined_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  ImportData *data = g_task_get_task_data (outer);
  g_autofree char *notice = NULL;

  data->vm_name = tsr_connection_create_vm_finish (TSR_CONNECTION (object), result, &notice,
                                                   &data->error);
  if (data->vm_name == NULL)
    {
      run_step (g_steal_pointer (&outer), cleanup_worker, cleaned_cb);
      return;
    }

  /* The volumes belong to the VM now. */
  for (guint i = 0; i < data->volumes->len; i++)
    virStorageVolFree (g_ptr_array_index (data->volumes, i));
  g_ptr_array_set_size (data->volumes, 0);
  add_notice (data, notice);

  if (data->flags & TSR_IMPORT_MOVE)
    {
      run_step (g_steal_pointer (&outer), remove_input_worker, input_removed_cb);
      return;
    }
  g_task_return_pointer (outer, g_steal_pointer (&data->vm_name), g_free);
}

static void
converted_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  ImportData *data = g_task_get_task_data (outer);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (outer, error);
      return;
    }

  g_clear_pointer (&data->spec->root_volume, g_free);
  g_clear_pointer (&data->spec->extra_volumes, g_strfreev);
  data->spec->root_volume = g_strdup (g_ptr_array_index (data->volume_names, 0));
  data->spec->extra_volumes = g_new0 (char *, data->volume_names->len);
  for (guint i = 1; i < data->volume_names->len; i++)
    data->spec->extra_volumes[i - 1] = g_strdup (g_ptr_array_index (data->volume_names, i));

  tsr_connection_create_vm_async (data->self, data->spec, data->progress.func, data->progress.data,
                                  data->cancellable, defined_cb,
                                  g_steal_pointer (&outer));
}

static void
checked_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  g_autofree char *name = NULL;
  GError *error = NULL;

  name = tsr_connection_create_vm_finish (TSR_CONNECTION (object), result, NULL, &error);
  if (name == NULL)
    {
      g_task_return_error (outer, error);
      return;
    }
  run_step (g_steal_pointer (&outer), convert_worker, converted_cb);
}

static void
prepared_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  ImportData *data = g_task_get_task_data (outer);
  g_autoptr(TsrCreateSpec) check = NULL;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (outer, error);
      return;
    }
  if (set_cancelled (data->cancellable, &error))
    {
      g_task_return_error (outer, error);
      return;
    }

  /* Every rule of creating a VM, checked before any byte is converted. */
  check = tsr_create_spec_copy (data->spec);
  check->check_only = TRUE;
  tsr_connection_create_vm_async (data->self, check, NULL, NULL, data->cancellable, checked_cb,
                                  g_steal_pointer (&outer));
}

void
tsr_connection_import_async (TsrConnection       *self,
                             TsrImportInfo       *info,
                             const TsrCreateSpec *spec,
                             TsrImportFlags       flags,
                             TsrProgressFunc      progress,
                             gpointer             progress_data,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(virConnect) conn = NULL;
  ImportData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (info != NULL);
  g_return_if_fail (spec != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_import_async);
  /* Once the VM is defined, a late cancel does not turn success into an
   * error.
   */
  g_task_set_check_cancellable (task, FALSE);

  conn = tsr_connection_ref_handle (self, task);
  if (conn == NULL)
    return;
  if (!tsr_uri_is_local (tsr_connection_get_uri (self)))
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                               _("Importing converts the disks on this computer, so it needs a "
                                 "local connection (qemu:///system), not %s."),
                               tsr_connection_get_uri (self));
      return;
    }
  if (info->disks->len == 0)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("There is no disk to import."));
      return;
    }
  /* The volumes are named after the VM: the name must be good first. */
  {
    GError *error = NULL;

    if (!tsr_validate_vm_name (spec->name, &error))
      {
        g_task_return_error (task, error);
        return;
      }
  }

  data = g_new0 (ImportData, 1);
  data->self = g_object_ref (self);
  data->conn = g_steal_pointer (&conn);
  data->info = tsr_import_info_ref (info);
  data->spec = tsr_create_spec_copy (spec);
  g_clear_pointer (&data->spec->root_copy_from, g_free);
  g_clear_pointer (&data->spec->root_move_from, g_free);
  g_clear_pointer (&data->spec->root_volume, g_free);
  g_clear_pointer (&data->spec->extra_volumes, g_strfreev);
  data->flags = flags;
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  data->progress.func = progress;
  data->progress.data = progress_data;
  data->progress.context = g_main_context_ref_thread_default ();
  data->volumes = g_ptr_array_new ();
  data->volume_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < info->disks->len; i++)
    g_ptr_array_add (data->volume_names,
                     i == 0 ? g_strdup_printf ("%s-root.qcow2", spec->name)
                            : g_strdup_printf ("%s-disk%u.qcow2", spec->name, i + 1));
  g_task_set_task_data (task, data, (GDestroyNotify) import_data_free);

  tsr_progress_report (&data->progress, 0, 0, _("Checking the pool"), TRUE);
  run_step (g_steal_pointer (&task), prepare_worker, prepared_cb);
}

char *
tsr_connection_import_finish (TsrConnection  *self,
                              GAsyncResult   *result,
                              char          **notice,
                              GError        **error)
{
  ImportData *data;
  char *name;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  name = g_task_propagate_pointer (G_TASK (result), error);
  if (name != NULL && notice != NULL)
    *notice = g_steal_pointer (&data->notice);
  return name;
}

/* qvm-create --root-copy-from / --root-move-from in any format */

typedef struct
{
  TsrCreateSpec  *spec;
  TsrProgress     progress;
  TsrImportInfo  *info;     /* NULL: a plain raw or qcow2 image, for create */
  char           *notice;
} FromImageData;

static void
from_image_data_free (FromImageData *data)
{
  tsr_create_spec_free (data->spec);
  g_clear_pointer (&data->progress.context, g_main_context_unref);
  g_clear_pointer (&data->info, tsr_import_info_unref);
  g_free (data->notice);
  g_free (data);
}

/* Raw and qcow2 images keep create's way (a move is a rename); anything
 * else, or a raw-looking file that claims another format, is imported.
 */
static gboolean
needs_import (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  const char *claimed = tsr_image_format_for_name (lower);
  const char *sniffed = NULL;
  guint8 head[1024], tail[512];
  GStatBuf st;
  ssize_t head_len = 0, tail_len = 0;
  int fd;

  if (g_str_has_suffix (lower, ".ova") || g_str_has_suffix (lower, ".ovf") ||
      g_str_has_suffix (lower, ".zip"))
    return TRUE;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;           /* create says what is wrong with it */
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
    {
      head_len = pread (fd, head, sizeof head, 0);
      if (st.st_size >= (off_t) sizeof tail)
        tail_len = pread (fd, tail, sizeof tail, st.st_size - sizeof tail);
    }
  close (fd);
  if (head_len > 0)
    sniffed = tsr_image_sniff (head, head_len, tail_len == sizeof tail ? tail : NULL,
                               tail_len == sizeof tail ? sizeof tail : 0);
  if (head_len >= 4 && memcmp (head, "PK\3\4", 4) == 0)
    return TRUE;
  if (head_len >= 262 && memcmp (head + 257, "ustar", 5) == 0)
    return TRUE;

  if (claimed != NULL && !g_str_equal (claimed, "raw") && !g_str_equal (claimed, "qcow2"))
    return TRUE;
  return sniffed != NULL && !g_str_equal (sniffed, "qcow2");
}

static void
route_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  FromImageData *data = task_data;
  const char *source = data->spec->root_copy_from ? data->spec->root_copy_from
                                                   : data->spec->root_move_from;
  GError *error = NULL;

  tsr_assert_worker_thread ();
  if (needs_import (source))
    {
      data->info = tsr_import_inspect_sync (source, &data->progress, cancellable, &error);
      if (data->info == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
from_image_done_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FromImageData *data = g_task_get_task_data (task);
  GError *error = NULL;
  char *name;

  if (g_task_get_source_tag (G_TASK (result)) == (gpointer) tsr_connection_import_async)
    name = tsr_connection_import_finish (TSR_CONNECTION (object), result, &data->notice, &error);
  else
    name = tsr_connection_create_vm_finish (TSR_CONNECTION (object), result, &data->notice, &error);

  if (name == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, name, g_free);
}

static void
routed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FromImageData *data = g_task_get_task_data (task);
  TsrConnection *self = TSR_CONNECTION (object);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->info == NULL)
    tsr_connection_create_vm_async (self, data->spec, data->progress.func, data->progress.data,
                                    cancellable, from_image_done_cb,
                                    g_steal_pointer (&task));
  else
    tsr_connection_import_async (self, data->info, data->spec,
                                 data->spec->root_move_from ? TSR_IMPORT_MOVE : TSR_IMPORT_FLAGS_NONE,
                                 data->progress.func, data->progress.data,
                                 cancellable, from_image_done_cb,
                                 g_steal_pointer (&task));
}

void
tsr_connection_create_vm_from_image_async (TsrConnection       *self,
                                           const TsrCreateSpec *spec,
                                           TsrProgressFunc      progress,
                                           gpointer             progress_data,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) route = NULL;
  FromImageData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (spec != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_create_vm_from_image_async);
  g_task_set_check_cancellable (task, FALSE);

  data = g_new0 (FromImageData, 1);
  data->spec = tsr_create_spec_copy (spec);
  data->progress.func = progress;
  data->progress.data = progress_data;
  data->progress.context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, data, (GDestroyNotify) from_image_data_free);

  if (spec->root_copy_from == NULL && spec->root_move_from == NULL)
    {
      tsr_connection_create_vm_async (self, data->spec, progress, progress_data, cancellable,
                                      from_image_done_cb, g_steal_pointer (&task));
      return;
    }

  route = g_task_new (self, cancellable, routed_cb, g_steal_pointer (&task));
  g_task_set_task_data (route, data, NULL);
  g_task_run_in_thread (route, route_worker);
}

char *
tsr_connection_create_vm_from_image_finish (TsrConnection  *self,
                                            GAsyncResult   *result,
                                            char          **notice,
                                            GError        **error)
{
  FromImageData *data;
  char *name;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  name = g_task_propagate_pointer (G_TASK (result), error);
  if (name != NULL && notice != NULL)
    *notice = g_steal_pointer (&data->notice);
  return name;
}
