/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-creator-private.h"
#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-libvirt.h"
#include "tsr-macs.h"
#include "tsr-media.h"
#include "tsr-network.h"
#include "tsr-rules.h"
#include "tsr-storage-private.h"
#include "tsr-task.h"
#include "tsr-journal.h"
#include "tsr-template.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

/* Creation */

typedef struct
{
  TsrCreateSpec  *spec;
  virConnectPtr   conn;
  GMutex         *reserve_lock;
  TsrProgress     progress;
  char           *kernels_dir;
  gboolean        local;

  /* made so far, for the rollback */
  virStorageVolPtr vol;
  GPtrArray       *extra_paths; /* spec->extra_volumes: path, format, path… */
  char            *moved_to;    /* where --root-move-from put the image */
  char            *reserved_mac;
  char            *reserved_network;
  GPtrArray       *made;        /* more volumes made (an AppVM's private, volatile) */
  TsrJournal      *journal;     /* what a crash would leave, for recovery */
  char            *nvram_copy;  /* an AppVM's copy of its template's NVRAM */

  /* results */
  char            *notice;
  TsrNetworkInfo  *info;
} CreateData;

static void
create_data_free (CreateData *data)
{
  tsr_create_spec_free (data->spec);
  g_clear_pointer (&data->conn, tsr_conn_release);
  if (data->vol != NULL)
    virStorageVolFree (data->vol);
  g_clear_pointer (&data->extra_paths, g_ptr_array_unref);
  g_clear_pointer (&data->made, g_ptr_array_unref);
  g_clear_pointer (&data->progress.context, g_main_context_unref);
  g_free (data->kernels_dir);
  g_free (data->moved_to);
  g_free (data->nvram_copy);
  g_free (data->reserved_mac);
  g_free (data->reserved_network);
  g_free (data->notice);
  g_clear_pointer (&data->info, tsr_network_info_free);
  g_free (data);
}

/* A volume's format, from its definition: raw or qcow2. */
static const char *
volume_format (virStorageVolPtr vol)
{
  g_autofree char *xml = virStorageVolGetXMLDesc (vol, 0);
  g_autofree char *format = xml ? tsr_xml_volume_format (xml) : NULL;

  return g_strcmp0 (format, "raw") == 0 ? "raw" : "qcow2";
}

static char *
domain_metadata_class (virDomainPtr dom)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  g_autoptr(TsrVmConfig) config = xml ? tsr_vm_config_parse (xml, NULL, NULL) : NULL;

  return config ? g_strdup (config->klass) : NULL;
}

/* The first file-backed disk (not cdrom) of a domain: its root. */
static char *
domain_root_path (virDomainPtr dom)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  xmlDocPtr doc = xml ? xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET) : NULL;
  xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;
  char *path = NULL;

  for (xmlNodePtr d = devices ? devices->children : NULL; d && path == NULL; d = d->next)
    {
      g_autofree char *device = NULL;
      xmlNodePtr source;

      if (!tsr_xml_is (d, "disk"))
        continue;
      device = tsr_xml_prop (d, "device");
      if (device != NULL && !g_str_equal (device, "disk"))
        continue;
      source = tsr_xml_child (d, "source");
      if (source != NULL)
        path = tsr_xml_prop (source, "file");
      if (path == NULL && source != NULL)
        path = tsr_xml_prop (source, "dev");
    }

  if (doc != NULL)
    xmlFreeDoc (doc);
  return path;
}

static gboolean
is_template_based (const TsrCreateSpec *spec)
{
  return g_strcmp0 (spec->klass, "AppVM") == 0 || g_strcmp0 (spec->klass, "DispVM") == 0;
}

/* StandaloneVMs, TemplateVMs, and AppVMs and DisposableVMs of a template;
 * a template named as the base must be a TemplateVM.
 */
static gboolean
validate_class (CreateData  *data,
                GError     **error)
{
  TsrCreateSpec *spec = data->spec;

  if (is_template_based (spec) && spec->template_name == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("An %s runs from a template: name one with --template T (see “qvm-ls "
                     "--class TemplateVM”)."), spec->klass);
      return FALSE;
    }
  if (!is_template_based (spec) && g_strcmp0 (spec->klass, "StandaloneVM") != 0 &&
      g_strcmp0 (spec->klass, "TemplateVM") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is not a class: use StandaloneVM, TemplateVM, AppVM or DispVM."),
                   spec->klass ? spec->klass : "");
      return FALSE;
    }

  if (spec->template_name != NULL)
    {
      g_autoptr(virDomain) dom = virDomainLookupByName (data->conn, spec->template_name);
      g_autofree char *klass = NULL;

      virResetLastError ();
      if (dom == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("No template named “%s”: run “qvm-ls” to see the TemplateVMs."),
                       spec->template_name);
          return FALSE;
        }
      klass = domain_metadata_class (dom);
      if (g_strcmp0 (klass, "TemplateVM") != 0)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("“%s” is a %s, not a TemplateVM: only a TemplateVM can be a template."),
                       spec->template_name, klass ? klass : "StandaloneVM");
          return FALSE;
        }
    }

  return TRUE;
}

/* A fixed MAC must be free unless the user insists; a network other
 * than the managed one must exist already.
 */
static gboolean
validate_network (CreateData  *data,
                  GError     **error)
{
  TsrCreateSpec *spec = data->spec;

  if (spec->mac != NULL)
    {
      g_autoptr(GHashTable) macs = NULL;

      if (!tsr_validate_mac (spec->mac, error))
        return FALSE;
      macs = tsr_macs_in_use (data->conn, NULL);
      if (!spec->mac_force && g_hash_table_contains (macs, spec->mac))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_MAC_IN_USE,
                       _("MAC %s is used by another VM: choose another, or insist if two VMs "
                         "should share it (only one may run at a time)."), spec->mac);
          return FALSE;
        }
    }

  if (!g_str_equal (spec->netvm, "none") && !g_str_equal (spec->netvm, TSR_MANAGED_NETWORK_NAME))
    {
      g_autoptr(virNetwork) net = virNetworkLookupByName (data->conn, spec->netvm);

      if (net == NULL && !tsr_error_last_is_not_found ())
        {
          g_autofree char *what = g_strdup_printf (_("Could not look up the network “%s”"),
                                                   spec->netvm);

          tsr_error_set_from_libvirt (error, what);
          return FALSE;
        }
      virResetLastError ();
      if (net == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("No network named “%s”: use “tessera”, another libvirt network, or "
                         "none."), spec->netvm);
          return FALSE;
        }
    }

  return TRUE;
}

/* The root disk comes from at most one place; an image to copy or move
 * is read here for its format and size.
 */
static gboolean
validate_root (CreateData  *data,
               char       **root_format,
               guint64     *root_size,
               GError     **error)
{
  TsrCreateSpec *spec = data->spec;

  if (spec->root_copy_from != NULL && spec->root_move_from != NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("Give either --root-copy-from or --root-move-from, not both."));
      return FALSE;
    }
  if (spec->root_volume != NULL && (spec->root_copy_from || spec->root_move_from ||
                                    spec->template_name))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("A VM with an imported root disk takes no other root."));
      return FALSE;
    }
  if (spec->extra_volumes != NULL && g_strv_length (spec->extra_volumes) > 25)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("A VM takes at most 26 disks: detach some in VirtualBox first."));
      return FALSE;
    }
  if ((spec->root_copy_from || spec->root_move_from) && spec->template_name)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("A VM based on a template gets the template’s root: leave out "
                             "--root-copy-from and --root-move-from."));
      return FALSE;
    }
  if (spec->root_copy_from || spec->root_move_from)
    {
      char **source = spec->root_copy_from ? &spec->root_copy_from : &spec->root_move_from;
      char *real;

      if (!tsr_image_info (*source, root_format, root_size, error))
        return FALSE;
      /* From here on the file that was checked, not a link that may change. */
      if ((real = realpath (*source, NULL)) != NULL)
        {
          g_free (*source);
          *source = real;
        }
    }
  else if (spec->root_volume == NULL && spec->disk_size < MIB)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The disk must be at least 1 MiB: give a size like 20G."));
      return FALSE;
    }

  return TRUE;
}

/* The root disk within what its pool and format can hold (DESIGN §4). A
 * pool made on first use is checked once it exists (make_root_volume).
 */
static gboolean
validate_disk_size (CreateData   *data,
                    const char   *root_format,
                    guint64       root_size,
                    GError      **error)
{
  TsrCreateSpec *spec = data->spec;
  g_autoptr(virStoragePool) pool = NULL;
  guint64 capacity = 0;

  if (spec->root_volume != NULL || spec->template_name != NULL)
    return TRUE;
  if ((pool = virStoragePoolLookupByName (data->conn, spec->pool)) != NULL)
    capacity = tsr_storage_pool_capacity (pool);
  virResetLastError ();
  if (root_format != NULL)
    return tsr_rules_check_disk_size (root_size, root_format, spec->pool, capacity, error);
  return tsr_rules_check_disk_size (spec->disk_size, "qcow2", spec->pool, capacity, error);
}

static gboolean
validate (CreateData    *data,
          TsrHostCaps   *caps,
          char         **root_format,
          guint64       *root_size,
          GError       **error)
{
  TsrCreateSpec *spec = data->spec;

  if (!tsr_check_new_vm_name_sync (data->conn, spec->name, error))
    return FALSE;

  if (!tsr_rules_check_label (spec->label, error))
    return FALSE;

  if (!validate_class (data, error))
    return FALSE;

  if (!tsr_rules_check_resources (spec->memory, spec->maxmem, spec->vcpus, spec->kernelopts, caps,
                                  error))
    return FALSE;

  if (!tsr_rules_check_kernel_installed (data->kernels_dir, spec->kernel, error))
    return FALSE;

  if (!tsr_rules_check_virt_mode (spec->virt_mode, spec->kernel, caps, TRUE, error))
    return FALSE;

  if (!validate_network (data, error))
    return FALSE;

  if (!validate_root (data, root_format, root_size, error) ||
      !validate_disk_size (data, *root_format, *root_size, error))
    return FALSE;

  if (!tsr_rules_check_firmware (spec->firmware, caps, error))
    return FALSE;

  return TRUE;
}

/* The root from the user's image (--root-copy-from / --root-move-from),
 * in its own format: where this process may write the pool's folder, a
 * rename (a move within one filesystem) or qemu-img into the new volume;
 * else the file goes through libvirt as a stream.
 */
static gboolean
root_from_image (CreateData         *data,
                 virStoragePoolPtr   pool,
                 const char         *vol_name,
                 const char         *format,
                 guint64             root_size,
                 GCancellable       *cancellable,
                 char              **format_out,
                 GError            **error)
{
  TsrCreateSpec *spec = data->spec;
  const char *source = spec->root_copy_from ? spec->root_copy_from : spec->root_move_from;
  g_autofree char *reason = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *path = NULL;

  *format_out = g_strdup (format);
  if (!tsr_storage_route_is_local (data->conn, pool, &reason))
    {
      TsrUpload upload = { data->conn, pool, vol_name, source, format, root_size,
                           &data->progress, _("Copying the root image"), 0, 0, cancellable };

      g_info ("%s: the root image goes through libvirt as a stream (%s)", spec->name, reason);
      tsr_journal_volume (data->journal, spec->pool, vol_name, NULL);
      data->vol = tsr_storage_upload_image (&upload, error);
      return data->vol != NULL;
    }
  g_info ("%s: the root image is written here (%s)", spec->name, reason);

  if (spec->root_move_from != NULL)
    {
      /* Within one filesystem a move is a rename: instant, no extra space. */
      g_autofree char *dir = tsr_storage_pool_dir (pool);
      g_autofree char *target = dir ? g_build_filename (dir, vol_name, NULL) : NULL;

      tsr_journal_moved (data->journal, spec->root_move_from, target);
      tsr_journal_volume (data->journal, spec->pool, vol_name, target);
      if (target != NULL && g_rename (spec->root_move_from, target) == 0)
        {
          data->moved_to = g_steal_pointer (&target);
          virStoragePoolRefresh (pool, 0);
          data->vol = virStorageVolLookupByName (pool, vol_name);
          if (data->vol == NULL)
            {
              tsr_error_set_from_libvirt (error, _("The moved root image did not appear in the pool"));
              return FALSE;
            }
          tsr_progress_report (&data->progress, root_size, root_size, _("Moving the root image"), TRUE);
          return TRUE;
        }
    }

  xml = tsr_storage_volume_xml (vol_name, root_size, format);
  tsr_progress_report (&data->progress, 0, 0, _("Creating the disk"), TRUE);
  tsr_journal_volume (data->journal, spec->pool, vol_name, NULL);
  data->vol = virStorageVolCreateXML (pool, xml, 0);
  tsr_journal_step ("create:volume");
  if (data->vol == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the root disk"));
      return FALSE;
    }
  path = virStorageVolGetPath (data->vol);
  return path != NULL &&
         tsr_image_convert (&(TsrQemuImgConvert) { source, format, path, format },
                            root_size, &data->progress, cancellable, error);
}

static void
vol_unref (gpointer vol)
{
  virStorageVolFree (vol);
}

/* An AppVM runs the template's system: it gets the template's firmware,
 * operating system, memory and vCPUs, unless the command said otherwise.
 */
static void
inherit_from_template (CreateData *data)
{
  TsrCreateSpec *spec = data->spec;
  g_autoptr(virDomain) tpl = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(TsrVmConfig) config = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  xmlNodePtr os, vm;

  if (!is_template_based (spec) || spec->template_name == NULL ||
      !(tpl = virDomainLookupByName (data->conn, spec->template_name)) ||
      !(xml = virDomainGetXMLDesc (tpl, VIR_DOMAIN_XML_INACTIVE)))
    {
      virResetLastError ();
      return;
    }
  config = tsr_vm_config_parse (xml, NULL, NULL);
  doc = tsr_xml_parse (xml);
  os = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "os") : NULL;
  if (!(spec->set & TSR_SPEC_SET_FIRMWARE) && os != NULL)
    {
      g_autofree char *firmware = tsr_xml_prop (os, "firmware");

      g_free (spec->firmware);
      spec->firmware = g_strdup (g_strcmp0 (firmware, "efi") == 0 ||
                                 tsr_xml_child (os, "loader") != NULL ? "uefi" : "bios");
      spec->set |= TSR_SPEC_SET_FIRMWARE;
    }
  vm = doc ? tsr_xml_metadata (xmlDocGetRootElement (doc), TSR_METADATA_NS, TSR_METADATA_PREFIX,
                               "vm", FALSE) : NULL;
  for (xmlNodePtr n = vm ? vm->children : NULL; n != NULL && spec->os_id == NULL; n = n->next)
    if (tsr_xml_is (n, "os"))
      spec->os_id = tsr_xml_text (n);
  if (config != NULL && !(spec->set & TSR_SPEC_SET_MEMORY))
    {
      spec->memory = config->memory;
      spec->maxmem = config->maxmem;
      spec->set |= TSR_SPEC_SET_MEMORY;
    }
  if (config != NULL && !(spec->set & TSR_SPEC_SET_VCPUS))
    {
      spec->vcpus = config->vcpus;
      spec->set |= TSR_SPEC_SET_VCPUS;
    }
}

/* One volume of an AppVM, recorded for the rollback and the recovery. */
static virStorageVolPtr
make_app_volume (CreateData         *data,
                 virStoragePoolPtr   pool,
                 const char         *role,
                 guint64             capacity,
                 const char         *base,
                 const char         *base_format,
                 GError            **error)
{
  g_autofree char *name = tsr_template_volume_name (data->spec->name, role);
  g_autofree char *xml = tsr_xml_volume_with_backing (name, capacity, base, base_format);
  virStorageVolPtr vol;

  tsr_journal_volume (data->journal, data->spec->pool, name, NULL);
  vol = virStorageVolCreateXML (pool, xml, 0);
  if (vol == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not make volume “%s”"), name);

      tsr_error_set_from_libvirt (error, what);
      return NULL;
    }
  return vol;
}

/* An AppVM or DisposableVM: a root overlay on its template's newest
 * committed revision (remade at each start), a private disk of its own and
 * a volatile one (remade at each start). O(1) whatever the template's size.
 */
static gboolean
make_app_volumes (CreateData         *data,
                  virStoragePoolPtr   pool,
                  char              **format_out,
                  GError            **error)
{
  TsrCreateSpec *spec = data->spec;
  g_autoptr(virDomain) tpl = virDomainLookupByName (data->conn, spec->template_name);
  g_autoptr(virStorageVol) base_vol = NULL;
  g_autofree char *base = NULL;
  g_autofree char *base_format = NULL;
  virStorageVolInfo info = { 0 };
  const char *roles[] = { "private", "volatile" };
  guint64 sizes[] = { spec->private_size, G_GUINT64_CONSTANT (10) << 30 };
  guint revision;

  virResetLastError ();
  if (tpl == NULL || !tsr_template_settle_sync (tpl, &revision, &base, &base_format, error))
    return FALSE;
  base_vol = virStorageVolLookupByPath (data->conn, base);
  if (base_vol != NULL)
    virStorageVolGetInfo (base_vol, &info);
  virResetLastError ();

  tsr_progress_report (&data->progress, 0, 0, _("Making the disks"), TRUE);
  if (!(data->vol = make_app_volume (data, pool, "root", info.capacity, base, base_format,
                                     error)))
    return FALSE;
  tsr_journal_step ("create:volume");
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    {
      g_autoptr(virStorageVol) vol = make_app_volume (data, pool, roles[i], sizes[i], NULL, NULL,
                                                      error);
      char *path = vol ? virStorageVolGetPath (vol) : NULL;

      if (path == NULL)
        return FALSE;
      if (data->made == NULL)
        data->made = g_ptr_array_new_with_free_func (vol_unref);
      g_ptr_array_add (data->made, g_steal_pointer (&vol));
      if (data->extra_paths == NULL)
        data->extra_paths = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (data->extra_paths, path);
      g_ptr_array_add (data->extra_paths, g_strdup ("qcow2"));
    }
  *format_out = g_strdup ("qcow2");
  return TRUE;
}

static gboolean
make_root_volume (CreateData         *data,
                  virStoragePoolPtr   pool,
                  const char         *root_format,
                  guint64             root_size,
                  GCancellable       *cancellable,
                  char              **format_out,
                  GError            **error)
{
  TsrCreateSpec *spec = data->spec;
  const char *source = spec->root_copy_from ? spec->root_copy_from : spec->root_move_from;
  const char *format = source ? root_format : "qcow2";
  g_autofree char *vol_name = g_strdup_printf ("%s-root.%s", spec->name,
                                               g_str_equal (format, "raw") ? "img" : "qcow2");
  g_autofree char *xml = NULL;

  if (spec->root_volume != NULL)
    {
      data->vol = virStorageVolLookupByName (pool, spec->root_volume);
      if (data->vol == NULL)
        {
          tsr_error_set_from_libvirt (error, _("The imported root disk is missing"));
          return FALSE;
        }
      *format_out = g_strdup (volume_format (data->vol));
      return TRUE;
    }

  if ((data->vol = virStorageVolLookupByName (pool, vol_name)) != NULL)
    {
      virStorageVolFree (g_steal_pointer (&data->vol));
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("Volume “%s” already exists in pool “%s”: remove it, or choose another VM "
                     "name."), vol_name, spec->pool);
      return FALSE;
    }
  virResetLastError ();

  if (is_template_based (spec))
    return make_app_volumes (data, pool, format_out, error);

  if (spec->template_name != NULL)
    {
      g_autoptr(virDomain) tpl = virDomainLookupByName (data->conn, spec->template_name);
      g_autofree char *tpl_path = tpl ? domain_root_path (tpl) : NULL;
      g_autoptr(virStorageVol) src = tpl_path ? virStorageVolLookupByPath (data->conn, tpl_path)
                                              : NULL;
      virStorageVolInfo info;

      if (src == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("Template “%s” has no root volume in a storage pool to copy."),
                       spec->template_name);
          return FALSE;
        }

      format = volume_format (src);
      virStorageVolGetInfo (src, &info);
      if (!tsr_rules_check_disk_size (info.capacity, format, spec->pool,
                                      tsr_storage_pool_capacity (pool), error))
        return FALSE;
      g_free (vol_name);
      vol_name = g_strdup_printf ("%s-root.%s", spec->name,
                                  g_str_equal (format, "raw") ? "img" : "qcow2");
      xml = tsr_storage_volume_xml (vol_name, info.capacity, format);
      tsr_progress_report (&data->progress, 0, info.allocation, _("Copying the template’s root"), TRUE);
      tsr_journal_volume (data->journal, spec->pool, vol_name, NULL);
      data->vol = virStorageVolCreateXMLFrom (pool, xml, src, 0);
      if (data->vol == NULL)
        {
          tsr_error_set_from_libvirt (error, _("Could not copy the template’s root"));
          return FALSE;
        }
      tsr_progress_report (&data->progress, info.allocation, info.allocation,
              _("Copying the template’s root"), TRUE);
      *format_out = g_strdup (format);
      return TRUE;
    }

  if (!tsr_rules_check_disk_size (source ? root_size : spec->disk_size, format, spec->pool,
                                  tsr_storage_pool_capacity (pool), error))
    return FALSE;
  if (source != NULL)
    return root_from_image (data, pool, vol_name, format, root_size, cancellable, format_out,
                            error);

  xml = tsr_storage_volume_xml (vol_name, spec->disk_size, format);
  tsr_progress_report (&data->progress, 0, 0, _("Creating the disk"), TRUE);
  tsr_journal_volume (data->journal, spec->pool, vol_name, NULL);
  data->vol = virStorageVolCreateXML (pool, xml, 0);
  tsr_journal_step ("create:volume");
  if (data->vol == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the root disk"));
      return FALSE;
    }

  *format_out = g_strdup (format);
  return TRUE;
}

static void
rollback (CreateData *data)
{
  if (data->reserved_mac != NULL)
    tsr_release_address_sync (data->reserve_lock, data->conn, data->reserved_network,
                              data->reserved_mac, NULL, NULL);

  if (data->moved_to != NULL)
    {
      /* Put the user's image back where it was; the volume is that file. */
      if (g_rename (data->moved_to, data->spec->root_move_from) == 0)
        g_clear_pointer (&data->vol, virStorageVolFree);
    }

  if (data->vol != NULL)
    {
      if (data->spec->root_volume == NULL)
        virStorageVolDelete (data->vol, 0);
      g_clear_pointer (&data->vol, virStorageVolFree);
    }
  for (guint i = 0; data->made != NULL && i < data->made->len; i++)
    virStorageVolDelete (g_ptr_array_index (data->made, i), 0);
  if (data->nvram_copy != NULL)
    g_unlink (data->nvram_copy);
  virResetLastError ();
}

static gboolean
check_cancelled (GCancellable  *cancellable,
                 GError       **error)
{
  return tsr_error_set_if_cancelled (cancellable,
                                     _("Creating the VM was cancelled; nothing was left behind."),
                                     error);
}

/* The managed network is made on first use; it is shared, so a failed
 * create leaves it in place.
 */
static gboolean
ensure_managed_network (virConnectPtr   conn,
                        GError        **error)
{
  g_autoptr(virNetwork) net = virNetworkLookupByName (conn, TSR_MANAGED_NETWORK_NAME);
  g_autofree char *net_xml = NULL;

  virResetLastError ();
  if (net != NULL)
    return TRUE;

  net_xml = tsr_network_build_managed_xml (TSR_MANAGED_NETWORK_NAME, "10.137.0", FALSE);
  net = virNetworkDefineXML (conn, net_xml);
  if (net == NULL || virNetworkCreate (net) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the network “tessera”"));
      if (net != NULL)
        virNetworkUndefine (net);
      return FALSE;
    }
  virNetworkSetAutostart (net, 1);
  return TRUE;
}

/* The imported disks that go with the root: path, format, path… */
static gboolean
collect_extra_volumes (CreateData         *data,
                       virStoragePoolPtr   pool,
                       GError            **error)
{
  char **names = data->spec->extra_volumes;

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autoptr(virStorageVol) extra = virStorageVolLookupByName (pool, names[i]);
      char *path = extra ? virStorageVolGetPath (extra) : NULL;

      if (path == NULL)
        {
          tsr_error_set_from_libvirt (error, _("An imported disk is missing"));
          return FALSE;
        }
      if (data->extra_paths == NULL)
        data->extra_paths = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (data->extra_paths, path);
      g_ptr_array_add (data->extra_paths, g_strdup (volume_format (extra)));
    }
  return TRUE;
}

/* The VM's MAC (the spec's, or a new one no other VM has) and its address. */
static gboolean
reserve_address (CreateData   *data,
                 TsrHostCaps  *caps,
                 char        **mac_out,
                 GError      **error)
{
  TsrCreateSpec *spec = data->spec;
  g_autofree char *mac = g_strdup (spec->mac);
  g_autofree char *ip = NULL;

  if (mac == NULL)
    {
      g_autoptr(GHashTable) macs = tsr_macs_in_use (data->conn, NULL);

      do
        {
          g_free (mac);
          mac = tsr_mac_generate (g_str_equal (caps->virt_type, "xen") ? "00:16:3e" : "52:54:00");
        }
      while (g_hash_table_contains (macs, mac));
    }

  tsr_progress_report (&data->progress, 0, 0, _("Reserving an address"), TRUE);
  tsr_journal_reservation (data->journal, spec->netvm, mac);
  if (!tsr_reserve_address_sync (data->reserve_lock, data->conn, spec->netvm, mac, spec->name,
                                 &ip, &data->info, error))
    return FALSE;
  data->reserved_mac = g_strdup (mac);
  data->reserved_network = g_strdup (spec->netvm);
  tsr_journal_step ("create:reserved");
  *mac_out = g_steal_pointer (&mac);
  return TRUE;
}

static gboolean
define_domain (CreateData   *data,
               const char   *xml,
               GError      **error)
{
  g_autoptr(virDomain) dom = NULL;

  tsr_progress_report (&data->progress, 0, 0, _("Defining the VM"), TRUE);
  dom = virDomainDefineXML (data->conn, xml);
  if (dom == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not define “%s”"), data->spec->name);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }
  /* The VM exists: from here on an interruption is finished, not undone. */
  tsr_journal_commit (data->journal);
  tsr_journal_step ("create:defined");
  return TRUE;
}

/* TEXT goes before the notice so far. */
static void
add_notice (CreateData *data,
            const char *text)
{
  char *both;

  if (text == NULL)
    return;
  both = data->notice ? g_strconcat (text, " ", data->notice, NULL) : g_strdup (text);
  g_free (data->notice);
  data->notice = both;
}

/* Where libvirt keeps per-VM NVRAM files: the same folder it picks
 * itself, written out so that the definition names the VM's own file.
 */
static char *
nvram_folder (virConnectPtr conn)
{
  g_autofree char *uri = virConnectGetURI (conn);

  if (uri != NULL && g_str_has_suffix (uri, "/session"))
    return g_build_filename (g_get_user_config_dir (), "libvirt", "qemu", "nvram", NULL);
  return g_strdup ("/var/lib/libvirt/qemu/nvram");
}

/* Every step of a create; on failure the caller rolls back what was done. */
static gboolean
create_steps (CreateData    *data,
              GCancellable  *cancellable,
              GError       **error)
{
  TsrCreateSpec *spec = data->spec;
  g_autoptr(TsrHostCaps) caps = NULL;
  g_autoptr(virStoragePool) pool = NULL;
  g_autofree char *root_format = NULL;
  g_autofree char *disk_format = NULL;
  g_autofree char *disk_path = NULL;
  g_autofree char *mac = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *nvram_dir = NULL;
  g_autoptr(TsrOsDefaults) os = NULL;
  guint64 root_size = 0;

  if (!(caps = tsr_host_caps_read_sync (data->conn, data->local, error)))
    return FALSE;

  tsr_progress_report (&data->progress, 0, 0, _("Checking the settings"), TRUE);
  inherit_from_template (data);
  if (!(os = tsr_creator_resolve_os (spec, caps, data->local, &hint, error)) ||
      !validate (data, caps, &root_format, &root_size, error) ||
      check_cancelled (cancellable, error))
    return FALSE;
  if (spec->check_only)
    return TRUE;

  data->journal = tsr_journal_begin_for (data->conn, "create", spec->name);
  tsr_journal_defines (data->journal, spec->name);
  tsr_journal_step ("create:journaled");

  if (g_str_equal (spec->netvm, TSR_MANAGED_NETWORK_NAME) &&
      !ensure_managed_network (data->conn, error))
    return FALSE;

  if (!(pool = tsr_storage_ensure_pool (data->conn, data->spec->pool, error)))
    return FALSE;
  if (!make_root_volume (data, pool, root_format, root_size, cancellable, &disk_format, error) ||
      check_cancelled (cancellable, error))
    return FALSE;
  disk_path = virStorageVolGetPath (data->vol);
  if (!collect_extra_volumes (data, pool, error))
    return FALSE;

  if (!g_str_equal (spec->netvm, "none") && !reserve_address (data, caps, &mac, error))
    return FALSE;
  if (check_cancelled (cancellable, error))
    return FALSE;

  nvram_dir = nvram_folder (data->conn);
  if (!(xml = tsr_creator_build_domain_xml (data->spec, os, nvram_dir, data->kernels_dir,
                                            data->extra_paths, caps,
                                               disk_path, disk_format, mac, error)))
    return FALSE;
  if (is_template_based (spec) && data->local)
    {
      if (!tsr_creator_copy_template_nvram (data->conn, spec->template_name, xml, data->journal,
                                            &data->nvram_copy, error))
        return FALSE;
    }
  if (!define_domain (data, xml, error))
    return FALSE;

  /* A move across filesystems was a copy: the original goes only now that
   * nothing can fail any more.
   */
  if (spec->root_move_from != NULL && data->moved_to == NULL &&
      g_unlink (spec->root_move_from) != 0)
    {
      int saved = errno;

      data->notice = g_strdup_printf (_("“%s” was copied, not moved: it could not be removed "
                                        "(%s). Remove it yourself once the VM works."),
                                      spec->root_move_from, g_strerror (saved));
    }

  add_notice (data, hint);
  add_notice (data, caps->notice);
  return TRUE;
}

static gboolean
create_step (gpointer       task_data,
             GCancellable  *cancellable,
             GError       **error)
{
  CreateData *data = task_data;
  /* Two creates of one name at once on this machine: the second waits for
   * the first, then finds the name taken ("a VM named … already exists")
   * instead of failing half-way on the first one's volume. An import holds
   * the lock itself around its check, conversion and this create.
   */
  int lock = data->local && data->spec->root_volume == NULL && !data->spec->check_only
             ? tsr_local_lock_name (data->spec->name) : -1;
  gboolean ok = create_steps (data, cancellable, error);

  if (!ok)
    {
      rollback (data);
      g_clear_pointer (&data->info, tsr_network_info_free);
    }
  tsr_journal_end_on (g_steal_pointer (&data->journal), data->conn);
  tsr_local_lock_release (lock);
  return ok;
}

void
tsr_connection_create_vm_async (TsrConnection       *self,
                                const TsrCreateSpec *spec,
                                TsrProgressFunc      progress,
                                gpointer             progress_data,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  virConnectPtr conn;
  CreateData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (spec != NULL);

  task = tsr_connection_task_new (self, tsr_connection_create_vm_async,
                                  cancellable, callback, user_data, &conn);
  if (task == NULL)
    return;

  data = g_new0 (CreateData, 1);
  data->spec = tsr_create_spec_copy (spec);
  data->conn = g_steal_pointer (&conn);
  data->reserve_lock = tsr_connection_get_reserve_lock (self);
  data->progress.func = progress;
  data->progress.data = progress_data;
  data->progress.context = g_main_context_ref_thread_default ();
  data->kernels_dir = g_strdup (tsr_connection_get_kernels_dir (self));
  data->local = tsr_uri_is_local (tsr_connection_get_uri (self));
  g_task_set_task_data (task, data, (GDestroyNotify) create_data_free);
  /* The worker decides about cancelling: once the VM is defined, a late
   * cancel must not report a VM that exists as cancelled.
   */
  g_task_set_check_cancellable (task, FALSE);
  tsr_task_run_sync (task, create_step);
}

char *
tsr_connection_create_vm_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 char          **notice,
                                 GError        **error)
{
  CreateData *data;

  if (!tsr_task_propagate_boolean (self, result, error))
    return NULL;

  data = g_task_get_task_data (G_TASK (result));
  tsr_connection_take_network_info (self, g_steal_pointer (&data->info));
  if (notice != NULL)
    *notice = g_steal_pointer (&data->notice);
  return g_strdup (data->spec->name);
}
