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
#include "tsr-libvirt-private.h"
#include "tsr-task.h"
#include "tsr-validate.h"

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
  g_free (info->os_id);
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
  spec->os_id = g_strdup (info->os_id);
  /* The appliance's hardware stands; the OS fills in only what it left out. */
  spec->set = TSR_SPEC_SET_DISK | TSR_SPEC_SET_FIRMWARE;
  if (info->memory > 0)
    spec->set |= TSR_SPEC_SET_MEMORY;
  if (info->vcpus > 0)
    spec->set |= TSR_SPEC_SET_VCPUS;
  return spec;
}

/* Inspect */

typedef struct
{
  char        *path;
  TsrProgress  progress;
} InspectData;

static void
inspect_data_free (InspectData *data)
{
  g_free (data->path);
  tsr_progress_clear (&data->progress);
  g_free (data);
}

static gpointer
inspect_run (gpointer       user_data,
             GCancellable  *cancellable,
             GError       **error)
{
  InspectData *data = user_data;

  return tsr_import_inspect_sync (data->path, &data->progress, cancellable, error);
}

void
tsr_import_inspect_async (const char          *path,
                          TsrProgressFunc      progress,
                          gpointer             progress_data,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  InspectData *data;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_import_inspect_async);
  data = g_new0 (InspectData, 1);
  data->path = g_strdup (path);
  tsr_progress_init (&data->progress, progress, progress_data);
  g_task_set_task_data (task, data, (GDestroyNotify) inspect_data_free);
  tsr_task_run_value_in_thread (task, inspect_run, (GDestroyNotify) tsr_import_info_unref);
}

TsrImportInfo *
tsr_import_inspect_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Import: prepare (worker) → check the settings (create, check only) →
 * convert (worker) → define (create) → on failure remove the volumes
 * (worker); with TSR_IMPORT_MOVE remove the input (worker). The workers'
 * steps are in tsr-import-convert.c.
 */

/* The VM's name once it exists, else the error that stopped the import. */
static void
finished_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  TsrImportJob *data = g_task_get_task_data (outer);

  tsr_task_return_pointer_or_error (outer, g_steal_pointer (&data->vm_name), g_free,
                                    g_steal_pointer (&data->error));
}

static void
defined_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  TsrImportJob *data = g_task_get_task_data (outer);
  g_autofree char *notice = NULL;

  data->vm_name = tsr_connection_create_vm_finish (TSR_CONNECTION (object), result, &notice,
                                                   &data->error);
  if (data->vm_name == NULL)
    {
      tsr_task_run_step (g_steal_pointer (&outer), tsr_import_job_delete_volumes, finished_cb);
      return;
    }

  tsr_import_job_forget_volumes (data);
  tsr_import_job_add_notice (data, notice);
  if (data->flags & TSR_IMPORT_MOVE)
    tsr_task_run_step (g_steal_pointer (&outer), tsr_import_job_remove_input, finished_cb);
  else
    finished_cb (NULL, NULL, g_steal_pointer (&outer));
}

static void checked_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data);

/* DATA's spec, checked only, or made with the converted volumes. */
static void
create_vm (GTask    *outer,
           gboolean  check_only)
{
  TsrImportJob *data = g_task_get_task_data (outer);
  g_autoptr(TsrCreateSpec) spec = tsr_create_spec_copy (data->spec);

  spec->check_only = check_only;
  if (!check_only)
    {
      spec->root_volume = g_strdup (g_ptr_array_index (data->volume_names, 0));
      spec->extra_volumes = g_new0 (char *, data->volume_names->len);
      for (guint i = 1; i < data->volume_names->len; i++)
        spec->extra_volumes[i - 1] = g_strdup (g_ptr_array_index (data->volume_names, i));
    }
  tsr_connection_create_vm_async (data->self, spec,
                                  check_only ? NULL : data->progress.func, data->progress.data,
                                  data->cancellable, check_only ? checked_cb : defined_cb, outer);
}

static void
converted_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;

  if (tsr_task_step_succeeded (outer, result))
    create_vm (g_steal_pointer (&outer), FALSE);
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
    g_task_return_error (outer, error);
  else
    tsr_task_run_step (g_steal_pointer (&outer), tsr_import_job_convert, converted_cb);
}

static void
prepared_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  TsrImportJob *data = g_task_get_task_data (outer);
  GError *error = NULL;

  if (!tsr_task_step_succeeded (outer, result))
    return;
  if (tsr_import_job_set_cancelled (data->cancellable, &error))
    {
      g_task_return_error (outer, error);
      return;
    }

  /* Every rule of creating a VM, checked before any byte is converted. */
  create_vm (g_steal_pointer (&outer), TRUE);
}

static void
import_start (GTask *task)
{
  TsrImportJob *data = g_task_get_task_data (task);

  tsr_progress_report (&data->progress, 0, 0, _("Checking the pool"), TRUE);
  tsr_task_run_step (task, tsr_import_job_prepare, prepared_cb);
}

/* What must hold before anything is touched; FALSE after TASK returned
 * why not.
 */
static gboolean
check_request (TsrConnection       *self,
               TsrImportInfo       *info,
               const TsrCreateSpec *spec,
               GTask               *task)
{
  GError *error = NULL;

  if (!tsr_uri_is_local (tsr_connection_get_uri (self)))
    g_set_error (&error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                 _("Importing converts the disks on this computer, so it needs a local "
                   "connection (qemu:///system), not %s."), tsr_connection_get_uri (self));
  else if (info->disks->len == 0)
    g_set_error_literal (&error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                         _("There is no disk to import."));
  /* The volumes are named after the VM: the name must be good first. */
  else
    tsr_validate_vm_name (spec->name, &error);

  if (error == NULL)
    return TRUE;
  g_task_return_error (task, error);
  return FALSE;
}

static TsrImportJob *
import_job_new (TsrConnection       *self,
                virConnectPtr        conn,
                TsrImportInfo       *info,
                const TsrCreateSpec *spec)
{
  TsrImportJob *data = g_new0 (TsrImportJob, 1);

  data->self = g_object_ref (self);
  data->name_lock = -1;
  data->conn = conn;
  data->info = tsr_import_info_ref (info);
  data->spec = tsr_create_spec_copy (spec);
  g_clear_pointer (&data->spec->root_copy_from, g_free);
  g_clear_pointer (&data->spec->root_move_from, g_free);
  g_clear_pointer (&data->spec->root_volume, g_free);
  g_clear_pointer (&data->spec->extra_volumes, g_strfreev);
  data->volumes = g_ptr_array_new ();
  data->volume_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < info->disks->len; i++)
    g_ptr_array_add (data->volume_names,
                     i == 0 ? g_strdup_printf ("%s-root.qcow2", spec->name)
                            : g_strdup_printf ("%s-disk%u.qcow2", spec->name, i + 1));
  return data;
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
  TsrImportJob *data;

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
  if (conn == NULL || !check_request (self, info, spec, task))
    return;

  data = import_job_new (self, g_steal_pointer (&conn), info, spec);
  data->flags = flags;
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  tsr_progress_init (&data->progress, progress, progress_data);
  g_task_set_task_data (task, data, (GDestroyNotify) tsr_import_job_free);
  import_start (g_steal_pointer (&task));
}

char *
tsr_connection_import_finish (TsrConnection  *self,
                              GAsyncResult   *result,
                              char          **notice,
                              GError        **error)
{
  TsrImportJob *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  /* No task data when the call was refused before the job was made. */
  return tsr_task_propagate_string_with_note (result, data ? &data->notice : NULL, notice, error);
}

/* qvm-create --root-copy-from / --root-move-from in any format */

typedef struct
{
  TsrCreateSpec  *spec;
  TsrProgress     progress;
  GCancellable   *cancellable;
  TsrImportInfo  *info;     /* NULL: a plain raw or qcow2 image, for create */
  char           *notice;
} FromImageData;

static void
from_image_data_free (FromImageData *data)
{
  tsr_create_spec_free (data->spec);
  tsr_progress_clear (&data->progress);
  g_clear_object (&data->cancellable);
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

static gboolean
route (gpointer   user_data,
       GError   **error)
{
  FromImageData *data = user_data;
  const char *source = data->spec->root_copy_from ? data->spec->root_copy_from
                                                   : data->spec->root_move_from;

  if (!needs_import (source))
    return TRUE;
  data->info = tsr_import_inspect_sync (source, &data->progress, data->cancellable, error);
  return data->info != NULL;
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
  tsr_task_return_pointer_or_error (task, name, g_free, error);
}

static void
routed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FromImageData *data = g_task_get_task_data (task);
  TsrConnection *self = g_task_get_source_object (task);

  if (!tsr_task_step_succeeded (task, result))
    return;

  if (data->info == NULL)
    tsr_connection_create_vm_async (self, data->spec, data->progress.func, data->progress.data,
                                    data->cancellable, from_image_done_cb,
                                    g_steal_pointer (&task));
  else
    tsr_connection_import_async (self, data->info, data->spec,
                                 data->spec->root_move_from ? TSR_IMPORT_MOVE : TSR_IMPORT_FLAGS_NONE,
                                 data->progress.func, data->progress.data,
                                 data->cancellable, from_image_done_cb,
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
  FromImageData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (spec != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_create_vm_from_image_async);
  g_task_set_check_cancellable (task, FALSE);

  data = g_new0 (FromImageData, 1);
  data->spec = tsr_create_spec_copy (spec);
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  tsr_progress_init (&data->progress, progress, progress_data);
  g_task_set_task_data (task, data, (GDestroyNotify) from_image_data_free);

  if (spec->root_copy_from == NULL && spec->root_move_from == NULL)
    {
      tsr_connection_create_vm_async (self, data->spec, progress, progress_data, cancellable,
                                      from_image_done_cb, g_steal_pointer (&task));
      return;
    }
  tsr_task_run_step (g_steal_pointer (&task), route, routed_cb);
}

char *
tsr_connection_create_vm_from_image_finish (TsrConnection  *self,
                                            GAsyncResult   *result,
                                            char          **notice,
                                            GError        **error)
{
  FromImageData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  /* No task data when the call was refused before the job was made. */
  return tsr_task_propagate_string_with_note (result, data ? &data->notice : NULL, notice, error);
}
