/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libvirt-gconfig/libvirt-gconfig.h>

#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-creator-private.h"
#include "tsr-error.h"
#include "tsr-libvirt-private.h"
#include "tsr-storage.h"
#include "tsr-xml-private.h"

/* What libvirt-gconfig cannot write: Secure Boot firmware, SMM, the TPM,
 * Hyper-V enlightenments and the Windows clock, and the drivers disc;
 * added to the definition's tree.
 */

/* The Hyper-V enlightenments virt-manager gives Windows. QEMU refuses them
 * without KVM ("kernel doesn't allow setting HyperV VP_INDEX"), so a
 * software-emulated VM goes without.
 */
static void
add_hyperv (xmlNodePtr features)
{
  static const char * const names[] = {
    "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "frequencies",
    "tlbflush", "ipi", NULL
  };
  xmlNodePtr hyperv = tsr_xml_add_with (features, "hyperv", "mode", "custom", NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      xmlNodePtr node = tsr_xml_add_with (hyperv, names[i], "state", "on", NULL);

      if (g_str_equal (names[i], "spinlocks"))
        tsr_xml_set (node, "retries", "8191");
    }
}

/* Windows keeps the hardware clock in local time. */
static void
add_windows_clock (xmlNodePtr root)
{
  xmlNodePtr clock = tsr_xml_add_with (root, "clock", "offset", "localtime", NULL);

  tsr_xml_add_with (clock, "timer", "name", "rtc", "tickpolicy", "catchup", NULL);
  tsr_xml_add_with (clock, "timer", "name", "pit", "tickpolicy", "delay", NULL);
  tsr_xml_add_with (clock, "timer", "name", "hpet", "present", "no", NULL);
  tsr_xml_add_with (clock, "timer", "name", "hypervclock", "present", "yes", NULL);
}

/* libvirt picks the OVMF build with Secure Boot and Microsoft's keys
 * enrolled (the "secure-boot" and "enrolled-keys" features of the
 * firmware descriptors in /usr/share/qemu/firmware); the VM's own NVRAM
 * starts as a copy of that build's variables.
 */
static void
add_uefi (xmlNodePtr  os,
          const char *name,
          gboolean    secure_boot,
          const char *nvram_dir)
{
  g_autofree char *file = g_strdup_printf ("%s_VARS.fd", name);
  g_autofree char *nvram = g_build_filename (nvram_dir, file, NULL);

  if (secure_boot)
    {
      xmlNodePtr firmware = tsr_xml_add (os, "firmware", NULL);

      tsr_xml_add_with (firmware, "feature", "enabled", "yes", "name", "enrolled-keys", NULL);
      tsr_xml_add_with (firmware, "feature", "enabled", "yes", "name", "secure-boot", NULL);
      tsr_xml_add_with (os, "loader", "secure", "yes", NULL);
    }
  tsr_xml_set_text (tsr_xml_add (os, "nvram", NULL), nvram);
}

/* A second cdrom, never booted: the installer loads its disk driver from it. */
static void
add_drivers_disc (xmlNodePtr  devices,
                  const char *path)
{
  xmlNodePtr cdrom = tsr_xml_add_with (devices, "disk", "type", "file", "device", "cdrom", NULL);

  tsr_xml_add_with (cdrom, "driver", "name", "qemu", "type", "raw", NULL);
  tsr_xml_add_with (cdrom, "source", "file", path, NULL);
  /* sdz, sdy… are left for the install media. */
  tsr_xml_add_with (cdrom, "target", "dev", "sdx", "bus", "sata", NULL);
  tsr_xml_add (cdrom, "readonly", NULL);
}

char *
tsr_creator_add_os_features (const char          *xml,
                             const TsrCreateSpec *spec,
                             const TsrOsDefaults *os,
                             const char          *nvram_dir,
                             int                  virt_type)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (xml);
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr os_node = tsr_xml_child (root, "os");
  xmlNodePtr features = tsr_xml_child (root, "features");
  xmlNodePtr devices = tsr_xml_child (root, "devices");
  gboolean hyperv_ok = virt_type == GVIR_CONFIG_DOMAIN_VIRT_KVM ||
                       virt_type == GVIR_CONFIG_DOMAIN_VIRT_TEST;

  if (features == NULL)
    features = tsr_xml_add (root, "features", NULL);
  if (devices == NULL)
    devices = tsr_xml_add (root, "devices", NULL);

  if (g_str_equal (spec->firmware, "uefi") && os_node != NULL && *spec->kernel == '\0')
    add_uefi (os_node, spec->name, os->secure_boot, nvram_dir);
  if (os->hyperv && hyperv_ok)
    add_hyperv (features);
  if (os->secure_boot)
    tsr_xml_add_with (features, "smm", "state", "on", NULL);
  if (os->hyperv)
    add_windows_clock (root);
  if (os->tpm)
    {
      xmlNodePtr tpm = tsr_xml_add_with (devices, "tpm", "model", "tpm-crb", NULL);

      tsr_xml_add_with (tpm, "backend", "type", "emulator", "version", "2.0", NULL);
    }
  if (spec->drivers_media != NULL)
    add_drivers_disc (devices, spec->drivers_media);

  return tsr_xml_dump (doc);
}

/* An AppVM of a UEFI template starts with the template's UEFI variables
 * (boot entries, Secure Boot keys the installed system enrolled), copied
 * to the new VM's own NVRAM file that XML names. *COPIED is the file
 * written, for the rollback; nothing over a remote connection (the files
 * are the host's) or when the template has none yet.
 */
gboolean
tsr_creator_copy_template_nvram (virConnectPtr   conn,
                                 const char     *template_name,
                                 const char     *xml,
                                 TsrJournal     *journal,
                                 char          **copied,
                                 GError        **error)
{
  g_autoptr(virDomain) tpl = template_name ? virDomainLookupByName (conn, template_name) : NULL;
  g_autofree char *tpl_xml = tpl ? virDomainGetXMLDesc (tpl, VIR_DOMAIN_XML_INACTIVE) : NULL;
  g_autoptr(xmlDoc) tpl_doc = tpl_xml ? tsr_xml_parse (tpl_xml) : NULL;
  g_autoptr(xmlDoc) doc = tsr_xml_parse (xml);
  xmlNodePtr tpl_os = tpl_doc ? tsr_xml_child (xmlDocGetRootElement (tpl_doc), "os") : NULL;
  xmlNodePtr os = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "os") : NULL;
  g_autofree char *src = tpl_os && tsr_xml_child (tpl_os, "nvram")
                         ? tsr_xml_text (tsr_xml_child (tpl_os, "nvram")) : NULL;
  g_autofree char *dst = os && tsr_xml_child (os, "nvram")
                         ? tsr_xml_text (tsr_xml_child (os, "nvram")) : NULL;
  gboolean done = FALSE;

  virResetLastError ();
  if (src == NULL || dst == NULL || *src == '\0' || *dst == '\0')
    return TRUE;
  if (g_file_test (dst, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("The firmware settings file %s already exists (left by an older VM?): "
                     "remove it, or choose another name."), dst);
      return FALSE;
    }
  tsr_journal_file (journal, dst);
  if (!tsr_storage_copy_nvram (src, dst, &done, error))
    return FALSE;
  if (done)
    *copied = g_steal_pointer (&dst);
  return TRUE;
}
