/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-network.h"
#include "tsr-settings-private.h"
#include "tsr-template.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* A VM's settings read from its definition, with no libvirt call: the
 * reader that qvm-prefs, the Settings window and tests/fuzz share.
 */
/* In the order qvm-prefs lists them. */
const char * const tsr_pref_names[] = {
  "autostart", "class", "debug", "default_user", "firmware", "include_in_backups", "ip",
  "kernel", "kernelopts", "label", "mac", "maxmem", "memory", "name", "netvm", "os", "private_size",
  "revisions_to_keep", "storage",
  "template", "uuid", "vcpus", "virt_mode", "visible_gateway", "visible_netmask", NULL
};

/* os is what the VM was made for: its devices and firmware came from it. */
static const char * const read_only_prefs[] = {
  "class", "ip", "os", "storage", "uuid", "visible_gateway", "visible_netmask", NULL
};

void
tsr_pref_free (TsrPref *pref)
{
  if (pref == NULL)
    return;
  g_free (pref->name);
  g_free (pref->value);
  g_free (pref->default_value);
  g_free (pref);
}

void
tsr_pci_device_free (TsrPciDevice *device)
{
  if (device == NULL)
    return;
  g_free (device->name);
  g_free (device->address);
  g_free (device->qubes_id);
  g_free (device->description);
  g_free (device->assigned_to);
  g_free (device);
}

gboolean
tsr_pref_is_known (const char *name)
{
  return name != NULL && g_strv_contains (tsr_pref_names, name);
}

gboolean
tsr_pref_is_read_only (const char *name)
{
  return name != NULL && g_strv_contains (read_only_prefs, name);
}

void
tsr_settings_prefs_free (Prefs *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->uuid);
  g_free (p->label);
  g_free (p->klass);
  g_free (p->template_name);
  g_free (p->virt_mode);
  g_free (p->kernel);
  g_free (p->kernelopts);
  g_free (p->mac);
  g_free (p->mac_auto);
  g_free (p->netvm);
  g_free (p->firmware);
  g_free (p->default_user);
  g_free (p->storage);
  g_free (p->os);
  g_free (p);
}

Prefs *
tsr_settings_prefs_copy (const Prefs *p)
{
  Prefs *c = g_memdup2 (p, sizeof *p);

  c->name = g_strdup (p->name);
  c->uuid = g_strdup (p->uuid);
  c->label = g_strdup (p->label);
  c->klass = g_strdup (p->klass);
  c->template_name = g_strdup (p->template_name);
  c->virt_mode = g_strdup (p->virt_mode);
  c->kernel = g_strdup (p->kernel);
  c->kernelopts = g_strdup (p->kernelopts);
  c->mac = g_strdup (p->mac);
  c->mac_auto = g_strdup (p->mac_auto);
  c->netvm = g_strdup (p->netvm);
  c->firmware = g_strdup (p->firmware);
  c->default_user = g_strdup (p->default_user);
  c->storage = g_strdup (p->storage);
  c->os = g_strdup (p->os);
  return c;
}

xmlNodePtr
tsr_settings_tessera_metadata (xmlNodePtr root,
                               gboolean   create)
{
  return tsr_xml_metadata (root, TSR_METADATA_NS, TSR_METADATA_PREFIX, "vm", create);
}

static char *
metadata_get (xmlNodePtr  vm,
              const char *key)
{
  xmlNodePtr child = tsr_xml_child (vm, key);

  return child ? tsr_xml_text (child) : NULL;
}

void
tsr_settings_metadata_set (xmlNodePtr  vm,
                           const char *key,
                           const char *value)
{
  xmlNodePtr child = tsr_xml_child (vm, key);

  if (value == NULL)
    {
      if (child != NULL)
        {
          xmlUnlinkNode (child);
          xmlFreeNode (child);
        }
      return;
    }

  if (child == NULL)
    child = xmlNewChild (vm, vm->ns, (const xmlChar *) key, NULL);
  tsr_xml_set_text (child, value);
}

static gboolean
parse_bool (const char *text,
            gboolean    fallback)
{
  if (text == NULL)
    return fallback;
  return g_ascii_strcasecmp (text, "true") == 0 || g_str_equal (text, "1") ||
         g_ascii_strcasecmp (text, "yes") == 0 || g_ascii_strcasecmp (text, "on") == 0;
}

Prefs *
tsr_settings_prefs_parse (const char  *xml,
                          const char  *kernels_dir,
                          GError     **error)
{
  g_autoptr(TsrVmConfig) config = tsr_vm_config_parse (xml, kernels_dir, error);
  g_autoptr(Prefs) p = NULL;
  xmlDocPtr doc;
  xmlNodePtr root, os, devices, vm;

  if (config == NULL)
    return NULL;

  p = g_new0 (Prefs, 1);
  p->name = g_strdup (config->name);
  p->uuid = g_strdup (config->uuid);
  p->label = g_strdup (config->label);
  p->klass = g_strdup (config->klass);
  p->template_name = g_strdup (config->template_name);
  p->virt_mode = g_strdup (config->virt_mode);
  p->kernel = g_strdup (config->kernel);
  p->mac = g_strdup (config->mac);
  p->netvm = g_strdup (config->netvm);
  p->memory = config->memory;
  p->maxmem = config->maxmem;
  p->vcpus = config->vcpus;

  doc = xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  root = xmlDocGetRootElement (doc);
  os = tsr_xml_child (root, "os");
  devices = tsr_xml_child (root, "devices");
  vm = tsr_settings_tessera_metadata (root, FALSE);

  p->kernelopts = tsr_xml_child (os, "cmdline") && tsr_xml_child (os, "kernel")
                  ? tsr_xml_text (tsr_xml_child (os, "cmdline")) : g_strdup ("");
  {
    g_autofree char *firmware = os ? tsr_xml_prop (os, "firmware") : NULL;
    xmlNodePtr loader = tsr_xml_child (os, "loader");

    p->firmware = g_strdup (g_strcmp0 (firmware, "efi") == 0 || loader != NULL ? "uefi" : "bios");
  }

  {
    g_autofree char *debug = metadata_get (vm, "debug");
    g_autofree char *backups = metadata_get (vm, "include-in-backups");
    g_autofree char *fixed = metadata_get (vm, "mac-fixed");

    p->debug = parse_bool (debug, FALSE);
    p->include_in_backups = parse_bool (backups, TRUE);
    p->mac_fixed = parse_bool (fixed, FALSE);
    if (p->mac_fixed)
      p->mac_auto = metadata_get (vm, "mac-auto");
    p->default_user = metadata_get (vm, "default-user");
    if (g_strcmp0 (p->klass, "TemplateVM") == 0)
      {
        g_autofree char *keep = metadata_get (vm, "revisions-to-keep");

        p->revisions_to_keep = keep ? (gint) MIN (g_ascii_strtoull (keep, NULL, 10),
                                                  TSR_TEMPLATE_MAX_KEEP)
                                    : TSR_TEMPLATE_DEFAULT_KEEP;
      }
    else
      p->revisions_to_keep = -1;
    if (p->default_user == NULL)
      p->default_user = g_strdup ("user");
    /* Tessera's short id; else the libosinfo id virt-manager wrote. */
    p->os = metadata_get (vm, "os");
    if (p->os == NULL)
      {
        xmlNodePtr osinfo = tsr_xml_metadata (root, TSR_LIBOSINFO_NS, "libosinfo", "libosinfo", FALSE);

        p->os = tsr_xml_find_prop (osinfo, "os", "id");
      }
    if (p->os == NULL)
      p->os = g_strdup ("");
  }

  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      if (tsr_xml_is (d, "hostdev"))
        {
          g_autofree char *type = tsr_xml_prop (d, "type");

          if (g_strcmp0 (type, "pci") == 0)
            p->has_pci = TRUE;
        }
      else if (tsr_xml_is (d, "disk") && p->storage == NULL)
        {
          g_autofree char *device = tsr_xml_prop (d, "device");
          xmlNodePtr source = tsr_xml_child (d, "source");

          if ((device == NULL || g_str_equal (device, "disk")) && source != NULL)
            {
              p->storage = tsr_xml_prop (source, "file");
              if (p->storage == NULL)
                p->storage = tsr_xml_prop (source, "dev");
            }
        }
    }
  if (p->storage == NULL)
    p->storage = g_strdup ("");

  xmlFreeDoc (doc);
  return g_steal_pointer (&p);
}

const char *
tsr_settings_default_netvm (void)
{
  const char *env = g_getenv ("TESSERA_DEFAULT_NETVM");

  return env && *env ? env : TSR_MANAGED_NETWORK_NAME;
}
