/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/virterror.h>

#include "tsr-error.h"
#include "tsr-media.h"
#include "tsr-qemu-img.h"
#include "tsr-storage-private.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

/* Storage pools, volumes and disk images: what create, clone and import
 * share. Everything here blocks and runs in workers.
 */

/* Disk images */

/* The format of a root image the user gives, so it can be passed
 * explicitly afterwards; only raw and qcow2 are taken here.
 */
gboolean
tsr_image_info (const char  *path,
                char       **format,
                guint64     *virtual_size,
                GError     **error)
{
  g_autoptr(TsrImageInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;

  g_autofree char *real = realpath (path, NULL);
  GStatBuf st;

  if (real == NULL || !g_file_test (real, G_FILE_TEST_IS_REGULAR) || g_access (real, R_OK) != 0 ||
      g_stat (real, &st) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("The root image “%s” does not exist or cannot be read: check the path "
                     "and its permissions."), path);
      return FALSE;
    }
  /* A link to the host's secrets would hand them to the guest. */
  if (tsr_path_secret_dir (real) != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is in %s, which holds the host’s own files, not disk images: a VM "
                     "may not get it as its disk."), path, tsr_path_secret_dir (real));
      return FALSE;
    }

  if (!(info = tsr_qemu_img_info (real, NULL, NULL, &local_error)))
    {
      if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_FAILED))
        g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                     _("“%s” is not a disk image qemu-img can read: %s"), path,
                     local_error->message);
      else if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_INVALID_VALUE))
        g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                     _("Could not read the format of “%s”."), path);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (g_str_equal (info->format, "raw") && (st.st_size % 512 != 0 || st.st_size < 1024 * 1024))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is not a disk image: a raw image is a whole number of 512-byte "
                     "sectors, at least 1 MiB."), path);
      return FALSE;
    }

  if (!g_str_equal (info->format, "raw") && !g_str_equal (info->format, "qcow2"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a %s image; a root image must be raw or qcow2 (use “tessera-cli "
                     "import” for VirtualBox formats)."), path, info->format);
      return FALSE;
    }

  /* An image that reads another file (a qcow2 backing file or external
   * data file) could pull any host file into the VM: refused.
   */
  if (info->backing_filename != NULL || info->data_file != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” depends on another image file (a backing or data file): convert it "
                     "to a standalone image first (qemu-img convert -O qcow2)."), path);
      return FALSE;
    }

  *format = g_steal_pointer (&info->format);
  *virtual_size = info->virtual_size;
  return TRUE;
}

/* qemu-img convert with progress; killed on cancel. The source format is
 * always given, so a raw image is never probed.
 */
gboolean
tsr_image_convert (const TsrQemuImgConvert  *convert,
                   guint64                   total,
                   TsrProgress              *progress,
                   GCancellable             *cancellable,
                   GError                  **error)
{
  const char *stage = _("Copying the root image");
  TsrQemuImgProgress report = { progress, stage, 0, total, total };
  g_autoptr(GError) local_error = NULL;

  if (!tsr_qemu_img_convert (convert, &report, cancellable, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                     _("Copying “%s” failed: %s"), convert->src, local_error->message);
      return FALSE;
    }

  tsr_progress_report (progress, total, total, stage, TRUE);
  return TRUE;
}

static char *
default_pool_xml (void)
{
  g_autoptr(GVirConfigStoragePool) config = gvir_config_storage_pool_new ();
  g_autoptr(GVirConfigStoragePoolTarget) target = gvir_config_storage_pool_target_new ();

  gvir_config_storage_pool_set_pool_type (config, GVIR_CONFIG_STORAGE_POOL_TYPE_DIR);
  gvir_config_storage_pool_set_name (config, TSR_DEFAULT_POOL);
  gvir_config_storage_pool_target_set_path (target, TSR_DEFAULT_POOL_PATH);
  gvir_config_storage_pool_set_target (config, target);
  return gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (config));
}

virStoragePoolPtr
tsr_storage_ensure_pool (virConnectPtr   conn,
                         const char     *name,
                         GError        **error)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, name);

  if (pool == NULL && !tsr_error_last_is_not_found ())
    {
      g_autofree char *what = g_strdup_printf (_("Could not look up the storage pool “%s”"),
                                               name);

      tsr_error_set_from_libvirt (error, what);
      return NULL;
    }
  virResetLastError ();
  if (pool == NULL)
    {
      g_autofree char *xml = NULL;

      if (!g_str_equal (name, TSR_DEFAULT_POOL))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("No storage pool named “%s”: leave the pool out to use “%s”."),
                       name, TSR_DEFAULT_POOL);
          return NULL;
        }

      xml = default_pool_xml ();
      pool = virStoragePoolDefineXML (conn, xml, 0);
      if (pool == NULL)
        {
          tsr_error_set_from_libvirt (error, _("Could not create the storage pool"));
          return NULL;
        }
      virStoragePoolBuild (pool, 0);
      virStoragePoolSetAutostart (pool, 1);
      virResetLastError ();
    }

  if (virStoragePoolIsActive (pool) != 1 && virStoragePoolCreate (pool, 0) < 0)
    {
      g_autofree char *what = g_strdup_printf (_("Could not start the storage pool “%s”"),
                                               name);

      tsr_error_set_from_libvirt (error, what);
      virStoragePoolFree (pool);
      return NULL;
    }

  return pool;
}

char *
tsr_storage_pool_dir (virStoragePoolPtr pool)
{
  g_autofree char *xml = virStoragePoolGetXMLDesc (pool, 0);
  g_autoptr(xmlDoc) doc = tsr_xml_parse (xml);
  xmlNodePtr path = doc ? tsr_xml_find (xmlDocGetRootElement (doc), "target/path") : NULL;

  return path ? tsr_xml_text (path) : NULL;
}

/* A new volume without a backing file: libvirt allocates it sparse. */
char *
tsr_storage_volume_xml (const char *name,
                        guint64     capacity,
                        const char *format)
{
  g_autoptr(GVirConfigStorageVol) vol = gvir_config_storage_vol_new ();
  g_autoptr(GVirConfigStorageVolTarget) target = gvir_config_storage_vol_target_new ();

  gvir_config_storage_vol_set_name (vol, name);
  gvir_config_storage_vol_set_capacity (vol, capacity);
  gvir_config_storage_vol_set_allocation (vol, 0);
  gvir_config_storage_vol_target_set_format (target, format);
  gvir_config_storage_vol_set_target (vol, target);
  return gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (vol));
}

/* The bytes POOL can ever hold, 0 when libvirt does not say. Worker thread. */
guint64
tsr_storage_pool_capacity (virStoragePoolPtr pool)
{
  virStoragePoolInfo info;

  tsr_assert_worker_thread ();
  if (virStoragePoolGetInfo (pool, &info) < 0)
    {
      virResetLastError ();
      return 0;
    }
  return info.capacity;
}

gboolean
tsr_storage_copy_nvram (const char  *src,
                        const char  *dst,
                        gboolean    *copied,
                        GError     **error)
{
  g_autoptr(GFile) from = NULL;
  g_autoptr(GFile) to = NULL;
  g_autoptr(GError) local_error = NULL;

  *copied = FALSE;
  if (!g_file_test (src, G_FILE_TEST_EXISTS))
    return TRUE;
  from = g_file_new_for_path (src);
  to = g_file_new_for_path (dst);
  if (!g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("Could not copy the firmware settings (NVRAM) %s: %s"), src,
                   local_error->message);
      return FALSE;
    }
  g_chmod (dst, 0600);
  *copied = TRUE;
  return TRUE;
}
