/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-cloner-private.h"
#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-rules.h"
#include "tsr-storage-private.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* Cloning. Everything blocking runs in a GTask worker on a reference of the
 * connection's raw handle; what the clone made is recorded as it goes, so
 * that a failure or a cancel at any point can remove exactly that and put
 * the source back as it was.
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

  if (!tsr_validate_vm_name (name, error))
    return FALSE;
  if (tsr_connection_lookup_vm (self, name) != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("A VM named “%s” already exists: choose another name."), name);
      return FALSE;
    }
  return TRUE;
}

/* Linked bases in the metadata */

static xmlNodePtr
tessera_element (xmlNodePtr root,
                 gboolean   create)
{
  xmlNodePtr metadata = tsr_xml_child (root, "metadata");
  xmlNsPtr ns;
  xmlNodePtr vm;

  for (xmlNodePtr n = metadata ? metadata->children : NULL; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
        strcmp ((const char *) n->ns->href, TSR_METADATA_NS) == 0 &&
        strcmp ((const char *) n->name, "vm") == 0)
      return n;

  if (!create)
    return NULL;

  if (metadata == NULL)
    metadata = xmlNewChild (root, NULL, (const xmlChar *) "metadata", NULL);
  vm = xmlNewChild (metadata, NULL, (const xmlChar *) "vm", NULL);
  ns = xmlNewNs (vm, (const xmlChar *) TSR_METADATA_NS, (const xmlChar *) TSR_METADATA_PREFIX);
  xmlSetNs (vm, ns);
  return vm;
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
  xmlSetProp (node, (const xmlChar *) "disk", (const xmlChar *) disk);

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
  xmlDocPtr doc;
  xmlNodePtr vm;

  g_return_val_if_fail (domain_xml != NULL, NULL);

  doc = xmlReadMemory (domain_xml, strlen (domain_xml), "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
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
  if (doc != NULL)
    xmlFreeDoc (doc);

  return g_strv_builder_end (builder);
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
  if (data->conn != NULL)
    virConnectClose (data->conn);
  g_clear_pointer (&data->progress.context, g_main_context_unref);
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
  g_clear_pointer (&data->clone_dom, virDomainFree);
  g_clear_pointer (&data->infos, g_ptr_array_unref);
  if (data->warning != NULL)
    g_string_free (data->warning, TRUE);
  g_free (data);
}

static void
add_warning (CloneData  *data,
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

/* Enough room in each pool for what is copied into it. libvirt's figures
 * are its own view; a pool that fills up meanwhile fails the copy itself.
 */
static gboolean
check_space (CloneData  *data,
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

static char *
overlay_xml (const char *name,
             guint64     capacity,
             const char *base,
             const char *base_format)
{
  g_autofree char *escaped = g_markup_escape_text (base, -1);

  return g_strdup_printf ("<volume><name>%s</name>"
                          "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
                          "<allocation unit='bytes'>0</allocation>"
                          "<target><format type='qcow2'/><compat>1.1</compat></target>"
                          "<backingStore><path>%s</path><format type='%s'/></backingStore>"
                          "</volume>",
                          name, capacity, escaped, base_format);
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

  xml = overlay_xml (disk->dst_name, disk->capacity, disk->src_path, disk->src_format);
  disk->dst_vol = virStorageVolCreateXML (disk->dst_pool, xml, 0);
  if (disk->dst_vol == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the clone’s overlay"));
      return FALSE;
    }
  disk->dst_path = virStorageVolGetPath (disk->dst_vol);

  g_free (xml);
  xml = overlay_xml (disk->overlay_name, disk->capacity, disk->src_path, disk->src_format);
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

static gboolean
plan_interfaces (CloneData   *data,
                 xmlNodePtr   devices,
                 const char  *oui,
                 GError     **error)
{
  g_autoptr(GHashTable) macs = tsr_rules_used_macs (data->conn, NULL);
  g_autoptr(GString) kept = g_string_new (NULL);

  for (xmlNodePtr n = devices->children; n; n = n->next)
    {
      g_autofree char *type = NULL;
      g_autofree char *old_mac = NULL;
      g_autofree char *mac = NULL;
      xmlNodePtr mac_node, source;

      if (!tsr_xml_is (n, "interface"))
        continue;

      mac_node = tsr_xml_child (n, "mac");
      if (mac_node == NULL)
        mac_node = xmlNewChild (n, NULL, (const xmlChar *) "mac", NULL);
      old_mac = tsr_xml_prop (mac_node, "address");
      if (old_mac != NULL)
        {
          char *lower = g_ascii_strdown (old_mac, -1);

          g_free (old_mac);
          old_mac = lower;
        }

      if (data->spec->keep_mac && old_mac != NULL)
        {
          g_string_append_printf (kept, "%s%s", kept->len ? ", " : "", old_mac);
          continue;
        }

      do
        {
          g_free (mac);
          mac = tsr_mac_generate (oui);
        }
      while (g_hash_table_contains (macs, mac));
      g_hash_table_replace (macs, g_strdup (mac), NULL);
      xmlSetProp (mac_node, (const xmlChar *) "address", (const xmlChar *) mac);

      /* A new address on the same network: on Tessera's networks always,
       * elsewhere when the source had one reserved.
       */
      type = tsr_xml_prop (n, "type");
      source = tsr_xml_child (n, "source");
      if (g_strcmp0 (type, "network") == 0 && source != NULL)
        {
          g_autofree char *network = tsr_xml_prop (source, "network");
          virNetworkPtr net = network ? virNetworkLookupByName (data->conn, network) : NULL;
          g_autofree char *net_xml = net ? virNetworkGetXMLDesc (net, 0) : NULL;
          g_autoptr(TsrNetworkInfo) info = net_xml ? tsr_network_info_new_from_xml (net_xml, NULL)
                                                   : NULL;

          if (net != NULL)
            virNetworkFree (net);
          virResetLastError ();
          if (info != NULL &&
              (info->managed || (old_mac && tsr_network_info_find_host (info, old_mac) != NULL)))
            {
              Reservation *r = g_new0 (Reservation, 1);

              r->network = g_steal_pointer (&network);
              r->mac = g_steal_pointer (&mac);
              g_ptr_array_add (data->planned, r);
            }
        }
    }

  if (kept->len > 0)
    {
      g_autofree char *text =
        g_strdup_printf (_("“%s” has the same MAC address as “%s” (%s), and so the same IP "
                           "address: only one of the two can be on the network at a time."),
                         data->spec->name, data->source_name, kept->str);

      add_warning (data, text);
    }

  return TRUE;
}

/* The clone's NVRAM next to the source's: "<clone>_VARS.fd". */
static gboolean
plan_nvram (CloneData   *data,
            xmlNodePtr   os,
            char       **src_out,
            char       **dst_out,
            GError     **error)
{
  xmlNodePtr nvram = os ? tsr_xml_child (os, "nvram") : NULL;
  g_autofree char *src = nvram ? tsr_xml_text (nvram) : NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *dst = NULL;
  gsize len = strlen (data->source_name);

  if (src == NULL || *src == '\0')
    return TRUE;

  dir = g_path_get_dirname (src);
  base = g_path_get_basename (src);
  if (g_str_has_prefix (base, data->source_name) && base[len] == '_')
    dst = g_strdup_printf ("%s/%s%s", dir, data->spec->name, base + len);
  else
    dst = g_strdup_printf ("%s/%s_VARS.fd", dir, data->spec->name);

  if (data->local && g_file_test (dst, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("The firmware settings file %s already exists (left by an older VM?): "
                     "remove it, or choose another name for the clone."), dst);
      return FALSE;
    }

  tsr_cloner_set_text (nvram, dst);
  *src_out = g_steal_pointer (&src);
  *dst_out = g_steal_pointer (&dst);
  return TRUE;
}

static gboolean
copy_nvram (CloneData   *data,
            const char  *src,
            const char  *dst,
            GError     **error)
{
  g_autoptr(GFile) from = NULL;
  g_autoptr(GFile) to = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!data->local)
    {
      g_autofree char *text =
        g_strdup_printf (_("The firmware settings (NVRAM) of “%s” could not be copied over a "
                           "remote connection: “%s” starts with fresh ones."),
                         data->source_name, data->spec->name);

      add_warning (data, text);
      return TRUE;
    }
  if (!g_file_test (src, G_FILE_TEST_EXISTS))
    return TRUE;  /* never started: the clone gets a fresh one too */

  from = g_file_new_for_path (src);
  to = g_file_new_for_path (dst);
  if (!g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("Could not copy the firmware settings (NVRAM) %s: %s"), src,
                   local_error->message);
      return FALSE;
    }
  data->nvram_copy = g_strdup (dst);
  g_chmod (dst, 0600);
  return TRUE;
}

/* Rollback */

static void
rollback (CloneData *data)
{
  if (data->clone_dom != NULL)
    {
      if (virDomainUndefineFlags (data->clone_dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM) < 0)
        virDomainUndefine (data->clone_dom);
      g_clear_pointer (&data->clone_dom, virDomainFree);
    }

  if (data->source_switched)
    {
      virDomainPtr dom = virDomainDefineXML (data->conn, data->source_xml);

      if (dom != NULL)
        {
          virDomainFree (dom);
          data->source_switched = FALSE;
        }
    }

  for (guint i = 0; data->disks != NULL && i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);

      /* The source still uses its overlay if it could not be switched back. */
      if (disk->overlay_vol != NULL && !data->source_switched)
        {
          virStorageVolDelete (disk->overlay_vol, 0);
          g_clear_pointer (&disk->overlay_vol, virStorageVolFree);
        }
      if (disk->base_mode_changed && !data->source_switched)
        g_chmod (disk->src_path, disk->base_mode);
      if (disk->dst_vol != NULL)
        {
          virStorageVolDelete (disk->dst_vol, 0);
          g_clear_pointer (&disk->dst_vol, virStorageVolFree);
        }
      /* Drivers whose volumes are not files (the test driver) leave ours. */
      if (disk->dst_written && disk->dst_path != NULL)
        g_unlink (disk->dst_path);
    }

  if (data->nvram_copy != NULL)
    g_unlink (data->nvram_copy);

  for (guint i = 0; data->reserved != NULL && i < data->reserved->len; i++)
    {
      Reservation *r = g_ptr_array_index (data->reserved, i);

      tsr_release_address_sync (data->reserve_lock, data->conn, r->network, r->mac, NULL, NULL);
    }

  virResetLastError ();
}

/* The worker */

/* Until joined, only this thread touches planned, reserved, infos and
 * reserve_error.
 */
static gpointer
reserve_thread_func (gpointer user_data)
{
  CloneData *data = user_data;

  while (data->planned->len > 0)
    {
      Reservation *r = g_ptr_array_index (data->planned, 0);
      g_autofree char *ip = NULL;
      TsrNetworkInfo *info = NULL;

      if (!tsr_reserve_address_sync (data->reserve_lock, data->conn, r->network, r->mac,
                                     data->spec->name, &ip, &info, &data->reserve_error))
        break;
      g_ptr_array_add (data->reserved, g_ptr_array_steal_index (data->planned, 0));
      if (info != NULL)
        g_ptr_array_add (data->infos, info);
    }

  return NULL;
}

static gboolean
join_reservations (CloneData  *data,
                   GError    **error)
{
  if (data->reserve_thread != NULL)
    g_thread_join (g_steal_pointer (&data->reserve_thread));
  if (data->reserve_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&data->reserve_error));
      return FALSE;
    }
  return TRUE;
}

static gboolean
clone_steps (CloneData     *data,
             GCancellable  *cancellable,
             GError       **error)
{
  TsrCloneSpec *spec = data->spec;
  g_autoptr(GHashTable) planned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *nvram_src = NULL;
  g_autofree char *nvram_dst = NULL;
  g_autofree char *domain_type = NULL;
  g_autofree char *xml = NULL;
  virDomainPtr dom, other;
  xmlNodePtr root, source_root, devices, source_devices, os;

  dom = virDomainLookupByUUIDString (data->conn, data->source_uuid);
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
      virDomainFree (dom);
      return FALSE;
    }
  if (virDomainHasManagedSaveImage (dom, 0) == 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” has a saved state: start it and shut it down, then clone it."),
                   data->source_name);
      virDomainFree (dom);
      return FALSE;
    }
  virResetLastError ();

  data->source_xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  virDomainFree (dom);
  if (data->source_xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the definition of the VM to clone"));
      return FALSE;
    }

  if (!tsr_validate_vm_name (spec->name, error))
    return FALSE;
  if ((other = virDomainLookupByName (data->conn, spec->name)) != NULL)
    {
      virDomainFree (other);
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("A VM named “%s” already exists: choose another name."), spec->name);
      return FALSE;
    }
  virResetLastError ();

  data->doc = xmlReadMemory (data->source_xml, strlen (data->source_xml), "domain.xml", NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  data->source_doc = xmlCopyDoc (data->doc, 1);
  root = data->doc ? xmlDocGetRootElement (data->doc) : NULL;
  source_root = data->source_doc ? xmlDocGetRootElement (data->source_doc) : NULL;
  if (root == NULL || source_root == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The definition of the VM to clone could not be read."));
      return FALSE;
    }
  devices = tsr_xml_child (root, "devices");
  source_devices = tsr_xml_child (source_root, "devices");
  os = tsr_xml_child (root, "os");
  domain_type = tsr_xml_prop (root, "type");

  /* Same VM, new identity. */
  tsr_cloner_set_text (tsr_xml_child (root, "name"), spec->name);
  tsr_cloner_remove_children (root, "uuid");
  if (tsr_xml_child (root, "genid") != NULL)
    tsr_cloner_set_text (tsr_xml_child (root, "genid"), "");
  {
    xmlNodePtr system = tsr_xml_child (tsr_xml_child (root, "sysinfo"), "system");

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
  }

  tsr_progress_report (&data->progress, 0, 0, _("Checking the VM"), TRUE);
  if (devices != NULL)
    {
      xmlNodePtr s = source_devices ? source_devices->children : NULL;

      /* The copy has the same nodes in the same order. */
      for (xmlNodePtr n = devices->children; n; n = n->next, s = s ? s->next : NULL)
        if (tsr_xml_is (n, "disk") && !tsr_cloner_plan_disk (data, n, s, planned, error))
          return FALSE;
      if (!plan_interfaces (data, devices, g_strcmp0 (domain_type, "xen") == 0 ? "00:16:3e"
                                                                                 : "52:54:00",
                            error))
        return FALSE;
    }
  if (!plan_nvram (data, os, &nvram_src, &nvram_dst, error))
    return FALSE;
  if (!check_space (data, error))
    return FALSE;
  if (tsr_cloner_check_cancelled (cancellable, error))
    return FALSE;

  /* libvirt updates a live network slowly (it reloads dnsmasq and the
   * network's firewall rules): the addresses are reserved while the disks
   * are copied or linked.
   */
  if (data->planned->len > 0)
    data->reserve_thread = g_thread_new ("tsr-clone-reserve", reserve_thread_func, data);

  for (guint i = 0; i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);

      if (tsr_cloner_check_cancelled (cancellable, error))
        return FALSE;
      if (spec->linked)
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
    }

  if (nvram_src != NULL && !copy_nvram (data, nvram_src, nvram_dst, error))
    return FALSE;
  if (!join_reservations (data, error))
    return FALSE;
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
      if (dom != NULL)
        virDomainFree (dom);
      return FALSE;
    }
  virDomainFree (dom);

  if (spec->linked)
    {
      g_autofree char *source_xml = tsr_cloner_dump_doc (data->source_doc);
      virDomainPtr switched;

      tsr_progress_report (&data->progress, 0, 0, _("Switching the source to its overlay"), TRUE);
      data->source_switched = TRUE;
      switched = virDomainDefineXML (data->conn, source_xml);
      if (switched == NULL)
        {
          data->source_switched = FALSE;
          tsr_error_set_from_libvirt (error, _("Could not switch the source to its overlay"));
          return FALSE;
        }
      virDomainFree (switched);
    }

  tsr_progress_report (&data->progress, data->total, data->total, _("Defining the clone"), TRUE);
  xml = tsr_cloner_dump_doc (data->doc);
  data->clone_dom = virDomainDefineXML (data->conn, xml);
  if (data->clone_dom == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not define “%s”"), spec->name);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }

  return TRUE;
}

static void
clone_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CloneData *data = task_data;
  GError *error = NULL;
  gboolean ok;

  if (data->spec->linked)
    g_mutex_lock (&linked_lock);

  ok = clone_steps (data, cancellable, &error);
  if (!ok)
    {
      /* Whatever went wrong first is what the user hears about. */
      join_reservations (data, NULL);
      rollback (data);
      g_ptr_array_set_size (data->infos, 0);
    }

  if (data->spec->linked)
    g_mutex_unlock (&linked_lock);

  if (ok)
    g_task_return_pointer (task, g_strdup (data->spec->name), g_free);
  else
    g_task_return_error (task, error);
}

static gboolean
uri_is_local (const char *uri)
{
  const char *sep = strstr (uri, "://");

  return sep != NULL && sep[3] == '/';
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

  conn = tsr_connection_get_handle (self);
  if (conn == NULL)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_CONNECTION,
                               _("Not connected to %s: wait until Tessera has reconnected, "
                                 "then try again."), tsr_connection_get_uri (self));
      return;
    }

  data = g_new0 (CloneData, 1);
  data->spec = tsr_clone_spec_copy (spec);
  data->source_uuid = g_strdup (tsr_vm_get_uuid (source));
  data->conn = conn;
  virConnectRef (conn);
  data->reserve_lock = tsr_connection_get_reserve_lock (self);
  data->progress.func = progress;
  data->progress.data = progress_data;
  data->progress.context = g_main_context_ref_thread_default ();
  data->local = uri_is_local (tsr_connection_get_uri (self));
  data->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) clone_disk_free);
  data->planned = g_ptr_array_new_with_free_func ((GDestroyNotify) reservation_free);
  data->reserved = g_ptr_array_new_with_free_func ((GDestroyNotify) reservation_free);
  data->infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_network_info_free);
  data->warning = g_string_new (NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) clone_data_free);
  g_task_run_in_thread (task, clone_worker);
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
