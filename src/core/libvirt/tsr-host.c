/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

void
tsr_host_caps_free (TsrHostCaps *caps)
{
  if (caps == NULL)
    return;
  g_free (caps->virt_type);
  g_free (caps->notice);
  g_free (caps->arch);
  g_free (caps);
}

/* /dev/kvm can exist on a CPU without VT-x/AMD-V (containers, nested guests);
 * a KVM domain there starts but never runs its guest.
 */
gboolean
tsr_host_kvm_usable_here (void)
{
  g_autofree char *cpuinfo = NULL;

  if (g_access ("/dev/kvm", F_OK) != 0)
    return FALSE;
  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return FALSE;
  return strstr (cpuinfo, " vmx") != NULL || strstr (cpuinfo, " svm") != NULL;
}

/* UEFI is there when the domain capabilities offer the "efi" firmware, or
 * list an OVMF loader (libvirt before firmware autoselection). Loader file
 * names are "OVMF_CODE…" on Debian, Fedora and Arch, "ovmf-x86_64…" on SUSE.
 */
static gboolean
domcaps_offer_uefi (const char *domcaps_xml)
{
  g_autoptr(GVirConfigDomainCapabilities) domcaps = NULL;
  g_autoptr(GVirConfigDomainCapabilitiesOs) os = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  GList *firmwares = NULL;
  gboolean efi = FALSE;
  xmlNodePtr loader;

  if (domcaps_xml == NULL)
    return FALSE;
  domcaps = gvir_config_domain_capabilities_new_from_xml (domcaps_xml, NULL);
  if (domcaps != NULL && (os = gvir_config_domain_capabilities_get_os (domcaps)) != NULL)
    firmwares = gvir_config_domain_capabilities_os_get_firmwares (os);
  for (GList *l = firmwares; l != NULL; l = l->next)
    efi = efi || GPOINTER_TO_INT (l->data) == GVIR_CONFIG_DOMAIN_OS_FIRMWARE_EFI;
  g_list_free (firmwares);
  if (efi)
    return TRUE;

  /* libvirt-gconfig 4.0 has no getter for the loader paths. */
  doc = tsr_xml_parse (domcaps_xml);
  loader = doc ? tsr_xml_find (xmlDocGetRootElement (doc), "os/loader") : NULL;
  for (xmlNodePtr v = loader ? loader->children : NULL; v != NULL && !efi; v = v->next)
    if (tsr_xml_is (v, "value"))
      {
        g_autofree char *path = tsr_xml_text (v);
        g_autofree char *base = g_path_get_basename (path);
        g_autofree char *lower = g_ascii_strdown (base, -1);

        efi = g_str_has_prefix (lower, "ovmf");
      }
  return efi;
}

TsrHostCaps *
tsr_host_caps_parse (const char *caps_xml,
                     const char *domcaps_xml,
                     gboolean    local,
                     guint       host_cpus)
{
  TsrHostCaps *caps = g_new0 (TsrHostCaps, 1);
  g_autoptr(GPtrArray) hvm_types = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr doc;

  caps->host_cpus = MAX (host_cpus, 1);

  doc = caps_xml ? xmlReadMemory (caps_xml, strlen (caps_xml), "caps.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                 : NULL;
  /* x86_64 guests are what Tessera makes; a host offering none (libvirt's
   * test driver offers i686 only) is read for its first architecture.
   */
  for (guint pass = 0; pass < 2 && caps->arch == NULL; pass++)
    for (xmlNodePtr g = doc ? xmlDocGetRootElement (doc)->children : NULL; g; g = g->next)
      {
        g_autofree char *os_type = NULL;
        g_autofree char *arch_name = NULL;
        xmlNodePtr arch;

        if (!tsr_xml_is (g, "guest") || (arch = tsr_xml_child (g, "arch")) == NULL)
          continue;
        os_type = tsr_xml_text (tsr_xml_child (g, "os_type"));
        arch_name = tsr_xml_prop (arch, "name");
        if (pass == 0 && g_strcmp0 (arch_name, "x86_64") != 0)
          continue;
        if (pass == 1 && caps->arch == NULL)
          caps->arch = g_strdup (arch_name);
        if (pass == 1 && g_strcmp0 (arch_name, caps->arch) != 0)
          continue;

        if (g_strcmp0 (os_type, "hvm") == 0)
          {
            caps->hvm = TRUE;
            for (xmlNodePtr d = arch->children; d; d = d->next)
              if (tsr_xml_is (d, "domain"))
                g_ptr_array_add (hvm_types, tsr_xml_prop (d, "type"));
          }
        else if (g_strcmp0 (os_type, "xen") == 0)
          caps->xen_pv = TRUE;
        else if (g_strcmp0 (os_type, "xenpvh") == 0)
          caps->xen_pvh = TRUE;

        if (pass == 0 && caps->arch == NULL)
          caps->arch = g_strdup ("x86_64");
      }
  if (caps->arch == NULL)
    caps->arch = g_strdup ("x86_64");
  g_clear_pointer (&doc, xmlFreeDoc);

  for (guint i = 0; i < hvm_types->len; i++)
    if (g_strcmp0 (g_ptr_array_index (hvm_types, i), "kvm") == 0)
      caps->kvm_listed = TRUE;

  caps->kvm_usable = caps->kvm_listed && (!local || tsr_host_kvm_usable_here ());

  if (caps->kvm_usable)
    caps->virt_type = g_strdup ("kvm");
  else
    {
      for (guint i = 0; i < hvm_types->len && caps->virt_type == NULL; i++)
        if (g_strcmp0 (g_ptr_array_index (hvm_types, i), "kvm") != 0)
          caps->virt_type = g_strdup (g_ptr_array_index (hvm_types, i));
      if (caps->virt_type == NULL)
        caps->virt_type = g_strdup (caps->xen_pv ? "xen" : "qemu");

      if (g_strcmp0 (caps->virt_type, "qemu") == 0)
        caps->notice = g_strdup (_("Hardware virtualisation (KVM) is not usable on this host, so "
                                   "VMs run under software emulation, which is much slower. "
                                   "Enable VT-x (Intel) or AMD-V (AMD) in the computer’s "
                                   "firmware settings to use KVM."));
    }

  caps->uefi = domcaps_offer_uefi (domcaps_xml);

  return caps;
}

static int
compare_names (const void *a,
               const void *b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

GStrv
tsr_kernels_list (const char *dir)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  GStrv list;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (tsr_kernel_exists (dir, name))
      g_strv_builder_add (builder, name);

  list = g_strv_builder_end (builder);
  qsort (list, g_strv_length (list), sizeof (char *), compare_names);
  return list;
}

gboolean
tsr_kernel_exists (const char *dir,
                   const char *name)
{
  g_autofree char *vmlinuz = NULL;

  if (name == NULL || *name == '\0' || strchr (name, '/') != NULL || name[0] == '.')
    return FALSE;

  vmlinuz = g_build_filename (dir, name, "vmlinuz", NULL);
  return g_file_test (vmlinuz, G_FILE_TEST_IS_REGULAR);
}

/* The one reader of the host's capabilities, for every path that checks
 * settings against them. The domain capabilities (firmware) are those of
 * the architecture the guests get, which the capabilities name.
 */
TsrHostCaps *
tsr_host_caps_read_sync (virConnectPtr   conn,
                         gboolean        local,
                         GError        **error)
{
  g_autofree char *caps_xml = NULL;
  g_autofree char *domcaps_xml = NULL;
  g_autoptr(TsrHostCaps) caps = NULL;
  virNodeInfo node;
  guint cpus = 1;
  guint64 memory = 0;

  tsr_assert_worker_thread ();
  caps_xml = virConnectGetCapabilities (conn);
  if (caps_xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the host’s capabilities"));
      return NULL;
    }
  if (virNodeGetInfo (conn, &node) == 0)
    {
      cpus = node.cpus;
      memory = node.memory / 1024;
    }

  caps = tsr_host_caps_parse (caps_xml, NULL, local, cpus);
  caps->host_memory = memory;
  domcaps_xml = virConnectGetDomainCapabilities (conn, NULL, caps->arch, NULL, NULL, 0);
  virResetLastError ();
  if (domcaps_xml == NULL)
    return g_steal_pointer (&caps);
  g_clear_pointer (&caps, tsr_host_caps_free);
  caps = tsr_host_caps_parse (caps_xml, domcaps_xml, local, cpus);
  caps->host_memory = memory;
  return g_steal_pointer (&caps);
}
