/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libvirt-gconfig/libvirt-gconfig.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-macs.h"
#include "tsr-media.h"
#include "tsr-network.h"
#include "tsr-rules.h"
#include "tsr-storage-private.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* libvirt-gconfig 4.0 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomain, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainOs, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainDisk, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainDiskDriver, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainSerial, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainConsole, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainChardevSourcePty, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainInterfaceNetwork, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainGraphicsVnc, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainVideo, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainInput, g_object_unref)

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
  g_clear_pointer (&data->progress.context, g_main_context_unref);
  g_free (data->kernels_dir);
  g_free (data->moved_to);
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

/* Only standalone VMs and templates exist so far; a template named as
 * the base must be one.
 */
static gboolean
validate_class (CreateData  *data,
                GError     **error)
{
  TsrCreateSpec *spec = data->spec;

  if (g_strcmp0 (spec->klass, "AppVM") == 0 || g_strcmp0 (spec->klass, "DispVM") == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("Class %s is not available yet: create a StandaloneVM (optionally based "
                     "on a template with --template) or a TemplateVM."), spec->klass);
      return FALSE;
    }
  if (g_strcmp0 (spec->klass, "StandaloneVM") != 0 && g_strcmp0 (spec->klass, "TemplateVM") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is not a class: use StandaloneVM or TemplateVM."),
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
      if (!tsr_image_info (spec->root_copy_from ? spec->root_copy_from : spec->root_move_from,
                       root_format, root_size, error))
        return FALSE;
    }
  else if (spec->root_volume == NULL && spec->disk_size < MIB)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The disk must be at least 1 MiB: give a size like 20G."));
      return FALSE;
    }

  return TRUE;
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

  if (!validate_root (data, root_format, root_size, error))
    return FALSE;

  if (!tsr_rules_check_firmware (spec->firmware, caps, error))
    return FALSE;

  if (!g_str_equal (spec->os_family, "linux") && !g_str_equal (spec->os_family, "windows") &&
      !g_str_equal (spec->os_family, "other"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Operating system must be linux, windows or other, not “%s”."),
                   spec->os_family);
      return FALSE;
    }

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
  g_autofree char *path = NULL;

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
      g_free (vol_name);
      vol_name = g_strdup_printf ("%s-root.%s", spec->name,
                                  g_str_equal (format, "raw") ? "img" : "qcow2");
      xml = tsr_storage_volume_xml (vol_name, info.capacity, format);
      tsr_progress_report (&data->progress, 0, info.allocation, _("Copying the template’s root"), TRUE);
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

  if (spec->root_move_from != NULL)
    {
      /* Within one filesystem a move is a rename: instant, no extra space. */
      g_autofree char *dir = tsr_storage_pool_dir (pool);
      g_autofree char *target = dir ? g_build_filename (dir, vol_name, NULL) : NULL;

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
          *format_out = g_strdup (format);
          return TRUE;
        }
    }

  xml = tsr_storage_volume_xml (vol_name, source ? root_size : spec->disk_size, format);
  tsr_progress_report (&data->progress, 0, 0, _("Creating the disk"), TRUE);
  data->vol = virStorageVolCreateXML (pool, xml, 0);
  if (data->vol == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not create the root disk"));
      return FALSE;
    }

  if (source != NULL)
    {
      path = virStorageVolGetPath (data->vol);
      if (path == NULL ||
          !tsr_image_convert (source, root_format, path, format, root_size, &data->progress,
                          cancellable, error))
        return FALSE;
    }

  *format_out = g_strdup (format);
  return TRUE;
}

/* Tessera's metadata element, built as a tree so that every name
 * round-trips.
 */
static char *
metadata_xml (const TsrCreateSpec *spec)
{
  g_autoptr(xmlDoc) doc = tsr_xml_new ("vm");
  xmlNodePtr vm = xmlDocGetRootElement (doc);

  tsr_xml_add (vm, "label", spec->label);
  tsr_xml_add (vm, "class", spec->klass);
  if (spec->template_name != NULL)
    tsr_xml_add (vm, "template", spec->template_name);
  return tsr_xml_dump (doc);
}

/* Windows installers have no virtio drivers: SATA disks and e1000e. */
static void
add_disk (GVirConfigDomain *domain,
          const char       *path,
          const char       *format,
          const char       *dev,
          gboolean          windows)
{
  g_autoptr(GVirConfigDomainDisk) disk = gvir_config_domain_disk_new ();
  g_autoptr(GVirConfigDomainDiskDriver) driver = gvir_config_domain_disk_driver_new ();

  gvir_config_domain_disk_set_type (disk, GVIR_CONFIG_DOMAIN_DISK_FILE);
  gvir_config_domain_disk_set_guest_device_type (disk, GVIR_CONFIG_DOMAIN_DISK_GUEST_DEVICE_DISK);
  gvir_config_domain_disk_set_source (disk, path);
  gvir_config_domain_disk_driver_set_name (driver, "qemu");
  gvir_config_domain_disk_driver_set_format (driver, g_str_equal (format, "raw")
                                                     ? GVIR_CONFIG_DOMAIN_DISK_FORMAT_RAW
                                                     : GVIR_CONFIG_DOMAIN_DISK_FORMAT_QCOW2);
  gvir_config_domain_disk_set_driver (disk, driver);
  gvir_config_domain_disk_set_target_bus (disk, windows ? GVIR_CONFIG_DOMAIN_DISK_BUS_SATA
                                                        : GVIR_CONFIG_DOMAIN_DISK_BUS_VIRTIO);
  gvir_config_domain_disk_set_target_dev (disk, dev);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (disk));
}

/* A kernel from the kernels folder boots directly; otherwise the disk. */
static void
set_os (GVirConfigDomain         *domain,
        CreateData               *data,
        TsrHostCaps              *caps,
        GVirConfigDomainVirtType  virt_type)
{
  TsrCreateSpec *spec = data->spec;
  g_autoptr(GVirConfigDomainOs) os = gvir_config_domain_os_new ();
  GList *boot = NULL;

  gvir_config_domain_os_set_os_type (os, g_str_equal (spec->virt_mode, "pv")
                                         ? GVIR_CONFIG_DOMAIN_OS_TYPE_XEN
                                         : GVIR_CONFIG_DOMAIN_OS_TYPE_HVM);
  gvir_config_domain_os_set_arch (os, caps->arch);
  if (virt_type != GVIR_CONFIG_DOMAIN_VIRT_TEST && virt_type != GVIR_CONFIG_DOMAIN_VIRT_XEN)
    gvir_config_domain_os_set_machine (os, "q35");
  if (g_str_equal (spec->firmware, "uefi"))
    gvir_config_domain_os_set_firmware (os, GVIR_CONFIG_DOMAIN_OS_FIRMWARE_EFI);
  if (*spec->kernel != '\0')
    {
      g_autofree char *vmlinuz = g_build_filename (data->kernels_dir, spec->kernel, "vmlinuz", NULL);
      g_autofree char *initramfs = g_build_filename (data->kernels_dir, spec->kernel, "initramfs", NULL);

      gvir_config_domain_os_set_kernel (os, vmlinuz);
      if (g_file_test (initramfs, G_FILE_TEST_EXISTS))
        gvir_config_domain_os_set_ramdisk (os, initramfs);
      gvir_config_domain_os_set_cmdline (os, *spec->kernelopts ? spec->kernelopts
                                                                : TSR_DEFAULT_KERNELOPTS);
    }
  else
    {
      boot = g_list_append (boot, GINT_TO_POINTER (GVIR_CONFIG_DOMAIN_OS_BOOT_DEVICE_HD));
      gvir_config_domain_os_set_boot_devices (os, boot);
      g_list_free (boot);
    }
  gvir_config_domain_set_os (domain, os);
}

/* What a person at the screen needs; the test driver knows none of it. */
static void
add_console_devices (GVirConfigDomain *domain,
                     gboolean          windows)
{
  g_autoptr(GVirConfigDomainSerial) serial = gvir_config_domain_serial_new ();
  g_autoptr(GVirConfigDomainChardevSourcePty) serial_pty = gvir_config_domain_chardev_source_pty_new ();
  g_autoptr(GVirConfigDomainConsole) console = gvir_config_domain_console_new ();
  g_autoptr(GVirConfigDomainChardevSourcePty) console_pty = gvir_config_domain_chardev_source_pty_new ();
  g_autoptr(GVirConfigDomainGraphicsVnc) vnc = gvir_config_domain_graphics_vnc_new ();
  g_autoptr(GVirConfigDomainVideo) video = gvir_config_domain_video_new ();
  g_autoptr(GVirConfigDomainInput) tablet = gvir_config_domain_input_new ();

  /* VNC listens on localhost (libvirt's default vnc_listen). */
  gvir_config_domain_graphics_vnc_set_autoport (vnc, TRUE);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (vnc));
  gvir_config_domain_video_set_model (video, windows ? GVIR_CONFIG_DOMAIN_VIDEO_MODEL_VGA
                                                     : GVIR_CONFIG_DOMAIN_VIDEO_MODEL_VIRTIO);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (video));
  gvir_config_domain_input_set_device_type (tablet, GVIR_CONFIG_DOMAIN_INPUT_DEVICE_TABLET);
  gvir_config_domain_input_set_bus (tablet, GVIR_CONFIG_DOMAIN_INPUT_BUS_USB);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (tablet));

  gvir_config_domain_chardev_set_source (GVIR_CONFIG_DOMAIN_CHARDEV (serial),
                                         GVIR_CONFIG_DOMAIN_CHARDEV_SOURCE (serial_pty));
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (serial));
  gvir_config_domain_chardev_set_source (GVIR_CONFIG_DOMAIN_CHARDEV (console),
                                         GVIR_CONFIG_DOMAIN_CHARDEV_SOURCE (console_pty));
  gvir_config_domain_console_set_target_type (console, GVIR_CONFIG_DOMAIN_CONSOLE_TARGET_SERIAL);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (console));
}

static char *
build_domain_xml (CreateData   *data,
                  TsrHostCaps  *caps,
                  const char   *disk_path,
                  const char   *disk_format,
                  const char   *mac,
                  GError      **error)
{
  TsrCreateSpec *spec = data->spec;
  gboolean windows = g_str_equal (spec->os_family, "windows");
  gboolean test_driver = g_str_equal (caps->virt_type, "test");
  g_autoptr(GVirConfigDomain) domain = gvir_config_domain_new ();
  g_autofree char *metadata = metadata_xml (spec);
  GVirConfigDomainVirtType virt_type;
  const char *features[] = { "acpi", "apic", NULL };

  if (g_str_equal (caps->virt_type, "kvm"))
    virt_type = GVIR_CONFIG_DOMAIN_VIRT_KVM;
  else if (g_str_equal (caps->virt_type, "xen"))
    virt_type = GVIR_CONFIG_DOMAIN_VIRT_XEN;
  else if (test_driver)
    virt_type = GVIR_CONFIG_DOMAIN_VIRT_TEST;
  else
    virt_type = GVIR_CONFIG_DOMAIN_VIRT_QEMU;

  gvir_config_domain_set_virt_type (domain, virt_type);
  gvir_config_domain_set_name (domain, spec->name);
  gvir_config_domain_set_memory (domain, MAX (spec->maxmem, spec->memory) * 1024);
  gvir_config_domain_set_current_memory (domain, spec->memory * 1024);
  gvir_config_domain_set_vcpus (domain, spec->vcpus);
  gvir_config_domain_set_features (domain, (GStrv) features);
  set_os (domain, data, caps, virt_type);

  add_disk (domain, disk_path, disk_format, windows ? "sda" : "vda", windows);
  for (guint i = 0; data->extra_paths != NULL && i + 1 < data->extra_paths->len; i += 2)
    {
      g_autofree char *dev = g_strdup_printf ("%s%c", windows ? "sd" : "vd", 'b' + i / 2);

      add_disk (domain, g_ptr_array_index (data->extra_paths, i),
                g_ptr_array_index (data->extra_paths, i + 1), dev, windows);
    }

  if (mac != NULL)
    {
      g_autoptr(GVirConfigDomainInterfaceNetwork) nic = gvir_config_domain_interface_network_new ();

      gvir_config_domain_interface_network_set_source (nic, spec->netvm);
      gvir_config_domain_interface_set_mac (GVIR_CONFIG_DOMAIN_INTERFACE (nic), mac);
      gvir_config_domain_interface_set_model (GVIR_CONFIG_DOMAIN_INTERFACE (nic),
                                              windows ? "e1000e" : "virtio");
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (nic));
    }

  if (!test_driver)
    add_console_devices (domain, windows);

  if (!gvir_config_domain_set_custom_xml (domain, metadata, TSR_METADATA_PREFIX,
                                          TSR_METADATA_NS, error))
    return NULL;

  return gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
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
  if (!tsr_reserve_address_sync (data->reserve_lock, data->conn, spec->netvm, mac, spec->name,
                                 &ip, &data->info, error))
    return FALSE;
  data->reserved_mac = g_strdup (mac);
  data->reserved_network = g_strdup (spec->netvm);
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
  return TRUE;
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
  guint64 root_size = 0;

  if (!(caps = tsr_host_caps_read_sync (data->conn, data->local, error)))
    return FALSE;

  tsr_progress_report (&data->progress, 0, 0, _("Checking the settings"), TRUE);
  if (!validate (data, caps, &root_format, &root_size, error) ||
      check_cancelled (cancellable, error))
    return FALSE;
  if (spec->check_only)
    return TRUE;

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

  if (!(xml = build_domain_xml (data, caps, disk_path, disk_format, mac, error)) ||
      !define_domain (data, xml, error))
    return FALSE;

  /* A move across filesystems was a copy: the original goes only now that
   * nothing can fail any more.
   */
  if (spec->root_move_from != NULL && data->moved_to == NULL)
    g_unlink (spec->root_move_from);

  data->notice = g_strdup (caps->notice);
  return TRUE;
}

static gboolean
create_step (gpointer       task_data,
             GCancellable  *cancellable,
             GError       **error)
{
  CreateData *data = task_data;

  if (create_steps (data, cancellable, error))
    return TRUE;
  rollback (data);
  g_clear_pointer (&data->info, tsr_network_info_free);
  return FALSE;
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
