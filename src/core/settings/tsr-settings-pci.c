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
#include "tsr-settings-private.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* PCI devices */

typedef struct
{
  virConnectPtr  conn;
  char          *uuid;
  char          *device;
  gboolean       attach;
  GPtrArray     *devices;
} PciData;

static void
pci_data_free (PciData *data)
{
  if (data->conn != NULL)
    virConnectClose (data->conn);
  g_free (data->uuid);
  g_free (data->device);
  g_clear_pointer (&data->devices, g_ptr_array_unref);
  g_free (data);
}

static char *
xml_first_text (xmlNodePtr  node,
                const char *name)
{
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      if (tsr_xml_is (n, name))
        return tsr_xml_text (n);
      if (n->children != NULL)
        {
          char *found = xml_first_text (n, name);

          if (found != NULL)
            return found;
        }
    }
  return NULL;
}

static TsrPciDevice *
pci_from_xml (const char *name,
              const char *xml)
{
  xmlDocPtr doc = xmlReadMemory (xml, strlen (xml), "n.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  TsrPciDevice *dev;
  g_autofree char *domain = xml_first_text (root, "domain");
  g_autofree char *bus = xml_first_text (root, "bus");
  g_autofree char *slot = xml_first_text (root, "slot");
  g_autofree char *function = xml_first_text (root, "function");
  g_autofree char *vendor = xml_first_text (root, "vendor");
  g_autofree char *product = xml_first_text (root, "product");
  guint d, b, s, f;

  if (doc != NULL)
    xmlFreeDoc (doc);
  if (domain == NULL || bus == NULL || slot == NULL || function == NULL)
    return NULL;

  d = (guint) g_ascii_strtoull (domain, NULL, 0);
  b = (guint) g_ascii_strtoull (bus, NULL, 0);
  s = (guint) g_ascii_strtoull (slot, NULL, 0);
  f = (guint) g_ascii_strtoull (function, NULL, 0);

  dev = g_new0 (TsrPciDevice, 1);
  dev->name = g_strdup (name);
  dev->address = g_strdup_printf ("%04x:%02x:%02x.%x", d, b, s, f);
  dev->qubes_id = g_strdup_printf ("dom0:%02x_%02x.%x", b, s, f);
  dev->description = g_strdup_printf ("%s %s", vendor ? vendor : "", product ? product : "");
  g_strstrip (dev->description);
  return dev;
}

static GPtrArray *
list_pci_sync (virConnectPtr   conn,
               GError        **error)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_pci_device_free);
  virNodeDevicePtr *devs = NULL;
  virDomainPtr *doms = NULL;
  int n = virConnectListAllNodeDevices (conn, &devs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
  int m;

  if (n < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not list the host’s PCI devices"));
      g_ptr_array_unref (list);
      return NULL;
    }

  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virNodeDeviceGetXMLDesc (devs[i], 0);
      TsrPciDevice *dev = xml ? pci_from_xml (virNodeDeviceGetName (devs[i]), xml) : NULL;

      if (dev != NULL)
        g_ptr_array_add (list, dev);
      virNodeDeviceFree (devs[i]);
    }
  free (devs);

  /* Which VM holds each: any domain with a matching <hostdev>. */
  m = virConnectListAllDomains (conn, &doms, 0);
  for (int i = 0; i < m; i++)
    {
      g_autofree char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);

      for (guint j = 0; xml != NULL && j < list->len; j++)
        {
          TsrPciDevice *dev = g_ptr_array_index (list, j);
          guint d, b, s, f;
          g_autofree char *needle = NULL;

          if (sscanf (dev->address, "%x:%x:%x.%x", &d, &b, &s, &f) != 4)
            continue;
          needle = g_strdup_printf ("<address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
                                    "function='0x%x'/>", d, b, s, f);
          if (strstr (xml, "<hostdev") && strstr (xml, needle))
            dev->assigned_to = g_strdup (virDomainGetName (doms[i]));
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();

  return list;
}

static void
list_pci_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  PciData *data = task_data;
  GError *error = NULL;

  data->devices = list_pci_sync (data->conn, &error);
  if (data->devices == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
tsr_connection_list_pci_async (TsrConnection       *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PciData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_list_pci_async);
  if (!tsr_settings_need_connection (self, task))
    return;

  data = g_new0 (PciData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  g_task_set_task_data (task, data, (GDestroyNotify) pci_data_free);
  g_task_run_in_thread (task, list_pci_worker);
}

GPtrArray *
tsr_connection_list_pci_finish (TsrConnection  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  PciData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return g_steal_pointer (&data->devices);
}

static void
pci_attach_worker (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PciData *data = task_data;
  g_autoptr(GPtrArray) devices = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(Prefs) prefs = NULL;
  TsrPciDevice *found = NULL;
  virDomainPtr dom;
  GError *error = NULL;
  guint d, b, s, f;

  if (!(devices = list_pci_sync (data->conn, &error)))
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < devices->len && found == NULL; i++)
    {
      TsrPciDevice *dev = g_ptr_array_index (devices, i);

      if (g_str_equal (dev->name, data->device) || g_str_equal (dev->address, data->device) ||
          g_str_equal (dev->qubes_id, data->device) ||
          g_str_equal (dev->address + 5, data->device))
        found = dev;
    }
  if (found == NULL)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                               _("No host PCI device “%s”: run “qvm-pci” to list them."),
                               data->device);
      return;
    }

  dom = virDomainLookupByUUIDString (data->conn, data->uuid);
  if (dom == NULL)
    {
      tsr_error_set_from_libvirt (&error, _("Could not find the VM"));
      g_task_return_error (task, error);
      return;
    }

  if (data->attach && found->assigned_to != NULL)
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("%s is already assigned to “%s”: detach it there first."),
                               found->address, found->assigned_to);
      virDomainFree (dom);
      return;
    }

  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  /* Only the virt mode matters here, not which kernel it boots. */
  prefs = xml ? tsr_settings_prefs_parse (xml, NULL, NULL) : NULL;
  if (data->attach && prefs != NULL && !g_str_equal (prefs->virt_mode, "hvm"))
    {
      g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                               _("PCI devices need virt_mode hvm, and “%s” uses %s: set virt_mode "
                                 "hvm and kernel (none) first."), virDomainGetName (dom),
                               prefs->virt_mode);
      virDomainFree (dom);
      return;
    }

  /* One new persistent definition, as for every other setting. */
  sscanf (found->address, "%x:%x:%x.%x", &d, &b, &s, &f);
  {
    xmlDocPtr doc = xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
    g_autofree char *want = g_strdup_printf ("0x%04x:0x%02x:0x%02x:0x%x", d, b, s, f);
    xmlNodePtr match = NULL;
    xmlChar *dump = NULL;
    int len = 0;
    g_autofree char *new_xml = NULL;
    virDomainPtr defined;

    for (xmlNodePtr n = devices ? devices->children : NULL; n && match == NULL; n = n->next)
      {
        xmlNodePtr addr = tsr_xml_is (n, "hostdev") ? tsr_xml_child (tsr_xml_child (n, "source"), "address") : NULL;
        g_autofree char *ad = addr ? tsr_xml_prop (addr, "domain") : NULL;
        g_autofree char *ab = addr ? tsr_xml_prop (addr, "bus") : NULL;
        g_autofree char *as = addr ? tsr_xml_prop (addr, "slot") : NULL;
        g_autofree char *af = addr ? tsr_xml_prop (addr, "function") : NULL;
        g_autofree char *have = NULL;

        if (addr == NULL)
          continue;
        have = g_strdup_printf ("0x%04x:0x%02x:0x%02x:0x%x",
                                (guint) g_ascii_strtoull (ad ? ad : "0", NULL, 0),
                                (guint) g_ascii_strtoull (ab ? ab : "0", NULL, 0),
                                (guint) g_ascii_strtoull (as ? as : "0", NULL, 0),
                                (guint) g_ascii_strtoull (af ? af : "0", NULL, 0));
        if (g_str_equal (have, want))
          match = n;
      }

    if (data->attach && match == NULL)
      {
        xmlNodePtr hostdev = xmlNewChild (devices, NULL, (const xmlChar *) "hostdev", NULL);
        xmlNodePtr source = xmlNewChild (hostdev, NULL, (const xmlChar *) "source", NULL);
        xmlNodePtr addr = xmlNewChild (source, NULL, (const xmlChar *) "address", NULL);
        g_autofree char *sd = g_strdup_printf ("0x%04x", d);
        g_autofree char *sb = g_strdup_printf ("0x%02x", b);
        g_autofree char *ss = g_strdup_printf ("0x%02x", s);
        g_autofree char *sf = g_strdup_printf ("0x%x", f);

        xmlSetProp (hostdev, (const xmlChar *) "mode", (const xmlChar *) "subsystem");
        xmlSetProp (hostdev, (const xmlChar *) "type", (const xmlChar *) "pci");
        xmlSetProp (hostdev, (const xmlChar *) "managed", (const xmlChar *) "yes");
        xmlSetProp (addr, (const xmlChar *) "domain", (const xmlChar *) sd);
        xmlSetProp (addr, (const xmlChar *) "bus", (const xmlChar *) sb);
        xmlSetProp (addr, (const xmlChar *) "slot", (const xmlChar *) ss);
        xmlSetProp (addr, (const xmlChar *) "function", (const xmlChar *) sf);
      }
    else if (!data->attach && match != NULL)
      {
        xmlUnlinkNode (match);
        xmlFreeNode (match);
      }
    else
      {
        xmlFreeDoc (doc);
        virDomainFree (dom);
        g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                                 data->attach ? _("%s is already assigned to this VM.")
                                              : _("%s is not assigned to this VM."),
                                 found->address);
        return;
      }

    xmlDocDumpMemory (doc, &dump, &len);
    new_xml = g_strndup ((const char *) dump, len);
    xmlFree (dump);
    xmlFreeDoc (doc);
    defined = virDomainDefineXML (data->conn, new_xml);
    virDomainFree (dom);
    if (defined == NULL)
      {
        tsr_error_set_from_libvirt (&error, data->attach ? _("Could not attach the device")
                                                         : _("Could not detach the device"));
        g_task_return_error (task, error);
        return;
      }
    virDomainFree (defined);
  }

  g_task_return_boolean (task, TRUE);
}

void
tsr_connection_pci_attach_async (TsrConnection       *self,
                                 TsrVm               *vm,
                                 const char          *device,
                                 gboolean             attach,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PciData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (device != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_connection_pci_attach_async);
  if (!tsr_settings_need_connection (self, task))
    return;

  data = g_new0 (PciData, 1);
  data->conn = tsr_connection_get_handle (self);
  virConnectRef (data->conn);
  data->uuid = g_strdup (tsr_vm_get_uuid (vm));
  data->device = g_strdup (device);
  data->attach = attach;
  g_task_set_task_data (task, data, (GDestroyNotify) pci_data_free);
  g_task_run_in_thread (task, pci_attach_worker);
}

gboolean
tsr_connection_pci_attach_finish (TsrConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
