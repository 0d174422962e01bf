/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-inventory.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

void
tsr_inventory_volume_free (TsrInventoryVolume *volume)
{
  if (volume == NULL)
    return;
  g_free (volume->pool);
  g_free (volume->name);
  g_free (volume->path);
  g_free (volume->media);
  g_free (volume);
}

void
tsr_inventory_free (TsrInventory *inventory)
{
  if (inventory == NULL)
    return;
  g_strfreev (inventory->networks);
  g_strfreev (inventory->pools);
  g_clear_pointer (&inventory->volumes, g_ptr_array_unref);
  g_strfreev (inventory->drives);
  g_free (inventory);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static GStrv
sorted_strv (GPtrArray *names)
{
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return (GStrv) g_ptr_array_free (names, FALSE);
}

/**
 * tsr_host_list_optical_drives:
 * @dev_dir: (nullable): where device nodes live; %NULL for /dev, or
 *   $TESSERA_DEV_DIR when that is set (for tests)
 *
 * Lists the optical drives of this machine: `sr0`, `sr1`, … and the
 * `cdrom`/`dvd` names where they are not links to one already listed. Only
 * block devices count. Touches the disk: call it from a worker.
 *
 * Returns: (transfer full): full paths, sorted
 */
GStrv
tsr_host_list_optical_drives (const char *dev_dir)
{
  static const char * const aliases[] = { "cdrom", "dvd", "cdrw", "dvdrw", NULL };
  g_autoptr(GPtrArray) drives = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GDir) dir = NULL;
  const char *entry;

  if (dev_dir == NULL)
    dev_dir = g_getenv ("TESSERA_DEV_DIR");
  if (dev_dir == NULL || *dev_dir == '\0')
    dev_dir = "/dev";

  dir = g_dir_open (dev_dir, 0, NULL);
  if (dir == NULL)
    return sorted_strv (g_steal_pointer (&drives));

  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *real = NULL;
      struct stat st;

      if (!g_str_has_prefix (entry, "sr") || !g_ascii_isdigit (entry[2]))
        continue;
      path = g_build_filename (dev_dir, entry, NULL);
      if (g_stat (path, &st) != 0 || !S_ISBLK (st.st_mode))
        continue;
      real = realpath (path, NULL);
      g_hash_table_add (seen, g_strdup (real ? real : path));
      g_ptr_array_add (drives, g_steal_pointer (&path));
    }

  /* /dev/cdrom usually points at /dev/sr0, which is listed already. */
  for (guint i = 0; aliases[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dev_dir, aliases[i], NULL);
      g_autofree char *real = NULL;
      struct stat st;

      if (g_stat (path, &st) != 0 || !S_ISBLK (st.st_mode))
        continue;
      real = realpath (path, NULL);
      if (g_hash_table_contains (seen, real ? real : path))
        continue;
      g_hash_table_add (seen, g_strdup (real ? real : path));
      g_ptr_array_add (drives, g_steal_pointer (&path));
    }

  return sorted_strv (g_steal_pointer (&drives));
}

/* An ISO by its name, or by the format libvirt found in it. */
static gboolean
volume_looks_like_media (virStorageVolPtr  vol,
                         const char       *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  g_autofree char *xml = NULL;
  g_autofree char *format = NULL;
  xmlDocPtr doc;

  if (g_str_has_suffix (lower, ".iso"))
    return TRUE;

  xml = virStorageVolGetXMLDesc (vol, 0);
  if (xml == NULL)
    {
      virResetLastError ();
      return FALSE;
    }
  doc = xmlReadMemory (xml, strlen (xml), "volume.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                       XML_PARSE_NOWARNING);
  if (doc == NULL)
    return FALSE;
  {
    xmlNodePtr target = tsr_xml_child (xmlDocGetRootElement (doc), "target");
    xmlNodePtr node = tsr_xml_child (target, "format");

    if (node != NULL)
      format = tsr_xml_prop (node, "type");
  }
  xmlFreeDoc (doc);

  return g_strcmp0 (format, "iso") == 0;
}

static void
list_volumes (virStoragePoolPtr  pool,
              const char        *pool_name,
              GPtrArray         *out)
{
  virStorageVolPtr *vols = NULL;
  int n;

  n = virStoragePoolListAllVolumes (pool, &vols, 0);
  if (n < 0)
    {
      virResetLastError ();
      return;
    }

  for (int i = 0; i < n; i++)
    {
      const char *name = virStorageVolGetName (vols[i]);
      virStorageVolInfo info;

      if (name != NULL && volume_looks_like_media (vols[i], name))
        {
          TsrInventoryVolume *volume = g_new0 (TsrInventoryVolume, 1);
          char *path = virStorageVolGetPath (vols[i]);

          volume->pool = g_strdup (pool_name);
          volume->name = g_strdup (name);
          volume->path = g_strdup (path);
          volume->media = g_strdup_printf ("%s:%s", pool_name, name);
          if (virStorageVolGetInfo (vols[i], &info) == 0)
            volume->capacity = info.capacity;
          free (path);
          g_ptr_array_add (out, volume);
        }
      virStorageVolFree (vols[i]);
    }
  free (vols);
  virResetLastError ();
}

static int
compare_volumes (gconstpointer a,
                 gconstpointer b)
{
  const TsrInventoryVolume *va = *(TsrInventoryVolume * const *) a;
  const TsrInventoryVolume *vb = *(TsrInventoryVolume * const *) b;
  int cmp = g_strcmp0 (va->pool, vb->pool);

  return cmp != 0 ? cmp : g_strcmp0 (va->name, vb->name);
}

static void
inventory_worker (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  TsrCall *data = task_data;
  g_autoptr(TsrInventory) inventory = g_new0 (TsrInventory, 1);
  g_autoptr(GPtrArray) networks = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) pools = g_ptr_array_new_with_free_func (g_free);
  virNetworkPtr *nets = NULL;
  virStoragePoolPtr *pool_list = NULL;
  GError *error = NULL;
  int n;

  tsr_assert_worker_thread ();
  n = virConnectListAllNetworks (data->conn, &nets, 0);
  if (n < 0)
    {
      tsr_error_set_from_libvirt (&error, _("Could not list the networks"));
      g_task_return_error (task, error);
      return;
    }
  for (int i = 0; i < n; i++)
    {
      g_ptr_array_add (networks, g_strdup (virNetworkGetName (nets[i])));
      virNetworkFree (nets[i]);
    }
  free (nets);
  inventory->networks = sorted_strv (g_steal_pointer (&networks));

  if (g_task_return_error_if_cancelled (task))
    return;

  inventory->volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_inventory_volume_free);
  n = virConnectListAllStoragePools (data->conn, &pool_list, 0);
  if (n < 0)
    {
      tsr_error_set_from_libvirt (&error, _("Could not list the storage pools"));
      g_task_return_error (task, error);
      return;
    }
  for (int i = 0; i < n; i++)
    {
      const char *name = virStoragePoolGetName (pool_list[i]);

      g_ptr_array_add (pools, g_strdup (name));
      if (virStoragePoolIsActive (pool_list[i]) == 1 && !g_cancellable_is_cancelled (cancellable))
        list_volumes (pool_list[i], name, inventory->volumes);
      virStoragePoolFree (pool_list[i]);
    }
  free (pool_list);
  virResetLastError ();
  inventory->pools = sorted_strv (g_steal_pointer (&pools));
  g_ptr_array_sort (inventory->volumes, compare_volumes);

  /* This machine's drives mean nothing to a VM on another host. */
  if (data->local)
    inventory->drives = tsr_host_list_optical_drives (NULL);
  else
    inventory->drives = g_new0 (char *, 1);

  if (g_task_return_error_if_cancelled (task))
    return;

  g_task_return_pointer (task, g_steal_pointer (&inventory), (GDestroyNotify) tsr_inventory_free);
}

/**
 * tsr_connection_get_inventory_async:
 * @self: a #TsrConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the inventory is read
 * @user_data: data for @callback
 *
 * Reads the connection's networks, storage pools and their ISO-looking
 * volumes, and, for a connection to this machine, its optical drives.
 */
void
tsr_connection_get_inventory_async (TsrConnection       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  if (tsr_connection_call_new (self, NULL, sizeof (TsrCall), NULL,
                               tsr_connection_get_inventory_async, cancellable, callback,
                               user_data, &task))
    g_task_run_in_thread (task, inventory_worker);
}

/**
 * tsr_connection_get_inventory_finish:
 * @self: a #TsrConnection
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the inventory, or %NULL on error
 */
TsrInventory *
tsr_connection_get_inventory_finish (TsrConnection  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
