/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-network.h"
#include "tsr-settings-private.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* In the order qvm-prefs lists them. */
const char * const tsr_pref_names[] = {
  "autostart", "class", "debug", "default_user", "firmware", "include_in_backups", "ip",
  "kernel", "kernelopts", "label", "mac", "maxmem", "memory", "name", "netvm", "os", "storage",
  "template", "uuid", "vcpus", "virt_mode", "visible_gateway", "visible_netmask", NULL
};

/* os is what the VM was made for: its devices and firmware came from it. */
static const char * const read_only_prefs[] = {
  "class", "ip", "os", "storage", "template", "uuid", "visible_gateway", "visible_netmask", NULL
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

static const char *
bool_text (gboolean value)
{
  return value ? "True" : "False";
}

static void
add_pref (GPtrArray  *prefs,
          const char *name,
          const char *value,
          const char *default_value)
{
  TsrPref *pref = g_new0 (TsrPref, 1);

  pref->name = g_strdup (name);
  pref->value = g_strdup (value ? value : "");
  pref->default_value = g_strdup (default_value);
  pref->is_default = default_value != NULL && g_strcmp0 (pref->value, default_value) == 0;
  pref->read_only = tsr_pref_is_read_only (name);
  g_ptr_array_add (prefs, pref);
}

const char *
tsr_settings_default_netvm (void)
{
  const char *env = g_getenv ("TESSERA_DEFAULT_NETVM");

  return env && *env ? env : TSR_MANAGED_NETWORK_NAME;
}

static GPtrArray *
prefs_to_list (const Prefs *p,
               TsrVm       *vm)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_pref_free);
  g_autofree char *memory = g_strdup_printf ("%" G_GUINT64_FORMAT, p->memory);
  g_autofree char *maxmem = g_strdup_printf ("%" G_GUINT64_FORMAT, p->maxmem);
  g_autofree char *vcpus = g_strdup_printf ("%u", p->vcpus);

  for (guint i = 0; tsr_pref_names[i] != NULL; i++)
    {
      const char *n = tsr_pref_names[i];

      if (g_str_equal (n, "autostart")) add_pref (list, n, bool_text (p->autostart), "False");
      else if (g_str_equal (n, "class")) add_pref (list, n, p->klass, NULL);
      else if (g_str_equal (n, "debug")) add_pref (list, n, bool_text (p->debug), "False");
      else if (g_str_equal (n, "default_user")) add_pref (list, n, p->default_user, "user");
      else if (g_str_equal (n, "firmware")) add_pref (list, n, p->firmware, "bios");
      else if (g_str_equal (n, "include_in_backups"))
        add_pref (list, n, bool_text (p->include_in_backups), "True");
      else if (g_str_equal (n, "ip")) add_pref (list, n, vm ? tsr_vm_get_ip (vm) : NULL, NULL);
      else if (g_str_equal (n, "kernel")) add_pref (list, n, p->kernel, "");
      else if (g_str_equal (n, "kernelopts"))
        add_pref (list, n, p->kernelopts, *p->kernel ? TSR_DEFAULT_KERNELOPTS : "");
      else if (g_str_equal (n, "label")) add_pref (list, n, p->label, NULL);
      else if (g_str_equal (n, "mac"))
        {
          add_pref (list, n, p->mac, NULL);
          ((TsrPref *) g_ptr_array_index (list, list->len - 1))->is_default = !p->mac_fixed;
        }
      else if (g_str_equal (n, "maxmem")) add_pref (list, n, maxmem, "0");
      else if (g_str_equal (n, "memory")) add_pref (list, n, memory, "400");
      else if (g_str_equal (n, "name")) add_pref (list, n, p->name, NULL);
      else if (g_str_equal (n, "netvm")) add_pref (list, n, p->netvm, tsr_settings_default_netvm ());
      else if (g_str_equal (n, "os")) add_pref (list, n, p->os, "");
      else if (g_str_equal (n, "storage")) add_pref (list, n, p->storage, NULL);
      else if (g_str_equal (n, "template")) add_pref (list, n, p->template_name, NULL);
      else if (g_str_equal (n, "uuid")) add_pref (list, n, p->uuid, NULL);
      else if (g_str_equal (n, "vcpus")) add_pref (list, n, vcpus, "2");
      else if (g_str_equal (n, "virt_mode")) add_pref (list, n, p->virt_mode, "hvm");
      else if (g_str_equal (n, "visible_gateway"))
        add_pref (list, n, vm ? tsr_vm_get_gateway (vm) : NULL, NULL);
      else if (g_str_equal (n, "visible_netmask"))
        add_pref (list, n, vm ? tsr_vm_get_netmask (vm) : NULL, NULL);
    }

  return list;
}

/* Reading */

typedef struct
{
  TsrCall        call;
  Prefs         *prefs;
} ReadData;

static void
read_data_clear (gpointer user_data)
{
  ReadData *data = user_data;

  tsr_settings_prefs_free (data->prefs);
}

Prefs *
tsr_settings_read_prefs_sync (virConnectPtr   conn,
                              virDomainPtr    dom,
                              const char     *kernels_dir,
                              GError        **error)
{
  g_autofree char *xml = NULL;
  Prefs *p;
  int autostart = 0;

  tsr_assert_worker_thread ();
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return NULL;
    }
  if (!(p = tsr_settings_prefs_parse (xml, kernels_dir, error)))
    return NULL;
  if (virDomainGetAutostart (dom, &autostart) == 0)
    p->autostart = autostart != 0;
  virResetLastError ();
  return p;
}

static gboolean
read_step (gpointer       task_data,
           GCancellable  *cancellable,
           GError       **error)
{
  ReadData *data = task_data;
  g_autoptr(virDomain) dom = NULL;

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid, error)))
    return FALSE;
  data->prefs = tsr_settings_read_prefs_sync (data->call.conn, dom, data->call.kernels_dir,
                                              error);
  return data->prefs != NULL;
}

void
tsr_connection_get_prefs_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  if (!tsr_connection_call_new (self, vm, sizeof (ReadData), read_data_clear,
                                tsr_connection_get_prefs_async, cancellable, callback, user_data,
                                &task))
    return;

  g_object_set_data_full (G_OBJECT (task), "vm", g_object_ref (vm), g_object_unref);
  tsr_task_run_sync (task, read_step);
}

GPtrArray *
tsr_connection_get_prefs_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  ReadData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return prefs_to_list (data->prefs, g_object_get_data (G_OBJECT (result), "vm"));
}

/* Choices */

typedef struct
{
  TsrCall        call;
  GStrv          virt_modes;
  GStrv          kernels;
} ChoicesData;

static void
choices_data_clear (gpointer user_data)
{
  ChoicesData *data = user_data;

  g_strfreev (data->virt_modes);
  g_strfreev (data->kernels);
}

static gboolean
choices_step (gpointer       task_data,
              GCancellable  *cancellable,
              GError       **error)
{
  ChoicesData *data = task_data;
  g_autoptr(TsrHostCaps) caps = NULL;
  g_autoptr(GStrvBuilder) modes = g_strv_builder_new ();

  if (!(caps = tsr_host_caps_read_sync (data->call.conn, data->call.local, error)))
    return FALSE;
  if (caps->hvm)
    {
      g_strv_builder_add (modes, "hvm");
      /* PVH on QEMU is direct kernel boot; on Xen the host must list it. */
      if (!g_str_equal (caps->virt_type, "xen") || caps->xen_pvh)
        g_strv_builder_add (modes, "pvh");
    }
  if (caps->xen_pv)
    g_strv_builder_add (modes, "pv");
  data->virt_modes = g_strv_builder_end (modes);
  data->kernels = tsr_kernels_list (data->call.kernels_dir);
  return TRUE;
}

void
tsr_connection_get_choices_async (TsrConnection       *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  if (tsr_connection_call_new (self, NULL, sizeof (ChoicesData), choices_data_clear,
                               tsr_connection_get_choices_async, cancellable, callback, user_data,
                               &task))
    tsr_task_run_sync (task, choices_step);
}

gboolean
tsr_connection_get_choices_finish (TsrConnection  *self,
                                   GAsyncResult   *result,
                                   GStrv          *virt_modes,
                                   GStrv          *kernels,
                                   GError        **error)
{
  ChoicesData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  if (virt_modes != NULL)
    *virt_modes = g_steal_pointer (&data->virt_modes);
  if (kernels != NULL)
    *kernels = g_steal_pointer (&data->kernels);
  return TRUE;
}
