/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-cloner-private.h"
#include "tsr-error.h"
#include "tsr-rules.h"
#include "tsr-storage-private.h"
#include "tsr-xml-private.h"

/* The source as it is, the clone's definition, and the plan of the clone:
 * which volume each disk becomes, with everything that can refuse the clone
 * checked before anything is made.
 */

/* The source and the clone's definition */

/* The source, which must be shut off, and its definition as it is. */
gboolean
tsr_cloner_read_source (CloneData  *data,
                        GError    **error)
{
  g_autoptr(virDomain) dom = virDomainLookupByUUIDString (data->conn, data->source_uuid);

  if (dom == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not find the VM to clone"));
      return FALSE;
    }
  data->source_name = g_strdup (virDomainGetName (dom));

  if (virDomainIsActive (dom) == 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” is running: shut it down before cloning it."), data->source_name);
      return FALSE;
    }
  if (virDomainHasManagedSaveImage (dom, 0) == 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” has a saved state: start it and shut it down, then clone it."),
                   data->source_name);
      return FALSE;
    }
  virResetLastError ();

  data->source_xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (data->source_xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the definition of the VM to clone"));
      return FALSE;
    }
  return TRUE;
}

/* The clone's definition starts as a copy of the source's with a new
 * identity; the source's own copy is what a linked clone rewrites.
 */
gboolean
tsr_cloner_new_definitions (CloneData  *data,
                            GError    **error)
{
  xmlNodePtr root, source_root, system;

  data->doc = tsr_xml_parse (data->source_xml);
  data->source_doc = xmlCopyDoc (data->doc, 1);
  root = data->doc ? xmlDocGetRootElement (data->doc) : NULL;
  source_root = data->source_doc ? xmlDocGetRootElement (data->source_doc) : NULL;
  if (root == NULL || source_root == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The definition of the VM to clone could not be read."));
      return FALSE;
    }

  /* Same VM, new identity. */
  tsr_xml_set_text (tsr_xml_child (root, "name"), data->spec->name);
  tsr_xml_remove_children (root, "uuid");
  if (tsr_xml_child (root, "genid") != NULL)
    tsr_xml_set_text (tsr_xml_child (root, "genid"), "");
  system = tsr_xml_child (tsr_xml_child (root, "sysinfo"), "system");
  for (xmlNodePtr n = system ? system->children : NULL; n != NULL;)
    {
      xmlNodePtr next = n->next;
      g_autofree char *entry = tsr_xml_is (n, "entry") ? tsr_xml_prop (n, "name") : NULL;

      if (g_strcmp0 (entry, "uuid") == 0)
        {
          xmlUnlinkNode (n);
          xmlFreeNode (n);
        }
      n = next;
    }

  return TRUE;
}

/* Disks in the definition */

/* Points a <disk> at a volume or file, keeping whatever else its <source>
 * says (seclabels, startup policy).
 */
void
tsr_cloner_set_disk_source (xmlNodePtr        disk,
                            virStorageVolPtr  vol,
                            const char       *pool,
                            const char       *vol_name,
                            const char       *path,
                            const char       *format)
{
  g_autofree char *type = tsr_xml_prop (disk, "type");
  xmlNodePtr source = tsr_xml_child (disk, "source");
  xmlNodePtr driver = tsr_xml_child (disk, "driver");
  virStorageVolInfo info = { 0 };

  if (source == NULL)
    source = tsr_xml_add (disk, "source", NULL);
  xmlUnsetProp (source, (const xmlChar *) "file");
  xmlUnsetProp (source, (const xmlChar *) "dev");
  xmlUnsetProp (source, (const xmlChar *) "pool");
  xmlUnsetProp (source, (const xmlChar *) "volume");

  if (g_strcmp0 (type, "volume") == 0 && pool != NULL && vol_name != NULL)
    {
      tsr_xml_set (source, "pool", pool);
      tsr_xml_set (source, "volume", vol_name);
    }
  else if (vol != NULL && virStorageVolGetInfo (vol, &info) == 0 && info.type == VIR_STORAGE_VOL_BLOCK)
    {
      tsr_xml_set (disk, "type", "block");
      tsr_xml_set (source, "dev", path);
    }
  else
    {
      tsr_xml_set (disk, "type", "file");
      tsr_xml_set (source, "file", path);
    }
  virResetLastError ();

  if (driver == NULL)
    {
      driver = tsr_xml_add (disk, "driver", NULL);
      tsr_xml_set (driver, "name", "qemu");
    }
  tsr_xml_set (driver, "type", format);

  /* The chain below is read from the image itself. */
  tsr_xml_remove_children (disk, "backingStore");
}

static gboolean
pool_is_local_dir (virStoragePoolPtr pool)
{
  g_autofree char *xml = virStoragePoolGetXMLDesc (pool, 0);
  g_autofree char *dir = NULL;

  if (!tsr_xml_pool_holds_files (xml))
    return FALSE;
  dir = tsr_storage_pool_dir (pool);
  return dir != NULL && g_file_test (dir, G_FILE_TEST_IS_DIR) && g_access (dir, W_OK) == 0;
}

static virStoragePoolPtr
lookup_pool (CloneData   *data,
             const char  *name,
             GError     **error)
{
  g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (data->conn, name);

  if (pool == NULL && !tsr_error_last_is_not_found ())
    {
      g_autofree char *what = g_strdup_printf (_("Could not look up the storage pool “%s”"),
                                               name);

      tsr_error_set_from_libvirt (error, what);
      return NULL;
    }
  virResetLastError ();
  if (pool == NULL && !g_str_equal (name, TSR_DEFAULT_POOL))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("No storage pool named “%s”: choose one of the host’s pools, or leave "
                     "the pool out to keep each disk in its own."), name);
      return NULL;
    }
  return tsr_storage_ensure_pool (data->conn, name, error);
}

static char *
strip_extension (const char *name)
{
  const char *dot = strrchr (name, '.');

  return dot != NULL && dot != name ? g_strndup (name, dot - name) : g_strdup (name);
}

static gboolean
volume_exists (virStoragePoolPtr  pool,
               const char        *name)
{
  g_autoptr(virStorageVol) vol = virStorageVolLookupByName (pool, name);

  virResetLastError ();
  return vol != NULL;
}

/* The clone's volume for a source disk: the source's volume name with the
 * source's name replaced by the clone's ("web-root.qcow2" becomes
 * "web-copy-root.qcow2"), else "<clone>-<target>.<ext>".
 */
static char *
clone_volume_name (const char *src_name,
                   const char *source_vm,
                   const char *clone_vm,
                   const char *target,
                   const char *format)
{
  gsize len = strlen (source_vm);
  const char *ext = g_str_equal (format, "qcow2") ? "qcow2" : g_str_equal (format, "raw") ? "img"
                                                                                           : format;
  g_autofree char *stem = NULL;

  if (src_name != NULL && g_str_has_prefix (src_name, source_vm) &&
      (src_name[len] == '-' || src_name[len] == '_' || src_name[len] == '.'))
    {
      stem = strip_extension (src_name + len);
      return g_strdup_printf ("%s%s.%s", clone_vm, stem, ext);
    }
  return g_strdup_printf ("%s-%s.%s", clone_vm, target, ext);
}

/* The source's new overlay next to its base: "web-root-N.qcow2", first
 * free N.
 */
static char *
overlay_volume_name (virStoragePoolPtr  pool,
                     const char        *base_name)
{
  g_autofree char *stem = strip_extension (base_name);
  char *dash = strrchr (stem, '-');

  if (dash != NULL && dash[1] != '\0' && strspn (dash + 1, "0123456789") == strlen (dash + 1))
    *dash = '\0';

  for (guint n = 1; n < G_MAXUINT; n++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%u.qcow2", stem, n);

      if (!volume_exists (pool, name))
        return g_steal_pointer (&name);
    }
  return NULL;
}

/* Shared, not copied: install media, read-only and shareable disks. */
static gboolean
is_shared (xmlNodePtr node)
{
  g_autofree char *device = tsr_xml_prop (node, "device");

  return g_strcmp0 (device, "cdrom") == 0 || tsr_xml_child (node, "readonly") != NULL ||
         tsr_xml_child (node, "shareable") != NULL || tsr_xml_child (node, "source") == NULL;
}

/* The source disk's file, and its volume when a pool holds it. */
static gboolean
find_source (CloneData   *data,
             CloneDisk   *disk,
             const char  *type,
             xmlNodePtr   source,
             GError     **error)
{
  if (g_strcmp0 (type, "volume") == 0)
    {
      g_autofree char *pool_name = tsr_xml_prop (source, "pool");
      g_autofree char *vol_name = tsr_xml_prop (source, "volume");
      g_autoptr(virStoragePool) pool = pool_name ? virStoragePoolLookupByName (data->conn, pool_name)
                                                 : NULL;

      disk->src_vol = pool && vol_name ? virStorageVolLookupByName (pool, vol_name) : NULL;
      if (disk->src_vol == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("Disk %s of “%s” is volume “%s” in pool “%s”, which does not exist: fix "
                         "or remove the disk first."), disk->target, data->source_name,
                       vol_name ? vol_name : "", pool_name ? pool_name : "");
          return FALSE;
        }
      disk->src_path = virStorageVolGetPath (disk->src_vol);
    }
  else if (g_strcmp0 (type, "file") == 0 || g_strcmp0 (type, "block") == 0)
    {
      disk->src_path = tsr_xml_prop (source, g_str_equal (type, "file") ? "file" : "dev");
      if (disk->src_path != NULL)
        disk->src_vol = virStorageVolLookupByPath (data->conn, disk->src_path);
    }
  else
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Disk %s of “%s” is a %s disk, which Tessera cannot copy: make it read-only "
                     "or shareable to share it with the clone, or remove it first."),
                   disk->target, data->source_name, type ? type : "");
      return FALSE;
    }
  virResetLastError ();

  if (disk->src_path == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Disk %s of “%s” has no source file."), disk->target, data->source_name);
      return FALSE;
    }
  return TRUE;
}

/* Size, format and backing of the source disk, and the bytes a copy of it
 * moves: from libvirt, and from the file itself where Tessera can read it.
 */
static gboolean
measure_source (CloneData   *data,
                CloneDisk   *disk,
                GError     **error)
{
  struct stat st;

  if (disk->src_vol != NULL)
    {
      virStorageVolInfo info;
      g_autofree char *vol_xml = virStorageVolGetXMLDesc (disk->src_vol, 0);

      disk->src_pool = virStoragePoolLookupByVolume (disk->src_vol);
      if (virStorageVolGetInfo (disk->src_vol, &info) == 0)
        {
          disk->capacity = info.capacity;
          disk->work = info.allocation;
        }
      if (disk->src_format == NULL && vol_xml != NULL)
        {
          g_autofree char *format = tsr_xml_volume_format (vol_xml);

          disk->src_format = g_strdup (g_strcmp0 (format, "qcow2") == 0 ? "qcow2" : "raw");
        }
      disk->has_backing = tsr_xml_volume_has_backing (vol_xml);
      virResetLastError ();
    }
  if (disk->src_format == NULL)
    disk->src_format = g_strdup ("raw");

  /* Tessera copies what it can reach: a regular file on this host, into a
   * directory pool it can write.
   */
  if (data->local && g_stat (disk->src_path, &st) == 0 && S_ISREG (st.st_mode) &&
      g_access (disk->src_path, R_OK) == 0)
    {
      int fd = open (disk->src_path, O_RDONLY | O_CLOEXEC);
      g_autofree char *backing = NULL;

      if (fd >= 0)
        {
          disk->work = tsr_cloner_data_bytes (fd);
          close (fd);
          disk->local_copy = TRUE;
        }
      if (g_str_equal (disk->src_format, "qcow2"))
        {
          if (tsr_cloner_qcow2_header (disk->src_path, &disk->capacity, &backing))
            disk->has_backing = backing != NULL;
        }
      else if (disk->capacity == 0)
        disk->capacity = st.st_size;
      if (disk->has_backing)
        disk->work = tsr_cloner_chain_allocation (disk->src_path, disk->src_format);
    }
  else if (disk->src_vol == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Disk %s of “%s” (%s) is in no storage pool of the host: add its folder "
                     "as a storage pool, then clone again."), disk->target, data->source_name,
                   disk->src_path);
      return FALSE;
    }
  return TRUE;
}

/* Overlays go on raw or qcow2 files only. */
static gboolean
check_linkable (CloneData   *data,
                CloneDisk   *disk,
                const char  *type,
                GError     **error)
{
  if (!g_str_equal (disk->src_format, "qcow2") && !g_str_equal (disk->src_format, "raw"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Disk %s of “%s” is a %s image; a linked clone needs raw or qcow2 disks: "
                     "make a full clone."), disk->target, data->source_name, disk->src_format);
      return FALSE;
    }
  if (g_strcmp0 (type, "block") == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Disk %s of “%s” is a block device; a linked clone needs disks in files: "
                     "make a full clone."), disk->target, data->source_name);
      return FALSE;
    }
  return TRUE;
}

/* The pool the clone's disk goes to, and whether Tessera can copy into it. */
static gboolean
choose_pool (CloneData   *data,
             CloneDisk   *disk,
             GError     **error)
{
  TsrCloneSpec *spec = data->spec;

  if (spec->pool != NULL)
    disk->dst_pool_name = g_strdup (spec->pool);
  else if (disk->src_pool != NULL)
    disk->dst_pool_name = g_strdup (virStoragePoolGetName (disk->src_pool));
  else
    disk->dst_pool_name = g_strdup (TSR_DEFAULT_POOL);
  if (!(disk->dst_pool = lookup_pool (data, disk->dst_pool_name, error)))
    return FALSE;
  /* A linked clone's disk is a qcow2 overlay of the same size. */
  if (!tsr_rules_check_disk_size (disk->capacity, spec->linked ? "qcow2" : disk->src_format,
                                  disk->dst_pool_name, tsr_storage_pool_capacity (disk->dst_pool),
                                  error))
    return FALSE;
  if (disk->local_copy && !spec->linked && !pool_is_local_dir (disk->dst_pool))
    disk->local_copy = FALSE;
  if (!disk->local_copy && !spec->linked && disk->src_vol == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Disk %s of “%s” is in no storage pool, and pool “%s” is not a folder "
                     "Tessera can write: choose a directory pool."), disk->target,
                   data->source_name, disk->dst_pool_name);
      return FALSE;
    }
  return TRUE;
}

/* The clone's volume name, told apart from the other disks planned into
 * the same pool, and free in the pool.
 */
static gboolean
name_volume (CloneData   *data,
             CloneDisk   *disk,
             const char  *src_vol_name,
             GHashTable  *planned,
             GError     **error)
{
  g_autofree char *key = NULL;

  disk->dst_name = clone_volume_name (src_vol_name, data->source_name, data->spec->name,
                                      disk->target,
                                      data->spec->linked ? "qcow2" : disk->src_format);
  key = g_strconcat (disk->dst_pool_name, "/", disk->dst_name, NULL);
  if (g_hash_table_contains (planned, key))
    {
      g_autofree char *stem = strip_extension (disk->dst_name);
      g_autofree char *ext = g_strdup (strrchr (disk->dst_name, '.') ? strrchr (disk->dst_name, '.') : "");

      g_free (disk->dst_name);
      disk->dst_name = g_strdup_printf ("%s-%s%s", stem, disk->target, ext);
      g_free (key);
      key = g_strconcat (disk->dst_pool_name, "/", disk->dst_name, NULL);
    }
  g_hash_table_add (planned, g_steal_pointer (&key));

  if (volume_exists (disk->dst_pool, disk->dst_name))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("Volume “%s” already exists in pool “%s”: remove it, or choose another name "
                     "for the clone."), disk->dst_name, disk->dst_pool_name);
      return FALSE;
    }
  return TRUE;
}

/* Finds the disks the source owns, and where each one's clone goes. */
gboolean
tsr_cloner_plan_disk (CloneData   *data,
                      xmlNodePtr   node,
                      xmlNodePtr   source_node,
                      GHashTable  *planned,
                      GError     **error)
{
  TsrCloneSpec *spec = data->spec;
  g_autofree char *type = tsr_xml_prop (node, "type");
  xmlNodePtr target = tsr_xml_child (node, "target");
  xmlNodePtr driver = tsr_xml_child (node, "driver");
  g_autofree char *src_vol_name = NULL;
  CloneDisk *disk;

  if (is_shared (node))
    return TRUE;

  disk = g_new0 (CloneDisk, 1);
  g_ptr_array_add (data->disks, disk);
  disk->node = node;
  disk->source_node = source_node;
  disk->target = target ? tsr_xml_prop (target, "dev") : NULL;
  if (disk->target == NULL)
    disk->target = g_strdup_printf ("disk%u", data->disks->len);
  disk->src_format = driver ? tsr_xml_prop (driver, "type") : NULL;

  if (!find_source (data, disk, type, tsr_xml_child (node, "source"), error))
    return FALSE;
  if (disk->src_vol != NULL)
    src_vol_name = g_strdup (virStorageVolGetName (disk->src_vol));
  if (!measure_source (data, disk, error))
    return FALSE;
  if (spec->linked && !check_linkable (data, disk, type, error))
    return FALSE;
  if (!choose_pool (data, disk, error))
    return FALSE;
  if (!name_volume (data, disk, src_vol_name, planned, error))
    return FALSE;

  if (spec->linked)
    {
      virStoragePoolPtr pool = disk->src_pool ? disk->src_pool : disk->dst_pool;
      g_autofree char *base_name = src_vol_name ? g_strdup (src_vol_name)
                                                : g_path_get_basename (disk->src_path);

      disk->overlay_name = overlay_volume_name (pool, base_name);
      disk->work = 0;
    }

  data->total += disk->work;
  return TRUE;
}

/* The whole plan */

/* Everything that can be refused before anything is made: where each disk
 * goes, which addresses to reserve, where the NVRAM goes, and the room for
 * it all.
 */
gboolean
tsr_cloner_plan (CloneData     *data,
                 char         **nvram_src,
                 char         **nvram_dst,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GHashTable) planned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  xmlNodePtr root = xmlDocGetRootElement (data->doc);
  xmlNodePtr devices = tsr_xml_child (root, "devices");
  xmlNodePtr source_devices = tsr_xml_child (xmlDocGetRootElement (data->source_doc), "devices");
  g_autofree char *domain_type = tsr_xml_prop (root, "type");

  tsr_progress_report (&data->progress, 0, 0, _("Checking the VM"), TRUE);
  if (devices != NULL)
    {
      xmlNodePtr s = source_devices ? source_devices->children : NULL;

      /* The copy has the same nodes in the same order. */
      for (xmlNodePtr n = devices->children; n; n = n->next, s = s ? s->next : NULL)
        if (tsr_xml_is (n, "disk") && !tsr_cloner_plan_disk (data, n, s, planned, error))
          return FALSE;
      if (!tsr_cloner_plan_interfaces (data, devices,
                                       g_strcmp0 (domain_type, "xen") == 0 ? "00:16:3e"
                                                                           : "52:54:00",
                                       error))
        return FALSE;
    }
  if (!tsr_cloner_plan_nvram (data, tsr_xml_child (root, "os"), nvram_src, nvram_dst, error))
    return FALSE;
  if (!tsr_cloner_check_space (data, error))
    return FALSE;
  return !tsr_cloner_check_cancelled (cancellable, error);
}
