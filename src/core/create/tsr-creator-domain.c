/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libvirt-gconfig/libvirt-gconfig.h>
#include <libxml/tree.h>

#include "tsr-creator-private.h"
#include "tsr-vm.h"
#include "tsr-xml-private.h"

/* A new VM's definition, built with libvirt-gconfig. */

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
  if (spec->os_id != NULL)
    tsr_xml_add (vm, "os", spec->os_id);
  return tsr_xml_dump (doc);
}

/* What virt-manager and GNOME Boxes write, so that they know the OS too. */
static char *
libosinfo_metadata_xml (const TsrOsDefaults *os)
{
  g_autoptr(xmlDoc) doc = tsr_xml_new ("libosinfo");

  tsr_xml_add_with (xmlDocGetRootElement (doc), "os", "id", os->uri, NULL);
  return tsr_xml_dump (doc);
}

/* OSes without virtio drivers on their install media (Windows) get SATA
 * disks and e1000e.
 */
static void
add_disk (GVirConfigDomain *domain,
          const char       *path,
          const char       *format,
          const char       *dev,
          gboolean          virtio)
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
  gvir_config_domain_disk_set_target_bus (disk, virtio ? GVIR_CONFIG_DOMAIN_DISK_BUS_VIRTIO
                                                       : GVIR_CONFIG_DOMAIN_DISK_BUS_SATA);
  gvir_config_domain_disk_set_target_dev (disk, dev);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (disk));
}

/* A kernel from the kernels folder boots directly; otherwise the disk. */
static void
set_os (GVirConfigDomain         *domain,
        const TsrCreateSpec      *spec,
        const TsrOsDefaults      *os_defaults,
        const char               *kernels_dir,
        TsrHostCaps              *caps,
        GVirConfigDomainVirtType  virt_type)
{
  g_autoptr(GVirConfigDomainOs) os = gvir_config_domain_os_new ();
  GList *boot = NULL;

  gvir_config_domain_os_set_os_type (os, g_str_equal (spec->virt_mode, "pv")
                                         ? GVIR_CONFIG_DOMAIN_OS_TYPE_XEN
                                         : GVIR_CONFIG_DOMAIN_OS_TYPE_HVM);
  gvir_config_domain_os_set_arch (os, caps->arch);
  /* Secure Boot needs q35's SMM; the test driver takes q35 too. */
  if ((virt_type != GVIR_CONFIG_DOMAIN_VIRT_TEST && virt_type != GVIR_CONFIG_DOMAIN_VIRT_XEN) ||
      os_defaults->secure_boot)
    gvir_config_domain_os_set_machine (os, "q35");
  if (g_str_equal (spec->firmware, "uefi"))
    gvir_config_domain_os_set_firmware (os, GVIR_CONFIG_DOMAIN_OS_FIRMWARE_EFI);
  if (*spec->kernel != '\0')
    {
      g_autofree char *vmlinuz = g_build_filename (kernels_dir, spec->kernel, "vmlinuz", NULL);
      g_autofree char *initramfs = g_build_filename (kernels_dir, spec->kernel, "initramfs", NULL);

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
  /* No TCP port: the console reaches the display through
   * virDomainOpenGraphicsFD, so nothing else on the host can.
   */
  g_autoptr(GVirConfigDomainGraphicsVnc) vnc =
    gvir_config_domain_graphics_vnc_new_from_xml ("<graphics type='vnc'><listen type='none'/></graphics>",
                                                  NULL);
  g_autoptr(GVirConfigDomainVideo) video = gvir_config_domain_video_new ();
  g_autoptr(GVirConfigDomainInput) tablet = gvir_config_domain_input_new ();

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

/* The new VM's definition: its root disk at DISK_PATH, the disks in
 * EXTRA_PATHS (path, format, path…), a NIC with MAC if not NULL; what
 * OS needs (tsr-creator-features.c), its NVRAM in NVRAM_DIR.
 */
char *
tsr_creator_build_domain_xml (const TsrCreateSpec  *spec,
                              const TsrOsDefaults  *os,
                              const char           *nvram_dir,
                              const char           *kernels_dir,
                              GPtrArray            *extra_paths,
                              TsrHostCaps          *caps,
                              const char           *disk_path,
                              const char           *disk_format,
                              const char           *mac,
                              GError              **error)
{
  gboolean windows = g_str_equal (spec->os_family, "windows");
  gboolean virtio = os->virtio;
  gboolean test_driver = g_str_equal (caps->virt_type, "test");
  g_autoptr(GVirConfigDomain) domain = gvir_config_domain_new ();
  g_autofree char *metadata = metadata_xml (spec);
  GVirConfigDomainVirtType virt_type;
  const char *features[] = { "acpi", "apic", NULL };
  g_autofree char *xml = NULL;

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
  set_os (domain, spec, os, kernels_dir, caps, virt_type);

  add_disk (domain, disk_path, disk_format, virtio ? "vda" : "sda", virtio);
  for (guint i = 0; extra_paths != NULL && i + 1 < extra_paths->len; i += 2)
    {
      g_autofree char *dev = g_strdup_printf ("%s%c", virtio ? "vd" : "sd", 'b' + i / 2);

      add_disk (domain, g_ptr_array_index (extra_paths, i),
                g_ptr_array_index (extra_paths, i + 1), dev, virtio);
    }

  if (mac != NULL)
    {
      g_autoptr(GVirConfigDomainInterfaceNetwork) nic = gvir_config_domain_interface_network_new ();

      gvir_config_domain_interface_network_set_source (nic, spec->netvm);
      gvir_config_domain_interface_set_mac (GVIR_CONFIG_DOMAIN_INTERFACE (nic), mac);
      gvir_config_domain_interface_set_model (GVIR_CONFIG_DOMAIN_INTERFACE (nic),
                                              virtio ? "virtio" : "e1000e");
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (nic));
    }

  if (!test_driver)
    add_console_devices (domain, windows);

  if (!gvir_config_domain_set_custom_xml (domain, metadata, TSR_METADATA_PREFIX,
                                          TSR_METADATA_NS, error))
    return NULL;
  if (os->uri != NULL)
    {
      g_autofree char *osinfo = libosinfo_metadata_xml (os);

      if (!gvir_config_domain_set_custom_xml (domain, osinfo, "libosinfo",
                                              TSR_LIBOSINFO_NS, error))
        return NULL;
    }

  xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
  return tsr_creator_add_os_features (xml, spec, os, nvram_dir, virt_type);
}
