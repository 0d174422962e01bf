/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "tsr-cloner-private.h"
#include "tsr-error.h"
#include "tsr-storage-private.h"
#include "tsr-xml-private.h"

/* The clone's disks, one at a time: copied for a full clone (by the engine
 * in tsr-cloner-copy.c, or by libvirt), or a pair of qcow2 overlays on the
 * source's disk for a linked one; and the bases each VM records for them.
 */

/* Linked bases in the metadata */

static xmlNodePtr
tessera_element (xmlNodePtr root,
                 gboolean   create)
{
  return tsr_xml_metadata (root, TSR_METADATA_NS, TSR_METADATA_PREFIX, "vm", create);
}

/* Children of <tessera:vm> are unprefixed, like the creator's <label>. */
static gboolean
is_base_element (xmlNodePtr node)
{
  return tsr_xml_is (node, "base");
}

/* Drops the bases recorded for DISK (a target dev), e.g. once it has been
 * flattened by a full copy.
 */
static void
remove_bases (xmlNodePtr  root,
              const char *disk)
{
  xmlNodePtr vm = tessera_element (root, FALSE);

  for (xmlNodePtr n = vm ? vm->children : NULL; n != NULL;)
    {
      xmlNodePtr next = n->next;

      if (is_base_element (n))
        {
          g_autofree char *which = tsr_xml_prop (n, "disk");

          if (g_strcmp0 (which, disk) == 0)
            {
              xmlUnlinkNode (n);
              xmlFreeNode (n);
            }
        }
      n = next;
    }
}

/* Records that DISK is now an overlay on BASE, in front of the bases it
 * had: a disk's bases are its whole chain, nearest first.
 */
static void
add_base (xmlNodePtr  root,
          const char *disk,
          const char *base)
{
  xmlNodePtr vm = tessera_element (root, TRUE);
  xmlNodePtr node = xmlNewNode (NULL, (const xmlChar *) "base");
  xmlNodePtr first = NULL;

  xmlNodeAddContent (node, (const xmlChar *) base);
  tsr_xml_set (node, "disk", disk);

  for (xmlNodePtr n = vm->children; n && first == NULL; n = n->next)
    {
      g_autofree char *which = is_base_element (n) ? tsr_xml_prop (n, "disk") : NULL;

      if (g_strcmp0 (which, disk) == 0)
        first = n;
    }
  if (first != NULL)
    xmlAddPrevSibling (first, node);
  else
    xmlAddChild (vm, node);
}

GStrv
tsr_domain_xml_linked_bases (const char *domain_xml)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(xmlDoc) doc = NULL;
  xmlNodePtr vm;

  g_return_val_if_fail (domain_xml != NULL, NULL);

  doc = tsr_xml_parse (domain_xml);
  vm = doc ? tessera_element (xmlDocGetRootElement (doc), FALSE) : NULL;
  for (xmlNodePtr n = vm ? vm->children : NULL; n; n = n->next)
    {
      g_autofree char *path = NULL;

      if (!is_base_element (n))
        continue;
      path = tsr_xml_text (n);
      if (path != NULL && *path != '\0')
        g_strv_builder_add (builder, path);
    }

  return g_strv_builder_end (builder);
}

/* Making the disks */

/* Enough room in each pool for what is copied into it. libvirt's figures
 * are its own view; a pool that fills up meanwhile fails the copy itself.
 */
gboolean
tsr_cloner_check_space (CloneData  *data,
                        GError    **error)
{
  g_autoptr(GHashTable) need = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  if (data->spec->linked)
    return TRUE;

  for (guint i = 0; i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);
      guint64 *sum = g_hash_table_lookup (need, disk->dst_pool_name);

      if (sum == NULL)
        {
          sum = g_new0 (guint64, 1);
          g_hash_table_insert (need, disk->dst_pool_name, sum);
        }
      *sum += disk->work;
    }

  for (guint i = 0; i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);
      guint64 *sum = g_hash_table_lookup (need, disk->dst_pool_name);
      virStoragePoolInfo info;

      if (sum == NULL)
        continue;  /* checked with an earlier disk */
      if (virStoragePoolGetInfo (disk->dst_pool, &info) == 0 && info.available < *sum)
        {
          g_autofree char *have = g_format_size_full (info.available, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *want = g_format_size_full (*sum, G_FORMAT_SIZE_IEC_UNITS);

          g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                       _("Storage pool “%s” has %s free, but the clone’s disks need %s: free up "
                         "space there, or clone into another storage pool."),
                       disk->dst_pool_name, have, want);
          return FALSE;
        }
      virResetLastError ();
      g_hash_table_remove (need, disk->dst_pool_name);
    }

  return TRUE;
}

static gboolean
copy_disk (CloneData     *data,
           CloneDisk     *disk,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autofree char *stage = g_strdup_printf (_("Copying disk %s"), disk->target);
  g_autofree char *xml = tsr_storage_volume_xml (disk->dst_name, disk->capacity, disk->src_format);

  if (disk->local_copy)
    {
      disk->dst_vol = virStorageVolCreateXML (disk->dst_pool, xml, 0);
      if (disk->dst_vol == NULL)
        {
          g_autofree char *what = g_strdup_printf (_("Could not create volume “%s” in pool “%s”"),
                                                   disk->dst_name, disk->dst_pool_name);

          tsr_error_set_from_libvirt (error, what);
          return FALSE;
        }
      disk->dst_path = virStorageVolGetPath (disk->dst_vol);
      if (disk->dst_path == NULL)
        {
          tsr_error_set_from_libvirt (error, _("Could not find the new volume"));
          return FALSE;
        }
      return disk->has_backing ? tsr_cloner_copy_flatten (data, disk, cancellable, error)
                               : tsr_cloner_copy_sparse (data, disk, cancellable, error);
    }

  /* libvirt copies; it can be neither followed nor interrupted. */
  tsr_progress_report (&data->progress, data->done, data->total, stage, TRUE);
  disk->dst_vol = virStorageVolCreateXMLFrom (disk->dst_pool, xml, disk->src_vol, 0);
  if (disk->dst_vol == NULL)
    {
      virErrorPtr verr = virGetLastError ();

      if (verr != NULL && verr->message != NULL && strstr (verr->message, "No space left"))
        tsr_cloner_set_no_space_error (error, disk);
      else
        {
          g_autofree char *what = g_strdup_printf (_("Could not copy disk %s"), disk->target);

          tsr_error_set_from_libvirt (error, what);
        }
      virResetLastError ();
      return FALSE;
    }
  disk->dst_path = virStorageVolGetPath (disk->dst_vol);
  data->done += disk->work;
  tsr_progress_report (&data->progress, data->done, data->total, stage, TRUE);
  return tsr_cloner_check_cancelled (cancellable, error) == FALSE;
}

/* The source's current disk becomes a read-only base under two new
 * overlays: the clone's, and the source's own, so that neither writes into
 * what the other reads.
 */
static gboolean
link_disk (CloneData     *data,
           CloneDisk     *disk,
           GError       **error)
{
  virStoragePoolPtr base_pool = disk->src_pool ? disk->src_pool : disk->dst_pool;
  g_autofree char *xml = NULL;
  struct stat st;

  if (disk->capacity == 0 && disk->src_vol != NULL)
    {
      virStorageVolInfo info;

      if (virStorageVolGetInfo (disk->src_vol, &info) == 0)
        disk->capacity = info.capacity;
      virResetLastError ();
    }

  xml = tsr_xml_volume_with_backing (disk->dst_name, disk->capacity, disk->src_path, disk->src_format);
  disk->dst_vol = virStorageVolCreateXML (disk->dst_pool, xml, 0);
  if (disk->dst_vol == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the clone’s overlay"));
      return FALSE;
    }
  disk->dst_path = virStorageVolGetPath (disk->dst_vol);

  g_free (xml);
  xml = tsr_xml_volume_with_backing (disk->overlay_name, disk->capacity, disk->src_path, disk->src_format);
  disk->overlay_vol = virStorageVolCreateXML (base_pool, xml, 0);
  if (disk->overlay_vol == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the source’s new overlay"));
      return FALSE;
    }
  disk->overlay_path = virStorageVolGetPath (disk->overlay_vol);
  if (disk->dst_path == NULL || disk->overlay_path == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not find the new overlays"));
      return FALSE;
    }

  /* Nothing may write the base any more. */
  if (data->local && g_stat (disk->src_path, &st) == 0 && S_ISREG (st.st_mode) &&
      (st.st_mode & 0222) != 0 && g_chmod (disk->src_path, st.st_mode & 07555) == 0)
    {
      disk->base_mode = st.st_mode & 07777;
      disk->base_mode_changed = TRUE;
    }

  return TRUE;
}

/* Makes DISK and points the clone's definition at it (and, linked, the
 * source's at its new overlay).
 */
static gboolean
make_disk (CloneData     *data,
           CloneDisk     *disk,
           GCancellable  *cancellable,
           GError       **error)
{
  xmlNodePtr root = xmlDocGetRootElement (data->doc);
  xmlNodePtr source_root = xmlDocGetRootElement (data->source_doc);

  if (data->spec->linked)
    {
      tsr_progress_report (&data->progress, 0, 0, _("Making the overlays"), TRUE);
      if (!link_disk (data, disk, error))
        return FALSE;
      tsr_cloner_set_disk_source (disk->node, disk->dst_vol, disk->dst_pool_name,
                                  disk->dst_name, disk->dst_path, "qcow2");
      add_base (root, disk->target, disk->src_path);
      tsr_cloner_set_disk_source (disk->source_node, disk->overlay_vol,
                                  disk->src_pool ? virStoragePoolGetName (disk->src_pool) : NULL,
                                  disk->overlay_name, disk->overlay_path, "qcow2");
      add_base (source_root, disk->target, disk->src_path);
    }
  else
    {
      if (!copy_disk (data, disk, cancellable, error))
        return FALSE;
      tsr_cloner_set_disk_source (disk->node, disk->dst_vol, disk->dst_pool_name,
                                  disk->dst_name, disk->dst_path, disk->src_format);
      if (disk->has_backing)
        remove_bases (root, disk->target);
    }

  return TRUE;
}

/* All the disks, while the addresses are reserved in a thread of their own. */
gboolean
tsr_cloner_make_disks (CloneData     *data,
                       GCancellable  *cancellable,
                       GError       **error)
{
  tsr_cloner_start_reservations (data);

  for (guint i = 0; i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);
      g_autofree char *step = NULL;

      if (tsr_cloner_check_cancelled (cancellable, error))
        return FALSE;
      if (!make_disk (data, disk, cancellable, error))
        return FALSE;
      step = g_strdup_printf ("clone:disk-%u", i);
      tsr_journal_step (step);
    }
  return TRUE;
}

/* Linked clones: the source onto its new overlays */

gboolean
tsr_cloner_switch_source (CloneData  *data,
                          GError    **error)
{
  g_autofree char *source_xml = tsr_xml_dump (data->source_doc);
  g_autoptr(virDomain) switched = NULL;

  tsr_progress_report (&data->progress, 0, 0, _("Switching the source to its overlay"), TRUE);
  data->source_switched = TRUE;
  switched = virDomainDefineXML (data->conn, source_xml);
  if (switched == NULL)
    {
      data->source_switched = FALSE;
      tsr_error_set_from_libvirt (error, _("Could not switch the source to its overlay"));
      return FALSE;
    }
  return TRUE;
}
